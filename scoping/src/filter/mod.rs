//! Scoping filters: which objects a sync job touches.
//!
//! A filter is a list of *groups*; a group is a list of *clauses*. An object is in scope when
//! every clause of at least one group holds (groups OR, clauses AND); a filter with no groups
//! puts everything in scope. The JSON shape is Entra's, as `idflow scope --rules` reads it:
//!
//! ```json
//! [[{"sourceAttribute": "department", "operator": "EQUALS", "value": "Sales"},
//!   {"sourceAttribute": "active", "operator": "IS TRUE"}],
//!  [{"sourceAttribute": "emails.value", "operator": "ENDS_WITH", "value": "@contoso.com",
//!    "multivaluedComparisonType": "Any"}]]
//! ```
//!
//! A [`ScopingFilter`] is the plain data; [`ScopingFilter::compile`] checks it (unknown
//! operator, bad regex, missing value, a value on a unary operator, bad path — each reported
//! with its group and clause index) and returns a [`CompiledScopingFilter`] that evaluates
//! many times without allocating ([`CompiledScopingFilter::matches`]) and explains itself
//! ([`CompiledScopingFilter::explain`]).
//!
//! # Semantics
//!
//! - **Source attributes** are SCIM attribute paths (`department`, `name.givenName`,
//!   `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`), read
//!   case-insensitively. A complex value read without a sub-attribute stands for its `value`
//!   sub-attribute (`groups` reads each `groups[].value`). In a value filter, strings compare
//!   ignoring case and `"True"` equals `true`.
//! - **Empty values.** Missing, `null`, `""`, `[]` and `{}` are empty. `IS NULL` holds on an
//!   empty attribute, `IS NOT NULL` on a non-empty one; every other operator is **false on an
//!   empty attribute** ("scoping filters return false if the value is null/empty"), the
//!   negative ones included: `NOT EQUALS`, `!&` and `NOT REGEX MATCH` fail on an empty value
//!   (Entra documents it for `NOT REGEX MATCH`; idflow applies the rule uniformly). Add a group
//!   with `IS NULL` to take objects without the attribute in.
//! - **Multi-valued attributes** (beyond Entra, which does not support them): with
//!   `"multivaluedComparisonType": "All"` (the default) every value must satisfy the clause,
//!   with `"Any"` at least one. A single value is a one-value list.
//! - **Case.** `EQUALS`, `NOT EQUALS`, `Includes`, `&`, `STARTS_WITH`, `ENDS_WITH` and the
//!   regex operators are case-sensitive, as Entra; the `_IGNORE_CASE` variants are not
//!   (see [`Operator`]). A regex can also say `(?i)`.
//! - **`&` / `!&`**: the attribute's value occurs inside the clause's value (`department &
//!   'Sales,Marketing'` holds for `Sales`), Entra's "the evaluated attribute exists in the
//!   input string value".
//! - **Regexes** are searched, not anchored (.NET `Regex.IsMatch`, as Entra): `([1-9][0-9])`
//!   matches `10`…`99` and also `100`; write `^…$` to anchor. They are built with the `regex`
//!   crate, whose matching time is linear in the input. An escaped punctuation character such
//!   as `\@` is accepted.
//! - **Ordering** (`Greater_Than`, `Greater_Than_OR_EQUALS`, `Less_Than`,
//!   `Less_Than_OR_EQUALS`): when the clause's value is a number (a JSON number or a numeric
//!   string), the attribute's value compares as a number (integers exactly, others as `f64`);
//!   when it is a dateTime (RFC 3339, or a date `YYYY-MM-DD` taken as midnight UTC), the
//!   attribute compares as an instant. A value that is neither is rejected at load; an
//!   attribute value that does not read as the same kind fails the clause.
//! - **`IS TRUE` / `IS FALSE`** hold for JSON booleans and for the strings `"true"` / `"false"`
//!   in any case (Entra sends `"True"`).
//! - **Booleans and numbers** compare with text as Entra renders them: `EQUALS 'True'` holds
//!   for `true` (ignoring case), `EQUALS '42'` for `42`.
//!
//! # Cloud Sync scopes
//!
//! - `MEMBER_OF_ANY` (value: a group id or an array of them): the object is a member of any
//!   of the selected groups. Memberships are read from the clause's source attribute —
//!   typically `groups` (each `groups[].value`, the group ids SCIM puts on a user). A host
//!   that knows memberships elsewhere writes them into an attribute of the resource before
//!   scoping (for instance an extension attribute) and names it. Only direct memberships
//!   count (Cloud Sync does not follow nesting). Ids compare ignoring ASCII case.
//! - `UNDER_OU` (value: an OU's DN or an array of them): the object's DN is one of the OUs or
//!   below one. The DN is read from the clause's source attribute, which the filter names;
//!   idflow's convention is the extension attribute
//!   `urn:ietf:params:scim:schemas:extension:idflow:2.0:User:distinguishedName`. The match is
//!   correct about DN syntax (see [`dn`]).
//!
//! Neither scope uses `multivaluedComparisonType`: one matching value suffices.

mod compile;
pub mod dn;
mod eval;
mod explain;
mod operator;

use serde::{Deserialize, Serialize};

pub use compile::CompiledScopingFilter;
pub use explain::{Explanation, GroupOutcome};
pub use operator::Operator;

use crate::{Error, Result};

/// A scoping filter as configured: groups of clauses (plain data, serde).
///
/// Serialises as a JSON array of arrays of [`Clause`]s.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
#[non_exhaustive]
pub struct ScopingFilter {
    /// The groups; an object is in scope when all clauses of any group hold.
    pub groups: Vec<Vec<Clause>>,
}

impl ScopingFilter {
    /// A filter from its groups.
    pub fn new(groups: Vec<Vec<Clause>>) -> Self {
        ScopingFilter { groups }
    }

    /// Reads a filter from JSON (an array of arrays of clauses), without checking it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] when the text is not of that shape.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::InvalidJson {
            what: "scoping filter",
            message: e.to_string(),
        })
    }

    /// Checks and compiles the filter for evaluation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidClause`] with the group and clause index of the first clause that has an
    /// unknown operator, a bad path, a bad regex, a missing value or a value on a unary operator.
    pub fn compile(&self) -> Result<CompiledScopingFilter> {
        CompiledScopingFilter::new(self)
    }
}

/// One clause: `{"sourceAttribute": …, "operator": …, "value": …, "multivaluedComparisonType": …}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Clause {
    /// The attribute path the clause reads.
    pub source_attribute: String,
    /// The operator's name (see [`Operator`]); checked by [`ScopingFilter::compile`].
    pub operator: String,
    /// The value compared with; absent for unary operators. A string, number or boolean, or for
    /// `MEMBER_OF_ANY` / `UNDER_OU` also an array of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// How a multi-valued attribute is compared (default `All`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivalued_comparison_type: Option<MultivaluedComparison>,
}

impl Clause {
    /// A clause with a value.
    pub fn new(
        source_attribute: impl Into<String>,
        operator: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        Clause {
            source_attribute: source_attribute.into(),
            operator: operator.into(),
            value: Some(value.into()),
            multivalued_comparison_type: None,
        }
    }

    /// A clause without a value (`IS NULL`, `IS TRUE`, …).
    pub fn unary(source_attribute: impl Into<String>, operator: impl Into<String>) -> Self {
        Clause {
            source_attribute: source_attribute.into(),
            operator: operator.into(),
            value: None,
            multivalued_comparison_type: None,
        }
    }

    /// Sets how a multi-valued attribute is compared.
    #[must_use]
    pub fn with_multivalued(mut self, mode: MultivaluedComparison) -> Self {
        self.multivalued_comparison_type = Some(mode);
        self
    }
}

/// The Graph model's `multivaluedComparisonType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MultivaluedComparison {
    /// Every value must satisfy the clause (the default).
    #[default]
    All,
    /// At least one value must satisfy the clause.
    Any,
}
