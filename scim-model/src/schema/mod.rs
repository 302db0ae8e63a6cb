//! Schemas (RFC 7643 §7): attribute definitions, the [`SchemaRegistry`] with the RFC's User,
//! Group and Enterprise User schemas built in, custom extensions registered at run time, and
//! validation of resources against them.

mod change;
mod common;
mod document;
mod registry;
mod validate;
mod values;

pub use common::common_attributes;
pub use registry::SchemaRegistry;
pub use validate::{Operation, ValidationIssue, ValidationOptions};
pub use values::parse_datetime;

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AttributeType {
    /// A sequence of Unicode characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number with at least one digit to the left and right of the period.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` (RFC 3339 instant), e.g. `2008-01-23T04:56:22Z`.
    DateTime,
    /// Base64-encoded binary data.
    Binary,
    /// A URI for a resource (an `$ref`).
    Reference,
    /// A composition of sub-attributes.
    Complex,
}

/// When an attribute may be written (RFC 7643 §7 `mutability`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Mutability {
    /// The client may not write it; the server sets it.
    ReadOnly,
    /// The client may read and write it (the default).
    #[default]
    ReadWrite,
    /// Written once, with the resource's creation or the first time it is set.
    Immutable,
    /// Written but never returned (e.g. `password`).
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7 `returned`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Returned {
    /// Always returned, whatever `attributes` asks for.
    Always,
    /// Never returned.
    Never,
    /// Returned by default (the default).
    #[default]
    Default,
    /// Returned only when asked for in `attributes`.
    Request,
}

/// How the service provider enforces uniqueness (RFC 7643 §7 `uniqueness`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Uniqueness {
    /// No uniqueness (the default).
    #[default]
    None,
    /// Unique within the service provider.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition of a schema (RFC 7643 §7 `attributes`), with its sub-attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attribute {
    /// The attribute's name, e.g. `userName`.
    pub name: String,
    /// Its data type.
    #[serde(rename = "type")]
    pub kind: AttributeType,
    /// Whether it holds a list of values.
    #[serde(default)]
    pub multi_valued: bool,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a resource must have it.
    #[serde(default)]
    pub required: bool,
    /// The values a client is expected to use (e.g. `work`, `home`), if listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string values compare case-sensitively.
    #[serde(default)]
    pub case_exact: bool,
    /// When it may be written.
    #[serde(default)]
    pub mutability: Mutability,
    /// When it is returned.
    #[serde(default)]
    pub returned: Returned,
    /// How uniqueness is enforced.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For a reference: the resource types it may point to (`User`, `Group`, `external`, `uri`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For a complex attribute: its sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued, optional, read-write attribute of the given type.
    pub fn new(name: impl Into<String>, kind: AttributeType) -> Self {
        Attribute {
            name: name.into(),
            kind,
            multi_valued: false,
            description: None,
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Makes it multi-valued.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes its string values compare case-sensitively.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets its mutability.
    pub fn with_mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Sets when it is returned.
    pub fn with_returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets its uniqueness.
    pub fn with_uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Sets its canonical values.
    pub fn with_canonical_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.canonical_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a sub-attribute (for a complex attribute).
    pub fn with_sub_attribute(mut self, sub: Attribute) -> Self {
        self.sub_attributes.push(sub);
        self
    }

    /// A sub-attribute by name, case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): its URN, name, and attribute definitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// Its human-readable name, e.g. `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its attributes.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A schema with the given URN and no attributes yet.
    pub fn new(id: impl Into<String>) -> Self {
        Schema {
            id: id.into(),
            name: None,
            description: None,
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute definition.
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Reads and checks an RFC 7643 §7 schema document.
    ///
    /// Keys are matched case-insensitively and keys RFC 7643 does not define are ignored;
    /// `multiValued`, `required` and `caseExact` default to `false`, `mutability` to
    /// `readWrite`, `returned` to `default`, `uniqueness` to `none`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] with the schema's `id` and a message naming the attribute path
    /// and field at fault, when: the document is not an object or has no string `id` or no
    /// `attributes` array; `id` is not a URN; an attribute has no `name` or `type`; a field
    /// has the wrong JSON type or an unknown value (`"type": "strin"`); a name is not an
    /// RFC 7643 `ATTRNAME` (`$ref` is allowed for sub-attributes); two names of one level are
    /// equal case-insensitively; a complex attribute has no sub-attributes, a sub-attribute is
    /// complex, or a non-complex attribute has sub-attributes.
    pub fn from_json(doc: &Value) -> Result<Schema> {
        let schema = document::parse_schema(doc)?;
        document::check_schema(&schema)?;
        Ok(schema)
    }

    /// A top-level attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

impl FromStr for Schema {
    type Err = Error;

    /// Reads and checks the JSON text of a schema document (see [`Schema::from_json`]);
    /// text that is not JSON gives [`Error::Json`].
    fn from_str(text: &str) -> Result<Schema> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| Error::json("schema document", e))?;
        Schema::from_json(&doc)
    }
}
