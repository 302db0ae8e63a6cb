//! Helpers of `query` and `find`: which filters read `meta`, how values sort, how a `find`
//! value becomes a filter literal.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use scim_model::schema::{Attribute, AttributeType};
use scim_model::{AttributePath, CompValue, Filter, Resource};
use serde_json::Value;

/// Whether a path names `meta` (stored apart from the resource, so it must be put in before a
/// filter or sort can read it).
pub(crate) fn path_is_meta(path: &AttributePath) -> bool {
    path.name().eq_ignore_ascii_case("meta")
}

/// Whether evaluating `filter` reads `meta`. Unknown filter forms answer `true` (the safe
/// side: the resource is then evaluated with its `meta`).
pub(crate) fn filter_reads_meta(filter: &Filter) -> bool {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => path_is_meta(path),
        Filter::ValuePath { path, .. } => path_is_meta(path),
        Filter::And(a, b) | Filter::Or(a, b) => filter_reads_meta(a) || filter_reads_meta(b),
        Filter::Not(f) => filter_reads_meta(f),
        _ => true,
    }
}

/// A `find` value as a filter literal; `None` for arrays and objects, which `eq` cannot take.
pub(crate) fn comp_value(value: &Value) -> Option<CompValue> {
    match value {
        Value::Null => Some(CompValue::Null),
        Value::Bool(b) => Some(CompValue::Bool(*b)),
        Value::Number(n) => Some(CompValue::Number(n.clone())),
        Value::String(s) => Some(CompValue::String(s.clone())),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A value as it sorts (RFC 7644 §3.4.2.3: by the attribute's type; strings
/// case-insensitively unless `caseExact`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SortKey {
    Bool(bool),
    Number(f64),
    Time(DateTime<FixedOffset>),
    Text(String),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::Time(_) => 2,
            SortKey::Text(_) => 3,
        }
    }

    /// A total order: values of different kinds order by kind.
    pub(crate) fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// Compares two optional keys in `descending` or ascending order, missing values last either
/// way.
pub(crate) fn cmp_keys(a: &Option<SortKey>, b: &Option<SortKey>, descending: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) if descending => b.cmp(a),
        (Some(a), Some(b)) => a.cmp(b),
    }
}

/// The value of a multi-valued attribute a sort uses: the primary one, else the first
/// (RFC 7644 §3.4.2.3).
fn primary_or_first(items: &[Value]) -> Option<&Value> {
    items
        .iter()
        .find(|v| {
            v.as_object()
                .and_then(|o| scim_model::get_ci(o, "primary"))
                .and_then(Value::as_bool)
                == Some(true)
        })
        .or_else(|| items.first())
}

/// The key a resource sorts by on `path` (whose definition, if the registry has one, is
/// `def`); `None` when the resource has no value there.
pub(crate) fn sort_key(
    resource: &Resource,
    path: &AttributePath,
    def: Option<&Attribute>,
) -> Option<SortKey> {
    let mut value = resource.attribute(path.urn(), path.name())?;
    if let Value::Array(items) = value {
        value = primary_or_first(items)?;
    }
    let leaf = match (path.sub_attribute(), value) {
        (Some(sub), Value::Object(o)) => scim_model::get_ci(o, sub)?,
        (Some(_), _) => return None,
        (None, Value::Object(o)) => scim_model::get_ci(o, "value")?,
        (None, v) => v,
    };
    let case_exact = def.is_some_and(|d| d.case_exact);
    let is_time = def.is_some_and(|d| d.kind == AttributeType::DateTime);
    match leaf {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Number),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => {
            if is_time && let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(SortKey::Time(t));
            }
            Some(SortKey::Text(if case_exact {
                s.clone()
            } else {
                s.to_lowercase()
            }))
        }
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_model::{SchemaRegistry, USER_SCHEMA};
    use serde_json::json;

    fn key(r: &Value, path: &str) -> Option<SortKey> {
        let registry = SchemaRegistry::default();
        let resource: Resource = serde_json::from_value(r.clone()).unwrap();
        let path = AttributePath::parse(path).unwrap();
        sort_key(
            &resource,
            &path,
            registry.attribute_in(USER_SCHEMA, &path.without_filter()),
        )
    }

    #[test]
    fn strings_sort_case_insensitively_and_multi_valued_by_primary() {
        let r = json!({"schemas": [USER_SCHEMA], "userName": "BJensen",
            "emails": [{"value": "z@x"}, {"value": "A@x", "primary": true}]});
        assert_eq!(key(&r, "userName"), Some(SortKey::Text("bjensen".into())));
        assert_eq!(key(&r, "emails.value"), Some(SortKey::Text("a@x".into())));
        assert_eq!(key(&r, "emails"), Some(SortKey::Text("a@x".into())));
        assert_eq!(key(&r, "title"), None);
        // `id` is caseExact.
        let r = json!({"schemas": [USER_SCHEMA], "id": "AbC"});
        assert_eq!(key(&r, "id"), Some(SortKey::Text("AbC".into())));
    }

    #[test]
    fn date_times_sort_as_instants() {
        let r = json!({"schemas": [USER_SCHEMA], "meta": {"created": "2024-01-01T10:00:00+02:00"}});
        let s = json!({"schemas": [USER_SCHEMA], "meta": {"created": "2024-01-01T09:00:00Z"}});
        let (a, b) = (key(&r, "meta.created"), key(&s, "meta.created"));
        assert!(matches!(a, Some(SortKey::Time(_))));
        // 08:00Z sorts before 09:00Z although its text is larger.
        assert_eq!(cmp_keys(&a, &b, false), Ordering::Less);
    }

    #[test]
    fn missing_values_sort_last_in_both_orders() {
        let a = Some(SortKey::Text("a".into()));
        let b = Some(SortKey::Text("b".into()));
        assert_eq!(cmp_keys(&a, &b, false), Ordering::Less);
        assert_eq!(cmp_keys(&a, &b, true), Ordering::Greater);
        assert_eq!(cmp_keys(&None, &a, false), Ordering::Greater);
        assert_eq!(cmp_keys(&None, &a, true), Ordering::Greater);
        assert_eq!(cmp_keys(&a, &None, true), Ordering::Less);
        assert_eq!(
            cmp_keys(
                &Some(SortKey::Number(2.0)),
                &Some(SortKey::Number(10.0)),
                false
            ),
            Ordering::Less
        );
    }

    #[test]
    fn meta_filters_are_detected() {
        let f: Filter = r#"userName eq "x" and (meta.lastModified gt "2024-01-01T00:00:00Z")"#
            .parse()
            .unwrap();
        assert!(filter_reads_meta(&f));
        let f: Filter = r#"not (emails[type eq "work"])"#.parse().unwrap();
        assert!(!filter_reads_meta(&f));
        assert_eq!(comp_value(&json!("x")), Some(CompValue::String("x".into())));
        assert_eq!(comp_value(&json!([1])), None);
    }
}
