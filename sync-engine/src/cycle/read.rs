//! Reading the source: changes since the watermark, or a full import (diffed against the
//! stored fingerprints, and with deletions by absence only from a complete import).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use connectors::state::records::{self, DeleteAction, StagedDelete};
use connectors::state::{KeyRange, StateStoreExt, Table, decode_record};
use connectors::{ChangeKind, ErrorKind, SourceId, Watermark};
use indexmap::IndexSet;

use super::item::{Work, process_batch};
use super::{Cx, Item, Write, chunks, has_links, lock};
use crate::log::CycleKind;
use crate::{Error, Result};

/// Calls `f` again on temporary failures, waiting the connector's retry-after or an
/// exponential backoff, up to the job's `immediateRetries`.
pub(crate) async fn with_retries<T, F, Fut>(cx: &Cx<'_>, mut f: F) -> connectors::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = connectors::Result<T>>,
{
    let mut attempt = 0u32;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt < cx.eng.job.retry.immediate_retries => {
                let wait = e
                    .retry_after()
                    .unwrap_or_else(|| Duration::from_millis(250 << attempt.min(10)));
                cx.eng.clock.sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads and processes one object type.
pub(crate) async fn read_type(cx: &Cx<'_>, ti: usize) -> Result<()> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let ty = t.source_type();
    let caps = eng.source.capabilities();
    if caps.delta && cx.kind == CycleKind::Delta {
        let stored = eng
            .state
            .watermark(&eng.job_id, ty)
            .await
            .map_err(|e| Error::connector("reading the watermark", e))?;
        let usable = stored.filter(|w| {
            w.context == eng.config_hash
                && caps
                    .watermark_lifetime
                    .and_then(|l| chrono::Duration::from_std(l).ok())
                    .is_none_or(|l| cx.now < w.saved + l)
        });
        if let Some(record) = usable {
            match read_changes(cx, ti, &record.watermark).await {
                Ok(()) => return Ok(()),
                Err(ReadError::Resync(message)) => {
                    lock(&cx.notes).push(format!(
                        "{ty}: the source asked for a full import ({message}); imported everything"
                    ));
                }
                Err(ReadError::Stop(e)) => return Err(e),
            }
        }
    }
    full_import(cx, ti).await
}

enum ReadError {
    Resync(String),
    Stop(Error),
}

/// Reads changes page by page; each page's watermark commits with its last batch. Batches
/// overlap where a batch's plan cannot depend on what the batch before it writes (see
/// [`Pipeline::gated`](super::item::Pipeline::gated)); groups, whose members resolve through
/// links, go one batch at a time.
async fn read_changes(cx: &Cx<'_>, ti: usize, since: &Watermark) -> Result<(), ReadError> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let ty = t.source_type();
    let overlap = !cx.preview && !t.members;
    let mut pipeline = super::item::Pipeline::gated(cx);
    let mut token = None;
    let result = async {
        loop {
            let page = match pipeline
                .alongside(with_retries(cx, || {
                    eng.source.changes(ty, since, token.as_ref())
                }))
                .await
            {
                Ok(p) => p,
                Err(e) if e.kind() == ErrorKind::ResyncRequired => {
                    return Err(ReadError::Resync(e.to_string()));
                }
                Err(e) => {
                    return Err(ReadError::Stop(source_failed(cx, e, "reading changes")));
                }
            };
            let mut items: Vec<Item> = Vec::with_capacity(page.changes.len());
            for change in page.changes {
                let work = match change.kind {
                    ChangeKind::Upsert(r) => Work::Upsert(r),
                    ChangeKind::Delete => Work::Deleted("deleted at the source".to_owned()),
                    ChangeKind::Members { added, removed } => Work::Members { added, removed },
                    _ => continue,
                };
                items.push(Item {
                    ti,
                    id: change.id,
                    work,
                });
            }
            for p in &page.problems {
                lock(&cx.notes).push(format!(
                    "{ty}: unreadable change at {}: {}",
                    p.location, p.message
                ));
            }
            if !page.problems.is_empty() {
                // Do not move past changes that could not be read.
                *lock(&cx.incomplete) = true;
                pipeline.flush().await.map_err(ReadError::Stop)?;
                process_all(cx, items, None)
                    .await
                    .map_err(ReadError::Stop)?;
                return Ok(());
            }
            let watermark = Some((ti, page.watermark));
            if overlap {
                let batches = batches(cx, items, watermark);
                for (batch, w) in batches {
                    if cx.is_fatal() {
                        return Ok(());
                    }
                    pipeline.push(batch, w).await.map_err(ReadError::Stop)?;
                }
            } else {
                process_all(cx, items, watermark)
                    .await
                    .map_err(ReadError::Stop)?;
            }
            if cx.is_fatal() {
                return Ok(());
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }
    .await;
    // Every batch pushed is exported and committed before anything else happens, also when
    // the read stopped early (a full import that follows a resync reads the links they write).
    let flushed = pipeline.flush().await;
    match (result, flushed) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(ReadError::Stop(e)),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// A page's watermark, with the index of its object type.
type PageWatermark = Option<(usize, Watermark)>;

/// A page's items in batches whose ids are distinct (so changes to one object stay in order)
/// and of at most the job's page size, the watermark going with the last batch (an empty batch
/// if there are no items, so that the watermark still moves).
fn batches(
    cx: &Cx<'_>,
    items: Vec<Item>,
    watermark: PageWatermark,
) -> Vec<(Vec<Item>, PageWatermark)> {
    let size = cx.eng.job.page_size;
    let mut batches: Vec<Vec<Item>> = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    let mut ids: BTreeSet<SourceId> = BTreeSet::new();
    for item in items {
        if current.len() >= size || ids.contains(&item.id) {
            batches.push(std::mem::take(&mut current));
            ids.clear();
        }
        ids.insert(item.id.clone());
        current.push(item);
    }
    if !current.is_empty() || watermark.is_some() {
        batches.push(current);
    }
    let last = batches.len().saturating_sub(1);
    let mut watermark = watermark;
    batches
        .into_iter()
        .enumerate()
        .map(|(i, b)| (b, if i == last { watermark.take() } else { None }))
        .collect()
}

/// Processes a page's items one batch after another (see [`batches`]).
async fn process_all(
    cx: &Cx<'_>,
    items: Vec<Item>,
    watermark: Option<(usize, Watermark)>,
) -> Result<()> {
    for (batch, w) in batches(cx, items, watermark) {
        if cx.is_fatal() {
            return Ok(());
        }
        process_batch(cx, batch, w).await?;
    }
    Ok(())
}

/// A full import: every object, diffed against the fingerprints on a delta cycle; then the
/// linked objects the import did not return are deleted at the source — only if the import
/// was complete.
async fn full_import(cx: &Cx<'_>, ti: usize) -> Result<()> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let ty = t.source_type();
    let mut token = None;
    let mut seen: IndexSet<SourceId> = IndexSet::new();
    let mut complete = true;
    // On an initial or full import, objects whose manager is not linked yet are held back to
    // the end of the import (the manager is often later in it), so most are created with their
    // manager instead of being created and then patched when the manager appears.
    let defer =
        matches!(cx.kind, CycleKind::Initial | CycleKind::Full) && t.manager_target.is_some();
    let mut deferred = Deferred::default();
    if matches!(cx.kind, CycleKind::Initial | CycleKind::Full) {
        let index = super::match_index::build(cx, ti)
            .await
            .map(std::sync::Arc::new);
        if let Some(slot) = lock(&cx.match_index).get_mut(ti) {
            *slot = index;
        }
    }
    // Overlapping batches (see `Pipeline`) where a batch's plan cannot depend on what an
    // unfinished batch exports: finds are pre-filtered by the listing taken before the import,
    // managers not linked yet are held back to the end anyway, and groups (whose members
    // resolve through links) go one batch at a time.
    let overlap =
        !cx.preview && !t.members && lock(&cx.match_index).get(ti).is_some_and(Option::is_some);
    let mut pipeline = super::item::Pipeline::new(cx);
    let result = async {
        loop {
            let page = pipeline
                .alongside(with_retries(cx, || {
                    eng.source.import_page(ty, token.as_ref())
                }))
                .await
                .map_err(|e| source_failed(cx, e, "importing"))?;
            for p in &page.problems {
                complete = false;
                lock(&cx.notes).push(format!(
                    "{ty}: unreadable record at {}: {}",
                    p.location, p.message
                ));
            }
            let mut items = Vec::with_capacity(page.objects.len());
            for o in page.objects {
                if !seen.insert(o.id.clone()) {
                    continue; // an object once per import; a repeat is the connector's bug
                }
                items.push(Item {
                    ti,
                    id: o.id,
                    work: Work::Upsert(o.resource),
                });
            }
            if defer {
                let mut kept = Vec::with_capacity(items.len());
                for item in items {
                    if deferred.bytes < MAX_DEFERRED_BYTES
                        && let Work::Upsert(r) = &item.work
                        && let Some(m) = pipeline
                            .alongside(super::refs::unlinked_manager(cx, ti, &item.id, r))
                            .await?
                        && deferred.write(r)
                    {
                        // Kept at its exact size; the buffer it was written in is reused.
                        let text: Box<[u8]> = Box::from(deferred.buffer.as_slice());
                        deferred.bytes += text.len();
                        deferred.held.push(Held {
                            id: item.id,
                            manager: m,
                            text,
                        });
                    } else {
                        kept.push(item);
                    }
                }
                items = kept;
            }
            for batch in chunks(items, eng.job.page_size) {
                if cx.is_fatal() {
                    return Ok(None);
                }
                if overlap {
                    pipeline.push(batch, None).await?;
                } else {
                    process_batch(cx, batch, None).await?;
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break Ok(Some(page.watermark)),
            }
        }
    }
    .await;
    // Every batch pushed is exported and committed before anything else happens, also when
    // the import stopped early.
    let flushed = pipeline.flush().await;
    let watermark = match (result, flushed) {
        (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
        (Ok(None), Ok(())) => return Ok(()),
        (Ok(Some(w)), Ok(())) => w,
    };
    process_deferred(cx, ti, deferred.held).await?;
    if cx.is_fatal() {
        return Ok(());
    }
    if seen.is_empty() && has_links(cx, ti).await? {
        complete = false;
        lock(&cx.notes).push(format!(
            "{ty}: the full import returned no objects while objects are linked; treated as a \
             failed import, nothing is disabled or deleted"
        ));
    }
    if !complete {
        *lock(&cx.incomplete) = true;
        if !seen.is_empty() {
            lock(&cx.notes).push(format!(
                "{ty}: the import was incomplete; objects missing from it are not treated as deleted"
            ));
        }
    } else {
        stage_missing(cx, ti, &seen).await?;
    }
    if let (Some(w), true) = (watermark, complete) {
        cx.commit_outcomes(Vec::new(), Some((ti, w))).await?;
    }
    Ok(())
}

/// The most an import holds back for their managers, in bytes of JSON text: 1 GiB, about a
/// million users of a thousand bytes (a held-back object is kept as its compact JSON text,
/// about a seventh of what the parsed object takes). Beyond it, objects are processed at once
/// and get their manager by a second update when the manager is linked.
const MAX_DEFERRED_BYTES: usize = 1 << 30;

/// The objects an import holds back for their managers.
#[derive(Default)]
struct Deferred {
    held: Vec<Held>,
    /// The bytes of their text.
    bytes: usize,
    /// Where the next one's text is written (instead of a buffer grown from empty each time).
    buffer: Vec<u8>,
}

impl Deferred {
    /// Writes `resource` as compact JSON text into the buffer; `false` if it cannot be.
    fn write(&mut self, resource: &scim_model::Resource) -> bool {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, resource).is_ok()
    }
}

/// One object held back: its id, its manager's, and the object as compact JSON text.
struct Held {
    id: SourceId,
    manager: SourceId,
    text: Box<[u8]>,
}

/// Processes the objects held back for their managers, managers before their reports: level 0
/// are those whose manager is not held back (linked by now, or not coming), level 1 their
/// reports, and so on; each level in batches, so a report is planned after its manager's
/// batch committed its link. Each batch's objects are read back from their text just before
/// the batch (the source is read again for one whose text does not read, which does not
/// happen: it is what `serde_json` wrote).
async fn process_deferred(cx: &Cx<'_>, ti: usize, deferred: Vec<Held>) -> Result<()> {
    if deferred.is_empty() {
        return Ok(());
    }
    let manager_of: BTreeMap<SourceId, SourceId> = deferred
        .iter()
        .map(|h| (h.id.clone(), h.manager.clone()))
        .collect();
    let mut depth: BTreeMap<SourceId, usize> = BTreeMap::new();
    for id in manager_of.keys() {
        // Walk up the chain of held-back managers (a cycle stops the walk).
        let mut chain = vec![id.clone()];
        let mut on_chain: BTreeSet<SourceId> = BTreeSet::from([id.clone()]);
        let mut base = 0;
        while let Some(m) = chain.last().and_then(|c| manager_of.get(c)) {
            if let Some(d) = depth.get(m) {
                base = d + 1;
                break;
            }
            if !on_chain.insert(m.clone()) {
                break;
            }
            chain.push(m.clone());
        }
        for (i, c) in chain.iter().rev().enumerate() {
            depth.entry(c.clone()).or_insert(base + i);
        }
    }
    drop(manager_of);
    let mut levels: BTreeMap<usize, Vec<Held>> = BTreeMap::new();
    for held in deferred {
        let d = depth.get(&held.id).copied().unwrap_or(0);
        levels.entry(d).or_default().push(held);
    }
    let ty = cx.eng.types[ti].source_type();
    for (_, level) in levels {
        for batch in chunks(level, cx.eng.job.page_size) {
            if cx.is_fatal() {
                return Ok(());
            }
            let mut items = Vec::with_capacity(batch.len());
            for held in batch {
                let work = match serde_json::from_slice::<scim_model::Resource>(&held.text) {
                    // Its fingerprint from the text: the object is not written again for it.
                    Ok(resource) => Some(Work::Reread {
                        fingerprint: super::item::fingerprint_of_text(cx, &held.text),
                        resource,
                    }),
                    Err(_) => with_retries(cx, || cx.eng.source.get(ty, &held.id))
                        .await
                        .map_err(|e| source_failed(cx, e, "reading"))?
                        .map(Work::Upsert),
                };
                if let Some(work) = work {
                    items.push(Item {
                        ti,
                        id: held.id,
                        work,
                    });
                }
            }
            process_batch(cx, items, None).await?;
        }
    }
    Ok(())
}

/// Holds a delete (or a disable, when the job may not delete) for every linked object a
/// complete full import did not return.
async fn stage_missing(cx: &Cx<'_>, ti: usize, seen: &IndexSet<SourceId>) -> Result<()> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let ty = t.source_type();
    let delete = t.mapping.allows(crate::job::FlowAction::Delete);
    let mut range = KeyRange::prefix(records::job_type_prefix(&eng.job_id, ty).into_bytes());
    loop {
        let rows = eng
            .state
            .scan(Table::LINKS, &range, 1000)
            .await
            .map_err(|e| Error::connector("reading links", e))?;
        let done = rows.len() < 1000;
        if let Some((last, _)) = rows.last() {
            range = range.after(last.clone());
        }
        // The import returned nearly every linked object: those are known from the key alone,
        // and only the records of the others are read.
        let mut outcomes = Vec::new();
        for (key, value) in rows {
            let known = records::object_id_of_key(&key).map(SourceId::new);
            if known.as_ref().is_some_and(|id| seen.contains(id)) {
                continue;
            }
            let link: records::Link = decode_record(Table::LINKS, &key, &value)
                .map_err(|e| Error::connector("reading links", e))?;
            if known.is_none() && seen.contains(&link.source_id) {
                continue;
            }
            let action = if delete {
                DeleteAction::Delete
            } else if !link.disabled {
                DeleteAction::Disable
            } else {
                continue;
            };
            // Already held: kept, unless it is a disable and the object is now gone from the
            // source where the job deletes — then the delete replaces it (a disable held
            // because the object left scope must not outlive the object).
            if lock(&cx.staged)
                .get(&(ti, link.source_id.clone()))
                .is_some_and(|s| s.action == action || s.action == DeleteAction::Delete)
            {
                continue;
            }
            let mut o = super::Outcome::new(ti, link.source_id.clone());
            o.writes.push(Write::Stage(StagedDelete::new(
                link.source_id.clone(),
                link.target_id.clone(),
                action,
                "missing from a complete full import: deleted at the source",
                cx.now,
            )));
            o.writes.push(Write::DropEscrow);
            o.tally = super::Tally::Staged;
            outcomes.push(o);
        }
        if !outcomes.is_empty() {
            cx.commit_outcomes(outcomes, None).await?;
        }
        if done {
            return Ok(());
        }
    }
}

/// A source failure that stops the cycle; a fatal one also quarantines the job.
fn source_failed(cx: &Cx<'_>, e: connectors::Error, during: &str) -> Error {
    if e.kind() == ErrorKind::Fatal {
        *lock(&cx.fatal) = Some(e.to_string());
    }
    Error::connector(format!("{during} {}", cx.eng.source.name()), e)
}
