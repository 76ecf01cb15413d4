-- scimd SQLite schema, version 12 (PostgreSQL's version 11): tenants get what serving many of
-- them needs.
--
-- slug: the tenant's path segment (`/t/SLUG/scim/v2`), matching
--   ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$, unique, and kept when the tenant is deleted so it is
--   never reused. Every tenant scimd creates has one (NULL is never written; the column is
--   nullable only because SQLite cannot add a NOT NULL column without a default). The tenant
--   first start made, named 'default', gets the slug 'default'; any other tenant of an older
--   database gets its id.
-- state: 'active'; 'disabled' (its SCIM, admin API and portal answer 403, nothing is lost);
--   'deleting' (its paths answer 404 while its rows are deleted).
-- last_scim_request: when a SCIM request last authenticated for the tenant, written at most
--   once a minute per tenant (NULL: never).
ALTER TABLE tenants ADD COLUMN slug TEXT;
ALTER TABLE tenants ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'disabled', 'deleting'));
ALTER TABLE tenants ADD COLUMN last_scim_request TEXT;
UPDATE tenants SET slug = CASE WHEN name = 'default' THEN 'default' ELSE id END;
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);
