//! Workflows as data: Graph's JSON as Entra exports it, limits, versions, checks at build.

use lifecycle::tasks::definitions as d;
use lifecycle::{Error, Limits, Trigger, WorkflowSet};
use serde_json::{Value, json};

use crate::support::{World, task, task_args, time_workflow};

/// A workflow as `GET /identityGovernance/lifecycleWorkflows/workflows/{id}` returns it.
fn entra_export() -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/workflows/$entity",
        "category": "leaver",
        "description": "Execute real-time termination tasks for employees on their last day of work",
        "displayName": "Real-time employee termination",
        "lastModifiedDateTime": "2022-08-24T20:29:51.1784055Z",
        "createdDateTime": "2022-08-24T20:29:51.1784043Z",
        "deletedDateTime": null,
        "id": "14879e66-9ea9-48d0-804d-8fea672d0341",
        "isEnabled": true,
        "isSchedulingEnabled": false,
        "nextScheduleRunDateTime": null,
        "version": 3,
        "executionConditions": {
            "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
            "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet",
                      "rule": "(department eq 'Marketing') and (accountEnabled eq true)"},
            "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
                        "timeBasedAttribute": "employeeLeaveDateTime", "offsetInDays": 7}
        },
        "tasks@odata.context": "https://graph.microsoft.com/v1.0/$metadata#…",
        "tasks": [
            {"category": "leaver", "continueOnError": false, "description": "Remove all licenses assigned to the user",
             "displayName": "Remove all licenses for user", "executionSequence": 1,
             "id": "1d2bcfbb-a8a1-4b4f-b0a6-67f6cba5a3e1", "isEnabled": true,
             "taskDefinitionId": "8fa97d28-3e52-4985-b3a9-a1126f9b8b4e", "arguments": []},
            {"category": "leaver", "continueOnError": false, "description": "Remove user from all Teams memberships",
             "displayName": "Remove user from all Teams", "executionSequence": 2,
             "id": "2e4dd5d3-9b9f-4a10-a4f8-d2fa6d9e6b2b", "isEnabled": true,
             "taskDefinitionId": "81f7b200-2816-4b3b-8c5d-dc556f07b024", "arguments": []},
            {"category": "leaver", "continueOnError": false, "description": "Delete user account in Azure AD",
             "displayName": "Delete User Account", "executionSequence": 3,
             "id": "3f2a1e36-5a13-4a4e-a7d8-a0fc6e0a3b4c", "isEnabled": true,
             "taskDefinitionId": "8d18588d-9ad3-4c0f-99d0-ec215f0e3dff", "arguments": []}
        ]
    })
}

#[test]
fn an_entra_export_loads_and_builds() {
    let set = WorkflowSet::from_value(entra_export(), Limits::default()).unwrap();
    let wf = set.get("14879e66-9ea9-48d0-804d-8fea672d0341").unwrap();
    assert_eq!(wf.version, 3);
    assert_eq!(wf.tasks.len(), 3);
    assert_eq!(
        wf.execution_conditions.trigger(),
        Some(&Trigger::TimeBased {
            attribute: "employeeLeaveDateTime".into(),
            offset_in_days: 7
        })
    );
    // Its cloud-only tasks are known by name, so the runner builds.
    let w = World::new("2026-03-01T00:00:00Z");
    w.runner(entra_export());
    // Graph's list shape loads too.
    let list = json!({"value": [entra_export()]});
    assert_eq!(
        WorkflowSet::from_value(list, Limits::default())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn limits_are_entras_and_configurable() {
    let many: Vec<Value> = (0..101)
        .map(|i| {
            time_workflow(
                &format!("w{i}"),
                "joiner",
                "employeeHireDate",
                0,
                "",
                json!([]),
            )
        })
        .collect();
    let err = WorkflowSet::from_value(json!(many), Limits::default()).unwrap_err();
    assert!(
        matches!(err, Error::TooManyWorkflows { max: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("limit of 100 workflows"));
    assert!(
        WorkflowSet::from_value(json!(many), Limits::default().with_max_workflows(200)).is_ok()
    );

    let tasks: Vec<Value> = (0..26).map(|_| task(d::ENABLE_ACCOUNT, "Enable")).collect();
    let wf = time_workflow("big", "joiner", "employeeHireDate", 0, "", json!(tasks));
    let err = WorkflowSet::from_value(wf.clone(), Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "workflow \"big\" has 26 tasks, more than the limit of 25 tasks"
    );
    assert!(WorkflowSet::from_value(wf, Limits::default().with_max_tasks(30)).is_ok());
}

#[test]
fn versions_follow_tasks_and_conditions() {
    let wf = time_workflow(
        "onboard",
        "joiner",
        "employeeHireDate",
        0,
        "",
        json!([task(d::ENABLE_ACCOUNT, "Enable")]),
    );
    let mut set = WorkflowSet::from_value(wf, Limits::default()).unwrap();
    let mut w = set.get("onboard").unwrap().clone();
    w.is_scheduling_enabled = false;
    w.description = Some("now documented".into());
    assert_eq!(
        set.update(w.clone()).unwrap(),
        1,
        "no new version for metadata"
    );
    w.tasks
        .push(serde_json::from_value(task(d::WELCOME_EMAIL, "Welcome")).unwrap());
    assert_eq!(set.update(w.clone()).unwrap(), 2);
    let mut w3 = w.clone();
    w3.execution_conditions = serde_json::from_value(json!({
        "trigger": {"timeBasedAttribute": "employeeHireDate", "offsetInDays": -1},
        "scope": {"rule": ""}
    }))
    .unwrap();
    assert_eq!(set.update(w3).unwrap(), 3);
    assert_eq!(set.versions("onboard").len(), 3);
    assert_eq!(set.version("onboard", 2).unwrap().tasks.len(), 2);
}

#[test]
fn bad_workflows_are_refused_with_their_name() {
    let cases = [
        (
            json!({"category": "joiner", "executionConditions": {}}),
            "displayName",
        ),
        (
            time_workflow("x", "hirer", "employeeHireDate", 0, "", json!([])),
            "unknown variant",
        ),
        (
            time_workflow("x", "joiner", "employeeHireDate", -181, "", json!([])),
            "-180..180",
        ),
        (
            time_workflow(
                "x",
                "joiner",
                "employeeHireDate",
                0,
                "(department eq 'x'",
                json!([]),
            ),
            "scope rule",
        ),
    ];
    for (wf, want) in cases {
        let err = WorkflowSet::from_value(wf, Limits::default()).unwrap_err();
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
    let dup = json!([
        time_workflow("x", "joiner", "employeeHireDate", 0, "", json!([])),
        time_workflow("x", "joiner", "employeeHireDate", 1, "", json!([]))
    ]);
    assert!(matches!(
        WorkflowSet::from_value(dup, Limits::default()),
        Err(Error::DuplicateWorkflow { .. })
    ));
}

#[test]
fn unknown_tasks_and_bad_arguments_fail_the_build() {
    let w = World::new("2026-03-01T00:00:00Z");
    let wf = time_workflow(
        "x",
        "joiner",
        "employeeHireDate",
        0,
        "",
        json!([task("no-such-task", "Mystery")]),
    );
    let set = WorkflowSet::from_value(wf, Limits::default()).unwrap();
    let err = lifecycle::Runner::builder(
        connectors::JobId::new("j"),
        set,
        w.dir.clone(),
        std::sync::Arc::new(w.store.clone()),
    )
    .build()
    .unwrap_err();
    assert!(matches!(err, Error::UnknownTask { .. }), "{err}");
    assert!(err.to_string().contains("\"Mystery\""));

    for (t, want) in [
        (task(d::ADD_TO_GROUPS, "Add"), "groupID"),
        (
            task_args(d::TAP_EMAIL, "TAP", &[("tapLifetimeMinutes", "50000")]),
            "10 to 43200",
        ),
        (
            task_args(
                d::CUSTOM_EXTENSION,
                "Ext",
                &[("customTaskExtensionID", "nope")],
            ),
            "no custom extension",
        ),
    ] {
        let wf = time_workflow("x", "joiner", "employeeHireDate", 0, "", json!([t]));
        let set = WorkflowSet::from_value(wf, Limits::default()).unwrap();
        let err = lifecycle::Runner::builder(
            connectors::JobId::new("j"),
            set,
            w.dir.clone(),
            std::sync::Arc::new(w.store.clone()),
        )
        .build()
        .unwrap_err();
        assert!(matches!(err, Error::InvalidTaskArgument { .. }), "{err}");
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
}

#[test]
fn dependencies_must_exist_and_not_cycle() {
    let w = World::new("2026-03-01T00:00:00Z");
    let mut a = time_workflow("a", "joiner", "employeeHireDate", 0, "", json!([]));
    let mut b = time_workflow("b", "joiner", "employeeHireDate", 7, "", json!([]));
    a["dependsOn"] = json!(["b"]);
    b["dependsOn"] = json!(["a"]);
    let set = WorkflowSet::from_value(json!([a.clone(), b]), Limits::default()).unwrap();
    let err = lifecycle::Runner::builder(
        connectors::JobId::new("j"),
        set,
        w.dir.clone(),
        std::sync::Arc::new(w.store.clone()),
    )
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
    a["dependsOn"] = json!(["missing"]);
    let set = WorkflowSet::from_value(json!([a]), Limits::default()).unwrap();
    let err = lifecycle::Runner::builder(
        connectors::JobId::new("j"),
        set,
        w.dir.clone(),
        std::sync::Arc::new(w.store.clone()),
    )
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("\"missing\""), "{err}");
}
