//! Checking a filter and compiling it for evaluation.

use chrono::{DateTime, FixedOffset, NaiveDate};
use regex::Regex;
use scim_model::filter::CompiledFilter;
use scim_model::{AttributePath, SchemaRegistry};
use serde_json::Value;

use super::dn::Dn;
use super::{MultivaluedComparison, Operator, ScopingFilter};
use crate::read::{ElementTest, PathReader};
use crate::{Error, Result};

/// A checked scoping filter, ready to evaluate many times.
///
/// Built by [`ScopingFilter::compile`] (or deserialised from the same JSON, which compiles
/// it). Paths are parsed, regexes built and values converted once; evaluation allocates
/// nothing (except to test a value filter with operators other than `eq`, `ne` and `pr`).
///
/// ```
/// use scoping::ScopingFilter;
///
/// let filter = ScopingFilter::from_json_str(
///     r#"[[{"sourceAttribute": "department", "operator": "EQUALS", "value": "IT"}]]"#,
/// )?
/// .compile()?;
/// let user = serde_json::from_str(r#"{"department": "Sales"}"#)?;
/// assert!(!filter.matches(&user));
/// assert_eq!(
///     filter.explain(&user).to_string(),
///     "out of scope: group 0: department EQUALS 'IT' failed: department is 'Sales'"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CompiledScopingFilter {
    pub(crate) groups: Vec<Vec<CompiledClause>>,
    pub(crate) source: ScopingFilter,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledClause {
    /// The path's steps, read with lookup hints.
    pub(crate) reader: PathReader,
    /// The element filter of the path (`emails[type eq "work"]`): tested in place when it uses
    /// only `eq`, `ne`, `pr`, `and`, `or`, `not`, otherwise compiled by scim-model.
    pub(crate) element_filter: Option<ElementFilter>,
    pub(crate) path_text: String,
    pub(crate) op: Operator,
    pub(crate) mode: MultivaluedComparison,
    pub(crate) operand: Operand,
    /// `department EQUALS 'IT'`, for explanations.
    pub(crate) text: String,
}

#[derive(Clone, Debug)]
pub(crate) enum ElementFilter {
    Simple(ElementTest),
    Compiled(Box<CompiledFilter>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Clone, Debug)]
pub(crate) enum Operand {
    None,
    Text {
        text: String,
        lower: String,
        number: Option<Num>,
    },
    Regex(Regex),
    Order {
        number: Option<Num>,
        instant: Option<DateTime<FixedOffset>>,
    },
    Ids(Vec<String>),
    Ous(Vec<Dn>),
}

impl CompiledScopingFilter {
    pub(crate) fn new(filter: &ScopingFilter) -> Result<Self> {
        let registry = SchemaRegistry::default();
        let mut groups = Vec::with_capacity(filter.groups.len());
        for (g, group) in filter.groups.iter().enumerate() {
            let mut clauses = Vec::with_capacity(group.len());
            for (c, clause) in group.iter().enumerate() {
                let fail = |message: String| Error::InvalidClause {
                    group: g,
                    clause: c,
                    message,
                };
                let op = Operator::from_name(&clause.operator).ok_or_else(|| {
                    fail(format!(
                        "unknown operator '{}' (operators are case-sensitive, e.g. EQUALS, NOT EQUALS, IS NULL, REGEX MATCH)",
                        clause.operator
                    ))
                })?;
                let path = AttributePath::parse(&clause.source_attribute).map_err(|e| {
                    fail(format!(
                        "bad source attribute '{}': {e}",
                        clause.source_attribute
                    ))
                })?;
                let element_filter = path.filter().map(|f| {
                    if crate::mapping::flow::is_simple(f) {
                        ElementFilter::Simple(ElementTest::new(f))
                    } else {
                        ElementFilter::Compiled(Box::new(f.compile(&registry, "")))
                    }
                });
                let value = clause.value.as_ref().filter(|v| !v.is_null());
                let operand = compile_operand(op, value).map_err(fail)?;
                let text = clause_text(&clause.source_attribute, op, value);
                clauses.push(CompiledClause {
                    reader: PathReader::new(&path),
                    element_filter,
                    path_text: clause.source_attribute.clone(),
                    op,
                    mode: clause.multivalued_comparison_type.unwrap_or_default(),
                    operand,
                    text,
                });
            }
            if group.is_empty() {
                return Err(Error::InvalidClause {
                    group: g,
                    clause: 0,
                    message: "a group needs at least one clause".to_owned(),
                });
            }
            groups.push(clauses);
        }
        Ok(CompiledScopingFilter {
            groups,
            source: filter.clone(),
        })
    }

    /// Reads and compiles a filter from JSON.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] for text of the wrong shape, [`Error::InvalidClause`] for a clause
    /// that does not compile.
    pub fn from_json_str(text: &str) -> Result<Self> {
        ScopingFilter::from_json_str(text)?.compile()
    }

    /// The filter this was compiled from.
    pub fn filter(&self) -> &ScopingFilter {
        &self.source
    }

    /// Whether the filter has no groups (everything is in scope).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

impl TryFrom<ScopingFilter> for CompiledScopingFilter {
    type Error = Error;

    fn try_from(filter: ScopingFilter) -> Result<Self> {
        filter.compile()
    }
}

impl<'de> serde::Deserialize<'de> for CompiledScopingFilter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let filter = ScopingFilter::deserialize(d)?;
        filter.compile().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for CompiledScopingFilter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.source.serialize(s)
    }
}

fn compile_operand(op: Operator, value: Option<&Value>) -> Result<Operand, String> {
    if op.is_unary() {
        return match value {
            None => Ok(Operand::None),
            Some(v) => Err(format!("{op} takes no value, but has {v}")),
        };
    }
    let Some(value) = value else {
        return Err(format!("{op} needs a value"));
    };
    if op.takes_set() {
        let items: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| format!("{op} takes strings, not {v}"))
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(format!(
                    "{op} takes a string or an array of strings, not {other}"
                ));
            }
        };
        if items.is_empty() {
            return Err(format!("{op} needs at least one value"));
        }
        return if op == Operator::UnderOu {
            items
                .iter()
                .map(|s| Dn::parse(s).ok_or_else(|| format!("'{s}' is not a distinguished name")))
                .collect::<Result<_, _>>()
                .map(Operand::Ous)
        } else {
            Ok(Operand::Ids(
                items.iter().map(|s| s.to_ascii_lowercase()).collect(),
            ))
        };
    }
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(format!(
                "{op} takes a string, number or boolean, not {other}"
            ));
        }
    };
    match op {
        Operator::RegexMatch | Operator::NotRegexMatch => Regex::new(&text)
            .map(Operand::Regex)
            .map_err(|e| format!("bad regex '{text}': {e}")),
        Operator::GreaterThan
        | Operator::GreaterThanOrEquals
        | Operator::LessThan
        | Operator::LessThanOrEquals => {
            let number = parse_num(&text);
            let instant = if number.is_none() {
                parse_instant(&text)
            } else {
                None
            };
            if number.is_none() && instant.is_none() {
                return Err(format!(
                    "{op} compares numbers or dateTimes, and '{text}' is neither"
                ));
            }
            Ok(Operand::Order { number, instant })
        }
        _ => Ok(Operand::Text {
            lower: text.to_lowercase(),
            number: parse_num(&text),
            text,
        }),
    }
}

/// A number written as text: an integer, or a finite decimal.
pub(crate) fn parse_num(text: &str) -> Option<Num> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Num::Int(i));
    }
    // Only plain decimals: not "inf", "NaN" or "1e5" spelled oddly.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

/// A dateTime: RFC 3339, or a date `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    let date = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
}

fn clause_text(path: &str, op: Operator, value: Option<&Value>) -> String {
    match value {
        None => format!("{path} {op}"),
        Some(v) => format!("{path} {op} {}", super::explain::show(v)),
    }
}
