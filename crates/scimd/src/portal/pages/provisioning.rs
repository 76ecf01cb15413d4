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
    /// Its name: what the revoke form posts.
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
    /// Its client id: what the revoke form posts.
    id: String,
    name: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
    /// Always false: a client does not expire (the access tokens it gets do). The
    /// credential table shows the status of tokens and clients alike.
    expired: bool,
}

impl TokenView {
    /// What the revoke form posts (field `name`): the token's name.
    pub fn key(&self) -> &str {
        &self.name
    }
}

impl ClientView {
    /// What the revoke form posts (field `client_id`): the client's id.
    pub fn key(&self) -> &str {
        &self.id
    }
}

/// A client just created: its id and secret, the secret shown on this one response only.
#[derive(Debug, Clone)]
pub struct NewClientView {
    name: String,
    id: String,
    secret: String,
}

/// What one credential section (tokens, clients) answers besides its list: the credential
/// just created (`N`, its secret shown on this response only), the error of a refused form
/// and the name that form keeps.
#[derive(Debug)]
pub struct Section<N> {
    new: Option<N>,
    error: Option<String>,
    name: String,
}

impl<N> Default for Section<N> {
    fn default() -> Self {
        Section {
            new: None,
            error: None,
            name: String::new(),
        }
    }
}

impl<N> Section<N> {
    /// A credential just created, its secret shown on this response only.
    fn created(new: N) -> Self {
        Section {
            new: Some(new),
            ..Section::default()
        }
    }

    /// A refused form: its error, and the name entered kept in the form.
    fn refused(error: String, name: String) -> Self {
        Section {
            error: Some(error),
            name,
            ..Section::default()
        }
    }
}

/// What a page answers besides the lists: its status and each credential section's outcome.
#[derive(Debug, Default)]
struct Outcome {
    status: StatusCode,
    token: Section<NewToken>,
    client: Section<NewClientView>,
}

/// The credentials the page lists, creates and revokes.
#[derive(Debug, Clone, Copy)]
enum Credential {
    /// API tokens, revoked by name.
    Token,
    /// OAuth clients, revoked by client id.
    Client,
}

/// Admin › Identity › User Provisioning.
#[derive(Template)]
#[template(path = "portal/provisioning.html")]
pub struct ProvisioningPage {
    layout: Layout,
    tenant_url: String,
    token_url: String,
    token: Section<NewToken>,
    tokens: Vec<TokenView>,
    client: Section<NewClientView>,
    clients: Vec<ClientView>,
    urn: String,
    policy_text: String,
    refuse_text: String,
    department_path: String,
    attrs: Vec<AttrView>,
    warnings: Vec<WarningView>,
    expiring: Vec<ExpiringToken>,
    warning_days: u32,
    /// The accepted form of a token's lifetime (the Expires-in field's `title`).
    expires_form: String,
}

fn provisioning_layout(s: &Signed) -> Layout {
    s.page("User Provisioning", "provisioning")
        .crumb("User Provisioning", "")
}

/// The frame of the page answering a token form: the menu marks Tokens (under System), which
/// links to this page's tokens section.
fn tokens_layout(s: &Signed) -> Layout {
    Layout {
        nav: "tokens",
        ..provisioning_layout(s)
    }
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
            expired: false,
        })
        .collect();
    Ok(render(
        o.status,
        &ProvisioningPage {
            layout,
            tenant_url: s.site.url(st, crate::state::SCIM_BASE),
            token_url: s.site.url(st, crate::oauth::TOKEN_PATH),
            token: o.token,
            tokens,
            client: o.client,
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
            expires_form: crate::lifetime::accepted(crate::lifetime::TOKEN_UNITS),
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
        token: Section::refused(m, name.clone()),
        ..Outcome::default()
    };
    let lifetime = match p.fields.get("expires_in").trim() {
        "" => None,
        v => match crate::lifetime::parse(v, crate::lifetime::TOKEN_UNITS) {
            Ok(l) => Some(l),
            Err(e) => {
                let o = refused(format!("Expires in: {e}"));
                return provisioning_page(&st, s, tokens_layout(s), o).await;
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
                token: Section::created(NewToken {
                    name,
                    scope: scope.as_str().to_string(),
                    secret,
                }),
                ..Outcome::default()
            };
            provisioning_page(&st, s, tokens_layout(s), o).await
        }
        Err(DirectoryError::Invalid(m) | DirectoryError::Conflict(m)) => {
            provisioning_page(&st, s, tokens_layout(s), refused(m)).await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/tokens/revoke` (field `name`).
pub async fn revoke_token(State(st): State<AppState>, p: Posted) -> Page {
    revoke(&st, &p, Credential::Token).await
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
                client: Section::created(NewClientView {
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
                client: Section::refused(m, name),
                ..Outcome::default()
            };
            provisioning_page(&st, s, provisioning_layout(s), o).await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/clients/revoke` (field `client_id`).
pub async fn revoke_client(State(st): State<AppState>, p: Posted) -> Page {
    revoke(&st, &p, Credential::Client).await
}

/// Revokes the active token named, or the active client with the id posted, then sees the
/// page again at its section with a notice (`token-revoked`, `client-revoked`); 404 on the
/// page, with the message in the section, when there is none.
async fn revoke(st: &AppState, p: &Posted, kind: Credential) -> Page {
    let s = &p.signed;
    let (d, by) = (&st.directory, p.origin());
    let key = match kind {
        Credential::Token => p.fields.get("name"),
        Credential::Client => p.fields.get("client_id"),
    }
    .to_string();
    let revoked = match kind {
        Credential::Token => d.revoke_token(&by, &key).await,
        Credential::Client => d.revoke_client(&by, &key).await,
    };
    let revoked = revoked.map_err(|e| server_error(e, s.layout("Error", "provisioning")))?;
    if !revoked {
        let mut o = Outcome {
            status: StatusCode::NOT_FOUND,
            ..Outcome::default()
        };
        match kind {
            Credential::Token => {
                o.token.error = Some(format!(
                    "There is no active token named “{key}”: it may have been revoked already."
                ))
            }
            Credential::Client => {
                o.client.error = Some(format!(
                    "There is no active client “{key}”: it may have been revoked already."
                ))
            }
        }
        let layout = match kind {
            Credential::Token => tokens_layout(s),
            Credential::Client => provisioning_layout(s),
        };
        return provisioning_page(st, s, layout, o).await;
    }
    let admin = &s.session.username;
    let (section, notice) = match kind {
        Credential::Token => {
            tracing::info!(token = %key, admin = %admin, "token revoked in the portal");
            ("tokens", "token-revoked")
        }
        Credential::Client => {
            tracing::info!(client = %key, admin = %admin, "OAuth client revoked in the portal");
            ("clients", "client-revoked")
        }
    };
    Ok(see_other(&format!(
        "/admin/provisioning?{}#{section}",
        query_string(&[("ok", notice), ("name", &key)])
    )))
}
