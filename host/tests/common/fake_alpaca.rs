//! A fake of the Alpaca Trading API v2 endpoints the provider uses, speaking
//! the shapes of the official spec (`tests/specs/alpaca/`): both
//! `APCA-API-*` headers on every request, JSON order bodies whose numbers are
//! strings, `Order` / `Account` / `Position` JSON, unique
//! `client_order_id`s, and `{"code": ..., "message": ...}` errors.

use serde_json::{Value, json};
use std::sync::Mutex;

use super::fake_server::{Api, Reply, Seen};

pub const KEY_ID: &str = "PKCANARY7Q2W9E4R1T6Y";
pub const SECRET_KEY: &str = "alpacasecretcanary3f8a1c9e7d2b5f40";
/// An open order in the fake account.
pub const OPEN_ORDER: &str = "61e69015-8549-4bfd-b9c3-01e75843f47d";
/// A filled order in the fake account (cannot be canceled).
pub const FILLED_ORDER: &str = "7b08df51-c1ac-453c-99f9-323a5f075f0d";
/// The fill price of every market order.
pub const FILL_PRICE: &str = "187.5";

const ORDER_FIELDS: &[&str] = &[
    "symbol",
    "side",
    "type",
    "time_in_force",
    "qty",
    "notional",
    "limit_price",
    "extended_hours",
    "client_order_id",
];

#[derive(Default)]
pub struct AlpacaApi {
    orders: Mutex<Vec<Value>>,
}

impl AlpacaApi {
    /// Every order, the seeded ones first.
    pub fn orders(&self) -> Vec<Value> {
        self.seeded();
        self.orders.lock().expect("orders").clone()
    }

    fn seeded(&self) {
        let mut orders = self.orders.lock().expect("orders");
        if orders.is_empty() {
            orders.push(order(
                OPEN_ORDER,
                "seed-open",
                "AAPL",
                "buy",
                "limit",
                Some("1"),
                None,
                Some("150"),
                "new",
            ));
            orders.push(order(
                FILLED_ORDER,
                "seed-filled",
                "MSFT",
                "buy",
                "market",
                Some("2"),
                None,
                None,
                "filled",
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn order(
    id: &str,
    client_order_id: &str,
    symbol: &str,
    side: &str,
    kind: &str,
    qty: Option<&str>,
    notional: Option<&str>,
    limit_price: Option<&str>,
    status: &str,
) -> Value {
    let filled = status == "filled";
    json!({
        "id": id, "client_order_id": client_order_id,
        "created_at": "2026-11-20T14:30:00.123456Z", "updated_at": "2026-11-20T14:30:00.123456Z",
        "submitted_at": "2026-11-20T14:30:00.123456Z",
        "filled_at": if filled { json!("2026-11-20T14:30:01Z") } else { Value::Null },
        "expired_at": null, "canceled_at": null, "failed_at": null,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": symbol,
        "asset_class": if symbol.contains('/') { "crypto" } else { "us_equity" },
        "qty": qty, "notional": notional,
        "filled_qty": if filled { json!(qty.unwrap_or("0")) } else { json!("0") },
        "filled_avg_price": if filled { json!(FILL_PRICE) } else { Value::Null },
        "order_class": "", "order_type": kind, "type": kind, "side": side,
        "time_in_force": "day", "limit_price": limit_price, "stop_price": null,
        "status": status, "extended_hours": false, "legs": null
    })
}

fn error(status: u16, code: u64, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message}))
}

fn position(symbol: &str) -> Value {
    json!({
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": symbol, "exchange": "NASDAQ",
        "asset_class": "us_equity", "asset_marginable": true, "avg_entry_price": "180.25",
        "qty": "10", "qty_available": "10", "side": "long", "market_value": "1875",
        "cost_basis": "1802.5", "unrealized_pl": "72.5", "unrealized_plpc": "0.0402",
        "unrealized_intraday_pl": "5", "unrealized_intraday_plpc": "0.0027",
        "current_price": "187.5", "lastday_price": "187", "change_today": "0.0027"
    })
}

/// A decimal string, as Alpaca wants numbers in order bodies.
fn decimal_string(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        !s.is_empty() && s.parse::<f64>().is_ok_and(|f| f > 0.0) && !s.contains(['e', 'E'])
    })
}

impl AlpacaApi {
    fn place(&self, req: &Seen) -> Reply {
        if req.header("content-type") != Some("application/json") {
            return error(415, 40010000, "content-type must be application/json");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return error(400, 40010000, "request body is not JSON");
        };
        let Some(fields) = body.as_object() else {
            return error(422, 40010000, "request body must be an object");
        };
        if let Some(k) = fields.keys().find(|k| !ORDER_FIELDS.contains(&k.as_str())) {
            return error(422, 40010000, &format!("unknown field {k}"));
        }
        for k in ["symbol", "side", "type", "time_in_force"] {
            if !body[k].is_string() {
                return error(422, 40010000, &format!("{k} is required"));
            }
        }
        for k in ["qty", "notional", "limit_price"] {
            if fields.contains_key(k) && !decimal_string(&body[k]) {
                return error(
                    422,
                    40010000,
                    &format!("{k} must be a positive decimal string"),
                );
            }
        }
        if fields.contains_key("qty") == fields.contains_key("notional") {
            return error(422, 40010000, "qty or notional is required, not both");
        }
        if (body["type"] == "limit") != fields.contains_key("limit_price") {
            return error(
                422,
                40010000,
                "limit_price is required for limit orders only",
            );
        }
        let client_order_id = body["client_order_id"]
            .as_str()
            .unwrap_or("generated")
            .to_string();
        self.seeded();
        let mut orders = self.orders.lock().expect("orders");
        if orders
            .iter()
            .any(|o| o["client_order_id"] == client_order_id.as_str())
        {
            return error(422, 40010001, "client_order_id must be unique");
        }
        let id = format!("0a4d2b6c-7e1f-4c3a-9b8d-{:012x}", orders.len());
        let status = if body["type"] == "market" && fields.contains_key("qty") {
            "filled"
        } else {
            "accepted"
        };
        let o = order(
            &id,
            &client_order_id,
            body["symbol"].as_str().unwrap_or_default(),
            body["side"].as_str().unwrap_or_default(),
            body["type"].as_str().unwrap_or_default(),
            body["qty"].as_str(),
            body["notional"].as_str(),
            body["limit_price"].as_str(),
            status,
        );
        orders.push(o.clone());
        Reply::json(200, o)
    }
}

impl Api for AlpacaApi {
    fn answer(&self, req: &Seen) -> Reply {
        if req.header("apca-api-key-id") != Some(KEY_ID)
            || req.header("apca-api-secret-key") != Some(SECRET_KEY)
        {
            return error(401, 40110000, "request is not authorized");
        }
        self.seeded();
        let parts: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["v2", "account"]) => Reply::json(
                200,
                json!({
                    "id": "1d9eed04-be39-4e01-9b84-a48ac5bbafcf", "account_number": "PA3CANARY01",
                    "status": "ACTIVE", "currency": "USD", "cash": "12086.50",
                    "buying_power": "24543.26", "portfolio_value": "13346.11", "equity": "13346.11",
                    "pattern_day_trader": false, "trading_blocked": false, "account_blocked": false,
                    "transfers_blocked": false, "shorting_enabled": true, "multiplier": "2",
                    "created_at": "2026-01-01T18:20:20.272275Z"
                }),
            ),
            ("GET", ["v2", "positions"]) => Reply::json(200, json!([position("AAPL")])),
            ("GET", ["v2", "positions", symbol]) => {
                if *symbol == "AAPL" {
                    Reply::json(200, position("AAPL"))
                } else {
                    error(404, 40410000, "position does not exist")
                }
            }
            ("DELETE", ["v2", "positions", symbol]) => {
                if *symbol != "AAPL" {
                    return error(404, 40410000, "position does not exist");
                }
                let q = req.query_pairs();
                if q.len() > 1 || q.iter().any(|(k, _)| k != "qty" && k != "percentage") {
                    return error(422, 40010000, "qty or percentage, not both");
                }
                let qty = q
                    .iter()
                    .find(|(k, _)| k == "qty")
                    .map_or("10", |(_, v)| v.as_str());
                let o = order(
                    "9c2f1e0d-3b4a-4c5d-8e7f-000000000abc",
                    "close-aapl",
                    "AAPL",
                    "sell",
                    "market",
                    Some(qty),
                    None,
                    None,
                    "accepted",
                );
                self.orders.lock().expect("orders").push(o.clone());
                Reply::json(200, o)
            }
            ("POST", ["v2", "orders"]) => self.place(req),
            ("GET", ["v2", "orders:by_client_order_id"]) => {
                let q = req.query_pairs();
                let Some((_, key)) = q.iter().find(|(k, _)| k == "client_order_id") else {
                    return error(422, 40010000, "client_order_id is required");
                };
                let orders = self.orders.lock().expect("orders");
                match orders.iter().find(|o| o["client_order_id"] == key.as_str()) {
                    Some(o) => Reply::json(200, o.clone()),
                    None => error(404, 40410000, "order not found"),
                }
            }
            ("GET" | "DELETE", ["v2", "orders", id]) => {
                let mut orders = self.orders.lock().expect("orders");
                let Some(o) = orders.iter_mut().find(|o| o["id"] == *id) else {
                    return error(404, 40410000, "order not found");
                };
                if req.method == "GET" {
                    return Reply::json(200, o.clone());
                }
                if o["status"] == "filled" || o["status"] == "canceled" {
                    return error(422, 42210000, "order is not cancelable");
                }
                o["status"] = json!("canceled");
                Reply::empty(204)
            }
            _ => error(
                404,
                40410000,
                &format!("no route for {} {}", req.method, req.path),
            ),
        }
    }
}
