//! `scimd-bench baseline-server`: a bare axum handler answering every request with a small
//! JSON body, the reference `--scenario compare` measures scimd against.

use std::time::Duration;

/// Serves the baseline on `listen` (loopback addresses only) and prints the bound address;
/// stops after `max_seconds` (0: when killed). Errors: a non-loopback or unparsable address,
/// a failed bind.
pub async fn baseline_server(listen: &str, max_seconds: u64) -> Result<(), String> {
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
