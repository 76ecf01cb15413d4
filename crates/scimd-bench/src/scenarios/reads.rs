//! The read scenarios: `reads` (lookups by userName, externalId and work email, GET by id,
//! paging) and the plain userName lookup of `baseline` and `compare`.

use crate::args::RunArgs;
use crate::client::Client;
use crate::scim::{eq_filter, external_id, first_id, username_filter_path, work_email, Rng};
use crate::stats::Stats;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;

/// A request kind of the `reads` scenario (`--kinds`).
#[derive(Clone, Copy, PartialEq)]
pub enum ReadKind {
    UserName,
    ExternalId,
    Email,
    Id,
    Page,
    Page1,
    PageDeep,
}

/// The kinds of `--kinds` (comma-separated); an error names an unknown one.
pub fn parse_kinds(s: &str) -> Result<Vec<ReadKind>, String> {
    s.split(',')
        .map(|k| match k.trim() {
            "username" => Ok(ReadKind::UserName),
            "externalid" => Ok(ReadKind::ExternalId),
            "email" => Ok(ReadKind::Email),
            "id" => Ok(ReadKind::Id),
            "page" => Ok(ReadKind::Page),
            "page1" => Ok(ReadKind::Page1),
            "pagedeep" => Ok(ReadKind::PageDeep),
            other => Err(format!("unknown read kind {other:?}")),
        })
        .collect()
}

/// A worker of `reads`: cycles through `kinds` with users picked at random until the run
/// is over.
pub async fn reads_worker(
    c: Client,
    a: Arc<RunArgs>,
    t: usize,
    w: usize,
    kinds: Arc<Vec<ReadKind>>,
) -> Stats {
    let mut s = Stats::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (((t as u64) << 32) | (w as u64 + 1)));
    let mut ids: Vec<String> = Vec::new();
    let mut cursor = 1usize;
    let mut total: Option<usize> = None;
    let mut n = w; // start workers on different kinds
    let p = &a.prefix;
    let t = if a.shared_users { 0 } else { t };
    loop {
        let kind = kinds[n % kinds.len()];
        n += 1;
        let i = a.user_offset + rng.below(a.users);
        let (name, path) = match kind {
            ReadKind::UserName => ("user_lookup_username", username_filter_path(p, t, i)),
            ReadKind::ExternalId => (
                "user_lookup_externalid",
                format!(
                    "/Users?filter={}",
                    eq_filter("externalId", &external_id(p, t, i))
                ),
            ),
            ReadKind::Email => (
                "user_lookup_work_email",
                format!(
                    "/Users?filter={}",
                    eq_filter("emails[type eq \"work\"].value", &work_email(p, t, i))
                ),
            ),
            ReadKind::Id => {
                if ids.is_empty() {
                    // learn some ids first
                    ("user_lookup_username", username_filter_path(p, t, i))
                } else {
                    (
                        "user_get_by_id",
                        format!("/Users/{}", ids[rng.below(ids.len())]),
                    )
                }
            }
            ReadKind::Page => (
                "users_page_through",
                format!("/Users?startIndex={cursor}&count={}", a.page_size),
            ),
            ReadKind::Page1 => (
                "users_page_first",
                format!("/Users?startIndex=1&count={}", a.page_size),
            ),
            ReadKind::PageDeep => {
                let size = a.page_size.max(1);
                let page = match (a.deep_page, total) {
                    (Some(pg), _) => Some(pg.max(1)),
                    (None, Some(tot)) => Some(((tot * 9 / 10) / size).max(1)),
                    (None, None) => None,
                };
                match page {
                    Some(pg) => (
                        "users_page_deep",
                        format!("/Users?startIndex={}&count={size}", (pg - 1) * size + 1),
                    ),
                    // learn totalResults first (recorded as a first page)
                    None => (
                        "users_page_first",
                        format!("/Users?startIndex=1&count={size}"),
                    ),
                }
            }
        };
        let Some(r) = c.send(&mut s, name, Method::GET, &path, None).await else {
            break;
        };
        let Ok(r) = r else { continue };
        if let Some(tr) = r.body.get("totalResults").and_then(Value::as_u64) {
            total = Some(tr as usize);
        }
        match name {
            "user_lookup_username" => {
                if let Some(id) = first_id(&r.body) {
                    if ids.len() < 10_000 {
                        ids.push(id);
                    }
                }
            }
            "users_page_through" => {
                let got = r
                    .body
                    .get("Resources")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                cursor += a.page_size;
                if got == 0 || total.is_some_and(|tot| cursor > tot) {
                    cursor = 1;
                }
            }
            _ => {}
        }
    }
    s
}

/// The userName lookup only (scenarios `baseline` and `compare`).
pub async fn lookup_worker(
    c: Client,
    a: Arc<RunArgs>,
    t: usize,
    w: usize,
    kind: &'static str,
) -> Stats {
    let mut s = Stats::default();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (((t as u64) << 32) | (w as u64 + 1)));
    let t = if a.shared_users { 0 } else { t };
    loop {
        let i = a.user_offset + rng.below(a.users);
        if c.send(
            &mut s,
            kind,
            Method::GET,
            &username_filter_path(&a.prefix, t, i),
            None,
        )
        .await
        .is_none()
        {
            break;
        }
    }
    s
}
