//! Kill durability of the SQLite store: the product rule "a write acknowledged is a write
//! kept: nothing lost when the process is killed".
//!
//! Each test starts the real `scimd` binary on a fresh SQLite database and lets [`WRITERS`]
//! concurrent writers `POST /Users` new users and `PATCH` (replace `title`) users already
//! acknowledged. While writes are in flight the server gets SIGKILL (no graceful stop); it is
//! restarted on the same database and every acknowledged (2xx) write is read back over SCIM:
//! `GET /Users?filter=userName eq "…"` must return exactly that user (same id) with its last
//! acknowledged title, or the title of a later PATCH that got no answer. [`ROUNDS`] kill
//! rounds on the same, growing database; each re-verifies everything acknowledged so far.
//! Once with the default settings (`synchronous=normal`), once with `?synchronous=full`.
//!
//! A compact version of `scimd-bench durability` (crates/scimd-bench/src/durability/).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent writers, each one request at a time.
const WRITERS: usize = 8;
/// Kill / restart / verify rounds.
const ROUNDS: usize = 2;
/// Writing time before each kill.
const RUN: Duration = Duration::from_millis(1500);
/// Fewer acknowledged writes than this and the test proves nothing.
const MIN_ACKED: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_default_sqlite() {
    kill_rounds("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_sqlite_synchronous_full() {
    kill_rounds("?synchronous=full").await;
}

/// A user whose POST was acknowledged.
struct Acked {
    user_name: String,
    id: String,
    /// The last acknowledged title (the POST's or the last acknowledged PATCH's).
    title: String,
    /// Titles of later PATCHes that got no 2xx: they may or may not have landed.
    maybe: Vec<String>,
}

/// One writer's acknowledged users, kept across rounds (only this writer writes them, one
/// request at a time, so "the last acknowledged title" is well defined).
struct Ledger {
    w: usize,
    users: Vec<Acked>,
    /// Writes attempted so far (makes userNames and titles unique).
    n: usize,
}

/// One writer's counts for one round.
#[derive(Default)]
struct Counts {
    posts: u64,
    patches: u64,
    /// No answer after the kill was decided: in flight at the kill.
    in_flight: u64,
    /// Non-2xx answers and transport errors before the kill.
    errors: Vec<String>,
}

fn user_body(user_name: &str, title: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Kill", "familyName": "Durability"},
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
        "active": true,
        "title": title,
    })
}

/// Writes until `stop`: every other write a new user, else a title PATCH of one of this
/// writer's acknowledged users (round robin).
async fn writer(
    c: Client,
    prefix: String,
    stop: Arc<AtomicBool>,
    mut l: Ledger,
) -> (Ledger, Counts) {
    let mut k = Counts::default();
    while !stop.load(Ordering::SeqCst) {
        l.n += 1;
        let title = format!("w{}-t{}", l.w, l.n);
        let user_name = format!("{prefix}-w{}-u{}", l.w, l.n);
        let target =
            (!l.users.is_empty() && l.n.is_multiple_of(2)).then(|| (l.n / 2) % l.users.len());
        let rb = match target {
            Some(i) => {
                let ops = json!([{"op": "replace", "path": "title", "value": title}]);
                let body = json!({"schemas": [PATCH_OP], "Operations": ops});
                let path = format!("/Users/{}", l.users[i].id);
                c.json_req(Method::PATCH, &path, &body)
            }
            None => c.json_req(Method::POST, "/Users", &user_body(&user_name, &title)),
        };
        let res = async {
            let r = rb.timeout(Duration::from_secs(30)).send().await?;
            Ok::<_, reqwest::Error>((r.status(), r.json::<Value>().await?))
        }
        .await;
        match (res, target) {
            (Ok((st, _)), Some(i)) if st.is_success() => {
                l.users[i].title = title;
                l.users[i].maybe.clear();
                k.patches += 1;
            }
            (Ok((st, body)), None) if st.is_success() => {
                let id = body["id"].as_str().expect("POST answer has an id").into();
                let maybe = vec![];
                l.users.push(Acked {
                    user_name,
                    id,
                    title,
                    maybe,
                });
                k.posts += 1;
            }
            (res, target) => {
                if let Some(i) = target {
                    l.users[i].maybe.push(title);
                }
                match res {
                    Err(_) if stop.load(Ordering::SeqCst) => k.in_flight += 1,
                    Err(e) => k.errors.push(e.to_string()),
                    Ok((st, body)) => k.errors.push(format!("{st}: {body}")),
                }
            }
        }
    }
    (l, k)
}

/// Reads back every acknowledged user; returns how many were checked and the losses. A user
/// found intact has its title settled (whatever landed is now the last value).
async fn verify(c: &Client, ledgers: &mut [Ledger]) -> (usize, Vec<String>) {
    let items: Vec<(usize, usize, String, String, Vec<String>)> = ledgers
        .iter()
        .enumerate()
        .flat_map(|(w, l)| {
            l.users.iter().enumerate().map(move |(i, u)| {
                let mut allowed = vec![u.title.clone()];
                allowed.extend(u.maybe.iter().cloned());
                (w, i, u.user_name.clone(), u.id.clone(), allowed)
            })
        })
        .collect();
    let checked = items.len();
    let results = concurrent(items, WRITERS, |(w, i, name, id, allowed)| {
        let c = c.clone();
        async move {
            let found = c.filter_users(&format!("userName eq \"{name}\"")).await;
            let title = found.first().and_then(|u| u["title"].as_str());
            let ok = found.len() == 1
                && found[0]["id"] == json!(id)
                && found[0]["userName"] == json!(name)
                && title.is_some_and(|t| allowed.iter().any(|a| a == t));
            let verdict = match ok {
                true => Ok(title.unwrap_or_default().to_string()),
                false => Err(format!(
                    "{name} (id {id}, writer {w}): want exactly it with title in {allowed:?}, found {}",
                    Value::Array(found)
                )),
            };
            (w, i, verdict)
        }
    })
    .await;
    let mut lost = vec![];
    for (w, i, verdict) in results {
        match verdict {
            Ok(title) => {
                let u = &mut ledgers[w].users[i];
                u.title = title;
                u.maybe.clear();
            }
            Err(e) => lost.push(e),
        }
    }
    (checked, lost)
}

/// Starts scimd on a fresh SQLite database (URL suffix `query`), then [`ROUNDS`] times:
/// write, SIGKILL, restart, verify.
async fn kill_rounds(query: &str) {
    let t0 = Instant::now();
    let db = if query.is_empty() { "default" } else { query };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scimd-tests")
        .join(unique("kill"));
    std::fs::create_dir_all(&dir).unwrap();
    // Always SQLite, also when the suite runs on PostgreSQL (SCIMD_TEST_DATABASE_URL).
    let opts = Opts {
        database_url: Some(format!("sqlite://{}/scimd.db{query}", dir.display())),
        dir: Some(dir.clone()),
        ..Default::default()
    };
    let mut srv = Server::start_opts(opts.clone());
    let token = srv.token.clone();
    assert!(!token.is_empty(), "no bootstrap token; {}", srv.logs());
    let prefix = unique("kill");
    let new_ledger = |w| Ledger {
        w,
        users: vec![],
        n: 0,
    };
    let mut ledgers: Vec<Ledger> = (0..WRITERS).map(new_ledger).collect();
    let (mut acked, mut in_flight) = (0u64, 0u64);
    for round in 1..=ROUNDS {
        let c = srv.client_with(Some(&token));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = ledgers
            .drain(..)
            .map(|l| tokio::spawn(writer(c.clone(), prefix.clone(), stop.clone(), l)))
            .collect();
        tokio::time::sleep(RUN).await;
        // No new request starts after `stop`; the ones already sent are cut by the kill.
        stop.store(true, Ordering::SeqCst);
        srv.signal(libc::SIGKILL);
        let st = srv
            .wait_exit(Duration::from_secs(10))
            .expect("scimd dies on SIGKILL");
        assert_eq!(st.signal(), Some(libc::SIGKILL), "{st}; {}", srv.logs());
        let (mut posts, mut patches, mut cut, mut errors) = (0, 0, 0, vec![]);
        for h in writers {
            let (l, c) = h.await.expect("writer task");
            ledgers.push(l);
            (posts, patches, cut) = (posts + c.posts, patches + c.patches, cut + c.in_flight);
            errors.extend(c.errors);
        }
        ledgers.sort_by_key(|l| l.w);
        acked += posts + patches;
        in_flight += cut;
        // Restart on the same database and read everything back.
        srv = Server::start_opts(opts.clone());
        let (checked, lost) = verify(&srv.client_with(Some(&token)), &mut ledgers).await;
        eprintln!(
            "kill_durability[{db}]: round {round}: acknowledged {posts} POSTs + {patches} PATCHes, {cut} in flight at SIGKILL, {} errors {:?}; verified {checked} users: {} lost",
            errors.len(), &errors[..errors.len().min(3)], lost.len()
        );
        assert!(
            lost.is_empty(),
            "round {round}: {} of {checked} acknowledged users lost or stale after SIGKILL and restart ({}):\n{}",
            lost.len(),
            srv.logs(),
            lost.join("\n")
        );
    }
    assert!(
        acked >= MIN_ACKED,
        "only {acked} writes acknowledged in {ROUNDS} rounds: the check proved nothing; {}",
        srv.logs()
    );
    assert!(
        in_flight > 0,
        "no write was in flight at any SIGKILL: the kill did not race the writes"
    );
    eprintln!(
        "kill_durability[{db}]: {acked} acknowledged writes kept over {ROUNDS} SIGKILLs in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
