//! The operators a scoping clause may use, by their exact names.

use std::fmt;

/// A scoping filter operator.
///
/// The names are Entra's, exactly as its portal and Graph API spell them (`EQUALS`,
/// `NOT EQUALS`, `&`, `!&`, `ENDS_WITH`, `Includes`, `IS TRUE`, `IS FALSE`, `IS NULL`,
/// `IS NOT NULL`, `REGEX MATCH`, `NOT REGEX MATCH`, `Greater_Than`, `Greater_Than_OR_EQUALS`),
/// plus idflow's extensions: `Less_Than`, `Less_Than_OR_EQUALS`, `STARTS_WITH`, the
/// case-insensitive variants `EQUALS_IGNORE_CASE`, `NOT_EQUALS_IGNORE_CASE`,
/// `STARTS_WITH_IGNORE_CASE`, `ENDS_WITH_IGNORE_CASE`, `Includes_IGNORE_CASE`, and Cloud
/// Sync's scopes `MEMBER_OF_ANY` (the attribute holds group ids; the value is one id or an
/// array) and `UNDER_OU` (the attribute holds the object's distinguished name; the value is
/// one OU DN or an array). Names are matched exactly (case-sensitive), as Entra does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operator {
    /// `EQUALS`: exact, case-sensitive match.
    Equals,
    /// `NOT EQUALS`: not an exact (case-sensitive) match.
    NotEquals,
    /// `EQUALS_IGNORE_CASE` (idflow): match ignoring case.
    EqualsIgnoreCase,
    /// `NOT_EQUALS_IGNORE_CASE` (idflow): no match ignoring case.
    NotEqualsIgnoreCase,
    /// `&`: the attribute's value occurs inside the clause's value (substring of it).
    ContainedIn,
    /// `!&`: negation of `&`.
    NotContainedIn,
    /// `Includes`: the attribute contains the clause's value (case-sensitive).
    Includes,
    /// `Includes_IGNORE_CASE` (idflow): contains, ignoring case.
    IncludesIgnoreCase,
    /// `STARTS_WITH` (idflow).
    StartsWith,
    /// `STARTS_WITH_IGNORE_CASE` (idflow).
    StartsWithIgnoreCase,
    /// `ENDS_WITH`.
    EndsWith,
    /// `ENDS_WITH_IGNORE_CASE` (idflow).
    EndsWithIgnoreCase,
    /// `IS TRUE`: the attribute is boolean true (or the string `"true"`, any case).
    IsTrue,
    /// `IS FALSE`: the attribute is boolean false (or the string `"false"`, any case).
    IsFalse,
    /// `IS NULL`: the attribute is missing, null, `""` or `[]`.
    IsNull,
    /// `IS NOT NULL`: the attribute has a non-empty value.
    IsNotNull,
    /// `REGEX MATCH`: the regex matches somewhere in the value (.NET `Regex.IsMatch`).
    RegexMatch,
    /// `NOT REGEX MATCH`: the regex matches nowhere; false on an empty value.
    NotRegexMatch,
    /// `Greater_Than`: numbers (integers, as Entra; decimals too) or dateTime instants.
    GreaterThan,
    /// `Greater_Than_OR_EQUALS`.
    GreaterThanOrEquals,
    /// `Less_Than` (idflow).
    LessThan,
    /// `Less_Than_OR_EQUALS` (idflow).
    LessThanOrEquals,
    /// `MEMBER_OF_ANY` (idflow, Cloud Sync's group scope): one of the attribute's group ids
    /// is one of the selected groups (ids compared ignoring ASCII case).
    MemberOfAny,
    /// `UNDER_OU` (idflow, Cloud Sync's OU scope): the attribute's DN is one of the selected
    /// OUs or below one (a DN suffix match, see [`crate::filter::dn`]).
    UnderOu,
}

const NAMES: &[(Operator, &str)] = &[
    (Operator::Equals, "EQUALS"),
    (Operator::NotEquals, "NOT EQUALS"),
    (Operator::EqualsIgnoreCase, "EQUALS_IGNORE_CASE"),
    (Operator::NotEqualsIgnoreCase, "NOT_EQUALS_IGNORE_CASE"),
    (Operator::ContainedIn, "&"),
    (Operator::NotContainedIn, "!&"),
    (Operator::Includes, "Includes"),
    (Operator::IncludesIgnoreCase, "Includes_IGNORE_CASE"),
    (Operator::StartsWith, "STARTS_WITH"),
    (Operator::StartsWithIgnoreCase, "STARTS_WITH_IGNORE_CASE"),
    (Operator::EndsWith, "ENDS_WITH"),
    (Operator::EndsWithIgnoreCase, "ENDS_WITH_IGNORE_CASE"),
    (Operator::IsTrue, "IS TRUE"),
    (Operator::IsFalse, "IS FALSE"),
    (Operator::IsNull, "IS NULL"),
    (Operator::IsNotNull, "IS NOT NULL"),
    (Operator::RegexMatch, "REGEX MATCH"),
    (Operator::NotRegexMatch, "NOT REGEX MATCH"),
    (Operator::GreaterThan, "Greater_Than"),
    (Operator::GreaterThanOrEquals, "Greater_Than_OR_EQUALS"),
    (Operator::LessThan, "Less_Than"),
    (Operator::LessThanOrEquals, "Less_Than_OR_EQUALS"),
    (Operator::MemberOfAny, "MEMBER_OF_ANY"),
    (Operator::UnderOu, "UNDER_OU"),
];

impl Operator {
    /// Every operator, in documentation order.
    pub fn all() -> impl Iterator<Item = Operator> {
        NAMES.iter().map(|(op, _)| *op)
    }

    /// The operator named exactly `name`, if any.
    pub fn from_name(name: &str) -> Option<Operator> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(op, _)| *op)
    }

    /// The operator's name as written in a filter.
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("?", |(_, n)| *n)
    }

    /// Whether the operator takes no value (`IS TRUE`, `IS FALSE`, `IS NULL`, `IS NOT NULL`).
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull
        )
    }

    /// Whether the operator takes a set of values (`MEMBER_OF_ANY`, `UNDER_OU`).
    pub fn takes_set(self) -> bool {
        matches!(self, Operator::MemberOfAny | Operator::UnderOu)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operator::all() {
            assert_eq!(Operator::from_name(op.as_str()), Some(op));
        }
        assert_eq!(Operator::from_name("equals"), None);
        assert_eq!(Operator::from_name("NOT  EQUALS"), None);
    }
}
