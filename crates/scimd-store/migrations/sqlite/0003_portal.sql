-- scimd SQLite schema, version 3: the administrative portal's administrators, sessions and
-- sign-in throttling.
--
-- Conventions as in 0001 (RFC 3339 UTC text timestamps with six fractional digits, `*_folded`
-- columns folded in Rust with `scim_proto::filter::fold`).

-- Portal administrators. Passwords are kept only as Argon2id PHC strings.
CREATE TABLE admins (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    username_folded  TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    created          TEXT NOT NULL,
    password_changed TEXT NOT NULL,
    CONSTRAINT admins_username_unique UNIQUE (tenant_id, username_folded)
);

-- Portal sessions, keyed by the SHA-256 of the session id (the cookie value is never stored).
CREATE TABLE sessions (
    id_sha256  BLOB PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    admin_id   TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created    TEXT NOT NULL,
    expires    TEXT NOT NULL
);
CREATE INDEX sessions_by_admin ON sessions (admin_id);
CREATE INDEX sessions_by_expiry ON sessions (expires);

-- Failed sign-ins, one row each, counted per key (folded username + client address) over a
-- recent window; shared by every scimd process on the database.
CREATE TABLE signin_failures (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX signin_failures_by_key ON signin_failures (tenant_id, key, at);
CREATE INDEX signin_failures_by_at ON signin_failures (at);

-- The dashboard's and the All Users group's counts of users by state and source, from the
-- index alone (without it, 100,000 users take a table scan of their documents). `tenant_id`
-- comes last so that no `tenant_id = ?` lookup prefers this index to the ones made for it.
CREATE INDEX users_by_state_source ON users (state, source, tenant_id);
-- Planner statistics as for the indexes of 0001 (1,000,000 users): without them SQLite would
-- drive selective filters (groups.value ...) from this index, walking the whole tenant.
INSERT INTO sqlite_stat1 (tbl, idx, stat)
    SELECT 'users', 'users_by_state_source', '1000000 1000000 400000 200000'
    WHERE EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users');
