//! The ledger's operations, written once and instantiated for each backend.
//!
//! Both backends run the same SQL text: `$n` placeholders (SQLite accepts them), TEXT for
//! JSON, BIGINT/INTEGER for money and instants, `ON CONFLICT`, `RETURNING`-free writes. What
//! differs is supplied by the backend module that invokes [`shared_ops!`]:
//!
//! - `Backend::begin_write()`: `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL;
//! - `$for_update`: `""` on SQLite (the immediate transaction already holds the database's
//!   only write lock), `" FOR UPDATE"` on PostgreSQL (row locks);
//! - `Backend::lock_spend()`: nothing on SQLite, a transaction-scoped advisory lock keyed by
//!   the project on PostgreSQL;
//! - `Backend::reader()`: the pool that serves reads outside write transactions;
//! - `Backend::begin_snapshot()`: a read-only transaction that sees one snapshot throughout
//!   (audit verification).

/// Generates the backend-independent operations for database `$Db`.
macro_rules! shared_ops {
    ($Db:ty, $for_update:literal) => {
        use $crate::audit::{
            events, AuditEvent, AuditRecord, AuditReport, ChainWalker, RawAuditRow, Step,
            GENESIS_HASH,
        };
        use $crate::error::{LedgerError, Result};
        use $crate::model::{
            Action, ActionFilter, ActionPage, ActionPatch, ApprovalAdded, ApprovalRow,
            BeginOutcome, ExecutionSnapshot, Finished, FinishOutcome, Inserted, NewAction,
            Page, SpendSummary, SwitchRow, SwitchScope, UnitSpend, ExecutionPlan, Denied,
        };
        use $crate::raw::{action_cols, audit_cols, to_text, RawAction};
        use $crate::status::{can_transition, ActionStatus};
        use $crate::time::{day_bucket, month_bucket};
        use autopack_governance::{
            ActionId, Mode, Money, ProjectId, SpendUsage, Switches, Timestamp, Unit,
        };
        use sqlx::Row as _;
        use std::collections::{BTreeMap, BTreeSet};

        type Tx = sqlx::Transaction<'static, $Db>;
        type DbRow = <$Db as sqlx::Database>::Row;

        fn raw_action(row: &DbRow) -> Result<Action> {
            RawAction {
                id: row.try_get(0)?,
                project: row.try_get(1)?,
                domain: row.try_get(2)?,
                operation: row.try_get(3)?,
                params: row.try_get(4)?,
                mode: row.try_get(5)?,
                tier: row.try_get(6)?,
                payload_hash: row.try_get(7)?,
                plugin_digest: row.try_get(8)?,
                idempotency_key: row.try_get(9)?,
                proposer: row.try_get(10)?,
                status: row.try_get(11)?,
                decision: row.try_get(12)?,
                declared_spend: row.try_get(13)?,
                actual_spend: row.try_get(14)?,
                outcome: row.try_get(15)?,
                error: row.try_get(16)?,
                preview: row.try_get(17)?,
                executor: row.try_get(18)?,
                created_at: row.try_get(19)?,
                updated_at: row.try_get(20)?,
                expires_at: row.try_get(21)?,
            }
            .parse()
        }

        fn raw_audit(row: &DbRow) -> Result<RawAuditRow> {
            Ok(RawAuditRow {
                seq: row.try_get(0)?,
                at: row.try_get(1)?,
                request_id: row.try_get(2)?,
                actor: row.try_get(3)?,
                auth: row.try_get(4)?,
                project: row.try_get(5)?,
                domain: row.try_get(6)?,
                operation: row.try_get(7)?,
                action_id: row.try_get(8)?,
                tier: row.try_get(9)?,
                payload_hash: row.try_get(10)?,
                idempotency_key: row.try_get(11)?,
                event: row.try_get(12)?,
                decision: row.try_get(13)?,
                reasons: row.try_get(14)?,
                mode: row.try_get(15)?,
                spend: row.try_get(16)?,
                outcome: row.try_get(17)?,
                policy_digest: row.try_get(18)?,
                plugin_digest: row.try_get(19)?,
                prev_hash: row.try_get(20)?,
                hash: row.try_get(21)?,
            })
        }

        fn not_found(id: &ActionId) -> LedgerError {
            LedgerError::NotFound {
                what: "action",
                id: id.to_string(),
            }
        }

        /// Reads the action, locking its row where the backend has row locks.
        async fn fetch_locked(tx: &mut Tx, id: &ActionId) -> Result<Action> {
            let row = sqlx::query(concat!(
                "SELECT ",
                action_cols!(),
                " FROM actions WHERE id = $1",
                $for_update
            ))
            .bind(id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
            match row {
                Some(r) => raw_action(&r),
                None => Err(not_found(id)),
            }
        }

        /// The action-derived fields of a record come from the action itself.
        fn about(mut e: AuditEvent, a: &Action, event: &str) -> AuditEvent {
            e.project = Some(a.project.clone());
            e.domain = Some(a.domain.clone());
            e.operation = Some(a.operation.clone());
            e.action_id = Some(a.id.clone());
            if a.tier.is_some() {
                e.tier = a.tier;
            }
            e.payload_hash = Some(a.payload_hash.clone());
            e.idempotency_key = Some(a.idempotency_key.clone());
            e.mode = Some(a.mode);
            e.plugin_digest = Some(a.plugin_digest.clone());
            e.event = event.to_owned();
            e
        }

        fn state_event(to: ActionStatus) -> String {
            format!("{}{}", events::ACTION_STATE_PREFIX, to.as_str())
        }

        /// Moves each listed action to `to`, one system audit record per action.
        async fn set_status_each(
            tx: &mut Tx,
            rows: Vec<DbRow>,
            to: ActionStatus,
            now: Timestamp,
            note: &str,
        ) -> Result<Vec<ActionId>> {
            let mut ids = Vec::new();
            for r in rows {
                let a = raw_action(&r)?;
                sqlx::query("UPDATE actions SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(to.as_str())
                    .bind(now.0)
                    .bind(a.id.as_str())
                    .execute(&mut **tx)
                    .await?;
                let mut e = about(AuditEvent::system(now), &a, &state_event(to));
                e.outcome = Some(note.into());
                append(tx, &e).await?;
                ids.push(a.id);
            }
            Ok(ids)
        }

        /// Appends one record to the chain, holding the chain head for the rest of `tx`.
        async fn append(tx: &mut Tx, e: &AuditEvent) -> Result<AuditRecord> {
            let head = sqlx::query(concat!(
                "SELECT seq, hash FROM audit_head WHERE id = 1",
                $for_update
            ))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| LedgerError::Integrity("the audit chain head is missing".into()))?;
            let seq: i64 = head.try_get(0)?;
            let prev: String = head.try_get(1)?;
            let rec = AuditRecord::seal(seq + 1, &prev, e)?;
            sqlx::query(concat!(
                "INSERT INTO audit (",
                audit_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18, $19, $20, $21, $22)"
            ))
            .bind(rec.seq)
            .bind(rec.at)
            .bind(rec.request_id.as_deref())
            .bind(rec.actor.as_str())
            .bind(rec.auth.as_str())
            .bind(rec.project.as_deref())
            .bind(rec.domain.as_deref())
            .bind(rec.operation.as_deref())
            .bind(rec.action_id.as_deref())
            .bind(rec.tier.as_deref())
            .bind(rec.payload_hash.as_deref())
            .bind(rec.idempotency_key.as_deref())
            .bind(rec.event.as_str())
            .bind(rec.decision.as_deref())
            .bind(to_text("reasons", &rec.reasons)?)
            .bind(rec.mode.as_deref())
            .bind(to_text("spend", &rec.spend)?)
            .bind(rec.outcome.as_deref())
            .bind(rec.policy_digest.as_deref())
            .bind(rec.plugin_digest.as_deref())
            .bind(rec.prev_hash.as_str())
            .bind(rec.hash.as_str())
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(rec.seq)
                .bind(rec.hash.as_str())
                .execute(&mut **tx)
                .await?;
            Ok(rec)
        }

        async fn read_switches<'e, E>(exec: E) -> Result<Switches>
        where
            E: sqlx::Executor<'e, Database = $Db>,
        {
            let rows = sqlx::query("SELECT scope, is_on FROM switches")
                .fetch_all(exec)
                .await?;
            let mut global = false;
            let mut domains_on = BTreeSet::new();
            for r in rows {
                let scope: String = r.try_get(0)?;
                let on: bool = r.try_get(1)?;
                // A scope that is not a domain name can only come from outside the ledger:
                // it is ignored, which leaves that switch off (fail closed).
                match scope.parse::<SwitchScope>() {
                    Ok(SwitchScope::Global) => global = on,
                    Ok(SwitchScope::Domain(d)) if on => {
                        domains_on.insert(d);
                    }
                    _ => {}
                }
            }
            Ok(Switches::Known { global, domains_on })
        }

        /// Adds amounts per unit, refusing negative amounts and overflow.
        fn per_unit(what: &str, amounts: &[Money]) -> Result<BTreeMap<Unit, i64>> {
            let mut out: BTreeMap<Unit, i64> = BTreeMap::new();
            for m in amounts {
                if m.minor_units < 0 {
                    return Err(LedgerError::Invalid(format!("{what}: negative amount {m}")));
                }
                let cur = out.entry(m.unit.clone()).or_insert(0);
                *cur = cur
                    .checked_add(m.minor_units)
                    .ok_or_else(|| LedgerError::Invalid(format!("{what}: overflow in {m}")))?;
            }
            Ok(out)
        }

        /// Spend used (reserved or settled) by the project in `now`'s UTC day and month.
        async fn usage(tx: &mut Tx, project: &ProjectId, now: Timestamp) -> Result<SpendUsage> {
            let rows = sqlx::query(
                "SELECT unit, \
                   CAST(COALESCE(SUM(CASE WHEN day = $2 THEN \
                     (CASE state WHEN 'reserved' THEN reserved WHEN 'settled' THEN actual \
                      ELSE 0 END) ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE state WHEN 'reserved' THEN reserved \
                     WHEN 'settled' THEN actual ELSE 0 END), 0) AS BIGINT) \
                 FROM reservations WHERE project = $1 AND month = $3 GROUP BY unit",
            )
            .bind(project.as_str())
            .bind(day_bucket(now))
            .bind(month_bucket(now))
            .fetch_all(&mut **tx)
            .await?;
            let mut usage = SpendUsage::new();
            for r in rows {
                let unit: String = r.try_get(0)?;
                let unit = Unit::parse(&unit)
                    .map_err(|e| LedgerError::Integrity(format!("reservation unit: {e}")))?;
                let day: i64 = r.try_get(1)?;
                let month: i64 = r.try_get(2)?;
                let overflow = |e: autopack_governance::MoneyError| {
                    LedgerError::Integrity(format!("spend usage: {e}"))
                };
                usage
                    .add_day(&Money::new(day, unit.clone()))
                    .map_err(overflow)?;
                usage.add_month(&Money::new(month, unit)).map_err(overflow)?;
            }
            Ok(usage)
        }

        async fn upsert_switch(
            tx: &mut Tx,
            scope: &SwitchScope,
            on: bool,
            actor: &str,
            reason: &str,
            at: Timestamp,
        ) -> Result<SwitchRow> {
            sqlx::query(
                "INSERT INTO switches (scope, is_on, updated_by, reason, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (scope) DO UPDATE SET is_on = excluded.is_on, \
                 updated_by = excluded.updated_by, reason = excluded.reason, \
                 updated_at = excluded.updated_at",
            )
            .bind(scope.as_str())
            .bind(on)
            .bind(actor)
            .bind(reason)
            .bind(at.0)
            .execute(&mut **tx)
            .await?;
            Ok($crate::raw::switch_row(
                scope.as_str().to_owned(),
                on,
                actor.to_owned(),
                reason.to_owned(),
                at.0,
            ))
        }

        /// Settles the action's reservations with its actual spend; returns the overspend.
        async fn settle(
            tx: &mut Tx,
            a: &Action,
            actual: &[Money],
            at: Timestamp,
        ) -> Result<Vec<Money>> {
            Backend::lock_spend(tx, &a.project).await?;
            let mut actual = per_unit("actual spend", actual)?;
            let rows = sqlx::query(
                "SELECT unit, reserved, day, month FROM reservations WHERE action_id = $1",
            )
            .bind(a.id.as_str())
            .fetch_all(&mut **tx)
            .await?;
            let mut overspend = Vec::new();
            let mut bucket = (day_bucket(at), month_bucket(at));
            for r in rows {
                let unit: String = r.try_get(0)?;
                let reserved: i64 = r.try_get(1)?;
                bucket = (r.try_get(2)?, r.try_get(3)?);
                let parsed = Unit::parse(&unit)
                    .map_err(|e| LedgerError::Integrity(format!("reservation unit: {e}")))?;
                let spent = actual.remove(&parsed).unwrap_or(0);
                if spent > reserved {
                    overspend.push(Money::new(spent - reserved, parsed));
                }
                let state = if spent == 0 { "released" } else { "settled" };
                sqlx::query(
                    "UPDATE reservations SET actual = $1, state = $2 \
                     WHERE action_id = $3 AND unit = $4",
                )
                .bind(spent)
                .bind(state)
                .bind(a.id.as_str())
                .bind(unit.as_str())
                .execute(&mut **tx)
                .await?;
            }
            // Spend in a unit nothing was reserved for: all of it is over the reservation.
            for (unit, spent) in actual {
                if spent == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO reservations \
                     (action_id, project, unit, reserved, actual, day, month, state) \
                     VALUES ($1, $2, $3, 0, $4, $5, $6, 'settled')",
                )
                .bind(a.id.as_str())
                .bind(a.project.as_str())
                .bind(unit.code())
                .bind(spent)
                .bind(bucket.0.as_str())
                .bind(bucket.1.as_str())
                .execute(&mut **tx)
                .await?;
                overspend.push(Money::new(spent, unit));
            }
            Ok(overspend)
        }

        /// Moves an executing or unknown action to its final state, settling its spend and
        /// tripping its domain switch on overspend (I7), all inside `tx`.
        async fn finish_in(
            tx: &mut Tx,
            a: Action,
            f: Finished,
            event: AuditEvent,
        ) -> Result<FinishOutcome> {
            let overspend = settle(tx, &a, &f.actual_spend, event.at).await?;
            sqlx::query(
                "UPDATE actions SET status = $1, outcome = $2, error = $3, \
                 preview = COALESCE($4, preview), actual_spend = $5, updated_at = $6 \
                 WHERE id = $7",
            )
            .bind(f.status.as_str())
            .bind(f.outcome.as_ref().map(|v| to_text("outcome", v)).transpose()?)
            .bind(f.error.as_ref().map(|v| to_text("error", v)).transpose()?)
            .bind(f.preview.as_ref().map(|v| to_text("preview", v)).transpose()?)
            .bind(to_text("actual spend", &f.actual_spend)?)
            .bind(event.at.0)
            .bind(a.id.as_str())
            .execute(&mut **tx)
            .await?;
            let at = event.at;
            let mut e = about(event, &a, &state_event(f.status));
            if e.spend.is_empty() {
                e.spend = f.actual_spend.clone();
            }
            append(tx, &e).await?;
            if !overspend.is_empty() {
                let listed: Vec<String> = overspend.iter().map(|m| m.to_string()).collect();
                let reason = format!(
                    "action {} spent {} above its reservation",
                    a.id,
                    listed.join(", ")
                );
                let scope = SwitchScope::Domain(a.domain.clone());
                upsert_switch(tx, &scope, false, events::SYSTEM_ACTOR, &reason, at).await?;
                let mut trip = about(AuditEvent::system(at), &a, events::SWITCH_TRIPPED);
                trip.spend = overspend.clone();
                trip.outcome = Some(format!("switch {} off", scope));
                trip.reasons = serde_json::json!([{ "code": "actual_spend_above_reservation",
                                                    "message": reason }]);
                append(tx, &trip).await?;
            }
            let action = fetch_locked(tx, &a.id).await?;
            Ok(FinishOutcome { action, overspend })
        }

        fn check_finished(f: &Finished, allowed: &[ActionStatus], from: ActionStatus) -> Result<()> {
            if allowed.contains(&f.status) {
                Ok(())
            } else {
                Err(LedgerError::IllegalTransition {
                    from,
                    to: f.status,
                    why: "a run ends succeeded or failed (previewed for a dry-run)",
                })
            }
        }

        impl Backend {
            pub(crate) async fn insert_action(
                &self,
                new: NewAction,
                event: AuditEvent,
            ) -> Result<Inserted> {
                if !new.status.can_start_in() {
                    return Err(LedgerError::Invalid(format!(
                        "a new action cannot start {}",
                        new.status
                    )));
                }
                if new.status == ActionStatus::Executing && new.mode == Mode::Live {
                    return Err(LedgerError::Invalid(
                        "a live action enters executing only through begin_execution".into(),
                    ));
                }
                if new.idempotency_key.is_empty() || new.idempotency_key.len() > 255 {
                    return Err(LedgerError::Invalid(
                        "an idempotency key has 1 to 255 characters".into(),
                    ));
                }
                per_unit("declared spend", &new.declared_spend)?;
                let executor = (new.status == ActionStatus::Executing).then(|| self.instance.clone());
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(concat!(
                    "INSERT INTO actions (",
                    action_cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     NULL, NULL, NULL, NULL, $15, $16, $16, $17) \
                     ON CONFLICT (project, idempotency_key) DO NOTHING"
                ))
                .bind(new.id.as_str())
                .bind(new.project.as_str())
                .bind(new.domain.as_str())
                .bind(new.operation.as_str())
                .bind(to_text("params", &new.params)?)
                .bind(new.mode.as_str())
                .bind(new.tier.map(|t| t.to_string()))
                .bind(new.payload_hash.as_str())
                .bind(new.plugin_digest.as_str())
                .bind(new.idempotency_key.as_str())
                .bind(new.proposer.as_str())
                .bind(new.status.as_str())
                .bind(to_text("decision", &new.decision)?)
                .bind(to_text("declared spend", &new.declared_spend)?)
                .bind(executor)
                .bind(new.created_at.0)
                .bind(new.expires_at.map(|t| t.0))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return match self.find_by_idempotency(&new.project, &new.idempotency_key).await? {
                        Some(a) => Ok(Inserted::Existing(a)),
                        None => Err(LedgerError::Integrity(format!(
                            "idempotency key `{}` conflicted but no action has it",
                            new.idempotency_key
                        ))),
                    };
                }
                let action = fetch_locked(&mut tx, &new.id).await?;
                let mut e = about(event, &action, events::ACTION_PROPOSED);
                if e.spend.is_empty() {
                    e.spend = action.declared_spend.clone();
                }
                append(&mut tx, &e).await?;
                tx.commit().await?;
                Ok(Inserted::New(action))
            }

            pub(crate) async fn transition(
                &self,
                id: &ActionId,
                expected_from: &[ActionStatus],
                to: ActionStatus,
                patch: ActionPatch,
                event: AuditEvent,
            ) -> Result<Action> {
                let mut tx = self.begin_write().await?;
                let a = fetch_locked(&mut tx, id).await?;
                if !expected_from.contains(&a.status) {
                    return Err(LedgerError::StateConflict {
                        id: id.to_string(),
                        expected: expected_from.to_vec(),
                        actual: a.status,
                    });
                }
                if !can_transition(a.status, to) {
                    return Err(LedgerError::IllegalTransition {
                        from: a.status,
                        to,
                        why: "the lifecycle (DESIGN §7) does not allow it",
                    });
                }
                let owner = match (a.status, to) {
                    (_, ActionStatus::Executing) => Some("use begin_execution"),
                    (ActionStatus::Executing, _) => Some("use finish_execution"),
                    (ActionStatus::Unknown, _) => Some("use resolve"),
                    _ => None,
                };
                if let Some(why) = owner {
                    return Err(LedgerError::IllegalTransition { from: a.status, to, why });
                }
                sqlx::query(
                    "UPDATE actions SET status = $1, updated_at = $2, \
                     decision = COALESCE($3, decision), outcome = COALESCE($4, outcome), \
                     error = COALESCE($5, error), preview = COALESCE($6, preview), \
                     expires_at = COALESCE($7, expires_at) WHERE id = $8",
                )
                .bind(to.as_str())
                .bind(event.at.0)
                .bind(patch.decision.as_ref().map(|v| to_text("decision", v)).transpose()?)
                .bind(patch.outcome.as_ref().map(|v| to_text("outcome", v)).transpose()?)
                .bind(patch.error.as_ref().map(|v| to_text("error", v)).transpose()?)
                .bind(patch.preview.as_ref().map(|v| to_text("preview", v)).transpose()?)
                .bind(patch.expires_at.map(|t| t.0))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
                let e = about(event, &a, &state_event(to));
                append(&mut tx, &e).await?;
                let action = fetch_locked(&mut tx, id).await?;
                tx.commit().await?;
                Ok(action)
            }

            pub(crate) async fn add_approval(
                &self,
                id: &ActionId,
                approval: ApprovalRow,
                event: AuditEvent,
            ) -> Result<ApprovalAdded> {
                let mut tx = self.begin_write().await?;
                let a = fetch_locked(&mut tx, id).await?;
                if a.status != ActionStatus::PendingApproval {
                    return Err(LedgerError::StateConflict {
                        id: id.to_string(),
                        expected: vec![ActionStatus::PendingApproval],
                        actual: a.status,
                    });
                }
                if approval.payload_hash != a.payload_hash {
                    return Err(LedgerError::PayloadHashMismatch {
                        id: id.to_string(),
                        expected: a.payload_hash.to_string(),
                        got: approval.payload_hash.to_string(),
                    });
                }
                let dup = sqlx::query("SELECT 1 FROM approvals WHERE action_id = $1 AND approver = $2")
                    .bind(id.as_str())
                    .bind(approval.approver.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if dup.is_some() {
                    return Err(LedgerError::DuplicateApproval {
                        id: id.to_string(),
                        approver: approval.approver.to_string(),
                    });
                }
                sqlx::query(
                    "INSERT INTO approvals (action_id, approver, payload_hash, approved_at, consumed) \
                     VALUES ($1, $2, $3, $4, FALSE)",
                )
                .bind(id.as_str())
                .bind(approval.approver.as_str())
                .bind(approval.payload_hash.as_str())
                .bind(approval.approved_at.0)
                .execute(&mut *tx)
                .await?;
                let approvals = approvals_in(&mut *tx, id, false).await?;
                let e = about(event, &a, events::ACTION_APPROVAL);
                append(&mut tx, &e).await?;
                tx.commit().await?;
                Ok(ApprovalAdded { action: a, approvals })
            }

            pub(crate) async fn begin_execution<F>(
                &self,
                id: &ActionId,
                now: Timestamp,
                check: F,
            ) -> Result<BeginOutcome>
            where
                F: FnOnce(&ExecutionSnapshot) -> std::result::Result<ExecutionPlan, Denied>,
            {
                let mut tx = self.begin_write().await?;
                let a = fetch_locked(&mut tx, id).await?;
                match a.status {
                    ActionStatus::Approved => {}
                    ActionStatus::Executing => {
                        return Err(LedgerError::ActionInProgress { id: id.to_string() })
                    }
                    other => {
                        return Err(LedgerError::StateConflict {
                            id: id.to_string(),
                            expected: vec![ActionStatus::Approved],
                            actual: other,
                        })
                    }
                }
                if let Some(exp) = a.expires_at {
                    if now >= exp {
                        return Err(LedgerError::ActionExpired {
                            id: id.to_string(),
                            expires_at: exp.0,
                        });
                    }
                }
                let approvals = approvals_in(&mut *tx, id, true).await?;
                let switches = read_switches(&mut *tx).await?;
                Backend::lock_spend(&mut tx, &a.project).await?;
                let usage = usage(&mut tx, &a.project, now).await?;
                let snapshot = ExecutionSnapshot {
                    action: a,
                    approvals,
                    switches,
                    usage,
                    now,
                };
                let plan = match check(&snapshot) {
                    Ok(plan) => plan,
                    Err(denied) => {
                        let e = about(
                            (*denied.audit).clone(),
                            &snapshot.action,
                            events::ACTION_EXECUTION_DENIED,
                        );
                        append(&mut tx, &e).await?;
                        tx.commit().await?;
                        return Ok(BeginOutcome::Denied(denied));
                    }
                };
                let a = snapshot.action;
                let reserve = per_unit("reservation", &plan.reserve)?;
                let (day, month) = (day_bucket(now), month_bucket(now));
                for (unit, amount) in &reserve {
                    sqlx::query(
                        "INSERT INTO reservations \
                         (action_id, project, unit, reserved, actual, day, month, state) \
                         VALUES ($1, $2, $3, $4, NULL, $5, $6, 'reserved')",
                    )
                    .bind(a.id.as_str())
                    .bind(a.project.as_str())
                    .bind(unit.code())
                    .bind(*amount)
                    .bind(day.as_str())
                    .bind(month.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("UPDATE approvals SET consumed = TRUE WHERE action_id = $1 AND consumed = FALSE")
                    .bind(a.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE actions SET status = 'executing', decision = $1, executor = $2, \
                     updated_at = $3 WHERE id = $4",
                )
                .bind(to_text("decision", &plan.decision)?)
                .bind(self.instance.as_str())
                .bind(now.0)
                .bind(a.id.as_str())
                .execute(&mut *tx)
                .await?;
                let mut e = about(plan.audit, &a, &state_event(ActionStatus::Executing));
                if e.spend.is_empty() {
                    e.spend = reserve.into_iter().map(|(u, v)| Money::new(v, u)).collect();
                }
                append(&mut tx, &e).await?;
                let action = fetch_locked(&mut tx, id).await?;
                tx.commit().await?;
                Ok(BeginOutcome::Started(Box::new(action)))
            }

            pub(crate) async fn finish_execution(
                &self,
                id: &ActionId,
                finished: Finished,
                event: AuditEvent,
            ) -> Result<FinishOutcome> {
                let mut tx = self.begin_write().await?;
                let a = fetch_locked(&mut tx, id).await?;
                if a.status != ActionStatus::Executing {
                    return Err(LedgerError::StateConflict {
                        id: id.to_string(),
                        expected: vec![ActionStatus::Executing],
                        actual: a.status,
                    });
                }
                let allowed: &[ActionStatus] = match a.mode {
                    Mode::DryRun => &[
                        ActionStatus::Previewed,
                        ActionStatus::Succeeded,
                        ActionStatus::Failed,
                    ],
                    Mode::Live => &[ActionStatus::Succeeded, ActionStatus::Failed],
                };
                check_finished(&finished, allowed, a.status)?;
                let out = finish_in(&mut tx, a, finished, event).await?;
                tx.commit().await?;
                Ok(out)
            }

            pub(crate) async fn resolve(
                &self,
                id: &ActionId,
                finished: Finished,
                event: AuditEvent,
            ) -> Result<FinishOutcome> {
                let mut tx = self.begin_write().await?;
                let a = fetch_locked(&mut tx, id).await?;
                if a.status != ActionStatus::Unknown {
                    return Err(LedgerError::StateConflict {
                        id: id.to_string(),
                        expected: vec![ActionStatus::Unknown],
                        actual: a.status,
                    });
                }
                check_finished(
                    &finished,
                    &[ActionStatus::Succeeded, ActionStatus::Failed],
                    a.status,
                )?;
                let out = finish_in(&mut tx, a, finished, event).await?;
                tx.commit().await?;
                Ok(out)
            }

            pub(crate) async fn mark_executing_unknown(
                &self,
                now: Timestamp,
                all: bool,
            ) -> Result<Vec<ActionId>> {
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    action_cols!(),
                    " FROM actions WHERE status = 'executing' AND ($1 OR executor = $2) \
                     ORDER BY id",
                    $for_update
                ))
                .bind(all)
                .bind(self.instance.as_str())
                .fetch_all(&mut *tx)
                .await?;
                let ids = set_status_each(
                    &mut tx,
                    rows,
                    ActionStatus::Unknown,
                    now,
                    "the host stopped while the action was executing; not retried",
                )
                .await?;
                tx.commit().await?;
                Ok(ids)
            }

            pub(crate) async fn expire_due(&self, now: Timestamp) -> Result<Vec<ActionId>> {
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    action_cols!(),
                    " FROM actions WHERE status IN ('pending_approval', 'approved') \
                     AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY id",
                    $for_update
                ))
                .bind(now.0)
                .fetch_all(&mut *tx)
                .await?;
                let ids = set_status_each(
                    &mut tx,
                    rows,
                    ActionStatus::Expired,
                    now,
                    "the approval window closed",
                )
                .await?;
                tx.commit().await?;
                Ok(ids)
            }

            pub(crate) async fn set_switch(
                &self,
                scope: &SwitchScope,
                on: bool,
                actor: &str,
                reason: &str,
                event: AuditEvent,
            ) -> Result<SwitchRow> {
                if reason.trim().is_empty() {
                    return Err(LedgerError::Invalid("a switch flip needs a reason".into()));
                }
                let mut tx = self.begin_write().await?;
                let row = upsert_switch(&mut tx, scope, on, actor, reason, event.at).await?;
                let mut e = event;
                e.actor = actor.to_owned();
                e.event = if on { events::SWITCH_ON } else { events::SWITCH_OFF }.to_owned();
                if let SwitchScope::Domain(d) = scope {
                    e.domain = Some(d.clone());
                }
                e.outcome = Some(format!("switch {scope} {}", if on { "on" } else { "off" }));
                if e.reasons.as_array().is_none_or(|r| r.is_empty()) {
                    e.reasons = serde_json::json!([{ "code": "operator_reason", "message": reason }]);
                }
                append(&mut tx, &e).await?;
                tx.commit().await?;
                Ok(row)
            }

            pub(crate) async fn switches(&self) -> Result<Switches> {
                read_switches(self.reader()).await
            }

            pub(crate) async fn switch_list(&self) -> Result<Vec<SwitchRow>> {
                let rows = sqlx::query(
                    "SELECT scope, is_on, updated_by, reason, updated_at FROM switches ORDER BY scope",
                )
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::raw::switch_row(
                            r.try_get(0)?,
                            r.try_get(1)?,
                            r.try_get(2)?,
                            r.try_get(3)?,
                            r.try_get(4)?,
                        ))
                    })
                    .collect()
            }

            pub(crate) async fn record_event(&self, event: AuditEvent) -> Result<AuditRecord> {
                let mut tx = self.begin_write().await?;
                let rec = append(&mut tx, &event).await?;
                tx.commit().await?;
                Ok(rec)
            }

            pub(crate) async fn get_action(&self, id: &ActionId) -> Result<Action> {
                let row = sqlx::query(concat!("SELECT ", action_cols!(), " FROM actions WHERE id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                match row {
                    Some(r) => raw_action(&r),
                    None => Err(not_found(id)),
                }
            }

            pub(crate) async fn find_by_idempotency(
                &self,
                project: &ProjectId,
                key: &str,
            ) -> Result<Option<Action>> {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    action_cols!(),
                    " FROM actions WHERE project = $1 AND idempotency_key = $2"
                ))
                .bind(project.as_str())
                .bind(key)
                .fetch_optional(self.reader())
                .await?;
                row.map(|r| raw_action(&r)).transpose()
            }

            pub(crate) async fn approvals(&self, id: &ActionId) -> Result<Vec<ApprovalRow>> {
                approvals_in(self.reader(), id, false).await
            }

            pub(crate) async fn list_actions(
                &self,
                filter: &ActionFilter,
                page: &Page,
            ) -> Result<ActionPage> {
                let limit = page.limit.clamp(1, 1000);
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    action_cols!(),
                    " FROM actions WHERE ($1 IS NULL OR status = $1) \
                     AND ($2 IS NULL OR project = $2) AND ($3 IS NULL OR domain = $3) \
                     AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
                ))
                .bind(filter.status.map(|s| s.as_str()))
                .bind(filter.project.as_ref().map(|p| p.as_str()))
                .bind(filter.domain.as_ref().map(|d| d.as_str()))
                .bind(page.after_cursor.as_deref())
                .bind(i64::from(limit) + 1)
                .fetch_all(self.reader())
                .await?;
                let mut actions = rows.iter().map(raw_action).collect::<Result<Vec<_>>>()?;
                let more = actions.len() > limit as usize;
                actions.truncate(limit as usize);
                let next_cursor = if more {
                    actions.last().map(|a| a.id.to_string())
                } else {
                    None
                };
                Ok(ActionPage { actions, next_cursor })
            }

            pub(crate) async fn spend_summary(
                &self,
                project: &ProjectId,
                now: Timestamp,
            ) -> Result<SpendSummary> {
                let (day, month) = (day_bucket(now), month_bucket(now));
                let rows = sqlx::query(
                    "SELECT unit, day, state, reserved, actual FROM reservations \
                     WHERE project = $1 AND month = $2",
                )
                .bind(project.as_str())
                .bind(month.as_str())
                .fetch_all(self.reader())
                .await?;
                let mut units: BTreeMap<Unit, UnitSpend> = BTreeMap::new();
                for r in rows {
                    let unit: String = r.try_get(0)?;
                    let unit = Unit::parse(&unit)
                        .map_err(|e| LedgerError::Integrity(format!("reservation unit: {e}")))?;
                    let rday: String = r.try_get(1)?;
                    let state: String = r.try_get(2)?;
                    let reserved: i64 = r.try_get(3)?;
                    let actual: Option<i64> = r.try_get(4)?;
                    let u = units.entry(unit.clone()).or_insert(UnitSpend {
                        unit,
                        day_reserved: 0,
                        day_settled: 0,
                        month_reserved: 0,
                        month_settled: 0,
                    });
                    let today = rday == day;
                    match state.as_str() {
                        "reserved" => {
                            u.month_reserved = u.month_reserved.saturating_add(reserved);
                            if today {
                                u.day_reserved = u.day_reserved.saturating_add(reserved);
                            }
                        }
                        _ => {
                            let spent = actual.unwrap_or(0);
                            u.month_settled = u.month_settled.saturating_add(spent);
                            if today {
                                u.day_settled = u.day_settled.saturating_add(spent);
                            }
                        }
                    }
                }
                Ok(SpendSummary {
                    project: project.clone(),
                    day,
                    month,
                    units: units.into_values().collect(),
                })
            }

            pub(crate) async fn audit_records(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<AuditRecord>> {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    audit_cols!(),
                    " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"
                ))
                .bind(after_seq)
                .bind(i64::from(limit.clamp(1, 10_000)))
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(|r| raw_audit(r)?.parse()).collect()
            }

            pub(crate) async fn verify_audit(&self) -> Result<AuditReport> {
                // One snapshot for the whole walk: appends committed meanwhile are not seen.
                let mut conn = self.begin_snapshot().await?;
                let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut *conn)
                    .await?;
                let (head_seq, head_hash): (i64, String) = match head {
                    Some(r) => (r.try_get(0)?, r.try_get(1)?),
                    None => (0, GENESIS_HASH.to_owned()),
                };
                let mut walker = ChainWalker::new();
                let mut cursor = 0i64;
                'batches: loop {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        audit_cols!(),
                        " FROM audit WHERE seq > $1 ORDER BY seq LIMIT 1000"
                    ))
                    .bind(cursor)
                    .fetch_all(&mut *conn)
                    .await?;
                    if rows.is_empty() {
                        break;
                    }
                    for r in &rows {
                        let raw = raw_audit(r)?;
                        cursor = raw.seq;
                        match walker.step(raw) {
                            (Step::Ok, _) => {}
                            (Step::Fault, _) => break 'batches,
                            (Step::NeedOwnerOf(prev), rec) => {
                                let owner = if prev == GENESIS_HASH {
                                    Some(0)
                                } else {
                                    let o = sqlx::query("SELECT seq FROM audit WHERE hash = $1 LIMIT 1")
                                        .bind(prev.as_str())
                                        .fetch_optional(&mut *conn)
                                        .await?;
                                    o.map(|r| r.try_get::<i64, _>(0)).transpose()?
                                };
                                if let Some(rec) = rec {
                                    walker.classify_mismatch(&rec, owner);
                                }
                                break 'batches;
                            }
                        }
                    }
                }
                conn.rollback().await?;
                walker.finish(head_seq, &head_hash);
                let records = walker.expected_seq - 1;
                Ok(AuditReport {
                    ok: walker.fault.is_none(),
                    records,
                    head_hash: walker.prev_hash.clone(),
                    fault: walker.fault,
                })
            }
        }

        async fn approvals_in<'e, E>(
            exec: E,
            id: &ActionId,
            unconsumed_only: bool,
        ) -> Result<Vec<ApprovalRow>>
        where
            E: sqlx::Executor<'e, Database = $Db>,
        {
            let rows = sqlx::query(
                "SELECT approver, payload_hash, approved_at, consumed FROM approvals \
                 WHERE action_id = $1 AND (NOT $2 OR consumed = FALSE) ORDER BY approved_at, approver",
            )
            .bind(id.as_str())
            .bind(unconsumed_only)
            .fetch_all(exec)
            .await?;
            rows.iter()
                .map(|r| {
                    $crate::raw::approval(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)
                })
                .collect()
        }
    };
}
pub(crate) use shared_ops;
