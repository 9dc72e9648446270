//! The server's part of the config: `[server]`, `[auth]` and `[[api_keys]]`.

use crate::governance::Mode;
use serde::Deserialize;

/// `[server]`: how `autopack-host serve` listens and bounds requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Listen address (default `127.0.0.1:8080`; `--listen` and `AUTOPACK_LISTEN` override).
    pub listen: String,
    /// Largest accepted request body in bytes (default 1 MiB); larger bodies get 413.
    pub body_limit_bytes: usize,
    /// Whole-request timeout in milliseconds (default 60 s; a live plugin call is bounded by
    /// its own wall-time limit, which should stay below this).
    pub request_timeout_ms: u64,
    /// Origins allowed by CORS; empty (the default) sends no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// The mode of a proposal that does not say (`dry-run`, the default; production refuses
    /// `live`, I3/I11).
    pub default_mode: Mode,
    /// The most bytes one artifact read may return (the `max_bytes` query is capped by it).
    pub max_artifact_read_bytes: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_ms: 60_000,
            cors_origins: Vec::new(),
            default_mode: Mode::DryRun,
            max_artifact_read_bytes: 8 * 1024 * 1024,
        }
    }
}

/// `[auth]`: session tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Whether `POST /api/auth/login` issues bearer tokens (default true). The signing key
    /// comes from `JWT_PRIVATE_KEY_FILE` / `JWT_PUBLIC_KEY_FILE` (Ed25519 PEM); in development
    /// an ephemeral pair is generated when they are unset, which production refuses.
    pub jwt: bool,
    /// Lifetime of a session token in seconds (default 900, at most 86400).
    pub session_ttl_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            jwt: true,
            session_ttl_secs: 900,
        }
    }
}

/// One `[[api_keys]]` entry: a principal holding an API key, stored as its SHA-256 only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The principal's id (recorded as the actor in audit records).
    pub id: String,
    /// SHA-256 (lowercase hex) of the key; `autopack-host keys new` prints it.
    pub sha256: String,
    /// Roles: `viewer`, `proposer`, `approver`, `operator`, `admin`.
    pub roles: Vec<String>,
    /// Projects this principal may see and touch; absent means every project.
    #[serde(default)]
    pub projects: Option<Vec<String>>,
}
