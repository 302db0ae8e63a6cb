//! Custom task extensions: the host's code called by the task "Run a custom task extension"
//! (argument `customTaskExtensionID`), as Entra calls a Logic App.
//!
//! - **Launch and continue**: the task completes once [`CustomTaskExtension::launch`]
//!   returned `Ok`.
//! - **Launch and wait**: the task waits; the user's later tasks wait with it until the host
//!   calls [`crate::Runner::resume`] with the task processing result's id (given to the
//!   extension as [`ExtensionCall::task_processing_result_id`], Entra's callback) and
//!   [`OperationStatus::Completed`] or [`OperationStatus::Failed`]. Without an answer before
//!   the timeout (5 minutes to 3 hours, as Entra), the task fails.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::definitions as d;
use super::{CheckContext, TaskContext, TaskDefinition, TaskFailure, TaskHandler, TaskOutcome};
use crate::error::{Error, Result};
use crate::workflow::{Category, Task};

/// The shortest launch-and-wait timeout Entra allows.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The longest launch-and-wait timeout Entra allows for lifecycle workflows.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3 * 60 * 60);

/// How the task waits for the extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionMode {
    /// Complete once launched.
    LaunchAndContinue,
    /// Wait for a callback, failing after `timeout`.
    LaunchAndWait {
        /// How long to wait (5 minutes to 3 hours).
        timeout: Duration,
    },
}

/// The answer a launch-and-wait extension sends back (Entra's `operationStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum OperationStatus {
    /// The extension did its work.
    Completed,
    /// The extension failed.
    Failed,
}

/// What an extension is told: the subject, the task, the workflow, and the id to call back
/// with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExtensionCall {
    /// The extension's id (`customTaskExtensionID`).
    pub extension_id: String,
    /// The id to pass to [`crate::Runner::resume`] (Entra's `callbackUriPath` names it).
    pub task_processing_result_id: String,
    /// The workflow's id.
    pub workflow_id: String,
    /// The workflow's display name.
    pub workflow_name: String,
    /// The task's display name.
    pub task_name: String,
    /// The user, as Entra's payload shows it: `{id, displayName, mail, userPrincipalName}`.
    pub subject: Value,
}

/// The host's code behind a custom task extension.
#[async_trait]
pub trait CustomTaskExtension: Send + Sync + fmt::Debug + 'static {
    /// Starts the extension's work for a user. An error fails the task (retried when
    /// `retryable`).
    async fn launch(&self, call: &ExtensionCall) -> std::result::Result<(), TaskFailure>;
}

/// A registered custom extension: its id, mode and code.
#[derive(Clone, Debug)]
pub struct CustomExtension {
    pub(crate) id: String,
    pub(crate) mode: ExtensionMode,
    pub(crate) handler: Arc<dyn CustomTaskExtension>,
}

impl CustomExtension {
    /// An extension.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTaskArgument`] when a launch-and-wait timeout is outside 5 minutes to
    /// 3 hours.
    pub fn new(
        id: impl Into<String>,
        mode: ExtensionMode,
        handler: Arc<dyn CustomTaskExtension>,
    ) -> Result<Self> {
        let id = id.into();
        if let ExtensionMode::LaunchAndWait { timeout } = mode
            && !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout)
        {
            return Err(Error::InvalidTaskArgument {
                workflow: String::new(),
                task: format!("custom extension {id}"),
                argument: "timeoutDuration".to_owned(),
                message: format!(
                    "{}s is outside 5 minutes (PT5M) to 3 hours (PT3H)",
                    timeout.as_secs()
                ),
            });
        }
        Ok(CustomExtension { id, mode, handler })
    }

    /// The extension's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its mode.
    pub fn mode(&self) -> ExtensionMode {
        self.mode
    }
}

/// The task "Run a custom task extension".
#[derive(Debug)]
pub(crate) struct CustomExtensionTask;

#[async_trait]
impl TaskHandler for CustomExtensionTask {
    fn definition(&self) -> TaskDefinition {
        TaskDefinition::new(
            d::CUSTOM_EXTENSION,
            "Run a custom task extension",
            [Category::Joiner, Category::Leaver, Category::Mover],
        )
        .alias(d::CUSTOM_EXTENSION_ALT)
        .alias("runCustomTaskExtension")
    }

    fn check(
        &self,
        task: &Task,
        ctx: &CheckContext<'_>,
    ) -> std::result::Result<(), (String, String)> {
        match task.argument("customTaskExtensionID") {
            None => Err(("customTaskExtensionID".to_owned(), "is required".to_owned())),
            Some(id) if !ctx.has_extension(id) => Err((
                "customTaskExtensionID".to_owned(),
                format!(
                    "no custom extension {id:?} is registered (RunnerBuilder::custom_extension)"
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        let id = ctx.argument("customTaskExtensionID").unwrap_or("");
        let Some(ext) = ctx.services.extensions.get(&id.to_ascii_lowercase()) else {
            return TaskOutcome::Failed(TaskFailure::permanent(format!(
                "no custom extension {id:?} is registered"
            )));
        };
        let call = ExtensionCall {
            extension_id: ext.id.clone(),
            task_processing_result_id: ctx.task_result_id.to_owned(),
            workflow_id: ctx.workflow.id().to_owned(),
            workflow_name: ctx.workflow.display_name.clone(),
            task_name: ctx.task.display_name.clone(),
            subject: json!({
                "id": ctx.user_id,
                "displayName": ctx.user_text("displayName"),
                "mail": ctx.user_text("mail"),
                "userPrincipalName": ctx.user_text("userPrincipalName"),
            }),
        };
        if let Err(f) = ext.handler.launch(&call).await {
            return TaskOutcome::Failed(f);
        }
        match ext.mode {
            ExtensionMode::LaunchAndContinue => TaskOutcome::Completed,
            ExtensionMode::LaunchAndWait { timeout } => TaskOutcome::Waiting {
                deadline: ctx.now
                    + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::hours(3)),
            },
        }
    }
}
