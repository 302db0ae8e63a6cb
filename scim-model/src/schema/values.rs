//! Checks of single values against an attribute's type (RFC 7643 §2.3), comparison of values
//! as their attribute defines it, and how values are quoted in messages.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use super::{Attribute, AttributeType};
use crate::resource::get_ci;

/// Why a value does not fit its attribute's type: the message of a validation issue, e.g.
/// `expected a dateTime (RFC 3339), found "2024-13-01"`. `None` when it fits. A complex value
/// is only checked to be an object here.
pub(crate) fn type_mismatch(kind: AttributeType, v: &Value) -> Option<String> {
    let ok = match kind {
        AttributeType::String | AttributeType::Reference => v.is_string(),
        AttributeType::Boolean => v.is_boolean(),
        AttributeType::Decimal => v.is_number(),
        AttributeType::Integer => v.is_i64() || v.is_u64(),
        AttributeType::DateTime => v.as_str().is_some_and(|s| parse_datetime(s).is_some()),
        AttributeType::Binary => v.as_str().is_some_and(is_base64),
        AttributeType::Complex => v.is_object(),
    };
    if ok {
        return None;
    }
    let expected = match kind {
        AttributeType::String => "a string",
        AttributeType::Reference => "a reference (a URI string)",
        AttributeType::Boolean => "a boolean",
        AttributeType::Decimal => "a decimal number",
        AttributeType::Integer => "an integer (a number without fraction or exponent)",
        AttributeType::DateTime => "a dateTime (RFC 3339, e.g. 2008-01-23T04:56:22Z)",
        AttributeType::Binary => "binary data (base64, RFC 4648 §4, padded)",
        AttributeType::Complex => "an object (a complex attribute)",
    };
    Some(format!("expected {expected}, found {}", describe(v)))
}

/// Reads a SCIM dateTime strictly: RFC 3339 with an upper-case `T` and a zone (`Z` or an
/// offset), which is also a valid `xsd:dateTime` (RFC 7643 §2.3.5). An `xsd:dateTime` without
/// a zone is refused: it names no instant, so it cannot be compared. Validation uses it, and
/// so should anything that must accept exactly the dateTimes validation accepts.
pub fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.get(10) != Some(&b'T') || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Whether `s` is base64 as RFC 4648 §4 defines it: the standard alphabet, padded with `=`
/// to a multiple of four characters, no whitespace.
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// A value as a message shows it: strings quoted (cut to 60 characters), numbers and booleans
/// as written, `an object` / `an array` for the rest.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => {
            const MAX: usize = 60;
            if s.chars().count() <= MAX {
                format!("{s:?}")
            } else {
                let cut: String = s.chars().take(MAX).collect();
                format!("{cut:?}…")
            }
        }
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Whether a value is unassigned (RFC 7643 §2.5): absent, `null` or an empty array.
pub(crate) fn is_unassigned(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// Above this many values, multi-valued attributes compare as exact JSON only (pairing values
/// one by one is quadratic).
const MAX_PAIRED_VALUES: usize = 1000;

/// Whether two values of an attribute are the same as SCIM sees them: unassigned values are
/// equal; strings compare case-insensitively unless `caseExact`; dateTimes as instants;
/// numbers numerically; multi-valued attributes as unordered lists; complex values sub-attribute
/// by sub-attribute (names case-insensitive; unknown sub-attributes exactly).
pub(crate) fn same_value(attr: &Attribute, a: Option<&Value>, b: Option<&Value>) -> bool {
    match (is_unassigned(a), is_unassigned(b)) {
        (true, true) => return true,
        (true, false) | (false, true) => return false,
        (false, false) => {}
    }
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    if a == b {
        return true;
    }
    match (attr.multi_valued, a, b) {
        (true, Value::Array(xs), Value::Array(ys)) => {
            if xs.len() != ys.len() || xs.len() > MAX_PAIRED_VALUES {
                return false;
            }
            let mut used = vec![false; xs.len()];
            ys.iter().all(|y| {
                let found = xs
                    .iter()
                    .enumerate()
                    .find(|(i, x)| !used[*i] && same_single(attr, x, y));
                match found {
                    Some((i, _)) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                }
            })
        }
        _ => same_single(attr, a, b),
    }
}

fn same_single(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (attr.kind, a, b) {
        (AttributeType::String | AttributeType::Reference, Value::String(x), Value::String(y)) => {
            !attr.case_exact && (x.eq_ignore_ascii_case(y) || x.to_lowercase() == y.to_lowercase())
        }
        (AttributeType::DateTime, Value::String(x), Value::String(y)) => {
            match (parse_datetime(x), parse_datetime(y)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        (AttributeType::Decimal | AttributeType::Integer, Value::Number(x), Value::Number(y)) => {
            x.as_f64().is_some() && x.as_f64() == y.as_f64()
        }
        (AttributeType::Complex, Value::Object(x), Value::Object(y)) => same_object(attr, x, y),
        _ => false,
    }
}

fn same_object(attr: &Attribute, x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    let covers = |from: &Map<String, Value>, other: &Map<String, Value>| {
        from.iter().all(|(k, v)| {
            let w = get_ci(other, k);
            match attr.sub_attribute(k) {
                Some(sub) => same_value(sub, Some(v), w),
                None => is_unassigned(Some(v)) && is_unassigned(w) || w == Some(v),
            }
        })
    };
    covers(x, y) && covers(y, x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetimes_are_strict_rfc3339_with_a_zone() {
        for ok in [
            "2008-01-23T04:56:22Z",
            "2011-05-13T04:42:34.123+02:00",
            "2011-05-13T04:42:34-08:00",
        ] {
            assert!(parse_datetime(ok).is_some(), "{ok}");
        }
        for bad in [
            "2024-13-01",
            "2024-13-01T00:00:00Z",
            "2008-01-23T04:56:22",
            "2008-01-23 04:56:22Z",
            "2008-01-23t04:56:22Z",
            "2008-01-23T04:56:22z",
            "2008-01-23T25:00:00Z",
            "",
            "Tuesday",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base64_is_padded_standard_alphabet() {
        for ok in ["", "TWFu", "TWE=", "TQ==", "ab+/"] {
            assert!(is_base64(ok), "{ok}");
        }
        for bad in ["TWE", "T===", "TW=u", "ab-_", "TW E=", "=AAA"] {
            assert!(!is_base64(bad), "{bad}");
        }
    }

    #[test]
    fn integers_have_no_fraction() {
        assert!(type_mismatch(AttributeType::Integer, &json!(3)).is_none());
        assert!(type_mismatch(AttributeType::Integer, &json!(-3)).is_none());
        let m = type_mismatch(AttributeType::Integer, &json!(3.5)).unwrap();
        assert_eq!(
            m,
            "expected an integer (a number without fraction or exponent), found 3.5"
        );
        assert!(type_mismatch(AttributeType::Decimal, &json!(3)).is_none());
        assert!(type_mismatch(AttributeType::Decimal, &json!("3")).is_some());
    }

    #[test]
    fn describe_quotes_and_cuts() {
        assert_eq!(describe(&json!("a\"b")), r#""a\"b""#);
        assert_eq!(
            describe(&json!("x".repeat(100))),
            format!("{:?}…", "x".repeat(60))
        );
        assert_eq!(describe(&json!({})), "an object");
        assert_eq!(describe(&json!(false)), "false");
    }

    #[test]
    fn same_value_follows_the_attribute() {
        let s = Attribute::new("s", AttributeType::String);
        assert!(same_value(&s, Some(&json!("Bob")), Some(&json!("BOB"))));
        assert!(same_value(&s, Some(&json!("Émile")), Some(&json!("ÉMILE"))));
        let exact = Attribute::new("s", AttributeType::String).case_exact();
        assert!(!same_value(
            &exact,
            Some(&json!("Bob")),
            Some(&json!("BOB"))
        ));
        let dt = Attribute::new("d", AttributeType::DateTime);
        assert!(same_value(
            &dt,
            Some(&json!("2008-01-23T04:56:22Z")),
            Some(&json!("2008-01-23T05:56:22+01:00"))
        ));
        assert!(same_value(&s, None, Some(&json!(null))));
        let multi = Attribute::new("m", AttributeType::String).multi_valued();
        assert!(same_value(&multi, Some(&json!([])), None));
        assert!(same_value(
            &multi,
            Some(&json!(["a", "b"])),
            Some(&json!(["B", "a"]))
        ));
        assert!(!same_value(
            &multi,
            Some(&json!(["a", "a"])),
            Some(&json!(["a", "b"]))
        ));
        let c = Attribute::new("c", AttributeType::Complex)
            .with_sub_attribute(Attribute::new("v", AttributeType::String));
        assert!(same_value(
            &c,
            Some(&json!({"v": "X"})),
            Some(&json!({"V": "x", "w": null}))
        ));
        assert!(!same_value(
            &c,
            Some(&json!({"v": "X"})),
            Some(&json!({"v": "X", "w": 1}))
        ));
    }
}
