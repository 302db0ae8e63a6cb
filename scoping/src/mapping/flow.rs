//! One mapping, compiled: its paths parsed, and the value it gives for a source object.

use scim_model::{AttributePath, CompValue, CompareOp, Filter, Resource, get_ci};
use serde_json::Value;

use super::{AttributeMapping, MAX_EXPRESSION_LEN, MappingSource};
use crate::{Error, Result};

/// What a mapping gives for one source object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Flow {
    /// A non-empty value.
    Value(Value),
    /// The source is null or empty.
    Null,
    /// The expression asked that the attribute not flow (`IgnoreFlowIfNullOrEmpty`).
    #[allow(dead_code)]
    Ignore,
}

#[derive(Clone, Debug)]
pub(crate) enum Source {
    Direct(AttributePath),
    Constant(Value),
    /// The expression's text, checked for length. Evaluating it needs the expression module.
    Expression(String),
    None,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledMapping {
    pub(crate) index: usize,
    pub(crate) spec: AttributeMapping,
    pub(crate) target: AttributePath,
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
            MappingSource::Direct { path } => Source::Direct(
                AttributePath::parse(path)
                    .map_err(|e| invalid(format!("bad source path '{path}': {e}")))?,
            ),
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
                Source::Expression(expression.clone())
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
            if let Source::Expression(text) = &source
                && calls_select_unique_value(text)
            {
                return Err(invalid(
                    "SelectUniqueValue cannot be used on a matching attribute".to_owned(),
                ));
            }
        }
        Ok(CompiledMapping {
            index,
            spec,
            target,
            source,
        })
    }

    /// The value this mapping gives for `source` (before defaults).
    pub(crate) fn flow(&self, source: &Resource) -> Result<Flow> {
        let value = match &self.source {
            Source::Direct(path) => read_path(source, path),
            Source::Constant(v) => Some(v.clone()),
            Source::None => None,
            Source::Expression(_) => {
                return Err(Error::MappingFailed {
                    target: self.spec.target_attribute.clone(),
                    message: "expression sources cannot be evaluated yet (the expression language is not built)".to_owned(),
                });
            }
        };
        Ok(match value {
            Some(v) if !is_empty(&v) => Flow::Value(v),
            _ => Flow::Null,
        })
    }
}

/// Whether an expression's text calls `SelectUniqueValue` (function names ignore case, as
/// Entra's; a name inside a string literal does not count).
pub(crate) fn calls_select_unique_value(text: &str) -> bool {
    const NAME: &str = "selectuniquevalue";
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if word_start
            && bytes.len() - i >= NAME.len()
            && bytes[i..i + NAME.len()].eq_ignore_ascii_case(NAME.as_bytes())
        {
            let rest = &text[i + NAME.len()..];
            if rest.trim_start().starts_with('(') {
                return true;
            }
        }
        i += 1;
    }
    false
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
        assert!(calls_select_unique_value(
            "SelectUniqueValue(Join(\"@\", [a], \"x\"))"
        ));
        assert!(calls_select_unique_value("Trim(selectuniquevalue ([a]))"));
        assert!(!calls_select_unique_value(
            "Join(\"\", \"SelectUniqueValue(\", [a])"
        ));
        assert!(!calls_select_unique_value("MySelectUniqueValue([a])"));
        assert!(!calls_select_unique_value("[SelectUniqueValue]"));
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
