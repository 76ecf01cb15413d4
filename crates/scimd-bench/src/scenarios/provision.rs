//! The provisioning scenarios `initial`, `seed` and `incremental`: per user a lookup and a
//! POST, then groups with their members; or per user a lookup and a PATCH, disable or DELETE.

use crate::args::RunArgs;
use crate::client::Client;
use crate::scim::{
    add_members_patch, eq_filter, first_id, group_body, group_name, id_of, user_body,
    username_filter_path, ENTERPRISE, PATCH_SCHEMA,
};
use crate::stats::Stats;
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// One tenant's shared work lists: the ids of its users as they are created, and the next
/// user and group index to take.
pub struct TenantData {
    pub user_ids: Vec<OnceLock<String>>,
    pub next_user: AtomicUsize,
    pub next_group: AtomicUsize,
}

/// Creates user `i` of tenant `t` as Entra ID does: with `lookup`, a `userName eq` GET first
/// (an existing user is taken as it is), then a POST. Its id; `None` when it has none or the
/// run is over.
async fn create_user(
    c: &Client,
    s: &mut Stats,
    a: &RunArgs,
    t: usize,
    i: usize,
    lookup: bool,
) -> Option<String> {
    if lookup {
        let r = c
            .send(
                s,
                "user_lookup_username",
                Method::GET,
                &username_filter_path(&a.prefix, t, i),
                None,
            )
            .await?;
        if let Ok(r) = &r {
            if let Some(id) = first_id(&r.body) {
                return Some(id);
            }
        }
    }
    let r = c
        .send(
            s,
            "user_post",
            Method::POST,
            "/Users",
            Some(&user_body(&a.prefix, t, i)),
        )
        .await?;
    match r {
        Ok(r) if r.status == 201 || r.status == 200 => id_of(&r.body),
        _ => None,
    }
}

/// A worker of `initial` (`lookup`) or `seed`: creates the tenant's users until none is left.
pub async fn initial_worker(
    c: Client,
    a: Arc<RunArgs>,
    t: usize,
    d: Arc<TenantData>,
    lookup: bool,
) -> Stats {
    let mut s = Stats::default();
    loop {
        let k = d.next_user.fetch_add(1, Ordering::Relaxed);
        if k >= a.users || c.bounds.over() {
            break;
        }
        if let Some(id) = create_user(&c, &mut s, &a, t, a.user_offset + k, lookup).await {
            let _ = d.user_ids[k].set(id);
        }
    }
    s
}

/// A worker of `initial`'s second phase: per group a `displayName eq` lookup, a POST when
/// absent, and PATCHes adding `--group-size` members in batches of `--batch`.
pub async fn group_worker(c: Client, a: Arc<RunArgs>, t: usize, d: Arc<TenantData>) -> Stats {
    let mut s = Stats::default();
    loop {
        let g = d.next_group.fetch_add(1, Ordering::Relaxed);
        if g >= a.groups || c.bounds.over() {
            break;
        }
        let name = group_name(&a.prefix, t, g);
        let path = format!(
            "/Groups?excludedAttributes=members&filter={}",
            eq_filter("displayName", &name)
        );
        let Some(r) = c
            .send(&mut s, "group_lookup_displayname", Method::GET, &path, None)
            .await
        else {
            break;
        };
        let mut id = r.ok().and_then(|r| first_id(&r.body));
        if id.is_none() {
            let body = group_body(&name);
            let Some(r) = c
                .send(&mut s, "group_post", Method::POST, "/Groups", Some(&body))
                .await
            else {
                break;
            };
            id = r.ok().and_then(|r| id_of(&r.body));
        }
        let Some(id) = id else { continue };
        let n = d.user_ids.len();
        if n == 0 {
            continue;
        }
        let members: Vec<&str> = (0..a.group_size)
            .filter_map(|m| {
                d.user_ids[(g * a.group_size + m) % n]
                    .get()
                    .map(String::as_str)
            })
            .collect();
        for chunk in members.chunks(a.batch.max(1)) {
            let body = add_members_patch(chunk.iter().copied());
            if c.send(
                &mut s,
                "group_patch_add_members",
                Method::PATCH,
                &format!("/Groups/{id}"),
                Some(&body),
            )
            .await
            .is_none()
            {
                return s;
            }
        }
    }
    s
}

/// A worker of `incremental`: per user a `userName eq` lookup, then a DELETE (every 20th),
/// a disable (`active` false, every 10th) or an attribute PATCH.
pub async fn incremental_worker(c: Client, a: Arc<RunArgs>, t: usize, d: Arc<TenantData>) -> Stats {
    let mut s = Stats::default();
    let t = if a.shared_users { 0 } else { t };
    loop {
        let k = d.next_user.fetch_add(1, Ordering::Relaxed);
        if k >= a.users || c.bounds.over() {
            break;
        }
        let i = a.user_offset + k;
        let Some(r) = c
            .send(
                &mut s,
                "user_lookup_username",
                Method::GET,
                &username_filter_path(&a.prefix, t, i),
                None,
            )
            .await
        else {
            break;
        };
        let Some(id) = r.ok().and_then(|r| first_id(&r.body)) else {
            continue;
        };
        let path = format!("/Users/{id}");
        let sent = if i.is_multiple_of(20) {
            c.send(&mut s, "user_delete", Method::DELETE, &path, None)
                .await
        } else if i % 10 == 5 {
            let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": false}]});
            c.send(
                &mut s,
                "user_patch_disable",
                Method::PATCH,
                &path,
                Some(&body),
            )
            .await
        } else {
            let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "Replace", "path": "title", "value": format!("Senior Engineer {}", i % 7)},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": format!("Dept {}", (i + 1) % 50)},
                {"op": "Replace", "path": "name.familyName", "value": format!("User{i}x")}
            ]});
            c.send(
                &mut s,
                "user_patch_attributes",
                Method::PATCH,
                &path,
                Some(&body),
            )
            .await
        };
        if sent.is_none() {
            break;
        }
    }
    s
}
