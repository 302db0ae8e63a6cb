//! [`MemoryDirectory`]: the reference source *and* target, in memory.
//!
//! One directory of SCIM resources that the engine can read from (a [`SourceConnector`]: full
//! import, changes since a watermark) and write to (a [`TargetConnector`]: create, find,
//! PATCH, PUT, delete, query). It behaves as a real directory does where the engine's
//! correctness depends on it — ids assigned by the directory and never reused, a change
//! counter that is its watermark (like Active Directory's USN), deletes kept as tombstones for
//! delta readers, group membership changes delivered as member deltas, `userName` unique
//! case-insensitively, ETags and `If-Match`, atomic PATCH, paging that stays stable while the
//! directory changes — so that the engine's tests against it mean something.
//!
//! ```
//! use connectors::memory::MemoryDirectory;
//! use connectors::{ChangeKind, CreateKey, ObjectType, SourceConnector, TargetConnector};
//! use scim_model::Resource;
//!
//! # futures::executor::block_on(async {
//! let dir = MemoryDirectory::new();
//! let since = dir.current_watermark(&ObjectType::USER).await?;
//!
//! let user: Resource = serde_json::from_str(
//!     r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}"#,
//! ).unwrap();
//! let created = dir.create(&ObjectType::USER, &user, Some(&CreateKey::new("E1042"))).await?;
//! assert_eq!(created.resource.external_id(), Some("E1042"));
//!
//! // The same directory, read as a source: the create is a change after `since`.
//! let page = dir.changes(&ObjectType::USER, &since, None).await?;
//! assert_eq!(page.changes.len(), 1);
//! assert!(matches!(page.changes[0].kind, ChangeKind::Upsert(_)));
//! # Ok::<(), connectors::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Sharing
//!
//! `Clone` gives another handle to the *same* directory (`Arc<RwLock<…>>`): hand one clone to
//! the engine as its target and keep another to look at what it wrote. Reads take a shared
//! lock, writes an exclusive one; no lock is held across an `await`.
//!
//! # Cost of each operation
//!
//! With *n* objects of the type, *c* changes after a watermark and *m* members in a group:
//!
//! | operation | cost |
//! |---|---|
//! | `get`, `create`, `delete`, `find` on `id`, `userName`, `externalId` (or another attribute the schema makes unique) | O(log n) plus the object's size |
//! | `find` on any other path (`emails[type eq "work"].value`) | O(n): a scan with the compiled filter |
//! | `patch` | the PATCH itself (a membership change of a big group costs O(m) to apply and to find the members it touched, never a copy of the group); a PATCH touching `userName`, `externalId`, `id` or a required attribute works on a copy so that a clash changes nothing |
//! | `replace` | O(log n) plus the object's size |
//! | `import_page` | O(log n + page) (keyset paging by id) |
//! | `changes` | O(log c + page), whatever n is: the change log is ordered by USN |
//! | `query` without filter, in id order | O(log n + page); with a filter O(n) per page (the filter is evaluated once per object and `totalResults` counts every match); sorted O(n log n) per page |
//! | [`MemoryDirectory::load`] | O(log n) per object |
//!
//! Each object costs its resource (kept without `meta`, which is put back on the way out),
//! two timestamps and three counters, one entry per index it appears in and at most two
//! change-log entries; ids are shared (`Arc<str>`) between the map, the indexes and the log.
//! A deleted object leaves a tombstone of its id in the change log until
//! [`MemoryDirectory::purge_tombstones`].
//!
//! [`SourceConnector`]: crate::SourceConnector
//! [`TargetConnector`]: crate::TargetConnector

mod changelog;
mod directory;
#[cfg(any(test, feature = "conformance"))]
mod fixture;
mod index;
mod members;
mod ops;
mod query;
mod state;

pub use directory::{MemoryDirectory, MemoryDirectoryBuilder};
