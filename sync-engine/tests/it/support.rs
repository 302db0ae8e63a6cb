//! A small world for the tests: an HR directory (the source), a target directory, a state
//! store and a fake clock, with helpers to change people and read the target.

use std::sync::Arc;

use connectors::{
    FakeClock, JobId, MemoryDirectory, MemoryStateStore, ObjectType, SourceConnector, StateStore,
    TargetConnector,
};
use scim_model::Resource;
use serde_json::{Value, json};
use sync_engine::{CycleReport, Job, RunOptions, SyncEngine};

pub(crate) const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub(crate) fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// A [`connectors::Clock`] whose `sleep` gives way to the task's other futures once per
/// nanosecond of the delay (and takes no time): wrapped around a state store with
/// [`connectors::testing::Latency`], it makes every call pending for a while, as a store that
/// writes on another thread or over the network is, so that the engine's other work runs
/// between a commit's start and its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GiveWay;

impl connectors::Clock for GiveWay {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::MIN_UTC // not read: Latency only sleeps on it
    }

    fn sleep(&self, duration: std::time::Duration) -> futures::future::BoxFuture<'static, ()> {
        let mut left = duration.as_nanos();
        Box::pin(futures::future::poll_fn(move |cx| {
            if left == 0 {
                return std::task::Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }))
    }
}

/// The standard job: users whose department is not "Contractors" flow, matched on userName.
pub(crate) fn user_job(extra: Value) -> Job {
    let mut job = json!({"objectMappings": [{
    "sourceObjectName": "User", "targetObjectName": "User",
    "scope": [[{"sourceAttribute": format!("{ENT}:department"), "operator": "NOT EQUALS", "value": "Contractors"}]],
    "attributeMappings": [
        {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
        {"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}},
        {"targetAttribute": "active", "source": {"type": "Direct", "path": "active"}},
        {"targetAttribute": format!("{ENT}:department"), "source": {"type": "Direct", "path": format!("{ENT}:department")}},
        {"targetAttribute": format!("{ENT}:manager"), "source": {"type": "Direct", "path": format!("{ENT}:manager")}}
    ]}]});
    merge(&mut job, extra);
    serde_json::from_value(job).unwrap()
}

/// The standard job plus groups (matched on displayName, members flowing).
pub(crate) fn user_and_group_job(extra: Value) -> Job {
    let mut job = serde_json::to_value(user_job(json!({}))).unwrap();
    job["objectMappings"].as_array_mut().unwrap().push(json!({
        "sourceObjectName": "Group", "targetObjectName": "Group",
        "attributeMappings": [
            {"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}, "matchingPriority": 1},
            {"targetAttribute": "members", "source": {"type": "Direct", "path": "members"}}
        ]}));
    merge(&mut job, extra);
    serde_json::from_value(job).unwrap()
}

fn merge(job: &mut Value, extra: Value) {
    if let (Some(job), Value::Object(extra)) = (job.as_object_mut(), extra) {
        for (k, v) in extra {
            job.insert(k, v);
        }
    }
}

pub(crate) fn user(user_name: &str, department: &str) -> Resource {
    let mut r = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "userName": user_name,
        "displayName": user_name.split('@').next().unwrap_or(user_name),
        "active": true,
        ENT: {"department": department}
    }))
    .unwrap();
    r.add_schema(ENT);
    r
}

pub(crate) fn group(name: &str, members: &[&str]) -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
    }))
    .unwrap()
}

#[derive(Debug)]
pub(crate) struct World {
    pub(crate) hr: Arc<MemoryDirectory>,
    pub(crate) target: Arc<MemoryDirectory>,
    pub(crate) state: MemoryStateStore,
    pub(crate) clock: FakeClock,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub(crate) fn new() -> Self {
        World {
            // A source holds what HR sends, read-only sub-attributes included.
            hr: Arc::new(MemoryDirectory::builder().validate(false).build()),
            target: Arc::new(MemoryDirectory::new()),
            state: MemoryStateStore::new(),
            clock: FakeClock::at("2026-03-02T09:00:00Z".parse().unwrap()),
        }
    }

    pub(crate) fn engine(&self, job: Job) -> SyncEngine {
        self.engine_with(
            job,
            self.hr.clone(),
            self.target.clone(),
            Arc::new(self.state.clone()),
        )
    }

    pub(crate) fn engine_with(
        &self,
        job: Job,
        source: Arc<dyn SourceConnector>,
        target: Arc<dyn TargetConnector>,
        state: Arc<dyn StateStore>,
    ) -> SyncEngine {
        SyncEngine::new(JobId::new("job"), job, source, target, state)
            .unwrap()
            .with_clock(Arc::new(self.clock.clone()))
            .with_holder("test")
    }

    /// Adds a person to HR; returns their HR id.
    pub(crate) fn hire(&self, user_name: &str, department: &str) -> String {
        block(
            self.hr
                .create(&ObjectType::USER, &user(user_name, department), None),
        )
        .unwrap()
        .id
        .to_string()
    }

    pub(crate) fn add_group(&self, name: &str, members: &[&str]) -> String {
        block(
            self.hr
                .create(&ObjectType::GROUP, &group(name, members), None),
        )
        .unwrap()
        .id
        .to_string()
    }

    /// Changes one attribute of an HR object by PATCH replace.
    pub(crate) fn set(&self, ty: &ObjectType, id: &str, path: &str, value: Value) {
        let patch = scim_model::patch::PatchOp::new()
            .replace(scim_model::AttributePath::parse(path).unwrap(), value);
        block(self.hr.patch(ty, &id.into(), &patch, None)).unwrap();
    }

    /// Sets a person's manager as HR sends it (with the manager's display name), replacing
    /// the whole record.
    pub(crate) fn set_manager(&self, id: &str, manager: &str, display: &str) {
        set_manager_in(&self.hr, id, manager, display);
    }

    /// Applies PATCH `operations` (SCIM's `Operations` array) to an HR group.
    pub(crate) fn patch_group(&self, id: &str, operations: Value) {
        let patch = scim_model::patch::PatchOp::from_value(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations
        }))
        .unwrap();
        block(self.hr.patch(&ObjectType::GROUP, &id.into(), &patch, None)).unwrap();
    }

    /// Removes one member from an HR group, as a directory sends it.
    pub(crate) fn remove_member(&self, group: &str, member: &str) {
        self.patch_group(
            group,
            json!([{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]),
        );
    }

    pub(crate) fn fire(&self, id: &str) {
        block(self.hr.delete(&ObjectType::USER, &id.into(), None)).unwrap();
    }

    pub(crate) fn run(&self, engine: &SyncEngine) -> CycleReport {
        block(engine.run_cycle(&RunOptions::new())).unwrap()
    }

    /// The target's users by userName.
    pub(crate) fn target_user(&self, user_name: &str) -> Option<Resource> {
        self.target
            .snapshot(&ObjectType::USER)
            .into_iter()
            .find(|r| r.get("userName").and_then(Value::as_str) == Some(user_name))
    }

    pub(crate) fn target_group(&self, name: &str) -> Option<Resource> {
        self.target
            .snapshot(&ObjectType::GROUP)
            .into_iter()
            .find(|r| r.get("displayName").and_then(Value::as_str) == Some(name))
    }
}

pub(crate) fn department(r: &Resource) -> Option<String> {
    r.attribute(Some(ENT), "department")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub(crate) fn active(r: &Resource) -> Option<bool> {
    r.get("active").and_then(Value::as_bool)
}

/// The log's actions and statuses as `Action/Status` strings, sorted.
pub(crate) fn actions(report: &CycleReport) -> Vec<String> {
    let mut v: Vec<String> = report
        .log
        .iter()
        .map(|e| format!("{:?}/{:?}", e.action, e.status))
        .collect();
    v.sort();
    v
}

/// Sets a person's manager in an HR directory by replacing the record.
pub(crate) fn set_manager_in(hr: &MemoryDirectory, id: &str, manager: &str, display: &str) {
    let mut r = hr.resource(&ObjectType::USER, id).unwrap();
    r.extension_mut(ENT).insert(
        "manager".to_owned(),
        json!({"value": manager, "displayName": display}),
    );
    block(hr.replace(&ObjectType::USER, &id.into(), &r, None)).unwrap();
}
