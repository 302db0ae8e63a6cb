//! An instruction-count harness for [`CompiledFilter::matches`] on the benchmark cases of
//! `benches/data/filters.json` (the `filter_eval` group). Ignored by default; run it in a
//! release build under callgrind, one case at a time, and divide the instructions of
//! [`run`] by the iteration count:
//!
//! ```text
//! cargo test --release -p scim-model --lib eval::perf --no-run
//! PERF_CASE=eq_simple PERF_N=2000 valgrind --tool=callgrind --toggle-collect='*perf*run*' \
//!     target/release/deps/scim_model-… eval::perf -- --ignored
//! ```

use std::hint::black_box;

use serde_json::Value;

use super::CompiledFilter;
use crate::{Filter, Resource, SchemaRegistry};

const FILTERS: &str = include_str!("../../../../benches/data/filters.json");
const USER_FULL: &str = include_str!("../../../../benches/data/user-full.json");
const USER_ENTRA: &str = include_str!("../../../../benches/data/user-entra.json");

/// Evaluates `compiled` on `r` `n` times; the loop callgrind counts.
#[inline(never)]
fn run(compiled: &CompiledFilter, r: &Resource, n: usize) -> usize {
    let mut hits = 0;
    for _ in 0..n {
        if black_box(compiled).matches(black_box(r)).unwrap() {
            hits += 1;
        }
    }
    hits
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
    let cases: Value = serde_json::from_str(FILTERS).unwrap();
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let text = match case["resource"].as_str().unwrap() {
            "user-full" => USER_FULL,
            "user-entra" => USER_ENTRA,
            other => panic!("unknown resource {other}"),
        };
        let r: Resource = serde_json::from_str(text).unwrap();
        let filter = Filter::parse(case["filter"].as_str().unwrap()).unwrap();
        let compiled = filter.compile(&registry, r.base_schema().unwrap());
        let expected = case["expected"].as_bool().unwrap();
        assert_eq!(compiled.matches(&r).unwrap(), expected, "{name}");
        assert_eq!(filter.matches(&r, &registry).unwrap(), expected, "{name}");
        let hits = run(&compiled, &r, n);
        assert_eq!(hits, if expected { n } else { 0 }, "{name}");
    }
}
