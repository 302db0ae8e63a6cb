//! Tests: schema — the built-in RFC 7643 schemas, custom extensions registered at run time,
//! attribute lookups, and validation of resources.

// Helpers shared by the tests unwrap like the tests do: a broken fixture should stop loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use insta::assert_snapshot;
use proptest::prelude::*;
use scim_model::schema::{
    AttributeType, Operation, Uniqueness, ValidationIssue, ValidationOptions,
};
use scim_model::{
    AttributePath, ENTERPRISE_USER_SCHEMA, Error, GROUP_SCHEMA, Resource, Schema, SchemaRegistry,
    ScimType, USER_SCHEMA,
};
use serde_json::{Value, json};

use crate::support::conformance;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";

/// The custom extension of the task: hire and leave dates, and an account name unique per
/// service provider.
fn acme_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ACME,
        "name": "AcmeUser",
        "description": "Acme's HR attributes",
        "attributes": [
            {"name": "HireDate", "type": "dateTime", "multiValued": false, "required": false,
             "mutability": "readWrite", "returned": "default"},
            {"name": "LeaveDate", "type": "dateTime", "multiValued": false, "required": false,
             "mutability": "readWrite", "returned": "default"},
            {"name": "SamAccountName", "type": "string", "multiValued": false, "required": false,
             "caseExact": false, "mutability": "readWrite", "returned": "default",
             "uniqueness": "server"}
        ]
    })
}

fn acme_registry() -> SchemaRegistry {
    let mut r = SchemaRegistry::default();
    r.register_json(&acme_schema()).unwrap();
    r
}

fn path(s: &str) -> AttributePath {
    AttributePath::parse(s).unwrap()
}

fn resource(v: Value) -> Resource {
    Resource::from_value(v).unwrap()
}

/// One line per issue: `path [scimType] message`.
fn render(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("{} [{}] {}", i.path, i.scim_type, i.message))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Built-in schemas

/// Gives a field's RFC 7643 §7 default value.
type FieldDefault = fn() -> Value;

/// The fields compared between a built-in attribute and the corpus, with their defaults.
const FIELDS: [(&str, FieldDefault); 9] = [
    ("type", || Value::Null),
    ("multiValued", || json!(false)),
    ("required", || json!(false)),
    ("caseExact", || json!(false)),
    ("mutability", || json!("readWrite")),
    ("returned", || json!("default")),
    ("uniqueness", || json!("none")),
    ("canonicalValues", || json!([])),
    ("referenceTypes", || json!([])),
];

fn compare_attributes(
    label: &str,
    corpus: &[Value],
    ours: &[Value],
    parent: &str,
    diffs: &mut Vec<String>,
) {
    let name_of = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
    for c in corpus {
        let name = name_of(c);
        let path = if parent.is_empty() {
            name.clone()
        } else {
            format!("{parent}.{name}")
        };
        let Some(o) = ours.iter().find(|o| name_of(o) == name) else {
            diffs.push(format!("{label} {path}: missing from the built-in schema"));
            continue;
        };
        for (field, default) in FIELDS {
            let cv = c.get(field).cloned().unwrap_or_else(default);
            let ov = o.get(field).cloned().unwrap_or_else(default);
            if cv != ov {
                diffs.push(format!(
                    "{label} {path}: {field}: corpus {cv}, built-in {ov}"
                ));
            }
        }
        let subs = |v: &Value| v.get("subAttributes").and_then(Value::as_array).cloned();
        compare_attributes(
            label,
            &subs(c).unwrap_or_default(),
            &subs(o).unwrap_or_default(),
            &path,
            diffs,
        );
    }
    for o in ours {
        let name = name_of(o);
        if !corpus.iter().any(|c| name_of(c) == name) {
            diffs.push(format!(
                "{label} {parent}.{name}: not in the corpus document"
            ));
        }
    }
}

/// Every built-in schema agrees with the RFC 7643 §8.7.1 document of the corpus, attribute by
/// attribute, except for the deliberate differences listed in `schema/builtin/README.md`.
#[test]
fn builtin_schemas_agree_with_rfc_corpus() {
    let registry = SchemaRegistry::with_builtins().unwrap();
    let mut diffs = Vec::new();
    for (file, label) in [
        ("rfc/rfc7643-8.7.1-schema-user.json", "User"),
        ("rfc/rfc7643-8.7.1-schema-group.json", "Group"),
        (
            "rfc/rfc7643-8.7.1-schema-enterprise_user.json",
            "EnterpriseUser",
        ),
    ] {
        let corpus = conformance(file);
        let urn = corpus["id"].as_str().unwrap();
        let ours = serde_json::to_value(registry.schema(urn).unwrap()).unwrap();
        assert_eq!(ours["id"], corpus["id"]);
        assert_eq!(ours["name"], corpus["name"], "{label}");
        compare_attributes(
            label,
            corpus["attributes"].as_array().unwrap(),
            ours["attributes"].as_array().unwrap(),
            "",
            &mut diffs,
        );
    }
    assert_eq!(
        diffs,
        [
            "EnterpriseUser manager.value: required: corpus true, built-in false",
            "EnterpriseUser manager.value: caseExact: corpus true, built-in false",
            "EnterpriseUser manager.$ref: required: corpus true, built-in false",
        ],
        "only the deliberate differences of schema/builtin/README.md"
    );
}

#[test]
fn default_registry_is_the_builtins_and_is_independent() {
    let mut a = SchemaRegistry::default();
    let b = SchemaRegistry::default();
    a.register_json(&acme_schema()).unwrap();
    assert!(a.contains(ACME));
    assert!(
        !b.contains(ACME),
        "default() must hand out independent registries"
    );
    let urns: Vec<&str> = b.schemas().map(|s| s.id.as_str()).collect();
    assert_eq!(urns, [GROUP_SCHEMA, USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
    assert_eq!(SchemaRegistry::empty().schemas().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Lookups

#[test]
fn lookups_know_types_and_case_exactness() {
    let r = SchemaRegistry::default();
    let kind = |base: &str, p: &str| r.attribute_in(base, &path(p)).map(|a| a.kind);
    let exact = |base: &str, p: &str| r.attribute_in(base, &path(p)).map(|a| a.case_exact);
    assert_eq!(
        kind(USER_SCHEMA, "meta.lastModified"),
        Some(AttributeType::DateTime)
    );
    assert_eq!(
        kind(GROUP_SCHEMA, "META.CREATED"),
        Some(AttributeType::DateTime)
    );
    assert_eq!(exact(USER_SCHEMA, "id"), Some(true));
    assert_eq!(exact(GROUP_SCHEMA, "externalId"), Some(true));
    assert_eq!(exact(USER_SCHEMA, "userName"), Some(false));
    assert_eq!(kind(USER_SCHEMA, "active"), Some(AttributeType::Boolean));
    assert_eq!(
        kind(USER_SCHEMA, "x509Certificates.value"),
        Some(AttributeType::Binary)
    );
    assert_eq!(
        kind(USER_SCHEMA, r#"emails[type eq "work"].value"#),
        Some(AttributeType::String)
    );
    assert_eq!(
        kind(
            USER_SCHEMA,
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"
        ),
        Some(AttributeType::String)
    );
    assert_eq!(
        kind(
            USER_SCHEMA,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER.value"
        ),
        Some(AttributeType::String)
    );
    assert_eq!(
        kind(GROUP_SCHEMA, "members.$ref"),
        Some(AttributeType::Reference)
    );
    // Unqualified names belong to the base schema only.
    assert_eq!(kind(USER_SCHEMA, "department"), None);
    assert_eq!(kind(USER_SCHEMA, "nosuch"), None);
    assert!(
        r.schema("urn:ietf:params:scim:schemas:core:2.0:user")
            .is_some()
    );
}

#[test]
fn attribute_resolves_by_the_resource_base_schema() {
    let r = acme_registry();
    let user = resource(json!({"schemas": [USER_SCHEMA, ACME], "userName": "x"}));
    let group = resource(json!({"schemas": [GROUP_SCHEMA], "displayName": "g"}));
    assert!(r.attribute(&user, &path("userName")).is_some());
    assert!(r.attribute(&group, &path("userName")).is_none());
    assert!(r.attribute(&group, &path("members.value")).is_some());
    let sam = r
        .attribute(&user, &path(&format!("{ACME}:samAccountName")))
        .unwrap();
    assert_eq!(sam.uniqueness, Uniqueness::Server);
    assert_eq!(sam.name, "SamAccountName");
    let hire = r
        .attribute(&group, &path(&format!("{ACME}:hiredate")))
        .unwrap();
    assert_eq!(hire.kind, AttributeType::DateTime);
}

// ---------------------------------------------------------------------------------------------
// Registering extensions

#[test]
fn custom_extension_registers_and_validates() {
    let r = acme_registry();
    let schema = r.schema(ACME).unwrap();
    assert_eq!(schema.name.as_deref(), Some("AcmeUser"));
    assert_eq!(schema.attributes.len(), 3);

    let good = resource(json!({
        "schemas": [USER_SCHEMA, ACME],
        "userName": "bjensen",
        ACME: {"HireDate": "2024-03-01T09:00:00Z", "leavedate": "2025-03-01T17:00:00+01:00",
               "SamAccountName": "BJENSEN"}
    }));
    assert_eq!(r.validate(&good, Operation::Create), []);

    let bad = resource(json!({
        "schemas": [USER_SCHEMA, ACME],
        "userName": "bjensen",
        ACME: {"HireDate": "2024-13-01", "SamAccountName": ["a"], "Badge": 7}
    }));
    let issues = r.validate(&bad, Operation::Create);
    assert_eq!(issues[0].path, format!("{ACME}:HireDate"));
    assert_eq!(issues[0].scim_type, ScimType::InvalidValue);
    assert_eq!(
        issues[0].message,
        r#"expected a dateTime (RFC 3339, e.g. 2008-01-23T04:56:22Z), found "2024-13-01""#
    );
    assert_eq!(issues[1].path, format!("{ACME}:SamAccountName"));
    assert_eq!(issues[2].path, format!("{ACME}:Badge"));
    assert_eq!(issues.len(), 3, "{}", render(&issues));

    // Without the registration, the block is unknown.
    let plain = SchemaRegistry::default();
    let issues = plain.validate(&good, Operation::Create);
    assert_eq!(
        render(&issues),
        format!(
            "schemas[1] [invalidValue] unknown schema \"{ACME}\": it is neither built in nor registered"
        )
    );
}

#[test]
fn schema_text_and_typed_paths_agree() {
    let text = serde_json::to_string(&acme_schema()).unwrap();
    let parsed: Schema = text.parse().unwrap();
    let mut a = SchemaRegistry::empty();
    a.register(parsed.clone()).unwrap();
    let mut b = SchemaRegistry::empty();
    b.register_str(&text).unwrap();
    assert_eq!(a.schema(ACME), b.schema(ACME));
    // A schema serialises back to a document that reads the same.
    let round: Schema = serde_json::to_string(&parsed).unwrap().parse().unwrap();
    assert_eq!(round, parsed);
    assert!(matches!(
        "not json".parse::<Schema>(),
        Err(Error::Json { .. })
    ));
}

/// Bad schema documents are refused with `InvalidSchema`, naming the schema and attribute.
#[test]
fn bad_schema_documents_are_refused() {
    let variants: Vec<(&str, Value)> = vec![
        ("id not a URN", {
            let mut d = acme_schema();
            d["id"] = json!("acme:user");
            d
        }),
        ("name with a space", {
            let mut d = acme_schema();
            d["attributes"][0]["name"] = json!("Hire Date");
            d
        }),
        ("name starting with a digit", {
            let mut d = acme_schema();
            d["attributes"][0]["name"] = json!("1stDay");
            d
        }),
        ("duplicate name", {
            let mut d = acme_schema();
            d["attributes"][1]["name"] = json!("hiredate");
            d
        }),
        ("unknown type", {
            let mut d = acme_schema();
            d["attributes"][2]["type"] = json!("text");
            d
        }),
        ("unknown mutability", {
            let mut d = acme_schema();
            d["attributes"][2]["mutability"] = json!("writeable");
            d
        }),
        ("unknown uniqueness", {
            let mut d = acme_schema();
            d["attributes"][2]["uniqueness"] = json!("tenant");
            d
        }),
        ("unknown returned", {
            let mut d = acme_schema();
            d["attributes"][2]["returned"] = json!("sometimes");
            d
        }),
        ("boolean as string", {
            let mut d = acme_schema();
            d["attributes"][2]["caseExact"] = json!("false");
            d
        }),
        ("complex without subAttributes", {
            let mut d = acme_schema();
            d["attributes"][0] = json!({"name": "Badge", "type": "complex"});
            d
        }),
        ("complex sub-attribute", {
            let mut d = acme_schema();
            d["attributes"][0] = json!({"name": "Badge", "type": "complex", "subAttributes": [
                {"name": "Door", "type": "complex", "subAttributes": [
                    {"name": "Code", "type": "string"}]}]});
            d
        }),
        ("duplicate sub-attribute", {
            let mut d = acme_schema();
            d["attributes"][0] = json!({"name": "Badge", "type": "complex", "subAttributes": [
                {"name": "code", "type": "string"}, {"name": "Code", "type": "integer"}]});
            d
        }),
        ("sub-attributes on a string", {
            let mut d = acme_schema();
            d["attributes"][0]["subAttributes"] = json!([{"name": "x", "type": "string"}]);
            d
        }),
        ("attribute without type", {
            let mut d = acme_schema();
            d["attributes"][0].as_object_mut().unwrap().remove("type");
            d
        }),
        ("attributes not a list", {
            let mut d = acme_schema();
            d["attributes"] = json!({"HireDate": "dateTime"});
            d
        }),
    ];
    let mut out = String::new();
    for (what, doc) in variants {
        let mut r = SchemaRegistry::default();
        match r.register_json(&doc) {
            Err(Error::InvalidSchema { urn, message }) => {
                if what != "id not a URN" {
                    assert_eq!(urn, ACME, "{what}");
                }
                out.push_str(&format!("{what}: {urn}: {message}\n"));
            }
            other => panic!("{what}: expected InvalidSchema, got {other:?}"),
        }
        assert_eq!(r.schemas().count(), 3, "{what}: nothing registered");
    }
    assert_snapshot!(out);
}

// ---------------------------------------------------------------------------------------------
// Validation: the RFC examples

#[test]
fn rfc7643_section8_examples_are_valid_as_stored() {
    let r = SchemaRegistry::default();
    for file in [
        "rfc/rfc7643-8.1-user-minimal.json",
        "rfc/rfc7643-8.2-user-full.json",
        "rfc/rfc7643-8.3-enterprise_user.json",
        "rfc/rfc7643-8.4-group.json",
        "rfc/rfc7644-3.3-user-post_response.json",
        "rfc/rfc7644-3.5.1-user-put_response.json",
    ] {
        let res = resource(conformance(file));
        for options in [ValidationOptions::default(), ValidationOptions::strict()] {
            let issues = r.validate_with(&res, Operation::Stored, &options);
            assert!(issues.is_empty(), "{file}:\n{}", render(&issues));
        }
    }
}

#[test]
fn rfc7644_requests_are_valid_for_their_operation() {
    let r = SchemaRegistry::default();
    let post = resource(conformance("rfc/rfc7644-3.3-user-post_request.json"));
    assert_eq!(r.validate(&post, Operation::Create), []);
    // The PUT body carries `id`, which Replace allows.
    let put = resource(conformance("rfc/rfc7644-3.5.1-user-put_request.json"));
    assert_eq!(r.validate(&put, Operation::Replace), []);
    // The same body on Create sends a readOnly `id`.
    assert_eq!(
        render(&r.validate(&put, Operation::Create)),
        "id [mutability] readOnly attribute: the service provider sets it, a client may not send it"
    );
    // The full example user as a POST body: `id`, `groups` and `meta` are the server's.
    let full = resource(conformance("rfc/rfc7643-8.2-user-full.json"));
    assert_snapshot!(render(&r.validate(&full, Operation::Create)));
}

/// Provisioning clients' recorded POST bodies (Microsoft Entra / Azure AD, Okta) validate as
/// Create, and the resources returned as Stored. Entra sends `"meta": {"resourceType": "User"}`
/// and lists a Microsoft schema URN in a Group's `schemas`: both accepted unless strict.
#[test]
fn idp_create_requests_are_valid() {
    let r = SchemaRegistry::default();
    for file in [
        "idp/azuread/create_user.json",
        "idp/azuread/create_group.json",
        "idp/okta/create_user.json",
        "idp/okta/create_group.json",
    ] {
        let request = resource(conformance(file)["request"].clone());
        let issues = r.validate(&request, Operation::Create);
        assert!(issues.is_empty(), "{file}:\n{}", render(&issues));
    }
    // Microsoft's documented exchanges: POST bodies as Create, returned resources as Stored.
    let doc = conformance("entra/provisioning-examples.json");
    let mut checked = 0;
    for ex in doc["exchanges"].as_array().unwrap() {
        let name = ex["name"].as_str().unwrap_or_default();
        if ex["method"] == "POST" {
            let request = resource(ex["request"].clone());
            let issues = r.validate(&request, Operation::Create);
            assert!(issues.is_empty(), "{name} request:\n{}", render(&issues));
            checked += 1;
        }
        let body = &ex["response"];
        let bodies: Vec<&Value> = match body.get("Resources") {
            Some(Value::Array(list)) => list.iter().collect(),
            _ if body.get("id").is_some() => vec![body],
            _ => vec![],
        };
        for b in bodies {
            let stored = resource(b.clone());
            let issues = r.validate(&stored, Operation::Stored);
            assert!(issues.is_empty(), "{name} response:\n{}", render(&issues));
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} bodies checked");
    let entra_group = resource(json!({"schemas": [GROUP_SCHEMA,
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": "g"}));
    assert_eq!(
        render(&r.validate_with(
            &entra_group,
            Operation::Create,
            &ValidationOptions::strict()
        )),
        "schemas[1] [invalidValue] unknown schema \"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group\": it is neither built in nor registered"
    );
    let entra = resource(conformance("idp/azuread/create_user.json")["request"].clone());
    assert_eq!(
        render(&r.validate_with(&entra, Operation::Create, &ValidationOptions::strict())),
        "meta [mutability] readOnly attribute: the service provider sets it, a client may not send it"
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: bad resources (snapshots)

#[test]
fn snapshot_user_with_type_errors() {
    let r = SchemaRegistry::default();
    let user = resource(json!({
        "schemas": [USER_SCHEMA],
        "userName": 42,
        "name": {"givenName": true, "middle": "J"},
        "active": "True",
        "emails": {"value": "a@example.com"},
        "phoneNumbers": [
            {"value": "555-1234", "type": "cell", "primary": true},
            {"value": "555-9876", "type": "WORK", "primary": true},
            null
        ],
        "photos": [["nested"]],
        "x509Certificates": [{"value": "not base64!"}],
        "title": ["a", "b"],
        "displayName": "",
        "nickname": "babs",
        "shoeSize": 44,
        "meta": {"created": "2024-02-30T10:00:00Z", "lastModified": "2024-01-01", "version": 3}
    }));
    assert_snapshot!(render(&r.validate(&user, Operation::Stored)));
}

#[test]
fn snapshot_create_with_read_only_attributes() {
    let r = acme_registry();
    let user = resource(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "id": "2819c223",
        "userName": "bjensen",
        "groups": [{"value": "g1", "display": "Admins"}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"},
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "26118915", "displayName": "John Smith"}}
    }));
    assert_snapshot!(render(&r.validate(&user, Operation::Create)));
}

#[test]
fn snapshot_schemas_and_extension_problems() {
    let r = acme_registry();
    let user = resource(json!({
        "schemas": [USER_SCHEMA, "urn:example:unknown:1.0:Thing"],
        "userName": "bjensen",
        "urn:example:unknown:1.0:Thing": {"x": 1},
        "urn:example:other:1.0:Stuff": {"y": 2},
        ACME: {"HireDate": "2024-03-01T09:00:00Z"},
        ENTERPRISE_USER_SCHEMA: "Sales",
        "department": "Sales"
    }));
    let lenient = r.validate(&user, Operation::Stored);
    let strict = r.validate_with(&user, Operation::Stored, &ValidationOptions::strict());
    assert_snapshot!(format!(
        "lenient:\n{}\n\nstrict:\n{}",
        render(&lenient),
        render(&strict)
    ));
}

#[test]
fn snapshot_missing_required_and_schemas() {
    let r = SchemaRegistry::default();
    let cases = [
        ("no schemas", json!({"userName": "x"})),
        ("empty schemas", json!({"schemas": [], "userName": "x"})),
        (
            "only an extension",
            json!({"schemas": [ENTERPRISE_USER_SCHEMA]}),
        ),
        (
            "user without userName, stored without id",
            json!({"schemas": [USER_SCHEMA]}),
        ),
        (
            "group with empty displayName",
            json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": ""}),
        ),
        (
            "group member type not canonical",
            json!({"schemas": [GROUP_SCHEMA], "id": "g",
            "displayName": "G", "members": [{"value": "1", "type": "user"}, {"value": "2", "type": "Robot"}]}),
        ),
    ];
    let mut out = String::new();
    for (what, value) in cases {
        let res = Resource::from_value(value).unwrap();
        out.push_str(&format!(
            "== {what}\n{}\n",
            render(&r.validate(&res, Operation::Stored))
        ));
    }
    assert_snapshot!(out);
}

// ---------------------------------------------------------------------------------------------
// Validation: options and details

#[test]
fn canonical_values_check_can_be_turned_off() {
    let r = SchemaRegistry::default();
    let user = resource(json!({"schemas": [USER_SCHEMA], "userName": "x",
        "emails": [{"value": "a@example.com", "type": "Work"}, {"value": "b@example.com", "type": "school"}]}));
    let issues = r.validate(&user, Operation::Create);
    assert_eq!(
        render(&issues),
        r#"emails[1].type [invalidValue] "school" is not one of the canonical values work, home, other"#
    );
    let off = ValidationOptions::default().with_canonical_values(false);
    assert_eq!(r.validate_with(&user, Operation::Create, &off), []);
}

#[test]
fn canonical_values_respect_case_exact() {
    let mut r = SchemaRegistry::default();
    r.register_json(&json!({"id": "urn:example:ext:1.0:Badge", "attributes": [
        {"name": "level", "type": "string", "caseExact": true, "canonicalValues": ["Gold", "Silver"]}]}))
        .unwrap();
    let ok = resource(
        json!({"schemas": [USER_SCHEMA, "urn:example:ext:1.0:Badge"], "userName": "x",
        "urn:example:ext:1.0:Badge": {"level": "Gold"}}),
    );
    assert_eq!(r.validate(&ok, Operation::Create), []);
    let bad = resource(
        json!({"schemas": [USER_SCHEMA, "urn:example:ext:1.0:Badge"], "userName": "x",
        "urn:example:ext:1.0:Badge": {"level": "gold"}}),
    );
    let issues = r.validate(&bad, Operation::Create);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, "urn:example:ext:1.0:Badge:level");
}

#[test]
fn attribute_names_are_case_insensitive_and_paths_keep_spelling() {
    let r = SchemaRegistry::default();
    let user = resource(json!({"Schemas": [USER_SCHEMA], "USERNAME": "x",
        "Emails": [{"VALUE": 1}], "NAME": {"GivenName": "B"}}));
    let issues = r.validate(&user, Operation::Create);
    assert_eq!(
        render(&issues),
        "Emails[0].VALUE [invalidValue] expected a string, found 1"
    );
}

#[test]
fn numbers_integers_and_decimals() {
    let mut r = SchemaRegistry::default();
    r.register_json(&json!({"id": "urn:example:ext:1.0:N", "attributes": [
        {"name": "count", "type": "integer"}, {"name": "ratio", "type": "decimal"},
        {"name": "flags", "type": "boolean", "multiValued": true},
        {"name": "blob", "type": "binary"}, {"name": "home", "type": "reference", "referenceTypes": ["external"]}]}))
        .unwrap();
    let ext = "urn:example:ext:1.0:N";
    let check = |block: Value| {
        let res = resource(json!({"schemas": [USER_SCHEMA, ext], "userName": "x", ext: block}));
        render(&r.validate(&res, Operation::Create))
    };
    assert_eq!(
        check(
            json!({"count": 3, "ratio": 0.5, "flags": [true, false], "blob": "AAE=",
        "home": "https://example.com/"})
        ),
        ""
    );
    assert_eq!(check(json!({"ratio": 2})), "");
    assert_eq!(
        check(json!({"count": 3.0})),
        format!(
            "{ext}:count [invalidValue] expected an integer (a number without fraction or exponent), found 3.0"
        )
    );
    assert_eq!(
        check(json!({"flags": true})),
        format!(
            "{ext}:flags [invalidValue] expected an array (\"flags\" is multi-valued), found true"
        )
    );
    assert_eq!(
        check(json!({"home": 5})),
        format!("{ext}:home [invalidValue] expected a reference (a URI string), found 5")
    );
    assert_eq!(
        check(json!({"blob": "AAE"})),
        format!(
            "{ext}:blob [invalidValue] expected binary data (base64, RFC 4648 §4, padded), found \"AAE\""
        )
    );
}

#[test]
fn nulls_and_empty_arrays_are_unassigned() {
    let r = SchemaRegistry::default();
    let user = resource(
        json!({"schemas": [USER_SCHEMA], "userName": "x", "name": null,
        "emails": [], "roles": null, "active": null}),
    );
    assert_eq!(r.validate(&user, Operation::Create), []);
    let user = resource(json!({"schemas": [USER_SCHEMA], "userName": null}));
    assert_eq!(
        render(&r.validate(&user, Operation::Create)),
        "userName [invalidValue] required attribute is missing"
    );
}

#[test]
fn issue_serialises_as_path_and_message() {
    let issue = ValidationIssue::new(
        "emails[0].value",
        ScimType::InvalidValue,
        "expected a string",
    );
    assert_eq!(
        serde_json::to_value(&issue).unwrap(),
        json!({"path": "emails[0].value", "message": "expected a string"})
    );
    assert_eq!(issue.to_string(), "emails[0].value: expected a string");
}

// ---------------------------------------------------------------------------------------------
// validate_change

#[test]
fn validate_change_checks_read_only_and_immutable() {
    let mut r = SchemaRegistry::default();
    r.register_json(&json!({"id": "urn:example:ext:1.0:Hr", "attributes": [
        {"name": "employeeId", "type": "string", "mutability": "immutable"},
        {"name": "badge", "type": "string", "mutability": "immutable", "caseExact": true}]}))
        .unwrap();
    let ext = "urn:example:ext:1.0:Hr";
    let old = resource(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ext], "id": "1", "userName": "bjensen",
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z"},
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "9", "displayName": "John"}},
        ext: {"employeeId": "E1", "badge": "AB"}
    }));

    // Echoing readOnly values (also partly, and differently cased where not caseExact) is fine;
    // readWrite values may change; immutable ones may be repeated.
    let same = resource(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ext], "id": "1", "userName": "babs",
        "meta": {"resourceType": "User", "created": "2010-01-23T05:56:22+01:00"},
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "10", "displayName": "JOHN"}},
        ext: {"EMPLOYEEID": "e1", "badge": "AB"}
    }));
    assert_eq!(r.validate_change(&old, &same), []);

    // Leaving readOnly values out is fine too, but not immutable ones.
    let bare = resource(json!({"schemas": [USER_SCHEMA], "userName": "bjensen"}));
    assert_eq!(
        render(&r.validate_change(&old, &bare)),
        format!(
            "{ext}:employeeId [mutability] immutable attribute cannot change once set: stored \"E1\", given nothing\n\
             {ext}:badge [mutability] immutable attribute cannot change once set: stored \"AB\", given nothing"
        )
    );

    let changed = resource(json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ext], "id": "2", "userName": "bjensen",
        "meta": {"lastModified": "2024-01-01T00:00:00Z"},
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "9", "displayName": "Jane"}},
        ext: {"employeeId": "E1", "badge": "ab"}
    }));
    assert_snapshot!(render(&r.validate_change(&old, &changed)));

    // An immutable attribute that was never set may be set.
    let unset = resource(json!({"schemas": [USER_SCHEMA, ext], "id": "1", "userName": "b"}));
    let set = resource(
        json!({"schemas": [USER_SCHEMA, ext], "id": "1", "userName": "b",
        ext: {"employeeId": "E2"}}),
    );
    assert_eq!(r.validate_change(&unset, &set), []);
}

// ---------------------------------------------------------------------------------------------
// Robustness

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e9f64..1e9).prop_map(|f| json!(f)),
        "[a-zA-Z0-9:+=/ .-]{0,24}".prop_map(Value::String),
        Just(json!("2008-01-23T04:56:22Z")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "value",
                        "type",
                        "primary",
                        "display",
                        "givenName",
                        "$ref",
                        "x",
                    ]),
                    inner,
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any values under any (known or unknown) names: validation answers, never panics, and
    /// gives the same answer twice; every issue has a path and a message.
    #[test]
    fn validation_never_panics(
        attrs in prop::collection::vec((
            prop::sample::select(vec![
                "userName", "name", "emails", "active", "meta", "id", "groups", "x509Certificates",
                "phoneNumbers", "unknownThing", ENTERPRISE_USER_SCHEMA, ACME,
            ]),
            any_json(),
        ), 0..6),
        op in prop::sample::select(vec![Operation::Create, Operation::Replace, Operation::Stored]),
    ) {
        let mut obj = serde_json::Map::new();
        obj.insert("schemas".into(), json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ACME]));
        for (k, v) in attrs {
            obj.insert(k.to_owned(), v);
        }
        if let Ok(res) = Resource::from_object(obj) {
            let r = acme_registry();
            let issues = r.validate(&res, op);
            prop_assert_eq!(&issues, &r.validate(&res, op));
            for i in &issues {
                prop_assert!(!i.path.is_empty() && !i.message.is_empty());
            }
            let _ = r.validate_change(&res, &res);
            prop_assert_eq!(r.validate_change(&res, &res), Vec::<ValidationIssue>::new());
        }
    }
}
