//! The RFC 7644 §3.7 Bulk request and response.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{
    BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, Fields, ScimError, deserialize_via_from_value,
    json_kind, status_as_string,
};
use crate::{Error, Limits, Result, ScimType};

/// The HTTP method of one Bulk operation.
///
/// Read case-insensitively (`"post"`, `"Post"`), written in upper case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BulkMethod {
    /// Create a resource.
    Post,
    /// Replace a resource.
    Put,
    /// Modify a resource (the data is a `PatchOp`).
    Patch,
    /// Delete a resource.
    Delete,
}

impl BulkMethod {
    /// The wire spelling: `POST`, `PUT`, `PATCH` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for BulkMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BulkMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| Error::InvalidValue {
            path: "method".to_owned(),
            message: format!("expected POST, PUT, PATCH or DELETE, found {s:?}"),
        })
    }
}

impl Serialize for BulkMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(<D::Error as serde::de::Error>::custom)
    }
}

/// One operation of a [`BulkRequest`]: an HTTP request against a resource endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkOperation {
    /// The HTTP method.
    pub method: BulkMethod,
    /// The client's temporary identifier of the resource a POST creates; other operations
    /// reference it as `"bulkId:<bulkId>"`. RFC 7644 requires it on POST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource version the operation expects (`If-Match`), e.g. `W/"3694e05e9dff591"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource endpoint, relative to the service's base URL: `/Users` for a POST,
    /// `/Users/{id}` otherwise.
    pub path: String,
    /// The request body: the resource for POST and PUT, the `PatchOp` for PATCH, none for
    /// DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl BulkOperation {
    /// An operation with the given method and path, without data.
    pub fn new(method: BulkMethod, path: impl Into<String>) -> Self {
        BulkOperation {
            method,
            bulk_id: None,
            version: None,
            path: path.into(),
            data: None,
        }
    }

    /// A POST of `data` to `path` with a `bulkId`.
    pub fn post(path: impl Into<String>, bulk_id: impl Into<String>, data: Value) -> Self {
        BulkOperation::new(BulkMethod::Post, path)
            .with_bulk_id(bulk_id)
            .with_data(data)
    }

    /// Sets the `bulkId`.
    pub fn with_bulk_id(mut self, bulk_id: impl Into<String>) -> Self {
        self.bulk_id = Some(bulk_id.into());
        self
    }

    /// Sets the `version`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Reads operation `index` of a request.
    fn from_value(index: usize, value: Value) -> Result<Self> {
        let bad = |field: &str, message: String| Error::BulkOperation {
            index,
            field: field.to_owned(),
            message,
            scim_type: ScimType::InvalidSyntax,
        };
        let mut f = match Fields::new(format!("BulkRequest.Operations[{index}]"), value) {
            Ok(f) => f,
            Err(e) => return Err(bad("", error_message(e))),
        };
        let method = match f
            .string("method")
            .map_err(|e| bad("method", error_message(e)))?
        {
            None => return Err(bad("method", "is required".to_owned())),
            Some(m) => m.parse::<BulkMethod>().map_err(|_| {
                bad(
                    "method",
                    format!("expected POST, PUT, PATCH or DELETE, found {m:?}"),
                )
            })?,
        };
        let bulk_id = f
            .string("bulkId")
            .map_err(|e| bad("bulkId", error_message(e)))?;
        let version = f
            .string("version")
            .map_err(|e| bad("version", error_message(e)))?;
        let path = f
            .string("path")
            .map_err(|e| bad("path", error_message(e)))?
            .ok_or_else(|| bad("path", "is required".to_owned()))?;
        let data = f.take("data");
        Ok(BulkOperation {
            method,
            bulk_id,
            version,
            path,
            data,
        })
    }
}

/// The message of an `InvalidSyntax` error without its context (the caller names it).
fn error_message(e: Error) -> String {
    match e {
        Error::InvalidSyntax { message, .. } => message,
        other => other.to_string(),
    }
}

/// A Bulk request (RFC 7644 §3.7): a list of operations, and how many errors the client
/// accepts before the service stops (`failOnErrors`).
///
/// Read it with [`BulkRequest::from_json_str`], which enforces the `maxPayloadSize` and
/// `maxOperations` limits before anything else; run it with
/// [`BulkRequest::execute`](BulkRequest::execute), which resolves `bulkId` references.
///
/// ```
/// use scim_model::message::{BulkMethod, BulkRequest};
/// use scim_model::Limits;
///
/// let req = BulkRequest::from_json_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
///     "Operations": [{"method": "post", "path": "/Users", "bulkId": "qwerty",
///                     "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///                              "userName": "Alice"}}]
/// }"#, &Limits::DEFAULT).unwrap();
/// assert_eq!(req.operations[0].method, BulkMethod::Post);
///
/// let too_many = Limits::DEFAULT.with_max_bulk_operations(0);
/// let err = BulkRequest::from_json_str(r#"{"Operations": [{"method": "DELETE", "path": "/Users/1"}]}"#, &too_many)
///     .unwrap_err();
/// assert!(err.to_string().contains("too many operations"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`.
    pub schemas: Vec<String>,
    /// The number of errors after which the service stops processing; `None` processes every
    /// operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_on_errors: Option<u32>,
    /// The operations, in request order.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    /// A request with the given operations and no `failOnErrors`.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        BulkRequest {
            schemas: vec![BULK_REQUEST_SCHEMA.to_owned()],
            fail_on_errors: None,
            operations,
        }
    }

    /// Sets `failOnErrors`.
    pub fn with_fail_on_errors(mut self, n: u32) -> Self {
        self.fail_on_errors = Some(n);
        self
    }

    /// Reads a request from JSON text, enforcing RFC 7644 §3.7.4's limits first:
    /// a text longer than `limits.max_payload_bytes` is [`Error::TooLong`] (`"payload"`), and
    /// more than `limits.max_bulk_operations` operations is [`Error::TooMany`]
    /// (`"operations"`); the RFC answers both with 413 Payload Too Large.
    pub fn from_json_str(text: &str, limits: &Limits) -> Result<Self> {
        if text.len() > limits.max_payload_bytes {
            return Err(Error::TooLong {
                what: "payload",
                len: text.len(),
                max: limits.max_payload_bytes,
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|e| Error::json("BulkRequest", e))?;
        Self::from_value_with(value, limits)
    }

    /// Reads a request from a JSON value, without limits on the number of operations.
    pub fn from_value(value: Value) -> Result<Self> {
        Self::from_value_with(value, &Limits::DEFAULT.with_max_bulk_operations(usize::MAX))
    }

    /// Reads a request from a JSON value, refusing more than `limits.max_bulk_operations`
    /// operations.
    pub fn from_value_with(value: Value, limits: &Limits) -> Result<Self> {
        let mut f = Fields::new("BulkRequest", value)?;
        let schemas = f.schemas(BULK_REQUEST_SCHEMA)?;
        let fail_on_errors = f
            .unsigned("failOnErrors")?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let items = match f.take("Operations") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(f.error(
                    "Operations",
                    format_args!("expected an array, found {}", json_kind(&other)),
                ));
            }
            None => return Err(f.missing("Operations")),
        };
        if items.len() > limits.max_bulk_operations {
            return Err(Error::TooMany {
                what: "operations",
                count: items.len(),
                max: limits.max_bulk_operations,
            });
        }
        let operations = items
            .into_iter()
            .enumerate()
            .map(|(i, v)| BulkOperation::from_value(i, v))
            .collect::<Result<Vec<_>>>()?;
        Ok(BulkRequest {
            schemas,
            fail_on_errors,
            operations,
        })
    }
}

deserialize_via_from_value!(BulkRequest);

/// The result of one operation in a [`BulkResponse`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkOperationResponse {
    /// The resource's URL; absent only for a failed POST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The operation's method.
    pub method: BulkMethod,
    /// The operation's `bulkId`, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's version after the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The HTTP status of the operation (written as a string, e.g. `"201"`).
    #[serde(serialize_with = "status_as_string")]
    pub status: u16,
    /// The response body: an [`ScimError`] for a failed operation; optional otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResponse {
    /// A result with the given method and status and nothing else.
    pub fn new(method: BulkMethod, status: u16) -> Self {
        BulkOperationResponse {
            location: None,
            method,
            bulk_id: None,
            version: None,
            status,
            response: None,
        }
    }

    /// Whether the operation succeeded (a 2xx status).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error response of a failed operation, when `response` reads as one.
    pub fn error(&self) -> Option<ScimError> {
        if self.is_success() {
            return None;
        }
        self.response
            .clone()
            .and_then(|v| ScimError::from_value(v).ok())
    }

    fn from_value(index: usize, value: Value) -> Result<Self> {
        let mut f = Fields::new(format!("BulkResponse.Operations[{index}]"), value)?;
        let method = match f.string("method")? {
            None => return Err(f.missing("method")),
            Some(m) => m.parse::<BulkMethod>().map_err(|e| f.error("method", e))?,
        };
        let status = match f.take("status") {
            // The 2011 drafts wrote `"status": {"code": "201"}`; read that too.
            Some(Value::Object(mut inner)) => {
                let code = crate::resource::remove_ci(&mut inner, "code").unwrap_or(Value::Null);
                let mut one = Fields::new(f.context(), serde_json::json!({ "status": code }))?;
                one.status("status")?
            }
            Some(other) => {
                let mut one = Fields::new(f.context(), serde_json::json!({ "status": other }))?;
                one.status("status")?
            }
            None => None,
        }
        .ok_or_else(|| f.missing("status"))?;
        Ok(BulkOperationResponse {
            location: f.string("location")?,
            method,
            bulk_id: f.string("bulkId")?,
            version: f.string("version")?,
            status,
            response: f.take("response"),
        })
    }
}

/// A Bulk response (RFC 7644 §3.7.3): one result per operation that was run, in request
/// order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    pub schemas: Vec<String>,
    /// The results.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// A response with the given results.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: vec![BULK_RESPONSE_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Reads a response from JSON.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new("BulkResponse", value)?;
        let schemas = f.schemas(BULK_RESPONSE_SCHEMA)?;
        let items = match f.take("Operations") {
            Some(Value::Array(items)) => items,
            None => Vec::new(),
            Some(other) => {
                return Err(f.error(
                    "Operations",
                    format_args!("expected an array, found {}", json_kind(&other)),
                ));
            }
        };
        let operations = items
            .into_iter()
            .enumerate()
            .map(|(i, v)| BulkOperationResponse::from_value(i, v))
            .collect::<Result<Vec<_>>>()?;
        Ok(BulkResponse {
            schemas,
            operations,
        })
    }

    /// How many operations failed.
    pub fn error_count(&self) -> usize {
        self.operations.iter().filter(|o| !o.is_success()).count()
    }
}

deserialize_via_from_value!(BulkResponse);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_is_read_in_any_case_and_written_upper() {
        let op: BulkRequest = serde_json::from_value(json!({
            "Operations": [{"method": "patch", "path": "/Users/1", "data": {}}]
        }))
        .unwrap();
        assert_eq!(op.operations[0].method, BulkMethod::Patch);
        let out = serde_json::to_value(&op).unwrap();
        assert_eq!(out["Operations"][0]["method"], "PATCH");
        assert_eq!(out["schemas"], json!([BULK_REQUEST_SCHEMA]));
    }

    #[test]
    fn bad_operations_name_index_and_field() {
        let err = BulkRequest::from_value(json!({
            "Operations": [{"method": "POST", "path": "/Users"}, {"method": "GET", "path": "/Users"}]
        }))
        .unwrap_err();
        match &err {
            Error::BulkOperation { index, field, .. } => {
                assert_eq!((*index, field.as_str()), (1, "method"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.status(), 400);
        let err =
            BulkRequest::from_value(json!({"Operations": [{"method": "DELETE"}]})).unwrap_err();
        assert!(
            err.to_string().contains("operation 0: path: is required"),
            "{err}"
        );
        let err = BulkRequest::from_value(json!({"Operations": [7]})).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        let err = BulkRequest::from_value(json!({})).unwrap_err();
        assert!(err.to_string().contains("BulkRequest.Operations"), "{err}");
    }

    #[test]
    fn limits_are_checked_before_parsing_operations() {
        let text = r#"{"Operations": [{"method": "DELETE", "path": "/Users/1"}, {"method": "DELETE", "path": "/Users/2"}]}"#;
        let limits = Limits::DEFAULT.with_max_bulk_operations(1);
        let err = BulkRequest::from_json_str(text, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooMany {
                    what: "operations",
                    count: 2,
                    max: 1
                }
            ),
            "{err:?}"
        );
        let limits = Limits::DEFAULT.with_max_payload_bytes(10);
        let err = BulkRequest::from_json_str(text, &limits).unwrap_err();
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
        let err = BulkRequest::from_json_str("{", &Limits::DEFAULT).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
    }

    #[test]
    fn fail_on_errors_null_is_absent() {
        let req = BulkRequest::from_value(json!({"failOnErrors": null, "Operations": []})).unwrap();
        assert_eq!(req.fail_on_errors, None);
    }

    #[test]
    fn response_status_reads_string_number_and_draft_object() {
        let resp = BulkResponse::from_value(json!({"Operations": [
            {"method": "POST", "status": "201"},
            {"method": "DELETE", "status": 204},
            {"method": "PUT", "status": {"code": "412"}, "response": {"status": "412", "detail": "changed"}}
        ]}))
        .unwrap();
        let codes: Vec<u16> = resp.operations.iter().map(|o| o.status).collect();
        assert_eq!(codes, vec![201, 204, 412]);
        assert_eq!(resp.error_count(), 1);
        assert_eq!(
            resp.operations[2].error().unwrap().detail.as_deref(),
            Some("changed")
        );
        assert!(resp.operations[0].error().is_none());
        let out = serde_json::to_value(&resp).unwrap();
        assert_eq!(out["Operations"][1]["status"], "204");
    }
}
