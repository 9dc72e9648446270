//! The recording shell of the Shopify and YouTube fakes: a loopback server
//! that records every request ([`Hit`]), then lets a provider-specific
//! handler answer it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::serve::Served;

/// One request a fake server received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query string (without `?`), empty when none.
    pub query: String,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Hit {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// One query parameter (first occurrence, percent-decoded).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `METHOD /path`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Decodes `%XX` escapes (and `+` as a space).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a fake server answers one request with.
pub type Handler<S> = fn(&S, &Hit) -> Response;

struct Shell<S> {
    hits: Mutex<Vec<Hit>>,
    state: S,
    handler: Handler<S>,
}

/// A loopback server that records every request, then lets a provider-specific
/// handler answer it.
pub struct Recorder<S: Send + Sync + 'static> {
    /// Where it listens.
    pub addr: SocketAddr,
    shell: Arc<Shell<S>>,
    _served: Served,
}

impl<S: Send + Sync + 'static> Recorder<S> {
    /// Starts on `127.0.0.1:0`.
    pub async fn start(state: S, handler: Handler<S>) -> Recorder<S> {
        let shell = Arc::new(Shell {
            hits: Mutex::new(Vec::new()),
            state,
            handler,
        });
        let app = axum::Router::new()
            .fallback(handle::<S>)
            .with_state(shell.clone());
        let served = Served::start(app).await;
        Recorder {
            addr: served.addr,
            shell,
            _served: served,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider-specific state.
    pub fn state(&self) -> &S {
        &self.shell.state
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.shell.hits.lock().expect("hits").clone()
    }

    /// Requests whose method is not GET or HEAD.
    pub fn writes(&self) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.method != "GET" && h.method != "HEAD")
            .collect()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.shell.hits.lock().expect("hits").clear();
    }
}

async fn handle<S: Send + Sync + 'static>(
    State(shell): State<Arc<Shell<S>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let hit = Hit {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    shell.hits.lock().expect("hits").push(hit.clone());
    (shell.handler)(&shell.state, &hit)
}
