//! [`Recording`]: writes every call of the connector or store it wraps into a [`CallLog`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Resource};
use serde_json::Value;

use crate::Result;
use crate::error::ErrorKind;
use crate::source::{ChangePage, ImportPage, SourceCapabilities, SourceConnector};
use crate::state::{Key, KeyRange, Lease, StateStore, Table, WriteBatch, WriteOp};
use crate::target::{
    CreatedObject, Query, QueryPage, TargetCapabilities, TargetConnector, TargetObject,
};
use crate::types::{
    CreateKey, JobId, ObjectType, PageToken, SourceId, TargetId, Version, Watermark,
};

/// How a recorded call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Still running (or its future was dropped before it finished).
    Pending,
    /// It succeeded.
    Ok,
    /// It failed, with an error of this kind.
    Err(ErrorKind),
}

/// One recorded call.
///
/// Its `Display` is one line, e.g. `create User key=E1042 userName=bjensen -> Ok` or
/// `commit - 3 writes: put links, put watermarks, put log -> Ok`, handy in assertions and
/// snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// The method, e.g. `import_page`, `create`, `commit`.
    pub operation: &'static str,
    /// The object type, for connector calls.
    pub object_type: Option<ObjectType>,
    /// The object's id, the create key, or (for state stores) the table and key, when the call
    /// names one: `E1042`, `links/job/User/E1042`.
    pub key: Option<String>,
    /// A short description of the rest of the request: the PATCH operations, the filter, the
    /// batch's writes.
    pub summary: String,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        match &self.object_type {
            Some(t) => write!(f, " {t}")?,
            None => f.write_str(" -")?,
        }
        if let Some(k) = &self.key {
            write!(f, " key={k}")?;
        }
        if !self.summary.is_empty() {
            write!(f, " {}", self.summary)?;
        }
        match self.outcome {
            Outcome::Pending => f.write_str(" -> pending"),
            Outcome::Ok => f.write_str(" -> Ok"),
            Outcome::Err(kind) => write!(f, " -> {kind:?}"),
        }
    }
}

/// The calls a [`Recording`] saw, in the order they were made. `Clone` gives another handle
/// to the same log, so several decorators (a source and a target) can write into one.
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Call>> {
        // Plain data, consistent after every statement: usable after a poisoning.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().clone()
    }

    /// The operations of the calls so far, e.g. `["find", "create"]`.
    pub fn operations(&self) -> Vec<&'static str> {
        self.lock().iter().map(|c| c.operation).collect()
    }

    /// How many calls of `operation` were made.
    pub fn count(&self, operation: &str) -> usize {
        self.lock()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// How many calls were made.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no call was made.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets the calls so far (e.g. those of a setup phase).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn start(&self, call: Call) -> usize {
        let mut calls = self.lock();
        calls.push(call);
        calls.len() - 1
    }

    fn finish(&self, index: usize, outcome: Outcome) {
        // A `clear` meanwhile may have removed the entry; then there is nothing to update.
        if let Some(c) = self.lock().get_mut(index) {
            c.outcome = outcome;
        }
    }
}

/// Wraps a connector or state store and records every call (but `name` and `capabilities`)
/// into a [`CallLog`]: the operation, object type, id or key, a short summary, and how it
/// ended. Calls are logged when they start, so the log is in the order calls were made.
///
/// ```
/// use connectors::testing::Recording;
/// use connectors::state::MemoryStateStore;
/// use connectors::{StateStore, Table};
///
/// let store = Recording::new(MemoryStateStore::new());
/// # futures::executor::block_on(async {
/// store.get(Table::JOBS, b"nothing").await.unwrap();
/// assert_eq!(store.log().operations(), ["get"]);
/// assert_eq!(store.calls()[0].to_string(), "get - key=jobs/nothing -> Ok");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Recording<C> {
    inner: C,
    log: CallLog,
}

impl<C> Recording<C> {
    /// Wraps `inner` with a new log.
    pub fn new(inner: C) -> Self {
        Self::with_log(inner, CallLog::new())
    }

    /// Wraps `inner`, writing into `log` (shared with other decorators).
    pub fn with_log(inner: C, log: CallLog) -> Self {
        Recording { inner, log }
    }

    /// The wrapped value.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The log (a handle that stays valid after the decorator is moved into an `Arc<dyn …>`).
    pub fn log(&self) -> CallLog {
        self.log.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.log.calls()
    }

    async fn run<T>(&self, call: Call, fut: impl Future<Output = Result<T>> + Send) -> Result<T> {
        let index = self.log.start(call);
        let result = fut.await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(e.kind()),
        };
        self.log.finish(index, outcome);
        result
    }
}

fn call(
    operation: &'static str,
    object_type: Option<&ObjectType>,
    key: Option<String>,
    summary: String,
) -> Call {
    Call {
        operation,
        object_type: object_type.cloned(),
        key,
        summary,
        outcome: Outcome::Pending,
    }
}

/// Up to 60 characters of `s`, with `…` when cut.
fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

/// A state-store key as text: its components joined by `/` (lossy UTF-8).
fn key_text(table: Table, key: &[u8]) -> String {
    let body = match Key::decode(key) {
        Some(parts) => parts
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        None => String::from_utf8_lossy(key).into_owned(),
    };
    short(&format!("{}/{body}", table.name()))
}

/// The attributes that name a resource, for summaries: `userName=bjensen`.
fn naming(resource: &Resource) -> String {
    ["userName", "displayName", "externalId"]
        .iter()
        .find_map(|a| {
            resource
                .get(a)
                .and_then(Value::as_str)
                .map(|v| short(&format!("{a}={v}")))
        })
        .unwrap_or_default()
}

fn patch_summary(patch: &PatchOp) -> String {
    let ops: Vec<String> = patch
        .operations()
        .iter()
        .map(|o| match &o.path {
            Some(p) => format!("{} {p}", o.op),
            None => format!("{} (no path)", o.op),
        })
        .collect();
    short(&ops.join(", "))
}

fn if_match_text(v: Option<&Version>) -> String {
    v.map(|v| format!(" if-match={v}")).unwrap_or_default()
}

fn page_summary(page: Option<&PageToken>) -> String {
    match page {
        None => "first page".to_owned(),
        Some(t) => short(&format!("page={t}")),
    }
}

fn batch_summary(batch: &WriteBatch) -> String {
    let ops: Vec<String> = batch
        .ops
        .iter()
        .map(|op| match op {
            WriteOp::Put { table, .. } => format!("put {}", table.name()),
            WriteOp::Insert { table, .. } => format!("insert {}", table.name()),
            WriteOp::Delete { table, .. } => format!("delete {}", table.name()),
            WriteOp::DeletePrefix { table, .. } => format!("delete-prefix {}", table.name()),
        })
        .collect();
    let mut s = format!("{} writes", ops.len());
    if !ops.is_empty() {
        s.push_str(": ");
        s.push_str(&short(&ops.join(", ")));
    }
    if let Some(lease) = &batch.lease {
        s.push_str(&format!(" (lease epoch {})", lease.epoch));
    }
    s
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: SourceConnector> SourceConnector for Recording<C> {
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
        let c = call("import_page", Some(object_type), None, page_summary(page));
        self.run(c, self.inner.import_page(object_type, page)).await
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        let summary = format!("since={since:?} {}", page_summary(page));
        let c = call("changes", Some(object_type), None, summary);
        self.run(c, self.inner.changes(object_type, since, page))
            .await
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
        let c = call("current_watermark", Some(object_type), None, String::new());
        self.run(c, self.inner.current_watermark(object_type)).await
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        let c = call(
            "get",
            Some(object_type),
            Some(id.to_string()),
            String::new(),
        );
        self.run(c, SourceConnector::get(&self.inner, object_type, id))
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: TargetConnector> TargetConnector for Recording<C> {
    fn name(&self) -> &str {
        TargetConnector::name(&self.inner)
    }

    fn capabilities(&self) -> TargetCapabilities {
        TargetConnector::capabilities(&self.inner)
    }

    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>> {
        let c = call(
            "get",
            Some(object_type),
            Some(id.to_string()),
            String::new(),
        );
        self.run(c, TargetConnector::get(&self.inner, object_type, id))
            .await
    }

    /// Recorded as a `get` whose summary lists the attributes asked for.
    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        let asked: Vec<String> = attributes.iter().map(ToString::to_string).collect();
        let c = call(
            "get",
            Some(object_type),
            Some(id.to_string()),
            short(&format!("attributes={}", asked.join(","))),
        );
        self.run(c, self.inner.get_attributes(object_type, id, attributes))
            .await
    }

    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        let summary = short(&format!("{path} eq {value} limit {limit}"));
        let c = call("find", Some(object_type), None, summary);
        self.run(c, self.inner.find(object_type, path, value, limit))
            .await
    }

    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject> {
        let c = call(
            "create",
            Some(object_type),
            key.map(CreateKey::to_string),
            naming(resource),
        );
        self.run(c, self.inner.create(object_type, resource, key))
            .await
    }

    async fn create_for_id(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<CreatedObject> {
        // Recorded as a `create`: the same request reaches the target.
        let c = call(
            "create",
            Some(object_type),
            key.map(CreateKey::to_string),
            naming(resource),
        );
        self.run(c, self.inner.create_for_id(object_type, resource, key))
            .await
    }

    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let summary = format!("{}{}", patch_summary(patch), if_match_text(if_match));
        let c = call("patch", Some(object_type), Some(id.to_string()), summary);
        self.run(c, self.inner.patch(object_type, id, patch, if_match))
            .await
    }

    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        // Recorded as a `patch`: the same request reaches the target.
        let summary = format!("{}{}", patch_summary(patch), if_match_text(if_match));
        let c = call("patch", Some(object_type), Some(id.to_string()), summary);
        self.run(c, self.inner.apply_patch(object_type, id, patch, if_match))
            .await
    }

    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let summary = format!("{}{}", naming(resource), if_match_text(if_match));
        let c = call("replace", Some(object_type), Some(id.to_string()), summary);
        self.run(c, self.inner.replace(object_type, id, resource, if_match))
            .await
    }

    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()> {
        let summary = if_match_text(if_match).trim_start().to_owned();
        let c = call("delete", Some(object_type), Some(id.to_string()), summary);
        self.run(c, self.inner.delete(object_type, id, if_match))
            .await
    }

    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
        let mut parts = Vec::new();
        if let Some(f) = &query.filter {
            parts.push(short(&format!("filter={f}")));
        }
        if let Some(s) = &query.sort_by {
            parts.push(format!("sortBy={s}"));
        }
        if let Some(n) = query.count {
            parts.push(format!("count={n}"));
        }
        match &query.cursor {
            Some(c) => parts.push(short(&format!("cursor={c}"))),
            None if query.start_index > 1 => {
                parts.push(format!("startIndex={}", query.start_index))
            }
            None => {}
        }
        let c = call("query", Some(object_type), None, parts.join(" "));
        self.run(c, self.inner.query(object_type, query)).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<C: StateStore> StateStore for Recording<C> {
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
        let summary = short(&format!("holder={holder} ttl={}s", ttl.as_secs()));
        let c = call("acquire_lease", None, Some(job.to_string()), summary);
        self.run(c, self.inner.acquire_lease(job, holder, now, ttl))
            .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let summary = short(&format!("holder={} epoch={}", lease.holder, lease.epoch));
        let c = call("release_lease", None, Some(lease.job.to_string()), summary);
        self.run(c, self.inner.release_lease(lease)).await
    }

    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let c = call("get", None, Some(key_text(table, key)), String::new());
        self.run(c, StateStore::get(&self.inner, table, key)).await
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut summary = format!("limit={limit}");
        if let Some(after) = &range.after {
            summary.push_str(&format!(" after={}", key_text(table, after)));
        }
        let c = call("scan", None, Some(key_text(table, &range.prefix)), summary);
        self.run(c, self.inner.scan(table, range, limit)).await
    }

    async fn commit(&self, batch: WriteBatch) -> Result<()> {
        let c = call("commit", None, None, batch_summary(&batch));
        self.run(c, self.inner.commit(batch)).await
    }

    async fn commit_and_release(&self, batch: WriteBatch, lease: &Lease) -> Result<()> {
        let summary = short(&format!(
            "{}; release holder={} epoch={}",
            batch_summary(&batch),
            lease.holder,
            lease.epoch
        ));
        let c = call(
            "commit_and_release",
            None,
            Some(lease.job.to_string()),
            summary,
        );
        self.run(c, self.inner.commit_and_release(batch, lease))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_as_their_components() {
        let k = Key::new().str("job").str("User").str("E1");
        assert_eq!(key_text(Table::LINKS, k.as_bytes()), "links/job/User/E1");
        assert_eq!(key_text(Table::JOBS, b"raw"), "jobs/raw");
        let long = "x".repeat(100);
        assert!(key_text(Table::JOBS, long.as_bytes()).ends_with('…'));
    }

    #[test]
    fn calls_print_on_one_line() {
        let mut c = call(
            "patch",
            Some(&ObjectType::USER),
            Some("42".into()),
            "replace active".into(),
        );
        assert_eq!(c.to_string(), "patch User key=42 replace active -> pending");
        c.outcome = Outcome::Err(ErrorKind::Temporary);
        assert_eq!(
            c.to_string(),
            "patch User key=42 replace active -> Temporary"
        );
    }
}
