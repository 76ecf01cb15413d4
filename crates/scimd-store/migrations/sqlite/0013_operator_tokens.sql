-- scimd SQLite schema, version 13 (PostgreSQL's version 12): tokens of scope 'operator'
-- (issue 15).
--
-- An operator token calls the operator API (`/api/v1/tenants`): it creates, lists, disables,
-- enables and deletes tenants, and is refused on every tenant's paths. Operator tokens belong
-- to no customer tenant: they are kept in the tenants row of slug 'operator' (a reserved slug
-- no customer tenant can have, never listed or served on /t/), so they share the tokens'
-- hashing, expiry, revocation and last use, and operator actions their audit record.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt as 0004 built it,
-- with 0008's `expires`, keeping every row and its seq.
CREATE TABLE tokens_v13 (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('scim', 'admin', 'operator')),
    secret_sha256 BLOB NOT NULL UNIQUE,
    created       TEXT NOT NULL,
    last_used     TEXT,
    revoked       TEXT,
    expires       TEXT
);
INSERT INTO tokens_v13 (seq, id, tenant_id, name, scope, secret_sha256, created, last_used,
                        revoked, expires)
    SELECT seq, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked, expires
    FROM tokens ORDER BY seq;
DROP TABLE tokens;
ALTER TABLE tokens_v13 RENAME TO tokens;
-- A name is unique among a tenant's live tokens; revoked tokens keep their name.
CREATE UNIQUE INDEX tokens_live_name ON tokens (tenant_id, name) WHERE revoked IS NULL;
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, created, seq);

-- Dropping a table drops its planner statistics: 0004's figures again, where there were
-- statistics.
INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT 'tokens', 'sqlite_autoindex_tokens_2', '100 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'tokens', 'tokens_live_name', '100 100 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'tokens', 'tokens_by_tenant', '100 100 1 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users');
