-- scimd SQLite schema, version 7: the same schema as PostgreSQL's version 6.
--
-- Identifier keys (issue 14): `users.user_name_folded`, `groups.display_name_folded` and the
-- `external_id` columns of both become the lookup and uniqueness key of their identifier,
-- its Unicode NFC form (case-folded, but for externalId, which is case-exact), so that
-- canonically equivalent spellings (`josé` precomposed or with a combining accent) are one
-- user or group. Neither back end computes NFC in SQL: this migration records a step that
-- the store runs in Rust as soon as the migrations are applied (`tx::steps`), in a
-- transaction that deletes the step's row when it is done, so that it runs exactly once
-- even if the process stops in between.

CREATE TABLE migration_steps (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    CONSTRAINT migration_steps_name_unique UNIQUE (name)
);
INSERT INTO migration_steps (name) VALUES ('identifier_keys');
