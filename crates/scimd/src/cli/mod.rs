//! The command line: `scimd serve`, `scimd token create|list|revoke` ([`tokens`]),
//! `scimd client create|list|revoke` ([`clients`]),
//! `scimd settings show|set` ([`settings`]), `scimd admin create|reset-password|unlock`
//! ([`admins`]), `scimd issuer add|list|remove` ([`issuers`]), `scimd migrate` and
//! `scimd copy` ([`db`]).
//!
//! Settings given as flags win over `SCIMD_*` environment variables, which win over the
//! TOML file named by `--config` / `SCIMD_CONFIG` (see [`crate::config`]).
//!
//! Output discipline: `token create` prints only the secret on stdout; `token list` prints
//! a table (with `--json`, `{"tokens": [...]}`) on stdout; `settings show|set` print the tenant settings as JSON on stdout;
//! `migrate` one line and `copy` its per-table row counts on stdout;
//! messages and logs go to stderr. `serve` writes the first start's secrets (SCIM base URL
//! and token, the administrator's password) to `first-start-secrets.txt` in the data folder
//! and prints them on stdout only when it is a terminal (otherwise where the file is), and
//! `listening on <url>` on stderr.

pub mod admins;
pub mod clients;
pub mod db;
pub mod issuers;
pub mod operators;
pub mod settings;
pub mod tenants;
pub mod tokens;

use crate::config::{self, parse_byte_size, Settings};
use admins::AdminCommand;
use clap::{Args, Parser, Subcommand};
use issuers::IssuerCommand;
use settings::SettingsCommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tokens::TokenCommand;

/// scimd: a SCIM 2.0 directory server (RFC 7643 / RFC 7644) that identity providers such
/// as Microsoft Entra ID provision users and groups into.
#[derive(Debug, Parser)]
#[command(
    name = "scimd",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// TOML configuration file (keys as the flags, snake_case) [env: SCIMD_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// [env: SCIMD_DATABASE] [default: sqlite://./scimd-data/scimd.db]
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    /// Log format [env: SCIMD_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,

    /// Log filter: error, warn, info, debug, trace, or directives like info,scimd=debug
    /// [env: SCIMD_LOG_LEVEL] [default: info; warn for token and settings commands]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// The tenant (its slug) a token, client, settings, admin or issuer command acts on
    /// [default: the root tenant, see serve --root-tenant]; with copy, the one tenant to copy
    /// into a database that may serve others [default: copy everything into an empty one]
    #[arg(long, global = true, value_name = "SLUG")]
    pub tenant: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve SCIM over HTTP(S). On first start with an empty database, creates the default
    /// tenant, a SCIM token and the first administrator, and writes them to
    /// first-start-secrets.txt in the data folder.
    Serve(Box<ServeArgs>),
    /// Manage a tenant's API tokens (the root tenant's, or --tenant SLUG's), or the
    /// operator tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage a tenant's OAuth 2.0 clients (client credentials grant; the root tenant's, or
    /// --tenant SLUG's).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Show or change a tenant's provisioning settings (the root tenant's, or --tenant
    /// SLUG's).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Apply the database's pending migrations (--database) and exit, without serving.
    Migrate,
    /// Copy a whole deployment into an empty database, e.g. from SQLite to PostgreSQL:
    /// scimd copy --from sqlite://./scimd-data/scimd.db --to postgres://scimd:PASSWORD@db/scimd;
    /// with --tenant SLUG, that one tenant into another deployment
    Copy(db::CopyArgs),
    /// Manage the portal's administrators (create, reset a password, end a sign-in
    /// slow-down).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the OIDC issuers whose access tokens SCIM clients may present (Entra
    /// workload identity federation).
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Manage the tenants: the organisations this server serves, each on its own paths
    /// (/t/SLUG/scim/v2) with its own tokens, administrators and data.
    #[command(subcommand)]
    Tenant(tenants::TenantCommand),
    /// Manage the operators: who sign in to the operator portal (/operator/) to create,
    /// disable, enable and delete tenants (not with --tenant).
    #[command(subcommand)]
    Operator(operators::OperatorCommand),
}

/// Flags of `scimd serve`.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0: any free port) [env: SCIMD_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// URL clients reach this server at; the SCIM base is this URL + /scim/v2
    /// [env: SCIMD_PUBLIC_URL] [default: http(s)://LISTEN-ADDRESS]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// The tenant the root paths (/scim/v2, /api/v1, /oauth/token, the portal at /) serve,
    /// by slug; `none`: the root paths answer 404 and every tenant is on /t/SLUG/...
    /// [env: SCIMD_ROOT_TENANT] [default: default, the tenant first start created]
    #[arg(long, value_name = "SLUG|none")]
    pub root_tenant: Option<String>,

    /// PEM certificate chain; with --tls-key, serve HTTPS [env: SCIMD_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert [env: SCIMD_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Largest request body accepted, in bytes (suffixes KiB, MiB accepted); published as
    /// maxPayloadSize [env: SCIMD_MAX_BODY_BYTES] [default: 4MiB]
    #[arg(long, value_name = "BYTES", value_parser = parse_size_arg)]
    pub max_body_bytes: Option<u64>,

    /// Days change records are kept (the provisioning log, histories, the audit record);
    /// older ones are deleted at start and hourly (0: keep forever)
    /// [env: SCIMD_LOG_RETENTION_DAYS] [default: 30]
    #[arg(long, value_name = "DAYS")]
    pub log_retention_days: Option<u32>,

    /// Entries each per-request cache holds at most: tokens, OAuth access tokens, tenants'
    /// settings and custom attributes (100 to 10000000) [env: SCIMD_CACHE_ENTRIES]
    /// [default: 10000]
    #[arg(long, value_name = "N")]
    pub cache_entries: Option<u64>,

    /// SCIM writes of one tenant in flight at once on this server; its further writes wait
    /// for a turn, so one tenant's initial cycle does not queue ahead of every other
    /// tenant's writes (0: no limit) [env: SCIMD_MAX_WRITES_PER_TENANT] [default: 4]
    #[arg(long, value_name = "N")]
    pub max_writes_per_tenant: Option<u64>,

    // Connection limits of the public port (docs/security.md).
    /// Seconds a client has to send a complete request head (from the connection's start, or
    /// from the first byte on a kept-alive connection) [env: SCIMD_HEADER_READ_TIMEOUT_SECS] [default: 10]
    #[arg(long, value_name = "SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a whole request body, from its head; then 408
    /// [env: SCIMD_BODY_READ_TIMEOUT_SECS] [default: 30]
    #[arg(long, value_name = "SECS")]
    pub body_read_timeout_secs: Option<u64>,
    /// Seconds a connection may stay open with no request in progress
    /// [env: SCIMD_IDLE_TIMEOUT_SECS] [default: 75]
    #[arg(long, value_name = "SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a request may take; then 503 (downloads exempt) [env: SCIMD_REQUEST_TIMEOUT_SECS] [default: 120]
    #[arg(long, value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Seconds a client has to complete the TLS handshake [env: SCIMD_TLS_HANDSHAKE_TIMEOUT_SECS] [default: 10]
    #[arg(long, value_name = "SECS")]
    pub tls_handshake_timeout_secs: Option<u64>,
    /// Connections served at once, plus 16 for health checks [env: SCIMD_MAX_CONNECTIONS]
    /// [default: from the file-descriptor limit, at most 10000]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u64>,

    /// Folder for scimd's own files: the first start writes first-start-secrets.txt there
    /// (mode 0600) [env: SCIMD_DATA_DIR] [default: the SQLite file's folder; required with
    /// PostgreSQL]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    // Rate limits (docs/security.md, "Rate limits"); 0 turns a limit off.
    /// Requests a minute per client address without a valid credential (none, or one that
    /// fails); then 429 [env: SCIMD_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE] [default: 60]
    #[arg(long, value_name = "N")]
    pub rate_limit_unauthenticated_per_minute: Option<u64>,
    /// Burst of those requests [env: SCIMD_RATE_LIMIT_UNAUTHENTICATED_BURST] [default: 30]
    #[arg(long, value_name = "N")]
    pub rate_limit_unauthenticated_burst: Option<u64>,
    /// Requests a second per valid credential (a token, a portal session); beyond, a short
    /// wait, then 429 [env: SCIMD_RATE_LIMIT_PER_CREDENTIAL] [default: 200]
    #[arg(long, value_name = "N")]
    pub rate_limit_per_credential: Option<u64>,
    /// Burst of requests per credential [env: SCIMD_RATE_LIMIT_BURST] [default: 1000]
    #[arg(long, value_name = "N")]
    pub rate_limit_burst: Option<u64>,
    /// Proxies (CIDR,CIDR,...) whose X-Forwarded-For names the client; from any other peer
    /// the header is ignored [env: SCIMD_TRUSTED_PROXIES] [default: none]
    #[arg(long, value_name = "CIDRS")]
    pub trusted_proxies: Option<String>,
    // Input bounds (docs/security.md, "Input").
    /// Longest userName, externalId or group displayName accepted, in bytes of UTF-8; longer
    /// is 400 invalidValue [env: SCIMD_MAX_IDENTIFIER_BYTES] [default: 1024]
    #[arg(long, value_name = "BYTES", value_parser = parse_size_arg)]
    pub max_identifier_bytes: Option<u64>,
    /// Longest other string value accepted, in bytes of UTF-8; longer is 400 invalidValue
    /// [env: SCIMD_MAX_STRING_BYTES] [default: 16KiB]
    #[arg(long, value_name = "BYTES", value_parser = parse_size_arg)]
    pub max_string_bytes: Option<u64>,
    /// Most values of one multi-valued attribute (emails, roles ...); more is 400
    /// invalidValue [env: SCIMD_MAX_VALUES] [default: 100]
    #[arg(long, value_name = "N")]
    pub max_values: Option<u64>,
    /// Most group members one POST, PUT or PATCH may name; more is 400 invalidValue
    /// (at least 10000) [env: SCIMD_MAX_MEMBERS_PER_REQUEST] [default: 20000]
    #[arg(long, value_name = "N")]
    pub max_members_per_request: Option<u64>,
    /// Largest list page, in bytes of JSON: a larger one holds fewer resources (at least
    /// one) [env: SCIMD_MAX_PAGE_BYTES] [default: 8MiB]
    #[arg(long, value_name = "BYTES", value_parser = parse_size_arg)]
    pub max_page_bytes: Option<u64>,
    /// Seconds one database statement may run before it is cancelled (a filter: 400
    /// tooMany) [env: SCIMD_STATEMENT_TIMEOUT_SECS] [default: 30]
    #[arg(long, value_name = "SECS")]
    pub statement_timeout_secs: Option<u64>,
    // Issuers' access tokens (docs/authentication.md).
    /// Algorithms issuers' access tokens may be signed with, comma-separated (RS256, RS384,
    /// RS512, PS256, PS384, PS512, ES256, ES384, EdDSA; never none or HS*)
    /// [env: SCIMD_JWT_ALGORITHMS] [default: RS256]
    #[arg(long, value_name = "ALGS")]
    pub jwt_algorithms: Option<String>,
    /// Clock skew allowed on an access token's exp and nbf, seconds (at most 600)
    /// [env: SCIMD_JWT_CLOCK_SKEW_SECS] [default: 60]
    #[arg(long, value_name = "SECS")]
    pub jwt_clock_skew_secs: Option<u64>,
    /// Least time between two fetches of one issuer's keys (an unknown kid fetches them
    /// again at most this often) [env: SCIMD_JWKS_REFETCH_INTERVAL_SECS] [default: 300]
    #[arg(long, value_name = "SECS")]
    pub jwks_refetch_interval_secs: Option<u64>,
    /// Fetch issuer metadata and keys from private, loopback and link-local addresses and
    /// over http too (tests, closed networks) [env: SCIMD_ALLOW_PRIVATE_OUTBOUND]
    #[arg(long)]
    pub allow_private_outbound: bool,
    // Credentials (docs/authentication.md).
    /// Lifetime of the access tokens of the OAuth token endpoint: a whole number of s, m
    /// or h, at most 24h [env: SCIMD_ACCESS_TOKEN_TTL] [default: 1h]
    #[arg(long, value_name = "TTL")]
    pub access_token_ttl: Option<String>,
    /// Days before a static token expires that the dashboard warns of it
    /// [env: SCIMD_TOKEN_EXPIRY_WARNING_DAYS] [default: 14]
    #[arg(long, value_name = "DAYS")]
    pub token_expiry_warning_days: Option<u64>,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_byte_size(s)
        .ok_or_else(|| format!("expected a number of bytes (e.g. 4194304 or 4MiB), got {s:?}"))
}

impl Command {
    /// For a command that acts outside every tenant (operators, operator tokens), what it
    /// acts on and what a tenant has instead, for the refusal of `--tenant` (exit status 2).
    fn outside_tenants(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Command::Operator(_) => Some((
                "operators",
                "a tenant's administrators are made with scimd admin create --tenant SLUG",
            )),
            Command::Token(t) if t.operator() => Some((
                "operator tokens",
                "a tenant's tokens have scope scim or admin",
            )),
            _ => None,
        }
    }
}

impl Cli {
    /// The settings the flags give (the top layer).
    pub fn flag_settings(&self) -> Settings {
        let mut s = Settings {
            database: self.database.clone(),
            log_format: self.log_format.clone(),
            log_level: self.log_level.clone(),
            ..Default::default()
        };
        if let Command::Serve(a) = &self.command {
            s.listen = a.listen.clone();
            s.public_url = a.public_url.clone();
            s.root_tenant = a.root_tenant.clone();
            s.tls_cert = a.tls_cert.clone();
            s.tls_key = a.tls_key.clone();
            s.max_body_bytes = a.max_body_bytes;
            s.log_retention_days = a.log_retention_days;
            s.cache_entries = a.cache_entries;
            s.max_writes_per_tenant = a.max_writes_per_tenant;
            s.header_read_timeout_secs = a.header_read_timeout_secs;
            s.body_read_timeout_secs = a.body_read_timeout_secs;
            s.idle_timeout_secs = a.idle_timeout_secs;
            s.request_timeout_secs = a.request_timeout_secs;
            s.tls_handshake_timeout_secs = a.tls_handshake_timeout_secs;
            s.max_connections = a.max_connections;
            s.data_dir = a.data_dir.clone();
            s.rate_limit_unauthenticated_per_minute = a.rate_limit_unauthenticated_per_minute;
            s.rate_limit_unauthenticated_burst = a.rate_limit_unauthenticated_burst;
            s.rate_limit_per_credential = a.rate_limit_per_credential;
            s.rate_limit_burst = a.rate_limit_burst;
            s.trusted_proxies = a.trusted_proxies.clone();
            s.max_identifier_bytes = a.max_identifier_bytes;
            s.max_string_bytes = a.max_string_bytes;
            s.max_values = a.max_values;
            s.max_members_per_request = a.max_members_per_request;
            s.max_page_bytes = a.max_page_bytes;
            s.statement_timeout_secs = a.statement_timeout_secs;
            s.jwt_algorithms = a.jwt_algorithms.clone();
            s.jwt_clock_skew_secs = a.jwt_clock_skew_secs;
            s.jwks_refetch_interval_secs = a.jwks_refetch_interval_secs;
            s.allow_private_outbound = a.allow_private_outbound.then_some(true);
            s.access_token_ttl = a.access_token_ttl.clone();
            s.token_expiry_warning_days = a.token_expiry_warning_days;
        }
        if let Command::Issuer(IssuerCommand::Add {
            allow_private_outbound: true,
            ..
        }) = &self.command
        {
            s.allow_private_outbound = Some(true);
        }
        s
    }

    /// Resolves the configuration from the flags, `env` and the configuration file.
    pub fn resolve_config(
        &self,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<config::Config, config::ConfigError> {
        let default_level = match self.command {
            Command::Serve(_) => config::DEFAULT_LOG_LEVEL,
            Command::Admin(_)
            | Command::Issuer(_)
            | Command::Client(_)
            | Command::Tenant(_)
            | Command::Operator(_) => "warn",
            Command::Token(_) | Command::Settings(_) | Command::Migrate | Command::Copy(_) => {
                "warn"
            }
        };
        config::load(
            self.flag_settings(),
            self.config.as_deref(),
            env,
            default_level,
        )
    }
}

/// Installs the global `tracing` subscriber writing to stderr. A no-op if one is installed.
///
/// Errors: a log filter that does not parse.
pub fn init_logging(format: config::LogFormat, level: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("invalid log level {level:?}: {e}"))?;
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter);
    let _ = match format {
        config::LogFormat::Text => builder.try_init(),
        config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    Ok(())
}

/// Runs the program: parses the command line, resolves the configuration, and dispatches.
/// Exit codes: 0 success, 1 failure, 2 usage or configuration error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = config::process_env();
    let mut cfg = match cli.resolve_config(&env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(t) = &cli.tenant {
        if let Command::Serve(_) | Command::Migrate | Command::Tenant(_) = cli.command {
            eprintln!(
                "error: --tenant applies to the token, client, settings, admin, issuer and copy commands (serve takes --root-tenant; tenant commands take the slug as an argument)"
            );
            return ExitCode::from(2);
        }
        if let Some((what, instead)) = cli.command.outside_tenants() {
            eprintln!("error: {what} belong to no tenant: drop --tenant {t} ({instead})");
            return ExitCode::from(2);
        }
        cfg.tenant = Some(t.clone());
    }
    if let Err(e) = init_logging(cfg.log_format, &cfg.log_level) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(_) => crate::server::serve(cfg).await.map(|()| ExitCode::SUCCESS),
            Command::Token(t) => tokens::run_token(t, &cfg).await,
            Command::Client(c) => clients::run_client(c, &cfg).await,
            Command::Settings(s) => settings::run_settings(s, &cfg).await,
            Command::Migrate => db::run_migrate(&cfg).await,
            Command::Copy(a) => db::run_copy(&a, cfg.tenant.as_deref()).await,
            Command::Admin(a) => admins::run_admin(a, &cfg).await,
            Command::Issuer(i) => issuers::run_issuer(i, &cfg).await,
            Command::Tenant(t) => tenants::run_tenant(t, &cfg).await,
            Command::Operator(o) => operators::run_operator(o, &cfg).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::settings::setting_value;
    use super::tokens::ScopeArg;
    use super::*;
    use clap::CommandFactory;
    use std::collections::HashMap;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_and_globals() {
        let cli = Cli::try_parse_from([
            "scimd",
            "--database",
            "sqlite:///tmp/a.db",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-body-bytes",
            "8MiB",
            "--log-format",
            "json",
        ])
        .unwrap();
        let s = cli.flag_settings();
        assert_eq!(s.database.as_deref(), Some("sqlite:///tmp/a.db"));
        assert_eq!(s.listen.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(s.max_body_bytes, Some(8 << 20));
        assert_eq!(s.log_format.as_deref(), Some("json"));
        // env below flags
        let env: HashMap<String, String> = [
            ("SCIMD_LISTEN".to_string(), "0.0.0.0:1".to_string()),
            (
                "SCIMD_PUBLIC_URL".to_string(),
                "https://x.example".to_string(),
            ),
        ]
        .into();
        let c = cli.resolve_config(&env).unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.public_url.as_deref(), Some("https://x.example"));
        assert_eq!(c.log_level, "info");
    }

    #[test]
    fn token_commands_parse() {
        let cli = Cli::try_parse_from([
            "scimd",
            "token",
            "create",
            "--name",
            "entra",
            "--database",
            "sqlite://x.db",
        ])
        .unwrap();
        match &cli.command {
            Command::Token(TokenCommand::Create {
                name,
                scope,
                expires_in,
            }) => {
                assert_eq!(name, "entra");
                assert_eq!(*scope, ScopeArg::Scim);
                assert_eq!(*expires_in, None);
            }
            c => panic!("{c:?}"),
        }
        assert_eq!(
            cli.resolve_config(&HashMap::new()).unwrap().log_level,
            "warn"
        );
        let expiring = ["scimd", "token", "create", "--name", "a", "--expires-in"];
        let cli = Cli::try_parse_from(expiring.iter().chain(&["90d"])).unwrap();
        assert!(matches!(
            &cli.command,
            Command::Token(TokenCommand::Create { expires_in: Some(d), .. }) if *d == time::Duration::days(90)
        ));
        let e = Cli::try_parse_from(expiring.iter().chain(&["90x"])).unwrap_err();
        assert!(
            e.to_string().contains("m (minutes), h (hours), d (days)"),
            "{e}"
        );
        let cli = Cli::try_parse_from([
            "scimd", "token", "create", "--name", "a", "--scope", "admin",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Token(TokenCommand::Create {
                scope: ScopeArg::Admin,
                ..
            })
        ));
        assert!(Cli::try_parse_from([
            "scimd", "token", "create", "--name", "a", "--scope", "root"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["scimd", "token", "revoke", "entra"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Token(TokenCommand::Revoke { .. })
        ));
        assert!(Cli::try_parse_from(["scimd", "token", "list"]).is_ok());
        // serve-only flags are not accepted by token commands
        assert!(Cli::try_parse_from(["scimd", "token", "list", "--listen", "x"]).is_err());
        assert!(Cli::try_parse_from(["scimd", "serve", "--max-body-bytes", "lots"]).is_err());
    }

    #[test]
    fn settings_commands_parse() {
        let cli = Cli::try_parse_from([
            "scimd",
            "settings",
            "set",
            "refuseInactiveCreate",
            "false",
            "--database",
            "sqlite://x.db",
        ])
        .unwrap();
        match &cli.command {
            Command::Settings(SettingsCommand::Set { key, value }) => {
                assert_eq!(key, "refuseInactiveCreate");
                assert_eq!(value, "false");
            }
            c => panic!("{c:?}"),
        }
        assert_eq!(
            cli.resolve_config(&HashMap::new()).unwrap().log_level,
            "warn"
        );
        assert!(Cli::try_parse_from(["scimd", "settings", "show"]).is_ok());
        assert!(Cli::try_parse_from(["scimd", "settings", "set", "k"]).is_err());
        assert_eq!(setting_value("false"), serde_json::json!(false));
        assert_eq!(setting_value("ignore"), serde_json::json!("ignore"));
        assert_eq!(
            setting_value("urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"),
            serde_json::json!("urn:ietf:params:scim:schemas:extension:ivanti:2.0:User")
        );
        assert_eq!(setting_value("\"true\""), serde_json::json!("true"));
        assert_eq!(setting_value("[1]"), serde_json::json!("[1]"));
        let cli = Cli::try_parse_from(["scimd", "serve", "--log-retention-days", "7"]).unwrap();
        assert_eq!(cli.flag_settings().log_retention_days, Some(7));
        assert!(Cli::try_parse_from(["scimd", "serve", "--log-retention-days", "-1"]).is_err());
    }

    #[test]
    fn admin_commands_parse() {
        let cli = Cli::try_parse_from(["scimd", "admin", "create", "--username", "ops"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::Create { ref username }) if username.get() == "ops"
        ));
        let cli = Cli::try_parse_from(["scimd", "admin", "create", "ops"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::Create { ref username }) if username.get() == "ops"
        ));
        assert!(Cli::try_parse_from(["scimd", "admin", "create", "a", "--username", "b"]).is_err());
        let cli = Cli::try_parse_from(["scimd", "admin", "reset-password", "--username", "admin"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::ResetPassword { .. })
        ));
        assert!(Cli::try_parse_from(["scimd", "admin", "create"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["scimd", "admin", "unlock", "ops"]).unwrap().command,
            Command::Admin(AdminCommand::Unlock { ref username }) if username.get() == "ops"
        ));
        assert_eq!(
            cli.resolve_config(&Default::default()).unwrap().log_level,
            "warn"
        );
    }
}
