//! Query strings of `find` and `query`: the filter of a `find` (in RFC 7644's grammar, with
//! strings escaped), and `filter`, `sortBy`, `sortOrder`, `startIndex`, `count`, `cursor`.

use scim_model::{AttributePath, CompValue, CompareOp, Filter};
use serde_json::Value;

use super::http::encode;
use crate::{PageToken, Query, SortOrder};

/// The filter of `find(path, value)`: `path eq value`.
///
/// A path with a value filter and a sub-attribute (`emails[type eq "work"].value`), which
/// RFC 7644's filter grammar lacks, becomes the value path it means
/// (`emails[type eq "work" and value eq "x"]`); a `null` value becomes `not (path pr)`.
///
/// # Errors
///
/// A value that is an array or an object, or a value-filtered path without a sub-attribute:
/// what was wrong, as text.
pub(super) fn find_filter(path: &AttributePath, value: &Value) -> Result<Filter, String> {
    let comp = match value {
        Value::Null => return Ok(Filter::Present(path.clone()).negate()),
        Value::Bool(b) => CompValue::Bool(*b),
        Value::Number(n) => CompValue::Number(n.clone()),
        Value::String(s) => CompValue::String(s.clone()),
        Value::Array(_) | Value::Object(_) => {
            return Err(format!(
                "find compares {path} with one string, number or boolean, not {value}"
            ));
        }
    };
    match (path.filter(), path.sub_attribute()) {
        (Some(inner), Some(sub)) => {
            let mut outer = AttributePath::new(path.name());
            if let Some(urn) = path.urn() {
                outer = outer.with_urn(urn);
            }
            let element = Filter::Compare {
                path: AttributePath::new(sub),
                op: CompareOp::Eq,
                value: comp,
            };
            Ok(Filter::ValuePath {
                path: outer,
                filter: Box::new(inner.clone().and(element)),
            })
        }
        (Some(_), None) => Err(format!(
            "find by {path}: a value-filtered path needs a sub-attribute to compare"
        )),
        (None, _) => Ok(Filter::Compare {
            path: path.clone(),
            op: CompareOp::Eq,
            value: comp,
        }),
    }
}

/// An encoded query string from name-value pairs.
pub(super) fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The parameters of a listing (RFC 7644 §3.4.2): `filter`, `sortBy`, `sortOrder`,
/// `startIndex`, `count`, and `cursor` (RFC 9865) when the server pages by cursor.
pub(super) fn listing_params(
    query: &Query,
    count: usize,
    cursor_paging: bool,
) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(f) = &query.filter {
        pairs.push(("filter", f.to_string()));
    }
    if let Some(s) = &query.sort_by {
        pairs.push(("sortBy", s.to_string()));
        let order = match query.sort_order {
            SortOrder::Descending => "descending",
            _ => "ascending",
        };
        pairs.push(("sortOrder", order.to_owned()));
    }
    match (&query.cursor, cursor_paging) {
        (Some(c), _) => pairs.push(("cursor", c.as_str().to_owned())),
        // The first page of a cursor listing: an empty cursor asks for cursor paging.
        (None, true) if query.start_index <= 1 => pairs.push(("cursor", String::new())),
        _ => pairs.push(("startIndex", query.start_index.max(1).to_string())),
    }
    pairs.push(("count", count.to_string()));
    pairs
}

/// The `nextCursor` of a listing's JSON (RFC 9865), if any.
pub(super) fn next_cursor(listing: &Value) -> Option<PageToken> {
    let map = listing.as_object()?;
    scim_model::get_ci(map, "nextCursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(PageToken::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> AttributePath {
        AttributePath::parse(p).unwrap()
    }

    #[test]
    fn find_filters_escape_strings_and_take_literals() {
        let f = find_filter(&path("userName"), &json!(r#"a "quoted" \ name"#)).unwrap();
        assert_eq!(f.to_string(), r#"userName eq "a \"quoted\" \\ name""#);
        // The printed filter parses back to the same value.
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        let f = find_filter(&path("active"), &json!(true)).unwrap();
        assert_eq!(f.to_string(), "active eq true");
        let f = find_filter(&path("employeeNumber"), &json!(42)).unwrap();
        assert_eq!(f.to_string(), "employeeNumber eq 42");
        let f = find_filter(&path("title"), &Value::Null).unwrap();
        assert_eq!(f.to_string(), "not (title pr)");
        assert!(find_filter(&path("emails"), &json!(["a"])).is_err());
    }

    #[test]
    fn value_filtered_paths_become_value_paths() {
        let f = find_filter(&path(r#"emails[type eq "work"].value"#), &json!("a@b.c")).unwrap();
        assert_eq!(
            f.to_string(),
            r#"emails[type eq "work" and value eq "a@b.c"]"#
        );
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let f = find_filter(&path(&format!(r#"{urn}:manager.value"#)), &json!("m1")).unwrap();
        assert_eq!(f.to_string(), format!(r#"{urn}:manager.value eq "m1""#));
        assert!(find_filter(&path(r#"emails[type eq "work"]"#), &json!("x")).is_err());
    }

    #[test]
    fn listing_parameters() {
        let q = Query::filtered(Filter::parse(r#"userName sw "a b""#).unwrap())
            .sorted_by(AttributePath::new("userName"), SortOrder::Descending);
        let mut q = q.with_count(5);
        q.start_index = 3;
        let s = query_string(&listing_params(&q, 5, false));
        assert_eq!(
            s,
            "filter=userName%20sw%20%22a%20b%22&sortBy=userName&sortOrder=descending&startIndex=3&count=5"
        );
        let s = query_string(&listing_params(&Query::all(), 10, true));
        assert_eq!(s, "cursor=&count=10");
        let s = query_string(&listing_params(
            &Query::all().with_cursor(PageToken::new("abc/=")),
            10,
            true,
        ));
        assert_eq!(s, "cursor=abc%2F%3D&count=10");
        let s = query_string(&listing_params(&Query::default(), 10, false));
        assert_eq!(s, "startIndex=1&count=10");
    }

    #[test]
    fn next_cursor_is_read_when_present() {
        assert_eq!(
            next_cursor(&json!({"nextCursor": "VZUT"})),
            Some(PageToken::new("VZUT"))
        );
        assert_eq!(next_cursor(&json!({"nextCursor": ""})), None);
        assert_eq!(next_cursor(&json!({"totalResults": 1})), None);
    }
}
