//! `autopack-host plugin inspect` and `plugin run` on etsy and trading: the
//! integrator's first contact with a provider, before any governance.

use crate::fake_alpaca::{AlpacaApi, KEY_ID, SECRET_KEY};
use crate::fake_etsy::{API_KEY, DRAFT_ID, EtsyApi, OAUTH_TOKEN, SHOP_ID};
use crate::harness::Fake;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// Runs the binary off the async workers so the fake server can answer it.
async fn cli(args: Vec<String>, env: Vec<(&'static str, &'static str)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .envs(env)
            .env_remove("AUTOPACK_LOG")
            .output()
            .expect("run autopack-host")
    })
    .await
    .expect("join")
}

fn json_out(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); status {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn config(
    dir: &Path,
    domain: &str,
    component: &str,
    origin: &str,
    settings: &str,
    creds: &[(&str, &str)],
) -> PathBuf {
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("providers-cli-data");
    let mut text = format!(
        "data_dir = '{}'\n\n[[providers]]\ndomain = \"{domain}\"\ncomponent = '{component}'\norigins = [\"{origin}\"]\n\n[providers.settings]\n{settings}\n",
        data.display()
    );
    for (header, value) in creds {
        text.push_str(&format!(
            "\n[[providers.credentials]]\norigin = \"{origin}\"\nheader = \"{header}\"\nvalue = \"{value}\"\n"
        ));
    }
    let file = dir.join("autopack-host.toml");
    std::fs::write(&file, text).expect("config");
    file
}

fn run_args(config: &Path, domain: &str, op: &str, params: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "plugin".into(),
        "run".into(),
        "--config".into(),
        config.display().to_string(),
    ];
    args.extend(
        [domain, op, "--params", params]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn leaks(out: &Output, secrets: &[&str]) -> bool {
    secrets.iter().any(|s| {
        out.stdout.windows(s.len()).any(|w| w == s.as_bytes())
            || out.stderr.windows(s.len()).any(|w| w == s.as_bytes())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_inspect_describes_etsy_and_trading_with_tiers() {
    for (component, domain, expected) in [
        (
            autopack_test_artifacts::AUTOPACK_ETSY,
            "etsy",
            json!([
                ["get_shop", "A"],
                ["list_listings", "A"],
                ["create_draft_listing", "B"],
                ["update_listing", "C"],
                ["publish_listing", "C"],
                ["delete_listing", "C"]
            ]),
        ),
        (
            autopack_test_artifacts::AUTOPACK_TRADING,
            "trading",
            json!([
                ["get_account", "A"],
                ["list_positions", "A"],
                ["place_order", "C"],
                ["cancel_order", "B"],
                ["close_position", "C"]
            ]),
        ),
    ] {
        let out = cli(
            vec![
                "plugin".into(),
                "inspect".into(),
                component.into(),
                "--json".into(),
            ],
            vec![],
        )
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{domain}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = json_out(&out);
        assert_eq!(r["problems"], json!([]), "{domain}: {r:#}");
        assert_eq!(r["info"]["domain"], domain);
        assert_eq!(r["sha256"].as_str().map(str::len), Some(64));
        let ops: Vec<Value> = r["info"]["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|o| json!([o["name"], o["tier"]]))
            .collect();
        assert_eq!(Value::Array(ops), expected, "{domain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_etsy_read_and_dry_run_publish_send_no_write() {
    let fake = Fake::<EtsyApi>::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = fake.origin();
    let file = config(
        dir.path(),
        "etsy",
        autopack_test_artifacts::AUTOPACK_ETSY,
        &origin,
        &format!("base_url = \"{origin}\"\nshop_id = \"{SHOP_ID}\""),
        &[
            ("x-api-key", "{ETSY_API_KEY}"),
            ("Authorization", "Bearer {ETSY_OAUTH_TOKEN}"),
        ],
    );
    let env = vec![("ETSY_API_KEY", API_KEY), ("ETSY_OAUTH_TOKEN", OAUTH_TOKEN)];

    let out = cli(
        run_args(&file, "etsy", "get_shop", "{}", &["--mode", "live"]),
        env.clone(),
    )
    .await;
    let r = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "completed", "{r:#}");
    assert_eq!(fake.seen().len(), 1, "one GET for the shop");
    assert_eq!(fake.seen()[0].header("x-api-key"), Some(API_KEY));
    assert!(!leaks(&out, &[API_KEY, OAUTH_TOKEN]));

    fake.reset();
    let params = format!(r#"{{"listing_id":{DRAFT_ID}}}"#);
    let out = cli(
        run_args(&file, "etsy", "publish_listing", &params, &[]),
        env,
    )
    .await;
    let r = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "previewed", "{r:#}");
    assert_eq!(
        r["validated"]["spend"],
        json!({"minor_units": 20, "unit": "USD"})
    );
    assert!(
        fake.writes().is_empty(),
        "dry-run publish sent a write: {:?}",
        fake.writes()
    );
    assert!(!leaks(&out, &[API_KEY, OAUTH_TOKEN]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_trading_account_read_and_dry_run_order_send_no_write() {
    let fake = Fake::<AlpacaApi>::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let origin = fake.origin();
    let file = config(
        dir.path(),
        "trading",
        autopack_test_artifacts::AUTOPACK_TRADING,
        &origin,
        &format!("base_url = \"{origin}\""),
        &[
            ("APCA-API-KEY-ID", "{APCA_API_KEY_ID}"),
            ("APCA-API-SECRET-KEY", "{APCA_API_SECRET_KEY}"),
        ],
    );
    let env = vec![
        ("APCA_API_KEY_ID", KEY_ID),
        ("APCA_API_SECRET_KEY", SECRET_KEY),
    ];

    let out = cli(
        run_args(&file, "trading", "get_account", "{}", &["--mode", "live"]),
        env.clone(),
    )
    .await;
    let r = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "completed", "{r:#}");
    assert!(!leaks(&out, &[KEY_ID, SECRET_KEY]));

    fake.reset();
    let params =
        r#"{"symbol":"aapl","side":"buy","type":"limit","qty":"2","limit_price":"101.25"}"#;
    let out = cli(run_args(&file, "trading", "place_order", params, &[]), env).await;
    let r = json_out(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "previewed", "{r:#}");
    assert_eq!(
        r["validated"]["spend"],
        json!({"minor_units": 20250, "unit": "USD"})
    );
    assert!(
        fake.writes().is_empty(),
        "dry-run order sent a write: {:?}",
        fake.writes()
    );
    assert!(!leaks(&out, &[KEY_ID, SECRET_KEY]));
}
