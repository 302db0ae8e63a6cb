//! One mapping, compiled: its paths parsed, and the value it gives for a source object.

use std::borrow::Cow;

use scim_model::{AttributePath, CompareOp, Filter, Resource};
#[cfg(test)]
use scim_model::{CompValue, get_ci};
use serde_json::Value;

use super::{AttributeMapping, MAX_EXPRESSION_LEN, MappingSource};
use crate::expr::{EvalContext, Expression, Node};
use crate::read::PathValue;
use crate::{Error, Result};

/// What a mapping gives for one source object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Flow {
    /// A non-empty value.
    Value(Value),
    /// The source is null or empty.
    Null,
    /// The expression asked that the attribute not flow (`IgnoreFlowIfNullOrEmpty`).
    Ignore,
}

#[derive(Clone, Debug)]
pub(crate) enum Source {
    Direct(PathValue),
    Constant(Value),
    /// The parsed expression.
    Expression(Box<Expression>),
    None,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledMapping {
    pub(crate) index: usize,
    pub(crate) spec: AttributeMapping,
    pub(crate) target: AttributePath,
    /// The target path, for reading the current target on update.
    pub(crate) target_reader: PathValue,
    pub(crate) source: Source,
}

impl CompiledMapping {
    pub(crate) fn invalid(&self, message: String) -> Error {
        Error::InvalidMapping {
            index: self.index,
            target: self.spec.target_attribute.clone(),
            message,
        }
    }

    pub(crate) fn new(index: usize, spec: AttributeMapping) -> Result<Self> {
        let invalid = |message: String| Error::InvalidMapping {
            index,
            target: spec.target_attribute.clone(),
            message,
        };
        let target = AttributePath::parse(&spec.target_attribute)
            .map_err(|e| invalid(format!("bad target attribute: {e}")))?;
        if target.name().eq_ignore_ascii_case("id")
            && target.sub_attribute().is_none()
            && target.urn().is_none_or(|u| {
                u.to_ascii_lowercase()
                    .starts_with("urn:ietf:params:scim:schemas:core:")
            })
        {
            return Err(invalid(
                "the target's id is assigned by the target and cannot be mapped".to_owned(),
            ));
        }
        let source = match &spec.source {
            MappingSource::Direct { path } => Source::Direct(PathValue::new(
                &AttributePath::parse(path)
                    .map_err(|e| invalid(format!("bad source path '{path}': {e}")))?,
            )),
            MappingSource::Constant { value } => Source::Constant(value.clone()),
            MappingSource::Expression { expression } => {
                let len = expression.chars().count();
                if len > MAX_EXPRESSION_LEN {
                    return Err(invalid(format!(
                        "the expression has {len} characters, more than {MAX_EXPRESSION_LEN}"
                    )));
                }
                if expression.trim().is_empty() {
                    return Err(invalid("the expression is empty".to_owned()));
                }
                let parsed = Expression::parse(expression)
                    .map_err(|e| invalid(format!("bad expression: {e}")))?;
                Source::Expression(Box::new(parsed))
            }
            MappingSource::None => Source::None,
        };
        if spec.is_matching() {
            if matches!(source, Source::None) {
                return Err(invalid(
                    "a matching attribute needs a source (Direct, Constant or Expression)"
                        .to_owned(),
                ));
            }
            if let Source::Expression(expr) = &source
                && calls_select_unique_value(expr.root())
            {
                return Err(invalid(
                    "SelectUniqueValue cannot be used on a matching attribute".to_owned(),
                ));
            }
        }
        Ok(CompiledMapping {
            index,
            spec,
            target_reader: PathValue::new(&target),
            target,
            source,
        })
    }

    /// The value this mapping gives for `source` (before defaults), and whether it was
    /// produced through `Redact` (logs must hide it).
    pub(crate) fn flow(&self, source: &Resource, ctx: &EvalContext<'_>) -> Result<(Flow, bool)> {
        let value = match &self.source {
            Source::Direct(path) => path.read(source).map(Cow::into_owned),
            Source::Constant(v) => Some(v.clone()),
            Source::None => None,
            Source::Expression(expr) => {
                let value = expr
                    .evaluate(source, ctx)
                    .map_err(|e| Error::MappingExpression {
                        target: self.spec.target_attribute.clone(),
                        source: Box::new(e),
                    })?;
                if value.is_ignore_flow() {
                    return Ok((Flow::Ignore, false));
                }
                let redacted = value.is_redacted();
                if value.is_null_or_empty() {
                    return Ok((Flow::Null, redacted));
                }
                let json = value.into_json();
                return Ok(if is_empty(&json) {
                    (Flow::Null, redacted)
                } else {
                    (Flow::Value(json), redacted)
                });
            }
        };
        Ok(match value {
            Some(v) if !is_empty(&v) => (Flow::Value(v), false),
            _ => (Flow::Null, false),
        })
    }
}

impl CompiledMapping {
    /// What [`super::diff`]'s `create_value` gives (the flowing value, else the non-empty
    /// default value, else nothing), written into `slot` instead of returned: `Ok(true)` when
    /// a value was written, `Ok(false)` (and `slot` left `null`) when there is none. The
    /// Direct, Constant and default values are copied once, from where they are, straight
    /// into the slot, reusing the slot's string when it holds one; [`CompiledMapping::flow`]
    /// stays the definition (a test checks they agree).
    pub(crate) fn create_into(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
        slot: &mut Value,
    ) -> Result<bool> {
        match &self.source {
            // `read` gives only non-empty values.
            Source::Direct(path) => {
                if let Some(v) = path.read(source) {
                    match v {
                        Cow::Borrowed(v) => assign(slot, v),
                        Cow::Owned(v) => *slot = v,
                    }
                    return Ok(true);
                }
            }
            Source::Constant(v) => {
                if !is_empty(v) {
                    assign(slot, v);
                    return Ok(true);
                }
            }
            Source::None => {}
            Source::Expression(expr) => {
                // A text result is written into the slot's string, as `flow` would give it.
                let mut buf = match slot {
                    Value::String(s) => std::mem::take(s),
                    _ => String::new(),
                };
                let result = expr.evaluate_into(source, ctx, &mut buf).map_err(|e| {
                    Error::MappingExpression {
                        target: self.spec.target_attribute.clone(),
                        source: Box::new(e),
                    }
                })?;
                match result {
                    None => {
                        let empty = buf.is_empty();
                        *slot = Value::String(buf);
                        if !empty {
                            return Ok(true);
                        }
                    }
                    Some(value) => {
                        if value.is_ignore_flow() {
                            *slot = Value::Null;
                            return Ok(false);
                        }
                        if !value.is_null_or_empty() {
                            let json = value.into_json();
                            if !is_empty(&json) {
                                *slot = json;
                                return Ok(true);
                            }
                        }
                    }
                }
            }
        }
        match &self.spec.default_value {
            Some(d) if !is_empty(d) => {
                assign(slot, d);
                Ok(true)
            }
            _ => {
                *slot = Value::Null;
                Ok(false)
            }
        }
    }
}

/// `*slot = value.clone()`, but a string copied into a slot holding a string reuses its
/// buffer (what `String::clone_from` does).
pub(crate) fn assign(slot: &mut Value, value: &Value) {
    match (slot, value) {
        (Value::String(to), Value::String(from)) => to.clone_from(from),
        (slot, value) => *slot = value.clone(),
    }
}

/// Whether an expression calls `SelectUniqueValue` anywhere (a unique value generated at
/// create cannot be matched on).
pub(crate) fn calls_select_unique_value(node: &Node) -> bool {
    match node {
        Node::Call { name, args } => {
            name == "SelectUniqueValue" || args.iter().flatten().any(calls_select_unique_value)
        }
        Node::Concat(parts) => parts.iter().any(calls_select_unique_value),
        Node::Compare { left, right, .. } => {
            calls_select_unique_value(left) || calls_select_unique_value(right)
        }
        _ => false,
    }
}

/// Whether a value counts as empty: null, `""`, `[]`, `{}`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

/// The value at `path` in `resource`: a value-filter path reads the first element its filter
/// selects; a sub-attribute of a multi-valued attribute reads every element's. Empty → `None`.
///
/// The plain definition, kept as the oracle of the tests of [`PathValue::read`], which
/// mappings use.
#[cfg(test)]
pub(crate) fn read_path(resource: &Resource, path: &AttributePath) -> Option<Value> {
    let top = resource.attribute(path.urn(), path.name())?;
    let value = match (path.filter(), path.sub_attribute()) {
        (Some(filter), sub) => {
            let element = match top {
                Value::Array(items) => items.iter().find(|e| element_matches(filter, e))?,
                single if element_matches(filter, single) => single,
                _ => return None,
            };
            match sub {
                Some(sub) => get_ci(element.as_object()?, sub)?.clone(),
                None => element.clone(),
            }
        }
        (None, Some(sub)) => match top {
            Value::Object(o) => get_ci(o, sub)?.clone(),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|e| e.as_object().and_then(|o| get_ci(o, sub)))
                    .filter(|v| !is_empty(v))
                    .cloned()
                    .collect(),
            ),
            _ => return None,
        },
        (None, None) => top.clone(),
    };
    (!is_empty(&value)).then_some(value)
}

/// Whether an element of a multi-valued attribute matches a value filter. Comparisons of
/// strings ignore case and a boolean equals `"True"`/`"False"` (what Entra writes in
/// `roles[primary eq "True"]`); `and`, `or`, `not` and `pr` are supported; other operators
/// never match.
///
/// The plain definition, kept as the oracle of the tests of [`crate::read::ElementTest`],
/// which mappings and scoping filters use.
#[cfg(test)]
pub(crate) fn element_matches(filter: &Filter, element: &Value) -> bool {
    let Value::Object(obj) = element else {
        return false;
    };
    match filter {
        Filter::Compare { path, op, value } => {
            let actual = get_ci(obj, path.name()).and_then(|v| match path.sub_attribute() {
                Some(sub) => v.as_object().and_then(|o| get_ci(o, sub)),
                None => Some(v),
            });
            let eq = actual.is_some_and(|a| loosely_equal(a, value));
            match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                _ => false,
            }
        }
        Filter::Present(path) => get_ci(obj, path.name()).is_some_and(|v| !is_empty(v)),
        Filter::And(a, b) => element_matches(a, element) && element_matches(b, element),
        Filter::Or(a, b) => element_matches(a, element) || element_matches(b, element),
        Filter::Not(a) => !element_matches(a, element),
        _ => false,
    }
}

/// Whether `element_matches` decides `filter` by itself (only `eq`, `ne`, `pr`, `and`, `or`,
/// `not`, over plain sub-attributes).
pub(crate) fn is_simple(filter: &Filter) -> bool {
    match filter {
        Filter::Compare { path, op, .. } => {
            matches!(op, CompareOp::Eq | CompareOp::Ne)
                && path.urn().is_none()
                && path.filter().is_none()
        }
        Filter::Present(path) => {
            path.urn().is_none() && path.filter().is_none() && path.sub_attribute().is_none()
        }
        Filter::And(a, b) | Filter::Or(a, b) => is_simple(a) && is_simple(b),
        Filter::Not(a) => is_simple(a),
        _ => false,
    }
}

#[cfg(test)]
fn loosely_equal(actual: &Value, literal: &CompValue) -> bool {
    match (actual, literal) {
        (Value::String(a), CompValue::String(b)) => a
            .chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase)),
        (Value::Bool(a), CompValue::Bool(b)) => a == b,
        (Value::Bool(a), CompValue::String(b)) => {
            b.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        (Value::String(a), CompValue::Bool(b)) => {
            a.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (Value::Number(a), CompValue::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Null, CompValue::Null) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_unique_value_is_found_as_a_call_only() {
        let calls = |t: &str| calls_select_unique_value(Expression::parse(t).unwrap().root());
        assert!(calls("SelectUniqueValue(Join(\"@\", [a], \"x\"), [b])"));
        assert!(!calls("Join(\"\", \"SelectUniqueValue(\", [a])"));
        assert!(!calls("[SelectUniqueValue]"));
    }

    #[test]
    fn reads_value_filter_paths() {
        let r = Resource::from_value(serde_json::json!({
            "phoneNumbers": [{"type": "Work", "value": "1"}, {"type": "mobile", "value": "2"}],
            "roles": [{"primary": true, "value": "admin"}]
        }))
        .unwrap();
        let p = |s: &str| AttributePath::parse(s).unwrap();
        assert_eq!(
            read_path(&r, &p(r#"phoneNumbers[type eq "work"].value"#)),
            Some("1".into())
        );
        assert_eq!(
            read_path(&r, &p(r#"roles[primary eq "True"].value"#)),
            Some("admin".into())
        );
        assert_eq!(
            read_path(&r, &p(r#"phoneNumbers[type eq "fax"].value"#)),
            None
        );
        assert_eq!(
            read_path(&r, &p("phoneNumbers.value")),
            Some(serde_json::json!(["1", "2"]))
        );
    }
}
