//! One cycle: load the job's state, resolve open intents, read the source (changes since the
//! watermark, or a full import), process objects in batches, resolve references, retry due
//! escrows, apply or hold deletions, evaluate quarantine.

mod deletes;
mod item;
mod match_index;
mod read;
mod refs;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use connectors::state::records::{Escrow, Intent, Link, LogRef, PendingReference, StagedDelete};
use connectors::state::{Lease, StateStoreExt, Table, Txn};
use connectors::{ObjectType, SourceId, Watermark};
use indexmap::IndexSet;
use scim_model::Resource;

use crate::engine::{ResetScope, RunOptions, SyncEngine};
use crate::log::{
    Action, CycleInfo, CycleKind, CycleReport, Identity, LogEntry, ModifiedProperty, Quarantine,
    QuarantineReason, Status, StatusInfo, Step, Summary,
};
use crate::state::JobState;
use crate::{Error, Result};

pub(crate) use item::Work;

/// Locks a mutex, ignoring poisoning (a panicking task cannot leave these maps half-changed:
/// each update is a single insert or remove).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A (type index, source id) key.
pub(crate) type ObjKey = (usize, SourceId);

/// One object to process.
#[derive(Debug)]
pub(crate) struct Item {
    pub ti: usize,
    pub id: SourceId,
    pub work: Work,
}

/// A state change an object's processing asks for; applied in the batch's commit.
#[derive(Debug)]
pub(crate) enum Write {
    Link(Link),
    /// A link whose target did not change: only its record is rewritten, not the reverse
    /// index.
    LinkUpdate(Link),
    Unlink(Link),
    DropIntent,
    Escrow(Escrow),
    DropEscrow,
    Stage(StagedDelete),
    Unstage,
    /// A pending reference's new state; `previous` is what it referred to before (for the
    /// index by referred object).
    Pending {
        record: PendingReference,
        previous: Vec<SourceId>,
    },
    DropPending {
        attribute: String,
        previous: Vec<SourceId>,
    },
    /// The object got its link in this batch: references waiting for it are resolved.
    Linked,
    /// The fingerprint of an object that was skipped without a link (out of scope, creates
    /// not allowed), so a diffed full import does not log it again while it is unchanged.
    Seen(String),
}

/// The fingerprints of source objects skipped without a link (see [`Write::Seen`]).
pub(crate) const SEEN: Table = Table::new("unlinked_fingerprints");

/// Pending references indexed by the object they wait for: (job, referred source id, holder
/// type, holder id, attribute) → `null`. So a newly linked object finds the references
/// waiting for it without scanning every pending reference.
pub(crate) const PENDING_BY_REFERENCED: Table = Table::new("pending_by_referenced");

/// Objects linked and not yet checked for references waiting for them: (job, type, source
/// id) → `null`. Written with the link, removed once resolution ran, so a crash in between
/// loses nothing.
pub(crate) const RESOLVE_QUEUE: Table = Table::new("resolve_queue");

/// The key of a pending reference in [`PENDING_BY_REFERENCED`].
pub(crate) fn by_referenced_key(
    job: &connectors::JobId,
    referenced: &SourceId,
    holder_type: &ObjectType,
    holder: &SourceId,
    attribute: &str,
) -> connectors::state::Key {
    connectors::state::Key::new()
        .str(job.as_str())
        .str(referenced.as_str())
        .str(holder_type.as_str())
        .str(holder.as_str())
        .str(attribute)
}

/// What an object's processing counts as in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tally {
    None,
    Created,
    Updated,
    Reconciled,
    Disabled,
    Deleted,
    Skipped,
    Failed,
    Staged,
}

/// The result of processing one object.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub ti: usize,
    pub id: SourceId,
    pub writes: Vec<Write>,
    pub log: Option<LogEntry>,
    pub tally: Tally,
    /// A job-fatal error: the cycle stops after this batch and the job is quarantined.
    pub fatal: Option<String>,
    /// A failure on a reference (counted apart by the quarantine rules).
    pub reference_failure: bool,
}

impl Outcome {
    pub(crate) fn new(ti: usize, id: SourceId) -> Self {
        Outcome {
            ti,
            id,
            writes: Vec::new(),
            log: None,
            tally: Tally::None,
            fatal: None,
            reference_failure: false,
        }
    }
}

/// Everything one cycle shares between its tasks.
pub(crate) struct Cx<'e> {
    pub eng: &'e SyncEngine,
    pub number: u64,
    pub id: String,
    pub kind: CycleKind,
    pub preview: bool,
    /// The most log entries the report holds.
    pub report_log_limit: usize,
    pub force_deletes: bool,
    pub now: DateTime<Utc>,
    pub lease: Mutex<Option<Lease>>,
    /// The job's state with this cycle's number, not written yet: it goes with the cycle's
    /// first commit instead of a commit of its own (a cycle that dies before any commit wrote
    /// nothing under its number, so the next one may take the number again).
    pub start: Mutex<Option<JobState>>,
    pub escrows: Mutex<BTreeMap<ObjKey, Escrow>>,
    pub staged: Mutex<BTreeMap<ObjKey, StagedDelete>>,
    /// References that started waiting in this cycle (reported at its end if still waiting).
    pub new_pending: Mutex<BTreeMap<(usize, SourceId, String), PendingReference>>,
    pub intents: Mutex<BTreeMap<ObjKey, Intent>>,
    /// Objects whose unconfirmed create this cycle found in the target and linked. Their
    /// intent stays stored until an outcome of theirs is committed: their source changes may
    /// be behind the watermark already, so a crash between the link and that outcome must
    /// leave them to be found (and processed) again, not linked and forgotten.
    pub confirmed: Mutex<BTreeSet<ObjKey>>,
    /// Whether the job may hold stored pending references: `false` only while none was
    /// stored when the cycle began and none has been written since, so that an object's
    /// update need not look for one (most cycles have none).
    pub pending_stored: AtomicBool,
    /// Objects processed this cycle, per type (escrow retries skip them).
    pub touched: Mutex<Vec<IndexSet<SourceId>>>,
    /// Objects found out of scope this cycle (references to them are reported as such
    /// without reading the source again).
    pub out_of_scope: Mutex<BTreeSet<ObjKey>>,
    /// Target ids matched in the current batch (two source objects never claim one).
    pub claimed: Mutex<BTreeSet<(usize, String)>>,
    pub out: Mutex<Out>,
    pub fatal: Mutex<Option<String>>,
    /// Whether the cycle stopped early (a fatal error, an incomplete import).
    pub incomplete: Mutex<bool>,
    pub notes: Mutex<Vec<String>>,
    /// Per object type, the target's matching values listed at the start of an initial or
    /// full import (see [`match_index`]).
    pub match_index: Mutex<Vec<Option<Arc<match_index::MatchIndex>>>>,
    /// The job's `exportConcurrency` slots, shared by the batches of a [`item::Pipeline`]
    /// whose exports overlap.
    pub export_slots: tokio::sync::Semaphore,
}

/// The cycle's results so far.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub log: Vec<LogEntry>,
    /// Entries left out of `log` by the report's limit.
    pub log_omitted: u64,
    pub summary: Summary,
    pub seq: u64,
    pub events: u64,
    pub failures: u64,
    pub reference_failures: u64,
    pub watermarks: Vec<(usize, Watermark)>,
}

impl Cx<'_> {
    pub(crate) fn ctx(&self) -> scoping::EvalContext<'static> {
        scoping::EvalContext::new(self.now)
    }

    pub(crate) fn lease(&self) -> Option<Lease> {
        lock(&self.lease).clone()
    }

    /// A transaction under the cycle's lease; it carries the cycle's start (see
    /// [`Cx::start`]) until a commit has written it.
    pub(crate) fn txn(&self) -> Result<Txn> {
        let mut txn = Txn::new(self.lease());
        if let Some(st) = lock(&self.start).as_ref() {
            st.write(&mut txn, &self.eng.job_id)?;
        }
        Ok(txn)
    }

    /// Commits a transaction of [`Cx::txn`]; once one has, the cycle's start is written.
    pub(crate) async fn commit(&self, txn: Txn, during: &str) -> Result<()> {
        self.eng.commit(txn, during).await?;
        lock(&self.start).take();
        Ok(())
    }

    /// Renews the lease when half its time has passed.
    pub(crate) async fn renew_lease(&self) -> Result<()> {
        if self.preview {
            return Ok(());
        }
        let half = chrono::Duration::from_std(self.eng.lease_ttl / 2).unwrap_or_default();
        let due = lock(&self.lease)
            .as_ref()
            .is_none_or(|l| self.eng.clock.now() + half >= l.expires);
        if due {
            let lease = self.eng.acquire().await?;
            *lock(&self.lease) = Some(lease);
        }
        Ok(())
    }

    pub(crate) fn entry(
        &self,
        ti: usize,
        id: &SourceId,
        action: Action,
        status: Status,
    ) -> LogEntry {
        LogEntry {
            cycle_id: self.id.clone(),
            activity_date_time: self.eng.clock.now(),
            source_identity: Identity {
                id: id.to_string(),
                identity_type: Some(self.eng.types[ti].source_type().to_string()),
                display_name: None,
            },
            target_identity: Identity {
                id: String::new(),
                identity_type: Some(self.eng.types[ti].target_type().to_string()),
                display_name: None,
            },
            action,
            status,
            provisioning_steps: Vec::new(),
            modified_properties: Vec::new(),
            status_info: None,
            reconciled: false,
        }
    }

    /// Applies a batch's outcomes: one commit with their writes, their log entries and (when
    /// no outcome was fatal) the watermark that covers them.
    pub(crate) async fn commit_outcomes(
        &self,
        outcomes: Vec<Outcome>,
        watermark: Option<(usize, Watermark)>,
    ) -> Result<()> {
        let mut txn = self.txn()?;
        let job = &self.eng.job_id;
        // A batch before this one that ended fatally (one that overlapped it, see
        // `item::Pipeline`) holds the watermark back too: its objects were not all processed.
        let watermark = watermark.filter(|_| !self.is_fatal());
        let mut fatal = None;
        {
            let mut out = lock(&self.out);
            for mut o in outcomes {
                let ty = self.eng.types[o.ti].source_type().clone();
                let key = (o.ti, o.id.clone());
                // An entry of an object whose link this outcome writes is reached through the
                // link (no index entry: one random insert fewer per update); a chain whose
                // link is deleted stays reachable through the index.
                let logging = !self.preview && o.log.is_some();
                let at = LogRef::new(self.number, out.seq + 1);
                let unlinked_head = o.writes.iter().rev().find_map(|w| match w {
                    Write::Unlink(l) => l.log_head,
                    _ => None,
                });
                let mut chained = false;
                if let (true, Some(entry)) = (logging, &o.log)
                    && let Some(link) = o.writes.iter_mut().rev().find_map(|w| match w {
                        Write::Link(l) | Write::LinkUpdate(l) => Some(l),
                        _ => None,
                    })
                {
                    txn.append_linked_log(job, at, link, unlinked_head, entry)
                        .map_err(|e| Error::connector("writing the provisioning log", e))?;
                    chained = true;
                }
                if !logging
                    && !self.preview
                    && let Some(head) = unlinked_head
                {
                    txn.index_log(job, &ty, &o.id, head);
                }
                for w in o.writes {
                    apply_write(self, &mut txn, &ty, &key, w)?;
                }
                // A create confirmed this cycle is settled by its first outcome (an escrow
                // or a staged delete carries on what a failure or the threshold left).
                if lock(&self.confirmed).remove(&key) {
                    apply_write(self, &mut txn, &ty, &key, Write::DropIntent)?;
                }
                out.events += 1;
                match o.tally {
                    Tally::None => {}
                    Tally::Created => out.summary.created += 1,
                    Tally::Updated => out.summary.updated += 1,
                    Tally::Reconciled => {
                        out.summary.updated += 1;
                        out.summary.reconciled += 1;
                    }
                    Tally::Disabled => out.summary.disabled += 1,
                    Tally::Deleted => out.summary.deleted += 1,
                    Tally::Skipped => out.summary.skipped += 1,
                    Tally::Failed => {
                        out.summary.failed += 1;
                        out.failures += 1;
                        if o.reference_failure {
                            out.reference_failures += 1;
                        }
                    }
                    Tally::Staged => {}
                }
                if let Some(entry) = o.log {
                    out.seq += 1;
                    if logging && !chained {
                        let log = |e| Error::connector("writing the provisioning log", e);
                        txn.append_log(job, self.number, out.seq, Some((&ty, &o.id)), &entry)
                            .map_err(log)?;
                        if let Some(head) = unlinked_head {
                            txn.put_log_previous(job, at, head).map_err(log)?;
                        }
                    }
                    if out.log.len() < self.report_log_limit {
                        out.log.push(entry);
                    } else {
                        out.log_omitted += 1;
                    }
                }
                if o.fatal.is_some() {
                    fatal = o.fatal;
                }
            }
            if let (Some((ti, w)), None) = (&watermark, &fatal) {
                out.watermarks.push((*ti, w.clone()));
            }
        }
        if let (Some((ti, w)), None) = (watermark, &fatal) {
            let record = connectors::state::records::WatermarkRecord::new(
                w,
                self.eng.config_hash.clone(),
                self.now,
            );
            txn.put_watermark(job, self.eng.types[ti].source_type(), &record)
                .map_err(|e| Error::connector("writing the watermark", e))?;
        }
        if let Some(f) = fatal {
            let mut slot = lock(&self.fatal);
            if slot.is_none() {
                *slot = Some(f);
            }
        }
        if self.preview {
            return Ok(());
        }
        if let Some(checkpoint) = &self.eng.checkpoint {
            checkpoint
                .before_commit()
                .map_err(|message| Error::Checkpoint { message })?;
        }
        self.commit(txn, "committing a batch").await
    }

    /// Tells the progress callback, if any, where the cycle is.
    pub(crate) fn report_progress(&self, ti: usize) {
        if let Some(f) = &self.eng.progress {
            let (processed, summary) = {
                let out = lock(&self.out);
                (out.events, out.summary)
            };
            f(&crate::engine::Progress {
                cycle: self.number,
                object_type: self.eng.types[ti].source_type().clone(),
                processed,
                summary,
            });
        }
    }

    pub(crate) fn is_fatal(&self) -> bool {
        lock(&self.fatal).is_some()
    }
}

/// Applies one write to the transaction and to the cycle's in-memory view.
fn apply_write(cx: &Cx<'_>, txn: &mut Txn, ty: &ObjectType, key: &ObjKey, w: Write) -> Result<()> {
    let job = &cx.eng.job_id;
    let store = |e| Error::connector("writing a batch", e);
    match w {
        Write::Link(link) => txn.put_link(job, ty, &link).map_err(store)?,
        Write::LinkUpdate(link) => {
            let k = connectors::state::records::object_key(job, ty, link.source_id.as_str());
            txn.put_json(Table::LINKS, k, &link).map_err(store)?;
        }
        Write::Unlink(link) => txn.delete_link(job, ty, &link),
        Write::DropIntent => {
            // `cx.intents` holds every stored intent of the job (loaded at the start of the
            // cycle, added to as creates are recorded, under the job's lease), so an object
            // with none in it has none in the store: no delete to write (every update would
            // otherwise search the intents table for a key that is not there).
            if lock(&cx.intents).remove(key).is_some() {
                txn.delete_intent(job, ty, &key.1);
            }
        }
        Write::Escrow(escrow) => {
            txn.put_escrow(job, ty, &escrow).map_err(store)?;
            lock(&cx.escrows).insert(key.clone(), escrow);
        }
        Write::DropEscrow => {
            if lock(&cx.escrows).remove(key).is_some() {
                txn.delete_escrow(job, ty, &key.1);
            }
        }
        Write::Stage(staged) => {
            txn.put_staged_delete(job, ty, &staged).map_err(store)?;
            lock(&cx.staged).insert(key.clone(), staged);
        }
        Write::Unstage => {
            if lock(&cx.staged).remove(key).is_some() {
                txn.delete_staged_delete(job, ty, &key.1);
            }
        }
        Write::Pending { record, previous } => {
            cx.pending_stored
                .store(true, std::sync::atomic::Ordering::Relaxed);
            txn.put_pending_reference(job, ty, &record).map_err(store)?;
            let before: BTreeSet<&SourceId> = previous.iter().collect();
            let after: BTreeSet<&SourceId> = record.referenced.iter().collect();
            for gone in before.difference(&after) {
                txn.delete(
                    PENDING_BY_REFERENCED,
                    by_referenced_key(job, gone, ty, &key.1, &record.attribute),
                );
            }
            for new in after.difference(&before) {
                txn.put_json(
                    PENDING_BY_REFERENCED,
                    by_referenced_key(job, new, ty, &key.1, &record.attribute),
                    &(),
                )
                .map_err(store)?;
            }
            let k = (key.0, key.1.clone(), record.attribute.clone());
            let mut fresh = lock(&cx.new_pending);
            if previous.is_empty() || fresh.contains_key(&k) {
                fresh.insert(k, record);
            }
        }
        Write::DropPending {
            attribute,
            previous,
        } => {
            txn.delete_pending_reference(job, ty, &key.1, &attribute);
            for gone in &previous {
                txn.delete(
                    PENDING_BY_REFERENCED,
                    by_referenced_key(job, gone, ty, &key.1, &attribute),
                );
            }
            lock(&cx.new_pending).remove(&(key.0, key.1.clone(), attribute));
        }
        Write::Seen(fp) => {
            let key = connectors::state::records::object_key(job, ty, key.1.as_str());
            txn.put_json(SEEN, key, &fp).map_err(store)?;
        }
        // Initial and full cycles resolve every waiting reference in one pass (see
        // `refs::resolve`), so only delta cycles queue their new links.
        Write::Linked if cx.kind == CycleKind::Delta => {
            let k = connectors::state::records::object_key(job, ty, key.1.as_str());
            txn.put_json(RESOLVE_QUEUE, k, &()).map_err(store)?;
        }
        Write::Linked => {}
    }
    Ok(())
}

/// Runs one cycle (see [`SyncEngine::run_cycle`]).
pub(crate) async fn run(eng: &SyncEngine, options: &RunOptions) -> Result<CycleReport> {
    let started = Instant::now();
    let cx = begin(eng, options).await?;
    if !cx.preview {
        resolve_intents(&cx).await?;
    }
    for ti in 0..eng.types.len() {
        if cx.is_fatal() {
            break;
        }
        match read::read_type(&cx, ti).await {
            Ok(()) => {}
            // A fatal source error (bad credentials) ends the cycle quarantined, not failed.
            Err(_) if cx.is_fatal() => break,
            Err(e) => return Err(e),
        }
        refs::resolve(&cx, None).await?;
    }
    if !cx.is_fatal() {
        retry_escrows(&cx).await?;
        refs::resolve(&cx, None).await?;
        refs::report_unresolved(&cx).await?;
        deletes::apply_staged(&cx, None).await?;
    }
    finish(cx, started).await
}

/// Provisions one object on demand (see [`SyncEngine::provision_on_demand`]).
pub(crate) async fn on_demand(
    eng: &SyncEngine,
    object_type: &ObjectType,
    id: &SourceId,
) -> Result<Vec<LogEntry>> {
    let ti = eng
        .type_index(object_type)
        .ok_or_else(|| Error::UnknownObjectType(object_type.clone()))?;
    // The log is what provisioning on demand answers: all of it.
    let cx = begin(eng, &RunOptions::new().report_log_limit(usize::MAX)).await?;
    resolve_intents(&cx).await?;
    let resource = read::with_retries(&cx, || eng.source.get(object_type, id))
        .await
        .map_err(|e| Error::connector(format!("reading {object_type} {id} from the source"), e))?;
    let work = match resource {
        Some(r) => Work::Upsert(r),
        None => Work::Deleted("the object does not exist in the source".to_owned()),
    };
    let item = Item {
        ti,
        id: id.clone(),
        work,
    };
    item::process_batch(&cx, vec![item], None).await?;
    refs::resolve(&cx, Some((ti, id))).await?;
    deletes::apply_staged(&cx, Some((ti, id))).await?;
    let report = finish(cx, Instant::now()).await?;
    Ok(report.log)
}

/// Before a full reset clears the links: indexes each link's newest log entry under its object,
/// so the entries chained from the link stay queryable by object
/// ([`StateStoreExt::log_of_object`]). Committed a page at a time ahead of the reset (an index
/// entry of an entry already reachable changes nothing if the reset does not follow).
async fn keep_log_chains(eng: &SyncEngine, lease: Option<&Lease>) -> Result<()> {
    const PAGE: usize = 1_000;
    let read = |e| Error::connector("reading links", e);
    for t in &eng.types {
        let ty = t.source_type();
        let mut after: Option<SourceId> = None;
        loop {
            let links = eng
                .state
                .links(&eng.job_id, ty, after.as_ref(), PAGE)
                .await
                .map_err(read)?;
            let mut txn = Txn::new(lease.cloned());
            for l in &links {
                if let Some(head) = l.log_head {
                    txn.index_log(&eng.job_id, ty, &l.source_id, head);
                }
            }
            eng.commit(txn, "indexing the log before a full reset")
                .await?;
            match links.last() {
                Some(l) if links.len() == PAGE => after = Some(l.source_id.clone()),
                _ => break,
            }
        }
    }
    Ok(())
}

/// Loads the job's state, applies resets, numbers the cycle and loads the per-object records.
async fn begin<'e>(eng: &'e SyncEngine, options: &RunOptions) -> Result<Cx<'e>> {
    let preview = options.preview;
    let lease = if preview {
        None
    } else {
        Some(eng.acquire().await?)
    };
    let mut st = JobState::load(eng.state.as_ref(), &eng.job_id).await?;
    if !preview && options.reset.contains(&ResetScope::Full) {
        keep_log_chains(eng, lease.as_ref()).await?;
    }
    let mut txn = Txn::new(lease.clone());
    let job = &eng.job_id;
    let mut force_deletes = false;
    for scope in &options.reset {
        match scope {
            ResetScope::Watermark => {
                clear_watermarks(eng, &mut txn);
                st.completed = false;
            }
            ResetScope::Escrows => txn.clear_job_table(job, Table::ESCROWS),
            ResetScope::QuarantineState => st.quarantine = None,
            ResetScope::ForceDeletes => force_deletes = true,
            ResetScope::Full => {
                for table in [
                    Table::WATERMARKS,
                    Table::LINKS,
                    Table::LINKS_BY_TARGET,
                    Table::INTENTS,
                    Table::ESCROWS,
                    Table::STAGED_DELETES,
                    Table::PENDING_REFERENCES,
                    SEEN,
                    PENDING_BY_REFERENCED,
                    RESOLVE_QUEUE,
                ] {
                    txn.clear_job_table(job, table);
                }
                st.completed = false;
                st.quarantine = None;
            }
        }
    }
    if st.config_hash.as_deref() != Some(eng.config_hash.as_str()) {
        // A changed scoping filter or mapping: the watermarks mean nothing any more (Entra
        // clears the watermark); links stay, so nothing is created twice.
        clear_watermarks(eng, &mut txn);
        st.completed = false;
        st.config_hash = Some(eng.config_hash.clone());
    }
    let kind = if !st.ever_completed {
        CycleKind::Initial
    } else if !st.completed {
        CycleKind::Full
    } else {
        CycleKind::Delta
    };
    st.cycles += 1;
    let number = st.cycles;
    let mut start = None;
    if !preview {
        if txn.is_empty() {
            start = Some(st.clone());
        } else {
            st.write(&mut txn, job)?;
            eng.commit(txn, "starting the cycle").await?;
        }
    }
    let now = eng.clock.now();
    let cx = Cx {
        eng,
        number,
        id: format!("{}-{number}", eng.job_id),
        kind,
        preview,
        report_log_limit: options.report_log_limit,
        force_deletes,
        now,
        lease: Mutex::new(lease),
        start: Mutex::new(start),
        escrows: Mutex::new(BTreeMap::new()),
        staged: Mutex::new(BTreeMap::new()),
        new_pending: Mutex::new(BTreeMap::new()),
        intents: Mutex::new(BTreeMap::new()),
        confirmed: Mutex::new(BTreeSet::new()),
        pending_stored: AtomicBool::new(true),
        touched: Mutex::new(vec![IndexSet::new(); eng.types.len()]),
        claimed: Mutex::new(BTreeSet::new()),
        out_of_scope: Mutex::new(BTreeSet::new()),
        out: Mutex::new(Out::default()),
        fatal: Mutex::new(None),
        incomplete: Mutex::new(false),
        notes: Mutex::new(Vec::new()),
        match_index: Mutex::new(vec![None; eng.types.len()]),
        export_slots: tokio::sync::Semaphore::new(
            eng.job
                .export_concurrency
                .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
        ),
    };
    // Preview after a reset shows what the reset would bring; the reset itself is not
    // written, so preview reads what is stored.
    for (ti, t) in eng.types.iter().enumerate() {
        let ty = t.source_type();
        for e in eng.records::<Escrow>(Table::ESCROWS, ty).await? {
            lock(&cx.escrows).insert((ti, e.source_id.clone()), e);
        }
        for s in eng
            .records::<StagedDelete>(Table::STAGED_DELETES, ty)
            .await?
        {
            lock(&cx.staged).insert((ti, s.source_id.clone()), s);
        }
        for i in eng.records::<Intent>(Table::INTENTS, ty).await? {
            lock(&cx.intents).insert((ti, i.source_id.clone()), i);
        }
    }
    let prefix = connectors::state::records::job_prefix(&eng.job_id);
    let pending = eng
        .state
        .scan(
            Table::PENDING_REFERENCES,
            &connectors::state::KeyRange::prefix(prefix.into_bytes()),
            1,
        )
        .await
        .map_err(|e| Error::connector("reading pending references", e))?;
    cx.pending_stored
        .store(!pending.is_empty(), std::sync::atomic::Ordering::Relaxed);
    Ok(cx)
}

fn clear_watermarks(eng: &SyncEngine, txn: &mut Txn) {
    for t in &eng.types {
        txn.clear_watermark(&eng.job_id, t.source_type());
    }
}

/// Resolves the creates a crashed run left unconfirmed: found by their key (or, when no
/// object has it, by their matching values; one object to one intent) they become links and the object is processed again at once, its intent
/// kept until that outcome is committed (see [`Cx::confirmed`]); certainly absent they are
/// dropped, and the object is processed again (its change is re-read or its escrow
/// retried); unknown, they wait.
async fn resolve_intents(cx: &Cx<'_>) -> Result<()> {
    let intents: Vec<(ObjKey, Intent)> = lock(&cx.intents)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if intents.is_empty() {
        return Ok(());
    }
    let eng = cx.eng;
    let mut txn = cx.txn()?;
    let mut relinked = Vec::new();
    // First every intent by its own key, then the rest by their matching values, and a target
    // object goes to one intent only: found by another's key, or already taken in this pass,
    // it is not this create's (a group deleted and made again under the same name: the old
    // create's name would otherwise take the new group's object, and its delete delete it).
    let mut claimed: BTreeSet<connectors::TargetId> = BTreeSet::new();
    let mut searches: Vec<(ObjKey, Search)> = Vec::with_capacity(intents.len());
    for ((ti, id), intent) in &intents {
        let key = [(
            scim_model::AttributePath::new("externalId"),
            serde_json::Value::String(intent.create_key.to_string()),
        )];
        let search = find_created(cx, *ti, id, &key, &mut claimed).await;
        searches.push(((*ti, id.clone()), search));
    }
    for (((ti, id), search), (_, intent)) in searches.iter_mut().zip(&intents) {
        if matches!(search, Search::Absent) {
            let matching: Vec<_> = intent
                .matching
                .iter()
                .filter_map(|(path, value)| {
                    scim_model::AttributePath::parse(path)
                        .ok()
                        .map(|p| (p, value.clone()))
                })
                .collect();
            *search = find_created(cx, *ti, id, &matching, &mut claimed).await;
        }
    }
    for ((ti, id), search) in searches {
        let t = &eng.types[ti];
        let (found, unknown) = match search {
            Search::Found(hit, linked) => (Some((hit, linked)), false),
            Search::Absent => (None, false),
            Search::Unknown => (None, true),
        };
        let ty = t.source_type();
        match (found, unknown) {
            (Some((hit, linked)), _) => {
                if !linked {
                    let link = Link::new(id.clone(), hit.id.clone(), cx.now);
                    txn.put_link(&eng.job_id, ty, &link)
                        .map_err(|e| Error::connector("writing a link", e))?;
                    txn.put_json(
                        RESOLVE_QUEUE,
                        connectors::state::records::object_key(&eng.job_id, ty, id.as_str()),
                        &(),
                    )
                    .map_err(|e| Error::connector("writing a link", e))?;
                }
                // The intent goes with the object's outcome (see `Cx::confirmed`).
                lock(&cx.confirmed).insert((ti, id.clone()));
                relinked.push((ti, id));
            }
            (None, false) => {
                txn.delete_intent(&eng.job_id, ty, &id);
                lock(&cx.intents).remove(&(ti, id));
            }
            (None, true) => {}
        }
    }
    cx.commit(txn, "resolving unconfirmed creates").await?;
    // A create confirmed only now is processed again at once, from the source as it is now:
    // while it was unconfirmed (not linked), its changes were read and the watermark moved
    // past them — it may have left scope (disable), changed (update) or been deleted at the
    // source (delete: the deletion threshold and the job's delete action apply).
    let mut again = Vec::new();
    let mut unreadable = Vec::new();
    for (ti, id) in relinked {
        let ty = eng.types[ti].source_type();
        match read::with_retries(cx, || eng.source.get(ty, &id)).await {
            Ok(Some(r)) => again.push(Item {
                ti,
                id,
                work: Work::Upsert(r),
            }),
            Ok(None) => again.push(Item {
                ti,
                id,
                work: Work::Deleted(
                    "created by a run that stopped before confirming it, and deleted at the \
                     source since"
                        .to_owned(),
                ),
            }),
            // Not readable now: escrowed, so it is processed again on the retry schedule.
            Err(e) => {
                let mut o = Outcome::new(ti, id.clone());
                o.writes.push(Write::Escrow(item::next_escrow(
                    cx,
                    ti,
                    &id,
                    &format!("reading the source after confirming its create: {e}"),
                    false,
                )));
                unreadable.push(o);
            }
        }
    }
    if !unreadable.is_empty() {
        cx.commit_outcomes(unreadable, None).await?;
    }
    if !again.is_empty() {
        item::process_batch(cx, again, None).await?;
    }
    Ok(())
}

/// What looking for an unconfirmed create found.
enum Search {
    /// The created object, and whether an earlier run already linked it.
    Found(connectors::TargetObject, bool),
    /// Certainly not there.
    Absent,
    /// Not known (a lookup failed or found more than one).
    Unknown,
}

/// Looks for the object an unconfirmed create of `id` made, by `candidates` (path and value)
/// in order; a hit another source object is linked to, or another intent took in this pass
/// (`claimed`), is not it. A hit is added to `claimed`.
async fn find_created(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    candidates: &[(scim_model::AttributePath, serde_json::Value)],
    claimed: &mut BTreeSet<connectors::TargetId>,
) -> Search {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let tt = t.target_type();
    for (path, value) in candidates {
        match read::with_retries(cx, || eng.target.find(tt, path, value, 2)).await {
            Ok(hits) if hits.len() == 1 => {
                let Some(hit) = hits.into_iter().next() else {
                    return Search::Unknown;
                };
                if claimed.contains(&hit.id) {
                    continue;
                }
                // A target object linked to another source object is that object's, not
                // this create's: the matching step never takes it either. (A failed create
                // whose matching value another object holds — a rehire whose old account is
                // not deleted yet — would otherwise be linked to the old account.)
                return match eng
                    .state
                    .link_by_target(&eng.job_id, t.source_type(), &hit.id)
                    .await
                {
                    Ok(Some(other)) if other.source_id != *id => continue,
                    // Linked by an earlier run that found it and stopped before the object's
                    // outcome: the link stands as written.
                    Ok(Some(_)) => {
                        claimed.insert(hit.id.clone());
                        Search::Found(hit, true)
                    }
                    Ok(None) => {
                        claimed.insert(hit.id.clone());
                        Search::Found(hit, false)
                    }
                    Err(_) => Search::Unknown,
                };
            }
            Ok(hits) if hits.is_empty() => {}
            Ok(_) | Err(_) => return Search::Unknown,
        }
    }
    Search::Absent
}

/// Retries the escrowed objects whose time has come and that this cycle did not touch.
async fn retry_escrows(cx: &Cx<'_>) -> Result<()> {
    let due: Vec<(ObjKey, Escrow)> = {
        let touched = lock(&cx.touched);
        lock(&cx.escrows)
            .iter()
            .filter(|((ti, id), e)| {
                !e.reference && e.next_retry <= cx.now && !touched[*ti].contains(id)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let eng = cx.eng;
    let mut items = Vec::new();
    let mut given_up = Vec::new();
    for ((ti, id), escrow) in due {
        if eng.job.retry.gives_up(escrow.first_failure, cx.now) {
            let mut o = Outcome::new(ti, id.clone());
            let mut entry = cx.entry(ti, &id, Action::Other, Status::Failure);
            entry.status_info = Some(StatusInfo {
                error_code: "EscrowGivenUp".to_owned(),
                reason: format!(
                    "failing since {} ({} attempts); last error: {}",
                    escrow.first_failure.to_rfc3339(),
                    escrow.attempts,
                    escrow.last_error
                ),
                recommended_action:
                    "Fix the cause, then provision the object on demand or restart the job."
                        .to_owned(),
            });
            o.log = Some(entry);
            o.writes.push(Write::DropEscrow);
            given_up.push(o);
            continue;
        }
        let ty = eng.types[ti].source_type();
        match read::with_retries(cx, || eng.source.get(ty, &id)).await {
            Ok(Some(r)) => items.push(Item {
                ti,
                id,
                work: Work::Upsert(r),
            }),
            Ok(None) => items.push(Item {
                ti,
                id,
                work: Work::Deleted("deleted at the source".to_owned()),
            }),
            Err(e) if e.kind() == connectors::ErrorKind::Fatal => {
                *lock(&cx.fatal) = Some(e.to_string());
                break;
            }
            Err(_) => {} // still unreadable: stays escrowed, tried next cycle
        }
    }
    if !given_up.is_empty() {
        cx.commit_outcomes(given_up, None).await?;
    }
    for chunk in chunks(items, eng.job.page_size) {
        if cx.is_fatal() {
            break;
        }
        item::process_batch(cx, chunk, None).await?;
    }
    Ok(())
}

/// Splits items (objects, outcomes) into batches of at most `size`.
pub(crate) fn chunks<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for item in items {
        current.push(item);
        if current.len() >= size.max(1) {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Evaluates quarantine, stores the job's state and builds the report.
async fn finish(cx: Cx<'_>, started: Instant) -> Result<CycleReport> {
    let eng = cx.eng;
    let mut st = JobState::load(eng.state.as_ref(), &eng.job_id).await?;
    let fatal = lock(&cx.fatal).clone();
    let incomplete = *lock(&cx.incomplete) || fatal.is_some();
    let (escrow_count, reference_escrows) = {
        let e = lock(&cx.escrows);
        (
            e.values().filter(|x| !x.reference).count() as u64,
            e.values().filter(|x| x.reference).count() as u64,
        )
    };
    let staged_count = lock(&cx.staged).len() as u64;
    let (mut summary, log, log_omitted, events, reference_failures) = {
        let mut out = lock(&cx.out);
        (
            out.summary,
            std::mem::take(&mut out.log),
            out.log_omitted,
            out.events,
            out.reference_failures,
        )
    };
    summary.escrowed = escrow_count;
    summary.staged_deletes = staged_count;

    let policy = &eng.job.quarantine;
    let with_refs = escrow_count + reference_escrows.max(reference_failures);
    let failing = summary.failed.saturating_sub(reference_failures);
    let reason = if let Some(f) = &fatal {
        Some((QuarantineReason::EncounteredQuarantineException, f.clone()))
    } else if with_refs >= policy.evaluate_from {
        if escrow_count > policy.max_failures {
            Some((
                QuarantineReason::EncounteredTotalEscrowThreshold,
                format!(
                    "{escrow_count} objects are failing (more than {})",
                    policy.max_failures
                ),
            ))
        } else if with_refs > policy.max_failures_with_references {
            Some((
                QuarantineReason::EncounteredBaseEscrowThreshold,
                format!(
                    "{with_refs} objects are failing, references included (more than {})",
                    policy.max_failures_with_references
                ),
            ))
        } else if events > 0 && (failing as f64) > policy.max_failure_proportion * events as f64 {
            Some((
                QuarantineReason::EncounteredEscrowProportionThreshold,
                format!(
                    "{failing} of the cycle's {events} objects failed (more than {:.0}%)",
                    policy.max_failure_proportion * 100.0
                ),
            ))
        } else {
            None
        }
    } else {
        None
    };
    let too_many = lock(&cx.notes)
        .iter()
        .find_map(|n| n.strip_prefix(deletes::TOO_MANY).map(str::to_owned));
    let reason = reason.or(too_many.map(|d| (QuarantineReason::TooManyDeletes, d)));
    st.quarantine = match (reason, st.quarantine.take()) {
        (None, _) => None,
        (Some((reason, detail)), previous) => {
            let (since, series) = match previous {
                Some(p) if p.reason == reason => (p.since, p.series_count + 1),
                Some(p) => (p.since, p.series_count + 1),
                None => (cx.now, 1),
            };
            let base = policy.base_interval_seconds.max(1);
            let delay = base.saturating_mul(1u64 << series.min(16)).min(24 * 3600);
            Some(Quarantine {
                reason,
                since,
                detail,
                next_attempt: cx.now + crate::job::seconds(delay),
                series_count: series,
            })
        }
    };
    if !incomplete {
        st.completed = true;
        st.ever_completed = true;
    }
    let watermark = {
        let out = lock(&cx.out);
        out.watermarks
            .last()
            .map(|(_, w)| hex(w.as_bytes()))
            .unwrap_or_default()
    };
    if !cx.preview {
        let mut txn = cx.txn()?;
        st.write(&mut txn, &eng.job_id)?;
        match cx.lease() {
            // The lease goes with the last commit (one durable write where the store can; the
            // release is best effort: an expired lease is simply taken over).
            Some(lease) => eng
                .state
                .commit_and_release(txn.into_batch(), &lease)
                .await
                .map_err(|e| Error::connector("finishing the cycle", e))?,
            None => cx.commit(txn, "finishing the cycle").await?,
        }
    }
    let notes = std::mem::take(&mut *lock(&cx.notes))
        .into_iter()
        .filter(|n| !n.starts_with(deletes::TOO_MANY))
        .collect();
    Ok(CycleReport {
        cycle: CycleInfo {
            id: cx.id.clone(),
            number: cx.number,
            kind: cx.kind,
            watermark,
        },
        preview: cx.preview,
        summary,
        quarantine: st.quarantine,
        log,
        log_omitted,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        notes,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A modified property from JSON values (absent = `None`).
pub(crate) fn property(
    name: &str,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
) -> ModifiedProperty {
    ModifiedProperty {
        display_name: name.to_owned(),
        old_value: old.map(crate::log::value_text),
        new_value: new.map(crate::log::value_text),
    }
}

/// The display name of a source object for logs: userName, else displayName.
pub(crate) fn display_name(r: &Resource) -> Option<String> {
    r.get("userName")
        .or_else(|| r.get("displayName"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// A step, shorter.
pub(crate) fn step(
    name: &str,
    ty: crate::log::StepType,
    status: crate::log::StepStatus,
    description: impl Into<String>,
) -> Step {
    Step::new(name, ty, status, description)
}

/// Whether the store already has links for a type (a full import that returns nothing while
/// objects are linked is a failed import).
pub(crate) async fn has_links(cx: &Cx<'_>, ti: usize) -> Result<bool> {
    let ty = cx.eng.types[ti].source_type();
    cx.eng
        .state
        .links(&cx.eng.job_id, ty, None, 1)
        .await
        .map(|l| !l.is_empty())
        .map_err(|e| Error::connector("reading links", e))
}
