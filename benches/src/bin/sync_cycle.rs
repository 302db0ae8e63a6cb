//! The sync engine at scale, timed step by step with `Instant` (a multi-minute cycle is one
//! measurement, not a criterion sample): with a `MemoryDirectory` on both ends and a
//! `RedbStateStore` in a temporary directory,
//!
//! 1. **raw copy** baseline: every source user read through `import_page` and created in a
//!    fresh target `MemoryDirectory`, no engine;
//! 2. **durable copy** baseline: the same plus one link per user written to a fresh
//!    `RedbStateStore` with `Txn::put_link`, one commit per page of 500;
//! 3. **initial cycle** of the engine (`idflow_benches::sync::job`: scoping filter, ten
//!    mappings with the enterprise extension and the manager reference, userName matching),
//!    then **delta cycles** after 1, 1,000 and 100,000 title changes in the source, each size
//!    run several times (each run changes other users).
//!
//! Each of the three steps runs in a child process of its own (this program run again with
//! `--step <name>`), which builds its own source directory, so that no step inherits another's
//! heap; resident memory (`VmRSS`) is read before and after, giving the memory per synced
//! object, and the peak (`VmHWM`) at the end.
//!
//! Sizes come from the environment:
//!
//! - `SYNC_USERS`: users in the source (default 1,000,000);
//! - `SYNC_DELTAS`: comma-separated change counts (default `1,1000,100000`);
//! - `SYNC_DELTA_RUNS`: runs of each delta size (default 3);
//! - `SYNC_STEPS`: which steps, comma-separated (default `raw,durable,engine`);
//! - `SYNC_MANAGER`: `0` leaves the manager mapping out (default `1`).
//!
//! With `--features mimalloc` the program's global allocator is mimalloc instead of the
//! system's (a host's choice, reported in rows of its own; the baselines run with the same
//! allocator as the engine, in the same run).
//!
//! ```text
//! cargo run --release -p idflow-benches --bin sync_cycle                     # 1,000,000 users
//! SYNC_USERS=100000 cargo run --release -p idflow-benches --bin sync_cycle   # a quick run
//! cargo run --release -p idflow-benches --bin sync_cycle --features mimalloc # mimalloc
//! ```

use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use connectors::memory::MemoryDirectory;
use idflow_benches::connectors::{self as bench, USER};
use idflow_benches::sync;

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

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn resident() -> u64 {
    bench::resident_bytes().unwrap_or(0)
}

/// Peak resident memory (`VmHWM`) in bytes.
fn peak() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn per(bytes: u64, n: u64) -> String {
    format!("{:.0} B", bytes as f64 / n.max(1) as f64)
}

fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A result line for the parent: `RESULT <key> <value>`.
fn result(key: &str, value: impl std::fmt::Display) {
    println!("RESULT {key} {value}");
}

fn build_source(n: u64) -> Res<Arc<MemoryDirectory>> {
    let started = Instant::now();
    let source = bench::directory(n)?;
    eprintln!(
        "  source of {n} users built in {}",
        secs(started.elapsed().as_secs_f64())
    );
    Ok(Arc::new(source))
}

fn step_copy(n: u64, durable: bool) -> Res<()> {
    let source = build_source(n)?;
    let target = MemoryDirectory::new();
    let store = sync::TempStore::new()?;
    let before = resident();
    let started = Instant::now();
    let copied = if durable {
        sync::durable_copy(&source, &target, store.store())?
    } else {
        sync::raw_copy(&source, &target)?
    };
    let elapsed = started.elapsed().as_secs_f64();
    let grown = resident().saturating_sub(before);
    if copied != n || target.len(&USER) as u64 != n {
        return Err(format!("copied {copied} of {n}").into());
    }
    result("seconds", elapsed);
    result("grown", grown);
    result("objects", copied);
    result("file", store.file_bytes());
    result("peak", peak());
    Ok(())
}

fn step_engine(n: u64, deltas: &[u64], runs: u64, manager: bool) -> Res<()> {
    let source = build_source(n)?;
    let target = Arc::new(MemoryDirectory::new());
    let store = sync::TempStore::new()?;
    let engine = sync::engine(
        manager,
        source.clone(),
        target.clone(),
        store.store().clone(),
    )?
    .with_progress(|p| {
        if p.processed.is_multiple_of(100_000) {
            eprintln!("  cycle {}: {} processed", p.cycle, p.processed);
        }
    });
    let before = resident();
    let started = Instant::now();
    let report = sync::run(&engine)?;
    let elapsed = started.elapsed().as_secs_f64();
    let with_report = resident().saturating_sub(before);
    let s = report.summary;
    let log_entries = report.log.len();
    let log_omitted = report.log_omitted;
    let failures: Vec<String> = report
        .log
        .iter()
        .filter(|e| e.status == sync_engine::Status::Failure)
        .take(3)
        .map(|e| format!("{e:?}"))
        .collect();
    drop(report);
    let without_report = resident().saturating_sub(before);
    if s.failed != 0 || s.created + s.skipped != n {
        return Err(
            format!("unexpected initial cycle: {s:?}; first failures: {failures:#?}").into(),
        );
    }
    result("seconds", elapsed);
    result("created", s.created);
    result("skipped", s.skipped);
    result("log_entries", log_entries);
    result("log_omitted", log_omitted);
    result("grown_with_report", with_report);
    result("grown", without_report);
    result("file", store.file_bytes());
    result("target_objects", target.len(&USER));
    let mut round = 0;
    for &count in deltas {
        let mut times = Vec::new();
        for _ in 0..runs {
            round += 1;
            let expected = sync::change_titles(&source, n, count, round)?;
            let started = Instant::now();
            let report = sync::run(&engine)?;
            let elapsed = started.elapsed().as_secs_f64();
            if report.summary.updated != expected || report.summary.failed != 0 {
                return Err(format!(
                    "delta of {count}: expected {expected} updates, got {:?}",
                    report.summary
                )
                .into());
            }
            eprintln!(
                "  delta of {count} changes ({expected} in scope): {}",
                secs(elapsed)
            );
            times.push(elapsed);
        }
        let list: Vec<String> = times.iter().map(|t| format!("{t}")).collect();
        result(&format!("delta_{count}"), list.join(","));
    }
    result("file_after_deltas", store.file_bytes());
    result("peak", peak());
    Ok(())
}

/// Runs one step in a child process and returns its `RESULT` lines as (key, value).
fn child(step: &str) -> Res<Vec<(String, String)>> {
    let exe = std::env::current_exe()?;
    eprintln!("{step}:");
    let out = Command::new(exe)
        .args(["--step", step])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("step {step} failed ({})", out.status).into());
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn get(results: &[(String, String)], key: &str) -> Res<f64> {
    results
        .iter()
        .find(|(k, _)| k == key)
        .ok_or_else(|| format!("no {key} in the results"))?
        .1
        .parse::<f64>()
        .map_err(Into::into)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() -> Res<()> {
    let n = env_u64("SYNC_USERS", 1_000_000)?;
    let deltas: Vec<u64> = env_list("SYNC_DELTAS", "1,1000,100000")
        .iter()
        .map(|s| s.replace('_', "").parse())
        .collect::<Result<_, _>>()?;
    let runs = env_u64("SYNC_DELTA_RUNS", 3)?.max(1);
    let manager = env_u64("SYNC_MANAGER", 1)? != 0;
    if n == 0 {
        return Err("SYNC_USERS must be at least 1".into());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, step] = args.as_slice()
        && flag == "--step"
    {
        return match step.as_str() {
            "raw" => step_copy(n, false),
            "durable" => step_copy(n, true),
            "engine" => step_engine(n, &deltas, runs, manager),
            other => Err(format!("unknown step {other:?}").into()),
        };
    }
    if !args.is_empty() {
        return Err("usage: sync_cycle (sizes from SYNC_USERS, SYNC_DELTAS, SYNC_DELTA_RUNS, SYNC_STEPS, SYNC_MANAGER)".into());
    }

    let steps = env_list("SYNC_STEPS", "raw,durable,engine");
    let mut raw = None;
    let mut durable = None;
    let mut engine = None;
    for step in &steps {
        let r = child(step)?;
        match step.as_str() {
            "raw" => raw = Some(r),
            "durable" => durable = Some(r),
            "engine" => engine = Some(r),
            _ => {}
        }
    }

    println!(
        "\n{n} users; deltas {deltas:?}, {runs} run(s) each; manager mapping {}\n",
        if manager { "on" } else { "off" }
    );
    println!(
        "| step | time | per object | objects/s | ratio to raw copy | ratio to durable copy | resident growth | per object | peak resident |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let raw_s = raw.as_ref().map(|r| get(r, "seconds")).transpose()?;
    let durable_s = durable.as_ref().map(|r| get(r, "seconds")).transpose()?;
    let ratio =
        |t: f64, base: Option<f64>| base.map_or("—".to_owned(), |b| format!("{:.2}×", t / b));
    for (label, r) in [
        ("raw copy", &raw),
        ("durable copy", &durable),
        ("initial cycle", &engine),
    ] {
        let Some(r) = r else { continue };
        let t = get(r, "seconds")?;
        let grown = get(r, "grown")? as u64;
        println!(
            "| {label} | {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            secs(t),
            secs(t / n as f64),
            n as f64 / t,
            ratio(t, raw_s),
            ratio(t, durable_s),
            mib(grown),
            per(grown, n),
            mib(get(r, "peak")? as u64),
        );
    }
    if let Some(r) = &durable {
        println!(
            "\ndurable copy: state store file {} ({} per link)",
            mib(get(r, "file")? as u64),
            per(get(r, "file")? as u64, n)
        );
    }
    if let Some(r) = &engine {
        let grown_with = get(r, "grown_with_report")? as u64;
        println!(
            "initial cycle: created {}, skipped {}, {} log entries in the report and {} more in the store only; resident growth {} with the report held, {} after dropping it; state store file {} ({} per object) after the initial cycle, {} after the deltas",
            get(r, "created")?,
            get(r, "skipped")?,
            get(r, "log_entries")?,
            get(r, "log_omitted")?,
            mib(grown_with),
            mib(get(r, "grown")? as u64),
            mib(get(r, "file")? as u64),
            per(get(r, "file")? as u64, n),
            mib(get(r, "file_after_deltas")? as u64),
        );
        println!("\n| delta cycle | median | runs | changes/s (median) |");
        println!("|---|---:|---|---:|");
        for &count in &deltas {
            let Some((_, v)) = r.iter().find(|(k, _)| *k == format!("delta_{count}")) else {
                continue;
            };
            let times: Vec<f64> = v.split(',').filter_map(|t| t.parse().ok()).collect();
            let shown: Vec<String> = times.iter().map(|t| secs(*t)).collect();
            let m = median(times);
            println!(
                "| {count} changes | {} | {} | {:.0} |",
                secs(m),
                shown.join(", "),
                count as f64 / m
            );
        }
    }
    Ok(())
}
