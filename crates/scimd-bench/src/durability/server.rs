//! The scimd process under test: start it and wait until it is ready, kill it, read its
//! logs, and make a token with `scimd token create`.

use super::DurabilityArgs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `scimd serve`, killed (SIGKILL) and reaped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The SCIM token of the first start's secrets file, when this start wrote one.
    pub token: Option<String>,
}

impl Server {
    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix), then reaps the process.
    pub fn kill(&mut self) -> Result<(), String> {
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

/// The stdout and stderr log files of start number `n` in `dir`.
pub fn log_paths(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("server-{n}.stdout.log")),
        dir.join(format!("server-{n}.stderr.log")),
    )
}

/// Strips ANSI escape sequences (coloured log output): a CSI sequence (ESC `[`, parameters,
/// a final letter) goes whole; a lone ESC goes alone.
fn strip_ansi(s: &str) -> String {
    let mut pieces = s.split('\u{1b}');
    let mut out = pieces.next().unwrap_or_default().to_string();
    for piece in pieces {
        let kept = match piece.strip_prefix('[') {
            Some(csi) => csi
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or("", |end| &csi[end + 1..]),
            None => piece,
        };
        out.push_str(kept);
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

/// The secret (`scimd_` and 64 hex digits; 64 hex digits alone from a scimd before the
/// prefix) of the `Secret Token: …` line of the first start's `first-start-secrets.txt`.
fn find_secret(out: &str) -> Option<String> {
    out.lines()
        .filter(|l| l.to_ascii_lowercase().contains("token"))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .find(|w| {
            let hex = w.strip_prefix("scimd_").unwrap_or(w);
            hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
        .map(str::to_string)
}

/// The first start's secrets file in `dir`, scimd's data folder here.
pub fn secrets_path(dir: &Path) -> PathBuf {
    dir.join("first-start-secrets.txt")
}

/// Starts `scimd serve` on `database` (start number `n`, data folder `dir`) and waits until
/// `GET /readyz` answers 200.
pub async fn start_server(
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
        .arg("--data-dir")
        .arg(dir)
        .args(&a.server_args)
        // The load is the store's to bear: the per-credential rate limit would pace it
        // (unless the caller set it).
        .args(
            if a.server_args
                .iter()
                .any(|x| x.starts_with("--rate-limit-per-credential"))
            {
                &[][..]
            } else {
                &["--rate-limit-per-credential", "0"][..]
            },
        )
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
    // The secrets file is written before the database commits, so before `listening on`.
    if n == 0 {
        server.token = find_secret(&read_lossy(&secrets_path(dir)));
    }
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

/// Creates a SCIM token named `name` on an existing database with `scimd token create`.
pub fn create_token(a: &DurabilityArgs, database: &str, name: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn strip_ansi_removes_colour_sequences_and_keeps_the_text() {
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m listening on"),
            "2026  INFO listening on"
        );
        assert_eq!(strip_ansi("a\u{1b}b"), "ab", "a lone ESC goes alone");
        assert_eq!(
            strip_ansi("a\u{1b}[1;3"),
            "a",
            "an unfinished sequence goes to the end"
        );
    }
}
