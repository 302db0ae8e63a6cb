//! SCIM protocol messages (RFC 7644): [`ListResponse`], the [`ScimError`] response,
//! [`SearchRequest`], Bulk ([`BulkRequest`], [`BulkResponse`] and the executor that resolves
//! `bulkId` cross-references), and the profile of Entra's API-driven inbound provisioning
//! endpoint ([`InboundProfile`]).
//!
//! Every message is plain serde data in the RFC's JSON shape, identified by its
//! `urn:ietf:params:scim:api:messages:2.0:*` URN in `schemas`.
//!
//! Reading is tolerant where RFC 7643 §2.1 asks for it and strict elsewhere:
//! - attribute names are matched case-insensitively (`Resources`, `resources` and `RESOURCES`
//!   are the same attribute; so are `Operations` and `operations`);
//! - `null` is read as "absent" (Entra sends `"failOnErrors": null`);
//! - an HTTP status is read from a JSON string (`"400"`, as RFC 7644 writes it) or a number;
//! - attributes a message does not define are ignored;
//! - a value of the wrong type is an [`Error::InvalidSyntax`]
//!   naming the message and the attribute.
//!
//! Writing uses the RFC's spelling, writes an HTTP status as a string and leaves out absent
//! optional attributes, so a message read and written again compares equal as a JSON value
//! (object key order may differ).

mod bulk;
mod error;
mod executor;
mod inbound;
mod list_response;
mod search;

pub use bulk::{BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse};
pub use error::ScimError;
pub use executor::{BulkOptions, BulkOutcome};
pub use inbound::{InboundProfile, SCIM_CONTENT_TYPE, check_content_type, validate_inbound};
pub use list_response::ListResponse;
pub use search::{SearchRequest, SortOrder};

use serde::Serializer;
use serde_json::{Map, Value};

use crate::resource::remove_ci;
use crate::{Error, Result};

/// The URN of a `ListResponse` (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The URN of a `SearchRequest` (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The URN of a `PatchOp` request (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The URN of a `BulkRequest` (RFC 7644 §3.7).
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The URN of a `BulkResponse` (RFC 7644 §3.7).
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The URN of an `Error` response (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What a JSON value is, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The attributes of one message object, taken out one by one (case-insensitively), with
/// errors that name the message and the attribute.
pub(crate) struct Fields {
    context: String,
    map: Map<String, Value>,
}

impl Fields {
    /// Starts reading `value`, which must be a JSON object; `context` names it in errors
    /// (`"BulkRequest"`, `"BulkRequest.Operations[2]"`).
    pub(crate) fn new(context: impl Into<String>, value: Value) -> Result<Self> {
        let context = context.into();
        match value {
            Value::Object(map) => Ok(Fields { context, map }),
            other => Err(Error::InvalidSyntax {
                message: format!("expected a JSON object, found {}", json_kind(&other)),
                context,
            }),
        }
    }

    /// The message name used in errors.
    pub(crate) fn context(&self) -> &str {
        &self.context
    }

    /// An error about attribute `name`.
    pub(crate) fn error(&self, name: &str, message: impl std::fmt::Display) -> Error {
        Error::InvalidSyntax {
            context: format!("{}.{name}", self.context),
            message: message.to_string(),
        }
    }

    fn wrong_type(&self, name: &str, expected: &str, found: &Value) -> Error {
        self.error(
            name,
            format_args!("expected {expected}, found {}", json_kind(found)),
        )
    }

    /// Takes attribute `name` out; `null` counts as absent.
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        remove_ci(&mut self.map, name).filter(|v| !v.is_null())
    }

    /// Takes a string attribute.
    pub(crate) fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(name, "a string", &other)),
        }
    }

    /// Takes a list of strings.
    pub(crate) fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s),
                        other => {
                            return Err(self.wrong_type(
                                &format!("{name}[{i}]"),
                                "a string",
                                &other,
                            ));
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(other) => Err(self.wrong_type(name, "an array of strings", &other)),
        }
    }

    /// Takes a whole number; negative values are kept as they are.
    pub(crate) fn integer(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(self.error(name, format_args!("expected a whole number, found {n}"))),
            },
            Some(other) => Err(self.wrong_type(name, "a whole number", &other)),
        }
    }

    /// Takes a non-negative whole number that fits `u64`.
    pub(crate) fn unsigned(&mut self, name: &str) -> Result<Option<u64>> {
        match self.integer(name)? {
            None => Ok(None),
            Some(i) => u64::try_from(i)
                .map(Some)
                .map_err(|_| self.error(name, format_args!("expected a number ≥ 0, found {i}"))),
        }
    }

    /// Takes an HTTP status: a string such as `"400"` (RFC 7644) or a number.
    pub(crate) fn status(&mut self, name: &str) -> Result<Option<u16>> {
        let parsed = match self.take(name) {
            None => return Ok(None),
            Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(other) => return Err(self.wrong_type(name, "an HTTP status", &other)),
        };
        match parsed {
            Some(code) if (100..=599).contains(&code) => Ok(Some(code)),
            _ => Err(self.error(name, "expected an HTTP status code from 100 to 599")),
        }
    }

    /// The `schemas` list, or `default` when absent.
    pub(crate) fn schemas(&mut self, default: &str) -> Result<Vec<String>> {
        Ok(self
            .strings("schemas")?
            .unwrap_or_else(|| vec![default.to_owned()]))
    }

    /// An error for a required attribute that is absent.
    pub(crate) fn missing(&self, name: &str) -> Error {
        self.error(name, "is required")
    }
}

/// Serialises an HTTP status as a JSON string (`"400"`), as RFC 7644 writes it.
pub(crate) fn status_as_string<S: Serializer>(
    status: &u16,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(status)
}

/// Implements `Deserialize` for a message through its `from_value` reader, so that serde and
/// the crate's own readers give the same errors.
macro_rules! deserialize_via_from_value {
    ($ty:ty) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                <$ty>::from_value(value).map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use deserialize_via_from_value;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_case_insensitively_and_null_is_absent() {
        let mut f = Fields::new("Msg", json!({"TotalResults": 3, "detail": null})).unwrap();
        assert_eq!(f.unsigned("totalResults").unwrap(), Some(3));
        assert_eq!(f.string("detail").unwrap(), None);
    }

    #[test]
    fn wrong_types_name_the_message_and_attribute() {
        let mut f = Fields::new("Msg", json!({"count": "x", "attributes": ["a", 1]})).unwrap();
        let err = f.unsigned("count").unwrap_err().to_string();
        assert!(err.contains("Msg.count"), "{err}");
        let err = f.strings("attributes").unwrap_err().to_string();
        assert!(err.contains("Msg.attributes[1]"), "{err}");
        let err = Fields::new("Msg", json!([1])).err().unwrap().to_string();
        assert!(err.contains("expected a JSON object"), "{err}");
    }

    #[test]
    fn status_reads_strings_and_numbers_and_rejects_nonsense() {
        let mut f = Fields::new(
            "E",
            json!({"a": "404", "b": 409, "c": "x", "d": 99, "e": true}),
        )
        .unwrap();
        assert_eq!(f.status("a").unwrap(), Some(404));
        assert_eq!(f.status("b").unwrap(), Some(409));
        assert!(f.status("c").is_err());
        assert!(f.status("d").is_err());
        assert!(f.status("e").is_err());
    }
}
