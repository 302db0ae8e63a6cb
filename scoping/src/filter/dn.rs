//! Distinguished names (RFC 4514) compared the way a directory compares them, for the
//! `UNDER_OU` scope.
//!
//! - attribute types compare ignoring ASCII case (`ou=Sales` is `OU=Sales`);
//! - spaces around `,` and `=` are ignored (`CN=a, OU=b` is `CN=a,OU=b`), as are unescaped
//!   spaces at the start and end of a value;
//! - an escaped comma `\,` (or `\2C`) is part of the value, not a separator;
//! - escapes are decoded before comparing (`\2C` and `\,` are the same character);
//! - values compare ignoring case (Unicode lowercase), as Active Directory does.
//!
//! Hex escapes decode byte by byte as Latin-1 characters on both sides, so a DN that spells a
//! non-ASCII character raw and one that spells it as hex UTF-8 bytes do not compare equal.
//!
//! Comparison allocates nothing for the object's DN: it is scanned in place.

use std::str::Chars;

/// A DN normalised for comparison: its RDNs, each `type=value` lowercased and unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dn {
    rdns: Vec<String>,
}

impl Dn {
    /// Parses and normalises `text`; `None` when it is not a DN (empty, or an RDN without `=`).
    pub fn parse(text: &str) -> Option<Dn> {
        let mut rdns = Vec::new();
        for span in RdnSpans::new(text) {
            let (ty, value) = split_rdn(span)?;
            let mut s = String::with_capacity(span.len());
            s.extend(ty.chars().map(|c| c.to_ascii_lowercase()));
            s.push('=');
            s.extend(Decoded::new(value).flat_map(char::to_lowercase));
            rdns.push(s);
        }
        if rdns.is_empty() {
            return None;
        }
        Some(Dn { rdns })
    }

    /// How many RDNs the DN has.
    pub fn len(&self) -> usize {
        self.rdns.len()
    }

    /// Always false: a parsed DN has at least one RDN.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// Whether `object` (a DN as text) is this DN or below it: its last RDNs are this DN's.
    /// Text that is not a DN is under nothing.
    pub fn contains(&self, object: &str) -> bool {
        let mut count = 0usize;
        for span in RdnSpans::new(object) {
            if split_rdn(span).is_none() {
                return false;
            }
            count += 1;
        }
        if count < self.rdns.len() {
            return false;
        }
        let skip = count - self.rdns.len();
        RdnSpans::new(object)
            .skip(skip)
            .zip(self.rdns.iter())
            .all(|(span, want)| rdn_equals(span, want))
    }
}

fn rdn_equals(span: &str, want: &str) -> bool {
    let Some((ty, value)) = split_rdn(span) else {
        return false;
    };
    let Some((want_ty, want_value)) = want.split_once('=') else {
        return false;
    };
    ty.eq_ignore_ascii_case(want_ty)
        && Decoded::new(value)
            .flat_map(char::to_lowercase)
            .eq(want_value.chars())
}

/// Splits an RDN at its first unescaped `=`, trimming spaces around the type and the value
/// (a trailing space kept when escaped).
fn split_rdn(span: &str) -> Option<(&str, &str)> {
    let bytes = span.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' => {
                let ty = span[..i].trim();
                let value = trim_value(&span[i + 1..]);
                if ty.is_empty() {
                    return None;
                }
                return Some((ty, value));
            }
            _ => i += 1,
        }
    }
    None
}

fn trim_value(value: &str) -> &str {
    let value = value.trim_start_matches(' ');
    let bytes = value.as_bytes();
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b' ' {
        // An escaped space ends the value: count the backslashes before it.
        let mut slashes = 0;
        while end - 1 > slashes && bytes[end - 2 - slashes] == b'\\' {
            slashes += 1;
        }
        if slashes % 2 == 1 {
            break;
        }
        end -= 1;
    }
    &value[..end]
}

/// The RDNs of a DN as raw text spans, split at unescaped `,` (or `;`, RFC 1779).
struct RdnSpans<'a> {
    rest: Option<&'a str>,
}

impl<'a> RdnSpans<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.trim();
        RdnSpans {
            rest: if text.is_empty() { None } else { Some(text) },
        }
    }
}

impl<'a> Iterator for RdnSpans<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b',' | b';' => {
                    self.rest = Some(&rest[i + 1..]);
                    return Some(&rest[..i]);
                }
                _ => i += 1,
            }
        }
        self.rest = None;
        Some(rest)
    }
}

/// The characters of an RDN value with escapes decoded: `\,` → `,`, `\2C` → `,`.
struct Decoded<'a> {
    chars: Chars<'a>,
}

impl<'a> Decoded<'a> {
    fn new(value: &'a str) -> Self {
        Decoded {
            chars: value.chars(),
        }
    }
}

impl Iterator for Decoded<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c != '\\' {
            return Some(c);
        }
        let first = self.chars.next()?;
        if let Some(hi) = first.to_digit(16) {
            let mut look = self.chars.clone();
            if let Some(lo) = look.next().and_then(|c| c.to_digit(16)) {
                self.chars = look;
                return char::from_u32(hi * 16 + lo);
            }
        }
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn under(ou: &str, object: &str) -> bool {
        Dn::parse(ou).is_some_and(|dn| dn.contains(object))
    }

    #[test]
    fn suffix_match_is_correct_about_dn_syntax() {
        let ou = "OU=Sales,DC=contoso,DC=com";
        assert!(under(ou, "CN=Ann,OU=Sales,DC=contoso,DC=com"));
        assert!(under(ou, "cn=Ann, ou=sales, dc=Contoso, dc=COM"));
        assert!(under(ou, "CN=Ann,OU=West,OU=Sales,DC=contoso,DC=com"));
        assert!(under(ou, "OU=Sales,DC=contoso,DC=com"));
        assert!(!under(ou, "CN=Ann,OU=PreSales,DC=contoso,DC=com"));
        assert!(!under(ou, "CN=Ann,OU=Sales,DC=fabrikam,DC=com"));
        assert!(!under(ou, "DC=contoso,DC=com"));
        // An escaped comma does not split: this user is in OU "Sales, West" only by name.
        assert!(!under(ou, r"CN=Ann,OU=Sales\, West,DC=contoso,DC=com"));
        assert!(under(
            r"OU=Sales\, West,DC=contoso,DC=com",
            r"CN=Ann,OU=Sales\2C West,DC=contoso,DC=com"
        ));
        assert!(!under(ou, r"CN=Sales\,DC=contoso\,DC=com"));
        assert!(under(
            "OU=Sales ,DC=contoso,DC=com",
            "CN=x,OU = Sales,DC=contoso,DC=com"
        ));
    }

    #[test]
    fn not_a_dn() {
        assert!(Dn::parse("").is_none());
        assert!(Dn::parse("Sales").is_none());
        assert!(!under("OU=Sales", "garbage"));
        assert!(!under("OU=Sales", ""));
        assert!(!under("OU=Sales", "\\"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(ou in ".{0,30}", object in ".{0,30}") {
            if let Some(dn) = Dn::parse(&ou) {
                let _ = dn.contains(&object);
            }
        }

        #[test]
        fn a_dn_is_under_itself_and_its_parents(
            rdns in proptest::collection::vec(("[A-Za-z]{1,3}", r"[A-Za-z0-9 ,\\]{1,6}"), 1..4),
        ) {
            // Escape the values as RFC 4514 asks (`,` and `\` escaped; spaces kept inside).
            let text: Vec<String> = rdns
                .iter()
                .map(|(t, v)| {
                    let v = v.trim().replace('\\', "\\\\").replace(',', "\\,");
                    format!("{t}={}", if v.is_empty() { "x".to_owned() } else { v })
                })
                .collect();
            let full = text.join(",");
            let dn = Dn::parse(&full).unwrap();
            proptest::prop_assert!(dn.contains(&full));
            proptest::prop_assert!(dn.contains(&full.to_uppercase()));
            let parent = text[1..].join(",");
            if let Some(p) = Dn::parse(&parent) {
                proptest::prop_assert!(p.contains(&full));
                proptest::prop_assert!(!dn.contains(&parent));
            }
        }
    }
}
