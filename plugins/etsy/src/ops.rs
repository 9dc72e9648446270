//! The operations: params schemas, validation into normalized params, and the
//! one Etsy request each operation makes (a *plan*). `validate` and `execute`
//! both build the plan from params, so what was approved is what is sent.

use autopack_sdk::invalid;
use autopack_sdk::types::{Amount, Effect, Operation, ProviderError, SpendSource};
use serde_json::{Map, Value, json};

use autopack_sdk::rest::{Body, Call, Decimal};

/// Etsy's listing fee in US cents, charged when a listing is published: 0.20 USD.
pub const LISTING_FEE_CENTS: i64 = 20;

/// The listing fee as an amount.
pub fn listing_fee() -> Amount {
    Amount {
        minor_units: LISTING_FEE_CENTS,
        unit: "USD".into(),
    }
}

const WHO_MADE: &[&str] = &["i_did", "someone_else", "collective"];
const WHEN_MADE: &[&str] = &[
    "made_to_order",
    "2020_2026",
    "2010_2019",
    "2007_2009",
    "before_2007",
    "2000_2006",
    "1990s",
    "1980s",
    "1970s",
    "1960s",
    "1950s",
    "1940s",
    "1930s",
    "1920s",
    "1910s",
    "1900s",
    "1800s",
    "1700s",
    "before_1700",
];
const LISTING_STATES: &[&str] = &["active", "inactive", "sold_out", "draft", "expired"];
const LISTING_TYPES: &[&str] = &["physical", "download", "both"];

/// What an operation will do, built from valid params.
pub struct Plan {
    /// Normalized params: what is hashed and approved.
    pub params: Value,
    /// Declared spend.
    pub spend: Option<Amount>,
    /// The request that performs the operation.
    pub call: Call,
    /// For writes: a read that shows the current state in a dry-run preview.
    pub before: Option<Call>,
    /// The listing the operation is about, if it exists already.
    pub listing_id: Option<u64>,
}

fn id_schema() -> Value {
    json!({"type": "integer", "minimum": 1})
}

fn strings_schema(max_items: u32, max_len: u32) -> Value {
    json!({"type": "array", "maxItems": max_items,
           "items": {"type": "string", "minLength": 1, "maxLength": max_len}})
}

/// Schemas of the listing fields shared by create and update.
fn listing_fields() -> Map<String, Value> {
    let v = json!({
        "title": {"type": "string", "minLength": 1, "maxLength": 140,
                  "description": "letters, numbers, punctuation; %, :, & and + at most once each"},
        "description": {"type": "string", "minLength": 1},
        "who_made": {"enum": WHO_MADE},
        "when_made": {"enum": WHEN_MADE},
        "taxonomy_id": id_schema(),
        "tags": strings_schema(13, 20),
        "materials": strings_schema(13, 45),
        "shipping_profile_id": id_schema(),
        "return_policy_id": id_schema(),
        "shop_section_id": id_schema(),
        "is_supply": {"type": "boolean"},
        "should_auto_renew": {"type": "boolean"},
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn schema(properties: Map<String, Value>, required: &[&str]) -> String {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
    .to_string()
}

fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The operations as `describe` states them.
pub fn operations() -> Vec<Operation> {
    let mut create = listing_fields();
    create.insert(
        "price".into(),
        json!({"type": ["string", "number"], "pattern": "^[0-9]+(\\.[0-9]{1,2})?$",
               "exclusiveMinimum": 0, "description": "USD amount, at most 2 decimals"}),
    );
    create.insert(
        "quantity".into(),
        json!({"type": "integer", "minimum": 1, "maximum": 999}),
    );
    create.insert("type".into(), json!({"enum": LISTING_TYPES}));
    let mut update = listing_fields();
    update.insert("listing_id".into(), id_schema());
    let listing_only = props(&[("listing_id", id_schema())]);
    let op = |name: &str, summary: &str, effect, params_schema, spend| Operation {
        name: name.into(),
        summary: summary.into(),
        effect,
        params_schema,
        spend,
    };
    vec![
        op(
            "get_shop",
            "Read the configured shop (GET /v3/application/shops/{shop_id}).",
            Effect::Read,
            schema(Map::new(), &[]),
            SpendSource::None,
        ),
        op(
            "list_listings",
            "List the shop's listings by state (GET /v3/application/shops/{shop_id}/listings).",
            Effect::Read,
            schema(
                props(&[
                    (
                        "state",
                        json!({"enum": LISTING_STATES, "default": "active"}),
                    ),
                    (
                        "limit",
                        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 25}),
                    ),
                    (
                        "offset",
                        json!({"type": "integer", "minimum": 0, "default": 0}),
                    ),
                ]),
                &[],
            ),
            SpendSource::None,
        ),
        op(
            "create_draft_listing",
            "Create a draft (unpublished) listing (POST /v3/application/shops/{shop_id}/listings).",
            Effect::Draft,
            schema(
                create,
                &[
                    "title",
                    "description",
                    "price",
                    "quantity",
                    "who_made",
                    "when_made",
                    "taxonomy_id",
                ],
            ),
            SpendSource::None,
        ),
        op(
            "update_listing",
            "Change a listing's details (PATCH /v3/application/shops/{shop_id}/listings/{listing_id}).",
            Effect::Modify,
            {
                let mut s: Value =
                    serde_json::from_str(&schema(update, &["listing_id"])).unwrap_or(Value::Null);
                s["minProperties"] = json!(2);
                s.to_string()
            },
            SpendSource::None,
        ),
        op(
            "publish_listing",
            "Publish a listing: updateListing with state=active; Etsy charges the 0.20 USD listing fee.",
            Effect::Publish,
            schema(listing_only.clone(), &["listing_id"]),
            SpendSource::Fixed(listing_fee()),
        ),
        op(
            "delete_listing",
            "Delete a listing (DELETE /v3/application/listings/{listing_id}).",
            Effect::Delete,
            schema(listing_only, &["listing_id"]),
            SpendSource::None,
        ),
    ]
}

/// Fields of `map` that are not in `allowed` are errors.
fn only(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), ProviderError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            &format!("/{k}"),
            format!(
                "is not a field of this operation (allowed: {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn int_in(
    map: &Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ProviderError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(
                &format!("/{key}"),
                format!("must be an integer from {min} to {max}"),
            )),
        },
    }
}

fn id(map: &Map<String, Value>, key: &str) -> Result<Option<u64>, ProviderError> {
    Ok(int_in(map, key, 1, i64::MAX)?.map(|n| n.unsigned_abs()))
}

fn required<T>(v: Option<T>, key: &str) -> Result<T, ProviderError> {
    v.ok_or_else(|| invalid(&format!("/{key}"), "is required"))
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

fn boolean(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, ProviderError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(&format!("/{key}"), "must be true or false")),
    }
}

fn text(map: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, ProviderError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() || t.chars().count() > max {
                Err(invalid(
                    &format!("/{key}"),
                    format!("must be 1 to {max} characters"),
                ))
            } else {
                Ok(Some(t.to_string()))
            }
        }
        Some(_) => Err(invalid(&format!("/{key}"), "must be a string")),
    }
}

fn title(map: &Map<String, Value>) -> Result<Option<String>, ProviderError> {
    let t = text(map, "title", 140)?;
    if let Some(t) = &t {
        for c in ['%', ':', '&', '+'] {
            if t.matches(c).count() > 1 {
                return Err(invalid("/title", format!("may use `{c}` only once")));
            }
        }
    }
    Ok(t)
}

/// Tags and materials: Etsy allows letters, numbers and whitespace, and tags
/// also `-`, `'`, ™, © and ®.
fn words(
    map: &Map<String, Value>,
    key: &str,
    max_items: usize,
    max_len: usize,
    extra: &[char],
) -> Result<Option<Vec<String>>, ProviderError> {
    let Some(v) = map.get(key) else {
        return Ok(None);
    };
    let Some(items) = v.as_array() else {
        return Err(invalid(&format!("/{key}"), "must be an array of strings"));
    };
    if items.len() > max_items {
        return Err(invalid(
            &format!("/{key}"),
            format!("at most {max_items} items"),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/{key}/{i}");
        let s = item
            .as_str()
            .map(str::trim)
            .ok_or_else(|| invalid(&at, "must be a string"))?;
        if s.is_empty() || s.chars().count() > max_len {
            return Err(invalid(&at, format!("must be 1 to {max_len} characters")));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_alphanumeric() || c.is_whitespace() || extra.contains(c)))
        {
            return Err(invalid(&at, format!("`{c}` is not allowed here")));
        }
        out.push(s.to_string());
    }
    Ok(Some(out))
}

/// Normalized listing fields (shared by create and update), in a fixed order,
/// as both JSON params and form pairs.
fn listing_values(map: &Map<String, Value>) -> Result<Vec<(&'static str, Value)>, ProviderError> {
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    let mut put = |k: &'static str, v: Option<Value>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    put("title", title(map)?.map(Value::from));
    put(
        "description",
        text(map, "description", 100_000)?.map(Value::from),
    );
    put(
        "who_made",
        one_of(map, "who_made", WHO_MADE)?.map(Value::from),
    );
    put(
        "when_made",
        one_of(map, "when_made", WHEN_MADE)?.map(Value::from),
    );
    put("taxonomy_id", id(map, "taxonomy_id")?.map(Value::from));
    put(
        "tags",
        words(map, "tags", 13, 20, &['-', '\'', '™', '©', '®'])?.map(Value::from),
    );
    put(
        "materials",
        words(map, "materials", 13, 45, &[])?.map(Value::from),
    );
    for key in ["shipping_profile_id", "return_policy_id", "shop_section_id"] {
        put(key, id(map, key)?.map(Value::from));
    }
    for key in ["is_supply", "should_auto_renew"] {
        put(key, boolean(map, key)?.map(Value::from));
    }
    Ok(out)
}

/// Form pairs of normalized values; arrays become `key[]` repeated, the
/// array form Etsy's form bodies take.
fn form(values: &[(&str, Value)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (k, v) in values {
        match v {
            Value::Array(items) => {
                for item in items {
                    pairs.push((
                        format!("{k}[]"),
                        item.as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
            Value::String(s) => pairs.push((k.to_string(), s.clone())),
            other => pairs.push((k.to_string(), other.to_string())),
        }
    }
    pairs
}

fn to_object(values: &[(&str, Value)]) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// The shop id setting, needed by every shop-scoped operation.
fn shop(shop_id: Option<u64>) -> Result<u64, ProviderError> {
    shop_id.ok_or_else(|| {
        ProviderError::Denied(
            "the operator has not set this provider's `shop_id` setting (a positive integer)"
                .into(),
        )
    })
}

fn listing_path(shop_id: u64, listing_id: u64) -> String {
    format!("/v3/application/shops/{shop_id}/listings/{listing_id}")
}

fn get_listing(listing_id: u64) -> Call {
    Call::new("GET", format!("/v3/application/listings/{listing_id}"))
}

/// Checks params and builds the plan; every error names its field.
pub fn plan(
    operation: &str,
    params: &Map<String, Value>,
    shop_id: Option<u64>,
) -> Result<Plan, ProviderError> {
    let plan = |params, call, before, listing_id| Plan {
        params,
        spend: None,
        call,
        before,
        listing_id,
    };
    match operation {
        "get_shop" => {
            only(params, &[])?;
            let shop_id = shop(shop_id)?;
            Ok(plan(
                json!({}),
                Call::new("GET", format!("/v3/application/shops/{shop_id}")),
                None,
                None,
            ))
        }
        "list_listings" => {
            only(params, &["state", "limit", "offset"])?;
            let state = one_of(params, "state", LISTING_STATES)?.unwrap_or_else(|| "active".into());
            let limit = int_in(params, "limit", 1, 100)?.unwrap_or(25);
            let offset = int_in(params, "offset", 0, i64::from(i32::MAX))?.unwrap_or(0);
            let shop_id = shop(shop_id)?;
            let mut call = Call::new("GET", format!("/v3/application/shops/{shop_id}/listings"));
            call.query = vec![
                ("state".into(), state.clone()),
                ("limit".into(), limit.to_string()),
                ("offset".into(), offset.to_string()),
            ];
            Ok(plan(
                json!({"state": state, "limit": limit, "offset": offset}),
                call,
                None,
                None,
            ))
        }
        "create_draft_listing" => {
            only(
                params,
                &[
                    "title",
                    "description",
                    "price",
                    "quantity",
                    "who_made",
                    "when_made",
                    "taxonomy_id",
                    "tags",
                    "materials",
                    "shipping_profile_id",
                    "return_policy_id",
                    "shop_section_id",
                    "is_supply",
                    "should_auto_renew",
                    "type",
                ],
            )?;
            let quantity = required(int_in(params, "quantity", 1, 999)?, "quantity")?;
            let price = Decimal::from_json(required(params.get("price"), "price")?, "/price", 2)?;
            if price.is_zero() || price.ceil_cents().is_none_or(|c| c > 5_000_000) {
                return Err(invalid(
                    "/price",
                    "must be more than 0 and at most 50000.00",
                ));
            }
            let mut values = listing_values(params)?;
            for key in [
                "title",
                "description",
                "who_made",
                "when_made",
                "taxonomy_id",
            ] {
                if !values.iter().any(|(k, _)| *k == key) {
                    return Err(invalid(&format!("/{key}"), "is required"));
                }
            }
            values.insert(0, ("quantity", json!(quantity)));
            values.insert(3, ("price", json!(price.fixed(2))));
            if let Some(t) = one_of(params, "type", LISTING_TYPES)? {
                values.push(("type", json!(t)));
            }
            let shop_id = shop(shop_id)?;
            let mut call = Call::new("POST", format!("/v3/application/shops/{shop_id}/listings"));
            call.body = Body::Form(form(&values));
            Ok(plan(to_object(&values), call, None, None))
        }
        "update_listing" => {
            let fields = listing_fields();
            let mut allowed: Vec<&str> = fields.keys().map(String::as_str).collect();
            allowed.push("listing_id");
            only(params, &allowed)?;
            let listing_id = required(id(params, "listing_id")?, "listing_id")?;
            let values = listing_values(params)?;
            if values.is_empty() {
                return Err(invalid(
                    "",
                    "give at least one field to change besides `listing_id`",
                ));
            }
            let shop_id = shop(shop_id)?;
            let mut call = Call::new("PATCH", listing_path(shop_id, listing_id));
            call.body = Body::Form(form(&values));
            let mut normalized = to_object(&values);
            normalized["listing_id"] = json!(listing_id);
            Ok(plan(
                normalized,
                call,
                Some(get_listing(listing_id)),
                Some(listing_id),
            ))
        }
        "publish_listing" => {
            only(params, &["listing_id"])?;
            let listing_id = required(id(params, "listing_id")?, "listing_id")?;
            let shop_id = shop(shop_id)?;
            let mut call = Call::new("PATCH", listing_path(shop_id, listing_id));
            call.body = Body::Form(vec![("state".into(), "active".into())]);
            Ok(Plan {
                spend: Some(listing_fee()),
                ..plan(
                    json!({"listing_id": listing_id}),
                    call,
                    Some(get_listing(listing_id)),
                    Some(listing_id),
                )
            })
        }
        "delete_listing" => {
            only(params, &["listing_id"])?;
            let listing_id = required(id(params, "listing_id")?, "listing_id")?;
            Ok(plan(
                json!({"listing_id": listing_id}),
                Call::new("DELETE", format!("/v3/application/listings/{listing_id}")),
                Some(get_listing(listing_id)),
                Some(listing_id),
            ))
        }
        other => Err(invalid("", format!("unknown operation `{other}`"))),
    }
}
