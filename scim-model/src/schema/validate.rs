//! Validation of a resource against the registry's schemas.
//!
//! The rules are documented on [`SchemaRegistry::validate`].

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::common::{common_attribute, common_attributes};
use super::values::{describe, is_unassigned, type_mismatch};
use super::{Attribute, AttributeType, Mutability, SchemaRegistry};
use crate::resource::{get_ci, is_urn};
use crate::{Resource, ScimType};

/// What a validated resource is for: mutability rules differ between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// A resource as a client sends it to create (POST): `readOnly` attributes are rejected.
    Create,
    /// A resource as a client sends it to replace (PUT): `readOnly` attributes other than `id`
    /// and `meta` are rejected.
    Replace,
    /// A resource as a server stores or returns it: mutability is not checked, and `readOnly`
    /// required attributes (`id`) must be there.
    Stored,
}

/// One problem found by validation: where, what kind (RFC 7644 `scimType`), and what.
///
/// Serialised as `{"path": "...", "message": "..."}` (the shape the `idflow validate` tool
/// prints); `scim_type` is for building an RFC 7644 error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// The attribute path, with list indexes: `emails[0].value`.
    pub path: String,
    /// The RFC 7644 `scimType`.
    #[serde(skip)]
    pub scim_type: ScimType,
    /// What was wrong.
    pub message: String,
}

impl ValidationIssue {
    /// An issue at `path` (e.g. `emails[0].value`) of kind `scim_type`.
    pub fn new(path: impl Into<String>, scim_type: ScimType, message: impl Into<String>) -> Self {
        ValidationIssue {
            path: path.into(),
            scim_type,
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationIssue {
    /// `path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Knobs of [`SchemaRegistry::validate_with`]; the default is what
/// [`SchemaRegistry::validate`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// Strict RFC 7643: every URN in `schemas` must be known, an extension block must be
    /// listed in `schemas`, and `meta` may not be sent on Create even when it holds only
    /// `resourceType`. Off by default: Microsoft Entra does all three.
    pub strict: bool,
    /// Whether string values must be among their attribute's `canonicalValues`. On by default.
    pub canonical_values: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            strict: false,
            canonical_values: true,
        }
    }
}

impl ValidationOptions {
    /// The strict options: see [`ValidationOptions::strict`](#structfield.strict).
    pub fn strict() -> Self {
        ValidationOptions {
            strict: true,
            ..Self::default()
        }
    }

    /// Turns the canonical values check on or off.
    pub fn with_canonical_values(mut self, on: bool) -> Self {
        self.canonical_values = on;
        self
    }
}

impl SchemaRegistry {
    /// Checks a resource against the schemas it lists; an empty list means valid. Never
    /// panics, whatever the resource holds.
    ///
    /// # What is checked
    ///
    /// - `schemas` is present, a non-empty list, names a base schema, and every URN in it is
    ///   known to the registry (else `invalidValue` at `schemas[i]`). Unless
    ///   [`ValidationOptions::strict`], an unknown URN is let pass when it is not the base
    ///   schema and the resource has no attributes under it: Microsoft Entra lists
    ///   `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group` in the
    ///   `schemas` of every Group it creates, and no value depends on it.
    /// - Every attribute is defined: top-level names by the base schema or the common attributes
    ///   (`id`, `externalId`, `meta`), sub-attributes by their complex attribute, extension
    ///   attributes by their extension's schema. An unknown name is an issue with scimType
    ///   `invalidValue` (RFC 7644 Table 9: "not compatible with the ... resource schema"); an
    ///   object under a URN that no registered schema has is an unknown attribute too, unless
    ///   `schemas` lists that URN (then the issue is reported once, at `schemas[i]`).
    /// - Required attributes and sub-attributes are assigned (not absent, `null`, `[]` or `""`).
    ///   A `readOnly` required attribute (`id`) is required only of a
    ///   [`Operation::Stored`] resource: the service provider assigns it.
    /// - Each value has its attribute's type (RFC 7643 §2.3): string; boolean; decimal (a JSON
    ///   number); integer (a JSON number without fraction or exponent); dateTime (RFC 3339 with
    ///   upper-case `T` and a zone, `Z` or an offset); reference (a string); binary (padded base64);
    ///   complex (an object whose keys are its sub-attributes). A multi-valued attribute must be
    ///   an array (a lone value is an issue, not wrapped silently), a single-valued one must not
    ///   be; `null` inside an array is an issue; at most one value of a multi-valued complex
    ///   attribute may have `"primary": true` (RFC 7643 §2.4).
    /// - Canonical values: a string outside an attribute's `canonicalValues` is an
    ///   `invalidValue` issue, compared case-insensitively unless the attribute is `caseExact`.
    ///   RFC 7643 calls canonical values suggestions; the check is on by default because a
    ///   provisioning pipeline that writes `"type": "Work "` wants to hear about it. Turn it off
    ///   with [`ValidationOptions::with_canonical_values`].
    /// - Mutability: a `readOnly` attribute (or sub-attribute of a writable one) sent by a client
    ///   ([`Operation::Create`] or [`Operation::Replace`]) is a `mutability` issue. Exceptions:
    ///   on Replace, `id` and `meta` may be sent (RFC 7644 §3.5.1 PUT bodies carry `id`;
    ///   [`SchemaRegistry::validate_change`] checks that they did not change); on Create, a
    ///   `meta` holding only `resourceType` is accepted unless [`ValidationOptions::strict`],
    ///   because Microsoft Entra sends exactly that on every POST.
    /// - Extension blocks whose URN is registered but missing from `schemas` are validated as if
    ///   listed. RFC 7643 §3 says `schemas` lists every extension used, but Entra omits custom
    ///   extension URNs from `schemas`; in [`ValidationOptions::strict`] mode it is an issue.
    ///
    /// Unqualified names belong to the base schema only (RFC 7644 §3.10): an extension's
    /// attribute written at the top level is an unknown attribute.
    ///
    /// Issues come in document order (the resource's key order), each followed by the missing
    /// required attributes of its level; paths have list indexes (`emails[0].value`) and
    /// extension attributes their URN (`urn:…:acme:1.0:User:HireDate`), spelled as in the
    /// resource.
    ///
    /// # Example
    ///
    /// ```
    /// use scim_model::{Resource, SchemaRegistry};
    /// use scim_model::schema::Operation;
    ///
    /// let user: Resource = serde_json::from_str(r#"{
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "userName": "bjensen",
    ///     "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": 7}]
    /// }"#).unwrap();
    /// let issues = SchemaRegistry::default().validate(&user, Operation::Create);
    /// assert_eq!(issues.len(), 1);
    /// assert_eq!(issues[0].path, "emails[1].value");
    /// assert_eq!(issues[0].message, "expected a string, found 7");
    /// ```
    pub fn validate(&self, resource: &Resource, op: Operation) -> Vec<ValidationIssue> {
        self.validate_with(resource, op, &ValidationOptions::default())
    }

    /// [`SchemaRegistry::validate`] with options.
    pub fn validate_with(
        &self,
        resource: &Resource,
        op: Operation,
        options: &ValidationOptions,
    ) -> Vec<ValidationIssue> {
        let mut w = Walker {
            op,
            options: *options,
            path: Vec::new(),
            issues: Vec::new(),
        };
        let obj = resource.as_object();
        self.check_schemas(&mut w, resource);
        let base_urn = resource.base_schema();
        let base = base_urn.and_then(|u| self.schema(u));
        for (key, value) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let own = base.and_then(|s| s.attribute(key));
            if let Some(def) = own.or_else(|| common_attribute(key)) {
                let check_read_only = match op {
                    Operation::Stored => false,
                    Operation::Replace => own.is_some() || !is_id_or_meta(key),
                    Operation::Create => {
                        own.is_some()
                            || options.strict
                            || !(key.eq_ignore_ascii_case("meta") && only_resource_type(value))
                    }
                };
                w.path.push(Seg::Name(key));
                w.attribute(def, value, check_read_only);
                w.path.pop();
            } else if is_urn(key) {
                self.extension_block(&mut w, resource, key, value);
            } else if let Some(base) = base {
                w.path.push(Seg::Name(key));
                w.issue(
                    ScimType::InvalidValue,
                    format!("unknown attribute: the schema {:?} has no {key:?}", base.id),
                );
                w.path.pop();
            }
            // An unknown base schema was reported at `schemas`; its attributes cannot be told.
        }
        if let Some(base) = base {
            w.required(&base.attributes, obj);
        }
        w.required(common_attributes(), obj);
        w.issues
    }

    /// `schemas`: present, a non-empty array of known URNs, with a base schema.
    fn check_schemas<'a>(&self, w: &mut Walker<'a>, resource: &'a Resource) {
        let obj = resource.as_object();
        let (key, value) = match obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")) {
            Some((k, v)) => (k.as_str(), v),
            None => ("schemas", &Value::Null),
        };
        w.path.push(Seg::Name(key));
        match value {
            Value::Null => w.issue(
                ScimType::InvalidValue,
                "required attribute is missing: a resource lists the URNs of its schemas".into(),
            ),
            Value::Array(urns) if urns.is_empty() => w.issue(
                ScimType::InvalidValue,
                "required attribute is empty: list at least the base schema's URN".into(),
            ),
            Value::Array(urns) => {
                let base = resource.base_schema();
                for (i, urn) in urns.iter().enumerate() {
                    w.path.push(Seg::Index(i));
                    match urn.as_str() {
                        Some(u) if self.contains(u) => {}
                        // Entra lists a schema of its own that carries no attributes; lenient
                        // mode lets a URN pass that no data depends on.
                        Some(u)
                            if !w.options.strict
                                && base.is_none_or(|b| !b.eq_ignore_ascii_case(u))
                                && get_ci(obj, u).is_none() => {}
                        Some(u) => w.issue(
                            ScimType::InvalidValue,
                            format!("unknown schema {u:?}: it is neither built in nor registered"),
                        ),
                        None => w.issue(
                            ScimType::InvalidValue,
                            format!("expected a schema URN (a string), found {}", describe(urn)),
                        ),
                    }
                    w.path.pop();
                }
                if base.is_none() {
                    w.issue(
                        ScimType::InvalidValue,
                        "no base schema: every URN listed is an extension".into(),
                    );
                }
            }
            other => w.issue(
                ScimType::InvalidValue,
                format!(
                    "expected an array of schema URNs, found {}",
                    describe(other)
                ),
            ),
        }
        w.path.pop();
    }

    /// A top-level key that is a URN: an extension block.
    fn extension_block<'a>(
        &'a self,
        w: &mut Walker<'a>,
        resource: &'a Resource,
        key: &'a str,
        value: &'a Value,
    ) {
        let listed = resource.has_schema(key);
        match (self.schema(key), value) {
            (Some(schema), Value::Object(block)) => {
                if !listed && w.options.strict {
                    w.path.push(Seg::Name(key));
                    w.issue(
                        ScimType::InvalidValue,
                        "extension present but not listed in \"schemas\" (RFC 7643 §3)".into(),
                    );
                    w.path.pop();
                }
                w.path.push(Seg::Urn(key));
                let check_read_only = w.op != Operation::Stored;
                w.members(&schema.attributes, block, check_read_only, &schema.id);
                w.required(&schema.attributes, block);
                w.path.pop();
            }
            (Some(_), other) => {
                w.path.push(Seg::Name(key));
                w.issue(
                    ScimType::InvalidValue,
                    format!(
                        "expected an object holding the extension's attributes, found {}",
                        describe(other)
                    ),
                );
                w.path.pop();
            }
            (None, _) if listed => {}
            (None, _) => {
                w.path.push(Seg::Name(key));
                w.issue(
                    ScimType::InvalidValue,
                    "unknown attribute: no registered schema has this URN".into(),
                );
                w.path.pop();
            }
        }
    }
}

fn is_id_or_meta(key: &str) -> bool {
    key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("meta")
}

/// Whether a `meta` value holds nothing but `resourceType` (what Entra sends on POST).
fn only_resource_type(meta: &Value) -> bool {
    meta.as_object().is_some_and(|m| {
        m.iter()
            .all(|(k, v)| k.eq_ignore_ascii_case("resourceType") || v.is_null())
    })
}

/// One step of an issue's path.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    /// An attribute or sub-attribute name.
    Name(&'a str),
    /// An index into a multi-valued attribute.
    Index(usize),
    /// An extension's URN: the names after it are joined with `:` for the first.
    Urn(&'a str),
}

/// The state of one validation: where it is, and what it found.
struct Walker<'a> {
    op: Operation,
    options: ValidationOptions,
    path: Vec<Seg<'a>>,
    issues: Vec<ValidationIssue>,
}

impl<'a> Walker<'a> {
    /// The current path as text; built only when there is an issue to report.
    fn path_text(&self) -> String {
        let mut s = String::new();
        let mut prev: Option<Seg<'a>> = None;
        for seg in &self.path {
            match *seg {
                Seg::Urn(u) => s.push_str(u),
                Seg::Name(n) => {
                    match prev {
                        None => {}
                        Some(Seg::Urn(_)) => s.push(':'),
                        Some(_) => s.push('.'),
                    }
                    s.push_str(n);
                }
                Seg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
            prev = Some(*seg);
        }
        s
    }

    fn issue(&mut self, scim_type: ScimType, message: String) {
        let path = self.path_text();
        self.issues
            .push(ValidationIssue::new(path, scim_type, message));
    }

    /// Checks one attribute's value; the path already ends with its name. `check_read_only`
    /// is false for a server's resource, inside a `readOnly` attribute already judged, and for
    /// the allowed exceptions.
    fn attribute(&mut self, def: &'a Attribute, value: &'a Value, check_read_only: bool) {
        if value.is_null() {
            return;
        }
        if def.mutability == Mutability::ReadOnly && check_read_only {
            if !is_unassigned(Some(value)) {
                self.issue(
                    ScimType::Mutability,
                    "readOnly attribute: the service provider sets it, a client may not send it"
                        .into(),
                );
            }
            return;
        }
        match (def.multi_valued, value) {
            (true, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    match item {
                        Value::Null => self.issue(
                            ScimType::InvalidValue,
                            "null is not a value: leave it out of the list".into(),
                        ),
                        Value::Array(_) => self.issue(
                            ScimType::InvalidValue,
                            "expected a single value, found an array (lists do not nest)".into(),
                        ),
                        _ => self.single(def, item, check_read_only),
                    }
                    self.path.pop();
                }
                self.primary(def, items);
            }
            (true, other) => self.issue(
                ScimType::InvalidValue,
                format!(
                    "expected an array ({:?} is multi-valued), found {}",
                    def.name,
                    describe(other)
                ),
            ),
            (false, Value::Array(_)) => self.issue(
                ScimType::InvalidValue,
                format!(
                    "expected a single value ({:?} is single-valued), found an array",
                    def.name
                ),
            ),
            (false, v) => self.single(def, v, check_read_only),
        }
    }

    /// Checks one value (an element of a multi-valued attribute, or a single value).
    fn single(&mut self, def: &'a Attribute, value: &'a Value, check_read_only: bool) {
        if let Some(message) = type_mismatch(def.kind, value) {
            self.issue(ScimType::InvalidValue, message);
            return;
        }
        match (def.kind, value) {
            (AttributeType::Complex, Value::Object(obj)) => {
                self.members(&def.sub_attributes, obj, check_read_only, &def.name);
                self.required(&def.sub_attributes, obj);
            }
            (AttributeType::String, Value::String(s))
                if self.options.canonical_values && !def.canonical_values.is_empty() =>
            {
                let known = def.canonical_values.iter().any(|c| {
                    if def.case_exact {
                        c == s
                    } else {
                        c.eq_ignore_ascii_case(s) || c.to_lowercase() == s.to_lowercase()
                    }
                });
                if !known {
                    self.issue(
                        ScimType::InvalidValue,
                        format!(
                            "{} is not one of the canonical values {}",
                            describe(value),
                            def.canonical_values.join(", ")
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    /// Checks the members of an object (a complex value or an extension block) against the
    /// definitions of its level; `owner` names the level in messages.
    fn members(
        &mut self,
        defs: &'a [Attribute],
        obj: &'a Map<String, Value>,
        check_read_only: bool,
        owner: &str,
    ) {
        for (key, value) in obj {
            self.path.push(Seg::Name(key));
            match defs.iter().find(|a| a.name.eq_ignore_ascii_case(key)) {
                Some(def) => self.attribute(def, value, check_read_only),
                None => self.issue(
                    ScimType::InvalidValue,
                    format!("unknown attribute: {owner:?} has no {key:?}"),
                ),
            }
            self.path.pop();
        }
    }

    /// Reports the required attributes of a level that are unassigned or empty.
    fn required(&mut self, defs: &'a [Attribute], obj: &'a Map<String, Value>) {
        for def in defs.iter().filter(|d| d.required) {
            if def.mutability == Mutability::ReadOnly && self.op != Operation::Stored {
                continue;
            }
            if def.name.eq_ignore_ascii_case("schemas") && self.path.is_empty() {
                continue; // checked first, by `check_schemas`
            }
            let value = get_ci(obj, &def.name);
            let message = if is_unassigned(value) {
                "required attribute is missing"
            } else if value.and_then(Value::as_str) == Some("") {
                "required attribute is empty"
            } else {
                continue;
            };
            self.path.push(Seg::Name(&def.name));
            self.issue(ScimType::InvalidValue, message.into());
            self.path.pop();
        }
    }

    /// At most one value of a multi-valued complex attribute may be primary (RFC 7643 §2.4).
    fn primary(&mut self, def: &'a Attribute, items: &'a [Value]) {
        if def.kind != AttributeType::Complex || def.sub_attribute("primary").is_none() {
            return;
        }
        let primaries = items
            .iter()
            .filter(|v| {
                v.as_object()
                    .and_then(|o| get_ci(o, "primary"))
                    .and_then(Value::as_bool)
                    == Some(true)
            })
            .count();
        if primaries > 1 {
            self.issue(
                ScimType::InvalidValue,
                format!(
                    "{primaries} values have \"primary\": true; at most one may (RFC 7643 §2.4)"
                ),
            );
        }
    }
}
