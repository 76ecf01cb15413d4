//! `scimd issuer add|list|remove`: a tenant's (the root tenant's, or `--tenant SLUG`'s) OIDC issuers, whose JWT access
//! tokens the SCIM endpoints accept (Entra workload identity federation; see
//! docs/authentication.md). `list` prints a table (or `--json`, an array) on stdout;
//! messages go to stderr.

use super::db::{cli_origin, open_default_tenant, print_list};
use crate::config::Config;
use crate::issuers::outbound::Outbound;
use crate::issuers::records::{add, issuer_json};
use clap::Subcommand;
use scimd_directory::issuers::new_issuer;
use std::process::ExitCode;

/// `scimd issuer ...`: act on a tenant's (the root tenant's, or `--tenant SLUG`'s) issuers.
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Accept access tokens of an issuer: Entra v1 https://sts.windows.net/TENANT-ID/ or v2
    /// https://login.microsoftonline.com/TENANT-ID/v2.0, or any OIDC issuer.
    Add {
        /// The issuer, exactly as tokens carry it in `iss`
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// The audience tokens must carry in `aud` (Entra: the application ID URI or the
        /// application id of scimd's app registration)
        #[arg(long, value_name = "AUD")]
        audience: String,
        /// Application (client) id allowed (`appid`, `azp` or `client_id` of a token); repeat the flag
        /// or give a comma-separated list
        #[arg(
            long = "app-id",
            value_name = "ID",
            required = true,
            value_delimiter = ','
        )]
        app_ids: Vec<String>,
        /// OpenID Provider Metadata URL [default: the issuer + /.well-known/openid-configuration]
        #[arg(long, value_name = "URL", conflicts_with = "jwks_file")]
        metadata_url: Option<String>,
        /// Read the keys from this JWKS file (absolute path; read again when it changes)
        /// instead of fetching them
        #[arg(long, value_name = "FILE")]
        jwks_file: Option<String>,
        /// Accept a metadata URL of a private address, or http:// (tests, closed networks)
        /// [env: SCIMD_ALLOW_PRIVATE_OUTBOUND]
        #[arg(long)]
        allow_private_outbound: bool,
    },
    /// List the issuers: issuer, audience, application ids, where the keys come from.
    List {
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Stop accepting an issuer's tokens (ISSUER: its URL, or its id).
    Remove {
        /// The issuer URL (exactly as added) or its id
        issuer: String,
    },
}

/// Runs an `issuer` subcommand against the configured database's default tenant.
pub async fn run_issuer(cmd: IssuerCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    match cmd {
        IssuerCommand::Add {
            issuer,
            audience,
            app_ids,
            metadata_url,
            jwks_file,
            allow_private_outbound: _,
        } => {
            let by = cli_origin(&tenant, "scimd issuer add");
            let outbound = Outbound::new(cfg.issuers.allow_private_outbound);
            let (meta, file) = (metadata_url.as_deref(), jwks_file.as_deref());
            let added = match new_issuer(&tenant, &issuer, &audience, &app_ids, meta, file) {
                Ok(row) => add(&dir, &by, row, &outbound).await,
                Err(e) => Err(e),
            };
            match added {
                Ok(row) => {
                    eprintln!(
                        "added issuer {} (audience {}, applications {})",
                        row.issuer,
                        row.audience,
                        row.app_ids.join(", ")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        IssuerCommand::List { json } => {
            let rows = dir.list_issuers(&tenant).await?;
            let as_json = || {
                let all: Vec<_> = rows.iter().map(issuer_json).collect();
                serde_json::to_string_pretty(&all)
            };
            print_list(json, as_json, || issuer_table(&rows))
        }
        IssuerCommand::Remove { issuer } => {
            let by = cli_origin(&tenant, "scimd issuer remove");
            match dir.remove_issuer(&by, &issuer).await? {
                Some(row) => {
                    eprintln!("removed issuer {}", row.issuer);
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("error: no issuer {issuer} (see `scimd issuer list`)");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// The `issuer list` table: ISSUER, AUDIENCE, APP IDS, KEYS (the metadata URL or
/// `file:PATH`), one issuer a line, oldest first, columns separated by two spaces.
pub fn issuer_table(rows: &[scimd_directory::store::IssuerRow]) -> String {
    let mut lines = vec![["ISSUER", "AUDIENCE", "APP IDS", "KEYS"].map(String::from)];
    for r in rows {
        let keys = match &r.jwks_file {
            Some(f) => format!("file:{f}"),
            None => scimd_directory::issuers::metadata_url(r).unwrap_or_default(),
        };
        lines.push([
            r.issuer.clone(),
            r.audience.clone(),
            r.app_ids.join(","),
            keys,
        ]);
    }
    super::db::columns(&lines)
}
