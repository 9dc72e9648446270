//! Host-side mirror of the WIT types, with JSON values parsed and serde for output.

use autopack_governance::{Effect, Mode, Tier};
use serde::Serialize;
use serde_json::Value;

use super::bindings::autopack::provider::types as wit;

/// An amount in integer minor units of a currency or quota unit, as the plugin stated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    /// Minor units.
    pub minor_units: i64,
    /// ISO-4217 code or quota unit name.
    pub unit: String,
}

/// Where an operation's spend comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SpendSource {
    /// Never spends.
    None,
    /// Always this amount.
    Fixed {
        /// The amount.
        amount: Amount,
    },
    /// Computed by `validate`.
    Computed {
        /// How.
        description: String,
    },
}

/// One operation of a provider.
#[derive(Debug, Clone, Serialize)]
pub struct OperationInfo {
    /// Name.
    pub name: String,
    /// One line for humans.
    pub summary: String,
    /// Effect.
    pub effect: Effect,
    /// Tier before any policy raise.
    pub tier: Tier,
    /// JSON Schema of the params.
    pub params_schema: Value,
    /// Spend source.
    pub spend: SpendSource,
}

/// What `describe` returned, checked and parsed.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderInfo {
    /// Domain.
    pub domain: String,
    /// Provider version.
    pub version: String,
    /// Operations.
    pub operations: Vec<OperationInfo>,
    /// Origins it needs.
    pub origins: Vec<String>,
    /// Secret names it needs injected.
    pub secrets: Vec<String>,
    /// Setting names it reads.
    pub settings: Vec<String>,
    /// Whether `lookup` is implemented.
    pub supports_lookup: bool,
}

impl ProviderInfo {
    /// An operation by name.
    pub fn operation(&self, name: &str) -> Option<&OperationInfo> {
        self.operations.iter().find(|o| o.name == name)
    }
}

/// Who is asking, for which action, in which mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallContext {
    /// Action id.
    pub action_id: String,
    /// Project.
    pub project: String,
    /// Idempotency key handed to the provider.
    pub idempotency_key: String,
    /// Dry-run or live.
    pub mode: Mode,
}

/// Normalized params and declared spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validated {
    /// Normalized params.
    pub params: Value,
    /// Declared spend.
    pub spend: Option<Amount>,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Done.
    Completed,
    /// Dry-run preview.
    Previewed,
    /// Accepted, finishing later.
    Accepted,
}

/// What an execution produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// How it ended.
    pub status: OutcomeStatus,
    /// The provider's id for the thing.
    pub external_ref: Option<String>,
    /// One line.
    pub summary: String,
    /// Actual spend.
    pub spend: Option<Amount>,
    /// Details.
    pub data: Value,
}

/// An error the provider returned (not a trap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderError {
    /// Bad params.
    #[error("invalid params at `{field}`: {message}")]
    InvalidParams {
        /// JSON pointer.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Credentials refused.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// Provider's message.
        message: String,
    },
    /// Rate limited.
    #[error("rate limited: {message}")]
    RateLimited {
        /// Seconds to wait.
        retry_after_seconds: Option<u32>,
        /// Provider's message.
        message: String,
    },
    /// Provider API error.
    #[error("provider error {code}: {message}")]
    Provider {
        /// Provider's code.
        code: String,
        /// Provider's message.
        message: String,
        /// Whether a retry may help.
        retryable: bool,
    },
    /// The plugin refused.
    #[error("denied: {message}")]
    Denied {
        /// Why.
        message: String,
    },
    /// Plugin bug.
    #[error("internal plugin error: {message}")]
    Internal {
        /// What.
        message: String,
    },
}

impl ProviderError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::InvalidParams { .. } => "invalid_params",
            ProviderError::Unauthorized { .. } => "provider_unauthorized",
            ProviderError::RateLimited { .. } => "provider_rate_limited",
            ProviderError::Provider { .. } => "provider_error",
            ProviderError::Denied { .. } => "provider_denied",
            ProviderError::Internal { .. } => "provider_internal",
        }
    }
}

impl From<wit::Effect> for Effect {
    fn from(e: wit::Effect) -> Self {
        match e {
            wit::Effect::Read => Effect::Read,
            wit::Effect::Draft => Effect::Draft,
            wit::Effect::Publish => Effect::Publish,
            wit::Effect::Modify => Effect::Modify,
            wit::Effect::Delete => Effect::Delete,
            wit::Effect::Spend => Effect::Spend,
            wit::Effect::Trade => Effect::Trade,
        }
    }
}

impl From<wit::Amount> for Amount {
    fn from(a: wit::Amount) -> Self {
        Amount {
            minor_units: a.minor_units,
            unit: a.unit,
        }
    }
}

impl From<wit::SpendSource> for SpendSource {
    fn from(s: wit::SpendSource) -> Self {
        match s {
            wit::SpendSource::None => SpendSource::None,
            wit::SpendSource::Fixed(a) => SpendSource::Fixed { amount: a.into() },
            wit::SpendSource::Computed(d) => SpendSource::Computed { description: d },
        }
    }
}

impl From<&CallContext> for wit::CallContext {
    fn from(c: &CallContext) -> Self {
        wit::CallContext {
            action_id: c.action_id.clone(),
            project: c.project.clone(),
            idempotency_key: c.idempotency_key.clone(),
            mode: match c.mode {
                Mode::DryRun => wit::Mode::DryRun,
                Mode::Live => wit::Mode::Live,
            },
        }
    }
}

impl From<wit::OutcomeStatus> for OutcomeStatus {
    fn from(s: wit::OutcomeStatus) -> Self {
        match s {
            wit::OutcomeStatus::Completed => OutcomeStatus::Completed,
            wit::OutcomeStatus::Previewed => OutcomeStatus::Previewed,
            wit::OutcomeStatus::Accepted => OutcomeStatus::Accepted,
        }
    }
}

impl From<wit::ProviderError> for ProviderError {
    fn from(e: wit::ProviderError) -> Self {
        match e {
            wit::ProviderError::InvalidParams(f) => ProviderError::InvalidParams {
                field: f.field,
                message: f.message,
            },
            wit::ProviderError::Unauthorized(m) => ProviderError::Unauthorized { message: m },
            wit::ProviderError::RateLimited(r) => ProviderError::RateLimited {
                retry_after_seconds: r.retry_after_seconds,
                message: r.message,
            },
            wit::ProviderError::Provider(p) => ProviderError::Provider {
                code: p.code,
                message: p.message,
                retryable: p.retryable,
            },
            wit::ProviderError::Denied(m) => ProviderError::Denied { message: m },
            wit::ProviderError::Internal(m) => ProviderError::Internal { message: m },
        }
    }
}
