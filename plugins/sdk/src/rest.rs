//! REST request plumbing shared by providers: the one request an operation
//! makes, its encoding (form or JSON), its exact dry-run preview, sending it
//! through the host's gate, mapping error statuses to the contract's
//! variants, and exact decimals for prices and quantities.

use crate::http::{HttpError, Request, Response};
use crate::invalid;
use crate::types::{ProviderError, ProviderFailure, RateLimit};
use serde_json::{Value, json};

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    None,
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
    /// A JSON document.
    Json(Value),
}

/// One HTTP request to the provider's API, relative to the base URL.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// Path with path params already encoded.
    pub path: String,
    /// Query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Call {
    /// A request without query or body.
    pub fn new(method: &'static str, path: String) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            body: Body::None,
        }
    }

    /// Whether this request changes anything (everything but GET/HEAD).
    pub fn is_write(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD")
    }

    /// The full URL under `base`.
    pub fn url(&self, base: &str) -> String {
        if self.query.is_empty() {
            format!("{base}{}", self.path)
        } else {
            format!("{base}{}?{}", self.path, form_encode(&self.query))
        }
    }

    fn content(&self) -> Option<(&'static str, String)> {
        match &self.body {
            Body::None => None,
            Body::Form(pairs) => Some(("application/x-www-form-urlencoded", form_encode(pairs))),
            Body::Json(v) => Some(("application/json", v.to_string())),
        }
    }

    /// What dry-run shows instead of sending: the exact request.
    pub fn preview(&self, base: &str) -> Value {
        let mut v = json!({"method": self.method, "url": self.url(base), "path": self.path});
        if let Some((content_type, body)) = self.content() {
            v["content_type"] = json!(content_type);
            v["body"] = json!(body);
        }
        if let Body::Form(pairs) = &self.body {
            v["form"] = Value::Array(pairs.iter().map(|(k, v)| json!([k, v])).collect());
        }
        if let Body::Json(body) = &self.body {
            v["json"] = body.clone();
        }
        v
    }

    /// Sends it through the host's egress gate (which adds the credentials).
    pub fn send(&self, base: &str) -> Result<Response, ProviderError> {
        let mut req =
            Request::new(self.method, &self.url(base)).header("accept", "application/json");
        if let Some((content_type, body)) = self.content() {
            req = req
                .header("content-type", content_type)
                .body(body.into_bytes());
        }
        req.send().map_err(transport)
    }
}

/// A transport failure as a provider error.
pub fn transport(e: HttpError) -> ProviderError {
    match e {
        HttpError::Denied => ProviderError::Denied(format!(
            "{e}: writes are only possible under the write profile, and only to granted origins"
        )),
        HttpError::BadUrl(_) => ProviderError::Internal(e.to_string()),
        HttpError::Transport(_) => ProviderError::Provider(ProviderFailure {
            code: "transport".into(),
            message: e.to_string(),
            retryable: true,
        }),
    }
}

/// Maps an error status to the contract's variants.
///
/// 401/403 → unauthorized; 404 → `not_found`; 409 → `conflict`; 400/422 →
/// invalid params (the API refused what we sent); 429 → rate limited with
/// `Retry-After` seconds; 5xx → retryable provider error.
pub fn status_error(resp: &Response, message: String) -> ProviderError {
    let status = resp.status;
    let failure = |code: &str, retryable: bool| {
        ProviderError::Provider(ProviderFailure {
            code: code.to_string(),
            message: message.clone(),
            retryable,
        })
    };
    match status {
        401 | 403 => ProviderError::Unauthorized(format!("HTTP {status}: {message}")),
        404 => failure("not_found", false),
        409 => failure("conflict", false),
        400 | 422 => invalid(
            "",
            format!("the API refused the request (HTTP {status}): {message}"),
        ),
        429 => ProviderError::RateLimited(RateLimit {
            retry_after_seconds: resp
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u32>().ok()),
            message,
        }),
        500..=599 => failure(&format!("http_{status}"), true),
        _ => failure(&format!("http_{status}"), false),
    }
}

/// The first 300 characters of a text, for messages.
pub fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` text of pairs (also used for queries).
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A non-negative decimal number, exactly: `units / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: u128,
    scale: u32,
}

impl Decimal {
    /// Parses a JSON number or decimal string (`"12.5"`, `12.5`) with at
    /// most `max_scale` decimals; errors name `field`.
    pub fn from_json(v: &Value, field: &str, max_scale: u32) -> Result<Decimal, ProviderError> {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(invalid(
                    field,
                    "must be a decimal number or a decimal string",
                ));
            }
        };
        Decimal::parse(&text).map_or_else(
            || {
                Err(invalid(
                    field,
                    format!("`{text}` is not a plain decimal number like `12.50`"),
                ))
            },
            |d| {
                if d.scale > max_scale {
                    Err(invalid(
                        field,
                        format!("at most {max_scale} decimal places"),
                    ))
                } else {
                    Ok(d)
                }
            },
        )
    }

    /// Parses `digits[.digits]`; trailing zeros after the point are dropped.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let frac = frac.trim_end_matches('0');
        if int.is_empty()
            || int.len() > 15
            || frac.len() > 12
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && text.ends_with('.'))
        {
            return None;
        }
        let units = format!("{int}{frac}").parse::<u128>().ok()?;
        Some(Decimal {
            units,
            scale: frac.len() as u32,
        })
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.units == 0
    }

    /// The exact product.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        Some(Decimal {
            units: self.units.checked_mul(other.units)?,
            scale: self.scale + other.scale,
        })
    }

    /// Compares two decimals.
    pub fn cmp_value(self, other: Decimal) -> Option<std::cmp::Ordering> {
        let scale = self.scale.max(other.scale);
        let a = self.units.checked_mul(10u128.pow(scale - self.scale))?;
        let b = other.units.checked_mul(10u128.pow(scale - other.scale))?;
        Some(a.cmp(&b))
    }

    /// The canonical text: no trailing zeros after the point, no point for integers.
    pub fn text(self) -> String {
        self.fixed(self.scale)
    }

    /// Rounded up to whole hundredths (cents), as an integer.
    pub fn ceil_cents(self) -> Option<i64> {
        let cents = if self.scale <= 2 {
            self.units.checked_mul(10u128.pow(2 - self.scale))?
        } else {
            self.units.div_ceil(10u128.pow(self.scale - 2))
        };
        i64::try_from(cents).ok()
    }

    /// The text with exactly `decimals` places (only when it has no more).
    pub fn fixed(self, decimals: u32) -> String {
        let scaled = self.units * 10u128.pow(decimals.saturating_sub(self.scale));
        let digits = format!("{scaled:0>width$}", width = decimals as usize + 1);
        let (int, frac) = digits.split_at(digits.len() - decimals as usize);
        if decimals == 0 {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    }
}
