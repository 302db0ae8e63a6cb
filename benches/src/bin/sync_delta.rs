//! A profiling driver for the sync engine's delta cycles: builds the source, runs the initial
//! cycle once, then loops delta cycles of the same size, timing each — one process, so a
//! profiler sees the delta cycles and little else (the `sync_cycle` binary is the benchmark;
//! this only helps find where a delta cycle's time goes).
//!
//! - `SYNC_USERS`: users in the source (default 100,000);
//! - `SYNC_DELTA`: changes per delta cycle (default 1,000);
//! - `SYNC_WARMUP`: 1-change cycles run first, untimed, to pass the warm-up after the initial
//!   cycle (default 15);
//! - `SYNC_RUNS`: timed delta cycles (default 10);
//! - `SYNC_PERF_CTL`: a `perf record --control=fifo:...` control FIFO; when set, `enable` is
//!   written to it before the timed cycles and `disable` after, so `perf record -D -1` samples
//!   only them.
//!
//! The timed cycles run inside [`timed_deltas`], a function of its own, so callgrind can count
//! only them: `valgrind --tool=callgrind '--toggle-collect=sync_delta::timed_deltas'`.
//!
//! It prints the median, mean and slowest cycle. With `--features mimalloc` the global
//! allocator is mimalloc (a host's choice).
//!
//! ```text
//! SYNC_USERS=50000 target/release/sync_delta
//! ```

use std::error::Error;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use connectors::memory::MemoryDirectory;
use idflow_benches::connectors as bench;
use idflow_benches::sync;
use sync_engine::SyncEngine;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn Error>>;

fn env_u64(name: &str, default: u64) -> Res<u64> {
    match std::env::var(name) {
        Ok(v) => Ok(v.replace('_', "").parse()?),
        Err(_) => Ok(default),
    }
}

fn perf_ctl(command: &str) -> Res<()> {
    if let Ok(path) = std::env::var("SYNC_PERF_CTL") {
        let mut fifo = std::fs::OpenOptions::new().write(true).open(path)?;
        fifo.write_all(format!("{command}\n").as_bytes())?;
    }
    Ok(())
}

/// This thread's time on a CPU and waiting for one, in seconds (`/proc/thread-self/schedstat`;
/// zeros where it cannot be read). The wall-clock time of a cycle less both is the time it
/// was blocked (on `fsync`, mostly), which the machine's load does not change.
fn schedstat() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0) as f64 / 1e9);
    (fields.next().unwrap_or(0.0), fields.next().unwrap_or(0.0))
}

/// One cycle's times in seconds: wall clock, on a CPU, waiting for a CPU.
#[derive(Clone, Copy)]
struct Times {
    wall: f64,
    cpu: f64,
    queued: f64,
}

/// One delta cycle after `count` changes; checks it made one update per change in scope.
fn delta(
    engine: &SyncEngine,
    source: &MemoryDirectory,
    n: u64,
    count: u64,
    round: u64,
) -> Res<Times> {
    let expected = sync::change_titles(source, n, count, round)?;
    let (cpu0, queued0) = schedstat();
    let started = Instant::now();
    let report = sync::run(engine)?;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, queued1) = schedstat();
    if std::env::var_os("SYNC_VERBOSE").is_some() {
        eprintln!(
            "  cycle {}: {:?}, {} log entries",
            report.cycle.number,
            report.summary,
            report.log.len()
        );
    }
    if report.summary.updated != expected || report.summary.failed != 0 {
        return Err(format!(
            "delta of {count}: expected {expected} updates, got {:?}",
            report.summary
        )
        .into());
    }
    Ok(Times {
        wall: elapsed,
        cpu: cpu1 - cpu0,
        queued: queued1 - queued0,
    })
}

/// The timed delta cycles (a function of its own for callgrind's `--toggle-collect`).
#[inline(never)]
fn timed_deltas(
    engine: &SyncEngine,
    source: &MemoryDirectory,
    n: u64,
    count: u64,
    runs: u64,
    first_round: u64,
) -> Res<Vec<Times>> {
    let mut times = Vec::new();
    for r in 0..runs {
        times.push(delta(engine, source, n, count, first_round + r)?);
    }
    Ok(times)
}

fn main() -> Res<()> {
    let n = env_u64("SYNC_USERS", 100_000)?.max(1);
    let count = env_u64("SYNC_DELTA", 1_000)?;
    let warmup = env_u64("SYNC_WARMUP", 15)?;
    let runs = env_u64("SYNC_RUNS", 10)?;
    let source = Arc::new(bench::directory(n)?);
    let target = Arc::new(MemoryDirectory::new());
    let store = sync::TempStore::new()?;
    let mut engine = sync::engine(true, source.clone(), target.clone(), store.store().clone())?;
    if std::env::var_os("SYNC_VERBOSE").is_some() {
        engine = engine.with_progress(|p| {
            eprintln!("    cycle {}: {} processed", p.cycle, p.processed);
        });
    }
    let started = Instant::now();
    let first = sync::run(&engine)?;
    eprintln!(
        "initial cycle of {n} users: {:.2} s ({} created, {} failed)",
        started.elapsed().as_secs_f64(),
        first.summary.created,
        first.summary.failed
    );
    drop(first);
    let mut round = 0;
    for _ in 0..warmup {
        round += 1;
        delta(&engine, &source, n, 1, round)?;
    }
    perf_ctl("enable")?;
    let times = timed_deltas(&engine, &source, n, count, runs, round + 1)?;
    perf_ctl("disable")?;
    let median = |f: fn(&Times) -> f64| {
        let mut v: Vec<f64> = times.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let wall = median(|t| t.wall);
    let cpu = median(|t| t.cpu);
    let blocked = median(|t| t.wall - t.cpu - t.queued);
    let mean = times.iter().map(|t| t.wall).sum::<f64>() / times.len().max(1) as f64;
    let max = times.iter().map(|t| t.wall).fold(0.0, f64::max);
    println!(
        "{n} users, {runs} delta cycles of {count} changes: median wall {:.1} ms ({:.1} µs a change), mean {:.1} ms, max {:.1} ms, on CPU {:.1} ms ({:.1} µs a change), blocked {:.1} ms",
        wall * 1e3,
        wall * 1e6 / count.max(1) as f64,
        mean * 1e3,
        max * 1e3,
        cpu * 1e3,
        cpu * 1e6 / count.max(1) as f64,
        blocked * 1e3,
    );
    for t in &times {
        println!(
            "  wall {:.1} ms, on CPU {:.1} ms, waiting for a CPU {:.1} ms, blocked {:.1} ms",
            t.wall * 1e3,
            t.cpu * 1e3,
            t.queued * 1e3,
            (t.wall - t.cpu - t.queued) * 1e3
        );
    }
    Ok(())
}
