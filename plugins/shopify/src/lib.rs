//! `shopify`: products, prices and inventory through the Shopify Admin
//! GraphQL API (version 2025-01 by default).
//!
//! Every operation is one `POST {base}/admin/api/{api_version}/graphql.json`
//! with `{"query", "variables"}`; the host injects `X-Shopify-Access-Token`
//! from secret `SHOPIFY_ACCESS_TOKEN`, the plugin never sees it.
//!
//! | operation | effect | GraphQL |
//! |---|---|---|
//! | `get_product` | read | `product(id:)` |
//! | `create_draft_product` | draft | `productCreate` with `status: DRAFT` |
//! | `publish_product` | publish | `productUpdate` to `ACTIVE` (+ `publishablePublish`) |
//! | `update_price` | modify | `productVariantsBulkUpdate` |
//! | `adjust_inventory` | modify | `inventoryAdjustQuantities` |
//! | `delete_product` | delete | `productDelete` |
//!
//! Dry-run sends nothing: Shopify's Admin GraphQL API takes queries only as
//! POST, which the host's read-only profile (dry-run and tier A) lets out
//! only when the operator lists the endpoint in `graphql_read_paths`, and a
//! provider cannot know whether that was granted. A dry-run returns the exact
//! request instead (method, URL, document and variables). A live tier-A
//! `get_product` does read, given that grant. See `docs/providers/shopify.md`.

mod graphql;

use autopack_sdk::fields::{Fields, object_schema};
use autopack_sdk::types::{
    CallContext, Effect, Mode, Operation, Outcome, OutcomeStatus, ProviderError, ProviderInfo,
    SpendSource, Validated,
};
use autopack_sdk::{Guest, export_provider, host, invalid};
use graphql::Call;
use serde_json::{Value, json};

/// The Admin API version the documents are written and tested against.
pub const DEFAULT_API_VERSION: &str = "2025-01";

struct Shopify;

/// Where the Admin API lives: `base_url` (tests), else `https://{store_domain}`.
fn base_url() -> Result<String, ProviderError> {
    if let Some(url) = host::setting("base_url") {
        let url = url.trim_end_matches('/').to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ProviderError::Denied(format!(
                "setting `base_url` = `{url}` must start with https:// or http://"
            )));
        }
        return Ok(url);
    }
    let Some(domain) = host::setting("store_domain") else {
        return Err(ProviderError::Denied(
            "setting `store_domain` (e.g. `my-shop.myshopify.com`) is not configured".into(),
        ));
    };
    let ok = !domain.is_empty()
        && domain.contains('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !ok {
        return Err(ProviderError::Denied(format!(
            "setting `store_domain` = `{domain}` is not a host name like `my-shop.myshopify.com`"
        )));
    }
    Ok(format!("https://{domain}"))
}

fn api_version() -> Result<String, ProviderError> {
    let v = host::setting("api_version").unwrap_or_else(|| DEFAULT_API_VERSION.into());
    let b = v.as_bytes();
    let dated = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    if dated || v == "unstable" {
        Ok(v)
    } else {
        Err(ProviderError::Denied(format!(
            "setting `api_version` = `{v}` is not a version like `{DEFAULT_API_VERSION}`"
        )))
    }
}

fn endpoint() -> Result<String, ProviderError> {
    Ok(format!(
        "{}/admin/api/{}/graphql.json",
        base_url()?,
        api_version()?
    ))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

// ---- params -------------------------------------------------------------

const MONEY_PATTERN: &str = "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,3})?$";

fn id_schema(kind: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^(gid://shopify/{kind}/)?[1-9][0-9]{{0,19}}$"),
        "description": format!("A {kind} id: `gid://shopify/{kind}/123` or just `123`.")
    })
}

/// A global id of `kind` from `gid://shopify/{kind}/N` or `N`; errors name `pointer`.
fn to_gid(raw: &str, kind: &str, pointer: &str) -> Result<String, ProviderError> {
    let prefix = format!("gid://shopify/{kind}/");
    let digits = raw.strip_prefix(&prefix).unwrap_or(raw);
    let ok = !digits.is_empty()
        && digits.len() <= 20
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(invalid(
            pointer,
            format!("must be `{prefix}<number>` or a number, got `{raw}`"),
        ));
    }
    Ok(format!("{prefix}{digits}"))
}

/// The required id field `key`, as a global id of `kind`.
fn gid(f: &Fields, key: &str, kind: &str) -> Result<String, ProviderError> {
    to_gid(&f.str(key, 1, 64)?, kind, &format!("/{key}"))
}

/// A decimal amount in the shop's currency, as Shopify's `Money` scalar takes it.
fn money(f: &Fields, key: &str) -> Result<Option<String>, ProviderError> {
    let Some(s) = f.opt_str(key, 1, 16)? else {
        return Ok(None);
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, fr)) => (i, Some(fr)),
        None => (s.as_str(), None),
    };
    let int_ok = !int.is_empty()
        && int.len() <= 12
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'));
    let frac_ok =
        frac.is_none_or(|fr| (1..=3).contains(&fr.len()) && fr.bytes().all(|b| b.is_ascii_digit()));
    if !(int_ok && frac_ok) {
        return Err(invalid(
            &format!("/{key}"),
            format!(
                "must be a decimal amount like `19.99` (no sign, at most 3 decimals), got `{s}`"
            ),
        ));
    }
    Ok(Some(s))
}

const ADJUST_REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

fn handle_ok(h: &str) -> bool {
    !h.is_empty()
        && !h.starts_with('-')
        && !h.ends_with('-')
        && !h.contains("--")
        && h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks and normalizes an operation's params.
fn normalize(operation: &str, params: &str) -> Result<Value, ProviderError> {
    match operation {
        "get_product" | "delete_product" => {
            let f = Fields::parse(params, &["product_id"])?;
            Ok(json!({"product_id": gid(&f, "product_id", "Product")?}))
        }
        "create_draft_product" => {
            let f = Fields::parse(
                params,
                &[
                    "title",
                    "description_html",
                    "vendor",
                    "product_type",
                    "tags",
                    "handle",
                ],
            )?;
            let title = f.str("title", 1, 255)?;
            if title.trim().is_empty() {
                return Err(invalid("/title", "must not be blank"));
            }
            let mut out = json!({"title": title.trim()});
            if let Some(d) = f.opt_str("description_html", 0, 65_535)? {
                out["description_html"] = json!(d);
            }
            for key in ["vendor", "product_type"] {
                if let Some(v) = f.opt_str(key, 1, 255)? {
                    out[key] = json!(v.trim());
                }
            }
            if let Some(tags) = f.opt_str_list("tags", 250, 255)? {
                let mut seen: Vec<String> = Vec::new();
                for t in tags {
                    let t = t.trim().to_string();
                    if !t.is_empty() && !seen.contains(&t) {
                        seen.push(t);
                    }
                }
                out["tags"] = json!(seen);
            }
            if let Some(h) = f.opt_str("handle", 1, 255)? {
                if !handle_ok(&h) {
                    return Err(invalid(
                        "/handle",
                        "must be lowercase letters, digits and single hyphens, like `blue-mug`",
                    ));
                }
                out["handle"] = json!(h);
            }
            Ok(out)
        }
        "publish_product" => {
            let f = Fields::parse(params, &["product_id", "publication_ids"])?;
            let mut out = json!({"product_id": gid(&f, "product_id", "Product")?});
            if f.has("publication_ids") {
                let ids = f
                    .opt_str_list("publication_ids", 20, 64)?
                    .unwrap_or_default();
                if ids.is_empty() {
                    return Err(invalid("/publication_ids", "must have at least 1 item"));
                }
                let mut norm = Vec::new();
                for (i, raw) in ids.iter().enumerate() {
                    let g = to_gid(raw, "Publication", &format!("/publication_ids/{i}"))?;
                    if !norm.contains(&g) {
                        norm.push(g);
                    }
                }
                out["publication_ids"] = json!(norm);
            }
            Ok(out)
        }
        "update_price" => {
            let f = Fields::parse(
                params,
                &["product_id", "variant_id", "price", "compare_at_price"],
            )?;
            let price = money(&f, "price")?.ok_or_else(|| invalid("/price", "is required"))?;
            let mut out = json!({
                "product_id": gid(&f, "product_id", "Product")?,
                "variant_id": gid(&f, "variant_id", "ProductVariant")?,
                "price": price,
            });
            if let Some(c) = money(&f, "compare_at_price")? {
                out["compare_at_price"] = json!(c);
            }
            Ok(out)
        }
        "adjust_inventory" => {
            let f = Fields::parse(
                params,
                &["inventory_item_id", "location_id", "delta", "reason"],
            )?;
            let delta = f.int("delta", -1_000_000, 1_000_000)?;
            if delta == 0 {
                return Err(invalid("/delta", "must not be 0"));
            }
            let reason = f
                .opt_str("reason", 1, 64)?
                .unwrap_or_else(|| "correction".into());
            if !ADJUST_REASONS.contains(&reason.as_str()) {
                return Err(invalid(
                    "/reason",
                    format!("must be one of {}", ADJUST_REASONS.join(", ")),
                ));
            }
            Ok(json!({
                "inventory_item_id": gid(&f, "inventory_item_id", "InventoryItem")?,
                "location_id": gid(&f, "location_id", "Location")?,
                "delta": delta,
                "reason": reason,
            }))
        }
        other => Err(invalid("", format!("unknown operation `{other}`"))),
    }
}

fn schema(operation: &str) -> String {
    match operation {
        "get_product" | "delete_product" => {
            object_schema(json!({"product_id": id_schema("Product")}), &["product_id"])
        }
        "create_draft_product" => object_schema(
            json!({
                "title": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
                "description_html": {"type": "string", "maxLength": 65535},
                "vendor": {"type": "string", "minLength": 1, "maxLength": 255},
                "product_type": {"type": "string", "minLength": 1, "maxLength": 255},
                "tags": {"type": "array", "maxItems": 250,
                         "items": {"type": "string", "minLength": 1, "maxLength": 255}},
                "handle": {"type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
            }),
            &["title"],
        ),
        "publish_product" => object_schema(
            json!({
                "product_id": id_schema("Product"),
                "publication_ids": {"type": "array", "minItems": 1, "maxItems": 20,
                                    "items": id_schema("Publication")}
            }),
            &["product_id"],
        ),
        "update_price" => object_schema(
            json!({
                "product_id": id_schema("Product"),
                "variant_id": id_schema("ProductVariant"),
                "price": {"type": "string", "pattern": MONEY_PATTERN,
                          "description": "New price in the shop's currency, e.g. `19.99`."},
                "compare_at_price": {"type": "string", "pattern": MONEY_PATTERN}
            }),
            &["product_id", "variant_id", "price"],
        ),
        "adjust_inventory" => object_schema(
            json!({
                "inventory_item_id": id_schema("InventoryItem"),
                "location_id": id_schema("Location"),
                "delta": {"type": "integer", "minimum": -1_000_000, "maximum": 1_000_000, "not": {"const": 0}},
                "reason": {"type": "string", "enum": ADJUST_REASONS, "default": "correction"}
            }),
            &["inventory_item_id", "location_id", "delta"],
        ),
        _ => object_schema(json!({}), &[]),
    }
}

const OPERATIONS: &[(&str, &str, Effect)] = &[
    (
        "get_product",
        "Read one product with its variants, prices and inventory.",
        Effect::Read,
    ),
    (
        "create_draft_product",
        "Create a product in DRAFT status (invisible to buyers).",
        Effect::Draft,
    ),
    (
        "publish_product",
        "Set a product ACTIVE and optionally publish it to sales channels.",
        Effect::Publish,
    ),
    (
        "update_price",
        "Change one variant's price (and compare-at price).",
        Effect::Modify,
    ),
    (
        "adjust_inventory",
        "Adjust the available quantity of an inventory item at a location.",
        Effect::Modify,
    ),
    (
        "delete_product",
        "Delete a product with its variants and media.",
        Effect::Delete,
    ),
];

// ---- requests -----------------------------------------------------------

/// The GraphQL call an operation makes with its normalized params.
fn call(operation: &str, p: &Value) -> Result<Call, ProviderError> {
    let s = |k: &str| p[k].clone();
    Ok(match operation {
        "get_product" => Call {
            query: graphql::GET_PRODUCT,
            variables: json!({"id": s("product_id")}),
            fields: &[("id", "/product_id")],
        },
        "create_draft_product" => {
            let mut product = json!({"title": s("title"), "status": "DRAFT"});
            for (param, field) in [
                ("description_html", "descriptionHtml"),
                ("vendor", "vendor"),
                ("product_type", "productType"),
                ("tags", "tags"),
                ("handle", "handle"),
            ] {
                if !p[param].is_null() {
                    product[field] = s(param);
                }
            }
            Call {
                query: graphql::CREATE_DRAFT_PRODUCT,
                variables: json!({"product": product}),
                fields: &[
                    ("title", "/title"),
                    ("descriptionHtml", "/description_html"),
                    ("vendor", "/vendor"),
                    ("productType", "/product_type"),
                    ("tags", "/tags"),
                    ("handle", "/handle"),
                ],
            }
        }
        "publish_product" => {
            let product = json!({"id": s("product_id"), "status": "ACTIVE"});
            match p["publication_ids"].as_array() {
                None => Call {
                    query: graphql::PUBLISH_PRODUCT,
                    variables: json!({"product": product}),
                    fields: &[("id", "/product_id")],
                },
                Some(ids) => Call {
                    query: graphql::PUBLISH_PRODUCT_TO_CHANNELS,
                    variables: json!({
                        "product": product,
                        "id": s("product_id"),
                        "publications": ids.iter().map(|id| json!({"publicationId": id})).collect::<Vec<_>>(),
                    }),
                    fields: &[("publicationId", "/publication_ids"), ("id", "/product_id")],
                },
            }
        }
        "update_price" => {
            let mut variant = json!({"id": s("variant_id"), "price": s("price")});
            if !p["compare_at_price"].is_null() {
                variant["compareAtPrice"] = s("compare_at_price");
            }
            Call {
                query: graphql::UPDATE_PRICE,
                variables: json!({"productId": s("product_id"), "variants": [variant]}),
                fields: &[
                    ("price", "/price"),
                    ("compareAtPrice", "/compare_at_price"),
                    ("id", "/variant_id"),
                    ("productId", "/product_id"),
                ],
            }
        }
        "adjust_inventory" => Call {
            query: graphql::ADJUST_INVENTORY,
            variables: json!({"input": {
                "reason": s("reason"),
                "name": "available",
                "changes": [{
                    "delta": s("delta"),
                    "inventoryItemId": s("inventory_item_id"),
                    "locationId": s("location_id"),
                }],
            }}),
            fields: &[
                ("delta", "/delta"),
                ("inventoryItemId", "/inventory_item_id"),
                ("locationId", "/location_id"),
                ("reason", "/reason"),
            ],
        },
        "delete_product" => Call {
            query: graphql::DELETE_PRODUCT,
            variables: json!({"input": {"id": s("product_id")}}),
            fields: &[("id", "/product_id")],
        },
        other => return Err(invalid("", format!("unknown operation `{other}`"))),
    })
}

/// One line saying what the operation does with these params.
fn describe_action(operation: &str, p: &Value) -> String {
    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
    match operation {
        "get_product" => format!("read product {}", s("product_id")),
        "create_draft_product" => format!("create draft product \"{}\"", s("title")),
        "publish_product" => format!("set product {} ACTIVE", s("product_id")),
        "update_price" => format!("set variant {} price to {}", s("variant_id"), s("price")),
        "adjust_inventory" => format!(
            "adjust available quantity of {} at {} by {:+}",
            s("inventory_item_id"),
            s("location_id"),
            p["delta"].as_i64().unwrap_or(0)
        ),
        "delete_product" => format!("delete product {}", s("product_id")),
        other => other.to_string(),
    }
}

/// The id of what was read, made or changed, from the response `data`.
fn external_ref(operation: &str, data: &Value, p: &Value) -> Option<String> {
    let found = match operation {
        "get_product" => &data["product"]["id"],
        "create_draft_product" => &data["productCreate"]["product"]["id"],
        "publish_product" => &data["productUpdate"]["product"]["id"],
        "update_price" => &data["productVariantsBulkUpdate"]["productVariants"][0]["id"],
        "adjust_inventory" => &data["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["id"],
        "delete_product" => &data["productDelete"]["deletedProductId"],
        _ => &Value::Null,
    };
    found
        .as_str()
        .map(str::to_string)
        .or_else(|| p["product_id"].as_str().map(str::to_string))
}

impl Guest for Shopify {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "shopify".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: OPERATIONS
                .iter()
                .map(|(name, summary, effect)| Operation {
                    name: (*name).into(),
                    summary: (*summary).into(),
                    effect: *effect,
                    params_schema: schema(name),
                    spend: SpendSource::None,
                })
                .collect(),
            // The one origin follows the settings, so a test server needs no code change.
            origins: base_url().map(|u| vec![origin_of(&u)]).unwrap_or_default(),
            secrets: vec!["SHOPIFY_ACCESS_TOKEN".into()],
            settings: vec![
                "store_domain".into(),
                "api_version".into(),
                "base_url".into(),
            ],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Validated, ProviderError> {
        let normalized = normalize(&operation, &params)?;
        Ok(Validated {
            params: normalized.to_string(),
            spend: None,
        })
    }

    fn execute(
        ctx: CallContext,
        operation: String,
        params: String,
    ) -> Result<Outcome, ProviderError> {
        let p = normalize(&operation, &params)?;
        let call = call(&operation, &p)?;
        let url = endpoint()?;
        let what = describe_action(&operation, &p);
        if ctx.mode == Mode::DryRun {
            // Nothing is sent, not even the read: Admin GraphQL takes only POST,
            // which the read-only profile of a dry-run refuses.
            let read = operation == "get_product";
            let note = if read {
                "not read: Shopify Admin GraphQL queries are POST requests, which a dry-run does \
                 not send; this is the exact query a live read sends"
            } else {
                "nothing was sent; this is the exact request a live run sends"
            };
            return Ok(Outcome {
                status: OutcomeStatus::Previewed,
                external_ref: None,
                summary: format!("would {what}"),
                spend: None,
                data: json!({
                    "dry_run": true,
                    "operation": operation,
                    "read_performed": false,
                    "note": note,
                    "would_send": [call.preview(&url)],
                })
                .to_string(),
            });
        }
        let write = operation != "get_product";
        let (data, cost) = call.send(&url, write)?;
        if operation == "get_product" && data["product"].is_null() {
            return Err(ProviderError::Provider(
                autopack_sdk::types::ProviderFailure {
                    code: "not_found".into(),
                    message: format!(
                        "product {} does not exist",
                        p["product_id"].as_str().unwrap_or("")
                    ),
                    retryable: false,
                },
            ));
        }
        autopack_sdk::log::info(&format!(
            "shopify {operation} done for action {}",
            ctx.action_id
        ));
        Ok(Outcome {
            status: OutcomeStatus::Completed,
            external_ref: external_ref(&operation, &data, &p),
            summary: if write { format!("did {what}") } else { what },
            spend: None,
            data: json!({"data": data, "cost": cost}).to_string(),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(Shopify);
