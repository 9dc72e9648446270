//! The OpenAPI 3.1 document, generated at run time from the route table.
//!
//! utoipa builds documents from handler annotations; here the single source is the route
//! table ([`ROUTES`]), so the document is emitted from it directly, with request body
//! schemas derived from the handlers' body types by `schemars` (JSON Schema 2020-12, the
//! dialect OpenAPI 3.1 uses). Each operation carries `x-autopack-role` and
//! `x-autopack-error-codes`, which the docs test compares with `docs/API.md`.

use super::error::API_CODES;
use super::handlers::{actions, admin, system};
use super::routes::{Access, ROUTES, Route, RouteId};
use crate::service::ServiceError;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// The HTTP status an error code is answered with.
pub fn status_of(code: &str) -> u16 {
    if let Some((_, s, _)) = API_CODES.iter().find(|(c, _, _)| *c == code) {
        return *s;
    }
    service_status(code).unwrap_or(500)
}

/// The statuses of the service's codes, from [`ServiceError::http_status`] itself.
fn service_status(code: &str) -> Option<u16> {
    SERVICE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, s)| *s)
}

/// Codes of the service and the artifact store as the API answers them.
pub const SERVICE_CODES: &[(&str, u16)] = &[
    ("invalid_params", 400),
    ("denied", 403),
    ("approval_by_proposer", 403),
    ("idempotency_key_reused", 422),
    ("payload_hash_mismatch", 422),
    ("action_in_progress", 409),
    ("duplicate_approval", 409),
    ("invalid_state", 409),
    ("action_expired", 409),
    ("lookup_inconclusive", 409),
    ("database_unavailable", 503),
    ("invalid_artifact_name", 400),
    ("artifact_not_found", 404),
];

fn body_schema(id: RouteId, generator: &mut schemars::SchemaGenerator) -> Option<Value> {
    let s = match id {
        RouteId::Login => generator.subschema_for::<system::LoginBody>(),
        RouteId::Propose => generator.subschema_for::<actions::ProposeBody>(),
        RouteId::Approve => generator.subschema_for::<actions::ApproveBody>(),
        RouteId::Reject => generator.subschema_for::<actions::RejectBody>(),
        RouteId::Resolve => generator.subschema_for::<actions::ResolveBody>(),
        RouteId::PutSwitch => generator.subschema_for::<admin::SwitchBody>(),
        RouteId::Explain => generator.subschema_for::<admin::ExplainBody>(),
        _ => return None,
    };
    Some(s.to_value())
}

fn success(route: &Route) -> (u16, &'static str, &'static str) {
    match route.id {
        RouteId::Propose => (
            201,
            "the action as recorded (200 with `Idempotent-Replayed: true` when the key named an existing action)",
            "application/json",
        ),
        RouteId::Metrics => (
            200,
            "metrics in the Prometheus text format",
            "application/openmetrics-text",
        ),
        RouteId::Ui => (200, "the web page's static shell", "text/html"),
        RouteId::GetArtifact => (
            200,
            "the artifact's bytes (possibly truncated and redacted; see the `X-Artifact-*` headers)",
            "application/octet-stream",
        ),
        _ => (200, "success", "application/json"),
    }
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": {"type": "string"},
            })
        })
        .collect()
}

fn query_params(id: RouteId) -> Vec<Value> {
    let q = |name: &str, ty: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}, "description": description});
    match id {
        RouteId::ListActions => vec![
            q("status", "string", "only actions in this state"),
            q("project", "string", "only this project"),
            q("domain", "string", "only this domain"),
            q("limit", "integer", "page size, 1 to 1000 (default 50)"),
            q("cursor", "string", "`next_cursor` of the previous page"),
        ],
        RouteId::Spend => vec![q("project", "string", "the project")],
        RouteId::ListAudit => vec![
            q("after", "integer", "records after this sequence number"),
            q("limit", "integer", "page size, 1 to 1000 (default 100)"),
        ],
        RouteId::GetArtifact => vec![q(
            "max_bytes",
            "integer",
            "return at most this many bytes (capped by the server)",
        )],
        _ => Vec::new(),
    }
}

fn operation(route: &Route, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(route.operation_id()));
    op.insert("summary".into(), json!(route.summary));
    let security = match route.access {
        Access::Public(why) => {
            op.insert("x-autopack-public".into(), json!(why));
            json!([])
        }
        _ => json!([{"apiKey": []}, {"bearer": []}]),
    };
    op.insert("security".into(), security);
    op.insert("x-autopack-role".into(), json!(route.access.label()));
    let codes = route.error_codes();
    op.insert("x-autopack-error-codes".into(), json!(codes));
    let mut params = path_params(route.path);
    params.extend(query_params(route.id));
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(schema) = body_schema(route.id, generator) {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": schema}}}),
        );
    }
    let mut responses = Map::new();
    let (status, description, media) = success(route);
    responses.insert(
        status.to_string(),
        json!({"description": description, "content": {media: {}}}),
    );
    let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
    for c in &codes {
        by_status.entry(status_of(c)).or_default().push(c);
    }
    for (status, codes) in by_status {
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("error codes: {}", codes.join(", ")),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = operation(route, &mut generator);
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "properties": {
                    "code": {"type": "string", "description": "stable snake_case code"},
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                    "decision": {"type": "object", "description": "for `denied`: the decision with every reason"},
                    "action_id": {"type": "string"},
                },
            }},
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Autopack Host",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The gate every side effect of Autopack passes through. Errors use one envelope; every response carries `X-Request-ID`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    })
}

/// Whether every service error code the document names has the status the service gives it
/// (a guard against the table above drifting from [`ServiceError::http_status`]).
pub fn service_codes_match(errors: &[ServiceError]) -> Result<(), String> {
    for e in errors {
        match service_status(e.code()) {
            Some(s) if s == e.http_status() => {}
            Some(s) => {
                return Err(format!(
                    "`{}`: table says {s}, service says {}",
                    e.code(),
                    e.http_status()
                ));
            }
            None if API_CODES.iter().any(|(c, _, _)| *c == e.code()) => {}
            None => return Err(format!("`{}` is missing from SERVICE_CODES", e.code())),
        }
    }
    Ok(())
}
