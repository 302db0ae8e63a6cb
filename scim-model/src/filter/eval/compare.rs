//! The value comparisons filter evaluation is built from: strings (case-insensitive unless
//! caseExact, Unicode-aware, with an ASCII fast path), numbers (exact across integer and
//! decimal) and dateTimes (instants). None of them allocates.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::Number;

/// Whether `a` equals `b`, ignoring case (Unicode lower-case mapping; ASCII fast path).
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    lower(a).eq(lower(b))
}

/// Orders `a` and `b` by the code points of their lower-case forms.
pub(crate) fn cmp_ci(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        return a
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(b.iter().map(u8::to_ascii_lowercase));
    }
    lower(a).cmp(lower(b))
}

/// Whether `hay` starts with `needle`, ignoring case.
pub(crate) fn starts_with_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        return hay.len() >= needle.len()
            && hay.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes());
    }
    is_prefix(lower(needle), lower(hay))
}

/// Whether `hay` ends with `needle`, ignoring case.
pub(crate) fn ends_with_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        return hay.len() >= needle.len()
            && hay.as_bytes()[hay.len() - needle.len()..].eq_ignore_ascii_case(needle.as_bytes());
    }
    is_prefix(
        needle.chars().rev().flat_map(|c| c.to_lowercase().rev()),
        hay.chars().rev().flat_map(|c| c.to_lowercase().rev()),
    )
}

/// Whether `hay` contains `needle`, ignoring case.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let n = needle.as_bytes();
        if n.is_empty() {
            return true;
        }
        return hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(hay.len()))
        .any(|i| is_prefix(lower(needle), lower(&hay[i..])))
}

/// The lower-case form of `s`, as a stream of chars.
fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Whether the stream `prefix` is a prefix of the stream `of`.
fn is_prefix(prefix: impl Iterator<Item = char>, mut of: impl Iterator<Item = char>) -> bool {
    for c in prefix {
        if of.next() != Some(c) {
            return false;
        }
    }
    true
}

/// Compares strings as a schema says: exactly when `case_exact`, else ignoring case.
pub(crate) fn str_eq(a: &str, b: &str, case_exact: bool) -> bool {
    if case_exact { a == b } else { eq_ci(a, b) }
}

/// Orders strings as a schema says: by code point when `case_exact`, else of the lower-case
/// forms.
pub(crate) fn str_cmp(a: &str, b: &str, case_exact: bool) -> Ordering {
    if case_exact { a.cmp(b) } else { cmp_ci(a, b) }
}

/// A JSON number in the form that compares exactly: integers as integers, the rest as `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    /// A whole number that fits `i64`.
    Int(i64),
    /// A whole number above `i64::MAX`.
    Big(u64),
    /// Anything else.
    Float(f64),
}

impl Num {
    /// Reads a JSON number.
    pub(crate) fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i)
        } else if let Some(u) = n.as_u64() {
            Num::Big(u)
        } else {
            // serde_json numbers without arbitrary_precision are always one of the three.
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }
}

/// Orders two numbers; `None` only if one is NaN (which JSON cannot hold).
pub(crate) fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Big(x), Num::Big(y)) => Some(x.cmp(&y)),
        (Num::Int(_), Num::Big(_)) => Some(Ordering::Less),
        (Num::Big(_), Num::Int(_)) => Some(Ordering::Greater),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => int_float_cmp(i128::from(x), y),
        (Num::Big(x), Num::Float(y)) => int_float_cmp(i128::from(x), y),
        (Num::Float(x), Num::Int(y)) => int_float_cmp(i128::from(y), x).map(Ordering::reverse),
        (Num::Float(x), Num::Big(y)) => int_float_cmp(i128::from(y), x).map(Ordering::reverse),
    }
}

/// Orders an integer and a float exactly (no rounding of the integer to `f64`).
fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // Every f64 at or beyond ±2^64 is outside the range of i64/u64 integers.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f <= -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // |whole| < 2^64, so the conversion is exact.
    let w = whole as i128;
    match i.cmp(&w) {
        Ordering::Equal => {
            let frac = f - whole;
            Some(if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            })
        }
        other => Some(other),
    }
}

/// Reads an `xsd:dateTime` as RFC 7643 §2.3.5 allows: RFC 3339 with an offset (`Z`,
/// `+02:00`) and optional fractional seconds, or without an offset, then taken as UTC.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc().fixed_offset())
}

/// A short text kept on the stack, for rendering a number without allocating.
pub(crate) struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl StackText {
    /// Renders `value`; `None` if it does not fit in 48 bytes.
    pub(crate) fn render(value: impl fmt::Display) -> Option<StackText> {
        let mut t = StackText {
            buf: [0; 48],
            len: 0,
        };
        write!(t, "{value}").ok()?;
        Some(t)
    }

    /// The rendered text.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Renders a number the way `co`, `sw` and `ew` see it: integers in full, others in the
/// shortest form that reads back the same (`1.0` is `1`, `-0.1` is `-0.1`).
pub(crate) fn with_number_text<R>(n: Num, f: impl FnOnce(&str) -> R) -> R {
    let stack = match n {
        Num::Int(i) => StackText::render(i),
        Num::Big(u) => StackText::render(u),
        Num::Float(x) => StackText::render(x),
    };
    match stack {
        Some(t) => f(t.as_str()),
        None => match n {
            Num::Int(i) => f(&i.to_string()),
            Num::Big(u) => f(&u.to_string()),
            Num::Float(x) => f(&x.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_case_insensitive_comparisons() {
        assert!(eq_ci("bjensen", "BJensen"));
        assert!(!eq_ci("bjensen", "bjensen2"));
        assert!(starts_with_ci("Barbara", "bAR"));
        assert!(!starts_with_ci("Ba", "bar"));
        assert!(ends_with_ci("bjensen@EXAMPLE.com", "@example.COM"));
        assert!(!ends_with_ci("om", "com"));
        assert!(contains_ci("bjensen@EXAMPLE.com", "@example."));
        assert!(contains_ci("abc", ""));
        assert!(contains_ci("", ""));
        assert!(!contains_ci("", "a"));
        assert!(!contains_ci("abc", "abcd"));
        assert_eq!(cmp_ci("guest", "GUEST"), Ordering::Equal);
        assert_eq!(cmp_ci("Admin", "guest"), Ordering::Less);
        assert_eq!(cmp_ci("noreply", "Guest"), Ordering::Greater);
        assert_eq!(cmp_ci("gue", "guest"), Ordering::Less);
    }

    #[test]
    fn unicode_case_insensitive_comparisons() {
        assert!(eq_ci("ÉLODIE", "élodie"));
        assert!(eq_ci("ΣΊΣΥΦΟΣ", "σίσυφοσ"));
        assert!(!eq_ci("élodie", "elodie"));
        assert!(starts_with_ci("Ünal Öztürk", "üNAL"));
        assert!(ends_with_ci("Øyvind Ålesund", "ÅLESUND"));
        assert!(!contains_ci("Straße Öde", "SSE ö"));
        assert!(!contains_ci("Große Straße", "STRASSE"));
        assert!(contains_ci("Große Straße", "STRAßE"));
        assert!(contains_ci("日本語テキスト", "テキ"));
        // The Kelvin sign lower-cases to an ASCII 'k': the Unicode path must be taken.
        assert!(eq_ci("\u{212A}elvin", "kelvin"));
        assert!(contains_ci("\u{212A}elvin", "KEL"));
        assert_eq!(cmp_ci("Émile", "émile"), Ordering::Equal);
        assert_eq!(cmp_ci("zoë", "ZOE"), Ordering::Greater);
    }

    #[test]
    fn case_exact_comparisons_use_code_points() {
        assert!(!str_eq("X", "x", true));
        assert!(str_eq("X", "x", false));
        assert_eq!(str_cmp("X", "x", true), Ordering::Less);
        assert_eq!(str_cmp("X", "x", false), Ordering::Equal);
    }

    fn num(v: serde_json::Value) -> Num {
        match v {
            serde_json::Value::Number(n) => Num::of(&n),
            _ => unreachable!(),
        }
    }

    #[test]
    fn numbers_compare_exactly_across_kinds() {
        use serde_json::json;
        assert_eq!(
            num_cmp(num(json!(175.6)), num(json!(175))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(5)), num(json!(4.5))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(5)), num(json!(5.0))),
            Some(Ordering::Equal)
        );
        assert_eq!(
            num_cmp(num(json!(-1)), num(json!(-0.5))),
            Some(Ordering::Less)
        );
        assert_eq!(
            num_cmp(num(json!(-1)), num(json!(-1.5))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(u64::MAX)), num(json!(-1))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(u64::MAX)), num(json!(u64::MAX))),
            Some(Ordering::Equal)
        );
        // 2^53 + 1 is not representable as f64; the integer must not be rounded.
        let big = 9_007_199_254_740_993_i64;
        assert_eq!(
            num_cmp(num(json!(big)), num(json!(9_007_199_254_740_992.0))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(1e300)), num(json!(i64::MAX))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(num(json!(-1e300)), num(json!(i64::MIN))),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn numbers_render_in_shortest_form() {
        use serde_json::json;
        let text = |v| with_number_text(num(v), str::to_owned);
        assert_eq!(text(json!(1.0)), "1");
        assert_eq!(text(json!(-0.1)), "-0.1");
        assert_eq!(text(json!(10)), "10");
        assert_eq!(text(json!(u64::MAX)), "18446744073709551615");
        // Too long for the stack buffer: falls back to a heap string, same text.
        assert_eq!(text(json!(1e300)).len(), 301);
    }

    #[test]
    fn datetimes_parse_with_offsets_and_fractions() {
        let utc = parse_datetime("2026-01-15T10:20:30.000Z").unwrap();
        let cst = parse_datetime("2026-01-15T04:20:30.000-06:00").unwrap();
        let pst = parse_datetime("2026-01-15T02:20:30-08:00").unwrap();
        assert_eq!(utc, cst);
        assert_eq!(utc, pst);
        let later = parse_datetime("2026-01-15T04:20:30.001-06:00").unwrap();
        assert!(later > utc);
        let naive = parse_datetime("2026-01-15T10:20:30").unwrap();
        assert_eq!(naive, utc);
        assert!(parse_datetime("yesterday").is_none());
        assert!(parse_datetime("2026-13-01T00:00:00Z").is_none());
        assert!(parse_datetime("").is_none());
    }
}
