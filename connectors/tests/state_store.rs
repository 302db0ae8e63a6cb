//! The state-store conformance kit against both reference stores, directly and through trait
//! objects, plus what only a durable store must do.

// Helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use connectors::conformance::state;
use connectors::state::records::Link;
use connectors::state::{MemoryStateStore, RedbStateStore, StateStoreExt, Txn};
use connectors::{JobId, ObjectType, SourceId, StateStore, TargetId};
use futures::executor::block_on;

fn redb_store() -> (tempfile::TempDir, RedbStateStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStateStore::open(dir.path().join("state.redb")).unwrap();
    (dir, store)
}

#[test]
fn memory_store_conforms() {
    block_on(state::run_all(&MemoryStateStore::new())).unwrap();
}

#[test]
fn redb_store_conforms() {
    let (_dir, store) = redb_store();
    block_on(state::run_all(&store)).unwrap();
    // Again on the same store: every check starts by clearing what it uses.
    block_on(state::run_all(&store)).unwrap();
}

#[test]
fn stores_conform_as_trait_objects() {
    let (_dir, redb) = redb_store();
    let boxed: Vec<Box<dyn StateStore>> = vec![Box::new(MemoryStateStore::new()), Box::new(redb)];
    for store in &boxed {
        // The `Box` forwarding impl, and the trait object itself.
        block_on(state::run_all(store)).unwrap();
        block_on(state::run_all(&**store)).unwrap();
    }
    let (_dir, redb) = redb_store();
    let shared: Vec<Arc<dyn StateStore>> = vec![Arc::new(MemoryStateStore::new()), Arc::new(redb)];
    for store in &shared {
        block_on(state::run_all(store)).unwrap();
    }
}

#[test]
fn clones_share_the_data() {
    let (_dir, store) = redb_store();
    let other = store.clone();
    let job = JobId::new("j");
    let link = Link::new(
        SourceId::new("E1"),
        TargetId::new("t-1"),
        chrono::Utc::now(),
    );
    block_on(async {
        let mut txn = Txn::new(None);
        txn.put_link(&job, &ObjectType::USER, &link).unwrap();
        txn.commit(&store).await.unwrap();
        let seen = other
            .link_by_source(&job, &ObjectType::USER, &link.source_id)
            .await
            .unwrap();
        assert_eq!(seen, Some(link));
    });
    assert!(store.name().starts_with("redb:"), "{}", store.name());
    assert!(store.name().ends_with("state.redb"), "{}", store.name());
}

#[test]
fn redb_store_is_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("durable.redb");
    block_on(state::durable_across_reopen(|| RedbStateStore::open(&path))).unwrap();
    // And again, over what the first run left.
    block_on(state::durable_across_reopen(|| RedbStateStore::open(&path))).unwrap();
}

#[test]
fn the_memory_store_fails_the_durability_check() {
    // The check can fail: a store that forgets everything on reopen does.
    let err = block_on(state::durable_across_reopen(|| {
        Ok::<_, connectors::Error>(MemoryStateStore::new())
    }))
    .unwrap_err();
    assert_eq!(err.check, "state::durable_across_reopen");
    assert!(err.to_string().contains("after a reopen"), "{err}");
}

#[test]
fn the_file_is_created_with_its_directory_present_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("state.redb");
    let err = RedbStateStore::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            connectors::Error::Storage {
                backend: "redb",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("state.redb"), "{err}");
    let store = RedbStateStore::open(dir.path().join("state.redb")).unwrap();
    assert_eq!(store.path(), dir.path().join("state.redb"));
}

/// 10,000 links in one transaction, then every one looked up by source id and by target
/// id: one write transaction, tables opened once. The bound is loose (a debug build on a
/// slow, shared machine); the benches measure it properly.
#[test]
fn ten_thousand_links_commit_in_one_transaction() {
    let (_dir, store) = redb_store();
    let job = JobId::new("bulk");
    let now = chrono::Utc::now();
    let links: Vec<Link> = (0..10_000)
        .map(|i| {
            Link::new(
                SourceId::new(format!("E{i:05}")),
                TargetId::new(format!("t-{i}")),
                now,
            )
        })
        .collect();
    let mut txn = Txn::new(None);
    for l in &links {
        txn.put_link(&job, &ObjectType::USER, l).unwrap();
    }
    assert_eq!(txn.len(), 20_000);
    let started = Instant::now();
    block_on(txn.commit(&store)).unwrap();
    let commit = started.elapsed();
    let started = Instant::now();
    block_on(async {
        for l in &links {
            let got = store
                .link_by_source(&job, &ObjectType::USER, &l.source_id)
                .await
                .unwrap();
            assert_eq!(got.as_ref(), Some(l));
        }
        let by_target = store
            .link_by_target(&job, &ObjectType::USER, &TargetId::new("t-9999"))
            .await
            .unwrap();
        assert_eq!(by_target.as_ref(), links.last());
        let all = store
            .links(&job, &ObjectType::USER, None, 20_000)
            .await
            .unwrap();
        assert_eq!(all, links);
    });
    let lookups = started.elapsed();
    eprintln!(
        "10,000 links: commit {commit:?}; 10,000 lookups by source id, then a listing: {lookups:?}"
    );
    assert!(
        commit.as_secs() < 20,
        "commit of 10,000 links took {commit:?}"
    );
    assert!(lookups.as_secs() < 20, "10,000 lookups took {lookups:?}");
}

/// A store with one deliberate fault, to show that the kit catches it.
#[derive(Debug)]
struct Faulty {
    inner: MemoryStateStore,
    fault: Fault,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Applies a batch one write at a time.
    NotAtomic,
    /// Ignores the lease a batch carries.
    NoFencing,
    /// Ignores `after` in scans.
    ScanIgnoresAfter,
    /// Ignores `limit` in scans.
    ScanIgnoresLimit,
    /// Drops `DeletePrefix` writes.
    NoDeletePrefix,
    /// Does nothing on release.
    NoRelease,
    /// Forgets the reverse index of links.
    NoReverseIndex,
}

#[async_trait::async_trait]
impl StateStore for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }

    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: chrono::DateTime<chrono::Utc>,
        ttl: std::time::Duration,
    ) -> connectors::Result<connectors::Lease> {
        self.inner.acquire_lease(job, holder, now, ttl).await
    }

    async fn release_lease(&self, lease: &connectors::Lease) -> connectors::Result<()> {
        match self.fault {
            Fault::NoRelease => Ok(()),
            _ => self.inner.release_lease(lease).await,
        }
    }

    async fn get(
        &self,
        table: connectors::Table,
        key: &[u8],
    ) -> connectors::Result<Option<Vec<u8>>> {
        self.inner.get(table, key).await
    }

    async fn scan(
        &self,
        table: connectors::Table,
        range: &connectors::state::KeyRange,
        limit: usize,
    ) -> connectors::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match self.fault {
            Fault::ScanIgnoresAfter => {
                let all = connectors::state::KeyRange::prefix(range.prefix.clone());
                self.inner.scan(table, &all, limit).await
            }
            Fault::ScanIgnoresLimit => self.inner.scan(table, range, usize::MAX).await,
            _ => self.inner.scan(table, range, limit).await,
        }
    }

    async fn commit(&self, mut batch: connectors::WriteBatch) -> connectors::Result<()> {
        use connectors::{Table, WriteOp};
        match self.fault {
            Fault::NotAtomic => {
                for op in std::mem::take(&mut batch.ops) {
                    let mut one = batch.clone();
                    one.ops = vec![op];
                    self.inner.commit(one).await?;
                }
                Ok(())
            }
            Fault::NoFencing => {
                batch.lease = None;
                self.inner.commit(batch).await
            }
            Fault::NoDeletePrefix => {
                batch
                    .ops
                    .retain(|op| !matches!(op, WriteOp::DeletePrefix { .. }));
                self.inner.commit(batch).await
            }
            Fault::NoReverseIndex => {
                batch.ops.retain(|op| {
                    !matches!(op, WriteOp::Put { table, .. } if *table == Table::LINKS_BY_TARGET)
                });
                self.inner.commit(batch).await
            }
            _ => self.inner.commit(batch).await,
        }
    }
}

#[test]
fn the_kit_catches_faulty_stores() {
    let cases = [
        (Fault::NotAtomic, "state::atomic_batches"),
        (Fault::NoFencing, "state::fencing"),
        (Fault::ScanIgnoresAfter, "state::ordered_scan_and_paging"),
        (Fault::ScanIgnoresLimit, "state::ordered_scan_and_paging"),
        (Fault::NoDeletePrefix, "state::batch_ops_apply_in_order"),
        (Fault::NoRelease, "state::release_hands_over_at_once"),
        (Fault::NoReverseIndex, "state::typed_records"),
    ];
    for (fault, check) in cases {
        let store = Faulty {
            inner: MemoryStateStore::new(),
            fault,
        };
        let err = block_on(state::run_all(&store)).unwrap_err();
        assert_eq!(err.check, check, "{fault:?}: {err}");
    }
    // Each check on its own too.
    let store = Faulty {
        inner: MemoryStateStore::new(),
        fault: Fault::NoDeletePrefix,
    };
    let err = block_on(state::delete_prefix(&store)).unwrap_err();
    assert_eq!(err.check, "state::delete_prefix", "{err}");
    let store = Faulty {
        inner: MemoryStateStore::new(),
        fault: Fault::NoReverseIndex,
    };
    let err = block_on(state::typed_records(&store)).unwrap_err();
    assert!(err.message.contains("link_by_target"), "{err}");
}
