//! The resource operations behind both the HTTP handlers and Bulk: what is sent to the target,
//! and how its objects are presented.

use connectors::{TargetId, TargetObject, Version};
use http::StatusCode;
use scim_model::patch::PatchOp;
use scim_model::schema::{Attribute, Mutability, Operation};
use scim_model::{Resource, ScimType};
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::etag::Condition;
use super::projection::Projection;
use super::{Inner, TypeInfo};

/// Creates a resource of type `ty`.
pub(crate) async fn create(
    s: &Inner,
    ty: &TypeInfo,
    resource: Resource,
) -> Result<TargetObject, ApiError> {
    let r = incoming(s, ty, resource)?;
    Ok(s.target.create(&ty.spec.object_type, &r, None).await?)
}

/// Replaces resource `id` (PUT).
pub(crate) async fn replace(
    s: &Inner,
    ty: &TypeInfo,
    id: &str,
    resource: Resource,
    condition: Option<Condition>,
) -> Result<TargetObject, ApiError> {
    if !s.caps.replace {
        return Err(not_implemented(s, "PUT"));
    }
    let r = incoming(s, ty, resource)?;
    let id = TargetId::new(id);
    let version = precondition(s, ty, &id, condition).await?;
    Ok(s.target
        .replace(&ty.spec.object_type, &id, &r, version.as_ref())
        .await?)
}

/// Applies a PATCH to resource `id`; the target applies it atomically.
pub(crate) async fn patch(
    s: &Inner,
    ty: &TypeInfo,
    id: &str,
    patch: &PatchOp,
    condition: Option<Condition>,
) -> Result<TargetObject, ApiError> {
    if !s.caps.patch {
        return Err(not_implemented(s, "PATCH"));
    }
    let id = TargetId::new(id);
    let version = precondition(s, ty, &id, condition).await?;
    Ok(s.target
        .patch(&ty.spec.object_type, &id, patch, version.as_ref())
        .await?)
}

/// Deletes resource `id`; one that does not exist is 404 (RFC 7644 §3.6).
pub(crate) async fn delete(
    s: &Inner,
    ty: &TypeInfo,
    id: &str,
    condition: Option<Condition>,
) -> Result<(), ApiError> {
    let id = TargetId::new(id);
    let version = match condition {
        None | Some(Condition::Any) => {
            get(s, ty, id.as_str()).await?;
            None
        }
        c => precondition(s, ty, &id, c).await?,
    };
    Ok(s.target
        .delete(&ty.spec.object_type, &id, version.as_ref())
        .await?)
}

/// Resource `id`, or 404.
pub(crate) async fn get(s: &Inner, ty: &TypeInfo, id: &str) -> Result<TargetObject, ApiError> {
    s.target
        .get(&ty.spec.object_type, &TargetId::new(id))
        .await?
        .ok_or_else(|| not_found(ty, id))
}

pub(crate) fn not_found(ty: &TypeInfo, id: &str) -> ApiError {
    ApiError::not_found(format!(
        "{} {:?} not found",
        ty.spec.name,
        super::respond::excerpt(id)
    ))
}

fn not_implemented(s: &Inner, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("{what} is not supported by the target {}", s.target.name()),
    )
}

/// The version to hand the target for an `If-Match` condition. One entity tag is passed as
/// it is (the target compares it atomically with the write); `*` needs only an existing
/// object; a list of tags is matched against the current version, whose tag is then passed.
async fn precondition(
    s: &Inner,
    ty: &TypeInfo,
    id: &TargetId,
    condition: Option<Condition>,
) -> Result<Option<Version>, ApiError> {
    match condition {
        None => Ok(None),
        Some(Condition::Tags(tags)) if tags.len() == 1 => {
            Ok(tags.into_iter().next().map(Version::new))
        }
        Some(c) => {
            let current = get(s, ty, id.as_str()).await?;
            match (&c, current.version) {
                (Condition::Any, _) => Ok(None),
                (_, Some(v)) if c.matches(v.as_str()) => Ok(Some(v)),
                (_, v) => Err(ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    format!(
                        "{} {:?} is at version {}, which If-Match does not name",
                        ty.spec.name,
                        id.as_str(),
                        v.as_ref().map_or("(none)", Version::as_str)
                    ),
                )),
            }
        }
    }
}

/// A resource a client sent (POST, PUT, Bulk) made ready for the target: `schemas` defaulted
/// to the endpoint's, the endpoint's base schema required in it, `readOnly` attributes dropped
/// (RFC 7644 §3.3, §3.5.1: they "SHALL be ignored"), and the rest checked against the
/// schemas.
pub(crate) fn incoming(s: &Inner, ty: &TypeInfo, resource: Resource) -> Result<Resource, ApiError> {
    let mut obj = resource.into_object();
    if scim_model::get_ci(&obj, "schemas").is_none() {
        let mut urns = vec![Value::String(ty.schema.clone())];
        for ext in &ty.extension_schemas {
            if scim_model::get_ci(&obj, &ext.id).is_some() {
                urns.push(Value::String(ext.id.clone()));
            }
        }
        obj.insert("schemas".to_owned(), Value::Array(urns));
    }
    strip_read_only(&mut obj, ty);
    let r = Resource::from_object(obj)?;
    if !r.has_schema(&ty.schema) {
        return Err(ApiError::bad_request(
            ScimType::InvalidValue,
            format!(
                "schemas: a resource sent to {} must list {}",
                ty.spec.endpoint, ty.schema
            ),
        ));
    }
    let issues = s.registry.validate(&r, Operation::Create);
    if let Some(first) = issues.first() {
        let mut detail = issues
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        if issues.len() > 5 {
            detail.push_str(&format!("; and {} more", issues.len() - 5));
        }
        let status =
            StatusCode::from_u16(first.scim_type.status()).unwrap_or(StatusCode::BAD_REQUEST);
        return Err(ApiError::new(status, detail).with_scim_type(first.scim_type.clone()));
    }
    Ok(r)
}

/// Drops `id`, `meta` and every `readOnly` attribute and sub-attribute.
fn strip_read_only(obj: &mut Map<String, Value>, ty: &TypeInfo) {
    obj.retain(|k, _| !k.eq_ignore_ascii_case("id") && !k.eq_ignore_ascii_case("meta"));
    if let Some(base) = &ty.base {
        strip_in(obj, &base.attributes);
    }
    for ext in &ty.extension_schemas {
        if let Some(Value::Object(block)) = scim_model::get_ci_mut(obj, &ext.id) {
            strip_in(block, &ext.attributes);
        }
    }
}

fn strip_in(map: &mut Map<String, Value>, defs: &[Attribute]) {
    for def in defs {
        let Some(key) = map
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&def.name))
            .cloned()
        else {
            continue;
        };
        if def.mutability == Mutability::ReadOnly {
            map.remove(&key);
            continue;
        }
        if def.sub_attributes.is_empty() {
            continue;
        }
        match map.get_mut(&key) {
            Some(Value::Object(o)) => strip_in(o, &def.sub_attributes),
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        strip_in(o, &def.sub_attributes);
                    }
                }
            }
            _ => {}
        }
    }
}

/// An object as the client sees it: `meta` completed (`resourceType`, `location`,
/// `version`), then projected.
pub(crate) fn present(
    object: TargetObject,
    ty: &TypeInfo,
    base_url: &str,
    projection: &Projection,
) -> Value {
    let id = object.id.as_str().to_owned();
    let mut obj = object.resource.into_object();
    if scim_model::get_ci(&obj, "id").is_none() {
        obj.insert("id".to_owned(), Value::String(id.clone()));
    }
    let location = location(base_url, ty, &id);
    let meta = match scim_model::get_ci_mut(&mut obj, "meta") {
        Some(Value::Object(m)) => m,
        _ => {
            obj.insert("meta".to_owned(), Value::Object(Map::new()));
            match obj.get_mut("meta") {
                Some(Value::Object(m)) => m,
                _ => return Value::Object(obj),
            }
        }
    };
    if scim_model::get_ci(meta, "resourceType").is_none() {
        meta.insert(
            "resourceType".to_owned(),
            Value::String(ty.spec.name.clone()),
        );
    }
    scim_model::insert_ci(meta, "location", Value::String(location));
    if let Some(v) = &object.version
        && scim_model::get_ci(meta, "version").is_none()
    {
        meta.insert("version".to_owned(), Value::String(v.as_str().to_owned()));
    }
    if !projection.is_default() || ty.base.is_some() {
        projection.apply(&mut obj, ty);
    }
    Value::Object(obj)
}

/// The URL of resource `id` of type `ty`.
pub(crate) fn location(base_url: &str, ty: &TypeInfo, id: &str) -> String {
    format!("{base_url}{}/{id}", ty.spec.endpoint)
}
