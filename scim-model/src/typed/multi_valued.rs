//! Multi-valued attribute items (RFC 7643 §2.4) and the open enums of their `type` values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Reader, Writer};
use crate::Result;

/// A `type` value of a multi-valued attribute: an open enum, or a plain `String` for
/// attributes without canonical values (entitlements, roles, certificates).
pub trait TypeValue: Clone + fmt::Debug + PartialEq {
    /// The value for a wire string.
    fn from_wire(s: String) -> Self;
    /// The wire string.
    fn as_wire(&self) -> &str;
}

impl TypeValue for String {
    fn from_wire(s: String) -> Self {
        s
    }

    fn as_wire(&self) -> &str {
        self
    }
}

/// Declares an open enum of `type` values: the canonical values of RFC 7643 as variants, and
/// `Other(String)` for anything else, spelled as received.
macro_rules! open_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $wire:literal, )* }
    ) => {
        $(#[$doc])*
        ///
        /// A canonical value is recognised only in its RFC spelling, so that every value is
        /// written back as it was read: `"Work"` is kept as `Other("Work")`. SCIM compares
        /// `type` values case-insensitively; so does
        #[doc = concat!("[`", stringify!($name), "::eq_ignore_case`].")]
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
            /// A value RFC 7643 does not list, or a listed one in another spelling.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(s) => s,
                }
            }

            /// Whether two values are the same ignoring case (`Work` and `work`).
            pub fn eq_ignore_case(&self, other: &Self) -> bool {
                self.as_str().eq_ignore_ascii_case(other.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $wire => $name::$variant, )*
                    _ => $name::Other(s),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TypeValue for $name {
            fn from_wire(s: String) -> Self {
                $name::from(s)
            }

            fn as_wire(&self) -> &str {
                self.as_str()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }
    };
}

open_enum! {
    /// The `type` of an email address (RFC 7643 §4.1.2). The canonical value `other` is
    /// `Other("other")`.
    EmailType {
        /// `work`.
        Work = "work",
        /// `home`.
        Home = "home",
    }
}

open_enum! {
    /// The `type` of a phone number (RFC 7643 §4.1.2). The canonical value `other` is
    /// `Other("other")`.
    PhoneNumberType {
        /// `work`.
        Work = "work",
        /// `home`.
        Home = "home",
        /// `mobile`.
        Mobile = "mobile",
        /// `fax`.
        Fax = "fax",
        /// `pager`.
        Pager = "pager",
    }
}

open_enum! {
    /// The `type` of an instant messaging address (RFC 7643 §4.1.2).
    ImType {
        /// `aim`.
        Aim = "aim",
        /// `gtalk`.
        Gtalk = "gtalk",
        /// `icq`.
        Icq = "icq",
        /// `xmpp`.
        Xmpp = "xmpp",
        /// `msn`.
        Msn = "msn",
        /// `skype`.
        Skype = "skype",
        /// `qq`.
        Qq = "qq",
        /// `yahoo`.
        Yahoo = "yahoo",
    }
}

open_enum! {
    /// The `type` of a photo (RFC 7643 §4.1.2).
    PhotoType {
        /// `photo`: a full-size image.
        Photo = "photo",
        /// `thumbnail`.
        Thumbnail = "thumbnail",
    }
}

open_enum! {
    /// The `type` of a physical address (RFC 7643 §4.1.2). The canonical value `other` is
    /// `Other("other")`.
    AddressType {
        /// `work`.
        Work = "work",
        /// `home`.
        Home = "home",
    }
}

open_enum! {
    /// How a user belongs to a group (RFC 7643 §4.1.2 `groups.type`).
    GroupMembershipType {
        /// `direct`: the user is a member of the group.
        Direct = "direct",
        /// `indirect`: the user is a member of a group that is a member of the group.
        Indirect = "indirect",
    }
}

open_enum! {
    /// The kind of resource a group member is (RFC 7643 §4.2 `members.type`).
    MemberType {
        /// `User`.
        User = "User",
        /// `Group`.
        Group = "Group",
    }
}

/// An item of a multi-valued attribute with the RFC 7643 §2.4 sub-attributes `value`,
/// `display`, `type` and `primary`: emails, phone numbers, ims, photos, entitlements, roles,
/// X.509 certificates.
///
/// `K` is the `type`: an open enum such as [`EmailType`], or `String`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MultiValued<K = String> {
    /// `value`: the address, number, handle, URL, role, or base64 certificate.
    pub value: Option<String>,
    /// `display`: a human-readable name (read-only).
    pub display: Option<String>,
    /// `type`, e.g. `work`.
    pub kind: Option<K>,
    /// `primary`: whether this is the preferred value (at most one item may be).
    pub primary: Option<bool>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

/// An email address (`emails`).
pub type Email = MultiValued<EmailType>;
/// A phone number (`phoneNumbers`).
pub type PhoneNumber = MultiValued<PhoneNumberType>;
/// An instant messaging address (`ims`).
pub type Im = MultiValued<ImType>;
/// A photo URL (`photos`).
pub type Photo = MultiValued<PhotoType>;
/// An entitlement (`entitlements`).
pub type Entitlement = MultiValued<String>;
/// A role (`roles`).
pub type Role = MultiValued<String>;
/// A base64-encoded DER certificate (`x509Certificates`).
pub type X509Certificate = MultiValued<String>;

impl<K> Default for MultiValued<K> {
    fn default() -> Self {
        MultiValued {
            value: None,
            display: None,
            kind: None,
            primary: None,
            rest: Map::new(),
        }
    }
}

impl<K: TypeValue> MultiValued<K> {
    /// An item with the given `value`.
    ///
    /// ```
    /// use scim_model::typed::{Email, EmailType};
    ///
    /// let e = Email::new("bjensen@example.com").with_kind(EmailType::Work).with_primary(true);
    /// assert_eq!(e.primary, Some(true));
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        MultiValued {
            value: Some(value.into()),
            ..MultiValued::default()
        }
    }

    /// Sets `type`.
    pub fn with_kind(mut self, kind: impl Into<K>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets `primary`.
    pub fn with_primary(mut self, primary: bool) -> Self {
        self.primary = Some(primary);
        self
    }

    /// Sets `display`.
    pub fn with_display(mut self, display: impl Into<String>) -> Self {
        self.display = Some(display.into());
        self
    }

    /// Whether `primary` is `true`.
    pub fn is_primary(&self) -> bool {
        self.primary == Some(true)
    }

    pub(crate) fn read(mut r: Reader) -> Result<Self> {
        Ok(MultiValued {
            value: r.string("value")?,
            display: r.string("display")?,
            kind: r.kind("type")?,
            primary: r.boolean("primary")?,
            rest: r.rest(),
        })
    }

    pub(crate) fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("value", &self.value);
        w.string("display", &self.display);
        w.kind("type", &self.kind);
        w.boolean("primary", self.primary);
        w.finish(&Map::new(), &self.rest)
    }
}

/// A physical mailing address (`addresses`, RFC 7643 §4.1.2).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Address {
    /// `formatted`: the full address, for display or a mailing label.
    pub formatted: Option<String>,
    /// `streetAddress`.
    pub street_address: Option<String>,
    /// `locality`: city.
    pub locality: Option<String>,
    /// `region`: state or region.
    pub region: Option<String>,
    /// `postalCode`.
    pub postal_code: Option<String>,
    /// `country`: ISO 3166-1 alpha-2 code, e.g. `US`.
    pub country: Option<String>,
    /// `type`, e.g. `work`.
    pub kind: Option<AddressType>,
    /// `primary`.
    pub primary: Option<bool>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Address {
    /// An empty address of the given type.
    pub fn new(kind: impl Into<AddressType>) -> Self {
        Address {
            kind: Some(kind.into()),
            ..Address::default()
        }
    }

    pub(crate) fn read(mut r: Reader) -> Result<Self> {
        Ok(Address {
            formatted: r.string("formatted")?,
            street_address: r.string("streetAddress")?,
            locality: r.string("locality")?,
            region: r.string("region")?,
            postal_code: r.string("postalCode")?,
            country: r.string("country")?,
            kind: r.kind("type")?,
            primary: r.boolean("primary")?,
            rest: r.rest(),
        })
    }

    pub(crate) fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.kind("type", &self.kind);
        w.string("streetAddress", &self.street_address);
        w.string("locality", &self.locality);
        w.string("region", &self.region);
        w.string("postalCode", &self.postal_code);
        w.string("country", &self.country);
        w.string("formatted", &self.formatted);
        w.boolean("primary", self.primary);
        w.finish(&Map::new(), &self.rest)
    }
}

/// A group the user belongs to (`groups`, RFC 7643 §4.1.2; read-only, maintained by the
/// service from the groups' `members`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GroupMembership {
    /// `value`: the group's `id`.
    pub value: Option<String>,
    /// `$ref`: the group's URI.
    pub reference: Option<String>,
    /// `display`: the group's `displayName`.
    pub display: Option<String>,
    /// `type`: `direct` or `indirect`.
    pub kind: Option<GroupMembershipType>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl GroupMembership {
    /// A membership in the group with the given id.
    pub fn new(group_id: impl Into<String>) -> Self {
        GroupMembership {
            value: Some(group_id.into()),
            ..GroupMembership::default()
        }
    }

    pub(crate) fn read(mut r: Reader) -> Result<Self> {
        Ok(GroupMembership {
            value: r.string("value")?,
            reference: r.string("$ref")?,
            display: r.string("display")?,
            kind: r.kind("type")?,
            rest: r.rest(),
        })
    }

    pub(crate) fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("value", &self.value);
        w.string("$ref", &self.reference);
        w.string("display", &self.display);
        w.kind("type", &self.kind);
        w.finish(&Map::new(), &self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn open_enums_keep_unknown_and_differently_spelt_values() {
        assert_eq!(EmailType::from("work"), EmailType::Work);
        assert_eq!(EmailType::from("other"), EmailType::Other("other".into()));
        let odd = EmailType::from("Work");
        assert_eq!(odd, EmailType::Other("Work".into()));
        assert!(odd.eq_ignore_case(&EmailType::Work));
        assert_eq!(odd.as_str(), "Work");
        assert_eq!(MemberType::from("Group"), MemberType::Group);
        let t: PhoneNumberType = serde_json::from_value(json!("satellite")).unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), json!("satellite"));
    }

    #[test]
    fn item_round_trip_keeps_unknown_sub_attributes() {
        let v = json!({"value": "a@b.c", "type": "home", "primary": false, "verified": true});
        let r = Reader::new("emails[0]", v.clone()).unwrap();
        let e = Email::read(r).unwrap();
        assert_eq!(e.kind, Some(EmailType::Home));
        assert_eq!(e.rest["verified"], true);
        assert_eq!(Value::Object(e.write()), v);
    }
}
