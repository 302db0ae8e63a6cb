//! The [`SchemaRegistry`]: built-in RFC 7643 schemas plus extensions registered at run time.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::common::common_attribute;
use super::document::check_schema;
use super::{Attribute, Schema};
use crate::{AttributePath, Error, Resource, Result};

/// The schema documents built in, as JSON text: RFC 7643 §8.7.1 (see `builtin/README.md`).
const BUILTIN_DOCUMENTS: [(&str, &str); 3] = [
    ("builtin/user.json", include_str!("builtin/user.json")),
    ("builtin/group.json", include_str!("builtin/group.json")),
    (
        "builtin/enterprise-user.json",
        include_str!("builtin/enterprise-user.json"),
    ),
];

/// The built-in schemas, parsed once per process.
struct Builtins {
    /// Every built-in schema that parsed and passed the checks.
    registry: SchemaRegistry,
    /// The first built-in that failed, as `(urn, message)` (never, as a test guarantees).
    error: Option<(String, String)>,
}

static BUILTINS: LazyLock<Builtins> = LazyLock::new(|| Builtins::load(&BUILTIN_DOCUMENTS));

impl Builtins {
    /// Registers each document, skipping (and remembering the first of) those that fail.
    fn load(documents: &[(&str, &str)]) -> Builtins {
        let mut registry = SchemaRegistry::empty();
        let mut error = None;
        for (file, text) in documents {
            if let Err(e) = registry.register_str(text) {
                let urn = match &e {
                    Error::InvalidSchema { urn, .. } => urn.clone(),
                    _ => (*file).to_owned(),
                };
                error.get_or_insert((urn, format!("built-in schema {file}: {e}")));
            }
        }
        Builtins { registry, error }
    }
}

/// The schemas a service knows: the RFC 7643 User, Group and Enterprise User schemas built in,
/// and custom extension schemas registered at run time from RFC 7643 §7 schema documents.
///
/// URNs and attribute names are looked up case-insensitively (RFC 7643 §2.1). Besides the
/// attributes of its schemas, every resource has the common attributes `id`, `externalId`,
/// `meta` and `schemas` ([`common_attributes`](super::common_attributes)); lookups find them
/// whatever the base schema.
///
/// # Built-in schemas
///
/// [`SchemaRegistry::default`] knows the three schema documents of RFC 7643 §8.7.1. They are
/// embedded as JSON and read through [`SchemaRegistry::register_str`], the same path as custom
/// extensions; they are parsed once per process and shared (`Arc`), so `default()` costs a
/// few reference-count increments. A test guarantees that they parse; should one ever fail,
/// `default()` leaves it out (it never panics) and [`SchemaRegistry::with_builtins`] reports
/// the error.
///
/// ```
/// use scim_model::{AttributePath, SchemaRegistry, USER_SCHEMA};
/// use scim_model::schema::AttributeType;
///
/// let mut registry = SchemaRegistry::default();
/// registry.register_str(r#"{
///     "id": "urn:ietf:params:scim:schemas:extension:acme:1.0:User",
///     "attributes": [{"name": "HireDate", "type": "dateTime"}]
/// }"#).unwrap();
///
/// let path = AttributePath::new("hiredate")
///     .with_urn("urn:ietf:params:scim:schemas:extension:acme:1.0:User");
/// assert_eq!(registry.attribute_in(USER_SCHEMA, &path).unwrap().kind, AttributeType::DateTime);
/// let path = AttributePath::new("meta").with_sub_attribute("lastModified");
/// assert_eq!(registry.attribute_in(USER_SCHEMA, &path).unwrap().kind, AttributeType::DateTime);
/// ```
#[derive(Clone, Debug)]
pub struct SchemaRegistry {
    /// Keyed by the URN as registered; lookups fall back to a case-insensitive scan.
    schemas: BTreeMap<String, Arc<Schema>>,
}

impl Default for SchemaRegistry {
    /// The built-in RFC 7643 schemas (User, Group, Enterprise User): see
    /// [`SchemaRegistry::with_builtins`].
    fn default() -> Self {
        BUILTINS.registry.clone()
    }
}

impl SchemaRegistry {
    /// A registry that knows no schema at all (lookups still find the common attributes).
    pub fn empty() -> Self {
        SchemaRegistry {
            schemas: BTreeMap::new(),
        }
    }

    /// The built-in RFC 7643 §8.7.1 schemas, or the error that made one of them unreadable.
    ///
    /// [`SchemaRegistry::default`] is the same registry, without the error case.
    pub fn with_builtins() -> Result<Self> {
        match &BUILTINS.error {
            None => Ok(BUILTINS.registry.clone()),
            Some((urn, message)) => Err(Error::InvalidSchema {
                urn: urn.clone(),
                message: message.clone(),
            }),
        }
    }

    /// Adds a schema after checking it, replacing a schema with the same URN (compared
    /// case-insensitively).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] naming the schema and the attribute at fault when the URN or an
    /// attribute name is malformed, names repeat, or complex attributes are misdefined (see
    /// [`Schema::from_json`]).
    pub fn register(&mut self, schema: Schema) -> Result<()> {
        check_schema(&schema)?;
        self.insert(schema);
        Ok(())
    }

    /// Adds a schema from an RFC 7643 §7 schema document (see [`SchemaRegistry::register`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] naming the schema, the attribute and the field at fault: a
    /// missing or ill-typed field, an unknown `type`, `mutability`, `returned` or `uniqueness`
    /// value, or a broken rule of [`SchemaRegistry::register`].
    pub fn register_json(&mut self, doc: &Value) -> Result<()> {
        self.register(Schema::from_json(doc)?)
    }

    /// Adds a schema from the JSON text of an RFC 7643 §7 schema document.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the text is not JSON, else as [`SchemaRegistry::register_json`].
    pub fn register_str(&mut self, text: &str) -> Result<()> {
        self.register(text.parse()?)
    }

    /// Adds (or replaces) a schema without checking it.
    pub(crate) fn insert(&mut self, schema: Schema) {
        if let Some(old) = self.key_of(&schema.id).map(str::to_owned) {
            self.schemas.remove(&old);
        }
        self.schemas.insert(schema.id.clone(), Arc::new(schema));
    }

    /// Removes a schema by URN (case-insensitively) and gives it back.
    pub fn remove(&mut self, urn: &str) -> Option<Schema> {
        let key = self.key_of(urn)?.to_owned();
        self.schemas
            .remove(&key)
            .map(|s| Arc::try_unwrap(s).unwrap_or_else(|shared| (*shared).clone()))
    }

    fn key_of(&self, urn: &str) -> Option<&str> {
        if let Some((k, _)) = self.schemas.get_key_value(urn) {
            return Some(k);
        }
        self.schemas
            .keys()
            .find(|k| k.eq_ignore_ascii_case(urn))
            .map(String::as_str)
    }

    /// A schema by URN, case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        if let Some(s) = self.schemas.get(urn) {
            return Some(s);
        }
        self.schemas
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(urn))
            .map(|(_, s)| &**s)
    }

    /// Whether a schema with this URN is registered (case-insensitively).
    pub fn contains(&self, urn: &str) -> bool {
        self.schema(urn).is_some()
    }

    /// Every registered schema, ordered by URN.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.values().map(|s| &**s)
    }

    /// The definition of the attribute a path names, for a resource whose base schema is
    /// `base_schema`. With a sub-attribute, the sub-attribute's definition. The filter of a
    /// value path (`emails[type eq "work"].value`) is ignored.
    ///
    /// - A URN-qualified path (`urn:…:enterprise:2.0:User:manager.value`) is looked up in that
    ///   schema; an unqualified one in `base_schema`. Unqualified names belong to the base
    ///   schema only (RFC 7644 §3.10): an extension's attribute is not found without its URN,
    ///   even when no core attribute has that name.
    /// - The common attributes (`id`, `externalId`, `meta`, `schemas`) are found for an
    ///   unqualified path or one qualified with the base schema's URN, whatever the base
    ///   schema (even one the registry does not know). A schema's own definition of the same
    ///   name wins.
    /// - URNs and names compare case-insensitively.
    pub fn attribute_in(&self, base_schema: &str, path: &AttributePath) -> Option<&Attribute> {
        self.lookup(Some(base_schema), path)
    }

    /// The definition of the attribute a path names in a resource (see
    /// [`SchemaRegistry::attribute_in`]; the base schema is [`Resource::base_schema`]). For a
    /// resource without a base schema, unqualified paths find only the common attributes.
    pub fn attribute(&self, resource: &Resource, path: &AttributePath) -> Option<&Attribute> {
        self.lookup(resource.base_schema(), path)
    }

    fn lookup(&self, base: Option<&str>, path: &AttributePath) -> Option<&Attribute> {
        let (urn, in_base) = match (path.urn(), base) {
            (Some(urn), Some(base)) => (Some(urn), urn.eq_ignore_ascii_case(base)),
            (Some(urn), None) => (Some(urn), false),
            (None, base) => (base, true),
        };
        let own = urn
            .and_then(|u| self.schema(u))
            .and_then(|s| s.attribute(path.name()));
        let attr = match own {
            Some(a) => a,
            None if in_base => common_attribute(path.name())?,
            None => return None,
        };
        match path.sub_attribute() {
            Some(sub) => attr.sub_attribute(sub),
            None => Some(attr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AttributeType;
    use crate::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    /// A path from `[urn:]name[.sub]` (built directly, independent of the path parser).
    fn path(s: &str) -> AttributePath {
        let (urn, rest) = match s.rfind(':') {
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, sub)) => (n, Some(sub)),
            None => (rest, None),
        };
        let mut p = AttributePath::new(name);
        if let Some(urn) = urn {
            p = p.with_urn(urn);
        }
        if let Some(sub) = sub {
            p = p.with_sub_attribute(sub);
        }
        p
    }

    #[test]
    fn builtins_parse_and_default_has_them() {
        let strict = SchemaRegistry::with_builtins().unwrap();
        let urns: Vec<_> = strict.schemas().map(|s| s.id.as_str()).collect();
        assert_eq!(urns, [GROUP_SCHEMA, USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        let default = SchemaRegistry::default();
        assert_eq!(default.schemas().count(), 3);
        assert!(default.contains("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"));
    }

    #[test]
    fn a_broken_builtin_is_skipped_and_reported() {
        let loaded = Builtins::load(&[
            (
                "a.json",
                r#"{"id": "urn:example:a:1.0:A", "attributes": []}"#,
            ),
            (
                "b.json",
                r#"{"id": "urn:example:b:1.0:B", "attributes": [{"name": "x"}]}"#,
            ),
            ("c.json", "not json"),
        ]);
        assert_eq!(loaded.registry.schemas().count(), 1);
        let (urn, message) = loaded.error.unwrap();
        assert_eq!(urn, "urn:example:b:1.0:B");
        assert!(message.starts_with("built-in schema b.json: "), "{message}");
    }

    #[test]
    fn lookups_are_case_insensitive_and_know_sub_attributes() {
        let r = SchemaRegistry::default();
        let a = r.attribute_in(USER_SCHEMA, &path("USERNAME")).unwrap();
        assert_eq!(a.name, "userName");
        assert!(!a.case_exact);
        let a = r
            .attribute_in(USER_SCHEMA, &path("name.GivenName"))
            .unwrap();
        assert_eq!(a.name, "givenName");
        let a = r
            .attribute_in(
                USER_SCHEMA,
                &path("urn:ietf:params:scim:schemas:core:2.0:user:userName"),
            )
            .unwrap();
        assert_eq!(a.name, "userName");
        let a = r
            .attribute_in(
                USER_SCHEMA,
                &path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            )
            .unwrap();
        assert_eq!(a.name, "value");
        assert!(r.attribute_in(GROUP_SCHEMA, &path("userName")).is_none());
        assert!(r.attribute_in(USER_SCHEMA, &path("name.nope")).is_none());
        assert!(
            r.attribute_in(USER_SCHEMA, &path("userName.nope"))
                .is_none()
        );
    }

    #[test]
    fn unqualified_extension_names_are_not_found() {
        let r = SchemaRegistry::default();
        assert!(
            r.attribute_in(USER_SCHEMA, &path("employeeNumber"))
                .is_none()
        );
        assert!(r.attribute_in(USER_SCHEMA, &path("manager")).is_none());
    }

    #[test]
    fn common_attributes_are_found_for_any_base() {
        let r = SchemaRegistry::default();
        for base in [USER_SCHEMA, GROUP_SCHEMA, "urn:example:unknown:1.0:Thing"] {
            let id = r.attribute_in(base, &path("id")).unwrap();
            assert!(id.case_exact);
            let lm = r.attribute_in(base, &path("meta.lastModified")).unwrap();
            assert_eq!(lm.kind, AttributeType::DateTime);
            assert!(
                r.attribute_in(base, &path("externalId"))
                    .unwrap()
                    .case_exact
            );
            assert!(r.attribute_in(base, &path("schemas")).unwrap().multi_valued);
        }
        let qualified = path("urn:ietf:params:scim:schemas:core:2.0:User:meta.created");
        assert!(r.attribute_in(USER_SCHEMA, &qualified).is_some());
        // `id` does not belong to the enterprise extension.
        let ext_id = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:id");
        assert!(r.attribute_in(USER_SCHEMA, &ext_id).is_none());
    }

    #[test]
    fn attribute_uses_the_resource_base_schema() {
        let r = SchemaRegistry::default();
        let group: Resource =
            serde_json::from_value(serde_json::json!({"schemas": [GROUP_SCHEMA]})).unwrap();
        assert!(r.attribute(&group, &path("members.value")).is_some());
        assert!(r.attribute(&group, &path("userName")).is_none());
        let bare = Resource::default();
        assert!(r.attribute(&bare, &path("id")).is_some());
        assert!(r.attribute(&bare, &path("userName")).is_none());
        assert!(
            r.attribute(
                &bare,
                &path("urn:ietf:params:scim:schemas:core:2.0:User:userName")
            )
            .is_some()
        );
    }

    #[test]
    fn register_replaces_case_insensitively_and_remove_works() {
        let mut r = SchemaRegistry::empty();
        r.register_str(
            r#"{"id": "urn:example:a:1.0:X", "attributes": [{"name": "a", "type": "string"}]}"#,
        )
        .unwrap();
        r.register_str(
            r#"{"id": "URN:EXAMPLE:A:1.0:X", "attributes": [{"name": "b", "type": "string"}]}"#,
        )
        .unwrap();
        assert_eq!(r.schemas().count(), 1);
        assert!(
            r.schema("urn:example:a:1.0:x")
                .unwrap()
                .attribute("b")
                .is_some()
        );
        assert!(r.remove("urn:example:a:1.0:x").is_some());
        assert!(!r.contains("urn:example:a:1.0:X"));
        assert!(matches!(r.register_str("{"), Err(Error::Json { .. })));
    }
}
