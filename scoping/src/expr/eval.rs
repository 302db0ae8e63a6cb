//! The evaluator: walks the syntax tree against a source resource.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::Regex;
use scim_model::{Resource, SchemaRegistry};
use serde_json::Value;

use super::ast::{CompareOp, Node};
use super::compiled::{Code, Func};
use super::functions::{dates, other, text};
use super::value::ExprValue;
use super::{EvalContext, Expression};
use crate::error::{Error, Result};

/// Compiles every regex pattern written as a constant (argument 3 of `Replace`).
pub(crate) fn collect_regexes(node: &Node, out: &mut BTreeMap<String, Regex>) -> Result<()> {
    match node {
        Node::Call { name, args } => {
            if name == "Replace"
                && let Some(Some(Node::Str(pattern))) = args.get(2)
                && !out.contains_key(pattern)
            {
                let re = compile_regex(pattern)?;
                out.insert(pattern.clone(), re);
            }
            for arg in args.iter().flatten() {
                collect_regexes(arg, out)?;
            }
        }
        Node::Concat(parts) => {
            for p in parts {
                collect_regexes(p, out)?;
            }
        }
        Node::Compare { left, right, .. } => {
            collect_regexes(left, out)?;
            collect_regexes(right, out)?;
        }
        _ => {}
    }
    Ok(())
}

/// Compiles a `Replace` pattern, with a bound on the compiled size.
pub(crate) fn build_regex(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
}

pub(crate) fn compile_regex(pattern: &str) -> Result<Regex> {
    build_regex(pattern).map_err(|e| {
        fail(
            "Replace",
            format!("argument 3 (regexPattern) is not a supported regular expression: {e}"),
        )
    })
}

/// An evaluation error of `function`.
pub(crate) fn fail(function: &str, message: impl Into<String>) -> Error {
    Error::ExpressionFailed {
        function: function.to_owned(),
        message: message.into(),
    }
}

/// How a value is shown in an error message.
pub(crate) fn show(value: &ExprValue) -> String {
    match value {
        ExprValue::Null | ExprValue::IgnoreFlow => "null".to_owned(),
        ExprValue::String(s) => format!("{s:?}"),
        ExprValue::Multi(_) => format!("multiple values [{value}]"),
        other => other.to_string(),
    }
}

/// An argument error: "argument 2 (start) must be a number, found \"x\"".
pub(crate) fn bad_arg(
    function: &str,
    index: usize,
    name: &str,
    must: &str,
    found: &ExprValue,
) -> Error {
    fail(
        function,
        format!(
            "argument {index} ({name}) must be {must}, found {}",
            show(found)
        ),
    )
}

pub(crate) struct Eval<'e> {
    pub(crate) resource: &'e Resource,
    pub(crate) ctx: &'e EvalContext<'e>,
    pub(crate) redacted: bool,
}

pub(crate) fn evaluate(
    expr: &Expression,
    resource: &Resource,
    ctx: &EvalContext<'_>,
) -> Result<ExprValue> {
    let mut ev = Eval {
        resource,
        ctx,
        redacted: false,
    };
    let value = ev.node(&expr.code, true)?;
    Ok(if ev.redacted && !value.is_ignore_flow() {
        ExprValue::Redacted(Box::new(value))
    } else {
        value
    })
}

impl<'e> Eval<'e> {
    /// A node's value below the top (as `node(n, false)`), borrowed when it is a string
    /// constant or an attribute holding one string: no copy for functions that only read
    /// the text.
    pub(crate) fn node_ref<'a>(&mut self, node: &'a Code) -> Result<ArgRef<'a>>
    where
        'e: 'a,
    {
        match node {
            Code::Str(s) => Ok(ArgRef::Str(s)),
            Code::Attribute(a) => Ok(match self.attribute_str(a) {
                Some(s) => ArgRef::Str(s),
                None => ArgRef::Value(self.attribute(a)),
            }),
            n => self.node(n, false).map(ArgRef::Value),
        }
    }

    /// Argument `i` as [`Eval::arg`] gives it, borrowed as [`Eval::node_ref`] can.
    pub(crate) fn arg_ref<'a>(&mut self, args: &'a [Option<Code>], i: usize) -> Result<ArgRef<'a>>
    where
        'e: 'a,
    {
        match args.get(i) {
            Some(Some(n)) => self.node_ref(n),
            _ => Ok(ArgRef::Value(ExprValue::Null)),
        }
    }

    /// The attribute's value when [`Eval::attribute`] would give one string, borrowed.
    pub(crate) fn attribute_str(&self, a: &super::ast::AttributeRef) -> Option<&'e str> {
        let (Some(path), Some(reader)) = (a.path(), a.reader()) else {
            return None;
        };
        let top = reader.top(self.resource)?;
        if path.filter().is_some() && top.is_array() {
            return None;
        }
        let value = match reader.sub() {
            None => top,
            Some(_) => reader.sub_in(top.as_object()?)?,
        };
        value.as_str()
    }

    pub(crate) fn node(&mut self, node: &Code, top: bool) -> Result<ExprValue> {
        Ok(match node {
            Code::Str(s) => ExprValue::String(s.clone()),
            Code::Const(v) => v.clone(),
            Code::Attribute(a) => self.attribute(a),
            Code::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    let v = self.node(p, false)?;
                    s.push_str(&scalar_text("&", 0, "operand", &v)?);
                }
                ExprValue::String(s)
            }
            Code::Compare { op, left, right } => {
                let l = self.node_ref(left)?;
                let r = self.node_ref(right)?;
                ExprValue::Bool(compare(
                    *op,
                    &l.scalar_str(op.as_str(), 1, "left")?,
                    &r.scalar_str(op.as_str(), 2, "right")?,
                ))
            }
            Code::Call { func, args, regex } => {
                let v = self.call(*func, args, top, regex.as_ref())?;
                if top {
                    v
                } else if v.is_ignore_flow() {
                    ExprValue::Null
                } else {
                    v
                }
            }
        })
    }

    /// Argument `i` (0-based): Null when omitted.
    pub(crate) fn arg(&mut self, args: &[Option<Code>], i: usize) -> Result<ExprValue> {
        match args.get(i) {
            Some(Some(n)) => {
                let v = self.node(n, false)?;
                Ok(if v.is_ignore_flow() {
                    ExprValue::Null
                } else {
                    v
                })
            }
            _ => Ok(ExprValue::Null),
        }
    }

    /// Whether argument `i` is written.
    pub(crate) fn given(args: &[Option<Code>], i: usize) -> bool {
        matches!(args.get(i), Some(Some(_)))
    }

    pub(crate) fn attribute(&self, a: &super::ast::AttributeRef) -> ExprValue {
        let (Some(path), Some(reader)) = (a.path(), a.reader()) else {
            return self
                .resource
                .get(a.text().trim())
                .map(ExprValue::from_json)
                .unwrap_or(ExprValue::Null);
        };
        let Some(value) = reader.top(self.resource) else {
            return ExprValue::Null;
        };
        if let (Some(filter), Value::Array(items)) = (path.filter(), value) {
            let filtered: Vec<&Value> = items
                .iter()
                .filter(|item| match item {
                    Value::Object(m) => Resource::from_object(m.clone())
                        .ok()
                        .and_then(|r| filter.matches(&r, &SchemaRegistry::default()).ok())
                        .unwrap_or(false),
                    _ => false,
                })
                .collect();
            let Some(sub) = path.sub_attribute() else {
                return ExprValue::Multi(filtered.into_iter().map(ExprValue::from_json).collect());
            };
            let values: Vec<ExprValue> = filtered
                .into_iter()
                .filter_map(|item| item.as_object().and_then(|m| scim_model::get_ci(m, sub)))
                .map(ExprValue::from_json)
                .collect();
            return match values.len() {
                0 => ExprValue::Null,
                _ => ExprValue::Multi(values),
            };
        }
        if reader.sub().is_none() {
            return ExprValue::from_json(value);
        }
        match value {
            Value::Object(m) => reader
                .sub_in(m)
                .map(ExprValue::from_json)
                .unwrap_or(ExprValue::Null),
            Value::Array(items) => {
                let values: Vec<ExprValue> = items
                    .iter()
                    .filter_map(|item| item.as_object().and_then(|m| reader.sub_in(m)))
                    .map(ExprValue::from_json)
                    .collect();
                match values.len() {
                    0 => ExprValue::Null,
                    _ => ExprValue::Multi(values),
                }
            }
            _ => ExprValue::Null,
        }
    }

    pub(crate) fn call(
        &mut self,
        func: Func,
        args: &[Option<Code>],
        top: bool,
        regex: Option<&Regex>,
    ) -> Result<ExprValue> {
        if func == Func::Replace {
            return text::replace(self, args, regex);
        }
        if let Some(v) = text::call(self, func, args)? {
            return Ok(v);
        }
        if let Some(v) = dates::call(self, func, args)? {
            return Ok(v);
        }
        if let Some(v) = other::call(self, func, args, top)? {
            return Ok(v);
        }
        Err(fail(func.name(), "unknown function"))
    }
}

/// One value as text; a multi-valued value is an error, Null is `""`.
pub(crate) fn scalar_text(
    function: &str,
    index: usize,
    name: &str,
    v: &ExprValue,
) -> Result<String> {
    scalar_str(function, index, name, v).map(Cow::into_owned)
}

/// [`scalar_text`], borrowed from `v` where the text is already there.
pub(crate) fn scalar_str<'v>(
    function: &str,
    index: usize,
    name: &str,
    v: &'v ExprValue,
) -> Result<Cow<'v, str>> {
    match v {
        ExprValue::Multi(items) if items.len() > 1 => {
            Err(bad_arg(function, index, name, "a single value", v))
        }
        ExprValue::Multi(items) => Ok(items.first().map_or(Cow::Borrowed(""), ExprValue::text)),
        other => Ok(other.text()),
    }
}

/// One value as an integer (integers, and strings holding one).
pub(crate) fn number(function: &str, index: usize, name: &str, v: &ExprValue) -> Result<i64> {
    match v {
        ExprValue::Number(n) => Ok(*n),
        ExprValue::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| bad_arg(function, index, name, "a number", v)),
        ExprValue::Multi(items) if items.len() == 1 => number(function, index, name, &items[0]),
        _ => Err(bad_arg(function, index, name, "a number", v)),
    }
}

/// A value as a boolean: booleans, `True`/`False` in any case, integers (non-zero is true).
pub(crate) fn boolean(v: &ExprValue) -> Option<bool> {
    match v {
        ExprValue::Bool(b) => Some(*b),
        ExprValue::Number(n) => Some(*n != 0),
        ExprValue::String(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                t.parse::<i64>().ok().map(|n| n != 0)
            }
        }
        ExprValue::Multi(items) if items.len() == 1 => boolean(&items[0]),
        _ => None,
    }
}

/// A comparison of two texts: as integers when both are, else ordinal.
fn compare(op: CompareOp, ls: &str, rs: &str) -> bool {
    let ord = match (ls.trim().parse::<i64>(), rs.trim().parse::<i64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => ls.cmp(rs),
    };
    match op {
        CompareOp::Eq => ord.is_eq(),
        CompareOp::Ne => ord.is_ne(),
        CompareOp::Gt => ord.is_gt(),
        CompareOp::Ge => ord.is_ge(),
        CompareOp::Lt => ord.is_lt(),
        CompareOp::Le => ord.is_le(),
    }
}

/// An argument as [`Eval::arg_ref`] reads it: a string borrowed from the expression or the
/// source resource, or a value.
#[derive(Debug)]
pub(crate) enum ArgRef<'a> {
    /// One string (never no value).
    Str(&'a str),
    /// Any value.
    Value(ExprValue),
}

impl ArgRef<'_> {
    /// The owned value, as [`Eval::arg`] gives it.
    pub(crate) fn into_value(self) -> ExprValue {
        match self {
            ArgRef::Str(s) => ExprValue::String(s.to_owned()),
            ArgRef::Value(v) => v,
        }
    }

    /// Whether this is no value.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, ArgRef::Value(ExprValue::Null))
    }

    /// [`ExprValue::is_null_or_empty`].
    pub(crate) fn is_null_or_empty(&self) -> bool {
        match self {
            ArgRef::Str(s) => s.is_empty(),
            ArgRef::Value(v) => v.is_null_or_empty(),
        }
    }

    /// [`scalar_str`] of the value.
    pub(crate) fn scalar_str(
        &self,
        function: &str,
        index: usize,
        name: &str,
    ) -> Result<Cow<'_, str>> {
        match self {
            ArgRef::Str(s) => Ok(Cow::Borrowed(s)),
            ArgRef::Value(v) => scalar_str(function, index, name, v),
        }
    }

    /// [`map_text`] of the value.
    pub(crate) fn map_text(
        self,
        f: &mut dyn FnMut(&str) -> Result<ExprValue>,
    ) -> Result<ExprValue> {
        match self {
            ArgRef::Str(s) => f(s),
            ArgRef::Value(v) => map_text(v, f),
        }
    }
}

/// Applies `f` to the text of each value: Null stays Null, Multi maps per value.
pub(crate) fn map_text(
    v: ExprValue,
    f: &mut dyn FnMut(&str) -> Result<ExprValue>,
) -> Result<ExprValue> {
    match v {
        ExprValue::Null | ExprValue::IgnoreFlow => Ok(ExprValue::Null),
        ExprValue::Multi(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(map_text(item, f)?);
            }
            Ok(ExprValue::Multi(out))
        }
        other => f(&other.text()),
    }
}
