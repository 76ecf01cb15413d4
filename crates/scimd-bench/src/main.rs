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

mod args;
mod baseline;
mod client;
pub mod durability;
mod scenarios;
mod scim;
mod stats;

use args::RunArgs;
use baseline::baseline_server;
use clap::{Parser, Subcommand};
use scenarios::run;

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
