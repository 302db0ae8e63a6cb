//! Reading attribute paths from resources fast, with the answers of the plain readers.
//!
//! Scoping filters, mappings and expressions read the same few paths from many resources of
//! one shape. [`scim_model::get_ci`] hashes the name (SipHash, over a 60-character URN for an
//! extension block) and compares keys with `memcmp`; [`Resource::attribute`] does that two or
//! three times for a URN-qualified path. Profiles of the scoping benchmarks put two thirds of
//! a filter's time there. This module reads the same values without hashing:
//!
//! - [`lookup_hinted`]: a case-insensitive key lookup that finds what [`get_ci`] finds (an
//!   exact match first, else the first case-insensitive one) by scanning small objects,
//!   comparing lengths first, and that first tries the position where the same lookup site
//!   last found its name exactly (a [`Hint`], as a JavaScript engine's inline cache). A wrong
//!   or stale hint costs one comparison; the answer never depends on it.
//! - [`PathReader`]: a parsed path's steps with a hint for each ([`Resource::attribute`] for
//!   its URN and name, the sub-attribute, `value`), prepared once.
//! - [`ElementTest`]: the value filter of a path (`emails[type eq "work"]`) as
//!   [`crate::mapping::flow::element_matches`] decides it, with its literals lower-cased once.
//!
//! [`get_ci`]: scim_model::get_ci

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use scim_model::{AttributePath, CompValue, CompareOp, Filter, Resource, get_ci};
use serde_json::{Map, Value};

use crate::mapping::flow::is_empty;

/// Objects with more keys than this are searched by hash rather than scanned.
const SCAN_MAX: usize = 32;

/// Where a name was last found, exactly, by one lookup site.
///
/// Shared by every thread evaluating the same compiled filter or mapping: relaxed atomics,
/// written only when the position changes.
#[derive(Default)]
pub(crate) struct Hint(AtomicU32);

impl Hint {
    #[inline(always)]
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed) as usize
    }

    fn set(&self, i: usize) {
        if let Ok(i) = u32::try_from(i)
            && self.0.load(Ordering::Relaxed) != i
        {
            self.0.store(i, Ordering::Relaxed);
        }
    }
}

impl Clone for Hint {
    fn clone(&self) -> Self {
        Hint(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

impl fmt::Debug for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hint({})", self.get())
    }
}

/// `name` in `m`, as [`get_ci`] finds it: at the hinted position if the key there is `name`
/// exactly, else by a scan that remembers where an exact match was found.
#[inline(always)]
pub(crate) fn lookup_hinted<'a>(
    m: &'a Map<String, Value>,
    name: &str,
    hint: &Hint,
) -> Option<&'a Value> {
    if let Some((k, v)) = m.iter().nth(hint.get())
        && same(k.as_bytes(), name.as_bytes())
    {
        return Some(v);
    }
    lookup_missed(m, name, hint)
}

/// [`lookup_hinted`] when the hint was wrong.
#[inline(never)]
fn lookup_missed<'a>(m: &'a Map<String, Value>, name: &str, hint: &Hint) -> Option<&'a Value> {
    if m.len() > SCAN_MAX {
        return get_ci(m, name);
    }
    let mut folded = None;
    for (i, (k, v)) in m.iter().enumerate() {
        if k.len() != name.len() {
            continue;
        }
        if same(k.as_bytes(), name.as_bytes()) {
            hint.set(i);
            return Some(v);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(v);
        }
    }
    folded
}

/// `a == b`, inline for short keys: two overlapping words cover up to 16 bytes.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if let (Some(af), Some(bf), Some(al), Some(bl)) = (
        a.first_chunk::<8>(),
        b.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        // Longer keys: both ends first (URNs share long prefixes), then the whole.
        return al == bl && af == bf && (a.len() <= 16 || a == b);
    }
    if let (Some(af), Some(bf), Some(al), Some(bl)) = (
        a.first_chunk::<4>(),
        b.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        return af == bf && al == bl;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Reads the first byte of every key and string value of `resource`, two levels of objects
/// and lists down (at most 64 entries of an object and 8 elements of a list), and returns a number made of them (to be passed to
/// [`std::hint::black_box`], so the reads stay).
///
/// A mapping set reads a dozen attributes of each source object, each at the end of a chain
/// of dependent loads (the object's entries, the key's text to confirm the position, the
/// value, the nested object's entries…). When the object is not in the cache (a host going
/// through a population larger than the cache, one object after the other) each chain is a
/// series of cache misses, and the work between two chains keeps the processor from
/// starting the next one early: the misses come one after the other. This loop reaches the
/// same lines with a few instructions each, independent of one another, so their misses
/// overlap; the reads that follow find them in the cache. For an HR user of the benchmarks it
/// costs about 950 instructions (of about 11,400 for `create_attributes_into`, 26,700 for
/// `create_attributes`), nothing measurable when the users are in the cache, and saved a
/// quarter to a half of a create's time over 10,000 users (62 MB, twice the L3 cache).
pub(crate) fn warm(resource: &Resource) -> usize {
    warm_object(resource.as_object(), 2)
}

/// The entries of an object and the elements of a list [`warm`] reads: the mappings' reads
/// scan small objects and the first elements of lists (a value filter finds the first
/// element it selects), and a large group's `members` must not make every create of it walk
/// the whole list.
const WARM_ENTRIES: usize = 64;
const WARM_ELEMENTS: usize = 8;

fn warm_object(m: &Map<String, Value>, depth: u32) -> usize {
    let mut acc = 0usize;
    for (k, v) in m.iter().take(WARM_ENTRIES) {
        acc = acc
            .wrapping_add(usize::from(k.as_bytes().first().copied().unwrap_or(0)))
            .wrapping_add(warm_value(v, depth));
    }
    acc
}

fn warm_value(v: &Value, depth: u32) -> usize {
    match v {
        Value::String(s) => usize::from(s.as_bytes().first().copied().unwrap_or(0)),
        Value::Object(o) if depth > 0 => warm_object(o, depth - 1),
        Value::Array(items) if depth > 0 => items
            .iter()
            .take(WARM_ELEMENTS)
            .fold(0, |acc, i| acc.wrapping_add(warm_value(i, depth - 1))),
        _ => 0,
    }
}

/// The core schema URN prefix: a resource without `schemas` reads such a URN as its base.
const CORE: &str = "urn:ietf:params:scim:schemas:core:";

/// One path's reading steps, each with its hint.
#[derive(Clone, Debug)]
pub(crate) struct PathReader {
    urn: Option<Box<str>>,
    name: Box<str>,
    sub: Option<Box<str>>,
    /// `urn:name`, read as one top-level key when the URN is neither an extension block nor
    /// the base schema.
    qualified: Box<str>,
    /// Whether the URN is a core schema URN (the base of a resource without `schemas`).
    core_urn: bool,
    h_urn: Hint,
    h_name: Hint,
    h_schemas: Hint,
    h_whole: Hint,
    h_sub: Hint,
    h_value: Hint,
}

impl PathReader {
    /// The reader of `path`'s URN, name and sub-attribute (its value filter is the caller's).
    pub(crate) fn new(path: &AttributePath) -> Self {
        let qualified = match path.urn() {
            Some(urn) => format!("{urn}:{}", path.name()),
            None => path.name().to_owned(),
        };
        let core_urn = path.urn().is_some_and(|urn| {
            urn.len() > CORE.len()
                && urn.as_bytes()[..CORE.len()].eq_ignore_ascii_case(CORE.as_bytes())
        });
        PathReader {
            urn: path.urn().map(Box::from),
            name: Box::from(path.name()),
            sub: path.sub_attribute().map(Box::from),
            qualified: qualified.into_boxed_str(),
            core_urn,
            h_urn: Hint::default(),
            h_name: Hint::default(),
            h_schemas: Hint::default(),
            h_whole: Hint::default(),
            h_sub: Hint::default(),
            h_value: Hint::default(),
        }
    }

    /// The sub-attribute's name, if the path has one.
    #[inline(always)]
    pub(crate) fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// What [`Resource::attribute`] gives for the path's URN and name.
    #[inline]
    pub(crate) fn top<'r>(&self, r: &'r Resource) -> Option<&'r Value> {
        let m = r.as_object();
        match &self.urn {
            None => lookup_hinted(m, &self.name, &self.h_name),
            Some(urn) => self.qualified_top(m, urn),
        }
    }

    fn qualified_top<'r>(&self, m: &'r Map<String, Value>, urn: &str) -> Option<&'r Value> {
        // An extension block under this URN (`Resource::extension`).
        if let Some(Value::Object(block)) = lookup_hinted(m, urn, &self.h_urn) {
            return lookup_hinted(block, &self.name, &self.h_name);
        }
        // The base schema (`Resource::is_base_urn`; the URN is not an extension block here).
        let base = match lookup_hinted(m, "schemas", &self.h_schemas) {
            Some(Value::Array(schemas)) => schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))),
            Some(_) => false,
            None => self.core_urn,
        };
        if base {
            return lookup_hinted(m, &self.name, &self.h_name);
        }
        lookup_hinted(m, &self.qualified, &self.h_whole)
    }

    /// The path's sub-attribute in `m` (`get_ci(m, sub)`); `None` without one.
    #[inline(always)]
    pub(crate) fn sub_in<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup_hinted(m, self.sub.as_deref()?, &self.h_sub)
    }

    /// `value` in `m` (`get_ci(m, "value")`).
    #[inline(always)]
    pub(crate) fn value_in<'a>(&self, m: &'a Map<String, Value>) -> Option<&'a Value> {
        lookup_hinted(m, "value", &self.h_value)
    }
}

/// An entry of a JSON object, as a read-ahead level hands it to the next.
pub(crate) type Entry<'r> = (&'r String, &'r Value);

/// The first and last bytes of `text` (what [`same`] compares first), as a number.
#[inline(always)]
fn ends(text: &str) -> usize {
    let b = text.as_bytes();
    usize::from(b.first().copied().unwrap_or(0)) + usize::from(b.last().copied().unwrap_or(0))
}

/// The entry of `m` at `hint`'s position, whatever its key (read ahead only).
#[inline(always)]
fn hinted<'r>(m: &'r Map<String, Value>, hint: &Hint) -> Option<Entry<'r>> {
    m.iter().nth(hint.get())
}

/// Reading ahead: the memory a path's read will touch, one level of its chain of pointers at
/// a time, so that a caller can bring it into cache for many resources at once (their
/// misses overlap) before it reads them one by one. Each level follows the positions the
/// hints give without checking the keys: a stale hint only reads the wrong entry ahead, the
/// read itself is unchanged. Every function returns a number made of what it read, for
/// [`std::hint::black_box`].
impl PathReader {
    /// Level 1: the top-level entry [`PathReader::top`] looks at first (the extension block's
    /// for a URN-qualified path): only its place, for level 2, which reads it.
    #[inline(always)]
    pub(crate) fn ahead_top<'r>(&self, resource: &'r Resource) -> Option<Entry<'r>> {
        let hint = if self.urn.is_some() {
            &self.h_urn
        } else {
            &self.h_name
        };
        hinted(resource.as_object(), hint)
    }

    /// Level 2: the key of a level-1 entry and the start of its value; returns the entry of
    /// the next step (the name in an extension block, the sub-attribute of an object or of a
    /// list's first element) for level 3.
    #[inline(always)]
    pub(crate) fn ahead_next<'r>(&self, entry: Option<Entry<'r>>) -> (usize, Option<Entry<'r>>) {
        let Some((k, v)) = entry else {
            return (0, None);
        };
        let n = ends(k);
        let next = match v {
            Value::Object(o) if self.urn.is_some() => hinted(o, &self.h_name),
            Value::Object(o) => self.sub.as_ref().and_then(|_| hinted(o, &self.h_sub)),
            Value::Array(items) => match items.first() {
                Some(Value::Object(o)) => match self.sub {
                    Some(_) => hinted(o, &self.h_sub),
                    None => hinted(o, &self.h_value),
                },
                _ => None,
            },
            Value::String(s) => return (n + ends(s), None),
            _ => None,
        };
        (n, next)
    }

    /// Level 3: the key of a level-2 entry and the start of its string value.
    #[inline(always)]
    pub(crate) fn ahead_leaf(entry: Option<Entry<'_>>) -> usize {
        match entry {
            Some((k, Value::String(s))) => ends(k) + ends(s),
            Some((k, _)) => ends(k),
            None => 0,
        }
    }
}

/// A path read as a mapping reads it ([`crate::mapping::flow::read_path`]), prepared once.
#[derive(Clone, Debug)]
pub(crate) struct PathValue {
    reader: PathReader,
    element: Option<ElementTest>,
}

impl PathValue {
    /// The reader of `path`.
    pub(crate) fn new(path: &AttributePath) -> Self {
        PathValue {
            reader: PathReader::new(path),
            element: path.filter().map(ElementTest::new),
        }
    }

    /// What `read_path(resource, path)` gives, borrowed where it can be: a value-filter path
    /// reads the first element its filter selects; a sub-attribute of a multi-valued attribute
    /// reads every element's (a new array). Empty → `None`.
    pub(crate) fn read<'r>(&self, resource: &'r Resource) -> Option<Cow<'r, Value>> {
        let top = self.reader.top(resource)?;
        let value = match (&self.element, self.reader.sub()) {
            (Some(test), sub) => {
                let element = match top {
                    Value::Array(items) => items.iter().find(|e| test.matches(e))?,
                    single if test.matches(single) => single,
                    _ => return None,
                };
                match sub {
                    Some(_) => Cow::Borrowed(self.reader.sub_in(element.as_object()?)?),
                    None => Cow::Borrowed(element),
                }
            }
            (None, Some(_)) => match top {
                Value::Object(o) => Cow::Borrowed(self.reader.sub_in(o)?),
                Value::Array(items) => Cow::Owned(Value::Array(
                    items
                        .iter()
                        .filter_map(|e| e.as_object().and_then(|o| self.reader.sub_in(o)))
                        .filter(|v| !is_empty(v))
                        .cloned()
                        .collect(),
                )),
                _ => return None,
            },
            (None, None) => Cow::Borrowed(top),
        };
        (!is_empty(&value)).then_some(value)
    }
}

/// A value filter as [`crate::mapping::flow::element_matches`] decides it, prepared once.
#[derive(Clone, Debug)]
pub(crate) enum ElementTest {
    /// `name[.sub] eq|ne literal`.
    Compare {
        name: Box<str>,
        h_name: Hint,
        sub: Option<(Box<str>, Hint)>,
        negate: bool,
        literal: Literal,
    },
    /// `name pr`.
    Present {
        name: Box<str>,
        h_name: Hint,
    },
    And(Box<ElementTest>, Box<ElementTest>),
    Or(Box<ElementTest>, Box<ElementTest>),
    Not(Box<ElementTest>),
    /// Any other operator: never matches.
    Never,
}

/// A value-filter literal, with what comparing it needs.
#[derive(Clone, Debug)]
pub(crate) enum Literal {
    /// A string, lower-cased (`char::to_lowercase` of each character).
    String {
        /// As written, for comparing with a boolean.
        text: String,
        lower: String,
        ascii: bool,
    },
    Bool(bool),
    Number(serde_json::Number),
    Null,
    /// A kind of literal added to scim-model later: equal to nothing.
    Other,
}

impl ElementTest {
    /// Prepares `filter`.
    pub(crate) fn new(filter: &Filter) -> Self {
        match filter {
            Filter::Compare { path, op, value } => {
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return ElementTest::Never;
                }
                let literal = match value {
                    CompValue::String(s) => {
                        let lower: String = s.chars().flat_map(char::to_lowercase).collect();
                        let ascii = lower.is_ascii();
                        Literal::String {
                            text: s.clone(),
                            lower,
                            ascii,
                        }
                    }
                    CompValue::Bool(b) => Literal::Bool(*b),
                    CompValue::Number(n) => Literal::Number(n.clone()),
                    CompValue::Null => Literal::Null,
                    _ => Literal::Other,
                };
                ElementTest::Compare {
                    name: Box::from(path.name()),
                    h_name: Hint::default(),
                    sub: path
                        .sub_attribute()
                        .map(|s| (Box::from(s), Hint::default())),
                    negate: *op == CompareOp::Ne,
                    literal,
                }
            }
            Filter::Present(path) => ElementTest::Present {
                name: Box::from(path.name()),
                h_name: Hint::default(),
            },
            Filter::And(a, b) => {
                ElementTest::And(Box::new(ElementTest::new(a)), Box::new(ElementTest::new(b)))
            }
            Filter::Or(a, b) => {
                ElementTest::Or(Box::new(ElementTest::new(a)), Box::new(ElementTest::new(b)))
            }
            Filter::Not(a) => ElementTest::Not(Box::new(ElementTest::new(a))),
            _ => ElementTest::Never,
        }
    }

    /// Whether `element` passes (as `element_matches(filter, element)`).
    pub(crate) fn matches(&self, element: &Value) -> bool {
        let Value::Object(obj) = element else {
            return false;
        };
        self.matches_object(obj)
    }

    fn matches_object(&self, obj: &Map<String, Value>) -> bool {
        match self {
            ElementTest::Compare {
                name,
                h_name,
                sub,
                negate,
                literal,
            } => {
                let actual = lookup_hinted(obj, name, h_name).and_then(|v| match sub {
                    Some((sub, h_sub)) => v.as_object().and_then(|o| lookup_hinted(o, sub, h_sub)),
                    None => Some(v),
                });
                actual.is_some_and(|a| literal.loosely_equals(a)) != *negate
            }
            ElementTest::Present { name, h_name } => {
                lookup_hinted(obj, name, h_name).is_some_and(|v| !is_empty(v))
            }
            ElementTest::And(a, b) => a.matches_object(obj) && b.matches_object(obj),
            ElementTest::Or(a, b) => a.matches_object(obj) || b.matches_object(obj),
            ElementTest::Not(a) => !a.matches_object(obj),
            ElementTest::Never => false,
        }
    }
}

impl Literal {
    /// `loosely_equal(actual, literal)` of [`crate::mapping::flow`]: strings ignoring case
    /// (Unicode lower case), a boolean and `"true"`/`"false"` in any case, numbers as `f64`.
    #[inline]
    fn loosely_equals(&self, actual: &Value) -> bool {
        match (actual, self) {
            (Value::String(a), Literal::String { lower, ascii, .. }) => {
                if a.is_ascii() {
                    // An ASCII string lower-cases byte for byte, to ASCII.
                    *ascii
                        && a.len() == lower.len()
                        && a.bytes()
                            .zip(lower.bytes())
                            .all(|(x, y)| x.to_ascii_lowercase() == y)
                } else {
                    a.chars().flat_map(char::to_lowercase).eq(lower.chars())
                }
            }
            (Value::Bool(a), Literal::Bool(b)) => a == b,
            (Value::Bool(a), Literal::String { text, .. }) => {
                text.eq_ignore_ascii_case(if *a { "true" } else { "false" })
            }
            (Value::String(a), Literal::Bool(b)) => {
                a.eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
            (Value::Number(a), Literal::Number(b)) => a.as_f64() == b.as_f64(),
            (Value::Null, Literal::Null) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::mapping::flow::element_matches;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    /// Resources of several shapes: extension block spelled in other cases, absent, not an
    /// object, flattened keys, no `schemas`, keys differing only in case.
    fn resources() -> Vec<Resource> {
        [
            json!({"schemas": [CORE_USER, ENT], "userName": "a", "title": "Manager",
                   "emails": [{"value": "a@x", "type": "work"}],
                   ENT: {"department": "Sales", "Department": "IT", "manager": {"value": "m"}}}),
            json!({"schemas": [CORE_USER], "USERNAME": "b", "Title": "t", "title": "T2",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "Legal"}}),
            json!({"schemas": [CORE_USER], ENT: "not an object",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Flat"}),
            json!({"userName": "no schemas", "department": "core",
                   "urn:ietf:params:scim:schemas:core:2.0:User:title": "flat core"}),
            json!({"schemas": [], "userName": "c", "title": "x"}),
            json!({"schemas": [ENT], "userName": "d", ENT: {"department": "D"},
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0": {"User": 1}}),
            Value::Object((0..50).map(|i| (format!("k{i}"), json!(i))).chain([("title".to_owned(), json!("big"))]).collect()),
        ]
        .into_iter()
        .map(|v| Resource::from_value(v).unwrap())
        .chain([{
            // A `schemas` that is not a list, which only a change in place can make.
            let mut r = Resource::from_value(json!({"userName": "e", "title": "y"})).unwrap();
            r.as_object_mut().insert("schemas".to_owned(), json!(CORE_USER));
            r
        }])
        .collect()
    }

    const PATHS: [&str; 14] = [
        "userName",
        "USERNAME",
        "title",
        "TITLE",
        "emails",
        "k49",
        "missing",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:USER:Department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:title",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:other:2.0:User:department",
    ];

    #[test]
    fn a_reader_reads_what_resource_attribute_reads() {
        let resources = resources();
        // One reader per path, shared across resources of different shapes and orders, so
        // hints left by one resource are tried (and must not mislead) on the next.
        let readers: Vec<(AttributePath, PathReader)> = PATHS
            .iter()
            .map(|p| {
                let path = AttributePath::parse(p).unwrap();
                let reader = PathReader::new(&path);
                (path, reader)
            })
            .collect();
        for round in 1..4 {
            for step in 0..resources.len() * 3 {
                let r = &resources[(step * round) % resources.len()];
                for (path, reader) in &readers {
                    let top = reader.top(r);
                    assert_eq!(top, r.attribute(path.urn(), path.name()), "{path} in {r:?}");
                    if let Some(Value::Object(o)) = top {
                        let want = path.sub_attribute().and_then(|s| get_ci(o, s));
                        assert_eq!(reader.sub_in(o), want, "{path}");
                        assert_eq!(reader.value_in(o), get_ci(o, "value"), "{path}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_path_value_reads_what_read_path_reads() {
        let mut resources = resources();
        resources.push(
            Resource::from_value(json!({
                "schemas": [CORE_USER],
                "emails": [{"type": "home", "value": "h"}, {"Type": "WORK", "value": "w"},
                           {"type": "work", "value": ""}, "not an object"],
                "phoneNumbers": {"type": "work", "value": "single"},
                "roles": [{"primary": "True", "value": ["a", ""]}, {"value": {}}],
                "ims": [{"value": ""}, {"value": null}]
            }))
            .unwrap(),
        );
        let paths = PATHS.iter().copied().chain([
            r#"emails[type eq "work"].value"#,
            r#"emails[type eq "work"]"#,
            r#"emails[type eq "fax"].value"#,
            r#"phoneNumbers[type eq "work"].value"#,
            r#"roles[primary eq true].value"#,
            "roles.value",
            "emails.value",
            "ims.value",
            "ims",
            "phoneNumbers.value",
        ]);
        let readers: Vec<(AttributePath, PathValue)> = paths
            .map(|p| {
                let path = AttributePath::parse(p).unwrap();
                let reader = PathValue::new(&path);
                (path, reader)
            })
            .collect();
        for round in 1..4 {
            for step in 0..resources.len() * 3 {
                let r = &resources[(step * round) % resources.len()];
                for (path, reader) in &readers {
                    assert_eq!(
                        reader.read(r).map(Cow::into_owned),
                        crate::mapping::flow::read_path(r, path),
                        "{path} in {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn lookups_prefer_the_exact_key_like_get_ci() {
        let objects = [
            json!({"Type": 1, "type": 2, "TYPE": 3}),
            json!({"value": "a", "TYPE": "b", "type": "c"}),
            json!({"TYPE": "b"}),
            json!({}),
            Value::Object((0..100).map(|i| (format!("k{i}"), json!(i))).collect()),
            json!({"abcdefghijklmnopqrstuvwxyz": 1, "abcdefghijklmnopqrstuvwxyZ": 2, "Abcdefghijklmnopqrstuvwxyz": 3}),
        ];
        let names = [
            "type",
            "Type",
            "TYPE",
            "tYpE",
            "value",
            "VALUE",
            "k7",
            "K99",
            "x",
            "",
            "abcdefghijklmnopqrstuvwxyz",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "abcdefghijklmnopqrstuvwxyZ",
            "abcdefghijklmNopqrstuvwxyz",
        ];
        for round in 1..4 {
            let hints: Vec<Hint> = names.iter().map(|_| Hint::default()).collect();
            for step in 0..objects.len() * 2 {
                let o = &objects[(step * round) % objects.len()];
                let m = o.as_object().unwrap();
                for (name, hint) in names.iter().zip(&hints) {
                    assert_eq!(
                        lookup_hinted(m, name, hint),
                        get_ci(m, name),
                        "{name} in {o}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_is_byte_equality() {
        let words: Vec<Vec<u8>> = (0..40)
            .flat_map(|n: usize| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let copy = base.clone();
                (0..n.max(1))
                    .map(move |at| {
                        let mut w = base.clone();
                        if let Some(b) = w.get_mut(at) {
                            *b = b'X';
                        }
                        w
                    })
                    .chain([copy])
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    fn element_strategy() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(json!(null)),
            Just(json!(true)),
            Just(json!(false)),
            Just(json!(1)),
            Just(json!(1.0)),
            prop::sample::select(vec![
                "work", "WORK", "Work", "home", "true", "True", "straße", "STRASSE", "İ", "i̇", "1",
                ""
            ])
            .prop_map(|s| json!(s)),
        ];
        let key = prop::sample::select(vec!["type", "TYPE", "Type", "value", "primary", "display"]);
        prop_oneof![
            4 => prop::collection::vec((key, scalar.clone()), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            1 => scalar,
        ]
    }

    const FILTERS: [&str; 14] = [
        r#"type eq "work""#,
        r#"TYPE eq "WORK""#,
        r#"type ne "work""#,
        r#"type eq "STRASSE""#,
        r#"type eq "İ""#,
        r#"type eq "True""#,
        "primary eq true",
        "primary eq 1",
        "type eq null",
        "type pr",
        r#"type eq "work" and primary eq true"#,
        r#"type eq "home" or not (value pr)"#,
        r#"type co "w""#,
        r#"type.sub eq "x""#,
    ];

    proptest! {
        #[test]
        fn element_tests_agree_with_element_matches(elements in prop::collection::vec(element_strategy(), 1..8)) {
            for text in FILTERS {
                let filter: Filter = text.parse().unwrap();
                let test = ElementTest::new(&filter);
                for e in &elements {
                    prop_assert_eq!(test.matches(e), element_matches(&filter, e), "{} on {}", text, e);
                }
            }
        }
    }

    /// `warm` reads a bounded part of a resource: list elements past the eighth and object
    /// entries past the 64th are not read (a large group's members cost nothing), and it
    /// reads keys and string values, two levels down.
    #[test]
    fn warm_reads_a_bounded_part() {
        let members = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"value": format!("{}", i % 10)}))
                .collect()
        };
        let group = |n: usize| {
            Resource::from_value(json!({"displayName": "g", "members": members(n)}))
                .unwrap_or_default()
        };
        assert_eq!(warm(&group(8)), warm(&group(100_000)));
        assert_ne!(warm(&group(7)), warm(&group(8)));
        let wide: Map<String, Value> = (0..200)
            .map(|i| (format!("k{i}"), Value::from("x")))
            .collect();
        let first: Map<String, Value> = wide
            .iter()
            .take(64)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            warm(&Resource::from_object(wide).unwrap_or_default()),
            warm(&Resource::from_object(first).unwrap_or_default())
        );
    }
}
