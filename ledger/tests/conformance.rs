//! The ledger conformance suite: every test runs against SQLite (a file in a temporary
//! directory) and PostgreSQL (a fresh database on `AUTOPACK_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards). PostgreSQL being
//! unreachable fails the PostgreSQL half with a message saying so; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use autopack_governance::{Mode, Money, Switches, Timestamp};
use autopack_ledger::{
    ActionFilter, ActionPatch, ActionStatus, ApprovalRow, AuditFaultKind, BeginOutcome, Finished,
    Inserted, LedgerError, LedgerOptions, Page, SwitchScope, can_transition,
};
use common::*;
use serde_json::json;

/// Generates one `#[tokio::test]` per backend for each suite function.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::common::run(autopack_ledger::BackendKind::Sqlite, crate::suite::$name)
                        .await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::common::run(autopack_ledger::BackendKind::Postgres, crate::suite::$name)
                        .await;
                }
            )*
        }
    };
}

conformance!(
    i10_every_change_appends_exactly_one_record,
    i6_lifecycle_refuses_every_illegal_transition,
    i6_state_conflict_names_expected_and_actual,
    i6_insert_refuses_live_executing_and_terminal_starts,
    i5_same_key_returns_existing_action_untouched,
    i5_concurrent_inserts_of_one_key_record_one_action,
    i4_approval_must_carry_the_payload_hash,
    i4_execution_consumes_approvals,
    i2_expire_due_expires_pending_and_approved_only,
    i2_begin_execution_refuses_an_expired_action,
    i2_switches_default_off_and_every_flip_audited,
    i2_switch_off_denies_approved_action_at_execution,
    i2_begin_execution_only_from_approved,
    i2_unreadable_switches_fail_closed,
    i6_executing_becomes_unknown_on_restart_and_is_not_retried,
    i6_resolve_only_from_unknown,
    i6_twenty_concurrent_begins_of_one_action_start_one,
    i7_hundred_concurrent_executions_fit_the_daily_cap_exactly,
    i7_overspend_trips_the_domain_switch,
    i7_settlement_releases_the_unspent_part,
    i10_verify_ok_and_export_lines_hash_independently,
    i10_tamper_edit_is_detected,
    i10_tamper_delete_is_detected,
    i10_tamper_reorder_is_detected,
    i10_tamper_tail_delete_is_detected,
    i10_records_carry_the_minimum_fields,
    i10_policy_load_event_is_recorded,
    i5_lookups_lists_and_pages,
);

mod suite {
    use super::*;

    fn finished(status: ActionStatus, spend: &[&str]) -> Finished {
        Finished {
            status,
            outcome: Some(json!({ "status": status.as_str(), "external_ref": "L-1" })),
            error: None,
            preview: None,
            actual_spend: spend.iter().map(|s| Money::parse(s).unwrap()).collect(),
        }
    }

    /// An action of `demo` in `status`, reached only through legal operations.
    async fn make_in(env: &Env, status: ActionStatus) -> autopack_governance::ActionId {
        let l = &env.ledger;
        use ActionStatus::*;
        match status {
            Denied | PendingApproval | Approved => {
                let new = new_action(status, &[]);
                let id = new.id.clone();
                l.insert_action(new, ev("pat")).await.unwrap();
                id
            }
            Previewed => {
                let mut new = new_action(Executing, &[]);
                new.mode = Mode::DryRun;
                new.payload_hash = hash_of(&new.params, Mode::DryRun);
                new.idempotency_key = new.payload_hash.to_string();
                let id = new.id.clone();
                l.insert_action(new, ev("pat")).await.unwrap();
                l.finish_execution(&id, finished(Previewed, &[]), ev("pat"))
                    .await
                    .unwrap();
                id
            }
            Executing | Succeeded | Failed | Unknown => {
                let id = Box::pin(make_in(env, Approved)).await;
                let out = l.begin_execution(&id, NOW, allow_all()).await.unwrap();
                assert!(matches!(out, BeginOutcome::Started(_)));
                match status {
                    Succeeded | Failed => {
                        l.finish_execution(&id, finished(status, &[]), ev("pat"))
                            .await
                            .unwrap();
                    }
                    Unknown => {
                        let ids = l.mark_executing_unknown(NOW).await.unwrap();
                        assert!(ids.contains(&id));
                    }
                    _ => {}
                }
                id
            }
            Rejected | Expired => {
                let id = Box::pin(make_in(env, PendingApproval)).await;
                l.transition(
                    &id,
                    &[PendingApproval],
                    status,
                    ActionPatch::default(),
                    ev("al"),
                )
                .await
                .unwrap();
                id
            }
        }
    }

    pub async fn i10_every_change_appends_exactly_one_record(env: Env) {
        let l = &env.ledger;
        assert_eq!(audit_len(l).await, 0);
        switches_on(l).await;
        assert_eq!(audit_len(l).await, 2);
        let new = new_action(ActionStatus::PendingApproval, &["1.00 USD"]);
        let (id, hash) = (new.id.clone(), new.payload_hash.clone());
        assert!(l.insert_action(new, ev("pat")).await.unwrap().is_new());
        assert_eq!(audit_len(l).await, 3);
        l.add_approval(
            &id,
            ApprovalRow::new("alice".parse().unwrap(), hash, NOW),
            ev("alice"),
        )
        .await
        .unwrap();
        assert_eq!(audit_len(l).await, 4);
        let a = l
            .transition(
                &id,
                &[ActionStatus::PendingApproval],
                ActionStatus::Approved,
                ActionPatch::default(),
                ev("alice"),
            )
            .await
            .unwrap();
        assert_eq!(a.status, ActionStatus::Approved);
        assert_eq!(audit_len(l).await, 5);
        let started = l
            .begin_execution(&id, NOW, governed(policy("20.00 USD")))
            .await;
        let BeginOutcome::Started(a) = started.unwrap() else {
            panic!("the approved action should start")
        };
        assert_eq!(a.status, ActionStatus::Executing);
        assert_eq!(audit_len(l).await, 6);
        let out = l
            .finish_execution(
                &id,
                finished(ActionStatus::Succeeded, &["1.00 USD"]),
                ev("pat"),
            )
            .await
            .unwrap();
        assert_eq!(out.action.status, ActionStatus::Succeeded);
        assert!(out.overspend.is_empty());
        assert_eq!(audit_len(l).await, 7);
        let events: Vec<String> = l
            .audit_records(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect();
        assert_eq!(
            events,
            [
                "switch.on",
                "switch.on",
                "action.proposed",
                "action.approval",
                "action.approved",
                "action.executing",
                "action.succeeded"
            ]
        );
        // A refused operation writes nothing.
        let err = l
            .transition(
                &id,
                &[ActionStatus::Succeeded],
                ActionStatus::Failed,
                ActionPatch::default(),
                ev("x"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "illegal_transition");
        assert_eq!(audit_len(l).await, 7);
        assert!(l.verify_audit().await.unwrap().ok);
    }

    pub async fn i6_lifecycle_refuses_every_illegal_transition(env: Env) {
        let l = &env.ledger;
        for from in ActionStatus::ALL {
            let id = make_in(&env, from).await;
            assert_eq!(l.get_action(&id).await.unwrap().status, from);
            let before = audit_len(l).await;
            for to in ActionStatus::ALL {
                let legal_here = can_transition(from, to)
                    && to != ActionStatus::Executing
                    && from != ActionStatus::Executing
                    && from != ActionStatus::Unknown;
                if legal_here {
                    continue; // exercised by the lifecycle tests; it would move the action
                }
                let err = l
                    .transition(&id, &[from], to, ActionPatch::default(), ev("x"))
                    .await
                    .unwrap_err();
                assert_eq!(err.code(), "illegal_transition", "{from} -> {to}: {err}");
                assert_eq!(
                    l.get_action(&id).await.unwrap().status,
                    from,
                    "{from} -> {to}"
                );
            }
            assert_eq!(
                audit_len(l).await,
                before,
                "refusals from {from} wrote records"
            );
            if from.is_terminal() && from != ActionStatus::Unknown {
                // Terminal: no operation moves it.
                let r = l.finish_execution(&id, finished(ActionStatus::Failed, &[]), ev("x"));
                assert_eq!(r.await.unwrap_err().code(), "state_conflict");
                let r = l.resolve(&id, finished(ActionStatus::Failed, &[]), ev("x"));
                assert_eq!(r.await.unwrap_err().code(), "state_conflict");
                let r = l.begin_execution(&id, NOW, allow_all());
                assert_eq!(r.await.unwrap_err().code(), "state_conflict");
            }
        }
        assert!(l.verify_audit().await.unwrap().ok);
    }

    pub async fn i6_state_conflict_names_expected_and_actual(env: Env) {
        let l = &env.ledger;
        let id = make_in(&env, ActionStatus::PendingApproval).await;
        let err = l
            .transition(
                &id,
                &[ActionStatus::Approved],
                ActionStatus::Expired,
                ActionPatch::default(),
                ev("x"),
            )
            .await
            .unwrap_err();
        match &err {
            LedgerError::StateConflict {
                expected, actual, ..
            } => {
                assert_eq!(expected, &[ActionStatus::Approved]);
                assert_eq!(*actual, ActionStatus::PendingApproval);
            }
            other => panic!("expected a state conflict, got {other:?}"),
        }
        assert_eq!(err.code(), "state_conflict");
        let msg = err.to_string();
        assert!(
            msg.contains("approved") && msg.contains("pending_approval"),
            "{msg}"
        );
        let missing = new_id();
        let err = l.get_action(&missing).await.unwrap_err();
        assert_eq!(err.code(), "not_found");
    }

    pub async fn i6_insert_refuses_live_executing_and_terminal_starts(env: Env) {
        let l = &env.ledger;
        for status in [
            ActionStatus::Executing,
            ActionStatus::Succeeded,
            ActionStatus::Failed,
            ActionStatus::Unknown,
            ActionStatus::Previewed,
            ActionStatus::Rejected,
            ActionStatus::Expired,
        ] {
            let err = l
                .insert_action(new_action(status, &[]), ev("pat"))
                .await
                .unwrap_err();
            assert_eq!(err.code(), "invalid_input", "{status}");
        }
        assert_eq!(audit_len(l).await, 0);
    }

    pub async fn i5_same_key_returns_existing_action_untouched(env: Env) {
        let l = &env.ledger;
        let mut first = new_action(ActionStatus::PendingApproval, &[]);
        first.idempotency_key = "order-42".into();
        let a = l.insert_action(first.clone(), ev("pat")).await.unwrap();
        let Inserted::New(a) = a else {
            panic!("first insert is new")
        };
        let records = audit_len(l).await;

        // Same key, same payload, another id: the first action comes back, nothing written.
        let mut again = first.clone();
        again.id = new_id();
        let Inserted::Existing(b) = l.insert_action(again, ev("pat")).await.unwrap() else {
            panic!("same key must return the existing action")
        };
        assert_eq!(a, b);

        // Same key, other payload: still the existing action, for the service to refuse.
        let mut other = new_action(ActionStatus::PendingApproval, &[]);
        other.idempotency_key = "order-42".into();
        let Inserted::Existing(c) = l.insert_action(other.clone(), ev("pat")).await.unwrap() else {
            panic!("same key must return the existing action")
        };
        assert_eq!(c.id, a.id);
        assert_ne!(c.payload_hash, other.payload_hash);
        assert_eq!(audit_len(l).await, records);
        assert!(l.get_action(&other.id).await.is_err());

        // The key is per project.
        let mut elsewhere = other;
        elsewhere.project = "other".parse().unwrap();
        assert!(
            l.insert_action(elsewhere, ev("pat"))
                .await
                .unwrap()
                .is_new()
        );

        let found = l
            .find_by_idempotency(&"demo".parse().unwrap(), "order-42")
            .await
            .unwrap();
        assert_eq!(found.map(|f| f.id), Some(a.id));
    }

    pub async fn i5_concurrent_inserts_of_one_key_record_one_action(env: Env) {
        let l = std::sync::Arc::new(env.reopen(&LedgerOptions::default()).await);
        let template = new_action(ActionStatus::PendingApproval, &[]);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let l = l.clone();
            let mut n = template.clone();
            n.id = new_id();
            tasks.push(tokio::spawn(
                async move { l.insert_action(n, ev("pat")).await },
            ));
        }
        let mut new = 0;
        let mut ids = std::collections::BTreeSet::new();
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            new += usize::from(r.is_new());
            ids.insert(r.action().id.clone());
        }
        assert_eq!(new, 1);
        assert_eq!(ids.len(), 1);
        assert_eq!(audit_len(&env.ledger).await, 1);
    }

    pub async fn i4_approval_must_carry_the_payload_hash(env: Env) {
        let l = &env.ledger;
        let new = new_action(ActionStatus::PendingApproval, &[]);
        let (id, hash) = (new.id.clone(), new.payload_hash.clone());
        l.insert_action(new, ev("pat")).await.unwrap();
        let records = audit_len(l).await;
        let other = hash_of(&json!({ "listing_id": 1 }), Mode::Live);
        let err = l
            .add_approval(
                &id,
                ApprovalRow::new("alice".parse().unwrap(), other, NOW),
                ev("a"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "payload_hash_mismatch");
        assert_eq!(audit_len(l).await, records);

        let alice = ApprovalRow::new("alice".parse().unwrap(), hash.clone(), NOW);
        let added = l
            .add_approval(&id, alice.clone(), ev("alice"))
            .await
            .unwrap();
        assert_eq!(added.approvals, vec![alice.clone()]);
        let err = l.add_approval(&id, alice, ev("alice")).await.unwrap_err();
        assert_eq!(err.code(), "duplicate_approval");
        let bob = ApprovalRow::new("bob".parse().unwrap(), hash.clone(), NOW.plus_seconds(5));
        let added = l.add_approval(&id, bob, ev("bob")).await.unwrap();
        assert_eq!(added.approvals.len(), 2);
        assert_eq!(added.action.status, ActionStatus::PendingApproval);
        assert_eq!(audit_len(l).await, records + 2);

        l.transition(
            &id,
            &[ActionStatus::PendingApproval],
            ActionStatus::Rejected,
            ActionPatch::default(),
            ev("carol"),
        )
        .await
        .unwrap();
        let carol = ApprovalRow::new("carol".parse().unwrap(), hash, NOW);
        let err = l.add_approval(&id, carol, ev("carol")).await.unwrap_err();
        assert_eq!(err.code(), "state_conflict");
    }

    pub async fn i4_execution_consumes_approvals(env: Env) {
        let l = &env.ledger;
        switches_on(l).await;
        let id = approved(l, &["1.00 USD"]).await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(0usize));
        let seen2 = seen.clone();
        let check = move |s: &autopack_ledger::ExecutionSnapshot| {
            *seen2.lock().unwrap() = s.approvals.len();
            allow_all()(s)
        };
        let out = l.begin_execution(&id, NOW, check).await.unwrap();
        assert!(matches!(out, BeginOutcome::Started(_)));
        assert_eq!(
            *seen.lock().unwrap(),
            1,
            "the check saw the unconsumed approval"
        );
        let approvals = l.approvals(&id).await.unwrap();
        assert_eq!(approvals.len(), 1);
        assert!(approvals.iter().all(|a| a.consumed));
    }

    pub async fn i2_expire_due_expires_pending_and_approved_only(env: Env) {
        let l = &env.ledger;
        let pending = make_in(&env, ActionStatus::PendingApproval).await;
        let approved = make_in(&env, ActionStatus::Approved).await;
        let denied = make_in(&env, ActionStatus::Denied).await;
        let mut later = new_action(ActionStatus::PendingApproval, &[]);
        later.expires_at = Some(NOW.plus_seconds(7200));
        let later_id = later.id.clone();
        l.insert_action(later, ev("pat")).await.unwrap();

        assert!(
            l.expire_due(NOW.plus_seconds(3599))
                .await
                .unwrap()
                .is_empty()
        );
        let records = audit_len(l).await;
        let mut expired = l.expire_due(NOW.plus_seconds(3600)).await.unwrap();
        expired.sort();
        let mut want = vec![pending.clone(), approved.clone()];
        want.sort();
        assert_eq!(expired, want);
        assert_eq!(audit_len(l).await, records + 2);
        for id in [&pending, &approved] {
            assert_eq!(
                l.get_action(id).await.unwrap().status,
                ActionStatus::Expired
            );
        }
        assert_eq!(
            l.get_action(&denied).await.unwrap().status,
            ActionStatus::Denied
        );
        assert_eq!(
            l.get_action(&later_id).await.unwrap().status,
            ActionStatus::PendingApproval
        );
        let recs = l.audit_records(records as i64, 10).await.unwrap();
        assert!(
            recs.iter()
                .all(|r| r.event == "action.expired" && r.actor == "system")
        );
        assert!(
            l.expire_due(NOW.plus_seconds(3600))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn i2_begin_execution_refuses_an_expired_action(env: Env) {
        let l = &env.ledger;
        switches_on(l).await;
        let id = approved(l, &[]).await;
        let err = l
            .begin_execution(&id, NOW.plus_seconds(3600), allow_all())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "action_expired");
        assert_eq!(
            l.get_action(&id).await.unwrap().status,
            ActionStatus::Approved
        );
    }

    pub async fn i2_switches_default_off_and_every_flip_audited(env: Env) {
        let l = &env.ledger;
        assert_eq!(l.switches().await.unwrap(), Switches::all_off());
        assert!(l.switch_list().await.unwrap().is_empty());
        let etsy = SwitchScope::Domain("etsy".parse().unwrap());
        l.set_switch(&etsy, true, "olga", "etsy ready", ev("olga"))
            .await
            .unwrap();
        // Domain on, global still off.
        assert_eq!(
            l.switches().await.unwrap(),
            Switches::Known {
                global: false,
                domains_on: ["etsy".parse().unwrap()].into_iter().collect()
            }
        );
        l.set_switch(&SwitchScope::Global, true, "olga", "go", ev("olga"))
            .await
            .unwrap();
        assert_eq!(
            l.switches().await.unwrap(),
            Switches::on(["etsy".parse().unwrap()])
        );
        l.set_switch(&etsy, false, "olga", "incident 7", ev("olga"))
            .await
            .unwrap();
        assert_eq!(l.switches().await.unwrap(), Switches::on([]));
        let rows = l.switch_list().await.unwrap();
        let etsy_row = rows.iter().find(|r| r.scope == "etsy").unwrap();
        assert!(!etsy_row.on);
        assert_eq!(etsy_row.updated_by, "olga");
        assert_eq!(etsy_row.reason, "incident 7");
        let recs = l.audit_records(0, 10).await.unwrap();
        let events: Vec<&str> = recs.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["switch.on", "switch.on", "switch.off"]);
        assert_eq!(recs[2].domain.as_deref(), Some("etsy"));
        assert_eq!(recs[2].actor, "olga");
        assert!(recs[2].reasons.to_string().contains("incident 7"));
        let err = l
            .set_switch(&SwitchScope::Global, false, "olga", " ", ev("olga"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        // `global` is never a domain: fail closed.
        assert_eq!(
            "global".parse::<SwitchScope>().unwrap(),
            SwitchScope::Global
        );
    }

    pub async fn i2_switch_off_denies_approved_action_at_execution(env: Env) {
        let l = &env.ledger;
        let id = approved(l, &["1.00 USD"]).await;
        let records = audit_len(l).await;
        let out = l
            .begin_execution(&id, NOW, governed(policy("20.00 USD")))
            .await
            .unwrap();
        let BeginOutcome::Denied(d) = out else {
            panic!("switches are off: execution must be denied")
        };
        assert_eq!(d.audit.decision.as_deref(), Some("deny"));
        assert_eq!(
            l.get_action(&id).await.unwrap().status,
            ActionStatus::Approved
        );
        let recs = l.audit_records(records as i64, 10).await.unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].event, "action.execution_denied");
        assert!(recs[0].reasons.to_string().contains("global_switch_off"));
        let summary = l
            .spend_summary(&"demo".parse().unwrap(), NOW)
            .await
            .unwrap();
        assert!(summary.units.is_empty(), "a denial reserves nothing");
        assert!(l.approvals(&id).await.unwrap().iter().all(|a| !a.consumed));

        switches_on(l).await;
        let out = l
            .begin_execution(&id, NOW, governed(policy("20.00 USD")))
            .await
            .unwrap();
        assert!(matches!(out, BeginOutcome::Started(_)));
    }

    pub async fn i2_begin_execution_only_from_approved(env: Env) {
        let l = &env.ledger;
        let pending = make_in(&env, ActionStatus::PendingApproval).await;
        let err = l
            .begin_execution(&pending, NOW, allow_all())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "state_conflict");
        let executing = make_in(&env, ActionStatus::Executing).await;
        let err = l
            .begin_execution(&executing, NOW, allow_all())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "action_in_progress");
        let err = l
            .transition(
                &pending,
                &[ActionStatus::PendingApproval],
                ActionStatus::Executing,
                ActionPatch::default(),
                ev("x"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "illegal_transition");
    }

    pub async fn i2_unreadable_switches_fail_closed(env: Env) {
        switches_on(&env.ledger).await;
        let other = env.reopen(&LedgerOptions::default()).await;
        assert_eq!(
            other.switches_or_unknown().await,
            Switches::on(["etsy".parse().unwrap()])
        );
        other.close().await; // the database can no longer be reached through this handle
        let err = other.switches().await.unwrap_err();
        assert_eq!(err.code(), "database_unavailable", "{err}");
        assert!(err.is_unavailable());
        assert_eq!(other.switches_or_unknown().await, Switches::Unknown);
    }

    pub async fn i6_executing_becomes_unknown_on_restart_and_is_not_retried(env: Env) {
        let mut opts = LedgerOptions {
            instance_id: "replica-a".into(),
            ..LedgerOptions::default()
        };
        let a = env.reopen(&opts).await;
        switches_on(&a).await;
        let id = approved(&a, &["2.00 USD"]).await;
        let out = a.begin_execution(&id, NOW, allow_all()).await.unwrap();
        assert!(matches!(out, BeginOutcome::Started(_)));
        a.close().await; // the host dies inside the plugin

        // Another replica starting does not touch replica-a's action.
        opts.instance_id = "replica-b".into();
        let b = env.reopen(&opts).await;
        assert!(b.mark_executing_unknown(NOW).await.unwrap().is_empty());

        opts.instance_id = "replica-a".into();
        let a = env.reopen(&opts).await;
        let records = audit_len(&a).await;
        let marked = a
            .mark_executing_unknown(NOW.plus_seconds(60))
            .await
            .unwrap();
        assert_eq!(marked, vec![id.clone()]);
        assert_eq!(audit_len(&a).await, records + 1);
        let act = a.get_action(&id).await.unwrap();
        assert_eq!(act.status, ActionStatus::Unknown);
        // Never retried: it cannot be executed again, and a second start-up finds nothing.
        let err = a.begin_execution(&id, NOW, allow_all()).await.unwrap_err();
        assert_eq!(err.code(), "state_conflict");
        assert!(a.mark_executing_unknown(NOW).await.unwrap().is_empty());
        // Its reservation still counts until an operator resolves it.
        let s = a
            .spend_summary(&"demo".parse().unwrap(), NOW)
            .await
            .unwrap();
        assert_eq!(s.units[0].day_reserved, 200);
        let rec = a.audit_records(records as i64, 1).await.unwrap();
        assert_eq!(rec[0].event, "action.unknown");
        assert!(a.verify_audit().await.unwrap().ok);
    }

    pub async fn i6_resolve_only_from_unknown(env: Env) {
        let l = &env.ledger;
        let succeeded = make_in(&env, ActionStatus::Succeeded).await;
        let err = l
            .resolve(&succeeded, finished(ActionStatus::Failed, &[]), ev("op"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "state_conflict");
        let unknown = make_in(&env, ActionStatus::Unknown).await;
        let err = l
            .resolve(&unknown, finished(ActionStatus::Previewed, &[]), ev("op"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "illegal_transition");
        let out = l
            .resolve(&unknown, finished(ActionStatus::Succeeded, &[]), ev("op"))
            .await
            .unwrap();
        assert_eq!(out.action.status, ActionStatus::Succeeded);
        assert!(out.action.outcome.is_some());
        let err = l
            .resolve(&unknown, finished(ActionStatus::Failed, &[]), ev("op"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "state_conflict");
        let last = l.audit_records(0, 1000).await.unwrap().pop().unwrap();
        assert_eq!(last.event, "action.succeeded");
        assert_eq!(last.actor, "op");
    }

    pub async fn i6_twenty_concurrent_begins_of_one_action_start_one(env: Env) {
        let l = std::sync::Arc::new(
            env.reopen(&LedgerOptions {
                max_connections: 8,
                sqlite_writers: 4,
                ..LedgerOptions::default()
            })
            .await,
        );
        switches_on(&l).await;
        let id = approved(&l, &["1.00 USD"]).await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (l, id, barrier) = (l.clone(), id.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                l.begin_execution(&id, NOW, governed(policy("20.00 USD")))
                    .await
            }));
        }
        let (mut started, mut in_progress) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(BeginOutcome::Started(_)) => started += 1,
                Err(LedgerError::ActionInProgress { .. }) => in_progress += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((started, in_progress), (1, 19));
        let s = l
            .spend_summary(&"demo".parse().unwrap(), NOW)
            .await
            .unwrap();
        assert_eq!(s.units[0].day_reserved, 100, "reserved once");
        let executing = l
            .audit_records(0, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.event == "action.executing")
            .count();
        assert_eq!(executing, 1);
    }

    pub async fn i7_hundred_concurrent_executions_fit_the_daily_cap_exactly(env: Env) {
        // Two handles on one database, like two host processes; the second with several
        // SQLite writer connections so that SQLite's own locking is exercised too.
        let a = std::sync::Arc::new(env.reopen(&LedgerOptions::default()).await);
        let b = std::sync::Arc::new(
            env.reopen(&LedgerOptions {
                max_connections: 8,
                sqlite_writers: 4,
                instance_id: "replica-b".into(),
                ..LedgerOptions::default()
            })
            .await,
        );
        switches_on(&a).await;
        let mut ids = Vec::new();
        for _ in 0..100 {
            ids.push(approved(&a, &["1.00 USD"]).await);
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(100));
        let mut tasks = Vec::new();
        for (i, id) in ids.into_iter().enumerate() {
            let l = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                l.begin_execution(&id, NOW, governed(policy("37.00 USD")))
                    .await
            }));
        }
        let (mut started, mut denied) = (0, 0);
        for t in tasks {
            match t.await.unwrap().unwrap() {
                BeginOutcome::Started(_) => started += 1,
                BeginOutcome::Denied(d) => {
                    assert!(d.decision.to_string().contains("spend_daily_exceeded"));
                    denied += 1;
                }
            }
        }
        assert_eq!((started, denied), (37, 63));
        let s = a
            .spend_summary(&"demo".parse().unwrap(), NOW)
            .await
            .unwrap();
        assert_eq!(s.units[0].day_reserved, 3700);
        let executing = a
            .list_actions(
                &ActionFilter {
                    status: Some(ActionStatus::Executing),
                    ..ActionFilter::default()
                },
                &Page {
                    limit: 1000,
                    after_cursor: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(executing.actions.len(), 37);
        assert!(a.verify_audit().await.unwrap().ok);
    }

    pub async fn i7_overspend_trips_the_domain_switch(env: Env) {
        let l = &env.ledger;
        switches_on(l).await;
        let id = approved(l, &["1.00 USD"]).await;
        l.begin_execution(&id, NOW, allow_all()).await.unwrap();
        let records = audit_len(l).await;
        let out = l
            .finish_execution(
                &id,
                finished(ActionStatus::Succeeded, &["1.50 USD", "3 YT_QUOTA"]),
                ev("pat"),
            )
            .await
            .unwrap();
        assert_eq!(out.action.status, ActionStatus::Succeeded);
        let mut over: Vec<String> = out.overspend.iter().map(|m| m.to_string()).collect();
        over.sort();
        assert_eq!(over, ["0.50 USD", "3 YT_QUOTA"]);
        assert_eq!(
            l.switches().await.unwrap(),
            Switches::on([]),
            "etsy tripped off"
        );
        let recs = l.audit_records(records as i64, 10).await.unwrap();
        let events: Vec<&str> = recs.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["action.succeeded", "switch.tripped"]);
        assert_eq!(recs[1].actor, "system");
        assert_eq!(recs[1].domain.as_deref(), Some("etsy"));
        let row = l.switch_list().await.unwrap();
        let etsy = row.iter().find(|r| r.scope == "etsy").unwrap();
        assert!(!etsy.on && etsy.reason.contains("above its reservation"));
        let s = l
            .spend_summary(&"demo".parse().unwrap(), NOW)
            .await
            .unwrap();
        let usd = s.units.iter().find(|u| u.unit.code() == "USD").unwrap();
        assert_eq!((usd.day_reserved, usd.day_settled), (0, 150));
        let q = s
            .units
            .iter()
            .find(|u| u.unit.code() == "YT_QUOTA")
            .unwrap();
        assert_eq!(q.day_settled, 3);

        // Spending within the reservation trips nothing.
        switches_on(l).await;
        let id = approved(l, &["1.00 USD"]).await;
        l.begin_execution(&id, NOW, allow_all()).await.unwrap();
        let out = l
            .finish_execution(
                &id,
                finished(ActionStatus::Succeeded, &["1.00 USD"]),
                ev("p"),
            )
            .await
            .unwrap();
        assert!(out.overspend.is_empty());
        assert_eq!(
            l.switches().await.unwrap(),
            Switches::on(["etsy".parse().unwrap()])
        );
    }

    pub async fn i7_settlement_releases_the_unspent_part(env: Env) {
        let l = &env.ledger;
        switches_on(l).await;
        let project = "demo".parse().unwrap();
        let a = approved(l, &["4.00 USD"]).await;
        let b = approved(l, &["5.00 USD"]).await;
        l.begin_execution(&a, NOW, allow_all()).await.unwrap();
        l.begin_execution(&b, NOW, allow_all()).await.unwrap();
        let s = l.spend_summary(&project, NOW).await.unwrap();
        assert_eq!(s.day, "2026-01-05");
        assert_eq!(s.month, "2026-01");
        assert_eq!(s.units[0].day_reserved, 900);
        l.finish_execution(
            &a,
            finished(ActionStatus::Succeeded, &["2.50 USD"]),
            ev("p"),
        )
        .await
        .unwrap();
        l.finish_execution(&b, finished(ActionStatus::Failed, &[]), ev("p"))
            .await
            .unwrap();
        let s = l.spend_summary(&project, NOW).await.unwrap();
        let u = &s.units[0];
        assert_eq!(
            (
                u.day_reserved,
                u.day_settled,
                u.month_reserved,
                u.month_settled
            ),
            (0, 250, 0, 250)
        );
        // The next day starts empty; the month keeps counting.
        let s = l
            .spend_summary(&project, NOW.plus_seconds(86_400))
            .await
            .unwrap();
        assert_eq!((s.units[0].day_settled, s.units[0].month_settled), (0, 250));
        // The usage a check sees is settled spend, not the released reservation.
        let id = approved(l, &["1.00 USD"]).await;
        let check = |snap: &autopack_ledger::ExecutionSnapshot| {
            let usd = autopack_governance::Unit::parse("USD").unwrap();
            assert_eq!(snap.usage.day(&usd).minor_units, 250);
            assert_eq!(snap.usage.month(&usd).minor_units, 250);
            allow_all()(snap)
        };
        l.begin_execution(&id, NOW, check).await.unwrap();
    }

    pub async fn i10_verify_ok_and_export_lines_hash_independently(env: Env) {
        let l = &env.ledger;
        let empty = l.verify_audit().await.unwrap();
        assert!(empty.ok && empty.records == 0);
        switches_on(l).await;
        approved(l, &["1.00 USD"]).await;
        let report = l.verify_audit().await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.records, 5);
        let lines = l.export_audit().await.unwrap();
        assert_eq!(lines.len(), 5);
        let mut prev = autopack_ledger::GENESIS_HASH.to_owned();
        for line in &lines {
            // Anyone can check a line: hash of its canonical JSON without `hash`.
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            let hash = v["hash"].as_str().unwrap().to_owned();
            assert_eq!(v["prev_hash"].as_str().unwrap(), prev);
            v.as_object_mut().unwrap().remove("hash");
            let canonical = autopack_governance::canonical::canonicalize(&v).unwrap();
            assert_eq!(
                autopack_governance::canonical::sha256_hex(canonical.as_bytes()),
                hash
            );
            prev = hash;
        }
        assert_eq!(report.head_hash, prev);
    }

    async fn chain_of_six(env: &Env) {
        let l = &env.ledger;
        switches_on(l).await; // 1, 2
        approved(l, &[]).await; // 3, 4, 5
        l.record_event(ev("olga").with_event("config.loaded"))
            .await
            .unwrap(); // 6
        assert!(l.verify_audit().await.unwrap().ok);
    }

    pub async fn i10_tamper_edit_is_detected(env: Env) {
        chain_of_six(&env).await;
        env.raw("UPDATE audit SET actor = 'mallory' WHERE seq = 4")
            .await;
        let report = env.ledger.verify_audit().await.unwrap();
        assert!(!report.ok);
        let fault = report.fault.unwrap();
        assert_eq!((fault.seq, fault.kind), (4, AuditFaultKind::Edited));
        assert_eq!(report.records, 3);
    }

    pub async fn i10_tamper_delete_is_detected(env: Env) {
        chain_of_six(&env).await;
        env.raw("DELETE FROM audit WHERE seq = 3").await;
        let fault = env.ledger.verify_audit().await.unwrap().fault.unwrap();
        assert_eq!((fault.seq, fault.kind), (3, AuditFaultKind::Missing));
        assert!(fault.message.contains("missing"), "{}", fault.message);
    }

    pub async fn i10_tamper_reorder_is_detected(env: Env) {
        chain_of_six(&env).await;
        env.raw(
            "UPDATE audit SET seq = -1 WHERE seq = 4; \
             UPDATE audit SET seq = 4 WHERE seq = 5; \
             UPDATE audit SET seq = 5 WHERE seq = -1;",
        )
        .await;
        let fault = env.ledger.verify_audit().await.unwrap().fault.unwrap();
        assert_eq!(
            (fault.seq, fault.kind),
            (4, AuditFaultKind::Reordered { written_as: 5 })
        );
    }

    pub async fn i10_tamper_tail_delete_is_detected(env: Env) {
        chain_of_six(&env).await;
        env.raw("DELETE FROM audit WHERE seq = 6").await;
        let fault = env.ledger.verify_audit().await.unwrap().fault.unwrap();
        assert_eq!((fault.seq, fault.kind), (6, AuditFaultKind::Truncated));
    }

    pub async fn i10_records_carry_the_minimum_fields(env: Env) {
        let l = &env.ledger;
        switches_on(l).await;
        let id = approved(l, &["1.00 USD"]).await;
        l.begin_execution(&id, NOW, governed(policy("20.00 USD")))
            .await
            .unwrap();
        let action = l.get_action(&id).await.unwrap();
        let recs = l.audit_records(2, 100).await.unwrap();
        assert_eq!(recs.len(), 4);
        for r in &recs {
            assert_eq!(r.at, NOW.0);
            assert!(r.request_id.is_some());
            assert!(!r.actor.is_empty() && r.auth == "api_key");
            assert_eq!(r.project.as_deref(), Some("demo"));
            assert_eq!(r.domain.as_deref(), Some("etsy"));
            assert_eq!(r.operation.as_deref(), Some("publish_listing"));
            assert_eq!(r.action_id.as_deref(), Some(id.as_str()));
            assert_eq!(r.tier.as_deref(), Some("C"));
            assert_eq!(
                r.payload_hash.as_deref(),
                Some(action.payload_hash.as_str())
            );
            assert_eq!(
                r.idempotency_key.as_deref(),
                Some(action.idempotency_key.as_str())
            );
            assert_eq!(r.mode.as_deref(), Some("live"));
            assert_eq!(
                r.plugin_digest.as_deref(),
                Some(action.plugin_digest.as_str())
            );
        }
        let exec = recs.last().unwrap();
        assert_eq!(exec.event, "action.executing");
        assert_eq!(exec.decision.as_deref(), Some("allow"));
        assert!(exec.reasons.to_string().contains("spend_within_caps"));
        assert_eq!(exec.spend, ["1.00 USD"]);
        assert_eq!(action.decision["verdict"], "allow");
        assert_eq!(action.executor.as_deref(), Some("default"));
    }

    pub async fn i10_policy_load_event_is_recorded(env: Env) {
        let l = &env.ledger;
        let rec = l
            .record_event(
                autopack_ledger::AuditEvent::new(NOW, "olga", "cli")
                    .with_event("policy.loaded")
                    .with_policy_digest("cd".repeat(32)),
            )
            .await
            .unwrap();
        assert_eq!(rec.seq, 1);
        assert_eq!(rec.prev_hash, autopack_ledger::GENESIS_HASH);
        let err = l
            .record_event(autopack_ledger::AuditEvent::new(NOW, "olga", "cli"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "an event needs a name");
        let recs = l.audit_records(0, 10).await.unwrap();
        assert_eq!(recs, vec![rec]);
    }

    pub async fn i5_lookups_lists_and_pages(env: Env) {
        let l = &env.ledger;
        let mut ids = Vec::new();
        for i in 0..5 {
            let status = if i % 2 == 0 {
                ActionStatus::PendingApproval
            } else {
                ActionStatus::Denied
            };
            ids.push(make_in(&env, status).await);
        }
        let mut other = new_action(ActionStatus::Denied, &[]);
        other.project = "other".parse().unwrap();
        l.insert_action(other, ev("pat")).await.unwrap();

        let all = l
            .list_actions(&ActionFilter::default(), &Page::default())
            .await
            .unwrap();
        assert_eq!(all.actions.len(), 6);
        assert!(all.next_cursor.is_none());
        let pending = ActionFilter {
            status: Some(ActionStatus::PendingApproval),
            project: Some("demo".parse().unwrap()),
            domain: Some("etsy".parse().unwrap()),
        };
        let mut seen = Vec::new();
        let mut page = Page {
            limit: 2,
            after_cursor: None,
        };
        loop {
            let p = l.list_actions(&pending, &page).await.unwrap();
            seen.extend(p.actions.iter().map(|a| a.id.clone()));
            match p.next_cursor {
                Some(c) => page.after_cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, vec![ids[4].clone(), ids[2].clone(), ids[0].clone()]);
        let demo_denied = ActionFilter {
            status: Some(ActionStatus::Denied),
            project: Some("demo".parse().unwrap()),
            domain: None,
        };
        let p = l
            .list_actions(&demo_denied, &Page::default())
            .await
            .unwrap();
        assert_eq!(p.actions.len(), 2);
        let none = ActionFilter {
            domain: Some("shopify".parse().unwrap()),
            ..ActionFilter::default()
        };
        assert!(
            l.list_actions(&none, &Page::default())
                .await
                .unwrap()
                .actions
                .is_empty()
        );
        let _ = Timestamp(0);
        let _ = no_usage();
    }
}
