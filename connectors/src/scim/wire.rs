//! A PATCH as it goes on the wire: the forms scim-model accepts but RFC 7644 lacks are
//! rewritten into RFC forms with the same meaning, so a strict server takes them.
//!
//! The one such form: `remove` with a `value` list (what Entra sends to remove group
//! members, `{"op": "remove", "path": "members", "value": [{"value": "id"}]}`). RFC 7644
//! §3.5.2.2 gives `remove` no value — a filter in the path says what to remove — and strict
//! servers refuse it (scim2-server: `invalidValue`). It becomes
//! `remove members[value eq "id1" or value eq "id2"]`, in operations of at most
//! [`VALUES_PER_OPERATION`] values so no filter grows unbounded; the request stays one
//! atomic PATCH.

use scim_model::patch::{PatchOp, PatchOpKind, PatchOperation};
use scim_model::{AttributePath, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

/// The most values one rewritten `remove` names.
pub(super) const VALUES_PER_OPERATION: usize = 50;

/// The PATCH to send for `patch`: the same operations, with value-list removes rewritten.
/// Borrowed unchanged when nothing needs rewriting.
pub(super) fn wire_patch(patch: &PatchOp) -> std::borrow::Cow<'_, PatchOp> {
    if !patch.operations().iter().any(|op| rewrite(op).is_some()) {
        return std::borrow::Cow::Borrowed(patch);
    }
    let mut out = Vec::with_capacity(patch.operations().len());
    for op in patch.operations() {
        match rewrite(op) {
            Some(ops) => out.extend(ops),
            None => out.push(op.clone()),
        }
    }
    std::borrow::Cow::Owned(PatchOp::from_operations(out))
}

/// The RFC operations for a value-list `remove`, or `None` when `op` is not one this module
/// can rewrite (it is then sent as it is). An empty result: the values name nothing.
fn rewrite(op: &PatchOperation) -> Option<Vec<PatchOperation>> {
    if op.op != PatchOpKind::Remove {
        return None;
    }
    let path = op.path.as_ref()?;
    let value = op.value.as_ref()?;
    if path.filter().is_some() || path.sub_attribute().is_some() {
        return None;
    }
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => return None,
    };
    let mut filters = Vec::with_capacity(items.len());
    for item in items {
        match element_filter(item.as_object()?) {
            Some(f) => filters.push(f),
            // Only nulls: names nothing (as scim-model reads it).
            None => continue,
        }
    }
    let ops = filters
        .chunks(VALUES_PER_OPERATION)
        .filter_map(|chunk| {
            let mut iter = chunk.iter().cloned();
            let first = iter.next()?;
            let filter = iter.fold(first, Filter::or);
            Some(PatchOperation::remove(path.clone().with_filter(filter)))
        })
        .collect();
    Some(ops)
}

/// The filter naming one listed value, as scim-model matches it: `value eq "x"` (and
/// `type eq "t"` when given); without a `value`, every scalar sub-attribute given (`$ref`
/// aside). `None` when it gives no scalar at all.
fn element_filter(item: &Map<String, Value>) -> Option<Filter> {
    let scalar = |v: &Value| match v {
        Value::Bool(b) => Some(CompValue::Bool(*b)),
        Value::Number(n) => Some(CompValue::Number(n.clone())),
        Value::String(s) => Some(CompValue::String(s.clone())),
        _ => None,
    };
    let eq = |name: &str, value: CompValue| Filter::Compare {
        path: AttributePath::new(name),
        op: CompareOp::Eq,
        value,
    };
    let get = |name: &str| scim_model::get_ci(item, name).and_then(scalar);
    if let Some(v) = get("value") {
        let f = eq("value", v);
        return Some(match get("type") {
            Some(t) => f.and(eq("type", t)),
            None => f,
        });
    }
    let mut parts = item
        .iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .filter_map(|(k, v)| scalar(v).map(|c| eq(k, c)));
    let first = parts.next()?;
    Some(parts.fold(first, Filter::and))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(op: PatchOperation) -> Value {
        let p = PatchOp::from_operations(vec![op]);
        serde_json::to_value(&*wire_patch(&p)).unwrap()["Operations"].clone()
    }

    #[test]
    fn value_list_removes_become_filters() {
        let ops = wire(PatchOperation::remove_values(
            AttributePath::new("members"),
            json!([{"value": "a"}, {"value": "b\"c", "display": "B"}, {"value": null}]),
        ));
        assert_eq!(
            ops,
            json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\\\"c\"]"}])
        );
        let ops = wire(PatchOperation::remove_values(
            AttributePath::new("emails"),
            json!({"value": "x@y", "type": "home"}),
        ));
        assert_eq!(
            ops,
            json!([{"op": "remove", "path": "emails[value eq \"x@y\" and type eq \"home\"]"}])
        );
    }

    #[test]
    fn long_lists_are_split_into_operations_of_one_request() {
        let values: Vec<Value> = (0..120)
            .map(|i| json!({"value": format!("m{i}")}))
            .collect();
        let ops = wire(PatchOperation::remove_values(
            AttributePath::new("members"),
            Value::Array(values),
        ));
        let ops = ops.as_array().unwrap();
        assert_eq!(ops.len(), 3);
        let last = ops[2]["path"].as_str().unwrap();
        assert_eq!(last.matches(" or ").count(), 19, "{last}");
        assert!(last.contains("m119"));
    }

    #[test]
    fn other_operations_are_sent_as_they_are() {
        let p = PatchOp::new()
            .add(AttributePath::new("members"), json!([{"value": "a"}]))
            .remove(AttributePath::parse("members[value eq \"a\"]").unwrap());
        assert!(matches!(wire_patch(&p), std::borrow::Cow::Borrowed(_)));
        // A value list on a filtered path, or of strings, cannot be rewritten: kept.
        let kept = PatchOperation::remove_values(
            AttributePath::parse("emails[type eq \"work\"]").unwrap(),
            json!([{"value": "x"}]),
        );
        assert_eq!(wire(kept.clone())[0]["value"], json!([{"value": "x"}]));
        let kept = PatchOperation::remove_values(AttributePath::new("tags"), json!(["a"]));
        assert_eq!(wire(kept)[0]["value"], json!(["a"]));
    }

    #[test]
    fn values_naming_nothing_remove_nothing() {
        let ops = wire(PatchOperation::remove_values(
            AttributePath::new("members"),
            json!([{"value": null, "$ref": null}]),
        ));
        assert_eq!(ops, json!([]));
    }
}
