//! The seams of idflow: the traits that hosts implement, reference implementations of them,
//! and a conformance kit every implementation runs.
//!
//! - [`SourceConnector`]: where identities come from — a full import in pages, and changes
//!   since an opaque [`Watermark`] where the source supports it.
//! - [`TargetConnector`]: where identities go — get, find (for matching), create with an
//!   idempotency key, PATCH, replace, delete, query.
//! - [`StateStore`]: an ordered key-value store with atomic batches and fenced leases, on
//!   which the engine and the lifecycle runner keep watermarks, links, intents, escrows, held
//!   deletions, logs and lifecycle records ([`state::records`]).
//! - [`Clock`]: where time comes from ([`SystemClock`], [`FakeClock`]).
//!
//! Every failure is one [`Error`] that says what kind it is ([`Error::kind`]): temporary,
//! permanent, a uniqueness clash, a version conflict, fatal, or a watermark that needs a full
//! resync. The engine decides on that kind, never on a backend's text.
//!
//! The traits are async (through `async-trait`) but tied to no runtime, `Send + Sync`, usable
//! as `Arc<dyn …>`, and forwarded through `Arc` and `Box`.
//!
//! # Writing a connector
//!
//! A connector is a type that implements one of the traits. Read the trait's *Contract*
//! section first: it says what the engine relies on (stable ids, each object once per import,
//! watermarks that cover their page, which errors are temporary). Map your backend's failures
//! into [`Error`] by what they mean — a timeout or HTTP 429/503 is [`Error::Temporary`] (with
//! `retry_after` when the backend says), bad data is [`Error::InvalidInput`] or
//! [`Error::Permanent`], bad credentials are [`Error::Fatal`] — because the engine retries,
//! escrows or quarantines on that classification.
//!
//! Here is a complete source: an HR system's export held in memory, without delta support
//! (the engine then diffs each full import against what it stored).
//!
//! ```
//! use async_trait::async_trait;
//! use connectors::{
//!     ChangePage, Error, ImportPage, ObjectType, PageToken, Result, SourceCapabilities,
//!     SourceConnector, SourceId, SourceObject, Watermark,
//! };
//! use scim_model::Resource;
//!
//! #[derive(Debug)]
//! struct HrExport {
//!     workers: Vec<(String, Resource)>, // (worker id, attributes)
//! }
//!
//! const PAGE: usize = 100;
//!
//! #[async_trait]
//! impl SourceConnector for HrExport {
//!     fn name(&self) -> &str {
//!         "hr-export"
//!     }
//!
//!     fn capabilities(&self) -> SourceCapabilities {
//!         SourceCapabilities::new([ObjectType::USER]).with_max_page_size(PAGE)
//!     }
//!
//!     async fn import_page(&self, ty: &ObjectType, page: Option<&PageToken>) -> Result<ImportPage> {
//!         if *ty != ObjectType::USER {
//!             return Ok(ImportPage::default());
//!         }
//!         // The token is the offset of the page; a real source would use a keyset cursor.
//!         let start: usize = match page {
//!             None => 0,
//!             Some(t) => t.as_str().parse().map_err(|_| Error::permanent(self.name(), format!("bad page token {t}")))?,
//!         };
//!         let end = (start + PAGE).min(self.workers.len());
//!         let mut out = ImportPage::default();
//!         for (id, resource) in &self.workers[start.min(end)..end] {
//!             out.objects.push(SourceObject::new(id.as_str(), resource.clone()));
//!         }
//!         out.next = (end < self.workers.len()).then(|| PageToken::new(end.to_string()));
//!         Ok(out)
//!     }
//!
//!     async fn changes(&self, _: &ObjectType, _: &Watermark, _: Option<&PageToken>) -> Result<ChangePage> {
//!         Err(Error::unsupported(self.name(), "changes"))
//!     }
//!
//!     async fn current_watermark(&self, _: &ObjectType) -> Result<Watermark> {
//!         Err(Error::unsupported(self.name(), "current_watermark"))
//!     }
//!
//!     async fn get(&self, _: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
//!         Ok(self.workers.iter().find(|(w, _)| w == id.as_str()).map(|(_, r)| r.clone()))
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let user: Resource = serde_json::from_str(r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}"#).unwrap();
//! let source = HrExport { workers: vec![("E1042".into(), user)] };
//! // Hosts hand sources to the engine as trait objects.
//! let source: std::sync::Arc<dyn SourceConnector> = std::sync::Arc::new(source);
//! let page = source.import_page(&ObjectType::USER, None).await?;
//! assert_eq!(page.objects[0].id, SourceId::new("E1042"));
//! assert!(page.next.is_none());
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
//!
//! A target is written the same way against [`TargetConnector`]; a state store against
//! [`StateStore`] — a handful of key-value operations, so any database with transactions can
//! hold idflow's state.
//!
//! # Checking a connector
//!
//! The `conformance` feature turns on [`conformance`], async checks of every contract point
//! that a host runs from its own tests against its own implementation — the same checks the
//! reference implementations pass. In the host's `Cargo.toml`:
//! `connectors = { version = "…", features = ["conformance"] }` (as a dev-dependency), then in a
//! test: `connectors::conformance::target::run_all(&my_target).await.unwrap()`.
//!
//! # Reference implementations
//!
//! - [`memory::MemoryDirectory`]: a source and a target at once, ordered, with a change
//!   counter as its watermark (like AD's USN), tombstones, member deltas and indexes.
//! - [`CsvSource`]: an HR export as CSV, header cells as attribute paths, bad rows reported by
//!   line number.
//! - [`InboundQueue`]: API-driven inbound provisioning — SCIM BulkRequests pushed by an HR
//!   system (Entra's `/bulkUpload` shape), stored durably, read as a source with the queue
//!   position as its watermark.
//! - [`state::MemoryStateStore`] and [`state::RedbStateStore`] (durable, on redb).
//! - [`testing`]: decorators that fail, delay or record calls of any implementation.
//! - `scim::ScimTarget` (feature `scim`): a target over SCIM 2.0 on HTTP(S), tested against
//!   a real SCIM server.

mod clock;
#[cfg(any(test, doc, feature = "conformance"))]
pub mod conformance;
mod csv_source;
mod error;
pub mod inbound;
pub mod memory;
#[cfg(feature = "scim")]
pub mod scim;
mod source;
pub mod state;
mod target;
pub mod testing;
mod types;

pub use clock::{Clock, FakeClock, SystemClock};
pub use csv_source::{CsvOptions, CsvSource, DEFAULT_PAGE_SIZE as CSV_DEFAULT_PAGE_SIZE};
pub use error::{Error, ErrorKind, ObjectRef, Result};
pub use inbound::{InboundError, InboundOptions, InboundQueue, Receipt, ReceiptId};
pub use memory::MemoryDirectory;
#[cfg(feature = "scim")]
pub use scim::{ScimTarget, ScimTargetConfig};
pub use source::{
    Change, ChangeKind, ChangePage, DynSource, ImportPage, RecordProblem, SourceCapabilities,
    SourceConnector, SourceObject,
};
pub use state::{
    DynStateStore, Lease, MemoryStateStore, RedbStateStore, StateStore, Table, WriteBatch, WriteOp,
};
pub use target::{
    CreatedObject, DynTarget, Query, QueryPage, SortOrder, TargetCapabilities, TargetConnector,
    TargetConnectorExt, TargetObject,
};
pub use types::{CreateKey, JobId, ObjectType, PageToken, SourceId, TargetId, Version, Watermark};
