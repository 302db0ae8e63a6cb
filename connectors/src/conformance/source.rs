//! Checks of the [`SourceConnector`] contract, for any implementation.
//!
//! A source is read-only to the engine, so the checks change it through a [`SourceFixture`]:
//! the test's way of creating, changing and deleting objects in the source (for a directory,
//! its write API; for a file, rewriting the file). [`run_all`] runs every check that the
//! source's [`capabilities`](SourceConnector::capabilities) make meaningful: the delta checks
//! need [`SourceCapabilities::delta`](crate::SourceCapabilities::delta), the membership check
//! needs the `Group` type and a fixture that changes members.
//!
//! Objects the checks create have a `userName` (or `displayName`) starting with a prefix
//! random to the run, so the kit can run against a shared source; the checks look only at
//! their own objects and delete them at the end, also when they fail. Import pages are
//! checked across page boundaries, so give the source a small page size (5 or so) if it can
//! be set.
//!
//! ```
//! # futures::executor::block_on(async {
//! use connectors::conformance::source;
//! use connectors::memory::MemoryDirectory;
//!
//! let dir = MemoryDirectory::builder().page_size(5).build();
//! // MemoryDirectory is its own fixture: it is a target too.
//! source::run_all(&dir, &dir).await.unwrap();
//! # });
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use async_trait::async_trait;
use scim_model::{GROUP_SCHEMA, Resource, USER_SCHEMA};
use serde_json::{Value, json};

use super::Failure;
use super::target::run_prefix;
use crate::source::{Change, ChangeKind, SourceCapabilities, SourceConnector};
use crate::types::{ObjectType, PageToken, SourceId, Watermark};
use crate::{ErrorKind, Result};

type Outcome = std::result::Result<(), Failure>;

/// How the checks change a source: whatever writes to the system the source reads.
///
/// Every method must have taken effect, as the source reads it, when it returns.
#[async_trait]
pub trait SourceFixture: Send + Sync {
    /// Creates an object; returns the id the source will report it under.
    async fn create(&self, object_type: &ObjectType, resource: &Resource) -> Result<SourceId>;

    /// Replaces an object's attributes with `resource`'s (the id stays).
    async fn update(
        &self,
        object_type: &ObjectType,
        id: &SourceId,
        resource: &Resource,
    ) -> Result<()>;

    /// Deletes an object.
    async fn delete(&self, object_type: &ObjectType, id: &SourceId) -> Result<()>;

    /// Adds members to a group. A fixture that cannot returns
    /// [`Error::Unsupported`](crate::Error::Unsupported), and the membership check is skipped.
    async fn add_members(&self, group: &SourceId, members: &[SourceId]) -> Result<()>;

    /// Removes members from a group (see [`SourceFixture::add_members`]).
    async fn remove_members(&self, group: &SourceId, members: &[SourceId]) -> Result<()>;
}

/// Runs every check of this module that applies, in order, and returns the first failure.
pub async fn run_all<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    full_import_returns_each_once(source, fixture).await?;
    import_while_changing(source, fixture).await?;
    get_reads_current_state(source, fixture).await?;
    delta_after_each_change(source, fixture).await?;
    member_deltas(source, fixture).await?;
    watermarks_move_forward(source, fixture).await?;
    foreign_watermark_needs_resync(source).await?;
    no_delta_is_unsupported(source).await?;
    Ok(())
}

/// A full import returns every object once, over several pages, with a watermark on the last
/// page exactly when the source has delta support.
pub async fn full_import_returns_each_once<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::full_import_returns_each_once");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = import_body(&mut k).await;
    k.finish(r).await
}

async fn import_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut ours = BTreeSet::new();
    for i in 0..12 {
        ours.insert(k.create_user(&format!("imp{i:02}")).await?);
    }
    let mut seen: BTreeMap<SourceId, usize> = BTreeMap::new();
    let mut token: Option<PageToken> = None;
    let mut pages = 0;
    let watermark = loop {
        let page = k.ok(
            "import_page",
            k.source
                .import_page(&ObjectType::USER, token.as_ref())
                .await,
        )?;
        pages += 1;
        for o in &page.objects {
            *seen.entry(o.id.clone()).or_default() += 1;
            if ours.contains(&o.id) {
                let name = o.resource.get("userName").and_then(Value::as_str);
                k.check(name.is_some_and(|n| n.starts_with(&k.prefix)), || {
                    format!(
                        "object {} was imported without its userName: {name:?}",
                        o.id
                    )
                })?;
            }
        }
        if page.next.is_some() && page.watermark.is_some() {
            return Err(k.fail("a page that is not the last one carries a watermark"));
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break page.watermark,
        }
        k.check(pages <= 100_000, || "the import did not end".into())?;
    };
    for id in &ours {
        let n = seen.get(id).copied().unwrap_or(0);
        k.check(n == 1, || format!("object {id} was imported {n} times"))?;
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(k.fail(format!("object {id} was imported {n} times")));
    }
    k.same(
        "a watermark on the last page (exactly when the source has delta support)",
        &watermark.is_some(),
        &k.caps.delta,
    )
}

/// Objects that change, appear and go between the pages of an import: each object there
/// throughout is imported exactly once, no object twice; and with delta support, the changes
/// since the import's watermark include every change made during the import.
pub async fn import_while_changing<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::import_while_changing");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = churn_body(&mut k).await;
    k.finish(r).await
}

async fn churn_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let user = ObjectType::USER;
    let mut stable = Vec::new();
    for i in 0..15 {
        stable.push(k.create_user(&format!("churn{i:02}")).await?);
    }
    let mut doomed = Vec::new();
    for i in 0..4 {
        doomed.push(k.create_user(&format!("doomed{i:02}")).await?);
    }
    let mut seen: BTreeMap<SourceId, usize> = BTreeMap::new();
    let mut token: Option<PageToken> = None;
    let mut updated = Vec::new();
    let mut deleted = Vec::new();
    let mut created = Vec::new();
    let mut pages = 0;
    let watermark = loop {
        let page = k.ok(
            "import_page",
            k.source.import_page(&user, token.as_ref()).await,
        )?;
        pages += 1;
        for o in &page.objects {
            *seen.entry(o.id.clone()).or_default() += 1;
        }
        let Some(next) = page.next else {
            break page.watermark;
        };
        token = Some(next);
        k.check(pages <= 100_000, || "the import did not end".into())?;
        // Between pages: update one object seen and one not yet seen, delete one, add one.
        let (done, todo): (Vec<&SourceId>, Vec<&SourceId>) =
            stable.iter().partition(|id| seen.contains_key(*id));
        for id in [done.first(), todo.last()].into_iter().flatten() {
            let name = k.user_name_of(id).await?;
            let mut r = k.user_resource(&name);
            r.set("title", json!(format!("changed during import {pages}")));
            k.ok("fixture update", k.fixture.update(&user, id, &r).await)?;
            updated.push((*id).clone());
        }
        if let Some(id) = doomed.pop() {
            k.ok("fixture delete", k.fixture.delete(&user, &id).await)?;
            deleted.push(id);
        }
        created.push(k.create_user(&format!("born{pages:02}")).await?);
    };
    for id in &stable {
        let n = seen.get(id).copied().unwrap_or(0);
        k.check(n == 1, || {
            format!("object {id}, there throughout the import, was imported {n} times")
        })?;
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(k.fail(format!("object {id} was imported {n} times")));
    }
    if !k.caps.delta {
        return Ok(());
    }
    let watermark = watermark.ok_or_else(|| k.fail("the import's last page has no watermark"))?;
    let (changes, _) = k.read_changes(&user, &watermark).await?;
    let last = last_changes(&changes);
    for id in updated.iter().chain(&created) {
        k.check(matches!(last.get(id), Some(ChangeKind::Upsert(_))), || {
            format!("{id}, changed during the import, is not an upsert in the changes since the import's watermark: {:?}", last.get(id))
        })?;
    }
    for id in &deleted {
        k.check(matches!(last.get(id), Some(ChangeKind::Delete)), || {
            format!("{id}, deleted during the import, is not a delete in the changes since the import's watermark: {:?}", last.get(id))
        })?;
    }
    Ok(())
}

/// `get` reads an object's current state, and `None` for an id that does not exist.
pub async fn get_reads_current_state<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::get_reads_current_state");
    if !k.has(&ObjectType::USER) {
        return Ok(());
    }
    let r = get_body(&mut k).await;
    k.finish(r).await
}

async fn get_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let user = ObjectType::USER;
    let missing = SourceId::new(k.name("no-such-id"));
    let got = k.ok("get of a missing id", k.source.get(&user, &missing).await)?;
    k.check(got.is_none(), || {
        format!("get of {missing} returned an object")
    })?;
    let id = k.create_user("get").await?;
    let mut r = k.user_resource(&k.name("get"));
    r.set("title", json!("Updated"));
    k.ok("fixture update", k.fixture.update(&user, &id, &r).await)?;
    let got = k
        .ok("get", k.source.get(&user, &id).await)?
        .ok_or_else(|| k.fail(format!("get of {id}: not found")))?;
    k.same(
        "title read by get after an update",
        &got.get("title").cloned(),
        &Some(json!("Updated")),
    )?;
    k.ok("fixture delete", k.fixture.delete(&user, &id).await)?;
    let got = k.ok("get after delete", k.source.get(&user, &id).await)?;
    k.check(got.is_none(), || {
        format!("get of deleted {id} returned an object")
    })
}

/// Changes since a watermark report a create, an update (with the new state) and a delete
/// (a tombstone), each read from the watermark the previous read ended with.
pub async fn delta_after_each_change<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::delta_after_each_change");
    if !k.has(&ObjectType::USER) || !k.caps.delta {
        return Ok(());
    }
    let r = delta_body(&mut k).await;
    k.finish(r).await
}

async fn delta_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let user = ObjectType::USER;
    let w0 = k.ok("current_watermark", k.source.current_watermark(&user).await)?;
    let id = k.create_user("delta").await?;
    let (changes, w1) = k.read_changes(&user, &w0).await?;
    match last_changes(&changes).get(&id) {
        Some(ChangeKind::Upsert(r)) => k.same(
            "userName in the upsert of a create",
            &r.get("userName").and_then(Value::as_str),
            &Some(k.name("delta").as_str()),
        )?,
        other => {
            return Err(k.fail(format!(
                "after a create, expected an upsert of {id}, found {other:?}"
            )));
        }
    }

    let mut r = k.user_resource(&k.name("delta"));
    r.set("title", json!("Promoted"));
    k.ok("fixture update", k.fixture.update(&user, &id, &r).await)?;
    let (changes, w2) = k.read_changes(&user, &w1).await?;
    match last_changes(&changes).get(&id) {
        Some(ChangeKind::Upsert(r)) => k.same(
            "title in the upsert of an update",
            &r.get("title").cloned(),
            &Some(json!("Promoted")),
        )?,
        other => {
            return Err(k.fail(format!(
                "after an update, expected an upsert of {id}, found {other:?}"
            )));
        }
    }

    k.ok("fixture delete", k.fixture.delete(&user, &id).await)?;
    let (changes, _) = k.read_changes(&user, &w2).await?;
    k.check(
        matches!(last_changes(&changes).get(&id), Some(ChangeKind::Delete)),
        || {
            format!(
                "after a delete, expected a delete (tombstone) of {id}, found {:?}",
                last_changes(&changes).get(&id)
            )
        },
    )
}

/// A group's membership changes: as [`ChangeKind::Members`] deltas when the source declares
/// `member_deltas` (never the whole group), else as upserts of the group; either way, applying
/// the changes in order gives the group's members.
pub async fn member_deltas<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::member_deltas");
    if !k.has(&ObjectType::USER) || !k.has(&ObjectType::GROUP) || !k.caps.delta {
        return Ok(());
    }
    let r = members_body(&mut k).await;
    k.finish(r).await
}

async fn members_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let group = ObjectType::GROUP;
    let a = k.create_user("member-a").await?;
    let b = k.create_user("member-b").await?;
    let g = k.create_group("group").await?;
    let w0 = k.ok(
        "current_watermark",
        k.source.current_watermark(&group).await,
    )?;
    match k.fixture.add_members(&g, &[a.clone(), b.clone()]).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => return Ok(()),
        r => k.ok("fixture add_members", r)?,
    }
    let (changes, w1) = k.read_changes(&group, &w0).await?;
    k.same_members(&changes, &g, &[&a, &b], "after adding a and b")?;
    k.ok(
        "fixture remove_members",
        k.fixture.remove_members(&g, std::slice::from_ref(&a)).await,
    )?;
    let (later, _) = k.read_changes(&group, &w1).await?;
    k.same_members(&later, &g, &[&b], "after removing a")?;
    // From before both: the two deltas (or the latest state) give b alone.
    let (all, _) = k.read_changes(&group, &w0).await?;
    k.same_members(
        &all,
        &g,
        &[&b],
        "after adding a and b and removing a, read in one go",
    )
}

/// Watermarks only move forward: reading from the watermark a read ended with yields nothing
/// of what that read returned, and reading from one watermark twice yields the same changes
/// (a replay is harmless).
pub async fn watermarks_move_forward<S, F>(source: &S, fixture: &F) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let mut k = Kit::new(source, fixture, "source::watermarks_move_forward");
    if !k.has(&ObjectType::USER) || !k.caps.delta {
        return Ok(());
    }
    let r = forward_body(&mut k).await;
    k.finish(r).await
}

async fn forward_body<S, F>(k: &mut Kit<'_, S, F>) -> Outcome
where
    S: SourceConnector + ?Sized,
    F: SourceFixture + ?Sized,
{
    let user = ObjectType::USER;
    let w0 = k.ok("current_watermark", k.source.current_watermark(&user).await)?;
    let mut ours = BTreeSet::new();
    for i in 0..12 {
        ours.insert(k.create_user(&format!("fwd{i:02}")).await?);
    }
    let (first, end) = k.read_changes(&user, &w0).await?;
    let (again, _) = k.read_changes(&user, &w0).await?;
    let mine = |changes: &[Change]| -> Vec<String> {
        changes
            .iter()
            .filter(|c| ours.contains(&c.id))
            .map(|c| format!("{} {}", c.id, kind_name(&c.kind)))
            .collect()
    };
    k.same(
        "changes read twice from one watermark",
        &mine(&again),
        &mine(&first),
    )?;
    let seen: BTreeSet<&SourceId> = first
        .iter()
        .map(|c| &c.id)
        .filter(|id| ours.contains(*id))
        .collect();
    k.same(
        "objects created after the watermark that the changes report",
        &seen.len(),
        &ours.len(),
    )?;
    let (after, _) = k.read_changes(&user, &end).await?;
    k.same(
        "changes of the same objects read from the watermark the first read ended with",
        &mine(&after),
        &Vec::new(),
    )?;
    // Each page's watermark covers that page: reading from it never returns a change of an
    // object whose only change was on that page or before.
    let mut token: Option<PageToken> = None;
    let mut before: BTreeSet<SourceId> = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = k.ok(
            "changes",
            k.source.changes(&user, &w0, token.as_ref()).await,
        )?;
        pages += 1;
        before.extend(
            page.changes
                .iter()
                .map(|c| c.id.clone())
                .filter(|id| ours.contains(id)),
        );
        let (rest, _) = k.read_changes(&user, &page.watermark).await?;
        if let Some(c) = rest.iter().find(|c| before.contains(&c.id)) {
            return Err(k.fail(format!(
                "reading from page {pages}'s watermark returned {} again, although it did not change after that page",
                c.id
            )));
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
        k.check(pages <= 100_000, || "the change listing did not end".into())?;
    }
    Ok(())
}

/// A watermark this source did not issue is [`ErrorKind::ResyncRequired`], never an empty
/// page.
pub async fn foreign_watermark_needs_resync<S: SourceConnector + ?Sized>(source: &S) -> Outcome {
    let caps = source.capabilities();
    if !caps.delta {
        return Ok(());
    }
    let Some(ty) = caps.object_types.first() else {
        return Ok(());
    };
    let foreign = Watermark::new(b"idflow conformance: not a watermark of this source".to_vec());
    let check = "source::foreign_watermark_needs_resync";
    match source.changes(ty, &foreign, None).await {
        Err(e) if e.kind() == ErrorKind::ResyncRequired => Ok(()),
        Err(e) => Err(Failure::new(
            check,
            format!("expected ResyncRequired, got {:?}: {e}", e.kind()),
        )),
        Ok(page) => Err(Failure::new(
            check,
            format!(
                "a foreign watermark was accepted ({} changes): expected ResyncRequired",
                page.changes.len()
            ),
        )),
    }
}

/// A source without delta support says so: `changes` and `current_watermark` are
/// [`ErrorKind::Unsupported`].
pub async fn no_delta_is_unsupported<S: SourceConnector + ?Sized>(source: &S) -> Outcome {
    let caps = source.capabilities();
    if caps.delta {
        return Ok(());
    }
    let Some(ty) = caps.object_types.first() else {
        return Ok(());
    };
    let check = "source::no_delta_is_unsupported";
    match source.current_watermark(ty).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => {}
        Err(e) => {
            return Err(Failure::new(
                check,
                format!("current_watermark: expected Unsupported, got {e}"),
            ));
        }
        Ok(w) => {
            return Err(Failure::new(
                check,
                format!("current_watermark returned {w:?} without delta support"),
            ));
        }
    }
    match source.changes(ty, &Watermark::from_u64(0), None).await {
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(()),
        Err(e) => Err(Failure::new(
            check,
            format!("changes: expected Unsupported, got {e}"),
        )),
        Ok(_) => Err(Failure::new(
            check,
            "changes returned a page without delta support",
        )),
    }
}

// ---------------------------------------------------------------------------------------------

/// The last change of each object, in a list of changes (the later one wins).
fn last_changes(changes: &[Change]) -> BTreeMap<SourceId, ChangeKind> {
    changes
        .iter()
        .map(|c| (c.id.clone(), c.kind.clone()))
        .collect()
}

fn kind_name(kind: &ChangeKind) -> String {
    match kind {
        ChangeKind::Upsert(_) => "upsert".into(),
        ChangeKind::Delete => "delete".into(),
        ChangeKind::Members { added, removed } => format!("members +{added:?} -{removed:?}"),
    }
}

/// One check's source, fixture, prefix and the objects it created (deleted at the end).
struct Kit<'a, S: SourceConnector + ?Sized, F: SourceFixture + ?Sized> {
    source: &'a S,
    fixture: &'a F,
    check: &'static str,
    prefix: String,
    caps: SourceCapabilities,
    made: Vec<(ObjectType, SourceId)>,
}

impl<'a, S: SourceConnector + ?Sized, F: SourceFixture + ?Sized> Kit<'a, S, F> {
    fn new(source: &'a S, fixture: &'a F, check: &'static str) -> Self {
        Kit {
            source,
            fixture,
            check,
            prefix: run_prefix(),
            caps: source.capabilities(),
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

    fn user_resource(&self, name: &str) -> Resource {
        let value = json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Conformance", "familyName": "Check"},
            "active": true
        });
        Resource::from_value(value).unwrap_or_default()
    }

    async fn create_user(&mut self, suffix: &str) -> std::result::Result<SourceId, Failure> {
        let name = self.name(suffix);
        let r = self.user_resource(&name);
        let id = self.ok(
            &format!("fixture create of user {name}"),
            self.fixture.create(&ObjectType::USER, &r).await,
        )?;
        self.made.push((ObjectType::USER, id.clone()));
        Ok(id)
    }

    async fn create_group(&mut self, suffix: &str) -> std::result::Result<SourceId, Failure> {
        let name = self.name(suffix);
        let r = Resource::from_value(json!({"schemas": [GROUP_SCHEMA], "displayName": name}))
            .unwrap_or_default();
        let id = self.ok(
            &format!("fixture create of group {name}"),
            self.fixture.create(&ObjectType::GROUP, &r).await,
        )?;
        self.made.push((ObjectType::GROUP, id.clone()));
        Ok(id)
    }

    /// The `userName` the source holds for a user.
    async fn user_name_of(&self, id: &SourceId) -> std::result::Result<String, Failure> {
        let r = self
            .ok(
                &format!("get of {id}"),
                self.source.get(&ObjectType::USER, id).await,
            )?
            .ok_or_else(|| self.fail(format!("get of {id}: not found")))?;
        r.get("userName")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.fail(format!("{id} has no userName")))
    }

    /// Every change after `since`, over all pages, and the last page's watermark.
    async fn read_changes(
        &self,
        ty: &ObjectType,
        since: &Watermark,
    ) -> std::result::Result<(Vec<Change>, Watermark), Failure> {
        let mut out = Vec::new();
        let mut token: Option<PageToken> = None;
        for _ in 0..100_000 {
            let page = self.ok(
                &format!("changes of {ty}"),
                self.source.changes(ty, since, token.as_ref()).await,
            )?;
            out.extend(page.changes);
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok((out, page.watermark)),
            }
        }
        Err(self.fail("the change listing did not end"))
    }

    /// Checks that applying `changes` in order to an empty membership of group `g` gives
    /// `expected` — deltas when the source declares them, the whole group otherwise.
    fn same_members(
        &self,
        changes: &[Change],
        g: &SourceId,
        expected: &[&SourceId],
        when: &str,
    ) -> Outcome {
        let mut members: BTreeSet<String> = BTreeSet::new();
        let mut any = false;
        for c in changes.iter().filter(|c| c.id == *g) {
            any = true;
            match &c.kind {
                ChangeKind::Members { added, removed } => {
                    if !self.caps.member_deltas {
                        return Err(self.fail(format!(
                            "{when}: a Members change from a source that does not declare member_deltas"
                        )));
                    }
                    members.extend(added.iter().map(|id| id.as_str().to_lowercase()));
                    for id in removed {
                        members.remove(&id.as_str().to_lowercase());
                    }
                }
                ChangeKind::Upsert(r) => {
                    members = match r.get("members") {
                        Some(Value::Array(items)) => items
                            .iter()
                            .filter_map(|m| m.get("value").and_then(Value::as_str))
                            .map(str::to_lowercase)
                            .collect(),
                        _ => BTreeSet::new(),
                    };
                }
                other => {
                    return Err(
                        self.fail(format!("{when}: unexpected change of group {g}: {other:?}"))
                    );
                }
            }
        }
        self.check(any, || {
            format!("{when}: no change of group {g} was reported")
        })?;
        if self.caps.member_deltas
            && let Some(c) = changes.iter().rev().find(|c| c.id == *g)
            && !matches!(c.kind, ChangeKind::Members { .. })
        {
            return Err(self.fail(format!(
                "{when}: the source declares member_deltas but reported the membership change as {}",
                kind_name(&c.kind)
            )));
        }
        let want: BTreeSet<String> = expected
            .iter()
            .map(|id| id.as_str().to_lowercase())
            .collect();
        self.same(&format!("{when}: members"), &members, &want)
    }

    /// Deletes what the check created, newest first; a failure to clean up is reported only
    /// when the check itself passed.
    async fn finish(self, result: Outcome) -> Outcome {
        let mut cleanup = Ok(());
        for (ty, id) in self.made.iter().rev() {
            if let Err(e) = self.fixture.delete(ty, id).await
                && e.kind() != ErrorKind::NotFound
                && cleanup.is_ok()
            {
                cleanup = Err(self.fail(format!("cleaning up: delete of {ty} {id} failed: {e}")));
            }
        }
        result.and(cleanup)
    }
}
