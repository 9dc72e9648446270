//! The HTTP API: axum routes over the one service type.
//!
//! Handlers are thin: the per-route auth layer authenticates and checks the role, the
//! handler parses, calls [`Host`], and maps errors into the one envelope
//! ([`error::ApiError`]). The route table ([`routes::ROUTES`]) is the only list of routes:
//! the router, the OpenAPI document and the unauthenticated allowlist come from it (I12).
//!
//! Layers, outermost first: request id (and its log span) → request log line and metrics →
//! timeout → panic catcher → security headers → optional CORS → body limit → route → auth
//! → handler.

pub mod auth;
pub mod error;
mod extract;
mod handlers;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod routes;
mod ui;

use crate::config::ServerSettings;
use crate::principal::Principal;
use crate::service::{AuthMethod, Host};
use auth::Authenticator;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use error::{ApiError, ErrorCode};
use routes::{Access, ROUTES, Route, RouteId, Verb};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    host: Arc<Host>,
    auth: Authenticator,
    metrics: Arc<metrics::Metrics>,
    settings: ServerSettings,
    openapi: String,
}

impl AppState {
    /// Composes the state.
    pub fn new(
        host: Arc<Host>,
        auth: Authenticator,
        settings: ServerSettings,
        metrics: Arc<metrics::Metrics>,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                host,
                auth,
                metrics,
                openapi: openapi::document().to_string(),
                settings,
            }),
        }
    }

    /// The service.
    pub fn host(&self) -> &Arc<Host> {
        &self.inner.host
    }

    fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    fn settings(&self) -> &ServerSettings {
        &self.inner.settings
    }
}

fn filter(v: Verb) -> MethodFilter {
    match v {
        Verb::Get => MethodFilter::GET,
        Verb::Post => MethodFilter::POST,
        Verb::Put => MethodFilter::PUT,
    }
}

fn handler(route: &'static Route) -> MethodRouter<AppState> {
    use handlers::*;
    let f = filter(route.method);
    match route.id {
        RouteId::Health => on(f, system::health),
        RouteId::Ready => on(f, system::ready),
        RouteId::Login => on(f, system::login),
        RouteId::Whoami => on(f, system::whoami),
        RouteId::ListProviders => on(f, system::list_providers),
        RouteId::GetProvider => on(f, system::get_provider),
        RouteId::Propose => on(f, actions::propose),
        RouteId::ListActions => on(f, actions::list),
        RouteId::GetAction => on(f, actions::get),
        RouteId::Approve => on(f, actions::approve),
        RouteId::Reject => on(f, actions::reject),
        RouteId::Execute => on(f, actions::execute),
        RouteId::Resolve => on(f, actions::resolve),
        RouteId::GetArtifact => on(f, actions::artifact),
        RouteId::ListSwitches => on(f, admin::list_switches),
        RouteId::GetSwitch => on(f, admin::get_switch),
        RouteId::PutSwitch => on(f, admin::put_switch),
        RouteId::Spend => on(f, admin::spend),
        RouteId::ListAudit => on(f, admin::list_audit),
        RouteId::VerifyAudit => on(f, admin::verify_audit),
        RouteId::Explain => on(f, admin::explain),
        RouteId::OpenApi => on(f, system::openapi),
        RouteId::Metrics => on(f, system::metrics),
        RouteId::Ui => on(f, ui::shell),
    }
}

/// The application: every route of the table with its auth layer, and the common layers.
pub fn app(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    // One method router per path, holding every method the table declares for it.
    let paths: std::collections::BTreeSet<&'static str> = ROUTES.iter().map(|r| r.path).collect();
    for path in paths {
        let mut mr: MethodRouter<AppState> = MethodRouter::new();
        for route in ROUTES.iter().filter(|r| r.path == path) {
            let guarded = handler(route).layer(middleware::from_fn_with_state(
                (state.clone(), route),
                authorize,
            ));
            mr = mr.merge(guarded);
        }
        router = router.route(path, mr.fallback(method_not_allowed));
    }
    let settings = state.settings().clone();
    let mut router = router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            settings.body_limit_bytes,
            body_limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            settings.body_limit_bytes,
        ));
    if let Some(cors) = cors_layer(&settings.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .layer(middleware::from_fn_with_state(
            Duration::from_millis(settings.request_timeout_ms),
            timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// The principal of an authenticated request, in the request's and response's extensions.
async fn authorize(
    State((state, route)): State<(AppState, &'static Route)>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match route.access {
        Access::Public(_) => None,
        Access::Principal | Access::Role(_) => match authenticate(&state, &req) {
            Ok((p, via)) => {
                req.extensions_mut().insert(via);
                Some(p)
            }
            Err(e) => return e.into_response(),
        },
    };
    if let (Access::Role(required), Some(p)) = (route.access, &principal)
        && !p.has(required)
    {
        return ApiError::forbidden(format!("this needs the `{required}` role")).into_response();
    }
    if let Some(p) = &principal {
        req.extensions_mut().insert(p.clone());
    }
    let mut res = next.run(req).await;
    if let Some(p) = principal {
        res.extensions_mut().insert(p);
    }
    res
}

fn authenticate(state: &AppState, req: &Request) -> Result<(Principal, AuthMethod), ApiError> {
    let headers = req.headers();
    if let Some(key) = headers.get("x-api-key") {
        let key = key
            .to_str()
            .map_err(|_| ApiError::unauthorized("the API key is not valid"))?;
        return state
            .auth()
            .by_key(key)
            .map(|p| (p, AuthMethod::ApiKey))
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid"));
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let token = v
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer <token>`"))?;
        return state
            .auth()
            .by_token(token.trim())
            .map(|p| (p, AuthMethod::Jwt))
            .ok_or_else(|| ApiError::unauthorized("the session token is not valid or expired"));
    }
    Err(ApiError::unauthorized(
        "credentials required: send `X-API-Key`, or `Authorization: Bearer` with a session token",
    ))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Refuses a declared body over the limit before reading it (413 in the envelope); bodies
/// without a length are cut by [`axum::extract::DefaultBodyLimit`] as they are read.
async fn body_limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    next.run(req).await
}

pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is over the limit of {limit} bytes"),
    )
}

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!(
                "the request took longer than {} ms; a proposal or execution it started goes on and can be read with GET /api/actions",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a handler panicked").into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // An artifact brings its own (sandboxing) policy; keep it.
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, ui::csp());
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    }
    res
}

fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(list)
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::HeaderName::from_static("x-api-key"),
                header::HeaderName::from_static("x-request-id"),
                header::HeaderName::from_static("idempotency-key"),
            ]),
    )
}

/// One log line and the metrics of every request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // Layers added with `Router::layer` run after routing, so the matched path is known;
    // the fallback (no route) has none.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let elapsed = start.elapsed();
    let principal = res
        .extensions()
        .get::<Principal>()
        .map(|p| p.id.as_str().to_owned());
    let code = res.extensions().get::<ErrorCode>().map(|c| c.0);
    state
        .metrics()
        .http(&route, method.as_str(), status, elapsed.as_secs_f64());
    tracing::info!(
        target: "autopack_host::http",
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        principal = principal.as_deref().unwrap_or("-"),
        error_code = code.unwrap_or("-"),
        "request"
    );
    res
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
