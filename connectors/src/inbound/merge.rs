//! How a record sent to the queue combines with the record the queue already holds for the
//! same `externalId`: the rules of partial records.

use scim_model::{Resource, get_ci_mut, insert_ci, remove_ci};
use serde_json::{Map, Value};

/// The current view of a record after `record` arrives, given the `previous` view (none for a
/// record seen for the first time).
///
/// An HR system may send whole records or only what changed, and absence never means
/// deletion. So a record is merged over the previous view, attribute by attribute:
///
/// - **An attribute present in the record replaces the previous value** — at the top level,
///   inside each extension block (`"urn:…:enterprise:2.0:User": {"department": …}` changes
///   the department and keeps the manager), and inside complex attributes at any depth
///   (`"name": {"givenName": …}` keeps `name.familyName`). Attribute names match
///   case-insensitively (RFC 7643 §2.1); an existing attribute keeps its spelling.
/// - **An attribute absent from the record keeps its previous value** (Entra's default rule:
///   an omitted attribute does not clear the target).
/// - **Multi-valued attributes (JSON arrays) are replaced whole**: `emails`,
///   `phoneNumbers`, `addresses` … as sent. There is no merging of list elements (a record
///   that sends one email of two says the worker now has one).
/// - **An explicit `null` removes** the attribute (or sub-attribute, or a whole extension
///   block, whose URN then leaves `schemas`). It is the only way to clear a value; `""` is
///   kept as a value, and what a target does with it is the mappings' business.
/// - **`schemas` is the union** of the previous and the new list (previous order first), so
///   an extension sent once stays readable when a later partial record omits it.
///
/// The result is a whole resource: what [`SourceConnector`](crate::SourceConnector) reads
/// return.
///
/// ```
/// use connectors::inbound::merge_record;
/// use scim_model::Resource;
/// use serde_json::json;
///
/// let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// let full = Resource::from_value(json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
///     "externalId": "701001", "userName": "ines@contoso.com", "title": "Engineer",
///     "name": {"givenName": "Ines", "familyName": "Moreau"},
///     ent: {"department": "Engineering", "manager": {"value": "700001"}}
/// })).unwrap();
/// let partial = Resource::from_value(json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
///     "externalId": "701001", "title": null,
///     ent: {"department": "Research"}
/// })).unwrap();
/// let view = merge_record(Some(&full), &partial);
/// assert_eq!(view.get("userName"), Some(&json!("ines@contoso.com"))); // omitted: kept
/// assert_eq!(view.get("title"), None);                                 // null: removed
/// assert_eq!(view.extension(ent).unwrap()["department"], "Research");   // changed
/// assert_eq!(view.extension(ent).unwrap()["manager"]["value"], "700001"); // kept
/// ```
pub fn merge_record(previous: Option<&Resource>, record: &Resource) -> Resource {
    let mut view = match previous {
        Some(p) => p.as_object().clone(),
        None => Map::new(),
    };
    let mut schemas: Vec<String> = previous
        .map(|p| p.schemas().map(str::to_owned).collect())
        .unwrap_or_default();
    for urn in record.schemas() {
        if !schemas.iter().any(|s| s.eq_ignore_ascii_case(urn)) {
            schemas.push(urn.to_owned());
        }
    }
    for (key, value) in record.as_object() {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if value.is_null() && is_urn(key) {
            // A whole extension block cleared: its URN leaves `schemas` too.
            schemas.retain(|s| !s.eq_ignore_ascii_case(key));
        }
        merge_attribute(&mut view, key, value);
    }
    let had_schemas =
        previous.is_some_and(|p| p.get("schemas").is_some()) || record.get("schemas").is_some();
    if had_schemas {
        insert_ci(
            &mut view,
            "schemas",
            Value::Array(schemas.into_iter().map(Value::String).collect()),
        );
    }
    // Every value here came from a resource whose shape was checked, and `schemas` is a list
    // of strings, so the view has a resource's shape.
    let mut out = Resource::default();
    *out.as_object_mut() = view;
    out
}

/// Merges one attribute of a record into an object of the view.
fn merge_attribute(into: &mut Map<String, Value>, key: &str, value: &Value) {
    match value {
        Value::Null => {
            remove_ci(into, key);
        }
        Value::Object(sub) => match get_ci_mut(into, key) {
            Some(Value::Object(existing)) => {
                for (k, v) in sub {
                    merge_attribute(existing, k, v);
                }
            }
            _ => {
                insert_ci(into, key, without_nulls(value));
            }
        },
        other => {
            insert_ci(into, key, other.clone());
        }
    }
}

/// A value with the `null` members of its objects dropped (null means absent), at any object
/// depth; arrays are kept as sent.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_urn(key: &str) -> bool {
    key.len() > 4 && key[..4].eq_ignore_ascii_case("urn:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";
    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn r(v: Value) -> Resource {
        Resource::from_value(v).unwrap()
    }

    #[test]
    fn first_record_is_taken_as_sent_without_nulls() {
        let rec = r(json!({"schemas": [CORE], "externalId": "1", "title": null,
            "name": {"givenName": "A", "middleName": null}}));
        let view = merge_record(None, &rec);
        assert_eq!(
            view.to_value(),
            json!({"schemas": [CORE], "externalId": "1", "name": {"givenName": "A"}})
        );
    }

    #[test]
    fn absent_attributes_are_kept_present_ones_replaced() {
        let prev = r(
            json!({"schemas": [CORE, ENT], "externalId": "1", "userName": "a", "title": "T",
            "active": true, ENT: {"department": "D", "costCenter": "C"}}),
        );
        let rec = r(
            json!({"schemas": [CORE, ENT], "externalId": "1", "active": false,
            ENT: {"department": "E"}}),
        );
        let view = merge_record(Some(&prev), &rec);
        assert_eq!(view.get("userName"), Some(&json!("a")));
        assert_eq!(view.get("title"), Some(&json!("T")));
        assert_eq!(view.get("active"), Some(&json!(false)));
        assert_eq!(
            view.get(ENT),
            Some(&json!({"department": "E", "costCenter": "C"}))
        );
    }

    #[test]
    fn complex_attributes_merge_by_sub_attribute_and_lists_are_replaced_whole() {
        let prev = r(
            json!({"externalId": "1", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "a@y", "type": "home"}]}),
        );
        let rec = r(
            json!({"externalId": "1", "name": {"givenName": "Z", "familyName": null},
            "emails": [{"value": "z@x", "type": "work"}]}),
        );
        let view = merge_record(Some(&prev), &rec);
        assert_eq!(view.get("name"), Some(&json!({"givenName": "Z"})));
        assert_eq!(
            view.get("emails"),
            Some(&json!([{"value": "z@x", "type": "work"}]))
        );
    }

    #[test]
    fn names_match_case_insensitively_and_keep_their_first_spelling() {
        let prev = r(json!({"externalId": "1", "displayName": "Old", ENT: {"department": "D"}}));
        let rec = r(json!({"externalId": "1", "DISPLAYNAME": "New",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "E"}}));
        let view = merge_record(Some(&prev), &rec);
        assert_eq!(
            view.to_value(),
            json!({"externalId": "1", "displayName": "New", ENT: {"department": "E"}})
        );
    }

    #[test]
    fn schemas_are_the_union_and_a_cleared_extension_leaves_them() {
        let prev = r(json!({"schemas": [CORE, ENT, ACME], "externalId": "1",
            ENT: {"department": "D"}, ACME: {"HireDate": "2026-01-01"}}));
        // A partial record that does not list the custom extension keeps it.
        let rec = r(json!({"schemas": [CORE, ENT], "externalId": "1", "title": "T"}));
        let view = merge_record(Some(&prev), &rec);
        assert_eq!(view.schemas().collect::<Vec<_>>(), vec![CORE, ENT, ACME]);
        assert_eq!(
            view.attribute(Some(ACME), "HireDate"),
            Some(&json!("2026-01-01"))
        );
        // An explicit null clears the whole block and its URN.
        let rec = r(json!({"schemas": [CORE, ENT], "externalId": "1", ACME: null}));
        let view = merge_record(Some(&view), &rec);
        assert_eq!(view.schemas().collect::<Vec<_>>(), vec![CORE, ENT]);
        assert!(view.get(ACME).is_none());
    }

    #[test]
    fn a_scalar_over_an_object_and_an_object_over_a_scalar_replace() {
        let prev = r(json!({"externalId": "1", "a": {"x": 1}, "b": "s"}));
        let rec = r(json!({"externalId": "1", "a": "now a string", "b": {"y": 2, "z": null}}));
        let view = merge_record(Some(&prev), &rec);
        assert_eq!(view.get("a"), Some(&json!("now a string")));
        assert_eq!(view.get("b"), Some(&json!({"y": 2})));
    }

    #[test]
    fn merging_the_same_record_twice_changes_nothing() {
        let prev = r(
            json!({"schemas": [CORE, ENT], "externalId": "1", "userName": "a",
            ENT: {"department": "D", "manager": {"value": "9"}}}),
        );
        let rec = r(
            json!({"schemas": [CORE, ENT], "externalId": "1", "title": "T",
            ENT: {"manager": null}}),
        );
        let once = merge_record(Some(&prev), &rec);
        let twice = merge_record(Some(&once), &rec);
        assert_eq!(once, twice);
    }
}
