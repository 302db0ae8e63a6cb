//! A scripted SCIM server for the answers a real one will not give on demand (429, 503,
//! timeouts, garbage): discovery endpoints answer from fixed documents, every other request
//! takes the next step of a script, and every request is recorded for the test to read.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

impl Step {
    /// An answer with a JSON body.
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Step {
            status,
            headers: vec![("Content-Type".into(), "application/scim+json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// An answer with a text body.
    pub(crate) fn text(status: u16, body: &str) -> Self {
        Step {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// A SCIM error answer.
    pub(crate) fn error(status: u16, scim_type: Option<&str>, detail: &str) -> Self {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.to_string(),
            "detail": detail
        });
        if let Some(t) = scim_type {
            body["scimType"] = json!(t);
        }
        Step::json(status, body)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers only after `delay`.
    pub(crate) fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request the server received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query, as sent (still percent-encoded).
    pub(crate) uri: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    pub(crate) peer: SocketAddr,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// `GET /Users/1`.
    pub(crate) fn line(&self) -> String {
        format!("{} {}", self.method, self.uri)
    }
}

#[derive(Default)]
struct Shared {
    spc: Value,
    script: VecDeque<Step>,
    seen: Vec<Seen>,
}

/// The running server; stops with the test's runtime.
pub(crate) struct Scripted {
    pub(crate) url: String,
    shared: Arc<Mutex<Shared>>,
}

/// The discovery answer of a server that supports everything but bulk and cursors.
pub(crate) fn full_spc() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": 50},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": []
    })
}

impl Scripted {
    /// Starts a server on a free loopback port. `/ServiceProviderConfig` answers `spc`;
    /// `/ResourceTypes` and `/Schemas` answer 404 (a server that lacks them).
    pub(crate) async fn start(spc: Value, script: Vec<Step>) -> Scripted {
        let shared = Arc::new(Mutex::new(Shared {
            spc,
            script: script.into(),
            seen: Vec::new(),
        }));
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Scripted {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// The requests received, discovery excluded.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.shared
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| !is_discovery(&s.uri))
            .cloned()
            .collect()
    }

    /// Every request received, discovery included.
    pub(crate) fn all_seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    /// Steps not yet used.
    pub(crate) fn left(&self) -> usize {
        self.shared.lock().unwrap().script.len()
    }
}

fn is_discovery(uri: &str) -> bool {
    ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
        .iter()
        .any(|p| uri.starts_with(p))
}

async fn answer(
    State(shared): State<Arc<Mutex<Shared>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 16 << 20).await.unwrap_or_default();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let step = {
        let mut s = shared.lock().unwrap();
        s.seen.push(Seen {
            method: parts.method.to_string(),
            uri: uri.clone(),
            headers: parts.headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            peer,
        });
        if uri.starts_with("/ServiceProviderConfig") {
            Step::json(200, s.spc.clone())
        } else if is_discovery(&uri) {
            Step::error(404, None, "not here")
        } else {
            s.script
                .pop_front()
                .unwrap_or_else(|| Step::text(500, "the script has no step left"))
        }
    };
    if !step.delay.is_zero() {
        tokio::time::sleep(step.delay).await;
    }
    let mut response = Response::builder().status(StatusCode::from_u16(step.status).unwrap());
    for (k, v) in &step.headers {
        response = response.header(k.as_str(), v.as_str());
    }
    response.body(Body::from(step.body)).unwrap()
}

/// A user as a server answers it.
pub(crate) fn user(id: &str, user_name: &str, version: u32) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": user_name,
        "active": true,
        "emails": [{"value": format!("{user_name}@work.example.com"), "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "version": format!("W/\"{version}\""),
                 "location": format!("/Users/{id}")}
    })
}

/// A 200 answer holding `resource` with its ETag.
pub(crate) fn ok_resource(resource: Value) -> Step {
    let etag = resource["meta"]["version"].as_str().map(str::to_owned);
    let step = Step::json(200, resource);
    match etag {
        Some(e) => step.header("ETag", &e),
        None => step,
    }
}
