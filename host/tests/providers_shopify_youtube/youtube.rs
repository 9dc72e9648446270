//! The YouTube provider against a fake Data API v3 (`common/fake_youtube.rs`,
//! shared with the governance tests).

use crate::support::{
    Grant, Hit, Loaded, MATRIX, Recorder, assert_no_secret, assert_secret_only_in_header, ctx,
    load, outcome, provider_error, run,
};
use autopack_host::governance::{Effect, Mode, Tier};
use autopack_host::runtime::CallError;
use autopack_host::runtime::types::{Amount, Outcome, OutcomeStatus, ProviderError, SpendSource};
use autopack_host::sandbox::egress::Profile;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

pub use crate::common::fake_youtube::{
    CHANNEL, FOREIGN, Fail, TOKEN, Tube, UPLOADS, VIDEO, test_video, youtube,
};

/// The default input file and its size.
pub const CLIP: &str = "clip.mp4";
const CLIP_LEN: usize = 48 * 1024 + 7;

/// A fake channel and the provider granted its origin, with `media/clip.mp4`.
pub async fn setup_with(
    settings: Vec<(&'static str, String)>,
    files: Vec<(&'static str, Vec<u8>)>,
) -> (Recorder<Tube>, Loaded) {
    let fake = Recorder::start(Tube::new(), youtube).await;
    fake.state().origin.set(fake.origin()).expect("origin");
    let mut s = vec![("base_url", fake.origin())];
    s.extend(settings);
    let loaded = load(Grant {
        domain: "youtube",
        component: autopack_test_artifacts::AUTOPACK_YOUTUBE,
        origins: vec![fake.origin()],
        graphql_read_paths: vec![],
        credentials: vec![(
            fake.origin(),
            "Authorization",
            "Bearer {YOUTUBE_OAUTH_TOKEN}",
        )],
        settings: s,
        media: Some(files),
        env: BTreeMap::from([("YOUTUBE_OAUTH_TOKEN".to_string(), TOKEN.to_string())]),
    })
    .await
    .expect("load youtube");
    (fake, loaded)
}

/// [`setup_with`] with no extra settings and the default clip.
pub async fn setup() -> (Recorder<Tube>, Loaded) {
    setup_with(vec![], vec![(CLIP, test_video(CLIP_LEN))]).await
}

fn quota(n: i64) -> Option<Amount> {
    Some(Amount {
        minor_units: n,
        unit: "YT_QUOTA".into(),
    })
}

/// What one write operation must do in each mode and profile.
struct Expect {
    /// `METHOD /path` of the reads it makes first (in every mode).
    reads: &'static [&'static str],
    /// `METHOD /path` of its writes (live + write profile only).
    writes: &'static [&'static str],
    /// Quota spent live.
    live_spend: i64,
}

/// Runs a write operation in the four combinations. Returns the dry-run's
/// `would_send`. `live` checks the live outcome and the fake's requests.
async fn matrix(
    fake: &Recorder<Tube>,
    loaded: &Loaded,
    operation: &str,
    params: Value,
    expect: Expect,
    live: impl Fn(&Outcome, &[Hit]),
) -> Value {
    let mut would_send = Value::Null;
    for (mode, profile) in MATRIX {
        fake.clear();
        let (validated, report) = run(&loaded.provider, operation, &params, mode, profile).await;
        assert_no_secret(&validated, &[TOKEN]);
        assert_no_secret(&report, &[TOKEN]);
        let at = format!("{operation} {mode:?} {profile:?}");
        let hits = fake.hits();
        let keys: Vec<String> = hits.iter().map(Hit::key).collect();
        assert_secret_only_in_header(&hits, TOKEN, "authorization", &format!("Bearer {TOKEN}"));
        match (mode, profile) {
            (Mode::DryRun, _) => {
                let o = outcome(&report);
                assert_eq!(o.status, OutcomeStatus::Previewed, "{at}");
                assert_eq!(keys, expect.reads, "{at}: dry-run made only its reads");
                assert!(
                    report.attempted_writes().next().is_none(),
                    "{at}: dry-run tried a write"
                );
                assert_eq!(o.spend, None, "{at}");
                assert_eq!(o.data["dry_run"], true, "{at}");
                would_send = o.data["would_send"].clone();
            }
            (Mode::Live, Profile::ReadOnly) => {
                // The reads pass, the first write is refused by the host.
                let e = provider_error(&report);
                assert!(matches!(e, ProviderError::Denied { .. }), "{at}: {e:?}");
                assert_eq!(keys, expect.reads, "{at}");
                let denied: Vec<_> = report.attempted_writes().collect();
                assert_eq!(denied.len(), 1, "{at}: {denied:?}");
            }
            (Mode::Live, _) => {
                let o = outcome(&report);
                assert_eq!(o.status, OutcomeStatus::Completed, "{at}");
                let mut want: Vec<&str> = expect.reads.to_vec();
                want.extend(expect.writes);
                assert_eq!(keys, want, "{at}: each write arrives exactly once");
                assert_eq!(o.spend, quota(expect.live_spend), "{at}");
                live(o, &hits);
            }
        }
    }
    would_send
}

#[tokio::test]
async fn youtube_describe_defaults_to_googleapis_and_declares_quota() {
    let loaded = load(Grant {
        domain: "youtube",
        component: autopack_test_artifacts::AUTOPACK_YOUTUBE,
        origins: vec!["https://www.googleapis.com".into()],
        graphql_read_paths: vec![],
        credentials: vec![(
            "https://www.googleapis.com".into(),
            "Authorization",
            "Bearer {YOUTUBE_OAUTH_TOKEN}",
        )],
        settings: vec![],
        media: None,
        env: BTreeMap::from([("YOUTUBE_OAUTH_TOKEN".to_string(), TOKEN.to_string())]),
    })
    .await
    .expect("load");
    let info = loaded.provider.info();
    assert_eq!(info.domain, "youtube");
    assert_eq!(info.origins, vec!["https://www.googleapis.com"]);
    assert_eq!(info.secrets, vec!["YOUTUBE_OAUTH_TOKEN"]);
    assert_eq!(
        info.settings,
        vec!["base_url", "channel_id", "upload_chunk_bytes"]
    );
    let ops: Vec<(&str, Effect, Tier, SpendSource)> = info
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.effect, o.tier, o.spend.clone()))
        .collect();
    let fixed = |n| SpendSource::Fixed {
        amount: Amount {
            minor_units: n,
            unit: "YT_QUOTA".into(),
        },
    };
    assert_eq!(
        ops,
        vec![
            ("list_my_videos", Effect::Read, Tier::A, fixed(2)),
            ("upload_video", Effect::Draft, Tier::B, fixed(1600)),
            ("set_privacy", Effect::Publish, Tier::C, fixed(51)),
            ("update_metadata", Effect::Modify, Tier::C, fixed(51)),
            ("delete_video", Effect::Delete, Tier::C, fixed(51)),
        ]
    );
    for op in &info.operations {
        let s = &op.params_schema;
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            op.name
        );
        assert_eq!(s["additionalProperties"], false, "{}", op.name);
    }
    // A dry-run of a write needs no network and names the real endpoint.
    // (The upload preview reads the file, which this config has no dir for.)
    let (_, report) = run(
        &loaded.provider,
        "upload_video",
        &json!({"file": CLIP, "title": "t"}),
        Mode::DryRun,
        Profile::ReadOnly,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Denied { message } if message.contains("input dir `media`")),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_validate_names_the_bad_field() {
    let (_fake, loaded) = setup().await;
    let cases: &[(&str, Value, &str)] = &[
        ("list_my_videos", json!({"max_results": 0}), "/max_results"),
        ("list_my_videos", json!({"max_results": 51}), "/max_results"),
        (
            "list_my_videos",
            json!({"page_token": "a b"}),
            "/page_token",
        ),
        ("list_my_videos", json!({"channel": "x"}), "/channel"),
        ("upload_video", json!({"title": "t"}), "/file"),
        (
            "upload_video",
            json!({"file": "../etc/passwd", "title": "t"}),
            "/file",
        ),
        (
            "upload_video",
            json!({"file": "a/b.mp4", "title": "t"}),
            "/file",
        ),
        ("upload_video", json!({"file": "clip.mp4"}), "/title"),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "x".repeat(101)}),
            "/title",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "a <b>"}),
            "/title",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "description": "<script>"}),
            "/description",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "tags": ["ok", ""]}),
            "/tags/1",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "category_id": "music"}),
            "/category_id",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "made_for_kids": "no"}),
            "/made_for_kids",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "sha256": "ABC"}),
            "/sha256",
        ),
        (
            "upload_video",
            json!({"file": "clip.mp4", "title": "t", "privacy_status": "public"}),
            "/privacy_status",
        ),
        ("set_privacy", json!({"video_id": VIDEO}), "/privacy_status"),
        (
            "set_privacy",
            json!({"video_id": VIDEO, "privacy_status": "secret"}),
            "/privacy_status",
        ),
        (
            "set_privacy",
            json!({"video_id": "short", "privacy_status": "public"}),
            "/video_id",
        ),
        (
            "update_metadata",
            json!({"video_id": VIDEO, "title": ""}),
            "/title",
        ),
        ("update_metadata", json!({"video_id": VIDEO}), ""),
        (
            "delete_video",
            json!({"video_id": "abc/DEF1234"}),
            "/video_id",
        ),
    ];
    for (op, params, field) in cases {
        let report = loaded
            .provider
            .validate(&ctx(Mode::DryRun), op, &params.to_string())
            .await;
        match &report.result {
            Err(CallError::Provider(ProviderError::InvalidParams { field: f, .. })) => {
                assert_eq!(f, field, "{op} {params}")
            }
            other => panic!("{op} {params}: expected invalid params at `{field}`, got {other:?}"),
        }
        assert!(
            loaded.provider.check_params(op, params).is_err(),
            "{op} {params}: the schema accepts what validate refuses"
        );
    }
}

#[tokio::test]
async fn youtube_validate_normalizes_and_declares_quota() {
    let (_fake, loaded) = setup().await;
    let cases: &[(&str, Value, Value, i64)] = &[
        ("list_my_videos", json!({}), json!({"max_results": 25}), 2),
        (
            "upload_video",
            json!({"file": CLIP, "title": "  Launch  "}),
            json!({"file": CLIP, "title": "Launch", "description": "", "tags": [], "category_id": "22", "made_for_kids": false}),
            1600,
        ),
        (
            "set_privacy",
            json!({"video_id": VIDEO, "privacy_status": "public"}),
            json!({"video_id": VIDEO, "privacy_status": "public"}),
            51,
        ),
        (
            "update_metadata",
            json!({"video_id": VIDEO, "title": "New"}),
            json!({"video_id": VIDEO, "title": "New"}),
            51,
        ),
        (
            "delete_video",
            json!({"video_id": VIDEO}),
            json!({"video_id": VIDEO}),
            51,
        ),
    ];
    for (op, params, want, units) in cases {
        let report = loaded
            .provider
            .validate(&ctx(Mode::Live), op, &params.to_string())
            .await;
        let v = report
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(&v.params, want, "{op}");
        assert_eq!(v.spend, quota(*units), "{op}");
    }
}

#[tokio::test]
async fn youtube_list_my_videos_reads_in_every_mode_and_profile() {
    let (fake, loaded) = setup().await;
    for (mode, profile) in MATRIX {
        fake.clear();
        let (_, report) = run(
            &loaded.provider,
            "list_my_videos",
            &json!({"max_results": 10}),
            mode,
            profile,
        )
        .await;
        assert_no_secret(&report, &[TOKEN]);
        let o = outcome(&report);
        assert_eq!(o.status, OutcomeStatus::Completed, "{mode:?} {profile:?}");
        assert_eq!(o.external_ref.as_deref(), Some(CHANNEL));
        assert_eq!(o.data["uploads_playlist_id"], UPLOADS);
        assert_eq!(
            o.data["videos"],
            json!([{"video_id": VIDEO, "title": "First video",
            "published_at": "2026-05-01T10:00:00Z", "privacy_status": "private"}])
        );
        let hits = fake.hits();
        let keys: Vec<String> = hits.iter().map(Hit::key).collect();
        assert_eq!(
            keys,
            vec!["GET /youtube/v3/channels", "GET /youtube/v3/playlistItems"]
        );
        assert_eq!(hits[0].param("mine").as_deref(), Some("true"));
        assert_eq!(hits[1].param("maxResults").as_deref(), Some("10"));
        assert_eq!(
            hits[1].param("part").as_deref(),
            Some("snippet,status,contentDetails")
        );
        assert_secret_only_in_header(&hits, TOKEN, "authorization", &format!("Bearer {TOKEN}"));
        assert_eq!(
            o.spend,
            (mode == Mode::Live).then(|| Amount {
                minor_units: 2,
                unit: "YT_QUOTA".into()
            })
        );
    }
}

#[tokio::test]
async fn youtube_list_my_videos_uses_the_configured_channel() {
    let (fake, loaded) = setup_with(vec![("channel_id", CHANNEL.into())], vec![]).await;
    let (_, report) = run(
        &loaded.provider,
        "list_my_videos",
        &json!({"page_token": "EAAaBlBUOkNBRQ"}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    outcome(&report);
    let hits = fake.hits();
    assert_eq!(hits[0].param("id").as_deref(), Some(CHANNEL));
    assert_eq!(hits[0].param("mine"), None);
    assert_eq!(
        hits[1].param("pageToken").as_deref(),
        Some("EAAaBlBUOkNBRQ")
    );
}

#[tokio::test]
async fn youtube_upload_video_every_mode_and_profile() {
    let (fake, loaded) = setup().await;
    let file = test_video(CLIP_LEN);
    let params = json!({"file": CLIP, "title": "Launch day", "description": "Our launch", "tags": ["launch", "demo"]});
    let would_send = matrix(
        &fake,
        &loaded,
        "upload_video",
        params,
        Expect {
            reads: &[],
            writes: &[
                "POST /upload/youtube/v3/videos",
                "PUT /upload/youtube/v3/videos",
            ],
            live_spend: 1600,
        },
        |o, hits| {
            let id = o.external_ref.clone().expect("video id");
            assert_eq!(o.data["privacy_status"], "private");
            let uploaded = fake.state().uploaded.lock().expect("uploaded").clone();
            let (got_id, bytes) = uploaded.last().expect("an upload");
            assert_eq!(got_id, &id);
            assert!(bytes == &file, "the uploaded bytes differ from the file");
            let init = &hits[0];
            assert_eq!(init.param("uploadType").as_deref(), Some("resumable"));
            assert_eq!(
                init.header("x-upload-content-length"),
                Some(file.len().to_string().as_str())
            );
            assert_eq!(init.header("x-upload-content-type"), Some("video/mp4"));
            assert_eq!(init.json()["status"]["privacyStatus"], "private");
            assert_eq!(
                hits[1].header("content-range"),
                Some(format!("bytes 0-{}/{}", file.len() - 1, file.len()).as_str())
            );
            assert_eq!(
                fake.state().video(&id).expect("video")["status"]["privacyStatus"],
                "private"
            );
        },
    )
    .await;
    // The preview is the exact request: URL, headers and metadata body.
    let post = &would_send[0];
    assert_eq!(post["method"], "POST");
    assert_eq!(
        post["url"],
        format!(
            "{}/upload/youtube/v3/videos?uploadType=resumable&part=snippet%2Cstatus",
            fake.origin()
        )
    );
    assert_eq!(
        post["headers"]["x-upload-content-length"],
        file.len().to_string()
    );
    assert_eq!(
        post["body"],
        json!({"snippet": {"title": "Launch day", "description": "Our launch", "tags": ["launch", "demo"], "categoryId": "22"},
               "status": {"privacyStatus": "private", "selfDeclaredMadeForKids": false}})
    );
    assert_eq!(would_send[1]["method"], "PUT");
    assert_eq!(would_send[1]["chunks"], 1);
    assert_eq!(
        fake.state().uploaded.lock().expect("uploaded").len(),
        1,
        "exactly one upload in four runs"
    );
}

#[tokio::test]
async fn youtube_upload_in_chunks_resumes_from_the_servers_range() {
    let file = test_video(600_000);
    let (fake, loaded) = setup_with(
        vec![("upload_chunk_bytes", "262144".into())],
        vec![("big.webm", file.clone())],
    )
    .await;
    // The server keeps only 100 000 bytes of the first chunk and says so with `Range`.
    fake.state().short_ack_once.store(true, Ordering::SeqCst);
    let (_, report) = run(
        &loaded.provider,
        "upload_video",
        &json!({"file": "big.webm", "title": "Big"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let o = outcome(&report);
    let ranges: Vec<String> = fake
        .hits()
        .iter()
        .filter(|h| h.method == "PUT")
        .map(|h| h.header("content-range").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        ranges,
        vec![
            "bytes 0-262143/600000",
            "bytes 100000-362143/600000",
            "bytes 362144-599999/600000",
        ]
    );
    assert_eq!(fake.hits()[1].header("content-type"), Some("video/webm"));
    let uploaded = fake.state().uploaded.lock().expect("uploaded").clone();
    assert_eq!(uploaded.len(), 1);
    assert!(
        uploaded[0].1 == file,
        "the uploaded bytes differ from the file"
    );
    assert_eq!(o.external_ref.as_deref(), Some(uploaded[0].0.as_str()));
    // The dry-run preview lists the same chunking.
    let (_, report) = run(
        &loaded.provider,
        "upload_video",
        &json!({"file": "big.webm", "title": "Big"}),
        Mode::DryRun,
        Profile::ReadOnly,
    )
    .await;
    let put = &outcome(&report).data["would_send"][1];
    assert_eq!(put["chunks"], 3);
    assert_eq!(put["content_range_last"], "bytes 524288-599999/600000");
}

#[tokio::test]
async fn youtube_upload_is_pinned_to_the_approved_sha256() {
    let (fake, loaded) = setup().await;
    let file = test_video(CLIP_LEN);
    let good = autopack_host::runtime::provider::sha256_hex(&file);
    let (_, report) = run(
        &loaded.provider,
        "upload_video",
        &json!({"file": CLIP, "title": "t", "sha256": good}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    outcome(&report);
    fake.clear();
    let bad = "0".repeat(64);
    for mode in [Mode::DryRun, Mode::Live] {
        let (_, report) = run(
            &loaded.provider,
            "upload_video",
            &json!({"file": CLIP, "title": "t", "sha256": bad}),
            mode,
            Profile::Write,
        )
        .await;
        let e = provider_error(&report);
        assert!(
            matches!(e, ProviderError::InvalidParams { field, message } if field == "/sha256" && message.contains("changed")),
            "{e:?}"
        );
    }
    assert!(
        fake.hits().is_empty(),
        "nothing is sent for a file that changed"
    );
}

#[tokio::test]
async fn youtube_upload_of_a_missing_file_is_invalid_params() {
    let (fake, loaded) = setup().await;
    for mode in [Mode::DryRun, Mode::Live] {
        let (_, report) = run(
            &loaded.provider,
            "upload_video",
            &json!({"file": "nope.mp4", "title": "t"}),
            mode,
            Profile::Write,
        )
        .await;
        let e = provider_error(&report);
        assert!(
            matches!(e, ProviderError::InvalidParams { field, .. } if field == "/file"),
            "{e:?}"
        );
    }
    assert!(fake.hits().is_empty());
}

#[tokio::test]
async fn youtube_upload_refuses_a_session_url_on_another_origin() {
    let (fake, loaded) = setup().await;
    fake.state().foreign_location.store(true, Ordering::SeqCst);
    let (_, report) = run(
        &loaded.provider,
        "upload_video",
        &json!({"file": CLIP, "title": "t"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Provider { code, .. } if code == "unexpected_upload_url"),
        "{e:?}"
    );
    let keys: Vec<String> = fake.hits().iter().map(Hit::key).collect();
    assert_eq!(
        keys,
        vec!["POST /upload/youtube/v3/videos"],
        "no bytes were sent"
    );
    assert!(report.requests.iter().all(|r| !r.url.contains("127.0.0.2")));
}

#[tokio::test]
async fn youtube_set_privacy_every_mode_and_profile() {
    let (fake, loaded) = setup().await;
    let would_send = matrix(
        &fake,
        &loaded,
        "set_privacy",
        json!({"video_id": VIDEO, "privacy_status": "public"}),
        Expect {
            reads: &["GET /youtube/v3/videos"],
            writes: &["PUT /youtube/v3/videos"],
            live_spend: 51,
        },
        |o, hits| {
            assert_eq!(o.data["from"], "private");
            assert_eq!(o.data["to"], "public");
            assert_eq!(hits[1].param("part").as_deref(), Some("status"));
            assert_eq!(
                fake.state().video(VIDEO).expect("video")["status"]["privacyStatus"],
                "public"
            );
        },
    )
    .await;
    // The preview keeps every other mutable status field as it was.
    let put = &would_send[0];
    assert_eq!(put["method"], "PUT");
    assert_eq!(
        put["url"],
        format!("{}/youtube/v3/videos?part=status", fake.origin())
    );
    assert_eq!(
        put["body"],
        json!({"id": VIDEO, "status": {"privacyStatus": "public", "embeddable": false, "license": "creativeCommon",
               "publicStatsViewable": true, "selfDeclaredMadeForKids": false}})
    );
}

#[tokio::test]
async fn youtube_set_privacy_to_the_current_status_writes_nothing() {
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "set_privacy",
        &json!({"video_id": VIDEO, "privacy_status": "private"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let o = outcome(&report);
    assert_eq!(o.data["changed"], false);
    assert_eq!(o.spend, quota(1));
    assert!(fake.writes().is_empty());
}

#[tokio::test]
async fn youtube_update_metadata_every_mode_and_profile() {
    let (fake, loaded) = setup().await;
    let would_send = matrix(
        &fake,
        &loaded,
        "update_metadata",
        json!({"video_id": VIDEO, "title": "Better title", "tags": ["new"]}),
        Expect {
            reads: &["GET /youtube/v3/videos"],
            writes: &["PUT /youtube/v3/videos"],
            live_spend: 51,
        },
        |o, _| {
            assert_eq!(o.data["snippet"]["title"], "Better title");
            let v = fake.state().video(VIDEO).expect("video");
            assert_eq!(
                v["snippet"]["description"], "Original description",
                "untouched fields survive"
            );
        },
    )
    .await;
    assert_eq!(
        would_send[0]["body"],
        json!({"id": VIDEO, "snippet": {"title": "Better title", "description": "Original description",
               "tags": ["new"], "categoryId": "27", "defaultLanguage": "en"}})
    );
}

#[tokio::test]
async fn youtube_delete_video_every_mode_and_profile() {
    let (fake, loaded) = setup().await;
    let would_send = matrix(
        &fake,
        &loaded,
        "delete_video",
        json!({"video_id": VIDEO}),
        Expect {
            reads: &["GET /youtube/v3/videos"],
            writes: &["DELETE /youtube/v3/videos"],
            live_spend: 51,
        },
        |o, hits| {
            assert_eq!(o.data["deleted"], true);
            assert_eq!(hits[1].param("id").as_deref(), Some(VIDEO));
            assert!(fake.state().video(VIDEO).is_none());
        },
    )
    .await;
    assert_eq!(would_send[0]["method"], "DELETE");
    assert_eq!(
        would_send[0]["url"],
        format!("{}/youtube/v3/videos?id={VIDEO}", fake.origin())
    );
}

#[tokio::test]
async fn youtube_refuses_a_video_of_another_channel() {
    let (fake, loaded) = setup_with(vec![("channel_id", CHANNEL.into())], vec![]).await;
    for op in ["delete_video", "set_privacy"] {
        let mut params = json!({"video_id": FOREIGN});
        if op == "set_privacy" {
            params["privacy_status"] = json!("private");
        }
        let (_, report) = run(&loaded.provider, op, &params, Mode::Live, Profile::Write).await;
        let e = provider_error(&report);
        assert!(
            matches!(e, ProviderError::Denied { message } if message.contains("UCsomeoneElse")),
            "{op}: {e:?}"
        );
    }
    assert!(fake.writes().is_empty());
}

/// Runs `delete_video` live with a forced failure; returns the error.
async fn failing(fail: Fail) -> ProviderError {
    let (fake, loaded) = setup().await;
    *fake.state().fail.lock().expect("fail") = Some(fail);
    let (_, report) = run(
        &loaded.provider,
        "delete_video",
        &json!({"video_id": VIDEO}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    assert_no_secret(&report, &[TOKEN]);
    provider_error(&report).clone()
}

#[tokio::test]
async fn youtube_http_401_is_unauthorized() {
    let e = failing(Fail {
        method: None,
        status: 401,
        reason: "authError",
        retry_after: None,
    })
    .await;
    assert!(
        matches!(&e, ProviderError::Unauthorized { message } if message.contains("401")),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_http_403_forbidden_is_unauthorized() {
    let e = failing(Fail {
        method: Some("DELETE"),
        status: 403,
        reason: "forbidden",
        retry_after: None,
    })
    .await;
    assert!(
        matches!(&e, ProviderError::Unauthorized { message } if message.contains("forbidden")),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_http_404_is_not_found() {
    let e = failing(Fail {
        method: Some("DELETE"),
        status: 404,
        reason: "videoNotFound",
        retry_after: None,
    })
    .await;
    assert!(
        matches!(&e, ProviderError::Provider { code, retryable: false, .. } if code == "videoNotFound"),
        "{e:?}"
    );
    // A video the list does not return is not found before any write.
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "delete_video",
        &json!({"video_id": "nonexist000"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Provider { code, .. } if code == "videoNotFound"),
        "{e:?}"
    );
    assert!(fake.writes().is_empty());
}

#[tokio::test]
async fn youtube_http_400_names_the_field() {
    let (fake, loaded) = setup().await;
    *fake.state().fail.lock().expect("fail") = Some(Fail {
        method: Some("PUT"),
        status: 400,
        reason: "invalidTitle",
        retry_after: None,
    });
    let (_, report) = run(
        &loaded.provider,
        "update_metadata",
        &json!({"video_id": VIDEO, "title": "x"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::InvalidParams { field, .. } if field == "/title"),
        "{e:?}"
    );
    // 422 with a reason no param stands for is a provider error.
    let e = failing(Fail {
        method: Some("DELETE"),
        status: 422,
        reason: "processingFailure",
        retry_after: None,
    })
    .await;
    assert!(
        matches!(&e, ProviderError::Provider { code, retryable: false, .. } if code == "processingFailure"),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_http_429_is_rate_limited_with_retry_after() {
    let e = failing(Fail {
        method: None,
        status: 429,
        reason: "rateLimitExceeded",
        retry_after: Some("30"),
    })
    .await;
    assert!(
        matches!(
            &e,
            ProviderError::RateLimited {
                retry_after_seconds: Some(30),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_quota_exceeded_is_rate_limited() {
    let e = failing(Fail {
        method: Some("DELETE"),
        status: 403,
        reason: "quotaExceeded",
        retry_after: None,
    })
    .await;
    assert!(
        matches!(&e, ProviderError::RateLimited { retry_after_seconds: None, message } if message.contains("quotaExceeded")),
        "{e:?}"
    );
}

#[tokio::test]
async fn youtube_http_5xx_is_retryable() {
    for status in [500, 503] {
        let e = failing(Fail {
            method: Some("DELETE"),
            status,
            reason: "backendError",
            retry_after: None,
        })
        .await;
        assert!(
            matches!(
                &e,
                ProviderError::Provider {
                    retryable: true,
                    ..
                }
            ),
            "{status}: {e:?}"
        );
    }
}
