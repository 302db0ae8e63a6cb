//! Which attributes a response carries (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 `returned`):
//! `attributes` and `excludedAttributes`, attributes that are never returned (`password`),
//! and those returned only on request.

use scim_model::schema::{Attribute, Returned, common_attributes};
use scim_model::{AttributePath, ScimType};
use serde_json::{Map, Value};

use super::TypeInfo;
use super::errors::ApiError;

/// One attribute named in `attributes` or `excludedAttributes`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Selector {
    /// The extension the attribute belongs to; `None` for the base schema.
    urn: Option<String>,
    /// The attribute; `None` selects a whole extension block.
    name: Option<String>,
    /// A sub-attribute.
    sub: Option<String>,
}

/// What to keep of a resource in a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Projection {
    include: Vec<Selector>,
    exclude: Vec<Selector>,
}

impl Projection {
    /// Reads `attributes` and `excludedAttributes` (each a list of attribute paths) for a
    /// resource type.
    ///
    /// # Errors
    ///
    /// 400 `invalidPath` for a path that does not parse or carries a value filter.
    pub(crate) fn parse(
        attributes: &[String],
        excluded: &[String],
        ty: &TypeInfo,
    ) -> Result<Self, ApiError> {
        Ok(Projection {
            include: selectors(attributes, ty)?,
            exclude: selectors(excluded, ty)?,
        })
    }

    /// Whether the projection keeps every attribute a resource returns by default.
    pub(crate) fn is_default(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Applies the projection to a resource of type `ty`, in place.
    pub(crate) fn apply(&self, obj: &mut Map<String, Value>, ty: &TypeInfo) {
        strip_returned(obj, ty, |r| r == Returned::Never);
        if self.include.is_empty() {
            strip_returned(obj, ty, |r| r == Returned::Request);
        } else {
            self.keep_only(obj, ty);
        }
        for sel in &self.exclude {
            remove(obj, sel, ty);
        }
    }

    fn keep_only(&self, obj: &mut Map<String, Value>, ty: &TypeInfo) {
        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("id") {
                continue;
            }
            if is_urn(&key) {
                // An extension block (one this type does not list is kept by name only).
                let whole = self.include.iter().any(|s| s.names_block(&key));
                if whole {
                    continue;
                }
                let wanted: Vec<&Selector> = self
                    .include
                    .iter()
                    .filter(|s| s.urn.as_deref().is_some_and(|u| same(u, &key)))
                    .collect();
                let defs = ty
                    .extension(&key)
                    .map_or(&[][..], |e| e.attributes.as_slice());
                let empty = match obj.get_mut(&key) {
                    Some(Value::Object(block)) => {
                        keep_in(block, &wanted, defs);
                        block.is_empty()
                    }
                    _ => true,
                };
                if empty {
                    obj.remove(&key);
                }
                continue;
            }
            let def = ty.attribute(&key);
            if def.is_some_and(|d| d.returned == Returned::Always) {
                continue;
            }
            let wanted: Vec<&Selector> = self
                .include
                .iter()
                .filter(|s| s.urn.is_none() && s.name.as_deref().is_some_and(|n| same(n, &key)))
                .collect();
            if wanted.is_empty() {
                obj.remove(&key);
            } else if wanted.iter().all(|s| s.sub.is_some())
                && let Some(value) = obj.get_mut(&key)
            {
                let subs: Vec<&str> = wanted.iter().filter_map(|s| s.sub.as_deref()).collect();
                keep_subs(value, &subs, def);
            }
        }
    }
}

impl Selector {
    /// Whether this selects the whole extension block at `key`: its URN alone, or its URN
    /// read by the path grammar as a URN and a name (`urn:…:2.0` and `User`).
    fn names_block(&self, key: &str) -> bool {
        match (&self.urn, &self.name) {
            (Some(u), None) => same(u, key),
            (Some(u), Some(n)) if self.sub.is_none() => {
                key.len() == u.len() + 1 + n.len()
                    && key.is_char_boundary(u.len())
                    && key.as_bytes()[u.len()] == b':'
                    && same(&key[..u.len()], u)
                    && same(&key[u.len() + 1..], n)
            }
            _ => false,
        }
    }
}

/// Whether a top-level key is an extension block's URN.
fn is_urn(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Keeps in an extension block the attributes `wanted` names (and those always returned).
fn keep_in(block: &mut Map<String, Value>, wanted: &[&Selector], defs: &[Attribute]) {
    let keys: Vec<String> = block.keys().cloned().collect();
    for key in keys {
        let def = defs.iter().find(|d| same(&d.name, &key));
        if def.is_some_and(|d| d.returned == Returned::Always) {
            continue;
        }
        let mine: Vec<&&Selector> = wanted
            .iter()
            .filter(|s| s.name.as_deref().is_some_and(|n| same(n, &key)))
            .collect();
        if mine.is_empty() {
            block.remove(&key);
        } else if mine.iter().all(|s| s.sub.is_some())
            && let Some(value) = block.get_mut(&key)
        {
            let subs: Vec<&str> = mine.iter().filter_map(|s| s.sub.as_deref()).collect();
            keep_subs(value, &subs, def);
        }
    }
}

/// Keeps only the sub-attributes `subs` (and those always returned) of a complex value or of
/// each element of a multi-valued one.
fn keep_subs(value: &mut Value, subs: &[&str], def: Option<&Attribute>) {
    let keep = |o: &mut Map<String, Value>| {
        o.retain(|k, _| {
            subs.iter().any(|s| same(s, k))
                || def
                    .and_then(|d| d.sub_attribute(k))
                    .is_some_and(|d| d.returned == Returned::Always)
        });
    };
    match value {
        Value::Object(o) => keep(o),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    keep(o);
                }
            }
        }
        _ => {}
    }
}

/// Removes what `sel` names (never `id` or `schemas`, nor an attribute always returned).
fn remove(obj: &mut Map<String, Value>, sel: &Selector, ty: &TypeInfo) {
    let (container, defs): (&mut Map<String, Value>, &[Attribute]) = match &sel.urn {
        None => (
            obj,
            ty.base.as_ref().map_or(&[], |s| s.attributes.as_slice()),
        ),
        Some(urn) => {
            if let Some(key) = obj.keys().find(|k| sel.names_block(k)).cloned() {
                obj.remove(&key);
                return;
            }
            let Some(key) = find_key(obj, urn) else {
                return;
            };
            if sel.name.is_none() {
                obj.remove(&key);
                return;
            }
            let defs = ty
                .extension(urn)
                .map_or(&[][..], |s| s.attributes.as_slice());
            match obj.get_mut(&key) {
                Some(Value::Object(block)) => (block, defs),
                _ => return,
            }
        }
    };
    let Some(name) = &sel.name else { return };
    if sel.urn.is_none() && (same(name, "id") || same(name, "schemas")) {
        return;
    }
    let Some(key) = find_key(container, name) else {
        return;
    };
    let def = defs
        .iter()
        .find(|d| same(&d.name, name))
        .or_else(|| common_attributes().iter().find(|d| same(&d.name, name)));
    match &sel.sub {
        None => {
            if def.is_none_or(|d| d.returned != Returned::Always) {
                container.remove(&key);
            }
        }
        Some(sub) => {
            let always = def
                .and_then(|d| d.sub_attribute(sub))
                .is_some_and(|d| d.returned == Returned::Always);
            if always {
                return;
            }
            let drop_sub = |o: &mut Map<String, Value>| {
                if let Some(k) = find_key(o, sub) {
                    o.remove(&k);
                }
            };
            match container.get_mut(&key) {
                Some(Value::Object(o)) => drop_sub(o),
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        if let Value::Object(o) = item {
                            drop_sub(o);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Removes the attributes and sub-attributes whose `returned` satisfies `pick`, in the base
/// schema and in every extension block.
fn strip_returned(obj: &mut Map<String, Value>, ty: &TypeInfo, pick: impl Fn(Returned) -> bool) {
    if let Some(base) = &ty.base {
        strip_in(obj, &base.attributes, &pick);
    }
    for ext in &ty.extension_schemas {
        if let Some(key) = find_key(obj, &ext.id)
            && let Some(Value::Object(block)) = obj.get_mut(&key)
        {
            strip_in(block, &ext.attributes, &pick);
        }
    }
}

fn strip_in(map: &mut Map<String, Value>, defs: &[Attribute], pick: &impl Fn(Returned) -> bool) {
    for def in defs {
        let Some(key) = find_key(map, &def.name) else {
            continue;
        };
        if pick(def.returned) {
            map.remove(&key);
            continue;
        }
        if def.sub_attributes.iter().any(|s| pick(s.returned))
            && let Some(value) = map.get_mut(&key)
        {
            let strip = |o: &mut Map<String, Value>| strip_in(o, &def.sub_attributes, pick);
            match value {
                Value::Object(o) => strip(o),
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let Value::Object(o) = item {
                            strip(o);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Reads a list of attribute paths.
fn selectors(paths: &[String], ty: &TypeInfo) -> Result<Vec<Selector>, ApiError> {
    let mut out = Vec::new();
    for text in paths {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(sel) = selector(text, ty)? {
            out.push(sel);
        }
    }
    Ok(out)
}

/// Reads one attribute path: `name`, `name.sub`, `urn:…:Ext` (a whole extension),
/// `urn:…:Ext:name[.sub]`, or the base schema's URN before a name.
fn selector(text: &str, ty: &TypeInfo) -> Result<Option<Selector>, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(
            ScimType::InvalidPath,
            format!("attribute path {:?}: {why}", super::respond::excerpt(text)),
        )
    };
    let is_urn = text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    if is_urn {
        // A known URN, the longest first: `urn:…:User` is a prefix of `urn:…:User:x`.
        let mut urns: Vec<&str> = std::iter::once(ty.schema.as_str())
            .chain(ty.extension_schemas.iter().map(|s| s.id.as_str()))
            .collect();
        urns.sort_by_key(|u| std::cmp::Reverse(u.len()));
        for urn in urns {
            let is_base = same(urn, &ty.schema);
            if same(text, urn) {
                return Ok((!is_base).then(|| Selector {
                    urn: Some(urn.to_owned()),
                    name: None,
                    sub: None,
                }));
            }
            let prefixed = text.len() > urn.len()
                && text.is_char_boundary(urn.len())
                && same(&text[..urn.len()], urn)
                && text.as_bytes()[urn.len()] == b':';
            if prefixed {
                let rest = &text[urn.len() + 1..];
                let (name, sub) = match rest.split_once('.') {
                    Some((n, s)) => (n, Some(s.to_owned())),
                    None => (rest, None),
                };
                if name.is_empty() || sub.as_deref() == Some("") {
                    return Err(bad("an attribute name is missing"));
                }
                return Ok(Some(Selector {
                    urn: (!is_base).then(|| urn.to_owned()),
                    name: Some(name.to_owned()),
                    sub,
                }));
            }
        }
    }
    let path = AttributePath::parse(text).map_err(ApiError::from)?;
    if path.filter().is_some() {
        return Err(bad("attributes are named without value filters"));
    }
    let urn = path
        .urn()
        .filter(|u| !same(u, &ty.schema))
        .map(str::to_owned);
    Ok(Some(Selector {
        urn,
        name: Some(path.name().to_owned()),
        sub: path.sub_attribute().map(str::to_owned),
    }))
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The key of `map` equal to `name` case-insensitively.
fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| same(k, name)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::ResourceType;
    use scim_model::SchemaRegistry;
    use serde_json::json;

    fn user_type() -> TypeInfo {
        TypeInfo::resolve(
            ResourceType::user().with_extension(ENT, false),
            &SchemaRegistry::default(),
        )
    }

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Map<String, Value> {
        match json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": "u1",
            "userName": "bjensen",
            "password": "hunter2",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x", "type": "work"}, {"value": "c@x", "type": "home"}],
            ENT: {"employeeNumber": "42", "department": "Tour"},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        }) {
            Value::Object(o) => o,
            _ => unreachable!(),
        }
    }

    fn project(attrs: &[&str], excluded: &[&str]) -> Value {
        let ty = user_type();
        let p = Projection::parse(
            &attrs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &excluded.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &ty,
        )
        .unwrap();
        let mut u = user();
        p.apply(&mut u, &ty);
        Value::Object(u)
    }

    #[test]
    fn password_is_never_returned() {
        let out = project(&[], &[]);
        assert!(out.get("password").is_none());
        assert_eq!(out["userName"], "bjensen");
        let out = project(&["password"], &[]);
        assert!(out.get("password").is_none());
    }

    #[test]
    fn attributes_keep_only_what_is_named_plus_id_and_schemas() {
        let out = project(&["userName", "name.givenName", "emails.value"], &[]);
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "id": "u1", "userName": "bjensen", "name": {"givenName": "Barbara"},
                "emails": [{"value": "b@x"}, {"value": "c@x"}]
            })
        );
        let out = project(&[&format!("{ENT}:department")], &[]);
        assert_eq!(out[ENT], json!({"department": "Tour"}));
        assert!(out.get("userName").is_none());
        let out = project(
            &[ENT, "urn:ietf:params:scim:schemas:core:2.0:User:userName"],
            &[],
        );
        assert_eq!(
            out[ENT],
            json!({"employeeNumber": "42", "department": "Tour"})
        );
        assert_eq!(out["userName"], "bjensen");
        let out = project(&["meta.version"], &[]);
        assert_eq!(out["meta"], json!({"version": "W/\"1\""}));
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_id() {
        let out = project(
            &[],
            &[
                "name",
                "emails.type",
                "id",
                &format!("{ENT}:employeeNumber"),
            ],
        );
        assert!(out.get("name").is_none());
        assert_eq!(out["emails"], json!([{"value": "b@x"}, {"value": "c@x"}]));
        assert_eq!(out["id"], "u1");
        assert_eq!(out[ENT], json!({"department": "Tour"}));
        let out = project(&[], &[ENT]);
        assert!(out.get(ENT).is_none());
    }

    #[test]
    fn extensions_the_type_does_not_list_are_selected_by_name() {
        let ty = TypeInfo::resolve(ResourceType::user(), &SchemaRegistry::default());
        let p = |a: &[&str], e: &[&str]| {
            let p = Projection::parse(
                &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &e.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &ty,
            )
            .unwrap();
            let mut u = user();
            p.apply(&mut u, &ty);
            Value::Object(u)
        };
        assert_eq!(
            p(&[ENT], &[])[ENT],
            json!({"employeeNumber": "42", "department": "Tour"})
        );
        assert!(p(&[], &[ENT]).get(ENT).is_none());
        assert!(p(&["userName"], &[]).get(ENT).is_none());
        // Keys that are not ASCII where the URN ends are compared, never sliced mid-character.
        let mut u = user();
        u.insert(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0éSer".into(),
            json!({}),
        );
        let p2 = Projection::parse(&[], &[ENT.to_string()], &ty).unwrap();
        p2.apply(&mut u, &ty);
        assert!(u.get(ENT).is_none());
    }

    #[test]
    fn filters_are_refused() {
        let ty = user_type();
        let e = Projection::parse(&["emails[type eq \"work\"]".into()], &[], &ty).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        let e = Projection::parse(&["a..b".into()], &[], &ty).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }
}
