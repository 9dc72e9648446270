//! `/metrics` in the Prometheus/OpenMetrics text format (`prometheus-client`).
//!
//! Counters and histograms are updated as requests and plugin calls happen; switch states
//! and spend against caps are read from the ledger when the page is scraped, so replicas
//! sharing one database report the same truth.

use crate::runtime::CallObserver;
use crate::service::Host;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    domain: String,
    tier: String,
    decision: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    domain: String,
    call: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    domain: String,
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpendLabels {
    project: String,
    unit: String,
    period: String,
    kind: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// The host's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    actions: Family<ActionLabels, Counter>,
    plugin_latency: Family<CallLabels, Histogram, fn() -> Histogram>,
    limit_hits: Family<LimitLabels, Counter>,
    switches: Family<ScopeLabels, Gauge>,
    spend: Family<SpendLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("autopack");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        let http_latency =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_latency.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "actions by domain, tier, decision and resulting state",
            actions.clone(),
        );
        let plugin_latency =
            Family::<CallLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "plugin_call_duration_seconds",
            "plugin call latency by domain and call (validate, execute, lookup)",
            plugin_latency.clone(),
        );
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register(
            "plugin_limit_hits",
            "plugin calls failed by a sandbox limit, by domain and limit code",
            limit_hits.clone(),
        );
        let switches = Family::<ScopeLabels, Gauge>::default();
        registry.register(
            "switch_on",
            "kill switch state (1 on, 0 off) by scope; `global_effective` includes the environment override",
            switches.clone(),
        );
        let spend = Family::<SpendLabels, Gauge>::default();
        registry.register(
            "spend_minor_units",
            "spend reserved and settled, and caps, in minor units by project, unit and period",
            spend.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_latency,
            actions,
            plugin_latency,
            limit_hits,
            switches,
            spend,
        }
    }

    /// Counts one HTTP request.
    pub fn http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.http_latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts one action outcome.
    pub fn action(&self, domain: &str, tier: Option<&str>, decision: &str, state: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                domain: domain.to_owned(),
                tier: tier.unwrap_or("none").to_owned(),
                decision: decision.to_owned(),
                state: state.to_owned(),
            })
            .inc();
    }

    /// The text page, with switch and spend gauges read from the ledger now.
    pub async fn render(&self, host: &Host) -> String {
        self.switches.clear();
        if let Ok(s) = host.switches().await {
            self.switches
                .get_or_create(&ScopeLabels {
                    scope: "global_effective".into(),
                })
                .set(i64::from(s.global_effective));
            for r in &s.rows {
                self.switches
                    .get_or_create(&ScopeLabels {
                        scope: r.scope.clone(),
                    })
                    .set(i64::from(r.on));
            }
        }
        self.spend.clear();
        let now = host.now();
        for policy in host.policies().iter() {
            let project = policy.project();
            let Ok(summary) = host.ledger().spend_summary(project, now).await else {
                continue;
            };
            let caps = policy.caps();
            let set = |unit: String, period: &str, kind: &str, v: i64| {
                self.spend
                    .get_or_create(&SpendLabels {
                        project: project.to_string(),
                        unit,
                        period: period.to_owned(),
                        kind: kind.to_owned(),
                    })
                    .set(v);
            };
            for u in &summary.units {
                let name = u.unit.to_string();
                set(name.clone(), "day", "reserved", u.day_reserved);
                set(name.clone(), "day", "settled", u.day_settled);
                set(name.clone(), "month", "reserved", u.month_reserved);
                set(name, "month", "settled", u.month_settled);
            }
            for unit in caps.units() {
                let name = unit.to_string();
                if let Some(m) = caps.per_day(unit) {
                    set(name.clone(), "day", "cap", m.minor_units);
                }
                if let Some(m) = caps.per_month(unit) {
                    set(name.clone(), "month", "cap", m.minor_units);
                }
                if let Some(m) = caps.per_action(unit) {
                    set(name, "action", "cap", m.minor_units);
                }
            }
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

impl CallObserver for Metrics {
    fn plugin_call(&self, domain: &str, call: &str, seconds: f64, limit: Option<&str>) {
        self.plugin_latency
            .get_or_create(&CallLabels {
                domain: domain.to_owned(),
                call: call.to_owned(),
            })
            .observe(seconds);
        if let Some(limit) = limit {
            self.limit_hits
                .get_or_create(&LimitLabels {
                    domain: domain.to_owned(),
                    limit: limit.to_owned(),
                })
                .inc();
        }
    }
}
