//! HTTP bench (issue #5): governed actions per second through the real server.
//!
//! `cargo bench -p autopack-host --bench http` starts the `autopack-host` binary built with
//! the bench (release profile; `AUTOPACK_BENCH_BIN` picks another) on loopback with the
//! `example` provider, the durable SQLite ledger in a temp dir and its default JSON request
//! log, then drives it from a *separate process*: this same executable re-run as
//! `http loadgen …`, a small HTTP/1.1 keep-alive load generator. It measures
//!
//! 1. saturation: governed dry-run actions per second (`POST /api/actions`, `example/echo`,
//!    each with a unique idempotency key, so each request is a new action with its ledger
//!    records and audit chain entries), closed loop at several connection counts;
//! 2. latency at half the best rate: an open-loop constant rate, latency measured from each
//!    request's *scheduled* send time (no coordinated omission);
//! 3. the host's added latency on a live tier-A read (`example/get_status`, one upstream
//!    `GET /status`) against the same `GET /status` sent to the fake upstream directly, one
//!    request at a time;
//! 4. if `wrk` is on `PATH`, a `wrk` run of the same dry-run proposal as a cross-check.
//!
//! Options (environment): `AUTOPACK_BENCH_SECS` (seconds per measurement, default 10),
//! `AUTOPACK_BENCH_CONNS` (comma-separated connection counts for saturation, default
//! `4,16,64`), `AUTOPACK_BENCH_BIN` (the server binary), `AUTOPACK_BENCH_DIR` (where the
//! temp dir with the database goes, default the system's; `/dev/shm` shows what is left when
//! fsync costs nothing), `AUTOPACK_BENCH_KEEP=1` (keep the temp dir and print it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "apk_bench_Xq3Lw8Rt1Vn6Mc9Ps2Yk5Hd7Bf0Gj4Tz";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("loadgen") {
        loadgen::main(&args[2..]);
        return;
    }
    orchestrate();
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

fn config(dir: &Path, upstream: &str) -> String {
    let data = dir.join("data");
    format!(
        r#"data_dir = {data}
database_url = {db}
policies_dir = {policies}

[[api_keys]]
id = "bench"
sha256 = {hash}
roles = ["proposer", "operator"]

[[providers]]
domain = "example"
component = {component}
origins = [{upstream}]
[providers.settings]
base_url = {upstream}
"#,
        data = q(&data.display().to_string()),
        db = q(&format!("sqlite://{}", data.join("autopack.db").display())),
        policies = q(&dir.join("policies").display().to_string()),
        hash = q(&autopack_host::api::auth::key_hash_hex(KEY)),
        component = q(autopack_test_artifacts::AUTOPACK_EXAMPLE),
        upstream = q(upstream),
    )
}

const POLICY: &str = r#"project = "bench"

[domains.example]
operations = ["echo", "get_status"]
"#;

/// The fake upstream of `example/get_status`: `GET /status` → a small JSON body.
async fn upstream() -> SocketAddr {
    let app = axum::Router::new().route(
        "/status",
        axum::routing::get(|| async { axum::Json(json!({"ok": true, "notes": 3})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path) -> Server {
    let bin = std::env::var("AUTOPACK_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_autopack-host").to_owned());
    let log = std::fs::File::create(dir.join("server.log")).expect("log");
    let mut cmd = Command::new(&bin);
    for v in [
        "AUTOPACK_ENV",
        "AUTOPACK_API_KEY",
        "AUTOPACK_API_KEY_FILE",
        "AUTOPACK_EXTERNAL_ACTIONS",
        "AUTOPACK_LOG",
        "AUTOPACK_LOG_FORMAT",
        "DATABASE_URL",
        "DATABASE_URL_FILE",
    ] {
        cmd.env_remove(v);
    }
    let mut child = cmd
        .args(["serve", "--config"])
        .arg(dir.join("autopack-host.toml"))
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = line.strip_prefix("autopack-host listening on http://") {
                let _ = tx.send(a.trim().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            panic!(
                "the server did not start:\n{}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            )
        })
        .parse()
        .expect("address");
    Server { child, addr }
}

/// One load-generator run in its own process; returns its JSON report.
fn run_loadgen(args: &[String]) -> Value {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .arg("loadgen")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run the load generator");
    assert!(out.status.success(), "load generator failed");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "load generator output: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn ms(report: &Value, key: &str) -> f64 {
    report[key].as_f64().unwrap_or(f64::NAN) / 1000.0
}

fn line(label: &str, r: &Value) {
    println!(
        "{label:<44} {:>8.0} req/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ok {} / {}  load {}",
        r["rps"].as_f64().unwrap_or(0.0),
        ms(r, "p50_us"),
        ms(r, "p90_us"),
        ms(r, "p99_us"),
        ms(r, "max_us"),
        r["ok"],
        r["requests"],
        loadavg(),
    );
}

fn orchestrate() {
    let secs = env_u64("AUTOPACK_BENCH_SECS", 10);
    let conns: Vec<u64> = std::env::var("AUTOPACK_BENCH_CONNS")
        .unwrap_or_else(|_| "4,16,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let upstream_addr = rt.block_on(upstream());
    let upstream_origin = format!("http://{upstream_addr}");
    let dir = match std::env::var_os("AUTOPACK_BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    std::fs::create_dir_all(dir.path().join("policies")).expect("policies");
    std::fs::write(dir.path().join("policies/bench.toml"), POLICY).expect("policy");
    std::fs::write(
        dir.path().join("autopack-host.toml"),
        config(dir.path(), &upstream_origin),
    )
    .expect("config");
    let server = start_server(dir.path());
    let addr = server.addr.to_string();
    let run = format!("{}-{}", std::process::id(), now_nanos() % 1_000_000_000);
    println!(
        "HTTP bench: server {addr}, SQLite (WAL, synchronous=FULL) in {}, {} cores, load average {}",
        dir.path().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );

    let dry_run = |tag: &str| {
        format!(
            r#"{{"project":"bench","domain":"example","operation":"echo","params":{{"message":"hello"}},"idempotency_key":"{run}-{tag}-{{n}}"}}"#
        )
    };
    let common = |mode: &str, conns: u64, tag: &str, body: String, secs: u64| -> Vec<String> {
        vec![
            "--addr".into(),
            addr.clone(),
            "--method".into(),
            "POST".into(),
            "--path".into(),
            "/api/actions".into(),
            "--key".into(),
            KEY.into(),
            "--body".into(),
            body,
            "--expect".into(),
            "201".into(),
            "--mode".into(),
            mode.into(),
            "--connections".into(),
            conns.to_string(),
            "--secs".into(),
            secs.to_string(),
            "--tag".into(),
            tag.into(),
        ]
    };

    // Warm up (compiled instances, SQLite pages, the allocator).
    let warm = run_loadgen(&common("closed", 8, "warm", dry_run("warm"), 3));
    line("warm-up, dry-run echo, 8 connections", &warm);

    // 1. Saturation.
    let mut best: Option<(u64, Value)> = None;
    for &c in &conns {
        let tag = format!("sat{c}");
        let r = run_loadgen(&common("closed", c, &tag, dry_run(&tag), secs));
        line(&format!("saturation, dry-run echo, {c} connections"), &r);
        if best
            .as_ref()
            .is_none_or(|(_, b)| r["rps"].as_f64() > b["rps"].as_f64())
        {
            best = Some((c, r));
        }
    }
    let (best_c, best) = best.expect("at least one connection count");
    let max_rps = best["rps"].as_f64().unwrap_or(0.0);
    println!("=> saturation: {max_rps:.0} governed dry-run actions/s ({best_c} connections)");

    // 2. Half that rate, open loop.
    let half = (max_rps / 2.0).max(1.0).round() as u64;
    let mut args = common("rate", 64, "half", dry_run("half"), secs);
    args.extend(["--rate".into(), half.to_string()]);
    let r = run_loadgen(&args);
    line(&format!("constant {half}/s (half), dry-run echo"), &r);

    // 3. Live tier-A read through the host vs the upstream directly, one at a time.
    for scope in ["global", "example"] {
        let r = rt.block_on(loadgen::request(
            server.addr,
            "PUT",
            &format!("/api/switches/{scope}"),
            Some(KEY),
            Some(json!({"state": "on", "reason": "bench"}).to_string()),
        ));
        assert_eq!(r.map(|(s, _)| s).ok(), Some(200), "switch {scope} on");
    }
    let direct = run_loadgen(&[
        "--addr".into(),
        upstream_addr.to_string(),
        "--method".into(),
        "GET".into(),
        "--path".into(),
        "/status".into(),
        "--expect".into(),
        "200".into(),
        "--mode".into(),
        "closed".into(),
        "--connections".into(),
        "1".into(),
        "--secs".into(),
        secs.to_string(),
        "--tag".into(),
        "direct".into(),
    ]);
    line("direct GET /status to the fake upstream", &direct);
    let live_body = format!(
        r#"{{"project":"bench","domain":"example","operation":"get_status","params":{{}},"mode":"live","idempotency_key":"{run}-live-{{n}}"}}"#
    );
    let live = run_loadgen(&common("closed", 1, "live", live_body, secs));
    line("live tier-A get_status through the host", &live);
    let echo1 = run_loadgen(&common("closed", 1, "echo1", dry_run("echo1"), secs));
    line("dry-run echo, 1 connection (no upstream)", &echo1);
    println!(
        "=> host's added p50 on a live tier-A read: {:.2} ms ({:.2} ms vs {:.2} ms direct)",
        ms(&live, "p50_us") - ms(&direct, "p50_us"),
        ms(&live, "p50_us"),
        ms(&direct, "p50_us"),
    );

    // 4. wrk, if installed.
    if Command::new("wrk").arg("--version").output().is_ok() {
        for c in [16u64, 64] {
            // A fresh key prefix per run: a repeated key is a cheap replay, not a new action.
            let script = dir.path().join(format!("propose-{c}.lua"));
            std::fs::write(&script, wrk_script(&format!("{run}-wrk{c}"))).expect("lua");
            let out = Command::new("wrk")
                .args([
                    "-t1",
                    &format!("-c{c}"),
                    &format!("-d{secs}s"),
                    "--latency",
                    "-s",
                ])
                .arg(&script)
                .arg(format!("http://{addr}/api/actions"))
                .output()
                .expect("wrk");
            println!(
                "wrk -t1 -c{c} -d{secs}s (load {}):\n{}",
                loadavg(),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    } else {
        println!("(wrk not found: skipping the wrk cross-check)");
    }

    let count = rt
        .block_on(loadgen::request(
            server.addr,
            "GET",
            "/api/audit/verify",
            Some(KEY),
            None,
        ))
        .expect("audit verify");
    println!("audit verify after the run: {}", count.1);
    drop(server);
    if std::env::var_os("AUTOPACK_BENCH_KEEP").is_some() {
        println!("kept {}", dir.keep().display());
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// A wrk script: each request a new dry-run proposal with a unique idempotency key; prints
/// how many answers had each status (201: a new action; 200 would be a replay).
fn wrk_script(prefix: &str) -> String {
    format!(
        r#"local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
local n = 0
local seen = {{}}
function request()
  n = n + 1
  local body = string.format('{{"project":"bench","domain":"example","operation":"echo","params":{{"message":"hello"}},"idempotency_key":"{prefix}-%s-%d"}}', tostring(tid), n)
  return wrk.format("POST", nil, {{["Content-Type"] = "application/json", ["X-API-Key"] = "{KEY}"}}, body)
end
function response(status, headers, body)
  seen[status] = (seen[status] or 0) + 1
  statuses = seen
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for status, count in pairs(s) do
        io.write(string.format("status %d: %d responses\n", status, count))
      end
    end
  end
end
"#
    )
}

/// The load generator: keep-alive HTTP/1.1 connections, closed loop or constant rate.
mod loadgen {
    use super::*;

    struct Opts {
        addr: SocketAddr,
        method: String,
        path: String,
        key: Option<String>,
        body: Option<String>,
        expect: u16,
        mode: String,
        connections: u64,
        secs: u64,
        rate: u64,
    }

    fn parse(args: &[String]) -> Opts {
        let get = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        Opts {
            addr: get("--addr").expect("--addr").parse().expect("addr"),
            method: get("--method").unwrap_or_else(|| "GET".into()),
            path: get("--path").unwrap_or_else(|| "/".into()),
            key: get("--key"),
            body: get("--body"),
            expect: get("--expect").map_or(200, |s| s.parse().expect("expect")),
            mode: get("--mode").unwrap_or_else(|| "closed".into()),
            connections: get("--connections").map_or(1, |s| s.parse().expect("connections")),
            secs: get("--secs").map_or(10, |s| s.parse().expect("secs")),
            rate: get("--rate").map_or(0, |s| s.parse().expect("rate")),
        }
    }

    type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

    async fn connect(addr: SocketAddr) -> Result<Sender, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(sender)
    }

    fn build(o: &Opts, n: u64) -> hyper::Request<Full<Bytes>> {
        let mut b = hyper::Request::builder()
            .method(o.method.as_str())
            .uri(o.path.as_str())
            .header("host", o.addr.to_string());
        if let Some(k) = &o.key {
            b = b.header("x-api-key", k.as_str());
        }
        let body = match &o.body {
            Some(t) => {
                b = b.header("content-type", "application/json");
                t.replace("{n}", &n.to_string())
            }
            None => String::new(),
        };
        b.body(Full::new(Bytes::from(body))).expect("request")
    }

    async fn send(sender: &mut Sender, req: hyper::Request<Full<Bytes>>) -> Result<u16, String> {
        sender.ready().await.map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        res.into_body().collect().await.map_err(|e| e.to_string())?;
        Ok(status)
    }

    /// One request on a new connection: status and body.
    pub async fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        let mut sender = connect(addr).await?;
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        if let Some(k) = key {
            b = b.header("x-api-key", k);
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let req = b
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    #[derive(Default)]
    struct Tally {
        latencies_us: Vec<u64>,
        ok: u64,
        bad: u64,
        errors: u64,
        first_bad: Option<String>,
    }

    impl Tally {
        fn record(&mut self, r: Result<u16, String>, expect: u16, us: u64) {
            match r {
                Ok(s) if s == expect => {
                    self.ok += 1;
                    self.latencies_us.push(us);
                }
                Ok(s) => {
                    self.bad += 1;
                    self.latencies_us.push(us);
                    self.first_bad.get_or_insert_with(|| format!("status {s}"));
                }
                Err(e) => {
                    self.errors += 1;
                    self.first_bad.get_or_insert(e);
                }
            }
        }

        fn merge(&mut self, o: Tally) {
            self.latencies_us.extend(o.latencies_us);
            self.ok += o.ok;
            self.bad += o.bad;
            self.errors += o.errors;
            if self.first_bad.is_none() {
                self.first_bad = o.first_bad;
            }
        }
    }

    pub fn main(args: &[String]) {
        let o = Arc::new(parse(args));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (mut tally, elapsed) = rt.block_on(async {
            let counter = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let deadline = start + Duration::from_secs(o.secs);
            let tally = if o.mode == "rate" {
                rate(o.clone(), counter, deadline).await
            } else {
                closed(o.clone(), counter, deadline).await
            };
            (tally, start.elapsed())
        });
        tally.latencies_us.sort_unstable();
        let l = &tally.latencies_us;
        let pct = |p: f64| -> u64 {
            if l.is_empty() {
                return 0;
            }
            let i = ((p / 100.0) * (l.len() as f64 - 1.0)).round() as usize;
            l[i.min(l.len() - 1)]
        };
        let requests = tally.ok + tally.bad + tally.errors;
        let report = json!({
            "requests": requests,
            "ok": tally.ok,
            "bad_status": tally.bad,
            "errors": tally.errors,
            "first_problem": tally.first_bad,
            "secs": elapsed.as_secs_f64(),
            "rps": tally.ok as f64 / elapsed.as_secs_f64(),
            "p50_us": pct(50.0),
            "p90_us": pct(90.0),
            "p99_us": pct(99.0),
            "p999_us": pct(99.9),
            "max_us": l.last().copied().unwrap_or(0),
        });
        println!("{report}");
    }

    async fn closed(o: Arc<Opts>, counter: Arc<AtomicU64>, deadline: Instant) -> Tally {
        let mut tasks = Vec::new();
        for _ in 0..o.connections {
            let o = o.clone();
            let counter = counter.clone();
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                let mut sender = match connect(o.addr).await {
                    Ok(s) => s,
                    Err(e) => {
                        t.record(Err(e), o.expect, 0);
                        return t;
                    }
                };
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let req = build(&o, n);
                    let sent = Instant::now();
                    let r = send(&mut sender, req).await;
                    let failed = r.is_err();
                    t.record(r, o.expect, sent.elapsed().as_micros() as u64);
                    if failed {
                        match connect(o.addr).await {
                            Ok(s) => sender = s,
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                }
                t
            }));
        }
        let mut all = Tally::default();
        for t in tasks {
            all.merge(t.await.expect("task"));
        }
        all
    }

    /// Constant rate: a dispatcher thread schedules request `i` at `start + i / rate` (OS
    /// sleeps, finer than tokio's millisecond timer); a pool of connections takes them in
    /// order; latency runs from the scheduled time, so a slow server cannot hide its queue.
    async fn rate(o: Arc<Opts>, counter: Arc<AtomicU64>, deadline: Instant) -> Tally {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let period = Duration::from_secs_f64(1.0 / o.rate.max(1) as f64);
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut i: u32 = 0;
            loop {
                let at = start + period * i;
                if at >= deadline {
                    break;
                }
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                if tx.send(at).is_err() {
                    break;
                }
                i += 1;
            }
        });
        let mut tasks = Vec::new();
        for _ in 0..o.connections {
            let o = o.clone();
            let counter = counter.clone();
            let rx = rx.clone();
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                let mut sender = match connect(o.addr).await {
                    Ok(s) => s,
                    Err(e) => {
                        t.record(Err(e), o.expect, 0);
                        return t;
                    }
                };
                loop {
                    let Some(at) = rx.lock().await.recv().await else {
                        break;
                    };
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let r = send(&mut sender, build(&o, n)).await;
                    let failed = r.is_err();
                    t.record(r, o.expect, at.elapsed().as_micros() as u64);
                    if failed && let Ok(s) = connect(o.addr).await {
                        sender = s;
                    }
                }
                t
            }));
        }
        let mut all = Tally::default();
        for t in tasks {
            all.merge(t.await.expect("task"));
        }
        all
    }
}
