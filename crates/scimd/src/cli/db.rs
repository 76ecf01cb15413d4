//! The database subcommands: `scimd migrate` (apply migrations without serving) and
//! `scimd copy --from URL --to URL` (move a whole deployment between SQLite and PostgreSQL);
//! how the other subcommands open the configured database's default tenant, and how their
//! `list` subcommands print (a table, or JSON with `--json`).

use crate::config::Config;
use crate::server::{open_store, redact_url};
use clap::Args;
use scimd_directory::directory::{Directory, DirectoryError, Origin};
use scimd_store::{copy_store, TableCount};
use std::process::ExitCode;

/// Opens the configured database (`--database`) and finds the tenant the command acts on:
/// `--tenant SLUG`, else the root tenant (`--root-tenant`, by default the one first start
/// created), for the subcommands that act on one (`token`, `client`, `settings`, `admin`,
/// `issuer`); returns the directory and the tenant's id. Resource locations, which these
/// commands never print, use the public URL (else the listen address).
///
/// Errors: a database that cannot be opened, one no `scimd serve` has initialised yet, no
/// tenant with the slug, a disabled one is acted on as any other (its data stays
/// manageable), a tenant being deleted is refused.
pub async fn open_default_tenant(cfg: &Config) -> anyhow::Result<(Directory, String)> {
    let dir = open_directory(cfg).await?;
    let slug = match cfg.tenant.as_deref().or(cfg.root_tenant.as_deref()) {
        Some(s) => s.to_string(),
        None => anyhow::bail!(
            "there is no root tenant (--root-tenant none): say which tenant with --tenant SLUG (scimd tenant list lists them)"
        ),
    };
    // A database no `scimd serve` initialised yet says so.
    dir.default_tenant_id().await?;
    // The row alone: a command need not count the tenant's users to act on it.
    let Some(tenant) = dir.resolve_tenant(&slug).await? else {
        anyhow::bail!("no tenant has the slug '{slug}' (scimd tenant list lists them)");
    };
    if tenant.state == scimd_directory::store::TenantState::Deleting {
        anyhow::bail!("the tenant '{slug}' is being deleted");
    }
    Ok((dir, tenant.id))
}

/// `--public-url URL` of the commands that print URLs clients use (`client create|list`,
/// `tenant create`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PublicUrlArg {
    /// The URL identity providers reach scimd at (default: the configured one, else the
    /// one `scimd serve` recorded)
    #[arg(long = "public-url", value_name = "URL")]
    pub url: Option<String>,
}

/// The public URL (no trailing slash) to print URLs with: `given` (`--public-url`), else
/// the configured one, else the one `scimd serve` recorded in the database at start. `what`
/// names what is printed, for the error.
///
/// Errors: none of the three, or a given URL that is not an absolute http(s) URL.
pub async fn public_url(
    given: Option<String>,
    cfg: &Config,
    dir: &Directory,
    what: &str,
) -> anyhow::Result<String> {
    let base = match given.or_else(|| cfg.public_url.clone()) {
        Some(url) => crate::config::normalize_public_url(&url)?,
        None => dir.recorded_public_url().await?.ok_or_else(|| {
            anyhow::anyhow!(
                "no public URL to print {what} with: pass --public-url URL (the URL \
                 identity providers reach scimd at), or start `scimd serve` on this database \
                 once, which records its own"
            )
        })?,
    };
    Ok(base.trim_end_matches('/').to_string())
}

/// Refuses a SQLite database URL (`url`, given as `flag`) whose file does not exist, for
/// the commands that manage or read a deployment: opening it would create and migrate an
/// empty database, so a mistyped path would list nothing, or copy nothing, and succeed.
/// Only `scimd serve` (first start), `scimd migrate` and `copy --to` create a database.
/// PostgreSQL URLs pass (a missing database is the server's error).
fn require_existing(url: &str, flag: &str) -> anyhow::Result<()> {
    if let Some(path) = crate::config::sqlite_path(url.trim()) {
        if !std::path::Path::new(path).exists() {
            anyhow::bail!(
                "there is no SQLite database at {path} ({flag}): check the path; `scimd serve` \
                 creates the database on its first start"
            );
        }
    }
    Ok(())
}

/// Opens the configured database (`--database`) as a directory whose SCIM base is the
/// public URL's (else the listen address's). Errors: as [`open_store`], and a SQLite
/// database whose file does not exist (it is not created here).
pub async fn open_directory(cfg: &Config) -> anyhow::Result<Directory> {
    require_existing(&cfg.database, "--database")?;
    let store = open_store(&cfg.database, cfg.input.statement_timeout).await?;
    let base = format!(
        "{}/scim/v2",
        cfg.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", cfg.listen))
    );
    Ok(Directory::with_limits(store, base, cfg.input.limits))
}

/// Opens the configured database for a command that acts on no tenant (operators and
/// their tokens; `--tenant` was refused before). Errors: as [`open_directory`], and a
/// database no `scimd serve` initialised yet.
pub async fn open_outside_tenants(cfg: &Config) -> anyhow::Result<Directory> {
    let dir = open_directory(cfg).await?;
    // A database no `scimd serve` initialised yet says so.
    dir.default_tenant_id().await?;
    Ok(dir)
}

/// Prints what a `list` subcommand lists: with `--json` (`json`) the JSON text `as_json`
/// makes; else the table `table` makes. Exits 0.
pub fn print_list(
    json: bool,
    as_json: impl FnOnce() -> serde_json::Result<String>,
    table: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", as_json()?);
    } else {
        print!("{}", table());
    }
    Ok(ExitCode::SUCCESS)
}

/// A username given either way, `scimd admin unlock alice` or `scimd admin unlock --username
/// alice` (exactly one of the two; clap refuses neither or both with exit status 2), so
/// that every `admin` and `operator` subcommand takes both forms.
#[derive(Debug, Clone, Args)]
pub struct UsernameArg {
    /// The username
    #[arg(value_name = "USERNAME", required_unless_present = "username")]
    name: Option<String>,
    /// The username, as a flag (the same as USERNAME)
    #[arg(
        long = "username",
        id = "username",
        value_name = "USERNAME",
        conflicts_with = "name"
    )]
    flag: Option<String>,
}

impl UsernameArg {
    /// The username given.
    pub fn get(&self) -> &str {
        self.name
            .as_deref()
            .or(self.flag.as_deref())
            .unwrap_or_default()
    }
}

/// Lays out `lines` (the header first) as columns: each cell padded to its column's widest
/// (in characters) and two spaces, trailing spaces cut; one line each, `\n`-terminated.
pub fn columns<const N: usize>(lines: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for l in lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for l in lines {
        let cells: Vec<String> = l
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A time as the `list` tables show it: `2026-01-02 03:04:05Z` (UTC, to the second).
pub fn table_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}

/// Who runs a command, as change records keep it: actor `{type: "cli", name: <the
/// operating-system user>}` (from `USER`, else `LOGNAME`, else — as under `docker exec` or
/// a service manager that sets neither — `uid N` of the process, else `unknown`), source
/// `cli`, the command (`scimd token create`) as the cause.
pub fn cli_origin(tenant: &str, command: &str) -> Origin {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(process_uid)
        .unwrap_or_else(|| "unknown".to_string());
    Origin::cli(tenant, user.trim(), command)
}

/// `uid N`: the real user id of this process (the owner of `/proc/self`, Linux), if known.
fn process_uid() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self")
            .ok()
            .map(|m| format!("uid {}", m.uid()))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Flags of `scimd copy`.
#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    /// Database to copy from: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// Database to copy into (must be empty; created and migrated as needed): same forms
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// `scimd migrate`: opens the configured database (`--database`), which applies its
/// pending migrations, and exits. Prints one line on stdout.
pub async fn run_migrate(cfg: &Config) -> anyhow::Result<ExitCode> {
    let _store = open_store(&cfg.database, cfg.input.statement_timeout).await?;
    println!(
        "database {} is migrated to the current schema",
        redact_url(&cfg.database)
    );
    Ok(ExitCode::SUCCESS)
}

/// The copy report: one line per table, `TABLE SOURCE TARGET` (row counts), padded.
pub fn copy_report(counts: &[TableCount]) -> String {
    let mut out = format!("{:<18} {:>10} {:>10}\n", "TABLE", "SOURCE", "TARGET");
    for c in counts {
        out.push_str(&format!(
            "{:<18} {:>10} {:>10}\n",
            c.table.name(),
            c.source,
            c.target
        ));
    }
    out
}

/// `scimd copy`: copies every tenant, token (hashes), custom attribute, administrator,
/// user (with emails), group, membership and change record from `--from` to
/// `--to`, keeping ids, order, versions and timestamps; verifies the row count of every
/// table and commits only then. Prints the per-table counts on stdout, progress on stderr.
///
/// Errors (nothing written): the same database twice, a target that is not empty, a
/// database that cannot be opened, counts that differ.
pub async fn run_copy(args: &CopyArgs, tenant: Option<&str>) -> anyhow::Result<ExitCode> {
    if args.from.trim() == args.to.trim() {
        anyhow::bail!("--from and --to name the same database");
    }
    let (from_shown, to_shown) = (redact_url(&args.from), redact_url(&args.to));
    let t = scimd_store::DEFAULT_STATEMENT_TIMEOUT;
    require_existing(&args.from, "--from")?;
    let from = open_store(&args.from, t).await?;
    let to = open_store(&args.to, t).await?;
    let what = match tenant {
        Some(slug) => format!("the tenant {slug} of {from_shown}"),
        None => from_shown.clone(),
    };
    eprintln!("copying {what} to {to_shown}");
    let progress = |table: scimd_directory::store::Table, n: u64| {
        if n.is_multiple_of(10_000) {
            eprintln!("  {}: {n} rows", table.name());
        }
    };
    let counts = match tenant {
        Some(slug) => scimd_store::copy_tenant(&*from, &*to, slug, progress).await?,
        None => copy_store(&*from, &*to, progress).await?,
    };
    print!("{}", copy_report(&counts));
    eprintln!("copied {what} to {to_shown}: every table's row count matches");
    Ok(ExitCode::SUCCESS)
}

/// Exit status 0 when done, 1 (with the message) for a refusal such as an unknown
/// operator; other errors as errors.
pub fn finish(done: Result<(), DirectoryError>) -> anyhow::Result<ExitCode> {
    match done {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(DirectoryError::Invalid(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimd_directory::store::Table;

    #[test]
    fn report_lists_every_table() {
        let r = copy_report(&[TableCount {
            table: Table::Users,
            source: 12,
            target: 12,
        }]);
        assert_eq!(
            r,
            "TABLE                  SOURCE     TARGET\nusers                      12         12\n"
        );
    }
}
