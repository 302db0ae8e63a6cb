//! The matching rules [`PatchOp::apply`](super::PatchOp::apply) follows, public for code that
//! must decide exactly as it does without applying a PATCH (the scoping crate builds a create's
//! resource directly where the PATCH's outcome is certain): which key a name finds, which
//! stored element an added one duplicates, which element is primary, and which element an
//! `eq`-only value filter describes.

use serde_json::{Map, Value};

use crate::schema::Attribute;
use crate::{CompareOp, Filter};

/// A member of a JSON object by name, exactly spelled first, then ignoring case (as
/// [`crate::get_ci`]). Objects in SCIM resources are small (a user has a few dozen attributes,
/// an email four sub-attributes), and a scan that compares lengths first beats hashing the
/// name.
pub fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if map.len() > 32 {
        return crate::get_ci(map, name);
    }
    let mut folded = None;
    for (k, v) in map {
        if k.len() != name.len() {
            continue;
        }
        if k == name {
            return Some(v);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(v);
        }
    }
    folded
}

/// The position of `name` among an object's keys: exactly spelled first, then ignoring case
/// (the key a PATCH writes to).
pub fn position_ci(map: &Map<String, Value>, name: &str) -> Option<usize> {
    let mut folded = None;
    for (i, k) in map.keys().enumerate() {
        if k.len() != name.len() {
            continue;
        }
        if k == name {
            return Some(i);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(i);
        }
    }
    folded
}

/// Whether an element says `"primary": true` (or `"True"`).
pub fn is_primary(v: &Value) -> bool {
    match v.as_object().and_then(|o| get_ci(o, "primary")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Whether `existing` already holds `item`: equal, or for objects, every non-null member of
/// `item` is in `existing` with an equal value (so `{"value": "id", "$ref": null}` is already
/// present as `{"value": "id", "display": "Babs"}`).
fn contains(existing: &Value, item: &Value) -> bool {
    match (existing, item) {
        (Value::Object(e), Value::Object(i)) => i
            .iter()
            .filter(|(_, v)| !v.is_null())
            .all(|(k, v)| get_ci(e, k).is_some_and(|ev| ev == v)),
        _ => existing == item,
    }
}

/// Whether `item`, given to `add`, is the record `stored` already is: for complex values with
/// a `value` (emails, members, ...), the same `value` (compared as the schema says: `members`
/// and `emails` values ignore case) and, when both give one, the same `type`; for other
/// complex values, every non-null sub-attribute of `item` equal in `stored`; for simple
/// values, equality.
pub fn same_record(stored: &Value, item: &Value, def: Option<&Attribute>) -> bool {
    let (Value::Object(s), Value::Object(i)) = (stored, item) else {
        return stored == item;
    };
    let Some(value) = get_ci(i, "value").filter(|v| !v.is_null()) else {
        return contains(stored, item);
    };
    let case_exact = |name: &str| {
        def.and_then(|d| d.sub_attribute(name))
            .is_some_and(|sd| sd.case_exact)
    };
    let same = |a: Option<&Value>, b: &Value, exact: bool| match (a, b) {
        (Some(Value::String(a)), Value::String(b)) if !exact => eq_ignore_case(a, b),
        (Some(a), b) => a == b,
        (None, _) => false,
    };
    if !same(get_ci(s, "value"), value, case_exact("value")) {
        return false;
    }
    match (get_ci(s, "type"), get_ci(i, "type")) {
        (Some(a), Some(b)) if !a.is_null() && !b.is_null() => same(Some(a), b, case_exact("type")),
        _ => true,
    }
}

/// Case-insensitive string equality (ASCII fast path, Unicode lower-case otherwise).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The element an `eq`-only filter describes: `type eq "work" and primary eq true` gives
/// `{"type": "work", "primary": true}`. `false` when the filter uses anything else.
pub fn eq_template(filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn().is_none() && path.filter().is_none() && path.sub_attribute().is_none() => {
            crate::insert_ci(out, path.name(), value.to_json());
            true
        }
        Filter::And(a, b) => eq_template(a, out) && eq_template(b, out),
        _ => false,
    }
}
