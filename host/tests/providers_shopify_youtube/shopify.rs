//! The Shopify provider against a fake Admin GraphQL API
//! (`common/fake_shopify.rs`, shared with the governance tests).

use crate::support::{
    Grant, Hit, Loaded, MATRIX, Recorder, assert_no_secret, assert_secret_only_in_header, ctx,
    load, outcome, provider_error, run,
};
use autopack_host::governance::{Effect, Mode, Tier};
use autopack_host::runtime::types::{Outcome, OutcomeStatus, ProviderError, SpendSource};
use autopack_host::sandbox::egress::Profile;
use autopack_host::sandbox::journal::{RecordedRequest, RequestDecision};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub use crate::common::fake_shopify::{Fail, PATH, Shop, TOKEN, shopify};

/// A fake shop and the provider granted its origin, with the GraphQL
/// endpoint as a `graphql_read_paths` entry (the documented config).
pub async fn setup() -> (Recorder<Shop>, Loaded) {
    let fake = Recorder::start(Shop::default(), shopify).await;
    let loaded = load(grant(&fake, vec![("base_url", fake.origin())]))
        .await
        .expect("load shopify");
    (fake, loaded)
}

fn grant<'a>(fake: &Recorder<Shop>, settings: Vec<(&'a str, String)>) -> Grant<'a> {
    Grant {
        domain: "shopify",
        component: autopack_test_artifacts::AUTOPACK_SHOPIFY,
        origins: vec![fake.origin()],
        graphql_read_paths: vec![PATH],
        credentials: vec![(
            fake.origin(),
            "X-Shopify-Access-Token",
            "{SHOPIFY_ACCESS_TOKEN}",
        )],
        settings,
        media: None,
        env: BTreeMap::from([("SHOPIFY_ACCESS_TOKEN".to_string(), TOKEN.to_string())]),
    }
}

/// Runs one operation in all four mode × profile combinations and checks
/// the rules every Shopify operation follows; `live` checks the live outcome
/// and the one request the fake received. Returns the dry-run request body.
async fn matrix(operation: &str, params: Value, live: impl Fn(&Outcome, &Hit)) -> Value {
    let (fake, loaded) = setup().await;
    let endpoint = format!("{}{PATH}", fake.origin());
    let mut preview_body = Value::Null;
    for (mode, profile) in MATRIX {
        fake.clear();
        let (validated, report) = run(&loaded.provider, operation, &params, mode, profile).await;
        assert_no_secret(&validated, &[TOKEN]);
        assert_no_secret(&report, &[TOKEN]);
        let at = format!("{operation} {mode:?} {profile:?}");
        match (mode, profile) {
            (Mode::DryRun, _) => {
                let o = outcome(&report);
                assert_eq!(o.status, OutcomeStatus::Previewed, "{at}");
                assert!(o.summary.starts_with("would "), "{at}: {}", o.summary);
                assert!(fake.hits().is_empty(), "{at}: dry-run reached the server");
                assert!(report.requests.is_empty(), "{at}: dry-run tried a request");
                assert_eq!(o.data["read_performed"], false, "{at}");
                let sent = &o.data["would_send"][0];
                assert_eq!(sent["method"], "POST", "{at}");
                assert_eq!(sent["url"], endpoint.as_str(), "{at}");
                assert!(
                    sent["body"]["query"].is_string() && sent["body"]["variables"].is_object(),
                    "{at}"
                );
                preview_body = sent["body"].clone();
            }
            (Mode::Live, Profile::ReadOnly) if operation == "get_product" => {
                // A query to a `graphql_read_paths` entry is a read: it passes.
                let o = outcome(&report);
                assert_eq!(o.status, OutcomeStatus::Completed, "{at}");
                let hits = fake.hits();
                assert_eq!(hits.len(), 1, "{at}: {hits:?}");
                assert_eq!(hits[0].key(), format!("POST {PATH}"), "{at}");
                assert_secret_only_in_header(&hits, TOKEN, "x-shopify-access-token", TOKEN);
                assert_eq!(hits[0].json(), preview_body, "{at}");
                assert_eq!(report.requests.len(), 1, "{at}");
                assert!(!report.requests[0].is_denied(), "{at}");
                live(o, &hits[0]);
            }
            (Mode::Live, Profile::ReadOnly) => {
                // The host refuses the mutation; the provider says why, nothing arrives.
                let e = provider_error(&report);
                assert!(
                    matches!(e, ProviderError::Denied { message } if message.contains("read-only profile")),
                    "{at}: {e:?}"
                );
                assert!(fake.hits().is_empty(), "{at}: a request arrived");
                assert_eq!(report.requests.len(), 1, "{at}");
                let r = &report.requests[0];
                assert!(r.is_denied() && r.method == "POST", "{at}: {r:?}");
                assert_eq!(
                    denial_reason(r),
                    "graphql_mutation_in_read_only_profile",
                    "{at}"
                );
                let recorded: Value = serde_json::from_str(r.body_preview.as_deref().unwrap_or(""))
                    .expect("preview json");
                assert_eq!(
                    recorded, preview_body,
                    "{at}: the attempted request differs from the preview"
                );
            }
            (Mode::Live, _) => {
                let o = outcome(&report);
                assert_eq!(o.status, OutcomeStatus::Completed, "{at}");
                let hits = fake.hits();
                assert_eq!(hits.len(), 1, "{at}: {hits:?}");
                assert_eq!(hits[0].key(), format!("POST {PATH}"), "{at}");
                assert_secret_only_in_header(&hits, TOKEN, "x-shopify-access-token", TOKEN);
                assert_eq!(
                    hits[0].json(),
                    preview_body,
                    "{at}: live request differs from the dry-run preview"
                );
                assert!(
                    o.data["cost"]["throttleStatus"].is_object(),
                    "{at}: {}",
                    o.data
                );
                live(o, &hits[0]);
            }
        }
    }
    preview_body
}

fn denial_reason(r: &RecordedRequest) -> &str {
    match &r.decision {
        RequestDecision::Denied { reason } => reason,
        other => panic!("not denied: {other:?}"),
    }
}

#[tokio::test]
async fn shopify_get_product_live_read_only_is_a_read_with_graphql_read_paths() {
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "get_product",
        &json!({"product_id": "1001"}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    assert_no_secret(&report, &[TOKEN]);
    let o = outcome(&report);
    assert_eq!(o.status, OutcomeStatus::Completed);
    assert_eq!(o.data["data"]["product"]["title"], "Blue Mug");
    let hits = fake.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key(), format!("POST {PATH}"));
    assert_eq!(hits[0].header("x-shopify-access-token"), Some(TOKEN));
    assert!(matches!(
        report.requests[0].decision,
        RequestDecision::Sent {
            status: Some(200),
            ..
        }
    ));
}

#[tokio::test]
async fn shopify_mutation_live_read_only_is_denied_and_writes_nothing() {
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "update_price",
        &json!({"product_id": "1001", "variant_id": "2001", "price": "1.00"}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    assert_no_secret(&report, &[TOKEN]);
    let e = provider_error(&report);
    assert!(matches!(e, ProviderError::Denied { .. }), "{e:?}");
    assert!(fake.hits().is_empty(), "a write reached the shop");
    assert_eq!(report.requests.len(), 1);
    let r = &report.requests[0];
    assert_eq!(denial_reason(r), "graphql_mutation_in_read_only_profile");
    // Recorded with its body, like every denial: that is the preview.
    let preview: Value =
        serde_json::from_str(r.body_preview.as_deref().expect("preview")).expect("json");
    assert!(
        preview["query"]
            .as_str()
            .expect("query")
            .starts_with("mutation UpdatePrice")
    );
    assert_eq!(preview["variables"]["variants"][0]["price"], "1.00");
    assert_eq!(
        r.body_bytes,
        r.body_preview.as_ref().expect("p").len() as u64
    );
}

#[tokio::test]
async fn shopify_oversized_body_to_a_read_path_is_denied_unparsed() {
    // 65 535 four-byte characters: valid params, a body above the gate's 256 KiB.
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "create_draft_product",
        &json!({"title": "Mug", "description_html": "\u{1F600}".repeat(65_535)}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    assert!(matches!(
        provider_error(&report),
        ProviderError::Denied { .. }
    ));
    assert!(fake.hits().is_empty());
    let r = &report.requests[0];
    assert_eq!(denial_reason(r), "graphql_body_too_large");
    assert!(r.body_truncated && r.body_bytes > 256 * 1024, "{r:?}");
    assert!(
        r.body_preview
            .as_deref()
            .expect("preview")
            .starts_with("{\"query\"")
    );
}

#[tokio::test]
async fn shopify_get_product_without_graphql_read_paths_stays_denied() {
    let fake = Recorder::start(Shop::default(), shopify).await;
    let mut g = grant(&fake, vec![("base_url", fake.origin())]);
    g.graphql_read_paths = vec![];
    let loaded = load(g).await.expect("load");
    let (_, report) = run(
        &loaded.provider,
        "get_product",
        &json!({"product_id": "1001"}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Denied { message } if message.contains("read-only profile")),
        "{e:?}"
    );
    assert!(fake.hits().is_empty());
    assert_eq!(report.requests.len(), 1);
    assert_eq!(
        denial_reason(&report.requests[0]),
        "method_not_allowed_in_read_only_profile"
    );
    // Another path of the same origin is not a read path either.
    let mut g = grant(&fake, vec![("base_url", fake.origin())]);
    g.graphql_read_paths = vec!["/admin/api/2024-10/graphql.json"];
    let loaded = load(g).await.expect("load");
    let (_, report) = run(
        &loaded.provider,
        "get_product",
        &json!({"product_id": "1001"}),
        Mode::Live,
        Profile::ReadOnly,
    )
    .await;
    assert_eq!(
        denial_reason(&report.requests[0]),
        "method_not_allowed_in_read_only_profile"
    );
    assert!(fake.hits().is_empty());
}

#[tokio::test]
async fn shopify_describe_declares_origin_secret_and_settings() {
    let (fake, loaded) = setup().await;
    let info = loaded.provider.info();
    assert_eq!(info.domain, "shopify");
    assert_eq!(info.origins, vec![fake.origin()]);
    assert_eq!(info.secrets, vec!["SHOPIFY_ACCESS_TOKEN"]);
    assert_eq!(
        info.settings,
        vec!["store_domain", "api_version", "base_url"]
    );
    let effects: Vec<(&str, Effect, Tier)> = info
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.effect, o.tier))
        .collect();
    assert_eq!(
        effects,
        vec![
            ("get_product", Effect::Read, Tier::A),
            ("create_draft_product", Effect::Draft, Tier::B),
            ("publish_product", Effect::Publish, Tier::C),
            ("update_price", Effect::Modify, Tier::C),
            ("adjust_inventory", Effect::Modify, Tier::C),
            ("delete_product", Effect::Delete, Tier::C),
        ]
    );
    for op in &info.operations {
        let s = &op.params_schema;
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            op.name
        );
        assert_eq!(s["type"], "object", "{}", op.name);
        assert_eq!(s["additionalProperties"], false, "{}", op.name);
        assert_eq!(op.spend, SpendSource::None, "{}", op.name);
    }
}

#[tokio::test]
async fn shopify_store_domain_gives_the_real_origin() {
    let fake = Recorder::start(Shop::default(), shopify).await;
    let mut g = grant(
        &fake,
        vec![("store_domain", "my-shop.myshopify.com".into())],
    );
    // Not granting the real origin is refused at load, naming it...
    let err = load(grant(
        &fake,
        vec![("store_domain", "my-shop.myshopify.com".into())],
    ))
    .await
    .err()
    .expect("load must fail");
    assert!(
        err.contains("needs origin `https://my-shop.myshopify.com") && err.contains("not granted"),
        "{err}"
    );
    // ...and granting it loads, with the origin derived from the setting.
    g.origins = vec!["https://my-shop.myshopify.com".into()];
    g.credentials = vec![(
        "https://my-shop.myshopify.com".into(),
        "X-Shopify-Access-Token",
        "{SHOPIFY_ACCESS_TOKEN}",
    )];
    let loaded = load(g).await.expect("load");
    let origins = &loaded.provider.info().origins;
    assert_eq!(origins, &vec!["https://my-shop.myshopify.com".to_string()]);
    // A dry-run names the real endpoint, with the default API version.
    let (_, report) = run(
        &loaded.provider,
        "delete_product",
        &json!({"product_id": "7"}),
        Mode::DryRun,
        Profile::ReadOnly,
    )
    .await;
    assert_eq!(
        outcome(&report).data["would_send"][0]["url"],
        "https://my-shop.myshopify.com/admin/api/2025-01/graphql.json"
    );
}

#[tokio::test]
async fn shopify_without_store_domain_fails_clearly() {
    let fake = Recorder::start(Shop::default(), shopify).await;
    let loaded = load(grant(&fake, vec![])).await.expect("load");
    assert!(loaded.provider.info().origins.is_empty());
    let c = ctx(Mode::DryRun);
    let report = loaded
        .provider
        .execute(
            &c,
            "get_product",
            r#"{"product_id":"1"}"#,
            Profile::ReadOnly,
        )
        .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Denied { message } if message.contains("store_domain")),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_validate_names_the_bad_field() {
    let (_fake, loaded) = setup().await;
    let cases: &[(&str, Value, &str)] = &[
        ("get_product", json!({}), "/product_id"),
        ("get_product", json!({"product_id": "abc"}), "/product_id"),
        (
            "get_product",
            json!({"product_id": "gid://shopify/Order/1"}),
            "/product_id",
        ),
        (
            "get_product",
            json!({"product_id": "1", "extra": 1}),
            "/extra",
        ),
        ("create_draft_product", json!({}), "/title"),
        ("create_draft_product", json!({"title": "   "}), "/title"),
        (
            "create_draft_product",
            json!({"title": "x".repeat(256)}),
            "/title",
        ),
        (
            "create_draft_product",
            json!({"title": "Mug", "status": "ACTIVE"}),
            "/status",
        ),
        (
            "create_draft_product",
            json!({"title": "Mug", "tags": ["ok", ""]}),
            "/tags/1",
        ),
        (
            "create_draft_product",
            json!({"title": "Mug", "handle": "Blue Mug"}),
            "/handle",
        ),
        (
            "publish_product",
            json!({"product_id": "1", "publication_ids": []}),
            "/publication_ids",
        ),
        (
            "publish_product",
            json!({"product_id": "1", "publication_ids": ["x"]}),
            "/publication_ids/0",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2"}),
            "/price",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2", "price": "-1"}),
            "/price",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2", "price": 19.99}),
            "/price",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2", "price": "1.2345"}),
            "/price",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "x", "price": "1"}),
            "/variant_id",
        ),
        (
            "update_price",
            json!({"product_id": "1", "variant_id": "2", "price": "1", "compare_at_price": "01"}),
            "/compare_at_price",
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "1", "location_id": "2", "delta": 0}),
            "/delta",
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "1", "location_id": "2", "delta": 1.5}),
            "/delta",
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "1", "location_id": "2", "delta": 2_000_000}),
            "/delta",
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "1", "location_id": "2", "delta": 1, "reason": "theft"}),
            "/reason",
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "1", "delta": 1}),
            "/location_id",
        ),
        ("delete_product", json!({"product_id": "0"}), "/product_id"),
    ];
    for (op, params, field) in cases {
        let report = loaded
            .provider
            .validate(&ctx(Mode::DryRun), op, &params.to_string())
            .await;
        match &report.result {
            Err(autopack_host::runtime::CallError::Provider(ProviderError::InvalidParams {
                field: f,
                ..
            })) => {
                assert_eq!(f, field, "{op} {params}")
            }
            other => panic!("{op} {params}: expected invalid params at {field}, got {other:?}"),
        }
        // The host's schema check refuses the same params.
        assert!(
            loaded.provider.check_params(op, params).is_err(),
            "{op} {params}: the schema accepts what validate refuses"
        );
    }
}

#[tokio::test]
async fn shopify_validate_normalizes_ids_and_defaults() {
    let (_fake, loaded) = setup().await;
    let cases: &[(&str, Value, Value)] = &[
        (
            "get_product",
            json!({"product_id": "1001"}),
            json!({"product_id": "gid://shopify/Product/1001"}),
        ),
        (
            "create_draft_product",
            json!({"title": "  Blue Mug ", "tags": [" mug", "mug", "blue"], "vendor": "Autopack"}),
            json!({"title": "Blue Mug", "tags": ["mug", "blue"], "vendor": "Autopack"}),
        ),
        (
            "publish_product",
            json!({"product_id": "gid://shopify/Product/5", "publication_ids": ["9", "gid://shopify/Publication/9"]}),
            json!({"product_id": "gid://shopify/Product/5", "publication_ids": ["gid://shopify/Publication/9"]}),
        ),
        (
            "update_price",
            json!({"product_id": "5", "variant_id": "6", "price": "19.99"}),
            json!({"product_id": "gid://shopify/Product/5", "variant_id": "gid://shopify/ProductVariant/6", "price": "19.99"}),
        ),
        (
            "adjust_inventory",
            json!({"inventory_item_id": "3", "location_id": "4", "delta": -2}),
            json!({"inventory_item_id": "gid://shopify/InventoryItem/3", "location_id": "gid://shopify/Location/4", "delta": -2, "reason": "correction"}),
        ),
    ];
    for (op, params, want) in cases {
        let report = loaded
            .provider
            .validate(&ctx(Mode::Live), op, &params.to_string())
            .await;
        let v = report
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(&v.params, want, "{op}");
        assert_eq!(v.spend, None, "{op}");
        // Normalized params validate again to themselves (idempotent).
        let again = loaded
            .provider
            .validate(&ctx(Mode::Live), op, &v.params.to_string())
            .await;
        assert_eq!(&again.result.expect("again").params, want, "{op}");
    }
}

#[tokio::test]
async fn shopify_get_product_every_mode_and_profile() {
    let body = matrix("get_product", json!({"product_id": "1001"}), |o, _| {
        assert_eq!(
            o.external_ref.as_deref(),
            Some("gid://shopify/Product/1001")
        );
        assert_eq!(
            o.data["data"]["product"]["variants"]["nodes"][0]["price"],
            "19.00"
        );
    })
    .await;
    assert!(
        body["query"]
            .as_str()
            .expect("query")
            .starts_with("query GetProduct")
    );
    assert_eq!(
        body["variables"],
        json!({"id": "gid://shopify/Product/1001"})
    );
}

#[tokio::test]
async fn shopify_create_draft_product_every_mode_and_profile() {
    let body = matrix(
        "create_draft_product",
        json!({"title": "Blue Mug", "description_html": "<p>Holds tea</p>", "tags": ["mug"]}),
        |o, hit| {
            assert_eq!(
                o.external_ref.as_deref(),
                Some("gid://shopify/Product/1002")
            );
            assert_eq!(hit.json()["variables"]["product"]["status"], "DRAFT");
        },
    )
    .await;
    assert_eq!(
        body["variables"],
        json!({"product": {"title": "Blue Mug", "status": "DRAFT", "descriptionHtml": "<p>Holds tea</p>", "tags": ["mug"]}})
    );
}

#[tokio::test]
async fn shopify_publish_product_every_mode_and_profile() {
    let body = matrix("publish_product", json!({"product_id": "1001"}), |o, _| {
        assert_eq!(
            o.external_ref.as_deref(),
            Some("gid://shopify/Product/1001")
        );
        assert_eq!(
            o.data["data"]["productUpdate"]["product"]["status"],
            "ACTIVE"
        );
    })
    .await;
    assert_eq!(
        body["variables"],
        json!({"product": {"id": "gid://shopify/Product/1001", "status": "ACTIVE"}})
    );
    let body = matrix(
        "publish_product",
        json!({"product_id": "1001", "publication_ids": ["77"]}),
        |o, hit| {
            assert!(o.data["data"]["publishablePublish"]["userErrors"].is_array());
            assert!(
                hit.json()["query"]
                    .as_str()
                    .expect("q")
                    .contains("publishablePublish(")
            );
        },
    )
    .await;
    assert_eq!(
        body["variables"]["publications"],
        json!([{"publicationId": "gid://shopify/Publication/77"}])
    );
}

#[tokio::test]
async fn shopify_update_price_every_mode_and_profile() {
    let body = matrix(
        "update_price",
        json!({"product_id": "1001", "variant_id": "2001", "price": "24.50", "compare_at_price": "30.00"}),
        |o, _| {
            assert_eq!(o.external_ref.as_deref(), Some("gid://shopify/ProductVariant/2001"));
            assert_eq!(o.data["data"]["productVariantsBulkUpdate"]["productVariants"][0]["price"], "24.50");
        },
    )
    .await;
    assert_eq!(
        body["variables"],
        json!({"productId": "gid://shopify/Product/1001",
               "variants": [{"id": "gid://shopify/ProductVariant/2001", "price": "24.50", "compareAtPrice": "30.00"}]})
    );
}

#[tokio::test]
async fn shopify_adjust_inventory_every_mode_and_profile() {
    let body = matrix(
        "adjust_inventory",
        json!({"inventory_item_id": "3001", "location_id": "4001", "delta": -3, "reason": "damaged"}),
        |o, _| {
            assert_eq!(o.external_ref.as_deref(), Some("gid://shopify/InventoryAdjustmentGroup/5001"));
            assert_eq!(
                o.data["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["quantityAfterChange"],
                9
            );
        },
    )
    .await;
    assert_eq!(
        body["variables"],
        json!({"input": {"reason": "damaged", "name": "available", "changes": [
            {"delta": -3, "inventoryItemId": "gid://shopify/InventoryItem/3001", "locationId": "gid://shopify/Location/4001"}]}})
    );
}

#[tokio::test]
async fn shopify_delete_product_every_mode_and_profile() {
    let body = matrix("delete_product", json!({"product_id": "1001"}), |o, _| {
        assert_eq!(
            o.external_ref.as_deref(),
            Some("gid://shopify/Product/1001")
        );
        assert_eq!(
            o.data["data"]["productDelete"]["deletedProductId"],
            "gid://shopify/Product/1001"
        );
    })
    .await;
    assert_eq!(
        body["variables"],
        json!({"input": {"id": "gid://shopify/Product/1001"}})
    );
}

/// Runs `update_price` live against a fake set to fail, returning the error.
async fn failing(fail: Fail) -> (ProviderError, Vec<Hit>) {
    let (fake, loaded) = setup().await;
    *fake.state().fail.lock().expect("fail") = Some(fail);
    let (_, report) = run(
        &loaded.provider,
        "update_price",
        &json!({"product_id": "1001", "variant_id": "2001", "price": "5.00"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    assert_no_secret(&report, &[TOKEN]);
    (provider_error(&report).clone(), fake.hits())
}

#[tokio::test]
async fn shopify_http_401_is_unauthorized() {
    let (fake, loaded) = setup().await;
    // A wrong token at the host: the fake answers 401 as Shopify does.
    drop(loaded);
    let mut g = grant(&fake, vec![("base_url", fake.origin())]);
    g.env = BTreeMap::from([(
        "SHOPIFY_ACCESS_TOKEN".to_string(),
        "shpat_wrong_token_0000000000".to_string(),
    )]);
    let loaded = load(g).await.expect("load");
    let (_, report) = run(
        &loaded.provider,
        "delete_product",
        &json!({"product_id": "1001"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    assert_no_secret(&report, &["shpat_wrong_token_0000000000"]);
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Unauthorized { message } if message.contains("401")),
        "{e:?}"
    );
    assert_eq!(fake.hits().len(), 1);
}

#[tokio::test]
async fn shopify_http_404_is_a_non_retryable_not_found() {
    let (e, hits) = failing(Fail::Status(404, json!({"errors": "Not Found"}), None)).await;
    assert!(
        matches!(&e, ProviderError::Provider { code, retryable: false, .. } if code == "not_found"),
        "{e:?}"
    );
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn shopify_http_422_is_a_non_retryable_provider_error() {
    let (e, _) = failing(Fail::Status(
        422,
        json!({"errors": "Unprocessable Entity"}),
        None,
    ))
    .await;
    assert!(
        matches!(&e, ProviderError::Provider { code, retryable: false, .. } if code == "unprocessable"),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_user_errors_name_the_field() {
    let (e, _) = failing(Fail::UserErrors(json!([
        {"field": ["variants", "0", "price"], "message": "Price must be greater than or equal to 0", "code": "INVALID"}
    ])))
    .await;
    assert!(
        matches!(&e, ProviderError::InvalidParams { field, message } if field == "/price" && message.contains("greater")),
        "{e:?}"
    );
    // A userError on no param we know is a provider error with Shopify's code.
    let (e, _) = failing(Fail::UserErrors(json!([
        {"field": null, "message": "Product is being updated", "code": "PRODUCT_SUSPENDED"}
    ])))
    .await;
    assert!(
        matches!(&e, ProviderError::Provider { code, retryable: false, .. } if code == "PRODUCT_SUSPENDED"),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_http_429_is_rate_limited_with_retry_after() {
    let (e, _) = failing(Fail::Status(
        429,
        json!({"errors": "Exceeded 2 calls per second for api client."}),
        Some("7"),
    ))
    .await;
    assert!(
        matches!(
            &e,
            ProviderError::RateLimited {
                retry_after_seconds: Some(7),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_throttled_is_rate_limited_until_the_bucket_refills() {
    let (e, _) = failing(Fail::Throttled).await;
    // (502 requested - 52 available) / 100 per second = 4.5 s → 5.
    assert!(
        matches!(&e, ProviderError::RateLimited { retry_after_seconds: Some(5), message } if message.contains("THROTTLED")),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_http_5xx_is_retryable() {
    for status in [500, 502, 503] {
        let (e, _) = failing(Fail::Status(
            status,
            json!({"errors": "Internal Server Error"}),
            None,
        ))
        .await;
        assert!(
            matches!(&e, ProviderError::Provider { code, retryable: true, .. } if *code == status.to_string()),
            "{status}: {e:?}"
        );
    }
}

#[tokio::test]
async fn shopify_access_denied_is_unauthorized() {
    let (e, _) = failing(Fail::AccessDenied).await;
    assert!(
        matches!(&e, ProviderError::Unauthorized { message } if message.contains("write_products")),
        "{e:?}"
    );
}

#[tokio::test]
async fn shopify_unknown_product_is_not_found() {
    let (fake, loaded) = setup().await;
    let (_, report) = run(
        &loaded.provider,
        "get_product",
        &json!({"product_id": "999"}),
        Mode::Live,
        Profile::Write,
    )
    .await;
    let e = provider_error(&report);
    assert!(
        matches!(e, ProviderError::Provider { code, retryable: false, .. } if code == "not_found"),
        "{e:?}"
    );
    assert_eq!(fake.hits().len(), 1);
}
