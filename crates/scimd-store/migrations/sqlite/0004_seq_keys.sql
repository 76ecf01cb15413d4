-- scimd SQLite schema, version 4: the same schema as PostgreSQL's version 3.
--
-- `tenants`, `tokens`, `admins` and `user_emails` get an explicit `seq` (insertion order)
-- as their primary key, as every other table has: their order no longer rests on the
-- implicit rowid, which VACUUM may renumber in a table without an INTEGER PRIMARY KEY. Ids
-- stay unique. Existing rows keep their order (`seq` takes their rowid).
--
-- Tables are rebuilt (create, copy, drop, rename: SQLite cannot add a primary key). The
-- store applies migrations with foreign keys off, so dropping a parent table cascades to
-- nothing, and checks the foreign keys after migrating (`PRAGMA foreign_key_check`).

CREATE TABLE tenants_v4 (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL DEFAULT '{}',
    created  TEXT NOT NULL
);
INSERT INTO tenants_v4 (seq, id, name, settings, created)
    SELECT rowid, id, name, settings, created FROM tenants ORDER BY rowid;
DROP TABLE tenants;
ALTER TABLE tenants_v4 RENAME TO tenants;

CREATE TABLE tokens_v4 (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('scim', 'admin')),
    secret_sha256 BLOB NOT NULL UNIQUE,
    created       TEXT NOT NULL,
    last_used     TEXT,
    revoked       TEXT
);
INSERT INTO tokens_v4 (seq, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked)
    SELECT rowid, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked
    FROM tokens ORDER BY rowid;
DROP TABLE tokens;
ALTER TABLE tokens_v4 RENAME TO tokens;
-- A name is unique among a tenant's live tokens; revoked tokens keep their name.
CREATE UNIQUE INDEX tokens_live_name ON tokens (tenant_id, name) WHERE revoked IS NULL;
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, created, seq);

CREATE TABLE admins_v4 (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    username_folded  TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    created          TEXT NOT NULL,
    password_changed TEXT NOT NULL,
    CONSTRAINT admins_username_unique UNIQUE (tenant_id, username_folded)
);
INSERT INTO admins_v4 (seq, id, tenant_id, username, username_folded, password_hash, created,
                       password_changed)
    SELECT rowid, id, tenant_id, username, username_folded, password_hash, created,
           password_changed
    FROM admins ORDER BY rowid;
DROP TABLE admins;
ALTER TABLE admins_v4 RENAME TO admins;

-- The rowid alias (no AUTOINCREMENT, as `group_members`): one insert per email of every
-- user written, so no `sqlite_sequence` update each time.
CREATE TABLE user_emails_v4 (
    seq          INTEGER PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    user_seq     INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
    value_folded TEXT NOT NULL,
    kind         TEXT,
    is_primary   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_emails_v4 (seq, tenant_id, user_seq, value_folded, kind, is_primary)
    SELECT rowid, tenant_id, user_seq, value_folded, kind, is_primary FROM user_emails ORDER BY rowid;
DROP TABLE user_emails;
ALTER TABLE user_emails_v4 RENAME TO user_emails;
CREATE INDEX user_emails_by_value ON user_emails (tenant_id, value_folded, kind, user_seq);
CREATE INDEX user_emails_by_user ON user_emails (user_seq);

-- Dropping a table drops its planner statistics: the figures of 0001 again (1,000,000
-- users), where there were statistics.
INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT 'user_emails', 'user_emails_by_value', '1000000 1000000 1 1 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'user_emails', 'user_emails_by_user', '1000000 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'tokens', 'sqlite_autoindex_tokens_2', '100 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'tokens', 'tokens_live_name', '100 100 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users')
    UNION ALL SELECT 'tokens', 'tokens_by_tenant', '100 100 1 1'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users');
