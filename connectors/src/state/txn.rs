//! Typed writes ([`Txn`]) and reads ([`StateStoreExt`]) of the records in [`records`].

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{
    Escrow, Intent, Link, PendingReference, StagedDelete, WatermarkRecord, job_prefix,
    job_type_prefix, object_key,
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
        let key = job_prefix(job).u64(cycle).u64(seq);
        if let Some((object_type, source_id)) = object {
            let index = object_key(job, object_type, source_id.as_str())
                .u64(cycle)
                .u64(seq);
            self.put_raw(
                Table::LOG_BY_OBJECT,
                index.into_bytes(),
                key.as_bytes().to_vec(),
            );
        }
        self.put_json(Table::LOG, key, entry)
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
        Ok(self
            .scan_json(Table::LOG, &range, limit)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Up to `limit` log entries of one object, oldest first.
    async fn log_of_object<T: DeserializeOwned + Send>(
        &self,
        job: &JobId,
        object_type: &ObjectType,
        source_id: &SourceId,
        limit: usize,
    ) -> Result<Vec<T>> {
        let range = KeyRange::prefix(object_key(job, object_type, source_id.as_str()).into_bytes());
        let index = self.scan(Table::LOG_BY_OBJECT, &range, limit).await?;
        let mut entries = Vec::with_capacity(index.len());
        for (_, log_key) in index {
            if let Some(bytes) = self.get(Table::LOG, &log_key).await? {
                entries.push(decode_record(Table::LOG, &log_key, &bytes)?);
            }
        }
        Ok(entries)
    }
}

impl<S: StateStore + ?Sized> StateStoreExt for S {}
