//! `idflow workflows --config wf.json --users users.json --now RFC3339 [--state DIR]`: runs
//! the due lifecycle workflows once and prints the runs, the users that could not be
//! evaluated, and the emails sent.
//!
//! The users file (a JSON array of SCIM resources, or a ListResponse) is loaded into a
//! [`MemoryDirectory`]: Groups (by their schema) as groups, everything else as users. Emails
//! go to a [`RecordingSender`]; only their recipient, subject and language are printed, so a
//! Temporary Access Pass never reaches the output. `--state DIR` keeps claims, change
//! snapshots and history in a durable store, so a later run processes each trigger
//! occurrence once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use connectors::state::{MemoryStateStore, RedbStateStore};
use connectors::{FakeClock, JobId, MemoryDirectory, ObjectType, StateStore};
use lifecycle::tasks::RecordingSender;
use lifecycle::{Limits, Runner, WorkflowSet};
use scim_model::{GROUP_SCHEMA, Resource};
use serde_json::{Value, json};

use crate::{Failure, io};

/// The job's name in the state store (the state directory belongs to one set of workflows).
const JOB_ID: &str = "idflow-workflows";

/// The file the durable state is kept in, inside `--state DIR`.
const STATE_FILE: &str = "lifecycle.redb";

/// Options of `idflow workflows`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// One workflow or a JSON array of them, in Microsoft Graph's shape (as exported from Entra).
    #[arg(long)]
    config: PathBuf,
    /// A JSON array of SCIM resources (or a ListResponse): the users, and the groups tasks name.
    #[arg(long)]
    users: PathBuf,
    /// The run time (RFC 3339), e.g. 2026-03-02T09:00:00Z.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    now: DateTime<Utc>,
    /// The directory holding claims and history (created if absent); without it nothing is
    /// kept between runs.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 instant ({e})"))
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let config = io::read_file(&args.config)?;
    let workflows = WorkflowSet::from_json_str(&config, Limits::default())
        .map_err(|e| Failure::bad(format!("{}: {e}", args.config.display())))?;
    let directory = load_users(&args.users)?;
    let state = open_state(args.state.as_deref())?;
    let clock = FakeClock::at(args.now);
    let emails = RecordingSender::new();
    let runner = Runner::builder(JobId::new(JOB_ID), workflows, Arc::new(directory), state)
        .clock(Arc::new(clock))
        .email_sender(Arc::new(emails.clone()))
        // One holder name for every run of the tool: redb locks the state file, so two runs
        // never write one state at once, and a run after a crashed one takes the lease over at
        // once instead of waiting for it to expire.
        .holder("idflow-cli")
        .build()
        .map_err(|e| Failure::bad(format!("{}: {e}", args.config.display())))?;

    let report = futures::executor::block_on(runner.run_due(args.now))
        .map_err(|e| Failure::Environment(format!("the run stopped: {e}")))?;
    let mut out = serde_json::to_value(&report)
        .map_err(|e| Failure::Environment(format!("cannot print the report: {e}")))?;
    let sent: Vec<Value> = emails
        .sent()
        .iter()
        .map(|e| json!({"to": e.to, "subject": e.subject, "language": e.language}))
        .collect();
    if let Some(o) = out.as_object_mut() {
        o.insert("emails".to_owned(), Value::Array(sent));
    }
    io::print_json(&out)
}

/// Loads the users file into a directory: Groups as groups, the rest as users.
fn load_users(path: &Path) -> Result<MemoryDirectory, Failure> {
    let text = io::read_file(path)?;
    let what = path.display().to_string();
    let value = io::parse_json(&text, &what)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) => {
            let key = o
                .keys()
                .find(|k| k.eq_ignore_ascii_case("Resources"))
                .cloned();
            match key.and_then(|k| o.remove(&k)) {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(Failure::bad(format!(
                        "{what}: expected a JSON array of SCIM resources or a ListResponse"
                    )));
                }
            }
        }
        _ => {
            return Err(Failure::bad(format!(
                "{what}: expected a JSON array of SCIM resources or a ListResponse"
            )));
        }
    };
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let r = Resource::from_value(item)
            .map_err(|e| Failure::bad(format!("{what}: resource [{i}]: {e}")))?;
        if r.has_schema(GROUP_SCHEMA) {
            groups.push(r);
        } else {
            users.push(r);
        }
    }
    // Graph attributes such as employeeHireDate are outside the core schema: no validation.
    let directory = MemoryDirectory::builder().validate(false).build();
    directory
        .load(&ObjectType::USER, users)
        .and_then(|_| directory.load(&ObjectType::GROUP, groups))
        .map_err(|e| Failure::bad(format!("{what}: {e}")))?;
    Ok(directory)
}

fn open_state(dir: Option<&Path>) -> Result<Arc<dyn StateStore>, Failure> {
    let Some(dir) = dir else {
        return Ok(Arc::new(MemoryStateStore::new()));
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::Environment(format!(
            "cannot create the state directory {}: {e}",
            dir.display()
        ))
    })?;
    let store = RedbStateStore::open(dir.join(STATE_FILE))
        .map_err(|e| Failure::Environment(e.to_string()))?;
    Ok(Arc::new(store))
}
