//! Unit tests of PATCH application internals: the undo log, record identity, value
//! normalisation, filter templates. (A child of `apply`; behaviour tests are in
//! `tests/it/patch.rs`.)

use serde_json::json;

use super::*;
use crate::schema::Attribute;

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// The location of a top-level member by name.
fn top(root: &Map<String, Value>, name: &str) -> Loc {
    Loc::ROOT
        .child(Step::Slot(position_ci(root, name).unwrap()))
        .unwrap()
}

#[test]
fn rollback_restores_values_and_key_order() {
    let original = map(json!({
        "a": 1, "b": {"x": 1, "y": 2}, "c": [1, 2, 3, 4, 5], "d": "last"
    }));
    let mut root = original.clone();
    let mut tx = Tx::default();
    tx.remove(&mut root, Loc::ROOT, "B").unwrap();
    tx.set(&mut root, Loc::ROOT, "a", json!(2)).unwrap();
    tx.set(&mut root, Loc::ROOT, "new", json!(true)).unwrap();
    let c = top(&root, "c");
    tx.remove_elems(&mut root, c, &[0, 2, 4]).unwrap();
    tx.push(&mut root, c, json!(9)).unwrap();
    tx.remove_elems(&mut root, c, &[1]).unwrap();
    tx.set_at(&mut root, c.child(Step::Index(0)).unwrap(), json!(7))
        .unwrap();
    tx.remove(&mut root, Loc::ROOT, "d").unwrap();
    assert_eq!(
        Value::Object(root.clone()),
        json!({"a": 2, "c": [7, 9], "new": true})
    );
    assert!(tx.changed);
    tx.rollback(&mut root);
    let keys: Vec<&String> = root.keys().collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    assert_eq!(root, original);
    assert_eq!(root["b"], json!({"x": 1, "y": 2}));
}

#[test]
fn nested_writes_roll_back() {
    let original = map(json!({"name": {"givenName": "B"}, "emails": [{"value": "a"}]}));
    let mut root = original.clone();
    let mut tx = Tx::default();
    let name = top(&root, "name");
    tx.set(&mut root, name, "familyName", json!("J")).unwrap();
    tx.set(&mut root, name, "GIVENNAME", json!("Babs")).unwrap();
    tx.remove(&mut root, name, "givenName").unwrap();
    let first = top(&root, "emails").child(Step::Index(0)).unwrap();
    tx.set(&mut root, first, "primary", json!(true)).unwrap();
    assert_eq!(
        Value::Object(root.clone()),
        json!({"name": {"familyName": "J"}, "emails": [{"value": "a", "primary": true}]})
    );
    tx.rollback(&mut root);
    assert_eq!(root, original);
}

#[test]
fn writing_the_same_value_records_nothing() {
    let mut root = map(json!({"userName": "bjensen"}));
    let mut tx = Tx::default();
    tx.set(&mut root, Loc::ROOT, "USERNAME", json!("bjensen"))
        .unwrap();
    assert!(!tx.changed);
    assert!(tx.undo.is_empty());
    assert!(!tx.remove(&mut root, Loc::ROOT, "nickName").unwrap());
    tx.set(&mut root, Loc::ROOT, "USERNAME", json!("babs"))
        .unwrap();
    assert!(tx.changed);
    // The existing spelling is kept.
    assert_eq!(Value::Object(root), json!({"userName": "babs"}));
}

#[test]
fn a_vanished_location_is_an_error_not_a_panic() {
    let mut root = map(json!({"a": 1}));
    let mut tx = Tx::default();
    let a = top(&root, "a");
    assert!(tx.push(&mut root, a, json!(1)).is_err());
    let missing = Loc::ROOT.child(Step::Slot(5)).unwrap();
    assert!(tx.set(&mut root, missing, "x", json!(1)).is_err());
    assert!(tx.remove_elems(&mut root, a, &[0]).is_err());
    // Locations are bounded: a fifth step is refused.
    let deep = (0..MAX_DEPTH).try_fold(Loc::ROOT, |l, i| l.child(Step::Index(i)));
    assert!(deep.unwrap().child(Step::Index(0)).is_err());
}

#[test]
fn same_record_uses_value_and_type() {
    let members = Attribute::new("members", AttributeType::Complex)
        .multi_valued()
        .with_sub_attribute(Attribute::new("value", AttributeType::String))
        .with_sub_attribute(Attribute::new("type", AttributeType::String));
    let stored = json!({"value": "ABC", "display": "A", "type": "User"});
    assert!(same_record(
        &stored,
        &json!({"value": "abc", "$ref": null}),
        Some(&members)
    ));
    assert!(same_record(
        &stored,
        &json!({"value": "ABC", "type": "user"}),
        Some(&members)
    ));
    assert!(!same_record(
        &stored,
        &json!({"value": "ABC", "type": "Group"}),
        Some(&members)
    ));
    let exact = Attribute::new("members", AttributeType::Complex)
        .multi_valued()
        .with_sub_attribute(Attribute::new("value", AttributeType::String).case_exact());
    assert!(!same_record(
        &stored,
        &json!({"value": "abc"}),
        Some(&exact)
    ));
    // Without a `value`: every given sub-attribute must be equal.
    let address = json!({"type": "work", "locality": "Austin"});
    assert!(same_record(&address, &json!({"type": "work"}), None));
    assert!(!same_record(
        &address,
        &json!({"type": "work", "locality": "Paris"}),
        None
    ));
    assert!(same_record(&json!("a"), &json!("a"), None));
    assert!(!same_record(&json!("a"), &json!("A"), None));
}

#[test]
fn remove_selectors() {
    let member = json!({"value": "1", "display": "One"});
    assert!(selects(&json!({"value": "1", "$ref": null}), &member, None));
    assert!(selects(&json!("1"), &member, None));
    assert!(!selects(&json!({"value": "2"}), &member, None));
    // An all-null selector selects nothing (never "remove everything").
    assert!(!selects(&json!({"value": null}), &member, None));
    assert!(selects(&json!("x"), &json!("x"), None));
}

#[test]
fn eq_templates() {
    let f = |s: &str| crate::Filter::parse(s).unwrap();
    let mut out = Map::new();
    assert!(eq_template(
        &f(r#"type eq "work" and primary eq true"#),
        &mut out
    ));
    assert_eq!(Value::Object(out), json!({"type": "work", "primary": true}));
    for other in [
        r#"type ne "work""#,
        r#"type eq "a" or type eq "b""#,
        r#"not (type eq "a")"#,
        "type pr",
    ] {
        assert!(!eq_template(&f(other), &mut Map::new()), "{other}");
    }
}

#[test]
fn normalisation_types_and_string_booleans() {
    let active = Attribute::new("active", AttributeType::Boolean);
    let path = || "active".to_owned();
    assert_eq!(
        normalize(json!("False"), Some(&active), false, &path).unwrap(),
        json!(false)
    );
    assert_eq!(
        normalize(json!("TRUE"), Some(&active), false, &path).unwrap(),
        json!(true)
    );
    assert!(normalize(json!("False"), Some(&active), true, &path).is_err());
    assert!(normalize(json!("yes"), Some(&active), false, &path).is_err());
    let count = Attribute::new("n", AttributeType::Integer);
    assert!(normalize(json!(1.5), Some(&count), false, &path).is_err());
    assert!(normalize(json!(2), Some(&count), false, &path).is_ok());
    let manager = Attribute::new("manager", AttributeType::Complex)
        .with_sub_attribute(Attribute::new("value", AttributeType::String));
    assert_eq!(
        normalize(json!("id"), Some(&manager), false, &path).unwrap(),
        json!({"value": "id"})
    );
    assert!(normalize(json!("id"), Some(&manager), true, &path).is_err());
    // Nested booleans are converted too; unknown sub-attributes only pass leniently.
    let emails = Attribute::new("emails", AttributeType::Complex)
        .multi_valued()
        .with_sub_attribute(Attribute::new("primary", AttributeType::Boolean));
    assert_eq!(
        normalize(
            json!({"primary": "True", "x": 1}),
            Some(&emails),
            false,
            &path
        )
        .unwrap(),
        json!({"primary": true, "x": 1})
    );
    assert!(normalize(json!({"x": 1}), Some(&emails), true, &path).is_err());
    // A string is not wrapped for a multi-valued attribute.
    let ims = Attribute::new("ims", AttributeType::Complex)
        .multi_valued()
        .with_sub_attribute(Attribute::new("value", AttributeType::String));
    assert!(normalize(json!("x"), Some(&ims), false, &path).is_err());
}

#[test]
fn plain_names_skip_the_parser() {
    assert!(is_plain_name("userName"));
    assert!(is_plain_name("$ref"));
    for s in ["name.givenName", "urn:x:y", "emails[type eq \"w\"]", ""] {
        assert!(!is_plain_name(s), "{s}");
    }
}

#[test]
fn hand_built_paths_apply() {
    let registry = crate::SchemaRegistry::default();
    let mut user: Resource = serde_json::from_value(json!({
        "schemas": [crate::USER_SCHEMA], "userName": "b"
    }))
    .unwrap();
    let patch = PatchOp::new()
        .add(
            AttributePath::new("name").with_sub_attribute("givenName"),
            json!("Babs"),
        )
        .replace(AttributePath::new("active"), json!("true"));
    assert!(patch.apply(&mut user, &registry).unwrap());
    assert_eq!(user.get("name"), Some(&json!({"givenName": "Babs"})));
    assert_eq!(user.get("active"), Some(&json!(true)));
    assert!(!patch.apply(&mut user, &registry).unwrap());
}

#[test]
fn matcher_shortcut_agrees_with_the_evaluator() {
    let registry = crate::SchemaRegistry::default();
    let user = registry.schema(crate::USER_SCHEMA).unwrap();
    let group = registry.schema(crate::GROUP_SCHEMA).unwrap();
    let emails = user.attribute("emails").unwrap();
    let members = group.attribute("members").unwrap();
    let elements = [
        json!({"value": "A@Example.com", "type": "Work"}),
        json!({"value": "a@example.com", "type": "work"}),
        json!({"VALUE": "a@example.com", "TYPE": "WORK"}),
        json!({"value": "ÅSA@example.com", "type": "wörk"}),
        json!({"value": "åsa@example.com", "type": "WÖRK"}),
        // The Kelvin sign lower-cases to an ASCII `k`.
        json!({"value": "\u{212A}", "type": "\u{212A}"}),
        json!({"value": null, "type": 3}),
        json!({"value": ["a@example.com"]}),
        json!({}),
        json!("a@example.com"),
        json!(7),
    ];
    let filters = [
        r#"type eq "work""#,
        r#"type eq "WÖRK""#,
        r#"value eq "a@example.com""#,
        r#"value eq "åsa@example.com""#,
        r#"display eq "a""#,
        r#"type ne "work""#,
        r#"type eq "k""#,
        r#"value eq "K""#,
    ];
    for (def, name) in [(emails, "emails"), (members, "members")] {
        for f in filters {
            let filter = crate::Filter::parse(f).unwrap();
            let matcher = Matcher::new(&filter, Some(def), &registry);
            for e in &elements {
                let fast = matcher.matches(e).ok();
                let slow = element_matches(&filter, e, Some(def), &registry).ok();
                assert_eq!(fast, slow, "{name}[{f}] on {e}");
            }
        }
    }
    // The shortcut is taken for the common shape.
    let filter = crate::Filter::parse(r#"value eq "x""#).unwrap();
    assert!(matches!(
        Matcher::new(&filter, Some(members), &registry),
        Matcher::EqText { .. }
    ));
}

#[test]
fn simple_paths_read_as_the_parser_reads_them() {
    use super::super::op::simple_path;
    let limits = crate::Limits::DEFAULT;
    for s in [
        "active",
        "name.familyName",
        "x509Certificates",
        "a_b-c.d9",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "emails[type eq \"work\"].value",
        "1abc",
        "name.",
        ".name",
        "a.b.c",
        "$ref",
        "name .x",
    ] {
        let parsed = AttributePath::parse(s).ok();
        // When the shortcut answers, it answers as the parser does; else the parser decides.
        if let Some(fast) = simple_path(s, &limits) {
            assert_eq!(Some(fast), parsed, "{s}");
        }
    }
    assert!(simple_path("name.familyName", &limits).is_some());
    assert!(simple_path("a.b.c", &limits).is_none());
    assert!(simple_path("1abc", &limits).is_none());
}
