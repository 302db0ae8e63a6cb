//! Benchmark of the lifecycle crate (issue 6): evaluating the triggers of 10 scheduled
//! workflows — Entra's joiner and leaver templates plus a creation, an inactivity and two
//! scoped ones — over 1,000,000 users at one instant. Goal: under one second on one core.
//!
//! What is timed is [`TriggerEvaluator::evaluate`], the runner's first step: for each user,
//! read and strictly parse each dateTime attribute the workflows use (once per attribute, not
//! per workflow), decide each workflow's trigger with its offset and the 3-day catch-up
//! window, and evaluate the compiled scope of the workflows that are due. Reading the users
//! from a directory and processing the due ones are not part of it.
//!
//! Run: `cargo bench -p idflow-benches --bench lifecycle`. For an instruction profile under
//! callgrind, `LIFECYCLE_BENCH_USERS=20000` takes fewer users (the figures in BENCHMARKS.md are
//! of the default 1,000,000).

// Bench inputs are fixed and checked before timing: a failure to build them should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idflow_benches::connectors::hr_user;
use lifecycle::{AliasTable, EvalOptions, Limits, TriggerEvaluator, WorkflowSet};
use scim_model::Resource;
use serde_json::{Value, json};

const USERS: u64 = 1_000_000;

/// The evaluation instant.
const NOW: &str = "2026-03-02T09:00:00Z";

/// A day in seconds.
const DAY: i64 = 86_400;

/// User `i` of the HR population with lifecycle dates: hired on one of the 3,650 days before
/// `NOW` (plus 60 days ahead), created the day before hiring, last signed in within 95 days (5 % inactive for 90 days),
/// and for one user in ten a leave date within ±60 days. About 0.1 % of the users are due for
/// each hire-date workflow at any instant.
fn lifecycle_user(i: u64) -> Resource {
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let at = |days: i64, secs: i64| {
        (now + chrono::Duration::seconds(days * DAY + secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut r = hr_user(i);
    let spread = i64::try_from(i % 3710).unwrap();
    let hire = 60 - spread;
    r.set("employeeHireDate", Value::String(at(hire, -3600)));
    r.set(
        "meta",
        json!({"resourceType": "User", "created": at(hire - 1, 0)}),
    );
    r.set(
        "lastSignInDateTime",
        Value::String(at(-i64::try_from(i % 95).unwrap(), -7200)),
    );
    if i % 10 == 3 {
        let leave = i64::try_from((i / 10) % 121).unwrap() - 60;
        r.set("employeeLeaveDateTime", Value::String(at(leave, 8 * 3600)));
    }
    r
}

/// How many users: [`USERS`] unless `LIFECYCLE_BENCH_USERS` says otherwise (for profiling).
fn user_count() -> u64 {
    std::env::var("LIFECYCLE_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(USERS)
}

static POPULATION: LazyLock<Vec<Resource>> =
    LazyLock::new(|| (0..user_count()).map(lifecycle_user).collect());

fn timed(id: &str, category: &str, attr: &str, offset: i32, rule: &str) -> Value {
    json!({
        "id": id, "displayName": id, "category": category,
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {
            "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
            "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": rule},
            "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
                        "timeBasedAttribute": attr, "offsetInDays": offset}},
        "tasks": [{"taskDefinitionId": "enableUserAccount", "displayName": "Enable"}]
    })
}

/// The 10 workflows.
fn workflows() -> WorkflowSet {
    let inactivity = json!({
        "id": "inactive", "displayName": "inactive", "category": "leaver",
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {"scope": {"rule": "(accountEnabled eq true)"},
            "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.userInactivityTrigger", "inactivityPeriodInDays": 90}},
        "tasks": [{"taskDefinitionId": "disableUserAccount", "displayName": "Disable"}]
    });
    let all = json!([
        timed(
            "pre-hire",
            "joiner",
            "employeeHireDate",
            -7,
            "(department eq 'Sales')"
        ),
        timed(
            "new-hire",
            "joiner",
            "employeeHireDate",
            0,
            "(department in ('Sales', 'Engineering', 'Marketing'))"
        ),
        timed("post-onboarding", "joiner", "employeeHireDate", 7, ""),
        timed(
            "first-month",
            "joiner",
            "employeeHireDate",
            30,
            "startsWith(jobTitle, 'Senior')"
        ),
        timed(
            "created",
            "joiner",
            "createdDateTime",
            0,
            "(accountEnabled eq true)"
        ),
        timed(
            "pre-offboarding",
            "leaver",
            "employeeLeaveDateTime",
            -7,
            "(accountEnabled eq true)"
        ),
        timed(
            "pre-offboarding-2w",
            "leaver",
            "employeeLeaveDateTime",
            -14,
            "not (department eq 'Legal')"
        ),
        timed("offboarding", "leaver", "employeeLeaveDateTime", 0, ""),
        timed("post-offboarding", "leaver", "employeeLeaveDateTime", 7, ""),
        inactivity,
    ]);
    WorkflowSet::from_value(all, Limits::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let users = &*POPULATION;
    let eval = TriggerEvaluator::new(&workflows(), &AliasTable::default(), EvalOptions::default())
        .unwrap();
    assert_eq!(eval.len(), 10);
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let check = eval.evaluate(users.iter(), now);
    assert!(check.errors.is_empty(), "{:?}", check.errors.first());
    assert!(!check.due.is_empty());
    let n = user_count();
    if n == USERS {
        // The answer every version of the evaluator must give for this population.
        assert_eq!(check.due.len(), 63_532);
    }
    eprintln!(
        "lifecycle: {} occurrences due among {n} users x 10 workflows",
        check.due.len()
    );

    let mut g = c.benchmark_group("lifecycle");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(n));
    // The floor of any evaluation that reads users as SCIM resources: visit every top-level
    // attribute of every user once (the length of each key).
    g.bench_function("baseline_visit_every_attribute_1m_users", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for u in black_box(users) {
                for (k, _) in u.as_object() {
                    n += k.len();
                }
            }
            black_box(n)
        });
    });
    g.bench_function("triggers_10_workflows_1m_users", |b| {
        b.iter(|| black_box(eval.evaluate(black_box(users).iter(), now)));
    });
    // The same work, timed by the thread's time on a CPU (the kernel's per-thread
    // `schedstat`) instead of the wall clock: "on one core" on a machine shared with other
    // work, where the wall clock also counts the time the thread waits for a core. On a
    // quiet machine the two agree. Linux only; elsewhere this row is skipped.
    if thread_cpu_time().is_some() {
        g.bench_function("triggers_10_workflows_1m_users_cpu_time", |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu_time().unwrap_or_default();
                for _ in 0..iters {
                    black_box(eval.evaluate(black_box(users).iter(), now));
                }
                thread_cpu_time().unwrap_or_default().saturating_sub(start)
            });
        });
    }
    g.finish();
}

/// The calling thread's time on a CPU so far: the first field of
/// `/proc/thread-self/schedstat`, in nanoseconds. `None` where there is no such file.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

criterion_group!(benches, bench);
criterion_main!(benches);
