//! [`SyncEngine`]: a job bound to its source, target, state store and clock, and the entry
//! points — [`SyncEngine::run_cycle`] and [`SyncEngine::provision_on_demand`].

use std::sync::Arc;
use std::time::Duration;

use connectors::state::records::{Escrow, Intent, PendingReference, StagedDelete, job_type_prefix};
use connectors::state::{KeyRange, Lease, StateStoreExt, Table, Txn};
use connectors::{
    Clock, JobId, ObjectType, SourceConnector, StateStore, SystemClock, TargetConnector,
};
use scim_model::AttributePath;
use scoping::CompiledScopingFilter;
use serde::{Deserialize, Serialize};

use crate::hash::Fnv;
use crate::job::{Job, ObjectMapping};
use crate::log::{CycleReport, LogEntry};
use crate::{Error, Result};

/// The enterprise extension's URN, where the source's `manager` lives.
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// What a restart clears (Graph's `synchronizationJobRestartScope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ResetScope {
    /// Forget the watermarks: the next cycle imports and re-evaluates everything, keeping
    /// the links.
    Watermark,
    /// Forget the failed objects waiting for a retry.
    Escrows,
    /// Lift the quarantine.
    QuarantineState,
    /// All of the above, and the links, intents, held deletions and pending references.
    Full,
    /// Apply the disables and deletes held by the deletion threshold.
    ForceDeletes,
}

impl std::str::FromStr for ResetScope {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "watermark" => Ok(ResetScope::Watermark),
            "escrows" => Ok(ResetScope::Escrows),
            "quarantinestate" => Ok(ResetScope::QuarantineState),
            "full" => Ok(ResetScope::Full),
            "forcedeletes" => Ok(ResetScope::ForceDeletes),
            _ => Err(format!(
                "unknown reset scope {s:?} (Watermark, Escrows, QuarantineState, Full, ForceDeletes)"
            )),
        }
    }
}

/// How many provisioning log entries a [`CycleReport`](crate::CycleReport) holds unless
/// [`RunOptions::report_log_limit`] says otherwise: every entry of a cycle over a small
/// directory, a bounded part of one over millions (whose whole log is in the state store).
pub const DEFAULT_REPORT_LOG_LIMIT: usize = 10_000;

/// How to run one cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOptions {
    /// Compute every action the cycle would take and write nothing (Connect Sync's staging
    /// mode and "check pending exports").
    pub preview: bool,
    /// What to clear before the cycle (a restart).
    pub reset: Vec<ResetScope>,
    /// The most log entries the returned [`CycleReport`](crate::CycleReport) holds: the first
    /// ones written (default [`DEFAULT_REPORT_LOG_LIMIT`]). Every entry is written to the state
    /// store, queryable by cycle and object, whatever this says; the report counts the entries
    /// it leaves out in `log_omitted`. A cycle over millions of objects would otherwise hold
    /// its whole log in memory, several kilobytes an object, until the report is dropped.
    /// `0` leaves the log out of the report, `usize::MAX` keeps all of it. A preview writes
    /// nothing to the store, so [`RunOptions::preview`] keeps all of it by default.
    pub report_log_limit: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            preview: false,
            reset: Vec::new(),
            report_log_limit: DEFAULT_REPORT_LOG_LIMIT,
        }
    }
}

impl RunOptions {
    /// A normal cycle.
    pub fn new() -> Self {
        RunOptions::default()
    }

    /// A preview: nothing is written. Its report is the only record of what it found (a
    /// preview writes no log to the store), so it keeps every log entry unless a limit other
    /// than the default was set before.
    #[must_use]
    pub fn preview(mut self) -> Self {
        self.preview = true;
        if self.report_log_limit == DEFAULT_REPORT_LOG_LIMIT {
            self.report_log_limit = usize::MAX;
        }
        self
    }

    /// Leaves the log entries out of the report (a limit of 0, see
    /// [`RunOptions::report_log_limit`]).
    #[must_use]
    pub fn omit_log(self) -> Self {
        self.report_log_limit(0)
    }

    /// Keeps at most `limit` log entries in the report (see
    /// [`RunOptions::report_log_limit`]; `usize::MAX` keeps all).
    #[must_use]
    pub fn report_log_limit(mut self, limit: usize) -> Self {
        self.report_log_limit = limit;
        self
    }

    /// Clears `scope` before the cycle.
    #[must_use]
    pub fn reset(mut self, scope: ResetScope) -> Self {
        self.reset.push(scope);
        self
    }
}

/// Where a cycle is, for a progress display: called after each committed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The cycle's number.
    pub cycle: u64,
    /// The source object type of the batch just committed.
    pub object_type: ObjectType,
    /// Objects processed so far in this cycle (all types).
    pub processed: u64,
    /// The counts so far.
    pub summary: crate::log::Summary,
}

/// Called after a batch's exports and before the state commit that records them — the place
/// where a target that buffers its writes (a file, a transaction) makes them durable, so the
/// state never records an export the target could lose.
pub trait Checkpoint: Send + Sync + std::fmt::Debug {
    /// Makes the target's writes so far durable.
    ///
    /// # Errors
    ///
    /// Any error stops the cycle before the state commit (nothing is recorded that the
    /// target may not have).
    fn before_commit(&self) -> std::result::Result<(), String>;
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// One object mapping, compiled.
#[derive(Debug)]
pub(crate) struct TypeCtx {
    pub mapping: ObjectMapping,
    pub scope: CompiledScopingFilter,
    /// The target path written when a manager reference resolves, when the mappings carry
    /// the manager.
    pub manager_target: Option<AttributePath>,
    /// Whether the mappings carry group members (a mapping whose target is `members`).
    pub members: bool,
    /// Whether an expression calls `Redact` (only then are logged values checked for it).
    pub redacts: bool,
    /// Whether a mapping writes the target's core `active` attribute: then the mapping, not
    /// the engine, decides whether a linked object that came back into scope is enabled, and
    /// an update that turns the account off counts as a disable (see `cycle::item`).
    pub maps_active: bool,
    /// Each mapping's target attribute, as written and parsed (to read a create's values
    /// back for the log), in mapping order, each once.
    pub targets: Vec<(String, AttributePath)>,
    /// What an update compares, asked of the target when it reads a linked object
    /// ([`TargetConnector::get_attributes`]): the mapped target attributes (`members` among
    /// them when mapped) and `active`.
    pub compared: Vec<AttributePath>,
}

impl TypeCtx {
    pub(crate) fn source_type(&self) -> &ObjectType {
        &self.mapping.source_object_name
    }

    pub(crate) fn target_type(&self) -> &ObjectType {
        &self.mapping.target_object_name
    }
}

/// The attributes an update of a linked object reads from it: each mapped target attribute
/// (a group's `members` among them when a mapping carries them: they are diffed against the
/// desired members), and the core `active` of a type that has one (not a Group: an object
/// the engine disabled is enabled again; an update that turns it off is a disable).
fn compared(targets: &[(String, AttributePath)], active: bool) -> Vec<AttributePath> {
    let mut out: Vec<AttributePath> = targets.iter().map(|(_, p)| p.clone()).collect();
    let active_path = AttributePath::new("active");
    if active && !out.iter().any(|o| o.eq_ignore_case(&active_path)) {
        out.push(active_path);
    }
    out
}

/// A sync job bound to its connectors: runs cycles and provisions single objects on demand.
///
/// The engine knows its connectors only through the `connectors` traits. It holds no state
/// between calls other than what is in the [`StateStore`], so a process may be killed at any
/// instant and a new engine on the same store carries on: nothing is lost, nothing is created
/// twice.
pub struct SyncEngine {
    pub(crate) job_id: JobId,
    pub(crate) job: Job,
    pub(crate) config_hash: String,
    pub(crate) types: Vec<TypeCtx>,
    pub(crate) source: Arc<dyn SourceConnector>,
    pub(crate) target: Arc<dyn TargetConnector>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) holder: String,
    pub(crate) lease_ttl: Duration,
    pub(crate) registry: scim_model::SchemaRegistry,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) checkpoint: Option<Arc<dyn Checkpoint>>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("job_id", &self.job_id)
            .field("config_hash", &self.config_hash)
            .field("source", &self.source.name())
            .field("target", &self.target.name())
            .field("state", &self.state.name())
            .field("holder", &self.holder)
            .field("progress", &self.progress.is_some())
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// Binds a job to its connectors. The clock is the system clock until
    /// [`SyncEngine::with_clock`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJob`] when the job does not check (see [`Job::check`]).
    pub fn new(
        job_id: JobId,
        job: Job,
        source: Arc<dyn SourceConnector>,
        target: Arc<dyn TargetConnector>,
        state: Arc<dyn StateStore>,
    ) -> Result<Self> {
        job.check()?;
        let scopes = job.compiled_scopes()?;
        // Users before groups (so members resolve in the same cycle), otherwise the job's
        // order.
        let mut ordered: Vec<(ObjectMapping, CompiledScopingFilter)> =
            job.object_mappings.iter().cloned().zip(scopes).collect();
        ordered.sort_by_key(|(m, _)| m.source_object_name == ObjectType::GROUP);
        let types = ordered
            .into_iter()
            .map(|(mut mapping, scope)| {
                // A create starts from an empty resource of the target type's core schema.
                if mapping.target_object_name == ObjectType::GROUP {
                    mapping.attribute_mappings = mapping
                        .attribute_mappings
                        .with_target_schema("urn:ietf:params:scim:schemas:core:2.0:Group");
                }
                let manager_target = manager_target(&mapping);
                let members = mapping
                    .attribute_mappings
                    .mappings()
                    .any(|m| m.target_attribute.eq_ignore_ascii_case("members"));
                let redacts = mapping
                    .attribute_mappings
                    .mappings()
                    .any(|m| match &m.source {
                        scoping::MappingSource::Expression { expression } => {
                            scoping::Expression::parse(expression).is_ok_and(|e| e.calls("Redact"))
                        }
                        _ => false,
                    });
                let maps_active = mapping.attribute_mappings.mappings().any(|m| {
                    AttributePath::parse(&m.target_attribute).is_ok_and(|p| is_core_active(&p))
                });
                let mut targets: Vec<(String, AttributePath)> = Vec::new();
                for m in mapping.attribute_mappings.mappings() {
                    if targets.iter().any(|(n, _)| n == &m.target_attribute) {
                        continue;
                    }
                    if let Ok(p) = AttributePath::parse(&m.target_attribute) {
                        targets.push((m.target_attribute.clone(), p));
                    }
                }
                let compared = compared(&targets, mapping.target_object_name != ObjectType::GROUP);
                TypeCtx {
                    mapping,
                    scope,
                    manager_target,
                    members,
                    redacts,
                    maps_active,
                    targets,
                    compared,
                }
            })
            .collect();
        let config_hash = config_hash(&job);
        Ok(SyncEngine {
            job_id,
            job,
            config_hash,
            types,
            source,
            target,
            state,
            clock: Arc::new(SystemClock),
            holder: format!("idflow-sync-{}", std::process::id()),
            lease_ttl: Duration::from_secs(600),
            registry: scim_model::SchemaRegistry::default(),
            progress: None,
            checkpoint: None,
        })
    }

    /// Uses `clock` for time (escrow retries, quarantine, log times).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names this engine's holder of the job's lease (default: `idflow-sync-<pid>`).
    #[must_use]
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Uses `registry` (with the host's custom extension schemas registered) to build the
    /// target resources of creates and to read values for the log.
    #[must_use]
    pub fn with_registry(mut self, registry: scim_model::SchemaRegistry) -> Self {
        for t in &mut self.types {
            t.mapping.attribute_mappings = t
                .mapping
                .attribute_mappings
                .clone()
                .with_registry(registry.clone());
        }
        self.registry = registry;
        self
    }

    /// Calls `f` after each committed batch (for a progress display on long cycles).
    #[must_use]
    pub fn with_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Calls `checkpoint` after each batch's exports and before the state commit that
    /// records them (see [`Checkpoint`]).
    #[must_use]
    pub fn with_checkpoint(mut self, checkpoint: Arc<dyn Checkpoint>) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// When the next cycle is due, for a host's scheduler: `interval` after `last_run`
    /// normally; while the job is quarantined, the quarantine's `nextAttempt` (the delay
    /// doubles each quarantined cycle, up to once a day, as Entra's), except for
    /// `TooManyDeletes`, which does not slow the job down (creates and updates still flow).
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the job's state cannot be read.
    pub async fn next_cycle_due(
        &self,
        last_run: chrono::DateTime<chrono::Utc>,
        interval: Duration,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        let st = crate::state::JobState::load(self.state.as_ref(), &self.job_id).await?;
        let normal =
            last_run + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
        Ok(match st.quarantine {
            Some(q) if q.reason != crate::log::QuarantineReason::TooManyDeletes => {
                q.next_attempt.max(normal)
            }
            _ => normal,
        })
    }

    /// The job's quarantine, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the job's state cannot be read.
    pub async fn quarantine(&self) -> Result<Option<crate::log::Quarantine>> {
        let st = crate::state::JobState::load(self.state.as_ref(), &self.job_id).await?;
        Ok(st.quarantine)
    }

    /// The job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job's id.
    pub fn job_id(&self) -> &JobId {
        &self.job_id
    }

    /// The hash of the scoping filters and mappings the stored state is bound to; a change
    /// makes the next cycle a full one.
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    /// Runs one cycle.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the cycle had to stop: the source could not be read, the
    /// state store failed, or the lease was lost. Work committed before stays committed and
    /// the watermark never passes work that was not done, so running again is always safe.
    /// A fatal target error is not an `Err`: it ends the cycle with the job quarantined.
    pub async fn run_cycle(&self, options: &RunOptions) -> Result<CycleReport> {
        crate::cycle::run(self, options).await
    }

    /// Runs one source object through the same path as a cycle (import, scope, match,
    /// action, references), now, and returns its log entries. A held deletion of this object
    /// is applied: on demand is a person's explicit request.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownObjectType`] when the job does not map `object_type`;
    /// [`Error::Connector`] as for [`SyncEngine::run_cycle`]. An object the source does not
    /// have is processed as deleted at the source.
    pub async fn provision_on_demand(
        &self,
        object_type: &ObjectType,
        id: &connectors::SourceId,
    ) -> Result<Vec<LogEntry>> {
        crate::cycle::on_demand(self, object_type, id).await
    }

    /// The log entries of one cycle (by number), oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails or an entry cannot be read.
    pub async fn log_of_cycle(&self, cycle: u64) -> Result<Vec<LogEntry>> {
        let mut out: Vec<LogEntry> = Vec::new();
        loop {
            let after = if out.is_empty() {
                None
            } else {
                Some(out.len() as u64 - 1)
            };
            let page: Vec<LogEntry> = self
                .state
                .log_of_cycle(&self.job_id, cycle, after, 1000)
                .await
                .map_err(|e| Error::connector("reading the provisioning log", e))?;
            let done = page.len() < 1000;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// The log entries of one source object, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails or an entry cannot be read.
    pub async fn log_of_object(
        &self,
        object_type: &ObjectType,
        id: &connectors::SourceId,
    ) -> Result<Vec<LogEntry>> {
        self.state
            .log_of_object(&self.job_id, object_type, id, 100_000)
            .await
            .map_err(|e| Error::connector("reading the provisioning log", e))
    }

    /// The objects waiting in escrow for a retry, of one source object type.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn escrows(&self, object_type: &ObjectType) -> Result<Vec<Escrow>> {
        self.records(Table::ESCROWS, object_type).await
    }

    /// The disables and deletes held by the deletion threshold, of one source object type.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn staged_deletes(&self, object_type: &ObjectType) -> Result<Vec<StagedDelete>> {
        self.records(Table::STAGED_DELETES, object_type).await
    }

    /// The references waiting for their objects, of one source object type.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn pending_references(
        &self,
        object_type: &ObjectType,
    ) -> Result<Vec<PendingReference>> {
        self.records(Table::PENDING_REFERENCES, object_type).await
    }

    /// The creates started and not yet confirmed, of one source object type.
    ///
    /// # Errors
    ///
    /// [`Error::Connector`] when the store fails.
    pub async fn intents(&self, object_type: &ObjectType) -> Result<Vec<Intent>> {
        self.records(Table::INTENTS, object_type).await
    }

    pub(crate) async fn records<T: serde::de::DeserializeOwned + Send>(
        &self,
        table: Table,
        object_type: &ObjectType,
    ) -> Result<Vec<T>> {
        let mut range = KeyRange::prefix(job_type_prefix(&self.job_id, object_type).into_bytes());
        let mut out = Vec::new();
        loop {
            let rows = self
                .state
                .scan_json::<T>(table, &range, 1000)
                .await
                .map_err(|e| Error::connector(format!("reading {}", table.name()), e))?;
            let done = rows.len() < 1000;
            let last = rows.last().map(|(k, _)| k.clone());
            out.extend(rows.into_iter().map(|(_, v)| v));
            match (done, last) {
                (false, Some(last)) => range = range.after(last),
                _ => return Ok(out),
            }
        }
    }

    pub(crate) async fn acquire(&self) -> Result<Lease> {
        self.state
            .acquire_lease(&self.job_id, &self.holder, self.clock.now(), self.lease_ttl)
            .await
            .map_err(|e| Error::connector("acquiring the job's lease", e))
    }

    pub(crate) async fn commit(&self, txn: Txn, during: &str) -> Result<()> {
        if txn.is_empty() {
            return Ok(());
        }
        txn.commit(self.state.as_ref())
            .await
            .map_err(|e| Error::connector(during.to_owned(), e))
    }

    pub(crate) fn type_index(&self, source_type: &ObjectType) -> Option<usize> {
        self.types
            .iter()
            .position(|t| t.source_type() == source_type)
    }
}

/// The target path of the mapping that carries the manager: a mapping whose source reads
/// `manager` (a Direct path) and whose target names `manager`.
fn manager_target(mapping: &ObjectMapping) -> Option<AttributePath> {
    mapping
        .attribute_mappings
        .mappings()
        .find(|m| {
            let target = m.target_attribute.to_ascii_lowercase();
            target.ends_with(":manager")
                || target.ends_with(":manager.value")
                || target == "manager"
                || target == "manager.value"
        })
        .and_then(|m| AttributePath::parse(&m.target_attribute).ok())
}

/// Whether `path` is the core `active` attribute (plain, or qualified by the core User
/// schema's URN): the attribute a SCIM target's soft delete turns off.
pub(crate) fn is_core_active(path: &AttributePath) -> bool {
    path.name().eq_ignore_ascii_case("active")
        && path.sub_attribute().is_none()
        && path.filter().is_none()
        && path
            .urn()
            .is_none_or(|u| u.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User"))
}

fn config_hash(job: &Job) -> String {
    let mut h = Fnv::new();
    for m in &job.object_mappings {
        h = h
            .serialized(&m.source_object_name)
            .serialized(&m.target_object_name)
            .serialized(&m.scope)
            .serialized(&m.attribute_mappings);
    }
    h.hex()
}
