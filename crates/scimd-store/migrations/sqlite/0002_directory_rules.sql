-- scimd SQLite schema, version 2: custom attributes and the provisioning log in use.
--
-- Conventions as in 0001 (RFC 3339 UTC text timestamps with six fractional digits, `*_folded`
-- columns folded in Rust with `scim_proto::filter::fold`, JSON as text).

-- Custom attributes: rebuilt with an explicit `seq` so that "registration order" survives
-- VACUUM (which may renumber the implicit rowid of a table without INTEGER PRIMARY KEY).
-- Version 1 never wrote to this table; the copy is for completeness.
CREATE TABLE attributes_v2 (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    type        TEXT NOT NULL,
    created     TEXT NOT NULL,
    CONSTRAINT attributes_name_unique UNIQUE (tenant_id, name_folded)
);
INSERT INTO attributes_v2 (tenant_id, name, name_folded, type, created)
    SELECT tenant_id, name, name_folded, type, created FROM attributes ORDER BY created, rowid;
DROP TABLE attributes;
ALTER TABLE attributes_v2 RENAME TO attributes;

-- Provisioning log: a folded copy of the searchable text (resource name, resource id, path,
-- detail, token name; each folded, joined with '\n'), written by the store on insert, for
-- the case-insensitive substring search of the log viewer. Rows of version 1 (none were
-- written) get an ASCII-only fold.
ALTER TABLE provisioning_log ADD COLUMN search_folded TEXT NOT NULL DEFAULT '';
UPDATE provisioning_log SET search_folded = lower(
    COALESCE(resource_name, '') || char(10) || COALESCE(resource_id, '') || char(10) || path
    || char(10) || COALESCE(detail, '') || char(10) || COALESCE(token_name, ''));

-- Newest-first pages of one tenant (`ORDER BY seq DESC`), and the purge across tenants.
CREATE INDEX provisioning_log_by_tenant_seq ON provisioning_log (tenant_id, seq);
CREATE INDEX provisioning_log_by_at ON provisioning_log (at);
