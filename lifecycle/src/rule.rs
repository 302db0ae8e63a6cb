//! Entra's execution-scope rule syntax (`ruleBasedSubjectSet.rule`, an OData `$filter`
//! subset), compiled to a scoping filter of the scoping crate.
//!
//! Supported: `attr eq value`, `attr ne value`, `attr in ('a', 'b')`, `startsWith(attr,
//! 'prefix')`, `not`, `and`, `or` (`and` binds tighter), parentheses, and `any` over a
//! multi-valued attribute: `otherMails/any(m: m eq 'a@x')`,
//! `proxyAddresses/any(p: startsWith(p, 'smtp:'))`, `assignedPlans/any(x: x/servicePlanId eq
//! 'g')`. Values are `'strings'` (with `''` for a quote), `true`, `false`, `null` and numbers.
//! Attribute names are Graph's, resolved through the [`AliasTable`]; `a/b` reads the SCIM
//! path `a.b`.
//!
//! Evaluation is case-sensitive, as Entra's. The result is a [`ScopingFilter`] in disjunctive
//! form: `not` is pushed onto the comparisons (`not (a eq 'x')` is `a NOT EQUALS 'x'`), `in` is
//! an anchored `REGEX MATCH`, a negated `startsWith` a `NOT REGEX MATCH`. One departure from
//! Graph follows from the scoping crate's rule that every comparison but `IS NULL` is false on
//! an empty attribute: `department ne 'Sales'` does not hold for a user without a department
//! (write `or (department eq null)` to take them in).

use scoping::ScopingFilter;
use scoping::filter::{Clause, MultivaluedComparison};
use serde_json::Value;

use crate::attributes::AliasTable;

/// The most groups a rule may expand to (its disjunctive form); more is refused as too complex.
const MAX_GROUPS: usize = 256;

/// A parsed rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rule {
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
    Not(Box<Rule>),
    Cmp(Cmp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    StartsWith,
    NotStartsWith,
}

impl Op {
    fn negate(self) -> Op {
        match self {
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
            Op::In => Op::NotIn,
            Op::NotIn => Op::In,
            Op::StartsWith => Op::NotStartsWith,
            Op::NotStartsWith => Op::StartsWith,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cmp {
    attribute: String,
    op: Op,
    values: Vec<Value>,
    /// `Some(true)`: any element (`x/any(...)`); `Some(false)`: every element (a negated any).
    any: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(serde_json::Number),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            ':' => {
                out.push((start, Tok::Colon));
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string at {start}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            c if c.is_ascii_digit()
                || c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
            {
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.')
                {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let n: serde_json::Number = s
                    .parse()
                    .map_err(|_| format!("bad number {s:?} at {start}"))?;
                out.push((start, Tok::Num(n)));
            }
            c if c.is_alphanumeric() || c == '_' => {
                // A URN path keeps its colons: urn:…:User:HireDate.
                let urn = chars[i..]
                    .iter()
                    .take(4)
                    .collect::<String>()
                    .eq_ignore_ascii_case("urn:");
                while chars.get(i).is_some_and(|c| {
                    c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-') || (urn && *c == ':')
                }) {
                    i += 1;
                }
                out.push((start, Tok::Ident(chars[start..i].iter().collect())));
            }
            other => return Err(format!("unexpected {other:?} at {start}")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 32;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(p, _)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), String> {
        let at = self.at();
        match self.next() {
            Some(t) if t == tok => Ok(()),
            Some(t) => Err(format!("expected {what} at {at}, found {}", show(&t))),
            None => Err(format!("expected {what} at the end")),
        }
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Rule, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} deep"));
        }
        let r = if self.keyword("not") {
            self.pos += 1;
            Rule::Not(Box::new(self.unary()?))
        } else if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Tok::RParen, "')'")?;
            inner
        } else {
            self.comparison()?
        };
        self.depth -= 1;
        Ok(r)
    }

    fn literal(&mut self) -> Result<Value, String> {
        let at = self.at();
        match self.next() {
            Some(Tok::Str(s)) => Ok(Value::String(s)),
            Some(Tok::Num(n)) => Ok(Value::Number(n)),
            Some(Tok::Ident(w)) if w == "true" => Ok(Value::Bool(true)),
            Some(Tok::Ident(w)) if w == "false" => Ok(Value::Bool(false)),
            Some(Tok::Ident(w)) if w == "null" => Ok(Value::Null),
            Some(t) => Err(format!(
                "expected a value ('text', true, false, null or a number) at {at}, found {}",
                show(&t)
            )),
            None => Err("expected a value at the end".to_owned()),
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, String> {
        let at = self.at();
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            Some(t) => Err(format!("expected {what} at {at}, found {}", show(&t))),
            None => Err(format!("expected {what} at the end")),
        }
    }

    /// `startsWith(attr, 'x')`, `attr eq v`, `attr ne v`, `attr in (…)`, `attr/any(x: …)`.
    fn comparison(&mut self) -> Result<Rule, String> {
        let at = self.at();
        let name = self.ident("an attribute name or startsWith")?;
        if name.eq_ignore_ascii_case("startsWith") && self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let attribute = self.ident("an attribute name")?;
            self.expect(Tok::Comma, "','")?;
            let value = self.literal()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(Rule::Cmp(Cmp {
                attribute,
                op: Op::StartsWith,
                values: vec![value],
                any: None,
            }));
        }
        if let Some(attr) = strip_suffix_ci(&name, "/any") {
            self.expect(Tok::LParen, "'(' after any")?;
            let var = self.ident("a lambda variable")?;
            self.expect(Tok::Colon, "':'")?;
            let inner = self.comparison()?;
            self.expect(Tok::RParen, "')' closing any(")?;
            let Rule::Cmp(mut cmp) = inner else {
                return Err(format!("any( at {at}: expected one comparison"));
            };
            cmp.attribute = if cmp.attribute == var {
                attr.to_owned()
            } else if let Some(sub) = cmp.attribute.strip_prefix(&format!("{var}/")) {
                format!("{attr}/{sub}")
            } else {
                return Err(format!(
                    "any( at {at}: the comparison must read the variable {var:?}, not {:?}",
                    cmp.attribute
                ));
            };
            cmp.any = Some(true);
            return Ok(Rule::Cmp(cmp));
        }
        let op_at = self.at();
        let op = self.ident("eq, ne or in")?;
        match op.as_str() {
            "eq" | "ne" => {
                let value = self.literal()?;
                Ok(Rule::Cmp(Cmp {
                    attribute: name,
                    op: if op == "eq" { Op::Eq } else { Op::Ne },
                    values: vec![value],
                    any: None,
                }))
            }
            "in" => {
                self.expect(Tok::LParen, "'(' after in")?;
                let mut values = vec![self.literal()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    values.push(self.literal()?);
                }
                self.expect(Tok::RParen, "')' closing in (")?;
                Ok(Rule::Cmp(Cmp {
                    attribute: name,
                    op: Op::In,
                    values,
                    any: None,
                }))
            }
            other => Err(format!(
                "unsupported operator {other:?} at {op_at} (supported: eq, ne, in, startsWith, any, not, and, or)"
            )),
        }
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("{s:?}"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => n.to_string(),
        Tok::LParen => "'('".to_owned(),
        Tok::RParen => "')'".to_owned(),
        Tok::Comma => "','".to_owned(),
        Tok::Colon => "':'".to_owned(),
    }
}

/// Parses a rule; `None` for an empty rule (every user).
pub(crate) fn parse(text: &str) -> Result<Option<Rule>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() > 8192 {
        return Err("longer than 8192 characters".to_owned());
    }
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let rule = p.or()?;
    if let Some(t) = p.peek() {
        return Err(format!(
            "unexpected {} at {} (missing and/or?)",
            show(t),
            p.at()
        ));
    }
    Ok(Some(rule))
}

/// Compiles a rule to a scoping filter, resolving attribute names through `aliases`.
///
/// # Errors
///
/// A message (with a position) when the rule cannot be read, or is too complex.
pub fn compile(text: &str, aliases: &AliasTable) -> Result<ScopingFilter, String> {
    let Some(rule) = parse(text)? else {
        return Ok(ScopingFilter::default());
    };
    let groups = dnf(&rule, false, aliases)?;
    Ok(ScopingFilter::new(groups))
}

/// The rule in disjunctive form (groups of clauses), with `negate` applied.
fn dnf(rule: &Rule, negate: bool, aliases: &AliasTable) -> Result<Vec<Vec<Clause>>, String> {
    match (rule, negate) {
        (Rule::Not(inner), n) => dnf(inner, !n, aliases),
        (Rule::Or(a, b), false) | (Rule::And(a, b), true) => {
            let mut groups = dnf(a, negate, aliases)?;
            groups.extend(dnf(b, negate, aliases)?);
            check_size(groups.len())?;
            Ok(groups)
        }
        (Rule::And(a, b), false) | (Rule::Or(a, b), true) => {
            let left = dnf(a, negate, aliases)?;
            let right = dnf(b, negate, aliases)?;
            check_size(left.len().saturating_mul(right.len()))?;
            let mut groups = Vec::with_capacity(left.len() * right.len());
            for l in &left {
                for r in &right {
                    let mut g = l.clone();
                    g.extend(r.iter().cloned());
                    groups.push(g);
                }
            }
            Ok(groups)
        }
        (Rule::Cmp(cmp), n) => Ok(vec![vec![clause(cmp, n, aliases)]]),
    }
}

fn check_size(n: usize) -> Result<(), String> {
    if n > MAX_GROUPS {
        Err(format!(
            "too complex: it expands to more than {MAX_GROUPS} alternatives"
        ))
    } else {
        Ok(())
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn clause(cmp: &Cmp, negate: bool, aliases: &AliasTable) -> Clause {
    let op = if negate { cmp.op.negate() } else { cmp.op };
    let path = aliases.resolve(&cmp.attribute).replace('/', ".");
    let first = cmp.values.first().cloned().unwrap_or(Value::Null);
    let text = |v: &Value| crate::attributes::text(v).unwrap_or_default();
    let c = match op {
        Op::Eq if first.is_null() => Clause::unary(path, "IS NULL"),
        Op::Ne if first.is_null() => Clause::unary(path, "IS NOT NULL"),
        Op::Eq => Clause::new(path, "EQUALS", first),
        Op::Ne => Clause::new(path, "NOT EQUALS", first),
        Op::In | Op::NotIn if cmp.values.len() == 1 => Clause::new(
            path,
            if op == Op::In { "EQUALS" } else { "NOT EQUALS" },
            first,
        ),
        Op::In | Op::NotIn => {
            let alts: Vec<String> = cmp.values.iter().map(|v| regex_escape(&text(v))).collect();
            Clause::new(
                path,
                if op == Op::In {
                    "REGEX MATCH"
                } else {
                    "NOT REGEX MATCH"
                },
                format!("^(?:{})$", alts.join("|")),
            )
        }
        Op::StartsWith => Clause::new(path, "STARTS_WITH", text(&first)),
        Op::NotStartsWith => Clause::new(
            path,
            "NOT REGEX MATCH",
            format!("^{}", regex_escape(&text(&first))),
        ),
    };
    match cmp.any {
        // not (x/any(...)) is: every element fails the comparison.
        Some(any) => c.with_multivalued(if any != negate {
            MultivaluedComparison::Any
        } else {
            MultivaluedComparison::All
        }),
        None => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_model::Resource;
    use serde_json::json;

    fn matches(rule: &str, user: Value) -> bool {
        let filter = compile(rule, &AliasTable::default()).unwrap();
        let compiled = filter.compile().unwrap();
        compiled.matches(&Resource::from_value(user).unwrap())
    }

    fn user(dept: &str, active: bool) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", crate::attributes::ENTERPRISE],
               "userName": "u", "active": active,
               "emails": [{"value": "a@contoso.com"}, {"value": "b@fabrikam.com"}],
               crate::attributes::ENTERPRISE: {"department": dept}})
    }

    #[test]
    fn entra_examples() {
        assert!(matches(
            "(department eq 'Marketing')",
            user("Marketing", true)
        ));
        assert!(!matches(
            "(department eq 'Marketing')",
            user("marketing", true)
        ));
        assert!(matches("(department ne 'Marketing')", user("Sales", true)));
        assert!(matches(
            "(department in ('Marketing'))",
            user("Marketing", true)
        ));
        assert!(matches("(accountEnabled eq true)", user("x", true)));
        assert!(!matches("(accountEnabled eq true)", user("x", false)));
        let both = "(department eq 'Marketing') and (accountEnabled eq true)";
        assert!(matches(both, user("Marketing", true)));
        assert!(!matches(both, user("Marketing", false)));
    }

    #[test]
    fn in_not_startswith_any() {
        let r = "department in ('Sales', 'R&D (EU)') and not (startsWith(department, 'R&D (US'))";
        assert!(matches(r, user("R&D (EU)", true)));
        assert!(matches(r, user("Sales", true)));
        assert!(!matches(r, user("Support", true)));
        assert!(matches(
            "not (department in ('Sales', 'HR'))",
            user("Ops", true)
        ));
        assert!(matches(
            "emails/any(m: m/value eq 'b@fabrikam.com')",
            user("x", true)
        ));
        assert!(matches(
            "emails/any(m: startsWith(m/value, 'a@'))",
            user("x", true)
        ));
        assert!(!matches(
            "not emails/any(m: startsWith(m/value, 'a@'))",
            user("x", true)
        ));
        assert!(matches(
            "(department eq 'Sales') or (department eq 'Ops') and (accountEnabled eq false)",
            user("Sales", true)
        ));
    }

    #[test]
    fn errors_say_where() {
        for (bad, want) in [
            ("(department eq 'x'", "')'"),
            ("department gt 'x'", "unsupported operator"),
            ("department eq", "expected a value"),
            ("department eq 'x' accountEnabled eq true", "missing and/or"),
            ("department eq 'x", "unterminated"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        assert_eq!(parse("  ").unwrap(), None);
    }
}
