//! Conformance with the official API definitions copied into `tests/specs/`.
//!
//! - Shopify: every GraphQL document the provider sends (taken from its
//!   dry-run previews, which the matrix tests prove equal to what a live run
//!   sends) is validated against the Admin API 2025-01 schema with
//!   `apollo-compiler`, and its variables are coerced against the
//!   operation's variable types. A deliberately wrong document and wrong
//!   variables are refused, so the check can fail.
//! - YouTube: Prism (`@stoplight/prism-cli` from the npm registry, through
//!   `npx`) serves the Data API's OpenAPI document with `--errors`; the
//!   provider runs its non-upload operations live against it and every
//!   request must be accepted, while malformed requests sent directly by the
//!   test must be refused. Without `npx` this test fails; it never skips.

use crate::shopify;
use crate::support::{Grant, load, outcome, run};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use autopack_host::governance::Mode;
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::RequestDecision;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A file under the repository's `tests/specs/`.
fn spec(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/specs")
        .join(rel)
}

/// The Admin API 2025-01 schema, parsed and validated once.
fn admin_schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = spec("shopify/shopify-admin-graphql-2025-01.derived.graphql");
        let sdl =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Schema::parse_and_validate(sdl, "shopify-admin-graphql-2025-01.graphql")
            .unwrap_or_else(|e| panic!("the Admin schema does not validate: {}", e.errors))
    })
}

/// Validates a document and coerces its variables; the error says why not.
fn check_graphql(query: &str, variables: &Value) -> Result<(), String> {
    let schema = admin_schema();
    let doc = ExecutableDocument::parse_and_validate(schema, query, "operation.graphql")
        .map_err(|e| e.errors.to_string())?;
    let operation = doc
        .operations
        .get(None)
        .map_err(|e| e.message().to_string())?;
    let values: apollo_compiler::response::JsonMap =
        serde_json::from_value(variables.clone()).map_err(|e| format!("variables: {e}"))?;
    apollo_compiler::request::coerce_variable_values(schema, operation, &values)
        .map_err(|e| e.message().to_string())?;
    Ok(())
}

/// One call per document the provider can send, with every optional field
/// set, so each input field it uses is checked.
fn shopify_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("get_product", json!({"product_id": "1001"})),
        (
            "create_draft_product",
            json!({"title": "Mug", "description_html": "<p>x</p>", "vendor": "V",
                   "product_type": "Mug", "tags": ["a"], "handle": "mug"}),
        ),
        ("publish_product", json!({"product_id": "1001"})),
        (
            "publish_product",
            json!({"product_id": "1001", "publication_ids": ["1", "2"]}),
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2", "price": "9.99", "compare_at_price": "12.00"}),
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "3", "location_id": "4", "delta": 5, "reason": "received"}),
        ),
        ("delete_product", json!({"product_id": "1001"})),
    ]
}

#[tokio::test]
async fn shopify_documents_conform_to_admin_2025_01() {
    let (_fake, loaded) = shopify::setup().await;
    let mut documents = BTreeSet::new();
    for (operation, params) in shopify_calls() {
        let (_, report) = run(
            &loaded.provider,
            operation,
            &params,
            Mode::DryRun,
            Profile::ReadOnly,
        )
        .await;
        let body = &outcome(&report).data["would_send"][0]["body"];
        let query = body["query"].as_str().expect("query");
        if let Err(e) = check_graphql(query, &body["variables"]) {
            panic!("{operation}: the request does not conform to Admin 2025-01:\n{e}\n{query}");
        }
        documents.insert(query.to_string());
    }
    // Every document the provider has was checked (two for publish_product).
    assert_eq!(documents.len(), 7, "{documents:#?}");
}

#[test]
fn shopify_schema_check_can_fail() {
    let ok = "query GetProduct($id: ID!) { product(id: $id) { id title } }";
    check_graphql(ok, &json!({"id": "gid://shopify/Product/1"})).expect("a valid document passes");

    let unknown_field = "query GetProduct($id: ID!) { product(id: $id) { id notAField } }";
    let e = check_graphql(unknown_field, &json!({"id": "gid://shopify/Product/1"}))
        .expect_err("an unknown field must fail");
    assert!(e.contains("notAField"), "{e}");

    let wrong_argument =
        "mutation { productDelete(id: \"gid://shopify/Product/1\") { deletedProductId } }";
    let e = check_graphql(wrong_argument, &json!({})).expect_err("a wrong argument must fail");
    assert!(e.contains("id") || e.contains("input"), "{e}");

    let create = "mutation C($product: ProductCreateInput!) { productCreate(product: $product) { product { id } userErrors { field message } } }";
    let e = check_graphql(
        create,
        &json!({"product": {"title": "x", "status": "DRAFTY"}}),
    )
    .expect_err("an unknown enum value must fail");
    assert!(e.contains("DRAFTY") || e.contains("ProductStatus"), "{e}");
    let e = check_graphql(create, &json!({"product": {"title": "x", "colour": "red"}}))
        .expect_err("an unknown input field must fail");
    assert!(e.contains("colour"), "{e}");
    check_graphql(create, &json!({})).expect_err("a missing required variable must fail");
}

// ---- YouTube through Prism ---------------------------------------------------

/// Prism running in its own process group, killed (whole group) on drop.
struct Prism {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Prism {
    fn start(spec: &Path, dir: &Path) -> Prism {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = dir.join("prism.log");
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let mut cmd = Command::new("npx");
        cmd.args([
            "--yes",
            "@stoplight/prism-cli@5.16.0",
            "mock",
            "--errors",
            "-h",
            "127.0.0.1",
            "-p",
        ])
        .arg(port.to_string())
        .arg(spec)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`npx` was not found: the YouTube conformance test needs Node.js with npm \
                 (it runs Prism, @stoplight/prism-cli, from the npm registry)"
            ),
            Err(e) => panic!("cannot start Prism through npx: {e}"),
        };
        let mut prism = Prism { child, port, log };
        prism.wait_ready(Duration::from_secs(120));
        prism
    }

    fn wait_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "Prism exited ({status}) before listening:\n{}",
                    self.log_text()
                );
            }
            if started.elapsed() > limit {
                panic!(
                    "Prism did not listen on port {} within {limit:?}:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        // npx starts node under it: end the whole group this test started.
        // (`--` so the negative id is read as a process group, not a signal.)
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--"])
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one raw HTTP/1.1 request and returns the status code and body.
async fn raw(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += &format!("content-length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

const BEARER: &str = "Bearer ya29.prism-conformance-token-1234";

#[tokio::test]
async fn youtube_requests_conform_to_the_openapi_via_prism() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec("youtube/youtube-v3-openapi3.DERIVED-from-discovery-rev20260601.json");
    assert!(spec.is_file(), "missing {}", spec.display());
    let prism = tokio::task::spawn_blocking({
        let spec = spec.clone();
        let dir = dir.path().to_path_buf();
        move || Prism::start(&spec, &dir)
    })
    .await
    .expect("prism");

    let origin = prism.origin();
    let loaded = load(Grant {
        domain: "youtube",
        component: autopack_test_artifacts::AUTOPACK_YOUTUBE,
        origins: vec![origin.clone()],
        graphql_read_paths: vec![],
        credentials: vec![(
            origin.clone(),
            "Authorization",
            "Bearer {YOUTUBE_OAUTH_TOKEN}",
        )],
        settings: vec![("base_url", origin.clone())],
        media: None,
        env: BTreeMap::from([(
            "YOUTUBE_OAUTH_TOKEN".to_string(),
            BEARER.trim_start_matches("Bearer ").to_string(),
        )]),
    })
    .await
    .expect("load youtube");

    let calls = [
        ("list_my_videos", json!({"max_results": 5})),
        (
            "set_privacy",
            json!({"video_id": "abcDEF12345", "privacy_status": "unlisted"}),
        ),
        (
            "update_metadata",
            json!({"video_id": "abcDEF12345", "title": "Conformance", "tags": ["a"]}),
        ),
        ("delete_video", json!({"video_id": "abcDEF12345"})),
    ];
    let mut methods = BTreeSet::new();
    for (operation, params) in calls {
        let (_, report) = run(
            &loaded.provider,
            operation,
            &params,
            Mode::Live,
            Profile::Write,
        )
        .await;
        assert!(!report.requests.is_empty(), "{operation}: no request");
        for r in &report.requests {
            match &r.decision {
                RequestDecision::Sent {
                    status: Some(s), ..
                } if (200..300).contains(s) => {
                    methods.insert(r.method.clone());
                }
                other => panic!(
                    "{operation}: Prism refused {} {}: {other:?}\nreport: {report:#?}\nprism log:\n{}",
                    r.method,
                    r.url,
                    prism.log_text()
                ),
            }
        }
        assert!(report.result.is_ok(), "{operation}: {:?}", report.result);
    }
    // Reads and all three kinds of write went through the spec check.
    assert_eq!(
        methods,
        BTreeSet::from(["GET".to_string(), "PUT".to_string(), "DELETE".to_string()])
    );

    // The check can fail: malformed requests are refused, the same request
    // well-formed is accepted.
    let auth = [("authorization", BEARER)];
    let (ok, text) = raw(
        prism.port,
        "DELETE",
        "/youtube/v3/videos?id=abcDEF12345",
        &auth,
        "",
    )
    .await;
    assert!((200..300).contains(&ok), "control request refused: {text}");
    let (status, text) = raw(prism.port, "DELETE", "/youtube/v3/videos", &auth, "").await;
    assert!(
        (400..500).contains(&status),
        "DELETE without the required id was accepted: {text}"
    );
    let (status, text) = raw(
        prism.port,
        "GET",
        "/youtube/v3/search?part=snippet&maxResults=500",
        &auth,
        "",
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "maxResults above the maximum was accepted: {text}"
    );
    let (status, text) = raw(
        prism.port,
        "GET",
        "/youtube/v3/channels?part=contentDetails&mine=true",
        &[],
        "",
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "a request without credentials was accepted: {text}"
    );
    let json_ct = [
        ("authorization", BEARER),
        ("content-type", "application/json"),
    ];
    let (status, text) = raw(
        prism.port,
        "PUT",
        "/youtube/v3/videos?part=status",
        &json_ct,
        r#"{"id": "abcDEF12345", "status": {"privacyStatus": "secret"}}"#,
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "an unknown privacyStatus was accepted: {text}"
    );
    let port = prism.port;
    drop(prism);
    // The whole process group is gone: nothing listens on the port any more.
    let mut closed = false;
    for _ in 0..40 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(closed, "Prism still listens on {port} after the test");
}
