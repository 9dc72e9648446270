//! `hostile-socket` (domain `hostile_socket`): goes around the HTTP gate with
//! raw sockets and name lookup (`std::net`, i.e. `wasi:sockets`).
//!
//! Operations (all `read`; params `addr`, a `host:port` the test listens on,
//! e.g. its loopback server, default `127.0.0.1:80`):
//! - `tcp`: `TcpStream::connect` to `addr` and, if connected, writes a line.
//! - `udp`: binds a UDP socket and sends a datagram to `addr`.
//! - `dns`: resolves params `name` (default `localhost`).
//!
//! Each returns `Ok` with `data` `{"succeeded": bool, "detail": text}`. The
//! host grants no sockets and no name lookup: it must observe `succeeded ==
//! false` for all three and the test server counts no connection. (This
//! component imports `wasi:sockets`; a host that does not link those
//! interfaces at all refuses it at load instead, which is also safe.)

use autopack_sdk::types::{
    CallContext, Effect, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, invalid, params};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

struct HostileSocket;

const OPS: [&str; 3] = ["tcp", "udp", "dns"];

fn object(p: &str) -> Result<Map<String, Value>, ProviderError> {
    if p.trim().is_empty() {
        return Ok(Map::new());
    }
    params::object(p)
}

fn tcp(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    Ok(format!("connected to {addr}"))
}

fn udp(addr: SocketAddr) -> std::io::Result<String> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    let sent = socket.send_to(b"hostile", addr)?;
    Ok(format!("sent {sent} bytes to {addr}"))
}

fn dns(name: &str) -> std::io::Result<String> {
    let addrs: Vec<String> = (name, 80)
        .to_socket_addrs()?
        .map(|a| a.to_string())
        .collect();
    Ok(format!("{name} resolved to {}", addrs.join(", ")))
}

impl Guest for HostileSocket {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "hostile_socket".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: OPS
                .iter()
                .map(|name| Operation {
                    name: (*name).into(),
                    summary: format!("Use a raw socket: {name}."),
                    effect: Effect::Read,
                    params_schema: r#"{"type":"object"}"#.into(),
                    spend: SpendSource::None,
                })
                .collect(),
            origins: vec![],
            secrets: vec![],
            settings: vec![],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let map = object(&p)?;
        if !OPS.contains(&operation.as_str()) {
            return Err(invalid("", format!("unknown operation `{operation}`")));
        }
        Ok(Validated {
            params: Value::Object(map).to_string(),
            spend: None,
        })
    }

    fn execute(_ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let map = object(&p)?;
        let addr: SocketAddr = params::opt_str(&map, "addr")?
            .unwrap_or("127.0.0.1:80")
            .parse()
            .map_err(|e| invalid("/addr", format!("not a socket address: {e}")))?;
        let result = match operation.as_str() {
            "tcp" => tcp(addr),
            "udp" => udp(addr),
            "dns" => dns(params::opt_str(&map, "name")?.unwrap_or("localhost")),
            other => return Err(invalid("", format!("unknown operation `{other}`"))),
        };
        let (succeeded, detail) = match result {
            Ok(d) => (true, d),
            Err(e) => (false, e.to_string()),
        };
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: None,
            summary: format!("{operation}: {detail}"),
            spend: None,
            data: json!({"succeeded": succeeded, "detail": detail}).to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(HostileSocket);
