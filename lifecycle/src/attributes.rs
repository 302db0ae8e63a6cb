//! Attribute names: Graph's names resolved to SCIM paths by an alias table the host can
//! change, strict dateTime reading, and reading one value of a user by path.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use scim_model::filter::{CompValue, CompareOp, Filter};
use scim_model::{AttributePath, Resource, get_ci};
use serde_json::Value;

/// The enterprise extension's URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Graph attribute names → SCIM attribute paths.
///
/// Workflows name attributes as Microsoft Graph does; users are SCIM resources. A name found
/// in the table (ignoring ASCII case) reads the SCIM path it maps to; any other name is read
/// as a SCIM attribute path as written, so `employeeHireDate` or
/// `urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate` work as they are.
///
/// The default table (DESIGN.md's, plus the names templates need):
///
/// | Graph | SCIM |
/// |---|---|
/// | `accountEnabled` | `active` |
/// | `jobTitle` | `title` |
/// | `department` | enterprise `department` |
/// | `employeeId` | enterprise `employeeNumber` |
/// | `companyName` | enterprise `organization` |
/// | `costCenter` | enterprise `costCenter` |
/// | `manager` | enterprise `manager.value` |
/// | `mail` | `emails.value` (the primary email, else the first) |
/// | `createdDateTime` | `meta.created` |
/// | `givenName` | `name.givenName` |
/// | `surname` | `name.familyName` |
/// | `userPrincipalName` | `userName` |
/// | `employeeType` | `userType` |
///
/// ```
/// use lifecycle::AliasTable;
///
/// let mut aliases = AliasTable::default();
/// assert_eq!(aliases.resolve("accountEnabled"), "active");
/// assert_eq!(aliases.resolve("employeeHireDate"), "employeeHireDate");
/// aliases.insert("employeeHireDate", "urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate");
/// assert!(aliases.resolve("EMPLOYEEHIREDATE").ends_with(":HireDate"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliasTable {
    /// Lower-cased Graph name → SCIM path.
    map: BTreeMap<String, String>,
}

impl Default for AliasTable {
    fn default() -> Self {
        let mut t = AliasTable::empty();
        let ent = |a: &str| format!("{ENTERPRISE}:{a}");
        t.insert("accountEnabled", "active");
        t.insert("jobTitle", "title");
        t.insert("department", ent("department"));
        t.insert("employeeId", ent("employeeNumber"));
        t.insert("companyName", ent("organization"));
        t.insert("costCenter", ent("costCenter"));
        t.insert("manager", ent("manager.value"));
        t.insert("mail", "emails.value");
        t.insert("createdDateTime", "meta.created");
        t.insert("givenName", "name.givenName");
        t.insert("surname", "name.familyName");
        t.insert("userPrincipalName", "userName");
        t.insert("employeeType", "userType");
        t
    }
}

impl AliasTable {
    /// A table without aliases (every name is a SCIM path).
    pub fn empty() -> Self {
        AliasTable {
            map: BTreeMap::new(),
        }
    }

    /// Maps a Graph name to a SCIM path (replacing any earlier mapping of the name).
    pub fn insert(&mut self, graph_name: &str, scim_path: impl Into<String>) {
        self.map
            .insert(graph_name.to_ascii_lowercase(), scim_path.into());
    }

    /// Removes a mapping.
    pub fn remove(&mut self, graph_name: &str) {
        self.map.remove(&graph_name.to_ascii_lowercase());
    }

    /// The SCIM path a name reads.
    pub fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        self.map
            .get(&name.trim().to_ascii_lowercase())
            .map_or(name.trim(), String::as_str)
    }

    /// The parsed SCIM path a name reads.
    ///
    /// # Errors
    ///
    /// A message when the resolved path is not a SCIM attribute path.
    pub fn path(&self, name: &str) -> Result<AttributePath, String> {
        let resolved = self.resolve(name);
        AttributePath::parse(resolved)
            .map_err(|e| format!("attribute {name:?} (path {resolved:?}): {e}"))
    }
}

/// The one value at `path` in `user`, if any and not empty: a value-filter path reads the
/// first element its filter selects; a sub-attribute of a multi-valued attribute reads the
/// primary element's, else the first element's.
pub fn read<'a>(user: &'a Resource, path: &AttributePath) -> Option<&'a Value> {
    read_in(user.attribute(path.urn(), path.name())?, path)
}

/// As [`read`], from the top-level value of the path's attribute already found.
pub(crate) fn read_in<'a>(top: &'a Value, path: &AttributePath) -> Option<&'a Value> {
    let element = match (top, path.filter()) {
        (Value::Array(items), Some(filter)) => items.iter().find(|e| element_matches(filter, e))?,
        (Value::Array(items), None) if path.sub_attribute().is_some() => items
            .iter()
            .find(|e| {
                e.as_object()
                    .and_then(|o| get_ci(o, "primary"))
                    .is_some_and(|p| p == &Value::Bool(true))
            })
            .or_else(|| items.first())?,
        (single, Some(filter)) if !element_matches(filter, single) => return None,
        (other, _) => other,
    };
    let value = match path.sub_attribute() {
        Some(sub) => get_ci(element.as_object()?, sub)?,
        None => element,
    };
    (!is_empty(value)).then_some(value)
}

/// Every non-empty value at `path` (each element's, for a multi-valued attribute), as text
/// for comparison; used by attribute-change triggers.
pub fn read_all(user: &Resource, path: &AttributePath) -> Value {
    let Some(top) = user.attribute(path.urn(), path.name()) else {
        return Value::Null;
    };
    let pick = |e: &Value| -> Option<Value> {
        if let Some(filter) = path.filter()
            && !element_matches(filter, e)
        {
            return None;
        }
        let v = match path.sub_attribute() {
            Some(sub) => get_ci(e.as_object()?, sub)?,
            None => e,
        };
        (!is_empty(v)).then(|| v.clone())
    };
    match top {
        Value::Array(items) => {
            let vals: Vec<Value> = items.iter().filter_map(pick).collect();
            if vals.is_empty() {
                Value::Null
            } else {
                Value::Array(vals)
            }
        }
        other => pick(other).unwrap_or(Value::Null),
    }
}

/// A value as text: strings as they are, numbers and booleans as JSON writes them.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a value counts as empty: null, `""`, `[]`, `{}`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Reads a dateTime strictly: RFC 3339 with `T` and a zone, `YYYY-MM-DDThh:mm:ssZ` or with an
/// offset (scim-model's own parser, the one validation uses). The instant is in UTC.
///
/// # Errors
///
/// A message naming the attribute and the value when it is not such a dateTime.
pub fn parse_instant(name: &str, value: &Value) -> Result<DateTime<Utc>, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "{name} is not a dateTime: expected an RFC 3339 string such as 2026-03-01T08:00:00Z, found {value}"
        ));
    };
    scim_model::schema::parse_datetime(s)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "{name} {s:?} is not an RFC 3339 dateTime (YYYY-MM-DDThh:mm:ssZ, or with an offset such as +01:00)"
            )
        })
}

/// Whether an element of a multi-valued attribute matches a value filter: `eq`/`ne` (strings
/// ignoring case, booleans also as `"true"`), `pr`, `and`, `or`, `not`.
fn element_matches(filter: &Filter, element: &Value) -> bool {
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

fn loosely_equal(actual: &Value, literal: &CompValue) -> bool {
    match (actual, literal) {
        (Value::String(a), CompValue::String(b)) => a.to_lowercase() == b.to_lowercase(),
        (Value::Bool(a), CompValue::Bool(b)) => a == b,
        (Value::Bool(a), CompValue::String(b)) | (Value::String(b), CompValue::Bool(a)) => {
            b.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        (Value::Number(a), CompValue::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Null, CompValue::Null) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Resource {
        Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "ada",
            "emails": [{"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work", "primary": true}],
            "meta": {"created": "2026-01-01T00:00:00Z"},
            ENTERPRISE: {"department": "Sales", "manager": {"value": "m1"}}
        }))
        .unwrap()
    }

    #[test]
    fn aliases_read_scim_paths() {
        let t = AliasTable::default();
        let u = user();
        let get = |n: &str| read(&u, &t.path(n).unwrap()).cloned();
        assert_eq!(get("mail"), Some(json!("work@x")));
        assert_eq!(get("department"), Some(json!("Sales")));
        assert_eq!(get("manager"), Some(json!("m1")));
        assert_eq!(get("createdDateTime"), Some(json!("2026-01-01T00:00:00Z")));
        assert_eq!(get("emails[type eq \"home\"].value"), Some(json!("home@x")));
        assert_eq!(get("employeeHireDate"), None);
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_instant("d", &json!("2026-03-01T08:00:00Z")).is_ok());
        assert!(parse_instant("d", &json!("2026-03-01T08:00:00+02:00")).is_ok());
        for bad in [
            "2026-03-01",
            "2026-03-01 08:00:00Z",
            "2026-13-01T00:00:00Z",
            "01/03/2026",
        ] {
            let e = parse_instant("employeeHireDate", &json!(bad)).unwrap_err();
            assert!(e.contains("employeeHireDate"), "{e}");
        }
        assert!(parse_instant("d", &json!(20260301)).is_err());
    }
}
