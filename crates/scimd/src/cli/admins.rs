//! `scimd admin create|list|reset-password|unlock|remove`: manage the portal's
//! administrators from the command line (the root tenant's, or `--tenant SLUG`'s); each
//! takes the username as `USERNAME` or `--username USERNAME` ([`UsernameArg`]). A new
//! password is printed once, alone, on stdout (and must be changed at the first sign-in);
//! `list` prints a table (or JSON) on stdout; messages go to stderr.

use super::db::{cli_origin, columns, open_default_tenant, print_list, table_time, UsernameArg};
use crate::config::Config;
use clap::Subcommand;
use scimd_directory::admins::RemovedAdmin;
use scimd_directory::store::AdminRow;
use std::process::ExitCode;

/// `scimd admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a portal administrator USERNAME (letters, digits, '.', '_', '-', '@'; unique
    /// ignoring case) with a random password, printed once on stdout.
    Create {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
    /// List the administrators: username, created, password changed, whether the password
    /// must be changed at the next sign-in (never a password or its hash).
    List {
        /// Print JSON: {"administrators": [{username, created, passwordChanged,
        /// mustChangePassword}]}
        #[arg(long)]
        json: bool,
    },
    /// Remove the administrator USERNAME: it is deleted, every session of it ends at once
    /// and its sign-in slow-down is forgotten; recorded in the audit record. The last one
    /// may be removed too (then nobody signs in until `scimd admin create`).
    Remove {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
    /// Give an administrator a new random password (printed once on stdout) and sign it
    /// out of every session.
    ResetPassword {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
    /// End the sign-in slow-down of USERNAME at once (forget its failed sign-ins, from every
    /// browser); its password stays.
    Unlock {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
}

/// Runs an `admin` subcommand against the configured database's default tenant (the
/// database must have been initialised by a first `scimd serve`).
pub async fn run_admin(cmd: AdminCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    let done = match &cmd {
        AdminCommand::Create { username } => {
            let username = username.get();
            dir.create_admin(&cli_origin(&tenant, "scimd admin create"), username)
                .await
                .map(|p| print_password(&p, "created administrator", username))
        }
        AdminCommand::ResetPassword { username } => {
            let username = username.get();
            let by = cli_origin(&tenant, "scimd admin reset-password");
            dir.reset_admin_password(&by, username)
                .await
                .map(|p| print_password(&p, "new password for administrator", username))
        }
        AdminCommand::List { json } => {
            let admins = dir.list_admins(&tenant).await?;
            let key = "administrators";
            return print_list(*json, || admins_json(key, &admins), || admin_table(&admins));
        }
        AdminCommand::Remove { username } => dir
            .remove_admin(&cli_origin(&tenant, "scimd admin remove"), username.get())
            .await
            .map(|r| {
                let create = "scimd admin create USERNAME";
                print_removed(&r, "administrator", ("the tenant's portal", create))
            }),
        AdminCommand::Unlock { username } => {
            let username = username.get();
            dir.unlock_admin(&cli_origin(&tenant, "scimd admin unlock"), username)
                .await
                .map(|n| {
                    eprintln!(
                        "unlocked administrator '{}': {n} sign-in throttling records cleared",
                        username.trim()
                    )
                })
        }
    };
    super::db::finish(done)
}

/// `{"<key>": [administrator, ...]}` ([`crate::admin::json::administrator`]).
pub(super) fn admins_json(key: &str, admins: &[AdminRow]) -> serde_json::Result<String> {
    let list: Vec<_> = admins
        .iter()
        .map(crate::admin::json::administrator)
        .collect();
    serde_json::to_string(&serde_json::json!({ key: list }))
}

/// The `admin list` and `operator list` table: USERNAME, CREATED, PASSWORD CHANGED (UTC),
/// MUST CHANGE PASSWORD (`yes`/`no`), one a line, oldest first.
pub(super) fn admin_table(admins: &[AdminRow]) -> String {
    let header = [
        "USERNAME",
        "CREATED",
        "PASSWORD CHANGED",
        "MUST CHANGE PASSWORD",
    ];
    let mut lines = vec![header.map(String::from)];
    for a in admins {
        lines.push([
            a.username.clone(),
            table_time(a.created),
            table_time(a.password_changed),
            if a.must_change_password { "yes" } else { "no" }.to_string(),
        ]);
    }
    columns(&lines)
}

/// Says on stderr what a `remove` did (`what`: `administrator`, `operator`), and when none
/// is left, that nobody signs in to `portal` until `create` makes one.
pub(super) fn print_removed(r: &RemovedAdmin, what: &str, (portal, create): (&str, &str)) {
    eprintln!(
        "removed {what} '{}': {} session(s) ended",
        r.username, r.sessions
    );
    if r.remaining == 0 {
        eprintln!("no {what} is left: nobody can sign in to {portal} until `{create}`");
    }
}

/// Prints a new password alone on stdout, and what it is on stderr.
pub(super) fn print_password(password: &str, what: &str, username: &str) {
    println!("{password}");
    eprintln!(
        "{what} '{}'; its password, printed above, is shown only this once and must be changed at the first sign-in",
        username.trim()
    );
}
