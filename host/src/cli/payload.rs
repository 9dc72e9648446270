//! `autopack-host payload hash <file|->`: canonical JSON (RFC 8785) and its SHA-256, so an
//! approver can check a payload hash independently of the host.

use super::{EXIT_USAGE, fail};
use crate::governance::canonical::{canonicalize_str, sha256_hex};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum PayloadCommand {
    /// Print the canonical JSON of a file (`-` for stdin) and its SHA-256.
    Hash(HashArgs),
}

#[derive(Debug, Args)]
pub(super) struct HashArgs {
    /// A JSON file, or `-` for stdin.
    file: PathBuf,
}

pub(super) fn run(cmd: PayloadCommand) -> ExitCode {
    match cmd {
        PayloadCommand::Hash(a) => hash(a),
    }
}

fn hash(args: HashArgs) -> ExitCode {
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            return fail("input_unreadable", format!("stdin: {e}"), EXIT_USAGE);
        }
        s
    } else {
        match std::fs::read_to_string(&args.file) {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    "input_unreadable",
                    format!("`{}`: {e}", args.file.display()),
                    EXIT_USAGE,
                );
            }
        }
    };
    match canonicalize_str(&text) {
        Ok(canonical) => {
            println!("{canonical}");
            println!("sha256 {}", sha256_hex(canonical.as_bytes()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.code(), e, EXIT_USAGE),
    }
}
