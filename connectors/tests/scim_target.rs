#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ScimTarget` on the wire.
//!
//! - Against a real SCIM server no one here wrote (`scim2-server`, PyPI; one fresh process per
//!   test): the connectors' conformance kit, discovery, find, a lost create found by its key,
//!   ETags, bearer tokens, and the PATCH emulation (a server started without PATCH). Skipped
//!   with a visible `SKIPPED:` line when the program is not installed, unless
//!   `IDFLOW_REQUIRE_PEERS=1`.
//! - Against a scripted local server, for what a real server will not do on demand: 429 and
//!   503 with `Retry-After`, 5xx, timeouts, 4xx with SCIM errors, 204 on PATCH, garbage bodies.

#[path = "scim_support/scripted.rs"]
mod scripted;

use std::time::{Duration, Instant};

use connectors::conformance::target as kit;
use connectors::scim::{RetryPolicy, ScimAuth, ScimTarget, ScimTargetConfig};
use connectors::testing::{FailurePlan, Flaky, Scim2Server};
use connectors::{
    CreateKey, Error, ErrorKind, ObjectType, Query, TargetConnector, TargetConnectorExt, TargetId,
    Version,
};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use scripted::{Scripted, Step, full_spc, ok_resource, user};
use serde_json::{Value, json};

const USER: ObjectType = ObjectType::USER;

fn resource(v: Value) -> Resource {
    Resource::from_value(v).unwrap()
}

fn new_user(name: &str) -> Resource {
    resource(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true,
        "emails": [{"value": format!("{name}@work.example.com"), "type": "work", "primary": true}]
    }))
}

/// Fast settings for tests: short timeout, small backoffs.
fn fast(url: &str) -> ScimTargetConfig {
    ScimTargetConfig::new(url)
        .with_request_timeout(Duration::from_secs(10))
        .with_retry(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_wait(Duration::from_secs(2)),
        )
}

async fn connect(url: &str) -> ScimTarget {
    ScimTarget::connect(fast(url)).await.unwrap()
}

// --- Against scim2-server -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_kit_passes_against_scim2_server() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    assert!(target.native_patch());
    kit::run_all(&target).await.unwrap();
    // And through a trait object, as hosts hand it to the engine.
    let dyn_target: std::sync::Arc<dyn TargetConnector> = std::sync::Arc::new(target);
    kit::crud_round_trip(&dyn_target).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_kit_passes_through_the_put_emulation_of_patch() {
    // The same server, announcing no PATCH: every PATCH of the kit (atomicity, group member
    // deltas, disable and enable, ETag conflicts, uniqueness) goes through GET + PUT.
    let dir = tempfile::tempdir().unwrap();
    let spc = dir.path().join("spc.json");
    let mut doc = full_spc();
    doc["patch"]["supported"] = json!(false);
    doc["filter"]["maxResults"] = json!(1000);
    std::fs::write(&spc, doc.to_string()).unwrap();
    let Some(server) =
        Scim2Server::start_with_args(&["--service-provider-config", spc.to_str().unwrap()])
            .unwrap()
    else {
        return;
    };
    let target = connect(server.url()).await;
    assert!(!target.native_patch());
    assert!(target.capabilities().patch, "PATCH still works, emulated");
    assert!(
        target.notes().iter().any(|n| n.contains("emulated")),
        "{:?}",
        target.notes()
    );
    kit::run_all(&target).await.unwrap();
}

#[tokio::test]
async fn discovery_reads_what_scim2_server_announces() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    let caps = target.capabilities();
    assert!(caps.patch && caps.replace && caps.soft_delete);
    assert!(caps.filter && caps.sort && caps.etag);
    assert!(!caps.cursor);
    assert_eq!(caps.max_page_size, Some(1000));
    assert_eq!(caps.object_types, vec![ObjectType::GROUP, USER]);
    let d = target.discovery();
    assert!(d.bulk);
    assert_eq!(d.bulk_max_operations, Some(1000));
    assert_eq!(target.endpoint(&USER).unwrap(), "/Users");
    assert_eq!(target.endpoint(&ObjectType::GROUP).unwrap(), "/Groups");
    assert!(
        d.schemas
            .iter()
            .any(|s| s == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        "{:?}",
        d.schemas
    );
    assert!(target.notes().is_empty(), "{:?}", target.notes());
    assert!(
        target
            .endpoint(&ObjectType::new("Device"))
            .unwrap_err()
            .to_string()
            .contains("Device")
    );
}

#[tokio::test]
async fn find_by_user_name_external_id_and_email_against_scim2_server() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    let a = target
        .create(
            &USER,
            &new_user("Alice.Quote\"d"),
            Some(&CreateKey::new("E-1 a&b")),
        )
        .await
        .unwrap();
    target
        .create(&USER, &new_user("bob"), Some(&CreateKey::new("E-2")))
        .await
        .unwrap();
    assert_eq!(a.resource.external_id(), Some("E-1 a&b"));

    let by_name = target
        .find(
            &USER,
            &AttributePath::new("userName"),
            &json!("alice.quote\"D"),
            2,
        )
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].id, a.id);
    assert!(by_name[0].version.is_some());

    let by_key = target
        .find(
            &USER,
            &AttributePath::new("externalId"),
            &json!("E-1 a&b"),
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        by_key.iter().map(|o| &o.id).collect::<Vec<_>>(),
        vec![&a.id]
    );

    let email = AttributePath::parse(r#"emails[type eq "work"].value"#).unwrap();
    let by_email = target
        .find(&USER, &email, &json!("bob@work.example.com"), 2)
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].resource.get("userName"), Some(&json!("bob")));

    let by_bool = target
        .find(&USER, &AttributePath::new("active"), &json!(true), 10)
        .await
        .unwrap();
    assert_eq!(by_bool.len(), 2);
    let limited = target
        .find(&USER, &AttributePath::new("active"), &json!(true), 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    let nobody = target
        .find(&USER, &AttributePath::new("userName"), &json!("carol"), 2)
        .await
        .unwrap();
    assert!(nobody.is_empty());

    let page = target
        .query(&USER, &Query::all().with_count(1))
        .await
        .unwrap();
    assert_eq!(page.total_results, 2);
    assert_eq!(page.objects.len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_its_key() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    // The first create reaches the server, but its answer is lost.
    let flaky = Flaky::new(target, FailurePlan::calls([1]).only(["create"]).after());
    let key = CreateKey::new("HR-4711");
    let lost = flaky.create(&USER, &new_user("lost"), Some(&key)).await;
    assert_eq!(lost.unwrap_err().kind(), ErrorKind::Temporary);
    // What the engine does next: find by the key before creating again.
    let found = flaky
        .find(
            &USER,
            &AttributePath::new("externalId"),
            &json!(key.as_str()),
            2,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].resource.get("userName"), Some(&json!("lost")));
    // Creating again anyway is a uniqueness clash, not a second user.
    let again = flaky.create(&USER, &new_user("lost"), Some(&key)).await;
    let e = again.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uniqueness, "{e}");
    assert!(e.to_string().contains("POST /Users"), "{e}");
    let all = flaky.query(&USER, &Query::all()).await.unwrap();
    assert_eq!(all.total_results, 1);
}

#[tokio::test]
async fn if_match_with_an_old_etag_is_a_version_conflict_against_scim2_server() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    let created = target.create(&USER, &new_user("etag"), None).await.unwrap();
    let v1 = created.version.clone().unwrap();
    let title = |t: &str| PatchOp::new().replace(AttributePath::new("title"), json!(t));
    let after = target
        .patch(&USER, &created.id, &title("One"), Some(&v1))
        .await
        .unwrap();
    let v2 = after.version.clone().unwrap();
    assert_ne!(v1, v2);
    let stale = target
        .patch(&USER, &created.id, &title("Two"), Some(&v1))
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, Error::VersionConflict { expected: Some(e), .. } if *e == v1.to_string()),
        "{stale:?}"
    );
    let stale = target
        .replace(&USER, &created.id, &new_user("etag"), Some(&v1))
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::VersionConflict);
    let stale = target
        .delete(&USER, &created.id, Some(&v1))
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::VersionConflict);
    let got = target.get(&USER, &created.id).await.unwrap().unwrap();
    assert_eq!(got.resource.get("title"), Some(&json!("One")));
    assert_eq!(got.version, Some(v2.clone()));
    target.delete(&USER, &created.id, Some(&v2)).await.unwrap();
    assert!(target.get(&USER, &created.id).await.unwrap().is_none());
}

#[tokio::test]
async fn bearer_tokens_are_sent_and_a_wrong_one_is_fatal() {
    let token = "tok-3b1f9e2c-right";
    let Some(server) = Scim2Server::start_with_token(token).unwrap() else {
        return;
    };
    let config = fast(server.url()).with_auth(ScimAuth::bearer(token));
    let target = ScimTarget::connect(config.clone()).await.unwrap();
    let created = target.create(&USER, &new_user("tok"), None).await.unwrap();
    assert!(target.get(&USER, &created.id).await.unwrap().is_some());
    for text in [format!("{target:?}"), format!("{config:?}")] {
        assert!(!text.contains(token), "{text}");
    }

    // A wrong token: scim2-server leaves /ServiceProviderConfig open (RFC 7644 allows it) but
    // not /ResourceTypes, so connecting already fails, as fatal.
    for auth in [
        ScimAuth::bearer("tok-wrong-77aa"),
        ScimAuth::basic("admin", "pw-9f8e7d"),
    ] {
        let e = ScimTarget::connect(fast(server.url()).with_auth(auth))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Fatal, "{e}");
        assert!(
            e.to_string().contains("GET /ResourceTypes: HTTP 401"),
            "{e}"
        );
        let text = format!("{e} {e:?}");
        assert!(
            !text.contains("tok-wrong") && !text.contains("pw-9f8e7d"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn groups_take_member_deltas_against_scim2_server() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = connect(server.url()).await;
    let a = target.create(&USER, &new_user("ga"), None).await.unwrap();
    let b = target.create(&USER, &new_user("gb"), None).await.unwrap();
    let group = resource(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Staff",
        "members": [{"value": a.id.as_str()}]
    }));
    let g = target
        .create(&ObjectType::GROUP, &group, Some(&CreateKey::new("G1")))
        .await
        .unwrap();
    let delta = PatchOp::new()
        .add(
            AttributePath::new("members"),
            json!([{"value": b.id.as_str()}]),
        )
        .remove(AttributePath::parse(&format!("members[value eq \"{}\"]", a.id)).unwrap());
    let after = target
        .patch(&ObjectType::GROUP, &g.id, &delta, None)
        .await
        .unwrap();
    let members: Vec<&str> = after
        .resource
        .get("members")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![b.id.as_str()]);
}

// --- Against a scripted server --------------------------------------------------------------

#[tokio::test]
async fn throttling_is_waited_out_as_retry_after_says_then_retried() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(429, None, "slow down").header("Retry-After", "1"),
            ok_resource(user("1", "bjensen", 1)),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let started = Instant::now();
    let got = target
        .get(&USER, &TargetId::new("1"))
        .await
        .unwrap()
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(got.resource.get("userName"), Some(&json!("bjensen")));
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.line() == "GET /Users/1"));
}

#[tokio::test]
async fn an_answer_larger_than_max_response_bytes_is_refused() {
    let mut big = user("1", "bjensen", 1);
    big["displayName"] = json!("x".repeat(200_000));
    let server = Scripted::start(
        full_spc(),
        vec![ok_resource(big), ok_resource(user("1", "bjensen", 2))],
    )
    .await;
    let config = fast(&server.url).with_max_response_bytes(100_000);
    let target = ScimTarget::connect(config).await.unwrap();
    let err = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    let text = err.to_string();
    assert!(text.contains("GET /Users/1"), "{text}");
    assert!(
        text.contains("larger than 100000 bytes (maxResponseBytes)"),
        "{text}"
    );
    // Not retried, and the next answer of a normal size reads.
    assert_eq!(server.seen().len(), 1);
    let got = target
        .get(&USER, &TargetId::new("1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("bjensen")));
}

#[tokio::test]
async fn throttling_without_retry_after_backs_off_exponentially() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(503, None, "busy"),
            Step::error(429, None, "busy"),
            ok_resource(user("1", "bjensen", 1)),
        ],
    )
    .await;
    let config = fast(&server.url).with_retry(
        RetryPolicy::default()
            .with_max_retries(2)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    let target = ScimTarget::connect(config).await.unwrap();
    let started = Instant::now();
    target
        .get(&USER, &TargetId::new("1"))
        .await
        .unwrap()
        .unwrap();
    // Backoffs of 100-200 ms, then 200-400 ms.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn unavailability_beyond_the_retry_budget_is_temporary_with_retry_after() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(503, None, "maintenance").header("Retry-After", "0"),
            Step::error(503, None, "maintenance").header("Retry-After", "0"),
            Step::error(503, None, "maintenance").header("Retry-After", "0"),
            // A Retry-After longer than the policy's longest wait goes back at once.
            Step::error(503, None, "maintenance")
                .header("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT"),
            Step::error(429, None, "quota").header("Retry-After", "120"),
        ],
    )
    .await;
    let config = fast(&server.url).with_retry(RetryPolicy::default().with_max_retries(2));
    let target = ScimTarget::connect(config).await.unwrap();
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert!(
        e.to_string().contains("still HTTP 503 after 2 retries"),
        "{e}"
    );
    assert!(e.to_string().contains("maintenance"), "{e}");
    assert_eq!(server.seen().len(), 3);

    let started = Instant::now();
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert!(
        e.retry_after().unwrap() > Duration::from_secs(3600 * 24 * 365),
        "{e}"
    );
    let e = target
        .create(&USER, &new_user("q"), None)
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    assert!(e.to_string().contains("POST /Users"), "{e}");
    assert_eq!(server.seen().len(), 5);
}

#[tokio::test]
async fn server_errors_are_temporary_and_not_retried_inside() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(500, None, "database down"),
            Step::text(502, "<html><h1>Bad Gateway</h1></html>"),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let e = target
        .create(&USER, &new_user("x"), Some(&CreateKey::new("K")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert_eq!(e.retry_after(), None);
    assert!(e.to_string().contains("HTTP 500: database down"), "{e}");
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert!(e.to_string().contains("Bad Gateway"), "{e}");
    assert_eq!(server.seen().len(), 2, "no retry inside for 5xx");
}

#[tokio::test]
async fn client_errors_are_classified_and_keep_the_scim_detail() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(
                400,
                Some("invalidValue"),
                "emails[0].value is not an address",
            ),
            Step::error(401, None, "token expired"),
            Step::error(403, None, "not allowed"),
            Step::error(409, Some("uniqueness"), "userName taken"),
            Step::error(400, Some("uniqueness"), "externalId taken"),
            Step::error(412, None, "changed"),
            Step::error(404, None, "no such user"),
            Step::error(404, None, "no such user"),
            Step::error(404, None, "no such user"),
            Step::error(404, None, "no such endpoint"),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let id = TargetId::new("42");
    let title = PatchOp::new().replace(AttributePath::new("title"), json!("x"));

    let e = target
        .create(&USER, &new_user("a"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert_eq!(
        e.to_string(),
        format!(
            "scim:{}: POST /Users: HTTP 400 (scimType invalidValue): emails[0].value is not an address",
            server.url
        )
    );
    let e = target.get(&USER, &id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Fatal);
    assert!(e.to_string().contains("token expired"), "{e}");
    let e = target.patch(&USER, &id, &title, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Fatal);
    let e = target
        .create(&USER, &new_user("a"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uniqueness);
    assert!(e.to_string().contains("userName taken"), "{e}");
    let e = target
        .create(&USER, &new_user("a"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uniqueness);
    let v = Version::new("W/\"7\"");
    let e = target
        .patch(&USER, &id, &title, Some(&v))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::VersionConflict { expected: Some(x), .. } if x == "W/\"7\""),
        "{e:?}"
    );
    let e = target.patch(&USER, &id, &title, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = target
        .replace(&USER, &id, &new_user("a"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    target.delete(&USER, &id, None).await.unwrap();
    let e = target.query(&USER, &Query::all()).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Fatal,
        "a missing collection endpoint: {e}"
    );
    assert_eq!(server.left(), 0);
}

#[tokio::test]
async fn a_request_that_times_out_is_temporary() {
    let server = Scripted::start(
        full_spc(),
        vec![ok_resource(user("1", "slow", 1)).after(Duration::from_secs(3))],
    )
    .await;
    let config = fast(&server.url).with_request_timeout(Duration::from_millis(300));
    let target = ScimTarget::connect(config).await.unwrap();
    let started = Instant::now();
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert!(
        e.to_string()
            .contains("GET /Users/1: no answer within 0.3 s"),
        "{e}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = ScimTarget::connect(fast(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert!(
        e.to_string()
            .contains("GET /ServiceProviderConfig: cannot connect"),
        "{e}"
    );
}

#[tokio::test]
async fn a_server_without_patch_gets_get_then_put_with_if_match() {
    let mut spc = full_spc();
    spc["patch"]["supported"] = json!(false);
    let mut stored = user("7", "bjensen", 3);
    stored["title"] = json!("Old");
    let mut expected = stored.clone();
    expected.as_object_mut().unwrap().remove("meta");
    expected["title"] = json!("New");
    expected["active"] = json!(false);
    let mut answered = expected.clone();
    answered["meta"] = json!({"version": "W/\"4\""});
    let server = Scripted::start(
        spc,
        vec![ok_resource(stored.clone()), ok_resource(answered)],
    )
    .await;
    let target = connect(&server.url).await;
    assert!(!target.native_patch());
    let patch = PatchOp::new()
        .replace(AttributePath::new("title"), json!("New"))
        .replace(AttributePath::new("active"), json!(false));
    let after = target
        .patch(&USER, &TargetId::new("7"), &patch, None)
        .await
        .unwrap();
    assert_eq!(after.version, Some(Version::new("W/\"4\"")));
    assert_eq!(after.resource.get("title"), Some(&json!("New")));
    let seen = server.seen();
    let lines: Vec<String> = seen.iter().map(|s| s.line()).collect();
    assert_eq!(lines, vec!["GET /Users/7", "PUT /Users/7"]);
    assert_eq!(
        seen[1].json(),
        expected,
        "the PUT body is the patched resource without meta"
    );
    assert_eq!(seen[1].header("if-match").as_deref(), Some("W/\"3\""));
    assert_eq!(
        seen[1].header("content-type").as_deref(),
        Some("application/scim+json")
    );
}

#[tokio::test]
async fn a_patch_answered_501_falls_back_to_put_from_then_on() {
    let stored = user("7", "bjensen", 1);
    let mut disabled = stored.clone();
    disabled["active"] = json!(false);
    disabled["meta"]["version"] = json!("W/\"2\"");
    let mut enabled = disabled.clone();
    enabled["active"] = json!(true);
    enabled["meta"]["version"] = json!("W/\"3\"");
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::error(501, None, "PATCH is not implemented"),
            ok_resource(stored.clone()),
            ok_resource(disabled.clone()),
            // The next PATCH goes straight to GET + PUT; a 412 (someone wrote in between)
            // makes it read again.
            ok_resource(disabled.clone()),
            Step::error(412, None, "changed"),
            ok_resource(disabled.clone()),
            ok_resource(enabled),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    assert!(target.native_patch());
    let off = target.disable(&USER, &TargetId::new("7")).await.unwrap();
    assert_eq!(off.resource.get("active"), Some(&json!(false)));
    assert!(!target.native_patch());
    assert!(
        target.notes().iter().any(|n| n.contains("HTTP 501")),
        "{:?}",
        target.notes()
    );
    let on = target.enable(&USER, &TargetId::new("7")).await.unwrap();
    assert_eq!(on.resource.get("active"), Some(&json!(true)));
    let seen = server.seen();
    let lines: Vec<String> = seen.iter().map(|s| s.line()).collect();
    assert_eq!(
        lines,
        vec![
            "PATCH /Users/7",
            "GET /Users/7",
            "PUT /Users/7",
            "GET /Users/7",
            "PUT /Users/7",
            "GET /Users/7",
            "PUT /Users/7"
        ]
    );
    assert_eq!(seen[0].json()["Operations"][0]["path"], json!("active"));
    assert_eq!(seen[2].json()["active"], json!(false));
    assert_eq!(seen[2].header("if-match").as_deref(), Some("W/\"1\""));
    assert_eq!(seen[6].json()["active"], json!(true));
    assert_eq!(server.left(), 0);
}

#[tokio::test]
async fn the_put_emulation_refuses_what_the_patch_cannot_do_and_checks_if_match() {
    let mut spc = full_spc();
    spc["patch"]["supported"] = json!(false);
    let server = Scripted::start(
        spc,
        vec![
            ok_resource(user("7", "bjensen", 5)),
            ok_resource(user("7", "bjensen", 5)),
            Step::error(404, None, "gone"),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let id = TargetId::new("7");
    // A read-only attribute: refused here, nothing sent.
    let bad = PatchOp::new().replace(AttributePath::new("id"), json!("other"));
    let e = target.patch(&USER, &id, &bad, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
    // A stale If-Match: a conflict before any PUT.
    let title = PatchOp::new().replace(AttributePath::new("title"), json!("x"));
    let e = target
        .patch(&USER, &id, &title, Some(&Version::new("W/\"4\"")))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::VersionConflict { actual: Some(a), .. } if a == "W/\"5\""),
        "{e:?}"
    );
    let e = target.patch(&USER, &id, &title, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let lines: Vec<String> = server.seen().iter().map(|s| s.line()).collect();
    assert_eq!(lines, vec!["GET /Users/7", "GET /Users/7", "GET /Users/7"]);
}

#[tokio::test]
async fn apply_patch_takes_the_answer_without_reading_the_object_back() {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Everyone",
        "members": (0..2000).map(|i| json!({"value": format!("u{i}")})).collect::<Vec<_>>(),
        "meta": {"resourceType": "Group", "version": "W/\"8\""}
    });
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::text(204, "").header("ETag", "W/\"7\""),
            ok_resource(group),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let patch = PatchOp::new().add(AttributePath::new("members"), json!([{"value": "u9999"}]));
    // 204: the version from the ETag, and no GET of the group.
    let v = target
        .apply_patch(&ObjectType::GROUP, &TargetId::new("g1"), &patch, None)
        .await
        .unwrap();
    assert_eq!(v, Some(Version::new("W/\"7\"")));
    // 200 with the whole group: the version from the ETag.
    let v = target
        .apply_patch(&ObjectType::GROUP, &TargetId::new("g1"), &patch, None)
        .await
        .unwrap();
    assert_eq!(v, Some(Version::new("W/\"8\"")));
    let lines: Vec<String> = server.seen().iter().map(|s| s.line()).collect();
    assert_eq!(lines, vec!["PATCH /Groups/g1", "PATCH /Groups/g1"]);
}

#[tokio::test]
async fn a_patch_answered_204_is_read_back() {
    let mut after = user("9", "bjensen", 2);
    after["title"] = json!("Boss");
    let server = Scripted::start(full_spc(), vec![Step::text(204, ""), ok_resource(after)]).await;
    let target = connect(&server.url).await;
    let patch = PatchOp::new().replace(AttributePath::new("title"), json!("Boss"));
    let o = target
        .patch(
            &USER,
            &TargetId::new("9"),
            &patch,
            Some(&Version::new("W/\"1\"")),
        )
        .await
        .unwrap();
    assert_eq!(o.resource.get("title"), Some(&json!("Boss")));
    assert_eq!(o.version, Some(Version::new("W/\"2\"")));
    let seen = server.seen();
    assert_eq!(seen[0].line(), "PATCH /Users/9");
    assert_eq!(seen[0].header("if-match").as_deref(), Some("W/\"1\""));
    assert_eq!(
        seen[0].json()["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"])
    );
    assert_eq!(seen[1].line(), "GET /Users/9");
}

#[tokio::test]
async fn get_attributes_asks_for_them_and_stops_once_refused() {
    let paths: Vec<AttributePath> = [
        "userName",
        r#"emails[type eq "work"].value"#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    ]
    .iter()
    .map(|p| AttributePath::parse(p).unwrap())
    .collect();
    let server = Scripted::start(
        full_spc(),
        vec![
            ok_resource(user("9", "bjensen", 2)),
            Step::error(400, Some("invalidSyntax"), "attributes is not supported"),
            ok_resource(user("9", "bjensen", 2)),
            ok_resource(user("9", "bjensen", 2)),
            Step::error(404, None, "no such user"),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let id = TargetId::new("9");
    let get = || target.get_attributes(&USER, &id, &paths);
    // Asked for: the filtered path as its whole attribute (the filter is applied here).
    let o = get().await.unwrap().unwrap();
    assert_eq!(o.resource.get("userName"), Some(&json!("bjensen")));
    assert_eq!(o.version, Some(Version::new("W/\"2\"")));
    // Refused with 400: the same GET without the parameter, and a note.
    assert_eq!(get().await.unwrap().unwrap().id, id);
    let notes = target.notes();
    assert!(notes.iter().any(|n| n.contains("attributes=")), "{notes:?}");
    // From then on the parameter is not sent; 404 is none.
    assert!(get().await.unwrap().is_some());
    assert!(get().await.unwrap().is_none());
    let lines: Vec<String> = server.seen().iter().map(|s| s.line()).collect();
    let asked = "GET /Users/9?attributes=userName%2Cemails%2Curn%3Aietf%3Aparams%3Ascim%3Aschemas%3Aextension%3Aenterprise%3A2.0%3AUser%3Amanager.value";
    let plain = "GET /Users/9";
    assert_eq!(lines, vec![asked, asked, plain, plain, plain]);
}

#[tokio::test]
async fn garbage_bodies_are_clear_errors() {
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::text(200, "<html>Welcome to the portal</html>"),
            Step::json(200, json!({"userName": "no id"})),
            Step::json(200, json!({"totalResults": 1, "Resources": 5})),
            Step::json(200, json!(["not", "a", "list", "response"])),
            Step::text(201, ""),
        ],
    )
    .await;
    let target = connect(&server.url).await;
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    let text = e.to_string();
    assert!(
        text.contains("GET /Users/1: HTTP 200, Content-Type text/html"),
        "{text}"
    );
    assert!(text.contains("the body is not JSON"), "{text}");
    assert!(text.contains("Welcome to the portal"), "{text}");
    let e = target.get(&USER, &TargetId::new("1")).await.unwrap_err();
    assert!(e.to_string().contains("the resource has no id"), "{e}");
    let e = target
        .find(&USER, &AttributePath::new("userName"), &json!("x"), 2)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a ListResponse"), "{e}");
    assert!(e.to_string().contains("Resources"), "{e}");
    let e = target.query(&USER, &Query::all()).await.unwrap_err();
    assert!(e.to_string().contains("not a ListResponse"), "{e}");
    let e = target
        .create(&USER, &new_user("x"), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("POST /Users: HTTP 201"), "{e}");
    assert!(e.to_string().contains("an empty body"), "{e}");
}

#[tokio::test]
async fn the_token_is_sent_but_never_shown() {
    let token = "tok-SECRET-5f4dcc3b";
    let server = Scripted::start(
        full_spc(),
        vec![
            // A server that echoes what it was sent.
            Step::error(
                400,
                None,
                &format!("bad header Authorization: Bearer {token}"),
            ),
            Step::text(500, &format!("debug: token={token}")),
            Step::error(401, None, "expired"),
            Step::text(200, &format!("{{garbage {token}")),
            Step::error(503, None, &format!("busy {token}")).header("Retry-After", "0"),
        ],
    )
    .await;
    let config = fast(&server.url)
        .with_auth(ScimAuth::bearer(token))
        .with_retry(RetryPolicy::none());
    let target = ScimTarget::connect(config.clone()).await.unwrap();
    let id = TargetId::new("1");
    let mut errors = Vec::new();
    for _ in 0..5 {
        errors.push(target.get(&USER, &id).await.unwrap_err());
    }
    let seen = server.all_seen();
    assert!(
        seen.iter()
            .all(|s| s.header("authorization").as_deref() == Some(&format!("Bearer {token}"))),
        "every request, discovery included, carries the token"
    );
    let mut shown = vec![
        format!("{target:?}"),
        format!("{config:?}"),
        format!("{:?}", target.notes()),
    ];
    for e in &errors {
        shown.push(format!("{e}"));
        shown.push(format!("{e:?}"));
    }
    for text in &shown {
        assert!(!text.contains(token), "the token shows in: {text}");
        assert!(!text.contains("SECRET"), "the token shows in: {text}");
    }
    assert!(shown.iter().any(|t| t.contains("[redacted]")));
}

#[tokio::test]
async fn requests_carry_scim_headers_encoded_filters_and_reuse_connections() {
    let list = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "Resources": [user("1", "a \"b\"", 1)]
    });
    let server = Scripted::start(
        full_spc(),
        vec![
            Step::json(200, list.clone()),
            Step::json(201, user("2", "new", 1)).header("ETag", "W/\"1\""),
            Step::json(200, list),
        ],
    )
    .await;
    let config = fast(&server.url).with_page_size(500);
    let target = ScimTarget::connect(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let found = target
        .find(&USER, &AttributePath::new("userName"), &json!("a \"b\""), 2)
        .await
        .unwrap();
    // Pauses as between real calls, so each connection is back in the pool.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        found[0].version,
        Some(Version::new("W/\"1\"")),
        "meta.version"
    );
    target
        .create(&USER, &new_user("new"), Some(&CreateKey::new("K-9")))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let q = Query::filtered(scim_model::Filter::parse(r#"title eq "x y""#).unwrap()).sorted_by(
        AttributePath::new("userName"),
        connectors::SortOrder::Descending,
    );
    let page = target.query(&USER, &q).await.unwrap();
    assert_eq!(page.total_results, 1);

    let seen = server.seen();
    assert_eq!(
        seen[0].uri,
        "/Users?filter=userName%20eq%20%22a%20%5C%22b%5C%22%22&startIndex=1&count=2"
    );
    assert_eq!(
        seen[0].header("accept").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(seen[1].line(), "POST /Users");
    assert_eq!(
        seen[1].header("content-type").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(seen[1].json()["externalId"], json!("K-9"), "the create key");
    // Page size 500, capped by the server's filter.maxResults of 50.
    assert_eq!(
        seen[2].uri,
        "/Users?filter=title%20eq%20%22x%20y%22&sortBy=userName&sortOrder=descending&startIndex=1&count=50"
    );
    // One connection for all of them, discovery included (keep-alive). Discovery's three
    // requests follow each other at once: on a loaded machine the second may start before the
    // first connection is back in the pool, hence at most two.
    let peers: std::collections::BTreeSet<_> = server.all_seen().iter().map(|s| s.peer).collect();
    assert!(peers.len() <= 2, "6 requests over {peers:?}");
}

#[tokio::test]
async fn a_server_without_resource_types_or_schemas_gets_defaults_and_notes() {
    let server = Scripted::start(json!({"patch": {"supported": true}}), vec![]).await;
    let target = connect(&server.url).await;
    let caps = target.capabilities();
    assert_eq!(caps.object_types, vec![ObjectType::GROUP, USER]);
    assert!(caps.filter && !caps.sort && !caps.etag && !caps.cursor);
    let notes = target.notes().join("\n");
    assert!(notes.contains("/ResourceTypes: HTTP 404"), "{notes}");
    assert!(notes.contains("/Schemas: HTTP 404"), "{notes}");
    assert!(notes.contains("using User at /Users"), "{notes}");
    assert!(notes.contains("says nothing of etag"), "{notes}");
    assert!(format!("{target:?}").contains("/Schemas: HTTP 404"));
    // Sorting is refused here, not sent to a server that said it cannot.
    let q = Query::all().sorted_by(
        AttributePath::new("userName"),
        connectors::SortOrder::Ascending,
    );
    let e = target.query(&USER, &q).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn configured_endpoints_win() {
    let server = Scripted::start(
        full_spc(),
        vec![Step::json(200, json!({"totalResults": 0, "Resources": []}))],
    )
    .await;
    let config = fast(&format!("{}/", server.url))
        .with_endpoint("Device", "Devices/")
        .with_page_size(30);
    let target = ScimTarget::connect(config).await.unwrap();
    let device = ObjectType::new("Device");
    assert!(target.capabilities().object_types.contains(&device));
    let page = target.query(&device, &Query::all()).await.unwrap();
    assert_eq!(page.total_results, 0);
    assert_eq!(server.seen()[0].uri, "/Devices?startIndex=1&count=30");
}

#[tokio::test]
async fn bad_configurations_are_fatal_before_any_request() {
    for (config, says) in [
        (ScimTargetConfig::new("http://scim.example.com/v2"), "https"),
        (
            ScimTargetConfig::new("https://u:p@scim.example.com/v2"),
            "auth",
        ),
        (ScimTargetConfig::new("nonsense"), "not a URL"),
        (
            ScimTargetConfig::new("https://x.example.com").with_page_size(0),
            "pageSize",
        ),
    ] {
        let e = ScimTarget::connect(config).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Fatal, "{e}");
        assert!(e.to_string().contains(says), "{e}");
        assert!(!e.to_string().contains(":p@"), "{e}");
    }
}

/// A raw HTTP/1.1 server, one request per connection (`Connection: close`): discovery is
/// answered (full features; no resource types or schemas), then each other request takes the
/// next step — `None` reads the request and closes the connection without an answer.
async fn raw_server(
    steps: Vec<Option<String>>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    let mut steps: std::collections::VecDeque<_> = steps.into();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < head_end + length {
                let n = sock.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let line = head.lines().next().unwrap_or_default().to_owned();
            let respond = |status: &str, body: String| {
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let answer = if line.starts_with("GET /ServiceProviderConfig") {
                Some(respond("200 OK", full_spc().to_string()))
            } else if line.starts_with("GET /ResourceTypes") || line.starts_with("GET /Schemas") {
                Some(respond("404 Not Found", String::new()))
            } else {
                log.lock().unwrap().push(line);
                steps.pop_front().unwrap_or(None)
            };
            if let Some(a) = answer {
                sock.write_all(a.as_bytes()).await.unwrap();
            }
            drop(sock);
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_connection_lost_before_the_answer_is_sent_again_only_when_idempotent() {
    let answer = |body: Value| {
        let body = body.to_string();
        Some(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    let (url, seen) = raw_server(vec![
        None,
        answer(user("1", "once-lost", 1)),
        None,
        None,
        None,
    ])
    .await;
    let target = connect(&url).await;
    let got = target
        .get(&USER, &TargetId::new("1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("once-lost")));
    // A POST is never sent twice: the server may have acted on it.
    let e = target
        .create(&USER, &new_user("x"), Some(&CreateKey::new("K")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary, "{e}");
    assert!(e.to_string().contains("POST /Users"), "{e}");
    // A GET lost twice is a temporary error.
    let e = target.get(&USER, &TargetId::new("2")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary, "{e}");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "GET /Users/1 HTTP/1.1",
            "GET /Users/1 HTTP/1.1",
            "POST /Users HTTP/1.1",
            "GET /Users/2 HTTP/1.1",
            "GET /Users/2 HTTP/1.1"
        ]
    );
}

#[tokio::test]
async fn https_is_spoken() {
    // A plain-HTTP server asked for TLS: the TLS handshake (rustls) fails, as a temporary
    // connection error — not "scheme not supported".
    let server = Scripted::start(full_spc(), vec![]).await;
    let https = server.url.replace("http://", "https://");
    let e = ScimTarget::connect(fast(&https)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary, "{e}");
    assert!(e.to_string().contains("GET /ServiceProviderConfig"), "{e}");
    assert!(!e.to_string().contains("scheme"), "{e}");
    // rustls: "received corrupt message of type InvalidContentType".
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

#[tokio::test]
async fn a_server_without_filters_is_listed_and_matched_here() {
    let mut spc = full_spc();
    spc["filter"] = json!({"supported": false});
    let page = |start: u64, users: Vec<Value>| {
        Step::json(
            200,
            json!({"totalResults": 3, "startIndex": start, "Resources": users}),
        )
    };
    let server = Scripted::start(
        spc,
        vec![
            page(1, vec![user("1", "alice", 1), user("2", "bob", 1)]),
            page(3, vec![user("3", "Carol", 1)]),
        ],
    )
    .await;
    let target = ScimTarget::connect(fast(&server.url).with_page_size(2))
        .await
        .unwrap();
    assert!(!target.capabilities().filter);
    let found = target
        .find(&USER, &AttributePath::new("userName"), &json!("CAROL"), 2)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, TargetId::new("3"));
    let lines: Vec<String> = server.seen().iter().map(|s| s.line()).collect();
    assert_eq!(
        lines,
        vec![
            "GET /Users?startIndex=1&count=2",
            "GET /Users?startIndex=3&count=2"
        ]
    );
    let q = Query::filtered(scim_model::Filter::parse(r#"userName eq "x""#).unwrap());
    let e = target.query(&USER, &q).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
