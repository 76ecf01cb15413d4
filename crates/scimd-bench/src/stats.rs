//! Statistics of a run: an HDR histogram and an error count per request kind, the JSON
//! report made of them, the server's memory, and the text output.

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

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
pub struct Stats {
    kinds: BTreeMap<&'static str, KindStats>,
}

impl Stats {
    /// Records one request of `kind` that took `elapsed`; `error` when it failed (the first
    /// error of a kind is kept for the report).
    pub fn record(&mut self, kind: &'static str, elapsed: Duration, error: Option<String>) {
        let k = self.kinds.entry(kind).or_insert_with(KindStats::new);
        k.hist.saturating_record(elapsed.as_micros().max(1) as u64);
        if let Some(e) = error {
            k.errors += 1;
            if k.first_error.is_none() {
                k.first_error = Some(e);
            }
        }
    }

    /// Adds `other`'s requests to these.
    pub fn merge(&mut self, other: Stats) {
        for (name, o) in other.kinds {
            let k = self.kinds.entry(name).or_insert_with(KindStats::new);
            k.hist.add(&o.hist).expect("same histogram bounds");
            k.errors += o.errors;
            if k.first_error.is_none() {
                k.first_error = o.first_error;
            }
        }
    }

    /// Requests recorded, all kinds.
    pub fn total(&self) -> u64 {
        self.kinds.values().map(|k| k.hist.len()).sum()
    }

    /// The JSON report of a phase of `secs` seconds: totals, and per kind count, errors,
    /// requests/s, p50/p99/max/mean latency in ms and the first error.
    pub fn report(&self, secs: f64) -> Value {
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
        let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
        for k in self.kinds.values() {
            all.add(&k.hist).expect("same histogram bounds");
        }
        json!({
            "seconds": round3(secs),
            "all_p50_ms": ms(all.value_at_quantile(0.50)),
            "all_p99_ms": ms(all.value_at_quantile(0.99)),
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
/// `x` rounded to 2 decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
/// `x` rounded to 3 decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
// ---------------------------------------------------------------------------------------
// Server memory

/// VmRSS and VmHWM (MiB) of process `pid` from /proc (Linux); `None` when unreadable.
pub fn rss(pid: u32) -> Option<Value> {
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

/// Prints a [`Stats::report`] as a table, one row per request kind.
pub fn print_text(title: &str, report: &Value) {
    println!(
        "== {title}: {} requests in {} s ({} req/s), {} errors",
        report["requests"], report["seconds"], report["requests_per_s"], report["errors"]
    );
    println!(
        "   all kinds: p50 {} ms, p99 {} ms",
        report["all_p50_ms"], report["all_p99_ms"]
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
