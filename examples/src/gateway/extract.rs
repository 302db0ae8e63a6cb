//! Extractors whose rejections are SCIM errors: path segments and query parameters.

use axum::extract::{FromRequestParts, Path, Query};
use http::request::Parts;
use scim_model::ScimType;
use serde::de::DeserializeOwned;

use super::errors::ApiError;

/// Path parameters; a segment that does not decode is 404.
#[derive(Debug)]
pub(crate) struct Segments<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(Segments(t)),
            Err(e) => Err(ApiError::not_found(format!(
                "{}: {}",
                super::respond::excerpt(parts.uri.path()),
                e.body_text()
            ))),
        }
    }
}

/// The query parameters, in order, decoded (`+` and `%20` are spaces).
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(Params(pairs)),
            Err(e) => Err(ApiError::bad_request(
                ScimType::InvalidValue,
                format!("the query string cannot be read: {}", e.body_text()),
            )),
        }
    }
}

impl Params {
    /// The last value of a parameter, its name matched case-insensitively.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every comma-separated item of every occurrence of a parameter (`attributes`).
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}
