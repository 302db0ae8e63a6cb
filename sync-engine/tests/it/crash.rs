//! The engine's promise, as a property: over random change sequences, with the target
//! failing at random (before or after acting) and the process "killed" at random points (a
//! state commit that fails, before or after it lands, and every commit after it, end the run
//! exactly as a kill there would: the store holds only what was committed) or a commit failing
//! alone (a storage failure that passes), repeated runs end with the target the
//! source asks for — each in-scope person exactly once, with their current values; nobody
//! created twice; nothing lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors::testing::{Delay, FailurePlan, Flaky, Latency};
use connectors::{MemoryDirectory, MemoryStateStore, ObjectType, TargetConnector};
use proptest::prelude::*;
use scim_model::Resource;
use serde_json::{Value, json};

use crate::support::*;

#[derive(Clone, Debug)]
enum Op {
    Hire(u8, bool),
    Move(u8, bool),
    Rename(u8, u8),
    Fire(u8),
    Manager(u8, u8),
    /// HR marks the person active or inactive (the job maps `active`).
    Active(u8, bool),
    Cycle {
        target_seed: u64,
        target_p: u8,
        after: bool,
        crash_at: Option<u8>,
        crash_after: bool,
        /// Every commit after the failing one fails too, as in a killed process; otherwise
        /// only that one does (a storage failure that passes).
        kill: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..12, any::<bool>()).prop_map(|(i, s)| Op::Hire(i, s)),
        2 => (0u8..12, any::<bool>()).prop_map(|(i, s)| Op::Move(i, s)),
        2 => (0u8..12, 0u8..4).prop_map(|(i, n)| Op::Rename(i, n)),
        1 => (0u8..12).prop_map(Op::Fire),
        2 => (0u8..12, 0u8..12).prop_map(|(i, m)| Op::Manager(i, m)),
        2 => (0u8..12, any::<bool>()).prop_map(|(i, a)| Op::Active(i, a)),
        3 => (any::<u64>(), 0u8..40, any::<bool>(), proptest::option::of(1u8..12), any::<bool>(), any::<bool>())
            .prop_map(|(target_seed, target_p, after, crash_at, crash_after, kill)| Op::Cycle { target_seed, target_p, after, crash_at, crash_after, kill }),
    ]
}

struct Hr {
    dir: Arc<MemoryDirectory>,
    ids: BTreeMap<u8, String>,
}

fn dept(in_scope: bool) -> &'static str {
    if in_scope {
        "Engineering"
    } else {
        "Contractors"
    }
}

fn apply(hr: &mut Hr, op: &Op) {
    let ent_dept = format!("{ENT}:department");
    match *op {
        Op::Hire(i, s) if !hr.ids.contains_key(&i) => {
            let r = user(&format!("p{i}@example.com"), dept(s));
            let id = block(hr.dir.create(&ObjectType::USER, &r, None))
                .unwrap()
                .id;
            hr.ids.insert(i, id.into_string());
        }
        Op::Move(i, s) => {
            if let Some(id) = hr.ids.get(&i) {
                let p = scim_model::patch::PatchOp::new().replace(
                    scim_model::AttributePath::parse(&ent_dept).unwrap(),
                    json!(dept(s)),
                );
                block(
                    hr.dir
                        .patch(&ObjectType::USER, &id.as_str().into(), &p, None),
                )
                .unwrap();
            }
        }
        Op::Rename(i, n) => {
            if let Some(id) = hr.ids.get(&i) {
                let p = scim_model::patch::PatchOp::new().replace(
                    scim_model::AttributePath::new("displayName"),
                    json!(format!("name {n}")),
                );
                block(
                    hr.dir
                        .patch(&ObjectType::USER, &id.as_str().into(), &p, None),
                )
                .unwrap();
            }
        }
        Op::Manager(i, m) if i != m => {
            if let (Some(id), Some(manager)) = (hr.ids.get(&i), hr.ids.get(&m)) {
                set_manager_in(&hr.dir, id, manager, &format!("p{m}"));
            }
        }
        Op::Active(i, a) => {
            if let Some(id) = hr.ids.get(&i) {
                let p = scim_model::patch::PatchOp::new()
                    .replace(scim_model::AttributePath::new("active"), json!(a));
                block(
                    hr.dir
                        .patch(&ObjectType::USER, &id.as_str().into(), &p, None),
                )
                .unwrap();
            }
        }
        Op::Fire(i) => {
            if let Some(id) = hr.ids.remove(&i) {
                block(hr.dir.delete(&ObjectType::USER, &id.as_str().into(), None)).unwrap();
            }
        }
        _ => {}
    }
}

fn run_cycle(
    w: &World,
    hr: &Hr,
    target: Arc<dyn TargetConnector>,
    state: Arc<dyn connectors::StateStore>,
) {
    let engine = w.engine_with(
        user_job(json!({"deletionThreshold": null, "pageSize": 3})),
        hr.dir.clone(),
        target,
        state,
    );
    // A failed run is a crash: whatever it committed stays, the rest is gone.
    let _ = block(engine.run_cycle(&sync_engine::RunOptions::new()));
}

/// The target the source asks for: every in-scope person once, active as HR says, with their
/// values; everyone else absent or disabled; no externalId twice.
fn check(w: &World, hr: &Hr) -> Result<(), TestCaseError> {
    let target: Vec<Resource> = w.target.snapshot(&ObjectType::USER);
    let mut by_key: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for r in &target {
        let key = r
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        by_key.entry(key).or_default().push(r);
    }
    for (k, v) in &by_key {
        prop_assert!(v.len() == 1, "{} created {} times", k, v.len());
    }
    for id in hr.ids.values() {
        let source = w.hr.resource(&ObjectType::USER, id).unwrap();
        let name = source.get("userName").and_then(Value::as_str).unwrap();
        let in_scope = department(&source).as_deref() == Some("Engineering");
        match by_key.get(name) {
            Some(t) if in_scope => {
                prop_assert_eq!(
                    active(t[0]),
                    active(&source),
                    "{} should be active as HR says",
                    name
                );
                prop_assert_eq!(
                    t[0].get("displayName"),
                    source.get("displayName"),
                    "{} values",
                    name
                );
                prop_assert_eq!(department(t[0]), department(&source));
            }
            None if in_scope => prop_assert!(false, "{} is missing", name),
            Some(t) => prop_assert_eq!(
                active(t[0]),
                Some(false),
                "{} out of scope but active",
                name
            ),
            None => {}
        }
    }
    // Managers: an in-scope person whose manager exists and is in scope points at the
    // manager's target object — references wait through failures and crashes, never dropped.
    for id in hr.ids.values() {
        let source = w.hr.resource(&ObjectType::USER, id).unwrap();
        let in_scope = department(&source).as_deref() == Some("Engineering");
        let manager = source
            .attribute(Some(ENT), "manager")
            .and_then(|m| m.get("value"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(manager) = manager else { continue };
        let Some(m) = w.hr.resource(&ObjectType::USER, &manager) else {
            continue;
        };
        if !in_scope || department(&m).as_deref() != Some("Engineering") {
            continue;
        }
        let name = source.get("userName").and_then(Value::as_str).unwrap();
        let m_name = m.get("userName").and_then(Value::as_str).unwrap();
        let (Some(t), Some(tm)) = (by_key.get(name), by_key.get(m_name)) else {
            continue;
        };
        let got = t[0]
            .attribute(Some(ENT), "manager")
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str);
        prop_assert_eq!(got, tm[0].id(), "{}'s manager should be {}", name, m_name);
    }
    // Fired people are gone (the job may delete) — unless everyone is: a full import that
    // returns nothing while objects are linked is treated as a failed import (a source outage
    // must not delete the whole target; `an_empty_import_while_objects_are_linked_deletes_
    // nothing`), and a crash before a cycle's watermark makes the next import a full one.
    if hr.ids.is_empty() {
        return Ok(());
    }
    let live: Vec<String> = hr
        .ids
        .values()
        .map(|id| {
            w.hr.resource(&ObjectType::USER, id)
                .unwrap()
                .get("userName")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect();
    for k in by_key.keys() {
        prop_assert!(
            live.contains(k),
            "{} was fired but is still in the target",
            k
        );
    }
    Ok(())
}

/// 48 cases in the test suite (each runs many cycles); `PROPTEST_CASES` asks for more, for a
/// longer search.
fn crash_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crash_cases(), .. ProptestConfig::default() })]

    #[test]
    fn kills_and_failures_anywhere_never_lose_or_duplicate(ops in proptest::collection::vec(op(), 1..40)) {
        scenario(&ops)?;
    }
}

/// Found by the property test: a create is sent and the run dies before its link is
/// committed; the person is fired; the next cycle cannot confirm the create (the target's
/// find fails) and reads the source in full without them, so its watermark moves past the
/// deletion. The cycle that then finds the created object must see that its source object
/// is gone and delete it, not keep an orphan.
#[test]
fn an_unconfirmed_create_whose_source_object_is_deleted_meanwhile_is_deleted() {
    let cycle = |target_seed, target_p, after, crash_at| Op::Cycle {
        target_seed,
        target_p,
        after,
        crash_at,
        crash_after: false,
        kill: false,
    };
    let ops = [
        Op::Hire(11, true),
        cycle(856_019_456_688_783_940, 0, false, Some(3)),
        Op::Fire(11),
        Op::Hire(0, false),
        cycle(5_654_564_221_351_705_119, 22, true, None),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (20,000 cases): a create is sent and the run dies before its
/// link is committed; the person is fired; the next cycle cannot confirm the create (the
/// target fails) and its watermark moves past the deletion. The cycle after finds the created
/// object, links it and dies before the object's delete is committed. The link was committed
/// with the intent dropped, and no change was left to read: the fired person's account stayed
/// in the target for good. The intent must stay until the confirmed object's outcome is
/// committed, so that the next run finds it and processes it again.
#[test]
fn a_fired_person_linked_by_a_crashed_cycle_is_deleted() {
    let cycle = |target_seed, target_p, crash_at| Op::Cycle {
        target_seed,
        target_p,
        after: false,
        crash_at,
        crash_after: false,
        kill: false,
    };
    let ops = [
        cycle(0, 0, None),
        Op::Hire(1, true),
        cycle(10_983_513_211, 0, Some(2)),
        Op::Fire(1),
        cycle(4_601_981_112_463_122_033, 9, None),
        Op::Hire(2, false),
        cycle(14_000_930_530_450_864, 0, Some(2)),
    ];
    scenario(&ops).unwrap();
}

/// The target and state store of one run of a property test: the target fails with
/// probability `target_p`% (permanently when `target_seed` is a multiple of 3, before or
/// `after` acting), and the state store's commit call number `crash_at` fails (before or
/// after it lands). With `kill`, every commit after it fails too, which ends the run as a
/// kill there would (a batch planned beside the failed commit does not land either); without,
/// only that one fails, as a storage failure that passes does. Every state call first gives
/// way to the engine's other work a few times ([`GiveWay`]), as a store that writes on
/// another thread does.
pub(crate) fn faulty_ends(
    w: &World,
    store: &MemoryStateStore,
    target_seed: u64,
    target_p: u8,
    after: bool,
    (crash_at, crash_after, kill): (Option<u8>, bool, bool),
) -> (Arc<dyn TargetConnector>, Arc<dyn connectors::StateStore>) {
    let mut plan = FailurePlan::probability(f64::from(target_p) / 100.0, target_seed);
    plan = if target_seed.is_multiple_of(3) {
        plan.permanent()
    } else {
        plan.temporary(None)
    };
    if after {
        plan = plan.after();
    }
    let state_plan = match crash_at {
        Some(n) => {
            let n = u64::from(n);
            // A killed process writes nothing more; the batch it was planning beside the
            // failed commit must not land either.
            let calls = if kill { n..n + 1_000 } else { n..n + 1 };
            let p = FailurePlan::calls(calls).only(["commit"]).permanent();
            if crash_after { p.after() } else { p }
        }
        None => FailurePlan::never(),
    };
    // Every state call gives way 0 to 3 times first: commits land while the engine goes on.
    let give_way = Delay::jittered(Duration::ZERO, Duration::from_nanos(3), target_seed);
    (
        Arc::new(Flaky::new(w.target.clone(), plan)),
        Arc::new(Latency::new(
            Flaky::new(store.clone(), state_plan),
            GiveWay,
            give_way,
        )),
    )
}

/// Applies `ops` (cycles with their failures and crashes among HR's changes), lets the job
/// heal, and checks the target against HR.
fn scenario(ops: &[Op]) -> Result<(), proptest::test_runner::TestCaseError> {
    {
        let w = World::new();
        let mut hr = Hr {
            dir: w.hr.clone(),
            ids: BTreeMap::new(),
        };
        let store = MemoryStateStore::new();
        for op in ops {
            apply(&mut hr, op);
            if let Op::Cycle {
                target_seed,
                target_p,
                after,
                crash_at,
                crash_after,
                kill,
            } = *op
            {
                let (target, state) = faulty_ends(
                    &w,
                    &store,
                    target_seed,
                    target_p,
                    after,
                    (crash_at, crash_after, kill),
                );
                run_cycle(&w, &hr, target, state);
                // Time passes between runs: leases expire, escrows come due.
                w.clock.advance(Duration::from_secs(25 * 3600));
            }
        }
        // Healed: run until quiet (escrows retried, intents resolved, references written).
        for _ in 0..4 {
            run_cycle(&w, &hr, w.target.clone(), Arc::new(store.clone()));
            w.clock.advance(Duration::from_secs(25 * 3600));
        }
        check(&w, &hr)?;
    }
    Ok(())
}

/// Found by the property test (20,000 cases): a person is fired and rehired under a new HR
/// id with the same userName; in one cycle the old account's delete fails (it is held) and the
/// new person's create fails on the userName the old account still holds (escrowed, its
/// intent kept). The next cycle resolved that intent by its matching value and found the old
/// account — linked to the fired person — and linked the new person to it; the held delete
/// then deleted it, and the new person was never created. An intent must never resolve to a
/// target object linked to another source object, as matching never does.
#[test]
fn a_rehire_is_never_linked_to_the_old_account_its_failed_create_ran_into() {
    let ops = vec![
        Op::Hire(0, false),
        Op::Hire(5, true),
        Op::Cycle {
            target_seed: 11_149_162,
            target_p: 0,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
        Op::Move(0, true),
        Op::Hire(1, false),
        Op::Fire(5),
        Op::Hire(5, true),
        Op::Cycle {
            target_seed: 12_995_950_161_477_871_936,
            target_p: 26,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (20,000 cases): the first cycle creates a person and dies
/// before its link is committed; the person leaves scope; the next cycle reads them out of
/// scope while the create is still unconfirmed (nothing linked, so nothing to disable) and
/// moves its watermark past that. The cycle that confirms the create must process the person
/// again from the source as it is now — here, disable the account — not leave it active.
#[test]
fn a_create_confirmed_after_its_object_left_scope_is_disabled() {
    let ops = vec![
        Op::Hire(3, true),
        Op::Cycle {
            target_seed: 20_561_163_925,
            target_p: 0,
            after: false,
            crash_at: Some(3),
            crash_after: false,
            kill: false,
        },
        Op::Move(3, false),
        Op::Cycle {
            target_seed: 1_752_841_283_608_861_625,
            target_p: 34,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (20,000 cases): a create confirmed after a crash, of a person
/// who has left scope, holds a disable; the run dies before its end; the person is then fired.
/// The next full import misses them, and the delete it stages must replace the held disable —
/// a fired person's account is deleted (the job may delete), not left disabled for good.
#[test]
fn a_held_disable_gives_way_to_the_delete_of_an_object_gone_from_the_source() {
    let ops = vec![
        Op::Hire(0, false),
        Op::Hire(11, true),
        Op::Cycle {
            target_seed: 1,
            target_p: 0,
            after: false,
            crash_at: Some(3),
            crash_after: false,
            kill: false,
        },
        Op::Move(11, false),
        Op::Cycle {
            target_seed: 2_572_768,
            target_p: 0,
            after: false,
            crash_at: Some(4),
            crash_after: false,
            kill: false,
        },
        Op::Fire(11),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (200,000 cases): a person HR turned off is disabled; HR turns
/// them on again and a run re-enables the account but dies before committing that, so the
/// link still says "disabled"; the person then leaves scope. The cycle that reads them out of
/// scope must not trust the link and do nothing: the target says the account is active, and
/// it is disabled again.
#[test]
fn a_re_enable_whose_commit_was_lost_is_undone_when_the_object_leaves_scope() {
    let ops = vec![
        Op::Hire(11, true),
        Op::Cycle {
            target_seed: 0,
            target_p: 0,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
        Op::Active(11, false),
        Op::Cycle {
            target_seed: 14_092_991_412_620_092,
            target_p: 0,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
        Op::Active(11, true),
        Op::Cycle {
            target_seed: 9_057_248_824_032_136,
            target_p: 0,
            after: false,
            crash_at: Some(2),
            crash_after: false,
            kill: false,
        },
        Op::Move(11, false),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (100,000 cases): in one cycle a person's update (a new
/// displayName) fails and is escrowed, and then the write of their manager, whose account
/// was created in the same cycle, fails too. The reference failure turned the object's escrow
/// into a reference escrow, which the next cycle dropped once the manager was written: the
/// new displayName was never sent. An object escrow must stay one.
#[test]
fn a_failed_reference_does_not_make_the_objects_failed_update_forgotten() {
    let ops = vec![
        Op::Hire(8, true),
        Op::Hire(4, false),
        Op::Cycle {
            target_seed: 676_724_555_907_909_888,
            target_p: 0,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
        Op::Manager(8, 4),
        Op::Move(4, true),
        Op::Hire(5, true),
        Op::Hire(6, true),
        Op::Hire(0, true),
        Op::Rename(4, 0),
        Op::Rename(8, 0),
        Op::Cycle {
            target_seed: 15_462_026_744_190_894_147,
            target_p: 16,
            after: false,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
    ];
    scenario(&ops).unwrap();
}
