//! Checks of the [`StateStore`] contract, for any implementation.
//!
//! [`run_all`] runs every check that applies to any store; [`durable_across_reopen`] is the
//! extra check for a store that keeps its data across a close and a reopen. Each check clears
//! the keys it uses (jobs named `conformance-…`, the tables `conformance` and
//! `conformance-wipe`) before it starts, so the kit can run again on the same store. Times are
//! fixed instants passed to [`StateStore::acquire_lease`], never the wall clock.
//!
//! ```
//! # futures::executor::block_on(async {
//! use connectors::conformance::state;
//! use connectors::state::MemoryStateStore;
//!
//! state::run_all(&MemoryStateStore::new()).await.unwrap();
//! # });
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::Failure;
use crate::state::records::{
    DeleteAction, Escrow, Intent, Link, LogRef, PendingReference, StagedDelete, WatermarkRecord,
    job_prefix,
};
use crate::state::{Key, KeyRange, Lease, StateStore, StateStoreExt, Table, Txn};
use crate::types::{CreateKey, JobId, ObjectType, SourceId, TargetId, Watermark};
use crate::{Error, Result, WriteBatch, WriteOp};

/// The kit's own table for raw keys.
const KV: Table = Table::new("conformance");
/// A table the kit empties entirely (`DeletePrefix` with an empty prefix).
const WIPE: Table = Table::new("conformance-wipe");
/// A table nobody writes.
const NEVER: Table = Table::new("conformance-never-written");
/// Large enough for every scan the kit makes.
const ALL: usize = 10_000;

type Outcome = std::result::Result<(), Failure>;

/// Runs every check of this module except [`durable_across_reopen`], in order, and returns
/// the first failure.
pub async fn run_all<S: StateStore + ?Sized>(store: &S) -> Outcome {
    never_written_tables_are_empty(store).await?;
    ordered_scan_and_paging(store).await?;
    prefix_isolation(store).await?;
    batch_ops_apply_in_order(store).await?;
    atomic_batches(store).await?;
    delete_prefix(store).await?;
    leases(store).await?;
    fencing(store).await?;
    release_hands_over_at_once(store).await?;
    commit_and_release(store).await?;
    typed_records(store).await?;
    idempotent_retries(store).await?;
    Ok(())
}

/// A table that was never written reads as empty, and so does a cleared job.
pub async fn never_written_tables_are_empty<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::never_written_tables_are_empty");
    let job = JobId::new("conformance-empty");
    c.reset(store, &job).await?;
    let got = c.ok(
        "get from a table never written",
        store.get(NEVER, b"k").await,
    )?;
    c.same("get from a table never written", &got, &None)?;
    let rows = c.ok(
        "scan of a table never written",
        store.scan(NEVER, &KeyRange::prefix(Vec::new()), ALL).await,
    )?;
    c.same_rows("scan of a table never written", &rows, &[])?;
    let rows = c.scan(store, KV, &job_prefix(&job)).await?;
    c.same_rows("scan of a cleared job", &rows, &[])
}

/// Keys come back in byte order; `limit` and `after` page through them without gaps or
/// repeats; `after` may be any key, stored or not, inside or outside the prefix.
pub async fn ordered_scan_and_paging<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::ordered_scan_and_paging");
    let job = JobId::new("conformance-scan");
    c.reset(store, &job).await?;
    let base = job_prefix(&job);
    let texts = ["b", "", "a\0b", "ab", "a", "\u{7f}", "é", "a\0", "Z", "aa"];
    let numbers = [256u64, 0, 9, u64::MAX, 10, 1, 255];
    let binary: [&[u8]; 4] = [&[0xFF], &[0x00], &[0xFF, 0xFF], &[0x00, 0xFF]];
    let mut expected = BTreeMap::new();
    // The prefix itself is a key too: a scan of the prefix includes it.
    expected.insert(base.as_bytes().to_vec(), b"prefix".to_vec());
    for t in texts {
        expected.insert(base.clone().str(t).into_bytes(), t.as_bytes().to_vec());
    }
    for n in numbers {
        let key = base.clone().str("n").u64(n).into_bytes();
        expected.insert(key, n.to_be_bytes().to_vec());
    }
    for b in binary {
        expected.insert(base.clone().str("bin").bytes(b).into_bytes(), b.to_vec());
    }
    // Written in two batches, in an order unrelated to the key order.
    let entries: Vec<_> = expected.iter().rev().collect();
    let (first, second) = entries.split_at(entries.len() / 2);
    for half in [second, first] {
        let ops = half
            .iter()
            .map(|(k, v)| put(KV, k.to_vec(), v.to_vec()))
            .collect();
        c.ok("commit", store.commit(batch(None, ops)).await)?;
    }
    let expected: Vec<(Vec<u8>, Vec<u8>)> = expected.into_iter().collect();

    let rows = c.scan(store, KV, &base).await?;
    c.same_rows("scan of every key, in byte order", &rows, &expected)?;

    // Paging three at a time.
    let mut paged = Vec::new();
    let mut range = KeyRange::prefix(base.as_bytes().to_vec());
    loop {
        let page = c.ok("scan a page", store.scan(KV, &range, 3).await)?;
        c.check(page.len() <= 3, || {
            format!("a scan with limit 3 returned {} rows", page.len())
        })?;
        let Some((last, _)) = page.last() else { break };
        range = range.after(last.clone());
        let full = page.len() == 3;
        paged.extend(page);
        if !full {
            break;
        }
        c.check(paged.len() <= expected.len(), || {
            "paging with `after` does not end".to_owned()
        })?;
    }
    c.same_rows("keys paged three at a time", &paged, &expected)?;

    let numbers_prefix = base.clone().str("n");
    let rows = c.scan(store, KV, &numbers_prefix).await?;
    let found: Vec<Option<u64>> = rows
        .iter()
        .map(|(_, v)| v.as_slice().try_into().ok().map(u64::from_be_bytes))
        .collect();
    let mut sorted: Vec<Option<u64>> = numbers.iter().copied().map(Some).collect();
    sorted.sort_unstable();
    c.same("u64 components in numeric order", &found, &sorted)?;

    let none = c.ok(
        "scan with limit 0",
        store
            .scan(KV, &KeyRange::prefix(base.as_bytes().to_vec()), 0)
            .await,
    )?;
    c.same_rows("scan with limit 0", &none, &[])?;

    // `after` a key that is not stored: the next stored key follows.
    let between = base.clone().str("a\0a").into_bytes();
    let range = KeyRange::prefix(base.as_bytes().to_vec()).after(between.clone());
    let rows = c.ok(
        "scan after an absent key",
        store.scan(KV, &range, ALL).await,
    )?;
    let want: Vec<_> = expected
        .iter()
        .filter(|(k, _)| *k > between)
        .cloned()
        .collect();
    c.same_rows("scan after a key that is not stored", &rows, &want)?;

    // `after` below the prefix: from the prefix's first key. Above it: nothing.
    let range = KeyRange::prefix(base.as_bytes().to_vec()).after(b"a".to_vec());
    let rows = c.ok("scan after a lower key", store.scan(KV, &range, ALL).await)?;
    c.same_rows("scan after a key below the prefix", &rows, &expected)?;
    let range = KeyRange::prefix(base.as_bytes().to_vec()).after(vec![0xFF; 4]);
    let rows = c.ok("scan after a higher key", store.scan(KV, &range, ALL).await)?;
    c.same_rows("scan after a key above the prefix", &rows, &[])
}

/// The keys of job `a` never show in job `a2` and the other way round: [`Key`] ends every
/// component, so one job's prefix is not a prefix of the other's keys.
pub async fn prefix_isolation<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::prefix_isolation");
    let a = JobId::new("conformance-a");
    let a2 = JobId::new("conformance-a2");
    c.reset(store, &a).await?;
    c.reset(store, &a2).await?;
    let at = t0();
    let mut txn = Txn::new(None);
    for (job, target) in [(&a, "t-a"), (&a2, "t-a2")] {
        let link = Link::new(SourceId::new("E1"), TargetId::new(target), at);
        c.ok("build", txn.put_link(job, &ObjectType::USER, &link))?;
        txn.put_raw(
            KV,
            job_prefix(job).str("x").into_bytes(),
            job.as_str().as_bytes().to_vec(),
        );
    }
    c.ok("commit", txn.commit(store).await)?;

    let rows = c.scan(store, KV, &job_prefix(&a)).await?;
    c.same_rows(
        "rows under job conformance-a",
        &rows,
        &[(
            job_prefix(&a).str("x").into_bytes(),
            a.as_str().as_bytes().to_vec(),
        )],
    )?;
    for (job, target) in [(&a, "t-a"), (&a2, "t-a2")] {
        let links = c.ok(
            "links",
            store.links(job, &ObjectType::USER, None, ALL).await,
        )?;
        let targets: Vec<&str> = links.iter().map(|l| l.target_id.as_str()).collect();
        c.same(
            &format!("link targets of job {job}"),
            &targets,
            &vec![target],
        )?;
        let other = if target == "t-a" { "t-a2" } else { "t-a" };
        let by_target = c.ok(
            "link_by_target",
            store
                .link_by_target(job, &ObjectType::USER, &TargetId::new(other))
                .await,
        )?;
        c.same(
            &format!("job {job}'s link to the other job's target"),
            &by_target,
            &None,
        )?;
    }
    Ok(())
}

/// The writes of one batch apply in order: a later write to a key wins, a `DeletePrefix`
/// removes what earlier writes of the same batch put under it and not what later ones put.
pub async fn batch_ops_apply_in_order<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::batch_ops_apply_in_order");
    let job = JobId::new("conformance-order");
    c.reset(store, &job).await?;
    let base = job_prefix(&job);
    let k = |s: &str| base.clone().str(s).into_bytes();
    let dir = base.clone().str("dir");
    let under = |s: &str| dir.clone().str(s).into_bytes();
    let ops = vec![
        put(KV, k("twice"), b"1".to_vec()),
        put(KV, k("twice"), b"2".to_vec()),
        put(KV, k("gone"), b"1".to_vec()),
        WriteOp::Delete {
            table: KV,
            key: k("gone"),
        },
        put(KV, under("early"), b"1".to_vec()),
        WriteOp::DeletePrefix {
            table: KV,
            prefix: dir.as_bytes().to_vec(),
        },
        put(KV, under("late"), b"1".to_vec()),
    ];
    c.ok("commit", store.commit(batch(None, ops)).await)?;
    c.same(
        "a key written twice in one batch",
        &c.get(store, KV, &k("twice")).await?,
        &Some("2".to_owned()),
    )?;
    c.same(
        "a key written then deleted in one batch",
        &c.get(store, KV, &k("gone")).await?,
        &None,
    )?;
    let rows = c.scan(store, KV, &dir).await?;
    let keys: Vec<Vec<u8>> = rows.into_iter().map(|(k, _)| k).collect();
    c.same_keys(
        "keys under a prefix deleted in the middle of a batch",
        &keys,
        &[under("late")],
    )
}

/// A batch whose `Insert` finds its key fails with [`Error::KeyExists`] and writes nothing —
/// not the puts, deletes and prefix deletes before it, in any table.
pub async fn atomic_batches<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::atomic_batches");
    let job = JobId::new("conformance-atomic");
    c.reset(store, &job).await?;
    let base = job_prefix(&job);
    let k = |s: &str| base.clone().str(s).into_bytes();
    let dir = base.clone().str("dir");
    let setup = vec![
        put(KV, k("claimed"), b"old".to_vec()),
        put(KV, k("kept"), b"old".to_vec()),
        put(KV, dir.clone().str("1").into_bytes(), b"old".to_vec()),
        put(Table::JOBS, k("state"), b"old".to_vec()),
    ];
    c.ok("commit", store.commit(batch(None, setup)).await)?;
    let before_kv = c.scan(store, KV, &base).await?;
    let before_jobs = c.scan(store, Table::JOBS, &base).await?;

    let failing = vec![
        put(KV, k("new"), b"new".to_vec()),
        put(Table::JOBS, k("state"), b"new".to_vec()),
        WriteOp::Delete {
            table: KV,
            key: k("kept"),
        },
        WriteOp::DeletePrefix {
            table: KV,
            prefix: dir.as_bytes().to_vec(),
        },
        insert(KV, k("claimed"), b"new".to_vec()),
        put(KV, k("after"), b"new".to_vec()),
    ];
    let err = store.commit(batch(None, failing)).await;
    c.key_exists("a batch inserting an existing key", err)?;
    c.same_rows(
        "table conformance after a failed batch",
        &c.scan(store, KV, &base).await?,
        &before_kv,
    )?;
    c.same_rows(
        "table jobs after a failed batch",
        &c.scan(store, Table::JOBS, &base).await?,
        &before_jobs,
    )?;

    // Two inserts of one new key in one batch: the second finds the first.
    let twice = vec![
        insert(KV, k("fresh"), b"1".to_vec()),
        insert(KV, k("fresh"), b"2".to_vec()),
    ];
    let err = store.commit(batch(None, twice)).await;
    c.key_exists("a batch inserting one key twice", err)?;
    c.same(
        "a key inserted twice by a failed batch",
        &c.get(store, KV, &k("fresh")).await?,
        &None,
    )?;

    // A claim succeeds once.
    let claim = || vec![insert(KV, k("fresh"), b"1".to_vec())];
    c.ok("first insert", store.commit(batch(None, claim())).await)?;
    c.same(
        "an inserted key",
        &c.get(store, KV, &k("fresh")).await?,
        &Some("1".to_owned()),
    )?;
    let err = store.commit(batch(None, claim())).await;
    c.key_exists("a second insert of the same key", err)
}

/// `DeletePrefix` removes exactly the keys starting with the prefix — including the prefix
/// itself and keys with `0xFF` bytes right after it — and nothing else; an empty prefix
/// empties the table.
pub async fn delete_prefix<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::delete_prefix");
    let job = JobId::new("conformance-delete-prefix");
    c.reset(store, &job).await?;
    let base = job_prefix(&job);
    let x = base.clone().str("x");
    let edge = base.clone().str("edge");
    let mut edge_ff = edge.as_bytes().to_vec();
    edge_ff.push(0xFF);
    let with = |p: &[u8], tail: &[u8]| [p, tail].concat();
    let doomed = [
        x.as_bytes().to_vec(),
        x.clone().str("1").into_bytes(),
        x.clone().str("2").str("deep").into_bytes(),
        edge_ff.clone(),
        with(&edge_ff, &[0x00]),
        with(&edge_ff, &[0xFF, 0x05]),
        with(&edge_ff, &[0xFF, 0xFF, 0xFF]),
    ];
    // The last one sorts right after the `0xFF` family: the end of the prefix's range.
    let mut edge_next = edge.as_bytes().to_vec();
    edge_next.pop();
    edge_next.push(0x02);
    let kept = [
        base.clone().str("w").into_bytes(),
        base.clone().str("x\0").into_bytes(),
        base.clone().str("xy").into_bytes(),
        base.clone().str("y").into_bytes(),
        with(edge.as_bytes(), &[0xFE]),
        edge_next,
    ];
    let mut ops: Vec<WriteOp> = doomed
        .iter()
        .chain(kept.iter())
        .map(|k| put(KV, k.clone(), b"v".to_vec()))
        .collect();
    let wipe_keys: [&[u8]; 5] = [
        &[0xFE, 0xFF],
        &[0xFF],
        &[0xFF, 0xFF],
        &[0xFF, 0xFF, 0x00],
        &[0xFF, 0xFF, 0xFF, 0xFF],
    ];
    ops.extend(
        wipe_keys
            .iter()
            .map(|k| put(WIPE, k.to_vec(), b"v".to_vec())),
    );
    c.ok("commit", store.commit(batch(None, ops)).await)?;

    let ops = vec![
        WriteOp::DeletePrefix {
            table: KV,
            prefix: x.as_bytes().to_vec(),
        },
        WriteOp::DeletePrefix {
            table: KV,
            prefix: edge_ff.clone(),
        },
    ];
    c.ok("commit DeletePrefix", store.commit(batch(None, ops)).await)?;
    let left: Vec<Vec<u8>> = c
        .scan(store, KV, &base)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut want = kept.to_vec();
    want.sort();
    c.same_keys("keys left after DeletePrefix", &left, &want)?;

    // A scan of a prefix ending in 0xFF stops at its end too.
    let range = KeyRange::prefix(vec![0xFF, 0xFF]);
    let rows = c.ok("scan", store.scan(WIPE, &range, ALL).await)?;
    let keys: Vec<Vec<u8>> = rows.into_iter().map(|(k, _)| k).collect();
    c.same_keys(
        "keys under prefix [FF, FF]",
        &keys,
        &[vec![0xFF, 0xFF], vec![0xFF, 0xFF, 0x00], vec![0xFF; 4]],
    )?;
    let ops = vec![WriteOp::DeletePrefix {
        table: WIPE,
        prefix: vec![0xFF, 0xFF],
    }];
    c.ok("commit DeletePrefix", store.commit(batch(None, ops)).await)?;
    let rows = c.ok(
        "scan",
        store.scan(WIPE, &KeyRange::prefix(Vec::new()), ALL).await,
    )?;
    let keys: Vec<Vec<u8>> = rows.into_iter().map(|(k, _)| k).collect();
    c.same_keys(
        "keys left after DeletePrefix [FF, FF]",
        &keys,
        &[vec![0xFE, 0xFF], vec![0xFF]],
    )?;
    let ops = vec![WriteOp::DeletePrefix {
        table: WIPE,
        prefix: Vec::new(),
    }];
    c.ok("commit DeletePrefix", store.commit(batch(None, ops)).await)?;
    let rows = c.ok(
        "scan",
        store.scan(WIPE, &KeyRange::prefix(Vec::new()), ALL).await,
    )?;
    c.same_rows(
        "keys left after DeletePrefix of the empty prefix",
        &rows,
        &[],
    )
}

/// A lease is granted until `now + ttl`; the same holder renews it (same epoch, later end);
/// another holder gets [`Error::LeaseHeld`] naming the holder until it ends, then takes it
/// over with a higher epoch.
pub async fn leases<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::leases");
    let job = JobId::new("conformance-lease");
    c.reset(store, &job).await?;
    let ttl = Duration::from_secs(60);
    let a = c.acquire(store, &job, "agent-a", t0(), ttl).await?;
    c.same("the lease's job", &a.job, &job)?;
    c.same("the lease's holder", &a.holder.as_str(), &"agent-a")?;
    c.same("the lease's end", &a.expires, &(t0() + secs(60)))?;

    let renewed = c
        .acquire(store, &job, "agent-a", t0() + secs(30), ttl)
        .await?;
    c.same("the epoch of a renewed lease", &renewed.epoch, &a.epoch)?;
    c.same(
        "the end of a renewed lease",
        &renewed.expires,
        &(t0() + secs(90)),
    )?;

    // After the first end, before the renewed one: still held.
    let held = store
        .acquire_lease(&job, "agent-b", t0() + secs(70), ttl)
        .await;
    c.lease_held(
        "another holder before the renewed lease ends",
        held,
        "agent-a",
    )?;

    let b = c
        .acquire(store, &job, "agent-b", t0() + secs(91), ttl)
        .await?;
    c.same(
        "the holder after a takeover",
        &b.holder.as_str(),
        &"agent-b",
    )?;
    c.check(b.epoch > a.epoch, || {
        format!(
            "a takeover must raise the epoch: was {}, got {}",
            a.epoch, b.epoch
        )
    })?;
    let held = store
        .acquire_lease(&job, "agent-a", t0() + secs(92), ttl)
        .await;
    c.lease_held("the old holder after a takeover", held, "agent-b")
}

/// A batch fenced by a lease that is no longer current is refused with
/// [`Error::LeaseLost`] and writes nothing; the current holder's batches commit.
pub async fn fencing<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::fencing");
    let job = JobId::new("conformance-fence");
    c.reset(store, &job).await?;
    let k = |s: &str| job_prefix(&job).str(s).into_bytes();
    let ttl = Duration::from_secs(60);
    let a = c.acquire(store, &job, "agent-a", t0(), ttl).await?;
    let ops = vec![put(KV, k("one"), b"a".to_vec())];
    c.ok(
        "a commit by the lease holder",
        store.commit(batch(Some(&a), ops)).await,
    )?;

    let b = c
        .acquire(store, &job, "agent-b", t0() + secs(61), ttl)
        .await?;
    let ops = vec![
        put(KV, k("one"), b"stale".to_vec()),
        put(KV, k("two"), b"stale".to_vec()),
    ];
    let err = store.commit(batch(Some(&a), ops)).await;
    c.lease_lost("a commit fenced by a lease taken over", err, a.epoch)?;
    c.same(
        "a key after a fenced-off commit",
        &c.get(store, KV, &k("one")).await?,
        &Some("a".to_owned()),
    )?;
    c.same(
        "a key written only by a fenced-off commit",
        &c.get(store, KV, &k("two")).await?,
        &None,
    )?;

    let ops = vec![put(KV, k("two"), b"b".to_vec())];
    c.ok(
        "a commit by the new holder",
        store.commit(batch(Some(&b), ops)).await,
    )?;
    c.same(
        "a key written by the new holder",
        &c.get(store, KV, &k("two")).await?,
        &Some("b".to_owned()),
    )?;

    // The current epoch under another holder's name is not the lease.
    let mut forged = b.clone();
    forged.holder = "agent-a".to_owned();
    let ops = vec![put(KV, k("two"), b"forged".to_vec())];
    let err = store.commit(batch(Some(&forged), ops)).await;
    c.lease_lost(
        "a commit fenced by the right epoch and the wrong holder",
        err,
        b.epoch,
    )?;

    // A lease on a job nobody leased.
    let other = JobId::new("conformance-fence-none");
    c.reset(store, &other).await?;
    let mut never = b.clone();
    never.job = other;
    let err = store.commit(batch(Some(&never), Vec::new())).await;
    c.lease_lost(
        "an empty commit fenced by a lease never granted",
        err,
        b.epoch,
    )?;
    c.same(
        "a key after refused commits",
        &c.get(store, KV, &k("two")).await?,
        &Some("b".to_owned()),
    )
}

/// A released lease can be taken by another holder at once, with a higher epoch, and fences
/// the releaser; releasing a lease that is no longer current changes nothing.
pub async fn release_hands_over_at_once<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::release_hands_over_at_once");
    let job = JobId::new("conformance-release");
    c.reset(store, &job).await?;
    let k = job_prefix(&job).str("k").into_bytes();
    let ttl = Duration::from_secs(60);
    let a = c.acquire(store, &job, "agent-a", t0(), ttl).await?;
    c.ok("release", store.release_lease(&a).await)?;
    let b = c
        .acquire(store, &job, "agent-b", t0() + secs(1), ttl)
        .await?;
    c.check(b.epoch > a.epoch, || {
        format!(
            "a lease taken after a release must have a higher epoch: was {}, got {}",
            a.epoch, b.epoch
        )
    })?;
    let err = store
        .commit(batch(Some(&a), vec![put(KV, k.clone(), b"a".to_vec())]))
        .await;
    c.lease_lost("a commit fenced by a released lease", err, a.epoch)?;

    // Releasing the stale lease again leaves b's alone.
    c.ok("release of a stale lease", store.release_lease(&a).await)?;
    let held = store
        .acquire_lease(&job, "agent-c", t0() + secs(2), ttl)
        .await;
    c.lease_held("a third holder after a stale release", held, "agent-b")?;
    c.ok(
        "a commit by the current holder after a stale release",
        store
            .commit(batch(Some(&b), vec![put(KV, k.clone(), b"b".to_vec())]))
            .await,
    )?;
    c.same(
        "the key written by the current holder",
        &c.get(store, KV, &k).await?,
        &Some("b".to_owned()),
    )
}

/// [`StateStore::commit_and_release`] commits the batch and hands the lease over at once; a
/// batch fenced out commits nothing and releases nothing.
pub async fn commit_and_release<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::commit_and_release");
    let job = JobId::new("conformance-commit-release");
    c.reset(store, &job).await?;
    let k = job_prefix(&job).str("k").into_bytes();
    let ttl = Duration::from_secs(60);
    let a = c.acquire(store, &job, "agent-a", t0(), ttl).await?;
    c.ok(
        "commit_and_release",
        store
            .commit_and_release(batch(Some(&a), vec![put(KV, k.clone(), b"a".to_vec())]), &a)
            .await,
    )?;
    c.same(
        "the key committed with the release",
        &c.get(store, KV, &k).await?,
        &Some("a".to_owned()),
    )?;
    let b = c
        .acquire(store, &job, "agent-b", t0() + secs(1), ttl)
        .await?;
    c.check(b.epoch > a.epoch, || {
        format!(
            "a lease taken after commit_and_release must have a higher epoch: was {}, got {}",
            a.epoch, b.epoch
        )
    })?;
    // a's lease is gone: its batch is refused and b keeps the lease.
    let err = store
        .commit_and_release(
            batch(Some(&a), vec![put(KV, k.clone(), b"late".to_vec())]),
            &a,
        )
        .await;
    c.lease_lost(
        "commit_and_release fenced by a released lease",
        err,
        a.epoch,
    )?;
    c.same(
        "the key after a fenced commit_and_release",
        &c.get(store, KV, &k).await?,
        &Some("a".to_owned()),
    )?;
    let held = store
        .acquire_lease(&job, "agent-c", t0() + secs(2), ttl)
        .await;
    c.lease_held(
        "a third holder after a fenced commit_and_release",
        held,
        "agent-b",
    )
}

/// The typed records round-trip through [`Txn`] and [`StateStoreExt`]: watermark, links and
/// the reverse index, intents, escrows, staged deletes, pending references, and the log by
/// cycle and by object.
pub async fn typed_records<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::typed_records");
    let job = JobId::new("conformance-records");
    c.reset(store, &job).await?;
    let user = ObjectType::USER;
    let at = t0();

    // Watermark.
    let wm = WatermarkRecord::new(Watermark::new("usn:42"), "config-hash", at);
    let mut txn = Txn::new(None);
    c.ok("build", txn.put_watermark(&job, &user, &wm))?;
    c.ok("commit", txn.commit(store).await)?;
    let got = c.ok("watermark", store.watermark(&job, &user).await)?;
    c.same("the watermark", &got, &Some(wm))?;
    c.same(
        "the watermark of another object type",
        &c.ok("watermark", store.watermark(&job, &ObjectType::GROUP).await)?,
        &None,
    )?;
    let mut txn = Txn::new(None);
    txn.clear_watermark(&job, &user);
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "a cleared watermark",
        &c.ok("watermark", store.watermark(&job, &user).await)?,
        &None,
    )?;

    // Links, written out of order.
    let mut links: Vec<Link> = ["E3", "E1", "E10", "E2"]
        .iter()
        .map(|s| {
            let mut l = Link::new(SourceId::new(*s), TargetId::new(format!("t-{s}")), at);
            l.export_fingerprint = Some(format!("fp-{s}"));
            l
        })
        .collect();
    links[1].disabled = true;
    let mut txn = Txn::new(None);
    for l in &links {
        c.ok("build", txn.put_link(&job, &user, l))?;
    }
    c.ok("commit", txn.commit(store).await)?;
    links.sort_by(|x, y| x.source_id.cmp(&y.source_id));
    let all = c.ok("links", store.links(&job, &user, None, ALL).await)?;
    c.same("links in source-id order", &all, &links)?;
    let page = c.ok(
        "links",
        store.links(&job, &user, Some(&links[1].source_id), 2).await,
    )?;
    c.same(
        "links after the second, two of them",
        &page,
        &links[2..4].to_vec(),
    )?;
    for l in &links {
        let by_source = c.ok(
            "link_by_source",
            store.link_by_source(&job, &user, &l.source_id).await,
        )?;
        c.same("link_by_source", &by_source, &Some(l.clone()))?;
        let by_target = c.ok(
            "link_by_target",
            store.link_by_target(&job, &user, &l.target_id).await,
        )?;
        c.same("link_by_target", &by_target, &Some(l.clone()))?;
    }
    let mut txn = Txn::new(None);
    txn.delete_link(&job, &user, &links[0]);
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "link_by_source of a deleted link",
        &c.ok(
            "link_by_source",
            store.link_by_source(&job, &user, &links[0].source_id).await,
        )?,
        &None,
    )?;
    c.same(
        "link_by_target of a deleted link",
        &c.ok(
            "link_by_target",
            store.link_by_target(&job, &user, &links[0].target_id).await,
        )?,
        &None,
    )?;

    // Intents.
    let mut intent = Intent::new(SourceId::new("E7"), CreateKey::new("E7"), at);
    intent.matching = vec![("userName".to_owned(), json!("bjensen"))];
    let mut txn = Txn::new(None);
    c.ok("build", txn.put_intent(&job, &user, &intent))?;
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "an intent",
        &c.ok("intent", store.intent(&job, &user, &intent.source_id).await)?,
        &Some(intent.clone()),
    )?;
    let listed: Vec<Intent> = c.ok(
        "records",
        store.records(Table::INTENTS, &job, &user, ALL).await,
    )?;
    c.same("intents listed", &listed, &vec![intent.clone()])?;
    let mut txn = Txn::new(None);
    txn.delete_intent(&job, &user, &intent.source_id);
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "a deleted intent",
        &c.ok("intent", store.intent(&job, &user, &intent.source_id).await)?,
        &None,
    )?;

    // Escrows.
    let mut escrow = Escrow::new(SourceId::new("E8"), "HTTP 400", at, at + secs(300));
    escrow.attempts = 3;
    escrow.reference = true;
    let mut txn = Txn::new(None);
    c.ok("build", txn.put_escrow(&job, &user, &escrow))?;
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "an escrow",
        &c.ok("escrow", store.escrow(&job, &user, &escrow.source_id).await)?,
        &Some(escrow.clone()),
    )?;
    let listed: Vec<Escrow> = c.ok(
        "records",
        store.records(Table::ESCROWS, &job, &user, ALL).await,
    )?;
    c.same("escrows listed", &listed, &vec![escrow.clone()])?;
    let mut txn = Txn::new(None);
    txn.delete_escrow(&job, &user, &escrow.source_id);
    c.ok("commit", txn.commit(store).await)?;
    c.same(
        "a deleted escrow",
        &c.ok("escrow", store.escrow(&job, &user, &escrow.source_id).await)?,
        &None,
    )?;

    // Staged deletes.
    let staged = StagedDelete::new(
        SourceId::new("E9"),
        TargetId::new("t-E9"),
        DeleteAction::Disable,
        "out of scope",
        at,
    );
    let mut txn = Txn::new(None);
    c.ok("build", txn.put_staged_delete(&job, &user, &staged))?;
    c.ok("commit", txn.commit(store).await)?;
    let listed: Vec<StagedDelete> = c.ok(
        "records",
        store.records(Table::STAGED_DELETES, &job, &user, ALL).await,
    )?;
    c.same("staged deletes listed", &listed, &vec![staged.clone()])?;
    let mut txn = Txn::new(None);
    txn.delete_staged_delete(&job, &user, &staged.source_id);
    c.ok("commit", txn.commit(store).await)?;
    let listed: Vec<StagedDelete> = c.ok(
        "records",
        store.records(Table::STAGED_DELETES, &job, &user, ALL).await,
    )?;
    c.same("staged deletes after a delete", &listed, &Vec::new())?;

    // Pending references: two attributes of one object.
    let manager = PendingReference::new(
        SourceId::new("E5"),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ObjectType::USER,
        vec![SourceId::new("E6")],
        at,
    );
    let members = PendingReference::new(
        SourceId::new("E5"),
        "members",
        ObjectType::USER,
        vec![SourceId::new("E6"), SourceId::new("E7")],
        at,
    );
    let mut txn = Txn::new(None);
    c.ok("build", txn.put_pending_reference(&job, &user, &manager))?;
    c.ok("build", txn.put_pending_reference(&job, &user, &members))?;
    c.ok("commit", txn.commit(store).await)?;
    let listed: Vec<PendingReference> = c.ok(
        "records",
        store
            .records(Table::PENDING_REFERENCES, &job, &user, ALL)
            .await,
    )?;
    c.same(
        "pending references listed",
        &listed,
        &vec![members.clone(), manager.clone()],
    )?;
    let mut txn = Txn::new(None);
    txn.delete_pending_reference(&job, &user, &members.source_id, &members.attribute);
    c.ok("commit", txn.commit(store).await)?;
    let listed: Vec<PendingReference> = c.ok(
        "records",
        store
            .records(Table::PENDING_REFERENCES, &job, &user, ALL)
            .await,
    )?;
    c.same("pending references after a delete", &listed, &vec![manager])?;

    // The log: cycle 2 written before cycle 1; entries of E1 in both.
    let e1 = SourceId::new("E1");
    let e2 = SourceId::new("E2");
    let entry = |cycle: u64, seq: u64, id: &str| json!({"cycle": cycle, "seq": seq, "id": id});
    let mut txn = Txn::new(None);
    c.ok(
        "build",
        txn.append_log(&job, 2, 0, Some((&user, &e1)), &entry(2, 0, "E1")),
    )?;
    for (seq, id) in [(0, &e2), (1, &e1), (2, &e2)] {
        c.ok(
            "build",
            txn.append_log(&job, 1, seq, Some((&user, id)), &entry(1, seq, id.as_str())),
        )?;
    }
    c.ok(
        "build",
        txn.append_log(&job, 1, 10, None, &entry(1, 10, "")),
    )?;
    c.ok("commit", txn.commit(store).await)?;
    let cycle1: Vec<Value> = c.ok("log_of_cycle", store.log_of_cycle(&job, 1, None, ALL).await)?;
    c.same(
        "the log of cycle 1",
        &cycle1,
        &vec![
            entry(1, 0, "E2"),
            entry(1, 1, "E1"),
            entry(1, 2, "E2"),
            entry(1, 10, ""),
        ],
    )?;
    let after: Vec<Value> = c.ok(
        "log_of_cycle",
        store.log_of_cycle(&job, 1, Some(1), 2).await,
    )?;
    c.same(
        "the log of cycle 1 after entry 1, two entries",
        &after,
        &vec![entry(1, 2, "E2"), entry(1, 10, "")],
    )?;
    let of_e1: Vec<Value> = c.ok(
        "log_of_object",
        store.log_of_object(&job, &user, &e1, ALL).await,
    )?;
    c.same(
        "the log of object E1, oldest first",
        &of_e1,
        &vec![entry(1, 1, "E1"), entry(2, 0, "E1")],
    )?;

    // E8's entries chain from its link: created (3, 0), updated (4, 0), then deleted with an
    // indexed entry (5, 0) that records the chain before it; E8 comes back (6, 0) with a
    // fresh link, then its link is cleared with its head indexed (a full reset).
    let e8 = SourceId::new("E8");
    let at = |cycle, seq| LogRef::new(cycle, seq);
    let mut link = Link::new(e8.clone(), TargetId::new("t8"), DateTime::<Utc>::MIN_UTC);
    let mut txn = Txn::new(None);
    c.ok(
        "build",
        txn.append_linked_log(&job, at(3, 0), &mut link, None, &entry(3, 0, "E8")),
    )?;
    c.ok("build", txn.put_link(&job, &user, &link))?;
    c.ok("commit", txn.commit(store).await)?;
    let mut txn = Txn::new(None);
    c.ok(
        "build",
        txn.append_linked_log(&job, at(4, 0), &mut link, None, &entry(4, 0, "E8")),
    )?;
    c.ok("build", txn.put_link(&job, &user, &link))?;
    c.ok("commit", txn.commit(store).await)?;
    c.same("the link's log head", &link.log_head, &Some(at(4, 0)))?;
    let chained: Vec<Value> = c.ok(
        "log_of_object",
        store.log_of_object(&job, &user, &e8, ALL).await,
    )?;
    c.same(
        "the log of E8 through its link",
        &chained,
        &vec![entry(3, 0, "E8"), entry(4, 0, "E8")],
    )?;
    let mut txn = Txn::new(None);
    c.ok(
        "build",
        txn.append_log(&job, 5, 0, Some((&user, &e8)), &entry(5, 0, "E8")),
    )?;
    c.ok("build", txn.put_log_previous(&job, at(5, 0), at(4, 0)))?;
    txn.delete_link(&job, &user, &link);
    c.ok("commit", txn.commit(store).await)?;
    let mut fresh = Link::new(e8.clone(), TargetId::new("t9"), DateTime::<Utc>::MIN_UTC);
    let mut txn = Txn::new(None);
    c.ok(
        "build",
        txn.append_linked_log(&job, at(6, 0), &mut fresh, None, &entry(6, 0, "E8")),
    )?;
    c.ok("build", txn.put_link(&job, &user, &fresh))?;
    c.ok("commit", txn.commit(store).await)?;
    let mut txn = Txn::new(None);
    txn.index_log(&job, &user, &e8, at(6, 0));
    txn.delete_link(&job, &user, &fresh);
    c.ok("commit", txn.commit(store).await)?;
    let all: Vec<Value> = c.ok(
        "log_of_object",
        store.log_of_object(&job, &user, &e8, ALL).await,
    )?;
    let expected = vec![
        entry(3, 0, "E8"),
        entry(4, 0, "E8"),
        entry(5, 0, "E8"),
        entry(6, 0, "E8"),
    ];
    c.same(
        "the log of E8 after its links are gone, oldest first",
        &all,
        &expected,
    )?;
    let first_two: Vec<Value> = c.ok(
        "log_of_object",
        store.log_of_object(&job, &user, &e8, 2).await,
    )?;
    c.same("the first two", &first_two, &expected[..2].to_vec())
}

/// Committing the same batch again (a retry after an unclear failure) leaves the same state.
pub async fn idempotent_retries<S: StateStore + ?Sized>(store: &S) -> Outcome {
    let c = Check("state::idempotent_retries");
    let job = JobId::new("conformance-retry");
    c.reset(store, &job).await?;
    let base = job_prefix(&job);
    let setup = vec![
        put(KV, base.clone().str("old").into_bytes(), b"1".to_vec()),
        put(
            KV,
            base.clone().str("dir").str("a").into_bytes(),
            b"1".to_vec(),
        ),
    ];
    c.ok("commit", store.commit(batch(None, setup)).await)?;
    let mut txn = Txn::new(None);
    let link = Link::new(SourceId::new("E1"), TargetId::new("t-1"), t0());
    c.ok("build", txn.put_link(&job, &ObjectType::USER, &link))?;
    let wm = WatermarkRecord::new(Watermark::new("7"), "ctx", t0());
    c.ok("build", txn.put_watermark(&job, &ObjectType::USER, &wm))?;
    txn.put_raw(KV, base.clone().str("new").into_bytes(), b"2".to_vec());
    txn.delete(KV, base.clone().str("old"));
    txn.delete_prefix(KV, base.clone().str("dir"));
    let retried = txn.clone();

    c.ok("commit", txn.commit(store).await)?;
    let once = c.snapshot(store, &job).await?;
    c.ok(
        "commit of the same batch again",
        retried.commit(store).await,
    )?;
    let twice = c.snapshot(store, &job).await?;
    c.same("the state after committing a batch twice", &twice, &once)?;
    c.same(
        "the link after committing it twice",
        &c.ok(
            "link_by_target",
            store
                .link_by_target(&job, &ObjectType::USER, &link.target_id)
                .await,
        )?,
        &Some(link),
    )
}

/// What a durable store commits is there after the store is dropped and opened again:
/// raw keys, typed records, and the lease (a second holder is still refused, and the old
/// holder's epoch still fences).
///
/// `open` opens the store (each call a fresh handle on the same data); the check drops its
/// handle before opening the next one.
pub async fn durable_across_reopen<S, F>(open: F) -> Outcome
where
    S: StateStore,
    F: Fn() -> Result<S>,
{
    let c = Check("state::durable_across_reopen");
    let job = JobId::new("conformance-durable");
    let key = job_prefix(&job).str("k").into_bytes();
    let link = Link::new(SourceId::new("E1"), TargetId::new("t-1"), t0());
    let wm = WatermarkRecord::new(Watermark::new("usn:99"), "ctx", t0());
    let ttl = Duration::from_secs(3600);
    let lease = {
        let store = c.ok("open", open())?;
        c.reset(&store, &job).await?;
        let lease = c.acquire(&store, &job, "agent-a", t0(), ttl).await?;
        let mut txn = Txn::new(Some(lease.clone()));
        c.ok("build", txn.put_link(&job, &ObjectType::USER, &link))?;
        c.ok("build", txn.put_watermark(&job, &ObjectType::USER, &wm))?;
        txn.put_raw(KV, key.clone(), b"durable".to_vec());
        c.ok("commit", txn.commit(&store).await)?;
        lease
    };
    let store = c.ok("reopen", open())?;
    c.same(
        "a raw key after a reopen",
        &c.get(&store, KV, &key).await?,
        &Some("durable".to_owned()),
    )?;
    c.same(
        "a link after a reopen",
        &c.ok(
            "link_by_target",
            store
                .link_by_target(&job, &ObjectType::USER, &link.target_id)
                .await,
        )?,
        &Some(link),
    )?;
    c.same(
        "a watermark after a reopen",
        &c.ok("watermark", store.watermark(&job, &ObjectType::USER).await)?,
        &Some(wm),
    )?;
    let held = store
        .acquire_lease(&job, "agent-b", t0() + secs(1), ttl)
        .await;
    c.lease_held("another holder after a reopen", held, "agent-a")?;
    let b = c
        .acquire(&store, &job, "agent-b", t0() + secs(3601), ttl)
        .await?;
    c.check(b.epoch > lease.epoch, || {
        format!(
            "a takeover after a reopen must raise the epoch: was {}, got {}",
            lease.epoch, b.epoch
        )
    })?;
    let err = store
        .commit(batch(
            Some(&lease),
            vec![put(KV, key.clone(), b"stale".to_vec())],
        ))
        .await;
    c.lease_lost(
        "a commit fenced by the lease from before the reopen",
        err,
        lease.epoch,
    )
}

/// The fixed instant the lease checks start from.
fn t0() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_750_000_000)
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn put(table: Table, key: Vec<u8>, value: Vec<u8>) -> WriteOp {
    WriteOp::Put { table, key, value }
}

fn insert(table: Table, key: Vec<u8>, value: Vec<u8>) -> WriteOp {
    WriteOp::Insert { table, key, value }
}

fn batch(lease: Option<&Lease>, ops: Vec<WriteOp>) -> WriteBatch {
    let mut b = match lease {
        Some(l) => WriteBatch::fenced(l.clone()),
        None => WriteBatch::default(),
    };
    b.ops = ops;
    b
}

/// A key as text for failure messages: its [`Key`] components joined by `/`, or its bytes.
fn readable(key: &[u8]) -> String {
    match Key::decode(key) {
        Some(parts) if !parts.is_empty() => parts
            .iter()
            .map(|p| p.escape_ascii().to_string())
            .collect::<Vec<_>>()
            .join("/"),
        _ => format!("bytes {}", key.escape_ascii()),
    }
}

/// Everything a job has in the tables the checks use, for comparing states.
type Snapshot = Vec<(&'static str, Vec<(Vec<u8>, Vec<u8>)>)>;

/// One check's name and its ways of failing.
struct Check(&'static str);

impl Check {
    fn fail(&self, message: impl Into<String>) -> Failure {
        Failure::new(self.0, message)
    }

    fn ok<T>(&self, doing: &str, r: Result<T>) -> std::result::Result<T, Failure> {
        r.map_err(|e| self.fail(format!("{doing}: unexpected error: {e}")))
    }

    fn check(&self, condition: bool, message: impl FnOnce() -> String) -> Outcome {
        if condition {
            Ok(())
        } else {
            Err(self.fail(message()))
        }
    }

    fn same<T: PartialEq + Debug>(&self, what: &str, found: &T, expected: &T) -> Outcome {
        self.check(found == expected, || {
            format!("{what}: expected {expected:?}, found {found:?}")
        })
    }

    fn same_rows(
        &self,
        what: &str,
        found: &[(Vec<u8>, Vec<u8>)],
        expected: &[(Vec<u8>, Vec<u8>)],
    ) -> Outcome {
        if found == expected {
            return Ok(());
        }
        let show = |rows: &[(Vec<u8>, Vec<u8>)]| -> Vec<String> {
            rows.iter()
                .map(|(k, v)| format!("{} = {}", readable(k), v.escape_ascii()))
                .collect()
        };
        self.same(what, &show(found), &show(expected))
    }

    fn same_keys(&self, what: &str, found: &[Vec<u8>], expected: &[Vec<u8>]) -> Outcome {
        if found == expected {
            return Ok(());
        }
        let show = |keys: &[Vec<u8>]| -> Vec<String> { keys.iter().map(|k| readable(k)).collect() };
        self.same(what, &show(found), &show(expected))
    }

    /// Clears everything the check keeps under `job`, so it starts from nothing.
    async fn reset<S: StateStore + ?Sized>(&self, store: &S, job: &JobId) -> Outcome {
        let prefix = job_prefix(job).into_bytes();
        let ops = Table::ALL
            .iter()
            .chain([KV].iter())
            .map(|&table| WriteOp::DeletePrefix {
                table,
                prefix: prefix.clone(),
            })
            .collect();
        self.ok(
            &format!("clearing job {job} before the check"),
            store.commit(batch(None, ops)).await,
        )
    }

    async fn get<S: StateStore + ?Sized>(
        &self,
        store: &S,
        table: Table,
        key: &[u8],
    ) -> std::result::Result<Option<String>, Failure> {
        let value = self.ok(
            &format!("get from {}", table.name()),
            store.get(table, key).await,
        )?;
        Ok(value.map(|v| v.escape_ascii().to_string()))
    }

    async fn scan<S: StateStore + ?Sized>(
        &self,
        store: &S,
        table: Table,
        prefix: &Key,
    ) -> std::result::Result<Vec<(Vec<u8>, Vec<u8>)>, Failure> {
        let range = KeyRange::prefix(prefix.as_bytes().to_vec());
        self.ok(
            &format!("scan of {}", table.name()),
            store.scan(table, &range, ALL).await,
        )
    }

    async fn snapshot<S: StateStore + ?Sized>(
        &self,
        store: &S,
        job: &JobId,
    ) -> std::result::Result<Snapshot, Failure> {
        let prefix = job_prefix(job);
        let mut out = Vec::new();
        for table in Table::ALL.into_iter().chain([KV]) {
            out.push((table.name(), self.scan(store, table, &prefix).await?));
        }
        Ok(out)
    }

    async fn acquire<S: StateStore + ?Sized>(
        &self,
        store: &S,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> std::result::Result<Lease, Failure> {
        self.ok(
            &format!("acquire_lease of job {job} by {holder} at {now}"),
            store.acquire_lease(job, holder, now, ttl).await,
        )
    }

    fn key_exists(&self, what: &str, r: Result<()>) -> Outcome {
        match r {
            Err(Error::KeyExists { .. }) => Ok(()),
            Err(e) => Err(self.fail(format!("{what}: expected KeyExists, got {e}"))),
            Ok(()) => Err(self.fail(format!("{what}: expected KeyExists, the commit succeeded"))),
        }
    }

    fn lease_held(&self, what: &str, r: Result<Lease>, holder: &str) -> Outcome {
        match r {
            Err(Error::LeaseHeld { holder: h, .. }) => {
                self.same(&format!("{what}: holder named"), &h.as_str(), &holder)
            }
            Err(e) => Err(self.fail(format!("{what}: expected LeaseHeld, got {e}"))),
            Ok(l) => Err(self.fail(format!(
                "{what}: expected LeaseHeld, the lease was granted: {l:?}"
            ))),
        }
    }

    fn lease_lost(&self, what: &str, r: Result<()>, epoch: u64) -> Outcome {
        match r {
            Err(Error::LeaseLost { epoch: e, .. }) => {
                self.same(&format!("{what}: epoch named"), &e, &epoch)
            }
            Err(e) => Err(self.fail(format!("{what}: expected LeaseLost, got {e}"))),
            Ok(()) => Err(self.fail(format!("{what}: expected LeaseLost, the commit succeeded"))),
        }
    }
}
