//! Value indexes of one object type: the attributes matching looks objects up by
//! (`userName`, `externalId`, and any attribute whose schema says it is unique), so `find` and
//! the uniqueness check of a create cost a lookup, not a scan.

use std::collections::BTreeMap;
use std::sync::Arc;

use scim_model::Resource;
use serde_json::Value;

use super::changelog::fold;

/// What one index covers: a top-level string attribute of the type's base schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexSpec {
    /// The attribute's name as the schema spells it, e.g. `userName`.
    pub(crate) name: String,
    /// Whether values compare case-sensitively (the schema's `caseExact`).
    pub(crate) case_exact: bool,
    /// Whether a value may be held by one object only (the schema's `uniqueness`).
    pub(crate) unique: bool,
}

/// The objects holding one value: almost always one, so no list is allocated for it.
#[derive(Clone, Debug)]
enum Holders {
    One(Arc<str>),
    Many(Vec<Arc<str>>),
}

impl Holders {
    fn as_slice(&self) -> &[Arc<str>] {
        match self {
            Holders::One(id) => std::slice::from_ref(id),
            Holders::Many(ids) => ids,
        }
    }
}

/// An index from an attribute's value (folded to lower case unless `caseExact`) to the ids of
/// the objects holding it. Lookups and updates cost O(log n).
#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub(crate) spec: IndexSpec,
    entries: BTreeMap<Box<str>, Holders>,
}

impl Index {
    /// An empty index.
    pub(crate) fn new(spec: IndexSpec) -> Self {
        Index {
            spec,
            entries: BTreeMap::new(),
        }
    }

    /// The key a value is indexed under.
    pub(crate) fn key(&self, value: &str) -> Box<str> {
        if self.spec.case_exact {
            Box::from(value)
        } else {
            fold(value).into()
        }
    }

    /// The key of a resource's value of this attribute, if it has a string value.
    pub(crate) fn key_of(&self, resource: &Resource) -> Option<Box<str>> {
        resource
            .get(&self.spec.name)
            .and_then(Value::as_str)
            .map(|v| self.key(v))
    }

    /// Adds `id` as a holder of `key`.
    pub(crate) fn insert(&mut self, key: Box<str>, id: Arc<str>) {
        match self.entries.get_mut(&key) {
            None => {
                self.entries.insert(key, Holders::One(id));
            }
            Some(holders) => {
                let mut ids = match std::mem::replace(holders, Holders::Many(Vec::new())) {
                    Holders::One(first) => vec![first],
                    Holders::Many(ids) => ids,
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
                *holders = Holders::Many(ids);
            }
        }
    }

    /// Removes `id` as a holder of `key`.
    pub(crate) fn remove(&mut self, key: &str, id: &str) {
        let empty = match self.entries.get_mut(key) {
            None => return,
            Some(Holders::One(held)) => &**held == id,
            Some(Holders::Many(ids)) => {
                ids.retain(|held| &**held != id);
                if ids.len() == 1 {
                    let only = ids.remove(0);
                    self.entries.insert(Box::from(key), Holders::One(only));
                    return;
                }
                ids.is_empty()
            }
        };
        if empty {
            self.entries.remove(key);
        }
    }

    /// The objects holding `key`, in the order they took it.
    pub(crate) fn holders(&self, key: &str) -> &[Arc<str>] {
        self.entries.get(key).map(Holders::as_slice).unwrap_or(&[])
    }

    /// An object other than `except` that holds `key`.
    pub(crate) fn holder_other_than(&self, key: &str, except: Option<&str>) -> Option<&Arc<str>> {
        self.holders(key)
            .iter()
            .find(|id| except.is_none_or(|e| &***id != e))
    }

    /// How many distinct values the index holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_name_index() -> Index {
        Index::new(IndexSpec {
            name: "userName".into(),
            case_exact: false,
            unique: true,
        })
    }

    #[test]
    fn case_insensitive_keys_fold_and_find_the_holder() {
        let mut ix = user_name_index();
        let r: Resource = serde_json::from_value(json!({"UserName": "BJensen"})).unwrap();
        let key = ix.key_of(&r).unwrap();
        assert_eq!(&*key, "bjensen");
        ix.insert(key, Arc::from("u-1"));
        assert_eq!(ix.holders(&ix.key("BJENSEN")).len(), 1);
        assert_eq!(
            ix.holder_other_than("bjensen", Some("u-2")).map(|s| &**s),
            Some("u-1")
        );
        assert!(ix.holder_other_than("bjensen", Some("u-1")).is_none());
        assert!(ix.holders("nobody").is_empty());
    }

    #[test]
    fn case_exact_keys_are_kept() {
        let ix = Index::new(IndexSpec {
            name: "employeeNumber".into(),
            case_exact: true,
            unique: false,
        });
        assert_eq!(&*ix.key("E-42"), "E-42");
        let r: Resource = serde_json::from_value(json!({"employeeNumber": 42})).unwrap();
        assert!(ix.key_of(&r).is_none(), "a non-string value is not indexed");
    }

    #[test]
    fn several_holders_and_removal() {
        let mut ix = user_name_index();
        ix.insert("x".into(), Arc::from("a"));
        ix.insert("x".into(), Arc::from("b"));
        ix.insert("x".into(), Arc::from("b"));
        ix.insert("y".into(), Arc::from("c"));
        let ids: Vec<&str> = ix.holders("x").iter().map(|s| &**s).collect();
        assert_eq!(ids, vec!["a", "b"]);
        ix.remove("x", "a");
        let ids: Vec<&str> = ix.holders("x").iter().map(|s| &**s).collect();
        assert_eq!(ids, vec!["b"]);
        ix.remove("x", "b");
        assert!(ix.holders("x").is_empty());
        assert_eq!(ix.len(), 1);
        ix.remove("y", "not-the-holder");
        assert_eq!(ix.holders("y").len(), 1);
        ix.remove("missing", "a");
        assert_eq!(ix.len(), 1);
    }
}
