//! The `groups` scenario: single-member adds and removes and `excludedAttributes=members`
//! reads on a large, a small and an empty group.

use crate::args::RunArgs;
use crate::client::Client;
use crate::scim::{add_members_patch, id_of, resources, GROUP_SCHEMA, PATCH_SCHEMA};
use crate::stats::Stats;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;

/// The `groups` scenario: one sequential client (latency, not throughput).
pub async fn groups_scenario(c: Client, a: Arc<RunArgs>) -> Result<Stats, String> {
    let mut s = Stats::default();
    // Ids of existing users, by paging (recorded as `setup_*`).
    let mut ids: Vec<String> = Vec::new();
    let mut start = 1usize;
    let want = a.group_size + 100;
    while ids.len() < want {
        let path = format!("/Users?attributes=id&startIndex={start}&count=1000");
        let r = c
            .send(&mut s, "setup_page_user_ids", Method::GET, &path, None)
            .await
            .ok_or("bounds reached during setup")??;
        let got: Vec<String> = resources(&r.body).iter().filter_map(id_of).collect();
        if got.is_empty() {
            break;
        }
        start += got.len();
        ids.extend(got);
    }
    if ids.len() < 20 {
        return Err(format!(
            "groups: only {} users found; seed some first",
            ids.len()
        ));
    }
    let spare: Vec<String> = ids.split_off(ids.len().saturating_sub(100).max(10));
    let big_n = a.group_size.min(ids.len());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let make = |name: String, members: Vec<String>| {
        let c = c.clone();
        let batch = a.batch.max(1);
        async move {
            let mut st = Stats::default();
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
            let r = c
                .send(
                    &mut st,
                    "setup_group_post",
                    Method::POST,
                    "/Groups",
                    Some(&body),
                )
                .await
                .ok_or("bounds reached during setup")??;
            let id = id_of(&r.body).ok_or(format!("group POST answered {}", r.status))?;
            for chunk in members.chunks(batch) {
                let body = add_members_patch(chunk.iter().map(String::as_str));
                c.send(
                    &mut st,
                    "setup_group_patch_add_members",
                    Method::PATCH,
                    &format!("/Groups/{id}"),
                    Some(&body),
                )
                .await
                .ok_or("bounds reached during setup")??;
            }
            Ok::<(String, Stats), String>((id, st))
        }
    };
    let p = &a.prefix;
    let (big, st) = make(format!("{p}-big-{big_n}-{stamp}"), ids[..big_n].to_vec()).await?;
    s.merge(st);
    let (small, st) = make(format!("{p}-small-10-{stamp}"), ids[..10].to_vec()).await?;
    s.merge(st);
    let (empty, st) = make(format!("{p}-empty-{stamp}"), Vec::new()).await?;
    s.merge(st);
    let big_kinds = (
        "group_large_add_one",
        "group_large_remove_one",
        "group_large_get_excl_members",
    );
    let small_kinds = (
        "group_small_add_one",
        "group_small_remove_one",
        "group_empty_get_excl_members",
    );
    let mut n = 0usize;
    'outer: loop {
        let m = &spare[n % spare.len()];
        n += 1;
        for (gid, get_id, (add, remove, get)) in
            [(&big, &big, big_kinds), (&small, &empty, small_kinds)]
        {
            let gpath = format!("/Groups/{gid}");
            let add_body = add_members_patch([m.as_str()]);
            let rm_body = json!({"schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Remove", "path": format!("members[value eq \"{m}\"]")}]});
            let get_path = format!("/Groups/{get_id}?excludedAttributes=members");
            if c.send(&mut s, add, Method::PATCH, &gpath, Some(&add_body))
                .await
                .is_none()
                || c.send(&mut s, get, Method::GET, &get_path, None)
                    .await
                    .is_none()
                || c.send(&mut s, remove, Method::PATCH, &gpath, Some(&rm_body))
                    .await
                    .is_none()
            {
                break 'outer;
            }
        }
    }
    Ok(s)
}
