//! References: a manager and group members hold source ids at the source; the engine writes
//! the linked target ids. A reference to an object not yet provisioned waits (a pending
//! reference) and is written when the object appears — in this cycle or a later one — never
//! dropped.

use std::collections::BTreeSet;

use connectors::state::records::{PendingReference, job_prefix, object_key};
use connectors::state::{Key, KeyRange, StateStoreExt, Table};
use connectors::{ObjectType, SourceId, TargetId};
use futures::StreamExt;
use scim_model::patch::{PatchOp, PatchOperation};
use scim_model::{Resource, get_ci};
use serde_json::{Value, json};

use super::item::{Park, failure_parked};
use super::{Cx, Outcome, PENDING_BY_REFERENCED, RESOLVE_QUEUE, Tally, Write, chunks, lock, step};
use crate::engine::ENTERPRISE;
use crate::log::CycleKind;
use crate::log::{Action, ModifiedProperty, Status, StepStatus, StepType};
use crate::{Error, Result};

const MANAGER: &str = "manager";
const MEMBERS: &str = "members";

/// The type indexes to look a referenced object up in: users first, then the rest.
fn member_types(cx: &Cx<'_>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cx.eng.types.len()).collect();
    order.sort_by_key(|&i| cx.eng.types[i].source_type() != &ObjectType::USER);
    order
}

fn user_type(cx: &Cx<'_>, fallback: usize) -> usize {
    cx.eng
        .types
        .iter()
        .position(|t| t.source_type() == &ObjectType::USER)
        .unwrap_or(fallback)
}

/// The source id of a source object's manager (the enterprise extension's `manager.value`).
pub(crate) fn source_manager(source: &Resource) -> Option<SourceId> {
    source
        .extension(ENTERPRISE)
        .and_then(|e| get_ci(e, MANAGER))
        .and_then(|m| match m {
            Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .map(SourceId::from)
}

/// The manager a source object refers to when it is not linked yet (`None` when the job does
/// not carry managers, the object has none, or it is linked).
pub(crate) async fn unlinked_manager(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    source: &Resource,
) -> Result<Option<SourceId>> {
    if cx.eng.types[ti].manager_target.is_none() {
        return Ok(None);
    }
    let Some(manager) = source_manager(source).filter(|m| m != id) else {
        return Ok(None);
    };
    let users = [user_type(cx, ti)];
    Ok(match lookup(cx, &manager, &users).await? {
        Some(_) => None,
        None => Some(manager),
    })
}

/// The target id of a stored link record ([`connectors::state::records::Link`]), read
/// without the rest of it (a reference needs only the id; the fingerprints and the time are
/// skipped, not decoded).
#[derive(serde::Deserialize)]
struct LinkedTarget {
    #[serde(rename = "targetId")]
    target_id: TargetId,
}

/// The target id linked to a source id, in the first of `types` that has it.
async fn lookup(cx: &Cx<'_>, id: &SourceId, types: &[usize]) -> Result<Option<TargetId>> {
    for &ti in types {
        let ty = cx.eng.types[ti].source_type();
        let link: Option<LinkedTarget> = cx
            .eng
            .state
            .get_json(Table::LINKS, &object_key(&cx.eng.job_id, ty, id.as_str()))
            .await
            .map_err(|e| Error::connector("reading a link", e))?;
        if let Some(link) = link {
            return Ok(Some(link.target_id));
        }
    }
    Ok(None)
}

/// The stored pending reference of one holder's attribute.
async fn existing_pending(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    attr: &str,
) -> Result<Option<PendingReference>> {
    if !cx.pending_stored.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(None);
    }
    let ty = cx.eng.types[ti].source_type();
    let key = object_key(&cx.eng.job_id, ty, id.as_str()).str(attr);
    cx.eng
        .state
        .get_json(Table::PENDING_REFERENCES, &key)
        .await
        .map_err(|e| Error::connector("reading a pending reference", e))
}

/// Every stored pending reference of one holder.
pub(crate) async fn holder_pending(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
) -> Result<Vec<PendingReference>> {
    let ty = cx.eng.types[ti].source_type();
    let range = KeyRange::prefix(object_key(&cx.eng.job_id, ty, id.as_str()).into_bytes());
    Ok(cx
        .eng
        .state
        .scan_json::<PendingReference>(Table::PENDING_REFERENCES, &range, 100)
        .await
        .map_err(|e| Error::connector("reading pending references", e))?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

/// The writes that make the pending reference of `attr` hold exactly `waiting`, given what
/// is stored.
fn pending_writes(
    cx: &Cx<'_>,
    existing: Option<PendingReference>,
    id: &SourceId,
    attr: &str,
    referenced_type: ObjectType,
    waiting: Vec<SourceId>,
) -> Vec<Write> {
    match (waiting.is_empty(), existing) {
        (true, Some(p)) => vec![Write::DropPending {
            attribute: attr.to_owned(),
            previous: p.referenced,
        }],
        (true, None) => Vec::new(),
        (false, Some(p)) if p.referenced == waiting => Vec::new(),
        (false, Some(p)) => {
            let previous = p.referenced.clone();
            let mut record = p;
            record.referenced = waiting;
            vec![Write::Pending { record, previous }]
        }
        (false, None) => vec![Write::Pending {
            record: PendingReference::new(id.clone(), attr, referenced_type, waiting, cx.now),
            previous: Vec::new(),
        }],
    }
}

/// Writes the manager's target id into the source copy; an unlinked manager is taken out of
/// the copy (so nothing wrong flows) and waits.
pub(crate) async fn translate_manager(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    source: &mut Resource,
) -> Result<Vec<Write>> {
    let manager = source_manager(source);
    let existing = existing_pending(cx, ti, id, MANAGER).await?;
    let Some(manager) = manager else {
        return Ok(pending_writes(
            cx,
            existing,
            id,
            MANAGER,
            ObjectType::USER,
            Vec::new(),
        ));
    };
    let users = [user_type(cx, ti)];
    match lookup(cx, &manager, &users).await? {
        Some(target) => {
            // Only the target's id: the source's displayName and $ref describe the source's
            // manager and are read-only in the target's schema.
            let ext = source.extension_mut(ENTERPRISE);
            scim_model::insert_ci(ext, MANAGER, json!({"value": target.as_str()}));
            Ok(pending_writes(
                cx,
                existing,
                id,
                MANAGER,
                ObjectType::USER,
                Vec::new(),
            ))
        }
        None => {
            scim_model::remove_ci(source.extension_mut(ENTERPRISE), MANAGER);
            Ok(pending_writes(
                cx,
                existing,
                id,
                MANAGER,
                ObjectType::USER,
                vec![manager],
            ))
        }
    }
}

/// A group's members translated to target ids.
pub(crate) struct MemberRefs {
    /// The linked members' target ids.
    pub targets: Vec<TargetId>,
    pub writes: Vec<Write>,
}

/// Takes `members` out of the source copy and translates it; unlinked members wait.
pub(crate) async fn translate_members(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    source: &mut Resource,
) -> Result<MemberRefs> {
    // A whole group without `members` has none (SCIM leaves an empty multi-valued attribute
    // out): its last member's removal must reach the target too.
    let members = source
        .remove(MEMBERS)
        .unwrap_or_else(|| Value::Array(Vec::new()));
    let types = member_types(cx);
    let mut targets = Vec::new();
    let mut waiting = Vec::new();
    for m in members.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(sid) = m
            .as_object()
            .and_then(|o| get_ci(o, "value"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let sid = SourceId::from(sid);
        match lookup(cx, &sid, &types).await? {
            Some(t) => targets.push(t),
            None => waiting.push(sid),
        }
    }
    let existing = existing_pending(cx, ti, id, MEMBERS).await?;
    Ok(MemberRefs {
        targets,
        writes: pending_writes(cx, existing, id, MEMBERS, ObjectType::USER, waiting),
    })
}

/// Member changes translated to target ids.
pub(crate) struct MemberDelta {
    pub add: Vec<TargetId>,
    pub remove: Vec<TargetId>,
    pub writes: Vec<Write>,
}

/// Translates member additions and removals; unlinked additions wait, and removals of
/// members still waiting stop waiting.
pub(crate) async fn translate_member_delta(
    cx: &Cx<'_>,
    ti: usize,
    id: &SourceId,
    added: &[SourceId],
    removed: &[SourceId],
) -> Result<MemberDelta> {
    let types = member_types(cx);
    let existing = existing_pending(cx, ti, id, MEMBERS).await?;
    let mut waiting: Vec<SourceId> = existing
        .as_ref()
        .map(|p| p.referenced.clone())
        .unwrap_or_default();
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for sid in added {
        match lookup(cx, sid, &types).await? {
            Some(t) => add.push(t),
            None => {
                if !waiting.contains(sid) {
                    waiting.push(sid.clone());
                }
            }
        }
    }
    for sid in removed {
        waiting.retain(|w| w != sid);
        if let Some(t) = lookup(cx, sid, &types).await? {
            add.retain(|a| a != &t);
            remove.push(t);
        }
    }
    Ok(MemberDelta {
        add,
        remove,
        writes: pending_writes(cx, existing, id, MEMBERS, ObjectType::USER, waiting),
    })
}

/// Writes the pending references that can now be resolved: those waiting for an object
/// linked since the last resolution (the durable resolve queue), those held by such an object,
/// and those whose earlier write failed and is due again; on a full cycle, all of them. With
/// `only`, just that object's. The cost grows with what was linked, not with how many
/// references wait.
pub(crate) async fn resolve(cx: &Cx<'_>, only: Option<(usize, &SourceId)>) -> Result<()> {
    let eng = cx.eng;
    let job = &eng.job_id;
    let mut candidates: BTreeSet<(usize, SourceId)> = BTreeSet::new();
    let mut dequeue: Vec<(ObjectType, SourceId)> = Vec::new();
    let mut clear_queue = false;
    if let Some((ti, id)) = only {
        candidates.insert((ti, id.clone()));
    } else if cx.kind != CycleKind::Delta {
        // An initial or full cycle links objects by the thousand: one pass over the waiting
        // references costs less than looking up each new link's waiters.
        for (ti, t) in eng.types.iter().enumerate() {
            for p in eng
                .records::<PendingReference>(Table::PENDING_REFERENCES, t.source_type())
                .await?
            {
                candidates.insert((ti, p.source_id));
            }
        }
        clear_queue = true;
    } else {
        // Objects linked since the last resolution.
        let range = KeyRange::prefix(job_prefix(job).into_bytes());
        let queued = eng
            .state
            .scan(RESOLVE_QUEUE, &range, usize::MAX)
            .await
            .map_err(|e| Error::connector("reading the resolve queue", e))?;
        for (key, _) in queued {
            let parts = Key::decode(&key).unwrap_or_default();
            let (Some(ty), Some(id)) = (parts.get(1), parts.get(2)) else {
                continue;
            };
            let ty = ObjectType::new(String::from_utf8_lossy(ty).into_owned());
            let id = SourceId::new(String::from_utf8_lossy(id).into_owned());
            dequeue.push((ty.clone(), id.clone()));
            let Some(ti) = eng.type_index(&ty) else {
                continue;
            };
            // References may wait for it …
            let prefix = Key::new().str(job.as_str()).str(id.as_str());
            let holders = eng
                .state
                .scan(
                    PENDING_BY_REFERENCED,
                    &KeyRange::prefix(prefix.into_bytes()),
                    usize::MAX,
                )
                .await
                .map_err(|e| Error::connector("reading pending references", e))?;
            for (hk, _) in holders {
                let parts = Key::decode(&hk).unwrap_or_default();
                let (Some(hty), Some(hid)) = (parts.get(2), parts.get(3)) else {
                    continue;
                };
                let hty = ObjectType::new(String::from_utf8_lossy(hty).into_owned());
                if let Some(hti) = eng.type_index(&hty) {
                    let hid = SourceId::new(String::from_utf8_lossy(hid).into_owned());
                    candidates.insert((hti, hid));
                }
            }
            // … and it may hold references that waited for it to be linked.
            candidates.insert((ti, id));
        }
        // References whose write failed earlier and is due again.
        for ((ti, id), e) in lock(&cx.escrows).iter() {
            if e.reference && e.next_retry <= cx.now {
                candidates.insert((*ti, id.clone()));
            }
        }
    }
    let mut entries = Vec::new();
    for (ti, id) in candidates {
        for p in holder_pending(cx, ti, &id).await? {
            entries.push(((ti, id.clone(), p.attribute.clone()), p));
        }
    }
    let concurrency = eng.job.export_concurrency;
    let results: Vec<Result<Option<Outcome>>> = futures::stream::iter(entries)
        .map(|(key, pending)| resolve_one(cx, key, pending))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut outcomes = Vec::new();
    for r in results {
        if let Some(o) = r? {
            outcomes.push(o);
        }
    }
    for chunk in chunks(outcomes, eng.job.page_size) {
        cx.commit_outcomes(chunk, None).await?;
    }
    if clear_queue && !cx.preview {
        let mut txn = cx.txn()?;
        txn.delete_prefix(RESOLVE_QUEUE, job_prefix(job));
        cx.commit(txn, "clearing the resolve queue").await?;
    }
    if !dequeue.is_empty() && !cx.preview {
        // After the resolutions are committed: a crash before this re-reads the queue, and
        // resolving again is harmless.
        let mut txn = cx.txn()?;
        for (ty, id) in dequeue {
            txn.delete(RESOLVE_QUEUE, object_key(job, &ty, id.as_str()));
        }
        cx.commit(txn, "clearing the resolve queue").await?;
    }
    Ok(())
}

async fn resolve_one(
    cx: &Cx<'_>,
    (ti, id, attr): (usize, SourceId, String),
    pending: PendingReference,
) -> Result<Option<Outcome>> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let holder = eng
        .state
        .link_by_source(&eng.job_id, t.source_type(), &id)
        .await
        .map_err(|e| Error::connector("reading a link", e))?;
    let Some(holder) = holder else {
        return Ok(None); // the holder itself is not provisioned yet
    };
    let types = if attr == MANAGER {
        vec![user_type(cx, ti)]
    } else {
        member_types(cx)
    };
    let mut resolved = Vec::new();
    let mut waiting = Vec::new();
    for r in &pending.referenced {
        match lookup(cx, r, &types).await? {
            Some(tid) => resolved.push((r.clone(), tid)),
            None => waiting.push(r.clone()),
        }
    }
    if resolved.is_empty() {
        return Ok(None);
    }
    let mut patch = PatchOp::new();
    let mut property = ModifiedProperty {
        display_name: attr.clone(),
        old_value: None,
        new_value: None,
    };
    if attr == MANAGER {
        let (Some(path), Some((_, tid))) = (&t.manager_target, resolved.first()) else {
            return Ok(None);
        };
        let value = if path
            .sub_attribute()
            .is_some_and(|s| s.eq_ignore_ascii_case("value"))
        {
            Value::String(tid.to_string())
        } else {
            json!({"value": tid.as_str()})
        };
        property.display_name = path.to_string();
        property.new_value = Some(tid.to_string());
        patch.push(PatchOperation::replace(path.clone(), value));
    } else {
        let list: Vec<Value> = resolved
            .iter()
            .map(|(_, tid)| json!({"value": tid.as_str()}))
            .collect();
        property.new_value = Some(format!("{} members added", list.len()));
        patch.push(PatchOperation::add(
            scim_model::AttributePath::new(MEMBERS),
            Value::Array(list),
        ));
    }
    let mut entry = cx.entry(ti, &id, Action::Update, Status::Success);
    entry.target_identity.id = holder.target_id.to_string();
    let names: Vec<String> = resolved.iter().map(|(s, _)| s.to_string()).collect();
    let description = format!(
        "Resolved {attr} reference(s) to {} now provisioned{}",
        names.join(", "),
        if waiting.is_empty() {
            String::new()
        } else {
            format!("; {} still waiting", waiting.len())
        }
    );
    entry.provisioning_steps.push(step(
        "ResolveReferences",
        StepType::ReferenceResolution,
        StepStatus::Success,
        description,
    ));
    entry.modified_properties.push(property);
    let referenced_type = pending.referenced_type.clone();
    let writes = pending_writes(cx, Some(pending), &id, &attr, referenced_type, waiting);
    let mut o = Outcome::new(ti, id.clone());
    if cx.preview {
        entry.status = Status::Skipped;
        o.log = Some(entry);
        o.tally = Tally::Updated;
        return Ok(Some(o));
    }
    let tt = t.target_type();
    match super::read::with_retries(cx, || {
        eng.target.apply_patch(tt, &holder.target_id, &patch, None)
    })
    .await
    {
        Ok(_) => {
            o.writes = writes;
            let reference_escrow = lock(&cx.escrows)
                .get(&(ti, id.clone()))
                .is_some_and(|e| e.reference);
            if reference_escrow {
                o.writes.push(Write::DropEscrow);
            }
            o.log = Some(entry);
            o.tally = Tally::Updated;
            Ok(Some(o))
        }
        Err(e) => {
            // The reference keeps waiting; the holder is escrowed as a reference failure
            // (counted apart by the quarantine rules) and tried again when due.
            let mut o = failure_parked(cx, ti, &id, Some(entry), &e, Vec::new(), Park::Reference);
            o.reference_failure = true;
            Ok(Some(o))
        }
    }
}

/// Reports, once, each reference that started waiting in this cycle and is still waiting:
/// whether the object referred to is missing at the source or out of scope.
pub(crate) async fn report_unresolved(cx: &Cx<'_>) -> Result<()> {
    let fresh: Vec<((usize, SourceId, String), PendingReference)> = lock(&cx.new_pending)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let eng = cx.eng;
    let mut outcomes = Vec::new();
    for (key, pending) in fresh {
        let (ti, id, attr) = key;
        let description = if attr == MANAGER {
            let Some(manager) = pending.referenced.first() else {
                continue;
            };
            let ui = user_type(cx, ti);
            let ty = eng.types[ui].source_type();
            let seen = (ui, manager.clone());
            if lock(&cx.out_of_scope).contains(&seen) {
                format!(
                    "The manager {manager} is out of scope (see its entry in this cycle); the reference waits until it comes into scope"
                )
            } else if lock(&cx.touched)[ui].contains(manager) {
                format!(
                    "The manager {manager} is not provisioned yet (see its entry in this cycle); the reference waits"
                )
            } else {
                match super::read::with_retries(cx, || eng.source.get(ty, manager)).await {
                    Ok(None) => format!(
                        "The manager {manager} does not exist in the source; the reference waits until it does"
                    ),
                    Ok(Some(r)) if !eng.types[ui].scope.matches(&r) => format!(
                        "The manager {manager} is out of scope ({}); the reference waits until it comes into scope",
                        eng.types[ui].scope.explain(&r)
                    ),
                    Ok(Some(_)) => format!(
                        "The manager {manager} is not provisioned yet (see its own log entry); the reference waits"
                    ),
                    Err(e) => {
                        format!("The manager {manager} could not be read from the source: {e}")
                    }
                }
            }
        } else {
            let first: Vec<String> = pending
                .referenced
                .iter()
                .take(5)
                .map(ToString::to_string)
                .collect();
            format!(
                "{} member(s) are not provisioned (out of scope, failed or missing), e.g. {}; they are added when they are",
                pending.referenced.len(),
                first.join(", ")
            )
        };
        let mut entry = cx.entry(ti, &id, Action::Other, Status::Warning);
        entry.provisioning_steps.push(step(
            "ResolveReferences",
            StepType::ReferenceResolution,
            StepStatus::Warning,
            description,
        ));
        let mut o = Outcome::new(ti, id);
        o.log = Some(entry);
        outcomes.push(o);
    }
    lock(&cx.new_pending).clear();
    if outcomes.is_empty() {
        return Ok(());
    }
    for chunk in chunks(outcomes, cx.eng.job.page_size) {
        cx.commit_outcomes(chunk, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use connectors::state::records::Link;

    use super::*;

    #[test]
    fn a_link_record_reads_as_its_target_id() {
        let mut link = Link::new(
            SourceId::new("E1"),
            TargetId::new("t-1"),
            chrono::Utc::now(),
        );
        link.source_fingerprint = Some("ab".repeat(8));
        link.disabled = true;
        let bytes = serde_json::to_vec(&link).unwrap();
        let read: LinkedTarget = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(read.target_id, TargetId::new("t-1"));
    }
}
