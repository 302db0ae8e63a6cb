//! The one error type of the seams, classified so the engine can decide without guessing.

use std::time::Duration;

use crate::types::{JobId, ObjectType};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The object an error is about: its type and identifier (a source or target id, a key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectRef {
    /// The object's type.
    pub object_type: ObjectType,
    /// The identifier as the connector knows it.
    pub id: String,
}

impl ObjectRef {
    /// Names an object.
    pub fn new(object_type: ObjectType, id: impl Into<String>) -> Self {
        ObjectRef {
            object_type,
            id: id.into(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.object_type, self.id)
    }
}

/// What the engine should do about an error; see [`Error::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object does not exist (any more).
    NotFound,
    /// A unique value is already taken, or the object already exists: match again.
    Uniqueness,
    /// The object changed since it was read (`If-Match` failed): read again.
    VersionConflict,
    /// The connector cannot do this at all.
    Unsupported,
    /// Worth retrying later, as is (timeouts, throttling, 5xx, a lock held elsewhere).
    Temporary,
    /// Retrying the same request will fail the same way (bad data, 4xx): escrow the object.
    Permanent,
    /// Nothing will work until a person acts (bad credentials, missing permission, wrong
    /// endpoint): quarantine the job at once.
    Fatal,
    /// The stored watermark is no longer valid: the next cycle must be a full one.
    ResyncRequired,
    /// This holder lost its lease on the job: stop writing at once.
    LeaseLost,
}

/// Everything that can go wrong at a seam: in a source, a target, a state store.
///
/// Every variant says what kind of failure it is ([`Error::kind`], [`Error::is_retryable`]) and
/// names the object or input at fault. Implementations map their own errors into these, so the
/// engine never matches on a backend's text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{object} not found")]
    NotFound {
        /// The object looked for.
        object: ObjectRef,
    },
    /// A value that must be unique is already taken (a `userName`, an `externalId`).
    #[error("{object}: {message}")]
    Uniqueness {
        /// The object that could not be written.
        object: ObjectRef,
        /// The id of the object that holds the value, when the target says.
        existing: Option<String>,
        /// What clashed, e.g. `userName "bjensen" is already in use`.
        message: String,
    },
    /// The object's version is not the one expected (`If-Match` failed).
    #[error("{object} changed: expected version {expected:?}, found {actual:?}")]
    VersionConflict {
        /// The object written.
        object: ObjectRef,
        /// The version the writer expected.
        expected: Option<String>,
        /// The version the store holds.
        actual: Option<String>,
    },
    /// The connector does not support the operation (see its capabilities).
    #[error("{connector} does not support {operation}")]
    Unsupported {
        /// The connector's name.
        connector: String,
        /// The operation, e.g. `changes` or `patch`.
        operation: &'static str,
    },
    /// The request was rejected because of what it carried; retrying it will not help.
    #[error("{object}: invalid input: {message}")]
    InvalidInput {
        /// The object the request was about.
        object: ObjectRef,
        /// What was wrong, naming attributes.
        message: String,
        /// The SCIM model error behind it, if any (boxed: it is large, and errors travel in
        /// every `Result`).
        #[source]
        source: Option<Box<scim_model::Error>>,
    },
    /// A failure that is likely to pass: a timeout, throttling, a 5xx, a busy backend.
    #[error("{connector}: temporary failure{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Temporary {
        /// The connector's name.
        connector: String,
        /// What happened.
        message: String,
        /// How long the backend asked to wait, if it did (HTTP `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// A failure that will not pass by retrying the same request.
    #[error("{connector}: {message}")]
    Permanent {
        /// The connector's name.
        connector: String,
        /// What happened.
        message: String,
    },
    /// A failure that stops the whole job until a person acts: bad credentials, no
    /// permission, an endpoint that does not exist.
    #[error("{connector}: fatal: {message}")]
    Fatal {
        /// The connector's name.
        connector: String,
        /// What happened.
        message: String,
    },
    /// The watermark given is no longer valid (expired, from another epoch): import again
    /// in full. Results read before this error must be discarded.
    #[error("{connector}: watermark no longer valid, a full import is required: {message}")]
    ResyncRequired {
        /// The connector's name.
        connector: String,
        /// Why.
        message: String,
    },
    /// Another holder has the job's lease.
    #[error("job {job} is leased to {holder} until {until}")]
    LeaseHeld {
        /// The job.
        job: JobId,
        /// Who holds it.
        holder: String,
        /// When the lease ends unless renewed (RFC 3339).
        until: String,
    },
    /// This holder's lease was taken over (or expired and taken): its commit was refused.
    #[error("job {job}: lease {epoch} is no longer current; the commit was refused")]
    LeaseLost {
        /// The job.
        job: JobId,
        /// The lease epoch the refused commit carried.
        epoch: u64,
    },
    /// A write batch's `insert` found its key already present; nothing was written.
    #[error("{table}: key {key:?} already exists; nothing was written")]
    KeyExists {
        /// The table.
        table: String,
        /// The key, as text (lossy for binary keys).
        key: String,
    },
    /// A stored record could not be read back (corruption, or a newer format).
    #[error("state store: cannot decode {table} record {key:?}: {message}")]
    Corrupt {
        /// The table.
        table: String,
        /// The key, as text (lossy for binary keys).
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The storage backend failed (I/O, the database).
    #[error("{backend}: {message}")]
    Storage {
        /// The backend's name, e.g. `redb`.
        backend: &'static str,
        /// What happened.
        message: String,
        /// Whether retrying may work.
        temporary: bool,
    },
}

impl Error {
    /// What kind of failure this is, and so what the engine does about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Uniqueness { .. } | Error::KeyExists { .. } => ErrorKind::Uniqueness,
            Error::VersionConflict { .. } => ErrorKind::VersionConflict,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::InvalidInput { .. } | Error::Permanent { .. } | Error::Corrupt { .. } => {
                ErrorKind::Permanent
            }
            Error::Temporary { .. } | Error::LeaseHeld { .. } => ErrorKind::Temporary,
            Error::Storage { temporary, .. } => {
                if *temporary {
                    ErrorKind::Temporary
                } else {
                    ErrorKind::Permanent
                }
            }
            Error::Fatal { .. } => ErrorKind::Fatal,
            Error::ResyncRequired { .. } => ErrorKind::ResyncRequired,
            Error::LeaseLost { .. } => ErrorKind::LeaseLost,
        }
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Temporary
    }

    /// How long the backend asked to wait before a retry, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Temporary { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A temporary failure of `connector`.
    pub fn temporary(connector: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Temporary {
            connector: connector.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A permanent failure of `connector`.
    pub fn permanent(connector: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Permanent {
            connector: connector.into(),
            message: message.into(),
        }
    }

    /// `connector` does not support `operation`.
    pub fn unsupported(connector: impl Into<String>, operation: &'static str) -> Self {
        Error::Unsupported {
            connector: connector.into(),
            operation,
        }
    }

    /// The object was not found.
    pub fn not_found(object_type: ObjectType, id: impl Into<String>) -> Self {
        Error::NotFound {
            object: ObjectRef::new(object_type, id),
        }
    }

    /// A request about `object` carried bad data.
    pub fn invalid_input(object: ObjectRef, source: scim_model::Error) -> Self {
        Error::InvalidInput {
            object,
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_drives_retries() {
        let t = Error::Temporary {
            connector: "scim".into(),
            message: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(t.is_retryable());
        assert_eq!(t.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(
            t.to_string(),
            "scim: temporary failure (retry after 30s): HTTP 429"
        );
        let p = Error::permanent("scim", "HTTP 400 invalidValue");
        assert!(!p.is_retryable());
        assert_eq!(p.kind(), ErrorKind::Permanent);
        let f = Error::Fatal {
            connector: "scim".into(),
            message: "HTTP 401".into(),
        };
        assert_eq!(f.kind(), ErrorKind::Fatal);
        let n = Error::not_found(ObjectType::USER, "42");
        assert_eq!(n.to_string(), "User \"42\" not found");
    }
}
