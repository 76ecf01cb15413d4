//! `scimd tenant create|list|show|disable|enable`: the tenants one scimd serves (see
//! [`scimd_directory::tenants`]). Output goes to stdout (a table, or JSON with `--json`);
//! messages to stderr. The operator's actions are recorded in the audit record of the tenant
//! concerned, under the operating-system user who ran the command.
//!
//! `create` prints, once, the tenant's SCIM Tenant URL (`{public-url}/t/SLUG/scim/v2`), its
//! first SCIM secret token, its token endpoint and its first administrator's username and
//! password. The public URL is `--public-url`, else the configured one, else the one the
//! last `scimd serve` recorded; with none of them the command fails and says so, before
//! creating anything.

use super::db::{cli_origin, open_directory, print_list, public_url, PublicUrlArg};
use crate::config::Config;
use clap::Subcommand;
use scimd_directory::render::rfc3339;
use scimd_directory::store::TenantState;
use scimd_directory::tenants::TenantSummary;
use serde_json::Value;
use std::process::ExitCode;

/// `scimd tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; print once its SCIM Tenant URL, SCIM secret token, token endpoint and
    /// first administrator's username and password.
    Create {
        /// The organisation's name (unique), e.g. "Contoso Ltd"
        #[arg(long)]
        name: String,
        /// Its path segment: lowercase letters, digits and '-', 1 to 63 characters, not
        /// starting or ending with '-' [default: derived from the name]
        #[arg(long)]
        slug: Option<String>,
        /// Print {slug, name, scimUrl, scimToken, tokenUrl, portalUrl, adminUsername,
        /// adminPassword} as JSON
        #[arg(long)]
        json: bool,
        /// `--public-url`.
        #[command(flatten)]
        public_url: PublicUrlArg,
    },
    /// List the tenants: slug, name, state, users, groups, created, last SCIM request.
    List {
        /// Print a JSON array of {slug, name, state, users, groups, created, lastScimRequest}
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant.
    Show {
        /// The tenant's slug
        slug: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Disable a tenant: its SCIM endpoints, admin API and portal answer 403 (within a
    /// second on running servers); nothing of it is lost.
    Disable {
        /// The tenant's slug
        slug: String,
        /// Print the tenant after, as JSON
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled tenant again.
    Enable {
        /// The tenant's slug
        slug: String,
        /// Print the tenant after, as JSON
        #[arg(long)]
        json: bool,
    },
    /// Delete a tenant and everything of it, for good: no write of it is accepted from then
    /// on and its paths answer 404 within a second on every server, then its rows are deleted in small transactions (an interrupted deletion resumes when the
    /// command is run again, or when `scimd serve` starts). The slug stays reserved.
    Delete {
        /// The tenant's slug
        slug: String,
        /// Required: says the deletion is meant (nothing of the tenant can be recovered)
        #[arg(long)]
        confirm: bool,
    },
}

/// One tenant as `list`, `show`, `disable` and `enable` print it in JSON (as the operator
/// API shows it).
fn tenant_json(t: &TenantSummary) -> Value {
    crate::admin::json::tenant(t)
}

/// The table of `list` and `show`.
fn table(ts: &[TenantSummary]) -> String {
    let mut out = format!(
        "{:<24} {:<9} {:>8} {:>7} {:<20} {:<20} NAME\n",
        "SLUG", "STATE", "USERS", "GROUPS", "CREATED", "LAST SCIM REQUEST"
    );
    let when = |t: Option<time::OffsetDateTime>| {
        t.map(|t| rfc3339(t).chars().take(19).collect::<String>())
            .unwrap_or_else(|| "never".into())
    };
    for t in ts {
        out.push_str(&format!(
            "{:<24} {:<9} {:>8} {:>7} {:<20} {:<20} {}\n",
            t.tenant.slug,
            t.tenant.state.as_str(),
            t.users,
            t.groups,
            when(Some(t.tenant.created)),
            when(t.tenant.last_scim_request),
            t.tenant.name
        ));
    }
    out
}

/// Runs a `tenant` subcommand against the configured database.
///
/// Errors: a database that cannot be opened; a bad or taken name or slug; no public URL
/// known (`create`); no tenant with the slug.
pub async fn run_tenant(cmd: TenantCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let dir = open_directory(cfg).await?;
    match cmd {
        TenantCommand::Create {
            name,
            slug,
            json,
            public_url: PublicUrlArg { url: given },
        } => {
            // Known before anything is created: the secrets are shown only once.
            let base = public_url(given, cfg, &dir, "the tenant's URLs").await?;
            let by = |t: &str| cli_origin(t, "scimd tenant create");
            let (tenant, made) = dir.create_tenant(&by, &name, slug.as_deref()).await?;
            let urls = crate::tenancy::TenantUrls::of(&base, &tenant.slug);
            let (scim_url, token_url, portal_url) = (&urls.scim, &urls.token, &urls.portal);
            tracing::info!(slug = %tenant.slug, "tenant created");
            if json {
                let created = crate::admin::json::created_tenant(&tenant, &made, &urls);
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("Tenant created: {} (slug {})", tenant.name, tenant.slug);
                println!();
                println!("  SCIM Tenant URL:   {scim_url}");
                println!("  Secret Token:      {}", made.scim_token);
                println!("  Token endpoint:    {token_url}");
                println!("  Portal:            {portal_url}");
                println!(
                    "  Administrator:     {} / {} (of the tenant's portal; must be changed at first sign-in)",
                    made.admin_username, made.admin_password
                );
                println!();
                println!("The token and the password are shown only this once.");
            }
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::List { json } => {
            let all = dir.tenants().await?;
            print_list(
                json,
                || {
                    serde_json::to_string_pretty(&Value::Array(
                        all.iter().map(tenant_json).collect(),
                    ))
                },
                || table(&all),
            )
        }
        TenantCommand::Show { slug, json } => {
            let t = dir.tenant(&slug).await?;
            print_list(
                json,
                || serde_json::to_string_pretty(&tenant_json(&t)),
                || table(std::slice::from_ref(&t)),
            )
        }
        TenantCommand::Disable { slug, json } => {
            set_state(
                &dir,
                (&slug, json),
                TenantState::Disabled,
                "scimd tenant disable",
            )
            .await
        }
        TenantCommand::Enable { slug, json } => {
            set_state(
                &dir,
                (&slug, json),
                TenantState::Active,
                "scimd tenant enable",
            )
            .await
        }
        TenantCommand::Delete { slug, confirm } => delete(&dir, cfg, &slug, confirm).await,
    }
}

/// `delete`: marks the tenant `deleting`, then deletes its rows step by step, telling how
/// many on stdout.
async fn delete(
    dir: &scimd_directory::directory::Directory,
    cfg: &Config,
    slug: &str,
    confirm: bool,
) -> anyhow::Result<ExitCode> {
    if !confirm {
        eprintln!(
            "error: deleting the tenant '{slug}' removes its users, groups, tokens, administrators and records for good; run again with --confirm to do it"
        );
        return Ok(ExitCode::from(2));
    }
    let by = |t: &str| cli_origin(t, "scimd tenant delete");
    let root = cfg.root_tenant.as_deref();
    let tenant = dir.start_tenant_deletion(&by, slug, root).await?;
    eprintln!(
        "tenant {slug} is being deleted: no write of it is accepted from now on, and its paths answer 404 within a second on every running server"
    );
    let mut rows = 0u64;
    loop {
        let n = dir.purge_tenant_step(&tenant.id).await?;
        if n == 0 {
            break;
        }
        rows += n;
    }
    println!("tenant {slug} deleted ({rows} rows); its slug stays reserved");
    Ok(ExitCode::SUCCESS)
}

/// `disable` and `enable`: sets the state, prints the tenant after (JSON with `json`, else
/// a line), and tells when it did not change.
async fn set_state(
    dir: &scimd_directory::directory::Directory,
    (slug, json): (&str, bool),
    state: TenantState,
    command: &str,
) -> anyhow::Result<ExitCode> {
    // (No tenant: set_tenant_state says so, 404.)
    let before = dir.resolve_tenant(slug).await?.map(|t| t.state);
    let by = |t: &str| cli_origin(t, command);
    dir.set_tenant_state(&by, slug, state).await?;
    if json {
        let after = dir.tenant(slug).await?;
        println!("{}", serde_json::to_string_pretty(&tenant_json(&after))?);
    } else if before == Some(state) {
        println!("tenant {slug} was {} already", state.as_str());
    } else {
        println!("tenant {slug} is {} now", state.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
