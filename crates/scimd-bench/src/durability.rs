//! `scimd-bench durability`: proves that no acknowledged write is lost when scimd is killed.
//!
//! The check starts a real `scimd serve` on a SQLite database in `--dir`, lets `--writers`
//! concurrent writers hammer it with SCIM writes, sends it SIGKILL (not a graceful stop)
//! while writes are in flight, restarts it on the same database and reads back, over SCIM,
//! every write that was acknowledged with a 2xx response. This is repeated `--kills` times on
//! the same, growing database; every round re-verifies everything acknowledged so far.
//!
//! Writes, per writer (each writer owns its users and groups, so its writes to one resource
//! are sequential and "the last acknowledged value" is well defined):
//! - `user_post`: `POST /Users` of a new user (`PREFIX-tW-uN@bench.example`, W the writer);
//! - `title_patch`: `PATCH /Users/{id}` replacing `title` of one of the writer's acknowledged
//!   users with a value never used before;
//! - `group_post`: `POST /Groups` of a new group (`PREFIX-tW-gN`), followed by
//! - `member_patch`: `PATCH /Groups/{id}` adding 1–3 of the writer's acknowledged users
//!   (also sent to groups created earlier).
//!
//! Verification after each restart: every acknowledged user is found by
//! `GET /Users?filter=userName eq "…"` (exactly one, with the acknowledged id) and by
//! `GET /Users/{id}`, both with the last acknowledged title (or the value of a later write
//! that got no response); every acknowledged group is found by `GET /Groups/{id}` with its
//! displayName and at least its acknowledged members. Writes that got no response (in flight
//! at the kill) or an error may or may not be there; the report says how many landed.
//!
//! The server's stdout and stderr go to `DIR/server-N.stdout.log` / `.stderr.log` (N = start
//! number; the first start's stdout holds the bootstrap token and administrator password).

use crate::scim::{enc, group_name, q, user_body, user_name, Rng, GROUP_SCHEMA, PATCH_SCHEMA};
use crate::stats::{round2, round3, Stats};
use clap::Args;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Options of `scimd-bench durability`.
#[derive(Args, Debug, Clone)]
pub struct DurabilityArgs {
    /// Path of the scimd binary to start, e.g. target/debug/scimd or target/release/scimd.
    #[arg(long, value_name = "PATH")]
    pub scimd: PathBuf,
    /// Working directory (created if missing): holds the SQLite database `scimd.db` and the
    /// server's logs. With no database there yet, the token printed on first start is used;
    /// with one, a token is made for the run with `scimd token create`.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Concurrent writers (each one request at a time, on a shared keep-alive pool).
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// Kill/restart/verify rounds.
    #[arg(long, default_value_t = 3)]
    pub kills: usize,
    /// Seconds of writing before each kill.
    #[arg(long, default_value_t = 3.0)]
    pub run_secs: f64,
    /// Extra argument appended to `scimd serve --listen … --database … --log-level warn`;
    /// repeat it for several, e.g. `--server-arg=--log-format --server-arg=json`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Seconds a (re)started server may take to answer `GET /readyz` with 200.
    #[arg(long, default_value_t = 30.0)]
    pub start_timeout: f64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Name prefix of the users and groups written (default: `dur-<unix time>`, so that
    /// runs on one database never collide).
    #[arg(long)]
    pub prefix: Option<String>,
    /// SQLite `synchronous` setting of the server, put in its database URL
    /// (`sqlite://DIR/scimd.db?synchronous=…`): `normal` (scimd's default) or `full`.
    #[arg(long, value_parser = ["normal", "full"])]
    pub synchronous: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Kinds of write, as named in the report.
const WRITE_KINDS: [&str; 4] = ["user_post", "title_patch", "group_post", "member_patch"];

// ---------------------------------------------------------------------------------------
// The server process

/// A running `scimd serve`, killed (SIGKILL) and reaped when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    /// The SCIM token from the bootstrap banner, when this start printed one.
    token: Option<String>,
}

impl Server {
    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix), then reaps the process.
    fn kill(&mut self) -> Result<(), String> {
        self.child
            .kill()
            .map_err(|e| format!("SIGKILL scimd (pid {}): {e}", self.child.id()))?;
        self.child
            .wait()
            .map_err(|e| format!("waiting for the killed scimd: {e}"))?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_paths(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("server-{n}.stdout.log")),
        dir.join(format!("server-{n}.stderr.log")),
    )
}

/// Strips ANSI escape sequences (coloured log output).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c2 in chars.by_ref() {
                    if c2.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn read_lossy(p: &Path) -> String {
    strip_ansi(&String::from_utf8_lossy(
        &std::fs::read(p).unwrap_or_default(),
    ))
}

/// The last `n` lines of `text`, for error messages.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "(empty)".into();
    }
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `http://HOST:PORT` of scimd's `listening on http://HOST:PORT` line (stderr).
fn find_listen_url(log: &str) -> Option<String> {
    log.lines().find_map(|line| {
        let i = line.find("listening on ")?;
        let rest = &line[i + "listening on ".len()..];
        let url: String = rest
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        url.starts_with("http")
            .then(|| url.trim_end_matches('/').to_string())
    })
}

/// The 64-hex-digit secret of the bootstrap banner's `Secret Token: …` line (stdout).
fn find_secret(out: &str) -> Option<String> {
    out.lines()
        .filter(|l| l.to_ascii_lowercase().contains("token"))
        .flat_map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()))
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// Starts `scimd serve` on `database` (start number `n`) and waits until `GET /readyz`
/// answers 200.
async fn start_server(
    a: &DurabilityArgs,
    dir: &Path,
    database: &str,
    n: usize,
    http: &reqwest::Client,
) -> Result<Server, String> {
    let (out_path, err_path) = log_paths(dir, n);
    let create =
        |p: &Path| std::fs::File::create(p).map_err(|e| format!("creating {}: {e}", p.display()));
    let child = Command::new(&a.scimd)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .args(["--log-level", "warn"])
        .args(&a.server_args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&err_path)?)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "--scimd {}: no such file (build it with `cargo build -p scimd`)",
                a.scimd.display()
            ),
            _ => format!("starting {}: {e}", a.scimd.display()),
        })?;
    let mut server = Server {
        child,
        base: String::new(),
        token: None,
    };
    let deadline = Instant::now() + Duration::from_secs_f64(a.start_timeout.max(0.1));
    let exited = |server: &mut Server| -> Result<(), String> {
        match server.child.try_wait() {
            Ok(Some(status)) => Err(format!(
                "scimd exited ({status}) before it was ready; last lines of {}:\n{}",
                err_path.display(),
                tail(&read_lossy(&err_path), 15)
            )),
            Ok(None) => Ok(()),
            Err(e) => Err(format!("checking on scimd: {e}")),
        }
    };
    // 1. The `listening on` line gives the port it picked.
    loop {
        exited(&mut server)?;
        if let Some(url) = find_listen_url(&read_lossy(&err_path)) {
            server.base = url;
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "scimd printed no `listening on` line within {} s; last lines of {}:\n{}",
                a.start_timeout,
                err_path.display(),
                tail(&read_lossy(&err_path), 15)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The banner (stdout) is written and flushed before `listening on` (stderr).
    server.token = find_secret(&read_lossy(&out_path));
    // 2. Healthy: /readyz checks the database too.
    let ready = format!("{}/readyz", server.base);
    let mut last;
    loop {
        exited(&mut server)?;
        match http.get(&ready).send().await {
            Ok(r) if r.status().is_success() => return Ok(server),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "scimd not healthy within {} s ({ready}: {last}); see {}",
                a.start_timeout,
                err_path.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// What was written and acknowledged

/// A user whose POST was acknowledged.
#[derive(Clone)]
struct UserRec {
    user_name: String,
    id: String,
    /// The last acknowledged title (the POST's, or the last acknowledged PATCH's).
    title: String,
    /// Titles of later PATCHes that got no answer: they may or may not have landed.
    maybe_titles: Vec<String>,
    /// Acknowledged title PATCHes of this user (for the lost count).
    acked_patches: u64,
}

/// A group whose POST was acknowledged.
#[derive(Clone)]
struct GroupRec {
    name: String,
    id: String,
    /// Members added by acknowledged PATCHes.
    members: BTreeSet<String>,
}

/// One writer's acknowledged writes, kept across rounds.
struct Ledger {
    w: usize,
    rng: Rng,
    users: Vec<UserRec>,
    groups: Vec<GroupRec>,
    next_user: usize,
    next_group: usize,
    next_title: usize,
    /// Names of this round's user / group POSTs that got no 2xx (landed or not).
    unacked_users: Vec<String>,
    unacked_groups: Vec<String>,
}

/// One writer's counts for one round.
#[derive(Default)]
struct RoundCounts {
    stats: Stats,
    acked: BTreeMap<&'static str, u64>,
    /// No response, and the kill had been decided: in flight at the kill.
    in_flight_at_kill: u64,
    /// Non-2xx answers, and transport errors before the kill.
    errors: u64,
    first_error: Option<String>,
}

impl RoundCounts {
    fn merge(&mut self, o: RoundCounts) {
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
struct RoundCtx {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/scim/v2`
    scim: String,
    auth: String,
    prefix: String,
    /// Set just before the kill: no new request is started after it.
    stop: AtomicBool,
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
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> Option<Outcome> {
    if ctx.stop.load(Ordering::SeqCst) {
        return None;
    }
    let start = Instant::now();
    let res = async {
        let r = ctx
            .http
            .request(method, format!("{}{path}", ctx.scim))
            .header("Authorization", &ctx.auth)
            .header("Content-Type", "application/scim+json")
            .body(serde_json::to_vec(body).expect("json"))
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(|e| format!("reading body: {e}"))?;
        Ok::<_, String>((status, bytes))
    }
    .await;
    let elapsed = start.elapsed();
    let error = match res {
        Ok((status, bytes)) => {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                rc.stats.record(kind, elapsed, None);
                *rc.acked.entry(kind).or_default() += 1;
                return Some(Outcome::Acked(body));
            }
            let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
            format!("{kind}: HTTP {status} {detail}")
        }
        Err(_) if ctx.stop.load(Ordering::SeqCst) => {
            // The server was killed under it: neither acknowledged nor an error.
            rc.in_flight_at_kill += 1;
            return Some(Outcome::Unacked);
        }
        Err(e) => format!("{kind}: {e}"),
    };
    rc.stats.record(kind, elapsed, Some(error.clone()));
    rc.errors += 1;
    rc.first_error.get_or_insert(error);
    Some(Outcome::Unacked)
}

fn id_of(body: &Value) -> Option<String> {
    body.get("id").and_then(Value::as_str).map(str::to_string)
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
    let value: Vec<Value> = ids.iter().map(|m| json!({"value": m})).collect();
    let body = json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": value}]
    });
    let path = format!("/Groups/{}", l.groups[g].id);
    match write(
        ctx,
        rc,
        "member_patch",
        reqwest::Method::PATCH,
        &path,
        &body,
    )
    .await
    {
        None => false,
        Some(Outcome::Acked(_)) => {
            l.groups[g].members.extend(ids);
            true
        }
        Some(Outcome::Unacked) => true,
    }
}

/// One writer: writes as fast as it can until the round's stop flag.
async fn writer(ctx: Arc<RoundCtx>, mut l: Ledger) -> (Ledger, RoundCounts) {
    let mut rc = RoundCounts::default();
    let (p, w) = (ctx.prefix.clone(), l.w);
    loop {
        let r = l.rng.below(100);
        let go = if l.users.len() < 3 || r < 55 {
            let i = l.next_user;
            l.next_user += 1;
            let body = user_body(&p, w, i);
            let name = user_name(&p, w, i);
            match write(
                &ctx,
                &mut rc,
                "user_post",
                reqwest::Method::POST,
                "/Users",
                &body,
            )
            .await
            {
                None => false,
                Some(Outcome::Acked(b)) => {
                    match id_of(&b) {
                        Some(id) => l.users.push(UserRec {
                            user_name: name,
                            id,
                            title: body["title"].as_str().unwrap_or_default().to_string(),
                            maybe_titles: Vec::new(),
                            acked_patches: 0,
                        }),
                        None => {
                            rc.errors += 1;
                            rc.first_error
                                .get_or_insert(format!("user_post: 2xx without an id: {b}"));
                        }
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
            let out = write(
                &ctx,
                &mut rc,
                "title_patch",
                reqwest::Method::PATCH,
                &path,
                &body,
            );
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
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": format!("{name}-ext")});
            match write(
                &ctx,
                &mut rc,
                "group_post",
                reqwest::Method::POST,
                "/Groups",
                &body,
            )
            .await
            {
                None => false,
                Some(Outcome::Acked(b)) => match id_of(&b) {
                    Some(id) => {
                        l.groups.push(GroupRec {
                            name,
                            id,
                            members: BTreeSet::new(),
                        });
                        let g = l.groups.len() - 1;
                        add_members(&ctx, &mut rc, &mut l, g).await
                    }
                    None => {
                        rc.errors += 1;
                        rc.first_error
                            .get_or_insert(format!("group_post: 2xx without an id: {b}"));
                        true
                    }
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

// ---------------------------------------------------------------------------------------
// Verification

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
        match http.get(url).header("Authorization", auth).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(b) if status < 500 => {
                        return Ok((status, serde_json::from_slice(&b).unwrap_or(Value::Null)))
                    }
                    Ok(_) => last = format!("GET {url}: HTTP {status}"),
                    Err(e) => last = format!("GET {url}: reading body: {e}"),
                }
            }
            Err(e) => last = format!("GET {url}: {e}"),
        }
    }
    Err(last)
}

fn resources(body: &Value) -> Vec<Value> {
    body.get("Resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
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
        enc(&format!("userName eq \"{}\"", q(&u.user_name)))
    );
    let found = match get(http, auth, &path).await {
        Ok((200, b)) => resources(&b),
        Ok((s, b)) => return Verdict::Unverified(format!("GET {path}: HTTP {s} {b}")),
        Err(e) => return Verdict::Unverified(e),
    };
    match found.as_slice() {
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
struct Verified {
    users: u64,
    groups: u64,
    lost: u64,
    lost_details: Vec<String>,
    unverified: u64,
    unverified_details: Vec<String>,
    unacked_landed: u64,
    unacked_absent: u64,
}

/// Checks every acknowledged write of every ledger (and whether this round's unacknowledged
/// POSTs landed) with `conc` concurrent clients; resolves titles that were in doubt.
async fn verify(
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
                            enc(&format!("userName eq \"{}\"", q(name)))
                        );
                        check_present(&http, &auth, url).await
                    }
                    Check::UnackedGroup(name) => {
                        let url = format!(
                            "{scim}/Groups?attributes=id&filter={}",
                            enc(&format!("displayName eq \"{}\"", q(name)))
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

// ---------------------------------------------------------------------------------------
// The check

/// Creates a SCIM token named `name` on an existing database with `scimd token create`.
fn create_token(a: &DurabilityArgs, database: &str, name: &str) -> Result<String, String> {
    let out = Command::new(&a.scimd)
        .args(["token", "create", "--name", name, "--database", database])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {} token create: {e}", a.scimd.display()))?;
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || secret.is_empty() {
        return Err(format!(
            "{} token create --name {name} --database {database} failed: {}",
            a.scimd.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(secret)
}

/// Runs the kill-durability check; `Ok(true)` when no acknowledged write was lost and
/// everything could be verified.
pub async fn run(a: DurabilityArgs) -> Result<bool, String> {
    if a.writers == 0 || a.kills == 0 {
        return Err("--writers and --kills must be at least 1".into());
    }
    if !a.scimd.is_file() {
        return Err(format!(
            "--scimd {}: no such file (build it with `cargo build -p scimd`)",
            a.scimd.display()
        ));
    }
    std::fs::create_dir_all(&a.dir).map_err(|e| format!("--dir {}: {e}", a.dir.display()))?;
    let dir = a
        .dir
        .canonicalize()
        .map_err(|e| format!("--dir {}: {e}", a.dir.display()))?;
    let db_path = dir.join("scimd.db");
    let database = match &a.synchronous {
        Some(mode) => format!("sqlite://{}?synchronous={mode}", db_path.display()),
        None => format!("sqlite://{}", db_path.display()),
    };
    let existed = db_path.exists();
    let prefix = a.prefix.clone().unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("dur-{secs}")
    });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.writers)
        .timeout(Duration::from_secs_f64(a.timeout))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let say = |msg: String| {
        if !a.json {
            eprintln!("durability: {msg}");
        }
    };

    let token = if existed {
        let name = format!("{prefix}-{}", std::process::id());
        say(format!(
            "reusing {}: creating token {name}",
            db_path.display()
        ));
        Some(create_token(&a, &database, &name)?)
    } else {
        None
    };
    let t0 = Instant::now();
    let mut server = start_server(&a, &dir, &database, 0, &http).await?;
    let first_start_s = t0.elapsed().as_secs_f64();
    let token = match token.or_else(|| server.token.clone()) {
        Some(t) => t,
        None => {
            return Err(format!(
                "scimd printed no SCIM token on first start (see {})",
                log_paths(&dir, 0).0.display()
            ))
        }
    };
    let auth = format!("Bearer {token}");
    say(format!(
        "scimd up at {} in {first_start_s:.2} s; database {}",
        server.base,
        db_path.display()
    ));

    let mut ledgers: Vec<Ledger> = (0..a.writers)
        .map(|w| Ledger {
            w,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ ((w as u64 + 1) * 0x1000_0001)),
            users: Vec::new(),
            groups: Vec::new(),
            next_user: 0,
            next_group: 0,
            next_title: 0,
            unacked_users: Vec::new(),
            unacked_groups: Vec::new(),
        })
        .collect();
    let mut rounds = Vec::new();
    let mut total = RoundCounts::default();
    let (mut lost, mut unverified) = (0u64, 0u64);
    let (mut lost_details, mut unverified_details) = (Vec::new(), Vec::new());
    let (mut landed, mut absent) = (0u64, 0u64);
    for k in 1..=a.kills {
        // Write.
        let ctx = Arc::new(RoundCtx {
            http: http.clone(),
            scim: format!("{}/scim/v2", server.base),
            auth: auth.clone(),
            prefix: prefix.clone(),
            stop: AtomicBool::new(false),
        });
        let start = Instant::now();
        let handles: Vec<_> = ledgers
            .drain(..)
            .map(|l| tokio::spawn(writer(ctx.clone(), l)))
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(a.run_secs.max(0.0))).await;
        // Kill while writes are in flight: no new request starts after `stop`.
        ctx.stop.store(true, Ordering::SeqCst);
        server.kill()?;
        let killed = Instant::now();
        let run_s = killed.duration_since(start).as_secs_f64();
        let mut rc = RoundCounts::default();
        for h in handles {
            let (l, c) = h.await.map_err(|e| format!("a writer failed: {e}"))?;
            ledgers.push(l);
            rc.merge(c);
        }
        ledgers.sort_by_key(|l| l.w);
        // Restart on the same database.
        drop(server);
        server = start_server(&a, &dir, &database, k, &http).await?;
        let restart_s = killed.elapsed().as_secs_f64();
        // Verify everything acknowledged so far.
        let vstart = Instant::now();
        let scim = format!("{}/scim/v2", server.base);
        let v = verify(&http, &auth, &scim, &mut ledgers, a.writers).await;
        let verify_s = vstart.elapsed().as_secs_f64();
        let acked_round: u64 = rc.acked.values().sum();
        let mut acked = serde_json::Map::new();
        for kind in WRITE_KINDS {
            acked.insert(kind.into(), json!(rc.acked.get(kind).copied().unwrap_or(0)));
        }
        acked.insert("total".into(), json!(acked_round));
        let round = json!({
            "round": k,
            "run_s": round3(run_s),
            "acked": acked,
            "acked_per_s": round2(acked_round as f64 / run_s.max(1e-9)),
            "in_flight_at_kill": rc.in_flight_at_kill,
            "unacked_posts_landed": v.unacked_landed,
            "unacked_posts_absent": v.unacked_absent,
            "errors": rc.errors,
            "first_error": rc.first_error,
            "kill_to_ready_s": round3(restart_s),
            "verified_users": v.users,
            "verified_groups": v.groups,
            "verify_s": round3(verify_s),
            "lost": v.lost,
            "unverified": v.unverified,
            "writes": rc.stats.report(run_s),
        });
        say(format!(
            "round {k}/{}: {acked_round} writes acknowledged in {run_s:.2} s ({} in flight at the kill, {} errors); \
             ready again {restart_s:.2} s after SIGKILL; verified {} users and {} groups in {verify_s:.2} s: {} lost{}",
            a.kills,
            rc.in_flight_at_kill,
            rc.errors,
            v.users,
            v.groups,
            v.lost,
            if v.unverified > 0 { format!(", {} unverified", v.unverified) } else { String::new() },
        ));
        for d in v.lost_details.iter().take(10) {
            say(format!("  LOST: {d}"));
        }
        for d in v.unverified_details.iter().take(5) {
            say(format!("  UNVERIFIED: {d}"));
        }
        rounds.push(round);
        total.merge(rc);
        lost += v.lost;
        unverified += v.unverified;
        landed += v.unacked_landed;
        absent += v.unacked_absent;
        lost_details.extend(v.lost_details);
        unverified_details.extend(v.unverified_details);
    }
    server.kill()?;

    let acked_total: u64 = total.acked.values().sum();
    let users: usize = ledgers.iter().map(|l| l.users.len()).sum();
    let groups: usize = ledgers.iter().map(|l| l.groups.len()).sum();
    let ok = lost == 0 && unverified == 0;
    let mut acked = serde_json::Map::new();
    for kind in WRITE_KINDS {
        acked.insert(
            kind.into(),
            json!(total.acked.get(kind).copied().unwrap_or(0)),
        );
    }
    acked.insert("total".into(), json!(acked_total));
    lost_details.truncate(100);
    unverified_details.truncate(100);
    let report = json!({
        "settings": {
            "scenario": "durability",
            "scimd": a.scimd.display().to_string(),
            "database": database,
            "reused_database": existed,
            "server_args": a.server_args,
            "writers": a.writers,
            "kills": a.kills,
            "run_secs": a.run_secs,
            "prefix": prefix,
        },
        "rounds": rounds,
        "durability": {
            "ok": ok,
            "acked": acked,
            "users_acked": users,
            "groups_acked": groups,
            "in_flight_at_kill": total.in_flight_at_kill,
            "unacked_posts_landed": landed,
            "unacked_posts_absent": absent,
            "errors": total.errors,
            "first_error": total.first_error,
            "lost": lost,
            "unverified": unverified,
            "lost_details": lost_details,
            "unverified_details": unverified_details,
        },
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!(
            "== durability: {} kills, {} writers, {} s of writing each; database {}",
            a.kills,
            a.writers,
            a.run_secs,
            db_path.display()
        );
        println!(
            "acknowledged writes: {acked_total} ({} user POSTs, {} title PATCHes, {} group POSTs, {} member PATCHes)",
            acked["user_post"], acked["title_patch"], acked["group_post"], acked["member_patch"]
        );
        println!(
            "in flight at the kills (no response): {}; unacknowledged POSTs found after restart: {landed}, absent: {absent}",
            total.in_flight_at_kill
        );
        println!(
            "errors while writing: {}{}",
            total.errors,
            total
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        for r in &rounds {
            println!(
                "  round {}: {} acked in {} s ({}/s), {} in flight, ready {} s after SIGKILL, verify {} s, lost {}",
                r["round"], r["acked"]["total"], r["run_s"], r["acked_per_s"], r["in_flight_at_kill"],
                r["kill_to_ready_s"], r["verify_s"], r["lost"]
            );
        }
        println!(
            "lost acknowledged writes: {lost}{}",
            if unverified > 0 {
                format!("; could not verify: {unverified}")
            } else {
                String::new()
            }
        );
        println!(
            "RESULT: {}",
            if ok {
                "PASS (no acknowledged write lost)"
            } else {
                "FAIL"
            }
        );
    }
    if total.in_flight_at_kill == 0 {
        eprintln!(
            "durability: warning: no write was in flight at any kill (the check did not race the kill)"
        );
    }
    Ok(ok)
}
