//! `scimd client create|list|revoke`: a tenant's (the root tenant's, or `--tenant SLUG`'s) OAuth 2.0 clients (client
//! credentials grant, RFC 6749 §4.4). `create` prints its client id, secret (shown once) and
//! the token URL on stdout; `list` a table (or JSON) on stdout; messages go to stderr.
//!
//! The token URL is `{public-url}/oauth/token`, the public URL being the command's
//! `--public-url`, else the configured one (`SCIMD_PUBLIC_URL`, TOML `public_url`), else the
//! one the last `scimd serve` on the database recorded at start (its `--public-url`, or the
//! address it listened on); with none of them the command fails and says so.

use super::db::{cli_origin, open_default_tenant, print_list, PublicUrlArg};
use crate::config::Config;
use clap::Subcommand;
use scimd_directory::render::rfc3339;
use scimd_directory::store::ClientRow;
use serde_json::json;
use std::process::ExitCode;

/// `scimd client ...`: act on a tenant's (the root tenant's, or `--tenant SLUG`'s) OAuth clients.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an OAuth client; print its client id, its secret (shown once) and the token URL.
    Create {
        /// Client name, unique among the tenant's active clients (e.g. entra-prod)
        #[arg(long)]
        name: String,
        /// Print {clientId, clientSecret, tokenUrl} as JSON
        #[arg(long)]
        json: bool,
        /// `--public-url`.
        #[command(flatten)]
        public_url: PublicUrlArg,
    },
    /// List clients: client id, name, created, last used, revoked.
    List {
        /// Print JSON (one object with the clients and the token URL)
        #[arg(long)]
        json: bool,
        /// `--public-url`.
        #[command(flatten)]
        public_url: PublicUrlArg,
    },
    /// Revoke the active client CLIENT_ID: it gets no more tokens and the ones it holds stop
    /// working at once; exits non-zero when there is none.
    Revoke {
        /// The client's id
        client_id: String,
    },
}

/// Runs a `client` subcommand against the configured database's default tenant.
///
/// Errors: a database that cannot be opened or is not initialised; a bad or taken name; no
/// public URL known (see the module documentation).
pub async fn run_client(cmd: ClientCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    let given = match &cmd {
        ClientCommand::Create { public_url, .. } | ClientCommand::List { public_url, .. } => {
            public_url.url.clone()
        }
        ClientCommand::Revoke { .. } => None,
    };
    let token_url = || token_url(given.clone(), cfg, &dir);
    match cmd {
        ClientCommand::Create { name, json, .. } => {
            let token_url = token_url().await?;
            let by = cli_origin(&tenant, "scimd client create");
            let made = dir.create_client(&by, &name).await?;
            if json {
                let v = json!({"clientId": made.row.id, "clientSecret": made.secret, "tokenUrl": token_url});
                println!("{v}");
            } else {
                println!("clientId:     {}", made.row.id);
                println!("clientSecret: {}", made.secret);
                println!("tokenUrl:     {token_url}");
            }
            eprintln!(
                "created OAuth client '{}'; its secret, printed above, is shown only this once",
                made.row.name
            );
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::List { json, .. } => {
            let token_url = token_url().await?;
            let rows = dir.list_clients(&tenant).await?;
            let as_json = || {
                let clients: Vec<_> = rows.iter().map(crate::admin::clients::client).collect();
                Ok(json!({"clients": clients, "tokenUrl": token_url}).to_string())
            };
            print_list(json, as_json, || client_table(&rows))
        }
        ClientCommand::Revoke { client_id } => {
            let by = cli_origin(&tenant, "scimd client revoke");
            if dir.revoke_client(&by, &client_id).await? {
                eprintln!("revoked OAuth client '{client_id}'");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "error: no active client with the id '{client_id}' (see `scimd client list`)"
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// The `client list` table: CLIENT ID, NAME, CREATED, LAST USED, REVOKED (RFC 3339 UTC;
/// `never` and `-` for absent values), tab-separated, oldest first.
pub fn client_table(rows: &[ClientRow]) -> String {
    let mut out = String::from("CLIENT ID\tNAME\tCREATED\tLAST USED\tREVOKED\n");
    for c in rows {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            c.id,
            c.name,
            rfc3339(c.created),
            c.last_used.map(rfc3339).unwrap_or_else(|| "never".into()),
            c.revoked.map(rfc3339).unwrap_or_else(|| "-".into()),
        ));
    }
    out
}

/// `{public-url}/oauth/token` (`{public-url}/t/SLUG/oauth/token` with `--tenant SLUG`): the
/// public URL `given` (`--public-url`), else the configured one, else the one `scimd serve`
/// recorded in the database.
///
/// Errors: none of the three, or a given URL that is not an absolute http(s) URL.
async fn token_url(
    given: Option<String>,
    cfg: &Config,
    dir: &scimd_directory::directory::Directory,
) -> anyhow::Result<String> {
    let base = super::db::public_url(given, cfg, dir, "the token URL").await?;
    // A tenant named with --tenant: its own path (the root tenant's works there too).
    let prefix = cfg
        .tenant
        .as_ref()
        .map(|t| format!("/t/{t}"))
        .unwrap_or_default();
    Ok(format!("{base}{prefix}{}", crate::oauth::TOKEN_PATH))
}
