//! Checks of the [`TargetConnector`] contract, for any implementation.
//!
//! [`run_all`] runs every check; each is also a public function. A check skips what the
//! target's [`capabilities`](TargetConnector::capabilities) say it does not support (no
//! PATCH: the PATCH checks pass without doing anything; no `Group` type: the membership check
//! does) — and checks everything it claims.
//!
//! The kit can run against a shared, live service: every object it creates has a `userName`
//! (or `displayName`) starting with a prefix random to the run (`idflow-ck-…`), queries are
//! filtered to that prefix when the target supports filters, and every check deletes what it
//! created, also when it fails.
//!
//! ```
//! # futures::executor::block_on(async {
//! use connectors::conformance::target;
//! use connectors::memory::MemoryDirectory;
//!
//! target::run_all(&MemoryDirectory::new()).await.unwrap();
//! # });
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Filter, GROUP_SCHEMA, Resource, USER_SCHEMA};
use serde_json::{Value, json};

use super::Failure;
use crate::target::{Query, SortOrder, TargetCapabilities, TargetConnector, TargetConnectorExt};
use crate::types::{CreateKey, ObjectType, TargetId};
use crate::{Error, ErrorKind, Result, TargetObject};

type Outcome = std::result::Result<(), Failure>;

/// Runs every check of this module, in order, and returns the first failure.
pub async fn run_all<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    crud_round_trip(target).await?;
    missing_objects(target).await?;
    get_attributes_reads_what_get_reads(target).await?;
    patch_is_atomic(target).await?;
    apply_patch_is_patch(target).await?;
    create_for_id_is_create(target).await?;
    group_membership(target).await?;
    disable_and_enable(target).await?;
    etag_conflicts(target).await?;
    idempotent_retries(target).await?;
    uniqueness_clash(target).await?;
    find_is_case_insensitive(target).await?;
    paging_is_stable(target).await?;
    filter_and_sort(target).await?;
    Ok(())
}

/// Create, get, find (by the create key as `externalId`, and by `userName`), PATCH, PUT (the
/// whole resource: an attribute left out is gone) and delete of a User, and a second delete
/// that succeeds.
pub async fn crud_round_trip<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::crud_round_trip");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = crud_body(&mut k).await;
    k.finish(r).await
}

async fn crud_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let name = k.name("crud");
    let key = CreateKey::new(format!("{name}-key"));
    let mut resource = k.user_resource(&name);
    resource.set("nickName", json!("Crud"));
    let created = k.ok(
        "create",
        k.target.create(&user, &resource, Some(&key)).await,
    )?;
    k.made.push((user.clone(), created.id.clone()));
    k.check(!created.id.as_str().is_empty(), || {
        "create returned an empty id".into()
    })?;
    k.same(
        "userName of the created object",
        &str_at(&created.resource, "userName"),
        &Some(name.clone()),
    )?;
    k.same(
        "id inside the created resource",
        &created.resource.id().map(str::to_owned),
        &Some(created.id.to_string()),
    )?;

    let got = k.get(&user, &created.id).await?;
    k.same(
        "userName read back",
        &str_at(&got.resource, "userName"),
        &Some(name.clone()),
    )?;

    let by_key = k.ok(
        "find by externalId (the create key)",
        k.target
            .find(
                &user,
                &AttributePath::new("externalId"),
                &json!(key.as_str()),
                2,
            )
            .await,
    )?;
    k.same(
        "objects found by the create key",
        &ids(&by_key),
        &vec![created.id.clone()],
    )?;
    let by_name = k.find_user_name(&name).await?;
    k.same(
        "objects found by userName",
        &ids(&by_name),
        &vec![created.id.clone()],
    )?;

    if k.caps.patch {
        let patch = PatchOp::new().replace(AttributePath::new("title"), json!("Conformance"));
        let patched = k.ok(
            "patch of title",
            k.target.patch(&user, &created.id, &patch, None).await,
        )?;
        k.same(
            "title returned by the patch",
            &str_at(&patched.resource, "title"),
            &Some("Conformance".into()),
        )?;
        let got = k.get(&user, &created.id).await?;
        k.same(
            "title read back after the patch",
            &str_at(&got.resource, "title"),
            &Some("Conformance".into()),
        )?;
    }

    if k.caps.replace {
        let mut body = k.user_resource(&name);
        body.set_external_id(key.as_str());
        body.set("displayName", json!("Replaced Whole"));
        let replaced = k.ok(
            "replace (PUT)",
            k.target.replace(&user, &created.id, &body, None).await,
        )?;
        k.same("id after replace", &replaced.id, &created.id)?;
        let got = k.get(&user, &created.id).await?;
        k.same(
            "displayName after replace",
            &str_at(&got.resource, "displayName"),
            &Some("Replaced Whole".into()),
        )?;
        k.same(
            "nickName after a replace that left it out",
            &str_at(&got.resource, "nickName"),
            &None,
        )?;
        k.same(
            "title after a replace that left it out",
            &str_at(&got.resource, "title"),
            &None,
        )?;
    }

    k.ok("delete", k.target.delete(&user, &created.id, None).await)?;
    let gone = k.ok("get after delete", k.target.get(&user, &created.id).await)?;
    k.check(gone.is_none(), || {
        "the deleted object can still be read".into()
    })?;
    let found = k.find_user_name(&name).await?;
    k.same(
        "objects found by userName after delete",
        &ids(&found),
        &vec![],
    )?;
    k.ok(
        "a second delete of the same object (must succeed)",
        k.target.delete(&user, &created.id, None).await,
    )
}

/// What does not exist: `get` is `None`, `delete` succeeds, `patch` and `replace` are
/// [`ErrorKind::NotFound`], `find` is empty.
pub async fn missing_objects<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::missing_objects");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = missing_body(&mut k).await;
    k.finish(r).await
}

async fn missing_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let id = TargetId::new(k.name("no-such-id"));
    let got = k.ok("get of a missing id", k.target.get(&user, &id).await)?;
    k.check(got.is_none(), || format!("get of {id} returned an object"))?;
    k.ok(
        "delete of a missing id",
        k.target.delete(&user, &id, None).await,
    )?;
    if k.caps.patch {
        let patch = PatchOp::new().replace(AttributePath::new("title"), json!("x"));
        let r = k.target.patch(&user, &id, &patch, None).await;
        k.kind("patch of a missing id", r, ErrorKind::NotFound)?;
    }
    if k.caps.replace {
        let body = k.user_resource(&k.name("missing"));
        let r = k.target.replace(&user, &id, &body, None).await;
        k.kind("replace of a missing id", r, ErrorKind::NotFound)?;
    }
    let found = k.find_user_name(&k.name("nobody")).await?;
    k.same("find of a userName nobody has", &ids(&found), &vec![])
}

/// [`TargetConnector::get_attributes`] gives the attributes it is asked for as `get` reads
/// them — a sub-attribute, an attribute whose values a filter picks (the whole attribute, so
/// the filter can be applied), a top-level one — and `None` for a missing id. It may give more.
pub async fn get_attributes_reads_what_get_reads<T: TargetConnector + ?Sized>(
    target: &T,
) -> Outcome {
    let mut k = Kit::new(target, "target::get_attributes_reads_what_get_reads");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = get_attributes_body(&mut k).await;
    k.finish(r).await
}

async fn get_attributes_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let made = k.create_user("projected").await?;
    let whole = k.get(&user, &made.id).await?;
    let paths: Vec<AttributePath> = [
        "userName",
        "name.givenName",
        r#"emails[type eq "work"].value"#,
        "title",
    ]
    .iter()
    .filter_map(|p| AttributePath::parse(p).ok())
    .collect();
    let got = k.ok(
        "get_attributes of userName, name.givenName, a work email and title",
        k.target.get_attributes(&user, &made.id, &paths).await,
    )?;
    let got = got.ok_or_else(|| k.fail(format!("get_attributes of {}: not found", made.id)))?;
    k.same("id from get_attributes", &got.id, &made.id)?;
    k.same(
        "userName from get_attributes",
        &str_at(&got.resource, "userName"),
        &str_at(&whole.resource, "userName"),
    )?;
    let given = |r: &Resource| {
        r.get("name")
            .and_then(|n| n.get("givenName"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    k.same(
        "name.givenName from get_attributes",
        &given(&got.resource),
        &given(&whole.resource),
    )?;
    k.check(given(&whole.resource).is_some(), || {
        "the created user has no name.givenName".into()
    })?;
    let work = |r: &Resource| {
        r.get("emails").and_then(Value::as_array).and_then(|a| {
            a.iter()
                .find(|e| e.get("type").and_then(Value::as_str) == Some("work"))
                .and_then(|e| e.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    k.same(
        "the work email (emails[type eq \"work\"].value) from get_attributes",
        &work(&got.resource),
        &work(&whole.resource),
    )?;
    k.same(
        "title (which the user lacks) from get_attributes",
        &str_at(&got.resource, "title"),
        &None,
    )?;
    let missing = TargetId::new(k.name("no-such-id"));
    let none = k.ok(
        "get_attributes of a missing id",
        k.target.get_attributes(&user, &missing, &paths).await,
    )?;
    k.check(none.is_none(), || {
        format!("get_attributes of {missing} returned an object")
    })
}

/// A PATCH whose second operation fails (`replace` of the read-only `id`) changes nothing:
/// not the first operation's attribute, not the version.
pub async fn patch_is_atomic<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::patch_is_atomic");
    if !k.has(&ObjectType::USER) || !k.caps.patch {
        return Ok(());
    }
    let r = atomic_body(&mut k).await;
    k.finish(r).await
}

async fn atomic_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let created = k.create_user("atomic").await?;
    let patch = PatchOp::new()
        .replace(AttributePath::new("title"), json!("Half Applied"))
        .replace(AttributePath::new("id"), json!(k.name("other-id")));
    let r = k.target.patch(&user, &created.id, &patch, None).await;
    match r {
        Ok(o) => {
            return Err(k.fail(format!(
                "a PATCH replacing the read-only id succeeded: {}",
                o.resource.to_value()
            )));
        }
        Err(e) if e.kind() == ErrorKind::Temporary => {
            return Err(k.fail(format!(
                "a PATCH of a read-only attribute failed as temporary: {e}"
            )));
        }
        Err(_) => {}
    }
    let got = k.get(&user, &created.id).await?;
    k.same(
        "title after a failed PATCH",
        &str_at(&got.resource, "title"),
        &None,
    )?;
    if k.caps.etag {
        k.same(
            "version after a failed PATCH",
            &got.version,
            &created.version,
        )?;
    }
    Ok(())
}

/// [`TargetConnector::apply_patch`] does what `patch` does: the change is made, the version
/// it returns (if any) is the object's new one, a missing object is `NotFound`, and a request
/// whose second operation fails changes nothing.
pub async fn apply_patch_is_patch<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::apply_patch_is_patch");
    if !k.has(&ObjectType::USER) || !k.caps.patch {
        return Ok(());
    }
    let r = apply_patch_body(&mut k).await;
    k.finish(r).await
}

async fn apply_patch_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let created = k.create_user("apply").await?;
    let patch = PatchOp::new().replace(AttributePath::new("title"), json!("Applied"));
    let version = k.ok(
        "apply_patch of a title",
        k.target.apply_patch(&user, &created.id, &patch, None).await,
    )?;
    let got = k.get(&user, &created.id).await?;
    k.same(
        "title after apply_patch",
        &str_at(&got.resource, "title"),
        &Some("Applied".to_owned()),
    )?;
    if k.caps.etag
        && let Some(v) = &version
    {
        k.same(
            "version returned by apply_patch",
            &Some(v.clone()),
            &got.version,
        )?;
    }
    let failing = PatchOp::new()
        .replace(AttributePath::new("title"), json!("Half Applied"))
        .replace(AttributePath::new("id"), json!(k.name("other-id")));
    match k
        .target
        .apply_patch(&user, &created.id, &failing, None)
        .await
    {
        Ok(_) => {
            return Err(k.fail("an apply_patch replacing the read-only id succeeded"));
        }
        Err(e) if e.kind() == ErrorKind::Temporary => {
            return Err(k.fail(format!(
                "an apply_patch of a read-only attribute failed as temporary: {e}"
            )));
        }
        Err(_) => {}
    }
    let after = k.get(&user, &created.id).await?;
    k.same(
        "title after a failed apply_patch",
        &str_at(&after.resource, "title"),
        &Some("Applied".to_owned()),
    )?;
    let missing = TargetId::new(k.name("no-such-id"));
    let r = k.target.apply_patch(&user, &missing, &patch, None).await;
    k.kind("apply_patch of a missing id", r, ErrorKind::NotFound)
}

/// [`TargetConnector::create_for_id`] does what `create` does: the object it names holds the
/// resource (its create key as `externalId`), the version it returns (if any) is the object's,
/// the key finds it, and the same create again is a uniqueness clash.
pub async fn create_for_id_is_create<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::create_for_id_is_create");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = create_for_id_body(&mut k).await;
    k.finish(r).await
}

async fn create_for_id_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let name = k.name("for-id");
    let key = CreateKey::new(format!("{name}-key"));
    let resource = k.user_resource(&name);
    let created = k.ok(
        "create_for_id of a user",
        k.target.create_for_id(&user, &resource, Some(&key)).await,
    )?;
    k.made.push((user.clone(), created.id.clone()));
    let got = k.get(&user, &created.id).await?;
    k.same("id of the object read", &got.id, &created.id)?;
    k.same(
        "userName after create_for_id",
        &str_at(&got.resource, "userName"),
        &Some(name.clone()),
    )?;
    k.same(
        "externalId after create_for_id (the create key)",
        &str_at(&got.resource, "externalId"),
        &Some(key.as_str().to_owned()),
    )?;
    if k.caps.etag {
        k.same(
            "version returned by create_for_id",
            &created.version,
            &got.version,
        )?;
    }
    let by_key = k.ok(
        "find by the create key",
        k.target
            .find(
                &user,
                &AttributePath::new("externalId"),
                &json!(key.as_str()),
                2,
            )
            .await,
    )?;
    let ids: Vec<TargetId> = by_key.into_iter().map(|o| o.id).collect();
    k.same(
        "objects found by the create key",
        &ids,
        &vec![created.id.clone()],
    )?;
    match k.target.create_for_id(&user, &resource, Some(&key)).await {
        Ok(again) => {
            k.made.push((user.clone(), again.id.clone()));
            Err(k.fail(format!(
                "the same create_for_id again made a second object {} (expected a uniqueness clash)",
                again.id
            )))
        }
        Err(e) => k.kind(
            "the same create_for_id again",
            Err::<(), _>(e),
            ErrorKind::Uniqueness,
        ),
    }
}

/// Group membership through PATCH: `add` of members, `add` of a member already there (no
/// duplicate), `remove` by value filter, `remove` with a value list (Entra's form), and a
/// `remove` of a member no longer there (succeeds: retries must).
pub async fn group_membership<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::group_membership");
    if !k.has(&ObjectType::USER) || !k.has(&ObjectType::GROUP) || !k.caps.patch {
        return Ok(());
    }
    let r = group_body(&mut k).await;
    k.finish(r).await
}

async fn group_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let group_ty = ObjectType::GROUP;
    let a = k.create_user("member-a").await?.id;
    let b = k.create_user("member-b").await?.id;
    let group = k.create_group("group").await?;
    let g = group.id;
    let members = |ids: &[&TargetId]| -> Value {
        Value::Array(ids.iter().map(|id| json!({"value": id.as_str()})).collect())
    };
    let add = PatchOp::new().add(AttributePath::new("members"), members(&[&a, &b]));
    k.ok(
        "add of two members",
        k.target.patch(&group_ty, &g, &add, None).await,
    )?;
    k.same(
        "members after the add",
        &k.member_ids(&g).await?,
        &sorted(&[&a, &b]),
    )?;

    let again = PatchOp::new().add(AttributePath::new("members"), members(&[&b]));
    k.ok(
        "add of a member already there",
        k.target.patch(&group_ty, &g, &again, None).await,
    )?;
    k.same(
        "members after adding one twice",
        &k.member_ids(&g).await?,
        &sorted(&[&a, &b]),
    )?;

    let by_filter = PatchOp::new().remove(k.member_path(&a)?);
    k.ok(
        "remove of members[value eq a]",
        k.target.patch(&group_ty, &g, &by_filter, None).await,
    )?;
    k.same(
        "members after removing a",
        &k.member_ids(&g).await?,
        &sorted(&[&b]),
    )?;

    let by_value =
        PatchOp::from_operations(vec![scim_model::patch::PatchOperation::remove_values(
            AttributePath::new("members"),
            members(&[&b]),
        )]);
    k.ok(
        "remove of members with a value list",
        k.target.patch(&group_ty, &g, &by_value, None).await,
    )?;
    k.same(
        "members after removing b",
        &k.member_ids(&g).await?,
        &Vec::<String>::new(),
    )?;

    k.ok(
        "remove of a member no longer there (a retry)",
        k.target.patch(&group_ty, &g, &by_filter, None).await,
    )?;
    k.same(
        "members after the retried remove",
        &k.member_ids(&g).await?,
        &Vec::<String>::new(),
    )
}

/// [`TargetConnectorExt::disable`] sets `active` to false, and `enable` back to true.
pub async fn disable_and_enable<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::disable_and_enable");
    if !k.has(&ObjectType::USER) || !k.caps.patch {
        return Ok(());
    }
    let r = disable_body(&mut k).await;
    k.finish(r).await
}

async fn disable_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let created = k.create_user("disable").await?;
    let off = k.ok("disable", k.target.disable(&user, &created.id).await)?;
    k.same(
        "active returned by disable",
        &off.resource.get("active").cloned(),
        &Some(json!(false)),
    )?;
    let got = k.get(&user, &created.id).await?;
    k.same(
        "active read back after disable",
        &got.resource.get("active").cloned(),
        &Some(json!(false)),
    )?;
    k.ok("enable", k.target.enable(&user, &created.id).await)?;
    let got = k.get(&user, &created.id).await?;
    k.same(
        "active read back after enable",
        &got.resource.get("active").cloned(),
        &Some(json!(true)),
    )
}

/// Versions and `If-Match`: every write gives a new version; a write naming an old version is
/// [`ErrorKind::VersionConflict`] and changes nothing (PATCH, PUT and delete alike).
pub async fn etag_conflicts<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::etag_conflicts");
    if !k.has(&ObjectType::USER) || !k.caps.etag || !k.caps.patch {
        return Ok(());
    }
    let r = etag_body(&mut k).await;
    k.finish(r).await
}

async fn etag_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let created = k.create_user("etag").await?;
    let v1 = created
        .version
        .clone()
        .ok_or_else(|| k.fail("create returned no version although the target declares etag"))?;
    let first = PatchOp::new().replace(AttributePath::new("title"), json!("First"));
    let after = k.ok(
        "patch with the current version",
        k.target.patch(&user, &created.id, &first, Some(&v1)).await,
    )?;
    let v2 = after
        .version
        .clone()
        .ok_or_else(|| k.fail("patch returned no version"))?;
    k.check(v2 != v1, || {
        format!("the version did not change with a write: {v1}")
    })?;

    let second = PatchOp::new().replace(AttributePath::new("title"), json!("Second"));
    let r = k.target.patch(&user, &created.id, &second, Some(&v1)).await;
    k.kind("patch with an old version", r, ErrorKind::VersionConflict)?;
    if k.caps.replace {
        let body = k.user_resource(&k.name("etag"));
        let r = k.target.replace(&user, &created.id, &body, Some(&v1)).await;
        k.kind("replace with an old version", r, ErrorKind::VersionConflict)?;
    }
    let r = k.target.delete(&user, &created.id, Some(&v1)).await;
    k.kind("delete with an old version", r, ErrorKind::VersionConflict)?;
    let got = k.get(&user, &created.id).await?;
    k.same(
        "title after the refused writes",
        &str_at(&got.resource, "title"),
        &Some("First".into()),
    )?;
    k.same(
        "version after the refused writes",
        &got.version,
        &Some(v2.clone()),
    )?;

    k.ok(
        "delete with the current version",
        k.target.delete(&user, &created.id, Some(&v2)).await,
    )?;
    let gone = k.ok("get after delete", k.target.get(&user, &created.id).await)?;
    k.check(gone.is_none(), || {
        "the object is still there after delete".into()
    })
}

/// Retries are harmless: the same PATCH twice leaves the state of one; a create repeated with
/// the same key is a uniqueness clash (not a second object) and the key finds the one object;
/// a delete twice succeeds.
pub async fn idempotent_retries<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::idempotent_retries");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = retries_body(&mut k).await;
    k.finish(r).await
}

async fn retries_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let name = k.name("retry");
    let key = CreateKey::new(format!("{name}-key"));
    let resource = k.user_resource(&name);
    let created = k.ok(
        "create",
        k.target.create(&user, &resource, Some(&key)).await,
    )?;
    k.made.push((user.clone(), created.id.clone()));

    match k.target.create(&user, &resource, Some(&key)).await {
        Ok(o) => {
            k.made.push((user.clone(), o.id.clone()));
            return Err(k.fail(format!(
                "the same create again made a second object {} (expected a uniqueness clash)",
                o.id
            )));
        }
        Err(e) => k.kind(
            "the same create again",
            Err::<(), _>(e),
            ErrorKind::Uniqueness,
        )?,
    }
    let by_key = k.ok(
        "find by the create key",
        k.target
            .find(
                &user,
                &AttributePath::new("externalId"),
                &json!(key.as_str()),
                2,
            )
            .await,
    )?;
    k.same(
        "objects holding the create key",
        &ids(&by_key),
        &vec![created.id.clone()],
    )?;

    if k.caps.patch {
        let patch = PatchOp::new()
            .replace(AttributePath::new("title"), json!("Retried"))
            .add(
                AttributePath::new("emails"),
                json!([{"value": format!("{name}@home.example.com"), "type": "home"}]),
            );
        let once = k.ok(
            "patch",
            k.target.patch(&user, &created.id, &patch, None).await,
        )?;
        let twice = k.ok(
            "the same patch again",
            k.target.patch(&user, &created.id, &patch, None).await,
        )?;
        k.same(
            "resource after the patch applied twice",
            &without_meta(&twice.resource),
            &without_meta(&once.resource),
        )?;
        let got = k.get(&user, &created.id).await?;
        k.same(
            "resource read back after the patch applied twice",
            &without_meta(&got.resource),
            &without_meta(&once.resource),
        )?;
    }
    k.ok("delete", k.target.delete(&user, &created.id, None).await)?;
    k.ok(
        "the same delete again",
        k.target.delete(&user, &created.id, None).await,
    )
}

/// A `userName` already taken is [`ErrorKind::Uniqueness`], on create and on PATCH, naming
/// the holder when the error says one; the refused PATCH changes nothing.
pub async fn uniqueness_clash<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::uniqueness_clash");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = unique_body(&mut k).await;
    k.finish(r).await
}

async fn unique_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let first = k.create_user("taken").await?;
    let taken = k.name("taken");
    let clash = k.user_resource(&taken);
    let key = CreateKey::new(k.name("taken-other-key"));
    match k.target.create(&user, &clash, Some(&key)).await {
        Ok(o) => {
            k.made.push((user.clone(), o.id.clone()));
            return Err(k.fail(format!(
                "a second user with userName {taken:?} was created: {}",
                o.id
            )));
        }
        Err(Error::Uniqueness {
            existing: Some(holder),
            ..
        }) if holder != first.id.as_str() => {
            return Err(k.fail(format!(
                "the clash names {holder:?} as the holder, but {} holds the userName",
                first.id
            )));
        }
        Err(e) if e.kind() != ErrorKind::Uniqueness => {
            return Err(k.fail(format!(
                "create with a taken userName: expected a uniqueness error, got {e}"
            )));
        }
        Err(_) => {}
    }
    if k.caps.patch {
        let second = k.create_user("free").await?;
        let patch = PatchOp::new().replace(AttributePath::new("userName"), json!(taken));
        let r = k.target.patch(&user, &second.id, &patch, None).await;
        k.kind("patch to a taken userName", r, ErrorKind::Uniqueness)?;
        let got = k.get(&user, &second.id).await?;
        k.same(
            "userName after the refused patch",
            &str_at(&got.resource, "userName"),
            &Some(k.name("free")),
        )?;
    }
    Ok(())
}

/// `find` compares `userName` case-insensitively (its schema says `caseExact: false`), and
/// finds by a value-filtered path (`emails[type eq "work"].value`) where filters are
/// supported.
pub async fn find_is_case_insensitive<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::find_is_case_insensitive");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = find_body(&mut k).await;
    k.finish(r).await
}

async fn find_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let created = k.create_user("Mixed.Case").await?;
    let name = k.name("Mixed.Case");
    for variant in [name.to_lowercase(), name.to_uppercase(), name.clone()] {
        let found = k.find_user_name(&variant).await?;
        k.same(
            &format!("find of userName {variant:?}"),
            &ids(&found),
            &vec![created.id.clone()],
        )?;
    }
    if k.caps.filter {
        let path = AttributePath::parse(r#"emails[type eq "work"].value"#)
            .map_err(|e| k.fail(format!("parsing a path: {e}")))?;
        let email = format!("{}@work.example.com", name.to_lowercase());
        let found = k.ok(
            "find by work email",
            k.target.find(&user, &path, &json!(email), 2).await,
        )?;
        k.same(
            "objects found by work email",
            &ids(&found),
            &vec![created.id.clone()],
        )?;
    }
    Ok(())
}

/// A cursor listing returns every object that existed throughout exactly once, while objects
/// are created and deleted between its pages. A target without cursors is listed by index,
/// without changes in between, and must still return each object once.
pub async fn paging_is_stable<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::paging_is_stable");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = paging_body(&mut k).await;
    k.finish(r).await
}

async fn paging_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    const PAGE: usize = 4;
    let mut stable = Vec::new();
    for i in 0..12 {
        stable.push(k.create_user(&format!("page-s{i:02}")).await?.id);
    }
    let mut doomed = Vec::new();
    for i in 0..6 {
        doomed.push(k.create_user(&format!("page-d{i:02}")).await?.id);
    }
    let base = if k.caps.filter {
        let f = Filter::parse(&format!("userName sw \"{}\"", k.name("page-")))
            .map_err(|e| k.fail(format!("parsing a filter: {e}")))?;
        Query::filtered(f)
    } else {
        Query::all()
    };
    let base = base.with_count(PAGE);

    let first = k.ok("first page", k.target.query(&user, &base).await)?;
    let cursors = first.next.is_some() || first.objects.len() >= first.total_results;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        for o in &page.objects {
            *seen.entry(o.id.to_string()).or_default() += 1;
        }
        if cursors {
            let Some(cursor) = page.next.clone() else {
                break;
            };
            // Change the directory between pages.
            if let Some(id) = doomed.pop() {
                k.ok(
                    "delete between pages",
                    k.target.delete(&user, &id, None).await,
                )?;
            }
            k.create_user(&format!("page-n{pages:02}")).await?;
            page = k.ok(
                "next page by cursor",
                k.target
                    .query(&user, &base.clone().with_cursor(cursor))
                    .await,
            )?;
        } else {
            let start = 1 + pages * PAGE;
            if start > page.total_results {
                break;
            }
            let mut q = base.clone();
            q.start_index = start;
            page = k.ok("next page by index", k.target.query(&user, &q).await)?;
        }
        pages += 1;
        if pages > 1_000 {
            return Err(k.fail("the listing did not end after 1000 pages"));
        }
    }
    for id in &stable {
        let n = seen.get(id.as_str()).copied().unwrap_or(0);
        k.check(n == 1, || {
            format!("object {id}, there throughout, was listed {n} times")
        })?;
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(k.fail(format!("object {id} was listed {n} times")));
    }
    Ok(())
}

/// Filters select, sorting orders (`userName` case-insensitively, ascending and
/// descending), and `startIndex`/`count` page with `totalResults` counting every match.
pub async fn filter_and_sort<T: TargetConnector + ?Sized>(target: &T) -> Outcome {
    let mut k = Kit::new(target, "target::filter_and_sort");
    if !k.has(&ObjectType::USER) || !k.caps.filter {
        return Ok(());
    }
    let r = filter_body(&mut k).await;
    k.finish(r).await
}

async fn filter_body<T: TargetConnector + ?Sized>(k: &mut Kit<'_, T>) -> Outcome {
    let user = ObjectType::USER;
    let mut made = Vec::new();
    for (suffix, title) in [
        ("fs-b", "Engineer"),
        ("fs-A", "Manager"),
        ("fs-c", "Engineer"),
    ] {
        let mut r = k.user_resource(&k.name(suffix));
        r.set("title", json!(title));
        let o = k.ok("create", k.target.create(&user, &r, None).await)?;
        k.made.push((user.clone(), o.id.clone()));
        made.push(o.id);
    }
    let [b, a, c] = <[TargetId; 3]>::try_from(made)
        .map_err(|_| k.fail("three creates did not give three ids"))?;
    let parse =
        |text: String| Filter::parse(&text).map_err(|e| k.fail(format!("parsing {text:?}: {e}")));
    let ours = parse(format!("userName sw \"{}\"", k.name("fs-")))?;

    let all = k.ok(
        "query by prefix",
        k.target.query(&user, &Query::filtered(ours.clone())).await,
    )?;
    k.same("totalResults of the prefix query", &all.total_results, &3)?;
    k.same(
        "objects of the prefix query",
        &sorted_ids(&all.objects),
        &sorted(&[&a, &b, &c]),
    )?;

    let engineers = ours.clone().and(parse("title eq \"engineer\"".to_owned())?);
    let page = k.ok(
        "query with and",
        k.target.query(&user, &Query::filtered(engineers)).await,
    )?;
    let expected = sorted(&[&b, &c]);
    k.same(
        "objects with title eq \"engineer\" (caseExact false)",
        &sorted_ids(&page.objects),
        &expected,
    )?;

    if k.caps.sort {
        let by_name =
            |order| Query::filtered(ours.clone()).sorted_by(AttributePath::new("userName"), order);
        let asc = k.ok(
            "sorted query",
            k.target.query(&user, &by_name(SortOrder::Ascending)).await,
        )?;
        let want = vec![a.clone(), b.clone(), c.clone()];
        k.same(
            "ascending order by userName (case-insensitive)",
            &ids(&asc.objects),
            &want,
        )?;
        let desc = k.ok(
            "sorted query, descending",
            k.target.query(&user, &by_name(SortOrder::Descending)).await,
        )?;
        let rev: Vec<TargetId> = want.iter().rev().cloned().collect();
        k.same("descending order by userName", &ids(&desc.objects), &rev)?;
        let mut q = by_name(SortOrder::Ascending).with_count(1);
        q.start_index = 2;
        let second = k.ok(
            "sorted query from startIndex 2",
            k.target.query(&user, &q).await,
        )?;
        k.same(
            "startIndex=2&count=1",
            &ids(&second.objects),
            &vec![b.clone()],
        )?;
        k.same("totalResults of a paged query", &second.total_results, &3)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

/// A prefix no other run uses: `idflow-ck-` and 12 random hex digits.
pub(crate) fn run_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one((n, std::process::id()));
    format!("idflow-ck-{:012x}", random & 0xffff_ffff_ffff)
}

/// One check's target, name, prefix and the objects it created (deleted at the end).
struct Kit<'t, T: TargetConnector + ?Sized> {
    target: &'t T,
    check: &'static str,
    prefix: String,
    caps: TargetCapabilities,
    made: Vec<(ObjectType, TargetId)>,
}

impl<'t, T: TargetConnector + ?Sized> Kit<'t, T> {
    fn new(target: &'t T, check: &'static str) -> Self {
        Kit {
            target,
            check,
            prefix: run_prefix(),
            caps: target.capabilities(),
            made: Vec::new(),
        }
    }

    fn has(&self, ty: &ObjectType) -> bool {
        self.caps.object_types.contains(ty)
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    fn fail(&self, message: impl Into<String>) -> Failure {
        Failure::new(self.check, message)
    }

    fn ok<V>(&self, doing: &str, r: Result<V>) -> std::result::Result<V, Failure> {
        r.map_err(|e| self.fail(format!("{doing}: unexpected error: {e}")))
    }

    fn check(&self, condition: bool, message: impl FnOnce() -> String) -> Outcome {
        if condition {
            Ok(())
        } else {
            Err(self.fail(message()))
        }
    }

    fn same<V: PartialEq + Debug>(&self, what: &str, found: &V, expected: &V) -> Outcome {
        self.check(found == expected, || {
            format!("{what}: expected {expected:?}, found {found:?}")
        })
    }

    /// Expects an error of `kind`.
    fn kind<V: Debug>(&self, doing: &str, r: Result<V>, kind: ErrorKind) -> Outcome {
        match r {
            Err(e) if e.kind() == kind => Ok(()),
            Err(e) => Err(self.fail(format!(
                "{doing}: expected {kind:?}, got {:?}: {e}",
                e.kind()
            ))),
            Ok(v) => Err(self.fail(format!("{doing}: expected {kind:?}, it succeeded: {v:?}"))),
        }
    }

    /// A User with `userName` `name`, a work email, active.
    fn user_resource(&self, name: &str) -> Resource {
        let lower = name.to_lowercase();
        let value = json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Conformance", "familyName": "Check"},
            "displayName": format!("Conformance {name}"),
            "active": true,
            "emails": [{"value": format!("{lower}@work.example.com"), "type": "work", "primary": true}]
        });
        Resource::from_value(value).unwrap_or_default()
    }

    async fn create_user(&mut self, suffix: &str) -> std::result::Result<TargetObject, Failure> {
        let name = self.name(suffix);
        let resource = self.user_resource(&name);
        let key = CreateKey::new(format!("{name}-key"));
        let o = self.ok(
            &format!("create of user {name}"),
            self.target
                .create(&ObjectType::USER, &resource, Some(&key))
                .await,
        )?;
        self.made.push((ObjectType::USER, o.id.clone()));
        Ok(o)
    }

    async fn create_group(&mut self, suffix: &str) -> std::result::Result<TargetObject, Failure> {
        let name = self.name(suffix);
        let resource =
            Resource::from_value(json!({"schemas": [GROUP_SCHEMA], "displayName": name}))
                .unwrap_or_default();
        let key = CreateKey::new(format!("{name}-key"));
        let o = self.ok(
            &format!("create of group {name}"),
            self.target
                .create(&ObjectType::GROUP, &resource, Some(&key))
                .await,
        )?;
        self.made.push((ObjectType::GROUP, o.id.clone()));
        Ok(o)
    }

    async fn get(
        &self,
        ty: &ObjectType,
        id: &TargetId,
    ) -> std::result::Result<TargetObject, Failure> {
        self.ok(&format!("get of {id}"), self.target.get(ty, id).await)?
            .ok_or_else(|| self.fail(format!("get of {id}: not found")))
    }

    async fn find_user_name(&self, name: &str) -> std::result::Result<Vec<TargetObject>, Failure> {
        self.ok(
            &format!("find by userName {name:?}"),
            self.target
                .find(
                    &ObjectType::USER,
                    &AttributePath::new("userName"),
                    &json!(name),
                    2,
                )
                .await,
        )
    }

    /// `members[value eq "id"]`.
    fn member_path(&self, id: &TargetId) -> std::result::Result<AttributePath, Failure> {
        let text = format!("members[value eq {}]", json!(id.as_str()));
        AttributePath::parse(&text).map_err(|e| self.fail(format!("parsing {text:?}: {e}")))
    }

    /// A group's member ids, sorted.
    async fn member_ids(&self, group: &TargetId) -> std::result::Result<Vec<String>, Failure> {
        let g = self.get(&ObjectType::GROUP, group).await?;
        let mut out: Vec<String> = match g.resource.get("members") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        out.sort();
        Ok(out)
    }

    /// Deletes what the check created, newest first; a failure to clean up is reported only
    /// when the check itself passed.
    async fn finish(self, result: Outcome) -> Outcome {
        let mut cleanup = Ok(());
        for (ty, id) in self.made.iter().rev() {
            if let Err(e) = self.target.delete(ty, id, None).await
                && cleanup.is_ok()
            {
                cleanup = Err(self.fail(format!("cleaning up: delete of {ty} {id} failed: {e}")));
            }
        }
        result.and(cleanup)
    }
}

fn str_at(r: &Resource, name: &str) -> Option<String> {
    r.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn ids(objects: &[TargetObject]) -> Vec<TargetId> {
    objects.iter().map(|o| o.id.clone()).collect()
}

fn sorted_ids(objects: &[TargetObject]) -> Vec<String> {
    let mut v: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
    v.sort();
    v
}

fn sorted(ids: &[&TargetId]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    v.sort();
    v
}

/// A resource without `meta` (which changes with every write, also an idempotent one).
fn without_meta(r: &Resource) -> Resource {
    let mut r = r.clone();
    r.remove("meta");
    r
}
