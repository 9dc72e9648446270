//! `autopack-host plugin inspect|run`: the integrator's harness.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_FAILED, EXIT_USAGE, fail};
use crate::config::HostConfig;
use crate::governance::Mode;
use crate::runtime::types::CallContext;
use crate::runtime::{Runtime, RuntimeOptions};
use crate::sandbox::egress::Profile;
use crate::secrets::ProcessEnv;

#[derive(Debug, Subcommand)]
pub(super) enum PluginCommand {
    /// Show a component's digest, imports, operations (effect → tier), schemas,
    /// and the origins, secrets and settings it needs.
    Inspect(InspectArgs),
    /// Run validate + execute of one operation in the real sandbox.
    ///
    /// BYPASSES GOVERNANCE: no policy, no switches, no approvals, no ledger.
    /// The sandbox still applies: only the config's grants, the chosen
    /// profile, and the provider's limits. For integrators testing a plugin.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub(super) struct InspectArgs {
    /// The component (`.wasm`).
    component: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// GET/HEAD only; writes are blocked and recorded.
    ReadOnly,
    /// Any method to granted origins.
    Write,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// The plugin is told to preview.
    DryRun,
    /// The plugin is told to act.
    Live,
}

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Host config file with the provider's `[[providers]]` entry.
    #[arg(long)]
    config: PathBuf,
    /// Provider domain.
    domain: String,
    /// Operation name.
    operation: String,
    /// Params as JSON.
    #[arg(long, default_value = "{}")]
    params: String,
    /// Capability profile of the execute call.
    #[arg(long, value_enum, default_value_t = ProfileArg::ReadOnly)]
    profile: ProfileArg,
    /// Mode passed to the plugin.
    #[arg(long, value_enum, default_value_t = ModeArg::DryRun)]
    mode: ModeArg,
}

pub(super) async fn run(cmd: PluginCommand) -> ExitCode {
    match cmd {
        PluginCommand::Inspect(a) => inspect(a).await,
        PluginCommand::Run(a) => run_one(a).await,
    }
}

async fn inspect(args: InspectArgs) -> ExitCode {
    let bytes = match std::fs::read(&args.component) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                "component_unreadable",
                format!("`{}`: {e}", args.component.display()),
                EXIT_USAGE,
            );
        }
    };
    let runtime = match Runtime::new(&RuntimeOptions {
        pooling: false,
        ..RuntimeOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => return fail("runtime_failed", e, EXIT_FAILED),
    };
    let inspection = match runtime.inspect(&bytes).await {
        Ok(i) => i,
        Err(e) => {
            return fail(
                "component_invalid",
                format!("`{}`: {e:#}", args.component.display()),
                EXIT_FAILED,
            );
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inspection).unwrap_or_default()
        );
    } else {
        println!("component  {}", args.component.display());
        println!("sha256     {}", inspection.sha256);
        println!("exports    {}", inspection.exports.join(", "));
        println!("imports    {}", inspection.imports.join(", "));
        if let Some(info) = &inspection.info {
            println!("domain     {}", info.domain);
            println!("version    {}", info.version);
            println!("origins    {}", list(&info.origins));
            println!("secrets    {}", list(&info.secrets));
            println!("settings   {}", list(&info.settings));
            println!(
                "lookup     {}",
                if info.supports_lookup {
                    "supported"
                } else {
                    "not supported"
                }
            );
            println!("operations");
            for op in &info.operations {
                println!(
                    "  {:<24} {:<8} tier {}  {}",
                    op.name,
                    op.effect.as_str(),
                    op.tier,
                    op.summary
                );
                println!("    params {}", op.params_schema);
                println!(
                    "    spend  {}",
                    serde_json::to_string(&op.spend).unwrap_or_default()
                );
            }
        }
        for p in &inspection.problems {
            println!("problem    {p}");
        }
    }
    if inspection.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

async fn run_one(args: RunArgs) -> ExitCode {
    let config = match HostConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => return fail(e.code(), e, EXIT_USAGE),
    };
    let Some(entry) = config.provider(&args.domain) else {
        return fail(
            "provider_not_configured",
            format!(
                "no `[[providers]]` entry for domain `{}` in `{}`",
                args.domain,
                args.config.display()
            ),
            EXIT_USAGE,
        );
    };
    let params: Value = match serde_json::from_str(&args.params) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                "invalid_params",
                format!("--params is not JSON: {e}"),
                EXIT_USAGE,
            );
        }
    };
    let runtime = match Runtime::new(&RuntimeOptions {
        pooling: false,
        max_instances: 1,
        cache_dir: config
            .runtime
            .compile_cache
            .then(|| config.data_dir().join("cache")),
    }) {
        Ok(r) => r,
        Err(e) => return fail("runtime_failed", e, EXIT_FAILED),
    };
    let provider = match runtime.load_provider(&config, entry, &ProcessEnv).await {
        Ok(p) => p,
        Err(e) => return fail(e.code(), e, EXIT_USAGE),
    };
    if let Err(errors) = provider.check_params(&args.operation, &params) {
        let out =
            json!({"stage": "schema", "error": {"code": "invalid_params", "messages": errors}});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::from(EXIT_FAILED);
    }
    let mode = match args.mode {
        ModeArg::DryRun => Mode::DryRun,
        ModeArg::Live => Mode::Live,
    };
    let profile = match args.profile {
        ProfileArg::ReadOnly => Profile::ReadOnly,
        ProfileArg::Write => Profile::Write,
    };
    let ctx = CallContext {
        action_id: "act_plugin_run".into(),
        project: "plugin-run".into(),
        idempotency_key: format!("plugin-run-{}", std::process::id()),
        mode,
    };
    let validated = provider
        .validate(&ctx, &args.operation, &params.to_string())
        .await;
    let normalized = match &validated.result {
        Ok(v) => v.params.to_string(),
        Err(e) => {
            let out = json!({"stage": "validate", "error": {"code": e.code(), "detail": e}, "log": validated.log});
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let report = provider
        .execute(&ctx, &args.operation, &normalized, profile)
        .await;
    let attempted: Vec<_> = report.attempted_writes().cloned().collect();
    let out = json!({
        "provider": provider.domain(),
        "sha256": provider.digest(),
        "operation": args.operation,
        "mode": mode,
        "profile": profile,
        "governance": "bypassed (plugin run)",
        "validated": validated.result.as_ref().ok(),
        "outcome": report.result.as_ref().ok(),
        "error": report.result.as_ref().err().map(|e| json!({"code": e.code(), "message": e.to_string(), "detail": e})),
        "log": report.log,
        "requests": report.requests,
        "attempted_writes": attempted,
        "artifacts": report.artifacts,
        "elapsed_us": report.elapsed_us,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    if report.result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
