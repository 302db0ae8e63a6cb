//! [`Receipt`]: what the queue answers an accepted request with, and reads back later.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{ObjectType, SourceId, Watermark};
use crate::{Error, Result};

/// The opaque identifier of an accepted request: 128 random bits from the operating system's
/// generator, as 32 lower-case hex digits.
///
/// It is what a gateway puts in the `Location` of its `202 Accepted`
/// (`/bulkUpload/{id}`) and what a client later asks about; being random, it does not reveal
/// how many requests were accepted, and cannot be guessed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReceiptId(String);

impl ReceiptId {
    /// Wraps an identifier (e.g. one read from a URL); any text is allowed, an unknown one is
    /// simply not found.
    pub fn new(id: impl Into<String>) -> Self {
        ReceiptId(id.into())
    }

    /// A new random identifier.
    pub(crate) fn random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::Storage {
            backend: "inbound",
            message: format!("the operating system's random source failed: {e}"),
            temporary: true,
        })?;
        let mut s = String::with_capacity(32);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Ok(ReceiptId(s))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReceiptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ReceiptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ReceiptId {
    fn from(s: &str) -> Self {
        ReceiptId(s.to_owned())
    }
}

/// One record of an accepted request, as its receipt lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReceiptRecord {
    /// The operation's `bulkId`, as sent.
    pub bulk_id: String,
    /// The object type the record was queued as (`User`).
    pub object_type: ObjectType,
    /// The record's source id: its `externalId`. The sync engine logs by it, so a host shows
    /// a record's provisioning log with `SyncEngine::log_of_object(object_type, source_id)`.
    pub source_id: SourceId,
    /// The record's position in the queue (the watermark that covers it).
    pub position: u64,
}

/// The answer to an accepted request: its id, when it was accepted, and where each record went.
///
/// Stored in the same commit as the records, so a receipt exists exactly when its records do;
/// [`InboundQueue::receipt`](super::InboundQueue::receipt) reads it back. Receipts are kept
/// when [`compact`](super::InboundQueue::compact) drops the records, so a client can still ask
/// about an old request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Receipt {
    /// The request's id.
    pub id: ReceiptId,
    /// The queue that accepted it.
    pub queue: String,
    /// When it was accepted (the queue's clock).
    pub accepted_at: DateTime<Utc>,
    /// One entry per operation, in request order; positions are consecutive.
    pub records: Vec<ReceiptRecord>,
}

impl Receipt {
    /// The position of the request's first record.
    pub fn first_position(&self) -> Option<u64> {
        self.records.first().map(|r| r.position)
    }

    /// The position of the request's last record.
    pub fn last_position(&self) -> Option<u64> {
        self.records.last().map(|r| r.position)
    }

    /// The watermark after the request's last record: once a reader (the sync engine) has
    /// committed this watermark or a later one, every record of the request has been read.
    pub fn watermark(&self) -> Watermark {
        Watermark::from_u64(self.last_position().unwrap_or(0))
    }

    /// Whether a reader that committed `watermark` (a watermark of this queue) has read every
    /// record of the request. A watermark that is not the queue's reads as not read.
    pub fn is_read_by(&self, watermark: &Watermark) -> bool {
        match (watermark.to_u64(), self.last_position()) {
            (Some(w), Some(last)) => w >= last,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_32_hex_digits_and_differ() {
        let a = ReceiptId::random().unwrap();
        let b = ReceiptId::random().unwrap();
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn read_by_compares_with_the_last_position() {
        let r = Receipt {
            id: ReceiptId::new("x"),
            queue: "q".into(),
            accepted_at: DateTime::<Utc>::MIN_UTC,
            records: (7..=9)
                .map(|p| ReceiptRecord {
                    bulk_id: format!("b{p}"),
                    object_type: ObjectType::USER,
                    source_id: SourceId::new(format!("e{p}")),
                    position: p,
                })
                .collect(),
        };
        assert_eq!(r.watermark(), Watermark::from_u64(9));
        assert!(!r.is_read_by(&Watermark::from_u64(8)));
        assert!(r.is_read_by(&Watermark::from_u64(9)));
        assert!(!r.is_read_by(&Watermark::new(b"foreign".to_vec())));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["records"][0]["sourceId"], "e7");
        assert_eq!(json["records"][0]["objectType"], "User");
        assert_eq!(serde_json::from_value::<Receipt>(json).unwrap(), r);
    }
}
