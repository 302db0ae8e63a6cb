//! A durable store survives its writer being killed at any moment: after a `SIGKILL` in the
//! middle of a stream of commits, the reopened store holds every batch whole or not at all.
//! And a damaged file is an error when opened, never a panic.
//!
//! The writer is this test binary run again with [`CHILD_ENV`] set, selecting the
//! `crash_child` test (ignored in normal runs).

// Helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use connectors::state::records::WatermarkRecord;
use connectors::state::{Key, KeyRange, RedbStateStore, StateStoreExt, Txn};
use connectors::{Error, JobId, ObjectType, StateStore, Table, Watermark};
use futures::executor::block_on;

/// Set to the store's path in the writer process.
const CHILD_ENV: &str = "IDFLOW_CRASH_TEST_STORE";
/// Set in the writer process to commit each write of a batch apart (the control).
const SPLIT_ENV: &str = "IDFLOW_CRASH_TEST_SPLIT";
/// Keys written by each batch.
const KEYS: u64 = 100;
/// A batch's data: (batch, i) → the batch number, padded.
const DATA: Table = Table::new("crash_data");
/// The number of the last batch committed.
const META: Table = Table::new("crash_meta");
const COUNTER: &[u8] = b"counter";

fn job() -> JobId {
    JobId::new("crash")
}

fn batch_prefix(n: u64) -> Key {
    Key::new().u64(n)
}

/// The value of every key of batch `n`: its number, repeated to 256 bytes so that a batch
/// spans several pages.
fn value(n: u64) -> Vec<u8> {
    n.to_be_bytes().repeat(32)
}

fn number(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

/// Batch `n`: its keys, the counter, a watermark, and the removal of batch `n - 2`.
fn batch(n: u64) -> Txn {
    let mut txn = Txn::new(None);
    for i in 0..KEYS {
        txn.put_raw(DATA, batch_prefix(n).u64(i).into_bytes(), value(n));
    }
    txn.put_raw(META, COUNTER.to_vec(), n.to_be_bytes().to_vec());
    let wm = WatermarkRecord::new(
        Watermark::new(n.to_be_bytes().to_vec()),
        "crash",
        chrono::DateTime::UNIX_EPOCH,
    );
    txn.put_watermark(&job(), &ObjectType::USER, &wm).unwrap();
    if n > 2 {
        txn.delete_prefix(DATA, batch_prefix(n - 2));
    }
    txn
}

/// The writer: commits batch after batch until it is killed.
#[test]
#[ignore = "the writer process of a_killed_writer_leaves_whole_batches, which runs it"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = RedbStateStore::open(&path).unwrap();
    let last = block_on(store.get(META, COUNTER))
        .unwrap()
        .and_then(|b| number(&b))
        .unwrap_or(0);
    println!("READY {last}");
    let split = std::env::var_os(SPLIT_ENV).is_some();
    let mut n = last + 1;
    loop {
        if split {
            // The control: each write of the batch committed on its own.
            for op in batch(n).into_batch().ops {
                let mut one = connectors::WriteBatch::default();
                one.ops.push(op);
                block_on(store.commit(one)).unwrap();
            }
        } else {
            block_on(batch(n).commit(&store)).unwrap();
        }
        n += 1;
    }
}

/// Kills the writer if the test fails before it does.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a writer on `path` and returns once it has opened the store, with the counter it
/// found.
fn start_writer(path: &Path, split: bool) -> (Writer, u64) {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    if split {
        command.env(SPLIT_ENV, "1");
    }
    let child = command
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = Writer(child);
    let stdout = writer.0.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some((_, n)) = line.split_once("READY ") {
            return (writer, n.trim().parse().unwrap());
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = writer.0.stderr.take() {
        e.read_to_string(&mut stderr).unwrap();
    }
    panic!("the writer stopped before it was ready: {stderr}");
}

/// Reopens the store after a kill and checks that it holds whole batches only: the counter
/// `c` names the last batch committed, batches `c - 1` and `c` are there in full, nothing of
/// any other batch is. Returns `c`.
fn check_consistent(path: &Path) -> u64 {
    consistency(path).unwrap_or_else(|e| panic!("{e}"))
}

fn consistency(path: &Path) -> Result<u64, String> {
    let store = RedbStateStore::open(path).unwrap();
    block_on(async {
        let c = store
            .get(META, COUNTER)
            .await
            .unwrap()
            .map(|b| number(&b).unwrap())
            .unwrap_or(0);
        let wm = store.watermark(&job(), &ObjectType::USER).await.unwrap();
        let wm = wm.map(|w| number(w.watermark.as_bytes()).unwrap());
        if wm != (c > 0).then_some(c) {
            return Err(format!("the watermark is {wm:?} with counter {c}"));
        }

        let rows = store
            .scan(DATA, &KeyRange::prefix(Vec::new()), usize::MAX)
            .await
            .unwrap();
        let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (k, v) in rows {
            let parts = Key::decode(&k).unwrap();
            let b = number(&parts[0]).unwrap();
            let i = number(&parts[1]).unwrap();
            if v != value(b) {
                return Err(format!("key ({b}, {i}) holds another batch's value"));
            }
            seen.entry(b).or_default().push(i);
        }
        let expected: BTreeSet<u64> = [c.saturating_sub(1), c]
            .into_iter()
            .filter(|&b| b > 0)
            .collect();
        let batches: BTreeSet<u64> = seen.keys().copied().collect();
        if batches != expected {
            return Err(format!(
                "counter {c}: batches {batches:?} are present, expected {expected:?}"
            ));
        }
        for (b, keys) in &seen {
            if *keys != (0..KEYS).collect::<Vec<_>>() {
                return Err(format!(
                    "counter {c}: batch {b} has {} of its {KEYS} keys",
                    keys.len()
                ));
            }
        }
        Ok(c)
    })
}

/// A tiny deterministic generator (SplitMix64), so every run waits the same times.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn a_killed_writer_leaves_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut rng = Rng(0x1D_F10E);
    let mut last = 0;
    let mut rounds_with_progress = 0;
    for round in 0..8 {
        let (mut writer, found) = start_writer(&path, false);
        assert_eq!(
            found, last,
            "round {round}: the writer found another counter"
        );
        let wait = Duration::from_millis(20 + rng.next() % 281);
        std::thread::sleep(wait);
        writer.0.kill().unwrap();
        writer.0.wait().unwrap();
        drop(writer);
        let c = check_consistent(&path);
        eprintln!("round {round}: waited {wait:?}, counter {c}");
        assert!(
            c >= last,
            "round {round}: the counter went back from {last} to {c}"
        );
        if c > last {
            rounds_with_progress += 1;
        }
        last = c;
    }
    // The rounds must have committed batches between them, or the test proved nothing.
    assert!(
        rounds_with_progress >= 2 && last >= 8,
        "too little was committed: {rounds_with_progress} of 8 rounds, counter {last}"
    );
}

/// The control: a writer that commits each write of a batch on its own leaves half
/// batches when killed, and the check above notices — so its passing means something.
#[test]
fn the_check_notices_a_writer_that_is_not_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    for round in 0..5 {
        let (mut writer, _) = start_writer(&path, true);
        std::thread::sleep(Duration::from_millis(150));
        writer.0.kill().unwrap();
        writer.0.wait().unwrap();
        drop(writer);
        if let Err(e) = consistency(&path) {
            eprintln!("round {round}: noticed: {e}");
            return;
        }
    }
    panic!("five kills of a writer that is not atomic went unnoticed");
}

/// A store with some data, closed.
fn written_store(path: &Path) {
    let store = RedbStateStore::open(path).unwrap();
    for n in 1..=20 {
        block_on(batch(n).commit(&store)).unwrap();
    }
}

fn assert_permanent_storage_error(result: connectors::Result<RedbStateStore>, what: &str) {
    match result {
        Err(Error::Storage {
            backend: "redb",
            temporary: false,
            message,
        }) => assert!(message.contains("crash.redb"), "{what}: {message}"),
        Err(e) => panic!("{what}: expected a permanent storage error, got {e}"),
        Ok(store) => panic!("{what}: the file opened: {store:?}"),
    }
}

#[test]
fn a_garbage_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut rng = Rng(7);
    let garbage: Vec<u8> = (0..64 * 1024).map(|_| rng.next() as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    assert_permanent_storage_error(RedbStateStore::open(&path), "garbage");
    std::fs::write(&path, b"not a database\n").unwrap();
    assert_permanent_storage_error(RedbStateStore::open(&path), "a short text file");
}

#[test]
fn a_truncated_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.redb");
    written_store(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    let len = bytes.len();
    let path = dir.path().join("crash.redb");
    for cut in [1, 100, 4096, len / 2, len - 4096, len - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert_permanent_storage_error(
            RedbStateStore::open(&path),
            &format!("truncated to {cut} of {len} bytes"),
        );
    }
}

/// A flipped byte in a page of the file (every other page, one at a time): the open fails with
/// a permanent error, or — when the page is one the database does not use — the data reads
/// back whole.
#[test]
fn a_corrupted_file_is_an_error_or_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.redb");
    written_store(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    let path = dir.path().join("crash.redb");
    let mut rng = Rng(99);
    let (mut refused, mut opened) = (0, 0);
    for page in (0..bytes.len()).step_by(2 * 4096) {
        let at = page + (rng.next() % 4096) as usize;
        let Some(&byte) = bytes.get(at) else { continue };
        let mut damaged = bytes.clone();
        damaged[at] = byte ^ 0x5A;
        std::fs::write(&path, &damaged).unwrap();
        match RedbStateStore::open(&path) {
            Err(_) => {
                assert_permanent_storage_error(RedbStateStore::open(&path), &format!("byte {at}"));
                refused += 1;
            }
            Ok(store) => {
                drop(store);
                assert_eq!(check_consistent(&path), 20, "byte {at} flipped");
                opened += 1;
            }
        }
    }
    eprintln!(
        "{} bytes: {refused} damaged files refused, {opened} opened whole",
        bytes.len()
    );
    assert!(refused > 0, "no damage was noticed");
}
