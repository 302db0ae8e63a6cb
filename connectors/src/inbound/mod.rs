//! API-driven inbound provisioning: an HR system pushes workers as SCIM BulkRequests (Entra's
//! `/bulkUpload` shape); an [`InboundQueue`] checks each request, stores it durably and
//! answers with a [`Receipt`]; the sync engine reads the queue as a
//! [`SourceConnector`](crate::SourceConnector) whose watermark is the queue position.
//!
//! ```
//! # futures::executor::block_on(async {
//! use std::sync::Arc;
//! use connectors::inbound::InboundQueue;
//! use connectors::{MemoryStateStore, ObjectType, SourceConnector, SourceId, Watermark};
//!
//! let queue = InboundQueue::new(Arc::new(MemoryStateStore::new()), "workday");
//! let body = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
//!   "Operations": [{"method": "POST", "path": "/Users", "bulkId": "701001",
//!     "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!                          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
//!              "externalId": "701001", "userName": "ines@contoso.com", "active": true}}]}"#;
//! let receipt = queue.accept(body, Some("application/scim+json")).await.unwrap();
//! assert_eq!(receipt.records[0].source_id, SourceId::new("701001"));
//! assert_eq!(receipt.records[0].position, 1);
//!
//! // The engine reads it as changes after its watermark…
//! let page = queue.changes(&ObjectType::USER, &Watermark::from_u64(0), None).await?;
//! assert_eq!(page.changes.len(), 1);
//! assert_eq!(page.watermark, Watermark::from_u64(1));
//! // …and a request that breaks the rules is refused whole, with every problem.
//! let err = queue.accept(body, Some("application/json")).await.unwrap_err();
//! assert_eq!(err.status(), 400);
//! assert_eq!(err.problems()[0].field, "Content-Type");
//! # Ok::<(), connectors::Error>(())
//! # }).unwrap();
//! ```
//!
//! How a partial record combines with what the queue holds is [`merge_record`].

mod error;
mod merge;
mod queue;
mod receipt;
mod request;

pub use error::{InboundError, Problem};
pub use merge::merge_record;
pub use queue::{InboundQueue, QueuedRecord};
pub use receipt::{Receipt, ReceiptId, ReceiptRecord};

use scim_model::Limits;
use scim_model::message::InboundProfile;

/// The default page size of the queue's reads.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// How an [`InboundQueue`] checks requests and pages its reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundOptions {
    /// The API-driven inbound profile (default: at most 50 operations, `POST /Users`,
    /// `bulkId`, `data.schemas`). The queue requires `data.externalId` whatever
    /// [`InboundProfile::require_external_id`] says: it is the record's source id.
    pub profile: InboundProfile,
    /// The parser's limits; `max_payload_bytes` (1 MiB by default) bounds the body.
    pub limits: Limits,
    /// The most records per [`import_page`](crate::SourceConnector::import_page) and
    /// [`changes`](crate::SourceConnector::changes) page (default [`DEFAULT_PAGE_SIZE`]).
    pub page_size: usize,
    /// Whether `Content-Type: application/json` is accepted as well as
    /// `application/scim+json` (default `false`, as Entra refuses it with 400). A
    /// compatibility opt-in for clients that cannot set the SCIM media type.
    pub accept_application_json: bool,
}

impl Default for InboundOptions {
    fn default() -> Self {
        InboundOptions {
            profile: InboundProfile::default(),
            limits: Limits::DEFAULT,
            page_size: DEFAULT_PAGE_SIZE,
            accept_application_json: false,
        }
    }
}

impl InboundOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the profile.
    pub fn with_profile(mut self, profile: InboundProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets the parser's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the page size of reads (at least 1).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Accepts `application/json` as well.
    pub fn with_accept_application_json(mut self, yes: bool) -> Self {
        self.accept_application_json = yes;
        self
    }
}
