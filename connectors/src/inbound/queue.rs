//! [`InboundQueue`]: accepted records on a [`StateStore`], read back as a [`SourceConnector`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_model::Resource;
use serde::{Deserialize, Serialize};

use super::error::InboundError;
use super::merge::merge_record;
use super::receipt::{Receipt, ReceiptId, ReceiptRecord};
use super::{InboundOptions, request};
use crate::clock::{Clock, SystemClock};
use crate::source::{
    Change, ChangePage, ImportPage, RecordProblem, SourceCapabilities, SourceConnector,
    SourceObject,
};
use crate::state::{Key, KeyRange, StateStore, StateStoreExt, Table, Txn, WriteBatch, WriteOp};
use crate::types::{ObjectType, PageToken, SourceId, Watermark};
use crate::{Error, Result};

/// How often an accept tries again when another process took the next position first.
const MAX_ATTEMPTS: usize = 64;
/// How many log entries a compaction removes per commit.
const COMPACT_BATCH: usize = 1000;

/// One accepted record at its queue position: what was sent, and the record's current view
/// right after it (the previous view with this record merged over it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct QueuedRecord {
    /// The position.
    pub position: u64,
    /// The record's source id (its `externalId`).
    pub source_id: SourceId,
    /// The operation's `bulkId`.
    pub bulk_id: String,
    /// The request it came in.
    pub receipt: ReceiptId,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
    /// The record as sent (`data` of its operation).
    pub record: Resource,
    /// The record's whole view after it: what [`SourceConnector::changes`] reports.
    pub view: Resource,
}

/// The current view of one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Current {
    source_id: SourceId,
    /// The position of the last record merged into it.
    position: u64,
    receipt: ReceiptId,
    updated_at: DateTime<Utc>,
    view: Resource,
}

/// A durable queue of API-driven inbound provisioning requests (Entra's `/bulkUpload`), and
/// the [`SourceConnector`] that the sync engine reads them from.
///
/// # Accepting
///
/// [`InboundQueue::accept`] takes a request body and its `Content-Type`, and either refuses it
/// whole with every problem ([`InboundError::Refused`]) or stores it whole in **one** state
/// store commit and answers with a [`Receipt`]: its records appended at the next queue
/// positions, each record's current view updated (see [`merge_record`]), the receipt
/// written. A crash therefore leaves a request either fully accepted or absent. Processing is
/// asynchronous, as with Entra: acceptance means *staged*; the engine's next cycle reads it.
///
/// Positions are never reused, also with several `accept` calls at once: in one process a
/// lock orders them, and across processes sharing one store each commit *claims* its first
/// position with an [`Insert`](crate::WriteOp::Insert) (in the table `inbound_requests`), so
/// of two writers that read the same end of the queue one commits and the other reads again
/// and takes the next positions.
///
/// # Reading (the `SourceConnector`)
///
/// Object type `User` only (other types are [`Error::Unsupported`]), with delta support:
/// - the watermark is the queue position ([`Watermark::from_u64`]);
///   [`current_watermark`](SourceConnector::current_watermark) is the last position (0 for an
///   empty queue);
/// - [`changes`](SourceConnector::changes) returns the records after `since`, in order, as
///   upserts of the record's view right after it, in pages of
///   [`InboundOptions::page_size`], each with the watermark of its last record. A watermark
///   beyond the queue's end (another queue's, or not a queue position at all) or one before a
///   [`compact`](InboundQueue::compact)ion point is [`Error::ResyncRequired`], never an empty
///   page;
/// - [`import_page`](SourceConnector::import_page) pages through the current view of every
///   record by source id (keyset paging, so it stays stable while requests arrive), with the
///   last position read before the first page as the watermark on the last page;
/// - [`get`](SourceConnector::get) returns a record's current view.
///
/// The queue never reports a deletion: absence from a request means nothing, and a leaver is
/// sent with `active: false`, as with Entra — which the engine provisions as a disable.
///
/// # Retention
///
/// Accepted records stay in the queue's log until [`InboundQueue::compact`] drops those at or
/// before a watermark — the host calls it with the engine's committed watermark. The current
/// views (which full imports and `get` read) stay; receipts stay until
/// [`InboundQueue::prune_receipts`] drops those older than the host keeps them.
///
/// # Storage
///
/// Its own tables ([`InboundQueue::TABLES`]), every key starting with the queue's name, so
/// several queues (one per HR source, as Entra has one app per source) share one store.
///
/// `Clone` gives another handle to the same queue (and the same lock).
#[derive(Clone, Debug)]
pub struct InboundQueue {
    name: String,
    queue: String,
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    options: InboundOptions,
    lock: Arc<futures::lock::Mutex<()>>,
}

impl InboundQueue {
    /// Per queue and position: the accepted records ([`QueuedRecord`]).
    pub const LOG: Table = Table::new("inbound_log");
    /// Per queue and source id: each record's current view.
    pub const CURRENT: Table = Table::new("inbound_current");
    /// Per queue and receipt id: the receipts.
    pub const RECEIPTS: Table = Table::new("inbound_receipts");
    /// Per queue and first position: the receipt id of the request there (the position
    /// claims; kept, so a position is never claimed twice).
    pub const REQUESTS: Table = Table::new("inbound_requests");
    /// Per queue: the last position, and compaction marks.
    pub const META: Table = Table::new("inbound_meta");
    /// Every table the queue uses.
    pub const TABLES: [Table; 5] = [
        Self::LOG,
        Self::CURRENT,
        Self::RECEIPTS,
        Self::REQUESTS,
        Self::META,
    ];

    /// The queue `queue` on `store`, with the default options and the system clock.
    pub fn new(store: Arc<dyn StateStore>, queue: impl Into<String>) -> Self {
        let queue = queue.into();
        InboundQueue {
            name: format!("inbound:{queue}"),
            queue,
            store,
            clock: Arc::new(SystemClock),
            options: InboundOptions::default(),
            lock: Arc::new(futures::lock::Mutex::new(())),
        }
    }

    /// Uses `clock` for acceptance times.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the options.
    pub fn with_options(mut self, options: InboundOptions) -> Self {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &InboundOptions {
        &self.options
    }

    /// The queue's name (the prefix of its keys).
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Checks a request and, if it is acceptable, stores it durably and returns its receipt.
    ///
    /// `content_type` is the request's `Content-Type` header (`None` when absent). The checks,
    /// all of which run so that every problem is reported:
    /// - `Content-Type` is `application/scim+json` (scim-model's
    ///   [`check_content_type`](scim_model::message::check_content_type)). Entra documents
    ///   only that the header must be that type, and answers a missing or different one —
    ///   `application/json` included — with 400 "Invalid Data Format"; so does the queue. It
    ///   tolerates what HTTP allows in the same type (RFC 9110 §8.3.1): any letter case, and
    ///   parameters, a `charset` other than UTF-8 excepted. A client that cannot set the SCIM
    ///   type is let in by [`InboundOptions::accept_application_json`];
    /// - the body is at most [`Limits::max_payload_bytes`](scim_model::Limits) (1 MiB by
    ///   default; 413 otherwise), UTF-8 (a leading byte order mark is skipped), and JSON;
    /// - it is a SCIM BulkRequest holding at least one operation, and meets the API-driven
    ///   inbound profile ([`InboundProfile`](scim_model::message::InboundProfile): at most 50
    ///   operations, each `POST` to `/Users` with a unique `bulkId`, `data.schemas` listing
    ///   the core and enterprise User schemas and every extension block sent) — with
    ///   `data.externalId` always required, since it is the record's source id;
    /// - each `data` is a SCIM resource.
    ///
    /// # Errors
    ///
    /// [`InboundError::Refused`] with every problem, or [`InboundError::Store`] when the store
    /// fails. Either way nothing was stored.
    pub async fn accept(
        &self,
        body: impl AsRef<[u8]>,
        content_type: Option<&str>,
    ) -> Result<Receipt, InboundError> {
        let ops = request::read(body.as_ref(), content_type, &self.options)
            .map_err(|problems| InboundError::Refused { problems })?;
        let _guard = self.lock.lock().await;
        let accepted_at = self.clock.now();
        for _ in 0..MAX_ATTEMPTS {
            match self.try_append(&ops, accepted_at).await {
                Ok(receipt) => return Ok(receipt),
                // Another writer claimed the position (or, once in 2^128, the receipt id):
                // read the queue's end again.
                Err(Error::KeyExists { .. }) => continue,
                Err(e) => return Err(InboundError::Store(e)),
            }
        }
        Err(InboundError::Store(Error::temporary(
            self.name.as_str(),
            format!(
                "other writers took the next queue position {MAX_ATTEMPTS} times in a row; try again"
            ),
        )))
    }

    /// One attempt at appending a request after the queue's current end.
    async fn try_append(
        &self,
        ops: &[request::Operation],
        accepted_at: DateTime<Utc>,
    ) -> Result<Receipt> {
        let last = self.last_position().await?;
        let receipt_id = ReceiptId::random()?;
        let mut txn = Txn::new(None);
        let mut records = Vec::with_capacity(ops.len());
        let mut position = last;
        for op in ops {
            position = position
                .checked_add(1)
                .ok_or_else(|| Error::permanent(self.name.as_str(), "the queue is full"))?;
            let previous = self.current(&op.source_id).await?;
            let view = merge_record(previous.as_ref().map(|c| &c.view), &op.record);
            txn.put_json(
                Self::LOG,
                self.log_key(position),
                &QueuedRecord {
                    position,
                    source_id: op.source_id.clone(),
                    bulk_id: op.bulk_id.clone(),
                    receipt: receipt_id.clone(),
                    accepted_at,
                    record: op.record.clone(),
                    view: view.clone(),
                },
            )?;
            txn.put_json(
                Self::CURRENT,
                self.current_key(&op.source_id),
                &Current {
                    source_id: op.source_id.clone(),
                    position,
                    receipt: receipt_id.clone(),
                    updated_at: accepted_at,
                    view,
                },
            )?;
            records.push(ReceiptRecord {
                bulk_id: op.bulk_id.clone(),
                object_type: ObjectType::USER,
                source_id: op.source_id.clone(),
                position,
            });
        }
        let receipt = Receipt {
            id: receipt_id,
            queue: self.queue.clone(),
            accepted_at,
            records,
        };
        // The claim of the first position: fails the whole commit if another writer took it.
        txn.insert_json(Self::REQUESTS, self.log_key(last + 1), &receipt.id)?;
        txn.insert_json(Self::RECEIPTS, self.receipt_key(&receipt.id), &receipt)?;
        txn.put_json(Self::META, self.head_key(), &position)?;
        txn.commit(self.store.as_ref()).await?;
        Ok(receipt)
    }

    /// The receipt of an accepted request, `None` if this queue never accepted it.
    pub async fn receipt(&self, id: &ReceiptId) -> Result<Option<Receipt>> {
        self.store
            .get_json(Self::RECEIPTS, &self.receipt_key(id))
            .await
    }

    /// The record at a position, `None` if there is none (not yet, or compacted).
    pub async fn record_at(&self, position: u64) -> Result<Option<QueuedRecord>> {
        self.store
            .get_json(Self::LOG, &self.log_key(position))
            .await
    }

    /// The position of the last accepted record (0 when none was).
    pub async fn last_position(&self) -> Result<u64> {
        Ok(self
            .store
            .get_json::<u64>(Self::META, &self.head_key())
            .await?
            .unwrap_or(0))
    }

    /// The position up to which records may have been dropped by [`InboundQueue::compact`]
    /// (0 when never compacted).
    pub async fn compacted_through(&self) -> Result<u64> {
        Ok(self
            .compaction_marks()
            .await?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    async fn compaction_marks(&self) -> Result<Vec<u64>> {
        let range = KeyRange::prefix(self.marks_prefix().into_bytes());
        let rows = self.store.scan(Self::META, &range, 10_000).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, _)| position_of(&k))
            .collect())
    }

    /// Drops the log entries at or before `up_to` (a watermark of this queue, normally the
    /// sync engine's committed one), and returns how many it dropped.
    ///
    /// The current views and the receipts stay, so full imports, `get` and receipt look-ups
    /// work as before; reading changes from a watermark before `up_to` is
    /// [`Error::ResyncRequired`] afterwards (the engine then imports in full). The compaction
    /// point is recorded before anything is dropped, so a crash midway loses nothing a reader
    /// could still ask for; calling again finishes the work.
    ///
    /// # Errors
    ///
    /// [`Error::Permanent`] for a watermark that is not a position of this queue (not 8 bytes,
    /// or beyond its end); store failures.
    pub async fn compact(&self, up_to: &Watermark) -> Result<u64> {
        let _guard = self.lock.lock().await;
        let last = self.last_position().await?;
        let up_to = match up_to.to_u64() {
            Some(p) if p <= last => p,
            Some(p) => {
                return Err(Error::permanent(
                    self.name.as_str(),
                    format!("cannot compact up to position {p}: the queue ends at {last}"),
                ));
            }
            None => {
                return Err(Error::permanent(
                    self.name.as_str(),
                    format!("cannot compact up to {up_to:?}: not a position of this queue"),
                ));
            }
        };
        // The mark first; marks below it go (the highest mark counts, so a concurrent
        // compaction to a lower point cannot move it back).
        let marks = self.compaction_marks().await?;
        if !marks.contains(&up_to) && marks.iter().all(|m| *m < up_to) {
            let mut txn = Txn::new(None);
            txn.put_json(Self::META, self.marks_prefix().u64(up_to), &up_to)?;
            for m in marks.iter().filter(|m| **m < up_to) {
                txn.delete(Self::META, self.marks_prefix().u64(*m));
            }
            txn.commit(self.store.as_ref()).await?;
        }
        let prefix = Key::new().str(&self.queue);
        let end = self.log_key(up_to).into_bytes();
        let mut dropped = 0u64;
        loop {
            let range = KeyRange::prefix(prefix.as_bytes().to_vec());
            let rows = self.store.scan(Self::LOG, &range, COMPACT_BATCH).await?;
            let doomed: Vec<Vec<u8>> = rows
                .into_iter()
                .map(|(k, _)| k)
                .take_while(|k| *k <= end)
                .collect();
            if doomed.is_empty() {
                return Ok(dropped);
            }
            let n = doomed.len();
            let batch = WriteBatch {
                lease: None,
                ops: doomed
                    .into_iter()
                    .map(|key| WriteOp::Delete {
                        table: Self::LOG,
                        key,
                    })
                    .collect(),
            };
            self.store.commit(batch).await?;
            dropped += n as u64;
            if n < COMPACT_BATCH {
                return Ok(dropped);
            }
        }
    }

    /// Drops the receipts of requests accepted before `accepted_before` whose records have
    /// all been compacted away (see [`InboundQueue::compact`]), and returns how many it
    /// dropped: a host keeps receipts for as long as clients may ask about a request (Entra
    /// keeps provisioning logs 30 days), not forever. A receipt whose records are still in
    /// the log stays, whatever its age. [`InboundQueue::receipt`] of a dropped one is `None`.
    ///
    /// # Errors
    ///
    /// Store failures; a stored receipt that cannot be read is [`Error::Storage`] naming it.
    pub async fn prune_receipts(&self, accepted_before: DateTime<Utc>) -> Result<u64> {
        let _guard = self.lock.lock().await;
        let compacted = self.compacted_through().await?;
        let prefix = Key::new().str(&self.queue).into_bytes();
        let mut after: Option<Vec<u8>> = None;
        let mut dropped = 0u64;
        loop {
            let mut range = KeyRange::prefix(prefix.clone());
            if let Some(a) = after.take() {
                range = range.after(a);
            }
            let rows = self
                .store
                .scan(Self::RECEIPTS, &range, COMPACT_BATCH)
                .await?;
            let n = rows.len();
            let mut doomed = Vec::new();
            for (key, value) in rows {
                let receipt: Receipt =
                    serde_json::from_slice(&value).map_err(|e| Error::Storage {
                        backend: "inbound queue",
                        message: format!("{}: a stored receipt cannot be read ({e})", self.name),
                        temporary: false,
                    })?;
                if receipt.accepted_at < accepted_before
                    && receipt.last_position().is_none_or(|p| p <= compacted)
                {
                    doomed.push(key.clone());
                }
                after = Some(key);
            }
            if !doomed.is_empty() {
                dropped += doomed.len() as u64;
                let batch = WriteBatch {
                    lease: None,
                    ops: doomed
                        .into_iter()
                        .map(|key| WriteOp::Delete {
                            table: Self::RECEIPTS,
                            key,
                        })
                        .collect(),
                };
                self.store.commit(batch).await?;
            }
            if n < COMPACT_BATCH {
                return Ok(dropped);
            }
        }
    }

    async fn current(&self, id: &SourceId) -> Result<Option<Current>> {
        self.store
            .get_json(Self::CURRENT, &self.current_key(id))
            .await
    }

    fn log_key(&self, position: u64) -> Key {
        Key::new().str(&self.queue).u64(position)
    }

    fn current_key(&self, id: &SourceId) -> Key {
        Key::new().str(&self.queue).str(id.as_str())
    }

    fn receipt_key(&self, id: &ReceiptId) -> Key {
        Key::new().str(&self.queue).str(id.as_str())
    }

    fn head_key(&self) -> Key {
        Key::new().str(&self.queue).str("head")
    }

    fn marks_prefix(&self) -> Key {
        Key::new().str(&self.queue).str("compacted")
    }

    fn only_users(&self, object_type: &ObjectType, operation: &'static str) -> Result<()> {
        if *object_type == ObjectType::USER {
            Ok(())
        } else {
            Err(Error::unsupported(self.name.as_str(), operation))
        }
    }

    fn resync(&self, message: String) -> Error {
        Error::ResyncRequired {
            connector: self.name.clone(),
            message,
        }
    }

    fn bad_token(&self, token: &PageToken) -> Error {
        Error::permanent(
            self.name.as_str(),
            format!(
                "page token {:?} was not issued by this queue",
                token.as_str()
            ),
        )
    }

    /// Reads an import page token: the last position before the import, and the key to
    /// continue after.
    fn import_token(&self, token: &PageToken) -> Result<(u64, Vec<u8>)> {
        let (head, key) = token
            .as_str()
            .split_once('.')
            .ok_or_else(|| self.bad_token(token))?;
        let head: u64 = head.parse().map_err(|_| self.bad_token(token))?;
        let key = from_hex(key).ok_or_else(|| self.bad_token(token))?;
        if !key.starts_with(Key::new().str(&self.queue).as_bytes()) {
            return Err(self.bad_token(token));
        }
        Ok((head, key))
    }
}

/// The position component at the end of a key (`queue`, ..., `u64`).
fn position_of(key: &[u8]) -> Option<u64> {
    let parts = Key::decode(key)?;
    let last: [u8; 8] = parts.last()?.as_slice().try_into().ok()?;
    Some(u64::from_be_bytes(last))
}

fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[async_trait]
impl SourceConnector for InboundQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> SourceCapabilities {
        SourceCapabilities::new([ObjectType::USER])
            .with_delta(false)
            .with_max_page_size(self.options.page_size)
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> Result<ImportPage> {
        self.only_users(object_type, "import_page of object types other than User")?;
        let prefix = Key::new().str(&self.queue).into_bytes();
        let (head, range) = match page {
            None => (
                self.last_position().await?,
                KeyRange::prefix(prefix.clone()),
            ),
            Some(token) => {
                let (head, after) = self.import_token(token)?;
                (head, KeyRange::prefix(prefix.clone()).after(after))
            }
        };
        let size = self.options.page_size.max(1);
        let mut rows = self.store.scan(Self::CURRENT, &range, size + 1).await?;
        let more = rows.len() > size;
        rows.truncate(size);
        let mut out = ImportPage::default();
        for (key, bytes) in &rows {
            match serde_json::from_slice::<Current>(bytes) {
                Ok(c) => out.objects.push(SourceObject::new(c.source_id, c.view)),
                Err(e) => {
                    let mut p = RecordProblem::new(
                        format!(
                            "{} record {}",
                            Self::CURRENT.name(),
                            String::from_utf8_lossy(key)
                        ),
                        format!("cannot decode the stored record: {e}"),
                    );
                    p.id = Key::decode(key)
                        .and_then(|parts| parts.get(1).cloned())
                        .and_then(|b| String::from_utf8(b).ok())
                        .map(SourceId::new);
                    out.problems.push(p);
                }
            }
        }
        match rows.last() {
            Some((key, _)) if more => {
                out.next = Some(PageToken::new(format!("{head}.{}", to_hex(key))));
            }
            _ => out.watermark = Some(Watermark::from_u64(head)),
        }
        Ok(out)
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        self.only_users(object_type, "changes of object types other than User")?;
        let Some(since) = since.to_u64() else {
            return Err(self.resync(format!("{since:?} is not a position of this queue")));
        };
        let last = self.last_position().await?;
        if since > last {
            return Err(self.resync(format!(
                "position {since} is beyond the queue's end ({last}): a watermark of another queue, or of a store that was reset"
            )));
        }
        let compacted = self.compacted_through().await?;
        if since < compacted {
            return Err(self.resync(format!(
                "the records after position {since} up to {compacted} were compacted away"
            )));
        }
        let start = match page {
            None => since,
            Some(token) => match token.as_str().parse::<u64>() {
                Ok(p) if p >= since && p <= last => p,
                _ => return Err(self.bad_token(token)),
            },
        };
        let size = self.options.page_size.max(1);
        let prefix = Key::new().str(&self.queue).into_bytes();
        let range = KeyRange::prefix(prefix).after(self.log_key(start).into_bytes());
        let mut rows = self.store.scan(Self::LOG, &range, size + 1).await?;
        let more = rows.len() > size;
        rows.truncate(size);
        let mut changes = Vec::with_capacity(rows.len());
        let mut problems = Vec::new();
        let mut end = start;
        for (key, bytes) in &rows {
            let position = position_of(key).unwrap_or(end);
            end = end.max(position);
            match serde_json::from_slice::<QueuedRecord>(bytes) {
                Ok(r) => changes.push(Change::upsert(r.source_id, r.view)),
                Err(e) => problems.push(RecordProblem::new(
                    format!("queue position {position}"),
                    format!("cannot decode the stored record: {e}"),
                )),
            }
        }
        Ok(ChangePage {
            changes,
            problems,
            next: more.then(|| PageToken::new(end.to_string())),
            watermark: Watermark::from_u64(end),
        })
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
        self.only_users(
            object_type,
            "current_watermark of object types other than User",
        )?;
        Ok(Watermark::from_u64(self.last_position().await?))
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        self.only_users(object_type, "get of object types other than User")?;
        Ok(self.current(id).await?.map(|c| c.view))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryStateStore;
    use futures::executor::block_on;

    fn queue() -> InboundQueue {
        InboundQueue::new(Arc::new(MemoryStateStore::new()), "q")
    }

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let bytes = vec![0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("é0"), None);
    }

    #[test]
    fn page_tokens_from_elsewhere_are_refused() {
        let q = queue();
        let u = ObjectType::USER;
        for token in ["", "12", "x.00", "3.zz"] {
            let e = block_on(q.import_page(&u, Some(&PageToken::new(token)))).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Permanent, "{token:?}");
        }
        // A key of another queue.
        let other = to_hex(Key::new().str("other").str("E1").as_bytes());
        let e =
            block_on(q.import_page(&u, Some(&PageToken::new(format!("0.{other}"))))).unwrap_err();
        assert!(e.to_string().contains("not issued by this queue"), "{e}");
        let since = Watermark::from_u64(0);
        let e = block_on(q.changes(&u, &since, Some(&PageToken::new("5")))).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Permanent);
    }

    #[test]
    fn an_empty_queue_reads_as_empty() {
        let q = queue();
        let u = ObjectType::USER;
        let page = block_on(q.import_page(&u, None)).unwrap();
        assert!(page.objects.is_empty() && page.next.is_none());
        assert_eq!(page.watermark, Some(Watermark::from_u64(0)));
        assert_eq!(
            block_on(q.current_watermark(&u)).unwrap(),
            Watermark::from_u64(0)
        );
        let changes = block_on(q.changes(&u, &Watermark::from_u64(0), None)).unwrap();
        assert!(changes.changes.is_empty());
        assert_eq!(block_on(q.get(&u, &SourceId::new("E1"))).unwrap(), None);
    }
}
