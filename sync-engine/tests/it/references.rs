//! Managers and group members resolve through the link table and wait, never dropped.

use std::sync::Arc;

use connectors::testing::Recording;
use connectors::{MemoryStateStore, ObjectType};
use serde_json::{Value, json};

use crate::support::*;

fn manager_of(r: &scim_model::Resource) -> Option<String> {
    r.attribute(Some(ENT), "manager")
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[test]
fn an_initial_import_creates_reports_after_their_managers_with_the_manager_set() {
    let w = World::new();
    // Reports are hired first, so the import returns them before their managers (a chain:
    // ria -> lead -> boss).
    let ria = w.hire("ria@example.com", "Engineering");
    let lead = w.hire("lead@example.com", "Engineering");
    let boss = w.hire("boss@example.com", "Engineering");
    w.set(
        &ObjectType::USER,
        &ria,
        &format!("{ENT}:manager"),
        json!({"value": lead}),
    );
    w.set(
        &ObjectType::USER,
        &lead,
        &format!("{ENT}:manager"),
        json!({"value": boss}),
    );
    let engine = w.engine(user_job(json!({"pageSize": 1})));
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 3);
    assert_eq!(
        actions(&out),
        ["Create/Success", "Create/Success", "Create/Success"],
        "held back until their managers were linked, so no second PATCH: {:?}",
        out.log
    );
    let id = |n: &str| w.target_user(n).unwrap().id().map(str::to_owned);
    assert_eq!(
        manager_of(&w.target_user("ria@example.com").unwrap()),
        id("lead@example.com")
    );
    assert_eq!(
        manager_of(&w.target_user("lead@example.com").unwrap()),
        id("boss@example.com")
    );
    assert!(
        block(engine.pending_references(&ObjectType::USER))
            .unwrap()
            .is_empty()
    );
}

/// FNV-1a 64, as the engine's fingerprints (`hash.rs`).
fn fnv(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
fn reports_held_back_for_their_managers_keep_the_fingerprints_of_their_objects() {
    // Held back as their JSON text, their fingerprints are taken from the text: each link
    // holds the fingerprint of the object as the source returns it (the configuration's hash,
    // then the object's compact JSON), as for an object not held back.
    use connectors::state::StateStoreExt;
    use connectors::{JobId, SourceConnector, SourceId};
    let w = World::new();
    let ria = w.hire("ria@example.com", "Engineering");
    let lead = w.hire("lead@example.com", "Engineering");
    let boss = w.hire("boss@example.com", "Engineering");
    w.set_manager(&ria, &lead, "Lead");
    w.set_manager(&lead, &boss, "Boss");
    let engine = w.engine(user_job(json!({"pageSize": 1})));
    let out = w.run(&engine);
    assert_eq!(
        actions(&out),
        ["Create/Success", "Create/Success", "Create/Success"],
        "ria and lead held back (no second PATCH): {:?}",
        out.log
    );
    for id in [&ria, &lead, &boss] {
        let id = SourceId::new(id.as_str());
        let object = block(SourceConnector::get(&*w.hr, &ObjectType::USER, &id))
            .unwrap()
            .unwrap();
        let text = serde_json::to_vec(&object).unwrap();
        let link = block(
            w.state
                .link_by_source(&JobId::new("job"), &ObjectType::USER, &id),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            link.source_fingerprint,
            Some(fnv(&[engine.config_hash().as_bytes(), &text])),
            "{id}"
        );
    }
    // And a full cycle afterwards (no reconciliation: it trusts the fingerprints) finds
    // them unchanged.
    let full = block(
        engine.run_cycle(&sync_engine::RunOptions::new().reset(sync_engine::ResetScope::Watermark)),
    )
    .unwrap();
    assert!(full.log.is_empty(), "{:?}", full.log);
}

#[test]
fn a_manager_linked_in_a_later_delta_cycle_is_written_then() {
    let w = World::new();
    let ria = w.hire("ria@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    // The manager is hired later, and in the same delta the report points at them; the report
    // is processed first (its change comes first), so its reference waits a moment.
    let boss = w.hire("boss@example.com", "Contractors");
    w.set(
        &ObjectType::USER,
        &ria,
        &format!("{ENT}:manager"),
        json!({"value": boss}),
    );
    w.set(
        &ObjectType::USER,
        &boss,
        &format!("{ENT}:department"),
        json!("Engineering"),
    );
    let out = w.run(&engine);
    let boss_target = w.target_user("boss@example.com").unwrap();
    assert_eq!(
        manager_of(&w.target_user("ria@example.com").unwrap()).as_deref(),
        boss_target.id()
    );
    assert!(
        block(engine.pending_references(&ObjectType::USER))
            .unwrap()
            .is_empty()
    );
    assert!(out.log.iter().any(|e| {
        e.provisioning_steps
            .iter()
            .any(|s| s.provisioning_step_type == sync_engine::StepType::ReferenceResolution)
    }));
}

#[test]
fn a_manager_out_of_scope_is_reported_and_resolved_when_it_comes_into_scope() {
    let w = World::new();
    let boss_id = w.hire("boss@example.com", "Contractors");
    let ria_id = w.hire("ria@example.com", "Engineering");
    w.set(
        &ObjectType::USER,
        &ria_id,
        &format!("{ENT}:manager"),
        json!({"value": boss_id}),
    );
    let engine = w.engine(user_job(json!({})));
    let out = w.run(&engine);
    let warning = out
        .log
        .iter()
        .find(|e| e.status == sync_engine::Status::Warning)
        .expect("a warning on the user");
    assert_eq!(warning.source_identity.id, ria_id);
    assert!(
        warning.provisioning_steps[0]
            .description
            .contains("out of scope"),
        "{:?}",
        warning.provisioning_steps
    );
    assert_eq!(manager_of(&w.target_user("ria@example.com").unwrap()), None);
    assert_eq!(
        block(engine.pending_references(&ObjectType::USER))
            .unwrap()
            .len(),
        1
    );

    // Days later the manager comes into scope: the waiting reference is written.
    w.set(
        &ObjectType::USER,
        &boss_id,
        &format!("{ENT}:department"),
        json!("Engineering"),
    );
    w.run(&engine);
    let boss = w.target_user("boss@example.com").unwrap();
    assert_eq!(
        manager_of(&w.target_user("ria@example.com").unwrap()).as_deref(),
        boss.id()
    );
    assert!(
        block(engine.pending_references(&ObjectType::USER))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn group_members_flow_as_additions_and_removals() {
    let w = World::new();
    let ids: Vec<String> = (0..50)
        .map(|i| w.hire(&format!("u{i}@example.com"), "Engineering"))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let g = w.add_group("Engineers", &refs[..40]);
    let target = Arc::new(Recording::new(w.target.clone()));
    let engine = w.engine_with(
        user_and_group_job(json!({})),
        w.hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    let first = w.run(&engine);
    assert_eq!(first.summary.created, 51);
    let members = |w: &World| {
        w.target_group("Engineers")
            .unwrap()
            .get("members")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(members(&w), 40);

    // One member added and one removed at the source: one PATCH with two operations.
    let add = scim_model::patch::PatchOp::new().add(
        scim_model::AttributePath::new("members"),
        json!([{"value": ids[45]}]),
    );
    block(connectors::TargetConnector::patch(
        &*w.hr,
        &ObjectType::GROUP,
        &g.as_str().into(),
        &add,
        None,
    ))
    .unwrap();
    w.remove_member(&g, &ids[0]);
    target.log().clear();
    let out = w.run(&engine);
    assert_eq!(sync_engine_actions(&out), ["Update/Success"]);
    let patches: Vec<String> = target
        .calls()
        .iter()
        .filter(|c| c.operation == "patch")
        .map(ToString::to_string)
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(members(&w), 40);
    assert_eq!(
        target.log().count("get"),
        0,
        "a member delta does not read the group: {:?}",
        target.calls()
    );
}

fn sync_engine_actions(r: &sync_engine::CycleReport) -> Vec<String> {
    actions(r)
}

#[test]
fn a_member_not_yet_provisioned_waits_and_is_added_when_it_is() {
    let w = World::new();
    let inside = w.hire("in@example.com", "Engineering");
    let outside = w.hire("out@example.com", "Contractors");
    w.add_group("Mixed", &[&inside, &outside]);
    let engine = w.engine(user_and_group_job(json!({})));
    let out = w.run(&engine);
    let group = w.target_group("Mixed").unwrap();
    assert_eq!(
        group.get("members").and_then(Value::as_array).map(Vec::len),
        Some(1)
    );
    assert!(
        out.log
            .iter()
            .any(|e| e.status == sync_engine::Status::Warning)
    );
    let pending = block(engine.pending_references(&ObjectType::GROUP)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].referenced, vec![outside.as_str().into()]);

    w.set(
        &ObjectType::USER,
        &outside,
        &format!("{ENT}:department"),
        json!("Engineering"),
    );
    w.run(&engine);
    let group = w.target_group("Mixed").unwrap();
    assert_eq!(
        group.get("members").and_then(Value::as_array).map(Vec::len),
        Some(2)
    );
    assert!(
        block(engine.pending_references(&ObjectType::GROUP))
            .unwrap()
            .is_empty()
    );
    let _ = MemoryStateStore::new();
}

#[test]
fn the_sources_manager_display_name_is_not_sent() {
    let w = World::new();
    let boss = w.hire("boss@example.com", "Engineering");
    let ria = w.hire("ria@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    w.set_manager(&ria, &boss, "The Boss");
    let out = w.run(&engine);
    assert_eq!(actions(&out), ["Update/Success"], "{:?}", out.log);
    let boss_target = w.target_user("boss@example.com").unwrap();
    assert_eq!(
        manager_of(&w.target_user("ria@example.com").unwrap()).as_deref(),
        boss_target.id()
    );
}

#[test]
fn waiting_references_cost_a_delta_cycle_nothing_until_their_object_appears() {
    // The state reads of a one-change delta cycle do not grow with the number of
    // references waiting for objects that are out of scope.
    let reads = |waiting: usize| {
        let w = World::new();
        let boss = w.hire("boss@example.com", "Contractors");
        for i in 0..waiting {
            let id = w.hire(&format!("u{i}@example.com"), "Engineering");
            w.set(
                &ObjectType::USER,
                &id,
                &format!("{ENT}:manager"),
                json!({"value": boss}),
            );
        }
        let other = w.hire("other@example.com", "Engineering");
        let state = Arc::new(connectors::testing::Recording::new(w.state.clone()));
        let engine = w.engine_with(
            user_job(json!({})),
            w.hr.clone(),
            w.target.clone(),
            state.clone(),
        );
        w.run(&engine);
        assert_eq!(
            block(engine.pending_references(&ObjectType::USER))
                .unwrap()
                .len(),
            waiting
        );
        w.set(&ObjectType::USER, &other, "displayName", json!("changed"));
        state.log().clear();
        let out = w.run(&engine);
        assert_eq!(actions(&out), ["Update/Success"]);
        state.log().len()
    };
    assert_eq!(reads(10), reads(60));
}

#[test]
fn an_update_looks_for_a_waiting_reference_only_while_one_may_be_stored() {
    // Reading a pending reference per updated object costs a state read each; a job with
    // none stored skips them, and one with a reference waiting still finds it and keeps it.
    let pending_reads = |boss_department: &str| {
        let w = World::new();
        let boss = w.hire("boss@example.com", boss_department);
        let ria = w.hire("ria@example.com", "Engineering");
        w.set(
            &ObjectType::USER,
            &ria,
            &format!("{ENT}:manager"),
            json!({"value": boss}),
        );
        let state = Arc::new(connectors::testing::Recording::new(w.state.clone()));
        let engine = w.engine_with(
            user_job(json!({})),
            w.hr.clone(),
            w.target.clone(),
            state.clone(),
        );
        w.run(&engine);
        let waiting = |engine: &sync_engine::SyncEngine| {
            block(engine.pending_references(&ObjectType::USER))
                .unwrap()
                .len()
        };
        let before = waiting(&engine);
        w.set(&ObjectType::USER, &ria, "displayName", json!("Ria"));
        state.log().clear();
        let out = w.run(&engine);
        assert_eq!(actions(&out), ["Update/Success"]);
        assert_eq!(waiting(&engine), before, "the waiting reference is kept");
        let reads = state
            .log()
            .calls()
            .iter()
            .filter(|c| {
                c.operation == "get"
                    && c.key
                        .as_deref()
                        .is_some_and(|k| k.starts_with("pending_references/"))
            })
            .count();
        (before, reads)
    };
    // The manager in scope and linked: nothing waits, nothing is looked for.
    assert_eq!(pending_reads("Engineering"), (0, 0));
    // The manager out of scope: ria's reference waits, and her update reads it.
    let (waiting, reads) = pending_reads("Contractors");
    assert_eq!(waiting, 1);
    assert!(reads > 0);
}

#[test]
fn a_group_whose_last_member_left_has_none_in_the_target_after_a_full_cycle() {
    // SCIM leaves an empty `members` out of the group; a full cycle compares the whole group,
    // and no `members` at all means none, not "unknown".
    let w = World::new();
    let p = w.hire("p@example.com", "Engineering");
    let g = w.add_group("Team", &[p.as_str()]);
    let engine = w.engine(user_and_group_job(json!({})));
    w.run(&engine);
    let members = |r: &scim_model::Resource| {
        r.get("members")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    assert_eq!(members(&w.target_group("Team").unwrap()), 1);
    w.patch_group(&g, json!([{"op": "remove", "path": "members"}]));
    assert!(
        w.hr.resource(&ObjectType::GROUP, &g)
            .unwrap()
            .get("members")
            .is_none()
    );
    let out = block(
        engine.run_cycle(&sync_engine::RunOptions::new().reset(sync_engine::ResetScope::Watermark)),
    )
    .unwrap();
    assert_eq!(actions(&out), ["Update/Success"], "{:?}", out.log);
    assert_eq!(members(&w.target_group("Team").unwrap()), 0);
}
