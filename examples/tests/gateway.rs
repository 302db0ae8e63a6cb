//! The SCIM gateway in-process (`tower::ServiceExt::oneshot` on its router): every endpoint,
//! every error the brief names, ETags, authentication, Bulk, limits, and the request log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use connectors::inbound::InboundQueue;
use connectors::testing::{FailurePlan, Flaky};
use connectors::{
    CreateKey, JobId, MemoryDirectory, MemoryStateStore, ObjectType, Query, QueryPage, StateStore,
    TargetCapabilities, TargetConnector, TargetId, TargetObject, Version,
};
use http::{HeaderMap, Method, Request, StatusCode};
use idflow_examples::gateway::{self, BearerToken, Gateway, GatewayLimits, Inbound, RequestLog};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::{Value, json};
use sync_engine::{Job, SyncEngine};
use tower::ServiceExt;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// A gateway over a fresh directory, with its log captured.
struct App {
    router: Router,
    dir: MemoryDirectory,
    log: Arc<Mutex<Vec<String>>>,
}

fn app() -> App {
    app_with(|g| g)
}

fn app_with(configure: impl FnOnce(Gateway) -> Gateway) -> App {
    app_on(MemoryDirectory::new(), configure)
}

fn app_on(dir: MemoryDirectory, configure: impl FnOnce(Gateway) -> Gateway) -> App {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let gw = Gateway::new(Arc::new(dir.clone()))
        .with_registry(dir.registry().clone())
        .with_log(RequestLog::custom(move |line| {
            sink.lock().unwrap().push(line.to_owned())
        }));
    App {
        router: gateway::router(configure(gw)),
        dir,
        log,
    }
}

/// A response: status, headers and the body as JSON (`Value::Null` when empty).
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
    }

    /// Asserts an RFC 7644 error response with this status and scimType.
    fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{self:#?}");
        assert_eq!(self.header("content-type"), "application/scim+json");
        assert_eq!(self.body["schemas"], json!([ERROR]), "{self:#?}");
        assert_eq!(self.body["status"], json!(status.to_string()), "{self:#?}");
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "{self:#?}"
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{self:#?}"
        );
    }
}

impl App {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&raw)))
        };
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.call_with(method, uri, body, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let request = match body {
            Some(v) => b
                .header("content-type", "application/scim+json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    async fn raw(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = content_type {
            b = b.header("content-type", t);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    async fn post(&self, uri: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(body)).await
    }

    async fn patch(&self, uri: &str, ops: Value) -> Reply {
        self.call(
            Method::PATCH,
            uri,
            Some(json!({"schemas": [PATCH_OP], "Operations": ops})),
        )
        .await
    }

    /// Creates a user and returns its id.
    async fn user(&self, user_name: &str, extra: Value) -> String {
        let mut body = json!({"schemas": [USER], "userName": user_name});
        if let Value::Object(more) = extra {
            body.as_object_mut().unwrap().extend(more);
        }
        let r = self.post("/scim/v2/Users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:#?}");
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r = self
            .post(
                "/scim/v2/Groups",
                json!({"schemas": [GROUP], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:#?}");
        r.body["id"].as_str().unwrap().to_owned()
    }

    fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CRUD

#[tokio::test]
async fn create_get_replace_delete() {
    let app = app();
    let created = app
        .call_with(
            Method::POST,
            "/scim/v2/Users",
            Some(json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "bjensen",
                "name": {"givenName": "Barbara", "familyName": "Jensen"},
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                ENTERPRISE: {"employeeNumber": "701984"}
            })),
            &[("host", "scim.example.com")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:#?}");
    assert_eq!(created.header("content-type"), "application/scim+json");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let meta = &created.body["meta"];
    let location = format!("http://scim.example.com/scim/v2/Users/{id}");
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], json!(location));
    assert_eq!(created.header("location"), location);
    assert!(meta["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(meta["created"], meta["lastModified"]);
    assert_eq!(created.header("etag"), meta["version"].as_str().unwrap());
    assert_eq!(created.body[ENTERPRISE]["employeeNumber"], "701984");

    // Without a Host header, locations are relative to the service.
    let got = app.get(&format!("/scim/v2/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["userName"], "bjensen");
    assert_eq!(
        got.body["meta"]["location"],
        json!(format!("/scim/v2/Users/{id}"))
    );
    assert_eq!(got.header("etag"), created.header("etag"));

    let replaced = app
        .call(
            Method::PUT,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({
                "schemas": [USER], "id": id, "userName": "bjensen", "title": "Tour Guide",
                "meta": got.body["meta"].clone()
            })),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:#?}");
    assert_eq!(replaced.body["title"], "Tour Guide");
    assert!(
        replaced.body.get("name").is_none(),
        "PUT replaces the whole resource"
    );
    assert_ne!(replaced.header("etag"), created.header("etag"));

    let deleted = app
        .call(Method::DELETE, &format!("/scim/v2/Users/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.raw.is_empty());
    app.get(&format!("/scim/v2/Users/{id}"))
        .await
        .assert_error(404, None);
    app.call(Method::DELETE, &format!("/scim/v2/Users/{id}"), None)
        .await
        .assert_error(404, None);
    assert!(app.dir.is_empty(&ObjectType::USER));
}

#[tokio::test]
async fn read_only_attributes_are_ignored_and_passwords_never_returned() {
    let app = app();
    // Entra sends meta.resourceType; RFC 7644 §3.3 says readOnly values SHALL be ignored.
    let r = app
        .post(
            "/scim/v2/Users",
            json!({
                "schemas": [USER], "id": "chosen-by-client", "userName": "alice",
                "password": "hunter2", "groups": [{"value": "g1"}],
                "meta": {"resourceType": "User", "created": "2001-01-01T00:00:00Z"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:#?}");
    let id = r.body["id"].as_str().unwrap();
    assert_ne!(id, "chosen-by-client");
    assert!(r.body.get("groups").is_none());
    assert_ne!(r.body["meta"]["created"], "2001-01-01T00:00:00Z");
    assert!(r.body.get("password").is_none());
    let text = String::from_utf8(app.get(&format!("/scim/v2/Users/{id}")).await.raw).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let all = app.get("/scim/v2/Users?attributes=password,userName").await;
    assert!(!String::from_utf8(all.raw).unwrap().contains("hunter2"));
    // The password was stored all the same (writeOnly).
    let stored = app.dir.resource(&ObjectType::USER, id).unwrap();
    assert_eq!(stored.get("password"), Some(&json!("hunter2")));
}

// ---------------------------------------------------------------------------------------------
// Listing

async fn five_users(app: &App) {
    for (name, title) in [
        ("carol", "Engineer"),
        ("alice", "Engineer"),
        ("Eve", "Manager"),
        ("bob", "Engineer"),
        ("dave", "Engineer"),
    ] {
        app.user(name, json!({"title": title, "emails": [{"value": format!("{name}@example.com"), "type": "work"}]}))
            .await;
    }
}

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    let app = app();
    five_users(&app).await;
    let filter = enc(r#"title eq "engineer""#);
    let r = app
        .get(&format!(
            "/scim/v2/Users?filter={filter}&sortBy=userName&sortOrder=descending&startIndex=2&count=2"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(r.body["schemas"], json!([LIST]));
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(user_names(&r.body), ["carol", "bob"]);

    // Sorting is case-insensitive (userName is caseExact false); the last page is short.
    let r = app
        .get("/scim/v2/Users?sortBy=userName&startIndex=4&count=10")
        .await;
    assert_eq!(user_names(&r.body), ["dave", "Eve"]);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["itemsPerPage"], 2);

    // count=0 gives the total only; startIndex below 1 is 1; a negative count is 0.
    let r = app
        .get(&format!("/scim/v2/Users?filter={filter}&count=0"))
        .await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["Resources"], json!([]));
    let r = app
        .get("/scim/v2/Users?startIndex=-3&count=1&sortBy=userName")
        .await;
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(user_names(&r.body), ["alice"]);
    let r = app.get("/scim/v2/Users?count=-1").await;
    assert_eq!(r.body["itemsPerPage"], 0);

    // Entra's uniqueness probe: a value path with a sub-attribute, and + for spaces.
    let r = app
        .get("/scim/v2/Users?filter=emails[type+eq+%22work%22].value+eq+%22bob%40example.com%22")
        .await;
    assert_eq!(user_names(&r.body), ["bob"]);
    // Parameter names are matched case-insensitively.
    let r = app
        .get(&format!("/scim/v2/Users?FILTER={filter}&COUNT=1"))
        .await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["itemsPerPage"], 1);
    // A filter on meta.
    let r = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc(r#"meta.resourceType eq "User" and userName sw "a""#)
        ))
        .await;
    assert_eq!(user_names(&r.body), ["alice"]);
}

#[tokio::test]
async fn count_is_capped_at_max_results() {
    let app = app_with(|g| g.with_limits(GatewayLimits::default().with_max_results(3)));
    five_users(&app).await;
    let r = app.get("/scim/v2/Users?count=100").await;
    assert_eq!(r.body["itemsPerPage"], 3);
    assert_eq!(r.body["totalResults"], 5);
    let r = app.get("/scim/v2/Users").await;
    assert_eq!(r.body["itemsPerPage"], 3, "the default page is maxResults");
    let spc = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(spc.body["filter"]["maxResults"], 3);
}

#[tokio::test]
async fn attributes_and_excluded_attributes() {
    let app = app();
    let id = app
        .user(
            "bjensen",
            json!({"schemas": [USER, ENTERPRISE], "name": {"givenName": "Barbara", "familyName": "Jensen"},
                   "emails": [{"value": "b@example.com", "type": "work"}],
                   ENTERPRISE: {"employeeNumber": "42", "department": "Tour"}}),
        )
        .await;
    let uri = format!("/scim/v2/Users/{id}");
    let r = app
        .get(&format!(
            "{uri}?attributes=userName,name.givenName,{ENTERPRISE}:department"
        ))
        .await;
    let mut body = r.body.clone();
    body.as_object_mut().unwrap().remove("schemas");
    assert_eq!(
        body,
        json!({"id": id, "userName": "bjensen", "name": {"givenName": "Barbara"},
               ENTERPRISE: {"department": "Tour"}})
    );
    let r = app
        .get(&format!(
            "{uri}?excludedAttributes=emails,name.familyName,meta"
        ))
        .await;
    assert!(r.body.get("emails").is_none());
    assert!(r.body.get("meta").is_none());
    assert_eq!(r.body["name"], json!({"givenName": "Barbara"}));
    assert_eq!(r.body["id"], json!(id));
    // The same on a list, and on the resource a PATCH returns.
    let r = app.get("/scim/v2/Users?attributes=emails.value").await;
    assert_eq!(
        r.body["Resources"][0],
        json!({"schemas": [USER, ENTERPRISE], "id": id, "emails": [{"value": "b@example.com"}]})
    );
    let r = app
        .call(
            Method::PATCH,
            &format!("{uri}?attributes=title"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "Guide"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["title"], "Guide");
    assert!(r.body.get("userName").is_none());
    // A value filter is not an attribute name.
    app.get(&format!(
        "{uri}?attributes={}",
        enc("emails[type eq \"work\"]")
    ))
    .await
    .assert_error(400, Some("invalidPath"));
}

#[tokio::test]
async fn search_with_post() {
    let app = app();
    five_users(&app).await;
    let g = app.group("Engineers", &[]).await;
    let r = app
        .post(
            "/scim/v2/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "title eq \"Engineer\"", "sortBy": "userName",
                   "attributes": ["userName"], "startIndex": 1, "count": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(user_names(&r.body), ["alice", "bob", "carol"]);
    assert!(r.body["Resources"][0].get("title").is_none());

    // At the root: every resource type, paged as one list (5 users, then the group).
    let r = app
        .post("/scim/v2/.search", json!({"startIndex": 5, "count": 2}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(r.body["totalResults"], 6);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(r.body["Resources"][0]["meta"]["resourceType"], "User");
    assert_eq!(r.body["Resources"][1]["id"], json!(g));
    let r = app
        .post("/scim/v2/.search", json!({"filter": "displayName pr"}))
        .await;
    assert_eq!(r.body["totalResults"], 1);

    app.post("/scim/v2/Users/.search", json!({"filter": "title eq"}))
        .await
        .assert_error(400, Some("invalidFilter"));
    app.post("/scim/v2/Users/.search", json!({"count": "ten"}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    // GET on .search is not a search; POST on a resource is not allowed.
    let r = app.post(&format!("/scim/v2/Groups/{g}"), json!({})).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), "GET, PUT, PATCH, DELETE");
}

// ---------------------------------------------------------------------------------------------
// PATCH

#[tokio::test]
async fn patch_attributes_and_members() {
    let app = app();
    let alice = app
        .user("alice", json!({"name": {"familyName": "A"}}))
        .await;
    let bob = app.user("bob", json!({})).await;
    let carol = app.user("carol", json!({})).await;
    let g = app.group("Team", &[&alice]).await;

    let r = app
        .patch(
            &format!("/scim/v2/Users/{alice}"),
            json!([
                {"op": "Replace", "path": "name.familyName", "value": "Anders"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alice@example.com"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(r.body["name"]["familyName"], "Anders");
    assert_eq!(
        r.body["emails"],
        json!([{"type": "work", "value": "alice@example.com"}])
    );
    assert_eq!(r.body["active"], false);
    assert_eq!(
        r.header("etag"),
        r.body["meta"]["version"].as_str().unwrap()
    );

    let uri = format!("/scim/v2/Groups/{g}");
    let r = app
        .patch(
            &uri,
            json!([{"op": "add", "path": "members", "value": [{"value": bob}, {"value": carol, "$ref": null}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    let members = |v: &Value| -> Vec<String> {
        let mut m: Vec<String> = v["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        m.sort();
        m
    };
    let mut all = vec![alice.clone(), bob.clone(), carol.clone()];
    all.sort();
    assert_eq!(members(&r.body), all);
    // Entra's remove: path "members" with the values to remove (not all members).
    let r = app
        .patch(
            &uri,
            json!([{"op": "Remove", "path": "members", "value": [{"value": bob}]}]),
        )
        .await;
    let mut rest = vec![alice.clone(), carol.clone()];
    rest.sort();
    assert_eq!(members(&r.body), rest);
    let r = app
        .patch(
            &uri,
            json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
        )
        .await;
    assert_eq!(members(&r.body), vec![carol]);

    // Atomic: the second operation fails, so the first is not applied either.
    let before = app.get(&format!("/scim/v2/Users/{alice}")).await;
    let r = app
        .patch(
            &format!("/scim/v2/Users/{alice}"),
            json!([
                {"op": "replace", "path": "title", "value": "CTO"},
                {"op": "replace", "path": "id", "value": "x"}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:#?}");
    let after = app.get(&format!("/scim/v2/Users/{alice}")).await;
    assert_eq!(before.body, after.body);

    app.patch(
        &format!("/scim/v2/Users/{alice}"),
        json!([{"op": "remove"}]),
    )
    .await
    .assert_error(400, Some("noTarget"));
    app.patch(
        &format!("/scim/v2/Users/{alice}"),
        json!([{"op": "replace", "path": "name..x", "value": 1}]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    app.patch(
        &format!("/scim/v2/Users/{alice}"),
        json!([{"op": "replace", "path": "id", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    app.patch(
        "/scim/v2/Users/nobody",
        json!([{"op": "add", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(404, None);
    // An empty Operations list (the Microsoft SCIM Validator sends one) changes nothing.
    let r = app
        .patch(&format!("/scim/v2/Users/{alice}"), json!([]))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, after.body);
}

// ---------------------------------------------------------------------------------------------
// ETags

#[tokio::test]
async fn etags_give_304_and_412() {
    let app = app();
    let id = app.user("bjensen", json!({})).await;
    let uri = format!("/scim/v2/Users/{id}");
    let v1 = app.get(&uri).await.header("etag").to_owned();
    assert!(v1.starts_with("W/\""), "{v1}");

    let r = app
        .call_with(Method::GET, &uri, None, &[("if-none-match", &v1)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), v1);
    let r = app
        .call_with(Method::GET, &uri, None, &[("if-none-match", "W/\"999\"")])
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "x"}]});
    let r = app
        .call_with(
            Method::PATCH,
            &uri,
            Some(patch.clone()),
            &[("if-match", &v1)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    let v2 = r.header("etag").to_owned();
    assert_ne!(v1, v2);
    // Stale: every write with the old version is refused and changes nothing.
    app.call_with(
        Method::PATCH,
        &uri,
        Some(patch.clone()),
        &[("if-match", &v1)],
    )
    .await
    .assert_error(412, None);
    let put = json!({"schemas": [USER], "userName": "bjensen", "title": "y"});
    app.call_with(Method::PUT, &uri, Some(put.clone()), &[("if-match", &v1)])
        .await
        .assert_error(412, None);
    app.call_with(Method::DELETE, &uri, None, &[("if-match", &v1)])
        .await
        .assert_error(412, None);
    assert_eq!(app.get(&uri).await.body["title"], "x");
    // A list naming the current version, the weak/strong forms, and *.
    let list = format!("\"nope\", {}", v2.trim_start_matches("W/"));
    let r = app
        .call_with(Method::PUT, &uri, Some(put), &[("if-match", &list)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    let r = app
        .call_with(Method::GET, &uri, None, &[("if-none-match", "*")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = app
        .call_with(Method::DELETE, &uri, None, &[("if-match", "*")])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------------------------------------
// Authentication and the log

#[tokio::test]
async fn bearer_token_is_required_and_never_logged() {
    let app = app_with(|g| g.with_token(BearerToken::new("s3cret-T0ken").unwrap()));
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("authorization", "Basic czNjcmV0LVQwa2Vu")],
        vec![("authorization", "Bearer s3cret-T0ke")],
        vec![("authorization", "Bearer s3cret-T0ken2")],
    ] {
        let r = app
            .call_with(Method::GET, "/scim/v2/Users", None, &headers)
            .await;
        r.assert_error(401, None);
        assert!(r.header("www-authenticate").starts_with("Bearer"));
    }
    // Every endpoint, not only the resources.
    app.get("/scim/v2/ServiceProviderConfig")
        .await
        .assert_error(401, None);
    app.get("/nowhere").await.assert_error(401, None);
    let ok = app
        .call_with(
            Method::GET,
            "/scim/v2/Users?access_token=s3cret-T0ken&count=1",
            None,
            &[("authorization", "bearer s3cret-T0ken")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let spc = app
        .call_with(
            Method::GET,
            "/scim/v2/ServiceProviderConfig",
            None,
            &[("authorization", "Bearer s3cret-T0ken")],
        )
        .await;
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let lines = app.log_lines();
    assert_eq!(lines.len(), 9, "{lines:#?}");
    for line in &lines {
        assert!(!line.contains("s3cret"), "{line}");
    }
    assert!(
        lines[0].contains(" GET /scim/v2/Users 401 "),
        "{}",
        lines[0]
    );
    assert!(
        lines[7].contains(" GET /scim/v2/Users?access_token=[redacted]&count=1 200 "),
        "{}",
        lines[7]
    );
    assert!(lines[7].ends_with("ms"), "{}", lines[7]);
}

#[tokio::test]
async fn one_log_line_per_request() {
    let app = app();
    app.user("alice", json!({})).await;
    app.get(&format!(
        "/scim/v2/Users?filter={}",
        enc("userName eq \"alice\"")
    ))
    .await;
    app.get("/scim/v2/Nope").await;
    let lines = app.log_lines();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains(" POST /scim/v2/Users 201 "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(" GET /scim/v2/Users?filter=userName%20eq%20%22alice%22 200 "),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(" GET /scim/v2/Nope 404 "), "{}", lines[2]);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn errors_are_scim_errors_with_the_right_status() {
    let app = app();
    app.user("bjensen", json!({})).await;
    app.get(&format!("/scim/v2/Users?filter={}", enc("userName eq")))
        .await
        .assert_error(400, Some("invalidFilter"));
    // Microsoft's documented unquoted value is refused, with a hint to quote it.
    let r = app.get("/scim/v2/Users?filter=externalId+eq+jyoung").await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(r.body["detail"].as_str().unwrap().contains("jyoung"));
    app.get("/scim/v2/Users/nobody")
        .await
        .assert_error(404, None);
    app.post(
        "/scim/v2/Users",
        json!({"schemas": [USER], "userName": "BJENSEN"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    app.raw(
        Method::POST,
        "/scim/v2/Users",
        Some("application/scim+json"),
        "{\"userName\": ",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.raw(
        Method::POST,
        "/scim/v2/Users",
        Some("application/json"),
        "[1]",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.raw(
        Method::POST,
        "/scim/v2/Users",
        Some("application/scim+json"),
        "",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.raw(Method::POST, "/scim/v2/Users", Some("text/plain"), "{}")
        .await
        .assert_error(415, None);
    // application/json is accepted as well as application/scim+json.
    let r = app
        .raw(
            Method::POST,
            "/scim/v2/Users",
            Some("application/json; charset=utf-8"),
            &json!({"schemas": [USER], "userName": "plainjson"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.post(
        "/scim/v2/Users",
        json!({"schemas": [USER], "userName": "x", "active": "maybe"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.post(
        "/scim/v2/Users",
        json!({"schemas": [GROUP], "displayName": "x"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.post(
        "/scim/v2/Users",
        json!({"schemas": [USER], "name": {"givenName": "no userName"}}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?startIndex=abc")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get(&format!("/scim/v2/Users?sortBy={}", enc("a b")))
        .await
        .assert_error(400, Some("invalidPath"));
    // Unknown paths and methods.
    app.get("/scim/v2/Widgets").await.assert_error(404, None);
    app.get("/scim/v2").await.assert_error(404, None);
    app.get("/").await.assert_error(404, None);
    app.get("/scim/v2/Users/a/b").await.assert_error(404, None);
    let r = app.post("/scim/v2/ServiceProviderConfig", json!({})).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), "GET");
    app.call(Method::DELETE, "/scim/v2/Users", None)
        .await
        .assert_error(405, None);
    app.call(Method::GET, "/scim/v2/Bulk", None)
        .await
        .assert_error(405, None);
}

#[tokio::test]
async fn payloads_over_the_limit_are_413() {
    let app = app_with(|g| g.with_limits(GatewayLimits::default().with_max_payload_bytes(2000)));
    let big = json!({"schemas": [USER], "userName": "x".repeat(3000)});
    let r = app.post("/scim/v2/Users", big.clone()).await;
    r.assert_error(413, None);
    let r = app
        .post(
            "/scim/v2/Bulk",
            json!({"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "bulkId": "1", "data": big}]}),
        )
        .await;
    r.assert_error(413, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("maxPayloadSize (2000)")
    );
    // Without a Content-Length (a stream), too.
    let stream = futures::stream::iter(
        (0..10).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 500]))),
    );
    let r = app
        .send(
            Request::post("/scim/v2/Users")
                .header("content-type", "application/scim+json")
                .body(Body::from_stream(stream))
                .unwrap(),
        )
        .await;
    r.assert_error(413, None);
}

#[tokio::test]
async fn target_failures_are_mapped_in_one_place() {
    // A temporary failure of the target (throttling) is 503 with its Retry-After.
    let dir = MemoryDirectory::new();
    let flaky = Flaky::new(
        dir.clone(),
        FailurePlan::always()
            .only(["query"])
            .temporary(Some(Duration::from_secs(30))),
    );
    let router = gateway::router(Gateway::new(Arc::new(flaky)).with_log(RequestLog::Off));
    let app = App {
        router,
        dir,
        log: Arc::default(),
    };
    let r = app.get("/scim/v2/Users").await;
    r.assert_error(503, None);
    assert_eq!(r.header("retry-after"), "30");
}

/// A target that supports neither PATCH nor PUT nor sorting.
#[derive(Debug)]
struct Plain(MemoryDirectory);

#[async_trait]
impl TargetConnector for Plain {
    fn name(&self) -> &str {
        "plain"
    }

    fn capabilities(&self) -> TargetCapabilities {
        let mut caps = TargetCapabilities::new([ObjectType::USER]);
        caps.filter = true;
        caps.max_page_size = Some(2);
        caps
    }

    async fn get(&self, t: &ObjectType, id: &TargetId) -> connectors::Result<Option<TargetObject>> {
        TargetConnector::get(&self.0, t, id).await
    }

    async fn find(
        &self,
        t: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> connectors::Result<Vec<TargetObject>> {
        self.0.find(t, path, value, limit).await
    }

    async fn create(
        &self,
        t: &ObjectType,
        r: &Resource,
        key: Option<&CreateKey>,
    ) -> connectors::Result<TargetObject> {
        self.0.create(t, r, key).await
    }

    async fn patch(
        &self,
        _: &ObjectType,
        _: &TargetId,
        _: &PatchOp,
        _: Option<&Version>,
    ) -> connectors::Result<TargetObject> {
        panic!("the gateway must not call patch on a target without it")
    }

    async fn replace(
        &self,
        _: &ObjectType,
        _: &TargetId,
        _: &Resource,
        _: Option<&Version>,
    ) -> connectors::Result<TargetObject> {
        panic!("the gateway must not call replace on a target without it")
    }

    async fn delete(
        &self,
        t: &ObjectType,
        id: &TargetId,
        v: Option<&Version>,
    ) -> connectors::Result<()> {
        self.0.delete(t, id, v).await
    }

    async fn query(&self, t: &ObjectType, q: &Query) -> connectors::Result<QueryPage> {
        assert!(q.sort_by.is_none(), "no sort sent to a target without it");
        self.0.query(t, q).await
    }
}

#[tokio::test]
async fn a_target_without_patch_put_or_sort_is_described_honestly() {
    let dir = MemoryDirectory::new();
    let router =
        gateway::router(Gateway::new(Arc::new(Plain(dir.clone()))).with_log(RequestLog::Off));
    let app = App {
        router,
        dir,
        log: Arc::default(),
    };
    let spc = app.get("/scim/v2/ServiceProviderConfig").await.body;
    assert_eq!(spc["patch"]["supported"], false);
    assert_eq!(spc["sort"]["supported"], false);
    assert_eq!(spc["etag"]["supported"], false);
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 2}));
    let types = app.get("/scim/v2/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 1, "no Groups: the target holds none");
    let id = app.user("alice", json!({})).await;
    app.user("bob", json!({})).await;
    app.user("carol", json!({})).await;
    app.patch(
        &format!("/scim/v2/Users/{id}"),
        json!([{"op": "add", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(501, None);
    app.call(
        Method::PUT,
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"schemas": [USER], "userName": "alice"})),
    )
    .await
    .assert_error(501, None);
    let r = app.get("/scim/v2/Users?sortBy=userName&count=50").await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(
        r.body["itemsPerPage"], 2,
        "the target's page size caps count"
    );
    app.get("/scim/v2/Groups").await.assert_error(404, None);
}

#[tokio::test]
async fn no_request_makes_it_panic() {
    let app = app();
    let id = app.user("alice", json!({})).await;
    let deep_filter = format!("{}userName pr{}", "(".repeat(5000), ")".repeat(5000));
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let long_not = format!("{}userName pr", "not ".repeat(10_000));
    let cases: Vec<(Method, String, Option<&str>, String)> = vec![
        (Method::GET, format!("/scim/v2/Users?filter={}", enc(&deep_filter)), None, String::new()),
        (Method::GET, format!("/scim/v2/Users?filter={}", enc(&long_not)), None, String::new()),
        (Method::GET, "/scim/v2/Users?filter=%FF%FE".into(), None, String::new()),
        (Method::GET, "/scim/v2/Users/%FF".into(), None, String::new()),
        (Method::GET, "/scim/v2/Users?count=99999999999999999999999".into(), None, String::new()),
        (Method::GET, "/scim/v2/Users?startIndex=9223372036854775807".into(), None, String::new()),
        (Method::GET, format!("/scim/v2/Users/{id}?attributes={}", enc("urn:")), None, String::new()),
        (Method::GET, format!("/scim/v2/Users/{id}?excludedAttributes={}", enc("urn:x:y:z.q.r")), None, String::new()),
        (Method::POST, "/scim/v2/Users".into(), Some("application/scim+json"), deep_json.clone()),
        (Method::POST, "/scim/v2/Bulk".into(), Some("application/scim+json"), deep_json.clone()),
        (Method::POST, "/scim/v2/.search".into(), Some("application/scim+json"), deep_json.clone()),
        (Method::PATCH, format!("/scim/v2/Users/{id}"), Some("application/scim+json"), deep_json),
        (Method::PATCH, format!("/scim/v2/Users/{id}"), Some("application/scim+json"), "{\"Operations\": 5}".into()),
        (Method::PUT, format!("/scim/v2/Users/{id}"), Some("application/scim+json"), "null".into()),
        (Method::POST, "/scim/v2/Bulk".into(), Some("application/scim+json"), "{\"Operations\": [{\"method\": \"GET\"}]}".into()),
        (Method::POST, "/scim/v2/Bulk".into(), Some("application/scim+json"),
            json!({"Operations": [{"method": "PATCH", "path": "/Users/../../x", "data": {}}, {"method": "DELETE", "path": "https://elsewhere/Users"}]}).to_string()),
        (Method::POST, "/scim/v2/Users".into(), Some("application/scim+json"), "\u{0}".into()),
        (Method::GET, "/scim/v2/Schemas/%00".into(), None, String::new()),
        (Method::OPTIONS, "/scim/v2/Users".into(), None, String::new()),
    ];
    for (method, uri, content_type, body) in cases {
        let r = app.raw(method.clone(), &uri, content_type, &body).await;
        assert!(
            r.status.is_client_error() || r.status == StatusCode::OK,
            "{method} {uri}: {r:#?}"
        );
        if r.status.is_client_error() {
            r.assert_error(
                r.status.as_u16(),
                r.body.get("scimType").and_then(Value::as_str),
            );
        }
    }
    // Still serving.
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}")).await.status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// Bulk

#[tokio::test]
async fn bulk_resolves_bulk_ids() {
    let app = app();
    let r = app
        .post(
            "/scim/v2/Bulk",
            json!({
                "schemas": [BULK],
                "Operations": [
                    // The group references a user created later in the request.
                    {"method": "POST", "path": "/Groups", "bulkId": "g",
                     "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                              "members": [{"type": "User", "value": "bulkId:u"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u",
                     "data": {"schemas": [USER], "userName": "alice"}},
                    {"method": "PATCH", "path": "/Users/bulkId:u",
                     "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "Guide"}]}}
                ]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["status"], "201");
    assert_eq!(ops[2]["status"], "200");
    assert_eq!(ops[0]["bulkId"], "g");
    let user_loc = ops[1]["location"].as_str().unwrap();
    let user_id = user_loc.rsplit('/').next().unwrap();
    assert_eq!(user_loc, format!("/scim/v2/Users/{user_id}"));
    assert!(ops[1]["version"].as_str().is_some());
    let group_id = ops[0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let group = app.get(&format!("/scim/v2/Groups/{group_id}")).await.body;
    assert_eq!(group["members"][0]["value"], json!(user_id));
    let user = app.get(&format!("/scim/v2/Users/{user_id}")).await.body;
    assert_eq!(user["title"], "Guide");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_fail_on_errors_stops_and_errors_are_per_operation() {
    let app = app();
    let existing = app.user("taken", json!({})).await;
    let r = app
        .post(
            "/scim/v2/Bulk",
            json!({
                "schemas": [BULK],
                "failOnErrors": 2,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "taken"}},
                    {"method": "PATCH", "path": format!("/Users/{existing}"), "version": "W/\"999\"",
                     "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "x"}]}},
                    {"method": "DELETE", "path": "/Users/nobody"},
                    {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"schemas": [USER], "userName": "never-run"}}
                ]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 2, "stopped after failOnErrors errors: {ops:#?}");
    assert_eq!(ops[0]["status"], "409");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[0]["response"]["status"], "409");
    assert_eq!(ops[1]["status"], "412");
    assert_eq!(app.dir.len(&ObjectType::USER), 1);

    // Without failOnErrors every operation runs; a reference to a failed POST is 409.
    let r = app
        .post(
            "/scim/v2/Bulk",
            json!({"Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER]}},
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:x"}]}},
                {"method": "DELETE", "path": "/Widgets/1"},
                {"method": "POST", "path": "/Users/abc", "bulkId": "y", "data": {"schemas": [USER], "userName": "y"}},
                {"method": "DELETE", "path": format!("/Users/{existing}")}
            ]}),
        )
        .await;
    let statuses: Vec<&str> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["400", "409", "404", "400", "204"]);
    assert!(app.dir.is_empty(&ObjectType::USER));
}

#[tokio::test]
async fn bulk_max_operations_is_413() {
    let app = app_with(|g| g.with_limits(GatewayLimits::default().with_max_bulk_operations(2)));
    let op = json!({"method": "DELETE", "path": "/Users/x"});
    let r = app
        .post(
            "/scim/v2/Bulk",
            json!({"schemas": [BULK], "Operations": [op, op, op]}),
        )
        .await;
    r.assert_error(413, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("too many operations")
    );
    let spc = app.get("/scim/v2/ServiceProviderConfig").await.body;
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 1048576})
    );
    app.post("/scim/v2/Bulk", json!({"schemas": [BULK]}))
        .await
        .assert_error(400, Some("invalidSyntax"));
}

// ---------------------------------------------------------------------------------------------
// Discovery

#[tokio::test]
async fn discovery_describes_the_service() {
    let app = app();
    let spc = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(
        spc.body,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 500},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig"}
        })
    );
    let types = app.get("/scim/v2/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(
        types["Resources"][0]["schemaExtensions"],
        json!([{"schema": ENTERPRISE, "required": false}])
    );
    let group = app.get("/scim/v2/ResourceTypes/Group").await.body;
    assert_eq!(group["schema"], GROUP);
    assert_eq!(group["meta"]["location"], "/scim/v2/ResourceTypes/Group");
    app.get("/scim/v2/ResourceTypes/Device")
        .await
        .assert_error(404, None);

    let schemas = app.get("/scim/v2/Schemas").await.body;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, GROUP, ENTERPRISE]);
    let user = app.get(&format!("/scim/v2/Schemas/{USER}")).await.body;
    assert_eq!(
        user["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
    );
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    app.get("/scim/v2/Schemas/urn:nope")
        .await
        .assert_error(404, None);
}

// ---------------------------------------------------------------------------------------------
// API-driven inbound provisioning (/bulkUpload)

/// A gateway with the inbound endpoint, provisioning with `idflow serve`'s job.
fn inbound_app(configure: impl FnOnce(Gateway) -> Gateway) -> (App, Inbound) {
    let dir = MemoryDirectory::new();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    let queue = InboundQueue::new(store.clone(), "hr");
    let job = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/serve/inbound-job.json"),
    )
    .unwrap();
    let engine = SyncEngine::new(
        JobId::new("inbound"),
        Job::from_json_str(&job).unwrap(),
        Arc::new(queue.clone()),
        Arc::new(dir.clone()),
        store,
    )
    .unwrap();
    let inbound = Inbound::new(queue, engine);
    let app = app_on(dir, |g| configure(g.with_inbound(inbound.clone())));
    (app, inbound)
}

fn worker(id: &str, user_name: &str, department: &str, manager: Option<&str>) -> Value {
    let mut enterprise = json!({"employeeNumber": id, "department": department});
    if let Some(m) = manager {
        enterprise["manager"] = json!({"value": m});
    }
    json!({"method": "POST", "path": "/Users", "bulkId": id, "data": {
        "schemas": [USER, ENTERPRISE],
        "externalId": id, "userName": user_name, "active": true,
        "name": {"givenName": user_name, "familyName": "Worker"},
        "title": "Engineer",
        ENTERPRISE: enterprise
    }})
}

fn bulk_upload(ops: Vec<Value>) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

/// Polls until `check` holds on the user list (the background cycle runs meanwhile).
async fn eventually(app: &App, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.get("/scim/v2/Users?sortBy=userName").await;
        if check(&r.body) {
            return r.body;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {:#}", r.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bulk_upload_is_accepted_provisioned_and_its_receipt_shows_the_logs() {
    let (app, _inbound) = inbound_app(|g| g);
    let r = app
        .post(
            "/bulkUpload",
            bulk_upload(vec![
                worker("E1", "ines", "Engineering", None),
                // A manager reference to another record of the same request.
                worker("E2", "kofi", "Engineering", Some("E1")),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:#?}");
    let receipt = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("location"), format!("/bulkUpload/{receipt}"));
    assert_eq!(r.body["records"][1]["bulkId"], "E2");
    assert_eq!(r.body["records"][1]["sourceId"], "E2");

    let users = eventually(&app, "both provisioned", |b| b["totalResults"] == 2).await;
    assert_eq!(user_names(&users), ["ines", "kofi"]);
    let ines = users["Resources"][0]["id"].as_str().unwrap();
    assert_eq!(users["Resources"][0]["externalId"], "E1");
    assert_eq!(
        users["Resources"][1][ENTERPRISE]["manager"]["value"],
        json!(ines),
        "the manager reference resolves to the target's id"
    );

    let r = app.get(&format!("/bulkUpload/{receipt}")).await;
    assert_eq!(r.status, StatusCode::OK, "{r:#?}");
    assert_eq!(r.header("content-type"), "application/json");
    for (i, record) in r.body["records"].as_array().unwrap().iter().enumerate() {
        let logs = record["provisioningLogs"].as_array().unwrap();
        assert!(!logs.is_empty(), "record {i}: {record:#}");
        assert_eq!(logs[0]["action"], "Create");
        assert_eq!(logs[0]["status"], "Success");
        assert_eq!(logs[0]["sourceIdentity"]["id"], record["sourceId"]);
        let target = logs[0]["targetIdentity"]["id"].as_str().unwrap();
        assert_eq!(
            app.get(&format!("/scim/v2/Users/{target}")).await.status,
            StatusCode::OK
        );
    }

    // A partial record: only the department; the rest stays.
    let r = app
        .post(
            "/bulkUpload",
            bulk_upload(vec![
                json!({"method": "POST", "path": "/Users", "bulkId": "b1", "data": {
                    "schemas": [USER, ENTERPRISE], "externalId": "E2",
                    ENTERPRISE: {"department": "Research"}
                }}),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:#?}");
    let second = r.body["id"].as_str().unwrap().to_owned();
    let users = eventually(&app, "the department changed", |b| {
        b["Resources"][1][ENTERPRISE]["department"] == "Research"
    })
    .await;
    assert_eq!(users["Resources"][1]["title"], "Engineer");
    assert_eq!(users["Resources"][1]["userName"], "kofi");
    let r = app.get(&format!("/bulkUpload/{second}")).await;
    let logs = r.body["records"][0]["provisioningLogs"].as_array().unwrap();
    assert_eq!(logs.last().unwrap()["action"], "Update", "{logs:#?}");

    app.get("/bulkUpload/0123456789abcdef0123456789abcdef")
        .await
        .assert_error(404, None);
    let lines = app.log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("inbound cycle ") && l.contains("created 2")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn refused_bulk_uploads_store_nothing_and_name_every_problem() {
    let (app, inbound) = inbound_app(|g| g);
    let good = bulk_upload(vec![worker("E1", "ines", "Eng", None)]);
    // Entra requires application/scim+json.
    let r = app
        .raw(
            Method::POST,
            "/bulkUpload",
            Some("application/json"),
            &good.to_string(),
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    assert!(r.body["detail"].as_str().unwrap().contains("Content-Type"));
    let r = app
        .post(
            "/bulkUpload",
            json!({"schemas": [BULK], "Operations": [
                {"method": "PUT", "path": "/Users", "bulkId": "1", "data": {"schemas": [USER, ENTERPRISE], "externalId": "1", "userName": "a"}},
                {"method": "POST", "path": "/Groups", "bulkId": "2", "data": {"schemas": [USER, ENTERPRISE], "userName": "b"}}
            ]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    for needle in [
        "operation 0: method",
        "operation 1: path",
        "operation 1: data.externalId",
    ] {
        assert!(detail.contains(needle), "{needle:?} not in {detail}");
    }
    let many: Vec<Value> = (0..51)
        .map(|i| worker(&format!("E{i}"), &format!("u{i}"), "x", None))
        .collect();
    app.post("/bulkUpload", bulk_upload(many))
        .await
        .assert_error(413, Some("tooMany"));
    app.raw(
        Method::POST,
        "/bulkUpload",
        Some("application/scim+json"),
        "{",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    assert_eq!(inbound.queue().last_position().await.unwrap(), 0);
    let report = inbound.run_cycle().await.unwrap();
    assert_eq!(report.summary.created, 0);
    assert!(app.dir.is_empty(&ObjectType::USER));
    // Only POST and GET-by-receipt exist.
    app.get("/bulkUpload").await.assert_error(405, None);
}

#[tokio::test]
async fn bulk_upload_needs_the_token_and_exists_only_when_configured() {
    let (guarded, _) = inbound_app(|g| g.with_token(BearerToken::new("t0k").unwrap()));
    let body = bulk_upload(vec![worker("E1", "ines", "Eng", None)]);
    guarded
        .post("/bulkUpload", body.clone())
        .await
        .assert_error(401, None);
    let r = guarded
        .call_with(
            Method::POST,
            "/bulkUpload",
            Some(body.clone()),
            &[("authorization", "Bearer t0k")],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    guarded
        .post("/bulkUpload", body)
        .await
        .assert_error(401, None);
    let plain = app();
    plain
        .post("/bulkUpload", bulk_upload(vec![]))
        .await
        .assert_error(404, None);
}
