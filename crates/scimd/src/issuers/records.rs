//! Adding issuers and showing them, shared by `scimd issuer` and `/api/v1/issuers`.

use super::keys::key_set;
use super::outbound::{Outbound, MAX_BYTES};
use scimd_directory::directory::{Directory, DirectoryError, Origin};
use scimd_directory::issuers::metadata_url;
use scimd_directory::store::IssuerRow;
use serde_json::{json, Value};

/// Adds `row` (checked by [`scimd_directory::issuers::new_issuer`]) to its tenant, under
/// `by`, after checking where keys will come from — the metadata URL (given, or
/// the issuer's default) under the outbound address rule of `outbound` (checked after DNS
/// resolution; a name that does not resolve now is checked again at every fetch), or the
/// JWKS file, which must be an absolute path to a readable JWKS with a usable key.
///
/// Errors: `Invalid` with a message naming the URL or file and what is wrong; `Conflict`
/// when the issuer is configured already.
pub async fn add(
    dir: &Directory,
    by: &Origin,
    row: IssuerRow,
    outbound: &Outbound,
) -> Result<IssuerRow, DirectoryError> {
    match (&row.jwks_file, metadata_url(&row)) {
        (Some(file), _) => check_file(file).await.map_err(DirectoryError::Invalid)?,
        (None, Some(url)) => {
            outbound.check_url(&url).await.map_err(|e| {
                DirectoryError::Invalid(format!("the metadata URL is refused: {e}"))
            })?;
        }
        (None, None) => {}
    }
    dir.add_issuer(by, &row).await?;
    Ok(row)
}

async fn check_file(file: &str) -> Result<(), String> {
    let path = std::path::Path::new(file);
    if !path.is_absolute() {
        return Err(format!(
            "the JWKS file must be an absolute path, got {file:?}"
        ));
    }
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read the JWKS file {file}: {e}"))?;
    if meta.len() > MAX_BYTES as u64 {
        return Err(format!(
            "the JWKS file {file} is larger than {MAX_BYTES} bytes"
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read the JWKS file {file}: {e}"))?;
    let set: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the JWKS file {file} is not JSON: {e}"))?;
    key_set(&set).map_err(|e| format!("the JWKS file {file}: {e}"))?;
    Ok(())
}

/// An issuer as `issuer list --json` and the admin API show it: `{id, issuer, audience,
/// appIds, metadataUrl, jwksFile, created}`; `metadataUrl` is the URL keys are found
/// through (the default one when none was given; null with a JWKS file), `created` RFC 3339.
pub fn issuer_json(row: &IssuerRow) -> Value {
    json!({
        "id": row.id,
        "issuer": row.issuer,
        "audience": row.audience,
        "appIds": row.app_ids,
        "metadataUrl": metadata_url(row),
        "jwksFile": row.jwks_file,
        "created": scimd_directory::render::rfc3339(row.created),
    })
}
