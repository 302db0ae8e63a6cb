//! Escrows, retries, quarantine, the deletion threshold.

use std::sync::Arc;
use std::time::Duration;

use connectors::ObjectType;
use connectors::testing::{FailurePlan, Flaky};
use serde_json::json;
use sync_engine::{QuarantineReason, ResetScope, RunOptions};

use crate::support::*;

#[test]
fn a_failing_object_is_escrowed_and_retried_on_entras_schedule() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let target = Arc::new(Flaky::new(
        w.target.clone(),
        FailurePlan::calls([1]).only(["create"]).permanent(),
    ));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Create/Failure"]);
    assert_eq!(out.summary.failed, 1);
    assert_eq!(out.summary.escrowed, 1);
    let info = out.log[0].status_info.as_ref().unwrap();
    assert!(!info.recommended_action.is_empty());
    let escrows = block(engine.escrows(&ObjectType::USER)).unwrap();
    assert_eq!(
        escrows[0].next_retry,
        w.clock.now_for_tests() + chrono::Duration::hours(6)
    );

    // Not yet due: nothing happens.
    w.clock.advance(Duration::from_secs(3600));
    let early = w.run(&engine);
    assert!(early.log.is_empty(), "{:?}", early.log);
    // Six hours after the failure: retried, created, escrow gone.
    w.clock.advance(Duration::from_secs(5 * 3600));
    let retried = w.run(&engine);
    assert_eq!(actions(&retried), ["Create/Success"]);
    assert_eq!(retried.summary.escrowed, 0);
    assert!(w.target_user("ada@example.com").is_some());
}

trait Now {
    fn now_for_tests(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for connectors::FakeClock {
    fn now_for_tests(&self) -> chrono::DateTime<chrono::Utc> {
        connectors::Clock::now(self)
    }
}

#[test]
fn a_temporary_failure_is_retried_at_once_and_does_not_escrow() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let target = Arc::new(Flaky::new(
        w.target.clone(),
        FailurePlan::calls([1])
            .only(["create"])
            .temporary(Some(Duration::from_secs(2))),
    ));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target,
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Create/Success"]);
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn a_create_whose_answer_was_lost_is_not_repeated() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let target = Arc::new(Flaky::new(
        w.target.clone(),
        FailurePlan::calls([1]).only(["create"]).permanent().after(),
    ));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target,
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    assert_eq!(
        actions(&out),
        ["Create/Success"],
        "found by its key: {:?}",
        out.log
    );
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn a_fatal_target_error_quarantines_the_job_and_keeps_the_watermark() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let target = Arc::new(Flaky::new(w.target.clone(), FailurePlan::always().fatal()));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    let q = out.quarantine.as_ref().expect("quarantined");
    assert_eq!(q.reason, QuarantineReason::EncounteredQuarantineException);
    assert!(q.next_attempt > q.since);
    assert_eq!(w.target.len(&ObjectType::USER), 0);
    // A scheduler asked for the next cycle waits for the quarantine's next attempt.
    let now = w.clock.now_for_tests();
    let due = block(engine.next_cycle_due(now, Duration::from_secs(120))).unwrap();
    assert_eq!(due, q.next_attempt);
    assert!(due > now + chrono::Duration::seconds(120));

    // Credentials fixed: the next cycle does the work and leaves quarantine.
    target.set_plan(FailurePlan::never());
    let out = w.run(&engine);
    assert_eq!(out.quarantine, None);
    assert_eq!(out.summary.created, 1);
}

#[test]
fn too_many_failures_quarantine_by_proportion() {
    let w = World::new();
    for i in 0..10 {
        w.hire(&format!("u{i}@example.com"), "Engineering");
    }
    let target = Arc::new(Flaky::new(
        w.target.clone(),
        FailurePlan::always().only(["create"]).permanent(),
    ));
    let job = user_job(
        json!({"quarantine": {"evaluateFrom": 5, "maxFailureProportion": 0.4, "maxFailures": 40000, "maxFailuresWithReferences": 60000, "baseIntervalSeconds": 2400}}),
    );
    let engine = w.engine_with(job, w.hr.clone(), target, Arc::new(w.state.clone()));
    let out = w.run(&engine);
    assert_eq!(out.summary.failed, 10);
    assert_eq!(
        out.quarantine.map(|q| q.reason),
        Some(QuarantineReason::EncounteredEscrowProportionThreshold)
    );
}

#[test]
fn deletions_above_the_threshold_are_held_until_approved() {
    let w = World::new();
    let ids: Vec<String> = (0..5)
        .map(|i| w.hire(&format!("u{i}@example.com"), "Sales"))
        .collect();
    let engine = w.engine(user_job(json!({"deletionThreshold": 2})));
    w.run(&engine);
    for id in &ids[..3] {
        w.set(
            &ObjectType::USER,
            id,
            &format!("{ENT}:department"),
            json!("Contractors"),
        );
    }
    let newcomer = w.hire("new@example.com", "Sales");
    let held = w.run(&engine);
    assert_eq!(held.summary.created, 1, "creates still apply");
    assert_eq!(held.summary.disabled, 0);
    assert_eq!(held.summary.staged_deletes, 3);
    assert_eq!(
        actions(&held),
        [
            "Create/Success",
            "StagedDelete/Skipped",
            "StagedDelete/Skipped",
            "StagedDelete/Skipped"
        ]
    );
    assert_eq!(
        held.quarantine.as_ref().map(|q| q.reason),
        Some(QuarantineReason::TooManyDeletes)
    );
    assert!(ids[..3].iter().all(|_| true));
    assert_eq!(
        active(&w.target_user("u0@example.com").unwrap()),
        Some(true)
    );
    let _ = newcomer;

    // Still held on the next cycle, and still reported.
    let again = w.run(&engine);
    assert_eq!(again.summary.staged_deletes, 3);
    assert!(again.quarantine.is_some());

    // One comes back into scope: no longer wanted, dropped; two remain, within the threshold.
    w.set(
        &ObjectType::USER,
        &ids[2],
        &format!("{ENT}:department"),
        json!("Sales"),
    );
    let within = w.run(&engine);
    assert_eq!(within.summary.disabled, 2);
    assert_eq!(within.summary.staged_deletes, 0);
    assert_eq!(within.quarantine, None);
    assert_eq!(
        active(&w.target_user("u2@example.com").unwrap()),
        Some(true)
    );
}

#[test]
fn force_deletes_applies_held_deletions() {
    let w = World::new();
    let ids: Vec<String> = (0..4)
        .map(|i| w.hire(&format!("u{i}@example.com"), "Sales"))
        .collect();
    let engine = w.engine(user_job(json!({"deletionThreshold": 1})));
    w.run(&engine);
    for id in &ids {
        w.fire(id);
    }
    let held = w.run(&engine);
    assert_eq!(held.summary.staged_deletes, 4);
    assert_eq!(w.target.len(&ObjectType::USER), 4);
    let approved =
        block(engine.run_cycle(&RunOptions::new().reset(ResetScope::ForceDeletes))).unwrap();
    assert_eq!(approved.summary.deleted, 4);
    assert_eq!(approved.quarantine, None);
    assert_eq!(w.target.len(&ObjectType::USER), 0);
}

#[test]
fn an_unchanged_failing_object_of_a_diffed_import_waits_for_its_retry() {
    let w = World::new();
    let hr = Arc::new(connectors::MemoryDirectory::builder().delta(false).build());
    block(connectors::TargetConnector::create(
        &*hr,
        &ObjectType::USER,
        &user("bob@example.com", "Sales"),
        None,
    ))
    .unwrap();
    let target = Arc::new(Flaky::new(
        w.target.clone(),
        FailurePlan::always().only(["create"]).permanent(),
    ));
    let engine = w.engine_with(
        user_job(json!({})),
        hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    assert_eq!(actions(&w.run(&engine)), ["Create/Failure"]);
    w.clock.advance(Duration::from_secs(3600));
    let waiting = w.run(&engine);
    assert!(
        waiting.log.is_empty(),
        "not due for 6 hours: {:?}",
        waiting.log
    );
    assert_eq!(waiting.summary.escrowed, 1);
    target.set_plan(FailurePlan::never());
    w.clock.advance(Duration::from_secs(5 * 3600));
    assert_eq!(actions(&w.run(&engine)), ["Create/Success"]);
}

#[test]
fn accounts_turned_off_by_a_mapping_of_active_count_toward_the_deletion_threshold() {
    // A bad HR export that marks people inactive is held like a mass leaver, though it
    // arrives as updates of `active` rather than as objects leaving scope.
    let w = World::new();
    let ids: Vec<String> = (0..5)
        .map(|i| w.hire(&format!("u{i}@example.com"), "Sales"))
        .collect();
    let engine = w.engine(user_job(json!({"deletionThreshold": 2})));
    w.run(&engine);
    for id in &ids[..3] {
        w.set(&ObjectType::USER, id, "active", json!(false));
    }
    // One of them also moves: that part of the update is not held.
    w.set(
        &ObjectType::USER,
        &ids[0],
        &format!("{ENT}:department"),
        json!("Marketing"),
    );
    let held = w.run(&engine);
    assert_eq!(held.summary.disabled, 0);
    assert_eq!(held.summary.staged_deletes, 3);
    assert_eq!(held.summary.updated, 1);
    assert_eq!(
        held.quarantine.as_ref().map(|q| q.reason),
        Some(QuarantineReason::TooManyDeletes)
    );
    let u0 = w.target_user("u0@example.com").unwrap();
    assert_eq!(active(&u0), Some(true), "held, not applied");
    assert_eq!(u0.get(ENT).unwrap()["department"], json!("Marketing"));
    let staged: Vec<String> = held
        .log
        .iter()
        .filter(|e| e.action == sync_engine::Action::StagedDelete)
        .map(|e| e.status_info.as_ref().unwrap().error_code.clone())
        .collect();
    assert_eq!(staged, ["TooManyDeletes"; 3]);
    // Held and applied actions name the person, as the other log entries do.
    let mut held_names: Vec<Option<String>> = held
        .log
        .iter()
        .filter(|e| e.action == sync_engine::Action::StagedDelete)
        .map(|e| e.source_identity.display_name.clone())
        .collect();
    held_names.sort();
    assert_eq!(
        held_names,
        ["u0@example.com", "u1@example.com", "u2@example.com"].map(|n| Some(n.to_owned()))
    );

    // A full cycle reads the unchanged objects again: still held, not dropped.
    let full = block(engine.run_cycle(&RunOptions::new().reset(ResetScope::Watermark))).unwrap();
    assert_eq!(full.summary.staged_deletes, 3);
    assert!(full.quarantine.is_some());

    // Approved: the three are disabled, and stay so on the next cycles (no re-enable).
    let approved =
        block(engine.run_cycle(&RunOptions::new().reset(ResetScope::ForceDeletes))).unwrap();
    assert_eq!(approved.summary.disabled, 3);
    assert_eq!(approved.quarantine, None);
    assert!(
        approved
            .log
            .iter()
            .filter(|e| e.action == sync_engine::Action::Disable)
            .all(|e| e.source_identity.display_name.is_some()),
        "{:?}",
        approved.log
    );
    for i in 0..3 {
        let u = w.target_user(&format!("u{i}@example.com")).unwrap();
        assert_eq!(active(&u), Some(false), "u{i}");
    }
    let quiet = w.run(&engine);
    assert!(quiet.log.is_empty(), "{:?}", actions(&quiet));
    let full = block(engine.run_cycle(&RunOptions::new().reset(ResetScope::Watermark))).unwrap();
    assert_eq!(actions(&full), Vec::<String>::new());
    assert_eq!(
        active(&w.target_user("u1@example.com").unwrap()),
        Some(false)
    );

    // A rehire turns the account on again through the mapping: an update, never held.
    w.set(&ObjectType::USER, &ids[1], "active", json!(true));
    let rehired = w.run(&engine);
    assert_eq!(actions(&rehired), ["Update/Success"]);
    assert_eq!(
        active(&w.target_user("u1@example.com").unwrap()),
        Some(true)
    );
}

#[test]
fn an_object_back_in_scope_that_the_source_marks_inactive_stays_disabled() {
    // The engine re-enables what it disabled when the object comes back into scope — unless
    // a mapping of `active` says the account is off.
    let w = World::new();
    let id = w.hire("ada@example.com", "Sales");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    w.set(
        &ObjectType::USER,
        &id,
        &format!("{ENT}:department"),
        json!("Contractors"),
    );
    let left = w.run(&engine);
    assert_eq!(left.summary.disabled, 1);
    w.set(&ObjectType::USER, &id, "active", json!(false));
    w.set(
        &ObjectType::USER,
        &id,
        &format!("{ENT}:department"),
        json!("Sales"),
    );
    let back = w.run(&engine);
    assert_eq!(back.summary.disabled, 0);
    let ada = w.target_user("ada@example.com").unwrap();
    assert_eq!(active(&ada), Some(false));
    assert_eq!(ada.get(ENT).unwrap()["department"], json!("Sales"));
    // Turned on at the source: enabled by the mapping.
    w.set(&ObjectType::USER, &id, "active", json!(true));
    w.run(&engine);
    assert_eq!(
        active(&w.target_user("ada@example.com").unwrap()),
        Some(true)
    );
}
