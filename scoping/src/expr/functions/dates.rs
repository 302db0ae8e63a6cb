//! Date functions. Dates travel as strings; see [`parse_date`] for what is read.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Timelike, Utc,
};

use super::super::compiled::{Code, Func};
use super::super::eval::{Eval, bad_arg, fail, map_text, number, scalar_text};
use super::super::value::ExprValue;
use crate::error::Result;

/// 100-nanosecond intervals between 1601-01-01 and 1970-01-01 (AD FILETIME epoch).
const FILETIME_UNIX_SECONDS: i64 = 11_644_473_600;

/// Runs the date function `name`, or returns `None` when it is not one.
pub(crate) fn call(
    ev: &mut Eval<'_>,
    func: Func,
    args: &[Option<Code>],
) -> Result<Option<ExprValue>> {
    let name = func.name();
    let v = match func {
        Func::Now => ExprValue::String(render(ev.ctx.now)),
        Func::CDate => map_text(ev.arg(args, 0)?, &mut |t| {
            let d = parse_date(t)
                .ok_or_else(|| bad_arg(name, 1, "expression", "a date", &ExprValue::from(t)))?;
            Ok(ExprValue::String(render(d.with_timezone(&Utc))))
        })?,
        Func::DateAdd => {
            let interval = scalar_text(name, 1, "interval", &ev.arg(args, 0)?)?;
            let n = number(name, 2, "value", &ev.arg(args, 1)?)?;
            let d = date_arg(name, 3, "dateTime", &ev.arg(args, 2)?)?;
            let out = add(d, &interval, n).ok_or_else(|| {
                bad_arg(
                    name,
                    1,
                    "interval",
                    "one of yyyy, q, m, y, d, w, ww, h, n, s (and in range)",
                    &ExprValue::String(interval.clone()),
                )
            })?;
            ExprValue::String(render(out))
        }
        Func::DateDiff => {
            let interval = scalar_text(name, 1, "interval", &ev.arg(args, 0)?)?;
            let d1 = date_arg(name, 2, "date1", &ev.arg(args, 1)?)?;
            let d2 = date_arg(name, 3, "date2", &ev.arg(args, 2)?)?;
            let span = d2 - d1;
            let months = i64::from(d2.year() - d1.year()) * 12 + i64::from(d2.month())
                - i64::from(d1.month());
            ExprValue::Number(match interval.as_str() {
                "yyyy" => i64::from(d2.year() - d1.year()),
                "q" => months / 3,
                "m" => months,
                "y" | "d" | "w" => span.num_days(),
                "ww" => span.num_days() / 7,
                "h" => span.num_hours(),
                "n" => span.num_minutes(),
                "s" => span.num_seconds(),
                _ => {
                    return Err(bad_arg(
                        name,
                        1,
                        "interval",
                        "one of yyyy, q, m, y, d, w, ww, h, n, s",
                        &ExprValue::String(interval),
                    ));
                }
            })
        }
        Func::DateFromNum => match ev.arg(args, 0)? {
            ExprValue::Null => ExprValue::Null,
            v => {
                let n = number(name, 1, "value", &v)?;
                let secs = n.div_euclid(10_000_000) - FILETIME_UNIX_SECONDS;
                let nanos = u32::try_from(n.rem_euclid(10_000_000) * 100).unwrap_or(0);
                let d = DateTime::from_timestamp(secs, nanos)
                    .ok_or_else(|| bad_arg(name, 1, "value", "an AD FILETIME", &v))?;
                ExprValue::String(render(d))
            }
        },
        Func::NumFromDate => match ev.arg(args, 0)? {
            ExprValue::Null => ExprValue::Null,
            v => {
                let d = date_arg(name, 1, "value", &v)?;
                let ticks = (d.timestamp() + FILETIME_UNIX_SECONDS)
                    .checked_mul(10_000_000)
                    .and_then(|t| t.checked_add(i64::from(d.timestamp_subsec_nanos() / 100)))
                    .ok_or_else(|| bad_arg(name, 1, "value", "a date after 1601", &v))?;
                ExprValue::Number(ticks)
            }
        },
        Func::FormatDateTime => {
            // App provisioning: (source, dateTimeStyles, inputFormat, outputFormat);
            // cloud sync: (source, inputFormat, outputFormat).
            let (fin, fout) = if args.len() == 4 { (2, 3) } else { (1, 2) };
            let input = scalar_text(name, fin + 1, "inputFormat", &ev.arg(args, fin)?)?;
            let output = scalar_text(name, fout + 1, "outputFormat", &ev.arg(args, fout)?)?;
            let parse_fmt = tokens(&input);
            let out_fmt = tokens(&output);
            map_text(ev.arg(args, 0)?, &mut |t| {
                let d = parse_with(t.trim(), &parse_fmt).ok_or_else(|| {
                    fail(
                        name,
                        format!(
                            "argument 1 (source) {t:?} does not match the input format {input:?}"
                        ),
                    )
                })?;
                Ok(ExprValue::String(format_with(&d, &out_fmt)))
            })?
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn date_arg(function: &str, index: usize, name: &str, v: &ExprValue) -> Result<DateTime<Utc>> {
    let t = scalar_text(function, index, name, v)?;
    parse_date(&t)
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| bad_arg(function, index, name, "a date", v))
}

fn add(d: DateTime<Utc>, interval: &str, n: i64) -> Option<DateTime<Utc>> {
    let months = |m: i64| -> Option<DateTime<Utc>> {
        let abs = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m >= 0 {
            d.checked_add_months(abs)
        } else {
            d.checked_sub_months(abs)
        }
    };
    match interval {
        "yyyy" => months(n.checked_mul(12)?),
        "q" => months(n.checked_mul(3)?),
        "m" => months(n),
        "y" | "d" | "w" => d.checked_add_signed(Duration::try_days(n)?),
        "ww" => d.checked_add_signed(Duration::try_weeks(n)?),
        "h" => d.checked_add_signed(Duration::try_hours(n)?),
        "n" => d.checked_add_signed(Duration::try_minutes(n)?),
        "s" => d.checked_add_signed(Duration::try_seconds(n)?),
        _ => None,
    }
}

/// `M/d/yyyy h:mm:ss tt`, Entra's rendering of a date.
pub(crate) fn render(d: DateTime<Utc>) -> String {
    let (pm, h12) = d.hour12();
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        d.month(),
        d.day(),
        d.year(),
        h12,
        d.minute(),
        d.second(),
        if pm { "PM" } else { "AM" }
    )
}

/// Reads a date: ISO 8601 / RFC 3339 (`2009-06-15T01:45:30-07:00`, `2021-08-24`, a space for
/// the `T`, fractions), a date with an offset and no time (`2020-03-16-07:00`: midnight at that
/// offset, as Workday sends it), and Entra's own rendering `M/d/yyyy h:mm:ss tt`. A date or
/// time without an offset is UTC.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    let utc = FixedOffset::east_opt(0)?;
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S%.fZ",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Some(d);
        }
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f.trim_end_matches('Z')) {
            return utc.from_local_datetime(&d).single();
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return utc.from_local_datetime(&d).single();
        }
    }
    // A date alone, optionally followed by `Z` or an offset.
    if t.len() >= 10 && t.is_char_boundary(10) {
        let (date, rest) = t.split_at(10);
        if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            let offset = parse_offset(rest)?;
            return offset
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .single();
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%m/%d/%Y") {
        return utc
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single();
    }
    None
}

/// `""`, `Z`, `+hh:mm`, `-hh:mm`, `+hhmm`, `+hh`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s.is_empty() || s == "Z" || s == "z" {
        return FixedOffset::east_opt(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i32 = digits.get(0..2)?.parse().ok()?;
    let m: i32 = if digits.len() == 4 {
        digits.get(2..4)?.parse().ok()?
    } else {
        0
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// One piece of a .NET custom date format.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A specifier letter repeated: ('y', 4) is `yyyy`.
    Spec(char, usize),
    /// Literal text.
    Lit(String),
}

/// Splits a .NET custom format: runs of `y M d H h m s f F t z`, `K`, quoted literals
/// (`'…'`, `"…"`), `\x` escapes; everything else is literal.
fn tokens(format: &str) -> Vec<Tok> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            'y' | 'M' | 'd' | 'H' | 'h' | 'm' | 's' | 'f' | 'F' | 't' | 'z' | 'K' => {
                let mut j = i;
                while j < chars.len() && chars[j] == c {
                    j += 1;
                }
                out.push(Tok::Spec(c, j - i));
                i = j;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                let mut lit = String::new();
                while j < chars.len() && chars[j] != c {
                    lit.push(chars[j]);
                    j += 1;
                }
                out.push(Tok::Lit(lit));
                i = j + 1;
            }
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    out.push(Tok::Lit(n.to_string()));
                }
                i += 2;
            }
            _ => {
                out.push(Tok::Lit(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn format_with(d: &DateTime<FixedOffset>, toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Lit(l) => s.push_str(l),
            Tok::Spec(c, n) => {
                let n = *n;
                match c {
                    'y' if n == 2 => s.push_str(&format!("{:02}", d.year().rem_euclid(100))),
                    'y' if n == 1 => s.push_str(&format!("{}", d.year().rem_euclid(100))),
                    'y' => s.push_str(&format!("{:0width$}", d.year(), width = n)),
                    'M' => match n {
                        1 => s.push_str(&d.month().to_string()),
                        2 => s.push_str(&format!("{:02}", d.month())),
                        3 => s.push_str(&MONTHS[d.month0() as usize][..3]),
                        _ => s.push_str(MONTHS[d.month0() as usize]),
                    },
                    'd' => match n {
                        1 => s.push_str(&d.day().to_string()),
                        2 => s.push_str(&format!("{:02}", d.day())),
                        3 => s.push_str(&DAYS[d.weekday().num_days_from_monday() as usize][..3]),
                        _ => s.push_str(DAYS[d.weekday().num_days_from_monday() as usize]),
                    },
                    'H' => s.push_str(&pad(d.hour(), n)),
                    'h' => s.push_str(&pad(d.hour12().1, n)),
                    'm' => s.push_str(&pad(d.minute(), n)),
                    's' => s.push_str(&pad(d.second(), n)),
                    'f' | 'F' => {
                        let frac = format!("{:09}", d.nanosecond() % 1_000_000_000);
                        let mut part: String = frac.chars().take(n.min(9)).collect();
                        if *c == 'F' {
                            part = part.trim_end_matches('0').to_owned();
                        }
                        s.push_str(&part);
                    }
                    't' => {
                        let ampm = if d.hour12().0 { "PM" } else { "AM" };
                        s.push_str(if n == 1 { &ampm[..1] } else { ampm });
                    }
                    'z' | 'K' => {
                        let secs = d.offset().local_minus_utc();
                        let sign = if secs < 0 { '-' } else { '+' };
                        let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
                        match (c, n) {
                            ('z', 1) => s.push_str(&format!("{sign}{h}")),
                            ('z', 2) => s.push_str(&format!("{sign}{h:02}")),
                            _ => s.push_str(&format!("{sign}{h:02}:{m:02}")),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    s
}

fn pad(v: u32, n: usize) -> String {
    if n >= 2 {
        format!("{v:02}")
    } else {
        v.to_string()
    }
}

/// Reads `text` by a .NET custom format. Missing parts default to 1/1/1 00:00:00; without an
/// offset (`zzz`, `K`) the date is UTC.
fn parse_with(text: &str, toks: &[Tok]) -> Option<DateTime<FixedOffset>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let (mut year, mut month, mut day) = (1i32, 1u32, 1u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset = FixedOffset::east_opt(0)?;
    let digits = |i: &mut usize, min: usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < chars.len() && *i - start < max && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        if *i == start {
            return Some(0);
        }
        chars[start..*i].iter().collect::<String>().parse().ok()
    };
    for t in toks {
        match t {
            Tok::Lit(l) => {
                for lc in l.chars() {
                    if chars.get(i) != Some(&lc) {
                        return None;
                    }
                    i += 1;
                }
            }
            Tok::Spec(c, n) => {
                let n = *n;
                match c {
                    'y' if n <= 2 => year = 2000 + i32::try_from(digits(&mut i, 2, 2)?).ok()?,
                    'y' => year = i32::try_from(digits(&mut i, 4, n.max(4))?).ok()?,
                    'M' if n >= 3 => {
                        let rest: String = chars[i..].iter().collect();
                        let (idx, len) = MONTHS.iter().enumerate().find_map(|(k, m)| {
                            let name = if n == 3 { &m[..3] } else { m };
                            rest.starts_with(name).then_some((k, name.chars().count()))
                        })?;
                        month = u32::try_from(idx).ok()? + 1;
                        i += len;
                    }
                    'M' => month = digits(&mut i, n, 2)?,
                    'd' if n >= 3 => {
                        // A day name: skip the letters.
                        while i < chars.len() && chars[i].is_alphabetic() {
                            i += 1;
                        }
                    }
                    'd' => day = digits(&mut i, n, 2)?,
                    'H' | 'h' => hour = digits(&mut i, n, 2)?,
                    'm' => minute = digits(&mut i, n, 2)?,
                    's' => second = digits(&mut i, n, 2)?,
                    'f' | 'F' => {
                        let start = i;
                        let v = digits(&mut i, if *c == 'f' { n } else { 0 }, n)?;
                        let len = u32::try_from(i - start).ok()?;
                        nanos = v * 10u32.checked_pow(9u32.checked_sub(len)?)?;
                    }
                    't' => {
                        let rest: String = chars[i..]
                            .iter()
                            .take(2)
                            .collect::<String>()
                            .to_ascii_uppercase();
                        if rest.starts_with('P') {
                            pm = Some(true);
                        } else if rest.starts_with('A') {
                            pm = Some(false);
                        } else {
                            return None;
                        }
                        i += if n == 1 { 1 } else { 2 };
                    }
                    'z' | 'K' => {
                        let rest: String = chars[i..].iter().collect();
                        if rest.starts_with('Z') {
                            i += 1;
                        } else if rest.starts_with('+') || rest.starts_with('-') {
                            let len = rest
                                .char_indices()
                                .skip(1)
                                .find(|(_, ch)| !(ch.is_ascii_digit() || *ch == ':'))
                                .map(|(k, _)| k)
                                .unwrap_or(rest.len());
                            offset = parse_offset(&rest[..len])?;
                            i += rest[..len].chars().count();
                        } else if *c == 'z' {
                            return None;
                        }
                    }
                    _ => return None,
                }
            }
        }
    }
    if i != chars.len() {
        return None;
    }
    if let Some(pm) = pm {
        hour = (hour % 12) + if pm { 12 } else { 0 };
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> String {
        parse_date(text)
            .map(|d| d.with_timezone(&Utc).to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn reads_the_date_forms_entra_sources_send() {
        assert_eq!(utc("2020-03-16-07:00"), "2020-03-16T07:00:00+00:00");
        assert_eq!(utc("2021-08-31+08:00"), "2021-08-30T16:00:00+00:00");
        assert_eq!(utc("2021-08-24"), "2021-08-24T00:00:00+00:00");
        assert_eq!(utc("2021-08-24Z"), "2021-08-24T00:00:00+00:00");
        assert_eq!(
            utc("2009-06-15T01:45:30-07:00"),
            "2009-06-15T08:45:30+00:00"
        );
        assert_eq!(
            utc("2020-12-31 23:59:59-08:00"),
            "2021-01-01T07:59:59+00:00"
        );
        assert_eq!(utc("2020-12-31T23:59:59"), "2020-12-31T23:59:59+00:00");
        assert_eq!(utc("8/25/2021 5:41:18 PM"), "2021-08-25T17:41:18+00:00");
        assert_eq!(utc("12/25/2020"), "2020-12-25T00:00:00+00:00");
        assert_eq!(utc("not a date"), "");
        assert_eq!(utc("2020-13-01"), "");
    }

    #[test]
    fn renders_entra_style() {
        let d = Utc
            .with_ymd_and_hms(2021, 7, 2, 0, 3, 8)
            .single()
            .unwrap_or_default();
        assert_eq!(render(d), "7/2/2021 12:03:08 AM");
    }

    #[test]
    fn tokenizes_net_formats() {
        assert_eq!(
            tokens("yyyy-MM'T'\\z"),
            vec![
                Tok::Spec('y', 4),
                Tok::Lit("-".into()),
                Tok::Spec('M', 2),
                Tok::Lit("T".into()),
                Tok::Lit("z".into())
            ]
        );
    }
}
