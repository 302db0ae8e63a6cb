//! The profile of Entra's API-driven inbound provisioning endpoint (`/bulkUpload`): a SCIM
//! Bulk request restricted to creating-or-updating users.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{BULK_REQUEST_SCHEMA, BulkMethod, BulkRequest, json_kind};
use crate::resource::{get_ci, is_urn};
use crate::{ENTERPRISE_USER_SCHEMA, Error, Result, ScimType, USER_SCHEMA};

/// The media type of SCIM messages (RFC 7644 §3.1), required by the inbound endpoint.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Checks a `Content-Type` header value: the media type must be `application/scim+json` (in
/// any case); parameters are allowed, but a `charset` other than UTF-8 is refused (JSON text
/// is UTF-8, RFC 8259 §8.1).
///
/// A missing header is the usual cause of a 400 from `/bulkUpload`; a host passes `""` for it.
///
/// ```
/// use scim_model::message::check_content_type;
///
/// assert!(check_content_type("application/scim+json").is_ok());
/// assert!(check_content_type("Application/SCIM+JSON; charset=\"utf-8\"").is_ok());
/// assert!(check_content_type("application/json").is_err());
/// assert!(check_content_type("application/scim+json; charset=latin1").is_err());
/// ```
pub fn check_content_type(value: &str) -> Result<()> {
    let bad = |message: String| Error::InvalidSyntax {
        context: "Content-Type".to_owned(),
        message,
    };
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    if media_type.is_empty() {
        return Err(bad(format!("is missing; it must be {SCIM_CONTENT_TYPE}")));
    }
    if !media_type.eq_ignore_ascii_case(SCIM_CONTENT_TYPE) {
        return Err(bad(format!(
            "must be {SCIM_CONTENT_TYPE}, found {:?}",
            crate::error::excerpt(media_type)
        )));
    }
    for parameter in parts {
        let Some((name, val)) = parameter.split_once('=') else {
            if parameter.trim().is_empty() {
                continue;
            }
            return Err(bad(format!(
                "malformed parameter {:?}",
                crate::error::excerpt(parameter.trim())
            )));
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = val.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(bad(format!(
                    "charset must be utf-8, found {:?}",
                    crate::error::excerpt(charset)
                )));
            }
        }
    }
    Ok(())
}

/// The rules of API-driven inbound provisioning (Entra's `/bulkUpload`), checked on a
/// [`BulkRequest`] that has been read.
///
/// [`InboundProfile::validate`] reports every violation, not only the first:
/// - `schemas` lists `urn:ietf:params:scim:api:messages:2.0:BulkRequest`;
/// - at most [`InboundProfile::max_operations`] operations (50);
/// - each operation: `method` is POST; `path` is exactly `/Users`; `bulkId` is present,
///   non-empty and unique in the request; `data` is a JSON object whose `schemas` lists the
///   core User and the enterprise User schemas; every extension block in `data` (a key that is
///   a URN, such as `urn:ietf:params:scim:schemas:extension:contoso:1.0:User`) is an object and
///   is listed in `data.schemas` (the service processes only listed namespaces);
/// - `data.externalId` is a non-empty string, unique in the request, when
///   [`InboundProfile::require_external_id`] is set (the default). It is the source's unique
///   id, which the service matches to `employeeId` by default; the matching attribute can be
///   changed in the job, so a host whose job matches on something else can turn this off.
///
/// Each violation of an operation is an [`Error::BulkOperation`] naming its index and field
/// (`method`, `path`, `bulkId`, `data`, `data.schemas`, `data.externalId`, `data.<URN>`), with
/// `scimType` `invalidValue` (`invalidSyntax` for a `data` that is not an object). Violations
/// of the request are [`Error::InvalidSyntax`] (`BulkRequest.schemas`) and [`Error::TooMany`]
/// (`operations`).
///
/// `failOnErrors` may have any value (Entra's samples send `null`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundProfile {
    /// The most operations in one request (50).
    pub max_operations: usize,
    /// Whether each operation's `data.externalId` is required (default `true`).
    pub require_external_id: bool,
}

impl Default for InboundProfile {
    fn default() -> Self {
        InboundProfile {
            max_operations: 50,
            require_external_id: true,
        }
    }
}

/// Checks `request` against the default [`InboundProfile`].
///
/// ```
/// use scim_model::message::{validate_inbound, BulkRequest};
///
/// let req: BulkRequest = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
///     "Operations": [{"method": "PUT", "path": "/Users", "bulkId": "701984",
///         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
///                              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
///                  "externalId": "701984", "userName": "bjensen@example.com"}}]
/// }"#).unwrap();
/// let errors = validate_inbound(&req);
/// assert_eq!(errors.len(), 1);
/// assert_eq!(errors[0].to_string(), "operation 0: method: must be POST, found PUT");
/// ```
pub fn validate_inbound(request: &BulkRequest) -> Vec<Error> {
    InboundProfile::default().validate(request)
}

impl InboundProfile {
    /// The default profile (50 operations, `externalId` required).
    pub fn new() -> Self {
        InboundProfile::default()
    }

    /// Sets the most operations in one request.
    pub fn with_max_operations(mut self, n: usize) -> Self {
        self.max_operations = n;
        self
    }

    /// Sets whether `data.externalId` is required.
    pub fn with_require_external_id(mut self, required: bool) -> Self {
        self.require_external_id = required;
        self
    }

    /// Every violation of the profile in `request`, in order (request-level first, then by
    /// operation). Empty when the request is acceptable.
    pub fn validate(&self, request: &BulkRequest) -> Vec<Error> {
        let mut errors = Vec::new();
        if !request
            .schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
        {
            errors.push(Error::InvalidSyntax {
                context: "BulkRequest.schemas".to_owned(),
                message: format!("must list {BULK_REQUEST_SCHEMA}"),
            });
        }
        if request.operations.len() > self.max_operations {
            errors.push(Error::TooMany {
                what: "operations",
                count: request.operations.len(),
                max: self.max_operations,
            });
        }
        let mut bulk_ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut external_ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, op) in request.operations.iter().enumerate() {
            let mut error = |field: &str, message: String, scim_type: ScimType| {
                errors.push(Error::BulkOperation {
                    index,
                    field: field.to_owned(),
                    message,
                    scim_type,
                });
            };
            let invalid = ScimType::InvalidValue;
            if op.method != BulkMethod::Post {
                error(
                    "method",
                    format!("must be POST, found {}", op.method),
                    invalid.clone(),
                );
            }
            if op.path != "/Users" {
                error(
                    "path",
                    format!(
                        "must be \"/Users\", found {:?}",
                        crate::error::excerpt(&op.path)
                    ),
                    invalid.clone(),
                );
            }
            match op.bulk_id.as_deref() {
                None | Some("") => error("bulkId", "is required".to_owned(), invalid.clone()),
                Some(id) => {
                    if let Some(first) = bulk_ids.get(id) {
                        error(
                            "bulkId",
                            format!(
                                "{:?} is also used by operation {first}; bulkIds must be unique",
                                crate::error::excerpt(id)
                            ),
                            invalid.clone(),
                        );
                    } else {
                        bulk_ids.insert(id, index);
                    }
                }
            }
            let data = match &op.data {
                None => {
                    error("data", "is required".to_owned(), invalid.clone());
                    continue;
                }
                Some(Value::Object(data)) => data,
                Some(other) => {
                    error(
                        "data",
                        format!("must be a JSON object (a User), found {}", json_kind(other)),
                        ScimType::InvalidSyntax,
                    );
                    continue;
                }
            };
            let schemas: Vec<&str> = match get_ci(data, "schemas") {
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                    items.iter().filter_map(Value::as_str).collect()
                }
                None | Some(Value::Null) => {
                    error("data.schemas", "is required".to_owned(), invalid.clone());
                    Vec::new()
                }
                Some(_) => {
                    error(
                        "data.schemas",
                        "must be a list of strings".to_owned(),
                        invalid.clone(),
                    );
                    Vec::new()
                }
            };
            let listed = |urn: &str| schemas.iter().any(|s| s.eq_ignore_ascii_case(urn));
            if !schemas.is_empty() {
                for required in [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] {
                    if !listed(required) {
                        error(
                            "data.schemas",
                            format!("must list {required}"),
                            invalid.clone(),
                        );
                    }
                }
            }
            for (key, value) in data.iter().filter(|(k, _)| is_urn(k)) {
                let field = format!("data.{key}");
                if !value.is_object() {
                    error(
                        &field,
                        format!(
                            "an extension block must be a JSON object, found {}",
                            json_kind(value)
                        ),
                        invalid.clone(),
                    );
                } else if !listed(key) {
                    error(
                        &field,
                        "the extension is not listed in data.schemas, so its attributes would be ignored"
                            .to_owned(),
                        invalid.clone(),
                    );
                }
            }
            match get_ci(data, "externalId") {
                None | Some(Value::Null) => {
                    if self.require_external_id {
                        error(
                            "data.externalId",
                            "is required: it is the source's unique id of the user".to_owned(),
                            invalid.clone(),
                        );
                    }
                }
                Some(Value::String(id)) if id.trim().is_empty() => {
                    error(
                        "data.externalId",
                        "must not be empty".to_owned(),
                        invalid.clone(),
                    );
                }
                Some(Value::String(id)) => {
                    if let Some(first) = external_ids.get(id.as_str()) {
                        error(
                            "data.externalId",
                            format!(
                                "{:?} is also used by operation {first}; each user may appear once",
                                crate::error::excerpt(id)
                            ),
                            invalid.clone(),
                        );
                    } else {
                        external_ids.insert(id, index);
                    }
                }
                Some(other) => {
                    error(
                        "data.externalId",
                        format!("must be a string, found {}", json_kind(other)),
                        invalid.clone(),
                    );
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_checks() {
        assert!(check_content_type("application/scim+json;charset=UTF-8").is_ok());
        assert!(check_content_type("application/scim+json; ").is_ok());
        assert!(check_content_type("application/scim+json; profile=x").is_ok());
        let err = check_content_type("").unwrap_err();
        assert!(err.to_string().contains("is missing"), "{err}");
        assert_eq!(err.status(), 400);
        assert!(check_content_type("application/scim+json; junk").is_err());
        assert!(check_content_type("text/plain").is_err());
    }
}
