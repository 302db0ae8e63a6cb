//! [`Resource::project`]: a copy of a resource holding only the attributes a reader asked for
//! (RFC 7644 §3.9's `attributes` parameter, applied by whoever holds the resource).

use serde_json::{Map, Value};

use super::{Resource, find_key};
use crate::AttributePath;

/// Where a path's attribute sits in a resource: a top-level key, or a key inside an
/// extension block (the block's key, then the attribute's), each as the resource spells it.
enum Place<'a> {
    Top(&'a String, &'a Value),
    InBlock(&'a String, &'a String, &'a Value),
}

impl Resource {
    /// A copy holding `schemas`, `id` and the attributes `paths` name — nothing else, not
    /// even `meta` unless a path names it. A path names:
    ///
    /// - a top-level attribute (`userName`, `emails`), or one qualified by the base schema's
    ///   URN (`urn:…:core:2.0:User:userName`);
    /// - a sub-attribute (`name.givenName`): of a complex attribute, or of every element of a
    ///   multi-valued one (each element keeps only the sub-attributes asked for, in place);
    /// - an extension's attribute (`urn:…:enterprise:2.0:User:department`), or a whole
    ///   extension block (`urn:…:enterprise:2.0:User`).
    ///
    /// A path with a value filter (`emails[type eq "work"].value`) keeps the whole attribute:
    /// the filter is for the reader to apply, and it needs the attributes it tests. Names
    /// match case-insensitively and the copy keeps the resource's spelling. A path to an
    /// attribute the resource lacks adds nothing.
    ///
    /// Reading a path through the copy gives what reading it through the resource gives: this
    /// is how a target hands the sync engine only the attributes it compares.
    ///
    /// ```
    /// use scim_model::{AttributePath, Resource};
    /// use serde_json::json;
    ///
    /// let r = Resource::from_value(json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "7", "userName": "bjensen", "title": "Tour Guide",
    ///     "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
    /// })).unwrap();
    /// let paths = ["userName", "name.givenName"].map(|p| AttributePath::parse(p).unwrap());
    /// let p = r.project(&paths);
    /// assert_eq!(p.to_value(), json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "7", "userName": "bjensen", "name": {"givenName": "Barbara"},
    /// }));
    /// ```
    pub fn project(&self, paths: &[AttributePath]) -> Resource {
        let mut out = Map::new();
        for always in ["schemas", "id"] {
            if let Some((k, v)) = find_key(&self.attrs, always) {
                out.insert(k.clone(), v.clone());
            }
        }
        // Whole attributes first, so a sub-attribute asked for as well adds nothing to them.
        let mut whole: Vec<(Option<&String>, &String)> = Vec::new();
        for p in paths.iter().filter(|p| keeps_whole(p)) {
            match self.place(p) {
                Some(Place::Top(k, v)) => {
                    out.insert(k.clone(), v.clone());
                    whole.push((None, k));
                }
                Some(Place::InBlock(b, k, v)) => {
                    if let Some(block) = block_of(&mut out, b) {
                        block.insert(k.clone(), v.clone());
                    }
                    whole.push((Some(b), k));
                }
                None => {}
            }
        }
        for p in paths.iter().filter(|p| !keeps_whole(p)) {
            let Some(sub) = p.sub_attribute() else {
                continue;
            };
            let (b, k, v) = match self.place(p) {
                Some(Place::Top(k, v)) => (None, k, v),
                Some(Place::InBlock(b, k, v)) => (Some(b), k, v),
                None => continue,
            };
            // Covered by a whole attribute, or by a whole extension block named at the top.
            let covered = whole
                .iter()
                .any(|(wb, wk)| (*wk == k && *wb == b) || (wb.is_none() && Some(*wk) == b));
            if covered {
                continue;
            }
            let into = match b {
                Some(b) => block_of(&mut out, b),
                None => Some(&mut out),
            };
            if let Some(into) = into {
                add_sub(into, k, v, sub);
            }
        }
        Resource { attrs: out }
    }

    /// Where the attribute `p` names sits (as [`Resource::attribute`] resolves a URN).
    fn place(&self, p: &AttributePath) -> Option<Place<'_>> {
        let top = |name: &str| find_key(&self.attrs, name).map(|(k, v)| Place::Top(k, v));
        let Some(urn) = p.urn() else {
            return top(p.name());
        };
        if let Some((b, Value::Object(block))) = find_key(&self.attrs, urn) {
            return find_key(block, p.name()).map(|(k, v)| Place::InBlock(b, k, v));
        }
        if self.is_base_urn(urn) {
            return top(p.name());
        }
        top(&format!("{urn}:{}", p.name()))
    }
}

/// Whether a path keeps its whole attribute: it names no sub-attribute, or it filters the
/// attribute's values.
fn keeps_whole(p: &AttributePath) -> bool {
    p.sub_attribute().is_none() || p.filter().is_some()
}

/// The extension block `key` of `out`, made empty if it is not there yet (`None` if `out`
/// holds something else under that key: a block copied whole, which holds everything).
fn block_of<'m>(out: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    out.entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

/// Adds to `into[key]` the sub-attribute `sub` of `value`: of the object, or of each element
/// of the array (elements that are not objects are kept whole).
fn add_sub(into: &mut Map<String, Value>, key: &str, value: &Value, sub: &str) {
    match value {
        Value::Object(obj) => {
            let Some((sk, sv)) = find_key(obj, sub) else {
                return;
            };
            let slot = into
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(sk.clone(), sv.clone());
            }
        }
        Value::Array(items) => {
            let slot = into
                .entry(key.to_owned())
                .or_insert_with(|| Value::Array(items.iter().map(empty_like).collect()));
            let Value::Array(copies) = slot else {
                return;
            };
            for (copy, item) in copies.iter_mut().zip(items) {
                if let (Value::Object(c), Value::Object(i)) = (copy, item)
                    && let Some((sk, sv)) = find_key(i, sub)
                {
                    c.insert(sk.clone(), sv.clone());
                }
            }
        }
        _ => {}
    }
}

/// An element's starting copy: an empty object for an object, the value itself otherwise.
fn empty_like(item: &Value) -> Value {
    match item {
        Value::Object(_) => Value::Object(Map::new()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

    fn user() -> Resource {
        Resource::from_value(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "u1",
            "UserName": "bjensen",
            "title": "Guide",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "B J"},
            "emails": [
                {"value": "b@work", "type": "work", "primary": true},
                {"value": "b@home", "type": "home"},
            ],
            "meta": {"resourceType": "User", "version": "W/\"3\""},
            ENTERPRISE_USER_SCHEMA: {
                "department": "Sales",
                "costCenter": "4130",
                "manager": {"value": "m1", "displayName": "Boss"},
            },
            "urn:example:flat:1.0:User:badge": "B-12",
        }))
        .unwrap()
    }

    fn project(paths: &[&str]) -> Value {
        let paths: Vec<AttributePath> = paths
            .iter()
            .map(|p| AttributePath::parse(p).unwrap())
            .collect();
        user().project(&paths).to_value()
    }

    #[test]
    fn keeps_schemas_id_and_the_named_attributes_only() {
        assert_eq!(
            project(&["username", "active"]),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "u1",
                   "UserName": "bjensen", "active": true})
        );
        assert_eq!(
            project(&[]),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "u1"})
        );
    }

    #[test]
    fn sub_attributes_of_complex_and_multi_valued_attributes() {
        let p = project(&["name.givenName", "name.FAMILYNAME", "emails.value"]);
        assert_eq!(
            p["name"],
            json!({"givenName": "Barbara", "familyName": "Jensen"})
        );
        assert_eq!(
            p["emails"],
            json!([{"value": "b@work"}, {"value": "b@home"}])
        );
    }

    #[test]
    fn a_filtered_path_keeps_the_whole_attribute_for_its_filter() {
        let p = project(&[r#"emails[type eq "work"].value"#, "emails.value"]);
        assert_eq!(p["emails"], user().to_value()["emails"]);
        let p = project(&["name.givenName", "name"]);
        assert_eq!(p["name"], user().to_value()["name"]);
    }

    #[test]
    fn extension_attributes_blocks_and_base_urns() {
        let ent = ENTERPRISE_USER_SCHEMA;
        let p = project(&[
            &format!("{ent}:department"),
            &format!("{ent}:manager.value"),
        ]);
        assert_eq!(
            p[ent],
            json!({"department": "Sales", "manager": {"value": "m1"}})
        );
        let p = project(&[ent, &format!("{ent}:manager.value")]);
        assert_eq!(p[ent], user().to_value()[ent]);
        let p = project(&[&format!("{USER_SCHEMA}:userName")]);
        assert_eq!(p["UserName"], "bjensen");
        let p = project(&["urn:example:flat:1.0:User:badge"]);
        assert_eq!(p["urn:example:flat:1.0:User:badge"], "B-12");
    }

    #[test]
    fn missing_attributes_add_nothing() {
        let ent = ENTERPRISE_USER_SCHEMA;
        let p = project(&["nickName", "name.middleName", &format!("{ent}:division")]);
        assert_eq!(
            p,
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "u1"})
        );
    }

    #[test]
    fn reading_a_path_through_the_copy_gives_what_the_resource_gives() {
        let r = user();
        let paths = [
            "userName",
            "name.givenName",
            r#"emails[type eq "work"].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ];
        let parsed: Vec<AttributePath> = paths
            .iter()
            .map(|p| AttributePath::parse(p).unwrap())
            .collect();
        let copy = r.project(&parsed);
        for p in &parsed {
            let whole = p.without_filter();
            let (urn, name) = (whole.urn(), whole.name());
            let read = |r: &Resource| {
                let v = r.attribute(urn, name).cloned();
                match (v, whole.sub_attribute()) {
                    (Some(Value::Object(o)), Some(s)) => crate::get_ci(&o, s).cloned(),
                    (v, _) => v,
                }
            };
            let (from_copy, from_resource) = (read(&copy), read(&r));
            assert!(from_resource.is_some(), "{p}");
            if p.filter().is_none() {
                assert_eq!(from_copy, from_resource, "{p}");
            } else {
                assert_eq!(copy.attribute(urn, name), r.attribute(urn, name), "{p}");
            }
        }
    }
}
