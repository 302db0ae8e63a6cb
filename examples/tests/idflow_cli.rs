//! Black-box tests of the `idflow` tool: its commands, exit statuses and printed JSON are a
//! contract (DESIGN.md, "The `idflow` tool").

// Helpers outside `#[test]` functions may fail loudly: a tool that cannot start is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn idflow(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("idflow starts");
    // A command may exit before reading stdin (bad options); a broken pipe is then fine.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("idflow runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 2 with exactly one line on stderr, which contains `needle`.
fn assert_bad_input(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got: {err:?}"
    );
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

const USER: &str = r#"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223", "userName": "bjensen", "active": true,
  "name": {"givenName": "Barbara", "familyName": "Jensen"},
  "emails": [{"type": "work", "value": "bjensen@example.com", "primary": true},
             {"type": "home", "value": "babs@jensen.org"}],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"}
}"#;

#[test]
fn filter_prints_true_or_false() {
    let cases = [
        (r#"userName eq "BJENSEN""#, "true"),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            "true",
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#,
            "false",
        ),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34+02:00""#,
            "true",
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "tour""#,
            "true",
        ),
        (r#"not (active eq true) or title pr"#, "false"),
    ];
    for (filter, expected) in cases {
        let o = idflow(&["filter", "--filter", filter], USER);
        assert_eq!(o.status.code(), Some(0), "{filter}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), expected, "{filter}");
    }
    // --name=value form.
    let o = idflow(&["filter", "--filter=userName eq \"nobody\""], USER);
    assert_eq!(stdout(&o).trim(), "false");
}

#[test]
fn filter_rejects_bad_input_with_one_line() {
    let o = idflow(&["filter", "--filter", "userName eq"], USER);
    assert_bad_input(&o, "invalid filter");
    let o = idflow(&["filter", "--filter", "active gt true"], USER);
    assert_bad_input(&o, "active");
    let o = idflow(&["filter", "--filter", "userName pr"], "{not json");
    assert_bad_input(&o, "stdin");
    let o = idflow(&["filter", "--filter", "userName pr"], "[1, 2]");
    assert_bad_input(&o, "stdin");
    let long = format!("{}userName pr{}", "(".repeat(10_000), ")".repeat(10_000));
    let o = idflow(&["filter", "--filter", &long], USER);
    assert_bad_input(&o, "filter");
    let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
    let o = idflow(&["filter", "--filter", &deep], USER);
    assert_bad_input(&o, "deeper than 64");
    let o = idflow(&["filter"], USER);
    assert_bad_input(&o, "--filter");
}

#[test]
fn patch_applies_entra_shaped_requests() {
    let patch = temp_file(
        "entra-patch.json",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
                {"op": "Remove", "path": "emails[type eq \"home\"]"}
            ]
        })
        .to_string(),
    );
    let o = idflow(&["patch", "--patch", patch.to_str().unwrap()], USER);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    assert_eq!(out["active"], json!(false));
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555 0100"}])
    );
    assert_eq!(out["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["userName"], "bjensen");
}

#[test]
fn failing_patch_exits_2_and_prints_nothing() {
    let patch = temp_file(
        "bad-patch.json",
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "title", "value": "Guide"},
                {"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x@example.com"}},
                {"op": "remove"}
            ]
        })
        .to_string(),
    );
    let o = idflow(&["patch", "--patch", patch.to_str().unwrap()], USER);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = idflow(&["patch", "--patch", "/nonexistent/patch.json"], USER);
    assert_bad_input(&o, "/nonexistent/patch.json");
    let garbage = temp_file("garbage.json", "{\"Operations\": 5}");
    let o = idflow(&["patch", "--patch", garbage.to_str().unwrap()], USER);
    assert_bad_input(&o, "garbage.json");
}

#[test]
fn validate_prints_problems_as_path_and_message() {
    let o = idflow(&["validate"], USER);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    assert_eq!(out, json!([]));

    let schema = temp_file(
        "acme.json",
        &json!({
            "id": "urn:ietf:params:scim:schemas:extension:acme:1.0:User",
            "name": "AcmeUser",
            "attributes": [
                {"name": "HireDate", "type": "dateTime", "multiValued": false, "required": false},
                {"name": "SamAccountName", "type": "string", "multiValued": false, "required": true}
            ]
        })
        .to_string(),
    );
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:acme:1.0:User"],
        "userName": "bjensen",
        "emails": [{"value": 42}],
        "urn:ietf:params:scim:schemas:extension:acme:1.0:User": {"HireDate": "2024-13-01"}
    });
    let o = idflow(
        &["validate", "--schema", schema.to_str().unwrap()],
        &user.to_string(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    let issues = out.as_array().expect("an array");
    let paths: Vec<&str> = issues.iter().filter_map(|i| i["path"].as_str()).collect();
    assert!(paths.contains(&"emails[0].value"), "{paths:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("HireDate") && p.starts_with("urn:")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("SamAccountName")),
        "{paths:?}"
    );
    for issue in issues {
        let obj = issue.as_object().expect("objects");
        assert_eq!(obj.len(), 2, "only path and message: {issue}");
        assert!(obj["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Without the extension schema, the custom URN is unknown.
    let o = idflow(&["validate"], &user.to_string());
    assert_eq!(o.status.code(), Some(2));

    let bad_schema = temp_file("bad-schema.json", r#"{"id": "not a urn", "attributes": 5}"#);
    let o = idflow(
        &["validate", "--schema", bad_schema.to_str().unwrap()],
        USER,
    );
    assert_bad_input(&o, "bad-schema.json");
}

#[test]
fn help_explains_each_command_with_an_example() {
    let o = idflow(&["--help"], "");
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for cmd in ["filter", "patch", "validate"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
        let o = idflow(&[cmd, "--help"], "");
        assert_eq!(o.status.code(), Some(0));
        assert!(
            stdout(&o).contains("Example"),
            "{cmd} --help has no example"
        );
    }
    let o = idflow(&["frobnicate"], "");
    assert_bad_input(&o, "frobnicate");
}

#[test]
fn never_panics_on_hostile_input() {
    let inputs = [
        "",
        "null",
        "\"x\"",
        "{\"schemas\": 5}",
        "{\"schemas\": [1]}",
        "{\"id\": {}}",
        &format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        "{\"emails\": [{\"value\": null, \"type\": [[[]]]}]}",
    ];
    for input in inputs {
        for args in [
            vec!["filter", "--filter", "emails[type eq \"work\"].value pr"],
            vec!["validate"],
        ] {
            let o = idflow(&args, input);
            assert!(
                matches!(o.status.code(), Some(0) | Some(2)),
                "{args:?} on {input:.40}: {}",
                stderr(&o)
            );
            assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        }
    }
}

#[test]
fn expr_prints_the_value_as_json() {
    let o = idflow(
        &[
            "expr",
            "--expr",
            r#"ToLower(Join(".", [name.givenName], [name.familyName]))"#,
        ],
        USER,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    assert_eq!(out, json!("barbara.jensen"));
    let o = idflow(
        &[
            "expr",
            "--expr",
            "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]",
        ],
        USER,
    );
    assert_eq!(stdout(&o).trim(), "\"Tour Operations\"");
    let o = idflow(&["expr", "--expr", "Mid([userName], 1"], USER);
    assert_bad_input(&o, "position");
}

#[test]
fn scope_prints_true_false_or_an_explanation() {
    let rules = temp_file(
        "scope.json",
        r#"[[{"sourceAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "operator": "EQUALS", "value": "IT"}],
            [{"sourceAttribute": "active", "operator": "IS TRUE"}, {"sourceAttribute": "userName", "operator": "ENDS_WITH", "value": "sen"}]]"#,
    );
    let o = idflow(&["scope", "--rules", rules.to_str().unwrap()], USER);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "true");
    let o = idflow(
        &["scope", "--rules", rules.to_str().unwrap(), "--explain"],
        USER,
    );
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    assert_eq!(out["inScope"], json!(true));
    assert!(
        out["explanation"].as_str().unwrap().contains("group 1"),
        "{out}"
    );
    let everything = temp_file("all.json", "[]");
    let o = idflow(&["scope", "--rules", everything.to_str().unwrap()], USER);
    assert_eq!(stdout(&o).trim(), "true");
    let bad = temp_file(
        "bad-scope.json",
        r#"[[{"sourceAttribute": "department", "operator": "IS NULL", "value": "x"}]]"#,
    );
    let o = idflow(&["scope", "--rules", bad.to_str().unwrap()], USER);
    assert_bad_input(&o, "clause 0");
}

#[test]
fn map_prints_create_attributes_or_the_update_patch() {
    let mappings = temp_file(
        "mappings.json",
        &json!([
            {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
            {"targetAttribute": "displayName", "source": {"type": "Expression", "expression": "Join(\" \", [name.givenName], [name.familyName])"}},
            {"targetAttribute": "title", "source": {"type": "Constant", "value": "Guide"}, "flowType": "ObjectAddOnly"},
            {"targetAttribute": "nickName", "source": {"type": "Direct", "path": "nickName"}}
        ])
        .to_string(),
    );
    let o = idflow(&["map", "--mappings", mappings.to_str().unwrap()], USER);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    assert_eq!(
        out,
        json!({"userName": "bjensen", "displayName": "Barbara Jensen", "title": "Guide"})
    );
    let current = temp_file(
        "current.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen",
                "displayName": "Babs", "nickName": "Babs", "title": "Boss"})
        .to_string(),
    );
    let o = idflow(
        &[
            "map",
            "--mappings",
            mappings.to_str().unwrap(),
            "--target",
            current.to_str().unwrap(),
        ],
        USER,
    );
    let out: Value = serde_json::from_str(&stdout(&o)).expect("prints JSON");
    // Only displayName changes: title flows on create only, and a missing nickName never
    // clears the target's.
    assert_eq!(
        out["Operations"],
        json!([{"op": "replace", "path": "displayName", "value": "Barbara Jensen"}])
    );
    let no_matching = temp_file(
        "no-matching.json",
        r#"[{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}}]"#,
    );
    let o = idflow(&["map", "--mappings", no_matching.to_str().unwrap()], USER);
    assert_bad_input(&o, "no-matching.json");
}
