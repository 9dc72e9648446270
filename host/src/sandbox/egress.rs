//! The one outbound HTTP gate of the sandbox.
//!
//! Every `wasi:http/outgoing-handler` request of a guest reaches
//! [`EgressGate::send_request`] (wasmtime-wasi-http's hook); nothing else can
//! leave the sandbox, because the WASI context grants no sockets and no name
//! lookup. The gate checks, in this order, and records every request:
//!
//! 1. the per-call request budget (`max_requests`; exceeding it fails the call);
//! 2. the profile: [`Profile::NoNetwork`] (describe, validate) denies all;
//! 3. the origin (`scheme://host:port`, exact match with a grant);
//! 4. the method: [`Profile::ReadOnly`] allows only `GET` and `HEAD`, except
//!    a `POST` (without a query string) to one of the provider's
//!    `graphql_read_paths`: its body is buffered (at most
//!    [`graphql::MAX_BODY_BYTES`]) and sent only if [`graphql::classify`]
//!    finds a GraphQL request made of queries alone; otherwise it is denied
//!    with `graphql_mutation_in_read_only_profile`, `graphql_body_invalid` or
//!    `graphql_body_too_large` and recorded like every other denial;
//! 5. after DNS resolution, the addresses: a granted *host name* must resolve
//!    only to public addresses (a grant written as an IP literal is the
//!    operator's explicit permission for that address). The connection goes
//!    to the vetted address itself, so DNS cannot be re-bound in between.
//!
//! Denied requests are answered with WASI's `HTTP-request-denied` (a typed
//! error the guest can handle, not a trap) and recorded with their method,
//! URL and a redacted, truncated body: that record is the dry-run preview.
//! Allowed requests get the operator's credential headers injected here —
//! the guest never sees them — and their bodies are size-capped both ways.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::graphql;
use super::journal::{LimitKind, RecordedRequest, RequestDecision, SharedJournal};
use super::origin::{Origin, Scheme, is_public_ip};

/// How much of a denied request's body is kept as its preview.
pub const BODY_PREVIEW_BYTES: usize = 4096;

/// Which requests a call may make; chosen by the caller of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// No request at all (describe, validate).
    NoNetwork,
    /// `GET`/`HEAD` to granted origins only: dry-run and tier A.
    ReadOnly,
    /// Any method to granted origins: an approved live action.
    Write,
}

impl Profile {
    /// The name used on the command line and in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::NoNetwork => "no-network",
            Profile::ReadOnly => "read-only",
            Profile::Write => "write",
        }
    }
}

/// One credential header for one origin, already rendered from secrets.
#[derive(Clone)]
pub struct Credential {
    /// Requests to this origin get the header.
    pub origin: Origin,
    /// Header name.
    pub header: HeaderName,
    /// Header value (sensitive).
    pub value: HeaderValue,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({} {}: ***)", self.origin, self.header)
    }
}

/// What the operator granted one provider.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Origins it may reach.
    pub origins: Vec<Origin>,
    /// Headers injected per origin.
    pub credentials: Vec<Credential>,
    /// URL paths where a `POST` whose body is a GraphQL query (no mutation)
    /// is a read, allowed under [`Profile::ReadOnly`] (`graphql_read_paths`).
    pub graphql_read_paths: Vec<String>,
}

/// Size and time bounds of the gate.
#[derive(Debug, Clone, Copy)]
pub struct EgressLimits {
    /// Requests per call.
    pub max_requests: u32,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Bytes of one request body.
    pub max_request_body_bytes: u64,
    /// Connect, DNS and first-byte timeout.
    pub timeout: Duration,
}

/// The per-call gate; lives in the store.
pub struct EgressGate {
    profile: Profile,
    grants: Arc<Grants>,
    limits: EgressLimits,
    journal: SharedJournal,
    tls: Arc<rustls::ClientConfig>,
    attempts: u32,
}

impl EgressGate {
    /// A gate for one call.
    pub fn new(
        profile: Profile,
        grants: Arc<Grants>,
        limits: EgressLimits,
        journal: SharedJournal,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        EgressGate {
            profile,
            grants,
            limits,
            journal,
            tls,
            attempts: 0,
        }
    }

    /// Decides on a request from what is known before any I/O.
    fn decide(&mut self, method: &Method, uri: &http::Uri) -> Result<Decision, &'static str> {
        self.attempts += 1;
        if self.attempts > self.limits.max_requests {
            self.journal.hit(LimitKind::Requests);
            return Err("request_limit_exceeded");
        }
        if self.profile == Profile::NoNetwork {
            return Err("network_not_allowed_in_this_call");
        }
        let origin = Origin::of_uri(uri).ok_or("unsupported_url")?;
        if !self.grants.origins.contains(&origin) {
            return Err("origin_not_granted");
        }
        if self.profile == Profile::ReadOnly && *method != Method::GET && *method != Method::HEAD {
            if *method == Method::POST && self.is_graphql_read_path(uri) {
                return Ok(Decision::GraphqlRead(origin));
            }
            return Err("method_not_allowed_in_read_only_profile");
        }
        Ok(Decision::Send(origin))
    }

    /// The URL's path is exactly one of the granted GraphQL read paths, with no query string.
    fn is_graphql_read_path(&self, uri: &http::Uri) -> bool {
        uri.query().is_none()
            && self
                .grants
                .graphql_read_paths
                .iter()
                .any(|p| p == uri.path())
    }
}

/// What the gate does with a request it does not deny outright.
enum Decision {
    /// Send it.
    Send(Origin),
    /// Buffer and classify the body first; send only a GraphQL read.
    GraphqlRead(Origin),
}

/// A new TLS client config trusting the bundled web PKI roots.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for EgressGate {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let decision = self.decide(request.method(), request.uri());
        let record = RecordedRequest {
            method: request.method().to_string(),
            url: request.uri().to_string(),
            body_preview: None,
            body_bytes: 0,
            body_truncated: false,
            decision: match decision {
                Ok(Decision::Send(_)) => RequestDecision::Sent {
                    status: None,
                    error: None,
                },
                // Recorded as denied until the body has been found to be a read.
                Ok(Decision::GraphqlRead(_)) => RequestDecision::Denied {
                    reason: graphql::INVALID.to_string(),
                },
                Err(reason) => RequestDecision::Denied {
                    reason: reason.to_string(),
                },
            },
        };
        let journal = self.journal.clone();
        let index = journal.record_request(record);
        let (origin, graphql_read) = match decision {
            Ok(Decision::Send(origin)) => (origin, false),
            Ok(Decision::GraphqlRead(origin)) => (origin, true),
            Err(_) => {
                let (_, body) = request.into_parts();
                let limits = self.limits;
                return Box::new(async move {
                    record_denied_body(body, &journal, index, limits).await;
                    Err(HttpError::HttpRequestDenied)
                });
            }
        };

        for cred in self
            .grants
            .credentials
            .iter()
            .filter(|c| c.origin == origin)
        {
            request
                .headers_mut()
                .insert(cred.header.clone(), cred.value.clone());
        }
        let limits = self.limits;
        let timeout = options
            .and_then(|o| o.connect_timeout)
            .map_or(limits.timeout, |t| t.min(limits.timeout));
        let tls = self.tls.clone();
        Box::new(async move {
            if graphql_read {
                request = match buffer_graphql_read(request, &journal, index, limits).await {
                    Ok(request) => request,
                    Err(()) => return Err(HttpError::HttpRequestDenied),
                };
            }
            let result = send(request, &origin, timeout, tls, limits, &journal, index).await;
            if let Err(e) = &result {
                let text = format!("{e:?}");
                journal.update_request(index, |r| {
                    if let RequestDecision::Sent { error, .. } = &mut r.decision {
                        *error = Some(text);
                    }
                });
            }
            result
        })
    }
}

/// Reads (and bounds) a denied request's body so it can be shown as a preview.
async fn record_denied_body(
    mut body: WasiBody,
    journal: &SharedJournal,
    index: usize,
    limits: EgressLimits,
) {
    let mut preview = Vec::new();
    let mut total: u64 = 0;
    let drain = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                total += data.len() as u64;
                let room = BODY_PREVIEW_BYTES.saturating_sub(preview.len());
                preview.extend_from_slice(&data[..data.len().min(room)]);
                if total > limits.max_request_body_bytes {
                    break;
                }
            }
        }
    };
    // A guest that never finishes its body must not hold the call.
    let _ = tokio::time::timeout(limits.timeout, drain).await;
    journal.update_request(index, |r| {
        r.body_bytes = total;
        r.body_truncated = total > preview.len() as u64;
        r.body_preview =
            (!preview.is_empty()).then(|| String::from_utf8_lossy(&preview).into_owned());
    });
}

/// Buffers the body of a `POST` to a GraphQL read path and classifies it:
/// a read comes back (with the buffered body) and its record turns to sent;
/// anything else is left recorded as denied, with the reason and the preview.
async fn buffer_graphql_read(
    request: http::Request<WasiBody>,
    journal: &SharedJournal,
    index: usize,
    limits: EgressLimits,
) -> Result<http::Request<WasiBody>, ()> {
    let (parts, mut body) = request.into_parts();
    let max = usize::try_from(limits.max_request_body_bytes)
        .unwrap_or(usize::MAX)
        .min(graphql::MAX_BODY_BYTES);
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    // `Err(reason)`: the body could not be read whole within the bounds.
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| graphql::INVALID)?;
            if let Some(data) = frame.data_ref() {
                total += data.len() as u64;
                if total > max as u64 {
                    let room = BODY_PREVIEW_BYTES.saturating_sub(buf.len());
                    buf.extend_from_slice(&data[..data.len().min(room)]);
                    return Err(graphql::TOO_LARGE);
                }
                buf.extend_from_slice(data);
            }
        }
        Ok(())
    };
    // A guest that never finishes its body must not hold the call.
    let verdict = match tokio::time::timeout(limits.timeout, read).await {
        Err(_) => Err(graphql::INVALID),
        Ok(Err(reason)) => Err(reason),
        Ok(Ok(())) => graphql::classify(&buf),
    };
    match verdict {
        Ok(()) => {
            journal.update_request(index, |r| {
                r.decision = RequestDecision::Sent {
                    status: None,
                    error: None,
                };
            });
            let body = http_body_util::Full::new(Bytes::from(buf))
                .map_err(|never| match never {})
                .boxed_unsync();
            Ok(http::Request::from_parts(parts, body))
        }
        Err(reason) => {
            let shown = buf.len().min(BODY_PREVIEW_BYTES);
            journal.update_request(index, |r| {
                r.decision = RequestDecision::Denied {
                    reason: reason.to_string(),
                };
                r.body_bytes = total;
                r.body_truncated = total > shown as u64;
                r.body_preview =
                    (shown > 0).then(|| String::from_utf8_lossy(&buf[..shown]).into_owned());
            });
            Err(())
        }
    }
}

trait Conn: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Conn for T {}

async fn resolve(origin: &Origin, timeout: Duration) -> Result<Vec<SocketAddr>, HttpError> {
    if let Some(ip) = origin.ip_literal() {
        // An IP literal in a grant is the operator's explicit permission.
        return Ok(vec![SocketAddr::new(ip, origin.port)]);
    }
    let lookup = tokio::net::lookup_host(origin.authority());
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(timeout, lookup).await {
        Err(_) => return Err(HttpError::DnsTimeout),
        Ok(Err(e)) => {
            return Err(HttpError::DnsError {
                rcode: Some(e.kind().to_string()),
                info_code: None,
            });
        }
        Ok(Ok(addrs)) => addrs.collect(),
    };
    if addrs.is_empty() {
        return Err(HttpError::DestinationNotFound);
    }
    Ok(addrs)
}

async fn send(
    mut request: http::Request<WasiBody>,
    origin: &Origin,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    limits: EgressLimits,
    journal: &SharedJournal,
    index: usize,
) -> SendResult {
    let addrs = resolve(origin, timeout).await?;
    if origin.ip_literal().is_none() && addrs.iter().any(|a| !is_public_ip(a.ip())) {
        journal.update_request(index, |r| {
            r.decision = RequestDecision::Denied {
                reason: "destination_ip_not_public".into(),
            };
        });
        // Same answer as every other refusal of the gate (the SDK maps it to
        // `HttpError::Denied`), so a plugin sees one kind of "denied" and the
        // record above says why.
        return Err(HttpError::HttpRequestDenied);
    }
    let tcp = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addrs[..])).await
    {
        Err(_) => return Err(HttpError::ConnectionTimeout),
        Ok(Err(e)) => return Err(HttpError::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Conn> = match origin.scheme {
        Scheme::Http => Box::new(tcp),
        Scheme::Https => {
            let name = rustls::pki_types::ServerName::try_from(origin.host.clone())
                .map_err(|_| HttpError::HttpRequestUriInvalid)?;
            let connector = tokio_rustls::TlsConnector::from(tls);
            match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
                Err(_) => return Err(HttpError::ConnectionTimeout),
                Ok(Err(e)) => return Err(HttpError::Tls(e)),
                Ok(Ok(s)) => Box::new(s),
            }
        }
    };
    let (mut sender, conn) = match tokio::time::timeout(
        timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    {
        Err(_) => return Err(HttpError::ConnectionTimeout),
        Ok(r) => r?,
    };

    // The wire carries the origin-form target; scheme and authority are in Host.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let request = request.map(|body| {
        LimitedBody::new(
            body,
            limits.max_request_body_bytes,
            journal.clone(),
            LimitKind::RequestBody,
        )
        .boxed_unsync()
    });

    // hyper's `conn` future is what reads and writes the socket: it must be
    // polled while we wait for the response, or the request is never written
    // and every send ends in a timeout. Drive both (as wasmtime-wasi-http's
    // default sender does) until the response head arrives; whatever is left
    // of the connection then goes to wasi-http as the body's I/O future.
    let mut conn = Some(conn);
    let mut pending = std::pin::pin!(sender.send_request(request));
    let wait = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = pending.as_mut().poll(cx) {
            return Poll::Ready(r.map_err(HttpError::from));
        }
        let Some(c) = conn.as_mut() else {
            return Poll::Pending;
        };
        let done = ready!(Pin::new(c).poll(cx));
        conn = None;
        match done {
            // The connection closed cleanly: the response is ready or never comes.
            Ok(()) => pending.as_mut().poll(cx).map_err(HttpError::from),
            Err(e) => Poll::Ready(Err(HttpError::from(e))),
        }
    });
    let response = match tokio::time::timeout(timeout, wait).await {
        Err(_) => return Err(HttpError::HttpResponseTimeout),
        Ok(r) => r?,
    };
    let status = response.status().as_u16();
    journal.update_request(index, |r| {
        if let RequestDecision::Sent { status: s, .. } = &mut r.decision {
            *s = Some(status);
        }
    });
    let journal = journal.clone();
    let response = response.map(move |body| {
        LimitedBody::new(
            body.map_err(HttpError::from),
            limits.max_response_bytes,
            journal,
            LimitKind::ResponseBody,
        )
        .boxed_unsync()
    });
    let io = async move {
        match conn {
            Some(c) => c.await.map_err(HttpError::from),
            None => Ok(()),
        }
    };
    Ok((response, Box::new(io)))
}

/// A body that fails once more than `max` data bytes have passed, recording the limit.
struct LimitedBody<B> {
    inner: B,
    seen: u64,
    max: u64,
    journal: SharedJournal,
    kind: LimitKind,
}

impl<B> LimitedBody<B> {
    fn new(inner: B, max: u64, journal: SharedJournal, kind: LimitKind) -> Self {
        LimitedBody {
            inner,
            seen: 0,
            max,
            journal,
            kind,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame
            && let Some(data) = f.data_ref()
        {
            self.seen += data.len() as u64;
            if self.seen > self.max {
                self.journal.hit(self.kind);
                let max = Some(self.max);
                return Poll::Ready(Some(Err(match self.kind {
                    LimitKind::RequestBody => HttpError::HttpRequestBodySize(max),
                    _ => HttpError::HttpResponseBodySize(max),
                })));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
