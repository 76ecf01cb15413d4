//! The `scimd` binary; see [`scimd::cli`].

fn main() -> std::process::ExitCode {
    scimd::cli::main()
}
