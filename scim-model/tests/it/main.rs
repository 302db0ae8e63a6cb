//! Behaviour tests of scim-model, one binary with a module per area.
//!
//! Test vectors written by others are read at test time from `../shared/conformance/` (beside
//! the checkout); see `support::conformance`.

// Test helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod filter_eval;
mod filter_parse;
mod hostile;
mod messages;
mod patch;
mod schema;
mod support;
mod typed;
