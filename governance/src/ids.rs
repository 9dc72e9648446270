//! Typed identifiers, validated when they are built and when they are deserialized.
//!
//! A value of one of these types is always well formed: the only ways in are
//! [`std::str::FromStr`], `TryFrom<String>` and serde, and all three run the same check.
//! Generating ids (ULIDs for actions, digests for plugins) happens outside this crate.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid identifier of some kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not a project id (`[a-z][a-z0-9_-]{0,62}`).
    #[error("invalid project id `{0}`: expected a lowercase letter then up to 62 of `a-z 0-9 _ -`")]
    ProjectId(String),
    /// Not a domain name (`[a-z][a-z0-9_-]{0,62}`).
    #[error("invalid domain `{0}`: expected a lowercase letter then up to 62 of `a-z 0-9 _ -`")]
    Domain(String),
    /// Not an operation name (`[a-z][a-z0-9_-]{0,62}`).
    #[error(
        "invalid operation name `{0}`: expected a lowercase letter then up to 62 of `a-z 0-9 _ -`"
    )]
    OperationName(String),
    /// Not an action id (`act_` + 26 Crockford base32 characters of a ULID).
    #[error("invalid action id `{0}`: expected `act_` followed by a 26-character ULID")]
    ActionId(String),
    /// Not a payload hash (64 lowercase hex digits).
    #[error("invalid payload hash `{0}`: expected 64 lowercase hex digits")]
    PayloadHash(String),
    /// Not a plugin digest (64 lowercase hex digits of a SHA-256).
    #[error("invalid plugin digest `{0}`: expected 64 lowercase hex digits (sha256)")]
    PluginDigest(String),
    /// Not a principal id (1–128 printable ASCII characters, no spaces).
    #[error("invalid principal id `{0}`: expected 1 to 128 printable ASCII characters, no spaces")]
    PrincipalId(String),
}

impl IdError {
    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::ProjectId(_) => "invalid_project_id",
            IdError::Domain(_) => "invalid_domain",
            IdError::OperationName(_) => "invalid_operation_name",
            IdError::ActionId(_) => "invalid_action_id",
            IdError::PayloadHash(_) => "invalid_payload_hash",
            IdError::PluginDigest(_) => "invalid_plugin_digest",
            IdError::PrincipalId(_) => "invalid_principal_id",
        }
    }
}

/// `[a-z][a-z0-9_-]{0,62}`: the shape of project, domain and operation names.
fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            first.is_ascii_lowercase()
                && rest.len() <= 62
                && rest.iter().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-'
                })
        }
        None => false,
    }
}

/// 64 lowercase hex digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Crockford base32 alphabet as used by ULID (no I, L, O, U), upper case.
fn is_crockford(c: u8) -> bool {
    (c.is_ascii_digit() || c.is_ascii_uppercase()) && !matches!(c, b'I' | b'L' | b'O' | b'U')
}

/// `act_` + a canonical (upper-case) ULID whose first character is `0`–`7` (128 bits).
fn is_action_id(s: &str) -> bool {
    match s.strip_prefix("act_") {
        Some(ulid) => {
            let b = ulid.as_bytes();
            b.len() == 26
                && b.iter().all(|c| is_crockford(*c))
                && b.first().is_some_and(|c| (b'0'..=b'7').contains(c))
        }
        None => false,
    }
}

/// Printable ASCII without spaces, 1 to 128 characters.
fn is_principal(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|c| c.is_ascii_graphic())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $check:expr, $err:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s` and wraps it.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                if ($check)(s.as_str()) {
                    Ok(Self(s))
                } else {
                    Err(IdError::$err(s))
                }
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A project's name, e.g. `trading-desk`; also the stem of its policy file.
    ProjectId,
    is_slug,
    ProjectId
);
string_id!(
    /// A provider domain, e.g. `etsy`.
    Domain,
    is_slug,
    Domain
);
string_id!(
    /// An operation of a provider, e.g. `publish_listing`.
    OperationName,
    is_slug,
    OperationName
);
string_id!(
    /// An action's id: `act_` followed by a ULID, e.g. `act_01J9Z3K4W5X6Y7Z8A9B0C1D2E3`.
    ActionId,
    is_action_id,
    ActionId
);
string_id!(
    /// SHA-256 (lowercase hex) of an action's canonical payload (DESIGN I4).
    PayloadHash,
    is_sha256_hex,
    PayloadHash
);
string_id!(
    /// SHA-256 (lowercase hex) of a plugin component's bytes.
    PluginDigest,
    is_sha256_hex,
    PluginDigest
);
string_id!(
    /// Who proposed or approved an action: an API principal's id, e.g. `alice`.
    PrincipalId,
    is_principal,
    PrincipalId
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in [
            "a",
            "etsy",
            "trading-desk",
            "get_shop",
            "a1",
            &format!("a{}", "b".repeat(62)),
        ] {
            assert!(Domain::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "Etsy",
            "a b",
            "a.b",
            "-a",
            "é",
            &format!("a{}", "b".repeat(63)),
        ] {
            let e = OperationName::new(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_operation_name");
        }
    }

    #[test]
    fn action_ids() {
        assert!(ActionId::new("act_01J9Z3K4W5X6Y7Z8A9B0C1D2E3").is_ok());
        for bad in [
            "act_01J9Z3K4W5X6Y7Z8A9B0C1D2E",   // 25
            "act_01J9Z3K4W5X6Y7Z8A9B0C1D2E3X", // 27
            "act_81J9Z3K4W5X6Y7Z8A9B0C1D2E3",  // > 128 bits
            "act_01J9Z3K4W5X6Y7Z8A9B0C1D2EI",  // I is not Crockford
            "act_01j9z3k4w5x6y7z8a9b0c1d2e3",  // lower case
            "01J9Z3K4W5X6Y7Z8A9B0C1D2E3",
        ] {
            assert_eq!(
                ActionId::new(bad).unwrap_err().code(),
                "invalid_action_id",
                "{bad}"
            );
        }
    }

    #[test]
    fn hashes() {
        let h = "a".repeat(64);
        assert!(PayloadHash::new(h.clone()).is_ok());
        assert!(PluginDigest::new(h).is_ok());
        assert!(PayloadHash::new("A".repeat(64)).is_err());
        assert!(PayloadHash::new("a".repeat(63)).is_err());
        assert!(PluginDigest::new("g".repeat(64)).is_err());
    }

    #[test]
    fn serde_validates() {
        let ok: Domain = serde_json::from_str("\"etsy\"").unwrap();
        assert_eq!(ok.as_str(), "etsy");
        assert!(serde_json::from_str::<Domain>("\"Etsy\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"etsy\"");
        assert!(serde_json::from_str::<PrincipalId>("\"two words\"").is_err());
    }
}
