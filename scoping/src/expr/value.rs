//! Values an expression produces.

use std::borrow::Cow;
use std::fmt::{self, Display, Formatter};

use serde_json::{Map, Value};

/// The value of an expression or of one of its parts.
///
/// Entra treats nearly everything as a string; so does idflow, with a few typed values where a
/// function produces one: booleans (`IsPresent`, comparisons, `CBool`), integers (`InStr`,
/// `Count`, `BitAnd`, `NumFromDate`, number constants), multi-valued results (`Split`,
/// multi-valued attributes). Dates are strings: `CDate`, `DateAdd`, `DateFromNum` and `Now`
/// render them `M/d/yyyy h:mm:ss tt` in UTC, and every date argument is parsed from a string.
/// A typed value turns into text where text is needed: `True`/`False`, decimal digits.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ExprValue {
    /// No value: an absent attribute, an omitted argument, JSON `null`.
    Null,
    /// A string.
    String(String),
    /// A boolean; as text `True` or `False`.
    Bool(bool),
    /// An integer.
    Number(i64),
    /// A complex value (an object of a multi-valued attribute, a role of
    /// `AppRoleAssignmentsComplex`); as text, its compact JSON.
    Object(Map<String, Value>),
    /// The values of a multi-valued attribute or result, in order.
    Multi(Vec<ExprValue>),
    /// Produced by `IgnoreFlowIfNullOrEmpty` at the top of an expression when its argument is
    /// null or empty: the target attribute must be left out of the flow (neither set nor
    /// cleared). Inside another function it reads as [`ExprValue::Null`].
    IgnoreFlow,
    /// The value was produced through `Redact`: it flows to the target, but logs must show
    /// the literal `[Redact]` instead (see [`ExprValue::log_text`]). Only ever at the top.
    Redacted(Box<ExprValue>),
}

impl ExprValue {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        ExprValue::String(s.into())
    }

    /// The value from a JSON value (`null` → Null, arrays → Multi, numbers that are not
    /// 64-bit integers → their decimal text).
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Null => ExprValue::Null,
            Value::Bool(b) => ExprValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => ExprValue::Number(i),
                None => ExprValue::String(n.to_string()),
            },
            Value::String(s) => ExprValue::String(s.clone()),
            Value::Array(items) => {
                ExprValue::Multi(items.iter().map(ExprValue::from_json).collect())
            }
            Value::Object(m) => ExprValue::Object(m.clone()),
        }
    }

    /// [`ExprValue::to_json`], consuming the value (strings and objects are moved, not
    /// copied).
    pub(crate) fn into_json(self) -> Value {
        match self {
            ExprValue::Null | ExprValue::IgnoreFlow => Value::Null,
            ExprValue::String(s) => Value::String(s),
            ExprValue::Bool(b) => Value::Bool(b),
            ExprValue::Number(n) => Value::from(n),
            ExprValue::Object(m) => Value::Object(m),
            ExprValue::Multi(items) => {
                Value::Array(items.into_iter().map(ExprValue::into_json).collect())
            }
            ExprValue::Redacted(inner) => inner.into_json(),
        }
    }

    /// The value as JSON: Null and IgnoreFlow → `null`, Multi → an array, Redacted → the
    /// value itself.
    pub fn to_json(&self) -> Value {
        match self {
            ExprValue::Null | ExprValue::IgnoreFlow => Value::Null,
            ExprValue::String(s) => Value::String(s.clone()),
            ExprValue::Bool(b) => Value::Bool(*b),
            ExprValue::Number(n) => Value::from(*n),
            ExprValue::Object(m) => Value::Object(m.clone()),
            ExprValue::Multi(items) => Value::Array(items.iter().map(ExprValue::to_json).collect()),
            ExprValue::Redacted(inner) => inner.to_json(),
        }
    }

    /// Whether this is no value, an empty string or an empty multi-valued result.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            ExprValue::Null | ExprValue::IgnoreFlow => true,
            ExprValue::String(s) => s.is_empty(),
            ExprValue::Multi(items) => items.iter().all(ExprValue::is_null_or_empty),
            ExprValue::Redacted(inner) => inner.is_null_or_empty(),
            _ => false,
        }
    }

    /// Whether the target attribute must be left out of the flow (`IgnoreFlowIfNullOrEmpty`).
    pub fn is_ignore_flow(&self) -> bool {
        matches!(self, ExprValue::IgnoreFlow)
    }

    /// Whether the value must be shown as `[Redact]` in logs.
    pub fn is_redacted(&self) -> bool {
        matches!(self, ExprValue::Redacted(_))
    }

    /// The value without its `Redacted` wrapper.
    pub fn unredacted(&self) -> &ExprValue {
        match self {
            ExprValue::Redacted(inner) => inner,
            other => other,
        }
    }

    /// The text for a log: `[Redact]` for a redacted value, else [`Display`]'s text.
    pub fn log_text(&self) -> String {
        match self {
            ExprValue::Redacted(_) => "[Redact]".to_owned(),
            other => other.to_string(),
        }
    }

    /// The value as text: Null → `""`, booleans `True`/`False`, numbers in decimal, objects
    /// as JSON, a multi-valued value → its values joined with `,`.
    pub fn to_text(&self) -> String {
        self.text().into_owned()
    }

    /// [`ExprValue::to_text`], borrowed where the text is already there (a string, a
    /// boolean, no value).
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            ExprValue::Null | ExprValue::IgnoreFlow => Cow::Borrowed(""),
            ExprValue::String(s) => Cow::Borrowed(s),
            ExprValue::Bool(true) => Cow::Borrowed("True"),
            ExprValue::Bool(false) => Cow::Borrowed("False"),
            ExprValue::Redacted(inner) => inner.text(),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl Display for ExprValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ExprValue::Null | ExprValue::IgnoreFlow => Ok(()),
            ExprValue::String(s) => f.write_str(s),
            ExprValue::Bool(true) => f.write_str("True"),
            ExprValue::Bool(false) => f.write_str("False"),
            ExprValue::Number(n) => write!(f, "{n}"),
            ExprValue::Object(m) => write!(f, "{}", Value::Object(m.clone())),
            ExprValue::Multi(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
            ExprValue::Redacted(inner) => write!(f, "{inner}"),
        }
    }
}

impl From<&str> for ExprValue {
    fn from(s: &str) -> Self {
        ExprValue::String(s.to_owned())
    }
}

impl From<String> for ExprValue {
    fn from(s: String) -> Self {
        ExprValue::String(s)
    }
}
