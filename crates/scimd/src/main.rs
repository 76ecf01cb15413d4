//! The `scimd` binary; see [`scimd::cli`].

/// The global allocator: mimalloc (per-thread heaps; see Cargo.toml for why not glibc malloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    return_large_sqlite_buffers();
    scimd::cli::main()
}

/// SQLite allocates through the C library's `malloc`, not the Rust allocator: reading or
/// writing a resource of a few MiB (every value at the input limits, docs/security.md
/// "Input") takes a buffer of that size. glibc serves such a buffer with `mmap` and gives it
/// back on `free`, but then raises its mmap threshold to that size (up to 32 MiB), so the
/// following ones come from its per-thread arenas, which keep them: a server that had
/// stored and listed users at the limits stayed some 100 MiB larger. A fixed threshold of
/// 128 KiB (glibc's initial value) keeps every large buffer an mapping of its own, returned
/// when freed. Buffers under it, SQLite's page cache among them, are unaffected.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_sqlite_buffers() {
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_sqlite_buffers() {}
