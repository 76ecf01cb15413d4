//! The writers: what each one wrote and had acknowledged (its ledger, kept across rounds)
//! and the writes themselves.

use crate::client::{error_detail, timed_exchange};
use crate::scim::{
    add_members_patch, group_body, group_name, id_of, user_body, user_name, Rng, PATCH_SCHEMA,
};
use crate::stats::Stats;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A user whose POST was acknowledged.
#[derive(Clone)]
pub struct UserRec {
    pub user_name: String,
    pub id: String,
    /// The last acknowledged title (the POST's, or the last acknowledged PATCH's).
    pub title: String,
    /// Titles of later PATCHes that got no answer: they may or may not have landed.
    pub maybe_titles: Vec<String>,
    /// Acknowledged title PATCHes of this user (for the lost count).
    pub acked_patches: u64,
}

/// A group whose POST was acknowledged.
#[derive(Clone)]
pub struct GroupRec {
    pub name: String,
    pub id: String,
    /// Members added by acknowledged PATCHes.
    pub members: BTreeSet<String>,
}

/// One writer's acknowledged writes, kept across rounds.
pub struct Ledger {
    pub w: usize,
    pub rng: Rng,
    pub users: Vec<UserRec>,
    pub next_user: usize,
    pub next_title: usize,
    /// Names of this round's user POSTs that got no 2xx (landed or not).
    pub unacked_users: Vec<String>,
    pub groups: Vec<GroupRec>,
    pub next_group: usize,
    /// Names of this round's group POSTs that got no 2xx (landed or not).
    pub unacked_groups: Vec<String>,
}

/// One writer's counts for one round.
#[derive(Default)]
pub struct RoundCounts {
    pub stats: Stats,
    pub acked: BTreeMap<&'static str, u64>,
    /// No response, and the kill had been decided: in flight at the kill.
    pub in_flight_at_kill: u64,
    /// Non-2xx answers, and transport errors before the kill.
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Kinds of write, as named in the report.
const WRITE_KINDS: [&str; 4] = ["user_post", "title_patch", "group_post", "member_patch"];

impl RoundCounts {
    /// Counts an error; the first one is kept for the report.
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    /// Acknowledged writes, all kinds.
    pub fn acked_total(&self) -> u64 {
        self.acked.values().sum()
    }

    /// `{"user_post": N, "title_patch": N, "group_post": N, "member_patch": N, "total": N}`:
    /// the acknowledged writes by kind, for the report.
    pub fn acked_report(&self) -> Value {
        let mut acked = serde_json::Map::new();
        for kind in WRITE_KINDS {
            acked.insert(
                kind.into(),
                json!(self.acked.get(kind).copied().unwrap_or(0)),
            );
        }
        acked.insert("total".into(), json!(self.acked_total()));
        Value::Object(acked)
    }

    /// Adds another writer's counts to these.
    pub fn merge(&mut self, o: RoundCounts) {
        self.stats.merge(o.stats);
        for (k, v) in o.acked {
            *self.acked.entry(k).or_default() += v;
        }
        self.in_flight_at_kill += o.in_flight_at_kill;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// What one round's writers share.
pub struct RoundCtx {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT/scim/v2`
    pub scim: String,
    pub auth: String,
    pub prefix: String,
    /// Set just before the kill: no new request is started after it.
    pub stop: AtomicBool,
}

enum Outcome {
    /// 2xx with this body.
    Acked(Value),
    /// A non-2xx answer, or no answer.
    Unacked,
}

/// Sends one write; `None` when the round is over (nothing sent).
async fn write(
    ctx: &RoundCtx,
    rc: &mut RoundCounts,
    kind: &'static str,
    method: Method,
    path: &str,
    body: &Value,
) -> Option<Outcome> {
    if ctx.stop.load(Ordering::SeqCst) {
        return None;
    }
    let rb = ctx
        .http
        .request(method, format!("{}{path}", ctx.scim))
        .header("Authorization", &ctx.auth)
        .header("Content-Type", "application/scim+json")
        .body(serde_json::to_vec(body).expect("json"));
    let (elapsed, res) = timed_exchange(rb).await;
    let error = match res {
        Ok((200..=299, body)) => {
            rc.stats.record(kind, elapsed, None);
            *rc.acked.entry(kind).or_default() += 1;
            return Some(Outcome::Acked(body));
        }
        Ok((status, body)) => format!("{kind}: HTTP {status} {}", error_detail(&body)),
        Err(_) if ctx.stop.load(Ordering::SeqCst) => {
            // The server was killed under it: neither acknowledged nor an error.
            rc.in_flight_at_kill += 1;
            return Some(Outcome::Unacked);
        }
        Err(e) => format!("{kind}: {e}"),
    };
    rc.stats.record(kind, elapsed, Some(error.clone()));
    rc.error(error);
    Some(Outcome::Unacked)
}

/// Adds 1–3 of the writer's acknowledged users (not yet acknowledged members) to group `g`.
async fn add_members(ctx: &RoundCtx, rc: &mut RoundCounts, l: &mut Ledger, g: usize) -> bool {
    let want = 1 + l.rng.below(3);
    let mut ids = BTreeSet::new();
    for _ in 0..want * 2 {
        let u = &l.users[l.rng.below(l.users.len())];
        if !l.groups[g].members.contains(&u.id) {
            ids.insert(u.id.clone());
        }
        if ids.len() == want {
            break;
        }
    }
    if ids.is_empty() {
        return true;
    }
    let body = add_members_patch(ids.iter().map(String::as_str));
    let path = format!("/Groups/{}", l.groups[g].id);
    match write(ctx, rc, "member_patch", Method::PATCH, &path, &body).await {
        None => false,
        Some(Outcome::Acked(_)) => {
            l.groups[g].members.extend(ids);
            true
        }
        Some(Outcome::Unacked) => true,
    }
}

/// The `id` of the resource a POST's 2xx body (`body`) created; a 2xx without one is counted
/// as an error of `kind` and gives `None`.
fn created_id(rc: &mut RoundCounts, kind: &str, body: &Value) -> Option<String> {
    let id = id_of(body);
    if id.is_none() {
        rc.error(format!("{kind}: 2xx without an id: {body}"));
    }
    id
}

/// One writer: writes as fast as it can until the round's stop flag.
pub async fn writer(ctx: Arc<RoundCtx>, mut l: Ledger) -> (Ledger, RoundCounts) {
    let mut rc = RoundCounts::default();
    let (p, w) = (ctx.prefix.clone(), l.w);
    loop {
        let r = l.rng.below(100);
        let go = if l.users.len() < 3 || r < 55 {
            let i = l.next_user;
            l.next_user += 1;
            let body = user_body(&p, w, i);
            let name = user_name(&p, w, i);
            match write(&ctx, &mut rc, "user_post", Method::POST, "/Users", &body).await {
                None => false,
                Some(Outcome::Acked(b)) => {
                    if let Some(id) = created_id(&mut rc, "user_post", &b) {
                        l.users.push(UserRec {
                            user_name: name,
                            id,
                            title: body["title"].as_str().unwrap_or_default().to_string(),
                            maybe_titles: Vec::new(),
                            acked_patches: 0,
                        });
                    }
                    true
                }
                Some(Outcome::Unacked) => {
                    l.unacked_users.push(name);
                    true
                }
            }
        } else if r < 85 {
            let u = l.rng.below(l.users.len());
            let title = format!("{p}-title-w{w}-{}", l.next_title);
            l.next_title += 1;
            let body = json!({
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "title", "value": title}]
            });
            let path = format!("/Users/{}", l.users[u].id);
            let out = write(&ctx, &mut rc, "title_patch", Method::PATCH, &path, &body);
            match out.await {
                None => false,
                Some(Outcome::Acked(_)) => {
                    let rec = &mut l.users[u];
                    rec.title = title;
                    rec.acked_patches += 1;
                    true
                }
                Some(Outcome::Unacked) => {
                    l.users[u].maybe_titles.push(title);
                    true
                }
            }
        } else if r < 93 || l.groups.is_empty() {
            let g = l.next_group;
            l.next_group += 1;
            let name = group_name(&p, w, g);
            let body = group_body(&name);
            match write(&ctx, &mut rc, "group_post", Method::POST, "/Groups", &body).await {
                None => false,
                Some(Outcome::Acked(b)) => match created_id(&mut rc, "group_post", &b) {
                    Some(id) => {
                        l.groups.push(GroupRec {
                            name,
                            id,
                            members: BTreeSet::new(),
                        });
                        let g = l.groups.len() - 1;
                        add_members(&ctx, &mut rc, &mut l, g).await
                    }
                    None => true,
                },
                Some(Outcome::Unacked) => {
                    l.unacked_groups.push(name);
                    true
                }
            }
        } else {
            let g = l.rng.below(l.groups.len());
            add_members(&ctx, &mut rc, &mut l, g).await
        };
        if !go {
            break;
        }
    }
    (l, rc)
}
