//! Inputs of the sync-engine benchmarks (`benches/benches/sync.rs` and the `sync_cycle`
//! binary): the job, the engine bound to two [`MemoryDirectory`]s and a [`RedbStateStore`] in
//! a temporary directory, the changes a delta cycle reads, and the two baselines of DESIGN's
//! "Benchmark baselines" — a raw copy and a durable copy, with no engine.
//!
//! The source holds the HR-shaped users of [`crate::connectors::hr_user`]. The job ([`job`])
//! is what an HR-to-directory job looks like: one scoping clause (`active IS TRUE`, so the one
//! user in 50 who is inactive is skipped), ten attribute mappings — `userName` (the matching
//! attribute), `externalId`, `active`, `displayName`, `name.givenName`, `name.familyName`,
//! `title`, the work email, and the enterprise extension's `department` and `manager.value` (a
//! reference, resolved through the link table) — and every other setting at its default (page
//! size 500, export concurrency 8, deletion threshold 500).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::memory::MemoryDirectory;
use connectors::state::records::Link;
use connectors::state::{RedbStateStore, Txn};
use connectors::{JobId, PageToken, Result, SourceConnector, TargetConnector, TargetId};
use futures::executor::block_on;
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, ENTERPRISE_USER_SCHEMA};
use serde_json::{Value, json};
use sync_engine::{CycleReport, Job, RunOptions, SyncEngine};

use crate::connectors::{USER, hr_user, user_id};

/// The job's id in the state store.
pub fn job_id() -> JobId {
    JobId::new("hr-to-directory")
}

/// The benchmark's job (see the [module documentation](self)). With `manager` false the
/// manager mapping is left out (nine mappings, no reference resolution), to show what
/// references cost.
///
/// # Errors
///
/// [`sync_engine::Error`] if the job does not check (a bug).
pub fn job(manager: bool) -> sync_engine::Result<Job> {
    let ent = ENTERPRISE_USER_SCHEMA;
    let direct =
        |attr: &str| json!({"targetAttribute": attr, "source": {"type": "Direct", "path": attr}});
    let mut mappings = vec![
        json!({"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1}),
        direct("externalId"),
        direct("active"),
        direct("displayName"),
        direct("name.givenName"),
        direct("name.familyName"),
        direct("title"),
        direct(r#"emails[type eq "work"].value"#),
        direct(&format!("{ent}:department")),
    ];
    if manager {
        // `manager.value`, not the whole `manager`: the source's manager carries the
        // read-only `displayName`, which a target refuses (a whole-`manager` mapping fails
        // every user whose manager is linked).
        mappings.push(direct(&format!("{ent}:manager.value")));
    }
    let job = json!({"objectMappings": [{
        "sourceObjectName": "User", "targetObjectName": "User",
        "scope": [[{"sourceAttribute": "active", "operator": "IS TRUE"}]],
        "attributeMappings": mappings,
    }]});
    Job::from_json_str(&job.to_string())
}

/// A durable state store in a temporary directory, removed when this is dropped.
#[derive(Debug)]
pub struct TempStore {
    store: Arc<RedbStateStore>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TempStore {
    /// A new, empty [`RedbStateStore`] in a new temporary directory (under `TMPDIR`).
    ///
    /// # Errors
    ///
    /// [`connectors::Error`] if the directory or the store cannot be made.
    pub fn new() -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|e| {
            connectors::Error::permanent("bench", format!("cannot make a temporary directory: {e}"))
        })?;
        let path = dir.path().join("state.redb");
        let store = Arc::new(RedbStateStore::open(&path)?);
        Ok(TempStore {
            store,
            path,
            _dir: dir,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<RedbStateStore> {
        &self.store
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size of the store's file in bytes (0 if it cannot be read).
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

/// The engine for [`job`] from `source` to `target` with `store` as its state.
///
/// # Errors
///
/// What [`SyncEngine::new`] returns (none for this job).
pub fn engine(
    manager: bool,
    source: Arc<MemoryDirectory>,
    target: Arc<MemoryDirectory>,
    store: Arc<RedbStateStore>,
) -> sync_engine::Result<SyncEngine> {
    Ok(SyncEngine::new(job_id(), job(manager)?, source, target, store)?.with_holder("bench"))
}

/// Runs one cycle to its end.
///
/// # Errors
///
/// What [`SyncEngine::run_cycle`] returns.
pub fn run(engine: &SyncEngine) -> sync_engine::Result<CycleReport> {
    block_on(engine.run_cycle(&RunOptions::new()))
}

/// Changes the title of `count` distinct users of a source holding users `0..n`, spread evenly
/// over it, by PATCH; `round` goes into the new value, so every round is a real change to
/// every user it touches. Only active users are changed (unless `count` is `n`), so the
/// changes are all in the job's scope. Returns how many of the changed users are in scope,
/// i.e. how many updates the next delta cycle must make.
///
/// # Errors
///
/// What [`TargetConnector::patch`] returns; a permanent error when `count` is more than `n`.
pub fn change_titles(dir: &MemoryDirectory, n: u64, count: u64, round: u64) -> Result<u64> {
    if count > n {
        return Err(connectors::Error::permanent(
            "bench",
            format!("{count} distinct changes need {count} users; the source has {n}"),
        ));
    }
    let stride = n.checked_div(count).unwrap_or(1).max(1);
    let mut in_scope = 0;
    for j in 0..count {
        // Offset by the round so that successive rounds change different users; when the
        // stride leaves room, the next user instead of an inactive one (user i is inactive
        // when i % 50 == 49), so that every round makes `count` updates.
        let mut i = (j * stride + round % stride) % n;
        if stride > 1 && i % 50 == 49 {
            i = (i + 1) % n;
        }
        let user = hr_user(i);
        let title = user.get("title").and_then(Value::as_str).unwrap_or("Staff");
        let patch = PatchOp::new().replace(
            AttributePath::new("title"),
            Value::String(format!("{title} (r{round})")),
        );
        block_on(TargetConnector::patch(
            dir,
            &USER,
            &TargetId::new(user_id(i)),
            &patch,
            None,
        ))?;
        if user.get("active") == Some(&Value::Bool(true)) {
            in_scope += 1;
        }
    }
    Ok(in_scope)
}

/// The raw-copy baseline: every source object read through [`SourceConnector::import_page`]
/// and created, as it is (less its `id`, `meta` and the read-only `manager.displayName`; the
/// `manager.value` stays the source's id, unresolved), in `target`, one at a time, through
/// [`TargetConnector::create_for_id`] (the cheapest create, which the engine uses too).
/// Returns how many objects were copied.
///
/// # Errors
///
/// What the connectors return.
pub fn raw_copy(source: &MemoryDirectory, target: &MemoryDirectory) -> Result<u64> {
    copy(source, target, None)
}

/// The durable-copy baseline: [`raw_copy`] plus one link per object (source id → new target
/// id) written to `store` with [`Txn::put_link`], one commit per import page (500 objects, the
/// engine's batch size). Returns how many objects were copied.
///
/// # Errors
///
/// What the connectors and the store return.
pub fn durable_copy(
    source: &MemoryDirectory,
    target: &MemoryDirectory,
    store: &RedbStateStore,
) -> Result<u64> {
    copy(source, target, Some(store))
}

fn copy(
    source: &MemoryDirectory,
    target: &MemoryDirectory,
    store: Option<&RedbStateStore>,
) -> Result<u64> {
    let job = job_id();
    let now = chrono::Utc::now();
    let mut token: Option<PageToken> = None;
    let mut n = 0;
    loop {
        let page = block_on(source.import_page(&USER, token.as_ref()))?;
        let mut txn = Txn::new(None);
        for o in page.objects {
            let mut resource = o.resource;
            resource.remove("id");
            resource.remove("meta");
            // The manager's displayName is read-only: a service sets it, a client may not.
            if let Some(Value::Object(m)) = resource
                .extension_mut(ENTERPRISE_USER_SCHEMA)
                .get_mut("manager")
            {
                m.remove("displayName");
            }
            // The cheapest write the target offers (what the engine also uses since
            // session 6): the object is not copied back out.
            let created = block_on(target.create_for_id(&USER, &resource, None))?;
            if store.is_some() {
                txn.put_link(&job, &USER, &Link::new(o.id, created.id, now))?;
            }
            n += 1;
        }
        if let Some(store) = store {
            block_on(txn.commit(store))?;
        }
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::directory;

    #[test]
    fn baselines_copy_everything_and_link_it() {
        let source = directory(1_200).unwrap();
        let target = MemoryDirectory::new();
        assert_eq!(raw_copy(&source, &target).unwrap(), 1_200);
        assert_eq!(target.len(&USER), 1_200);
        let store = TempStore::new().unwrap();
        let target = MemoryDirectory::new();
        assert_eq!(
            durable_copy(&source, &target, store.store()).unwrap(),
            1_200
        );
        let links = block_on(connectors::state::StateStoreExt::links(
            store.store().as_ref(),
            &job_id(),
            &USER,
            None,
            2_000,
        ))
        .unwrap();
        assert_eq!(links.len(), 1_200);
        assert!(store.file_bytes() > 0);
    }

    #[test]
    fn initial_and_delta_cycles_do_what_the_figures_say() {
        for manager in [true, false] {
            let n = 1_000;
            let source = Arc::new(directory(n).unwrap());
            let target = Arc::new(MemoryDirectory::new());
            let store = TempStore::new().unwrap();
            let eng = engine(
                manager,
                source.clone(),
                target.clone(),
                store.store().clone(),
            )
            .unwrap();
            let first = run(&eng).unwrap();
            // One user in 50 is inactive: out of scope, skipped.
            assert_eq!(first.summary.created, n - n / 50, "{:?}", first.summary);
            assert_eq!(first.summary.skipped, n / 50);
            assert_eq!(first.summary.failed, 0);
            assert_eq!(target.len(&USER) as u64, n - n / 50);
            for (round, count) in [(1, 1), (2, 100)] {
                let expected = change_titles(&source, n, count, round).unwrap();
                let report = run(&eng).unwrap();
                assert_eq!(report.summary.updated, expected, "{:?}", report.summary);
                assert_eq!(report.summary.created, 0);
                assert_eq!(report.summary.failed, 0);
            }
            let with_manager = target
                .snapshot(&USER)
                .iter()
                .filter(|u| {
                    u.extension(ENTERPRISE_USER_SCHEMA)
                        .is_some_and(|e| e.contains_key("manager"))
                })
                .count();
            assert_eq!(with_manager > n as usize / 2, manager, "{with_manager}");
        }
    }
}
