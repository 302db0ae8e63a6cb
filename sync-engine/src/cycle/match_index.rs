//! Matching by listing: on an initial or full cycle, one listing of a small target tells which
//! matching values it holds, so the objects that cannot match skip their `find`.
//!
//! Matching an object costs one `find` per matching attribute — one request per object on a
//! SCIM target, which doubles the requests of a first cycle into an empty or small target.
//! Before an initial or full import the engine lists the target (if it holds at most
//! [`Job::match_by_listing_up_to`](crate::Job::match_by_listing_up_to) objects) and keeps, per
//! matching attribute, the values present. The index is only a pre-filter: a value it does not
//! hold cannot match, so `find` is skipped; a value it holds is still looked up with `find`,
//! which stays the authority (the target's own comparison rules, what changed since the
//! listing). Strings are compared case-insensitively here, so the index never rules out a match
//! that a case-insensitive target would make.
//!
//! Objects another writer adds to the target after the listing are not in the index: an object
//! of ours with the same value is created rather than matched, which a target that keeps the
//! value unique refuses (a uniqueness failure, escrowed and matched on the retry, which uses
//! `find`). The same race exists between a `find` and a create; the listing only widens it to
//! the cycle.

use std::collections::{BTreeMap, BTreeSet};

use connectors::{ErrorKind, Query};
use scim_model::AttributePath;
use serde_json::Value;

use super::item::read_path;
use super::read::with_retries;
use super::{Cx, lock};

/// The matching values a target held when the cycle listed it, per matching attribute.
#[derive(Debug, Default)]
pub(crate) struct MatchIndex {
    /// Keyed by the matching attribute's path as printed.
    values: BTreeMap<String, BTreeSet<String>>,
}

impl MatchIndex {
    /// Whether a target object may hold `value` at `path` (false: none can).
    pub(crate) fn may_hold(&self, path: &AttributePath, value: &Value) -> bool {
        self.values
            .get(&path.to_string())
            .is_none_or(|held| held.contains(&key(value)))
    }

    fn add(&mut self, path: &AttributePath, value: Value) {
        let held = self.values.entry(path.to_string()).or_default();
        match value {
            Value::Array(items) => {
                for v in items {
                    held.insert(key(&v));
                }
            }
            Value::Null => {}
            v => {
                held.insert(key(&v));
            }
        }
    }
}

/// How a value is compared in the index: strings without case, anything else as its JSON
/// text (so 42 and "42" share a key: the index over-includes, it never rules out).
fn key(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

/// Lists the target of object type `ti` and builds its index, when the job allows it and the
/// target is small enough; `None` (match with `find` alone) otherwise.
pub(crate) async fn build(cx: &Cx<'_>, ti: usize) -> Option<MatchIndex> {
    let limit = cx.eng.job.match_by_listing_up_to?;
    let paths: Vec<AttributePath> = cx.eng.types[ti]
        .mapping
        .attribute_mappings
        .matching_mappings()
        .filter_map(|m| AttributePath::parse(&m.target_attribute).ok())
        .collect();
    if paths.is_empty() {
        return None;
    }
    match list(cx, ti, &paths, limit).await {
        Ok(index) => index,
        Err(e) => {
            note_unused(cx, ti, &e);
            None
        }
    }
}

/// Pages through the target, by cursor where it gives one, else by index; `None` as soon as
/// the first page says it holds more than `limit` objects.
async fn list(
    cx: &Cx<'_>,
    ti: usize,
    paths: &[AttributePath],
    limit: u64,
) -> connectors::Result<Option<MatchIndex>> {
    let eng = cx.eng;
    let tt = eng.types[ti].target_type();
    let page_size = eng
        .target
        .capabilities()
        .max_page_size
        .map_or(eng.job.page_size, |max| max.min(eng.job.page_size))
        .max(1);
    let mut index = MatchIndex::default();
    for p in paths {
        index.values.entry(p.to_string()).or_default();
    }
    let mut query = Query::all().with_count(page_size);
    let mut listed = 0usize;
    loop {
        let page = with_retries(cx, || eng.target.query(tt, &query)).await?;
        if listed == 0 && page.total_results as u64 > limit {
            return Ok(None);
        }
        let n = page.objects.len();
        for o in &page.objects {
            for path in paths {
                if let Some(v) = read_path(&o.resource, path, &eng.registry) {
                    index.add(path, v);
                }
            }
        }
        listed += n;
        query = match page.next {
            Some(cursor) => Query::all().with_count(page_size).with_cursor(cursor),
            None if n == 0 || listed >= page.total_results => return Ok(Some(index)),
            None => {
                let mut q = Query::all().with_count(page_size);
                q.start_index = listed + 1;
                q
            }
        };
    }
}

fn note_unused(cx: &Cx<'_>, ti: usize, e: &connectors::Error) {
    if e.kind() == ErrorKind::Unsupported {
        return; // a target that cannot list: match with find, as always
    }
    lock(&cx.notes).push(format!(
        "{}: could not list the target to match by listing ({e}); matched with find",
        cx.eng.types[ti].target_type()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_match_without_case_and_other_values_as_json() {
        let mut ix = MatchIndex::default();
        ix.values.insert("userName".to_owned(), BTreeSet::new());
        assert!(!ix.may_hold(&AttributePath::new("userName"), &json!("anyone")));
        let user = AttributePath::new("userName");
        let num = AttributePath::new("employeeNumber");
        ix.add(&user, json!("BJensen@Example.com"));
        ix.add(&num, json!(42));
        ix.add(&num, json!(["7", null]));
        assert!(ix.may_hold(&user, &json!("bjensen@example.com")));
        assert!(!ix.may_hold(&user, &json!("someone@example.com")));
        assert!(ix.may_hold(&num, &json!(42)));
        assert!(ix.may_hold(&num, &json!("7")));
        // A number and its text are not told apart: the index may only over-include (then
        // `find` decides), never rule out a match a lenient target would make.
        assert!(ix.may_hold(&num, &json!("42")));
        assert!(!ix.may_hold(&num, &json!(43)));
        // A path the index never listed rules nothing out.
        assert!(ix.may_hold(&AttributePath::new("externalId"), &json!("x")));
    }
}
