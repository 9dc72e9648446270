//! What the governance commands share: the config file, the actor, the catalog.

use super::{EXIT_FAILED, EXIT_USAGE, fail};
use crate::config::HostConfig;
use crate::governance::{Catalog, PrincipalId};
use crate::runtime::{Runtime, RuntimeOptions};
use crate::service::load;
use crate::service::{Actor, AuthMethod};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The default config file, looked up in the current directory.
pub(super) const DEFAULT_CONFIG: &str = "autopack-host.toml";

/// Loads `--config`, or `autopack-host.toml` in the current directory; exit 2 if neither.
pub(super) fn config(path: Option<&Path>) -> Result<HostConfig, ExitCode> {
    let file = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(DEFAULT_CONFIG);
            if !p.is_file() {
                return Err(fail(
                    "config_missing",
                    format!("no `{DEFAULT_CONFIG}` in the current directory: pass --config FILE"),
                    EXIT_USAGE,
                ));
            }
            p
        }
    };
    HostConfig::load(&file).map_err(|e| fail(e.code(), e, EXIT_USAGE))
}

/// The CLI's actor: `--as`, else `$USER`, else `cli`; authenticated as `cli`.
pub(super) fn actor(name: Option<&str>) -> Result<Actor, ExitCode> {
    let name = name
        .map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let id: PrincipalId = name
        .parse()
        .map_err(|e| fail("invalid_actor", format!("`{name}`: {e}"), EXIT_USAGE))?;
    Ok(Actor::new(id, AuthMethod::Cli).with_request_id(format!("cli-{}", std::process::id())))
}

/// The catalog of the config's providers, from each component's `describe` (no grants,
/// no secrets needed); a component that does not match its pinned sha256 is refused.
pub(super) async fn catalog(config: &HostConfig) -> Result<Catalog, ExitCode> {
    let runtime = Runtime::new(&RuntimeOptions {
        pooling: false,
        max_instances: 4,
        cache_dir: config
            .runtime
            .compile_cache
            .then(|| config.data_dir().join("cache")),
    })
    .map_err(|e| fail("runtime_failed", e, EXIT_FAILED))?;
    let mut infos = Vec::new();
    for entry in &config.providers {
        let path = config.resolve(&entry.component);
        let bytes = std::fs::read(&path).map_err(|e| {
            fail(
                "component_unreadable",
                format!("provider `{}`: `{}`: {e}", entry.domain, path.display()),
                EXIT_USAGE,
            )
        })?;
        let inspection = runtime.inspect(&bytes).await.map_err(|e| {
            fail(
                "component_invalid",
                format!("provider `{}`: {e:#}", entry.domain),
                EXIT_USAGE,
            )
        })?;
        if let Some(pin) = &entry.sha256
            && *pin != inspection.sha256
        {
            return Err(fail(
                "digest_mismatch",
                format!(
                    "provider `{}`: component has sha256 {}, but the config pins {pin}",
                    entry.domain, inspection.sha256
                ),
                EXIT_USAGE,
            ));
        }
        let Some(info) = inspection.info else {
            return Err(fail(
                "describe_failed",
                format!(
                    "provider `{}`: describe failed: {}",
                    entry.domain,
                    inspection.problems.join("; ")
                ),
                EXIT_USAGE,
            ));
        };
        if info.domain != entry.domain {
            return Err(fail(
                "describe_failed",
                format!(
                    "component serves domain `{}`, but the config entry is for `{}`",
                    info.domain, entry.domain
                ),
                EXIT_USAGE,
            ));
        }
        infos.push(info);
    }
    load::catalog(infos.iter()).map_err(|e| fail(e.code(), e, EXIT_USAGE))
}

/// Prints a service error with its code; exit 1 for refusals, 2 for configuration.
pub(super) fn service_fail(e: &crate::service::ServiceError) -> ExitCode {
    let exit = match e.http_status() {
        500 if !matches!(
            e,
            crate::service::ServiceError::Ledger(_) | crate::service::ServiceError::Internal(_)
        ) =>
        {
            EXIT_USAGE
        }
        _ => EXIT_FAILED,
    };
    fail(e.code(), e, exit)
}
