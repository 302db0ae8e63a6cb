//! Tests: the RFC 7644 protocol messages, the Bulk executor and the API-driven inbound profile.

use std::cell::RefCell;
use std::collections::BTreeMap;

use scim_model::message::{
    BulkMethod, BulkOperation, BulkOptions, BulkOutcome, BulkRequest, BulkResponse, InboundProfile,
    ListResponse, SCIM_CONTENT_TYPE, ScimError, SearchRequest, check_content_type,
    validate_inbound,
};
use scim_model::{Error, Limits, Resource, ScimType};
use serde_json::{Value, json};

use crate::support::conformance;

fn rfc(name: &str) -> Value {
    conformance(&format!("rfc/{name}.json"))
}

/// Reads `value` as `T`, writes it back, and checks the JSON is the same (key order aside).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) {
    let value = rfc(name);
    let parsed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, value, "{name} does not re-serialise equal");
}

#[test]
fn every_rfc7644_message_example_round_trips() {
    for name in [
        "rfc7644-3.4.2-list_response-partial_attributes",
        "rfc7644-3.4.3-list_response-post_query",
        "rfc7644-3.7.1-list_response-circular_reference",
        "rfc7644-4-list_response-resource_types",
    ] {
        round_trip::<ListResponse>(name);
        round_trip::<ListResponse<Value>>(name);
    }
    round_trip::<SearchRequest>("rfc7644-3.4.3-search_request");
    for name in [
        "rfc7644-3.12-error-bad_request",
        "rfc7644-3.12-error-not_found",
        "rfc7644-3.6-error-not_found",
        "rfc7644-3.7.3-error-invalid_syntax",
        "rfc7644-3.7.4-error-payload_too_large",
    ] {
        round_trip::<ScimError>(name);
    }
    for name in [
        "rfc7644-3.7.1-bulk_request-circular_conflict",
        "rfc7644-3.7.2-bulk_request-enterprise_user",
        "rfc7644-3.7.2-bulk_request-temporary_identifier",
        "rfc7644-3.7.3-bulk_request-multiple_operations",
    ] {
        round_trip::<BulkRequest>(name);
        // The limit-checking reader gives the same request.
        let text = rfc(name).to_string();
        let limited = BulkRequest::from_json_str(&text, &Limits::DEFAULT).unwrap();
        assert_eq!(limited, serde_json::from_value(rfc(name)).unwrap());
    }
    for name in [
        "rfc7644-3.7.2-bulk_response-temporary_identifier",
        "rfc7644-3.7.3-bulk_response-error_invalid_syntax",
        "rfc7644-3.7.3-bulk_response-multiple_errors",
        "rfc7644-3.7.3-bulk_response-multiple_operations",
    ] {
        round_trip::<BulkResponse>(name);
    }
}

#[test]
fn list_response_reads_typed_items_and_entra_pages() {
    let entra = conformance("entra/provisioning-examples.json");
    let mut pages = 0;
    for exchange in entra["exchanges"].as_array().unwrap() {
        let response = &exchange["response"];
        let is_list = response["schemas"].as_array().is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.ends_with(":ListResponse")))
        });
        if !is_list {
            continue;
        }
        let page: ListResponse = serde_json::from_value(response.clone()).unwrap();
        assert_eq!(
            page.total_results as usize,
            page.resources.len(),
            "{}",
            exchange["id"]
        );
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            *response,
            "{}",
            exchange["id"]
        );
        pages += 1;
    }
    assert!(
        pages >= 2,
        "expected the Entra query examples, found {pages}"
    );
}

#[test]
fn entra_error_responses_read_with_string_status() {
    let entra = conformance("entra/provisioning-examples.json");
    let mut seen = 0;
    for exchange in entra["exchanges"].as_array().unwrap() {
        let response = &exchange["response"];
        if response["schemas"][0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
            continue;
        }
        let e: ScimError = serde_json::from_value(response.clone()).unwrap();
        assert_eq!(Some(u64::from(e.status)), exchange["status"].as_u64());
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn search_request_filter_parses() {
    let q: SearchRequest = serde_json::from_value(rfc("rfc7644-3.4.3-search_request")).unwrap();
    assert_eq!(q.attributes, vec!["displayName", "userName"]);
    let filter = q.filter().unwrap().unwrap();
    assert_eq!(filter.to_string(), r#"displayName sw "smith""#);
    assert_eq!((q.start_index, q.count), (Some(1), Some(10)));
}

#[test]
fn scim_error_from_crate_errors() {
    let e = Error::NoTarget {
        path: "emails[type eq \"home\"]".into(),
        message: "no element matches".into(),
    };
    let body = serde_json::to_value(ScimError::from(&e)).unwrap();
    assert_eq!(body["status"], "400");
    assert_eq!(body["scimType"], "noTarget");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no element matches")
    );
}

// ---------------------------------------------------------------- Bulk limits (RFC 7644 §3.7.4)

#[test]
fn bulk_payload_over_max_payload_size_is_413() {
    let text = rfc("rfc7644-3.7.2-bulk_request-temporary_identifier").to_string();
    let limits = Limits::DEFAULT.with_max_payload_bytes(text.len() - 1);
    let err = BulkRequest::from_json_str(&text, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLong {
                what: "payload",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), 413);
    let body = ScimError::from(&err);
    assert_eq!(body.status, 413);
    assert_eq!(
        body.scim_type, None,
        "RFC 7644 §3.7.4's example has no scimType"
    );
    // Exactly at the limit is fine.
    let limits = Limits::DEFAULT.with_max_payload_bytes(text.len());
    assert!(BulkRequest::from_json_str(&text, &limits).is_ok());
}

#[test]
fn bulk_over_max_operations_is_too_many_operations() {
    let text = rfc("rfc7644-3.7.3-bulk_request-multiple_operations").to_string();
    let limits = Limits::DEFAULT.with_max_bulk_operations(3);
    let err = BulkRequest::from_json_str(&text, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooMany {
                what: "operations",
                count: 4,
                max: 3
            }
        ),
        "{err:?}"
    );
    let limits = Limits::DEFAULT.with_max_bulk_operations(4);
    assert!(BulkRequest::from_json_str(&text, &limits).is_ok());
}

// ---------------------------------------------------------------- Bulk execution

/// A fake service: creates resources with ids taken from a table keyed by `userName` or
/// `displayName`, records every call, and applies PATCH `add`s to what it stored.
#[derive(Default)]
struct FakeService {
    ids: BTreeMap<&'static str, &'static str>,
    versions: BTreeMap<&'static str, &'static str>,
    stored: BTreeMap<String, Value>,
    calls: Vec<Value>,
}

impl FakeService {
    fn handle(&mut self, op: &BulkOperation) -> Result<BulkOutcome, ScimError> {
        self.calls.push(serde_json::to_value(op).unwrap());
        match op.method {
            BulkMethod::Post => {
                let data = op.data.clone().unwrap();
                let name = data
                    .get("userName")
                    .or_else(|| data.get("displayName"))
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned();
                let id = *self.ids.get(name.as_str()).unwrap();
                let mut stored = data;
                stored["id"] = json!(id);
                self.stored.insert(id.to_owned(), stored);
                let mut outcome =
                    BulkOutcome::created(id, format!("https://example.com/v2{}/{id}", op.path));
                if let Some(v) = self.versions.get(name.as_str()) {
                    outcome = outcome.with_version(*v);
                }
                Ok(outcome)
            }
            BulkMethod::Patch => {
                let id = op.path.rsplit('/').next().unwrap().to_owned();
                let Some(stored) = self.stored.get_mut(&id) else {
                    return Err(ScimError::new(404, "Resource does not exist."));
                };
                for o in op.data.as_ref().unwrap()["Operations"].as_array().unwrap() {
                    assert_eq!(o["op"], "add");
                    let path = o["path"].as_str().unwrap();
                    let slot = &mut stored[path];
                    match (slot, &o["value"]) {
                        (Value::Array(items), Value::Array(more)) => {
                            items.extend(more.iter().cloned())
                        }
                        (slot, value) => *slot = value.clone(),
                    }
                }
                Ok(BulkOutcome::new(200).with_id(id))
            }
            _ => Ok(BulkOutcome::new(204)),
        }
    }
}

#[test]
fn temporary_identifier_example_gives_the_rfc_response() {
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.2-bulk_request-temporary_identifier")).unwrap();
    let mut service = FakeService {
        ids: BTreeMap::from([
            ("Alice", "92b725cd-9465-4e7d-8c16-01f8e146b87a"),
            ("Tour Guides", "e9e30dba-f08f-4109-8486-d5c6a331660a"),
        ]),
        versions: BTreeMap::from([
            ("Alice", "W/\"4weymrEsh5O6cAEK\""),
            ("Tour Guides", "W/\"lha5bbazU3fNvfe5\""),
        ]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        rfc("rfc7644-3.7.2-bulk_response-temporary_identifier")
    );
    // The group was created with Alice's id in place of "bulkId:qwerty".
    assert_eq!(
        service.stored["e9e30dba-f08f-4109-8486-d5c6a331660a"]["members"],
        json!([{"type": "User", "value": "92b725cd-9465-4e7d-8c16-01f8e146b87a"}])
    );
}

#[test]
fn enterprise_manager_reference_resolves() {
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.2-bulk_request-enterprise_user")).unwrap();
    let mut service = FakeService {
        ids: BTreeMap::from([("Alice", "a-1"), ("Bob", "b-2")]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    assert_eq!(response.error_count(), 0);
    let bob = Resource::from_value(service.stored["b-2"].clone()).unwrap();
    let manager = bob
        .attribute(Some(scim_model::ENTERPRISE_USER_SCHEMA), "manager")
        .unwrap();
    assert_eq!(manager["value"], "a-1");
}

#[test]
fn a_reference_to_a_later_operation_runs_that_operation_first() {
    // The group comes first in the request and references the user after it.
    let request = BulkRequest::new(vec![
        BulkOperation::post(
            "/Groups",
            "g",
            json!({"displayName": "Tour Guides", "members": [{"value": "bulkId:u"}]}),
        ),
        BulkOperation::new(BulkMethod::Delete, "/Users/other"),
        BulkOperation::post("/Users", "u", json!({"userName": "Alice"})),
    ]);
    let mut service = FakeService {
        ids: BTreeMap::from([("Alice", "u-1"), ("Tour Guides", "g-1")]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    let order: Vec<&str> = service
        .calls
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["/Users", "/Groups", "/Users/other"]);
    // Results are listed in request order.
    let methods: Vec<(BulkMethod, u16)> = response
        .operations
        .iter()
        .map(|o| (o.method, o.status))
        .collect();
    assert_eq!(
        methods,
        vec![
            (BulkMethod::Post, 201),
            (BulkMethod::Delete, 204),
            (BulkMethod::Post, 201)
        ]
    );
    assert_eq!(service.stored["g-1"]["members"][0]["value"], "u-1");
}

#[test]
fn bulk_id_in_a_path_resolves() {
    let request = BulkRequest::new(vec![
        BulkOperation::post("/Groups", "g", json!({"displayName": "G"})),
        BulkOperation::new(BulkMethod::Patch, "/Groups/bulkId:g").with_data(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}]}]
        })),
    ]);
    let mut service = FakeService {
        ids: BTreeMap::from([("G", "g-9")]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    assert_eq!(service.calls[1]["path"], "/Groups/g-9");
    assert_eq!(response.error_count(), 0);
    assert_eq!(service.stored["g-9"]["members"], json!([{"value": "x"}]));
}

/// A handler for the RFC 7644 §3.7.3 request that refuses the POST (its data lists the
/// misspelt schema `urn:ietf:params:scim:api:messages:2.0:User`), finds the PUT and PATCH
/// versions stale and the DELETE's resource gone.
fn rfc_failing_handler(op: &BulkOperation) -> Result<BulkOutcome, ScimError> {
    match op.method {
        BulkMethod::Post => {
            let data = Resource::from_value(op.data.clone().unwrap()).map_err(ScimError::from)?;
            if !data.has_schema(scim_model::USER_SCHEMA) {
                return Err(ScimError::new(
                    400,
                    "Request is unparsable, syntactically incorrect, or violates schema.",
                )
                .with_scim_type(ScimType::InvalidSyntax));
            }
            Ok(BulkOutcome::created(
                "new",
                "https://example.com/v2/Users/new",
            ))
        }
        BulkMethod::Put | BulkMethod::Patch => Err(ScimError::new(
            412,
            "Failed to update.  Resource changed on the server.",
        )),
        _ => Err(ScimError::new(404, "Resource does not exist.")),
    }
}

#[test]
fn fail_on_errors_stops_and_lists_only_what_ran() {
    // failOnErrors is 1 in the RFC request: the first error ends the job.
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.3-bulk_request-multiple_operations")).unwrap();
    assert_eq!(request.fail_on_errors, Some(1));
    let mut calls = 0;
    let response = request.execute(|op| {
        calls += 1;
        rfc_failing_handler(op)
    });
    assert_eq!(calls, 1);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        rfc("rfc7644-3.7.3-bulk_response-error_invalid_syntax")
    );
}

#[test]
fn without_fail_on_errors_every_operation_runs_and_fails_on_its_own() {
    let mut request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.3-bulk_request-multiple_operations")).unwrap();
    request.fail_on_errors = None;
    let options = BulkOptions::default().with_base_url("https://example.com/v2");
    let response = request.execute_with(&options, rfc_failing_handler);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        rfc("rfc7644-3.7.3-bulk_response-multiple_errors")
    );
    // failOnErrors 2 stops after the PUT.
    let response = request
        .clone()
        .with_fail_on_errors(2)
        .execute_with(&options, rfc_failing_handler);
    assert_eq!(response.operations.len(), 2);
}

#[test]
fn successful_operations_get_locations_from_the_base_url() {
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.3-bulk_request-multiple_operations")).unwrap();
    let options = BulkOptions::default().with_base_url("https://example.com/v2/");
    let response = request.execute_with(&options, |op: &BulkOperation| {
        Ok::<_, ScimError>(match op.method {
            BulkMethod::Post => BulkOutcome::new(201)
                .with_id("92b725cd-9465-4e7d-8c16-01f8e146b87a")
                .with_version("W/\"oY4m4wn58tkVjJxK\""),
            BulkMethod::Delete => BulkOutcome::new(204),
            _ => BulkOutcome::new(200).with_version("W/\"huJj29dMNgu3WXPD\""),
        })
    });
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        rfc("rfc7644-3.7.3-bulk_response-multiple_operations")
    );
}

#[test]
fn circular_references_are_resolved_by_create_then_patch() {
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.1-bulk_request-circular_conflict")).unwrap();
    let expected = rfc("rfc7644-3.7.1-list_response-circular_reference");
    let mut service = FakeService {
        ids: BTreeMap::from([
            ("Group A", "c3a26dd3-27a0-4dec-a2ac-ce211e105f97"),
            ("Group B", "6c5bb468-14b2-4183-baf2-06d523e03bd3"),
        ]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    assert_eq!(response.error_count(), 0, "{response:#?}");
    assert_eq!(response.operations.len(), 2);
    assert!(response.operations.iter().all(|o| o.status == 201));

    // What the service holds is what the RFC's subsequent GET shows (ignoring the server's
    // `meta` and `$ref`, which the fake does not produce).
    for resource in expected["Resources"].as_array().unwrap() {
        let id = resource["id"].as_str().unwrap();
        let stored = &service.stored[id];
        assert_eq!(stored["displayName"], resource["displayName"]);
        let want: Vec<Value> = resource["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| json!({"type": m["type"], "value": m["value"]}))
            .collect();
        assert_eq!(stored["members"], Value::Array(want), "members of {id}");
    }

    // The calls: A is created without its reference to B, then B (referencing A), then A
    // is completed with a PATCH that adds B.
    insta::assert_json_snapshot!("circular_reference_calls", service.calls);
}

#[test]
fn circular_references_can_be_refused_with_409() {
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.1-bulk_request-circular_conflict")).unwrap();
    let options = BulkOptions::default().with_resolve_circular(false);
    let mut calls = 0;
    let response = request.execute_with(&options, |_: &BulkOperation| {
        calls += 1;
        Ok::<_, ScimError>(BulkOutcome::created("x", "y"))
    });
    assert_eq!(calls, 0, "no operation of the cycle may run");
    let statuses: Vec<u16> = response.operations.iter().map(|o| o.status).collect();
    assert_eq!(statuses, vec![409, 409]);
    assert!(response.operations.iter().all(|o| o.location.is_none()));
}

#[test]
fn unbreakable_cycles_fail_with_409_and_failed_completion_is_reported() {
    // A PUT cannot be created first and completed later.
    let request = BulkRequest::new(vec![
        BulkOperation::new(BulkMethod::Put, "/Groups/1")
            .with_bulk_id("a")
            .with_data(json!({"displayName": "A", "members": [{"value": "bulkId:b"}]})),
        BulkOperation::post(
            "/Groups",
            "b",
            json!({"displayName": "B", "members": [{"value": "bulkId:a"}]}),
        ),
    ]);
    let response =
        request.execute(|_: &BulkOperation| Ok::<_, ScimError>(BulkOutcome::created("x", "y")));
    let statuses: Vec<u16> = response.operations.iter().map(|o| o.status).collect();
    assert_eq!(statuses, vec![409, 409]);

    // The completing PATCH fails: the created resource's result reports it, with its location.
    let request: BulkRequest =
        serde_json::from_value(rfc("rfc7644-3.7.1-bulk_request-circular_conflict")).unwrap();
    let response = request.execute(|op: &BulkOperation| match op.method {
        BulkMethod::Patch => Err(ScimError::new(500, "store unavailable")),
        _ => Ok(BulkOutcome::created(
            op.data.as_ref().unwrap()["displayName"].as_str().unwrap(),
            "https://example.com/v2/Groups/x",
        )),
    });
    assert_eq!(response.operations[0].status, 500);
    assert_eq!(
        response.operations[0].location.as_deref(),
        Some("https://example.com/v2/Groups/x")
    );
    assert_eq!(response.operations[1].status, 201);
}

#[test]
fn self_reference_is_completed_with_its_own_id() {
    let request = BulkRequest::new(vec![BulkOperation::post(
        "/Groups",
        "me",
        json!({"displayName": "Self", "members": [{"value": "bulkId:me"}]}),
    )]);
    let mut service = FakeService {
        ids: BTreeMap::from([("Self", "s-1")]),
        ..FakeService::default()
    };
    let response = request.execute(|op| service.handle(op));
    assert_eq!(response.error_count(), 0);
    assert_eq!(service.stored["s-1"]["members"], json!([{"value": "s-1"}]));
}

#[test]
fn unresolvable_references_fail_the_dependent_operation_with_409() {
    let request = BulkRequest::new(vec![
        BulkOperation::post("/Users", "u", json!({"userName": "refused"})),
        BulkOperation::post(
            "/Groups",
            "g",
            json!({"displayName": "G", "members": [{"value": "bulkId:u"}]}),
        ),
        BulkOperation::post(
            "/Groups",
            "h",
            json!({"displayName": "H", "members": [{"value": "bulkId:nobody"}]}),
        ),
        BulkOperation::post("/Users", "u", json!({"userName": "duplicate bulkId"})),
        BulkOperation::post(
            "/Groups",
            "k",
            json!({"displayName": "K", "members": [{"value": "bulkId:g"}]}),
        ),
    ]);
    let handled = RefCell::new(Vec::new());
    let response = request.execute(|op: &BulkOperation| {
        handled.borrow_mut().push(op.bulk_id.clone().unwrap());
        if op.data.as_ref().unwrap()["userName"] == "refused" {
            return Err(Error::Uniqueness {
                path: "userName".into(),
                message: "taken".into(),
            });
        }
        Ok(BulkOutcome::created("id", "loc"))
    });
    assert_eq!(
        *handled.borrow(),
        vec!["u"],
        "only the first operation reaches the handler"
    );
    insta::assert_json_snapshot!("unresolvable_references", response);
}

#[test]
fn a_handler_outcome_without_2xx_counts_as_an_error() {
    let request = BulkRequest::new(vec![
        BulkOperation::new(BulkMethod::Delete, "/Users/1"),
        BulkOperation::new(BulkMethod::Delete, "/Users/2"),
    ])
    .with_fail_on_errors(1);
    let response = request.execute(|_: &BulkOperation| Ok::<_, ScimError>(BulkOutcome::new(404)));
    assert_eq!(response.operations.len(), 1);
    assert_eq!(response.error_count(), 1);
}

#[test]
fn long_reference_chains_run_in_dependency_order() {
    // Operation i references operation i + 1, so the last runs first.
    let n = 2_000;
    let ops = (0..n)
        .map(|i| {
            let mut data = json!({"userName": format!("u{i}")});
            if i + 1 < n {
                data["manager"] = json!({"value": format!("bulkId:b{}", i + 1)});
            }
            BulkOperation::post("/Users", format!("b{i}"), data)
        })
        .collect();
    let request = BulkRequest::new(ops);
    let mut order = Vec::new();
    let response = request.execute(|op: &BulkOperation| {
        let name = op.data.as_ref().unwrap()["userName"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(manager) = op.data.as_ref().unwrap().get("manager") {
            let expected = format!("id-u{}", name[1..].parse::<usize>().unwrap() + 1);
            assert_eq!(manager["value"], expected.as_str());
        }
        order.push(name.clone());
        Ok::<_, ScimError>(BulkOutcome::created(format!("id-{name}"), "loc"))
    });
    assert_eq!(response.error_count(), 0);
    assert_eq!(order.first().map(String::as_str), Some("u1999"));
    assert_eq!(order.last().map(String::as_str), Some("u0"));
}

#[test]
fn a_large_ring_of_references_is_resolved() {
    // Group i has group i + 1 as a member; the last has the first: one cycle of 300.
    let n = 300;
    let ops = (0..n)
        .map(|i| {
            BulkOperation::post(
                "/Groups",
                format!("g{i}"),
                json!({"displayName": format!("G{i}"), "members": [{"value": format!("bulkId:g{}", (i + 1) % n)}]}),
            )
        })
        .collect();
    let request = BulkRequest::new(ops);
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let response = request.execute(|op: &BulkOperation| {
        let data = op.data.as_ref().unwrap();
        match op.method {
            BulkMethod::Post => {
                let id = format!("id-{}", data["displayName"].as_str().unwrap());
                let list = data["members"].as_array().unwrap();
                let values = list
                    .iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect();
                members.insert(id.clone(), values);
                Ok(BulkOutcome::created(id.clone(), format!("/Groups/{id}")))
            }
            _ => {
                let id = op.path.rsplit('/').next().unwrap().to_owned();
                for o in data["Operations"].as_array().unwrap() {
                    for m in o["value"].as_array().unwrap() {
                        members
                            .get_mut(&id)
                            .unwrap()
                            .push(m["value"].as_str().unwrap().to_owned());
                    }
                }
                Ok::<_, ScimError>(BulkOutcome::new(200))
            }
        }
    });
    assert_eq!(response.error_count(), 0);
    assert_eq!(response.operations.len(), n);
    for i in 0..n {
        assert_eq!(
            members[&format!("id-G{i}")],
            vec![format!("id-G{}", (i + 1) % n)],
            "G{i}"
        );
    }
}

// ---------------------------------------------------------------- API-driven inbound

/// A request in the shape of Entra's `/bulkUpload` documentation: two users, the enterprise
/// extension, a custom `contoso` extension with HireDate/LeaveDate, the manager given by
/// externalId, `failOnErrors: null`.
fn inbound_sample() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "701984",
                "path": "/Users",
                "data": {
                    "schemas": [
                        "urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
                    ],
                    "id": "2819c223-7f76-453a-919d-413861904646",
                    "externalId": "701984",
                    "userName": "bjensen@example.com",
                    "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
                    "displayName": "Babs Jensen",
                    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                    "active": true,
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                        "employeeNumber": "701984",
                        "department": "Tour Operations",
                        "manager": {"value": "89607"}
                    },
                    "urn:ietf:params:scim:schemas:extension:contoso:1.0:User": {
                        "HireDate": "2021-05-01T00:00:00-05:00",
                        "LeaveDate": "2026-12-31T00:00:00-05:00"
                    }
                }
            },
            {
                "method": "POST",
                "bulkId": "902725",
                "path": "/Users",
                "data": {
                    "schemas": [
                        "urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                    ],
                    "externalId": "902725",
                    "userName": "jsmith@example.com",
                    "active": false,
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                        "employeeNumber": "902725"
                    }
                }
            }
        ],
        "failOnErrors": null
    })
}

fn inbound_request(value: Value) -> BulkRequest {
    BulkRequest::from_json_str(&value.to_string(), &Limits::DEFAULT).unwrap()
}

/// The errors as lines `Display` (index, field, scimType) for snapshots.
fn describe(errors: &[Error]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e {
            Error::BulkOperation {
                index,
                field,
                message,
                scim_type,
            } => {
                format!("[{index}] {field} ({scim_type}, {}): {message}", e.status())
            }
            other => format!("{other} ({})", other.status()),
        })
        .collect()
}

#[test]
fn inbound_sample_is_valid() {
    let request = inbound_request(inbound_sample());
    assert_eq!(describe(&validate_inbound(&request)), Vec::<String>::new());
    assert_eq!(request.fail_on_errors, None);
}

#[test]
fn inbound_violations_are_each_reported() {
    let base = inbound_sample();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut edit = |name: &'static str, f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        cases.push((name, v));
    };
    edit("method_put", &|v| {
        v["Operations"][0]["method"] = json!("PUT")
    });
    edit("path_groups", &|v| {
        v["Operations"][0]["path"] = json!("/Groups")
    });
    edit("path_with_id", &|v| {
        v["Operations"][1]["path"] = json!("/Users/902725")
    });
    edit("bulk_id_missing", &|v| {
        v["Operations"][0].as_object_mut().unwrap().remove("bulkId");
    });
    edit("bulk_id_duplicate", &|v| {
        v["Operations"][1]["bulkId"] = json!("701984")
    });
    edit("data_missing", &|v| {
        v["Operations"][1].as_object_mut().unwrap().remove("data");
    });
    edit("data_not_object", &|v| {
        v["Operations"][1]["data"] = json!(["x"])
    });
    edit("schemas_missing", &|v| {
        v["Operations"][1]["data"]
            .as_object_mut()
            .unwrap()
            .remove("schemas");
    });
    edit("schemas_without_enterprise", &|v| {
        v["Operations"][1]["data"]["schemas"] =
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    });
    edit("schemas_without_core", &|v| {
        v["Operations"][1]["data"]["schemas"] =
            json!(["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]);
    });
    edit("extension_not_listed", &|v| {
        v["Operations"][0]["data"]["schemas"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    edit("extension_not_object", &|v| {
        v["Operations"][1]["data"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json!("701984");
    });
    edit("external_id_missing", &|v| {
        v["Operations"][1]["data"]
            .as_object_mut()
            .unwrap()
            .remove("externalId");
    });
    edit("external_id_empty", &|v| {
        v["Operations"][1]["data"]["externalId"] = json!(" ")
    });
    edit("external_id_number", &|v| {
        v["Operations"][1]["data"]["externalId"] = json!(902725)
    });
    edit("external_id_duplicate", &|v| {
        v["Operations"][1]["data"]["externalId"] = json!("701984")
    });
    edit("request_schema_missing", &|v| {
        v["schemas"] = json!(["urn:example:other"])
    });

    let mut report = Vec::new();
    for (name, value) in cases {
        let errors = validate_inbound(&inbound_request(value));
        assert!(!errors.is_empty(), "{name}: expected a violation");
        report.push(json!({"case": name, "errors": describe(&errors)}));
    }
    insta::assert_json_snapshot!("inbound_violations", report);
}

#[test]
fn inbound_allows_at_most_fifty_operations() {
    let base = inbound_sample();
    let template = base["Operations"][1].clone();
    let ops: Vec<Value> = (0..51)
        .map(|i| {
            let mut op = template.clone();
            op["bulkId"] = json!(format!("b{i}"));
            op["data"]["externalId"] = json!(format!("e{i}"));
            op
        })
        .collect();
    let mut v = base.clone();
    v["Operations"] = Value::Array(ops[..50].to_vec());
    assert!(validate_inbound(&inbound_request(v.clone())).is_empty());
    v["Operations"] = Value::Array(ops);
    let errors = validate_inbound(&inbound_request(v));
    assert_eq!(describe(&errors).len(), 1);
    assert!(
        matches!(
            errors[0],
            Error::TooMany {
                what: "operations",
                count: 51,
                max: 50
            }
        ),
        "{errors:?}"
    );
}

#[test]
fn inbound_external_id_requirement_can_be_turned_off() {
    let mut v = inbound_sample();
    v["Operations"][1]["data"]
        .as_object_mut()
        .unwrap()
        .remove("externalId");
    let request = inbound_request(v);
    assert_eq!(validate_inbound(&request).len(), 1);
    let relaxed = InboundProfile::new().with_require_external_id(false);
    assert!(relaxed.validate(&request).is_empty());
}

#[test]
fn inbound_content_type() {
    assert_eq!(SCIM_CONTENT_TYPE, "application/scim+json");
    assert!(check_content_type("application/scim+json").is_ok());
    assert!(check_content_type("application/scim+json; charset=utf-8").is_ok());
    for bad in [
        "",
        "application/json",
        "application/scim+json; charset=iso-8859-1",
        "application/scim",
    ] {
        let err = check_content_type(bad).unwrap_err();
        assert_eq!(err.status(), 400, "{bad}");
        assert!(err.to_string().contains("Content-Type"), "{bad}: {err}");
    }
}
