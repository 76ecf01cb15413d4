//! The provisioning warnings the dashboard and the User Provisioning page show in an alert
//! region (`portal/warnings.html`): a schema URN the tenant does not know (which URN, how
//! many users, since when, and the fix), normalised values (which attribute, how many,
//! since when). Read from the counts the writes keep
//! ([`scimd_directory::Directory::provisioning_warnings`]: a few rows, never a scan).

use super::common::{fmt_time, group_digits};
use crate::state::AppState;
use scimd_directory::warnings::{ProvisioningWarning, WarningKind};
use scimd_directory::DirectoryError;

/// One warning as the pages show it.
#[derive(Debug, Clone)]
pub struct WarningView {
    /// `unknown-schema` or `normalised` (a `data-` attribute for tests and styles).
    pub kind: String,
    /// The headline: "Unknown schema URN …", "Normalised values of …".
    pub title: String,
    /// The URN or the attribute.
    pub subject: String,
    /// "3 users, 7 writes".
    pub counts: String,
    /// First seen (UTC).
    pub since: String,
    /// Last seen (UTC).
    pub last: String,
    /// The latest warning's text.
    pub example: String,
    /// What to do about it.
    pub fix: String,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_digits(n), if n == 1 { one } else { many })
}

impl WarningView {
    /// The view of `w`; `custom_urn` is the tenant's custom schema URN (named in the fix).
    fn of(pw: &ProvisioningWarning, custom_urn: &str) -> WarningView {
        let w = &pw.counts;
        let (title, fix) = match pw.kind {
            WarningKind::UnknownSchema => (
                "The identity provider sends attributes under a schema URN this tenant does not know; they are ignored".to_string(),
                format!(
                    "Either set the tenant's custom schema URN to {} (User Provisioning › Edit Settings) and add the attributes it carries as custom attributes, or change the identity provider's attribute mappings to the tenant's custom schema URN {custom_urn} (its attributes must be registered too).",
                    w.subject
                ),
            ),
            WarningKind::Normalised => (
                "Values were normalised: what the identity provider sent was changed to be valid".to_string(),
                format!(
                    "Nothing was lost, but the identity provider's value differs from the stored one: fix its mapping of {} (for several primary values, mark one value primary) so that what it sends is what is kept.",
                    w.subject
                ),
            ),
        };
        WarningView {
            kind: pw.kind.as_str().to_string(),
            title,
            subject: w.subject.clone(),
            counts: format!(
                "{}, {}",
                plural(w.users, "user", "users"),
                plural(w.occurrences, "write", "writes")
            ),
            since: fmt_time(w.first_at),
            last: fmt_time(w.last_at),
            example: w.example.clone(),
            fix,
        }
    }
}

/// The tenant's provisioning warnings as the pages show them.
pub(super) async fn warnings(
    st: &AppState,
    tenant: &str,
) -> Result<Vec<WarningView>, DirectoryError> {
    let d = &st.directory;
    let custom = d.custom_schema(tenant).await?.urn;
    let ws = d.provisioning_warnings(tenant).await?;
    Ok(ws.iter().map(|w| WarningView::of(w, &custom)).collect())
}
