//! The `trading` provider component against its fake Alpaca Trading API.

use autopack_host::governance::{Effect, Mode, Tier};
use autopack_host::runtime::CallError;
use autopack_host::runtime::types::{Amount, OutcomeStatus, ProviderError, SpendSource};
use autopack_host::sandbox::egress::Profile;
use serde_json::{Value, json};

use crate::fake_alpaca::{AlpacaApi, FILLED_ORDER, KEY_ID, OPEN_ORDER, SECRET_KEY};
use crate::harness::{
    Cred, Fake, Loaded, MODES, PROFILES, Setup, Subject, ctx, load, outcome, provider_error,
    try_load,
};

pub const SECRETS: &[&str] = &[KEY_ID, SECRET_KEY];

pub const CREDENTIALS: &[Cred] = &[
    Cred {
        header: "APCA-API-KEY-ID",
        value: "{APCA_API_KEY_ID}",
    },
    Cred {
        header: "APCA-API-SECRET-KEY",
        value: "{APCA_API_SECRET_KEY}",
    },
];

/// The entry an operator writes; `base_url` points at `origin` when given.
pub fn setup<'a>(origin: &str, settings: Vec<(&'a str, String)>) -> Setup<'a> {
    Setup {
        domain: "trading",
        component: autopack_test_artifacts::AUTOPACK_TRADING,
        origins: vec![origin.to_string()],
        settings,
        credentials: CREDENTIALS,
        env: vec![
            ("APCA_API_KEY_ID", KEY_ID),
            ("APCA_API_SECRET_KEY", SECRET_KEY),
        ],
    }
}

async fn start() -> (Fake<AlpacaApi>, Loaded) {
    let fake = Fake::<AlpacaApi>::start().await;
    let loaded = load(&setup(
        &fake.origin(),
        vec![("environment", "paper".into()), ("base_url", fake.origin())],
    ))
    .await;
    (fake, loaded)
}

fn subject(loaded: &Loaded) -> Subject<'_> {
    Subject {
        provider: &loaded.provider,
        secrets: SECRETS,
    }
}

fn usd(cents: i64) -> Amount {
    Amount {
        minor_units: cents,
        unit: "USD".into(),
    }
}

pub fn limit_buy() -> Value {
    json!({"symbol": "aapl", "side": "buy", "type": "limit", "qty": "3", "limit_price": 101.255, "time_in_force": "gtc"})
}

/// Every write operation: params, and the request it must make.
pub fn write_cases() -> Vec<(&'static str, Value, &'static str, String)> {
    vec![
        ("place_order", limit_buy(), "POST", "/v2/orders".into()),
        (
            "cancel_order",
            json!({"order_id": OPEN_ORDER.to_uppercase()}),
            "DELETE",
            format!("/v2/orders/{OPEN_ORDER}"),
        ),
        (
            "close_position",
            json!({"symbol": "AAPL", "qty": "2.5"}),
            "DELETE",
            "/v2/positions/AAPL".into(),
        ),
    ]
}

fn assert_credentials(fake: &Fake<AlpacaApi>) {
    let seen = fake.seen();
    assert!(!seen.is_empty(), "no request reached the fake");
    for s in seen {
        assert_eq!(
            s.header("apca-api-key-id"),
            Some(KEY_ID),
            "{} {}",
            s.method,
            s.path
        );
        assert_eq!(s.header("apca-api-secret-key"), Some(SECRET_KEY));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_describe_declares_operations_origin_secrets_and_settings() {
    let (fake, loaded) = start().await;
    let info = loaded.provider.info();
    assert_eq!(info.domain, "trading");
    assert_eq!(info.origins, vec![fake.origin()]);
    assert_eq!(info.secrets, vec!["APCA_API_KEY_ID", "APCA_API_SECRET_KEY"]);
    assert_eq!(info.settings, vec!["environment", "base_url"]);
    assert!(info.supports_lookup);
    let ops: Vec<(&str, Effect, Tier)> = info
        .operations
        .iter()
        .map(|o| (o.name.as_str(), o.effect, o.tier))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("get_account", Effect::Read, Tier::A),
            ("list_positions", Effect::Read, Tier::A),
            ("place_order", Effect::Trade, Tier::C),
            ("cancel_order", Effect::Draft, Tier::B),
            ("close_position", Effect::Trade, Tier::C),
        ]
    );
    for op in &info.operations {
        assert_eq!(
            op.params_schema["additionalProperties"], false,
            "{}",
            op.name
        );
        assert_eq!(
            op.params_schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(
            matches!(op.spend, SpendSource::Computed { .. }),
            op.name == "place_order",
            "{}",
            op.name
        );
    }
    assert!(fake.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_environment_selects_the_paper_or_live_api() {
    for (env, origin) in [
        (None, "https://paper-api.alpaca.markets"),
        (Some("paper"), "https://paper-api.alpaca.markets"),
        (Some("live"), "https://api.alpaca.markets"),
    ] {
        let settings = env
            .map(|e| ("environment", e.to_string()))
            .into_iter()
            .collect();
        let loaded = load(&setup(origin, settings)).await;
        assert_eq!(loaded.provider.info().origins, vec![origin], "{env:?}");
    }
    // Live credentials granted only for paper: the live provider does not load.
    let s = setup(
        "https://paper-api.alpaca.markets",
        vec![("environment", "live".into())],
    );
    let err = try_load(&s).await.0.err().expect("must not load");
    assert!(
        err.to_string()
            .contains("needs origin `https://api.alpaca.markets"),
        "{err}"
    );
    // A typo does not silently fall back to paper (or live).
    let s = setup(
        "https://paper-api.alpaca.markets",
        vec![("environment", "demo".into())],
    );
    let err = try_load(&s).await.0.err().expect("must not load");
    assert!(
        err.to_string().contains("environment = `demo` is invalid"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_validate_normalizes_params_and_declares_spend() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    // (params, normalized, declared spend)
    let cases = vec![
        (
            limit_buy(),
            json!({"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "gtc",
                   "qty": "3", "limit_price": "101.255"}),
            // 3 × 101.255 = 303.765, rounded up to the cent.
            Some(usd(30_377)),
        ),
        (
            json!({"symbol": " msft ", "side": "buy", "type": "market", "notional": "150.50"}),
            json!({"symbol": "MSFT", "side": "buy", "type": "market", "time_in_force": "day",
                   "notional": "150.5"}),
            Some(usd(15_050)),
        ),
        (
            json!({"symbol": "btc/usd", "side": "buy", "type": "market", "qty": 0.0125,
                   "max_notional": "1500", "time_in_force": "gtc"}),
            json!({"symbol": "BTC/USD", "side": "buy", "type": "market", "time_in_force": "gtc",
                   "qty": "0.0125", "max_notional": "1500.00"}),
            Some(usd(150_000)),
        ),
        (
            json!({"symbol": "AAPL", "side": "sell", "type": "market", "qty": "10"}),
            json!({"symbol": "AAPL", "side": "sell", "type": "market", "time_in_force": "day",
                   "qty": "10"}),
            None,
        ),
        (
            json!({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1", "limit_price": "150",
                   "extended_hours": true}),
            json!({"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "day",
                   "qty": "1", "limit_price": "150", "extended_hours": true}),
            Some(usd(15_000)),
        ),
    ];
    for (params, normalized, spend) in cases {
        let v = s
            .validate("place_order", &params, "order-key-1")
            .await
            .unwrap();
        assert_eq!(v.params, normalized, "{params}");
        assert_eq!(v.spend, spend, "{params}");
        loaded
            .provider
            .check_params("place_order", &v.params)
            .unwrap();
    }
    let v = s
        .validate(
            "cancel_order",
            &json!({"order_id": OPEN_ORDER.to_uppercase()}),
            "k",
        )
        .await
        .unwrap();
    assert_eq!(v.params, json!({"order_id": OPEN_ORDER}));
    let v = s
        .validate(
            "close_position",
            &json!({"symbol": "aapl", "percentage": 50}),
            "k",
        )
        .await
        .unwrap();
    assert_eq!(v.params, json!({"symbol": "AAPL", "percentage": "50"}));
    assert_eq!(v.spend, None);
    assert!(
        fake.seen().is_empty(),
        "validate must not touch the network"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_validate_rejects_bad_params_naming_the_field() {
    let (_fake, loaded) = start().await;
    let s = subject(&loaded);
    let order = |extra: Value| {
        let mut p = json!({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1", "limit_price": "10"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                p.as_object_mut().unwrap().remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    };
    // (operation, params, field, whether the host-side schema also catches it)
    let cases: Vec<(&str, Value, &str, bool)> = vec![
        (
            "place_order",
            order(json!({"symbol": null})),
            "/symbol",
            true,
        ),
        (
            "place_order",
            order(json!({"symbol": "AAPL; DROP"})),
            "/symbol",
            true,
        ),
        (
            "place_order",
            order(json!({"side": "short"})),
            "/side",
            true,
        ),
        ("place_order", order(json!({"type": "stop"})), "/type", true),
        (
            "place_order",
            order(json!({"time_in_force": "forever"})),
            "/time_in_force",
            true,
        ),
        ("place_order", order(json!({"qty": null})), "/qty", true),
        ("place_order", order(json!({"qty": "0"})), "/qty", false),
        (
            "place_order",
            order(json!({"qty": "1.0000000001"})),
            "/qty",
            true,
        ),
        ("place_order", order(json!({"qty": "-1"})), "/qty", true),
        (
            "place_order",
            order(json!({"notional": "100"})),
            "/notional",
            true,
        ),
        (
            "place_order",
            order(json!({"limit_price": null})),
            "/limit_price",
            true,
        ),
        (
            "place_order",
            order(json!({"limit_price": "1.23456"})),
            "/limit_price",
            true,
        ),
        (
            "place_order",
            json!({"symbol": "AAPL", "side": "buy", "type": "market", "qty": "1", "limit_price": "10", "max_notional": "20"}),
            "/limit_price",
            true,
        ),
        (
            "place_order",
            json!({"symbol": "AAPL", "side": "buy", "type": "market", "qty": "5"}),
            "/max_notional",
            true,
        ),
        (
            "place_order",
            json!({"symbol": "AAPL", "side": "sell", "type": "market", "qty": "5", "max_notional": "900"}),
            "/max_notional",
            true,
        ),
        (
            "place_order",
            json!({"symbol": "AAPL", "side": "buy", "type": "market", "notional": "100", "time_in_force": "gtc"}),
            "/notional",
            false,
        ),
        (
            "place_order",
            order(json!({"extended_hours": "yes"})),
            "/extended_hours",
            true,
        ),
        (
            "place_order",
            order(json!({"time_in_force": "ioc", "extended_hours": true})),
            "/extended_hours",
            false,
        ),
        (
            "place_order",
            order(json!({"client_order_id": "mine"})),
            "/client_order_id",
            true,
        ),
        ("cancel_order", json!({"order_id": "42"}), "/order_id", true),
        ("cancel_order", json!({}), "/order_id", true),
        (
            "close_position",
            json!({"symbol": "AAPL", "qty": "1", "percentage": "5"}),
            "/percentage",
            true,
        ),
        (
            "close_position",
            json!({"symbol": "AAPL", "percentage": "100.5"}),
            "/percentage",
            false,
        ),
        ("get_account", json!({"verbose": true}), "/verbose", true),
    ];
    for (op, params, field, schema_catches) in cases {
        match s.validate(op, &params, "k").await {
            Err(CallError::Provider(ProviderError::InvalidParams { field: f, message })) => {
                assert_eq!(f, field, "{op} {params}: {message}");
            }
            other => panic!("{op} {params}: expected invalid params at {field}, got {other:?}"),
        }
        assert_eq!(
            loaded.provider.check_params(op, &params).is_err(),
            schema_catches,
            "host-side schema for {op} {params}"
        );
    }
    // The idempotency key becomes client_order_id, which Alpaca caps at 128.
    let long = "k".repeat(129);
    match s.validate("place_order", &limit_buy(), &long).await {
        Err(CallError::Provider(ProviderError::InvalidParams { message, .. })) => {
            assert!(message.contains("128"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_reads_complete_in_every_profile_and_mode() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for profile in PROFILES {
        for mode in MODES {
            fake.reset();
            let r = s.run("get_account", json!({}), mode, profile, "k").await;
            let o = outcome(&r);
            assert_eq!(o.status, OutcomeStatus::Completed);
            assert_eq!(o.data["account_number"], "PA3CANARY01");
            assert!(o.summary.contains("24543.26"), "{}", o.summary);
            let r = s.run("list_positions", json!({}), mode, profile, "k").await;
            let o = outcome(&r);
            assert_eq!(o.data[0]["symbol"], "AAPL");
            assert_eq!(o.summary, "1 open positions");
            assert_eq!(fake.count("GET", "/v2/account"), 1);
            assert_eq!(fake.count("GET", "/v2/positions"), 1);
            assert_eq!(fake.seen().len(), 2);
            assert_credentials(&fake);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_trading_dry_run_of_every_write_sends_no_write() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for profile in PROFILES {
        for (op, params, method, path) in write_cases() {
            fake.reset();
            let r = s.run(op, params, Mode::DryRun, profile, "dry-key").await;
            let o = outcome(&r);
            assert_eq!(o.status, OutcomeStatus::Previewed, "{op}");
            assert_eq!(o.spend, None);
            assert_eq!(o.data["preview"]["method"], method, "{op}");
            assert_eq!(o.data["preview"]["path"], path.as_str(), "{op}");
            assert_eq!(r.attempted_writes().count(), 0, "{op} {profile:?}");
            assert!(fake.writes().is_empty(), "{op} wrote in dry-run");
            assert_eq!(fake.seen().len(), 1, "{op}: one read of the current state");
            assert!(o.data["current"].is_object(), "{op}: {}", o.data);
        }
    }
    let r = s
        .run(
            "place_order",
            limit_buy(),
            Mode::DryRun,
            Profile::Write,
            "dry-key",
        )
        .await;
    let o = outcome(&r);
    assert_eq!(
        o.data["preview"]["json"],
        json!({"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "gtc",
               "qty": "3", "limit_price": "101.255", "client_order_id": "dry-key"})
    );
    assert_eq!(
        o.data["spend"],
        json!({"minor_units": 30_377, "unit": "USD"})
    );
    assert_eq!(o.data["warnings"], json!([]));
    // A buy above the buying power is flagged in the preview.
    let big = json!({"symbol": "AAPL", "side": "buy", "type": "market", "notional": "99999"});
    let r = s
        .run("place_order", big, Mode::DryRun, Profile::Write, "k2")
        .await;
    let w = outcome(&r).data["warnings"].to_string();
    assert!(w.contains("above the buying power"), "{w}");
    assert_eq!(fake.api().orders().len(), 2, "no order was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i5_trading_live_writes_arrive_once_and_the_key_is_the_client_order_id() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for (op, params, method, path) in write_cases() {
        let dry = s
            .run(
                op,
                params.clone(),
                Mode::DryRun,
                Profile::Write,
                "idem-7f3a",
            )
            .await;
        let preview = outcome(&dry).data["preview"].clone();
        fake.reset();
        let r = s
            .run(op, params, Mode::Live, Profile::Write, "idem-7f3a")
            .await;
        let o = outcome(&r);
        assert_eq!(fake.writes().len(), 1, "{op}");
        assert_eq!(fake.count(method, &path), 1, "{op}");
        assert_credentials(&fake);
        let sent = fake.writes().remove(0);
        assert_eq!(
            String::from_utf8_lossy(&sent.body),
            preview["body"].as_str().unwrap_or_default(),
            "{op}: preview and live body differ"
        );
        match op {
            "place_order" => {
                assert_eq!(sent.header("content-type"), Some("application/json"));
                let body: Value = serde_json::from_slice(&sent.body).unwrap();
                assert_eq!(body["client_order_id"], "idem-7f3a");
                assert_eq!(body["qty"], "3");
                assert_eq!(body["limit_price"], "101.255");
                assert!(body.get("max_notional").is_none());
                assert_eq!(o.status, OutcomeStatus::Accepted);
                // Not filled yet: the reservation stands.
                assert_eq!(o.spend, Some(usd(30_377)));
                assert_eq!(o.external_ref.as_deref(), o.data["id"].as_str());
            }
            "cancel_order" => {
                assert_eq!(o.status, OutcomeStatus::Completed);
                assert_eq!(o.external_ref.as_deref(), Some(OPEN_ORDER));
            }
            _ => {
                assert_eq!(sent.query, "qty=2.5");
                assert_eq!(o.status, OutcomeStatus::Accepted);
                assert_eq!(o.data["side"], "sell");
                assert_eq!(o.spend, None);
            }
        }
    }
    // A filled market buy reports what it actually spent: 2 × 187.5.
    let r = s
        .run(
            "place_order",
            json!({"symbol": "NVDA", "side": "buy", "type": "market", "qty": "2", "max_notional": "400"}),
            Mode::Live,
            Profile::Write,
            "idem-fill",
        )
        .await;
    let o = outcome(&r);
    assert_eq!(o.status, OutcomeStatus::Completed);
    assert_eq!(o.spend, Some(usd(37_500)));
    // The same key again is refused by Alpaca, not sent as a second order.
    let r = s
        .run(
            "place_order",
            limit_buy(),
            Mode::Live,
            Profile::Write,
            "idem-7f3a",
        )
        .await;
    assert!(
        matches!(provider_error(&r), ProviderError::InvalidParams { message, .. } if message.contains("client_order_id must be unique"))
    );
    let placed = fake
        .api()
        .orders()
        .iter()
        .filter(|o| o["client_order_id"] == "idem-7f3a")
        .count();
    assert_eq!(placed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i3_trading_live_write_under_read_only_profile_is_blocked_by_the_host() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    for (op, params, method, _) in write_cases() {
        fake.reset();
        let r = s.run(op, params, Mode::Live, Profile::ReadOnly, "k").await;
        assert!(
            matches!(provider_error(&r), ProviderError::Denied { .. }),
            "{op}"
        );
        let blocked: Vec<_> = r.attempted_writes().collect();
        assert_eq!(blocked.len(), 1, "{op}");
        assert_eq!(blocked[0].method, method);
        if op == "place_order" {
            let preview = blocked[0].body_preview.as_deref().unwrap_or_default();
            assert!(preview.contains("\"client_order_id\":\"k\""), "{preview}");
        }
        assert!(fake.writes().is_empty(), "{op} reached the server");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i6_trading_lookup_finds_the_order_by_client_order_id() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    let placed = s
        .run(
            "place_order",
            limit_buy(),
            Mode::Live,
            Profile::Write,
            "unknown-after-crash",
        )
        .await;
    let order_id = outcome(&placed).external_ref.clone().unwrap();
    fake.reset();
    let report = loaded
        .provider
        .lookup(&ctx(Mode::Live, "unknown-after-crash"))
        .await;
    crate::harness::assert_no_secrets(&report, SECRETS);
    let found = report.result.unwrap().expect("the order is found");
    assert_eq!(found.external_ref.as_deref(), Some(order_id.as_str()));
    assert_eq!(found.status, OutcomeStatus::Accepted);
    assert_eq!(found.data["client_order_id"], "unknown-after-crash");
    assert!(found.summary.contains("accepted"), "{}", found.summary);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/v2/orders:by_client_order_id");
    assert_eq!(seen[0].query, "client_order_id=unknown-after-crash");
    assert_credentials(&fake);

    // A filled order reports its spend; an unknown key is `none`.
    let found = loaded
        .provider
        .lookup(&ctx(Mode::Live, "seed-filled"))
        .await
        .result
        .unwrap()
        .unwrap();
    assert_eq!(found.status, OutcomeStatus::Completed);
    assert_eq!(found.external_ref.as_deref(), Some(FILLED_ORDER));
    assert_eq!(found.spend, Some(usd(37_500)));
    let none = loaded
        .provider
        .lookup(&ctx(Mode::Live, "never-placed"))
        .await;
    assert_eq!(none.result.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_provider_errors_map_to_contract_variants() {
    let (fake, loaded) = start().await;
    let s = subject(&loaded);
    let cases: Vec<(u16, Vec<(&'static str, String)>)> = vec![
        (401, vec![]),
        (403, vec![]),
        (404, vec![]),
        (422, vec![]),
        (429, vec![("retry-after", "3".into())]),
        (500, vec![]),
        (502, vec![]),
    ];
    for (op, params) in [("get_account", json!({})), ("place_order", limit_buy())] {
        for (status, headers) in &cases {
            fake.force(*status, headers.clone(), json!({"code": 40000000 + u32::from(*status), "message": format!("alpaca says {status}")}));
            let r = s
                .run(op, params.clone(), Mode::Live, Profile::Write, "k")
                .await;
            let e = provider_error(&r);
            let ok = match (op, status, &e) {
                (_, 401, ProviderError::Unauthorized { message }) => {
                    message.contains("alpaca says")
                }
                // On an order, 403 means buying power or shares are not sufficient.
                (
                    "place_order",
                    403,
                    ProviderError::Provider {
                        code, retryable, ..
                    },
                ) => code == "forbidden" && !retryable,
                ("get_account", 403, ProviderError::Unauthorized { .. }) => true,
                (
                    _,
                    404,
                    ProviderError::Provider {
                        code, retryable, ..
                    },
                ) => code == "not_found" && !retryable,
                (_, 422, ProviderError::InvalidParams { message, .. }) => {
                    message.contains("alpaca says 422")
                }
                (
                    _,
                    429,
                    ProviderError::RateLimited {
                        retry_after_seconds,
                        ..
                    },
                ) => *retry_after_seconds == Some(3),
                (_, 500 | 502, ProviderError::Provider { retryable, .. }) => *retryable,
                _ => false,
            };
            assert!(ok, "{op} HTTP {status} mapped to {e:?}");
        }
    }
    fake.unforce();
    // Real answers of the fake: a filled order cannot be canceled, an unknown one is not found.
    let r = s
        .run(
            "cancel_order",
            json!({"order_id": FILLED_ORDER}),
            Mode::Live,
            Profile::Write,
            "k",
        )
        .await;
    assert!(
        matches!(provider_error(&r), ProviderError::Provider { code, .. } if code == "not_cancelable")
    );
    let r = s
        .run(
            "close_position",
            json!({"symbol": "TSLA"}),
            Mode::Live,
            Profile::Write,
            "k",
        )
        .await;
    assert!(
        matches!(provider_error(&r), ProviderError::Provider { code, .. } if code == "not_found")
    );
    // Wrong keys: the fake's real 401.
    let mut wrong = setup(&fake.origin(), vec![("base_url", fake.origin())]);
    wrong.env = vec![
        ("APCA_API_KEY_ID", "PKWRONG000000000"),
        ("APCA_API_SECRET_KEY", SECRET_KEY),
    ];
    let wrong = load(&wrong).await;
    let r = Subject {
        provider: &wrong.provider,
        secrets: SECRETS,
    }
    .run("get_account", json!({}), Mode::Live, Profile::ReadOnly, "k")
    .await;
    assert!(matches!(
        provider_error(&r),
        ProviderError::Unauthorized { .. }
    ));
}
