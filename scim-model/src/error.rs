//! The crate's error type and the RFC 7644 `scimType` vocabulary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `scimType` of an RFC 7644 §3.12 error response: what kind of client mistake it was.
///
/// An open enum: the ten values of RFC 7644 Table 9 are variants, anything else a server sends
/// is kept in [`ScimType::Other`] so it round-trips.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ScimType {
    /// The filter syntax was invalid or the filter is not supported (400).
    InvalidFilter,
    /// The filter yields more results than the server will return (400).
    TooMany,
    /// One or more attribute values are already in use or reserved (409).
    Uniqueness,
    /// The change conflicts with an attribute's mutability (400).
    Mutability,
    /// The request body message structure was invalid (400).
    InvalidSyntax,
    /// The PATCH `path` attribute was invalid or malformed (400).
    InvalidPath,
    /// The PATCH `path` did not yield an attribute or value that could be operated on (400).
    NoTarget,
    /// A required value was missing or a value was not compatible with its type (400).
    InvalidValue,
    /// The specified SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI (403).
    Sensitive,
    /// A `scimType` that RFC 7644 does not define, kept as received.
    Other(String),
}

impl ScimType {
    /// The wire spelling, e.g. `invalidFilter`.
    pub fn as_str(&self) -> &str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::Other(s) => s,
        }
    }

    /// The HTTP status RFC 7644 Table 9 pairs with this `scimType`.
    pub fn status(&self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScimType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        const KNOWN: [ScimType; 10] = [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Uniqueness,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
            ScimType::Sensitive,
        ];
        Ok(KNOWN
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .unwrap_or_else(|| ScimType::Other(s.to_owned())))
    }
}

impl Serialize for ScimType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ScimType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.parse::<ScimType>() {
            Ok(t) => t,
            Err(never) => match never {},
        })
    }
}

/// Everything that can go wrong in `scim-model`.
///
/// Every variant names the input that was at fault (the filter text and position, the
/// attribute path, the operation index) so that a message can be shown to the person who wrote
/// it. [`Error::scim_type`] and [`Error::status`] map an error to an RFC 7644 error response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filter could not be parsed.
    #[error("invalid filter {input:?} at position {position}: {message}")]
    InvalidFilter {
        /// The filter text as given (cut to 200 characters).
        input: String,
        /// Byte offset in `input` where the problem was found.
        position: usize,
        /// What was wrong or what was expected there.
        message: String,
    },
    /// An attribute path could not be parsed.
    #[error("invalid attribute path {input:?} at position {position}: {message}")]
    InvalidPath {
        /// The path text as given (cut to 200 characters).
        input: String,
        /// Byte offset in `input` where the problem was found.
        position: usize,
        /// What was wrong or what was expected there.
        message: String,
    },
    /// An input is longer than the configured limit (see [`crate::Limits`]).
    #[error("{what} is {len} bytes long, over the limit of {max}")]
    TooLong {
        /// What was too long: `"filter"`, `"path"`, `"payload"`.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An input nests deeper than the configured limit (see [`crate::Limits`]).
    #[error("{what} nests deeper than {max} levels")]
    TooDeep {
        /// What was too deep: `"filter"`, `"JSON"`.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A filter cannot be evaluated: e.g. `gt` on a boolean or binary attribute.
    #[error("cannot evaluate filter on {path}: {message}")]
    InvalidComparison {
        /// The attribute path of the comparison.
        path: String,
        /// Why it cannot be evaluated.
        message: String,
    },
    /// A value is missing or does not fit its attribute's definition.
    #[error("invalid value for {path}: {message}")]
    InvalidValue {
        /// The attribute path, e.g. `emails[0].value`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A JSON document or message is not shaped as SCIM requires.
    #[error("invalid syntax in {context}: {message}")]
    InvalidSyntax {
        /// Where: `"resource"`, `"PatchOp"`, `"BulkRequest"`, a field name.
        context: String,
        /// What was wrong.
        message: String,
    },
    /// A change conflicts with an attribute's mutability.
    #[error("mutability violation on {path}: {message}")]
    Mutability {
        /// The attribute path.
        path: String,
        /// Which rule was broken.
        message: String,
    },
    /// A PATCH path selected nothing that the operation could act on.
    #[error("no target for {path}: {message}")]
    NoTarget {
        /// The PATCH path.
        path: String,
        /// Why nothing was selected.
        message: String,
    },
    /// A value is already in use where it must be unique.
    #[error("uniqueness violation on {path}: {message}")]
    Uniqueness {
        /// The attribute path.
        path: String,
        /// What clashed.
        message: String,
    },
    /// More operations, results or bytes than a limit allows.
    #[error("too many {what}: {count}, over the limit of {max}")]
    TooMany {
        /// What there were too many of: `"operations"`, `"results"`.
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A schema URN is not in the registry.
    #[error("unknown schema {urn:?}")]
    UnknownSchema {
        /// The URN as given.
        urn: String,
    },
    /// A schema document (RFC 7643 §7) is malformed.
    #[error("invalid schema {urn:?}: {message}")]
    InvalidSchema {
        /// The schema's `id`, or what was found in its place.
        urn: String,
        /// What was wrong.
        message: String,
    },
    /// One operation of a Bulk request (or of an API-driven inbound upload) is invalid.
    #[error("operation {index}: {field}: {message}")]
    BulkOperation {
        /// Zero-based index of the operation in `Operations`.
        index: usize,
        /// The field at fault, e.g. `method`, `data.schemas`, `bulkId`.
        field: String,
        /// What was wrong.
        message: String,
        /// The `scimType` to report.
        scim_type: ScimType,
    },
    /// JSON text could not be read.
    #[error("invalid JSON in {context}: {source}")]
    Json {
        /// What was being read.
        context: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The RFC 7644 `scimType` for this error, if one applies.
    pub fn scim_type(&self) -> Option<ScimType> {
        Some(match self {
            Error::InvalidFilter { .. } | Error::InvalidComparison { .. } => {
                ScimType::InvalidFilter
            }
            Error::TooLong { what, .. } | Error::TooDeep { what, .. } => match *what {
                "filter" => ScimType::InvalidFilter,
                "path" => ScimType::InvalidPath,
                _ => ScimType::InvalidSyntax,
            },
            Error::InvalidPath { .. } => ScimType::InvalidPath,
            Error::InvalidValue { .. } | Error::UnknownSchema { .. } => ScimType::InvalidValue,
            Error::InvalidSyntax { .. } | Error::Json { .. } | Error::InvalidSchema { .. } => {
                ScimType::InvalidSyntax
            }
            Error::Mutability { .. } => ScimType::Mutability,
            Error::NoTarget { .. } => ScimType::NoTarget,
            Error::Uniqueness { .. } => ScimType::Uniqueness,
            Error::TooMany { .. } => ScimType::TooMany,
            Error::BulkOperation { scim_type, .. } => scim_type.clone(),
        })
    }

    /// The HTTP status an RFC 7644 server answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            // RFC 7644 §3.7.4: too many Bulk operations is 413 Payload Too Large.
            Error::TooMany { what, .. } if *what == "operations" => 413,
            Error::TooLong { what, .. } if *what == "payload" => 413,
            _ => self.scim_type().map_or(400, |t| t.status()),
        }
    }

    /// Wraps a `serde_json` error with what was being read.
    pub fn json(context: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            context: context.into(),
            source,
        }
    }
}

/// Cuts an input to at most 200 characters for an error message, on a char boundary.
pub(crate) fn excerpt(input: &str) -> String {
    const MAX: usize = 200;
    if input.len() <= MAX {
        return input.to_owned();
    }
    let mut end = MAX;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &input[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_type_round_trips_and_keeps_unknown_values() {
        for s in ["invalidFilter", "noTarget", "uniqueness", "somethingElse"] {
            let t: ScimType = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::json!(s));
        }
        assert_eq!(
            "INVALIDPATH".parse::<ScimType>().unwrap(),
            ScimType::InvalidPath
        );
        assert_eq!(ScimType::Uniqueness.status(), 409);
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let long = "é".repeat(300);
        let e = excerpt(&long);
        assert!(e.ends_with('…'));
        assert!(e.len() <= 204);
    }
}
