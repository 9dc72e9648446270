//! Errors of loading a provider and of one call.

use serde::Serialize;
use std::path::PathBuf;

use super::types::ProviderError;
use crate::sandbox::journal::LimitKind;

/// A provider could not be loaded; the message names the provider and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("provider `{domain}`: cannot read component `{}`: {source}", path.display())]
    Read {
        /// Domain.
        domain: String,
        /// Path.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The pinned digest does not match the file.
    #[error("provider `{domain}`: component `{}` has sha256 {actual}, but the config pins {expected}", path.display())]
    DigestMismatch {
        /// Domain.
        domain: String,
        /// Path.
        path: PathBuf,
        /// Pinned.
        expected: String,
        /// Actual.
        actual: String,
    },
    /// Not a valid component, or it imports what the host does not provide.
    #[error("provider `{domain}`: component `{}` cannot be used: {message}", path.display())]
    Component {
        /// Domain.
        domain: String,
        /// Path.
        path: PathBuf,
        /// Compiler or linker message.
        message: String,
    },
    /// A secret for a credential rule could not be loaded.
    #[error("provider `{domain}`: {source}")]
    Secret {
        /// Domain.
        domain: String,
        /// Cause.
        source: crate::secrets::SecretError,
    },
    /// The operator's grants are unusable (input dir missing, bad header value).
    #[error("provider `{domain}`: {message}")]
    Grant {
        /// Domain.
        domain: String,
        /// What is wrong.
        message: String,
    },
    /// `describe` failed or returned something the host refuses.
    #[error("provider `{domain}`: describe: {message}")]
    Describe {
        /// Domain.
        domain: String,
        /// What is wrong.
        message: String,
    },
}

impl LoadError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Read { .. } => "component_unreadable",
            LoadError::DigestMismatch { .. } => "digest_mismatch",
            LoadError::Component { .. } => "component_invalid",
            LoadError::Secret { source, .. } => source.code(),
            LoadError::Grant { .. } => "grant_invalid",
            LoadError::Describe { .. } => "describe_invalid",
        }
    }
}

/// Why one call failed. The host and other calls are unaffected.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallError {
    /// The plugin returned a provider error.
    #[error("{0}")]
    Provider(ProviderError),
    /// A sandbox limit was hit.
    #[error("{limit}")]
    Limit {
        /// Which.
        limit: LimitKind,
    },
    /// The plugin trapped (panic, unreachable, bad memory access).
    #[error("plugin trapped: {message}")]
    Trap {
        /// Trap text, redacted.
        message: String,
    },
    /// The plugin returned something malformed (e.g. data that is not JSON).
    #[error("invalid plugin output: {message}")]
    InvalidOutput {
        /// What.
        message: String,
    },
    /// The call's sandbox could not be set up (scratch dir).
    #[error("sandbox setup failed: {message}")]
    Sandbox {
        /// What.
        message: String,
    },
    /// The operation is not one the provider described.
    #[error("unknown operation `{operation}`")]
    UnknownOperation {
        /// The name asked for.
        operation: String,
    },
}

impl CallError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            CallError::Provider(e) => e.code(),
            CallError::Limit { limit } => limit.code(),
            CallError::Trap { .. } => "plugin_trapped",
            CallError::InvalidOutput { .. } => "invalid_plugin_output",
            CallError::Sandbox { .. } => "sandbox_setup_failed",
            CallError::UnknownOperation { .. } => "unknown_operation",
        }
    }

    /// The limit hit, if that is why the call failed.
    pub fn limit(&self) -> Option<LimitKind> {
        match self {
            CallError::Limit { limit } => Some(*limit),
            _ => None,
        }
    }
}
