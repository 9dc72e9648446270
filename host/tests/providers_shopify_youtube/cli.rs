//! `autopack-host plugin inspect` and `plugin run` on both providers, the
//! way an integrator or operator tries them before any governance.

use crate::shopify::{self, Shop};
use crate::support::Recorder;
use crate::youtube::{self, CLIP, Tube, test_video};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_autopack-host");

/// Runs the binary off the async workers, so a fake server in this test can answer it.
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

/// The JSON report on stdout, or a panic showing both streams.
fn report(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); status {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A config file for one provider; the data dir is shared so the component
/// is compiled once for all CLI runs.
fn config(dir: &Path, body: &str) -> PathBuf {
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("providers-cli-data");
    let file = dir.join("autopack-host.toml");
    std::fs::write(&file, format!("data_dir = '{}'\n\n{body}", data.display())).expect("config");
    file
}

fn run_args(
    config: &Path,
    domain: &str,
    operation: &str,
    params: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = ["plugin", "run", "--config"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(config.display().to_string());
    args.extend(
        [domain, operation, "--params", params]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_inspect_describes_shopify_and_youtube() {
    for (component, domain, operations) in [
        (
            autopack_test_artifacts::AUTOPACK_SHOPIFY,
            "shopify",
            vec![
                "get_product",
                "create_draft_product",
                "publish_product",
                "update_price",
                "adjust_inventory",
                "delete_product",
            ],
        ),
        (
            autopack_test_artifacts::AUTOPACK_YOUTUBE,
            "youtube",
            vec![
                "list_my_videos",
                "upload_video",
                "set_privacy",
                "update_metadata",
                "delete_video",
            ],
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
        let r = report(&out);
        assert_eq!(r["problems"], serde_json::json!([]), "{domain}: {r:#}");
        assert_eq!(r["info"]["domain"], domain);
        let names: Vec<&str> = r["info"]["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|o| o["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, operations, "{domain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_shopify_dry_run_previews_and_live_write_posts_once() {
    let fake = Recorder::start(Shop::default(), shopify::shopify).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let o = fake.origin();
    let file = config(
        dir.path(),
        &format!(
            "[[providers]]\ndomain = \"shopify\"\ncomponent = '{}'\norigins = [\"{o}\"]\n\n[providers.settings]\nbase_url = \"{o}\"\n\n[[providers.credentials]]\norigin = \"{o}\"\nheader = \"X-Shopify-Access-Token\"\nvalue = \"{{SHOPIFY_ACCESS_TOKEN}}\"\n",
            autopack_test_artifacts::AUTOPACK_SHOPIFY
        ),
    );
    let params = r#"{"product_id":"1001","variant_id":"2001","price":"21.00"}"#;
    let env = vec![("SHOPIFY_ACCESS_TOKEN", shopify::TOKEN)];
    let out = cli(
        run_args(&file, "shopify", "update_price", params, &[]),
        env.clone(),
    )
    .await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "previewed");
    assert_eq!(r["requests"], serde_json::json!([]));
    assert!(fake.hits().is_empty());
    assert!(
        !out.stdout
            .windows(shopify::TOKEN.len())
            .any(|w| w == shopify::TOKEN.as_bytes())
    );

    let out = cli(
        run_args(
            &file,
            "shopify",
            "update_price",
            params,
            &["--mode", "live", "--profile", "write"],
        ),
        env,
    )
    .await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "completed");
    assert_eq!(fake.hits().len(), 1);
    assert_eq!(
        fake.hits()[0].header("x-shopify-access-token"),
        Some(shopify::TOKEN)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_youtube_upload_dry_run_sends_nothing_and_live_uploads_the_file() {
    let fake = Recorder::start(Tube::default(), youtube::youtube).await;
    fake.state().origin.set(fake.origin()).expect("origin");
    let dir = tempfile::tempdir().expect("tempdir");
    let media = dir.path().join("videos");
    std::fs::create_dir_all(&media).expect("media");
    let bytes = test_video(20_000);
    std::fs::write(media.join(CLIP), &bytes).expect("clip");
    let o = fake.origin();
    let file = config(
        dir.path(),
        &format!(
            "[[providers]]\ndomain = \"youtube\"\ncomponent = '{}'\norigins = [\"{o}\"]\n\n[providers.input_dirs]\nmedia = '{}'\n\n[providers.settings]\nbase_url = \"{o}\"\n\n[[providers.credentials]]\norigin = \"{o}\"\nheader = \"Authorization\"\nvalue = \"Bearer {{YOUTUBE_OAUTH_TOKEN}}\"\n",
            autopack_test_artifacts::AUTOPACK_YOUTUBE,
            media.display()
        ),
    );
    let params = format!(r#"{{"file":"{CLIP}","title":"From the CLI"}}"#);
    let env = vec![("YOUTUBE_OAUTH_TOKEN", youtube::TOKEN)];
    let out = cli(
        run_args(&file, "youtube", "upload_video", &params, &[]),
        env.clone(),
    )
    .await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(
        r["validated"]["spend"],
        serde_json::json!({"minor_units": 1600, "unit": "YT_QUOTA"})
    );
    assert_eq!(r["outcome"]["status"], "previewed");
    assert_eq!(r["attempted_writes"], serde_json::json!([]));
    assert!(fake.hits().is_empty());

    let out = cli(
        run_args(
            &file,
            "youtube",
            "upload_video",
            &params,
            &["--mode", "live", "--profile", "write"],
        ),
        env,
    )
    .await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["outcome"]["status"], "completed");
    let uploaded = fake.state().uploaded.lock().expect("uploaded").clone();
    assert_eq!(uploaded.len(), 1);
    assert!(
        uploaded[0].1 == bytes,
        "the uploaded bytes differ from the file"
    );
    assert_eq!(r["outcome"]["external_ref"], uploaded[0].0.as_str());
}
