//! The recording shell of the Etsy and Alpaca fakes: a loopback server that
//! records every request ([`Seen`]), then lets a provider's [`Api`] answer it,
//! or a forced answer when a test wants one.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::serve::Served;

/// One request a fake server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    /// The record of one request.
    pub fn of(method: &Method, uri: &Uri, headers: HeaderMap, body: Bytes) -> Seen {
        Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            headers,
            body,
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query as decoded pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The body as decoded form pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The first form value of `key`.
    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What a fake answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status).expect("status"),
            self.body,
        )
            .into_response();
        for (k, v) in self.headers {
            response
                .headers_mut()
                .insert(k, v.parse().expect("header value"));
        }
        response
    }
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
        }
    }

    /// An empty reply (e.g. 204).
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
}

/// A provider's fake API: its state and how it answers one request.
pub trait Api: Default + Send + Sync + 'static {
    /// Answers one request (after it was recorded).
    fn answer(&self, req: &Seen) -> Reply;
}

/// A forced answer: status, headers, JSON body.
type Forced = (u16, Vec<(&'static str, String)>, Value);

struct Shared<A> {
    api: A,
    seen: Mutex<Vec<Seen>>,
    forced: Mutex<Option<Forced>>,
}

/// A loopback fake of a provider's API that records every request.
pub struct Fake<A: Api> {
    pub addr: SocketAddr,
    shared: Arc<Shared<A>>,
    _served: Served,
}

impl<A: Api> Fake<A> {
    /// Starts on `127.0.0.1:0`.
    pub async fn start() -> Fake<A> {
        let shared = Arc::new(Shared {
            api: A::default(),
            seen: Mutex::new(Vec::new()),
            forced: Mutex::new(None),
        });
        let app = axum::Router::new()
            .fallback(handle::<A>)
            .with_state(shared.clone());
        let served = Served::start(app).await;
        Fake {
            addr: served.addr,
            shared,
            _served: served,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API state.
    pub fn api(&self) -> &A {
        &self.shared.api
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("seen").clone()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.shared.seen.lock().expect("seen").clear();
    }

    /// Requests that change something (not GET/HEAD).
    pub fn writes(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != "GET" && s.method != "HEAD")
            .collect()
    }

    /// How many requests had this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }

    /// From now on, every authenticated request gets this answer.
    pub fn force(&self, status: u16, headers: Vec<(&'static str, String)>, body: Value) {
        *self.shared.forced.lock().expect("forced") = Some((status, headers, body));
    }

    /// Back to normal answers.
    pub fn unforce(&self) {
        *self.shared.forced.lock().expect("forced") = None;
    }
}

async fn handle<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen::of(&method, &uri, headers, body);
    shared.seen.lock().expect("seen").push(seen.clone());
    let forced = shared.forced.lock().expect("forced").clone();
    let reply = match forced {
        Some((status, headers, body)) => Reply {
            status,
            headers,
            body: body.to_string(),
        },
        None => shared.api.answer(&seen),
    };
    reply.into_response()
}
