//! The [`MemoryDirectory`] type: construction, bulk loading and inspection; the trait
//! implementations are in `ops.rs`.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use scim_model::{GROUP_SCHEMA, Resource, SchemaRegistry, USER_SCHEMA};
use serde_json::{Map, Value};

use super::state::{State, TypeConfig, TypeState, with_id};
use crate::error::ObjectRef;
use crate::types::{ObjectType, TargetId};
use crate::{Clock, Error, Result, SystemClock};

/// The page size of imports, change reads and queries unless set otherwise.
const DEFAULT_PAGE_SIZE: usize = 500;

/// The reference source and target, in memory; see the [module documentation](super).
///
/// `Clone` is a handle to the same directory.
///
/// Both traits name methods `name`, `capabilities` and `get`: with both in scope, call them as
/// `TargetConnector::get(&dir, …)` or `SourceConnector::get(&dir, …)` (or use
/// [`MemoryDirectory::resource`]).
///
/// Ids and USNs are never reused within one directory. A directory rebuilt from a
/// [`snapshot`](MemoryDirectory::snapshot) with [`load`](MemoryDirectory::load) keeps the ids
/// and timestamps but starts a new change counter and has no tombstones: watermarks of the old
/// one are refused ([`Error::ResyncRequired`] once they are ahead of the new counter) only by
/// chance, so hand out a new one's watermarks only after a full import.
#[derive(Clone)]
pub struct MemoryDirectory {
    pub(crate) inner: Arc<Inner>,
}

/// The configuration, fixed at build time, and the state behind the lock.
pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) registry: SchemaRegistry,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) page_size: usize,
    pub(crate) delta: bool,
    pub(crate) validate: bool,
    pub(crate) types: Vec<TypeConfig>,
    pub(crate) state: RwLock<State>,
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.read();
        let mut d = f.debug_struct("MemoryDirectory");
        d.field("name", &self.inner.name).field("usn", &st.usn);
        for (cfg, ts) in self.inner.types.iter().zip(&st.types) {
            d.field(cfg.ty.as_str(), &ts.objects.len());
        }
        d.finish_non_exhaustive()
    }
}

impl Default for MemoryDirectory {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds a [`MemoryDirectory`] with settings other than the defaults.
///
/// ```
/// use connectors::memory::MemoryDirectory;
/// use connectors::{FakeClock, ObjectType, SourceConnector};
///
/// let clock = FakeClock::at("2024-05-01T00:00:00Z".parse().unwrap());
/// let dir = MemoryDirectory::builder()
///     .name("hr")
///     .clock(clock)
///     .page_size(100)
///     .object_type(ObjectType::new("Device"), "urn:example:schemas:Device")
///     .build();
/// assert_eq!(dir.name(), "hr");
/// assert_eq!(dir.capabilities().object_types.len(), 3);
/// ```
#[derive(Debug)]
#[must_use]
pub struct MemoryDirectoryBuilder {
    name: String,
    registry: SchemaRegistry,
    clock: Arc<dyn Clock>,
    page_size: usize,
    delta: bool,
    validate: bool,
    types: Vec<(ObjectType, String)>,
}

impl MemoryDirectoryBuilder {
    /// The name in logs and errors (default `memory`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The schemas (default: [`SchemaRegistry::default`], the RFC 7643 ones). Register custom
    /// extensions here; their values are then validated and their unique attributes indexed.
    pub fn registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// Where `meta.created` and `meta.lastModified` come from (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The size of import pages, change pages and (the default and largest) query pages;
    /// default 500, at least 1.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Whether the directory offers delta reads (default `true`). Without, it is a source
    /// that only imports in full: `changes` and `current_watermark` are
    /// [`Error::Unsupported`] and imports carry no watermark.
    pub fn delta(mut self, on: bool) -> Self {
        self.delta = on;
        self
    }

    /// Whether `create` and `replace` check resources against the schemas (default `true`),
    /// as a SCIM service does: unknown attributes, wrong types, missing required attributes
    /// and read-only attributes are [`Error::InvalidInput`].
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = on;
        self
    }

    /// Adds an object type besides `User` and `Group`, with the URN of its base schema.
    pub fn object_type(mut self, ty: ObjectType, base_schema: impl Into<String>) -> Self {
        let urn = base_schema.into();
        match self.types.iter_mut().find(|(t, _)| *t == ty) {
            Some(slot) => slot.1 = urn,
            None => self.types.push((ty, urn)),
        }
        self
    }

    /// The directory.
    pub fn build(self) -> MemoryDirectory {
        let types: Vec<TypeConfig> = self
            .types
            .into_iter()
            .map(|(ty, urn)| TypeConfig::new(ty, &urn, &self.registry))
            .collect();
        let state = State {
            usn: 0,
            next_id: 0,
            types: types.iter().map(TypeState::new).collect(),
        };
        MemoryDirectory {
            inner: Arc::new(Inner {
                name: self.name,
                registry: self.registry,
                clock: self.clock,
                page_size: self.page_size,
                delta: self.delta,
                validate: self.validate,
                types,
                state: RwLock::new(state),
            }),
        }
    }
}

impl MemoryDirectory {
    /// An empty directory of Users and Groups with the RFC 7643 schemas.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// An empty directory whose schemas are `registry` (e.g. with custom extensions).
    pub fn with_registry(registry: SchemaRegistry) -> Self {
        Self::builder().registry(registry).build()
    }

    /// A builder, for the other settings.
    pub fn builder() -> MemoryDirectoryBuilder {
        MemoryDirectoryBuilder {
            name: "memory".to_owned(),
            registry: SchemaRegistry::default(),
            clock: Arc::new(SystemClock),
            page_size: DEFAULT_PAGE_SIZE,
            delta: true,
            validate: true,
            types: vec![
                (ObjectType::USER, USER_SCHEMA.to_owned()),
                (ObjectType::GROUP, GROUP_SCHEMA.to_owned()),
            ],
        }
    }

    /// A directory of Users and Groups holding `resources` of type `ty` (see
    /// [`MemoryDirectory::load`]).
    ///
    /// # Errors
    ///
    /// As [`MemoryDirectory::load`].
    pub fn from_resources(
        ty: &ObjectType,
        resources: impl IntoIterator<Item = Resource>,
    ) -> Result<Self> {
        let dir = Self::new();
        dir.load(ty, resources)?;
        Ok(dir)
    }

    /// The directory's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The schemas it validates with.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.inner.registry
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // Writes check everything that can fail before they change anything, so a panic
        // while the lock was held (a bug) cannot have left half a write behind.
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The position of `ty` among the configured types.
    pub(crate) fn type_index(&self, ty: &ObjectType) -> Result<usize> {
        self.inner
            .types
            .iter()
            .position(|c| c.ty == *ty)
            .ok_or_else(|| Error::unsupported(self.inner.name.clone(), "this object type"))
    }

    /// Loads resources in bulk, for tests and examples: fast (no schema validation, O(log n)
    /// each) and all or nothing.
    ///
    /// A resource keeps its `id` if it has one, else gets a new one; `meta.created` and
    /// `meta.lastModified` are kept when they are RFC 3339 timestamps, and the rest of `meta`
    /// is the directory's. Each object is a change (an upsert) for delta readers, like any
    /// create. Returns the ids, in the order given.
    ///
    /// # Errors
    ///
    /// [`Error::Uniqueness`] when an id or a unique value (`userName`) is taken, by an object
    /// already there or one earlier in `resources`; then nothing is loaded.
    /// [`Error::Unsupported`] for an object type the directory does not hold.
    pub fn load(
        &self,
        ty: &ObjectType,
        resources: impl IntoIterator<Item = Resource>,
    ) -> Result<Vec<TargetId>> {
        let t = self.type_index(ty)?;
        let cfg = &self.inner.types[t];
        let now = self.inner.clock.now();
        let mut guard = self.write();
        let st = &mut *guard;
        let mut loaded: Vec<Arc<str>> = Vec::new();
        let mut failure = None;
        for mut resource in resources {
            let (created, modified) = match resource.remove("meta") {
                Some(Value::Object(meta)) => read_meta(&meta, now),
                _ => (now, now),
            };
            let id: Arc<str> = match resource.id() {
                Some(id) => Arc::from(id),
                None => st.new_id(t, cfg),
            };
            let object = || ObjectRef::new(ty.clone(), &*id);
            let ts = &mut st.types[t];
            if ts.objects.contains_key(&*id) {
                failure = Some(Error::Uniqueness {
                    object: object(),
                    existing: Some(id.to_string()),
                    message: format!("id {id:?} is already in use"),
                });
                break;
            }
            if let Err(e) = ts.check_unique(&resource, None, object) {
                failure = Some(e);
                break;
            }
            let resource = if resource.get("schemas").is_none() {
                with_id(with_schemas(resource, &cfg.base_schema), &id)
            } else {
                with_id(resource, &id)
            };
            let usn = st.bump();
            st.types[t].insert(id.clone(), resource, created, modified, usn);
            loaded.push(id);
        }
        if let Some(e) = failure {
            // Undo: the objects go, and so do their log entries (the USNs they took stay
            // unused, which delta readers do not notice).
            let ts = &mut st.types[t];
            for id in &loaded {
                if let Some(stored) = ts.objects.remove(&**id) {
                    ts.index_remove(id, &stored.resource);
                    ts.log.remove(stored.upsert_usn);
                }
            }
            return Err(e);
        }
        Ok(loaded.into_iter().map(|id| TargetId::new(&*id)).collect())
    }

    /// How many objects of `ty` the directory holds (tombstones not counted).
    pub fn len(&self, ty: &ObjectType) -> usize {
        self.type_index(ty)
            .ok()
            .and_then(|t| self.read().types.get(t).map(|ts| ts.objects.len()))
            .unwrap_or(0)
    }

    /// Whether the directory holds no object of `ty`.
    pub fn is_empty(&self, ty: &ObjectType) -> bool {
        self.len(ty) == 0
    }

    /// Every object of `ty`, with `meta`, in id order (empty for a type it does not hold).
    pub fn snapshot(&self, ty: &ObjectType) -> Vec<Resource> {
        let Ok(t) = self.type_index(ty) else {
            return Vec::new();
        };
        let st = self.read();
        st.types
            .get(t)
            .map(|ts| ts.objects.values().map(|s| s.output(ty)).collect())
            .unwrap_or_default()
    }

    /// One object with `meta`, without going through `async` (for tests).
    pub fn resource(&self, ty: &ObjectType, id: &str) -> Option<Resource> {
        let t = self.type_index(ty).ok()?;
        let st = self.read();
        st.types.get(t)?.objects.get(id).map(|s| s.output(ty))
    }

    /// The change counter: the USN of the last write (0 for a new directory). Every write
    /// that changes something takes the next value.
    pub fn usn(&self) -> u64 {
        self.read().usn
    }

    /// How many tombstones (deleted objects) of `ty` delta readers can still see.
    pub fn tombstones(&self, ty: &ObjectType) -> usize {
        let Ok(t) = self.type_index(ty) else {
            return 0;
        };
        self.read()
            .types
            .get(t)
            .map(|ts| ts.log.tombstones())
            .unwrap_or(0)
    }

    /// Forgets the tombstones at or below USN `through` (at most the current USN), as a
    /// directory does when its tombstone lifetime passes. A delta read from an older position
    /// then fails with [`Error::ResyncRequired`]: it would miss those deletes. Returns how
    /// many tombstones went.
    pub fn purge_tombstones(&self, through: u64) -> usize {
        let mut st = self.write();
        let through = through.min(st.usn);
        st.types
            .iter_mut()
            .map(|ts| ts.log.purge_tombstones(through))
            .sum()
    }
}

/// A resource with `schemas` set to the base schema (a resource sent without it names its
/// type by the endpoint it is sent to).
pub(crate) fn with_schemas(resource: Resource, base_schema: &str) -> Resource {
    let mut out = Resource::new([base_schema]);
    for (k, v) in resource.into_object() {
        out.as_object_mut().insert(k, v);
    }
    out
}

/// `created` and `lastModified` of a loaded resource's `meta`, `now` where absent or not a
/// timestamp.
fn read_meta(meta: &Map<String, Value>, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |name: &str| {
        scim_model::get_ci(meta, name)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let created = at("created").unwrap_or(now);
    (created, at("lastModified").unwrap_or(created))
}
