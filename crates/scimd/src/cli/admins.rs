//! `scimd admin create|reset-password|unlock`: manage the portal's administrators from the
//! command line (the default tenant's). A new password is printed once, alone, on stdout
//! (and must be changed at the first sign-in); messages go to stderr.

use super::db::{cli_origin, open_default_tenant};
use crate::config::Config;
use clap::Subcommand;
use std::process::ExitCode;

/// `scimd admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a portal administrator with a random password, printed once on stdout.
    Create {
        /// Sign-in name: letters, digits, '.', '_', '-', '@' (unique ignoring case)
        #[arg(long)]
        username: String,
    },
    /// Give an administrator a new random password (printed once on stdout) and sign it
    /// out of every session.
    ResetPassword {
        /// The administrator's username
        #[arg(long)]
        username: String,
    },
    /// End the sign-in slow-down of USERNAME at once (forget its failed sign-ins, from every
    /// browser); its password stays.
    Unlock {
        /// The administrator's username
        username: String,
    },
}

/// Runs an `admin` subcommand against the configured database's default tenant (the
/// database must have been initialised by a first `scimd serve`).
pub async fn run_admin(cmd: AdminCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    let done = match &cmd {
        AdminCommand::Create { username } => dir
            .create_admin(&cli_origin(&tenant, "scimd admin create"), username)
            .await
            .map(|p| print_password(&p, "created administrator", username)),
        AdminCommand::ResetPassword { username } => dir
            .reset_admin_password(&cli_origin(&tenant, "scimd admin reset-password"), username)
            .await
            .map(|p| print_password(&p, "new password for administrator", username)),
        AdminCommand::Unlock { username } => dir
            .unlock_admin(&cli_origin(&tenant, "scimd admin unlock"), username)
            .await
            .map(|n| {
                eprintln!(
                    "unlocked administrator '{}': {n} sign-in throttling records cleared",
                    username.trim()
                )
            }),
    };
    super::db::finish(done)
}

/// Prints a new password alone on stdout, and what it is on stderr.
pub(super) fn print_password(password: &str, what: &str, username: &str) {
    println!("{password}");
    eprintln!(
        "{what} '{}'; its password, printed above, is shown only this once and must be changed at the first sign-in",
        username.trim()
    );
}
