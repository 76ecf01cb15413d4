-- scimd SQLite schema, version 11 (PostgreSQL's version 10): facts about the deployment as a
-- whole, which belong to no tenant.
--
-- One row a fact, by name. 'public_url': the public base URL (without /scim/v2) the last
-- `scimd serve` started with (its --public-url, else http(s)://ADDRESS it listened on), so
-- that commands print URLs clients can reach (an OAuth client's token URL) without being
-- told the URL again.
CREATE TABLE deployment (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    updated TEXT NOT NULL,  -- when the value was last written
    CONSTRAINT deployment_name_unique UNIQUE (name)
);
