//! The RFC 7643 §4.1 User.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{
    Address, Email, EnterpriseUser, Entitlement, GroupMembership, Im, Meta, MultiValued,
    PhoneNumber, Photo, Reader, Role, SchemaExtension, Writer, X509Certificate, read_extension,
    remove_extension, write_extension,
};
use crate::{ENTERPRISE_USER_SCHEMA, Error, Resource, Result, USER_SCHEMA};

/// A password (`password`, RFC 7643 §4.1.1): write-only, so it appears in requests only.
///
/// Its `Debug` prints `[redacted]`, so a password never reaches a log by accident; read it
/// with [`Password::expose`].
///
/// ```
/// use scim_model::typed::Password;
///
/// let p = Password::new("t1meMa$heen");
/// assert_eq!(format!("{p:?}"), "[redacted]");
/// assert_eq!(p.expose(), "t1meMa$heen");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a clear-text password.
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    /// The clear text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Password)
    }
}

/// The components of a user's name (`name`, RFC 7643 §4.1.1).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Name {
    /// `formatted`: the full name for display, e.g. `Ms. Barbara J Jensen, III`.
    pub formatted: Option<String>,
    /// `familyName`.
    pub family_name: Option<String>,
    /// `givenName`.
    pub given_name: Option<String>,
    /// `middleName`.
    pub middle_name: Option<String>,
    /// `honorificPrefix`, e.g. `Ms.`.
    pub honorific_prefix: Option<String>,
    /// `honorificSuffix`, e.g. `III`.
    pub honorific_suffix: Option<String>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Name {
    /// A name with a given and a family name.
    pub fn new(given_name: impl Into<String>, family_name: impl Into<String>) -> Self {
        Name {
            given_name: Some(given_name.into()),
            family_name: Some(family_name.into()),
            ..Name::default()
        }
    }

    pub(crate) fn read(mut r: Reader) -> Result<Self> {
        Ok(Name {
            formatted: r.string("formatted")?,
            family_name: r.string("familyName")?,
            given_name: r.string("givenName")?,
            middle_name: r.string("middleName")?,
            honorific_prefix: r.string("honorificPrefix")?,
            honorific_suffix: r.string("honorificSuffix")?,
            rest: r.rest(),
        })
    }

    pub(crate) fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("formatted", &self.formatted);
        w.string("familyName", &self.family_name);
        w.string("givenName", &self.given_name);
        w.string("middleName", &self.middle_name);
        w.string("honorificPrefix", &self.honorific_prefix);
        w.string("honorificSuffix", &self.honorific_suffix);
        w.finish(&Map::new(), &self.rest)
    }
}

/// A typed view of a User resource (RFC 7643 §4.1) with every attribute the RFC defines, the
/// extension blocks (read the Enterprise User one with [`User::enterprise`]) and whatever
/// else it held (`rest`). See the [module documentation](crate::typed) for how it round-trips.
///
/// `userName` is required (RFC 7643 §4.1.1); every other attribute is optional. An empty
/// multi-valued attribute reads as an empty `Vec` and is not written (an explicit `[]` from
/// the input is kept in `rest` and written back).
///
/// ```
/// use scim_model::typed::{Email, EmailType, EnterpriseUser, User};
/// use scim_model::Resource;
///
/// let mut user = User::new("bjensen");
/// user.emails.push(Email::new("bjensen@example.com").with_kind(EmailType::Work));
/// let mut enterprise = EnterpriseUser::default();
/// enterprise.department = Some("Tour Operations".into());
/// user.set_enterprise(&enterprise);
///
/// let resource = Resource::from(user);
/// assert_eq!(resource.get("userName").unwrap(), "bjensen");
/// assert!(resource.has_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct User {
    /// `schemas`: the core User URN and the URNs of the extensions present.
    pub schemas: Vec<String>,
    /// `id`: the service provider's identifier (read-only).
    pub id: Option<String>,
    /// `externalId`: the client's identifier.
    pub external_id: Option<String>,
    /// `userName`: the unique identifier the user signs in with.
    pub user_name: String,
    /// `name`.
    pub name: Option<Name>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `nickName`.
    pub nick_name: Option<String>,
    /// `profileUrl`.
    pub profile_url: Option<String>,
    /// `title`, e.g. `Vice President`.
    pub title: Option<String>,
    /// `userType`, e.g. `Employee`.
    pub user_type: Option<String>,
    /// `preferredLanguage`, e.g. `en-US`.
    pub preferred_language: Option<String>,
    /// `locale`, e.g. `en-US`.
    pub locale: Option<String>,
    /// `timezone`, e.g. `America/Los_Angeles`.
    pub timezone: Option<String>,
    /// `active`: whether the user may sign in.
    pub active: Option<bool>,
    /// `password` (write-only).
    pub password: Option<Password>,
    /// `emails`.
    pub emails: Vec<Email>,
    /// `phoneNumbers`.
    pub phone_numbers: Vec<PhoneNumber>,
    /// `ims`.
    pub ims: Vec<Im>,
    /// `photos`.
    pub photos: Vec<Photo>,
    /// `addresses`.
    pub addresses: Vec<Address>,
    /// `groups` (read-only; the service derives it from the groups' members).
    pub groups: Vec<GroupMembership>,
    /// `entitlements`.
    pub entitlements: Vec<Entitlement>,
    /// `roles`.
    pub roles: Vec<Role>,
    /// `x509Certificates`.
    pub x509_certificates: Vec<X509Certificate>,
    /// `meta`.
    pub meta: Option<Meta>,
    /// The extension blocks, keyed by schema URN, as received.
    pub extensions: Map<String, Value>,
    /// Attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl User {
    /// A user with a `userName` and `schemas` = the core User URN.
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            schemas: vec![USER_SCHEMA.to_owned()],
            id: None,
            external_id: None,
            user_name: user_name.into(),
            name: None,
            display_name: None,
            nick_name: None,
            profile_url: None,
            title: None,
            user_type: None,
            preferred_language: None,
            locale: None,
            timezone: None,
            active: None,
            password: None,
            emails: Vec::new(),
            phone_numbers: Vec::new(),
            ims: Vec::new(),
            photos: Vec::new(),
            addresses: Vec::new(),
            groups: Vec::new(),
            entitlements: Vec::new(),
            roles: Vec::new(),
            x509_certificates: Vec::new(),
            meta: None,
            extensions: Map::new(),
            rest: Map::new(),
        }
    }

    /// Reads a user from a JSON object. The Enterprise User block, if present, is checked too.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut r = Reader::new("", value)?;
        let user = User {
            schemas: r.schemas()?,
            id: r.string("id")?,
            external_id: r.string("externalId")?,
            user_name: r.required_string("userName")?,
            name: r.object("name", Name::read)?,
            display_name: r.string("displayName")?,
            nick_name: r.string("nickName")?,
            profile_url: r.string("profileUrl")?,
            title: r.string("title")?,
            user_type: r.string("userType")?,
            preferred_language: r.string("preferredLanguage")?,
            locale: r.string("locale")?,
            timezone: r.string("timezone")?,
            active: r.boolean("active")?,
            password: r.string("password")?.map(Password),
            emails: r.list("emails", MultiValued::read)?,
            phone_numbers: r.list("phoneNumbers", MultiValued::read)?,
            ims: r.list("ims", MultiValued::read)?,
            photos: r.list("photos", MultiValued::read)?,
            addresses: r.list("addresses", Address::read)?,
            groups: r.list("groups", GroupMembership::read)?,
            entitlements: r.list("entitlements", MultiValued::read)?,
            roles: r.list("roles", MultiValued::read)?,
            x509_certificates: r.list("x509Certificates", MultiValued::read)?,
            meta: r.object("meta", Meta::read)?,
            extensions: r.extensions(),
            rest: Map::new(),
        };
        let user = User {
            rest: r.rest(),
            ..user
        };
        // Check the Enterprise User block now, so a bad value is reported with the rest.
        user.enterprise()?;
        Ok(user)
    }

    /// The user as a JSON object: the RFC attributes in RFC order, then the extension
    /// blocks, then the attributes kept in `rest`.
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
        w.value("userName", Value::String(self.user_name.clone()));
        w.object("name", self.name.as_ref().map(Name::write));
        w.string("displayName", &self.display_name);
        w.string("nickName", &self.nick_name);
        w.string("profileUrl", &self.profile_url);
        w.string("title", &self.title);
        w.string("userType", &self.user_type);
        w.string("preferredLanguage", &self.preferred_language);
        w.string("locale", &self.locale);
        w.string("timezone", &self.timezone);
        w.boolean("active", self.active);
        if let Some(p) = &self.password {
            w.value("password", Value::String(p.expose().to_owned()));
        }
        w.list("emails", &self.emails, MultiValued::write);
        w.list("phoneNumbers", &self.phone_numbers, MultiValued::write);
        w.list("ims", &self.ims, MultiValued::write);
        w.list("photos", &self.photos, MultiValued::write);
        w.list("addresses", &self.addresses, Address::write);
        w.list("groups", &self.groups, GroupMembership::write);
        w.list("entitlements", &self.entitlements, MultiValued::write);
        w.list("roles", &self.roles, MultiValued::write);
        w.list(
            "x509Certificates",
            &self.x509_certificates,
            MultiValued::write,
        );
        w.object("meta", self.meta.as_ref().map(Meta::write));
        Value::Object(w.finish(&self.extensions, &self.rest))
    }

    /// The Enterprise User extension (RFC 7643 §4.3), if the user has its block.
    pub fn enterprise(&self) -> Result<Option<EnterpriseUser>> {
        self.extension::<EnterpriseUser>()
    }

    /// Sets the Enterprise User block (replacing one already there) and lists its URN in
    /// `schemas`.
    pub fn set_enterprise(&mut self, enterprise: &EnterpriseUser) {
        self.set_extension(enterprise);
    }

    /// Removes the Enterprise User block and its URN from `schemas`; returns the block.
    pub fn remove_enterprise(&mut self) -> Option<Value> {
        remove_extension(
            &mut self.extensions,
            &mut self.schemas,
            ENTERPRISE_USER_SCHEMA,
        )
    }

    /// Extension `X`, if the user has its block (found by URN, case-insensitively).
    pub fn extension<X: SchemaExtension>(&self) -> Result<Option<X>> {
        read_extension(&self.extensions)
    }

    /// Sets extension `X`'s block (replacing one already there) and lists its URN in
    /// `schemas`.
    pub fn set_extension<X: SchemaExtension>(&mut self, extension: &X) {
        write_extension(&mut self.extensions, &mut self.schemas, extension);
    }

    /// The primary email address, or else the first one.
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails
            .iter()
            .find(|e| e.is_primary())
            .or_else(|| self.emails.first())
    }
}

impl TryFrom<&Resource> for User {
    type Error = Error;

    fn try_from(resource: &Resource) -> Result<Self> {
        User::from_value(resource.to_value())
    }
}

impl TryFrom<Resource> for User {
    type Error = Error;

    fn try_from(resource: Resource) -> Result<Self> {
        User::from_value(Value::from(resource))
    }
}

impl From<&User> for Resource {
    fn from(user: &User) -> Resource {
        to_resource(user.to_value())
    }
}

impl From<User> for Resource {
    fn from(user: User) -> Resource {
        Resource::from(&user)
    }
}

/// A resource from a typed view's JSON object (which always has a resource's shape).
pub(crate) fn to_resource(value: Value) -> Resource {
    let mut resource = Resource::default();
    if let Value::Object(map) = value {
        *resource.as_object_mut() = map;
    }
    resource
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for User {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        User::from_value(value).map_err(<D::Error as serde::de::Error>::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_name_is_required_and_types_are_checked() {
        let err = User::from_value(json!({"schemas": [USER_SCHEMA]})).unwrap_err();
        assert_eq!(err.to_string(), "invalid value for userName: is required");
        let err = User::from_value(json!({"userName": "a", "active": "yes"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for active: expected a boolean, found a string"
        );
        let err =
            User::from_value(json!({"userName": "a", "meta": {"created": "soon"}})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid value for meta.created:"),
            "{err}"
        );
        let err = User::from_value(json!({
            "userName": "a",
            ENTERPRISE_USER_SCHEMA: {"manager": {"value": 7}}
        }))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid value for {ENTERPRISE_USER_SCHEMA}:manager.value: expected a string, found a number"
            )
        );
    }

    #[test]
    fn password_is_redacted_in_debug_output() {
        let user = User::from_value(json!({"userName": "a", "password": "s3cret"})).unwrap();
        let debug = format!("{user:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("[redacted]"));
        assert_eq!(user.to_value()["password"], "s3cret");
    }

    #[test]
    fn case_variants_are_read_and_written_canonically() {
        let user =
            User::from_value(json!({"USERNAME": "a", "Emails": [{"Value": "x@y"}]})).unwrap();
        assert_eq!(user.user_name, "a");
        assert_eq!(user.emails[0].value.as_deref(), Some("x@y"));
        assert_eq!(
            user.to_value(),
            json!({"userName": "a", "emails": [{"value": "x@y"}]})
        );
    }

    #[test]
    fn enterprise_can_be_set_and_removed() {
        let mut user = User::new("a");
        let e = EnterpriseUser {
            employee_number: Some("42".into()),
            ..EnterpriseUser::default()
        };
        user.set_enterprise(&e);
        assert_eq!(user.schemas, vec![USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        assert_eq!(user.enterprise().unwrap(), Some(e));
        assert!(user.remove_enterprise().is_some());
        assert_eq!(user.schemas, vec![USER_SCHEMA]);
        assert_eq!(user.enterprise().unwrap(), None);
    }

    #[test]
    fn primary_email_prefers_primary() {
        let mut user = User::new("a");
        assert!(user.primary_email().is_none());
        user.emails.push(Email::new("first"));
        user.emails.push(Email::new("second").with_primary(true));
        assert_eq!(
            user.primary_email().unwrap().value.as_deref(),
            Some("second")
        );
    }
}
