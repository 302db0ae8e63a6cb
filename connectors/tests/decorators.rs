//! The test decorators of `connectors::testing` — `Flaky`, `Latency`, `Recording` — around the
//! reference implementations (`MemoryDirectory` as source and target, `MemoryStateStore`).

// Test helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use connectors::conformance::state as state_kit;
use connectors::memory::MemoryDirectory;
use connectors::state::MemoryStateStore;
use connectors::testing::{
    CallLog, Delay, ErrorFactory, FailureKind, FailurePlan, Flaky, InjectedFailure, Latency,
    Outcome, Recording, Timing,
};
use connectors::{
    Clock, CreateKey, Error, ErrorKind, FakeClock, JobId, ObjectType, SourceConnector, StateStore,
    Table, TargetConnector, TargetConnectorExt, TargetId, Watermark, WriteBatch, WriteOp,
};
use futures::executor::block_on;
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::json;

const USER: ObjectType = ObjectType::USER;

fn user(name: &str) -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true
    }))
    .unwrap()
}

fn clock() -> FakeClock {
    FakeClock::at("2026-01-05T09:00:00Z".parse().unwrap())
}

fn injected_calls(f: &[InjectedFailure]) -> Vec<u64> {
    f.iter().map(|i| i.call).collect()
}

// ---------------------------------------------------------------------------------------------
// Flaky

#[test]
fn flaky_fails_exactly_the_planned_calls_of_the_planned_operations() {
    let dir = MemoryDirectory::new();
    let target = Flaky::new(dir.clone(), FailurePlan::calls([3, 7]).only(["create"]));
    let mut failed = Vec::new();
    for i in 1..=10 {
        // A find between creates is not a create: it is neither counted nor failed.
        let found = block_on(target.find(&USER, &AttributePath::new("userName"), &json!("x"), 2));
        assert!(found.is_ok());
        let r = block_on(target.create(&USER, &user(&format!("u{i}")), None));
        if let Err(e) = r {
            assert_eq!(e.kind(), ErrorKind::Temporary);
            failed.push(i);
        }
    }
    assert_eq!(failed, [3, 7]);
    assert_eq!(target.calls(), 10);
    let injected = target.injected();
    assert_eq!(injected_calls(&injected), [3, 7]);
    assert!(
        injected
            .iter()
            .all(|f| f.operation == "create" && f.timing == Timing::Before)
    );
    // Before the call: the failed creates never reached the directory.
    assert_eq!(dir.len(&USER), 8);
    let names: Vec<String> = dir
        .snapshot(&USER)
        .iter()
        .map(|r| r.get("userName").unwrap().as_str().unwrap().to_owned())
        .collect();
    assert!(!names.contains(&"u3".to_owned()) && !names.contains(&"u7".to_owned()));
}

#[test]
fn flaky_every_nth_call_and_healing() {
    let store = Flaky::new(MemoryStateStore::new(), FailurePlan::every(3).permanent());
    let outcomes: Vec<bool> = (0..9)
        .map(|_| block_on(store.get(Table::JOBS, b"k")).is_ok())
        .collect();
    assert_eq!(
        outcomes,
        [true, true, false, true, true, false, true, true, false]
    );
    // A state store's injected failures are its contract's storage errors.
    store.set_plan(FailurePlan::always().permanent());
    let e = block_on(store.get(Table::JOBS, b"k")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Storage {
                temporary: false,
                ..
            }
        ),
        "{e:?}"
    );
    // A new plan counts from 1 again; `never` heals.
    store.set_plan(FailurePlan::calls([1]));
    assert!(
        block_on(store.get(Table::JOBS, b"k"))
            .unwrap_err()
            .is_retryable()
    );
    store.set_plan(FailurePlan::never());
    assert!((0..20).all(|_| block_on(store.get(Table::JOBS, b"k")).is_ok()));
    assert_eq!(store.calls(), 20);
    assert_eq!(store.injected().len(), 3 + 1 + 1);
}

#[test]
fn flaky_after_the_call_the_write_happened_but_the_answer_was_lost() {
    let dir = MemoryDirectory::new();
    let target = Flaky::new(
        dir.clone(),
        FailurePlan::calls([1])
            .only(["create", "patch"])
            .after()
            .temporary(Some(Duration::from_secs(30))),
    );
    let key = CreateKey::new("E1042");
    let e = block_on(target.create(&USER, &user("bjensen"), Some(&key))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    // The create took effect: a caller that lost the answer finds the object by its key
    // instead of creating it again.
    assert_eq!(dir.len(&USER), 1);
    let found = block_on(target.find(&USER, &AttributePath::new("externalId"), &json!("E1042"), 2))
        .unwrap();
    assert_eq!(found.len(), 1);
    let id = found[0].id.clone();

    // The second patch is not failed (only call 1 of create-or-patch is); switch to failing
    // the next patch after it applies.
    target.set_plan(FailurePlan::calls([1]).only(["patch"]).after().permanent());
    let e = block_on(target.disable(&USER, &id)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert_eq!(
        dir.resource(&USER, id.as_str()).unwrap().get("active"),
        Some(&json!(false))
    );

    // Before the call, the same failure leaves the object alone.
    target.set_plan(FailurePlan::calls([1]).only(["patch"]).before());
    assert!(block_on(target.enable(&USER, &id)).is_err());
    assert_eq!(
        dir.resource(&USER, id.as_str()).unwrap().get("active"),
        Some(&json!(false))
    );
    block_on(target.enable(&USER, &id)).unwrap();
    assert_eq!(
        dir.resource(&USER, id.as_str()).unwrap().get("active"),
        Some(&json!(true))
    );
}

#[test]
fn flaky_after_a_commit_the_batch_is_stored() {
    let store = MemoryStateStore::new();
    let flaky = Flaky::new(
        store.clone(),
        FailurePlan::always().only(["commit"]).after(),
    );
    let mut batch = WriteBatch::default();
    batch.ops.push(WriteOp::Put {
        table: Table::JOBS,
        key: b"k".to_vec(),
        value: b"v".to_vec(),
    });
    let e = block_on(flaky.commit(batch)).unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(
        block_on(store.get(Table::JOBS, b"k")).unwrap(),
        Some(b"v".to_vec())
    );
}

#[test]
fn flaky_probability_is_reproducible_by_seed() {
    let run = |seed: u64| {
        let store = Flaky::new(MemoryStateStore::new(), FailurePlan::probability(0.3, seed));
        for _ in 0..300 {
            let _ = block_on(store.get(Table::JOBS, b"k"));
        }
        injected_calls(&store.injected())
    };
    let a = run(42);
    assert_eq!(a, run(42));
    assert_ne!(a, run(43));
    assert!((60..=120).contains(&a.len()), "{} of 300 failed", a.len());
}

#[test]
fn flaky_counts_calls_from_many_threads_exactly_once() {
    let store = Arc::new(Flaky::new(MemoryStateStore::new(), FailurePlan::every(10)));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let store = Arc::clone(&store);
            s.spawn(move || {
                for _ in 0..50 {
                    let _ = block_on(store.get(Table::JOBS, b"k"));
                }
            });
        }
    });
    assert_eq!(store.calls(), 200);
    assert_eq!(
        injected_calls(&store.injected()),
        (1..=20).map(|i| i * 10).collect::<Vec<_>>()
    );
}

#[test]
fn flaky_error_kinds_for_sources() {
    let dir = MemoryDirectory::new();
    let since = block_on(dir.current_watermark(&USER)).unwrap();
    let source = Flaky::new(
        dir,
        FailurePlan::always()
            .only(["changes"])
            .with_kind(FailureKind::ResyncRequired),
    );
    let e = block_on(source.changes(&USER, &since, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);
    // Other operations pass.
    assert!(block_on(source.import_page(&USER, None)).is_ok());
    source.set_plan(FailurePlan::always().fatal());
    assert_eq!(
        block_on(source.import_page(&USER, None))
            .unwrap_err()
            .kind(),
        ErrorKind::Fatal
    );
    source.set_plan(
        FailurePlan::always().with_kind(FailureKind::Custom(ErrorFactory::new(|f| {
            Error::permanent("hr", format!("{} #{}", f.operation, f.call))
        }))),
    );
    let e = block_on(SourceConnector::get(&source, &USER, &"x".into())).unwrap_err();
    assert_eq!(e.to_string(), "hr: get #1");
    // The decorator is transparent otherwise.
    assert_eq!(SourceConnector::name(&source), "memory");
    assert!(SourceConnector::capabilities(&source).delta);
}

// ---------------------------------------------------------------------------------------------
// Latency

#[test]
fn latency_moves_the_fake_clock_per_call() {
    let clock = clock();
    let start = clock.now();
    let target = Latency::new(
        MemoryDirectory::new(),
        clock.clone(),
        Delay::fixed(Duration::from_millis(200)),
    );
    let created = block_on(target.create(&USER, &user("bjensen"), None)).unwrap();
    block_on(TargetConnector::get(&target, &USER, &created.id)).unwrap();
    block_on(target.disable(&USER, &created.id)).unwrap();
    // `name` and `capabilities` do not wait.
    let _ = TargetConnector::name(&target);
    let _ = TargetConnector::capabilities(&target);
    assert_eq!(target.calls(), 3);
    assert_eq!(target.waited(), Duration::from_millis(600));
    assert_eq!((clock.now() - start).num_milliseconds(), 600);
}

#[test]
fn latency_jitter_is_reproducible_and_bounded() {
    let total = |seed: u64| {
        let clock = clock();
        let start = clock.now();
        let delay = Delay::jittered(Duration::from_millis(10), Duration::from_millis(90), seed);
        let store = Latency::new(MemoryStateStore::new(), clock.clone(), delay);
        for _ in 0..50 {
            block_on(store.get(Table::JOBS, b"k")).unwrap();
        }
        let waited = (clock.now() - start).to_std().unwrap();
        assert_eq!(waited, store.waited());
        let expected: Duration = (1..=50).map(|n| delay.of_call(n)).sum();
        assert_eq!(waited, expected);
        waited
    };
    let a = total(7);
    assert_eq!(a, total(7));
    assert_ne!(a, total(8));
    assert!(a >= Duration::from_millis(500) && a <= Duration::from_millis(4500));
}

// ---------------------------------------------------------------------------------------------
// Recording

#[test]
fn recording_lists_calls_in_order_with_their_outcomes() {
    let dir = MemoryDirectory::new();
    let target = Recording::new(dir.clone());
    let key = CreateKey::new("E1");
    let created = block_on(target.create(&USER, &user("bjensen"), Some(&key))).unwrap();
    let id = created.id.clone();
    block_on(target.find(&USER, &AttributePath::new("externalId"), &json!("E1"), 2)).unwrap();
    let patch = PatchOp::new()
        .replace(AttributePath::new("displayName"), json!("Babs"))
        .add(
            AttributePath::parse("emails[type eq \"work\"].value").unwrap(),
            json!("b@x"),
        );
    block_on(target.patch(&USER, &id, &patch, None)).unwrap();
    // A clash: userName is unique.
    let clash = block_on(target.create(&USER, &user("BJENSEN"), None)).unwrap_err();
    assert_eq!(clash.kind(), ErrorKind::Uniqueness);
    block_on(target.delete(&USER, &id, None)).unwrap();
    block_on(target.query(&USER, &connectors::Query::all().with_count(5))).unwrap();

    let lines: Vec<String> = target.calls().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "create User key=E1 userName=bjensen -> Ok".to_owned(),
            "find User externalId eq \"E1\" limit 2 -> Ok".to_owned(),
            format!(
                "patch User key={id} replace displayName, add emails[type eq \"work\"].value -> Ok"
            ),
            "create User userName=BJENSEN -> Uniqueness".to_owned(),
            format!("delete User key={id} -> Ok"),
            "query User count=5 -> Ok".to_owned(),
        ]
    );
    let log = target.log();
    assert_eq!(log.count("create"), 2);
    assert_eq!(log.calls()[0].key.as_deref(), Some("E1"));
    assert_eq!(log.calls()[0].object_type, Some(USER));
    assert_eq!(log.calls()[3].outcome, Outcome::Err(ErrorKind::Uniqueness));
    log.clear();
    assert!(log.is_empty());
}

#[test]
fn one_log_for_a_source_and_a_target_shows_what_a_cycle_did() {
    // The shape of an engine test: "a delta cycle made only these target calls".
    let hr = MemoryDirectory::new();
    let app = MemoryDirectory::new();
    let log = CallLog::new();
    let source = Recording::with_log(hr.clone(), log.clone());
    let target = Recording::with_log(app.clone(), log.clone());
    block_on(hr.create(&USER, &user("a"), None)).unwrap();
    let since = block_on(source.current_watermark(&USER)).unwrap();
    block_on(hr.create(&USER, &user("b"), None)).unwrap(); // not through the decorator

    // A hand-written delta cycle: read the changes, create each one in the target.
    let page = block_on(source.changes(&USER, &since, None)).unwrap();
    for change in &page.changes {
        if let connectors::ChangeKind::Upsert(r) = &change.kind {
            let key = CreateKey::new(change.id.as_str());
            let found = block_on(target.find(
                &USER,
                &AttributePath::new("externalId"),
                &json!(change.id.as_str()),
                2,
            ))
            .unwrap();
            if found.is_empty() {
                // "Mapping": only userName flows.
                let name = r.get("userName").unwrap().as_str().unwrap();
                block_on(target.create(&USER, &user(name), Some(&key))).unwrap();
            }
        }
    }
    assert_eq!(
        log.operations(),
        ["current_watermark", "changes", "find", "create"]
    );
    let target_calls = log
        .calls()
        .iter()
        .filter(|c| c.operation == "find" || c.operation == "create")
        .count();
    assert_eq!(target_calls, 2);
    assert!(
        log.calls()[1]
            .summary
            .starts_with("since=Watermark(8 bytes"),
        "{}",
        log.calls()[1].summary
    );
}

#[test]
fn recording_state_store_calls_name_tables_and_keys() {
    let store = Recording::new(MemoryStateStore::new());
    let job = JobId::new("hr-sync");
    let now = clock().now();
    let lease =
        block_on(store.acquire_lease(&job, "agent-1", now, Duration::from_secs(60))).unwrap();
    let key = connectors::state::Key::new()
        .str("hr-sync")
        .str("User")
        .str("E1");
    let mut batch = WriteBatch::fenced(lease.clone());
    batch.ops.push(WriteOp::Put {
        table: Table::LINKS,
        key: key.clone().into_bytes(),
        value: b"{}".to_vec(),
    });
    batch.ops.push(WriteOp::Delete {
        table: Table::ESCROWS,
        key: key.clone().into_bytes(),
    });
    block_on(store.commit(batch)).unwrap();
    block_on(store.get(Table::LINKS, key.as_bytes())).unwrap();
    let range = connectors::state::KeyRange::prefix(
        connectors::state::Key::new().str("hr-sync").into_bytes(),
    );
    block_on(store.scan(Table::LINKS, &range, 100)).unwrap();
    block_on(store.release_lease(&lease)).unwrap();
    let lines: Vec<String> = store.calls().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "acquire_lease - key=hr-sync holder=agent-1 ttl=60s -> Ok",
            "commit - 2 writes: put links, delete escrows (lease epoch 1) -> Ok",
            "get - key=links/hr-sync/User/E1 -> Ok",
            "scan - key=links/hr-sync limit=100 -> Ok",
            "release_lease - key=hr-sync holder=agent-1 epoch=1 -> Ok",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Stacking, trait objects, and the state-store conformance kit through every decorator

#[test]
fn decorators_stack_and_work_as_trait_objects() {
    let clock = clock();
    let dir = MemoryDirectory::new();
    let flaky = Flaky::new(
        Latency::new(
            dir.clone(),
            clock.clone(),
            Delay::fixed(Duration::from_secs(1)),
        ),
        FailurePlan::calls([2]).only(["create"]),
    );
    let recording = Recording::new(flaky);
    let log = recording.log();
    let target: Arc<dyn TargetConnector> = Arc::new(recording);
    block_on(target.create(&USER, &user("a"), None)).unwrap();
    assert!(block_on(target.create(&USER, &user("b"), None)).is_err());
    block_on(target.create(&USER, &user("c"), None)).unwrap();
    let outcomes: Vec<Outcome> = log.calls().iter().map(|c| c.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::Err(ErrorKind::Temporary), Outcome::Ok]
    );
    // The failure came before the inner Latency: two calls waited.
    assert_eq!(clock.now().to_rfc3339(), "2026-01-05T09:00:02+00:00");
    assert_eq!(dir.len(&USER), 2);
    let source: Box<dyn SourceConnector> =
        Box::new(Recording::new(Flaky::new(dir, FailurePlan::never())));
    assert_eq!(
        block_on(source.import_page(&USER, None))
            .unwrap()
            .objects
            .len(),
        2
    );
}

#[test]
fn the_state_store_kit_passes_through_every_decorator() {
    block_on(state_kit::run_all(&Recording::new(MemoryStateStore::new()))).unwrap();
    block_on(state_kit::run_all(&Flaky::new(
        MemoryStateStore::new(),
        FailurePlan::never(),
    )))
    .unwrap();
    let latency = Latency::new(
        MemoryStateStore::new(),
        clock(),
        Delay::fixed(Duration::from_millis(5)),
    );
    block_on(state_kit::run_all(&latency)).unwrap();
    assert!(latency.calls() > 0);
    // And a store that fails is caught by the kit.
    let broken = Flaky::new(
        MemoryStateStore::new(),
        FailurePlan::calls([5]).only(["commit"]),
    );
    assert!(block_on(state_kit::run_all(&broken)).is_err());
}

#[test]
fn watermarks_and_ids_pass_unchanged() {
    let dir = MemoryDirectory::new();
    let wrapped = Recording::new(Latency::new(
        Flaky::new(dir.clone(), FailurePlan::never()),
        clock(),
        Delay::fixed(Duration::ZERO),
    ));
    let w1: Watermark = block_on(wrapped.current_watermark(&USER)).unwrap();
    let w2 = block_on(dir.current_watermark(&USER)).unwrap();
    assert_eq!(w1, w2);
    let created = block_on(wrapped.create(&USER, &user("z"), None)).unwrap();
    let got = block_on(TargetConnector::get(
        &wrapped,
        &USER,
        &TargetId::new(created.id.as_str()),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(got.resource, created.resource);
}

#[test]
fn the_source_and_target_kits_pass_through_stacked_decorators() {
    use connectors::conformance::{source as source_kit, target as target_kit};
    let clock = clock();
    let dir = MemoryDirectory::builder().page_size(5).build();
    let wrapped = Recording::new(Latency::new(
        Flaky::new(dir.clone(), FailurePlan::never()),
        clock.clone(),
        Delay::fixed(Duration::from_millis(1)),
    ));
    block_on(target_kit::run_all(&wrapped)).unwrap();
    block_on(source_kit::run_all(&wrapped, &dir)).unwrap();
    let log = wrapped.log();
    for op in [
        "create",
        "patch",
        "delete",
        "find",
        "import_page",
        "changes",
        "get",
    ] {
        assert!(
            log.count(op) > 0,
            "no {op} call went through the decorators"
        );
    }
    assert!(log.calls().iter().all(|c| c.outcome != Outcome::Pending));
}
