//! [`Resource`]: a SCIM resource as received, readable by attribute path.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Error, Limits, Result};

mod project;

/// The URN of the RFC 7643 core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The URN of the RFC 7643 core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The URN of the RFC 7643 Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A SCIM resource (RFC 7643 §3): `schemas`, `id`, `externalId`, `meta`, the core attributes of
/// its base schema, and each extension's attributes in an object under the extension's URN.
///
/// `Resource` keeps the JSON it was given: attribute names keep their spelling, attributes keep
/// their order, and attributes or extensions that no schema describes round-trip unchanged.
/// Reads are case-insensitive, as RFC 7643 §2.1 requires: `get("USERNAME")` finds `userName`.
/// Writes keep an existing attribute's spelling.
///
/// Deserialising checks only the shape every resource must have (an object; `schemas` a list
/// of strings; `id` and `externalId` strings; `meta` an object). Checking values against
/// schemas is [`SchemaRegistry::validate`](crate::SchemaRegistry::validate)'s job.
///
/// ```
/// use scim_model::Resource;
///
/// let r: Resource = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
///                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
///     "id": "2819c223", "userName": "bjensen",
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"}
/// }"#).unwrap();
/// assert_eq!(r.id(), Some("2819c223"));
/// assert_eq!(r.get("USERNAME").and_then(|v| v.as_str()), Some("bjensen"));
/// let ext = r.extension("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user").unwrap();
/// assert_eq!(ext["department"], "Tour Operations");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    attrs: Map<String, Value>,
}

/// Finds `name` among a JSON object's keys: exactly first (cheap), then case-insensitively.
pub(crate) fn find_key<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Option<(&'a String, &'a Value)> {
    if let Some(kv) = map.get_key_value(name) {
        return Some(kv);
    }
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Case-insensitive lookup in a JSON object (exact match first).
pub fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    find_key(map, name).map(|(_, v)| v)
}

/// Case-insensitive mutable lookup in a JSON object (exact match first).
pub fn get_ci_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = find_key(map, name).map(|(k, _)| k.clone())?;
    map.get_mut(&key)
}

/// Inserts into a JSON object, replacing a value whose key matches case-insensitively and
/// keeping that key's spelling and position. Returns the previous value.
pub fn insert_ci(map: &mut Map<String, Value>, name: &str, value: Value) -> Option<Value> {
    match find_key(map, name).map(|(k, _)| k.clone()) {
        Some(key) => map.insert(key, value),
        None => map.insert(name.to_owned(), value),
    }
}

/// Removes from a JSON object the key that matches case-insensitively, keeping the order of
/// the others. Returns the removed value.
pub fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = find_key(map, name).map(|(k, _)| k.clone())?;
    map.shift_remove(&key)
}

/// Whether a top-level key names a schema URN (an extension block) rather than an attribute.
pub(crate) fn is_urn(key: &str) -> bool {
    key.len() > 4 && key[..4].eq_ignore_ascii_case("urn:")
}

impl Resource {
    /// An empty resource with the given `schemas`.
    pub fn new<I, S>(schemas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let schemas: Vec<Value> = schemas
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        let mut attrs = Map::new();
        attrs.insert("schemas".to_owned(), Value::Array(schemas));
        Resource { attrs }
    }

    /// Reads a resource from a JSON object, checking the shape every resource must have.
    pub fn from_object(attrs: Map<String, Value>) -> Result<Self> {
        check_shape(&attrs)?;
        Ok(Resource { attrs })
    }

    /// Reads a resource from a JSON value, which must be an object.
    pub fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Object(attrs) => Self::from_object(attrs),
            other => Err(Error::InvalidSyntax {
                context: "resource".to_owned(),
                message: format!("expected a JSON object, found {}", json_kind(&other)),
            }),
        }
    }

    /// Reads a resource from JSON text, refusing payloads over `limits.max_payload_bytes`.
    pub fn from_json_str(text: &str, limits: &Limits) -> Result<Self> {
        if text.len() > limits.max_payload_bytes {
            return Err(Error::TooLong {
                what: "payload",
                len: text.len(),
                max: limits.max_payload_bytes,
            });
        }
        let attrs: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| Error::json("resource", e))?;
        Self::from_object(attrs)
    }

    /// The resource as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.attrs.clone())
    }

    /// The resource's JSON object, in received order and spelling.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.attrs
    }

    /// The resource's JSON object, for changes this type has no method for.
    ///
    /// The caller keeps the shape valid (`schemas` a list of strings, `id` a string, ...).
    pub fn as_object_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.attrs
    }

    /// Gives back the JSON object.
    pub fn into_object(self) -> Map<String, Value> {
        self.attrs
    }

    /// `id`, the service provider's identifier.
    pub fn id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }

    /// Sets `id`.
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.set("id", Value::String(id.into()));
    }

    /// `externalId`, the client's identifier.
    pub fn external_id(&self) -> Option<&str> {
        self.get("externalId").and_then(Value::as_str)
    }

    /// Sets `externalId`.
    pub fn set_external_id(&mut self, external_id: impl Into<String>) {
        self.set("externalId", Value::String(external_id.into()));
    }

    /// The URNs in `schemas`, in order.
    pub fn schemas(&self) -> impl Iterator<Item = &str> {
        self.get("schemas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// Whether `schemas` lists `urn` (case-insensitively).
    pub fn has_schema(&self, urn: &str) -> bool {
        self.schemas().any(|s| s.eq_ignore_ascii_case(urn))
    }

    /// Adds `urn` to `schemas` unless it is already there.
    pub fn add_schema(&mut self, urn: &str) {
        if self.has_schema(urn) {
            return;
        }
        match get_ci_mut(&mut self.attrs, "schemas") {
            Some(Value::Array(list)) => list.push(Value::String(urn.to_owned())),
            _ => {
                insert_ci(
                    &mut self.attrs,
                    "schemas",
                    Value::Array(vec![Value::String(urn.to_owned())]),
                );
            }
        }
    }

    /// The base schema: the first URN in `schemas` that is not an extension present in the
    /// resource and does not contain `:extension:`. For a User this is
    /// [`USER_SCHEMA`].
    pub fn base_schema(&self) -> Option<&str> {
        self.schemas()
            .find(|s| !s.contains(":extension:") && find_key(&self.attrs, s).is_none())
    }

    /// `meta.resourceType`, e.g. `User`.
    pub fn resource_type(&self) -> Option<&str> {
        self.meta()
            .and_then(|m| get_ci(m, "resourceType"))
            .and_then(Value::as_str)
    }

    /// The `meta` object.
    pub fn meta(&self) -> Option<&Map<String, Value>> {
        self.get("meta").and_then(Value::as_object)
    }

    /// A top-level attribute (core attribute, `id`, `meta`, ... or a whole extension block by
    /// its URN), found case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Value> {
        get_ci(&self.attrs, name)
    }

    /// A top-level attribute for changing in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        get_ci_mut(&mut self.attrs, name)
    }

    /// Sets a top-level attribute, keeping the spelling and position of an existing one.
    /// Returns the previous value.
    pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        insert_ci(&mut self.attrs, name, value)
    }

    /// Removes a top-level attribute. Returns the removed value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        remove_ci(&mut self.attrs, name)
    }

    /// An extension block by its URN, found case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Map<String, Value>> {
        self.get(urn).and_then(Value::as_object)
    }

    /// An extension block for changing, created (and its URN added to `schemas`) if absent.
    pub fn extension_mut(&mut self, urn: &str) -> &mut Map<String, Value> {
        let key = match find_key(&self.attrs, urn) {
            Some((k, _)) => k.clone(),
            None => {
                self.add_schema(urn);
                urn.to_owned()
            }
        };
        let slot = self.attrs.entry(key).or_insert(Value::Null);
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(map) => map,
            _ => unreachable!("the slot was made an object just above"),
        }
    }

    /// The extension URNs present as top-level keys, in order.
    pub fn extension_urns(&self) -> impl Iterator<Item = &str> {
        self.attrs
            .iter()
            .filter(|(k, v)| is_urn(k) && v.is_object())
            .map(|(k, _)| k.as_str())
    }

    /// The attribute `name` in the schema `urn` (or in the base schema when `urn` is `None`).
    ///
    /// `urn` resolves, case-insensitively, to an extension block present in the resource, or
    /// to the resource's own base schema (so `urn:ietf:params:scim:schemas:core:2.0:User:userName`
    /// reads `userName` of a User). Otherwise `urn:name` is read as one top-level key: a whole
    /// extension block (`urn:…:enterprise:2.0` and `User`), or a flattened
    /// `"urn:…:User:department"` key as some clients send them.
    pub fn attribute(&self, urn: Option<&str>, name: &str) -> Option<&Value> {
        let Some(urn) = urn else {
            return self.get(name);
        };
        if let Some(block) = self.extension(urn) {
            return get_ci(block, name);
        }
        if self.is_base_urn(urn) {
            return self.get(name);
        }
        // A key that spells the whole qualified name: `urn:…:enterprise:2.0:User` parsed as URN
        // `urn:…:enterprise:2.0` + name `User` (a whole extension block), or a flattened
        // `"urn:…:User:department": …` key as some clients send it. Read either, whatever the
        // value's type.
        let mut whole = String::with_capacity(urn.len() + 1 + name.len());
        whole.push_str(urn);
        whole.push(':');
        whole.push_str(name);
        self.get(&whole)
    }

    /// Whether `urn` is this resource's base schema: listed in `schemas` and not an extension
    /// block, or — for a resource without `schemas` — an RFC 7643 core schema URN.
    pub fn is_base_urn(&self, urn: &str) -> bool {
        if self.extension(urn).is_some() {
            return false;
        }
        if self.get("schemas").is_some() {
            self.has_schema(urn)
        } else {
            const CORE: &str = "urn:ietf:params:scim:schemas:core:";
            urn.len() > CORE.len()
                && urn.as_bytes()[..CORE.len()].eq_ignore_ascii_case(CORE.as_bytes())
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_shape(attrs: &Map<String, Value>) -> Result<()> {
    let bad = |field: &str, expected: &str, found: &Value| Error::InvalidSyntax {
        context: "resource".to_owned(),
        message: format!("\"{field}\" must be {expected}, found {}", json_kind(found)),
    };
    if let Some(v) = get_ci(attrs, "schemas") {
        match v {
            Value::Array(items) => {
                if let Some(item) = items.iter().find(|i| !i.is_string()) {
                    return Err(bad("schemas", "a list of strings", item));
                }
            }
            other => return Err(bad("schemas", "a list of strings", other)),
        }
    }
    for field in ["id", "externalId"] {
        if let Some(v) = get_ci(attrs, field)
            && !v.is_string()
        {
            return Err(bad(field, "a string", v));
        }
    }
    if let Some(v) = get_ci(attrs, "meta")
        && !v.is_object()
    {
        return Err(bad("meta", "an object", v));
    }
    Ok(())
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.attrs.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let attrs = Map::<String, Value>::deserialize(deserializer)?;
        check_shape(&attrs).map_err(D::Error::custom)?;
        Ok(Resource { attrs })
    }
}

impl TryFrom<Value> for Resource {
    type Error = Error;

    fn try_from(value: Value) -> Result<Self> {
        Resource::from_value(value)
    }
}

impl From<Resource> for Value {
    fn from(r: Resource) -> Value {
        Value::Object(r.attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Resource {
        serde_json::from_value(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "1",
            "UserName": "bjensen",
            "zeta": 1,
            "alpha": {"x": [1, 2]},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "9"}},
            "urn:example:unknown:1.0:Thing": {"keep": true}
        }))
        .unwrap()
    }

    #[test]
    fn round_trip_keeps_names_order_and_unknown_extensions() {
        let text = serde_json::to_string(&user()).unwrap();
        assert!(text.starts_with(r#"{"schemas":["#));
        assert!(text.find("\"UserName\"").unwrap() < text.find("\"zeta\"").unwrap());
        assert!(text.find("\"zeta\"").unwrap() < text.find("\"alpha\"").unwrap());
        let back: Resource = serde_json::from_str(&text).unwrap();
        assert_eq!(back, user());
        assert_eq!(
            back.extension("URN:EXAMPLE:UNKNOWN:1.0:THING").unwrap()["keep"],
            true
        );
    }

    #[test]
    fn reads_are_case_insensitive_and_writes_keep_spelling() {
        let mut r = user();
        assert_eq!(r.get("username"), Some(&json!("bjensen")));
        r.set("userName", json!("babs"));
        let keys: Vec<_> = r.as_object().keys().cloned().collect();
        assert_eq!(keys[2], "UserName");
        assert_eq!(r.get("USERNAME"), Some(&json!("babs")));
        assert_eq!(r.remove("zEtA"), Some(json!(1)));
        assert!(r.get("zeta").is_none());
    }

    #[test]
    fn attribute_resolves_urns() {
        let r = user();
        assert_eq!(
            r.attribute(Some(USER_SCHEMA), "userName"),
            Some(&json!("bjensen"))
        );
        assert_eq!(
            r.attribute(
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:USER"),
                "Department"
            ),
            Some(&json!("Sales"))
        );
        assert!(r.attribute(Some(GROUP_SCHEMA), "userName").is_none());
        let whole = r.attribute(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
            "User",
        );
        assert_eq!(whole.unwrap()["department"], "Sales");
        assert_eq!(r.base_schema(), Some(USER_SCHEMA));
    }

    #[test]
    fn core_urn_resolves_without_schemas_and_flattened_keys_read() {
        let r: Resource = serde_json::from_value(json!({
            "userName": "bjensen",
            "urn:example:ext:1.0:User:badge": "B-7"
        }))
        .unwrap();
        assert_eq!(
            r.attribute(Some(USER_SCHEMA), "userName"),
            Some(&json!("bjensen"))
        );
        assert_eq!(
            r.attribute(Some("urn:example:ext:1.0:User"), "badge"),
            Some(&json!("B-7"))
        );
        assert!(
            r.attribute(Some("urn:example:other:1.0:User"), "userName")
                .is_none()
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        let err = Resource::from_value(json!({"schemas": "x"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"schemas\" must be a list of strings"),
            "{err}"
        );
        let err = Resource::from_value(json!({"id": 5})).unwrap_err();
        assert!(err.to_string().contains("\"id\" must be a string"), "{err}");
        let err = Resource::from_value(json!([1])).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        let err =
            Resource::from_json_str("{}", &Limits::DEFAULT.with_max_payload_bytes(1)).unwrap_err();
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn extension_mut_creates_block_and_lists_schema() {
        let mut r = Resource::new([USER_SCHEMA]);
        r.extension_mut("urn:ietf:params:scim:schemas:extension:acme:1.0:User")
            .insert("HireDate".into(), json!("2024-01-01T00:00:00Z"));
        assert!(r.has_schema("urn:ietf:params:scim:schemas:extension:acme:1.0:user"));
        assert_eq!(
            r.attribute(
                Some("urn:ietf:params:scim:schemas:extension:acme:1.0:User"),
                "hiredate"
            ),
            Some(&json!("2024-01-01T00:00:00Z"))
        );
    }
}
