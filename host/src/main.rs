//! The `autopack-host` binary.

fn main() -> std::process::ExitCode {
    autopack_host::cli::main()
}
