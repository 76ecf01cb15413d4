//! Admin › System › Attributes (`/admin/attributes`): every attribute of the User resource
//! type, and the deletion of custom ones.

use super::common::{group_digits, load_error, noticed, query_string, DeletePage, Deleted, Q};
use crate::portal::frame::{directory_error, ok, render, see_other, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use scim_proto::schema::AttributeDef;
use scimd_directory::admin::CustomAttribute;

/// A custom attribute with the name to enter in Entra ID.
#[derive(Debug, Clone)]
pub struct AttrView {
    pub(super) name: String,
    pub(super) ty: String,
    pub(super) path: String,
}

impl AttrView {
    pub(super) fn of(a: &CustomAttribute) -> AttrView {
        AttrView {
            name: a.name.clone(),
            ty: a.ty.as_str().to_string(),
            path: a.scim_path(),
        }
    }
}

/// One attribute of the Attributes page.
#[derive(Debug, Clone)]
pub struct AttrRow {
    name: String,
    kind: String,
    kind_class: String,
    data_type: String,
    schema: String,
    delete_href: Option<String>,
}

/// Admin › System › Attributes.
#[derive(Template)]
#[template(path = "portal/attributes.html")]
pub struct AttributesPage {
    layout: Layout,
    urn: String,
    rows: Vec<AttrRow>,
}

fn def_rows(out: &mut Vec<AttrRow>, defs: &[AttributeDef], prefix: &str, kind: &str, schema: &str) {
    for a in defs {
        let name = if prefix.is_empty() {
            a.name.clone()
        } else {
            format!("{prefix}.{}", a.name)
        };
        let mut ty = a.ty.as_str().to_string();
        if a.multi_valued {
            ty.push_str(", multi-valued");
        }
        out.push(AttrRow {
            name: name.clone(),
            kind: kind.to_string(),
            kind_class: kind.to_ascii_lowercase(),
            data_type: ty,
            schema: schema.to_string(),
            delete_href: None,
        });
        def_rows(out, &a.sub_attributes, &name, kind, schema);
    }
}

/// The frame of the Attributes pages: Admin › System › Attributes, a link only when the
/// page is below it (`title` is not "Attributes"), then the page itself.
fn attributes_layout(s: &Signed, title: &str) -> Layout {
    let layout = s.page(title, "attributes");
    if title == "Attributes" {
        layout.crumb("Attributes", "")
    } else {
        layout
            .crumb("Attributes", "/admin/attributes")
            .crumb(title, "")
    }
}

/// `GET /admin/attributes`.
pub async fn attributes(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(attributes_layout(&s, "Attributes"), &Q::new(q));
    let custom =
        st.directory.custom_schema(s.tenant()).await.map_err(|e| {
            directory_error(e, s.layout("Error", "attributes"), "Something went wrong")
        })?;
    // Custom (IDP) attributes first: they are the ones administrators manage here.
    let mut rows = vec![];
    for a in &custom.attributes {
        rows.push(AttrRow {
            name: a.name.clone(),
            kind: "IDP".into(),
            kind_class: "idp".into(),
            data_type: a.ty.as_str().to_string(),
            schema: a.schema_urn.clone(),
            delete_href: Some(format!(
                "/admin/attributes/{}/delete",
                utf8_percent(&a.name)
            )),
        });
    }
    let common: Vec<AttributeDef> = scim_proto::schema::common_attributes()
        .iter()
        .filter(|a| a.name != "meta")
        .cloned()
        .collect();
    let core = scim_proto::schema::user_schema();
    def_rows(&mut rows, &common, "", "Core", &core.id);
    def_rows(&mut rows, &core.attributes, "", "Core", &core.id);
    let ent = scim_proto::schema::enterprise_user_schema();
    def_rows(&mut rows, &ent.attributes, "", "Enterprise", &ent.id);
    ok(render(
        StatusCode::OK,
        &AttributesPage {
            layout,
            urn: custom.urn,
            rows,
        },
    ))
}

/// Percent-encodes a path segment (attribute names are ASCII letters, digits, `-`, `_`).
fn utf8_percent(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /admin/attributes/{name}/delete`: how many users hold a value, and a confirm button.
pub async fn attribute_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(name): Path<String>,
) -> Page {
    let layout = attributes_layout(&s, &format!("Delete {name}"));
    let d = &st.directory;
    let a = d
        .custom_attribute(s.tenant(), &name)
        .await
        .map_err(load_error(&s, "attributes", "Custom attribute"))?;
    let count_text = match a.users_with_value.unwrap_or(0) {
        0 => "No user holds a value for this attribute.".to_string(),
        1 => "1 user holds a value for this attribute; it will be removed.".to_string(),
        n => format!(
            "{} users hold a value for this attribute; their values will be removed.",
            group_digits(n)
        ),
    };
    ok(render(
        StatusCode::OK,
        &DeletePage {
            layout,
            action: format!("/admin/attributes/{}/delete", utf8_percent(&a.name)),
            cancel: "/admin/attributes".to_string(),
            what: Deleted::Attribute {
                count_text,
                path: a.scim_path(),
                name: a.name,
                urn: a.schema_urn,
            },
        },
    ))
}

/// `POST /admin/attributes/{name}/delete`.
pub async fn delete_attribute(
    State(st): State<AppState>,
    Path(name): Path<String>,
    p: Posted,
) -> Page {
    let s = &p.signed;
    match st.directory.delete_attribute(&p.origin(), &name).await {
        Ok(n) => {
            tracing::info!(attribute = %name, values = n, admin = %s.session.username, "custom attribute deleted in the portal");
            Ok(see_other(&format!(
                "/admin/attributes?{}",
                query_string(&[
                    ("ok", "attribute-deleted"),
                    ("name", &name),
                    ("n", &n.to_string())
                ])
            )))
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "attributes"),
            "The attribute was not deleted",
        )),
    }
}
