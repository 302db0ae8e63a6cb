//! Scoping filters and attribute mappings, after Microsoft Entra's provisioning service.
//!
//! This crate will decide which identities a sync job touches (scoping filters: groups of
//! clauses, groups OR'ed, clauses AND'ed) and what the target should look like (attribute
//! mappings: direct, constant or expression, with Entra's expression language).
//!
//! It is not built yet: its work is tracked by the scoping issue. Everything it reads, it reads
//! from a [`scim_model`] resource by attribute path.

mod error;
pub mod expr;
pub mod filter;
pub mod mapping;

pub use error::{Error, Result};
pub use expr::{EvalContext, ExprValue, Expression};
pub use filter::{CompiledScopingFilter, Explanation, ScopingFilter};
pub use mapping::{AttributeMapping, FlowType, MappingSet, MappingSource};
