//! `scimd operator create|reset-password|unlock|remove USERNAME`, `scimd operator list`:
//! make an operator, who signs in to the operator portal (`/operator/`) to list, create,
//! disable, enable and delete tenants; give one a new password; end one's sign-in
//! slow-down; remove one; list them. Operators are the
//! administrators of the operator realm ([`scimd_directory::operators`]); they belong to no
//! tenant, so the command refuses `--tenant` (exit status 2).

use super::db::{cli_origin, open_outside_tenants, public_url, PublicUrlArg, UsernameArg};
use crate::config::Config;
use clap::Subcommand;
use scimd_directory::directory::DirectoryError;
use std::process::ExitCode;

/// The operator portal's path (see [`crate::tenancy`]).
pub const OPERATOR_PORTAL: &str = "/operator/";

/// `scimd operator ...`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator with a random password (printed once; must be changed at the
    /// first sign-in), who signs in to the operator portal at <public-url>/operator/ (not
    /// with --tenant)
    Create {
        /// `USERNAME` (letters, digits, '.', '_', '-', '@'; unique among operators,
        /// ignoring case) or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
        /// `--public-url`.
        #[command(flatten)]
        public_url: PublicUrlArg,
    },
    /// List the operators: username, created, password changed, whether the password must
    /// be changed at the next sign-in (never a password or its hash)
    List {
        /// Print JSON: {"operators": [{username, created, passwordChanged,
        /// mustChangePassword}]}
        #[arg(long)]
        json: bool,
    },
    /// Remove the operator USERNAME: it is deleted, every session of it ends at once and
    /// its sign-in slow-down is forgotten; recorded in the operator realm's audit record
    Remove {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
    /// Give an operator a new random password (printed once on stdout; must be changed at
    /// the next sign-in) and sign it out of every session
    ResetPassword {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
    /// End the sign-in slow-down of an operator at once (forget its failed sign-ins, from
    /// every browser); its password stays
    Unlock {
        /// `USERNAME` or `--username USERNAME`.
        #[command(flatten)]
        username: UsernameArg,
    },
}

/// Runs an `operator` subcommand against the configured database (initialised by a first
/// `scimd serve`). `--tenant` was refused before (exit status 2); 1 for a bad or taken username.
pub async fn run_operator(cmd: OperatorCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let dir = open_outside_tenants(cfg).await?;
    match cmd {
        OperatorCommand::Create {
            username,
            public_url: PublicUrlArg { url: given },
        } => {
            let username = username.get().to_string();
            // The portal's URL when a public URL is known, else its path; a bad
            // --public-url is refused before anything is made.
            let given_one = given.is_some();
            let base = match public_url(given, cfg, &dir, "the operator portal's URL").await {
                Ok(base) => base,
                Err(e) if given_one => return Err(e),
                Err(_) => String::new(),
            };
            let by = |t: &str| cli_origin(t, "scimd operator create");
            let password = match dir.create_operator(&by, &username).await {
                Ok(p) => p,
                Err(DirectoryError::Invalid(m)) => {
                    eprintln!("error: {m}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            };
            let username = username.trim();
            tracing::info!(operator = ?username, "operator created");
            println!("Operator created: {username}");
            println!();
            println!("  Operator portal:   {base}{OPERATOR_PORTAL}");
            println!("  Username:          {username}");
            println!("  Password:          {password}");
            println!();
            println!(
                "The password is shown only this once and must be changed at the first sign-in."
            );
            Ok(ExitCode::SUCCESS)
        }
        OperatorCommand::ResetPassword { username } => {
            let username = username.get().to_string();
            let by = |t: &str| cli_origin(t, "scimd operator reset-password");
            let reset = async |o: &_| dir.reset_admin_password(o, &username).await;
            let done = dir.on_operator(&by, &username, reset).await;
            super::db::finish(
                done.map(|p| {
                    super::admins::print_password(&p, "new password for operator", &username)
                }),
            )
        }
        OperatorCommand::List { json } => {
            let ops = dir.list_operators().await?;
            let (key, table) = ("operators", super::admins::admin_table);
            super::db::print_list(
                json,
                || super::admins::admins_json(key, &ops),
                || table(&ops),
            )
        }
        OperatorCommand::Remove { username } => {
            let username = username.get().to_string();
            let by = |t: &str| cli_origin(t, "scimd operator remove");
            let remove = async |o: &_| dir.remove_admin(o, &username).await;
            let done = dir.on_operator(&by, &username, remove).await;
            let to = ("the operator portal", "scimd operator create NAME");
            super::db::finish(done.map(|r| super::admins::print_removed(&r, "operator", to)))
        }
        OperatorCommand::Unlock { username } => {
            let username = username.get().to_string();
            let by = |t: &str| cli_origin(t, "scimd operator unlock");
            let unlock = async |o: &_| dir.unlock_admin(o, &username).await;
            let done = dir.on_operator(&by, &username, unlock).await;
            super::db::finish(done.map(|n| {
                eprintln!(
                    "unlocked operator '{}': {n} sign-in throttling records cleared",
                    username.trim()
                )
            }))
        }
    }
}
