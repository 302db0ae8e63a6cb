#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Scoping filters: the reference's examples (S1–S4, the portal doc's example), every operator,
//! multi-valued attributes, Cloud Sync scopes, load-time errors and explanations.

use proptest::prelude::*;
use scim_model::Resource;
use scoping::filter::{Clause, CompiledScopingFilter, MultivaluedComparison, Operator};
use scoping::{Error, ScopingFilter};
use serde_json::{Value, json};

fn user(v: Value) -> Resource {
    Resource::from_value(v).unwrap()
}

fn filter(v: Value) -> CompiledScopingFilter {
    CompiledScopingFilter::from_json_str(&v.to_string()).unwrap()
}

fn one(attr: &str, op: &str, value: Value) -> CompiledScopingFilter {
    if value.is_null() {
        filter(json!([[{"sourceAttribute": attr, "operator": op}]]))
    } else {
        filter(json!([[{"sourceAttribute": attr, "operator": op, "value": value}]]))
    }
}

fn check(attr: &str, op: &str, value: Value, attribute: Value) -> bool {
    let f = one(attr, op, value);
    let mut obj = serde_json::Map::new();
    if !attribute.is_null() || attr == "x" {
        obj.insert(attr.to_owned(), attribute);
    }
    let r = user(Value::Object(obj));
    let m = f.matches(&r);
    assert_eq!(m, f.explain(&r).in_scope);
    m
}

fn load_err(v: Value) -> Error {
    CompiledScopingFilter::from_json_str(&v.to_string()).unwrap_err()
}

#[test]
fn s1_regex_match_upn_in_domain() {
    let f = one("userPrincipalName", "REGEX MATCH", json!(r".*\@domain.com"));
    assert!(f.matches(&user(json!({"userPrincipalName": "ann@domain.com"}))));
    assert!(!f.matches(&user(json!({"userPrincipalName": "ann@other.com"}))));
    assert!(!f.matches(&user(json!({}))));
}

#[test]
fn s2_not_regex_match_upn_in_domain() {
    let f = one(
        "userPrincipalName",
        "NOT REGEX MATCH",
        json!(r".*\@domain.com"),
    );
    assert!(!f.matches(&user(json!({"userPrincipalName": "ann@domain.com"}))));
    assert!(f.matches(&user(json!({"userPrincipalName": "ann@other.com"}))));
    // False on an empty value, as Entra.
    assert!(!f.matches(&user(json!({}))));
    assert!(!f.matches(&user(json!({"userPrincipalName": ""}))));
}

#[test]
fn s3_equals_is_case_sensitive() {
    let f = one("department", "EQUALS", json!("sales"));
    assert!(f.matches(&user(json!({"department": "sales"}))));
    assert!(!f.matches(&user(json!({"department": "Sales"}))));
    // And the extension's case-insensitive variant takes both.
    let f = one("department", "EQUALS_IGNORE_CASE", json!("sales"));
    assert!(f.matches(&user(json!({"department": "Sales"}))));
}

#[test]
fn s4_worker_id_range_by_regex() {
    let f = one(
        "workerID",
        "REGEX MATCH",
        json!("(1[0-9][0-9][0-9][0-9][0-9][0-9])"),
    );
    assert!(f.matches(&user(json!({"workerID": "1000000"}))));
    assert!(f.matches(&user(json!({"workerID": "1999999"}))));
    assert!(f.matches(&user(json!({"workerID": 1500000}))));
    assert!(!f.matches(&user(json!({"workerID": "999999"}))));
    assert!(!f.matches(&user(json!({"workerID": "2000000"}))));
    // Unanchored, as .NET's Regex.IsMatch: a longer id that contains such a run matches too.
    assert!(f.matches(&user(json!({"workerID": "21000000"}))));
}

#[test]
fn regex_example_10_to_99() {
    let f = one("n", "REGEX MATCH", json!("([1-9][0-9])"));
    assert!(f.matches(&user(json!({"n": "10"}))));
    assert!(f.matches(&user(json!({"n": "99"}))));
    assert!(!f.matches(&user(json!({"n": "9"}))));
    assert!(!f.matches(&user(json!({"n": "05"}))));
}

#[test]
fn portal_doc_example_filter() {
    // State EQUALS "New York" AND department EQUALS Engineering AND employee ID between
    // 1,000,000 and 2,000,000 AND jobTitle IS NOT NULL.
    let f = filter(json!([[
        {"sourceAttribute": "State", "operator": "EQUALS", "value": "New York"},
        {"sourceAttribute": "department", "operator": "EQUALS", "value": "Engineering"},
        {"sourceAttribute": "employeeId", "operator": "Greater_Than_OR_EQUALS", "value": "1000000"},
        {"sourceAttribute": "employeeId", "operator": "Less_Than_OR_EQUALS", "value": 2000000},
        {"sourceAttribute": "jobTitle", "operator": "IS NOT NULL"}
    ]]));
    let base = json!({"state": "New York", "Department": "Engineering", "employeeId": "1500000", "jobTitle": "Dev"});
    assert!(f.matches(&user(base.clone())));
    let mut v = base.clone();
    v["employeeId"] = json!("2000001");
    assert!(!f.matches(&user(v)));
    let mut v = base.clone();
    v["jobTitle"] = json!("");
    assert!(!f.matches(&user(v)));
    let mut v = base;
    v["state"] = json!("new york");
    assert!(!f.matches(&user(v)));
}

#[test]
fn every_entra_operator() {
    assert!(check("d", "EQUALS", json!("Sales"), json!("Sales")));
    assert!(!check("d", "EQUALS", json!("Sales"), json!("sales")));
    assert!(check("d", "NOT EQUALS", json!("Sales"), json!("sales")));
    assert!(!check("d", "NOT EQUALS", json!("Sales"), json!("Sales")));
    assert!(!check("d", "NOT EQUALS", json!("Sales"), Value::Null));
    // `&`: the attribute occurs inside the value.
    assert!(check("d", "&", json!("Sales,Marketing"), json!("Sales")));
    assert!(!check("d", "&", json!("Sales,Marketing"), json!("IT")));
    assert!(check("d", "!&", json!("Sales,Marketing"), json!("IT")));
    assert!(!check(
        "d",
        "!&",
        json!("Sales,Marketing"),
        json!("Marketing")
    ));
    assert!(check(
        "d",
        "ENDS_WITH",
        json!("@contoso.com"),
        json!("a@contoso.com")
    ));
    assert!(!check(
        "d",
        "ENDS_WITH",
        json!("@contoso.com"),
        json!("a@Contoso.com")
    ));
    assert!(check("d", "Includes", json!("ale"), json!("Sales")));
    assert!(!check("d", "Includes", json!("ALE"), json!("Sales")));
    assert!(check("d", "IS TRUE", Value::Null, json!(true)));
    assert!(check("d", "IS TRUE", Value::Null, json!("True")));
    assert!(!check("d", "IS TRUE", Value::Null, json!(false)));
    assert!(!check("d", "IS TRUE", Value::Null, Value::Null));
    assert!(check("d", "IS FALSE", Value::Null, json!(false)));
    assert!(check("d", "IS FALSE", Value::Null, json!("False")));
    assert!(!check("d", "IS FALSE", Value::Null, Value::Null));
    assert!(check("d", "IS NULL", Value::Null, Value::Null));
    assert!(check("d", "IS NULL", Value::Null, json!("")));
    assert!(check("d", "IS NULL", Value::Null, json!([])));
    assert!(!check("d", "IS NULL", Value::Null, json!("x")));
    assert!(check("d", "IS NOT NULL", Value::Null, json!("x")));
    assert!(!check("d", "IS NOT NULL", Value::Null, json!("")));
    assert!(check("d", "Greater_Than", json!(5), json!(6)));
    assert!(!check("d", "Greater_Than", json!(5), json!(5)));
    assert!(check("d", "Greater_Than", json!("5"), json!("10")));
    assert!(check("d", "Greater_Than_OR_EQUALS", json!(5), json!(5)));
    assert!(!check("d", "Greater_Than_OR_EQUALS", json!(5), json!(4)));
    assert!(!check("d", "Greater_Than", json!(5), json!("abc")));
}

#[test]
fn idflow_operators() {
    assert!(check("d", "Less_Than", json!(5), json!(4)));
    assert!(!check("d", "Less_Than", json!(5), json!(5)));
    assert!(check("d", "Less_Than_OR_EQUALS", json!(5.5), json!(5.5)));
    assert!(check("d", "STARTS_WITH", json!("Sa"), json!("Sales")));
    assert!(!check("d", "STARTS_WITH", json!("sa"), json!("Sales")));
    assert!(check(
        "d",
        "STARTS_WITH_IGNORE_CASE",
        json!("sa"),
        json!("Sales")
    ));
    assert!(check(
        "d",
        "ENDS_WITH_IGNORE_CASE",
        json!("@CONTOSO.com"),
        json!("a@contoso.COM")
    ));
    assert!(check(
        "d",
        "Includes_IGNORE_CASE",
        json!("ALE"),
        json!("Sales")
    ));
    assert!(!check(
        "d",
        "Includes_IGNORE_CASE",
        json!("xyz"),
        json!("Sales")
    ));
    assert!(check(
        "d",
        "NOT_EQUALS_IGNORE_CASE",
        json!("it"),
        json!("Sales")
    ));
    assert!(!check(
        "d",
        "NOT_EQUALS_IGNORE_CASE",
        json!("sales"),
        json!("Sales")
    ));
    assert!(check(
        "d",
        "REGEX MATCH",
        json!("(?i)^sales$"),
        json!("SALES")
    ));
}

#[test]
fn datetime_comparisons_are_instants() {
    let hired = "2026-01-15T09:00:00+01:00";
    assert!(check(
        "d",
        "Greater_Than",
        json!("2026-01-15T07:59:59Z"),
        json!(hired)
    ));
    assert!(!check(
        "d",
        "Greater_Than",
        json!("2026-01-15T08:00:00Z"),
        json!(hired)
    ));
    assert!(check(
        "d",
        "Greater_Than_OR_EQUALS",
        json!("2026-01-15T08:00:00Z"),
        json!(hired)
    ));
    assert!(check("d", "Less_Than", json!("2026-01-16"), json!(hired)));
    assert!(!check(
        "d",
        "Less_Than",
        json!("2026-01-16"),
        json!("not a date")
    ));
}

#[test]
fn numbers_and_booleans_compare_as_entra_renders_them() {
    assert!(check("d", "EQUALS", json!("42"), json!(42)));
    assert!(check("d", "EQUALS", json!(42), json!("42")));
    assert!(check("d", "EQUALS", json!("True"), json!(true)));
    assert!(check("d", "Includes", json!("23"), json!(1234)));
    // Integers compare exactly, beyond f64's precision.
    assert!(check(
        "d",
        "Greater_Than",
        json!(9007199254740992_i64),
        json!(9007199254740993_i64)
    ));
}

#[test]
fn multi_valued_all_and_any() {
    let r = user(json!({"emails": [
        {"type": "work", "value": "a@contoso.com"},
        {"type": "home", "value": "a@gmail.com"}
    ]}));
    let all = one("emails.value", "ENDS_WITH", json!("@contoso.com"));
    assert!(!all.matches(&r));
    assert_eq!(
        all.explain(&r).to_string(),
        "out of scope: group 0: emails.value ENDS_WITH '@contoso.com' failed: emails.value is ['a@contoso.com', 'a@gmail.com']"
    );
    let any = filter(
        json!([[{"sourceAttribute": "emails.value", "operator": "ENDS_WITH",
        "value": "@contoso.com", "multivaluedComparisonType": "Any"}]]),
    );
    assert!(any.matches(&r));
    // A value-filter path picks the elements.
    let work = one(
        r#"emails[type eq "work"].value"#,
        "ENDS_WITH",
        json!("@contoso.com"),
    );
    assert!(work.matches(&r));
    // Filter strings ignore case; other operators go through scim-model's filter evaluation.
    assert!(
        one(
            r#"emails[type eq "WORK"].value"#,
            "EQUALS",
            json!("a@contoso.com")
        )
        .matches(&r)
    );
    assert!(
        one(
            r#"emails[value ew "gmail.com"].type"#,
            "EQUALS",
            json!("home")
        )
        .matches(&r)
    );
    assert!(one(r#"emails[type eq "fax"].value"#, "IS NULL", Value::Null).matches(&r));
    // Arrays of strings, and complex values read through their `value`.
    let r = user(json!({"tags": ["a", "b"], "roles": [{"value": "admin"}, {"value": "user"}]}));
    assert!(one("tags", "IS NOT NULL", Value::Null).matches(&r));
    assert!(!one("tags", "EQUALS", json!("a")).matches(&r));
    let f = ScopingFilter::new(vec![vec![
        Clause::new("roles", "EQUALS", "admin").with_multivalued(MultivaluedComparison::Any),
    ]])
    .compile()
    .unwrap();
    assert!(f.matches(&r));
}

#[test]
fn urn_qualified_source_attributes() {
    let r = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "ann",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": {"value": "42"}}
    }));
    assert!(
        one(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "EQUALS",
            json!("Sales")
        )
        .matches(&r)
    );
    assert!(
        one(
            "URN:IETF:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "EQUALS",
            json!("42")
        )
        .matches(&r)
    );
    assert!(
        one(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "EQUALS",
            json!("ann")
        )
        .matches(&r)
    );
}

#[test]
fn groups_or_clauses_and_and_empty_filter() {
    let f = filter(json!([
        [{"sourceAttribute": "department", "operator": "EQUALS", "value": "IT"},
         {"sourceAttribute": "active", "operator": "IS TRUE"}],
        [{"sourceAttribute": "title", "operator": "STARTS_WITH", "value": "Chief"}]
    ]));
    assert!(f.matches(&user(json!({"department": "IT", "active": true}))));
    assert!(!f.matches(&user(json!({"department": "IT", "active": false}))));
    assert!(f.matches(&user(json!({"title": "Chief Executive"}))));
    assert!(!f.matches(&user(json!({}))));
    let empty = filter(json!([]));
    assert!(empty.is_empty());
    assert!(empty.matches(&user(json!({}))));
    assert_eq!(
        empty.explain(&user(json!({}))).to_string(),
        "in scope: the scoping filter is empty"
    );
}

#[test]
fn cloud_sync_member_of_any_group() {
    let f = filter(
        json!([[{"sourceAttribute": "groups", "operator": "MEMBER_OF_ANY",
        "value": ["6F1B7B1A-0000-0000-0000-000000000001", "g2"]}]]),
    );
    assert!(f.matches(&user(json!({"groups": [{"value": "g9"}, {"value": "6f1b7b1a-0000-0000-0000-000000000001", "display": "Pilot"}]}))));
    assert!(f.matches(&user(json!({"groups": [{"value": "g2"}]}))));
    assert!(!f.matches(&user(json!({"groups": [{"value": "g3"}]}))));
    assert!(!f.matches(&user(json!({}))));
}

#[test]
fn cloud_sync_under_selected_ous() {
    let dn = "urn:ietf:params:scim:schemas:extension:idflow:2.0:User:distinguishedName";
    let f = filter(json!([[{"sourceAttribute": dn, "operator": "UNDER_OU",
        "value": ["OU=Sales,DC=contoso,DC=com", r"OU=R\,D,DC=contoso,DC=com"]}]]));
    let u = |d: &str| {
        user(
            json!({"urn:ietf:params:scim:schemas:extension:idflow:2.0:User": {"distinguishedName": d}}),
        )
    };
    assert!(f.matches(&u("CN=Ann Lee,OU=West,OU=Sales,DC=contoso,DC=com")));
    assert!(f.matches(&u("cn=Ann Lee, ou=SALES, dc=contoso, dc=com")));
    assert!(f.matches(&u(r"CN=Bob,OU=R\2CD,DC=contoso,DC=com")));
    assert!(!f.matches(&u("CN=Bob,OU=D,DC=contoso,DC=com")));
    assert!(!f.matches(&u(r"CN=Lee\, Ann,OU=Marketing,DC=contoso,DC=com")));
    assert!(!f.matches(&u(r"CN=x\,OU=Sales\,DC=contoso\,DC=com,OU=Other")));
    assert!(!f.matches(&user(json!({}))));
}

#[test]
fn invalid_filters_are_rejected_with_their_position() {
    let cases = [
        (
            json!([[{"sourceAttribute": "a", "operator": "EQUALS", "value": "x"}, {"sourceAttribute": "a", "operator": "LIKE", "value": "x"}]]),
            (0, 1),
            "unknown operator 'LIKE'",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "IS NULL"}], [{"sourceAttribute": "a", "operator": "REGEX MATCH", "value": "(unclosed"}]]),
            (1, 0),
            "bad regex",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "EQUALS"}]]),
            (0, 0),
            "EQUALS needs a value",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "IS TRUE", "value": "x"}]]),
            (0, 0),
            "IS TRUE takes no value",
        ),
        (
            json!([[{"sourceAttribute": "a[type eq", "operator": "IS NULL"}]]),
            (0, 0),
            "bad source attribute",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "equals", "value": "x"}]]),
            (0, 0),
            "unknown operator",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "Greater_Than", "value": "abc"}]]),
            (0, 0),
            "neither",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "UNDER_OU", "value": "Sales"}]]),
            (0, 0),
            "not a distinguished name",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "MEMBER_OF_ANY", "value": []}]]),
            (0, 0),
            "at least one",
        ),
        (
            json!([[{"sourceAttribute": "a", "operator": "EQUALS", "value": {"x": 1}}]]),
            (0, 0),
            "takes a string",
        ),
        (
            json!([[], [{"sourceAttribute": "a", "operator": "IS NULL"}]]),
            (0, 0),
            "at least one clause",
        ),
    ];
    for (input, (g, c), needle) in cases {
        match load_err(input.clone()) {
            Error::InvalidClause {
                group,
                clause,
                message,
            } => {
                assert_eq!((group, clause), (g, c), "{input}");
                assert!(
                    message.contains(needle),
                    "{message} should contain {needle}"
                );
            }
            other => panic!("{input}: {other:?}"),
        }
    }
    assert!(matches!(
        load_err(json!([[{"sourceAttribute": "a", "operator": "IS NULL", "values": ["x"]}]])),
        Error::InvalidJson { .. }
    ));
    assert!(matches!(
        load_err(json!({"a": 1})),
        Error::InvalidJson { .. }
    ));
}

#[test]
fn deserialising_compiles() {
    let bad: Result<CompiledScopingFilter, _> =
        serde_json::from_str(r#"[[{"sourceAttribute": "a", "operator": "NOPE", "value": "x"}]]"#);
    assert!(bad.unwrap_err().to_string().contains("group 0, clause 0"));
    let text = r#"[[{"sourceAttribute":"a","operator":"EQUALS","value":"x"}]]"#;
    let ok: CompiledScopingFilter = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_string(&ok).unwrap(), text);
}

#[test]
fn explanations() {
    let f = filter(json!([
        [{"sourceAttribute": "department", "operator": "EQUALS", "value": "IT"}],
        [{"sourceAttribute": "active", "operator": "IS TRUE"},
         {"sourceAttribute": "title", "operator": "IS NOT NULL"}],
        [{"sourceAttribute": "employeeNumber", "operator": "Greater_Than", "value": 100}]
    ]));
    let out = user(json!({"department": "Sales", "active": true, "employeeNumber": "7"}));
    let inn = user(json!({"department": "Sales", "active": "True", "title": "Boss"}));
    insta::assert_snapshot!(f.explain(&out).to_string(), @"out of scope: group 0: department EQUALS 'IT' failed: department is 'Sales'; group 1: title IS NOT NULL failed: title is empty; group 2: employeeNumber Greater_Than 100 failed: employeeNumber is '7'");
    insta::assert_snapshot!(f.explain(&inn).to_string(), @"in scope: group 1 matched: active IS TRUE and title IS NOT NULL");
    let e = f.explain(&out);
    assert!(!e.in_scope);
    assert_eq!(e.groups.len(), 3);
}

#[test]
fn operator_names_are_exact() {
    for op in Operator::all() {
        let value = if op.is_unary() {
            Value::Null
        } else if op == Operator::UnderOu {
            json!("OU=x")
        } else {
            json!("1")
        };
        let _ = one("a", op.as_str(), value);
    }
}

proptest! {
    #[test]
    fn explain_agrees_with_matches(
        dept in prop::option::of("[A-Za-z]{0,4}"),
        n in prop::option::of(-5i64..20),
        active in prop::option::of(any::<bool>()),
        tags in prop::collection::vec("[ab]{1,2}", 0..3),
    ) {
        let f = filter(json!([
            [{"sourceAttribute": "dept", "operator": "EQUALS", "value": "ab"},
             {"sourceAttribute": "n", "operator": "Greater_Than", "value": 3}],
            [{"sourceAttribute": "active", "operator": "IS TRUE"},
             {"sourceAttribute": "tags", "operator": "STARTS_WITH", "value": "a", "multivaluedComparisonType": "Any"}],
            [{"sourceAttribute": "dept", "operator": "NOT REGEX MATCH", "value": "^[a-m]"},
             {"sourceAttribute": "n", "operator": "IS NULL"}]
        ]));
        let mut obj = serde_json::Map::new();
        if let Some(d) = dept { obj.insert("dept".into(), json!(d)); }
        if let Some(n) = n { obj.insert("n".into(), json!(n)); }
        if let Some(a) = active { obj.insert("active".into(), json!(a)); }
        obj.insert("tags".into(), json!(tags));
        let r = user(Value::Object(obj));
        let e = f.explain(&r);
        prop_assert_eq!(e.in_scope, f.matches(&r));
        prop_assert_eq!(e.to_string().starts_with("in scope"), e.in_scope);
    }

    #[test]
    fn arbitrary_clauses_never_panic(attr in ".{0,20}", op in prop::sample::select(Operator::all().map(|o| o.as_str()).collect::<Vec<_>>()), value in ".{0,20}") {
        let text = json!([[{"sourceAttribute": attr, "operator": op, "value": value}]]).to_string();
        if let Ok(f) = CompiledScopingFilter::from_json_str(&text) {
            let r = user(json!({"a": value, "b": [1, "x"]}));
            let _ = f.matches(&r);
            let _ = f.explain(&r).to_string();
        }
    }

    #[test]
    fn filters_round_trip_through_json(
        groups in prop::collection::vec(
            prop::collection::vec(
                (
                    "[a-z]{1,6}",
                    prop::sample::select(Operator::all().filter(|o| !o.takes_set()).collect::<Vec<_>>()),
                    "[0-9]{1,3}",
                    prop::option::of(prop::sample::select(vec![MultivaluedComparison::All, MultivaluedComparison::Any])),
                ),
                1..4,
            ),
            0..4,
        )
    ) {
        let filter = ScopingFilter::new(
            groups
                .into_iter()
                .map(|g| {
                    g.into_iter()
                        .map(|(attr, op, value, mode)| {
                            let c = if op.is_unary() { Clause::unary(attr, op.as_str()) } else { Clause::new(attr, op.as_str(), value) };
                            match mode { Some(m) => c.with_multivalued(m), None => c }
                        })
                        .collect()
                })
                .collect(),
        );
        let text = serde_json::to_string(&filter).unwrap();
        let back = ScopingFilter::from_json_str(&text).unwrap();
        prop_assert_eq!(&back, &filter);
        let compiled = back.compile().unwrap();
        prop_assert_eq!(serde_json::to_string(&compiled).unwrap(), text);
    }
}

/// The filter whose groups list the clauses of `clauses` at the indexes of `groups`.
fn filter_of(clauses: &[Value], groups: &[Vec<usize>]) -> CompiledScopingFilter {
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| Value::Array(g.iter().map(|&i| clauses[i].clone()).collect()))
        .collect();
    filter(Value::Array(groups))
}

/// One user of [`matches_many_agrees_with_matches`]: a few attributes, each maybe absent.
fn arb_scoped_user() -> impl Strategy<Value = Value> {
    (
        prop::option::of("[A-Za-z]{0,3}"),
        prop::option::of(-5i64..20),
        prop::option::of(any::<bool>()),
        prop::collection::vec("[ab]{1,2}", 0..3),
    )
        .prop_map(|(dept, n, active, tags)| {
            let mut obj = serde_json::Map::new();
            if let Some(d) = dept {
                obj.insert("dept".into(), json!(d));
            }
            if let Some(n) = n {
                obj.insert("n".into(), json!(n));
            }
            if let Some(a) = active {
                obj.insert("active".into(), json!(a));
            }
            obj.insert("tags".into(), json!(tags));
            Value::Object(obj)
        })
}

proptest! {
    /// The batch evaluation (a window of resources clause by clause) gives `matches` of each
    /// resource, in order, for filters of zero to three groups and batches that fill, cross
    /// and fall short of its window.
    #[test]
    fn matches_many_agrees_with_matches(
        users in prop::collection::vec(arb_scoped_user(), 0..150),
        groups in prop::collection::vec(
            prop::collection::vec(0usize..6, 1..4),
            0..4,
        ),
    ) {
        let clauses = [
            json!({"sourceAttribute": "dept", "operator": "EQUALS", "value": "ab"}),
            json!({"sourceAttribute": "n", "operator": "Greater_Than", "value": 3}),
            json!({"sourceAttribute": "active", "operator": "IS TRUE"}),
            json!({"sourceAttribute": "tags", "operator": "STARTS_WITH", "value": "a", "multivaluedComparisonType": "Any"}),
            json!({"sourceAttribute": "dept", "operator": "NOT REGEX MATCH", "value": "^[a-m]"}),
            json!({"sourceAttribute": "n", "operator": "IS NULL"}),
        ];
        let f = filter_of(&clauses, &groups);
        let users: Vec<Resource> = users.into_iter().map(user).collect();
        let mut out = vec![true, false];
        f.matches_many(&users, &mut out);
        let expected: Vec<bool> = [true, false]
            .into_iter()
            .chain(users.iter().map(|u| f.matches(u)))
            .collect();
        prop_assert_eq!(out, expected);
    }
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// One HR-shaped user of [`matches_many_agrees_with_matches_on_nested_paths`]: an extension
/// block, a list of emails, a complex name and plain attributes, each maybe absent, in any
/// order, some keys spelled in another case (so lookup hints go stale from one user to the
/// next).
fn arb_hr_user() -> impl Strategy<Value = Value> {
    let department = prop::option::of(prop::sample::select(vec!["Sales", "IT", "sales", ""]));
    let division = prop::option::of(prop::sample::select(vec!["EMEA", "Americas"]));
    let number = prop::option::of(0i64..100);
    let emails = prop::collection::vec(
        (
            prop::sample::select(vec!["work", "home", "WORK"]),
            prop::sample::select(vec!["a@x.example", "b@y.example", ""]),
        ),
        0..3,
    );
    let title = prop::option::of(prop::sample::select(vec![
        "Manager",
        "Senior Manager",
        "Engineer",
    ]));
    let given = prop::option::of(prop::sample::select(vec!["Ann", "Bob", "alice"]));
    (
        (department, division, number),
        emails,
        (title, given, prop::option::of(any::<bool>())),
        Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        any::<[bool; 4]>(),
    )
        .prop_map(
            |((department, division, number), emails, (title, given, active), order, upper)| {
                let spell = |name: &str, up: bool| {
                    if up {
                        name.to_ascii_uppercase()
                    } else {
                        name.to_owned()
                    }
                };
                let mut block = serde_json::Map::new();
                if let Some(n) = number {
                    block.insert("employeeNumber".into(), json!(n));
                }
                if let Some(d) = division {
                    block.insert(spell("division", upper[0]), json!(d));
                }
                if let Some(d) = department {
                    block.insert("department".into(), json!(d));
                }
                let mut obj = serde_json::Map::new();
                for i in order {
                    match i {
                        0 => {
                            obj.insert(spell(ENTERPRISE, upper[1]), Value::Object(block.clone()));
                        }
                        1 => {
                            let list: Vec<Value> = emails
                                .iter()
                                .map(|(t, v)| json!({"value": v, "type": t}))
                                .collect();
                            obj.insert("emails".into(), Value::Array(list));
                        }
                        2 => {
                            if let Some(t) = title {
                                obj.insert(spell("title", upper[2]), json!(t));
                            }
                        }
                        3 => {
                            if let Some(g) = given {
                                obj.insert("name".into(), json!({"givenName": g}));
                            }
                        }
                        4 => {
                            if let Some(a) = active {
                                obj.insert(spell("active", upper[3]), json!(a));
                            }
                        }
                        _ => {
                            obj.insert("id".into(), json!("u"));
                        }
                    }
                }
                Value::Object(obj)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The batch evaluation reads ahead the paths of the clauses it expects to evaluate (by
    /// lookup hints, adapting to how often each clause was evaluated in the window before);
    /// whatever it reads ahead, its answers are `matches` of each resource, in order — over
    /// several windows, extension attributes, value-filtered lists, sub-attributes, keys in
    /// any order and case.
    #[test]
    fn matches_many_agrees_with_matches_on_nested_paths(
        users in prop::collection::vec(arb_hr_user(), 0..300),
        groups in prop::collection::vec(prop::collection::vec(0usize..8, 1..4), 0..4),
    ) {
        let clauses = [
            json!({"sourceAttribute": format!("{ENTERPRISE}:department"), "operator": "EQUALS", "value": "Sales"}),
            json!({"sourceAttribute": format!("{ENTERPRISE}:division"), "operator": "EQUALS", "value": "EMEA"}),
            json!({"sourceAttribute": "emails[type eq \"work\"].value", "operator": "ENDS_WITH", "value": "@x.example"}),
            json!({"sourceAttribute": "title", "operator": "REGEX MATCH", "value": "^(Senior )?Manager$"}),
            json!({"sourceAttribute": format!("{ENTERPRISE}:employeeNumber"), "operator": "Less_Than", "value": 50}),
            json!({"sourceAttribute": "active", "operator": "IS TRUE"}),
            json!({"sourceAttribute": "name.givenName", "operator": "STARTS_WITH", "value": "A"}),
            json!({"sourceAttribute": "emails.value", "operator": "IS NOT NULL"}),
        ];
        let f = filter_of(&clauses, &groups);
        let users: Vec<Resource> = users.into_iter().map(user).collect();
        let mut out = Vec::new();
        f.matches_many(&users, &mut out);
        let expected: Vec<bool> = users.iter().map(|u| f.matches(u)).collect();
        prop_assert_eq!(out, expected);
    }
}
