//! Tasks: what a workflow does for a user, through a registry the host extends.
//!
//! A task of a workflow names a task definition (`taskDefinitionId`, Entra's GUID or an idflow
//! name). The [`TaskRegistry`] maps definitions to [`TaskHandler`]s. [`TaskRegistry::builtin`]
//! holds every definition of Entra's task table:
//!
//! - acting through the target's [`TargetConnector`] trait: enable and disable the account,
//!   delete the user, add to groups, remove from selected groups, remove from all groups;
//! - emails through the host's [`EmailSender`] ([`email`]): welcome, onboarding reminder,
//!   mover notice, before / on / after the last day, inactivity notice — from [`Templates`]
//!   localised by the recipient's `preferredLanguage`;
//! - the Temporary Access Pass sent to the manager ([`tap`]);
//! - a custom task extension ([`extension`]), launch-and-continue or launch-and-wait;
//! - tasks Entra runs against its own cloud (licences, Teams, access packages, refresh
//!   tokens) are known by name, so a workflow exported from Entra loads, and fail when run
//!   until the host registers a handler for them.
//!
//! A host adds or replaces a definition with [`TaskRegistry::register`].

pub mod builtin;
pub mod email;
pub mod extension;
pub mod tap;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors::{ObjectType, TargetConnector, TargetId};
use scim_model::Resource;

use crate::attributes::{self, AliasTable};
use crate::workflow::{Category, Task, Workflow};

pub use email::{Email, EmailKind, EmailSender, RecordingSender, SendError, Template, Templates};
pub use extension::{
    CustomExtension, CustomTaskExtension, ExtensionCall, ExtensionMode, OperationStatus,
};
pub use tap::{AccessPass, AccessPassIssuer, AccessPassRequest};

/// What a task definition is: its id, other names, category and nature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskDefinition {
    /// The definition's id (Entra's GUID for Entra's tasks).
    pub id: String,
    /// Other names that select it (idflow's camelCase name, a conflicting GUID).
    pub aliases: Vec<String>,
    /// The definition's display name, used for a task without one.
    pub display_name: String,
    /// The categories it serves.
    pub categories: Vec<Category>,
    /// Whether repeating it would do harm (an email, a Temporary Access Pass): it records
    /// "started" before it acts and is never run twice for one user processing result.
    pub at_most_once: bool,
}

impl TaskDefinition {
    /// A definition.
    pub fn new(
        id: impl Into<String>,
        display_name: impl Into<String>,
        categories: impl IntoIterator<Item = Category>,
    ) -> Self {
        TaskDefinition {
            id: id.into(),
            aliases: Vec::new(),
            display_name: display_name.into(),
            categories: categories.into_iter().collect(),
            at_most_once: false,
        }
    }

    /// Adds another name.
    #[must_use]
    pub fn alias(mut self, name: impl Into<String>) -> Self {
        self.aliases.push(name.into());
        self
    }

    /// Marks it as a side effect that must not repeat.
    #[must_use]
    pub fn at_most_once(mut self) -> Self {
        self.at_most_once = true;
        self
    }
}

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFailure {
    /// The `failureReason` shown in the history: what failed and why, naming the object.
    pub reason: String,
    /// Whether trying again may work (a timeout, throttling): the runner retries it with
    /// backoff before it counts as failed.
    pub retryable: bool,
}

impl TaskFailure {
    /// A failure that retrying will not fix.
    pub fn permanent(reason: impl Into<String>) -> Self {
        TaskFailure {
            reason: reason.into(),
            retryable: false,
        }
    }

    /// A failure that may pass.
    pub fn temporary(reason: impl Into<String>) -> Self {
        TaskFailure {
            reason: reason.into(),
            retryable: true,
        }
    }

    /// A connector error, retryable when the connector says so.
    pub fn from_connector(during: &str, e: &connectors::Error) -> Self {
        TaskFailure {
            reason: format!("{during}: {e}"),
            retryable: e.is_retryable(),
        }
    }
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutcome {
    /// It did its work.
    Completed,
    /// It failed.
    Failed(TaskFailure),
    /// It started something that answers later (a launch-and-wait custom extension): the
    /// user's processing pauses until [`crate::Runner::resume`] or the deadline.
    Waiting {
        /// When the task fails if no answer came.
        deadline: DateTime<Utc>,
    },
}

/// A user's manager, as a task that needs one reads it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Manager {
    /// The manager's id in the target.
    pub id: String,
    /// The manager.
    pub resource: Resource,
}

/// What a task runs with: the user, the workflow, the task, the target and the host's
/// services.
#[derive(Debug)]
#[non_exhaustive]
pub struct TaskContext<'a> {
    /// The user being processed (as read right before processing).
    pub user: &'a Resource,
    /// The user's id in the target.
    pub user_id: &'a str,
    /// The workflow (the version being run).
    pub workflow: &'a Workflow,
    /// The task.
    pub task: &'a Task,
    /// The target directory.
    pub target: &'a dyn TargetConnector,
    /// The current time.
    pub now: DateTime<Utc>,
    /// The id of this task's processing result (custom extensions call back with it).
    pub task_result_id: &'a str,
    pub(crate) services: &'a Services,
}

impl TaskContext<'_> {
    /// The alias table (Graph names → SCIM paths).
    pub fn aliases(&self) -> &AliasTable {
        &self.services.aliases
    }

    /// The value of a user attribute by Graph name or SCIM path, as text.
    pub fn user_text(&self, name: &str) -> Option<String> {
        read_text(self.user, &self.services.aliases, name)
    }

    /// A task argument (ignoring the case of its name).
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.task.argument(name)
    }

    /// The user's manager, read from the target.
    ///
    /// # Errors
    ///
    /// A failure naming what is missing: no manager on the user, or a manager id that the
    /// target does not hold.
    pub async fn manager(&self) -> Result<Manager, TaskFailure> {
        let Some(id) = self.user_text("manager") else {
            return Err(TaskFailure::permanent(format!(
                "user {} has no manager (attribute {} is empty)",
                self.describe_user(),
                self.services.aliases.resolve("manager")
            )));
        };
        match self
            .target
            .get(&ObjectType::USER, &TargetId::new(&id))
            .await
        {
            Ok(Some(m)) => Ok(Manager {
                id,
                resource: m.resource,
            }),
            Ok(None) => Err(TaskFailure::permanent(format!(
                "the manager {id:?} of user {} does not exist",
                self.describe_user()
            ))),
            Err(e) => Err(TaskFailure::from_connector(
                &format!("reading the manager {id:?}"),
                &e,
            )),
        }
    }

    /// The user as messages name them: display name and id.
    pub fn describe_user(&self) -> String {
        describe(self.user, self.user_id)
    }
}

/// `"Ada Lovelace" (id u1)`, or the id alone.
pub(crate) fn describe(user: &Resource, id: &str) -> String {
    match user
        .get("displayName")
        .and_then(|v| v.as_str())
        .or_else(|| user.get("userName").and_then(|v| v.as_str()))
    {
        Some(name) => format!("{name:?} (id {id})"),
        None => format!("{id:?}"),
    }
}

pub(crate) fn read_text(user: &Resource, aliases: &AliasTable, name: &str) -> Option<String> {
    let path = aliases.path(name).ok()?;
    attributes::read(user, &path).and_then(attributes::text)
}

/// What the runner gives tasks beyond the target: email, templates, extensions, the alias
/// table.
#[derive(Debug, Default)]
pub(crate) struct Services {
    pub(crate) sender: Option<Arc<dyn EmailSender>>,
    pub(crate) templates: Templates,
    pub(crate) aliases: AliasTable,
    pub(crate) extensions: BTreeMap<String, CustomExtension>,
    pub(crate) access_pass_issuer: Option<Arc<dyn AccessPassIssuer>>,
}

/// A task definition's behaviour.
///
/// # Contract
///
/// - `run` acts for one user and says how it went; it does not panic on bad data.
/// - A failure names the object and what was missing (`failureReason` is read by people).
/// - Mark failures [`TaskFailure::retryable`] only when trying again may work.
/// - Idempotent tasks (group add, enable) may run again after a crash; tasks whose definition
///   is [`TaskDefinition::at_most_once`] are not repeated by the runner.
#[async_trait]
pub trait TaskHandler: Send + Sync + Debug + 'static {
    /// What the handler implements.
    fn definition(&self) -> TaskDefinition;

    /// Checks a task's arguments when the runner is built; an error is
    /// `(argument name, message)`.
    ///
    /// # Errors
    ///
    /// The first bad or missing argument.
    fn check(&self, task: &Task, services: &CheckContext<'_>) -> Result<(), (String, String)>;

    /// Runs the task for one user.
    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome;
}

/// What [`TaskHandler::check`] may consult: the custom extensions the host registered.
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckContext<'a> {
    pub(crate) services: &'a Services,
}

impl CheckContext<'_> {
    /// Whether a custom extension with this id is registered.
    pub fn has_extension(&self, id: &str) -> bool {
        self.services
            .extensions
            .contains_key(&id.to_ascii_lowercase())
    }
}

/// Task definitions by id and alias (ignoring ASCII case).
#[derive(Clone, Debug, Default)]
pub struct TaskRegistry {
    handlers: BTreeMap<String, Arc<dyn TaskHandler>>,
}

impl TaskRegistry {
    /// A registry without any task.
    pub fn empty() -> Self {
        TaskRegistry::default()
    }

    /// Every task of Entra's table: the built-in ones, and those Entra runs in its own cloud
    /// as placeholders that fail until the host registers them.
    pub fn builtin() -> Self {
        let mut r = TaskRegistry::empty();
        for h in builtin::handlers() {
            r.register(h);
        }
        r
    }

    /// Adds a handler under its definition's id and aliases, replacing any there.
    pub fn register(&mut self, handler: Arc<dyn TaskHandler>) {
        let def = handler.definition();
        self.handlers
            .insert(def.id.to_ascii_lowercase(), handler.clone());
        for a in def.aliases {
            self.handlers
                .insert(a.to_ascii_lowercase(), handler.clone());
        }
    }

    /// The handler of a definition id or alias.
    pub fn get(&self, definition: &str) -> Option<&Arc<dyn TaskHandler>> {
        self.handlers.get(&definition.trim().to_ascii_lowercase())
    }

    /// The distinct definitions registered, by id.
    pub fn definitions(&self) -> Vec<TaskDefinition> {
        let mut seen = BTreeMap::new();
        for h in self.handlers.values() {
            let d = h.definition();
            seen.insert(d.id.clone(), d);
        }
        seen.into_values().collect()
    }
}

/// Entra's task definition ids, with idflow's names for them.
pub mod definitions {
    /// Send welcome email to new hire.
    pub const WELCOME_EMAIL: &str = "70b29d51-b59a-4773-9280-8841dfd3f2ea";
    /// Send onboarding reminder email (to the manager).
    pub const ONBOARDING_REMINDER_EMAIL: &str = "3c860712-2d37-42a4-928f-5c93935d26a1";
    /// Generate a Temporary Access Pass and send it by email to the manager.
    pub const TAP_EMAIL: &str = "1b555e50-7f65-41d5-b514-5894a026d10d";
    /// Send email to notify the manager of the user's move.
    pub const MOVER_NOTICE_EMAIL: &str = "aab41899-9972-422a-9d97-f626014578b7";
    /// Request a user access package assignment (host-implemented).
    pub const REQUEST_ACCESS_PACKAGE: &str = "c1ec1e76-f374-4375-aaa6-0bb6bd4c60be";
    /// Assign licenses to the user (host-implemented).
    pub const ASSIGN_LICENSES: &str = "683c87a4-2ad4-420b-97d4-220d90afcd24";
    /// Add user to groups.
    pub const ADD_TO_GROUPS: &str = "22085229-5809-45e8-97fd-270d28d66910";
    /// Add user to teams (host-implemented).
    pub const ADD_TO_TEAMS: &str = "e440ed8d-25a1-4618-84ce-091ed5be5594";
    /// Enable user account.
    pub const ENABLE_ACCOUNT: &str = "6fc52c9d-398b-4305-9763-15f42c1676fc";
    /// Run a custom task extension (the tasks table's id).
    pub const CUSTOM_EXTENSION: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";
    /// Run a custom task extension (the id in the task's own section; both are accepted).
    pub const CUSTOM_EXTENSION_ALT: &str = "d79d1fcc-16be-490c-a865-f4533b1639ee";
    /// Disable user account.
    pub const DISABLE_ACCOUNT: &str = "1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950";
    /// Remove user from selected groups.
    pub const REMOVE_FROM_SELECTED_GROUPS: &str = "1953a66c-751c-45e5-8bfe-01462c70da3c";
    /// Remove user from all groups.
    pub const REMOVE_FROM_ALL_GROUPS: &str = "b3a31406-2a15-4c9a-b25b-a658fa5f07fc";
    /// Remove user from selected teams (host-implemented).
    pub const REMOVE_FROM_SELECTED_TEAMS: &str = "06aa7acb-01af-4824-8899-b14e5ed788d6";
    /// Remove user from all teams (host-implemented).
    pub const REMOVE_FROM_ALL_TEAMS: &str = "81f7b200-2816-4b3b-8c5d-dc556f07b024";
    /// Remove an access package assignment (host-implemented).
    pub const REMOVE_ACCESS_PACKAGE: &str = "4a0b64f2-c7ec-46ba-b117-18f262946c50";
    /// Remove all access package assignments (host-implemented).
    pub const REMOVE_ALL_ACCESS_PACKAGES: &str = "42ae2956-193d-4f39-be06-691b8ac4fa1d";
    /// Cancel all pending access package requests (host-implemented).
    pub const CANCEL_ACCESS_PACKAGE_REQUESTS: &str = "498770d9-bab7-4e4c-b73d-5ded82a1d0b3";
    /// Remove selected license assignments (host-implemented).
    pub const REMOVE_SELECTED_LICENSES: &str = "5fc402a8-daaf-4b7b-9203-da868b05fc5f";
    /// Revoke all refresh tokens (host-implemented).
    pub const REVOKE_REFRESH_TOKENS: &str = "509589a4-0466-4471-829e-49c5e502bdee";
    /// Remove all direct license assignments (host-implemented).
    pub const REMOVE_ALL_LICENSES: &str = "8fa97d28-3e52-4985-b3a9-a1126f9b8b4e";
    /// Delete user.
    pub const DELETE_USER: &str = "8d18588d-9ad3-4c0f-99d0-ec215f0e3dff";
    /// Send email to the manager before the user's last day.
    pub const BEFORE_LAST_DAY_EMAIL: &str = "52853a3e-f4e5-4eb8-bb24-1ac09a1da935";
    /// Send email on the user's last day.
    pub const ON_LAST_DAY_EMAIL: &str = "9c0a1eaf-5bda-4392-9d9e-6e155bb57411";
    /// Send email to the manager after the user's last day.
    pub const AFTER_LAST_DAY_EMAIL: &str = "6f22ddd4-b3a5-47a4-a846-0d7c201a49ce";
    /// Send inactivity notification email.
    pub const INACTIVITY_EMAIL: &str = "92f74cb4-f1b6-4ec0-b766-96210f56edc2";
}
