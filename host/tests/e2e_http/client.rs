//! The shared small HTTP/1.1 client (`common::http_client`: one connection per request,
//! JSON in and out), wrapped so that it checks what every response of the API must carry:
//! an `X-Request-ID`, the caller's when it sent a valid one.

use crate::common::http_client::{self, Request};
use hyper::header::HeaderMap;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// One answer of the server.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it is not JSON).
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The response's `X-Request-ID`.
    pub fn request_id(&self) -> &str {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The error envelope's code (empty for a success).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Panics unless the status is `status`, showing the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Resp {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self
    }

    /// Panics unless this is the error `code` with `status`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Resp {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
        assert_eq!(
            self.body["error"]["request_id"].as_str(),
            Some(self.request_id()),
            "the envelope names the response's request id: {}",
            self.text
        );
        self
    }

    /// The code of the reason that refused the decision of a `denied` answer.
    pub fn denial_code(&self) -> String {
        failing_reason(&self.body["error"]["decision"])
    }
}

/// The code of the first failing reason of a decision.
pub fn failing_reason(decision: &Value) -> String {
    decision["reasons"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["outcome"] == "fail"))
        .and_then(|r| r["code"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A request to send.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub key: Option<&'a str>,
    pub body: Option<&'a Value>,
    pub headers: Vec<(&'a str, &'a str)>,
}

/// Sends one request on a new connection and checks the request id of the answer.
pub async fn send(addr: SocketAddr, req: Req<'_>) -> Result<Resp, String> {
    let reply = http_client::send(
        addr,
        &Request {
            method: req.method,
            path: req.path,
            key: req.key,
            body: req.body,
            headers: &req.headers,
        },
    )
    .await?;
    let status = reply.status;
    let resp = Resp {
        status,
        headers: reply.headers,
        body: reply.json,
        text: reply.text,
    };
    // Every response carries a request id; a valid caller-supplied one is echoed.
    let id = resp.request_id();
    assert!(
        !id.is_empty(),
        "{} {} answered {status} without X-Request-ID",
        req.method,
        req.path
    );
    if let Some((_, sent)) = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-request-id"))
        && autopack_host::api::request_id::is_valid(sent)
    {
        assert_eq!(id, *sent, "the caller's request id is echoed");
    }
    Ok(resp)
}

/// The API of one running server, as one caller sees it.
#[derive(Clone, Copy)]
pub struct Api {
    pub addr: SocketAddr,
}

impl Api {
    /// Sends a request that must get an answer.
    pub async fn call(&self, req: Req<'_>) -> Resp {
        let what = format!("{} {}", req.method, req.path);
        match tokio::time::timeout(Duration::from_secs(60), send(self.addr, req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("{what}: no answer within 60 s"),
        }
    }

    pub async fn get(&self, key: &str, path: &str) -> Resp {
        self.call(Req {
            method: "GET",
            path,
            key: Some(key),
            body: None,
            headers: vec![],
        })
        .await
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.call(Req {
            method: "POST",
            path,
            key: Some(key),
            body: Some(body),
            headers: vec![],
        })
        .await
    }

    /// A POST without a body (execute).
    pub async fn post_empty(&self, key: &str, path: &str) -> Resp {
        self.call(Req {
            method: "POST",
            path,
            key: Some(key),
            body: None,
            headers: vec![],
        })
        .await
    }

    pub async fn put(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.call(Req {
            method: "PUT",
            path,
            key: Some(key),
            body: Some(body),
            headers: vec![],
        })
        .await
    }
}
