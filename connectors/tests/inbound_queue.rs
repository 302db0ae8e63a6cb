#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `InboundQueue`: the source conformance kit, refusals that store nothing and name every
//! problem, durability across a reopen, concurrent accepts, receipts, merging and compaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors::conformance::source::{self, SourceFixture};
use connectors::inbound::{InboundError, InboundOptions, InboundQueue, ReceiptId};
use connectors::state::{KeyRange, Lease, MemoryStateStore, RedbStateStore, WriteBatch};
use connectors::{
    ChangeKind, Error, ErrorKind, FakeClock, JobId, ObjectType, SourceConnector, SourceId,
    StateStore, Table, Watermark,
};
use futures::executor::block_on;
use scim_model::message::InboundProfile;
use scim_model::{Limits, Resource, ScimType};
use serde_json::{Value, json};

const SCIM: &str = "application/scim+json";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn user(external_id: &str, fields: Value) -> Value {
    let mut data = json!({"schemas": [CORE, ENT], "externalId": external_id});
    for (k, v) in fields.as_object().unwrap() {
        data[k] = v.clone();
    }
    data
}

fn op(bulk_id: &str, data: Value) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
}

fn bulk(ops: Vec<Value>) -> String {
    json!({"schemas": [BULK], "failOnErrors": null, "Operations": ops}).to_string()
}

/// One request creating or updating workers `ids` (bulkId = externalId).
fn workers(ids: &[&str], department: &str) -> String {
    bulk(
        ids.iter()
            .map(|id| {
                op(
                    id,
                    user(
                        id,
                        json!({"userName": format!("{id}@contoso.com"), "active": true,
                        ENT: {"department": department}}),
                    ),
                )
            })
            .collect(),
    )
}

fn queue_on(store: Arc<dyn StateStore>, name: &str) -> InboundQueue {
    InboundQueue::new(store, name)
        .with_clock(Arc::new(FakeClock::at(
            "2026-03-02T09:00:00Z".parse().unwrap(),
        )))
        .with_options(InboundOptions::new().with_page_size(5))
}

fn memory_queue() -> (MemoryStateStore, InboundQueue) {
    let store = MemoryStateStore::new();
    let queue = queue_on(Arc::new(store.clone()), "hr");
    (store, queue)
}

/// Every key the queue's tables hold in `store`, all queues together.
fn stored_keys(store: &dyn StateStore) -> usize {
    InboundQueue::TABLES
        .iter()
        .map(|t| {
            block_on(store.scan(*t, &KeyRange::prefix(Vec::new()), usize::MAX))
                .unwrap()
                .len()
        })
        .sum()
}

fn all_changes(queue: &InboundQueue, since: u64) -> Vec<(SourceId, Resource)> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = block_on(queue.changes(
            &ObjectType::USER,
            &Watermark::from_u64(since),
            token.as_ref(),
        ))
        .unwrap();
        for c in page.changes {
            match c.kind {
                ChangeKind::Upsert(r) => out.push((c.id, r)),
                other => panic!("the queue reported {other:?}"),
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return out,
        }
    }
}

fn all_imported(queue: &InboundQueue) -> Vec<SourceId> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = block_on(queue.import_page(&ObjectType::USER, token.as_ref())).unwrap();
        assert!(page.problems.is_empty());
        out.extend(page.objects.into_iter().map(|o| o.id));
        match page.next {
            Some(next) => token = Some(next),
            None => return out,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The source conformance kit.

/// Changes the queue the only way a client can: by sending BulkRequests. A delete is a leaver
/// record (`active: false`), as with Entra — the queue itself never deletes.
#[derive(Debug)]
struct QueueFixture {
    queue: InboundQueue,
    next: AtomicU64,
}

impl QueueFixture {
    async fn send(&self, id: &SourceId, resource: &Resource) -> connectors::Result<()> {
        let mut data = resource.clone();
        data.set_external_id(id.as_str());
        data.add_schema(CORE);
        data.add_schema(ENT);
        let body = bulk(vec![op(id.as_str(), data.to_value())]);
        self.queue
            .accept(body, Some(SCIM))
            .await
            .map(|_| ())
            .map_err(|e| match e {
                InboundError::Store(e) => e,
                refused => Error::permanent("fixture", refused.to_string()),
            })
    }
}

#[async_trait]
impl SourceFixture for QueueFixture {
    async fn create(&self, ty: &ObjectType, resource: &Resource) -> connectors::Result<SourceId> {
        if *ty != ObjectType::USER {
            return Err(Error::unsupported("fixture", "create of non-users"));
        }
        let id = SourceId::new(format!("c{:06}", self.next.fetch_add(1, Ordering::SeqCst)));
        self.send(&id, resource).await?;
        Ok(id)
    }

    async fn update(
        &self,
        _: &ObjectType,
        id: &SourceId,
        resource: &Resource,
    ) -> connectors::Result<()> {
        self.send(id, resource).await
    }

    async fn delete(&self, _: &ObjectType, id: &SourceId) -> connectors::Result<()> {
        let leaver = Resource::from_value(json!({"active": false})).unwrap();
        self.send(id, &leaver).await
    }

    async fn add_members(&self, _: &SourceId, _: &[SourceId]) -> connectors::Result<()> {
        Err(Error::unsupported("fixture", "add_members"))
    }

    async fn remove_members(&self, _: &SourceId, _: &[SourceId]) -> connectors::Result<()> {
        Err(Error::unsupported("fixture", "remove_members"))
    }
}

fn fixture(queue: &InboundQueue) -> QueueFixture {
    QueueFixture {
        queue: queue.clone(),
        next: AtomicU64::new(0),
    }
}

#[test]
fn the_queue_passes_the_source_checks_that_apply_to_a_source_that_never_deletes() {
    let (_, queue) = memory_queue();
    let f = fixture(&queue);
    block_on(async {
        source::full_import_returns_each_once(&queue, &f)
            .await
            .unwrap();
        source::watermarks_move_forward(&queue, &f).await.unwrap();
        source::foreign_watermark_needs_resync(&queue)
            .await
            .unwrap();
        source::no_delta_is_unsupported(&queue).await.unwrap();
        // No Group type: the membership check does not apply (and returns Ok).
        source::member_deltas(&queue, &f).await.unwrap();
    });
    // The same through a trait object.
    let dynamic: Arc<dyn SourceConnector> = Arc::new(queue.clone());
    block_on(source::full_import_returns_each_once(&dynamic, &f)).unwrap();
}

/// Three checks of the kit expect a delete to make the object disappear (`get` answers
/// `None`, a `Delete` change is reported). An inbound queue cannot honour that: the
/// API-driven inbound profile has no DELETE, absence from a request means nothing, and a
/// leaver is a record with `active: false` — an upsert, which the engine provisions as a
/// disable. So these checks are run and must fail at exactly that expectation, after every
/// assertion before it passed (get of a missing id, get after an update; upserts after a create
/// and an update; a stable import while records change, with the updates and creates reported
/// as upserts).
#[test]
fn the_kits_delete_checks_fail_only_at_the_tombstone_a_queue_never_reports() {
    let (_, queue) = memory_queue();
    let f = fixture(&queue);
    let e = block_on(source::get_reads_current_state(&queue, &f)).unwrap_err();
    assert!(
        e.message.starts_with("get of deleted") && e.message.ends_with("returned an object"),
        "{e}"
    );
    let e = block_on(source::delta_after_each_change(&queue, &f)).unwrap_err();
    assert!(
        e.message
            .starts_with("after a delete, expected a delete (tombstone)")
            && e.message.contains("\"active\": Bool(false)"),
        "{e}"
    );
    let e = block_on(source::import_while_changing(&queue, &f)).unwrap_err();
    assert!(
        e.message
            .contains("deleted during the import, is not a delete"),
        "{e}"
    );
}

#[test]
fn a_leaver_is_an_upsert_with_active_false_and_stays_readable() {
    let (_, queue) = memory_queue();
    block_on(queue.accept(workers(&["E1"], "Sales"), Some(SCIM))).unwrap();
    let leaver = bulk(vec![op("E1", user("E1", json!({"active": false})))]);
    block_on(queue.accept(leaver, Some(SCIM))).unwrap();
    let changes = all_changes(&queue, 1);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].1.get("active"), Some(&json!(false)));
    // The rest of the record is still there (the leaver record held only `active`).
    assert_eq!(changes[0].1.get("userName"), Some(&json!("E1@contoso.com")));
    let got = block_on(queue.get(&ObjectType::USER, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(got, changes[0].1);
}

#[test]
fn other_object_types_are_unsupported_and_a_watermark_beyond_the_end_needs_a_resync() {
    let (_, queue) = memory_queue();
    block_on(queue.accept(workers(&["E1", "E2"], "Sales"), Some(SCIM))).unwrap();
    let g = ObjectType::GROUP;
    let kind = |r: connectors::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        kind(block_on(queue.import_page(&g, None)).map(|_| ())),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(block_on(queue.changes(&g, &Watermark::from_u64(0), None)).map(|_| ())),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(block_on(queue.current_watermark(&g)).map(|_| ())),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(block_on(queue.get(&g, &SourceId::new("E1"))).map(|_| ())),
        ErrorKind::Unsupported
    );
    let u = ObjectType::USER;
    assert_eq!(
        block_on(queue.current_watermark(&u)).unwrap(),
        Watermark::from_u64(2)
    );
    // At the end: an empty page. One past it: another queue's watermark, a resync.
    let page = block_on(queue.changes(&u, &Watermark::from_u64(2), None)).unwrap();
    assert!(page.changes.is_empty() && page.next.is_none());
    assert_eq!(page.watermark, Watermark::from_u64(2));
    let e = block_on(queue.changes(&u, &Watermark::from_u64(3), None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);
    assert!(e.to_string().contains("beyond the queue's end (2)"), "{e}");
    let e = block_on(queue.changes(&u, &Watermark::new(b"x".to_vec()), None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);
}

#[test]
fn changes_come_in_order_in_pages_each_covering_its_records() {
    let (_, queue) = memory_queue();
    // 12 records in three requests: positions 1..=12; page size 5.
    block_on(queue.accept(workers(&["E01", "E02", "E03", "E04"], "A"), Some(SCIM))).unwrap();
    block_on(queue.accept(workers(&["E05", "E06", "E07", "E08"], "B"), Some(SCIM))).unwrap();
    block_on(queue.accept(workers(&["E01", "E02", "E03", "E04"], "C"), Some(SCIM))).unwrap();
    let u = ObjectType::USER;
    let p1 = block_on(queue.changes(&u, &Watermark::from_u64(0), None)).unwrap();
    assert_eq!(p1.changes.len(), 5);
    assert_eq!(p1.watermark, Watermark::from_u64(5));
    let p2 = block_on(queue.changes(&u, &Watermark::from_u64(0), p1.next.as_ref())).unwrap();
    assert_eq!(p2.watermark, Watermark::from_u64(10));
    let p3 = block_on(queue.changes(&u, &Watermark::from_u64(0), p2.next.as_ref())).unwrap();
    assert_eq!(p3.changes.len(), 2);
    assert_eq!(p3.watermark, Watermark::from_u64(12));
    assert!(p3.next.is_none());
    let order: Vec<String> = [p1, p2, p3]
        .into_iter()
        .flat_map(|p| p.changes)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(
        order,
        [
            "E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08", "E01", "E02", "E03", "E04"
        ]
    );
    // Each change carries the record's view as of its position: E01 at position 1 was in A.
    let changes = all_changes(&queue, 0);
    let dept = |r: &Resource| r.attribute(Some(ENT), "department").cloned();
    assert_eq!(dept(&changes[0].1), Some(json!("A")));
    assert_eq!(dept(&changes[8].1), Some(json!("C")));
    // A full import: each record once, its current view.
    let imported = all_imported(&queue);
    assert_eq!(imported.len(), 8);
    let last = block_on(queue.import_page(&u, None)).unwrap();
    assert!(last.next.is_some());
}

#[test]
fn a_partial_record_merges_over_the_current_view() {
    let (_, queue) = memory_queue();
    let full = bulk(vec![op(
        "E1",
        user(
            "E1",
            json!({"userName": "ines@contoso.com", "title": "Engineer",
            "name": {"givenName": "Ines", "familyName": "Moreau"},
            ENT: {"department": "Engineering", "manager": {"value": "E0"}}}),
        ),
    )]);
    block_on(queue.accept(full, Some(SCIM))).unwrap();
    let partial = bulk(vec![op(
        "E1",
        user(
            "E1",
            json!({ENT: {"department": "Research"}, "title": null}),
        ),
    )]);
    let receipt = block_on(queue.accept(partial, Some(SCIM))).unwrap();
    let view = block_on(queue.get(&ObjectType::USER, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(view.get("userName"), Some(&json!("ines@contoso.com")));
    assert_eq!(view.get("title"), None, "an explicit null removes");
    assert_eq!(
        view.get(ENT),
        Some(&json!({"department": "Research", "manager": {"value": "E0"}}))
    );
    let record = block_on(queue.record_at(2)).unwrap().unwrap();
    assert_eq!(record.receipt, receipt.id);
    assert_eq!(
        record.record.get("userName"),
        None,
        "the record is kept as sent"
    );
    assert_eq!(record.view, view);
}

// ---------------------------------------------------------------------------------------------
// Refusals: nothing stored, every problem named.

fn refused(queue: &InboundQueue, body: &[u8], content_type: Option<&str>) -> InboundError {
    let e = block_on(queue.accept(body, content_type)).unwrap_err();
    assert!(matches!(e, InboundError::Refused { .. }), "{e}");
    e
}

fn summary(e: &InboundError) -> Vec<String> {
    e.problems()
        .iter()
        .map(|p| {
            format!(
                "{}|{}|{}",
                p.operation.map_or("-".to_owned(), |i| i.to_string()),
                p.field,
                p.scim_type
            )
        })
        .collect()
}

#[test]
fn content_types_entra_refuses_are_refused_and_the_tolerated_forms_accepted() {
    let (store, queue) = memory_queue();
    let body = workers(&["E1"], "Sales");
    for ct in [
        None,
        Some(""),
        Some("application/json"),
        Some("text/plain"),
        Some("application/scim+json; charset=latin1"),
    ] {
        let e = refused(&queue, body.as_bytes(), ct);
        assert_eq!(summary(&e), ["-|Content-Type|invalidSyntax"], "{ct:?}");
        assert_eq!(e.status(), 400);
    }
    assert_eq!(stored_keys(&store), 0);
    // Case, parameters, a UTF-8 charset and a byte order mark are all fine.
    for ct in [
        "application/scim+json",
        "Application/SCIM+JSON; charset=\"UTF-8\"",
        "application/scim+json;charset=utf-8",
    ] {
        block_on(queue.accept(&body, Some(ct))).unwrap();
    }
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(body.as_bytes());
    block_on(queue.accept(with_bom, Some(SCIM))).unwrap();
    // application/json only when the host opts in.
    let lenient = queue_on(Arc::new(store.clone()), "lenient")
        .with_options(InboundOptions::new().with_accept_application_json(true));
    block_on(lenient.accept(&body, Some("application/json; charset=utf-8"))).unwrap();
    let e = refused(&lenient, body.as_bytes(), Some("text/csv"));
    assert_eq!(summary(&e), ["-|Content-Type|invalidSyntax"]);
}

#[test]
fn more_than_50_operations_are_refused_with_every_other_problem() {
    let (store, queue) = memory_queue();
    let mut ops: Vec<Value> = (0..51)
        .map(|i| op(&format!("b{i}"), user(&format!("E{i}"), json!({}))))
        .collect();
    ops[7]["bulkId"] = Value::Null;
    let e = refused(&queue, bulk(ops).as_bytes(), Some(SCIM));
    assert_eq!(
        summary(&e),
        ["-|Operations|tooMany", "7|bulkId|invalidValue"]
    );
    assert_eq!(e.status(), 413);
    assert!(
        e.to_string()
            .contains("51 operations, over the limit of 50"),
        "{e}"
    );
    // 50 is fine; a host may lower the limit.
    let ops: Vec<Value> = (0..50)
        .map(|i| op(&format!("b{i}"), user(&format!("E{i}"), json!({}))))
        .collect();
    let body = bulk(ops);
    let strict = queue_on(Arc::new(store.clone()), "strict").with_options(
        InboundOptions::new().with_profile(InboundProfile::new().with_max_operations(10)),
    );
    let e = refused(&strict, body.as_bytes(), Some(SCIM));
    assert_eq!(summary(&e), ["-|Operations|tooMany"]);
    assert_eq!(stored_keys(&store), 0);
    let receipt = block_on(queue.accept(&body, Some(SCIM))).unwrap();
    assert_eq!(receipt.records.len(), 50);
    assert_eq!(receipt.last_position(), Some(50));
}

#[test]
fn every_problem_of_every_operation_is_listed_and_nothing_is_stored() {
    let (store, queue) = memory_queue();
    let ops = vec![
        op("ok", user("E0", json!({"userName": "a"}))),
        json!({"method": "PUT", "path": "/Users/E1", "bulkId": "b1", "data": user("E1", json!({}))}),
        json!({"method": "POST", "path": "/Groups", "data": user("E2", json!({}))}),
        op(
            "b3",
            json!({"schemas": [CORE], "userName": "no-external-id"}),
        ),
        op("b4", user("E0", json!({}))),
        op("b5", json!("not an object")),
    ];
    let e = refused(&queue, bulk(ops).as_bytes(), Some("text/plain"));
    assert_eq!(
        summary(&e),
        [
            "-|Content-Type|invalidSyntax",
            "1|method|invalidValue",
            "1|path|invalidValue",
            "2|path|invalidValue",
            "2|bulkId|invalidValue",
            "3|data.schemas|invalidValue",
            "3|data.externalId|invalidValue",
            "4|data.externalId|invalidValue",
            "5|data|invalidSyntax",
        ]
    );
    assert!(
        e.to_string()
            .contains("operation 1: method: must be POST, found PUT"),
        "{e}"
    );
    assert!(
        e.to_string().contains("\"E0\" is also used by operation 0"),
        "{e}"
    );
    assert_eq!(stored_keys(&store), 0);
    assert_eq!(block_on(queue.last_position()).unwrap(), 0);
}

#[test]
fn operations_that_cannot_even_be_read_are_each_named() {
    let (store, queue) = memory_queue();
    let ops = vec![
        json!({"method": "GET", "path": "/Users", "bulkId": "b0", "data": user("E0", json!({}))}),
        op("b1", user("E1", json!({}))),
        json!("not an operation"),
        json!({"method": "POST", "bulkId": "b3", "data": {}}),
        op("b4", json!({"schemas": [CORE, ENT]})),
    ];
    let e = refused(&queue, bulk(ops).as_bytes(), Some(SCIM));
    assert_eq!(
        summary(&e),
        [
            "0|method|invalidSyntax",
            "2|Operations[2]|invalidSyntax",
            "3|path|invalidSyntax",
            "4|data.externalId|invalidValue",
        ]
    );
    assert_eq!(stored_keys(&store), 0);
}

#[test]
fn bodies_that_are_not_json_not_utf8_too_large_or_empty_are_refused() {
    let (store, queue) = memory_queue();
    let e = refused(&queue, b"{\"schemas\": [", Some(SCIM));
    assert_eq!(summary(&e), ["-|body|invalidSyntax"]);
    assert!(e.to_string().contains("invalid JSON"), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = refused(&queue, b"{\"a\": \"\xff\"}", Some(SCIM));
    assert_eq!(summary(&e), ["-|body|invalidSyntax"]);
    assert!(
        e.to_string()
            .contains("not UTF-8 text (invalid byte at offset 7)"),
        "{e}"
    );
    let e = refused(&queue, b"[1, 2]", Some(SCIM));
    assert_eq!(summary(&e), ["-|BulkRequest|invalidSyntax"]);
    let e = refused(&queue, bulk(vec![]).as_bytes(), Some(SCIM));
    assert_eq!(summary(&e), ["-|Operations|invalidValue"]);
    let e = refused(
        &queue,
        json!({"schemas": ["urn:example:NotBulk"], "Operations": [op("b", user("E", json!({})))]})
            .to_string()
            .as_bytes(),
        Some(SCIM),
    );
    assert_eq!(summary(&e), ["-|BulkRequest.schemas|invalidSyntax"]);
    let small = queue_on(Arc::new(store.clone()), "small").with_options(
        InboundOptions::new().with_limits(Limits::DEFAULT.with_max_payload_bytes(100)),
    );
    let e = refused(
        &small,
        workers(&["E1", "E2"], "Sales").as_bytes(),
        Some(SCIM),
    );
    assert_eq!(summary(&e), ["-|payload|invalidSyntax"]);
    assert_eq!(e.status(), 413);
    assert_eq!(e.to_scim_error().status, 413);
    assert_eq!(stored_keys(&store), 0);
}

// ---------------------------------------------------------------------------------------------
// Receipts, durability, concurrency, compaction.

#[test]
fn receipts_name_each_record_and_read_back() {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    let queue = queue_on(store.clone(), "hr");
    let other = queue_on(store, "badges");
    let first = block_on(queue.accept(workers(&["E1", "E2"], "Sales"), Some(SCIM))).unwrap();
    let second = block_on(queue.accept(workers(&["E2", "E3", "E4"], "Ops"), Some(SCIM))).unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(first.id.as_str().len(), 32);
    assert_eq!(
        first.accepted_at,
        "2026-03-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let records: Vec<(String, String, u64)> = second
        .records
        .iter()
        .map(|r| (r.bulk_id.clone(), r.source_id.to_string(), r.position))
        .collect();
    assert_eq!(
        records,
        [
            ("E2".to_owned(), "E2".to_owned(), 3),
            ("E3".to_owned(), "E3".to_owned(), 4),
            ("E4".to_owned(), "E4".to_owned(), 5)
        ]
    );
    assert!(
        second
            .records
            .iter()
            .all(|r| r.object_type == ObjectType::USER)
    );
    assert_eq!(
        block_on(queue.receipt(&first.id)).unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        block_on(queue.receipt(&second.id)).unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        block_on(queue.receipt(&ReceiptId::new("nope"))).unwrap(),
        None
    );
    // Another queue on the same store knows neither the receipts nor the records.
    assert_eq!(block_on(other.receipt(&first.id)).unwrap(), None);
    assert_eq!(block_on(other.last_position()).unwrap(), 0);
    assert!(all_imported(&other).is_empty());
    let theirs = block_on(other.accept(workers(&["B1"], "Security"), Some(SCIM))).unwrap();
    assert_eq!(theirs.first_position(), Some(1));
    assert_eq!(all_imported(&queue).len(), 4);
    // The receipt says when a reader has read it all.
    assert!(!second.is_read_by(&Watermark::from_u64(4)));
    assert!(second.is_read_by(&Watermark::from_u64(5)));
}

#[test]
fn accepted_requests_survive_a_reopen_of_a_redb_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let (first, second) = {
        let store = RedbStateStore::open(&path).unwrap();
        let queue = queue_on(Arc::new(store), "hr");
        let first = block_on(queue.accept(workers(&["E1", "E2"], "Sales"), Some(SCIM))).unwrap();
        let partial = bulk(vec![op("E1", user("E1", json!({"title": "Lead"})))]);
        let second = block_on(queue.accept(partial, Some(SCIM))).unwrap();
        (first, second)
    };
    let store = RedbStateStore::open(&path).unwrap();
    let queue = queue_on(Arc::new(store), "hr");
    assert_eq!(block_on(queue.last_position()).unwrap(), 3);
    assert_eq!(block_on(queue.receipt(&first.id)).unwrap(), Some(first));
    assert_eq!(block_on(queue.receipt(&second.id)).unwrap(), Some(second));
    let changes = all_changes(&queue, 0);
    assert_eq!(changes.len(), 3);
    let e1 = block_on(queue.get(&ObjectType::USER, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(e1.get("title"), Some(&json!("Lead")));
    assert_eq!(e1.get("userName"), Some(&json!("E1@contoso.com")));
    // The next request continues after the last position.
    let third = block_on(queue.accept(workers(&["E3"], "Sales"), Some(SCIM))).unwrap();
    assert_eq!(third.first_position(), Some(4));
}

/// Checks that the queue's log holds positions 1..=n, each once, and that the receipts'
/// positions are exactly these.
fn assert_positions_distinct(queue: &InboundQueue, receipts: &[connectors::Receipt], n: u64) {
    let mut positions: Vec<u64> = receipts
        .iter()
        .flat_map(|r| r.records.iter().map(|x| x.position))
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=n).collect::<Vec<_>>());
    assert_eq!(block_on(queue.last_position()).unwrap(), n);
    for r in receipts {
        for rec in &r.records {
            let stored = block_on(queue.record_at(rec.position)).unwrap().unwrap();
            assert_eq!(stored.receipt, r.id, "position {}", rec.position);
            assert_eq!(stored.source_id, rec.source_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_on_one_queue_get_distinct_positions() {
    let (_, queue) = memory_queue();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let q = queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..10 {
                let ids = [
                    format!("T{t}-{i}-a"),
                    format!("T{t}-{i}-b"),
                    format!("T{t}-{i}-c"),
                ];
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                out.push(q.accept(workers(&refs, "Sales"), Some(SCIM)).await.unwrap());
            }
            out
        }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.extend(t.await.unwrap());
    }
    assert_positions_distinct(&queue, &receipts, 240);
}

/// Two queues with the same name over one store stand for two processes: separate locks, one
/// store. The Insert claim on each request's first position keeps their positions apart.
#[test]
fn two_writers_over_one_store_never_share_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn StateStore> =
        Arc::new(RedbStateStore::open(dir.path().join("state.redb")).unwrap());
    let memory: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
    for store in [memory, redb] {
        let writers: Vec<InboundQueue> = (0..4).map(|_| queue_on(store.clone(), "hr")).collect();
        let receipts: Vec<connectors::Receipt> = std::thread::scope(|s| {
            let handles: Vec<_> = writers
                .iter()
                .enumerate()
                .map(|(w, q)| {
                    s.spawn(move || {
                        (0..15)
                            .map(|i| {
                                let a = format!("W{w}-{i}-a");
                                let b = format!("W{w}-{i}-b");
                                block_on(q.accept(workers(&[&a, &b], "Sales"), Some(SCIM))).unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_positions_distinct(&writers[0], &receipts, 120);
    }
}

/// A store that lets another writer append a request just before this writer's first
/// commit: the race of two processes made deterministic.
#[derive(Debug)]
struct RacingStore {
    inner: MemoryStateStore,
    rival: Mutex<Option<(InboundQueue, String)>>,
}

#[async_trait]
impl StateStore for RacingStore {
    fn name(&self) -> &str {
        "racing"
    }

    async fn acquire_lease(
        &self,
        job: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> connectors::Result<Lease> {
        self.inner.acquire_lease(job, holder, now, ttl).await
    }

    async fn release_lease(&self, lease: &Lease) -> connectors::Result<()> {
        self.inner.release_lease(lease).await
    }

    async fn get(&self, table: Table, key: &[u8]) -> connectors::Result<Option<Vec<u8>>> {
        self.inner.get(table, key).await
    }

    async fn scan(
        &self,
        table: Table,
        range: &KeyRange,
        limit: usize,
    ) -> connectors::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(table, range, limit).await
    }

    async fn commit(&self, batch: WriteBatch) -> connectors::Result<()> {
        let rival = self.rival.lock().unwrap().take();
        if let Some((queue, body)) = rival {
            queue.accept(body, Some(SCIM)).await.unwrap();
        }
        self.inner.commit(batch).await
    }
}

#[test]
fn a_writer_that_lost_the_race_for_a_position_appends_after_the_winner() {
    let inner = MemoryStateStore::new();
    // The rival writes to the same store directly (its own process, its own lock).
    let rival = queue_on(Arc::new(inner.clone()), "hr");
    let store = RacingStore {
        inner: inner.clone(),
        rival: Mutex::new(Some((rival.clone(), workers(&["R1", "R2"], "Rival")))),
    };
    let queue = queue_on(Arc::new(store), "hr");
    // Both read the queue's end as 0; the rival commits positions 1-2 first.
    let mine = block_on(queue.accept(workers(&["M1", "R1"], "Mine"), Some(SCIM))).unwrap();
    let positions: Vec<u64> = mine.records.iter().map(|r| r.position).collect();
    assert_eq!(positions, [3, 4]);
    assert_eq!(block_on(queue.last_position()).unwrap(), 4);
    let order: Vec<String> = all_changes(&queue, 0)
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(order, ["R1", "R2", "M1", "R1"]);
    // The retry read R1's view again, after the rival's record: the merge lost nothing.
    let r1 = block_on(queue.record_at(4)).unwrap().unwrap();
    assert_eq!(
        r1.view.attribute(Some(ENT), "department"),
        Some(&json!("Mine"))
    );
    let rivals = block_on(rival.record_at(2)).unwrap().unwrap();
    assert_eq!(rivals.source_id, SourceId::new("R2"));
}

#[test]
fn compact_drops_records_read_and_keeps_views_and_receipts() {
    let (_, queue) = memory_queue();
    let first = block_on(queue.accept(workers(&["E1", "E2", "E3"], "A"), Some(SCIM))).unwrap();
    block_on(queue.accept(workers(&["E1", "E4", "E5"], "B"), Some(SCIM))).unwrap();
    assert_eq!(block_on(queue.compact(&Watermark::from_u64(4))).unwrap(), 4);
    assert_eq!(block_on(queue.compacted_through()).unwrap(), 4);
    assert!(block_on(queue.record_at(4)).unwrap().is_none());
    assert!(block_on(queue.record_at(5)).unwrap().is_some());
    // Reading from before the compaction point would miss records: a resync.
    let e = block_on(queue.changes(&ObjectType::USER, &Watermark::from_u64(2), None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);
    assert!(e.to_string().contains("compacted"), "{e}");
    let rest: Vec<String> = all_changes(&queue, 4)
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(rest, ["E4", "E5"]);
    // Views and receipts stay.
    assert_eq!(all_imported(&queue).len(), 5);
    let e1 = block_on(queue.get(&ObjectType::USER, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(e1.attribute(Some(ENT), "department"), Some(&json!("B")));
    assert_eq!(block_on(queue.receipt(&first.id)).unwrap(), Some(first));
    // Again, or lower: nothing more to drop, and the point does not move back.
    assert_eq!(block_on(queue.compact(&Watermark::from_u64(4))).unwrap(), 0);
    assert_eq!(block_on(queue.compact(&Watermark::from_u64(1))).unwrap(), 0);
    assert_eq!(block_on(queue.compacted_through()).unwrap(), 4);
    // Not this queue's positions.
    let e = block_on(queue.compact(&Watermark::from_u64(7))).unwrap_err();
    assert!(e.to_string().contains("the queue ends at 6"), "{e}");
    assert!(block_on(queue.compact(&Watermark::new(b"x".to_vec()))).is_err());
    // New requests still go after the end.
    let next = block_on(queue.accept(workers(&["E6"], "C"), Some(SCIM))).unwrap();
    assert_eq!(next.first_position(), Some(7));
    assert_eq!(block_on(queue.compact(&Watermark::from_u64(7))).unwrap(), 3);
}

#[test]
fn old_receipts_go_once_their_records_are_compacted() {
    let store = MemoryStateStore::new();
    let clock = FakeClock::at("2026-03-02T09:00:00Z".parse().unwrap());
    let queue = InboundQueue::new(Arc::new(store.clone()), "hr")
        .with_clock(Arc::new(clock.clone()))
        .with_options(InboundOptions::new().with_page_size(5));
    let old = block_on(queue.accept(workers(&["E1", "E2"], "A"), Some(SCIM))).unwrap();
    let unread = block_on(queue.accept(workers(&["E3"], "A"), Some(SCIM))).unwrap();
    clock.advance(std::time::Duration::from_secs(40 * 24 * 3600));
    let recent = block_on(queue.accept(workers(&["E4"], "B"), Some(SCIM))).unwrap();
    let cutoff: DateTime<Utc> = "2026-03-20T00:00:00Z".parse().unwrap();
    // Nothing compacted yet: every receipt stays, old or not.
    assert_eq!(block_on(queue.prune_receipts(cutoff)).unwrap(), 0);
    // The first request's records are compacted: its receipt goes; the second's records are
    // still in the log (its receipt stays though it is as old); the recent one stays.
    block_on(queue.compact(&Watermark::from_u64(2))).unwrap();
    assert_eq!(block_on(queue.prune_receipts(cutoff)).unwrap(), 1);
    assert_eq!(block_on(queue.receipt(&old.id)).unwrap(), None);
    assert_eq!(
        block_on(queue.receipt(&unread.id)).unwrap(),
        Some(unread.clone())
    );
    block_on(queue.compact(&Watermark::from_u64(4))).unwrap();
    assert_eq!(block_on(queue.prune_receipts(cutoff)).unwrap(), 1);
    assert_eq!(block_on(queue.receipt(&unread.id)).unwrap(), None);
    assert_eq!(
        block_on(queue.receipt(&recent.id)).unwrap(),
        Some(recent.clone())
    );
    // The current views stay; new requests still go after the end.
    assert_eq!(all_imported(&queue).len(), 4);
    let next = block_on(queue.accept(workers(&["E5"], "C"), Some(SCIM))).unwrap();
    assert_eq!(next.first_position(), Some(5));
}

#[test]
fn problems_carry_a_scim_type_the_gateway_can_answer_with() {
    let (_, queue) = memory_queue();
    let e = refused(
        &queue,
        bulk(vec![op("b", json!({"schemas": [CORE]}))]).as_bytes(),
        Some(SCIM),
    );
    let body = e.to_scim_error();
    assert_eq!(body.status, 400);
    assert_eq!(body.scim_type, Some(ScimType::InvalidValue));
    let detail = body.detail.unwrap();
    assert!(
        detail.contains("operation 0: data.schemas: must list"),
        "{detail}"
    );
    assert!(
        detail.contains("operation 0: data.externalId: is required"),
        "{detail}"
    );
}
