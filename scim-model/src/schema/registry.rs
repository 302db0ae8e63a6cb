//! The [`SchemaRegistry`]: built-in RFC 7643 schemas plus extensions registered at run time.

use std::collections::BTreeMap;

use super::{Attribute, Schema};
use crate::{AttributePath, Resource};

/// The schemas a service knows: the RFC 7643 User, Group and Enterprise User schemas built in,
/// and custom extension schemas registered at run time from RFC 7643 §7 schema documents.
///
/// URNs are looked up case-insensitively.
#[derive(Clone, Debug)]
pub struct SchemaRegistry {
    /// Keyed by the lower-cased URN.
    schemas: BTreeMap<String, Schema>,
}

impl SchemaRegistry {
    /// A registry that knows no schema at all.
    pub fn empty() -> Self {
        SchemaRegistry {
            schemas: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a schema without checking it.
    pub(crate) fn insert(&mut self, schema: Schema) {
        self.schemas.insert(schema.id.to_ascii_lowercase(), schema);
    }

    /// A schema by URN, case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        if let Some(s) = self.schemas.get(urn) {
            return Some(s);
        }
        self.schemas.get(&urn.to_ascii_lowercase())
    }

    /// Every registered schema, ordered by URN.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.values()
    }

    /// The definition of the attribute a path names, for a resource whose base schema is
    /// `base_schema`: the URN-qualified schema if the path has a URN, else the base schema.
    /// With a sub-attribute, the sub-attribute's definition.
    pub fn attribute_in(&self, base_schema: &str, path: &AttributePath) -> Option<&Attribute> {
        let schema = self.schema(path.urn().unwrap_or(base_schema))?;
        let attr = schema.attribute(path.name())?;
        match path.sub_attribute() {
            Some(sub) => attr.sub_attribute(sub),
            None => Some(attr),
        }
    }

    /// The definition of the attribute a path names in a resource (see
    /// [`SchemaRegistry::attribute_in`]; the base schema is the resource's).
    pub fn attribute(&self, resource: &Resource, path: &AttributePath) -> Option<&Attribute> {
        self.attribute_in(resource.base_schema()?, path)
    }
}
