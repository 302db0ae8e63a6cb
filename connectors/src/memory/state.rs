//! What a [`MemoryDirectory`](super::MemoryDirectory) holds, and the writes on it that keep
//! objects, indexes and the change log in step.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use scim_model::schema::{AttributeType, Mutability, Uniqueness};
use scim_model::{AttributePath, Resource, SchemaRegistry};
use serde_json::{Map, Value};

use super::changelog::{ChangeLog, EntryKind, MemberDelta};
use super::index::{Index, IndexSpec};
use crate::error::ObjectRef;
use crate::types::{ObjectType, TargetId, Version};
use crate::{Error, Result, TargetObject};

/// What the directory knows about one object type, fixed when it is built.
#[derive(Clone, Debug)]
pub(crate) struct TypeConfig {
    pub(crate) ty: ObjectType,
    /// The URN of the type's base schema (filters and sorts resolve paths in it).
    pub(crate) base_schema: String,
    /// Prefix of the ids the directory assigns, e.g. `u-`.
    pub(crate) id_prefix: String,
    /// The indexes: every unique string attribute of the base schema, and `externalId`.
    pub(crate) indexes: Vec<IndexSpec>,
    /// The base schema's required attributes a client writes (`userName`, `displayName`).
    pub(crate) required: Vec<String>,
}

impl TypeConfig {
    /// Reads the indexes and required attributes of `base_schema` from the registry.
    pub(crate) fn new(ty: ObjectType, base_schema: &str, registry: &SchemaRegistry) -> Self {
        let mut indexes = Vec::new();
        let mut required = Vec::new();
        if let Some(schema) = registry.schema(base_schema) {
            for a in &schema.attributes {
                let unique = matches!(a.uniqueness, Uniqueness::Server | Uniqueness::Global);
                let stringy = matches!(a.kind, AttributeType::String | AttributeType::Reference);
                if unique && stringy && !a.multi_valued && !a.name.eq_ignore_ascii_case("id") {
                    indexes.push(IndexSpec {
                        name: a.name.clone(),
                        case_exact: a.case_exact,
                        unique: true,
                    });
                }
                if a.required && a.mutability != Mutability::ReadOnly {
                    required.push(a.name.clone());
                }
            }
        }
        let external = registry.attribute_in(base_schema, &AttributePath::new("externalId"));
        indexes.push(IndexSpec {
            name: "externalId".to_owned(),
            case_exact: external.is_none_or(|a| a.case_exact),
            unique: false,
        });
        let id_prefix = match ty.as_str().chars().next() {
            Some(c) => format!("{}-", c.to_lowercase()),
            None => "o-".to_owned(),
        };
        TypeConfig {
            ty,
            base_schema: base_schema.to_owned(),
            id_prefix,
            indexes,
            required,
        }
    }

    /// Whether a PATCH may change an indexed, required or identifying attribute (then it is
    /// applied to a copy, so that a clash or a missing value leaves the object as it was).
    pub(crate) fn guards(&self, name: &str) -> bool {
        let name = name
            .split(['.', '['])
            .next()
            .unwrap_or(name)
            .trim_end_matches(']');
        name.eq_ignore_ascii_case("id")
            || self
                .indexes
                .iter()
                .any(|i| i.name.eq_ignore_ascii_case(name))
            || self.required.iter().any(|r| r.eq_ignore_ascii_case(name))
    }
}

/// One stored object.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// The resource, with `id` and without `meta` (put back by [`Stored::output`]).
    pub(crate) resource: Resource,
    pub(crate) created: DateTime<Utc>,
    pub(crate) modified: DateTime<Utc>,
    /// The USN of its last change: its version (ETag `W/"usn"`).
    pub(crate) version: u64,
    /// The USN of its state entry ([`EntryKind::Upsert`]) in the change log.
    pub(crate) upsert_usn: u64,
    /// Membership changes since that entry, logged as one [`EntryKind::Members`] entry.
    pub(crate) members: Option<Box<MemberDelta>>,
}

impl Stored {
    /// The ETag.
    pub(crate) fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// The resource as a reader sees it: with `meta`.
    pub(crate) fn output(&self, ty: &ObjectType) -> Resource {
        let mut r = self.resource.clone();
        let mut meta = Map::new();
        meta.insert(
            "resourceType".to_owned(),
            Value::String(ty.as_str().to_owned()),
        );
        meta.insert("created".to_owned(), Value::String(timestamp(self.created)));
        meta.insert(
            "lastModified".to_owned(),
            Value::String(timestamp(self.modified)),
        );
        meta.insert("version".to_owned(), Value::String(self.etag()));
        r.set("meta", Value::Object(meta));
        r
    }

    /// The object as a target returns it.
    pub(crate) fn target_object(&self, id: &str, ty: &ObjectType) -> TargetObject {
        TargetObject::new(
            TargetId::new(id),
            self.output(ty),
            Some(Version::new(self.etag())),
        )
    }

    /// Whether `if_match` (an ETag such as `W/"3"`, with or without `W/` and quotes) names
    /// this version.
    pub(crate) fn check_version(
        &self,
        if_match: Option<&Version>,
        object: &ObjectRef,
    ) -> Result<()> {
        let Some(expected) = if_match else {
            return Ok(());
        };
        let text = expected.as_str().trim();
        let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
        if text == "*" || bare.parse::<u64>().ok() == Some(self.version) {
            return Ok(());
        }
        Err(Error::VersionConflict {
            object: object.clone(),
            expected: Some(expected.as_str().to_owned()),
            actual: Some(self.etag()),
        })
    }
}

/// An RFC 3339 timestamp with milliseconds, in UTC.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One object type's objects, indexes and change log.
#[derive(Debug)]
pub(crate) struct TypeState {
    pub(crate) objects: BTreeMap<Arc<str>, Stored>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) log: ChangeLog,
}

impl TypeState {
    pub(crate) fn new(config: &TypeConfig) -> Self {
        TypeState {
            objects: BTreeMap::new(),
            indexes: config.indexes.iter().cloned().map(Index::new).collect(),
            log: ChangeLog::default(),
        }
    }

    /// The index of an attribute, if there is one.
    pub(crate) fn index(&self, name: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.spec.name.eq_ignore_ascii_case(name))
    }

    /// Refuses `resource` if a unique value it holds is held by another object than `id`.
    pub(crate) fn check_unique(
        &self,
        resource: &Resource,
        id: Option<&str>,
        object: impl FnOnce() -> ObjectRef,
    ) -> Result<()> {
        for ix in self.indexes.iter().filter(|i| i.spec.unique) {
            let Some(key) = ix.key_of(resource) else {
                continue;
            };
            if let Some(holder) = ix.holder_other_than(&key, id) {
                let value = resource.get(&ix.spec.name).cloned().unwrap_or(Value::Null);
                let object = object();
                let message = format!(
                    "{} {value} is already in use by {} {holder:?}",
                    ix.spec.name, object.object_type
                );
                return Err(Error::Uniqueness {
                    object,
                    existing: Some(holder.to_string()),
                    message,
                });
            }
        }
        Ok(())
    }

    /// Adds an object's values to the indexes.
    pub(crate) fn index_insert(&mut self, id: &Arc<str>, resource: &Resource) {
        for ix in &mut self.indexes {
            if let Some(key) = ix.key_of(resource) {
                ix.insert(key, id.clone());
            }
        }
    }

    /// Removes an object's values from the indexes.
    pub(crate) fn index_remove(&mut self, id: &str, resource: &Resource) {
        for ix in &mut self.indexes {
            if let Some(key) = ix.key_of(resource) {
                ix.remove(&key, id);
            }
        }
    }

    /// Replaces the resource of object `id` (moving its index entries); gives the old one
    /// back. Logs nothing: the caller does.
    pub(crate) fn replace_resource(&mut self, id: &Arc<str>, new: Resource) -> Option<Resource> {
        let s = self.objects.get_mut(&**id)?;
        for ix in &mut self.indexes {
            if let Some(key) = ix.key_of(&s.resource) {
                ix.remove(&key, id);
            }
            if let Some(key) = ix.key_of(&new) {
                ix.insert(key, id.clone());
            }
        }
        Some(std::mem::replace(&mut s.resource, new))
    }

    /// Inserts a new object and logs its creation at `usn`.
    pub(crate) fn insert(
        &mut self,
        id: Arc<str>,
        resource: Resource,
        created: DateTime<Utc>,
        modified: DateTime<Utc>,
        usn: u64,
    ) {
        self.index_insert(&id, &resource);
        self.log.record(usn, EntryKind::Upsert, id.clone(), []);
        self.objects.insert(
            id,
            Stored {
                resource,
                created,
                modified,
                version: usn,
                upsert_usn: usn,
                members: None,
            },
        );
    }

    /// Logs a whole-object change of `id` at `usn` (its older entries go).
    pub(crate) fn log_upsert(&mut self, id: &Arc<str>, usn: u64, now: DateTime<Utc>) {
        if let Some(s) = self.objects.get_mut(&**id) {
            let old_members = s.members.take().map(|m| m.usn);
            self.log.record(
                usn,
                EntryKind::Upsert,
                id.clone(),
                std::iter::once(s.upsert_usn).chain(old_members),
            );
            s.upsert_usn = usn;
            s.version = usn;
            s.modified = now;
        }
    }

    /// Logs a membership change of group `id` at `usn`, merged with the earlier ones since its
    /// last whole-object change.
    pub(crate) fn log_members(
        &mut self,
        id: &Arc<str>,
        usn: u64,
        now: DateTime<Utc>,
        added: &[String],
        removed: &[String],
    ) {
        if let Some(s) = self.objects.get_mut(&**id) {
            let delta = s
                .members
                .get_or_insert_with(|| Box::new(MemberDelta::new(usn)));
            let old = (delta.usn != usn).then_some(delta.usn);
            delta.merge(
                added.iter().map(String::as_str),
                removed.iter().map(String::as_str),
            );
            delta.usn = usn;
            self.log.record(usn, EntryKind::Members, id.clone(), old);
            s.version = usn;
            s.modified = now;
        }
    }

    /// Removes object `id` and leaves a tombstone at `usn`.
    pub(crate) fn remove(&mut self, id: &str, usn: u64) -> Option<Stored> {
        let (key, stored) = self.objects.remove_entry(id)?;
        self.index_remove(id, &stored.resource);
        let old_members = stored.members.as_ref().map(|m| m.usn);
        self.log.record(
            usn,
            EntryKind::Delete,
            key,
            std::iter::once(stored.upsert_usn).chain(old_members),
        );
        Some(stored)
    }
}

/// Everything behind the directory's lock.
#[derive(Debug)]
pub(crate) struct State {
    /// The change counter: the USN of the last write.
    pub(crate) usn: u64,
    /// The number in the next id the directory assigns.
    pub(crate) next_id: u64,
    /// One per configured type, in the same order.
    pub(crate) types: Vec<TypeState>,
}

impl State {
    /// The next USN.
    pub(crate) fn bump(&mut self) -> u64 {
        self.usn += 1;
        self.usn
    }

    /// A new id for type `t`: never one assigned before, nor one an object holds.
    pub(crate) fn new_id(&mut self, t: usize, config: &TypeConfig) -> Arc<str> {
        loop {
            self.next_id += 1;
            let id = format!("{}{:08}", config.id_prefix, self.next_id);
            let taken = self
                .types
                .get(t)
                .is_some_and(|ts| ts.objects.contains_key(id.as_str()));
            if !taken {
                return Arc::from(id);
            }
        }
    }
}

/// A resource with `schemas` first and `id` second, the way servers return them.
pub(crate) fn with_id(mut resource: Resource, id: &str) -> Resource {
    let attrs = resource.as_object_mut();
    // The common case (a resource as clients send it: `schemas` first, no `id`) costs one
    // insertion; anything else is rebuilt in order.
    let schemas_first = attrs
        .keys()
        .next()
        .is_some_and(|k| k.eq_ignore_ascii_case("schemas"));
    if schemas_first && scim_model::get_ci(attrs, "id").is_none() {
        attrs.shift_insert(1, "id".to_owned(), Value::String(id.to_owned()));
        return resource;
    }
    let mut attrs = resource.into_object();
    let mut out = Map::with_capacity(attrs.len() + 1);
    if let Some(schemas) = attrs.shift_remove("schemas") {
        out.insert("schemas".to_owned(), schemas);
    }
    out.insert("id".to_owned(), Value::String(id.to_owned()));
    for (k, v) in attrs {
        if !k.eq_ignore_ascii_case("id") && !k.eq_ignore_ascii_case("schemas") {
            out.insert(k, v);
        }
    }
    Resource::from_object(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_model::{GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    #[test]
    fn user_type_indexes_user_name_case_insensitively_and_external_id_exactly() {
        let c = TypeConfig::new(ObjectType::USER, USER_SCHEMA, &SchemaRegistry::default());
        let names: Vec<(&str, bool, bool)> = c
            .indexes
            .iter()
            .map(|i| (i.name.as_str(), i.case_exact, i.unique))
            .collect();
        assert_eq!(
            names,
            vec![("userName", false, true), ("externalId", true, false)]
        );
        assert_eq!(c.required, vec!["userName".to_owned()]);
        assert_eq!(c.id_prefix, "u-");
        assert!(c.guards("USERNAME"));
        assert!(c.guards("externalId"));
        assert!(c.guards("id"));
        assert!(!c.guards("name.givenName"));
        let g = TypeConfig::new(ObjectType::GROUP, GROUP_SCHEMA, &SchemaRegistry::default());
        assert_eq!(g.required, vec!["displayName".to_owned()]);
        assert!(g.guards("displayName"));
        assert!(!g.guards("members"));
    }

    #[test]
    fn version_checks_accept_the_etag_forms() {
        let s = Stored {
            resource: Resource::default(),
            created: DateTime::<Utc>::MIN_UTC,
            modified: DateTime::<Utc>::MIN_UTC,
            version: 7,
            upsert_usn: 7,
            members: None,
        };
        let obj = ObjectRef::new(ObjectType::USER, "u-1");
        for ok in ["W/\"7\"", "\"7\"", "7", "*"] {
            s.check_version(Some(&Version::new(ok)), &obj).unwrap();
        }
        s.check_version(None, &obj).unwrap();
        let err = s
            .check_version(Some(&Version::new("W/\"6\"")), &obj)
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::VersionConflict);
    }

    #[test]
    fn ids_are_never_reused() {
        let c = TypeConfig::new(ObjectType::USER, USER_SCHEMA, &SchemaRegistry::default());
        let mut st = State {
            usn: 0,
            next_id: 0,
            types: vec![TypeState::new(&c)],
        };
        let a = st.new_id(0, &c);
        assert_eq!(&*a, "u-00000001");
        // An object loaded with the next id makes the counter skip it.
        let r = with_id(
            Resource::from_value(json!({"userName": "x"})).unwrap(),
            "u-00000002",
        );
        st.types[0].insert(Arc::from("u-00000002"), r, Utc::now(), Utc::now(), 1);
        assert_eq!(&*st.new_id(0, &c), "u-00000003");
        st.types[0].remove("u-00000002", 2);
        assert_eq!(&*st.new_id(0, &c), "u-00000004");
    }

    #[test]
    fn with_id_orders_schemas_then_id() {
        let r =
            Resource::from_value(json!({"userName": "x", "ID": "old", "schemas": [USER_SCHEMA]}))
                .unwrap();
        let r = with_id(r, "u-1");
        let keys: Vec<&str> = r.as_object().keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["schemas", "id", "userName"]);
    }
}
