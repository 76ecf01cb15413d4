//! Integration-test harness: starts the real `scimd` binary on an ephemeral port and
//! speaks HTTP to it.
//!
//! - [`Server::start`] starts a server owned by the test (killed on drop);
//!   [`Server::shared`] starts one server per test binary, lazily, shared by the tests of
//!   that file (they use unique userNames / displayNames, see [`unique`]).
//! - Each server gets its own database: a fresh SQLite file under
//!   `target/tmp/scimd-tests/`, or, when `SCIMD_TEST_DATABASE_URL` is a `postgres://` URL,
//!   a fresh database created on that PostgreSQL server with `psql` (the same suite runs on
//!   both back ends).
//! - The server's stdout and stderr go to files in the server's directory; their path is
//!   printed in assertion messages ([`Server::logs`]) so a failure can be debugged. The
//!   server's data folder (`--data-dir`) is that directory too: the first start's token and
//!   administrator password are read from its `first-start-secrets.txt`.
//! - [`Client`] wraps reqwest with the bearer token and the SCIM base URL and checks, on
//!   every SCIM response with a body, that its `Content-Type` is `application/scim+json`.
#![allow(dead_code)]

pub mod portal;
pub mod site;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The scimd binary built by cargo for this test run.
pub const SCIMD: &str = env!("CARGO_BIN_EXE_scimd");

/// SCIM schema URNs used by the tests.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The enterprise User extension's string attributes (RFC 7643 §4.3; `manager` is complex),
/// in schema order: read from scim-proto's enterprise schema, whose unit tests pin the list
/// to the RFC's, as [`address_parts`] does.
pub fn enterprise_strings() -> Vec<String> {
    scim_proto::schema::enterprise_user_schema()
        .attributes
        .iter()
        .filter(|a| a.ty == scim_proto::schema::AttrType::String)
        .map(|a| a.name.clone())
        .collect()
}

/// The sub-attributes of an `addresses` element that carry the address (RFC 7643 §4.1.2),
/// without `type` and `primary`, in schema order: read from scim-proto's User schema, whose
/// unit tests pin the list to the RFC's, so the tests do not keep a second copy of it.
pub fn address_parts() -> Vec<String> {
    scim_proto::schema::user_schema()
        .attr("addresses")
        .expect("the User schema has addresses")
        .sub_attributes
        .iter()
        .map(|a| a.name.clone())
        .filter(|n| n != "type" && n != "primary")
        .collect()
}

/// The string `key` of each object of a JSON array, in order; panics on anything else.
pub fn strings_at<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|o| {
            o[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key}: {o}"))
        })
        .collect()
}

/// SCIM message URNs used by the tests.
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Asserts that `actual` holds every value of `expected`: objects are compared key by key
/// (keys of `actual` not in `expected` are not checked), anything else must be equal. The
/// message names the JSON path of the first difference and shows `actual`.
#[track_caller]
pub fn assert_includes(actual: &Value, expected: &Value) {
    fn walk(path: &str, actual: &Value, expected: &Value, whole: &Value) {
        match expected.as_object() {
            Some(fields) if actual.is_object() => {
                for (k, v) in fields {
                    walk(&format!("{path}.{k}"), &actual[k], v, whole);
                }
            }
            _ => assert_eq!(actual, expected, "at {path} in {whole}"),
        }
    }
    walk("$", actual, expected, actual);
}

/// Whether a resource's `schemas` lists the schema URN `urn`; panics when the resource has
/// no `schemas` array (RFC 7643 §3 requires one).
pub fn lists_schema(resource: &Value, urn: &str) -> bool {
    resource["schemas"]
        .as_array()
        .unwrap_or_else(|| panic!("no schemas array: {resource}"))
        .iter()
        .any(|u| u == urn)
}

/// Settings the test environment must not leak into the servers the tests start.
const SCIMD_ENV: &[&str] = &[
    "SCIMD_CONFIG",
    "SCIMD_LISTEN",
    "SCIMD_DATABASE",
    "SCIMD_PUBLIC_URL",
    "SCIMD_TLS_CERT",
    "SCIMD_TLS_KEY",
    "SCIMD_LOG_FORMAT",
    "SCIMD_LOG_LEVEL",
    "SCIMD_MAX_BODY_BYTES",
    "SCIMD_LOG_RETENTION_DAYS",
    "SCIMD_HEADER_READ_TIMEOUT_SECS",
    "SCIMD_BODY_READ_TIMEOUT_SECS",
    "SCIMD_IDLE_TIMEOUT_SECS",
    "SCIMD_REQUEST_TIMEOUT_SECS",
    "SCIMD_TLS_HANDSHAKE_TIMEOUT_SECS",
    "SCIMD_MAX_CONNECTIONS",
    "SCIMD_MAX_IDENTIFIER_BYTES",
    "SCIMD_MAX_STRING_BYTES",
    "SCIMD_MAX_VALUES",
    "SCIMD_MAX_MEMBERS_PER_REQUEST",
    "SCIMD_MAX_PAGE_BYTES",
    "SCIMD_STATEMENT_TIMEOUT_SECS",
];

/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A string unique in this test run and across runs: `<prefix>-<8 hex>-<n>`.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{n}", &r[..8])
}

/// A fresh random GUID, as Entra ID uses for its connection test.
pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Percent-encodes a query value (RFC 3986 unreserved kept, everything else `%XX`).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Encodes a query value the way HTML forms (and Entra ID) do: spaces as `+`.
pub fn form_enc(s: &str) -> String {
    s.split(' ').map(enc).collect::<Vec<_>>().join("+")
}

/// `?filter=<percent-encoded filter>`
pub fn filter_q(filter: &str) -> String {
    format!("filter={}", enc(filter))
}

fn tmp_root() -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scimd-tests");
    fs::create_dir_all(&p).expect("create target/tmp/scimd-tests");
    static PRUNED: std::sync::Once = std::sync::Once::new();
    PRUNED.call_once(|| prune_old_dirs(&p));
    p
}

/// Creates and returns a new, empty directory `target/tmp/scimd-tests/<unique(prefix)>`
/// for a test's own files (configuration, certificates, a SQLite database).
pub fn fresh_test_dir(prefix: &str) -> PathBuf {
    let dir = tmp_root().join(unique(prefix));
    fs::create_dir_all(&dir).expect("create a test directory under target/tmp/scimd-tests");
    dir
}

/// Removes server directories left by earlier runs (shared servers, failed tests) that
/// nothing has written to for an hour.
fn prune_old_dirs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let newest = fs::read_dir(&path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|f| f.metadata().ok()?.modified().ok())
            .chain(e.metadata().ok().and_then(|m| m.modified().ok()))
            .max();
        if newest
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600))
        {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// The database URL for a new server in `dir`: a fresh SQLite file, or a fresh PostgreSQL
/// database when `SCIMD_TEST_DATABASE_URL` is a `postgres://` / `postgresql://` URL.
fn fresh_database_url(dir: &Path, name: &str) -> String {
    fresh_postgres_database(name).unwrap_or_else(|| format!("sqlite://{}/scimd.db", dir.display()))
}

/// `SCIMD_TEST_DATABASE_URL` when it is a `postgres://` / `postgresql://` URL (the server
/// and maintenance database test databases are created through).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("SCIMD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// Creates a new, empty database `scimd_t_<name>` on the `SCIMD_TEST_DATABASE_URL`
/// server with `psql` and returns its URL; `None` when no PostgreSQL server is configured.
pub fn fresh_postgres_database(name: &str) -> Option<String> {
    match postgres_admin_url() {
        Some(url) => {
            let db: String = format!("scimd_t_{name}")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            psql(&url, &format!("CREATE DATABASE \"{db}\""));
            Some(replace_db_name(&url, &db))
        }
        None => None,
    }
}

/// Drops the PostgreSQL database `url` names (`WITH (FORCE)`), through the
/// `SCIMD_TEST_DATABASE_URL` server; errors ignored.
pub fn drop_postgres_database(url: &str) {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    if let Some(db) = url.split('?').next().and_then(|u| u.rsplit('/').next()) {
        let _ = psql_output(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
        );
    }
}

/// `psql URL -v ON_ERROR_STOP=1 -Atqc SQL`, run.
fn psql_output(url: &str, sql: &str) -> Output {
    Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .expect("SCIMD_TEST_DATABASE_URL is a postgres URL: `psql` must be installed")
}

/// Runs `sql` with `psql` on the database `url`; its output, trimmed. Panics with what psql
/// said when it fails.
pub fn psql(url: &str, sql: &str) -> String {
    let out = psql_output(url, sql);
    assert!(
        out.status.success(),
        "psql: {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `postgres://u:p@h:5432/old?x=y` with the database name replaced by `db`.
fn replace_db_name(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..host_end])
}

/// The first column of the first row of `sql` on the database `url` names, as text.
pub fn query_db(url: &str, sql: &str) -> String {
    if url.starts_with("postgres") {
        return psql(url, sql);
    }
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap();
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the SQLite database");
    c.query_row(sql, [], |r| {
        Ok(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Null => String::new(),
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            rusqlite::types::ValueRef::Real(f) => f.to_string(),
            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                String::from_utf8_lossy(t).to_string()
            }
        })
    })
    .expect(sql)
}

/// Runs a writing statement on the server's database (SQLite directly, PostgreSQL through
/// `psql`): what a crash would have left.
pub fn exec_db(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        psql(url, sql);
        return;
    }
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.execute_batch(sql).unwrap();
}

/// How long a running server may take to see a change another process (the CLI) made to
/// what it caches per request (a token revoked, settings changed): one poll of its watcher
/// (250 ms) and a read by design, with room for a loaded machine.
pub const CHANGE_SEEN_WITHIN: Duration = Duration::from_secs(2);

/// GETs `path` with `c` until it answers `status` (within [`CHANGE_SEEN_WITHIN`]); that
/// answer. Panics, with the last answer, when it does not come.
pub async fn answers_within(c: &Client, path: &str, status: u16) -> Resp {
    let start = Instant::now();
    loop {
        let r = c.get(path).await;
        if r.status == status || start.elapsed() > CHANGE_SEEN_WITHIN {
            assert_eq!(
                r.status, status,
                "GET {path} after {CHANGE_SEEN_WITHIN:?}: {}",
                r.text
            );
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Polls `f` until it is true, for up to `within`; whether it became true.
pub async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Strips ANSI escape sequences (colored log output).
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

fn read_to_string_lossy(p: &Path) -> String {
    let mut buf = vec![];
    if let Ok(mut f) = File::open(p) {
        let _ = f.read_to_end(&mut buf);
    }
    strip_ansi(&String::from_utf8_lossy(&buf))
}

/// The `http://127.0.0.1:PORT` printed after "listening on".
fn find_listen_url(log: &str) -> Option<String> {
    // Only whole lines: the server may be writing the last one as it is read.
    let complete = &log[..log.rfind('\n').map_or(0, |i| i + 1)];
    for line in complete.lines() {
        let lower = line.to_ascii_lowercase();
        if let Some(i) = lower.find("listening on") {
            let rest = &line[i + "listening on".len()..];
            let start = rest.find("http")?;
            let url: String = rest[start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'' && *c != ',')
                .collect();
            return Some(url.trim_end_matches('/').to_string());
        }
    }
    None
}

/// The first secret (`scimd_` and 64 hex characters, or the 64 hex characters of a token
/// made before the prefix) on a line that mentions a token, else anywhere.
fn find_secret(out: &str) -> Option<String> {
    let words = |line: &str| -> Option<String> {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| {
                let hex = w.strip_prefix("scimd_").unwrap_or(w);
                hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
            })
            .map(str::to_string)
    };
    out.lines()
        .filter(|l| l.to_ascii_lowercase().contains("token"))
        .find_map(words)
        .or_else(|| out.lines().find_map(words))
}

/// The administrator's password of the first start's secrets (`Password: …`).
fn find_password(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .map(|p| p.trim().to_string())
}

/// Arranges for the child to get SIGTERM when the thread that spawned it dies, so that a
/// test binary that exits (or crashes) never leaves servers behind.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Sets the child's `RLIMIT_NOFILE` (soft and hard) to `n`.
#[cfg(unix)]
fn limit_descriptors(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n as libc::rlim_t,
                rlim_max: n as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
#[cfg(not(unix))]
fn limit_descriptors(_cmd: &mut Command, _n: u64) {}

/// Raises this process's soft `RLIMIT_NOFILE` to at least `n` (within the hard limit);
/// returns the soft limit now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_own_descriptor_limit(n: u64) -> u64 {
    // SAFETY: plain getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if (lim.rlim_cur as u64) < n {
            lim.rlim_cur = (n as libc::rlim_t).min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur as u64
    }
}

/// Options for starting a server.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Extra arguments after `serve --listen ... --database ...`.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Use this database (when it is already initialised, the start writes no secrets:
    /// `token` is then "").
    pub database_url: Option<String>,
    /// Use this directory for the logs (and SQLite file) instead of a fresh one.
    pub dir: Option<PathBuf>,
    /// Start the server with this file-descriptor limit (soft and hard `RLIMIT_NOFILE`).
    pub nofile: Option<u64>,
    /// Keep the server's per-address rate limit as configured (its defaults unless `args`
    /// say otherwise). By default the harness raises it out of the way ([`LOOSE_ADDRESS_LIMIT`]):
    /// every test speaks from 127.0.0.1, so a whole test binary is one client address to the
    /// server, where a deployment sees many.
    pub rate_limited: bool,
}

/// What the harness gives servers instead of the per-address limit of requests without a
/// valid credential, unless [`Opts::rate_limited`].
pub const LOOSE_ADDRESS_LIMIT: [&str; 4] = [
    "--rate-limit-unauthenticated-per-minute",
    "1000000",
    "--rate-limit-unauthenticated-burst",
    "1000000",
];

/// A running `scimd serve`.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT/scim/v2`
    pub scim: String,
    /// The bootstrap SCIM bearer token.
    pub token: String,
    /// The `--database` URL.
    pub database_url: String,
    /// The server's directory (database, logs).
    pub dir: PathBuf,
    /// What the server printed on stdout when it was ready.
    pub stdout: String,
    /// The first start's `first-start-secrets.txt` ("" for a reused database).
    pub first_start: String,
    /// The first administrator's generated password ("" for a reused database).
    pub admin_password: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    pid: u32,
    child: Mutex<Option<Child>>,
    owned: bool,
    owns_dir: bool,
}

impl Server {
    /// Starts a server owned by the caller; it is killed when dropped.
    pub fn start() -> Server {
        Self::start_opts(Opts::default())
    }

    /// Starts a server of the test's own with these arguments after `serve` (as
    /// [`Opts::args`]) and the other options' defaults.
    pub fn start_args(args: &[&str]) -> Server {
        Server::start_opts(Opts {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        })
    }

    /// Starts a server with extra arguments / environment.
    pub fn start_opts(opts: Opts) -> Server {
        let mut s = spawn(opts);
        s.owned = true;
        s
    }

    /// One server per test binary, started on first use and ended when the test binary
    /// exits (its spawning thread lives as long as the process).
    pub fn shared() -> &'static Server {
        static SHARED: OnceLock<Server> = OnceLock::new();
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let s = spawn(Opts::default());
                tx.send(s).unwrap();
                loop {
                    std::thread::park();
                }
            });
            rx.recv()
                .expect("shared server thread died while starting scimd")
        })
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Paths of the server's logs, for assertion messages.
    pub fn logs(&self) -> String {
        format!(
            "server logs: {} and {}",
            self.stderr_path.display(),
            self.stdout_path.display()
        )
    }

    /// What the server wrote to stderr so far (ANSI colors stripped).
    pub fn stderr(&self) -> String {
        read_to_string_lossy(&self.stderr_path)
    }

    /// What the server wrote to stdout so far.
    pub fn stdout_now(&self) -> String {
        read_to_string_lossy(&self.stdout_path)
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.base
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string()
    }

    /// A client with the bootstrap token.
    pub fn client(&self) -> Client {
        Client::new(&self.scim, Some(&self.token))
    }

    /// A client with another token (or none).
    pub fn client_with(&self, token: Option<&str>) -> Client {
        Client::new(&self.scim, token)
    }

    /// A plain reqwest client for non-SCIM routes (`/healthz`, `/metrics`).
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap()
    }

    /// Runs `scimd ARGS` on the server's database, asserting success: (stdout, stderr).
    #[track_caller]
    pub fn cli_ok(&self, args: &[&str]) -> (String, String) {
        let out = self.cli(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(out.status.success(), "scimd {args:?}: {stdout}{stderr}");
        (stdout, stderr)
    }

    /// Runs `scimd <args> --database <this server's database>` and returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(SCIMD);
        for k in SCIMD_ENV {
            cmd.env_remove(k);
        }
        cmd.args(args)
            .arg("--database")
            .arg(&self.database_url)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run scimd CLI")
    }

    /// A new token of `scope` (`scim`, `admin`) made with `scimd token create`; its secret.
    pub fn new_token(&self, scope: &str) -> String {
        let name = unique(scope);
        let out = self.cli(&["token", "create", "--name", &name, "--scope", scope]);
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
        // `scimd_` and 64 hex characters (issue 16: secrets scanners recognise).
        assert!(
            secret.len() == 70 && secret.starts_with("scimd_"),
            "{secret:?}"
        );
        secret
    }

    /// Creates a token of scope `admin` (a unique name) with the CLI; returns its secret.
    pub fn admin_token(&self) -> String {
        self.new_token("admin")
    }

    /// A client of `<server>/api/v1` with a new admin token.
    pub fn admin(&self) -> Client {
        Client::new(&format!("{}/api/v1", self.base), Some(&self.admin_token()))
    }

    /// The first column of the first row of `sql` on the server's database, as text (SQLite
    /// through rusqlite, PostgreSQL through `psql`).
    pub fn query(&self, sql: &str) -> String {
        query_db(&self.database_url, sql)
    }

    /// Sends a signal to the server.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        let r = unsafe { libc::kill(self.pid as i32, sig) };
        assert_eq!(r, 0, "kill({}, {sig}) failed", self.pid);
    }

    /// Waits for the server to exit, up to `timeout`; `None` if it is still running.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut g = self.child.lock().unwrap();
                if let Some(c) = g.as_mut() {
                    if let Some(st) = c.try_wait().expect("try_wait") {
                        return Some(st);
                    }
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A passing test's server leaves nothing behind; a failing one keeps its logs.
        if self.owns_dir && !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
            if self.database_url.starts_with("postgres") {
                drop_postgres_database(&self.database_url);
            }
        }
    }
}

fn spawn(opts: Opts) -> Server {
    let name = unique("srv");
    let dir = opts.dir.clone().unwrap_or_else(|| tmp_root().join(&name));
    fs::create_dir_all(&dir).unwrap();
    let reused = opts.database_url.is_some();
    let database_url = opts
        .database_url
        .clone()
        .unwrap_or_else(|| fresh_database_url(&dir, &name));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (stdout_path, stderr_path) = if reused {
        (
            dir.join(format!("stdout-{n}.log")),
            dir.join(format!("stderr-{n}.log")),
        )
    } else {
        (dir.join("stdout.log"), dir.join("stderr.log"))
    };
    let mut cmd = Command::new(SCIMD);
    for k in SCIMD_ENV {
        cmd.env_remove(k);
    }
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &database_url,
        "--data-dir",
    ])
    .arg(&dir)
    .args(&opts.args)
    .args(if opts.rate_limited {
        &[][..]
    } else {
        &LOOSE_ADDRESS_LIMIT[..]
    })
    .env("NO_COLOR", "1")
    .env("RUST_BACKTRACE", "1")
    .stdin(Stdio::null())
    .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
    .stderr(Stdio::from(File::create(&stderr_path).unwrap()));
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    die_with_parent(&mut cmd);
    if let Some(n) = opts.nofile {
        limit_descriptors(&mut cmd, n);
    }
    let spawned = std::time::SystemTime::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {SCIMD}: {e}"));
    let deadline = Instant::now() + START_TIMEOUT;
    let secrets = dir.join("first-start-secrets.txt");
    let (base, token, stdout, first_start) = loop {
        let err = read_to_string_lossy(&stderr_path);
        let out = read_to_string_lossy(&stdout_path);
        let file = read_to_string_lossy(&secrets);
        let listen = find_listen_url(&err).or_else(|| find_listen_url(&out));
        // On a database given to reuse, a secrets file counts only when this start wrote
        // it (an earlier start on the same folder left its own).
        let written_now = fs::metadata(&secrets)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= spawned);
        match (listen.clone(), find_secret(&file)) {
            (Some(url), Some(secret)) if written_now || !reused => break (url, secret, out, file),
            (Some(url), _) if reused => break (url, String::new(), out, String::new()),
            _ => {}
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("scimd serve exited with {st} before it was ready\n--- stdout ---\n{out}\n--- stderr ---\n{err}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "scimd serve did not print `listening on http://...` (found: {listen:?}) and write a 64-hex bootstrap token to {} within {START_TIMEOUT:?}\n--- stdout ---\n{out}\n--- stderr ---\n{err}",
                secrets.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = child.id();
    Server {
        stdout_path,
        stderr_path,
        scim: format!("{base}/scim/v2"),
        base,
        token,
        database_url,
        dir,
        admin_password: find_password(&first_start).unwrap_or_default(),
        first_start,
        stdout,
        pid,
        child: Mutex::new(Some(child)),
        owned: false,
        owns_dir: opts.dir.is_none() && !reused,
    }
}

/// A response: status, headers, the JSON body (if the body parsed as JSON) and the raw text.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Option<Value>,
    pub text: String,
}

impl Resp {
    /// The JSON body; panics with the status and text when there is none.
    pub fn json(&self) -> &Value {
        self.body
            .as_ref()
            .unwrap_or_else(|| panic!("expected a JSON body, got {} {:?}", self.status, self.text))
    }
    /// A JSON Lines body (`format=jsonl` downloads): one JSON value per line; panics naming
    /// the line that does not parse.
    pub fn json_lines(&self) -> Vec<Value> {
        self.text
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("JSON Lines row {l:?}: {e}"))
            })
            .collect()
    }
    /// A header as a string ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    /// Asserts the status, showing the body on mismatch.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
    /// Asserts the status and that the `Content-Type` starts with `content_type` (a media
    /// type such as `text/csv`, parameters allowed after it); shows headers and body on
    /// mismatch.
    #[track_caller]
    pub fn expect_typed(&self, status: u16, content_type: &str) -> &Self {
        self.expect(status);
        let ct = self.header("content-type");
        assert!(
            ct.starts_with(content_type),
            "Content-Type {ct:?}, want {content_type}; headers {:?}; body {}",
            self.headers,
            self.text
        );
        self
    }
    /// Asserts an RFC 7644 §3.12 error with this status and scimType (None: no scimType required).
    #[track_caller]
    pub fn expect_error(&self, status: u16, scim_type: Option<&str>) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        let b = self.json();
        assert_eq!(
            b["schemas"],
            serde_json::json!([ERROR]),
            "error schemas: {b}"
        );
        assert_eq!(
            b["status"],
            Value::String(status.to_string()),
            "error status must be a string: {b}"
        );
        if let Some(t) = scim_type {
            assert_eq!(b["scimType"], Value::String(t.to_string()), "scimType: {b}");
        }
        assert!(
            b["detail"].as_str().is_some_and(|d| !d.trim().is_empty()),
            "error detail: {b}"
        );
        self
    }
    /// `Resources` of a ListResponse (empty when absent).
    pub fn resources(&self) -> Vec<Value> {
        self.json()
            .get("Resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
    /// The element of `Resources` whose member `key` is the string `value`; panics with the
    /// body when none is.
    pub fn resource_with(&self, key: &str, value: &str) -> Value {
        self.resources()
            .into_iter()
            .find(|r| r[key] == value)
            .unwrap_or_else(|| panic!("no resource with {key} {value:?}: {}", self.text))
    }
    /// `totalResults` of a ListResponse.
    pub fn total(&self) -> u64 {
        self.json()["totalResults"]
            .as_u64()
            .unwrap_or_else(|| panic!("no totalResults: {}", self.text))
    }
    /// `id` of a resource body.
    pub fn id(&self) -> String {
        self.string("id")
    }
    /// The string member `key` of the JSON body (a resource's `id`, a new token's `secret`);
    /// panics with the body when it is absent or not a string.
    pub fn string(&self, key: &str) -> String {
        self.json()[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}: {}", self.text))
            .to_string()
    }
}

/// An HTTP client bound to a SCIM base URL and a bearer token.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Client {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(16)
            .build()
            .unwrap();
        Client {
            base: base.to_string(),
            token: token.map(str::to_string),
            http,
        }
    }

    /// A request to `base + path` (path starts with `/`, query string verbatim) with the token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Sends, reads the body, and checks that a SCIM response with a body is
    /// `application/scim+json`.
    pub async fn send(&self, rb: RequestBuilder) -> Resp {
        let req = rb.build().expect("build request");
        let desc = format!("{} {}", req.method(), req.url());
        let r = self
            .http
            .execute(req)
            .await
            .unwrap_or_else(|e| panic!("{desc}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{desc}: reading body: {e}"));
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if !bytes.is_empty() && desc.contains("/scim/v2") {
            let ct = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(
                ct.starts_with("application/scim+json"),
                "{desc} answered {status} with Content-Type {ct:?}, want application/scim+json; body: {text}"
            );
            assert!(
                body.is_some(),
                "{desc} answered {status} with a body that is not JSON: {text}"
            );
        }
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.req(Method::DELETE, path)).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.json_req(Method::POST, path, body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.json_req(Method::PUT, path, body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(self.json_req(Method::PATCH, path, body)).await
    }
    /// Sends `body` verbatim with this `Content-Type` (for bodies that are not JSON, or
    /// types other than the one [`Client::json_req`] sets).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let rb = self
            .req(method, path)
            .header(CONTENT_TYPE, content_type)
            .body(body);
        self.send(rb).await
    }
    /// GET `path`, asserting 200 OK (the path and body shown on mismatch).
    pub async fn get_ok(&self, path: &str) -> Resp {
        let r = self.get(path).await;
        assert_eq!(
            r.status, 200,
            "GET {path}: unexpected status; body: {}",
            r.text
        );
        r
    }

    /// PATCH with a PatchOp body of one operation: `op` (`add`, `replace`, `remove`, any
    /// case) on the attribute path `attr_path` with this `value` (RFC 7644 §3.5.2).
    pub async fn patch_op(&self, path: &str, op: &str, attr_path: &str, value: Value) -> Resp {
        self.patch_ops(
            path,
            serde_json::json!([{"op": op, "path": attr_path, "value": value}]),
        )
        .await
    }

    /// PATCH `/Groups/{group_id}` adding the member `user_id` (an `Add` on `members`, as
    /// Entra ID sends it).
    pub async fn add_member(&self, group_id: &str, user_id: &str) -> Resp {
        self.patch_op(
            &format!("/Groups/{group_id}"),
            "Add",
            "members",
            serde_json::json!([{ "value": user_id }]),
        )
        .await
    }

    /// GET `resources` (`/Users`, `/Groups`) with this filter percent-encoded
    /// (RFC 7644 §3.4.2.2), whatever the status.
    pub async fn get_filtered(&self, resources: &str, filter: &str) -> Resp {
        self.get_filtered_with(resources, filter, "").await
    }

    /// [`Client::get_filtered`] with further query parameters `more` (`&`-prefixed, such as
    /// `&count=10`) after the filter.
    pub async fn get_filtered_with(&self, resources: &str, filter: &str, more: &str) -> Resp {
        self.get(&format!("{resources}?{}{more}", filter_q(filter)))
            .await
    }

    /// `POST /tokens` with `body` on a client of the admin API (base `/api/v1`), asserting
    /// 201 Created; the response, whose `secret` is shown this once.
    pub async fn create_api_token(&self, body: &Value) -> Resp {
        let r = self.post("/tokens", body).await;
        r.expect(201);
        r
    }

    /// PATCH with a PatchOp body made of these operations.
    pub async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        self.patch(
            path,
            &serde_json::json!({"schemas": [PATCH_OP], "Operations": ops}),
        )
        .await
    }

    /// A request with a JSON body sent as `application/scim+json`.
    pub fn json_req(&self, method: Method, path: &str, body: &Value) -> RequestBuilder {
        self.req(method, path)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/scim+json"),
            )
            .body(serde_json::to_vec(body).unwrap())
    }

    /// Creates a user with the given userName and the attributes every rule of the product
    /// needs (work email, given and family name); `extra` is merged over that body.
    pub async fn create_user(&self, user_name: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({
            "schemas": [USER],
            "userName": user_name,
            "name": {"givenName": "Given", "familyName": "Family"},
            "emails": [{"value": format!("{}@example.com", user_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-', "_")), "type": "work", "primary": true}],
            "active": true,
        });
        merge(&mut body, extra);
        let r = self.post("/Users", &body).await;
        assert_eq!(r.status, 201, "create user {user_name}: {}", r.text);
        r.body.unwrap()
    }

    /// [`Client::create_user`], returning the new user's `id`.
    pub async fn create_user_id(&self, user_name: &str, extra: Value) -> String {
        let u = self.create_user(user_name, extra).await;
        u["id"]
            .as_str()
            .unwrap_or_else(|| panic!("created user without an id: {u}"))
            .to_string()
    }

    /// Creates users named `names` (as [`Client::create_user`]), 8 at a time; their ids, in
    /// the order of `names`.
    pub async fn create_users(&self, names: Vec<String>) -> Vec<String> {
        let c = self.clone();
        concurrent(names, 8, move |n| {
            let c = c.clone();
            async move { c.create_user_id(&n, serde_json::json!({})).await }
        })
        .await
    }

    /// Creates a group with the given displayName.
    pub async fn create_group(&self, display_name: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({"schemas": [GROUP], "displayName": display_name});
        merge(&mut body, extra);
        let r = self.post("/Groups", &body).await;
        assert_eq!(r.status, 201, "create group {display_name}: {}", r.text);
        r.body.unwrap()
    }

    /// The `value`s of a group's members, sorted.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let r = self.get(&format!("/Groups/{group_id}")).await;
        r.expect(200);
        let mut v: Vec<String> = r.json()["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// `GET /Users?filter=...` (percent-encoded) → the matching resources.
    pub async fn filter_users(&self, filter: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/Users?{}&count=1000", filter_q(filter)))
            .await;
        assert_eq!(r.status, 200, "filter {filter:?}: {}", r.text);
        r.resources()
    }

    /// userNames of `GET /Users?filter=...` results, in response order.
    pub async fn filter_user_names(&self, filter: &str) -> Vec<String> {
        self.filter_users(filter)
            .await
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Sends a POST over a raw connection (the body written from another thread, write errors
/// ignored, so a server that answers before reading the whole body is seen answering) and
/// returns the raw response. `chunked`: send the body with chunked transfer encoding.
pub fn raw_post(addr: &str, path: &str, token: &str, body: &[u8], chunked: bool) -> String {
    raw_request("POST", addr, path, token, body, chunked)
}

/// [`raw_post`] with another method (`PUT`, `PATCH` ...).
pub fn raw_request(
    method: &str,
    addr: &str,
    path: &str,
    token: &str,
    body: &[u8],
    chunked: bool,
) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("write head");
    let mut w = s.try_clone().unwrap();
    let body = body.to_vec();
    let writer = std::thread::spawn(move || {
        if chunked {
            for part in body.chunks(64 * 1024) {
                if w.write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .is_err()
                    || w.write_all(part).is_err()
                    || w.write_all(b"\r\n").is_err()
                {
                    return;
                }
            }
            let _ = w.write_all(b"0\r\n\r\n");
        } else {
            let _ = w.write_all(&body);
        }
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    String::from_utf8_lossy(&out).to_string()
}

/// Decodes a chunked HTTP/1.1 body.
pub fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// Deep-merges `extra` into `base` (objects merged key by key, anything else replaced).
pub fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// Sorted copy of a list of strings.
pub fn sorted<S: AsRef<str>>(v: &[S]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.as_ref().to_string()).collect();
    out.sort();
    out
}

/// Runs `f` over `items` with at most `n` in flight.
pub async fn concurrent<T, F, Fut, R>(items: Vec<T>, n: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(n));
    let mut handles = vec![];
    for it in items {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let fut = f(it);
        handles.push(tokio::spawn(async move {
            let r = fut.await;
            drop(permit);
            r
        }));
    }
    let mut out = vec![];
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_and_secret() {
        let err = "2026-01-01T00:00:00Z  INFO scimd: listening on http://127.0.0.1:41234\n";
        assert_eq!(
            find_listen_url(err).as_deref(),
            Some("http://127.0.0.1:41234")
        );
        let out = format!(
            "SCIM base URL: http://127.0.0.1:41234/scim/v2\nSecret Token: {}\n",
            "ab".repeat(32)
        );
        assert_eq!(find_secret(&out), Some("ab".repeat(32)));
        assert_eq!(
            replace_db_name("postgres://u:p@h:5432/x?sslmode=disable", "y"),
            "postgres://u:p@h:5432/y?sslmode=disable"
        );
        assert_eq!(replace_db_name("postgres://h", "y"), "postgres://h/y");
        assert_eq!(form_enc("userName eq \"a b\""), "userName+eq+%22a+b%22");
    }
}
