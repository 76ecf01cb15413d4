-- scimd SQLite schema, version 1.
--
-- Conventions: every table is keyed by tenant; timestamps are RFC 3339 UTC text with exactly
-- six fractional digits (`2026-11-30T11:22:33.123456Z`) so text order is time order; `*_folded`
-- columns hold case-folded copies (folded in Rust, not by SQLite) for case-insensitive lookups;
-- documents are JSON text.

CREATE TABLE tenants (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL DEFAULT '{}',
    created  TEXT NOT NULL
);

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('scim', 'admin')),
    secret_sha256 BLOB NOT NULL UNIQUE,
    created       TEXT NOT NULL,
    last_used     TEXT,
    revoked       TEXT
);
-- A name is unique among a tenant's live tokens; revoked tokens keep their name.
CREATE UNIQUE INDEX tokens_live_name ON tokens (tenant_id, name) WHERE revoked IS NULL;
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, created);

CREATE TABLE users (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_name        TEXT NOT NULL,
    user_name_folded TEXT NOT NULL,
    external_id      TEXT,
    display_name     TEXT,
    state            TEXT NOT NULL CHECK (state IN ('active', 'inactive', 'deprovisioned')),
    source           TEXT NOT NULL CHECK (source IN ('local', 'scim')),
    version          INTEGER NOT NULL,
    created          TEXT NOT NULL,
    last_modified    TEXT NOT NULL,
    doc              TEXT NOT NULL,
    doc_folded       TEXT NOT NULL,
    CONSTRAINT users_user_name_unique UNIQUE (tenant_id, user_name_folded)
);
CREATE INDEX users_by_external_id ON users (tenant_id, external_id);
CREATE INDEX users_by_state ON users (tenant_id, state, seq);
-- Paging in creation order (optionally skipping deprovisioned users) from the index alone.
CREATE INDEX users_by_tenant_seq ON users (tenant_id, seq, state);

CREATE TABLE user_emails (
    tenant_id    TEXT NOT NULL,
    user_seq     INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
    value_folded TEXT NOT NULL,
    kind         TEXT,
    is_primary   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_emails_by_value ON user_emails (tenant_id, value_folded, kind, user_seq);
CREATE INDEX user_emails_by_user ON user_emails (user_seq);

CREATE TABLE groups (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name        TEXT NOT NULL,
    display_name_folded TEXT NOT NULL,
    external_id         TEXT,
    source              TEXT NOT NULL CHECK (source IN ('local', 'scim')),
    builtin             INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL,
    created             TEXT NOT NULL,
    last_modified       TEXT NOT NULL,
    doc                 TEXT NOT NULL,
    doc_folded          TEXT NOT NULL,
    CONSTRAINT groups_display_name_unique UNIQUE (tenant_id, display_name_folded)
);
CREATE INDEX groups_by_external_id ON groups (tenant_id, external_id);
CREATE INDEX groups_by_tenant_seq ON groups (tenant_id, seq, builtin);

-- One row per membership. `seq` (the rowid) is the insertion order.
CREATE TABLE group_members (
    seq         INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('User', 'Group')),
    CONSTRAINT group_members_pk UNIQUE (group_id, member_id)
);
CREATE INDEX group_members_by_group_seq ON group_members (group_id, seq);
CREATE INDEX group_members_by_member ON group_members (member_id, group_id);

-- The tenant's custom attribute definitions (used from the next schema version on).
CREATE TABLE attributes (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    type        TEXT NOT NULL,
    created     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name_folded)
);

-- One row per SCIM write (used from the next schema version on).
CREATE TABLE provisioning_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at            TEXT NOT NULL,
    token_name    TEXT,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    resource_name TEXT,
    outcome       TEXT NOT NULL,
    status        INTEGER NOT NULL,
    detail        TEXT,
    changed       TEXT,
    warnings      TEXT
);
CREATE INDEX provisioning_log_by_time ON provisioning_log (tenant_id, at);

-- Planner statistics for a large single tenant (1,000,000 users), so that SQLite drives
-- filtered lists from the selective indexes (userName, externalId, emails, membership)
-- instead of walking the (tenant_id, seq) index for its order. Format of `stat`: rows in the
-- table, then the average number of rows per distinct value of each index prefix.
-- `PRAGMA optimize` / `ANALYZE` replace them with measured values.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'sqlite_autoindex_users_1', '1000000 1'),
    ('users', 'sqlite_autoindex_users_2', '1000000 1000000 1'),
    ('users', 'users_by_external_id', '1000000 1000000 1'),
    ('users', 'users_by_state', '1000000 1000000 400000 1'),
    ('users', 'users_by_tenant_seq', '1000000 1000000 1 1'),
    ('user_emails', 'user_emails_by_value', '1000000 1000000 1 1 1'),
    ('user_emails', 'user_emails_by_user', '1000000 1'),
    ('groups', 'sqlite_autoindex_groups_1', '10000 1'),
    ('groups', 'sqlite_autoindex_groups_2', '10000 10000 1'),
    ('groups', 'groups_by_external_id', '10000 10000 1'),
    ('groups', 'groups_by_tenant_seq', '10000 10000 1 1'),
    ('group_members', 'sqlite_autoindex_group_members_1', '2000000 1000 1'),
    ('group_members', 'group_members_by_group_seq', '2000000 1000 1'),
    ('group_members', 'group_members_by_member', '2000000 5 1'),
    ('tokens', 'sqlite_autoindex_tokens_2', '100 1'),
    ('tokens', 'tokens_live_name', '100 100 1'),
    ('tokens', 'tokens_by_tenant', '100 100 1');
