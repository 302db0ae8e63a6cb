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
