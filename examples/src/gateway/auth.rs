//! Bearer-token authentication (RFC 6750): with a token configured, every request must carry
//! `Authorization: Bearer <token>`; the comparison takes the same time wherever the tokens
//! differ, and the token is never printed.

use std::fmt;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::AUTHORIZATION;

use super::Shared;
use super::errors::ApiError;

/// A bearer token the gateway requires. Its `Debug` prints `[redacted]`, so it cannot leak
/// into logs through a `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// A token; `None` when it is empty or holds whitespace or control characters (which no
    /// `Authorization` header could carry).
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        let usable =
            !token.is_empty() && !token.chars().any(|c| c.is_whitespace() || c.is_control());
        usable.then_some(BearerToken(token))
    }

    /// Whether `presented` is this token, in time that depends only on `presented`'s length.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(presented.as_bytes(), self.0.as_bytes())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

/// Compares every byte of `presented` (against `expected`, cycled), so the time taken does not
/// tell how many leading bytes were right.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    if expected.is_empty() {
        return false;
    }
    for (i, b) in presented.iter().enumerate() {
        diff |= b ^ expected[i % expected.len()];
    }
    std::hint::black_box(diff) == 0
}

/// The credentials of an `Authorization: Bearer …` header (scheme matched case-insensitively).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// The middleware: 401 with `WWW-Authenticate: Bearer` unless the request carries the token.
pub(crate) async fn require_token(
    State(shared): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let denied = match header {
        None => Some("this service requires an Authorization: Bearer token"),
        Some(h) => match bearer(h) {
            None => Some("the Authorization header must use the Bearer scheme"),
            Some(presented) if token.matches(presented) => None,
            Some(_) => Some("the bearer token is not valid"),
        },
    };
    match denied {
        None => next.run(request).await,
        Some(why) => ApiError::unauthorized(why).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        let t = BearerToken::new("s3cret").unwrap();
        assert!(t.matches("s3cret"));
        for bad in ["", "s3cre", "s3cret1", "S3CRET", "s3cres", "xs3cret"] {
            assert!(!t.matches(bad), "{bad}");
        }
        assert_eq!(format!("{t:?}"), "BearerToken([redacted])");
        assert!(BearerToken::new("").is_none());
        assert!(BearerToken::new("a b").is_none());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer  "), None);
    }
}
