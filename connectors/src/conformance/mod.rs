//! The conformance kit: async checks of the trait contracts, generic over the traits, that every
//! implementation runs — the reference ones in this crate's tests, and a host's own from the
//! host's tests.
//!
//! Turn it on with the `conformance` feature (as a dev-dependency of the crate that implements a
//! trait), call the module's `run_all` against your implementation, and `unwrap()` the result:
//! a failure names the check and says what was expected and what was found.
//!
//! ```toml
//! [dev-dependencies]
//! connectors = { version = "0.1", features = ["conformance"] }
//! ```
//!
//! - [`source`]: the [`SourceConnector`](crate::SourceConnector) contract — a full import
//!   returns each object once (also while objects change between pages), `get`, changes after
//!   a create, an update, a delete (tombstone) and a membership change, watermarks that only
//!   move forward (a replay is harmless), a foreign watermark is `ResyncRequired`, no delta
//!   support is `Unsupported`. The source is changed through a
//!   [`SourceFixture`](source::SourceFixture) the host provides.
//! - [`target`]: the [`TargetConnector`](crate::TargetConnector) contract — create, get, find
//!   (by the create key, by `userName` case-insensitively), PATCH (atomic; group membership;
//!   disable), PUT and delete round-trips, ETag conflicts, idempotent retries, uniqueness
//!   clashes, paging that stays stable while objects come and go, filters and sorting. It
//!   can run against a shared live service: it works under a random prefix and cleans up.
//! - [`state`]: the [`StateStore`](crate::StateStore) contract — ordered scans and paging,
//!   prefix isolation, atomic batches (an `Insert` that fails writes nothing), `DeletePrefix`,
//!   leases and fencing, the typed records round-tripping through
//!   [`Txn`](crate::state::Txn) and [`StateStoreExt`](crate::state::StateStoreExt), idempotent
//!   retries, and durability across a reopen.
//!
//! Each check is also a public function of its own, so a host can run the ones that apply or
//! see which one failed. The checks write under job names starting with `conformance-`; run
//! them against a store (or connector) set aside for tests.
//!
//! Like object_store's test suite, the kit is **not semver-stable**: checks are added and
//! sharpened in minor releases as the contracts are, so a new release may find a bug an old one
//! did not.

use std::fmt;

pub mod source;
pub mod state;
pub mod target;

/// A conformance check that failed: which check, and what was wrong.
///
/// Its `Display` says both, so `run_all(&store).await.unwrap()` in a test prints a message
/// that names the contract point broken.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The check, e.g. `state::atomic_batches`.
    pub check: &'static str,
    /// What was expected and what was found.
    pub message: String,
}

impl Failure {
    /// A failure of `check`.
    pub fn new(check: &'static str, message: impl Into<String>) -> Self {
        Failure {
            check,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check {} failed: {}",
            self.check, self.message
        )
    }
}

impl std::error::Error for Failure {}
