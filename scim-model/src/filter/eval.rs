//! Evaluation of SCIM filters (RFC 7644 §3.4.2.2) against resources.
//!
//! Two entry points share one set of rules: [`Filter::matches`] looks attribute definitions up
//! in the registry as it goes, and [`Filter::compile`] resolves them once into a
//! [`CompiledFilter`], whose [`CompiledFilter::matches`] does no registry lookup and, in the
//! common case, no allocation.
//!
//! The rules are documented on [`Filter::matches`].

mod compare;
mod fast;
mod keys;
#[cfg(test)]
mod perf;

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use self::compare::{
    Num, contains_ci, ends_with_ci, num_cmp, parse_datetime, starts_with_ci, str_cmp, str_eq,
    with_number_text,
};
use self::fast::{Instant, Text, holds, instant_of, parse_instant};
use self::keys::{Hint, lookup, lookup_hinted};
use super::{CompValue, CompareOp, Filter};
use crate::schema::{Attribute, AttributeType, Returned};
use crate::{AttributePath, Error, Resource, Result, SchemaRegistry};

/// The deepest nesting evaluation accepts (a chain of `and` or of `or` counts as one level).
pub(crate) const MAX_EVAL_DEPTH: usize = 256;

// ---------------------------------------------------------------------------------------------
// What the schema says about a path.

/// The parts of an attribute definition evaluation needs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Info {
    /// The schema type; `None` when the registry does not know the attribute.
    kind: Option<AttributeType>,
    /// Whether strings compare case-sensitively.
    case_exact: bool,
    /// `returned: never`: the attribute is treated as unassigned.
    hidden: bool,
}

impl Info {
    const UNKNOWN: Info = Info {
        kind: None,
        case_exact: false,
        hidden: false,
    };

    fn of(attr: Option<&Attribute>) -> Info {
        match attr {
            Some(a) => Info {
                kind: Some(a.kind),
                // RFC 7643 §2.3.6: binary values are case-exact.
                case_exact: a.case_exact || a.kind == AttributeType::Binary,
                hidden: a.returned == Returned::Never,
            },
            None => Info::UNKNOWN,
        }
    }
}

/// The definitions along one path: the attribute, its named sub-attribute, and its `value`
/// sub-attribute (compared when a complex attribute is compared without a sub-attribute).
#[derive(Clone, Copy, Debug, PartialEq)]
struct PathInfo {
    top: Info,
    sub: Info,
    value: Info,
    /// Nothing is selected: the attribute or the named sub-attribute is `returned: never`.
    hidden: bool,
}

impl PathInfo {
    /// The type of the values a comparison on this path looks at.
    fn leaf_kind(&self, has_sub: bool) -> Option<AttributeType> {
        if has_sub {
            self.sub.kind
        } else if self.top.kind == Some(AttributeType::Complex) {
            self.value.kind
        } else {
            self.top.kind
        }
    }
}

/// Where a filter's paths are resolved, schema-wise.
#[derive(Clone, Copy, Debug)]
enum SchemaCtx<'a> {
    /// Top-level paths of a resource whose base schema is this URN.
    Base(&'a str),
    /// Paths relative to one element of a multi-valued attribute with this definition.
    Element(Option<&'a Attribute>),
}

/// Looks a path's definitions up. Returns the attribute's own definition (the parent of the
/// paths in its value filter) and the [`PathInfo`].
fn resolve<'s>(
    registry: &'s SchemaRegistry,
    ctx: SchemaCtx<'s>,
    path: &AttributePath,
) -> (Option<&'s Attribute>, PathInfo) {
    let top: Option<&'s Attribute> = match ctx {
        SchemaCtx::Base(base) => {
            let bare = AttributePath {
                urn: path.urn.clone(),
                name: path.name.clone(),
                filter: None,
                sub_attribute: None,
            };
            registry.attribute_in(base, &bare)
        }
        SchemaCtx::Element(_) if path.urn.is_some() => None,
        SchemaCtx::Element(parent) => parent.and_then(|p| {
            p.sub_attribute(&path.name).or_else(|| {
                // The elements of a primitive multi-valued attribute are its `value`.
                (p.kind != AttributeType::Complex && path.name.eq_ignore_ascii_case("value"))
                    .then_some(p)
            })
        }),
    };
    let sub = match (top, path.sub_attribute()) {
        (Some(t), Some(s)) => t.sub_attribute(s),
        _ => None,
    };
    let value = top.and_then(|t| t.sub_attribute("value"));
    let (top_i, sub_i) = (Info::of(top), Info::of(sub));
    let info = PathInfo {
        top: top_i,
        sub: sub_i,
        value: Info::of(value),
        hidden: top_i.hidden || (path.sub_attribute.is_some() && sub_i.hidden),
    };
    (top, info)
}

// ---------------------------------------------------------------------------------------------
// Walking the values a path selects.

/// What a path is read from.
#[derive(Clone, Copy, Debug)]
enum Scope<'r> {
    /// A resource's top-level attributes.
    Resource(&'r Resource),
    /// One element of a multi-valued attribute (inside a value filter).
    Element(&'r Value),
}

/// A path, borrowed from either engine's representation.
#[derive(Clone, Copy, Debug)]
struct PathView<'p> {
    urn: Option<&'p str>,
    name: &'p str,
    sub: Option<&'p str>,
    info: PathInfo,
}

/// A path as the shared walker reads it: the interpreter's [`PathView`], or a [`CompiledPath`]
/// (whose lookups use its [`PathHints`]).
trait PathSpec {
    fn urn(&self) -> Option<&str>;
    fn name(&self) -> &str;
    fn sub(&self) -> Option<&str>;
    fn info(&self) -> &PathInfo;
    /// The attribute's name in a JSON object (the resource's top level, or an element).
    fn find_name<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value>;
    /// The sub-attribute in an element.
    fn find_sub<'a>(&self, m: &'a Map<String, Value>, sub: &str) -> Option<&'a Value>;
    /// `value` in a complex value compared as a whole.
    fn find_value<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value>;
    /// [`Resource::attribute`] for this path's name under `urn`.
    fn attribute<'r>(&self, r: &'r Resource, urn: &str) -> Option<&'r Value>;
}

impl PathSpec for PathView<'_> {
    fn urn(&self) -> Option<&str> {
        self.urn
    }
    fn name(&self) -> &str {
        self.name
    }
    fn sub(&self) -> Option<&str> {
        self.sub
    }
    fn info(&self) -> &PathInfo {
        &self.info
    }
    fn find_name<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup(m, self.name)
    }
    fn find_sub<'a>(&self, m: &'a Map<String, Value>, sub: &str) -> Option<&'a Value> {
        lookup(m, sub)
    }
    fn find_value<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup(m, "value")
    }
    fn attribute<'r>(&self, r: &'r Resource, urn: &str) -> Option<&'r Value> {
        r.attribute(Some(urn), self.name)
    }
}

impl PathSpec for CompiledPath {
    #[inline(always)]
    fn urn(&self) -> Option<&str> {
        self.urn.as_deref()
    }
    #[inline(always)]
    fn name(&self) -> &str {
        &self.name
    }
    #[inline(always)]
    fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }
    #[inline(always)]
    fn info(&self) -> &PathInfo {
        &self.info
    }
    #[inline(always)]
    fn find_name<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup_hinted(m, &self.name, &self.hints.name)
    }
    #[inline(always)]
    fn find_sub<'a>(&self, m: &'a Map<String, Value>, sub: &str) -> Option<&'a Value> {
        lookup_hinted(m, sub, &self.hints.sub)
    }
    #[inline(always)]
    fn find_value<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup_hinted(m, "value", &self.hints.value)
    }
    fn attribute<'r>(&self, r: &'r Resource, urn: &str) -> Option<&'r Value> {
        attribute_hinted(r, urn, &self.name, &self.hints)
    }
}

/// The lookup hints of one compiled path (see [`keys`]), and its qualified name.
#[derive(Clone, Debug, Default)]
struct PathHints {
    /// The attribute's name: at the top level, in an extension block, or in an element.
    name: Hint,
    /// The URN, as the key of an extension block.
    urn: Hint,
    /// `schemas`, read to decide whether the URN is the base schema's.
    schemas: Hint,
    /// `urn:name` as one top-level key.
    whole: Hint,
    /// The sub-attribute.
    sub: Hint,
    /// `value`, when a complex value is compared as a whole.
    value: Hint,
    /// `urn:name`, for a path with a URN.
    qualified: Box<str>,
}

/// [`Resource::attribute`] for a URN-qualified name, with a compiled path's hints: the same
/// steps, without hashing or allocating.
#[inline(never)]
fn attribute_hinted<'r>(
    r: &'r Resource,
    urn: &str,
    name: &str,
    h: &PathHints,
) -> Option<&'r Value> {
    let m = r.as_object();
    // An extension block under this URN.
    if let Some(Value::Object(block)) = lookup_hinted(m, urn, &h.urn) {
        return lookup_hinted(block, name, &h.name);
    }
    // The base schema (`Resource::is_base_urn`; the URN is not an extension block here).
    let base = match lookup_hinted(m, "schemas", &h.schemas) {
        Some(Value::Array(schemas)) => schemas
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))),
        Some(_) => false,
        None => {
            const CORE: &str = "urn:ietf:params:scim:schemas:core:";
            urn.len() > CORE.len()
                && urn.as_bytes()[..CORE.len()].eq_ignore_ascii_case(CORE.as_bytes())
        }
    };
    if base {
        return lookup_hinted(m, name, &h.name);
    }
    lookup_hinted(m, &h.qualified, &h.whole)
}

/// Which definition applies to a selected value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// The value is the attribute itself (or one element of it).
    Top,
    /// The value is the named sub-attribute.
    Sub,
}

/// The elements of a value: those of an array, or the value itself.
fn elements(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// The attribute a path names, before its filter and sub-attribute.
#[inline(always)]
fn top_value<'r>(scope: Scope<'r>, p: &impl PathSpec) -> Option<&'r Value> {
    if p.info().hidden {
        return None;
    }
    match scope {
        Scope::Resource(r) => match p.urn() {
            // Without a URN, `Resource::attribute` is a case-insensitive get of the top level.
            None => p.find_name(r.as_object()),
            Some(urn) => p.attribute(r, urn),
        },
        Scope::Element(_) if p.urn().is_some() => None,
        Scope::Element(Value::Object(m)) => p.find_name(m),
        // A primitive element is its own pseudo sub-attribute `value`.
        Scope::Element(v) => (!v.is_array() && p.name().eq_ignore_ascii_case("value")).then_some(v),
    }
}

/// Calls `f` on every value `p` selects in `scope` whose element passes `keep` (the path's
/// value filter), until `f` returns `true`.
#[inline]
fn any_selected<'r, E>(
    scope: Scope<'r>,
    p: &impl PathSpec,
    mut keep: impl FnMut(&'r Value) -> std::result::Result<bool, E>,
    mut f: impl FnMut(&'r Value, Via) -> std::result::Result<bool, E>,
) -> std::result::Result<bool, E> {
    let Some(top) = top_value(scope, p) else {
        return Ok(false);
    };
    for element in elements(top) {
        if !keep(element)? {
            continue;
        }
        // One call site for `f`, so that it inlines.
        let (values, via) = match p.sub() {
            None => (std::slice::from_ref(element), Via::Top),
            Some(sub) => match element {
                Value::Object(m) => match p.find_sub(m, sub) {
                    Some(sv) => (elements(sv), Via::Sub),
                    None => continue,
                },
                Value::Array(_) => continue,
                primitive if sub.eq_ignore_ascii_case("value") => {
                    (std::slice::from_ref(primitive), Via::Top)
                }
                _ => continue,
            },
        };
        for v in values {
            if f(v, via)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Whether a value is "present" in RFC 7644's sense: not null, not empty, and for a complex
/// value or an array, with at least one present part. Nesting beyond 32 levels counts as
/// present (it is not empty, as far as we looked).
fn is_present(v: &Value) -> bool {
    fn go(v: &Value, depth: usize) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Bool(_) | Value::Number(_) => true,
            _ if depth >= 32 => true,
            Value::Array(items) => items.iter().any(|i| go(i, depth + 1)),
            Value::Object(m) => m.values().any(|i| go(i, depth + 1)),
        }
    }
    go(v, 0)
}

/// `path pr`.
fn eval_present<'r, E>(
    scope: Scope<'r>,
    p: &impl PathSpec,
    keep: impl FnMut(&'r Value) -> std::result::Result<bool, E>,
) -> std::result::Result<bool, E> {
    any_selected(scope, p, keep, |v, _| Ok(is_present(v)))
}

/// `path[filter]`: some selected element passes `inner`.
fn eval_value_path<'r, E>(
    scope: Scope<'r>,
    p: &impl PathSpec,
    keep: impl FnMut(&'r Value) -> std::result::Result<bool, E>,
    mut inner: impl FnMut(&'r Value) -> std::result::Result<bool, E>,
) -> std::result::Result<bool, E> {
    any_selected(scope, p, keep, |v, _| inner(v))
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

/// A comparison literal, ready to compare.
#[derive(Clone, Copy, Debug)]
enum Operand<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
}

impl<'a> Operand<'a> {
    fn of(v: &'a CompValue) -> Operand<'a> {
        match v {
            CompValue::Null => Operand::Null,
            CompValue::Bool(b) => Operand::Bool(*b),
            CompValue::Number(n) => Operand::Num(Num::of(n)),
            CompValue::String(s) => Operand::Str(s),
        }
    }
}

/// An error for a comparison that cannot be evaluated.
fn invalid(path: &dyn fmt::Display, message: impl Into<String>) -> Error {
    Error::InvalidComparison {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Checks, before any value is read, that `op` can compare values of `leaf_kind` with the
/// literal; the error is the message of an [`Error::InvalidComparison`]. For a dateTime
/// attribute, returns the literal as an instant.
fn check_compare(
    leaf_kind: Option<AttributeType>,
    op: CompareOp,
    value: &CompValue,
) -> std::result::Result<Option<DateTime<FixedOffset>>, String> {
    let textual = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match value {
        CompValue::Null if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            return Err(format!("`{op}` cannot compare with null"));
        }
        CompValue::Bool(_) if op.is_ordering() => {
            return Err(format!("`{op}` cannot order booleans"));
        }
        _ => {}
    }
    match leaf_kind {
        Some(kind @ (AttributeType::Boolean | AttributeType::Binary)) if op.is_ordering() => {
            let kind = if kind == AttributeType::Boolean {
                "boolean"
            } else {
                "binary"
            };
            Err(format!("`{op}` cannot order {kind} values"))
        }
        Some(AttributeType::DateTime) if !textual && *value != CompValue::Null => {
            let parsed = match value {
                CompValue::String(s) => parse_datetime(s),
                _ => None,
            };
            match parsed {
                Some(instant) => Ok(Some(instant)),
                None => Err(format!(
                    "{} is not a dateTime (RFC 3339, e.g. 2011-05-13T04:42:34Z)",
                    value.to_json()
                )),
            }
        }
        _ => Ok(None),
    }
}

/// Calls `f` with the text `co`/`sw`/`ew` see for a value; `None` for null, arrays, objects.
fn value_text<R>(v: &Value, f: impl FnOnce(&str) -> R) -> Option<R> {
    match v {
        Value::String(s) => Some(f(s)),
        Value::Bool(b) => Some(f(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(with_number_text(Num::of(n), f)),
        _ => None,
    }
}

/// Calls `f` with the text of a literal (never null: checked before).
fn operand_text<R>(o: Operand<'_>, f: impl FnOnce(&str) -> R) -> R {
    match o {
        Operand::Str(s) => f(s),
        Operand::Bool(b) => f(if b { "true" } else { "false" }),
        Operand::Num(n) => with_number_text(n, f),
        Operand::Null => f(""),
    }
}

/// `co`, `sw`, `ew` on two texts.
fn textual(op: CompareOp, hay: &str, needle: &str, case_exact: bool) -> bool {
    match (op, case_exact) {
        (CompareOp::Co, true) => hay.contains(needle),
        (CompareOp::Co, false) => contains_ci(hay, needle),
        (CompareOp::Sw, true) => hay.starts_with(needle),
        (CompareOp::Sw, false) => starts_with_ci(hay, needle),
        (CompareOp::Ew, true) => hay.ends_with(needle),
        (CompareOp::Ew, false) => ends_with_ci(hay, needle),
        _ => false,
    }
}

/// A stored boolean value under an ordering operator (`gt`, ...), which cannot mean anything:
/// an [`Error::InvalidComparison`] `cannot order boolean values`.
#[derive(Clone, Copy, Debug)]
struct BoolOrder;

/// The message of the error [`BoolOrder`] stands for.
fn bool_order_message(op: CompareOp) -> String {
    format!("`{op}` cannot order boolean values")
}

/// Orders one attribute value against the literal; `None` when they are not comparable.
fn order(
    v: &Value,
    info: Info,
    op: CompareOp,
    operand: Operand<'_>,
    instant: Option<&DateTime<FixedOffset>>,
) -> std::result::Result<Option<std::cmp::Ordering>, BoolOrder> {
    Ok(match (v, operand) {
        (Value::String(s), _)
            if info.kind == Some(AttributeType::DateTime) && instant.is_some() =>
        {
            match (parse_datetime(s), instant) {
                (Some(got), Some(want)) => Some(got.cmp(want)),
                // A stored value that is not a dateTime matches nothing.
                _ => None,
            }
        }
        (Value::String(s), Operand::Str(lit)) => Some(str_cmp(s, lit, info.case_exact)),
        (Value::String(s), Operand::Bool(b)) if info.kind == Some(AttributeType::Boolean) => {
            // Entra writes booleans as "True"/"False".
            if s.eq_ignore_ascii_case("true") {
                Some(true.cmp(&b))
            } else if s.eq_ignore_ascii_case("false") {
                Some(false.cmp(&b))
            } else {
                None
            }
        }
        (Value::Number(n), Operand::Num(lit)) => num_cmp(Num::of(n), lit),
        (Value::Bool(_), _) if op.is_ordering() => return Err(BoolOrder),
        (Value::Bool(b), Operand::Bool(lit)) => Some(b.cmp(&lit)),
        _ => None,
    })
}

/// Compares one selected value (not null literal: handled as presence).
fn compare_leaf(
    v: &Value,
    info: Info,
    op: CompareOp,
    operand: Operand<'_>,
    instant: Option<&DateTime<FixedOffset>>,
) -> std::result::Result<bool, BoolOrder> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => Ok(value_text(v, |hay| {
            operand_text(operand, |needle| textual(op, hay, needle, info.case_exact))
        })
        .unwrap_or(false)),
        // `ne` is evaluated as `not eq` by the caller.
        CompareOp::Eq | CompareOp::Ne => {
            // The common case, without computing an ordering.
            if let (Value::String(s), Operand::Str(lit)) = (v, operand)
                && (info.kind != Some(AttributeType::DateTime) || instant.is_none())
            {
                return Ok(str_eq(s, lit, info.case_exact));
            }
            Ok(order(v, info, op, operand, instant)? == Some(Equal))
        }
        CompareOp::Gt => Ok(order(v, info, op, operand, instant)? == Some(Greater)),
        CompareOp::Ge => Ok(matches!(
            order(v, info, op, operand, instant)?,
            Some(Greater | Equal)
        )),
        CompareOp::Lt => Ok(order(v, info, op, operand, instant)? == Some(Less)),
        CompareOp::Le => Ok(matches!(
            order(v, info, op, operand, instant)?,
            Some(Less | Equal)
        )),
    }
}

/// `path op value` for a literal that is not null, once [`check_compare`] has passed: `leaf`
/// compares one value, under the definition that applies to it. `negate` for `ne`.
#[inline]
fn eval_compare<'r, E>(
    scope: Scope<'r>,
    p: &impl PathSpec,
    keep: impl FnMut(&'r Value) -> std::result::Result<bool, E>,
    negate: bool,
    mut leaf: impl FnMut(&'r Value, Info) -> std::result::Result<bool, E>,
) -> std::result::Result<bool, E> {
    let info = p.info();
    let any = any_selected(scope, p, keep, |v, via| {
        // One call site for `leaf`, so that it inlines.
        let (values, info) = match (via, v) {
            (Via::Sub, v) => (std::slice::from_ref(v), info.sub),
            // A complex value compared as a whole: compare its `value` sub-attribute.
            (Via::Top, Value::Object(m)) => match p.find_value(m) {
                Some(inner) if !info.value.hidden => (elements(inner), info.value),
                _ => return Ok(false),
            },
            (Via::Top, v) => (std::slice::from_ref(v), info.top),
        };
        for x in values {
            if leaf(x, info)? {
                return Ok(true);
            }
        }
        Ok(false)
    })?;
    Ok(any != negate)
}

// ---------------------------------------------------------------------------------------------
// The interpreter behind `Filter::matches` and `element_matches`.

/// The operands of a chain of `and` (or of `or`), left to right, without recursion.
fn chain(f: &Filter, is_and: bool) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![f];
    while let Some(x) = stack.pop() {
        match (x, is_and) {
            (Filter::And(l, r), true) | (Filter::Or(l, r), false) => {
                stack.push(r);
                stack.push(l);
            }
            _ => out.push(x),
        }
    }
    out
}

fn too_deep() -> Error {
    Error::TooDeep {
        what: "filter",
        max: MAX_EVAL_DEPTH,
    }
}

/// Evaluates `f` in `scope`, looking definitions up in `registry` under `ctx`.
///
/// Only `not`, `and`, `or` and value filters recurse here; the leaves are out of line so that
/// each level of nesting costs a small stack frame.
fn interpret<'s>(
    f: &Filter,
    scope: Scope<'_>,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Result<bool> {
    if depth > MAX_EVAL_DEPTH {
        return Err(too_deep());
    }
    match f {
        Filter::Compare { path, op, value } => {
            interpret_compare(path, *op, value, scope, ctx, registry, depth)
        }
        Filter::Present(path) => interpret_present(path, scope, ctx, registry, depth),
        Filter::ValuePath { path, filter } => {
            interpret_value_path(path, filter, scope, ctx, registry, depth)
        }
        Filter::Not(inner) => Ok(!interpret(inner, scope, ctx, registry, depth + 1)?),
        Filter::And(l, r) | Filter::Or(l, r) => {
            let is_and = matches!(f, Filter::And(..));
            let nested = |x: &Filter| {
                matches!(
                    (x, is_and),
                    (Filter::And(..), true) | (Filter::Or(..), false)
                )
            };
            if nested(l) || nested(r) {
                return interpret_chain(f, is_and, scope, ctx, registry, depth);
            }
            // Two plain operands: no need to collect the chain.
            if interpret(l, scope, ctx, registry, depth + 1)? != is_and {
                return Ok(!is_and);
            }
            interpret(r, scope, ctx, registry, depth + 1)
        }
    }
}

#[inline(never)]
fn interpret_chain<'s>(
    f: &Filter,
    is_and: bool,
    scope: Scope<'_>,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Result<bool> {
    for operand in chain(f, is_and) {
        if interpret(operand, scope, ctx, registry, depth + 1)? != is_and {
            return Ok(!is_and);
        }
    }
    Ok(is_and)
}

#[inline(never)]
fn interpret_compare<'s>(
    path: &AttributePath,
    op: CompareOp,
    value: &CompValue,
    scope: Scope<'_>,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Result<bool> {
    let (def, info) = resolve(registry, ctx, path);
    let instant = check_compare(info.leaf_kind(path.sub_attribute.is_some()), op, value)
        .map_err(|message| invalid(path, message))?;
    let keep = path_keep(path, def, registry, depth);
    let view = view_of(path, info);
    let operand = Operand::of(value);
    if let Operand::Null = operand {
        let present = eval_present(scope, &view, keep)?;
        return Ok(present != (op == CompareOp::Eq));
    }
    eval_compare(scope, &view, keep, op == CompareOp::Ne, |v, info| {
        compare_leaf(v, info, op, operand, instant.as_ref())
            .map_err(|BoolOrder| invalid(path, bool_order_message(op)))
    })
}

#[inline(never)]
fn interpret_present<'s>(
    path: &AttributePath,
    scope: Scope<'_>,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Result<bool> {
    let (def, info) = resolve(registry, ctx, path);
    eval_present(
        scope,
        &view_of(path, info),
        path_keep(path, def, registry, depth),
    )
}

#[inline(never)]
fn interpret_value_path<'s>(
    path: &AttributePath,
    filter: &Filter,
    scope: Scope<'_>,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Result<bool> {
    let (def, info) = resolve(registry, ctx, path);
    let element_def = match path.sub_attribute() {
        Some(sub) => def.and_then(|d| d.sub_attribute(sub)),
        None => def,
    };
    eval_value_path(
        scope,
        &view_of(path, info),
        path_keep(path, def, registry, depth),
        |e| {
            interpret(
                filter,
                Scope::Element(e),
                SchemaCtx::Element(element_def),
                registry,
                depth + 1,
            )
        },
    )
}

/// A path as the shared walker sees it.
fn view_of(path: &AttributePath, info: PathInfo) -> PathView<'_> {
    PathView {
        urn: path.urn(),
        name: path.name(),
        sub: path.sub_attribute(),
        info,
    }
}

/// The test of a path's own value filter (`emails[type eq "work"].value`), if any.
fn path_keep<'a>(
    path: &'a AttributePath,
    def: Option<&'a Attribute>,
    registry: &'a SchemaRegistry,
    depth: usize,
) -> impl FnMut(&Value) -> Result<bool> + 'a {
    move |e| match path.filter() {
        None => Ok(true),
        Some(inner) => interpret(
            inner,
            Scope::Element(e),
            SchemaCtx::Element(def),
            registry,
            depth + 1,
        ),
    }
}

impl Filter {
    /// Whether `resource` matches this filter, with attribute definitions (type, `caseExact`)
    /// from `registry` for the resource's base schema.
    ///
    /// A resource whose `schemas` names no base schema is evaluated with only the definitions
    /// the registry gives any resource (the common attributes `id`, `externalId`, `meta`,
    /// `schemas`); use [`Filter::compile`] to name the base schema yourself.
    ///
    /// To evaluate one filter against many resources, [`Filter::compile`] it once.
    ///
    /// # Rules
    ///
    /// **Paths.** An attribute is found with [`Resource::attribute`] (names and URNs
    /// case-insensitive), then its sub-attribute. A multi-valued attribute matches when *any* of
    /// its values does; `emails.value co "x"` looks at every email's `value`. Comparing a complex
    /// attribute without naming a sub-attribute (`emails co "example.com"`, RFC 7644's own
    /// example) compares its `value` sub-attribute. A primitive multi-valued attribute exposes each
    /// element as the pseudo sub-attribute `value`, so `schemas[value eq "urn:x"]` works as in
    /// UnboundID. Inside a value filter `attr[...]` the paths are relative to one element.
    ///
    /// **Types** come from the schema (`type`, `caseExact`); attributes the registry does not know
    /// are `caseExact=false` (the RFC default) with the type read from the JSON value (so a
    /// dateTime in an unknown attribute is compared as a string).
    ///
    /// | attribute type | `eq` / `ne` | `gt` `ge` `lt` `le` | `co` `sw` `ew` |
    /// |---|---|---|---|
    /// | string, reference | case-insensitive unless `caseExact` (Unicode lower-case mapping) | same, by code point of the lower-case forms | same |
    /// | integer, decimal | numerically, exact across integer and decimal | numerically | on the text of both (`1.0` is `1`) |
    /// | boolean | `true`/`false` (a string `"True"` on a boolean attribute counts, as Entra sends) | error `InvalidComparison` | on the text (`true`) |
    /// | dateTime | as instants, any offset; a value that is not a dateTime is an error | as instants | on the raw text |
    /// | binary | case-exact | error `InvalidComparison` | case-exact |
    ///
    /// A comparison between values of different kinds (a string attribute and a number literal)
    /// does not match, nor does a stored dateTime value that cannot be read as one.
    /// `gt`/`ge`/`lt`/`le`/`co`/`sw`/`ew` with `null`, and `gt`/`ge`/`lt`/`le` with
    /// `true`/`false`, are errors: they cannot mean anything.
    ///
    /// **Missing values.** RFC 7643 §2.5 makes "unassigned", `null` and `[]` the same state.
    /// `pr` matches an attribute with a non-empty value: not `null`, not `""`, not `[]`, and for a
    /// complex value at least one non-empty sub-attribute. `attr eq null` is exactly `not (attr
    /// pr)` and `attr ne null` is `attr pr` (UnboundID agrees on every case of its suite).
    ///
    /// **`ne`** is the negation of `eq`: `emails.type ne "work"` matches when *no* email is of
    /// type work (and when there is no email), as in UnboundID.
    ///
    /// **Hidden attributes.** An attribute whose schema says `returned: "never"` (`password`)
    /// never matches: a filter must not be a way to test a secret (SCIMple does the same). It
    /// behaves as unassigned.
    ///
    /// **Logic.** `not` inverts; `and`/`or` evaluate left to right and stop at the first operand
    /// that decides; an error in an operand that is evaluated is the result.
    ///
    /// **Depth.** Chains of `and` (or of `or`) count as one level however long; evaluation refuses
    /// filters nesting deeper than 256 levels with [`Error::TooDeep`], so that
    /// a hand-built AST cannot overflow the stack. Parsed filters are already limited to
    /// [`Limits::max_depth`](crate::Limits::max_depth) (64 by default).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidComparison`] for a comparison that cannot be evaluated (`gt` on a
    /// boolean or binary attribute, a dateTime attribute compared with a value that is not a
    /// dateTime, an ordering or substring operator with `null`), if that comparison is reached;
    /// [`Error::TooDeep`] for a filter nesting deeper than 256 levels (a chain of `and` or of
    /// `or` counting as one).
    pub fn matches(&self, resource: &Resource, registry: &SchemaRegistry) -> Result<bool> {
        let base = resource.base_schema().unwrap_or("");
        interpret(
            self,
            Scope::Resource(resource),
            SchemaCtx::Base(base),
            registry,
            0,
        )
    }

    /// Resolves every path's attribute definition for resources of `base_schema` once, for
    /// fast repeated evaluation with [`CompiledFilter::matches`].
    ///
    /// Compiling never fails: a comparison that cannot be evaluated fails when it is reached,
    /// exactly as with [`Filter::matches`].
    pub fn compile(&self, registry: &SchemaRegistry, base_schema: &str) -> CompiledFilter {
        CompiledFilter {
            root: compile_node(self, SchemaCtx::Base(base_schema), registry, 0),
            filter: self.clone(),
        }
    }
}

/// Evaluates a value filter (the inside of `emails[...]`) against one element of a
/// multi-valued attribute whose definition is `parent`; the filter's paths name the element's
/// sub-attributes (or `value` for a primitive element).
pub(crate) fn element_matches(
    filter: &Filter,
    element: &Value,
    parent: Option<&Attribute>,
    registry: &SchemaRegistry,
) -> Result<bool> {
    interpret(
        filter,
        Scope::Element(element),
        SchemaCtx::Element(parent),
        registry,
        0,
    )
}

// ---------------------------------------------------------------------------------------------
// Compiled filters.

/// A filter compiled against a schema registry for fast repeated evaluation.
///
/// Every path's definition (type, `caseExact`, `returned`) is resolved once by
/// [`Filter::compile`]; literals are pre-converted (dateTimes parsed, numbers read); chains of
/// `and`/`or` are flattened. [`CompiledFilter::matches`] then does no registry lookup and no
/// allocation, except to build an error or to render a number longer than 48 characters for
/// `co`/`sw`/`ew`.
///
/// Each lookup of an attribute name remembers where it last found the name (a hint, shared by
/// the threads evaluating the filter through relaxed atomics), so that evaluating many resources
/// of one shape costs one comparison per lookup. Hints make evaluation faster, never different:
/// a wrong hint costs one comparison before the ordinary case-insensitive search.
///
/// ```
/// use scim_model::{Filter, Resource, SchemaRegistry, USER_SCHEMA};
///
/// let registry = SchemaRegistry::default();
/// let filter: Filter = r#"userName eq "BJensen""#.parse().unwrap();
/// let compiled = filter.compile(&registry, USER_SCHEMA);
/// let user: Resource = serde_json::from_str(r#"{"userName": "bjensen"}"#).unwrap();
/// assert!(compiled.matches(&user).unwrap());
/// assert_eq!(compiled.filter(), &filter);
/// ```
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    filter: Filter,
    root: Node,
}

impl CompiledFilter {
    /// Whether `resource` matches: the same answer as [`Filter::matches`] for a resource of the
    /// base schema the filter was compiled for.
    ///
    /// # Errors
    ///
    /// As [`Filter::matches`].
    pub fn matches(&self, resource: &Resource) -> Result<bool> {
        match self.root.eval::<Fast>(Scope::Resource(resource)) {
            Ok(answer) => Ok(answer),
            Err(()) => self.explain(resource),
        }
    }

    /// After a failure: evaluates again, the same way, naming it this time.
    #[cold]
    #[inline(never)]
    fn explain(&self, resource: &Resource) -> Result<bool> {
        self.root
            .eval::<Explain>(Scope::Resource(resource))
            .map_err(Failure::error)
    }

    /// The filter this was compiled from.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// A compiled filter node.
#[derive(Clone, Debug)]
enum Node {
    Compare(Box<CompiledCompare>),
    Present(Box<CompiledPath>),
    ValuePath(Box<CompiledPath>, Box<Node>),
    Not(Box<Node>),
    All(Box<[Node]>),
    Any(Box<[Node]>),
    /// A node that fails when reached.
    Fail(Failure),
}

/// An error known at compile time, raised when the node is evaluated.
#[derive(Clone, Debug)]
enum Failure {
    TooDeep,
    Invalid { path: String, message: String },
}

impl Failure {
    fn error(&self) -> Error {
        match self {
            Failure::TooDeep => too_deep(),
            Failure::Invalid { path, message } => Error::InvalidComparison {
                path: path.clone(),
                message: message.clone(),
            },
        }
    }
}

#[derive(Clone, Debug)]
struct CompiledPath {
    urn: Option<Box<str>>,
    name: Box<str>,
    sub: Option<Box<str>>,
    info: PathInfo,
    hints: PathHints,
    /// The path's own value filter.
    keep: Option<Node>,
    /// The path as written, for error messages.
    text: Box<str>,
    /// No URN, no value filter, not hidden: [`CompiledPath::plain_value`] applies.
    plain: bool,
    /// A URN, no value filter, not hidden: [`CompiledPath::urn_value`] applies.
    plain_urn: bool,
}

/// What [`CompiledPath::plain_value`] finds.
enum Plain<'r> {
    /// Nothing: the attribute (or its sub-attribute) is unassigned.
    Absent,
    /// One string, number or boolean, under this definition.
    Scalar(&'r Value, Info),
    /// Anything else: the general walk decides.
    Other,
}

impl CompiledPath {
    /// The common case of the general walk ([`any_selected`]), without it: a path without URN
    /// or value filter, in an object, whose attribute (and sub-attribute) is a single scalar.
    #[inline(always)]
    fn plain_value<'r>(&self, scope: Scope<'r>) -> Plain<'r> {
        let m = match scope {
            Scope::Resource(r) => r.as_object(),
            Scope::Element(Value::Object(m)) => m,
            Scope::Element(_) => return Plain::Other,
        };
        self.plain_in(lookup_hinted(m, &self.name, &self.hints.name))
    }

    /// [`CompiledPath::plain_value`] for a path with a URN (`plain_urn`).
    #[inline(never)]
    fn urn_value<'r>(&self, scope: Scope<'r>) -> Plain<'r> {
        let top = match (scope, &self.urn) {
            (Scope::Resource(r), Some(urn)) => attribute_hinted(r, urn, &self.name, &self.hints),
            // Inside a value filter, a path with a URN names nothing.
            _ => None,
        };
        self.plain_in(top)
    }

    /// The rest of [`CompiledPath::plain_value`], from the attribute's value.
    #[inline(always)]
    fn plain_in<'r>(&self, top: Option<&'r Value>) -> Plain<'r> {
        let Some(top) = top else {
            return Plain::Absent;
        };
        let (v, info) = match (&self.sub, top) {
            (None, v) => (v, self.info.top),
            (Some(sub), Value::Object(m)) => match lookup_hinted(m, sub, &self.hints.sub) {
                Some(v) => (v, self.info.sub),
                None => return Plain::Absent,
            },
            (Some(_), _) => return Plain::Other,
        };
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Plain::Scalar(v, info),
            _ => Plain::Other,
        }
    }

    fn keep<'n, M: Mode>(&'n self) -> impl FnMut(&Value) -> Eval<'n, M> + 'n {
        move |e| match &self.keep {
            None => Ok(true),
            Some(node) => node.eval::<M>(Scope::Element(e)),
        }
    }
}

#[derive(Clone, Debug)]
struct CompiledCompare {
    path: CompiledPath,
    op: CompareOp,
    value: CompValue,
    num: Option<Num>,
    /// A string literal, prepared for comparing.
    text: Option<Text>,
    /// The literal as an instant, for a dateTime attribute.
    instant: Option<Instant>,
    /// The error for a stored boolean value under an ordering operator.
    bool_order: Failure,
}

impl CompiledCompare {
    fn operand(&self) -> Operand<'_> {
        match (&self.value, self.num) {
            (_, Some(n)) => Operand::Num(n),
            (value, None) => Operand::of(value),
        }
    }
}

fn compile_path<'s>(
    path: &AttributePath,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> (CompiledPath, Option<&'s Attribute>) {
    let (def, info) = resolve(registry, ctx, path);
    let keep = path
        .filter()
        .map(|inner| compile_node(inner, SchemaCtx::Element(def), registry, depth + 1));
    let compiled = CompiledPath {
        urn: path.urn().map(Box::from),
        name: path.name().into(),
        sub: path.sub_attribute().map(Box::from),
        info,
        hints: PathHints {
            qualified: path
                .urn()
                .map(|urn| format!("{urn}:{}", path.name()).into())
                .unwrap_or_default(),
            ..PathHints::default()
        },
        plain: path.urn().is_none() && keep.is_none() && !info.hidden,
        plain_urn: path.urn().is_some() && keep.is_none() && !info.hidden,
        keep,
        text: path.to_string().into(),
    };
    (compiled, def)
}

/// Compiles one node. Only `not`, `and`, `or` and value filters recurse here; the leaves are
/// out of line so that each level of nesting costs a small stack frame.
fn compile_node<'s>(
    f: &Filter,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Node {
    if depth > MAX_EVAL_DEPTH {
        return Node::Fail(Failure::TooDeep);
    }
    match f {
        Filter::Compare { path, op, value } => {
            compile_compare(path, *op, value, ctx, registry, depth)
        }
        Filter::Present(path) => compile_present(path, ctx, registry, depth),
        Filter::ValuePath { path, filter } => {
            compile_value_path(path, filter, ctx, registry, depth)
        }
        Filter::Not(inner) => Node::Not(Box::new(compile_node(inner, ctx, registry, depth + 1))),
        Filter::And(..) | Filter::Or(..) => compile_chain(f, ctx, registry, depth),
    }
}

#[inline(never)]
fn compile_chain<'s>(
    f: &Filter,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Node {
    let is_and = matches!(f, Filter::And(..));
    let nodes: Box<[Node]> = chain(f, is_and)
        .into_iter()
        .map(|operand| compile_node(operand, ctx, registry, depth + 1))
        .collect();
    if is_and {
        Node::All(nodes)
    } else {
        Node::Any(nodes)
    }
}

#[inline(never)]
fn compile_compare<'s>(
    path: &AttributePath,
    op: CompareOp,
    value: &CompValue,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Node {
    let (_, info) = resolve(registry, ctx, path);
    match check_compare(info.leaf_kind(path.sub_attribute.is_some()), op, value) {
        Err(message) => Node::Fail(Failure::Invalid {
            path: path.to_string(),
            message,
        }),
        Ok(instant) => {
            let (path, _) = compile_path(path, ctx, registry, depth);
            let text_of_path = path.text.to_string();
            let num = match value {
                CompValue::Number(n) => Some(Num::of(n)),
                _ => None,
            };
            let text = match value {
                CompValue::String(s) => Some(Text::new(s)),
                _ => None,
            };
            Node::Compare(Box::new(CompiledCompare {
                path,
                op,
                value: value.clone(),
                num,
                text,
                instant: instant.as_ref().map(instant_of),
                bool_order: Failure::Invalid {
                    path: text_of_path,
                    message: bool_order_message(op),
                },
            }))
        }
    }
}

#[inline(never)]
fn compile_present<'s>(
    path: &AttributePath,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Node {
    Node::Present(Box::new(compile_path(path, ctx, registry, depth).0))
}

#[inline(never)]
fn compile_value_path<'s>(
    path: &AttributePath,
    filter: &Filter,
    ctx: SchemaCtx<'s>,
    registry: &'s SchemaRegistry,
    depth: usize,
) -> Node {
    let (compiled, def) = compile_path(path, ctx, registry, depth);
    let element_def = match path.sub_attribute() {
        Some(sub) => def.and_then(|d| d.sub_attribute(sub)),
        None => def,
    };
    let inner = compile_node(filter, SchemaCtx::Element(element_def), registry, depth + 1);
    Node::ValuePath(Box::new(compiled), Box::new(inner))
}

/// What evaluating a compiled node gives: the failure is the compiled node's own, turned into
/// an [`Error`] only once evaluation has stopped.
type Eval<'n, M> = std::result::Result<bool, <M as Mode>::Fail<'n>>;

/// How a compiled evaluation reports a failure.
trait Mode {
    /// What a failure carries.
    type Fail<'n>;
    /// A failure at `f`.
    fn fail(f: &Failure) -> Self::Fail<'_>;
}

/// The evaluation that runs first: a failure is only a mark, so that results fit in one
/// register. On failure, [`CompiledFilter::matches`] evaluates again with [`Explain`].
#[derive(Debug)]
enum Fast {}

impl Mode for Fast {
    type Fail<'n> = ();
    #[inline(always)]
    fn fail(_: &Failure) {}
}

/// The evaluation that names the failure (evaluation is deterministic: it fails at the same
/// node as [`Fast`] did).
#[derive(Debug)]
enum Explain {}

impl Mode for Explain {
    type Fail<'n> = &'n Failure;
    fn fail(f: &Failure) -> &Failure {
        f
    }
}

impl Node {
    /// Only `not`, `and`, `or` and value filters recurse here; leaves are out of line.
    ///
    /// A dispatch that inlines into its callers; every case is out of line.
    #[inline(always)]
    fn eval<M: Mode>(&self, scope: Scope<'_>) -> Eval<'_, M> {
        match self {
            Node::Compare(c) => c.eval::<M>(scope),
            Node::Present(p) => p.eval_present::<M>(scope),
            Node::ValuePath(p, inner) => p.eval_value_path::<M>(inner, scope),
            Node::Not(inner) => Node::eval_not::<M>(inner, scope),
            Node::All(nodes) => Node::eval_all::<M>(nodes, scope),
            Node::Any(nodes) => Node::eval_any::<M>(nodes, scope),
            Node::Fail(failure) => Err(M::fail(failure)),
        }
    }

    #[inline(never)]
    fn eval_not<'n, M: Mode>(inner: &'n Node, scope: Scope<'_>) -> Eval<'n, M> {
        Ok(!inner.eval::<M>(scope)?)
    }

    #[inline(never)]
    fn eval_all<'n, M: Mode>(nodes: &'n [Node], scope: Scope<'_>) -> Eval<'n, M> {
        for n in nodes {
            if !n.eval::<M>(scope)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    #[inline(never)]
    fn eval_any<'n, M: Mode>(nodes: &'n [Node], scope: Scope<'_>) -> Eval<'n, M> {
        for n in nodes {
            if n.eval::<M>(scope)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl CompiledCompare {
    #[inline(never)]
    fn eval<M: Mode>(&self, scope: Scope<'_>) -> Eval<'_, M> {
        let p = &self.path;
        if let CompValue::Null = self.value {
            return self.eval_null::<M>(scope);
        }
        let negate = self.op == CompareOp::Ne;
        if p.plain {
            match p.plain_value(scope) {
                Plain::Absent => return Ok(negate),
                Plain::Scalar(v, info) => {
                    let hit = self
                        .leaf(v, info)
                        .map_err(|BoolOrder| M::fail(&self.bool_order))?;
                    return Ok(hit != negate);
                }
                Plain::Other => {}
            }
        }
        self.eval_walk::<M>(scope)
    }

    /// `eval` by the general walk.
    #[inline(never)]
    fn eval_walk<M: Mode>(&self, scope: Scope<'_>) -> Eval<'_, M> {
        let p = &self.path;
        let negate = self.op == CompareOp::Ne;
        if p.plain_urn {
            match p.urn_value(scope) {
                Plain::Absent => return Ok(negate),
                Plain::Scalar(v, info) => {
                    let hit = self
                        .leaf(v, info)
                        .map_err(|BoolOrder| M::fail(&self.bool_order))?;
                    return Ok(hit != negate);
                }
                Plain::Other => {}
            }
        }
        eval_compare(
            scope,
            p,
            p.keep::<M>(),
            self.op == CompareOp::Ne,
            |v, info| {
                self.leaf(v, info)
                    .map_err(|BoolOrder| M::fail(&self.bool_order))
            },
        )
    }

    /// `path eq null` (`not (path pr)`) or `path ne null` (`path pr`).
    #[inline(never)]
    fn eval_null<M: Mode>(&self, scope: Scope<'_>) -> Eval<'_, M> {
        let present = eval_present(scope, &self.path, self.path.keep::<M>())?;
        Ok(present != (self.op == CompareOp::Eq))
    }

    /// [`compare_leaf`] for the cases without a prepared literal.
    #[inline(never)]
    fn leaf_general(&self, v: &Value, info: Info) -> std::result::Result<bool, BoolOrder> {
        // The instant only matters for a string value, handled by `leaf`.
        compare_leaf(v, info, self.op, self.operand(), None)
    }

    /// [`compare_leaf`], with the literal prepared.
    #[inline(always)]
    fn leaf(&self, v: &Value, info: Info) -> std::result::Result<bool, BoolOrder> {
        if let Value::String(s) = v {
            if info.kind == Some(AttributeType::DateTime)
                && let Some(want) = self.instant
            {
                // A stored value that is not a dateTime matches nothing.
                return Ok(parse_instant(s).is_some_and(|got| holds(self.op, got.cmp(&want))));
            }
            if let Some(text) = &self.text {
                match self.op {
                    CompareOp::Eq | CompareOp::Ne => return Ok(text.eq(s, info.case_exact)),
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                        return Ok(text.textual(self.op, s, info.case_exact));
                    }
                    _ => {}
                }
            }
        }
        self.leaf_general(v, info)
    }
}

impl CompiledPath {
    #[inline(never)]
    fn eval_present<M: Mode>(&self, scope: Scope<'_>) -> Eval<'_, M> {
        if self.plain {
            match self.plain_value(scope) {
                Plain::Absent => return Ok(false),
                Plain::Scalar(v, _) => return Ok(is_present(v)),
                Plain::Other => {}
            }
        } else if self.plain_urn {
            match self.urn_value(scope) {
                Plain::Absent => return Ok(false),
                Plain::Scalar(v, _) => return Ok(is_present(v)),
                Plain::Other => {}
            }
        }
        eval_present(scope, self, self.keep::<M>())
    }

    #[inline(never)]
    fn eval_value_path<'n, M: Mode>(&'n self, inner: &'n Node, scope: Scope<'_>) -> Eval<'n, M> {
        // The common case of the general walk: `attr[filter]` on an attribute of an object.
        if self.plain && self.sub.is_none() {
            let m = match scope {
                Scope::Resource(r) => Some(r.as_object()),
                Scope::Element(Value::Object(m)) => Some(m),
                Scope::Element(_) => None,
            };
            if let Some(m) = m {
                let Some(top) = lookup_hinted(m, &self.name, &self.hints.name) else {
                    return Ok(false);
                };
                for element in elements(top) {
                    if inner.eval::<M>(Scope::Element(element))? {
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
        }
        eval_value_path(scope, self, self.keep::<M>(), |e| {
            inner.eval::<M>(Scope::Element(e))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

    /// A path from `[urn:]name[.sub]`, built directly (independent of the parser).
    fn path(s: &str) -> AttributePath {
        let (urn, rest) = match s.rfind(':') {
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        let mut p = match rest.split_once('.') {
            Some((name, sub)) => AttributePath::new(name).with_sub_attribute(sub),
            None => AttributePath::new(rest),
        };
        if let Some(urn) = urn {
            p = p.with_urn(urn);
        }
        p
    }

    fn cmp(p: &str, op: CompareOp, value: serde_json::Value) -> Filter {
        let value = match value {
            serde_json::Value::Null => CompValue::Null,
            serde_json::Value::Bool(b) => CompValue::Bool(b),
            serde_json::Value::Number(n) => CompValue::Number(n),
            serde_json::Value::String(s) => CompValue::String(s),
            other => unreachable!("not a literal: {other}"),
        };
        Filter::Compare {
            path: path(p),
            op,
            value,
        }
    }

    fn eq(p: &str, v: serde_json::Value) -> Filter {
        cmp(p, CompareOp::Eq, v)
    }

    fn vp(p: &str, inner: Filter) -> Filter {
        Filter::ValuePath {
            path: path(p),
            filter: Box::new(inner),
        }
    }

    fn user() -> Resource {
        serde_json::from_value(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "2819c223-7f76",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Élodie Größe",
            "active": true,
            "password": "t1meMa$heen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "x509Certificates": [{"value": "TUlJRERqQ0"}],
            "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
            "shoeSize": 41.5,
            "children": 2,
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "manager": {"value": "26118915"}}
        }))
        .unwrap()
    }

    /// Evaluates with both engines, checks they agree, returns the answer.
    fn check(f: &Filter) -> Result<bool> {
        let registry = SchemaRegistry::default();
        let r = user();
        let slow = f.matches(&r, &registry);
        let fast = f.compile(&registry, USER_SCHEMA).matches(&r);
        match (&slow, &fast) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "engines disagree on {f:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("engines disagree on {f:?}: {slow:?} vs {fast:?}"),
        }
        slow
    }

    fn yes(f: Filter) {
        assert!(check(&f).unwrap(), "expected a match: {f:?}");
    }

    fn no(f: Filter) {
        assert!(!check(&f).unwrap(), "expected no match: {f:?}");
    }

    fn fails(f: Filter) -> String {
        match check(&f) {
            Err(e @ Error::InvalidComparison { .. }) => e.to_string(),
            other => panic!("expected InvalidComparison for {f:?}, got {other:?}"),
        }
    }

    #[test]
    fn strings_follow_case_exact_from_the_schema() {
        yes(eq("userName", json!("BJENSEN")));
        // `id` is caseExact (RFC 7643 §3.1).
        yes(eq("id", json!("2819c223-7f76")));
        no(eq("id", json!("2819C223-7F76")));
        yes(eq("displayName", json!("élodie grösse"))
            .negate()
            .negate()
            .negate());
        yes(eq("displayName", json!("ÉLODIE GRÖSSE"))
            .negate()
            .or(eq("displayName", json!("élodie größe"))));
        yes(cmp("name.familyName", CompareOp::Sw, json!("jEN")));
        yes(cmp("name.familyName", CompareOp::Ew, json!("SEN")));
        yes(cmp("displayName", CompareOp::Co, json!("GRÖ")));
        yes(cmp("userName", CompareOp::Gt, json!("Alice")));
        no(cmp("userName", CompareOp::Lt, json!("BJENSEN")));
        yes(cmp("userName", CompareOp::Le, json!("BJENSEN")));
    }

    #[test]
    fn multi_valued_attributes_match_on_any_value() {
        yes(cmp("emails.value", CompareOp::Co, json!("@JENSEN.org")));
        yes(cmp("emails", CompareOp::Co, json!("example.com")));
        no(cmp("emails", CompareOp::Co, json!("example.net")));
        yes(eq("emails.type", json!("home")));
        // `ne` is `not eq`: there is a work email.
        no(cmp("emails.type", CompareOp::Ne, json!("work")));
        yes(cmp("emails.type", CompareOp::Ne, json!("other")));
        yes(vp(
            "emails",
            eq("type", json!("work")).and(cmp("value", CompareOp::Ew, json!(".COM"))),
        ));
        no(vp(
            "emails",
            eq("type", json!("home")).and(cmp("value", CompareOp::Ew, json!(".com"))),
        ));
        yes(vp("emails", eq("primary", json!(true))));
        yes(eq("schemas", json!(ENTERPRISE_USER_SCHEMA)));
        yes(vp("schemas", eq("value", json!(USER_SCHEMA))));
    }

    #[test]
    fn path_with_value_filter_and_sub_attribute() {
        let work_value = AttributePath::new("emails")
            .with_filter(eq("type", json!("work")))
            .with_sub_attribute("value");
        let f = |v: &str| Filter::Compare {
            path: work_value.clone(),
            op: CompareOp::Eq,
            value: CompValue::String(v.to_owned()),
        };
        yes(f("bjensen@example.com"));
        no(f("babs@jensen.org"));
        yes(Filter::Present(work_value.clone()));
    }

    #[test]
    fn extension_attributes_by_urn() {
        yes(eq(
            &format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber"),
            json!("701984"),
        ));
        yes(eq(
            &format!("{ENTERPRISE_USER_SCHEMA}:manager.value"),
            json!("26118915"),
        ));
        yes(eq(&format!("{USER_SCHEMA}:userName"), json!("bjensen")));
        no(eq("employeeNumber", json!("701984")));
    }

    #[test]
    fn numbers_compare_numerically() {
        yes(cmp("shoeSize", CompareOp::Gt, json!(41)));
        yes(cmp("shoeSize", CompareOp::Le, json!(41.5)));
        yes(eq("children", json!(2.0)));
        yes(cmp("children", CompareOp::Lt, json!(2.5)));
        no(eq("children", json!("2")));
        // Substring operators see the number's text.
        yes(cmp("shoeSize", CompareOp::Sw, json!(41)));
        yes(cmp("children", CompareOp::Co, json!("2")));
    }

    #[test]
    fn datetimes_compare_as_instants() {
        yes(eq("meta.lastModified", json!("2011-05-13T06:42:34+02:00")));
        yes(cmp(
            "meta.lastModified",
            CompareOp::Gt,
            json!("2011-05-13T04:42:33.999Z"),
        ));
        no(cmp(
            "meta.lastModified",
            CompareOp::Gt,
            json!("2011-05-12T23:42:35-05:00"),
        ));
        yes(cmp("meta.created", CompareOp::Sw, json!("2010-01")));
        let msg = fails(cmp(
            "meta.lastModified",
            CompareOp::Gt,
            json!("last tuesday"),
        ));
        assert!(
            msg.contains("meta.lastModified") && msg.contains("not a dateTime"),
            "{msg}"
        );
        fails(eq("meta.created", json!(5)));
        // A null literal is a presence test, not a dateTime.
        no(eq("meta.created", json!(null)));
    }

    #[test]
    fn booleans_and_binary_have_no_order() {
        yes(eq("active", json!(true)));
        no(eq("active", json!(false)));
        no(eq("active", json!("true")));
        let msg = fails(cmp("active", CompareOp::Gt, json!(true)));
        assert!(msg.contains("active") && msg.contains("boolean"), "{msg}");
        // Even when the attribute is absent: the schema decides.
        fails(cmp("emails.primary", CompareOp::Le, json!(false)));
        fails(cmp("x509Certificates.value", CompareOp::Ge, json!("TUl")));
        fails(cmp("x509Certificates", CompareOp::Lt, json!("TUl")));
        fails(cmp("userName", CompareOp::Gt, json!(true)));
        fails(cmp("userName", CompareOp::Co, json!(null)));
        // Binary is case-exact.
        yes(cmp("x509Certificates.value", CompareOp::Sw, json!("TUl")));
        no(cmp("x509Certificates.value", CompareOp::Sw, json!("tul")));
    }

    #[test]
    fn presence_and_null() {
        yes(Filter::Present(path("name.givenName")));
        no(Filter::Present(path("title")));
        yes(eq("title", json!(null)));
        no(eq("userName", json!(null)));
        yes(cmp("emails", CompareOp::Ne, json!(null)));
        // `password` is returned=never: it never matches.
        no(Filter::Present(path("password")));
        no(eq("password", json!("t1meMa$heen")));
        yes(eq("password", json!(null)));
    }

    #[test]
    fn presence_of_empty_values() {
        for (v, present) in [
            (json!(null), false),
            (json!(""), false),
            (json!([]), false),
            (json!({}), false),
            (json!([null, "", {}]), false),
            (json!({"a": "", "b": [null]}), false),
            (json!({"a": "", "b": [0]}), true),
            (json!(false), true),
            (json!(0), true),
            (json!(" "), true),
        ] {
            assert_eq!(is_present(&v), present, "{v}");
        }
        let mut deep = json!("x");
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert!(is_present(&deep));
    }

    #[test]
    fn logic_short_circuits() {
        let bad = cmp("active", CompareOp::Gt, json!(true));
        yes(eq("userName", json!("bjensen")).or(bad.clone()));
        no(eq("userName", json!("x")).and(bad.clone()));
        fails(eq("userName", json!("bjensen")).and(bad.clone()));
        fails(bad.clone().negate());
        // Long flat chains are not nesting.
        let mut chain = eq("userName", json!("x"));
        for i in 0..1_000 {
            chain = chain.or(eq("userName", json!(format!("u{i}"))));
        }
        no(chain.clone());
        yes(chain.or(eq("userName", json!("bjensen"))));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut f = eq("userName", json!("bjensen"));
        for _ in 0..MAX_EVAL_DEPTH {
            f = f.negate();
        }
        // Exactly at the limit: evaluates (an even count of `not`s keeps the answer).
        assert!(check(&f).unwrap());
        let f = f.negate();
        let registry = SchemaRegistry::default();
        // Run on the default stack of a spawned thread (2 MiB), in a debug build.
        let outcome = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let slow = f.matches(&user(), &registry).map_err(|e| e.to_string());
                let fast = f
                    .compile(&registry, USER_SCHEMA)
                    .matches(&user())
                    .map_err(|e| e.to_string());
                // Dropping a deep `Filter` recurses; forget it here, it is a test.
                std::mem::forget(f);
                (slow, fast)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcome.0, outcome.1);
        assert!(outcome.0.unwrap_err().contains("deeper than 256"));
    }

    #[test]
    fn element_matches_evaluates_relative_to_one_element() {
        let registry = SchemaRegistry::default();
        let emails = registry.attribute_in(USER_SCHEMA, &path("emails"));
        let f = eq("type", json!("WORK")).and(cmp("value", CompareOp::Co, json!("@example")));
        let work = json!({"value": "bjensen@example.com", "type": "work"});
        let home = json!({"value": "babs@example.com", "type": "home"});
        assert!(element_matches(&f, &work, emails, &registry).unwrap());
        assert!(!element_matches(&f, &home, emails, &registry).unwrap());
        // `value` of a primitive element is the element.
        let schemas = registry.attribute_in(USER_SCHEMA, &path("schemas"));
        let f = eq("value", json!(USER_SCHEMA));
        assert!(element_matches(&f, &json!(USER_SCHEMA), schemas, &registry).unwrap());
        // schemas is caseExact.
        let upper = json!(USER_SCHEMA.to_uppercase());
        assert!(!element_matches(&f, &upper, schemas, &registry).unwrap());
        // Without a definition: case-insensitive, type from the value.
        assert!(element_matches(&f, &upper, None, &registry).unwrap());
        let f = cmp("primary", CompareOp::Gt, json!(false));
        assert!(element_matches(&f, &json!({"primary": true}), emails, &registry).is_err());
    }

    #[test]
    fn urn_paths_read_what_resource_attribute_reads() {
        let registry = SchemaRegistry::default();
        let ext = ENTERPRISE_USER_SCHEMA;
        let resources = [
            json!({"schemas": [USER_SCHEMA, ext], ext: {"department": "Sales"}}),
            json!({"schemas": [USER_SCHEMA], ext.to_uppercase(): {"DEPARTMENT": "Sales"}}),
            json!({"schemas": [USER_SCHEMA, ext], format!("{ext}:department"): "Sales"}),
            json!({"schemas": [USER_SCHEMA], ext: "not a block", "department": "Sales"}),
            json!({"schemas": [ext.to_lowercase()], "department": "Sales"}),
            json!({"department": "Sales", "userName": "bjensen"}),
            json!({"schemas": [USER_SCHEMA.to_uppercase()], "userName": "bjensen"}),
            json!({"schemas": [], "userName": "bjensen"}),
            json!({"schemas": [ext], "USERNAME": "bjensen", "userName": "x"}),
        ];
        let filters = [
            format!(r#"{ext}:department eq "sales""#),
            format!(r#"{ext}:DEPARTMENT pr"#),
            format!(r#"{USER_SCHEMA}:userName eq "bjensen""#),
            format!(r#"{}:username pr"#, USER_SCHEMA.to_lowercase()),
            r#"urn:x:department eq "Sales""#.to_owned(),
        ];
        for f in &filters {
            let f = Filter::parse(f).unwrap();
            let compiled = f.compile(&registry, USER_SCHEMA);
            // Twice over the list: hints left by one resource must not mislead on the next.
            for r in resources.iter().chain(&resources) {
                let r = Resource::from_value(r.clone()).unwrap();
                let want = f.matches(&r, &registry).unwrap();
                assert_eq!(compiled.matches(&r).unwrap(), want, "{f} on {r:?}");
            }
        }
    }

    #[test]
    fn compiled_filter_is_send_sync_clone_debug() {
        fn assert_traits<T: Send + Sync + Clone + fmt::Debug + 'static>() {}
        assert_traits::<CompiledFilter>();
    }
}
