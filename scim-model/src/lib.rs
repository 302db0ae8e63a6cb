//! SCIM 2.0 (RFC 7643 and RFC 7644) for idflow: resources with extensions, schemas, attribute
//! paths, filters, PATCH, Bulk and the other protocol messages.
//!
//! Every idflow crate speaks [`Resource`]: a SCIM resource kept as the JSON it arrived as
//! (names, order and unknown extensions round-trip), read case-insensitively by attribute
//! path, checked against a [`SchemaRegistry`] that knows the RFC 7643 schemas and any custom
//! extension registered at run time.
//!
//! ```
//! use scim_model::{Filter, Resource, SchemaRegistry};
//!
//! let user: Resource = serde_json::from_str(r#"{
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen",
//!     "emails": [{"value": "bjensen@example.com", "type": "work"}]
//! }"#).unwrap();
//!
//! let filter: Filter = r#"emails[type eq "work" and value co "@EXAMPLE.com"]"#.parse().unwrap();
//! let registry = SchemaRegistry::default();
//! assert!(filter.matches(&user, &registry).unwrap());
//! ```

mod error;
pub mod filter;
mod limits;
pub mod message;
pub mod patch;
mod path;
mod resource;
pub mod schema;
pub mod typed;

pub use error::{Error, Result, ScimType};
pub use filter::{CompValue, CompareOp, Filter};
pub use limits::Limits;
pub use message::{BulkRequest, BulkResponse, ListResponse, ScimError, SearchRequest};
pub use path::AttributePath;
pub use resource::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Resource, USER_SCHEMA, get_ci, get_ci_mut, insert_ci,
    remove_ci,
};
pub use schema::{Operation, Schema, SchemaRegistry, ValidationIssue, ValidationOptions};
pub use typed::{EnterpriseUser, Group, User};

/// The README's Rust examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
