//! `scimd token create|list|revoke`: a tenant's API tokens (`--tenant SLUG`, by default the
//! root tenant's), or the operator tokens (`create --scope operator`, `list|revoke
//! --operator`; never with `--tenant`: they belong to no tenant, see
//! [`scimd_directory::operators`]). `create` prints only the secret on stdout (shown once);
//! `list` prints a table on stdout; messages go to stderr.

use super::db::{cli_origin, open_default_tenant, open_outside_tenants, table_time};
use crate::config::Config;
use clap::{Subcommand, ValueEnum};
use scimd_directory::store::{TokenRow, TokenScope};
use std::process::ExitCode;

/// Token scope as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// May call /scim/v2 (what an identity provider needs).
    Scim,
    /// May call the admin API /api/v1.
    Admin,
    /// May call the operator API /api/v1/tenants at the root (belongs to no tenant; not
    /// with --tenant).
    Operator,
}

impl From<ScopeArg> for TokenScope {
    fn from(s: ScopeArg) -> TokenScope {
        match s {
            ScopeArg::Scim => TokenScope::Scim,
            ScopeArg::Admin => TokenScope::Admin,
            ScopeArg::Operator => TokenScope::Operator,
        }
    }
}

/// `scimd token ...`: act on a tenant's tokens, or on the operator tokens.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (only the secret) on stdout. Shown once.
    Create {
        /// Token name, unique among the tenant's active tokens (e.g. entra-prod)
        #[arg(long)]
        name: String,
        /// Token scope
        #[arg(long, value_enum, default_value_t = ScopeArg::Scim)]
        scope: ScopeArg,
        /// Lifetime: a whole number of m (minutes), h (hours) or d (days), e.g. 90d
        /// [default: never expires]
        #[arg(long, value_name = "LIFETIME", value_parser = parse_expires_in)]
        expires_in: Option<time::Duration>,
    },
    /// List tokens: name, scope, created, last used, revoked, expires.
    List {
        /// Print JSON: {"tokens": [{name, scope, created, lastUsed, revoked, expires}]}, as
        /// the admin API shows tokens (never a secret or its hash)
        #[arg(long)]
        json: bool,
        /// List the operator tokens (not with --tenant)
        #[arg(long)]
        operator: bool,
    },
    /// Revoke the active token NAME; exits non-zero when there is none.
    Revoke {
        /// Token name
        name: String,
        /// Revoke an operator token (not with --tenant)
        #[arg(long)]
        operator: bool,
    },
}

impl TokenCommand {
    /// Whether the command acts on the operator tokens.
    pub(super) fn operator(&self) -> bool {
        match self {
            TokenCommand::Create { scope, .. } => *scope == ScopeArg::Operator,
            TokenCommand::List { operator, .. } | TokenCommand::Revoke { operator, .. } => {
                *operator
            }
        }
    }
}

/// Runs a `token` subcommand against the configured database: on the tenant the command
/// acts on (`--tenant`, else the root tenant), or on the operator tokens.
///
/// The database must have been initialised by a first `scimd serve`. An operator token command
/// given `--tenant` was refused before (exit status 2).
pub async fn run_token(cmd: TokenCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let tokens = if cmd.operator() {
        let dir = open_outside_tenants(cfg).await?;
        Tokens::Operator(dir)
    } else {
        let (dir, tenant) = open_default_tenant(cfg).await?;
        Tokens::Tenant(dir, tenant)
    };
    match cmd {
        TokenCommand::Create {
            name,
            scope,
            expires_in,
        } => {
            let scope: TokenScope = scope.into();
            let command = "scimd token create";
            let (secret, row) = match &tokens {
                Tokens::Operator(dir) => {
                    let by = |t: &str| cli_origin(t, command);
                    dir.create_operator_token(&by, &name, expires_in).await?
                }
                Tokens::Tenant(dir, t) => {
                    let by = cli_origin(t, command);
                    dir.create_token(&by, &name, scope, expires_in).await?
                }
            };
            println!("{secret}");
            let expires = row
                .expires
                .map(|e| format!(", expires {}", table_time(e)))
                .unwrap_or_default();
            eprintln!(
                "created token '{}' (scope {}{expires}); its secret, printed above, is shown only this once",
                name.trim(),
                scope.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { json, .. } => {
            let rows = match &tokens {
                Tokens::Operator(dir) => dir.list_operator_tokens().await?,
                Tokens::Tenant(dir, t) => dir.list_tokens(t).await?,
            };
            let as_json = || {
                let tokens: Vec<_> = rows.iter().map(crate::admin::json::token).collect();
                Ok(serde_json::json!({ "tokens": tokens }).to_string())
            };
            super::db::print_list(json, as_json, || token_table(&rows))
        }
        TokenCommand::Revoke { name, operator } => {
            let command = "scimd token revoke";
            let done = match &tokens {
                Tokens::Operator(dir) => {
                    let by = |t: &str| cli_origin(t, command);
                    dir.revoke_operator_token(&by, &name).await?
                }
                Tokens::Tenant(dir, t) => dir.revoke_token(&cli_origin(t, command), &name).await?,
            };
            if done {
                eprintln!("revoked token '{name}'");
                Ok(ExitCode::SUCCESS)
            } else {
                let list = if operator {
                    "scimd token list --operator"
                } else {
                    "scimd token list"
                };
                eprintln!("error: no active token named '{name}' (see `{list}`)");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Whose tokens a command acts on: a tenant's (its id), or the operators'.
enum Tokens {
    Tenant(scimd_directory::directory::Directory, String),
    Operator(scimd_directory::directory::Directory),
}

/// `--expires-in`: see [`crate::lifetime::parse`].
fn parse_expires_in(s: &str) -> Result<time::Duration, String> {
    crate::lifetime::parse(s, crate::lifetime::TOKEN_UNITS)
}

/// The `token list` table: NAME, SCOPE, CREATED, LAST USED, REVOKED, EXPIRES (UTC times;
/// `never` and `-` for absent values), columns padded, one token a line, oldest first.
pub fn token_table(rows: &[TokenRow]) -> String {
    let header = [
        "NAME",
        "SCOPE",
        "CREATED",
        "LAST USED",
        "REVOKED",
        "EXPIRES",
    ]
    .map(String::from);
    let mut lines: Vec<[String; 6]> = vec![header];
    for r in rows {
        lines.push([
            r.name.clone(),
            r.scope.as_str().to_string(),
            table_time(r.created),
            r.last_used
                .map(table_time)
                .unwrap_or_else(|| "never".into()),
            r.revoked.map(table_time).unwrap_or_else(|| "-".into()),
            r.expires.map(table_time).unwrap_or_else(|| "never".into()),
        ]);
    }
    super::db::columns(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_layout() {
        let t = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let rows = vec![
            TokenRow {
                id: "1".into(),
                tenant_id: "t".into(),
                name: "initial".into(),
                scope: TokenScope::Scim,
                secret_sha256: vec![],
                created: t,
                last_used: Some(t),
                revoked: None,
                expires: Some(t),
            },
            TokenRow {
                id: "2".into(),
                tenant_id: "t".into(),
                name: "ops-admin".into(),
                scope: TokenScope::Admin,
                secret_sha256: vec![],
                created: t,
                last_used: None,
                revoked: Some(t),
                expires: None,
            },
        ];
        let table = token_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "NAME       SCOPE  CREATED               LAST USED             REVOKED               EXPIRES"
        );
        assert_eq!(
            lines[1],
            "initial    scim   2026-01-02 03:04:05Z  2026-01-02 03:04:05Z  -                     2026-01-02 03:04:05Z"
        );
        assert_eq!(
            lines[2],
            "ops-admin  admin  2026-01-02 03:04:05Z  never                 2026-01-02 03:04:05Z  never"
        );
    }
}
