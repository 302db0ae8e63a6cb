//! API-driven inbound provisioning beside the SCIM service (Entra's `/bulkUpload`):
//! `POST /bulkUpload` takes an HR system's SCIM BulkRequest into an [`InboundQueue`] and answers
//! `202 Accepted` with `Location: /bulkUpload/{receiptId}`; a background task then runs a
//! [`SyncEngine`] cycle from the queue into the target the gateway serves, so provisioned users
//! appear on `/scim/v2/Users`; `GET /bulkUpload/{receiptId}` shows each record of the request —
//! its `bulkId`, its source id (`externalId`) and its provisioning-log entries.
//!
//! The request is checked whole by the queue (content type `application/scim+json`, at most
//! 50 `POST /Users` operations with `bulkId`, `externalId` and the User schemas): a refused
//! request stores nothing and its error lists every problem (400, or 413 when too large).
//!
//! A cycle runs after each accepted request (requests that arrive during a cycle are picked up
//! by the next one) and every [`Inbound::with_interval`] (default 5 s) once the first request
//! has arrived, so escrowed records are retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use connectors::inbound::{InboundQueue, Receipt, ReceiptId};
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use sync_engine::{CycleReport, RunOptions, SyncEngine};
use tokio::sync::{Mutex, Notify};

use super::errors::ApiError;
use super::extract::Segments;
use super::log::RequestLog;
use super::respond::excerpt;
use super::{Shared, respond};

/// The inbound endpoint's parts: the queue requests go into, and the engine that provisions
/// from it (its source must be that queue, its target the gateway's target).
///
/// `Clone` shares the queue, the engine and the background task.
#[derive(Clone, Debug)]
pub struct Inbound {
    queue: InboundQueue,
    engine: Arc<SyncEngine>,
    interval: Duration,
    worker: Arc<Worker>,
}

#[derive(Debug, Default)]
struct Worker {
    started: AtomicBool,
    wake: Notify,
    /// One cycle at a time, whether the background task or [`Inbound::run_cycle`] runs it.
    cycle: Mutex<()>,
}

impl Inbound {
    /// The endpoint over `queue`, provisioning with `engine` (built with
    /// `Arc::new(queue.clone())` as its source).
    pub fn new(queue: InboundQueue, engine: SyncEngine) -> Self {
        Inbound {
            queue,
            engine: Arc::new(engine),
            interval: Duration::from_secs(5),
            worker: Arc::default(),
        }
    }

    /// How often the background task runs a cycle when no request wakes it (default 5 s).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// The queue.
    pub fn queue(&self) -> &InboundQueue {
        &self.queue
    }

    /// The engine.
    pub fn engine(&self) -> &SyncEngine {
        &self.engine
    }

    /// Runs one cycle now (after any cycle under way).
    ///
    /// # Errors
    ///
    /// The engine's, when the cycle could not run.
    pub async fn run_cycle(&self) -> Result<CycleReport, sync_engine::Error> {
        let _one = self.worker.cycle.lock().await;
        self.engine.run_cycle(&RunOptions::new()).await
    }

    /// Asks for a cycle, starting the background task on first use (inside the server's
    /// runtime, which a handler always is).
    fn wake(&self, log: &RequestLog) {
        if !self.worker.started.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            let log = log.clone();
            tokio::spawn(async move { me.work(log).await });
        }
        self.worker.wake.notify_one();
    }

    async fn work(self, log: RequestLog) {
        loop {
            // A wake-up, or the interval.
            let _ = tokio::time::timeout(self.interval, self.worker.wake.notified()).await;
            let line = match self.run_cycle().await {
                Ok(r) => {
                    let s = &r.summary;
                    if s.created + s.updated + s.disabled + s.deleted + s.failed == 0 {
                        continue;
                    }
                    format!(
                        "inbound cycle {}: created {}, updated {}, disabled {}, deleted {}, skipped {}, failed {}",
                        r.cycle.id,
                        s.created,
                        s.updated,
                        s.disabled,
                        s.deleted,
                        s.skipped,
                        s.failed
                    )
                }
                Err(e) => format!("inbound cycle failed: {e}"),
            };
            log.write(&line);
        }
    }
}

/// `POST /bulkUpload`: 202 with the receipt, or the queue's refusal.
pub(crate) async fn upload(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(inbound) = &s.inbound else {
        return Err(ApiError::not_found("this service has no inbound endpoint"));
    };
    let bytes = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::too_large(s.limits.max_payload_bytes));
        }
        Err(r) => {
            return Err(ApiError::bad_request(
                scim_model::ScimType::InvalidSyntax,
                format!("the request body could not be read: {}", r.body_text()),
            ));
        }
    };
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let receipt = inbound.queue.accept(&bytes, content_type).await?;
    inbound.wake(&s.log);
    let mut response = json_response(StatusCode::ACCEPTED, &receipt_json(&receipt, None));
    if let Ok(v) = HeaderValue::from_str(&format!("/bulkUpload/{}", receipt.id)) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// `GET /bulkUpload/{receiptId}`: the receipt, each record with its provisioning log since the
/// request was accepted.
pub(crate) async fn receipt(
    State(s): State<Shared>,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let Some(inbound) = &s.inbound else {
        return Err(ApiError::not_found("this service has no inbound endpoint"));
    };
    let receipt = inbound
        .queue
        .receipt(&ReceiptId::new(id.as_str()))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no request {:?} was accepted", excerpt(&id)))
        })?;
    let mut logs = Vec::with_capacity(receipt.records.len());
    for r in &receipt.records {
        let entries = inbound
            .engine
            .log_of_object(&r.object_type, &r.source_id)
            .await?;
        let entries: Vec<Value> = entries
            .into_iter()
            .filter(|e| e.activity_date_time >= receipt.accepted_at)
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect();
        logs.push(entries);
    }
    Ok(json_response(
        StatusCode::OK,
        &receipt_json(&receipt, Some(logs)),
    ))
}

/// The receipt as JSON: `{"id", "queue", "acceptedAt", "records": [{"bulkId", "sourceId",
/// "objectType", "position"[, "provisioningLogs"]}]}`.
fn receipt_json(receipt: &Receipt, logs: Option<Vec<Vec<Value>>>) -> Value {
    let mut logs = logs.map(Vec::into_iter);
    let records: Vec<Value> = receipt
        .records
        .iter()
        .map(|r| {
            let mut v = json!({
                "bulkId": r.bulk_id,
                "sourceId": r.source_id.as_str(),
                "objectType": r.object_type.as_str(),
                "position": r.position,
            });
            if let Some(entries) = logs.as_mut().and_then(Iterator::next) {
                v["provisioningLogs"] = Value::Array(entries);
            }
            v
        })
        .collect();
    json!({
        "id": receipt.id.as_str(),
        "queue": receipt.queue,
        "acceptedAt": receipt.accepted_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "records": records,
    })
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = respond::scim_json(status, value);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.into_response()
}
