//! Black-box tests of `idflow workflows`: the options, the printed JSON and the exit statuses
//! are a contract (DESIGN.md, "The `idflow` tool").

// Helpers outside `#[test]` functions may fail loudly: a tool that cannot start is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ODATA: &str = "#microsoft.graph.identityGovernance.";

struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn write_json(&self, rel: &str, value: &Value) {
        std::fs::write(
            self.tmp.path().join(rel),
            serde_json::to_string_pretty(value).unwrap(),
        )
        .unwrap();
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.tmp.path().join(rel), text).unwrap();
    }

    /// Runs `idflow workflows ARGS` in this directory.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_idflow"))
            .arg("workflows")
            .args(args)
            .current_dir(self.tmp.path())
            .output()
            .expect("idflow runs")
    }

    fn at(&self, now: &str, state: bool) -> Output {
        let mut args = vec!["--config", "wf.json", "--users", "users.json", "--now", now];
        if state {
            args.extend(["--state", "state"]);
        }
        self.run(&args)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    let out: Value = serde_json::from_slice(&o.stdout).expect("stdout is one JSON value");
    for key in ["runs", "errors", "emails"] {
        assert!(out[key].is_array(), "{key} missing: {out}");
    }
    out
}

fn assert_fails(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty());
}

/// `(workflow, user, status)` of every user result.
fn outcomes(report: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for run in report["runs"].as_array().unwrap() {
        for u in run["userProcessingResults"].as_array().unwrap() {
            out.push((
                run["workflow"]["displayName"].as_str().unwrap().to_owned(),
                u["subject"]["id"].as_str().unwrap().to_owned(),
                u["processingStatus"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn user(id: &str, extra: Value) -> Value {
    let mut u = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": id, "userName": format!("{id}@example.com"), "displayName": id, "active": false,
        "emails": [{"value": format!("{id}@example.com"), "primary": true}],
        ENT: {"department": "Sales"}
    });
    if let (Some(o), Value::Object(e)) = (u.as_object_mut(), extra) {
        for (k, v) in e {
            if k == ENT {
                for (k2, v2) in v.as_object().unwrap() {
                    o[ENT][k2] = v2.clone();
                }
            } else {
                o.insert(k, v);
            }
        }
    }
    u
}

/// Entra's "Onboard pre-hire employee" (TAP 7 days before) and "Onboard new hire employee".
fn joiners() -> Value {
    json!([
        {
            "id": "prehire", "displayName": "Onboard pre-hire employee", "category": "joiner",
            "isEnabled": true, "isSchedulingEnabled": true, "version": 1,
            "executionConditions": {
                "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
                "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": "(department eq 'Sales')"},
                "trigger": {"@odata.type": format!("{ODATA}timeBasedAttributeTrigger"),
                            "timeBasedAttribute": "employeeHireDate", "offsetInDays": -7}},
            "tasks": [{"category": "joiner", "continueOnError": false, "displayName": "Generate TAP And Send Email",
                       "isEnabled": true, "taskDefinitionId": "1b555e50-7f65-41d5-b514-5894a026d10d",
                       "arguments": [{"name": "tapLifetimeMinutes", "value": "480"}, {"name": "tapIsUsableOnce", "value": "true"}]}]
        },
        {
            "id": "newhire", "displayName": "Onboard new hire employee", "category": "joiner",
            "isEnabled": true, "isSchedulingEnabled": true,
            "executionConditions": {
                "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
                "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": "(department eq 'Sales')"},
                "trigger": {"@odata.type": format!("{ODATA}timeBasedAttributeTrigger"),
                            "timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}},
            "tasks": [
                {"displayName": "Enable User Account", "taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "arguments": []},
                {"displayName": "Send Welcome Email", "taskDefinitionId": "70b29d51-b59a-4773-9280-8841dfd3f2ea", "arguments": []}
            ]
        }
    ])
}

fn company() -> Value {
    json!([
        user("boss", json!({"displayName": "Grete Weber", "preferredLanguage": "de-DE", "active": true})),
        user("ada", json!({"employeeHireDate": "2026-03-09T08:00:00Z", ENT: {"manager": {"value": "boss"}}})),
        user("bob", json!({"employeeHireDate": "2026-03-02T08:00:00Z", "preferredLanguage": "it"})),
        user("bad", json!({"employeeHireDate": "09.03.2026"})),
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Staff", "members": []}
    ])
}

#[test]
fn runs_due_workflows_and_prints_runs_errors_and_emails() {
    let d = Dir::new();
    d.write_json("wf.json", &joiners());
    d.write_json("users.json", &company());
    let out = report(&d.at("2026-03-02T09:00:00Z", false));
    assert_eq!(
        outcomes(&out),
        [
            (
                "Onboard pre-hire employee".into(),
                "ada".into(),
                "completed".into()
            ),
            (
                "Onboard new hire employee".into(),
                "bob".into(),
                "completed".into()
            ),
        ]
    );
    let tasks = &out["runs"][1]["userProcessingResults"][0]["taskProcessingResults"];
    assert_eq!(tasks[0]["task"]["displayName"], "Enable User Account");
    assert_eq!(
        tasks[0]["task"]["taskDefinitionId"],
        "6fc52c9d-398b-4305-9763-15f42c1676fc"
    );
    assert_eq!(tasks[0]["processingStatus"], "completed");
    assert_eq!(out["runs"][0]["processingStatus"], "completed");

    // The malformed date is reported on its user.
    assert_eq!(
        out["errors"].as_array().unwrap().len(),
        2,
        "{}",
        out["errors"]
    );
    assert_eq!(out["errors"][0]["subject"]["id"], "bad");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"09.03.2026\"")
    );

    // The TAP email went to the manager, in German; the welcome email to bob, in Italian.
    let emails = out["emails"].as_array().unwrap();
    assert_eq!(
        emails[0],
        json!({"to": "boss@example.com", "subject": "Befristeter Zugriffspass für ada", "language": "de"})
    );
    assert_eq!(emails[1]["to"], "bob@example.com");
    assert_eq!(emails[1]["language"], "it");
    // No body, and so no pass, anywhere in the output.
    let text = String::from_utf8_lossy(&d.at("2026-03-02T09:00:00Z", false).stdout).into_owned();
    assert!(!text.contains("body") && !text.contains("Zugriffspass (Temporary"));
}

#[test]
fn with_state_each_occurrence_is_processed_once() {
    let d = Dir::new();
    d.write_json("wf.json", &joiners());
    d.write_json("users.json", &company());
    assert_eq!(
        outcomes(&report(&d.at("2026-03-02T09:00:00Z", true))).len(),
        2
    );
    // The same day again, and the next day (still within the catch-up window): nothing new.
    assert!(outcomes(&report(&d.at("2026-03-02T12:00:00Z", true))).is_empty());
    assert!(outcomes(&report(&d.at("2026-03-03T09:00:00Z", true))).is_empty());
    // ada's first day.
    assert_eq!(
        outcomes(&report(&d.at("2026-03-09T09:00:00Z", true))),
        [(
            "Onboard new hire employee".into(),
            "ada".into(),
            "completed".into()
        )]
    );
    // Without state, the same instant processes them again.
    assert_eq!(
        outcomes(&report(&d.at("2026-03-02T09:00:00Z", false))).len(),
        2
    );
}

#[test]
fn a_list_response_and_a_single_workflow_are_read() {
    let d = Dir::new();
    d.write_json("wf.json", &joiners()[1]);
    d.write_json(
        "users.json",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 5, "Resources": company()}),
    );
    let out = report(&d.at("2026-03-02T09:00:00Z", false));
    assert_eq!(outcomes(&out).len(), 1);
}

#[test]
fn bad_inputs_exit_2_with_one_line() {
    let d = Dir::new();
    d.write_json("users.json", &company());
    d.write("wf.json", "{not json");
    assert_fails(&d.at("2026-03-02T09:00:00Z", false), 2, "wf.json");
    let mut wf = joiners();
    wf[0]["executionConditions"]["trigger"]["offsetInDays"] = json!(200);
    d.write_json("wf.json", &wf);
    assert_fails(&d.at("2026-03-02T09:00:00Z", false), 2, "-180..180");
    let mut wf = joiners();
    wf[1]["tasks"][0]["taskDefinitionId"] = json!("no-such-task");
    d.write_json("wf.json", &wf);
    assert_fails(&d.at("2026-03-02T09:00:00Z", false), 2, "no-such-task");
    d.write_json("wf.json", &joiners());
    d.write("users.json", "{\"not\": \"users\"}");
    assert_fails(&d.at("2026-03-02T09:00:00Z", false), 2, "users.json");
    d.write_json("users.json", &company());
    assert_fails(&d.at("yesterday", false), 2, "RFC 3339");
}
