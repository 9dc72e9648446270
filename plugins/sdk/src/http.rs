//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! Every request goes through the host's egress gate: an origin the operator
//! did not grant, or a write under the read-only profile, comes back as
//! [`HttpError::Denied`] (the WASI `HTTP-request-denied` error code), never as
//! a trap. Credentials are added by the host; a provider never sets them.

use std::fmt;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::StreamError;

/// How much one `write` call may hand to the host; the host accepts up to 4 KiB
/// per blocking write.
const WRITE_CHUNK: usize = 4096;

/// An outgoing request.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A response with its whole body (bounded by the host's response cap).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Why a request did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host's egress gate refused it (ungranted origin, write in read-only
    /// profile, private address, request budget spent).
    Denied,
    /// The URL could not be parsed.
    BadUrl(String),
    /// Any other transport error, with the WASI error code's debug text.
    Transport(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied => f.write_str("request denied by the host's egress gate"),
            HttpError::BadUrl(u) => write!(f, "bad url `{u}`"),
            HttpError::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

impl Request {
    /// A request with any method (`GET`, `POST`, ...).
    pub fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A GET request.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(value.to_string().into_bytes())
    }

    /// Sets a raw body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Sends the request and waits for the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        send(self)
    }
}

impl Response {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn map_error(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        other => HttpError::Transport(format!("{other:?}")),
    }
}

struct Url<'a> {
    scheme: Scheme,
    authority: &'a str,
    path: &'a str,
}

fn split_url(url: &str) -> Result<Url<'_>, HttpError> {
    let bad = || HttpError::BadUrl(url.to_string());
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(bad()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(bad());
    }
    Ok(Url {
        scheme,
        authority,
        path,
    })
}

fn method(m: &str) -> Method {
    match m {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

/// Sends a request and reads the whole response.
pub fn send(req: Request) -> Result<Response, HttpError> {
    let url = split_url(&req.url)?;
    let headers = Fields::new();
    for (k, v) in &req.headers {
        headers
            .append(k, v.as_bytes())
            .map_err(|e| HttpError::Transport(format!("header `{k}`: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let bad = |_| HttpError::BadUrl(req.url.clone());
    outgoing.set_method(&method(&req.method)).map_err(bad)?;
    outgoing.set_scheme(Some(&url.scheme)).map_err(bad)?;
    outgoing.set_authority(Some(url.authority)).map_err(bad)?;
    outgoing.set_path_with_query(Some(url.path)).map_err(bad)?;
    let body = outgoing
        .body()
        .map_err(|_| HttpError::Transport("request body already taken".into()))?;

    let options = RequestOptions::new();
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(map_error)?;

    {
        let stream = body
            .write()
            .map_err(|_| HttpError::Transport("request body stream unavailable".into()))?;
        for chunk in req.body.chunks(WRITE_CHUNK) {
            // A denied request may close the stream early; the response future
            // carries the real reason, so a write error here is not final.
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);

    future.subscribe().block();
    let incoming = match future.get() {
        Some(Ok(Ok(resp))) => resp,
        Some(Ok(Err(code))) => return Err(map_error(code)),
        Some(Err(())) => return Err(HttpError::Transport("response already taken".into())),
        None => return Err(HttpError::Transport("response not ready".into())),
    };

    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let body_res = incoming
        .consume()
        .map_err(|_| HttpError::Transport("response body already taken".into()))?;
    let mut bytes = Vec::new();
    {
        let stream = body_res
            .stream()
            .map_err(|_| HttpError::Transport("response body stream unavailable".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError::Transport(e.to_debug_string()));
                }
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}
