//! Criterion benchmarks of the connectors crate's reference implementations, on the
//! HR-shaped users of `idflow_benches::connectors` (recorded in BENCHMARKS.md, section
//! "connectors").
//!
//! Groups:
//! - `memory_directory_import/full_import/<users>`: a [`MemoryDirectory`] (default page size,
//!   500) of 10,000 and of 1,000,000 users read in full, page by page through
//!   [`SourceConnector::import_page`]; the throughput is users read per second.
//! - `memory_directory_delta/<users>_users/<N>`: every change after a watermark read page by
//!   page through [`SourceConnector::changes`], when N users (N = 1, 1,000, 10,000, 100,000;
//!   at most the directory's size) had their title changed by a PATCH after it. The same N in
//!   both directories shows that the cost follows N, not the directory's size.
//!   `memory_directory_delta/full_import_after_changes/10000` is the full import of the
//!   10,000-user directory again, after the changes: reading an object costs more once the
//!   100,000 PATCHes have fragmented the heap (glibc's allocator), and this gives the
//!   per-object cost of a read in the same state as the delta reads.
//! - `state_store_commit/<store>/<mode>`: one [`Txn`] of 10,000 [`Txn::put_link`]s (20,000
//!   writes: each link and its reverse index entry) committed to a [`RedbStateStore`] in a
//!   temporary file (each commit `fsync`ed) and to a [`MemoryStateStore`]. `fresh_keys`: every
//!   commit writes 10,000 links never written before (the store grows by 10,000 links per
//!   iteration); `overwrite`: every commit rewrites the same 10,000 links. The transaction is
//!   built outside the timing; `state_store_commit/build_txn/10000` is that building alone
//!   (JSON-encoding the links).
//! - `state_store_lookup/<store>/{link_by_source,link_by_target}`: one lookup of a link picked
//!   at random, in a store holding 1,000,000 links; the throughput is lookups per second.
//!
//! The 1,000,000-user directory and the 1,000,000-link stores are built once, outside the
//! timings. Runs are short for a 2-core machine (1 s warm-up, 5 s measurement, 10 samples;
//! flat sampling for the iterations that take a second or more).
//!
//! [`MemoryDirectory`]: connectors::memory::MemoryDirectory
//! [`SourceConnector::import_page`]: connectors::SourceConnector::import_page
//! [`SourceConnector::changes`]: connectors::SourceConnector::changes

// Bench setup fails only on a bug; stopping loudly is right.
// `criterion_group!` generates an undocumented `pub fn`, hence missing_docs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use connectors::state::{MemoryStateStore, RedbStateStore, StateStore, StateStoreExt, Txn};
use connectors::{SourceId, TargetId};
use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures::executor::block_on;
use idflow_benches::connectors as bench;
use idflow_benches::connectors::USER;

const BIG: u64 = 1_000_000;
const SMALL: u64 = 10_000;
const LINKS_PER_TXN: u64 = 10_000;
const STORED_LINKS: u64 = 1_000_000;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(10)
}

fn memory_directory(c: &mut Criterion) {
    let small = bench::directory(SMALL).expect("load 10,000 users");
    let big = bench::directory(BIG).expect("load 1,000,000 users");

    let mut g = c.benchmark_group("memory_directory_import");
    g.sampling_mode(SamplingMode::Flat);
    for (n, dir) in [(SMALL, &small), (BIG, &big)] {
        assert_eq!(bench::full_import(dir).expect("import") as u64, n);
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("full_import", n), dir, |b, dir| {
            b.iter(|| bench::full_import(black_box(dir)).expect("import"));
        });
    }
    g.finish();

    // Changes are made after the imports were timed, and only read below.
    let big_marks =
        bench::staged_changes(&big, BIG, &[100_000, 10_000, 1_000, 1]).expect("changes");
    let small_marks = bench::staged_changes(&small, SMALL, &[10_000, 1_000, 1]).expect("changes");
    let mut g = c.benchmark_group("memory_directory_delta");
    g.sampling_mode(SamplingMode::Flat);
    // The per-object cost of a read in the heap as the changes left it, for comparison.
    g.throughput(Throughput::Elements(SMALL));
    g.bench_with_input(
        BenchmarkId::new("full_import_after_changes", SMALL),
        &small,
        |b, dir| {
            b.iter(|| bench::full_import(black_box(dir)).expect("import"));
        },
    );
    for (n, dir, marks) in [(SMALL, &small, &small_marks), (BIG, &big, &big_marks)] {
        for (changes, since) in marks {
            assert_eq!(
                bench::read_changes(dir, since).expect("changes") as u64,
                *changes
            );
            g.throughput(Throughput::Elements(*changes));
            g.bench_with_input(
                BenchmarkId::new(format!("{n}_users"), changes),
                since,
                |b, since| {
                    b.iter(|| bench::read_changes(dir, black_box(since)).expect("changes"));
                },
            );
        }
    }
    g.finish();
}

fn state_store_commit(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let redb = RedbStateStore::open(tmp.path().join("commit.redb")).expect("redb");
    let memory = MemoryStateStore::new();
    let stores: [(&str, &dyn StateStore); 2] = [("redb", &redb), ("memory", &memory)];

    let mut g = c.benchmark_group("state_store_commit");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(LINKS_PER_TXN));
    g.bench_function(BenchmarkId::new("build_txn", LINKS_PER_TXN), |b| {
        b.iter(|| bench::links_txn(0..LINKS_PER_TXN).expect("txn"));
    });
    for (name, store) in stores {
        // Users 0..10,000 are the ones overwritten; fresh keys start after them.
        block_on(bench::links_txn(0..LINKS_PER_TXN).unwrap().commit(store)).unwrap();
        let next = Cell::new(LINKS_PER_TXN);
        g.bench_function(BenchmarkId::new(name, "fresh_keys"), |b| {
            b.iter_batched(
                || {
                    let start = next.get();
                    next.set(start + LINKS_PER_TXN);
                    bench::links_txn(start..start + LINKS_PER_TXN).expect("txn")
                },
                |txn: Txn| block_on(txn.commit(store)).expect("commit"),
                BatchSize::PerIteration,
            );
        });
        g.bench_function(BenchmarkId::new(name, "overwrite"), |b| {
            b.iter_batched(
                || bench::links_txn(0..LINKS_PER_TXN).expect("txn"),
                |txn: Txn| block_on(txn.commit(store)).expect("commit"),
                BatchSize::PerIteration,
            );
        });
        let job = bench::job();
        let last = next.get() - 1;
        let found =
            block_on(store.link_by_source(&job, &USER, &SourceId::new(bench::user_id(last))));
        assert_eq!(found.unwrap(), Some(bench::link(last)), "{name}");
    }
    g.finish();
}

fn state_store_lookup(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let redb = RedbStateStore::open(tmp.path().join("lookup.redb")).expect("redb");
    let memory = MemoryStateStore::new();
    let stores: [(&str, &dyn StateStore); 2] = [("redb", &redb), ("memory", &memory)];
    let job = bench::job();
    // Random users, fixed: the lookups cycle through them.
    let picks: Vec<u64> = (0..4096_u64)
        .map(|k| bench::mix(k ^ 0xbeef) % STORED_LINKS)
        .collect();
    let sources: Vec<SourceId> = picks
        .iter()
        .map(|&i| SourceId::new(bench::user_id(i)))
        .collect();
    let targets: Vec<TargetId> = picks
        .iter()
        .map(|&i| TargetId::new(bench::target_id(i)))
        .collect();

    let mut g = c.benchmark_group("state_store_lookup");
    g.throughput(Throughput::Elements(1));
    for (name, store) in stores {
        bench::fill_links(store, STORED_LINKS, 50_000).expect("fill");
        for (k, &i) in picks.iter().enumerate().take(16) {
            let by_source = block_on(store.link_by_source(&job, &USER, &sources[k])).unwrap();
            let by_target = block_on(store.link_by_target(&job, &USER, &targets[k])).unwrap();
            assert_eq!(by_source, Some(bench::link(i)), "{name}");
            assert_eq!(by_target, by_source, "{name}");
        }
        let turn = Cell::new(0_usize);
        let next = || {
            let k = turn.get();
            turn.set((k + 1) % picks.len());
            k
        };
        g.bench_function(BenchmarkId::new(name, "link_by_source"), |b| {
            b.iter(|| {
                block_on(store.link_by_source(&job, &USER, black_box(&sources[next()])))
                    .expect("lookup")
            });
        });
        g.bench_function(BenchmarkId::new(name, "link_by_target"), |b| {
            b.iter(|| {
                block_on(store.link_by_target(&job, &USER, black_box(&targets[next()])))
                    .expect("lookup")
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = memory_directory, state_store_commit, state_store_lookup
}
criterion_main!(benches);
