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

mod server;
mod verify;
mod write;

use crate::scim::Rng;
use crate::stats::{round2, round3};
use clap::Args;
use serde_json::json;
use server::{create_token, log_paths, start_server};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use verify::verify;
use write::{writer, Ledger, RoundCounts, RoundCtx};

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
    if !existed {
        // A first start writes its secrets to a new file: one left by an earlier run of a
        // database since deleted would stop it.
        let _ = std::fs::remove_file(server::secrets_path(&dir));
    }
    let t0 = Instant::now();
    let mut server = start_server(&a, &dir, &database, 0, &http).await?;
    let first_start_s = t0.elapsed().as_secs_f64();
    let token = match token.or_else(|| server.token.clone()) {
        Some(t) => t,
        None => {
            return Err(format!(
                "scimd wrote no SCIM token on first start (see {} and {})",
                server::secrets_path(&dir).display(),
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
        let acked_round = rc.acked_total();
        let acked = rc.acked_report();
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

    let acked_total = total.acked_total();
    let users: usize = ledgers.iter().map(|l| l.users.len()).sum();
    let groups: usize = ledgers.iter().map(|l| l.groups.len()).sum();
    let ok = lost == 0 && unverified == 0;
    let acked = total.acked_report();
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
