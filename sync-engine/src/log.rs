//! The provisioning log: one entry per object per cycle that had an action, a failure or a
//! reason to be skipped, in the field names of Microsoft Graph's `provisioningObjectSummary`;
//! and the report of a cycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What was done to an object (Graph's `provisioningAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Created in the target.
    Create,
    /// Updated in the target (also: re-enabled, reconciled, references written).
    Update,
    /// Disabled in the target.
    Disable,
    /// Deleted from the target.
    Delete,
    /// A disable or delete held by the accidental-deletion threshold.
    StagedDelete,
    /// Anything else (skipped, already in sync, matched only).
    Other,
}

/// How it went (Graph's `provisioningResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Status {
    /// Done.
    Success,
    /// Failed; the object is escrowed for a retry.
    Failure,
    /// Nothing was done on purpose (out of scope, not allowed, held, preview).
    Skipped,
    /// Done, with something to look at (a manager out of scope).
    Warning,
}

/// The kind of a step (Graph's `provisioningStepType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum StepType {
    /// Reading the object from the source.
    Import,
    /// Deciding whether it is in scope.
    Scoping,
    /// Finding its target object.
    Matching,
    /// Deciding what to do.
    Processing,
    /// Resolving manager and member references.
    ReferenceResolution,
    /// Writing to the target.
    Export,
}

/// How a step went (Graph's `provisioningStepStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum StepStatus {
    /// The step succeeded.
    Success,
    /// The step succeeded with something to look at.
    Warning,
    /// The step failed.
    Failure,
    /// The step was not run.
    Skipped,
}

/// One step of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Step {
    /// A short name (`ImportObject`, `DetermineScope`, `MatchObject`, `ProvisionUser`, …).
    pub name: String,
    /// Its kind.
    pub provisioning_step_type: StepType,
    /// How it went.
    pub status: StepStatus,
    /// What happened, for a person.
    pub description: String,
}

impl Step {
    pub(crate) fn new(
        name: &str,
        ty: StepType,
        status: StepStatus,
        description: impl Into<String>,
    ) -> Self {
        Step {
            name: name.to_owned(),
            provisioning_step_type: ty,
            status,
            description: description.into(),
        }
    }
}

/// One attribute changed (old → new). Values produced through `Redact` read `[Redact]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModifiedProperty {
    /// The target attribute path.
    pub display_name: String,
    /// The value before, as text (`null` when absent).
    pub old_value: Option<String>,
    /// The value after, as text (`null` when removed).
    pub new_value: Option<String>,
}

/// An identity on one side (Graph's `provisionedIdentity`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Identity {
    /// Its id on that side (empty when there is none yet).
    pub id: String,
    /// Its object type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// A display name when known (userName, displayName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Why an entry failed, and what to do (Graph's `statusDetails`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusInfo {
    /// A stable code (`TargetUniquenessConflict`, `MultipleMatches`, `Temporary`, …).
    pub error_code: String,
    /// What went wrong.
    pub reason: String,
    /// What a person should do.
    pub recommended_action: String,
}

/// One provisioning log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogEntry {
    /// The cycle this entry belongs to.
    pub cycle_id: String,
    /// When it was written.
    pub activity_date_time: DateTime<Utc>,
    /// The source object.
    pub source_identity: Identity,
    /// The target object (empty id when none).
    pub target_identity: Identity,
    /// What was done.
    pub action: Action,
    /// How it went.
    pub status: Status,
    /// The steps, in order.
    pub provisioning_steps: Vec<Step>,
    /// The attributes changed.
    pub modified_properties: Vec<ModifiedProperty>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Whether this update corrected drift found by reconciliation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconciled: bool,
}

/// The kind of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CycleKind {
    /// The job's first cycle: everything is imported.
    Initial,
    /// Only changes (since the watermark, or against the stored fingerprints).
    Delta,
    /// Everything is imported and re-evaluated (after a restart or a configuration change).
    Full,
}

/// The counts of a cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Summary {
    /// Objects created.
    pub created: u64,
    /// Objects updated (reconciliations included).
    pub updated: u64,
    /// Objects disabled.
    pub disabled: u64,
    /// Objects deleted.
    pub deleted: u64,
    /// Objects skipped with a reason (out of scope, action not allowed).
    pub skipped: u64,
    /// Objects that failed in this cycle.
    pub failed: u64,
    /// Objects waiting in escrow for a retry when the cycle ended.
    pub escrowed: u64,
    /// Disables and deletes held by the deletion threshold when the cycle ended.
    pub staged_deletes: u64,
    /// Updates that corrected drift found by reconciliation.
    pub reconciled: u64,
}

/// Why a job is quarantined (Graph's `quarantineReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum QuarantineReason {
    /// More than the allowed share of a cycle's objects failed.
    EncounteredEscrowProportionThreshold,
    /// More than the allowed number of objects are failing (references excluded).
    EncounteredTotalEscrowThreshold,
    /// More than the allowed number of objects are failing, references included.
    EncounteredBaseEscrowThreshold,
    /// A connector failed fatally (bad credentials, the endpoint is gone).
    EncounteredQuarantineException,
    /// A cycle would disable or delete more than the deletion threshold.
    TooManyDeletes,
}

/// A job's quarantine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Quarantine {
    /// Why.
    pub reason: QuarantineReason,
    /// Since when.
    pub since: DateTime<Utc>,
    /// What happened, for a person.
    pub detail: String,
    /// When the next cycle is due: the delay doubles each quarantined cycle, up to a day.
    pub next_attempt: DateTime<Utc>,
    /// How many cycles in a row ended quarantined.
    pub series_count: u32,
}

/// The cycle part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CycleInfo {
    /// The cycle's id (`<job>-<n>`).
    pub id: String,
    /// Its number in the job.
    pub number: u64,
    /// Its kind.
    pub kind: CycleKind,
    /// The stored watermark after it (hex of the connector's bytes), or empty.
    pub watermark: String,
}

/// What a cycle did: its counts, its log and the job's quarantine after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CycleReport {
    /// The cycle.
    pub cycle: CycleInfo,
    /// Whether this was a preview: nothing was written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
    /// The counts.
    pub summary: Summary,
    /// The job's quarantine after the cycle.
    pub quarantine: Option<Quarantine>,
    /// The log entries, in the order written: the first
    /// [`RunOptions::report_log_limit`](crate::RunOptions::report_log_limit) of them.
    pub log: Vec<LogEntry>,
    /// How many of the cycle's log entries were left out of `log` by that limit (they are in
    /// the state store, queryable by cycle and object).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub log_omitted: u64,
    /// How long the cycle took, in milliseconds.
    pub elapsed_ms: u64,
    /// What a person should know about the cycle as a whole (an import that was incomplete,
    /// so nothing was deleted because of it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Renders a JSON value as log text: strings bare, everything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
