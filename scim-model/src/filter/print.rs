//! The canonical printed form of filters.
//!
//! - paths as written (URN, name, `[filter]`, `.sub`), operators and keywords in lower case;
//! - values as JSON literals: strings JSON-escaped (`"a\"b"`), numbers as `serde_json` prints
//!   them, `true`, `false`, `null`;
//! - `not (f)`, value paths as `emails[type eq "work"]`;
//! - parentheses only where the tree needs them: an `or` inside an `and`, and a right operand
//!   of the same operator (`a and (b and c)`), since chains nest left-to-right. An `and` inside
//!   an `or` needs none (`a or b and c`), nor does a left-nested chain (`a or b or c`).
//!
//! So `parse(print(f)) == f` for every tree the parser can produce.

use std::fmt;

use super::{CompValue, Filter};

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(left, right) => {
                write_operand(f, left, matches!(**left, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(
                    f,
                    right,
                    matches!(**right, Filter::Or(..) | Filter::And(..)),
                )
            }
            Filter::Or(left, right) => {
                write_operand(f, left, false)?;
                f.write_str(" or ")?;
                write_operand(f, right, matches!(**right, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{AttributePath, CompValue, CompareOp, Filter};

    fn eq(name: &str, v: &str) -> Filter {
        Filter::Compare {
            path: AttributePath::new(name),
            op: CompareOp::Eq,
            value: CompValue::String(v.to_owned()),
        }
    }

    fn pr(name: &str) -> Filter {
        Filter::Present(AttributePath::new(name))
    }

    #[test]
    fn parentheses_only_where_the_tree_needs_them() {
        let (a, b, c) = (pr("a"), pr("b"), pr("c"));
        let cases = [
            (
                a.clone().and(b.clone()).and(c.clone()),
                "a pr and b pr and c pr",
            ),
            (
                a.clone().and(b.clone().and(c.clone())),
                "a pr and (b pr and c pr)",
            ),
            (
                a.clone().or(b.clone()).or(c.clone()),
                "a pr or b pr or c pr",
            ),
            (
                a.clone().or(b.clone().or(c.clone())),
                "a pr or (b pr or c pr)",
            ),
            (
                a.clone().or(b.clone().and(c.clone())),
                "a pr or b pr and c pr",
            ),
            (
                a.clone().and(b.clone()).or(c.clone()),
                "a pr and b pr or c pr",
            ),
            (
                a.clone().or(b.clone()).and(c.clone()),
                "(a pr or b pr) and c pr",
            ),
            (
                a.clone().and(b.clone().or(c.clone())),
                "a pr and (b pr or c pr)",
            ),
            (a.clone().or(b.clone()).negate(), "not (a pr or b pr)"),
            (a.clone().negate().and(b.clone()), "not (a pr) and b pr"),
        ];
        for (filter, printed) in cases {
            assert_eq!(filter.to_string(), printed);
            assert_eq!(Filter::parse(printed).unwrap(), filter, "{printed}");
        }
    }

    #[test]
    fn values_are_json_literals() {
        assert_eq!(eq("a", "x\"y\\z\n").to_string(), r#"a eq "x\"y\\z\n""#);
        assert_eq!(eq("a", "é😀").to_string(), "a eq \"é😀\"");
        let n = Filter::Compare {
            path: AttributePath::new("n"),
            op: CompareOp::Ge,
            value: CompValue::Number(serde_json::Number::from_f64(-0.051).unwrap()),
        };
        assert_eq!(n.to_string(), "n ge -0.051");
        let b = Filter::Compare {
            path: AttributePath::new("b"),
            op: CompareOp::Ne,
            value: CompValue::Null,
        };
        assert_eq!(b.to_string(), "b ne null");
    }

    #[test]
    fn value_paths_and_qualified_paths() {
        let vp = Filter::ValuePath {
            path: AttributePath::new("emails"),
            filter: Box::new(eq("type", "work").and(pr("value"))),
        };
        assert_eq!(vp.to_string(), r#"emails[type eq "work" and value pr]"#);
        let p = AttributePath::new("manager")
            .with_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .with_sub_attribute("value");
        assert_eq!(
            Filter::Present(p).to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"
        );
        let entra = Filter::Compare {
            path: AttributePath::new("emails")
                .with_filter(eq("type", "work"))
                .with_sub_attribute("value"),
            op: CompareOp::Eq,
            value: CompValue::String("x".to_owned()),
        };
        assert_eq!(entra.to_string(), r#"emails[type eq "work"].value eq "x""#);
    }
}
