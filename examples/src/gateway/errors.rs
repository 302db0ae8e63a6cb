//! Every failure of the gateway as one type, [`ApiError`], answered as an RFC 7644 §3.12 SCIM
//! Error response; the target's and the SCIM model's errors are mapped onto it here, and only
//! here.

use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use scim_model::ScimType;
use scim_model::message::ScimError;

use super::respond::scim_json;

/// A request that failed: the HTTP status, the RFC 7644 `scimType` (when Table 9 has one for
/// it), a detail for the person who sent the request, and the headers some statuses need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) scim_type: Option<ScimType>,
    pub(crate) detail: String,
    headers: Vec<(http::HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with a status and a detail, without a `scimType`.
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            scim_type: None,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// 400 Bad Request with a `scimType`.
    pub(crate) fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, detail).with_scim_type(scim_type)
    }

    /// 404 Not Found.
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    /// 405 Method Not Allowed, naming the methods that are (`Allow`).
    pub(crate) fn method_not_allowed(method: &http::Method, allow: &'static str) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here; allowed: {allow}"),
        )
        .with_header(ALLOW, HeaderValue::from_static(allow))
    }

    /// 401 Unauthorized with `WWW-Authenticate: Bearer` (RFC 6750 §3).
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, detail).with_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"idflow\""),
        )
    }

    /// 413 Payload Too Large (RFC 7644 §3.7.4), without a `scimType`.
    pub(crate) fn too_large(max: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The size of the request exceeds the maxPayloadSize ({max})."),
        )
    }

    /// Sets the `scimType`.
    pub(crate) fn with_scim_type(mut self, scim_type: ScimType) -> Self {
        self.scim_type = Some(scim_type);
        self
    }

    fn with_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The error as an RFC 7644 Error message.
    pub(crate) fn to_scim(&self) -> ScimError {
        let mut e = ScimError::new(self.status.as_u16(), self.detail.clone());
        e.scim_type = self.scim_type.clone();
        e
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_scim())
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        e.to_scim()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = scim_json(self.status, &self.to_scim().to_value());
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// A SCIM model error (a bad filter, path, PATCH or body): its own status and `scimType`
/// ([`scim_model::Error::status`], [`scim_model::Error::scim_type`]).
impl From<scim_model::Error> for ApiError {
    fn from(e: scim_model::Error) -> Self {
        let scim = ScimError::from(&e);
        ApiError {
            status: StatusCode::from_u16(scim.status).unwrap_or(StatusCode::BAD_REQUEST),
            scim_type: scim.scim_type,
            detail: e.to_string(),
            headers: Vec::new(),
        }
    }
}

/// The target's errors, by kind:
///
/// | connectors error | status | scimType |
/// |---|---|---|
/// | `NotFound` | 404 | |
/// | `Uniqueness`, `KeyExists` | 409 | `uniqueness` |
/// | `VersionConflict` | 412 | |
/// | `InvalidInput` with a SCIM model error | that error's (400, 409, 413) | that error's |
/// | `InvalidInput` without one | 400 | `invalidValue` |
/// | `Permanent` | 400 | |
/// | `Unsupported` | 501 | |
/// | `Temporary`, `LeaseHeld`, temporary `Storage` | 503 (with `Retry-After` when known) | |
/// | `Fatal` | 502 (the gateway's backend refused it) | |
/// | anything else (`Corrupt`, `Storage`, `ResyncRequired`, ...) | 500 | |
impl From<connectors::Error> for ApiError {
    fn from(e: connectors::Error) -> Self {
        use connectors::Error as E;
        let detail = e.to_string();
        match e {
            E::NotFound { .. } => ApiError::not_found(detail),
            E::Uniqueness { .. } | E::KeyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, detail).with_scim_type(ScimType::Uniqueness)
            }
            E::VersionConflict { .. } => ApiError::new(StatusCode::PRECONDITION_FAILED, detail),
            E::InvalidInput {
                source: Some(source),
                ..
            } => {
                let inner = ApiError::from(*source);
                ApiError { detail, ..inner }
            }
            E::InvalidInput { source: None, .. } => {
                ApiError::bad_request(ScimType::InvalidValue, detail)
            }
            E::Permanent { .. } => ApiError::new(StatusCode::BAD_REQUEST, detail),
            E::Unsupported { .. } => ApiError::new(StatusCode::NOT_IMPLEMENTED, detail),
            E::Temporary { retry_after, .. } => {
                let mut out = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, detail);
                if let Some(d) = retry_after
                    && let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string())
                {
                    out = out.with_header(RETRY_AFTER, v);
                }
                out
            }
            E::LeaseHeld { .. }
            | E::Storage {
                temporary: true, ..
            } => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, detail),
            E::Fatal { .. } => ApiError::new(StatusCode::BAD_GATEWAY, detail),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail),
        }
    }
}

/// A refused inbound request: the queue's status (400, 413; 503/500 when it could not store)
/// and its error, which lists every problem.
impl From<connectors::inbound::InboundError> for ApiError {
    fn from(e: connectors::inbound::InboundError) -> Self {
        let scim = e.to_scim_error();
        ApiError {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            scim_type: scim.scim_type,
            detail: scim.detail.unwrap_or_else(|| e.to_string()),
            headers: Vec::new(),
        }
    }
}

/// The engine failed to read its state (the provisioning log): 500, or the connector error's
/// own mapping when there is one.
impl From<sync_engine::Error> for ApiError {
    fn from(e: sync_engine::Error) -> Self {
        match e {
            sync_engine::Error::Connector { during, source } => {
                let inner = ApiError::from(*source);
                let detail = format!("{during}: {}", inner.detail);
                ApiError { detail, ..inner }
            }
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::{ObjectRef, ObjectType};

    #[test]
    fn target_errors_map_by_kind() {
        let obj = || ObjectRef::new(ObjectType::USER, "u1");
        let cases: Vec<(connectors::Error, u16, Option<&str>)> = vec![
            (
                connectors::Error::not_found(ObjectType::USER, "u1"),
                404,
                None,
            ),
            (
                connectors::Error::Uniqueness {
                    object: obj(),
                    existing: None,
                    message: "userName taken".into(),
                },
                409,
                Some("uniqueness"),
            ),
            (
                connectors::Error::VersionConflict {
                    object: obj(),
                    expected: None,
                    actual: None,
                },
                412,
                None,
            ),
            (
                connectors::Error::invalid_input(
                    obj(),
                    scim_model::Error::NoTarget {
                        path: "x".into(),
                        message: "m".into(),
                    },
                ),
                400,
                Some("noTarget"),
            ),
            (
                connectors::Error::InvalidInput {
                    object: obj(),
                    message: "bad".into(),
                    source: None,
                },
                400,
                Some("invalidValue"),
            ),
            (connectors::Error::unsupported("t", "patch"), 501, None),
            (connectors::Error::temporary("t", "busy"), 503, None),
        ];
        for (e, status, scim_type) in cases {
            let text = e.to_string();
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{text}");
            assert_eq!(
                api.scim_type.as_ref().map(ScimType::as_str),
                scim_type,
                "{text}"
            );
            assert_eq!(api.detail, text);
        }
    }

    #[test]
    fn temporary_errors_carry_retry_after() {
        let e = connectors::Error::Temporary {
            connector: "t".into(),
            message: "429".into(),
            retry_after: Some(std::time::Duration::from_secs(7)),
        };
        let r = ApiError::from(e).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[RETRY_AFTER], "7");
    }
}
