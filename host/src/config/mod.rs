//! The operator's host config file (`autopack-host.toml`).
//!
//! Parsing happens in two layers, as in ripgrep: this module turns the text
//! into a typed, validated [`HostConfig`] (every unknown key is an error that
//! names the file, the line and the key path); the runtime then builds
//! working objects from it. Relative paths are resolved against the config
//! file's directory so a config means the same thing from any working dir.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::sandbox::origin::Origin;

pub mod server;
pub use server::{ApiKeyConfig, AuthSettings, ServerSettings};

/// A config file could not be used; names the file, and where possible the line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file `{file}`: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong/unknown key.
    #[error("config file `{file}`{line}: key `{key}`: {message}", line = fmt_line(*.line))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted key path (`providers[0].limits.memory_mib`).
        key: String,
        /// What was expected.
        message: String,
    },
}

impl ConfigError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config_unreadable",
            ConfigError::Invalid { .. } => "config_invalid",
        }
    }
}

fn fmt_line(line: Option<usize>) -> String {
    line.map(|l| format!(" line {l}")).unwrap_or_default()
}

/// The whole host config.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Where the host keeps its state (scratch dirs, compiled-component cache).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The ledger's database URL (`sqlite://…` or `postgres://…`); see [`HostConfig::database_url`].
    #[serde(default)]
    pub database_url: Option<String>,
    /// Where the project policies are (default `policies` beside the config file).
    #[serde(default)]
    pub policies_dir: Option<PathBuf>,
    /// Engine-wide settings.
    #[serde(default)]
    pub runtime: RuntimeSettings,
    /// One entry per provider domain.
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// The HTTP server (`serve`).
    #[serde(default)]
    pub server: ServerSettings,
    /// Session tokens.
    #[serde(default)]
    pub auth: AuthSettings,
    /// API keys, stored as SHA-256 only.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// Directory the file was loaded from (for resolving relative paths); not a key.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file it was loaded from; not a key.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// Engine-wide settings (`[runtime]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Use the pooling instance allocator (fast fresh instances). Default true.
    pub pooling: bool,
    /// How many component instances may be alive at once (pool size). Default 128.
    pub max_instances: u32,
    /// Cache compiled components on disk. Default true.
    pub compile_cache: bool,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            pooling: true,
            max_instances: 128,
            compile_cache: true,
        }
    }
}

/// One `[[providers]]` entry: what the operator grants one provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The domain this provider serves; must equal the component's `describe().domain`.
    pub domain: String,
    /// Path to the component (`.wasm`).
    pub component: PathBuf,
    /// Pinned SHA-256 (hex) of the component; a mismatch refuses to load.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Origins (`scheme://host[:port]`) the provider may call.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Exact URL paths (`/admin/api/2025-01/graphql.json`) where a `POST` whose
    /// body is a GraphQL query (no mutation or subscription) counts as a read,
    /// so the read-only profile allows it on the granted origins.
    #[serde(default)]
    pub graphql_read_paths: Vec<String>,
    /// Read-only input directories: guest name → host path (seen at `/input/<name>`).
    #[serde(default)]
    pub input_dirs: BTreeMap<String, PathBuf>,
    /// Provider settings readable with `host.setting` (base URL, shop id...).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Credential injection rules.
    #[serde(default)]
    pub credentials: Vec<CredentialRule>,
    /// Per-call limits.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Adds a header carrying secrets to every request to one origin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRule {
    /// The origin whose requests get the header.
    pub origin: String,
    /// Header name (e.g. `Authorization`, `x-api-key`).
    pub header: String,
    /// Header value template; `{NAME}` is replaced by secret `NAME`
    /// (from `NAME_FILE` or `NAME`), e.g. `"Bearer {ETSY_OAUTH_TOKEN}"`.
    pub value: String,
}

/// Per-call limits as written in the config; every field has a safe default.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Linear memory per instance, MiB.
    pub memory_mib: u32,
    /// Table elements per instance.
    pub table_elements: u32,
    /// CPU budget in fuel units (about one per wasm instruction).
    pub cpu_fuel: u64,
    /// Wall time of one call, milliseconds.
    pub wall_time_ms: u64,
    /// Outbound HTTP requests per call.
    pub max_requests: u32,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Bytes of one request body.
    pub max_request_body_bytes: u64,
    /// Connect and first-byte timeout of one request, milliseconds.
    pub http_timeout_ms: u64,
    /// Bytes of log (host log + stdout + stderr) per call.
    pub max_log_bytes: u64,
    /// Artifacts per call.
    pub max_artifacts: u32,
    /// Bytes of all artifacts of one call.
    pub max_artifact_bytes: u64,
    /// Bytes of the returned outcome or validated params.
    pub max_outcome_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            memory_mib: 64,
            table_elements: 20_000,
            cpu_fuel: 2_000_000_000,
            wall_time_ms: 30_000,
            max_requests: 32,
            max_response_bytes: 8 * 1024 * 1024,
            max_request_body_bytes: 16 * 1024 * 1024,
            http_timeout_ms: 10_000,
            max_log_bytes: 64 * 1024,
            max_artifacts: 16,
            max_artifact_bytes: 4 * 1024 * 1024,
            max_outcome_bytes: 1024 * 1024,
        }
    }
}

/// The largest linear memory any provider may be granted (the pool's slot size).
pub const MAX_MEMORY_MIB: u32 = 1024;

impl HostConfig {
    /// Reads and validates a config file.
    pub fn load(file: &Path) -> Result<HostConfig, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        // Absolute, so the data dir means the same thing to every component
        // (wasmtime's cache, for one, insists on an absolute directory).
        let base = std::path::absolute(if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &base
        })
        .map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Self::parse(&text, file, &base)
    }

    /// Parses config text; `file` is used in messages, `base_dir` resolves relative paths.
    pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<HostConfig, ConfigError> {
        let de =
            toml::Deserializer::parse(text).map_err(|e| invalid_from_toml(file, text, &e, ""))?;
        let mut cfg: HostConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            invalid_from_toml(file, text, e.inner(), &key)
        })?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.file = Some(file.to_path_buf());
        cfg.check(text)?;
        Ok(cfg)
    }

    fn invalid(&self, text: &str, key: String, message: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.clone().unwrap_or_default(),
            line: line_of_key(text, &key),
            key,
            message,
        }
    }

    /// Semantic checks serde cannot express.
    fn check(&self, text: &str) -> Result<(), ConfigError> {
        self.check_providers(text)?;
        self.check_server(text)
    }

    fn check_server(&self, text: &str) -> Result<(), ConfigError> {
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(self.invalid(
                text,
                "server.listen".into(),
                format!(
                    "`{}` is not a socket address: expected e.g. `127.0.0.1:8080`",
                    self.server.listen
                ),
            ));
        }
        if self.server.body_limit_bytes == 0 || self.server.request_timeout_ms == 0 {
            let key = if self.server.body_limit_bytes == 0 {
                "server.body_limit_bytes"
            } else {
                "server.request_timeout_ms"
            };
            return Err(self.invalid(text, key.into(), "expected a positive number".into()));
        }
        if self.auth.session_ttl_secs == 0 || self.auth.session_ttl_secs > 86_400 {
            return Err(self.invalid(
                text,
                "auth.session_ttl_secs".into(),
                format!("expected 1 to 86400, got {}", self.auth.session_ttl_secs),
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, k) in self.api_keys.iter().enumerate() {
            let at = |f: &str| format!("api_keys[{i}].{f}");
            if let Err(e) = k.id.parse::<crate::governance::PrincipalId>() {
                return Err(self.invalid(text, at("id"), e.to_string()));
            }
            if !ids.insert(k.id.as_str()) {
                return Err(self.invalid(
                    text,
                    at("id"),
                    format!("principal `{}` has two keys", k.id),
                ));
            }
            if !is_sha256_hex(&k.sha256) {
                return Err(self.invalid(
                    text,
                    at("sha256"),
                    "expected 64 lowercase hex characters (the SHA-256 that `autopack-host keys new` prints)".into(),
                ));
            }
            if k.roles.is_empty() {
                return Err(self.invalid(text, at("roles"), "expected at least one role".into()));
            }
            for (j, r) in k.roles.iter().enumerate() {
                if let Err(e) = r.parse::<crate::principal::Role>() {
                    return Err(self.invalid(text, at(&format!("roles[{j}]")), e));
                }
            }
            for (j, p) in k.projects.iter().flatten().enumerate() {
                if let Err(e) = p.parse::<crate::governance::ProjectId>() {
                    return Err(self.invalid(text, at(&format!("projects[{j}]")), e.to_string()));
                }
            }
        }
        Ok(())
    }

    fn check_providers(&self, text: &str) -> Result<(), ConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.providers.iter().enumerate() {
            let at = |k: &str| format!("providers[{i}].{k}");
            if !is_domain(&p.domain) {
                return Err(self.invalid(text, at("domain"), format!(
                    "`{}` is not a valid domain: expected lowercase letters, digits and `_`, starting with a letter", p.domain)));
            }
            if !seen.insert(p.domain.as_str()) {
                return Err(self.invalid(
                    text,
                    at("domain"),
                    format!("provider `{}` is configured twice", p.domain),
                ));
            }
            if let Some(sha) = &p.sha256
                && !is_sha256_hex(sha)
            {
                {
                    return Err(self.invalid(
                        text,
                        at("sha256"),
                        format!(
                            "expected 64 lowercase hex characters (a SHA-256 digest), got `{sha}`"
                        ),
                    ));
                }
            }
            for (j, o) in p.origins.iter().enumerate() {
                Origin::parse(o)
                    .map_err(|e| self.invalid(text, at(&format!("origins[{j}]")), e.to_string()))?;
            }
            for (j, path) in p.graphql_read_paths.iter().enumerate() {
                if let Err(why) = check_graphql_read_path(path) {
                    return Err(self.invalid(
                        text,
                        at(&format!("graphql_read_paths[{j}]")),
                        format!("`{path}` {why}"),
                    ));
                }
            }
            for (j, c) in p.credentials.iter().enumerate() {
                let origin = Origin::parse(&c.origin).map_err(|e| {
                    self.invalid(text, at(&format!("credentials[{j}].origin")), e.to_string())
                })?;
                if !p
                    .origins
                    .iter()
                    .filter_map(|o| Origin::parse(o).ok())
                    .any(|o| o == origin)
                {
                    return Err(self.invalid(
                        text,
                        at(&format!("credentials[{j}].origin")),
                        format!(
                            "`{}` is not one of this provider's granted `origins`",
                            c.origin
                        ),
                    ));
                }
                if http::HeaderName::from_bytes(c.header.as_bytes()).is_err() {
                    return Err(self.invalid(
                        text,
                        at(&format!("credentials[{j}].header")),
                        format!("`{}` is not a valid HTTP header name", c.header),
                    ));
                }
                if let Err(e) = crate::secrets::template_names(&c.value) {
                    return Err(self.invalid(text, at(&format!("credentials[{j}].value")), e));
                }
            }
            for name in p.input_dirs.keys() {
                if !is_domain(name) {
                    return Err(self.invalid(text, at(&format!("input_dirs.{name}")), format!(
                        "`{name}` is not a valid input dir name: expected lowercase letters, digits and `_`")));
                }
            }
            let l = &p.limits;
            if l.memory_mib == 0 || l.memory_mib > MAX_MEMORY_MIB {
                return Err(self.invalid(
                    text,
                    at("limits.memory_mib"),
                    format!("expected 1 to {MAX_MEMORY_MIB}, got {}", l.memory_mib),
                ));
            }
            for (k, v) in [
                ("wall_time_ms", l.wall_time_ms),
                ("cpu_fuel", l.cpu_fuel),
                ("http_timeout_ms", l.http_timeout_ms),
            ] {
                if v == 0 {
                    return Err(self.invalid(
                        text,
                        at(&format!("limits.{k}")),
                        "expected a positive number".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Resolves a path from the config against the config file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The data dir (default `data` beside the config file).
    pub fn data_dir(&self) -> PathBuf {
        self.resolve(self.data_dir.as_deref().unwrap_or(Path::new("data")))
    }

    /// The policies dir (default `policies` beside the config file).
    pub fn policies_dir(&self) -> PathBuf {
        self.resolve(
            self.policies_dir
                .as_deref()
                .unwrap_or(Path::new("policies")),
        )
    }

    /// The ledger's database URL: the `database_url` key, else the secret `DATABASE_URL`
    /// (`DATABASE_URL_FILE` > `DATABASE_URL`) from `env`, else `sqlite://<data_dir>/autopack.db`.
    pub fn database_url(
        &self,
        env: &dyn crate::secrets::Env,
    ) -> Result<String, crate::secrets::SecretError> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        if env.var_os("DATABASE_URL_FILE").is_some() || env.var_os("DATABASE_URL").is_some() {
            return crate::secrets::load_secret("DATABASE_URL", env).map(|s| s.expose().to_owned());
        }
        Ok(format!(
            "sqlite://{}",
            self.data_dir().join("autopack.db").display()
        ))
    }

    /// The provider entry for a domain.
    pub fn provider(&self, domain: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.domain == domain)
    }
}

/// 64 lowercase hex characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Domains, input dir names: `[a-z][a-z0-9_]{0,62}`.
pub fn is_domain(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A `graphql_read_paths` entry: an absolute URL path, compared exactly.
fn check_graphql_read_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("must be a URL path starting with `/`");
    }
    if path.contains(['?', '#']) {
        return Err("must be a path alone, without a query string or fragment");
    }
    if path.contains("//") || http::uri::PathAndQuery::try_from(path).is_err() {
        return Err("is not a valid URL path");
    }
    Ok(())
}

fn invalid_from_toml(file: &Path, text: &str, e: &toml::de::Error, key: &str) -> ConfigError {
    let line = e.span().map(|s| line_at(text, s.start));
    let key = if key.is_empty() || key == "." {
        "(top level)".to_string()
    } else {
        key.to_string()
    };
    ConfigError::Invalid {
        file: file.to_path_buf(),
        line,
        key,
        message: e.message().to_string(),
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// Best-effort line of the last segment of a dotted key, for semantic errors.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let last = key.rsplit('.').next()?;
    let last = last.split('[').next()?;
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(last) && t[last.len()..].trim_start().starts_with('=')
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn parse(text: &str) -> Result<HostConfig, ConfigError> {
        HostConfig::parse(
            text,
            Path::new("autopack-host.toml"),
            Path::new("/etc/autopack"),
        )
    }

    const GOOD: &str = r#"
data_dir = "state"

[[providers]]
domain = "etsy"
component = "plugins/etsy.wasm"
sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
origins = ["https://openapi.etsy.com"]

[[providers.credentials]]
origin = "https://openapi.etsy.com"
header = "x-api-key"
value = "{ETSY_API_KEY}"

[providers.limits]
memory_mib = 32
"#;

    #[test]
    fn good_config_parses_and_resolves_paths() {
        let cfg = parse(GOOD).unwrap();
        assert_eq!(cfg.data_dir(), PathBuf::from("/etc/autopack/state"));
        let p = cfg.provider("etsy").unwrap();
        assert_eq!(p.limits.memory_mib, 32);
        assert_eq!(p.limits.wall_time_ms, LimitsConfig::default().wall_time_ms);
        assert_eq!(
            cfg.resolve(&p.component),
            PathBuf::from("/etc/autopack/plugins/etsy.wasm")
        );
    }

    #[test]
    fn unknown_top_level_key_names_file_line_and_key() {
        let err = parse("data_dir = \"x\"\nlisten_adress = \"1\"\n").unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.code(), "config_invalid");
        assert!(msg.starts_with("config file `autopack-host.toml` line 2: key `listen_adress`: unknown field `listen_adress`"), "{msg}");
    }

    #[test]
    fn unknown_nested_key_names_its_path() {
        let text = GOOD.replace("memory_mib = 32", "memory_mb = 32");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("line 16"), "{msg}");
        assert!(
            msg.contains(
                "key `providers[0].limits.memory_mb`: unknown field `memory_mb`, expected one of"
            ),
            "{msg}"
        );
    }

    #[test]
    fn bad_digest_is_refused_with_expectation() {
        let text = GOOD.replace(
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "ABC",
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert_eq!(
            msg,
            "config file `autopack-host.toml` line 7: key `providers[0].sha256`: expected 64 lowercase hex characters (a SHA-256 digest), got `ABC`"
        );
    }

    #[test]
    fn wrong_type_names_key() {
        let text = GOOD.replace("memory_mib = 32", "memory_mib = \"lots\"");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("key `providers[0].limits.memory_mib`"),
            "{msg}"
        );
        assert!(msg.contains("line 16"), "{msg}");
    }

    #[test]
    fn credential_for_ungranted_origin_is_refused() {
        let text = GOOD.replace(
            "origin = \"https://openapi.etsy.com\"",
            "origin = \"https://evil.example\"",
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("key `providers[0].credentials[0].origin`: `https://evil.example` is not one of this provider's granted `origins`"), "{msg}");
    }

    #[test]
    fn bad_secret_template_is_refused() {
        let text = GOOD.replace("{ETSY_API_KEY}", "{etsy key");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("key `providers[0].credentials[0].value`"),
            "{msg}"
        );
    }

    #[test]
    fn memory_above_pool_slot_is_refused() {
        let text = GOOD.replace("memory_mib = 32", "memory_mib = 4096");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("expected 1 to 1024, got 4096"), "{msg}");
    }

    #[test]
    fn database_url_and_policies_dir_keys() {
        let cfg = parse(GOOD).unwrap();
        let empty = BTreeMap::<String, String>::new();
        assert_eq!(cfg.policies_dir(), PathBuf::from("/etc/autopack/policies"));
        assert_eq!(
            cfg.database_url(&empty).unwrap(),
            "sqlite:///etc/autopack/state/autopack.db"
        );
        let env = BTreeMap::from([(
            "DATABASE_URL".to_string(),
            "postgres://u@db/autopack".to_string(),
        )]);
        assert_eq!(cfg.database_url(&env).unwrap(), "postgres://u@db/autopack");
        let text =
            format!("database_url = \"sqlite:///tmp/x.db\"\npolicies_dir = \"rules\"\n{GOOD}");
        let cfg = parse(&text).unwrap();
        assert_eq!(cfg.policies_dir(), PathBuf::from("/etc/autopack/rules"));
        assert_eq!(cfg.database_url(&env).unwrap(), "sqlite:///tmp/x.db");
    }

    #[test]
    fn misspelled_database_key_is_refused() {
        let msg = parse("database_uri = \"sqlite://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("line 1: key `database_uri`: unknown field"),
            "{msg}"
        );
    }

    #[test]
    fn graphql_read_paths_are_checked() {
        let good = GOOD.replace(
            "origins = [\"https://openapi.etsy.com\"]",
            "origins = [\"https://openapi.etsy.com\"]\ngraphql_read_paths = [\"/admin/api/2025-01/graphql.json\"]",
        );
        let cfg = parse(&good).unwrap();
        assert_eq!(
            cfg.provider("etsy").unwrap().graphql_read_paths,
            vec!["/admin/api/2025-01/graphql.json"]
        );
        assert!(
            parse(GOOD).unwrap().providers[0]
                .graphql_read_paths
                .is_empty()
        );
        for (path, why) in [
            ("admin/graphql.json", "must be a URL path starting with `/`"),
            (
                "/graphql.json?x=1",
                "must be a path alone, without a query string or fragment",
            ),
            (
                "https://openapi.etsy.com/graphql",
                "must be a URL path starting with `/`",
            ),
            ("/a b", "is not a valid URL path"),
        ] {
            let text = good.replace("/admin/api/2025-01/graphql.json", path);
            let msg = parse(&text).unwrap_err().to_string();
            assert_eq!(
                msg,
                format!(
                    "config file `autopack-host.toml` line 9: key `providers[0].graphql_read_paths[0]`: `{path}` {why}"
                ),
            );
        }
        // A wrong type names the key too.
        let text = good.replace(
            "[\"/admin/api/2025-01/graphql.json\"]",
            "\"/admin/api/2025-01/graphql.json\"",
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("line 9: key `providers[0].graphql_read_paths`"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_domain_is_refused() {
        let text = format!("{GOOD}\n[[providers]]\ndomain = \"etsy\"\ncomponent = \"x.wasm\"\n");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("provider `etsy` is configured twice"), "{msg}");
    }
}
