//! The runner: evaluates scheduled workflows, claims each trigger occurrence once, re-checks
//! the user, runs the tasks with retries, and records the history.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use connectors::state::{Key, KeyRange, Lease, StateStore, StateStoreExt, Table, Txn};
use connectors::{Clock, JobId, ObjectType, Query, SystemClock, TargetConnector, TargetId};
use scim_model::Resource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attributes::{self, AliasTable};
use crate::error::{Error, Result};
use crate::history::{
    Done, ExecutionType, History, ProcessingStatus, Run, TaskProcessingResult, TaskRef,
    UserProcessingResult, WorkflowRef, done_key, run_key, subject_key, user_key,
};
use crate::tasks::{
    AccessPassIssuer, CheckContext, CustomExtension, EmailSender, OperationStatus, Services,
    TaskContext, TaskFailure, TaskOutcome, TaskRegistry, Templates,
};
use crate::trigger::{
    Attrs, Compiled, EvalOptions, Kind, Occurrence, Subject, SubjectError, TriggerEvaluator,
    compile,
};
use crate::workflow::{MembershipChange, Workflow, WorkflowSet};

/// The table of change-trigger snapshots (the previous values of watched attributes, the
/// previous members of watched groups).
pub const SNAPSHOTS: Table = Table::new("lifecycle_snapshots");

/// How failed tasks are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry). Only failures marked retryable are retried.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each attempt after.
    pub initial_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryPolicy {
    /// A policy of `max_attempts` attempts, waiting `initial_backoff` doubled each time, at
    /// most `max_backoff`.
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            initial_backoff,
            max_backoff,
        }
    }

    /// The wait after attempt `n` (1-based) failed.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The runner's settings; Entra's by default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerOptions {
    /// Trigger evaluation (the catch-up window, 3 days).
    pub eval: EvalOptions,
    /// How often the host calls [`Runner::run_due`] (Entra's default: every 3 hours; 1 to 24).
    pub schedule_interval: Duration,
    /// Retries of failed tasks.
    pub retry: RetryPolicy,
    /// Users read from the target per page.
    pub page_size: usize,
    /// Users per on-demand run (Entra: 10).
    pub max_on_demand_users: usize,
    /// How long the job's lease lasts; a runner that died holding it keeps other runners
    /// out this long (default 10 minutes).
    pub lease_ttl: Duration,
    /// How old an unfinished user's processing must be before a later run resumes it: a
    /// process that died mid-user left it (default 1 hour; at least the lease, so a live
    /// runner's users are never taken over).
    pub resume_after: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            eval: EvalOptions::default(),
            schedule_interval: Duration::from_secs(3 * 3600),
            retry: RetryPolicy::default(),
            page_size: 500,
            max_on_demand_users: 10,
            lease_ttl: Duration::from_secs(600),
            resume_after: Duration::from_secs(3600),
        }
    }
}

impl RunnerOptions {
    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the catch-up window.
    #[must_use]
    pub fn with_catch_up(mut self, window: chrono::Duration) -> Self {
        self.eval.catch_up = window;
        self
    }

    /// Sets the schedule interval.
    #[must_use]
    pub fn with_schedule_interval(mut self, interval: Duration) -> Self {
        self.schedule_interval = interval;
        self
    }

    /// Sets how many users are read per page.
    #[must_use]
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Sets how long the job's lease lasts.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets how old an unfinished user's processing must be before it is resumed.
    #[must_use]
    pub fn with_resume_after(mut self, after: Duration) -> Self {
        self.resume_after = after;
        self
    }

    /// Sets how many users an on-demand run may name.
    #[must_use]
    pub fn with_max_on_demand_users(mut self, n: usize) -> Self {
        self.max_on_demand_users = n;
        self
    }
}

/// What a call to the runner did: one entry per workflow run that processed users, and the
/// users that could not be evaluated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunReport {
    /// The runs, each with its users' results.
    pub runs: Vec<RunResult>,
    /// Users whose data could not be evaluated (a malformed date, say).
    pub errors: Vec<SubjectError>,
}

/// A run with its users' results (Graph's `run` with `userProcessingResults` expanded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunResult {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its users' results.
    pub user_processing_results: Vec<UserProcessingResult>,
}

/// A claim of a trigger occurrence.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claim {
    run_id: String,
    claimed: DateTime<Utc>,
    #[serde(default)]
    result_id: String,
}

/// A user whose processing began and has not ended: written with the claim, removed with
/// the user's result, so a run that dies mid-user leaves it for a later run to resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    run_id: String,
    run_started: DateTime<Utc>,
    scheduled: DateTime<Utc>,
    execution: ExecutionType,
    workflow_id: String,
    version: u32,
    user_id: String,
    occurrence: String,
    result_id: String,
    claimed: DateTime<Utc>,
}

/// A task waiting for a custom extension's callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wait {
    run_id: String,
    run_started: DateTime<Utc>,
    user_id: String,
    workflow_id: String,
    version: u32,
    task_index: usize,
    deadline: DateTime<Utc>,
}

/// A change trigger's memory of what it last saw.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Snapshot {
    seq: u64,
    values: Value,
}

/// Builds a [`Runner`]: the workflows, the target, the state store, and the host's clock,
/// email sender, tasks and extensions.
#[derive(Debug)]
pub struct RunnerBuilder {
    job: JobId,
    workflows: WorkflowSet,
    target: Arc<dyn TargetConnector>,
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    tasks: TaskRegistry,
    services: Services,
    options: RunnerOptions,
    holder: Option<String>,
}

impl RunnerBuilder {
    /// Names this runner as the holder of the job's lease (default: `idflow-lifecycle-`, the
    /// process id and a random suffix, so two runners are two holders).
    #[must_use]
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = Some(holder.into());
        self
    }

    /// The clock (default: the system's).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where emails go (without one, email tasks fail saying so).
    #[must_use]
    pub fn email_sender(mut self, sender: Arc<dyn EmailSender>) -> Self {
        self.services.sender = Some(sender);
        self
    }

    /// The email templates (default: English, German, Italian; fallback English).
    #[must_use]
    pub fn templates(mut self, templates: Templates) -> Self {
        self.services.templates = templates;
        self
    }

    /// The alias table (Graph names → SCIM paths).
    #[must_use]
    pub fn aliases(mut self, aliases: AliasTable) -> Self {
        self.services.aliases = aliases;
        self
    }

    /// The task registry (default: [`TaskRegistry::builtin`]).
    #[must_use]
    pub fn tasks(mut self, tasks: TaskRegistry) -> Self {
        self.tasks = tasks;
        self
    }

    /// Adds or replaces one task handler.
    #[must_use]
    pub fn task(mut self, handler: Arc<dyn crate::tasks::TaskHandler>) -> Self {
        self.tasks.register(handler);
        self
    }

    /// Registers a custom task extension.
    #[must_use]
    pub fn custom_extension(mut self, extension: CustomExtension) -> Self {
        self.services
            .extensions
            .insert(extension.id.to_ascii_lowercase(), extension);
        self
    }

    /// Registers Temporary Access Passes with the host's directory.
    #[must_use]
    pub fn access_pass_issuer(mut self, issuer: Arc<dyn AccessPassIssuer>) -> Self {
        self.services.access_pass_issuer = Some(issuer);
        self
    }

    /// The settings.
    #[must_use]
    pub fn options(mut self, options: RunnerOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks everything and builds the runner.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] for a task no handler provides, [`Error::InvalidTaskArgument`]
    /// for bad arguments, [`Error::InvalidRule`] / [`Error::InvalidWorkflow`] for a scope or
    /// dependency that does not hold (an unknown workflow, a cycle).
    pub fn build(self) -> Result<Runner> {
        let mut attrs = Attrs::default();
        let mut compiled = Vec::new();
        let check = CheckContext {
            services: &self.services,
        };
        for wf in self.workflows.iter() {
            for task in &wf.tasks {
                let Some(handler) = self.tasks.get(&task.task_definition_id) else {
                    return Err(Error::UnknownTask {
                        workflow: wf.id().to_owned(),
                        task: task.display_name.clone(),
                        definition: task.task_definition_id.clone(),
                    });
                };
                if task.is_enabled
                    && let Err((argument, message)) = handler.check(task, &check)
                {
                    return Err(Error::InvalidTaskArgument {
                        workflow: wf.id().to_owned(),
                        task: task.display_name.clone(),
                        argument,
                        message,
                    });
                }
            }
            compiled.push(compile(wf, &self.services.aliases, &mut attrs)?);
        }
        // Dependencies: resolved to ids, acyclic, and the workflows in dependency order.
        let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for wf in self.workflows.iter() {
            let mut ids = Vec::new();
            for d in &wf.depends_on {
                let Some(dep) = self.workflows.find(d) else {
                    return Err(Error::invalid(
                        wf.id(),
                        format!("dependsOn names {d:?}, which is no workflow"),
                    ));
                };
                ids.push(dep.id().to_owned());
            }
            deps.insert(wf.id().to_owned(), ids);
        }
        let ids: Vec<String> = self.workflows.iter().map(|w| w.id().to_owned()).collect();
        let order = topological(&ids, &deps)?;
        compiled.sort_by_key(|c| {
            order
                .iter()
                .position(|id| id == c.workflow.id())
                .unwrap_or(usize::MAX)
        });
        let evaluator =
            TriggerEvaluator::from_compiled(&compiled, attrs.clone(), self.options.eval.clone());
        let holder = self.holder.unwrap_or_else(|| {
            let mut b = [0u8; 4];
            let _ = getrandom::fill(&mut b);
            format!(
                "idflow-lifecycle-{}-{:08x}",
                std::process::id(),
                u32::from_be_bytes(b)
            )
        });
        Ok(Runner {
            holder,
            lease: Mutex::new(None),
            job: self.job,
            workflows: self.workflows,
            compiled,
            deps,
            attrs,
            evaluator,
            target: self.target,
            store: self.store,
            clock: self.clock,
            tasks: self.tasks,
            services: self.services,
            options: self.options,
            ids: AtomicU64::new(0),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The workflows in the order given, each after the ones it depends on.
fn topological(ids: &[String], deps: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>> {
    fn visit(
        id: &str,
        deps: &BTreeMap<String, Vec<String>>,
        state: &mut BTreeMap<String, u8>,
        out: &mut Vec<String>,
        path: &mut Vec<String>,
    ) -> Result<()> {
        match state.get(id) {
            Some(2) => return Ok(()),
            Some(1) => {
                path.push(id.to_owned());
                return Err(Error::invalid(
                    id,
                    format!("dependsOn makes a cycle: {}", path.join(" -> ")),
                ));
            }
            _ => {}
        }
        state.insert(id.to_owned(), 1);
        path.push(id.to_owned());
        for d in deps.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            visit(d, deps, state, out, path)?;
        }
        path.pop();
        state.insert(id.to_owned(), 2);
        out.push(id.to_owned());
        Ok(())
    }
    let mut state = BTreeMap::new();
    let mut out = Vec::new();
    for id in ids {
        visit(id, deps, &mut state, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

/// Runs lifecycle workflows against a target directory, keeping claims and history in a
/// state store.
///
/// - [`Runner::run_due`] evaluates every enabled, scheduled workflow at an instant: the
///   time-based triggers (with the catch-up window), inactivity, attribute changes (against
///   the values seen by the previous run) and group membership changes. Each due user is
///   read again and re-checked right before processing; a user who no longer matches is not
///   processed. Each trigger occurrence is claimed with an insert-if-absent in the state
///   store before any task runs, so overlapping or repeated runs process it once.
/// - [`Runner::run_on_demand`] runs a workflow for up to 10 users, ignoring its conditions.
/// - [`Runner::resume`] answers a launch-and-wait custom extension.
/// - [`Runner::history`] reads runs, user and task results back, and exports them to CSV.
///
/// Tasks that fail with a retryable failure are retried with backoff ([`RetryPolicy`]); a
/// workflow's `dependsOn` holds a user back until the named workflows completed for them.
///
/// Each call takes the job's lease from the state store and fences every commit with it, so
/// two runners on one store are one writer (the other gets an error naming the lease). A user
/// whose processing a dead process left unfinished is resumed by a later [`Runner::run_due`]
/// once [`RunnerOptions::resume_after`] has passed: tasks recorded as completed are not
/// repeated, idempotent ones run again, and an at-most-once task (an email, a Temporary
/// Access Pass) recorded as started but not ended fails as "may have run; not repeated". A
/// user whose workflow was removed, disabled or changed meanwhile is `canceled`.
#[derive(Debug)]
pub struct Runner {
    job: JobId,
    workflows: WorkflowSet,
    compiled: Vec<Compiled>,
    deps: BTreeMap<String, Vec<String>>,
    attrs: Attrs,
    evaluator: TriggerEvaluator,
    target: Arc<dyn TargetConnector>,
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    tasks: TaskRegistry,
    services: Services,
    options: RunnerOptions,
    ids: AtomicU64,
    holder: String,
    lease: Mutex<Option<Lease>>,
}

impl Runner {
    /// A builder for a runner of `workflows` as job `job`, acting on `target`, keeping its
    /// records in `store`.
    pub fn builder(
        job: JobId,
        workflows: WorkflowSet,
        target: Arc<dyn TargetConnector>,
        store: Arc<dyn StateStore>,
    ) -> RunnerBuilder {
        RunnerBuilder {
            job,
            workflows,
            target,
            store,
            clock: Arc::new(SystemClock),
            tasks: TaskRegistry::builtin(),
            services: Services::default(),
            options: RunnerOptions::default(),
            holder: None,
        }
    }

    /// The workflows.
    pub fn workflows(&self) -> &WorkflowSet {
        &self.workflows
    }

    /// The settings.
    pub fn options(&self) -> &RunnerOptions {
        &self.options
    }

    /// When the next scheduled evaluation is due after one at `last`.
    pub fn next_run_after(&self, last: DateTime<Utc>) -> DateTime<Utc> {
        last + chrono::Duration::from_std(self.options.schedule_interval)
            .unwrap_or(chrono::Duration::hours(3))
    }

    /// The history.
    pub fn history(&self) -> History<'_> {
        History {
            job: &self.job,
            store: &*self.store,
        }
    }

    fn new_id(&self) -> String {
        let mut b = [0u8; 16];
        if getrandom::fill(&mut b).is_err() {
            let n = self.ids.fetch_add(1, Ordering::Relaxed);
            b[..8].copy_from_slice(&crate::history::millis(self.clock.now()).to_be_bytes());
            b[8..].copy_from_slice(&n.to_be_bytes());
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn key(&self) -> Key {
        Key::new().str(self.job.as_str())
    }

    fn pending_key(&self, result_id: &str) -> Key {
        self.key().str("pending").str(result_id)
    }

    fn task_state_key(&self, result_id: &str, index: usize) -> Key {
        self.key().str("task").str(result_id).u64(index as u64)
    }

    /// A transaction fenced by the lease this runner holds.
    fn txn(&self) -> Txn {
        Txn::new(lock(&self.lease).clone())
    }

    /// Takes (or renews) the job's lease: one writer per job. Every commit after carries it,
    /// so a runner that lost it to another cannot overwrite the other's work.
    async fn acquire(&self) -> Result<()> {
        let ttl = self.options.lease_ttl;
        let lease = self
            .store
            .acquire_lease(&self.job, &self.holder, self.clock.now(), ttl)
            .await
            .map_err(|e| Error::connector("acquiring the job's lease", e))?;
        *lock(&self.lease) = Some(lease);
        Ok(())
    }

    /// Renews the lease when half of it has run out, so a long run keeps the job.
    async fn renew(&self) -> Result<()> {
        let expires = lock(&self.lease).as_ref().map(|l| l.expires);
        let half = chrono::Duration::from_std(self.options.lease_ttl / 2)
            .unwrap_or(chrono::Duration::minutes(5));
        match expires {
            Some(e) if e - self.clock.now() > half => Ok(()),
            _ => self.acquire().await,
        }
    }

    /// Gives the lease up so another runner need not wait for it to expire.
    async fn release(&self) {
        let lease = lock(&self.lease).take();
        if let Some(lease) = lease {
            // A failure here only means another runner waits for the lease to expire.
            let _ = self.store.release_lease(&lease).await;
        }
    }

    /// Evaluates every enabled, scheduled workflow at `now` and processes the users due.
    ///
    /// Tasks waiting for a custom extension past their deadline fail first. Then the target's
    /// users are read page by page and the triggers evaluated; then, workflow by workflow
    /// (dependencies first), each due user is read again, re-checked, claimed and processed.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the target cannot be listed or the state store fails; what
    /// fails for one user is in the report.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<RunReport> {
        self.acquire().await?;
        let out = self.run_due_leased(now).await;
        self.release().await;
        out
    }

    async fn run_due_leased(&self, now: DateTime<Utc>) -> Result<RunReport> {
        let mut report = RunReport::default();
        self.expire_waits(now).await?;
        self.resume_stale(now, &mut report).await?;
        let mut due: Vec<Occurrence> = Vec::new();
        let scheduled: Vec<&Compiled> = self.compiled.iter().filter(|c| c.scheduled()).collect();
        if scheduled.is_empty() {
            return Ok(report);
        }
        let changes: Vec<&Compiled> = scheduled
            .iter()
            .copied()
            .filter(|c| matches!(c.kind, Kind::Change { .. }))
            .collect();
        let caps = self.target.capabilities();
        let mut query = Query::all().with_count(self.options.page_size.max(1));
        loop {
            let page = self
                .target
                .query(&ObjectType::USER, &query)
                .await
                .map_err(|e| Error::connector("listing users", e))?;
            let users: Vec<&Resource> = page.objects.iter().map(|o| &o.resource).collect();
            let eval = self.evaluator.evaluate(users.iter().copied(), now);
            due.extend(eval.due);
            report.errors.extend(eval.errors);
            if !changes.is_empty() {
                self.attribute_changes(&changes, &users, &mut due).await?;
            }
            let n = page.objects.len();
            if caps.cursor {
                match page.next {
                    Some(next) => query = query.with_cursor(next),
                    None => break,
                }
            } else {
                if n == 0 || query.start_index + n > page.total_results {
                    break;
                }
                query.start_index += n;
            }
        }
        for c in &scheduled {
            if let Kind::Membership { group, change } = &c.kind {
                self.membership_changes(c, group, *change, &mut due).await?;
            }
        }
        for c in scheduled {
            let id = c.workflow.id();
            let mine: Vec<Occurrence> = due
                .iter()
                .filter(|o| o.workflow_id == id)
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            if let Some(run) = self
                .process(c, mine, ExecutionType::Scheduled, now, &mut report.errors)
                .await?
            {
                report.runs.push(run);
            }
        }
        Ok(report)
    }

    /// Runs a workflow (by id or display name) for up to [`RunnerOptions::max_on_demand_users`]
    /// users now, ignoring its execution conditions (as Entra's `activate`). Users that do not
    /// exist are reported in the errors.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWorkflow`]; [`Error::OnDemand`] for a disabled workflow or too many
    /// users; [`Error::Connector`] when the state store fails.
    pub async fn run_on_demand(&self, workflow: &str, user_ids: &[&str]) -> Result<RunReport> {
        let Some(wf) = self.workflows.find(workflow) else {
            return Err(Error::UnknownWorkflow {
                id: workflow.to_owned(),
            });
        };
        if !wf.is_enabled {
            return Err(Error::OnDemand {
                workflow: wf.id().to_owned(),
                message: "the workflow is disabled".to_owned(),
            });
        }
        if user_ids.len() > self.options.max_on_demand_users {
            return Err(Error::OnDemand {
                workflow: wf.id().to_owned(),
                message: format!(
                    "{} users asked for; at most {} per on-demand run",
                    user_ids.len(),
                    self.options.max_on_demand_users
                ),
            });
        }
        let Some(c) = self.compiled.iter().find(|c| c.workflow.id() == wf.id()) else {
            return Err(Error::UnknownWorkflow {
                id: workflow.to_owned(),
            });
        };
        let now = self.clock.now();
        let run_tag = self.new_id();
        let occurrences = user_ids
            .iter()
            .map(|u| Occurrence {
                workflow_id: wf.id().to_owned(),
                trigger: "onDemand".to_owned(),
                user_id: (*u).to_owned(),
                date: run_tag.clone(),
            })
            .collect();
        let mut report = RunReport::default();
        self.acquire().await?;
        let out = self
            .process(
                c,
                occurrences,
                ExecutionType::OnDemand,
                now,
                &mut report.errors,
            )
            .await;
        self.release().await;
        if let Some(run) = out? {
            report.runs.push(run);
        }
        Ok(report)
    }

    /// Answers a launch-and-wait custom extension: the task processing result `id` completed
    /// or failed. The user's later tasks then run, and the run's status is brought up to date;
    /// when the workflow was removed, disabled or changed (a new version) while the task
    /// waited, the later tasks and the user are `canceled` instead.
    ///
    /// # Errors
    ///
    /// [`Error::Callback`] when no task waits under this id (unknown, already answered, timed
    /// out); [`Error::Connector`] when the store fails.
    pub async fn resume(&self, id: &str, status: OperationStatus) -> Result<UserProcessingResult> {
        let key = self.key().str("wait").str(id);
        let wait: Option<Wait> = self
            .store
            .get_json(Table::TASK_STATES, &key)
            .await
            .map_err(|e| Error::connector("reading a waiting task", e))?;
        let Some(wait) = wait else {
            return Err(Error::Callback {
                id: id.to_owned(),
                message:
                    "no task waits for a callback under this id (unknown, answered, or timed out)"
                        .to_owned(),
            });
        };
        let outcome = match status {
            OperationStatus::Completed => None,
            OperationStatus::Failed => Some("the custom extension reported failure".to_owned()),
        };
        self.acquire().await?;
        let out = self.finish_wait(id, &wait, outcome).await;
        self.release().await;
        out
    }

    async fn expire_waits(&self, now: DateTime<Utc>) -> Result<()> {
        let prefix = self.key().str("wait");
        let rows: Vec<(Vec<u8>, Wait)> = self
            .store
            .scan_json(
                Table::TASK_STATES,
                &KeyRange::prefix(prefix.into_bytes()),
                usize::MAX,
            )
            .await
            .map_err(|e| Error::connector("reading waiting tasks", e))?;
        for (key, wait) in rows {
            if wait.deadline > now {
                continue;
            }
            let parts = Key::decode(&key).unwrap_or_default();
            let Some(id) = parts
                .last()
                .map(|p| String::from_utf8_lossy(p).into_owned())
            else {
                continue;
            };
            let reason = format!(
                "the custom extension did not call back before the timeout ({})",
                wait.deadline
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            self.finish_wait(&id, &wait, Some(reason)).await?;
        }
        Ok(())
    }

    async fn finish_wait(
        &self,
        id: &str,
        wait: &Wait,
        failure: Option<String>,
    ) -> Result<UserProcessingResult> {
        let history = self.history();
        let Some(mut upr) = history.user_result(&wait.run_id, &wait.user_id).await? else {
            return Err(Error::Callback {
                id: id.to_owned(),
                message: "its user processing result is missing".to_owned(),
            });
        };
        let now = self.clock.now();
        let wf = self
            .workflows
            .version(&wait.workflow_id, wait.version)
            .cloned();
        let why_not = match (self.workflows.get(&wait.workflow_id), &wf) {
            (None, _) => Some(format!("workflow {:?} was removed", wait.workflow_id)),
            (Some(c), _) if !c.is_enabled => {
                Some(format!("workflow {:?} was disabled", wait.workflow_id))
            }
            (Some(c), _) if c.version != wait.version => Some(format!(
                "workflow {:?} changed (version {} -> {})",
                wait.workflow_id, wait.version, c.version
            )),
            (_, None) => Some(format!(
                "workflow {:?} version {} is no longer known",
                wait.workflow_id, wait.version
            )),
            _ => None,
        };
        let (Some(wf), None) = (wf, &why_not) else {
            // The workflow changed while the task waited: the task takes its answer, the
            // user's later tasks are canceled, and so is the user.
            let reason = why_not.unwrap_or_default();
            let run = self.load_run(&wait.run_id, wait.run_started).await?;
            for (i, t) in upr.task_processing_results.iter_mut().enumerate() {
                if i == wait.task_index {
                    t.completed_date_time = Some(now);
                    t.deadline = None;
                    match &failure {
                        None => t.processing_status = ProcessingStatus::Completed,
                        Some(f) => {
                            t.processing_status = ProcessingStatus::Failed;
                            t.failure_reason = Some(f.clone());
                        }
                    }
                } else if i > wait.task_index {
                    t.processing_status = ProcessingStatus::Canceled;
                    t.failure_reason = Some(format!("not run: {reason}"));
                }
            }
            upr.settle(&[], now);
            upr.processing_status = ProcessingStatus::Canceled;
            upr.completed_date_time = Some(now);
            let mut txn = self.txn();
            txn.delete(Table::TASK_STATES, self.key().str("wait").str(id));
            self.save_user(&run, &upr, txn).await?;
            let mut run = run;
            let users = history.users_of_run(&run.id).await?;
            run.settle(&users);
            self.save_run(&run).await?;
            return Ok(upr);
        };
        let enabled: Vec<bool> = wf
            .tasks
            .iter()
            .filter(|t| t.is_enabled)
            .map(|t| t.continue_on_error)
            .collect();
        let mut stop = false;
        if let Some(t) = upr.task_processing_results.get_mut(wait.task_index) {
            t.completed_date_time = Some(now);
            t.deadline = None;
            match &failure {
                None => t.processing_status = ProcessingStatus::Completed,
                Some(reason) => {
                    t.processing_status = ProcessingStatus::Failed;
                    t.failure_reason = Some(reason.clone());
                    stop = !enabled.get(wait.task_index).copied().unwrap_or(false);
                }
            }
        }
        let run = self.load_run(&wait.run_id, wait.run_started).await?;
        // The wait ends, the task's end is recorded (a resumed user does not launch it
        // again) and the user is pending again until their later tasks are done: one commit.
        let enc = |e| Error::connector("clearing a waiting task", e);
        let mut txn = self.txn();
        txn.delete(Table::TASK_STATES, self.key().str("wait").str(id));
        let end = if failure.is_none() {
            "completed"
        } else {
            "failed"
        };
        txn.put_json(
            Table::TASK_STATES,
            self.task_state_key(&upr.id, wait.task_index),
            &end,
        )
        .map_err(enc)?;
        let pending = Pending {
            run_id: run.id.clone(),
            run_started: run.started_date_time,
            scheduled: run.scheduled_date_time,
            execution: run.workflow_execution_type,
            workflow_id: wait.workflow_id.clone(),
            version: wait.version,
            user_id: wait.user_id.clone(),
            occurrence: upr.occurrence.clone(),
            result_id: upr.id.clone(),
            claimed: now,
        };
        txn.put_json(Table::TASK_STATES, self.pending_key(&upr.id), &pending)
            .map_err(enc)?;
        txn.commit(&*self.store).await.map_err(enc)?;
        let user = self
            .target
            .get(&ObjectType::USER, &TargetId::new(&wait.user_id))
            .await
            .map_err(|e| Error::connector("reading the user", e))?;
        match (user, stop) {
            (Some(user), false) => {
                self.continue_user(
                    &wf,
                    &user.resource,
                    &run,
                    &mut upr,
                    wait.task_index + 1,
                    false,
                )
                .await?;
            }
            (None, false) => {
                for t in upr
                    .task_processing_results
                    .iter_mut()
                    .skip(wait.task_index + 1)
                {
                    t.processing_status = ProcessingStatus::Failed;
                    t.failure_reason = Some(format!("user {:?} no longer exists", wait.user_id));
                }
                upr.settle(&enabled, now);
                self.save_user(&run, &upr, self.txn()).await?;
            }
            (_, true) => {
                for t in upr
                    .task_processing_results
                    .iter_mut()
                    .skip(wait.task_index + 1)
                {
                    t.processing_status = ProcessingStatus::Canceled;
                }
                upr.settle(&enabled, now);
                self.save_user(&run, &upr, self.txn()).await?;
            }
        }
        // The run's status follows its users'.
        let mut run = run;
        let users = history.users_of_run(&run.id).await?;
        run.settle(&users);
        self.save_run(&run).await?;
        Ok(upr)
    }

    /// Resumes users whose processing began more than [`RunnerOptions::resume_after`] ago and
    /// never ended (the process died): their tasks run again from the first, except that a
    /// task recorded as completed is not repeated, and an at-most-once task (an email, a
    /// Temporary Access Pass) recorded as started but not ended fails as "may have run; not
    /// repeated". A user whose workflow was disabled, removed or changed since, or who no
    /// longer exists, is canceled.
    async fn resume_stale(&self, now: DateTime<Utc>, report: &mut RunReport) -> Result<()> {
        let after = chrono::Duration::from_std(self.options.resume_after)
            .unwrap_or(chrono::Duration::hours(1));
        let rows: Vec<(Vec<u8>, Pending)> = self
            .store
            .scan_json(
                Table::TASK_STATES,
                &KeyRange::prefix(self.key().str("pending").into_bytes()),
                usize::MAX,
            )
            .await
            .map_err(|e| Error::connector("reading unfinished users", e))?;
        let mut by_run: BTreeMap<String, (Run, Vec<UserProcessingResult>)> = BTreeMap::new();
        for (_, p) in rows {
            if p.claimed + after > now {
                continue;
            }
            let run = match by_run.get(&p.run_id) {
                Some((run, _)) => run.clone(),
                None => self.run_of(&p).await?,
            };
            let Some(upr) = self.resume_user(&p, &run, &mut report.errors).await? else {
                continue;
            };
            by_run
                .entry(p.run_id.clone())
                .or_insert_with(|| (run, Vec::new()))
                .1
                .push(upr);
        }
        for (_, (mut run, resumed)) in by_run {
            let users = self.history().users_of_run(&run.id).await?;
            run.settle(&users);
            self.save_run(&run).await?;
            report.runs.push(RunResult {
                run,
                user_processing_results: resumed,
            });
        }
        Ok(())
    }

    /// The run a pending user belongs to, as stored, or as it began when it was never saved.
    async fn run_of(&self, p: &Pending) -> Result<Run> {
        let key = Key::new()
            .str(self.job.as_str())
            .str("run")
            .u64(crate::history::millis(p.run_started))
            .str(&p.run_id);
        let stored: Option<Run> = self
            .store
            .get_json(Table::RUNS, &key)
            .await
            .map_err(|e| Error::connector("reading a run", e))?;
        if let Some(run) = stored {
            return Ok(run);
        }
        let wf = self
            .workflows
            .version(&p.workflow_id, p.version)
            .or_else(|| self.workflows.get(&p.workflow_id));
        Ok(Run {
            id: p.run_id.clone(),
            workflow: WorkflowRef {
                id: p.workflow_id.clone(),
                display_name: wf.map(|w| w.display_name.clone()).unwrap_or_default(),
                version: p.version,
            },
            workflow_execution_type: p.execution,
            processing_status: ProcessingStatus::InProgress,
            scheduled_date_time: p.scheduled,
            started_date_time: p.run_started,
            completed_date_time: None,
            failed_users_count: 0,
            successful_users_count: 0,
            total_users_count: 0,
            failed_tasks_count: 0,
            total_tasks_count: 0,
            total_unprocessed_tasks_count: 0,
        })
    }

    /// Resumes one pending user; `None` when the user cannot be read now (reported; left
    /// pending for the next run).
    async fn resume_user(
        &self,
        p: &Pending,
        run: &Run,
        errors: &mut Vec<SubjectError>,
    ) -> Result<Option<UserProcessingResult>> {
        let then = self.workflows.version(&p.workflow_id, p.version);
        let current = self.workflows.get(&p.workflow_id);
        let why_not = match (then, current) {
            (_, None) => Some(format!("workflow {:?} was removed", p.workflow_id)),
            (_, Some(c)) if !c.is_enabled => {
                Some(format!("workflow {:?} was disabled", p.workflow_id))
            }
            (_, Some(c)) if c.version != p.version => Some(format!(
                "workflow {:?} changed (version {} -> {})",
                p.workflow_id, p.version, c.version
            )),
            (None, Some(_)) => Some(format!(
                "workflow {:?} version {} is no longer known",
                p.workflow_id, p.version
            )),
            _ => None,
        };
        let user = match self
            .target
            .get(&ObjectType::USER, &TargetId::new(&p.user_id))
            .await
        {
            Ok(u) => u.map(|u| u.resource),
            Err(e) => {
                errors.push(SubjectError::new(
                    &p.user_id,
                    Some(&p.workflow_id),
                    format!("reading the user to resume their processing: {e}"),
                ));
                return Ok(None);
            }
        };
        let why_not = why_not.or_else(|| {
            user.is_none()
                .then(|| format!("user {:?} no longer exists", p.user_id))
        });
        match (then, user, why_not) {
            (Some(wf), Some(user), None) => {
                let upr = self
                    .process_user(
                        wf,
                        &user,
                        &p.user_id,
                        &p.occurrence,
                        run,
                        p.result_id.clone(),
                        true,
                    )
                    .await?;
                Ok(Some(upr))
            }
            (wf, user, why_not) => {
                let reason = why_not.unwrap_or_default();
                let wf = wf.or(current);
                let mut upr = match wf {
                    Some(wf) => self.new_result(
                        wf,
                        user.as_ref(),
                        &p.user_id,
                        &p.occurrence,
                        run,
                        p.result_id.clone(),
                    ),
                    None => self.empty_result(p, run),
                };
                let now = self.clock.now();
                for t in &mut upr.task_processing_results {
                    t.processing_status = ProcessingStatus::Canceled;
                    t.failure_reason = Some(format!(
                        "not resumed after the run was interrupted: {reason}"
                    ));
                }
                upr.settle(&[], now);
                upr.processing_status = ProcessingStatus::Canceled;
                upr.completed_date_time = Some(now);
                self.save_user(run, &upr, self.txn()).await?;
                Ok(Some(upr))
            }
        }
    }

    fn empty_result(&self, p: &Pending, run: &Run) -> UserProcessingResult {
        UserProcessingResult {
            id: p.result_id.clone(),
            run_id: run.id.clone(),
            subject: Subject::new(&p.user_id),
            subject_display_name: None,
            subject_user_principal_name: None,
            workflow: run.workflow.clone(),
            workflow_version: p.version,
            workflow_execution_type: run.workflow_execution_type,
            processing_status: ProcessingStatus::Canceled,
            occurrence: p.occurrence.clone(),
            scheduled_date_time: run.scheduled_date_time,
            started_date_time: self.clock.now(),
            completed_date_time: None,
            failed_tasks_count: 0,
            total_tasks_count: 0,
            total_unprocessed_tasks_count: 0,
            task_processing_results: Vec::new(),
        }
    }

    async fn load_run(&self, run_id: &str, started: DateTime<Utc>) -> Result<Run> {
        let key = Key::new()
            .str(self.job.as_str())
            .str("run")
            .u64(crate::history::millis(started))
            .str(run_id);
        self.store
            .get_json(Table::RUNS, &key)
            .await
            .map_err(|e| Error::connector("reading a run", e))?
            .ok_or_else(|| Error::Callback {
                id: run_id.to_owned(),
                message: "its run is missing".to_owned(),
            })
    }

    /// Attribute-change triggers: compares each user's watched values with the snapshot of
    /// the previous run; a change of a user in scope is due (the first sight of a user is the
    /// baseline).
    async fn attribute_changes(
        &self,
        changes: &[&Compiled],
        users: &[&Resource],
        due: &mut Vec<Occurrence>,
    ) -> Result<()> {
        let mut txn = self.txn();
        for c in changes {
            let Kind::Change { attributes } = &c.kind else {
                continue;
            };
            for user in users {
                let Some(id) = user.id() else { continue };
                let mut current = serde_json::Map::new();
                for (name, path) in attributes {
                    current.insert(name.clone(), attributes::read_all(user, path));
                }
                let current = Value::Object(current);
                let key = self
                    .key()
                    .str("attr")
                    .str(c.workflow.id())
                    .str(&c.trigger_key)
                    .str(id);
                let old: Option<Snapshot> = self
                    .store
                    .get_json(SNAPSHOTS, &key)
                    .await
                    .map_err(|e| Error::connector("reading a change snapshot", e))?;
                let seq = match old {
                    None => 0,
                    Some(s) if s.values == current => continue,
                    Some(s) => {
                        if c.scope.matches(user) {
                            due.push(Occurrence {
                                workflow_id: c.workflow.id().to_owned(),
                                trigger: c.trigger_key.clone(),
                                user_id: id.to_owned(),
                                date: format!("change-{}", s.seq + 1),
                            });
                        }
                        s.seq + 1
                    }
                };
                txn.put_json(
                    SNAPSHOTS,
                    key,
                    &Snapshot {
                        seq,
                        values: current,
                    },
                )
                .map_err(|e| Error::connector("writing a change snapshot", e))?;
            }
        }
        txn.commit(&*self.store)
            .await
            .map_err(|e| Error::connector("writing change snapshots", e))
    }

    /// Membership triggers: compares the group's members with the previous run's.
    async fn membership_changes(
        &self,
        c: &Compiled,
        group: &str,
        change: MembershipChange,
        due: &mut Vec<Occurrence>,
    ) -> Result<()> {
        let Some(g) = self
            .target
            .get(&ObjectType::GROUP, &TargetId::new(group))
            .await
            .map_err(|e| Error::connector(format!("reading group {group:?}"), e))?
        else {
            return Ok(());
        };
        let members: BTreeSet<String> = g
            .resource
            .get("members")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|e| e.get("value").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let key = self.key().str("members").str(c.workflow.id()).str(group);
        let old: Option<Snapshot> = self
            .store
            .get_json(SNAPSHOTS, &key)
            .await
            .map_err(|e| Error::connector("reading a membership snapshot", e))?;
        let current = Value::Array(members.iter().cloned().map(Value::String).collect());
        let seq = match old {
            None => 0,
            Some(s) if s.values == current => return Ok(()),
            Some(s) => {
                let before: BTreeSet<String> = s
                    .values
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let changed: Vec<&String> = match change {
                    MembershipChange::Add => members.difference(&before).collect(),
                    MembershipChange::Remove => before.difference(&members).collect(),
                };
                for user in changed {
                    due.push(Occurrence {
                        workflow_id: c.workflow.id().to_owned(),
                        trigger: c.trigger_key.clone(),
                        user_id: user.clone(),
                        date: format!("change-{}", s.seq + 1),
                    });
                }
                s.seq + 1
            }
        };
        let mut txn = self.txn();
        txn.put_json(
            SNAPSHOTS,
            key,
            &Snapshot {
                seq,
                values: current,
            },
        )
        .map_err(|e| Error::connector("writing a membership snapshot", e))?;
        txn.commit(&*self.store)
            .await
            .map_err(|e| Error::connector("writing a membership snapshot", e))
    }

    async fn dependencies_done(&self, workflow: &str, user: &str) -> Result<bool> {
        for d in self.deps.get(workflow).map(Vec::as_slice).unwrap_or(&[]) {
            let done: Option<Done> = self
                .store
                .get_json(Table::RUNS, &done_key(&self.job, d, user))
                .await
                .map_err(|e| Error::connector("reading a workflow dependency", e))?;
            if done.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Processes the due users of one workflow as one run.
    async fn process(
        &self,
        c: &Compiled,
        occurrences: Vec<Occurrence>,
        execution: ExecutionType,
        now: DateTime<Utc>,
        errors: &mut Vec<SubjectError>,
    ) -> Result<Option<RunResult>> {
        let wf = &c.workflow;
        let mut run = Run {
            id: self.new_id(),
            workflow: WorkflowRef {
                id: wf.id().to_owned(),
                display_name: wf.display_name.clone(),
                version: wf.version,
            },
            workflow_execution_type: execution,
            processing_status: ProcessingStatus::InProgress,
            scheduled_date_time: now,
            started_date_time: self.clock.now(),
            completed_date_time: None,
            failed_users_count: 0,
            successful_users_count: 0,
            total_users_count: 0,
            failed_tasks_count: 0,
            total_tasks_count: 0,
            total_unprocessed_tasks_count: 0,
        };
        let scheduled = execution == ExecutionType::Scheduled;
        let mut users = Vec::new();
        for occ in occurrences {
            if scheduled && !self.dependencies_done(wf.id(), &occ.user_id).await? {
                continue;
            }
            // Read again right before processing.
            let user = match self
                .target
                .get(&ObjectType::USER, &TargetId::new(&occ.user_id))
                .await
            {
                Ok(Some(u)) => u.resource,
                Ok(None) if scheduled => continue,
                Ok(None) => {
                    errors.push(SubjectError::new(
                        &occ.user_id,
                        Some(wf.id()),
                        format!("user {:?} does not exist", occ.user_id),
                    ));
                    continue;
                }
                Err(e) => {
                    errors.push(SubjectError::new(
                        &occ.user_id,
                        Some(wf.id()),
                        format!("reading the user: {e}"),
                    ));
                    continue;
                }
            };
            if scheduled && !self.still_matches(c, &user, &occ, now) {
                continue;
            }
            self.renew().await?;
            // The claim, the user's pending mark (removed with their result) and, with the
            // first user, the run: one commit, so a crash leaves all or none of them.
            let result_id = self.new_id();
            let claimed = self.clock.now();
            let enc = |e| Error::connector("claiming a trigger occurrence", e);
            let mut txn = self.txn();
            if scheduled {
                let key = self
                    .key()
                    .str(wf.id())
                    .str(&occ.trigger)
                    .str(&occ.user_id)
                    .str(&occ.date);
                let claim = Claim {
                    run_id: run.id.clone(),
                    claimed,
                    result_id: result_id.clone(),
                };
                txn.insert_json(Table::TRIGGER_OCCURRENCES, key, &claim)
                    .map_err(enc)?;
            }
            let pending = Pending {
                run_id: run.id.clone(),
                run_started: run.started_date_time,
                scheduled: run.scheduled_date_time,
                execution,
                workflow_id: wf.id().to_owned(),
                version: wf.version,
                user_id: occ.user_id.clone(),
                occurrence: occ.date.clone(),
                result_id: result_id.clone(),
                claimed,
            };
            txn.put_json(Table::TASK_STATES, self.pending_key(&result_id), &pending)
                .map_err(enc)?;
            if users.is_empty() {
                txn.put_json(Table::RUNS, run_key(&self.job, &run), &run)
                    .map_err(enc)?;
            }
            match txn.commit(&*self.store).await {
                Ok(()) => {}
                // Claimed already, by an earlier or an overlapping run.
                Err(connectors::Error::KeyExists { .. }) => continue,
                Err(e) => return Err(enc(e)),
            }
            let upr = self
                .process_user(wf, &user, &occ.user_id, &occ.date, &run, result_id, false)
                .await?;
            users.push(upr);
        }
        if users.is_empty() {
            return Ok(None);
        }
        run.settle(&users);
        self.save_run(&run).await?;
        Ok(Some(RunResult {
            run,
            user_processing_results: users,
        }))
    }

    fn still_matches(
        &self,
        c: &Compiled,
        user: &Resource,
        occ: &Occurrence,
        now: DateTime<Utc>,
    ) -> bool {
        let trigger_ok = match c.kind {
            Kind::Time { .. } | Kind::Inactivity { .. } => {
                TriggerEvaluator::check_one(c, &self.attrs, &self.options.eval, user, now)
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(occ.date.as_str())
            }
            _ => true,
        };
        trigger_ok && c.scope.matches(user)
    }

    #[allow(clippy::too_many_arguments)]
    async fn process_user(
        &self,
        wf: &Workflow,
        user: &Resource,
        user_id: &str,
        occurrence: &str,
        run: &Run,
        result_id: String,
        resuming: bool,
    ) -> Result<UserProcessingResult> {
        let mut upr = self.new_result(wf, Some(user), user_id, occurrence, run, result_id);
        self.continue_user(wf, user, run, &mut upr, 0, resuming)
            .await?;
        Ok(upr)
    }

    /// A user's result with every enabled task queued.
    fn new_result(
        &self,
        wf: &Workflow,
        user: Option<&Resource>,
        user_id: &str,
        occurrence: &str,
        run: &Run,
        result_id: String,
    ) -> UserProcessingResult {
        let now = self.clock.now();
        let text =
            |n: &str| user.and_then(|u| crate::tasks::read_text(u, &self.services.aliases, n));
        let mut upr = UserProcessingResult {
            id: result_id,
            run_id: run.id.clone(),
            subject: Subject::new(user_id),
            subject_display_name: text("displayName"),
            subject_user_principal_name: text("userPrincipalName"),
            workflow: run.workflow.clone(),
            workflow_version: wf.version,
            workflow_execution_type: run.workflow_execution_type,
            processing_status: ProcessingStatus::InProgress,
            occurrence: occurrence.to_owned(),
            scheduled_date_time: run.scheduled_date_time,
            started_date_time: now,
            completed_date_time: None,
            failed_tasks_count: 0,
            total_tasks_count: 0,
            total_unprocessed_tasks_count: 0,
            task_processing_results: Vec::new(),
        };
        for task in wf.tasks.iter().filter(|t| t.is_enabled) {
            let name = if task.display_name.is_empty() {
                self.tasks
                    .get(&task.task_definition_id)
                    .map(|h| h.definition().display_name)
                    .unwrap_or_default()
            } else {
                task.display_name.clone()
            };
            upr.task_processing_results.push(TaskProcessingResult {
                id: self.new_id(),
                task: TaskRef {
                    display_name: name,
                    task_definition_id: task.task_definition_id.clone(),
                },
                processing_status: ProcessingStatus::Queued,
                failure_reason: None,
                created_date_time: now,
                started_date_time: None,
                completed_date_time: None,
                attempts: 0,
                deadline: None,
            });
        }
        upr
    }

    /// Runs the user's enabled tasks from index `from` on, until the end or a waiting task;
    /// saves the result.
    async fn continue_user(
        &self,
        wf: &Workflow,
        user: &Resource,
        run: &Run,
        upr: &mut UserProcessingResult,
        from: usize,
        resuming: bool,
    ) -> Result<()> {
        let tasks: Vec<_> = wf.tasks.iter().filter(|t| t.is_enabled).collect();
        let coe: Vec<bool> = tasks.iter().map(|t| t.continue_on_error).collect();
        let mut stop = false;
        for (i, task) in tasks.iter().enumerate().skip(from) {
            if stop {
                if let Some(t) = upr.task_processing_results.get_mut(i) {
                    t.processing_status = ProcessingStatus::Canceled;
                }
                continue;
            }
            let Some(tr_id) = upr.task_processing_results.get(i).map(|t| t.id.clone()) else {
                continue;
            };
            let started = self.clock.now();
            let (outcome, attempts) = match self.tasks.get(&task.task_definition_id) {
                None => (
                    TaskOutcome::Failed(TaskFailure::permanent(format!(
                        "no handler for taskDefinitionId {:?}",
                        task.task_definition_id
                    ))),
                    1,
                ),
                Some(handler) => {
                    let at_most_once = handler.definition().at_most_once;
                    let state_key = self.task_state_key(&upr.id, i);
                    // A fresh result id has no task states: only a resumed user's are read.
                    let before: Option<String> = if resuming {
                        self.store
                            .get_json(Table::TASK_STATES, &state_key)
                            .await
                            .map_err(|e| Error::connector("reading a task state", e))?
                    } else {
                        None
                    };
                    if let Some(before) = before {
                        let outcome = match before.as_str() {
                            "completed" => TaskOutcome::Completed,
                            "failed" => TaskOutcome::Failed(TaskFailure::permanent(
                                "the task failed before the run was interrupted; it is not repeated",
                            )),
                            _ => TaskOutcome::Failed(TaskFailure::permanent(
                                "the task was started before the run was interrupted and may have run; not repeated",
                            )),
                        };
                        (outcome, 0)
                    } else {
                        if at_most_once {
                            let mut txn = self.txn();
                            txn.put_json(Table::TASK_STATES, state_key.clone(), &"started")
                                .map_err(|e| Error::connector("recording a task start", e))?;
                            txn.commit(&*self.store)
                                .await
                                .map_err(|e| Error::connector("recording a task start", e))?;
                        }
                        let ctx = TaskContext {
                            user,
                            user_id: &upr.subject.id,
                            workflow: wf,
                            task,
                            target: &*self.target,
                            now: self.clock.now(),
                            task_result_id: &tr_id,
                            services: &self.services,
                        };
                        let mut attempt = 0;
                        let outcome = loop {
                            attempt += 1;
                            match handler.run(&ctx).await {
                                TaskOutcome::Failed(f)
                                    if f.retryable && attempt < self.options.retry.max_attempts =>
                                {
                                    self.clock.sleep(self.options.retry.backoff(attempt)).await;
                                }
                                other => break other,
                            }
                        };
                        if at_most_once && !matches!(outcome, TaskOutcome::Waiting { .. }) {
                            let mut txn = self.txn();
                            let done = if matches!(outcome, TaskOutcome::Completed) {
                                "completed"
                            } else {
                                "failed"
                            };
                            txn.put_json(Table::TASK_STATES, state_key, &done)
                                .map_err(|e| Error::connector("recording a task end", e))?;
                            txn.commit(&*self.store)
                                .await
                                .map_err(|e| Error::connector("recording a task end", e))?;
                        }
                        (outcome, attempt)
                    }
                }
            };
            let now = self.clock.now();
            let Some(tr) = upr.task_processing_results.get_mut(i) else {
                continue;
            };
            tr.started_date_time = Some(started);
            tr.attempts = attempts;
            match outcome {
                TaskOutcome::Completed => {
                    tr.processing_status = ProcessingStatus::Completed;
                    tr.completed_date_time = Some(now);
                }
                TaskOutcome::Failed(f) => {
                    tr.processing_status = ProcessingStatus::Failed;
                    tr.completed_date_time = Some(now);
                    tr.failure_reason = Some(if attempts > 1 {
                        format!("{} (after {attempts} attempts)", f.reason)
                    } else {
                        f.reason
                    });
                    if !task.continue_on_error {
                        stop = true;
                    }
                }
                TaskOutcome::Waiting { deadline } => {
                    tr.processing_status = ProcessingStatus::InProgress;
                    tr.deadline = Some(deadline);
                    let wait = Wait {
                        run_id: run.id.clone(),
                        run_started: run.started_date_time,
                        user_id: upr.subject.id.clone(),
                        workflow_id: wf.id().to_owned(),
                        version: wf.version,
                        task_index: i,
                        deadline,
                    };
                    let mut txn = self.txn();
                    txn.put_json(
                        Table::TASK_STATES,
                        self.key().str("wait").str(&tr_id),
                        &wait,
                    )
                    .map_err(|e| Error::connector("recording a waiting task", e))?;
                    upr.settle(&coe, now);
                    // With the user's result, in one commit: the wait takes over from the
                    // pending mark.
                    return self.save_user(run, upr, txn).await;
                }
            }
        }
        upr.settle(&coe, self.clock.now());
        self.save_user(run, upr, self.txn()).await
    }

    /// Saves a user's result with `txn`, and ends their pending mark.
    async fn save_user(&self, run: &Run, upr: &UserProcessingResult, mut txn: Txn) -> Result<()> {
        let enc = |e| Error::connector("recording a user processing result", e);
        txn.delete(Table::TASK_STATES, self.pending_key(&upr.id));
        if !matches!(
            upr.processing_status,
            ProcessingStatus::Queued | ProcessingStatus::InProgress
        ) {
            // The user is done and will not be resumed: the records of which tasks started
            // (kept so that a resumed user does not run an at-most-once task twice) go with
            // the pending mark, in the same commit, instead of piling up run after run.
            for i in 0..upr.task_processing_results.len() {
                txn.delete(Table::TASK_STATES, self.task_state_key(&upr.id, i));
            }
        }
        txn.put_json(
            Table::RUNS,
            user_key(&self.job, &run.id, &upr.subject.id),
            upr,
        )
        .map_err(enc)?;
        txn.put_json(
            Table::RUNS,
            subject_key(&self.job, &upr.subject.id, run),
            &(),
        )
        .map_err(enc)?;
        if matches!(
            upr.processing_status,
            ProcessingStatus::Completed | ProcessingStatus::CompletedWithErrors
        ) {
            txn.put_json(
                Table::RUNS,
                done_key(&self.job, &upr.workflow.id, &upr.subject.id),
                &Done {
                    run_id: run.id.clone(),
                    completed: upr.completed_date_time.unwrap_or(upr.started_date_time),
                },
            )
            .map_err(enc)?;
        }
        txn.commit(&*self.store).await.map_err(enc)
    }

    async fn save_run(&self, run: &Run) -> Result<()> {
        let mut txn = self.txn();
        txn.put_json(Table::RUNS, run_key(&self.job, run), run)
            .map_err(|e| Error::connector("recording a run", e))?;
        txn.commit(&*self.store)
            .await
            .map_err(|e| Error::connector("recording a run", e))
    }
}
