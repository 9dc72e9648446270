//! One action's way through the service, invariant by invariant, on SQLite.

use crate::support::*;
use autopack_host::governance::{ActionId, Mode};
use autopack_host::ledger::{ActionStatus, AuditEvent, BeginOutcome, ExecutionPlan};
use autopack_host::service::{ProposeRequest, ResolveOutcome};
use serde_json::json;

// ---------------------------------------------------------------- I1 default deny

#[tokio::test]
async fn i1_no_policy_denies() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let req = ProposeRequest::new("ghost", "example", "echo", json!({"message": "hi"}));
    let err = host.propose(&pat(), req).await.unwrap_err();
    assert_eq!(err.code(), "denied", "{err}");
    assert_eq!(err.http_status(), 403);
    assert_eq!(denial_code(err.decision().unwrap()), "policy_missing");
    assert!(
        all_events(&host)
            .await
            .contains(&"action.refused".to_string())
    );
    assert!(w.server.requests().is_empty());
}

#[tokio::test]
async fn i1_unknown_domain_and_operation_deny() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let cases = [
        ("example", "delete_everything", "operation_unknown"),
        ("etsy", "get_shop", "domain_not_in_policy"),
    ];
    for (domain, op, code) in cases {
        let req = ProposeRequest::new("demo", domain, op, json!({})).live();
        let err = host.propose(&pat(), req).await.unwrap_err();
        assert_eq!(denial_code(err.decision().unwrap()), code, "{domain}.{op}");
    }
    // The host-side schema check runs before the plugin.
    let req = ProposeRequest::new("demo", "example", "echo", json!({"message": 5}));
    let err = host.propose(&pat(), req).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("invalid_params", 400));
    assert!(w.server.requests().is_empty());
}

// ---------------------------------------------------------------- I2 every gate at execution

#[tokio::test]
async fn i2_switch_off_blocks_an_approved_action_at_execute() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    assert_eq!(a.status, ActionStatus::Approved);
    host.set_switch(&op(), "wellbehaved", false, "incident")
        .await
        .unwrap();
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "domain_switch_off");
    host.set_switch(&op(), "global", false, "incident")
        .await
        .unwrap();
    host.set_switch(&op(), "wellbehaved", true, "fixed")
        .await
        .unwrap();
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "global_switch_off");
    assert!(w.server.requests().is_empty(), "nothing was sent");
    assert_eq!(
        host.get(&a.id).await.unwrap().status,
        ActionStatus::Approved
    );
    assert!(
        events_of(&host, &a.id)
            .await
            .contains(&"action.execution_denied".into())
    );
    host.set_switch(&op(), "global", true, "resolved")
        .await
        .unwrap();
    let done = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Succeeded);
    let writes = w.server.writes();
    assert_eq!((writes.len(), writes[0].path.as_str()), (1, "/notes"));
}

#[tokio::test]
async fn i2_external_actions_env_forces_global_off() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    drop(host);
    let mut env = w.env();
    env.insert("AUTOPACK_EXTERNAL_ACTIONS".into(), "off".into());
    let host = w.host_with_env(env).await;
    assert!(host.external_actions_forced_off());
    assert!(!host.switches().await.unwrap().global_effective);
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "global_switch_off");
    // Tier A reads are live actions too.
    let req = ProposeRequest::new("demo", "example", "get_status", json!({})).live();
    let err = host.propose(&pat(), req).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "global_switch_off");
    assert!(w.server.requests().is_empty());
}

#[tokio::test]
async fn i2_spend_cap_is_rechecked_at_execute() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    // Two approved actions of 5.00 USD each fit the 10.00 daily cap; a third does not,
    // though it was approvable when proposed.
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            approved(&host, spend_req(&format!("/pay/{i}"), 500))
                .await
                .id,
        );
    }
    host.execute(&pat(), &ids[0]).await.unwrap();
    host.execute(&pat(), &ids[1]).await.unwrap();
    let err = host.execute(&pat(), &ids[2]).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "spend_daily_exceeded");
    assert_eq!(w.server.writes().len(), 2);
}

// ---------------------------------------------------------------- I3 dry-run

#[tokio::test]
async fn i3_dry_run_blocks_writes_and_previews_the_attempted_post() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    // Switches stay off: dry-run does not consult them.
    let req = ProposeRequest::new("demo", "example", "post_note", json!({"text": "hello"}));
    assert_eq!(req.mode, Mode::DryRun, "dry-run is the default");
    let a = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(a.status, ActionStatus::Previewed);
    let preview = a.preview.clone().unwrap();
    let first = &preview.as_array().unwrap()[0];
    assert_eq!(first["method"], "POST");
    assert!(
        first["url"].as_str().unwrap().ends_with("/notes"),
        "{preview}"
    );
    assert_eq!(a.outcome.as_ref().unwrap()["status"], "previewed");
    // The well-behaved guest ignores the mode and sends its write anyway: still blocked.
    let a = host
        .propose(&pat(), write_req("/notes").with_mode_dry_run())
        .await
        .unwrap()
        .action;
    assert_eq!(a.status, ActionStatus::Failed, "the gate refused the write");
    assert_eq!(a.preview.unwrap()[0]["method"], "POST");
    assert!(
        w.server.writes().is_empty(),
        "zero writes reached the server"
    );
}

#[tokio::test]
async fn i3_tier_a_read_runs_now_under_the_read_only_profile() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let req = ProposeRequest::new("demo", "example", "get_status", json!({})).live();
    let a = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(a.status, ActionStatus::Succeeded);
    let seen = w.server.requests();
    assert_eq!((seen.len(), seen[0].method.as_str()), (1, "GET"));
}

// ---------------------------------------------------------------- I4 approval bound to the hash

#[tokio::test]
async fn i4_wrong_hash_is_refused_and_pending_never_runs() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = host
        .propose(&pat(), write_req("/notes"))
        .await
        .unwrap()
        .action;
    assert_eq!(a.status, ActionStatus::PendingApproval);
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(err.code(), "invalid_state");
    let err = host
        .approve(&alice(), &a.id, &"ab".repeat(32))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("payload_hash_mismatch", 422)
    );
    let err = host
        .approve(&alice(), &a.id, "not-a-hash")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "payload_hash_mismatch");
    assert_eq!(
        host.get(&a.id).await.unwrap().status,
        ActionStatus::PendingApproval
    );
    assert!(
        w.server.requests().is_empty(),
        "a live C action is never sent before approval"
    );
}

#[tokio::test]
async fn i4_changed_params_are_a_new_action_with_a_new_hash() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    let b = host.propose(&pat(), write_req("/notes/2")).await.unwrap();
    assert!(!b.replayed);
    assert_ne!(a.id, b.action.id);
    assert_ne!(a.payload_hash, b.action.payload_hash);
    assert_eq!(
        b.action.status,
        ActionStatus::PendingApproval,
        "needs its own approval"
    );
    // Normalization is part of the hash: `post` and `POST` are the same payload.
    let mut upper = write_req("/notes");
    upper.params["method"] = json!("POST");
    let again = host.propose(&pat(), upper).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.action.id, a.id);
}

#[tokio::test]
async fn i4_plugin_digest_change_makes_approvals_stale() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    let pending = host
        .propose(&pat(), write_req("/other"))
        .await
        .unwrap()
        .action;
    drop(host);
    let mut w = w;
    w.wellbehaved_component = rebuilt_component(&w.wellbehaved_component, w.dir.path());
    let host = w.host().await;
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(
        denial_code(err.decision().unwrap()),
        "plugin_digest_changed"
    );
    let err = host
        .approve(&alice(), &pending.id, pending.payload_hash.as_str())
        .await
        .unwrap_err();
    assert_eq!(
        denial_code(err.decision().unwrap()),
        "plugin_digest_changed"
    );
    assert!(w.server.requests().is_empty());
    // Proposed again, the same params hash differently (the digest is in the payload).
    let fresh = host
        .propose(&pat(), write_req("/notes"))
        .await
        .unwrap()
        .action;
    assert_ne!(fresh.payload_hash, a.payload_hash);
}

// ---------------------------------------------------------------- I5 idempotency

#[tokio::test]
async fn i5_same_key_same_payload_returns_the_recorded_result() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes").with_key("order-1")).await;
    let done = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Succeeded);
    let again = host
        .propose(&pat(), write_req("/notes").with_key("order-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.action.id, a.id);
    assert_eq!(again.action.outcome, done.outcome);
    let re = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(re.outcome, done.outcome);
    assert_eq!(w.server.writes().len(), 1, "never a second execution");
}

#[tokio::test]
async fn i5_same_key_different_payload_is_refused() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    host.propose(&pat(), write_req("/notes").with_key("k1"))
        .await
        .unwrap();
    let err = host
        .propose(&pat(), write_req("/elsewhere").with_key("k1"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("idempotency_key_reused", 422)
    );
    // Without a key, the key is the payload hash.
    let a = host.propose(&pat(), write_req("/x")).await.unwrap().action;
    assert_eq!(a.idempotency_key, a.payload_hash.as_str());
}

#[tokio::test]
async fn i5_idempotency_key_reaches_the_plugin() {
    let w = World::with_policy(
        Db::Sqlite,
        &POLICY.replace(
            "operations = [\"echo\", \"get_status\", \"post_note\"]",
            "operations = [\"echo\", \"get_status\", \"post_note\"]\nauto_approve = [\"post_note\"]",
        ),
    )
    .await;
    let host = w.host().await;
    w.all_on(&host).await;
    let req = ProposeRequest::new("demo", "example", "post_note", json!({"text": "hi"}))
        .live()
        .with_key("note-key-7");
    let a = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(
        a.status,
        ActionStatus::Approved,
        "auto-approved tier B, not run at proposal"
    );
    assert!(w.server.requests().is_empty());
    let done = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Succeeded);
    let writes = w.server.writes();
    assert_eq!(writes.len(), 1);
    assert!(writes[0].body.contains("note-key-7"), "{}", writes[0].body);
}

// ---------------------------------------------------------------- I6 at most one attempt

#[tokio::test]
async fn i6_executing_becomes_unknown_at_start_and_is_not_resent() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    let b = approved(&host, write_req("/notes/b")).await;
    // The host dies between entering `executing` and recording the outcome.
    for id in [&a.id, &b.id] {
        let started = host
            .ledger()
            .begin_execution(id, NOW, |_| {
                Ok(ExecutionPlan {
                    reserve: vec![],
                    decision: json!({"verdict": "allow"}),
                    audit: AuditEvent::new(NOW, "pat", "test"),
                })
            })
            .await
            .unwrap();
        assert!(matches!(started, BeginOutcome::Started(_)));
    }
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("action_in_progress", 409));
    drop(host);
    let host = w.host().await;
    let mut recovered: Vec<ActionId> = host.recovered().to_vec();
    recovered.sort();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(recovered, expected);
    assert_eq!(host.get(&a.id).await.unwrap().status, ActionStatus::Unknown);
    let err = host.execute(&pat(), &a.id).await.unwrap_err();
    assert_eq!(err.code(), "invalid_state");
    assert!(w.server.requests().is_empty(), "never retried by itself");
    // The guest has no lookup: the operator decides.
    let err = host
        .resolve(&op(), &a.id, None, "checked", true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "lookup_inconclusive");
    let r = host
        .resolve(
            &op(),
            &a.id,
            Some(ResolveOutcome::Failed),
            "not on the server",
            false,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ActionStatus::Failed);
    let r = host
        .resolve(
            &op(),
            &b.id,
            Some(ResolveOutcome::Succeeded),
            "found it",
            false,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ActionStatus::Succeeded);
    assert!(host.verify_audit().await.unwrap().ok);
}

// ---------------------------------------------------------------- I7 spend

#[tokio::test]
async fn i7_actual_spend_above_reservation_trips_the_domain_switch() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    // Declares 1.00 USD (reserved at execution), then reports 2.50 USD actually spent.
    let mut over = spend_req("/pay", 100);
    over.params["actual_spend"] = json!({"minor_units": 250, "unit": "USD"});
    let a = approved(&host, over).await;
    // Approved before the trip, in the same domain; and one in another domain.
    let next = approved(&host, write_req("/notes")).await;
    let done = host.execute(&pat(), &a.id).await.unwrap();
    assert_eq!(done.status, ActionStatus::Succeeded, "{:?}", done.error);
    assert_eq!(w.server.writes().len(), 1);

    // The domain switch is off, by the system, saying why; the global switch stays on.
    let state = host.switches().await.unwrap();
    let row = |scope: &str| {
        state
            .rows
            .iter()
            .find(|r| r.scope == scope)
            .unwrap()
            .clone()
    };
    let tripped = row("wellbehaved");
    assert!(!tripped.on, "the domain switch tripped off: {tripped:?}");
    assert_eq!(tripped.updated_by, "system");
    assert!(
        tripped.reason.contains(a.id.as_str()) && tripped.reason.contains("1.50 USD"),
        "{}",
        tripped.reason
    );
    assert!(row("global").on && row("example").on && state.global_effective);

    // An audit record says why: which action, how much above the reservation.
    let records = host.ledger().audit_records(0, 1000).await.unwrap();
    let trip: Vec<_> = records
        .iter()
        .filter(|r| r.event == "switch.tripped")
        .collect();
    assert_eq!(trip.len(), 1, "one trip record");
    let trip = trip[0];
    assert_eq!(trip.action_id.as_deref(), Some(a.id.as_str()));
    assert_eq!(trip.domain.as_deref(), Some("wellbehaved"));
    assert_eq!(
        (trip.actor.as_str(), trip.auth.as_str()),
        ("system", "internal")
    );
    assert_eq!(trip.spend, ["1.50 USD"]);
    assert_eq!(trip.reasons[0]["code"], "actual_spend_above_reservation");
    assert_eq!(trip.outcome.as_deref(), Some("switch wellbehaved off"));
    let succeeded = records
        .iter()
        .find(|r| r.event == "action.succeeded" && r.action_id.as_deref() == Some(a.id.as_str()))
        .unwrap();
    assert!(
        succeeded.seq < trip.seq,
        "the trip follows the outcome that caused it"
    );

    // The actual spend is what counts against the caps.
    let s = host
        .ledger()
        .spend_summary(&"demo".parse().unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!((s.units[0].day_settled, s.units[0].day_reserved), (250, 0));

    // The next live execute in that domain is refused, though it was approved; the other
    // domain carries on.
    let err = host.execute(&pat(), &next.id).await.unwrap_err();
    assert_eq!(denial_code(err.decision().unwrap()), "domain_switch_off");
    assert_eq!(
        host.get(&next.id).await.unwrap().status,
        ActionStatus::Approved
    );
    assert_eq!(w.server.writes().len(), 1, "nothing more was sent");
    let req = ProposeRequest::new("demo", "example", "get_status", json!({})).live();
    let read = host.propose(&pat(), req).await.unwrap().action;
    assert_eq!(read.status, ActionStatus::Succeeded);
    assert!(host.verify_audit().await.unwrap().ok);
}

// ---------------------------------------------------------------- approvals

#[tokio::test]
async fn separation_of_duties_and_distinct_approvers() {
    let w = World::with_policy(
        Db::Sqlite,
        &POLICY.replace("approvals_required = 1", "approvals_required = 2"),
    )
    .await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = host
        .propose(&pat(), write_req("/notes"))
        .await
        .unwrap()
        .action;
    let h = a.payload_hash.as_str();
    let err = host.approve(&pat(), &a.id, h).await.unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("approval_by_proposer", 403)
    );
    let one = host.approve(&alice(), &a.id, h).await.unwrap();
    assert_eq!(one.status, ActionStatus::PendingApproval, "1 of 2");
    let err = host.approve(&alice(), &a.id, h).await.unwrap_err();
    assert_eq!(err.code(), "duplicate_approval");
    let two = host.approve(&bob(), &a.id, h).await.unwrap();
    assert_eq!(two.status, ActionStatus::Approved);
    assert_eq!(
        host.execute(&pat(), &a.id).await.unwrap().status,
        ActionStatus::Succeeded
    );
    assert_eq!(w.server.writes().len(), 1);
}

#[tokio::test]
async fn approval_expiry_expired_actions_never_run() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    // Pending past its window: approving it expires it.
    let a = host.propose(&pat(), write_req("/a")).await.unwrap().action;
    w.clock.advance(3600);
    let err = host
        .approve(&alice(), &a.id, a.payload_hash.as_str())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "action_expired");
    assert_eq!(host.get(&a.id).await.unwrap().status, ActionStatus::Expired);
    // Approved, then the approval goes stale before execution.
    let b = approved(&host, write_req("/b")).await;
    w.clock.advance(3600);
    let err = host.execute(&pat(), &b.id).await.unwrap_err();
    assert_eq!(err.code(), "action_expired");
    assert_eq!(host.get(&b.id).await.unwrap().status, ActionStatus::Expired);
    // Rejection is final too.
    let c = host.propose(&pat(), write_req("/c")).await.unwrap().action;
    let r = host.reject(&alice(), &c.id, "not today").await.unwrap();
    assert_eq!(r.status, ActionStatus::Rejected);
    assert!(w.server.requests().is_empty());
}

// ---------------------------------------------------------------- I10 audit

#[tokio::test]
async fn i10_audit_verifies_after_a_full_walk() {
    let w = World::new(Db::Sqlite).await;
    let host = w.host().await;
    w.all_on(&host).await;
    let a = approved(&host, write_req("/notes")).await;
    host.execute(&pat(), &a.id).await.unwrap();
    host.propose(
        &pat(),
        ProposeRequest::new("demo", "example", "echo", json!({"message": "x"})),
    )
    .await
    .unwrap();
    let events = events_of(&host, &a.id).await;
    assert_eq!(
        events,
        [
            "action.proposed",
            "action.approval",
            "action.approved",
            "action.executing",
            "action.succeeded"
        ]
    );
    let all = all_events(&host).await;
    for e in ["config.loaded", "policy.loaded", "switch.on"] {
        assert!(all.contains(&e.to_string()), "{e} in {all:?}");
    }
    let records = host.ledger().audit_records(0, 1000).await.unwrap();
    let exec = records
        .iter()
        .find(|r| r.event == "action.executing")
        .unwrap();
    assert_eq!(exec.actor, "pat");
    assert_eq!(exec.auth, "test");
    assert_eq!(exec.request_id.as_deref(), Some("req-pat"));
    assert_eq!(exec.decision.as_deref(), Some("allow"));
    assert!(exec.policy_digest.is_some() && exec.plugin_digest.is_some());
    let report = host.verify_audit().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(host.export_audit().await.unwrap().len(), records.len());
}

/// Only used by the dry-run test: a live request turned back into a dry-run.
trait DryRun {
    fn with_mode_dry_run(self) -> Self;
}

impl DryRun for ProposeRequest {
    fn with_mode_dry_run(mut self) -> Self {
        self.mode = Mode::DryRun;
        self
    }
}
