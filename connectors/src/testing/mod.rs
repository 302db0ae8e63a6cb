//! Test decorators any connector or state store can be wrapped in, so that tests of the engine
//! (and of a host's own code) can prove what happens when calls fail, take time, or must be
//! counted.
//!
//! - [`Flaky`] fails chosen or random calls with temporary, permanent or fatal errors, before
//!   the wrapped call (nothing happened) or after it (it happened, but the answer was lost).
//! - [`Latency`] makes every call wait on a [`Clock`](crate::Clock) first: with a
//!   [`FakeClock`](crate::FakeClock) the test stays instant and the clock moves.
//! - [`Recording`] writes every call into a [`CallLog`] the test reads.
//!
//! Each implements every trait the wrapped value implements —
//! [`SourceConnector`](crate::SourceConnector), [`TargetConnector`](crate::TargetConnector),
//! [`StateStore`](crate::StateStore) — forwarding each method explicitly, and decorators stack:
//! `Recording<Flaky<MemoryDirectory>>` records the calls the engine made, failed or not.
//! Their `name` and `capabilities` are the wrapped value's, never failed, delayed or recorded.
//!
//! Random choices (which calls fail, how long a jittered delay is) come from a seed and the
//! call's number only, through a small SplitMix64 mixer, so a seed gives the same run every
//! time, whatever the order in which concurrent calls arrive.
//!
//! ```
//! use connectors::testing::{FailurePlan, Flaky, Recording};
//! use connectors::memory::MemoryDirectory;
//! use connectors::{ErrorKind, ObjectType, TargetConnector};
//! use scim_model::Resource;
//!
//! let user: Resource = serde_json::from_str(
//!     r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}"#,
//! ).unwrap();
//! let dir = MemoryDirectory::new();
//! // The first create succeeds in the directory, but its answer is lost.
//! let target = Recording::new(Flaky::new(dir.clone(), FailurePlan::calls([1]).only(["create"]).after()));
//! # futures::executor::block_on(async {
//! let err = target.create(&ObjectType::USER, &user, None).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Temporary);
//! assert_eq!(dir.len(&ObjectType::USER), 1); // it was created all the same
//! assert_eq!(target.calls()[0].to_string(), "create User userName=bjensen -> Temporary");
//! # });
//! ```

mod flaky;
mod latency;
mod recording;
#[cfg(feature = "scim")]
mod scim2_server;

pub use flaky::{ErrorFactory, FailureKind, FailurePlan, Flaky, InjectedFailure, Timing, Trigger};
pub use latency::{Delay, Latency};
pub use recording::{Call, CallLog, Outcome, Recording};
#[cfg(feature = "scim")]
pub use scim2_server::Scim2Server;

/// SplitMix64's finaliser over `seed` and the call number `n`: a well-mixed 64-bit value that
/// depends on nothing else.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in `[0, 1)` drawn from `seed` and `n`.
fn unit(seed: u64, n: u64) -> f64 {
    // The top 53 bits make an exactly representable fraction.
    (mix(seed, n) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_seed_and_number_only_and_look_uniform() {
        assert_eq!(mix(7, 3), mix(7, 3));
        assert_ne!(mix(7, 3), mix(8, 3));
        assert_ne!(mix(7, 3), mix(7, 4));
        let n = 10_000;
        let below_half = (0..n).filter(|i| unit(42, *i) < 0.5).count();
        assert!((4_700..5_300).contains(&below_half), "{below_half}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&unit(1, i))));
    }
}
