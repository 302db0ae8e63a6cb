//! Crash recovery: a run that dies at any step — a state commit that fails, before or after it
//! lands, ends the run exactly as a kill there would (the store holds only what was
//! committed), and a failed target call ends or disturbs it the same way — followed by a
//! later run of another runner (another process) ends with every due user processed exactly
//! once, no email sent twice and nothing lost. Also: one writer per job (the lease), and
//! users whose workflow changed before they were resumed are canceled.

use std::sync::Arc;
use std::time::Duration;

use connectors::state::{Key, KeyRange};
use connectors::testing::{FailurePlan, Flaky};
use connectors::{Clock, JobId, StateStore, Table, TargetConnector};
use lifecycle::tasks::definitions as d;
use lifecycle::{
    HistoryQuery, Limits, ProcessingStatus, Runner, RunnerOptions, UserProcessingResult,
    WorkflowSet,
};
use serde_json::{Value, json};

use crate::support::{Person, World, block, person, task, task_args, time_workflow};

const DUE: [&str; 4] = ["ada", "bob", "cy", "dee"];

fn onboarding(version_note: &str) -> Value {
    let mut email = task(d::WELCOME_EMAIL, "Welcome");
    email["continueOnError"] = json!(true);
    let mut wf = time_workflow(
        "onboard",
        "joiner",
        "employeeHireDate",
        0,
        "",
        json!([
            task(d::ENABLE_ACCOUNT, "Enable"),
            task_args(d::ADD_TO_GROUPS, "Staff", &[("groupID", "staff")]),
            email,
            task_args(d::ADD_TO_GROUPS, "Everyone", &[("groupID", "everyone")]),
        ]),
    );
    if !version_note.is_empty() {
        // A later version of the workflow, as a host that edited its tasks would load it.
        wf["description"] = json!(version_note);
        wf["version"] = json!(2);
    }
    wf
}

fn world() -> World {
    let w = World::new("2026-03-02T09:00:00Z");
    let hired: Vec<Person<'_>> = DUE
        .iter()
        .map(|id| Person {
            hire: Some("2026-03-02T08:00:00Z"),
            ..person(id)
        })
        .collect();
    w.add(&hired);
    w.add(&[Person {
        hire: Some("2026-04-01T08:00:00Z"),
        ..person("later")
    }]);
    for id in DUE {
        w.set(id, "active", json!(false));
    }
    w.add_group("staff", &[]);
    w.add_group("everyone", &[]);
    w
}

fn runner(
    w: &World,
    workflows: Value,
    holder: &str,
    target: Arc<dyn TargetConnector>,
    store: Arc<dyn StateStore>,
) -> Runner {
    let set = WorkflowSet::from_value(json!([workflows]), Limits::default()).unwrap();
    Runner::builder(JobId::new("lifecycle"), set, target, store)
        .clock(Arc::new(w.clock.clone()))
        .email_sender(Arc::new(w.mail.clone()))
        .holder(holder)
        .options(RunnerOptions::default().with_page_size(2))
        .build()
        .unwrap()
}

fn results(r: &Runner) -> Vec<UserProcessingResult> {
    block(r.history().user_results(&HistoryQuery::all())).unwrap()
}

/// After the crash and the recovery: each due user has exactly one result, ended; their
/// welcome email went out at most once, and when it did not, the result says why; the
/// idempotent tasks all took effect.
fn check(w: &World, r: &Runner, case: &str) {
    let all = results(r);
    let sent = w.mail.sent();
    for id in DUE {
        let mine: Vec<&UserProcessingResult> = all.iter().filter(|u| u.subject.id == id).collect();
        assert_eq!(mine.len(), 1, "{case}: {id} processed {} times", mine.len());
        let upr = mine[0];
        assert!(upr.is_done(), "{case}: {id} not done: {upr:#?}");
        let emails = sent.iter().filter(|e| e.user_id == id).count();
        assert!(emails <= 1, "{case}: {id} welcomed {emails} times");
        let welcome = &upr.task_processing_results[2];
        if emails == 0 {
            assert_eq!(
                welcome.processing_status,
                ProcessingStatus::Failed,
                "{case}: {id} got no email, yet {welcome:#?}"
            );
            let reason = welcome.failure_reason.as_deref().unwrap_or("");
            assert!(reason.contains("may have run"), "{case}: {reason}");
        }
        assert_eq!(
            w.user(id).get("active"),
            Some(&json!(true)),
            "{case}: {id} not enabled"
        );
        for g in ["staff", "everyone"] {
            assert!(
                w.members(g).iter().any(|m| m == id),
                "{case}: {id} not in {g}"
            );
        }
    }
    assert!(all.iter().all(|u| u.subject.id != "later"), "{case}");
    assert!(sent.iter().all(|e| e.user_id != "later"), "{case}");
    // Every user is done: no record of a started task is left behind.
    let left = block(w.store.scan(
        Table::TASK_STATES,
        &KeyRange::prefix(Key::new().str("lifecycle").str("task").into_bytes()),
        usize::MAX,
    ))
    .unwrap();
    assert!(left.is_empty(), "{case}: {} task records left", left.len());
}

/// Runs the crashing runner, then a second runner an hour later (past the lease and the
/// resume time), then once more, which must find nothing left to do.
fn crash_then_recover(
    w: &World,
    target: Arc<dyn TargetConnector>,
    store: Arc<dyn StateStore>,
    case: &str,
) -> Runner {
    let a = runner(w, onboarding(""), "a", target, store);
    let _ = block(a.run_due(w.clock.now()));
    w.clock.advance(Duration::from_secs(3601));
    let b = runner(
        w,
        onboarding(""),
        "b",
        w.dir.clone(),
        Arc::new(w.store.clone()),
    );
    let report = block(b.run_due(w.clock.now())).unwrap();
    assert!(report.errors.is_empty(), "{case}: {:?}", report.errors);
    w.clock.advance(Duration::from_secs(3601));
    let again = block(b.run_due(w.clock.now())).unwrap();
    assert!(again.runs.is_empty(), "{case}: {again:#?}");
    b
}

#[test]
fn a_crash_at_any_state_commit_loses_nothing_and_sends_nothing_twice() {
    // How many commits a clean run makes.
    let w = world();
    let counting = Arc::new(Flaky::new(
        w.store.clone(),
        FailurePlan::never().only(["commit"]),
    ));
    let r = runner(&w, onboarding(""), "a", w.dir.clone(), counting.clone());
    block(r.run_due(w.clock.now())).unwrap();
    let commits = counting.calls();
    assert!(commits >= 8, "{commits}");
    check(&w, &r, "clean");

    for n in 1..=commits {
        for after in [false, true] {
            let case = format!(
                "commit {n} fails {}",
                if after { "after" } else { "before" }
            );
            let w = world();
            let plan = FailurePlan::calls([n]).only(["commit"]).permanent();
            let plan = if after { plan.after() } else { plan.before() };
            let store = Arc::new(Flaky::new(w.store.clone(), plan));
            let b = crash_then_recover(&w, w.dir.clone(), store, &case);
            check(&w, &b, &case);
        }
    }
}

#[test]
fn a_failure_at_any_target_call_loses_nothing() {
    let w = world();
    let counting = Arc::new(Flaky::new((*w.dir).clone(), FailurePlan::never()));
    let r = runner(
        &w,
        onboarding(""),
        "a",
        counting.clone(),
        Arc::new(w.store.clone()),
    );
    block(r.run_due(w.clock.now())).unwrap();
    let calls = counting.calls();
    assert!(calls >= 8, "{calls}");

    for n in 1..=calls {
        for after in [false, true] {
            let case = format!(
                "target call {n} fails {}",
                if after { "after" } else { "before" }
            );
            let w = world();
            let plan = FailurePlan::calls([n]).temporary(None);
            let plan = if after { plan.after() } else { plan.before() };
            let target = Arc::new(Flaky::new((*w.dir).clone(), plan));
            let b = crash_then_recover(&w, target, Arc::new(w.store.clone()), &case);
            check(&w, &b, &case);
        }
    }
}

#[test]
fn one_runner_at_a_time_holds_the_job() {
    let w = world();
    let now = w.clock.now();
    block(w.store.acquire_lease(
        &JobId::new("lifecycle"),
        "other",
        now,
        Duration::from_secs(600),
    ))
    .unwrap();
    let r = runner(
        &w,
        onboarding(""),
        "a",
        w.dir.clone(),
        Arc::new(w.store.clone()),
    );
    let err = block(r.run_due(now)).unwrap_err();
    assert!(err.to_string().contains("lease"), "{err}");
    assert!(w.mail.sent().is_empty());
    assert!(results(&r).is_empty());
    // Once the other holder's lease expires, this runner takes the job over.
    w.clock.advance(Duration::from_secs(601));
    let report = block(r.run_due(w.clock.now())).unwrap();
    assert_eq!(report.runs[0].user_processing_results.len(), DUE.len());
}

#[test]
fn a_user_is_resumed_only_after_the_resume_time_and_canceled_when_the_workflow_changed() {
    // The first run dies right after claiming the first user (its second commit fails).
    let w = world();
    let plan = FailurePlan::calls([2]).only(["commit"]).permanent();
    let store = Arc::new(Flaky::new(w.store.clone(), plan));
    let a = runner(&w, onboarding(""), "a", w.dir.clone(), store);
    assert!(block(a.run_due(w.clock.now())).is_err());
    assert!(results(&a).is_empty());

    // Ten minutes later the lease is free but the user is not stale yet: left alone.
    w.clock.advance(Duration::from_secs(601));
    let b = runner(
        &w,
        onboarding("v2"),
        "b",
        w.dir.clone(),
        Arc::new(w.store.clone()),
    );
    let report = block(b.run_due(w.clock.now())).unwrap();
    let first: Vec<String> = report
        .runs
        .iter()
        .flat_map(|r| {
            r.user_processing_results
                .iter()
                .map(|u| u.subject.id.clone())
        })
        .collect();
    assert_eq!(first.len(), DUE.len() - 1, "{first:?}");

    // An hour on, the workflow has a new version: the interrupted user is canceled, not
    // processed with tasks the workflow no longer has.
    w.clock.advance(Duration::from_secs(3600));
    let report = block(b.run_due(w.clock.now())).unwrap();
    let resumed: Vec<&UserProcessingResult> = report
        .runs
        .iter()
        .flat_map(|r| r.user_processing_results.iter())
        .collect();
    assert_eq!(resumed.len(), 1, "{report:#?}");
    assert_eq!(resumed[0].processing_status, ProcessingStatus::Canceled);
    assert!(
        resumed[0].task_processing_results[0]
            .failure_reason
            .as_deref()
            .unwrap_or("")
            .contains("changed"),
        "{resumed:#?}"
    );
    assert!(!first.contains(&resumed[0].subject.id));
    // The history holds one result per due user, and nothing is pending any more.
    assert_eq!(results(&b).len(), DUE.len());
    w.clock.advance(Duration::from_secs(3600));
    assert!(block(b.run_due(w.clock.now())).unwrap().runs.is_empty());
}

/// A host task that stalls its runner past the lease: the clock jumps and another runner
/// takes the job over, as when a process hangs longer than its lease.
#[derive(Debug)]
struct Stall {
    world: World,
}

#[async_trait::async_trait]
impl lifecycle::tasks::TaskHandler for Stall {
    fn definition(&self) -> lifecycle::tasks::TaskDefinition {
        lifecycle::tasks::TaskDefinition::new(
            d::ASSIGN_LICENSES,
            "Assign licenses to user",
            [lifecycle::Category::Joiner],
        )
    }
    fn check(
        &self,
        _: &lifecycle::Task,
        _: &lifecycle::tasks::CheckContext<'_>,
    ) -> Result<(), (String, String)> {
        Ok(())
    }
    async fn run(&self, _: &lifecycle::tasks::TaskContext<'_>) -> lifecycle::tasks::TaskOutcome {
        self.world.clock.advance(Duration::from_secs(601));
        let now = self.world.clock.now();
        // Another runner takes the expired lease (and would resume this user later).
        self.world
            .store
            .acquire_lease(
                &JobId::new("lifecycle"),
                "other",
                now,
                Duration::from_secs(600),
            )
            .await
            .unwrap();
        lifecycle::tasks::TaskOutcome::Completed
    }
}

#[test]
fn a_runner_that_lost_its_lease_writes_nothing_more() {
    let w = world();
    let mut wf = onboarding("");
    wf["tasks"] = json!([task(d::ASSIGN_LICENSES, "Licences")]);
    let set = WorkflowSet::from_value(json!([wf]), Limits::default()).unwrap();
    let r = Runner::builder(
        JobId::new("lifecycle"),
        set,
        w.dir.clone(),
        Arc::new(w.store.clone()),
    )
    .clock(Arc::new(w.clock.clone()))
    .holder("a")
    .task(Arc::new(Stall { world: w.clone() }))
    .build()
    .unwrap();
    let err = block(r.run_due(w.clock.now())).unwrap_err();
    assert!(err.to_string().contains("lease"), "{err}");
    // The first user's result was refused: the store holds no result, only the claim and
    // pending mark committed while the lease was current.
    assert!(results(&r).is_empty());
}

/// A host task that takes 4 minutes (of a 10-minute lease), while another runner tries to
/// take the job.
#[derive(Debug)]
struct Slow {
    world: World,
}

#[async_trait::async_trait]
impl lifecycle::tasks::TaskHandler for Slow {
    fn definition(&self) -> lifecycle::tasks::TaskDefinition {
        lifecycle::tasks::TaskDefinition::new(
            d::ASSIGN_LICENSES,
            "Assign licenses to user",
            [lifecycle::Category::Joiner],
        )
    }
    fn check(
        &self,
        _: &lifecycle::Task,
        _: &lifecycle::tasks::CheckContext<'_>,
    ) -> Result<(), (String, String)> {
        Ok(())
    }
    async fn run(&self, _: &lifecycle::tasks::TaskContext<'_>) -> lifecycle::tasks::TaskOutcome {
        self.world.clock.advance(Duration::from_secs(240));
        // Another runner tries to take the job: it may only once the lease has run out.
        let now = self.world.clock.now();
        let _ = self
            .world
            .store
            .acquire_lease(
                &JobId::new("lifecycle"),
                "other",
                now,
                Duration::from_secs(600),
            )
            .await;
        lifecycle::tasks::TaskOutcome::Completed
    }
}

#[test]
fn a_long_run_renews_its_lease() {
    let w = world();
    let mut wf = onboarding("");
    wf["tasks"] = json!([task(d::ASSIGN_LICENSES, "Licences")]);
    let set = WorkflowSet::from_value(json!([wf]), Limits::default()).unwrap();
    let r = Runner::builder(
        JobId::new("lifecycle"),
        set,
        w.dir.clone(),
        Arc::new(w.store.clone()),
    )
    .clock(Arc::new(w.clock.clone()))
    .holder("a")
    .task(Arc::new(Slow { world: w.clone() }))
    .build()
    .unwrap();
    // Four users of 4 minutes each: 16 minutes, past the 10-minute lease.
    let report = block(r.run_due(w.clock.now())).unwrap();
    assert_eq!(report.runs[0].user_processing_results.len(), DUE.len());
    assert_eq!(results(&r).len(), DUE.len());
}
