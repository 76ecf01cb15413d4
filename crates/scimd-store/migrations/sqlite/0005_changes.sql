-- scimd SQLite schema, version 5: change records.
--
-- One row per change record (see scimd_directory::store::ChangeRecord): a SCIM write's
-- record, one per member a write added or removed, one per side effect of a product rule,
-- one per administrative action. The provisioning log, each user's and group's history and
-- the audit record are views of this table (`in_log`, `in_audit`, `resource_id` /
-- `member_id`); `seq` (AUTOINCREMENT: never reused, so a reader can follow the table by
-- `seq`) is their order. Conventions as in 0001 (RFC 3339 UTC text timestamps with six
-- fractional digits, `*_folded` text folded in Rust, JSON as text).
--
-- Columns left NULL cost nothing: a per-member record keeps no `changes` (it reads back as
-- the member added or removed) and an empty `search_folded` (only log and audit records
-- are searched).

CREATE TABLE changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    txn           TEXT NOT NULL,
    at            TEXT NOT NULL,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('token', 'client', 'admin', 'rule', 'cli')),
    actor_name    TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('scim', 'api', 'portal', 'cli')),
    address       TEXT,
    cause         TEXT NOT NULL CHECK (cause IN ('request', 'rule', 'command')),
    cause_name    TEXT,
    method        TEXT,
    path          TEXT,
    status        INTEGER,
    resource_type TEXT,
    resource_id   TEXT,
    resource_name TEXT,
    member_id     TEXT,
    member_kind   TEXT CHECK (member_kind IN ('User', 'Group')),
    outcome       TEXT NOT NULL,
    action        TEXT,
    detail        TEXT,
    changes       TEXT,
    warnings      TEXT,
    occurrences   INTEGER NOT NULL DEFAULT 1,
    in_log        INTEGER NOT NULL DEFAULT 0,
    in_audit      INTEGER NOT NULL DEFAULT 0,
    coalesce_key  TEXT,
    search_folded TEXT NOT NULL DEFAULT ''
);
-- The provisioning log and the audit record, newest first per tenant: partial indexes, so
-- the records of neither view (per-member and rule records) add no entry to them.
CREATE INDEX changes_log ON changes (tenant_id, seq) WHERE in_log;
CREATE INDEX changes_audit ON changes (tenant_id, seq) WHERE in_audit;
-- Histories: a resource's records, and the per-member records naming it. Resource ids are
-- UUIDs unique across tenants, so the tenant (still in every query) is not a key column.
CREATE INDEX changes_by_resource ON changes (resource_id, seq);
CREATE INDEX changes_by_member ON changes (member_id, seq) WHERE member_id IS NOT NULL;
-- The records of one transaction (UUIDs, unique across tenants).
CREATE INDEX changes_by_txn ON changes (txn);
-- Retention: the purge across tenants.
CREATE INDEX changes_by_at ON changes (at);
-- Coalesced records (failed sign-ins): one per key and tenant.
CREATE UNIQUE INDEX changes_coalesce ON changes (tenant_id, coalesce_key)
    WHERE coalesce_key IS NOT NULL;

-- The provisioning log's entries become change records, in their order (`seq` kept), each
-- its own transaction (`migrated-<seq>`). Their changed attributes are kept by name (the
-- log never had their values); a portal's permanent delete (`portal:<administrator>`) is
-- an administrator's audit record too.
INSERT INTO changes (seq, tenant_id, txn, at, actor_type, actor_name, source, cause, method,
                     path, status, resource_type, resource_id, resource_name, outcome, action,
                     detail, changes, warnings, in_log, in_audit, search_folded)
    SELECT seq, tenant_id, 'migrated-' || seq, at,
           CASE WHEN token_name LIKE 'portal:%' THEN 'admin' ELSE 'token' END,
           CASE WHEN token_name LIKE 'portal:%' THEN substr(token_name, 8)
                ELSE COALESCE(token_name, '') END,
           CASE WHEN token_name LIKE 'portal:%' THEN 'portal' ELSE 'scim' END,
           'request', method, path, status, resource_type, resource_id, resource_name, outcome,
           CASE WHEN outcome = 'deleted' THEN 'user.delete' END,
           detail,
           CASE WHEN changed IS NULL OR json_array_length(changed) = 0 THEN NULL
                ELSE (SELECT json_group_array(json_object('attribute', j.value))
                      FROM (SELECT value FROM json_each(changed) ORDER BY key) j) END,
           CASE WHEN warnings IS NULL OR json_array_length(warnings) = 0 THEN NULL
                ELSE warnings END,
           1, CASE WHEN outcome = 'deleted' THEN 1 ELSE 0 END,
           search_folded
    FROM provisioning_log ORDER BY seq;
DROP TABLE provisioning_log;
