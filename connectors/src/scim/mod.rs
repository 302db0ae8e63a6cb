//! [`ScimTarget`]: a [`TargetConnector`](crate::TargetConnector) that provisions any SCIM 2.0
//! service (RFC 7643/7644) over HTTP(S) — a SaaS app's `/scim/v2`, a SCIM gateway.
//!
//! Behind the `scim` feature. It runs on `reqwest` (rustls for HTTPS) and **needs a tokio
//! runtime**: call it from tasks of a tokio runtime with the `time` driver enabled
//! (`#[tokio::main]`, `#[tokio::test]` or `Runtime::new()` do).
//!
//! ```no_run
//! use connectors::scim::{ScimAuth, ScimTarget, ScimTargetConfig};
//! use connectors::{CreateKey, ObjectType, TargetConnector, TargetConnectorExt};
//! use scim_model::{AttributePath, Resource};
//! use serde_json::json;
//!
//! # async fn run() -> connectors::Result<()> {
//! let config = ScimTargetConfig::new("https://app.example.com/scim/v2")
//!     .with_auth(ScimAuth::bearer(std::env::var("SCIM_TOKEN").unwrap_or_default()));
//! let target = ScimTarget::connect(config).await?; // reads /ServiceProviderConfig, ...
//! println!("{:?}", target.capabilities());
//!
//! let user = Resource::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen@example.com",
//!     "active": true
//! })).unwrap();
//! // The key goes in as externalId, so a create whose answer was lost is found again.
//! let created = target.create(&ObjectType::USER, &user, Some(&CreateKey::new("E1042"))).await?;
//! let found = target
//!     .find(&ObjectType::USER, &AttributePath::new("externalId"), &json!("E1042"), 2)
//!     .await?;
//! assert_eq!(found[0].id, created.id);
//! target.disable(&ObjectType::USER, &created.id).await?; // PATCH active=false
//! # Ok(())
//! # }
//! ```
//!
//! # The methods on the wire
//!
//! Every request sends `Accept: application/scim+json` (and that `Content-Type` with a body),
//! the configured authentication, and `If-Match` when the caller gives a version. One
//! `reqwest` client per target keeps connections alive; at most
//! [`max_in_flight`](ScimTargetConfig::max_in_flight) requests are in flight at once.
//!
//! | method | request | answers |
//! |---|---|---|
//! | `connect` | `GET /ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` | a missing one gets defaults and a [note](ScimTarget::notes) |
//! | `get` | `GET /Users/{id}` | 404 → `None` |
//! | `find` | `GET /Users?filter=path eq "value"&count=limit` | a value-filtered path becomes a value path; without server filters, a listing matched here |
//! | `create` | `POST /Users`, the create key as `externalId` when the resource has none | |
//! | `patch` | `PATCH /Users/{id}` with the `PatchOp` (a `remove` with a value list, Entra's form, sent as `remove members[value eq "…" or …]`) | 204 → the object is read back; 405/501, or `patch.supported: false` → GET, the PATCH applied here (scim-model), PUT with `If-Match` |
//! | `replace` | `PUT /Users/{id}` | |
//! | `delete` | `DELETE /Users/{id}` | 404 → `Ok` |
//! | `query` | `GET /Users?filter=…&sortBy=…&sortOrder=…&startIndex=…&count=…` (`cursor=` with RFC 9865 cursors) | `totalResults` from the `ListResponse` |
//!
//! Versions come from the `ETag` header, else `meta.version`. Endpoints come from
//! `/ResourceTypes` (or `User` → `/Users`, `Group` → `/Groups`), overridden by
//! [`endpoints`](ScimTargetConfig::endpoints).
//!
//! # Errors
//!
//! Every failure is a classified [`Error`](crate::Error) whose text names the request
//! (`PATCH /Users/42`), the status and the server's SCIM error (`scimType`, `detail`):
//!
//! - 401, 403 → [`Fatal`](crate::ErrorKind::Fatal): bad credentials quarantine the job; so
//!   does a 404 on a collection endpoint (a wrong base URL);
//! - 409, or 400 with `scimType` `uniqueness` → [`Uniqueness`](crate::ErrorKind::Uniqueness);
//! - 412 → [`VersionConflict`](crate::ErrorKind::VersionConflict); 404 on `patch` and `replace`
//!   → [`NotFound`](crate::ErrorKind::NotFound);
//! - other 4xx → [`Permanent`](crate::ErrorKind::Permanent); a body that is not JSON or not
//!   the expected shape is permanent too, naming the request and what was wrong;
//! - 5xx, 408, timeouts and connection failures → [`Temporary`](crate::ErrorKind::Temporary)
//!   (a GET, PUT or DELETE whose connection broke before the answer — a kept-alive
//!   connection the server had closed — is first sent once more; a POST or PATCH never is);
//! - 429 and 503 are retried here, waiting what `Retry-After` says (seconds or an HTTP date)
//!   or an exponential backoff with jitter, up to the [`RetryPolicy`]; then they are
//!   `Temporary` with [`retry_after`](crate::Error::retry_after) set.
//!
//! Secrets live in [`Secret`], whose `Debug` and `Display` print `[redacted]`; no error
//! carries a request header, and anything a server echoes back has the secrets scrubbed out.

mod config;
mod discovery;
mod errors;
mod http;
mod query;
mod target;
mod wire;

pub use config::{RetryPolicy, ScimAuth, ScimTargetConfig, Secret};
pub use discovery::Discovery;
pub use target::ScimTarget;
