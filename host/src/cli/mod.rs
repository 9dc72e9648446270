//! The `autopack-host` command line.
//!
//! Exit codes: 0 success, 1 a refused or failed operation, 2 bad usage or
//! configuration (clap's own usage errors also exit 2).

mod audit;
mod common;
mod keys;
mod payload;
mod plugin;
mod policy;
mod serve;
mod switch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for a refused or failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for bad usage or configuration.
pub const EXIT_USAGE: u8 = 2;

/// Autopack Host: the governed gate for side effects of autonomous work.
#[derive(Debug, Parser)]
#[command(name = "autopack-host", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (without --config: the built-in development defaults).
    Serve(serve::ServeArgs),
    /// For operators: make API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Tools for plugin integrators: inspect a component, run one call in the sandbox.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// For project owners: check, test and explain project policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Canonical JSON (RFC 8785) of a payload and its SHA-256.
    #[command(subcommand)]
    Payload(payload::PayloadCommand),
    /// For operators: list and flip kill switches (each flip audited).
    #[command(subcommand)]
    Switch(switch::SwitchCommand),
    /// For auditors: verify or export the audit chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Keys(cmd) => keys::run(cmd),
            Command::Plugin(cmd) => plugin::run(cmd).await,
            Command::Policy(cmd) => policy::run(cmd).await,
            Command::Payload(cmd) => payload::run(cmd),
            Command::Switch(cmd) => switch::run(cmd).await,
            Command::Audit(cmd) => audit::run(cmd).await,
        }
    })
}

/// Logs go to stderr, filtered by `AUTOPACK_LOG`. The server logs JSON lines at `info`
/// (one line per request) unless `AUTOPACK_LOG_FORMAT=text`; other commands log text at
/// `warn`.
fn init_tracing(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTOPACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = server && std::env::var("AUTOPACK_LOG_FORMAT").map_or(true, |v| v != "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Prints an error with its stable code and returns the exit code.
pub(crate) fn fail(code: &str, message: impl std::fmt::Display, exit: u8) -> ExitCode {
    eprintln!("error[{code}]: {message}");
    ExitCode::from(exit)
}
