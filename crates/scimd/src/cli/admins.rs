//! `scimd admin create|reset-password`: manage the portal's administrators from the command
//! line (the default tenant's). The new password is printed once, alone, on stdout;
//! messages go to stderr.

use super::db::{cli_origin, open_default_tenant};
use crate::config::Config;
use clap::Subcommand;
use scimd_directory::directory::DirectoryError;
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
}

/// Runs an `admin` subcommand against the configured database's default tenant (the
/// database must have been initialised by a first `scimd serve`).
pub async fn run_admin(cmd: AdminCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    let (result, username, what) = match &cmd {
        AdminCommand::Create { username } => (
            dir.create_admin(&cli_origin(&tenant, "scimd admin create"), username)
                .await,
            username,
            "created administrator",
        ),
        AdminCommand::ResetPassword { username } => (
            dir.reset_admin_password(&cli_origin(&tenant, "scimd admin reset-password"), username)
                .await,
            username,
            "new password for administrator",
        ),
    };
    match result {
        Ok(password) => {
            println!("{password}");
            eprintln!(
                "{what} '{}'; its password, printed above, is shown only this once",
                username.trim()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(DirectoryError::Invalid(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
