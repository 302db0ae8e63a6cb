//! [`RedbStateStore`]: the durable reference state store, on [redb](https://docs.rs/redb).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError,
    WriteTransaction,
};

use super::memory::{check_batch, grant_lease};
use super::writer::Writer;
use super::{Key, KeyRange, Lease, StateStore, Table, WriteBatch, WriteOp};
use crate::types::JobId;
use crate::{Error, Result};

const BACKEND: &str = "redb";

/// Every table is bytes to bytes; its name is [`Table::name`].
type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

fn definition(table: Table) -> Def {
    TableDefinition::new(table.name())
}

/// A [`StateStore`] in one [redb](https://docs.rs/redb) file: ordered, atomic, fenced, and
/// durable across a crash of the process or of the machine.
///
/// # What is durable when
///
/// - Every [`commit`](StateStore::commit) (and
///   [`commit_and_release`](StateStore::commit_and_release)) is one redb write transaction with
///   [`Durability::Immediate`] (redb's default, set explicitly): when the call returns `Ok`,
///   the data has been written and `fsync`ed, so it survives the process being killed and the
///   machine losing power. When it returns `Err`, nothing of the batch was written.
/// - [`acquire_lease`](StateStore::acquire_lease) and
///   [`release_lease`](StateStore::release_lease) are redb transactions with
///   [`Durability::None`]: applied at once, seen by every later call, but written to the disk
///   only with the next commit (or when the store is closed), which saves a cycle one `fsync`.
///   A crash can therefore roll a lease back to its state at the last commit, and that is
///   safe: the process that held it is gone, and a commit of its that survived carried the
///   lease with it, so the next holder's epoch is still higher than any epoch a surviving
///   batch was fenced with. (redb lets one process open the file at a time, so no other
///   process can have seen the lost lease.) The one cost: a release lost that way leaves the
///   lease to expire instead of handing it over at once — not for the engine, whose cycles end
///   with `commit_and_release`, durable like any commit.
/// - A process killed in the middle of a commit leaves the file as it was before that
///   commit: on the next [`open`](RedbStateStore::open) redb falls back to the last complete
///   commit. A reader never sees half a batch, neither during a commit nor after a crash. The
///   test `connectors/tests/crash.rs` kills a writer with `SIGKILL` at random moments and
///   checks exactly that.
/// - A batch is checked and applied inside its one transaction: the lease fencing check
///   and every `Insert`'s existence check see the same state the writes are applied to, so
///   two processes or tasks racing cannot both pass a check.
///
/// # Blocking
///
/// redb is synchronous. Commits ([`commit`](StateStore::commit) and
/// [`commit_and_release`](StateStore::commit_and_release)) run on a thread the store keeps for
/// them, one after another in the order they were called; the returned future waits for its
/// commit without blocking the thread that polls it, so a caller can go on with other work
/// (the engine plans its next batch) while a commit writes its pages and `fsync`s them. A
/// commit's future that is dropped before it answers does not stop the commit: it is written
/// or refused as if it had been awaited.
///
/// Reads and the lease calls run inline: the returned future blocks the thread polling it for
/// the duration of one redb transaction (micro- to milliseconds; a lease call waits for a
/// commit under way, as redb serialises write transactions). A host on a multi-threaded async
/// runtime that cannot afford that can call the store from its blocking pool (e.g. tokio's
/// `spawn_blocking`).
///
/// # Opening
///
/// [`open`](RedbStateStore::open) creates the file if it is absent and verifies every page's
/// checksum before trusting it, so a truncated, corrupt or foreign file is an
/// [`Error::Storage`] (permanent), never a panic. That check reads the whole file once per
/// open (redb does the same work anyway after a crash). One process opens a file at a time: a
/// second open of a file that is in use is a temporary [`Error::Storage`]. Clones of a store
/// are handles to the same open database; the file is closed when the last one is dropped.
///
/// # Errors
///
/// redb failures are [`Error::Storage`] with `backend: "redb"`, a message naming the file
/// and what was being done, and `temporary` set for I/O failures that may pass (a full disk,
/// an interrupted call, the file being in use elsewhere). Corruption, a file written by an
/// incompatible redb version, and a table of another type under one of idflow's names are
/// permanent. A lease record that cannot be decoded is [`Error::Corrupt`].
///
/// # Checking a store of your own
///
/// The same checks this store passes are in the conformance kit, `connectors::conformance`
/// (behind the `conformance` feature); run them from your tests against your own
/// [`StateStore`] the same way:
///
/// ```
/// # #[cfg(feature = "conformance")]
/// # futures::executor::block_on(async {
/// use connectors::conformance::state;
/// use connectors::state::RedbStateStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = RedbStateStore::open(dir.path().join("state.redb")).unwrap();
/// state::run_all(&store).await.unwrap();
/// // A durable store also keeps what it committed across a close and a reopen.
/// let path = dir.path().join("durable.redb");
/// state::durable_across_reopen(|| RedbStateStore::open(&path)).await.unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct RedbStateStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    path: PathBuf,
    name: String,
    reads: Mutex<ReadCache>,
    /// The thread that runs the commits (see [Blocking](RedbStateStore#blocking)).
    writer: Writer,
}

/// A read-only table handle of the latest committed state, per table, reused by every read
/// until the next write transaction. Starting a redb read transaction and opening a table cost
/// more than looking one key up in it (a delta cycle reads a few keys per object), so reads
/// between two commits share one snapshot. Every write transaction empties the cache before it
/// starts and again once it has ended, so a read that starts after a commit returned sees that
/// commit, and no cached snapshot holds back the pages a commit frees.
#[derive(Default)]
struct ReadCache {
    /// Bumped by every write transaction: a handle opened under an older generation may be of
    /// an older snapshot and is not cached.
    generation: u64,
    /// By table name; `None` for a table that does not exist in the snapshot.
    tables: BTreeMap<&'static str, Option<Arc<ReadTable>>>,
}

type ReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;
impl fmt::Debug for RedbStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStateStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl RedbStateStore {
    /// Opens the store in the file at `path`, creating it if it is absent.
    ///
    /// The file's checksums are verified before it is used (see [Opening](#opening)); a file
    /// that is not a redb database, or a damaged one, is a permanent [`Error::Storage`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let name = format!("{BACKEND}:{}", path.display());
        let mut builder = Database::builder();
        builder.set_check_integrity_on_open(true);
        let db = builder
            .create(&path)
            .map_err(|e| storage(&path, "cannot open the state store", e))?;
        let writer = Writer::spawn("idflow-redb-writer").map_err(|e| Error::Storage {
            backend: BACKEND,
            message: format!("{}: cannot start the writer thread: {e}", path.display()),
            temporary: true,
        })?;
        Ok(RedbStateStore {
            inner: Arc::new(Inner {
                db,
                path,
                name,
                reads: Mutex::new(ReadCache::default()),
                writer,
            }),
        })
    }

    /// The file the store is kept in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn err(&self, what: &str, e: impl Into<redb::Error>) -> Error {
        storage(&self.inner.path, what, e)
    }

    fn reads(&self) -> MutexGuard<'_, ReadCache> {
        // A panic while the lock is held cannot leave the cache half-changed (each change is
        // one insert or one clear), so a poisoned lock is used as it is.
        self.inner.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the cached snapshot (see [`ReadCache`]): before and after every write.
    fn invalidate_reads(&self) {
        let mut reads = self.reads();
        reads.generation = reads.generation.wrapping_add(1);
        reads.tables.clear();
    }

    /// A read-only view of `table` in the latest committed state; `None` if the table was
    /// never written. Shared by the reads until the next write (see [`ReadCache`]).
    fn read_table(&self, table: Table) -> Result<Option<Arc<ReadTable>>> {
        let generation = {
            let reads = self.reads();
            if let Some(cached) = reads.tables.get(table.name()) {
                return Ok(cached.clone());
            }
            reads.generation
        };
        let txn = self
            .inner
            .db
            .begin_read()
            .map_err(|e| self.err("cannot start a read", e))?;
        let opened = match txn.open_table(definition(table)) {
            Ok(t) => Some(Arc::new(t)),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(self.err(&format!("cannot open table {}", table.name()), e)),
        };
        let mut reads = self.reads();
        // A write that started meanwhile may have committed after this snapshot was taken.
        if reads.generation == generation {
            reads.tables.insert(table.name(), opened.clone());
        }
        Ok(opened)
    }

    fn begin_write(&self) -> Result<WriteTransaction> {
        self.begin_write_with(Durability::Immediate)
    }

    fn begin_write_with(&self, durability: Durability) -> Result<WriteTransaction> {
        self.invalidate_reads();
        let mut txn = self
            .inner
            .db
            .begin_write()
            .map_err(|e| self.err("cannot start a write", e))?;
        txn.set_durability(durability)
            .map_err(|e| self.err("cannot make the write durable", e))?;
        Ok(txn)
    }

    fn finish(&self, txn: WriteTransaction, outcome: Result<()>) -> Result<()> {
        let result = match outcome {
            Ok(()) => txn.commit().map_err(|e| self.err("cannot commit", e)),
            Err(e) => {
                // Nothing of the transaction is kept whether or not the abort itself succeeds;
                // the error that made us abort is the one worth reporting.
                let _ = txn.abort();
                Err(e)
            }
        };
        // A read that started during the write may have cached the state before it.
        self.invalidate_reads();
        result
    }

    /// Reads the current lease of `job` inside a write transaction.
    fn current_lease(&self, tables: &mut OpenTables<'_>, job: &JobId) -> Result<Option<Lease>> {
        let key = lease_key(job);
        let leases = tables.open(self, Table::LEASES)?;
        let bytes = leases
            .get(key.as_slice())
            .map_err(|e| self.err("cannot read the lease", e))?
            .map(|g| g.value().to_vec());
        match bytes {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    table: Table::LEASES.name().to_owned(),
                    key: job.as_str().to_owned(),
                    message: e.to_string(),
                }),
        }
    }

    fn put_lease(&self, tables: &mut OpenTables<'_>, lease: &Lease) -> Result<()> {
        let bytes = serde_json::to_vec(lease).map_err(|e| Error::Storage {
            backend: BACKEND,
            message: format!("{}: cannot encode lease: {e}", self.inner.path.display()),
            temporary: false,
        })?;
        let key = lease_key(&lease.job);
        tables
            .open(self, Table::LEASES)?
            .insert(key.as_slice(), bytes.as_slice())
            .map_err(|e| self.err("cannot write the lease", e))?;
        Ok(())
    }

    fn acquire_sync(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        // Not synced on its own (see "What is durable when").
        let txn = self.begin_write_with(Durability::None)?;
        let mut granted = None;
        let outcome = {
            let mut tables = OpenTables::new(&txn);
            self.current_lease(&mut tables, job)
                .and_then(|current| grant_lease(current, job, holder, now, ttl))
                .and_then(|lease| {
                    self.put_lease(&mut tables, &lease)?;
                    granted = Some(lease);
                    Ok(())
                })
        };
        self.finish(txn, outcome)?;
        granted.ok_or_else(|| Error::Storage {
            backend: BACKEND,
            message: format!("{}: lease was not granted", self.inner.path.display()),
            temporary: true,
        })
    }

    fn release_sync(&self, lease: &Lease) -> Result<()> {
        // Not synced on its own (see "What is durable when").
        let txn = self.begin_write_with(Durability::None)?;
        let outcome = {
            let mut tables = OpenTables::new(&txn);
            self.release_in(&mut tables, lease)
        };
        self.finish(txn, outcome)
    }

    /// Expires `lease` inside a write transaction, if it is still the current one.
    fn release_in(&self, tables: &mut OpenTables<'_>, lease: &Lease) -> Result<()> {
        match self.current_lease(tables, &lease.job)? {
            Some(c) if c.epoch == lease.epoch && c.holder == lease.holder => {
                // Keep the epoch so the next holder's is higher; expire it now.
                let expired = Lease {
                    expires: DateTime::<Utc>::MIN_UTC,
                    ..c
                };
                self.put_lease(tables, &expired)
            }
            _ => Ok(()),
        }
    }

    fn get_sync(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(t) = self.read_table(table)? else {
            return Ok(None);
        };
        Ok(t.get(key)
            .map_err(|e| self.err(&format!("cannot read table {}", table.name()), e))?
            .map(|g| g.value().to_vec()))
    }

    fn scan_sync(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let Some(t) = self.read_table(table)? else {
            return Ok(Vec::new());
        };
        let (start, inclusive) = range.start();
        let end = prefix_end(&range.prefix);
        if end.as_deref().is_some_and(|end| start >= end) {
            return Ok(Vec::new());
        }
        let lower = if inclusive {
            Bound::Included(start)
        } else {
            Bound::Excluded(start)
        };
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let what = || format!("cannot scan table {}", table.name());
        let iter = t
            .range::<&[u8]>((lower, upper))
            .map_err(|e| self.err(&what(), e))?;
        let mut rows = Vec::with_capacity(limit.min(1024));
        for row in iter {
            let (k, v) = row.map_err(|e| self.err(&what(), e))?;
            let k = k.value();
            if !k.starts_with(&range.prefix) {
                break;
            }
            if range.contains(k) {
                rows.push((k.to_vec(), v.value().to_vec()));
                if rows.len() == limit {
                    break;
                }
            }
        }
        Ok(rows)
    }

    /// Runs [`write_batch`](Self::write_batch) on the writer thread and waits for it there.
    async fn write_on_writer(&self, batch: WriteBatch, release: Option<Lease>) -> Result<()> {
        let store = self.clone();
        let answer = self.inner.writer.submit(move || {
            let result = store.write_batch(batch, release.as_ref());
            // This handle goes before the answer does, so a caller that drops its own last
            // handle on the answer closes the file then (and can open it again at once).
            drop(store);
            result
        });
        answer.await.unwrap_or_else(|_| {
            Err(Error::Storage {
                backend: BACKEND,
                message: format!(
                    "{}: the commit did not finish (it panicked on the writer thread); \
                     whether it was written is unknown until the store is read again",
                    self.inner.path.display()
                ),
                temporary: true,
            })
        })
    }

    /// A batch, and the release of `release` when given, in one durable transaction.
    fn write_batch(&self, batch: WriteBatch, release: Option<&Lease>) -> Result<()> {
        let txn = self.begin_write()?;
        let outcome = {
            let mut tables = OpenTables::new(&txn);
            self.check(&mut tables, &batch)
                .and_then(|()| self.apply(&mut tables, batch))
                .and_then(|()| match release {
                    Some(lease) => self.release_in(&mut tables, lease),
                    None => Ok(()),
                })
        };
        self.finish(txn, outcome)
    }

    /// The lease and `Insert` checks of [`check_batch`], with the state they need read inside
    /// the batch's own transaction.
    fn check(&self, tables: &mut OpenTables<'_>, batch: &WriteBatch) -> Result<()> {
        let current = match &batch.lease {
            Some(lease) => self.current_lease(tables, &lease.job)?,
            None => None,
        };
        let mut existing: BTreeSet<(Table, &[u8])> = BTreeSet::new();
        for op in &batch.ops {
            if let WriteOp::Insert { table, key, .. } = op {
                let present = tables
                    .open(self, *table)?
                    .get(key.as_slice())
                    .map_err(|e| self.err(&format!("cannot read table {}", table.name()), e))?
                    .is_some();
                if present {
                    existing.insert((*table, key.as_slice()));
                }
            }
        }
        check_batch(
            batch,
            |job| current.clone().filter(|c| &c.job == job),
            |table, key| existing.contains(&(table, key)),
        )
    }

    fn apply(&self, tables: &mut OpenTables<'_>, batch: WriteBatch) -> Result<()> {
        for op in batch.ops {
            match op {
                WriteOp::Put { table, key, value } | WriteOp::Insert { table, key, value } => {
                    tables
                        .open(self, table)?
                        .insert(key.as_slice(), value.as_slice())
                        .map_err(|e| {
                            self.err(&format!("cannot write table {}", table.name()), e)
                        })?;
                }
                WriteOp::Delete { table, key } => {
                    tables
                        .open(self, table)?
                        .remove(key.as_slice())
                        .map_err(|e| {
                            self.err(&format!("cannot delete from table {}", table.name()), e)
                        })?;
                }
                WriteOp::DeletePrefix { table, prefix } => {
                    let end = prefix_end(&prefix);
                    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
                    tables
                        .open(self, table)?
                        .retain_in::<&[u8], _>(
                            (Bound::Included(prefix.as_slice()), upper),
                            |k, _| !k.starts_with(&prefix),
                        )
                        .map_err(|e| {
                            self.err(&format!("cannot delete from table {}", table.name()), e)
                        })?;
                } // `WriteOp` is non-exhaustive to hosts, not to this crate; a new kind of
                  // write must be handled here before it can be built.
            }
        }
        Ok(())
    }
}

/// The tables of one write transaction, each opened once.
struct OpenTables<'txn> {
    txn: &'txn WriteTransaction,
    open: BTreeMap<&'static str, redb::Table<'txn, &'static [u8], &'static [u8]>>,
}

impl<'txn> OpenTables<'txn> {
    fn new(txn: &'txn WriteTransaction) -> Self {
        OpenTables {
            txn,
            open: BTreeMap::new(),
        }
    }

    fn open(
        &mut self,
        store: &RedbStateStore,
        table: Table,
    ) -> Result<&mut redb::Table<'txn, &'static [u8], &'static [u8]>> {
        use std::collections::btree_map::Entry;
        match self.open.entry(table.name()) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let t = self.txn.open_table(definition(table)).map_err(|err| {
                    store.err(&format!("cannot open table {}", table.name()), err)
                })?;
                Ok(e.insert(t))
            }
        }
    }
}

/// The key of a job's lease (as [`MemoryStateStore`](super::MemoryStateStore) keys it).
fn lease_key(job: &JobId) -> Vec<u8> {
    Key::new().str(job.as_str()).into_bytes()
}

/// The smallest key greater than every key starting with `prefix`; `None` when there is none
/// (an empty prefix, or one of only `0xFF` bytes).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Maps a redb error to [`Error::Storage`], deciding whether a retry may work.
fn storage(path: &Path, what: &str, e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    let temporary = match &e {
        redb::Error::Io(io) => io_is_temporary(io),
        redb::Error::DatabaseAlreadyOpen
        | redb::Error::TransactionInProgress
        | redb::Error::WouldBlock
        | redb::Error::Backend(_) => true,
        // Corruption, an old or newer file format, a table of another type under the name,
        // a value too large, a closed or poisoned database, an earlier I/O failure (the
        // store must be reopened): the same call will fail the same way.
        _ => false,
    };
    Error::Storage {
        backend: BACKEND,
        message: format!("{}: {what}: {e}", path.display()),
        temporary,
    }
}

fn io_is_temporary(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    !matches!(
        e.kind(),
        K::NotFound
            | K::PermissionDenied
            | K::InvalidInput
            | K::InvalidData
            | K::UnexpectedEof
            | K::Unsupported
            | K::IsADirectory
            | K::NotADirectory
            | K::ReadOnlyFilesystem
            | K::FileTooLarge
            | K::InvalidFilename
    )
}

#[async_trait]
impl StateStore for RedbStateStore {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        self.acquire_sync(job, holder, now, ttl)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.release_sync(lease)
    }

    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_sync(table, key)
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_sync(table, range, limit)
    }

    async fn commit(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() && batch.lease.is_none() {
            return Ok(());
        }
        self.write_on_writer(batch, None).await
    }

    async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
        self.write_on_writer(batch, Some(lease.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn io_errors_are_classified() {
        use std::io::{Error as IoError, ErrorKind};
        let path = Path::new("state.redb");
        let full = storage(path, "commit", IoError::from(ErrorKind::StorageFull));
        assert!(full.is_retryable(), "{full}");
        let denied = storage(path, "open", IoError::from(ErrorKind::PermissionDenied));
        assert!(!denied.is_retryable(), "{denied}");
        assert!(denied.to_string().starts_with("redb: state.redb: open: "));
        let corrupt = storage(path, "open", redb::StorageError::Corrupted("bad".into()));
        assert!(!corrupt.is_retryable());
    }

    #[test]
    fn a_failed_batch_leaves_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStateStore::open(dir.path().join("s.redb")).unwrap();
        let t = Table::new("t");
        block_on(async {
            store
                .commit(WriteBatch {
                    lease: None,
                    ops: vec![WriteOp::Put {
                        table: t,
                        key: b"k".to_vec(),
                        value: b"1".to_vec(),
                    }],
                })
                .await
                .unwrap();
            let err = store
                .commit(WriteBatch {
                    lease: None,
                    ops: vec![
                        WriteOp::Put {
                            table: Table::new("other"),
                            key: b"x".to_vec(),
                            value: b"2".to_vec(),
                        },
                        WriteOp::Insert {
                            table: t,
                            key: b"k".to_vec(),
                            value: b"3".to_vec(),
                        },
                    ],
                })
                .await
                .unwrap_err();
            assert!(matches!(err, Error::KeyExists { .. }), "{err}");
            assert_eq!(store.get(t, b"k").await.unwrap(), Some(b"1".to_vec()));
            assert_eq!(store.get(Table::new("other"), b"x").await.unwrap(), None);
        });
    }

    #[test]
    fn reads_between_commits_share_a_snapshot_and_every_commit_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStateStore::open(dir.path().join("s.redb")).unwrap();
        let clone = store.clone();
        let t = Table::new("t");
        let put = |key: &[u8], value: &[u8]| WriteBatch {
            lease: None,
            ops: vec![WriteOp::Put {
                table: t,
                key: key.to_vec(),
                value: value.to_vec(),
            }],
        };
        block_on(async {
            // Absent table, read (and cached as absent), then created by a commit.
            assert_eq!(store.get(t, b"k").await.unwrap(), None);
            store.commit(put(b"k", b"1")).await.unwrap();
            assert_eq!(store.get(t, b"k").await.unwrap(), Some(b"1".to_vec()));
            // Cached now; a commit through another handle is seen by both.
            assert_eq!(clone.get(t, b"k").await.unwrap(), Some(b"1".to_vec()));
            clone.commit(put(b"k", b"2")).await.unwrap();
            assert_eq!(store.get(t, b"k").await.unwrap(), Some(b"2".to_vec()));
            let all = KeyRange::prefix(Vec::new());
            assert_eq!(store.scan(t, &all, 10).await.unwrap().len(), 1);
            // A failed batch changes nothing, and reads after it still work.
            let bad = WriteBatch {
                lease: None,
                ops: vec![
                    WriteOp::Put {
                        table: t,
                        key: b"x".to_vec(),
                        value: b"3".to_vec(),
                    },
                    WriteOp::Insert {
                        table: t,
                        key: b"k".to_vec(),
                        value: b"4".to_vec(),
                    },
                ],
            };
            assert!(store.commit(bad).await.is_err());
            assert_eq!(store.get(t, b"x").await.unwrap(), None);
            assert_eq!(store.get(t, b"k").await.unwrap(), Some(b"2".to_vec()));
            // Leases are writes too.
            let job = JobId::new("j");
            let lease = store
                .acquire_lease(&job, "a", Utc::now(), Duration::from_secs(60))
                .await
                .unwrap();
            let read = store.get(Table::LEASES, &lease_key(&job)).await.unwrap();
            assert!(read.is_some());
            store.release_lease(&lease).await.unwrap();
            let after = store.get(Table::LEASES, &lease_key(&job)).await.unwrap();
            assert_ne!(read, after, "the release is seen");
        });
    }

    #[test]
    fn a_second_open_of_a_file_in_use_is_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let _first = RedbStateStore::open(&path).unwrap();
        let err = RedbStateStore::open(&path).unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[test]
    fn an_undecodable_lease_is_corrupt_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStateStore::open(dir.path().join("s.redb")).unwrap();
        let job = JobId::new("j");
        block_on(async {
            store
                .commit(WriteBatch {
                    lease: None,
                    ops: vec![WriteOp::Put {
                        table: Table::LEASES,
                        key: lease_key(&job),
                        value: b"not json".to_vec(),
                    }],
                })
                .await
                .unwrap();
            let err = store
                .acquire_lease(&job, "a", Utc::now(), Duration::from_secs(60))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        });
    }
}
