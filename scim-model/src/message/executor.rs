//! Running a [`BulkRequest`]: `bulkId` resolution, ordering, circular references and
//! `failOnErrors` (RFC 7644 §3.7.1–§3.7.3).

use std::collections::BTreeMap;

use indexmap::IndexSet;
use serde_json::{Map, Value};

use super::{
    BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse, PATCH_OP_SCHEMA,
    ScimError,
};
use crate::ScimType;
use crate::resource::is_urn;

/// The prefix of a `bulkId` reference: `"bulkId:qwerty"`.
const BULK_ID_PREFIX: &str = "bulkId:";

/// Settings of [`BulkRequest::execute_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkOptions {
    /// The service's base URL (e.g. `https://example.com/v2`). When set, a result whose handler
    /// gave no `location` gets one: the base URL plus the operation's path (plus the new id for
    /// a POST). RFC 7644 §3.7.3 wants a `location` on every result but a failed POST's.
    pub base_url: Option<String>,
    /// Whether to resolve circular `bulkId` references (default `true`); when `false`, the
    /// operations of a cycle fail with 409 Conflict.
    pub resolve_circular: bool,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            base_url: None,
            resolve_circular: true,
        }
    }
}

impl BulkOptions {
    /// Sets the base URL used to fill in missing `location`s.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets whether circular references are resolved (`true`) or refused with 409 (`false`).
    pub fn with_resolve_circular(mut self, resolve: bool) -> Self {
        self.resolve_circular = resolve;
        self
    }
}

/// What a Bulk handler reports for an operation it ran.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BulkOutcome {
    /// The resource's id: for a POST, the id the service assigned, which `"bulkId:…"`
    /// references to this operation resolve to. For other methods it may be left out: the last
    /// segment of the operation's path is used.
    pub id: Option<String>,
    /// The resource's URL.
    pub location: Option<String>,
    /// The resource's version after the operation.
    pub version: Option<String>,
    /// The HTTP status (201 for a POST, 200 for PUT and PATCH, 204 for DELETE, ...). A status
    /// outside 2xx counts as an error.
    pub status: u16,
    /// A response body to include in the result, if any.
    pub response: Option<Value>,
}

impl BulkOutcome {
    /// An outcome with the given status and nothing else.
    pub fn new(status: u16) -> Self {
        BulkOutcome {
            id: None,
            location: None,
            version: None,
            status,
            response: None,
        }
    }

    /// 201 Created with the new resource's id and URL.
    pub fn created(id: impl Into<String>, location: impl Into<String>) -> Self {
        BulkOutcome::new(201).with_id(id).with_location(location)
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the location.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Sets the version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the response body.
    pub fn with_response(mut self, response: Value) -> Self {
        self.response = Some(response);
        self
    }
}

impl BulkRequest {
    /// Runs the request with [`BulkOptions::default`]; see [`BulkRequest::execute_with`].
    pub fn execute<F, E>(&self, handler: F) -> BulkResponse
    where
        F: FnMut(&BulkOperation) -> Result<BulkOutcome, E>,
        E: Into<ScimError>,
    {
        self.execute_with(&BulkOptions::default(), handler)
    }

    /// Runs the request: calls `handler` for each operation, with every `"bulkId:…"`
    /// reference in its `path` and `data` replaced by the id the referenced operation's
    /// handler call reported, and collects the results into a [`BulkResponse`].
    ///
    /// # Order
    ///
    /// Operations run in request order, except that an operation whose `bulkId` is referenced
    /// runs before the first operation that references it (RFC 7644 §3.7.2 lets a reference
    /// point to a later operation). The response lists results in request order.
    ///
    /// # Failures
    ///
    /// A failed operation (the handler's `Err`, or an `Ok` outcome whose status is not 2xx)
    /// does not stop the others, until `failOnErrors` errors have happened: then the remaining
    /// operations are not run and not listed (RFC 7644 §3.7.3). `failOnErrors: 0` is read as 1.
    /// The executor itself fails an operation, without calling the handler, when:
    /// - it references a `bulkId` that no operation declares, or whose operation failed or did
    ///   not report an id: 409 Conflict (RFC 7644 gives no `scimType` for it; none is sent);
    /// - it declares a `bulkId` an earlier operation already declared: 400 `invalidValue`
    ///   (references resolve to the first declaration).
    ///
    /// # Circular references
    ///
    /// RFC 7644 §3.7.1: the service "MUST try to resolve circular cross-references … but MAY
    /// stop after a failed attempt and instead return HTTP status code 409". The executor
    /// resolves them when every operation of the cycle that references a later (or its own)
    /// operation of the cycle is a POST of a JSON object: it is run without the attributes
    /// holding those references (the elements of a multi-valued attribute, or the whole
    /// attribute), and once the cycle's operations have run, the handler is called again with
    /// a PATCH of that resource (`path` = the POST's path plus the new id, `version` = the
    /// version the POST reported, `data` = a `PatchOp` with one `add` per removed attribute,
    /// references resolved). The handler is thus called more than once for such an operation;
    /// the PATCH has no `bulkId`. If the PATCH fails, the operation's result is that failure
    /// (with the location of the created resource). A cycle that cannot be broken this way (a
    /// reference in a `path`, in `schemas`, or from a PUT/PATCH/DELETE), or any cycle when
    /// [`BulkOptions::resolve_circular`] is `false`, fails its operations with 409.
    ///
    /// The ordering walks references without recursion, so a long chain cannot overflow the
    /// stack.
    pub fn execute_with<F, E>(&self, options: &BulkOptions, mut handler: F) -> BulkResponse
    where
        F: FnMut(&BulkOperation) -> Result<BulkOutcome, E>,
        E: Into<ScimError>,
    {
        let plan = Plan::new(self, options);
        let mut run = Run::new(self, options, &plan);
        let limit = self.fail_on_errors.map(|n| n.max(1) as usize);
        for step in &plan.steps {
            match *step {
                Step::Run(i) => run.run(i, &mut handler),
                Step::Complete(i) => run.complete(i, &mut handler),
            }
            if limit.is_some_and(|limit| run.errors >= limit) {
                run.abandon_pending_completions();
                break;
            }
        }
        BulkResponse::new(run.results.into_iter().flatten().collect())
    }
}

/// One thing the executor does: run an operation, or complete a POST that was run without
/// its circular references.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Run(usize),
    Complete(usize),
}

/// A POST run without its circular references: the data to send first, and the attributes
/// (as PATCH paths) to add afterwards.
#[derive(Debug)]
struct Deferred {
    data: Value,
    adds: Vec<(String, Value)>,
}

/// The order of the steps and what is known before running anything.
#[derive(Debug)]
struct Plan {
    steps: Vec<Step>,
    /// First declaration of each bulkId.
    declared: BTreeMap<String, usize>,
    /// Operations that fail without being run.
    static_errors: Vec<Option<ScimError>>,
    /// Operations run without their circular references.
    deferred: Vec<Option<Deferred>>,
}

impl Plan {
    fn new(request: &BulkRequest, options: &BulkOptions) -> Self {
        let ops = &request.operations;
        let n = ops.len();
        let mut declared: BTreeMap<String, usize> = BTreeMap::new();
        let mut static_errors: Vec<Option<ScimError>> = vec![None; n];
        for (i, op) in ops.iter().enumerate() {
            let Some(bulk_id) = &op.bulk_id else { continue };
            match declared.get(bulk_id) {
                Some(&first) => {
                    static_errors[i] = Some(
                        ScimError::new(
                            400,
                            format!(
                                "bulkId {bulk_id:?} is already used by operation {first}; a bulkId must be unique within a bulk request"
                            ),
                        )
                        .with_scim_type(ScimType::InvalidValue),
                    );
                }
                None => {
                    declared.insert(bulk_id.clone(), i);
                }
            }
        }

        // References of each operation, and the dependency edges.
        let mut edges: Vec<Vec<usize>> = Vec::with_capacity(n);
        let mut path_refs: Vec<IndexSet<String>> = Vec::with_capacity(n);
        for (i, op) in ops.iter().enumerate() {
            let mut refs = IndexSet::new();
            let mut in_path = IndexSet::new();
            for segment in op.path.split('/') {
                if let Some(id) = segment.strip_prefix(BULK_ID_PREFIX) {
                    in_path.insert(id.to_owned());
                    refs.insert(id.to_owned());
                }
            }
            if let Some(data) = &op.data {
                collect_refs(data, &mut refs);
            }
            let mut targets = Vec::with_capacity(refs.len());
            for r in &refs {
                match declared.get(r.as_str()) {
                    Some(&j) => targets.push(j),
                    None => {
                        if static_errors[i].is_none() {
                            static_errors[i] = Some(ScimError::new(
                                409,
                                format!(
                                    "\"bulkId:{r}\" cannot be resolved: no operation of this request has bulkId {r:?}"
                                ),
                            ));
                        }
                    }
                }
            }
            edges.push(targets);
            path_refs.push(in_path);
        }

        let mut steps = Vec::with_capacity(n);
        let mut deferred: Vec<Option<Deferred>> = (0..n).map(|_| None).collect();
        for mut scc in strongly_connected(&edges) {
            let cyclic = scc.len() > 1 || scc.first().is_some_and(|&v| edges[v].contains(&v));
            if !cyclic {
                steps.extend(scc.into_iter().map(Step::Run));
                continue;
            }
            scc.sort_unstable();
            let mut completes = Vec::new();
            for &m in &scc {
                // References to operations of the cycle that have not run when `m` runs.
                let later: IndexSet<&str> = edges[m]
                    .iter()
                    .filter(|&&t| t >= m && scc.binary_search(&t).is_ok())
                    .filter_map(|&t| ops[t].bulk_id.as_deref())
                    .collect();
                steps.push(Step::Run(m));
                if later.is_empty() || static_errors[m].is_some() {
                    continue;
                }
                let cycle_error = |why: &str| {
                    ScimError::new(
                        409,
                        format!("circular bulkId reference between operations {scc:?}: {why}",),
                    )
                };
                if !options.resolve_circular {
                    static_errors[m] = Some(cycle_error("circular references are not resolved"));
                    continue;
                }
                let op = &ops[m];
                let breakable = op.method == BulkMethod::Post
                    && !later.iter().any(|id| path_refs[m].contains(*id));
                match (breakable, &op.data) {
                    (true, Some(Value::Object(data))) => match defer_refs(data, &later) {
                        Some(d) => {
                            deferred[m] = Some(d);
                            completes.push(Step::Complete(m));
                        }
                        None => {
                            static_errors[m] = Some(cycle_error(
                                "the reference is in \"schemas\" and cannot be added later",
                            ));
                        }
                    },
                    _ => {
                        static_errors[m] = Some(cycle_error(
                            "only a POST of a resource can be created first and completed later",
                        ));
                    }
                }
            }
            steps.extend(completes);
        }
        Plan {
            steps,
            declared,
            static_errors,
            deferred,
        }
    }
}

/// Adds every `bulkId` referenced in `value` to `out`, without recursion.
fn collect_refs(value: &Value, out: &mut IndexSet<String>) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                    out.insert(id.to_owned());
                }
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            _ => {}
        }
    }
}

/// Whether `value` references one of `targets`.
fn refers_to(value: &Value, targets: &IndexSet<&str>) -> bool {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s)
                if s.strip_prefix(BULK_ID_PREFIX)
                    .is_some_and(|id| targets.contains(id)) =>
            {
                return true;
            }
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    false
}

/// Splits a POST's data into what can be created now and what is added afterwards: every
/// attribute (core, or inside an extension block) that references one of `targets` is taken
/// out — for a multi-valued attribute only the elements that do. `None` when a reference sits
/// in `schemas`.
fn defer_refs(data: &Map<String, Value>, targets: &IndexSet<&str>) -> Option<Deferred> {
    let mut data = data.clone();
    let mut adds = Vec::new();
    let keys: Vec<String> = data.keys().cloned().collect();
    for key in keys {
        let Some(value) = data.get_mut(&key) else {
            continue;
        };
        if !refers_to(value, targets) {
            continue;
        }
        if key.eq_ignore_ascii_case("schemas") {
            return None;
        }
        if is_urn(&key)
            && let Value::Object(block) = value
        {
            let inner: Vec<String> = block.keys().cloned().collect();
            for name in inner {
                take_refs(block, &name, &format!("{key}:{name}"), targets, &mut adds);
            }
            continue;
        }
        take_refs(&mut data, &key, &key, targets, &mut adds);
    }
    Some(Deferred {
        data: Value::Object(data),
        adds,
    })
}

/// Takes the referencing part of attribute `name` out of `map` into `adds` (as a PATCH `add`
/// at `path`).
fn take_refs(
    map: &mut Map<String, Value>,
    name: &str,
    path: &str,
    targets: &IndexSet<&str>,
    adds: &mut Vec<(String, Value)>,
) {
    let Some(value) = map.get_mut(name) else {
        return;
    };
    if !refers_to(value, targets) {
        return;
    }
    if let Value::Array(items) = value {
        let (moved, kept): (Vec<Value>, Vec<Value>) = std::mem::take(items)
            .into_iter()
            .partition(|item| refers_to(item, targets));
        *items = kept;
        adds.push((path.to_owned(), Value::Array(moved)));
    } else if let Some(value) = map.shift_remove(name) {
        adds.push((path.to_owned(), value));
    }
}

/// Tarjan's strongly connected components, without recursion. Each component comes after
/// every component it has an edge to, so following the output order runs an operation's
/// dependencies first. Roots are tried in index order, edges in their given order.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(top) = calls.last_mut() {
            let (v, e) = *top;
            if let Some(&w) = edges[v].get(e) {
                top.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(scc);
            }
        }
    }
    out
}

/// The state of one execution.
struct Run<'a> {
    request: &'a BulkRequest,
    options: &'a BulkOptions,
    plan: &'a Plan,
    /// The result of each operation that ran, by request index.
    results: Vec<Option<BulkOperationResponse>>,
    /// The id each successful operation reported (what its bulkId resolves to).
    ids: Vec<Option<String>>,
    /// Operations that ran and still wait for their circular references to be added.
    pending: Vec<bool>,
    errors: usize,
}

impl<'a> Run<'a> {
    fn new(request: &'a BulkRequest, options: &'a BulkOptions, plan: &'a Plan) -> Self {
        let n = request.operations.len();
        Run {
            request,
            options,
            plan,
            results: vec![None; n],
            ids: vec![None; n],
            pending: vec![false; n],
            errors: 0,
        }
    }

    fn run<F, E>(&mut self, i: usize, handler: &mut F)
    where
        F: FnMut(&BulkOperation) -> Result<BulkOutcome, E>,
        E: Into<ScimError>,
    {
        let request = self.request;
        let op = &request.operations[i];
        if let Some(error) = &self.plan.static_errors[i] {
            let error = error.clone();
            self.fail(i, error, None);
            return;
        }
        let path = match self.resolve_path(&op.path) {
            Ok(path) => path,
            Err(error) => {
                self.fail(i, error, None);
                return;
            }
        };
        let location_if_failed = match op.method {
            BulkMethod::Post => None,
            _ => self.url(&path),
        };
        let mut data = match &self.plan.deferred[i] {
            Some(d) => Some(d.data.clone()),
            None => op.data.clone(),
        };
        if let Some(data) = &mut data
            && let Err(error) = self.resolve_value(data)
        {
            self.fail(i, error, location_if_failed);
            return;
        }
        let resolved = BulkOperation {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: op.version.clone(),
            path,
            data,
        };
        match handler(&resolved) {
            Ok(outcome) if (200..300).contains(&outcome.status) => {
                let id = outcome.id.clone().or_else(|| match op.method {
                    BulkMethod::Post => None,
                    _ => last_segment(&resolved.path),
                });
                let location = outcome.location.clone().or_else(|| match op.method {
                    BulkMethod::Post => id.as_deref().and_then(|id| {
                        self.url(&format!("{}/{id}", resolved.path.trim_end_matches('/')))
                    }),
                    _ => self.url(&resolved.path),
                });
                self.results[i] = Some(BulkOperationResponse {
                    location,
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    version: outcome.version,
                    status: outcome.status,
                    response: outcome.response,
                });
                self.ids[i] = id;
                self.pending[i] = self.plan.deferred[i].is_some();
            }
            Ok(outcome) => {
                let location = outcome.location.or(location_if_failed);
                self.errors += 1;
                self.results[i] = Some(BulkOperationResponse {
                    location,
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    version: outcome.version,
                    status: outcome.status,
                    response: outcome.response,
                });
            }
            Err(error) => self.fail(i, error.into(), location_if_failed),
        }
    }

    fn complete<F, E>(&mut self, i: usize, handler: &mut F)
    where
        F: FnMut(&BulkOperation) -> Result<BulkOutcome, E>,
        E: Into<ScimError>,
    {
        if !self.pending[i] {
            return;
        }
        self.pending[i] = false;
        let (Some(deferred), Some(id), Some(done)) = (
            &self.plan.deferred[i],
            self.ids[i].clone(),
            self.results[i].clone(),
        ) else {
            return;
        };
        let mut operations = Vec::with_capacity(deferred.adds.len());
        for (path, value) in &deferred.adds {
            let mut value = value.clone();
            if let Err(error) = self.resolve_value(&mut value) {
                self.fail_after_create(i, error, done);
                return;
            }
            let mut patch = Map::new();
            patch.insert("op".to_owned(), Value::String("add".to_owned()));
            patch.insert("path".to_owned(), Value::String(path.clone()));
            patch.insert("value".to_owned(), value);
            operations.push(Value::Object(patch));
        }
        let mut body = Map::new();
        body.insert(
            "schemas".to_owned(),
            Value::Array(vec![Value::String(PATCH_OP_SCHEMA.to_owned())]),
        );
        body.insert("Operations".to_owned(), Value::Array(operations));
        let op = &self.request.operations[i];
        let patch = BulkOperation {
            method: BulkMethod::Patch,
            bulk_id: None,
            version: done.version.clone(),
            path: format!(
                "{}/{id}",
                self.resolve_path(&op.path)
                    .unwrap_or_else(|_| op.path.clone())
                    .trim_end_matches('/')
            ),
            data: Some(Value::Object(body)),
        };
        match handler(&patch) {
            Ok(outcome) if (200..300).contains(&outcome.status) => {
                let mut done = done;
                if outcome.version.is_some() {
                    done.version = outcome.version;
                }
                if outcome.response.is_some() {
                    done.response = outcome.response;
                }
                self.results[i] = Some(done);
            }
            Ok(outcome) => {
                let error = outcome
                    .response
                    .and_then(|v| ScimError::from_value(v).ok())
                    .unwrap_or_else(|| {
                        ScimError::new(
                            outcome.status,
                            "adding the circular references to the created resource failed",
                        )
                    });
                self.fail_after_create(i, error, done);
            }
            Err(error) => self.fail_after_create(i, error.into(), done),
        }
    }

    /// Marks every created resource still waiting for its circular references as failed:
    /// processing stopped before they could be added.
    fn abandon_pending_completions(&mut self) {
        for i in 0..self.pending.len() {
            if self.pending[i] {
                self.pending[i] = false;
                if let Some(done) = self.results[i].clone() {
                    let error = ScimError::new(
                        409,
                        "the resource was created, but processing stopped (failOnErrors) before its circular bulkId references were added",
                    );
                    self.fail_after_create(i, error, done);
                }
            }
        }
    }

    /// Records a failure of operation `i`.
    fn fail(&mut self, i: usize, error: ScimError, location: Option<String>) {
        let op = &self.request.operations[i];
        self.errors += 1;
        self.results[i] = Some(BulkOperationResponse {
            location,
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: None,
            status: error.status,
            response: Some(error.to_value()),
        });
    }

    /// Records a failure of a POST whose resource exists (its location is kept).
    fn fail_after_create(&mut self, i: usize, error: ScimError, done: BulkOperationResponse) {
        self.errors += 1;
        self.results[i] = Some(BulkOperationResponse {
            status: error.status,
            response: Some(error.to_value()),
            ..done
        });
    }

    /// The id `bulkId` resolves to, or the 409 error saying why it does not.
    fn lookup(&self, bulk_id: &str) -> Result<String, ScimError> {
        let conflict = |why: String| {
            ScimError::new(
                409,
                format!("\"bulkId:{bulk_id}\" cannot be resolved: {why}"),
            )
        };
        let Some(&j) = self.plan.declared.get(bulk_id) else {
            return Err(conflict(format!(
                "no operation of this request has bulkId {bulk_id:?}"
            )));
        };
        if let Some(id) = &self.ids[j] {
            return Ok(id.clone());
        }
        Err(conflict(match &self.results[j] {
            Some(r) if !r.is_success() => format!("operation {j} failed with status {}", r.status),
            Some(_) => format!("operation {j} did not report the id of its resource"),
            None => format!("operation {j} has not run"),
        }))
    }

    fn resolve_path(&self, path: &str) -> Result<String, ScimError> {
        if !path.contains(BULK_ID_PREFIX) {
            return Ok(path.to_owned());
        }
        let mut out = Vec::new();
        for segment in path.split('/') {
            match segment.strip_prefix(BULK_ID_PREFIX) {
                Some(bulk_id) => out.push(self.lookup(bulk_id)?),
                None => out.push(segment.to_owned()),
            }
        }
        Ok(out.join("/"))
    }

    /// Replaces every `"bulkId:…"` string in `value`, without recursion.
    fn resolve_value(&self, value: &mut Value) -> Result<(), ScimError> {
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    let id = match s.strip_prefix(BULK_ID_PREFIX) {
                        Some(bulk_id) => self.lookup(bulk_id)?,
                        None => continue,
                    };
                    *s = id;
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => stack.extend(map.values_mut()),
                _ => {}
            }
        }
        Ok(())
    }

    /// The base URL plus `path`, when a base URL is set.
    fn url(&self, path: &str) -> Option<String> {
        let base = self.options.base_url.as_deref()?;
        Some(format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        ))
    }
}

/// The last non-empty segment of a path: the id in `/Users/{id}`.
fn last_segment(path: &str) -> Option<String> {
    path.rsplit('/').find(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edges(list: &[&[usize]]) -> Vec<Vec<usize>> {
        list.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn components_come_after_their_dependencies() {
        // 0 -> 2, 1 -> nothing, 2 -> nothing.
        assert_eq!(
            strongly_connected(&edges(&[&[2], &[], &[]])),
            vec![vec![2], vec![0], vec![1]]
        );
        // 0 <-> 1 cycle, 2 -> 0.
        let sccs = strongly_connected(&edges(&[&[1], &[0], &[0]]));
        assert_eq!(sccs.len(), 2);
        let mut first = sccs[0].clone();
        first.sort();
        assert_eq!(first, vec![0, 1]);
        assert_eq!(sccs[1], vec![2]);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000;
        let chain: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
            .collect();
        let sccs = strongly_connected(&chain);
        assert_eq!(sccs.len(), n);
        assert_eq!(sccs[0], vec![n - 1]);
    }

    #[test]
    fn defer_takes_out_referencing_elements_and_attributes() {
        let data = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "A",
            "members": [{"value": "bulkId:b"}, {"value": "42"}],
            "urn:example:ext:1.0:Group": {"owner": {"value": "bulkId:b"}, "keep": 1}
        });
        let targets: IndexSet<&str> = ["b"].into_iter().collect();
        let d = defer_refs(data.as_object().unwrap(), &targets).unwrap();
        assert_eq!(
            d.data,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "A",
                "members": [{"value": "42"}],
                "urn:example:ext:1.0:Group": {"keep": 1}
            })
        );
        assert_eq!(
            d.adds,
            vec![
                ("members".to_owned(), json!([{"value": "bulkId:b"}])),
                (
                    "urn:example:ext:1.0:Group:owner".to_owned(),
                    json!({"value": "bulkId:b"})
                ),
            ]
        );
        let in_schemas = json!({"schemas": ["bulkId:b"]});
        assert!(defer_refs(in_schemas.as_object().unwrap(), &targets).is_none());
    }
}
