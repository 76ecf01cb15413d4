-- scimd PostgreSQL schema, version 3: the same schema as SQLite's version 4.
--
-- Every table with a `seq` (insertion order) has it as its primary key, as `users` and
-- `groups` always had; `tenants`, `tokens` and `admins` keep their ids unique (the foreign
-- keys that pointed at their primary keys now point at those unique constraints). The
-- provisioning log's `changed` and `warnings` accept NULL, as in SQLite (the store always
-- writes a list).

ALTER TABLE tenants ADD CONSTRAINT tenants_id_unique UNIQUE (id);
ALTER TABLE tokens ADD CONSTRAINT tokens_id_unique UNIQUE (id);
ALTER TABLE admins ADD CONSTRAINT admins_id_unique UNIQUE (id);

-- Drops the foreign keys that use these primary keys (re-created below).
ALTER TABLE tenants DROP CONSTRAINT tenants_pkey CASCADE;
ALTER TABLE tokens DROP CONSTRAINT tokens_pkey CASCADE;
ALTER TABLE admins DROP CONSTRAINT admins_pkey CASCADE;

ALTER TABLE tenants DROP CONSTRAINT tenants_seq_key, ADD CONSTRAINT tenants_pkey PRIMARY KEY (seq),
    ALTER COLUMN id SET NOT NULL;
ALTER TABLE tokens DROP CONSTRAINT tokens_seq_key, ADD CONSTRAINT tokens_pkey PRIMARY KEY (seq),
    ALTER COLUMN id SET NOT NULL;
ALTER TABLE admins DROP CONSTRAINT admins_seq_key, ADD CONSTRAINT admins_pkey PRIMARY KEY (seq),
    ALTER COLUMN id SET NOT NULL;

ALTER TABLE tokens ADD CONSTRAINT tokens_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE users ADD CONSTRAINT users_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE groups ADD CONSTRAINT groups_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE attributes ADD CONSTRAINT attributes_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE admins ADD CONSTRAINT admins_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE signin_failures ADD CONSTRAINT signin_failures_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_admin_id_fkey
    FOREIGN KEY (admin_id) REFERENCES admins(id) ON DELETE CASCADE;

ALTER TABLE provisioning_log ALTER COLUMN changed DROP NOT NULL,
    ALTER COLUMN warnings DROP NOT NULL;
