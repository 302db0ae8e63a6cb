//! [`ScimTarget`]: the [`TargetConnector`] methods as SCIM requests.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Filter, ListResponse, Resource, SchemaRegistry};
use serde_json::Value;

use super::config::ScimTargetConfig;
use super::discovery::{Discovery, listed};
use super::errors::{Reply, What, bad_body, classify, scrub};
use super::http::{Http, Request, encode};
use super::query::{find_filter, listing_params, next_cursor, query_string};
use super::wire::wire_patch;
use crate::{
    CreateKey, Error, ObjectRef, ObjectType, Query, QueryPage, Result, TargetCapabilities,
    TargetConnector, TargetId, TargetObject, Version,
};

/// How many times the PUT emulation of PATCH reads and writes again when another writer
/// changed the object in between (only without a caller's `If-Match`).
const EMULATION_ATTEMPTS: usize = 3;

/// A [`TargetConnector`] that provisions a SCIM 2.0 service over HTTP(S).
///
/// Made with [`ScimTarget::connect`], which reads the server's discovery endpoints; see the
/// [module documentation](super) for the mapping of each method to HTTP and of each answer to
/// an [`Error`]. Needs a tokio runtime. `Debug` shows the base URL, the capabilities and the
/// discovery notes — never a credential.
pub struct ScimTarget {
    name: String,
    config: ScimTargetConfig,
    http: Http,
    discovery: Discovery,
    registry: SchemaRegistry,
    /// Endpoint by object type name.
    endpoints: BTreeMap<String, String>,
    /// Whether PATCH is sent to the server; false when it does not support PATCH (said so, or
    /// answered 405/501), and PATCH is emulated with GET and PUT.
    native_patch: AtomicBool,
    /// Whether a GET by id may carry `attributes`; false once the server refused it with 400.
    attributes_param: AtomicBool,
    /// Notes made after discovery (PATCH found unsupported).
    late_notes: Mutex<Vec<String>>,
}

impl fmt::Debug for ScimTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimTarget")
            .field("name", &self.name)
            .field("auth", &self.config.auth)
            .field("endpoints", &self.endpoints)
            .field("capabilities", &self.capabilities())
            .field("native_patch", &self.native_patch.load(Ordering::Relaxed))
            .field("notes", &self.notes())
            .finish_non_exhaustive()
    }
}

impl ScimTarget {
    /// Connects to the SCIM service of `config`: checks the configuration, builds the HTTP
    /// client, and reads `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`.
    ///
    /// A server that lacks a discovery endpoint (404, 405, 501) or answers it with something
    /// unreadable is still used, with defaults: `User` at `/Users`, `Group` at `/Groups`,
    /// PATCH and filters assumed, no sorting or ETags; [`ScimTarget::notes`] says which.
    ///
    /// # Errors
    ///
    /// [`Error::Fatal`] for a bad configuration (a base URL that is not `https` or loopback
    /// `http`, a zero page size...) or credentials refused (401, 403) during discovery;
    /// [`Error::Temporary`] when the server cannot be reached or answers 5xx.
    pub async fn connect(config: ScimTargetConfig) -> Result<ScimTarget> {
        let http = Http::new(&config)?;
        let name = http.name().to_owned();
        let mut discovery = Discovery::default();
        let mut registry = SchemaRegistry::default();

        let mut notes = Vec::new();
        match discover(&http, &name, "/ServiceProviderConfig", &mut notes).await? {
            Some(spc) => discovery.read_service_provider_config(&spc),
            None => notes.push(
                "assuming PATCH and filters, without sorting, ETags, bulk or cursors".to_owned(),
            ),
        }
        if let Some(v) = discover(&http, &name, "/ResourceTypes", &mut notes).await? {
            match listed(v) {
                Some(items) => discovery.read_resource_types(&items),
                None => notes.push("/ResourceTypes is not a listing; ignored".to_owned()),
            }
        }
        if discovery.resource_types.is_empty() {
            notes.push("no resource types known: using User at /Users and Group at /Groups".into());
        }
        if let Some(v) = discover(&http, &name, "/Schemas", &mut notes).await? {
            match listed(v) {
                Some(items) => discovery.read_schemas(&items, &mut registry),
                None => notes.push("/Schemas is not a listing; ignored".to_owned()),
            }
        }
        if discovery.schemas.is_empty() {
            notes.push(
                "no schemas read: the PATCH emulation uses the RFC 7643 User, Group and \
                 Enterprise User schemas"
                    .to_owned(),
            );
        }
        discovery.notes.extend(notes);

        let mut endpoints: BTreeMap<String, String> = BTreeMap::new();
        if discovery.resource_types.is_empty() {
            endpoints.insert("User".into(), "/Users".into());
            endpoints.insert("Group".into(), "/Groups".into());
        }
        for (n, e) in &discovery.resource_types {
            endpoints.insert(n.clone(), e.clone());
        }
        for (n, e) in &config.endpoints {
            let e = if e.starts_with('/') {
                e.clone()
            } else {
                format!("/{e}")
            };
            endpoints.insert(n.clone(), e.trim_end_matches('/').to_owned());
        }
        let native_patch = AtomicBool::new(discovery.patch);
        if !discovery.patch {
            discovery.notes.push(
                "the server does not support PATCH: PATCH is emulated with GET and PUT".to_owned(),
            );
        }
        Ok(ScimTarget {
            name,
            config,
            http,
            discovery,
            registry,
            endpoints,
            native_patch,
            attributes_param: AtomicBool::new(true),
            late_notes: Mutex::new(Vec::new()),
        })
    }

    /// What discovery found.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// What was missing or odd about the server, and what the connector does instead: a
    /// discovery endpoint it lacks, PATCH emulated with PUT...
    pub fn notes(&self) -> Vec<String> {
        let mut out = self.discovery.notes.clone();
        let late = self.late_notes.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(late.iter().cloned());
        out
    }

    /// Whether PATCH requests go to the server (false: PATCH is emulated with GET and PUT).
    pub fn native_patch(&self) -> bool {
        self.native_patch.load(Ordering::Relaxed)
    }

    /// The endpoint of an object type, e.g. `/Users`.
    pub fn endpoint(&self, object_type: &ObjectType) -> Result<&str> {
        let name = object_type.as_str();
        self.endpoints
            .get(name)
            .or_else(|| {
                self.endpoints
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, e)| e)
            })
            .map(String::as_str)
            .ok_or_else(|| {
                Error::permanent(
                    self.name.clone(),
                    format!(
                        "no endpoint for object type {name} (known: {}); add one to `endpoints`",
                        self.endpoints
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    fn object_path(&self, ty: &ObjectType, id: &TargetId) -> Result<String> {
        Ok(format!("{}/{}", self.endpoint(ty)?, encode(id.as_str())))
    }

    fn secrets(&self) -> Vec<&str> {
        self.http.secrets()
    }

    fn classify(&self, what: &What, reply: &Reply, one_object: bool) -> Error {
        classify(&self.name, what, reply, one_object, &self.secrets())
    }

    fn bad_body(&self, what: &What, reply: &Reply, problem: impl fmt::Display) -> Error {
        bad_body(&self.name, what, reply, problem, &self.secrets())
    }

    /// Reads an answer's body as a resource with an id.
    /// Sends a PATCH (or emulates it with GET and PUT where the server has none) and says
    /// what came back, for [`TargetConnector::patch`] and [`TargetConnector::apply_patch`] to
    /// read as each needs.
    async fn send_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Patched> {
        if !self.native_patch() {
            return self
                .emulate_patch(object_type, id, patch, if_match)
                .await
                .map(Patched::Object);
        }
        let what = What {
            method: "PATCH",
            path: self.object_path(object_type, id)?,
            object: ObjectRef::new(object_type.clone(), id.as_str()),
            if_match: if_match.cloned(),
            operation: "patch",
        };
        let wire = wire_patch(patch);
        if wire.is_empty() {
            // Nothing to change (or value lists that name nothing): no request a strict
            // server could refuse.
            return Ok(Patched::Nothing(what));
        }
        let bytes = serde_json::to_vec(&*wire).map_err(|e| {
            Error::permanent(
                self.name.clone(),
                format!("{}: cannot write the body: {e}", what.request()),
            )
        })?;
        let reply = self.send(&what, Some(bytes)).await?;
        match reply.status {
            405 | 501 => {
                self.patch_unsupported(reply.status);
                self.emulate_patch(object_type, id, patch, if_match)
                    .await
                    .map(Patched::Object)
            }
            _ if reply.is_success() => Ok(Patched::Reply(what, reply)),
            _ => Err(self.classify(&what, &reply, true)),
        }
    }

    fn to_object(&self, what: &What, reply: &Reply) -> Result<TargetObject> {
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| self.bad_body(what, reply, format_args!("the body is not JSON ({e})")))?;
        let resource = Resource::from_value(value)
            .map_err(|e| self.bad_body(what, reply, format_args!("not a SCIM resource: {e}")))?;
        object_from(resource, reply.etag.as_deref())
            .map_err(|problem| self.bad_body(what, reply, problem))
    }

    async fn send(&self, what: &What, body: Option<Vec<u8>>) -> Result<Reply> {
        self.http
            .send(&Request {
                what,
                query: None,
                body,
            })
            .await
    }

    fn body_of(&self, what: &What, resource: &Resource) -> Result<Vec<u8>> {
        serde_json::to_vec(resource).map_err(|e| {
            Error::permanent(
                self.name.clone(),
                format!("{}: cannot write the body: {e}", what.request()),
            )
        })
    }

    /// The request of a GET of one object.
    fn get_what(&self, ty: &ObjectType, id: &TargetId) -> Result<What> {
        Ok(What {
            method: "GET",
            path: self.object_path(ty, id)?,
            object: ObjectRef::new(ty.clone(), id.as_str()),
            if_match: None,
            operation: "get",
        })
    }

    /// The answer to a GET of one object: the object, `None` for 404, or the error.
    fn got(&self, what: &What, reply: &Reply) -> Result<Option<TargetObject>> {
        match reply.status {
            404 => Ok(None),
            _ if reply.is_success() => self.to_object(what, reply).map(Some),
            _ => Err(self.classify(what, reply, true)),
        }
    }

    /// The object after a write that answered 204 No Content (or a body without the object):
    /// read it back.
    async fn read_back(&self, what: &What, ty: &ObjectType, id: &TargetId) -> Result<TargetObject> {
        self.get(ty, id).await?.ok_or_else(|| Error::NotFound {
            object: what.object.clone(),
        })
    }

    /// One page of a listing.
    async fn list(
        &self,
        ty: &ObjectType,
        query: &Query,
        count: usize,
        what_object: String,
    ) -> Result<QueryPage> {
        let what = What {
            method: "GET",
            path: self.endpoint(ty)?.to_owned(),
            object: ObjectRef::new(ty.clone(), what_object),
            if_match: None,
            operation: "query",
        };
        let cursor_paging = self.discovery.cursor;
        let q = query_string(&listing_params(query, count, cursor_paging));
        let reply = self
            .http
            .send(&Request {
                what: &what,
                query: Some(q),
                body: None,
            })
            .await?;
        if !reply.is_success() {
            return Err(self.classify(&what, &reply, false));
        }
        let value: Value = serde_json::from_slice(&reply.body).map_err(|e| {
            self.bad_body(&what, &reply, format_args!("the body is not JSON ({e})"))
        })?;
        let next = if cursor_paging {
            next_cursor(&value)
        } else {
            None
        };
        let list = ListResponse::<Resource>::from_value(value)
            .map_err(|e| self.bad_body(&what, &reply, format_args!("not a ListResponse: {e}")))?;
        let mut objects = Vec::with_capacity(list.resources.len());
        for (i, r) in list.resources.into_iter().enumerate() {
            let o = object_from(r, None)
                .map_err(|p| self.bad_body(&what, &reply, format_args!("Resources[{i}]: {p}")))?;
            objects.push(o);
        }
        let total_results = usize::try_from(list.total_results).unwrap_or(usize::MAX);
        Ok(QueryPage {
            total_results: total_results.max(objects.len()),
            objects,
            next,
        })
    }

    /// The page size of a listing: the caller's, else the configured one, capped by the
    /// server's `filter.maxResults`.
    fn page_size(&self, asked: Option<usize>) -> usize {
        let n = asked.unwrap_or(self.config.page_size);
        match self.discovery.filter_max_results {
            Some(max) => n.min(max),
            None => n,
        }
    }

    /// `find` on a server without filters: every object, matched here.
    async fn find_by_listing(
        &self,
        ty: &ObjectType,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        let object = ObjectRef::new(ty.clone(), filter.to_string());
        let mut out = Vec::new();
        let size = self.page_size(None).max(1);
        let mut query = Query::all();
        loop {
            let page = self.list(ty, &query, size, filter.to_string()).await?;
            let n = page.objects.len();
            for o in page.objects {
                let hit = filter
                    .matches(&o.resource, &self.registry)
                    .map_err(|e| Error::invalid_input(object.clone(), e))?;
                if hit {
                    out.push(o);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            query.start_index += n;
            if n == 0 || query.start_index > page.total_results {
                return Ok(out);
            }
        }
    }

    /// PATCH as GET, the operations applied here, and PUT with `If-Match` (when the server
    /// keeps ETags), so a concurrent write is caught rather than overwritten.
    async fn emulate_patch(
        &self,
        ty: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let object = ObjectRef::new(ty.clone(), id.as_str());
        for _ in 0..EMULATION_ATTEMPTS {
            let current = self.get(ty, id).await?.ok_or_else(|| Error::NotFound {
                object: object.clone(),
            })?;
            if let (Some(expected), Some(actual)) = (if_match, &current.version)
                && expected != actual
            {
                return Err(Error::VersionConflict {
                    object,
                    expected: Some(expected.to_string()),
                    actual: Some(actual.to_string()),
                });
            }
            let mut resource = current.resource.clone();
            let changed = patch
                .apply(&mut resource, &self.registry)
                .map_err(|e| Error::invalid_input(object.clone(), e))?;
            if !changed {
                return Ok(current);
            }
            resource.remove("meta");
            let guard = if_match
                .cloned()
                .or_else(|| current.version.clone().filter(|_| self.discovery.etag));
            match self.put(ty, id, &resource, guard.as_ref(), "patch").await {
                // Another writer came between the GET and the PUT: read again.
                Err(Error::VersionConflict { .. }) if if_match.is_none() => {}
                other => return other,
            }
        }
        Err(Error::Temporary {
            connector: self.name.clone(),
            message: format!(
                "PATCH emulated with GET and PUT: {object} changed between the GET and the PUT \
                 {EMULATION_ATTEMPTS} times"
            ),
            retry_after: None,
        })
    }

    async fn put(
        &self,
        ty: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
        operation: &'static str,
    ) -> Result<TargetObject> {
        let what = What {
            method: "PUT",
            path: self.object_path(ty, id)?,
            object: ObjectRef::new(ty.clone(), id.as_str()),
            if_match: if_match.cloned(),
            operation,
        };
        let mut body = resource.clone();
        body.remove("meta");
        let bytes = self.body_of(&what, &body)?;
        let reply = self.send(&what, Some(bytes)).await?;
        match reply.status {
            204 => self.read_back(&what, ty, id).await,
            _ if reply.is_success() && !reply.body.is_empty() => self.to_object(&what, &reply),
            _ if reply.is_success() => self.read_back(&what, ty, id).await,
            _ => Err(self.classify(&what, &reply, true)),
        }
    }

    fn patch_unsupported(&self, status: u16) {
        if self.native_patch.swap(false, Ordering::Relaxed) {
            let mut late = self.late_notes.lock().unwrap_or_else(|p| p.into_inner());
            late.push(format!(
                "the server answered PATCH with HTTP {status}: PATCH is emulated with GET and PUT \
                 from now on"
            ));
        }
    }
}

/// The `TargetObject` of a resource: its `id` (required) and its version (the `ETag` header,
/// else `meta.version`).
fn object_from(
    resource: Resource,
    etag: Option<&str>,
) -> std::result::Result<TargetObject, String> {
    let id = match resource.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(other) => return Err(format!("its id is {other}, not a string")),
        None => return Err("the resource has no id".to_owned()),
    };
    let version = etag
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            resource
                .meta()
                .and_then(|m| scim_model::get_ci(m, "version"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .map(Version::new);
    Ok(TargetObject::new(id, resource, version))
}

/// GETs a discovery endpoint: its JSON, or `None` (with a note) when the server lacks it or
/// answers something unreadable.
async fn discover(
    http: &Http,
    name: &str,
    path: &'static str,
    notes: &mut Vec<String>,
) -> Result<Option<Value>> {
    let what = What {
        method: "GET",
        path: path.to_owned(),
        object: ObjectRef::new(ObjectType::new(path.trim_start_matches('/')), ""),
        if_match: None,
        operation: "discovery",
    };
    let reply = http
        .send(&Request {
            what: &what,
            query: None,
            body: None,
        })
        .await?;
    let secrets = http.secrets();
    match reply.status {
        s if (200..300).contains(&s) => match serde_json::from_slice::<Value>(&reply.body) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                notes.push(scrub(
                    &format!(
                        "{path}: the answer is not JSON ({e}): {}",
                        super::errors::preview(&reply.body)
                    ),
                    &secrets,
                ));
                Ok(None)
            }
        },
        401 | 403 | 408 | 429 | 500..=599 => Err(classify(name, &what, &reply, false, &secrets)),
        s => {
            notes.push(format!("{path}: HTTP {s}, the server does not offer it"));
            Ok(None)
        }
    }
}

#[async_trait]
impl TargetConnector for ScimTarget {
    fn name(&self) -> &str {
        &self.name
    }

    /// From `/ServiceProviderConfig`: filter, sort, etag, cursor (RFC 9865 `pagination`) as
    /// the server announces them; `max_page_size` is its `filter.maxResults`. `patch`,
    /// `replace` and `soft_delete` are always true: PATCH is emulated with PUT on a server
    /// without it ([`ScimTarget::native_patch`] says which).
    fn capabilities(&self) -> TargetCapabilities {
        let mut caps =
            TargetCapabilities::new(self.endpoints.keys().map(|n| ObjectType::new(n.clone())));
        caps.patch = true;
        caps.replace = true;
        caps.soft_delete = true;
        caps.filter = self.discovery.filter;
        caps.sort = self.discovery.sort;
        caps.etag = self.discovery.etag;
        caps.cursor = self.discovery.cursor;
        caps.max_page_size = self.discovery.filter_max_results;
        caps
    }

    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>> {
        let what = self.get_what(object_type, id)?;
        let reply = self.send(&what, None).await?;
        self.got(&what, &reply)
    }

    /// `GET …/{id}?attributes=a,b`. A server that answers 400 to the parameter (some do not
    /// take sub-attributes, extension URNs or attributes its schema lacks in it) is asked
    /// again without it, and from then on is not sent it.
    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        if attributes.is_empty() || !self.attributes_param.load(Ordering::Relaxed) {
            return self.get(object_type, id).await;
        }
        let what = self.get_what(object_type, id)?;
        // The parameter takes no value filters: a filtered path asks for its whole attribute.
        let asked: Vec<String> = attributes
            .iter()
            .map(|p| match (p.filter(), p.urn()) {
                (None, _) => p.to_string(),
                (Some(_), None) => p.name().to_owned(),
                (Some(_), Some(urn)) => format!("{urn}:{}", p.name()),
            })
            .collect();
        let reply = self
            .http
            .send(&Request {
                what: &what,
                query: Some(query_string(&[("attributes", asked.join(","))])),
                body: None,
            })
            .await?;
        if reply.status != 400 {
            return self.got(&what, &reply);
        }
        if self.attributes_param.swap(false, Ordering::Relaxed) {
            let mut late = self.late_notes.lock().unwrap_or_else(|p| p.into_inner());
            late.push(
                "the server answered a GET with attributes= with HTTP 400: objects are read \
                 whole from now on"
                    .to_owned(),
            );
        }
        self.get(object_type, id).await
    }

    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        let filter = find_filter(path, value).map_err(|message| Error::InvalidInput {
            object: ObjectRef::new(object_type.clone(), path.to_string()),
            message,
            source: None,
        })?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        if !self.discovery.filter {
            return self.find_by_listing(object_type, &filter, limit).await;
        }
        let query = Query::filtered(filter.clone());
        let mut page = self
            .list(object_type, &query, limit, filter.to_string())
            .await?;
        page.objects.truncate(limit);
        Ok(page.objects)
    }

    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject> {
        let mut body = resource.clone();
        body.remove("meta");
        if let Some(k) = key
            && body.external_id().is_none()
        {
            body.set_external_id(k.as_str());
        }
        let what = What {
            method: "POST",
            path: self.endpoint(object_type)?.to_owned(),
            object: new_object(object_type, resource, key),
            if_match: None,
            operation: "create",
        };
        let bytes = self.body_of(&what, &body)?;
        let reply = self.send(&what, Some(bytes)).await?;
        if reply.is_success() {
            self.to_object(&what, &reply)
        } else {
            Err(self.classify(&what, &reply, false))
        }
    }

    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        match self.send_patch(object_type, id, patch, if_match).await? {
            Patched::Object(object) => Ok(object),
            Patched::Reply(what, reply) if !reply.body.is_empty() && reply.status != 204 => {
                self.to_object(&what, &reply)
            }
            Patched::Reply(what, _) | Patched::Nothing(what) => {
                self.read_back(&what, object_type, id).await
            }
        }
    }

    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        match self.send_patch(object_type, id, patch, if_match).await? {
            Patched::Object(object) => Ok(object.version),
            // The server's answer is enough: no second request for the object (which may be
            // a group of a million members), and its body is not read.
            Patched::Reply(_, reply) => Ok(reply.etag.filter(|e| !e.is_empty()).map(Version::new)),
            Patched::Nothing(what) => Ok(self.read_back(&what, object_type, id).await?.version),
        }
    }

    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        self.put(object_type, id, resource, if_match, "replace")
            .await
    }

    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()> {
        let what = What {
            method: "DELETE",
            path: self.object_path(object_type, id)?,
            object: ObjectRef::new(object_type.clone(), id.as_str()),
            if_match: if_match.cloned(),
            operation: "delete",
        };
        let reply = self.send(&what, None).await?;
        match reply.status {
            404 => Ok(()),
            _ if reply.is_success() => Ok(()),
            _ => Err(self.classify(&what, &reply, true)),
        }
    }

    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
        if query.filter.is_some() && !self.discovery.filter {
            return Err(Error::unsupported(self.name.clone(), "query with a filter"));
        }
        if query.sort_by.is_some() && !self.discovery.sort {
            return Err(Error::unsupported(self.name.clone(), "query with sorting"));
        }
        let what = query
            .filter
            .as_ref()
            .map_or_else(|| "(all)".to_owned(), Filter::to_string);
        self.list(object_type, query, self.page_size(query.count), what)
            .await
    }
}

/// What a PATCH came back with.
enum Patched {
    /// The object, from the PUT that emulated the PATCH.
    Object(TargetObject),
    /// The server's 2xx answer: the object in its body, or `204 No Content`.
    Reply(What, Reply),
    /// Nothing was sent: the request changed nothing.
    Nothing(What),
}

/// How a new object is named in errors before it has an id: its create key, `userName` or
/// `displayName`.
fn new_object(ty: &ObjectType, resource: &Resource, key: Option<&CreateKey>) -> ObjectRef {
    let name = key
        .map(|k| k.as_str().to_owned())
        .or_else(|| {
            ["userName", "displayName"]
                .iter()
                .find_map(|a| resource.get(a).and_then(Value::as_str).map(str::to_owned))
        })
        .unwrap_or_else(|| "(new)".to_owned());
    ObjectRef::new(ty.clone(), name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_take_the_etag_else_meta_version() {
        let r = Resource::from_value(json!({"id": "1", "meta": {"version": "W/\"3\""}})).unwrap();
        let o = object_from(r.clone(), None).unwrap();
        assert_eq!(o.version, Some(Version::new("W/\"3\"")));
        let o = object_from(r, Some("W/\"4\"")).unwrap();
        assert_eq!(o.version, Some(Version::new("W/\"4\"")));
        assert_eq!(o.id, TargetId::new("1"));
        let r = Resource::from_value(json!({"userName": "x"})).unwrap();
        assert_eq!(object_from(r, None).unwrap_err(), "the resource has no id");
        // A numeric id is refused when the body is read as a resource.
        assert!(Resource::from_value(json!({"id": 5})).is_err());
    }

    #[test]
    fn new_objects_are_named_by_key_then_name() {
        let r = Resource::from_value(json!({"userName": "bjensen"})).unwrap();
        let k = CreateKey::new("E1");
        assert_eq!(new_object(&ObjectType::USER, &r, Some(&k)).id, "E1");
        assert_eq!(new_object(&ObjectType::USER, &r, None).id, "bjensen");
        let r = Resource::from_value(json!({})).unwrap();
        assert_eq!(new_object(&ObjectType::GROUP, &r, None).id, "(new)");
    }
}
