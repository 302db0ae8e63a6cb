//! Comparisons against a literal prepared when a filter is compiled: string literals with their
//! ASCII lower-case form, compared eight bytes at a time, and dateTimes as instants, read by a
//! parser for the common RFC 3339 shape. Each gives exactly the answer of its general
//! counterpart in [`compare`](super::compare), which it falls back to for anything else.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};

use super::compare::{contains_ci, ends_with_ci, eq_ci, parse_datetime, starts_with_ci};
use crate::filter::CompareOp;

/// A string literal, with its lower-case form when it is ASCII.
#[derive(Clone, Debug)]
pub(super) struct Text {
    text: Box<str>,
    /// The ASCII lower-case form, if the literal is ASCII.
    lower: Option<Folded>,
}

/// An ASCII literal in lower case, with the mask of its letters: a byte `x` of a value matches
/// the literal's byte `y` ignoring ASCII case exactly when `x | mask == y` (the mask is 0x20 at
/// letters, where `x` may be either case, and 0 elsewhere).
#[derive(Clone, Debug)]
struct Folded {
    lower: Box<[u8]>,
    mask: Box<[u8]>,
    /// `(lower, mask)` of each whole eight bytes, as little-endian words.
    words: Box<[(u64, u64)]>,
    /// `(lower, mask)` of the last eight bytes (overlapping the whole ones), if there are eight.
    last: Option<(u64, u64)>,
}

impl Folded {
    fn new(ascii: &str) -> Folded {
        let lower: Box<[u8]> = ascii.to_ascii_lowercase().into_bytes().into();
        let mask: Box<[u8]> = lower
            .iter()
            .map(|b| if b.is_ascii_lowercase() { 0x20 } else { 0 })
            .collect();
        let word = |b: &[u8; 8]| u64::from_le_bytes(*b);
        let words = lower
            .as_chunks::<8>()
            .0
            .iter()
            .zip(mask.as_chunks::<8>().0)
            .map(|(l, m)| (word(l), word(m)))
            .collect();
        let last = lower
            .last_chunk::<8>()
            .zip(mask.last_chunk::<8>())
            .map(|(l, m)| (word(l), word(m)));
        Folded {
            lower,
            mask,
            words,
            last,
        }
    }

    fn len(&self) -> usize {
        self.lower.len()
    }

    /// Whether `a` (of the literal's length) matches, ignoring ASCII case.
    #[inline]
    fn matches(&self, a: &[u8]) -> bool {
        if a.len() != self.lower.len() {
            return false;
        }
        match (a.last_chunk::<8>(), self.last) {
            (Some(a_last), Some((lower, mask))) => {
                let word = |b: &[u8; 8]| u64::from_le_bytes(*b);
                a.as_chunks::<8>()
                    .0
                    .iter()
                    .zip(&*self.words)
                    .all(|(x, &(lower, mask))| word(x) | mask == lower)
                    && word(a_last) | mask == lower
            }
            _ => a
                .iter()
                .zip(self.lower.iter().zip(&*self.mask))
                .all(|(x, (y, m))| x | m == *y),
        }
    }

    /// Whether `hay` contains the literal, ignoring ASCII case.
    ///
    /// The places where the literal's first byte occurs are found eight at a time: in a word
    /// `t` of eight bytes of `hay`, folded and xor-ed with that byte, they are the zero bytes,
    /// and `(t - 0x01…01) & !t & 0x80…80` marks every zero byte (and perhaps bytes after one,
    /// which the comparison that follows turns away).
    fn within(&self, hay: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let n = self.len();
        if n == 0 {
            return true;
        }
        let Some(last) = hay.len().checked_sub(n) else {
            return false;
        };
        let (first, mask) = (self.lower[0], self.mask[0]);
        let (first_word, mask_word) = (ONES * u64::from(first), ONES * u64::from(mask));
        let mut at = 0;
        while at <= last
            && let Some(chunk) = hay.get(at..).and_then(<[u8]>::first_chunk::<8>)
        {
            let t = (u64::from_le_bytes(*chunk) | mask_word) ^ first_word;
            let mut hits = t.wrapping_sub(ONES) & !t & HIGH;
            while hits != 0 {
                let i = at + (hits.trailing_zeros() / 8) as usize;
                if i > last {
                    return false;
                }
                if self.matches(&hay[i..i + n]) {
                    return true;
                }
                hits &= hits - 1;
            }
            at += 8;
        }
        (at..=last).any(|i| hay[i] | mask == first && self.matches(&hay[i..i + n]))
    }
}

impl Text {
    /// Prepares a literal.
    pub(super) fn new(text: &str) -> Text {
        Text {
            text: text.into(),
            lower: text.is_ascii().then(|| Folded::new(text)),
        }
    }

    /// `compare::str_eq(s, literal, case_exact)`.
    #[inline]
    pub(super) fn eq(&self, s: &str, case_exact: bool) -> bool {
        match &self.lower {
            Some(lower) if !case_exact => {
                // For `s` to equal an ASCII literal ignoring case, each of its characters must
                // lower-case to exactly one ASCII character (no character lower-cases to two
                // ASCII ones: tested below): an ASCII letter, one byte, or the Kelvin sign,
                // three. So a shorter `s` never matches, one of the same length matches as
                // bytes, and only a longer one that is not ASCII needs the general comparison.
                match s.len().cmp(&lower.len()) {
                    Ordering::Less => false,
                    Ordering::Equal => lower.matches(s.as_bytes()),
                    Ordering::Greater => !s.is_ascii() && unicode_eq(s, &self.text),
                }
            }
            _ if case_exact => s == &*self.text,
            _ => unicode_eq(s, &self.text),
        }
    }

    /// `co`, `sw` or `ew` (`op`) with this literal as the needle, as
    /// [`textual`](super::textual) decides it.
    #[inline]
    pub(super) fn textual(&self, op: CompareOp, hay: &str, case_exact: bool) -> bool {
        let needle = &*self.text;
        match (&self.lower, case_exact) {
            (_, true) => match op {
                CompareOp::Co => hay.contains(needle),
                CompareOp::Sw => hay.starts_with(needle),
                CompareOp::Ew => hay.ends_with(needle),
                _ => false,
            },
            (Some(lower), false) => {
                let (h, n) = (hay.as_bytes(), lower.len());
                // As for `eq`: the part of `hay` that matches has at least `n` bytes.
                if h.len() < n {
                    return false;
                }
                let hit = match op {
                    CompareOp::Co => lower.within(h),
                    CompareOp::Sw => lower.matches(&h[..n]),
                    CompareOp::Ew => lower.matches(&h[h.len() - n..]),
                    _ => return false,
                };
                if hit || hay.is_ascii() {
                    return hit;
                }
                general_textual(op, hay, needle)
            }
            (None, false) => general_textual(op, hay, needle),
        }
    }
}

/// `eq_ci`, out of line: the rare case.
#[cold]
#[inline(never)]
fn unicode_eq(s: &str, text: &str) -> bool {
    eq_ci(s, text)
}

#[cold]
#[inline(never)]
fn general_textual(op: CompareOp, hay: &str, needle: &str) -> bool {
    match op {
        CompareOp::Co => contains_ci(hay, needle),
        CompareOp::Sw => starts_with_ci(hay, needle),
        CompareOp::Ew => ends_with_ci(hay, needle),
        _ => false,
    }
}

/// An instant: seconds since the Unix epoch and nanoseconds, ordered as chrono orders
/// [`DateTime`]s (a leap second has nanoseconds from 1 000 000 000).
pub(super) type Instant = (i64, u32);

/// The instant of a chrono [`DateTime`].
pub(super) fn instant_of(dt: &DateTime<FixedOffset>) -> Instant {
    (dt.timestamp(), dt.timestamp_subsec_nanos())
}

/// [`parse_datetime`] as an [`Instant`].
#[inline]
pub(super) fn parse_instant(s: &str) -> Option<Instant> {
    match fast_rfc3339(s.as_bytes()) {
        Some(i) => Some(i),
        None => parse_datetime(s).map(|dt| instant_of(&dt)),
    }
}

/// Whether `ord` (a value against the literal) satisfies an ordering or equality operator.
#[inline]
pub(super) fn holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq | CompareOp::Ne => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm)` with every field in range and a year from 1: the
/// instant chrono reads from it. `None` for anything else, left to chrono.
fn fast_rfc3339(b: &[u8]) -> Option<Instant> {
    let (head, rest) = b.split_first_chunk::<19>()?;
    let words = [load8(head, 0), load8(head, 8), load8(head, 11)];
    if !fixed_shape(words) {
        return None;
    }
    // Byte i of `pairs(w)` is the two-digit number at bytes i and i + 1 of `w` (digits only:
    // each byte is at most 15 * 10 + 15, so nothing carries).
    let pairs = |w: u64| {
        let v = w & 0x0F0F_0F0F_0F0F_0F0F;
        v * 10 + (v >> 8)
    };
    let [date, time, clock] = words.map(pairs);
    let at = |w: u64, i: u32| ((w >> (8 * i)) & 0xFF) as u32;
    let year = at(date, 0) * 100 + at(date, 2);
    let month = at(date, 5);
    let day = at(time, 0);
    let hour = at(time, 3);
    let minute = at(time, 6);
    let second = at(clock, 6);
    let (nanos, zone) = match rest.split_first() {
        Some((b'.', frac)) => {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            let mut nanos = 0u32;
            for c in &frac[..n] {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            (nanos * POW10[9 - n], &frac[n..])
        }
        _ => (0, rest),
    };
    let offset: i64 = match zone {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let all = [*h1, *h2, *m1, *m2];
            if !all.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let h = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
            let m = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if year == 0 || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let m = (month - 1) as usize;
    let month_days = DAYS_IN_MONTH[m] + u32::from(m == 1 && leap);
    if day == 0 || day > month_days {
        return None;
    }
    // Days since 0001-01-01, then since 1970-01-01.
    let y = i64::from(year - 1);
    let days = 365 * y + y / 4 - y / 100
        + y / 400
        + i64::from(DAYS_BEFORE_MONTH[m] + u32::from(m > 1 && leap) + day - 1)
        - 719_162;
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Some((secs, nanos))
}

const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];
const DAYS_IN_MONTH: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAYS_BEFORE_MONTH: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// Eight bytes of `h` from `at`, as a little-endian word.
#[inline]
fn load8(h: &[u8; 19], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether 19 bytes, as the words at 0, 8 and 11, are `DDDD-DD-DDTDD:DD:DD` (D a digit).
#[inline]
fn fixed_shape([w0, w8, w11]: [u64; 3]) -> bool {
    /// Checks one word: `digits` marks the digit bytes (0xFF), the others must equal `seps`.
    fn word(w: u64, digits: u64, seps: u64) -> bool {
        const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        const ZEROS: u64 = 0x3030_3030_3030_3030;
        // A digit is 0x30..=0x39: its high nibble is 3, and still 3 after adding 6. (A byte
        // from 0xFA carries into the next, but such a byte fails its own check anyway.)
        (w & !digits) == (seps & !digits)
            && (w & digits & HIGH_NIBBLES) == (ZEROS & digits)
            && (w.wrapping_add(0x0606_0606_0606_0606) & digits & HIGH_NIBBLES) == (ZEROS & digits)
    }
    // Little-endian: the first byte is the lowest.
    word(w0, 0x00FF_FF00_FFFF_FFFF, u64::from_le_bytes(*b"0000-00-"))
        && word(w8, 0xFFFF_00FF_FF00_FFFF, u64::from_le_bytes(*b"00T00:00"))
        && word(w11, 0xFFFF_00FF_FF00_FFFF, u64::from_le_bytes(*b"00:00:00"))
}

#[cfg(test)]
mod tests {
    use super::super::compare::str_eq;
    use super::*;

    const WORDS: &[&str] = &[
        "",
        "a",
        "bjensen@example.com",
        "BJensen@Example.COM",
        "bjensen@example.co",
        "@example.com",
        "@EXAMPLE.COM",
        "example",
        "Élodie Größe",
        "élodie grösse",
        "ÉLODIE",
        "\u{212A}elvin",
        "kelvin",
        "KEL",
        "Kelvin@x",
        "x\u{212A}",
        "xk",
        "[@]^_`{|}~",
        "{@}^_`[|]~",
        "0123456789abcdefXYZ",
        "0123456789ABCDEFxyz",
    ];

    /// What [`Text::eq`] relies on: a character whose lower-case form is all ASCII lower-cases
    /// to exactly one character, and is ASCII or takes three bytes (the Kelvin sign).
    #[test]
    fn no_character_lower_cases_to_several_ascii_ones() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let lower: Vec<char> = c.to_lowercase().collect();
            if lower.iter().all(char::is_ascii) {
                assert_eq!(lower.len(), 1, "{c:?}");
                assert!(c.is_ascii() || c.len_utf8() == 3, "{c:?}");
            }
        }
    }

    #[test]
    fn prepared_literals_agree_with_the_general_comparisons() {
        for lit in WORDS {
            let t = Text::new(lit);
            for s in WORDS {
                for exact in [false, true] {
                    assert_eq!(t.eq(s, exact), str_eq(s, lit, exact), "{s:?} eq {lit:?}");
                    for op in [CompareOp::Co, CompareOp::Sw, CompareOp::Ew] {
                        let want = match (op, exact) {
                            (CompareOp::Co, true) => s.contains(lit),
                            (CompareOp::Sw, true) => s.starts_with(lit),
                            (CompareOp::Ew, true) => s.ends_with(lit),
                            _ => general_textual(op, s, lit),
                        };
                        assert_eq!(t.textual(op, s, exact), want, "{s:?} {op} {lit:?} {exact}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The word-at-a-time search finds exactly what a search position by position finds,
        /// over texts short and long, with the first byte a letter or not, repeated or not.
        #[test]
        fn within_finds_what_a_plain_search_finds(
            hay in "[aAbB@.]{0,40}",
            needle in "[aAbB@.]{1,12}",
        ) {
            let folded = Folded::new(&needle);
            let lower = needle.to_ascii_lowercase();
            let plain = hay
                .to_ascii_lowercase()
                .as_bytes()
                .windows(lower.len())
                .any(|w| w == lower.as_bytes());
            proptest::prop_assert_eq!(folded.within(hay.as_bytes()), plain);
        }
    }

    #[test]
    fn fast_datetimes_read_as_chrono_reads_them() {
        let mut texts = vec![
            "2011-05-13T04:42:34Z".to_owned(),
            "1970-01-01T00:00:00Z".to_owned(),
            "1969-12-31T23:59:59.999999999Z".to_owned(),
            "0000-03-01T00:00:00Z".to_owned(),
            "9999-12-31T23:59:59+23:59".to_owned(),
            "2000-02-29T12:00:00-00:00".to_owned(),
            "2011-05-13T04:42:34.5+02:00".to_owned(),
        ];
        for year in [1900, 1999, 2000, 2023, 2024, 2100] {
            for month in 1..=12 {
                for day in [1, 28, 29, 30, 31] {
                    texts.push(format!("{year:04}-{month:02}-{day:02}T23:05:59.1234Z"));
                    texts.push(format!("{year:04}-{month:02}-{day:02}T00:59:00-11:30"));
                }
            }
        }
        for t in &texts {
            let want = parse_datetime(t).map(|d| instant_of(&d));
            let fast = fast_rfc3339(t.as_bytes());
            assert!(fast.is_none() || fast == want, "{t}: {fast:?} vs {want:?}");
            // Every text here has the common shape: only year 0 is left to chrono.
            assert_eq!(
                fast.is_some(),
                want.is_some() && !t.starts_with("0000"),
                "{t}"
            );
            assert_eq!(parse_instant(t), want, "{t}");
        }
        // Shapes left to chrono, or refused by both.
        for t in [
            "2011-05-13T04:42:34",
            "2011-05-13t04:42:34z",
            "2011-05-13T04:42:60Z",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34.1234567891Z",
            "2011-05-13T04:42:34+2:00",
            "2011-05-13T04:42:34+24:00",
            "2011-05-13T04:42:34+0200",
            "2011-02-30T04:42:34Z",
            "2011-05-13T24:00:00Z",
            "2011-05-13T04:42:34Zjunk",
            "2011-0x-13T04:42:34Z",
            "2011-05-13T04:42:3/Z",
            "2011-05-13T04:42:3:Z",
            "/011-05-13T04:42:34Z",
            "2011-05-13 04:42:34Z",
            "2011-05-13T04:42:34.12a4Z",
            "2011-05-13T04:42:34+02:0a",
            "2011\u{ff}05-13T04:42:34Z",
            "2011-05-13",
            "",
        ] {
            assert_eq!(fast_rfc3339(t.as_bytes()), None, "{t}");
            assert_eq!(
                parse_instant(t),
                parse_datetime(t).map(|d| instant_of(&d)),
                "{t}"
            );
        }
    }
}
