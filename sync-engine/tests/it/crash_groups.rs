//! The engine's promise for groups, as a property: over random sequences of hires, firings,
//! groups created and deleted and members joining and leaving, with the target failing at
//! random and the process "killed" at random state commits (as in `crash.rs`), repeated runs
//! end with every group once in the target, holding exactly the target accounts of its
//! source members — no membership lost or left behind, no group or person created twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use connectors::{MemoryStateStore, ObjectType, TargetConnector};
use proptest::prelude::*;
use scim_model::Resource;
use serde_json::{Value, json};

use crate::support::*;

#[derive(Clone, Debug)]
enum Op {
    Hire(u8),
    Fire(u8),
    /// HR moves the person into the job's scope or out of it.
    Move(u8, bool),
    NewGroup(u8),
    DropGroup(u8),
    Join(u8, u8),
    Leave(u8, u8),
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
        3 => (0u8..8).prop_map(Op::Hire),
        1 => (0u8..8).prop_map(Op::Fire),
        1 => (0u8..8, any::<bool>()).prop_map(|(u, s)| Op::Move(u, s)),
        2 => (0u8..3).prop_map(Op::NewGroup),
        1 => (0u8..3).prop_map(Op::DropGroup),
        4 => (0u8..3, 0u8..8).prop_map(|(g, u)| Op::Join(g, u)),
        2 => (0u8..3, 0u8..8).prop_map(|(g, u)| Op::Leave(g, u)),
        3 => (any::<u64>(), 0u8..40, any::<bool>(), proptest::option::of(1u8..12), any::<bool>(), any::<bool>())
            .prop_map(|(target_seed, target_p, after, crash_at, crash_after, kill)| Op::Cycle {
                target_seed,
                target_p,
                after,
                crash_at,
                crash_after,
                kill,
            }),
    ]
}

/// HR: who exists, which groups, and who is in each (source ids).
#[derive(Default)]
struct Hr {
    users: BTreeMap<u8, String>,
    groups: BTreeMap<u8, String>,
    members: BTreeMap<u8, BTreeSet<u8>>,
}

fn apply(w: &World, hr: &mut Hr, op: &Op) {
    match *op {
        Op::Hire(u) if !hr.users.contains_key(&u) => {
            let id = w.hire(&format!("p{u}@example.com"), "Engineering");
            hr.users.insert(u, id);
        }
        Op::Fire(u) => {
            if let Some(id) = hr.users.remove(&u) {
                // As a directory does: a deleted person leaves every group first.
                for (g, members) in &mut hr.members {
                    if members.remove(&u) {
                        w.remove_member(&hr.groups[g], &id);
                    }
                }
                w.fire(&id);
            }
        }
        Op::Move(u, in_scope) => {
            if let Some(id) = hr.users.get(&u) {
                let department = if in_scope {
                    "Engineering"
                } else {
                    "Contractors"
                };
                w.set(
                    &ObjectType::USER,
                    id,
                    &format!("{ENT}:department"),
                    json!(department),
                );
            }
        }
        Op::NewGroup(g) if !hr.groups.contains_key(&g) => {
            let id = w.add_group(&format!("g{g}"), &[]);
            hr.groups.insert(g, id);
            hr.members.insert(g, BTreeSet::new());
        }
        Op::DropGroup(g) => {
            if let Some(id) = hr.groups.remove(&g) {
                hr.members.remove(&g);
                block(w.hr.delete(&ObjectType::GROUP, &id.as_str().into(), None)).unwrap();
            }
        }
        Op::Join(g, u) => {
            if let (Some(gid), Some(uid)) = (hr.groups.get(&g), hr.users.get(&u))
                && hr.members.entry(g).or_default().insert(u)
            {
                w.patch_group(
                    gid,
                    json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
                );
            }
        }
        Op::Leave(g, u) => {
            if let (Some(gid), Some(uid)) = (hr.groups.get(&g), hr.users.get(&u))
                && hr.members.entry(g).or_default().remove(&u)
            {
                w.remove_member(gid, uid);
            }
        }
        _ => {}
    }
}

fn run_cycle(w: &World, target: Arc<dyn TargetConnector>, state: Arc<dyn connectors::StateStore>) {
    let engine = w.engine_with(
        user_and_group_job(json!({"deletionThreshold": null, "pageSize": 2})),
        w.hr.clone(),
        target,
        state,
    );
    // A failed run is a crash: whatever it committed stays, the rest is gone.
    let _ = block(engine.run_cycle(&sync_engine::RunOptions::new()));
}

fn by_name<'a>(objects: &'a [Resource], attr: &str) -> BTreeMap<String, Vec<&'a Resource>> {
    let mut out: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for r in objects {
        let name = r.get(attr).and_then(Value::as_str).unwrap_or("").to_owned();
        out.entry(name).or_default().push(r);
    }
    out
}

/// Every person and group once; every person in scope has an account; each group's members
/// are exactly its source members' accounts (an account left disabled by a move out of scope
/// stays a member; a person never in scope has none and is no member);
/// nothing deleted at the source left in the target (unless the source holds none of that
/// type: an empty full import deletes nothing, see `crash.rs`).
fn check(w: &World, hr: &Hr) -> Result<(), TestCaseError> {
    let users = w.target.snapshot(&ObjectType::USER);
    let groups = w.target.snapshot(&ObjectType::GROUP);
    let users = by_name(&users, "userName");
    let groups = by_name(&groups, "displayName");
    // When the source holds none of a type, an empty full import deletes nothing (see
    // `crash.rs`): what is left of that type may then be several deleted objects that had
    // one name in turn (a group dropped and made again), each linked to its own source object.
    let counted = users
        .iter()
        .filter(|_| !hr.users.is_empty())
        .chain(groups.iter().filter(|_| !hr.groups.is_empty()));
    for (name, v) in counted {
        prop_assert!(v.len() == 1, "{} created {} times", name, v.len());
    }
    let account = |u: &u8| -> Option<String> {
        users
            .get(&format!("p{u}@example.com"))
            .and_then(|v| v[0].id())
            .map(str::to_owned)
    };
    for (u, id) in &hr.users {
        let source = w.hr.resource(&ObjectType::USER, id).unwrap();
        if department(&source).as_deref() == Some("Engineering") {
            prop_assert!(account(u).is_some(), "p{} is missing", u);
        }
    }
    for (g, source_members) in &hr.members {
        let name = format!("g{g}");
        let Some(t) = groups.get(&name) else {
            prop_assert!(false, "{} is missing", name);
            continue;
        };
        let got: BTreeSet<String> = t[0]
            .get("members")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.get("value").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let want: BTreeSet<String> = source_members.iter().filter_map(account).collect();
        prop_assert_eq!(got, want, "members of {}", name);
    }
    if !hr.users.is_empty() {
        let live: BTreeSet<String> = hr
            .users
            .keys()
            .map(|u| format!("p{u}@example.com"))
            .collect();
        for name in users.keys() {
            prop_assert!(
                live.contains(name),
                "{} was fired but is still in the target",
                name
            );
        }
    }
    if !hr.groups.is_empty() {
        let live: BTreeSet<String> = hr.groups.keys().map(|g| format!("g{g}")).collect();
        for name in groups.keys() {
            prop_assert!(
                live.contains(name),
                "{} was deleted but is still in the target",
                name
            );
        }
    }
    Ok(())
}

/// Applies `ops`, lets the job heal, and checks the target against HR.
fn scenario(ops: &[Op]) -> Result<(), TestCaseError> {
    let w = World::new();
    let mut hr = Hr::default();
    let store = MemoryStateStore::new();
    for op in ops {
        apply(&w, &mut hr, op);
        if let Op::Cycle {
            target_seed,
            target_p,
            after,
            crash_at,
            crash_after,
            kill,
        } = *op
        {
            let (target, state) = crate::crash::faulty_ends(
                &w,
                &store,
                target_seed,
                target_p,
                after,
                (crash_at, crash_after, kill),
            );
            run_cycle(&w, target, state);
            // Time passes between runs: leases expire, escrows come due.
            w.clock.advance(Duration::from_secs(25 * 3600));
        }
    }
    for _ in 0..5 {
        run_cycle(&w, w.target.clone(), Arc::new(store.clone()));
        w.clock.advance(Duration::from_secs(25 * 3600));
    }
    check(&w, &hr)
}

/// 32 cases in the test suite; `PROPTEST_CASES` asks for more, for a longer search.
fn crash_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crash_cases(), .. ProptestConfig::default() })]

    #[test]
    fn group_memberships_survive_kills_and_failures(ops in proptest::collection::vec(op(), 1..40)) {
        scenario(&ops)?;
    }
}

/// Found by this property test at once: a group's create acted at the target and answered
/// an error, and the lookup by its key failed too. The engine tried the create again and the
/// target (where group names need not be unique) made a second group. Unknown must mean
/// "leave the intent to a later cycle", never "create again".
#[test]
fn a_create_whose_answer_and_lookup_are_lost_is_not_sent_twice() {
    let ops = [
        Op::NewGroup(0),
        Op::Cycle {
            target_seed: 8_470_401_602_421_948_184,
            target_p: 25,
            after: true,
            crash_at: None,
            crash_after: false,
            kill: false,
        },
    ];
    scenario(&ops).unwrap();
}

/// A run of the plain tests below: the target healthy, the state store's commit call number
/// `crash_at` failing before it lands.
fn crashing(target_seed: u64, crash_at: u8) -> Op {
    Op::Cycle {
        target_seed,
        target_p: 0,
        after: false,
        crash_at: Some(crash_at),
        crash_after: false,
        kill: false,
    }
}

/// Found by the property test: a group created with a member by a run that died before its
/// link was committed; the member then left. The next run confirmed the create, read the
/// group again — without `members`, as SCIM leaves an empty one out — and took that for
/// "members unknown", so the member stayed in the target group.
#[test]
fn a_member_who_left_a_group_whose_create_was_unconfirmed_is_removed() {
    let ops = [
        Op::Hire(0),
        Op::NewGroup(1),
        Op::Hire(1),
        Op::Hire(4),
        Op::Fire(2),
        Op::Hire(0),
        crashing(566_920_036_376_479_024, 3),
        Op::Join(1, 4),
        crashing(187_199_663_464_261, 6),
        Op::Leave(1, 4),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (40,000 cases): a group's create failed with its lookup, so
/// its intent waited; the group was deleted and made again under the same name, and the new
/// one's create acted and lost its answer too. Resolving both intents in one pass, the old
/// create's matching value (the name) took the new group's object before the new create's key
/// did; the old source object being gone, the new group was deleted. An object found by
/// another intent's key, or already taken in the pass, is not this create's.
#[test]
fn an_old_create_does_not_take_the_object_of_a_new_one_with_its_name() {
    let cycle = |target_seed, target_p, after| Op::Cycle {
        target_seed,
        target_p,
        after,
        crash_at: None,
        crash_after: false,
        kill: false,
    };
    let ops = [
        Op::NewGroup(2),
        cycle(15_550_327_491_802_932_422, 21, false),
        Op::DropGroup(2),
        Op::NewGroup(2),
        cycle(8_587_883_369_375_060_339, 31, true),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test (60,000 cases): a group's member change failed and was
/// escrowed; the member it removed was then deleted (and unlinked). The next member change
/// of the group came as a delta again and named that member by a link that no longer
/// existed, so the target kept the deleted member. An escrowed group is compared whole.
#[test]
fn a_member_removed_while_its_group_is_escrowed_is_removed_from_the_target() {
    let cycle = |target_seed, target_p| Op::Cycle {
        target_seed,
        target_p,
        after: false,
        crash_at: None,
        crash_after: false,
        kill: false,
    };
    let ops = [
        Op::Hire(0),
        Op::NewGroup(0),
        Op::Hire(3),
        Op::Join(0, 3),
        Op::Hire(2),
        Op::Join(0, 2),
        cycle(16_519_237_549_594_315, 0),
        Op::Fire(2),
        cycle(13_784_612_157_309_800_214, 2),
        Op::Fire(3),
    ];
    scenario(&ops).unwrap();
}

/// Found by the property test once state calls gave way to other work (80,000 cases passed
/// before; this came at 11,583 of 40,000): every run crashed before the groups' watermark was
/// committed, and a group was dropped, made again under its name, and dropped again. The
/// healing run is a full import that finds no group while two are linked, so it deletes
/// nothing (an empty import is taken for a failed one), and both target groups named `g0`
/// stay. That is the rule, not a double create: each is linked to its own source object. The
/// check now counts names only of a type the source still holds.
#[test]
fn two_deleted_groups_of_one_name_stay_when_the_source_holds_no_group() {
    let ops = [
        Op::Hire(5),
        Op::NewGroup(0),
        crashing(4_178_824_023_127_626_595, 7),
        Op::Hire(4),
        crashing(12_761_042_577_572_623, 5),
        Op::DropGroup(0),
        Op::Hire(0),
        Op::Hire(1),
        Op::NewGroup(0),
        Op::Hire(2),
        crashing(813_560, 10),
        Op::DropGroup(0),
    ];
    scenario(&ops).unwrap();
}
