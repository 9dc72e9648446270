//! The governance commands of the `autopack-host` binary (DESIGN §10): `payload hash`,
//! `policy check|test`, `switch list|on|off`, `audit verify|export`, with their exit codes
//! (0 success, 1 refused or failed, 2 bad usage or configuration).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autopack_host::governance::{Mode, Payload, payload_hash};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_URL_FILE")
        .env_remove("AUTOPACK_EXTERNAL_ACTIONS")
        .env("USER", "olga")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn component(package: &str) -> &'static str {
    autopack_test_artifacts::ALL
        .iter()
        .find(|(name, _)| *name == package)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("component {package} is not built"))
}

/// A config whose providers are the given `(domain, package)` components.
fn config(dir: &Path, providers: &[(&str, &str)]) -> PathBuf {
    let mut text = format!("data_dir = \"{}\"\n", dir.join("data").display());
    for (domain, package) in providers {
        text.push_str(&format!(
            "\n[[providers]]\ndomain = \"{domain}\"\ncomponent = \"{}\"\n",
            component(package)
        ));
    }
    let file = dir.join("autopack-host.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn example_providers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("etsy", "autopack-etsy"),
        ("shopify", "autopack-shopify"),
        ("trading", "autopack-trading"),
    ]
}

#[test]
fn payload_hash_matches_the_service_hash() {
    let dir = tempfile::tempdir().unwrap();
    let payload = Payload {
        project: "demo".parse().unwrap(),
        domain: "etsy".parse().unwrap(),
        operation: "publish_listing".parse().unwrap(),
        params: json!({"listing_id": 1234567, "note": "é €", "price": 24.5}),
        mode: Mode::Live,
        plugin_digest: "ab".repeat(32).parse().unwrap(),
    };
    // Keys out of order and extra whitespace: the canonical form is the same.
    let file = dir.path().join("payload.json");
    std::fs::write(
        &file,
        format!(
            "{{ \"plugin_digest\": \"{}\", \"mode\": \"live\",\n  \"params\": {{\"price\": 24.50, \"note\": \"é €\", \"listing_id\": 1234567}},\n  \"operation\": \"publish_listing\", \"domain\": \"etsy\", \"project\": \"demo\" }}",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    let out = run(dir.path(), &["payload", "hash", "payload.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], payload.canonical_json().unwrap());
    assert_eq!(
        lines[1],
        format!("sha256 {}", payload_hash(&payload).unwrap())
    );
    let out = run(dir.path(), &["payload", "hash", "missing.json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn policy_check_passes_on_the_examples() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &example_providers());
    let policies = repo().join("policies");
    let out = run(
        dir.path(),
        &[
            "policy",
            "check",
            policies.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("no errors"));
}

#[test]
fn policy_check_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &[("etsy", "autopack-etsy")]);
    std::fs::create_dir(dir.path().join("p")).unwrap();
    std::fs::write(
        dir.path().join("p/demo.toml"),
        "project = \"demo\"\n\n[domains.etsy]\noperations = [\"get_shop\"]\naprovals = 2\n",
    )
    .unwrap();
    // Default config: ./autopack-host.toml.
    let out = run(dir.path(), &["policy", "check", "p"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("p/demo.toml:5"), "{err}");
    assert!(err.contains("aprovals"), "{err}");
    // An operation the provider does not have.
    std::fs::write(
        dir.path().join("p/demo.toml"),
        "project = \"demo\"\n\n[domains.etsy]\noperations = [\"get_shop\", \"burn_shop\"]\n",
    )
    .unwrap();
    let out = run(dir.path(), &["policy", "check", "p/demo.toml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("burn_shop"), "{err}");
    // No config anywhere: bad usage.
    let empty = tempfile::tempdir().unwrap();
    let out = run(empty.path(), &["policy", "check", "p"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--config"));
}

#[test]
fn policy_test_runs_the_example_tests() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &example_providers());
    let policies = repo().join("policies");
    let out = run(
        dir.path(),
        &[
            "policy",
            "test",
            policies.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("... ok"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn switch_round_trip_and_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &[("example", "autopack-example")]);
    let d = dir.path();
    let out = run(d, &["switch", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("everything is off"));
    for args in [
        ["switch", "on", "global", "--reason", "launch"],
        ["switch", "on", "example", "--reason", "ready"],
        ["switch", "off", "global", "--reason", "incident 42"],
    ] {
        let out = run(d, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let out = run(d, &["switch", "on", "etsy", "--reason", "x"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unconfigured domain has no switch"
    );
    let out = run(d, &["switch", "on", "global"]);
    assert_eq!(out.status.code(), Some(2), "a flip needs --reason");
    let list = text(&run(d, &["switch", "list"]).stdout);
    assert!(
        list.contains("global") && list.contains("incident 42"),
        "{list}"
    );
    assert!(
        list.contains("example") && list.contains("by olga"),
        "{list}"
    );
    assert!(list.contains("live actions are off"), "{list}");
    let out = run(d, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("audit chain ok: 3 records"));
    let out = run(d, &["audit", "export"]);
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    let last: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(last["event"], "switch.off");
    assert_eq!(last["auth"], "cli");
}

// ---------------------------------------------------------------- I10 audit tamper

/// Runs the service on SQLite in `dir` long enough to write some records: the config and
/// policy loads, two switch flips, two dry-run actions (proposed, then finished). Returns the
/// database URL.
async fn service_records(dir: &Path) -> String {
    use autopack_host::config::HostConfig;
    use autopack_host::runtime::{Runtime, RuntimeOptions};
    use autopack_host::service::{
        Actor, AuthMethod, Host, ProposeRequest, StartOptions, SystemClock,
    };
    use std::collections::BTreeMap;
    use std::sync::Arc;

    let file = config(dir, &[("example", "autopack-example")]);
    // The example provider's default origin (echo never calls it).
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("origins = [\"http://127.0.0.1:8787\"]\n");
    std::fs::write(&file, text).unwrap();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("policies/demo.toml"),
        "project = \"demo\"\n\n[domains.example]\noperations = [\"echo\"]\n",
    )
    .unwrap();
    let cfg = HostConfig::load(&file).unwrap();
    let runtime = Runtime::new(&RuntimeOptions {
        pooling: false,
        max_instances: 4,
        cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-governance-cache")),
    })
    .unwrap();
    let host = Host::start_with(
        &cfg,
        &BTreeMap::<String, String>::new(),
        Arc::new(SystemClock),
        StartOptions {
            runtime: Some(Arc::new(runtime)),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap();
    let olga = Actor::new("olga".parse().unwrap(), AuthMethod::Test);
    host.set_switch(&olga, "global", true, "launch")
        .await
        .unwrap();
    host.set_switch(&olga, "example", true, "ready")
        .await
        .unwrap();
    for message in ["one", "two"] {
        let req = ProposeRequest::new("demo", "example", "echo", json!({"message": message}));
        host.propose(&olga, req).await.unwrap();
    }
    let records = host.ledger().audit_records(0, 100).await.unwrap();
    assert!(records.len() >= 8, "{records:?}");
    assert!(host.verify_audit().await.unwrap().ok);
    drop(host);
    format!("sqlite://{}", dir.join("data/autopack.db").display())
}

/// Runs SQL on the database behind the host's back.
async fn tamper(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

/// The seq of the first record with `event`.
async fn seq_of(url: &str, event: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let row = sqlx::query("SELECT seq FROM audit WHERE event = $1 ORDER BY seq LIMIT 1")
        .bind(event)
        .fetch_one(&mut c)
        .await
        .unwrap();
    let seq: i64 = row.try_get(0).unwrap();
    c.close().await.unwrap();
    seq
}

/// `audit verify` passes on the untouched chain, then `sql` (with `{seq}` replaced by the
/// seq of the first `event` record) tampers with it; `audit verify` must then fail with exit
/// code 1 and say `expected` (with `{seq}` and `{next}` replaced). Returns the output.
async fn verify_after_tamper(event: &str, sql: &str, expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = service_records(dir.path()).await;
    let out = run(dir.path(), &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("audit chain ok"));
    let seq = seq_of(&url, event).await;
    let fill = |s: &str| {
        s.replace("{seq}", &seq.to_string())
            .replace("{next}", &(seq + 1).to_string())
    };
    tamper(&url, &fill(sql)).await;
    let out = run(dir.path(), &["audit", "verify"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("audit_chain_broken"), "{said}");
    for e in expected {
        assert!(said.contains(&fill(e)), "`{}` not in: {said}", fill(e));
    }
    said
}

#[tokio::test]
async fn i10_audit_verify_names_an_edited_record() {
    // Who flipped a switch, changed after the fact.
    verify_after_tamper(
        "switch.on",
        "UPDATE audit SET actor = 'mallory' WHERE seq = {seq}",
        &["record {seq} does not match its hash", "edited"],
    )
    .await;
    // An edit that keeps the JSON columns parseable but changes what they say.
    verify_after_tamper(
        "action.proposed",
        "UPDATE audit SET reasons = '[]' WHERE seq = {seq}",
        &["record {seq} does not match its hash", "edited"],
    )
    .await;
}

#[tokio::test]
async fn i10_audit_verify_names_a_deleted_record() {
    verify_after_tamper(
        "action.proposed",
        "DELETE FROM audit WHERE seq = {seq}",
        &["record {seq} is missing"],
    )
    .await;
}

#[tokio::test]
async fn i10_audit_verify_names_reordered_records() {
    // The two switch flips swap places: each row keeps its content and hash, only the seqs
    // are exchanged.
    verify_after_tamper(
        "switch.on",
        "UPDATE audit SET seq = -1 WHERE seq = {seq}; \
         UPDATE audit SET seq = {seq} WHERE seq = {next}; \
         UPDATE audit SET seq = {next} WHERE seq = -1;",
        &[
            "record {seq} holds the record written as {next}",
            "reordered",
        ],
    )
    .await;
}
