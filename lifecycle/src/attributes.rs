//! Attribute names: Graph's names resolved to SCIM paths by an alias table the host can
//! change, strict dateTime reading, and reading one value of a user by path.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use scim_model::filter::{CompValue, CompareOp, Filter};
use scim_model::{AttributePath, Resource, get_ci};
use serde_json::Value;

/// The enterprise extension's URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Graph attribute names → SCIM attribute paths.
///
/// Workflows name attributes as Microsoft Graph does; users are SCIM resources. A name found
/// in the table (ignoring ASCII case) reads the SCIM path it maps to; any other name is read
/// as a SCIM attribute path as written, so `employeeHireDate` or
/// `urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate` work as they are.
///
/// The default table (DESIGN.md's, plus the names templates need):
///
/// | Graph | SCIM |
/// |---|---|
/// | `accountEnabled` | `active` |
/// | `jobTitle` | `title` |
/// | `department` | enterprise `department` |
/// | `employeeId` | enterprise `employeeNumber` |
/// | `companyName` | enterprise `organization` |
/// | `costCenter` | enterprise `costCenter` |
/// | `manager` | enterprise `manager.value` |
/// | `mail` | `emails.value` (the primary email, else the first) |
/// | `createdDateTime` | `meta.created` |
/// | `givenName` | `name.givenName` |
/// | `surname` | `name.familyName` |
/// | `userPrincipalName` | `userName` |
/// | `employeeType` | `userType` |
///
/// ```
/// use lifecycle::AliasTable;
///
/// let mut aliases = AliasTable::default();
/// assert_eq!(aliases.resolve("accountEnabled"), "active");
/// assert_eq!(aliases.resolve("employeeHireDate"), "employeeHireDate");
/// aliases.insert("employeeHireDate", "urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate");
/// assert!(aliases.resolve("EMPLOYEEHIREDATE").ends_with(":HireDate"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliasTable {
    /// Lower-cased Graph name → SCIM path.
    map: BTreeMap<String, String>,
}

impl Default for AliasTable {
    fn default() -> Self {
        let mut t = AliasTable::empty();
        let ent = |a: &str| format!("{ENTERPRISE}:{a}");
        t.insert("accountEnabled", "active");
        t.insert("jobTitle", "title");
        t.insert("department", ent("department"));
        t.insert("employeeId", ent("employeeNumber"));
        t.insert("companyName", ent("organization"));
        t.insert("costCenter", ent("costCenter"));
        t.insert("manager", ent("manager.value"));
        t.insert("mail", "emails.value");
        t.insert("createdDateTime", "meta.created");
        t.insert("givenName", "name.givenName");
        t.insert("surname", "name.familyName");
        t.insert("userPrincipalName", "userName");
        t.insert("employeeType", "userType");
        t
    }
}

impl AliasTable {
    /// A table without aliases (every name is a SCIM path).
    pub fn empty() -> Self {
        AliasTable {
            map: BTreeMap::new(),
        }
    }

    /// Maps a Graph name to a SCIM path (replacing any earlier mapping of the name).
    pub fn insert(&mut self, graph_name: &str, scim_path: impl Into<String>) {
        self.map
            .insert(graph_name.to_ascii_lowercase(), scim_path.into());
    }

    /// Removes a mapping.
    pub fn remove(&mut self, graph_name: &str) {
        self.map.remove(&graph_name.to_ascii_lowercase());
    }

    /// The SCIM path a name reads.
    pub fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        self.map
            .get(&name.trim().to_ascii_lowercase())
            .map_or(name.trim(), String::as_str)
    }

    /// The parsed SCIM path a name reads.
    ///
    /// # Errors
    ///
    /// A message when the resolved path is not a SCIM attribute path.
    pub fn path(&self, name: &str) -> Result<AttributePath, String> {
        let resolved = self.resolve(name);
        AttributePath::parse(resolved)
            .map_err(|e| format!("attribute {name:?} (path {resolved:?}): {e}"))
    }
}

/// The one value at `path` in `user`, if any and not empty: a value-filter path reads the
/// first element its filter selects; a sub-attribute of a multi-valued attribute reads the
/// primary element's, else the first element's.
pub fn read<'a>(user: &'a Resource, path: &AttributePath) -> Option<&'a Value> {
    read_in(user.attribute(path.urn(), path.name())?, path)
}

/// As [`read`], from the top-level value of the path's attribute already found.
pub(crate) fn read_in<'a>(top: &'a Value, path: &AttributePath) -> Option<&'a Value> {
    let element = match (top, path.filter()) {
        (Value::Array(items), Some(filter)) => items.iter().find(|e| element_matches(filter, e))?,
        (Value::Array(items), None) if path.sub_attribute().is_some() => items
            .iter()
            .find(|e| {
                e.as_object()
                    .and_then(|o| get_ci(o, "primary"))
                    .is_some_and(|p| p == &Value::Bool(true))
            })
            .or_else(|| items.first())?,
        (single, Some(filter)) if !element_matches(filter, single) => return None,
        (other, _) => other,
    };
    let value = match path.sub_attribute() {
        // The small objects a user holds (`meta`, `name`, an email) are scanned, not hashed.
        Some(sub) => scim_model::patch::rules::get_ci(element.as_object()?, sub)?,
        None => element,
    };
    (!is_empty(value)).then_some(value)
}

/// Every non-empty value at `path` (each element's, for a multi-valued attribute), as text
/// for comparison; used by attribute-change triggers.
pub fn read_all(user: &Resource, path: &AttributePath) -> Value {
    let Some(top) = user.attribute(path.urn(), path.name()) else {
        return Value::Null;
    };
    let pick = |e: &Value| -> Option<Value> {
        if let Some(filter) = path.filter()
            && !element_matches(filter, e)
        {
            return None;
        }
        let v = match path.sub_attribute() {
            Some(sub) => get_ci(e.as_object()?, sub)?,
            None => e,
        };
        (!is_empty(v)).then(|| v.clone())
    };
    match top {
        Value::Array(items) => {
            let vals: Vec<Value> = items.iter().filter_map(pick).collect();
            if vals.is_empty() {
                Value::Null
            } else {
                Value::Array(vals)
            }
        }
        other => pick(other).unwrap_or(Value::Null),
    }
}

/// A value as text: strings as they are, numbers and booleans as JSON writes them.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a value counts as empty: null, `""`, `[]`, `{}`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Reads a dateTime strictly: RFC 3339 with `T` and a zone, `YYYY-MM-DDThh:mm:ssZ` or with an
/// offset (scim-model's own parser, the one validation uses). The instant is in UTC.
///
/// # Errors
///
/// A message naming the attribute and the value when it is not such a dateTime.
pub fn parse_instant(name: &str, value: &Value) -> Result<DateTime<Utc>, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "{name} is not a dateTime: expected an RFC 3339 string such as 2026-03-01T08:00:00Z, found {value}"
        ));
    };
    scim_model::schema::parse_datetime(s)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "{name} {s:?} is not an RFC 3339 dateTime (YYYY-MM-DDThh:mm:ssZ, or with an offset such as +01:00)"
            )
        })
}

/// [`parse_instant`] as milliseconds since the epoch, with a fast path for the common
/// `YYYY-MM-DDThh:mm:ssZ` (a valid date, seconds 0–59); every other text goes through the
/// strict parser, so the answers and the messages are the same.
#[inline]
pub(crate) fn parse_instant_millis(name: &str, value: &Value) -> Result<i64, String> {
    if let Value::String(s) = value
        && let Some(ms) = utc_seconds_millis(s)
    {
        return Ok(ms);
    }
    parse_instant(name, value).map(|t| t.timestamp_millis())
}

/// `s` as milliseconds since the epoch when it is exactly `YYYY-MM-DDThh:mm:ssZ` with a valid
/// calendar date and a time from 00:00:00 to 23:59:59; `None` for anything else.
///
/// The 20 bytes are read as three little-endian words, each XORed with what its bytes must be
/// (`0` where a digit goes, the separator itself where one goes): a digit becomes its value
/// and a separator zero. One test then checks all of them: every separator byte zero, and
/// every digit byte at most 9 (`x + 0x76` keeps the high bit clear only for `x <= 9`; a byte
/// with its high bit set fails on `x` itself, so a carry out of it cannot hide anything).
#[inline]
fn utc_seconds_millis(s: &str) -> Option<i64> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let b = s.as_bytes();
    if b.len() != 20 {
        return None;
    }
    let (c0, rest) = b.split_first_chunk::<8>()?;
    let (c1, rest) = rest.split_first_chunk::<8>()?;
    let c2: &[u8; 4] = rest.try_into().ok()?;
    // "YYYY-MM-": digits in bytes 0–3 and 5–6, separators in 4 and 7.
    let w0 = u64::from_le_bytes(*c0) ^ u64::from_le_bytes(*b"0000-00-");
    // "DDThh:mm": digits in 0–1, 3–4 and 6–7, separators in 2 and 5.
    let w1 = u64::from_le_bytes(*c1) ^ u64::from_le_bytes(*b"00T00:00");
    // ":ssZ": digits in 1–2, separators in 0 and 3.
    let w2 = u64::from(u32::from_le_bytes(*c2) ^ u32::from_le_bytes(*b":00Z"));
    let bad = ((w0 | w0.wrapping_add(0x0076_7600_7676_7676)) & HIGH)
        | (w0 & 0xff00_00ff_0000_0000)
        | ((w1 | w1.wrapping_add(0x7676_0076_7600_7676)) & HIGH)
        | (w1 & 0x0000_ff00_00ff_0000)
        | ((w2 | w2.wrapping_add(0x0076_7600)) & HIGH)
        | (w2 & 0xff00_00ff);
    if bad != 0 {
        return None;
    }
    let d = |w: u64, i: u32| ((w >> (8 * i)) & 0xff) as i64;
    let year = d(w0, 0) * 1000 + d(w0, 1) * 100 + d(w0, 2) * 10 + d(w0, 3);
    let (month, day) = (d(w0, 5) * 10 + d(w0, 6), d(w1, 0) * 10 + d(w1, 1));
    let hour = d(w1, 3) * 10 + d(w1, 4);
    let minute = d(w1, 6) * 10 + d(w1, 7);
    let second = d(w2, 1) * 10 + d(w2, 2);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), for the
/// years the fast path reads (0–9999): counted from 400 years earlier, so every quantity is
/// non-negative and divides without sign corrections.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = year + 400 - i64::from(month <= 2);
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 - 146_097
}

/// The UTC date (`YYYY-MM-DD`) of an instant in milliseconds since the epoch, as chrono's
/// `%Y-%m-%d` writes it.
pub(crate) fn utc_date(millis: i64) -> String {
    let z = millis.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if let (Ok(year), Ok(month), Ok(day)) =
        (u16::try_from(year), u8::try_from(month), u8::try_from(day))
        && year <= 9999
    {
        // `{year:04}-{month:02}-{day:02}`, written directly (`format!` was most of the cost
        // of a due occurrence).
        let digit = |n: u16| char::from(b'0' + (n % 10) as u8);
        let mut text = String::with_capacity(10);
        for n in [year / 1000, year / 100, year / 10, year] {
            text.push(digit(n));
        }
        text.push('-');
        text.push(digit(u16::from(month / 10)));
        text.push(digit(u16::from(month)));
        text.push('-');
        text.push(digit(u16::from(day / 10)));
        text.push(digit(u16::from(day)));
        text
    } else {
        DateTime::<Utc>::from_timestamp_millis(millis)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
}

/// Whether an element of a multi-valued attribute matches a value filter: `eq`/`ne` (strings
/// ignoring case, booleans also as `"true"`), `pr`, `and`, `or`, `not`.
fn element_matches(filter: &Filter, element: &Value) -> bool {
    let Value::Object(obj) = element else {
        return false;
    };
    match filter {
        Filter::Compare { path, op, value } => {
            let actual = get_ci(obj, path.name()).and_then(|v| match path.sub_attribute() {
                Some(sub) => v.as_object().and_then(|o| get_ci(o, sub)),
                None => Some(v),
            });
            let eq = actual.is_some_and(|a| loosely_equal(a, value));
            match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                _ => false,
            }
        }
        Filter::Present(path) => get_ci(obj, path.name()).is_some_and(|v| !is_empty(v)),
        Filter::And(a, b) => element_matches(a, element) && element_matches(b, element),
        Filter::Or(a, b) => element_matches(a, element) || element_matches(b, element),
        Filter::Not(a) => !element_matches(a, element),
        _ => false,
    }
}

fn loosely_equal(actual: &Value, literal: &CompValue) -> bool {
    match (actual, literal) {
        (Value::String(a), CompValue::String(b)) => a.to_lowercase() == b.to_lowercase(),
        (Value::Bool(a), CompValue::Bool(b)) => a == b,
        (Value::Bool(a), CompValue::String(b)) | (Value::String(b), CompValue::Bool(a)) => {
            b.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        (Value::Number(a), CompValue::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Null, CompValue::Null) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Texts near `YYYY-MM-DDThh:mm:ssZ`: every field over a range wider than valid, and
    /// sometimes another separator, a lower-case `z`, an offset or a fraction.
    fn near_rfc3339() -> impl Strategy<Value = String> {
        (
            (0i64..10_000, 0i64..14, 0i64..33),
            (0i64..26, 0i64..62, 0i64..62),
            prop::sample::select(vec!["Z", "Z", "Z", "Z", "z", "+01:00", ".5Z", "", "ZZ"]),
            prop::sample::select(vec!["T", "T", "T", "t", " "]),
        )
            .prop_map(|((y, mo, d), (h, mi, s), end, sep)| {
                format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{end}")
            })
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_the_strict_parser(s in near_rfc3339()) {
            let v = Value::String(s.clone());
            let strict = parse_instant("d", &v).map(|t| t.timestamp_millis());
            prop_assert_eq!(parse_instant_millis("d", &v), strict.clone(), "{}", s);
            if let Some(ms) = utc_seconds_millis(&s) {
                prop_assert_eq!(Ok(ms), strict);
            }
        }

        /// A valid text with one byte replaced by any byte: every digit and separator position
        /// of the word-at-a-time check against the strict parser.
        #[test]
        fn one_wrong_byte_is_refused_as_the_strict_parser_refuses_it(
            ms in 0i64..253_402_300_799_000,
            at in 0usize..20,
            byte in 0u8..=127,
        ) {
            let valid = DateTime::<Utc>::from_timestamp_millis(ms - ms % 1000)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            let mut bytes = valid.clone().into_bytes();
            prop_assume!(bytes.len() == 20);
            bytes[at] = byte;
            let s = String::from_utf8(bytes).unwrap_or(valid);
            let v = Value::String(s.clone());
            let strict = parse_instant("d", &v).map(|t| t.timestamp_millis());
            prop_assert_eq!(parse_instant_millis("d", &v), strict.clone(), "{}", s);
            if let Some(ms) = utc_seconds_millis(&s) {
                prop_assert_eq!(Ok(ms), strict, "{}", s);
            }
        }

        #[test]
        fn the_small_object_scan_agrees_with_get_ci(
            keys in prop::collection::vec(prop::sample::select(vec!["created", "Created", "CREATED", "created ", "lastModified", "resourceType", "x"]), 0..10),
            name in prop::sample::select(vec!["created", "CREATED", "lastmodified", "x", "y"]),
        ) {
            let mut map = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                map.insert((*k).to_owned(), Value::from(i));
            }
            prop_assert_eq!(scim_model::patch::rules::get_ci(&map, name), get_ci(&map, name));
        }

        #[test]
        fn utc_date_agrees_with_chrono(ms in -80_000_000_000_000i64..300_000_000_000_000) {
            let chrono = DateTime::<Utc>::from_timestamp_millis(ms)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            prop_assert_eq!(utc_date(ms), chrono);
        }
    }

    use serde_json::json;

    fn user() -> Resource {
        Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "ada",
            "emails": [{"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work", "primary": true}],
            "meta": {"created": "2026-01-01T00:00:00Z"},
            ENTERPRISE: {"department": "Sales", "manager": {"value": "m1"}}
        }))
        .unwrap()
    }

    #[test]
    fn aliases_read_scim_paths() {
        let t = AliasTable::default();
        let u = user();
        let get = |n: &str| read(&u, &t.path(n).unwrap()).cloned();
        assert_eq!(get("mail"), Some(json!("work@x")));
        assert_eq!(get("department"), Some(json!("Sales")));
        assert_eq!(get("manager"), Some(json!("m1")));
        assert_eq!(get("createdDateTime"), Some(json!("2026-01-01T00:00:00Z")));
        assert_eq!(get("emails[type eq \"home\"].value"), Some(json!("home@x")));
        assert_eq!(get("employeeHireDate"), None);
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_instant("d", &json!("2026-03-01T08:00:00Z")).is_ok());
        assert!(parse_instant("d", &json!("2026-03-01T08:00:00+02:00")).is_ok());
        for bad in [
            "2026-03-01",
            "2026-03-01 08:00:00Z",
            "2026-13-01T00:00:00Z",
            "01/03/2026",
        ] {
            let e = parse_instant("employeeHireDate", &json!(bad)).unwrap_err();
            assert!(e.contains("employeeHireDate"), "{e}");
        }
        assert!(parse_instant("d", &json!(20260301)).is_err());
    }
}
