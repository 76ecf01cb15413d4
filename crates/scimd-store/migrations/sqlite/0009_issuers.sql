-- scimd SQLite schema, version 9: the same schema as PostgreSQL's version 8.
--
-- Issuers (issue 16): OIDC issuers whose JWT access tokens scimd accepts on /scim/v2 —
-- Microsoft Entra workload identity federation, or any issuer publishing a JWKS. One row
-- per issuer URL and tenant; `app_ids` is a JSON array of the application (client) ids
-- allowed (`appid` or `azp` of a token). Keys are never stored: they come from the
-- issuer's metadata (`metadata_url`, by default the issuer URL +
-- /.well-known/openid-configuration) or from a local JWKS file (`jwks_file`).
CREATE TABLE issuers (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    issuer       TEXT NOT NULL,
    audience     TEXT NOT NULL,
    app_ids      TEXT NOT NULL,
    metadata_url TEXT,
    jwks_file    TEXT,
    created      TEXT NOT NULL,
    CONSTRAINT issuers_id_unique UNIQUE (id),
    CONSTRAINT issuers_issuer_unique UNIQUE (tenant_id, issuer)
);
