//! The `autopack-host` binary as an integrator uses it: `plugin inspect` and
//! `plugin run` on the example provider, against a loopback server that
//! counts every request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "sandbox/support.rs"]
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::FakeServer;

const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// Runs the binary off the async workers, so a fake server in this test can answer it.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("AUTOPACK_LOG")
            .output()
            .expect("run autopack-host")
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A config granting the example provider `server`, written into `dir`. The
/// data dir (compile cache, scratch) is shared by the CLI tests so the
/// component is compiled once, not once per test.
fn example_config(dir: &Path, server: &FakeServer) -> PathBuf {
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-data");
    let text = format!(
        "data_dir = '{}'\n\n[[providers]]\ndomain = \"example\"\ncomponent = '{}'\norigins = [\"{}\"]\n\n[providers.settings]\nbase_url = \"{}\"\n",
        data.display(),
        autopack_test_artifacts::AUTOPACK_EXAMPLE,
        server.origin(),
        server.origin(),
    );
    let file = dir.join("autopack-host.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn run_args(config: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "plugin",
        "run",
        "--config",
        config.to_str().unwrap(),
        "example",
        "post_note",
        "--params",
        r#"{"text":"hello from the cli test"}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_inspect_prints_digest_and_operations_with_tiers() {
    let out = run(vec![
        "plugin".into(),
        "inspect".into(),
        autopack_test_artifacts::AUTOPACK_EXAMPLE.into(),
    ])
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let digest = autopack_host::runtime::provider::sha256_hex(
        &std::fs::read(autopack_test_artifacts::AUTOPACK_EXAMPLE).unwrap(),
    );
    assert!(
        text.lines().any(|l| l == format!("sha256     {digest}")),
        "{text}"
    );
    for (op, effect, tier) in [
        ("echo", "read", "A"),
        ("get_status", "read", "A"),
        ("post_note", "draft", "B"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(op))
            .unwrap_or_else(|| panic!("no line for `{op}`:\n{text}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[1..4], [effect, "tier", tier], "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_inspect_refuses_a_file_that_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.wasm");
    std::fs::write(&fake, b"\0asm but not really").unwrap();
    let out = run(vec![
        "plugin".into(),
        "inspect".into(),
        fake.to_str().unwrap().into(),
    ])
    .await;
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains("error[component_invalid]"), "{err}");
    assert!(err.contains(fake.to_str().unwrap()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_plugin_run_dry_run_read_only_shows_the_post_and_sends_nothing() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = example_config(dir.path(), &server);
    let out = run(run_args(&config, &[])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    assert_eq!(report["profile"], "read-only");
    assert_eq!(report["mode"], "dry-run");
    assert_eq!(report["outcome"]["status"], "previewed");
    let attempted = report["attempted_writes"].as_array().unwrap();
    assert_eq!(attempted.len(), 1, "{report:#}");
    assert_eq!(attempted[0]["method"], "POST");
    assert_eq!(attempted[0]["url"], server.url("/notes"));
    assert_eq!(
        attempted[0]["reason"],
        "method_not_allowed_in_read_only_profile"
    );
    let preview = attempted[0]["body_preview"].as_str().unwrap();
    assert!(preview.contains("hello from the cli test"), "{preview}");
    assert_eq!(server.count(), 0, "{:#?}", server.hits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_write_profile_live_posts_exactly_once() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = example_config(dir.path(), &server);
    let out = run(run_args(&config, &["--profile", "write", "--mode", "live"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    assert_eq!(report["outcome"]["status"], "completed", "{report:#}");
    assert_eq!(report["outcome"]["external_ref"], "note-1");
    assert_eq!(report["attempted_writes"], serde_json::json!([]));
    let hits = server.hits();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].method, "POST");
    assert_eq!(hits[0].path, "/notes");
    assert!(hits[0].body.contains("hello from the cli test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_help_says_it_bypasses_governance() {
    let out = run(vec!["plugin".into(), "run".into(), "--help".into()]).await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.to_lowercase().contains("bypasses governance"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_key_exits_2_naming_file_line_and_key() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = example_config(dir.path(), &server);
    // A typo of `origins` inside the provider entry.
    let text = std::fs::read_to_string(&config).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("origins")).unwrap();
    let typo = format!("origin = [\"{}\"]", server.origin());
    lines.insert(at + 1, &typo);
    std::fs::write(&config, lines.join("\n")).unwrap();

    let out = run(run_args(&config, &[])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let expected = format!(
        "config file `{}` line {}: key `providers[0].origin`: unknown field `origin`",
        config.display(),
        at + 2
    );
    assert!(err.contains(&expected), "expected {expected}\ngot {err}");
    assert_eq!(server.count(), 0);
}
