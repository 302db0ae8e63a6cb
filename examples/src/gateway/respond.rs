//! Building responses and reading request bodies: `application/scim+json` out, JSON in.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use scim_model::ScimType;
use serde_json::Value;

use super::errors::ApiError;

/// The media type of every SCIM response (RFC 7644 §3.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A response with a JSON body typed `application/scim+json`.
pub(crate) fn scim_json(status: StatusCode, value: &Value) -> Response {
    // Serialising a `Value` cannot fail; an empty body would be the only outcome if it did.
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A response without a body (204, 304).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The body of a request as JSON text: the `Content-Type`, when given, must be
/// `application/scim+json` or `application/json` (415 otherwise), with a UTF-8 charset if any;
/// a body over the size limit is 413, an empty one or one that is not UTF-8 400 `invalidSyntax`.
pub(crate) fn json_text(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    max: usize,
) -> Result<String, ApiError> {
    check_content_type(headers)?;
    let bytes = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::too_large(max));
        }
        Err(rejection) => {
            return Err(ApiError::bad_request(
                ScimType::InvalidSyntax,
                format!(
                    "the request body could not be read: {}",
                    rejection.body_text()
                ),
            ));
        }
    };
    if bytes.len() > max {
        return Err(ApiError::too_large(max));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            ScimType::InvalidSyntax,
            "the request has no body; a JSON document is required",
        ));
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::bad_request(
            ScimType::InvalidSyntax,
            format!("the request body is not UTF-8 text: {e}"),
        )
    })
}

/// Accepts a missing `Content-Type`, `application/scim+json` and `application/json` (in any
/// case, with parameters; a `charset` must be UTF-8). Anything else is 415.
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let unsupported = |what: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {what} is not supported; send {SCIM_JSON} or application/json"),
        )
    };
    let text = value.to_str().map_err(|_| unsupported("(not text)"))?;
    let mut parts = text.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !(media.eq_ignore_ascii_case(SCIM_JSON) || media.eq_ignore_ascii_case("application/json")) {
        return Err(unsupported(&format!("{:?}", excerpt(media))));
    }
    for p in parts {
        if let Some((name, v)) = p.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let charset = v.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(unsupported(&format!(
                    "with charset {:?} (JSON is UTF-8)",
                    excerpt(charset)
                )));
            }
        }
    }
    Ok(())
}

/// At most 100 characters of an input, for error details.
pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_type(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(t).unwrap());
        h
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(&HeaderMap::new()).is_ok());
        for ok in [
            "application/scim+json",
            "Application/JSON; charset=utf-8",
            "application/scim+json;charset=\"UTF-8\"",
        ] {
            assert!(check_content_type(&with_type(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/xml",
            "application/json; charset=latin1",
        ] {
            let e = check_content_type(&with_type(bad)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{bad}");
        }
    }

    #[test]
    fn bodies() {
        let h = HeaderMap::new();
        assert_eq!(
            json_text(&h, Ok(Bytes::from_static(b"{}")), 10).unwrap(),
            "{}"
        );
        let e = json_text(&h, Ok(Bytes::from_static(b"  ")), 10).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = json_text(&h, Ok(Bytes::from_static(b"[1,2,3,4,5,6]")), 10).unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = json_text(&h, Ok(Bytes::from_static(b"\xff\xfe")), 10).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert_eq!(excerpt(&"é".repeat(150)).chars().count(), 101);
    }
}
