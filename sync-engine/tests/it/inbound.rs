//! API-driven inbound provisioning end to end: BulkRequests accepted by an `InboundQueue`, read
//! by the engine as a delta source, provisioned into a MemoryDirectory. Full and partial
//! records, Entra's default rule (an omitted attribute does not clear the target), a leaver
//! sent with `active: false`, the receipt leading to the provisioning log, and a restart on a
//! durable store.

use std::sync::Arc;

use connectors::inbound::InboundQueue;
use connectors::state::StateStoreExt;
use connectors::{
    JobId, MemoryStateStore, ObjectType, Receipt, RedbStateStore, StateStore, Watermark,
};
use serde_json::{Value, json};
use sync_engine::{Action, CycleKind, Job, Status};

use crate::support::*;

const SCIM: &str = "application/scim+json";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Workers matched on userName; `title` flows null values (Entra's "flow null values"), so
/// only the queue's merge keeps it when a partial record omits it.
fn inbound_job() -> Job {
    serde_json::from_value(json!({"objectMappings": [{
        "sourceObjectName": "User", "targetObjectName": "User",
        "attributeMappings": [
            {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
            {"targetAttribute": "externalId", "source": {"type": "Direct", "path": "externalId"}},
            {"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}},
            {"targetAttribute": "title", "source": {"type": "Direct", "path": "title"}, "flowNullValues": true},
            {"targetAttribute": "active", "source": {"type": "Direct", "path": "active"}},
            {"targetAttribute": format!("{ENT}:department"), "source": {"type": "Direct", "path": format!("{ENT}:department")}}
        ]}]}))
    .unwrap()
}

fn request(records: &[Value]) -> String {
    let ops: Vec<Value> = records
        .iter()
        .map(|data| {
            json!({"method": "POST", "path": "/Users", "bulkId": data["externalId"], "data": data})
        })
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
           "failOnErrors": null, "Operations": ops})
    .to_string()
}

/// A whole worker record.
fn worker(id: &str, name: &str, title: &str, department: &str) -> Value {
    json!({"schemas": [CORE, ENT], "externalId": id, "userName": format!("{name}@contoso.com"),
           "displayName": name, "title": title, "active": true,
           ENT: {"department": department, "employeeNumber": id}})
}

/// A record holding only some attributes.
fn partial(id: &str, fields: Value) -> Value {
    let mut data = json!({"schemas": [CORE, ENT], "externalId": id});
    for (k, v) in fields.as_object().unwrap() {
        data[k] = v.clone();
    }
    data
}

fn accept(queue: &InboundQueue, records: &[Value]) -> Receipt {
    block(queue.accept(request(records), Some(SCIM))).unwrap()
}

fn title(world: &World, user_name: &str) -> Option<Value> {
    world.target_user(user_name).unwrap().get("title").cloned()
}

#[test]
fn a_partial_record_changes_only_what_it_holds() {
    let world = World::new();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    let queue = InboundQueue::new(store.clone(), "hr");
    let engine = world.engine_with(
        inbound_job(),
        Arc::new(queue.clone()),
        world.target.clone(),
        store,
    );
    let first = accept(
        &queue,
        &[
            worker("701001", "ines", "Engineer", "Engineering"),
            worker("701002", "kofi", "Analyst", "Finance"),
        ],
    );
    let r1 = world.run(&engine);
    assert_eq!(r1.cycle.kind, CycleKind::Initial);
    assert_eq!(r1.summary.created, 2);

    // Only the department changes: the record holds nothing else.
    let second = accept(
        &queue,
        &[partial("701001", json!({ENT: {"department": "Research"}}))],
    );
    let r2 = world.run(&engine);
    assert_eq!(r2.cycle.kind, CycleKind::Delta);
    assert_eq!(actions(&r2), ["Update/Success"]);
    let changed: Vec<&str> = r2.log[0]
        .modified_properties
        .iter()
        .map(|p| p.display_name.as_str())
        .collect();
    assert_eq!(changed, [format!("{ENT}:department").as_str()]);
    let ines = world.target_user("ines@contoso.com").unwrap();
    assert_eq!(department(&ines).as_deref(), Some("Research"));
    assert_eq!(ines.get("title"), Some(&json!("Engineer")));
    assert_eq!(ines.get("displayName"), Some(&json!("ines")));
    assert_eq!(active(&ines), Some(true));
    // The other worker, absent from the request, is untouched (absence is not deletion).
    let kofi = world.target_user("kofi@contoso.com").unwrap();
    assert_eq!(department(&kofi).as_deref(), Some("Finance"));
    assert_eq!(active(&kofi), Some(true));

    // An explicit null clears (the title mapping flows null values).
    accept(&queue, &[partial("701001", json!({"title": null}))]);
    let r3 = world.run(&engine);
    assert_eq!(actions(&r3), ["Update/Success"]);
    assert_eq!(title(&world, "ines@contoso.com"), None);
    assert_eq!(title(&world, "kofi@contoso.com"), Some(json!("Analyst")));

    // The receipts lead to each record's provisioning log.
    let id = &first.records[0].source_id;
    assert_eq!(second.records[0].source_id, *id);
    let log = block(engine.log_of_object(&first.records[0].object_type, id)).unwrap();
    let steps: Vec<(Action, Status)> = log.iter().map(|e| (e.action, e.status)).collect();
    assert_eq!(
        steps,
        [
            (Action::Create, Status::Success),
            (Action::Update, Status::Success),
            (Action::Update, Status::Success)
        ]
    );
    assert!(log.iter().all(|e| e.source_identity.id == id.as_str()));
}

#[test]
fn a_leaver_sent_with_active_false_is_disabled() {
    let world = World::new();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    let queue = InboundQueue::new(store.clone(), "hr");
    let engine = world.engine_with(
        inbound_job(),
        Arc::new(queue.clone()),
        world.target.clone(),
        store,
    );
    accept(
        &queue,
        &[
            worker("701001", "ines", "Engineer", "Engineering"),
            worker("701002", "kofi", "Analyst", "Finance"),
        ],
    );
    world.run(&engine);
    accept(&queue, &[partial("701002", json!({"active": false}))]);
    let report = world.run(&engine);
    assert_eq!(report.summary.created, 0);
    // `active` is mapped (as Entra's API-driven apps map `active` to `accountEnabled`): the
    // update that turns the account off is a disable, counted against the deletion threshold.
    assert_eq!(actions(&report), ["Disable/Success"]);
    assert_eq!(report.summary.disabled, 1);
    assert_eq!(report.log[0].source_identity.id, "701002");
    let changed: Vec<(&str, Option<&str>, Option<&str>)> = report.log[0]
        .modified_properties
        .iter()
        .map(|p| {
            (
                p.display_name.as_str(),
                p.old_value.as_deref(),
                p.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(changed, [("active", Some("true"), Some("false"))]);
    let kofi = world.target_user("kofi@contoso.com").unwrap();
    assert_eq!(active(&kofi), Some(false));
    // Disabled, not deleted, and still holding what the leaver record did not send.
    assert_eq!(kofi.get("title"), Some(&json!("Analyst")));
    assert_eq!(department(&kofi).as_deref(), Some("Finance"));
    assert_eq!(
        active(&world.target_user("ines@contoso.com").unwrap()),
        Some(true)
    );
    // A rehire: active again, through the same target object.
    accept(&queue, &[partial("701002", json!({"active": true}))]);
    let report = world.run(&engine);
    assert_eq!(report.summary.created, 0);
    assert_eq!(
        active(&world.target_user("kofi@contoso.com").unwrap()),
        Some(true)
    );
    assert_eq!(world.target.snapshot(&ObjectType::USER).len(), 2);
}

#[test]
fn a_restart_on_a_durable_store_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let world = World::new();
    let (first, pending) = {
        let store: Arc<dyn StateStore> = Arc::new(RedbStateStore::open(&path).unwrap());
        let queue = InboundQueue::new(store.clone(), "hr");
        let engine = world.engine_with(
            inbound_job(),
            Arc::new(queue.clone()),
            world.target.clone(),
            store,
        );
        let first = accept(
            &queue,
            &[
                worker("701001", "ines", "Engineer", "Engineering"),
                worker("701002", "kofi", "Analyst", "Finance"),
            ],
        );
        world.run(&engine);
        // Accepted, then the process stops before the next cycle.
        let pending = accept(
            &queue,
            &[
                worker("701003", "amara", "Designer", "Product"),
                partial("701001", json!({ENT: {"department": "Research"}})),
            ],
        );
        (first, pending)
    };

    let store: Arc<dyn StateStore> = Arc::new(RedbStateStore::open(&path).unwrap());
    let queue = InboundQueue::new(store.clone(), "hr");
    assert_eq!(block(queue.receipt(&first.id)).unwrap(), Some(first));
    assert_eq!(
        block(queue.receipt(&pending.id)).unwrap(),
        Some(pending.clone())
    );
    let engine = world.engine_with(
        inbound_job(),
        Arc::new(queue.clone()),
        world.target.clone(),
        store.clone(),
    );
    let report = world.run(&engine);
    assert_eq!(report.cycle.kind, CycleKind::Delta);
    assert_eq!(actions(&report), ["Create/Success", "Update/Success"]);
    assert_eq!(world.target.snapshot(&ObjectType::USER).len(), 3);
    let ines = world.target_user("ines@contoso.com").unwrap();
    assert_eq!(department(&ines).as_deref(), Some("Research"));
    assert_eq!(ines.get("title"), Some(&json!("Engineer")));
    assert!(world.target_user("amara@contoso.com").is_some());

    // The engine's committed watermark covers the pending request; the host compacts up to it.
    let committed = block(store.watermark(&JobId::new("job"), &ObjectType::USER))
        .unwrap()
        .unwrap()
        .watermark;
    assert_eq!(committed, Watermark::from_u64(4));
    assert!(pending.is_read_by(&committed));
    assert_eq!(block(queue.compact(&committed)).unwrap(), 4);
    // Nothing to do afterwards; and a new record still flows.
    assert!(world.run(&engine).log.is_empty());
    accept(
        &queue,
        &[partial("701003", json!({"title": "Lead Designer"}))],
    );
    let report = world.run(&engine);
    assert_eq!(actions(&report), ["Update/Success"]);
    assert_eq!(
        title(&world, "amara@contoso.com"),
        Some(json!("Lead Designer"))
    );
}
