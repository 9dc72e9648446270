//! Authentication: `X-API-Key` (primary) and bearer session tokens (EdDSA JWTs).
//!
//! API keys are 256-bit random strings; the config keeps only their SHA-256. A presented key
//! is hashed and compared against every stored hash in constant time (`subtle`), so neither
//! the comparison nor the loop's length depends on which key matched.
//!
//! A session token names its principal (`sub`); roles and projects are looked up again on
//! every request, so removing a key from the config takes its tokens' rights away at the
//! next restart rather than at their expiry.

use crate::config::HostConfig;
use crate::governance::{PrincipalId, ProjectId};
use crate::principal::{Principal, ProjectScope, Role};
use crate::secrets::{Env, SecretError, load_secret};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use subtle::ConstantTimeEq;

/// The principal id of the key from `AUTOPACK_API_KEY` (or the one generated in development).
pub const ENV_ADMIN_ID: &str = "admin";
/// Prefix of every API key this host generates.
pub const KEY_PREFIX: &str = "apk_";
/// Prefix of keys generated for one development run; production refuses them.
pub const DEV_KEY_PREFIX: &str = "apk_dev_";
/// Shortest API key accepted from the environment.
pub const MIN_KEY_LEN: usize = 32;
const ISSUER: &str = "autopack-host";

/// Why authentication could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// A secret could not be loaded.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A key file is not a valid Ed25519 PEM key.
    #[error("`{var}`: {message}")]
    Key {
        /// The variable naming the key.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `AUTOPACK_API_KEY` is too weak.
    #[error(
        "`AUTOPACK_API_KEY` is shorter than {MIN_KEY_LEN} characters; use `autopack-host keys new`"
    )]
    WeakKey,
    /// The OS random source failed.
    #[error("no randomness for key generation: {0}")]
    Random(String),
}

/// One stored key.
#[derive(Debug, Clone)]
struct KeyEntry {
    hash: [u8; 32],
    principal: Principal,
}

/// How session tokens are signed, and whether the pair is ephemeral.
struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: u64,
}

/// Authenticates requests.
pub struct Authenticator {
    keys: Vec<KeyEntry>,
    jwt: Option<Jwt>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("jwt", &self.jwt.is_some())
            .finish()
    }
}

/// What setting up authentication produced besides the authenticator.
#[derive(Debug, Default)]
pub struct AuthNotes {
    /// A development admin key generated for this run, to print once.
    pub generated_key: Option<String>,
    /// Whether the session key pair was generated for this run.
    pub ephemeral_jwt: bool,
    /// Whether `AUTOPACK_API_KEY` defined the admin key.
    pub env_key: bool,
}

/// Claims of a session token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// A session token issued by [`Authenticator::login`].
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// The token.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A new random API key (`apk_` + 43 base64url characters = 256 bits).
pub fn new_key(prefix: &str) -> Result<String, AuthSetupError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthSetupError::Random(e.to_string()))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// SHA-256 of a key, lowercase hex (what the config stores).
pub fn key_hash_hex(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn principal_of(
    id: &str,
    roles: &[String],
    projects: Option<&[String]>,
) -> Result<Principal, String> {
    let id: PrincipalId = id.parse().map_err(|e| format!("principal `{id}`: {e}"))?;
    let roles = roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<BTreeSet<_>, _>>()?;
    let projects = match projects {
        None => ProjectScope::All,
        Some(ps) => ProjectScope::Only(
            ps.iter()
                .map(|p| p.parse::<ProjectId>().map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Principal {
        id,
        roles,
        projects,
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Authenticator {
    /// Builds the authenticator from `[[api_keys]]`, `AUTOPACK_API_KEY(_FILE)` and the JWT key
    /// files. In development (`production == false`) a missing admin key and a missing key
    /// pair are generated for this run (see [`AuthNotes`]).
    pub fn from_config(
        config: &HostConfig,
        env: &dyn Env,
        production: bool,
    ) -> Result<(Authenticator, AuthNotes), AuthSetupError> {
        let mut notes = AuthNotes::default();
        let mut keys = Vec::new();
        for k in &config.api_keys {
            let principal =
                principal_of(&k.id, &k.roles, k.projects.as_deref()).map_err(|message| {
                    AuthSetupError::Key {
                        var: "api_keys",
                        message,
                    }
                })?;
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&k.sha256, &mut hash).map_err(|e| AuthSetupError::Key {
                var: "api_keys",
                message: e.to_string(),
            })?;
            keys.push(KeyEntry { hash, principal });
        }
        let env_key = match load_secret("AUTOPACK_API_KEY", env) {
            Ok(s) => {
                if s.expose().len() < MIN_KEY_LEN {
                    return Err(AuthSetupError::WeakKey);
                }
                notes.env_key = true;
                Some(s.expose().to_owned())
            }
            Err(SecretError::Missing { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let admin_key = match env_key {
            Some(k) => Some(k),
            None if !production && keys.is_empty() => {
                let k = new_key(DEV_KEY_PREFIX)?;
                notes.generated_key = Some(k.clone());
                Some(k)
            }
            None => None,
        };
        if let Some(k) = admin_key {
            if keys.iter().any(|e| e.principal.id.as_str() == ENV_ADMIN_ID) {
                // Two principals named `admin` could not be told apart in the audit trail,
                // and a session token (which names only its principal) would pick one.
                return Err(AuthSetupError::Key {
                    var: "api_keys",
                    message: format!(
                        "principal id `{ENV_ADMIN_ID}` is reserved for the key from `AUTOPACK_API_KEY`: give the `[[api_keys]]` entry another id"
                    ),
                });
            }
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&Sha256::digest(k.as_bytes()));
            let principal =
                principal_of(ENV_ADMIN_ID, &["admin".to_owned()], None).map_err(|message| {
                    AuthSetupError::Key {
                        var: "AUTOPACK_API_KEY",
                        message,
                    }
                })?;
            keys.push(KeyEntry { hash, principal });
        }
        let jwt = if config.auth.jwt {
            let (encoding, decoding) = match (
                load_optional("JWT_PRIVATE_KEY", env)?,
                load_optional("JWT_PUBLIC_KEY", env)?,
            ) {
                (Some(private), Some(public)) => {
                    let pair = (
                        EncodingKey::from_ed_pem(private.as_bytes()).map_err(|e| {
                            AuthSetupError::Key {
                                var: "JWT_PRIVATE_KEY_FILE",
                                message: format!("expected an Ed25519 private key in PEM: {e}"),
                            }
                        })?,
                        DecodingKey::from_ed_pem(public.as_bytes()).map_err(|e| {
                            AuthSetupError::Key {
                                var: "JWT_PUBLIC_KEY_FILE",
                                message: format!("expected an Ed25519 public key in PEM: {e}"),
                            }
                        })?,
                    );
                    if !pair_matches(&pair.0, &pair.1) {
                        return Err(AuthSetupError::Key {
                            var: "JWT_PUBLIC_KEY_FILE",
                            message: "is not the public half of `JWT_PRIVATE_KEY_FILE`: no session token would verify".into(),
                        });
                    }
                    pair
                }
                (None, None) => {
                    notes.ephemeral_jwt = true;
                    ephemeral_pair()?
                }
                // Half a pair is a mistake, not a request for a generated one.
                (Some(_), None) => {
                    return Err(AuthSetupError::Key {
                        var: "JWT_PUBLIC_KEY_FILE",
                        message: "is not set but `JWT_PRIVATE_KEY_FILE` is: set both (or neither, in development, for a pair generated for this run)".into(),
                    });
                }
                (None, Some(_)) => {
                    return Err(AuthSetupError::Key {
                        var: "JWT_PRIVATE_KEY_FILE",
                        message: "is not set but `JWT_PUBLIC_KEY_FILE` is: set both (or neither, in development, for a pair generated for this run)".into(),
                    });
                }
            };
            Some(Jwt {
                encoding,
                decoding,
                ttl_secs: config.auth.session_ttl_secs,
            })
        } else {
            None
        };
        Ok((Authenticator { keys, jwt }, notes))
    }

    /// Whether any principal is configured.
    pub fn has_principals(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether session tokens are enabled.
    pub fn sessions_enabled(&self) -> bool {
        self.jwt.is_some()
    }

    /// The principal holding `key`, if any; constant time over the stored keys.
    pub fn by_key(&self, key: &str) -> Option<Principal> {
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found: Option<&KeyEntry> = None;
        for entry in &self.keys {
            if bool::from(entry.hash.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        found.map(|e| e.principal.clone())
    }

    /// The principal a session token names, if the token is valid and the principal exists.
    pub fn by_token(&self, token: &str) -> Option<Principal> {
        let jwt = self.jwt.as_ref()?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[ISSUER]);
        v.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &jwt.decoding, &v).ok()?;
        self.keys
            .iter()
            .find(|k| k.principal.id.as_str() == data.claims.sub)
            .map(|k| k.principal.clone())
    }

    /// Exchanges an API key for a session token.
    pub fn login(&self, key: &str) -> Option<Result<(Principal, Session), String>> {
        let jwt = self.jwt.as_ref()?;
        let principal = match self.by_key(key) {
            Some(p) => p,
            None => return Some(Err("the API key is not valid".into())),
        };
        let iat = now_secs();
        let claims = Claims {
            sub: principal.id.as_str().to_owned(),
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            iat,
            exp: iat + jwt.ttl_secs,
        };
        Some(
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &jwt.encoding)
                .map(|token| {
                    (
                        principal,
                        Session {
                            token,
                            token_type: "Bearer",
                            expires_in: jwt.ttl_secs,
                        },
                    )
                })
                .map_err(|e| e.to_string()),
        )
    }
}

fn load_optional(name: &str, env: &dyn Env) -> Result<Option<String>, AuthSetupError> {
    match load_secret(name, env) {
        Ok(s) => Ok(Some(s.expose().to_owned())),
        Err(SecretError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether a token signed with `encoding` verifies with `decoding`.
fn pair_matches(encoding: &EncodingKey, decoding: &DecodingKey) -> bool {
    let claims = Claims {
        sub: "pair-check".into(),
        iss: ISSUER.into(),
        aud: ISSUER.into(),
        iat: now_secs(),
        exp: now_secs() + 60,
    };
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[ISSUER]);
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, encoding)
        .is_ok_and(|t| jsonwebtoken::decode::<Claims>(&t, decoding, &v).is_ok())
}

/// A key pair for this run only (development): tokens die with the process.
fn ephemeral_pair() -> Result<(EncodingKey, DecodingKey), AuthSetupError> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding};
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AuthSetupError::Random(e.to_string()))?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let key = |message: String| AuthSetupError::Key {
        var: "JWT_PRIVATE_KEY_FILE",
        message,
    };
    let private = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key(e.to_string()))?;
    let public = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| key(e.to_string()))?;
    Ok((
        EncodingKey::from_ed_pem(private.as_bytes()).map_err(|e| key(e.to_string()))?,
        DecodingKey::from_ed_pem(public.as_bytes()).map_err(|e| key(e.to_string()))?,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn config(extra: &str) -> HostConfig {
        HostConfig::parse(extra, Path::new("t.toml"), Path::new("/")).unwrap()
    }

    #[test]
    fn keys_match_by_hash_only() {
        let key = new_key(KEY_PREFIX).unwrap();
        assert!(key.len() >= 4 + 43);
        let cfg = config(&format!(
            "[[api_keys]]\nid = \"bot\"\nsha256 = \"{}\"\nroles = [\"proposer\"]\nprojects = [\"demo\"]\n",
            key_hash_hex(&key)
        ));
        let (auth, notes) = Authenticator::from_config(&cfg, &BTreeMap::new(), false).unwrap();
        assert!(notes.generated_key.is_none(), "configured keys: no dev key");
        let p = auth.by_key(&key).unwrap();
        assert_eq!(p.id.as_str(), "bot");
        assert!(p.has(Role::Proposer) && !p.has(Role::Approver));
        assert!(auth.by_key(&format!("{key}x")).is_none());
        assert!(auth.by_key("").is_none());
    }

    #[test]
    fn a_session_token_names_its_principal_and_cannot_be_forged() {
        let cfg = config("");
        let (auth, notes) = Authenticator::from_config(&cfg, &BTreeMap::new(), false).unwrap();
        let key = notes.generated_key.unwrap();
        assert!(key.starts_with(DEV_KEY_PREFIX));
        assert!(notes.ephemeral_jwt);
        let (p, s) = auth.login(&key).unwrap().unwrap();
        assert_eq!(auth.by_token(&s.token).unwrap(), p);
        // A token signed by another pair is refused.
        let (other, notes2) = Authenticator::from_config(&cfg, &BTreeMap::new(), false).unwrap();
        let (_, s2) = other
            .login(&notes2.generated_key.unwrap())
            .unwrap()
            .unwrap();
        assert!(auth.by_token(&s2.token).is_none());
        // Tampering with the payload breaks the signature.
        let mut parts: Vec<String> = s.token.split('.').map(str::to_owned).collect();
        parts[1].push('A');
        assert!(auth.by_token(&parts.join(".")).is_none());
        assert!(auth.login("apk_wrong").unwrap().is_err());
    }
}
