//! Validation of a resource against the registry's schemas.

use serde::Serialize;

use crate::ScimType;

/// What a validated resource is for: mutability rules differ between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// A resource as a client sends it to create (POST): `readOnly` attributes are rejected.
    Create,
    /// A resource as a client sends it to replace (PUT): `readOnly` attributes are rejected.
    Replace,
    /// A resource as a server stores or returns it: mutability is not checked.
    Stored,
}

/// One problem found by validation: where, what kind (RFC 7644 `scimType`), and what.
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
