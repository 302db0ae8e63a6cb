//! The RFC 7644 §3.4.3 `SearchRequest` (a query sent with POST to `.search`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Fields, SEARCH_REQUEST_SCHEMA, deserialize_via_from_value};
use crate::{AttributePath, Error, Filter, Limits, Result};

/// The order of sorted results (RFC 7644 §3.4.2.3 `sortOrder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// The wire spelling: `ascending` or `descending`.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SortOrder {
    type Err = Error;

    /// Reads `ascending` or `descending`, in any case.
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("ascending") {
            Ok(SortOrder::Ascending)
        } else if s.eq_ignore_ascii_case("descending") {
            Ok(SortOrder::Descending)
        } else {
            Err(Error::InvalidValue {
                path: "sortOrder".to_owned(),
                message: format!("expected \"ascending\" or \"descending\", found {s:?}"),
            })
        }
    }
}

impl Serialize for SortOrder {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SortOrder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(<D::Error as serde::de::Error>::custom)
    }
}

/// A query in a request body (RFC 7644 §3.4.3): which attributes to return, the filter, the
/// sort and the page.
///
/// The filter and `sortBy` are kept as the text the client sent, so the request round-trips;
/// [`SearchRequest::filter`] and [`SearchRequest::sort_by_path`] parse them (with limits), and
/// a server answers a parse error with 400 `invalidFilter` / `invalidPath`.
///
/// Reading follows RFC 7644 §3.4.2.4: a `startIndex` below 1 is read as 1 and a negative
/// `count` as 0. `attributes` and `excludedAttributes` are lists of strings; a single string is
/// read as a comma-separated list, as in the query-string form.
///
/// ```
/// use scim_model::message::SearchRequest;
///
/// let q: SearchRequest = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
///     "attributes": ["displayName", "userName"],
///     "filter": "displayName sw \"smith\"", "startIndex": 1, "count": 10
/// }"#).unwrap();
/// assert_eq!(q.count, Some(10));
/// assert!(q.filter().unwrap().is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`.
    pub schemas: Vec<String>,
    /// Attributes to return (besides those always returned), as attribute paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Attributes not to return, as attribute paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_attributes: Vec<String>,
    /// The filter, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The attribute path to sort by, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// The sort order (ascending when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    /// The 1-based index of the first result to return.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// The most results to return on one page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl SearchRequest {
    /// An empty search request (every resource, default attributes, server's page size).
    pub fn new() -> Self {
        SearchRequest {
            schemas: vec![SEARCH_REQUEST_SCHEMA.to_owned()],
            ..SearchRequest::default()
        }
    }

    /// Sets the filter text.
    pub fn with_filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets the page: the 1-based start index and the page size.
    pub fn with_page(mut self, start_index: u64, count: u64) -> Self {
        self.start_index = Some(start_index.max(1));
        self.count = Some(count);
        self
    }

    /// Reads a search request from JSON.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new("SearchRequest", value)?;
        let schemas = f.schemas(SEARCH_REQUEST_SCHEMA)?;
        let attributes = attribute_list(&mut f, "attributes")?;
        let excluded_attributes = attribute_list(&mut f, "excludedAttributes")?;
        let filter = f.string("filter")?;
        let sort_by = f.string("sortBy")?;
        let sort_order = match f.string("sortOrder")? {
            None => None,
            Some(s) => Some(
                s.parse::<SortOrder>()
                    .map_err(|e| f.error("sortOrder", e))?,
            ),
        };
        // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1" and "A negative
        // value SHALL be interpreted as 0".
        let start_index = f.integer("startIndex")?.map(|i| i.max(1) as u64);
        let count = f.integer("count")?.map(|i| i.max(0) as u64);
        Ok(SearchRequest {
            schemas,
            attributes,
            excluded_attributes,
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
        })
    }

    /// The parsed filter (default [`Limits`]), or `None` when the request has none.
    pub fn filter(&self) -> Result<Option<Filter>> {
        self.filter_with(&Limits::DEFAULT)
    }

    /// The parsed filter, with the given limits.
    pub fn filter_with(&self, limits: &Limits) -> Result<Option<Filter>> {
        self.filter
            .as_deref()
            .map(|text| Filter::parse_with(text, limits))
            .transpose()
    }

    /// The parsed `sortBy` path, or `None` when the request has none.
    pub fn sort_by_path(&self) -> Result<Option<AttributePath>> {
        self.sort_by
            .as_deref()
            .map(AttributePath::parse)
            .transpose()
    }

    /// The parsed `attributes` paths.
    pub fn attribute_paths(&self) -> Result<Vec<AttributePath>> {
        self.attributes
            .iter()
            .map(|a| AttributePath::parse(a))
            .collect()
    }

    /// The parsed `excludedAttributes` paths.
    pub fn excluded_attribute_paths(&self) -> Result<Vec<AttributePath>> {
        self.excluded_attributes
            .iter()
            .map(|a| AttributePath::parse(a))
            .collect()
    }
}

deserialize_via_from_value!(SearchRequest);

/// `attributes` / `excludedAttributes`: a list of strings, or one comma-separated string.
fn attribute_list(f: &mut Fields, name: &str) -> Result<Vec<String>> {
    match f.take(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(other) => {
            let mut one = Fields::new(f.context(), serde_json::json!({ name: other }))?;
            Ok(one.strings(name)?.unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_field_and_round_trips() {
        let v = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["userName"],
            "excludedAttributes": ["emails"],
            "filter": "userName eq \"bjensen\"",
            "sortBy": "name.familyName",
            "sortOrder": "descending",
            "startIndex": 11,
            "count": 10
        });
        let q = SearchRequest::from_value(v.clone()).unwrap();
        assert_eq!(q.sort_order, Some(SortOrder::Descending));
        assert_eq!(
            q.sort_by_path().unwrap().unwrap().sub_attribute(),
            Some("familyName")
        );
        assert_eq!(serde_json::to_value(&q).unwrap(), v);
    }

    #[test]
    fn out_of_range_paging_is_interpreted_as_the_rfc_says() {
        let q = SearchRequest::from_value(json!({"startIndex": 0, "count": -5})).unwrap();
        assert_eq!((q.start_index, q.count), (Some(1), Some(0)));
    }

    #[test]
    fn sort_order_is_case_insensitive_and_checked() {
        let q = SearchRequest::from_value(json!({"sortOrder": "ASCENDING"})).unwrap();
        assert_eq!(q.sort_order, Some(SortOrder::Ascending));
        let err = SearchRequest::from_value(json!({"sortOrder": "up"})).unwrap_err();
        assert!(err.to_string().contains("SearchRequest.sortOrder"), "{err}");
    }

    #[test]
    fn comma_separated_attributes_are_split() {
        let q = SearchRequest::from_value(json!({"attributes": "userName, emails"})).unwrap();
        assert_eq!(q.attributes, vec!["userName", "emails"]);
        let err = SearchRequest::from_value(json!({"attributes": [1]})).unwrap_err();
        assert!(err.to_string().contains("attributes[0]"), "{err}");
    }

    #[test]
    fn filter_is_parsed_on_demand_with_limits() {
        let q = SearchRequest::new().with_filter("userName eq \"x\"");
        assert!(q.filter().unwrap().is_some());
        let tight = Limits::DEFAULT.with_max_filter_len(4);
        assert!(q.filter_with(&tight).is_err());
        let bad = SearchRequest::new().with_filter("userName eq");
        assert!(bad.filter().is_err());
        assert_eq!(SearchRequest::new().filter().unwrap(), None);
    }
}
