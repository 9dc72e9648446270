//! The GraphQL documents this provider sends, and one Admin API call with
//! its error mapping.
//!
//! Every document here is checked against the official Admin API 2025-01
//! schema by the host's conformance tests (`apollo-compiler`), so a field
//! that does not exist in that version fails the build, not a merchant.

use autopack_sdk::http::{HttpError, Request, Response};
use autopack_sdk::invalid;
use autopack_sdk::types::{ProviderError, ProviderFailure, RateLimit};
use serde_json::{Value, json};

/// `get_product`: one product with its variants.
pub const GET_PRODUCT: &str = "query GetProduct($id: ID!) {
  product(id: $id) {
    id
    title
    handle
    status
    vendor
    productType
    tags
    totalInventory
    createdAt
    updatedAt
    variants(first: 100) {
      nodes {
        id
        title
        sku
        price
        compareAtPrice
        inventoryQuantity
        inventoryItem {
          id
        }
      }
    }
  }
}";

/// `create_draft_product`: `productCreate` with `status: DRAFT`.
pub const CREATE_DRAFT_PRODUCT: &str =
    "mutation CreateDraftProduct($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product {
      id
      title
      handle
      status
      variants(first: 1) {
        nodes {
          id
          price
          inventoryItem {
            id
          }
        }
      }
    }
    userErrors {
      field
      message
    }
  }
}";

/// `publish_product`: `productUpdate` to `status: ACTIVE`.
pub const PUBLISH_PRODUCT: &str = "mutation PublishProduct($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product {
      id
      status
    }
    userErrors {
      field
      message
    }
  }
}";

/// `publish_product` with `publication_ids`: `status: ACTIVE`, then
/// `publishablePublish` to those sales channels, in one request (mutation
/// fields run in order).
pub const PUBLISH_PRODUCT_TO_CHANNELS: &str = "mutation PublishProductToChannels($product: ProductUpdateInput!, $id: ID!, $publications: [PublicationInput!]!) {
  productUpdate(product: $product) {
    product {
      id
      status
    }
    userErrors {
      field
      message
    }
  }
  publishablePublish(id: $id, input: $publications) {
    userErrors {
      field
      message
    }
  }
}";

/// `update_price`: `productVariantsBulkUpdate` of one variant.
pub const UPDATE_PRICE: &str =
    "mutation UpdatePrice($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants {
      id
      price
      compareAtPrice
    }
    userErrors {
      field
      message
      code
    }
  }
}";

/// `adjust_inventory`: `inventoryAdjustQuantities` of the `available` quantity.
pub const ADJUST_INVENTORY: &str =
    "mutation AdjustInventory($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
    inventoryAdjustmentGroup {
      id
      reason
      createdAt
      changes {
        name
        delta
        quantityAfterChange
      }
    }
    userErrors {
      field
      message
      code
    }
  }
}";

/// `delete_product`: `productDelete`.
pub const DELETE_PRODUCT: &str = "mutation DeleteProduct($input: ProductDeleteInput!) {
  productDelete(input: $input) {
    deletedProductId
    userErrors {
      field
      message
    }
  }
}";

/// One GraphQL request: the document, its variables, and how the API's
/// `userErrors` field paths map back onto this operation's params.
pub struct Call {
    /// The document.
    pub query: &'static str,
    /// Its variables.
    pub variables: Value,
    /// `(last GraphQL field path segment, params pointer)` pairs.
    pub fields: &'static [(&'static str, &'static str)],
}

impl Call {
    /// The request body: `{"query": …, "variables": …}`.
    pub fn body(&self) -> Value {
        json!({"query": self.query, "variables": self.variables})
    }

    /// What the request would be, for a dry-run preview.
    pub fn preview(&self, endpoint: &str) -> Value {
        json!({
            "method": "POST",
            "url": endpoint,
            "headers": {
                "content-type": "application/json",
                "X-Shopify-Access-Token": "(injected by the host from secret SHOPIFY_ACCESS_TOKEN)"
            },
            "body": self.body(),
        })
    }

    /// Sends the request and returns `data` (with `extensions.cost` when
    /// present), or the provider error the response means.
    pub fn send(&self, endpoint: &str, write: bool) -> Result<(Value, Value), ProviderError> {
        let resp = Request::post(endpoint)
            .header("accept", "application/json")
            .json(&self.body())
            .send()
            .map_err(|e| transport(e, write))?;
        let body = http_status(&resp)?;
        let cost = body["extensions"]["cost"].clone();
        if let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) {
            return Err(graphql_errors(errors, &cost));
        }
        let data = body["data"].clone();
        if !data.is_object() {
            return Err(ProviderError::Provider(ProviderFailure {
                code: "no_data".into(),
                message: "the response had neither `data` nor `errors`".into(),
                retryable: false,
            }));
        }
        // Every mutation root field carries `userErrors`; any one fails the call.
        if let Some(obj) = data.as_object() {
            for root in obj.values() {
                if let Some(errs) = root["userErrors"].as_array().filter(|e| !e.is_empty()) {
                    return Err(user_errors(errs, self.fields));
                }
            }
        }
        Ok((data, cost))
    }
}

fn transport(e: HttpError, write: bool) -> ProviderError {
    match e {
        HttpError::Denied => ProviderError::Denied(format!(
            "{e}: Shopify Admin GraphQL requests are POSTs; under the host's read-only profile \
             only queries to an endpoint the operator listed in `graphql_read_paths` are let out"
        )),
        other => ProviderError::Provider(ProviderFailure {
            code: if write {
                "outcome_unknown"
            } else {
                "transport"
            }
            .into(),
            message: other.to_string(),
            // A write whose response was lost may have happened: never retry it blindly.
            retryable: !write,
        }),
    }
}

/// `Retry-After` in whole seconds, when the server gave a number.
pub fn retry_after(resp: &Response) -> Option<u32> {
    resp.header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s.ceil().min(f64::from(u32::MAX)) as u32)
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(300).collect();
    if t.is_empty() {
        "(empty body)".into()
    } else {
        t
    }
}

/// Maps the HTTP status; returns the parsed body of a 2xx response.
fn http_status(resp: &Response) -> Result<Value, ProviderError> {
    let status = resp.status;
    let body = resp.json();
    let message = body["errors"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| short(&resp.text()));
    let failure = |code: &str, retryable: bool| {
        ProviderError::Provider(ProviderFailure {
            code: code.into(),
            message: format!("HTTP {status}: {message}"),
            retryable,
        })
    };
    match status {
        200..=299 => Ok(body),
        401 => Err(ProviderError::Unauthorized(format!(
            "HTTP 401: {message} (check the SHOPIFY_ACCESS_TOKEN secret)"
        ))),
        403 => Err(ProviderError::Unauthorized(format!(
            "HTTP 403: {message} (the access token lacks a scope, or the app is not installed)"
        ))),
        404 => Err(failure("not_found", false)),
        422 => Err(failure("unprocessable", false)),
        423 => Err(failure("shop_locked", false)),
        429 => Err(ProviderError::RateLimited(RateLimit {
            retry_after_seconds: retry_after(resp),
            message: format!("HTTP 429: {message}"),
        })),
        500..=599 => Err(failure(&status.to_string(), true)),
        _ => Err(failure(&status.to_string(), false)),
    }
}

/// Top-level GraphQL `errors`: throttling, access, or anything else.
fn graphql_errors(errors: &[Value], cost: &Value) -> ProviderError {
    let message = errors
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let code = errors
        .iter()
        .find_map(|e| e["extensions"]["code"].as_str())
        .unwrap_or("graphql_error");
    match code {
        "THROTTLED" => ProviderError::RateLimited(RateLimit {
            retry_after_seconds: throttle_wait(cost),
            message: format!("THROTTLED: {message}"),
        }),
        "ACCESS_DENIED" => ProviderError::Unauthorized(format!("ACCESS_DENIED: {message}")),
        _ => ProviderError::Provider(ProviderFailure {
            code: code.to_string(),
            message,
            retryable: code == "INTERNAL_SERVER_ERROR",
        }),
    }
}

/// Seconds until the leaky bucket holds the query's cost again:
/// `(requestedQueryCost - currentlyAvailable) / restoreRate`, rounded up.
pub fn throttle_wait(cost: &Value) -> Option<u32> {
    let requested = cost["requestedQueryCost"].as_f64()?;
    let available = cost["throttleStatus"]["currentlyAvailable"].as_f64()?;
    let rate = cost["throttleStatus"]["restoreRate"]
        .as_f64()
        .filter(|r| *r > 0.0)?;
    let wait = ((requested - available) / rate).ceil().max(1.0);
    Some(wait.min(3600.0) as u32)
}

/// `userErrors`: a field we can name becomes invalid-params, anything else a
/// provider error carrying Shopify's code.
fn user_errors(errors: &[Value], fields: &[(&str, &str)]) -> ProviderError {
    let first = &errors[0];
    let message = errors
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let path: Vec<&str> = first["field"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let named = path
        .iter()
        .rev()
        .filter(|seg| seg.parse::<u64>().is_err())
        .find_map(|seg| fields.iter().find(|(f, _)| f == seg).map(|(_, p)| *p));
    match named {
        Some(pointer) => invalid(pointer, format!("Shopify refused it: {message}")),
        None => ProviderError::Provider(ProviderFailure {
            code: first["code"].as_str().unwrap_or("user_error").to_string(),
            message,
            retryable: false,
        }),
    }
}
