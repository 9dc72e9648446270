//! Builds every guest component and writes `$OUT_DIR/guests.rs` naming them.
//!
//! The guests live in their own Cargo workspace (`plugins/Cargo.toml`, whose
//! members include `tests/guests/*`) because they build for `wasm32-wasip2`.
//! This script runs a second `cargo` on that workspace into
//! `<repo>/target/guests`, with the outer build's flags and wrappers removed
//! so that neither leaks into the guests (a coverage `RUSTFLAGS`, clippy as
//! `RUSTC_WORKSPACE_WRAPPER`, a host `CARGO_BUILD_TARGET`...). It then scans
//! the guest manifests for package names and generates one path constant per
//! component, the list `ALL`, and the macro `foreach_hostile!`.
//!
//! std only: a build script with dependencies would slow every host build.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests' compilation target.
const TARGET: &str = "wasm32-wasip2";

/// Variables of the outer build that must not reach the inner one. Every
/// `CARGO_PROFILE_*` variable is removed as well.
const SCRUBBED: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
];

/// One guest component: its package, where it lives, and the built file.
struct Guest {
    package: String,
    /// The crate's directory relative to the repository root, for the docs.
    dir: String,
    wasm: PathBuf,
}

impl Guest {
    /// `hostile-loop` → `HOSTILE_LOOP`.
    fn constant(&self) -> String {
        self.package.replace('-', "_").to_ascii_uppercase()
    }

    /// `hostile-loop` → `hostile_loop`.
    fn ident(&self) -> String {
        self.package.replace('-', "_")
    }
}

#[expect(
    clippy::panic,
    reason = "a build script reports failure by panicking; the message is the report"
)]
fn fail(message: String) -> ! {
    panic!("\n\nautopack-test-artifacts: {message}\n");
}

fn main() {
    if let Err(message) = run() {
        fail(message);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or("CARGO_MANIFEST_DIR is not set")?;
    let repo = manifest_dir
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("cannot find the repository root: {e}"))?;
    let out_dir = env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .ok_or("OUT_DIR is not set")?;
    let plugins = repo.join("plugins");
    let guests_dir = repo.join("tests/guests");
    let target_dir = repo.join("target/guests");

    rerun_if_changed(&repo, &plugins, &guests_dir)?;
    build_guests(&plugins, &target_dir)?;

    let release = target_dir.join(TARGET).join("release");
    let mut guests = scan(&repo, &plugins, &release)?;
    guests.extend(scan(&repo, &guests_dir, &release)?);
    guests.sort_by(|a, b| a.package.cmp(&b.package));
    for g in &guests {
        if !g.wasm.is_file() {
            return Err(format!(
                "`{}` (in {}) did not produce {}; is it a member of plugins/Cargo.toml \
                 (`\"../tests/guests/*\"` covers the test guests)?",
                g.package,
                g.dir,
                g.wasm.display()
            ));
        }
    }
    let code = generate(&guests)?;
    fs::write(out_dir.join("guests.rs"), code)
        .map_err(|e| format!("cannot write guests.rs: {e}"))?;
    Ok(())
}

/// Reruns when any guest source, the contract or the guest workspace changes.
/// `plugins/` is watched entry by entry so that `plugins/target` (a
/// developer's own guest builds) can be left out; a new plugin crate shows up
/// through its new member line in `plugins/Cargo.toml`.
fn rerun_if_changed(repo: &Path, plugins: &Path, guests: &Path) -> Result<(), String> {
    println!("cargo::rerun-if-changed={}", repo.join("wit").display());
    println!("cargo::rerun-if-changed={}", guests.display());
    let entries =
        fs::read_dir(plugins).map_err(|e| format!("cannot read {}: {e}", plugins.display()))?;
    for entry in entries.flatten() {
        if entry.file_name() != "target" {
            println!("cargo::rerun-if-changed={}", entry.path().display());
        }
    }
    Ok(())
}

fn build_guests(plugins: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let manifest = plugins.join("Cargo.toml");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(plugins)
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for name in SCRUBBED {
        cmd.env_remove(name);
    }
    for (name, _) in env::vars_os() {
        if name.to_string_lossy().starts_with("CARGO_PROFILE_") {
            cmd.env_remove(name);
        }
    }
    let shown = format!(
        "{} build --release --target {TARGET} --manifest-path {} --target-dir {}",
        cargo.to_string_lossy(),
        manifest.display(),
        target_dir.display()
    );
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut message = format!(
        "building the guest components failed ({}).\ncommand: {shown}\n",
        output.status
    );
    let target_missing = stderr.contains("may not be installed")
        || stderr.contains("can't find crate for `core`")
        || stderr.contains("can't find crate for `std`");
    if target_missing {
        let _ = writeln!(
            message,
            "the `{TARGET}` target looks missing: run `rustup target add {TARGET}`"
        );
    }
    let _ = write!(message, "--- cargo's output ---\n{stderr}");
    Err(message)
}

/// The component crates directly under `dir`: those whose manifest builds a
/// `cdylib` (so `plugins/sdk` is not one).
fn scan(repo: &Path, dir: &Path, release: &Path) -> Result<Vec<Guest>, String> {
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        let package = toml_value(&text, "package", "name")
            .ok_or_else(|| format!("no `[package] name` in {}", manifest.display()))?;
        let lib = toml_value(&text, "lib", "name").unwrap_or_else(|| package.replace('-', "_"));
        let valid = package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && package.starts_with(|c: char| c.is_ascii_alphabetic());
        if !valid {
            return Err(format!(
                "package name `{package}` in {} cannot become a constant name",
                manifest.display()
            ));
        }
        let dir = entry
            .path()
            .strip_prefix(repo)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| entry.path().display().to_string());
        found.push(Guest {
            package,
            dir,
            wasm: release.join(format!("{lib}.wasm")),
        });
    }
    Ok(found)
}

/// A `key = "value"` string inside `[section]` of a manifest. Enough for the
/// plain manifests of the guests; not a TOML parser.
fn toml_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            current = header.trim_end_matches(']').trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.trim();
            return v
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .map(|(value, _)| value.to_string());
        }
    }
    None
}

fn generate(guests: &[Guest]) -> Result<String, String> {
    let mut code = String::from("// @generated by tests/artifacts/build.rs; do not edit.\n\n");
    for g in guests {
        let path = g
            .wasm
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", g.wasm.display()))?;
        let _ = writeln!(
            code,
            "/// The component built from `{}` ({}).\npub const {}: &str = {:?};\n",
            g.package,
            g.dir,
            g.constant(),
            path
        );
    }
    code.push_str("/// Every component: `(package name, path)`, sorted by package name.\n");
    code.push_str("pub const ALL: &[(&str, &str)] = &[\n");
    for g in guests {
        let _ = writeln!(code, "    ({:?}, {}),", g.package, g.constant());
    }
    code.push_str("];\n\n");

    let hostile: Vec<&Guest> = guests
        .iter()
        .filter(|g| g.package.starts_with("hostile-"))
        .collect();
    code.push_str("/// The hostile guests as identifiers (`hostile_loop`), sorted.\n");
    code.push_str("pub const HOSTILE: &[&str] = &[\n");
    for g in &hostile {
        let _ = writeln!(code, "    {:?},", g.ident());
    }
    code.push_str("];\n\n");

    code.push_str(
        "/// Calls `$mac!(hostile_x);` once for every hostile guest `hostile-x`.\n\
         ///\n\
         /// See the crate docs for how a test file uses it to prove that every\n\
         /// hostile guest has a test.\n\
         #[macro_export]\n\
         macro_rules! foreach_hostile {\n    ($mac:ident) => {\n",
    );
    for g in &hostile {
        let _ = writeln!(code, "        $mac!({});", g.ident());
    }
    code.push_str("    };\n}\n");
    Ok(code)
}
