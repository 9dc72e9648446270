//! `etsy`: an Autopack provider for the Etsy Open API v3 (shops and listings).
//!
//! | operation | effect | Etsy request |
//! |---|---|---|
//! | `get_shop` | read | `GET /v3/application/shops/{shop_id}` |
//! | `list_listings` | read | `GET /v3/application/shops/{shop_id}/listings` |
//! | `create_draft_listing` | draft | `POST /v3/application/shops/{shop_id}/listings` (form) |
//! | `update_listing` | modify | `PATCH /v3/application/shops/{shop_id}/listings/{listing_id}` (form) |
//! | `publish_listing` | publish, 0.20 USD | the same PATCH with `state=active` |
//! | `delete_listing` | delete | `DELETE /v3/application/listings/{listing_id}` |
//!
//! Settings: `base_url` (default `https://openapi.etsy.com`; the declared
//! origin follows it) and `shop_id`. Secrets `ETSY_API_KEY` (`x-api-key`) and
//! `ETSY_OAUTH_TOKEN` (`Authorization: Bearer`) are injected by the host; this
//! component never sees them.
//!
//! In dry-run a write is never sent: the provider reads the listing it would
//! change (when there is one) and returns the exact request it would make.

mod ops;

use autopack_sdk::http::Response;
use autopack_sdk::types::{
    CallContext, Mode, Outcome, OutcomeStatus, ProviderError, ProviderInfo, Validated,
};
use autopack_sdk::{Guest, export_provider, host, log, params};
use serde_json::{Value, json};

use autopack_sdk::rest::{clip, origin_of, status_error};
use ops::Plan;

/// The real API.
const DEFAULT_BASE_URL: &str = "https://openapi.etsy.com";

struct Etsy;

/// The effective base URL, without a trailing slash.
fn base_url() -> String {
    host::setting("base_url")
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// The `shop_id` setting; a value that is not a positive integer counts as unset.
fn shop_id() -> Option<u64> {
    host::setting("shop_id")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
}

fn plan(operation: &str, p: &str) -> Result<Plan, ProviderError> {
    ops::plan(operation, &params::object(p)?, shop_id())
}

/// Etsy errors are `{"error": "..."}`.
fn error_of(resp: &Response) -> ProviderError {
    let message = resp.json()["error"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| clip(&resp.text()));
    status_error(resp, message)
}

/// Sends a request and returns its JSON body (`null` for 204), or the mapped error.
fn fetch(call: &autopack_sdk::rest::Call, base: &str) -> Result<Value, ProviderError> {
    let resp = call.send(base)?;
    if (200..300).contains(&resp.status) {
        Ok(resp.json())
    } else {
        Err(error_of(&resp))
    }
}

fn id_text(v: &Value) -> Option<String> {
    v.as_u64().map(|n| n.to_string())
}

fn outcome(
    status: OutcomeStatus,
    external_ref: Option<String>,
    summary: String,
    data: Value,
) -> Outcome {
    Outcome {
        status,
        external_ref,
        summary,
        spend: None,
        data: data.to_string(),
    }
}

/// A dry-run of a write: read the current state, describe the request, send nothing.
fn preview(operation: &str, plan: &Plan, base: &str) -> Result<Outcome, ProviderError> {
    let current = match &plan.before {
        Some(read) => fetch(read, base)?,
        None => Value::Null,
    };
    let request = plan.call.preview(base);
    log::info(&format!(
        "dry-run: would send {} {} (not sent)",
        plan.call.method, plan.call.path
    ));
    let what = match (operation, plan.listing_id) {
        ("create_draft_listing", _) => format!(
            "would create a draft listing `{}`",
            plan.params["title"].as_str().unwrap_or_default()
        ),
        ("publish_listing", Some(id)) => {
            format!("would publish listing {id} (Etsy listing fee 0.20 USD)")
        }
        ("delete_listing", Some(id)) => format!("would delete listing {id}"),
        (_, Some(id)) => format!("would update listing {id}"),
        _ => format!("would {operation}"),
    };
    let mut data = json!({"preview": request, "spend": plan.spend.as_ref().map(|a| json!({"minor_units": a.minor_units, "unit": a.unit}))});
    if !current.is_null() {
        data["current"] = current;
    }
    Ok(outcome(
        OutcomeStatus::Previewed,
        plan.listing_id.map(|id| id.to_string()),
        what,
        data,
    ))
}

impl Guest for Etsy {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            domain: "etsy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: ops::operations(),
            origins: vec![origin_of(&base_url())],
            secrets: vec!["ETSY_API_KEY".into(), "ETSY_OAUTH_TOKEN".into()],
            settings: vec!["base_url".into(), "shop_id".into()],
            supports_lookup: false,
        }
    }

    fn validate(
        _ctx: CallContext,
        operation: String,
        p: String,
    ) -> Result<Validated, ProviderError> {
        let plan = plan(&operation, &p)?;
        Ok(Validated {
            params: plan.params.to_string(),
            spend: plan.spend,
        })
    }

    fn execute(ctx: CallContext, operation: String, p: String) -> Result<Outcome, ProviderError> {
        let plan = plan(&operation, &p)?;
        let base = base_url();
        if plan.call.is_write() && ctx.mode == Mode::DryRun {
            return preview(&operation, &plan, &base);
        }
        let body = fetch(&plan.call, &base)?;
        let done = OutcomeStatus::Completed;
        Ok(match operation.as_str() {
            "get_shop" => outcome(
                done,
                id_text(&body["shop_id"]),
                format!(
                    "shop `{}` with {} active listings",
                    body["shop_name"].as_str().unwrap_or_default(),
                    body["listing_active_count"]
                ),
                body,
            ),
            "list_listings" => outcome(
                done,
                None,
                format!(
                    "{} {} listings in all, {} returned",
                    body["count"],
                    plan.params["state"].as_str().unwrap_or_default(),
                    body["results"].as_array().map_or(0, Vec::len)
                ),
                body,
            ),
            "create_draft_listing" => outcome(
                done,
                id_text(&body["listing_id"]),
                format!("created draft listing {}", body["listing_id"]),
                body,
            ),
            "publish_listing" => Outcome {
                spend: plan.spend.clone(),
                ..outcome(
                    done,
                    plan.listing_id.map(|id| id.to_string()),
                    format!(
                        "published listing {} (state {})",
                        plan.params["listing_id"],
                        body["state"].as_str().unwrap_or("unknown")
                    ),
                    body,
                )
            },
            "delete_listing" => outcome(
                done,
                plan.listing_id.map(|id| id.to_string()),
                format!("deleted listing {}", plan.params["listing_id"]),
                json!({"deleted": plan.params["listing_id"]}),
            ),
            _ => outcome(
                done,
                plan.listing_id.map(|id| id.to_string()),
                format!("updated listing {}", plan.params["listing_id"]),
                body,
            ),
        })
    }

    fn lookup(_ctx: CallContext) -> Option<Outcome> {
        None
    }
}

export_provider!(Etsy);
