//! The audit page (`/audit`): administrative actions from the audit record — settings,
//! attributes, tokens, administrators, local users and groups, permanent deletes, sign-ins
//! and failed sign-ins — filtered (action, actor, channel, time range, text, transaction),
//! paged, newest first, with each record's values before and after; and its downloads
//! (`/audit/export`, CSV or JSON Lines, as `GET /api/v1/audit?format=`).

use super::common::{pager, query_string, with_query, Pager, PAGE_SIZE, Q};
use super::log::parse_local;
use super::records::RecordRow;
use crate::admin::export::{download, ExportFormat, Feed};
use crate::portal::frame::{directory_error, ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::admin::AuditFilter;
use scimd_directory::changes::AuditAction;
use scimd_directory::store::{Channel, Window};

/// The audit page.
#[derive(Template)]
#[template(path = "portal/audit.html")]
pub struct AuditPage {
    layout: Layout,
    /// Every action, and whether it is the one filtered on.
    actions: Vec<(String, bool)>,
    /// The channels administrators act through, and whether it is the one filtered on.
    sources: Vec<(String, bool)>,
    f: AuditForm,
    error: Option<String>,
    rows: Vec<RecordRow>,
    pager: Pager,
    txn_base: String,
    csv_href: String,
    jsonl_href: String,
}

/// The filter values as the form shows them again.
#[derive(Debug, Clone, Default)]
pub struct AuditForm {
    action: String,
    actor: String,
    source: String,
    since: String,
    until: String,
    text: String,
    txn: String,
}

impl AuditForm {
    /// The query pairs that keep these filters (paging and download links).
    fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("source", &self.source),
            ("since", &self.since),
            ("until", &self.until),
            ("text", &self.text),
            ("txn", &self.txn),
        ]
    }
}

/// The channels of administrative actions (SCIM writes are not audit records).
const SOURCES: [Channel; 3] = [Channel::Portal, Channel::Api, Channel::Cli];

/// The filters of `q`, the form's values and what was wrong with them (a filter that
/// cannot be read is left out and named, never silently widened without a word).
fn audit_filters(q: &Q) -> (AuditFilter, AuditForm, Option<String>) {
    let mut error = None;
    let action_s = q.get("action");
    let action = AuditAction::parse(&action_s);
    if action.is_none() && !action_s.is_empty() {
        error = Some(format!("Unknown action “{action_s}”."));
    }
    let source_s = q.get("source").to_ascii_lowercase();
    let source = Channel::parse(&source_s).filter(|c| SOURCES.contains(c));
    if source.is_none() && !source_s.is_empty() {
        error = Some(format!("Unknown channel “{source_s}”: portal, api or cli."));
    }
    let (since_s, until_s) = (q.get("since"), q.get("until"));
    let (since, until) = (parse_local(&since_s), parse_local(&until_s));
    if since.is_none() && !since_s.is_empty() || until.is_none() && !until_s.is_empty() {
        error = Some("Times must look like 2026-11-30T08:00 (UTC).".into());
    }
    let (actor, text, txn) = (q.get("actor"), q.get("text"), q.get("txn"));
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    let filter = AuditFilter {
        action,
        actor: some(&actor),
        source,
        window: Window {
            since,
            until,
            text: some(&text),
            txn: some(&txn),
        },
    };
    let form = AuditForm {
        action: action.map_or("", AuditAction::as_str).to_string(),
        actor,
        source: source.map_or("", Channel::as_str).to_string(),
        since: since_s,
        until: until_s,
        text,
        txn,
    };
    (filter, form, error)
}

/// `GET /audit`: filters (action, actor, channel, time range, text, transaction), paged,
/// newest first.
pub async fn audit(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let layout = s.page("Audit", "audit").crumb("Audit", "");
    let (filter, f, error) = audit_filters(&q);
    let page = q.page();
    let (total, entries) = st
        .directory
        .records(s.tenant(), &filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await
        .map_err(|e| directory_error(e, s.layout("Error", "audit"), "Something went wrong"))?;
    let rows: Vec<RecordRow> = entries
        .iter()
        .map(|e| RecordRow::of(&e.record, None))
        .collect();
    let pairs = f.pairs();
    let pager = pager("/audit", &pairs, page, rows.len(), total, "records");
    let export = |fmt: &str| {
        let mut p = pairs.to_vec();
        p.insert(0, ("format", fmt));
        with_query("/audit/export", &query_string(&p))
    };
    let (csv_href, jsonl_href) = (export("csv"), export("jsonl"));
    ok(render(
        StatusCode::OK,
        &AuditPage {
            layout,
            actions: AuditAction::ALL
                .iter()
                .map(|a| (a.as_str().to_string(), a.as_str() == f.action))
                .collect(),
            sources: SOURCES
                .iter()
                .map(|c| (c.as_str().to_string(), c.as_str() == f.source))
                .collect(),
            f,
            error,
            rows,
            pager,
            txn_base: "/audit".into(),
            csv_href,
            jsonl_href,
        },
    ))
}

/// `GET /audit/export?format=csv|jsonl&...`: every audit record matching the filters, as
/// the admin API's download.
pub async fn audit_export(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let (filter, _, _) = audit_filters(&q);
    let format = match q.get("format").as_str() {
        "jsonl" => ExportFormat::JsonLines,
        _ => ExportFormat::Csv,
    };
    download(
        st.directory.clone(),
        s.tenant().to_string(),
        Feed::Audit(filter),
        format,
    )
    .await
    .map_err(|e| {
        directory_error(
            e,
            s.layout("Download failed", "audit"),
            "The download failed",
        )
    })
}
