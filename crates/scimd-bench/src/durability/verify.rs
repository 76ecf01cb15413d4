//! Verification after a restart: every acknowledged write read back over SCIM, and whether
//! the unacknowledged POSTs landed.

use super::write::{GroupRec, Ledger, UserRec};
use crate::client::{exchange, json_body};
use crate::scim::{eq_filter, resources};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

enum Check {
    /// Writer, index in its users.
    User(usize, usize),
    /// Writer, index in its groups.
    Group(usize, usize),
    /// A user POST that got no 2xx: is it there? (informational)
    UnackedUser(String),
    /// A group POST that got no 2xx: is it there? (informational)
    UnackedGroup(String),
}

enum Verdict {
    /// As acknowledged; for users, the title found.
    Ok(Option<String>),
    /// Acknowledged writes missing: how many, and what.
    Lost(u64, String),
    /// Could not be checked (HTTP errors after retries).
    Unverified(String),
    /// An unacknowledged POST: landed or not.
    Landed(bool),
}

/// GET with retries on transport errors and 5xx; `Ok((status, body))`.
async fn get(http: &reqwest::Client, auth: &str, url: &str) -> Result<(u16, Value), String> {
    let mut last = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        match exchange(http.get(url).header("Authorization", auth)).await {
            Ok((status, b)) if status < 500 => return Ok((status, json_body(b))),
            Ok((status, _)) => last = format!("GET {url}: HTTP {status}"),
            Err(e) => last = format!("GET {url}: {e}"),
        }
    }
    Err(last)
}

async fn check_user(http: &reqwest::Client, auth: &str, scim: &str, u: &UserRec) -> Verdict {
    let allowed = |t: &Value| {
        let t = t.as_str().unwrap_or("");
        t == u.title || u.maybe_titles.iter().any(|m| m == t)
    };
    let lost = |what: String| Verdict::Lost(1 + u.acked_patches, what);
    // By userName.
    let path = format!(
        "{scim}/Users?filter={}",
        eq_filter("userName", &u.user_name)
    );
    let list = match get(http, auth, &path).await {
        Ok((200, b)) => b,
        Ok((s, b)) => return Verdict::Unverified(format!("GET {path}: HTTP {s} {b}")),
        Err(e) => return Verdict::Unverified(e),
    };
    match resources(&list) {
        [] => {
            return lost(format!(
                "user {} ({}): not found by userName",
                u.user_name, u.id
            ))
        }
        [r] if r["id"].as_str() != Some(&u.id) => {
            return lost(format!(
                "user {}: found by userName with id {} instead of {}",
                u.user_name, r["id"], u.id
            ))
        }
        [r] if !allowed(&r["title"]) => {
            return Verdict::Lost(
                1,
                format!(
                    "user {} ({}): title {} by userName, acknowledged {:?}",
                    u.user_name, u.id, r["title"], u.title
                ),
            )
        }
        [_] => {}
        more => {
            return Verdict::Lost(
                0,
                format!(
                    "user {}: {} users have this userName",
                    u.user_name,
                    more.len()
                ),
            )
        }
    }
    // By id.
    let path = format!("{scim}/Users/{}", u.id);
    match get(http, auth, &path).await {
        Ok((200, r)) if r["userName"].as_str() != Some(&u.user_name) => lost(format!(
            "user {} ({}): GET by id has userName {}",
            u.user_name, u.id, r["userName"]
        )),
        Ok((200, r)) if !allowed(&r["title"]) => Verdict::Lost(
            1,
            format!(
                "user {} ({}): title {} by id, acknowledged {:?}",
                u.user_name, u.id, r["title"], u.title
            ),
        ),
        Ok((200, r)) => Verdict::Ok(r["title"].as_str().map(str::to_string)),
        Ok((404, _)) => lost(format!("user {} ({}): GET by id 404", u.user_name, u.id)),
        Ok((s, b)) => Verdict::Unverified(format!("GET {path}: HTTP {s} {b}")),
        Err(e) => Verdict::Unverified(e),
    }
}

async fn check_group(http: &reqwest::Client, auth: &str, scim: &str, g: &GroupRec) -> Verdict {
    let path = format!("{scim}/Groups/{}", g.id);
    match get(http, auth, &path).await {
        Ok((200, r)) => {
            if r["displayName"].as_str() != Some(&g.name) {
                return Verdict::Lost(
                    1,
                    format!(
                        "group {} ({}): displayName {}",
                        g.name, g.id, r["displayName"]
                    ),
                );
            }
            let have: BTreeSet<&str> = r["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["value"].as_str())
                .collect();
            let missing: Vec<&String> = g
                .members
                .iter()
                .filter(|m| !have.contains(m.as_str()))
                .collect();
            if missing.is_empty() {
                Verdict::Ok(None)
            } else {
                Verdict::Lost(
                    missing.len() as u64,
                    format!(
                        "group {} ({}): acknowledged members missing: {missing:?}",
                        g.name, g.id
                    ),
                )
            }
        }
        Ok((404, _)) => Verdict::Lost(
            1 + g.members.len() as u64,
            format!("group {} ({}): GET by id 404", g.name, g.id),
        ),
        Ok((s, b)) => Verdict::Unverified(format!("GET {path}: HTTP {s} {b}")),
        Err(e) => Verdict::Unverified(e),
    }
}

async fn check_present(http: &reqwest::Client, auth: &str, url: String) -> Verdict {
    match get(http, auth, &url).await {
        Ok((200, b)) => Verdict::Landed(!resources(&b).is_empty()),
        Ok((s, b)) => Verdict::Unverified(format!("GET {url}: HTTP {s} {b}")),
        Err(e) => Verdict::Unverified(e),
    }
}

/// Result of verifying after one restart.
#[derive(Default)]
pub struct Verified {
    /// Acknowledged writes missing after the restart, and what each was.
    pub lost: u64,
    pub lost_details: Vec<String>,
    /// Checks that got no clear answer, and why.
    pub unverified: u64,
    pub unverified_details: Vec<String>,
    /// Acknowledged users and groups found intact.
    pub users: u64,
    pub groups: u64,
    /// This round's unacknowledged POSTs found present, and found absent.
    pub unacked_landed: u64,
    pub unacked_absent: u64,
}

/// Checks every acknowledged write of every ledger (and whether this round's unacknowledged
/// POSTs landed) with `conc` concurrent clients; resolves titles that were in doubt.
pub async fn verify(
    http: &reqwest::Client,
    auth: &str,
    scim: &str,
    ledgers: &mut [Ledger],
    conc: usize,
) -> Verified {
    let mut checks = Vec::new();
    for (w, l) in ledgers.iter().enumerate() {
        checks.extend((0..l.users.len()).map(|i| Check::User(w, i)));
        checks.extend((0..l.groups.len()).map(|i| Check::Group(w, i)));
        checks.extend(l.unacked_users.iter().cloned().map(Check::UnackedUser));
        checks.extend(l.unacked_groups.iter().cloned().map(Check::UnackedGroup));
    }
    let users: Arc<Vec<Vec<UserRec>>> = Arc::new(ledgers.iter().map(|l| l.users.clone()).collect());
    let groups: Arc<Vec<Vec<GroupRec>>> =
        Arc::new(ledgers.iter().map(|l| l.groups.clone()).collect());
    let checks = Arc::new(checks);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc.max(1) {
        let (checks, next, users, groups) =
            (checks.clone(), next.clone(), users.clone(), groups.clone());
        let (http, auth, scim) = (http.clone(), auth.to_string(), scim.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = checks.get(i) else { break };
                let v = match c {
                    Check::User(w, u) => check_user(&http, &auth, &scim, &users[*w][*u]).await,
                    Check::Group(w, g) => check_group(&http, &auth, &scim, &groups[*w][*g]).await,
                    Check::UnackedUser(name) => {
                        let url = format!(
                            "{scim}/Users?attributes=id&filter={}",
                            eq_filter("userName", name)
                        );
                        check_present(&http, &auth, url).await
                    }
                    Check::UnackedGroup(name) => {
                        let url = format!(
                            "{scim}/Groups?attributes=id&filter={}",
                            eq_filter("displayName", name)
                        );
                        check_present(&http, &auth, url).await
                    }
                };
                out.push((i, v));
            }
            out
        }));
    }
    let mut res = Verified::default();
    for t in tasks {
        let results = match t.await {
            Ok(r) => r,
            Err(e) => {
                res.unverified += 1;
                res.unverified_details
                    .push(format!("a verification task failed: {e}"));
                continue;
            }
        };
        for (i, v) in results {
            match (&checks[i], v) {
                (Check::User(w, u), Verdict::Ok(title)) => {
                    res.users += 1;
                    // The server restarted since: whatever it has now is settled.
                    let rec = &mut ledgers[*w].users[*u];
                    if let Some(t) = title {
                        rec.title = t;
                    }
                    rec.maybe_titles.clear();
                }
                (Check::Group(..), Verdict::Ok(_)) => res.groups += 1,
                (_, Verdict::Lost(n, what)) => {
                    res.lost += n;
                    res.lost_details.push(what);
                }
                (_, Verdict::Unverified(what)) => {
                    res.unverified += 1;
                    res.unverified_details.push(what);
                }
                (_, Verdict::Landed(true)) => res.unacked_landed += 1,
                (_, Verdict::Landed(false)) => res.unacked_absent += 1,
                (_, Verdict::Ok(_)) => {}
            }
        }
    }
    for l in ledgers.iter_mut() {
        l.unacked_users.clear();
        l.unacked_groups.clear();
    }
    res
}
