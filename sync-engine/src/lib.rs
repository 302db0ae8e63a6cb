//! A watermark-based delta sync engine: import → scope → match → decide → export, with the
//! guarantee that a crash at any instant loses nothing and creates nothing twice.
//!
//! A [`Job`] (serde data, in Microsoft Graph's names) says which source object types flow to
//! which target types, under which scoping filter and attribute mappings, and what leaving
//! scope, deletions, retries and quarantine do. A [`SyncEngine`] binds a job to a source, a
//! target, a state store and a clock — all through the `connectors` traits, never a concrete
//! implementation — and runs cycles:
//!
//! - the first cycle imports everything; later ones read only the changes since the stored
//!   watermark (or diff a full import against stored fingerprints for sources without delta),
//!   so their cost grows with the changes, not the directory;
//! - per object: scope (with an explanation for the log), match (the link first, then the
//!   matching attributes by priority; two matches is an error, never a guess), decide
//!   (create, update with only the changed attributes, disable, delete, skip), export with
//!   bounded concurrency, record the link;
//! - a create is preceded by a committed *intent* and followed by its link; an intent a
//!   crash left unconfirmed stays until the create is found and the object's outcome after
//!   it is committed; the watermark of a page commits with the links of that page, so a kill
//!   at any point and a re-run end with the same target;
//! - manager and group member references resolve through the link table and wait, never
//!   dropped, for objects not yet provisioned; membership flows as member additions and
//!   removals;
//! - failing objects are escrowed and retried on Entra's schedule; the job is quarantined by
//!   Entra's rules; disables and deletes above the threshold are held until approved;
//! - every object with an action, a failure or a reason to be skipped gets a
//!   provisioning-log entry ([`LogEntry`]) with its steps and modified properties.
//!
//! At millions of objects: every log entry is written to the state store (queryable with
//! [`SyncEngine::log_of_cycle`] and by object), and the returned [`CycleReport`] holds only
//! the first [`DEFAULT_REPORT_LOG_LIMIT`] of them unless [`RunOptions::report_log_limit`]
//! says otherwise. The engine allocates a few hundred times per object, so the process's
//! allocator matters on a large heap: with glibc's, allocation was 30–45 % of a cycle's time
//! over 1,000,000 users; with mimalloc as the global allocator the same initial cycle took
//! 94–111 s instead of 135–143 s, and a 1,000-change delta cycle 94–111 ms (medians) instead
//! of 225–250 ms (BENCHMARKS.md, sync-engine, session 8; on session 9's machine 92–94 s, 2.5×
//! the raw copy, and 99.7–112.9 ms). A host syncing that many objects may
//! want another global allocator (`#[global_allocator]`; the engine needs nothing from it).
//!
//! ```
//! use std::sync::Arc;
//! use connectors::{JobId, MemoryDirectory, MemoryStateStore, ObjectType, TargetConnector};
//! use scim_model::Resource;
//! use sync_engine::{Job, RunOptions, SyncEngine};
//!
//! # futures::executor::block_on(async {
//! let hr = MemoryDirectory::new();
//! let mut ada = Resource::new(["urn:ietf:params:scim:schemas:core:2.0:User"]);
//! ada.set("userName", "ada@example.com".into());
//! ada.set("active", true.into());
//! hr.create(&ObjectType::USER, &ada, None).await.unwrap(); // the HR system, as a source
//!
//! let job = Job::from_json_str(r#"{"objectMappings": [{
//!     "sourceObjectName": "User", "targetObjectName": "User",
//!     "scope": [[{"sourceAttribute": "active", "operator": "IS TRUE"}]],
//!     "attributeMappings": [
//!         {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
//!         {"targetAttribute": "active", "source": {"type": "Direct", "path": "active"}}
//!     ]}]}"#).unwrap();
//! let directory = Arc::new(MemoryDirectory::new());
//! let engine = SyncEngine::new(
//!     JobId::new("hr-to-directory"),
//!     job,
//!     Arc::new(hr),
//!     directory.clone(),
//!     Arc::new(MemoryStateStore::new()),
//! ).unwrap();
//!
//! let first = engine.run_cycle(&RunOptions::new()).await.unwrap();
//! assert_eq!(first.summary.created, 1);
//! let second = engine.run_cycle(&RunOptions::new()).await.unwrap();
//! assert_eq!(second.summary.created + second.summary.updated, 0); // nothing changed
//! assert_eq!(directory.len(&ObjectType::USER), 1);
//! # });
//! ```

mod cycle;
mod engine;
mod error;
mod hash;
mod job;
mod log;
mod state;

pub use engine::{
    Checkpoint, DEFAULT_REPORT_LOG_LIMIT, Progress, ResetScope, RunOptions, SyncEngine,
};
pub use error::{Error, Result};
pub use job::{FlowAction, Job, ObjectMapping, OutOfScope, QuarantinePolicy, RetryPolicy};
pub use log::{
    Action, CycleInfo, CycleKind, CycleReport, Identity, LogEntry, ModifiedProperty, Quarantine,
    QuarantineReason, Status, StatusInfo, Step, StepStatus, StepType, Summary,
};
