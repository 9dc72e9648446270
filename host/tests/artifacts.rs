//! The artifact store: what plugins put is stored per action, and read back bounded,
//! redacted and streamed, through cap-std so no name or link leads outside the store.
//!
//! Library level (the HTTP route is built on [`ArtifactStore::open`]); the last tests run
//! real guests through a [`Host`] to show a dry-run and a live tier-A run leave their
//! artifacts in the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autopack_host::artifacts::{
    ArtifactMeta, ArtifactStore, CHUNK_BYTES, DEFAULT_READ_CAP, ReadOptions,
};
use autopack_host::config::HostConfig;
use autopack_host::governance::{ActionId, Timestamp};
use autopack_host::ledger::ActionStatus;
use autopack_host::runtime::{Runtime, RuntimeOptions};
use autopack_host::sandbox::journal::{Artifact, JournalLimits, SharedJournal};
use autopack_host::secrets::Redactor;
use autopack_host::service::{Actor, AuthMethod, Host, ProposeRequest, StartOptions, TestClock};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A secret value: long enough to be redacted, unchanged by JSON, URLs and headers.
const CANARY: &str = "canary-s3cr3t-7f3a9c2e41d8b6";

fn redactor() -> Redactor {
    Redactor::new([("TOKEN".to_string(), CANARY.to_string())])
}

fn id(n: u32) -> ActionId {
    format!("act_01J9Z3K4W5X6Y7Z8A9B0C{n:05}").parse().unwrap()
}

fn artifact(name: &str, content_type: &str, data: &[u8]) -> Artifact {
    Artifact {
        name: name.into(),
        content_type: content_type.into(),
        data: data.to_vec(),
        size: data.len(),
    }
}

/// A store in a fresh temp dir (`<tmp>/data/artifacts`) and that temp dir.
fn store() -> (tempfile::TempDir, ArtifactStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::in_data_dir(&dir.path().join("data"));
    (dir, store)
}

/// Opens and reads a whole body; checks the body is exactly what the metadata announced.
async fn read(
    store: &ArtifactStore,
    action: &ActionId,
    name: &str,
    opts: ReadOptions,
) -> (ArtifactMeta, Vec<u8>) {
    let mut r = store.open(action, name, opts).await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = r.body.next_chunk().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(body.len() as u64, r.meta.returned_bytes, "{:?}", r.meta);
    (r.meta, body)
}

#[tokio::test]
async fn stored_artifacts_are_listed_and_read_back() {
    let (dir, store) = store();
    let a = id(1);
    let n = store
        .store(
            &a,
            vec![
                artifact("report.json", "application/json", br#"{"ok": true}"#),
                artifact("b.bin", "bad\r\ntype", &[0, 1, 2]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let list = store.list(&a).await.unwrap();
    let names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["b.bin", "report.json"]);
    assert_eq!(list[0].content_type, "application/octet-stream");
    assert_eq!(list[1].size, 12);
    assert_eq!(list[1].sha256.len(), 64);

    let (meta, body) = read(&store, &a, "report.json", ReadOptions::default()).await;
    assert_eq!(body, br#"{"ok": true}"#);
    assert_eq!(
        meta,
        ArtifactMeta {
            name: "report.json".into(),
            content_type: "application/json".into(),
            total_bytes: 12,
            kept_bytes: 12,
            truncated: false,
            redacted: false,
            returned_bytes: 12,
        }
    );

    // Layout: the bytes under their name, a sidecar per artifact, no temp file left.
    let on_disk = dir.path().join("data/artifacts").join(a.as_str());
    let mut files: Vec<String> = std::fs::read_dir(&on_disk)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ".b.bin.meta.json",
            ".report.json.meta.json",
            "b.bin",
            "report.json"
        ]
    );

    // Storing again replaces the file whole.
    store
        .store(&a, vec![artifact("report.json", "text/plain", b"v2")])
        .await
        .unwrap();
    let (meta, body) = read(&store, &a, "report.json", ReadOptions::default()).await;
    assert_eq!(
        (meta.content_type.as_str(), body.as_slice()),
        ("text/plain", &b"v2"[..])
    );
}

#[tokio::test]
async fn a_store_creates_nothing_until_used_and_missing_is_not_found() {
    let (dir, store) = store();
    let err = store
        .open(&id(1), "x.txt", ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("artifact_not_found", 404));
    assert!(store.list(&id(1)).await.unwrap().is_empty());
    assert!(store.store(&id(1), Vec::new()).await.unwrap() == 0);
    assert!(!dir.path().join("data").exists());

    store
        .store(&id(1), vec![artifact("a.txt", "text/plain", b"a")])
        .await
        .unwrap();
    for (action, name) in [(id(1), "b.txt"), (id(2), "a.txt")] {
        let err = store
            .open(&action, name, ReadOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "artifact_not_found");
    }
    // A file without its sidecar is an unfinished write: not found, not listed.
    let action_dir = dir.path().join("data/artifacts").join(id(1).as_str());
    std::fs::write(action_dir.join("orphan.txt"), "x").unwrap();
    let err = store
        .open(&id(1), "orphan.txt", ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "artifact_not_found");
    assert_eq!(store.list(&id(1)).await.unwrap().len(), 1);
    // A damaged sidecar is reported as such.
    std::fs::write(action_dir.join(".a.txt.meta.json"), "{").unwrap();
    let err = store
        .open(&id(1), "a.txt", ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("artifact_corrupt", 500));
}

/// A canary file next to the store that no read may ever return.
fn plant_outside(dir: &Path) -> PathBuf {
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), format!("outside {CANARY}")).unwrap();
    outside
}

#[tokio::test]
async fn traversal_names_are_refused() {
    let (dir, store) = store();
    plant_outside(dir.path());
    let a = id(1);
    store
        .store(&a, vec![artifact("ok.txt", "text/plain", b"ok")])
        .await
        .unwrap();
    let long = "n".repeat(129);
    let names = [
        "..",
        ".",
        "../x",
        "../../outside/secret.txt",
        "..%2f..%2foutside%2fsecret.txt",
        "%2e%2e%2f",
        "%2e%2e%2foutside%2fsecret.txt",
        "%2E%2E%2F",
        "..%5c",
        "%252e%252e%252f",
        "/etc/passwd",
        "/abs",
        "\\\\server\\share",
        "C:\\Windows\\win.ini",
        "C:x",
        "a/b",
        "a\\b",
        "..\\x",
        "ok.txt/",
        "./ok.txt",
        ".hidden",
        ".ok.txt.meta.json",
        "",
        "x\0y",
        long.as_str(),
        "caf\u{e9}.txt",
        "ok.txt\n",
    ];
    for name in names {
        let err = store
            .open(&a, name, ReadOptions::default())
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("invalid_artifact_name", 400),
            "{name:?}"
        );
    }
    // The same names are refused when storing, and nothing is written.
    for name in ["../x", "/abs", "%2e%2e%2fx"] {
        let err = store
            .store(&id(2), vec![artifact(name, "text/plain", b"x")])
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_artifact_name", "{name:?}");
    }
    assert!(
        !dir.path()
            .join("data/artifacts")
            .join(id(2).as_str())
            .exists()
    );
    assert!(!dir.path().join("data/x").exists());
    // The control still reads.
    let (_, body) = read(&store, &a, "ok.txt", ReadOptions::default()).await;
    assert_eq!(body, b"ok");
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_in_the_store_are_not_followed() {
    use std::os::unix::fs::symlink;
    let (dir, store) = store();
    let outside = plant_outside(dir.path());
    let (a, b) = (id(1), id(2));
    store
        .store(&a, vec![artifact("real.txt", "text/plain", b"real")])
        .await
        .unwrap();
    store
        .store(&b, vec![artifact("other.txt", "text/plain", b"other")])
        .await
        .unwrap();
    let root = dir.path().join("data/artifacts");
    let adir = root.join(a.as_str());
    let sidecar = std::fs::read(adir.join(".real.txt.meta.json")).unwrap();
    // Each link has a genuine sidecar, so only the link itself stands in the way.
    let links = [
        ("abs.txt", outside.join("secret.txt")),
        ("rel.txt", PathBuf::from("../../../outside/secret.txt")),
        (
            "inner.txt",
            PathBuf::from("../").join(b.as_str()).join("other.txt"),
        ),
        ("dir.txt", PathBuf::from("../../../outside")),
    ];
    for (name, target) in &links {
        symlink(target, adir.join(name)).unwrap();
        std::fs::write(adir.join(format!(".{name}.meta.json")), &sidecar).unwrap();
    }
    // A sidecar that is a link, next to a real file.
    std::fs::write(adir.join("side.txt"), "side").unwrap();
    symlink(outside.join("secret.txt"), adir.join(".side.txt.meta.json")).unwrap();
    for (name, _) in &links {
        let err = store
            .open(&a, name, ReadOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "artifact_not_found", "{name}");
    }
    let err = store
        .open(&a, "side.txt", ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "artifact_not_found");
    let listed: Vec<_> = store
        .list(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(listed, ["real.txt"]);

    // An action directory that is a link to a directory outside the store.
    std::fs::write(outside.join(".secret.txt.meta.json"), &sidecar).unwrap();
    let c = id(3);
    symlink(&outside, root.join(c.as_str())).unwrap();
    let err = store
        .open(&c, "secret.txt", ReadOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "artifact_not_found");
    assert!(store.list(&c).await.unwrap().is_empty());
    // Storing into it does not write through the link either.
    assert!(
        store
            .store(&c, vec![artifact("w.txt", "text/plain", b"w")])
            .await
            .is_err()
    );
    assert!(!outside.join("w.txt").exists());

    // A FIFO (whose open would block) with a genuine sidecar is not opened.
    let fifo = adir.join("fifo.txt");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        std::fs::write(adir.join(".fifo.txt.meta.json"), &sidecar).unwrap();
        let err = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            store.open(&a, "fifo.txt", ReadOptions::default()),
        )
        .await
        .expect("opening a FIFO must not block")
        .unwrap_err();
        assert_eq!(err.code(), "artifact_not_found");
    }

    // The genuine artifact is still there.
    let (_, body) = read(&store, &a, "real.txt", ReadOptions::default()).await;
    assert_eq!(body, b"real");
}

#[tokio::test]
async fn a_file_shrunk_behind_the_store_ends_the_body_with_an_error() {
    let (dir, store) = store();
    let a = id(1);
    let size = 3 * CHUNK_BYTES;
    store
        .store(
            &a,
            vec![artifact(
                "d.bin",
                "application/octet-stream",
                &vec![1; size],
            )],
        )
        .await
        .unwrap();
    let mut r = store
        .open(&a, "d.bin", ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(r.meta.returned_bytes, size as u64);
    // The store only ever renames; someone else edits the file in place.
    std::fs::OpenOptions::new()
        .write(true)
        .open(
            dir.path()
                .join("data/artifacts")
                .join(a.as_str())
                .join("d.bin"),
        )
        .unwrap()
        .set_len(1000)
        .unwrap();
    let (mut got, mut failed) = (0, false);
    while let Some(chunk) = r.body.next_chunk().await {
        match chunk {
            Ok(b) => got += b.len(),
            Err(e) => {
                assert!(e.to_string().contains("changed"), "{e}");
                failed = true;
            }
        }
    }
    assert!(failed && got < size, "{got}");
}

#[tokio::test]
async fn a_sparse_gigabyte_file_is_cut_and_streamed_in_small_chunks() {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    let (dir, store) = store();
    let a = id(1);
    store
        .store(
            &a,
            vec![artifact("big.bin", "application/octet-stream", b"x")],
        )
        .await
        .unwrap();
    let path = dir
        .path()
        .join("data/artifacts")
        .join(a.as_str())
        .join("big.bin");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(GIB)
        .unwrap();

    // A small read of a file far bigger than memory would like.
    let (meta, body) = read(
        &store,
        &a,
        "big.bin",
        ReadOptions::new(redactor()).max_bytes(1000),
    )
    .await;
    assert_eq!(
        (
            meta.total_bytes,
            meta.kept_bytes,
            meta.truncated,
            meta.redacted
        ),
        (GIB, 1000, true, false)
    );
    assert_eq!(body.len(), 1000);
    assert_eq!(body[0], b'x');

    // Asking for more than the server allows gets the cap.
    let r = store
        .open(&a, "big.bin", ReadOptions::default().max_bytes(2 * GIB))
        .await
        .unwrap();
    assert_eq!(r.meta.kept_bytes, DEFAULT_READ_CAP);
    drop(r);

    // A few hundred MiB streamed through: counted, never held. Each chunk comes from at
    // most CHUNK_BYTES of the file (plus the look-ahead a secret cut by a chunk needs).
    let big = store.clone().with_read_cap(512 * MIB);
    let want = 300 * MIB;
    let mut r = big
        .open(&a, "big.bin", ReadOptions::new(redactor()).max_bytes(want))
        .await
        .unwrap();
    assert_eq!(
        (r.meta.kept_bytes, r.meta.returned_bytes, r.meta.truncated),
        (want, want, true)
    );
    let (mut total, mut chunks, mut largest) = (0u64, 0u64, 0usize);
    while let Some(chunk) = r.body.next_chunk().await {
        let chunk = chunk.unwrap();
        largest = largest.max(chunk.len());
        total += chunk.len() as u64;
        chunks += 1;
    }
    assert_eq!(total, want);
    assert!(largest <= CHUNK_BYTES + CANARY.len(), "{largest}");
    assert!(chunks >= want / (CHUNK_BYTES as u64 + CANARY.len() as u64));
}

/// A text with a secret across the first chunk boundary and a sensitive value across the
/// second: neither survives, however the reads fall.
fn boundary_text() -> String {
    let chunk = CHUNK_BYTES;
    let mut t = "a".repeat(chunk - 10);
    t.push_str(CANARY); // bytes chunk-10 .. chunk+18
    t.push('\n');
    let pad = 2 * chunk - 6 - t.len() - r#"{"password": ""#.len();
    t.push_str(&"b".repeat(pad));
    t.push_str(r#"{"password": "hunter2-hunter2", "user": "bob"}"#);
    t.push_str("\nGET /x?api_key=abcdef123&page=2\n");
    t
}

#[tokio::test]
async fn redaction_holds_across_chunk_boundaries() {
    let (_dir, store) = store();
    let a = id(1);
    let text = boundary_text();
    assert!(text[..CHUNK_BYTES].ends_with(&CANARY[..10]));
    assert!(text[..2 * CHUNK_BYTES].ends_with("hunter"));
    store
        .store(&a, vec![artifact("log.txt", "text/plain", text.as_bytes())])
        .await
        .unwrap();
    let (meta, body) = read(&store, &a, "log.txt", ReadOptions::new(redactor())).await;
    let out = String::from_utf8(body).unwrap();
    assert!(meta.redacted && !meta.truncated);
    assert!(!out.contains(CANARY) && !out.contains("canary"));
    assert!(!out.contains("hunter") && !out.contains("abcdef"));
    assert!(out.contains("a[REDACTED:TOKEN]\n"));
    assert!(out.contains(r#"{"password": "[REDACTED]", "user": "bob"}"#));
    assert!(out.contains("api_key=[REDACTED]&page=2"));
    let expected = text
        .replace(CANARY, "[REDACTED:TOKEN]")
        .replace("hunter2-hunter2", "[REDACTED]")
        .replace("abcdef123", "[REDACTED]");
    assert_eq!(out, expected);

    // Without the secret list, sensitive keys are still redacted; the secret is not known.
    let (meta, body) = read(&store, &a, "log.txt", ReadOptions::default()).await;
    let out = String::from_utf8(body).unwrap();
    assert!(meta.redacted && out.contains(CANARY) && !out.contains("hunter"));

    // A cut inside the secret or the sensitive value never shows part of it.
    for cut in [CHUNK_BYTES - 5, CHUNK_BYTES + 3, 2 * CHUNK_BYTES - 2] {
        let (meta, body) = read(
            &store,
            &a,
            "log.txt",
            ReadOptions::new(redactor()).max_bytes(cut as u64),
        )
        .await;
        let out = String::from_utf8(body).unwrap();
        assert!(meta.truncated && meta.redacted, "{cut}");
        assert!(!out.contains("canary") && !out.contains("hunter"), "{cut}");
        assert!(
            out.ends_with("[REDACTED:TOKEN]") || out.ends_with("[REDACTED]"),
            "{cut}"
        );
    }
}

#[tokio::test]
async fn the_journal_redacts_secrets_before_they_are_stored() {
    let (dir, store) = store();
    let journal = SharedJournal::new(
        JournalLimits {
            max_log_bytes: 1024,
            max_artifacts: 4,
            max_artifact_bytes: 4096,
        },
        redactor(),
    );
    let data = format!(r#"{{"echo": "Bearer {CANARY}"}}"#);
    journal
        .put_artifact("echo.json", "application/json", data.as_bytes())
        .unwrap()
        .unwrap();
    let a = id(1);
    store.store(&a, journal.take().artifacts).await.unwrap();
    let raw = std::fs::read_to_string(
        dir.path()
            .join("data/artifacts")
            .join(a.as_str())
            .join("echo.json"),
    )
    .unwrap();
    assert_eq!(raw, r#"{"echo": "Bearer [REDACTED:TOKEN]"}"#);
}

#[tokio::test]
async fn reads_are_deterministic() {
    let (_dir, store) = store();
    let a = id(1);
    let text = boundary_text();
    store
        .store(&a, vec![artifact("log.txt", "text/plain", text.as_bytes())])
        .await
        .unwrap();
    for max in [
        None,
        Some(100),
        Some(CHUNK_BYTES as u64 + 1),
        Some(2 * CHUNK_BYTES as u64),
    ] {
        let opts = || ReadOptions {
            max_bytes: max,
            redactor: redactor(),
        };
        let first = read(&store, &a, "log.txt", opts()).await;
        let second = read(&store, &a, "log.txt", opts()).await;
        assert_eq!(first, second, "{max:?}");
    }
}

#[tokio::test]
async fn text_is_cut_on_a_character_boundary_and_binary_where_asked() {
    let (_dir, store) = store();
    let a = id(1);
    let text = "h\u{e9}llo w\u{f6}rld \u{1F600}\u{1F600} \u{4E2D}\u{6587}";
    store
        .store(
            &a,
            vec![
                artifact("t.txt", "text/plain; charset=utf-8", text.as_bytes()),
                artifact("t.json", "application/json", text.as_bytes()),
                artifact("t.bin", "application/octet-stream", text.as_bytes()),
            ],
        )
        .await
        .unwrap();
    for max in 0..=text.len() as u64 + 1 {
        for name in ["t.txt", "t.json"] {
            let (meta, body) = read(&store, &a, name, ReadOptions::default().max_bytes(max)).await;
            let s = String::from_utf8(body).unwrap_or_else(|e| panic!("{name} {max}: {e}"));
            assert!(text.starts_with(&s), "{name} {max}");
            assert!(max - s.len() as u64 <= 3 || s.len() == text.len());
            assert_eq!(meta.kept_bytes, s.len() as u64);
            assert_eq!(meta.truncated, s.len() < text.len());
        }
        let (meta, body) = read(&store, &a, "t.bin", ReadOptions::default().max_bytes(max)).await;
        assert_eq!(body.len() as u64, max.min(text.len() as u64));
        assert_eq!(meta.kept_bytes, body.len() as u64);
    }
    let (_, body) = read(&store, &a, "t.txt", ReadOptions::default().max_bytes(2)).await;
    assert_eq!(body, b"h");
}

#[tokio::test]
async fn max_bytes_is_capped_by_the_server_cap() {
    let (_dir, store) = store();
    let store = store.with_read_cap(10);
    assert_eq!(store.read_cap(), 10);
    let a = id(1);
    store
        .store(
            &a,
            vec![artifact("d.bin", "application/octet-stream", &[7; 100])],
        )
        .await
        .unwrap();
    for max in [None, Some(11), Some(u64::MAX)] {
        let opts = ReadOptions {
            max_bytes: max,
            redactor: Redactor::default(),
        };
        let (meta, body) = read(&store, &a, "d.bin", opts).await;
        assert_eq!(
            (meta.kept_bytes, meta.total_bytes, body.len()),
            (10, 100, 10)
        );
    }
    let (meta, body) = read(&store, &a, "d.bin", ReadOptions::default().max_bytes(4)).await;
    assert_eq!((meta.kept_bytes, body.len()), (4, 4));
}

#[tokio::test]
async fn the_body_is_an_axum_stream() {
    use http_body_util::BodyExt;
    let (_dir, store) = store();
    let a = id(1);
    let text = boundary_text();
    store
        .store(&a, vec![artifact("log.txt", "text/plain", text.as_bytes())])
        .await
        .unwrap();
    let r = store
        .open(&a, "log.txt", ReadOptions::new(redactor()))
        .await
        .unwrap();
    let len = r.meta.returned_bytes;
    let body = axum::body::Body::from_stream(r.body);
    let bytes = body.collect().await.unwrap().to_bytes();
    assert_eq!(bytes.len() as u64, len);
    assert!(!String::from_utf8_lossy(&bytes).contains(CANARY));
}

// ------------------------------------------------------------ the service stores artifacts

fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Arc::new(
                Runtime::new(&RuntimeOptions {
                    pooling: false,
                    max_instances: 32,
                    cache_dir: Some(
                        Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts-compile-cache"),
                    ),
                })
                .unwrap(),
            )
        })
        .clone()
}

const POLICY: &str = r#"
project = "demo"
approvals_required = 1
approval_lifetime = "1h"

[domains.wellbehaved]
operations = ["imports"]

[domains.hostile_artifacts]
operations = ["bad_name"]
"#;

/// A host with the well-behaved guest (its `greeting` setting is the secret, so the
/// artifact it writes carries it) and the artifact-abusing guest.
async fn host(dir: &Path) -> Host {
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("policies/demo.toml"), POLICY).unwrap();
    let origin = "http://127.0.0.1:9";
    let text = format!(
        r#"
data_dir = "{data}"
database_url = "sqlite://{data}/autopack.db"
policies_dir = "{policies}"

[[providers]]
domain = "wellbehaved"
component = "{wellbehaved}"
origins = ["{origin}"]
settings = {{ target = "{origin}", greeting = "hello {CANARY}" }}

[[providers.credentials]]
origin = "{origin}"
header = "authorization"
value = "Bearer {{WELLBEHAVED_TOKEN}}"

[[providers]]
domain = "hostile_artifacts"
component = "{hostile}"
"#,
        data = dir.join("data").display(),
        policies = dir.join("policies").display(),
        wellbehaved = autopack_test_artifacts::GUEST_WELLBEHAVED,
        hostile = autopack_test_artifacts::HOSTILE_ARTIFACTS,
    );
    let file = dir.join("autopack-host.toml");
    std::fs::write(&file, text).unwrap();
    let config = HostConfig::load(&file).unwrap();
    let env = BTreeMap::from([("WELLBEHAVED_TOKEN".to_string(), CANARY.to_string())]);
    Host::start_with(
        &config,
        &env,
        Arc::new(TestClock::new(Timestamp(1_767_625_200))),
        StartOptions {
            instance_id: Some("artifacts-test".into()),
            runtime: Some(runtime()),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap()
}

fn pat() -> Actor {
    Actor::new("pat".parse().unwrap(), AuthMethod::Test)
}

/// Reads `report.json` of `action` and checks what the well-behaved guest wrote.
async fn check_report(host: &Host, dir: &Path, action: &ActionId) {
    let listed = host.artifacts().list(action).await.unwrap();
    let names: Vec<_> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["report.json"]);
    let provider = host.provider(&"wellbehaved".parse().unwrap()).unwrap();
    let (meta, body) = read(
        host.artifacts(),
        action,
        "report.json",
        ReadOptions::new(provider.redactor().clone()),
    )
    .await;
    assert_eq!(meta.content_type, "application/json");
    let report: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["context"]["action_id"], json!(action.as_str()));
    // The secret was replaced before storage (I9): not on disk, not in the read.
    assert_eq!(
        report["greeting"],
        json!("hello [REDACTED:WELLBEHAVED_TOKEN]")
    );
    let raw = std::fs::read_to_string(
        dir.join("data/artifacts")
            .join(action.as_str())
            .join("report.json"),
    )
    .unwrap();
    assert!(!raw.contains(CANARY));
}

#[tokio::test]
async fn a_dry_run_leaves_its_artifacts_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    assert_eq!(
        host.artifacts().path(),
        dir.path().join("data/artifacts").as_path()
    );
    let a = host
        .propose(
            &pat(),
            ProposeRequest::new("demo", "wellbehaved", "imports", json!({})),
        )
        .await
        .unwrap()
        .action;
    assert_eq!(a.status, ActionStatus::Previewed);
    check_report(&host, dir.path(), &a.id).await;
}

#[tokio::test]
async fn a_live_tier_a_run_leaves_its_artifacts_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    for scope in ["global", "wellbehaved"] {
        host.set_switch(&pat(), scope, true, "test").await.unwrap();
    }
    let a = host
        .propose(
            &pat(),
            ProposeRequest::new("demo", "wellbehaved", "imports", json!({})).live(),
        )
        .await
        .unwrap()
        .action;
    assert_eq!(a.status, ActionStatus::Succeeded);
    check_report(&host, dir.path(), &a.id).await;
}

#[tokio::test]
async fn hostile_names_store_nothing_outside_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path()).await;
    let a = host
        .propose(
            &pat(),
            ProposeRequest::new("demo", "hostile_artifacts", "bad_name", json!({})),
        )
        .await
        .unwrap()
        .action;
    assert_eq!(a.status, ActionStatus::Previewed);
    let listed = host.artifacts().list(&a.id).await.unwrap();
    let names: Vec<_> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ok-name_1.txt"]);
    // The whole store holds that one artifact and its sidecar, nothing else.
    let mut found = Vec::new();
    let mut stack = vec![dir.path().join("data/artifacts")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p.strip_prefix(dir.path()).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    let base = Path::new("data/artifacts").join(a.id.as_str());
    assert_eq!(
        found,
        [
            base.join(".ok-name_1.txt.meta.json"),
            base.join("ok-name_1.txt")
        ]
    );
}
