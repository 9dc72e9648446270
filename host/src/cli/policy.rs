//! `autopack-host policy check|test|explain`: for project owners.

use super::common::{actor, catalog, config, service_fail};
use super::{EXIT_FAILED, EXIT_USAGE, fail};
use crate::governance::run_policy_tests;
use crate::secrets::ProcessEnv;
use crate::service::{Host, ProposeRequest, SystemClock, load};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub(super) enum PolicyCommand {
    /// Parse policy files and check them against the configured providers' operations.
    Check(CheckArgs),
    /// Run every `*.tests.toml` in a directory against its policy.
    Test(TestArgs),
    /// Print the decision one action would get now, with every reason; records nothing.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// A policy file or a directory of them.
    path: PathBuf,
    /// Host config whose providers form the catalog (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct TestArgs {
    /// A directory with `<project>.toml` and `<project>.tests.toml` files.
    dir: PathBuf,
    /// Host config whose providers form the catalog (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct ExplainArgs {
    /// The project.
    project: String,
    /// A JSON file: `{"domain", "operation", "params", "mode"}` (`-` for stdin).
    #[arg(long)]
    action: PathBuf,
    /// Host config (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Who would propose it (default `$USER`).
    #[arg(long = "as")]
    as_actor: Option<String>,
}

pub(super) async fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Check(a) => check(a).await,
        PolicyCommand::Test(a) => test(a).await,
        PolicyCommand::Explain(a) => explain(a).await,
    }
}

async fn check(args: CheckArgs) -> ExitCode {
    let cfg = match config(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalog = match catalog(&cfg).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match load::check_policies(&args.path, &catalog) {
        Ok(set) => {
            for p in set.iter() {
                println!("ok  {} (project `{}`)", p.file(), p.project());
            }
            println!("{} policies checked, no errors", set.len());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error[{}]: {e}", e.code());
            }
            eprintln!("{} error(s)", errors.len());
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn test(args: TestArgs) -> ExitCode {
    let cfg = match config(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalog = match catalog(&cfg).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let set = match load::check_policies(&args.dir, &catalog) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("error[{}]: {e}", e.code());
            }
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let tests = match load::parse_tests(&args.dir) {
        Ok(t) => t,
        Err(errors) => {
            for e in &errors {
                eprintln!("error[{}]: {e}", e.code());
            }
            return ExitCode::from(EXIT_FAILED);
        }
    };
    if tests.is_empty() {
        return fail(
            "no_policy_tests",
            format!("no `*.tests.toml` in `{}`", args.dir.display()),
            EXIT_USAGE,
        );
    }
    let (mut passed, mut failed) = (0, 0);
    for t in &tests {
        let report = run_policy_tests(set.get(t.project()), t, &catalog);
        println!("{report}");
        passed += report.passed();
        failed += report.failed();
    }
    println!("total: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

async fn explain(args: ExplainArgs) -> ExitCode {
    let cfg = match config(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let who = match actor(args.as_actor.as_deref()) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let text = if args.action.as_os_str() == "-" {
        let mut s = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            Ok(_) => s,
            Err(e) => return fail("action_unreadable", format!("stdin: {e}"), EXIT_USAGE),
        }
    } else {
        match std::fs::read_to_string(&args.action) {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    "action_unreadable",
                    format!("`{}`: {e}", args.action.display()),
                    EXIT_USAGE,
                );
            }
        }
    };
    let mut value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail("invalid_action", format!("not JSON: {e}"), EXIT_USAGE),
    };
    if let Some(obj) = value.as_object_mut() {
        obj.insert("project".into(), Value::String(args.project.clone()));
    }
    let request: ProposeRequest = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return fail("invalid_action", e, EXIT_USAGE),
    };
    let host = match Host::load(&cfg, &ProcessEnv, Arc::new(SystemClock)).await {
        Ok(h) => h,
        Err(e) => return service_fail(&e),
    };
    match host.explain(&who, &request).await {
        Ok(d) => {
            println!("verdict {}", d.verdict);
            if let Some(t) = d.tier {
                println!("tier    {t}");
            }
            for r in &d.reasons {
                let outcome = serde_json::to_value(r.outcome).unwrap_or(Value::Null);
                let gate = serde_json::to_value(r.gate).unwrap_or(Value::Null);
                println!(
                    "  {:<9} {:<8} {:<28} {}",
                    gate.as_str().unwrap_or(""),
                    outcome.as_str().unwrap_or(""),
                    r.code,
                    r.message
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => service_fail(&e),
    }
}
