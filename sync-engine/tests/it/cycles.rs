//! Initial and delta cycles, scope, matching, updates, leaving scope, deletes.

use connectors::{ObjectType, TargetConnector};
use serde_json::{Value, json};
use sync_engine::{Action, CycleKind, Job, Status};

use crate::support::*;

#[test]
fn the_first_cycle_creates_what_is_in_scope_and_says_why_the_rest_is_skipped() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Sales");
    w.hire("carl@example.com", "Contractors");
    let engine = w.engine(user_job(json!({})));
    let report = w.run(&engine);
    assert_eq!(report.cycle.kind, CycleKind::Initial);
    assert_eq!(report.summary.created, 2);
    assert_eq!(report.summary.skipped, 1);
    assert_eq!(w.target.len(&ObjectType::USER), 2);
    let ada = w.target_user("ada@example.com").unwrap();
    assert_eq!(department(&ada).as_deref(), Some("Engineering"));
    let skipped = report
        .log
        .iter()
        .find(|e| e.status == Status::Skipped)
        .unwrap();
    let scoping = &skipped.provisioning_steps[1].description;
    assert!(
        scoping.contains("NOT EQUALS 'Contractors' failed"),
        "the explanation names the clause: {scoping}"
    );
    let created = report
        .log
        .iter()
        .find(|e| e.action == Action::Create)
        .unwrap();
    assert!(!created.target_identity.id.is_empty());
    assert!(
        created
            .modified_properties
            .iter()
            .any(|p| p.display_name == "userName" && p.old_value.is_none()),
        "{:?}",
        created.modified_properties
    );
}

#[test]
fn a_delta_cycle_touches_only_what_changed_and_sends_only_changed_attributes() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Sales");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    let quiet = w.run(&engine);
    assert_eq!(quiet.cycle.kind, CycleKind::Delta);
    assert!(quiet.log.is_empty(), "nothing changed: {:?}", quiet.log);

    w.set(
        &ObjectType::USER,
        &ada,
        &format!("{ENT}:department"),
        json!("Research"),
    );
    let report = w.run(&engine);
    assert_eq!(report.cycle.kind, CycleKind::Delta);
    assert_eq!(actions(&report), ["Update/Success"]);
    let props = &report.log[0].modified_properties;
    assert_eq!(props.len(), 1, "{props:?}");
    assert_eq!(props[0].old_value.as_deref(), Some("Engineering"));
    assert_eq!(props[0].new_value.as_deref(), Some("Research"));
    assert_eq!(
        department(&w.target_user("ada@example.com").unwrap()).as_deref(),
        Some("Research")
    );
}

#[test]
fn replaying_the_same_changes_writes_nothing() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    // Forget the watermark (a restart): everything is read again, and matched by link.
    let report = block(
        engine.run_cycle(&sync_engine::RunOptions::new().reset(sync_engine::ResetScope::Watermark)),
    )
    .unwrap();
    assert_eq!(report.cycle.kind, CycleKind::Full);
    assert_eq!(report.summary.created + report.summary.updated, 0);
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn leaving_scope_disables_and_returning_re_enables_through_the_link() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    let id_before = w
        .target_user("ada@example.com")
        .unwrap()
        .id()
        .unwrap()
        .to_owned();

    w.set(
        &ObjectType::USER,
        &ada,
        &format!("{ENT}:department"),
        json!("Contractors"),
    );
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Disable/Success"]);
    assert_eq!(out.summary.disabled, 1);
    assert!(
        out.log[0]
            .provisioning_steps
            .iter()
            .any(|s| s.description.contains("left scope"))
    );
    assert_eq!(
        active(&w.target_user("ada@example.com").unwrap()),
        Some(false)
    );

    w.set(
        &ObjectType::USER,
        &ada,
        &format!("{ENT}:department"),
        json!("Engineering"),
    );
    let back = w.run(&engine);
    assert_eq!(actions(&back), ["Update/Success"]);
    let again = w.target_user("ada@example.com").unwrap();
    assert_eq!(active(&again), Some(true));
    assert_eq!(
        again.id(),
        Some(id_before.as_str()),
        "a rehire is never created again"
    );
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn out_of_scope_delete_and_skip_are_honoured() {
    for (policy, expect_present, expect_action) in [
        ("Delete", false, "Delete/Success"),
        ("Skip", true, "Other/Skipped"),
    ] {
        let w = World::new();
        let ada = w.hire("ada@example.com", "Engineering");
        let engine = w.engine(user_job(json!({"outOfScope": policy})));
        w.run(&engine);
        w.set(
            &ObjectType::USER,
            &ada,
            &format!("{ENT}:department"),
            json!("Contractors"),
        );
        let out = w.run(&engine);
        assert_eq!(actions(&out), [expect_action], "{policy}");
        let present = w.target_user("ada@example.com");
        assert_eq!(present.is_some(), expect_present, "{policy}");
        if let Some(r) = present {
            assert_eq!(active(&r), Some(true), "Skip leaves the object alone");
        }
    }
}

#[test]
fn deleted_at_the_source_is_deleted_or_disabled_by_flow_types() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    w.fire(&ada);
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Delete/Success"]);
    assert!(w.target_user("ada@example.com").is_none());

    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let mut job = user_job(json!({}));
    job.object_mappings[0].flow_types = vec![
        sync_engine::FlowAction::Add,
        sync_engine::FlowAction::Update,
    ];
    let engine = w.engine(job);
    w.run(&engine);
    w.fire(&ada);
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Disable/Success"]);
    assert_eq!(
        active(&w.target_user("ada@example.com").unwrap()),
        Some(false)
    );
}

#[test]
fn matching_finds_existing_objects_case_insensitively_and_never_guesses() {
    let w = World::new();
    // Already in the target, with another case.
    block(
        w.target
            .create(&ObjectType::USER, &user("ADA@example.com", "Old"), None),
    )
    .unwrap();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 0);
    assert_eq!(actions(&out), ["Update/Success"]);
    assert!(
        out.log[0]
            .provisioning_steps
            .iter()
            .any(|s| s.description.starts_with("Matched target object")),
        "{:?}",
        out.log[0].provisioning_steps
    );
    assert_eq!(w.target.len(&ObjectType::USER), 1);

    // Two candidates: an error on that object, nothing created.
    let w = World::new();
    let mut a = user("x@example.com", "A");
    a.set("displayName", Value::from("one"));
    block(w.target.create(&ObjectType::USER, &a, None)).unwrap();
    let job: Job = serde_json::from_value(json!({"objectMappings": [{
        "sourceObjectName": "User", "targetObjectName": "User",
        "attributeMappings": [
            {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}},
            {"targetAttribute": "title", "source": {"type": "Direct", "path": "title"}, "matchingPriority": 1}
        ]}]}))
    .unwrap();
    for n in ["p@example.com", "q@example.com"] {
        let mut u = user(n, "A");
        u.set("title", Value::from("Engineer"));
        block(w.target.create(&ObjectType::USER, &u, None)).unwrap();
    }
    let mut u = user("r@example.com", "A");
    u.set("title", Value::from("Engineer"));
    block(w.hr.create(&ObjectType::USER, &u, None)).unwrap();
    let engine = w.engine(job);
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Other/Failure"]);
    let info = out.log[0].status_info.as_ref().unwrap();
    assert_eq!(info.error_code, "MultipleMatches");
    assert_eq!(w.target.len(&ObjectType::USER), 3);
    assert_eq!(out.summary.escrowed, 1);
}

#[test]
fn a_target_object_linked_to_another_source_object_is_never_matched() {
    let w = World::new();
    let first = w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    // HR renames the first person and hires another with the old userName.
    w.set(
        &ObjectType::USER,
        &first,
        "userName",
        json!("ada.lovelace@example.com"),
    );
    w.hire("ada@example.com", "Sales");
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 1, "{:?}", out.log);
    assert_eq!(w.target.len(&ObjectType::USER), 2);
    assert!(w.target_user("ada.lovelace@example.com").is_some());
    assert_eq!(
        department(&w.target_user("ada@example.com").unwrap()).as_deref(),
        Some("Sales")
    );
}

#[test]
fn a_changed_mapping_makes_the_next_cycle_full_without_duplicates() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    let mut job = user_job(json!({}));
    job.object_mappings[0].attribute_mappings = serde_json::from_value(json!([
        {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
        {"targetAttribute": "title", "source": {"type": "Constant", "value": "Staff"}}
    ]))
    .unwrap();
    let engine = w.engine(job);
    let out = w.run(&engine);
    assert_eq!(out.cycle.kind, CycleKind::Full);
    assert_eq!(actions(&out), ["Update/Success"]);
    let ada = w.target_user("ada@example.com").unwrap();
    assert_eq!(ada.get("title"), Some(&json!("Staff")));
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn a_source_without_delta_is_diffed_against_fingerprints() {
    let w = World::new();
    let hr = std::sync::Arc::new(connectors::MemoryDirectory::builder().delta(false).build());
    let mk = |n: &str, d: &str| {
        block(hr.create(&ObjectType::USER, &user(n, d), None))
            .unwrap()
            .id
            .to_string()
    };
    let ada = mk("ada@example.com", "Engineering");
    let bob = mk("bob@example.com", "Sales");
    for i in 0..20 {
        mk(&format!("u{i}@example.com"), "Sales");
    }
    let engine = w.engine_with(
        user_job(json!({})),
        hr.clone(),
        w.target.clone(),
        std::sync::Arc::new(w.state.clone()),
    );
    assert_eq!(w.run(&engine).summary.created, 22);
    let p = scim_model::patch::PatchOp::new().replace(
        scim_model::AttributePath::parse("displayName").unwrap(),
        json!("Ada L."),
    );
    block(hr.patch(&ObjectType::USER, &ada.as_str().into(), &p, None)).unwrap();
    block(hr.delete(&ObjectType::USER, &bob.as_str().into(), None)).unwrap();
    let out = w.run(&engine);
    assert_eq!(out.cycle.kind, CycleKind::Delta);
    assert_eq!(actions(&out), ["Delete/Success", "Update/Success"]);
    assert!(w.target_user("bob@example.com").is_none());
}

#[test]
fn a_full_import_deletes_what_it_missed_across_pages_of_links() {
    // More links than one page of the listing that finds the missing ones (1,000), and
    // missing ones spread over the pages: each is deleted, nothing else is.
    let w = World::new();
    let hr = std::sync::Arc::new(connectors::MemoryDirectory::builder().delta(false).build());
    let ids: Vec<String> = (0..1_010)
        .map(|i| {
            block(hr.create(
                &ObjectType::USER,
                &user(&format!("u{i}@example.com"), "Sales"),
                None,
            ))
            .unwrap()
            .id
            .to_string()
        })
        .collect();
    let engine = w.engine_with(
        user_job(json!({})),
        hr.clone(),
        w.target.clone(),
        std::sync::Arc::new(w.state.clone()),
    );
    assert_eq!(w.run(&engine).summary.created, 1_010);
    // Links are listed in the order of their source ids: delete some from the first page,
    // its last one, and from the second page.
    let mut sorted = ids.clone();
    sorted.sort();
    let gone: Vec<&String> = [0, 500, 999, 1_000, 1_009]
        .iter()
        .map(|&i| &sorted[i])
        .collect();
    for id in &gone {
        block(hr.delete(&ObjectType::USER, &id.as_str().into(), None)).unwrap();
    }
    let out = w.run(&engine);
    assert_eq!(out.summary.deleted, gone.len() as u64);
    for (i, id) in ids.iter().enumerate() {
        let present = w.target_user(&format!("u{i}@example.com")).is_some();
        assert_eq!(present, !gone.contains(&id), "u{i}");
    }
}

#[test]
fn an_empty_import_while_objects_are_linked_deletes_nothing() {
    let w = World::new();
    let hr = std::sync::Arc::new(connectors::MemoryDirectory::builder().delta(false).build());
    let ada = block(hr.create(&ObjectType::USER, &user("ada@example.com", "Eng"), None))
        .unwrap()
        .id;
    let engine = w.engine_with(
        user_job(json!({})),
        hr.clone(),
        w.target.clone(),
        std::sync::Arc::new(w.state.clone()),
    );
    w.run(&engine);
    block(hr.delete(&ObjectType::USER, &ada, None)).unwrap();
    let out = w.run(&engine);
    assert_eq!(out.summary.deleted + out.summary.disabled, 0);
    assert!(
        out.notes.iter().any(|n| n.contains("failed import")),
        "{:?}",
        out.notes
    );
    assert_eq!(
        active(&w.target_user("ada@example.com").unwrap()),
        Some(true)
    );
}

#[test]
fn the_log_is_queryable_by_cycle_and_by_object() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Sales");
    let engine = w.engine(user_job(json!({})));
    let first = w.run(&engine);
    w.set(&ObjectType::USER, &ada, "displayName", json!("Ada"));
    let second = w.run(&engine);
    let by_cycle = block(engine.log_of_cycle(first.cycle.number)).unwrap();
    assert_eq!(by_cycle, first.log);
    assert_eq!(
        block(engine.log_of_cycle(second.cycle.number)).unwrap(),
        second.log
    );
    let by_object = block(engine.log_of_object(&ObjectType::USER, &ada.as_str().into())).unwrap();
    let seen: Vec<Action> = by_object.iter().map(|e| e.action).collect();
    assert_eq!(seen, [Action::Create, Action::Update]);
    assert!(by_object.iter().all(|e| e.source_identity.id == ada));
}

/// An object's entries are found by object whether they were reached through its link (an
/// update), indexed (a failure, a delete), or chained from a link a full reset cleared: the
/// log of the object is exactly its entries of every cycle's report, in order.
#[test]
fn an_objects_whole_log_is_found_after_updates_a_full_reset_and_its_delete() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Sales");
    let engine = w.engine(user_job(json!({})));
    let mut reports = vec![w.run(&engine)];
    w.set(&ObjectType::USER, &ada, "displayName", json!("Ada"));
    reports.push(w.run(&engine));
    w.set(&ObjectType::USER, &ada, "displayName", json!("Ada L."));
    reports.push(w.run(&engine));
    reports.push(
        block(
            engine.run_cycle(&sync_engine::RunOptions::new().reset(sync_engine::ResetScope::Full)),
        )
        .unwrap(),
    );
    w.set(
        &ObjectType::USER,
        &ada,
        "displayName",
        json!("Ada Lovelace"),
    );
    reports.push(w.run(&engine));
    w.fire(&ada);
    reports.push(w.run(&engine));
    let expected: Vec<_> = reports
        .iter()
        .flat_map(|r| r.log.iter().filter(|e| e.source_identity.id == ada))
        .cloned()
        .collect();
    let seen: Vec<Action> = expected.iter().map(|e| e.action).collect();
    assert_eq!(
        seen,
        [
            Action::Create,
            Action::Update,
            Action::Update,
            Action::Other,
            Action::Update,
            Action::Delete
        ],
        "{expected:#?}"
    );
    let by_object = block(engine.log_of_object(&ObjectType::USER, &ada.as_str().into())).unwrap();
    assert_eq!(by_object, expected);
}

#[test]
fn the_log_entry_serialises_with_entras_field_names() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    let report = w.run(&engine);
    let v = serde_json::to_value(&report).unwrap();
    for key in ["cycle", "summary", "quarantine", "log"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    let entry = &v["log"][0];
    for key in [
        "sourceIdentity",
        "targetIdentity",
        "action",
        "status",
        "provisioningSteps",
        "modifiedProperties",
    ] {
        assert!(entry.get(key).is_some(), "{key} in {entry}");
    }
    assert_eq!(
        entry["provisioningSteps"][0]["provisioningStepType"],
        "import"
    );
    assert_eq!(v["cycle"]["kind"], "initial");
    assert_eq!(v["summary"]["stagedDeletes"], 0);
}

#[test]
fn a_diffed_import_does_not_report_unchanged_skipped_objects_again() {
    let w = World::new();
    let hr = std::sync::Arc::new(connectors::MemoryDirectory::builder().delta(false).build());
    block(hr.create(
        &ObjectType::USER,
        &user("c@example.com", "Contractors"),
        None,
    ))
    .unwrap();
    block(hr.create(&ObjectType::USER, &user("a@example.com", "Sales"), None)).unwrap();
    let engine = w.engine_with(
        user_job(json!({})),
        hr.clone(),
        w.target.clone(),
        std::sync::Arc::new(w.state.clone()),
    );
    assert_eq!(
        actions(&w.run(&engine)),
        ["Create/Success", "Other/Skipped"]
    );
    let second = w.run(&engine);
    assert_eq!(second.cycle.kind, CycleKind::Delta);
    assert!(second.log.is_empty(), "{:?}", second.log);
}

#[test]
fn a_host_can_leave_the_log_out_of_the_report_and_still_query_it() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    let report = block(engine.run_cycle(&sync_engine::RunOptions::new().omit_log())).unwrap();
    assert!(report.log.is_empty());
    assert_eq!(report.summary.created, 1);
    let stored = block(engine.log_of_cycle(report.cycle.number)).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].action, Action::Create);
}

#[test]
fn the_report_holds_the_first_entries_up_to_its_limit_and_counts_the_rest() {
    let w = World::new();
    for i in 0..7 {
        w.hire(&format!("p{i}@example.com"), "Engineering");
    }
    let engine = w.engine(user_job(json!({})));
    let report =
        block(engine.run_cycle(&sync_engine::RunOptions::new().report_log_limit(3))).unwrap();
    assert_eq!(report.summary.created, 7);
    assert_eq!(report.log_omitted, 4);
    // The store has every entry; the report the first three of them, in the order written.
    let stored = block(engine.log_of_cycle(report.cycle.number)).unwrap();
    assert_eq!(stored.len(), 7);
    assert_eq!(report.log, stored[..3]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["logOmitted"], 4);
    // The default keeps every entry of a small cycle, and says nothing of omitted ones.
    w.hire("late@example.com", "Engineering");
    let next = w.run(&engine);
    assert_eq!(next.log.len(), 1);
    assert_eq!(next.log_omitted, 0);
    assert!(
        serde_json::to_value(&next)
            .unwrap()
            .get("logOmitted")
            .is_none()
    );
    assert_eq!(
        sync_engine::RunOptions::new().report_log_limit,
        sync_engine::DEFAULT_REPORT_LOG_LIMIT
    );
    // A preview's report is its only record: it keeps every entry unless told otherwise.
    let preview = sync_engine::RunOptions::new().preview();
    assert_eq!(preview.report_log_limit, usize::MAX);
    let limited = sync_engine::RunOptions::new().report_log_limit(3).preview();
    assert_eq!(limited.report_log_limit, 3);
    for i in 0..12 {
        w.hire(&format!("q{i}@example.com"), "Engineering");
    }
    let report = block(engine.run_cycle(&sync_engine::RunOptions::new().preview())).unwrap();
    assert_eq!((report.log.len(), report.log_omitted), (12, 0));
}

/// Before an update the engine reads of the linked object only what it compares
/// (`TargetConnector::get_attributes`): the mapped attributes, `active` for a user, and a
/// group's `members` when they are mapped. What it did not ask for stays as it is.
#[test]
fn an_update_reads_only_what_it_compares_of_the_linked_object() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let staff = w.add_group("Staff", &[&ada]);
    let target = std::sync::Arc::new(connectors::testing::Recording::new(w.target.clone()));
    let engine = w.engine_with(
        user_and_group_job(json!({})),
        w.hr.clone(),
        target.clone(),
        std::sync::Arc::new(w.state.clone()),
    );
    w.run(&engine);
    let linked = w.target_user("ada@example.com").unwrap();
    let patch = scim_model::patch::PatchOp::new().replace(
        scim_model::AttributePath::new("nickName"),
        json!("Countess"),
    );
    let id = connectors::TargetId::new(linked.id().unwrap());
    block(w.target.patch(&ObjectType::USER, &id, &patch, None)).unwrap();
    w.set(&ObjectType::USER, &ada, "displayName", json!("Ada L."));
    w.set(
        &ObjectType::GROUP,
        &staff,
        "displayName",
        json!("All staff"),
    );
    target.log().clear();
    let report = w.run(&engine);
    assert_eq!(report.summary.updated, 2, "{:?}", report.summary);
    let asked = |ty: &ObjectType| -> Vec<String> {
        target
            .calls()
            .iter()
            .filter(|c| c.operation == "get" && c.object_type.as_ref() == Some(ty))
            .map(|c| c.summary.clone())
            .collect()
    };
    let users = asked(&ObjectType::USER);
    assert_eq!(users.len(), 1, "{users:?}");
    assert!(
        users[0].starts_with(&format!("attributes=userName,displayName,active,{ENT}")[..50]),
        "{users:?}"
    );
    assert_eq!(
        asked(&ObjectType::GROUP),
        ["attributes=displayName,members"]
    );
    let ada_now = w.target_user("ada@example.com").unwrap();
    assert_eq!(ada_now.get("displayName"), Some(&json!("Ada L.")));
    assert_eq!(ada_now.get("nickName"), Some(&json!("Countess")));
    let group = w.target_group("All staff").unwrap();
    assert_eq!(
        group.get("members").and_then(Value::as_array).map(Vec::len),
        Some(1)
    );
}

/// A state store whose commits give way to the engine's other work many times before they
/// land (as a store that commits on a thread of its own does), and that notes when each commit
/// starts and ends and which links are read.
#[derive(Clone, Debug)]
struct SlowCommits {
    inner: std::sync::Arc<dyn connectors::StateStore>,
    events: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SlowCommits {
    fn new(inner: impl connectors::StateStore) -> Self {
        SlowCommits {
            inner: std::sync::Arc::new(inner),
            events: Default::default(),
        }
    }

    fn note(&self, event: String) {
        self.events.lock().unwrap().push(event);
    }

    async fn give_way() {
        let mut left = 50;
        futures::future::poll_fn(move |cx| {
            if left == 0 {
                return std::task::Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
    }

    /// The source ids whose link was read while a commit was under way.
    fn links_read_during_commits(&self) -> Vec<String> {
        let mut open = 0;
        let mut read = Vec::new();
        for e in self.events.lock().unwrap().iter() {
            if e == "commit start" {
                open += 1;
            } else if e == "commit end" {
                open -= 1;
            } else if let Some(id) = e.strip_prefix("link ")
                && open > 0
            {
                read.push(id.to_owned());
            }
        }
        read
    }
}

#[async_trait::async_trait]
impl connectors::StateStore for SlowCommits {
    fn name(&self) -> &str {
        "slow-commits"
    }
    async fn acquire_lease(
        &self,
        job: &connectors::JobId,
        holder: &str,
        now: chrono::DateTime<chrono::Utc>,
        ttl: std::time::Duration,
    ) -> connectors::Result<connectors::state::Lease> {
        self.inner.acquire_lease(job, holder, now, ttl).await
    }
    async fn release_lease(&self, lease: &connectors::state::Lease) -> connectors::Result<()> {
        self.inner.release_lease(lease).await
    }
    async fn get(
        &self,
        table: connectors::state::Table,
        key: &[u8],
    ) -> connectors::Result<Option<Vec<u8>>> {
        if table == connectors::state::Table::LINKS
            && let Some(id) = connectors::state::records::object_id_of_key(key)
        {
            self.note(format!("link {id}"));
        }
        self.inner.get(table, key).await
    }
    async fn scan(
        &self,
        table: connectors::state::Table,
        range: &connectors::state::KeyRange,
        limit: usize,
    ) -> connectors::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(table, range, limit).await
    }
    async fn commit(&self, batch: connectors::state::WriteBatch) -> connectors::Result<()> {
        self.note("commit start".to_owned());
        Self::give_way().await;
        let result = self.inner.commit(batch).await;
        self.note("commit end".to_owned());
        result
    }
    async fn commit_and_release(
        &self,
        batch: connectors::state::WriteBatch,
        lease: &connectors::state::Lease,
    ) -> connectors::Result<()> {
        self.note("commit start".to_owned());
        Self::give_way().await;
        let result = self.inner.commit_and_release(batch, lease).await;
        self.note("commit end".to_owned());
        result
    }
}

/// Hires p0–p3, runs `engine`'s first cycle, then renames the four in HR to "P 0"–"P 3" (with a
/// page size of 2, the next delta updates them in two batches). Their HR ids.
fn four_hired_then_renamed(w: &World, engine: &sync_engine::SyncEngine) -> Vec<String> {
    let people: Vec<String> = (0..4)
        .map(|i| w.hire(&format!("p{i}@example.com"), "Engineering"))
        .collect();
    w.run(engine);
    for (i, id) in people.iter().enumerate() {
        w.set(
            &ObjectType::USER,
            id,
            "displayName",
            json!(format!("P {i}")),
        );
    }
    people
}

#[test]
fn a_delta_plans_its_next_batch_while_the_one_before_commits_unless_that_one_makes_links() {
    let w = World::new();
    let store = SlowCommits::new(w.state.clone());
    let engine = w.engine_with(
        user_job(json!({"pageSize": 2})),
        w.hr.clone(),
        w.target.clone(),
        std::sync::Arc::new(store.clone()),
    );
    // Updates only: the second batch's links are read while the first batch commits.
    let people = four_hired_then_renamed(&w, &engine);
    store.events.lock().unwrap().clear();
    let report = w.run(&engine);
    assert_eq!(report.summary.updated, 4, "{:?}", report.summary);
    let early = store.links_read_during_commits();
    assert!(!early.is_empty(), "{:?}", store.events.lock().unwrap());
    assert!(
        early.iter().all(|id| people[2..].contains(id)),
        "only the second batch's links are read early: {early:?}"
    );
    for i in 0..4 {
        let p = w.target_user(&format!("p{i}@example.com")).unwrap();
        assert_eq!(p.get("displayName"), Some(&json!(format!("P {i}"))));
    }

    // Creates make links (and a later batch's references may wait for them): each batch waits
    // for the one before to commit.
    let hires: Vec<String> = (4..8)
        .map(|i| w.hire(&format!("p{i}@example.com"), "Engineering"))
        .collect();
    store.events.lock().unwrap().clear();
    let report = w.run(&engine);
    assert_eq!(report.summary.created, 4, "{:?}", report.summary);
    assert_eq!(
        store.links_read_during_commits(),
        Vec::<String>::new(),
        "{hires:?}"
    );
}

#[test]
fn a_batch_that_fails_to_commit_holds_back_the_watermark_of_the_batch_overlapping_it() {
    use connectors::testing::{FailurePlan, Flaky};
    let w = World::new();
    let job = user_job(json!({"pageSize": 2}));
    four_hired_then_renamed(&w, &w.engine(job.clone()));
    // Every export fails (so every outcome is an escrow), and the first batch's commit fails
    // while the second batch, planned beside it, is under way.
    let target = Flaky::new(w.target.clone(), FailurePlan::always().only(["patch"]));
    let store = SlowCommits::new(Flaky::new(
        w.state.clone(),
        FailurePlan::calls([1]).only(["commit"]).permanent(),
    ));
    let faulty = w.engine_with(
        job.clone(),
        w.hr.clone(),
        std::sync::Arc::new(target),
        std::sync::Arc::new(store.clone()),
    );
    assert!(block(faulty.run_cycle(&sync_engine::RunOptions::new())).is_err());
    let events = store.events.lock().unwrap().clone();
    let commits = events.iter().filter(|e| *e == "commit start").count();
    assert!(commits >= 2, "the second batch committed too: {events:?}");
    // The first batch's escrows were never recorded: only the watermark it held back brings
    // its people round again.
    let engine = w.engine(job);
    for _ in 0..3 {
        w.clock.advance(std::time::Duration::from_secs(24 * 3600));
        w.run(&engine);
    }
    for i in 0..4 {
        let p = w.target_user(&format!("p{i}@example.com")).unwrap();
        assert_eq!(p.get("displayName"), Some(&json!(format!("P {i}"))), "p{i}");
    }
}
