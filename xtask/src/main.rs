//! Developer tasks for Autopack Host, in Rust so they work the same on Linux,
//! macOS and Windows.
//!
//! - `cargo xtask run`: install the wasm target, build the guest components,
//!   and serve the host on its built-in development defaults.
//! - `cargo xtask test`: install the wasm target and run every test.
//! - `cargo xtask build-guests`: only build the guest components.
//!
//! Guest components are built by the build script of the
//! `autopack-test-artifacts` crate (one place knows how); this tool asks
//! cargo to build that crate and never copies `.wasm` files around.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The target guest components are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r.to_vec()),
        None => ("help", Vec::new()),
    };
    let result = match task {
        "run" => ensure_target()
            .and_then(|()| build_guests())
            .and_then(|()| run(&rest)),
        "test" => ensure_target().and_then(|()| test(&rest)),
        "build-guests" => ensure_target().and_then(|()| build_guests()),
        "help" | "--help" | "-h" => {
            println!("usage: cargo xtask <run|test|build-guests> [args...]");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ sits directly under the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

fn status(mut cmd: Command, what: &str) -> Result<(), String> {
    let st = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({st})"))
    }
}

/// Installs the wasm target with rustup; a toolchain file alone does not.
fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            let mut c = Command::new("rustup");
            c.args(["target", "add", WASM_TARGET]);
            status(c, "rustup target add wasm32-wasip2")
        }
        // Without rustup the toolchain must already have the target; the
        // guest build will say so clearly if it does not.
        Err(_) => Ok(()),
    }
}

fn build_guests() -> Result<(), String> {
    let mut c = cargo();
    c.args(["build", "--quiet", "--package", "autopack-test-artifacts"]);
    status(c, "building guest components")
}

fn run(rest: &[String]) -> Result<(), String> {
    let mut c = cargo();
    c.args(["run", "--quiet", "--package", "autopack-host", "--"]);
    // The built-in defaults resolve the components, policies and data dir against the
    // working directory: the repository root.
    c.current_dir(root());
    if rest.is_empty() {
        println!(
            "autopack-host serve (built-in development defaults: the four first-party providers, policies/, SQLite in autopack-data/)\n"
        );
        c.arg("serve");
    } else {
        c.args(rest);
    }
    status(c, "autopack-host")
}

fn test(rest: &[String]) -> Result<(), String> {
    let mut c = cargo();
    c.args(["test", "--workspace"]);
    c.args(rest);
    status(c, "tests")
}
