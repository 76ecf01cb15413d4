//! `scimd settings show|set`: a tenant's (the root tenant's, or `--tenant SLUG`'s) provisioning settings (the same as
//! `GET`/`PATCH /api/v1/settings`), printed as JSON on stdout.

use super::db::{cli_origin, open_default_tenant};
use crate::config::Config;
use clap::Subcommand;
use std::process::ExitCode;

/// `scimd settings ...`: act on a tenant's (the root tenant's, or `--tenant SLUG`'s) settings (the same as
/// `GET`/`PATCH /api/v1/settings`).
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print the settings as JSON.
    Show,
    /// Change one setting and print the resulting settings as JSON, e.g.
    /// `scimd settings set refuseInactiveCreate false`.
    Set {
        /// customSchemaUrn, blankValuePolicy (ignore|clear) or refuseInactiveCreate (true|false)
        key: String,
        /// The new value; JSON literals (true, false, numbers, "quoted") are read as JSON,
        /// anything else as a string
        value: String,
    },
}

/// The value of `scimd settings set KEY VALUE`: a JSON literal when VALUE parses as one
/// that is not an object or array (`false`, `30`, `"text"`), else the text as a string.
pub fn setting_value(raw: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(raw.trim()) {
        Ok(v) if !v.is_object() && !v.is_array() => v,
        _ => serde_json::Value::String(raw.to_string()),
    }
}

/// Runs a `settings` subcommand against the configured database's default tenant and
/// prints the resulting settings as JSON on stdout.
///
/// Errors (exit 1): an uninitialised database, an unknown key, an invalid value.
pub async fn run_settings(cmd: SettingsCommand, cfg: &Config) -> anyhow::Result<ExitCode> {
    let (dir, tenant) = open_default_tenant(cfg).await?;
    let settings = match cmd {
        SettingsCommand::Show => dir.get_settings(&tenant).await,
        SettingsCommand::Set { key, value } => {
            let mut patch = serde_json::Map::new();
            patch.insert(key.trim().to_string(), setting_value(&value));
            let by = cli_origin(&tenant, "scimd settings set");
            dir.update_settings(&by, &serde_json::Value::Object(patch))
                .await
        }
    };
    match settings {
        Ok(s) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&s.to_json()).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", e.message());
            Ok(ExitCode::FAILURE)
        }
    }
}
