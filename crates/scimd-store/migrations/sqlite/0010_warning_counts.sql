-- scimd SQLite schema, version 10 (PostgreSQL's version 9): the dashboard's and the User
-- Provisioning page's warnings, kept as counts in the transaction of the write that gave
-- them, so that showing them reads a few rows, never the change records of a directory.
--
-- Kinds (the directory's `warnings::WarningKind`): 'unknown-schema' (the identity provider
-- sent attributes under a schema URN the tenant does not know; subject: the URN) and
-- 'normalised' (a value was changed to be valid; subject: the attribute).

-- One row per tenant, kind and subject: since when, until when, how often and for how many
-- users, with the latest warning's text as the example. At most 100 subjects per tenant.
CREATE TABLE warning_counts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    first_at    TEXT NOT NULL,     -- first given
    subject     TEXT NOT NULL,     -- at most 200 characters
    last_at     TEXT NOT NULL,     -- last given
    example     TEXT NOT NULL,     -- at most 500 characters
    occurrences INTEGER NOT NULL,  -- writes that gave the warning
    users       INTEGER NOT NULL,  -- distinct users they were about (rows of warning_users)
    CONSTRAINT warning_counts_key UNIQUE (tenant_id, kind, subject)
);
CREATE INDEX warning_counts_by_last ON warning_counts (tenant_id, last_at);

-- The users a warning was about, one row each, so that `users` counts each user once.
CREATE TABLE warning_users (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    CONSTRAINT warning_users_key UNIQUE (tenant_id, kind, subject, user_id)
);
