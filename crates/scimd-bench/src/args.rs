//! The options of a load run (`scimd-bench [OPTIONS]`, no subcommand).

use clap::{Args, ValueEnum};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Initial,
    Seed,
    Incremental,
    Groups,
    Reads,
    Baseline,
    Compare,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long, default_value = "http://127.0.0.1:8080/scim/v2")]
    pub url: String,
    /// Bearer token; repeat it to give simulated tenants different tokens (tenant k uses
    /// token k mod count).
    #[arg(long, env = "SCIMD_BENCH_TOKEN")]
    pub token: Vec<String>,
    /// File of the tenants of a multi-tenant scimd, one a line: `SCIM_BASE_URL TOKEN` (e.g.
    /// `http://127.0.0.1:8080/t/acme/scim/v2 scimd_...`, as `scimd tenant create --json`
    /// prints them); simulated tenant k speaks to line k mod count, instead of --url and
    /// --token.
    #[arg(long, value_name = "FILE")]
    pub tenants_file: Option<std::path::PathBuf>,
    /// The lines of --tenants-file, read at start: `(SCIM base URL, token)`.
    #[arg(skip)]
    pub tenant_targets: Vec<(String, String)>,
    /// Base URL of the baseline server (scenarios `baseline` and `compare`).
    #[arg(long)]
    pub baseline_url: Option<String>,
    /// Scenario to run.
    #[arg(long, value_enum, default_value = "reads")]
    pub scenario: Scenario,
    /// Simulated tenants: each has its own HTTP client (connection pool) and its own users.
    #[arg(long, default_value_t = 1)]
    pub tenants: usize,
    /// Concurrent requests per tenant.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Users per tenant (created by initial/seed, addressed by incremental/reads).
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// First user index (seed/initial create users `--user-offset .. --user-offset+--users`).
    #[arg(long, default_value_t = 0)]
    pub user_offset: usize,
    /// Groups per tenant (initial).
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    /// Members per group (initial); taken from the tenant's users in order, wrapping.
    #[arg(long, default_value_t = 100)]
    pub group_size: usize,
    /// Members added per group PATCH (initial).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// In `reads`, `incremental`, `baseline` and `compare`, every simulated tenant addresses
    /// the users of tenant 0 (for a directory filled by one `initial` or `seed` tenant).
    #[arg(long)]
    pub shared_users: bool,
    /// Name prefix of the generated users and groups (same prefix = same users).
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// At most this many requests a second per simulated tenant (0: as fast as answers come),
    /// in every scenario. A request due later waits before it is sent; its latency is timed
    /// from when it is sent.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// `incremental`, `initial` and `seed`: the simulated tenants start evenly spread over
    /// this many seconds (tenant k of N starts k/N of it after the run's start).
    #[arg(long, default_value_t = 0.0)]
    pub start_spread: f64,
    /// Stop after this many seconds, whatever is left.
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    /// Stop after this many requests (all kinds, all tenants).
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Request kinds of the `reads` scenario, comma-separated, from: username, externalid,
    /// email, id, page, page1, pagedeep.
    #[arg(long, default_value = "username,externalid,email,id,page")]
    pub kinds: String,
    /// `count` of the paging kinds.
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Page number (1-based) of `pagedeep`; default: 90% of the way through the users.
    #[arg(long)]
    pub deep_page: Option<usize>,
    /// Rounds of `compare` (each round runs scimd then the baseline for --duration/rounds/2).
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Warm-up seconds before measuring in `reads`, `baseline` and `compare`.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// PID of the server, on this machine: its RSS (VmRSS, VmHWM) is reported.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}
