//! The Entra-style scenarios (`--scenario`): `run` starts the workers of the chosen one on
//! one client per simulated tenant and prints the report.

mod groups;
mod provision;
mod reads;

use crate::args::{RunArgs, Scenario};
use crate::client::{make_clients, Bounds, Client};
use crate::stats::{print_text, round2, round3, rss, Stats};
use groups::groups_scenario;
use provision::{group_worker, incremental_worker, initial_worker, TenantData};
use reads::{lookup_worker, parse_kinds, reads_worker};
use serde_json::{json, Value};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Runs the scenario `a.scenario` and prints its report (text, or JSON with `--json`).
/// Errors: a missing `--token` or `--baseline-url`, a non-loopback URL, unknown `--kinds`,
/// a failed setup of the `groups` scenario.
pub async fn run(mut a: RunArgs) -> Result<(), String> {
    if let Some(path) = &a.tenants_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--tenants-file {}: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (None, _, _) => continue,
                (Some(url), Some(token), None) => {
                    a.tenant_targets.push((url.to_string(), token.to_string()))
                }
                _ => {
                    return Err(format!(
                        "--tenants-file {} line {}: expected `SCIM_BASE_URL TOKEN`",
                        path.display(),
                        i + 1
                    ))
                }
            }
        }
        if a.tenant_targets.is_empty() {
            return Err(format!("--tenants-file {}: no tenants", path.display()));
        }
    }
    let a = Arc::new(a);
    let needs_token = !matches!(a.scenario, Scenario::Baseline);
    if needs_token && a.token.is_empty() && a.tenant_targets.is_empty() {
        return Err("--token (or SCIMD_BENCH_TOKEN) or --tenants-file is required".into());
    }
    let mut out = serde_json::Map::new();
    out.insert(
        "settings".into(),
        json!({
            "scenario": format!("{:?}", a.scenario).to_lowercase(),
            "url": a.url, "baseline_url": a.baseline_url,
            "tenants": a.tenants, "concurrency": a.concurrency, "users": a.users,
            "user_offset": a.user_offset, "groups": a.groups, "group_size": a.group_size,
            "batch": a.batch, "duration": a.duration, "requests": a.requests,
            "kinds": a.kinds, "page_size": a.page_size,
            "rate": a.rate, "start_spread": a.start_spread, "shared_users": a.shared_users,
        }),
    );
    let mut sections: Vec<(String, Value)> = Vec::new();
    match a.scenario {
        Scenario::Initial | Scenario::Seed => {
            let lookup = a.scenario == Scenario::Initial;
            let bounds = Bounds::new(a.duration, a.requests);
            let clients = make_clients(&a, &a.url, &bounds, true)?;
            let data: Vec<Arc<TenantData>> = (0..clients.len())
                .map(|_| {
                    Arc::new(TenantData {
                        user_ids: (0..a.users).map(|_| OnceLock::new()).collect(),
                        next_user: AtomicUsize::new(0),
                        next_group: AtomicUsize::new(0),
                    })
                })
                .collect();
            let start = Instant::now();
            let mut tenants = Vec::new();
            let n = clients.len();
            for (t, c) in clients.into_iter().enumerate() {
                let (a, d) = (a.clone(), data[t].clone());
                tenants.push(tokio::spawn(async move {
                    start_delay(&a, t, n).await;
                    let users_start = Instant::now();
                    let hs = (0..a.concurrency.max(1))
                        .map(|_| {
                            tokio::spawn(initial_worker(c.clone(), a.clone(), t, d.clone(), lookup))
                        })
                        .collect();
                    let mut s = join_all(hs).await;
                    let users_secs = users_start.elapsed().as_secs_f64();
                    let groups_start = Instant::now();
                    if lookup && a.groups > 0 {
                        let hs = (0..a.concurrency.max(1))
                            .map(|_| tokio::spawn(group_worker(c.clone(), a.clone(), t, d.clone())))
                            .collect();
                        s.merge(join_all(hs).await);
                    }
                    (s, users_secs, groups_start.elapsed().as_secs_f64())
                }));
            }
            let mut s = Stats::default();
            let (mut users_secs, mut groups_secs) = (0f64, 0f64);
            for h in tenants {
                let (st, u, g) = h.await.map_err(|e| e.to_string())?;
                s.merge(st);
                users_secs = users_secs.max(u);
                groups_secs = groups_secs.max(g);
            }
            let secs = start.elapsed().as_secs_f64();
            let created = data
                .iter()
                .map(|d| d.user_ids.iter().filter(|u| u.get().is_some()).count())
                .sum::<usize>();
            let mut r = s.report(secs);
            r["users_phase_s"] = json!(round3(users_secs));
            r["groups_phase_s"] = json!(round3(groups_secs));
            r["users_with_id"] = json!(created);
            r["users_completed"] = json!(created == a.users * a.tenants.max(1));
            sections.push((format!("{:?}", a.scenario).to_lowercase(), r));
        }
        Scenario::Groups => {
            let bounds = Bounds::new(a.duration, a.requests);
            let c = make_clients(&a, &a.url, &bounds, true)?.remove(0);
            let start = Instant::now();
            let s = groups_scenario(c, a.clone()).await?;
            sections.push(("groups".into(), s.report(start.elapsed().as_secs_f64())));
        }
        Scenario::Incremental => {
            let bounds = Bounds::new(a.duration, a.requests);
            let clients = make_clients(&a, &a.url, &bounds, true)?;
            let start = Instant::now();
            let mut hs = Vec::new();
            let new_data = || {
                Arc::new(TenantData {
                    user_ids: Vec::new(),
                    next_user: AtomicUsize::new(0),
                    next_group: AtomicUsize::new(0),
                })
            };
            // With --shared-users the tenants share one work list over tenant 0's users.
            let shared = new_data();
            let n = clients.len();
            for (t, c) in clients.into_iter().enumerate() {
                let d = if a.shared_users {
                    shared.clone()
                } else {
                    new_data()
                };
                for _ in 0..a.concurrency.max(1) {
                    let (c, a, d) = (c.clone(), a.clone(), d.clone());
                    hs.push(tokio::spawn(async move {
                        start_delay(&a, t, n).await;
                        incremental_worker(c, a, t, d).await
                    }));
                }
            }
            let s = join_all(hs).await;
            sections.push((
                "incremental".into(),
                s.report(start.elapsed().as_secs_f64()),
            ));
        }
        Scenario::Reads => {
            let kinds = Arc::new(parse_kinds(&a.kinds)?);
            if a.warmup > 0.0 {
                let k = kinds.clone();
                let aa = a.clone();
                timed_phase(&a, &a.url, true, a.warmup, move |c, t, w| {
                    reads_worker(c, aa.clone(), t, w, k.clone())
                })
                .await?;
            }
            let k = kinds.clone();
            let aa = a.clone();
            let (s, secs) = timed_phase(&a, &a.url, true, a.duration, move |c, t, w| {
                reads_worker(c, aa.clone(), t, w, k.clone())
            })
            .await?;
            sections.push(("reads".into(), s.report(secs)));
        }
        Scenario::Baseline => {
            let base = a.baseline_url.clone().ok_or("--baseline-url is required")?;
            let aa = a.clone();
            if a.warmup > 0.0 {
                let aa = a.clone();
                timed_phase(&a, &base, false, a.warmup, move |c, t, w| {
                    lookup_worker(c, aa.clone(), t, w, "baseline_get")
                })
                .await?;
            }
            let (s, secs) = timed_phase(&a, &base, false, a.duration, move |c, t, w| {
                lookup_worker(c, aa.clone(), t, w, "baseline_get")
            })
            .await?;
            sections.push(("baseline".into(), s.report(secs)));
        }
        Scenario::Compare => {
            let base = a.baseline_url.clone().ok_or("--baseline-url is required")?;
            let rounds = a.rounds.max(1);
            let per = a.duration / (2 * rounds) as f64;
            if a.warmup > 0.0 {
                for (u, auth) in [(a.url.clone(), true), (base.clone(), false)] {
                    let aa = a.clone();
                    timed_phase(&a, &u, auth, a.warmup, move |c, t, w| {
                        lookup_worker(c, aa.clone(), t, w, "warmup")
                    })
                    .await?;
                }
            }
            let (mut sc, mut bl) = (Stats::default(), Stats::default());
            let (mut sc_secs, mut bl_secs) = (0f64, 0f64);
            let mut per_round = Vec::new();
            for _ in 0..rounds {
                let aa = a.clone();
                let (s1, t1) = timed_phase(&a, &a.url, true, per, move |c, t, w| {
                    lookup_worker(c, aa.clone(), t, w, "scim_user_lookup_username")
                })
                .await?;
                let aa = a.clone();
                let (s2, t2) = timed_phase(&a, &base, false, per, move |c, t, w| {
                    lookup_worker(c, aa.clone(), t, w, "baseline_get")
                })
                .await?;
                let r1 = s1.total() as f64 / t1;
                let r2 = s2.total() as f64 / t2;
                per_round.push(json!({"scimd_rps": round2(r1), "baseline_rps": round2(r2), "ratio": round3(r1 / r2)}));
                sc.merge(s1);
                bl.merge(s2);
                sc_secs += t1;
                bl_secs += t2;
            }
            let r1 = sc.total() as f64 / sc_secs;
            let r2 = bl.total() as f64 / bl_secs;
            sections.push(("scimd".into(), sc.report(sc_secs)));
            sections.push(("baseline".into(), bl.report(bl_secs)));
            out.insert(
                "compare".into(),
                json!({"scimd_rps": round2(r1), "baseline_rps": round2(r2), "ratio": round3(r1 / r2), "rounds": per_round}),
            );
        }
    }
    if let Some(pid) = a.server_pid {
        out.insert("server_rss".into(), rss(pid).unwrap_or(Value::Null));
    }
    if a.json {
        for (k, v) in &sections {
            out.insert(k.clone(), v.clone());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Object(out)).expect("json")
        );
    } else {
        for (k, v) in &sections {
            print_text(k, v);
            if let Some(x) = v.get("users_phase_s") {
                println!(
                    "users phase {x} s, groups phase {} s, users with id {}",
                    v["groups_phase_s"], v["users_with_id"]
                );
            }
        }
        if let Some(c) = out.get("compare") {
            println!(
                "== compare: scimd {} req/s, baseline {} req/s, ratio scimd/baseline = {}",
                c["scimd_rps"], c["baseline_rps"], c["ratio"]
            );
            for (i, r) in c["rounds"].as_array().into_iter().flatten().enumerate() {
                println!(
                    "   round {}: scimd {} req/s, baseline {} req/s, ratio {}",
                    i + 1,
                    r["scimd_rps"],
                    r["baseline_rps"],
                    r["ratio"]
                );
            }
        }
        if let Some(r) = out.get("server_rss") {
            println!("== server RSS: {r}");
        }
    }
    Ok(())
}

/// `--start-spread`: waits until simulated tenant `t` of `n` is due to start.
async fn start_delay(a: &RunArgs, t: usize, n: usize) {
    if a.start_spread > 0.0 && n > 0 {
        let d = a.start_spread * t as f64 / n as f64;
        tokio::time::sleep(std::time::Duration::from_secs_f64(d)).await;
    }
}

/// Waits for the workers and merges their statistics (a panicked worker is reported).
async fn join_all(handles: Vec<tokio::task::JoinHandle<Stats>>) -> Stats {
    let mut s = Stats::default();
    for h in handles {
        match h.await {
            Ok(st) => s.merge(st),
            Err(e) => eprintln!("scimd-bench: a worker failed: {e}"),
        }
    }
    s
}

/// Runs `reads`-like workers (one per tenant × concurrency) for a bounded phase.
pub async fn timed_phase<F, Fut>(
    a: &Arc<RunArgs>,
    base: &str,
    auth: bool,
    duration: f64,
    mut mk: F,
) -> Result<(Stats, f64), String>
where
    F: FnMut(Client, usize, usize) -> Fut,
    Fut: std::future::Future<Output = Stats> + Send + 'static,
{
    let bounds = Bounds::new(duration, a.requests);
    let clients = make_clients(a, base, &bounds, auth)?;
    let start = Instant::now();
    let mut hs = Vec::new();
    for (t, c) in clients.into_iter().enumerate() {
        for w in 0..a.concurrency.max(1) {
            hs.push(tokio::spawn(mk(c.clone(), t, w)));
        }
    }
    let s = join_all(hs).await;
    Ok((s, start.elapsed().as_secs_f64()))
}
