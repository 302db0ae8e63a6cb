//! Criterion benchmarks of the sync engine's delta cycles (issue 5, point 8; recorded in
//! BENCHMARKS.md, section "sync-engine").
//!
//! Setup, outside the timings: a source `MemoryDirectory` of `SYNC_BENCH_USERS` HR-shaped users
//! (default 1,000,000), an empty target `MemoryDirectory`, a `RedbStateStore` in a temporary
//! directory, the job of `idflow_benches::sync::job` (scoping filter, ten mappings with the
//! enterprise extension and the manager, userName matching), and the initial cycle, whose time
//! is printed (the `sync_cycle` binary measures it properly, beside its baselines).
//!
//! `sync_delta/<users>_users/<N>`: one delta cycle after N users had their title changed in
//! the source (N of `SYNC_BENCH_DELTAS`, default `1,1000,100000`). Each iteration first makes
//! its own N changes, untimed, to other users than the last, then times `run_cycle`; the
//! iteration checks that the cycle made one update per changed user in scope.
//!
//! Run: `cargo bench -p idflow-benches --bench sync`, or for a quick run
//! `SYNC_BENCH_USERS=100000 cargo bench -p idflow-benches --bench sync`.

// Bench setup fails only on a bug; stopping loudly is right.
// `criterion_group!` generates an undocumented `pub fn`, hence missing_docs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::memory::MemoryDirectory;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use idflow_benches::connectors as bench;
use idflow_benches::sync;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.replace('_', "").parse().expect("a number"))
        .unwrap_or(default)
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .sample_size(10)
}

fn sync_delta(c: &mut Criterion) {
    let n = env_u64("SYNC_BENCH_USERS", 1_000_000);
    let deltas: Vec<u64> = std::env::var("SYNC_BENCH_DELTAS")
        .unwrap_or_else(|_| "1,1000,100000".to_owned())
        .split(',')
        .map(|s| s.trim().replace('_', "").parse().expect("a number"))
        .filter(|&d| d <= n)
        .collect();

    let source = Arc::new(bench::directory(n).expect("load the source"));
    let target = Arc::new(MemoryDirectory::new());
    let store = sync::TempStore::new().expect("a state store");
    let engine = sync::engine(true, source.clone(), target.clone(), store.store().clone())
        .expect("the engine");
    let started = Instant::now();
    let first = sync::run(&engine).expect("the initial cycle");
    eprintln!(
        "initial cycle of {n} users: {:.1} s ({:?})",
        started.elapsed().as_secs_f64(),
        first.summary
    );
    assert_eq!(first.summary.failed, 0);
    drop(first);

    let round = Cell::new(0_u64);
    let mut g = c.benchmark_group("sync_delta");
    g.sampling_mode(SamplingMode::Flat);
    for count in deltas {
        g.throughput(Throughput::Elements(count));
        g.bench_with_input(
            BenchmarkId::new(format!("{n}_users"), count),
            &count,
            |b, &count| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        round.set(round.get() + 1);
                        let expected =
                            sync::change_titles(&source, n, count, round.get()).expect("changes");
                        let started = Instant::now();
                        let report = sync::run(&engine).expect("a delta cycle");
                        total += started.elapsed();
                        assert_eq!(report.summary.updated, expected, "{:?}", report.summary);
                        assert_eq!(report.summary.failed, 0);
                    }
                    total
                });
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = sync_delta
}
criterion_main!(benches);
