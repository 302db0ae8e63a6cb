//! Trigger evaluation: which users are due for which workflow at an instant.
//!
//! [`TriggerEvaluator`] compiles the scheduled workflows of a [`WorkflowSet`] once (scope
//! rules to scoping filters, attribute names to SCIM paths) and evaluates the time-based and
//! inactivity triggers over any number of users without touching storage — the runner's first
//! step, and what the benchmark measures. Each user's dateTime attributes are read and parsed
//! once however many workflows use them; the scope is evaluated only for users whose trigger
//! is due.

use chrono::{DateTime, Duration, Utc};
use scim_model::{AttributePath, Resource};
use scoping::CompiledScopingFilter;
use serde::Serialize;
use serde_json::Value;

use crate::attributes::{self, AliasTable};
use crate::error::{Error, Result};
use crate::workflow::{
    ExecutionConditions, MembershipChange, Scope, Trigger, Workflow, WorkflowSet,
};

/// One trigger occurrence: (workflow, version-independent trigger, user, trigger date).
///
/// A user is processed once per occurrence; a new version of the workflow with the same
/// trigger has the same occurrences.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Occurrence {
    /// The workflow's id.
    pub workflow_id: String,
    /// The trigger's key ([`Trigger::key`]).
    pub trigger: String,
    /// The user's id.
    pub user_id: String,
    /// The trigger date (`YYYY-MM-DD`, UTC) for time triggers; a change number for change
    /// triggers; the run for on-demand runs.
    pub date: String,
}

/// A user whose data could not be evaluated, e.g. a malformed date: reported, never skipped
/// in silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubjectError {
    /// The user (`{"id": …}`).
    pub subject: Subject,
    /// The workflow being evaluated, if the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// What is wrong, naming the attribute and value.
    pub message: String,
}

/// A user as Graph's results name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Subject {
    /// The user's id.
    pub id: String,
}

impl Subject {
    /// A subject.
    pub fn new(id: impl Into<String>) -> Self {
        Subject { id: id.into() }
    }
}

impl SubjectError {
    pub(crate) fn new(user: &str, workflow: Option<&str>, message: impl Into<String>) -> Self {
        SubjectError {
            subject: Subject::new(user),
            workflow: workflow.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// The outcome of evaluating triggers over users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evaluation {
    /// The occurrences due (trigger come, user in scope), in user order then workflow order.
    pub due: Vec<Occurrence>,
    /// Users that could not be evaluated.
    pub errors: Vec<SubjectError>,
}

/// How triggers are evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvalOptions {
    /// How long after its trigger date a user is still caught (Entra: 3 days).
    pub catch_up: Duration,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            catch_up: Duration::days(3),
        }
    }
}

impl EvalOptions {
    /// Sets the catch-up window.
    #[must_use]
    pub fn with_catch_up(mut self, window: Duration) -> Self {
        self.catch_up = window;
        self
    }
}

/// How a compiled workflow is triggered.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    OnDemand,
    Time {
        attr: usize,
        offset: Duration,
    },
    Inactivity {
        last_sign_in: usize,
        created: usize,
        period: Duration,
    },
    Change {
        attributes: Vec<(String, AttributePath)>,
    },
    Membership {
        group: String,
        change: MembershipChange,
    },
}

/// A workflow ready to evaluate.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) workflow: Workflow,
    pub(crate) trigger_key: String,
    pub(crate) kind: Kind,
    pub(crate) scope: CompiledScopingFilter,
}

impl Compiled {
    pub(crate) fn scheduled(&self) -> bool {
        self.workflow.is_enabled
            && self.workflow.is_scheduling_enabled
            && !matches!(self.kind, Kind::OnDemand)
    }
}

/// The distinct dateTime attributes the workflows read, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) list: Vec<(String, AttributePath)>,
    /// Per attribute, its top-level name when the path has no URN: such attributes are found
    /// in one pass over the user's attributes instead of one lookup each.
    pub(crate) top: Vec<Option<String>>,
    /// The same names with their index in `list`, by length (the last list holds every
    /// length from 63 on), for the scan: a key is compared only with the names of its length.
    pub(crate) named: Vec<Vec<(usize, String)>>,
    /// The lengths of the names in `top`, a bit per length (bit 63 for any length from 63
    /// on): the scan compares only the keys whose length is here.
    pub(crate) lengths: u64,
}

/// The bit of [`Attrs::lengths`] for a name of `len` bytes.
#[inline]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Users evaluated together: their memory is touched first, for all of them at once.
const WINDOW: usize = 64;

/// Brings into cache what evaluating a window of users will read, in phases of independent
/// reads a few instructions apart, so the CPU has many cache misses in flight at once instead
/// of one user's chain of them: each user's entries (their key lengths), then the key of each
/// entry whose length a name has and the start of its string value, then the entries of the
/// small objects a sub-attribute path reads (`meta` for `meta.created`), then their keys and
/// string values. Returns a sum of what it read, so the reads are not optimised away.
fn touch<'a>(window: &[&'a Resource], lengths: u64, nested: u128, buf: &mut Touch<'a>) -> usize {
    let first = |t: &str| usize::from(t.as_bytes().first().copied().unwrap_or(0));
    // Each user's entries.
    let mut n = window.iter().fold(0usize, |n, u| {
        u.as_object().keys().fold(n, |n, k| n.wrapping_add(k.len()))
    });
    // The entries a name may match (kept, a user's after another's, for the scan): their keys
    // and string values.
    buf.entries.clear();
    buf.starts.clear();
    for u in window {
        buf.starts.push(buf.entries.len());
        for (k, v) in u.as_object() {
            if lengths & length_bit(k.len()) != 0 {
                buf.entries.push((k, v));
            }
        }
    }
    buf.starts.push(buf.entries.len());
    for (k, v) in &buf.entries {
        n = n.wrapping_add(first(k));
        if let Value::String(s) = v {
            n = n.wrapping_add(first(s));
        }
    }
    // The small objects a sub-attribute path reads (their keys are in cache now): their
    // entries, then their keys and string values.
    buf.objects.clear();
    for (k, v) in &buf.entries {
        if let Value::Object(o) = v
            && o.len() <= 8
            && nested & first_bit(k) != 0
        {
            buf.objects.push(o);
        }
    }
    n = buf
        .objects
        .iter()
        .fold(n, |n, o| o.keys().fold(n, |n, k| n.wrapping_add(k.len())));
    buf.objects.iter().fold(n, |n, o| {
        o.iter().fold(n, |n, (k, v)| {
            let n = n.wrapping_add(first(k));
            match v {
                Value::String(s) => n.wrapping_add(first(s)),
                _ => n,
            }
        })
    })
}

/// The bit of a name's first byte (ASCII case ignored) in a set of first bytes (a byte from
/// 128 on shares a bit with one below: the set only decides what is read ahead).
fn first_bit(name: &str) -> u128 {
    let b = name.as_bytes().first().copied().unwrap_or(0);
    1 << (b.to_ascii_lowercase() & 127)
}

/// The reusable lists [`touch`] gathers.
#[derive(Default)]
struct Touch<'a> {
    /// The entries of the window's users whose key has the length of a name or of `id`.
    entries: Vec<(&'a String, &'a Value)>,
    /// Where each user's begin in `entries`, and where the last one's end.
    starts: Vec<usize>,
    objects: Vec<&'a serde_json::Map<String, Value>>,
}

/// What one pass over a user's top-level attributes found: its id, and the top-level value of
/// each URN-less attribute.
struct Scan<'a> {
    id: Option<&'a str>,
    tops: Vec<Option<&'a Value>>,
    /// Whether `tops[j]` was found under its exact spelling.
    exact: Vec<bool>,
}

impl<'a> Scan<'a> {
    fn new(n: usize) -> Self {
        Scan {
            id: None,
            tops: vec![None; n],
            exact: vec![false; n],
        }
    }

    /// Reads `user`'s top-level keys once, matching names as `Resource::get` does (an exact
    /// spelling first, else the first key that matches ignoring ASCII case).
    fn read(&mut self, attrs: &Attrs, user: &'a Resource) {
        self.read_entries(attrs, user.as_object());
    }

    /// [`Scan::read`] from a user's entries in order, or from those of them whose key has the
    /// length of a name or of `id` (what [`touch`] keeps): the others are skipped anyway.
    fn read_entries(
        &mut self,
        attrs: &Attrs,
        entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
    ) {
        self.id = None;
        self.tops.fill(None);
        self.exact.fill(false);
        // Whether `id` was found under its exact spelling, or under another (the first wins).
        let (mut id_exact, mut id_loose) = (false, false);
        for (k, v) in entries {
            let len = k.len();
            if len == 2 && !id_exact && k.eq_ignore_ascii_case("id") {
                if k == "id" {
                    self.id = v.as_str();
                    id_exact = true;
                } else if !id_loose {
                    self.id = v.as_str();
                    id_loose = true;
                }
                continue;
            }
            // No name has this length: its bytes need not be read.
            if attrs.lengths & length_bit(len) == 0 {
                continue;
            }
            let Some(named) = attrs.named.get(len.min(63)) else {
                continue;
            };
            for &(j, ref name) in named {
                if name.len() != len || self.exact[j] {
                    continue;
                }
                // The exact spelling is the common case: one comparison of the bytes.
                if k.as_bytes() == name.as_bytes() {
                    self.tops[j] = Some(v);
                    self.exact[j] = true;
                } else if self.tops[j].is_none() && k.eq_ignore_ascii_case(name) {
                    self.tops[j] = Some(v);
                }
            }
        }
    }
}

/// The state of a dateTime attribute of the user being evaluated, read and parsed at most
/// once: an instant in milliseconds since the epoch, or one of these markers. No instant a
/// dateTime can hold comes near them (chrono's range is about ±8.3 × 10¹⁵ ms).
mod slot {
    /// Not read yet.
    pub(super) const UNREAD: i64 = i64::MIN;
    /// Absent or empty: no trigger, no error.
    pub(super) const MISSING: i64 = i64::MIN + 1;
    /// Not a dateTime (the message is made again when it is reported).
    pub(super) const BAD: i64 = i64::MIN + 2;
}

/// What deciding one workflow for a user needs, flattened once per evaluation: the workflow,
/// its window, the attribute its trigger reads and, for inactivity, the attribute read when
/// that one is missing (the creation date).
#[derive(Clone, Copy, Debug)]
struct Decision {
    workflow: usize,
    window: Window,
    attr: usize,
    fallback: Option<usize>,
}

impl Decision {
    /// The decision of `c` at `now`; `None` for the kinds the evaluator does not decide.
    fn of(workflow: usize, c: &Compiled, now: i64, catch_up: i64) -> Option<Decision> {
        let window = Window::of(&c.kind, now, catch_up)?;
        let (attr, fallback) = match &c.kind {
            Kind::Time { attr, .. } => (*attr, None),
            Kind::Inactivity {
                last_sign_in,
                created,
                ..
            } => (*last_sign_in, Some(*created)),
            _ => return None,
        };
        Some(Decision {
            workflow,
            window,
            attr,
            fallback,
        })
    }
}

/// When a time or inactivity trigger is due at an instant, as the instants its attribute may
/// hold: due when `lo <= t <= hi`, on the date of `t + shift`. Computed once per evaluation,
/// so a decision is two integer comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    lo: i64,
    hi: i64,
    shift: i64,
}

impl Window {
    /// The window of `kind` at `now` (milliseconds since the epoch); `None` for the kinds the
    /// evaluator does not decide.
    ///
    /// A time trigger is due when its date plus the offset has come and is at most the
    /// catch-up window old: `0 <= now - (t + offset) <= catch_up`, i.e.
    /// `now - offset - catch_up <= t <= now - offset`. An inactivity trigger is due when the
    /// last sign-in plus the period has come: `t <= now - period`. The bounds saturate, which
    /// answers as the unbounded ones for any instant a date can hold.
    fn of(kind: &Kind, now: i64, catch_up: i64) -> Option<Window> {
        match kind {
            Kind::Time { offset, .. } => {
                let shift = offset.num_milliseconds();
                let hi = now.saturating_sub(shift);
                Some(Window {
                    lo: hi.saturating_sub(catch_up),
                    hi,
                    shift,
                })
            }
            Kind::Inactivity { period, .. } => {
                let shift = period.num_milliseconds();
                Some(Window {
                    lo: i64::MIN,
                    hi: now.saturating_sub(shift),
                    shift,
                })
            }
            _ => None,
        }
    }

    fn holds(self, t: i64) -> bool {
        self.lo <= t && t <= self.hi
    }
}

impl Attrs {
    fn index(&mut self, name: &str, aliases: &AliasTable, workflow: &str) -> Result<usize> {
        let path = aliases
            .path(name)
            .map_err(|m| Error::invalid(workflow, format!("trigger: {m}")))?;
        if let Some(i) = self
            .list
            .iter()
            .position(|(_, p)| p.eq_ignore_case(&path) && p.filter() == path.filter())
        {
            return Ok(i);
        }
        let top = path.urn().is_none().then(|| path.name().to_owned());
        if let Some(name) = &top {
            self.lengths |= length_bit(name.len());
            if self.named.is_empty() {
                self.named = vec![Vec::new(); 64];
            }
            if let Some(same) = self.named.get_mut(name.len().min(63)) {
                same.push((self.list.len(), name.clone()));
            }
        }
        self.top.push(top);
        self.list.push((name.to_owned(), path));
        Ok(self.list.len() - 1)
    }
}

/// Compiles one workflow (any version) with the alias table.
pub(crate) fn compile(
    workflow: &Workflow,
    aliases: &AliasTable,
    attrs: &mut Attrs,
) -> Result<Compiled> {
    let id = workflow.id().to_owned();
    let (kind, trigger_key, scope) = match &workflow.execution_conditions {
        ExecutionConditions::OnDemandOnly => {
            (Kind::OnDemand, "onDemand".to_owned(), empty_scope()?)
        }
        ExecutionConditions::TriggerAndScope { trigger, scope } => {
            let kind = match trigger {
                Trigger::TimeBased {
                    attribute,
                    offset_in_days,
                } => Kind::Time {
                    attr: attrs.index(attribute, aliases, &id)?,
                    offset: Duration::days(i64::from(*offset_in_days)),
                },
                Trigger::Inactivity {
                    inactivity_period_in_days,
                } => Kind::Inactivity {
                    last_sign_in: attrs.index("lastSignInDateTime", aliases, &id)?,
                    created: attrs.index("createdDateTime", aliases, &id)?,
                    period: Duration::days(i64::from(*inactivity_period_in_days)),
                },
                Trigger::AttributeChange { attributes } => Kind::Change {
                    attributes: attributes
                        .iter()
                        .map(|a| {
                            aliases
                                .path(a)
                                .map(|p| (a.clone(), p))
                                .map_err(|m| Error::invalid(&id, format!("trigger: {m}")))
                        })
                        .collect::<Result<_>>()?,
                },
                Trigger::MembershipChange { change_type } => Kind::Membership {
                    group: match scope {
                        Scope::Groups(g) => g.first().cloned().unwrap_or_default(),
                        _ => String::new(),
                    },
                    change: *change_type,
                },
            };
            let filter = match scope {
                Scope::Rule(rule) => {
                    crate::rule::compile(rule, aliases).map_err(|message| Error::InvalidRule {
                        workflow: id.clone(),
                        rule: rule.clone(),
                        message,
                    })?
                }
                Scope::Filter(f) => resolve_aliases(f, aliases),
                Scope::Groups(_) => scoping::ScopingFilter::default(),
            };
            let compiled = filter
                .compile()
                .map_err(|e| Error::invalid(&id, format!("scope: {e}")))?;
            (kind, trigger.key(), compiled)
        }
    };
    Ok(Compiled {
        workflow: workflow.clone(),
        trigger_key,
        kind,
        scope,
    })
}

/// A scope that holds every user.
fn empty_scope() -> Result<CompiledScopingFilter> {
    scoping::ScopingFilter::default()
        .compile()
        .map_err(|e| Error::invalid("", format!("scope: {e}")))
}

/// A scoping filter with Graph attribute names replaced by their SCIM paths.
fn resolve_aliases(f: &scoping::ScopingFilter, aliases: &AliasTable) -> scoping::ScopingFilter {
    let mut f = f.clone();
    for group in &mut f.groups {
        for clause in group {
            clause.source_attribute = aliases.resolve(&clause.source_attribute).to_owned();
        }
    }
    f
}

/// Evaluates the time-based and inactivity triggers of the scheduled workflows of a set.
///
/// ```
/// use lifecycle::{AliasTable, EvalOptions, Limits, TriggerEvaluator, WorkflowSet};
/// use scim_model::Resource;
///
/// let set = WorkflowSet::from_json_str(r#"{
///   "displayName": "Onboard", "category": "joiner", "isEnabled": true, "isSchedulingEnabled": true,
///   "executionConditions": {"scope": {"rule": "(department eq 'Sales')"},
///     "trigger": {"timeBasedAttribute": "employeeHireDate", "offsetInDays": -7}},
///   "tasks": [{"taskDefinitionId": "enableUserAccount"}]}"#, Limits::default()).unwrap();
/// let eval = TriggerEvaluator::new(&set, &AliasTable::default(), EvalOptions::default()).unwrap();
/// let users: Vec<Resource> = serde_json::from_str(r#"[
///   {"id": "u1", "employeeHireDate": "2026-03-09T08:00:00Z",
///    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}},
///   {"id": "u2", "employeeHireDate": "2026-03-09"}]"#).unwrap();
/// let out = eval.evaluate(&users, "2026-03-02T09:00:00Z".parse().unwrap());
/// assert_eq!(out.due[0].user_id, "u1");
/// assert_eq!(out.due[0].date, "2026-03-02");
/// assert!(out.errors[0].message.contains("not an RFC 3339 dateTime"));
/// ```
#[derive(Clone, Debug)]
pub struct TriggerEvaluator {
    workflows: Vec<Compiled>,
    attrs: Attrs,
    options: EvalOptions,
}

impl TriggerEvaluator {
    /// Compiles the enabled, scheduled, time-based or inactivity workflows of `set`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRule`] or [`Error::InvalidWorkflow`] when a scope or an attribute
    /// cannot be compiled.
    pub fn new(set: &WorkflowSet, aliases: &AliasTable, options: EvalOptions) -> Result<Self> {
        let mut attrs = Attrs::default();
        let mut workflows = Vec::new();
        for wf in set.iter() {
            let c = compile(wf, aliases, &mut attrs)?;
            if c.scheduled() && matches!(c.kind, Kind::Time { .. } | Kind::Inactivity { .. }) {
                workflows.push(c);
            }
        }
        Ok(TriggerEvaluator {
            workflows,
            attrs,
            options,
        })
    }

    pub(crate) fn from_compiled(compiled: &[Compiled], attrs: Attrs, options: EvalOptions) -> Self {
        TriggerEvaluator {
            workflows: compiled
                .iter()
                .filter(|c| {
                    c.scheduled() && matches!(c.kind, Kind::Time { .. } | Kind::Inactivity { .. })
                })
                .cloned()
                .collect(),
            attrs,
            options,
        }
    }

    /// How many workflows it evaluates.
    pub fn len(&self) -> usize {
        self.workflows.len()
    }

    /// Whether it evaluates no workflow.
    pub fn is_empty(&self) -> bool {
        self.workflows.is_empty()
    }

    /// The occurrences due at `now` among `users`, and the users that could not be evaluated.
    pub fn evaluate<'a>(
        &self,
        users: impl IntoIterator<Item = &'a Resource>,
        now: DateTime<Utc>,
    ) -> Evaluation {
        let mut out = Evaluation::default();
        let mut slots = vec![slot::UNREAD; self.attrs.list.len()];
        let now_ms = now.timestamp_millis();
        let catch_up = self.options.catch_up.num_milliseconds();
        let decisions: Vec<Decision> = self
            .workflows
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Decision::of(i, c, now_ms, catch_up))
            .collect();
        let mut scan = Scan::new(self.attrs.list.len());
        // The key lengths the scan compares: `id` and the top-level names.
        let lengths = self.attrs.lengths | length_bit(2);
        let nested = self
            .attrs
            .list
            .iter()
            .filter(|(_, p)| p.urn().is_none() && p.sub_attribute().is_some())
            .fold(0u128, |m, (_, p)| m | first_bit(p.name()));
        let mut users = users.into_iter();
        let mut window: Vec<&'a Resource> = Vec::with_capacity(WINDOW);
        let mut touch_buf = Touch::default();
        loop {
            window.clear();
            window.extend(users.by_ref().take(WINDOW));
            if window.is_empty() {
                break;
            }
            // Users are far apart in memory and reading one is a chain of cache misses (its
            // entries, then the keys and values they point to). Touching the whole window's
            // first, a level of the chain at a time for all its users, lets those misses
            // overlap, so the evaluation below finds them in cache. (Reading ahead in a
            // pipeline instead — entries 16 users ahead, keys and dates 8 ahead, evaluating in
            // between — measured slower; so did touching one user's whole chain at a time.)
            let touched = touch(&window, lengths, nested, &mut touch_buf);
            std::hint::black_box(touched);
            for (i, user) in window.iter().copied().enumerate() {
                let entries = match (touch_buf.starts.get(i), touch_buf.starts.get(i + 1)) {
                    (Some(&a), Some(&b)) => touch_buf.entries.get(a..b).unwrap_or_default(),
                    _ => &[],
                };
                scan.read_entries(&self.attrs, entries.iter().copied());
                self.evaluate_one(user, &scan, &decisions, &mut slots, &mut out);
            }
        }
        out
    }

    /// Decides every workflow for one user whose scan is `scan`.
    fn evaluate_one<'a>(
        &self,
        user: &'a Resource,
        scan: &Scan<'a>,
        decisions: &[Decision],
        slots: &mut [i64],
        out: &mut Evaluation,
    ) {
        let Some(id) = scan.id else {
            if !self.workflows.is_empty() {
                out.errors.push(SubjectError::new(
                    "",
                    None,
                    "a user without an id cannot be processed",
                ));
            }
            return;
        };
        slots.fill(slot::UNREAD);
        for d in decisions {
            let Some(wf) = self.workflows.get(d.workflow) else {
                continue;
            };
            // `decide`, written out: this loop runs for every workflow of every user.
            let (attr, t) = self.trigger_instant(d, user, scan, slots);
            if t > slot::BAD {
                if d.window.holds(t) && wf.scope.matches(user) {
                    out.due.push(Occurrence {
                        workflow_id: wf.workflow.id().to_owned(),
                        trigger: wf.trigger_key.clone(),
                        user_id: id.to_owned(),
                        date: attributes::utc_date(t.saturating_add(d.window.shift)),
                    });
                }
            } else if t == slot::BAD {
                out.errors.push(SubjectError::new(
                    id,
                    Some(wf.workflow.id()),
                    self.bad_instant_message(attr, user, scan),
                ));
            }
        }
    }

    /// Whether one workflow's trigger is due for one user (the runner's re-check right before
    /// processing): the trigger date, `None` when not due.
    pub(crate) fn check_one(
        c: &Compiled,
        attrs: &Attrs,
        options: &EvalOptions,
        user: &Resource,
        now: DateTime<Utc>,
    ) -> std::result::Result<Option<String>, String> {
        let Some(d) = Decision::of(
            0,
            c,
            now.timestamp_millis(),
            options.catch_up.num_milliseconds(),
        ) else {
            return Ok(None);
        };
        let eval = TriggerEvaluator {
            workflows: Vec::new(),
            attrs: attrs.clone(),
            options: options.clone(),
        };
        let mut slots = vec![slot::UNREAD; attrs.list.len()];
        let mut scan = Scan::new(attrs.list.len());
        scan.read(attrs, user);
        match eval.decide(&d, user, &scan, &mut slots) {
            Ok(t) => Ok(t.map(|t| attributes::utc_date(t.saturating_add(d.window.shift)))),
            Err(attr) => Err(eval.bad_instant_message(attr, user, &scan)),
        }
    }

    /// The instant that makes `d` due for `user`, if any: its attribute's (else, for
    /// inactivity, the creation date's) when the window holds it. `Err` names the attribute
    /// that is not a dateTime. Instants are integer milliseconds: two comparisons decide.
    #[inline]
    fn decide(
        &self,
        d: &Decision,
        user: &Resource,
        scan: &Scan<'_>,
        slots: &mut [i64],
    ) -> std::result::Result<Option<i64>, usize> {
        let (attr, t) = self.trigger_instant(d, user, scan, slots);
        match t {
            slot::MISSING | slot::UNREAD => Ok(None),
            slot::BAD => Err(attr),
            t => Ok(d.window.holds(t).then_some(t)),
        }
    }

    /// The attribute `d`'s trigger reads for `user` and its instant (or [`slot`] marker): its
    /// own attribute, else — for inactivity, when it is missing — the creation date.
    #[inline(always)]
    fn trigger_instant(
        &self,
        d: &Decision,
        user: &Resource,
        scan: &Scan<'_>,
        slots: &mut [i64],
    ) -> (usize, i64) {
        let t = self.instant(d.attr, user, scan, slots);
        match d.fallback {
            // Never signed in: inactive since the account was created.
            Some(created) if t == slot::MISSING => {
                (created, self.instant(created, user, scan, slots))
            }
            _ => (d.attr, t),
        }
    }

    /// Attribute `i` of `user` as an instant or a [`slot`] marker: read and parsed on first
    /// use, then remembered in `slots` for the other workflows.
    #[inline]
    fn instant(&self, i: usize, user: &Resource, scan: &Scan<'_>, slots: &mut [i64]) -> i64 {
        let Some(slot) = slots.get_mut(i) else {
            return slot::MISSING;
        };
        if *slot == slot::UNREAD {
            *slot = match self.parse_instant(i, user, scan) {
                None => slot::MISSING,
                Some(Ok(t)) => t,
                Some(Err(_)) => slot::BAD,
            };
        }
        *slot
    }

    /// Reads and parses attribute `i` of `user`: `None` when it has no such attribute.
    fn parse_instant(
        &self,
        i: usize,
        user: &Resource,
        scan: &Scan<'_>,
    ) -> Option<std::result::Result<i64, String>> {
        let (name, path) = self.attrs.list.get(i)?;
        let value = match self.attrs.top.get(i) {
            Some(Some(_)) => scan
                .tops
                .get(i)
                .copied()
                .flatten()
                .and_then(|top| attributes::read_in(top, path)),
            _ => attributes::read(user, path),
        }?;
        Some(attributes::parse_instant_millis(name, value))
    }

    /// Why attribute `i` of `user` is not a dateTime (made again on the rare path that
    /// reports it, so the hot loop carries no message).
    #[cold]
    fn bad_instant_message(&self, i: usize, user: &Resource, scan: &Scan<'_>) -> String {
        match self.parse_instant(i, user, scan) {
            Some(Err(message)) => message,
            _ => "not a dateTime".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Limits;
    use serde_json::json;

    fn set(trigger: serde_json::Value) -> WorkflowSet {
        WorkflowSet::from_value(
            json!({"displayName": "W", "category": "joiner", "isSchedulingEnabled": true,
                   "executionConditions": {"scope": {"rule": ""}, "trigger": trigger}}),
            Limits::default(),
        )
        .unwrap()
    }

    fn user(id: &str, attrs: serde_json::Value) -> Resource {
        let mut v = json!({"id": id, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]});
        if let (Some(o), serde_json::Value::Object(a)) = (v.as_object_mut(), attrs) {
            o.extend(a);
        }
        Resource::from_value(v).unwrap()
    }

    fn due(set: &WorkflowSet, users: &[Resource], now: &str) -> Evaluation {
        TriggerEvaluator::new(set, &AliasTable::default(), EvalOptions::default())
            .unwrap()
            .evaluate(users, now.parse().unwrap())
    }

    #[test]
    fn catch_up_window_is_three_days() {
        let s = set(json!({"timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}));
        let u = [user(
            "u",
            json!({"employeeHireDate": "2026-03-01T08:00:00Z"}),
        )];
        assert!(due(&s, &u, "2026-03-01T07:59:59Z").due.is_empty());
        assert_eq!(due(&s, &u, "2026-03-01T08:00:00Z").due.len(), 1);
        assert_eq!(due(&s, &u, "2026-03-04T08:00:00Z").due.len(), 1);
        assert!(due(&s, &u, "2026-03-04T08:00:01Z").due.is_empty());
    }

    #[test]
    fn offsets_and_offsets_in_dates() {
        let s = set(json!({"timeBasedAttribute": "employeeLeaveDateTime", "offsetInDays": -7}));
        // 2026-03-10T00:30:00+02:00 is 2026-03-09T22:30Z; minus 7 days: 2026-03-02T22:30Z.
        let u = [user(
            "u",
            json!({"employeeLeaveDateTime": "2026-03-10T00:30:00+02:00"}),
        )];
        assert!(due(&s, &u, "2026-03-02T22:00:00Z").due.is_empty());
        let e = due(&s, &u, "2026-03-02T23:00:00Z");
        assert_eq!(e.due[0].date, "2026-03-02");
    }

    #[test]
    fn custom_extension_paths_and_created() {
        let s = set(
            json!({"timeBasedAttribute": "urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate", "offsetInDays": 1}),
        );
        let u = [user(
            "u",
            json!({"urn:ietf:params:scim:schemas:extension:acme:1.0:User": {"HireDate": "2026-03-01T00:00:00Z"}}),
        )];
        assert_eq!(due(&s, &u, "2026-03-02T01:00:00Z").due.len(), 1);
        let s = set(json!({"timeBasedAttribute": "createdDateTime", "offsetInDays": 0}));
        let u = [user(
            "u",
            json!({"meta": {"created": "2026-03-01T00:00:00Z"}}),
        )];
        assert_eq!(due(&s, &u, "2026-03-01T01:00:00Z").due.len(), 1);
    }

    #[test]
    fn malformed_dates_are_reported_per_user() {
        let s = set(json!({"timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}));
        let u = [
            user("bad", json!({"employeeHireDate": "03/01/2026"})),
            user("none", json!({})),
        ];
        let e = due(&s, &u, "2026-03-01T01:00:00Z");
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].subject.id, "bad");
        assert!(e.errors[0].message.contains("\"03/01/2026\""));
    }

    #[test]
    fn windows_of_users_answer_as_users_one_by_one() {
        let s = set(json!({"timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}));
        let users: Vec<Resource> = (0..2 * WINDOW as u32 + 3)
            .map(|i| {
                let hire = match i % 4 {
                    0 => json!("2026-03-01T08:00:00Z"),
                    1 => json!("2026-03-01"),
                    2 => json!("2026-02-01T08:00:00Z"),
                    _ => json!(null),
                };
                user(&format!("u{i}"), json!({"employeeHireDate": hire}))
            })
            .collect();
        let now = "2026-03-02T00:00:00Z";
        let all = due(&s, &users, now);
        let (mut due_one, mut errors_one) = (Vec::new(), Vec::new());
        for u in &users {
            let e = due(&s, std::slice::from_ref(u), now);
            due_one.extend(e.due);
            errors_one.extend(e.errors);
        }
        assert_eq!(all.due, due_one);
        assert_eq!(all.errors, errors_one);
        assert_eq!(all.due.len(), users.len().div_ceil(4));
        assert_eq!(all.errors.len(), (users.len() + 2) / 4);
        // Fewer users than a window, and every length around one and two windows.
        let w = WINDOW;
        for n in [
            0,
            1,
            2,
            7,
            w - 1,
            w,
            w + 1,
            2 * w - 1,
            2 * w,
            2 * w + 1,
            users.len(),
        ] {
            let some = due(&s, &users[..n], now);
            let expected: Vec<_> = all
                .due
                .iter()
                .filter(|d| {
                    users[..n]
                        .iter()
                        .any(|u| u.id() == Some(d.user_id.as_str()))
                })
                .cloned()
                .collect();
            assert_eq!(some.due, expected, "{n} users");
            assert_eq!(
                some.errors.len(),
                all.errors
                    .iter()
                    .filter(|e| users[..n]
                        .iter()
                        .any(|u| u.id() == Some(e.subject.id.as_str())))
                    .count(),
                "{n} users"
            );
        }
    }

    proptest::proptest! {
        /// The window computed once per evaluation decides as the plain definition: a time
        /// trigger is due when `t + offset` has come and is at most the catch-up window old,
        /// an inactivity trigger when `t + period` has come; the date is that of `t + offset`.
        #[test]
        fn windows_decide_as_the_definition(
            t in -8_000_000_000_000_000i64..8_000_000_000_000_000,
            near in -20i64 * 86_400_000..20 * 86_400_000,
            days in -180i64..=180,
            catch_up in proptest::prop_oneof![
                -5i64 * 86_400_000..10 * 86_400_000,
                proptest::prelude::Just(i64::MAX),
                proptest::prelude::Just(i64::MIN),
            ],
            inactivity in proptest::prelude::any::<bool>(),
        ) {
            // `now` near the date half of the time, so that both answers are common.
            let now = if near % 2 == 0 { t.saturating_add(near) } else { near.wrapping_mul(1_000) };
            let offset = Duration::days(days);
            let off = offset.num_milliseconds();
            let kind = if inactivity {
                Kind::Inactivity { last_sign_in: 0, created: 1, period: offset }
            } else {
                Kind::Time { attr: 0, offset }
            };
            let w = Window::of(&kind, now, catch_up).unwrap();
            let at = t.saturating_add(off);
            let plain = if inactivity {
                at <= now
            } else {
                at <= now && now - at <= catch_up
            };
            proptest::prop_assert_eq!(w.holds(t), plain);
            if plain {
                proptest::prop_assert_eq!(t.saturating_add(w.shift), at);
            }
        }
    }

    #[test]
    fn inactivity_uses_last_sign_in_else_creation() {
        let s = set(json!({"inactivityPeriodInDays": 30}));
        let u = [
            user("a", json!({"lastSignInDateTime": "2026-01-01T00:00:00Z"})),
            user("b", json!({"lastSignInDateTime": "2026-02-20T00:00:00Z"})),
            user("c", json!({"meta": {"created": "2025-12-01T00:00:00Z"}})),
        ];
        let e = due(&s, &u, "2026-03-01T00:00:00Z");
        let ids: Vec<_> = e.due.iter().map(|d| d.user_id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
    }

    /// A dateTime attribute's value in the property test below: valid in both forms, not a
    /// dateTime in several ways, or empty.
    fn date_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            (0i64..120, 0i64..86_400).prop_map(|(d, s)| {
                let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
                    + Duration::days(d)
                    + Duration::seconds(s);
                json!(
                    t.with_timezone(&Utc)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                )
            }),
            (0i64..120).prop_map(|d| json!(format!(
                "2026-{:02}-{:02}T10:00:00+05:30",
                1 + d % 4,
                1 + d % 28
            ))),
            Just(json!("2026-03-01")),
            Just(json!("2026-02-30T10:00:00Z")),
            Just(json!(20260301)),
            Just(json!("")),
            Just(json!(null)),
        ]
    }

    proptest::proptest! {
        /// The evaluator (one scan of each user's keys, instants parsed once and remembered,
        /// windows of users touched first, the fast dateTime parser, dates written by hand)
        /// answers as the plain definition: for each user in order, each workflow in order,
        /// the attribute read with `attributes::read` (exact spelling first, else the first
        /// key matching ignoring case), parsed with chrono's strict parser, due when its
        /// date plus the offset has come at most the catch-up window ago (inactivity: when
        /// the last sign-in, else the creation date, plus the period has come).
        #[test]
        fn evaluation_answers_as_the_plain_definition(
            users in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["id", "ID", "Id", "both", "none"]),
                    proptest::option::of(date_value()),
                    proptest::sample::select(vec!["employeeHireDate", "EMPLOYEEHIREDATE", "employeehiredate", "both", "two-loose"]),
                    proptest::option::of(date_value()),
                    proptest::option::of(date_value()),
                    proptest::option::of(date_value()),
                    0usize..5,
                ),
                0..150,
            ),
            now_day in 0i64..130,
        ) {
            let all = json!([
                {"displayName": "pre", "category": "joiner", "isSchedulingEnabled": true,
                 "executionConditions": {"scope": {"rule": ""},
                   "trigger": {"timeBasedAttribute": "employeeHireDate", "offsetInDays": -7}}},
                {"displayName": "hire", "category": "joiner", "isSchedulingEnabled": true,
                 "executionConditions": {"scope": {"rule": ""},
                   "trigger": {"timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}}},
                {"displayName": "leave", "category": "leaver", "isSchedulingEnabled": true,
                 "executionConditions": {"scope": {"rule": ""},
                   "trigger": {"timeBasedAttribute": "employeeLeaveDateTime", "offsetInDays": 7}}},
                {"displayName": "created", "category": "joiner", "isSchedulingEnabled": true,
                 "executionConditions": {"scope": {"rule": ""},
                   "trigger": {"timeBasedAttribute": "createdDateTime", "offsetInDays": 1}}},
                {"displayName": "inactive", "category": "leaver", "isSchedulingEnabled": true,
                 "executionConditions": {"scope": {"rule": ""},
                   "trigger": {"inactivityPeriodInDays": 30}}},
            ]);
            let set = WorkflowSet::from_value(all, Limits::default()).unwrap();
            let resources: Vec<Resource> = users
                .iter()
                .enumerate()
                .map(|(n, (id, hire, hire_key, leave, sign_in, created, meta_shape))| {
                    let mut o = serde_json::Map::new();
                    let uid = format!("u{n}");
                    match *id {
                        "both" => {
                            o.insert("ID".into(), json!(format!("{uid}-loose")));
                            o.insert("id".into(), json!(uid));
                        }
                        "none" => {}
                        key => {
                            o.insert(key.into(), json!(uid));
                        }
                    }
                    if let Some(h) = hire {
                        if *hire_key == "both" {
                            o.insert("EmployeeHireDate".into(), json!("2026-02-02T00:00:00Z"));
                            o.insert("employeeHireDate".into(), h.clone());
                        } else if *hire_key == "two-loose" {
                            o.insert("EMPLOYEEHIREDATE".into(), h.clone());
                            o.insert("employeehiredate".into(), json!("2026-02-02T00:00:00Z"));
                        } else {
                            o.insert((*hire_key).into(), h.clone());
                        }
                    }
                    if let Some(l) = leave {
                        o.insert("employeeLeaveDateTime".into(), l.clone());
                    }
                    if let Some(s) = sign_in {
                        o.insert("lastSignInDateTime".into(), s.clone());
                    }
                    if let Some(c) = created {
                        // `created` in other places and spellings: the exact spelling wins
                        // wherever it is, else the first loose one.
                        let other = json!("2026-02-02T00:00:00Z");
                        let meta = match meta_shape {
                            0 => json!({"resourceType": "User", "created": c}),
                            1 => json!({"created": c, "resourceType": "User"}),
                            2 => json!({"resourceType": "User", "Created": c}),
                            3 => json!({"CREATED": other, "resourceType": "User", "created": c}),
                            _ => json!({"Created": c, "cREATED": other}),
                        };
                        o.insert("meta".into(), meta);
                    }
                    Resource::from_value(Value::Object(o)).unwrap()
                })
                .collect();
            let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T09:30:00Z").unwrap()
                .with_timezone(&Utc) + Duration::days(now_day);
            let got = TriggerEvaluator::new(&set, &AliasTable::default(), EvalOptions::default())
                .unwrap()
                .evaluate(&resources, now);

            // The plain definition.
            let aliases = AliasTable::default();
            let catch_up = Duration::days(3);
            let mut want = Evaluation::default();
            let instant = |u: &Resource, name: &str| -> Result<Option<DateTime<Utc>>, String> {
                let path = aliases.path(name).unwrap();
                attributes::read(u, &path)
                    .map(|v| attributes::parse_instant(name, v))
                    .transpose()
            };
            for u in &resources {
                let Some(id) = u.id() else {
                    want.errors.push(SubjectError::new("", None, "a user without an id cannot be processed"));
                    continue;
                };
                for wf in set.iter() {
                    let ExecutionConditions::TriggerAndScope { trigger, .. } = &wf.execution_conditions else {
                        continue;
                    };
                    let decided = match trigger {
                        Trigger::TimeBased { attribute, offset_in_days } => instant(u, attribute).map(|t| {
                            t.map(|t| t + Duration::days(i64::from(*offset_in_days)))
                                .filter(|at| *at <= now && now - *at <= catch_up)
                        }),
                        Trigger::Inactivity { inactivity_period_in_days } => {
                            match instant(u, "lastSignInDateTime") {
                                Ok(None) => instant(u, "createdDateTime"),
                                other => other,
                            }
                            .map(|t| t.map(|t| t + Duration::days(i64::from(*inactivity_period_in_days))).filter(|at| *at <= now))
                        }
                        _ => continue,
                    };
                    match decided {
                        Ok(Some(at)) => want.due.push(Occurrence {
                            workflow_id: wf.id().to_owned(),
                            trigger: trigger.key(),
                            user_id: id.to_owned(),
                            date: at.format("%Y-%m-%d").to_string(),
                        }),
                        Ok(None) => {}
                        Err(m) => want.errors.push(SubjectError::new(id, Some(wf.id()), m)),
                    }
                }
            }
            proptest::prop_assert_eq!(got, want);
        }
    }
}
