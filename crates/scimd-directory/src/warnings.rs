//! The warnings of provisioning that call for an administrator (the dashboard's and the
//! User Provisioning page's): attributes the identity provider sent under a schema URN the
//! tenant does not know, and values changed to be valid ([`WarningKind`]). Each is counted
//! per kind and subject (the URN, the attribute) by the write that gave it, in its
//! transaction ([`count`]): since when, until when, how many writes and how many distinct
//! users; reading them is one index range of at most [`SHOWN`] rows, whatever the size of
//! the directory.

use crate::directory::Directory;
use crate::error::DirectoryResult;
use crate::store::{ChangeRecord, StoreResult, Tx, WarningCount, WarningNote};
use crate::vocabulary::{LogOutcome, ResourceType};
pub use scim_proto::warnings::WarningKind;

/// Subjects counted per tenant at most: a new subject beyond them is not counted (the
/// warning stays in the write's change record). Bounds what a client sending a new URN
/// with every request can add.
pub const MAX_SUBJECTS: u64 = 100;

/// Warnings read for a page at most, the most recently given first.
pub const SHOWN: u64 = 20;

/// Longest subject kept, in characters (warnings already cut client text to 100).
const SUBJECT_CHARS: usize = 200;
/// Longest example kept, in characters.
const EXAMPLE_CHARS: usize = 500;

/// One kind and subject of warning, counted: what happened, and its counts (`subject`: the
/// schema URN or the attribute; `example`: the latest such warning's text; first and last
/// given; writes and distinct users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningWarning {
    /// What happened.
    pub kind: WarningKind,
    /// Its counts.
    pub counts: WarningCount,
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The warnings of `records` to count: those of provisioning-log records of users that were
/// written (not rejected), classified, once per record, kind and subject.
fn notes(records: &[ChangeRecord]) -> Vec<WarningNote> {
    let mut out: Vec<WarningNote> = Vec::new();
    for r in records {
        let user = match (&r.resource_id, r.resource_type.as_deref()) {
            (Some(id), Some(t)) if r.log && t == ResourceType::User.as_str() => id,
            _ => continue,
        };
        if r.outcome == LogOutcome::Rejected.as_str() {
            continue;
        }
        for w in &r.warnings {
            let Some((kind, subject)) = scim_proto::warnings::classify(w) else {
                continue;
            };
            let n = WarningNote {
                tenant_id: r.tenant_id.clone(),
                kind: kind.as_str().to_string(),
                subject: cut(subject, SUBJECT_CHARS),
                example: cut(w, EXAMPLE_CHARS),
                user_id: user.clone(),
                at: r.at,
            };
            let seen = out
                .iter()
                .any(|o| o.kind == n.kind && o.subject == n.subject && o.user_id == n.user_id);
            if !seen {
                out.push(n);
            }
        }
    }
    out
}

/// Counts the warnings of a write's `records` in its transaction `tx` (see the module
/// documentation); a write without such warnings reads nothing.
pub(crate) async fn count(tx: &mut dyn Tx, records: &[ChangeRecord]) -> StoreResult<()> {
    let notes = notes(records);
    let Some(first) = notes.first() else {
        return Ok(());
    };
    let known = tx.warning_counts(&first.tenant_id, MAX_SUBJECTS).await?;
    let mut subjects = known.len() as u64;
    for n in &notes {
        let counted = known
            .iter()
            .any(|k| k.kind == n.kind && k.subject == n.subject);
        if !counted {
            if subjects >= MAX_SUBJECTS {
                continue;
            }
            subjects += 1;
        }
        tx.note_warning(n).await?;
    }
    Ok(())
}

impl Directory {
    /// The tenant's provisioning warnings, the most recently given first, at most
    /// [`SHOWN`]; an unknown schema URN that is now the tenant's custom schema URN is left
    /// out (setting it was the fix).
    pub async fn provisioning_warnings(
        &self,
        tenant: &str,
    ) -> DirectoryResult<Vec<ProvisioningWarning>> {
        let custom = self.custom_schema(tenant).await?.urn;
        let mut tx = self.store().read().await?;
        let rows: Vec<WarningCount> = tx.warning_counts(tenant, SHOWN).await?;
        Ok(rows
            .into_iter()
            .filter_map(|w| {
                let kind = WarningKind::parse(&w.kind)?;
                let fixed = kind == WarningKind::UnknownSchema && w.subject == custom;
                (!fixed).then_some(ProvisioningWarning { kind, counts: w })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Origin, RequestInfo};
    use crate::store::Channel;

    fn record(outcome: LogOutcome, warnings: &[&str]) -> ChangeRecord {
        let origin = Origin::portal(
            "t",
            "admin",
            RequestInfo {
                method: "POST".into(),
                path: "/scim/v2/Users".into(),
                address: None,
            },
        );
        let rec = crate::changes::Recorder::new(&origin);
        let mut r = rec.record("User", Some("u1"), Some("ann"), outcome.as_str());
        r.log = true;
        r.source = Channel::Scim;
        r.warnings = warnings.iter().map(|w| w.to_string()).collect();
        r
    }

    #[test]
    fn only_written_users_warnings_of_the_kinds_are_counted_once() {
        let unknown = "ignored attribute 'costCode' of unknown schema 'urn:acme:User'";
        let other = "ignored unknown attribute 'nickname2'";
        let primary = "'emails': 2 values had \"primary\": true; the first was kept as the primary value and the others were set to false (RFC 7643 §2.4)";
        let written = record(LogOutcome::Created, &[unknown, other, primary, unknown]);
        let n = notes(&[written.clone(), written.clone()]);
        let got: Vec<(&str, &str)> = n
            .iter()
            .map(|n| (n.kind.as_str(), n.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("unknown-schema", "urn:acme:User"),
                ("normalised", "emails")
            ]
        );
        assert_eq!(n[0].example, unknown);
        assert!(notes(&[record(LogOutcome::Rejected, &[unknown])]).is_empty());
        let mut group = record(LogOutcome::Created, &[unknown]);
        group.resource_type = Some("Group".into());
        assert!(notes(&[group]).is_empty());
        let mut not_log = record(LogOutcome::Created, &[unknown]);
        not_log.log = false;
        assert!(notes(&[not_log]).is_empty());
    }
}
