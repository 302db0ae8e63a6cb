//! Typed writes ([`Txn`]) and reads ([`StateStoreExt`]) of the records in [`records`].

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{
    Escrow, Intent, Link, LogRef, PendingReference, StagedDelete, WatermarkRecord, job_prefix,
    job_type_prefix, log_key, object_key,
};
use super::{Key, KeyRange, Lease, StateStore, Table, WriteBatch, WriteOp};
use crate::types::{JobId, ObjectType, SourceId, TargetId};
use crate::{Error, Result};

fn encode<T: Serialize>(table: Table, key: &[u8], value: &T) -> Result<Vec<u8>> {
    thread_local! {
        /// Where values are written before they are copied out at their exact size: one
        /// allocation per value instead of a buffer doubled from 128 bytes (four reallocations
        /// for a provisioning log entry, and up to twice its size held until the commit).
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    /// A buffer grown past this by one large value is not kept.
    const KEEP: usize = 1 << 20;
    let fail = |e: serde_json::Error| Error::Corrupt {
        table: table.name().to_owned(),
        key: String::from_utf8_lossy(key).into_owned(),
        message: format!("cannot encode: {e}"),
    };
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let written = serde_json::to_writer(&mut *buffer, value);
            let bytes = buffer.as_slice().to_vec();
            if buffer.capacity() > KEEP {
                *buffer = Vec::new();
            }
            written.map(|()| bytes).map_err(fail)
        }
        // A value whose serialisation encodes another (not done here): a buffer of its own.
        Err(_) => serde_json::to_vec(value).map_err(fail),
    })
}

/// The first byte of a provisioning log entry stored compressed: then come the length of its
/// JSON text (4 bytes, little-endian) and the text compressed with LZ4 (block format). No JSON
/// text starts with this byte, so entries stored as plain JSON read as well.
const LZ4_JSON: u8 = 0x01;

/// What compressed log entries are compressed against: the words every entry repeats (field
/// names, step names, the schema URNs), so that one entry alone compresses well. Fixed for
/// good: changing it would make the entries stored with it unreadable (a new dictionary needs
/// a new first byte).
const LOG_DICTIONARY: &[u8] = br#"{"cycleId":"","activityDateTime":"2026-01-01T00:00:00Z","sourceIdentity":{"id":"","identityType":"User","displayName":""},"targetIdentity":{"id":"","identityType":"Group"},"action":"Create","status":"Success","provisioningSteps":[{"name":"ImportObject","provisioningStepType":"import","status":"success","description":"Received User '' from "},{"name":"DetermineScope","provisioningStepType":"scoping","status":"success","description":"in scope: group 0 matched: urn:ietf:params:scim:schemas:core:2.0:User: EQUALS ''"},{"name":"MatchObject","provisioningStepType":"matching","status":"success","description":"Linked to target object "},{"name":"EvaluateAction","provisioningStepType":"processing","status":"success","description":"1 attribute(s) will be updated"},{"name":"ProvisionObject","provisioningStepType":"export","status":"success","description":"Updated target object "}],"modifiedProperties":[{"displayName":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","oldValue":"","newValue":""},{"displayName":"userName","newValue":""},{"displayName":"externalId","newValue":""},{"displayName":"active","newValue":"True"},{"displayName":"name.givenName","newValue":""},{"displayName":"name.familyName","newValue":""},{"displayName":"emails[type eq "work"].value","newValue":""},{"displayName":"title","newValue":""},{"displayName":"manager","newValue":""}],"statusInfo":{"errorCode":"TargetTemporaryFailure","reason":"","recommendedAction":"The target was unavailable or throttled; the object is retried with backoff."},"reconciled":true,"No target object matched: it will be created","Created target object ","No target object has userName = ''","Disabled","Deleted","Skipped","Warning","Failure","NotInScope","out of scope: "}"#;

/// A compressed log entry that claims a longer text than this is corrupt (entries are a few
/// kilobytes; the bound keeps a damaged length from allocating gigabytes).
const MAX_LOG_TEXT: usize = 64 << 20;

/// Encodes a provisioning log entry for [`Table::LOG`]: its JSON text compressed against
/// [`LOG_DICTIONARY`] (about a quarter of the size: an HR update's 1,049-byte entry takes 258
/// bytes, a create's 1,808 bytes 462; the log is most of what a cycle writes), or the plain
/// text when compressing does not make it shorter.
fn encode_log<T: Serialize>(key: &[u8], entry: &T) -> Result<Vec<u8>> {
    let text = encode(Table::LOG, key, entry)?;
    let Ok(len) = u32::try_from(text.len()) else {
        return Ok(text);
    };
    let bound = lz4_flex::block::get_maximum_output_size(text.len());
    let mut out = vec![0; 5 + bound];
    out[0] = LZ4_JSON;
    out[1..5].copy_from_slice(&len.to_le_bytes());
    match lz4_flex::block::compress_into_with_dict(&text, &mut out[5..], LOG_DICTIONARY) {
        Ok(n) if 5 + n < text.len() => {
            out.truncate(5 + n);
            Ok(out)
        }
        _ => Ok(text),
    }
}

/// Reads a provisioning log entry found at `key` in [`Table::LOG`] (by a raw
/// [`StateStore::scan`], say): compressed or plain JSON. An unreadable one is
/// [`Error::Corrupt`], naming the key.
pub fn decode_log<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    let Some((&LZ4_JSON, rest)) = bytes.split_first() else {
        return decode_record(Table::LOG, key, bytes);
    };
    let corrupt = |message: String| Error::Corrupt {
        table: Table::LOG.name().to_owned(),
        key: String::from_utf8_lossy(key).into_owned(),
        message,
    };
    let (len, data) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("a compressed entry shorter than its header".to_owned()))?;
    let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
    if len > MAX_LOG_TEXT {
        return Err(corrupt(format!(
            "a compressed entry claims {len} bytes of text (at most {MAX_LOG_TEXT})"
        )));
    }
    let text = lz4_flex::block::decompress_with_dict(data, len, LOG_DICTIONARY)
        .map_err(|e| corrupt(format!("cannot decompress the entry: {e}")))?;
    if text.len() != len {
        return Err(corrupt(format!(
            "the entry decompressed to {} bytes, not the {len} its header says",
            text.len()
        )));
    }
    decode_record(Table::LOG, key, &text)
}

/// Reads a JSON record found at `key` in `table` (by a raw [`StateStore::scan`], say); an
/// unreadable one is [`Error::Corrupt`], naming the table and the key.
pub fn decode_record<T: DeserializeOwned>(table: Table, key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        table: table.name().to_owned(),
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

/// A batch of typed writes that commits all together or not at all.
///
/// ```
/// # futures::executor::block_on(async {
/// use connectors::state::{MemoryStateStore, StateStoreExt, Txn, records::Link};
/// use connectors::{JobId, ObjectType, SourceId, TargetId, Watermark};
///
/// let store = MemoryStateStore::new();
/// let job = JobId::new("hr-sync");
/// let now = chrono::Utc::now();
/// let mut txn = Txn::new(None);
/// txn.put_link(&job, &ObjectType::USER, &Link::new(SourceId::new("E1"), TargetId::new("t-1"), now))?;
/// txn.commit(&store).await?;
/// let link = store.link_by_target(&job, &ObjectType::USER, &TargetId::new("t-1")).await?;
/// assert_eq!(link.unwrap().source_id, SourceId::new("E1"));
/// # Ok::<(), connectors::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Txn {
    batch: WriteBatch,
}

impl Txn {
    /// An empty transaction, fenced by `lease` when given.
    pub fn new(lease: Option<Lease>) -> Self {
        Txn {
            batch: WriteBatch {
                lease,
                ops: Vec::new(),
            },
        }
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// How many writes the transaction holds.
    pub fn len(&self) -> usize {
        self.batch.ops.len()
    }

    /// The batch built so far.
    pub fn into_batch(self) -> WriteBatch {
        self.batch
    }

    /// Commits the transaction to `store`, atomically.
    pub async fn commit<S: StateStore + ?Sized>(self, store: &S) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        store.commit(self.batch).await
    }

    /// Sets a raw value.
    pub fn put_raw(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.batch.ops.push(WriteOp::Put { table, key, value });
    }

    /// Sets a value as JSON.
    pub fn put_json<T: Serialize>(&mut self, table: Table, key: Key, value: &T) -> Result<()> {
        let bytes = encode(table, key.as_bytes(), value)?;
        self.put_raw(table, key.into_bytes(), bytes);
        Ok(())
    }

    /// Sets a value as JSON only if the key is absent; otherwise the whole commit fails with
    /// [`Error::KeyExists`] and writes nothing.
    pub fn insert_json<T: Serialize>(&mut self, table: Table, key: Key, value: &T) -> Result<()> {
        let bytes = encode(table, key.as_bytes(), value)?;
        self.batch.ops.push(WriteOp::Insert {
            table,
            key: key.into_bytes(),
            value: bytes,
        });
        Ok(())
    }

    /// Removes a key.
    pub fn delete(&mut self, table: Table, key: Key) {
        self.batch.ops.push(WriteOp::Delete {
            table,
            key: key.into_bytes(),
        });
    }

    /// Removes every key with a prefix.
    pub fn delete_prefix(&mut self, table: Table, prefix: Key) {
        self.batch.ops.push(WriteOp::DeletePrefix {
            table,
            prefix: prefix.into_bytes(),
        });
    }

    /// Stores the watermark of a job's object type.
    pub fn put_watermark(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        record: &WatermarkRecord,
    ) -> Result<()> {
        self.put_json(Table::WATERMARKS, job_type_prefix(job, object_type), record)
    }

    /// Forgets the watermark of a job's object type (the next cycle is a full one).
    pub fn clear_watermark(&mut self, job: &JobId, object_type: &ObjectType) {
        self.delete(Table::WATERMARKS, job_type_prefix(job, object_type));
    }

    /// Stores a link and its reverse index entry. When the link's target changed, call
    /// [`Txn::delete_link`] for the old one first.
    pub fn put_link(&mut self, job: &JobId, object_type: &ObjectType, link: &Link) -> Result<()> {
        self.put_json(
            Table::LINKS,
            object_key(job, object_type, link.source_id.as_str()),
            link,
        )?;
        self.put_json(
            Table::LINKS_BY_TARGET,
            object_key(job, object_type, link.target_id.as_str()),
            &link.source_id,
        )
    }

    /// Removes a link and its reverse index entry.
    pub fn delete_link(&mut self, job: &JobId, object_type: &ObjectType, link: &Link) {
        self.delete(
            Table::LINKS,
            object_key(job, object_type, link.source_id.as_str()),
        );
        self.delete(
            Table::LINKS_BY_TARGET,
            object_key(job, object_type, link.target_id.as_str()),
        );
    }

    /// Records an intent to create.
    pub fn put_intent(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        intent: &Intent,
    ) -> Result<()> {
        self.put_json(
            Table::INTENTS,
            object_key(job, object_type, intent.source_id.as_str()),
            intent,
        )
    }

    /// Removes an intent (its create was confirmed or resolved).
    pub fn delete_intent(&mut self, job: &JobId, object_type: &ObjectType, source_id: &SourceId) {
        self.delete(
            Table::INTENTS,
            object_key(job, object_type, source_id.as_str()),
        );
    }

    /// Stores an escrow.
    pub fn put_escrow(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        escrow: &Escrow,
    ) -> Result<()> {
        self.put_json(
            Table::ESCROWS,
            object_key(job, object_type, escrow.source_id.as_str()),
            escrow,
        )
    }

    /// Removes an escrow (the object succeeded).
    pub fn delete_escrow(&mut self, job: &JobId, object_type: &ObjectType, source_id: &SourceId) {
        self.delete(
            Table::ESCROWS,
            object_key(job, object_type, source_id.as_str()),
        );
    }

    /// Stores a held deletion.
    pub fn put_staged_delete(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        staged: &StagedDelete,
    ) -> Result<()> {
        self.put_json(
            Table::STAGED_DELETES,
            object_key(job, object_type, staged.source_id.as_str()),
            staged,
        )
    }

    /// Removes a held deletion (applied, or no longer wanted).
    pub fn delete_staged_delete(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
    ) {
        self.delete(
            Table::STAGED_DELETES,
            object_key(job, object_type, source_id.as_str()),
        );
    }

    /// Stores a reference that waits.
    pub fn put_pending_reference(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        pending: &PendingReference,
    ) -> Result<()> {
        let key = object_key(job, object_type, pending.source_id.as_str()).str(&pending.attribute);
        self.put_json(Table::PENDING_REFERENCES, key, pending)
    }

    /// Removes a reference that no longer waits.
    pub fn delete_pending_reference(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
        attribute: &str,
    ) {
        let key = object_key(job, object_type, source_id.as_str()).str(attribute);
        self.delete(Table::PENDING_REFERENCES, key);
    }

    /// Appends a provisioning log entry of cycle `cycle` (its `seq`-th), indexed by object.
    pub fn append_log<T: Serialize>(
        &mut self,
        job: &JobId,
        cycle: u64,
        seq: u64,
        object: Option<(&ObjectType, &SourceId)>,
        entry: &T,
    ) -> Result<()> {
        let at = LogRef::new(cycle, seq);
        if let Some((object_type, source_id)) = object {
            self.index_log(job, object_type, source_id, at);
        }
        self.put_log(log_key(job, at), entry)
    }

    /// Writes a log entry, compressed ([`decode_log`] reads it).
    fn put_log<T: Serialize>(&mut self, key: Key, entry: &T) -> Result<()> {
        let bytes = encode_log(key.as_bytes(), entry)?;
        self.put_raw(Table::LOG, key.into_bytes(), bytes);
        Ok(())
    }

    /// Appends a log entry of the object whose `link` is written in the same batch, without an
    /// index entry: the link's [`log_head`](Link::log_head) is set to it, and the head it had
    /// (or `previous`, the head of a link deleted in the same batch, when it had none) is
    /// recorded as the entry before it in [`Table::LOG_PREVIOUS`]. Call it before writing the
    /// link. [`StateStoreExt::log_of_object`] follows the chain from the link, so an update
    /// of a linked object costs the log one write in the link it rewrites anyway instead of
    /// one more random insert in the index.
    pub fn append_linked_log<T: Serialize>(
        &mut self,
        job: &JobId,
        at: LogRef,
        link: &mut Link,
        previous: Option<LogRef>,
        entry: &T,
    ) -> Result<()> {
        if let Some(previous) = link.log_head.or(previous) {
            self.put_log_previous(job, at, previous)?;
        }
        link.log_head = Some(at);
        self.put_log(log_key(job, at), entry)
    }

    /// Records that the log entry before the one at `at` of the same object is `previous`
    /// (for an indexed entry whose object's link, holding a chain, is deleted with it).
    pub fn put_log_previous(&mut self, job: &JobId, at: LogRef, previous: LogRef) -> Result<()> {
        self.put_json(Table::LOG_PREVIOUS, log_key(job, at), &previous)
    }

    /// Indexes the log entry at `at` under its object, so [`StateStoreExt::log_of_object`]
    /// finds it (and, through [`Table::LOG_PREVIOUS`], the entries chained before it) without
    /// the object's link: for a chain whose link is deleted or cleared.
    pub fn index_log(
        &mut self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
        at: LogRef,
    ) {
        let index = object_key(job, object_type, source_id.as_str())
            .u64(at.cycle)
            .u64(at.seq);
        self.put_raw(
            Table::LOG_BY_OBJECT,
            index.into_bytes(),
            log_key(job, at).into_bytes(),
        );
    }

    /// Removes everything a job stored in `table` (the reset scopes).
    pub fn clear_job_table(&mut self, job: &JobId, table: Table) {
        self.delete_prefix(table, job_prefix(job));
    }
}

/// Typed reads of the records in [`records`](super::records); implemented for every store.
/// Do not implement it yourself.
#[async_trait]
pub trait StateStoreExt: StateStore {
    /// Reads a JSON value.
    async fn get_json<T: DeserializeOwned>(&self, table: Table, key: &Key) -> Result<Option<T>> {
        match self.get(table, key.as_bytes()).await? {
            Some(bytes) => decode_record(table, key.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Reads up to `limit` JSON values in a range, with their keys.
    async fn scan_json<T: DeserializeOwned + Send>(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let rows = self.scan(table, range, limit).await?;
        rows.into_iter()
            .map(|(k, v)| {
                let value = decode_record(table, &k, &v)?;
                Ok((k, value))
            })
            .collect()
    }

    /// The watermark of a job's object type.
    async fn watermark(
        &self,
        job: &JobId,
        object_type: &ObjectType,
    ) -> Result<Option<WatermarkRecord>> {
        self.get_json(Table::WATERMARKS, &job_type_prefix(job, object_type))
            .await
    }

    /// The link of a source object.
    async fn link_by_source(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
    ) -> Result<Option<Link>> {
        self.get_json(
            Table::LINKS,
            &object_key(job, object_type, source_id.as_str()),
        )
        .await
    }

    /// The link of a target object (so a target object linked to another source object is
    /// never matched).
    async fn link_by_target(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        target_id: &TargetId,
    ) -> Result<Option<Link>> {
        let source: Option<SourceId> = self
            .get_json(
                Table::LINKS_BY_TARGET,
                &object_key(job, object_type, target_id.as_str()),
            )
            .await?;
        match source {
            Some(source_id) => self.link_by_source(job, object_type, &source_id).await,
            None => Ok(None),
        }
    }

    /// Up to `limit` links of a job's object type in source-id order, after the source id
    /// `after` (for paging through them).
    async fn links(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        after: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<Link>> {
        let prefix = job_type_prefix(job, object_type);
        let mut range = KeyRange::prefix(prefix.as_bytes().to_vec());
        if let Some(after) = after {
            range = range.after(object_key(job, object_type, after.as_str()).into_bytes());
        }
        Ok(self
            .scan_json(Table::LINKS, &range, limit)
            .await?
            .into_iter()
            .map(|(_, link)| link)
            .collect())
    }

    /// The intent of a source object.
    async fn intent(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
    ) -> Result<Option<Intent>> {
        self.get_json(
            Table::INTENTS,
            &object_key(job, object_type, source_id.as_str()),
        )
        .await
    }

    /// Up to `limit` records of a job's object type in one of the per-object tables
    /// ([`Table::INTENTS`], [`Table::ESCROWS`], [`Table::STAGED_DELETES`],
    /// [`Table::PENDING_REFERENCES`]), in source-id order.
    async fn records<T: DeserializeOwned + Send>(
        &self,
        table: Table,
        job: &JobId,
        object_type: &ObjectType,
        limit: usize,
    ) -> Result<Vec<T>> {
        let range = KeyRange::prefix(job_type_prefix(job, object_type).into_bytes());
        Ok(self
            .scan_json(table, &range, limit)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// The escrow of a source object.
    async fn escrow(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
    ) -> Result<Option<Escrow>> {
        self.get_json(
            Table::ESCROWS,
            &object_key(job, object_type, source_id.as_str()),
        )
        .await
    }

    /// Up to `limit` log entries of one cycle, in order, after entry `after_seq`.
    async fn log_of_cycle<T: DeserializeOwned + Send>(
        &self,
        job: &JobId,
        cycle: u64,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<T>> {
        let prefix = job_prefix(job).u64(cycle);
        let mut range = KeyRange::prefix(prefix.as_bytes().to_vec());
        if let Some(seq) = after_seq {
            range = range.after(prefix.u64(seq).into_bytes());
        }
        self.scan(Table::LOG, &range, limit)
            .await?
            .into_iter()
            .map(|(k, v)| decode_log(&k, &v))
            .collect()
    }

    /// Up to `limit` log entries of one object, oldest first: those in the by-object index,
    /// the chain from the object's link ([`Txn::append_linked_log`]), and every entry recorded
    /// before one of those ([`Table::LOG_PREVIOUS`]).
    async fn log_of_object<T: DeserializeOwned + Send>(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
        limit: usize,
    ) -> Result<Vec<T>> {
        let range = KeyRange::prefix(object_key(job, object_type, source_id.as_str()).into_bytes());
        let mut next: Vec<Vec<u8>> = self
            .scan(Table::LOG_BY_OBJECT, &range, usize::MAX)
            .await?
            .into_iter()
            .map(|(_, log_key)| log_key)
            .collect();
        if let Some(head) = self
            .link_by_source(job, object_type, source_id)
            .await?
            .and_then(|l| l.log_head)
        {
            next.push(log_key(job, head).into_bytes());
        }
        // Log keys order as (cycle, sequence), so the set is oldest first.
        let mut found: BTreeSet<Vec<u8>> = BTreeSet::new();
        while let Some(key) = next.pop() {
            if found.contains(&key) {
                continue;
            }
            if let Some(bytes) = self.get(Table::LOG_PREVIOUS, &key).await? {
                let previous: LogRef = decode_record(Table::LOG_PREVIOUS, &key, &bytes)?;
                next.push(log_key(job, previous).into_bytes());
            }
            found.insert(key);
        }
        let mut entries = Vec::with_capacity(found.len().min(limit));
        for key in found {
            if entries.len() == limit {
                break;
            }
            if let Some(bytes) = self.get(Table::LOG, &key).await? {
                entries.push(decode_log(&key, &bytes)?);
            }
        }
        Ok(entries)
    }
}

impl<S: StateStore + ?Sized> StateStoreExt for S {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// An update's entry, as the engine writes it (1.1 KB of JSON).
    fn entry() -> Value {
        let step = |name: &str, kind: &str, description: &str| {
            json!({"name": name, "provisioningStepType": kind, "status": "success",
                   "description": description})
        };
        json!({
            "cycleId": "hr-to-directory-2",
            "activityDateTime": "2026-03-02T09:00:00Z",
            "sourceIdentity": {"id": "u-00000001", "identityType": "User", "displayName": "a@example.com"},
            "targetIdentity": {"id": "u-00000001", "identityType": "User"},
            "action": "Update",
            "status": "Success",
            "provisioningSteps": [
                step("ImportObject", "import", "Received User 'a@example.com' from memory"),
                step("DetermineScope", "scoping", "in scope: group 0 matched: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department NOT EQUALS 'Contractors'"),
                step("MatchObject", "matching", "Linked to target object u-00000001"),
                step("EvaluateAction", "processing", "1 attribute(s) will be updated"),
                step("ProvisionObject", "export", "Updated target object u-00000001"),
            ],
            "modifiedProperties": [{
                "displayName": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "oldValue": "Engineering", "newValue": "Sales"
            }]
        })
    }

    #[test]
    fn log_entries_are_stored_compressed_and_read_back() {
        let key = b"job/1/1";
        let text = serde_json::to_vec(&entry()).unwrap();
        let stored = encode_log(key, &entry()).unwrap();
        assert_eq!(stored[0], LZ4_JSON);
        // A third at most (LZ4 alone, without the dictionary, keeps 57% of this entry).
        assert!(
            stored.len() * 3 <= text.len(),
            "{} bytes stored for {} of text",
            stored.len(),
            text.len()
        );
        assert_eq!(decode_log::<Value>(key, &stored).unwrap(), entry());
    }

    #[test]
    fn entries_stored_as_plain_json_still_read() {
        let key = b"job/1/1";
        let plain = serde_json::to_vec(&entry()).unwrap();
        assert_eq!(decode_log::<Value>(key, &plain).unwrap(), entry());
        // A short entry that compression would not shorten is kept plain.
        let short = encode_log(key, &json!({"a": 1})).unwrap();
        assert_eq!(short, br#"{"a":1}"#);
        assert_eq!(decode_log::<Value>(key, &short).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn damaged_compressed_entries_are_corrupt_naming_the_key() {
        let key = b"job/1/7";
        let good = encode_log(key, &entry()).unwrap();
        let mut huge = good.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut longer = good.clone();
        let claimed = u32::from_le_bytes([good[1], good[2], good[3], good[4]]) + 1;
        longer[1..5].copy_from_slice(&claimed.to_le_bytes());
        let cases: [(&str, &[u8]); 5] = [
            ("header", &[LZ4_JSON, 1, 0]),
            ("claims", &huge),
            ("decompress", &good[..good.len() - 3]),
            ("decompress", &[LZ4_JSON, 3, 0, 0, 0, 0xff, 0xff]),
            ("", &longer),
        ];
        for (what, bytes) in cases {
            let err = decode_log::<Value>(key, bytes).unwrap_err();
            match &err {
                Error::Corrupt {
                    table,
                    key: k,
                    message,
                } => {
                    assert_eq!(table, "log");
                    assert_eq!(k, "job/1/7");
                    assert!(message.contains(what), "{message}");
                }
                other => panic!("not Corrupt: {other}"),
            }
        }
    }

    proptest! {
        #[test]
        fn any_entry_round_trips(description in ".{0,400}", repeat in 1usize..8) {
            let value = json!({"steps": vec![description; repeat]});
            let stored = encode_log(b"k", &value).unwrap();
            prop_assert_eq!(decode_log::<Value>(b"k", &stored).unwrap(), value);
        }
    }
}
