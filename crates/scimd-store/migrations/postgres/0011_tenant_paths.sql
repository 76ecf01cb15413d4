-- scimd PostgreSQL schema, version 11: SQLite's version 12 with PostgreSQL types; what each
-- column is for is said there (migrations/sqlite/0012_tenant_paths.sql).
ALTER TABLE tenants ADD COLUMN slug text COLLATE "C";
ALTER TABLE tenants ADD COLUMN state text NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'disabled', 'deleting'));
ALTER TABLE tenants ADD COLUMN last_scim_request timestamptz;
UPDATE tenants SET slug = CASE WHEN name = 'default' THEN 'default' ELSE id END;
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);
