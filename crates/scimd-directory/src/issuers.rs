//! Issuers: OIDC issuers whose JWT access tokens the SCIM endpoints accept (Microsoft Entra
//! workload identity federation, or any issuer publishing a JWKS), as records of a tenant.
//! Validating the tokens and fetching keys is the server's (`scimd::issuers`); this module
//! keeps the records, their rules and their audit trail.
//!
//! Rules: the issuer URL is unique per tenant and compared exactly with a token's `iss`
//! (Entra's v1 form `https://sts.windows.net/TENANT-ID/` keeps its trailing slash); an
//! audience and at least one application id are required; keys come from a metadata URL or
//! from a JWKS file, not both. Adding and removing are audit actions `issuer.add` and
//! `issuer.remove` (target type `Issuer`, named by the issuer URL).

use crate::changes::{commit_recorded, target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Directory, DirectoryError, Origin};
use crate::error::on_conflict;
use crate::store::{Change, ChangeRecord, ConflictTarget, IssuerRow};
use serde_json::Value;

/// Longest issuer URL, metadata URL or JWKS file path accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest audience or application id accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 512;
/// Most application ids one issuer may allow.
pub const MAX_APP_IDS: usize = 100;

fn invalid(msg: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid(msg.into())
}

/// Checks one text value: not blank, at most `max` bytes, no control characters or spaces
/// (`what` names it in the message). Returns it trimmed.
fn word(value: &str, what: &str, max: usize) -> Result<String, DirectoryError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if v.len() > max {
        return Err(invalid(format!("{what} is longer than {max} bytes")));
    }
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(format!(
            "{what} must not contain spaces or control characters"
        )));
    }
    Ok(v.to_string())
}

/// Checks a URL's shape: `http://` or `https://` with a host, no spaces.
fn url(value: &str, what: &str) -> Result<String, DirectoryError> {
    let v = word(value, what, MAX_URL_BYTES)?;
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| invalid(format!("{what} must be an https:// URL, got {v:?}")))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid(format!("{what} has no host: {v:?}")));
    }
    if v.contains('#') {
        return Err(invalid(format!("{what} must not have a fragment: {v:?}")));
    }
    Ok(v)
}

/// The issuer record `issuer add` asks for in `tenant_id`, checked (see the module rules):
/// the issuer URL (`iss`, `https://`, or `http://`, which only a server that may fetch from
/// private addresses can use), the audience (`aud`), the application ids allowed (`appid`,
/// `azp` or `client_id`; trimmed and deduplicated in their order), and where keys come from
/// (a metadata URL when not the issuer's default, or a JWKS file, or neither).
///
/// Errors (`Invalid`, with a message naming the field): a blank or overlong value, a URL
/// that is not `http(s)://HOST…` or has a fragment, no application id or more than
/// [`MAX_APP_IDS`], both a metadata URL and a JWKS file.
pub fn new_issuer(
    tenant_id: &str,
    issuer: &str,
    audience: &str,
    app_ids: &[String],
    metadata_url: Option<&str>,
    jwks_file: Option<&str>,
) -> Result<IssuerRow, DirectoryError> {
    let issuer = url(issuer, "the issuer")?;
    let audience = word(audience, "the audience", MAX_NAME_BYTES)?;
    let mut apps: Vec<String> = Vec::new();
    for a in app_ids {
        let a = word(a, "an application id", MAX_NAME_BYTES)?;
        if !apps.contains(&a) {
            apps.push(a);
        }
    }
    if apps.is_empty() {
        return Err(invalid(
            "at least one application id is required (the appid, azp or client_id of the tokens to accept)",
        ));
    }
    if apps.len() > MAX_APP_IDS {
        return Err(invalid(format!(
            "at most {MAX_APP_IDS} application ids per issuer"
        )));
    }
    if metadata_url.is_some() && jwks_file.is_some() {
        return Err(invalid("give a metadata URL or a JWKS file, not both"));
    }
    Ok(IssuerRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant_id.to_string(),
        issuer,
        audience,
        app_ids: apps,
        metadata_url: metadata_url
            .map(|m| url(m, "the metadata URL"))
            .transpose()?,
        jwks_file: jwks_file
            .map(|f| word(f, "the JWKS file", MAX_URL_BYTES))
            .transpose()?,
        created: crate::render::now(),
    })
}

/// The metadata URL keys are found through when no JWKS file is given: the one given, else
/// the issuer + `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4; a
/// trailing `/` of the issuer is not doubled). `None` with a JWKS file.
pub fn metadata_url(row: &IssuerRow) -> Option<String> {
    if row.jwks_file.is_some() {
        return None;
    }
    Some(row.metadata_url.clone().unwrap_or_else(|| {
        format!(
            "{}/.well-known/openid-configuration",
            row.issuer.trim_end_matches('/')
        )
    }))
}

impl Directory {
    /// Adds the issuer `row` (from [`new_issuer`]), recorded under `by` (audit
    /// action `issuer.add`).
    ///
    /// Errors: `Conflict` when the tenant has an issuer of that URL; the store's.
    pub async fn add_issuer(&self, by: &Origin, row: &IssuerRow) -> Result<(), DirectoryError> {
        let mut tx = self.store().write().await?;
        let res = tx.insert_issuer(row).await;
        on_conflict(res, ConflictTarget::Issuer, || {
            DirectoryError::Conflict(format!(
                "the issuer {} is already configured; remove it first to change it",
                row.issuer
            ))
        })?;
        let r = issuer_record(&Recorder::new(by), AuditAction::IssuerAdd, row);
        Ok(commit_recorded(tx, &r).await?)
    }

    /// A tenant's issuers, oldest first.
    pub async fn list_issuers(&self, tenant_id: &str) -> Result<Vec<IssuerRow>, DirectoryError> {
        let mut tx = self.store().read().await?;
        Ok(tx.list_issuers(tenant_id).await?)
    }

    /// Removes the issuer whose URL (exactly) or id is `issuer`, recorded under `by` (audit
    /// action `issuer.remove`); `None` when the tenant has no such issuer. Tokens of the
    /// issuer are refused from then on.
    pub async fn remove_issuer(
        &self,
        by: &Origin,
        issuer: &str,
    ) -> Result<Option<IssuerRow>, DirectoryError> {
        let mut tx = self.store().write().await?;
        let all = tx.list_issuers(&by.tenant_id).await?;
        let Some(row) = all
            .into_iter()
            .find(|i| i.issuer == issuer || i.id == issuer)
        else {
            return Ok(None);
        };
        let removed = tx.delete_issuer(&by.tenant_id, &row.id).await?;
        if removed {
            let record = issuer_record(&Recorder::new(by), AuditAction::IssuerRemove, &row);
            tx.insert_record(&record).await?;
        }
        tx.commit().await?;
        Ok(removed.then_some(row))
    }
}

/// The audit record of `action` on `row`: its id, its URL as the name, and its settings
/// (after when added, before when removed).
fn issuer_record(recorder: &Recorder<'_>, action: AuditAction, row: &IssuerRow) -> ChangeRecord {
    let (id, name) = (Some(row.id.as_str()), Some(row.issuer.as_str()));
    let mut r = recorder.action(action, target::ISSUER, id, name, SUCCEEDED);
    let app_ids = Value::from(row.app_ids.clone());
    let fields = [
        ("audience", Some(Value::from(row.audience.clone()))),
        ("appIds", Some(app_ids)),
        ("metadataUrl", row.metadata_url.clone().map(Value::from)),
        ("jwksFile", row.jwks_file.clone().map(Value::from)),
    ];
    let added = action == AuditAction::IssuerAdd;
    r.changes = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .map(|(k, v)| match added {
            true => Change::new(k, None, Some(v)),
            false => Change::new(k, Some(v), None),
        })
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(issuer: &str) -> Result<IssuerRow, DirectoryError> {
        let apps = ["a".to_string(), " b ".into(), "a".into()];
        new_issuer("t", issuer, "api://scimd", &apps, None, None)
    }

    #[test]
    fn checks_and_defaults() {
        let v1 = new("https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/").unwrap();
        assert_eq!(v1.app_ids, ["a", "b"]);
        assert_eq!(
            metadata_url(&v1).unwrap(),
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/.well-known/openid-configuration"
        );
        let v2 = new("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
            .unwrap();
        assert_eq!(
            metadata_url(&v2).unwrap(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration"
        );
        let (iss, aud, apps) = ("https://issuer.example", "aud", ["a".to_string()]);
        let file = Some("/etc/scimd/jwks.json");
        let f = new_issuer("t", iss, aud, &apps, None, file).unwrap();
        assert_eq!(metadata_url(&f), None);
        let both = new_issuer("t", iss, aud, &apps, Some("https://issuer.example/m"), file);
        assert!(both.is_err(), "both a metadata URL and a file");
        for bad in [
            "",
            "issuer.example",
            "ftp://x",
            "https://",
            "https:///x",
            "https://a b",
            "https://x#f",
        ] {
            assert!(new(bad).is_err(), "{bad:?}");
        }
        assert!(new_issuer("t", iss, aud, &[" ".into()], None, None).is_err());
        assert!(new_issuer("t", iss, aud, &[], None, None).is_err());
    }
}
