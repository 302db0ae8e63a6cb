//! [`SchemaRegistry::validate_change`]: the mutability rules that need the stored resource.

use serde_json::{Map, Value};

use super::common::common_attributes;
use super::values::{describe, is_unassigned, same_value};
use super::{Attribute, AttributeType, Mutability, SchemaRegistry, ValidationIssue};
use crate::{Resource, ScimType};

impl SchemaRegistry {
    /// Checks a replacement (`new`, e.g. a PUT body) against the stored resource (`old`) for
    /// the mutability rules that need both (RFC 7643 §2.2, RFC 7644 §3.5.1):
    ///
    /// - a `readOnly` attribute given in `new` must equal the stored value (absent is fine:
    ///   the stored value stays). RFC 7644 lets a server ignore such values instead; callers
    ///   that do may drop these issues (scimType `mutability`).
    /// - an `immutable` attribute that has a value in `old` must keep it: a different value or
    ///   none at all in `new` is an issue. An unset one may be set.
    ///
    /// Values compare as their attribute says: case-insensitively unless `caseExact`,
    /// dateTimes as instants, multi-valued attributes as unordered lists. Rules apply to the
    /// common attributes (`id`, `meta`, ...), the base schema's attributes, the attributes of
    /// every registered extension present in either resource, and the sub-attributes of
    /// single-valued complex attributes. Sub-attributes of multi-valued complex attributes
    /// (e.g. a Group's `members[].value`, `immutable`) are not compared: without an identity
    /// for each value, a changed value cannot be told from one removed and one added.
    ///
    /// This does not validate `new` itself: call [`SchemaRegistry::validate`] with
    /// [`Operation::Replace`](super::Operation::Replace) for that.
    pub fn validate_change(&self, old: &Resource, new: &Resource) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        let empty = Map::new();
        let common = common_attributes()
            .iter()
            .filter(|a| !a.name.eq_ignore_ascii_case("schemas"));
        let base = new
            .base_schema()
            .or_else(|| old.base_schema())
            .and_then(|u| self.schema(u));
        let top = common.chain(base.into_iter().flat_map(|s| s.attributes.iter()));
        compare_level(
            top,
            old.as_object(),
            new.as_object(),
            "",
            false,
            &mut issues,
        );

        let mut urns: Vec<&str> = new.extension_urns().collect();
        for urn in old.extension_urns() {
            if !urns.iter().any(|u| u.eq_ignore_ascii_case(urn)) {
                urns.push(urn);
            }
        }
        for urn in urns {
            let Some(schema) = self.schema(urn) else {
                continue;
            };
            let prefix = format!("{urn}:");
            compare_level(
                schema.attributes.iter(),
                old.extension(urn).unwrap_or(&empty),
                new.extension(urn).unwrap_or(&empty),
                &prefix,
                false,
                &mut issues,
            );
        }
        issues
    }
}

fn compare_level<'a>(
    defs: impl Iterator<Item = &'a Attribute>,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    prefix: &str,
    in_read_only: bool,
    issues: &mut Vec<ValidationIssue>,
) {
    for def in defs {
        let mutability = if in_read_only {
            Mutability::ReadOnly
        } else {
            def.mutability
        };
        let single_complex = def.kind == AttributeType::Complex && !def.multi_valued;
        let o = crate::get_ci(old, &def.name);
        let n = crate::get_ci(new, &def.name);
        let path = || format!("{prefix}{}", def.name);
        let shown = |v: Option<&Value>| v.map_or_else(|| "nothing".to_owned(), describe);
        let broken = match mutability {
            // A readOnly complex value is compared sub-attribute by sub-attribute below, so that
            // a client may echo part of it (`"meta": {"resourceType": "User"}`).
            Mutability::ReadOnly if single_complex => None,
            Mutability::ReadOnly if !is_unassigned(n) && !same_value(def, o, n) => {
                Some("readOnly attribute cannot be changed by a client")
            }
            Mutability::Immutable if !is_unassigned(o) && !same_value(def, o, n) => {
                Some("immutable attribute cannot change once set")
            }
            _ => None,
        };
        if let Some(rule) = broken {
            issues.push(ValidationIssue::new(
                path(),
                ScimType::Mutability,
                format!("{rule}: stored {}, given {}", shown(o), shown(n)),
            ));
            continue;
        }
        if single_complex && mutability != Mutability::Immutable {
            let empty = Map::new();
            let oo = o.and_then(Value::as_object).unwrap_or(&empty);
            let nn = n.and_then(Value::as_object).unwrap_or(&empty);
            let sub_prefix = format!("{}.", path());
            let read_only = mutability == Mutability::ReadOnly;
            compare_level(
                def.sub_attributes.iter(),
                oo,
                nn,
                &sub_prefix,
                read_only,
                issues,
            );
        }
    }
}
