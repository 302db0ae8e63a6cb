//! The resource endpoints: list and search, create, get, replace, patch, delete.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use connectors::{Query, SortOrder, TargetObject};
use http::header::{ETAG, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use scim_model::message::{ListResponse, SearchRequest};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Filter, Resource, ScimType};
use serde_json::Value;

use super::errors::ApiError;
use super::extract::{Params, Segments};
use super::projection::Projection;
use super::respond::{empty, json_text, scim_json};
use super::{Inner, Shared, TypeInfo, etag, ops};

/// A list or search request, read from a query string or a `SearchRequest` body.
#[derive(Debug, Default)]
pub(crate) struct Search {
    filter: Option<Filter>,
    sort_by: Option<AttributePath>,
    descending: bool,
    /// 1-based.
    start_index: usize,
    count: Option<usize>,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Search {
    /// Reads the query parameters of a GET on a collection (RFC 7644 §3.4.2).
    fn from_params(p: &Params, s: &Inner) -> Result<Self, ApiError> {
        let number = |name: &str| -> Result<Option<i64>, ApiError> {
            p.get(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ApiError::bad_request(
                            ScimType::InvalidValue,
                            format!(
                                "{name}: expected a whole number, found {:?}",
                                super::respond::excerpt(v)
                            ),
                        )
                    })
                })
                .transpose()
        };
        let descending = match p.get("sortOrder") {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ApiError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "sortOrder: expected \"ascending\" or \"descending\", found {:?}",
                        super::respond::excerpt(o)
                    ),
                ));
            }
        };
        Ok(Search {
            filter: p
                .get("filter")
                .map(|f| Filter::parse_with(f, &s.model_limits))
                .transpose()?,
            sort_by: p
                .get("sortBy")
                .filter(|v| !v.trim().is_empty())
                .map(|v| AttributePath::parse_with(v.trim(), &s.model_limits))
                .transpose()?,
            descending,
            // RFC 7644 §3.4.2.4: below 1 is 1, negative counts are 0.
            start_index: number("startIndex")?.map_or(1, |i| i.max(1) as usize),
            count: number("count")?.map(|c| c.max(0) as usize),
            attributes: p.list("attributes"),
            excluded: p.list("excludedAttributes"),
        })
    }

    /// Reads a `SearchRequest` body (RFC 7644 §3.4.3).
    fn from_body(text: &str, s: &Inner) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ApiError::from(scim_model::Error::json("SearchRequest", e)))?;
        let q = SearchRequest::from_value(value)?;
        Ok(Search {
            filter: q.filter_with(&s.model_limits)?,
            sort_by: q.sort_by_path()?,
            descending: q.sort_order == Some(scim_model::message::SortOrder::Descending),
            start_index: q
                .start_index
                .map_or(1, |i| usize::try_from(i.max(1)).unwrap_or(usize::MAX)),
            count: q.count.map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
            attributes: q.attributes,
            excluded: q.excluded_attributes,
        })
    }

    /// The page size: `count`, at most `maxResults` (which is also the default).
    fn page_size(&self, s: &Inner) -> usize {
        self.count.unwrap_or(s.max_results).min(s.max_results)
    }

    /// The target query for one page of `count` results from `start` (1-based).
    fn query(&self, s: &Inner, start: usize, count: usize) -> Result<Query, ApiError> {
        let mut q = Query::all().with_count(count);
        q.start_index = start;
        if let Some(f) = &self.filter {
            if !s.caps.filter {
                return Err(ApiError::bad_request(
                    ScimType::InvalidFilter,
                    format!("the target {} does not support filters", s.target.name()),
                ));
            }
            q.filter = Some(f.clone());
        }
        if let Some(path) = &self.sort_by
            && s.caps.sort
        {
            let order = if self.descending {
                SortOrder::Descending
            } else {
                SortOrder::Ascending
            };
            q = q.sorted_by(path.clone(), order);
        }
        Ok(q)
    }
}

/// One page of resources of one type, presented: `(resources, totalResults)`.
async fn list_type(
    s: &Inner,
    ty: &TypeInfo,
    search: &Search,
    start: usize,
    count: usize,
    base_url: &str,
) -> Result<(Vec<Value>, usize), ApiError> {
    let projection = Projection::parse(&search.attributes, &search.excluded, ty)?;
    let query = search.query(s, start, count)?;
    let page = s.target.query(&ty.spec.object_type, &query).await?;
    let resources = page
        .objects
        .into_iter()
        .take(count)
        .map(|o| ops::present(o, ty, base_url, &projection))
        .collect();
    Ok((resources, page.total_results))
}

fn list_response(resources: Vec<Value>, total: usize, start: usize) -> Response {
    let page = ListResponse::page(resources, total as u64, start as u64);
    scim_json(
        StatusCode::OK,
        &serde_json::to_value(&page).unwrap_or(Value::Null),
    )
}

/// `GET /{endpoint}`.
pub(crate) async fn list(
    State(s): State<Shared>,
    Segments(endpoint): Segments<String>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    let search = Search::from_params(&params, &s)?;
    search_type(&s, ty, &search, &headers).await
}

async fn search_type(
    s: &Inner,
    ty: &TypeInfo,
    search: &Search,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let base = s.base_url(headers);
    let count = search.page_size(s);
    let (resources, total) = list_type(s, ty, search, search.start_index, count, &base).await?;
    Ok(list_response(resources, total, search.start_index))
}

/// `POST /.search`: every resource type, one after the other, paged as one list.
pub(crate) async fn search_all(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    let search = Search::from_body(&text, &s)?;
    let base = s.base_url(&headers);
    let mut wanted = search.page_size(&s);
    // The index (0-based) of the first result still to return, in the combined list.
    let mut skip = search.start_index - 1;
    let mut total = 0;
    let mut resources = Vec::new();
    for ty in &s.types {
        // How many this type has, then the part of its list the page covers.
        let (_, n) = list_type(&s, ty, &search, 1, 0, &base).await?;
        total += n;
        if skip >= n {
            skip -= n;
            continue;
        }
        if wanted > 0 {
            let (mut page, _) = list_type(&s, ty, &search, skip + 1, wanted, &base).await?;
            wanted -= page.len().min(wanted);
            resources.append(&mut page);
        }
        skip = 0;
    }
    Ok(list_response(resources, total, search.start_index))
}

/// `POST /{endpoint}`: create.
pub(crate) async fn create(
    State(s): State<Shared>,
    Segments(endpoint): Segments<String>,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    let resource = Resource::from_json_str(&text, &s.model_limits)?;
    let projection = projection(&params, ty)?;
    let created = ops::create(&s, ty, resource).await?;
    let base = s.base_url(&headers);
    let location = ops::location(&base, ty, created.id.as_str());
    let mut response = resource_response(StatusCode::CREATED, created, ty, &base, &projection);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

fn projection(params: &Params, ty: &TypeInfo) -> Result<Projection, ApiError> {
    Projection::parse(
        &params.list("attributes"),
        &params.list("excludedAttributes"),
        ty,
    )
}

/// A single resource with its `ETag`.
fn resource_response(
    status: StatusCode,
    object: TargetObject,
    ty: &TypeInfo,
    base: &str,
    projection: &Projection,
) -> Response {
    let tag = object.version.as_ref().and_then(etag::header);
    let mut response = scim_json(status, &ops::present(object, ty, base, projection));
    if let Some(tag) = tag {
        response.headers_mut().insert(ETAG, tag);
    }
    response
}

/// `GET /{endpoint}/{id}`; `If-None-Match` naming the current version answers 304.
pub(crate) async fn get_one(
    State(s): State<Shared>,
    Segments((endpoint, id)): Segments<(String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    let projection = projection(&params, ty)?;
    let object = ops::get(&s, ty, &id).await?;
    if let (Some(cond), Some(v)) = (etag::if_none_match(&headers), &object.version)
        && cond.matches(v.as_str())
    {
        let mut response = empty(StatusCode::NOT_MODIFIED);
        if let Some(tag) = etag::header(v) {
            response.headers_mut().insert(ETAG, tag);
        }
        return Ok(response);
    }
    let base = s.base_url(&headers);
    Ok(resource_response(
        StatusCode::OK,
        object,
        ty,
        &base,
        &projection,
    ))
}

/// `PUT /{endpoint}/{id}`.
pub(crate) async fn replace(
    State(s): State<Shared>,
    Segments((endpoint, id)): Segments<(String, String)>,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    let resource = Resource::from_json_str(&text, &s.model_limits)?;
    let projection = projection(&params, ty)?;
    let object = ops::replace(&s, ty, &id, resource, etag::if_match(&headers)).await?;
    let base = s.base_url(&headers);
    Ok(resource_response(
        StatusCode::OK,
        object,
        ty,
        &base,
        &projection,
    ))
}

/// `PATCH /{endpoint}/{id}`: 200 with the resource.
pub(crate) async fn patch(
    State(s): State<Shared>,
    Segments((endpoint, id)): Segments<(String, String)>,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    let patch = PatchOp::from_json_str(&text, &s.model_limits)?;
    let projection = projection(&params, ty)?;
    let object = ops::patch(&s, ty, &id, &patch, etag::if_match(&headers)).await?;
    let base = s.base_url(&headers);
    Ok(resource_response(
        StatusCode::OK,
        object,
        ty,
        &base,
        &projection,
    ))
}

/// `DELETE /{endpoint}/{id}`: 204.
pub(crate) async fn delete(
    State(s): State<Shared>,
    Segments((endpoint, id)): Segments<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    ops::delete(&s, ty, &id, etag::if_match(&headers)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /{endpoint}/.search`; a POST to a resource is 405.
pub(crate) async fn post_on_id(
    State(s): State<Shared>,
    Segments((endpoint, id)): Segments<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let ty = s.type_at(&endpoint)?;
    if id != ".search" {
        return Ok(
            ApiError::method_not_allowed(&Method::POST, "GET, PUT, PATCH, DELETE").into_response(),
        );
    }
    let text = json_text(&headers, body, s.limits.max_payload_bytes)?;
    let search = Search::from_body(&text, &s)?;
    search_type(&s, ty, &search, &headers).await
}
