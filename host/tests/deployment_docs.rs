//! `docs/DEPLOYMENT.md` matches the code: every environment variable the host reads is
//! documented, and the example production config parses and passes the production posture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autopack_host::config::HostConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals that name an environment variable the host reads.
fn variables_in_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("host/src"), &mut files);
    let mut vars = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let is_var = piece.len() > 3
                && piece
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && (piece.starts_with("AUTOPACK_")
                    || piece.starts_with("JWT_")
                    || piece.starts_with("DATABASE_URL"));
            if is_var {
                vars.insert(piece.to_owned());
            }
        }
    }
    vars
}

#[test]
fn every_environment_variable_the_host_reads_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/DEPLOYMENT.md")).unwrap();
    let vars = variables_in_code();
    assert!(
        vars.contains("AUTOPACK_ENV") && vars.contains("DATABASE_URL"),
        "{vars:?}"
    );
    let missing: Vec<&String> = vars
        .iter()
        .filter(|v| !doc.contains(&format!("`{v}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/DEPLOYMENT.md: {missing:?}");
}

#[test]
fn the_example_production_config_parses_and_passes_the_posture() {
    let file = root().join("deploy/autopack-host.toml");
    let config = HostConfig::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for v in ["JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"] {
        env.insert(v.into(), "/run/credentials/autopack/x".into());
    }
    let violations = autopack_host::posture::check(&config, &env, false);
    assert!(violations.is_empty(), "{violations:?}");
    // And the posture is not vacuous on it: unpin one provider.
    let mut unpinned = config.clone();
    unpinned.providers[0].sha256 = None;
    assert_eq!(
        autopack_host::posture::check(&unpinned, &env, false)[0].setting,
        "providers[0].sha256"
    );
}
