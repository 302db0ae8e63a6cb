//! `idflow sync --job job.json [--state DIR] [--preview] [--approve-deletes] [--reset SCOPE]
//! [--now RFC3339]`: runs one cycle of a sync job and prints its report.
//!
//! The job file is the sync engine's [`Job`] plus a `source` (a CSV file or a JSON array of
//! SCIM resources, imported in full each run and diffed by the engine against its stored
//! fingerprints) and a `target` (a JSON array of SCIM resources, loaded into a
//! [`MemoryDirectory`] and written back atomically before each state commit and at the end).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors::state::{MemoryStateStore, RedbStateStore};
use connectors::{
    ChangePage, Clock, CsvOptions, CsvSource, FakeClock, ImportPage, JobId, MemoryDirectory,
    ObjectType, PageToken, RecordProblem, SourceCapabilities, SourceConnector, SourceId,
    SourceObject, StateStore, SystemClock, Watermark,
};
use scim_model::{AttributePath, GROUP_SCHEMA, Resource};
use serde::Deserialize;
use serde_json::Value;
use sync_engine::{Checkpoint, Job, ResetScope, RunOptions, SyncEngine};

use crate::{Failure, io};

/// The job's name in the state store (the state directory belongs to one job).
const JOB_ID: &str = "idflow-sync";

/// The file the durable state is kept in, inside `--state DIR`.
const STATE_FILE: &str = "state.redb";

/// Options of `idflow sync`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The job file: the sync engine's job ({"objectMappings": [...], "outOfScope", "deletionThreshold", ...})
    /// with a "source" ({"type": "csv"|"json", "path", "idAttribute"}) and a "target"
    /// ({"type": "json", "path"}); paths are relative to the job file.
    #[arg(long)]
    job: PathBuf,
    /// The directory holding the durable state (created if absent); without it a fresh
    /// temporary state is used.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Compute the actions the cycle would take and write nothing (neither target nor state).
    #[arg(long)]
    preview: bool,
    /// Apply the disables and deletes held by the deletion threshold (reset scope ForceDeletes).
    #[arg(long)]
    approve_deletes: bool,
    /// Clear this before the cycle: Watermark, Escrows, QuarantineState, Full or ForceDeletes;
    /// may be repeated.
    #[arg(long, value_name = "SCOPE")]
    reset: Vec<ResetScope>,
    /// The current time (RFC 3339), for escrow retries and quarantine; default: the system's.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
}

/// The lease holder of every `idflow` run (see where the engine is built).
const CLI_HOLDER: &str = "idflow-cli";

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 instant ({e})"))
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let file = JobFile::read(&args.job)?;
    let clock: Arc<dyn Clock> = match args.now {
        Some(now) => Arc::new(FakeClock::at(now)),
        None => Arc::new(SystemClock),
    };
    let source = Arc::new(Watched::new(file.open_source()?));
    let target = Arc::new(TargetFile::load(&file.target, clock.clone())?);
    if !args.preview {
        target.probe()?;
    }
    // Declared before the engine, so it outlives the store that uses it.
    let (state, _state_copy) = open_state(args.state.as_deref(), args.preview)?;

    let mut engine = SyncEngine::new(
        JobId::new(JOB_ID),
        file.job,
        source.clone(),
        Arc::new(target.directory.clone()),
        state,
    )
    .map_err(|e| Failure::bad(format!("{}: {e}", args.job.display())))?
    .with_clock(clock)
    // One holder name for every run of the tool: redb locks the state file, so two runs can
    // never write one state at once, and a run after a crashed one takes the lease over at
    // once instead of waiting for it to expire.
    .with_holder(CLI_HOLDER);
    if !args.preview {
        engine = engine.with_checkpoint(target.clone());
    }
    // The tool prints the cycle's whole log (the contract in DESIGN.md), whatever its size.
    let mut options = RunOptions::new().report_log_limit(usize::MAX);
    if args.preview {
        options = options.preview();
    }
    for scope in args.reset {
        options = options.reset(scope);
    }
    if args.approve_deletes {
        options = options.reset(ResetScope::ForceDeletes);
    }

    let report = match futures::executor::block_on(engine.run_cycle(&options)) {
        Ok(report) => report,
        // The source is an input file: a failure to read it is bad input. Anything else
        // (the state store, writing the target) is the environment.
        Err(e) if source.failed() => return Err(Failure::bad(format!("the cycle stopped: {e}"))),
        Err(e) => return Err(Failure::Environment(format!("the cycle stopped: {e}"))),
    };
    if !args.preview {
        target.save().map_err(Failure::Environment)?;
    }
    crate::io::print_json(&report)
}

// ---------------------------------------------------------------------------------------------
// The job file.

/// Where identities come from.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum SourceSpec {
    /// A CSV file whose header cells are attribute paths.
    Csv {
        path: PathBuf,
        id_attribute: Option<String>,
    },
    /// A JSON array of SCIM resources.
    Json {
        path: PathBuf,
        id_attribute: Option<String>,
    },
}

/// Where identities go.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum TargetSpec {
    /// A JSON array of SCIM resources.
    Json { path: PathBuf },
}

/// A job file, read and checked, its paths resolved against its directory.
#[derive(Debug)]
struct JobFile {
    /// The job file's path, for messages.
    name: String,
    job: Job,
    source: SourceSpec,
    /// The target file.
    target: PathBuf,
}

impl JobFile {
    fn read(path: &Path) -> Result<Self, Failure> {
        let name = path.display().to_string();
        let bad =
            |what: &str, e: &dyn std::fmt::Display| Failure::bad(format!("{name}: {what}{e}"));
        let text = io::read_file(path)?;
        let value = io::parse_json(&text, &name)?;
        let Value::Object(mut fields) = value else {
            return Err(bad("", &"a job must be a JSON object"));
        };
        let source = fields
            .remove("source")
            .ok_or_else(|| bad("", &"missing field `source`"))?;
        let target = fields
            .remove("target")
            .ok_or_else(|| bad("", &"missing field `target`"))?;
        // Job has no `deny_unknown_fields`: name a misspelt field here rather than run with
        // its default. The known fields are the ones a job serialises.
        let known = serde_json::to_value(Job::new(Vec::new())).unwrap_or(Value::Null);
        if let Some(unknown) = fields.keys().find(|k| known.get(k.as_str()).is_none()) {
            return Err(bad(
                "",
                &format!("unknown field `{unknown}` (expected source, target or a job field)"),
            ));
        }
        let job: Job =
            serde_json::from_value(Value::Object(fields)).map_err(|e| bad("invalid job: ", &e))?;
        job.check().map_err(|e| bad("", &e))?;
        let source: SourceSpec = serde_json::from_value(source).map_err(|e| bad("source: ", &e))?;
        let TargetSpec::Json { path: target } =
            serde_json::from_value(target).map_err(|e| bad("target: ", &e))?;

        let base = path.parent().unwrap_or(Path::new(""));
        let source = match source {
            SourceSpec::Csv { path, id_attribute } => SourceSpec::Csv {
                path: base.join(path),
                id_attribute,
            },
            SourceSpec::Json { path, id_attribute } => SourceSpec::Json {
                path: base.join(path),
                id_attribute,
            },
        };
        Ok(JobFile {
            name,
            job,
            source,
            target: base.join(target),
        })
    }

    fn open_source(&self) -> Result<Box<dyn SourceConnector>, Failure> {
        // Any attribute path; a JSON source reads it without a value filter.
        let id_path = |id: &Option<String>, filter_allowed: bool| {
            let id = id.as_deref().unwrap_or("id");
            match AttributePath::parse(id) {
                Ok(p) if filter_allowed || p.filter().is_none() => Ok(p),
                Ok(_) => Err(Failure::bad(format!(
                    "{}: source: idAttribute {id:?} may not have a value filter",
                    self.name
                ))),
                Err(e) => Err(Failure::bad(format!(
                    "{}: source: idAttribute {id:?}: {e}",
                    self.name
                ))),
            }
        };
        match &self.source {
            SourceSpec::Csv { path, id_attribute } => {
                // A CSV file holds one object type: the one the job maps.
                let types: BTreeSet<&ObjectType> = self
                    .job
                    .object_mappings
                    .iter()
                    .map(|m| &m.source_object_name)
                    .collect();
                let ty = match types.into_iter().collect::<Vec<_>>()[..] {
                    [ty] if *ty == ObjectType::USER || *ty == ObjectType::GROUP => ty.clone(),
                    [ty] => {
                        return Err(Failure::bad(format!(
                            "{}: a csv source holds User or Group objects, not {ty}",
                            self.name
                        )));
                    }
                    _ => {
                        return Err(Failure::bad(format!(
                            "{}: a csv source holds one object type, but the job maps several",
                            self.name
                        )));
                    }
                };
                let options = CsvOptions::default()
                    .with_object_type(ty)
                    .with_id_attribute(id_path(id_attribute, true)?);
                let source = CsvSource::open(path, options)
                    .map_err(|e| Failure::bad(format!("source: {e}")))?;
                Ok(Box::new(source))
            }
            SourceSpec::Json { path, id_attribute } => {
                let source = JsonSource::read(path, &id_path(id_attribute, false)?)?;
                Ok(Box::new(source))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON source.

/// A JSON array of SCIM resources as a source without delta: every import returns the whole
/// file as read at the start of the run. Each resource's source id is its `idAttribute`;
/// its type is `meta.resourceType`, else Group for a resource whose base schema is the core
/// Group schema, else User.
///
/// Like the CSV source, a record that cannot be read (not a resource, no id, an id used twice)
/// is reported as a problem, so the import is incomplete and the engine deletes nothing
/// because of what it lacks.
#[derive(Debug)]
struct JsonSource {
    name: String,
    objects: BTreeMap<ObjectType, Vec<SourceObject>>,
    /// Problems of records of a known type.
    problems: BTreeMap<ObjectType, Vec<RecordProblem>>,
    /// Problems of records whose type could not be told: every import reports them.
    untyped: Vec<RecordProblem>,
}

impl JsonSource {
    fn read(path: &Path, id_attribute: &AttributePath) -> Result<Self, Failure> {
        let shown = path.display().to_string();
        let text = io::read_file(path)?;
        let value = io::parse_json(&text, &format!("the source {shown}"))?;
        let Value::Array(items) = value else {
            return Err(Failure::bad(format!(
                "{shown}: a json source is a JSON array of SCIM resources"
            )));
        };
        let mut typed: BTreeMap<ObjectType, Vec<(usize, SourceId, Resource)>> = BTreeMap::new();
        let mut problems: BTreeMap<ObjectType, Vec<RecordProblem>> = BTreeMap::new();
        let mut untyped = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let location = format!("resource {i}");
            let resource = match Resource::from_value(item) {
                Ok(r) => r,
                Err(e) => {
                    untyped.push(RecordProblem::new(location, e.to_string()));
                    continue;
                }
            };
            let ty = resource_type(&resource);
            match read_id(&resource, id_attribute) {
                Some(id) => typed
                    .entry(ty)
                    .or_default()
                    .push((i, SourceId::new(id), resource)),
                None => problems.entry(ty).or_default().push(RecordProblem::new(
                    location,
                    format!("no {id_attribute} (the idAttribute) that is a non-empty string"),
                )),
            }
        }
        let mut objects: BTreeMap<ObjectType, Vec<SourceObject>> = BTreeMap::new();
        for (ty, records) in typed {
            let mut count: BTreeMap<&SourceId, usize> = BTreeMap::new();
            for (_, id, _) in &records {
                *count.entry(id).or_default() += 1;
            }
            let duplicated: BTreeSet<SourceId> = count
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(id, _)| id.clone())
                .collect();
            let mut kept = Vec::new();
            for (i, id, resource) in records {
                if duplicated.contains(&id) {
                    let mut p = RecordProblem::new(
                        format!("resource {i}"),
                        format!("{ty} id {id:?} appears more than once"),
                    );
                    p.id = Some(id);
                    problems.entry(ty.clone()).or_default().push(p);
                } else {
                    kept.push(SourceObject::new(id, resource));
                }
            }
            objects.insert(ty, kept);
        }
        let file = path
            .file_name()
            .map_or_else(|| shown.clone(), |f| f.to_string_lossy().into_owned());
        Ok(JsonSource {
            name: format!("json:{file}"),
            objects,
            problems,
            untyped,
        })
    }
}

/// The object type of a resource: `meta.resourceType`, else Group or User by its base schema.
fn resource_type(resource: &Resource) -> ObjectType {
    if let Some(ty) = resource.resource_type() {
        if ty.eq_ignore_ascii_case("User") {
            return ObjectType::USER;
        }
        if ty.eq_ignore_ascii_case("Group") {
            return ObjectType::GROUP;
        }
        return ObjectType::new(ty.to_owned());
    }
    if resource
        .base_schema()
        .is_some_and(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
    {
        ObjectType::GROUP
    } else {
        ObjectType::USER
    }
}

/// The value at `path` (no value filter) as an id: a non-empty string, or a number.
fn read_id(resource: &Resource, path: &AttributePath) -> Option<String> {
    let value = resource.attribute(path.urn(), path.name())?;
    let value = match path.sub_attribute() {
        Some(sub) => scim_model::get_ci(value.as_object()?, sub)?,
        None => value,
    };
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl SourceConnector for JsonSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> SourceCapabilities {
        let mut types = vec![ObjectType::USER, ObjectType::GROUP];
        for ty in self.objects.keys().chain(self.problems.keys()) {
            if !types.contains(ty) {
                types.push(ty.clone());
            }
        }
        SourceCapabilities::new(types)
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> connectors::Result<ImportPage> {
        if let Some(token) = page {
            return Err(connectors::Error::permanent(
                &self.name,
                format!("unknown page token {token}: imports are one page"),
            ));
        }
        let mut out = ImportPage::default();
        out.objects = self.objects.get(object_type).cloned().unwrap_or_default();
        out.problems = self.untyped.clone();
        out.problems.extend(
            self.problems
                .get(object_type)
                .into_iter()
                .flatten()
                .cloned(),
        );
        Ok(out)
    }

    async fn changes(
        &self,
        _: &ObjectType,
        _: &Watermark,
        _: Option<&PageToken>,
    ) -> connectors::Result<ChangePage> {
        Err(connectors::Error::unsupported(&self.name, "changes"))
    }

    async fn current_watermark(&self, _: &ObjectType) -> connectors::Result<Watermark> {
        Err(connectors::Error::unsupported(
            &self.name,
            "current_watermark",
        ))
    }

    async fn get(
        &self,
        object_type: &ObjectType,
        id: &SourceId,
    ) -> connectors::Result<Option<Resource>> {
        Ok(self
            .objects
            .get(object_type)
            .and_then(|objects| objects.iter().find(|o| o.id == *id))
            .map(|o| o.resource.clone()))
    }
}

/// A source that remembers whether any call failed, so that a cycle stopped by it is told
/// apart (bad input) from one stopped by the state store or the target file (environment).
#[derive(Debug)]
struct Watched {
    inner: Box<dyn SourceConnector>,
    failed: AtomicBool,
}

impl Watched {
    fn new(inner: Box<dyn SourceConnector>) -> Self {
        Watched {
            inner,
            failed: AtomicBool::new(false),
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    fn watch<T>(&self, r: connectors::Result<T>) -> connectors::Result<T> {
        if r.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        r
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl SourceConnector for Watched {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> SourceCapabilities {
        self.inner.capabilities()
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> connectors::Result<ImportPage> {
        self.watch(self.inner.import_page(object_type, page).await)
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> connectors::Result<ChangePage> {
        self.watch(self.inner.changes(object_type, since, page).await)
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> connectors::Result<Watermark> {
        self.watch(self.inner.current_watermark(object_type).await)
    }

    async fn get(
        &self,
        object_type: &ObjectType,
        id: &SourceId,
    ) -> connectors::Result<Option<Resource>> {
        self.watch(self.inner.get(object_type, id).await)
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON target.

/// The target file: a JSON array of SCIM resources held in a [`MemoryDirectory`] and written
/// back, atomically (a temporary file in the same directory, renamed over it), whenever the
/// directory changed — before each state commit, so the state never records an export the
/// file does not have, and at the end.
#[derive(Debug)]
struct TargetFile {
    path: PathBuf,
    directory: MemoryDirectory,
    /// The directory's change counter when the file was last written or read; `None` when
    /// there is no file yet.
    saved: Mutex<Option<u64>>,
}

impl TargetFile {
    fn load(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, Failure> {
        let shown = path.display().to_string();
        let file = path
            .file_name()
            .map_or_else(|| shown.clone(), |f| f.to_string_lossy().into_owned());
        let directory = MemoryDirectory::builder()
            .name(format!("json:{file}"))
            .clock(clock)
            .build();
        let exists = match std::fs::metadata(path) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => {
                return Err(Failure::Environment(format!(
                    "cannot read the target {shown}: {e}"
                )));
            }
        };
        if !exists {
            return Ok(TargetFile {
                path: path.to_path_buf(),
                directory,
                saved: Mutex::new(None),
            });
        }
        let text = io::read_file(path)?;
        let value = io::parse_json(&text, &format!("the target {shown}"))?;
        let Value::Array(items) = value else {
            return Err(Failure::bad(format!(
                "{shown}: a json target is a JSON array of SCIM resources"
            )));
        };
        let mut by_type: BTreeMap<ObjectType, Vec<Resource>> = BTreeMap::new();
        for (i, item) in items.into_iter().enumerate() {
            let resource = Resource::from_value(item)
                .map_err(|e| Failure::bad(format!("{shown}: resource {i}: {e}")))?;
            let ty = resource_type(&resource);
            if ty != ObjectType::USER && ty != ObjectType::GROUP {
                return Err(Failure::bad(format!(
                    "{shown}: resource {i}: a json target holds Users and Groups, not {ty}"
                )));
            }
            by_type.entry(ty).or_default().push(resource);
        }
        for (ty, resources) in by_type {
            directory
                .load(&ty, resources)
                .map_err(|e| Failure::bad(format!("{shown}: {e}")))?;
        }
        let usn = directory.usn();
        Ok(TargetFile {
            path: path.to_path_buf(),
            directory,
            saved: Mutex::new(Some(usn)),
        })
    }

    /// The directory the file is written to.
    fn folder(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// Checks, before any export, that the file can be written.
    fn probe(&self) -> Result<(), Failure> {
        tempfile::Builder::new()
            .prefix(".idflow-probe-")
            .tempfile_in(self.folder())
            .map(drop)
            .map_err(|e| {
                Failure::Environment(format!(
                    "cannot write the target {}: {e}",
                    self.path.display()
                ))
            })
    }

    /// Writes the file if the directory changed since it was last written (or if there is no
    /// file yet).
    fn save(&self) -> Result<(), String> {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        // Read the counter before the snapshot: a write that lands between them makes the
        // next save write again.
        let usn = self.directory.usn();
        if *saved == Some(usn) {
            return Ok(());
        }
        let mut resources = self.directory.snapshot(&ObjectType::USER);
        resources.extend(self.directory.snapshot(&ObjectType::GROUP));
        let mut text = serde_json::to_string_pretty(&resources)
            .map_err(|e| format!("cannot write the target {}: {e}", self.path.display()))?;
        text.push('\n');
        self.write_atomically(text.as_bytes())
            .map_err(|e| format!("cannot write the target {}: {e}", self.path.display()))?;
        *saved = Some(usn);
        Ok(())
    }

    fn write_atomically(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".idflow-")
            .suffix(".tmp")
            .tempfile_in(self.folder())?;
        tmp.write_all(bytes)?;
        if let Ok(meta) = std::fs::metadata(&self.path) {
            // Keep the file's permissions (a temporary file is private).
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        // Make the rename durable too; not every platform can open a directory for this.
        if let Ok(dir) = std::fs::File::open(self.folder()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Checkpoint for TargetFile {
    fn before_commit(&self) -> Result<(), String> {
        self.save()
    }
}

// ---------------------------------------------------------------------------------------------
// The state.

/// The state store: `DIR/state.redb` (DIR created if absent), or a fresh in-memory store
/// without `--state`.
///
/// A preview leaves the state file as it is, byte for byte: redb writes to its file when it
/// opens and closes it, so a preview works on a copy in a temporary directory (returned, to
/// live as long as the store); with no state file yet it starts from an empty in-memory store,
/// which is what the file would hold.
fn open_state(
    dir: Option<&Path>,
    preview: bool,
) -> Result<(Arc<dyn StateStore>, Option<tempfile::TempDir>), Failure> {
    let Some(dir) = dir else {
        return Ok((Arc::new(MemoryStateStore::new()), None));
    };
    let file = dir.join(STATE_FILE);
    let environment = |what: &str, e: &dyn std::fmt::Display| {
        Failure::Environment(format!("{what} {}: {e}", dir.display()))
    };
    if preview {
        let exists = file
            .try_exists()
            .map_err(|e| environment("cannot read the state directory", &e))?;
        if !exists {
            return Ok((Arc::new(MemoryStateStore::new()), None));
        }
        let copy_dir =
            tempfile::tempdir().map_err(|e| environment("cannot copy the state in", &e))?;
        let copy = copy_dir.path().join(STATE_FILE);
        std::fs::copy(&file, &copy).map_err(|e| environment("cannot copy the state in", &e))?;
        let store = RedbStateStore::open(&copy).map_err(|e| Failure::Environment(e.to_string()))?;
        return Ok((Arc::new(store), Some(copy_dir)));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| environment("cannot create the state directory", &e))?;
    let store = RedbStateStore::open(&file).map_err(|e| Failure::Environment(e.to_string()))?;
    Ok((Arc::new(store), None))
}
