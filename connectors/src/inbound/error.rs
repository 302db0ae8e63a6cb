//! Why a request was not accepted: [`InboundError`] and the [`Problem`]s it lists.

use std::fmt;

use scim_model::{ScimError, ScimType};
use serde::{Deserialize, Serialize};

/// One thing wrong with a refused request: where (the operation and the field), what, and
/// the RFC 7644 `scimType` and HTTP status a SCIM endpoint answers it with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Problem {
    /// The index of the operation in `Operations`, when the problem is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<usize>,
    /// The field at fault: an attribute path inside the operation (`bulkId`, `method`,
    /// `path`, `data.externalId`, `data.schemas`, `data.<URN>`), or for the request as a
    /// whole `Content-Type`, `body`, `payload`, `BulkRequest.schemas`, `Operations`.
    pub field: String,
    /// What was wrong, quoting the offending value.
    pub message: String,
    /// The `scimType` (`invalidValue`, `invalidSyntax`, `tooMany`, …).
    pub scim_type: ScimType,
    /// The HTTP status this problem alone calls for (400, or 413 for a request too large).
    pub status: u16,
}

impl Problem {
    /// A problem with the request as a whole.
    pub fn request(
        field: impl Into<String>,
        message: impl Into<String>,
        scim_type: ScimType,
    ) -> Self {
        let status = scim_type.status();
        Problem {
            operation: None,
            field: field.into(),
            message: message.into(),
            scim_type,
            status,
        }
    }

    /// A problem with one operation.
    pub fn operation(
        index: usize,
        field: impl Into<String>,
        message: impl Into<String>,
        scim_type: ScimType,
    ) -> Self {
        Problem {
            operation: Some(index),
            ..Problem::request(field, message, scim_type)
        }
    }
}

impl From<scim_model::Error> for Problem {
    fn from(e: scim_model::Error) -> Self {
        let status = e.status();
        let scim_type = e.scim_type().unwrap_or(ScimType::InvalidSyntax);
        let (operation, field, message) = match e {
            scim_model::Error::BulkOperation {
                index,
                field,
                message,
                ..
            } => (Some(index), field, message),
            scim_model::Error::InvalidSyntax { context, message } => (None, context, message),
            scim_model::Error::TooMany { what, count, max } => (
                None,
                if what == "operations" {
                    "Operations".to_owned()
                } else {
                    what.to_owned()
                },
                format!("{count} {what}, over the limit of {max}"),
            ),
            scim_model::Error::TooLong { what, len, max } => (
                None,
                what.to_owned(),
                format!("{len} bytes, over the limit of {max}"),
            ),
            scim_model::Error::Json { source, .. } => {
                (None, "body".to_owned(), format!("invalid JSON: {source}"))
            }
            other => (None, "body".to_owned(), other.to_string()),
        };
        Problem {
            operation,
            field,
            message,
            scim_type,
            status,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.operation {
            write!(f, "operation {i}: ")?;
        }
        write!(f, "{}: {} ({})", self.field, self.message, self.scim_type)
    }
}

/// Why [`InboundQueue::accept`](super::InboundQueue::accept) did not accept a request.
///
/// Either way nothing of the request was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// The request breaks the inbound rules (content type, JSON, the API-driven inbound
    /// profile); every problem found is listed. A client must fix the request: sending it
    /// again will fail the same way (HTTP 400, or 413 when it is too large).
    #[error("request refused, nothing was stored: {}", list(.problems))]
    Refused {
        /// Every problem found, request-level first, then by operation.
        problems: Vec<Problem>,
    },
    /// The request was fine but could not be stored (the state store failed, or stayed
    /// contended); [`crate::Error::is_retryable`] says whether sending it again later may work
    /// (HTTP 503 if so, else 500).
    #[error("request not stored: {0}")]
    Store(#[from] crate::Error),
}

fn list(problems: &[Problem]) -> String {
    let shown: Vec<String> = problems.iter().take(20).map(ToString::to_string).collect();
    let mut s = format!("{} problem(s): {}", problems.len(), shown.join("; "));
    if problems.len() > shown.len() {
        s.push_str(&format!("; and {} more", problems.len() - shown.len()));
    }
    s
}

impl InboundError {
    /// The problems of a refused request (empty for a storage failure).
    pub fn problems(&self) -> &[Problem] {
        match self {
            InboundError::Refused { problems } => problems,
            InboundError::Store(_) => &[],
        }
    }

    /// The HTTP status to answer with: 413 when the request is too large, 400 for any other
    /// refusal, 503 for a storage failure worth retrying, 500 for another.
    pub fn status(&self) -> u16 {
        match self {
            InboundError::Refused { problems } => {
                if problems.iter().any(|p| p.status == 413) {
                    413
                } else {
                    400
                }
            }
            InboundError::Store(e) if e.is_retryable() => 503,
            InboundError::Store(_) => 500,
        }
    }

    /// The RFC 7644 §3.12 error body to answer with: the status, the `scimType` of the first
    /// problem, and every problem in `detail`.
    pub fn to_scim_error(&self) -> ScimError {
        let error = ScimError::new(self.status(), self.to_string());
        match self.problems().first() {
            Some(p) => error.with_scim_type(p.scim_type.clone()),
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_from_model_errors_keep_index_field_and_type() {
        let p = Problem::from(scim_model::Error::BulkOperation {
            index: 3,
            field: "data.externalId".into(),
            message: "is required".into(),
            scim_type: ScimType::InvalidValue,
        });
        assert_eq!(p.operation, Some(3));
        assert_eq!(
            p.to_string(),
            "operation 3: data.externalId: is required (invalidValue)"
        );
        let too_many = Problem::from(scim_model::Error::TooMany {
            what: "operations",
            count: 51,
            max: 50,
        });
        assert_eq!(too_many.field, "Operations");
        assert_eq!(too_many.status, 413);
        let e = InboundError::Refused {
            problems: vec![p, too_many],
        };
        assert_eq!(e.status(), 413);
        let body = e.to_scim_error();
        assert_eq!(body.status, 413);
        assert_eq!(body.scim_type, Some(ScimType::InvalidValue));
        assert!(body.detail.unwrap().contains("2 problem(s)"));
    }
}
