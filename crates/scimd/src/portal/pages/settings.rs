//! Admin › Identity › User Provisioning › Edit Settings (`/admin/provisioning/settings`):
//! the tenant's settings and the form that adds a custom attribute.

use super::attributes::AttrView;
use super::common::{noticed, query_string, Q};
use crate::portal::frame::{directory_error, render, see_other, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::custom::CustomType;
use scimd_directory::settings::blank_policy_name;
use scimd_directory::DirectoryError;
use serde_json::json;

/// Admin › Identity › User Provisioning › Edit Settings.
#[derive(Template)]
#[template(path = "portal/settings.html")]
pub struct SettingsPage {
    layout: Layout,
    settings_error: Option<String>,
    urn: String,
    policy: String,
    refuse: bool,
    attrs: Vec<AttrView>,
    add_open: bool,
    add_error: Option<String>,
    add_name: String,
    types: Vec<(String, bool)>,
}

struct SettingsForm {
    settings_error: Option<String>,
    add_error: Option<String>,
    add_name: String,
    add_type: String,
    /// Values to show instead of the stored ones (after a refused save).
    edited: Option<(String, String, bool)>,
}

async fn settings_page(
    st: &AppState,
    s: &Signed,
    layout: Layout,
    status: StatusCode,
    f: SettingsForm,
) -> Page {
    let d = &st.directory;
    let fail = |e: DirectoryError| {
        directory_error(e, s.layout("Error", "provisioning"), "Something went wrong")
    };
    let settings = d.get_settings(s.tenant()).await.map_err(fail)?;
    let custom = d.custom_schema(s.tenant()).await.map_err(fail)?;
    let (urn_shown, policy, refuse) = f.edited.unwrap_or((
        custom.urn.clone(),
        blank_policy_name(settings.blank_value_policy).to_string(),
        settings.refuse_inactive_create,
    ));
    let add_type = if f.add_type.is_empty() {
        CustomType::String.as_str().to_string()
    } else {
        f.add_type
    };
    Ok(render(
        status,
        &SettingsPage {
            layout,
            settings_error: f.settings_error,
            urn: urn_shown,
            policy,
            refuse,
            attrs: custom.attributes.iter().map(AttrView::of).collect(),
            add_open: f.add_error.is_some(),
            add_error: f.add_error,
            add_name: f.add_name,
            types: CustomType::ALL
                .iter()
                .map(|t| {
                    (
                        t.as_str().to_string(),
                        t.as_str().eq_ignore_ascii_case(&add_type),
                    )
                })
                .collect(),
        },
    ))
}

fn settings_layout(s: &Signed) -> Layout {
    s.layout("Edit Settings · User Provisioning", "provisioning")
        .crumb("Admin", "")
        .crumb("Identity", "")
        .crumb("User Provisioning", "/admin/provisioning")
        .crumb("Edit Settings", "")
}

fn empty_form() -> SettingsForm {
    SettingsForm {
        settings_error: None,
        add_error: None,
        add_name: String::new(),
        add_type: String::new(),
        edited: None,
    }
}

/// `GET /admin/provisioning/settings`.
pub async fn settings_form(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(settings_layout(&s), &Q::new(q));
    settings_page(&st, &s, layout, StatusCode::OK, empty_form()).await
}

/// `POST /admin/provisioning/settings`.
pub async fn save_settings(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let urn = p.fields.get("customSchemaUrn").trim().to_string();
    let policy = p.fields.get("blankValuePolicy").to_string();
    let refuse = p.fields.has("refuseInactiveCreate");
    let patch =
        json!({"customSchemaUrn": urn, "blankValuePolicy": policy, "refuseInactiveCreate": refuse});
    match st.directory.update_settings(&p.origin(), &patch).await {
        Ok(_) => {
            tracing::info!(admin = %s.session.username, settings = %patch, "settings changed in the portal");
            Ok(see_other("/admin/provisioning/settings?ok=settings"))
        }
        Err(e) if e.status() < 500 => {
            let mut f = empty_form();
            f.settings_error = Some(e.message());
            f.edited = Some((urn, policy, refuse));
            settings_page(&st, s, settings_layout(s), StatusCode::BAD_REQUEST, f).await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "provisioning"),
            "Something went wrong",
        )),
    }
}

/// `POST /admin/provisioning/attributes` ("+ Add Custom Attribute", "Save Changes").
pub async fn add_attribute(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    let ty = p.fields.get("type").to_string();
    let ty_opt = if ty.is_empty() {
        None
    } else {
        Some(ty.as_str())
    };
    match st
        .directory
        .create_attribute(&p.origin(), &name, ty_opt)
        .await
    {
        Ok(_) => {
            tracing::info!(attribute = %name, admin = %s.session.username, "custom attribute added in the portal");
            Ok(see_other(&format!(
                "/admin/provisioning/settings?{}#custom-attributes",
                query_string(&[("ok", "attribute"), ("name", &name)])
            )))
        }
        Err(e) if e.status() < 500 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut f = empty_form();
            f.add_error = Some(e.message());
            f.add_name = name;
            f.add_type = ty;
            settings_page(&st, s, settings_layout(s), status, f).await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "provisioning"),
            "Something went wrong",
        )),
    }
}
