//! `autopack-host switch list|on|off`: operators' kill switches (each flip audited).

use super::common::{actor, config, service_fail};
use crate::secrets::ProcessEnv;
use crate::service::{Host, SystemClock};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub(super) enum SwitchCommand {
    /// Show every switch, who flipped it and why.
    List(ListArgs),
    /// Turn `global` or a domain's switch on.
    On(FlipArgs),
    /// Turn `global` or a domain's switch off.
    Off(FlipArgs),
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Host config (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct FlipArgs {
    /// `global` or a configured provider domain.
    scope: String,
    /// Why (recorded in the audit log).
    #[arg(long)]
    reason: String,
    /// Host config (default `./autopack-host.toml`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Who flips it (default `$USER`).
    #[arg(long = "as")]
    as_actor: Option<String>,
}

pub(super) async fn run(cmd: SwitchCommand) -> ExitCode {
    let (cfg_path, flip) = match &cmd {
        SwitchCommand::List(a) => (a.config.clone(), None),
        SwitchCommand::On(a) => (a.config.clone(), Some((a, true))),
        SwitchCommand::Off(a) => (a.config.clone(), Some((a, false))),
    };
    let cfg = match config(cfg_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let host = match Host::admin(&cfg, &ProcessEnv, Arc::new(SystemClock)).await {
        Ok(h) => h,
        Err(e) => return service_fail(&e),
    };
    if let Some((a, on)) = flip {
        let who = match actor(a.as_actor.as_deref()) {
            Ok(w) => w,
            Err(code) => return code,
        };
        match host.set_switch(&who, &a.scope, on, &a.reason).await {
            Ok(row) => {
                println!(
                    "{} {} (by {}: {})",
                    row.scope,
                    if row.on { "on" } else { "off" },
                    row.updated_by,
                    row.reason
                );
                return ExitCode::SUCCESS;
            }
            Err(e) => return service_fail(&e),
        }
    }
    match host.switches().await {
        Ok(state) => {
            if state.rows.is_empty() {
                println!("(no switch set: everything is off)");
            }
            for r in &state.rows {
                println!(
                    "{:<16} {:<3}  by {} at {}: {}",
                    r.scope,
                    if r.on { "on" } else { "off" },
                    r.updated_by,
                    r.updated_at.0,
                    r.reason
                );
            }
            if state.external_actions_forced_off {
                println!("AUTOPACK_EXTERNAL_ACTIONS=off forces the global switch off");
            }
            println!(
                "live actions {}",
                if state.global_effective {
                    "may run where their domain is on"
                } else {
                    "are off"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => service_fail(&e),
    }
}
