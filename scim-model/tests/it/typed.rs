//! Tests: the typed views User, Group and EnterpriseUser.

use proptest::prelude::*;
use scim_model::message::ListResponse;
use scim_model::typed::{
    AddressType, EmailType, EnterpriseUser, Group, GroupMembershipType, ImType, Manager,
    MemberType, PhoneNumberType, PhotoType, User,
};
use scim_model::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Resource, USER_SCHEMA};
use serde_json::{Map, Value, json};

use crate::support::{conformance, conformance_dir};

fn rfc(name: &str) -> Value {
    conformance(&format!("rfc/{name}.json"))
}

/// Resource → User → Resource gives the same JSON value.
fn assert_user_round_trips(what: &str, value: &Value) -> User {
    let resource = Resource::from_value(value.clone()).unwrap();
    let user = User::try_from(&resource).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        Resource::from(&user).to_value(),
        *value,
        "{what}: Resource → User → Resource"
    );
    // serde gives the same as the conversions.
    let via_serde: User = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(via_serde, user, "{what}");
    assert_eq!(serde_json::to_value(&user).unwrap(), *value, "{what}");
    user
}

fn assert_group_round_trips(what: &str, value: &Value) -> Group {
    let resource = Resource::from_value(value.clone()).unwrap();
    let group = Group::try_from(&resource).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        Resource::from(&group).to_value(),
        *value,
        "{what}: Resource → Group → Resource"
    );
    group
}

fn lists(value: &Value, urn: &str) -> bool {
    value["schemas"].as_array().is_some_and(|s| {
        s.iter()
            .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(urn)))
    })
}

#[test]
fn rfc7643_minimal_user() {
    let user = assert_user_round_trips("8.1", &rfc("rfc7643-8.1-user-minimal"));
    assert_eq!(user.user_name, "bjensen@example.com");
    assert_eq!(
        user.id.as_deref(),
        Some("2819c223-7f76-453a-919d-413861904646")
    );
    let meta = user.meta.unwrap();
    assert_eq!(meta.resource_type.as_deref(), Some("User"));
    assert_eq!(meta.version.as_deref(), Some("W/\"3694e05e9dff590\""));
    assert_eq!(
        meta.created.unwrap().to_utc().to_rfc3339(),
        "2010-01-23T04:56:22+00:00"
    );
    assert!(user.rest.is_empty(), "{:?}", user.rest);
}

#[test]
fn rfc7643_full_user_models_every_attribute() {
    let user = assert_user_round_trips("8.2", &rfc("rfc7643-8.2-user-full"));
    assert!(
        user.rest.is_empty(),
        "nothing should be left unmodelled: {:?}",
        user.rest
    );
    assert!(user.extensions.is_empty());
    let name = user.name.as_ref().unwrap();
    assert_eq!(name.honorific_suffix.as_deref(), Some("III"));
    assert_eq!(name.middle_name.as_deref(), Some("Jane"));
    assert_eq!(user.nick_name.as_deref(), Some("Babs"));
    assert_eq!(
        user.profile_url.as_deref(),
        Some("https://login.example.com/bjensen")
    );
    assert_eq!(user.timezone.as_deref(), Some("America/Los_Angeles"));
    assert_eq!(user.active, Some(true));
    assert_eq!(user.password.as_ref().unwrap().expose(), "t1meMa$heen");
    assert!(!format!("{user:?}").contains("t1meMa$heen"));
    assert_eq!(user.emails[0].kind, Some(EmailType::Work));
    assert_eq!(user.emails[1].kind, Some(EmailType::Home));
    assert_eq!(
        user.primary_email().unwrap().value.as_deref(),
        Some("bjensen@example.com")
    );
    assert_eq!(user.phone_numbers[1].kind, Some(PhoneNumberType::Mobile));
    assert_eq!(user.ims[0].kind, Some(ImType::Aim));
    assert_eq!(user.photos[1].kind, Some(PhotoType::Thumbnail));
    let work = &user.addresses[0];
    assert_eq!(work.kind, Some(AddressType::Work));
    assert_eq!(work.postal_code.as_deref(), Some("91608"));
    assert_eq!(work.primary, Some(true));
    assert_eq!(user.groups.len(), 3);
    assert_eq!(user.groups[0].display.as_deref(), Some("Tour Guides"));
    assert!(
        user.groups[0]
            .reference
            .as_deref()
            .unwrap()
            .ends_with("e9e30dba-f08f-4109-8486-d5c6a331660a")
    );
    assert!(
        user.x509_certificates[0]
            .value
            .as_deref()
            .unwrap()
            .starts_with("MIIDQzCC")
    );
}

#[test]
fn rfc7643_enterprise_user() {
    let user = assert_user_round_trips("8.3", &rfc("rfc7643-8.3-enterprise_user"));
    let e = user.enterprise().unwrap().unwrap();
    assert_eq!(e.employee_number.as_deref(), Some("701984"));
    assert_eq!(e.cost_center.as_deref(), Some("4130"));
    assert_eq!(e.organization.as_deref(), Some("Universal Studios"));
    assert_eq!(e.division.as_deref(), Some("Theme Park"));
    assert_eq!(e.department.as_deref(), Some("Tour Operations"));
    let m = e.manager.as_ref().unwrap();
    assert_eq!(
        m.value.as_deref(),
        Some("26118915-6090-4610-87e4-49d8ca9f808d")
    );
    assert_eq!(m.display_name.as_deref(), Some("John Smith"));
    assert!(
        m.reference
            .as_deref()
            .unwrap()
            .ends_with("/Users/26118915-6090-4610-87e4-49d8ca9f808d")
    );
    assert!(e.rest.is_empty());

    // Writing the block back through the typed extension changes nothing.
    let mut again = user.clone();
    again.set_enterprise(&e);
    assert_eq!(again, user);
}

#[test]
fn rfc7643_group() {
    let group = assert_group_round_trips("8.4", &rfc("rfc7643-8.4-group"));
    assert_eq!(group.display_name, "Tour Guides");
    assert_eq!(group.members.len(), 2);
    assert_eq!(group.members[0].display.as_deref(), Some("Babs Jensen"));
    assert!(group.members[0].reference.is_some());
    assert!(group.rest.is_empty(), "{:?}", group.rest);
}

#[test]
fn rfc7644_user_payloads_round_trip() {
    for name in [
        "rfc7644-3.3-user-post_request",
        "rfc7644-3.3-user-post_response",
        "rfc7644-3.4.1-user-known-resource",
        "rfc7644-3.5.1-user-put_request",
        "rfc7644-3.5.1-user-put_response",
        "rfc7644-3.9-user-partial_response",
        "rfc7644-3.14-user-post_request",
        "rfc7644-3.14-user-post_response",
    ] {
        assert_user_round_trips(name, &rfc(name));
    }
    let page: ListResponse<Group> =
        serde_json::from_value(rfc("rfc7644-3.7.1-list_response-circular_reference")).unwrap();
    assert_eq!(page.resources[1].display_name, "Group B");
    assert_eq!(page.resources[1].members[0].kind, Some(MemberType::Group));
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        rfc("rfc7644-3.7.1-list_response-circular_reference")
    );
}

/// Every User and Group body in a recorded exchange (request and response, and the items of
/// list responses).
fn bodies(exchange: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for key in ["request", "response"] {
        let body = &exchange[key];
        if lists(body, "urn:ietf:params:scim:api:messages:2.0:ListResponse") {
            out.extend(body["Resources"].as_array().into_iter().flatten().cloned());
        } else if body.is_object() {
            out.push(body.clone());
        }
    }
    out
}

#[test]
fn recorded_idp_users_and_groups_round_trip() {
    let mut users = 0;
    let mut groups = 0;
    for idp in ["azuread", "okta"] {
        let dir = conformance_dir().join("idp").join(idp);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = format!("idp/{idp}/{}", file.file_name().unwrap().to_string_lossy());
            for body in bodies(&conformance(&name)) {
                if lists(&body, USER_SCHEMA) {
                    assert_user_round_trips(&name, &body);
                    users += 1;
                } else if lists(&body, GROUP_SCHEMA) {
                    assert_group_round_trips(&name, &body);
                    groups += 1;
                }
            }
        }
    }
    assert!(users >= 10 && groups >= 6, "users {users}, groups {groups}");
}

#[test]
fn entra_create_user_keeps_empty_roles_and_null_roles() {
    let exchange = conformance("idp/azuread/create_user.json");
    let request = assert_user_round_trips("create_user request", &exchange["request"]);
    assert!(request.roles.is_empty());
    assert_eq!(request.rest["roles"], json!([]));
    // The enterprise URN is listed without a block: no extension to read.
    assert!(request.schemas.iter().any(|s| s == ENTERPRISE_USER_SCHEMA));
    assert_eq!(request.enterprise().unwrap(), None);
    let response = assert_user_round_trips("create_user response", &exchange["response"]);
    assert_eq!(response.rest["roles"], Value::Null);
    assert_eq!(
        response.meta.unwrap().location.as_deref(),
        Some("Users/48af03ac28ad4fb88478")
    );

    let entra = conformance("entra/provisioning-examples.json");
    let mut seen = 0;
    for exchange in entra["exchanges"].as_array().unwrap() {
        for body in bodies(exchange) {
            if lists(&body, USER_SCHEMA) {
                assert_user_round_trips(exchange["id"].as_str().unwrap(), &body);
                seen += 1;
            } else if lists(&body, GROUP_SCHEMA) {
                assert_group_round_trips(exchange["id"].as_str().unwrap(), &body);
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "{seen}");
}

#[test]
fn unknown_types_and_extensions_are_kept() {
    let value = json!({
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"],
        "userName": "u",
        "emails": [{"value": "a@b", "type": "Work"}, {"value": "c@d", "type": "other"}],
        "groups": [{"value": "g", "type": "indirect"}],
        "urn:ietf:params:scim:schemas:extension:contoso:1.0:User": {"HireDate": "2021-05-01T00:00:00-05:00"},
        "urn:example:not-an-object": 5
    });
    let user = assert_user_round_trips("custom", &value);
    assert_eq!(user.emails[0].kind, Some(EmailType::Other("Work".into())));
    assert!(
        user.emails[0]
            .kind
            .as_ref()
            .unwrap()
            .eq_ignore_case(&EmailType::Work)
    );
    assert_eq!(user.groups[0].kind, Some(GroupMembershipType::Indirect));
    assert_eq!(
        user.extensions["urn:ietf:params:scim:schemas:extension:contoso:1.0:User"]["HireDate"],
        "2021-05-01T00:00:00-05:00"
    );
    assert_eq!(user.rest["urn:example:not-an-object"], 5);
}

#[test]
fn building_a_user_and_setting_the_enterprise_extension() {
    let mut user = User::new("bjensen");
    user.external_id = Some("701984".into());
    let mut e = EnterpriseUser::new();
    e.department = Some("Tour Operations".into());
    e.manager = Some(Manager::new("26118915"));
    user.set_enterprise(&e);
    let resource = Resource::from(&user);
    insta::assert_json_snapshot!("built_user", resource);
    assert_eq!(
        resource
            .attribute(Some(ENTERPRISE_USER_SCHEMA), "manager")
            .unwrap()["value"],
        "26118915"
    );
    assert_eq!(User::try_from(resource).unwrap(), user);
}

#[test]
fn wrong_types_name_the_attribute_path() {
    let cases = [
        (json!({"userName": 5}), "userName"),
        (json!({"userName": "u", "name": "Babs"}), "name"),
        (
            json!({"userName": "u", "name": {"givenName": ["B"]}}),
            "name.givenName",
        ),
        (json!({"userName": "u", "emails": {"value": "a"}}), "emails"),
        (
            json!({"userName": "u", "emails": [{"value": "a"}, "b"]}),
            "emails[1]",
        ),
        (
            json!({"userName": "u", "addresses": [{"primary": "true"}]}),
            "addresses[0].primary",
        ),
        (
            json!({"userName": "u", "emails": [{"type": 1}]}),
            "emails[0].type",
        ),
        (
            json!({"userName": "u", "meta": {"lastModified": "yesterday"}}),
            "meta.lastModified",
        ),
        (
            json!({"userName": "u", "schemas": [USER_SCHEMA, 3]}),
            "schemas[1]",
        ),
        (
            json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"department": false}}),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ),
    ];
    for (value, path) in cases {
        match User::from_value(value.clone()) {
            Err(scim_model::Error::InvalidValue { path: p, .. }) => assert_eq!(p, path, "{value}"),
            other => panic!("{value}: expected an InvalidValue error at {path}, got {other:?}"),
        }
    }
    let err = Group::from_value(json!({"members": []})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for displayName: is required"
    );
    let err =
        Group::from_value(json!({"displayName": "g", "members": [{"value": 1}]})).unwrap_err();
    assert!(err.to_string().contains("members[0].value"), "{err}");
}

// ---------------------------------------------------------------- properties

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 @.:_-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z$_][a-zA-Z0-9_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra attributes whose names no view models (they start with `x_`).
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-zA-Z0-9]{0,6}", json_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

fn with_extras(target: &mut Value, extra: &Map<String, Value>) {
    let obj = target.as_object_mut().unwrap();
    for (k, v) in extra {
        obj.insert(k.clone(), v.clone());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn extra_attributes_round_trip_through_user(
        top in extras(),
        in_name in extras(),
        in_email in extras(),
        in_enterprise in extras(),
        in_meta in extras(),
    ) {
        let mut value = rfc("rfc7643-8.3-enterprise_user");
        with_extras(&mut value, &top);
        with_extras(&mut value["name"], &in_name);
        with_extras(&mut value["emails"][1], &in_email);
        with_extras(&mut value[ENTERPRISE_USER_SCHEMA], &in_enterprise);
        with_extras(&mut value["meta"], &in_meta);
        let resource = Resource::from_value(value.clone()).unwrap();
        let user = User::try_from(&resource).unwrap();
        prop_assert_eq!(Resource::from(&user).to_value(), value);
        let enterprise = user.enterprise().unwrap().unwrap();
        prop_assert_eq!(enterprise.rest.len(), in_enterprise.len());
    }

    #[test]
    fn any_value_of_a_known_attribute_is_read_or_reported(
        name in prop::sample::select(vec![
            "displayName", "active", "name", "emails", "addresses", "groups", "meta", "password",
            "x509Certificates", "roles", "id", "externalId", "timezone",
        ]),
        value in json_value(),
    ) {
        let mut doc = json!({"schemas": [USER_SCHEMA], "userName": "u"});
        doc[name] = value;
        // `id`/`externalId`/`meta` of the wrong type are refused already by Resource.
        let Ok(resource) = Resource::from_value(doc.clone()) else { return Ok(()); };
        match User::try_from(&resource) {
            Ok(user) => prop_assert_eq!(Resource::from(&user).to_value(), doc),
            Err(scim_model::Error::InvalidValue { path, .. }) => prop_assert!(path.starts_with(name), "{} vs {}", path, name),
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }

    #[test]
    fn extra_attributes_round_trip_through_group(top in extras(), in_member in extras()) {
        let mut value = rfc("rfc7643-8.4-group");
        with_extras(&mut value, &top);
        with_extras(&mut value["members"][0], &in_member);
        let group = Group::try_from(&Resource::from_value(value.clone()).unwrap()).unwrap();
        prop_assert_eq!(Resource::from(&group).to_value(), value);
    }
}
