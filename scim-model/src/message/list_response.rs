//! The RFC 7644 §3.4.2 `ListResponse`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Fields, LIST_RESPONSE_SCHEMA};
use crate::{Error, Resource, Result};

/// A page of query results (RFC 7644 §3.4.2): `totalResults`, `startIndex`, `itemsPerPage` and
/// the `Resources` themselves.
///
/// Generic over the item type: [`Resource`] by default, or a typed view such as
/// [`typed::User`](crate::typed::User), or [`serde_json::Value`].
///
/// Reading matches attribute names case-insensitively (`resources`, `Resources`), treats an
/// absent or `null` `Resources` as an empty list and requires `totalResults`. Writing always
/// writes `Resources`, even when it is empty (Entra's own responses do, and some clients
/// expect it).
///
/// ```
/// use scim_model::message::ListResponse;
/// use scim_model::Resource;
///
/// let page: ListResponse = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
///     "totalResults": 2, "itemsPerPage": 1, "startIndex": 1,
///     "Resources": [{"id": "2819c223", "userName": "bjensen"}]
/// }"#).unwrap();
/// assert_eq!(page.total_results, 2);
/// assert_eq!(page.resources[0].id(), Some("2819c223"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListResponse<T = Resource> {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    pub schemas: Vec<String>,
    /// How many results the query matched in all (not only on this page).
    pub total_results: u64,
    /// The 1-based index of the first result on this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// How many results this page holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// The results.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    /// A list response with all results on one page (`totalResults` = the number of items).
    pub fn new(resources: Vec<T>) -> Self {
        ListResponse {
            schemas: vec![LIST_RESPONSE_SCHEMA.to_owned()],
            total_results: resources.len() as u64,
            start_index: None,
            items_per_page: None,
            resources,
        }
    }

    /// One page of a larger result: `resources` start at the 1-based `start_index` of
    /// `total_results` matches; `itemsPerPage` is the number of items given.
    pub fn page(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        ListResponse {
            schemas: vec![LIST_RESPONSE_SCHEMA.to_owned()],
            total_results,
            start_index: Some(start_index),
            items_per_page: Some(resources.len() as u64),
            resources,
        }
    }
}

impl<T: DeserializeOwned> ListResponse<T> {
    /// Reads a list response from JSON; an item that does not read as `T` is an error naming
    /// its index.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new("ListResponse", value)?;
        let schemas = f.schemas(LIST_RESPONSE_SCHEMA)?;
        let total_results = f
            .unsigned("totalResults")?
            .ok_or_else(|| f.missing("totalResults"))?;
        let start_index = f.unsigned("startIndex")?;
        let items_per_page = f.unsigned("itemsPerPage")?;
        let items = match f.take("Resources") {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(f.error(
                    "Resources",
                    format_args!("expected an array, found {}", super::json_kind(&other)),
                ));
            }
        };
        let mut resources = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let item = T::deserialize(item).map_err(|e| Error::InvalidSyntax {
                context: format!("{}.Resources[{i}]", f.context()),
                message: e.to_string(),
            })?;
            resources.push(item);
        }
        Ok(ListResponse {
            schemas,
            total_results,
            start_index,
            items_per_page,
            resources,
        })
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(<D::Error as serde::de::Error>::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_lowercase_resources_and_writes_canonical_spelling() {
        let page: ListResponse<Value> = serde_json::from_value(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalresults": 1,
            "resources": [{"id": "1"}]
        }))
        .unwrap();
        assert_eq!(page.resources, vec![json!({"id": "1"})]);
        let out = serde_json::to_value(&page).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 1, "Resources": [{"id": "1"}]})
        );
    }

    #[test]
    fn empty_page_without_resources_reads_as_empty_and_writes_resources() {
        let page: ListResponse = serde_json::from_value(json!({"totalResults": 0})).unwrap();
        assert!(page.resources.is_empty());
        assert_eq!(serde_json::to_value(&page).unwrap()["Resources"], json!([]));
    }

    #[test]
    fn errors_name_the_bad_item() {
        let err = ListResponse::<Resource>::from_value(json!({
            "totalResults": 2, "Resources": [{"id": "1"}, {"id": 2}]
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("ListResponse.Resources[1]"), "{err}");
        let err = ListResponse::<Resource>::from_value(json!({"Resources": []}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("totalResults"), "{err}");
    }

    #[test]
    fn page_constructor_fills_paging_fields() {
        let page = ListResponse::page(vec![json!(1), json!(2)], 10, 3);
        assert_eq!(page.items_per_page, Some(2));
        assert_eq!(page.start_index, Some(3));
        assert_eq!(page.total_results, 10);
    }
}
