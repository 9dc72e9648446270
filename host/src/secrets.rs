//! Secrets: where their values come from, and scrubbing them from plugin output.
//!
//! A secret `NAME` is read from the file named by `NAME_FILE` (trailing
//! whitespace trimmed) or else from `NAME`; nothing else. Errors name the
//! variable and, for files, the path — never the value. Values only ever live
//! in the host: the egress gate injects them into matching requests, and the
//! [`Redactor`] replaces any occurrence in what a plugin logs or returns.

use aho_corasick::AhoCorasick;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Shortest secret value accepted: shorter values cannot be redacted reliably.
pub const MIN_SECRET_LEN: usize = 8;

/// A secret value; its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for injection into a request. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a secret could not be loaded. Never carries the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// Neither `NAME_FILE` nor `NAME` is set.
    #[error("secret `{name}` is not set: set `{name}_FILE` to a file holding it, or `{name}`")]
    Missing {
        /// The secret's name.
        name: String,
    },
    /// The value (after trimming) is empty.
    #[error("secret `{name}` is empty (from `{source_var}`)")]
    Empty {
        /// The secret's name.
        name: String,
        /// The variable it came from.
        source_var: String,
    },
    /// The file named by `NAME_FILE` could not be read.
    #[error("secret `{name}`: cannot read file `{}` named by `{name}_FILE`: {reason}", path.display())]
    Unreadable {
        /// The secret's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The I/O error text.
        reason: String,
    },
    /// Not valid UTF-8.
    #[error("secret `{name}` (from `{source_var}`) is not valid UTF-8")]
    NotUtf8 {
        /// The secret's name.
        name: String,
        /// The variable it came from.
        source_var: String,
    },
    /// Too short to be redacted reliably.
    #[error(
        "secret `{name}` is shorter than {MIN_SECRET_LEN} bytes; a value that short cannot be redacted reliably"
    )]
    TooShort {
        /// The secret's name.
        name: String,
    },
}

impl SecretError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            SecretError::Missing { .. } => "secret_missing",
            SecretError::Empty { .. } => "secret_empty",
            SecretError::Unreadable { .. } => "secret_unreadable",
            SecretError::NotUtf8 { .. } => "secret_not_utf8",
            SecretError::TooShort { .. } => "secret_too_short",
        }
    }
}

/// Reads environment variables; the process environment or a map in tests.
pub trait Env {
    /// The variable's value, if set.
    fn var_os(&self, name: &str) -> Option<OsString>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

impl Env for BTreeMap<String, String> {
    fn var_os(&self, name: &str) -> Option<OsString> {
        self.get(name).map(OsString::from)
    }
}

/// Loads secret `name`: `NAME_FILE` (file contents, trailing whitespace trimmed) wins over `NAME`.
pub fn load_secret(name: &str, env: &dyn Env) -> Result<Secret, SecretError> {
    let file_var = format!("{name}_FILE");
    let (raw, source_var) = if let Some(path) = env.var_os(&file_var) {
        let path = PathBuf::from(path);
        let bytes = std::fs::read(&path).map_err(|e| SecretError::Unreadable {
            name: name.to_string(),
            path: path.clone(),
            reason: e.kind().to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| SecretError::NotUtf8 {
            name: name.to_string(),
            source_var: file_var.clone(),
        })?;
        (text.trim_end().to_string(), file_var)
    } else if let Some(v) = env.var_os(name) {
        let text = v.into_string().map_err(|_| SecretError::NotUtf8 {
            name: name.to_string(),
            source_var: name.to_string(),
        })?;
        (text.trim_end().to_string(), name.to_string())
    } else {
        return Err(SecretError::Missing {
            name: name.to_string(),
        });
    };
    if raw.is_empty() {
        return Err(SecretError::Empty {
            name: name.to_string(),
            source_var,
        });
    }
    if raw.len() < MIN_SECRET_LEN {
        return Err(SecretError::TooShort {
            name: name.to_string(),
        });
    }
    Ok(Secret(raw))
}

/// Names of the secrets a header template uses (`"Bearer {TOKEN}"` → `["TOKEN"]`).
///
/// Errors never quote the template: a malformed value may be a pasted credential.
pub fn template_names(template: &str) -> Result<Vec<String>, String> {
    const NOT_SHOWN: &str = "(the value is not shown: it may hold a credential)";
    let mut names = Vec::new();
    let mut rest = template;
    loop {
        let start = rest.find('{').unwrap_or(rest.len());
        if rest[..start].contains('}') {
            return Err(format!(
                "unmatched `}}`: reference a secret as `{{SECRET_NAME}}` {NOT_SHOWN}"
            ));
        }
        let Some(after) = rest.get(start + 1..) else {
            break;
        };
        let end = after.find('}').ok_or_else(|| {
            format!("unclosed `{{`: reference a secret as `{{SECRET_NAME}}` {NOT_SHOWN}")
        })?;
        let name = &after[..end];
        if !is_secret_name(name) {
            return Err(format!(
                "a `{{…}}` reference is not a secret name: expected an uppercase name like `{{ETSY_API_KEY}}` {NOT_SHOWN}"
            ));
        }
        names.push(name.to_string());
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// `[A-Z][A-Z0-9_]*`, at most 128 bytes.
pub fn is_secret_name(name: &str) -> bool {
    let mut c = name.chars();
    matches!(c.next(), Some(f) if f.is_ascii_uppercase())
        && name.len() <= 128
        && c.all(|x| x.is_ascii_uppercase() || x.is_ascii_digit() || x == '_')
}

/// Loaded secrets by name.
#[derive(Debug, Clone, Default)]
pub struct SecretStore {
    values: BTreeMap<String, Secret>,
}

impl SecretStore {
    /// Loads every named secret from the environment; the first failure is returned.
    pub fn load<'a>(
        names: impl IntoIterator<Item = &'a str>,
        env: &dyn Env,
    ) -> Result<Self, SecretError> {
        let mut values = BTreeMap::new();
        for name in names {
            if !values.contains_key(name) {
                values.insert(name.to_string(), load_secret(name, env)?);
            }
        }
        Ok(SecretStore { values })
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Fills a header template; `None` when a referenced secret is not loaded.
    pub fn render(&self, template: &str) -> Option<String> {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after.find('}')?;
            out.push_str(self.get(&after[..end])?.expose());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// A redactor for every loaded value.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.values.iter().map(|(k, v)| (k.clone(), v.0.clone())))
    }
}

/// Replaces known secret values with `[REDACTED:NAME]`.
///
/// Uses one Aho-Corasick automaton over all values (leftmost-longest), so the
/// cost is linear in the text whatever the number of secrets.
///
/// Cloned for every call, so its parts are shared, not copied.
#[derive(Clone, Default)]
pub struct Redactor {
    matcher: Option<AhoCorasick>,
    names: Arc<[String]>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("names", &self.names)
            .finish()
    }
}

impl Redactor {
    /// A redactor for `(name, value)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let (names, values): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
        let matcher = if values.is_empty() {
            None
        } else {
            aho_corasick::AhoCorasickBuilder::new()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&values)
                .ok()
        };
        Redactor {
            matcher,
            names: names.into(),
        }
    }

    /// Length in bytes of the longest secret value (0 without secrets): how far past a
    /// point a streaming scan must look to see every match that starts before it.
    pub fn max_value_len(&self) -> usize {
        self.matcher
            .as_ref()
            .map_or(0, AhoCorasick::max_pattern_len)
    }

    /// Every occurrence of a secret in `text`, in order: its byte range and the secret's
    /// name (the same leftmost-longest matches [`Redactor::redact_bytes`] replaces).
    pub fn find_iter<'a>(
        &'a self,
        text: &'a [u8],
    ) -> impl Iterator<Item = (std::ops::Range<usize>, &'a str)> + 'a {
        self.matcher
            .iter()
            .flat_map(move |m| m.find_iter(text))
            .map(|m| {
                let name = self
                    .names
                    .get(m.pattern().as_usize())
                    .map_or("", String::as_str);
                (m.range(), name)
            })
    }

    /// Whether the text contains any known secret.
    pub fn contains_secret(&self, text: &[u8]) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(text))
    }

    /// The text with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) if m.is_match(text) => {
                let replacements: Vec<String> = self
                    .names
                    .iter()
                    .map(|n| format!("[REDACTED:{n}]"))
                    .collect();
                m.replace_all(text, &replacements)
            }
            _ => text.to_string(),
        }
    }

    /// The bytes with every secret replaced.
    pub fn redact_bytes(&self, data: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(m) if m.is_match(data) => {
                let replacements: Vec<Vec<u8>> = self
                    .names
                    .iter()
                    .map(|n| format!("[REDACTED:{n}]").into_bytes())
                    .collect();
                m.replace_all_bytes(data, &replacements)
            }
            _ => data.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_wins_over_plain_variable_and_is_trimmed() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "from-file-secret-value  ").unwrap();
        let e = env(&[
            ("TOKEN", "from-env-secret"),
            ("TOKEN_FILE", f.path().to_str().unwrap()),
        ]);
        assert_eq!(
            load_secret("TOKEN", &e).unwrap().expose(),
            "from-file-secret-value"
        );
    }

    #[test]
    fn plain_variable_is_used_without_file() {
        let e = env(&[("TOKEN", "from-env-secret\n")]);
        assert_eq!(
            load_secret("TOKEN", &e).unwrap().expose(),
            "from-env-secret"
        );
    }

    #[test]
    fn missing_secret_names_both_variables() {
        let err = load_secret("ETSY_API_KEY", &env(&[])).unwrap_err();
        assert_eq!(err.code(), "secret_missing");
        assert_eq!(
            err.to_string(),
            "secret `ETSY_API_KEY` is not set: set `ETSY_API_KEY_FILE` to a file holding it, or `ETSY_API_KEY`"
        );
    }

    #[test]
    fn missing_file_names_variable_and_path_not_value() {
        let e = env(&[
            ("TOKEN_FILE", "/nonexistent/autopack/token"),
            ("TOKEN", "plain-value-123"),
        ]);
        let err = load_secret("TOKEN", &e).unwrap_err();
        assert_eq!(err.code(), "secret_unreadable");
        let msg = err.to_string();
        assert!(
            msg.contains("`TOKEN_FILE`") && msg.contains("/nonexistent/autopack/token"),
            "{msg}"
        );
        assert!(!msg.contains("plain-value-123"));
    }

    #[test]
    fn empty_file_is_an_error() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "\n\n").unwrap();
        let e = env(&[("TOKEN_FILE", f.path().to_str().unwrap())]);
        let err = load_secret("TOKEN", &e).unwrap_err();
        assert_eq!(
            err,
            SecretError::Empty {
                name: "TOKEN".into(),
                source_var: "TOKEN_FILE".into()
            }
        );
    }

    #[test]
    fn short_secret_is_refused() {
        let err = load_secret("TOKEN", &env(&[("TOKEN", "abc")])).unwrap_err();
        assert_eq!(err.code(), "secret_too_short");
    }

    #[test]
    fn debug_never_shows_value() {
        let s = load_secret("TOKEN", &env(&[("TOKEN", "super-secret-canary")])).unwrap();
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn templates_render_and_reject_bad_references() {
        assert_eq!(
            template_names("Bearer {ETSY_TOKEN}").unwrap(),
            vec!["ETSY_TOKEN"]
        );
        assert_eq!(template_names("{A_1}:{B}").unwrap(), vec!["A_1", "B"]);
        assert!(template_names("Bearer {token}").is_err());
        assert!(template_names("Bearer {TOKEN").is_err());
        assert!(template_names("Bearer TOKEN}").is_err());
        assert!(
            template_names("a}b{TOKEN}").is_err(),
            "a closing brace before a reference"
        );
        assert_eq!(
            template_names("no reference").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(template_names("").unwrap(), Vec::<String>::new());
        for bad in [
            "Bearer {sk_live_51Hx}",
            "Bearer {sk_live_51Hx",
            "sk_live}51Hx",
        ] {
            let msg = template_names(bad).unwrap_err();
            assert!(!msg.contains("sk_live"), "the value is not quoted: {msg}");
        }
        let store =
            SecretStore::load(["ETSY_TOKEN"], &env(&[("ETSY_TOKEN", "tok-12345678")])).unwrap();
        assert_eq!(
            store.render("Bearer {ETSY_TOKEN}").unwrap(),
            "Bearer tok-12345678"
        );
        assert_eq!(store.render("{OTHER}"), None);
    }

    #[test]
    fn redactor_replaces_every_occurrence() {
        let r = Redactor::new([
            ("A".to_string(), "canary-aaaa".to_string()),
            ("B".to_string(), "canary-aaaa-bbbb".to_string()),
        ]);
        assert_eq!(
            r.redact("x canary-aaaa y canary-aaaa-bbbb z"),
            "x [REDACTED:A] y [REDACTED:B] z"
        );
        assert!(r.contains_secret(b"..canary-aaaa.."));
        assert_eq!(r.redact_bytes(b"canary-aaaa"), b"[REDACTED:A]".to_vec());
        assert_eq!(Redactor::default().redact("canary-aaaa"), "canary-aaaa");
    }

    #[test]
    fn redactor_reports_matches_and_longest_value() {
        let r = Redactor::new([
            ("A".to_string(), "canary-aaaa".to_string()),
            ("B".to_string(), "canary-aaaa-bbbb".to_string()),
        ]);
        assert_eq!(r.max_value_len(), 16);
        let found: Vec<_> = r.find_iter(b"x canary-aaaa-bbbb canary-aaaa").collect();
        assert_eq!(found, vec![(2..18, "B"), (19..30, "A")]);
        assert_eq!(Redactor::default().max_value_len(), 0);
        assert_eq!(Redactor::default().find_iter(b"canary-aaaa").count(), 0);
    }
}
