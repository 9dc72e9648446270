//! Production posture (I11): with `AUTOPACK_ENV=production` the host refuses to start on a
//! setting that is fine for a laptop and wrong for a server. Each refusal names the setting.
//!
//! Pure: it reads the parsed config and the environment, never the network or the disk
//! (except to resolve where a SQLite file would live).

use crate::config::HostConfig;
use crate::secrets::{Env, load_secret};
use std::path::Path;

/// Where the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// The default: generated keys and unpinned plugins are allowed, with warnings.
    Development,
    /// `AUTOPACK_ENV=production`: every check of [`check`] must pass.
    Production,
}

/// `AUTOPACK_ENV` is not `development` or `production`.
#[derive(Debug, thiserror::Error)]
#[error("`AUTOPACK_ENV` is `{0}`: expected `development` (the default) or `production`")]
pub struct UnknownEnvironment(pub String);

/// Reads `AUTOPACK_ENV`.
pub fn environment(env: &dyn Env) -> Result<Environment, UnknownEnvironment> {
    match env
        .var_os("AUTOPACK_ENV")
        .map(|v| v.to_string_lossy().into_owned())
    {
        None => Ok(Environment::Development),
        Some(v) => match v.trim() {
            "" | "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(UnknownEnvironment(other.to_owned())),
        },
    }
}

/// One refused setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The setting (config key path or environment variable).
    pub setting: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.setting, self.message)
    }
}

fn v(setting: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        setting: setting.into(),
        message: message.into(),
    }
}

fn set(env: &dyn Env, name: &str) -> bool {
    env.var_os(name).is_some() || env.var_os(&format!("{name}_FILE")).is_some()
}

fn is_temp(path: &Path) -> bool {
    // Lexically normalized, so `/var/../tmp/x` is seen for what it is.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut path = std::path::PathBuf::new();
    for c in absolute.components() {
        match c {
            std::path::Component::ParentDir => {
                path.pop();
            }
            std::path::Component::CurDir => {}
            other => path.push(other),
        }
    }
    let mut temps = vec![std::env::temp_dir()];
    if cfg!(unix) {
        temps.push("/tmp".into());
        temps.push("/var/tmp".into());
        temps.push("/dev/shm".into());
    }
    temps.iter().any(|t| path.starts_with(t))
}

/// Everything production refuses in `config` and `env`; empty means the posture is sound.
/// `embedded_defaults` says the config is the built-in development one (no `--config`).
pub fn check(config: &HostConfig, env: &dyn Env, embedded_defaults: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    if embedded_defaults {
        out.push(v(
            "--config",
            "the built-in defaults are for development; pass a config file",
        ));
    }
    if config.api_keys.is_empty() && !set(env, "AUTOPACK_API_KEY") {
        out.push(v(
            "api_keys",
            "no API key is configured: add `[[api_keys]]` entries (see `autopack-host keys new`) or set `AUTOPACK_API_KEY_FILE`",
        ));
    }
    if let Ok(k) = load_secret("AUTOPACK_API_KEY", env)
        && k.expose().starts_with(crate::api::auth::DEV_KEY_PREFIX)
    {
        out.push(v(
            "AUTOPACK_API_KEY",
            "this is a development key (generated for one dev run); make a new one with `autopack-host keys new --role admin`",
        ));
    }
    for (i, p) in config.providers.iter().enumerate() {
        if p.sha256.is_none() {
            out.push(v(
                format!("providers[{i}].sha256"),
                format!(
                    "provider `{}` is not pinned: add its sha256 (`autopack-host plugin inspect` prints it)",
                    p.domain
                ),
            ));
        }
        for (j, c) in p.credentials.iter().enumerate() {
            let named = crate::secrets::template_names(&c.value).is_ok_and(|n| !n.is_empty());
            if !named {
                out.push(v(
                    format!("providers[{i}].credentials[{j}].value"),
                    "a credential written in the config file is stored in plaintext: reference a secret as `{NAME}` and provide `NAME_FILE`",
                ));
            }
        }
    }
    if config.auth.jwt
        && !(env.var_os("JWT_PRIVATE_KEY_FILE").is_some()
            && env.var_os("JWT_PUBLIC_KEY_FILE").is_some())
    {
        out.push(v(
            "JWT_PRIVATE_KEY_FILE",
            "sessions are enabled (`auth.jwt`) but `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE` are not both set; an ephemeral key pair is for development only (or set `auth.jwt = false`)",
        ));
    }
    if config.server.default_mode == crate::governance::Mode::Live {
        out.push(v(
            "server.default_mode",
            "dry-run must be the default (I3): remove the key or set it to `dry-run`",
        ));
    }
    if let Some(url) = &config.database_url
        && url::Url::parse(url).is_ok_and(|u| u.password().is_some())
    {
        out.push(v(
            "database_url",
            "the database password is written in the config file: use `DATABASE_URL_FILE`",
        ));
    }
    let url = config.database_url(env).unwrap_or_default();
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.contains(":memory:") || is_temp(Path::new(path)) {
            out.push(v(
                if config.database_url.is_some() { "database_url" } else { "data_dir" },
                format!("the SQLite ledger `{path}` is in a temporary location and would be lost: set `data_dir` to a persistent directory"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn environment_is_read_strictly() {
        let mut env = BTreeMap::new();
        assert_eq!(environment(&env).unwrap(), Environment::Development);
        env.insert("AUTOPACK_ENV".to_owned(), "production".to_owned());
        assert_eq!(environment(&env).unwrap(), Environment::Production);
        env.insert("AUTOPACK_ENV".to_owned(), "prodution".to_owned());
        assert!(
            environment(&env)
                .unwrap_err()
                .to_string()
                .contains("prodution")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_temp_dir_is_seen_through_dot_dots() {
        assert!(is_temp(Path::new("/var/../tmp/x/autopack.db")));
        assert!(is_temp(Path::new("/tmp/./x")));
        assert!(!is_temp(Path::new("/var/lib/autopack/autopack.db")));
        assert!(!is_temp(Path::new("/tmp/../var/lib/x")));
    }
}
