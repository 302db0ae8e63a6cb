//! An instruction-count harness for [`PatchOp::apply`] on the benchmark cases of
//! `benches/data/patches.json` (the `patch_apply` group). Ignored by default; run it in a
//! release build under callgrind, one case at a time, and divide the instructions of [`run`]
//! by the iteration count:
//!
//! ```text
//! cargo test --release -p scim-model --lib patch::perf --no-run
//! PERF_CASE=replace_single PERF_N=2000 valgrind --tool=callgrind --toggle-collect='*patch*perf*run*' \
//!     target/release/deps/scim_model-… patch::perf --ignored
//! ```

use std::hint::black_box;

use serde_json::Value;

use super::PatchOp;
use crate::{Resource, SchemaRegistry};

const PATCHES: &str = include_str!("../../../benches/data/patches.json");
const USER_FULL: &str = include_str!("../../../benches/data/user-full.json");
const USER_ENTRA: &str = include_str!("../../../benches/data/user-entra.json");
const GROUP_100: &str = include_str!("../../../benches/data/group-100.json");

/// Applies `patch` to each of `copies`; the loop callgrind counts (the copies are made
/// before it and dropped after it, as criterion's `iter_batched` does).
#[inline(never)]
fn run(patch: &PatchOp, copies: &mut [Resource], registry: &SchemaRegistry) -> usize {
    let mut changed = 0;
    for r in copies.iter_mut() {
        if black_box(patch).apply(black_box(r), registry).unwrap() {
            changed += 1;
        }
    }
    changed
}

#[test]
#[ignore = "a profiling harness: run under callgrind"]
fn perf() {
    let n: usize = std::env::var("PERF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let only = std::env::var("PERF_CASE").ok();
    let registry = SchemaRegistry::default();
    let cases: Value = serde_json::from_str(PATCHES).unwrap();
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let text = match case["resource"].as_str().unwrap() {
            "user-full" => USER_FULL,
            "user-entra" => USER_ENTRA,
            "group-100" => GROUP_100,
            other => panic!("unknown resource {other}"),
        };
        let r: Resource = serde_json::from_str(text).unwrap();
        let patch = PatchOp::from_value(&case["request"]).unwrap();
        let mut copies = vec![r; n];
        assert_eq!(run(&patch, &mut copies, &registry), n, "{name}");
        let expected: Value = case["expected"].clone();
        assert_eq!(copies[0].to_value(), expected, "{name}");
    }
}
