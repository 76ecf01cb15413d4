//! `scimd-bench`: a load driver that talks to a SCIM 2.0 endpoint the way Microsoft Entra ID
//! does, with many simulated tenants (each its own keep-alive connection pool) and several
//! concurrent requests per tenant.
//!
//! Scenarios:
//! - `initial`: per tenant, for each of `--users` users a `userName eq` filter GET then a POST;
//!   then for each of `--groups` groups a `displayName eq` filter GET (members excluded), a
//!   POST, and PATCHes adding `--group-size` members in batches of `--batch`.
//! - `seed`: POSTs users only (no lookups), to fill a directory quickly.
//! - `incremental`: per user a `userName eq` lookup then an attribute PATCH, a disable
//!   (`active` false, every 10th) or a DELETE (every 20th).
//! - `reads`: a mix of userName / externalId / work-email lookups, GET by id and paging through
//!   all users (`startIndex`/`count`); `--kinds` selects the kinds (also `page1` and
//!   `pagedeep`, a fixed first and a fixed deep page).
//! - `groups`: sequential single-member adds/removes on a `--group-size` group and on a
//!   10-member group, and `excludedAttributes=members` reads of the large and of an empty group
//!   (the "cost stays flat" group targets); members are existing users found by paging.
//! - `baseline`: the userName lookup sent to `--baseline-url` (see `baseline-server`).
//! - `compare`: the userName lookup against `--url` and `--baseline-url` with the same settings,
//!   in alternating rounds of one run, and the ratio of their throughputs.
//!
//! Subcommands:
//! - `durability`: the kill-durability check (see [`durability`]): starts a scimd binary on
//!   a SQLite database, writes to it from concurrent writers, SIGKILLs it with writes in
//!   flight, restarts it and verifies over SCIM that every acknowledged write is there;
//!   `--kills` rounds; exits 1 if an acknowledged write was lost.
//! - `baseline-server`: the bare axum handler `baseline` and `compare` measure against.
//!
//! Every run is bounded by `--duration` and `--requests`. Latencies go to an HDR histogram per
//! request kind; `--json` prints the report as JSON; `--server-pid` adds the server's RSS.

use clap::{Args, Parser, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub mod durability;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Parser, Debug)]
#[command(
    name = "scimd-bench",
    version,
    about = "Drives a SCIM 2.0 endpoint the way Entra ID does and reports throughput, latency percentiles and errors per request kind",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves a bare axum handler answering every GET with a small JSON body (the baseline
    /// that `--scenario compare` measures scimd against). Prints the bound address.
    BaselineServer {
        /// Address to listen on (`:0` picks a free port). Loopback only.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Stop by itself after this many seconds (0: run until killed).
        #[arg(long, default_value_t = 3600)]
        max_seconds: u64,
    },
    /// Kill-durability check: starts `--scimd` on a SQLite database in `--dir`, writes to it
    /// from `--writers` concurrent writers (user POSTs, title PATCHes, group POSTs, member
    /// PATCHes) for `--run-secs`, SIGKILLs it with writes in flight, restarts it on the same
    /// database and verifies over SCIM that every write acknowledged with a 2xx is there with
    /// the acknowledged content; `--kills` rounds, each re-verifying everything so far.
    /// Exit status 0: nothing lost; 1: an acknowledged write was lost or could not be
    /// verified; 2: the check could not run.
    Durability(durability::DurabilityArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Initial,
    Seed,
    Incremental,
    Groups,
    Reads,
    Baseline,
    Compare,
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long, default_value = "http://127.0.0.1:8080/scim/v2")]
    url: String,
    /// Bearer token; repeat it to give simulated tenants different tokens (tenant k uses
    /// token k mod count).
    #[arg(long, env = "SCIMD_BENCH_TOKEN")]
    token: Vec<String>,
    /// Base URL of the baseline server (scenarios `baseline` and `compare`).
    #[arg(long)]
    baseline_url: Option<String>,
    /// Scenario to run.
    #[arg(long, value_enum, default_value = "reads")]
    scenario: Scenario,
    /// Simulated tenants: each has its own HTTP client (connection pool) and its own users.
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Concurrent requests per tenant.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Users per tenant (created by initial/seed, addressed by incremental/reads).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// First user index (seed/initial create users `--user-offset .. --user-offset+--users`).
    #[arg(long, default_value_t = 0)]
    user_offset: usize,
    /// Groups per tenant (initial).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Members per group (initial); taken from the tenant's users in order, wrapping.
    #[arg(long, default_value_t = 100)]
    group_size: usize,
    /// Members added per group PATCH (initial).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// In `reads`, `incremental`, `baseline` and `compare`, every simulated tenant addresses
    /// the users of tenant 0 (for a directory filled by one `initial` or `seed` tenant).
    #[arg(long)]
    shared_users: bool,
    /// Name prefix of the generated users and groups (same prefix = same users).
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Stop after this many seconds, whatever is left.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Stop after this many requests (all kinds, all tenants).
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Request kinds of the `reads` scenario, comma-separated, from: username, externalid,
    /// email, id, page, page1, pagedeep.
    #[arg(long, default_value = "username,externalid,email,id,page")]
    kinds: String,
    /// `count` of the paging kinds.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Page number (1-based) of `pagedeep`; default: 90% of the way through the users.
    #[arg(long)]
    deep_page: Option<usize>,
    /// Rounds of `compare` (each round runs scimd then the baseline for --duration/rounds/2).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Warm-up seconds before measuring in `reads`, `baseline` and `compare`.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// PID of the server, on this machine: its RSS (VmRSS, VmHWM) is reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

// ---------------------------------------------------------------------------------------
// Statistics

struct KindStats {
    hist: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl KindStats {
    fn new() -> KindStats {
        KindStats {
            // 1 µs .. 60 s, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            errors: 0,
            first_error: None,
        }
    }
}

#[derive(Default)]
struct Stats {
    kinds: BTreeMap<&'static str, KindStats>,
}

impl Stats {
    fn record(&mut self, kind: &'static str, elapsed: Duration, error: Option<String>) {
        let k = self.kinds.entry(kind).or_insert_with(KindStats::new);
        k.hist.saturating_record(elapsed.as_micros().max(1) as u64);
        if let Some(e) = error {
            k.errors += 1;
            if k.first_error.is_none() {
                k.first_error = Some(e);
            }
        }
    }

    fn merge(&mut self, other: Stats) {
        for (name, o) in other.kinds {
            let k = self.kinds.entry(name).or_insert_with(KindStats::new);
            k.hist.add(&o.hist).expect("same histogram bounds");
            k.errors += o.errors;
            if k.first_error.is_none() {
                k.first_error = o.first_error;
            }
        }
    }

    fn total(&self) -> u64 {
        self.kinds.values().map(|k| k.hist.len()).sum()
    }

    fn report(&self, secs: f64) -> Value {
        let mut kinds = serde_json::Map::new();
        for (name, k) in &self.kinds {
            let h = &k.hist;
            kinds.insert(
                name.to_string(),
                json!({
                    "count": h.len(),
                    "errors": k.errors,
                    "requests_per_s": round2(h.len() as f64 / secs),
                    "p50_ms": ms(h.value_at_quantile(0.50)),
                    "p99_ms": ms(h.value_at_quantile(0.99)),
                    "max_ms": ms(h.max()),
                    "mean_ms": round3(h.mean() / 1000.0),
                    "first_error": k.first_error,
                }),
            );
        }
        json!({
            "seconds": round3(secs),
            "requests": self.total(),
            "requests_per_s": round2(self.total() as f64 / secs),
            "errors": self.kinds.values().map(|k| k.errors).sum::<u64>(),
            "kinds": kinds,
        })
    }
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------
// Bounds shared by every worker of a run

struct Bounds {
    deadline: Instant,
    budget: AtomicU64,
    stop: AtomicBool,
}

impl Bounds {
    fn new(duration: f64, requests: u64) -> Arc<Bounds> {
        Arc::new(Bounds {
            deadline: Instant::now() + Duration::from_secs_f64(duration.max(0.0)),
            budget: AtomicU64::new(requests),
            stop: AtomicBool::new(false),
        })
    }

    /// Takes one request from the budget; false when the run is over.
    fn take(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            self.stop.store(true, Ordering::Relaxed);
            return false;
        }
        let ok = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok();
        if !ok {
            self.stop.store(true, Ordering::Relaxed);
        }
        ok
    }

    fn over(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

// ---------------------------------------------------------------------------------------
// One simulated tenant's HTTP client

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<String>,
    bounds: Arc<Bounds>,
}

/// A response: status and parsed body (`Value::Null` when empty or not JSON).
struct Resp {
    status: u16,
    body: Value,
}

impl Client {
    /// Sends one request, records it under `kind` in `stats`; `None` when the run's bounds
    /// are exhausted (nothing sent).
    async fn send(
        &self,
        stats: &mut Stats,
        kind: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Option<Result<Resp, String>> {
        if !self.bounds.take() {
            return None;
        }
        let url = format!("{}{}", self.base, path);
        let mut rb = self.http.request(method, &url);
        if let Some(a) = &self.auth {
            rb = rb.header("Authorization", a);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/scim+json")
                .body(serde_json::to_vec(b).expect("json"));
        }
        let start = Instant::now();
        let res = match rb.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(bytes) => Ok((status, bytes)),
                    Err(e) => Err(format!("reading body: {e}")),
                }
            }
            Err(e) => Err(format!("request: {e:?}")),
        };
        let elapsed = start.elapsed();
        let out = match res {
            Ok((status, bytes)) => {
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if (200..300).contains(&status) {
                    stats.record(kind, elapsed, None);
                } else {
                    let detail = body
                        .get("detail")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>();
                    stats.record(kind, elapsed, Some(format!("HTTP {status} {detail}")));
                }
                Ok(Resp { status, body })
            }
            Err(e) => {
                stats.record(kind, elapsed, Some(e.clone()));
                Err(e)
            }
        };
        Some(out)
    }
}

fn make_clients(
    a: &RunArgs,
    base: &str,
    bounds: &Arc<Bounds>,
    with_auth: bool,
) -> Result<Vec<Client>, String> {
    if !is_loopback(base) {
        return Err(format!(
            "{base}: scimd-bench only drives loopback targets (127.0.0.0/8, localhost, [::1])"
        ));
    }
    let mut out = Vec::new();
    for t in 0..a.tenants.max(1) {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(a.concurrency.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(Duration::from_secs_f64(a.timeout))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let auth = if with_auth && !a.token.is_empty() {
            Some(format!("Bearer {}", a.token[t % a.token.len()]))
        } else {
            None
        };
        out.push(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            bounds: bounds.clone(),
        });
    }
    Ok(out)
}

fn is_loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host = if let Some(r) = rest.strip_prefix('[') {
        r.split(']').next().unwrap_or("")
    } else {
        rest.split(['/', ':']).next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Generated directory contents

fn user_name(p: &str, t: usize, i: usize) -> String {
    format!("{p}-t{t}-u{i}@bench.example")
}
fn external_id(p: &str, t: usize, i: usize) -> String {
    format!("{p}-ext-t{t}-u{i}")
}
fn work_email(p: &str, t: usize, i: usize) -> String {
    format!("{p}.t{t}.u{i}@mail.bench.example")
}
fn group_name(p: &str, t: usize, g: usize) -> String {
    format!("{p}-t{t}-g{g}")
}

/// A user as Entra ID creates one with its default attribute mappings.
fn user_body(p: &str, t: usize, i: usize) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id(p, t, i),
        "userName": user_name(p, t, i),
        "active": true,
        "displayName": format!("Bench User {t}-{i}"),
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "name": {
            "formatted": format!("Bench User {t}-{i}"),
            "familyName": format!("User{i}"),
            "givenName": "Bench"
        },
        "emails": [{"primary": true, "type": "work", "value": work_email(p, t, i)}],
        "phoneNumbers": [{"type": "work", "value": format!("+1 555 {:07}", i % 10_000_000)}],
        "addresses": [{"type": "work", "locality": "Springfield", "country": "US", "primary": false}],
        ENTERPRISE: {
            "employeeNumber": format!("{i}"),
            "department": format!("Dept {}", i % 50),
            "costCenter": "CC-1"
        }
    })
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn q(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn username_filter_path(p: &str, t: usize, i: usize) -> String {
    format!(
        "/Users?filter={}",
        enc(&format!("userName eq \"{}\"", q(&user_name(p, t, i))))
    )
}

/// The id of the first resource of a ListResponse.
fn first_id(body: &Value) -> Option<String> {
    body.get("Resources")?
        .as_array()?
        .first()?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------
// Scenarios

struct TenantData {
    user_ids: Vec<OnceLock<String>>,
    next_user: AtomicUsize,
    next_group: AtomicUsize,
}

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
                reqwest::Method::GET,
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
            reqwest::Method::POST,
            "/Users",
            Some(&user_body(&a.prefix, t, i)),
        )
        .await?;
    match r {
        Ok(r) if r.status == 201 || r.status == 200 => {
            r.body.get("id").and_then(Value::as_str).map(str::to_string)
        }
        _ => None,
    }
}

async fn initial_worker(
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

async fn group_worker(c: Client, a: Arc<RunArgs>, t: usize, d: Arc<TenantData>) -> Stats {
    let mut s = Stats::default();
    loop {
        let g = d.next_group.fetch_add(1, Ordering::Relaxed);
        if g >= a.groups || c.bounds.over() {
            break;
        }
        let name = group_name(&a.prefix, t, g);
        let path = format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc(&format!("displayName eq \"{}\"", q(&name)))
        );
        let Some(r) = c
            .send(
                &mut s,
                "group_lookup_displayname",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await
        else {
            break;
        };
        let mut id = r.ok().and_then(|r| first_id(&r.body));
        if id.is_none() {
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": format!("{name}-ext")});
            let Some(r) = c
                .send(
                    &mut s,
                    "group_post",
                    reqwest::Method::POST,
                    "/Groups",
                    Some(&body),
                )
                .await
            else {
                break;
            };
            id = r
                .ok()
                .and_then(|r| r.body.get("id").and_then(Value::as_str).map(str::to_string));
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
            let value: Vec<Value> = chunk.iter().map(|m| json!({"value": m})).collect();
            let body = json!({
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Add", "path": "members", "value": value}]
            });
            if c.send(
                &mut s,
                "group_patch_add_members",
                reqwest::Method::PATCH,
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

async fn incremental_worker(c: Client, a: Arc<RunArgs>, t: usize, d: Arc<TenantData>) -> Stats {
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
                reqwest::Method::GET,
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
            c.send(&mut s, "user_delete", reqwest::Method::DELETE, &path, None)
                .await
        } else if i % 10 == 5 {
            let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": false}]});
            c.send(
                &mut s,
                "user_patch_disable",
                reqwest::Method::PATCH,
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
                reqwest::Method::PATCH,
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

/// The `groups` scenario: one sequential client (latency, not throughput).
async fn groups_scenario(c: Client, a: Arc<RunArgs>) -> Result<Stats, String> {
    let mut s = Stats::default();
    // Ids of existing users, by paging (recorded as `setup_*`).
    let mut ids: Vec<String> = Vec::new();
    let mut start = 1usize;
    let want = a.group_size + 100;
    while ids.len() < want {
        let path = format!("/Users?attributes=id&startIndex={start}&count=1000");
        let r = c
            .send(
                &mut s,
                "setup_page_user_ids",
                reqwest::Method::GET,
                &path,
                None,
            )
            .await
            .ok_or("bounds reached during setup")??;
        let got: Vec<String> = r.body["Resources"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|u| u["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
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
                    reqwest::Method::POST,
                    "/Groups",
                    Some(&body),
                )
                .await
                .ok_or("bounds reached during setup")??;
            let id = r.body["id"]
                .as_str()
                .ok_or(format!("group POST answered {}", r.status))?
                .to_string();
            for chunk in members.chunks(batch) {
                let value: Vec<Value> = chunk.iter().map(|m| json!({"value": m})).collect();
                let body = json!({"schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "Add", "path": "members", "value": value}]});
                c.send(
                    &mut st,
                    "setup_group_patch_add_members",
                    reqwest::Method::PATCH,
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
            let add_body = json!({"schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Add", "path": "members", "value": [{"value": m}]}]});
            let rm_body = json!({"schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Remove", "path": format!("members[value eq \"{m}\"]")}]});
            let get_path = format!("/Groups/{get_id}?excludedAttributes=members");
            if c.send(&mut s, add, reqwest::Method::PATCH, &gpath, Some(&add_body))
                .await
                .is_none()
                || c.send(&mut s, get, reqwest::Method::GET, &get_path, None)
                    .await
                    .is_none()
                || c.send(
                    &mut s,
                    remove,
                    reqwest::Method::PATCH,
                    &gpath,
                    Some(&rm_body),
                )
                .await
                .is_none()
            {
                break 'outer;
            }
        }
    }
    Ok(s)
}

/// Small deterministic PRNG (xorshift64*), one per worker.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ReadKind {
    UserName,
    ExternalId,
    Email,
    Id,
    Page,
    Page1,
    PageDeep,
}

fn parse_kinds(s: &str) -> Result<Vec<ReadKind>, String> {
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

async fn reads_worker(
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
                    enc(&format!("externalId eq \"{}\"", q(&external_id(p, t, i))))
                ),
            ),
            ReadKind::Email => (
                "user_lookup_work_email",
                format!(
                    "/Users?filter={}",
                    enc(&format!(
                        "emails[type eq \"work\"].value eq \"{}\"",
                        q(&work_email(p, t, i))
                    ))
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
        let Some(r) = c
            .send(&mut s, name, reqwest::Method::GET, &path, None)
            .await
        else {
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
async fn lookup_worker(
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
            reqwest::Method::GET,
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
async fn timed_phase<F, Fut>(
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

// ---------------------------------------------------------------------------------------
// Server memory

fn rss(pid: u32) -> Option<Value> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some(json!({
        "pid": pid,
        "vm_rss_mib": round2(field("VmRSS:")? as f64 / 1024.0),
        "vm_hwm_mib": field("VmHWM:").map(|k| round2(k as f64 / 1024.0)),
    }))
}

// ---------------------------------------------------------------------------------------
// Output

fn print_text(title: &str, report: &Value) {
    println!(
        "== {title}: {} requests in {} s ({} req/s), {} errors",
        report["requests"], report["seconds"], report["requests_per_s"], report["errors"]
    );
    println!(
        "{:<28} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9}",
        "kind", "count", "errors", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    if let Some(kinds) = report["kinds"].as_object() {
        for (name, k) in kinds {
            let f = |key: &str| k[key].to_string();
            println!(
                "{:<28} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9}",
                name,
                f("count"),
                f("errors"),
                f("requests_per_s"),
                f("p50_ms"),
                f("p99_ms"),
                f("max_ms")
            );
            if let Some(e) = k["first_error"].as_str() {
                println!("    first error: {e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// main

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = rt.block_on(async move {
        let res = match cli.command {
            Some(Command::BaselineServer {
                listen,
                max_seconds,
            }) => baseline_server(&listen, max_seconds).await.map(|()| 0),
            Some(Command::Durability(d)) => {
                durability::run(d).await.map(|ok| if ok { 0 } else { 1 })
            }
            None => run(cli.run).await.map(|()| 0),
        };
        match res {
            Ok(code) => code,
            Err(e) => {
                eprintln!("scimd-bench: {e}");
                2
            }
        }
    });
    std::process::exit(code);
}

async fn baseline_server(listen: &str, max_seconds: u64) -> Result<(), String> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err("the baseline server listens on loopback addresses only".into());
    }
    async fn small() -> ([(&'static str, &'static str); 1], &'static str) {
        (
            [("content-type", "application/scim+json")],
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#,
        )
    }
    let app = axum::Router::new().fallback(small);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "baseline listening on http://{local}  (pid {})",
        std::process::id()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let serve = axum::serve(listener, app);
    if max_seconds == 0 {
        serve.await.map_err(|e| e.to_string())
    } else {
        serve
            .with_graceful_shutdown(tokio::time::sleep(Duration::from_secs(max_seconds)))
            .await
            .map_err(|e| e.to_string())
    }
}

async fn run(a: RunArgs) -> Result<(), String> {
    let a = Arc::new(a);
    let needs_token = !matches!(a.scenario, Scenario::Baseline);
    if needs_token && a.token.is_empty() {
        return Err("--token (or SCIMD_BENCH_TOKEN) is required".into());
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
            for (t, c) in clients.into_iter().enumerate() {
                let (a, d) = (a.clone(), data[t].clone());
                tenants.push(tokio::spawn(async move {
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
            for (t, c) in clients.into_iter().enumerate() {
                let d = if a.shared_users {
                    shared.clone()
                } else {
                    new_data()
                };
                for _ in 0..a.concurrency.max(1) {
                    hs.push(tokio::spawn(incremental_worker(
                        c.clone(),
                        a.clone(),
                        t,
                        d.clone(),
                    )));
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
