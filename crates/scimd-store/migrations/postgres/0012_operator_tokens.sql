-- scimd PostgreSQL schema, version 12 (SQLite's version 13): tokens of scope 'operator'
-- (issue 15). An operator token calls the operator API (`/api/v1/tenants`) and is refused on
-- every tenant's paths; operator tokens are kept in the tenants row of the reserved slug
-- 'operator' (never listed or served on /t/). See the SQLite migration for more.
ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check
    CHECK (scope IN ('scim', 'admin', 'operator'));
