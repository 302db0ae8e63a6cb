//! ETags (RFC 7644 §3.14, RFC 9110 §13): the `ETag` header from an object's version,
//! `If-Match` on writes and `If-None-Match` on reads.

use connectors::Version;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue};

/// An `If-Match` or `If-None-Match` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// `*`: any current version.
    Any,
    /// One or more entity tags, as sent (`W/"3"`, `"abc"`).
    Tags(Vec<String>),
}

impl Condition {
    /// Whether `version` satisfies the condition, compared weakly (`W/"3"` equals `"3"`).
    pub(crate) fn matches(&self, version: &str) -> bool {
        match self {
            Condition::Any => true,
            Condition::Tags(tags) => tags.iter().any(|t| weak_eq(t, version)),
        }
    }
}

/// The `If-Match` condition of a request, if any.
pub(crate) fn if_match(headers: &HeaderMap) -> Option<Condition> {
    condition(headers, &IF_MATCH)
}

/// The `If-None-Match` condition of a request, if any.
pub(crate) fn if_none_match(headers: &HeaderMap) -> Option<Condition> {
    condition(headers, &IF_NONE_MATCH)
}

fn condition(headers: &HeaderMap, name: &http::HeaderName) -> Option<Condition> {
    let mut tags = Vec::new();
    for value in headers.get_all(name) {
        let text = value.to_str().ok()?;
        for tag in split_tags(text) {
            if tag == "*" {
                return Some(Condition::Any);
            }
            tags.push(tag);
        }
    }
    (!tags.is_empty()).then_some(Condition::Tags(tags))
}

/// Splits a list of entity tags on the commas between them (not those inside quotes).
fn split_tags(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => {
                push_tag(&mut out, &current);
                current.clear();
            }
            _ => current.push(c),
        }
    }
    push_tag(&mut out, &current);
    out
}

fn push_tag(out: &mut Vec<String>, tag: &str) {
    let tag = tag.trim();
    if !tag.is_empty() {
        out.push(tag.to_owned());
    }
}

/// The opaque part of an entity tag: without `W/` and the quotes.
fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    let t = t
        .strip_prefix("W/")
        .or_else(|| t.strip_prefix("w/"))
        .unwrap_or(t);
    t.trim_matches('"')
}

/// Weak comparison (RFC 9110 §8.8.3.2): the opaque parts are equal.
pub(crate) fn weak_eq(a: &str, b: &str) -> bool {
    opaque(a) == opaque(b)
}

/// The `ETag` header for a version: kept as it is when it is already an entity tag
/// (`W/"3"`, `"3"`), else made a weak one.
pub(crate) fn header(version: &Version) -> Option<HeaderValue> {
    let v = version.as_str().trim();
    let tagged = v.ends_with('"') && (v.starts_with('"') || v.starts_with("W/\""));
    let text = if tagged {
        v.to_owned()
    } else {
        format!("W/\"{}\"", v.replace('"', ""))
    };
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_weak_comparison() {
        let mut h = HeaderMap::new();
        h.insert(IF_MATCH, HeaderValue::from_static("W/\"3\", \"a,b\""));
        let c = if_match(&h).unwrap();
        assert_eq!(c, Condition::Tags(vec!["W/\"3\"".into(), "\"a,b\"".into()]));
        assert!(c.matches("\"3\""));
        assert!(c.matches("W/\"a,b\""));
        assert!(!c.matches("W/\"4\""));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_none_match(&h), Some(Condition::Any));
        assert_eq!(if_none_match(&HeaderMap::new()), None);
    }

    #[test]
    fn etag_headers() {
        assert_eq!(header(&Version::new("W/\"7\"")).unwrap(), "W/\"7\"");
        assert_eq!(header(&Version::new("\"x\"")).unwrap(), "\"x\"");
        assert_eq!(header(&Version::new("abc")).unwrap(), "W/\"abc\"");
    }
}
