//! Criterion benchmarks of scim-model on the inputs of `benches/data/` (see the
//! `idflow_benches` library), measured beside the Node peers of `benches/peers/bench.js`
//! by `benches/compare.sh`.
//!
//! Groups, each with one benchmark id per input so both sides line up:
//! - `filter_parse/idflow/<case>`: [`Filter::parse`] on each filter of `filters.json`;
//! - `filter_eval/{compiled,uncompiled}/<case>`: [`CompiledFilter::matches`] (compiled once
//!   against the default [`SchemaRegistry`]) and [`Filter::matches`] on the case's resource;
//! - `patch_apply/apply/<case>`: [`PatchOp::apply`] on a fresh copy of the resource, the copy
//!   made outside the timing (`iter_batched`); `patch_apply/parse_and_apply/<case>` also reads
//!   the request from a `serde_json::Value` each time, as the Node peer does;
//!   `patch_apply/clone_only/<case>` is the copy alone, for reference;
//! - `user_parse/{resource,serde_json_value}/<doc>`: the same text into a [`Resource`] and into a
//!   plain `serde_json::Value` (the baseline the parse goal is measured against);
//! - `user_serialise/{resource,serde_json_value}/<doc>`: back to text.
//!
//! Runs are kept short for a 2-core machine (1 s warm-up, 3 s measurement, 30 samples); the
//! command line overrides them as usual (`-- --quick`, `-- --measurement-time 10`).
//!
//! [`CompiledFilter::matches`]: scim_model::filter::CompiledFilter::matches

// Bench inputs are fixed files, checked by the idflow-benches tests and again below before
// anything is timed: a failure there is a broken benchmark, and stopping loudly is right.
// `criterion_group!` generates an undocumented `pub fn`, hence missing_docs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use idflow_benches::{USER_DOCUMENTS, document, filter_cases, patch_cases, resource};
use scim_model::patch::PatchOp;
use scim_model::{Filter, Resource, SchemaRegistry};
use serde_json::Value;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

fn filter_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_parse");
    for case in filter_cases().expect("filters.json") {
        Filter::parse(&case.filter).expect(&case.name);
        g.bench_with_input(
            BenchmarkId::new("idflow", &case.name),
            &case.filter,
            |b, f| {
                b.iter(|| Filter::parse(black_box(f)).expect("filter"));
            },
        );
    }
    g.finish();
}

fn filter_eval(c: &mut Criterion) {
    let registry = SchemaRegistry::default();
    let mut g = c.benchmark_group("filter_eval");
    for case in filter_cases().expect("filters.json") {
        let r = resource(&case.resource).expect("resource");
        let filter = Filter::parse(&case.filter).expect(&case.name);
        let compiled = filter.compile(&registry, r.base_schema().expect("schemas"));
        // Both forms must give the recorded answer before either is timed.
        assert_eq!(
            filter.matches(&r, &registry).expect(&case.name),
            case.expected
        );
        assert_eq!(compiled.matches(&r).expect(&case.name), case.expected);
        g.bench_with_input(BenchmarkId::new("compiled", &case.name), &r, |b, r| {
            b.iter(|| compiled.matches(black_box(r)).expect("matches"));
        });
        g.bench_with_input(BenchmarkId::new("uncompiled", &case.name), &r, |b, r| {
            b.iter(|| filter.matches(black_box(r), &registry).expect("matches"));
        });
    }
    g.finish();
}

fn patch_apply(c: &mut Criterion) {
    let registry = SchemaRegistry::default();
    let mut g = c.benchmark_group("patch_apply");
    for case in patch_cases().expect("patches.json") {
        let base = resource(&case.resource).expect("resource");
        let request = case.request;
        let op = PatchOp::from_value(&request).expect(&case.name);
        // The result must be the recorded one before anything is timed.
        let mut check = base.clone();
        assert!(op.apply(&mut check, &registry).expect(&case.name));
        assert_eq!(check.to_value(), case.expected, "{}", case.name);
        // Each iteration patches its own copy, made (and dropped) outside the timing.
        g.bench_function(BenchmarkId::new("apply", &case.name), |b| {
            b.iter_batched(
                || base.clone(),
                |mut r| {
                    op.apply(&mut r, &registry).expect("apply");
                    r
                },
                BatchSize::SmallInput,
            );
        });
        // Like for like with scim-patch, which is handed parsed JSON and reads its paths and
        // filters on every call: the request is read from a `serde_json::Value` each time.
        g.bench_function(BenchmarkId::new("parse_and_apply", &case.name), |b| {
            b.iter_batched(
                || base.clone(),
                |mut r| {
                    let op = PatchOp::from_value(black_box(&request)).expect("request");
                    op.apply(&mut r, &registry).expect("apply");
                    r
                },
                BatchSize::SmallInput,
            );
        });
        g.bench_function(BenchmarkId::new("clone_only", &case.name), |b| {
            b.iter(|| black_box(&base).clone());
        });
    }
    g.finish();
}

fn user_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("user_parse");
    for name in USER_DOCUMENTS {
        let text = document(name).expect("document");
        // The two parses must agree before either is timed.
        let as_resource: Resource = serde_json::from_str(text).expect("Resource");
        let as_value: Value = serde_json::from_str(text).expect("Value");
        assert_eq!(as_resource.to_value(), as_value, "{name}");
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("resource", name), text, |b, text| {
            b.iter(|| serde_json::from_str::<Resource>(black_box(text)).expect("Resource"));
        });
        g.bench_with_input(
            BenchmarkId::new("serde_json_value", name),
            text,
            |b, text| {
                b.iter(|| serde_json::from_str::<Value>(black_box(text)).expect("Value"));
            },
        );
    }
    g.finish();
}

fn user_serialise(c: &mut Criterion) {
    let mut g = c.benchmark_group("user_serialise");
    for name in USER_DOCUMENTS {
        let as_resource = resource(name).expect("resource");
        let as_value = as_resource.to_value();
        assert_eq!(
            serde_json::to_string(&as_resource).expect("Resource"),
            serde_json::to_string(&as_value).expect("Value"),
            "{name}"
        );
        g.bench_with_input(BenchmarkId::new("resource", name), &as_resource, |b, r| {
            b.iter(|| serde_json::to_string(black_box(r)).expect("Resource"));
        });
        g.bench_with_input(
            BenchmarkId::new("serde_json_value", name),
            &as_value,
            |b, v| {
                b.iter(|| serde_json::to_string(black_box(v)).expect("Value"));
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = scim_model;
    config = config();
    targets = filter_parse, filter_eval, patch_apply, user_parse, user_serialise
}
criterion_main!(scim_model);
