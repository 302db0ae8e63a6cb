//! [`SourceConnector`]: where identities come from (an HR system, a directory, an inbound
//! queue), read in full or as changes since a watermark.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scim_model::Resource;

use crate::Result;
use crate::types::{ObjectType, PageToken, SourceId, Watermark};

/// What a source can do; the engine gates its behaviour on these flags.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceCapabilities {
    /// The object types the source holds, in the order the engine should process them
    /// (users before groups).
    pub object_types: Vec<ObjectType>,
    /// Whether [`SourceConnector::changes`] works. Without it the engine diffs each full
    /// import against the fingerprints it stored.
    pub delta: bool,
    /// Whether changes to a group's `members` arrive as [`ChangeKind::Members`] deltas rather
    /// than as the whole group.
    pub member_deltas: bool,
    /// The largest page the source returns (a hint for the engine's batching).
    pub max_page_size: Option<usize>,
    /// How long a watermark stays valid (Graph delta tokens: 7 days; AD: the tombstone
    /// lifetime). The engine runs a full cycle before a stored one expires.
    pub watermark_lifetime: Option<Duration>,
}

impl SourceCapabilities {
    /// A source of the given object types, without delta support.
    pub fn new(object_types: impl IntoIterator<Item = ObjectType>) -> Self {
        SourceCapabilities {
            object_types: object_types.into_iter().collect(),
            delta: false,
            member_deltas: false,
            max_page_size: None,
            watermark_lifetime: None,
        }
    }

    /// Declares delta support.
    pub fn with_delta(mut self, member_deltas: bool) -> Self {
        self.delta = true;
        self.member_deltas = member_deltas;
        self
    }

    /// Declares the largest page.
    pub fn with_max_page_size(mut self, n: usize) -> Self {
        self.max_page_size = Some(n);
        self
    }
}

/// One object read from a source: its stable id and its attributes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SourceObject {
    /// The source's stable identifier (never a name or email).
    pub id: SourceId,
    /// The object, as a SCIM resource of the source's schema: the whole object, so an
    /// attribute it leaves out has no value (a group without `members` has no members, as
    /// SCIM leaves an empty multi-valued attribute out).
    pub resource: Resource,
}

impl SourceObject {
    /// An object with its id.
    pub fn new(id: impl Into<SourceId>, resource: Resource) -> Self {
        SourceObject {
            id: id.into(),
            resource,
        }
    }
}

/// A record the source could not read (a CSV row with the wrong number of cells, a bad date).
///
/// A page that reports problems makes its import *incomplete*: the engine deletes nothing
/// because of what such an import lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordProblem {
    /// Where the record is: `line 42`, an LDAP DN, a queue position.
    pub location: String,
    /// The record's id if it could be read.
    pub id: Option<SourceId>,
    /// What was wrong.
    pub message: String,
}

impl RecordProblem {
    /// A problem at a location.
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        RecordProblem {
            location: location.into(),
            id: None,
            message: message.into(),
        }
    }
}

/// One page of a full import.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ImportPage {
    /// The objects of this page, each once.
    pub objects: Vec<SourceObject>,
    /// Records that could not be read.
    pub problems: Vec<RecordProblem>,
    /// The token of the next page; `None` on the last page.
    pub next: Option<PageToken>,
    /// On the last page of a source with delta support: the position to read changes from
    /// afterwards, taken *before* the import's first page was read, so nothing that changed
    /// during the import is missed (it may be seen twice, which is harmless).
    pub watermark: Option<Watermark>,
}

/// What happened to one object in the source.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Created or changed: the object's current state, whole.
    Upsert(Resource),
    /// Deleted at the source.
    Delete,
    /// Members added to or removed from a group (sources with
    /// [`SourceCapabilities::member_deltas`]), with the source ids of the members.
    Members {
        /// Members added.
        added: Vec<SourceId>,
        /// Members removed.
        removed: Vec<SourceId>,
    },
}

/// One change of a change page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// The object changed.
    pub id: SourceId,
    /// What happened to it.
    pub kind: ChangeKind,
}

impl Change {
    /// An upsert.
    pub fn upsert(id: impl Into<SourceId>, resource: Resource) -> Self {
        Change {
            id: id.into(),
            kind: ChangeKind::Upsert(resource),
        }
    }

    /// A delete.
    pub fn delete(id: impl Into<SourceId>) -> Self {
        Change {
            id: id.into(),
            kind: ChangeKind::Delete,
        }
    }

    /// Members added to and removed from a group.
    pub fn members(id: impl Into<SourceId>, added: Vec<SourceId>, removed: Vec<SourceId>) -> Self {
        Change {
            id: id.into(),
            kind: ChangeKind::Members { added, removed },
        }
    }
}

/// One page of changes since a watermark.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ChangePage {
    /// The changes, in the order they happened. An object may appear more than once; the
    /// later change wins.
    pub changes: Vec<Change>,
    /// Records that could not be read. The engine escrows what it can name and does not
    /// advance past this page's watermark until they are read.
    pub problems: Vec<RecordProblem>,
    /// The token of the next page; `None` on the last page.
    pub next: Option<PageToken>,
    /// The position after this page's changes: once this page and every earlier one are
    /// applied, reading from here loses nothing.
    pub watermark: Watermark,
}

/// A source of identities.
///
/// # Contract
///
/// - **Identity.** Every object has a [`SourceId`] that never changes for its lifetime; a
///   rename is an upsert of the same id, never a delete and a create.
/// - **Full import** ([`SourceConnector::import_page`]): pages chained by [`PageToken`], each
///   object once per import, even while the source changes (keyset paging, not offsets).
///   Unreadable records are reported in [`ImportPage::problems`], never skipped silently and
///   never failing the whole page. A source with delta support returns, on the last page, the
///   watermark to read changes from, taken before the first page.
/// - **Changes** ([`SourceConnector::changes`], when [`SourceCapabilities::delta`]): every
///   upsert and delete after `since`, in order, each page with the watermark that covers it.
///   Replays are allowed (the same change twice must be harmless for the engine); losses are
///   not. Watermarks only move forward. An expired or foreign watermark is
///   [`Error::ResyncRequired`](crate::Error::ResyncRequired), never an empty page.
/// - **Get** ([`SourceConnector::get`]): the current state of one object, `None` if it does not
///   exist (used for escrow retries and provisioning on demand).
/// - **Errors** are classified ([`Error::kind`](crate::Error::kind)): temporary failures are
///   retried by the engine with backoff, so a connector does not retry internally for long.
/// - **Concurrency.** Calls may come from several tasks at once; implementations are
///   `Send + Sync` and share state behind their own locks.
///
/// The [`conformance`](crate::conformance) kit checks these points for any implementation.
#[async_trait]
pub trait SourceConnector: Send + Sync + Debug + 'static {
    /// A short name for logs and errors, e.g. `csv:hr.csv`.
    fn name(&self) -> &str;

    /// What the source can do.
    fn capabilities(&self) -> SourceCapabilities;

    /// One page of a full import of `object_type`; `page` is `None` for the first page and
    /// the previous page's [`ImportPage::next`] after that.
    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> Result<ImportPage>;

    /// One page of the changes of `object_type` after `since`; `page` is `None` for the first
    /// page and the previous page's [`ChangePage::next`] after that.
    ///
    /// Sources without delta support return
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage>;

    /// The current position of the change stream of `object_type`: reading changes from it
    /// returns only what happens afterwards. Sources without delta support return
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark>;

    /// The current state of one object, `None` if it does not exist.
    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>>;
}

/// A source behind a trait object.
pub type DynSource = dyn SourceConnector;

macro_rules! forward_source {
    ($ptr:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: SourceConnector + ?Sized> SourceConnector for $ptr {
            fn name(&self) -> &str {
                (**self).name()
            }

            fn capabilities(&self) -> SourceCapabilities {
                (**self).capabilities()
            }

            async fn import_page(
                &self,
                object_type: &ObjectType,
                page: Option<&PageToken>,
            ) -> Result<ImportPage> {
                (**self).import_page(object_type, page).await
            }

            async fn changes(
                &self,
                object_type: &ObjectType,
                since: &Watermark,
                page: Option<&PageToken>,
            ) -> Result<ChangePage> {
                (**self).changes(object_type, since, page).await
            }

            async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
                (**self).current_watermark(object_type).await
            }

            async fn get(
                &self,
                object_type: &ObjectType,
                id: &SourceId,
            ) -> Result<Option<Resource>> {
                (**self).get(object_type, id).await
            }
        }
    };
}

forward_source!(Arc<T>);
forward_source!(Box<T>);
