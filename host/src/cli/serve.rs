//! `autopack-host serve`: the server.
//!
//! Without `--config` it runs on the built-in development defaults ([`dev_defaults`]): the
//! SQLite ledger in `./autopack-data`, the four first-party providers from
//! `target/guests/wasm32-wasip2/release` (or `AUTOPACK_PLUGIN_DIR`), the policies in
//! `./policies`, everything dry-run by default and every switch off.

use super::common::service_fail;
use super::{EXIT_FAILED, EXIT_USAGE, fail};
use crate::api::auth::Authenticator;
use crate::api::metrics::Metrics;
use crate::api::{AppState, app, serve};
use crate::config::HostConfig;
use crate::posture::{self, Environment};
use crate::secrets::{Env, ProcessEnv};
use crate::service::{Host, StartOptions, SystemClock};
use clap::Args;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Where `cargo xtask run` builds the first-party components.
pub const DEFAULT_PLUGIN_DIR: &str = "target/guests/wasm32-wasip2/release";

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Host config; without it the built-in development defaults are used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address (default: `AUTOPACK_LISTEN`, else `server.listen`, else 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
}

/// The built-in development config: the four first-party providers from `plugin_dir`, their
/// real API origins, unpinned (production refuses that), the ledger in `./autopack-data`.
pub fn dev_defaults(plugin_dir: &Path) -> String {
    let c = |name: &str| {
        toml_string(
            &plugin_dir
                .join(format!("autopack_{name}.wasm"))
                .to_string_lossy(),
        )
    };
    format!(
        r#"data_dir = "autopack-data"
policies_dir = "policies"

[[providers]]
domain = "etsy"
component = {etsy}
origins = ["https://openapi.etsy.com"]
[providers.settings]
shop_id = "12345678"
[[providers.credentials]]
origin = "https://openapi.etsy.com"
header = "x-api-key"
value = "{{ETSY_API_KEY}}"
[[providers.credentials]]
origin = "https://openapi.etsy.com"
header = "Authorization"
value = "Bearer {{ETSY_OAUTH_TOKEN}}"

[[providers]]
domain = "shopify"
component = {shopify}
origins = ["https://my-shop.myshopify.com"]
graphql_read_paths = ["/admin/api/2025-01/graphql.json"]
[providers.settings]
store_domain = "my-shop.myshopify.com"
[[providers.credentials]]
origin = "https://my-shop.myshopify.com"
header = "X-Shopify-Access-Token"
value = "{{SHOPIFY_ACCESS_TOKEN}}"

[[providers]]
domain = "youtube"
component = {youtube}
origins = ["https://www.googleapis.com"]
[[providers.credentials]]
origin = "https://www.googleapis.com"
header = "Authorization"
value = "Bearer {{YOUTUBE_OAUTH_TOKEN}}"

[[providers]]
domain = "trading"
component = {trading}
origins = ["https://paper-api.alpaca.markets"]
[providers.settings]
environment = "paper"
[[providers.credentials]]
origin = "https://paper-api.alpaca.markets"
header = "APCA-API-KEY-ID"
value = "{{APCA_API_KEY_ID}}"
[[providers.credentials]]
origin = "https://paper-api.alpaca.markets"
header = "APCA-API-SECRET-KEY"
value = "{{APCA_API_SECRET_KEY}}"
"#,
        etsy = c("etsy"),
        shopify = c("shopify"),
        youtube = c("youtube"),
        trading = c("trading"),
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The process environment plus development placeholders for provider secrets that are not
/// set, so the dev defaults start without credentials. Placeholders are never real
/// credentials: a live call with one fails at the provider as unauthorized.
struct DevEnv {
    placeholders: BTreeMap<String, String>,
}

impl Env for DevEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        ProcessEnv
            .var_os(name)
            .or_else(|| self.placeholders.get(name).map(OsString::from))
    }
}

fn dev_env(config: &HostConfig) -> DevEnv {
    let mut placeholders = BTreeMap::new();
    for p in &config.providers {
        for c in &p.credentials {
            for name in crate::secrets::template_names(&c.value).unwrap_or_default() {
                let file = format!("{name}_FILE");
                if ProcessEnv.var_os(&name).is_none() && ProcessEnv.var_os(&file).is_none() {
                    tracing::warn!(
                        secret = %name,
                        "secret not set; using a development placeholder (live calls will be unauthorized)"
                    );
                    placeholders.insert(name.clone(), format!("dev-placeholder-{name}"));
                }
            }
        }
    }
    DevEnv { placeholders }
}

pub(super) async fn run(args: ServeArgs) -> ExitCode {
    let env = ProcessEnv;
    let environment = match posture::environment(&env) {
        Ok(e) => e,
        Err(e) => return fail("config_invalid", e, EXIT_USAGE),
    };
    let production = environment == Environment::Production;
    let embedded = args.config.is_none();
    let config = match &args.config {
        Some(file) => match HostConfig::load(file) {
            Ok(c) => c,
            Err(e) => {
                let hint = if production {
                    " (AUTOPACK_ENV=production refuses to start)"
                } else {
                    ""
                };
                return fail(e.code(), format!("{e}{hint}"), EXIT_USAGE);
            }
        },
        None => {
            let dir = ProcessEnv
                .var_os("AUTOPACK_PLUGIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_PLUGIN_DIR));
            let cwd = match std::env::current_dir() {
                Ok(d) => d,
                Err(e) => return fail("config_invalid", e, EXIT_USAGE),
            };
            match HostConfig::parse(
                &dev_defaults(&dir),
                Path::new("<built-in development defaults>"),
                &cwd,
            ) {
                Ok(c) => c,
                Err(e) => return fail(e.code(), e, EXIT_USAGE),
            }
        }
    };
    if production {
        let violations = posture::check(&config, &env, embedded);
        if !violations.is_empty() {
            for v in &violations {
                eprintln!("error[production_posture]: {v}");
            }
            eprintln!(
                "AUTOPACK_ENV=production refuses to start: {} setting(s) above",
                violations.len()
            );
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let dev;
    let env_ref: &(dyn Env + Sync) = if embedded && !production {
        dev = dev_env(&config);
        &dev
    } else {
        &env
    };
    let (auth, notes) = match Authenticator::from_config(&config, env_ref, production) {
        Ok(a) => a,
        Err(e) => return fail("auth_invalid", e, EXIT_USAGE),
    };
    if !auth.has_principals() {
        return fail(
            "auth_invalid",
            "no API key is configured: add `[[api_keys]]` or set `AUTOPACK_API_KEY_FILE`",
            EXIT_USAGE,
        );
    }
    let metrics = Arc::new(Metrics::new());
    let host = match Host::start_with(
        &config,
        env_ref,
        Arc::new(SystemClock),
        StartOptions {
            observer: Some(metrics.clone()),
            ..StartOptions::default()
        },
    )
    .await
    {
        Ok(h) => Arc::new(h),
        Err(e) => return service_fail(&e),
    };
    if !host.recovered().is_empty() {
        tracing::warn!(
            actions = ?host.recovered().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "actions found executing at start are now `unknown`; resolve them (I6)"
        );
    }
    let listen = args
        .listen
        .or_else(|| {
            ProcessEnv
                .var_os("AUTOPACK_LISTEN")
                .and_then(|v| v.into_string().ok())
        })
        .unwrap_or_else(|| config.server.listen.clone());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(
                "listen_failed",
                format!("cannot listen on `{listen}`: {e}"),
                EXIT_FAILED,
            );
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    let state = AppState::new(host.clone(), auth, config.server.clone(), metrics);
    let router = app(state);
    spawn_expiry(host.clone());
    println!("autopack-host listening on http://{addr}");
    if embedded {
        println!("using the built-in development defaults (dry-run by default, every switch off)");
    }
    if let Some(key) = &notes.generated_key {
        println!("development admin key (printed once, stored nowhere): {key}");
        println!("  curl -H 'X-API-Key: {key}' http://{addr}/api/auth/whoami");
    } else {
        println!("authenticate with `X-API-Key: <key>` or a session from POST /api/auth/login");
    }
    if notes.ephemeral_jwt {
        println!("sessions are signed with a key pair generated for this run");
    }
    match serve(listener, router, shutdown_signal()).await {
        Ok(()) => {
            host.ledger().close().await;
            ExitCode::SUCCESS
        }
        Err(e) => fail("serve_failed", e, EXIT_FAILED),
    }
}

/// Moves pending or approved actions past their approval lifetime to `expired`.
fn spawn_expiry(host: Arc<Host>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            if let Err(e) = host.expire_due().await {
                tracing::warn!(error = %e, "expiring due actions failed");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
