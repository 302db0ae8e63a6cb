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

mod clock;
#[cfg(any(test, doc, feature = "conformance"))]
pub mod conformance;
mod csv_source;
mod error;
pub mod memory;
mod source;
pub mod state;
mod target;
pub mod testing;
mod types;

pub use clock::{Clock, FakeClock, SystemClock};
pub use csv_source::{CsvOptions, CsvSource, DEFAULT_PAGE_SIZE as CSV_DEFAULT_PAGE_SIZE};
pub use error::{Error, ErrorKind, ObjectRef, Result};
pub use source::{
    Change, ChangeKind, ChangePage, DynSource, ImportPage, RecordProblem, SourceCapabilities,
    SourceConnector, SourceObject,
};
pub use state::{DynStateStore, Lease, StateStore, Table, WriteBatch, WriteOp};
pub use target::{
    DynTarget, Query, QueryPage, SortOrder, TargetCapabilities, TargetConnector,
    TargetConnectorExt, TargetObject,
};
pub use types::{CreateKey, JobId, ObjectType, PageToken, SourceId, TargetId, Version, Watermark};
