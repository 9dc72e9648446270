//! The route table: declared once (I12). The router, the OpenAPI document, the auth
//! allowlist and the docs test all read [`ROUTES`]; nothing else lists routes.

use crate::principal::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials; the text says why this route may be open.
    Public(&'static str),
    /// Any authenticated principal.
    Principal,
    /// A principal holding a role that grants this one.
    Role(Role),
}

impl Access {
    /// What `docs/API.md` writes in the "who" column.
    pub fn label(self) -> &'static str {
        match self {
            Access::Public(_) => "anyone",
            Access::Principal => "any principal",
            Access::Role(r) => r.as_str(),
        }
    }
}

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

impl Verb {
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
        }
    }
}

/// Names a route's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum RouteId {
    Health,
    Ready,
    Login,
    Whoami,
    ListProviders,
    GetProvider,
    Propose,
    ListActions,
    GetAction,
    Approve,
    Reject,
    Execute,
    Resolve,
    GetArtifact,
    ListSwitches,
    GetSwitch,
    PutSwitch,
    Spend,
    ListAudit,
    VerifyAudit,
    Explain,
    OpenApi,
    Metrics,
    Ui,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Its handler.
    pub id: RouteId,
    /// The method.
    pub method: Verb,
    /// The path, with `{param}` segments.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line for the docs.
    pub summary: &'static str,
    /// Error codes the route itself may answer with (the auth, body and server codes that
    /// apply to every route of its kind are added by [`Route::error_codes`]).
    pub errors: &'static [&'static str],
    /// Whether it takes a JSON body.
    pub body: bool,
}

impl Route {
    /// Every error code this route may answer with, sorted.
    pub fn error_codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = self.errors.to_vec();
        codes.extend(["internal", "request_timeout"]);
        if !matches!(self.access, Access::Public(_)) {
            codes.push("unauthorized");
        }
        if matches!(self.access, Access::Role(_)) {
            codes.push("forbidden");
        }
        if self.body {
            codes.extend([
                "invalid_json",
                "unsupported_media_type",
                "payload_too_large",
            ]);
        }
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    /// The OpenAPI operation id.
    pub fn operation_id(&self) -> String {
        let name = format!("{:?}", self.id);
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }
}

use Access::{Principal, Public, Role as R};
use Role::{Approver, Operator, Proposer, Viewer};
use RouteId::*;
use Verb::{Get, Post, Put};

const ACTION_ERRORS: &[&str] = &["not_found", "invalid_request"];

/// The route table (DESIGN §6).
pub const ROUTES: &[Route] = &[
    Route {
        id: Health,
        method: Get,
        path: "/health",
        access: Public(
            "liveness for process supervisors and load balancers, which hold no credentials; it answers a constant and reveals nothing",
        ),
        summary: "liveness",
        errors: &[],
        body: false,
    },
    Route {
        id: Ready,
        method: Get,
        path: "/ready",
        access: Public(
            "readiness for load balancers, which hold no credentials; it reveals only whether the ledger answers and how many providers loaded",
        ),
        summary: "readiness: ledger reachable, providers loaded",
        errors: &["not_ready"],
        body: false,
    },
    Route {
        id: Login,
        method: Post,
        path: "/api/auth/login",
        access: Public(
            "the way to obtain a session; it authenticates the API key in its body itself",
        ),
        summary: "exchange an API key for a short-lived session token",
        errors: &["unauthorized", "not_found", "invalid_request"],
        body: true,
    },
    Route {
        id: Whoami,
        method: Get,
        path: "/api/auth/whoami",
        access: Principal,
        summary: "who am I, roles, projects",
        errors: &[],
        body: false,
    },
    Route {
        id: ListProviders,
        method: Get,
        path: "/api/providers",
        access: R(Viewer),
        summary: "providers, operations, tiers, grants",
        errors: &[],
        body: false,
    },
    Route {
        id: GetProvider,
        method: Get,
        path: "/api/providers/{domain}",
        access: R(Viewer),
        summary: "one provider",
        errors: &["not_found"],
        body: false,
    },
    Route {
        id: Propose,
        method: Post,
        path: "/api/actions",
        access: R(Proposer),
        summary: "propose an action; dry-run unless `\"mode\": \"live\"`",
        errors: &[
            "not_found",
            "invalid_request",
            "invalid_params",
            "denied",
            "idempotency_key_reused",
            "action_in_progress",
            "database_unavailable",
        ],
        body: true,
    },
    Route {
        id: ListActions,
        method: Get,
        path: "/api/actions",
        access: R(Viewer),
        summary: "list actions (filter by status, project, domain; paginated)",
        errors: &["invalid_request"],
        body: false,
    },
    Route {
        id: GetAction,
        method: Get,
        path: "/api/actions/{id}",
        access: R(Viewer),
        summary: "one action with its approvals",
        errors: ACTION_ERRORS,
        body: false,
    },
    Route {
        id: Approve,
        method: Post,
        path: "/api/actions/{id}/approve",
        access: R(Approver),
        summary: "approve the exact payload: the body carries `payload_hash`",
        errors: &[
            "not_found",
            "invalid_request",
            "payload_hash_mismatch",
            "approval_by_proposer",
            "duplicate_approval",
            "invalid_state",
            "action_expired",
        ],
        body: true,
    },
    Route {
        id: Reject,
        method: Post,
        path: "/api/actions/{id}/reject",
        access: R(Approver),
        summary: "reject, with a reason",
        errors: &["not_found", "invalid_request", "invalid_state"],
        body: true,
    },
    Route {
        id: Execute,
        method: Post,
        path: "/api/actions/{id}/execute",
        access: R(Proposer),
        summary: "run an approved live action (every gate re-checked)",
        errors: &[
            "not_found",
            "invalid_request",
            "denied",
            "invalid_state",
            "action_expired",
            "action_in_progress",
            "database_unavailable",
        ],
        body: false,
    },
    Route {
        id: Resolve,
        method: Post,
        path: "/api/actions/{id}/resolve",
        access: R(Operator),
        summary: "reconcile an `unknown` action, optionally with the plugin's lookup",
        errors: &[
            "not_found",
            "invalid_request",
            "invalid_state",
            "lookup_inconclusive",
        ],
        body: true,
    },
    Route {
        id: GetArtifact,
        method: Get,
        path: "/api/actions/{id}/artifacts/{name}",
        access: R(Viewer),
        summary: "bounded, redacted read of an artifact",
        errors: &[
            "not_found",
            "invalid_request",
            "invalid_artifact_name",
            "artifact_not_found",
        ],
        body: false,
    },
    Route {
        id: ListSwitches,
        method: Get,
        path: "/api/switches",
        access: R(Viewer),
        summary: "kill switches",
        errors: &[],
        body: false,
    },
    Route {
        id: GetSwitch,
        method: Get,
        path: "/api/switches/{scope}",
        access: R(Viewer),
        summary: "one kill switch",
        errors: &["not_found"],
        body: false,
    },
    Route {
        id: PutSwitch,
        method: Put,
        path: "/api/switches/{scope}",
        access: R(Operator),
        summary: "flip a kill switch, with a reason (audited)",
        errors: &["not_found", "invalid_request", "database_unavailable"],
        body: true,
    },
    Route {
        id: Spend,
        method: Get,
        path: "/api/spend",
        access: R(Viewer),
        summary: "reservations and spend against caps",
        errors: &["not_found", "invalid_request"],
        body: false,
    },
    Route {
        id: ListAudit,
        method: Get,
        path: "/api/audit",
        access: R(Viewer),
        summary: "audit records",
        errors: &["invalid_request"],
        body: false,
    },
    Route {
        id: VerifyAudit,
        method: Get,
        path: "/api/audit/verify",
        access: R(Viewer),
        summary: "recompute the audit chain",
        errors: &[],
        body: false,
    },
    Route {
        id: Explain,
        method: Post,
        path: "/api/policies/{project}/explain",
        access: R(Viewer),
        summary: "the decision for an action, recorded nowhere",
        errors: &["not_found", "invalid_request", "invalid_params"],
        body: true,
    },
    Route {
        id: OpenApi,
        method: Get,
        path: "/openapi.json",
        access: R(Viewer),
        summary: "this API's OpenAPI 3.1 document",
        errors: &[],
        body: false,
    },
    Route {
        id: Metrics,
        method: Get,
        path: "/metrics",
        access: R(Viewer),
        summary: "Prometheus metrics",
        errors: &[],
        body: false,
    },
    Route {
        id: Ui,
        method: Get,
        path: "/ui",
        access: Public(
            "the web page's static shell: fixed HTML with no data; everything it shows comes from API calls that need a session",
        ),
        summary: "the web page (static shell)",
        errors: &[],
        body: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_and_public_ones_are_justified() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method.as_str(), r.path)),
                "{} {} twice",
                r.method.as_str(),
                r.path
            );
            if let Access::Public(why) = r.access {
                assert!(why.len() > 20, "{} needs a justification", r.path);
            }
        }
        assert_eq!(Route::operation_id(&ROUTES[5]), "get_provider");
    }
}
