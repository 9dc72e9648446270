//! The test's own calls to the host, through the shared minimal HTTP/1.1 client (one
//! connection per request, JSON in and out).

use crate::common::http_client::{self, Request};
use serde_json::Value;
use std::net::SocketAddr;

pub use crate::common::http_client::Reply;

/// Sends a request that must be answered within a minute.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    http_client::call(
        addr,
        &Request {
            method,
            path,
            key,
            body,
            headers: &[],
        },
    )
    .await
}
