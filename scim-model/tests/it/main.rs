//! Behaviour tests of scim-model, one binary with a module per area.
//!
//! Test vectors written by others are read at test time from `../shared/conformance/` (beside
//! the checkout); see `support::conformance`.

mod filter_eval;
mod filter_parse;
mod messages;
mod patch;
mod schema;
mod support;
mod typed;
