//! Matching by listing (`matchByListingUpTo`): on an initial or full cycle a small target is
//! listed once, and only objects whose matching value it holds are looked up with `find`.

use std::sync::Arc;

use connectors::testing::Recording;
use connectors::{ObjectType, TargetConnector};
use serde_json::json;

use crate::support::*;

/// `n` people at HR, `user0@example.com` ...
fn hire_many(w: &World, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| w.hire(&format!("user{i}@example.com"), "Engineering"))
        .collect()
}

/// Puts a user straight into the target (as an earlier system would have).
fn pre_existing(w: &World, user_name: &str) {
    block(
        w.target
            .create(&ObjectType::USER, &user(user_name, "Legacy"), None),
    )
    .unwrap();
}

fn users_in_target(w: &World) -> usize {
    w.target.snapshot(&ObjectType::USER).len()
}

#[test]
fn a_first_cycle_into_an_empty_target_creates_without_a_find_per_object() {
    let w = World::new();
    hire_many(&w, 30);
    let target = Arc::new(Recording::new(w.target.clone()));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 30);
    assert_eq!(
        target.log().count("find"),
        0,
        "{:?}",
        target.log().operations()
    );
    assert_eq!(target.log().count("create"), 30);
    assert_eq!(users_in_target(&w), 30);
    // The log says why no find was made.
    let entry = out
        .log
        .iter()
        .find(|e| e.action == sync_engine::Action::Create)
        .unwrap();
    assert!(
        entry
            .provisioning_steps
            .iter()
            .any(|s| s.description.contains("listing at the start of the cycle")),
        "{:?}",
        entry.provisioning_steps
    );
}

#[test]
fn only_values_the_listing_holds_are_looked_up_and_they_still_match() {
    let w = World::new();
    hire_many(&w, 30);
    // Five of them are already in the target (userName in another case: the target compares
    // userName without case), plus three the source does not know.
    for i in [3, 7, 11, 19, 28] {
        pre_existing(&w, &format!("User{i}@Example.COM"));
    }
    for other in ["x@example.com", "y@example.com", "z@example.com"] {
        pre_existing(&w, other);
    }
    let target = Arc::new(Recording::new(w.target.clone()));
    // A page size of 3 makes the listing span several pages.
    let engine = w.engine_with(
        user_job(json!({"pageSize": 3})),
        w.hr.clone(),
        target.clone(),
        Arc::new(w.state.clone()),
    );
    let out = w.run(&engine);
    assert_eq!(
        target.log().count("find"),
        5,
        "{:?}",
        target.log().operations()
    );
    assert_eq!(out.summary.created, 25);
    assert_eq!(users_in_target(&w), 30 + 3, "matched, not created twice");
    // The matched ones took the source's department.
    assert_eq!(
        w.target_user("user7@example.com")
            .as_ref()
            .and_then(department)
            .as_deref(),
        Some("Engineering")
    );
}

#[test]
fn without_listing_or_over_the_limit_every_object_is_looked_up() {
    for extra in [
        json!({"matchByListingUpTo": null}),
        json!({"matchByListingUpTo": 2}),
    ] {
        let w = World::new();
        hire_many(&w, 12);
        for other in ["x@example.com", "y@example.com", "z@example.com"] {
            pre_existing(&w, other);
        }
        let target = Arc::new(Recording::new(w.target.clone()));
        let engine = w.engine_with(
            user_job(extra.clone()),
            w.hr.clone(),
            target.clone(),
            Arc::new(w.state.clone()),
        );
        let out = w.run(&engine);
        assert_eq!(out.summary.created, 12, "{extra}");
        assert_eq!(target.log().count("find"), 12, "{extra}");
    }
}

#[test]
fn a_full_cycle_after_a_config_change_lists_again_and_matches_what_it_finds() {
    let w = World::new();
    hire_many(&w, 10);
    let engine = w.engine(user_job(json!({})));
    assert_eq!(w.run(&engine).summary.created, 10);

    // The state is lost (a new job over the same target): a full import must match all ten,
    // not create them again.
    let fresh = connectors::MemoryStateStore::new();
    let target = Arc::new(Recording::new(w.target.clone()));
    let engine = w.engine_with(
        user_job(json!({})),
        w.hr.clone(),
        target.clone(),
        Arc::new(fresh),
    );
    let out = w.run(&engine);
    assert_eq!(out.summary.created, 0);
    assert_eq!(target.log().count("find"), 10);
    assert_eq!(users_in_target(&w), 10);
}

/// A target whose creates take a while (they yield to the executor a few times) and which
/// records how many run at once.
#[derive(Debug)]
struct Gauge {
    inner: Arc<connectors::MemoryDirectory>,
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

async fn yield_times(n: usize) {
    for _ in 0..n {
        let mut yielded = false;
        futures::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
}

#[async_trait::async_trait]
impl TargetConnector for Gauge {
    fn name(&self) -> &str {
        "gauge"
    }
    fn capabilities(&self) -> connectors::TargetCapabilities {
        self.inner.capabilities()
    }
    async fn get(
        &self,
        t: &ObjectType,
        id: &connectors::TargetId,
    ) -> connectors::Result<Option<connectors::TargetObject>> {
        self.inner.get(t, id).await
    }
    async fn find(
        &self,
        t: &ObjectType,
        p: &scim_model::AttributePath,
        v: &serde_json::Value,
        l: usize,
    ) -> connectors::Result<Vec<connectors::TargetObject>> {
        self.inner.find(t, p, v, l).await
    }
    async fn create(
        &self,
        t: &ObjectType,
        r: &scim_model::Resource,
        k: Option<&connectors::CreateKey>,
    ) -> connectors::Result<connectors::TargetObject> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        yield_times(5).await;
        let out = self.inner.create(t, r, k).await;
        self.now.fetch_sub(1, SeqCst);
        out
    }
    async fn patch(
        &self,
        t: &ObjectType,
        id: &connectors::TargetId,
        p: &scim_model::patch::PatchOp,
        m: Option<&connectors::Version>,
    ) -> connectors::Result<connectors::TargetObject> {
        self.inner.patch(t, id, p, m).await
    }
    async fn replace(
        &self,
        t: &ObjectType,
        id: &connectors::TargetId,
        r: &scim_model::Resource,
        m: Option<&connectors::Version>,
    ) -> connectors::Result<connectors::TargetObject> {
        self.inner.replace(t, id, r, m).await
    }
    async fn delete(
        &self,
        t: &ObjectType,
        id: &connectors::TargetId,
        m: Option<&connectors::Version>,
    ) -> connectors::Result<()> {
        self.inner.delete(t, id, m).await
    }
    async fn query(
        &self,
        t: &ObjectType,
        q: &connectors::Query,
    ) -> connectors::Result<connectors::QueryPage> {
        self.inner.query(t, q).await
    }
}

#[test]
fn overlapping_batches_keep_the_export_concurrency_and_create_everyone_once() {
    for (concurrency, page) in [(3, 4), (8, 5), (1, 2)] {
        let w = World::new();
        hire_many(&w, 60);
        let gauge = Arc::new(Gauge {
            inner: w.target.clone(),
            now: Default::default(),
            max: Default::default(),
        });
        let engine = w.engine_with(
            user_job(json!({"pageSize": page, "exportConcurrency": concurrency})),
            w.hr.clone(),
            gauge.clone(),
            Arc::new(w.state.clone()),
        );
        let out = w.run(&engine);
        assert_eq!(out.summary.created, 60);
        assert_eq!(users_in_target(&w), 60);
        let max = gauge.max.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            max <= concurrency,
            "{max} creates ran at once with exportConcurrency {concurrency}"
        );
        assert_eq!(
            max, concurrency,
            "the exports did run {concurrency} at once"
        );
        // A second cycle has nothing to do: every link was committed.
        assert_eq!(w.run(&engine).summary.created, 0);
    }
}
