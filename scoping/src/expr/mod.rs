//! Entra's attribute-mapping expression language: parse once, evaluate many times.
//!
//! ```
//! use scoping::expr::{EvalContext, Expression, ExprValue};
//! use scim_model::Resource;
//!
//! let expr = Expression::parse(r#"Append([userPrincipalName], ".test")"#).unwrap();
//! let mut user = Resource::new(["urn:ietf:params:scim:schemas:core:2.0:User"]);
//! user.set("userPrincipalName", "John.Doe@contoso.com".into());
//! let now = chrono::DateTime::UNIX_EPOCH;
//! let value = expr.evaluate(&user, &EvalContext::new(now)).unwrap();
//! assert_eq!(value, ExprValue::from("John.Doe@contoso.com.test"));
//! ```
//!
//! # Syntax
//!
//! Function calls `Name(arg, …)` (names are case-sensitive, as in Entra: `append(…)` is an
//! error that suggests `Append`), attributes `[name]`, `[urn:…:User:HireDate]`,
//! `[manager.value]`, `[emails[type eq "work"].value]` (resolved case-insensitively on the
//! source resource), strings `"…"` with `\"` and `\\` escapes (any other backslash is kept, so
//! regex patterns can be written either way), integers (`7`, `-1`, `&HF`), the names
//! `vbBinaryCompare`, `vbTextCompare`, `True`, `False`, comparisons `= <> > >= < <=`, string
//! concatenation `&` (binds tighter than comparisons) and parentheses. Omitted optional
//! arguments are left empty between commas. Limits: 10,000 characters and 64 levels of
//! nesting; both are errors, never a stack overflow. Errors give the character position
//! (0-based) and what was expected.
//!
//! # Semantics
//!
//! See [`ExprValue`] for values. Where Entra is weak, idflow does better:
//! - `IIF`: an absent or empty attribute in a condition compares as `""` (so
//!   `IIF([country]="", …)` and `IIF(IsPresent([x]), …)` work) and never fails. Comparisons
//!   are numeric when both sides are integers, else ordinal and case-sensitive.
//! - `Switch`: evaluation is stateless, so an unchanged source never turns into null on an
//!   update (Entra's documented bug). A null source matches the key `""`. When no key matches
//!   the default is returned as given (`""` stays `""`, so E49's `IgnoreFlowIfNullOrEmpty`
//!   idiom works; an omitted default is null).
//! - Null propagates through the one-source text functions (`Trim([x])` of an absent `x` is
//!   null, so the mapping's default value applies); `Append`, `Join` and `&` treat null as `""`;
//!   `Left` and `Word` return `""` as documented.
//! - Text functions given a multi-valued source apply to each value (`Trim`, `ToLower`,
//!   `Replace`, …). Other functions that need one value reject a multi-valued one.
//! - `Coalesce` skips null and empty values.
//! - `Split` does not trim the parts (as .NET); `Trim(Split(…))` trims each.
//! - `SelectUniqueValue` asks the context's [`UniquenessCheck`]; without one every value
//!   counts as unique. Only allowed at the top of an expression.
//! - `SingleAppRoleAssignment` / `AppRoleAssignmentsComplex` read a multi-valued attribute of
//!   objects with `value` (and `displayName`); the single one is the first, deterministically.
//! - Randomness (`Guid`, `RandomString`) comes from the context's [`RandomSource`], by default
//!   the operating system's secure generator; `Now` reads the context's clock.
//!
//! # Functions, briefly
//!
//! Indexes are 1-based (`Item`, `Mid`, `InStr`, `Word`, `DNComponent`); `Item` out of range
//! is an error (as the cloud sync doc says). `Switch` and `Replace` are case-sensitive;
//! `Replace` has the five modes of the app provisioning doc, mode 5 as that doc (and its
//! example) describe it: the source when it has a value, else the named group extracted from
//! `replacementAttributeName`. Regexes are the `regex` crate's (linear time; .NET named groups
//! `(?<name>…)` and `${name}` replacements work, look-around and backreferences do not and are
//! rejected when the expression is parsed). Dates are read as ISO 8601 (also a date with an
//! offset and no time, `2020-03-16-07:00`) or as `M/d/yyyy h:mm:ss tt`; `CDate`, `DateAdd`,
//! `DateFromNum` and `Now` return `M/d/yyyy h:mm:ss tt` in UTC. `DateAdd`/`DateDiff`
//! intervals: `yyyy q m y d w ww h n s`; `DateDiff` counts whole units of the elapsed time,
//! except `yyyy`, `q`, `m` which count calendar boundaries. `FormatDateTime` reads and writes
//! .NET custom formats (`yyyy yy MMMM MMM MM M dddd ddd dd d HH H hh h mm m ss s f… F… tt t
//! zzz zz z K`, quoted literals, `\x`); its `dateTimeStyles` argument is accepted and ignored
//! (leading and trailing white space is always allowed) and a date keeps its own offset.
//! `DateFromNum`/`NumFromDate` use AD FILETIME (100 ns since 1601-01-01 UTC).
//! `ConvertToBase64` encodes UTF-16LE; `ConvertFromBase64` decodes `Unicode` (default),
//! `UTF8` or `ASCII`. `ToLower`/`ToUpper` use Unicode's default (invariant) mapping; of the
//! culture names only the Turkic ones (`tr…`, `az…`) change it (dotted and dotless i).
//! `PCase` upper-cases the first letter of each word and lower-cases the rest (also in all-capital words, unlike .NET's `ToTitleCase`); default
//! separators are the characters that are neither letters, digits nor `'`. `Not` is `False`
//! only for a true value. `RandomString` draws from digits, `!#$%&()*+,-./:;<=>?@[]^_{|}~`,
//! capitals and lower-case letters, fills the rest from letters and digits (and specials when
//! some are required), and shuffles; at most 256 characters. `StringFromSid` reads a binary SID
//! given as base64 (how JSON carries `objectSid`). `CRef` returns its argument. `DefaultDomain`
//! comes from the context (null without one). `Contains`, seen once in the cloud sync doc
//! without a definition, is not supported.

mod ast;
mod compiled;
mod eval;
mod functions;
mod into;
mod parser;
mod print;
mod value;

use std::collections::BTreeMap;
use std::fmt::{self, Debug, Display, Formatter};

use chrono::{DateTime, Utc};
use scim_model::Resource;

pub use ast::{AttributeRef, CompareOp, Node};
pub use parser::{MAX_DEPTH, MAX_LENGTH};
pub use value::ExprValue;

use crate::error::Result;

/// A parsed expression, ready to be evaluated any number of times.
#[derive(Clone, Debug)]
pub struct Expression {
    root: Node,
    /// The tree evaluation walks: function names resolved, regexes compiled.
    code: compiled::Code,
}

impl Expression {
    /// Parses expression text. Errors are [`crate::Error::ExpressionSyntax`] with the
    /// position and what was expected; unknown functions, wrong argument counts and invalid
    /// regular expressions are found here.
    pub fn parse(text: &str) -> Result<Self> {
        let (root, regexes) = parser::parse(text)?;
        let code = compiled::compile(&root, &regexes)?;
        Ok(Self { root, code })
    }

    fn compile(root: Node) -> Result<Self> {
        let mut regexes = BTreeMap::new();
        eval::collect_regexes(&root, &mut regexes)?;
        let code = compiled::compile(&root, &regexes)?;
        Ok(Self { root, code })
    }

    /// An expression from a syntax tree built in code, checked as [`Expression::parse`]
    /// checks text (nesting depth, known functions, argument counts, regular expressions);
    /// error positions are 0.
    pub fn from_node(root: Node) -> Result<Self> {
        parser::check_tree(&root, 0)?;
        Self::compile(root)
    }

    /// The syntax tree.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Whether the expression calls `function` anywhere (e.g. `SelectUniqueValue`, to apply a
    /// mapping on create only; `Now`/`Guid`/`RandomString`, which give a new value each time).
    pub fn calls(&self, function: &str) -> bool {
        let mut found = false;
        visit(&self.root, &mut |n| {
            found |= matches!(n, Node::Call { name, .. } if name == function);
        });
        found
    }

    /// The attributes the expression reads, in order of appearance (repeats included).
    pub fn attributes(&self) -> Vec<&AttributeRef> {
        let mut out = Vec::new();
        visit(&self.root, &mut |n| {
            if let Node::Attribute(a) = n {
                out.push(a);
            }
        });
        out
    }

    /// Evaluates the expression against a source resource.
    ///
    /// The result may be [`ExprValue::IgnoreFlow`] (leave the target attribute out) or
    /// [`ExprValue::Redacted`] (flows, but logs show `[Redact]`).
    pub fn evaluate(&self, resource: &Resource, ctx: &EvalContext<'_>) -> Result<ExprValue> {
        eval::evaluate(self, resource, ctx)
    }

    /// What [`Expression::evaluate`] gives, with a string result written into `buf` (cleared
    /// first) instead of a new `String`: `Ok(None)` when the result is the (not redacted)
    /// string now in `buf`, else `Ok(Some(value))`, `buf` then holding anything.
    pub(crate) fn evaluate_into(
        &self,
        resource: &Resource,
        ctx: &EvalContext<'_>,
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        into::evaluate_into(self, resource, ctx, buf)
    }
}

/// Calls `f` on `node` and every node below it, depth first.
fn visit<'n>(node: &'n Node, f: &mut dyn FnMut(&'n Node)) {
    f(node);
    match node {
        Node::Call { args, .. } => args.iter().flatten().for_each(|a| visit(a, f)),
        Node::Concat(parts) => parts.iter().for_each(|p| visit(p, f)),
        Node::Compare { left, right, .. } => {
            visit(left, f);
            visit(right, f);
        }
        _ => {}
    }
}

impl Display for Expression {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Display::fmt(&self.root, f)
    }
}

/// Two expressions are equal when their syntax trees are (spacing and parentheses aside).
impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

/// Serialized as its text (printed back from the tree).
impl serde::Serialize for Expression {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Deserialized from its text, parsed (a syntax error is a deserialization error).
impl<'de> serde::Deserialize<'de> for Expression {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Expression::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Expression {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        Expression::parse(s)
    }
}

/// A source of random bytes for `Guid` and `RandomString`.
pub trait RandomSource: Debug + Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill_bytes(&self, dest: &mut [u8]) -> std::io::Result<()>;
}

/// The operating system's cryptographically secure generator (the `getrandom` crate).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_bytes(&self, dest: &mut [u8]) -> std::io::Result<()> {
        getrandom::fill(dest).map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// Asked by `SelectUniqueValue` whether a candidate value is free in the target directory.
pub trait UniquenessCheck: Debug + Send + Sync {
    /// Whether no object in the target has `value` (for the mapping's target attribute).
    /// An error stops the evaluation with that message.
    fn is_unique(&self, value: &str) -> std::result::Result<bool, String>;
}

static OS_RANDOM: OsRandom = OsRandom;

/// What an evaluation reads besides the source object: the clock, the tenant's default
/// domain, the random generator and the uniqueness check.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct EvalContext<'a> {
    now: DateTime<Utc>,
    default_domain: Option<&'a str>,
    random: &'a dyn RandomSource,
    uniqueness: Option<&'a dyn UniquenessCheck>,
}

impl<'a> EvalContext<'a> {
    /// A context whose clock reads `now`, with the OS random generator, no default domain and
    /// no uniqueness check.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            default_domain: None,
            random: &OS_RANDOM,
            uniqueness: None,
        }
    }

    /// With the tenant's default domain, returned by `DefaultDomain()`.
    pub fn with_default_domain(mut self, domain: &'a str) -> Self {
        self.default_domain = Some(domain);
        self
    }

    /// With another random generator (a seeded one in tests).
    pub fn with_random(mut self, random: &'a dyn RandomSource) -> Self {
        self.random = random;
        self
    }

    /// With the uniqueness check `SelectUniqueValue` asks.
    pub fn with_uniqueness(mut self, check: &'a dyn UniquenessCheck) -> Self {
        self.uniqueness = Some(check);
        self
    }

    /// The clock's reading.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
}
