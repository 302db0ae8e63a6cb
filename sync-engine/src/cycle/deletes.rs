//! Disables and deletes, held until the end of the cycle and counted against the
//! accidental-deletion threshold (all object types together, as Entra counts them; a
//! disable asked for by an update that sets `active` to false counts too): within
//! it they apply; above it every one is held (`StagedDelete`, `Skipped`) and the job is
//! quarantined with `TooManyDeletes` until a person approves (`ForceDeletes`) or the count
//! falls within the threshold.
//!
//! Holding them as records in the state store makes them crash-safe: a change that asks for
//! a disable commits the held record with its watermark; the record goes only when the
//! target has acted.

use connectors::state::StateStoreExt;
use connectors::state::records::{DeleteAction, StagedDelete};
use connectors::{ErrorKind, SourceId, TargetConnectorExt};
use futures::StreamExt;
use serde_json::Value;

use super::item::{Park, failure_parked};
use super::{Cx, ObjKey, Outcome, Tally, Write, lock, property, step};
use crate::log::{Action, Status, StatusInfo, StepStatus, StepType};
use crate::{Error, Result};

/// The prefix of the cycle note that asks `finish` to quarantine with `TooManyDeletes`.
pub(crate) const TOO_MANY: &str = "\u{0}too-many-deletes:";

/// Applies or holds the staged disables and deletes (all, or one object's on demand).
pub(crate) async fn apply_staged(cx: &Cx<'_>, only: Option<(usize, &SourceId)>) -> Result<()> {
    let staged: Vec<(ObjKey, StagedDelete)> = lock(&cx.staged)
        .iter()
        .filter(|((ti, id), _)| only.is_none_or(|(t, i)| *ti == t && id == i))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if staged.is_empty() {
        return Ok(());
    }
    let count = staged.len() as u64;
    let threshold = cx.eng.job.deletion_threshold;
    let allowed = only.is_some() || cx.force_deletes || threshold.is_none_or(|t| count <= t);
    if !allowed {
        let t = threshold.unwrap_or(0);
        lock(&cx.notes).push(format!(
            "{TOO_MANY}{count} disables and deletes exceed the deletion threshold of {t}; \
             they are held until approved (reset scope ForceDeletes) or the count falls within the threshold"
        ));
        let outcomes = staged
            .into_iter()
            .map(|((ti, id), s)| held(cx, ti, id, &s, count, t))
            .collect();
        return cx.commit_outcomes(outcomes, None).await;
    }
    let concurrency = cx.eng.job.export_concurrency;
    let results: Vec<Result<Outcome>> = futures::stream::iter(staged)
        .map(|((ti, id), s)| apply_one(cx, ti, id, s))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut outcomes = Vec::new();
    for r in results {
        outcomes.push(r?);
        if outcomes.len() >= cx.eng.job.page_size {
            cx.commit_outcomes(std::mem::take(&mut outcomes), None)
                .await?;
        }
    }
    cx.commit_outcomes(outcomes, None).await
}

fn held(cx: &Cx<'_>, ti: usize, id: SourceId, s: &StagedDelete, count: u64, t: u64) -> Outcome {
    let mut entry = cx.entry(ti, &id, crate::log::Action::StagedDelete, Status::Skipped);
    entry.target_identity.id = s.target_id.to_string();
    entry.source_identity.display_name = s.display_name.clone();
    entry.provisioning_steps.push(step(
        "EvaluateAction",
        StepType::Processing,
        StepStatus::Skipped,
        format!(
            "{} held: {} (this cycle would disable or delete {count}, more than the threshold of {t})",
            match s.action {
                DeleteAction::Delete => "Delete",
                _ => "Disable",
            },
            s.reason
        ),
    ));
    entry.status_info = Some(StatusInfo {
        error_code: "TooManyDeletes".to_owned(),
        reason: format!("{count} disables and deletes exceed the deletion threshold of {t}"),
        recommended_action: "Check why so many objects left scope or were deleted at the source; if it is intended, approve the deletions (restart with ForceDeletes, `idflow sync --approve-deletes`).".to_owned(),
    });
    let mut o = Outcome::new(ti, id);
    o.log = Some(entry);
    o.tally = Tally::Staged;
    o
}

async fn apply_one(cx: &Cx<'_>, ti: usize, id: SourceId, s: StagedDelete) -> Result<Outcome> {
    let eng = cx.eng;
    let t = &eng.types[ti];
    let tt = t.target_type();
    let link = eng
        .state
        .link_by_source(&eng.job_id, t.source_type(), &id)
        .await
        .map_err(|e| Error::connector("reading a link", e))?;
    let mut o = Outcome::new(ti, id.clone());
    let Some(link) = link else {
        o.writes.push(Write::Unstage);
        return Ok(o);
    };
    // A target without soft delete gets a DELETE instead of a disable, as Entra does.
    let delete = s.action == DeleteAction::Delete || !eng.target.capabilities().soft_delete;
    let action = if delete {
        Action::Delete
    } else {
        Action::Disable
    };
    let mut entry = cx.entry(ti, &id, action, Status::Success);
    entry.target_identity.id = link.target_id.to_string();
    entry.source_identity.display_name = s.display_name.clone();
    entry.provisioning_steps.push(step(
        "EvaluateAction",
        StepType::Processing,
        StepStatus::Success,
        format!(
            "{}: {}",
            if delete { "Delete" } else { "Disable" },
            s.reason
        ),
    ));
    if cx.preview {
        entry.status = Status::Skipped;
        entry.provisioning_steps.push(step(
            "ProvisionObject",
            StepType::Export,
            StepStatus::Skipped,
            "Preview: nothing was written",
        ));
        o.log = Some(entry);
        o.tally = if delete {
            Tally::Deleted
        } else {
            Tally::Disabled
        };
        return Ok(o);
    }
    let result = if delete {
        super::read::with_retries(cx, || eng.target.delete(tt, &link.target_id, None)).await
    } else {
        super::read::with_retries(cx, || eng.target.disable(tt, &link.target_id))
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => {
            entry.provisioning_steps.push(step(
                "ProvisionObject",
                StepType::Export,
                StepStatus::Success,
                format!(
                    "{} target object {}",
                    if delete { "Deleted" } else { "Disabled" },
                    link.target_id
                ),
            ));
            if delete {
                o.writes.push(Write::Unlink(link));
                o.tally = Tally::Deleted;
            } else {
                entry.modified_properties.push(property(
                    "active",
                    Some(&Value::Bool(true)),
                    Some(&Value::Bool(false)),
                ));
                let mut link = link;
                link.disabled = true;
                link.updated = cx.now;
                o.writes.push(Write::LinkUpdate(link));
                o.tally = Tally::Disabled;
            }
            o.writes.push(Write::Unstage);
            o.log = Some(entry);
            Ok(o)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // Already gone from the target: nothing left to disable or delete.
            entry.action = Action::Delete;
            entry.provisioning_steps.push(step(
                "ProvisionObject",
                StepType::Export,
                StepStatus::Success,
                format!("Target object {} was already gone", link.target_id),
            ));
            o.writes.push(Write::Unlink(link));
            o.writes.push(Write::Unstage);
            o.log = Some(entry);
            o.tally = Tally::Deleted;
            Ok(o)
        }
        Err(e) => {
            // The held record stays, so the action is tried again next cycle.
            Ok(failure_parked(
                cx,
                ti,
                &id,
                Some(entry),
                &e,
                Vec::new(),
                Park::No,
            ))
        }
    }
}
