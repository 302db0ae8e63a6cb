//! Hostile input: every parser and evaluator gets arbitrary strings and arbitrary JSON and must
//! answer `Ok` or `Err` — never panic, overflow the stack or take quadratic time.

use proptest::prelude::*;
use scim_model::message::BulkRequest;
use scim_model::patch::PatchOp;
use scim_model::schema::Operation;
use scim_model::{AttributePath, Filter, Limits, Resource, SchemaRegistry};
use serde_json::{Map, Value, json};

/// Arbitrary JSON values, nested a few levels, with SCIM-ish keys so that parsers get past
/// their first checks.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("schemas".to_owned()),
        Just("id".to_owned()),
        Just("userName".to_owned()),
        Just("emails".to_owned()),
        Just("value".to_owned()),
        Just("type".to_owned()),
        Just("primary".to_owned()),
        Just("active".to_owned()),
        Just("members".to_owned()),
        Just("meta".to_owned()),
        Just("Operations".to_owned()),
        Just("op".to_owned()),
        Just("path".to_owned()),
        Just("method".to_owned()),
        Just("bulkId".to_owned()),
        Just("data".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "[a-zA-Z$:.]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("urn:ietf:params:scim:schemas:core:2.0:User"),
            Just("urn:ietf:params:scim:api:messages:2.0:PatchOp"),
            Just("add"),
            Just("Replace"),
            Just("remove"),
            Just("POST"),
            Just("/Users"),
            Just("emails[type eq \"work\"].value"),
            Just("members[value eq \"1\"]"),
            Just("True"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Arbitrary text made mostly of filter and path tokens.
fn arb_filterish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("userName"),
        Just("emails"),
        Just("name.givenName"),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:"),
        Just(" eq "),
        Just(" Co "),
        Just(" gt "),
        Just(" pr"),
        Just(" and "),
        Just(" or "),
        Just("not "),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("."),
        Just("\""),
        Just("\\"),
        Just("\"x\""),
        Just("true"),
        Just("null"),
        Just("1e400"),
        Just("-0.5"),
        Just("é"),
        Just("\u{1F600}"),
        Just(" "),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn registry() -> SchemaRegistry {
    SchemaRegistry::default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn filters_and_paths_never_panic(text in arb_filterish(), raw in "\\PC{0,64}") {
        for input in [&text, &raw] {
            let _ = Filter::parse(input);
            let _ = AttributePath::parse(input);
        }
    }

    #[test]
    fn resources_parse_or_fail_cleanly_and_round_trip(value in arb_json()) {
        let text = value.to_string();
        if let Ok(resource) = Resource::from_json_str(&text, &Limits::default()) {
            // Serialise → parse gives the same resource, names and order included.
            let again = serde_json::to_string(&resource).unwrap();
            prop_assert_eq!(&again, &text);
            let back: Resource = serde_json::from_str(&again).unwrap();
            prop_assert_eq!(back, resource);
        }
    }

    #[test]
    fn evaluation_validation_and_patch_never_panic(
        value in arb_json(),
        patch in arb_json(),
        filter in arb_filterish(),
    ) {
        let registry = registry();
        let Ok(mut resource) = Resource::from_value(value) else { return Ok(()); };
        let _ = registry.validate(&resource, Operation::Create);
        let _ = registry.validate(&resource, Operation::Stored);
        if let Ok(f) = Filter::parse(&filter) {
            let _ = f.matches(&resource, &registry);
        }
        let before = resource.clone();
        if let Ok(p) = PatchOp::from_json_str(&patch.to_string(), &Limits::default())
            && p.apply(&mut resource, &registry).is_err()
        {
            // Atomic: a failed PATCH leaves the resource as it was.
            prop_assert_eq!(&resource, &before);
        }
    }

    #[test]
    fn messages_and_schemas_never_panic(value in arb_json()) {
        let text = value.to_string();
        let _ = PatchOp::from_json_str(&text, &Limits::default());
        let _ = BulkRequest::from_json_str(&text, &Limits::default());
        let mut registry = registry();
        let _ = registry.register_json(&value);
    }
}

#[test]
fn deep_json_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let text = format!("{{\"schemas\": {deep}}}");
    assert!(Resource::from_json_str(&text, &Limits::default()).is_err());
    assert!(PatchOp::from_json_str(&text, &Limits::default()).is_err());
    assert!(BulkRequest::from_json_str(&text, &Limits::default()).is_err());
}

#[test]
fn deep_and_long_filters_are_rejected_quickly() {
    let started = std::time::Instant::now();
    let cases = [
        format!("{}userName pr{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!(
            "{}userName pr{}",
            "not (".repeat(50_000),
            ")".repeat(50_000)
        ),
        format!(
            "emails[{}type pr{}]",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        "userName pr and ".repeat(2_000) + "title pr",
        format!("userName eq \"{}\"", "a".repeat(1 << 20)),
    ];
    for case in &cases {
        assert!(Filter::parse(case).is_err(), "{:.60}", case);
        assert!(AttributePath::parse(case).is_err(), "{:.60}", case);
    }
    // A generous bound that only a quadratic or exponential parser would break.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn limits_are_configurable() {
    let filter = "userName eq \"bjensen\"";
    let tight = Limits::default().with_max_filter_len(8);
    let err = Filter::parse_with(filter, &tight).unwrap_err();
    assert!(err.to_string().contains("over the limit of 8"), "{err}");
    let shallow = Limits::default().with_max_depth(2);
    assert!(Filter::parse_with("(((userName pr)))", &shallow).is_err());
    assert!(Filter::parse_with("((userName pr))", &shallow).is_ok());
    assert!(Filter::parse_with("userName pr", &shallow).is_ok());
}
