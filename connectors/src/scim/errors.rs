//! How an HTTP answer becomes a classified [`Error`]: status codes, the server's SCIM error
//! (status, `scimType`, `detail`), `Retry-After`, and bodies that are not what was expected.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scim_model::ScimType;
use scim_model::message::ScimError;
use serde_json::Value;

use crate::{Error, ObjectRef, Version};

/// The most characters of a body quoted in an error message.
const PREVIEW_CHARS: usize = 200;

/// What a request was about, for error messages: `PATCH /Users/42`, the object, and the
/// version the caller expected.
#[derive(Clone, Debug)]
pub(super) struct What {
    /// The HTTP method.
    pub(super) method: &'static str,
    /// The path under the base URL, without the query.
    pub(super) path: String,
    /// The object the request was about (for a listing, the object type and the filter).
    pub(super) object: ObjectRef,
    /// The `If-Match` sent, if any.
    pub(super) if_match: Option<Version>,
    /// The operation's name, as [`Error::Unsupported`] names it.
    pub(super) operation: &'static str,
}

impl What {
    /// `PATCH /Users/42`.
    pub(super) fn request(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// An HTTP answer as the connector keeps it: status, the headers it reads, and the body.
#[derive(Clone, Debug, Default)]
pub(super) struct Reply {
    /// The status code.
    pub(super) status: u16,
    /// The `ETag` header.
    pub(super) etag: Option<String>,
    /// The `Retry-After` header, read.
    pub(super) retry_after: Option<Duration>,
    /// The `Content-Type` header.
    pub(super) content_type: Option<String>,
    /// The body.
    pub(super) body: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Replaces every secret in `text` with `[redacted]` (a server may echo what it was sent).
pub(super) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if !s.is_empty() && out.contains(s) {
            out = out.replace(s, "[redacted]");
        }
    }
    out
}

/// The start of a body, as text fit for one line of a log.
pub(super) fn preview(body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty body".to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(PREVIEW_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > PREVIEW_CHARS {
        out.push('…');
    }
    format!("{:?}", out)
}

/// The server's SCIM error in a body, if the body is one.
pub(super) fn scim_error(body: &[u8]) -> Option<ScimError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    ScimError::from_value(value).ok()
}

/// `HTTP 400 (scimType invalidValue): detail`, or `HTTP 502: "<body preview>"`.
fn describe(reply: &Reply, scim: Option<&ScimError>) -> String {
    match scim {
        Some(e) => {
            let mut s = format!("HTTP {}", reply.status);
            if let Some(t) = &e.scim_type {
                s.push_str(&format!(" (scimType {})", t.as_str()));
            }
            if e.status != reply.status {
                s.push_str(&format!(" (error status {})", e.status));
            }
            match &e.detail {
                Some(d) => s.push_str(&format!(": {d}")),
                None => s.push_str(": no detail given"),
            }
            s
        }
        None => format!("HTTP {}: {}", reply.status, preview(&reply.body)),
    }
}

/// Classifies an answer that is not a success (and that the caller did not handle itself,
/// as `get` does a 404).
///
/// - 401, 403 → [`Error::Fatal`] (credentials or permissions: nothing works until fixed);
/// - 404 → [`Error::NotFound`] for a request about one object, else [`Error::Fatal`] (the
///   endpoint does not exist: a wrong base URL or object type);
/// - 409, or 400 with `scimType` `uniqueness` → [`Error::Uniqueness`];
/// - 412 → [`Error::VersionConflict`];
/// - 405, 501 → [`Error::Unsupported`];
/// - 408, 429, 5xx → [`Error::Temporary`] (with `retry_after` from `Retry-After`);
/// - other 4xx (and anything else) → [`Error::Permanent`].
///
/// The message says the request (`PATCH /Users/42`), the status, and the server's `scimType`
/// and `detail` (or the start of a body that is not a SCIM error); secrets are scrubbed.
pub(super) fn classify(
    connector: &str,
    what: &What,
    reply: &Reply,
    one_object: bool,
    secrets: &[&str],
) -> Error {
    let scim = scim_error(&reply.body);
    let message = scrub(
        &format!("{}: {}", what.request(), describe(reply, scim.as_ref())),
        secrets,
    );
    let uniqueness = scim
        .as_ref()
        .and_then(|e| e.scim_type.as_ref())
        .is_some_and(|t| *t == ScimType::Uniqueness);
    match reply.status {
        401 | 403 => Error::Fatal {
            connector: connector.to_owned(),
            message,
        },
        404 if one_object => Error::NotFound {
            object: what.object.clone(),
        },
        404 => Error::Fatal {
            connector: connector.to_owned(),
            message: format!("{message} (is the base URL or the endpoint right?)"),
        },
        409 => Error::Uniqueness {
            object: what.object.clone(),
            existing: None,
            message,
        },
        400 if uniqueness => Error::Uniqueness {
            object: what.object.clone(),
            existing: None,
            message,
        },
        412 => Error::VersionConflict {
            object: what.object.clone(),
            expected: what.if_match.as_ref().map(|v| v.as_str().to_owned()),
            actual: None,
        },
        405 | 501 => Error::Unsupported {
            connector: connector.to_owned(),
            operation: what.operation,
        },
        408 | 429 | 500..=599 => Error::Temporary {
            connector: connector.to_owned(),
            message,
            retry_after: reply.retry_after,
        },
        _ => Error::Permanent {
            connector: connector.to_owned(),
            message,
        },
    }
}

/// An answer whose body is not what the request expects (not JSON, not a resource, no `id`):
/// a permanent error naming the request and what was wrong.
pub(super) fn bad_body(
    connector: &str,
    what: &What,
    reply: &Reply,
    problem: impl std::fmt::Display,
    secrets: &[&str],
) -> Error {
    let ct = reply
        .content_type
        .as_deref()
        .map(|c| format!(", Content-Type {c}"))
        .unwrap_or_default();
    Error::Permanent {
        connector: connector.to_owned(),
        message: scrub(
            &format!(
                "{}: HTTP {}{ct}: unexpected answer: {problem}; the body was {}",
                what.request(),
                reply.status,
                preview(&reply.body)
            ),
            secrets,
        ),
    }
}

/// Reads `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date (its distance
/// from `now`, zero when it is past). Anything else is `None`.
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, ObjectType};
    use chrono::TimeZone;

    fn what() -> What {
        What {
            method: "PATCH",
            path: "/Users/42".into(),
            object: ObjectRef::new(ObjectType::USER, "42"),
            if_match: Some(Version::new("W/\"1\"")),
            operation: "patch",
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            ..Reply::default()
        }
    }

    fn kind(status: u16, body: &str) -> ErrorKind {
        classify("scim", &what(), &reply(status, body), true, &[]).kind()
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(400, "{}"), ErrorKind::Permanent);
        assert_eq!(kind(401, ""), ErrorKind::Fatal);
        assert_eq!(kind(403, ""), ErrorKind::Fatal);
        assert_eq!(kind(404, ""), ErrorKind::NotFound);
        assert_eq!(kind(409, ""), ErrorKind::Uniqueness);
        assert_eq!(kind(412, ""), ErrorKind::VersionConflict);
        assert_eq!(kind(413, ""), ErrorKind::Permanent);
        assert_eq!(kind(405, ""), ErrorKind::Unsupported);
        assert_eq!(kind(408, ""), ErrorKind::Temporary);
        assert_eq!(kind(429, ""), ErrorKind::Temporary);
        assert_eq!(kind(500, ""), ErrorKind::Temporary);
        assert_eq!(kind(502, "<html>bad gateway</html>"), ErrorKind::Temporary);
        assert_eq!(
            kind(
                400,
                r#"{"status": "400", "scimType": "uniqueness", "detail": "taken"}"#
            ),
            ErrorKind::Uniqueness
        );
        let on_listing = classify("scim", &what(), &reply(404, ""), false, &[]);
        assert_eq!(on_listing.kind(), ErrorKind::Fatal);
    }

    #[test]
    fn messages_keep_the_scim_error_and_the_request() {
        let e = classify(
            "scim",
            &what(),
            &reply(
                400,
                r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400", "scimType": "invalidValue", "detail": "title is too long"}"#,
            ),
            true,
            &[],
        );
        assert_eq!(
            e.to_string(),
            "scim: PATCH /Users/42: HTTP 400 (scimType invalidValue): title is too long"
        );
        let e = classify(
            "scim",
            &what(),
            &reply(502, "<h1>Bad\ngateway</h1>"),
            true,
            &[],
        );
        assert_eq!(
            e.to_string(),
            "scim: temporary failure: PATCH /Users/42: HTTP 502: \"<h1>Bad gateway</h1>\""
        );
        let e = classify("scim", &what(), &reply(412, ""), true, &[]);
        assert!(
            matches!(&e, Error::VersionConflict { expected: Some(v), .. } if v == "W/\"1\""),
            "{e:?}"
        );
    }

    #[test]
    fn secrets_echoed_by_a_server_are_scrubbed() {
        let e = classify(
            "scim",
            &what(),
            &reply(400, "you sent Authorization: Bearer tok-XYZ"),
            true,
            &["tok-XYZ"],
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("tok-XYZ"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(1000);
        let p = preview(long.as_bytes());
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 3); // two quotes and the ellipsis
        assert_eq!(preview(b""), "an empty body");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
