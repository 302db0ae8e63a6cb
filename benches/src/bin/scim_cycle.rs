//! The sync engine into a real SCIM server over loopback, beside the best a plain HTTP client
//! does against the same server with the same creates (issue 7's benchmark).
//!
//! Each round starts a fresh `scim2-server` (PyPI; installed by `.ci/peers` into
//! `.peers/venv`) twice on free loopback ports and measures, alternately:
//!
//! - **engine**: one initial cycle of [`idflow_benches::sync::job`] (nine mappings, no manager
//!   reference, userName matching) from a `MemoryDirectory` of `SCIM_USERS` HR users into the
//!   server through `ScimTarget`, with a durable `RedbStateStore` in a temporary directory and
//!   `exportConcurrency` = `SCIM_CONCURRENCY`;
//! - **plain client**: the same users' create bodies (the job's mappings applied to each
//!   in-scope user, as the engine sends them) POSTed to `/Users` by one `reqwest` client with
//!   `SCIM_CONCURRENCY` requests in flight: no state, no log, no matching — the request rate
//!   the server sustains for these creates at this concurrency.
//!
//! Both runs end with the server holding every in-scope user (checked). The figure is the
//! ratio of the engine's best round to the plain client's best round.
//!
//! ```text
//! .ci/peers    # once: the Python venv with scim2-server
//! cargo run --release -p idflow-benches --bin scim_cycle
//! SCIM_USERS=2000 SCIM_ROUNDS=1 cargo run --release -p idflow-benches --bin scim_cycle  # quick
//! ```
//!
//! Environment: `SCIM_USERS` (default 10,000), `SCIM_CONCURRENCY` (default 8), `SCIM_ROUNDS`
//! (default 3), `SCIM_ONLY` (`engine` or `plain`: one side only, e.g. to read its CPU time);
//! for diagnosis, `SCIM_PAGE` (the job's page size), `SCIM_STATE=memory` (a `MemoryStateStore`
//! instead of redb) and `SCIM_TRACE=1` (the time of each batch, and the server's last log lines).
//!
//! scim2-server's test server is Python's `wsgiref` with `ThreadingMixIn`: a listen backlog of 5
//! and a closed connection after every answer. More than 5 connections opened at once (a batch
//! starting with 8 exports) overflow the backlog, and the dropped connections wait for TCP's
//! 1-second SYN retransmit; a plain client at steady state opens them one at a time. Compare at
//! concurrencies up to 4, where the server is not the thing measured.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::scim::{ScimTarget, ScimTargetConfig};
use connectors::testing::Scim2Server;
use futures::StreamExt as _;
use idflow_benches::connectors as bench;
use idflow_benches::sync;
use sync_engine::{RunOptions, SyncEngine};

type Res<T> = Result<T, Box<dyn Error>>;

fn env_usize(name: &str, default: usize) -> Res<usize> {
    match std::env::var(name) {
        Ok(v) => Ok(v.replace('_', "").parse()?),
        Err(_) => Ok(default),
    }
}

fn main() -> Res<()> {
    let users = env_usize("SCIM_USERS", 10_000)?;
    let concurrency = env_usize("SCIM_CONCURRENCY", 8)?;
    let rounds = env_usize("SCIM_ROUNDS", 3)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let bodies = create_bodies(users)?;
    println!(
        "{users} source users, {} in scope; concurrency {concurrency}; {rounds} rounds",
        bodies.len()
    );
    let mut engine_times = Vec::new();
    let mut plain_times = Vec::new();
    let only = std::env::var("SCIM_ONLY").unwrap_or_default();
    for round in 1..=rounds {
        if only != "plain" {
            let t = rt.block_on(engine_round(users, concurrency, bodies.len()))?;
            println!(
                "round {round}: engine        {:>7.2} s  {:>6.0} creates/s",
                t.as_secs_f64(),
                bodies.len() as f64 / t.as_secs_f64()
            );
            engine_times.push(t);
        }
        if only != "engine" {
            let t = rt.block_on(plain_round(&bodies, concurrency))?;
            println!(
                "round {round}: plain client  {:>7.2} s  {:>6.0} creates/s",
                t.as_secs_f64(),
                bodies.len() as f64 / t.as_secs_f64()
            );
            plain_times.push(t);
        }
    }
    let best = |v: &[Duration]| v.iter().copied().min().unwrap_or_default();
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        match v.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2,
        }
    };
    for (what, f) in [
        ("best", &best as &dyn Fn(&[Duration]) -> Duration),
        ("median", &median),
    ] {
        let (e, p) = (f(&engine_times), f(&plain_times));
        println!(
            "{what}: engine {:.2} s, plain client {:.2} s, ratio {:.2}x (goal: within 1.2x)",
            e.as_secs_f64(),
            p.as_secs_f64(),
            e.as_secs_f64() / p.as_secs_f64()
        );
    }
    Ok(())
}

fn server() -> Res<Scim2Server> {
    Scim2Server::start()?.ok_or_else(|| "scim2-server is not installed: run .ci/peers".into())
}

/// What the engine creates for each in-scope user: the job's mappings applied to it.
fn create_bodies(users: usize) -> Res<Vec<serde_json::Value>> {
    let job = sync::job(false)?;
    let mapping = &job.object_mappings[0];
    let scope = mapping.scope.compile()?;
    let ctx = scoping::EvalContext::new(chrono::Utc::now());
    let mut out = Vec::new();
    for user in bench::hr_users(0..users as u64) {
        if !scope.matches(&user) {
            continue;
        }
        let created = mapping.attribute_mappings.create_resource(&user, &ctx)?;
        out.push(created.to_value());
    }
    Ok(out)
}

async fn engine_round(users: usize, concurrency: usize, in_scope: usize) -> Res<Duration> {
    let server = server()?;
    let source = Arc::new(bench::directory(users as u64)?);
    let target = ScimTarget::connect(
        ScimTargetConfig::new(server.url()).with_max_in_flight(concurrency.max(1)),
    )
    .await?;
    let target = Arc::new(target);
    let store = sync::TempStore::new()?;
    let mut job = sync::job(false)?;
    job.export_concurrency = concurrency;
    if let Ok(page) = std::env::var("SCIM_PAGE") {
        job.page_size = page.parse()?;
    }
    let state: Arc<dyn connectors::StateStore> =
        if std::env::var("SCIM_STATE").as_deref() == Ok("memory") {
            Arc::new(connectors::MemoryStateStore::new())
        } else {
            store.store().clone()
        };
    let engine =
        SyncEngine::new(sync::job_id(), job, source, target.clone(), state)?.with_holder("bench");
    let start = Instant::now();
    let engine = if std::env::var("SCIM_TRACE").is_ok() {
        engine.with_progress(move |p| {
            eprintln!(
                "{:>8.3} s  processed {}",
                start.elapsed().as_secs_f64(),
                p.processed
            )
        })
    } else {
        engine
    };
    let report = engine.run_cycle(&RunOptions::new().omit_log()).await?;
    let elapsed = start.elapsed();
    if report.summary.created as usize != in_scope || report.summary.failed != 0 {
        return Err(format!(
            "the engine created {} and failed {} of {in_scope}",
            report.summary.created, report.summary.failed
        )
        .into());
    }
    check_count(&server, in_scope).await?;
    println!("         engine requests: {}", requests(&server));
    if std::env::var("SCIM_TRACE").is_ok() {
        let log = server.stderr();
        let lines: Vec<&str> = log.lines().collect();
        for l in &lines[lines.len().saturating_sub(30)..] {
            eprintln!("{l}");
        }
    }
    Ok(elapsed)
}

/// What the server was asked, by method (from its request log), e.g. `POST 1960, GET 6`.
fn requests(server: &Scim2Server) -> String {
    let log = server.stderr();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for line in log.lines() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if line.contains(&format!("\"{method} ")) {
                *counts.entry(method).or_default() += 1;
            }
        }
    }
    counts
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn plain_round(bodies: &[serde_json::Value], concurrency: usize) -> Res<Duration> {
    let server = server()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .build()?;
    let url = format!("{}/Users", server.url());
    let start = Instant::now();
    let results: Vec<Res<()>> = futures::stream::iter(bodies.iter())
        .map(|body| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let response = client
                    .post(&url)
                    .header("content-type", "application/scim+json")
                    .header("accept", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if status.as_u16() != 201 {
                    return Err(format!("POST /Users answered {status}").into());
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = start.elapsed();
    for r in results {
        r?;
    }
    check_count(&server, bodies.len()).await?;
    Ok(elapsed)
}

/// Checks that the server holds `expected` users.
async fn check_count(server: &Scim2Server, expected: usize) -> Res<()> {
    let url = format!("{}/Users?count=0", server.url());
    let body: serde_json::Value =
        serde_json::from_slice(&reqwest::get(&url).await?.bytes().await?)?;
    let total = body
        .get("totalResults")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the server's ListResponse has no totalResults")?;
    if total as usize != expected {
        return Err(format!("the server holds {total} users, expected {expected}").into());
    }
    Ok(())
}
