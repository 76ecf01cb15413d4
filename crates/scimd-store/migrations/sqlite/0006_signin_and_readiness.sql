-- scimd SQLite schema, version 6 (PostgreSQL's version 5): sign-in throttling that is one
-- atomic statement per check, expires by time and stays bounded; administrators whose
-- generated password must be changed; the readiness probe's heartbeat row.
--
-- Times of the throttling tables are Unix milliseconds (INTEGER): the statements that check
-- and count an attempt compare and add them in SQL, which integers make the same on both
-- back ends.

-- One row per failed sign-in, keyed on the raw username, purged only by a later success:
-- replaced by the two counters below. Failed sign-ins are transient; none is carried over.
DROP TABLE signin_failures;

-- Sign-in attempts per administrator username, per tenant, checked and counted by one
-- upsert. The wait before the next attempt is the slow-down: never a lockout.
CREATE TABLE signin_throttle (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username_folded TEXT NOT NULL,     -- at most 64 characters (a possible username)
    device          TEXT NOT NULL,     -- '' any browser; else a trusted browser's id
    attempts        INTEGER NOT NULL,  -- since the last success (again from 1 after a while)
    last_attempt    INTEGER NOT NULL,  -- when the last attempt came
    not_before      INTEGER NOT NULL,  -- when the next attempt is accepted
    CONSTRAINT signin_throttle_key UNIQUE (tenant_id, username_folded, device)
);
CREATE INDEX signin_throttle_by_last_attempt ON signin_throttle (last_attempt);

-- Failed sign-ins per client address (an IPv4 address, or an IPv6 /64), across usernames and
-- tenants: a GCRA bucket, `tat` its theoretical arrival time. Expired when `tat` has passed.
CREATE TABLE signin_addresses (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    tat     INTEGER NOT NULL,
    CONSTRAINT signin_addresses_address UNIQUE (address)
);
CREATE INDEX signin_addresses_by_tat ON signin_addresses (tat);

-- A password scimd generated (first start, `admin create`, `admin reset-password`) was shown
-- on a terminal or written to a file: it must be changed at the first sign-in.
ALTER TABLE admins ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- One row (`seq` 1) that `/readyz` writes, at most every few seconds, to learn whether the
-- database takes writes (a read-only or full database answers reads).
CREATE TABLE heartbeat (
    seq INTEGER PRIMARY KEY,
    at  TEXT NOT NULL
);
