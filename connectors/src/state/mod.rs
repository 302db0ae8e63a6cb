//! [`StateStore`]: where the engine and the lifecycle runner keep what must survive a crash —
//! watermarks, links, intents, escrows, held deletions, logs, lifecycle records — and the
//! lease that makes one writer per job.
//!
//! The trait is a small ordered key-value store with atomic batches and fenced leases, so a
//! host can put it on any database (the reference implementations are [`MemoryStateStore`]
//! and, on redb, [`RedbStateStore`]). The typed records the engine and the lifecycle runner
//! store, and how they are keyed, are in [`records`]; [`Txn`] builds a batch of them and
//! [`StateStoreExt`] reads them back.

mod keys;
mod memory;
pub mod records;
mod redb_store;
mod txn;
mod writer;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use keys::{Key, KeyRange};
pub use memory::MemoryStateStore;
pub use redb_store::RedbStateStore;
pub use txn::{StateStoreExt, Txn, decode_log, decode_record};

use crate::Result;
use crate::types::JobId;

/// A table of a state store: a name under which keys are ordered.
///
/// The tables idflow uses are the constants below; a host may add its own with
/// [`Table::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table(&'static str);

impl Table {
    /// Per job and object type: the watermark and what it is bound to.
    pub const WATERMARKS: Table = Table("watermarks");
    /// Per job, object type and source id: the link to the target object and the
    /// fingerprint of what was last exported.
    pub const LINKS: Table = Table("links");
    /// Per job, object type and target id: the source id linked to it (the reverse index).
    pub const LINKS_BY_TARGET: Table = Table("links_by_target");
    /// Per job, object type and source id: a create that was started and not yet confirmed.
    pub const INTENTS: Table = Table("intents");
    /// Per job, object type and source id: a failed object waiting for its retry.
    pub const ESCROWS: Table = Table("escrows");
    /// Per job, object type and source id: a deletion held by the deletion threshold.
    pub const STAGED_DELETES: Table = Table("staged_deletes");
    /// Per job, object type and source id: references to objects not yet provisioned.
    pub const PENDING_REFERENCES: Table = Table("pending_references");
    /// Per job, cycle and sequence: provisioning log entries, compressed JSON (read them with
    /// [`decode_log`]).
    pub const LOG: Table = Table("log");
    /// Per job, object and cycle: the index of log entries by object (for the entries not
    /// reached through their object's link; see [`Txn::append_linked_log`]).
    pub const LOG_BY_OBJECT: Table = Table("log_by_object");
    /// Per job, cycle and sequence: the entry of the same object before this one, for the
    /// entries that chain from their object's link instead of being indexed.
    pub const LOG_PREVIOUS: Table = Table("log_previous");
    /// Per job: job-level state (quarantine, cycle counters, configuration hash).
    pub const JOBS: Table = Table("jobs");
    /// Per job and occurrence: lifecycle trigger occurrences already processed.
    pub const TRIGGER_OCCURRENCES: Table = Table("trigger_occurrences");
    /// Per job, run and user: lifecycle run history.
    pub const RUNS: Table = Table("runs");
    /// Per job and task run: lifecycle task states ("started" before a side effect).
    pub const TASK_STATES: Table = Table("task_states");
    /// Per job: the lease.
    pub const LEASES: Table = Table("leases");

    /// Every table idflow itself uses.
    pub const ALL: [Table; 15] = [
        Table::WATERMARKS,
        Table::LINKS,
        Table::LINKS_BY_TARGET,
        Table::INTENTS,
        Table::ESCROWS,
        Table::STAGED_DELETES,
        Table::PENDING_REFERENCES,
        Table::LOG,
        Table::LOG_BY_OBJECT,
        Table::LOG_PREVIOUS,
        Table::JOBS,
        Table::TRIGGER_OCCURRENCES,
        Table::RUNS,
        Table::TASK_STATES,
        Table::LEASES,
    ];

    /// A table of the host's own.
    pub const fn new(name: &'static str) -> Self {
        Table(name)
    }

    /// The table's name.
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// One write of a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOp {
    /// Sets `key` to `value`, whatever was there.
    Put {
        /// The table.
        table: Table,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Sets `key` to `value` only if `key` is absent; otherwise the whole batch fails with
    /// [`Error::KeyExists`](crate::Error::KeyExists) and nothing is written. This is how a
    /// lifecycle trigger occurrence is claimed exactly once, even by overlapping runs.
    Insert {
        /// The table.
        table: Table,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Removes `key` (absent is fine).
    Delete {
        /// The table.
        table: Table,
        /// The key.
        key: Vec<u8>,
    },
    /// Removes every key that starts with `prefix` (the reset scopes use it).
    DeletePrefix {
        /// The table.
        table: Table,
        /// The prefix.
        prefix: Vec<u8>,
    },
}

/// Writes that commit together or not at all, optionally fenced by a lease.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteBatch {
    /// The lease the writer holds; the commit is refused if it is no longer current.
    pub lease: Option<Lease>,
    /// The writes, applied in order.
    pub ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch fenced by `lease`.
    pub fn fenced(lease: Lease) -> Self {
        WriteBatch {
            lease: Some(lease),
            ops: Vec::new(),
        }
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The right to write a job's state, granted by [`StateStore::acquire_lease`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Lease {
    /// The job.
    pub job: JobId,
    /// Who holds it (a process or agent name).
    pub holder: String,
    /// Increases each time the lease changes hands; commits carry it for fencing.
    pub epoch: u64,
    /// When the lease ends unless renewed.
    pub expires: DateTime<Utc>,
}

/// The durable state of jobs.
///
/// # Contract
///
/// - **Ordered tables.** Keys are bytes, ordered lexicographically within a table;
///   [`StateStore::scan`] returns them in that order. Keys are built with [`Key`], so every
///   component is a complete prefix.
/// - **Atomic, durable commits.** [`StateStore::commit`] applies all of a batch or none of it,
///   and once it returns `Ok` the batch survives a crash of the process (and, for durable
///   stores, of the machine). A reader never sees half a batch. This is what lets the engine
///   store a page's watermark in the same batch as that page's links, so a crash can never
///   leave a watermark ahead of the work before it.
/// - **One writer per job.** [`StateStore::acquire_lease`] grants a lease; a second holder
///   gets [`Error::LeaseHeld`](crate::Error::LeaseHeld) until it expires, then takes it over
///   with a higher epoch. A batch carrying an older epoch is refused with
///   [`Error::LeaseLost`](crate::Error::LeaseLost), so a stalled old holder cannot overwrite
///   a newer one's work. The same holder acquiring again renews its lease (same epoch).
/// - **`Insert`** fails the whole batch with [`Error::KeyExists`](crate::Error::KeyExists) when
///   its key exists, so a claim is made exactly once.
/// - **Errors:** storage failures are [`Error::Storage`](crate::Error::Storage) with
///   `temporary` set when a retry may work; an unreadable record is
///   [`Error::Corrupt`](crate::Error::Corrupt).
/// - **Sharing.** A store is `Send + Sync` and used from several tasks; clones of the
///   reference stores are handles to the same data. Calls overlap: the engine plans its next
///   batch (reads, and the commit of that batch's create intents) while the commit of the
///   batch before is under way, so a read may run during a commit (it sees the state before
///   or after it, never part of it) and two commits of different keys may be under way at
///   once. A store may run them one after another; it must not fail them for overlapping.
///
/// The [`conformance`](crate::conformance) kit checks these points for any implementation,
/// including atomicity across a killed process for durable stores.
#[async_trait]
pub trait StateStore: Send + Sync + Debug + 'static {
    /// A short name for logs and errors, e.g. `redb:/var/lib/idflow/state.redb`.
    fn name(&self) -> &str;

    /// Grants (or renews, for the same holder) the lease on `job` until `now + ttl`.
    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease>;

    /// Gives the lease up early, so another holder need not wait for it to expire. A lease
    /// that is no longer current is left alone.
    async fn release_lease(&self, lease: &Lease) -> Result<()>;

    /// The value at `key`, if any.
    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Up to `limit` entries in `range`, in key order.
    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// Applies a batch atomically and durably (see the contract).
    async fn commit(&self, batch: WriteBatch) -> Result<()>;

    /// Commits `batch` as [`StateStore::commit`] does, then gives `lease` up as
    /// [`StateStore::release_lease`] does — how a sync cycle ends. A store that can do both in
    /// one write overrides it (the [`RedbStateStore`] does: one durable commit instead of two).
    /// `Err` means the batch was not committed; the release is best effort, as a lease not
    /// released simply expires, and is not attempted when the commit fails. The default makes
    /// the two calls.
    async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
        self.commit(batch).await?;
        // Best effort (see above): an unreleased lease expires and is taken over.
        let _ = self.release_lease(lease).await;
        Ok(())
    }
}

/// A state store behind a trait object.
pub type DynStateStore = dyn StateStore;

macro_rules! forward_store {
    ($ptr:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: StateStore + ?Sized> StateStore for $ptr {
            fn name(&self) -> &str {
                (**self).name()
            }

            async fn acquire_lease(
                &self,
                job: &JobId,
                holder: &str,
                now: DateTime<Utc>,
                ttl: Duration,
            ) -> Result<Lease> {
                (**self).acquire_lease(job, holder, now, ttl).await
            }

            async fn release_lease(&self, lease: &Lease) -> Result<()> {
                (**self).release_lease(lease).await
            }

            async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
                (**self).get(table, key).await
            }

            async fn scan(
                &self,
                table: Table,
                range: &KeyRange,
                limit: usize,
            ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
                (**self).scan(table, range, limit).await
            }

            async fn commit(&self, batch: WriteBatch) -> Result<()> {
                (**self).commit(batch).await
            }

            async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
                (**self).commit_and_release(batch, lease).await
            }
        }
    };
}

forward_store!(Arc<T>);
forward_store!(Box<T>);
