//! [`Flaky`]: fails chosen or random calls of the connector or store it wraps.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::Value;

use super::unit;
use crate::source::{ChangePage, ImportPage, SourceCapabilities, SourceConnector};
use crate::state::{KeyRange, Lease, StateStore, Table, WriteBatch};
use crate::target::{
    CreatedObject, Query, QueryPage, TargetCapabilities, TargetConnector, TargetObject,
};
use crate::types::{
    CreateKey, JobId, ObjectType, PageToken, SourceId, TargetId, Version, Watermark,
};
use crate::{Error, Result};

/// Which calls fail.
///
/// Calls are numbered from 1, counting only the calls the plan applies to (see
/// [`FailurePlan::only`]), from the moment the plan is set.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Trigger {
    /// No call fails.
    Never,
    /// Every call fails.
    Always,
    /// The calls with these numbers fail.
    Calls(BTreeSet<u64>),
    /// Every `n`th call fails (`n`, `2n`, ...); `0` means none.
    EveryNth(u64),
    /// Each call fails with probability `p`, drawn from `seed` and the call's number: the same
    /// seed fails the same call numbers in every run.
    Probability {
        /// The probability, from 0 to 1.
        p: f64,
        /// The seed.
        seed: u64,
    },
}

impl Trigger {
    fn fires(&self, n: u64) -> bool {
        match self {
            Trigger::Never => false,
            Trigger::Always => true,
            Trigger::Calls(numbers) => numbers.contains(&n),
            Trigger::EveryNth(every) => *every != 0 && n.is_multiple_of(*every),
            Trigger::Probability { p, seed } => unit(*seed, n) < *p,
        }
    }
}

/// Whether a failure happens before the wrapped call or after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timing {
    /// The wrapped call is not made: nothing happened.
    #[default]
    Before,
    /// The wrapped call is made and completes, then its answer is replaced by the failure:
    /// the effect happened but the caller does not know (a create whose response was lost).
    After,
}

/// Makes the error of an injected failure, for errors the other kinds do not cover (a version
/// conflict, a uniqueness clash, a lost lease).
#[derive(Clone)]
pub struct ErrorFactory(Arc<dyn Fn(&InjectedFailure) -> Error + Send + Sync>);

impl ErrorFactory {
    /// Wraps a function that makes the error.
    pub fn new(f: impl Fn(&InjectedFailure) -> Error + Send + Sync + 'static) -> Self {
        ErrorFactory(Arc::new(f))
    }
}

impl fmt::Debug for ErrorFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorFactory(..)")
    }
}

/// The error an injected failure returns.
///
/// Connectors get [`Error::Temporary`], [`Error::Permanent`], [`Error::Fatal`] or
/// [`Error::ResyncRequired`]; state stores get their contract's [`Error::Storage`] (with
/// `temporary` set or not; a `retry_after` is dropped) for the first two.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FailureKind {
    /// Worth retrying (a timeout, throttling), with the wait the backend asks for, if any.
    Temporary {
        /// The `Retry-After` to report.
        retry_after: Option<Duration>,
    },
    /// Retrying will fail the same way.
    Permanent,
    /// The job must stop until a person acts.
    Fatal,
    /// The watermark is no longer valid.
    ResyncRequired,
    /// Whatever error the factory makes.
    Custom(ErrorFactory),
}

/// What a [`Flaky`] fails: which calls ([`Trigger`]), of which operations, with what error
/// ([`FailureKind`]), before or after the wrapped call ([`Timing`]).
///
/// ```
/// use connectors::testing::{FailureKind, FailurePlan};
/// use std::time::Duration;
///
/// // The 3rd and 7th create or patch fail after they took effect, as throttled.
/// let plan = FailurePlan::calls([3, 7])
///     .only(["create", "patch"])
///     .temporary(Some(Duration::from_secs(30)))
///     .after();
/// // One call in ten, at random but reproducibly, fails for good.
/// let plan = FailurePlan::probability(0.1, 42).with_kind(FailureKind::Permanent);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FailurePlan {
    /// Which calls fail.
    pub trigger: Trigger,
    /// The operations the plan applies to, by method name (`import_page`, `changes`, `get`,
    /// `create`, `patch`, `commit`, ...); empty means all. Calls of other operations are
    /// neither counted nor failed. `get` names the `get` of every trait the wrapped value
    /// implements (a `MemoryDirectory` is both a source and a target).
    pub operations: Vec<String>,
    /// The error.
    pub kind: FailureKind,
    /// Before or after the wrapped call.
    pub timing: Timing,
}

impl FailurePlan {
    fn with_trigger(trigger: Trigger) -> Self {
        FailurePlan {
            trigger,
            operations: Vec::new(),
            kind: FailureKind::Temporary { retry_after: None },
            timing: Timing::Before,
        }
    }

    /// Fails nothing (a healed backend).
    pub fn never() -> Self {
        Self::with_trigger(Trigger::Never)
    }

    /// Fails every call (a backend that is down).
    pub fn always() -> Self {
        Self::with_trigger(Trigger::Always)
    }

    /// Fails the calls with these numbers (from 1).
    pub fn calls(numbers: impl IntoIterator<Item = u64>) -> Self {
        Self::with_trigger(Trigger::Calls(numbers.into_iter().collect()))
    }

    /// Fails every `n`th call.
    pub fn every(n: u64) -> Self {
        Self::with_trigger(Trigger::EveryNth(n))
    }

    /// Fails each call with probability `p`, reproducibly from `seed`.
    pub fn probability(p: f64, seed: u64) -> Self {
        Self::with_trigger(Trigger::Probability { p, seed })
    }

    /// Applies the plan only to these operations.
    #[must_use]
    pub fn only<I, S>(mut self, operations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.operations = operations.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the error.
    #[must_use]
    pub fn with_kind(mut self, kind: FailureKind) -> Self {
        self.kind = kind;
        self
    }

    /// Fails with a temporary error (the default), with an optional `retry_after`.
    #[must_use]
    pub fn temporary(self, retry_after: Option<Duration>) -> Self {
        self.with_kind(FailureKind::Temporary { retry_after })
    }

    /// Fails with a permanent error.
    #[must_use]
    pub fn permanent(self) -> Self {
        self.with_kind(FailureKind::Permanent)
    }

    /// Fails with a fatal error.
    #[must_use]
    pub fn fatal(self) -> Self {
        self.with_kind(FailureKind::Fatal)
    }

    /// Fails before the wrapped call (the default): nothing happens.
    #[must_use]
    pub fn before(mut self) -> Self {
        self.timing = Timing::Before;
        self
    }

    /// Fails after the wrapped call: it happens, and its answer is lost.
    #[must_use]
    pub fn after(mut self) -> Self {
        self.timing = Timing::After;
        self
    }

    fn applies_to(&self, operation: &str) -> bool {
        self.operations.is_empty() || self.operations.iter().any(|o| o == operation)
    }
}

/// A failure a [`Flaky`] injected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InjectedFailure {
    /// The call's number under its plan.
    pub call: u64,
    /// The operation, e.g. `create`.
    pub operation: &'static str,
    /// Before or after the wrapped call.
    pub timing: Timing,
}

/// The plan and its call counter, changed together.
#[derive(Debug)]
struct PlanState {
    plan: FailurePlan,
    calls: u64,
}

#[derive(Debug)]
struct Shared {
    plan: Mutex<PlanState>,
    injected: Mutex<Vec<InjectedFailure>>,
}

/// Which trait a call belongs to: state stores report [`Error::Storage`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Connector,
    Store,
}

/// Wraps a connector or state store and fails the calls its [`FailurePlan`] chooses.
///
/// Thread-safe: calls from several tasks are numbered in the order they reach the decorator.
/// `Clone` (when the wrapped value is `Clone`) shares the plan, the counter and the record of
/// injected failures.
///
/// ```
/// use connectors::testing::{FailurePlan, Flaky};
/// use connectors::state::MemoryStateStore;
/// use connectors::{ErrorKind, StateStore, Table};
///
/// let store = Flaky::new(MemoryStateStore::new(), FailurePlan::every(2).only(["get"]));
/// # futures::executor::block_on(async {
/// assert!(store.get(Table::JOBS, b"k").await.is_ok());
/// let err = store.get(Table::JOBS, b"k").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Temporary);
/// store.set_plan(FailurePlan::never()); // healed
/// assert!(store.get(Table::JOBS, b"k").await.is_ok());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Flaky<C> {
    inner: C,
    shared: Arc<Shared>,
}

impl<C> Flaky<C> {
    /// Wraps `inner`, failing what `plan` says.
    pub fn new(inner: C, plan: FailurePlan) -> Self {
        Flaky {
            inner,
            shared: Arc::new(Shared {
                plan: Mutex::new(PlanState { plan, calls: 0 }),
                injected: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The wrapped value.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Replaces the plan; call numbers start from 1 again.
    pub fn set_plan(&self, plan: FailurePlan) {
        *self.plan() = PlanState { plan, calls: 0 };
    }

    /// How many calls the current plan has counted (those of its operations).
    pub fn calls(&self) -> u64 {
        self.plan().calls
    }

    /// Every failure injected so far, in order (across plans).
    pub fn injected(&self) -> Vec<InjectedFailure> {
        self.injected_log().clone()
    }

    fn plan(&self) -> MutexGuard<'_, PlanState> {
        // Plain data, consistent after every statement: usable after a poisoning.
        self.shared.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn injected_log(&self) -> MutexGuard<'_, Vec<InjectedFailure>> {
        self.shared
            .injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the call and decides whether it fails.
    fn decide(&self, operation: &'static str) -> Option<(InjectedFailure, FailureKind)> {
        let mut state = self.plan();
        if !state.plan.applies_to(operation) {
            return None;
        }
        state.calls += 1;
        let n = state.calls;
        if !state.plan.trigger.fires(n) {
            return None;
        }
        let failure = InjectedFailure {
            call: n,
            operation,
            timing: state.plan.timing,
        };
        let kind = state.plan.kind.clone();
        // Logged while the plan is still locked, so the log is in call order whichever
        // thread gets there first (the plan's lock is always taken before the log's).
        self.injected_log().push(failure.clone());
        drop(state);
        Some((failure, kind))
    }

    /// Runs `call` unless the plan fails it before; replaces its answer if the plan fails it
    /// after.
    async fn run<T>(
        &self,
        side: Side,
        name: &str,
        operation: &'static str,
        call: impl Future<Output = Result<T>> + Send,
    ) -> Result<T> {
        let Some((failure, kind)) = self.decide(operation) else {
            return call.await;
        };
        if failure.timing == Timing::After {
            // The call takes effect; its answer, whatever it was, is lost.
            let _lost = call.await;
        }
        Err(make_error(side, name, &failure, kind))
    }
}

fn make_error(side: Side, name: &str, failure: &InjectedFailure, kind: FailureKind) -> Error {
    let when = match failure.timing {
        Timing::Before => "before",
        Timing::After => "after",
    };
    let message = format!(
        "injected failure of {} call #{} ({when} the call)",
        failure.operation, failure.call
    );
    match (kind, side) {
        (FailureKind::Temporary { .. }, Side::Store) => Error::Storage {
            backend: "flaky",
            message: format!("{name}: {message}"),
            temporary: true,
        },
        (FailureKind::Permanent, Side::Store) => Error::Storage {
            backend: "flaky",
            message: format!("{name}: {message}"),
            temporary: false,
        },
        (FailureKind::Temporary { retry_after }, Side::Connector) => Error::Temporary {
            connector: name.to_owned(),
            message,
            retry_after,
        },
        (FailureKind::Permanent, Side::Connector) => Error::permanent(name, message),
        (FailureKind::Fatal, _) => Error::Fatal {
            connector: name.to_owned(),
            message,
        },
        (FailureKind::ResyncRequired, _) => Error::ResyncRequired {
            connector: name.to_owned(),
            message,
        },
        (FailureKind::Custom(factory), _) => (factory.0)(failure),
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: SourceConnector> SourceConnector for Flaky<C> {
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
        let name = SourceConnector::name(&self.inner);
        let call = self.inner.import_page(object_type, page);
        self.run(Side::Connector, name, "import_page", call).await
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        let name = SourceConnector::name(&self.inner);
        let call = self.inner.changes(object_type, since, page);
        self.run(Side::Connector, name, "changes", call).await
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
        let name = SourceConnector::name(&self.inner);
        let call = self.inner.current_watermark(object_type);
        self.run(Side::Connector, name, "current_watermark", call)
            .await
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        let name = SourceConnector::name(&self.inner);
        let call = SourceConnector::get(&self.inner, object_type, id);
        self.run(Side::Connector, name, "get", call).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: TargetConnector> TargetConnector for Flaky<C> {
    fn name(&self) -> &str {
        TargetConnector::name(&self.inner)
    }

    fn capabilities(&self) -> TargetCapabilities {
        TargetConnector::capabilities(&self.inner)
    }

    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>> {
        let name = TargetConnector::name(&self.inner);
        let call = TargetConnector::get(&self.inner, object_type, id);
        self.run(Side::Connector, name, "get", call).await
    }

    /// A `get` to the failure plan: it fails where a `get` would.
    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.get_attributes(object_type, id, attributes);
        self.run(Side::Connector, name, "get", call).await
    }

    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.find(object_type, path, value, limit);
        self.run(Side::Connector, name, "find", call).await
    }

    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.create(object_type, resource, key);
        self.run(Side::Connector, name, "create", call).await
    }

    async fn create_for_id(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<CreatedObject> {
        // The same operation as `create` for failure plans: `.only(["create"])` covers both.
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.create_for_id(object_type, resource, key);
        self.run(Side::Connector, name, "create", call).await
    }

    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.patch(object_type, id, patch, if_match);
        self.run(Side::Connector, name, "patch", call).await
    }

    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        // The same operation as `patch` for failure plans: `.only(["patch"])` covers both.
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.apply_patch(object_type, id, patch, if_match);
        self.run(Side::Connector, name, "patch", call).await
    }

    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.replace(object_type, id, resource, if_match);
        self.run(Side::Connector, name, "replace", call).await
    }

    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.delete(object_type, id, if_match);
        self.run(Side::Connector, name, "delete", call).await
    }

    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
        let name = TargetConnector::name(&self.inner);
        let call = self.inner.query(object_type, query);
        self.run(Side::Connector, name, "query", call).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: StateStore> StateStore for Flaky<C> {
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
        let name = StateStore::name(&self.inner);
        let call = self.inner.acquire_lease(job, holder, now, ttl);
        self.run(Side::Store, name, "acquire_lease", call).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let name = StateStore::name(&self.inner);
        let call = self.inner.release_lease(lease);
        self.run(Side::Store, name, "release_lease", call).await
    }

    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let name = StateStore::name(&self.inner);
        let call = StateStore::get(&self.inner, table, key);
        self.run(Side::Store, name, "get", call).await
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let name = StateStore::name(&self.inner);
        let call = self.inner.scan(table, range, limit);
        self.run(Side::Store, name, "scan", call).await
    }

    async fn commit(&self, batch: WriteBatch) -> Result<()> {
        let name = StateStore::name(&self.inner);
        let call = self.inner.commit(batch);
        self.run(Side::Store, name, "commit", call).await
    }

    /// The two calls it stands for, each failing as planned on its own: a failure may come
    /// after the commit and before the release, as it may in a store that does them apart.
    async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
        self.commit(batch).await?;
        // Best effort, as the trait's default.
        let _ = self.release_lease(lease).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_fire_on_the_planned_numbers() {
        let fired = |t: Trigger| (1..=12).filter(|n| t.fires(*n)).collect::<Vec<_>>();
        assert_eq!(fired(Trigger::Calls([3, 7].into())), [3, 7]);
        assert_eq!(fired(Trigger::EveryNth(4)), [4, 8, 12]);
        assert_eq!(fired(Trigger::EveryNth(0)), Vec::<u64>::new());
        assert_eq!(fired(Trigger::Never), Vec::<u64>::new());
        assert_eq!(fired(Trigger::Always).len(), 12);
        assert_eq!(fired(Trigger::Probability { p: 0.0, seed: 1 }).len(), 0);
        assert_eq!(fired(Trigger::Probability { p: 1.0, seed: 1 }).len(), 12);
    }

    #[test]
    fn errors_are_of_the_planned_kind() {
        let f = InjectedFailure {
            call: 3,
            operation: "create",
            timing: Timing::After,
        };
        let e = make_error(
            Side::Connector,
            "memory",
            &f,
            FailureKind::Temporary {
                retry_after: Some(Duration::from_secs(5)),
            },
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
        assert_eq!(
            e.to_string(),
            "memory: temporary failure (retry after 5s): injected failure of create call #3 (after the call)"
        );
        let e = make_error(Side::Store, "memory", &f, FailureKind::Permanent);
        assert!(matches!(
            e,
            Error::Storage {
                temporary: false,
                ..
            }
        ));
        let e = make_error(
            Side::Store,
            "memory",
            &f,
            FailureKind::Temporary { retry_after: None },
        );
        assert!(e.is_retryable());
        let e = make_error(Side::Connector, "m", &f, FailureKind::ResyncRequired);
        assert_eq!(e.kind(), crate::ErrorKind::ResyncRequired);
        let e = make_error(
            Side::Connector,
            "m",
            &f,
            FailureKind::Custom(ErrorFactory::new(|f| {
                Error::not_found(ObjectType::USER, format!("call {}", f.call))
            })),
        );
        assert_eq!(e.to_string(), "User \"call 3\" not found");
    }
}
