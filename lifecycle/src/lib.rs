//! Joiner, mover and leaver workflows after Microsoft Entra Lifecycle Workflows, embeddable
//! and testable with a fake clock.
//!
//! # Overview
//!
//! A [`Workflow`] is serde data in Microsoft Graph's shape, as Entra exports it: a category
//! (joiner, mover, leaver, custom), execution conditions (a [`Trigger`] and a [`Scope`], or on
//! demand only), ordered tasks with arguments, `isEnabled` and `continueOnError`, and a
//! version that increases when tasks or conditions change. A [`WorkflowSet`] holds them
//! within Entra's [`Limits`] (100 workflows, 25 tasks each, configurable).
//!
//! A [`Runner`] binds the workflows to a target directory and a state store — through the
//! `connectors` traits only — and:
//!
//! - evaluates triggers at an instant ([`Runner::run_due`]): a dateTime attribute plus
//!   `offsetInDays` (−180..180) with a catch-up window of 3 days, attribute changes, group
//!   membership changes, inactivity; dates are read strictly as RFC 3339 and a malformed one
//!   is reported on its user ([`RunReport::errors`]);
//! - scopes users with a scoping filter or Entra's rule syntax (`(department eq 'Sales') and
//!   (accountEnabled eq true)`), Graph attribute names resolved through an [`AliasTable`];
//! - claims each trigger occurrence (workflow, trigger, user, trigger date) exactly once in
//!   the state store, even when runs overlap, and re-checks the user right before processing;
//! - runs the tasks through a [`TaskRegistry`] the host extends ([`tasks`]): account, groups,
//!   localised emails, a Temporary Access Pass for the manager, custom extensions that can
//!   wait for a callback; retries failed tasks with backoff;
//! - honours `dependsOn` (idflow): a workflow waits until another completed for the user;
//! - records the history in Graph's shapes ([`history`]), queryable and exported to CSV.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use connectors::{FakeClock, JobId, MemoryDirectory, MemoryStateStore, ObjectType, TargetConnector};
//! use lifecycle::{Limits, Runner, WorkflowSet, tasks::RecordingSender};
//! use scim_model::Resource;
//!
//! # futures::executor::block_on(async {
//! let directory = Arc::new(MemoryDirectory::new());
//! let boss: Resource = serde_json::from_str(r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "m1", "userName": "grace", "displayName": "Grace Hopper", "preferredLanguage": "de-DE",
//!     "emails": [{"value": "grace@example.com"}]}"#).unwrap();
//! let hire: Resource = serde_json::from_str(r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
//!     "id": "u1", "userName": "ada", "displayName": "Ada Lovelace", "active": false,
//!     "employeeHireDate": "2026-03-02T08:00:00Z",
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": {"value": "m1"}}}"#).unwrap();
//! directory.load(&ObjectType::USER, [boss, hire]).unwrap();
//!
//! let workflows = WorkflowSet::from_json_str(r##"{
//!   "displayName": "Onboard new hire", "category": "joiner", "isEnabled": true, "isSchedulingEnabled": true,
//!   "executionConditions": {
//!     "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
//!     "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": "(department eq 'Sales')"},
//!     "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
//!                 "timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}},
//!   "tasks": [
//!     {"taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc", "displayName": "Enable user account"},
//!     {"taskDefinitionId": "3C860712-2D37-42A4-928F-5C93935D26A1", "displayName": "Onboarding reminder"}]
//! }"##, Limits::default()).unwrap();
//!
//! let clock = FakeClock::at("2026-03-02T09:00:00Z".parse().unwrap());
//! let emails = RecordingSender::new();
//! let runner = Runner::builder(JobId::new("lifecycle"), workflows, directory.clone(), Arc::new(MemoryStateStore::new()))
//!     .clock(Arc::new(clock.clone()))
//!     .email_sender(Arc::new(emails.clone()))
//!     .build()
//!     .unwrap();
//!
//! let report = runner.run_due(clock.now()).await.unwrap();
//! assert_eq!(report.runs[0].user_processing_results[0].processing_status.as_str(), "completed");
//! assert_eq!(directory.resource(&ObjectType::USER, "u1").unwrap().get("active"), Some(&true.into()));
//! assert_eq!(emails.sent()[0].language, "de"); // the manager's preferredLanguage
//!
//! // The same occurrence is not processed twice.
//! assert!(runner.run_due(clock.now()).await.unwrap().runs.is_empty());
//! # });
//! # use connectors::Clock;
//! ```
//!
//! # Departures from Entra
//!
//! - `custom` category, `dependsOn`, retries with backoff, the `scopingFilterSubjectSet`
//!   scope and any dateTime attribute path as a trigger are idflow's.
//! - Rule scopes are compiled to scoping filters, whose comparisons other than `IS NULL` are
//!   false on an empty attribute: `department ne 'Sales'` does not hold for a user without a
//!   department ([`rule`]).
//! - Entra's cloud-only tasks (licences, Teams, access packages, tokens) are placeholders
//!   that fail until the host registers a handler of the same definition id.

mod attributes;
mod error;
pub mod history;
pub mod rule;
mod runner;
pub mod tasks;
mod trigger;
mod workflow;

pub use attributes::{AliasTable, ENTERPRISE, parse_instant, read, read_all, text};
pub use error::{Error, Result};
pub use history::{
    CSV_COLUMNS, ExecutionType, History, HistoryQuery, ProcessingStatus, Run, TaskProcessingResult,
    UserProcessingResult,
};
pub use runner::{
    RetryPolicy, RunReport, RunResult, Runner, RunnerBuilder, RunnerOptions, SNAPSHOTS,
};
pub use trigger::{EvalOptions, Evaluation, Occurrence, Subject, SubjectError, TriggerEvaluator};
pub use workflow::{
    Category, ExecutionConditions, Limits, MembershipChange, Scope, Task, TaskArgument, Trigger,
    Workflow, WorkflowSet,
};
