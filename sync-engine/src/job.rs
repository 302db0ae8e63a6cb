//! A sync job as serde data: what flows from which source type to which target type, under
//! which scope and mappings, and the policies for leaving scope, deletions, retries and
//! quarantine.
//!
//! Field names follow Microsoft Graph's synchronization schema where one exists
//! (`objectMappings`, `sourceObjectName`, `targetObjectName`, `flowTypes`, `attributeMappings`).

use std::time::Duration;

use connectors::ObjectType;
use scoping::{CompiledScopingFilter, MappingSet, ScopingFilter};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A sync job.
///
/// ```
/// let job: sync_engine::Job = serde_json::from_str(r#"{
///   "objectMappings": [{
///     "sourceObjectName": "User", "targetObjectName": "User",
///     "scope": [[{"sourceAttribute": "active", "operator": "IS TRUE"}]],
///     "attributeMappings": [
///       {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1}
///     ]
///   }]
/// }"#).unwrap();
/// assert_eq!(job.deletion_threshold, Some(500));
/// assert_eq!(job.out_of_scope, sync_engine::OutOfScope::Disable);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Job {
    /// One mapping per object type, processed in this order (users before groups).
    pub object_mappings: Vec<ObjectMapping>,
    /// What leaving scope does (default: disable, as Entra).
    #[serde(default)]
    pub out_of_scope: OutOfScope,
    /// Accidental-deletion protection: the most disables and deletes (all object types
    /// together) a cycle may apply without approval; `null` turns it off. Default 500.
    /// Disables count whatever asks for them: objects leaving scope or deleted at the source,
    /// and updates that turn a live account off through a mapping of `active` (an HR record
    /// marked inactive) — so a bad export marking everyone inactive is held too.
    #[serde(default = "default_threshold")]
    pub deletion_threshold: Option<u64>,
    /// When failed objects are retried.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// When the job is quarantined.
    #[serde(default)]
    pub quarantine: QuarantinePolicy,
    /// How many objects one batch holds: the unit of a state commit (default 500).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// How many exports run at once (default 8). Writes to one object never overlap.
    #[serde(default = "default_concurrency")]
    pub export_concurrency: usize,
    /// On full cycles, compare each linked target object's mapped attributes with the
    /// desired ones even when the source did not change, and correct drift (reported as
    /// `Update` entries counted in `summary.reconciled`).
    #[serde(default)]
    pub reconcile: bool,
    /// On initial and full cycles, list the target first when it holds at most this many
    /// objects, so objects whose matching values it does not hold are created without a
    /// `find` each (half the requests of a first cycle into an empty SCIM target); `null`
    /// matches every object with `find`. Default 100,000. A listed value is still confirmed
    /// with `find`.
    #[serde(default = "default_match_by_listing")]
    pub match_by_listing_up_to: Option<u64>,
}

fn default_match_by_listing() -> Option<u64> {
    Some(100_000)
}

fn default_threshold() -> Option<u64> {
    Some(500)
}

fn default_page_size() -> usize {
    500
}

fn default_concurrency() -> usize {
    8
}

impl Job {
    /// A job of these object mappings with every default.
    pub fn new(object_mappings: Vec<ObjectMapping>) -> Self {
        Job {
            object_mappings,
            out_of_scope: OutOfScope::default(),
            deletion_threshold: default_threshold(),
            retry: RetryPolicy::default(),
            quarantine: QuarantinePolicy::default(),
            page_size: default_page_size(),
            export_concurrency: default_concurrency(),
            reconcile: false,
            match_by_listing_up_to: default_match_by_listing(),
        }
    }

    /// Reads a job from JSON and checks it.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the text is not a job, [`Error::InvalidJob`] when it is not valid.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let job: Job = serde_json::from_str(text)?;
        job.check()?;
        Ok(job)
    }

    /// Checks what serde cannot: at least one object mapping, each source type once, sizes
    /// above zero, scoping filters that compile.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJob`] naming the field.
    pub fn check(&self) -> Result<()> {
        if self.object_mappings.is_empty() {
            return Err(invalid(
                "objectMappings",
                "at least one object mapping is needed",
            ));
        }
        if self.page_size == 0 {
            return Err(invalid("pageSize", "must be at least 1"));
        }
        if self.export_concurrency == 0 {
            return Err(invalid("exportConcurrency", "must be at least 1"));
        }
        for (i, m) in self.object_mappings.iter().enumerate() {
            if self.object_mappings[..i]
                .iter()
                .any(|o| o.source_object_name == m.source_object_name)
            {
                return Err(invalid(
                    format!("objectMappings[{i}].sourceObjectName"),
                    format!("{} is mapped twice", m.source_object_name),
                ));
            }
            m.scope
                .compile()
                .map_err(|e| invalid(format!("objectMappings[{i}].scope"), e.to_string()))?;
        }
        Ok(())
    }

    pub(crate) fn compiled_scopes(&self) -> Result<Vec<CompiledScopingFilter>> {
        self.object_mappings
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.scope
                    .compile()
                    .map_err(|e| invalid(format!("objectMappings[{i}].scope"), e.to_string()))
            })
            .collect()
    }
}

fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidJob {
        what: what.into(),
        message: message.into(),
    }
}

/// What flows for one object type.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectMapping {
    /// The source object type (`User`, `Group`).
    pub source_object_name: ObjectType,
    /// The target object type.
    pub target_object_name: ObjectType,
    /// The target actions allowed (Entra's "target object actions"); default all three.
    #[serde(default = "all_flow_types")]
    pub flow_types: Vec<FlowAction>,
    /// Which source objects are in scope (empty: all).
    #[serde(default)]
    pub scope: ScopingFilter,
    /// The attribute mappings; at least one is a matching attribute.
    pub attribute_mappings: MappingSet,
}

fn all_flow_types() -> Vec<FlowAction> {
    vec![FlowAction::Add, FlowAction::Update, FlowAction::Delete]
}

impl ObjectMapping {
    /// A mapping from `source` objects to `target` objects with every action allowed and no
    /// scoping filter.
    pub fn new(source: ObjectType, target: ObjectType, mappings: MappingSet) -> Self {
        ObjectMapping {
            source_object_name: source,
            target_object_name: target,
            flow_types: all_flow_types(),
            scope: ScopingFilter::default(),
            attribute_mappings: mappings,
        }
    }

    /// Sets the scoping filter.
    #[must_use]
    pub fn with_scope(mut self, scope: ScopingFilter) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the allowed target actions.
    #[must_use]
    pub fn with_flow_types(mut self, flow_types: impl IntoIterator<Item = FlowAction>) -> Self {
        self.flow_types = flow_types.into_iter().collect();
        self
    }

    /// Whether an action is allowed.
    pub fn allows(&self, action: FlowAction) -> bool {
        self.flow_types.contains(&action)
    }
}

/// A target action a job may take (Graph's `objectFlowTypes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FlowAction {
    /// Create target objects.
    Add,
    /// Update (and disable, which is an update) target objects.
    Update,
    /// Delete target objects (an object deleted at the source is deleted; without this it
    /// is disabled).
    Delete,
}

/// What happens to a linked target object whose source object leaves scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutOfScope {
    /// Disable it (`active=false`; a target without soft delete gets a DELETE), as Entra.
    #[default]
    Disable,
    /// Delete it.
    Delete,
    /// Leave it alone (Entra's `SkipOutOfScopeDeletions`).
    Skip,
}

/// When a failed object is tried again: delays counted from its first failure, then a fixed
/// interval, until it is given up. Default: Entra's generic schedule (+6 h, +12 h, +24 h, then
/// every 24 h, for up to 28 days).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Delays from the first failure for the first retries, in seconds.
    pub schedule_seconds: Vec<u64>,
    /// After the schedule, the interval between retries, in seconds.
    pub then_every_seconds: u64,
    /// An object failing for longer than this, in seconds, is given up (its escrow is
    /// removed and the log says so).
    pub give_up_after_seconds: u64,
    /// How often a temporary failure (a timeout, HTTP 429/503) is retried at once within a
    /// cycle, with exponential backoff or the connector's retry-after, before it is escrowed.
    pub immediate_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        RetryPolicy {
            schedule_seconds: vec![6 * HOUR, 12 * HOUR, 24 * HOUR],
            then_every_seconds: 24 * HOUR,
            give_up_after_seconds: 28 * 24 * HOUR,
            immediate_retries: 2,
        }
    }
}

impl RetryPolicy {
    /// When an object that has failed `attempts` times, first at `first`, is tried next.
    pub fn next_retry(
        &self,
        first: chrono::DateTime<chrono::Utc>,
        attempts: u32,
    ) -> chrono::DateTime<chrono::Utc> {
        let index = attempts.saturating_sub(1) as usize;
        let delay = match self.schedule_seconds.get(index) {
            Some(d) => *d,
            None => {
                let last = self.schedule_seconds.last().copied().unwrap_or(0);
                let extra = (index + 1 - self.schedule_seconds.len()) as u64;
                last.saturating_add(extra.saturating_mul(self.then_every_seconds))
            }
        };
        first + seconds(delay)
    }

    /// Whether an object first failing at `first` should be given up at `now`.
    pub fn gives_up(
        &self,
        first: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        now >= first + seconds(self.give_up_after_seconds)
    }
}

pub(crate) fn seconds(s: u64) -> chrono::Duration {
    chrono::Duration::from_std(Duration::from_secs(s)).unwrap_or(chrono::Duration::MAX)
}

/// When a job is quarantined for failing objects (Entra's rules by default): from
/// `evaluateFrom` failures on, when more than `maxFailureProportion` of the cycle's objects
/// failed, more than `maxFailures` objects are failing, or more than `maxFailuresWithReferences`
/// counting reference failures. A fatal connector error (bad credentials) quarantines at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct QuarantinePolicy {
    /// Failures needed before the rules are evaluated (5,000).
    pub evaluate_from: u64,
    /// The share of a cycle's objects that may fail (0.4).
    pub max_failure_proportion: f64,
    /// Failing objects, references excluded (40,000).
    pub max_failures: u64,
    /// Failing objects, references included (60,000).
    pub max_failures_with_references: u64,
    /// While quarantined, the delay before the next cycle doubles from this (seconds, 40
    /// minutes, Entra's cycle) up to once a day.
    pub base_interval_seconds: u64,
}

impl Default for QuarantinePolicy {
    fn default() -> Self {
        QuarantinePolicy {
            evaluate_from: 5_000,
            max_failure_proportion: 0.4,
            max_failures: 40_000,
            max_failures_with_references: 60_000,
            base_interval_seconds: 40 * 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_retry_schedule_by_default() {
        let p = RetryPolicy::default();
        let t0: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let h = |n: i64| t0 + chrono::Duration::hours(n);
        assert_eq!(p.next_retry(t0, 1), h(6));
        assert_eq!(p.next_retry(t0, 2), h(12));
        assert_eq!(p.next_retry(t0, 3), h(24));
        assert_eq!(p.next_retry(t0, 4), h(48));
        assert_eq!(p.next_retry(t0, 5), h(72));
        assert!(!p.gives_up(t0, h(27 * 24)));
        assert!(p.gives_up(t0, h(28 * 24)));
    }

    #[test]
    fn a_job_without_mappings_is_refused_with_its_field() {
        let err = Job::from_json_str(r#"{"objectMappings": []}"#).unwrap_err();
        assert!(err.to_string().contains("objectMappings"), "{err}");
        let err = Job::from_json_str(
            r#"{"objectMappings": [{"sourceObjectName": "User", "targetObjectName": "User",
                "scope": [[{"sourceAttribute": "a", "operator": "NOPE", "value": "x"}]],
                "attributeMappings": [{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1}]}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("objectMappings[0].scope"), "{err}");
    }

    #[test]
    fn deletion_threshold_null_turns_protection_off() {
        let job = Job::from_json_str(
            r#"{"deletionThreshold": null, "objectMappings": [{"sourceObjectName": "User", "targetObjectName": "User",
                "attributeMappings": [{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1}]}]}"#,
        )
        .unwrap();
        assert_eq!(job.deletion_threshold, None);
    }
}
