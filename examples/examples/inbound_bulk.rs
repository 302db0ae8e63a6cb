//! API-driven inbound provisioning: an HR system POSTs SCIM BulkRequests (Entra's
//! `/bulkUpload` shape: at most 50 `POST /Users` operations, the enterprise extension and a
//! custom extension carrying HireDate and LeaveDate) to an `InboundQueue`, which checks each
//! request, stores it durably and answers with a receipt; the sync engine reads the queue as a
//! delta source (the queue position is its watermark) and provisions a directory.
//!
//! Run it with `cargo run -p idflow-examples --example inbound_bulk`; its test with
//! `cargo test -p idflow-examples --example inbound_bulk`.
//!
//! What it shows, in order:
//! 1. a full record set (`bulk-1.json`), then the full set again with a promotion, a leaver
//!    (`active: false`) and a joiner (`bulk-2.json`): as with Entra, the client does no
//!    diffing — it re-POSTs whole records and the engine sends only what changed;
//! 2. a partial record set (`bulk-3.json`): only the changed attributes of two workers. The
//!    queue merges them over what it holds, so nothing omitted is cleared — not even the
//!    HireDate that the job's scoping filter needs;
//! 3. what a gateway answers on `GET /bulkUpload/{id}`: the receipt, and each record's
//!    provisioning log by its source id;
//! 4. a request that breaks the rules (`bulk-bad.json`): refused whole, every problem named;
//! 5. a restart: the queue and the engine state live in one redb file, reopened; the receipts
//!    are still there, and the host compacts the queue up to the engine's watermark.

use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::inbound::{InboundError, InboundQueue, Receipt};
use connectors::state::StateStoreExt;
use connectors::{JobId, MemoryDirectory, ObjectType, RedbStateStore, StateStore};
use scim_model::{Resource, SchemaRegistry};
use sync_engine::{CycleReport, Job, RunOptions, SyncEngine};

const SCIM: &str = "application/scim+json";
const CONTOSO: &str = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/inbound")
        .join(name)
}

fn read(name: &str) -> Result<String, Box<dyn Error>> {
    std::fs::read_to_string(data(name)).map_err(|e| format!("{name}: {e}").into())
}

/// What one run produced, for the test.
#[cfg_attr(not(test), allow(dead_code))]
struct Outcome {
    directory: Arc<MemoryDirectory>,
    refused: InboundError,
    receipts: Vec<Receipt>,
    compacted: u64,
}

/// One host process: the queue and the engine over the state file at `state`.
struct Host {
    queue: InboundQueue,
    engine: SyncEngine,
    store: Arc<dyn StateStore>,
}

impl Host {
    fn open(
        state: &Path,
        directory: &Arc<MemoryDirectory>,
        registry: &SchemaRegistry,
    ) -> Result<Host, Box<dyn Error>> {
        let store: Arc<dyn StateStore> = Arc::new(RedbStateStore::open(state)?);
        let queue = InboundQueue::new(store.clone(), "contoso-hr");
        let job = Job::from_json_str(&read("job.json")?)?;
        let engine = SyncEngine::new(
            JobId::new("inbound-api"),
            job,
            Arc::new(queue.clone()),
            directory.clone(),
            store.clone(),
        )?
        .with_registry(registry.clone());
        Ok(Host {
            queue,
            engine,
            store,
        })
    }

    /// `POST /bulkUpload` with a file's body.
    fn post(&self, out: &mut impl Write, file: &str) -> Result<Receipt, Box<dyn Error>> {
        let receipt = block(self.queue.accept(read(file)?, Some(SCIM)))?;
        writeln!(
            out,
            "POST /bulkUpload ({file}): 202 Accepted, Location: /bulkUpload/{} — {} records at positions {}–{}",
            receipt.id,
            receipt.records.len(),
            receipt.first_position().unwrap_or(0),
            receipt.last_position().unwrap_or(0),
        )?;
        Ok(receipt)
    }

    fn cycle(&self, out: &mut impl Write) -> Result<(), Box<dyn Error>> {
        let report = block(self.engine.run_cycle(&RunOptions::new()))?;
        print_cycle(out, &report)?;
        Ok(())
    }

    /// What a gateway shows on `GET /bulkUpload/{id}`.
    fn show(&self, out: &mut impl Write, receipt: &Receipt) -> Result<(), Box<dyn Error>> {
        let stored = block(self.queue.receipt(&receipt.id))?.ok_or("the receipt is gone")?;
        writeln!(
            out,
            "GET /bulkUpload/{}: accepted {}",
            stored.id,
            stored.accepted_at.format("%Y-%m-%dT%H:%M:%SZ")
        )?;
        for record in &stored.records {
            let log = block(
                self.engine
                    .log_of_object(&record.object_type, &record.source_id),
            )?;
            let entries: Vec<String> = log
                .iter()
                .map(|e| format!("{:?}/{:?}", e.action, e.status))
                .collect();
            writeln!(
                out,
                "  bulkId {} (externalId {}, position {}): {}",
                record.bulk_id,
                record.source_id,
                record.position,
                entries.join(", ")
            )?;
        }
        Ok(())
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn run(out: &mut impl Write, state: &Path) -> Result<Outcome, Box<dyn Error>> {
    // The custom extension, registered at run time from its RFC 7643 §7 schema document.
    let mut registry = SchemaRegistry::default();
    registry.register_str(&read("contoso-extension.json")?)?;
    let directory = Arc::new(MemoryDirectory::with_registry(registry.clone()));

    writeln!(out, "idflow — API-driven inbound provisioning\n")?;
    let host = Host::open(state, &directory, &registry)?;
    let mut receipts = Vec::new();
    for file in ["bulk-1.json", "bulk-2.json"] {
        receipts.push(host.post(out, file)?);
        host.cycle(out)?;
    }

    writeln!(
        out,
        "A partial record set: only what changed (a department; a hire date)."
    )?;
    receipts.push(host.post(out, "bulk-3.json")?);
    host.cycle(out)?;
    if let Some(partial) = receipts.last() {
        host.show(out, partial)?;
    }

    // A request that breaks the inbound rules is refused whole, before anything is stored.
    let refused = match block(host.queue.accept(read("bulk-bad.json")?, Some(SCIM))) {
        Ok(_) => return Err("bulk-bad.json was accepted".into()),
        Err(e) => e,
    };
    writeln!(
        out,
        "\nPOST /bulkUpload (bulk-bad.json): {} — nothing stored:",
        refused.status()
    )?;
    for p in refused.problems() {
        writeln!(out, "  {p}")?;
    }
    let watermark = block(
        host.store
            .watermark(&JobId::new("inbound-api"), &ObjectType::USER),
    )?
    .ok_or("the engine stored no watermark")?
    .watermark;
    drop(host);

    // A restart: everything accepted is still there.
    let host = Host::open(state, &directory, &registry)?;
    writeln!(out, "\nAfter a restart:")?;
    for r in &receipts {
        let back = block(host.queue.receipt(&r.id))?.ok_or("a receipt was lost")?;
        writeln!(
            out,
            "  receipt {}: {} records, read by the engine: {}",
            back.id,
            back.records.len(),
            back.is_read_by(&watermark)
        )?;
    }
    let compacted = block(host.queue.compact(&watermark))?;
    writeln!(
        out,
        "  compacted the queue up to the engine's watermark (position {}): {compacted} records dropped, current views kept",
        watermark.to_u64().unwrap_or(0)
    )?;
    host.cycle(out)?;

    writeln!(out, "The directory now:")?;
    for user in directory.snapshot(&ObjectType::USER) {
        print_user(out, &user)?;
    }
    Ok(Outcome {
        directory,
        refused,
        receipts,
        compacted,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let mut out = std::io::stdout().lock();
    run(&mut out, &dir.path().join("state.redb"))?;
    Ok(())
}

fn text(v: Option<&serde_json::Value>) -> String {
    v.map(|v| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    })
    .unwrap_or_else(|| "–".to_owned())
}

fn print_user(out: &mut impl Write, user: &Resource) -> std::io::Result<()> {
    writeln!(
        out,
        "  {:<26} {:<18} {:<13} active={:<5} type={:<9} hired {} leaves {}",
        text(user.get("userName")),
        text(user.get("title")),
        text(user.attribute(Some(ENT), "department")),
        text(user.get("active")),
        text(user.get("userType")),
        text(user.attribute(Some(CONTOSO), "HireDate")),
        text(user.attribute(Some(CONTOSO), "LeaveDate")),
    )
}

fn print_cycle(out: &mut impl Write, r: &CycleReport) -> std::io::Result<()> {
    let s = &r.summary;
    writeln!(
        out,
        "  cycle ({:?}): created {}, updated {}, disabled {}, skipped {}, failed {}",
        r.cycle.kind, s.created, s.updated, s.disabled, s.skipped, s.failed
    )?;
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
        writeln!(
            out,
            "    {:?}/{:?} {who} {}",
            e.action,
            e.status,
            changes.join("; ")
        )?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn user(dir: &MemoryDirectory, user_name: &str) -> Resource {
        dir.snapshot(&ObjectType::USER)
            .into_iter()
            .find(|u| u.get("userName").and_then(Value::as_str) == Some(user_name))
            .unwrap_or_else(|| panic!("{user_name} is not in the directory"))
    }

    #[test]
    fn the_example_provisions_full_and_partial_records_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let outcome = run(&mut out, &dir.path().join("state.redb")).unwrap();
        let printed = String::from_utf8(out).unwrap();
        let d = &outcome.directory;
        assert_eq!(d.snapshot(&ObjectType::USER).len(), 6);
        // The partial record changed the department only: title, hire date and scope stay.
        let arjun = user(d, "arjun.rao@contoso.com");
        assert_eq!(
            arjun.attribute(Some(ENT), "department"),
            Some(&json!("Partnerships"))
        );
        assert_eq!(arjun.get("title"), Some(&json!("Account Executive")));
        assert_eq!(
            arjun.attribute(Some(CONTOSO), "HireDate"),
            Some(&json!("2024-02-12T09:00:00+05:30"))
        );
        assert_eq!(arjun.get("active"), Some(&json!(true)));
        let tomas = user(d, "tomas.novak@contoso.com");
        assert_eq!(
            tomas.attribute(Some(CONTOSO), "HireDate"),
            Some(&json!("2027-02-01T08:00:00Z"))
        );
        assert_eq!(tomas.get("title"), Some(&json!("Engineer")));
        // The leaver of bulk-2 is disabled, not deleted.
        assert_eq!(
            user(d, "lena.fischer@contoso.com").get("active"),
            Some(&json!(false))
        );
        // The bad request: every problem, nothing stored.
        let problems: Vec<String> = outcome
            .refused
            .problems()
            .iter()
            .map(|p| format!("{:?} {}", p.operation, p.field))
            .collect();
        assert_eq!(
            problems,
            [
                "Some(0) method",
                "Some(0) path",
                "Some(0) data.schemas",
                "Some(0) data.schemas",
                "Some(0) data.externalId",
                "Some(1) bulkId",
                "Some(1) data.externalId"
            ]
        );
        assert_eq!(outcome.refused.status(), 400);
        // Receipts: 5 + 6 + 2 records, positions 1..=13, all read back after the restart
        // and all read by the engine; compaction dropped all 13.
        let last: Vec<Option<u64>> = outcome
            .receipts
            .iter()
            .map(Receipt::last_position)
            .collect();
        assert_eq!(last, [Some(5), Some(11), Some(13)]);
        assert_eq!(outcome.compacted, 13);
        assert_eq!(printed.matches("read by the engine: true").count(), 3);
        // The partial request's records lead to their provisioning log.
        assert!(
            printed.contains(
                "bulkId 701004 (externalId 701004, position 12): Create/Success, Update/Success"
            ),
            "{printed}"
        );
    }
}
