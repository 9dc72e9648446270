//! `autopack-host keys new`: a new API key, printed once, and its config entry.

use super::{EXIT_USAGE, fail};
use crate::api::auth::{KEY_PREFIX, key_hash_hex, new_key};
use crate::principal::Role;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// Make a new API key: the key is printed once (keep it), the config stores its SHA-256.
    New(NewArgs),
}

#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// Role (repeatable): viewer, proposer, approver, operator, admin.
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Project the key is limited to (repeatable); none means every project.
    #[arg(long = "project")]
    projects: Vec<String>,
    /// The principal's id (default: derived from the roles, e.g. `proposer-1a2b3c`).
    #[arg(long)]
    id: Option<String>,
}

pub(super) fn run(cmd: KeysCommand) -> ExitCode {
    let KeysCommand::New(args) = cmd;
    for r in &args.roles {
        if let Err(e) = r.parse::<Role>() {
            return fail("invalid_role", e, EXIT_USAGE);
        }
    }
    for p in &args.projects {
        if let Err(e) = p.parse::<crate::governance::ProjectId>() {
            return fail("invalid_project", format!("project `{p}`: {e}"), EXIT_USAGE);
        }
    }
    let key = match new_key(KEY_PREFIX) {
        Ok(k) => k,
        Err(e) => return fail("random_unavailable", e, super::EXIT_FAILED),
    };
    let hash = key_hash_hex(&key);
    let id = args
        .id
        .unwrap_or_else(|| format!("{}-{}", args.roles[0], &hash[..6]));
    if let Err(e) = id.parse::<crate::governance::PrincipalId>() {
        return fail("invalid_id", format!("id `{id}`: {e}"), EXIT_USAGE);
    }
    let list = |v: &[String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!("New API key for `{id}` (shown once; the host stores only its SHA-256):");
    println!("{key}");
    eprintln!();
    eprintln!("Add to the host config:");
    eprintln!();
    eprintln!("[[api_keys]]");
    eprintln!("id = \"{id}\"");
    eprintln!("sha256 = \"{hash}\"");
    eprintln!("roles = [{}]", list(&args.roles));
    if !args.projects.is_empty() {
        eprintln!("projects = [{}]", list(&args.projects));
    }
    ExitCode::SUCCESS
}
