//! A small company for the tests: a directory, a state store, a fake clock and an email
//! recorder, with helpers to write workflows and people.

use std::sync::Arc;

use connectors::{Clock, FakeClock, JobId, MemoryDirectory, MemoryStateStore, ObjectType};
use lifecycle::tasks::RecordingSender;
use lifecycle::{Limits, RunReport, Runner, RunnerBuilder, WorkflowSet};
use scim_model::Resource;
use serde_json::{Value, json};

pub(crate) const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const ODATA: &str = "#microsoft.graph.identityGovernance.";

pub(crate) fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// A workflow in Graph's shape: scheduled, with a time trigger and a rule scope.
pub(crate) fn time_workflow(
    name: &str,
    category: &str,
    attribute: &str,
    offset: i32,
    rule: &str,
    tasks: Value,
) -> Value {
    json!({
        "id": name, "displayName": name, "category": category,
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {
            "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
            "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": rule},
            "trigger": {"@odata.type": format!("{ODATA}timeBasedAttributeTrigger"),
                        "timeBasedAttribute": attribute, "offsetInDays": offset}},
        "tasks": tasks
    })
}

pub(crate) fn task(definition: &str, name: &str) -> Value {
    json!({"taskDefinitionId": definition, "displayName": name, "isEnabled": true, "continueOnError": false, "arguments": []})
}

pub(crate) fn task_args(definition: &str, name: &str, args: &[(&str, &str)]) -> Value {
    let mut t = task(definition, name);
    t["arguments"] = args
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    t
}

/// A person: id, display name, department, manager, language, hire and leave dates.
#[derive(Clone, Debug, Default)]
pub(crate) struct Person<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) department: &'a str,
    pub(crate) manager: Option<&'a str>,
    pub(crate) language: Option<&'a str>,
    pub(crate) hire: Option<&'a str>,
    pub(crate) leave: Option<&'a str>,
    pub(crate) mail: bool,
}

impl Person<'_> {
    pub(crate) fn resource(&self) -> Resource {
        let (given, family) = self.name.split_once(' ').unwrap_or((self.name, ""));
        let mut v = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": self.id,
            "userName": format!("{}@example.com", self.id),
            "displayName": self.name,
            "name": {"givenName": given, "familyName": family},
            "active": true,
            ENT: {"department": self.department}
        });
        if self.mail {
            v["emails"] = json!([{"value": format!("{}@example.com", self.id), "type": "work", "primary": true}]);
        }
        if let Some(m) = self.manager {
            v[ENT]["manager"] = json!({"value": m});
        }
        if let Some(l) = self.language {
            v["preferredLanguage"] = json!(l);
        }
        if let Some(h) = self.hire {
            v["employeeHireDate"] = json!(h);
        }
        if let Some(l) = self.leave {
            v["employeeLeaveDateTime"] = json!(l);
        }
        Resource::from_value(v).unwrap()
    }
}

pub(crate) fn person(id: &str) -> Person<'_> {
    Person {
        id,
        name: id,
        department: "Sales",
        mail: true,
        ..Person::default()
    }
}

/// The world: a directory with people and groups, a store, a clock, a mailbox.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) dir: Arc<MemoryDirectory>,
    pub(crate) store: MemoryStateStore,
    pub(crate) clock: FakeClock,
    pub(crate) mail: RecordingSender,
}

impl World {
    pub(crate) fn new(now: &str) -> Self {
        World {
            // Graph attributes such as employeeHireDate are not in the core schema.
            dir: Arc::new(MemoryDirectory::builder().validate(false).build()),
            store: MemoryStateStore::new(),
            clock: FakeClock::at(now.parse().unwrap()),
            mail: RecordingSender::new(),
        }
    }

    pub(crate) fn add(&self, people: &[Person<'_>]) {
        self.dir
            .load(&ObjectType::USER, people.iter().map(Person::resource))
            .unwrap();
    }

    pub(crate) fn add_group(&self, id: &str, members: &[&str]) {
        let g = Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": id, "displayName": id,
            "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()
        }))
        .unwrap();
        self.dir.load(&ObjectType::GROUP, [g]).unwrap();
    }

    pub(crate) fn builder(&self, workflows: Value) -> RunnerBuilder {
        let set = WorkflowSet::from_value(workflows, Limits::default()).unwrap();
        Runner::builder(
            JobId::new("lifecycle"),
            set,
            self.dir.clone(),
            Arc::new(self.store.clone()),
        )
        .clock(Arc::new(self.clock.clone()))
        .email_sender(Arc::new(self.mail.clone()))
    }

    pub(crate) fn runner(&self, workflows: Value) -> Runner {
        self.builder(workflows).build().unwrap()
    }

    pub(crate) fn run(&self, runner: &Runner) -> RunReport {
        block(runner.run_due(self.clock.now())).unwrap()
    }

    pub(crate) fn user(&self, id: &str) -> Resource {
        self.dir.resource(&ObjectType::USER, id).unwrap()
    }

    /// Sets a top-level attribute of a user.
    pub(crate) fn set(&self, id: &str, attr: &str, value: Value) {
        let mut u = self.user(id);
        u.set(attr, value);
        self.replace(id, &u);
    }

    /// Sets an enterprise extension attribute of a user.
    pub(crate) fn set_ent(&self, id: &str, attr: &str, value: Value) {
        let mut u = self.user(id);
        u.extension_mut(ENT).insert(attr.to_owned(), value);
        self.replace(id, &u);
    }

    fn replace(&self, id: &str, u: &Resource) {
        use connectors::TargetConnector;
        block(
            self.dir
                .replace(&ObjectType::USER, &connectors::TargetId::new(id), u, None),
        )
        .unwrap();
    }

    pub(crate) fn days(&self, n: i64) {
        self.clock.advance(std::time::Duration::from_secs(
            u64::try_from(n).unwrap() * 86_400,
        ));
    }

    pub(crate) fn members(&self, group: &str) -> Vec<String> {
        let g = self.dir.resource(&ObjectType::GROUP, group).unwrap();
        g.get("members")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .map(|e| e["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The status of each user result of each run: `(workflow, user, status)`.
pub(crate) fn outcomes(report: &RunReport) -> Vec<(String, String, String)> {
    report
        .runs
        .iter()
        .flat_map(|r| {
            r.user_processing_results.iter().map(|u| {
                (
                    r.run.workflow.id.clone(),
                    u.subject.id.clone(),
                    u.processing_status.as_str().to_owned(),
                )
            })
        })
        .collect()
}
