//! [`TargetConnector`]: where identities are provisioned (a directory, a SaaS app over SCIM),
//! and what the SCIM gateway serves.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Filter, Resource};
use serde_json::Value;

use crate::Result;
use crate::types::{CreateKey, ObjectType, PageToken, TargetId, Version};

/// What a target can do; the engine and the gateway gate their behaviour on these flags.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetCapabilities {
    /// The object types the target holds.
    pub object_types: Vec<ObjectType>,
    /// Whether [`TargetConnector::patch`] works. Every target must at least support PATCH of
    /// `active` and of `members` (the reference connectors support all of RFC 7644 PATCH);
    /// a target without it emulates PATCH with `replace`.
    pub patch: bool,
    /// Whether [`TargetConnector::replace`] (PUT) works.
    pub replace: bool,
    /// Whether the target can disable (`active=false`) instead of deleting.
    pub soft_delete: bool,
    /// Whether [`TargetConnector::query`] understands filters, and sorting.
    pub filter: bool,
    /// Whether [`TargetConnector::query`] can sort.
    pub sort: bool,
    /// Whether objects carry versions and `If-Match` is honoured.
    pub etag: bool,
    /// Whether [`TargetConnector::query`] pages by cursor ([`Query::cursor`],
    /// [`QueryPage::next`]) as well as by index.
    pub cursor: bool,
    /// The largest page [`TargetConnector::query`] returns.
    pub max_page_size: Option<usize>,
}

impl TargetCapabilities {
    /// A target of the given object types that supports nothing optional.
    pub fn new(object_types: impl IntoIterator<Item = ObjectType>) -> Self {
        TargetCapabilities {
            object_types: object_types.into_iter().collect(),
            patch: false,
            replace: false,
            soft_delete: false,
            filter: false,
            sort: false,
            etag: false,
            cursor: false,
            max_page_size: None,
        }
    }

    /// A target of the given object types that supports everything (PATCH, PUT, soft delete,
    /// filters, sorting, ETags, cursors).
    pub fn full(object_types: impl IntoIterator<Item = ObjectType>) -> Self {
        TargetCapabilities {
            patch: true,
            replace: true,
            soft_delete: true,
            filter: true,
            sort: true,
            etag: true,
            cursor: true,
            ..Self::new(object_types)
        }
    }
}

/// An object as a target holds it: its id, its attributes and its version.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TargetObject {
    /// The id the target assigned.
    pub id: TargetId,
    /// The object, as a SCIM resource (with `id` and, where the target keeps it, `meta`).
    pub resource: Resource,
    /// Its version (ETag), if the target keeps versions.
    pub version: Option<Version>,
}

impl TargetObject {
    /// An object with its id and version.
    pub fn new(id: impl Into<TargetId>, resource: Resource, version: Option<Version>) -> Self {
        TargetObject {
            id: id.into(),
            resource,
            version,
        }
    }
}

/// What identifies an object just created: its id and version, without its attributes (see
/// [`TargetConnector::create_for_id`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedObject {
    /// The id the target assigned.
    pub id: TargetId,
    /// Its version (ETag), if the target keeps versions.
    pub version: Option<Version>,
}

impl CreatedObject {
    /// An id and a version.
    pub fn new(id: impl Into<TargetId>, version: Option<Version>) -> Self {
        CreatedObject {
            id: id.into(),
            version,
        }
    }
}

impl From<TargetObject> for CreatedObject {
    fn from(object: TargetObject) -> Self {
        CreatedObject {
            id: object.id,
            version: object.version,
        }
    }
}

/// The order of a sorted query (RFC 7644 §3.4.2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// A listing request: filter, sort and paging, as the SCIM gateway receives them
/// (RFC 7644 §3.4.2) and as reconciliation lists a target.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Query {
    /// Only objects matching this filter.
    pub filter: Option<Filter>,
    /// Sort by this attribute.
    pub sort_by: Option<AttributePath>,
    /// The sort order.
    pub sort_order: SortOrder,
    /// 1-based index of the first result (RFC 7644 `startIndex`); ignored with `cursor`.
    pub start_index: usize,
    /// The most results to return (`None`: the connector's page size).
    pub count: Option<usize>,
    /// A cursor from a previous page's [`QueryPage::next`], for listings that must stay
    /// stable while the target changes (reconciliation).
    pub cursor: Option<PageToken>,
}

impl Query {
    /// Every object, from the first, in pages of the connector's size.
    pub fn all() -> Self {
        Query {
            start_index: 1,
            ..Query::default()
        }
    }

    /// Objects matching `filter`.
    pub fn filtered(filter: Filter) -> Self {
        Query {
            filter: Some(filter),
            ..Query::all()
        }
    }

    /// Sets the page size.
    pub fn with_count(mut self, count: usize) -> Self {
        self.count = Some(count);
        self
    }

    /// Continues from a cursor.
    pub fn with_cursor(mut self, cursor: PageToken) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Sorts by an attribute.
    pub fn sorted_by(mut self, path: AttributePath, order: SortOrder) -> Self {
        self.sort_by = Some(path);
        self.sort_order = order;
        self
    }
}

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct QueryPage {
    /// The objects of this page.
    pub objects: Vec<TargetObject>,
    /// How many objects match the query in all.
    pub total_results: usize,
    /// A cursor to the next page, for connectors that support cursors; `None` when this page
    /// is the last one (or the connector pages by index only).
    pub next: Option<PageToken>,
}

/// A target of provisioning.
///
/// # Contract
///
/// - **Create** ([`TargetConnector::create`], or [`TargetConnector::create_for_id`] when only
///   the new id and version are needed) with a [`CreateKey`]: the key is stored with the
///   object (the reference connectors store it as `externalId` unless the resource has one),
///   so that an object whose create answer was lost is found by
///   [`TargetConnector::find`] on `externalId`. A value that must be unique and is taken is
///   [`Error::Uniqueness`](crate::Error::Uniqueness), naming the holder when known.
/// - **Get** ([`TargetConnector::get`]) one object whole, or with at least the attributes
///   asked for ([`TargetConnector::get_attributes`], SCIM's `attributes`): the engine reads a
///   linked object that way before an update, so a target need not copy or send what the
///   engine does not compare (a large group's members). `None` when it does not exist.
/// - **Find** ([`TargetConnector::find`]): objects whose attribute at `path` equals `value`,
///   compared as the target's schema says (e.g. `userName` case-insensitively); at most
///   `limit` (the engine asks for 2 to tell one match from many).
/// - **Patch** ([`TargetConnector::patch`]): RFC 7644 PATCH, atomic — all operations or none.
///   Group membership changes are PATCH `add`/`remove` of `members`, so a big group costs only
///   its changes. With `if_match`, a different version is
///   [`Error::VersionConflict`](crate::Error::VersionConflict).
/// - **Replace** ([`TargetConnector::replace`]): PUT semantics, the whole resource.
/// - **Delete** ([`TargetConnector::delete`]): an object already gone is `Ok` (a retried delete
///   succeeds).
/// - **Query** ([`TargetConnector::query`]): filter, sort and paging; a cursor listing returns
///   every object that existed for the whole listing exactly once.
/// - **Errors** are classified ([`Error::kind`](crate::Error::kind)); the engine retries
///   temporary ones with backoff, escrows permanent ones, and quarantines the job on fatal ones.
/// - **Concurrency.** Calls may come from several tasks at once; changes to one object arrive
///   in order (the engine never sends two writes for one object at once).
#[async_trait]
pub trait TargetConnector: Send + Sync + Debug + 'static {
    /// A short name for logs and errors, e.g. `memory` or `scim:https://app/scim/v2`.
    fn name(&self) -> &str;

    /// What the target can do.
    fn capabilities(&self) -> TargetCapabilities;

    /// One object by id, `None` if it does not exist.
    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>>;

    /// One object by id with at least `attributes` (and `id`), `None` if it does not exist:
    /// SCIM's `attributes` parameter on a GET (RFC 7644 §3.9), with paths as
    /// [`Resource::project`] reads them (a path with a value filter asks for the whole
    /// attribute).
    ///
    /// The engine reads a linked object this way before an update, asking only for what it
    /// compares: the mapped target attributes, `active`, and a group's `members` when it
    /// diffs them. A target that leaves the rest out saves their transfer and copy (a large
    /// group's members above all). A target may return more; the default returns
    /// [`TargetConnector::get`]'s whole object. Errors are those of `get`.
    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        let _ = attributes;
        self.get(object_type, id).await
    }

    /// Objects whose attribute at `path` equals `value`, at most `limit`.
    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>>;

    /// Creates an object; `key` makes a repeated create findable (see the contract).
    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject>;

    /// Creates an object exactly as [`TargetConnector::create`] does (the same key, the same
    /// errors), for a caller that needs only the new object's id and version, not its
    /// attributes. A connector overrides it to skip producing the object: the memory directory
    /// does not copy the stored object back out (what the sync engine sends for every create).
    /// The default calls `create`.
    async fn create_for_id(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<CreatedObject> {
        self.create(object_type, resource, key)
            .await
            .map(CreatedObject::from)
    }

    /// Applies a PATCH request atomically; returns the object after it.
    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject>;

    /// Applies a PATCH request exactly as [`TargetConnector::patch`] does, for a caller that
    /// does not need the object after it; returns the object's new version when the target
    /// tells it. A connector overrides it to skip the work of producing the object: a SCIM
    /// server that answers `204 No Content` is not asked for the object again, and a group of
    /// a million members is not copied or sent back for a change of one (what the sync engine
    /// sends for updates and member changes). The default calls `patch`.
    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        self.patch(object_type, id, patch, if_match)
            .await
            .map(|object| object.version)
    }

    /// Replaces the whole object (PUT); returns the object after it.
    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject>;

    /// Deletes an object; one already gone is `Ok`.
    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()>;

    /// Lists objects by filter, sort and page.
    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage>;
}

/// A target behind a trait object.
pub type DynTarget = dyn TargetConnector;

macro_rules! forward_target {
    ($ptr:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: TargetConnector + ?Sized> TargetConnector for $ptr {
            fn name(&self) -> &str {
                (**self).name()
            }

            fn capabilities(&self) -> TargetCapabilities {
                (**self).capabilities()
            }

            async fn get(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
            ) -> Result<Option<TargetObject>> {
                (**self).get(object_type, id).await
            }

            async fn get_attributes(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
                attributes: &[AttributePath],
            ) -> Result<Option<TargetObject>> {
                (**self).get_attributes(object_type, id, attributes).await
            }

            async fn find(
                &self,
                object_type: &ObjectType,
                path: &AttributePath,
                value: &Value,
                limit: usize,
            ) -> Result<Vec<TargetObject>> {
                (**self).find(object_type, path, value, limit).await
            }

            async fn create(
                &self,
                object_type: &ObjectType,
                resource: &Resource,
                key: Option<&CreateKey>,
            ) -> Result<TargetObject> {
                (**self).create(object_type, resource, key).await
            }

            async fn create_for_id(
                &self,
                object_type: &ObjectType,
                resource: &Resource,
                key: Option<&CreateKey>,
            ) -> Result<CreatedObject> {
                (**self).create_for_id(object_type, resource, key).await
            }

            async fn patch(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
                patch: &PatchOp,
                if_match: Option<&Version>,
            ) -> Result<TargetObject> {
                (**self).patch(object_type, id, patch, if_match).await
            }

            async fn apply_patch(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
                patch: &PatchOp,
                if_match: Option<&Version>,
            ) -> Result<Option<Version>> {
                (**self).apply_patch(object_type, id, patch, if_match).await
            }

            async fn replace(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
                resource: &Resource,
                if_match: Option<&Version>,
            ) -> Result<TargetObject> {
                (**self).replace(object_type, id, resource, if_match).await
            }

            async fn delete(
                &self,
                object_type: &ObjectType,
                id: &TargetId,
                if_match: Option<&Version>,
            ) -> Result<()> {
                (**self).delete(object_type, id, if_match).await
            }

            async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
                (**self).query(object_type, query).await
            }
        }
    };
}

forward_target!(Arc<T>);
forward_target!(Box<T>);

/// Conveniences over [`TargetConnector`] for callers; implemented for every target. Do not
/// implement it yourself.
#[async_trait]
pub trait TargetConnectorExt: TargetConnector {
    /// Disables an object: PATCH `replace active=false` (SCIM's soft delete).
    async fn disable(&self, object_type: &ObjectType, id: &TargetId) -> Result<TargetObject> {
        let patch = PatchOp::new().replace(AttributePath::new("active"), Value::Bool(false));
        self.patch(object_type, id, &patch, None).await
    }

    /// Enables an object: PATCH `replace active=true` (a rehire comes back through its link).
    async fn enable(&self, object_type: &ObjectType, id: &TargetId) -> Result<TargetObject> {
        let patch = PatchOp::new().replace(AttributePath::new("active"), Value::Bool(true));
        self.patch(object_type, id, &patch, None).await
    }
}

impl<T: TargetConnector + ?Sized> TargetConnectorExt for T {}
