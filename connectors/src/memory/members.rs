//! Telling a membership-only PATCH of a group apart, and working out which members it added
//! and removed, at the cost of the group's member list once (no copy of the group).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use scim_model::patch::{PatchOp, PatchOpKind};
use scim_model::{AttributePath, CompValue, CompareOp, Filter, Resource};
use serde_json::Value;

use super::changelog::fold;

/// The members a PATCH may touch: a known set (folded ids), or any of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Candidates {
    /// Only these (folded) member ids.
    Some(BTreeSet<String>),
    /// Possibly every member (a `remove` of all members, or a filter other than `value eq`).
    All,
}

impl Candidates {
    fn add(&mut self, id: &str) {
        if let Candidates::Some(set) = self {
            set.insert(fold(id).into_owned());
        }
    }

    fn contains(&self, folded: &str) -> bool {
        match self {
            Candidates::Some(set) => set.contains(folded),
            Candidates::All => true,
        }
    }
}

/// Whether `path` is the `members` attribute itself (no sub-attribute), in the base schema.
fn is_members(path: &AttributePath, base_schema: &str) -> bool {
    path.name().eq_ignore_ascii_case("members")
        && path.sub_attribute().is_none()
        && path
            .urn()
            .is_none_or(|u| u.eq_ignore_ascii_case(base_schema))
}

/// The member ids a `value eq "…"` filter (or an `or` of them) selects; `None` for any other
/// filter.
fn filter_ids<'f>(filter: &'f Filter, out: &mut Vec<&'f str>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.name().eq_ignore_ascii_case("value")
            && path.urn().is_none()
            && path.sub_attribute().is_none()
            && path.filter().is_none() =>
        {
            out.push(id);
            true
        }
        Filter::Or(a, b) => filter_ids(a, out) && filter_ids(b, out),
        _ => false,
    }
}

/// The id a value given to `add` or `remove` names: `{"value": "id", …}`, or a bare string.
fn value_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => scim_model::get_ci(o, "value").and_then(Value::as_str),
        _ => None,
    }
}

/// If every operation of `patch` is an `add` or `remove` of `members` (the way group
/// membership changes, RFC 7644 §3.5.2 and Entra's forms), the members it may touch; `None`
/// when it changes anything else (the change is then a whole-object upsert).
pub(crate) fn membership_only(patch: &PatchOp, base_schema: &str) -> Option<Candidates> {
    if patch.is_empty() {
        return None;
    }
    let mut out = Candidates::Some(BTreeSet::new());
    for op in patch.operations() {
        let path = op.path.as_ref().filter(|p| is_members(p, base_schema))?;
        match (op.op, path.filter(), &op.value) {
            (PatchOpKind::Add, None, Some(value)) => {
                let items: &[Value] = match value {
                    Value::Array(items) => items,
                    one => std::slice::from_ref(one),
                };
                for item in items {
                    match value_id(item) {
                        Some(id) if item.is_object() => out.add(id),
                        _ => out = Candidates::All,
                    }
                }
            }
            (PatchOpKind::Remove, Some(filter), None) => {
                let mut ids = Vec::new();
                if filter_ids(filter, &mut ids) {
                    for id in ids {
                        out.add(id);
                    }
                } else {
                    out = Candidates::All;
                }
            }
            (PatchOpKind::Remove, None, Some(value)) => {
                let items: &[Value] = match value {
                    Value::Array(items) => items,
                    one => std::slice::from_ref(one),
                };
                for item in items {
                    match value_id(item) {
                        Some(id) => out.add(id),
                        None => out = Candidates::All,
                    }
                }
            }
            (PatchOpKind::Remove, None, None) => out = Candidates::All,
            _ => return None,
        }
    }
    Some(out)
}

/// The members among `candidates` that `resource` holds: folded id → id as stored. Costs one
/// pass over the member list.
pub(crate) fn present<'r>(
    resource: &'r Resource,
    candidates: &Candidates,
) -> BTreeMap<Cow<'r, str>, &'r str> {
    let mut out = BTreeMap::new();
    let Some(Value::Array(members)) = resource.get("members") else {
        return out;
    };
    for m in members {
        if let Some(id) = m
            .as_object()
            .and_then(|o| scim_model::get_ci(o, "value"))
            .and_then(Value::as_str)
        {
            let folded = fold(id);
            if candidates.contains(&folded) {
                out.insert(folded, id);
            }
        }
    }
    out
}

/// Owned form of [`present`], to compare with the state after a change.
pub(crate) fn present_owned(
    resource: &Resource,
    candidates: &Candidates,
) -> BTreeMap<String, String> {
    present(resource, candidates)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.to_owned()))
        .collect()
}

/// The members added and removed between `before` and `after` (each from [`present`]).
pub(crate) fn diff(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<Cow<'_, str>, &str>,
) -> (Vec<String>, Vec<String>) {
    let added = after
        .iter()
        .filter(|(k, _)| !before.contains_key(k.as_ref()))
        .map(|(_, id)| (*id).to_owned())
        .collect();
    let removed = before
        .iter()
        .filter(|(k, _)| !after.contains_key(k.as_str()))
        .map(|(_, id)| id.clone())
        .collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_model::GROUP_SCHEMA;
    use serde_json::json;

    fn patch(ops: Value) -> PatchOp {
        PatchOp::from_value(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops
        }))
        .unwrap()
    }

    fn set(ids: &[&str]) -> Candidates {
        Candidates::Some(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn member_adds_and_removes_are_recognised() {
        let p = patch(json!([
            {"op": "add", "path": "members", "value": [{"value": "U1"}, {"value": "u2", "display": "Two"}]},
            {"op": "remove", "path": "members[value eq \"u3\" or value eq \"u4\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "u5"}]}
        ]));
        assert_eq!(
            membership_only(&p, GROUP_SCHEMA),
            Some(set(&["u1", "u2", "u3", "u4", "u5"]))
        );
    }

    #[test]
    fn other_forms_touch_all_members_or_are_not_membership_only() {
        let all = patch(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(membership_only(&all, GROUP_SCHEMA), Some(Candidates::All));
        let by_display = patch(json!([{"op": "remove", "path": "members[display eq \"x\"]"}]));
        assert_eq!(
            membership_only(&by_display, GROUP_SCHEMA),
            Some(Candidates::All)
        );
        for ops in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "u1"}]}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]},
                   {"op": "replace", "path": "displayName", "value": "x"}]),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
            json!([{"op": "add", "value": {"members": [{"value": "u1"}]}}]),
            json!([]),
        ] {
            assert_eq!(
                membership_only(&patch(ops.clone()), GROUP_SCHEMA),
                None,
                "{ops}"
            );
        }
    }

    #[test]
    fn presence_and_diff_compare_ids_case_insensitively() {
        let before: Resource = serde_json::from_value(json!({
            "members": [{"value": "U1"}, {"value": "u2"}, {"value": "u9"}]
        }))
        .unwrap();
        let after: Resource = serde_json::from_value(json!({
            "members": [{"value": "U1"}, {"value": "u3"}, {"value": "u9"}]
        }))
        .unwrap();
        let cands = set(&["u1", "u2", "u3"]);
        let b = present_owned(&before, &cands);
        assert_eq!(b.len(), 2, "u9 is not a candidate");
        let a = present(&after, &cands);
        let (added, removed) = diff(&b, &a);
        assert_eq!(added, vec!["u3"]);
        assert_eq!(removed, vec!["u2"]);
        let (added, removed) = diff(
            &present_owned(&before, &Candidates::All),
            &present(&after, &Candidates::All),
        );
        assert_eq!((added, removed), (vec!["u3".into()], vec!["u2".into()]));
    }
}
