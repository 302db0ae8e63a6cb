//! Why an object is, or is not, in scope — the text provisioning logs carry.

use std::fmt;
use std::ops::ControlFlow;

use scim_model::Resource;
use serde_json::Value;

use super::compile::{CompiledClause, CompiledScopingFilter};

/// The outcome of a scoping filter for one object, and why.
///
/// Its [`Display`](fmt::Display) is one line:
/// - `in scope: the scoping filter is empty`
/// - `in scope: group 1 matched: department EQUALS 'Sales' and active IS TRUE`
/// - `out of scope: group 0: department EQUALS 'IT' failed: department is 'Sales'; group 1: …`
///
/// Groups and clauses are numbered by their 0-based index in the filter's JSON arrays.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explanation {
    /// Whether the object is in scope.
    pub in_scope: bool,
    /// The group that matched (in scope), or every group with its first failing clause.
    pub groups: Vec<GroupOutcome>,
}

/// How one group fared.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupOutcome {
    /// Every clause of the group held.
    Matched {
        /// The group's index.
        group: usize,
        /// Its clauses, as text (`department EQUALS 'Sales'`).
        clauses: Vec<String>,
    },
    /// A clause failed (the group's later clauses were not evaluated).
    Failed {
        /// The group's index.
        group: usize,
        /// The failing clause's index in its group.
        clause: usize,
        /// `department EQUALS 'IT' failed: department is 'Sales'`.
        reason: String,
    },
}

impl CompiledScopingFilter {
    /// Evaluates the filter and says why: which group matched or, for each group, the first
    /// clause that failed and the value it saw. Agrees with [`CompiledScopingFilter::matches`].
    pub fn explain(&self, resource: &Resource) -> Explanation {
        let mut groups = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            match group.iter().position(|c| !c.holds(resource)) {
                None => {
                    return Explanation {
                        in_scope: true,
                        groups: vec![GroupOutcome::Matched {
                            group: g,
                            clauses: group.iter().map(|c| c.text.clone()).collect(),
                        }],
                    };
                }
                Some(c) => groups.push(GroupOutcome::Failed {
                    group: g,
                    clause: c,
                    reason: group[c].failure(resource),
                }),
            }
        }
        Explanation {
            in_scope: groups.is_empty(),
            groups,
        }
    }
}

impl CompiledClause {
    /// `department EQUALS 'IT' failed: department is 'Sales'`.
    fn failure(&self, resource: &Resource) -> String {
        let mut seen: Vec<&Value> = Vec::new();
        self.visit(resource, &mut |v| {
            seen.push(v);
            ControlFlow::Continue(())
        });
        let shown = match seen.as_slice() {
            [] => "empty".to_owned(),
            [one] => show(one),
            many => {
                let items: Vec<String> = many.iter().map(|v| show(v)).collect();
                format!("[{}]", items.join(", "))
            }
        };
        format!("{} failed: {} is {shown}", self.text, self.path_text)
    }
}

/// A value as explanations write it: strings in single quotes, others as JSON.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_scope {
            f.write_str("in scope: ")?;
            match self.groups.first() {
                Some(GroupOutcome::Matched { group, clauses }) => {
                    write!(f, "group {group} matched: {}", clauses.join(" and "))
                }
                _ => f.write_str("the scoping filter is empty"),
            }
        } else {
            f.write_str("out of scope: ")?;
            for (i, outcome) in self.groups.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                if let GroupOutcome::Failed { group, reason, .. } = outcome {
                    write!(f, "group {group}: {reason}")?;
                }
            }
            Ok(())
        }
    }
}
