//! The discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`,
//! `/Schemas`. What they say is what the gateway and its target do.

use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use scim_model::message::ListResponse;
use scim_model::schema::Schema;
use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::extract::Segments;
use super::respond::scim_json;
use super::{Inner, Shared, TypeInfo};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `GET /ServiceProviderConfig` (RFC 7643 §5).
pub(crate) async fn service_provider_config(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Response {
    let base = s.base_url(&headers);
    let schemes = if s.token.is_some() {
        json!([{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header (RFC 6750)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }])
    } else {
        json!([])
    };
    let caps = &s.caps;
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "patch": {"supported": caps.patch},
            "bulk": {
                "supported": true,
                "maxOperations": s.limits.max_bulk_operations,
                "maxPayloadSize": s.limits.max_payload_bytes
            },
            "filter": {"supported": caps.filter, "maxResults": s.max_results},
            "changePassword": {"supported": false},
            "sort": {"supported": caps.sort},
            "etag": {"supported": caps.etag},
            "authenticationSchemes": schemes,
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig")
            }
        }),
    )
}

fn resource_type_doc(ty: &TypeInfo, base: &str) -> Value {
    let extensions: Vec<Value> = ty
        .spec
        .extensions
        .iter()
        .map(|e| json!({"schema": e.schema, "required": e.required}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": ty.spec.name,
        "name": ty.spec.name,
        "description": ty.spec.description,
        "endpoint": ty.spec.endpoint,
        "schema": ty.schema,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", ty.spec.name)
        }
    })
}

fn list(items: Vec<Value>) -> Response {
    let n = items.len() as u64;
    let page = ListResponse::page(items, n, 1);
    scim_json(
        StatusCode::OK,
        &serde_json::to_value(&page).unwrap_or(Value::Null),
    )
}

/// `GET /ResourceTypes`.
pub(crate) async fn resource_types(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let base = s.base_url(&headers);
    list(
        s.types
            .iter()
            .map(|t| resource_type_doc(t, &base))
            .collect(),
    )
}

/// `GET /ResourceTypes/{name}`.
pub(crate) async fn resource_type(
    State(s): State<Shared>,
    Segments(name): Segments<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = s.base_url(&headers);
    s.types
        .iter()
        .find(|t| t.spec.name.eq_ignore_ascii_case(&name))
        .map(|t| scim_json(StatusCode::OK, &resource_type_doc(t, &base)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no resource type {:?}",
                super::respond::excerpt(&name)
            ))
        })
}

/// The schemas of the served resource types, base schemas first, each once.
fn served_schemas(s: &Inner) -> Vec<&Schema> {
    let mut out: Vec<&Schema> = Vec::new();
    let all = s
        .types
        .iter()
        .filter_map(|t| t.base.as_ref())
        .chain(s.types.iter().flat_map(|t| t.extension_schemas.iter()));
    for schema in all {
        if !out.iter().any(|o| o.id.eq_ignore_ascii_case(&schema.id)) {
            out.push(schema);
        }
    }
    out
}

fn schema_doc(schema: &Schema, base: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".to_owned(), json!([SCHEMA_SCHEMA]));
    if let Ok(Value::Object(fields)) = serde_json::to_value(schema) {
        doc.extend(fields);
    }
    doc.insert(
        "meta".to_owned(),
        json!({
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{}", schema.id)
        }),
    );
    Value::Object(doc)
}

/// `GET /Schemas`.
pub(crate) async fn schemas(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let base = s.base_url(&headers);
    list(
        served_schemas(&s)
            .into_iter()
            .map(|schema| schema_doc(schema, &base))
            .collect(),
    )
}

/// `GET /Schemas/{urn}`.
pub(crate) async fn schema(
    State(s): State<Shared>,
    Segments(urn): Segments<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = s.base_url(&headers);
    served_schemas(&s)
        .into_iter()
        .find(|schema| schema.id.eq_ignore_ascii_case(&urn))
        .map(|schema| scim_json(StatusCode::OK, &schema_doc(schema, &base)))
        .ok_or_else(|| {
            ApiError::not_found(format!("no schema {:?}", super::respond::excerpt(&urn)))
        })
}
