//! Run history in Graph's shapes — runs, user processing results, task processing results —
//! kept in the state store's [`Table::RUNS`], queryable by workflow, user and time, and
//! exported to CSV.
//!
//! Keys (all under the runner's job id):
//! - `("run", started millis, run id)` → [`Run`];
//! - `("user", run id, user id)` → [`UserProcessingResult`] (with its task results);
//! - `("subject", user id, started millis, run id)` → the index of a user's results;
//! - `("done", workflow id, user id)` → when a workflow completed for a user (dependencies).

use chrono::{DateTime, Utc};
use connectors::JobId;
use connectors::state::{Key, KeyRange, StateStore, StateStoreExt, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::trigger::Subject;

/// Entra's `lifecycleWorkflowProcessingStatus`, for runs, users and tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ProcessingStatus {
    /// Waiting to run.
    Queued,
    /// Running (a user or task waiting for a custom extension's callback stays here).
    InProgress,
    /// Done, without failure.
    Completed,
    /// Done; a failure occurred where `continueOnError` let the rest go on (a run: some users
    /// failed).
    CompletedWithErrors,
    /// Stopped before it ran (a task after one that failed without `continueOnError`).
    Canceled,
    /// Failed (a user: a task without `continueOnError` failed; a run: every user failed).
    Failed,
}

impl ProcessingStatus {
    /// The status as Graph writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingStatus::Queued => "queued",
            ProcessingStatus::InProgress => "inProgress",
            ProcessingStatus::Completed => "completed",
            ProcessingStatus::CompletedWithErrors => "completedWithErrors",
            ProcessingStatus::Canceled => "canceled",
            ProcessingStatus::Failed => "failed",
        }
    }
}

/// Whether a run was scheduled or asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ExecutionType {
    /// A scheduled evaluation ([`crate::Runner::run_due`]).
    Scheduled,
    /// An on-demand run ([`crate::Runner::run_on_demand`]).
    OnDemand,
}

/// The workflow a result belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowRef {
    /// Its id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// The version run.
    pub version: u32,
}

/// The task a task result belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskRef {
    /// Its name.
    pub display_name: String,
    /// Its definition.
    pub task_definition_id: String,
}

/// Graph's `taskProcessingResult`: one task for one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskProcessingResult {
    /// Its id (a custom extension calls back with it).
    pub id: String,
    /// The task.
    pub task: TaskRef,
    /// How it went.
    pub processing_status: ProcessingStatus,
    /// Why it failed, naming what was missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When it was created.
    pub created_date_time: DateTime<Utc>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_date_time: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_date_time: Option<DateTime<Utc>>,
    /// idflow: how many attempts it took (retries with backoff).
    #[serde(default)]
    pub attempts: u32,
    /// idflow: when a waiting task fails unless called back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
}

/// Graph's `userProcessingResult`: one workflow for one user in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserProcessingResult {
    /// Its id.
    pub id: String,
    /// The run it belongs to.
    pub run_id: String,
    /// The user.
    pub subject: Subject,
    /// idflow: the user's display name when processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_display_name: Option<String>,
    /// idflow: the user's userName (userPrincipalName) when processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_principal_name: Option<String>,
    /// The workflow.
    pub workflow: WorkflowRef,
    /// The workflow's version (Graph's `workflowVersion`).
    pub workflow_version: u32,
    /// Scheduled or on demand.
    pub workflow_execution_type: ExecutionType,
    /// How it went.
    pub processing_status: ProcessingStatus,
    /// The trigger occurrence (`YYYY-MM-DD` for time triggers).
    #[serde(default)]
    pub occurrence: String,
    /// When the run was scheduled.
    pub scheduled_date_time: DateTime<Utc>,
    /// When processing started.
    pub started_date_time: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_date_time: Option<DateTime<Utc>>,
    /// Tasks that failed.
    pub failed_tasks_count: u32,
    /// Tasks of the workflow run for the user.
    pub total_tasks_count: u32,
    /// Tasks not run (canceled after a failure).
    pub total_unprocessed_tasks_count: u32,
    /// The task results, in order.
    pub task_processing_results: Vec<TaskProcessingResult>,
}

impl UserProcessingResult {
    /// Recomputes the status and counts from the task results.
    pub(crate) fn settle(&mut self, continue_on_error: &[bool], now: DateTime<Utc>) {
        let mut failed = 0;
        let mut hard = false;
        let mut waiting = false;
        let mut canceled = 0;
        for (i, t) in self.task_processing_results.iter().enumerate() {
            match t.processing_status {
                ProcessingStatus::Failed => {
                    failed += 1;
                    if !continue_on_error.get(i).copied().unwrap_or(false) {
                        hard = true;
                    }
                }
                ProcessingStatus::InProgress | ProcessingStatus::Queued => waiting = true,
                ProcessingStatus::Canceled => canceled += 1,
                _ => {}
            }
        }
        self.failed_tasks_count = failed;
        self.total_tasks_count = self.task_processing_results.len() as u32;
        self.total_unprocessed_tasks_count = canceled;
        self.processing_status = if hard {
            ProcessingStatus::Failed
        } else if waiting {
            ProcessingStatus::InProgress
        } else if failed > 0 {
            ProcessingStatus::CompletedWithErrors
        } else {
            ProcessingStatus::Completed
        };
        self.completed_date_time = (!waiting || hard).then_some(now);
    }

    /// Whether processing has ended.
    pub fn is_done(&self) -> bool {
        !matches!(
            self.processing_status,
            ProcessingStatus::InProgress | ProcessingStatus::Queued
        )
    }
}

/// Graph's `run`: one workflow's processing of a set of users, by schedule or on demand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Run {
    /// Its id.
    pub id: String,
    /// The workflow.
    pub workflow: WorkflowRef,
    /// Scheduled or on demand.
    pub workflow_execution_type: ExecutionType,
    /// How it went.
    pub processing_status: ProcessingStatus,
    /// The evaluation instant.
    pub scheduled_date_time: DateTime<Utc>,
    /// When the first user started.
    pub started_date_time: DateTime<Utc>,
    /// When the last user ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_date_time: Option<DateTime<Utc>>,
    /// Users whose processing failed.
    pub failed_users_count: u32,
    /// Users processed without failure.
    pub successful_users_count: u32,
    /// Users processed.
    pub total_users_count: u32,
    /// Tasks that failed, over all users.
    pub failed_tasks_count: u32,
    /// Tasks run, over all users (Graph: `totalTasksCount`).
    pub total_tasks_count: u32,
    /// Tasks not run, over all users.
    pub total_unprocessed_tasks_count: u32,
}

impl Run {
    /// Recomputes the status and counts from the users' results.
    pub(crate) fn settle(&mut self, users: &[UserProcessingResult]) {
        let mut failed = 0;
        let mut ok = 0;
        let mut waiting = false;
        let (mut ft, mut tt, mut ut) = (0, 0, 0);
        let mut last = None;
        for u in users {
            match u.processing_status {
                ProcessingStatus::Failed => failed += 1,
                ProcessingStatus::Completed | ProcessingStatus::CompletedWithErrors => ok += 1,
                ProcessingStatus::InProgress | ProcessingStatus::Queued => waiting = true,
                ProcessingStatus::Canceled => {}
            }
            ft += u.failed_tasks_count;
            tt += u.total_tasks_count;
            ut += u.total_unprocessed_tasks_count;
            last = last.max(u.completed_date_time);
        }
        self.failed_users_count = failed;
        self.successful_users_count = ok;
        self.total_users_count = users.len() as u32;
        self.failed_tasks_count = ft;
        self.total_tasks_count = tt;
        self.total_unprocessed_tasks_count = ut;
        let any_errors = users
            .iter()
            .any(|u| u.processing_status != ProcessingStatus::Completed);
        self.processing_status = if waiting {
            ProcessingStatus::InProgress
        } else if failed > 0 && failed == users.len() as u32 {
            ProcessingStatus::Failed
        } else if any_errors {
            ProcessingStatus::CompletedWithErrors
        } else {
            ProcessingStatus::Completed
        };
        self.completed_date_time = if waiting {
            None
        } else {
            last.or(Some(self.started_date_time))
        };
    }
}

/// What to list from the history; every field narrows, `None` does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryQuery {
    /// Only this workflow (id).
    pub workflow: Option<String>,
    /// Only this user (id).
    pub user: Option<String>,
    /// Only runs started at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only runs started before this.
    pub to: Option<DateTime<Utc>>,
}

impl HistoryQuery {
    /// Everything.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only a workflow.
    #[must_use]
    pub fn workflow(mut self, id: impl Into<String>) -> Self {
        self.workflow = Some(id.into());
        self
    }

    /// Only a user.
    #[must_use]
    pub fn user(mut self, id: impl Into<String>) -> Self {
        self.user = Some(id.into());
        self
    }

    /// Only runs started in `[from, to)`.
    #[must_use]
    pub fn between(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    fn time_ok(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t < to)
    }
}

/// A marker that a workflow completed for a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Done {
    pub(crate) run_id: String,
    pub(crate) completed: DateTime<Utc>,
}

pub(crate) fn millis(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

pub(crate) fn run_key(job: &JobId, run: &Run) -> Key {
    Key::new()
        .str(job.as_str())
        .str("run")
        .u64(millis(run.started_date_time))
        .str(&run.id)
}

pub(crate) fn user_key(job: &JobId, run_id: &str, user_id: &str) -> Key {
    Key::new()
        .str(job.as_str())
        .str("user")
        .str(run_id)
        .str(user_id)
}

pub(crate) fn subject_key(job: &JobId, user_id: &str, run: &Run) -> Key {
    Key::new()
        .str(job.as_str())
        .str("subject")
        .str(user_id)
        .u64(millis(run.started_date_time))
        .str(&run.id)
}

pub(crate) fn done_key(job: &JobId, workflow_id: &str, user_id: &str) -> Key {
    Key::new()
        .str(job.as_str())
        .str("done")
        .str(workflow_id)
        .str(user_id)
}

/// Reads a runner's history from its state store.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub(crate) job: &'a JobId,
    pub(crate) store: &'a dyn StateStore,
}

const PAGE: usize = 1000;

impl History<'_> {
    /// Runs matching the query (a user narrows to runs that processed them), oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn runs(&self, query: &HistoryQuery) -> Result<Vec<Run>> {
        let prefix = Key::new().str(self.job.as_str()).str("run");
        let mut out = Vec::new();
        let mut range = KeyRange::prefix(prefix.into_bytes());
        loop {
            let rows: Vec<(Vec<u8>, Run)> =
                self.store
                    .scan_json(Table::RUNS, &range, PAGE)
                    .await
                    .map_err(|e| Error::connector("reading the run history", e))?;
            let n = rows.len();
            let last = rows.last().map(|(k, _)| k.clone());
            for (_, run) in rows {
                if query
                    .workflow
                    .as_ref()
                    .is_some_and(|w| *w != run.workflow.id)
                    || !query.time_ok(run.started_date_time)
                {
                    continue;
                }
                if let Some(user) = &query.user
                    && self.user_result(&run.id, user).await?.is_none()
                {
                    continue;
                }
                out.push(run);
            }
            match last {
                Some(k) if n == PAGE => range = range.after(k),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One user's result in one run.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn user_result(
        &self,
        run_id: &str,
        user_id: &str,
    ) -> Result<Option<UserProcessingResult>> {
        self.store
            .get_json(Table::RUNS, &user_key(self.job, run_id, user_id))
            .await
            .map_err(|e| Error::connector("reading a user processing result", e))
    }

    /// The user results of one run, in user-id order.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn users_of_run(&self, run_id: &str) -> Result<Vec<UserProcessingResult>> {
        let prefix = Key::new().str(self.job.as_str()).str("user").str(run_id);
        let mut out = Vec::new();
        let mut range = KeyRange::prefix(prefix.into_bytes());
        loop {
            let rows: Vec<(Vec<u8>, UserProcessingResult)> = self
                .store
                .scan_json(Table::RUNS, &range, PAGE)
                .await
                .map_err(|e| Error::connector("reading user processing results", e))?;
            let n = rows.len();
            let last = rows.last().map(|(k, _)| k.clone());
            out.extend(rows.into_iter().map(|(_, u)| u));
            match last {
                Some(k) if n == PAGE => range = range.after(k),
                _ => break,
            }
        }
        Ok(out)
    }

    /// User processing results matching the query, oldest run first.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn user_results(&self, query: &HistoryQuery) -> Result<Vec<UserProcessingResult>> {
        let mut out = Vec::new();
        if let Some(user) = &query.user {
            // The subject index: this user's results only.
            let prefix = Key::new().str(self.job.as_str()).str("subject").str(user);
            let rows = self
                .store
                .scan(
                    Table::RUNS,
                    &KeyRange::prefix(prefix.into_bytes()),
                    usize::MAX,
                )
                .await
                .map_err(|e| Error::connector("reading the user history", e))?;
            for (key, _) in rows {
                let parts = Key::decode(&key).unwrap_or_default();
                let Some(run_id) = parts
                    .last()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                else {
                    continue;
                };
                if let Some(r) = self.user_result(&run_id, user).await?
                    && query.workflow.as_ref().is_none_or(|w| *w == r.workflow.id)
                    && query.time_ok(r.started_date_time)
                {
                    out.push(r);
                }
            }
            return Ok(out);
        }
        for run in self.runs(query).await? {
            out.extend(self.users_of_run(&run.id).await?);
        }
        Ok(out)
    }

    /// Writes the user and task results matching the query as CSV: one row per task
    /// processing result (a user without tasks gets one row with empty task columns).
    ///
    /// The columns follow the fields of Entra's history (user processing results with their
    /// task results) under the names its portal shows; see [`CSV_COLUMNS`].
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails, [`Error::Csv`] when writing fails.
    pub async fn export_csv<W: std::io::Write>(&self, query: &HistoryQuery, out: W) -> Result<()> {
        let results = self.user_results(query).await?;
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_COLUMNS)
            .map_err(|e| Error::Csv(e.to_string()))?;
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        for u in &results {
            let user_cols = [
                u.workflow.display_name.clone(),
                u.workflow.id.clone(),
                u.workflow_version.to_string(),
                u.run_id.clone(),
                match u.workflow_execution_type {
                    ExecutionType::Scheduled => "scheduled".to_owned(),
                    ExecutionType::OnDemand => "onDemand".to_owned(),
                },
                u.subject.id.clone(),
                u.subject_display_name.clone().unwrap_or_default(),
                u.subject_user_principal_name.clone().unwrap_or_default(),
                u.processing_status.as_str().to_owned(),
                time(Some(u.started_date_time)),
                time(u.completed_date_time),
                u.total_tasks_count.to_string(),
                u.failed_tasks_count.to_string(),
            ];
            let tasks: Vec<Option<&TaskProcessingResult>> = if u.task_processing_results.is_empty()
            {
                vec![None]
            } else {
                u.task_processing_results.iter().map(Some).collect()
            };
            for t in tasks {
                let mut row: Vec<String> = user_cols.to_vec();
                match t {
                    Some(t) => row.extend([
                        t.task.display_name.clone(),
                        t.task.task_definition_id.clone(),
                        t.processing_status.as_str().to_owned(),
                        time(t.started_date_time),
                        time(t.completed_date_time),
                        t.failure_reason.clone().unwrap_or_default(),
                    ]),
                    None => row.extend(std::iter::repeat_n(String::new(), 6)),
                }
                w.write_record(&row)
                    .map_err(|e| Error::Csv(e.to_string()))?;
            }
        }
        w.flush().map_err(|e| Error::Csv(e.to_string()))
    }
}

/// The columns of [`History::export_csv`]. Entra's portal exports its history (users, runs,
/// tasks views) as CSV; the reference does not list its exact headers, so these are the
/// fields of Graph's `userProcessingResult` and `taskProcessingResult` under readable names.
pub const CSV_COLUMNS: [&str; 19] = [
    "Workflow name",
    "Workflow ID",
    "Workflow version",
    "Run ID",
    "Workflow execution type",
    "User ID",
    "User display name",
    "User principal name",
    "User processing status",
    "User started (UTC)",
    "User completed (UTC)",
    "Total tasks",
    "Failed tasks",
    "Task name",
    "Task definition ID",
    "Task processing status",
    "Task started (UTC)",
    "Task completed (UTC)",
    "Failure reason",
];
