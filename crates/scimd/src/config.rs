//! Layered configuration: command-line flags, then `SCIMD_*` environment variables, then an
//! optional TOML file (`--config FILE` / `SCIMD_CONFIG`), then built-in defaults.
//!
//! Every setting exists in all three layers under matching names:
//!
//! | flag               | environment variable   | TOML key         | default                           |
//! |--------------------|------------------------|------------------|-----------------------------------|
//! | `--listen`         | `SCIMD_LISTEN`         | `listen`         | `127.0.0.1:8080`                  |
//! | `--database`       | `SCIMD_DATABASE`       | `database`       | `sqlite://./scimd-data/scimd.db`  |
//! | `--public-url`     | `SCIMD_PUBLIC_URL`     | `public_url`     | `http(s)://<bound address>`       |
//! | `--root-tenant`    | `SCIMD_ROOT_TENANT`    | `root_tenant`    | `default` (`none`: no root tenant) |
//! | `--tls-cert`       | `SCIMD_TLS_CERT`       | `tls_cert`       | none                              |
//! | `--tls-key`        | `SCIMD_TLS_KEY`        | `tls_key`        | none                              |
//! | `--log-format`     | `SCIMD_LOG_FORMAT`     | `log_format`     | `text`                            |
//! | `--log-level`      | `SCIMD_LOG_LEVEL`      | `log_level`      | `info` (`warn` for `token`)       |
//! | `--max-body-bytes` | `SCIMD_MAX_BODY_BYTES` | `max_body_bytes` | `4194304` (4 MiB)                 |
//! | `--log-retention-days` | `SCIMD_LOG_RETENTION_DAYS` | `log_retention_days` | `30` (0: keep forever) |
//! | `--max-writes-per-tenant` | `SCIMD_MAX_WRITES_PER_TENANT` | `max_writes_per_tenant` | `4` (SCIM writes in flight per tenant; 0: no limit) |
//! | `--cache-entries` | `SCIMD_CACHE_ENTRIES` | `cache_entries` | `10000` (per cache: tokens, access tokens, tenants' settings and attributes) |
//! | `--header-read-timeout-secs` | `SCIMD_HEADER_READ_TIMEOUT_SECS` | `header_read_timeout_secs` | `10` |
//! | `--body-read-timeout-secs` | `SCIMD_BODY_READ_TIMEOUT_SECS` | `body_read_timeout_secs` | `30` |
//! | `--idle-timeout-secs` | `SCIMD_IDLE_TIMEOUT_SECS` | `idle_timeout_secs` | `75` |
//! | `--request-timeout-secs` | `SCIMD_REQUEST_TIMEOUT_SECS` | `request_timeout_secs` | `120` |
//! | `--tls-handshake-timeout-secs` | `SCIMD_TLS_HANDSHAKE_TIMEOUT_SECS` | `tls_handshake_timeout_secs` | `10` |
//! | `--max-connections` | `SCIMD_MAX_CONNECTIONS` | `max_connections` | from the descriptor limit |
//! | `--data-dir`       | `SCIMD_DATA_DIR`       | `data_dir`       | the SQLite file's folder (required with PostgreSQL) |
//! | `--rate-limit-unauthenticated-per-minute` | `SCIMD_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE` | `rate_limit_unauthenticated_per_minute` | `60` (0: off) |
//! | `--rate-limit-unauthenticated-burst` | `SCIMD_RATE_LIMIT_UNAUTHENTICATED_BURST` | `rate_limit_unauthenticated_burst` | `30` |
//! | `--rate-limit-per-credential` | `SCIMD_RATE_LIMIT_PER_CREDENTIAL` | `rate_limit_per_credential` | `200` a second (0: off) |
//! | `--rate-limit-burst` | `SCIMD_RATE_LIMIT_BURST` | `rate_limit_burst` | `1000` |
//! | `--trusted-proxies` | `SCIMD_TRUSTED_PROXIES` | `trusted_proxies` | none (`CIDR,CIDR,...`) |
//! | `--access-token-ttl` | `SCIMD_ACCESS_TOKEN_TTL` | `access_token_ttl` | `1h` (`s`, `m`, `h`; at most 24h) |
//! | `--token-expiry-warning-days` | `SCIMD_TOKEN_EXPIRY_WARNING_DAYS` | `token_expiry_warning_days` | `14` |
//! | `--max-identifier-bytes` | `SCIMD_MAX_IDENTIFIER_BYTES` | `max_identifier_bytes` | `1024` |
//! | `--max-string-bytes` | `SCIMD_MAX_STRING_BYTES` | `max_string_bytes` | `16384` (16 KiB) |
//! | `--max-values` | `SCIMD_MAX_VALUES` | `max_values` | `100` |
//! | `--max-members-per-request` | `SCIMD_MAX_MEMBERS_PER_REQUEST` | `max_members_per_request` | `20000` |
//! | `--max-page-bytes` | `SCIMD_MAX_PAGE_BYTES` | `max_page_bytes` | `8388608` (8 MiB) |
//! | `--statement-timeout-secs` | `SCIMD_STATEMENT_TIMEOUT_SECS` | `statement_timeout_secs` | `30` |
//! | `--config`         | `SCIMD_CONFIG`         | —                | none                              |
//!
//! TOML keys may also be written in kebab case (`public-url`). Unknown TOML keys are an
//! error (a typo must not be silently ignored); empty environment variables count as unset.

mod derived;
mod limits;

pub use derived::{credentials, MAX_ACCESS_TOKEN_TTL, MAX_TOKEN_EXPIRY_WARNING_DAYS};
pub use limits::{
    connection_limits, input_limits, rate_limits, InputLimits, IDENTIFIER_BYTES, MEMBERS,
    PAGE_BYTES, STRING_BYTES, VALUES,
};

use crate::net;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database URL (SQLite file under the working directory).
pub const DEFAULT_DATABASE: &str = "sqlite://./scimd-data/scimd.db";
/// Default request body limit: 4 MiB, enough for a PATCH carrying thousands of members.
/// Published as `bulk.maxPayloadSize` in `/ServiceProviderConfig`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;
/// Smallest accepted body limit (1 KiB): below it no SCIM request fits.
pub const MIN_MAX_BODY_BYTES: u64 = 1024;
/// Default log level directive for `serve`.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// Default provisioning-log retention, in days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = scimd_directory::audit::DEFAULT_LOG_RETENTION_DAYS;
/// Longest accepted provisioning-log retention, in days (100 years; 0 keeps forever).
pub const MAX_LOG_RETENTION_DAYS: u32 = 36_500;
/// Accepted `--cache-entries`: 100 to 10,000,000 per cache.
pub const CACHE_ENTRIES: std::ops::RangeInclusive<u64> = 100..=10_000_000;
/// Prefix of the environment variables read.
pub const ENV_PREFIX: &str = "SCIMD_";

/// A configuration error: a message a person can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Ok when `value` of `flag` lies in `range`; else the error "FLAG must be START{start_note}
/// to END, got VALUE".
fn in_range(
    flag: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    start_note: &str,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    let (start, end) = range.into_inner();
    err(format!(
        "{flag} must be {start}{start_note} to {end}, got {value}"
    ))
}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// One layer of settings, every field optional: what the flags, the environment or the file say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Listen address `HOST:PORT` (port 0: an ephemeral port).
    pub listen: Option<String>,
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub database: Option<String>,
    /// Public base URL clients use (`https://scim.example.com`); the SCIM base is `<public_url>/scim/v2`.
    #[serde(alias = "public-url")]
    pub public_url: Option<String>,
    /// PEM certificate chain file (with `tls_key`: serve HTTPS).
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key file.
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    /// `text` or `json`.
    #[serde(alias = "log-format")]
    pub log_format: Option<String>,
    /// A `tracing` filter directive: `info`, `debug`, `info,scimd=debug` ...
    #[serde(alias = "log-level")]
    pub log_level: Option<String>,
    /// Largest accepted request body, in bytes.
    #[serde(alias = "max-body-bytes")]
    pub max_body_bytes: Option<u64>,
    /// Days provisioning-log entries are kept (0: forever).
    #[serde(alias = "log-retention-days")]
    pub log_retention_days: Option<u32>,
    /// Entries each per-request cache holds at most (scimd_directory::cache).
    #[serde(alias = "cache-entries")]
    pub cache_entries: Option<u64>,
    /// SCIM writes in flight per tenant at most (crate::rate::shares; 0: no limit).
    #[serde(alias = "max-writes-per-tenant")]
    pub max_writes_per_tenant: Option<u64>,
    // Connection limits of the public port (see crate::net and docs/security.md).
    /// Deadline for a request head, seconds.
    #[serde(alias = "header-read-timeout-secs")]
    pub header_read_timeout_secs: Option<u64>,
    /// Total deadline for a request body, seconds.
    #[serde(alias = "body-read-timeout-secs")]
    pub body_read_timeout_secs: Option<u64>,
    /// Idle keep-alive deadline, seconds.
    #[serde(alias = "idle-timeout-secs")]
    pub idle_timeout_secs: Option<u64>,
    /// Request time limit, seconds.
    #[serde(alias = "request-timeout-secs")]
    pub request_timeout_secs: Option<u64>,
    /// TLS handshake deadline, seconds.
    #[serde(alias = "tls-handshake-timeout-secs")]
    pub tls_handshake_timeout_secs: Option<u64>,
    /// Connections served at once (plus a reserve for health checks).
    #[serde(alias = "max-connections")]
    pub max_connections: Option<u64>,
    /// The folder of scimd's own files (`first-start-secrets.txt`).
    #[serde(alias = "data-dir")]
    pub data_dir: Option<PathBuf>,
    // Rate limits (see crate::rate and docs/security.md).
    /// Requests per minute per client address without a valid credential (0: off).
    #[serde(alias = "rate-limit-unauthenticated-per-minute")]
    pub rate_limit_unauthenticated_per_minute: Option<u64>,
    /// Their burst.
    #[serde(alias = "rate-limit-unauthenticated-burst")]
    pub rate_limit_unauthenticated_burst: Option<u64>,
    /// Requests per second per valid credential (0: off).
    #[serde(alias = "rate-limit-per-credential")]
    pub rate_limit_per_credential: Option<u64>,
    /// Their burst.
    #[serde(alias = "rate-limit-burst")]
    pub rate_limit_burst: Option<u64>,
    /// Proxies whose `X-Forwarded-For` names the client: `CIDR,CIDR,...`.
    #[serde(alias = "trusted-proxies")]
    pub trusted_proxies: Option<String>,
    // Input bounds (see InputLimits and docs/security.md, "Input").
    /// Longest userName, externalId or group displayName, bytes.
    #[serde(alias = "max-identifier-bytes")]
    pub max_identifier_bytes: Option<u64>,
    /// Longest other string value, bytes.
    #[serde(alias = "max-string-bytes")]
    pub max_string_bytes: Option<u64>,
    /// Most values of one multi-valued attribute.
    #[serde(alias = "max-values")]
    pub max_values: Option<u64>,
    /// Most group members one request may name.
    #[serde(alias = "max-members-per-request")]
    pub max_members_per_request: Option<u64>,
    /// Largest list page, bytes.
    #[serde(alias = "max-page-bytes")]
    pub max_page_bytes: Option<u64>,
    /// How long one database statement may run, seconds.
    #[serde(alias = "statement-timeout-secs")]
    pub statement_timeout_secs: Option<u64>,
    // Issuers' access tokens (see crate::issuers and docs/authentication.md).
    /// Algorithms issuers' tokens may be signed with: `RS256,ES256`.
    #[serde(alias = "jwt-algorithms")]
    pub jwt_algorithms: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, seconds.
    #[serde(alias = "jwt-clock-skew-secs")]
    pub jwt_clock_skew_secs: Option<u64>,
    /// Least time between two fetches of one issuer's keys, seconds.
    #[serde(alias = "jwks-refetch-interval-secs")]
    pub jwks_refetch_interval_secs: Option<u64>,
    /// Fetch issuer metadata and keys from private addresses and over http too.
    #[serde(alias = "allow-private-outbound")]
    pub allow_private_outbound: Option<bool>,
    /// Lifetime of the OAuth token endpoint's access tokens (`1h`, `30m`, `3600s`).
    #[serde(alias = "access-token-ttl")]
    pub access_token_ttl: Option<String>,
    /// Days before its expiry a static token is flagged on the dashboard.
    #[serde(alias = "token-expiry-warning-days")]
    pub token_expiry_warning_days: Option<u64>,
    /// The slug of the tenant the root paths serve, or `none`.
    #[serde(alias = "root-tenant")]
    pub root_tenant: Option<String>,
}

impl Settings {
    /// Field by field: `self` where set, otherwise `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            database: self.database.or(lower.database),
            public_url: self.public_url.or(lower.public_url),
            root_tenant: self.root_tenant.or(lower.root_tenant),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            log_format: self.log_format.or(lower.log_format),
            log_level: self.log_level.or(lower.log_level),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            log_retention_days: self.log_retention_days.or(lower.log_retention_days),
            cache_entries: self.cache_entries.or(lower.cache_entries),
            max_writes_per_tenant: self.max_writes_per_tenant.or(lower.max_writes_per_tenant),
            header_read_timeout_secs: self
                .header_read_timeout_secs
                .or(lower.header_read_timeout_secs),
            body_read_timeout_secs: self.body_read_timeout_secs.or(lower.body_read_timeout_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(lower.idle_timeout_secs),
            request_timeout_secs: self.request_timeout_secs.or(lower.request_timeout_secs),
            tls_handshake_timeout_secs: self
                .tls_handshake_timeout_secs
                .or(lower.tls_handshake_timeout_secs),
            max_connections: self.max_connections.or(lower.max_connections),
            data_dir: self.data_dir.or(lower.data_dir),
            rate_limit_unauthenticated_per_minute: self
                .rate_limit_unauthenticated_per_minute
                .or(lower.rate_limit_unauthenticated_per_minute),
            rate_limit_unauthenticated_burst: self
                .rate_limit_unauthenticated_burst
                .or(lower.rate_limit_unauthenticated_burst),
            rate_limit_per_credential: self
                .rate_limit_per_credential
                .or(lower.rate_limit_per_credential),
            rate_limit_burst: self.rate_limit_burst.or(lower.rate_limit_burst),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            access_token_ttl: self.access_token_ttl.or(lower.access_token_ttl),
            token_expiry_warning_days: self
                .token_expiry_warning_days
                .or(lower.token_expiry_warning_days),
            max_identifier_bytes: self.max_identifier_bytes.or(lower.max_identifier_bytes),
            max_string_bytes: self.max_string_bytes.or(lower.max_string_bytes),
            max_values: self.max_values.or(lower.max_values),
            max_members_per_request: self
                .max_members_per_request
                .or(lower.max_members_per_request),
            max_page_bytes: self.max_page_bytes.or(lower.max_page_bytes),
            statement_timeout_secs: self.statement_timeout_secs.or(lower.statement_timeout_secs),
            jwt_algorithms: self.jwt_algorithms.or(lower.jwt_algorithms),
            jwt_clock_skew_secs: self.jwt_clock_skew_secs.or(lower.jwt_clock_skew_secs),
            jwks_refetch_interval_secs: self
                .jwks_refetch_interval_secs
                .or(lower.jwks_refetch_interval_secs),
            allow_private_outbound: self.allow_private_outbound.or(lower.allow_private_outbound),
        }
    }

    /// Reads the `SCIMD_*` variables from `vars` (name → value). Empty values count as unset.
    ///
    /// Errors: `SCIMD_MAX_BODY_BYTES`, `SCIMD_LOG_RETENTION_DAYS`, a `SCIMD_*_TIMEOUT_SECS`,
    /// `SCIMD_MAX_CONNECTIONS`, `SCIMD_MAX_VALUES` or `SCIMD_MAX_MEMBERS_PER_REQUEST` that
    /// is not a non-negative integer; a `SCIMD_MAX_*_BYTES` that is not a number of bytes.
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let get = |name: &str| -> Option<String> {
            vars.get(&format!("{ENV_PREFIX}{name}"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bytes = |name: &str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    parse_byte_size(&v).ok_or_else(|| {
                        ConfigError(format!(
                            "{ENV_PREFIX}{name} must be a number of bytes, got {v:?}"
                        ))
                    })
                })
                .transpose()
        };
        let max_body_bytes = bytes("MAX_BODY_BYTES")?;
        let log_retention_days = match get("LOG_RETENTION_DAYS") {
            None => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                ConfigError(format!(
                    "SCIMD_LOG_RETENTION_DAYS must be a number of days (0: keep forever), got {v:?}"
                ))
            })?),
        };
        let number = |name: &str, what: &str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        ConfigError(format!("{ENV_PREFIX}{name} must be {what}, got {v:?}"))
                    })
                })
                .transpose()
        };
        Ok(Settings {
            header_read_timeout_secs: number("HEADER_READ_TIMEOUT_SECS", "a number of seconds")?,
            body_read_timeout_secs: number("BODY_READ_TIMEOUT_SECS", "a number of seconds")?,
            idle_timeout_secs: number("IDLE_TIMEOUT_SECS", "a number of seconds")?,
            request_timeout_secs: number("REQUEST_TIMEOUT_SECS", "a number of seconds")?,
            tls_handshake_timeout_secs: number(
                "TLS_HANDSHAKE_TIMEOUT_SECS",
                "a number of seconds",
            )?,
            max_connections: number("MAX_CONNECTIONS", "a number of connections")?,
            rate_limit_unauthenticated_per_minute: number(
                "RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE",
                "a number of requests",
            )?,
            rate_limit_unauthenticated_burst: number(
                "RATE_LIMIT_UNAUTHENTICATED_BURST",
                "a number of requests",
            )?,
            rate_limit_per_credential: number("RATE_LIMIT_PER_CREDENTIAL", "a number of requests")?,
            rate_limit_burst: number("RATE_LIMIT_BURST", "a number of requests")?,
            trusted_proxies: get("TRUSTED_PROXIES"),
            access_token_ttl: get("ACCESS_TOKEN_TTL"),
            token_expiry_warning_days: number("TOKEN_EXPIRY_WARNING_DAYS", "a number of days")?,
            max_identifier_bytes: bytes("MAX_IDENTIFIER_BYTES")?,
            max_string_bytes: bytes("MAX_STRING_BYTES")?,
            max_values: number("MAX_VALUES", "a number of values")?,
            max_members_per_request: number("MAX_MEMBERS_PER_REQUEST", "a number of members")?,
            max_page_bytes: bytes("MAX_PAGE_BYTES")?,
            statement_timeout_secs: number("STATEMENT_TIMEOUT_SECS", "a number of seconds")?,
            jwt_algorithms: get("JWT_ALGORITHMS"),
            jwt_clock_skew_secs: number("JWT_CLOCK_SKEW_SECS", "a number of seconds")?,
            jwks_refetch_interval_secs: number(
                "JWKS_REFETCH_INTERVAL_SECS",
                "a number of seconds",
            )?,
            allow_private_outbound: match get("ALLOW_PRIVATE_OUTBOUND").as_deref() {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(v) => {
                    return err(format!(
                        "{ENV_PREFIX}ALLOW_PRIVATE_OUTBOUND must be true or false, got {v:?}"
                    ))
                }
            },
            listen: get("LISTEN"),
            database: get("DATABASE"),
            public_url: get("PUBLIC_URL"),
            root_tenant: get("ROOT_TENANT"),
            tls_cert: get("TLS_CERT").map(PathBuf::from),
            tls_key: get("TLS_KEY").map(PathBuf::from),
            data_dir: get("DATA_DIR").map(PathBuf::from),
            log_format: get("LOG_FORMAT"),
            log_level: get("LOG_LEVEL"),
            max_body_bytes,
            log_retention_days,
            cache_entries: number("CACHE_ENTRIES", "a number of entries")?,
            max_writes_per_tenant: number("MAX_WRITES_PER_TENANT", "a number of writes")?,
        })
    }

    /// Parses a TOML configuration document. `origin` names it in error messages.
    ///
    /// Errors: invalid TOML, unknown keys, values of the wrong type.
    pub fn from_toml(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError(format!("invalid configuration file {origin}: {e}")))
    }

    /// Reads and parses a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read configuration file {}: {e}",
                path.display()
            ))
        })?;
        Settings::from_toml(&text, &path.display().to_string())
    }
}

/// Parses a byte count: a plain integer, or an integer with a `KiB`/`MiB`/`GiB` (or `K`/`M`/`G`) suffix.
pub fn parse_byte_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let (num, mult) = [
        ("kib", 1u64 << 10),
        ("mib", 1 << 20),
        ("gib", 1 << 30),
        ("k", 1 << 10),
        ("m", 1 << 20),
        ("g", 1 << 30),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|n| (n.trim().to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `text` / `json` (case-insensitive).
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// TLS files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The resolved configuration of `scimd serve` (and the subset the `token` commands use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Listen address, `HOST:PORT`.
    pub listen: String,
    /// Database URL.
    pub database: String,
    /// Public base URL without trailing slash (and without `/scim/v2`), if configured;
    /// otherwise derived from the bound address when serving.
    pub public_url: Option<String>,
    /// TLS files, when serving HTTPS.
    pub tls: Option<TlsFiles>,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter directive.
    pub log_level: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: u64,
    /// Days provisioning-log entries are kept; 0 keeps them forever.
    pub log_retention_days: u32,
    /// Entries each per-request cache holds at most ([`CACHE_ENTRIES`]).
    pub cache_entries: usize,
    /// SCIM writes in flight per tenant at most; 0: no limit ([`crate::rate::shares`]).
    pub max_writes_per_tenant: usize,
    /// Connection and request limits of the public port.
    pub limits: net::Limits,
    /// The folder of scimd's own files, when given (see [`Config::data_folder`]).
    pub data_dir: Option<PathBuf>,
    /// Rate limits per client address and per credential.
    pub rate_limits: crate::rate::limiter::RateLimits,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: net::client::TrustedProxies,
    /// Bounds on client input and on what is read for it.
    pub input: InputLimits,
    /// Validation of issuers' access tokens and the outbound address rule.
    pub issuers: crate::issuers::IssuerOptions,
    /// Lifetimes of credentials (`--access-token-ttl`, `--token-expiry-warning-days`).
    pub credentials: crate::state::Credentials,
    /// The slug of the tenant the root paths (`/scim/v2`, `/api/v1`, `/oauth/token`, the
    /// portal) serve (`--root-tenant`, default `default`: the tenant first start created);
    /// `None` for `--root-tenant none` (the root paths answer 404).
    pub root_tenant: Option<String>,
    /// The tenant a `token`, `client`, `settings`, `admin` or `issuer` command acts on
    /// (`--tenant SLUG`; not a setting of the file or the environment); `None`: the root
    /// tenant.
    pub tenant: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            database: DEFAULT_DATABASE.to_string(),
            public_url: None,
            tls: None,
            log_format: LogFormat::Text,
            log_level: DEFAULT_LOG_LEVEL.to_string(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            cache_entries: scimd_directory::cache::DEFAULT_ENTRIES,
            max_writes_per_tenant: crate::rate::shares::DEFAULT_WRITES_PER_TENANT,
            limits: net::Limits::default(),
            data_dir: None,
            rate_limits: crate::rate::limiter::RateLimits::default(),
            trusted_proxies: net::client::TrustedProxies::default(),
            input: InputLimits::default(),
            issuers: crate::issuers::IssuerOptions::default(),
            credentials: crate::state::Credentials::default(),
            root_tenant: Some(scimd_directory::tenants::FIRST_SLUG.to_string()),
            tenant: None,
        }
    }
}

impl Config {
    /// Resolves layers: `flags` over `env` over `file` over the defaults, and validates.
    /// `default_log_level` is used when no layer sets a level.
    ///
    /// Errors: only one of the TLS files given; an unknown log format; a public URL that is
    /// not `http(s)://`; a body limit below [`MIN_MAX_BODY_BYTES`]; an empty listen address;
    /// a log retention over [`MAX_LOG_RETENTION_DAYS`]; a connection limit out of range
    /// ([`connection_limits`]).
    pub fn resolve(
        flags: Settings,
        env: Settings,
        file: Settings,
        default_log_level: &str,
    ) -> Result<Config, ConfigError> {
        let s = flags.or(env).or(file);
        let limits = connection_limits(&s)?;
        let rate_limits = rate_limits(&s)?;
        let trusted_proxies = match &s.trusted_proxies {
            None => net::client::TrustedProxies::default(),
            Some(list) => net::client::TrustedProxies::parse(list).map_err(ConfigError)?,
        };
        let input = input_limits(&s)?;
        let issuers = crate::issuers::IssuerOptions::resolve(
            s.jwt_algorithms.as_deref(),
            s.jwt_clock_skew_secs,
            s.jwks_refetch_interval_secs,
            s.allow_private_outbound,
        )
        .map_err(ConfigError)?;
        let credentials = credentials(&s)?;
        let listen = s
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string())
            .trim()
            .to_string();
        if listen.is_empty() {
            return err(
                "the listen address must not be empty (expected HOST:PORT, e.g. 127.0.0.1:8080)",
            );
        }
        let database = s
            .database
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string())
            .trim()
            .to_string();
        let tls =
            match (s.tls_cert, s.tls_key) {
                (None, None) => None,
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (Some(_), None) => return err(
                    "--tls-cert was given without --tls-key: give both to serve HTTPS, or neither",
                ),
                (None, Some(_)) => return err(
                    "--tls-key was given without --tls-cert: give both to serve HTTPS, or neither",
                ),
            };
        let log_format = match s.log_format {
            None => LogFormat::Text,
            Some(f) => LogFormat::parse(&f).ok_or_else(|| {
                ConfigError(format!("unknown log format {f:?}: expected text or json"))
            })?,
        };
        let public_url = match s.public_url {
            None => None,
            Some(u) => Some(normalize_public_url(&u)?),
        };
        let max_body_bytes = s.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes < MIN_MAX_BODY_BYTES {
            return err(format!(
                "the body limit must be at least {MIN_MAX_BODY_BYTES} bytes, got {max_body_bytes}"
            ));
        }
        let log_retention_days = s.log_retention_days.unwrap_or(DEFAULT_LOG_RETENTION_DAYS);
        if log_retention_days > MAX_LOG_RETENTION_DAYS {
            return err(format!(
                "the log retention must be 0 (keep forever) to {MAX_LOG_RETENTION_DAYS} days, got {log_retention_days}"
            ));
        }
        let cache_entries = s
            .cache_entries
            .unwrap_or(scimd_directory::cache::DEFAULT_ENTRIES as u64);
        in_range("--cache-entries", cache_entries, CACHE_ENTRIES, "")?;
        let max_writes_per_tenant = s
            .max_writes_per_tenant
            .unwrap_or(crate::rate::shares::DEFAULT_WRITES_PER_TENANT as u64);
        let range = crate::rate::shares::WRITES_PER_TENANT;
        in_range(
            "--max-writes-per-tenant",
            max_writes_per_tenant,
            range,
            " (no limit)",
        )?;
        let log_level = s
            .log_level
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| default_log_level.to_string());
        let root_tenant = match s.root_tenant.as_deref().map(str::trim) {
            None => Some(scimd_directory::tenants::FIRST_SLUG.to_string()),
            Some("none") => None,
            Some(slug) => {
                scimd_directory::tenants::check_slug(slug)
                    .map_err(|e| ConfigError(format!("--root-tenant: {e}, or none")))?;
                Some(slug.to_string())
            }
        };
        Ok(Config {
            listen,
            database,
            public_url,
            tls,
            log_format,
            log_level,
            max_body_bytes,
            log_retention_days,
            cache_entries: cache_entries as usize,
            max_writes_per_tenant: max_writes_per_tenant as usize,
            limits,
            data_dir: s.data_dir.filter(|d| !d.as_os_str().is_empty()),
            rate_limits,
            trusted_proxies,
            input,
            issuers,
            credentials,
            root_tenant,
            tenant: None,
        })
    }

    /// The folder where scimd keeps its own files (the first start's
    /// `first-start-secrets.txt`): `--data-dir`, else the SQLite database file's folder;
    /// `None` for PostgreSQL without `--data-dir` (there is no folder to default to).
    pub fn data_folder(&self) -> Option<PathBuf> {
        if let Some(d) = &self.data_dir {
            return Some(d.clone());
        }
        let file = sqlite_path(&self.database)?;
        let parent = Path::new(file).parent()?;
        Some(if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent.to_path_buf()
        })
    }

    /// The public base URL: the configured one, or `http(s)://<addr>` of the bound address.
    pub fn public_base(&self, bound: std::net::SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => format!(
                "{}://{}",
                if self.tls.is_some() { "https" } else { "http" },
                bound
            ),
        }
    }
}

/// The file path of a `sqlite:` URL (`sqlite://PATH`, `sqlite:PATH`, the scheme in any
/// case, query removed); `None` for in-memory databases.
pub fn sqlite_path(url: &str) -> Option<&str> {
    use scimd_store::sqlite::strip_scheme;
    let rest = strip_scheme(url, "sqlite://").or_else(|| strip_scheme(url, "sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path)
    }
}

/// Checks a public URL: `http://` or `https://`, trailing `/` removed, a trailing `/scim/v2`
/// removed (the SCIM base is always `<public_url>/scim/v2`).
pub fn normalize_public_url(u: &str) -> Result<String, ConfigError> {
    let u = u.trim();
    let lower = u.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &u[8..]
    } else if lower.starts_with("http://") {
        &u[7..]
    } else {
        return err(format!(
            "the public URL must start with http:// or https://, got {u:?}"
        ));
    };
    if rest.trim_matches('/').is_empty() {
        return err(format!("the public URL has no host: {u:?}"));
    }
    if u.contains(['?', '#']) {
        return err(format!(
            "the public URL must not have a query or fragment, got {u:?}"
        ));
    }
    let mut u = u.trim_end_matches('/').to_string();
    if u.to_ascii_lowercase().ends_with("/scim/v2") {
        u.truncate(u.len() - "/scim/v2".len());
        u = u.trim_end_matches('/').to_string();
    }
    Ok(u)
}

/// The process environment as a map (only `SCIMD_*` variables, only valid UTF-8).
pub fn process_env() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect()
}

/// The configuration file to read: the flag's, else `SCIMD_CONFIG`'s, else none.
pub fn config_file(flag: Option<&Path>, env: &HashMap<String, String>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        env.get(&format!("{ENV_PREFIX}CONFIG"))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Resolves a configuration from the flags, the given environment and the configuration file
/// the flag or `SCIMD_CONFIG` names (read from disk).
pub fn load(
    flags: Settings,
    config_flag: Option<&Path>,
    env: &HashMap<String, String>,
    default_log_level: &str,
) -> Result<Config, ConfigError> {
    let file = match config_file(config_flag, env) {
        Some(p) => Settings::from_file(&p)?,
        None => Settings::default(),
    };
    Config::resolve(flags, Settings::from_env(env)?, file, default_log_level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_proto::limits::Limits;
    use std::time::Duration;

    #[test]
    fn sqlite_paths() {
        for (url, path) in [
            (
                "sqlite://./scimd-data/scimd.db",
                Some("./scimd-data/scimd.db"),
            ),
            ("sqlite:///tmp/x/scimd.db?mode=rwc", Some("/tmp/x/scimd.db")),
            ("sqlite:x.db", Some("x.db")),
            ("sqlite::memory:", None),
            ("SQLite:///tmp/x/scimd.db", Some("/tmp/x/scimd.db")),
            ("SQLITE::memory:", None),
            ("SQLITE:", None),
            ("postgres://x", None),
        ] {
            assert_eq!(sqlite_path(url), path, "{url}");
        }
    }

    /// Settings with only what `set` gives, as one layer would.
    fn with(set: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = Settings::default();
        set(&mut s);
        s
    }

    /// The configuration from flags alone.
    fn from_flags(flags: Settings) -> Result<Config, ConfigError> {
        Config::resolve(flags, Settings::default(), Settings::default(), "info")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The configuration of `flags` over the environment `envs` over the TOML `file`.
    fn layered(file: &str, envs: &[(&str, &str)], flags: Settings) -> Config {
        let file = Settings::from_toml(file, "t").unwrap();
        let envs = Settings::from_env(&env(envs)).unwrap();
        Config::resolve(flags, envs, file, "info").unwrap()
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(
            Settings::default(),
            Settings::default(),
            Settings::default(),
            "info",
        )
        .unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(
            c.public_base("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let file = Settings::from_toml(
            r#"
            listen = "0.0.0.0:9000"
            database = "sqlite:///file.db"
            public_url = "https://file.example"
            log_format = "json"
            max_body_bytes = 2048
            "#,
            "test.toml",
        )
        .unwrap();
        let envs = Settings::from_env(&env(&[
            ("SCIMD_LISTEN", "127.0.0.1:7000"),
            ("SCIMD_DATABASE", "sqlite:///env.db"),
            ("SCIMD_LOG_LEVEL", "debug"),
        ]))
        .unwrap();
        let flags = with(|s| s.listen = Some("127.0.0.1:0".into()));
        let c = Config::resolve(flags, envs, file, "info").unwrap();
        assert_eq!(c.listen, "127.0.0.1:0"); // flag
        assert_eq!(c.database, "sqlite:///env.db"); // env over file
        assert_eq!(c.log_level, "debug"); // env
        assert_eq!(c.public_url.as_deref(), Some("https://file.example")); // file
        assert_eq!(c.log_format, LogFormat::Json); // file
        assert_eq!(c.max_body_bytes, 2048); // file
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let e =
            Settings::from_env(&env(&[("SCIMD_LISTEN", ""), ("SCIMD_DATABASE", "  ")])).unwrap();
        assert_eq!(e, Settings::default());
    }

    #[test]
    fn env_body_size_parsing() {
        let e = Settings::from_env(&env(&[("SCIMD_MAX_BODY_BYTES", "8MiB")])).unwrap();
        assert_eq!(e.max_body_bytes, Some(8 * 1024 * 1024));
        assert!(Settings::from_env(&env(&[("SCIMD_MAX_BODY_BYTES", "lots")])).is_err());
        assert_eq!(parse_byte_size("4096"), Some(4096));
        assert_eq!(parse_byte_size("16k"), Some(16384));
        assert_eq!(parse_byte_size("1 GiB"), Some(1 << 30));
        assert_eq!(parse_byte_size("-1"), None);
    }

    #[test]
    fn connection_and_rate_limits_in_every_layer() {
        let flags = Settings {
            max_connections: Some(100),
            rate_limit_unauthenticated_per_minute: Some(0),
            ..Default::default()
        };
        let c = layered(
            "idle_timeout_secs = 20\nheader-read-timeout-secs = 4\nmax_connections = 300\nbody_read_timeout_secs = 9\nrate-limit-burst = 50\ntrusted_proxies = \"10.0.0.0/8\"",
            &[
                ("SCIMD_IDLE_TIMEOUT_SECS", "30"),
                ("SCIMD_REQUEST_TIMEOUT_SECS", "45"),
                ("SCIMD_TLS_HANDSHAKE_TIMEOUT_SECS", "3"),
                ("SCIMD_RATE_LIMIT_PER_CREDENTIAL", "25"),
                ("SCIMD_RATE_LIMIT_UNAUTHENTICATED_BURST", "5"),
            ],
            flags,
        );
        let l = &c.limits;
        assert_eq!(l.idle_timeout.as_secs(), 30); // env over file
        assert_eq!(l.header_read_timeout.as_secs(), 4); // file (kebab case)
        assert_eq!(l.body_read_timeout.as_secs(), 9); // file
        assert_eq!(l.request_timeout.as_secs(), 45); // env
        assert_eq!(l.tls_handshake_timeout.as_secs(), 3); // env
        assert_eq!(l.max_connections, Some(100)); // flag over file
        let r = c.rate_limits;
        assert_eq!(r.unauthenticated_per_minute, 0); // flag: off
        assert_eq!(r.unauthenticated_burst, 5); // env
        assert_eq!(r.per_credential, 25); // env
        assert_eq!(r.burst, 50); // file (kebab case)
        assert!(c.trusted_proxies.contains("10.2.3.4".parse().unwrap()));
        let none = Settings::default();
        let none = Config::resolve(none.clone(), none.clone(), none, "info").unwrap();
        assert_eq!(
            none.rate_limits,
            crate::rate::limiter::RateLimits::default()
        );
        assert!(none.trusted_proxies.is_empty());
        assert!(Settings::from_env(&env(&[("SCIMD_MAX_CONNECTIONS", "many")])).is_err());
        let e = Settings::from_env(&env(&[("SCIMD_IDLE_TIMEOUT_SECS", "1m")])).unwrap_err();
        assert!(e.0.contains("SCIMD_IDLE_TIMEOUT_SECS"), "{e}");
        let zero = with(|s| s.body_read_timeout_secs = Some(0));
        let e = from_flags(zero).unwrap_err();
        assert!(e.0.contains("--body-read-timeout-secs"), "{e}");
        for bad in [
            with(|s| s.rate_limit_burst = Some(0)),
            with(|s| s.rate_limit_per_credential = Some(u64::from(u32::MAX) + 1)),
            with(|s| s.trusted_proxies = Some("10.0.0.0/8,lb.example".into())),
        ] {
            let e = from_flags(bad).unwrap_err();
            assert!(e.0.starts_with("--"), "{e}");
        }
    }

    #[test]
    fn input_limits_in_every_layer() {
        let flags = Settings {
            max_members_per_request: Some(50_000),
            max_page_bytes: Some(2 << 20),
            ..Default::default()
        };
        let i = layered(
            "max-identifier-bytes = 512\nmax_values = 20\nmax_page_bytes = 1048576\nstatement_timeout_secs = 9",
            &[
                ("SCIMD_MAX_STRING_BYTES", "32KiB"),
                ("SCIMD_MAX_VALUES", "30"),
                ("SCIMD_STATEMENT_TIMEOUT_SECS", "5"),
            ],
            flags,
        )
        .input;
        assert_eq!(i.limits.max_identifier_bytes, 512); // file (kebab case)
        assert_eq!(i.limits.max_string_bytes, 32 * 1024); // env, with a suffix
        assert_eq!(i.limits.max_values, 30); // env over file
        assert_eq!(i.limits.max_members, 50_000); // flag
        assert_eq!(i.limits.max_page_bytes, 2 << 20); // flag over file
        assert_eq!(i.statement_timeout, Duration::from_secs(5)); // env over file
        let d = Config::default().input;
        assert_eq!(d.limits, Limits::default());
        assert_eq!(d.statement_timeout, Duration::from_secs(30));
        for (bad, flag) in [
            (
                with(|s| s.max_members_per_request = Some(9_999)),
                "--max-members-per-request",
            ),
            (
                with(|s| s.max_identifier_bytes = Some(4096)),
                "--max-identifier-bytes",
            ),
            (with(|s| s.max_values = Some(0)), "--max-values"),
            (with(|s| s.max_page_bytes = Some(10)), "--max-page-bytes"),
            (
                with(|s| s.statement_timeout_secs = Some(0)),
                "--statement-timeout-secs",
            ),
            (with(|s| s.cache_entries = Some(10)), "--cache-entries"),
            (
                with(|s| s.max_writes_per_tenant = Some(1001)),
                "--max-writes-per-tenant",
            ),
        ] {
            let e = from_flags(bad).unwrap_err();
            assert!(e.0.contains(flag), "{e}");
        }
        let e = Settings::from_env(&env(&[("SCIMD_MAX_PAGE_BYTES", "big")])).unwrap_err();
        assert!(e.0.contains("SCIMD_MAX_PAGE_BYTES"), "{e}");
        // The caches' and the writer shares' sizes: defaults, flags and 0 (no share).
        let d = Config::default();
        assert_eq!((d.cache_entries, d.max_writes_per_tenant), (10_000, 4));
        let c = from_flags(with(|s| {
            s.cache_entries = Some(500);
            s.max_writes_per_tenant = Some(0);
        }))
        .unwrap();
        assert_eq!((c.cache_entries, c.max_writes_per_tenant), (500, 0));
        let e = Settings::from_env(&env(&[("SCIMD_CACHE_ENTRIES", "many")])).unwrap_err();
        assert!(e.0.contains("SCIMD_CACHE_ENTRIES"), "{e}");
    }

    #[test]
    fn toml_kebab_case_and_unknown_keys() {
        let s = Settings::from_toml(
            "public-url = \"http://x\"\nmax-body-bytes = 5000\ntls-cert = \"c.pem\"",
            "t",
        )
        .unwrap();
        assert_eq!(s.public_url.as_deref(), Some("http://x"));
        assert_eq!(s.max_body_bytes, Some(5000));
        assert_eq!(s.tls_cert, Some(PathBuf::from("c.pem")));
        let e = Settings::from_toml("lisen = \"x\"", "t").unwrap_err();
        assert!(e.0.contains("lisen"), "{e}");
        assert!(Settings::from_toml("max_body_bytes = \"big\"", "t").is_err());
    }

    #[test]
    fn log_retention_layers() {
        let none = Config::resolve(
            Settings::default(),
            Settings::default(),
            Settings::default(),
            "info",
        )
        .unwrap();
        assert_eq!(none.log_retention_days, 30);
        let file = Settings::from_toml("log_retention_days = 7", "t").unwrap();
        assert_eq!(file.log_retention_days, Some(7));
        assert_eq!(
            Settings::from_toml("log-retention-days = 9", "t")
                .unwrap()
                .log_retention_days,
            Some(9)
        );
        let envs = Settings::from_env(&env(&[("SCIMD_LOG_RETENTION_DAYS", "0")])).unwrap();
        let c = Config::resolve(Settings::default(), envs.clone(), file.clone(), "info").unwrap();
        assert_eq!(c.log_retention_days, 0); // env over file
        let flags = with(|s| s.log_retention_days = Some(90));
        assert_eq!(
            Config::resolve(flags, envs, file, "info")
                .unwrap()
                .log_retention_days,
            90
        );
        assert!(Settings::from_env(&env(&[("SCIMD_LOG_RETENTION_DAYS", "-1")])).is_err());
        assert!(Settings::from_env(&env(&[("SCIMD_LOG_RETENTION_DAYS", "month")])).is_err());
        let huge = with(|s| s.log_retention_days = Some(u32::MAX));
        assert!(from_flags(huge).is_err());
    }

    #[test]
    fn tls_both_or_neither() {
        let only_cert = with(|s| s.tls_cert = Some("c.pem".into()));
        let e = from_flags(only_cert).unwrap_err();
        assert!(e.0.contains("--tls-key"), "{e}");
        // cert from a flag, key from the environment: both given.
        let c = Config::resolve(
            with(|s| s.tls_cert = Some("c.pem".into())),
            with(|s| s.tls_key = Some("k.pem".into())),
            Settings::default(),
            "info",
        )
        .unwrap();
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert_eq!(
            c.public_base("127.0.0.1:8443".parse().unwrap()),
            "https://127.0.0.1:8443"
        );
    }

    #[test]
    fn validation() {
        let bad_fmt = with(|s| s.log_format = Some("xml".into()));
        assert!(from_flags(bad_fmt).is_err());
        let small = with(|s| s.max_body_bytes = Some(10));
        assert!(from_flags(small).is_err());
        let bad_url = with(|s| s.public_url = Some("scim.example.com".into()));
        assert!(from_flags(bad_url).is_err());
        let c = Config::resolve(
            Settings::default(),
            Settings::default(),
            Settings::default(),
            "warn",
        )
        .unwrap();
        assert_eq!(c.log_level, "warn");
    }

    #[test]
    fn public_url_normalisation() {
        assert_eq!(
            normalize_public_url("https://scim.example.com/").unwrap(),
            "https://scim.example.com"
        );
        assert_eq!(
            normalize_public_url("https://x.example/base/scim/v2/").unwrap(),
            "https://x.example/base"
        );
        assert_eq!(
            normalize_public_url("HTTP://x:8080").unwrap(),
            "HTTP://x:8080"
        );
        assert!(normalize_public_url("ftp://x").is_err());
        assert!(normalize_public_url("https://x/?a=b").is_err());
    }

    #[test]
    fn data_folder() {
        let c = |db: &str, dir: Option<&str>| Config {
            database: db.into(),
            data_dir: dir.map(PathBuf::from),
            ..Default::default()
        };
        assert_eq!(
            Config::default().data_folder(),
            Some(PathBuf::from("./scimd-data"))
        );
        assert_eq!(
            c("sqlite:scimd.db", None).data_folder(),
            Some(PathBuf::from("."))
        );
        assert_eq!(c("postgres://h/db", None).data_folder(), None);
        assert_eq!(
            c("postgres://h/db", Some("/var/lib/scimd")).data_folder(),
            Some(PathBuf::from("/var/lib/scimd"))
        );
        let e = Settings::from_env(&env(&[("SCIMD_DATA_DIR", "/srv/scimd")])).unwrap();
        assert_eq!(e.data_dir, Some(PathBuf::from("/srv/scimd")));
        let f = Settings::from_toml("data-dir = \"/d\"", "t").unwrap();
        assert_eq!(f.data_dir, Some(PathBuf::from("/d")));
    }

    #[test]
    fn config_file_choice() {
        let e = env(&[("SCIMD_CONFIG", "/etc/scimd.toml")]);
        assert_eq!(
            config_file(None, &e),
            Some(PathBuf::from("/etc/scimd.toml"))
        );
        assert_eq!(
            config_file(Some(Path::new("a.toml")), &e),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(config_file(None, &HashMap::new()), None);
    }

    #[test]
    fn load_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("scimd-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scimd.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nlog_level = \"debug\"\n",
        )
        .unwrap();
        let e = env(&[
            ("SCIMD_CONFIG", path.to_str().unwrap()),
            ("SCIMD_LOG_LEVEL", "trace"),
        ]);
        let c = load(Settings::default(), None, &e, "info").unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.log_level, "trace");
        let missing = load(
            Settings::default(),
            Some(&dir.join("nope.toml")),
            &HashMap::new(),
            "info",
        )
        .unwrap_err();
        assert!(
            missing.0.contains("cannot read configuration file"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
