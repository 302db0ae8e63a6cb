#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Attribute mappings: the reference's rules (section 2) as input → output, create and update.

use proptest::prelude::*;
use scim_model::patch::PatchOp;
use scim_model::{Resource, SchemaRegistry};
use scoping::expr::EvalContext;
use scoping::{AttributeMapping, Error, FlowType, MappingSet, MappingSource};

fn ctx() -> EvalContext<'static> {
    EvalContext::new(chrono::DateTime::UNIX_EPOCH)
}
use serde_json::{Value, json};

fn res(v: Value) -> Resource {
    Resource::from_value(v).unwrap()
}

fn set(v: Value) -> MappingSet {
    MappingSet::from_json_str(&v.to_string()).unwrap()
}

fn patch_json(p: &PatchOp) -> Value {
    serde_json::to_value(p).unwrap()
}

fn ops(p: &PatchOp) -> Value {
    patch_json(p)["Operations"].clone()
}

/// A matching mapping on userName plus the given ones.
fn with_key(mut extra: Vec<Value>) -> MappingSet {
    let mut all = vec![
        json!({"targetAttribute": "userName", "source": {"type": "Direct", "path": "userPrincipalName"}, "matchingPriority": 1}),
    ];
    all.append(&mut extra);
    set(Value::Array(all))
}

fn load_err(v: Value) -> Error {
    MappingSet::from_json_str(&v.to_string()).unwrap_err()
}

#[test]
fn direct_constant_none_on_create() {
    let s = with_key(vec![
        json!({"targetAttribute": "name.givenName", "source": {"type": "Direct", "path": "givenName"}}),
        json!({"targetAttribute": "active", "source": {"type": "Constant", "value": "True"}}),
        json!({"targetAttribute": "userType", "source": {"type": "None"}, "defaultValue": "Employee"}),
        json!({"targetAttribute": "nickName", "source": {"type": "None"}}),
        json!({"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
               "source": {"type": "Direct", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}}),
    ]);
    let source = res(json!({
        "userPrincipalName": "ann@contoso.com", "givenName": "Ann",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    }));
    insta::assert_json_snapshot!(Value::Object(s.create_attributes(&source, &ctx()).unwrap()), @r#"
    {
      "userName": "ann@contoso.com",
      "name.givenName": "Ann",
      "active": "True",
      "userType": "Employee",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"
    }
    "#);
    let created = s.create_resource(&source, &ctx()).unwrap();
    assert_eq!(created.get("userName"), Some(&json!("ann@contoso.com")));
    assert_eq!(created.get("name"), Some(&json!({"givenName": "Ann"})));
    assert_eq!(created.get("active"), Some(&json!(true)));
    assert_eq!(
        created.attribute(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            "department"
        ),
        Some(&json!("Sales"))
    );
    assert!(created.has_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
}

#[test]
fn default_value_applies_on_create_only() {
    let s = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "defaultValue": "Staff"}),
    ]);
    let source = res(json!({"userPrincipalName": "a"}));
    assert_eq!(
        s.create_attributes(&source, &ctx()).unwrap().get("title"),
        Some(&json!("Staff"))
    );
    // On update the default is not used: nothing is sent, even for an empty target.
    let current = res(json!({"userName": "a"}));
    assert!(s.update(&source, &current, &ctx()).unwrap().is_empty());
    let current = res(json!({"userName": "a", "title": "Boss"}));
    assert!(s.update(&source, &current, &ctx()).unwrap().is_empty());
}

#[test]
fn none_mapping_fills_an_empty_target_with_its_default() {
    let s = with_key(vec![
        json!({"targetAttribute": "userType", "source": {"type": "None"}, "defaultValue": "Member"}),
    ]);
    let source = res(json!({"userPrincipalName": "a"}));
    let p = s
        .update(&source, &res(json!({"userName": "a"})), &ctx())
        .unwrap();
    assert_eq!(
        ops(&p),
        json!([{"op": "add", "path": "userType", "value": "Member"}])
    );
    let p = s
        .update(
            &source,
            &res(json!({"userName": "a", "userType": "Guest"})),
            &ctx(),
        )
        .unwrap();
    assert!(p.is_empty());
}

#[test]
fn null_or_empty_source_never_clears_a_target_value() {
    let s = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}}),
    ]);
    let current = res(json!({"userName": "a", "title": "Boss"}));
    for source in [
        json!({"userPrincipalName": "a"}),
        json!({"userPrincipalName": "a", "jobTitle": null}),
        json!({"userPrincipalName": "a", "jobTitle": ""}),
    ] {
        assert!(s.update(&res(source), &current, &ctx()).unwrap().is_empty());
    }
    // On create an empty source populates nothing.
    let created = s
        .create_attributes(
            &res(json!({"userPrincipalName": "a", "jobTitle": ""})),
            &ctx(),
        )
        .unwrap();
    assert!(!created.contains_key("title"));
}

#[test]
fn flow_null_values_clears_on_update_only() {
    let s = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "flowNullValues": true}),
    ]);
    let current = res(json!({"userName": "a", "title": "Boss"}));
    let p = s
        .update(
            &res(json!({"userPrincipalName": "a", "jobTitle": ""})),
            &current,
            &ctx(),
        )
        .unwrap();
    assert_eq!(ops(&p), json!([{"op": "remove", "path": "title"}]));
    // An omitted attribute clears too; a target without a value gets nothing.
    let p = s
        .update(&res(json!({"userPrincipalName": "a"})), &current, &ctx())
        .unwrap();
    assert_eq!(ops(&p), json!([{"op": "remove", "path": "title"}]));
    assert!(
        s.update(
            &res(json!({"userPrincipalName": "a"})),
            &res(json!({"userName": "a"})),
            &ctx()
        )
        .unwrap()
        .is_empty()
    );
    // Create: null populates nothing.
    assert!(
        !s.create_attributes(&res(json!({"userPrincipalName": "a"})), &ctx())
            .unwrap()
            .contains_key("title")
    );
}

#[test]
fn update_is_minimal() {
    let s = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}}),
        json!({"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}}),
        json!({"targetAttribute": "active", "source": {"type": "Direct", "path": "accountEnabled"}}),
    ]);
    let source = res(
        json!({"userPrincipalName": "a", "jobTitle": "Boss", "displayName": "Ann", "accountEnabled": "True"}),
    );
    let same = res(json!({"userName": "a", "title": "Boss", "displayName": "Ann", "active": true}));
    let p = s.update(&source, &same, &ctx()).unwrap();
    assert!(p.is_empty());
    assert_eq!(
        patch_json(&p),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []})
    );
    let differs = res(json!({"userName": "a", "title": "boss", "active": false}));
    let p = s.update(&source, &differs, &ctx()).unwrap();
    insta::assert_json_snapshot!(patch_json(&p), @r#"
    {
      "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
      ],
      "Operations": [
        {
          "op": "replace",
          "path": "title",
          "value": "Boss"
        },
        {
          "op": "add",
          "path": "displayName",
          "value": "Ann"
        },
        {
          "op": "replace",
          "path": "active",
          "value": "True"
        }
      ]
    }
    "#);
    // The PATCH applied to the current target gives what the mappings want; a second pass is empty.
    let mut after = differs.clone();
    p.apply(&mut after, &SchemaRegistry::default()).unwrap();
    assert!(s.update(&source, &after, &ctx()).unwrap().is_empty());
}

#[test]
fn flow_types_on_update() {
    let m = |flow: &str| {
        with_key(vec![
            json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "flowType": flow}),
        ])
    };
    let source = res(json!({"userPrincipalName": "a", "jobTitle": "New"}));
    let has = res(json!({"userName": "a", "title": "Old"}));
    let empty = res(json!({"userName": "a"}));
    let replace = json!([{"op": "replace", "path": "title", "value": "New"}]);
    let add = json!([{"op": "add", "path": "title", "value": "New"}]);
    assert_eq!(
        ops(&m("Always").update(&source, &has, &ctx()).unwrap()),
        replace
    );
    assert_eq!(
        ops(&m("Always").update(&source, &empty, &ctx()).unwrap()),
        add
    );
    assert!(
        m("ObjectAddOnly")
            .update(&source, &has, &ctx())
            .unwrap()
            .is_empty()
    );
    assert!(
        m("ObjectAddOnly")
            .update(&source, &empty, &ctx())
            .unwrap()
            .is_empty()
    );
    assert!(
        m("AttributeAddOnly")
            .update(&source, &has, &ctx())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ops(&m("AttributeAddOnly")
            .update(&source, &empty, &ctx())
            .unwrap()),
        add
    );
    assert_eq!(
        ops(&m("ValueAddOnly").update(&source, &has, &ctx()).unwrap()),
        replace
    );
    assert!(
        m("MultiValueAddOnly")
            .update(&source, &has, &ctx())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ops(&m("MultiValueAddOnly")
            .update(&source, &empty, &ctx())
            .unwrap()),
        add
    );
    // Every flow type flows on create.
    for flow in [
        "Always",
        "ObjectAddOnly",
        "AttributeAddOnly",
        "ValueAddOnly",
        "MultiValueAddOnly",
    ] {
        assert_eq!(
            m(flow)
                .create_attributes(&source, &ctx())
                .unwrap()
                .get("title"),
            Some(&json!("New")),
            "{flow}"
        );
    }
}

#[test]
fn multi_valued_add_only_adds_missing_values_never_removes() {
    for flow in ["ValueAddOnly", "MultiValueAddOnly"] {
        let s = with_key(vec![
            json!({"targetAttribute": "x-tags", "source": {"type": "Direct", "path": "tags"}, "flowType": flow}),
        ]);
        let source = res(json!({"userPrincipalName": "a", "tags": ["a", "b"]}));
        let p = s
            .update(
                &source,
                &res(json!({"userName": "a", "x-tags": ["b", "c"]})),
                &ctx(),
            )
            .unwrap();
        assert_eq!(
            ops(&p),
            json!([{"op": "add", "path": "x-tags", "value": ["a"]}]),
            "{flow}"
        );
        assert!(
            s.update(
                &source,
                &res(json!({"userName": "a", "x-tags": ["a", "b", "c"]})),
                &ctx()
            )
            .unwrap()
            .is_empty()
        );
    }
    // Always replaces the set, order aside.
    let s = with_key(vec![
        json!({"targetAttribute": "x-tags", "source": {"type": "Direct", "path": "tags"}}),
    ]);
    let source = res(json!({"userPrincipalName": "a", "tags": ["a", "b"]}));
    assert!(
        s.update(
            &source,
            &res(json!({"userName": "a", "x-tags": ["b", "a"]})),
            &ctx()
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        ops(&s
            .update(
                &source,
                &res(json!({"userName": "a", "x-tags": ["b", "c"]})),
                &ctx()
            )
            .unwrap()),
        json!([{"op": "replace", "path": "x-tags", "value": ["a", "b"]}])
    );
}

#[test]
fn value_filter_target_paths() {
    let s = with_key(vec![
        json!({"targetAttribute": "phoneNumbers[type eq \"work\"].value", "source": {"type": "Direct", "path": "telephoneNumber"}}),
        json!({"targetAttribute": "phoneNumbers[type eq \"mobile\"].value", "source": {"type": "Direct", "path": "mobile"}}),
        json!({"targetAttribute": "phoneNumbers[type eq \"fax\"].value", "source": {"type": "Direct", "path": "facsimileTelephoneNumber"}}),
        json!({"targetAttribute": "roles[primary eq \"True\"].value", "source": {"type": "Direct", "path": "role"}}),
    ]);
    let source = res(
        json!({"userPrincipalName": "a", "telephoneNumber": "111", "mobile": "222", "role": "admin"}),
    );
    let created = s.create_resource(&source, &ctx()).unwrap();
    let phones = created.get("phoneNumbers").unwrap().as_array().unwrap();
    assert_eq!(phones.len(), 2);
    assert!(phones.contains(&json!({"type": "work", "value": "111"})));
    assert!(phones.contains(&json!({"type": "mobile", "value": "222"})));
    let roles = created.get("roles").unwrap().as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["value"], json!("admin"));
    // Update: the work number changed, no mobile element exists (add creates it), the role is the same.
    let current = res(json!({"userName": "a",
        "phoneNumbers": [{"type": "Work", "value": "000"}],
        "roles": [{"primary": true, "value": "admin"}]}));
    let p = s.update(&source, &current, &ctx()).unwrap();
    assert_eq!(
        ops(&p),
        json!([
            {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "111"},
            {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "222"}
        ])
    );
    let mut after = current.clone();
    p.apply(&mut after, &SchemaRegistry::default()).unwrap();
    assert!(s.update(&source, &after, &ctx()).unwrap().is_empty());
    assert_eq!(
        after.get("phoneNumbers").unwrap().as_array().unwrap().len(),
        2
    );
}

#[test]
fn matching_attributes_in_priority_order() {
    let s = set(json!([
        {"targetAttribute": "displayName", "source": {"type": "Direct", "path": "displayName"}},
        {"targetAttribute": "externalId", "source": {"type": "Direct", "path": "employeeId"}, "matchingPriority": 2},
        {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userPrincipalName"}, "matchingPriority": 1},
        {"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Direct", "path": "mail"}, "matchingPriority": 3}
    ]));
    let order: Vec<&str> = s
        .matching_mappings()
        .map(|m| m.target_attribute.as_str())
        .collect();
    assert_eq!(
        order,
        ["userName", "externalId", "emails[type eq \"work\"].value"]
    );
    let values = s
        .matching_values(
            &res(json!({"userPrincipalName": "a@x", "mail": "a@x.com"})),
            &ctx(),
        )
        .unwrap();
    let shown: Vec<(String, Value)> = values
        .into_iter()
        .map(|(p, v)| (p.to_string(), v))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("userName".to_owned(), json!("a@x")),
            (
                "emails[type eq \"work\"].value".to_owned(),
                json!("a@x.com")
            )
        ]
    );
}

#[test]
fn invalid_mapping_sets_are_rejected_when_loaded() {
    let key = json!({"targetAttribute": "userName", "source": {"type": "Direct", "path": "upn"}, "matchingPriority": 1});
    assert!(matches!(
        load_err(
            json!([{"targetAttribute": "userName", "source": {"type": "Direct", "path": "upn"}}])
        ),
        Error::InvalidMappingSet { .. }
    ));
    assert!(matches!(
        load_err(
            json!([{"targetAttribute": "userName", "source": {"type": "Direct", "path": "upn"}, "matchingPriority": 0}])
        ),
        Error::InvalidMappingSet { .. }
    ));
    let bad = |m: Value| match load_err(json!([key.clone(), m])) {
        Error::InvalidMapping { index, message, .. } => {
            assert_eq!(index, 1);
            message
        }
        other => panic!("{other:?}"),
    };
    assert!(bad(json!({"targetAttribute": "mail", "source": {"type": "Expression", "expression": "SelectUniqueValue(Join(\"@\", [mailNickname], \"contoso.com\"), Join(\"@\", [givenName], \"contoso.com\"))"}, "matchingPriority": 2})).contains("SelectUniqueValue cannot be used on a matching attribute"));
    assert!(
        bad(json!({"targetAttribute": "userName", "source": {"type": "Constant", "value": "x"}}))
            .contains("already writes")
    );
    assert!(
        bad(json!({"targetAttribute": "id", "source": {"type": "Direct", "path": "objectId"}}))
            .contains("id")
    );
    assert!(
        bad(
            json!({"targetAttribute": "emails[type eq", "source": {"type": "Direct", "path": "x"}})
        )
        .contains("bad target")
    );
    assert!(
        bad(json!({"targetAttribute": "x", "source": {"type": "Direct", "path": "a[b"}}))
            .contains("bad source path")
    );
    assert!(bad(json!({"targetAttribute": "x", "source": {"type": "Expression", "expression": "a".repeat(10_001)}})).contains("10000"));
    assert!(
        bad(json!({"targetAttribute": "x", "source": {"type": "None"}, "matchingPriority": 2}))
            .contains("needs a source")
    );
    assert!(matches!(
        load_err(
            json!([key.clone(), {"targetAttribute": "x", "source": {"type": "Direct", "path": "a"}, "matchingPriority": 1}])
        ),
        Error::InvalidMappingSet { .. }
    ));
    // SelectUniqueValue on a non-matching attribute is fine; 10,000 characters are fine.
    assert!(
        MappingSet::new(vec![
            serde_json::from_value(key.clone()).unwrap(),
            AttributeMapping::new(
                "mail",
                MappingSource::expression("SelectUniqueValue([a], [b])")
            ),
            AttributeMapping::new(
                "nickName",
                MappingSource::expression(format!("\"{}\"", "a".repeat(9_998)))
            ),
        ])
        .is_ok()
    );
    assert!(matches!(
        load_err(json!([{"targetAttribute": "x", "source": {"type": "Formula"}}])),
        Error::InvalidJson { .. }
    ));
    assert!(matches!(
        load_err(
            json!([{"targetAttribute": "x", "source": {"type": "None"}, "flowType": "Sometimes"}])
        ),
        Error::InvalidJson { .. }
    ));
}

#[test]
fn expression_sources() {
    let s = with_key(vec![
        json!({"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Expression",
               "expression": "Join(\"@\", ToLower([givenName]), \"contoso.com\")"}}),
        json!({"targetAttribute": "nickName", "source": {"type": "Expression",
               "expression": "IgnoreFlowIfNullOrEmpty([nick])"}, "flowNullValues": true, "defaultValue": "none"}),
        json!({"targetAttribute": "title", "source": {"type": "Expression",
               "expression": "Trim([jobTitle])"}, "defaultValue": "Staff"}),
        json!({"targetAttribute": "password", "source": {"type": "Expression",
               "expression": "Redact([secret])"}}),
    ]);
    let source = res(
        json!({"userPrincipalName": "a", "givenName": "Ann", "jobTitle": "  ", "secret": "s3cr3t"}),
    );
    let created = s.create_attributes(&source, &ctx()).unwrap();
    insta::assert_json_snapshot!(Value::Object(created), @r#"
    {
      "userName": "a",
      "emails[type eq \"work\"].value": "ann@contoso.com",
      "title": "Staff",
      "password": "s3cr3t"
    }
    "#);
    // Logs hide what Redact produced.
    let logged = s.create_attributes_for_log(&source, &ctx()).unwrap();
    assert_eq!(logged.get("password"), Some(&json!("[Redact]")));
    assert_eq!(s.redacted_targets(&source, &ctx()).unwrap(), ["password"]);
    // IgnoreFlowIfNullOrEmpty leaves the target alone, even with flowNullValues.
    let current = res(
        json!({"userName": "a", "nickName": "Annie", "title": "Boss", "password": "s3cr3t",
        "emails": [{"type": "work", "value": "ann@contoso.com"}]}),
    );
    assert!(s.update(&source, &current, &ctx()).unwrap().is_empty());
    let source = res(
        json!({"userPrincipalName": "a", "givenName": "Ann", "nick": "Nan", "secret": "s3cr3t"}),
    );
    assert_eq!(
        ops(&s.update(&source, &current, &ctx()).unwrap()),
        json!([{"op": "replace", "path": "nickName", "value": "Nan"}])
    );
}

#[test]
fn expression_errors_name_the_mapping() {
    match load_err(
        json!([{"targetAttribute": "userName", "source": {"type": "Expression", "expression": "Join(\"@\", [a]"}, "matchingPriority": 1}]),
    ) {
        Error::InvalidMapping {
            index: 0,
            target,
            message,
        } => {
            assert_eq!(target, "userName");
            assert!(message.contains("position"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let s = MappingSet::new(vec![
        AttributeMapping::new("userName", MappingSource::direct("upn")).with_matching_priority(1),
        AttributeMapping::new(
            "mail",
            MappingSource::expression("Error(\"no mail for \" & [upn])"),
        ),
    ])
    .unwrap();
    match s
        .create_attributes(&res(json!({"upn": "a"})), &ctx())
        .unwrap_err()
    {
        Error::MappingExpression { target, source } => {
            assert_eq!(target, "mail");
            assert!(
                matches!(*source, Error::ExpressionRaised { ref message } if message == "no mail for a"),
                "{source:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn builders_and_serde_agree() {
    let built = AttributeMapping::new("title", MappingSource::direct("jobTitle"))
        .with_default("Staff")
        .with_flow_type(FlowType::AttributeAddOnly)
        .with_matching_priority(1)
        .with_flow_null_values(true);
    let text = json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "defaultValue": "Staff", "flowType": "AttributeAddOnly", "matchingPriority": 1, "flowNullValues": true});
    assert_eq!(serde_json::to_value(&built).unwrap(), text);
    let s: MappingSet = serde_json::from_value(json!([text])).unwrap();
    assert_eq!(serde_json::to_value(&s).unwrap(), json!([text]));
}

proptest! {
    /// Whatever the source and the current target, applying the update PATCH leaves nothing to
    /// do, and a target value is never cleared by a missing source.
    #[test]
    fn update_then_update_is_empty(
        title in prop::option::of("[a-c]{0,2}"),
        now in prop::option::of("[a-c]{0,2}"),
        phone in prop::option::of("[0-9]{1,2}"),
        now_phone in prop::option::of("[0-9]{1,2}"),
    ) {
        let s = with_key(vec![
            json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}}),
            json!({"targetAttribute": "phoneNumbers[type eq \"work\"].value", "source": {"type": "Direct", "path": "tel"}}),
        ]);
        let mut src = json!({"userPrincipalName": "a"});
        if let Some(t) = &title { src["jobTitle"] = json!(t); }
        if let Some(p) = &phone { src["tel"] = json!(p); }
        let mut cur = json!({"userName": "a"});
        if let Some(t) = &now { cur["title"] = json!(t); }
        if let Some(p) = &now_phone { cur["phoneNumbers"] = json!([{"type": "work", "value": p}]); }
        let source = res(src);
        let mut current = res(cur);
        let p = s.update(&source, &current, &ctx()).unwrap();
        p.apply(&mut current, &SchemaRegistry::default()).unwrap();
        prop_assert!(s.update(&source, &current, &ctx()).unwrap().is_empty());
        let source_empty = title.as_deref().is_none_or(str::is_empty);
        if let Some(t) = now.filter(|t| !t.is_empty() && source_empty) {
            prop_assert_eq!(current.get("title"), Some(&json!(t)));
        }
    }
}

#[test]
fn custom_extension_target_attributes() {
    let ext = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let s = with_key(vec![
        json!({"targetAttribute": format!("{ext}:CustomAttribute"), "source": {"type": "Direct", "path": "costCenter"}}),
    ]);
    let source = res(json!({"userPrincipalName": "a", "costCenter": "CC-1"}));
    let created = s.create_resource(&source, &ctx()).unwrap();
    assert!(created.has_schema(ext));
    assert_eq!(
        created.attribute(Some(ext), "CustomAttribute"),
        Some(&json!("CC-1"))
    );
    assert_eq!(
        s.create_attributes(&source, &ctx())
            .unwrap()
            .get(&format!("{ext}:CustomAttribute")),
        Some(&json!("CC-1"))
    );
    // Unchanged → nothing; changed → replace through the URN-qualified path.
    assert!(s.update(&source, &created, &ctx()).unwrap().is_empty());
    let changed = res(json!({"userPrincipalName": "a", "costCenter": "CC-2"}));
    assert_eq!(
        ops(&s.update(&changed, &created, &ctx()).unwrap()),
        json!([{"op": "replace", "path": format!("{ext}:CustomAttribute"), "value": "CC-2"}])
    );
}

#[test]
fn empty_string_from_the_source_is_null() {
    // The HR doc says an empty string flows "as-is"; idflow treats it as null (the rule that
    // an empty source never blanks a target), and Flow null values opts into clearing.
    let s = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}}),
    ]);
    let source = res(json!({"userPrincipalName": "a", "jobTitle": ""}));
    assert!(
        !s.create_attributes(&source, &ctx())
            .unwrap()
            .contains_key("title")
    );
    assert!(
        s.update(
            &source,
            &res(json!({"userName": "a", "title": "x"})),
            &ctx()
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn flow_null_values_through_a_value_filter_path() {
    let s = with_key(vec![
        json!({"targetAttribute": "phoneNumbers[type eq \"work\"].value",
        "source": {"type": "Direct", "path": "tel"}, "flowNullValues": true}),
    ]);
    let source = res(json!({"userPrincipalName": "a"}));
    let current = res(
        json!({"userName": "a", "phoneNumbers": [{"type": "work", "value": "1"}, {"type": "mobile", "value": "2"}]}),
    );
    let p = s.update(&source, &current, &ctx()).unwrap();
    assert_eq!(
        ops(&p),
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"].value"}])
    );
    let mut after = current.clone();
    p.apply(&mut after, &SchemaRegistry::default()).unwrap();
    assert!(s.update(&source, &after, &ctx()).unwrap().is_empty());
    assert!(
        after
            .get("phoneNumbers")
            .unwrap()
            .as_array()
            .unwrap()
            .contains(&json!({"type": "mobile", "value": "2"}))
    );
}

/// `create_attributes` keeps mapping order and leaves out mappings that do not flow, with
/// target keys copied from a template (or inserted one by one when two mappings spell their
/// target alike), and agrees with what `create_attributes_for_log` lists.
#[test]
fn create_keeps_mapping_order_and_leaves_out_what_does_not_flow() {
    let set = with_key(vec![
        json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}}),
        json!({"targetAttribute": "displayName", "source": {"type": "Direct", "path": "name"}, "defaultValue": "n/a"}),
        json!({"targetAttribute": "nickName", "source": {"type": "Expression", "expression": "IgnoreFlowIfNullOrEmpty([nick])"}}),
        json!({"targetAttribute": "locale", "source": {"type": "Constant", "value": "en"}}),
        json!({"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Direct", "path": "mail"}}),
    ]);
    let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    let all = res(
        json!({"userPrincipalName": "a", "jobTitle": "t", "name": "N", "nick": "k", "mail": "m"}),
    );
    let out = set.create_attributes(&all, &ctx()).unwrap();
    assert_eq!(
        keys(&out),
        [
            "userName",
            "title",
            "displayName",
            "nickName",
            "locale",
            "emails[type eq \"work\"].value"
        ]
    );
    assert_eq!(out["nickName"], "k");
    let some = res(json!({"userPrincipalName": "a", "mail": "m"}));
    let out = set.create_attributes(&some, &ctx()).unwrap();
    assert_eq!(
        keys(&out),
        [
            "userName",
            "displayName",
            "locale",
            "emails[type eq \"work\"].value"
        ]
    );
    assert_eq!(out["displayName"], "n/a");
    assert_eq!(
        keys(&set.create_attributes_for_log(&some, &ctx()).unwrap()),
        keys(&out)
    );
    // Twice, so that the template is not changed by a create.
    assert_eq!(keys(&set.create_attributes(&all, &ctx()).unwrap()).len(), 6);
}

/// A source value for [`create_writes_what_each_mapping_gives`]: absent, null, empty or not,
/// of each JSON kind.
fn arb_source_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(""))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
        Just(Some(json!([""]))),
        Just(Some(json!({"value": ""}))),
        "[a-c]{1,3}".prop_map(|s| Some(json!(s))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        (0i64..100).prop_map(|n| Some(json!(n))),
        "[a-c]{1,2}".prop_map(|s| Some(json!([s, "x"]))),
        "[a-c]{1,2}".prop_map(|s| Some(json!({"givenName": s}))),
    ]
}

proptest! {
    /// `create_attributes` writes each mapping's value straight into its slot of the output;
    /// `create_attributes_for_log` builds the map from each mapping's value as computed by the
    /// plain definition (flow, then the default value). Without `Redact` they agree, for
    /// Direct, Constant, Expression and None sources, with and without default values, on
    /// sources with absent, null, empty and non-empty values of every kind.
    #[test]
    fn create_writes_what_each_mapping_gives(
        values in proptest::collection::vec(arb_source_value(), 4),
        constant in arb_source_value(),
        default in arb_source_value(),
    ) {
        let mut mappings = vec![
            json!({"targetAttribute": "userName", "source": {"type": "Direct", "path": "a"}, "matchingPriority": 1}),
            json!({"targetAttribute": "title", "source": {"type": "Direct", "path": "b"}}),
            json!({"targetAttribute": "nickName", "source": {"type": "Direct", "path": "c"}}),
            json!({"targetAttribute": "name.givenName", "source": {"type": "Direct", "path": "d.givenName"}}),
            json!({"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Direct", "path": "e[type eq \"work\"].value"}}),
            json!({"targetAttribute": "locale", "source": {"type": "Expression", "expression": "IgnoreFlowIfNullOrEmpty([b])"}}),
            json!({"targetAttribute": "profileUrl", "source": {"type": "Expression", "expression": "Trim([c])"}}),
            json!({"targetAttribute": "timezone", "source": {"type": "None"}}),
        ];
        if let Some(c) = &constant {
            mappings.push(json!({"targetAttribute": "userType", "source": {"type": "Constant", "value": c}}));
        }
        if let Some(d) = &default {
            for m in &mut mappings[1..] {
                m["defaultValue"] = d.clone();
            }
        }
        let s = set(Value::Array(mappings));
        let mut src = serde_json::Map::new();
        for (key, v) in ["a", "b", "c", "d"].iter().zip(&values) {
            if let Some(v) = v {
                src.insert((*key).into(), v.clone());
            }
        }
        if let Some(v) = &values[3] {
            src.insert("e".into(), json!([{"type": "work", "value": v}]));
        }
        let source = res(Value::Object(src));
        let fast = s.create_attributes(&source, &ctx());
        let plain = s.create_attributes_for_log(&source, &ctx());
        match (fast, plain) {
            (Ok(f), Ok(p)) => {
                prop_assert_eq!(f.keys().collect::<Vec<_>>(), p.keys().collect::<Vec<_>>());
                prop_assert_eq!(f, p);
            }
            (f, p) => prop_assert_eq!(f.map_err(|e| e.to_string()), p.map_err(|e| e.to_string())),
        }
    }
}

/// The mapping set of [`into_equals_create_attributes`]: Direct, Constant, None and
/// Expression sources (text functions, `IgnoreFlowIfNullOrEmpty`, an `Item` that fails when
/// `f` has fewer than two values), some with default values.
fn into_set() -> MappingSet {
    set(json!([
        {"targetAttribute": "userName", "source": {"type": "Direct", "path": "a"}, "matchingPriority": 1},
        {"targetAttribute": "title", "source": {"type": "Direct", "path": "b"}},
        {"targetAttribute": "nickName", "source": {"type": "Direct", "path": "c"}, "defaultValue": "none"},
        {"targetAttribute": "name.givenName", "source": {"type": "Direct", "path": "d.givenName"}},
        {"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Direct", "path": "e[type eq \"work\"].value"}},
        {"targetAttribute": "userType", "source": {"type": "Constant", "value": "Employee"}},
        {"targetAttribute": "timezone", "source": {"type": "None"}, "defaultValue": "UTC"},
        {"targetAttribute": "preferredLanguage", "source": {"type": "None"}},
        {"targetAttribute": "displayName", "source": {"type": "Expression", "expression": "Join(\" \", [b], [c])"}},
        {"targetAttribute": "locale", "source": {"type": "Expression", "expression": "IgnoreFlowIfNullOrEmpty(ToLower(Left([b], 2)))"}},
        {"targetAttribute": "profileUrl", "source": {"type": "Expression", "expression": "Append(\"https://x/\", Replace([a], \"@c\", , , \"\", , ))"}},
        {"targetAttribute": "x509Certificates", "source": {"type": "Expression", "expression": "Switch([b], [c], \"a\", \"A\", \"b\", 7)"}, "defaultValue": true},
        {"targetAttribute": "active", "source": {"type": "Expression", "expression": "IIF([c] = \"a\", \"True\", \"False\")"}},
        {"targetAttribute": "addresses", "source": {"type": "Expression", "expression": "Item([f], 2)"}}
    ]))
}

/// The target keys of [`into_set`] and others, for prior contents of `out`.
const INTO_KEYS: [&str; 17] = [
    "userName",
    "title",
    "nickName",
    "name.givenName",
    "emails[type eq \"work\"].value",
    "userType",
    "timezone",
    "preferredLanguage",
    "displayName",
    "locale",
    "profileUrl",
    "x509Certificates",
    "active",
    "addresses",
    "UserName",
    "other",
    "",
];

/// A source for [`into_set`]: `a`…`d` and the work email from five optional values, and
/// `f`, mostly two values (so that `Item([f], 2)` fails now and then, not mostly).
fn into_source((values, f): &(Vec<Option<Value>>, Option<Value>)) -> Resource {
    let mut src = serde_json::Map::new();
    for (key, v) in ["a", "b", "c", "d"].iter().zip(values) {
        if let Some(v) = v {
            src.insert((*key).into(), v.clone());
        }
    }
    if let Some(Some(v)) = values.get(4) {
        src.insert("e".into(), json!([{"type": "work", "value": v}]));
    }
    match f {
        Some(f) => src.insert("f".into(), f.clone()),
        None => src.insert("f".into(), json!(["p", "q"])),
    };
    res(Value::Object(src))
}

/// Values for [`into_source`].
fn arb_into_source() -> impl Strategy<Value = (Vec<Option<Value>>, Option<Value>)> {
    (
        proptest::collection::vec(arb_source_value(), 5),
        proptest::option::weighted(
            0.1,
            arb_source_value().prop_map(|v| v.unwrap_or(Value::Null)),
        ),
    )
}

/// `create_attributes_into` left `out` as `create_attributes` returns (same keys, same
/// order, same values), or both failed alike.
fn same_as_create(
    s: &MappingSet,
    source: &Resource,
    out: &mut serde_json::Map<String, Value>,
) -> Result<(), TestCaseError> {
    let into = s.create_attributes_into(source, &ctx(), out);
    match (into, s.create_attributes(source, &ctx())) {
        (Ok(()), Ok(plain)) => {
            prop_assert_eq!(
                out.keys().collect::<Vec<_>>(),
                plain.keys().collect::<Vec<_>>()
            );
            prop_assert_eq!(&*out, &plain);
        }
        (into, plain) => prop_assert_eq!(
            into.map_err(|e| e.to_string()),
            plain.map(|_| ()).map_err(|e| e.to_string())
        ),
    }
    Ok(())
}

proptest! {
    /// `create_attributes_into` leaves `out` exactly equal to what `create_attributes`
    /// returns, or fails with the same error, whatever `out` held: nothing, another source's
    /// output (some keys left out), unrelated keys, the target keys in another order,
    /// values of other types; and called again on the same map (after a failure too), for
    /// a run of sources.
    #[test]
    fn into_equals_create_attributes(
        sources in proptest::collection::vec(arb_into_source(), 1..5),
        prior in 0u8..6,
        junk in proptest::collection::vec((0..INTO_KEYS.len(), arb_source_value()), 0..8),
    ) {
        let s = into_set();
        let first = into_source(&sources[0]);
        let mut out = serde_json::Map::new();
        let other = || {
            let last = into_source(&sources[sources.len() - 1]);
            s.create_attributes(&last, &ctx()).unwrap_or_default()
        };
        match prior {
            0 => {}
            1 => out = other(),
            // Another source's output with its keys reversed.
            2 => out = other().into_iter().rev().collect(),
            // Another source's output with keys removed, moved to the end, or added.
            3 | 4 => {
                out = other();
                for (k, v) in &junk {
                    let key = INTO_KEYS[*k];
                    match v {
                        None => {
                            out.shift_remove(key);
                        }
                        Some(v) if prior == 3 => {
                            out.shift_remove(key);
                            out.insert(key.to_owned(), v.clone());
                        }
                        Some(v) => {
                            out.insert(key.to_owned(), v.clone());
                        }
                    }
                }
            }
            // Keys and values of any kind.
            _ => {
                for (k, v) in &junk {
                    out.insert(INTO_KEYS[*k].to_owned(), v.clone().unwrap_or(json!(12)));
                }
            }
        }
        same_as_create(&s, &first, &mut out)?;
        for values in &sources[1..] {
            same_as_create(&s, &into_source(values), &mut out)?;
        }
    }
}
