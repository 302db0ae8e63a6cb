//! Case-insensitive key lookup in JSON objects, as [`get_ci`] finds keys (an exact match
//! first, else the first case-insensitive one), without hashing.
//!
//! A compiled filter looks the same names up in objects of the same shape again and again (a
//! directory's users all list their attributes in one order), so each of its lookups keeps a
//! [`Hint`]: the position where the name was last found exactly. A lookup checks that position
//! first, one comparison, as a JavaScript engine's inline cache does; a wrong or stale hint
//! costs only that comparison before the ordinary scan. The answer never depends on the hint.
//!
//! [`get_ci`]: crate::resource::get_ci

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

use crate::resource::get_ci;

/// Objects with more keys than this are searched by hash rather than scanned.
const SCAN_MAX: usize = 64;

/// Where a name was last found, exactly, in the objects one lookup site reads.
///
/// Shared by every thread evaluating the same compiled filter: relaxed atomics, written only
/// when the position changes.
#[derive(Default)]
pub(super) struct Hint(AtomicU32);

impl Hint {
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

/// `name` in `m`, as [`get_ci`] finds it, scanning small objects (comparing lengths first)
/// rather than hashing.
pub(super) fn lookup<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if m.len() > SCAN_MAX {
        return get_ci(m, name);
    }
    scan(m, name, None)
}

/// `name` in `m`, as [`get_ci`] finds it: at the hinted position if the key there is `name`
/// exactly, else by [`lookup`], remembering where an exact match was found.
#[inline(always)]
pub(super) fn lookup_hinted<'a>(
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
    scan(m, name, Some(hint))
}

/// One pass: an exact match returns at once; otherwise the first case-insensitive one.
fn scan<'a>(m: &'a Map<String, Value>, name: &str, hint: Option<&Hint>) -> Option<&'a Value> {
    let mut folded = None;
    for (i, (k, v)) in m.iter().enumerate() {
        if k.len() != name.len() {
            continue;
        }
        if same(k.as_bytes(), name.as_bytes()) {
            if let Some(h) = hint {
                h.set(i);
            }
            return Some(v);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(v);
        }
    }
    folded
}

/// `a == b`, inline for the short strings attribute names are (rather than a call to
/// `memcmp`): two overlapping words cover up to 16 bytes.
#[inline]
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    if let (Some(af), Some(bf), Some(al), Some(bl)) = (
        a.first_chunk::<8>(),
        b.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        return af == bf && al == bl;
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lookup_prefers_the_exact_key_like_get_ci() {
        let small = json!({"Type": 1, "type": 2, "TYPE": 3});
        let m = small.as_object().unwrap();
        assert_eq!(lookup(m, "type"), Some(&json!(2)));
        assert_eq!(lookup(m, "tYpE"), Some(&json!(1)));
        assert_eq!(lookup(m, "value"), None);
        let big: Map<String, Value> = (0..100).map(|i| (format!("k{i}"), json!(i))).collect();
        for name in ["k3", "K3", "k19", "k99", "k100"] {
            assert_eq!(lookup(&big, name), get_ci(&big, name), "{name}");
        }
        for name in ["Type", "type", "TYPE", "tyPE", "typ"] {
            assert_eq!(lookup(m, name), get_ci(m, name), "{name}");
        }
    }

    #[test]
    fn hints_never_change_the_answer() {
        let objects = [
            json!({"Type": 1, "type": 2, "TYPE": 3}),
            json!({"value": "a", "TYPE": "b", "type": "c"}),
            json!({"TYPE": "b"}),
            json!({}),
            Value::Object((0..100).map(|i| (format!("k{i}"), json!(i))).collect()),
        ];
        let names = [
            "type", "Type", "TYPE", "tYpE", "value", "VALUE", "k7", "K99", "x",
        ];
        // One hint per name, shared across objects of different shapes, in several orders.
        for round in 0..3 {
            let hints: Vec<Hint> = names.iter().map(|_| Hint::default()).collect();
            for step in 0..objects.len() * 2 {
                let o = &objects[(step * (round + 1)) % objects.len()];
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
        let words: Vec<String> = (0..40)
            .flat_map(|n| {
                let base: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
                let mut first = base.clone().into_bytes();
                let mut last = base.clone().into_bytes();
                if n > 0 {
                    first[0] = b'X';
                    last[n - 1] = b'X';
                }
                let mid = if n > 2 {
                    let mut m = base.clone().into_bytes();
                    m[n / 2] = b'X';
                    String::from_utf8(m).unwrap()
                } else {
                    base.clone()
                };
                [
                    base,
                    String::from_utf8(first).unwrap(),
                    String::from_utf8(last).unwrap(),
                    mid,
                ]
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn a_hint_is_the_last_exact_position() {
        let o = json!({"a": 1, "b": 2, "B": 3});
        let m = o.as_object().unwrap();
        let hint = Hint::default();
        assert_eq!(lookup_hinted(m, "B", &hint), Some(&json!(3)));
        assert_eq!(hint.get(), 2);
        // A case-insensitive match is not remembered: an exact one might come later.
        assert_eq!(lookup_hinted(m, "A", &hint), Some(&json!(1)));
        assert_eq!(hint.get(), 2);
        let copy = hint.clone();
        assert_eq!(copy.get(), hint.get());
    }
}
