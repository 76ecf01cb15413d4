-- scimd SQLite schema, version 8 (PostgreSQL's version 7): credentials identity providers use
-- (issue 16): static tokens that expire, OAuth 2.0 clients (client credentials grant, RFC 6749
-- §4.4) and the access tokens they are issued, and the record of refused authentications.

-- A static token may expire (`scimd token create --expires-in 90d`); existing tokens keep none.
ALTER TABLE tokens ADD COLUMN expires TEXT;

-- OAuth 2.0 clients of a tenant. `id` is the public client_id; the secret is 256 random bits
-- shown once and stored only as its SHA-256 (compared in constant time). A name is unique
-- among a tenant's clients that are not revoked; revoked clients are kept for the record.
CREATE TABLE oauth_clients (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created       TEXT NOT NULL,
    last_used     TEXT,
    revoked       TEXT,
    CONSTRAINT oauth_clients_id_unique UNIQUE (id)
);
CREATE UNIQUE INDEX oauth_clients_live_name ON oauth_clients (tenant_id, name) WHERE revoked IS NULL;
CREATE INDEX oauth_clients_by_tenant ON oauth_clients (tenant_id, created, seq);

-- Access tokens the token endpoint issued: opaque secrets, stored only as their SHA-256, found
-- by it on any instance sharing the database. Each request also checks its client (revoked:
-- refused). Expired rows are pruned when the client gets a new token; a client keeps a bounded
-- number of live ones.
CREATE TABLE access_tokens (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    secret_sha256 BLOB NOT NULL,
    created       TEXT NOT NULL,
    expires       TEXT NOT NULL,
    CONSTRAINT access_tokens_secret_unique UNIQUE (secret_sha256)
);
CREATE INDEX access_tokens_by_client ON access_tokens (tenant_id, client_id, seq);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires);

-- Refused authentications per tenant, reason and hour (the hour's start), for the
-- administrator's diagnostics. Written coalesced (at most once a second per tenant).
CREATE TABLE auth_refusal_counts (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    hour      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    count     INTEGER NOT NULL,
    CONSTRAINT auth_refusal_counts_key UNIQUE (tenant_id, hour, reason)
);

-- The last refusals of a tenant (at most 100 are kept): when, why, which credential (its kind
-- and, when known, its name; never a secret), the request's method and path, the address.
CREATE TABLE auth_refusals (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    reason     TEXT NOT NULL,
    credential TEXT NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    address    TEXT
);
CREATE INDEX auth_refusals_by_tenant ON auth_refusals (tenant_id, seq);
