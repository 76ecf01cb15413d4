//! `/api/v1/settings`: the tenant's provisioning settings.

use super::reply::{ok, AdminResult};
use super::request::{object, Admin, AdminJson};

pub(super) async fn get_settings(Admin(st, c): Admin) -> AdminResult {
    ok(&st.directory.get_settings(&c.tenant_id).await?.to_json())
}

pub(super) async fn patch_settings(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    object(
        &body,
        "any of customSchemaUrn, blankValuePolicy, refuseInactiveCreate",
    )?;
    ok(&st
        .directory
        .update_settings(&c.origin(), &body)
        .await?
        .to_json())
}
