//! The small value types that cross the seams: object types, identifiers, watermarks, page
//! tokens, versions and the idempotency key of a create.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of object a connector reads or writes: `User`, `Group`, or another type a
/// connector declares (its SCIM resource type name).
///
/// Compared exactly; the constants [`ObjectType::USER`] and [`ObjectType::GROUP`] are the two
/// every identity connector knows.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectType(Cow<'static, str>);

impl ObjectType {
    /// SCIM `User`.
    pub const USER: ObjectType = ObjectType(Cow::Borrowed("User"));
    /// SCIM `Group`.
    pub const GROUP: ObjectType = ObjectType(Cow::Borrowed("Group"));

    /// An object type by name, e.g. `ObjectType::new("Device")`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        ObjectType(name.into())
    }

    /// The name, e.g. `User`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives back the text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

string_id! {
    /// The stable identifier of an object in a source (an HR worker id, an `objectGUID`, a
    /// SCIM `id`): never a name, email or DN, which change.
    SourceId
}

string_id! {
    /// The identifier a target assigned to an object (a SCIM `id`).
    TargetId
}

string_id! {
    /// An object's version in a target (an HTTP ETag such as `W/"3"`), for `If-Match`.
    Version
}

string_id! {
    /// A connector's opaque position in a paged listing; only the connector that issued it
    /// reads it.
    PageToken
}

string_id! {
    /// The idempotency key of a create: stable for one source object (the engine uses the
    /// source id), sent to the target (as `externalId` by the reference connectors) so that a
    /// create whose answer was lost can be found again instead of repeated.
    CreateKey
}

string_id! {
    /// The name of a job (a sync job or a lifecycle workflow set): the unit of state and of
    /// leases in a [`StateStore`](crate::StateStore).
    JobId
}

/// A source's opaque position in its change stream ("changes since here").
///
/// Owned by the source connector: the engine stores it and hands it back, and never orders,
/// compares or parses it. Connectors with ordered stamps (a USN, a timestamp) encode them
/// inside. Debug prints its length and a short hex prefix, never the whole (it may hold a
/// delta link with a token in it).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Watermark(Vec<u8>);

impl Watermark {
    /// Wraps the connector's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Watermark(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A watermark holding a `u64` counter (big-endian), as counter-based connectors use.
    pub fn from_u64(n: u64) -> Self {
        Watermark(n.to_be_bytes().to_vec())
    }

    /// Reads back a watermark made by [`Watermark::from_u64`]; `None` if it is not 8 bytes.
    pub fn to_u64(&self) -> Option<u64> {
        let bytes: [u8; 8] = self.0.as_slice().try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }
}

impl fmt::Debug for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Watermark({} bytes: ", self.0.len())?;
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > 8 {
            f.write_str("…")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_round_trips_u64_and_hides_long_contents() {
        let w = Watermark::from_u64(42);
        assert_eq!(w.to_u64(), Some(42));
        assert_eq!(Watermark::new(vec![1, 2, 3]).to_u64(), None);
        let long = Watermark::new(vec![0xab; 100]);
        assert_eq!(
            format!("{long:?}"),
            "Watermark(100 bytes: abababababababab…)"
        );
    }

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = SourceId::new("E1042");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"E1042\"");
        assert_eq!(ObjectType::USER.as_str(), "User");
        assert_eq!(
            serde_json::to_string(&ObjectType::GROUP).unwrap(),
            "\"Group\""
        );
    }
}
