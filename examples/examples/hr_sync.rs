//! HR-driven provisioning, end to end: an HR system's CSV export of 3,000 people is synced
//! into a directory, then the export changes and a second cycle touches only what changed.
//!
//! Run it with `cargo run -p idflow-examples --example hr_sync`.
//!
//! - Source: `examples/data/hr.csv` through `CsvSource` (a full export each time; the engine
//!   diffs it against the fingerprints it stored, so the second cycle is a delta one).
//! - Target: an in-memory SCIM directory (`MemoryDirectory`).
//! - State: the durable `RedbStateStore` in a temporary directory (links, watermarks,
//!   escrows, the provisioning log) — kill the example at any point and a re-run with the
//!   same state would carry on without duplicates.
//! - The job: `examples/data/hr-job.json` (the same file `idflow sync --job` reads): people
//!   who are active and not contractors, matched on externalId then userName, with their
//!   manager resolved to the directory's ids.

use std::error::Error;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::{
    CsvOptions, CsvSource, JobId, MemoryDirectory, ObjectType, RedbStateStore, SourceConnector,
};
use scim_model::AttributePath;
use sync_engine::{CycleReport, Job, LogEntry, Progress, RunOptions, SyncEngine};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn main() -> Result<(), Box<dyn Error>> {
    let job = Job::from_json_str(&std::fs::read_to_string(data("hr-job.json"))?)?;
    let work = tempfile::tempdir()?;
    let state = Arc::new(RedbStateStore::open(work.path().join("state.redb"))?);
    let directory = Arc::new(MemoryDirectory::new());

    println!("idflow — HR to directory");
    println!("  source : examples/data/hr.csv (3,000 people)");
    println!("  target : an in-memory SCIM directory");
    println!(
        "  state  : {} (redb, durable)\n",
        work.path().join("state.redb").display()
    );

    // Cycle 1: the first export.
    let first = run(&job, &data("hr.csv"), &directory, &state)?;
    print_summary("cycle 1 (initial)", &first);
    println!(
        "  directory now holds {} users; {} log entries written\n",
        directory.len(&ObjectType::USER),
        first.log.len()
    );

    // HR changes the export: moves, a leaver, a rehire, new hires, a removed record.
    let changed = work.path().join("hr-next.csv");
    let changes = change_export(&data("hr.csv"), &changed)?;
    println!("HR's next export changes {} records:", changes.len());
    for c in &changes {
        println!("  - {c}");
    }
    println!();

    // Cycle 2: the same job and state, the new export — only the changes flow.
    let second = run(&job, &changed, &directory, &state)?;
    print_summary("cycle 2 (delta)", &second);
    println!("\nWhat cycle 2 did (the provisioning log):");
    for e in &second.log {
        print_entry(e);
    }
    Ok(())
}

fn run(
    job: &Job,
    csv: &Path,
    directory: &Arc<MemoryDirectory>,
    state: &Arc<RedbStateStore>,
) -> Result<CycleReport, Box<dyn Error>> {
    let options = CsvOptions::default().with_id_attribute(AttributePath::new("externalId"));
    let source: Arc<dyn SourceConnector> = Arc::new(CsvSource::open(csv, options)?);
    let engine = SyncEngine::new(
        JobId::new("hr-to-directory"),
        job.clone(),
        source,
        directory.clone(),
        state.clone(),
    )?
    .with_progress(show_progress);
    let report = futures::executor::block_on(engine.run_cycle(&RunOptions::new()))?;
    eprint!("\r{:90}\r", "");
    Ok(report)
}

/// Progress on long work, on one line of stderr.
fn show_progress(p: &Progress) {
    let s = &p.summary;
    eprint!(
        "\r  cycle {}: {} {} processed — {} created, {} updated, {} skipped",
        p.cycle, p.processed, p.object_type, s.created, s.updated, s.skipped
    );
    let _ = std::io::stderr().flush();
}

fn print_summary(title: &str, r: &CycleReport) {
    let s = &r.summary;
    println!("{title}: {:?} cycle {}", r.cycle.kind, r.cycle.id);
    println!(
        "  ┌─────────┬─────────┬──────────┬─────────┬─────────┬────────┬──────────┬──────────┐"
    );
    println!(
        "  │ created │ updated │ disabled │ deleted │ skipped │ failed │ escrowed │ time     │"
    );
    println!(
        "  ├─────────┼─────────┼──────────┼─────────┼─────────┼────────┼──────────┼──────────┤"
    );
    println!(
        "  │ {:>7} │ {:>7} │ {:>8} │ {:>7} │ {:>7} │ {:>6} │ {:>8} │ {:>6} ms │",
        s.created, s.updated, s.disabled, s.deleted, s.skipped, s.failed, s.escrowed, r.elapsed_ms
    );
    println!(
        "  └─────────┴─────────┴──────────┴─────────┴─────────┴────────┴──────────┴──────────┘"
    );
    if let Some(q) = &r.quarantine {
        println!("  quarantined: {:?} — {}", q.reason, q.detail);
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}

fn print_entry(e: &LogEntry) {
    let who = e
        .source_identity
        .display_name
        .as_deref()
        .unwrap_or(e.source_identity.id.as_str());
    println!(
        "  {:?}/{:?}  {} ({})",
        e.action, e.status, who, e.source_identity.id
    );
    for p in &e.modified_properties {
        println!(
            "      {}: {} → {}",
            p.display_name,
            p.old_value.as_deref().unwrap_or("∅"),
            p.new_value.as_deref().unwrap_or("∅")
        );
    }
    let references = e
        .provisioning_steps
        .iter()
        .filter(|s| s.provisioning_step_type == sync_engine::StepType::ReferenceResolution);
    for step in references {
        println!("      {}", step.description);
    }
    if let Some(info) = &e.status_info {
        println!("      {}: {}", info.error_code, info.reason);
    }
}

/// Writes the next export: a few realistic changes to the first one. Returns what changed.
fn change_export(from: &Path, to: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let text = std::fs::read_to_string(from)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut changes = Vec::new();
    let header: Vec<String> = lines
        .first()
        .map(|h| h.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h.ends_with(name));
    let (Some(dept), Some(active), Some(title)) = (col(":department"), col("active"), col("title"))
    else {
        return Err("hr.csv does not have the expected columns".into());
    };
    // Rows are 1-based below the header. Pick rows whose current values make the change real.
    edit(
        &mut lines,
        &mut changes,
        101,
        dept,
        "Finance",
        "moves department",
    );
    edit(
        &mut lines,
        &mut changes,
        202,
        dept,
        "Support",
        "moves department",
    );
    edit(
        &mut lines,
        &mut changes,
        303,
        title,
        "Senior Engineer",
        "is promoted",
    );
    edit(
        &mut lines,
        &mut changes,
        404,
        active,
        "false",
        "leaves the company",
    );
    edit(
        &mut lines,
        &mut changes,
        505,
        active,
        "false",
        "leaves the company",
    );
    // Rehire: the first inactive record becomes active.
    let rehire = (1..lines.len())
        .find(|&r| lines[r].split(',').nth(active) == Some("false") && r != 404 && r != 505);
    if let Some(row) = rehire {
        edit(&mut lines, &mut changes, row, active, "true", "is rehired");
    }
    // A record removed from the export (deleted at the source).
    let removed = lines.remove(606);
    changes.push(format!(
        "{}: removed from the export",
        removed.split(',').next().unwrap_or("?")
    ));
    // New hires.
    for (i, (first, last)) in [("Marie", "Curie"), ("Emmy", "Noether")].iter().enumerate() {
        let id = format!("E{:05}", 3001 + i);
        let user = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        lines.push(format!(
            "{id},{user}@contoso.com,{first},{last},{first} {last},Engineer,{user}@contoso.com,true,{},Engineering,CC-100,E00001",
            13001 + i
        ));
        changes.push(format!("{id}: new hire {first} {last}"));
    }
    std::fs::write(to, lines.join("\n") + "\n")?;
    Ok(changes)
}

/// Sets one cell of one CSV line (cells hold no commas in this file) and notes the change.
fn edit(
    lines: &mut [String],
    changes: &mut Vec<String>,
    row: usize,
    column: usize,
    value: &str,
    what: &str,
) {
    if let Some(line) = lines.get_mut(row) {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        let id = cells.first().cloned().unwrap_or_default();
        if let Some(cell) = cells.get_mut(column) {
            changes.push(format!("{id}: {what} ({cell} → {value})"));
            *cell = value.to_owned();
            *line = cells.join(",");
        }
    }
}
