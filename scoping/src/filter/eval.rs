//! Evaluating a compiled filter against a resource.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::ops::ControlFlow;

use scim_model::Resource;
use serde_json::Value;

use crate::read::{Entry, PathReader};

use super::compile::{
    CompiledClause, CompiledScopingFilter, ElementFilter, Num, Operand, parse_instant, parse_num,
};
use super::{MultivaluedComparison, Operator};

/// How many resources [`CompiledScopingFilter::matches_many`] evaluates together.
const WINDOW: usize = 64;

impl CompiledScopingFilter {
    /// [`CompiledScopingFilter::matches`] of each resource, appended to `out` in order: for
    /// a page of objects, as a sync engine reads them.
    ///
    /// The answers are those of `matches`; what differs is speed on large populations. A
    /// resource's attributes lie in many small allocations reached through chains of
    /// pointers (the object's entries, a key's text, the extension block's entries, a
    /// value's text), so evaluating resources one after another waits for one cache miss
    /// after another. This reads a window of resources ahead first, one level of those
    /// chains at a time for every clause and every resource of the window (tight loops of
    /// independent reads, so their misses overlap), then evaluates the window clause by
    /// clause.
    ///
    /// ```
    /// # use scoping::ScopingFilter;
    /// let f = ScopingFilter::from_json_str(
    ///     r#"[[{"sourceAttribute": "active", "operator": "IS TRUE"}]]"#,
    /// ).unwrap().compile().unwrap();
    /// let users: Vec<scim_model::Resource> = vec![
    ///     serde_json::from_str(r#"{"active": true}"#).unwrap(),
    ///     serde_json::from_str(r#"{"active": false}"#).unwrap(),
    /// ];
    /// let mut out = Vec::new();
    /// f.matches_many(&users, &mut out);
    /// assert_eq!(out, [true, false]);
    /// ```
    pub fn matches_many<'r, I>(&self, resources: I, out: &mut Vec<bool>)
    where
        I: IntoIterator<Item = &'r Resource>,
    {
        let mut resources = resources.into_iter();
        if self.groups.is_empty() {
            out.extend(resources.map(|_| true));
            return;
        }
        // The clauses worth reading ahead: those the previous window evaluated for at least
        // a quarter of its resources; for the first window, the first clause of each group
        // (evaluated for every resource no earlier group took). A clause after a selective
        // one (`department EQUALS 'Sales'` after `division EQUALS 'EMEA'`) is evaluated for
        // few resources, and reading its path ahead for all would add more misses than it
        // saves. Clauses of the same path (`department` in two groups) are read ahead once.
        let clauses: Vec<&CompiledClause> = self.groups.iter().flatten().collect();
        let mut seen: Vec<&str> = Vec::with_capacity(clauses.len());
        let mut wanted: Vec<&CompiledClause> =
            self.groups.iter().filter_map(|g| g.first()).collect();
        distinct_paths(&mut wanted, &mut seen);
        let mut evaluated = vec![0usize; clauses.len()];
        let mut ahead: Vec<Option<Entry<'r>>> = Vec::with_capacity(clauses.len() * WINDOW);
        let mut window: Vec<&'r Resource> = Vec::with_capacity(WINDOW);
        loop {
            window.clear();
            window.extend(resources.by_ref().take(WINDOW));
            if window.is_empty() {
                return;
            }
            std::hint::black_box(read_ahead(&wanted, &window, &mut ahead));
            // `in_scope[i]`: resource i matched a group already; `alive[i]`: every clause of
            // the current group so far holds for it.
            let mut in_scope = [false; WINDOW];
            let mut counts = evaluated.iter_mut();
            for group in &self.groups {
                let mut alive = in_scope.map(|done| !done);
                for clause in group {
                    let mut n = 0;
                    for (r, alive) in window.iter().zip(alive.iter_mut()) {
                        if *alive {
                            *alive = clause.holds(r);
                            n += 1;
                        }
                    }
                    if let Some(count) = counts.next() {
                        *count = n;
                    }
                }
                for (done, alive) in in_scope.iter_mut().zip(alive) {
                    *done |= alive;
                }
            }
            out.extend(in_scope.iter().take(window.len()));
            wanted.clear();
            wanted.extend(
                clauses
                    .iter()
                    .zip(&evaluated)
                    .filter(|(_, n)| **n * 4 >= window.len())
                    .map(|(c, _)| *c),
            );
            distinct_paths(&mut wanted, &mut seen);
        }
    }

    /// Whether `resource` is in scope: all clauses of some group hold, or there are no groups.
    pub fn matches(&self, resource: &Resource) -> bool {
        self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|group| group.iter().all(|clause| clause.holds(resource)))
    }
}

/// Whether a value counts as empty: null, `""`, `[]`, `{}`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Keeps the first of `clauses` of each path (`seen` is scratch space).
fn distinct_paths<'c>(clauses: &mut Vec<&'c CompiledClause>, seen: &mut Vec<&'c str>) {
    seen.clear();
    clauses.retain(|c| {
        let fresh = !seen.contains(&c.path_text.as_str());
        if fresh {
            seen.push(&c.path_text);
        }
        fresh
    });
}

/// Reads ahead what evaluating `clauses` over `window` will read, a level at a time for
/// all of them (see [`crate::read::PathReader::ahead_top`]); `ahead` is scratch space.
/// Returns a number made of what it read.
fn read_ahead<'r>(
    clauses: &[&CompiledClause],
    window: &[&'r Resource],
    ahead: &mut Vec<Option<Entry<'r>>>,
) -> usize {
    ahead.clear();
    for c in clauses {
        ahead.extend(window.iter().map(|r| c.reader.ahead_top(r)));
    }
    let mut n = 0usize;
    for (c, entries) in clauses.iter().zip(ahead.chunks_mut(window.len().max(1))) {
        for e in entries {
            let (touched, next) = c.reader.ahead_next(*e);
            n = n.wrapping_add(touched);
            *e = next;
        }
    }
    ahead
        .iter()
        .fold(n, |n, e| n.wrapping_add(PathReader::ahead_leaf(*e)))
}

impl CompiledClause {
    /// Calls `f` with each non-empty value the clause's path reads, until it breaks.
    pub(crate) fn visit<'a>(
        &self,
        resource: &'a Resource,
        f: &mut impl FnMut(&'a Value) -> ControlFlow<()>,
    ) {
        if let Some(top) = self.reader.top(resource) {
            self.visit_top(top, f);
        }
    }

    /// [`CompiledClause::visit`] from the path's top-level value, already read.
    fn visit_top<'a>(&self, top: &'a Value, f: &mut impl FnMut(&'a Value) -> ControlFlow<()>) {
        match top {
            Value::Array(items) => {
                for item in items {
                    if !self.element_passes(item) {
                        continue;
                    }
                    if self.leaf(item, f).is_break() {
                        return;
                    }
                }
            }
            other => {
                if self.element_passes(other) {
                    let _ = self.leaf(other, f);
                }
            }
        }
    }

    fn element_passes(&self, element: &Value) -> bool {
        match &self.element_filter {
            None => true,
            Some(ElementFilter::Simple(test)) => test.matches(element),
            Some(ElementFilter::Compiled(filter)) => match element {
                Value::Object(obj) => Resource::from_object(obj.clone())
                    .is_ok_and(|r| filter.matches(&r).unwrap_or(false)),
                _ => false,
            },
        }
    }

    fn leaf<'a>(
        &self,
        v: &'a Value,
        f: &mut impl FnMut(&'a Value) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let v = match (self.reader.sub(), v) {
            (Some(_), Value::Object(o)) => match self.reader.sub_in(o) {
                Some(v) => v,
                None => return ControlFlow::Continue(()),
            },
            (Some(_), _) => return ControlFlow::Continue(()),
            (None, Value::Object(o)) => match self.reader.value_in(o) {
                Some(v) => v,
                None => return ControlFlow::Continue(()),
            },
            (None, v) => v,
        };
        match v {
            Value::Array(items) => {
                for item in items {
                    if !is_empty(item) {
                        f(item)?;
                    }
                }
                ControlFlow::Continue(())
            }
            v if is_empty(v) => ControlFlow::Continue(()),
            v => f(v),
        }
    }

    /// Whether the clause holds for `resource`.
    pub(crate) fn holds(&self, resource: &Resource) -> bool {
        let Some(top) = self.reader.top(resource) else {
            // Nothing to visit: only "is null" holds.
            return self.op == Operator::IsNull;
        };
        // The common case, written out: a plain path to a single string, tested by a
        // comparison. The general path below visits it once when it is not empty, and then
        // holds exactly when the value does (whichever the multi-valued mode).
        if let Value::String(text) = top
            && self.element_filter.is_none()
            && self.reader.sub().is_none()
            && !matches!(
                self.op,
                Operator::IsNull | Operator::IsNotNull | Operator::MemberOfAny | Operator::UnderOu
            )
        {
            return !text.is_empty() && self.value_holds(top);
        }
        self.holds_top(top)
    }

    /// [`CompiledClause::holds`] from the path's top-level value, by the general path (every
    /// value the path reads visited).
    fn holds_top(&self, top: &Value) -> bool {
        match self.op {
            Operator::IsNull | Operator::IsNotNull => {
                let mut seen = false;
                self.visit_top(top, &mut |_| {
                    seen = true;
                    ControlFlow::Break(())
                });
                seen == (self.op == Operator::IsNotNull)
            }
            Operator::MemberOfAny | Operator::UnderOu => {
                let mut any = false;
                self.visit_top(top, &mut |v| {
                    if self.value_holds(v) {
                        any = true;
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                any
            }
            _ => {
                let (mut seen, mut any, mut all) = (false, false, true);
                let mode = self.mode;
                self.visit_top(top, &mut |v| {
                    seen = true;
                    if self.value_holds(v) {
                        any = true;
                        if mode == MultivaluedComparison::Any {
                            return ControlFlow::Break(());
                        }
                    } else {
                        all = false;
                        if mode == MultivaluedComparison::All {
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                });
                seen && match mode {
                    MultivaluedComparison::Any => any,
                    _ => all,
                }
            }
        }
    }

    /// Whether one (non-empty) value satisfies the clause.
    pub(crate) fn value_holds(&self, v: &Value) -> bool {
        let mut buf = StackText::new();
        match (&self.operand, self.op) {
            (Operand::None, Operator::IsTrue) => as_bool(v) == Some(true),
            (Operand::None, Operator::IsFalse) => as_bool(v) == Some(false),
            (Operand::None, _) => false,
            (Operand::Regex(re), op) => match text_of(v, &mut buf) {
                Some(t) => re.is_match(t) == (op == Operator::RegexMatch),
                None => false,
            },
            (Operand::Order { number, instant }, op) => {
                let ord = match (number, instant) {
                    (Some(n), _) => value_num(v).and_then(|x| cmp_num(x, *n)),
                    (None, Some(i)) => v.as_str().and_then(parse_instant).map(|x| x.cmp(i)),
                    (None, None) => None,
                };
                match (ord, op) {
                    (None, _) => false,
                    (Some(o), Operator::GreaterThan) => o == Ordering::Greater,
                    (Some(o), Operator::GreaterThanOrEquals) => o != Ordering::Less,
                    (Some(o), Operator::LessThan) => o == Ordering::Less,
                    (Some(o), Operator::LessThanOrEquals) => o != Ordering::Greater,
                    (Some(_), _) => false,
                }
            }
            (Operand::Ids(ids), _) => v
                .as_str()
                .is_some_and(|s| ids.iter().any(|id| id.eq_ignore_ascii_case(s))),
            (Operand::Ous(ous), _) => v
                .as_str()
                .is_some_and(|s| ous.iter().any(|ou| ou.contains(s))),
            (
                Operand::Text {
                    text,
                    lower,
                    number,
                },
                op,
            ) => {
                let equal = || text_equals(v, text, *number, &mut StackText::new());
                let Some(t) = text_of(v, &mut buf) else {
                    return false;
                };
                match op {
                    Operator::Equals => equal(),
                    Operator::NotEquals => !equal(),
                    Operator::EqualsIgnoreCase => eq_ci(t, lower),
                    Operator::NotEqualsIgnoreCase => !eq_ci(t, lower),
                    Operator::ContainedIn => text.contains(t),
                    Operator::NotContainedIn => !text.contains(t),
                    Operator::Includes => t.contains(text.as_str()),
                    Operator::IncludesIgnoreCase => contains_ci(t, lower),
                    Operator::StartsWith => t.starts_with(text.as_str()),
                    Operator::StartsWithIgnoreCase => starts_with_ci(t, lower),
                    Operator::EndsWith => t.ends_with(text.as_str()),
                    Operator::EndsWithIgnoreCase => ends_with_ci(t, lower),
                    _ => false,
                }
            }
        }
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// EQUALS: strings exactly; a boolean against `true`/`false` in any case; a number against a
/// numeric clause value by value.
fn text_equals(v: &Value, text: &str, number: Option<Num>, buf: &mut StackText) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Bool(b) => text.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(_) => match (value_num(v), number) {
            (Some(x), Some(n)) => cmp_num(x, n) == Some(Ordering::Equal),
            _ => text_of(v, buf).is_some_and(|t| t == text),
        },
        _ => false,
    }
}

fn value_num(v: &Value) -> Option<Num> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(Num::Int)
            .or_else(|| n.as_f64().map(Num::Float)),
        Value::String(s) => parse_num(s),
        _ => None,
    }
}

fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => (x as f64).partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(y as f64)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// The text of a scalar value: a string as is, a number as JSON writes it, a boolean as .NET
/// does (`True`, `False`). Objects and arrays have none.
fn text_of<'a>(v: &'a Value, buf: &'a mut StackText) -> Option<&'a str> {
    match v {
        Value::String(s) => Some(s),
        Value::Bool(true) => Some("True"),
        Value::Bool(false) => Some("False"),
        Value::Number(n) => {
            write!(buf, "{n}").ok()?;
            Some(buf.as_str())
        }
        _ => None,
    }
}

fn eq_ci(t: &str, lower: &str) -> bool {
    t.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

fn starts_with_ci(t: &str, lower: &str) -> bool {
    let mut hay = t.chars().flat_map(char::to_lowercase);
    lower.chars().all(|c| hay.next() == Some(c))
}

fn ends_with_ci(t: &str, lower: &str) -> bool {
    let mut hay = t.chars().rev().flat_map(|c| c.to_lowercase().rev());
    lower.chars().rev().all(|c| hay.next() == Some(c))
}

fn contains_ci(t: &str, lower: &str) -> bool {
    lower.is_empty()
        || t.char_indices()
            .any(|(i, _)| starts_with_ci(&t[i..], lower))
}

/// A small text buffer on the stack, for rendering numbers without allocating.
pub(crate) struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    pub(crate) fn new() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;
    use scim_model::Resource;
    use serde_json::json;

    use crate::ScopingFilter;
    use crate::filter::Operator;

    proptest! {
        /// `holds`' written-out case (a plain path to a string) answers as the general path,
        /// for every operator, with text, numeric, regex and list operands and either
        /// multi-valued mode.
        #[test]
        fn a_string_holds_as_the_general_path_says(
            op in prop::sample::select(Operator::all().collect::<Vec<_>>()),
            operand in prop::sample::select(vec![
                json!("Sales"), json!("sales"), json!("12"), json!(12), json!("^S.*s$"),
                json!("OU=Sales,DC=x"), json!(["Sales", "IT"]), json!("2026-01-01T00:00:00Z"),
            ]),
            value in prop::sample::select(vec![
                "", "Sales", "SALES", "12", "012", "12.0", "Sales Ops", "true", "True",
                "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", "IT",
            ]),
            all in any::<bool>(),
        ) {
            let mut clause = json!({"sourceAttribute": "department", "operator": op.as_str()});
            if !op.is_unary() {
                clause["value"] = operand;
            }
            if all {
                clause["multivaluedComparisonType"] = json!("All");
            }
            // Not every operand suits every operator: those the filter refuses are skipped.
            let Ok(f) = ScopingFilter::from_json_str(&json!([[clause]]).to_string())
                .and_then(|f| f.compile())
            else {
                return Ok(());
            };
            let c = &f.groups[0][0];
            let top = json!(value);
            let r = Resource::from_value(json!({"department": value})).unwrap();
            prop_assert_eq!(c.holds(&r), c.holds_top(&top));
            let absent = Resource::from_value(json!({})).unwrap();
            let general_absent = {
                // The general path with nothing to visit.
                let mut seen = false;
                c.visit(&absent, &mut |_| {
                    seen = true;
                    std::ops::ControlFlow::Break(())
                });
                !seen && op == Operator::IsNull
            };
            prop_assert_eq!(c.holds(&absent), general_absent);
        }
    }
}
