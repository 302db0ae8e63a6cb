//! The engine's one error type.

use connectors::ObjectType;

/// Why a job could not be loaded or a cycle could not run.
///
/// Failures of single objects are not errors: they are results, written to the provisioning
/// log and escrowed. An `Error` means the cycle as a whole stopped (its committed work stays
/// committed; the watermark never passes work that was not done).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job configuration is not valid: names the object mapping and what is wrong.
    #[error("invalid job: {what}: {message}")]
    InvalidJob {
        /// Where in the job (e.g. `objectMappings[0].scope`).
        what: String,
        /// What is wrong.
        message: String,
    },
    /// The job's JSON could not be read.
    #[error("invalid job JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The source, the target or the state store failed in a way that stops the cycle
    /// (a fatal connector error, a lost lease, a storage failure).
    #[error("{during}: {source}")]
    Connector {
        /// What the engine was doing.
        during: String,
        /// The connector's error.
        #[source]
        source: Box<connectors::Error>,
    },
    /// The host's [`Checkpoint`](crate::Checkpoint) failed: the batch's state was not
    /// committed, so it is processed again next time.
    #[error("the target could not be made durable before the state commit: {message}")]
    Checkpoint {
        /// The checkpoint's error.
        message: String,
    },
    /// `provision_on_demand` was asked for an object the source does not have.
    #[error("{object_type} {id} does not exist in the source")]
    NoSuchObject {
        /// The object type.
        object_type: ObjectType,
        /// The source id.
        id: String,
    },
    /// The job has no object mapping for this source object type.
    #[error("the job has no object mapping for source object type {0}")]
    UnknownObjectType(ObjectType),
}

impl Error {
    /// The connector error behind this one, if any (to decide, e.g., whether to retry).
    pub fn connector_error(&self) -> Option<&connectors::Error> {
        match self {
            Error::Connector { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn connector(during: impl Into<String>, source: connectors::Error) -> Self {
        Error::Connector {
            during: during.into(),
            source: Box::new(source),
        }
    }
}

/// A result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
