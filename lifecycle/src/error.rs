//! The lifecycle crate's one error type.

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why workflows could not be loaded, or a run could not happen.
///
/// What goes wrong for one user — a malformed date, a task that fails, a missing manager — is
/// not an `Error`: it is a result, reported in the run ([`crate::RunReport::errors`], a task's
/// `failureReason`) and kept in the history. An `Error` means the whole call stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A workflow file or value is not JSON of the expected shape.
    #[error("invalid {what} JSON: {message}")]
    Json {
        /// What was being read (`workflow`, `workflows`, …).
        what: &'static str,
        /// serde's message, with line and column.
        message: String,
    },
    /// A workflow is not valid: names the workflow and what is wrong with it.
    #[error("workflow {workflow:?}: {message}")]
    InvalidWorkflow {
        /// The workflow's id or display name.
        workflow: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// More workflows than the limit ([`crate::Limits::max_workflows`], Entra's 100 by default).
    #[error("{count} workflows exceed the limit of {max} workflows")]
    TooManyWorkflows {
        /// How many there would be.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A workflow with more tasks than the limit ([`crate::Limits::max_tasks`], Entra's 25).
    #[error("workflow {workflow:?} has {count} tasks, more than the limit of {max} tasks")]
    TooManyTasks {
        /// The workflow.
        workflow: String,
        /// How many tasks it has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two workflows have the same id.
    #[error("two workflows have the id {id:?}")]
    DuplicateWorkflow {
        /// The id.
        id: String,
    },
    /// No workflow has this id.
    #[error("no workflow has the id {id:?}")]
    UnknownWorkflow {
        /// The id asked for.
        id: String,
    },
    /// An execution scope rule (Entra's rule syntax) could not be read.
    #[error("workflow {workflow:?}: scope rule {rule:?}: {message}")]
    InvalidRule {
        /// The workflow.
        workflow: String,
        /// The rule as written.
        rule: String,
        /// What is wrong, with the position.
        message: String,
    },
    /// A task names a task definition that no registered task provides.
    #[error(
        "workflow {workflow:?}: task {task:?}: unknown taskDefinitionId {definition:?} (register it with TaskRegistry::register)"
    )]
    UnknownTask {
        /// The workflow.
        workflow: String,
        /// The task's display name.
        task: String,
        /// The task definition asked for.
        definition: String,
    },
    /// A task's arguments are not valid for its definition.
    #[error("workflow {workflow:?}: task {task:?}: argument {argument:?}: {message}")]
    InvalidTaskArgument {
        /// The workflow.
        workflow: String,
        /// The task's display name.
        task: String,
        /// The argument's name.
        argument: String,
        /// What is wrong.
        message: String,
    },
    /// An on-demand run asked for something Entra does not allow (too many users, a disabled
    /// workflow).
    #[error("on-demand run of {workflow:?}: {message}")]
    OnDemand {
        /// The workflow.
        workflow: String,
        /// What is wrong.
        message: String,
    },
    /// A callback named a task processing result that does not wait for one.
    #[error("task processing result {id:?}: {message}")]
    Callback {
        /// The task processing result's id.
        id: String,
        /// What is wrong (unknown, not waiting any more).
        message: String,
    },
    /// The target directory or the state store failed in a way that stops the call.
    #[error("{during}: {source}")]
    Connector {
        /// What the runner was doing.
        during: String,
        /// The connector's error.
        #[source]
        source: Box<connectors::Error>,
    },
    /// The history could not be written as CSV.
    #[error("CSV export: {0}")]
    Csv(String),
}

impl Error {
    pub(crate) fn connector(during: impl Into<String>, source: connectors::Error) -> Self {
        Error::Connector {
            during: during.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn invalid(workflow: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidWorkflow {
            workflow: workflow.into(),
            message: message.into(),
        }
    }
}
