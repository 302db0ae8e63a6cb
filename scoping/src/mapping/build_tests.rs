//! The direct build of a create's resource against its definition, the PATCH.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scim_model::{ENTERPRISE_USER_SCHEMA, Resource};
use serde_json::{Value, json};

use crate::expr::EvalContext;
use crate::mapping::{AttributeMapping, MappingSet, MappingSource};

thread_local! {
    /// Direct writes by kind, counted by `hit`.
    pub(super) static HITS: RefCell<BTreeMap<&'static str, usize>> = const { RefCell::new(BTreeMap::new()) };
}

/// The kinds of direct write `hit` counts.
const KINDS: [&str; 8] = [
    "simple",
    "complex",
    "multi",
    "sub, new object",
    "sub, into an object",
    "filtered, new list",
    "filtered, new element",
    "filtered, into an element",
];

fn ctx() -> EvalContext<'static> {
    EvalContext::new(chrono::DateTime::UNIX_EPOCH)
}

/// Target paths: every shape written directly, and others that must go through the PATCH
/// (unqualified extension names, unknown attributes and extensions, readOnly attributes,
/// sub-attributes of simple or multi-valued attributes, filters that describe no element).
const TARGETS: &[&str] = &[
    "userName",
    "title",
    "displayName",
    "active",
    "externalId",
    "nickName",
    "password",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:costCenter",
    "urn:ietf:params:scim:schemas:core:2.0:User:locale",
    "department",
    "customAttr",
    "urn:ietf:params:scim:schemas:extension:Custom:2.0:User:thing",
    "name.givenName",
    "NAME.familyName",
    "name.formatted",
    "name.bogus",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    "emails.value",
    "manager.value",
    "userName.x",
    r#"emails[type eq "work"].value"#,
    r#"emails[type eq "home"].value"#,
    r#"Emails[Type eq "WORK"].display"#,
    r#"emails[type eq "work"].primary"#,
    r#"phoneNumbers[type eq "work"].value"#,
    r#"phoneNumbers[type eq "mobile"].value"#,
    r#"phoneNumbers[value eq "a"].type"#,
    r#"roles[primary eq "True"].value"#,
    r#"addresses[type eq "work"].locality"#,
    r#"emails[type ne "x"].value"#,
    r#"emails[type eq "work" and primary eq true].display"#,
    r#"ims[value eq "x"].value"#,
    r#"x509Certificates[value eq "a"].display"#,
    r#"members[type eq "User"].value"#,
    "emails",
    "phoneNumbers",
    "roles",
    "groups",
    "entitlements",
    "members",
    "name",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "meta",
    "schemas",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:tags",
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[type eq "A"].value"#,
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[type eq "a"].note"#,
    "urn:example:params:scim:schemas:extension:tags:2.0:User:level",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:flag",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge.value",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge.issued",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge.owner",
];

/// Targets written directly, often together (several sub-attributes of one object, several
/// elements of one list, a value filter finding the element an earlier one made).
const FOCUS: &[&str] = &[
    "title",
    "active",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:costCenter",
    "name.givenName",
    "NAME.familyName",
    "name.formatted",
    "name",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    r#"emails[type eq "work"].value"#,
    r#"emails[type eq "home"].value"#,
    r#"Emails[Type eq "WORK"].display"#,
    r#"emails[type eq "work"].primary"#,
    r#"phoneNumbers[type eq "work"].value"#,
    r#"phoneNumbers[type eq "mobile"].value"#,
    r#"phoneNumbers[value eq "a"].type"#,
    r#"roles[primary eq "True"].value"#,
    "emails",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:level",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:flag",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge.value",
    "urn:example:params:scim:schemas:extension:tags:2.0:User:badge.issued",
];

/// Targets on lists, written by several mappings: whole, through value filters that find the
/// element an earlier mapping made (or several), or that add one.
const LISTS: &[&str] = &[
    "emails",
    r#"emails[type eq "work"].value"#,
    r#"Emails[Type eq "WORK"].display"#,
    r#"emails[type eq "home"].value"#,
    r#"emails[type eq "work"].primary"#,
    r#"emails[type eq "work" and primary eq true].display"#,
    r#"emails[type eq "work" and Type eq "x"].display"#,
    "urn:example:params:scim:schemas:extension:tags:2.0:User:tags",
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[type eq "A"].value"#,
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[type eq "a"].primary"#,
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[primary eq "true"].value"#,
    r#"urn:example:params:scim:schemas:extension:tags:2.0:User:tags[value eq "a"].type"#,
];

/// An extension the default registry does not have: a list whose `value` and `type` are
/// caseExact and whose `primary` is text, and attributes of every kind of check.
fn tags_schema() -> Value {
    let s = |name: &str| json!({"name": name, "type": "string"});
    json!({
        "id": "urn:example:params:scim:schemas:extension:tags:2.0:User",
        "name": "Tags",
        "attributes": [
            {"name": "tags", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "value", "type": "string", "caseExact": true},
                {"name": "type", "type": "string", "caseExact": true},
                {"name": "primary", "type": "string", "caseExact": true},
                {"name": "note", "type": "string", "mutability": "readOnly"},
            ]},
            {"name": "level", "type": "integer"},
            {"name": "flag", "type": "boolean"},
            {"name": "badge", "type": "complex", "subAttributes": [
                s("value"),
                {"name": "issued", "type": "dateTime", "mutability": "immutable"},
                {"name": "owner", "type": "string", "mutability": "readOnly"},
            ]},
        ]
    })
}

/// Values for the mappings, right and wrong for each target.
fn values() -> Vec<Value> {
    vec![
        json!("work"),
        json!("Home"),
        json!("True"),
        json!("false"),
        json!("É"),
        json!("a@x.example"),
        json!("a"),
        json!(""),
        json!(true),
        json!(false),
        json!(1),
        json!(2.5),
        json!(-3),
        Value::Null,
        json!(["a", "b"]),
        json!(["a", "a"]),
        json!(["A", "a"]),
        json!([null, "a"]),
        json!([1, 2]),
        json!([]),
        json!([{"type": "work", "value": "a@x"}]),
        json!([{"type": "work", "value": "A@X"}, {"type": "work", "value": "a@x"}]),
        json!([{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]),
        json!([{"value": "a", "type": "home"}, {"value": "a"}]),
        json!([{"value": "a", "primary": "true", "display": "A"}]),
        json!([{"display": "x"}, {"display": "x"}]),
        json!([{"type": "work"}, {"type": "mobile", "value": "a"}]),
        json!([{"type": "work", "value": "a"}, {"type": "WORK", "value": "b"}]),
        json!([{"type": "Work", "value": "É@x"}, {"type": "work", "value": "é@X"}]),
        json!([{"value": "A", "display": "d"}, {"value": "a", "type": "x"}]),
        json!([{"value": "a", "type": "work"}, {"value": "A", "type": "home"}]),
        json!([{"value": "a", "type": "A"}, {"value": "a", "type": "a", "primary": "true"}]),
        json!([{"value": "b", "type": "a"}]),
        json!({"value": "b", "issued": "2026-01-01T00:00:00Z"}),
        json!([{"value": "x", "primary": "True"}]),
        json!([{"type": "work", "Value": "x"}]),
        json!([{"type": "work", "value": "a"}, {"type": "home", "value": "b", "primary": true}]),
        json!([{"type": "home", "value": "b", "primary": true}]),
        json!({"GivenName": "A"}),
        json!({"value": "b", "owner": "o"}),
        json!({"givenName": "A", "familyName": "B"}),
        json!({"value": "m1"}),
        json!({"value": "m1", "displayName": "M"}),
        json!({"givenName": null, "x": 1}),
        json!({"formatted": 3}),
        json!({"value": ["a"]}),
        json!({"primary": "True", "value": "p"}),
        json!({}),
    ]
}

/// One mapping as generated: its source kind (0: Direct from the source's attribute `s{n}`,
/// 1: Constant, 2: None, 3: Direct from a missing attribute), a value index (the constant, or
/// `n`), and maybe a default value's index.
type Spec = (u8, usize, Option<usize>);

fn mapping(
    target: &str,
    (kind, v, default): Spec,
    pool: &[Value],
    first: bool,
) -> AttributeMapping {
    let value = pool[v % pool.len()].clone();
    let source = match (kind % 4, first) {
        (0, _) => MappingSource::direct(format!("s{}", v % 5)),
        (1, _) | (2, true) => MappingSource::constant(value),
        (2, false) => MappingSource::None,
        _ => MappingSource::direct("missing"),
    };
    let mut m = AttributeMapping::new(target, source);
    if let Some(d) = default {
        m = m.with_default(pool[d % pool.len()].clone());
    }
    if first {
        m = m.with_matching_priority(1);
    }
    m
}

fn case() -> impl Strategy<Value = (Vec<&'static str>, Vec<Spec>, Vec<usize>, u8)> {
    let n = values().len();
    // Mostly strings (the first seven values), which most targets accept.
    let value = || prop_oneof![1 => 0..7usize, 1 => 0..n];
    (
        prop_oneof![
            proptest::sample::subsequence(TARGETS.to_vec(), 1..=9),
            proptest::sample::subsequence(FOCUS.to_vec(), 1..=9),
            proptest::sample::subsequence(LISTS.to_vec(), 1..=6),
        ]
        .prop_shuffle(),
        proptest::collection::vec(
            (0u8..4, value(), proptest::option::weighted(0.2, value())),
            9,
        ),
        proptest::collection::vec(value(), 5),
        0u8..8,
    )
}

/// The two builds agree: the same resource (same keys in the same order, same values), or
/// the same error.
fn agree(set: &MappingSet, source: &Resource) -> Result<(), TestCaseError> {
    let direct = set.create_resource(source, &ctx());
    let patched = set.create_resource_by_patch(source, &ctx());
    match (&direct, &patched) {
        (Ok(a), Ok(b)) => prop_assert_eq!(
            serde_json::to_string(a.as_object()).unwrap_or_default(),
            serde_json::to_string(b.as_object()).unwrap_or_default()
        ),
        _ => prop_assert_eq!(format!("{direct:?}"), format!("{patched:?}")),
    }
    Ok(())
}

/// For random mapping sets over the path shapes (those written directly and others), in
/// random order, and random sources and defaults, `create_resource` gives exactly what the
/// PATCH of each value gives: the same resource, or the same error. Every kind of direct
/// write is seen.
#[test]
fn direct_build_equals_the_patch() {
    HITS.with(|h| h.borrow_mut().clear());
    let pool = values();
    let mut registry = scim_model::SchemaRegistry::default();
    registry
        .register_json(&tags_schema())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut runner = TestRunner::new(Config {
        cases: Config::default().cases.max(4_000),
        ..Config::default()
    });
    let built = Cell::new(0usize);
    let failed = Cell::new(0usize);
    let result = runner.run(&case(), |(targets, specs, attrs, variant)| {
        let mappings: Vec<AttributeMapping> = targets
            .iter()
            .zip(&specs)
            .enumerate()
            .map(|(i, (t, s))| mapping(t, *s, &pool, i == 0))
            .collect();
        let Ok(set) = MappingSet::new(mappings) else {
            return Ok(());
        };
        let set = match variant {
            0 => set.with_target_schema("urn:ietf:params:scim:schemas:core:2.0:Group"),
            1 => set.with_target_schema("urn:example:Unknown"),
            2 => set,
            _ => set.with_registry(registry.clone()),
        };
        let mut source = serde_json::Map::new();
        for (i, a) in attrs.iter().enumerate() {
            source.insert(format!("s{i}"), pool[a % pool.len()].clone());
        }
        let source =
            Resource::from_object(source).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match set.create_resource(&source, &ctx()) {
            Ok(_) => built.set(built.get() + 1),
            Err(_) => failed.set(failed.get() + 1),
        }
        agree(&set, &source)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let hits = HITS.with(|h| h.borrow().clone());
    for kind in KINDS {
        assert!(
            hits.get(kind).is_some_and(|n| *n > 0),
            "no direct write of kind {kind:?}: {hits:?}"
        );
    }
    let (built, failed) = (built.get(), failed.get());
    assert!(
        built > 100 && failed > 100,
        "{built} built, {failed} failed"
    );
}

/// The mapping sets of the benchmarks (the sync bench's job, the scoping bench's 20
/// mappings) are written without a single PATCH, and give what the PATCH gives.
#[test]
fn benchmark_sets_are_built_directly() {
    let ent = ENTERPRISE_USER_SCHEMA;
    let targets = [
        "userName".to_owned(),
        "externalId".to_owned(),
        "active".to_owned(),
        "displayName".to_owned(),
        "name.givenName".to_owned(),
        "name.familyName".to_owned(),
        "name.formatted".to_owned(),
        "title".to_owned(),
        "preferredLanguage".to_owned(),
        r#"emails[type eq "work"].value"#.to_owned(),
        r#"phoneNumbers[type eq "work"].value"#.to_owned(),
        r#"phoneNumbers[type eq "mobile"].value"#.to_owned(),
        format!("{ent}:employeeNumber"),
        format!("{ent}:department"),
        format!("{ent}:manager.value"),
        "userType".to_owned(),
        "locale".to_owned(),
        format!("{ent}:organization"),
    ];
    let mappings: Vec<AttributeMapping> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let m = AttributeMapping::new(t.clone(), MappingSource::direct(format!("a{i}")));
            if i == 0 {
                m.with_matching_priority(1)
            } else {
                m
            }
        })
        .collect();
    let set = MappingSet::new(mappings).unwrap();
    assert!(set.create_plans.iter().all(super::CreatePlan::is_direct));
    let mut source = serde_json::Map::new();
    for i in 0..targets.len() {
        source.insert(format!("a{i}"), json!(format!("v{i}")));
    }
    source.insert("a2".to_owned(), json!("True"));
    let source = Resource::from_object(source).unwrap();
    HITS.with(|h| h.borrow_mut().clear());
    let created = set.create_resource(&source, &ctx()).unwrap();
    let hits: usize = HITS.with(|h| h.borrow().values().sum());
    assert_eq!(hits, targets.len());
    assert_eq!(created.get("active"), Some(&json!(true)));
    assert_eq!(
        created.get("phoneNumbers"),
        Some(&json!([{"type": "work", "value": "v10"}, {"type": "mobile", "value": "v11"}]))
    );
    assert_eq!(
        created.schemas().collect::<Vec<_>>(),
        ["urn:ietf:params:scim:schemas:core:2.0:User", ent]
    );
    assert_eq!(
        serde_json::to_string(created.as_object()).unwrap(),
        serde_json::to_string(
            set.create_resource_by_patch(&source, &ctx())
                .unwrap()
                .as_object()
        )
        .unwrap()
    );
}

/// A value the schema refuses fails as the PATCH fails it: `MappingFailed` naming the
/// target, with the PATCH's message; one it converts is converted.
#[test]
fn refused_values_fail_as_the_patch_fails_them() {
    let set = MappingSet::new(vec![
        AttributeMapping::new("userName", MappingSource::direct("u")).with_matching_priority(1),
        AttributeMapping::new("active", MappingSource::direct("a")),
        AttributeMapping::new(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            MappingSource::direct("m"),
        ),
    ])
    .unwrap();
    let source =
        |a: Value, m: Value| Resource::from_value(json!({"u": "ann", "a": a, "m": m})).unwrap();
    let bad = source(json!("maybe"), json!("boss"));
    let err = set.create_resource(&bad, &ctx()).unwrap_err();
    assert!(
        matches!(&err, crate::Error::MappingFailed { target, .. } if target == "active"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        set.create_resource_by_patch(&bad, &ctx())
            .unwrap_err()
            .to_string()
    );
    let good = set
        .create_resource(&source(json!("False"), json!("boss")), &ctx())
        .unwrap();
    assert_eq!(good.get("active"), Some(&json!(false)));
    assert_eq!(
        good.attribute(Some(ENTERPRISE_USER_SCHEMA), "manager"),
        Some(&json!({"value": "boss"}))
    );
    // The manager's readOnly displayName is refused by the PATCH, so by the build.
    let read_only = source(json!(true), json!({"value": "boss", "displayName": "Boss"}));
    assert_eq!(
        format!("{:?}", set.create_resource(&read_only, &ctx())),
        format!("{:?}", set.create_resource_by_patch(&read_only, &ctx()))
    );
    assert!(set.create_resource(&read_only, &ctx()).is_err());
}

/// Mappings that meet what earlier ones wrote, one case each (the property test meets these
/// only now and then): both builds agree.
#[test]
fn writes_over_earlier_ones_agree() {
    let cases: Vec<Vec<(&str, Value)>> = vec![
        // The element has the sub-attribute spelled otherwise: the PATCH overwrites it.
        vec![
            ("emails", json!([{"type": "work", "Value": "x"}])),
            (r#"emails[type eq "work"].value"#, json!("y")),
        ],
        // Writing `primary` into an element demotes the others.
        vec![
            (
                "emails",
                json!([{"type": "work", "value": "a"}, {"type": "home", "value": "b", "primary": true}]),
            ),
            (r#"emails[type eq "work"].primary"#, json!("True")),
        ],
        // Adding a primary element likewise.
        vec![
            (
                "emails",
                json!([{"type": "home", "value": "b", "primary": true}]),
            ),
            (r#"emails[type eq "work"].primary"#, json!(true)),
        ],
        // A sub-attribute present under another spelling.
        vec![
            ("name", json!({"GivenName": "A"})),
            ("name.givenName", json!("B")),
        ],
        vec![
            ("name.givenName", json!("A")),
            ("NAME.familyName", json!("B")),
        ],
        vec![
            (r#"emails[type eq "work"].value"#, json!("a@x")),
            (r#"Emails[Type eq "WORK"].display"#, json!("A")),
        ],
        vec![
            (r#"phoneNumbers[type eq "work"].value"#, json!("1")),
            (r#"phoneNumbers[type eq "mobile"].value"#, json!("2")),
            (r#"phoneNumbers[type eq "fax"].value"#, json!("3")),
        ],
        // Two elements match: the PATCH refuses.
        vec![
            (
                "emails",
                json!([{"type": "work", "value": "a"}, {"type": "WORK", "value": "b"}]),
            ),
            (r#"Emails[Type eq "WORK"].display"#, json!("A")),
        ],
    ];
    for case in cases {
        let mut mappings = vec![
            AttributeMapping::new("userName", MappingSource::constant("u"))
                .with_matching_priority(1),
        ];
        mappings.extend(
            case.iter()
                .map(|(t, v)| AttributeMapping::new(*t, MappingSource::constant(v.clone()))),
        );
        let set = MappingSet::new(mappings).unwrap();
        let source = Resource::from_value(json!({})).unwrap();
        if let Err(e) = agree(&set, &source) {
            panic!("{case:?}: {e}");
        }
    }
}
