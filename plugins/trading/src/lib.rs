//! `trading`: an Autopack provider for the Alpaca Trading API v2.
//!
//! | operation | effect | Alpaca request |
//! |---|---|---|
//! | `get_account` | read | `GET /v2/account` |
//! | `list_positions` | read | `GET /v2/positions` |
//! | `place_order` | trade, spend = buy notional | `POST /v2/orders` (JSON; `client_order_id` = idempotency key) |
//! | `cancel_order` | draft | `DELETE /v2/orders/{order_id}` |
//! | `close_position` | trade | `DELETE /v2/positions/{symbol}` |
//!
//! `lookup` asks `GET /v2/orders:by_client_order_id` what became of an
//! order whose action ended `unknown`.
//!
//! Settings: `environment` = `paper` (default, `https://paper-api.alpaca.markets`)
//! or `live` (`https://api.alpaca.markets`), and `base_url` to override both
//! (tests). The declared origin follows the effective base URL. Secrets
//! `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY` are injected by the host as the
//! `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers; this component never
//! sees them.
//!
//! In dry-run a write is never sent: the provider reads the account, order or
//! position concerned and returns the exact request it would make.

mod ops;

use autopack_sdk::http::Response;
use autopack_sdk::types::{
    Amount, CallContext, Mode, Outcome, OutcomeStatus, ProviderError, ProviderFailure,
    ProviderInfo, Validated,
};
use autopack_sdk::{Guest, export_provider, host, log, params};
use serde_json::{Value, json};

use autopack_sdk::rest::{Call, Decimal, clip, origin_of, status_error};
use ops::Plan;

/// Alpaca's paper trading API: the default.
const PAPER_BASE_URL: &str = "https://paper-api.alpaca.markets";
/// Alpaca's live trading API.
const LIVE_BASE_URL: &str = "https://api.alpaca.markets";

struct Trading;

/// The effective base URL (no trailing slash), or why the settings are wrong.
fn base_url() -> Result<String, String> {
    if let Some(url) = host::setting("base_url") {
        let url = url.trim().trim_end_matches('/');
        if !url.is_empty() {
            return Ok(url.to_string());
        }
    }
    match host::setting("environment").as_deref().map(str::trim) {
        None | Some("paper") => Ok(PAPER_BASE_URL.into()),
        Some("live") => Ok(LIVE_BASE_URL.into()),
        Some(other) => Err(format!(
            "setting environment = `{other}` is invalid: expected `paper` or `live`"
        )),
    }
}

fn base() -> Result<String, ProviderError> {
    base_url().map_err(ProviderError::Denied)
}

fn plan(ctx: &CallContext, operation: &str, p: &str) -> Result<Plan, ProviderError> {
    ops::plan(operation, &params::object(p)?, &ctx.idempotency_key)
}

/// Maps an Alpaca error (`{"code": 40010001, "message": "..."}`).
///
/// The spec gives two statuses an operation-specific meaning: 403 on an order
/// means buying power or shares are not sufficient (not bad credentials), and
/// 422 on a cancel means the order can no longer be canceled.
fn error_of(operation: &str, resp: &Response) -> ProviderError {
    let body = resp.json();
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| clip(&resp.text()));
    let failure = |code: &str| {
        ProviderError::Provider(ProviderFailure {
            code: code.into(),
            message: message.clone(),
            retryable: false,
        })
    };
    match (operation, resp.status) {
        ("place_order" | "close_position", 403) => failure("forbidden"),
        ("cancel_order", 422) => failure("not_cancelable"),
        _ => status_error(resp, message),
    }
}

/// Sends a request and returns its JSON body (`null` for 204), or the mapped error.
fn fetch(operation: &str, call: &Call, base: &str) -> Result<Value, ProviderError> {
    let resp = call.send(base)?;
    if (200..300).contains(&resp.status) {
        Ok(resp.json())
    } else {
        Err(error_of(operation, &resp))
    }
}

fn decimal(v: &Value) -> Option<Decimal> {
    v.as_str().and_then(Decimal::parse)
}

/// What a buy order has spent so far: filled qty × average fill price, in
/// cents rounded up; `None` for sells and when the numbers are not given.
fn filled_spend(order: &Value) -> Option<Amount> {
    if order["side"] != "buy" {
        return None;
    }
    let cents = decimal(&order["filled_qty"])?
        .checked_mul(decimal(&order["filled_avg_price"])?)?
        .ceil_cents()?;
    Some(Amount {
        minor_units: cents,
        unit: "USD".into(),
    })
}

/// An order as an outcome: `completed` once filled, else `accepted` (its
/// current status is in the summary and `data`).
fn order_outcome(verb: &str, order: Value, spend: Option<Amount>) -> Outcome {
    let status = order["status"].as_str().unwrap_or("unknown").to_string();
    let amount = order["qty"]
        .as_str()
        .map(|q| format!("{q} "))
        .or_else(|| order["notional"].as_str().map(|n| format!("${n} of ")))
        .unwrap_or_default();
    Outcome {
        status: if status == "filled" {
            OutcomeStatus::Completed
        } else {
            OutcomeStatus::Accepted
        },
        external_ref: order["id"].as_str().map(str::to_string),
        summary: format!(
            "{verb} {} {amount}{}: order {} is {status}",
            order["side"].as_str().unwrap_or("?"),
            order["symbol"].as_str().unwrap_or("?"),
            order["id"].as_str().unwrap_or("?"),
        ),
        spend,
        data: order.to_string(),
    }
}

/// A dry-run of a write: read the current state, describe the request, send nothing.
fn preview(operation: &str, plan: &Plan, base: &str) -> Result<Outcome, ProviderError> {
    let current = match &plan.before {
        Some(read) => fetch(operation, read, base)?,
        None => Value::Null,
    };
    log::info(&format!(
        "dry-run: would send {} {} (not sent)",
        plan.call.method, plan.call.path
    ));
    let p = &plan.params;
    let mut warnings = Vec::new();
    let summary = match operation {
        "place_order" => {
            if current["trading_blocked"] == true || current["account_blocked"] == true {
                warnings.push("the account is blocked from trading".to_string());
            }
            let buying_power = decimal(&current["buying_power"]).and_then(Decimal::ceil_cents);
            if let (Some(spend), Some(bp)) = (&plan.spend, buying_power)
                && spend.minor_units > bp
            {
                warnings.push(format!(
                    "the declared spend ({} cents) is above the buying power ({bp} cents)",
                    spend.minor_units
                ));
            }
            let size = p["qty"]
                .as_str()
                .map(str::to_string)
                .or_else(|| p["notional"].as_str().map(|n| format!("${n} of")))
                .unwrap_or_default();
            format!(
                "would place a {} {} order: {} {size} {}",
                p["type"].as_str().unwrap_or_default(),
                p["time_in_force"].as_str().unwrap_or_default(),
                p["side"].as_str().unwrap_or_default(),
                p["symbol"].as_str().unwrap_or_default()
            )
        }
        "cancel_order" => format!(
            "would cancel order {} ({} {})",
            p["order_id"].as_str().unwrap_or_default(),
            current["symbol"].as_str().unwrap_or("?"),
            current["status"].as_str().unwrap_or("?")
        ),
        _ => format!(
            "would close {} of the {} position",
            p["qty"]
                .as_str()
                .or(p["percentage"].as_str().map(|_| "part"))
                .unwrap_or("all"),
            p["symbol"].as_str().unwrap_or_default()
        ),
    };
    let spend = plan
        .spend
        .as_ref()
        .map(|a| json!({"minor_units": a.minor_units, "unit": a.unit}));
    Ok(Outcome {
        status: OutcomeStatus::Previewed,
        external_ref: p["order_id"].as_str().map(str::to_string),
        summary,
        spend: None,
        data: json!({
            "preview": plan.call.preview(base),
            "current": current,
            "spend": spend,
            "warnings": warnings,
        })
        .to_string(),
    })
}

impl Guest for Trading {
    fn describe() -> ProviderInfo {
        // A bad `environment` becomes an origin that cannot be granted, so
        // the host refuses to load the provider and shows why.
        let origin = base_url().map_or_else(|why| why, |url| origin_of(&url));
        ProviderInfo {
            domain: "trading".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: ops::operations(),
            origins: vec![origin],
            secrets: vec!["APCA_API_KEY_ID".into(), "APCA_API_SECRET_KEY".into()],
            settings: vec!["environment".into(), "base_url".into()],
            supports_lookup: true,
        }
    }

    fn validate(
        ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let plan = plan(&ctx, &operation, &p)?;
        Ok(Validated {
            params: plan.params.to_string(),
            spend: plan.spend,
        })
    }

    fn execute(ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let plan = plan(&ctx, &operation, &p)?;
        let base = base()?;
        if plan.call.is_write() && ctx.mode == Mode::DryRun {
            return preview(&operation, &plan, &base);
        }
        let body = fetch(&operation, &plan.call, &base)?;
        let read = |summary: String, external_ref: Option<String>, body: Value| Outcome {
            status: OutcomeStatus::Completed,
            external_ref,
            summary,
            spend: None,
            data: body.to_string(),
        };
        Ok(match operation.as_str() {
            "get_account" => read(
                format!(
                    "account {} is {}: buying power {} {}",
                    body["account_number"].as_str().unwrap_or("?"),
                    body["status"].as_str().unwrap_or("?"),
                    body["buying_power"].as_str().unwrap_or("?"),
                    body["currency"].as_str().unwrap_or("")
                ),
                body["id"].as_str().map(str::to_string),
                body,
            ),
            "list_positions" => read(
                format!("{} open positions", body.as_array().map_or(0, Vec::len)),
                None,
                body,
            ),
            "place_order" => {
                // Until it is filled, the reservation is what the order may still spend.
                let spend = if body["status"] == "filled" {
                    filled_spend(&body).or(plan.spend)
                } else {
                    plan.spend
                };
                order_outcome("placed", body, spend)
            }
            "close_position" => order_outcome("closing", body, None),
            _ => read(
                format!(
                    "canceled order {}",
                    plan.params["order_id"].as_str().unwrap_or_default()
                ),
                plan.params["order_id"].as_str().map(str::to_string),
                json!({"canceled": plan.params["order_id"]}),
            ),
        })
    }

    fn lookup(ctx: CallContext) -> Option<Outcome> {
        let key = ctx.idempotency_key.trim();
        if key.is_empty() {
            return None;
        }
        let base = base().ok()?;
        let mut call = Call::new("GET", "/v2/orders:by_client_order_id".into());
        call.query.push(("client_order_id".into(), key.to_string()));
        match fetch("lookup", &call, &base) {
            Ok(order) if order.is_object() => {
                let spend = filled_spend(&order);
                Some(order_outcome("found", order, spend))
            }
            Ok(_) => None,
            Err(e) => {
                log::warn(&format!("lookup of client_order_id `{key}` failed: {e:?}"));
                None
            }
        }
    }
}

export_provider!(Trading);
