//! One object's way through a cycle: scope → match → decide → export → link, in a batch.
//!
//! A batch runs in three phases: every object is planned concurrently (scoping, link lookup,
//! matching, the mapped create or the minimal PATCH); the creates' intents are committed in
//! one write; the exports run with bounded concurrency; then one commit records the links,
//! escrows, log entries and the watermark that covers the batch. Batches of one read overlap
//! where one's plan cannot depend on what the one before it writes ([`Pipeline`]): the next
//! batch is planned while the one before exports and commits.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use connectors::state::StateStoreExt;
use connectors::state::records::{DeleteAction, Escrow, Intent, Link, StagedDelete};
use connectors::{
    CreateKey, CreatedObject, ErrorKind, ObjectType, SourceId, TargetId, TargetObject, Watermark,
};
use futures::StreamExt;
use futures::channel::oneshot;
use futures::stream::FuturesUnordered;
use scim_model::patch::{PatchOp, PatchOperation};
use scim_model::{AttributePath, Filter, Resource};
use serde_json::{Value, json};

use super::{Cx, Item, Outcome, Tally, Write, display_name, lock, property, step};
use crate::job::{FlowAction, OutOfScope};
use crate::log::{
    Action, CycleKind, LogEntry, ModifiedProperty, Status, StatusInfo, StepStatus, StepType,
};
use crate::{Error, Result};

/// What happened to an object at the source.
#[derive(Debug)]
pub(crate) enum Work {
    /// Created or changed: its whole current state.
    Upsert(Resource),
    /// Created or changed, read back from the compact JSON text it was held as, with its
    /// fingerprint already computed from that text (the bytes `fingerprint` would write
    /// again: the text is what `serde_json` wrote for the object).
    Reread {
        /// The object, parsed from its text.
        resource: Resource,
        /// Its fingerprint.
        fingerprint: String,
    },
    /// Gone from the source (the reason, for the log).
    Deleted(String),
    /// Members added to and removed from a group.
    Members {
        added: Vec<SourceId>,
        removed: Vec<SourceId>,
    },
}

/// A planned export.
struct Export {
    ti: usize,
    id: SourceId,
    entry: LogEntry,
    op: ExportOp,
    writes: Vec<Write>,
    fingerprint: Option<String>,
    escrowed: bool,
}

enum ExportOp {
    Create {
        resource: Resource,
        key: CreateKey,
        matching: Vec<(String, Value)>,
    },
    Update {
        target_id: TargetId,
        patch: PatchOp,
        link: Link,
        reconciled: bool,
    },
}

#[allow(clippy::large_enum_variant)] // short-lived, one per object of a batch
enum Planned {
    Done(Outcome),
    Export(Box<Export>),
}

/// Plans, exports and commits one batch (ids distinct).
pub(crate) async fn process_batch(
    cx: &Cx<'_>,
    items: Vec<Item>,
    watermark: Option<(usize, Watermark)>,
) -> Result<()> {
    let prepared = prepare(cx, items).await?;
    if cx.preview {
        let Prepared {
            mut outcomes,
            exports,
            ti,
        } = prepared;
        outcomes.extend(exports.into_iter().map(preview_outcome));
        return commit_batch(cx, outcomes, watermark, ti).await;
    }
    record_intents(cx, &prepared).await?;
    finish(cx, prepared, watermark, None, None).await
}

/// Commits a batch's outcomes (with the watermark that covers it) and reports progress.
async fn commit_batch(
    cx: &Cx<'_>,
    outcomes: Vec<Outcome>,
    watermark: Option<(usize, Watermark)>,
    ti: Option<usize>,
) -> Result<()> {
    cx.commit_outcomes(outcomes, watermark).await?;
    if let Some(ti) = ti {
        cx.report_progress(ti);
    }
    Ok(())
}

/// A batch planned, with its creates' intents committed, ready to export.
pub(crate) struct Prepared {
    outcomes: Vec<Outcome>,
    exports: Vec<Export>,
    ti: Option<usize>,
}

/// A batch whose exports and commit are under way (see [`Pipeline`]).
type InFlight<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Plans a batch: the objects that need nothing exported are done, the rest wait to export.
pub(crate) async fn prepare(cx: &Cx<'_>, items: Vec<Item>) -> Result<Prepared> {
    cx.renew_lease().await?;
    {
        let mut touched = lock(&cx.touched);
        for item in &items {
            touched[item.ti].insert(item.id.clone());
        }
    }
    lock(&cx.claimed).clear();
    let concurrency = cx.eng.job.export_concurrency;
    let planned: Vec<Result<Planned>> = futures::stream::iter(items)
        .map(|item| plan(cx, item))
        .buffered(concurrency)
        .collect()
        .await;
    let mut outcomes = Vec::new();
    let mut exports = Vec::new();
    for p in planned {
        match p? {
            Planned::Done(o) => outcomes.push(o),
            Planned::Export(e) => exports.push(*e),
        }
    }
    let ti = outcomes
        .first()
        .map(|o| o.ti)
        .or(exports.first().map(|e| e.ti));
    Ok(Prepared {
        outcomes,
        exports,
        ti,
    })
}

/// Commits the intents of a batch's creates, in one commit: a crash during the exports leaves
/// them to be resolved by key, never created twice.
async fn record_intents(cx: &Cx<'_>, prepared: &Prepared) -> Result<()> {
    if !prepared
        .exports
        .iter()
        .any(|e| matches!(e.op, ExportOp::Create { .. }))
    {
        return Ok(()); // nothing to record (and the cycle's start waits for the batch)
    }
    let mut txn = cx.txn()?;
    for e in &prepared.exports {
        if let ExportOp::Create { key, matching, .. } = &e.op {
            let mut intent = Intent::new(e.id.clone(), key.clone(), cx.now);
            intent.matching = matching.clone();
            let ty = cx.eng.types[e.ti].source_type();
            txn.put_intent(&cx.eng.job_id, ty, &intent)
                .map_err(|err| Error::connector("writing an intent", err))?;
            lock(&cx.intents).insert((e.ti, e.id.clone()), intent);
        }
    }
    cx.commit(txn, "recording create intents").await
}

/// Exports a prepared batch (at most `exportConcurrency` exports in flight, counting those of
/// a batch before it still running), then — once the batch before it has committed (`before`
/// answers) — commits its outcomes and tells the batch after it (`committed`).
///
/// The answer says whether every batch before, and this one, committed. A batch before it that
/// failed (its sender dropped, or `false`) still lets this one commit its outcomes, which
/// record what its exports did, but not the watermark: that would move past the objects whose
/// outcomes (escrows of failures among them) the failed batch did not record.
async fn finish<'a>(
    cx: &'a Cx<'a>,
    prepared: Prepared,
    watermark: Option<(usize, Watermark)>,
    before: Option<oneshot::Receiver<bool>>,
    committed: Option<oneshot::Sender<bool>>,
) -> Result<()> {
    let Prepared {
        mut outcomes,
        exports,
        ti,
    } = prepared;
    let concurrency = cx.eng.job.export_concurrency;
    let exported: Vec<Outcome> = futures::stream::iter(exports)
        .map(|e| async move {
            let _slot = cx.export_slots.acquire().await;
            export(cx, e).await
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let all_before = match before {
        Some(before) => before.await.unwrap_or(false),
        None => true,
    };
    outcomes.extend(exported);
    let watermark = watermark.filter(|_| all_before);
    commit_batch(cx, outcomes, watermark, ti).await?;
    if let Some(committed) = committed {
        let _ = committed.send(all_before);
    }
    Ok(())
}

/// Batches whose exports and commits overlap: batch N+1 is planned, and its intents
/// committed, while batch N exports and commits, and N+1's exports take N's slots as they free
/// up, so a target that answers slowly always has `exportConcurrency` requests in flight
/// instead of draining at every batch (and a server that closes every connection is not hit by
/// a burst of new ones at each batch start), and a store that commits on a thread of its own
/// writes batch N while N+1 is planned. At most two batches export at once (and a third is
/// planned), so memory stays bounded; commits stay in batch order.
///
/// A batch's plan must not depend on what an unfinished batch writes:
///
/// - [`Pipeline::new`], for a full import: no two batches hold one object, the import's match
///   index is in use (so a `find` never meets an object an unfinished batch created), a user
///   whose manager is not linked yet is held back to the end of the import anyway, and groups
///   (whose members resolve through links) go one batch at a time.
/// - [`Pipeline::gated`], for changes: a batch is planned beside the batch before it only when
///   that one neither makes nor removes a link (no create, no match, no unlink: its writes
///   touch its own objects' records only) and the two hold no object in common; otherwise it
///   waits until every batch before it has committed, as if there were no pipeline.
pub(crate) struct Pipeline<'a> {
    cx: &'a Cx<'a>,
    in_flight: FuturesUnordered<InFlight<'a>>,
    /// The last batch's "committed" signal, which the next batch waits for before committing.
    last: Option<oneshot::Receiver<bool>>,
    failed: Option<Error>,
    kind: Kind,
}

/// What a [`Pipeline`] carries.
enum Kind {
    /// The batches of one full import ([`Pipeline::new`]).
    Import,
    /// Batches of changes ([`Pipeline::gated`]), with what the last one pushed touches (`None`
    /// before the first).
    Changes(Option<Touched>),
}

/// What a batch's plan found it writes, for [`Pipeline::gated`].
struct Touched {
    /// Its objects.
    ids: BTreeSet<super::ObjKey>,
    /// Whether it makes or removes a link (or may: a create).
    links: bool,
}

impl Touched {
    fn of(prepared: &Prepared) -> Self {
        let makes_links = |writes: &[Write]| {
            writes
                .iter()
                .any(|w| matches!(w, Write::Link(_) | Write::Unlink(_) | Write::Linked))
        };
        let ids = prepared
            .outcomes
            .iter()
            .map(|o| (o.ti, o.id.clone()))
            .chain(prepared.exports.iter().map(|e| (e.ti, e.id.clone())))
            .collect();
        let links = prepared.outcomes.iter().any(|o| makes_links(&o.writes))
            || prepared
                .exports
                .iter()
                .any(|e| matches!(e.op, ExportOp::Create { .. }) || makes_links(&e.writes));
        Touched { ids, links }
    }

    /// Whether a batch of `items` may be planned before this batch has committed.
    fn allows(&self, items: &[Item]) -> bool {
        !self.links
            && !items
                .iter()
                .any(|i| self.ids.contains(&(i.ti, i.id.clone())))
    }
}

impl<'a> Pipeline<'a> {
    /// A pipeline for the batches of one full import (see [`Pipeline`]).
    pub(crate) fn new(cx: &'a Cx<'a>) -> Self {
        Pipeline {
            cx,
            in_flight: FuturesUnordered::new(),
            last: None,
            failed: None,
            kind: Kind::Import,
        }
    }

    /// A pipeline for batches of changes (see [`Pipeline`]).
    pub(crate) fn gated(cx: &'a Cx<'a>) -> Self {
        Pipeline {
            kind: Kind::Changes(None),
            ..Pipeline::new(cx)
        }
    }

    /// Runs `f` while the batches in flight go on.
    ///
    /// Which goes first matters where calls do not wait (a store or directory in memory runs
    /// a call to its end in one poll): what is polled first runs to its first real wait.
    /// Batches of changes are polled first, so that their exports are sent and their commit
    /// handed to the store before the next plan takes the thread, and the plan runs while the
    /// store writes. An import's next batch goes first: its plan ends by committing its create
    /// intents, and so that commit goes to the store before the batch in flight hands over its
    /// own, longer one, and the exports of the batch in flight run while the intents are
    /// written (measured in BENCHMARKS.md, sync-engine, session 12).
    pub(crate) async fn alongside<T>(&mut self, f: impl Future<Output = T>) -> T {
        use futures::future::{Either, select};
        let mut f = std::pin::pin!(f);
        loop {
            if self.in_flight.is_empty() {
                return f.await;
            }
            let done = if let Kind::Changes(_) = self.kind {
                match select(self.in_flight.next(), f.as_mut()).await {
                    Either::Left((done, _)) => done,
                    Either::Right((value, _)) => return value,
                }
            } else {
                match select(f.as_mut(), self.in_flight.next()).await {
                    Either::Left((value, _)) => return value,
                    Either::Right((done, _)) => done,
                }
            };
            self.note(done);
        }
    }

    /// Plans a batch and starts its exports beside the batch in flight; `watermark` commits
    /// with it.
    pub(crate) async fn push(
        &mut self,
        items: Vec<Item>,
        watermark: Option<(usize, Watermark)>,
    ) -> Result<()> {
        self.check()?;
        if let Kind::Changes(Some(last)) = &self.kind
            && !last.allows(&items)
        {
            self.drain().await;
            self.check()?;
        }
        let cx = self.cx;
        let prepared = self
            .alongside(async move {
                let prepared = prepare(cx, items).await?;
                record_intents(cx, &prepared).await?;
                Ok::<_, Error>(prepared)
            })
            .await?;
        if let Kind::Changes(last) = &mut self.kind {
            *last = Some(Touched::of(&prepared));
        }
        while self.in_flight.len() >= 2 {
            let done = self.in_flight.next().await;
            self.note(done);
        }
        self.check()?;
        let (committed, next) = oneshot::channel();
        let before = self.last.replace(next);
        self.in_flight.push(Box::pin(finish(
            cx,
            prepared,
            watermark,
            before,
            Some(committed),
        )));
        Ok(())
    }

    /// Waits for every batch pushed to be exported and committed (all of them, also after one
    /// failed); the first failure is the answer.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.drain().await;
        self.check()
    }

    /// Waits for every batch pushed to be exported and committed, keeping the first failure.
    async fn drain(&mut self) {
        while let Some(done) = self.in_flight.next().await {
            self.note(Some(done));
        }
    }

    fn note(&mut self, done: Option<Result<()>>) {
        if let Some(Err(e)) = done {
            self.failed.get_or_insert(e);
        }
    }

    fn check(&mut self) -> Result<()> {
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A stable fingerprint of a source object under the job's configuration.
fn fingerprint(cx: &Cx<'_>, r: &Resource) -> String {
    crate::hash::object_fingerprint(&cx.eng.config_hash, r)
}

/// The fingerprint of an object from its compact JSON text as `serde_json` wrote it: the same
/// bytes [`fingerprint`] hashes as it writes them, so the same fingerprint, without writing
/// the object again.
pub(crate) fn fingerprint_of_text(cx: &Cx<'_>, text: &[u8]) -> String {
    crate::hash::text_fingerprint(&cx.eng.config_hash, text)
}

async fn plan(cx: &Cx<'_>, item: Item) -> Result<Planned> {
    let eng = cx.eng;
    let Item { ti, id, work } = item;
    let t = &eng.types[ti];
    let ty = t.source_type();
    let link = eng
        .state
        .link_by_source(&eng.job_id, ty, &id)
        .await
        .map_err(|e| Error::connector("reading a link", e))?;
    match work {
        Work::Deleted(reason) => Ok(Planned::Done(plan_gone(cx, ti, id, link, &reason).await?)),
        Work::Members { added, removed } => match (&link, t.members) {
            // An escrowed group's earlier member changes failed: these are not all the target
            // lacks (and a member deleted since cannot be named any more), so the whole group
            // is compared instead.
            (Some(link), true) if !lock(&cx.escrows).contains_key(&(ti, id.clone())) => {
                plan_members(cx, ti, id, link.clone(), added, removed).await
            }
            (Some(_), false) => Ok(Planned::Done(Outcome::new(ti, id))),
            (Some(_), true) | (None, _) => {
                // Not linked yet, or escrowed: process the whole group instead.
                let got = super::read::with_retries(cx, || eng.source.get(ty, &id)).await;
                match got {
                    Ok(Some(r)) => plan_upsert(cx, ti, id, r, None, link).await,
                    Ok(None) => Ok(Planned::Done(
                        plan_gone(cx, ti, id, link, "deleted at the source").await?,
                    )),
                    Err(e) => Ok(Planned::Done(failure(cx, ti, &id, None, &e, Vec::new()))),
                }
            }
        },
        Work::Upsert(resource) => plan_upsert(cx, ti, id, resource, None, link).await,
        Work::Reread {
            resource,
            fingerprint,
        } => plan_upsert(cx, ti, id, resource, Some(fingerprint), link).await,
    }
}

/// The object is gone from the source: hold its delete (or disable) for the end of the
/// cycle, forget its escrow and its waiting references.
async fn plan_gone(
    cx: &Cx<'_>,
    ti: usize,
    id: SourceId,
    link: Option<Link>,
    reason: &str,
) -> Result<Outcome> {
    let t = &cx.eng.types[ti];
    let mut o = Outcome::new(ti, id.clone());
    o.writes.push(Write::DropEscrow);
    for p in super::refs::holder_pending(cx, ti, &id).await? {
        o.writes.push(Write::DropPending {
            attribute: p.attribute,
            previous: p.referenced,
        });
    }
    if let Some(link) = link {
        let action = if t.mapping.allows(FlowAction::Delete) {
            Some(DeleteAction::Delete)
        } else if !link.disabled && t.mapping.allows(FlowAction::Update) {
            Some(DeleteAction::Disable)
        } else {
            None
        };
        if let Some(action) = action {
            o.writes.push(Write::Stage(StagedDelete::new(
                id,
                link.target_id,
                action,
                reason,
                cx.now,
            )));
            o.tally = Tally::Staged;
        }
    }
    Ok(o)
}

async fn plan_upsert(
    cx: &Cx<'_>,
    ti: usize,
    id: SourceId,
    resource: Resource,
    fp: Option<String>,
    link: Option<Link>,
) -> Result<Planned> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let key = (ti, id.clone());
    let escrowed = lock(&cx.escrows).contains_key(&key);
    let mut entry = cx.entry(ti, &id, Action::Other, Status::Success);
    entry.source_identity.display_name = display_name(&resource);
    entry.provisioning_steps.push(step(
        "ImportObject",
        StepType::Import,
        StepStatus::Success,
        format!(
            "Received {} '{}' from {}",
            t.source_type(),
            entry
                .source_identity
                .display_name
                .as_deref()
                .unwrap_or(id.as_str()),
            eng.source.name()
        ),
    ));

    let fp = fp.unwrap_or_else(|| fingerprint(cx, &resource));
    let not_due = lock(&cx.escrows)
        .get(&key)
        .is_some_and(|e| e.next_retry > cx.now);
    if cx.kind == CycleKind::Delta && ((link.is_none() && !escrowed) || not_due) {
        // Skipped before, or failed and not yet due for its retry, and unchanged since (a
        // diffed full import reads every object every cycle): nothing to do or say again.
        let key = connectors::state::records::object_key(&eng.job_id, t.source_type(), id.as_str());
        let seen: Option<String> = eng
            .state
            .get_json(super::SEEN, &key)
            .await
            .map_err(|e| Error::connector("reading a fingerprint", e))?;
        if seen.as_deref() == Some(fp.as_str()) {
            return Ok(Planned::Done(Outcome::new(ti, id)));
        }
    }

    // Scope.
    if !t.scope.matches(&resource) {
        lock(&cx.out_of_scope).insert(key.clone());
        let explanation = t.scope.explain(&resource).to_string();
        entry.provisioning_steps.push(step(
            "DetermineScope",
            StepType::Scoping,
            StepStatus::Success,
            explanation.clone(),
        ));
        // A link that says the target object is disabled can be one lost commit behind the
        // target: a re-enable exported by a run that died before committing it. When the
        // object changed since it was last processed, the target says whether it is still
        // disabled; once confirmed, the link carries the fingerprint, so an unchanged object
        // is not read again.
        let mut link = link;
        let mut confirmed = None;
        if let Some(l) = &mut link
            && l.disabled
            && l.source_fingerprint.as_deref() != Some(fp.as_str())
            && disables_out_of_scope(cx, ti)
        {
            match active_in_target(cx, ti, &l.target_id).await {
                Some(true) => l.disabled = false,
                Some(false) => {
                    let mut c = l.clone();
                    c.source_fingerprint = Some(fp.clone());
                    confirmed = Some(c);
                }
                None => {}
            }
        }
        let mut o = plan_out_of_scope(cx, ti, id, link, entry, explanation);
        if let Some(c) = confirmed {
            o.writes.push(Write::LinkUpdate(c));
        }
        if o.tally == Tally::Skipped {
            o.writes.push(Write::Seen(fp));
        }
        return Ok(Planned::Done(o));
    }
    let mut pre_writes = Vec::new();
    let staged = lock(&cx.staged).contains_key(&key);
    if staged {
        pre_writes.push(Write::Unstage);
    }
    if let Some(link) = &link
        && link.source_fingerprint.as_deref() == Some(fp.as_str())
        && !link.disabled
        // A held disable of an unchanged object is decided again (the update that asked
        // for it may still want it).
        && !staged
        && !escrowed
        && !(cx.kind == CycleKind::Full && eng.job.reconcile)
    {
        // Already applied (a replay, an unchanged object in a diffed import, or a full
        // cycle that trusts its fingerprints because it does not reconcile).
        let mut o = Outcome::new(ti, id);
        o.writes = pre_writes;
        return Ok(Planned::Done(o));
    }
    entry.provisioning_steps.push(step(
        "DetermineScope",
        StepType::Scoping,
        StepStatus::Success,
        t.scope.explain(&resource).to_string(),
    ));

    // References: write target ids where the source has source ids.
    let mut source = resource;
    let mut writes = pre_writes;
    let members = if t.members {
        let refs = super::refs::translate_members(cx, ti, &id, &mut source).await?;
        writes.extend(refs.writes);
        Some(refs.targets)
    } else {
        None
    };
    if t.manager_target.is_some() {
        writes.extend(super::refs::translate_manager(cx, ti, &id, &mut source).await?);
    }

    // (An intent beside a link is a create confirmed this cycle: its object goes on.)
    if link.is_none() && lock(&cx.intents).contains_key(&key) {
        let e = connectors::Error::temporary(
            eng.target.name(),
            "an earlier create of this object is not confirmed yet; it is resolved by its key first",
        );
        return Ok(Planned::Done(failure(
            cx,
            ti,
            &id,
            Some(entry),
            &e,
            Vec::new(),
        )));
    }

    let tt = t.target_type();
    let ctx = cx.ctx();
    if let Some(l) = &link {
        let current = super::read::with_retries(cx, || {
            eng.target.get_attributes(tt, &l.target_id, &t.compared)
        })
        .await;
        match current {
            Ok(Some(current)) => {
                let reconciled = l.source_fingerprint.as_deref() == Some(fp.as_str());
                entry.target_identity.id = l.target_id.to_string();
                entry.provisioning_steps.push(step(
                    "MatchObject",
                    StepType::Matching,
                    StepStatus::Success,
                    format!("Linked to target object {}", l.target_id),
                ));
                return plan_update(
                    cx,
                    ti,
                    id,
                    &source,
                    l.clone(),
                    current,
                    members,
                    entry,
                    writes,
                    fp,
                    reconciled,
                    escrowed,
                );
            }
            Ok(None) => {
                entry.provisioning_steps.push(step(
                    "MatchObject",
                    StepType::Matching,
                    StepStatus::Warning,
                    format!(
                        "The linked target object {} no longer exists; matching again",
                        l.target_id
                    ),
                ));
                writes.push(Write::Unlink(l.clone()));
            }
            Err(e) => return Ok(Planned::Done(failure(cx, ti, &id, Some(entry), &e, writes))),
        }
    }

    // Match by the matching attributes, lowest priority first.
    let values = match t.mapping.attribute_mappings.matching_values(&source, &ctx) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Planned::Done(mapping_failure(
                cx, ti, &id, entry, &e, writes,
            )));
        }
    };
    let index = lock(&cx.match_index).get(ti).cloned().flatten();
    for (path, value) in &values {
        if index.as_ref().is_some_and(|ix| !ix.may_hold(path, value)) {
            entry.provisioning_steps.push(step(
                "MatchObject",
                StepType::Matching,
                StepStatus::Success,
                format!(
                    "No target object has {path} = '{}' (the target's listing at the start of the cycle)",
                    crate::log::value_text(value)
                ),
            ));
            continue;
        }
        let hits = match super::read::with_retries(cx, || eng.target.find(tt, path, value, 2)).await
        {
            Ok(h) => h,
            Err(e) => return Ok(Planned::Done(failure(cx, ti, &id, Some(entry), &e, writes))),
        };
        let shown = crate::log::value_text(value);
        match hits.len() {
            0 => entry.provisioning_steps.push(step(
                "MatchObject",
                StepType::Matching,
                StepStatus::Success,
                format!("No target object has {path} = '{shown}'"),
            )),
            1 => {
                let Some(hit) = hits.into_iter().next() else {
                    continue;
                };
                let other = eng
                    .state
                    .link_by_target(&eng.job_id, t.source_type(), &hit.id)
                    .await
                    .map_err(|e| Error::connector("reading a link", e))?;
                if let Some(other) = other.filter(|o| o.source_id != id) {
                    entry.provisioning_steps.push(step(
                        "MatchObject",
                        StepType::Matching,
                        StepStatus::Warning,
                        format!(
                            "Target object {} has {path} = '{shown}' but is linked to source object {}; not matched",
                            hit.id, other.source_id
                        ),
                    ));
                    continue;
                }
                if !lock(&cx.claimed).insert((ti, hit.id.to_string())) {
                    let e = connectors::Error::temporary(
                        eng.target.name(),
                        format!(
                            "target object {} is being matched by another object in this batch",
                            hit.id
                        ),
                    );
                    return Ok(Planned::Done(failure(cx, ti, &id, Some(entry), &e, writes)));
                }
                entry.target_identity.id = hit.id.to_string();
                entry.provisioning_steps.push(step(
                    "MatchObject",
                    StepType::Matching,
                    StepStatus::Success,
                    format!("Matched target object {} on {path} = '{shown}'", hit.id),
                ));
                let new_link = Link::new(id.clone(), hit.id.clone(), cx.now);
                writes.push(Write::Linked);
                return plan_update(
                    cx, ti, id, &source, new_link, hit, members, entry, writes, fp, false, escrowed,
                );
            }
            n => {
                let e = connectors::Error::permanent(
                    eng.target.name(),
                    format!("{n} or more target objects have {path} = '{shown}'"),
                );
                let mut o = failure(cx, ti, &id, Some(entry), &e, writes);
                if let Some(log) = &mut o.log
                    && let Some(info) = &mut log.status_info
                {
                    info.error_code = "MultipleMatches".to_owned();
                    info.recommended_action = format!(
                        "Make {path} unique in the target, or add a matching attribute of higher precedence."
                    );
                }
                return Ok(Planned::Done(o));
            }
        }
    }

    // No match: create, if allowed.
    if !t.mapping.allows(FlowAction::Add) {
        let mut o = Outcome::new(ti, id.clone());
        entry.status = Status::Skipped;
        entry.provisioning_steps.push(step(
            "EvaluateAction",
            StepType::Processing,
            StepStatus::Skipped,
            "No target object matched and the job may not create objects (flowTypes has no Add)",
        ));
        o.log = Some(entry);
        o.tally = Tally::Skipped;
        o.writes = writes;
        o.writes.push(Write::Seen(fp));
        return Ok(Planned::Done(o));
    }
    let mut resource = match t.mapping.attribute_mappings.create_resource(&source, &ctx) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Planned::Done(mapping_failure(
                cx, ti, &id, entry, &e, writes,
            )));
        }
    };
    if let Some(members) = &members {
        let list: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": m.as_str()}))
            .collect();
        if !list.is_empty() {
            resource.set("members", Value::Array(list));
        }
    }
    entry.modified_properties = if t.redacts {
        t.mapping
            .attribute_mappings
            .create_attributes_for_log(&source, &ctx)
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| property(k, None, Some(v)))
            .collect()
    } else {
        // What the create sends, read back from the resource built (no second evaluation of
        // the mappings); nothing in it came through Redact.
        t.targets
            .iter()
            .filter_map(|(name, path)| {
                read_path(&resource, path, &cx.eng.registry).map(|v| property(name, None, Some(&v)))
            })
            .collect()
    };
    if let Some(members) = &members
        && !members.is_empty()
    {
        entry.modified_properties.push(ModifiedProperty {
            display_name: "members".to_owned(),
            old_value: None,
            new_value: Some(format!("{} members", members.len())),
        });
    }
    entry.action = Action::Create;
    entry.provisioning_steps.push(step(
        "EvaluateAction",
        StepType::Processing,
        StepStatus::Success,
        "No target object matched: it will be created",
    ));
    let matching = values
        .iter()
        .map(|(p, v)| (p.to_string(), v.clone()))
        .collect();
    Ok(Planned::Export(Box::new(Export {
        ti,
        id: id.clone(),
        entry,
        op: ExportOp::Create {
            resource,
            key: CreateKey::new(id.as_str()),
            matching,
        },
        writes,
        fingerprint: Some(fp),
        escrowed,
    })))
}

/// Whether the job disables (rather than deletes or leaves alone) what leaves scope.
fn disables_out_of_scope(cx: &Cx<'_>, ti: usize) -> bool {
    let m = &cx.eng.types[ti].mapping;
    m.allows(FlowAction::Update)
        && match cx.eng.job.out_of_scope {
            OutOfScope::Disable => true,
            OutOfScope::Delete => !m.allows(FlowAction::Delete),
            OutOfScope::Skip => false,
        }
}

/// Whether the target object is active (`active` true), read from the target; `None` when it
/// cannot be read or does not say.
async fn active_in_target(cx: &Cx<'_>, ti: usize, target_id: &TargetId) -> Option<bool> {
    let tt = cx.eng.types[ti].target_type();
    let object = super::read::with_retries(cx, || cx.eng.target.get(tt, target_id))
        .await
        .ok()??;
    object.resource.get("active").and_then(bool_value)
}

fn plan_out_of_scope(
    cx: &Cx<'_>,
    ti: usize,
    id: SourceId,
    link: Option<Link>,
    mut entry: LogEntry,
    explanation: String,
) -> Outcome {
    let t = &cx.eng.types[ti];
    let mut o = Outcome::new(ti, id.clone());
    o.writes.push(Write::DropEscrow);
    let Some(link) = link else {
        entry.status = Status::Skipped;
        entry.status_info = Some(StatusInfo {
            error_code: "NotInScope".to_owned(),
            reason: explanation,
            recommended_action: "None, if the object should not be provisioned; otherwise change the object or the scoping filter.".to_owned(),
        });
        o.log = Some(entry);
        o.tally = Tally::Skipped;
        return o;
    };
    let action = match cx.eng.job.out_of_scope {
        OutOfScope::Skip => None,
        OutOfScope::Delete if t.mapping.allows(FlowAction::Delete) => Some(DeleteAction::Delete),
        OutOfScope::Delete | OutOfScope::Disable => (!link.disabled
            && t.mapping.allows(FlowAction::Update))
        .then_some(DeleteAction::Disable),
    };
    match action {
        Some(action) => {
            o.writes.push(Write::Stage(
                StagedDelete::new(
                    id,
                    link.target_id,
                    action,
                    format!("left scope: {explanation}"),
                    cx.now,
                )
                .with_display_name(entry.source_identity.display_name.clone()),
            ));
            o.tally = Tally::Staged;
        }
        None if cx.eng.job.out_of_scope == OutOfScope::Skip && !link.disabled => {
            entry.status = Status::Skipped;
            entry.target_identity.id = link.target_id.to_string();
            entry.status_info = Some(StatusInfo {
                error_code: "SkipOutOfScopeDeletions".to_owned(),
                reason: explanation,
                recommended_action:
                    "None: the job leaves objects that leave scope alone (outOfScope: Skip)."
                        .to_owned(),
            });
            o.log = Some(entry);
            o.tally = Tally::Skipped;
        }
        None => {}
    }
    o
}

#[allow(clippy::too_many_arguments)]
fn plan_update(
    cx: &Cx<'_>,
    ti: usize,
    id: SourceId,
    source: &Resource,
    link: Link,
    current: TargetObject,
    members: Option<Vec<TargetId>>,
    mut entry: LogEntry,
    mut writes: Vec<Write>,
    fp: String,
    reconciled: bool,
    escrowed: bool,
) -> Result<Planned> {
    let t = &cx.eng.types[ti];
    let ctx = cx.ctx();
    let mut patch = if t.mapping.allows(FlowAction::Update) {
        match t
            .mapping
            .attribute_mappings
            .update(source, &current.resource, &ctx)
        {
            Ok(p) => p,
            Err(e) => {
                return Ok(Planned::Done(mapping_failure(
                    cx, ti, &id, entry, &e, writes,
                )));
            }
        }
    } else {
        PatchOp::new()
    };
    // An object the engine disabled (it left scope) and that is back is enabled again —
    // unless a mapping writes `active`: then the mapping says whether it is on.
    let reenable = link.disabled
        && !t.maps_active
        && current.resource.get("active").and_then(Value::as_bool) != Some(true)
        && !patch.operations().iter().any(|op| {
            op.path
                .as_ref()
                .is_some_and(|p| p.name().eq_ignore_ascii_case("active"))
        });
    if reenable {
        patch.push(PatchOperation::replace(
            AttributePath::new("active"),
            Value::Bool(true),
        ));
    }
    // An update that turns a live account off is a disable, whatever asked for it (an HR
    // record marked inactive through a mapping of `active`, as API-driven inbound sends a
    // leaver): it is held with the cycle's other disables and deletes and counted against
    // the deletion threshold, so a bad export that marks everyone inactive is held.
    let turn_off = !link.disabled
        && patch.operations().iter().any(turns_off)
        && current.resource.get("active").and_then(Value::as_bool) != Some(false)
        // Last: a connector may build its capabilities on each call.
        && cx.eng.target.capabilities().soft_delete;
    if turn_off {
        let mut rest = PatchOp::new();
        for op in patch.into_operations() {
            if !turns_off(&op) {
                rest.push(op);
            }
        }
        patch = rest;
        writes.push(Write::Stage(
            StagedDelete::new(
                id.clone(),
                link.target_id.clone(),
                DeleteAction::Disable,
                "the source turns the account off (active: false)",
                cx.now,
            )
            .with_display_name(entry.source_identity.display_name.clone()),
        ));
    }
    if let Some(desired) = &members {
        member_diff(&current.resource, desired, &mut patch);
    }
    let mut new_link = link.clone();
    new_link.source_fingerprint = Some(fp.clone());
    // Still disabled only if a mapping of `active` keeps it off.
    new_link.disabled = link.disabled
        && t.maps_active
        && !patch.operations().iter().any(|op| {
            op.path.as_ref().is_some_and(crate::engine::is_core_active)
                && op
                    .value
                    .as_ref()
                    .is_some_and(|v| bool_value(v) == Some(true))
        });
    new_link.updated = cx.now;
    if patch.is_empty() {
        let mut o = Outcome::new(ti, id);
        let matched_now = writes.iter().any(|w| matches!(w, Write::Linked));
        if matched_now {
            writes.push(Write::Link(new_link));
        } else if new_link.source_fingerprint != link.source_fingerprint
            || new_link.disabled != link.disabled
        {
            writes.push(Write::LinkUpdate(new_link));
        }
        writes.push(Write::DropEscrow);
        writes.push(Write::DropIntent);
        if turn_off {
            o.tally = Tally::Staged;
        }
        if matched_now {
            entry.action = Action::Other;
            entry.provisioning_steps.push(step(
                "EvaluateAction",
                StepType::Processing,
                StepStatus::Success,
                "Matched an existing target object that is already in sync; linked it",
            ));
            o.log = Some(entry);
        }
        o.writes = writes;
        return Ok(Planned::Done(o));
    }
    let redacted = if t.redacts {
        t.mapping
            .attribute_mappings
            .redacted_targets(source, &ctx)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    entry.modified_properties = patch
        .operations()
        .iter()
        .map(|op| {
            let name = op
                .path
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let old = op
                .path
                .as_ref()
                .and_then(|p| read_path(&current.resource, p, &cx.eng.registry));
            let hidden = redacted.iter().any(|r| r.eq_ignore_ascii_case(&name));
            let new = if hidden {
                Some(Value::from("[Redact]"))
            } else {
                op.value.clone()
            };
            let old = if hidden {
                old.map(|_| Value::from("[Redact]"))
            } else {
                old
            };
            property(&name, old.as_ref(), new.as_ref())
        })
        .collect();
    entry.action = Action::Update;
    entry.provisioning_steps.push(step(
        "EvaluateAction",
        StepType::Processing,
        StepStatus::Success,
        if reenable {
            "The object is back in scope: it will be re-enabled and updated".to_owned()
        } else if reconciled {
            "The target differs from the desired values (drift): it will be corrected".to_owned()
        } else {
            format!("{} attribute(s) will be updated", patch.operations().len())
        },
    ));
    entry.reconciled = reconciled && !reenable;
    Ok(Planned::Export(Box::new(Export {
        ti,
        id,
        entry,
        op: ExportOp::Update {
            target_id: current.id,
            patch,
            link: new_link,
            reconciled: reconciled && !reenable,
        },
        writes,
        fingerprint: Some(fp),
        escrowed,
    })))
}

/// Whether a PATCH operation sets the core `active` attribute to false.
fn turns_off(op: &PatchOperation) -> bool {
    !matches!(op.op, scim_model::patch::PatchOpKind::Remove)
        && op.path.as_ref().is_some_and(crate::engine::is_core_active)
        && op
            .value
            .as_ref()
            .is_some_and(|v| bool_value(v) == Some(false))
}

/// A boolean as SCIM peers send one: JSON `true`/`false`, or the strings `"True"`/`"False"`
/// in any case (Entra's expressions produce strings).
fn bool_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Adds the member additions and removals that bring the target group's members to
/// `desired`.
fn member_diff(current: &Resource, desired: &[TargetId], patch: &mut PatchOp) {
    let have: BTreeSet<&str> = current
        .get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let want: BTreeSet<&str> = desired.iter().map(TargetId::as_str).collect();
    let add: Vec<Value> = want
        .difference(&have)
        .map(|v| json!({"value": v}))
        .collect();
    if !add.is_empty() {
        patch.push(PatchOperation::add(
            AttributePath::new("members"),
            Value::Array(add),
        ));
    }
    for gone in have.difference(&want) {
        if let Some(op) = remove_member(gone) {
            patch.push(op);
        }
    }
}

/// `remove members[value eq "id"]`.
pub(crate) fn remove_member(target_id: &str) -> Option<PatchOperation> {
    let filter = Filter::parse(&format!("value eq {}", Value::from(target_id))).ok()?;
    Some(PatchOperation::remove(
        AttributePath::new("members").with_filter(filter),
    ))
}

async fn plan_members(
    cx: &Cx<'_>,
    ti: usize,
    id: SourceId,
    link: Link,
    added: Vec<SourceId>,
    removed: Vec<SourceId>,
) -> Result<Planned> {
    let mut entry = cx.entry(ti, &id, Action::Update, Status::Success);
    entry.target_identity.id = link.target_id.to_string();
    let delta = super::refs::translate_member_delta(cx, ti, &id, &added, &removed).await?;
    let mut patch = PatchOp::new();
    if !delta.add.is_empty() {
        let list: Vec<Value> = delta
            .add
            .iter()
            .map(|m| json!({"value": m.as_str()}))
            .collect();
        patch.push(PatchOperation::add(
            AttributePath::new("members"),
            Value::Array(list),
        ));
    }
    for r in &delta.remove {
        if let Some(op) = remove_member(r.as_str()) {
            patch.push(op);
        }
    }
    entry.provisioning_steps.push(step(
        "ImportObject",
        StepType::Import,
        StepStatus::Success,
        format!(
            "Received member changes of group {id}: {} added, {} removed",
            added.len(),
            removed.len()
        ),
    ));
    if patch.is_empty() {
        let mut o = Outcome::new(ti, id);
        o.writes = delta.writes;
        return Ok(Planned::Done(o));
    }
    entry.modified_properties.push(ModifiedProperty {
        display_name: "members".to_owned(),
        old_value: None,
        new_value: Some(format!(
            "{} added, {} removed",
            delta.add.len(),
            delta.remove.len()
        )),
    });
    let escrowed = lock(&cx.escrows).contains_key(&(ti, id.clone()));
    let mut new_link = link.clone();
    new_link.updated = cx.now;
    // The fingerprint covered the whole group; it no longer matches, so a later whole
    // upsert is compared in full.
    new_link.source_fingerprint = None;
    Ok(Planned::Export(Box::new(Export {
        ti,
        id,
        entry,
        op: ExportOp::Update {
            target_id: link.target_id,
            patch,
            link: new_link,
            reconciled: false,
        },
        writes: delta.writes,
        fingerprint: None,
        escrowed,
    })))
}

/// Runs one export and says what to record.
async fn export(cx: &Cx<'_>, e: Export) -> Outcome {
    let eng = cx.eng;
    let t = &eng.types[e.ti];
    let tt = t.target_type();
    let Export {
        ti,
        id,
        mut entry,
        op,
        mut writes,
        fingerprint,
        escrowed,
    } = e;
    let result = match &op {
        ExportOp::Create { resource, key, .. } => {
            create(cx, tt, resource, key).await.map(|object| object.id)
        }
        // Only the answer matters, not the object after the change (a target may skip
        // reading it back: a group of a million members is not sent back for one change).
        ExportOp::Update {
            target_id, patch, ..
        } => super::read::with_retries(cx, || eng.target.apply_patch(tt, target_id, patch, None))
            .await
            .map(|_| target_id.clone()),
    };
    match result {
        Ok(target_id) => {
            let mut o = Outcome::new(ti, id.clone());
            entry.target_identity.id = target_id.to_string();
            entry.provisioning_steps.push(step(
                "ProvisionObject",
                StepType::Export,
                StepStatus::Success,
                match &op {
                    ExportOp::Create { .. } => format!("Created target object {target_id}"),
                    ExportOp::Update { .. } => format!("Updated target object {target_id}"),
                },
            ));
            let link = match op {
                ExportOp::Create { .. } => {
                    o.tally = Tally::Created;
                    writes.push(Write::Linked);
                    let mut l = Link::new(id.clone(), target_id, cx.now);
                    l.source_fingerprint = fingerprint;
                    l
                }
                ExportOp::Update {
                    link, reconciled, ..
                } => {
                    o.tally = if reconciled {
                        Tally::Reconciled
                    } else {
                        Tally::Updated
                    };
                    link
                }
            };
            if writes.iter().any(|w| matches!(w, Write::Linked)) {
                writes.push(Write::Link(link));
            } else {
                writes.push(Write::LinkUpdate(link));
            }
            writes.push(Write::DropIntent);
            if escrowed {
                writes.push(Write::DropEscrow);
            }
            o.writes = writes;
            o.log = Some(entry);
            o
        }
        Err(err) => {
            // An update that failed leaves the link as it was; a create's intent stays until
            // it is resolved by its key.
            if let Some(fp) = fingerprint {
                // So an unchanged object waits for its retry instead of failing every cycle.
                writes.push(Write::Seen(fp));
            }
            failure(cx, ti, &id, Some(entry), &err, writes)
        }
    }
}

/// Creates with the object's key; when the answer is lost (an error after the target may
/// have acted), the object is looked up by its key, and the create is tried again only if
/// the lookup says for certain that there is none.
async fn create(
    cx: &Cx<'_>,
    tt: &ObjectType,
    resource: &Resource,
    key: &CreateKey,
) -> connectors::Result<CreatedObject> {
    let eng = cx.eng;
    let mut attempt = 0u32;
    loop {
        // Only the new id is kept: the target need not copy the object back out.
        match eng.target.create_for_id(tt, resource, Some(key)).await {
            Ok(o) => return Ok(o),
            Err(e) => {
                if e.kind() == ErrorKind::Fatal {
                    return Err(e);
                }
                let path = AttributePath::new("externalId");
                let value = Value::String(
                    resource
                        .external_id()
                        .map(str::to_owned)
                        .unwrap_or_else(|| key.to_string()),
                );
                match eng.target.find(tt, &path, &value, 2).await {
                    Ok(found) if found.len() == 1 => {
                        if let Some(o) = found.into_iter().next() {
                            return Ok(o.into());
                        }
                    }
                    // Certainly not created: it may be tried again.
                    Ok(found) if found.is_empty() => {}
                    // Not known whether the target acted (the lookup failed, or found more
                    // than one): another create could make a second object. The intent
                    // stays, and a later cycle resolves it by its key.
                    _ => return Err(e),
                }
                if e.is_retryable() && attempt < eng.job.retry.immediate_retries {
                    let wait = e
                        .retry_after()
                        .unwrap_or_else(|| std::time::Duration::from_millis(250 << attempt));
                    eng.clock.sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

/// A failed object: logged with a recommendation and escrowed for a retry (a fatal error
/// stops the cycle instead).
pub(crate) fn failure(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    entry: Option<LogEntry>,
    err: &connectors::Error,
    writes: Vec<Write>,
) -> Outcome {
    failure_parked(cx, ti, id, entry, err, writes, Park::Object)
}

/// How a failure waits for its retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Park {
    /// Escrowed, retried on the job's schedule.
    Object,
    /// Escrowed as a reference failure (counted apart by the quarantine rules).
    Reference,
    /// Not escrowed: a durable record (a held deletion) already brings it back.
    No,
}

/// A failure, logged, and parked as `park` says (a fatal error stops the cycle instead).
pub(crate) fn failure_parked(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    entry: Option<LogEntry>,
    err: &connectors::Error,
    writes: Vec<Write>,
    park: Park,
) -> Outcome {
    let mut o = Outcome::new(ti, id.clone());
    o.writes = writes;
    let mut entry = entry.unwrap_or_else(|| cx.entry(ti, id, Action::Other, Status::Failure));
    entry.status = Status::Failure;
    let (code, advice) = advice(err);
    entry.provisioning_steps.push(step(
        "ProvisionObject",
        StepType::Export,
        StepStatus::Failure,
        err.to_string(),
    ));
    entry.status_info = Some(StatusInfo {
        error_code: code.to_owned(),
        reason: err.to_string(),
        recommended_action: advice.to_owned(),
    });
    if err.kind() == ErrorKind::Fatal {
        o.fatal = Some(err.to_string());
        o.log = Some(entry);
        return o;
    }
    if park != Park::No {
        let reference = park == Park::Reference;
        o.writes.push(Write::Escrow(next_escrow(
            cx,
            ti,
            id,
            &err.to_string(),
            reference,
        )));
    }
    o.log = Some(entry);
    o.tally = Tally::Failed;
    o
}

/// The escrow after one more failure.
pub(crate) fn next_escrow(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    error: &str,
    reference: bool,
) -> Escrow {
    let policy = &cx.eng.job.retry;
    match lock(&cx.escrows).get(&(ti, id.clone())) {
        Some(previous) => {
            let mut e = previous.clone();
            e.attempts = e.attempts.saturating_add(1);
            e.next_retry = policy.next_retry(e.first_failure, e.attempts).max(cx.now);
            e.last_error = error.to_owned();
            // An object escrow stays one when a reference of the same object fails too: its
            // retry processes the whole object (the reference included), while a reference
            // escrow is dropped as soon as the reference resolves, which would forget the
            // object's failed export.
            e.reference = e.reference && reference;
            e
        }
        None => {
            let mut e = Escrow::new(id.clone(), error, cx.now, policy.next_retry(cx.now, 1));
            e.reference = reference;
            e
        }
    }
}

fn mapping_failure(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    mut entry: LogEntry,
    err: &scoping::Error,
    writes: Vec<Write>,
) -> Outcome {
    let mut o = Outcome::new(ti, id.clone());
    o.writes = writes;
    entry.status = Status::Failure;
    entry.provisioning_steps.push(step(
        "EvaluateAction",
        StepType::Processing,
        StepStatus::Failure,
        err.to_string(),
    ));
    entry.status_info = Some(StatusInfo {
        error_code: "AttributeMappingFailed".to_owned(),
        reason: err.to_string(),
        recommended_action: "Fix the source value or the attribute mapping named in the reason; the object is retried.".to_owned(),
    });
    o.writes.push(Write::Escrow(next_escrow(
        cx,
        ti,
        id,
        &err.to_string(),
        false,
    )));
    o.log = Some(entry);
    o.tally = Tally::Failed;
    o
}

/// An error code and a recommendation for a person.
fn advice(err: &connectors::Error) -> (&'static str, &'static str) {
    match err.kind() {
        ErrorKind::Uniqueness => (
            "TargetUniquenessConflict",
            "Another target object holds a value that must be unique. Make the mapped value unique (e.g. with SelectUniqueValue or RandomString) or make the objects match.",
        ),
        ErrorKind::NotFound => (
            "TargetObjectNotFound",
            "The target object is gone; the object is matched again on its next retry.",
        ),
        ErrorKind::VersionConflict => (
            "TargetVersionConflict",
            "The target object changed meanwhile; it is read again on the next retry.",
        ),
        ErrorKind::Temporary => (
            "TargetTemporaryFailure",
            "The target was unavailable or throttled; the object is retried with backoff.",
        ),
        ErrorKind::Unsupported => (
            "TargetOperationUnsupported",
            "The target does not support this operation; check the target's capabilities and the job's flowTypes.",
        ),
        ErrorKind::Fatal => (
            "TargetFatal",
            "The target refused the job (credentials, endpoint). Fix the connection; the job is quarantined until a cycle succeeds.",
        ),
        _ => (
            "TargetRejected",
            "The target rejected the request; fix the value named in the reason. The object is retried with backoff.",
        ),
    }
}

/// What a preview reports for a planned export: the action, not applied.
fn preview_outcome(e: Export) -> Outcome {
    let mut o = Outcome::new(e.ti, e.id);
    let mut entry = e.entry;
    entry.status = Status::Skipped;
    entry.provisioning_steps.push(step(
        "ProvisionObject",
        StepType::Export,
        StepStatus::Skipped,
        "Preview: nothing was written",
    ));
    o.tally = match (&e.op, entry.action) {
        (ExportOp::Create { .. }, _) => Tally::Created,
        (
            ExportOp::Update {
                reconciled: true, ..
            },
            _,
        ) => Tally::Reconciled,
        _ => Tally::Updated,
    };
    o.log = Some(entry);
    o
}

/// The value at a path of a resource (for a log's old value).
pub(crate) fn read_path(
    r: &Resource,
    path: &AttributePath,
    registry: &scim_model::SchemaRegistry,
) -> Option<Value> {
    let top = r.attribute(path.urn(), path.name())?;
    let matches = |e: &Value| {
        e.as_object()
            .and_then(|o| Resource::from_object(o.clone()).ok())
            .is_some_and(|el| filter_holds(path, &el, registry))
    };
    let element = match path.filter() {
        Some(_) => match top {
            Value::Array(items) => items.iter().find(|e| matches(e))?,
            single if matches(single) => single,
            _ => return None,
        },
        None => top,
    };
    match path.sub_attribute() {
        Some(sub) => match element {
            Value::Object(o) => scim_model::get_ci(o, sub).cloned(),
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .filter_map(|i| {
                        i.as_object()
                            .and_then(|o| scim_model::get_ci(o, sub))
                            .cloned()
                    })
                    .collect(),
            )),
            _ => None,
        },
        None => Some(element.clone()),
    }
}

fn filter_holds(
    path: &AttributePath,
    element: &Resource,
    registry: &scim_model::SchemaRegistry,
) -> bool {
    path.filter()
        .is_some_and(|f| f.matches(element, registry).unwrap_or(false))
}
