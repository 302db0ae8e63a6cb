//! Typed views of the RFC 7643 resources: [`User`], [`Group`] and the [`EnterpriseUser`]
//! extension.
//!
//! A typed view is a [`Resource`](crate::Resource) read into Rust fields, for code that wants
//! `user.emails[0].value` rather than an attribute path. The views are lossless:
//! - every attribute, sub-attribute or extension block the view does not model is kept, in a
//!   `rest` map (attributes) or the `extensions` map (blocks under a schema URN), and written
//!   back unchanged;
//! - a modelled attribute whose value is `null`, and a multi-valued attribute whose value is
//!   an empty list, stay in `rest` too, so `"roles": null` and `"roles": []` both come back as
//!   they were;
//! - `type` values are open enums ([`EmailType`], [`PhoneNumberType`], ...): a value the
//!   RFC does not list is kept in `Other`, spelled as received;
//! - date-times ([`ScimDateTime`]) keep the text they were given.
//!
//! So `Resource` → `User` → `Resource` gives an equal JSON value. Two things may change: the
//! order of object keys (the view writes its attributes in RFC order, then the extension
//! blocks, then what it did not model), and the spelling of a modelled attribute name
//! written in another case (`UserName` is read as `userName` and written as `userName`; RFC
//! 7643 §2.1 makes them the same attribute).
//!
//! Reading is strict about types: a value of the wrong type (`"active": "yes"`) is an
//! [`Error::InvalidValue`] whose `path` names the attribute, e.g. `emails[1].primary` or
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`. (Entra's PATCH
//! requests send booleans as strings; the PATCH module accepts those, a typed view reads the
//! resource they were applied to.)
//!
//! ```
//! use scim_model::typed::{EmailType, User};
//! use scim_model::Resource;
//!
//! let resource: Resource = serde_json::from_str(r#"{
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
//!     "userName": "bjensen",
//!     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"},
//!     "x-custom": {"kept": true}
//! }"#).unwrap();
//!
//! let user = User::try_from(&resource).unwrap();
//! assert_eq!(user.emails[0].kind, Some(EmailType::Work));
//! assert_eq!(user.enterprise().unwrap().unwrap().department.as_deref(), Some("Tour Operations"));
//! assert_eq!(user.rest["x-custom"]["kept"], true);
//! assert_eq!(Resource::from(user).to_value(), resource.to_value());
//! ```

mod enterprise;
mod group;
mod multi_valued;
mod user;

pub use enterprise::{EnterpriseUser, Manager};
pub use group::{Group, Member};
pub use multi_valued::{
    Address, AddressType, Email, EmailType, Entitlement, GroupMembership, GroupMembershipType, Im,
    ImType, MemberType, MultiValued, PhoneNumber, PhoneNumberType, Photo, PhotoType, Role,
    TypeValue, X509Certificate,
};
pub use user::{Name, Password, User};

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::message::json_kind;
use crate::resource::{find_key, is_urn};
use crate::{Error, Result};

/// A typed view of an extension schema's block, stored under its URN in a resource
/// (RFC 7643 §3.3), e.g. [`EnterpriseUser`].
///
/// Implement it for a custom extension to read it with [`User::extension`] and write it with
/// [`User::set_extension`].
pub trait SchemaExtension: Sized {
    /// The extension's schema URN, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    const URN: &'static str;

    /// Reads the extension block (a JSON object). Errors name the attribute path, prefixed
    /// with the URN.
    fn from_block(block: &Map<String, Value>) -> Result<Self>;

    /// Writes the extension block.
    fn to_block(&self) -> Map<String, Value>;
}

/// An `xsd:dateTime` value (RFC 7643 §2.3.5), such as `meta.created`, kept as the text it was
/// given so that it round-trips (`2011-08-01T18:29:49.793000Z` stays as written).
///
/// The text is checked when read: an RFC 3339 date-time, or one without a time zone (read as
/// UTC).
///
/// ```
/// use scim_model::typed::ScimDateTime;
///
/// let t: ScimDateTime = "2021-05-01T00:00:00-05:00".parse().unwrap();
/// assert_eq!(t.to_utc().to_rfc3339(), "2021-05-01T05:00:00+00:00");
/// assert_eq!(t.as_str(), "2021-05-01T00:00:00-05:00");
/// assert!("yesterday".parse::<ScimDateTime>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScimDateTime {
    text: String,
    instant: DateTime<FixedOffset>,
}

impl ScimDateTime {
    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, with the offset it was written with (UTC when it had none).
    pub fn to_fixed_offset(&self) -> DateTime<FixedOffset> {
        self.instant
    }

    /// The instant in UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        self.instant.with_timezone(&Utc)
    }

    fn parse_text(text: &str) -> Option<DateTime<FixedOffset>> {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(t);
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    }
}

impl FromStr for ScimDateTime {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match Self::parse_text(s) {
            Some(instant) => Ok(ScimDateTime {
                text: s.to_owned(),
                instant,
            }),
            None => Err(Error::InvalidValue {
                path: "dateTime".to_owned(),
                message: format!(
                    "expected an xsd:dateTime such as 2008-01-23T04:56:22Z, found {:?}",
                    crate::error::excerpt(s)
                ),
            }),
        }
    }
}

impl From<DateTime<Utc>> for ScimDateTime {
    /// Formats the instant as RFC 3339 in UTC (`Z`), with as many fraction digits as needed.
    fn from(t: DateTime<Utc>) -> Self {
        ScimDateTime {
            text: t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            instant: t.fixed_offset(),
        }
    }
}

impl fmt::Display for ScimDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for ScimDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ScimDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(<D::Error as serde::de::Error>::custom)
    }
}

/// The common `meta` attribute (RFC 7643 §3.1).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Meta {
    /// `resourceType`, e.g. `User`.
    pub resource_type: Option<String>,
    /// `created`.
    pub created: Option<ScimDateTime>,
    /// `lastModified`.
    pub last_modified: Option<ScimDateTime>,
    /// `location`: the resource's URI.
    pub location: Option<String>,
    /// `version`: the resource's entity tag, e.g. `W/"a330bc54f0671c9"`.
    pub version: Option<String>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Meta {
    /// An empty `meta` with a `resourceType`.
    pub fn new(resource_type: impl Into<String>) -> Self {
        Meta {
            resource_type: Some(resource_type.into()),
            ..Meta::default()
        }
    }

    pub(crate) fn read(mut r: Reader) -> Result<Self> {
        Ok(Meta {
            resource_type: r.string("resourceType")?,
            created: r.datetime("created")?,
            last_modified: r.datetime("lastModified")?,
            location: r.string("location")?,
            version: r.string("version")?,
            rest: r.rest(),
        })
    }

    pub(crate) fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("resourceType", &self.resource_type);
        w.datetime("created", &self.created);
        w.datetime("lastModified", &self.last_modified);
        w.string("location", &self.location);
        w.string("version", &self.version);
        w.finish(&Map::new(), &self.rest)
    }
}

/// Reads the attributes of one JSON object of a resource, one by one and case-insensitively,
/// leaving what it does not take for the `rest` map.
#[derive(Debug)]
pub(crate) struct Reader {
    /// What attribute names are prefixed with in errors: `""`, `"name."`, `"emails[1]."`,
    /// `"urn:…:User:"`.
    prefix: String,
    map: Map<String, Value>,
}

impl Reader {
    /// Starts reading `value` found at `path` (`""` for the resource itself).
    pub(crate) fn new(path: &str, value: Value) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Reader::from_map(path, map)),
            other => Err(Error::InvalidValue {
                path: if path.is_empty() {
                    "resource".to_owned()
                } else {
                    path.to_owned()
                },
                message: format!("expected an object, found {}", json_kind(&other)),
            }),
        }
    }

    /// Starts reading `map` found at `path` (`""` for the resource itself).
    pub(crate) fn from_map(path: &str, map: Map<String, Value>) -> Self {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        Reader { prefix, map }
    }

    /// Starts reading the extension block of schema `urn`: its attributes' paths are
    /// `urn:name`.
    pub(crate) fn extension(urn: &str, map: Map<String, Value>) -> Self {
        Reader {
            prefix: format!("{urn}:"),
            map,
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn wrong_type(&self, name: &str, expected: &str, found: &Value) -> Error {
        Error::InvalidValue {
            path: self.path(name),
            message: format!("expected {expected}, found {}", json_kind(found)),
        }
    }

    /// Takes attribute `name` unless it is absent or `keep` says the value stays in `rest`.
    fn take_unless(&mut self, name: &str, keep: impl Fn(&Value) -> bool) -> Option<Value> {
        let key = find_key(&self.map, name)?.0.clone();
        if self.map.get(&key).is_some_and(keep) {
            return None;
        }
        self.map.shift_remove(&key)
    }

    /// Takes attribute `name` unless it is absent or `null`.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.take_unless(name, Value::is_null)
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(name, "a string", &other)),
        }
    }

    /// A required string attribute.
    pub(crate) fn required_string(&mut self, name: &str) -> Result<String> {
        self.string(name)?.ok_or_else(|| Error::InvalidValue {
            path: self.path(name),
            message: "is required".to_owned(),
        })
    }

    pub(crate) fn boolean(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong_type(name, "a boolean", &other)),
        }
    }

    pub(crate) fn datetime(&mut self, name: &str) -> Result<Option<ScimDateTime>> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e| match e {
                Error::InvalidValue { message, .. } => Error::InvalidValue {
                    path: self.path(name),
                    message,
                },
                other => other,
            }),
        }
    }

    pub(crate) fn kind<K: TypeValue>(&mut self, name: &str) -> Result<Option<K>> {
        Ok(self.string(name)?.map(K::from_wire))
    }

    /// A complex attribute, read by `read`.
    pub(crate) fn object<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(Reader) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Object(map)) => read(Reader::from_map(&self.path(name), map)).map(Some),
            Some(other) => Err(self.wrong_type(name, "an object", &other)),
        }
    }

    /// A multi-valued complex attribute; `null` and `[]` stay in `rest`.
    pub(crate) fn list<T>(
        &mut self,
        name: &str,
        read: impl Fn(Reader) -> Result<T>,
    ) -> Result<Vec<T>> {
        let items = match self.take_unless(name, |v| {
            v.is_null() || v.as_array().is_some_and(Vec::is_empty)
        }) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong_type(name, "an array", &other)),
        };
        let base = self.path(name);
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{base}[{i}]");
                match item {
                    Value::Object(map) => read(Reader::from_map(&path, map)),
                    other => Err(Error::InvalidValue {
                        path,
                        message: format!("expected an object, found {}", json_kind(&other)),
                    }),
                }
            })
            .collect()
    }

    /// `schemas`: a non-empty list of strings (an empty list stays in `rest`).
    pub(crate) fn schemas(&mut self) -> Result<Vec<String>> {
        let items = match self.take_unless("schemas", |v| {
            v.is_null() || v.as_array().is_some_and(Vec::is_empty)
        }) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong_type("schemas", "an array of strings", &other)),
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(self.wrong_type(&format!("schemas[{i}]"), "a string", &other)),
            })
            .collect()
    }

    /// Takes every extension block: a key that is a URN, holding an object.
    pub(crate) fn extensions(&mut self) -> Map<String, Value> {
        let keys: Vec<String> = self
            .map
            .iter()
            .filter(|(k, v)| is_urn(k) && v.is_object())
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Map::new();
        for key in keys {
            if let Some(v) = self.map.shift_remove(&key) {
                out.insert(key, v);
            }
        }
        out
    }

    /// What was not taken.
    pub(crate) fn rest(self) -> Map<String, Value> {
        self.map
    }
}

/// Writes the attributes of one JSON object in a fixed order.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    map: Map<String, Value>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    pub(crate) fn value(&mut self, name: &str, value: Value) {
        self.map.insert(name.to_owned(), value);
    }

    pub(crate) fn string(&mut self, name: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.value(name, Value::String(v.clone()));
        }
    }

    pub(crate) fn boolean(&mut self, name: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.value(name, Value::Bool(v));
        }
    }

    pub(crate) fn datetime(&mut self, name: &str, value: &Option<ScimDateTime>) {
        if let Some(v) = value {
            self.value(name, Value::String(v.as_str().to_owned()));
        }
    }

    pub(crate) fn kind<K: TypeValue>(&mut self, name: &str, value: &Option<K>) {
        if let Some(v) = value {
            self.value(name, Value::String(v.as_wire().to_owned()));
        }
    }

    pub(crate) fn object(&mut self, name: &str, value: Option<Map<String, Value>>) {
        if let Some(v) = value {
            self.value(name, Value::Object(v));
        }
    }

    /// A multi-valued attribute; an empty list is not written.
    pub(crate) fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        write: impl Fn(&T) -> Map<String, Value>,
    ) {
        if !items.is_empty() {
            let items = items.iter().map(|i| Value::Object(write(i))).collect();
            self.value(name, Value::Array(items));
        }
    }

    /// The object: the attributes written so far, then `extensions`, then each entry of
    /// `rest` whose exact key was not written (a modelled value wins over a kept one).
    pub(crate) fn finish(
        mut self,
        extensions: &Map<String, Value>,
        rest: &Map<String, Value>,
    ) -> Map<String, Value> {
        for (k, v) in extensions.iter().chain(rest) {
            if !self.map.contains_key(k) {
                self.map.insert(k.clone(), v.clone());
            }
        }
        self.map
    }
}

/// Finds an extension block by URN (case-insensitively).
pub(crate) fn find_extension<'a>(
    extensions: &'a Map<String, Value>,
    urn: &str,
) -> Option<&'a Map<String, Value>> {
    find_key(extensions, urn).and_then(|(_, v)| v.as_object())
}

/// Reads extension `X` from an `extensions` map.
pub(crate) fn read_extension<X: SchemaExtension>(
    extensions: &Map<String, Value>,
) -> Result<Option<X>> {
    find_extension(extensions, X::URN)
        .map(X::from_block)
        .transpose()
}

/// Stores extension `X` in an `extensions` map (keeping an existing key's spelling) and lists
/// its URN in `schemas`.
pub(crate) fn write_extension<X: SchemaExtension>(
    extensions: &mut Map<String, Value>,
    schemas: &mut Vec<String>,
    extension: &X,
) {
    crate::resource::insert_ci(extensions, X::URN, Value::Object(extension.to_block()));
    if !schemas.iter().any(|s| s.eq_ignore_ascii_case(X::URN)) {
        schemas.push(X::URN.to_owned());
    }
}

/// Removes extension `X` from an `extensions` map and its URN from `schemas`.
pub(crate) fn remove_extension(
    extensions: &mut Map<String, Value>,
    schemas: &mut Vec<String>,
    urn: &str,
) -> Option<Value> {
    schemas.retain(|s| !s.eq_ignore_ascii_case(urn));
    crate::resource::remove_ci(extensions, urn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetime_keeps_text_and_checks_it() {
        for text in [
            "2011-08-01T18:29:49.793000Z",
            "2010-01-23T04:56:22Z",
            "2010-01-23T04:56:22",
        ] {
            let t: ScimDateTime = text.parse().unwrap();
            assert_eq!(t.as_str(), text);
            assert_eq!(serde_json::to_value(&t).unwrap(), json!(text));
        }
        let t: ScimDateTime = "2010-01-23T04:56:22".parse().unwrap();
        assert_eq!(t.to_utc().to_rfc3339(), "2010-01-23T04:56:22+00:00");
        assert!("2010-13-23T04:56:22Z".parse::<ScimDateTime>().is_err());
        let now = ScimDateTime::from(t.to_utc());
        assert_eq!(now.as_str(), "2010-01-23T04:56:22Z");
    }

    #[test]
    fn reader_paths_name_nested_attributes() {
        let mut r = Reader::new("", json!({"name": {"givenName": 5}})).unwrap();
        let err = r.object("name", |mut n| n.string("givenName")).unwrap_err();
        assert!(err.to_string().contains("name.givenName"), "{err}");

        let mut r = Reader::new("", json!({"emails": [{}, {"primary": "yes"}]})).unwrap();
        let err = r.list("emails", |mut e| e.boolean("primary")).unwrap_err();
        assert!(err.to_string().contains("emails[1].primary"), "{err}");

        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut r = Reader::extension(
            urn,
            json!({"manager": {"value": 1}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let err = r.object("manager", |mut m| m.string("value")).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{urn}:manager.value")),
            "{err}"
        );
    }

    #[test]
    fn null_and_empty_lists_stay_in_rest() {
        let mut r = Reader::new("", json!({"roles": null, "emails": [], "title": null})).unwrap();
        assert!(r.list("roles", |_| Ok(())).unwrap().is_empty());
        assert!(r.list("emails", |_| Ok(())).unwrap().is_empty());
        assert_eq!(r.string("title").unwrap(), None);
        assert_eq!(
            r.rest(),
            json!({"roles": null, "emails": [], "title": null})
                .as_object()
                .unwrap()
                .clone()
        );
    }

    #[test]
    fn writer_lets_modelled_values_win_over_kept_ones() {
        let mut w = Writer::new();
        w.string("title", &Some("Boss".into()));
        let rest = json!({"title": null, "Title": 1, "x": 2})
            .as_object()
            .unwrap()
            .clone();
        let out = w.finish(&Map::new(), &rest);
        assert_eq!(
            Value::Object(out),
            json!({"title": "Boss", "Title": 1, "x": 2})
        );
    }
}
