//! [`Latency`]: makes every call of the connector or store it wraps wait first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::Value;

use super::mix;
use crate::Result;
use crate::clock::Clock;
use crate::source::{ChangePage, ImportPage, SourceCapabilities, SourceConnector};
use crate::state::{KeyRange, Lease, StateStore, Table, WriteBatch};
use crate::target::{
    CreatedObject, Query, QueryPage, TargetCapabilities, TargetConnector, TargetObject,
};
use crate::types::{
    CreateKey, JobId, ObjectType, PageToken, SourceId, TargetId, Version, Watermark,
};

/// How long each call waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delay {
    /// The same wait for every call.
    Fixed(Duration),
    /// A wait between `min` and `max` (inclusive, to the nanosecond), drawn from `seed` and the
    /// call's number: the same seed gives the same waits in every run.
    Jittered {
        /// The shortest wait.
        min: Duration,
        /// The longest wait.
        max: Duration,
        /// The seed.
        seed: u64,
    },
}

impl Delay {
    /// The same wait for every call.
    pub fn fixed(d: Duration) -> Self {
        Delay::Fixed(d)
    }

    /// A wait between `min` and `max`, reproducible from `seed`.
    pub fn jittered(min: Duration, max: Duration, seed: u64) -> Self {
        Delay::Jittered { min, max, seed }
    }

    /// The wait of call number `n` (from 1).
    pub fn of_call(&self, n: u64) -> Duration {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Jittered { min, max, seed } => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                let span = (hi - lo).as_nanos();
                let offset = u128::from(mix(seed, n)) % span.saturating_add(1);
                // `offset <= span`, which came from a Duration, so it fits back into one.
                let nanos = u64::try_from(offset).unwrap_or(u64::MAX);
                lo.saturating_add(Duration::from_nanos(nanos))
            }
        }
    }
}

/// Wraps a connector or state store and makes every call (but `name` and `capabilities`)
/// first wait on a [`Clock`] for its [`Delay`].
///
/// With a [`FakeClock`](crate::FakeClock) the wait is instant and moves the clock, so a test
/// can check what an engine does when calls are slow (leases expiring, timeouts, how long a
/// cycle took) without waiting. `Clone` (when the wrapped value is `Clone`) shares the call
/// counter.
///
/// ```
/// use connectors::testing::{Delay, Latency};
/// use connectors::state::MemoryStateStore;
/// use connectors::{Clock, FakeClock, StateStore, Table};
/// use std::time::Duration;
///
/// let clock = FakeClock::at("2026-01-05T09:00:00Z".parse().unwrap());
/// let store = Latency::new(MemoryStateStore::new(), clock.clone(), Delay::fixed(Duration::from_millis(250)));
/// # futures::executor::block_on(async {
/// store.get(Table::JOBS, b"k").await.unwrap();
/// store.get(Table::JOBS, b"k").await.unwrap();
/// assert_eq!(clock.now().to_rfc3339(), "2026-01-05T09:00:00.500+00:00");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Latency<C> {
    inner: C,
    clock: Arc<dyn Clock>,
    delay: Delay,
    calls: Arc<AtomicU64>,
    waited_nanos: Arc<AtomicU64>,
}

impl<C> Latency<C> {
    /// Wraps `inner`; every call waits `delay` on `clock`.
    pub fn new(inner: C, clock: impl Clock, delay: Delay) -> Self {
        Latency {
            inner,
            clock: Arc::new(clock),
            delay,
            calls: Arc::new(AtomicU64::new(0)),
            waited_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The wrapped value.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// How many calls waited.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// How long the calls waited in all.
    pub fn waited(&self) -> Duration {
        Duration::from_nanos(self.waited_nanos.load(Ordering::SeqCst))
    }

    async fn wait(&self) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let d = self.delay.of_call(n);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.waited_nanos.fetch_add(nanos, Ordering::SeqCst);
        self.clock.sleep(d).await;
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: SourceConnector> SourceConnector for Latency<C> {
    fn name(&self) -> &str {
        SourceConnector::name(&self.inner)
    }

    fn capabilities(&self) -> SourceCapabilities {
        SourceConnector::capabilities(&self.inner)
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> Result<ImportPage> {
        self.wait().await;
        self.inner.import_page(object_type, page).await
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        self.wait().await;
        self.inner.changes(object_type, since, page).await
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
        self.wait().await;
        self.inner.current_watermark(object_type).await
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        self.wait().await;
        SourceConnector::get(&self.inner, object_type, id).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: TargetConnector> TargetConnector for Latency<C> {
    fn name(&self) -> &str {
        TargetConnector::name(&self.inner)
    }

    fn capabilities(&self) -> TargetCapabilities {
        TargetConnector::capabilities(&self.inner)
    }

    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>> {
        self.wait().await;
        TargetConnector::get(&self.inner, object_type, id).await
    }

    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        self.wait().await;
        self.inner.get_attributes(object_type, id, attributes).await
    }

    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        self.wait().await;
        self.inner.find(object_type, path, value, limit).await
    }

    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject> {
        self.wait().await;
        self.inner.create(object_type, resource, key).await
    }

    async fn create_for_id(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<CreatedObject> {
        self.wait().await;
        self.inner.create_for_id(object_type, resource, key).await
    }

    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        self.wait().await;
        self.inner.patch(object_type, id, patch, if_match).await
    }

    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        self.wait().await;
        self.inner
            .apply_patch(object_type, id, patch, if_match)
            .await
    }

    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        self.wait().await;
        self.inner
            .replace(object_type, id, resource, if_match)
            .await
    }

    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()> {
        self.wait().await;
        self.inner.delete(object_type, id, if_match).await
    }

    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
        self.wait().await;
        self.inner.query(object_type, query).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: StateStore> StateStore for Latency<C> {
    fn name(&self) -> &str {
        StateStore::name(&self.inner)
    }

    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        self.wait().await;
        self.inner.acquire_lease(job, holder, now, ttl).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.wait().await;
        self.inner.release_lease(lease).await
    }

    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.wait().await;
        StateStore::get(&self.inner, table, key).await
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.wait().await;
        self.inner.scan(table, range, limit).await
    }

    async fn commit(&self, batch: WriteBatch) -> Result<()> {
        self.wait().await;
        self.inner.commit(batch).await
    }

    async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
        self.wait().await;
        self.inner.commit_and_release(batch, lease).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds_and_repeats_by_seed() {
        let d = Delay::jittered(Duration::from_millis(10), Duration::from_millis(20), 9);
        let waits: Vec<Duration> = (1..=200).map(|n| d.of_call(n)).collect();
        assert!(
            waits
                .iter()
                .all(|w| (Duration::from_millis(10)..=Duration::from_millis(20)).contains(w))
        );
        assert_eq!(waits, (1..=200).map(|n| d.of_call(n)).collect::<Vec<_>>());
        let other = Delay::jittered(Duration::from_millis(10), Duration::from_millis(20), 10);
        assert_ne!(
            waits,
            (1..=200).map(|n| other.of_call(n)).collect::<Vec<_>>()
        );
        // Not all the same.
        assert!(waits.iter().any(|w| *w != waits[0]));
        // Bounds given the wrong way round, and an empty span.
        let swapped = Delay::jittered(Duration::from_millis(20), Duration::from_millis(10), 9);
        assert_eq!(swapped.of_call(5), d.of_call(5));
        let zero = Delay::jittered(Duration::ZERO, Duration::ZERO, 1);
        assert_eq!(zero.of_call(1), Duration::ZERO);
    }
}
