//! The RFC 7643 §4.3 Enterprise User extension.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Reader, SchemaExtension, Writer};
use crate::{ENTERPRISE_USER_SCHEMA, Result};

/// The user's manager (`manager`, RFC 7643 §4.3).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Manager {
    /// `value`: the manager's `id`. (In Entra's API-driven inbound provisioning it is the
    /// manager's `externalId`.)
    pub value: Option<String>,
    /// `$ref`: the manager's URI.
    pub reference: Option<String>,
    /// `displayName`: the manager's display name (read-only).
    pub display_name: Option<String>,
    /// Sub-attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl Manager {
    /// A manager given by id.
    pub fn new(value: impl Into<String>) -> Self {
        Manager {
            value: Some(value.into()),
            ..Manager::default()
        }
    }

    fn read(mut r: Reader) -> Result<Self> {
        Ok(Manager {
            value: r.string("value")?,
            reference: r.string("$ref")?,
            display_name: r.string("displayName")?,
            rest: r.rest(),
        })
    }

    fn write(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("value", &self.value);
        w.string("$ref", &self.reference);
        w.string("displayName", &self.display_name);
        w.finish(&Map::new(), &self.rest)
    }
}

/// The Enterprise User extension (RFC 7643 §4.3), stored under
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
///
/// ```
/// use scim_model::typed::{EnterpriseUser, SchemaExtension};
///
/// let block = serde_json::json!({"employeeNumber": "701984", "manager": {"value": "26118915"}});
/// let e = EnterpriseUser::from_block(block.as_object().unwrap()).unwrap();
/// assert_eq!(e.manager.unwrap().value.as_deref(), Some("26118915"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct EnterpriseUser {
    /// `employeeNumber`.
    pub employee_number: Option<String>,
    /// `costCenter`.
    pub cost_center: Option<String>,
    /// `organization`.
    pub organization: Option<String>,
    /// `division`.
    pub division: Option<String>,
    /// `department`.
    pub department: Option<String>,
    /// `manager`.
    pub manager: Option<Manager>,
    /// Attributes not modelled above, kept as received.
    pub rest: Map<String, Value>,
}

impl EnterpriseUser {
    /// An empty extension block.
    pub fn new() -> Self {
        EnterpriseUser::default()
    }
}

impl SchemaExtension for EnterpriseUser {
    const URN: &'static str = ENTERPRISE_USER_SCHEMA;

    fn from_block(block: &Map<String, Value>) -> Result<Self> {
        let mut r = Reader::extension(Self::URN, block.clone());
        Ok(EnterpriseUser {
            employee_number: r.string("employeeNumber")?,
            cost_center: r.string("costCenter")?,
            organization: r.string("organization")?,
            division: r.string("division")?,
            department: r.string("department")?,
            manager: r.object("manager", Manager::read)?,
            rest: r.rest(),
        })
    }

    fn to_block(&self) -> Map<String, Value> {
        let mut w = Writer::new();
        w.string("employeeNumber", &self.employee_number);
        w.string("costCenter", &self.cost_center);
        w.string("organization", &self.organization);
        w.string("division", &self.division);
        w.string("department", &self.department);
        w.object("manager", self.manager.as_ref().map(Manager::write));
        w.finish(&Map::new(), &self.rest)
    }
}

impl Serialize for EnterpriseUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_block().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EnterpriseUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let block = Map::<String, Value>::deserialize(deserializer)?;
        EnterpriseUser::from_block(&block).map_err(<D::Error as serde::de::Error>::custom)
    }
}
