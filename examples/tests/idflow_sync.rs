//! Black-box tests of `idflow sync`: the job file, the options, the printed report and the
//! exit statuses are a contract (DESIGN.md, "The `idflow` tool").

// Helpers outside `#[test]` functions may fail loudly: a tool that cannot start is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const NOW: &str = "2026-03-02T09:00:00Z";

/// A directory for one test: the job, its files and the state live here, and the tool runs
/// with it as the working directory.
struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    fn write_json(&self, rel: &str, value: &Value) {
        self.write(rel, &serde_json::to_string_pretty(value).unwrap());
    }

    fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    fn bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    /// The target file's resources.
    fn target(&self, rel: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        match serde_json::from_str(&text).unwrap() {
            Value::Array(items) => items,
            other => panic!("the target is not an array: {other}"),
        }
    }

    /// Runs `idflow sync ARGS` in this directory.
    fn sync(&self, args: &[&str]) -> Output {
        self.sync_in(self.tmp.path(), args)
    }

    fn sync_in(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_idflow"))
            .arg("sync")
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("idflow runs")
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The report of a run that must have succeeded: exit 0 and one JSON object on stdout.
fn report(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    let out: Value = serde_json::from_slice(&o.stdout).expect("stdout is one JSON value");
    assert!(out.is_object(), "{out}");
    out
}

/// Asserts exit status `code` with exactly one line on stderr containing `needle`, and
/// nothing on stdout.
fn assert_fails(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got: {err:?}"
    );
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// `id action/status` of each log entry, sorted (the order of entries within a cycle is
/// not part of the contract).
fn actions(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}/{}",
                e["sourceIdentity"]["id"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["status"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

/// The log entry of one source object.
fn entry<'a>(report: &'a Value, source_id: &str) -> &'a Value {
    report["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sourceIdentity"]["id"] == json!(source_id))
        .unwrap_or_else(|| panic!("no log entry for {source_id}: {report}"))
}

fn user_names(resources: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["userName"].as_str())
        .collect();
    names.sort_unstable();
    names
}

fn find<'a>(resources: &'a [Value], user_name: &str) -> &'a Value {
    resources
        .iter()
        .find(|r| r["userName"] == json!(user_name))
        .unwrap_or_else(|| panic!("{user_name} not in the target"))
}

/// A job file: `source`, a JSON target at `directory.json`, users matched on userName, and
/// the job fields of `extra` (which may replace any of these).
fn job(source: Value, extra: Value) -> Value {
    let mut job = json!({
        "source": source,
        "target": {"type": "json", "path": "directory.json"},
        "objectMappings": [{
            "sourceObjectName": "User", "targetObjectName": "User",
            "scope": [[{"sourceAttribute": "active", "operator": "IS TRUE"}]],
            "attributeMappings": [
                {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
                {"targetAttribute": "displayName", "source": {"type": "Expression", "expression": "Join(\" \", [name.givenName], [name.familyName])"}},
                {"targetAttribute": "active", "source": {"type": "Direct", "path": "active"}}
            ]
        }]
    });
    for (k, v) in extra.as_object().unwrap() {
        job[k] = v.clone();
    }
    job
}

fn csv_job(extra: Value) -> Value {
    job(json!({"type": "csv", "path": "hr.csv"}), extra)
}

const HR: &str = "id,userName,name.givenName,name.familyName,active
E1,ada@example.com,Ada,Lovelace,true
E2,bob@example.com,Bob,Dylan,true
E3,cy@example.com,Cy,Twombly,true
";

#[test]
fn the_first_run_creates_everything_and_prints_the_report() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write_json("job.json", &csv_job(json!({})));
    let out = report(&d.sync(&["--job", "job.json", "--state", "state", "--now", NOW]));

    assert_eq!(out["cycle"]["kind"], "initial");
    assert!(out["cycle"]["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(out["cycle"]["watermark"].is_string());
    for field in [
        "created",
        "updated",
        "disabled",
        "deleted",
        "skipped",
        "failed",
        "escrowed",
        "stagedDeletes",
        "reconciled",
    ] {
        assert!(out["summary"][field].is_u64(), "summary.{field}: {out}");
    }
    assert_eq!(out["summary"]["created"], 3);
    assert_eq!(out["quarantine"], Value::Null);
    assert!(out.get("preview").is_none(), "{out}");
    assert_eq!(
        actions(&out),
        [
            "E1 Create/Success",
            "E2 Create/Success",
            "E3 Create/Success"
        ]
    );
    let entry = entry(&out, "E1");
    assert_eq!(entry["activityDateTime"], NOW);
    assert!(!entry["targetIdentity"]["id"].as_str().unwrap().is_empty());
    let steps = entry["provisioningSteps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["provisioningStepType"] == "export" && s["status"] == "success"),
        "{steps:?}"
    );
    assert!(
        entry["modifiedProperties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["displayName"] == "displayName" && p["newValue"] == "Ada Lovelace"),
        "{entry}"
    );

    let target = d.target("directory.json");
    assert_eq!(
        user_names(&target),
        ["ada@example.com", "bob@example.com", "cy@example.com"]
    );
    assert_eq!(
        find(&target, "ada@example.com")["displayName"],
        "Ada Lovelace"
    );
    assert!(d.exists("state/state.redb"));
}

#[test]
fn a_second_run_is_a_delta_touching_only_the_changed_row() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write_json("job.json", &csv_job(json!({})));
    let args = ["--job", "job.json", "--state", "state", "--now", NOW];
    report(&d.sync(&args));
    let before = find(&d.target("directory.json"), "bob@example.com").clone();

    d.write(
        "hr.csv",
        &HR.replace("E2,bob@example.com,Bob,", "E2,bob@example.com,Robert,"),
    );
    let out = report(&d.sync(&args));
    assert_eq!(out["cycle"]["kind"], "delta");
    assert_eq!(actions(&out), ["E2 Update/Success"]);
    assert_eq!(out["summary"]["updated"], 1);
    assert_eq!(out["summary"]["created"], 0);
    assert_eq!(
        out["log"][0]["modifiedProperties"],
        json!([{"displayName": "displayName", "oldValue": "Bob Dylan", "newValue": "Robert Dylan"}])
    );
    let target = d.target("directory.json");
    let bob = find(&target, "bob@example.com");
    assert_eq!(bob["displayName"], "Robert Dylan");
    assert_eq!(bob["id"], before["id"], "updated in place, not recreated");
    assert_eq!(target.len(), 3);

    // Nothing changed: nothing is done.
    let out = report(&d.sync(&args));
    assert_eq!(out["cycle"]["kind"], "delta");
    assert_eq!(actions(&out), Vec::<String>::new());

    // --reset Full re-imports and re-evaluates everything, creating nothing twice.
    let out = report(&d.sync(&["--job", "job.json", "--state", "state", "--reset", "Full"]));
    assert_eq!(out["cycle"]["kind"], "full");
    assert_eq!(out["summary"]["created"], 0);
    assert_eq!(d.target("directory.json").len(), 3);
}

#[test]
fn a_removed_row_is_deleted_or_disabled_by_flow_types() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write_json("job.json", &csv_job(json!({})));
    let args = ["--job", "job.json", "--state", "state", "--now", NOW];
    report(&d.sync(&args));
    d.write(
        "hr.csv",
        &HR.replace("E3,cy@example.com,Cy,Twombly,true\n", ""),
    );
    let out = report(&d.sync(&args));
    assert_eq!(actions(&out), ["E3 Delete/Success"]);
    assert_eq!(out["summary"]["deleted"], 1);
    assert_eq!(
        user_names(&d.target("directory.json")),
        ["ada@example.com", "bob@example.com"]
    );

    // Without Delete in flowTypes, the object is disabled instead.
    let d = Dir::new();
    d.write("hr.csv", HR);
    let mut job = csv_job(json!({}));
    job["objectMappings"][0]["flowTypes"] = json!(["Add", "Update"]);
    d.write_json("job.json", &job);
    report(&d.sync(&args));
    d.write(
        "hr.csv",
        &HR.replace("E3,cy@example.com,Cy,Twombly,true\n", ""),
    );
    let out = report(&d.sync(&args));
    assert_eq!(actions(&out), ["E3 Disable/Success"]);
    assert_eq!(out["summary"]["disabled"], 1);
    let target = d.target("directory.json");
    assert_eq!(target.len(), 3);
    assert_eq!(find(&target, "cy@example.com")["active"], false);
}

#[test]
fn leaving_scope_disables_and_a_failed_object_is_a_result_not_an_error() {
    let d = Dir::new();
    d.write(
        "hr.csv",
        "id,userName,name.givenName,active,urn:example:1.0:User:colour
E1,ada@example.com,Ada,true,
E2,bob@example.com,Bob,true,blue
E3,cy@example.com,Cy,false,
",
    );
    let mut job = csv_job(json!({}));
    // The target does not know this extension: creating bob fails.
    job["objectMappings"][0]["attributeMappings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"targetAttribute": "urn:example:1.0:User:colour", "source": {"type": "Direct", "path": "urn:example:1.0:User:colour"}}));
    d.write_json("job.json", &job);
    let out = report(&d.sync(&["--job", "job.json", "--state", "state", "--now", NOW]));
    assert_eq!(
        actions(&out),
        ["E1 Create/Success", "E2 Create/Failure", "E3 Other/Skipped"]
    );
    assert_eq!(out["summary"]["failed"], 1);
    assert_eq!(out["summary"]["escrowed"], 1);
    assert_eq!(out["summary"]["skipped"], 1);
    assert_eq!(
        entry(&out, "E2")["statusInfo"]["errorCode"],
        "TargetRejected"
    );
    assert_eq!(entry(&out, "E3")["statusInfo"]["errorCode"], "NotInScope");
    assert_eq!(user_names(&d.target("directory.json")), ["ada@example.com"]);

    // Ada leaves scope: she is disabled (outOfScope defaults to Disable). Bob's retry is not
    // due yet, so he is not tried again.
    d.write(
        "hr.csv",
        "id,userName,name.givenName,active,urn:example:1.0:User:colour
E1,ada@example.com,Ada,false,
E2,bob@example.com,Bob,true,blue
E3,cy@example.com,Cy,false,
",
    );
    let out = report(&d.sync(&["--job", "job.json", "--state", "state", "--now", NOW]));
    // Cy, unchanged and still out of scope, is not logged again.
    let actions = actions(&out);
    assert!(actions.contains(&"E1 Disable/Success".to_owned()), "{out}");
    assert!(!actions.iter().any(|a| a.starts_with("E3 ")), "{out}");
    assert_eq!(out["summary"]["disabled"], 1);
    assert_eq!(out["summary"]["escrowed"], 1);
    assert_eq!(
        find(&d.target("directory.json"), "ada@example.com")["active"],
        false
    );
}

#[test]
fn a_preview_writes_nothing() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write_json("job.json", &csv_job(json!({})));
    let args = ["--job", "job.json", "--state", "state", "--now", NOW];

    let out = report(&d.sync(&["--job", "job.json", "--state", "state", "--preview"]));
    assert_eq!(out["preview"], true);
    assert_eq!(out["cycle"]["kind"], "initial");
    assert_eq!(out["summary"]["created"], 3, "the actions it would take");
    assert!(!d.exists("directory.json"), "no target written");
    assert!(!d.exists("state"), "no state written");

    // The next real run is still the first.
    let out = report(&d.sync(&args));
    assert_eq!(out["cycle"]["kind"], "initial");
    assert_eq!(out["summary"]["created"], 3);

    // A preview of a change leaves the target and the state as they are, byte for byte.
    d.write("hr.csv", &HR.replace("Bob", "Robert"));
    let target = d.bytes("directory.json");
    let state = d.bytes("state/state.redb");
    let out = report(&d.sync(&[
        "--job",
        "job.json",
        "--state",
        "state",
        "--now",
        NOW,
        "--preview",
    ]));
    assert_eq!(out["preview"], true);
    assert_eq!(out["cycle"]["kind"], "delta");
    assert_eq!(out["summary"]["updated"], 1);
    assert_eq!(d.bytes("directory.json"), target);
    assert_eq!(d.bytes("state/state.redb"), state);

    let out = report(&d.sync(&args));
    assert!(out.get("preview").is_none());
    assert_eq!(actions(&out), ["E2 Update/Success"]);
    assert_eq!(
        find(&d.target("directory.json"), "bob@example.com")["displayName"],
        "Robert Dylan"
    );
}

#[test]
fn deletions_above_the_threshold_are_held_until_approved() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write_json("job.json", &csv_job(json!({"deletionThreshold": 1})));
    let args = ["--job", "job.json", "--state", "state", "--now", NOW];
    report(&d.sync(&args));

    d.write(
        "hr.csv",
        "id,userName,name.givenName,name.familyName,active\nE1,ada@example.com,Ada,Lovelace,true\n",
    );
    let out = report(&d.sync(&args));
    assert_eq!(out["quarantine"]["reason"], "TooManyDeletes");
    assert_eq!(out["quarantine"]["since"], NOW);
    assert_eq!(out["summary"]["stagedDeletes"], 2);
    assert_eq!(out["summary"]["deleted"], 0);
    assert_eq!(
        actions(&out),
        ["E2 StagedDelete/Skipped", "E3 StagedDelete/Skipped"]
    );
    assert_eq!(
        entry(&out, "E2")["statusInfo"]["errorCode"],
        "TooManyDeletes"
    );
    assert_eq!(d.target("directory.json").len(), 3, "nothing deleted yet");

    // Still held on the next run without approval.
    let out = report(&d.sync(&args));
    assert_eq!(out["quarantine"]["reason"], "TooManyDeletes");
    assert_eq!(d.target("directory.json").len(), 3);

    let mut approved = args.to_vec();
    approved.push("--approve-deletes");
    let out = report(&d.sync(&approved));
    assert_eq!(out["summary"]["deleted"], 2);
    assert_eq!(out["summary"]["stagedDeletes"], 0);
    assert_eq!(out["quarantine"], Value::Null);
    assert_eq!(user_names(&d.target("directory.json")), ["ada@example.com"]);
}

#[test]
fn a_json_source_works_with_its_id_attribute() {
    let d = Dir::new();
    let user = |id: Option<&str>, name: &str, given: &str| {
        let mut u = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "active": true,
            "name": {"givenName": given, "familyName": "Example"}
        });
        if let Some(id) = id {
            u["externalId"] = json!(id);
        }
        u
    };
    d.write_json(
        "people.json",
        &json!([
            user(Some("W1"), "ada@example.com", "Ada"),
            user(Some("W2"), "bob@example.com", "Bob"),
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "G1",
             "displayName": "Staff", "members": [{"value": "W1"}, {"value": "W2"}]}
        ]),
    );
    let mut job = job(
        json!({"type": "json", "path": "people.json", "idAttribute": "externalId"}),
        json!({}),
    );
    job["objectMappings"].as_array_mut().unwrap().push(json!({
        "sourceObjectName": "Group", "targetObjectName": "Group",
        "attributeMappings": [
            {"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}, "matchingPriority": 1},
            {"targetAttribute": "members", "source": {"type": "Direct", "path": "members"}}
        ]}));
    d.write_json("job.json", &job);
    let args = ["--job", "job.json", "--state", "state", "--now", NOW];
    let out = report(&d.sync(&args));
    assert_eq!(
        actions(&out),
        [
            "G1 Create/Success",
            "W1 Create/Success",
            "W2 Create/Success"
        ]
    );
    let target = d.target("directory.json");
    let ada = find(&target, "ada@example.com");
    assert_eq!(ada["displayName"], "Ada Example");
    let staff = target
        .iter()
        .find(|r| r["displayName"] == "Staff")
        .expect("the group");
    let mut members: Vec<&str> = staff["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut ids = vec![
        ada["id"].as_str().unwrap(),
        find(&target, "bob@example.com")["id"].as_str().unwrap(),
    ];
    ids.sort_unstable();
    assert_eq!(members, ids, "members are the target's ids");

    // A changed and a removed resource: an update and a delete.
    d.write_json(
        "people.json",
        &json!([
            user(Some("W1"), "ada@example.com", "Augusta"),
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "G1",
             "displayName": "Staff", "members": [{"value": "W1"}, {"value": "W2"}]}
        ]),
    );
    let out = report(&d.sync(&args));
    assert_eq!(out["cycle"]["kind"], "delta");
    assert_eq!(out["summary"]["updated"], 1);
    assert_eq!(out["summary"]["deleted"], 1);
    assert!(
        actions(&out).contains(&"W1 Update/Success".to_owned()),
        "{out}"
    );
    assert!(
        actions(&out).contains(&"W2 Delete/Success".to_owned()),
        "{out}"
    );
    let target = d.target("directory.json");
    assert_eq!(user_names(&target), ["ada@example.com"]);
    assert_eq!(
        find(&target, "ada@example.com")["displayName"],
        "Augusta Example"
    );

    // A resource without its id is reported; the import is then incomplete, so what it
    // lacks is not deleted.
    d.write_json(
        "people.json",
        &json!([user(None, "ada@example.com", "Augusta")]),
    );
    let out = report(&d.sync(&args));
    assert_eq!(out["summary"]["deleted"], 0);
    let notes = out["notes"].to_string();
    assert!(
        notes.contains("resource 0") && notes.contains("externalId"),
        "{notes}"
    );
    assert_eq!(user_names(&d.target("directory.json")), ["ada@example.com"]);
}

#[test]
fn paths_in_the_job_file_are_relative_to_it() {
    let d = Dir::new();
    d.write("data/hr.csv", HR);
    let mut job = job(json!({"type": "csv", "path": "../data/hr.csv"}), json!({}));
    job["target"] = json!({"type": "json", "path": "out/directory.json"});
    d.write_json("jobs/job.json", &job);
    std::fs::create_dir_all(d.path("jobs/out")).unwrap();
    // Run from elsewhere, naming the job by an absolute path; --state is relative to the
    // working directory, like any command-line path.
    let elsewhere = d.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let job_path = d.path("jobs/job.json");
    let out = report(&d.sync_in(
        &elsewhere,
        &["--job", job_path.to_str().unwrap(), "--state", "state"],
    ));
    assert_eq!(out["summary"]["created"], 3);
    assert_eq!(d.target("jobs/out/directory.json").len(), 3);
    assert!(d.exists("elsewhere/state/state.redb"));

    // The same from the job's own directory, with a relative job path and --name=value.
    let out = report(&d.sync_in(
        &d.path("jobs"),
        &["--job=job.json", "--state=../elsewhere/state"],
    ));
    assert_eq!(out["cycle"]["kind"], "delta");
    assert_eq!(out["summary"]["created"], 0);
}

#[test]
fn a_bad_job_or_input_file_exits_2_with_one_line() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    d.write("ext.csv", "externalId,userName\nE1,ada@example.com\n");
    d.write("people.json", "[]");
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), "JSON object"),
        (
            {
                let mut j = csv_job(json!({}));
                j.as_object_mut().unwrap().remove("source");
                j
            },
            "source",
        ),
        (csv_job(json!({"objectMappings": []})), "objectMappings"),
        (
            csv_job(json!({"deletionTreshold": 3})),
            "unknown field `deletionTreshold`",
        ),
        (csv_job(json!({"outOfScope": "Vanish"})), "Vanish"),
        (
            job(json!({"type": "ldap", "path": "hr.csv"}), json!({})),
            "ldap",
        ),
        (
            job(json!({"type": "csv", "path": "missing.csv"}), json!({})),
            "missing.csv",
        ),
        (
            job(
                json!({"type": "csv", "path": "ext.csv", "idAttribute": "employeeNumber"}),
                json!({}),
            ),
            "employeeNumber",
        ),
        (
            job(
                json!({"type": "json", "path": "people.json", "idAttribute": "emails[type eq \"work\"].value"}),
                json!({}),
            ),
            "value filter",
        ),
        (
            {
                let mut j = csv_job(json!({}));
                j["objectMappings"][0]["scope"] =
                    json!([[{"sourceAttribute": "a", "operator": "NOPE", "value": "x"}]]);
                j
            },
            "objectMappings[0].scope",
        ),
        (
            job(json!({"type": "json", "path": "hr.csv"}), json!({})),
            "hr.csv",
        ),
    ];
    for (job, needle) in cases {
        d.write_json("job.json", &job);
        let o = d.sync(&["--job", "job.json"]);
        assert_fails(&o, 2, needle);
    }
    d.write("job.json", "{\"source\": ");
    assert_fails(&d.sync(&["--job", "job.json"]), 2, "job.json");
    assert_fails(&d.sync(&["--job", "nowhere.json"]), 2, "nowhere.json");

    // A target file that is not an array of resources.
    d.write_json("job.json", &csv_job(json!({})));
    d.write("directory.json", "{\"not\": \"an array\"}");
    assert_fails(&d.sync(&["--job", "job.json"]), 2, "directory.json");
    std::fs::remove_file(d.path("directory.json")).unwrap();

    // Bad options.
    assert_fails(
        &d.sync(&["--job", "job.json", "--reset", "Everything"]),
        2,
        "Everything",
    );
    assert_fails(
        &d.sync(&["--job", "job.json", "--now", "yesterday"]),
        2,
        "yesterday",
    );
    assert_fails(&d.sync(&[]), 2, "--job");
    assert!(!d.exists("directory.json"));
}

#[test]
fn a_target_that_cannot_be_written_exits_1() {
    let d = Dir::new();
    d.write("hr.csv", HR);
    for (target, needle) in [
        ("missing-dir/directory.json", "missing-dir"),
        ("hr.csv/directory.json", "hr.csv"),
    ] {
        let mut job = csv_job(json!({}));
        job["target"] = json!({"type": "json", "path": target});
        d.write_json("job.json", &job);
        let o = d.sync(&["--job", "job.json", "--state", "state"]);
        assert_fails(&o, 1, needle);
        // It fails before anything is done: no state either.
        assert!(!d.exists("state"));
    }

    // A read-only directory (ineffective for root, who may write anyway).
    let ro = d.path("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms.clone()).unwrap();
    let enforced = std::fs::write(ro.join("probe"), "x").is_err();
    if enforced {
        let mut job = csv_job(json!({}));
        job["target"] = json!({"type": "json", "path": "ro/directory.json"});
        d.write_json("job.json", &job);
        assert_fails(&d.sync(&["--job", "job.json"]), 1, "ro");
    }
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&ro, perms).unwrap();

    // A state directory that cannot be created.
    d.write_json("job.json", &csv_job(json!({})));
    assert_fails(
        &d.sync(&["--job", "job.json", "--state", "hr.csv/state"]),
        1,
        "state",
    );
}
