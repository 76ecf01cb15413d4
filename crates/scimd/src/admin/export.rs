//! Downloads of the provisioning log (`GET /api/v1/provisioning-log?format=csv|jsonl`) and
//! of the audit record (`GET /api/v1/audit?format=csv|jsonl`): every entry matching the
//! filters, newest first, streamed page by page ([`EXPORT_PAGE`] entries per store query)
//! so a large log never sits in memory.
//!
//! - CSV (`text/csv`, RFC 4180): a header row of the entry's field names
//!   ([`CSV_COLUMNS`], [`AUDIT_CSV_COLUMNS`]), CRLF line ends, cells quoted when they hold
//!   `"`, `,`, CR or LF (quotes doubled). Lists of strings (`changedAttributes`,
//!   `warnings`) are joined with `; `; objects and other lists (`actor`, `cause`, `changes`,
//!   `target`) are their JSON text. A cell that starts with `=`, `+`, `-`, `@`, TAB or CR
//!   gets a `'` in front, so a spreadsheet never runs it as a formula (CSV injection: names
//!   and details come from identity providers).
//! - JSON Lines (`application/x-ndjson`): one entry object per line, as the JSON listing
//!   shows them.
//!
//! The export is a snapshot: entries written after the request started are left out (the
//! `until` bound is capped at the start time), so paging cannot repeat or skip entries
//! while provisioning goes on. The first page is read before the response starts, so a
//! failing store still gets a JSON error; a failure later aborts the transfer (the client
//! sees an incomplete chunked body, never a silently truncated file).

use super::json;
use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use scimd_directory::admin::{AuditFilter, LogFilter};
use scimd_directory::directory::Directory;
use scimd_directory::DirectoryError;
use serde_json::Value;
use time::OffsetDateTime;

/// Entries read per store query during an export.
pub const EXPORT_PAGE: u64 = 1000;

/// The CSV columns, in order: the header names are the keys of the JSON entries.
pub const CSV_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "tokenName",
    "method",
    "path",
    "resourceType",
    "resourceId",
    "resourceName",
    "outcome",
    "status",
    "detail",
    "changedAttributes",
    "warnings",
    "txn",
    "actor",
    "cause",
    "changes",
];

/// The audit download's CSV columns, in order: the keys of the JSON audit records.
pub const AUDIT_CSV_COLUMNS: &[&str] = &[
    "seq", "time", "txn", "actor", "source", "address", "action", "target", "outcome", "detail",
    "changes", "count", "cause",
];

/// What a download reads: the provisioning log or the audit record, filtered.
#[derive(Debug, Clone)]
pub enum Feed {
    /// Provisioning-log entries.
    Log(LogFilter),
    /// Audit records.
    Audit(AuditFilter),
}

impl Feed {
    /// The CSV columns.
    fn columns(&self) -> &'static [&'static str] {
        match self {
            Feed::Log(_) => CSV_COLUMNS,
            Feed::Audit(_) => AUDIT_CSV_COLUMNS,
        }
    }

    /// The file name before its time stamp.
    fn file_name(&self) -> &'static str {
        match self {
            Feed::Log(_) => "provisioning-log",
            Feed::Audit(_) => "audit",
        }
    }

    /// Bounds the feed to entries before `cap` (a snapshot of the moment it started).
    fn cap_until(&mut self, cap: OffsetDateTime) {
        let until = match self {
            Feed::Log(f) => &mut f.window.until,
            Feed::Audit(f) => &mut f.window.until,
        };
        *until = Some(until.map_or(cap, |u| u.min(cap)));
    }

    /// `limit` entries after skipping `offset`, as JSON objects, with the total matching.
    pub async fn page(
        &self,
        d: &Directory,
        tenant: &str,
        (offset, limit): (u64, u64),
    ) -> Result<(u64, Vec<Value>), DirectoryError> {
        Ok(match self {
            Feed::Log(f) => {
                let (n, v) = d.records(tenant, f, offset, limit).await?;
                (n, v.iter().map(json::log_entry).collect())
            }
            Feed::Audit(f) => {
                let (n, v) = d.records(tenant, f, offset, limit).await?;
                (n, v.iter().map(json::audit_entry).collect())
            }
        })
    }
}

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON Lines: one JSON object per line.
    JsonLines,
}

impl ExportFormat {
    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::JsonLines => "application/x-ndjson",
        }
    }
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
        }
    }
}

/// One CSV cell: the value as text (`null` empty, lists of strings joined with `; `, other
/// lists and objects as JSON text), guarded against formula injection, quoted when RFC
/// 4180 requires it.
pub fn csv_cell(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    csv_quote(&formula_guard(text))
}

/// Prefixes `'` to text a spreadsheet would evaluate (starting with `=`, `+`, `-`, `@`,
/// TAB or CR).
pub fn formula_guard(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Quotes a cell when it holds `"`, `,`, CR or LF (RFC 4180 §2), doubling inner quotes.
pub fn csv_quote(text: &str) -> String {
    if text.contains(['"', ',', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The CSV header row of `columns`, CRLF-terminated.
pub fn csv_header(columns: &[&str]) -> String {
    let mut s = columns.join(",");
    s.push_str("\r\n");
    s
}

/// One entry as a CSV row of `columns`, CRLF-terminated.
pub fn csv_row(columns: &[&str], entry: &Value) -> String {
    let mut s = columns
        .iter()
        .map(|k| csv_cell(entry.get(*k).unwrap_or(&Value::Null)))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str("\r\n");
    s
}

fn render_page(format: ExportFormat, columns: &[&str], entries: &[Value]) -> String {
    let mut out = String::new();
    for e in entries {
        match format {
            ExportFormat::Csv => out.push_str(&csv_row(columns, e)),
            ExportFormat::JsonLines => {
                out.push_str(&serde_json::to_string(&e).unwrap_or_else(|_| "{}".into()));
                out.push('\n');
            }
        }
    }
    out
}

struct Export {
    directory: Directory,
    tenant: String,
    feed: Feed,
    /// Entries sent so far (the offset of the next page).
    offset: u64,
    format: ExportFormat,
    /// Rendered text waiting to be sent (header row and first page).
    pending: Option<String>,
    done: bool,
}

impl Export {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Export)> {
        if let Some(p) = self.pending.take() {
            return Some((Ok(Bytes::from(p)), self));
        }
        if self.done {
            return None;
        }
        let page = self
            .feed
            .page(&self.directory, &self.tenant, (self.offset, EXPORT_PAGE))
            .await;
        match page {
            Ok((_, entries)) => {
                self.offset += entries.len() as u64;
                self.done = (entries.len() as u64) < EXPORT_PAGE;
                if entries.is_empty() {
                    return None;
                }
                let text = render_page(self.format, self.feed.columns(), &entries);
                Some((Ok(Bytes::from(text)), self))
            }
            Err(e) => {
                tracing::error!(error = %e.message(), feed = self.feed.file_name(), "export failed part way; the transfer is aborted");
                self.done = true;
                Some((Err(std::io::Error::other(e.message())), self))
            }
        }
    }
}

/// Answers a download of every entry of `tenant` the `feed` gives.
///
/// Errors: a store failure on the first page (500).
pub async fn download(
    directory: Directory,
    tenant: String,
    mut feed: Feed,
    format: ExportFormat,
) -> Result<Response, DirectoryError> {
    let started = scimd_directory::render::now();
    feed.cap_until(started + time::Duration::microseconds(1));
    let (_, first) = feed.page(&directory, &tenant, (0, EXPORT_PAGE)).await?;
    let offset = first.len() as u64;
    let done = (first.len() as u64) < EXPORT_PAGE;
    let mut pending = match format {
        ExportFormat::Csv => csv_header(feed.columns()),
        ExportFormat::JsonLines => String::new(),
    };
    pending.push_str(&render_page(format, feed.columns(), &first));
    let file_name = feed.file_name();
    let export = Export {
        directory,
        tenant,
        feed,
        offset,
        format,
        pending: Some(pending),
        done,
    };
    let stream = futures_util::stream::unfold(export, Export::next_chunk);
    let mut res = Response::new(Body::from_stream(stream));
    *res.status_mut() = StatusCode::OK;
    let stamp = started
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{file_name}-{stamp}.{}\"",
        format.extension()
    )) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // A large log streams for longer than the request time limit allows a request.
    res.extensions_mut().insert(crate::net::Unbounded);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells() {
        assert_eq!(csv_cell(&json!(null)), "");
        assert_eq!(csv_cell(&json!(201)), "201");
        assert_eq!(csv_cell(&json!("plain")), "plain");
        assert_eq!(csv_cell(&json!("a,b")), "\"a,b\"");
        assert_eq!(csv_cell(&json!("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell(&json!("two\nlines")), "\"two\nlines\"");
        assert_eq!(
            csv_cell(&json!(["emails", "name.givenName"])),
            "emails; name.givenName"
        );
        assert_eq!(csv_cell(&json!([])), "");
    }

    #[test]
    fn formula_injection() {
        assert_eq!(
            csv_cell(&json!("=HYPERLINK(\"x\")")),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(csv_cell(&json!("+1")), "'+1");
        assert_eq!(csv_cell(&json!("-2")), "'-2");
        assert_eq!(csv_cell(&json!("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(csv_cell(&json!("\tx")), "'\tx");
        assert_eq!(csv_cell(&json!("a=b")), "a=b");
        assert_eq!(csv_cell(&json!(["=x", "y"])), "'=x; y");
    }

    #[test]
    fn rows() {
        assert!(csv_header(CSV_COLUMNS).starts_with("seq,time,tokenName,"));
        assert!(csv_header(CSV_COLUMNS).ends_with("warnings,txn,actor,cause,changes\r\n"));
        let row = csv_row(
            CSV_COLUMNS,
            &json!({"seq": 3, "outcome": "rejected", "detail": "bad, very", "warnings": ["w1", "w2"]}),
        );
        assert_eq!(row, "3,,,,,,,,rejected,,\"bad, very\",,w1; w2,,,,\r\n");
        let row = csv_row(
            &["actor", "changes"],
            &json!({"actor": {"type": "token", "name": "e"}, "changes": [{"attribute": "title", "before": null, "after": "=x"}]}),
        );
        assert_eq!(
            row,
            "\"{\"\"type\"\":\"\"token\"\",\"\"name\"\":\"\"e\"\"}\",\"[{\"\"attribute\"\":\"\"title\"\",\"\"before\"\":null,\"\"after\"\":\"\"=x\"\"}]\"\r\n"
        );
    }
}
