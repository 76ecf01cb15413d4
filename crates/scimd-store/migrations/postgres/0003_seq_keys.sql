-- scimd PostgreSQL schema, version 3: the same schema as SQLite's version 4.
--
-- Every table with a `seq` (insertion order) has it as its primary key, as `users` and
-- `groups` always had; `tenants`, `tokens` and `admins` keep their ids unique (the foreign
-- keys that pointed at their primary keys now point at those unique constraints). The
-- provisioning log's `changed` and `warnings` accept NULL, as in SQLite (the store always
-- writes a list).

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'tokens', 'admins'] LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (id)', t, t || '_id_unique');
        -- CASCADE drops the foreign keys that use the primary key (re-created below).
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I CASCADE', t, t || '_pkey');
        EXECUTE format(
            'ALTER TABLE %I DROP CONSTRAINT %I, ADD CONSTRAINT %I PRIMARY KEY (seq), '
            'ALTER COLUMN id SET NOT NULL', t, t || '_seq_key', t || '_pkey');
    END LOOP;
    FOREACH t IN ARRAY ARRAY['tokens', 'users', 'groups', 'attributes', 'provisioning_log',
                             'admins', 'sessions', 'signin_failures'] LOOP
        EXECUTE format(
            'ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (tenant_id) REFERENCES tenants(id) '
            'ON DELETE CASCADE', t, t || '_tenant_id_fkey');
    END LOOP;
END $$;

ALTER TABLE sessions ADD CONSTRAINT sessions_admin_id_fkey
    FOREIGN KEY (admin_id) REFERENCES admins(id) ON DELETE CASCADE;

ALTER TABLE provisioning_log ALTER COLUMN changed DROP NOT NULL,
    ALTER COLUMN warnings DROP NOT NULL;
