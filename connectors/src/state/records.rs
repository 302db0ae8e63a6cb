//! The typed records kept in a [`StateStore`](super::StateStore), and how each is keyed.
//!
//! Records are stored as JSON, so a field added later reads as its default from older data.
//! Keys are [`Key`]s of (job, object type, id) so that one job's records of one type are a
//! prefix range.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Key;
use crate::types::{CreateKey, JobId, ObjectType, SourceId, TargetId, Watermark};

/// The key prefix of one job's records of one object type.
pub fn job_type_prefix(job: &JobId, object_type: &ObjectType) -> Key {
    key_for(&[job.as_str(), object_type.as_str()])
}

/// The key of one object's record: (job, object type, id).
pub fn object_key(job: &JobId, object_type: &ObjectType, id: &str) -> Key {
    key_for(&[job.as_str(), object_type.as_str(), id])
}

/// The id in a key [`object_key`] made (its last component), if `key` is one.
pub fn object_id_of_key(key: &[u8]) -> Option<String> {
    let mut parts = Key::decode(key)?;
    let id = parts.pop().filter(|_| parts.len() == 2)?;
    String::from_utf8(id).ok()
}

/// The key prefix of everything one job stored in a table.
pub fn job_prefix(job: &JobId) -> Key {
    key_for(&[job.as_str()])
}

/// A key of text components, with room for two more number components (a log entry's
/// cycle and sequence: up to 17 bytes each, small numbers' zero bytes being escaped) or an
/// attribute name, so that the usual keys are built with one allocation.
fn key_for(components: &[&str]) -> Key {
    let bytes: usize = components.iter().map(|c| c.len() + 2).sum();
    components
        .iter()
        .fold(Key::with_capacity(bytes + 40), |key, c| key.str(c))
}

/// A stored watermark and what it is bound to.
///
/// The engine stores a hash of what the watermark's meaning depends on (the source, the
/// scoping filter, the mappings) in `context`; a different context on load means the
/// watermark is not valid for the current configuration and the next cycle is a full one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WatermarkRecord {
    /// The source's position.
    pub watermark: Watermark,
    /// What it is bound to (a configuration hash).
    pub context: String,
    /// When it was stored.
    pub saved: DateTime<Utc>,
}

impl WatermarkRecord {
    /// A watermark bound to `context`, stored at `saved`.
    pub fn new(watermark: Watermark, context: impl Into<String>, saved: DateTime<Utc>) -> Self {
        WatermarkRecord {
            watermark,
            context: context.into(),
            saved,
        }
    }
}

/// A link: this source object is that target object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Link {
    /// The source object.
    pub source_id: SourceId,
    /// The target object.
    pub target_id: TargetId,
    /// A fingerprint of the source object as last processed (for sources without delta:
    /// unchanged fingerprint, nothing to do).
    #[serde(default)]
    pub source_fingerprint: Option<String>,
    /// A fingerprint of the target attributes as last exported (a replay exports nothing).
    #[serde(default)]
    pub export_fingerprint: Option<String>,
    /// Whether the engine disabled the target object (out of scope, deleted at the source):
    /// an object returning to scope is re-enabled through this link.
    #[serde(default)]
    pub disabled: bool,
    /// When the link was last written.
    pub updated: DateTime<Utc>,
    /// The object's newest provisioning log entry written with this link (see
    /// [`Txn::append_linked_log`](super::Txn::append_linked_log)): the start of the chain of
    /// its entries that are not in the by-object index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_head: Option<LogRef>,
}

impl Link {
    /// A fresh link.
    pub fn new(source_id: SourceId, target_id: TargetId, updated: DateTime<Utc>) -> Self {
        Link {
            source_id,
            target_id,
            source_fingerprint: None,
            export_fingerprint: None,
            disabled: false,
            updated,
            log_head: None,
        }
    }
}

/// Where a provisioning log entry is: its cycle and its sequence number in the cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogRef {
    /// The cycle.
    pub cycle: u64,
    /// The entry's sequence number in the cycle.
    pub seq: u64,
}

impl LogRef {
    /// The `seq`-th entry of cycle `cycle`.
    pub fn new(cycle: u64, seq: u64) -> Self {
        LogRef { cycle, seq }
    }
}

/// The key of a log entry (and of its [`Table::LOG_PREVIOUS`](super::Table::LOG_PREVIOUS)
/// record): (job, cycle, sequence).
pub fn log_key(job: &JobId, at: LogRef) -> Key {
    job_prefix(job).u64(at.cycle).u64(at.seq)
}

/// A create that was started and not yet confirmed by a link.
///
/// Committed before the create is sent; replaced by the link after it. On restart the engine
/// resolves open intents first — by the create key or the matching values — and never creates
/// again blindly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Intent {
    /// The source object being created.
    pub source_id: SourceId,
    /// The create's idempotency key.
    pub create_key: CreateKey,
    /// The matching attributes and values sent, in priority order (path, value).
    #[serde(default)]
    pub matching: Vec<(String, Value)>,
    /// When the create was started.
    pub started: DateTime<Utc>,
}

impl Intent {
    /// An intent to create `source_id` with `create_key`.
    pub fn new(source_id: SourceId, create_key: CreateKey, started: DateTime<Utc>) -> Self {
        Intent {
            source_id,
            create_key,
            matching: Vec::new(),
            started,
        }
    }
}

/// An object whose processing failed, waiting for its retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Escrow {
    /// The source object.
    pub source_id: SourceId,
    /// How many times it has failed in a row.
    pub attempts: u32,
    /// When it first failed.
    pub first_failure: DateTime<Utc>,
    /// When to try again.
    pub next_retry: DateTime<Utc>,
    /// The last error, as text.
    pub last_error: String,
    /// Whether the failure was on a reference (manager, member), counted apart by the
    /// quarantine rules.
    #[serde(default)]
    pub reference: bool,
}

impl Escrow {
    /// A first failure.
    pub fn new(
        source_id: SourceId,
        error: impl Into<String>,
        now: DateTime<Utc>,
        next_retry: DateTime<Utc>,
    ) -> Self {
        Escrow {
            source_id,
            attempts: 1,
            first_failure: now,
            next_retry,
            last_error: error.into(),
            reference: false,
        }
    }
}

/// What a held deletion would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeleteAction {
    /// Disable the target object.
    Disable,
    /// Delete the target object.
    Delete,
}

/// A disable or delete held by the accidental-deletion threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StagedDelete {
    /// The source object.
    pub source_id: SourceId,
    /// The linked target object.
    pub target_id: TargetId,
    /// What would be done.
    pub action: DeleteAction,
    /// Why (out of scope, deleted at the source, missing from a full import).
    pub reason: String,
    /// When it was first held.
    pub staged: DateTime<Utc>,
    /// The source object's name (`userName` or `displayName`) when it was held, for the
    /// logs of the held and the applied action; absent for an object gone from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl StagedDelete {
    /// A held action.
    pub fn new(
        source_id: SourceId,
        target_id: TargetId,
        action: DeleteAction,
        reason: impl Into<String>,
        staged: DateTime<Utc>,
    ) -> Self {
        StagedDelete {
            source_id,
            target_id,
            action,
            reason: reason.into(),
            staged,
            display_name: None,
        }
    }

    /// Names the source object (see [`StagedDelete::display_name`]).
    #[must_use]
    pub fn with_display_name(mut self, name: Option<String>) -> Self {
        self.display_name = name;
        self
    }
}

/// A reference that waits for the object it points to (a manager or a group member not yet
/// provisioned).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PendingReference {
    /// The object holding the reference.
    pub source_id: SourceId,
    /// The attribute, e.g. `urn:…:enterprise:2.0:User:manager` or `members`.
    pub attribute: String,
    /// The object type referred to.
    pub referenced_type: ObjectType,
    /// The source ids referred to and not yet linked.
    pub referenced: Vec<SourceId>,
    /// When it started waiting.
    pub since: DateTime<Utc>,
}

impl PendingReference {
    /// A reference waiting for `referenced`.
    pub fn new(
        source_id: SourceId,
        attribute: impl Into<String>,
        referenced_type: ObjectType,
        referenced: Vec<SourceId>,
        since: DateTime<Utc>,
    ) -> Self {
        PendingReference {
            source_id,
            attribute: attribute.into(),
            referenced_type,
            referenced,
            since,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The id comes back out of any object key, zero bytes and separators included;
        /// prefixes and log keys (more components) are not object keys.
        #[test]
        fn object_id_of_key_inverts_object_key(job in ".{0,8}", ty in ".{0,8}", id in "(.|\u{0}){0,12}") {
            let key = object_key(&JobId::new(job.clone()), &ObjectType::new(ty.clone()), &id);
            prop_assert_eq!(object_id_of_key(key.as_bytes()), Some(id));
            let prefix = job_type_prefix(&JobId::new(job), &ObjectType::new(ty));
            prop_assert_eq!(object_id_of_key(prefix.as_bytes()), None);
            prop_assert_eq!(object_id_of_key(key.u64(3).as_bytes()), None);
        }
    }
}
