//! Scoping filters, attribute mappings and Entra's expression language: which identities a
//! job touches, and what the target should look like.
//!
//! - [`ScopingFilter`]: groups of clauses `{sourceAttribute, operator, value}` in Entra's JSON
//!   shape — clauses in a group AND, groups OR, `[]` is everything in scope — with every Entra
//!   operator plus idflow's (`Less_Than`, `STARTS_WITH`, dateTime comparisons, case-insensitive
//!   variants, All/Any over multi-valued attributes, Cloud Sync's group and OU scopes).
//!   Compiled once ([`CompiledScopingFilter`]), evaluated many times, and able to explain
//!   itself in the words a provisioning log needs.
//! - [`MappingSet`]: attribute mappings (Direct, Constant, Expression, None) with default
//!   values, flow types and matching priorities; computes what a create sends and the minimal
//!   PATCH an update sends. An empty source value never clears a target value unless the
//!   mapping opts in (`flowNullValues`).
//! - [`Expression`]: Entra's mapping expression language — parsed once, evaluated many times,
//!   with the function library of the app-provisioning and Cloud Sync docs.
//!
//! Everything is read from a [`scim_model::Resource`] by attribute path.
//!
//! ```
//! use scoping::{EvalContext, MappingSet, ScopingFilter};
//!
//! let user: scim_model::Resource = serde_json::from_str(r#"{
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen", "active": true,
//!     "name": {"givenName": "Barbara", "familyName": "Jensen"}
//! }"#).unwrap();
//!
//! let scope = ScopingFilter::from_json_str(
//!     r#"[[{"sourceAttribute": "active", "operator": "IS TRUE"}]]"#,
//! ).unwrap().compile().unwrap();
//! assert!(scope.matches(&user));
//!
//! let mappings = MappingSet::from_json_str(r#"[
//!   {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
//!   {"targetAttribute": "displayName",
//!    "source": {"type": "Expression", "expression": "Join(\" \", [name.givenName], [name.familyName])"}}
//! ]"#).unwrap();
//! let ctx = EvalContext::new("2026-11-23T09:00:00Z".parse().unwrap());
//! let create = mappings.create_attributes(&user, &ctx).unwrap();
//! assert_eq!(create["displayName"], "Barbara Jensen");
//! ```

mod error;
pub mod expr;
pub mod filter;
pub mod mapping;
mod read;

pub use error::{Error, Result};
pub use expr::{EvalContext, ExprValue, Expression};
pub use filter::{CompiledScopingFilter, Explanation, ScopingFilter};
pub use mapping::{AttributeMapping, FlowType, MappingSet, MappingSource};
