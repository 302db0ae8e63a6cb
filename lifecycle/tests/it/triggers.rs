//! Triggers, scope and scheduling: once per occurrence, the catch-up window, re-checks right
//! before processing, change and membership triggers, inactivity, on demand.

use std::sync::Arc;

use async_trait::async_trait;
use connectors::{
    CreateKey, JobId, MemoryDirectory, ObjectType, Query, QueryPage, TargetCapabilities,
    TargetConnector, TargetId, TargetObject, Version,
};
use lifecycle::tasks::definitions as d;
use lifecycle::{Error, Limits, Runner, WorkflowSet};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::{Value, json};

use crate::support::{ENT, ODATA, World, block, outcomes, person, task, time_workflow};

fn onboarding(rule: &str) -> Value {
    time_workflow(
        "onboard",
        "joiner",
        "employeeHireDate",
        0,
        rule,
        json!([task(d::ENABLE_ACCOUNT, "Enable user account")]),
    )
}

#[test]
fn a_user_is_processed_once_per_occurrence() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person("ada")
        },
        crate::support::Person {
            hire: Some("2026-03-10T08:00:00Z"),
            ..person("bob")
        },
    ]);
    let r = w.runner(onboarding("(department eq 'Sales')"));
    let first = w.run(&r);
    assert_eq!(
        outcomes(&first),
        [("onboard".into(), "ada".into(), "completed".into())]
    );
    // Later runs, the same day and the next, find nothing new for ada.
    assert!(w.run(&r).runs.is_empty());
    w.days(1);
    assert!(w.run(&r).runs.is_empty());
    // A new version with the same trigger does not fire again either.
    let mut wf = onboarding("(department eq 'Sales')");
    wf["tasks"] = json!([
        task(d::ENABLE_ACCOUNT, "Enable"),
        task(d::WELCOME_EMAIL, "Welcome")
    ]);
    let mut set = r.workflows().clone();
    let v = set.update(serde_json::from_value(wf).unwrap()).unwrap();
    assert_eq!(v, 2);
    let r2 = Runner::builder(
        JobId::new("lifecycle"),
        set,
        w.dir.clone(),
        Arc::new(w.store.clone()),
    )
    .clock(Arc::new(w.clock.clone()))
    .email_sender(Arc::new(w.mail.clone()))
    .build()
    .unwrap();
    assert!(w.run(&r2).runs.is_empty());
    // bob's hire date comes.
    w.days(8);
    let later = w.run(&r2);
    assert_eq!(outcomes(&later)[0].1, "bob");
    assert_eq!(later.runs[0].user_processing_results[0].workflow_version, 2);
}

#[test]
fn overlapping_runs_process_each_occurrence_once() {
    let w = World::new("2026-03-02T09:00:00Z");
    let people: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    let list: Vec<_> = people
        .iter()
        .map(|id| crate::support::Person {
            hire: Some("2026-03-01T08:00:00Z"),
            ..person(id)
        })
        .collect();
    w.add(&list);
    let a = w.runner(onboarding(""));
    let b = w.runner(onboarding(""));
    let now = connectors::Clock::now(&w.clock);
    let (ra, rb) = block(futures::future::join(a.run_due(now), b.run_due(now)));
    let mut all: Vec<String> = outcomes(&ra.unwrap())
        .into_iter()
        .chain(outcomes(&rb.unwrap()))
        .map(|(_, u, _)| u)
        .collect();
    all.sort();
    let mut want = people.clone();
    want.sort();
    assert_eq!(all, want, "every user exactly once");
}

#[test]
fn the_catch_up_window_is_three_days() {
    let w = World::new("2026-03-05T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-03-02T09:00:00Z"),
            ..person("three")
        },
        crate::support::Person {
            hire: Some("2026-03-02T08:59:59Z"),
            ..person("late")
        },
    ]);
    let r = w.runner(onboarding(""));
    let ids: Vec<String> = outcomes(&w.run(&r)).into_iter().map(|o| o.1).collect();
    assert_eq!(ids, ["three"]);
}

#[test]
fn malformed_dates_are_reported_and_the_others_processed() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-03-02"),
            ..person("bad")
        },
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00+01:00"),
            ..person("good")
        },
    ]);
    let r = w.runner(onboarding(""));
    let report = w.run(&r);
    assert_eq!(outcomes(&report)[0].1, "good");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].subject.id, "bad");
    assert!(
        report.errors[0]
            .message
            .contains("employeeHireDate \"2026-03-02\" is not an RFC 3339 dateTime"),
        "{}",
        report.errors[0].message
    );
    // Reported again next time: the data is still wrong.
    assert_eq!(w.run(&r).errors.len(), 1);
}

#[test]
fn scope_rules_and_filters_read_graph_names() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person("sales")
        },
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            department: "Marketing",
            ..person("mkt")
        },
    ]);
    let r = w.runner(onboarding(
        "(department eq 'Marketing') and (accountEnabled eq true)",
    ));
    let ids: Vec<String> = outcomes(&w.run(&r)).into_iter().map(|o| o.1).collect();
    assert_eq!(ids, ["mkt"]);

    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[crate::support::Person {
        hire: Some("2026-03-02T08:00:00Z"),
        ..person("sales")
    }]);
    let mut wf = onboarding("");
    wf["executionConditions"]["scope"] = json!({
        "@odata.type": format!("{ODATA}scopingFilterSubjectSet"),
        "filter": [[{"sourceAttribute": "department", "operator": "EQUALS", "value": "Sales"}]]
    });
    let r = w.runner(wf);
    assert_eq!(outcomes(&w.run(&r)).len(), 1);
}

/// A target whose listing is a stale copy taken earlier, while reads are current: what a
/// runner sees when a user changes between evaluation and processing.
#[derive(Debug)]
struct Stale {
    inner: Arc<MemoryDirectory>,
    listing: Vec<TargetObject>,
}

#[async_trait]
impl TargetConnector for Stale {
    fn name(&self) -> &str {
        "stale"
    }
    fn capabilities(&self) -> TargetCapabilities {
        TargetCapabilities::new([ObjectType::USER, ObjectType::GROUP])
    }
    async fn get(&self, t: &ObjectType, id: &TargetId) -> connectors::Result<Option<TargetObject>> {
        self.inner.get(t, id).await
    }
    async fn find(
        &self,
        t: &ObjectType,
        p: &AttributePath,
        v: &Value,
        l: usize,
    ) -> connectors::Result<Vec<TargetObject>> {
        self.inner.find(t, p, v, l).await
    }
    async fn create(
        &self,
        t: &ObjectType,
        r: &Resource,
        k: Option<&CreateKey>,
    ) -> connectors::Result<TargetObject> {
        self.inner.create(t, r, k).await
    }
    async fn patch(
        &self,
        t: &ObjectType,
        id: &TargetId,
        p: &PatchOp,
        m: Option<&Version>,
    ) -> connectors::Result<TargetObject> {
        self.inner.patch(t, id, p, m).await
    }
    async fn replace(
        &self,
        t: &ObjectType,
        id: &TargetId,
        r: &Resource,
        m: Option<&Version>,
    ) -> connectors::Result<TargetObject> {
        self.inner.replace(t, id, r, m).await
    }
    async fn delete(
        &self,
        t: &ObjectType,
        id: &TargetId,
        m: Option<&Version>,
    ) -> connectors::Result<()> {
        self.inner.delete(t, id, m).await
    }
    async fn query(&self, t: &ObjectType, _: &Query) -> connectors::Result<QueryPage> {
        let mut page = QueryPage::default();
        if *t == ObjectType::USER {
            page.objects = self.listing.clone();
            page.total_results = self.listing.len();
        }
        Ok(page)
    }
}

#[test]
fn a_user_who_no_longer_matches_right_before_processing_is_not_processed() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person("moved")
        },
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person("stays")
        },
    ]);
    let listing = block(w.dir.query(&ObjectType::USER, &Query::all()))
        .unwrap()
        .objects;
    // After the listing: one user moves out of scope.
    w.set_ent("moved", "department", json!("Marketing"));
    let target = Arc::new(Stale {
        inner: w.dir.clone(),
        listing,
    });
    let set =
        WorkflowSet::from_value(onboarding("(department eq 'Sales')"), Limits::default()).unwrap();
    let r = Runner::builder(
        JobId::new("lifecycle"),
        set,
        target,
        Arc::new(w.store.clone()),
    )
    .clock(Arc::new(w.clock.clone()))
    .build()
    .unwrap();
    let ids: Vec<String> = outcomes(&w.run(&r)).into_iter().map(|o| o.1).collect();
    assert_eq!(ids, ["stays"]);
    assert_eq!(w.user("moved").get("active"), Some(&json!(true)));
}

fn mover(attributes: &[&str], rule: &str) -> Value {
    json!({
        "id": "mover", "displayName": "Job change", "category": "mover",
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {
            "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
            "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": rule},
            "trigger": {"@odata.type": format!("{ODATA}attributeChangeTrigger"),
                        "triggerAttributes": attributes.iter().map(|a| json!({"name": a})).collect::<Vec<_>>()}},
        "tasks": [task(d::MOVER_NOTICE_EMAIL, "Notify manager")]
    })
}

#[test]
fn attribute_change_fires_on_each_change_of_a_listed_attribute() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            name: "Max Muster",
            ..person("boss")
        },
        crate::support::Person {
            manager: Some("boss"),
            ..person("ada")
        },
    ]);
    let r = w.runner(mover(&["department", "jobTitle"], ""));
    assert!(w.run(&r).runs.is_empty(), "the first run is the baseline");
    w.set_ent("ada", "department", json!("Marketing"));
    let report = w.run(&r);
    assert_eq!(
        outcomes(&report),
        [("mover".into(), "ada".into(), "completed".into())]
    );
    assert_eq!(w.mail.sent()[0].to, "boss@example.com");
    assert!(w.run(&r).runs.is_empty(), "no change, no run");
    w.set("ada", "title", json!("Lead"));
    assert_eq!(outcomes(&w.run(&r)).len(), 1);
    // An attribute that is not listed changes nothing.
    w.set("ada", "nickName", json!("Countess"));
    assert!(w.run(&r).runs.is_empty());
}

#[test]
fn membership_added_fires_for_new_members_only() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[person("a"), person("b"), person("c")]);
    w.add_group("g1", &["a"]);
    w.add_group("extra", &[]);
    let wf = json!({
        "id": "joined", "displayName": "Joined g1", "category": "mover",
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {
            "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
            "scope": {"@odata.type": format!("{ODATA}groupBasedSubjectSet"), "groups": [{"id": "g1"}]},
            "trigger": {"@odata.type": format!("{ODATA}membershipChangeTrigger"), "changeType": "add"}},
        "tasks": [crate::support::task_args(d::ADD_TO_GROUPS, "Add to extra", &[("groupID", "extra")])]
    });
    let r = w.runner(wf);
    assert!(w.run(&r).runs.is_empty(), "baseline");
    let add = PatchOp::new().add(
        AttributePath::new("members"),
        json!([{"value": "b"}, {"value": "c"}]),
    );
    block(
        w.dir
            .patch(&ObjectType::GROUP, &TargetId::new("g1"), &add, None),
    )
    .unwrap();
    let mut ids: Vec<String> = outcomes(&w.run(&r)).into_iter().map(|o| o.1).collect();
    ids.sort();
    assert_eq!(ids, ["b", "c"]);
    let mut extra = w.members("extra");
    extra.sort();
    assert_eq!(extra, ["b", "c"]);
    assert!(w.run(&r).runs.is_empty());
}

#[test]
fn inactivity_fires_after_the_period_without_sign_in() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[person("idle"), person("busy")]);
    w.set("idle", "lastSignInDateTime", json!("2025-12-01T00:00:00Z"));
    w.set("busy", "lastSignInDateTime", json!("2026-03-01T00:00:00Z"));
    let wf = json!({
        "id": "inactive", "displayName": "Inactive", "category": "leaver",
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {"scope": {"rule": ""}, "trigger": {"@odata.type": format!("{ODATA}userInactivityTrigger"), "inactivityPeriodInDays": 60}},
        "tasks": [task(d::DISABLE_ACCOUNT, "Disable")]
    });
    let r = w.runner(wf);
    let ids: Vec<String> = outcomes(&w.run(&r)).into_iter().map(|o| o.1).collect();
    assert_eq!(ids, ["idle"]);
    assert_eq!(w.user("idle").get("active"), Some(&json!(false)));
    assert!(w.run(&r).runs.is_empty());
}

#[test]
fn on_demand_ignores_conditions_within_entras_limits() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[person("a")]);
    let mut wf = onboarding("(department eq 'Nobody')");
    wf["isSchedulingEnabled"] = json!(false);
    let r = w.runner(wf);
    assert!(w.run(&r).runs.is_empty(), "not scheduled");
    let report = block(r.run_on_demand("onboard", &["a", "ghost"])).unwrap();
    assert_eq!(
        outcomes(&report),
        [("onboard".into(), "a".into(), "completed".into())]
    );
    assert_eq!(
        report.runs[0].run.workflow_execution_type,
        lifecycle::ExecutionType::OnDemand
    );
    assert!(
        report.errors[0]
            .message
            .contains("\"ghost\" does not exist")
    );
    // Twice on demand is twice processed.
    assert_eq!(
        outcomes(&block(r.run_on_demand("onboard", &["a"])).unwrap()).len(),
        1
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let err = block(r.run_on_demand("onboard", &refs)).unwrap_err();
    assert!(matches!(err, Error::OnDemand { .. }));
    assert!(err.to_string().contains("at most 10"), "{err}");

    let mut off = onboarding("");
    off["isEnabled"] = json!(false);
    off["isSchedulingEnabled"] = json!(false);
    let r = w.runner(off);
    assert!(block(r.run_on_demand("onboard", &["a"])).is_err());
    let _ = ENT;
}

#[test]
fn a_dependent_workflow_waits_for_its_dependency() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        crate::support::Person {
            hire: Some("2026-02-25T08:00:00Z"),
            ..person("old")
        },
        crate::support::Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person("new")
        },
    ]);
    w.add_group("staff", &[]);
    let onboard = onboarding("");
    let mut post = time_workflow(
        "post",
        "joiner",
        "employeeHireDate",
        1,
        "",
        json!([crate::support::task_args(
            d::ADD_TO_GROUPS,
            "Staff",
            &[("groupID", "staff")]
        )]),
    );
    post["dependsOn"] = json!(["onboard"]);
    // "old" was hired a week ago, before this runner existed: onboarding is past its
    // catch-up window and never ran for them, so post-onboarding holds them back.
    let r = w.runner(json!([post, onboard]));
    let first = outcomes(&w.run(&r));
    assert_eq!(
        first,
        [("onboard".into(), "new".into(), "completed".into())]
    );
    w.days(1);
    let second = outcomes(&w.run(&r));
    assert_eq!(second, [("post".into(), "new".into(), "completed".into())]);
    assert_eq!(w.members("staff"), ["new"]);
}
