//! What the portal's pages share: query parameters, paging links, number and time formats,
//! the text of values, error pages and the notices of a redirect.

use crate::portal::frame::{directory_error, error_page, see_other, Layout, Page};
use crate::portal::session::Signed;
use crate::query::decode_query;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use scimd_directory::store::Source;
use scimd_directory::DirectoryError;
use serde_json::Value;

/// The confirmation page of a deletion (`portal/delete.html`): what goes with it, and a
/// form that posts the deletion (with the session's CSRF token) or cancels.
#[derive(Template)]
#[template(path = "portal/delete.html")]
pub(super) struct DeletePage {
    pub(super) layout: Layout,
    pub(super) what: Deleted,
    /// Where the form posts the deletion.
    pub(super) action: String,
    /// Where Cancel leads.
    pub(super) cancel: String,
}

/// What a [`DeletePage`] deletes, with what its explanation names.
pub(super) enum Deleted {
    /// A user, permanently (`state`: its state).
    User { user_name: String, state: String },
    /// A local user, softly: it becomes deprovisioned and can be enabled again.
    SoftUser { user_name: String },
    /// A local group (`members`: its member count, formatted).
    Group { name: String, members: String },
    /// A custom attribute (`count_text`: how many users hold a value; `urn`: the custom
    /// schema; `path`: the attribute's SCIM path).
    Attribute {
        name: String,
        count_text: String,
        urn: String,
        path: String,
    },
}

impl Deleted {
    /// The page's heading.
    pub(super) fn question(&self) -> String {
        match self {
            Deleted::User { user_name, .. } => format!("Delete {user_name} permanently?"),
            Deleted::SoftUser { user_name } => format!("Soft delete {user_name}?"),
            Deleted::Group { name, .. } => format!("Delete group {name}?"),
            Deleted::Attribute { name, .. } => format!("Delete custom attribute {name}?"),
        }
    }

    /// The label of the confirm button.
    pub(super) fn button(&self) -> &'static str {
        match self {
            Deleted::User { .. } => "Delete permanently",
            Deleted::SoftUser { .. } => "Soft delete",
            Deleted::Group { .. } => "Delete group",
            Deleted::Attribute { .. } => "Delete attribute",
        }
    }
}

/// Rows per page of the paged lists.
pub(super) const PAGE_SIZE: u64 = 50;

/// Decoded query parameters.
pub(super) struct Q(pub(super) Vec<(String, String)>);

impl Q {
    pub(super) fn new(raw: Option<String>) -> Q {
        Q(decode_query(raw.as_deref()))
    }
    pub(super) fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }
    pub(super) fn page(&self) -> u64 {
        self.get("page")
            .parse::<u64>()
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }
}

/// A query string of the non-empty pairs.
/// The answer to a portal deletion of the `what` (`"user"`, `"group"`) with id `id` and name
/// `name`, listed on the page `list` (`"users"`, `"groups"`): when `result` is Ok, a
/// redirect to `/{list}` with the notice `{what}-deleted` and the name; else the directory's
/// error page headed "The {what} was not deleted".
#[allow(clippy::result_large_err)] // both variants are responses
pub(super) fn deleted(
    result: Result<(), DirectoryError>,
    s: &Signed,
    (what, list): (&str, &'static str),
    (id, name): (&str, &str),
) -> Page {
    match result {
        Ok(()) => {
            tracing::info!(id, admin = %s.session.username, "{what} deleted permanently in the portal");
            let notice = format!("{what}-deleted");
            Ok(see_other(&format!(
                "/{list}?{}",
                query_string(&[("ok", &notice), ("name", name)])
            )))
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", list),
            &format!("The {what} was not deleted"),
        )),
    }
}

pub(super) fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

pub(super) fn with_query(path: &str, q: &str) -> String {
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// Paging links of a list.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// "Showing 1–50 of 1,234".
    pub summary: String,
    /// Link to the previous page.
    pub prev: Option<String>,
    /// Link to the next page.
    pub next: Option<String>,
}

pub(super) fn pager(
    path: &str,
    base: &[(&str, &str)],
    page: u64,
    shown: usize,
    total: u64,
    noun: &str,
) -> Pager {
    let first = (page - 1) * PAGE_SIZE + 1;
    let summary = if total == 0 {
        format!("No {noun}")
    } else if shown == 0 {
        format!(
            "Page {page} is past the end: {} {noun}",
            group_digits(total)
        )
    } else {
        let pages = total.div_ceil(PAGE_SIZE);
        format!(
            "Showing {}–{} of {} {noun} (page {page} of {})",
            group_digits(first),
            group_digits(first + shown as u64 - 1),
            group_digits(total),
            group_digits(pages)
        )
    };
    let link = |p: u64| {
        let ps = p.to_string();
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        if p > 1 {
            pairs.push(("page", &ps));
        }
        with_query(path, &query_string(&pairs))
    };
    Pager {
        summary,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page * PAGE_SIZE < total).then(|| link(page + 1)),
    }
}

/// `1234567` as `1,234,567`.
pub(super) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 UTC timestamp (`meta.created` of a SCIM document) as `2026-11-30 11:22:33`.
pub(super) fn when(rfc3339: &str) -> String {
    let s = rfc3339.replace('T', " ");
    s.get(..19).map(str::to_string).unwrap_or(s)
}

/// A time as `2026-11-30 11:22:33` (UTC).
pub(super) fn fmt_time(t: time::OffsetDateTime) -> String {
    when(&scimd_directory::render::rfc3339(t))
}

/// The text of a SCIM value as the pages show it: strings as they are, lists joined with
/// `, `, complex values by their `display`, `displayName`, `value` or `formatted`.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a
            .iter()
            .map(text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => o
            .get("display")
            .or_else(|| o.get("displayName"))
            .or_else(|| o.get("value"))
            .or_else(|| o.get("formatted"))
            .map(text)
            .unwrap_or_default(),
    }
}

/// How a source is named on the pages.
pub(super) fn source_text(s: Source) -> &'static str {
    match s {
        Source::Scim => "SCIM (Entra ID)",
        Source::Local => "local",
    }
}

/// What a page shows when the `what` (`User`, `Group`, `Custom attribute`) it is about
/// could not be loaded: "not found" for a 404, else the directory's error ([`directory_error`])
/// in the frame of navigation entry `nav`.
pub(super) fn load_error<'a>(
    s: &'a Signed,
    nav: &'static str,
    what: &'a str,
) -> impl Fn(DirectoryError) -> Response + 'a {
    move |e| {
        if e.status() == 404 {
            not_found(s.layout(&format!("{what} not found"), nav), what)
        } else {
            directory_error(e, s.layout("Error", nav), "Something went wrong")
        }
    }
}

/// The answer to a form whose directory operation came to `r`: on success a redirect to
/// `to`; on failure the error page headed `heading` in the frame of navigation entry `nav`.
#[allow(clippy::result_large_err)] // both variants are responses
pub(super) fn redirect_or_error<T>(
    r: Result<T, DirectoryError>,
    s: &Signed,
    (nav, to): (&'static str, &str),
    heading: &str,
) -> Page {
    r.map(|_| see_other(to))
        .map_err(|e| directory_error(e, s.layout("Error", nav), heading))
}

pub(super) fn not_found(layout: Layout, what: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        layout,
        &format!("{what} not found"),
        &format!(
            "There is no such {}: it may have been deleted.",
            what.to_lowercase()
        ),
    )
}

/// The success message of a redirect's `ok` code.
pub(super) fn notice(q: &Q) -> Option<String> {
    let name = q.get("name");
    Some(match q.get("ok").as_str() {
        "token-revoked" => format!("Token “{name}” revoked: it no longer authenticates."),
        "client-revoked" => format!(
            "OAuth client “{name}” revoked: it gets no more access tokens, and the ones it holds no longer authenticate."
        ),
        "settings" => "Settings saved.".to_string(),
        "attribute" => format!("Custom attribute “{name}” added."),
        "attribute-deleted" => format!(
            "Custom attribute “{name}” deleted; values removed from {} users.",
            q.get("n")
        ),
        "user-created" => "Local user created.".to_string(),
        "user-deleted" => format!("User “{name}” deleted permanently."),
        "user-updated" => "User saved.".to_string(),
        "user-disabled" => "User disabled: it stays in the directory and in its groups.".to_string(),
        "user-enabled" => "User enabled.".to_string(),
        "user-soft-deleted" => "User soft-deleted: it is deprovisioned and hidden from SCIM clients; Enable brings it back.".to_string(),
        "group-renamed" => "Group renamed.".to_string(),
        "settings-attribute" => format!("Settings saved and custom attribute “{name}” added."),
        "group-created" => "Local group created.".to_string(),
        "group-deleted" => format!("Group “{name}” deleted."),
        "member-added" => "Member added.".to_string(),
        "member-already" => format!("“{name}” is already a member: nothing changed."),
        "member-removed" => "Member removed.".to_string(),
        "password" => "Password changed; your other sessions were signed out.".to_string(),
        "tenant-disabled" => format!("Tenant “{name}” disabled: its SCIM endpoints, admin API and portal answer 403 until it is enabled again; nothing of it was lost."),
        "tenant-enabled" => format!("Tenant “{name}” enabled."),
        "tenant-deleting" => format!("Tenant “{name}” is being deleted: its paths answer 404, and its data is removed in the background."),
        _ => return None,
    })
}

pub(super) fn noticed(mut l: Layout, q: &Q) -> Layout {
    if let Some(n) = notice(q) {
        l.notices.push(n);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(100000), "100,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn paging_links() {
        let p = pager(
            "/users",
            &[("q", "ann"), ("state", "")],
            1,
            50,
            120,
            "users",
        );
        assert_eq!(p.prev, None);
        assert_eq!(p.next.as_deref(), Some("/users?q=ann&page=2"));
        assert!(p.summary.contains("1–50 of 120"), "{}", p.summary);
        let p = pager("/users", &[], 3, 20, 120, "users");
        assert_eq!(p.prev.as_deref(), Some("/users?page=2"));
        assert_eq!(p.next, None);
        let p = pager("/users", &[], 2, 50, 100, "users");
        assert_eq!(p.prev.as_deref(), Some("/users"));
    }
}
