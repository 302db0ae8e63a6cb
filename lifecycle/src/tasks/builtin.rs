//! The built-in tasks that act on the target directory, and placeholders for the tasks Entra
//! runs against its own cloud.

use std::sync::Arc;

use async_trait::async_trait;
use connectors::{ObjectType, Query, TargetConnectorExt, TargetId};
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, Filter};
use serde_json::{Value, json};

use super::definitions as d;
use super::email::{EmailKind, EmailTask};
use super::extension::CustomExtensionTask;
use super::tap::TapTask;
use super::{CheckContext, TaskContext, TaskDefinition, TaskFailure, TaskHandler, TaskOutcome};
use crate::workflow::{Category, Task};

use Category::{Joiner, Leaver, Mover};

/// Every built-in handler.
pub(crate) fn handlers() -> Vec<Arc<dyn TaskHandler>> {
    let mut v: Vec<Arc<dyn TaskHandler>> = vec![
        Arc::new(Account { enable: true }),
        Arc::new(Account { enable: false }),
        Arc::new(DeleteUser),
        Arc::new(AddToGroups),
        Arc::new(RemoveFromGroups { all: false }),
        Arc::new(RemoveFromGroups { all: true }),
        Arc::new(TapTask),
        Arc::new(CustomExtensionTask),
    ];
    for kind in EmailKind::ALL {
        v.push(Arc::new(EmailTask { kind }));
    }
    for (id, alias, name, cats) in HOST_TASKS {
        v.push(Arc::new(HostTask {
            def: TaskDefinition::new(*id, *name, cats.iter().copied()).alias(*alias),
        }));
    }
    v
}

/// Entra's tasks that act on Entra's own cloud (licences, Teams, access packages, tokens).
const HOST_TASKS: &[(&str, &str, &str, &[Category])] = &[
    (
        d::REQUEST_ACCESS_PACKAGE,
        "requestAccessPackageAssignment",
        "Request user access package assignment",
        &[Joiner, Mover],
    ),
    (
        d::ASSIGN_LICENSES,
        "assignLicenses",
        "Assign licenses to user",
        &[Joiner, Mover],
    ),
    (
        d::ADD_TO_TEAMS,
        "addUserToTeams",
        "Add user to teams",
        &[Joiner, Leaver, Mover],
    ),
    (
        d::REMOVE_FROM_SELECTED_TEAMS,
        "removeUserFromSelectedTeams",
        "Remove user from selected teams",
        &[Leaver],
    ),
    (
        d::REMOVE_FROM_ALL_TEAMS,
        "removeUserFromAllTeams",
        "Remove user from all teams",
        &[Leaver],
    ),
    (
        d::REMOVE_ACCESS_PACKAGE,
        "removeAccessPackageAssignment",
        "Remove access package assignment for user",
        &[Leaver, Mover],
    ),
    (
        d::REMOVE_ALL_ACCESS_PACKAGES,
        "removeAllAccessPackageAssignments",
        "Remove all access package assignments for user",
        &[Leaver],
    ),
    (
        d::CANCEL_ACCESS_PACKAGE_REQUESTS,
        "cancelPendingAccessPackageRequests",
        "Cancel all pending access package assignment requests for user",
        &[Leaver],
    ),
    (
        d::REMOVE_SELECTED_LICENSES,
        "removeSelectedLicenses",
        "Remove selected license assignments from user",
        &[Leaver, Mover],
    ),
    (
        d::REVOKE_REFRESH_TOKENS,
        "revokeRefreshTokens",
        "Revoke all refresh tokens for user",
        &[Leaver, Mover],
    ),
    (
        d::REMOVE_ALL_LICENSES,
        "removeAllLicenses",
        "Remove all licenses for user",
        &[Leaver],
    ),
];

/// Enable or disable the account (`active`).
#[derive(Debug)]
struct Account {
    enable: bool,
}

#[async_trait]
impl TaskHandler for Account {
    fn definition(&self) -> TaskDefinition {
        if self.enable {
            TaskDefinition::new(d::ENABLE_ACCOUNT, "Enable user account", [Joiner, Leaver])
                .alias("enableUserAccount")
        } else {
            TaskDefinition::new(d::DISABLE_ACCOUNT, "Disable user account", [Leaver])
                .alias("disableUserAccount")
        }
    }

    fn check(&self, _: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        let id = TargetId::new(ctx.user_id);
        let r = if self.enable {
            ctx.target.enable(&ObjectType::USER, &id).await
        } else {
            ctx.target.disable(&ObjectType::USER, &id).await
        };
        match r {
            Ok(_) => TaskOutcome::Completed,
            Err(e) => TaskOutcome::Failed(TaskFailure::from_connector(
                &format!(
                    "{} user {}",
                    if self.enable { "enabling" } else { "disabling" },
                    ctx.describe_user()
                ),
                &e,
            )),
        }
    }
}

/// Delete the user.
#[derive(Debug)]
struct DeleteUser;

#[async_trait]
impl TaskHandler for DeleteUser {
    fn definition(&self) -> TaskDefinition {
        TaskDefinition::new(d::DELETE_USER, "Delete user", [Leaver]).alias("deleteUser")
    }

    fn check(&self, _: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        match ctx
            .target
            .delete(&ObjectType::USER, &TargetId::new(ctx.user_id), None)
            .await
        {
            Ok(()) => TaskOutcome::Completed,
            Err(e) => TaskOutcome::Failed(TaskFailure::from_connector(
                &format!("deleting user {}", ctx.describe_user()),
                &e,
            )),
        }
    }
}

/// The group ids of a `groupID` argument: a comma-separated list.
fn group_ids(task: &Task) -> Vec<String> {
    task.argument("groupID")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn check_groups(task: &Task) -> Result<(), (String, String)> {
    if group_ids(task).is_empty() {
        Err((
            "groupID".to_owned(),
            "names no group (a group id, or several separated by commas)".to_owned(),
        ))
    } else {
        Ok(())
    }
}

/// Add the user to the groups of `groupID`.
#[derive(Debug)]
struct AddToGroups;

#[async_trait]
impl TaskHandler for AddToGroups {
    fn definition(&self) -> TaskDefinition {
        TaskDefinition::new(
            d::ADD_TO_GROUPS,
            "Add user to groups",
            [Joiner, Leaver, Mover],
        )
        .alias("addUserToGroups")
    }

    fn check(&self, task: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        check_groups(task)
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        for group in group_ids(ctx.task) {
            let gid = TargetId::new(&group);
            // Already a member: nothing to do (the task is idempotent).
            match ctx.target.get(&ObjectType::GROUP, &gid).await {
                Ok(Some(g)) if is_member(&g.resource, ctx.user_id) => continue,
                Ok(Some(_)) => {}
                Ok(None) => {
                    return TaskOutcome::Failed(TaskFailure::permanent(format!(
                        "group {group:?} does not exist"
                    )));
                }
                Err(e) => {
                    return TaskOutcome::Failed(TaskFailure::from_connector(
                        &format!("reading group {group:?}"),
                        &e,
                    ));
                }
            }
            let patch = PatchOp::new().add(
                AttributePath::new("members"),
                json!([{"value": ctx.user_id}]),
            );
            if let Err(e) = ctx
                .target
                .patch(&ObjectType::GROUP, &gid, &patch, None)
                .await
            {
                return TaskOutcome::Failed(TaskFailure::from_connector(
                    &format!("adding user {} to group {group:?}", ctx.describe_user()),
                    &e,
                ));
            }
        }
        TaskOutcome::Completed
    }
}

fn is_member(group: &scim_model::Resource, user_id: &str) -> bool {
    group
        .get("members")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            m.iter()
                .any(|e| e.get("value").and_then(Value::as_str) == Some(user_id))
        })
}

/// Remove the user from the groups of `groupID`, or from every group.
#[derive(Debug)]
struct RemoveFromGroups {
    all: bool,
}

impl RemoveFromGroups {
    async fn groups_of(&self, ctx: &TaskContext<'_>) -> Result<Vec<String>, TaskFailure> {
        if !self.all {
            return Ok(group_ids(ctx.task));
        }
        let quoted = serde_json::to_string(ctx.user_id).unwrap_or_default();
        let filter = Filter::parse(&format!("members.value eq {quoted}"))
            .map_err(|e| TaskFailure::permanent(format!("cannot list the user's groups: {e}")))?;
        let mut out = Vec::new();
        let mut start = 1;
        loop {
            let mut q = Query::filtered(filter.clone()).with_count(200);
            q.start_index = start;
            let page = ctx
                .target
                .query(&ObjectType::GROUP, &q)
                .await
                .map_err(|e| TaskFailure::from_connector("listing the user's groups", &e))?;
            let n = page.objects.len();
            out.extend(page.objects.into_iter().map(|o| o.id.as_str().to_owned()));
            if n == 0 || start + n > page.total_results {
                break;
            }
            start += n;
        }
        Ok(out)
    }
}

#[async_trait]
impl TaskHandler for RemoveFromGroups {
    fn definition(&self) -> TaskDefinition {
        if self.all {
            TaskDefinition::new(
                d::REMOVE_FROM_ALL_GROUPS,
                "Remove user from all groups",
                [Leaver],
            )
            .alias("removeUserFromAllGroups")
        } else {
            TaskDefinition::new(
                d::REMOVE_FROM_SELECTED_GROUPS,
                "Remove user from selected groups",
                [Joiner, Leaver, Mover],
            )
            .alias("removeUserFromSelectedGroups")
        }
    }

    fn check(&self, task: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        if self.all { Ok(()) } else { check_groups(task) }
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        let groups = match self.groups_of(ctx).await {
            Ok(g) => g,
            Err(f) => return TaskOutcome::Failed(f),
        };
        let quoted = serde_json::to_string(ctx.user_id).unwrap_or_default();
        let path = match AttributePath::parse(&format!("members[value eq {quoted}]")) {
            Ok(p) => p,
            Err(e) => {
                return TaskOutcome::Failed(TaskFailure::permanent(format!(
                    "user id {:?} cannot be written in a PATCH path: {e}",
                    ctx.user_id
                )));
            }
        };
        for group in groups {
            let gid = TargetId::new(&group);
            match ctx.target.get(&ObjectType::GROUP, &gid).await {
                // Gone, or not a member: nothing to remove.
                Ok(None) => continue,
                Ok(Some(g)) if !is_member(&g.resource, ctx.user_id) => continue,
                Ok(Some(_)) => {}
                Err(e) => {
                    return TaskOutcome::Failed(TaskFailure::from_connector(
                        &format!("reading group {group:?}"),
                        &e,
                    ));
                }
            }
            let patch = PatchOp::new().remove(path.clone());
            if let Err(e) = ctx
                .target
                .patch(&ObjectType::GROUP, &gid, &patch, None)
                .await
            {
                return TaskOutcome::Failed(TaskFailure::from_connector(
                    &format!("removing user {} from group {group:?}", ctx.describe_user()),
                    &e,
                ));
            }
        }
        TaskOutcome::Completed
    }
}

/// A task Entra runs in its own cloud; the host provides it by registering a handler with the
/// same definition id.
#[derive(Debug)]
struct HostTask {
    def: TaskDefinition,
}

#[async_trait]
impl TaskHandler for HostTask {
    fn definition(&self) -> TaskDefinition {
        self.def.clone()
    }

    fn check(&self, _: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        Ok(())
    }

    async fn run(&self, _: &TaskContext<'_>) -> TaskOutcome {
        TaskOutcome::Failed(TaskFailure::permanent(format!(
            "\"{}\" (taskDefinitionId {}) acts on Microsoft's cloud; this host does not provide it (register a handler for it with TaskRegistry::register)",
            self.def.display_name, self.def.id
        )))
    }
}
