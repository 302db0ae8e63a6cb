//! SCIM filters (RFC 7644 §3.4.2.2): the AST, its parser, its canonical printed form and its
//! evaluation against a [`Resource`](crate::Resource).
//!
//! ```
//! use scim_model::Filter;
//!
//! let f: Filter = r#"emails[type eq "work" and value co "@example.com"] or userName Eq "bjensen""#
//!     .parse()
//!     .unwrap();
//! // Printing gives the canonical form: lower-case operators, JSON literals.
//! assert_eq!(
//!     f.to_string(),
//!     r#"emails[type eq "work" and value co "@example.com"] or userName eq "bjensen""#
//! );
//! ```

pub(crate) mod eval;
pub(crate) mod parser;
mod print;

use std::fmt;
use std::str::FromStr;

pub use eval::CompiledFilter;

use crate::{AttributePath, Error, Limits, Result};

/// A comparison operator of RFC 7644 Table 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal to.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal to.
    Le,
}

impl CompareOp {
    /// The operator as printed: `eq`, `ne`, `co`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Reads an operator case-insensitively (`Eq`, `EQ` and `eq` are all `eq`).
    pub fn from_name(s: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether this is an ordering operator (`gt`, `ge`, `lt`, `le`).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: the JSON literals RFC 7644's `compValue` allows.
///
/// A dateTime is written as a string; whether it compares as an instant is decided by the
/// attribute's schema type at evaluation time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number, kept exactly as parsed.
    Number(serde_json::Number),
    /// A JSON string (escapes decoded).
    String(String),
}

impl CompValue {
    /// The value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CompValue::Null => serde_json::Value::Null,
            CompValue::Bool(b) => serde_json::Value::Bool(*b),
            CompValue::Number(n) => serde_json::Value::Number(n.clone()),
            CompValue::String(s) => serde_json::Value::String(s.clone()),
        }
    }
}

/// A parsed SCIM filter.
///
/// `and` binds tighter than `or`, `not` applies to a parenthesised filter, and a value path
/// `attr[filter]` tests the elements of a multi-valued complex attribute.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `path op value`, e.g. `userName eq "bjensen"`.
    ///
    /// The path may carry a value filter and a sub-attribute (`emails[type eq "work"].value eq
    /// "x"`), a form RFC 7644's grammar lacks but Entra sends when it checks uniqueness.
    Compare {
        /// The attribute compared.
        path: AttributePath,
        /// The operator.
        op: CompareOp,
        /// The literal compared with.
        value: CompValue,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttributePath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `path[filter]`: some element of the multi-valued attribute at `path` matches `filter`,
    /// whose paths are relative to the element.
    ValuePath {
        /// The multi-valued attribute (without a filter of its own).
        path: AttributePath,
        /// The filter each element is tested against.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses a filter with the default [`Limits`] (8 KiB, depth 64).
    pub fn parse(input: &str) -> Result<Filter> {
        Self::parse_with(input, &Limits::DEFAULT)
    }

    /// Parses a filter with the given limits.
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Filter> {
        parser::parse_filter(input, limits)
    }

    /// `a and b`.
    pub fn and(self, other: Filter) -> Filter {
        Filter::And(Box::new(self), Box::new(other))
    }

    /// `a or b`.
    pub fn or(self, other: Filter) -> Filter {
        Filter::Or(Box::new(self), Box::new(other))
    }

    /// `not (a)`.
    pub fn negate(self) -> Filter {
        Filter::Not(Box::new(self))
    }
}

impl FromStr for Filter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Filter::parse(s)
    }
}
