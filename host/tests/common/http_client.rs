//! A minimal HTTP/1.1 client over hyper for a test's own calls to the host: one connection
//! per request, JSON in and out.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// A request to send.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Sent as `x-api-key`.
    pub key: Option<&'a str>,
    /// Sent as JSON.
    pub body: Option<&'a Value>,
    pub headers: &'a [(&'a str, &'a str)],
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it is not JSON).
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// Panics unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self
    }
}

/// Sends one request on a new connection.
pub async fn send(addr: SocketAddr, req: &Request<'_>) -> Result<Reply, String> {
    let (method, path) = (req.method, req.path);
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let driver = tokio::spawn(conn);
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(k) = req.key {
        b = b.header("x-api-key", k);
    }
    if req.body.is_some() {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in req.headers {
        b = b.header(*k, *v);
    }
    let payload = req.body.map(Value::to_string).unwrap_or_default();
    let request = b
        .body(Full::new(Bytes::from(payload)))
        .map_err(|e| format!("request: {e}"))?;
    let res = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{method} {path}: body: {e}"))?
        .to_bytes();
    driver.abort();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Reply {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    })
}

/// Sends a request that must be answered within a minute.
pub async fn call(addr: SocketAddr, req: &Request<'_>) -> Reply {
    match tokio::time::timeout(Duration::from_secs(60), send(addr, req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("{} {}: no answer within 60 s", req.method, req.path),
    }
}
