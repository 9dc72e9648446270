//! The journal of one call: its log, artifacts, HTTP requests and the limit it hit.
//!
//! Every capability of a call writes here (host log import, stdout/stderr,
//! the egress gate, the artifact sink, the resource limiter); the runtime
//! reads it once the call ends. Bounds are enforced at write time so a
//! hostile guest cannot grow it past its limits. Secret values are redacted
//! before anything is stored.

use bytes::Bytes;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::secrets::Redactor;

/// A per-call limit; each has its own stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Linear memory grew past `memory_mib`.
    #[error("memory limit exceeded")]
    Memory,
    /// A table grew past `table_elements`.
    #[error("table limit exceeded")]
    Table,
    /// The CPU budget (`cpu_fuel`) ran out.
    #[error("cpu limit exceeded")]
    Cpu,
    /// The call ran longer than `wall_time_ms`.
    #[error("wall time limit exceeded")]
    WallTime,
    /// More than `max_requests` outbound requests.
    #[error("outbound request limit exceeded")]
    Requests,
    /// A response body was larger than `max_response_bytes`.
    #[error("response body limit exceeded")]
    ResponseBody,
    /// A request body was larger than `max_request_body_bytes`.
    #[error("request body limit exceeded")]
    RequestBody,
    /// More than `max_log_bytes` of log.
    #[error("log limit exceeded")]
    Log,
    /// Too many or too large artifacts.
    #[error("artifact limit exceeded")]
    Artifacts,
    /// The returned outcome was larger than `max_outcome_bytes`.
    #[error("outcome size limit exceeded")]
    Outcome,
    /// The wasm stack overflowed.
    #[error("stack overflow")]
    Stack,
    /// No free instance slot in the pool.
    #[error("instance pool exhausted")]
    Instances,
}

impl LimitKind {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            LimitKind::Memory => "memory_limit_exceeded",
            LimitKind::Table => "table_limit_exceeded",
            LimitKind::Cpu => "cpu_limit_exceeded",
            LimitKind::WallTime => "wall_time_exceeded",
            LimitKind::Requests => "request_limit_exceeded",
            LimitKind::ResponseBody => "response_too_large",
            LimitKind::RequestBody => "request_body_too_large",
            LimitKind::Log => "log_limit_exceeded",
            LimitKind::Artifacts => "artifact_limit_exceeded",
            LimitKind::Outcome => "outcome_too_large",
            LimitKind::Stack => "stack_overflow",
            LimitKind::Instances => "instances_exhausted",
        }
    }
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSource {
    /// `host.log` at trace level.
    Trace,
    /// `host.log` at debug level.
    Debug,
    /// `host.log` at info level.
    Info,
    /// `host.log` at warn level.
    Warn,
    /// `host.log` at error level.
    Error,
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
}

/// One log entry (redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Where it came from.
    pub source: LogSource,
    /// The text, secrets redacted.
    pub message: String,
}

/// An artifact the guest stored (redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Validated name.
    pub name: String,
    /// Declared content type.
    pub content_type: String,
    /// Bytes, secrets redacted.
    #[serde(skip)]
    pub data: Vec<u8>,
    /// Size in bytes.
    pub size: usize,
}

/// What the gate did with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RequestDecision {
    /// Sent; status filled in when a response arrived.
    Sent {
        /// HTTP status, if a response came.
        status: Option<u16>,
        /// Transport error, if the send failed.
        error: Option<String>,
    },
    /// Blocked by the gate, with the stable reason code.
    Denied {
        /// Why (`origin_not_granted`, `method_not_allowed_in_read_only_profile`...).
        reason: String,
    },
}

/// One outbound request as the gate saw it (before credential injection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Full URL, secrets redacted.
    pub url: String,
    /// The first bytes of the body (for denied requests), redacted, lossy UTF-8.
    pub body_preview: Option<String>,
    /// Total body bytes seen (for denied requests).
    pub body_bytes: u64,
    /// Whether `body_preview` is shorter than the body.
    pub body_truncated: bool,
    /// Sent or denied.
    #[serde(flatten)]
    pub decision: RequestDecision,
}

impl RecordedRequest {
    /// Whether the gate blocked it.
    pub fn is_denied(&self) -> bool {
        matches!(self.decision, RequestDecision::Denied { .. })
    }
}

/// The bounds the journal enforces.
#[derive(Debug, Clone, Copy)]
pub struct JournalLimits {
    /// Log bytes.
    pub max_log_bytes: u64,
    /// Artifact count.
    pub max_artifacts: u32,
    /// Artifact bytes in total.
    pub max_artifact_bytes: u64,
}

/// Everything one call recorded.
#[derive(Debug, Default)]
pub struct Journal {
    /// Log lines.
    pub log: Vec<LogLine>,
    log_bytes: u64,
    /// Artifacts.
    pub artifacts: Vec<Artifact>,
    artifact_bytes: u64,
    /// Outbound requests.
    pub requests: Vec<RecordedRequest>,
    /// The first limit that was hit, which decides the call's error.
    pub limit_hit: Option<LimitKind>,
}

/// The journal shared by a call's capabilities.
#[derive(Debug, Clone)]
pub struct SharedJournal {
    inner: Arc<Mutex<Journal>>,
    limits: JournalLimits,
    redactor: Redactor,
}

impl SharedJournal {
    /// A fresh journal with these bounds.
    pub fn new(limits: JournalLimits, redactor: Redactor) -> Self {
        SharedJournal {
            inner: Arc::new(Mutex::new(Journal::default())),
            limits,
            redactor,
        }
    }

    /// The redactor for this call.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Locks the journal; a poisoned lock still yields the data (it is only appended to).
    pub fn lock(&self) -> MutexGuard<'_, Journal> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes everything recorded so far.
    pub fn take(&self) -> Journal {
        std::mem::take(&mut *self.lock())
    }

    /// Records a limit hit (the first one wins) and returns it as an error for trapping.
    pub fn hit(&self, kind: LimitKind) -> LimitKind {
        let mut j = self.lock();
        j.limit_hit.get_or_insert(kind);
        kind
    }

    /// Appends a log line; `Err` once the log budget is spent.
    pub fn log(&self, source: LogSource, message: &str) -> Result<(), LimitKind> {
        let mut j = self.lock();
        let len = message.len() as u64;
        if j.log_bytes + len > self.limits.max_log_bytes {
            j.limit_hit.get_or_insert(LimitKind::Log);
            return Err(LimitKind::Log);
        }
        j.log_bytes += len;
        j.log.push(LogLine {
            source,
            message: self.redactor.redact(message),
        });
        Ok(())
    }

    /// Stores an artifact; `Ok(Err(reason))` for a bad name the guest can handle,
    /// `Err` when a bound is exceeded (fails the call).
    pub fn put_artifact(
        &self,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<Result<(), String>, LimitKind> {
        if let Err(reason) = check_artifact_name(name) {
            return Ok(Err(reason));
        }
        // A name is stored and shown as it is (redacting it would break the
        // name rules), so a name carrying a secret is refused outright.
        if self.redactor.contains_secret(name.as_bytes()) {
            return Ok(Err("artifact name contains a secret value".into()));
        }
        let mut j = self.lock();
        if j.artifacts.iter().any(|a| a.name == name) {
            return Ok(Err(format!(
                "artifact `{name}` already exists in this call"
            )));
        }
        let size = data.len() as u64;
        if j.artifacts.len() as u64 >= u64::from(self.limits.max_artifacts)
            || j.artifact_bytes + size > self.limits.max_artifact_bytes
        {
            j.limit_hit.get_or_insert(LimitKind::Artifacts);
            return Err(LimitKind::Artifacts);
        }
        j.artifact_bytes += size;
        let data = self.redactor.redact_bytes(data);
        j.artifacts.push(Artifact {
            name: name.to_string(),
            // Redacted before it is cut, so no part of a secret survives.
            content_type: self
                .redactor
                .redact(content_type)
                .chars()
                .take(128)
                .collect(),
            size: data.len(),
            data,
        });
        Ok(Ok(()))
    }

    /// Records a request and returns its index for later updates.
    pub fn record_request(&self, mut req: RecordedRequest) -> usize {
        req.url = self.redactor.redact(&req.url);
        let mut j = self.lock();
        j.requests.push(req);
        j.requests.len() - 1
    }

    /// Updates a recorded request (status, body preview).
    pub fn update_request(&self, index: usize, f: impl FnOnce(&mut RecordedRequest)) {
        let mut j = self.lock();
        if let Some(r) = j.requests.get_mut(index) {
            f(r);
            if let Some(p) = r.body_preview.take() {
                r.body_preview = Some(self.redactor.redact(&p));
            }
        }
    }
}

/// `[A-Za-z0-9._-]{1,128}`, not starting with a dot: no path can be formed.
pub fn check_artifact_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "artifact name `{}` is invalid: expected 1-128 of [A-Za-z0-9._-], not starting with `.`",
            name.chars().take(64).collect::<String>()
        ))
    }
}

/// The guest's stdout or stderr, captured into the journal's bounded log.
#[derive(Debug, Clone)]
pub struct LogStream {
    journal: SharedJournal,
    source: LogSource,
}

impl LogStream {
    /// A stream writing lines of `source` into `journal`.
    pub fn new(journal: SharedJournal, source: LogSource) -> Self {
        LogStream { journal, source }
    }

    fn append(&self, bytes: &[u8]) -> Result<(), LimitKind> {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        self.journal.log(self.source, text)
    }
}

mod stdio_impls {
    //! Plumbing so `LogStream` can stand in for WASI stdout/stderr.
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
    use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

    impl IsTerminal for LogStream {
        fn is_terminal(&self) -> bool {
            false
        }
    }

    impl StdoutStream for LogStream {
        fn p2_stream(&self) -> Box<dyn OutputStream> {
            Box::new(self.clone())
        }
        fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
            Box::new(self.clone())
        }
    }

    #[wasmtime_wasi::async_trait]
    impl Pollable for LogStream {
        async fn ready(&mut self) {}
    }

    #[wasmtime_wasi::async_trait]
    impl OutputStream for LogStream {
        fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
            // Exceeding the log budget fails the whole call: trap.
            self.append(&bytes).map_err(|k| StreamError::Trap(k.into()))
        }
        fn flush(&mut self) -> StreamResult<()> {
            Ok(())
        }
        fn check_write(&mut self) -> StreamResult<usize> {
            Ok(64 * 1024)
        }
    }

    impl tokio::io::AsyncWrite for LogStream {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(
                self.append(buf)
                    .map(|()| buf.len())
                    .map_err(|k| std::io::Error::other(k.to_string())),
            )
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn journal() -> SharedJournal {
        SharedJournal::new(
            JournalLimits {
                max_log_bytes: 16,
                max_artifacts: 2,
                max_artifact_bytes: 10,
            },
            Redactor::new([("T".to_string(), "secret-canary".to_string())]),
        )
    }

    #[test]
    fn log_is_bounded_and_redacted() {
        let j = journal();
        j.log(LogSource::Info, "secret-canary").unwrap();
        assert_eq!(j.log(LogSource::Info, "0123"), Err(LimitKind::Log));
        let taken = j.take();
        assert_eq!(taken.log[0].message, "[REDACTED:T]");
        assert_eq!(taken.limit_hit, Some(LimitKind::Log));
    }

    #[test]
    fn artifact_names_cannot_form_paths() {
        for bad in ["../x", "/etc/passwd", ".hidden", "a/b", "a\\b", "", "x\0y"] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_artifact_name("report-1.json").is_ok());
    }

    #[test]
    fn artifacts_are_bounded() {
        let j = journal();
        assert_eq!(j.put_artifact("a", "text/plain", b"12345"), Ok(Ok(())));
        assert!(matches!(
            j.put_artifact("../a", "text/plain", b"1"),
            Ok(Err(_))
        ));
        assert_eq!(
            j.put_artifact("b", "text/plain", b"123456"),
            Err(LimitKind::Artifacts)
        );
    }

    #[test]
    fn artifact_name_and_type_cannot_carry_a_secret() {
        let j = journal();
        assert!(matches!(
            j.put_artifact("k-secret-canary", "text/plain", b"1"),
            Ok(Err(_))
        ));
        assert_eq!(j.put_artifact("a", "text/secret-canary", b"1"), Ok(Ok(())));
        let taken = j.take();
        assert_eq!(taken.artifacts.len(), 1);
        assert_eq!(taken.artifacts[0].content_type, "text/[REDACTED:T]");
    }
}
