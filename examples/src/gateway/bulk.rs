//! `POST /Bulk` (RFC 7644 §3.7) through scim-model's executor, which resolves `bulkId`
//! references (circular ones too) and stops after `failOnErrors` errors.
//!
//! The executor calls a synchronous handler per operation; the target is async. The whole
//! request runs on a blocking thread (`spawn_blocking`), whose handler waits for each target
//! call with [`Handle::block_on`](tokio::runtime::Handle::block_on) on the server's runtime.
//! No worker thread of the runtime is blocked, so other requests go on meanwhile, and it works
//! on every runtime flavour (unlike `block_in_place`, which panics on a current-thread one):
//! the task that awaits the blocking thread keeps the runtime's drivers running.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use scim_model::message::{BulkMethod, BulkOperation, BulkOptions, BulkOutcome, BulkRequest};
use scim_model::patch::PatchOp;
use scim_model::{Resource, ScimType};
use serde_json::Value;

use super::errors::ApiError;
use super::etag::Condition;
use super::respond::{json_text, scim_json};
use super::{Inner, Shared, TypeInfo, ops};

/// `POST /Bulk`.
pub(crate) async fn bulk(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    // Over maxPayloadSize or maxOperations: 413 (scim-model's errors carry the status).
    let request = BulkRequest::from_json_str(&text, &s.model_limits)?;
    let base = s.base_url(&headers);
    let options = BulkOptions::default().with_base_url(base.clone());
    let handle = tokio::runtime::Handle::current();
    let shared = s.clone();
    let response = tokio::task::spawn_blocking(move || {
        request.execute_with(&options, |op| handle.block_on(run(&shared, op, &base)))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the bulk request stopped: {e}"),
        )
    })?;
    Ok(scim_json(
        StatusCode::OK,
        &serde_json::to_value(&response).unwrap_or(Value::Null),
    ))
}

/// Runs one operation (its `bulkId` references already resolved by the executor).
async fn run(s: &Inner, op: &BulkOperation, base: &str) -> Result<BulkOutcome, ApiError> {
    let (ty, id) = target_of(s, &op.path)?;
    let condition = op.version.clone().map(|v| Condition::Tags(vec![v]));
    let data = || {
        op.data.clone().ok_or_else(|| {
            ApiError::bad_request(
                ScimType::InvalidSyntax,
                format!("{} {}: data is required", op.method, op.path),
            )
        })
    };
    let need_id = || {
        id.clone().ok_or_else(|| {
            ApiError::bad_request(
                ScimType::InvalidValue,
                format!(
                    "{} {}: the path must name a resource ({}/{{id}})",
                    op.method, op.path, ty.spec.endpoint
                ),
            )
        })
    };
    let done = |status: u16, object: connectors::TargetObject| {
        let mut out = BulkOutcome::new(status)
            .with_id(object.id.as_str())
            .with_location(ops::location(base, ty, object.id.as_str()));
        if let Some(v) = object.version {
            out = out.with_version(v.as_str());
        }
        out
    };
    match op.method {
        BulkMethod::Post => {
            if id.is_some() {
                return Err(ApiError::bad_request(
                    ScimType::InvalidValue,
                    format!("POST {}: a POST goes to {}", op.path, ty.spec.endpoint),
                ));
            }
            let resource = Resource::from_value(data()?)?;
            Ok(done(201, ops::create(s, ty, resource).await?))
        }
        BulkMethod::Put => {
            let id = need_id()?;
            let resource = Resource::from_value(data()?)?;
            Ok(done(
                200,
                ops::replace(s, ty, &id, resource, condition).await?,
            ))
        }
        BulkMethod::Patch => {
            let id = need_id()?;
            let patch = PatchOp::from_value_with(&data()?, &s.model_limits)?;
            Ok(done(200, ops::patch(s, ty, &id, &patch, condition).await?))
        }
        BulkMethod::Delete => {
            let id = need_id()?;
            ops::delete(s, ty, &id, condition).await?;
            Ok(BulkOutcome::new(204)
                .with_id(id.as_str())
                .with_location(ops::location(base, ty, &id)))
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("bulk method {} is not supported", op.method),
        )),
    }
}

/// The resource type and id an operation's path names: `/Users` or `/Users/{id}` (the base URL
/// before it is allowed).
fn target_of<'a>(s: &'a Inner, path: &str) -> Result<(&'a TypeInfo, Option<String>), ApiError> {
    let bad = || {
        ApiError::bad_request(
            ScimType::InvalidValue,
            format!(
                "path {:?}: expected /{{endpoint}} or /{{endpoint}}/{{id}}",
                super::respond::excerpt(path)
            ),
        )
    };
    let relative = match path.find(super::BASE_PATH) {
        Some(i) if !path.starts_with('/') || i == 0 => &path[i + super::BASE_PATH.len()..],
        _ => path,
    };
    let mut segments = relative.trim_start_matches('/').split('/');
    let endpoint = segments.next().filter(|e| !e.is_empty()).ok_or_else(bad)?;
    let id = segments.next().map(str::to_owned);
    if segments.next().is_some() || id.as_deref() == Some("") {
        return Err(bad());
    }
    Ok((s.type_at(endpoint)?, id))
}
