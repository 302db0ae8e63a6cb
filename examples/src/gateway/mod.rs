//! A SCIM 2.0 service (RFC 7644) in front of any [`TargetConnector`]: the gateway that
//! `idflow serve` runs over a [`MemoryDirectory`](connectors::MemoryDirectory).
//!
//! [`router`] turns a [`Gateway`] into an [`axum::Router`] serving, under [`BASE_PATH`]
//! (`/scim/v2`):
//!
//! | path | methods |
//! |---|---|
//! | `/Users`, `/Groups` (one endpoint per [`ResourceType`]) | `GET` (list: `filter`, `sortBy`, `sortOrder`, `startIndex`, `count`, `attributes`, `excludedAttributes`), `POST` (create) |
//! | `/Users/{id}`, `/Groups/{id}` | `GET`, `PUT`, `PATCH`, `DELETE` |
//! | `/Users/.search`, `/.search` | `POST` a `SearchRequest` |
//! | `/Bulk` | `POST` a `BulkRequest` (`bulkId` references, `failOnErrors`) |
//! | `/ServiceProviderConfig`, `/ResourceTypes[/{name}]`, `/Schemas[/{urn}]` | `GET` |
//!
//! and, beside it when [`Gateway::with_inbound`] configures one, the API-driven inbound
//! endpoint of Entra's shape: `POST /bulkUpload`, `GET /bulkUpload/{receiptId}` ([`Inbound`]).
//!
//! # Behaviour
//!
//! - Responses are `application/scim+json`; request bodies may be `application/scim+json` or
//!   `application/json` (another `Content-Type` is 415).
//! - Every failure is an RFC 7644 §3.12 Error (`schemas`, `status` as a string, `scimType`,
//!   `detail`): 400 for bad JSON (`invalidSyntax`), filters (`invalidFilter`), paths
//!   (`invalidPath`), values (`invalidValue`, `noTarget`, `mutability`); 401 without the bearer
//!   token (with `WWW-Authenticate: Bearer`); 404; 405 (with `Allow`); 409 `uniqueness`; 412
//!   when `If-Match` names another version; 413 over the payload limit or Bulk's
//!   `maxOperations`; 415; 501 for what the target cannot do. The target's errors are mapped
//!   in one place (`errors.rs`). No request can make it panic.
//! - Resources carry `meta` (`resourceType`, `created`, `lastModified`, `location`,
//!   `version`) and an `ETag` header; `If-None-Match` on GET answers 304, `If-Match` on
//!   PUT/PATCH/DELETE is passed to the target, which refuses a stale write atomically (412).
//! - POST answers 201 with `Location`; PATCH answers 200 with the resource (subject to
//!   `attributes`/`excludedAttributes`), which Entra and RFC 7644 §3.5.2 both accept.
//! - `readOnly` attributes in POST and PUT bodies (`id`, `meta`, `groups`, …) are ignored, as
//!   RFC 7644 §3.3 and §3.5.1 say; the rest is checked against the gateway's schemas
//!   ([`Gateway::with_registry`], which should be the target's) before the target sees it.
//!   Attributes whose `returned` is `never` (`password`) never leave the gateway.
//! - One log line per request ([`RequestLog`]): method, path and query (secret-looking values
//!   redacted), status, milliseconds. The bearer token is compared in constant time and never
//!   logged.
//!
//! ```
//! use std::sync::Arc;
//! use connectors::MemoryDirectory;
//! use idflow_examples::gateway::{self, BearerToken, Gateway, RequestLog};
//!
//! let directory = MemoryDirectory::new();
//! let app: axum::Router = gateway::router(
//!     Gateway::new(Arc::new(directory.clone()))
//!         .with_registry(directory.registry().clone())
//!         .with_token(BearerToken::new("s3cret").unwrap())
//!         .with_log(RequestLog::Off),
//! );
//! // axum::serve(listener, app) serves it.
//! # let _ = app;
//! ```

mod auth;
mod bulk;
mod discovery;
mod errors;
mod etag;
mod extract;
mod inbound;
mod log;
mod ops;
mod projection;
mod resources;
mod respond;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};
use connectors::{ObjectType, TargetCapabilities, TargetConnector};
use http::{HeaderMap, Method};
use scim_model::schema::{Attribute, Schema, common_attributes};
use scim_model::{GROUP_SCHEMA, SchemaRegistry, USER_SCHEMA};

pub use auth::BearerToken;
pub use inbound::Inbound;
pub use log::RequestLog;

use errors::ApiError;

/// Where the SCIM service is mounted: `http://host:port/scim/v2/Users`, ….
pub const BASE_PATH: &str = "/scim/v2";

/// The sizes the gateway accepts and advertises in `/ServiceProviderConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayLimits {
    /// The largest request body, in bytes (Bulk's `maxPayloadSize`); default 1 MiB.
    pub max_payload_bytes: usize,
    /// The most operations in one Bulk request (`maxOperations`); default 1000.
    pub max_bulk_operations: usize,
    /// The most resources in one list response (`filter.maxResults`); default 1000, and
    /// never more than the target's largest page.
    pub max_results: usize,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        GatewayLimits {
            max_payload_bytes: 1024 * 1024,
            max_bulk_operations: 1000,
            max_results: 1000,
        }
    }
}

impl GatewayLimits {
    /// Sets the largest request body.
    pub fn with_max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// Sets the most operations in one Bulk request.
    pub fn with_max_bulk_operations(mut self, n: usize) -> Self {
        self.max_bulk_operations = n;
        self
    }

    /// Sets the most resources in one list response.
    pub fn with_max_results(mut self, n: usize) -> Self {
        self.max_results = n.max(1);
        self
    }
}

/// An extension schema of a [`ResourceType`] (RFC 7643 §6 `schemaExtensions`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaExtension {
    /// The extension's URN.
    pub schema: String,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// A resource type the gateway serves (RFC 7643 §6): which object type of the target, at which
/// endpoint, with which schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceType {
    /// The target's object type.
    pub object_type: ObjectType,
    /// The resource type's name (`User`).
    pub name: String,
    /// Its endpoint, relative to the base URL (`/Users`).
    pub endpoint: String,
    /// A description.
    pub description: String,
    /// The URN of its base schema.
    pub schema: String,
    /// Its extension schemas.
    pub extensions: Vec<SchemaExtension>,
}

impl ResourceType {
    /// A resource type named after `object_type`, at `endpoint` (`/Devices`), whose base schema
    /// is `schema`.
    pub fn new(
        object_type: ObjectType,
        endpoint: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        let name = object_type.as_str().to_owned();
        let mut endpoint = endpoint.into();
        if !endpoint.starts_with('/') {
            endpoint.insert(0, '/');
        }
        ResourceType {
            description: name.clone(),
            name,
            object_type,
            endpoint,
            schema: schema.into(),
            extensions: Vec::new(),
        }
    }

    /// Users at `/Users` (RFC 7643 §4.1), without extensions.
    pub fn user() -> Self {
        ResourceType::new(ObjectType::USER, "/Users", USER_SCHEMA).with_description("User Account")
    }

    /// Groups at `/Groups` (RFC 7643 §4.2).
    pub fn group() -> Self {
        ResourceType::new(ObjectType::GROUP, "/Groups", GROUP_SCHEMA).with_description("Group")
    }

    /// Adds an extension schema.
    pub fn with_extension(mut self, schema: impl Into<String>, required: bool) -> Self {
        self.extensions.push(SchemaExtension {
            schema: schema.into(),
            required,
        });
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

/// The settings of a gateway; [`router`] serves it.
#[derive(Debug)]
pub struct Gateway {
    target: Arc<dyn TargetConnector>,
    registry: SchemaRegistry,
    token: Option<BearerToken>,
    limits: GatewayLimits,
    public_url: Option<String>,
    log: RequestLog,
    types: Vec<ResourceType>,
    inbound: Option<Inbound>,
}

impl Gateway {
    /// A gateway in front of `target`, with the RFC 7643 schemas, no authentication, the
    /// default limits, and a log on stderr. It serves `/Users` and `/Groups` when the target
    /// holds those object types (see [`Gateway::with_resource_type`] for others).
    pub fn new(target: Arc<dyn TargetConnector>) -> Self {
        Gateway {
            target,
            registry: SchemaRegistry::default(),
            token: None,
            limits: GatewayLimits::default(),
            public_url: None,
            log: RequestLog::default(),
            types: Vec::new(),
            inbound: None,
        }
    }

    /// The schemas: what `/Schemas` publishes and request bodies are checked against. Use the
    /// target's (e.g. [`MemoryDirectory::registry`](connectors::MemoryDirectory::registry)).
    /// Registered extensions whose URN ends in `:User` or `:Group` become extensions of the
    /// default User and Group resource types.
    pub fn with_registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every request.
    pub fn with_token(mut self, token: BearerToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: GatewayLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The base URL clients reach the service at (`https://scim.example.com/scim/v2`), for
    /// `meta.location` and `Location`. Without it, the request's `Host` header is used
    /// (`http://{host}/scim/v2`), or a relative URL when there is none.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Where the request log goes.
    pub fn with_log(mut self, log: RequestLog) -> Self {
        self.log = log;
        self
    }

    /// Serves the API-driven inbound endpoint, `POST /bulkUpload` and
    /// `GET /bulkUpload/{receiptId}`, beside [`BASE_PATH`] (see [`Inbound`]).
    pub fn with_inbound(mut self, inbound: Inbound) -> Self {
        self.inbound = Some(inbound);
        self
    }

    /// Serves a resource type (replacing the default one of the same object type).
    pub fn with_resource_type(mut self, ty: ResourceType) -> Self {
        self.types.retain(|t| t.object_type != ty.object_type);
        self.types.push(ty);
        self
    }
}

/// A resource type with its schemas looked up.
#[derive(Debug)]
pub(crate) struct TypeInfo {
    pub(crate) spec: ResourceType,
    pub(crate) schema: String,
    pub(crate) base: Option<Schema>,
    pub(crate) extension_schemas: Vec<Schema>,
}

impl TypeInfo {
    pub(crate) fn resolve(spec: ResourceType, registry: &SchemaRegistry) -> Self {
        TypeInfo {
            schema: spec.schema.clone(),
            base: registry.schema(&spec.schema).cloned(),
            extension_schemas: spec
                .extensions
                .iter()
                .filter_map(|e| registry.schema(&e.schema).cloned())
                .collect(),
            spec,
        }
    }

    /// An extension schema of this type by URN (case-insensitively).
    pub(crate) fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extension_schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// A top-level attribute of the base schema, or a common one (`id`, `externalId`, `meta`).
    pub(crate) fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.base
            .as_ref()
            .and_then(|s| s.attribute(name))
            .or_else(|| {
                common_attributes()
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
            })
    }

    /// The endpoint without its slash (`Users`).
    pub(crate) fn segment(&self) -> &str {
        self.spec.endpoint.trim_start_matches('/')
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub(crate) struct Shared(Arc<Inner>);

impl Deref for Shared {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) target: Arc<dyn TargetConnector>,
    pub(crate) registry: SchemaRegistry,
    pub(crate) token: Option<BearerToken>,
    pub(crate) limits: GatewayLimits,
    pub(crate) model_limits: scim_model::Limits,
    pub(crate) public_url: Option<String>,
    pub(crate) log: RequestLog,
    pub(crate) caps: TargetCapabilities,
    /// `filter.maxResults`: the limit, capped by the target's largest page.
    pub(crate) max_results: usize,
    pub(crate) types: Vec<TypeInfo>,
    pub(crate) inbound: Option<Inbound>,
}

impl Shared {
    fn new(g: Gateway) -> Self {
        let caps = g.target.capabilities();
        let mut specs = Vec::new();
        for ty in &caps.object_types {
            if let Some(spec) = g.types.iter().find(|t| t.object_type == *ty) {
                specs.push(spec.clone());
            } else if *ty == ObjectType::USER {
                specs.push(with_registry_extensions(
                    ResourceType::user(),
                    &g.registry,
                    ":User",
                ));
            } else if *ty == ObjectType::GROUP {
                specs.push(with_registry_extensions(
                    ResourceType::group(),
                    &g.registry,
                    ":Group",
                ));
            }
        }
        let max_results = caps
            .max_page_size
            .map_or(g.limits.max_results, |m| m.min(g.limits.max_results))
            .max(1);
        let model_limits = scim_model::Limits::DEFAULT
            .with_max_payload_bytes(g.limits.max_payload_bytes)
            .with_max_bulk_operations(g.limits.max_bulk_operations);
        let types = specs
            .into_iter()
            .map(|s| TypeInfo::resolve(s, &g.registry))
            .collect();
        Shared(Arc::new(Inner {
            target: g.target,
            registry: g.registry,
            token: g.token,
            limits: g.limits,
            model_limits,
            public_url: g.public_url,
            log: g.log,
            caps,
            max_results,
            types,
            inbound: g.inbound,
        }))
    }
}

/// `ty` with every registered extension whose URN ends in `suffix` (`:User`).
fn with_registry_extensions(
    mut ty: ResourceType,
    registry: &SchemaRegistry,
    suffix: &str,
) -> ResourceType {
    for schema in registry.schemas() {
        let id = &schema.id;
        let ends = id.len() > suffix.len()
            && id.is_char_boundary(id.len() - suffix.len())
            && id[id.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
        if ends && !id.eq_ignore_ascii_case(&ty.schema) {
            ty = ty.with_extension(id.clone(), false);
        }
    }
    ty
}

impl Inner {
    /// The resource type served at `/{segment}`.
    pub(crate) fn type_at(&self, segment: &str) -> Result<&TypeInfo, ApiError> {
        self.types
            .iter()
            .find(|t| t.segment().eq_ignore_ascii_case(segment))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "{BASE_PATH}/{} is not an endpoint of this service",
                    respond::excerpt(segment)
                ))
            })
    }

    /// The base URL of the service as the client reached it: the configured public URL, else
    /// `http://{Host}/scim/v2`, else `/scim/v2`.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            });
        match host {
            Some(h) => format!("http://{h}{BASE_PATH}"),
            None => BASE_PATH.to_owned(),
        }
    }
}

/// The gateway as an [`axum::Router`]: the SCIM service at [`BASE_PATH`], the inbound
/// endpoint beside it when configured, authentication and the request log around both.
pub fn router(gateway: Gateway) -> Router {
    let shared = Shared::new(gateway);
    let body_limit = shared.limits.max_payload_bytes;
    let scim = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(get_only),
        )
        .route(
            "/ResourceTypes",
            get(discovery::resource_types).fallback(get_only),
        )
        .route(
            "/ResourceTypes/{name}",
            get(discovery::resource_type).fallback(get_only),
        )
        .route("/Schemas", get(discovery::schemas).fallback(get_only))
        .route("/Schemas/{urn}", get(discovery::schema).fallback(get_only))
        .route("/Bulk", post(bulk::bulk).fallback(post_only))
        .route("/.search", post(resources::search_all).fallback(post_only))
        .route(
            "/{endpoint}",
            get(resources::list)
                .post(resources::create)
                .fallback(collection_methods),
        )
        .route(
            "/{endpoint}/{id}",
            get(resources::get_one)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete)
                .post(resources::post_on_id)
                .fallback(resource_methods),
        );
    let mut app = Router::new().nest(BASE_PATH, scim);
    if shared.inbound.is_some() {
        app = app
            .route("/bulkUpload", post(inbound::upload).fallback(post_only))
            .route(
                "/bulkUpload/{receipt}",
                get(inbound::receipt).fallback(get_only),
            );
    }
    app.fallback(any(not_found))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(shared.clone(), auth::require_token))
        .layer(from_fn_with_state(shared.clone(), log::log_request))
        .with_state(shared)
}

async fn not_found(uri: http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "{} is not an endpoint of this service (the SCIM service is at {BASE_PATH})",
        respond::excerpt(uri.path())
    ))
}

async fn get_only(method: Method) -> ApiError {
    ApiError::method_not_allowed(&method, "GET")
}

async fn post_only(method: Method) -> ApiError {
    ApiError::method_not_allowed(&method, "POST")
}

async fn collection_methods(method: Method) -> ApiError {
    ApiError::method_not_allowed(&method, "GET, POST")
}

async fn resource_methods(method: Method) -> ApiError {
    ApiError::method_not_allowed(&method, "GET, PUT, PATCH, DELETE")
}
