//! The operations: params schemas, validation into normalized params and
//! declared spend, and the one Alpaca request each operation makes (a
//! *plan*). `validate` and `execute` build the same plan from the params, so
//! what was approved is what is sent.

use autopack_sdk::invalid;
use autopack_sdk::types::{Amount, Effect, Operation, ProviderError, SpendSource};
use serde_json::{Map, Value, json};

use autopack_sdk::rest::{Body, Call, Decimal, encode};

const SIDES: &[&str] = &["buy", "sell"];
const ORDER_TYPES: &[&str] = &["market", "limit"];
const TIME_IN_FORCE: &[&str] = &["day", "gtc", "opg", "cls", "ioc", "fok"];

/// Alpaca's limit on `client_order_id`.
pub const MAX_CLIENT_ORDER_ID: usize = 128;

/// How `place_order` declares its spend, as `describe` states it.
pub const PLACE_ORDER_SPEND: &str = "buys only, in USD cents: `notional`; or `qty` × `limit_price` \
     for limit orders, rounded up to the cent; or `max_notional` for market buys by `qty`. Sells declare none.";

/// What an operation will do, built from valid params.
pub struct Plan {
    /// Normalized params: what is hashed and approved.
    pub params: Value,
    /// Declared spend (USD cents).
    pub spend: Option<Amount>,
    /// The request that performs the operation.
    pub call: Call,
    /// For writes: a read that shows the current state in a dry-run preview.
    pub before: Option<Call>,
}

fn schema(properties: Value, required: &[&str], extra: Value) -> String {
    let mut s = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    });
    if let (Some(s), Value::Object(extra)) = (s.as_object_mut(), extra) {
        s.extend(extra);
    }
    s.to_string()
}

/// A positive decimal given as a string (preferred) or a JSON number.
fn decimal_schema(places: u32, description: &str) -> Value {
    json!({
        "type": ["string", "number"],
        "pattern": format!("^[0-9]+(\\.[0-9]{{1,{places}}})?$"),
        "exclusiveMinimum": 0,
        "description": description
    })
}

fn symbol_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 32,
           "pattern": "^[A-Za-z0-9]{1,21}([./][A-Za-z0-9]{1,10})?$",
           "description": "ticker, option symbol or crypto pair (`AAPL`, `BTC/USD`); uppercased"})
}

/// The operations as `describe` states them.
pub fn operations() -> Vec<Operation> {
    let none = || schema(json!({}), &[], Value::Null);
    let op = |name: &str, summary: &str, effect, params_schema, spend| Operation {
        name: name.into(),
        summary: summary.into(),
        effect,
        params_schema,
        spend,
    };
    vec![
        op(
            "get_account",
            "Read the trading account: status, cash, buying power (GET /v2/account).",
            Effect::Read,
            none(),
            SpendSource::None,
        ),
        op(
            "list_positions",
            "List all open positions (GET /v2/positions).",
            Effect::Read,
            none(),
            SpendSource::None,
        ),
        op(
            "place_order",
            "Place a market or limit order (POST /v2/orders); the idempotency key is the client_order_id.",
            Effect::Trade,
            schema(
                json!({
                    "symbol": symbol_schema(),
                    "side": {"enum": SIDES},
                    "type": {"enum": ORDER_TYPES},
                    "time_in_force": {"enum": TIME_IN_FORCE, "default": "day"},
                    "qty": decimal_schema(9, "shares or units; exactly one of qty and notional"),
                    "notional": decimal_schema(2, "USD amount for a market day order; exactly one of qty and notional"),
                    "limit_price": decimal_schema(4, "required for (and only for) limit orders"),
                    "max_notional": decimal_schema(2, "USD cap declared as the spend of a market buy by qty; required for those, refused otherwise"),
                    "extended_hours": {"type": "boolean", "description": "limit orders with time_in_force day or gtc only"}
                }),
                &["symbol", "side", "type"],
                json!({
                    "oneOf": [{"required": ["qty"]}, {"required": ["notional"]}],
                    "allOf": [
                        {"if": {"properties": {"type": {"const": "limit"}}, "required": ["type"]},
                         "then": {"required": ["limit_price"]},
                         "else": {"not": {"required": ["limit_price"]}}},
                        {"if": {"properties": {"side": {"const": "buy"}, "type": {"const": "market"}},
                                "required": ["side", "type", "qty"]},
                         "then": {"required": ["max_notional"]},
                         "else": {"not": {"required": ["max_notional"]}}}
                    ]
                }),
            ),
            SpendSource::Computed(PLACE_ORDER_SPEND.into()),
        ),
        op(
            "cancel_order",
            "Cancel an open order (DELETE /v2/orders/{order_id}).",
            Effect::Draft,
            schema(
                json!({"order_id": {"type": "string", "format": "uuid",
                                    "pattern": "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"}}),
                &["order_id"],
                Value::Null,
            ),
            SpendSource::None,
        ),
        op(
            "close_position",
            "Close all or part of a position at market (DELETE /v2/positions/{symbol}).",
            Effect::Trade,
            schema(
                json!({
                    "symbol": symbol_schema(),
                    "qty": decimal_schema(9, "shares to close; at most one of qty and percentage"),
                    "percentage": decimal_schema(9, "percent of the position to close, up to 100")
                }),
                &["symbol"],
                json!({"not": {"required": ["qty", "percentage"]}}),
            ),
            SpendSource::None,
        ),
    ]
}

fn only(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), ProviderError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            &format!("/{k}"),
            if allowed.is_empty() {
                "this operation takes no params".to_string()
            } else {
                format!(
                    "is not a field of this operation (allowed: {})",
                    allowed.join(", ")
                )
            },
        )),
        None => Ok(()),
    }
}

fn one_of(
    map: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<String>, ProviderError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            &format!("/{key}"),
            format!("must be one of: {}", allowed.join(", ")),
        )),
    }
}

fn required<T>(v: Option<T>, key: &str) -> Result<T, ProviderError> {
    v.ok_or_else(|| invalid(&format!("/{key}"), "is required"))
}

/// An optional positive decimal with at most `places` decimals.
fn positive(
    map: &Map<String, Value>,
    key: &str,
    places: u32,
) -> Result<Option<Decimal>, ProviderError> {
    let field = format!("/{key}");
    match map.get(key) {
        None => Ok(None),
        Some(v) => {
            let d = Decimal::from_json(v, &field, places)?;
            if d.is_zero() {
                Err(invalid(&field, "must be more than 0"))
            } else {
                Ok(Some(d))
            }
        }
    }
}

fn symbol(map: &Map<String, Value>) -> Result<String, ProviderError> {
    let raw = required(map.get("symbol"), "symbol")?
        .as_str()
        .ok_or_else(|| invalid("/symbol", "must be a string"))?;
    let s = raw.trim().to_ascii_uppercase();
    let (base, quote) = match s.find(['/', '.']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s.as_str(), None),
    };
    let ok = |part: &str, max: usize| {
        !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if ok(base, 21) && quote.is_none_or(|q| ok(q, 10)) {
        Ok(s)
    } else {
        Err(invalid(
            "/symbol",
            format!("`{raw}` is not a symbol like `AAPL`, `BRK.B` or `BTC/USD`"),
        ))
    }
}

fn usd(d: Decimal, field: &str) -> Result<Amount, ProviderError> {
    let cents = d
        .ceil_cents()
        .ok_or_else(|| invalid(field, "is too large"))?;
    Ok(Amount {
        minor_units: cents,
        unit: "USD".into(),
    })
}

/// Checks params and builds the plan; every error names its field.
/// `client_order_id` is the action's idempotency key.
pub fn plan(
    operation: &str,
    params: &Map<String, Value>,
    client_order_id: &str,
) -> Result<Plan, ProviderError> {
    match operation {
        "get_account" | "list_positions" => {
            only(params, &[])?;
            let path = if operation == "get_account" {
                "/v2/account"
            } else {
                "/v2/positions"
            };
            Ok(Plan {
                params: json!({}),
                spend: None,
                call: Call::new("GET", path.into()),
                before: None,
            })
        }
        "place_order" => place_order(params, client_order_id),
        "cancel_order" => {
            only(params, &["order_id"])?;
            let raw = required(params.get("order_id"), "order_id")?
                .as_str()
                .ok_or_else(|| invalid("/order_id", "must be a string"))?;
            let id = raw.trim().to_ascii_lowercase();
            let uuid_shape = id.len() == 36
                && id.char_indices().all(|(i, c)| match i {
                    8 | 13 | 18 | 23 => c == '-',
                    _ => c.is_ascii_hexdigit(),
                });
            if !uuid_shape {
                return Err(invalid(
                    "/order_id",
                    format!("`{raw}` is not an order id (a UUID)"),
                ));
            }
            Ok(Plan {
                params: json!({"order_id": id}),
                spend: None,
                call: Call::new("DELETE", format!("/v2/orders/{id}")),
                before: Some(Call::new("GET", format!("/v2/orders/{id}"))),
            })
        }
        "close_position" => {
            only(params, &["symbol", "qty", "percentage"])?;
            let symbol = symbol(params)?;
            let qty = positive(params, "qty", 9)?;
            let percentage = positive(params, "percentage", 9)?;
            let mut normalized = json!({"symbol": symbol});
            let path = format!("/v2/positions/{}", encode(&symbol));
            let mut call = Call::new("DELETE", path.clone());
            match (qty, percentage) {
                (Some(_), Some(_)) => {
                    return Err(invalid("/percentage", "give qty or percentage, not both"));
                }
                (Some(q), None) => {
                    normalized["qty"] = json!(q.text());
                    call.query.push(("qty".into(), q.text()));
                }
                (None, Some(p)) => {
                    if p.cmp_value(Decimal::parse("100").unwrap_or(p))
                        == Some(std::cmp::Ordering::Greater)
                    {
                        return Err(invalid("/percentage", "must be at most 100"));
                    }
                    normalized["percentage"] = json!(p.text());
                    call.query.push(("percentage".into(), p.text()));
                }
                (None, None) => {}
            }
            Ok(Plan {
                params: normalized,
                spend: None,
                call,
                before: Some(Call::new("GET", path)),
            })
        }
        other => Err(invalid("", format!("unknown operation `{other}`"))),
    }
}

fn place_order(params: &Map<String, Value>, client_order_id: &str) -> Result<Plan, ProviderError> {
    only(
        params,
        &[
            "symbol",
            "side",
            "type",
            "time_in_force",
            "qty",
            "notional",
            "limit_price",
            "max_notional",
            "extended_hours",
        ],
    )?;
    let symbol = symbol(params)?;
    let side = required(one_of(params, "side", SIDES)?, "side")?;
    let kind = required(one_of(params, "type", ORDER_TYPES)?, "type")?;
    let tif = one_of(params, "time_in_force", TIME_IN_FORCE)?.unwrap_or_else(|| "day".into());
    let qty = positive(params, "qty", 9)?;
    let notional = positive(params, "notional", 2)?;
    let limit_price = positive(params, "limit_price", 4)?;
    let max_notional = positive(params, "max_notional", 2)?;
    let extended_hours = match params.get("extended_hours") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid("/extended_hours", "must be true or false")),
    };
    let buy = side == "buy";
    let limit = kind == "limit";

    match (qty, notional) {
        (None, None) => return Err(invalid("/qty", "give exactly one of qty and notional")),
        (Some(_), Some(_)) => {
            return Err(invalid("/notional", "give exactly one of qty and notional"));
        }
        _ => {}
    }
    if notional.is_some() && (limit || tif != "day") {
        return Err(invalid(
            "/notional",
            "notional orders must be market orders with time_in_force `day`",
        ));
    }
    match (limit, limit_price) {
        (true, None) => return Err(invalid("/limit_price", "is required for limit orders")),
        (false, Some(_)) => {
            return Err(invalid("/limit_price", "is only for limit orders"));
        }
        _ => {}
    }
    let needs_cap = buy && !limit && qty.is_some();
    match (needs_cap, max_notional) {
        (true, None) => {
            return Err(invalid(
                "/max_notional",
                "is required for a market buy by qty: the order has no price, so state the most it may spend",
            ));
        }
        (false, Some(_)) => {
            return Err(invalid(
                "/max_notional",
                "is only for market buys by qty (other orders declare their own spend)",
            ));
        }
        _ => {}
    }
    if extended_hours == Some(true) && !(limit && (tif == "day" || tif == "gtc")) {
        return Err(invalid(
            "/extended_hours",
            "works only with limit orders and time_in_force `day` or `gtc`",
        ));
    }
    if client_order_id.chars().count() > MAX_CLIENT_ORDER_ID {
        return Err(invalid(
            "",
            format!(
                "the idempotency key is longer than {MAX_CLIENT_ORDER_ID} characters, Alpaca's limit for client_order_id"
            ),
        ));
    }

    let spend = match (buy, notional, qty, limit_price, max_notional) {
        (false, ..) => None,
        (true, Some(n), ..) => Some(usd(n, "/notional")?),
        (true, None, Some(q), Some(p), _) => Some(usd(
            q.checked_mul(p)
                .ok_or_else(|| invalid("/qty", "qty × limit_price is too large"))?,
            "/qty",
        )?),
        (true, None, _, None, Some(cap)) => Some(usd(cap, "/max_notional")?),
        _ => return Err(invalid("", "cannot work out the spend of this order")),
    };

    let mut normalized =
        json!({"symbol": symbol, "side": side, "type": kind, "time_in_force": tif});
    let mut body = normalized.clone();
    for (key, value) in [
        ("qty", qty),
        ("notional", notional),
        ("limit_price", limit_price),
    ] {
        if let Some(v) = value {
            normalized[key] = json!(v.text());
            body[key] = json!(v.text());
        }
    }
    if let Some(cap) = max_notional {
        // Ours, not Alpaca's: it bounds the declared spend and is not sent.
        normalized["max_notional"] = json!(cap.fixed(2));
    }
    if let Some(e) = extended_hours {
        normalized["extended_hours"] = json!(e);
        body["extended_hours"] = json!(e);
    }
    if !client_order_id.is_empty() {
        body["client_order_id"] = json!(client_order_id);
    }
    let mut call = Call::new("POST", "/v2/orders".into());
    call.body = Body::Json(body);
    Ok(Plan {
        params: normalized,
        spend,
        call,
        before: Some(Call::new("GET", "/v2/account".into())),
    })
}
