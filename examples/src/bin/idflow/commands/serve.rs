//! `idflow serve --listen ADDR [--token TOKEN] [--data resources.json]`: the SCIM gateway
//! over a [`MemoryDirectory`], at `http://ADDR/scim/v2`, until Ctrl-C or SIGTERM.
//!
//! Beside it, `POST /bulkUpload` takes Entra-shaped API-driven inbound requests into an
//! [`InboundQueue`]; a background sync cycle provisions them into the same directory with the
//! job in `examples/data/serve/inbound-job.json` (the core and enterprise User attributes an
//! HR source sends, matched on `externalId`). Queue and state are in memory, like the
//! directory: they last as long as the process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::inbound::InboundQueue;
use connectors::{JobId, MemoryDirectory, MemoryStateStore, ObjectType, StateStore};
use idflow_examples::gateway::{self, BASE_PATH, BearerToken, Gateway, Inbound};
use scim_model::schema::Operation;
use scim_model::{GROUP_SCHEMA, Resource, USER_SCHEMA};
use serde_json::Value;
use sync_engine::{Job, SyncEngine};

use crate::{Failure, io};

/// The job that provisions inbound records into the directory.
const INBOUND_JOB: &str = include_str!("../../../../data/serve/inbound-job.json");

/// Options of `idflow serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port; the address
    /// listened on is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// Require `Authorization: Bearer TOKEN` on every request. Also read from the
    /// environment variable IDFLOW_TOKEN, which other users of the machine cannot see in the
    /// process list as they can see arguments.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "IDFLOW_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// A JSON array of SCIM resources (Users and Groups) to start with, or a ListResponse.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let token = match args.token {
        None => None,
        Some(t) => Some(BearerToken::new(t).ok_or_else(|| {
            Failure::bad("--token: a token must be non-empty and without spaces")
        })?),
    };
    let directory = MemoryDirectory::new();
    if let Some(path) = &args.data {
        load(&directory, path)?;
    }
    let mut gw = Gateway::new(Arc::new(directory.clone()))
        .with_registry(directory.registry().clone())
        .with_inbound(inbound(&directory)?);
    if let Some(token) = token {
        gw = gw.with_token(token);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Environment(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(serve(&args.listen, gw));
    // The background inbound task is dropped here; a blocking Bulk task cannot be left, since
    // the server stopped only once every connection was answered.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result
}

/// The inbound endpoint: a queue on an in-memory store, and the engine that provisions from it
/// into `directory`.
fn inbound(directory: &MemoryDirectory) -> Result<Inbound, Failure> {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    let queue = InboundQueue::new(store.clone(), "bulkUpload");
    let broken = |e: sync_engine::Error| {
        Failure::Environment(format!("the built-in inbound job is broken: {e}"))
    };
    let job = Job::from_json_str(INBOUND_JOB).map_err(broken)?;
    let engine = SyncEngine::new(
        JobId::new("idflow-serve-inbound"),
        job,
        Arc::new(queue.clone()),
        Arc::new(directory.clone()),
        store,
    )
    .map_err(broken)?
    .with_registry(directory.registry().clone())
    .with_holder("idflow-serve");
    Ok(Inbound::new(queue, engine))
}

async fn serve(listen: &str, gateway: Gateway) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            Failure::bad(format!("--listen {listen:?}: {e}"))
        } else {
            Failure::Environment(format!("cannot listen on {listen}: {e}"))
        }
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Environment(format!("cannot listen on {listen}: {e}")))?;
    eprintln!("idflow serve: listening on http://{addr}{BASE_PATH}");
    axum::serve(listener, gateway::router(gateway))
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| Failure::Environment(format!("the server failed: {e}")))?;
    eprintln!("idflow serve: stopped");
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Loads `--data` into the directory: Groups (by `schemas` or `meta.resourceType`) as groups,
/// Users as users, each checked against the schemas; ids and `meta` timestamps are kept.
fn load(directory: &MemoryDirectory, path: &Path) -> Result<(), Failure> {
    let what = path.display().to_string();
    let text = io::read_file(path)?;
    let value = io::parse_json(&text, &what)?;
    let shape = || {
        Failure::bad(format!(
            "{what}: expected a JSON array of SCIM resources or a ListResponse"
        ))
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) => match scim_model::remove_ci(&mut o, "Resources") {
            Some(Value::Array(items)) => items,
            _ => return Err(shape()),
        },
        _ => return Err(shape()),
    };
    let registry = directory.registry();
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = |m: String| Failure::bad(format!("{what}: resource [{i}]: {m}"));
        let r = Resource::from_value(item).map_err(|e| at(e.to_string()))?;
        let is_group = r.has_schema(GROUP_SCHEMA)
            || r.resource_type()
                .is_some_and(|t| t.eq_ignore_ascii_case("Group"));
        if !is_group && !r.has_schema(USER_SCHEMA) {
            return Err(at(format!(
                "schemas must list {USER_SCHEMA} or {GROUP_SCHEMA}"
            )));
        }
        let mut check = r.clone();
        if check.id().is_none() {
            check.set_id("(to be assigned)");
        }
        if let Some(issue) = registry.validate(&check, Operation::Stored).first() {
            return Err(at(issue.to_string()));
        }
        if is_group {
            groups.push(r);
        } else {
            users.push(r);
        }
    }
    directory
        .load(&ObjectType::USER, users)
        .and_then(|_| directory.load(&ObjectType::GROUP, groups))
        .map_err(|e| Failure::bad(format!("{what}: {e}")))?;
    Ok(())
}
