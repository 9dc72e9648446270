//! `autopack-host audit verify|export`: for auditors.

use super::common::{config, service_fail};
use super::{EXIT_FAILED, fail};
use crate::secrets::ProcessEnv;
use crate::service::{Host, SystemClock};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Recompute the hash chain; name the first bad record.
    Verify(AuditArgs),
    /// Write the chain as JSON lines to stdout.
    Export(AuditArgs),
}

#[derive(Debug, Args)]
pub(super) struct AuditArgs {
    /// Host config (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(super) async fn run(cmd: AuditCommand) -> ExitCode {
    let (args, verify) = match &cmd {
        AuditCommand::Verify(a) => (a, true),
        AuditCommand::Export(a) => (a, false),
    };
    let cfg = match config(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let host = match Host::admin(&cfg, &ProcessEnv, Arc::new(SystemClock)).await {
        Ok(h) => h,
        Err(e) => return service_fail(&e),
    };
    if verify {
        match host.verify_audit().await {
            Ok(r) if r.ok => {
                println!(
                    "audit chain ok: {} records, head {}",
                    r.records, r.head_hash
                );
                ExitCode::SUCCESS
            }
            Ok(r) => {
                let detail = r
                    .fault
                    .map(|f| format!("record {}: {}", f.seq, f.message))
                    .unwrap_or_else(|| "unknown fault".into());
                fail("audit_chain_broken", detail, EXIT_FAILED)
            }
            Err(e) => service_fail(&e),
        }
    } else {
        match host.export_audit().await {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => service_fail(&e),
        }
    }
}
