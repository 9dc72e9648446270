//! The `etsy` provider component against its fake Etsy API.

use autopack_host::governance::{Effect, Mode, Tier};
use autopack_host::runtime::types::{Amount, OutcomeStatus, ProviderError, SpendSource};
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::RequestDecision;
use serde_json::{Value, json};

use crate::fake_etsy::{ACTIVE_ID, API_KEY, DRAFT_ID, EtsyApi, OAUTH_TOKEN, SHOP_ID};
use crate::harness::{
    Cred, Fake, Loaded, MODES, PROFILES, Setup, Subject, load, outcome, provider_error, try_load,
};

pub const SECRETS: &[&str] = &[API_KEY, OAUTH_TOKEN];

pub const CREDENTIALS: &[Cred] = &[
    Cred {
        header: "x-api-key",
        value: "{ETSY_API_KEY}",
    },
    Cred {
        header: "Authorization",
        value: "Bearer {ETSY_OAUTH_TOKEN}",
    },
];

/// The entry an operator writes for a server at `origin`.
pub fn setup<'a>(origin: &str, shop_id: Option<&str>, api_key: &'a str) -> Setup<'a> {
    let mut settings = vec![("base_url", origin.to_string())];
    if let Some(shop) = shop_id {
        settings.push(("shop_id", shop.to_string()));
    }
    Setup {
        domain: "etsy",
        component: autopack_test_artifacts::AUTOPACK_ETSY,
        origins: vec![origin.to_string()],
        settings,
        credentials: CREDENTIALS,
        env: vec![("ETSY_API_KEY", api_key), ("ETSY_OAUTH_TOKEN", OAUTH_TOKEN)],
    }
}

async fn start() -> (Fake<EtsyApi>, Loaded) {
    let fake = Fake::<EtsyApi>::start().await;
    let loaded = load(&setup(&fake.origin(), Some(&SHOP_ID.to_string()), API_KEY)).await;
    (fake, loaded)
}

fn subject(loaded: &Loaded) -> Subject<'_> {
    Subject {
        provider: &loaded.provider,
        secrets: SECRETS,
    }
}

pub fn draft_params() -> Value {
    json!({
        "title": "  Speckled mug: 12 oz  ",
        "description": "Wheel thrown stoneware, dishwasher safe.",
        "price": 24.5,
        "quantity": 3,
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1234,
        "tags": ["mug", " coffee ", "gift-idea"],
        "materials": ["stoneware clay"],
        "is_supply": false
    })
}

/// Every write operation: params, and the request it must make.
pub fn write_cases() -> Vec<(&'static str, Value, &'static str, String)> {
    let listing = |id: u64| format!("/v3/application/shops/{SHOP_ID}/listings/{id}");
    vec![
        (
            "create_draft_listing",
            draft_params(),
            "POST",
            format!("/v3/application/shops/{SHOP_ID}/listings"),
        ),
        (
            "update_listing",
            json!({"listing_id": DRAFT_ID, "title": "Speckled mug, large", "tags": ["mug", "large"]}),
            "PATCH",
            listing(DRAFT_ID),
        ),
        (
            "publish_listing",
            json!({"listing_id": DRAFT_ID}),
            "PATCH",
            listing(DRAFT_ID),
        ),
        (
            "delete_listing",
            json!({"listing_id": ACTIVE_ID}),
            "DELETE",
            format!("/v3/application/listings/{ACTIVE_ID}"),
        ),
    ]
}

fn fee() -> Amount {
    Amount {
        minor_units: 20,
        unit: "USD".into(),
    }
}

fn assert_credentials(fake: &Fake<EtsyApi>) {
    let seen = fake.seen();
    assert!(!seen.is_empty(), "no request reached the fake");
    let bearer = format!("Bearer {OAUTH_TOKEN}");
    for s in seen {
        assert_eq!(
            s.header("x-api-key"),
            Some(API_KEY),
            "{} {}",
            s.method,
            s.path
        );
        assert_eq!(s.header("authorization"), Some(bearer.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_describe_declares_operations_origin_secrets_and_settings() {
    let (fake, loaded) = start().await;
    let info = loaded.provider.info();
    assert_eq!(info.domain, "etsy");
    assert_eq!(info.origins, vec![fake.origin()]);
    assert_eq!(info.secrets, vec!["ETSY_API_KEY", "ETSY_OAUTH_TOKEN"]);
    assert_eq!(info.settings, vec!["base_url", "shop_id"]);
    assert!(!info.supports_lookup);
    let ops: Vec<(&str, Effect, Tier)> = info
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.effect, o.tier))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("get_shop", Effect::Read, Tier::A),
            ("list_listings", Effect::Read, Tier::A),
            ("create_draft_listing", Effect::Draft, Tier::B),
            ("update_listing", Effect::Modify, Tier::C),
            ("publish_listing", Effect::Publish, Tier::C),
            ("delete_listing", Effect::Delete, Tier::C),
        ]
    );
    for op in &info.operations {
        let s = &op.params_schema;
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(s["additionalProperties"], false, "{}", op.name);
        let expected = if op.name == "publish_listing" {
            SpendSource::Fixed { amount: fee() }
        } else {
            SpendSource::None
        };
        assert_eq!(op.spend, expected, "{}", op.name);
    }
    assert!(fake.seen().is_empty(), "loading made requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_default_origin_is_the_real_api() {
    let mut s = setup("https://openapi.etsy.com", Some("1"), API_KEY);
    s.settings.retain(|(k, _)| *k != "base_url");
    let loaded = load(&s).await;
    assert_eq!(
        loaded.provider.info().origins,
        vec!["https://openapi.etsy.com"]
    );

    // Pointing it elsewhere without granting that origin does not load.
    let mut s = setup("https://openapi.etsy.com", Some("1"), API_KEY);
    s.settings = vec![("base_url", "http://127.0.0.1:9".into())];
    let err = try_load(&s).await.0.err().expect("must not load");
    assert!(
        err.to_string()
            .contains("needs origin `http://127.0.0.1:9`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_validate_normalizes_params_and_declares_the_listing_fee() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    let v = s
        .validate("create_draft_listing", &draft_params(), "k1")
        .await
        .unwrap();
    assert_eq!(
        v.params,
        json!({
            "quantity": 3, "title": "Speckled mug: 12 oz",
            "description": "Wheel thrown stoneware, dishwasher safe.", "price": "24.50",
            "who_made": "i_did", "when_made": "made_to_order", "taxonomy_id": 1234,
            "tags": ["mug", "coffee", "gift-idea"], "materials": ["stoneware clay"],
            "is_supply": false
        })
    );
    assert_eq!(v.spend, None);
    // Normalized params pass the host's schema check too.
    loaded
        .provider
        .check_params("create_draft_listing", &v.params)
        .unwrap();

    let v = s
        .validate("publish_listing", &json!({"listing_id": DRAFT_ID}), "k2")
        .await
        .unwrap();
    assert_eq!(v.spend, Some(fee()));

    let v = s.validate("list_listings", &json!({}), "k3").await.unwrap();
    assert_eq!(
        v.params,
        json!({"state": "active", "limit": 25, "offset": 0})
    );
    // String prices are accepted and normalized the same way.
    let mut p = draft_params();
    p["price"] = json!("24.5");
    let v = s.validate("create_draft_listing", &p, "k4").await.unwrap();
    assert_eq!(v.params["price"], "24.50");
    assert!(
        fake.seen().is_empty(),
        "validate must not touch the network"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_validate_rejects_bad_params_naming_the_field() {
    let (_fake, loaded) = start().await;
    let s = subject(&loaded);
    let with = |k: &str, v: Value| {
        let mut p = draft_params();
        p[k] = v;
        p
    };
    let without = |k: &str| {
        let mut p = draft_params();
        p.as_object_mut().unwrap().remove(k);
        p
    };
    // (operation, params, field, whether the host-side schema also catches it)
    let cases: Vec<(&str, Value, &str, bool)> = vec![
        ("create_draft_listing", without("title"), "/title", true),
        (
            "create_draft_listing",
            without("taxonomy_id"),
            "/taxonomy_id",
            true,
        ),
        (
            "create_draft_listing",
            with("price", json!("12.345")),
            "/price",
            true,
        ),
        (
            "create_draft_listing",
            with("price", json!(0)),
            "/price",
            true,
        ),
        (
            "create_draft_listing",
            with("price", json!("ten")),
            "/price",
            true,
        ),
        (
            "create_draft_listing",
            with("quantity", json!(0)),
            "/quantity",
            true,
        ),
        (
            "create_draft_listing",
            with("quantity", json!(1.5)),
            "/quantity",
            true,
        ),
        (
            "create_draft_listing",
            with("who_made", json!("me")),
            "/who_made",
            true,
        ),
        (
            "create_draft_listing",
            with("when_made", json!("2030")),
            "/when_made",
            true,
        ),
        (
            "create_draft_listing",
            with("tags", json!(vec!["t"; 14])),
            "/tags",
            true,
        ),
        (
            "create_draft_listing",
            with("tags", json!(["ok", "bad!"])),
            "/tags/1",
            false,
        ),
        (
            "create_draft_listing",
            with("title", json!("50% off, 100% clay")),
            "/title",
            false,
        ),
        (
            "create_draft_listing",
            with("state", json!("active")),
            "/state",
            true,
        ),
        ("update_listing", json!({"listing_id": DRAFT_ID}), "", true),
        (
            "update_listing",
            json!({"listing_id": 0, "title": "x"}),
            "/listing_id",
            true,
        ),
        (
            "update_listing",
            json!({"listing_id": "12", "title": "x"}),
            "/listing_id",
            true,
        ),
        (
            "update_listing",
            json!({"listing_id": 5, "state": "active"}),
            "/state",
            true,
        ),
        (
            "update_listing",
            json!({"listing_id": 5, "price": "3.00"}),
            "/price",
            true,
        ),
        ("publish_listing", json!({}), "/listing_id", true),
        (
            "delete_listing",
            json!({"listing_id": -4}),
            "/listing_id",
            true,
        ),
        ("list_listings", json!({"limit": 101}), "/limit", true),
        ("list_listings", json!({"state": "deleted"}), "/state", true),
        ("get_shop", json!({"shop_id": 1}), "/shop_id", true),
    ];
    for (op, params, field, schema_catches) in cases {
        match s.validate(op, &params, "k").await {
            Err(autopack_host::runtime::CallError::Provider(ProviderError::InvalidParams {
                field: f,
                message,
            })) => {
                assert_eq!(f, field, "{op} {params}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{op} {params}: expected invalid params at {field}, got {other:?}"),
        }
        assert_eq!(
            loaded.provider.check_params(op, &params).is_err(),
            schema_catches,
            "host-side schema for {op} {params}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_reads_complete_in_every_profile_and_mode() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for profile in PROFILES {
        for mode in MODES {
            fake.reset();
            let r = s.run("get_shop", json!({}), mode, profile, "k").await;
            let o = outcome(&r);
            assert_eq!(o.status, OutcomeStatus::Completed);
            assert_eq!(o.external_ref.as_deref(), Some("5550001"));
            assert_eq!(o.data["shop_name"], "ClayAndKiln");
            assert!(o.summary.contains("ClayAndKiln"), "{}", o.summary);

            let r = s
                .run(
                    "list_listings",
                    json!({"state": "draft", "limit": 10}),
                    mode,
                    profile,
                    "k",
                )
                .await;
            let o = outcome(&r);
            assert_eq!(o.status, OutcomeStatus::Completed);
            assert_eq!(o.data["count"], 1);
            assert_eq!(o.data["results"][0]["listing_id"], DRAFT_ID);

            let seen = fake.seen();
            assert_eq!(seen.len(), 2, "{profile:?} {mode:?}");
            assert_eq!(seen[0].path, format!("/v3/application/shops/{SHOP_ID}"));
            assert_eq!(
                seen[1].path,
                format!("/v3/application/shops/{SHOP_ID}/listings")
            );
            assert_eq!(seen[1].query, "state=draft&limit=10&offset=0");
            assert!(seen.iter().all(|s| s.method == "GET"));
            assert_credentials(&fake);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_etsy_dry_run_of_every_write_sends_no_write() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for profile in PROFILES {
        for (op, params, method, path) in write_cases() {
            fake.reset();
            let r = s.run(op, params.clone(), Mode::DryRun, profile, "k").await;
            let o = outcome(&r);
            assert_eq!(o.status, OutcomeStatus::Previewed, "{op}");
            assert_eq!(o.spend, None, "a preview spends nothing");
            let preview = &o.data["preview"];
            assert_eq!(preview["method"], method, "{op}");
            assert_eq!(preview["path"], path.as_str(), "{op}");
            assert_eq!(preview["url"], format!("{}{path}", fake.origin()), "{op}");
            // The provider did not even try: nothing for the host to block.
            assert_eq!(r.attempted_writes().count(), 0, "{op} under {profile:?}");
            assert!(fake.writes().is_empty(), "{op} wrote in dry-run");
            // Writes to an existing listing show it as it is now.
            if let Some(id) = params.get("listing_id") {
                assert_eq!(o.data["current"]["listing_id"], *id, "{op}");
                assert_eq!(
                    fake.count("GET", &format!("/v3/application/listings/{id}")),
                    1
                );
            }
        }
    }
    // The fake's data is untouched.
    assert_eq!(fake.api().listing(DRAFT_ID).unwrap()["state"], "draft");
    assert!(fake.api().listing(ACTIVE_ID).is_some());

    let r = s
        .run(
            "publish_listing",
            json!({"listing_id": DRAFT_ID}),
            Mode::DryRun,
            Profile::Write,
            "k",
        )
        .await;
    let o = outcome(&r);
    assert_eq!(o.data["preview"]["body"], "state=active");
    assert_eq!(
        o.data["preview"]["content_type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(o.data["spend"], json!({"minor_units": 20, "unit": "USD"}));
    assert!(o.summary.contains("0.20 USD"), "{}", o.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_live_writes_arrive_exactly_once_with_credentials() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for (op, params, method, path) in write_cases() {
        // The dry-run preview is exactly the request live mode then sends.
        let dry = s
            .run(op, params.clone(), Mode::DryRun, Profile::Write, "k")
            .await;
        let preview = outcome(&dry).data["preview"].clone();
        fake.reset();
        let r = s
            .run(op, params.clone(), Mode::Live, Profile::Write, "k")
            .await;
        let o = outcome(&r);
        assert_eq!(o.status, OutcomeStatus::Completed, "{op}");
        assert_eq!(fake.writes().len(), 1, "{op}: {:?}", fake.seen());
        assert_eq!(fake.count(method, &path), 1, "{op}");
        let sent = fake.writes().remove(0);
        assert_eq!(
            String::from_utf8_lossy(&sent.body),
            preview["body"].as_str().unwrap_or_default(),
            "{op}: preview and live body differ"
        );
        if method != "DELETE" {
            assert_eq!(
                sent.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
        }
        assert_credentials(&fake);
        match op {
            "create_draft_listing" => {
                assert_eq!(o.external_ref.as_deref(), Some("2000"));
                assert_eq!(o.data["state"], "draft");
                assert_eq!(sent.form_value("price").as_deref(), Some("24.50"));
                assert_eq!(
                    sent.form_value("title").as_deref(),
                    Some("Speckled mug: 12 oz")
                );
                let tags: Vec<String> = sent
                    .form()
                    .into_iter()
                    .filter(|(k, _)| k == "tags[]")
                    .map(|(_, v)| v)
                    .collect();
                assert_eq!(tags, vec!["mug", "coffee", "gift-idea"]);
                assert_eq!(o.spend, None);
            }
            "update_listing" => {
                assert_eq!(
                    sent.form_value("title").as_deref(),
                    Some("Speckled mug, large")
                );
                assert_eq!(
                    fake.api().listing(DRAFT_ID).unwrap()["tags"],
                    json!(["mug", "large"])
                );
            }
            "publish_listing" => {
                assert_eq!(
                    sent.form(),
                    vec![("state".to_string(), "active".to_string())]
                );
                assert_eq!(o.spend, Some(fee()));
                assert_eq!(fake.api().listing(DRAFT_ID).unwrap()["state"], "active");
            }
            _ => {
                assert_eq!(o.external_ref.as_deref(), Some("1002"));
                assert!(fake.api().listing(ACTIVE_ID).is_none());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_etsy_live_write_under_read_only_profile_is_blocked_by_the_host() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for (op, params, method, path) in write_cases() {
        fake.reset();
        let r = s.run(op, params, Mode::Live, Profile::ReadOnly, "k").await;
        assert!(
            matches!(provider_error(&r), ProviderError::Denied { .. }),
            "{op}: {:?}",
            r.result
        );
        let blocked: Vec<_> = r.attempted_writes().collect();
        assert_eq!(blocked.len(), 1, "{op}");
        assert_eq!(blocked[0].method, method);
        assert_eq!(blocked[0].url, format!("{}{path}", fake.origin()));
        assert!(matches!(
            blocked[0].decision,
            RequestDecision::Denied { .. }
        ));
        assert!(fake.writes().is_empty(), "{op} reached the server");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i9_etsy_credentials_reach_the_server_but_not_the_guest() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    // `run` checks every report (outcome, log, requests, artifacts) for the secrets.
    let mut logged = 0;
    for (op, params, _, _) in write_cases() {
        for mode in MODES {
            let r = s.run(op, params.clone(), mode, Profile::Write, "k").await;
            logged += r.log.len();
            assert!(r.result.is_ok(), "{op} {mode:?}: {:?}", r.result);
        }
    }
    assert!(logged > 0, "the previews log what they would send");
    assert_credentials(&fake);
    // And the secrets really are the values the server checks: a wrong key fails.
    let wrong = load(&setup(
        &fake.origin(),
        Some("5550001"),
        "not-the-key:at-all-000",
    ))
    .await;
    let r = Subject {
        provider: &wrong.provider,
        secrets: SECRETS,
    }
    .run("get_shop", json!({}), Mode::Live, Profile::ReadOnly, "k")
    .await;
    assert!(matches!(
        provider_error(&r),
        ProviderError::Unauthorized { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_provider_errors_map_to_contract_variants() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    let cases: Vec<(u16, Vec<(&'static str, String)>)> = vec![
        (401, vec![]),
        (403, vec![]),
        (404, vec![]),
        (400, vec![]),
        (422, vec![]),
        (429, vec![("retry-after", "7".into())]),
        (500, vec![]),
        (503, vec![]),
    ];
    for (op, params) in [
        ("get_shop", json!({})),
        ("publish_listing", json!({"listing_id": DRAFT_ID})),
    ] {
        for (status, headers) in &cases {
            fake.force(
                *status,
                headers.clone(),
                json!({"error": format!("etsy says {status}")}),
            );
            let r = s
                .run(op, params.clone(), Mode::Live, Profile::Write, "k")
                .await;
            let e = provider_error(&r);
            let ok = match (status, &e) {
                (401 | 403, ProviderError::Unauthorized { message }) => {
                    message.contains("etsy says")
                }
                (
                    404,
                    ProviderError::Provider {
                        code, retryable, ..
                    },
                ) => code == "not_found" && !retryable,
                (400 | 422, ProviderError::InvalidParams { message, .. }) => {
                    message.contains("etsy says")
                }
                (
                    429,
                    ProviderError::RateLimited {
                        retry_after_seconds,
                        ..
                    },
                ) => *retry_after_seconds == Some(7),
                (
                    500 | 503,
                    ProviderError::Provider {
                        code, retryable, ..
                    },
                ) => *retryable && *code == format!("http_{status}"),
                _ => false,
            };
            assert!(ok, "{op} HTTP {status} mapped to {e:?}");
        }
    }
    fake.unforce();
    // A real 404 from the fake, not a forced one.
    let r = s
        .run(
            "update_listing",
            json!({"listing_id": 999, "title": "x"}),
            Mode::Live,
            Profile::Write,
            "k",
        )
        .await;
    assert!(
        matches!(provider_error(&r), ProviderError::Provider { code, .. } if code == "not_found")
    );
    // A 429 without Retry-After has no hint.
    fake.force(429, vec![], json!({"error": "slow down"}));
    let r = s
        .run("get_shop", json!({}), Mode::Live, Profile::Write, "k")
        .await;
    assert!(matches!(
        provider_error(&r),
        ProviderError::RateLimited {
            retry_after_seconds: None,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etsy_without_shop_id_refuses_shop_operations() {
    let fake = Fake::<EtsyApi>::start().await;
    let loaded = load(&setup(&fake.origin(), None, API_KEY)).await;
    let s = subject(&loaded);
    for (op, params) in [
        ("get_shop", json!({})),
        ("create_draft_listing", draft_params()),
        ("publish_listing", json!({"listing_id": 1})),
    ] {
        match s.validate(op, &params, "k").await {
            Err(autopack_host::runtime::CallError::Provider(ProviderError::Denied { message })) => {
                assert!(message.contains("shop_id"), "{message}");
            }
            other => panic!("{op}: {other:?}"),
        }
    }
    // Deleting is not shop-scoped in the API.
    s.validate("delete_listing", &json!({"listing_id": 1}), "k")
        .await
        .unwrap();
}
