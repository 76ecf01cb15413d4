//! The `scimd` binary; see [`scimd::cli`].

/// The global allocator: mimalloc (per-thread heaps; see Cargo.toml for why not glibc malloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scimd::cli::main()
}
