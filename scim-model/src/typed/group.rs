//! The RFC 7643 §4.2 Group.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::user::to_resource;
use super::{MemberType, Meta, Reader, SchemaExtension, Writer, read_extension, write_extension};
use crate::{Error, GROUP_SCHEMA, Resource, Result};

/// A member of a group (`members`, RFC 7643 §4.2): a user or another group.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Member {
    /// `value`: the member's `id`.
    pub value: Option<String>,
    /// `$ref`: the member's URI.
    pub reference: Option<String>,
    /// `display`: the member's display name.
    pub display: Option<String>,
    /// `type`: `User` or `Group`.
    pub kind: Option<MemberType>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Member {
    /// A member given by id.
    pub fn new(value: impl Into<String>) -> Self {
        Member {
            value: Some(value.into()),
            ..Member::default()
        }
    }

    /// Sets `type`.
    pub fn with_kind(mut self, kind: impl Into<MemberType>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    fn read(mut r: Reader) -> Result<Self> {
        Ok(Member {
            value: r.string("value")?,
            reference: r.string("$ref")?,
            display: r.string("display")?,
            kind: r.kind("type")?,
            rest: r.rest(),
        })
    }

    fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("value", &self.value);
        w.string("$ref", &self.reference);
        w.string("display", &self.display);
        w.kind("type", &self.kind);
        w.finish(&Map::new(), &self.rest)
    }
}

/// A typed view of a Group resource (RFC 7643 §4.2): `displayName` (required), `members`,
/// the common attributes, extension blocks and whatever else it held (`rest`). See the
/// [module documentation](crate::typed) for how it round-trips.
///
/// ```
/// use scim_model::typed::{Group, Member, MemberType};
///
/// let mut group = Group::new("Tour Guides");
/// group.members.push(Member::new("2819c223").with_kind(MemberType::User));
/// let value = group.to_value();
/// assert_eq!(value["members"][0]["type"], "User");
/// assert_eq!(Group::from_value(value).unwrap(), group);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Group {
    /// `schemas`: the core Group URN and the URNs of the extensions present.
    pub schemas: Vec<String>,
    /// `id`: the service provider's identifier (read-only).
    pub id: Option<String>,
    /// `externalId`: the client's identifier.
    pub external_id: Option<String>,
    /// `displayName`.
    pub display_name: String,
    /// `members`.
    pub members: Vec<Member>,
    /// `meta`.
    pub meta: Option<Meta>,
    /// The extension blocks, keyed by schema URN, as received.
    pub extensions: Map<String, Value>,
    /// Attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Group {
    /// A group with a `displayName` and `schemas` = the core Group URN.
    pub fn new(display_name: impl Into<String>) -> Self {
        Group {
            schemas: vec![GROUP_SCHEMA.to_owned()],
            id: None,
            external_id: None,
            display_name: display_name.into(),
            members: Vec::new(),
            meta: None,
            extensions: Map::new(),
            rest: Map::new(),
        }
    }

    /// Reads a group from a JSON object.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut r = Reader::new("", value)?;
        let schemas = r.schemas()?;
        let id = r.string("id")?;
        let external_id = r.string("externalId")?;
        let display_name = r.required_string("displayName")?;
        let members = r.list("members", Member::read)?;
        let meta = r.object("meta", Meta::read)?;
        let extensions = r.extensions();
        Ok(Group {
            schemas,
            id,
            external_id,
            display_name,
            members,
            meta,
            extensions,
            rest: r.rest(),
        })
    }

    /// The group as a JSON object: the RFC attributes, then the extension blocks, then the
    /// attributes kept in `rest`.
    pub fn to_value(&self) -> Value {
        let mut w = Writer::new();
        if !self.schemas.is_empty() {
            w.value(
                "schemas",
                Value::Array(self.schemas.iter().cloned().map(Value::String).collect()),
            );
        }
        w.string("id", &self.id);
        w.string("externalId", &self.external_id);
        w.value("displayName", Value::String(self.display_name.clone()));
        w.list("members", &self.members, Member::write);
        w.object("meta", self.meta.as_ref().map(Meta::write));
        Value::Object(w.finish(&self.extensions, &self.rest))
    }

    /// Extension `X`, if the group has its block.
    pub fn extension<X: SchemaExtension>(&self) -> Result<Option<X>> {
        read_extension(&self.extensions)
    }

    /// Sets extension `X`'s block and lists its URN in `schemas`.
    pub fn set_extension<X: SchemaExtension>(&mut self, extension: &X) {
        write_extension(&mut self.extensions, &mut self.schemas, extension);
    }
}

impl TryFrom<&Resource> for Group {
    type Error = Error;

    fn try_from(resource: &Resource) -> Result<Self> {
        Group::from_value(resource.to_value())
    }
}

impl TryFrom<Resource> for Group {
    type Error = Error;

    fn try_from(resource: Resource) -> Result<Self> {
        Group::from_value(Value::from(resource))
    }
}

impl From<&Group> for Resource {
    fn from(group: &Group) -> Resource {
        to_resource(group.to_value())
    }
}

impl From<Group> for Resource {
    fn from(group: Group) -> Resource {
        Resource::from(&group)
    }
}

impl Serialize for Group {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Group::from_value(value).map_err(<D::Error as serde::de::Error>::custom)
    }
}
