//! A fake of the Shopify Admin GraphQL API (2025-01).
//!
//! It parses `{query, variables}`, checks `X-Shopify-Access-Token`, answers
//! by the mutation or query root field the document names with realistic
//! `data`, `userErrors` and `extensions.cost`, and can be told to fail in
//! each of the ways the real API does.

use super::recorder::Hit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Mutex;

/// The access token the host injects (a canary: it must never show up elsewhere).
pub const TOKEN: &str = "shpat_canary_9d1e4f7a2b6c8e0f31";
/// The GraphQL endpoint path.
pub const PATH: &str = "/admin/api/2025-01/graphql.json";

/// Ways the fake can fail.
#[derive(Clone)]
pub enum Fail {
    /// An HTTP status with a body and optional `Retry-After`.
    Status(u16, Value, Option<&'static str>),
    /// `200` with a `THROTTLED` GraphQL error.
    Throttled,
    /// `200` with an `ACCESS_DENIED` GraphQL error.
    AccessDenied,
    /// `200` with these `userErrors` on the root field.
    UserErrors(Value),
}

/// The fake's state.
#[derive(Default)]
pub struct Shop {
    /// The next requests fail this way.
    pub fail: Mutex<Option<Fail>>,
}

fn cost(requested: u32, available: f64) -> Value {
    json!({
        "requestedQueryCost": requested,
        "actualQueryCost": requested,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}
    })
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn graphql_error(message: &str, code: &str) -> Response {
    reply(
        200,
        json!({"errors": [{"message": message, "extensions": {"code": code}}], "extensions": {"cost": cost(10, 1990.0)}}),
    )
}

/// A GID of `kind` with a number.
fn is_gid(v: &Value, kind: &str) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix(&format!("gid://shopify/{kind}/")))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The fake Admin API.
pub fn shopify(shop: &Shop, hit: &Hit) -> Response {
    if hit.path != PATH {
        return reply(404, json!({"errors": "Not Found"}));
    }
    if hit.method != "POST" {
        return reply(405, json!({"errors": "Method Not Allowed"}));
    }
    if hit.header("x-shopify-access-token") != Some(TOKEN) {
        return reply(
            401,
            json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        );
    }
    if !hit
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return reply(
            400,
            json!({"errors": "content-type must be application/json"}),
        );
    }
    let body = hit.json();
    let (Some(query), Some(vars)) = (body["query"].as_str(), body["variables"].as_object()) else {
        return reply(
            400,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let Some(root) = [
        "productCreate",
        "productUpdate",
        "productVariantsBulkUpdate",
        "inventoryAdjustQuantities",
        "productDelete",
        "product",
    ]
    .into_iter()
    .find(|r| query.contains(&format!("{r}(")))
    .map(str::to_string) else {
        return graphql_error("Field doesn't exist on type 'Mutation'", "undefinedField");
    };
    if let Some(fail) = shop.fail.lock().expect("fail").clone() {
        return match fail {
            Fail::Status(status, body, retry) => {
                let mut r = reply(status, body);
                if let Some(s) = retry {
                    r.headers_mut()
                        .insert("retry-after", s.parse().expect("header"));
                }
                r
            }
            Fail::Throttled => reply(
                200,
                json!({
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": cost(502, 52.0)}
                }),
            ),
            Fail::AccessDenied => graphql_error(
                "Access denied for productCreate field. Required access: `write_products` access scope.",
                "ACCESS_DENIED",
            ),
            Fail::UserErrors(errors) => {
                let mut data = json!({});
                data[&root] = json!({"userErrors": errors});
                reply(
                    200,
                    json!({"data": data, "extensions": {"cost": cost(10, 1990.0)}}),
                )
            }
        };
    }
    let bad_var = |name: &str| {
        graphql_error(
            &format!("Variable ${name} was provided invalid value"),
            "INVALID_VARIABLE",
        )
    };
    let data = match root.as_str() {
        "product" => {
            if !is_gid(&vars["id"], "Product") {
                return bad_var("id");
            }
            if vars["id"] != "gid://shopify/Product/1001" {
                json!({"product": null})
            } else {
                json!({"product": {
                    "id": "gid://shopify/Product/1001", "title": "Blue Mug", "handle": "blue-mug",
                    "status": "ACTIVE", "vendor": "Autopack", "productType": "Mug", "tags": ["mug"],
                    "totalInventory": 12, "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z",
                    "variants": {"nodes": [{"id": "gid://shopify/ProductVariant/2001", "title": "Default Title",
                        "sku": "MUG-1", "price": "19.00", "compareAtPrice": null, "inventoryQuantity": 12,
                        "inventoryItem": {"id": "gid://shopify/InventoryItem/3001"}}]}
                }})
            }
        }
        "productCreate" => {
            let p = &vars["product"];
            if p["status"] != "DRAFT" || p["title"].as_str().is_none_or(str::is_empty) {
                return bad_var("product");
            }
            json!({"productCreate": {"product": {
                "id": "gid://shopify/Product/1002", "title": p["title"], "handle": "new-product",
                "status": "DRAFT",
                "variants": {"nodes": [{"id": "gid://shopify/ProductVariant/2002", "price": "0.00",
                    "inventoryItem": {"id": "gid://shopify/InventoryItem/3002"}}]}
            }, "userErrors": []}})
        }
        "productUpdate" => {
            let p = &vars["product"];
            if p["status"] != "ACTIVE" || !is_gid(&p["id"], "Product") {
                return bad_var("product");
            }
            let mut data = json!({"productUpdate": {"product": {"id": p["id"], "status": "ACTIVE"}, "userErrors": []}});
            if query.contains("publishablePublish(") {
                let pubs = vars["publications"].as_array().cloned().unwrap_or_default();
                if pubs.is_empty()
                    || !pubs
                        .iter()
                        .all(|x| is_gid(&x["publicationId"], "Publication"))
                {
                    return bad_var("publications");
                }
                data["publishablePublish"] = json!({"userErrors": []});
            }
            data
        }
        "productVariantsBulkUpdate" => {
            let v = &vars["variants"][0];
            if !is_gid(&vars["productId"], "Product")
                || !is_gid(&v["id"], "ProductVariant")
                || !v["price"].is_string()
            {
                return bad_var("variants");
            }
            json!({"productVariantsBulkUpdate": {"productVariants": [
                {"id": v["id"], "price": v["price"], "compareAtPrice": v.get("compareAtPrice").cloned().unwrap_or(Value::Null)}
            ], "userErrors": []}})
        }
        "inventoryAdjustQuantities" => {
            let i = &vars["input"];
            let c = &i["changes"][0];
            if i["name"] != "available"
                || !i["reason"].is_string()
                || !c["delta"].is_i64()
                || !is_gid(&c["inventoryItemId"], "InventoryItem")
                || !is_gid(&c["locationId"], "Location")
            {
                return bad_var("input");
            }
            json!({"inventoryAdjustQuantities": {"inventoryAdjustmentGroup": {
                "id": "gid://shopify/InventoryAdjustmentGroup/5001", "reason": i["reason"],
                "createdAt": "2026-01-02T03:04:05Z",
                "changes": [{"name": "available", "delta": c["delta"], "quantityAfterChange": 12 + c["delta"].as_i64().unwrap_or(0)}]
            }, "userErrors": []}})
        }
        "productDelete" => {
            if !is_gid(&vars["input"]["id"], "Product") {
                return bad_var("input");
            }
            json!({"productDelete": {"deletedProductId": vars["input"]["id"], "userErrors": []}})
        }
        _ => return graphql_error("unexpected", "undefinedField"),
    };
    reply(
        200,
        json!({"data": data, "extensions": {"cost": cost(10, 1990.0)}}),
    )
}
