//! Admin › Identity › User Provisioning (`/admin/provisioning`): the SCIM tenant URL, the
//! tokens (created, shown once, revoked) and a summary of the settings.

use super::attributes::AttrView;
use super::common::{fmt_time, noticed, query_string, Q};
use crate::portal::frame::{directory_error, render, see_other, server_error, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scim_proto::patch::BlankPolicy;
use scim_proto::schema::ENTERPRISE_USER_SCHEMA;
use scimd_directory::DirectoryError;

/// A token in the list (never its secret).
#[derive(Debug, Clone)]
pub struct TokenView {
    name: String,
    scope: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// A token just created: its secret, shown on this one response only.
#[derive(Debug, Clone)]
pub struct NewToken {
    name: String,
    scope: String,
    secret: String,
}

/// Admin › Identity › User Provisioning.
#[derive(Template)]
#[template(path = "portal/provisioning.html")]
pub struct ProvisioningPage {
    layout: Layout,
    tenant_url: String,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: String,
    tokens: Vec<TokenView>,
    urn: String,
    policy_text: String,
    refuse_text: String,
    department_path: String,
    attrs: Vec<AttrView>,
}

fn provisioning_layout(s: &Signed) -> Layout {
    s.layout("User Provisioning", "provisioning")
        .crumb("Admin", "")
        .crumb("Identity", "")
        .crumb("User Provisioning", "")
}

async fn provisioning_page(
    st: &AppState,
    s: &Signed,
    layout: Layout,
    status: StatusCode,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: &str,
) -> Page {
    let d = &st.directory;
    let t = s.tenant();
    let tokens = d
        .list_tokens(t)
        .await
        .map_err(|e| server_error(e, s.layout("Error", "provisioning")))?;
    let fail = |e: DirectoryError| {
        directory_error(e, s.layout("Error", "provisioning"), "Something went wrong")
    };
    let settings = d.get_settings(t).await.map_err(fail)?;
    let custom = d.custom_schema(t).await.map_err(fail)?;
    let tokens = tokens
        .iter()
        .map(|r| TokenView {
            name: r.name.clone(),
            scope: r.scope.as_str().to_string(),
            created: fmt_time(r.created),
            last_used: r.last_used.map(fmt_time).unwrap_or_else(|| "never".into()),
            revoked: r.revoked.map(fmt_time),
        })
        .collect();
    Ok(render(
        status,
        &ProvisioningPage {
            layout,
            tenant_url: d.base_url().to_string(),
            new_token,
            token_error,
            token_name: token_name.to_string(),
            tokens,
            policy_text: match settings.blank_value_policy {
                BlankPolicy::Clear => {
                    "Clear: an empty string or null in an update removes the stored value".into()
                }
                BlankPolicy::Ignore => {
                    "Ignore: an empty string or null in an update keeps the stored value (default)"
                        .into()
                }
            },
            refuse_text: if settings.refuse_inactive_create {
                "Users that arrive inactive (active: false) are refused (default)".into()
            } else {
                "Users that arrive inactive (active: false) are created inactive".into()
            },
            department_path: format!("{ENTERPRISE_USER_SCHEMA}:department"),
            attrs: custom.attributes.iter().map(AttrView::of).collect(),
            urn: custom.urn,
        },
    ))
}

/// `GET /admin/provisioning`.
pub async fn provisioning(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(provisioning_layout(&s), &Q::new(q));
    provisioning_page(&st, &s, layout, StatusCode::OK, None, None, "").await
}

/// `POST /admin/provisioning/tokens`: creates a token and shows its secret on this response
/// only (it is never stored, and the page is not cached).
pub async fn create_token(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    let scope = match p.fields.get("scope") {
        "admin" => scimd_directory::store::TokenScope::Admin,
        _ => scimd_directory::store::TokenScope::Scim,
    };
    match st
        .directory
        .create_token(&p.origin(), &name, scope, None)
        .await
    {
        Ok((secret, _)) => {
            tracing::info!(token = %name, scope = scope.as_str(), admin = %s.session.username, "token created in the portal");
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::CREATED,
                Some(NewToken {
                    name,
                    scope: scope.as_str().to_string(),
                    secret,
                }),
                None,
                "",
            )
            .await
        }
        Err(DirectoryError::Invalid(m) | DirectoryError::Conflict(m)) => {
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::BAD_REQUEST,
                None,
                Some(m),
                &name,
            )
            .await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/tokens/revoke`.
pub async fn revoke_token(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").to_string();
    match st.directory.revoke_token(&p.origin(), &name).await {
        Ok(true) => {
            tracing::info!(token = %name, admin = %s.session.username, "token revoked in the portal");
            Ok(see_other(&format!(
                "/admin/provisioning?{}#tokens",
                query_string(&[("ok", "token-revoked"), ("name", &name)])
            )))
        }
        Ok(false) => {
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::NOT_FOUND,
                None,
                Some(format!(
                    "There is no active token named “{name}”: it may have been revoked already."
                )),
                "",
            )
            .await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}
