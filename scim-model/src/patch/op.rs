//! The PATCH request message (RFC 7644 §3.5.2): [`PatchOp`], [`PatchOperation`],
//! [`PatchOpKind`], and how they are read from JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::remove_ci;
use crate::resource::find_key;
use crate::{AttributePath, Error, Limits, Result};

/// The URN of the PATCH request message, RFC 7644 §3.5.2.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a PATCH operation does: `add`, `replace` or `remove` (RFC 7644 §3.5.2.1-3).
///
/// Read case-insensitively, because Microsoft Entra sends `"Add"`, `"Replace"` and `"Remove"`;
/// always printed in lower case, as the RFC spells them.
///
/// ```
/// use scim_model::patch::PatchOpKind;
///
/// assert_eq!("Replace".parse::<PatchOpKind>().unwrap(), PatchOpKind::Replace);
/// assert_eq!(PatchOpKind::Remove.to_string(), "remove");
/// assert!("merge".parse::<PatchOpKind>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PatchOpKind {
    /// `add`: add values (append to multi-valued attributes, set single-valued ones).
    Add,
    /// `replace`: replace values.
    Replace,
    /// `remove`: remove values.
    Remove,
}

impl PatchOpKind {
    /// The wire spelling: `add`, `replace` or `remove`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PatchOpKind {
    type Err = Error;

    /// Reads an op name case-insensitively. The error is [`Error::InvalidSyntax`] naming the
    /// unknown name.
    fn from_str(s: &str) -> Result<Self> {
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidSyntax {
                context: "op".to_owned(),
                message: format!("unknown op {s:?}"),
            })
    }
}

impl Serialize for PatchOpKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PatchOpKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One operation of a PATCH request: `op`, an optional `path`, an optional `value`.
///
/// The path is parsed once, when the operation is read or built; applying it does not parse
/// again. A `value` of JSON `null` (as opposed to no `value` at all) is kept: `add` and
/// `replace` with a `null` value clear the target (RFC 7643 §2.5: null is "unassigned").
///
/// ```
/// use scim_model::AttributePath;
/// use scim_model::patch::{PatchOpKind, PatchOperation};
/// use serde_json::json;
///
/// let op = PatchOperation::replace(AttributePath::new("active"), json!(false));
/// assert_eq!(op.op, PatchOpKind::Replace);
/// assert_eq!(serde_json::to_value(&op).unwrap(), json!({"op": "replace", "path": "active", "value": false}));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchOperation {
    /// What the operation does.
    pub op: PatchOpKind,
    /// The attribute the operation targets; `None` for a path-less `add` or `replace`, whose
    /// value is an object of attributes.
    pub path: Option<AttributePath>,
    /// The value to add or replace with, or (for `remove`, an Entra form) the values to remove.
    pub value: Option<Value>,
}

impl PatchOperation {
    /// An operation from its three parts, unchecked (a `remove` without a path, say, fails
    /// when applied).
    pub fn new(op: PatchOpKind, path: Option<AttributePath>, value: Option<Value>) -> Self {
        PatchOperation { op, path, value }
    }

    /// `add` of `value` at `path`.
    pub fn add(path: AttributePath, value: Value) -> Self {
        Self::new(PatchOpKind::Add, Some(path), Some(value))
    }

    /// `replace` of the value at `path` by `value`.
    pub fn replace(path: AttributePath, value: Value) -> Self {
        Self::new(PatchOpKind::Replace, Some(path), Some(value))
    }

    /// `remove` of the attribute or values at `path`.
    pub fn remove(path: AttributePath) -> Self {
        Self::new(PatchOpKind::Remove, Some(path), None)
    }

    /// `remove` of the given values of the multi-valued attribute at `path` (the form Entra
    /// sends to remove group members: `{"op": "Remove", "path": "members", "value":
    /// [{"value": "id"}]}`).
    pub fn remove_values(path: AttributePath, values: Value) -> Self {
        Self::new(PatchOpKind::Remove, Some(path), Some(values))
    }

    /// Reads one operation from its JSON object, taking it; `index` is its position in
    /// `Operations`, for error messages.
    fn from_json(index: usize, value: Value, limits: &Limits) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(not_an_object(index, &value));
        };
        // One pass over the members, taking them by value (no lookups, no copies).
        let mut fields: [Option<(Value, bool)>; 3] = [None, None, None];
        for (k, v) in map {
            if let Some((i, exact)) = field_of(&k)
                && fields[i]
                    .as_ref()
                    .is_none_or(|(_, was_exact)| exact && !was_exact)
            {
                fields[i] = Some((v, exact));
            }
        }
        let [op, path, value] = fields;
        Self::from_fields(
            index,
            op.as_ref().map(|(v, _)| v),
            path.as_ref().map(|(v, _)| v),
            value.map(|(v, _)| v),
            limits,
        )
    }

    /// Reads one operation from a JSON object it borrows, copying only its `value`.
    fn from_json_ref(index: usize, value: &Value, limits: &Limits) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(not_an_object(index, value));
        };
        let mut fields: [Option<(&Value, bool)>; 3] = [None, None, None];
        for (k, v) in map {
            if let Some((i, exact)) = field_of(k)
                && fields[i].is_none_or(|(_, was_exact)| exact && !was_exact)
            {
                fields[i] = Some((v, exact));
            }
        }
        let [op, path, value] = fields;
        Self::from_fields(
            index,
            op.map(|(v, _)| v),
            path.map(|(v, _)| v),
            value.map(|(v, _)| v.clone()),
            limits,
        )
    }

    /// An operation from its `op`, `path` and `value` members.
    fn from_fields(
        index: usize,
        op_field: Option<&Value>,
        path_field: Option<&Value>,
        value: Option<Value>,
        limits: &Limits,
    ) -> Result<Self> {
        let at = |field: &str| format!("Operations[{index}]{field}");
        let op = match op_field {
            None => {
                return Err(Error::InvalidSyntax {
                    context: at(".op"),
                    message: "missing".to_owned(),
                });
            }
            Some(Value::String(s)) => {
                s.parse::<PatchOpKind>().map_err(|_| Error::InvalidSyntax {
                    context: at(".op"),
                    message: format!("unknown op {s:?}"),
                })?
            }
            Some(other) => {
                return Err(Error::InvalidSyntax {
                    context: at(".op"),
                    message: format!("expected a string, found {}", kind_of(other)),
                });
            }
        };
        let path = match path_field {
            None | Some(Value::Null) => None,
            // An empty path is no path: some clients send `"path": ""` with a path-less add.
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(match simple_path(s, limits) {
                Some(path) => path,
                None => AttributePath::parse_with(s, limits).map_err(|e| in_operation(e, index))?,
            }),
            Some(other) => {
                return Err(Error::InvalidSyntax {
                    context: at(".path"),
                    message: format!("expected a string, found {}", kind_of(other)),
                });
            }
        };
        let operation = PatchOperation { op, path, value };
        operation.check(index)?;
        Ok(operation)
    }

    /// The checks RFC 7644 §3.5.2 makes on an operation's shape, before any resource is seen.
    pub(crate) fn check(&self, index: usize) -> Result<()> {
        match (self.op, &self.path, &self.value) {
            (PatchOpKind::Remove, None, _) => Err(Error::NoTarget {
                path: format!("Operations[{index}]"),
                message: "remove requires a path".to_owned(),
            }),
            (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(Error::InvalidValue {
                path: format!("Operations[{index}]"),
                message: format!("{} requires a value", self.op),
            }),
            (PatchOpKind::Add | PatchOpKind::Replace, None, Some(v)) if !v.is_object() => {
                Err(Error::InvalidValue {
                    path: format!("Operations[{index}].value"),
                    message: format!(
                        "{} without a path requires an object of attributes, found {}",
                        self.op,
                        kind_of(v)
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

/// `name` or `name.sub` made of plain attribute names (RFC 7643 §2.1 `ATTRNAME`: a letter,
/// then letters, digits, `_` or `-`), read without the full parser: most PATCH paths Entra
/// sends (`active`, `name.familyName`) have this form. `None` for anything else.
pub(crate) fn simple_path(s: &str, limits: &Limits) -> Option<AttributePath> {
    fn attr_name(n: &str) -> bool {
        let mut bytes = n.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }
    if s.len() > limits.max_filter_len {
        return None;
    }
    match s.split_once('.') {
        None if attr_name(s) => Some(AttributePath::new(s)),
        Some((name, sub)) if attr_name(name) && attr_name(sub) => {
            Some(AttributePath::new(name).with_sub_attribute(sub))
        }
        _ => None,
    }
}

/// Which member of an operation a key names (`op`, `path`, `value`: 0, 1, 2), read
/// case-insensitively, and whether it is spelled exactly (an exact spelling wins over another
/// casing of the same name).
fn field_of(key: &str) -> Option<(usize, bool)> {
    let i = ["op", "path", "value"]
        .iter()
        .position(|n| key.eq_ignore_ascii_case(n))?;
    Some((i, matches!(key, "op" | "path" | "value")))
}

fn not_an_object(index: usize, value: &Value) -> Error {
    Error::InvalidSyntax {
        context: format!("Operations[{index}]"),
        message: format!("expected an object, found {}", kind_of(value)),
    }
}

/// Adds the operation index to a path error.
fn in_operation(e: Error, index: usize) -> Error {
    match e {
        Error::InvalidPath {
            input,
            position,
            message,
        } => Error::InvalidPath {
            input,
            position,
            message: format!("{message} (in Operations[{index}].path)"),
        },
        Error::InvalidFilter {
            input,
            position,
            message,
        } => Error::InvalidPath {
            input,
            position,
            message: format!("invalid value filter: {message} (in Operations[{index}].path)"),
        },
        Error::TooLong { len, max, .. } => Error::TooLong {
            what: "path",
            len,
            max,
        },
        other => other,
    }
}

/// The JSON kind of a value, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Serialize for PatchOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let len = 1 + usize::from(self.path.is_some()) + usize::from(self.value.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("op", &self.op)?;
        if let Some(path) = &self.path {
            map.serialize_entry("path", path)?;
        }
        if let Some(value) = &self.value {
            map.serialize_entry("value", value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchOperation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        PatchOperation::from_json(0, value, &Limits::DEFAULT).map_err(serde::de::Error::custom)
    }
}

/// A SCIM PATCH request (RFC 7644 §3.5.2): `schemas` and the list of `Operations`, applied in
/// order and all or nothing.
///
/// # Reading
///
/// [`PatchOp::from_json_str`] (with a payload limit), [`PatchOp::from_value`] or serde. Errors
/// name the operation and field at fault: `Operations[1].op: unknown op "merge"`,
/// `Operations[0]: remove requires a path`, or an [`Error::InvalidPath`] for an unparsable
/// path. Field names (`Operations`, `op`, `path`, `value`) and op names are read
/// case-insensitively.
///
/// Leniencies, each a form a real client sends:
/// - a missing `schemas` is accepted (and the PatchOp URN assumed); a `schemas` that is present
///   but does not list `urn:ietf:params:scim:api:messages:2.0:PatchOp` is refused, because the
///   body is then some other message;
/// - an empty `Operations` list is accepted (the Microsoft SCIM Validator sends one) and
///   changes nothing; [`PatchOptions::strict`](crate::patch::PatchOptions) refuses it when
///   applied, as RFC 7644 asks for "one or more" operations;
/// - `"path": ""` is read as no path.
///
/// # Building
///
/// ```
/// use scim_model::AttributePath;
/// use scim_model::patch::PatchOp;
/// use serde_json::json;
///
/// let patch = PatchOp::new()
///     .replace(AttributePath::new("active"), json!(false))
///     .remove(AttributePath::new("nickName"));
/// assert_eq!(patch.operations().len(), 2);
/// assert_eq!(
///     serde_json::to_value(&patch).unwrap(),
///     json!({
///         "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///         "Operations": [
///             {"op": "replace", "path": "active", "value": false},
///             {"op": "remove", "path": "nickName"}
///         ]
///     })
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchOp {
    schemas: Vec<String>,
    operations: Vec<PatchOperation>,
}

impl Default for PatchOp {
    fn default() -> Self {
        PatchOp::new()
    }
}

impl PatchOp {
    /// An empty PATCH request (`schemas` set, no operations).
    pub fn new() -> Self {
        PatchOp {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations: Vec::new(),
        }
    }

    /// A PATCH request with the given operations.
    pub fn from_operations(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Adds an `add` operation.
    #[must_use]
    pub fn add(mut self, path: AttributePath, value: Value) -> Self {
        self.operations.push(PatchOperation::add(path, value));
        self
    }

    /// Adds a `replace` operation.
    #[must_use]
    pub fn replace(mut self, path: AttributePath, value: Value) -> Self {
        self.operations.push(PatchOperation::replace(path, value));
        self
    }

    /// Adds a `remove` operation.
    #[must_use]
    pub fn remove(mut self, path: AttributePath) -> Self {
        self.operations.push(PatchOperation::remove(path));
        self
    }

    /// Appends an operation.
    pub fn push(&mut self, operation: PatchOperation) {
        self.operations.push(operation);
    }

    /// Whether the request has no operations.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The operations, in order.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// The `schemas` of the message, as received (or the PatchOp URN).
    pub fn schemas(&self) -> &[String] {
        &self.schemas
    }

    /// Gives back the operations.
    pub fn into_operations(self) -> Vec<PatchOperation> {
        self.operations
    }

    /// Reads a PATCH request from JSON text, refusing payloads over `limits.max_payload_bytes`
    /// and paths over `limits.max_filter_len`.
    ///
    /// # Errors
    ///
    /// [`Error::TooLong`] (HTTP 413) for an oversized payload, [`Error::Json`] for text that is
    /// not JSON, else as [`PatchOp::from_value_with`].
    pub fn from_json_str(text: &str, limits: &Limits) -> Result<Self> {
        if text.len() > limits.max_payload_bytes {
            return Err(Error::TooLong {
                what: "payload",
                len: text.len(),
                max: limits.max_payload_bytes,
            });
        }
        let value: Value = serde_json::from_str(text).map_err(|e| Error::json("PatchOp", e))?;
        Self::from_owned(value, limits)
    }

    /// Reads a PATCH request from a JSON value with the default [`Limits`].
    ///
    /// # Errors
    ///
    /// As [`PatchOp::from_value_with`].
    pub fn from_value(value: &Value) -> Result<Self> {
        Self::from_value_with(value, &Limits::DEFAULT)
    }

    /// Reads a PATCH request from a JSON value, parsing every path with `limits`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSyntax`] naming the field (`schemas`, `Operations`, `Operations[1].op`)
    /// for a malformed message, [`Error::InvalidPath`] for a path that does not parse,
    /// [`Error::NoTarget`] for a `remove` without a path and [`Error::InvalidValue`] for an
    /// `add` or `replace` without a value (or, without a path, with a value that is not an
    /// object).
    pub fn from_value_with(value: &Value, limits: &Limits) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidSyntax {
                context: "PatchOp".to_owned(),
                message: format!("expected a JSON object, found {}", kind_of(value)),
            });
        };
        let schemas = read_schemas(map)?;
        let operations = match find_key(map, "Operations").map(|(_, v)| v) {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| PatchOperation::from_json_ref(i, item, limits))
                .collect::<Result<Vec<_>>>()?,
            other => return Err(bad_operations(other)),
        };
        Ok(PatchOp {
            schemas,
            operations,
        })
    }

    /// Reads a PATCH request from a JSON value it takes: operation values are moved into the
    /// operations, not copied.
    fn from_owned(value: Value, limits: &Limits) -> Result<Self> {
        let Value::Object(mut map) = value else {
            return Err(Error::InvalidSyntax {
                context: "PatchOp".to_owned(),
                message: format!("expected a JSON object, found {}", kind_of(&value)),
            });
        };
        let schemas = read_schemas(&map)?;
        let operations = match remove_ci(&mut map, "Operations") {
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| PatchOperation::from_json(i, item, limits))
                .collect::<Result<Vec<_>>>()?,
            other => return Err(bad_operations(other.as_ref())),
        };
        Ok(PatchOp {
            schemas,
            operations,
        })
    }
}

/// The error for an `Operations` member that is missing or not an array.
fn bad_operations(found: Option<&Value>) -> Error {
    Error::InvalidSyntax {
        context: "Operations".to_owned(),
        message: match found {
            Some(other) => format!("expected an array, found {}", kind_of(other)),
            None => "missing".to_owned(),
        },
    }
}

fn read_schemas(map: &Map<String, Value>) -> Result<Vec<String>> {
    let bad = |message: String| Error::InvalidSyntax {
        context: "schemas".to_owned(),
        message,
    };
    match find_key(map, "schemas").map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(vec![PATCH_OP_SCHEMA.to_owned()]),
        Some(Value::Array(items)) => {
            let mut schemas = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => schemas.push(s.clone()),
                    other => {
                        return Err(bad(format!(
                            "expected a list of strings, found {} in it",
                            kind_of(other)
                        )));
                    }
                }
            }
            if schemas
                .iter()
                .any(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            {
                Ok(schemas)
            } else {
                Err(bad(format!("does not list {PATCH_OP_SCHEMA}")))
            }
        }
        Some(other) => Err(bad(format!(
            "expected a list of strings, found {}",
            kind_of(other)
        ))),
    }
}

impl Serialize for PatchOp {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("schemas", &self.schemas)?;
        map.serialize_entry("Operations", &self.operations)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchOp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        PatchOp::from_owned(value, &Limits::DEFAULT).map_err(serde::de::Error::custom)
    }
}
