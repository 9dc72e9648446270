//! A fake of the Etsy Open API v3 endpoints the provider uses, speaking the
//! shapes of the official spec (`tests/specs/etsy/`): `x-api-key` and a
//! bearer token on every request, form-encoded write bodies with the
//! required fields, `ShopListing` / `Shop` JSON and `{"error": ...}` errors.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::fake_server::{Api, Reply, Seen};

pub const API_KEY: &str = "etsykeystring9f2c71ab:etsysharedsecret5d08e3c4";
pub const OAUTH_TOKEN: &str = "12345678.etsyoauthcanary0b7d2e9f4a61c3";
/// The shop the operator configures.
pub const SHOP_ID: u64 = 5_550_001;
/// A draft listing that exists in the fake shop.
pub const DRAFT_ID: u64 = 1_001;
/// An active listing that exists in the fake shop.
pub const ACTIVE_ID: u64 = 1_002;

const WRITE_FIELDS: &[&str] = &[
    "quantity",
    "title",
    "description",
    "price",
    "who_made",
    "when_made",
    "taxonomy_id",
    "shipping_profile_id",
    "return_policy_id",
    "shop_section_id",
    "is_supply",
    "should_auto_renew",
    "type",
    "tags[]",
    "materials[]",
    "state",
];
const CREATE_REQUIRED: &[&str] = &[
    "quantity",
    "title",
    "description",
    "price",
    "who_made",
    "when_made",
    "taxonomy_id",
];

pub struct EtsyApi {
    listings: Mutex<BTreeMap<u64, Value>>,
    next_id: AtomicU64,
}

impl Default for EtsyApi {
    fn default() -> Self {
        let mut listings = BTreeMap::new();
        listings.insert(DRAFT_ID, listing(DRAFT_ID, "Blue mug", "draft"));
        listings.insert(ACTIVE_ID, listing(ACTIVE_ID, "Green bowl", "active"));
        EtsyApi {
            listings: Mutex::new(listings),
            next_id: AtomicU64::new(2_000),
        }
    }
}

impl EtsyApi {
    /// A listing's current state.
    pub fn listing(&self, id: u64) -> Option<Value> {
        self.listings.lock().expect("listings").get(&id).cloned()
    }
}

fn listing(id: u64, title: &str, state: &str) -> Value {
    json!({
        "listing_id": id, "user_id": 77, "shop_id": SHOP_ID, "title": title,
        "description": "Hand thrown stoneware.", "state": state,
        "creation_timestamp": 1_760_000_000, "created_timestamp": 1_760_000_000,
        "quantity": 3, "url": format!("https://www.etsy.com/listing/{id}"),
        "who_made": "i_did", "when_made": "made_to_order", "is_supply": false,
        "taxonomy_id": 1_234, "tags": ["mug"], "materials": ["clay"],
        "listing_type": "physical", "should_auto_renew": false,
        "price": {"amount": 2_400, "divisor": 100, "currency_code": "USD"}
    })
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, json!({"error": message}))
}

fn id_segment(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|n| *n > 0)
}

/// Checks a form body: the content type, and only fields Etsy knows.
fn form_of(req: &Seen) -> Result<Vec<(String, String)>, Reply> {
    if req.header("content-type") != Some("application/x-www-form-urlencoded") {
        return Err(error(400, "Expected application/x-www-form-urlencoded"));
    }
    let form = req.form();
    if let Some((k, _)) = form
        .iter()
        .find(|(k, _)| !WRITE_FIELDS.contains(&k.as_str()))
    {
        return Err(error(400, &format!("Unknown parameter: {k}")));
    }
    Ok(form)
}

/// Applies form fields the way Etsy stores them: `key[]` lists replace the
/// list, the price becomes a money object, numbers and booleans are typed.
fn apply(listing: &mut Value, form: &[(String, String)]) {
    let mut lists: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (k, v) in form {
        if let Some(list) = k.strip_suffix("[]") {
            lists.entry(list).or_default().push(json!(v));
            continue;
        }
        listing[k.as_str()] = match (k.as_str(), v.as_str()) {
            ("price", p) => {
                let cents = (p.parse::<f64>().unwrap_or(0.0) * 100.0).round() as i64;
                json!({"amount": cents, "divisor": 100, "currency_code": "USD"})
            }
            (_, "true") => json!(true),
            (_, "false") => json!(false),
            (_, v) => v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
        };
    }
    for (k, items) in lists {
        listing[k] = Value::Array(items);
    }
}

impl Api for EtsyApi {
    fn answer(&self, req: &Seen) -> Reply {
        if req.header("x-api-key") != Some(API_KEY) {
            return error(401, "Invalid API key");
        }
        let bearer = format!("Bearer {OAUTH_TOKEN}");
        if req.header("authorization") != Some(bearer.as_str()) {
            return error(401, "invalid_token");
        }
        let parts: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        let mut listings = self.listings.lock().expect("listings");
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["v3", "application", "shops", shop]) => {
                if id_segment(shop) != Some(SHOP_ID) {
                    return error(404, &format!("Could not find a shop with shop_id = {shop}"));
                }
                Reply::json(
                    200,
                    json!({"shop_id": SHOP_ID, "user_id": 77, "shop_name": "ClayAndKiln",
                           "title": "Stoneware by hand", "currency_code": "USD",
                           "is_vacation": false, "listing_active_count": 1,
                           "url": "https://www.etsy.com/shop/ClayAndKiln", "review_count": 12}),
                )
            }
            ("GET", ["v3", "application", "shops", shop, "listings"]) => {
                if id_segment(shop) != Some(SHOP_ID) {
                    return error(404, "shop not found");
                }
                let q = req.query_pairs();
                let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let state = get("state").unwrap_or_else(|| "active".into());
                if !["active", "inactive", "sold_out", "draft", "expired"].contains(&state.as_str())
                {
                    return error(400, "Invalid state");
                }
                let limit = get("limit").map_or(Some(25), |l| l.parse::<usize>().ok());
                let Some(limit @ 1..=100) = limit else {
                    return error(400, "limit must be between 1 and 100");
                };
                let results: Vec<Value> = listings
                    .values()
                    .filter(|l| l["state"] == state.as_str())
                    .take(limit)
                    .cloned()
                    .collect();
                Reply::json(200, json!({"count": results.len(), "results": results}))
            }
            ("POST", ["v3", "application", "shops", shop, "listings"]) => {
                if id_segment(shop) != Some(SHOP_ID) {
                    return error(404, "shop not found");
                }
                let form = match form_of(req) {
                    Ok(f) => f,
                    Err(reply) => return reply,
                };
                if let Some(missing) = CREATE_REQUIRED
                    .iter()
                    .find(|k| !form.iter().any(|(n, _)| n == *k))
                {
                    return error(400, &format!("Missing required parameter: {missing}"));
                }
                if form.iter().any(|(k, _)| k == "state") {
                    return error(400, "state is not a createDraftListing parameter");
                }
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let mut l = listing(id, "", "draft");
                apply(&mut l, &form);
                listings.insert(id, l.clone());
                Reply::json(201, l)
            }
            ("PATCH", ["v3", "application", "shops", shop, "listings", id]) => {
                if id_segment(shop) != Some(SHOP_ID) {
                    return error(404, "shop not found");
                }
                let form = match form_of(req) {
                    Ok(f) => f,
                    Err(reply) => return reply,
                };
                if form.is_empty() {
                    return error(400, "Nothing to update");
                }
                if let Some((_, s)) = form.iter().find(|(k, _)| k == "state")
                    && s != "active"
                    && s != "inactive"
                {
                    return error(400, "state must be active or inactive");
                }
                match id_segment(id).and_then(|id| listings.get_mut(&id)) {
                    Some(l) => {
                        apply(l, &form);
                        Reply::json(200, l.clone())
                    }
                    None => error(
                        404,
                        &format!("Could not find a listing with listing_id = {id}"),
                    ),
                }
            }
            ("GET", ["v3", "application", "listings", id]) => {
                match id_segment(id).and_then(|id| listings.get(&id)) {
                    Some(l) => Reply::json(200, l.clone()),
                    None => error(
                        404,
                        &format!("Could not find a listing with listing_id = {id}"),
                    ),
                }
            }
            ("DELETE", ["v3", "application", "listings", id]) => {
                match id_segment(id).and_then(|id| listings.remove(&id)) {
                    Some(_) => Reply::empty(204),
                    None => error(
                        404,
                        &format!("Could not find a listing with listing_id = {id}"),
                    ),
                }
            }
            _ => error(404, &format!("No route for {} {}", req.method, req.path)),
        }
    }
}
