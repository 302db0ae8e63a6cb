//! The RFC 7644 §3.12 `Error` response.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{ERROR_SCHEMA, Fields, deserialize_via_from_value, status_as_string};
use crate::{Error, Result, ScimType};

/// An error response (RFC 7644 §3.12): the HTTP `status`, an optional `scimType` and a
/// human-readable `detail`.
///
/// `status` is written as a JSON string (`"400"`), as the RFC's examples do; it is read from a
/// string or a number. `ScimError` is also a Rust error, so a Bulk handler can return it.
///
/// ```
/// use scim_model::message::ScimError;
/// use scim_model::ScimType;
///
/// let e: ScimError = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
///     "scimType": "mutability", "detail": "Attribute 'id' is readOnly", "status": "400"
/// }"#).unwrap();
/// assert_eq!(e.status, 400);
/// assert_eq!(e.scim_type, Some(ScimType::Mutability));
/// assert_eq!(serde_json::to_value(&e).unwrap()["status"], "400");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScimError {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// The `scimType` keyword of RFC 7644 Table 9, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// A human-readable message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status code.
    #[serde(serialize_with = "status_as_string")]
    pub status: u16,
}

impl ScimError {
    /// An error response with `status` and `detail`, without a `scimType`.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        ScimError {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            scim_type: None,
            detail: Some(detail.into()),
            status,
        }
    }

    /// Sets the `scimType`.
    pub fn with_scim_type(mut self, scim_type: ScimType) -> Self {
        self.scim_type = Some(scim_type);
        self
    }

    /// Reads an error response from JSON.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new("Error", value)?;
        let schemas = f.schemas(ERROR_SCHEMA)?;
        let status = f.status("status")?.ok_or_else(|| f.missing("status"))?;
        let scim_type = f.string("scimType")?.map(|s| match s.parse::<ScimType>() {
            Ok(t) => t,
            Err(never) => match never {},
        });
        let detail = f.string("detail")?;
        Ok(ScimError {
            schemas,
            scim_type,
            detail,
            status,
        })
    }

    /// The error response as JSON.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert(
            "schemas".to_owned(),
            Value::Array(self.schemas.iter().cloned().map(Value::String).collect()),
        );
        if let Some(t) = &self.scim_type {
            map.insert("scimType".to_owned(), Value::String(t.as_str().to_owned()));
        }
        if let Some(d) = &self.detail {
            map.insert("detail".to_owned(), Value::String(d.clone()));
        }
        map.insert("status".to_owned(), Value::String(self.status.to_string()));
        Value::Object(map)
    }
}

deserialize_via_from_value!(ScimError);

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(t) = &self.scim_type {
            write!(f, " {t}")?;
        }
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScimError {}

/// The response for a crate error: status from [`Error::status`], `detail` from its message.
///
/// `scimType` comes from [`Error::scim_type`], but only when that type belongs with the status
/// (RFC 7644 Table 9 pairs each keyword with 400, 403 or 409): a payload that is too large is
/// answered 413 without a `scimType`, as in the RFC 7644 §3.7.4 example.
impl From<&Error> for ScimError {
    fn from(e: &Error) -> Self {
        let status = e.status();
        let scim_type = e
            .scim_type()
            .filter(|t| matches!(t, ScimType::Other(_)) || t.status() == status);
        ScimError {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            scim_type,
            detail: Some(e.to_string()),
            status,
        }
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        ScimError::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_is_written_as_a_string_and_read_from_either() {
        let e = ScimError::new(404, "gone");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({"schemas": [ERROR_SCHEMA], "detail": "gone", "status": "404"})
        );
        assert_eq!(e.to_value(), v);
        let back: ScimError =
            serde_json::from_value(json!({"schemas": [ERROR_SCHEMA], "status": 404})).unwrap();
        assert_eq!(back.status, 404);
        assert_eq!(back.detail, None);
    }

    #[test]
    fn missing_status_is_an_error() {
        let err = ScimError::from_value(json!({"detail": "x"})).unwrap_err();
        assert!(err.to_string().contains("Error.status"), "{err}");
    }

    #[test]
    fn from_crate_error_keeps_status_and_matching_scim_type() {
        let e = Error::InvalidFilter {
            input: "x eq".into(),
            position: 4,
            message: "expected a value".into(),
        };
        let s = ScimError::from(&e);
        assert_eq!(s.status, 400);
        assert_eq!(s.scim_type, Some(ScimType::InvalidFilter));
        assert!(s.detail.unwrap().contains("expected a value"));

        let e = Error::TooLong {
            what: "payload",
            len: 10,
            max: 5,
        };
        let s = ScimError::from(e);
        assert_eq!(s.status, 413);
        assert_eq!(s.scim_type, None);

        let e = Error::Uniqueness {
            path: "userName".into(),
            message: "taken".into(),
        };
        let s = ScimError::from(e);
        assert_eq!((s.status, s.scim_type), (409, Some(ScimType::Uniqueness)));
    }

    #[test]
    fn display_is_one_line() {
        let e = ScimError::new(400, "bad").with_scim_type(ScimType::InvalidValue);
        assert_eq!(e.to_string(), "400 invalidValue: bad");
    }
}
