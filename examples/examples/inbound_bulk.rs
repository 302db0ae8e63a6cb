//! API-driven inbound provisioning: an HR system POSTs SCIM BulkRequests (Entra's
//! `/bulkUpload` shape: at most 50 `POST /Users` operations, the enterprise extension and a
//! custom extension carrying HireDate and LeaveDate); each request is validated, staged, and
//! the next cycle provisions the staged records into a directory.
//!
//! Run it with `cargo run -p idflow-examples --example inbound_bulk`.
//!
//! The staged records are the source: a small `SourceConnector` written here (about forty
//! lines), to show how a host brings its own source. As with Entra, the client does no
//! diffing: it re-POSTs whole records, and the engine sends only what changed.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connectors::{
    ChangePage, ImportPage, JobId, MemoryDirectory, MemoryStateStore, ObjectType, PageToken,
    SourceCapabilities, SourceConnector, SourceId, SourceObject, Watermark,
};
use scim_model::message::{BulkRequest, validate_inbound};
use scim_model::{Limits, Resource, SchemaRegistry};
use sync_engine::{CycleReport, Job, RunOptions, SyncEngine};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/inbound")
        .join(name)
}

/// The records staged by inbound requests, by externalId: the engine's source.
#[derive(Debug, Default)]
struct Staged {
    records: Mutex<BTreeMap<String, Resource>>,
}

impl Staged {
    /// Validates a BulkRequest against the inbound profile and stages its records.
    fn accept(&self, text: &str) -> Result<usize, Box<dyn Error>> {
        let request = BulkRequest::from_json_str(text, &Limits::default())?;
        let problems = validate_inbound(&request);
        if let Some(first) = problems.first() {
            return Err(format!(
                "request refused ({} problems), first: {first}",
                problems.len()
            )
            .into());
        }
        let mut records = self.records.lock().map_err(|_| "poisoned")?;
        for op in &request.operations {
            let data = op.data.clone().ok_or("an operation has no data")?;
            let resource = Resource::from_value(data)?;
            let id = resource
                .external_id()
                .ok_or("a record has no externalId")?
                .to_owned();
            records.insert(id, resource);
        }
        Ok(request.operations.len())
    }
}

#[async_trait]
impl SourceConnector for Staged {
    fn name(&self) -> &str {
        "inbound"
    }

    fn capabilities(&self) -> SourceCapabilities {
        SourceCapabilities::new([ObjectType::USER])
    }

    async fn import_page(
        &self,
        ty: &ObjectType,
        _: Option<&PageToken>,
    ) -> connectors::Result<ImportPage> {
        let mut page = ImportPage::default();
        if *ty == ObjectType::USER {
            let records = self
                .records
                .lock()
                .map_err(|_| connectors::Error::permanent("inbound", "poisoned"))?;
            page.objects = records
                .iter()
                .map(|(id, r)| SourceObject::new(id.as_str(), r.clone()))
                .collect();
        }
        Ok(page)
    }

    async fn changes(
        &self,
        _: &ObjectType,
        _: &Watermark,
        _: Option<&PageToken>,
    ) -> connectors::Result<ChangePage> {
        Err(connectors::Error::unsupported("inbound", "changes"))
    }

    async fn current_watermark(&self, _: &ObjectType) -> connectors::Result<Watermark> {
        Err(connectors::Error::unsupported(
            "inbound",
            "current_watermark",
        ))
    }

    async fn get(&self, _: &ObjectType, id: &SourceId) -> connectors::Result<Option<Resource>> {
        let records = self
            .records
            .lock()
            .map_err(|_| connectors::Error::permanent("inbound", "poisoned"))?;
        Ok(records.get(id.as_str()).cloned())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // The custom extension, registered at run time from its RFC 7643 §7 schema document.
    let mut registry = SchemaRegistry::default();
    registry.register_str(&std::fs::read_to_string(data("contoso-extension.json"))?)?;

    let staged = Arc::new(Staged::default());
    let directory = Arc::new(MemoryDirectory::with_registry(registry.clone()));
    let state = Arc::new(MemoryStateStore::new());
    let job = Job::from_json_str(&std::fs::read_to_string(data("job.json"))?)?;
    let engine = SyncEngine::new(
        JobId::new("inbound-api"),
        job,
        staged.clone(),
        directory.clone(),
        state,
    )?
    .with_registry(registry);

    println!("idflow — API-driven inbound provisioning\n");
    for (n, file) in ["bulk-1.json", "bulk-2.json"].iter().enumerate() {
        let accepted = staged.accept(&std::fs::read_to_string(data(file))?)?;
        println!("POST /bulkUpload ({file}): 202 Accepted, {accepted} records staged");
        let report = futures::executor::block_on(engine.run_cycle(&RunOptions::new()))?;
        print_cycle(n + 1, &report);
    }

    // A request that breaks the inbound rules is refused before anything is staged.
    let bad = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "PATCH", "path": "/Users/1", "bulkId": "x", "data": {}}]}"#;
    match staged.accept(bad) {
        Ok(_) => println!("\nunexpected: a PATCH operation was accepted"),
        Err(e) => println!("\nPOST /bulkUpload (a PATCH operation): 400 Bad Request — {e}"),
    }

    println!("\nThe directory now:");
    for user in directory.snapshot(&ObjectType::USER) {
        let ext = |urn: &str, name: &str| {
            user.attribute(Some(urn), name)
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_else(|| "–".to_owned())
        };
        let contoso = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User";
        println!(
            "  {:<28} {:<18} active={:<5} type={:<9} hired {} leaves {}",
            user.get("userName").and_then(|v| v.as_str()).unwrap_or("?"),
            user.get("title").and_then(|v| v.as_str()).unwrap_or("?"),
            user.get("active")
                .map(ToString::to_string)
                .unwrap_or_default(),
            user.get("userType").and_then(|v| v.as_str()).unwrap_or("–"),
            ext(contoso, "HireDate"),
            ext(contoso, "LeaveDate"),
        );
    }
    Ok(())
}

fn print_cycle(n: usize, r: &CycleReport) {
    let s = &r.summary;
    println!(
        "cycle {n} ({:?}): created {}, updated {}, disabled {}, skipped {}, failed {} — {} ms",
        r.cycle.kind, s.created, s.updated, s.disabled, s.skipped, s.failed, r.elapsed_ms
    );
    for e in &r.log {
        let who = e
            .source_identity
            .display_name
            .as_deref()
            .unwrap_or(&e.source_identity.id);
        let changes: Vec<String> = e
            .modified_properties
            .iter()
            .filter(|_| e.action != sync_engine::Action::Create)
            .map(|p| {
                format!(
                    "{}: {} → {}",
                    p.display_name.rsplit(':').next().unwrap_or(&p.display_name),
                    p.old_value.as_deref().unwrap_or("∅"),
                    p.new_value.as_deref().unwrap_or("∅")
                )
            })
            .collect();
        println!(
            "  {:?}/{:?} {who} {}",
            e.action,
            e.status,
            changes.join("; ")
        );
    }
    println!();
}
