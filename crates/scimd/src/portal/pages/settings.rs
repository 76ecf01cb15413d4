//! Admin › Identity › User Provisioning › Edit Settings (`/admin/provisioning/settings`):
//! the tenant's settings and the form that adds a custom attribute. Both are one form, so
//! neither button discards what was entered for the other (issue 17: a changed custom
//! schema URN was lost when "+ Add Custom Attribute" was used).

use super::attributes::AttrView;
use super::common::{noticed, query_string, Q};
use crate::portal::frame::{directory_error, render, see_other, Layout, Page};
use crate::portal::session::{Fields, Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::custom::CustomType;
use scimd_directory::settings::blank_policy_name;
use scimd_directory::DirectoryError;
use serde_json::{json, Value};

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
    /// Whether "+ Add Custom Attribute" shows its fields open.
    add_open: bool,
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
        directory_error(e, s.layout("Error", "settings"), "Something went wrong")
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
            add_open: f.add_open || f.add_error.is_some(),
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
    s.page("Edit Settings", "settings").crumb("Settings", "")
}

fn empty_form() -> SettingsForm {
    SettingsForm {
        settings_error: None,
        add_error: None,
        add_open: false,
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

/// The settings a posted Edit Settings form holds, as a settings patch; `None` when the
/// form has no settings fields (a client posting only an attribute).
fn posted_settings(f: &Fields) -> Option<Value> {
    if !f.has("customSchemaUrn") {
        return None;
    }
    Some(json!({
        "customSchemaUrn": f.get("customSchemaUrn").trim(),
        "blankValuePolicy": f.get("blankValuePolicy"),
        "refuseInactiveCreate": f.has("refuseInactiveCreate"),
    }))
}

/// Which button posted the Edit Settings form: "Save Settings" or "Save Changes" of
/// "+ Add Custom Attribute" (which requires an attribute name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Button {
    SaveSettings,
    AddAttribute,
}

/// Saves what the Edit Settings form holds, whichever button posted it, so that no edit
/// is lost: the settings (when they differ from the stored ones, or always for "Save
/// Settings"), then the custom attribute when a name was entered ("Save Changes" requires
/// one). A refused step shows the form again with its message and every value entered;
/// settings saved before a refused attribute stay saved, and the page says so.
async fn save(st: &AppState, p: &Posted, button: Button) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let fail = |e: DirectoryError| {
        directory_error(e, s.layout("Error", "settings"), "Something went wrong")
    };
    let name = p.fields.get("name").trim().to_string();
    let ty = p.fields.get("type").to_string();
    let refused_form = |e: &DirectoryError| {
        let mut f = empty_form();
        f.add_name = name.clone();
        f.add_type = ty.clone();
        (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            f,
        )
    };
    let mut settings_saved = false;
    if let Some(patch) = posted_settings(&p.fields) {
        let current = d.get_settings(s.tenant()).await.map_err(fail)?.to_json();
        let changed = patch
            .as_object()
            .is_some_and(|o| o.iter().any(|(k, v)| current.get(k) != Some(v)));
        if changed || button == Button::SaveSettings {
            match d.update_settings(&p.origin(), &patch).await {
                Ok(_) => {
                    tracing::info!(admin = %s.session.username, settings = %patch, "settings changed in the portal");
                    settings_saved = true;
                }
                Err(e) if e.status() < 500 => {
                    let (status, mut f) = refused_form(&e);
                    f.settings_error = Some(e.message());
                    f.add_open = !name.is_empty();
                    f.edited = Some((
                        patch["customSchemaUrn"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        patch["blankValuePolicy"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        patch["refuseInactiveCreate"].as_bool().unwrap_or(false),
                    ));
                    return settings_page(st, s, settings_layout(s), status, f).await;
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }
    if name.is_empty() && button == Button::SaveSettings {
        return Ok(see_other("/admin/provisioning/settings?ok=settings"));
    }
    let ty_opt = (!ty.is_empty()).then_some(ty.as_str());
    match d.create_attribute(&p.origin(), &name, ty_opt).await {
        Ok(_) => {
            tracing::info!(attribute = %name, admin = %s.session.username, "custom attribute added in the portal");
            let ok = if settings_saved {
                "settings-attribute"
            } else {
                "attribute"
            };
            Ok(see_other(&format!(
                "/admin/provisioning/settings?{}#custom-attributes",
                query_string(&[("ok", ok), ("name", &name)])
            )))
        }
        Err(e) if e.status() < 500 => {
            let (status, mut f) = refused_form(&e);
            f.add_error = Some(e.message());
            let mut layout = settings_layout(s);
            if settings_saved {
                layout.notices.push("Settings saved.".into());
            }
            settings_page(st, s, layout, status, f).await
        }
        Err(e) => Err(fail(e)),
    }
}

/// `POST /admin/provisioning/settings` ("Save Settings"): saves the settings, and a custom
/// attribute too when its name was entered ([`save`]).
pub async fn save_settings(State(st): State<AppState>, p: Posted) -> Page {
    save(&st, &p, Button::SaveSettings).await
}

/// `POST /admin/provisioning/attributes` ("+ Add Custom Attribute", "Save Changes"): adds
/// the custom attribute, and saves the settings the form holds first when they were
/// changed ([`save`]): a changed custom schema URN is never discarded.
pub async fn add_attribute(State(st): State<AppState>, p: Posted) -> Page {
    save(&st, &p, Button::AddAttribute).await
}
