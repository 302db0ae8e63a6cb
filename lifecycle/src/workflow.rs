//! Workflows as serde data, in Microsoft Graph's JSON shapes (as exported from Entra), and the
//! set of workflows a runner holds, with Entra's limits and versioning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// The prefix of Graph's `@odata.type` values for lifecycle workflow types.
const ODATA_PREFIX: &str = "#microsoft.graph.identityGovernance.";

/// A workflow's category: what part of the lifecycle it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Category {
    /// Someone joins (pre-hire, first day, post-onboarding).
    Joiner,
    /// Someone moves (department, job, group changes).
    Mover,
    /// Someone leaves (before, on and after the last day).
    Leaver,
    /// Anything else (idflow; Entra has only the three above).
    Custom,
}

impl Category {
    /// The name as Graph writes it (`joiner`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Joiner => "joiner",
            Category::Mover => "mover",
            Category::Leaver => "leaver",
            Category::Custom => "custom",
        }
    }
}

/// One `{name, value}` argument of a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskArgument {
    /// The argument's name, e.g. `groupID`.
    pub name: String,
    /// Its value, as text (Graph's arguments are all strings).
    pub value: String,
}

impl TaskArgument {
    /// An argument.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        TaskArgument {
            name: name.into(),
            value: value.into(),
        }
    }
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// One task of a workflow, in Graph's `task` shape.
///
/// `taskDefinitionId` is Entra's task definition GUID (e.g.
/// `1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950` for "Disable user account") or one of idflow's
/// names for it (`disableUserAccount`); see [`crate::tasks::definitions`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// The task's id in Entra, if it has one (kept, not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Which task definition runs.
    pub task_definition_id: String,
    /// The task's name (the definition's name when empty).
    #[serde(default)]
    pub display_name: String,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entra's read-only category list (`joiner,leaver`), kept as loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Whether the task runs (default true); a disabled task is skipped.
    #[serde(default = "yes")]
    pub is_enabled: bool,
    /// Whether the user's later tasks still run when this one fails (default false).
    #[serde(default)]
    pub continue_on_error: bool,
    /// Entra's read-only position (kept; the order of `tasks` is the order of execution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_sequence: Option<u32>,
    /// The task's arguments.
    #[serde(default)]
    pub arguments: Vec<TaskArgument>,
}

impl Task {
    /// An enabled task of a definition, without arguments, that stops the user's later tasks
    /// when it fails.
    pub fn new(task_definition_id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Task {
            id: None,
            task_definition_id: task_definition_id.into(),
            display_name: display_name.into(),
            description: None,
            category: None,
            is_enabled: true,
            continue_on_error: false,
            execution_sequence: None,
            arguments: Vec::new(),
        }
    }

    /// Adds an argument.
    #[must_use]
    pub fn with_argument(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.arguments.push(TaskArgument::new(name, value));
        self
    }

    /// Sets `continueOnError`.
    #[must_use]
    pub fn continue_on_error(mut self, yes: bool) -> Self {
        self.continue_on_error = yes;
        self
    }

    /// The value of the argument `name` (compared ignoring ASCII case, as Entra's argument
    /// names are spelled in several ways), if given and not empty.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.arguments
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.value.trim())
            .filter(|v| !v.is_empty())
    }

    /// The task as far as versioning cares: name, description and Entra's read-only fields
    /// are left out (editing them makes no new version).
    fn versioned(&self) -> Value {
        json!({
            "taskDefinitionId": self.task_definition_id,
            "isEnabled": self.is_enabled,
            "continueOnError": self.continue_on_error,
            "arguments": self.arguments.iter().map(|a| json!([a.name, a.value])).collect::<Vec<_>>(),
        })
    }
}

/// Whether a membership trigger fires on an addition to the group or a removal from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MembershipChange {
    /// The user was added to the group.
    Add,
    /// The user was removed from the group.
    Remove,
}

/// What makes a workflow run for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// `timeBasedAttributeTrigger`: a dateTime attribute plus `offsetInDays` (−180..180;
    /// negative is before) has come. The attribute is a Graph name (`employeeHireDate`,
    /// `employeeLeaveDateTime`, `createdDateTime`, `lastSignInDateTime`) resolved through the
    /// alias table, or any SCIM attribute path (custom extensions included).
    TimeBased {
        /// The attribute.
        attribute: String,
        /// Days after (positive) or before (negative) the attribute's instant.
        offset_in_days: i32,
    },
    /// `attributeChangeTrigger`: any of the listed attributes changed between the previous
    /// and the current version of the user.
    AttributeChange {
        /// The attributes watched.
        attributes: Vec<String>,
    },
    /// `membershipChangeTrigger`: the user was added to (or removed from) the scope's group.
    MembershipChange {
        /// Addition or removal.
        change_type: MembershipChange,
    },
    /// `userInactivityTrigger`: the user has not signed in for this many days.
    Inactivity {
        /// The period, in days.
        inactivity_period_in_days: u32,
    },
}

impl Trigger {
    /// A stable text naming the trigger, independent of the workflow's version: a new version
    /// with the same trigger does not fire again for a user already processed.
    pub fn key(&self) -> String {
        match self {
            Trigger::TimeBased {
                attribute,
                offset_in_days,
            } => format!("time:{}:{offset_in_days}", attribute.to_ascii_lowercase()),
            Trigger::AttributeChange { attributes } => {
                let mut names: Vec<String> =
                    attributes.iter().map(|a| a.to_ascii_lowercase()).collect();
                names.sort();
                format!("change:{}", names.join(","))
            }
            Trigger::MembershipChange { change_type } => match change_type {
                MembershipChange::Add => "membership:add".to_owned(),
                MembershipChange::Remove => "membership:remove".to_owned(),
            },
            Trigger::Inactivity {
                inactivity_period_in_days,
            } => format!("inactivity:{inactivity_period_in_days}"),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Trigger::TimeBased {
                attribute,
                offset_in_days,
            } => json!({
                "@odata.type": format!("{ODATA_PREFIX}timeBasedAttributeTrigger"),
                "timeBasedAttribute": attribute,
                "offsetInDays": offset_in_days,
            }),
            Trigger::AttributeChange { attributes } => json!({
                "@odata.type": format!("{ODATA_PREFIX}attributeChangeTrigger"),
                "triggerAttributes": attributes.iter().map(|a| json!({"name": a})).collect::<Vec<_>>(),
            }),
            Trigger::MembershipChange { change_type } => json!({
                "@odata.type": format!("{ODATA_PREFIX}membershipChangeTrigger"),
                "changeType": change_type,
            }),
            Trigger::Inactivity {
                inactivity_period_in_days,
            } => json!({
                "@odata.type": format!("{ODATA_PREFIX}userInactivityTrigger"),
                "inactivityPeriodInDays": inactivity_period_in_days,
            }),
        }
    }

    fn from_value(v: &Value) -> std::result::Result<Trigger, String> {
        let obj = v.as_object().ok_or("trigger: expected an object")?;
        let kind = odata_kind(obj).unwrap_or_else(|| {
            // Without @odata.type, the fields say which trigger it is.
            if obj.contains_key("timeBasedAttribute") {
                "timeBasedAttributeTrigger".to_owned()
            } else if obj.contains_key("triggerAttributes") {
                "attributeChangeTrigger".to_owned()
            } else if obj.contains_key("changeType") {
                "membershipChangeTrigger".to_owned()
            } else if obj.contains_key("inactivityPeriodInDays") {
                "userInactivityTrigger".to_owned()
            } else {
                String::new()
            }
        });
        match kind.as_str() {
            "timeBasedAttributeTrigger" => {
                let attribute = obj
                    .get("timeBasedAttribute")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .ok_or("trigger.timeBasedAttribute: expected an attribute name")?;
                let offset = match obj.get("offsetInDays") {
                    None | Some(Value::Null) => 0,
                    Some(v) => v
                        .as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or("trigger.offsetInDays: expected a whole number of days")?,
                };
                Ok(Trigger::TimeBased {
                    attribute: attribute.trim().to_owned(),
                    offset_in_days: offset,
                })
            }
            "attributeChangeTrigger" => {
                let list = obj
                    .get("triggerAttributes")
                    .and_then(Value::as_array)
                    .ok_or("trigger.triggerAttributes: expected an array")?;
                let mut attributes = Vec::new();
                for item in list {
                    let name = match item {
                        Value::String(s) => s.as_str(),
                        Value::Object(o) => o.get("name").and_then(Value::as_str).unwrap_or(""),
                        _ => "",
                    };
                    if name.trim().is_empty() {
                        return Err(
                            "trigger.triggerAttributes: each item needs a \"name\"".to_owned()
                        );
                    }
                    attributes.push(name.trim().to_owned());
                }
                Ok(Trigger::AttributeChange { attributes })
            }
            "membershipChangeTrigger" => {
                let change = obj.get("changeType").and_then(Value::as_str).unwrap_or("");
                let change_type = match change.to_ascii_lowercase().as_str() {
                    "add" => MembershipChange::Add,
                    "remove" => MembershipChange::Remove,
                    _ => {
                        return Err(format!(
                            "trigger.changeType: expected \"add\" or \"remove\", found {change:?}"
                        ));
                    }
                };
                Ok(Trigger::MembershipChange { change_type })
            }
            "userInactivityTrigger" => {
                let days = obj
                    .get("inactivityPeriodInDays")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("trigger.inactivityPeriodInDays: expected a number of days")?;
                Ok(Trigger::Inactivity {
                    inactivity_period_in_days: days,
                })
            }
            "" => Err("trigger: cannot tell its type (no @odata.type)".to_owned()),
            other => Err(format!("trigger: unknown type {other:?}")),
        }
    }
}

/// Which users a triggered workflow applies to.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Scope {
    /// `ruleBasedSubjectSet`: Entra's rule syntax, e.g.
    /// `(department eq 'Marketing') and (accountEnabled eq true)`; empty = every user.
    Rule(String),
    /// `groupBasedSubjectSet`: members of these groups (membership triggers name one).
    Groups(Vec<String>),
    /// idflow's `scopingFilterSubjectSet`: a scoping filter of the scoping crate (the shape
    /// `idflow scope --rules` reads), attribute names resolved through the alias table.
    Filter(scoping::ScopingFilter),
}

impl Scope {
    fn to_value(&self) -> Value {
        match self {
            Scope::Rule(rule) => json!({
                "@odata.type": format!("{ODATA_PREFIX}ruleBasedSubjectSet"),
                "rule": rule,
            }),
            Scope::Groups(groups) => json!({
                "@odata.type": format!("{ODATA_PREFIX}groupBasedSubjectSet"),
                "groups": groups.iter().map(|g| json!({"id": g})).collect::<Vec<_>>(),
            }),
            Scope::Filter(filter) => json!({
                "@odata.type": format!("{ODATA_PREFIX}scopingFilterSubjectSet"),
                "filter": filter,
            }),
        }
    }

    fn from_value(v: &Value) -> std::result::Result<Scope, String> {
        let obj = v.as_object().ok_or("scope: expected an object")?;
        let kind = odata_kind(obj).unwrap_or_else(|| {
            if obj.contains_key("rule") {
                "ruleBasedSubjectSet".to_owned()
            } else if obj.contains_key("groups") {
                "groupBasedSubjectSet".to_owned()
            } else if obj.contains_key("filter") {
                "scopingFilterSubjectSet".to_owned()
            } else {
                String::new()
            }
        });
        match kind.as_str() {
            "ruleBasedSubjectSet" => match obj.get("rule") {
                None | Some(Value::Null) => Ok(Scope::Rule(String::new())),
                Some(Value::String(s)) => Ok(Scope::Rule(s.clone())),
                Some(_) => Err("scope.rule: expected a string".to_owned()),
            },
            "groupBasedSubjectSet" => {
                let list = obj
                    .get("groups")
                    .and_then(Value::as_array)
                    .ok_or("scope.groups: expected an array")?;
                let mut groups = Vec::new();
                for g in list {
                    let id = match g {
                        Value::String(s) => s.as_str(),
                        Value::Object(o) => o.get("id").and_then(Value::as_str).unwrap_or(""),
                        _ => "",
                    };
                    if id.is_empty() {
                        return Err("scope.groups: each group needs an \"id\"".to_owned());
                    }
                    groups.push(id.to_owned());
                }
                Ok(Scope::Groups(groups))
            }
            "scopingFilterSubjectSet" => {
                let filter = obj.get("filter").cloned().unwrap_or(Value::Array(vec![]));
                serde_json::from_value(filter)
                    .map(Scope::Filter)
                    .map_err(|e| format!("scope.filter: {e}"))
            }
            "" => Err("scope: cannot tell its type (no @odata.type)".to_owned()),
            other => Err(format!("scope: unknown type {other:?}")),
        }
    }
}

/// When a workflow runs: on a trigger for users in a scope, or only when asked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ExecutionConditions {
    /// `onDemandExecutionOnly`: the workflow runs only by [`crate::Runner::run_on_demand`].
    OnDemandOnly,
    /// `triggerAndScopeBasedConditions`.
    TriggerAndScope {
        /// What makes it run.
        trigger: Trigger,
        /// For which users.
        scope: Scope,
    },
}

impl ExecutionConditions {
    /// The trigger, if the workflow has one.
    pub fn trigger(&self) -> Option<&Trigger> {
        match self {
            ExecutionConditions::OnDemandOnly => None,
            ExecutionConditions::TriggerAndScope { trigger, .. } => Some(trigger),
        }
    }

    /// The scope, if the workflow has one.
    pub fn scope(&self) -> Option<&Scope> {
        match self {
            ExecutionConditions::OnDemandOnly => None,
            ExecutionConditions::TriggerAndScope { scope, .. } => Some(scope),
        }
    }
}

fn odata_kind(obj: &Map<String, Value>) -> Option<String> {
    let t = obj.get("@odata.type")?.as_str()?;
    let t = t.trim_start_matches('#');
    let t = t.rsplit('.').next().unwrap_or(t);
    Some(t.to_owned())
}

impl From<ExecutionConditions> for Value {
    fn from(c: ExecutionConditions) -> Value {
        match c {
            ExecutionConditions::OnDemandOnly => {
                json!({"@odata.type": format!("{ODATA_PREFIX}onDemandExecutionOnly")})
            }
            ExecutionConditions::TriggerAndScope { trigger, scope } => json!({
                "@odata.type": format!("{ODATA_PREFIX}triggerAndScopeBasedConditions"),
                "scope": scope.to_value(),
                "trigger": trigger.to_value(),
            }),
        }
    }
}

impl TryFrom<Value> for ExecutionConditions {
    type Error = String;

    fn try_from(v: Value) -> std::result::Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("executionConditions: expected an object")?;
        let kind = odata_kind(obj);
        let on_demand = kind.as_deref() == Some("onDemandExecutionOnly")
            || (kind.is_none() && !obj.contains_key("trigger"));
        if on_demand {
            return Ok(ExecutionConditions::OnDemandOnly);
        }
        if let Some(k) = kind.as_deref()
            && k != "triggerAndScopeBasedConditions"
        {
            return Err(format!("executionConditions: unknown type {k:?}"));
        }
        let trigger = Trigger::from_value(obj.get("trigger").unwrap_or(&Value::Null))?;
        let scope = match obj.get("scope") {
            None | Some(Value::Null) => Scope::Rule(String::new()),
            Some(s) => Scope::from_value(s)?,
        };
        Ok(ExecutionConditions::TriggerAndScope { trigger, scope })
    }
}

impl Serialize for ExecutionConditions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Value::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for ExecutionConditions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ExecutionConditions::try_from(v).map_err(serde::de::Error::custom)
    }
}

/// A lifecycle workflow, in Graph's `workflow` shape.
///
/// Loads what Entra exports (unknown fields such as `createdBy` or `tasks@odata.context` are
/// ignored). idflow adds `dependsOn`: ids (or display names) of workflows that must have
/// completed for a user before this one processes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Workflow {
    /// The workflow's id; the display name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name (required).
    pub display_name: String,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Joiner, mover, leaver or custom.
    pub category: Category,
    /// Whether the workflow can run at all (default true).
    #[serde(default = "yes")]
    pub is_enabled: bool,
    /// Whether scheduled runs evaluate it (default false, as Entra; cannot be true when the
    /// workflow is disabled).
    #[serde(default)]
    pub is_scheduling_enabled: bool,
    /// Trigger and scope, or on demand only.
    pub execution_conditions: ExecutionConditions,
    /// The tasks, in order of execution.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// The version: 1 at creation, increased when tasks or execution conditions change.
    #[serde(default = "one")]
    pub version: u32,
    /// idflow: workflows that must have completed for a user first (ids or display names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl Workflow {
    /// An enabled, unscheduled workflow without tasks.
    pub fn new(
        display_name: impl Into<String>,
        category: Category,
        execution_conditions: ExecutionConditions,
    ) -> Self {
        Workflow {
            id: None,
            display_name: display_name.into(),
            description: None,
            category,
            is_enabled: true,
            is_scheduling_enabled: false,
            execution_conditions,
            tasks: Vec::new(),
            version: 1,
            depends_on: Vec::new(),
        }
    }

    /// The workflow's id: `id`, or the display name when it has none.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.display_name)
    }

    /// Reads one workflow from Graph JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the text is not a workflow.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Json {
            what: "workflow",
            message: e.to_string(),
        })
    }

    /// What a change of makes a new version: the tasks (without their names and
    /// descriptions) and the execution conditions.
    fn versioned(&self) -> Value {
        json!({
            "executionConditions": Value::from(self.execution_conditions.clone()),
            "tasks": self.tasks.iter().map(Task::versioned).collect::<Vec<_>>(),
        })
    }

    /// Checks what can be checked of one workflow alone (limits, ranges, shapes).
    fn check(&self, limits: &Limits) -> Result<()> {
        let name = self.id().to_owned();
        if self.display_name.trim().is_empty() {
            return Err(Error::invalid(name, "displayName is required"));
        }
        if self.tasks.len() > limits.max_tasks {
            return Err(Error::TooManyTasks {
                workflow: name,
                count: self.tasks.len(),
                max: limits.max_tasks,
            });
        }
        if self.is_scheduling_enabled && !self.is_enabled {
            return Err(Error::invalid(
                name,
                "isSchedulingEnabled cannot be true while isEnabled is false",
            ));
        }
        if self.version == 0 {
            return Err(Error::invalid(name, "version starts at 1"));
        }
        for (i, task) in self.tasks.iter().enumerate() {
            if task.task_definition_id.trim().is_empty() {
                return Err(Error::invalid(
                    name,
                    format!("tasks[{i}]: taskDefinitionId is required"),
                ));
            }
        }
        let ExecutionConditions::TriggerAndScope { trigger, scope } = &self.execution_conditions
        else {
            return Ok(());
        };
        match trigger {
            Trigger::TimeBased { offset_in_days, .. } => {
                if !(-180..=180).contains(offset_in_days) {
                    return Err(Error::invalid(
                        name,
                        format!(
                            "trigger.offsetInDays {offset_in_days} is outside -180..180 (days before or after the attribute's date)"
                        ),
                    ));
                }
            }
            Trigger::AttributeChange { attributes } => {
                if attributes.is_empty() {
                    return Err(Error::invalid(
                        name,
                        "trigger.triggerAttributes names no attribute",
                    ));
                }
            }
            Trigger::MembershipChange { .. } => {
                if !matches!(scope, Scope::Groups(g) if g.len() == 1) {
                    return Err(Error::invalid(
                        name,
                        "a membershipChangeTrigger needs a groupBasedSubjectSet scope with exactly one group",
                    ));
                }
            }
            Trigger::Inactivity {
                inactivity_period_in_days,
            } => {
                if *inactivity_period_in_days == 0 {
                    return Err(Error::invalid(
                        name,
                        "trigger.inactivityPeriodInDays must be at least 1",
                    ));
                }
            }
        }
        if !matches!(trigger, Trigger::MembershipChange { .. }) && matches!(scope, Scope::Groups(_))
        {
            return Err(Error::invalid(
                name,
                "a groupBasedSubjectSet scope goes with a membershipChangeTrigger only; use a rule",
            ));
        }
        if let Scope::Rule(rule) = scope {
            crate::rule::parse(rule).map_err(|message| Error::InvalidRule {
                workflow: self.id().to_owned(),
                rule: rule.clone(),
                message,
            })?;
        }
        Ok(())
    }
}

/// Limits on workflows; Entra's by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Workflows a set may hold (Entra: 100 per tenant, the 2024-12 limits page; older pages
    /// said 50).
    pub max_workflows: usize,
    /// Tasks per workflow (Entra: 25).
    pub max_tasks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_workflows: 100,
            max_tasks: 25,
        }
    }
}

impl Limits {
    /// Sets the workflow limit.
    #[must_use]
    pub fn with_max_workflows(mut self, n: usize) -> Self {
        self.max_workflows = n;
        self
    }

    /// Sets the task limit.
    #[must_use]
    pub fn with_max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = n;
        self
    }
}

/// The workflows a runner holds, each with its version history, within [`Limits`].
///
/// ```
/// use lifecycle::{Limits, WorkflowSet};
///
/// let mut set = WorkflowSet::from_json_str(r##"{
///   "displayName": "Offboard", "category": "leaver", "isEnabled": true, "isSchedulingEnabled": true,
///   "executionConditions": {
///     "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
///     "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": "(department eq 'Sales')"},
///     "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
///                 "timeBasedAttribute": "employeeLeaveDateTime", "offsetInDays": 0}},
///   "tasks": [{"taskDefinitionId": "1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950", "displayName": "Disable user account"}]
/// }"##, Limits::default()).unwrap();
///
/// // Renaming a task makes no new version; changing the tasks does.
/// let mut wf = set.get("Offboard").unwrap().clone();
/// wf.tasks[0].display_name = "Disable the account".into();
/// assert_eq!(set.update(wf.clone()).unwrap(), 1);
/// wf.tasks[0].continue_on_error = true;
/// assert_eq!(set.update(wf).unwrap(), 2);
/// assert_eq!(set.versions("Offboard").len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WorkflowSet {
    limits: Limits,
    /// Per workflow id, every version, oldest first (the last is current).
    workflows: BTreeMap<String, Vec<Workflow>>,
    /// Ids in the order they were added.
    order: Vec<String>,
}

impl WorkflowSet {
    /// An empty set with these limits.
    pub fn new(limits: Limits) -> Self {
        WorkflowSet {
            limits,
            workflows: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    /// Reads one workflow or a JSON array of them (Graph's shape) and adds each.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the text is not workflows; otherwise as [`WorkflowSet::add`].
    pub fn from_json_str(text: &str, limits: Limits) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::Json {
            what: "workflows",
            message: e.to_string(),
        })?;
        Self::from_value(value, limits)
    }

    /// As [`WorkflowSet::from_json_str`], from a JSON value (an object, an array, or Graph's
    /// list shape `{"value": [...]}`).
    ///
    /// # Errors
    ///
    /// As [`WorkflowSet::from_json_str`].
    pub fn from_value(value: Value, limits: Limits) -> Result<Self> {
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut o) if o.get("value").is_some_and(Value::is_array) => {
                match o.remove("value") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                }
            }
            other => vec![other],
        };
        let mut set = WorkflowSet::new(limits);
        for (i, item) in items.into_iter().enumerate() {
            let wf: Workflow = serde_json::from_value(item).map_err(|e| Error::Json {
                what: "workflow",
                message: format!("workflow [{i}]: {e}"),
            })?;
            set.add(wf)?;
        }
        Ok(set)
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Adds a new workflow (its version as given, 1 by default).
    ///
    /// # Errors
    ///
    /// [`Error::TooManyWorkflows`], [`Error::TooManyTasks`], [`Error::DuplicateWorkflow`],
    /// [`Error::InvalidWorkflow`] or [`Error::InvalidRule`], naming the workflow.
    pub fn add(&mut self, workflow: Workflow) -> Result<()> {
        if self.workflows.len() >= self.limits.max_workflows {
            return Err(Error::TooManyWorkflows {
                count: self.workflows.len() + 1,
                max: self.limits.max_workflows,
            });
        }
        workflow.check(&self.limits)?;
        let id = workflow.id().to_owned();
        if self.workflows.contains_key(&id) {
            return Err(Error::DuplicateWorkflow { id });
        }
        self.order.push(id.clone());
        self.workflows.insert(id, vec![workflow]);
        Ok(())
    }

    /// Replaces a workflow by a changed one (same id). When its tasks or execution conditions
    /// changed, it becomes a new version (the current one plus 1) and the old one stays in the
    /// history; otherwise it replaces the current version in place (names, descriptions,
    /// `isEnabled`, `isSchedulingEnabled`). Returns the version now current.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWorkflow`] when no workflow has its id; the checks of
    /// [`WorkflowSet::add`].
    pub fn update(&mut self, mut workflow: Workflow) -> Result<u32> {
        workflow.check(&self.limits)?;
        let id = workflow.id().to_owned();
        let versions = self
            .workflows
            .get_mut(&id)
            .ok_or(Error::UnknownWorkflow { id })?;
        let Some(current) = versions.last_mut() else {
            return Ok(0);
        };
        if current.versioned() == workflow.versioned() {
            workflow.version = current.version;
            *current = workflow;
            Ok(current.version)
        } else {
            workflow.version = current.version + 1;
            let v = workflow.version;
            versions.push(workflow);
            Ok(v)
        }
    }

    /// Removes a workflow (and its history); returns it if it was there.
    pub fn remove(&mut self, id: &str) -> Option<Workflow> {
        self.order.retain(|o| o != id);
        self.workflows.remove(id).and_then(|mut v| v.pop())
    }

    /// The current version of a workflow.
    pub fn get(&self, id: &str) -> Option<&Workflow> {
        self.workflows.get(id).and_then(|v| v.last())
    }

    /// A workflow by id or, failing that, by display name.
    pub fn find(&self, id_or_name: &str) -> Option<&Workflow> {
        self.get(id_or_name)
            .or_else(|| self.iter().find(|w| w.display_name == id_or_name))
    }

    /// One version of a workflow.
    pub fn version(&self, id: &str, version: u32) -> Option<&Workflow> {
        self.workflows
            .get(id)
            .and_then(|v| v.iter().find(|w| w.version == version))
    }

    /// Every version of a workflow, oldest first.
    pub fn versions(&self, id: &str) -> &[Workflow] {
        self.workflows.get(id).map_or(&[], Vec::as_slice)
    }

    /// The current version of each workflow, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Workflow> {
        self.order.iter().filter_map(|id| self.get(id))
    }

    /// How many workflows the set holds.
    pub fn len(&self) -> usize {
        self.workflows.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.workflows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaver(extra: Value) -> Value {
        let mut wf = json!({
            "displayName": "Offboard", "category": "leaver", "isEnabled": true, "isSchedulingEnabled": true,
            "executionConditions": {
                "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
                "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": "(department eq 'Sales')"},
                "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
                            "timeBasedAttribute": "employeeLeaveDateTime", "offsetInDays": 0}},
            "tasks": [{"taskDefinitionId": "1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950", "displayName": "Disable"}]
        });
        if let (Some(o), Value::Object(e)) = (wf.as_object_mut(), extra) {
            o.extend(e);
        }
        wf
    }

    #[test]
    fn round_trips_graph_shape() {
        let v = leaver(json!({}));
        let wf: Workflow = serde_json::from_value(v.clone()).unwrap();
        let back = serde_json::to_value(&wf).unwrap();
        assert_eq!(back["executionConditions"], v["executionConditions"]);
        assert_eq!(wf.version, 1);
        assert!(!wf.tasks[0].continue_on_error && wf.tasks[0].is_enabled);
    }

    #[test]
    fn offset_out_of_range_is_refused() {
        let mut v = leaver(json!({}));
        v["executionConditions"]["trigger"]["offsetInDays"] = json!(181);
        let err = WorkflowSet::from_value(v, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("-180..180"), "{err}");
    }

    #[test]
    fn scheduling_needs_enabled() {
        let v = leaver(json!({"isEnabled": false}));
        let err = WorkflowSet::from_value(v, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("isSchedulingEnabled"), "{err}");
    }

    #[test]
    fn on_demand_only_loads_without_trigger() {
        let v = leaver(
            json!({"executionConditions": {"@odata.type": "#microsoft.graph.identityGovernance.onDemandExecutionOnly"}}),
        );
        let set = WorkflowSet::from_value(v, Limits::default()).unwrap();
        assert_eq!(
            set.get("Offboard").unwrap().execution_conditions,
            ExecutionConditions::OnDemandOnly
        );
    }

    #[test]
    fn trigger_key_ignores_version_and_case() {
        let a = Trigger::TimeBased {
            attribute: "employeeHireDate".into(),
            offset_in_days: -7,
        };
        let b = Trigger::TimeBased {
            attribute: "EmployeeHireDate".into(),
            offset_in_days: -7,
        };
        assert_eq!(a.key(), b.key());
    }
}
