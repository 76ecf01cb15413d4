//! Admin › Identity › User Provisioning (`/admin/provisioning`): the SCIM tenant URL and the
//! OAuth token URL, the provisioning warnings, the tokens (created with an optional
//! lifetime, shown once, revoked), the OAuth clients (created, their secret shown once,
//! revoked) and a summary of the settings.

use super::attributes::AttrView;
use super::common::{fmt_time, noticed, query_string, Q};
use super::dashboard::{expiring_tokens, ExpiringToken};
use super::warnings::{warnings, WarningView};
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
    expires: String,
    expired: bool,
}

/// A token just created: its secret, shown on this one response only.
#[derive(Debug, Clone)]
pub struct NewToken {
    name: String,
    scope: String,
    secret: String,
}

/// An OAuth client in the list (never its secret).
#[derive(Debug, Clone)]
pub struct ClientView {
    id: String,
    name: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// A client just created: its id and secret, the secret shown on this one response only.
#[derive(Debug, Clone)]
pub struct NewClientView {
    name: String,
    id: String,
    secret: String,
}

/// What a page answers besides the lists: its status, a secret just made, an error and
/// the value a failed form keeps.
#[derive(Debug, Default)]
struct Outcome {
    status: StatusCode,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: String,
    new_client: Option<NewClientView>,
    client_error: Option<String>,
    client_name: String,
}

/// Admin › Identity › User Provisioning.
#[derive(Template)]
#[template(path = "portal/provisioning.html")]
pub struct ProvisioningPage {
    layout: Layout,
    tenant_url: String,
    token_url: String,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: String,
    tokens: Vec<TokenView>,
    new_client: Option<NewClientView>,
    client_error: Option<String>,
    client_name: String,
    clients: Vec<ClientView>,
    urn: String,
    policy_text: String,
    refuse_text: String,
    department_path: String,
    attrs: Vec<AttrView>,
    warnings: Vec<WarningView>,
    expiring: Vec<ExpiringToken>,
    warning_days: u32,
}

fn provisioning_layout(s: &Signed) -> Layout {
    s.layout("User Provisioning", "provisioning")
        .crumb("Admin", "")
        .crumb("Identity", "")
        .crumb("User Provisioning", "")
}

async fn provisioning_page(st: &AppState, s: &Signed, layout: Layout, o: Outcome) -> Page {
    let d = &st.directory;
    let t = s.tenant();
    let tokens = d
        .list_tokens(t)
        .await
        .map_err(|e| server_error(e, s.layout("Error", "provisioning")))?;
    let clients = d
        .list_clients(t)
        .await
        .map_err(|e| server_error(e, s.layout("Error", "provisioning")))?;
    let now = scimd_directory::render::now();
    let fail = |e: DirectoryError| {
        directory_error(e, s.layout("Error", "provisioning"), "Something went wrong")
    };
    let settings = d.get_settings(t).await.map_err(fail)?;
    let custom = d.custom_schema(t).await.map_err(fail)?;
    let warnings = warnings(st, t).await.map_err(fail)?;
    let warning_days = st.credentials.token_expiry_warning_days;
    let expiring = expiring_tokens(&tokens, now, warning_days);
    let tokens = tokens
        .iter()
        .map(|r| TokenView {
            name: r.name.clone(),
            scope: r.scope.as_str().to_string(),
            created: fmt_time(r.created),
            last_used: r.last_used.map(fmt_time).unwrap_or_else(|| "never".into()),
            revoked: r.revoked.map(fmt_time),
            expires: r.expires.map(fmt_time).unwrap_or_else(|| "never".into()),
            expired: r.expires.is_some_and(|e| e <= now),
        })
        .collect();
    let clients = clients
        .iter()
        .map(|c| ClientView {
            id: c.id.clone(),
            name: c.name.clone(),
            created: fmt_time(c.created),
            last_used: c.last_used.map(fmt_time).unwrap_or_else(|| "never".into()),
            revoked: c.revoked.map(fmt_time),
        })
        .collect();
    Ok(render(
        o.status,
        &ProvisioningPage {
            layout,
            tenant_url: d.base_url().to_string(),
            token_url: crate::admin::clients::token_url(st),
            new_token: o.new_token,
            token_error: o.token_error,
            token_name: o.token_name,
            tokens,
            new_client: o.new_client,
            client_error: o.client_error,
            client_name: o.client_name,
            clients,
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
            warnings,
            expiring,
            warning_days,
        },
    ))
}

/// `GET /admin/provisioning`.
pub async fn provisioning(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(provisioning_layout(&s), &Q::new(q));
    provisioning_page(&st, &s, layout, Outcome::default()).await
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
    let refused = |m: String| Outcome {
        status: StatusCode::BAD_REQUEST,
        token_error: Some(m),
        token_name: name.clone(),
        ..Outcome::default()
    };
    let lifetime = match p.fields.get("expires_in").trim() {
        "" => None,
        v => match crate::lifetime::parse(v, crate::lifetime::TOKEN_UNITS) {
            Ok(l) => Some(l),
            Err(e) => {
                let o = refused(format!("Expires in: {e}"));
                return provisioning_page(&st, s, provisioning_layout(s), o).await;
            }
        },
    };
    match st
        .directory
        .create_token(&p.origin(), &name, scope, lifetime)
        .await
    {
        Ok((secret, _)) => {
            tracing::info!(token = %name, scope = scope.as_str(), admin = %s.session.username, "token created in the portal");
            let o = Outcome {
                status: StatusCode::CREATED,
                new_token: Some(NewToken {
                    name,
                    scope: scope.as_str().to_string(),
                    secret,
                }),
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(DirectoryError::Invalid(m) | DirectoryError::Conflict(m)) => {
            provisioning_page(&st, s, provisioning_layout(s), refused(m)).await
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
            let o = Outcome {
                status: StatusCode::NOT_FOUND,
                token_error: Some(format!(
                    "There is no active token named “{name}”: it may have been revoked already."
                )),
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/clients`: creates an OAuth client and shows its id and secret
/// on this response only (the secret is never stored, and the page is not cached).
pub async fn create_client(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    match st.directory.create_client(&p.origin(), &name).await {
        Ok(made) => {
            tracing::info!(client = %made.row.id, admin = %s.session.username, "OAuth client created in the portal");
            let o = Outcome {
                status: StatusCode::CREATED,
                new_client: Some(NewClientView {
                    name: made.row.name,
                    id: made.row.id,
                    secret: made.secret,
                }),
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(DirectoryError::Invalid(m) | DirectoryError::Conflict(m)) => {
            let o = Outcome {
                status: StatusCode::BAD_REQUEST,
                client_error: Some(m),
                client_name: name,
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/clients/revoke`.
pub async fn revoke_client(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let id = p.fields.get("client_id").to_string();
    match st.directory.revoke_client(&p.origin(), &id).await {
        Ok(true) => {
            tracing::info!(client = %id, admin = %s.session.username, "OAuth client revoked in the portal");
            Ok(see_other(&format!(
                "/admin/provisioning?{}#clients",
                query_string(&[("ok", "client-revoked"), ("name", &id)])
            )))
        }
        Ok(false) => {
            let o = Outcome {
                status: StatusCode::NOT_FOUND,
                client_error: Some(format!(
                    "There is no active client “{id}”: it may have been revoked already."
                )),
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}
