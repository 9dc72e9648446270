//! Runtime benchmark: fresh-instance `validate` calls and warm-cache start.
//!
//! Run with `cargo bench -p autopack-host --bench runtime`. It prints p50,
//! p99 and mean per configuration; figures go in `docs/PERFORMANCE.md`.
//! A bench binary rather than criterion because the targets are percentiles
//! of single-call latency, which criterion does not report.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use autopack_host::config::HostConfig;
use autopack_host::governance::Mode;
use autopack_host::runtime::types::CallContext;
use autopack_host::runtime::{Provider, Runtime, RuntimeOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const WARMUP: usize = 2_000;
const CALLS: usize = 20_000;

/// Calls per series; `AUTOPACK_BENCH_CALLS` shortens a run (e.g. under callgrind).
fn calls() -> usize {
    std::env::var("AUTOPACK_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CALLS)
}

fn config_for(components: &[(&str, &str)], data_dir: &Path) -> HostConfig {
    let mut text = format!("data_dir = {:?}\n", data_dir.display().to_string());
    for (domain, path) in components {
        text.push_str(&format!(
            "\n[[providers]]\ndomain = \"{domain}\"\ncomponent = {path:?}\n"
        ));
        if *domain == "example" {
            text.push_str("origins = [\"http://127.0.0.1:8787\"]\n");
        }
    }
    HostConfig::parse(&text, Path::new("bench.toml"), data_dir).unwrap()
}

/// A config for one first-party provider pointed at a loopback base URL, with
/// a credential rule for every secret it needs (values come from `bench_env`).
fn provider_config(domain: &str, component: &str, secrets: &[&str], data_dir: &Path) -> HostConfig {
    let base = "http://127.0.0.1:9";
    let mut text = format!(
        "data_dir = {:?}\n[[providers]]\ndomain = \"{domain}\"\ncomponent = {component:?}\norigins = [\"{base}\"]\n[providers.settings]\nbase_url = \"{base}\"\n",
        data_dir.display().to_string()
    );
    if domain == "etsy" {
        text.push_str("shop_id = \"5550001\"\n");
    }
    for (i, secret) in secrets.iter().enumerate() {
        text.push_str(&format!(
            "[[providers.credentials]]\norigin = \"{base}\"\nheader = \"x-bench-{i}\"\nvalue = \"{{{secret}}}\"\n"
        ));
    }
    HostConfig::parse(&text, Path::new("bench.toml"), data_dir).unwrap()
}

fn bench_env(secrets: &[&str]) -> BTreeMap<String, String> {
    secrets
        .iter()
        .map(|s| (s.to_string(), format!("bench-secret-value-{s}")))
        .collect()
}

/// Fresh-instance validate of one operation of each first-party provider (pooling + pre).
async fn provider_validates() {
    let cases: [(&str, &str, &[&str], &str, &str); 4] = [
        (
            "etsy",
            autopack_test_artifacts::AUTOPACK_ETSY,
            &["ETSY_API_KEY", "ETSY_OAUTH_TOKEN"],
            "publish_listing",
            r#"{"listing_id":1234567}"#,
        ),
        (
            "trading",
            autopack_test_artifacts::AUTOPACK_TRADING,
            &["APCA_API_KEY_ID", "APCA_API_SECRET_KEY"],
            "place_order",
            r#"{"symbol":"aapl","side":"buy","type":"limit","qty":"2","limit_price":"101.25"}"#,
        ),
        (
            "shopify",
            autopack_test_artifacts::AUTOPACK_SHOPIFY,
            &["SHOPIFY_ACCESS_TOKEN"],
            "update_price",
            r#"{"product_id":"gid://shopify/Product/1","variant_id":"gid://shopify/ProductVariant/2","price":"19.99"}"#,
        ),
        (
            "youtube",
            autopack_test_artifacts::AUTOPACK_YOUTUBE,
            &["YOUTUBE_OAUTH_TOKEN"],
            "set_privacy",
            r#"{"video_id":"dQw4w9WgXcQ","privacy_status":"public"}"#,
        ),
    ];
    let rt = Runtime::new(&RuntimeOptions {
        pooling: true,
        max_instances: 64,
        cache_dir: None,
    })
    .unwrap();
    for (domain, component, secrets, op, params) in cases {
        let dir = tempfile::tempdir().unwrap();
        let cfg = provider_config(domain, component, secrets, dir.path());
        let provider = rt
            .load_provider(&cfg, cfg.provider(domain).unwrap(), &bench_env(secrets))
            .await
            .unwrap();
        let samples = validate_series(&provider, op, params).await;
        report(&format!("validate {domain}/{op}, pooling + pre"), samples);
    }
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    (pct(0.50), pct(0.99), mean)
}

fn report(name: &str, samples: Vec<Duration>) {
    let (p50, p99, mean) = stats(samples);
    println!(
        "{name:<58} p50 {:>8.1} µs   p99 {:>8.1} µs   mean {:>8.1} µs",
        us(p50),
        us(p99),
        us(mean)
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn load(rt: &Runtime, cfg: &HostConfig, domain: &str) -> Provider {
    rt.load_provider(cfg, cfg.provider(domain).unwrap(), &BTreeMap::new())
        .await
        .unwrap()
}

async fn validate_series(provider: &Provider, op: &str, params: &str) -> Vec<Duration> {
    let ctx = CallContext {
        action_id: "act_bench".into(),
        project: "bench".into(),
        idempotency_key: "bench".into(),
        mode: Mode::DryRun,
    };
    for _ in 0..WARMUP.min(calls()) {
        let r = provider.validate(&ctx, op, params).await;
        assert!(r.result.is_ok(), "{:?}", r.result);
    }
    let mut samples = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let t = Instant::now();
        let r = provider.validate(&ctx, op, params).await;
        samples.push(t.elapsed());
        assert!(r.result.is_ok());
    }
    samples
}

/// Fresh-instance validate calls of one component, under each allocator.
async fn fresh_instance_validate(name: &str, component: &str, op: &str, params: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(&[(name, component)], dir.path());
    // Under valgrind the pool's address-space reservation cannot be made.
    let modes: &[bool] = if std::env::var_os("AUTOPACK_BENCH_NO_POOLING").is_some() {
        &[false]
    } else {
        &[true, false]
    };
    for &pooling in modes {
        let rt = Runtime::new(&RuntimeOptions {
            pooling,
            max_instances: 64,
            cache_dir: None,
        })
        .unwrap();
        let provider = load(&rt, &cfg, name).await;
        let samples = validate_series(&provider, op, params).await;
        let label = format!(
            "validate {name}/{op}, {}",
            if pooling {
                "pooling + pre"
            } else {
                "on-demand + pre"
            }
        );
        report(&label, samples);
    }
}

/// A new engine loading four components whose compiled code is already cached.
async fn warm_cache_start(components: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cfg = config_for(components, dir.path());
    let opts = RuntimeOptions {
        pooling: true,
        max_instances: 64,
        cache_dir: Some(cache),
    };
    // First start compiles and fills the cache.
    let t = Instant::now();
    {
        let rt = Runtime::new(&opts).unwrap();
        for (d, _) in components {
            load(&rt, &cfg, d).await;
        }
    }
    println!(
        "{:<58} {:>8.1} ms",
        "cold start, empty cache (compiles), 4 components",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut samples = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let rt = Runtime::new(&opts).unwrap();
        for (d, _) in components {
            load(&rt, &cfg, d).await;
        }
        samples.push(t.elapsed());
        drop(rt);
    }
    let (p50, p99, _) = stats(samples);
    println!(
        "{:<58} p50 {:>6.1} ms   max {:>6.1} ms",
        "start with warm AOT cache, 4 components (engine + load)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

fn main() {
    let only_validate = std::env::var_os("AUTOPACK_BENCH_ONLY_VALIDATE").is_some();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        fresh_instance_validate(
            "example",
            autopack_test_artifacts::AUTOPACK_EXAMPLE,
            "post_note",
            r#"{"text":"hello"}"#,
        )
        .await;
        provider_validates().await;
        if only_validate {
            return;
        }
        let providers = [
            ("example", autopack_test_artifacts::AUTOPACK_EXAMPLE),
            ("hostile_recurse", autopack_test_artifacts::HOSTILE_RECURSE),
            ("hostile_loop", autopack_test_artifacts::HOSTILE_LOOP),
            ("hostile_alloc", autopack_test_artifacts::HOSTILE_ALLOC),
        ];
        warm_cache_start(&providers).await;
    });
}
