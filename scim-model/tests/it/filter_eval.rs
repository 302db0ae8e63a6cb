//! Filter evaluation against the conformance corpus (UnboundID, elimity, SCIMple, the RFC
//! examples on the RFC 7643 §8 users), plus properties over generated filters and resources.
//!
//! Every case is evaluated twice, with `Filter::matches` and with `Filter::compile(..).matches`,
//! and the two must agree. Where a peer's behaviour is not ours (`peer_specific` or contested
//! cases) the test states the choice and asserts it.

use proptest::prelude::*;
use scim_model::AttributePath;
use scim_model::{
    CompValue, CompareOp, ENTERPRISE_USER_SCHEMA, Error, Filter, Resource, SchemaRegistry,
    USER_SCHEMA,
};
use serde_json::{Map, Value, json};

use crate::support::conformance;

/// Evaluates with both engines (the compiled one for `base`), checks they agree.
fn eval(
    filter: &Filter,
    resource: &Resource,
    registry: &SchemaRegistry,
    base: &str,
) -> Result<bool, String> {
    let slow = filter
        .matches(resource, registry)
        .map_err(|e| e.to_string());
    let fast = filter
        .compile(registry, base)
        .matches(resource)
        .map_err(|e| e.to_string());
    assert_eq!(
        slow, fast,
        "matches and compiled matches disagree on `{filter}`"
    );
    slow
}

fn parse(text: &str) -> Filter {
    Filter::parse(text).unwrap_or_else(|e| panic!("corpus filter {text:?} does not parse: {e}"))
}

fn resource(v: &Value) -> Resource {
    Resource::from_value(v.clone()).unwrap()
}

/// Asserts no failure, after printing the pass count (shown with `--nocapture`).
fn report(file: &str, total: usize, failures: &[String]) {
    eprintln!("{file}: {}/{total} pass", total - failures.len());
    assert!(
        failures.is_empty(),
        "{file}: {} of {total} fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// UnboundID

/// UnboundID's evaluator suite. Its resource names an unknown base schema, so only the common
/// attributes (`meta.created` is a dateTime, `schemas` caseExact) are typed; everything else is
/// evaluated schema-less, which is how UnboundID evaluates too.
///
/// The `peer_specific` cases (`eq null` true for missing/null/`[]`, `schemas[value eq ...]`)
/// are our behaviour as well: `eq null` is `not pr`, and a primitive multi-valued attribute's
/// elements are its `value`.
#[test]
fn unboundid_eval() {
    let doc = conformance("filters/unboundid-eval.json");
    let registry = SchemaRegistry::default();
    let user = resource(&doc["resource"]);
    let base = "urn:pingidentity:schemas:baseSchema";
    let mut total = 0;
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        total += 1;
        let text = case["filter"].as_str().unwrap();
        let expected = case["expected"].as_bool().unwrap();
        let got = eval(&parse(text), &user, &registry, base);
        if got != Ok(expected) {
            failures.push(format!(
                "{} `{text}`: expected {expected}, got {got:?}",
                case["id"]
            ));
        }
    }
    let complex = &doc["complex_value_filter"];
    for case in complex["cases"].as_array().unwrap() {
        let filter = parse(case["filter"].as_str().unwrap());
        for (name, r) in complex["resources"].as_object().unwrap() {
            total += 1;
            let expected = case[name].as_bool().unwrap();
            let got = eval(&filter, &resource(r), &registry, base);
            if got != Ok(expected) {
                failures.push(format!(
                    "{} on {name}: expected {expected}, got {got:?}",
                    case["id"]
                ));
            }
        }
    }
    report("filters/unboundid-eval.json", total, &failures);
    assert_eq!(total, 68);
}

// ---------------------------------------------------------------------------------------------
// elimity

/// Moves elimity's flattened `"urn:…:enterprise:2.0:User:attr"` keys into the nested extension
/// object RFC 7643 §3.3 prescribes.
///
/// Choice: evaluation reads extension attributes in their RFC shape, through
/// `Resource::attribute`; the flattened form is a PATCH-value idiom (Entra's path-less
/// replace), which PATCH normalises, not a way resources are stored. The fixtures are nested
/// before evaluation; the filters and expected counts are elimity's.
fn nest_enterprise_keys(v: &Value) -> Value {
    let mut out = Map::new();
    let mut ext = Map::new();
    let prefix = format!("{ENTERPRISE_USER_SCHEMA}:");
    for (k, v) in v.as_object().unwrap() {
        match k.strip_prefix(&prefix) {
            Some(attr) => {
                ext.insert(attr.to_owned(), v.clone());
            }
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if !ext.is_empty() {
        out.insert(ENTERPRISE_USER_SCHEMA.to_owned(), Value::Object(ext));
    }
    Value::Object(out)
}

/// elimity's `TestValidator_PassesFilter` counts over six users (four without `schemas`, so
/// `matches` sees only the common attributes; the compiled form is told they are Users).
#[test]
fn elimity_count_cases() {
    let doc = conformance("filters/elimity-eval.json");
    let registry = SchemaRegistry::default();
    let nested: Vec<Resource> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| resource(&nest_enterprise_keys(r)))
        .collect();
    let count = |filter: &Filter, users: &[Resource]| -> Result<usize, String> {
        let mut n = 0;
        for u in users {
            if eval(filter, u, &registry, USER_SCHEMA)? {
                n += 1;
            }
        }
        Ok(n)
    };
    let mut total = 0;
    let mut failures = Vec::new();
    let cases = doc["count_cases"]["cases"].as_array().unwrap().iter();
    for case in cases.chain(doc["extension_count_cases"].as_array().unwrap()) {
        total += 1;
        let text = case["filter"].as_str().unwrap();
        let expected = case["matches"].as_u64().unwrap() as usize;
        let got = count(&parse(text), &nested);
        if got != Ok(expected) {
            failures.push(format!(
                "{} `{text}`: expected {expected}, got {got:?}",
                case["id"]
            ));
        }
    }
    report("filters/elimity-eval.json count cases", total, &failures);
    assert_eq!(total, 20);
}

/// A registry with one schema holding the single attribute an operator-matrix case defines.
fn matrix_registry(name: &str, def: &Value) -> SchemaRegistry {
    let mut attr = json!({
        "name": name,
        "type": def["type"],
        "multiValued": false,
        "required": false,
        "caseExact": def.get("caseExact").cloned().unwrap_or(json!(false)),
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none"
    });
    if def["type"] == "reference" {
        attr["referenceTypes"] = json!(["external"]);
    }
    let mut registry = SchemaRegistry::empty();
    registry
        .register_json(&json!({"id": MATRIX_SCHEMA, "name": "Matrix", "attributes": [attr]}))
        .unwrap();
    registry
}

const MATRIX_SCHEMA: &str = "urn:idflow:test:schemas:Matrix";

/// elimity's operator matrix (`op_*_test.go`): every operator on string (caseExact false),
/// reference (caseExact true), boolean, dateTime, decimal and integer attributes.
///
/// Choices where we differ from elimity's `PassesFilter`:
/// - `gt`/`ge`/`lt`/`le` on a boolean (EL-M60..63) are an `InvalidComparison` error, not a
///   silent non-match: RFC 7644 §3.4.2.2 says such a filter fails with `invalidFilter`, and
///   elimity's own `Validate()` rejects it (see `elimity_validate_rejects`).
///
/// The `peer_specific` `co`/`sw`/`ew` cases on non-strings agree with ours: those operators
/// compare the text of both sides (`true`; numbers in shortest form, `1.0` being `1`; a
/// dateTime's raw string).
#[test]
fn elimity_operator_matrix() {
    let doc = conformance("filters/elimity-eval.json");
    let cases = doc["operator_matrix"]["cases"].as_array().unwrap();
    let contested = ["EL-M60", "EL-M61", "EL-M62", "EL-M63"];
    let mut failures = Vec::new();
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let (name, def) = case["schema"].as_object().unwrap().iter().next().unwrap();
        let registry = matrix_registry(name, def);
        let filter = parse(case["filter"].as_str().unwrap());
        // `matches` needs the resource to name its schema; the compiled form is told.
        let mut declared = case["resource"].clone();
        declared["schemas"] = json!([MATRIX_SCHEMA]);
        let got = eval(&filter, &resource(&declared), &registry, MATRIX_SCHEMA);
        let fast = filter
            .compile(&registry, MATRIX_SCHEMA)
            .matches(&resource(&case["resource"]));
        assert_eq!(got, fast.map_err(|e| e.to_string()), "{id}");
        let ok = if contested.contains(&id) {
            matches!(&got, Err(e) if e.contains("cannot order boolean"))
        } else {
            got == Ok(case["expected"].as_bool().unwrap())
        };
        if !ok {
            failures.push(format!(
                "{id} `{filter}` on {}: expected {}, got {got:?}",
                case["resource"], case["expected"]
            ));
        }
    }
    report(
        "filters/elimity-eval.json operator matrix",
        cases.len(),
        &failures,
    );
    assert_eq!(cases.len(), 144);
}

/// elimity's `Validate()` rejects ordering on boolean and binary attributes; evaluation gives
/// `InvalidComparison`, whether or not the resource has the attribute.
#[test]
fn elimity_validate_rejects() {
    let doc = conformance("filters/elimity-eval.json");
    let mut registry = SchemaRegistry::default();
    registry
        .register_json(&json!({"id": MATRIX_SCHEMA, "attributes": [
            {"name": "bin", "type": "binary", "multiValued": false, "caseExact": true}
        ]}))
        .unwrap();
    let cases = doc["validate_rejects"]["cases"].as_array().unwrap();
    for case in cases {
        let text = case.as_str().unwrap();
        let filter = parse(text);
        let base = if text.starts_with("bin") {
            MATRIX_SCHEMA
        } else {
            USER_SCHEMA
        };
        for r in [
            json!({"schemas": [base]}),
            json!({"schemas": [base], "active": true, "bin": "aGVsbG8="}),
        ] {
            let err = filter.matches(&resource(&r), &registry).unwrap_err();
            assert!(
                matches!(err, Error::InvalidComparison { .. }),
                "{text}: {err}"
            );
            assert_eq!(err.status(), 400);
            assert_eq!(err.scim_type().unwrap().as_str(), "invalidFilter");
            let err = filter
                .compile(&registry, base)
                .matches(&resource(&r))
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidComparison { .. }),
                "{text}: {err}"
            );
        }
    }
    eprintln!(
        "filters/elimity-eval.json validate_rejects: {}/{} pass",
        cases.len(),
        cases.len()
    );
}

// ---------------------------------------------------------------------------------------------
// SCIMple

/// SCIMple's in-memory matcher cases. Its users have no `schemas`; they are Users, so they are
/// evaluated as Users (compiled for the User schema, and with `schemas` added for `matches`).
/// SP-E8 (`password eq ...` never matches) relies on the User schema's `returned: never`.
#[test]
fn scimple_match_cases() {
    let doc = conformance("filters/scimple.json");
    let registry = SchemaRegistry::default();
    let eval_doc = &doc["eval"];
    let mut total = 0;
    let mut failures = Vec::new();
    for case in eval_doc["cases"].as_array().unwrap() {
        let text = case["filter"].as_str().unwrap();
        let filter = parse(text);
        for user in ["user1", "user2"] {
            let Some(expected) = case[user].as_bool() else {
                continue;
            };
            total += 1;
            let mut declared = eval_doc[user].clone();
            declared["schemas"] = json!([USER_SCHEMA]);
            let got = eval(&filter, &resource(&declared), &registry, USER_SCHEMA);
            let undeclared = filter
                .compile(&registry, USER_SCHEMA)
                .matches(&resource(&eval_doc[user]));
            assert_eq!(got, undeclared.map_err(|e| e.to_string()), "{}", case["id"]);
            if got != Ok(expected) {
                failures.push(format!(
                    "{} `{text}` on {user}: expected {expected}, got {got:?}",
                    case["id"]
                ));
            }
        }
    }
    report("filters/scimple.json eval", total, &failures);
    assert_eq!(total, 21);
}

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.4.2.2 examples on the RFC 7643 §8.2 and §8.3 users

/// Expected results derived by reading the RFC: the full user (§8.2) and the enterprise user
/// (§8.3) are the same Babs Jensen (`userName` "bjensen@example.com", `userType` Employee,
/// `title` Tour Guide, `meta.lastModified` 2011-05-13T04:42:34Z, a work email at example.com),
/// the second with the Enterprise User extension.
const RFC_EXPECTED: [(&str, bool, bool); 19] = [
    // userName is "bjensen@example.com": no `eq "john"`, `eq "bjensen"` or `sw "J"`.
    ("RFC-F1", false, false),
    ("RFC-F2", false, false),
    ("RFC-F3", false, false),
    ("RFC-F4", false, false),
    ("RFC-F5", false, false),
    ("RFC-F6", false, false),
    ("RFC-F7", true, true),
    // lastModified equals the literal: not gt, ge, not lt, le.
    ("RFC-F8", false, false),
    ("RFC-F9", true, true),
    ("RFC-F10", false, false),
    ("RFC-F11", true, true),
    ("RFC-F12", true, true),
    ("RFC-F13", true, true),
    // Only the §8.3 user lists the enterprise schema.
    ("RFC-F14", false, true),
    ("RFC-F15", true, true),
    ("RFC-F16", false, false),
    ("RFC-F17", true, true),
    ("RFC-F18", true, true),
    ("RFC-F19", true, true),
];

fn rfc_users() -> [Resource; 2] {
    [
        resource(&conformance("rfc/rfc7643-8.2-user-full.json")),
        resource(&conformance("rfc/rfc7643-8.3-enterprise_user.json")),
    ]
}

#[test]
fn rfc_examples_on_rfc_users() {
    let doc = conformance("filters/rfc7644-3.4.2.2-examples.json");
    let registry = SchemaRegistry::default();
    let [full, enterprise] = rfc_users();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), RFC_EXPECTED.len());
    let mut failures = Vec::new();
    let mut table = String::new();
    for (case, (id, on_full, on_enterprise)) in cases.iter().zip(RFC_EXPECTED) {
        assert_eq!(case["id"], id);
        let text = case["filter"].as_str().unwrap();
        let filter = parse(text);
        let got = (
            eval(&filter, &full, &registry, USER_SCHEMA),
            eval(&filter, &enterprise, &registry, USER_SCHEMA),
        );
        table.push_str(&format!(
            "{id:7} {:5} {:5} {text}\n",
            fmt(&got.0),
            fmt(&got.1)
        ));
        if got != (Ok(on_full), Ok(on_enterprise)) {
            failures.push(format!(
                "{id} `{text}`: expected ({on_full}, {on_enterprise}), got {got:?}"
            ));
        }
    }
    report(
        "filters/rfc7644-3.4.2.2-examples.json on rfc7643 §8.2/§8.3",
        cases.len() * 2,
        &failures,
    );
    insta::assert_snapshot!("rfc_examples_on_rfc_users", table);
}

fn fmt(r: &Result<bool, String>) -> String {
    match r {
        Ok(b) => b.to_string(),
        Err(_) => "error".to_owned(),
    }
}

/// More filters on the RFC users, each exercising one rule (expectations from the RFC texts
/// and the schemas of RFC 7643 §8.7).
#[test]
fn schema_rules_on_rfc_users() {
    let registry = SchemaRegistry::default();
    let [full, enterprise] = rfc_users();
    let ent = ENTERPRISE_USER_SCHEMA;
    // (filter, on the §8.2 user, on the §8.3 user); an error is given by part of its message.
    type Expect = Result<bool, &'static str>;
    let cases: Vec<(String, Expect, Expect)> = vec![
        // userName is caseExact=false (RFC 7643 §4.1.1).
        (
            r#"userName eq "BJensen@Example.COM""#.into(),
            Ok(true),
            Ok(true),
        ),
        // id and externalId are caseExact (RFC 7643 §3.1), meta.resourceType too.
        (
            r#"id eq "2819C223-7F76-453A-919D-413861904646""#.into(),
            Ok(false),
            Ok(false),
        ),
        (r#"externalId eq "701984""#.into(), Ok(true), Ok(true)),
        (
            r#"meta.resourceType eq "user""#.into(),
            Ok(false),
            Ok(false),
        ),
        (r#"meta.resourceType eq "User""#.into(), Ok(true), Ok(true)),
        // dateTimes compare as instants, whatever the offset.
        (
            r#"meta.created eq "2010-01-23T05:56:22+01:00""#.into(),
            Ok(true),
            Ok(true),
        ),
        (
            r#"meta.created lt "2010-01-22T23:56:22.001-05:00""#.into(),
            Ok(true),
            Ok(true),
        ),
        (
            r#"meta.created gt "soon""#.into(),
            Err("not a dateTime"),
            Err("not a dateTime"),
        ),
        // Booleans: eq only.
        ("active eq true".into(), Ok(true), Ok(true)),
        (
            "active gt false".into(),
            Err("cannot order boolean"),
            Err("cannot order boolean"),
        ),
        // x509Certificates.value is binary: no ordering, case-exact substring.
        (
            r#"x509Certificates.value ge "M""#.into(),
            Err("cannot order binary"),
            Err("cannot order binary"),
        ),
        (
            r#"x509Certificates.value sw "MIIDQzCC""#.into(),
            Ok(true),
            Ok(true),
        ),
        (
            r#"x509Certificates.value sw "miidqzcc""#.into(),
            Ok(false),
            Ok(false),
        ),
        // password is returned=never: never matches, and counts as unassigned.
        (r#"password eq "t1meMa$heen""#.into(), Ok(false), Ok(false)),
        ("password pr".into(), Ok(false), Ok(false)),
        // A complex multi-valued attribute without sub-attribute compares `value`.
        (
            r#"phoneNumbers eq "555-555-4444""#.into(),
            Ok(true),
            Ok(true),
        ),
        (r#"groups co "71ddacd2""#.into(), Ok(true), Ok(true)),
        (
            r#"groups.display eq "tour guides""#.into(),
            Ok(true),
            Ok(true),
        ),
        (r#"ims[type eq "xmpp"]"#.into(), Ok(false), Ok(false)),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#.into(),
            Ok(false),
            Ok(false),
        ),
        (
            r#"addresses[type eq "work" and locality eq "hollywood"]"#.into(),
            Ok(true),
            Ok(true),
        ),
        // Inside a value filter, the sub-attributes' definitions apply: x509Certificates.value
        // is binary (case-exact), ims.primary boolean (no ordering, even when absent).
        (
            r#"x509Certificates[value sw "MIIDQzCC"]"#.into(),
            Ok(true),
            Ok(true),
        ),
        (
            r#"x509Certificates[value sw "miidqzcc"]"#.into(),
            Ok(false),
            Ok(false),
        ),
        (
            r#"ims[type gt "a" and primary gt true]"#.into(),
            Err("cannot order boolean"),
            Err("cannot order boolean"),
        ),
        (
            r#"ims[type lt "a" and primary gt true]"#.into(),
            Ok(false),
            Ok(false),
        ),
        // Entra's uniqueness check: a value filter followed by a sub-attribute.
        (
            r#"emails[type eq "work"].value eq "bjensen@example.com""#.into(),
            Ok(true),
            Ok(true),
        ),
        (
            r#"emails[type eq "home"].value eq "bjensen@example.com""#.into(),
            Ok(false),
            Ok(false),
        ),
        // `ne` is `not eq`; `eq null` is `not pr`.
        (r#"emails.type ne "work""#.into(), Ok(false), Ok(false)),
        ("nickName ne null".into(), Ok(true), Ok(true)),
        ("name.middleName eq null".into(), Ok(false), Ok(false)),
        ("costCenter eq null".into(), Ok(true), Ok(true)),
        // Extension attributes need their URN.
        (
            format!(r#"{ent}:employeeNumber eq "701984""#),
            Ok(false),
            Ok(true),
        ),
        (
            format!(r#"{ent}:manager.displayName eq "JOHN SMITH""#),
            Ok(false),
            Ok(true),
        ),
        (format!("{ent}:manager pr"), Ok(false), Ok(true)),
        (
            format!(r#"{}:costCenter eq "4130""#, ent.to_uppercase()),
            Ok(false),
            Ok(true),
        ),
        (r#"employeeNumber eq "701984""#.into(), Ok(false), Ok(false)),
        (
            format!(r#"{USER_SCHEMA}:name.givenName eq "barbara""#),
            Ok(true),
            Ok(true),
        ),
        // Literals of another type do not match; null ordering is an error.
        ("userName eq 5".into(), Ok(false), Ok(false)),
        (
            "userName lt null".into(),
            Err("cannot compare with null"),
            Err("cannot compare with null"),
        ),
    ];
    for (text, on_full, on_enterprise) in &cases {
        let filter = parse(text);
        for (r, want) in [(&full, on_full), (&enterprise, on_enterprise)] {
            let got = eval(&filter, r, &registry, USER_SCHEMA);
            match (want, &got) {
                (Ok(b), Ok(g)) => assert_eq!(b, g, "`{text}`"),
                (Err(part), Err(msg)) => assert!(msg.contains(part), "`{text}`: {msg}"),
                _ => panic!("`{text}`: expected {want:?}, got {got:?}"),
            }
        }
    }
}

/// The messages a client sees for comparisons that cannot be evaluated.
#[test]
fn invalid_comparison_messages() {
    let registry = SchemaRegistry::default();
    let [full, _] = rfc_users();
    let lines: Vec<String> = [
        "active gt true",
        "active lt 1",
        r#"x509Certificates gt "a""#,
        r#"meta.lastModified ge "2011-13-01T00:00:00Z""#,
        "meta.created eq 20100123",
        "title co null",
        r#"emails[primary le false]"#,
    ]
    .iter()
    .map(|text| {
        let err = parse(text).matches(&full, &registry).unwrap_err();
        format!("{text}\n  -> {err}")
    })
    .collect();
    insta::assert_snapshot!("invalid_comparison_messages", lines.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Properties over generated filters and resources

const NAMES: [&str; 6] = ["bjensen", "BJensen", "élodie", "ÉLODIE", "x", ""];
const TIMES: [&str; 4] = [
    "2011-05-13T04:42:34Z",
    "2011-05-13T06:42:34+02:00",
    "2011-05-13T04:42:35.5Z",
    "not a time",
];

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(|i| json!(i)),
        (-3i64..4).prop_map(|i| json!(i as f64 + 0.5)),
        prop::sample::select(NAMES.to_vec()).prop_map(|s| json!(s)),
        prop::sample::select(TIMES.to_vec()).prop_map(|s| json!(s)),
    ]
}

fn comp_value(v: Value) -> CompValue {
    match v {
        Value::Null => CompValue::Null,
        Value::Bool(b) => CompValue::Bool(b),
        Value::Number(n) => CompValue::Number(n),
        Value::String(s) => CompValue::String(s),
        _ => CompValue::Null,
    }
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

/// Top-level paths: typed (string, boolean, dateTime, binary, complex, caseExact), URN-qualified,
/// hidden (`password`) and unknown ones.
fn top_path() -> impl Strategy<Value = AttributePath> {
    let plain = prop::sample::select(vec![
        "userName",
        "displayName",
        "active",
        "emails",
        "title",
        "password",
        "id",
        "nick",
        "count",
        "schemas",
    ])
    .prop_map(AttributePath::new);
    let sub = prop::sample::select(vec![
        ("emails", "value"),
        ("emails", "type"),
        ("emails", "primary"),
        ("name", "givenName"),
        ("meta", "lastModified"),
        ("meta", "resourceType"),
        ("x509Certificates", "value"),
        ("nick", "value"),
    ])
    .prop_map(|(n, s)| AttributePath::new(n).with_sub_attribute(s));
    let urn = prop::sample::select(vec![
        (ENTERPRISE_USER_SCHEMA, "employeeNumber", None),
        (ENTERPRISE_USER_SCHEMA, "manager", Some("value")),
        (USER_SCHEMA, "userName", None),
    ])
    .prop_map(|(u, n, s)| {
        let p = AttributePath::new(n).with_urn(u);
        match s {
            Some(s) => p.with_sub_attribute(s),
            None => p,
        }
    });
    prop_oneof![4 => plain, 3 => sub, 1 => urn]
}

/// A filter on the sub-attributes of one email.
fn element_filter() -> impl Strategy<Value = Filter> {
    let leaf = (
        prop::sample::select(vec!["value", "type", "primary", "display"]),
        op(),
        literal(),
    )
        .prop_map(|(n, op, v)| Filter::Compare {
            path: AttributePath::new(n),
            op,
            value: comp_value(v),
        });
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::negate),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let compare = (top_path(), op(), literal()).prop_map(|(path, op, v)| Filter::Compare {
        path,
        op,
        value: comp_value(v),
    });
    let present = top_path().prop_map(Filter::Present);
    let value_path = element_filter().prop_map(|f| Filter::ValuePath {
        path: AttributePath::new("emails"),
        filter: Box::new(f),
    });
    let filtered = (element_filter(), op(), literal()).prop_map(|(f, op, v)| Filter::Compare {
        path: AttributePath::new("emails")
            .with_filter(f)
            .with_sub_attribute("value"),
        op,
        value: comp_value(v),
    });
    let leaf = prop_oneof![6 => compare, 2 => present, 2 => value_path, 1 => filtered];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::negate),
        ]
    })
}

fn resource_strategy() -> impl Strategy<Value = Resource> {
    let email = (
        literal(),
        prop::sample::select(vec!["work", "Work", "home"]),
        any::<bool>(),
    )
        .prop_map(|(v, t, p)| json!({"value": v, "type": t, "primary": p}));
    (
        prop::option::of(literal()),
        prop::option::of(literal()),
        prop::option::of(any::<bool>()),
        prop::collection::vec(email, 0..3),
        prop::option::of(literal()),
        prop::option::of(literal()),
        any::<bool>(),
        prop::option::of(prop::sample::select(TIMES.to_vec())),
        prop::sample::select(NAMES.to_vec()),
        prop::sample::select(NAMES.to_vec()),
    )
        .prop_map(
            |(user_name, display, active, emails, nick, emp, ext, modified, kind, cert)| {
                // `id`, `meta.resourceType` are caseExact, `x509Certificates.value` binary: drawn
                // from the same case-variant pool as the literals.
                let mut r = json!({"schemas": [USER_SCHEMA], "id": kind, "emails": emails});
                let o = r.as_object_mut().unwrap();
                for (k, v) in [
                    ("userName", user_name),
                    ("displayName", display),
                    ("nick", nick),
                ] {
                    if let Some(v) = v {
                        o.insert(k.into(), v);
                    }
                }
                if let Some(a) = active {
                    o.insert("active".into(), json!(a));
                }
                o.insert("password".into(), json!("bjensen"));
                o.insert("x509Certificates".into(), json!([{"value": cert}]));
                o.insert("name".into(), json!({"givenName": "Élodie"}));
                let mut meta = json!({"resourceType": kind});
                if let Some(m) = modified {
                    meta["lastModified"] = json!(m);
                }
                o.insert("meta".into(), meta);
                if ext {
                    o.insert(
                        ENTERPRISE_USER_SCHEMA.into(),
                        json!({
                            "employeeNumber": emp.unwrap_or(json!("701984")),
                            "manager": {"value": "x"}
                        }),
                    );
                }
                Resource::from_value(r).unwrap()
            },
        )
}

fn outcome(r: scim_model::Result<bool>) -> Result<bool, String> {
    r.map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `Filter::matches` and the compiled filter give the same answer (or the same error).
    #[test]
    fn compiled_agrees_with_interpreted(f in filter(), r in resource_strategy()) {
        let registry = SchemaRegistry::default();
        let slow = outcome(f.matches(&r, &registry));
        let fast = outcome(f.compile(&registry, USER_SCHEMA).matches(&r));
        prop_assert_eq!(slow, fast);
    }

    /// `not (not (f))` evaluates as `f`, including its errors.
    #[test]
    fn double_negation_is_identity(f in filter(), r in resource_strategy()) {
        let registry = SchemaRegistry::default();
        let once = outcome(f.matches(&r, &registry));
        let twice = f.clone().negate().negate();
        prop_assert_eq!(&once, &outcome(twice.matches(&r, &registry)));
        prop_assert_eq!(&once, &outcome(twice.compile(&registry, USER_SCHEMA).matches(&r)));
    }

    /// `and`/`or` follow boolean logic whenever both operands evaluate without error.
    #[test]
    fn connectives_are_boolean(a in filter(), b in filter(), r in resource_strategy()) {
        let registry = SchemaRegistry::default();
        let (x, y) = (outcome(a.matches(&r, &registry)), outcome(b.matches(&r, &registry)));
        if let (Ok(x), Ok(y)) = (&x, &y) {
            prop_assert_eq!(outcome(a.clone().and(b.clone()).matches(&r, &registry)), Ok(*x && *y));
            prop_assert_eq!(outcome(a.clone().or(b.clone()).matches(&r, &registry)), Ok(*x || *y));
        }
        // Short-circuit: a decided left operand hides the right one's error.
        if x == Ok(false) {
            prop_assert_eq!(outcome(a.clone().and(b.clone()).matches(&r, &registry)), Ok(false));
        }
        if x == Ok(true) {
            prop_assert_eq!(outcome(a.or(b).matches(&r, &registry)), Ok(true));
        }
    }
}
