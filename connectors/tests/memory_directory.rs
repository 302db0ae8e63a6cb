//! `MemoryDirectory`: the conformance kits (as a value, a `Box<dyn …>` and an `Arc<dyn …>`),
//! and the behaviour the engine's tests rely on — ids, versions, the change counter,
//! tombstones, member deltas, validation, uniqueness, find, query and bulk loading.

// Test helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::conformance::{source, target};
use connectors::memory::MemoryDirectory;
use connectors::{
    ChangeKind, ChangePage, CreateKey, Error, ErrorKind, FakeClock, ObjectType, PageToken, Query,
    SortOrder, SourceConnector, SourceId, TargetConnector, TargetConnectorExt, TargetId,
    TargetObject, Version, Watermark,
};
use futures::executor::block_on;
use scim_model::patch::{PatchOp, PatchOperation};
use scim_model::{AttributePath, Filter, Resource, SchemaRegistry, USER_SCHEMA};
use serde_json::{Value, json};

const USER: ObjectType = ObjectType::USER;
const GROUP: ObjectType = ObjectType::GROUP;

fn user(name: &str) -> Resource {
    Resource::from_value(json!({
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Given", "familyName": name},
        "active": true,
        "emails": [{"value": format!("{}@work.example.com", name.to_lowercase()), "type": "work"}]
    }))
    .unwrap()
}

fn group(name: &str) -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name
    }))
    .unwrap()
}

fn create(dir: &MemoryDirectory, ty: &ObjectType, r: &Resource) -> TargetObject {
    block_on(TargetConnector::create(dir, ty, r, None)).unwrap()
}

fn patch(
    dir: &MemoryDirectory,
    ty: &ObjectType,
    id: &TargetId,
    p: &PatchOp,
) -> Result<TargetObject, Error> {
    block_on(TargetConnector::patch(dir, ty, id, p, None))
}

fn members(ids: &[&TargetId]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id.as_str()})).collect())
}

/// Every change after `since`, over all pages, with the final watermark.
fn all_changes(
    dir: &MemoryDirectory,
    ty: &ObjectType,
    since: &Watermark,
) -> (Vec<connectors::Change>, Watermark) {
    let mut out = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page: ChangePage = block_on(dir.changes(ty, since, token.as_ref())).unwrap();
        out.extend(page.changes);
        match page.next {
            Some(t) => token = Some(t),
            None => return (out, page.watermark),
        }
    }
}

fn now_wm(dir: &MemoryDirectory) -> Watermark {
    block_on(dir.current_watermark(&USER)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The conformance kits.

#[test]
fn target_kit_passes_on_the_value_and_through_trait_objects() {
    let dir = MemoryDirectory::builder().page_size(7).build();
    block_on(target::run_all(&dir)).unwrap();
    let boxed: Box<dyn TargetConnector> = Box::new(dir.clone());
    block_on(target::run_all(&boxed)).unwrap();
    block_on(target::run_all(&*boxed)).unwrap();
    let shared: Arc<dyn TargetConnector> = Arc::new(dir.clone());
    block_on(target::run_all(&shared)).unwrap();
    // The kit cleans up after itself.
    assert_eq!(dir.len(&USER), 0);
    assert_eq!(dir.len(&GROUP), 0);
}

#[test]
fn source_kit_passes_on_the_value_and_through_trait_objects() {
    let dir = MemoryDirectory::builder().page_size(5).build();
    block_on(source::run_all(&dir, &dir)).unwrap();
    let boxed: Box<dyn SourceConnector> = Box::new(dir.clone());
    block_on(source::run_all(&boxed, &dir)).unwrap();
    let shared: Arc<dyn SourceConnector> = Arc::new(dir.clone());
    block_on(source::run_all(&*shared, &dir)).unwrap();
    assert_eq!(dir.len(&USER), 0);
}

#[test]
fn source_kit_passes_without_delta_support() {
    let dir = MemoryDirectory::builder().page_size(5).delta(false).build();
    let caps = SourceConnector::capabilities(&dir);
    assert!(!caps.delta && !caps.member_deltas);
    block_on(source::run_all(&dir, &dir)).unwrap();
    let err = block_on(dir.changes(&USER, &Watermark::from_u64(0), None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let page = block_on(dir.import_page(&USER, None)).unwrap();
    assert!(page.watermark.is_none());
}

/// The kit fails on a connector that breaks the contract (here: a source whose pages repeat
/// an object), so passing it means something.
#[test]
fn source_kit_catches_a_source_that_repeats_objects() {
    #[derive(Debug)]
    struct Repeating(MemoryDirectory);

    #[async_trait::async_trait]
    impl SourceConnector for Repeating {
        fn name(&self) -> &str {
            "repeating"
        }
        fn capabilities(&self) -> connectors::SourceCapabilities {
            SourceConnector::capabilities(&self.0)
        }
        async fn import_page(
            &self,
            ty: &ObjectType,
            page: Option<&PageToken>,
        ) -> connectors::Result<connectors::ImportPage> {
            let mut p = self.0.import_page(ty, page).await?;
            if let Some(first) = p.objects.first().cloned() {
                p.objects.push(first);
            }
            Ok(p)
        }
        async fn changes(
            &self,
            ty: &ObjectType,
            since: &Watermark,
            page: Option<&PageToken>,
        ) -> connectors::Result<ChangePage> {
            self.0.changes(ty, since, page).await
        }
        async fn current_watermark(&self, ty: &ObjectType) -> connectors::Result<Watermark> {
            self.0.current_watermark(ty).await
        }
        async fn get(
            &self,
            ty: &ObjectType,
            id: &SourceId,
        ) -> connectors::Result<Option<Resource>> {
            SourceConnector::get(&self.0, ty, id).await
        }
    }

    let dir = MemoryDirectory::builder().page_size(5).build();
    let failure = block_on(source::run_all(&Repeating(dir.clone()), &dir)).unwrap_err();
    assert_eq!(failure.check, "source::full_import_returns_each_once");
    assert!(failure.message.contains("imported 2 times"), "{failure}");
}

// ---------------------------------------------------------------------------------------------
// Target behaviour.

#[test]
fn create_assigns_ids_meta_versions_and_the_create_key() {
    let clock = FakeClock::at("2024-05-01T08:00:00Z".parse().unwrap());
    let dir = MemoryDirectory::builder().clock(clock.clone()).build();
    let o = block_on(TargetConnector::create(
        &dir,
        &USER,
        &user("bjensen"),
        Some(&CreateKey::new("E1")),
    ))
    .unwrap();
    assert_eq!(o.id.as_str(), "u-00000001");
    let r = &o.resource;
    assert_eq!(r.id(), Some("u-00000001"));
    assert_eq!(r.external_id(), Some("E1"));
    let keys: Vec<&str> = r.as_object().keys().map(String::as_str).collect();
    assert_eq!(&keys[..2], &["schemas", "id"]);
    let meta = r.meta().unwrap();
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["created"], "2024-05-01T08:00:00.000Z");
    assert_eq!(meta["lastModified"], "2024-05-01T08:00:00.000Z");
    assert_eq!(meta["version"], "W/\"1\"");
    assert_eq!(o.version, Some(Version::new("W/\"1\"")));

    // An externalId the resource brings wins over the key.
    let mut other = user("other");
    other.set_external_id("own");
    let o2 = block_on(TargetConnector::create(
        &dir,
        &USER,
        &other,
        Some(&CreateKey::new("E2")),
    ))
    .unwrap();
    assert_eq!(o2.resource.external_id(), Some("own"));

    clock.advance(Duration::from_secs(60));
    let p = PatchOp::new().replace(AttributePath::new("title"), json!("Boss"));
    let after = patch(&dir, &USER, &o.id, &p).unwrap();
    let meta = after.resource.meta().unwrap();
    assert_eq!(meta["created"], "2024-05-01T08:00:00.000Z");
    assert_eq!(meta["lastModified"], "2024-05-01T08:01:00.000Z");
    assert_eq!(meta["version"], "W/\"3\"");

    // A group gets its own prefix; the counter is shared, so ids never repeat across types.
    let g = create(&dir, &GROUP, &group("Admins"));
    assert_eq!(g.id.as_str(), "g-00000003");
}

#[test]
fn ids_are_never_reused_and_deletes_leave_tombstones() {
    let dir = MemoryDirectory::new();
    let a = create(&dir, &USER, &user("a"));
    block_on(TargetConnector::delete(&dir, &USER, &a.id, None)).unwrap();
    let b = create(&dir, &USER, &user("a"));
    assert_ne!(a.id, b.id, "the userName is free again, the id is not");
    assert_eq!(dir.tombstones(&USER), 1);
    assert!(
        block_on(TargetConnector::get(&dir, &USER, &a.id))
            .unwrap()
            .is_none()
    );
}

#[test]
fn writes_that_change_nothing_keep_the_version_and_the_counter() {
    let dir = MemoryDirectory::new();
    let o = create(&dir, &USER, &user("same"));
    let usn = dir.usn();
    let p = PatchOp::new().replace(AttributePath::new("active"), json!(true));
    let again = patch(&dir, &USER, &o.id, &p).unwrap();
    assert_eq!(again.version, o.version);
    let same = block_on(TargetConnector::replace(
        &dir,
        &USER,
        &o.id,
        &o.resource,
        None,
    ))
    .unwrap();
    assert_eq!(same.version, o.version);
    assert_eq!(dir.usn(), usn);
    // A real change bumps both.
    let p = PatchOp::new().replace(AttributePath::new("active"), json!(false));
    let changed = patch(&dir, &USER, &o.id, &p).unwrap();
    assert_ne!(changed.version, o.version);
    assert_eq!(dir.usn(), usn + 1);
}

#[test]
fn validation_refuses_what_a_scim_service_would() {
    let dir = MemoryDirectory::new();
    let cases = [
        (
            json!({"schemas": [USER_SCHEMA], "displayName": "no userName"}),
            "userName",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "x", "shoeSize": 44}),
            "shoeSize",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "yes"}),
            "active",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "x", "groups": [{"value": "g"}]}),
            "groups",
        ),
    ];
    for (body, attr) in cases {
        let r = Resource::from_value(body.clone()).unwrap();
        let err = block_on(TargetConnector::create(
            &dir,
            &USER,
            &r,
            Some(&CreateKey::new("K9")),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Permanent, "{body}");
        let text = err.to_string();
        assert!(text.contains(attr) && text.contains("K9"), "{body}: {text}");
    }
    assert_eq!(dir.len(&USER), 0);
    assert_eq!(dir.usn(), 0, "refused creates write nothing");

    // Without validation the same resources are stored as given.
    let lax = MemoryDirectory::builder().validate(false).build();
    let r =
        Resource::from_value(json!({"schemas": [USER_SCHEMA], "userName": "x", "shoeSize": 44}))
            .unwrap();
    create(&lax, &USER, &r);

    // A resource without `schemas` is of the endpoint's type.
    let bare = Resource::from_value(json!({"userName": "bare"})).unwrap();
    let o = create(&dir, &USER, &bare);
    assert!(o.resource.has_schema(USER_SCHEMA));
}

#[test]
fn user_name_is_unique_case_insensitively_and_freed_by_rename_and_delete() {
    let dir = MemoryDirectory::new();
    let a = create(&dir, &USER, &user("BJensen"));
    let err = block_on(TargetConnector::create(&dir, &USER, &user("bjensen"), None)).unwrap_err();
    match &err {
        Error::Uniqueness {
            existing, message, ..
        } => {
            assert_eq!(existing.as_deref(), Some(a.id.as_str()));
            assert!(message.contains("userName"), "{message}");
        }
        other => panic!("expected a uniqueness clash, got {other}"),
    }
    // Renaming frees the old name.
    let p = PatchOp::new().replace(AttributePath::new("userName"), json!("babs"));
    patch(&dir, &USER, &a.id, &p).unwrap();
    let b = create(&dir, &USER, &user("BJENSEN"));
    // A PATCH to a taken name changes nothing, not even its other operations.
    let p = PatchOp::new()
        .replace(AttributePath::new("title"), json!("Half"))
        .replace(AttributePath::new("userName"), json!("BABS"));
    let err = patch(&dir, &USER, &b.id, &p).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uniqueness);
    let now = dir.resource(&USER, b.id.as_str()).unwrap();
    assert!(now.get("title").is_none());
    assert_eq!(now.get("userName"), Some(&json!("BJENSEN")));
    // A PUT to a taken name is refused too.
    let err = block_on(TargetConnector::replace(
        &dir,
        &USER,
        &b.id,
        &user("Babs"),
        None,
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uniqueness);
    // Deleting frees it.
    block_on(TargetConnector::delete(&dir, &USER, &a.id, None)).unwrap();
    let p = PatchOp::new().replace(AttributePath::new("userName"), json!("babs"));
    patch(&dir, &USER, &b.id, &p).unwrap();
}

#[test]
fn find_uses_the_schema_comparison_and_respects_the_limit() {
    let dir = MemoryDirectory::new();
    let a = block_on(TargetConnector::create(
        &dir,
        &USER,
        &user("Alice"),
        Some(&CreateKey::new("E-1")),
    ))
    .unwrap();
    let mut twin = user("alice2");
    twin.set_external_id("E-1");
    let a2 = create(&dir, &USER, &twin);
    let find = |path: &str, v: Value, limit: usize| -> Vec<String> {
        let path = AttributePath::parse(path).unwrap();
        block_on(TargetConnector::find(&dir, &USER, &path, &v, limit))
            .unwrap()
            .into_iter()
            .map(|o| o.id.to_string())
            .collect()
    };
    let (ida, ida2) = (a.id.to_string(), a2.id.to_string());
    assert_eq!(find("userName", json!("ALICE"), 2), vec![ida.clone()]);
    assert_eq!(
        find(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            json!("alice"),
            2
        ),
        vec![ida.clone()]
    );
    assert_eq!(
        find("externalId", json!("E-1"), 2),
        vec![ida.clone(), ida2.clone()]
    );
    assert_eq!(find("externalId", json!("E-1"), 1), vec![ida.clone()]);
    assert_eq!(
        find("externalId", json!("e-1"), 2),
        Vec::<String>::new(),
        "externalId is caseExact"
    );
    assert_eq!(find("id", json!(ida), 2), vec![ida.clone()]);
    assert_eq!(
        find(
            r#"emails[type eq "work"].value"#,
            json!("ALICE@work.example.com"),
            2
        ),
        vec![ida.clone()]
    );
    assert_eq!(
        find("name.familyName", json!("alice2"), 2),
        vec![ida2.clone()]
    );
    assert_eq!(find("userName", json!(5), 2), Vec::<String>::new());
    assert_eq!(find("userName", json!("alice"), 0), Vec::<String>::new());
    let err = block_on(TargetConnector::find(
        &dir,
        &USER,
        &AttributePath::new("title"),
        &json!([1]),
        2,
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
}

#[test]
fn patch_errors_name_the_object_and_change_nothing() {
    let dir = MemoryDirectory::new();
    let o = create(&dir, &USER, &user("p"));
    let usn = dir.usn();
    let bad = PatchOp::new()
        .replace(AttributePath::new("title"), json!("x"))
        .replace(AttributePath::new("active"), json!("not a boolean"));
    let err = patch(&dir, &USER, &o.id, &bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.to_string().contains(o.id.as_str()), "{err}");
    let required = PatchOp::new().remove(AttributePath::new("userName"));
    let err = patch(&dir, &USER, &o.id, &required).unwrap_err();
    assert!(err.to_string().contains("userName"), "{err}");
    let now = dir.resource(&USER, o.id.as_str()).unwrap();
    assert!(now.get("title").is_none());
    assert_eq!(now.get("userName"), Some(&json!("p")));
    assert_eq!(dir.usn(), usn);
    let missing = patch(&dir, &USER, &TargetId::new("nope"), &required).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[test]
fn if_match_guards_every_write() {
    let dir = MemoryDirectory::new();
    let o = create(&dir, &USER, &user("etag"));
    let v1 = o.version.clone().unwrap();
    let p = PatchOp::new().replace(AttributePath::new("title"), json!("a"));
    let o2 = block_on(TargetConnector::patch(&dir, &USER, &o.id, &p, Some(&v1))).unwrap();
    let stale = block_on(TargetConnector::patch(&dir, &USER, &o.id, &p, Some(&v1))).unwrap_err();
    match stale {
        Error::VersionConflict {
            expected, actual, ..
        } => {
            assert_eq!(expected.as_deref(), Some("W/\"1\""));
            assert_eq!(actual, o2.version.as_ref().map(|v| v.to_string()));
        }
        other => panic!("expected a version conflict, got {other}"),
    }
    let err = block_on(TargetConnector::delete(&dir, &USER, &o.id, Some(&v1))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VersionConflict);
    block_on(TargetConnector::delete(
        &dir,
        &USER,
        &o.id,
        Some(&Version::new("*")),
    ))
    .unwrap();
}

#[test]
fn replace_keeps_id_and_created_and_clears_what_it_leaves_out() {
    let clock = FakeClock::at("2024-01-01T00:00:00Z".parse().unwrap());
    let dir = MemoryDirectory::builder().clock(clock.clone()).build();
    let mut r = user("put");
    r.set("title", json!("Old"));
    let o = create(&dir, &USER, &r);
    clock.advance(Duration::from_secs(5));
    let mut body = user("put");
    body.set("nickName", json!("New"));
    body.set_id(o.id.as_str());
    let after = block_on(TargetConnector::replace(&dir, &USER, &o.id, &body, None)).unwrap();
    assert!(after.resource.get("title").is_none());
    assert_eq!(after.resource.get("nickName"), Some(&json!("New")));
    let meta = after.resource.meta().unwrap();
    assert_eq!(meta["created"], "2024-01-01T00:00:00.000Z");
    assert_eq!(meta["lastModified"], "2024-01-01T00:00:05.000Z");
    body.set_id("someone-else");
    let err = block_on(TargetConnector::replace(&dir, &USER, &o.id, &body, None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
}

#[test]
fn query_filters_sorts_and_pages() {
    let clock = FakeClock::at("2024-01-01T00:00:00Z".parse().unwrap());
    let dir = MemoryDirectory::builder()
        .clock(clock.clone())
        .page_size(3)
        .build();
    let mut ids = Vec::new();
    for (name, title) in [
        ("carol", "Eng"),
        ("Alice", "Eng"),
        ("bob", "Ops"),
        ("dave", "Eng"),
        ("erin", ""),
    ] {
        let mut r = user(name);
        if !title.is_empty() {
            r.set("title", json!(title));
        }
        ids.push(create(&dir, &USER, &r).id);
        clock.advance(Duration::from_secs(60));
    }
    let names = |objects: &[TargetObject]| -> Vec<String> {
        objects
            .iter()
            .map(|o| {
                o.resource
                    .get("userName")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let q = |q: Query| block_on(TargetConnector::query(&dir, &USER, &q)).unwrap();

    // Unfiltered: id order, pages of at most the page size, a cursor to continue.
    let first = q(Query::all().with_count(10));
    assert_eq!(first.objects.len(), 3, "count is capped at the page size");
    assert_eq!(first.total_results, 5);
    let next = q(Query::all().with_cursor(first.next.clone().unwrap()));
    assert_eq!(names(&next.objects), vec!["dave", "erin"]);
    assert!(next.next.is_none());

    // Filtered and sorted (case-insensitively), missing values last in both orders.
    let eng = Filter::parse(r#"title eq "eng""#).unwrap();
    let page = q(Query::filtered(eng.clone())
        .sorted_by(AttributePath::new("userName"), SortOrder::Ascending));
    assert_eq!(names(&page.objects), vec!["Alice", "carol", "dave"]);
    assert_eq!(page.total_results, 3);
    assert!(page.next.is_none());
    let by_title = q(Query::all()
        .sorted_by(AttributePath::new("title"), SortOrder::Descending)
        .with_count(5));
    assert_eq!(
        names(&by_title.objects),
        vec!["bob", "carol", "Alice"],
        "Ops before Eng, ties by id"
    );
    let mut tail = Query::all().sorted_by(AttributePath::new("title"), SortOrder::Descending);
    tail.start_index = 4;
    assert_eq!(
        names(&q(tail).objects),
        vec!["dave", "erin"],
        "erin has no title: last"
    );

    // startIndex paging of a filtered listing.
    let mut second = Query::filtered(eng).with_count(2);
    second.start_index = 3;
    let p = q(second);
    assert_eq!(names(&p.objects), vec!["dave"]);
    assert_eq!(p.total_results, 3);

    // A filter and a sort on meta, which is kept apart from the resource.
    let late = Filter::parse(r#"meta.created ge "2024-01-01T00:02:00Z""#).unwrap();
    let p = q(Query::filtered(late).sorted_by(
        AttributePath::parse("meta.created").unwrap(),
        SortOrder::Descending,
    ));
    assert_eq!(names(&p.objects), vec!["erin", "dave", "bob"]);

    // A cursor with a sort is refused, not silently reordered.
    let bad = Query::all()
        .sorted_by(AttributePath::new("userName"), SortOrder::Ascending)
        .with_cursor(PageToken::new(ids[0].as_str()));
    let err = block_on(TargetConnector::query(&dir, &USER, &bad)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    // A filter that cannot be evaluated is the caller's error.
    let err = block_on(TargetConnector::query(
        &dir,
        &USER,
        &Query::filtered(Filter::parse("active gt true").unwrap()),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
}

#[test]
fn unknown_object_types_are_unsupported_and_extra_types_can_be_declared() {
    let dir = MemoryDirectory::builder()
        .object_type(ObjectType::new("Device"), "urn:example:schemas:Device")
        .validate(false)
        .build();
    let err = block_on(TargetConnector::get(
        &dir,
        &ObjectType::new("Printer"),
        &TargetId::new("x"),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let r =
        Resource::from_value(json!({"schemas": ["urn:example:schemas:Device"], "serial": "S1"}))
            .unwrap();
    let o = create(&dir, &ObjectType::new("Device"), &r);
    assert_eq!(o.id.as_str(), "d-00000001");
    assert_eq!(o.resource.meta().unwrap()["resourceType"], "Device");
}

#[test]
fn custom_extensions_are_validated_through_the_registry() {
    let mut registry = SchemaRegistry::default();
    registry
        .register_str(
            r#"{"id": "urn:ietf:params:scim:schemas:extension:acme:1.0:User",
            "attributes": [{"name": "HireDate", "type": "dateTime"}]}"#,
        )
        .unwrap();
    let dir = MemoryDirectory::with_registry(registry);
    let mut r = user("ext");
    r.extension_mut("urn:ietf:params:scim:schemas:extension:acme:1.0:User")
        .insert("HireDate".into(), json!("not a date"));
    let err = block_on(TargetConnector::create(&dir, &USER, &r, None)).unwrap_err();
    assert!(err.to_string().contains("HireDate"), "{err}");
    r.extension_mut("urn:ietf:params:scim:schemas:extension:acme:1.0:User")
        .insert("HireDate".into(), json!("2024-03-01T00:00:00Z"));
    create(&dir, &USER, &r);
}

// ---------------------------------------------------------------------------------------------
// Source behaviour.

#[test]
fn import_pages_by_id_and_its_watermark_precedes_the_first_page() {
    let dir = MemoryDirectory::builder().page_size(2).build();
    for n in ["a", "b", "c", "d", "e"] {
        create(&dir, &USER, &user(n));
    }
    let p1 = block_on(dir.import_page(&USER, None)).unwrap();
    assert_eq!(p1.objects.len(), 2);
    assert!(p1.watermark.is_none());
    // A change during the import: an object already read is renamed, one is added.
    let first = TargetId::new(p1.objects[0].id.as_str());
    let p = PatchOp::new().replace(AttributePath::new("title"), json!("moved"));
    patch(&dir, &USER, &first, &p).unwrap();
    let late = create(&dir, &USER, &user("f"));
    let mut token = p1.next.clone();
    let mut seen: Vec<String> = p1.objects.iter().map(|o| o.id.to_string()).collect();
    let mut watermark = None;
    while let Some(t) = token {
        let page = block_on(dir.import_page(&USER, Some(&t))).unwrap();
        seen.extend(page.objects.iter().map(|o| o.id.to_string()));
        token = page.next;
        watermark = page.watermark;
    }
    assert_eq!(
        seen.len(),
        6,
        "ids sort after the last one read, so the new one is included: {seen:?}"
    );
    let w = watermark.unwrap();
    assert_eq!(w.to_u64(), Some(5), "taken before the first page");
    // Reading changes from it replays the two changes made during the import.
    let (changes, _) = all_changes(&dir, &USER, &w);
    let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![first.as_str(), late.id.as_str()]);

    let err = block_on(dir.import_page(&USER, Some(&PageToken::new("garbage")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
}

#[test]
fn changes_keep_only_the_latest_change_and_report_deletes() {
    let dir = MemoryDirectory::builder().page_size(2).build();
    let w0 = now_wm(&dir);
    let a = create(&dir, &USER, &user("a"));
    let b = create(&dir, &USER, &user("b"));
    let p = PatchOp::new().replace(AttributePath::new("title"), json!("v2"));
    patch(&dir, &USER, &a.id, &p).unwrap();
    block_on(TargetConnector::delete(&dir, &USER, &b.id, None)).unwrap();
    // Pages of 2, each with the watermark of its last change.
    let p1 = block_on(dir.changes(&USER, &w0, None)).unwrap();
    let kinds: Vec<(String, bool)> = p1
        .changes
        .iter()
        .map(|c| (c.id.to_string(), matches!(c.kind, ChangeKind::Delete)))
        .collect();
    assert_eq!(
        kinds,
        vec![(a.id.to_string(), false), (b.id.to_string(), true)]
    );
    assert_eq!(p1.watermark.to_u64(), Some(4));
    assert!(p1.next.is_none());
    match &p1.changes[0].kind {
        ChangeKind::Upsert(r) => assert_eq!(r.get("title"), Some(&json!("v2"))),
        other => panic!("{other:?}"),
    }
    // From the end: nothing.
    let (rest, w) = all_changes(&dir, &USER, &p1.watermark);
    assert!(rest.is_empty());
    assert_eq!(w, p1.watermark);
    // Groups have their own stream.
    let (groups, _) = all_changes(&dir, &GROUP, &w0);
    assert!(groups.is_empty());
}

#[test]
fn member_changes_arrive_as_deltas_and_other_changes_as_the_group() {
    let dir = MemoryDirectory::new();
    let u: Vec<TargetId> = (0..4)
        .map(|i| create(&dir, &USER, &user(&format!("m{i}"))).id)
        .collect();
    let g = create(&dir, &GROUP, &group("Team")).id;
    let w0 = block_on(dir.current_watermark(&GROUP)).unwrap();
    patch(
        &dir,
        &GROUP,
        &g,
        &PatchOp::new().add(
            AttributePath::new("members"),
            members(&[&u[0], &u[1], &u[2]]),
        ),
    )
    .unwrap();
    let w1 = block_on(dir.current_watermark(&GROUP)).unwrap();
    let remove = PatchOp::new()
        .remove(AttributePath::parse(&format!("members[value eq \"{}\"]", u[0])).unwrap());
    patch(&dir, &GROUP, &g, &remove).unwrap();
    let entra = PatchOp::from_operations(vec![PatchOperation::remove_values(
        AttributePath::new("members"),
        members(&[&u[1]]),
    )]);
    patch(&dir, &GROUP, &g, &entra).unwrap();
    patch(
        &dir,
        &GROUP,
        &g,
        &PatchOp::new().add(AttributePath::new("members"), members(&[&u[3]])),
    )
    .unwrap();

    let delta = |since: &Watermark| -> (Vec<String>, Vec<String>) {
        let (changes, _) = all_changes(&dir, &GROUP, since);
        assert_eq!(changes.len(), 1, "{changes:?}");
        match &changes[0].kind {
            ChangeKind::Members { added, removed } => (
                added.iter().map(|s| s.to_string()).collect(),
                removed.iter().map(|s| s.to_string()).collect(),
            ),
            other => panic!("expected a member delta, got {other:?}"),
        }
    };
    // From before the first add: the net change of all four PATCHes.
    assert_eq!(
        delta(&w0),
        (
            vec![u[2].to_string(), u[3].to_string()],
            vec![u[0].to_string(), u[1].to_string()]
        )
    );
    // From between: the same merged delta (a replay of the add is harmless).
    assert_eq!(delta(&w1).1, vec![u[0].to_string(), u[1].to_string()]);

    // Renaming the group is a whole-group change; the member delta before it is folded in.
    let rename = PatchOp::new().replace(AttributePath::new("displayName"), json!("Team 2"));
    patch(&dir, &GROUP, &g, &rename).unwrap();
    let (changes, _) = all_changes(&dir, &GROUP, &w0);
    assert_eq!(changes.len(), 1);
    match &changes[0].kind {
        ChangeKind::Upsert(r) => {
            assert_eq!(r.get("displayName"), Some(&json!("Team 2")));
            assert_eq!(r.get("members").unwrap().as_array().unwrap().len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // A member PATCH that changes nothing is no change.
    let usn = dir.usn();
    patch(
        &dir,
        &GROUP,
        &g,
        &PatchOp::new().add(AttributePath::new("members"), members(&[&u[3]])),
    )
    .unwrap();
    assert_eq!(dir.usn(), usn);
}

#[test]
fn a_big_group_costs_its_member_changes() {
    let dir = MemoryDirectory::builder().validate(false).build();
    let big: Vec<Value> = (0..5_000)
        .map(|i| json!({"value": format!("m{i:06}")}))
        .collect();
    let g = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Everyone",
        "members": big
    }))
    .unwrap();
    let g = dir.load(&GROUP, [g]).unwrap().remove(0);
    let w = block_on(dir.current_watermark(&GROUP)).unwrap();
    let started = Instant::now();
    for i in 0..50 {
        let add = PatchOp::new().add(
            AttributePath::new("members"),
            json!([{"value": format!("new{i:03}")}]),
        );
        patch(&dir, &GROUP, &g, &add).unwrap();
    }
    let remove =
        PatchOp::new().remove(AttributePath::parse(r#"members[value eq "m000007"]"#).unwrap());
    patch(&dir, &GROUP, &g, &remove).unwrap();
    let spent = started.elapsed();
    let (changes, _) = all_changes(&dir, &GROUP, &w);
    assert_eq!(changes.len(), 1);
    match &changes[0].kind {
        ChangeKind::Members { added, removed } => {
            assert_eq!(added.len(), 50);
            assert_eq!(removed, &vec![SourceId::new("m000007")]);
        }
        other => panic!(
            "expected a member delta, got a {}",
            if matches!(other, ChangeKind::Upsert(_)) {
                "whole group"
            } else {
                "delete"
            }
        ),
    }
    // 51 PATCHes of a 5,000-member group: each costs a pass over the members, not a copy
    // per change; generous for a debug build on a busy machine.
    assert!(spent < Duration::from_secs(10), "{spent:?}");
}

#[test]
fn purged_tombstones_and_foreign_watermarks_need_a_full_import() {
    let dir = MemoryDirectory::new();
    let w0 = now_wm(&dir);
    let a = create(&dir, &USER, &user("a"));
    block_on(TargetConnector::delete(&dir, &USER, &a.id, None)).unwrap();
    let w2 = now_wm(&dir);
    assert_eq!(dir.purge_tombstones(u64::MAX), 1);
    let err = block_on(dir.changes(&USER, &w0, None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResyncRequired);
    assert!(
        block_on(dir.changes(&USER, &w2, None))
            .unwrap()
            .changes
            .is_empty()
    );
    for foreign in [Watermark::from_u64(99), Watermark::new(b"x".to_vec())] {
        let err = block_on(dir.changes(&USER, &foreign, None)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResyncRequired, "{foreign:?}");
    }
    let err = block_on(dir.changes(&USER, &w2, Some(&PageToken::new("zz")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
}

#[test]
fn clones_share_the_directory() {
    let dir = MemoryDirectory::new();
    let other = dir.clone();
    create(&other, &USER, &user("shared"));
    assert_eq!(dir.len(&USER), 1);
    assert_eq!(
        dir.snapshot(&USER)[0].get("userName"),
        Some(&json!("shared"))
    );
    let text = format!("{dir:?}");
    assert!(text.contains("User: 1"), "{text}");
    // Through the extension trait too.
    let id = TargetId::new(dir.snapshot(&USER)[0].id().unwrap());
    block_on(other.disable(&USER, &id)).unwrap();
    assert_eq!(
        dir.resource(&USER, id.as_str()).unwrap().get("active"),
        Some(&json!(false))
    );
}

#[test]
fn concurrent_writers_and_a_reader_lose_nothing() {
    let dir = MemoryDirectory::builder().page_size(16).build();
    let w0 = now_wm(&dir);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let o = create(&dir, &USER, &user(&format!("t{t}-{i}")));
                    let p = PatchOp::new().replace(AttributePath::new("title"), json!("x"));
                    patch(&dir, &USER, &o.id, &p).unwrap();
                }
            })
        })
        .collect();
    // A reader pages through the changes while the writers run.
    let mut seen = std::collections::BTreeSet::new();
    let mut since = w0.clone();
    for _ in 0..20 {
        let (changes, w) = all_changes(&dir, &USER, &since);
        seen.extend(changes.into_iter().map(|c| c.id.to_string()));
        since = w;
    }
    for w in writers {
        w.join().unwrap();
    }
    let (changes, _) = all_changes(&dir, &USER, &since);
    seen.extend(changes.into_iter().map(|c| c.id.to_string()));
    assert_eq!(dir.len(&USER), 400);
    assert_eq!(dir.usn(), 800);
    assert_eq!(seen.len(), 400, "every object reached the reader");
}

// ---------------------------------------------------------------------------------------------
// Bulk loading.

#[test]
fn load_is_all_or_nothing_and_keeps_given_ids_and_timestamps() {
    let dir = MemoryDirectory::new();
    create(&dir, &USER, &user("taken"));
    let mut with_id = user("given");
    with_id.set_id("HR-1");
    with_id.set(
        "meta",
        json!({"created": "2020-01-01T00:00:00Z", "version": "W/\"x\""}),
    );
    let batch = vec![with_id.clone(), user("fresh"), user("TAKEN")];
    let err = dir.load(&USER, batch).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Uniqueness);
    assert_eq!(dir.len(&USER), 1, "nothing of the failed batch stays");
    let (changes, _) = all_changes(&dir, &USER, &Watermark::from_u64(0));
    assert_eq!(changes.len(), 1, "nor its log entries");

    let ids = dir
        .load(&USER, vec![with_id.clone(), user("fresh")])
        .unwrap();
    assert_eq!(ids[0].as_str(), "HR-1");
    let r = dir.resource(&USER, "HR-1").unwrap();
    assert_eq!(r.meta().unwrap()["created"], "2020-01-01T00:00:00.000Z");
    assert_eq!(
        r.meta().unwrap()["version"]
            .as_str()
            .map(|v| v.starts_with("W/\"")),
        Some(true)
    );
    // The same id again clashes.
    assert_eq!(
        dir.load(&USER, [with_id]).unwrap_err().kind(),
        ErrorKind::Uniqueness
    );
}

/// Resident memory of this process in bytes (Linux), for a rough per-object figure.
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn loading_and_reading_100000_users_stays_linear() {
    // Users are made as they are loaded, so the timings and the memory figure include them.
    let template = user("template");
    let make = |n: usize, tag: &'static str| {
        let template = template.clone();
        (0..n).map(move |i| {
            let mut r = template.clone();
            r.set("userName", json!(format!("{tag}{i:07}")));
            r.set_external_id(format!("E{tag}{i:07}"));
            r
        })
    };

    let dir_small = MemoryDirectory::new();
    let t = Instant::now();
    dir_small.load(&USER, make(10_000, "s")).unwrap();
    let t_small = t.elapsed();

    let before = rss();
    let dir = MemoryDirectory::builder().page_size(1000).build();
    let t = Instant::now();
    dir.load(&USER, make(100_000, "l")).unwrap();
    let t_large = t.elapsed();
    if let (Some(b), Some(a)) = (before, rss()) {
        eprintln!(
            "~{} bytes resident per stored user, all included (rough)",
            a.saturating_sub(b) / 100_000
        );
    }
    eprintln!("load: 10,000 users in {t_small:?}, 100,000 in {t_large:?}");
    // Linear (or n log n) growth is ~10x for 10x the users; quadratic would be 100x.
    assert!(
        t_large < t_small * 30 + Duration::from_millis(200),
        "10k: {t_small:?}, 100k: {t_large:?}"
    );

    // A delta read after a few changes costs those changes, not the 100,000 users.
    let w = now_wm(&dir);
    let t = Instant::now();
    let hits = block_on(TargetConnector::find(
        &dir,
        &USER,
        &AttributePath::new("userName"),
        &json!("L0099999"),
        2,
    ))
    .unwrap();
    assert_eq!(hits.len(), 1);
    let p = PatchOp::new().replace(AttributePath::new("title"), json!("x"));
    for id in ["u-00000001", "u-00050000", "u-00100000"] {
        patch(&dir, &USER, &TargetId::new(id), &p).unwrap();
    }
    let (changes, _) = all_changes(&dir, &USER, &w);
    let t_delta = t.elapsed();
    assert_eq!(changes.len(), 3);
    assert!(
        t_delta * 50 < t_large,
        "delta read {t_delta:?} vs load {t_large:?}"
    );

    // A full import visits each user once.
    let mut token = None;
    let mut n = 0;
    loop {
        let page = block_on(dir_small.import_page(&USER, token.as_ref())).unwrap();
        n += page.objects.len();
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(n, 10_000);
}

// ---------------------------------------------------------------------------------------------
// Convergence: a delta reader that reads at any moments, page by page, ends with what a full
// import gives — whatever the writes in between (the change log's compaction, tombstones and
// merged member deltas lose nothing).

mod convergence {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        CreateUser,
        RetitleUser(usize, u8),
        DeleteUser(usize),
        CreateGroup,
        RenameGroup(usize, u8),
        DeleteGroup(usize),
        AddMembers(usize, Vec<usize>),
        RemoveMember(usize, usize),
        /// The reader reads one page and keeps its watermark.
        ReadPage,
        /// The reader reads everything there is.
        ReadAll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::CreateUser),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(i, t)| Op::RetitleUser(i, t)),
            1 => any::<usize>().prop_map(Op::DeleteUser),
            1 => Just(Op::CreateGroup),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(i, t)| Op::RenameGroup(i, t)),
            1 => any::<usize>().prop_map(Op::DeleteGroup),
            3 => (any::<usize>(), prop::collection::vec(any::<usize>(), 1..4))
                .prop_map(|(g, us)| Op::AddMembers(g, us)),
            2 => (any::<usize>(), any::<usize>()).prop_map(|(g, u)| Op::RemoveMember(g, u)),
            2 => Just(Op::ReadPage),
            1 => Just(Op::ReadAll),
        ]
    }

    /// What a reader of one object type holds: id → resource (without `meta`).
    #[derive(Default)]
    struct Replica {
        objects: BTreeMap<String, Resource>,
        watermark: Option<Watermark>,
    }

    impl Replica {
        fn apply(&mut self, change: &connectors::Change) {
            let id = change.id.to_string();
            match &change.kind {
                ChangeKind::Upsert(r) => {
                    let mut r = r.clone();
                    r.remove("meta");
                    self.objects.insert(id, r);
                }
                ChangeKind::Delete => {
                    self.objects.remove(&id);
                }
                ChangeKind::Members { added, removed } => {
                    let g = self
                        .objects
                        .get_mut(&id)
                        .expect("a delta for a group the reader has");
                    let mut values = member_set(g);
                    values.extend(added.iter().map(|s| s.to_string()));
                    for r in removed {
                        values.remove(r.as_str());
                    }
                    let list: Vec<Value> =
                        values.into_iter().map(|v| json!({"value": v})).collect();
                    if list.is_empty() {
                        g.remove("members");
                    } else {
                        g.set("members", Value::Array(list));
                    }
                }
                other => panic!("{other:?}"),
            }
        }

        /// Reads one page (or all of them) from the replica's watermark.
        fn read(&mut self, dir: &MemoryDirectory, ty: &ObjectType, all: bool) {
            let since = self
                .watermark
                .clone()
                .unwrap_or_else(|| Watermark::from_u64(0));
            let mut token: Option<PageToken> = None;
            loop {
                let page = block_on(dir.changes(ty, &since, token.as_ref())).unwrap();
                for c in &page.changes {
                    self.apply(c);
                }
                // The engine stores a page's watermark once the page is applied.
                self.watermark = Some(page.watermark.clone());
                match page.next {
                    Some(t) if all => token = Some(t),
                    _ => return,
                }
            }
        }
    }

    fn member_set(r: &Resource) -> BTreeSet<String> {
        match r.get("members") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    /// Objects compared with members as a set (a delta reader cannot know their order).
    fn normal(objects: &BTreeMap<String, Resource>) -> BTreeMap<String, (Value, BTreeSet<String>)> {
        objects
            .iter()
            .map(|(id, r)| {
                let mut r = r.clone();
                r.remove("meta");
                let members = member_set(&r);
                r.remove("members");
                (id.clone(), (r.to_value(), members))
            })
            .collect()
    }

    fn pick(ids: &[TargetId], i: usize) -> Option<TargetId> {
        (!ids.is_empty()).then(|| ids[i % ids.len()].clone())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_delta_reader_converges_with_a_full_import(
            page_size in 1usize..5,
            ops in prop::collection::vec(op(), 1..60),
        ) {
            let dir = MemoryDirectory::builder().page_size(page_size).build();
            let (mut users, mut groups) = (Vec::new(), Vec::new());
            let (mut u_reader, mut g_reader) = (Replica::default(), Replica::default());
            let mut n = 0;
            for op in ops {
                n += 1;
                match op {
                    Op::CreateUser => users.push(create(&dir, &USER, &user(&format!("p{n}"))).id),
                    Op::RetitleUser(i, t) => if let Some(id) = pick(&users, i) {
                        let p = PatchOp::new().replace(AttributePath::new("title"), json!(format!("t{t}")));
                        patch(&dir, &USER, &id, &p).unwrap();
                    },
                    Op::DeleteUser(i) => if let Some(id) = pick(&users, i) {
                        block_on(TargetConnector::delete(&dir, &USER, &id, None)).unwrap();
                        users.retain(|u| *u != id);
                    },
                    Op::CreateGroup => groups.push(create(&dir, &GROUP, &group(&format!("g{n}"))).id),
                    Op::RenameGroup(i, t) => if let Some(id) = pick(&groups, i) {
                        let p = PatchOp::new().replace(AttributePath::new("displayName"), json!(format!("g{n}-{t}")));
                        patch(&dir, &GROUP, &id, &p).unwrap();
                    },
                    Op::DeleteGroup(i) => if let Some(id) = pick(&groups, i) {
                        block_on(TargetConnector::delete(&dir, &GROUP, &id, None)).unwrap();
                        groups.retain(|g| *g != id);
                    },
                    Op::AddMembers(g, us) => if let Some(gid) = pick(&groups, g) {
                        let ids: Vec<TargetId> = us.iter().filter_map(|u| pick(&users, *u)).collect();
                        if !ids.is_empty() {
                            let refs: Vec<&TargetId> = ids.iter().collect();
                            patch(&dir, &GROUP, &gid, &PatchOp::new().add(AttributePath::new("members"), members(&refs))).unwrap();
                        }
                    },
                    Op::RemoveMember(g, u) => if let (Some(gid), Some(uid)) = (pick(&groups, g), pick(&users, u)) {
                        let path = AttributePath::parse(&format!("members[value eq \"{uid}\"]")).unwrap();
                        patch(&dir, &GROUP, &gid, &PatchOp::new().remove(path)).unwrap();
                    },
                    Op::ReadPage => {
                        u_reader.read(&dir, &USER, false);
                        g_reader.read(&dir, &GROUP, false);
                    }
                    Op::ReadAll => {
                        u_reader.read(&dir, &USER, true);
                        g_reader.read(&dir, &GROUP, true);
                    }
                }
            }
            u_reader.read(&dir, &USER, true);
            g_reader.read(&dir, &GROUP, true);
            // A reader that starts at the end, and the full state, agree with it.
            for (ty, reader) in [(&USER, &u_reader), (&GROUP, &g_reader)] {
                let mut late = Replica::default();
                late.read(&dir, ty, true);
                let full: BTreeMap<String, Resource> = dir
                    .snapshot(ty)
                    .into_iter()
                    .map(|r| (r.id().unwrap().to_owned(), r))
                    .collect();
                prop_assert_eq!(normal(&reader.objects), normal(&full));
                prop_assert_eq!(normal(&late.objects), normal(&full));
            }
        }
    }
}

#[test]
fn queries_narrowed_by_an_index_answer_as_a_full_scan_does() {
    let dir = MemoryDirectory::builder().page_size(1000).build();
    let registry = SchemaRegistry::default();
    let mut ids = Vec::new();
    for i in 0..120 {
        let mut r = user(&format!("User{i}@Example.com"));
        r.set("externalId", json!(format!("E{}", i % 40)));
        r.set(
            "title",
            json!(if i % 3 == 0 { "Engineer" } else { "Manager" }),
        );
        ids.push(create(&dir, &ObjectType::USER, &r).id);
    }
    let id7 = ids[7].to_string();
    let filters = [
        r#"userName eq "user7@example.com""#.to_owned(),
        r#"userName eq "USER7@EXAMPLE.COM""#.to_owned(),
        r#"userName eq "nobody@example.com""#.to_owned(),
        r#"externalId eq "E5""#.to_owned(),
        r#"externalId eq "e5""#.to_owned(),
        r#"externalId eq "E5" and title eq "Engineer""#.to_owned(),
        r#"title eq "Engineer" and externalId eq "E5""#.to_owned(),
        r#"externalId eq "E5" or title eq "Engineer""#.to_owned(),
        format!(r#"id eq "{id7}""#),
        format!(r#"id eq "{}""#, id7.to_uppercase()),
    ];
    let everything = dir.snapshot(&ObjectType::USER);
    for text in &filters {
        let filter: Filter = text.parse().unwrap();
        let mut expected: Vec<String> = everything
            .iter()
            .filter(|r| filter.matches(r, &registry).unwrap())
            .map(|r| r.id().unwrap().to_owned())
            .collect();
        expected.sort();
        // Paged two at a time, by index and by cursor, sorted and not.
        for sorted in [false, true] {
            let mut got = Vec::new();
            let mut q = Query::filtered(filter.clone()).with_count(2);
            if sorted {
                q = q.sorted_by(AttributePath::new("id"), SortOrder::Ascending);
            }
            loop {
                let page = block_on(dir.query(&ObjectType::USER, &q)).unwrap();
                assert_eq!(page.total_results, expected.len(), "{text}");
                let n = page.objects.len();
                got.extend(page.objects.into_iter().map(|o| o.id.to_string()));
                if n == 0 || got.len() >= page.total_results {
                    break;
                }
                q.start_index = got.len() + 1;
            }
            assert_eq!(got, expected, "{text} (sorted: {sorted})");
        }
        let mut got = Vec::new();
        let mut q = Query::filtered(filter.clone()).with_count(2);
        loop {
            let page = block_on(dir.query(&ObjectType::USER, &q)).unwrap();
            got.extend(page.objects.into_iter().map(|o| o.id.to_string()));
            match page.next {
                Some(next) => {
                    q = Query::filtered(filter.clone())
                        .with_count(2)
                        .with_cursor(next)
                }
                None => break,
            }
        }
        assert_eq!(got, expected, "{text} (cursor)");
    }
}

#[test]
fn get_attributes_leaves_out_members_not_asked_for() {
    let dir = MemoryDirectory::new();
    let ada = create(&dir, &USER, &user("ada"));
    let bob = create(&dir, &USER, &user("bob"));
    let g = create(&dir, &GROUP, &group("staff"));
    let add = PatchOp::new().add(AttributePath::new("members"), members(&[&ada.id, &bob.id]));
    patch(&dir, &GROUP, &g.id, &add).unwrap();
    let get = |ty: &ObjectType, id: &TargetId, paths: &[&str]| {
        let paths: Vec<AttributePath> = paths
            .iter()
            .map(|p| AttributePath::parse(p).unwrap())
            .collect();
        block_on(dir.get_attributes(ty, id, &paths))
            .unwrap()
            .unwrap()
    };
    let named = get(&GROUP, &g.id, &["displayName"]);
    assert_eq!(named.resource.get("displayName"), Some(&json!("staff")));
    assert_eq!(named.resource.get("members"), None);
    assert_eq!(named.resource.get("meta"), None);
    let whole = block_on(TargetConnector::get(&dir, &GROUP, &g.id))
        .unwrap()
        .unwrap();
    assert_eq!(named.version, whole.version);
    let with_members = get(&GROUP, &g.id, &["displayName", "members"]);
    assert_eq!(
        with_members.resource.get("members"),
        whole.resource.get("members")
    );
    let u = get(&USER, &ada.id, &["userName"]);
    let whole_user = block_on(TargetConnector::get(&dir, &USER, &ada.id))
        .unwrap()
        .unwrap();
    assert_eq!(
        u.resource, whole_user.resource,
        "a user is copied as get copies it"
    );
    assert!(
        block_on(dir.get_attributes(&USER, &TargetId::new("nobody"), &[]))
            .unwrap()
            .is_none()
    );
}
