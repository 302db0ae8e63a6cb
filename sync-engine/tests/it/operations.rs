//! Preview, provisioning on demand, reconciliation, restarts, redaction.

use connectors::{ObjectType, TargetConnector};
use serde_json::{Value, json};
use sync_engine::{Action, ResetScope, RunOptions, Status};

use crate::support::*;

#[test]
fn preview_computes_the_actions_and_writes_nothing() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Contractors");
    let engine = w.engine(user_job(json!({})));
    let preview = block(engine.run_cycle(&RunOptions::new().preview())).unwrap();
    assert!(preview.preview);
    assert_eq!(preview.summary.created, 1);
    assert_eq!(preview.summary.skipped, 1);
    assert_eq!(w.target.len(&ObjectType::USER), 0, "nothing exported");
    let create = preview
        .log
        .iter()
        .find(|e| e.action == Action::Create)
        .unwrap();
    assert_eq!(create.status, Status::Skipped);
    assert!(!create.modified_properties.is_empty());
    // The state is untouched: the real first cycle is still the initial one.
    let real = w.run(&engine);
    assert_eq!(real.cycle.kind, sync_engine::CycleKind::Initial);
    assert_eq!(real.summary.created, 1);
    assert_eq!(serde_json::to_value(&real).unwrap().get("preview"), None);
}

#[test]
fn provision_on_demand_runs_one_object_through_the_same_path() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    w.hire("bob@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    let log = block(engine.provision_on_demand(&ObjectType::USER, &ada.as_str().into())).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, Action::Create);
    assert_eq!(log[0].status, Status::Success);
    let types: Vec<_> = log[0]
        .provisioning_steps
        .iter()
        .map(|s| s.provisioning_step_type)
        .collect();
    use sync_engine::StepType::*;
    assert_eq!(types, [Import, Scoping, Matching, Processing, Export]);
    assert_eq!(w.target.len(&ObjectType::USER), 1, "only that object");
    // The next cycle does not create it again.
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 1);
    assert_eq!(w.target.len(&ObjectType::USER), 2);
}

#[test]
fn provision_on_demand_applies_a_disable_at_once() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({"deletionThreshold": 0})));
    w.run(&engine);
    w.set(
        &ObjectType::USER,
        &ada,
        &format!("{ENT}:department"),
        json!("Contractors"),
    );
    let log = block(engine.provision_on_demand(&ObjectType::USER, &ada.as_str().into())).unwrap();
    assert_eq!(
        log.iter().map(|e| e.action).collect::<Vec<_>>(),
        [Action::Disable]
    );
    assert_eq!(
        active(&w.target_user("ada@example.com").unwrap()),
        Some(false)
    );
}

#[test]
fn reconciliation_corrects_drift_on_full_cycles() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({"reconcile": true})));
    w.run(&engine);
    // Someone edits the target by hand.
    let ada = w.target_user("ada@example.com").unwrap();
    let p = scim_model::patch::PatchOp::new().replace(
        scim_model::AttributePath::new("displayName"),
        json!("hand-edited"),
    );
    block(
        w.target
            .patch(&ObjectType::USER, &ada.id().unwrap().into(), &p, None),
    )
    .unwrap();
    // A delta cycle does not look at the target (the source did not change).
    assert!(w.run(&engine).log.is_empty());
    let full = block(engine.run_cycle(&RunOptions::new().reset(ResetScope::Watermark))).unwrap();
    assert_eq!(full.summary.reconciled, 1);
    assert_eq!(full.summary.updated, 1);
    assert!(full.log[0].reconciled);
    assert_eq!(
        w.target_user("ada@example.com").unwrap().get("displayName"),
        Some(&json!("ada"))
    );
}

#[test]
fn restart_full_forgets_links_and_matches_again_without_duplicates() {
    let w = World::new();
    w.hire("ada@example.com", "Engineering");
    let engine = w.engine(user_job(json!({})));
    w.run(&engine);
    let out = block(engine.run_cycle(&RunOptions::new().reset(ResetScope::Full))).unwrap();
    assert_eq!(out.summary.created, 0);
    assert_eq!(
        actions(&out),
        ["Other/Success"],
        "matched and linked again: {:?}",
        out.log
    );
    assert_eq!(w.target.len(&ObjectType::USER), 1);
}

#[test]
fn redacted_values_never_reach_the_log() {
    let w = World::new();
    let ada = w.hire("ada@example.com", "Engineering");
    let mut job = user_job(json!({}));
    let mut mappings: Vec<Value> = serde_json::from_value(
        serde_json::to_value(&job.object_mappings[0].attribute_mappings).unwrap(),
    )
    .unwrap();
    mappings.push(json!({"targetAttribute": "nickName", "source": {"type": "Expression", "expression": "Redact([displayName])"}}));
    job.object_mappings[0].attribute_mappings =
        serde_json::from_value(Value::Array(mappings)).unwrap();
    let engine = w.engine(job);
    let out = w.run(&engine);
    let text = serde_json::to_string(&out.log).unwrap();
    assert!(text.contains("[Redact]"), "{text}");
    let nick = out.log[0]
        .modified_properties
        .iter()
        .find(|p| p.display_name == "nickName")
        .unwrap();
    assert_eq!(nick.new_value.as_deref(), Some("[Redact]"));
    // The target has the real value.
    assert_eq!(
        w.target_user("ada@example.com").unwrap().get("nickName"),
        Some(&json!("ada"))
    );
    w.set(&ObjectType::USER, &ada, "displayName", json!("secret-name"));
    let out = w.run(&engine);
    let text = serde_json::to_string(&out.log).unwrap();
    assert!(
        !text.contains("secret-name") || !text.contains("nickName\",\"oldValue\":\"secret"),
        "{text}"
    );
    let nick = out.log[0]
        .modified_properties
        .iter()
        .find(|p| p.display_name == "nickName")
        .unwrap();
    assert_eq!(nick.new_value.as_deref(), Some("[Redact]"));
    assert_eq!(nick.old_value.as_deref(), Some("[Redact]"));
}
