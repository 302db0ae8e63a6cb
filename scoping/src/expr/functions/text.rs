//! String functions.

use super::super::compiled::{Code, Func};
use super::super::eval::{
    ArgRef, Eval, bad_arg, compile_regex, fail, map_text, number, scalar_text,
};
use super::super::value::ExprValue;
use crate::error::Result;
use regex::Regex;

/// Runs the string function `name`, or returns `None` when it is not one.
pub(crate) fn call(
    ev: &mut Eval<'_>,
    func: Func,
    args: &[Option<Code>],
) -> Result<Option<ExprValue>> {
    let name = func.name();
    let v = match func {
        Func::Append => f_append(ev, name, args)?,
        Func::ConvertToBase64 => f_convert_to_base64(ev, name, args)?,
        Func::ConvertFromBase64 => f_convert_from_base64(ev, name, args)?,
        Func::ConvertToUtf8Hex => f_convert_to_u_t_f8_hex(ev, name, args)?,
        Func::InStr => f_in_str(ev, name, args)?,
        Func::Join => f_join(ev, name, args)?,
        Func::Left => f_left(ev, name, args)?,
        Func::Mid => f_mid(ev, name, args)?,
        Func::NormalizeDiacritics => f_normalize_diacritics(ev, name, args)?,
        Func::PCase => f_p_case(ev, name, args)?,
        Func::Split => f_split(ev, name, args)?,
        Func::StripSpaces => f_strip_spaces(ev, name, args)?,
        Func::ToLower | Func::ToUpper => f_to_lower(ev, name, args)?,
        Func::Trim => f_trim(ev, name, args)?,
        Func::Word => f_word(ev, name, args)?,
        Func::DnComponent => f_dn_component(ev, name, args)?,
        Func::RemoveDuplicates => f_remove_duplicates(ev, name, args)?,
        _ => return Ok(None),
    };
    Ok(Some(v))
}

// One function per string function: `call`'s frame stays small, which bounds the stack an
// expression nested `MAX_DEPTH` deep needs (debug builds keep every local of a function).

/// `Append`.
fn f_append(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let source = ev.arg_ref(args, 0)?;
        let suffix = ev.arg_ref(args, 1)?;
        let suffix = suffix.scalar_str(name, 2, "suffix")?;
        if source.is_null() {
            ExprValue::String(suffix.into_owned())
        } else {
            source.map_text(&mut |t| {
                let mut out = String::with_capacity(t.len() + suffix.len());
                out.push_str(t);
                out.push_str(&suffix);
                Ok(ExprValue::String(out))
            })?
        }
    })
}

/// `ConvertToBase64`.
fn f_convert_to_base64(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    map_text(ev.arg(args, 0)?, &mut |t| {
        let bytes: Vec<u8> = t.encode_utf16().flat_map(u16::to_le_bytes).collect();
        Ok(ExprValue::String(base64_encode(&bytes)))
    })
}

/// `ConvertFromBase64`.
fn f_convert_from_base64(
    ev: &mut Eval<'_>,
    name: &str,
    args: &[Option<Code>],
) -> Result<ExprValue> {
    Ok({
        let encoding = scalar_text(name, 2, "encoding", &ev.arg(args, 1)?)?;
        map_text(ev.arg(args, 0)?, &mut |t| {
            let bytes = base64_decode(t)
                .ok_or_else(|| bad_arg(name, 1, "source", "base64 text", &ExprValue::from(t)))?;
            decode_bytes(&bytes, &encoding).map(ExprValue::String)
        })?
    })
}

/// `ConvertToUTF8Hex`.
fn f_convert_to_u_t_f8_hex(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    map_text(ev.arg(args, 0)?, &mut |t| {
        Ok(ExprValue::String(
            t.bytes().map(|b| format!("{b:02X}")).collect(),
        ))
    })
}

/// `InStr`.
fn f_in_str(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let hay = scalar_text(name, 1, "value1", &ev.arg(args, 0)?)?;
        let needle = scalar_text(name, 2, "value2", &ev.arg(args, 1)?)?;
        let start = if Eval::given(args, 2) {
            number(name, 3, "start", &ev.arg(args, 2)?)?
        } else {
            1
        };
        if start < 1 {
            return Err(bad_arg(
                name,
                3,
                "start",
                "at least 1",
                &ExprValue::Number(start),
            ));
        }
        let text_compare =
            Eval::given(args, 3) && number(name, 4, "compareType", &ev.arg(args, 3)?)? == 1;
        let (hay, needle) = if text_compare {
            (hay.to_lowercase(), needle.to_lowercase())
        } else {
            (hay, needle)
        };
        let chars: Vec<char> = hay.chars().collect();
        let skip = usize::try_from(start - 1)
            .unwrap_or(usize::MAX)
            .min(chars.len());
        let rest: String = chars[skip..].iter().collect();
        let pos = rest
            .find(&needle)
            .map(|b| rest[..b].chars().count() + skip + 1)
            .unwrap_or(0);
        ExprValue::Number(i64::try_from(pos).unwrap_or(0))
    })
}

/// `Join`.
fn f_join(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let sep = ev.arg_ref(args, 0)?;
        let sep = sep.scalar_str(name, 1, "separator")?;
        let mut first = true;
        if args.len() <= 1 + JOIN_AT_ONCE {
            // Every part read first, so the text is allocated once, at its size.
            let mut parts: [Option<ArgRef<'_>>; JOIN_AT_ONCE] = [None, None, None, None];
            for (i, part) in parts.iter_mut().enumerate().take(args.len() - 1) {
                *part = Some(ev.arg_ref(args, i + 1)?);
            }
            let len = parts
                .iter()
                .flatten()
                .map(|p| match p {
                    ArgRef::Str(s) => s.len() + sep.len(),
                    ArgRef::Value(_) => 0,
                })
                .sum();
            let mut out = String::with_capacity(len);
            for part in parts.iter().flatten() {
                match part {
                    ArgRef::Str(s) => join_value(s, &sep, &mut out, &mut first),
                    ArgRef::Value(v) => join_values(v, &sep, &mut out, &mut first),
                }
            }
            return Ok(ExprValue::String(out));
        }
        let mut out = String::new();
        for i in 1..args.len() {
            match ev.arg_ref(args, i)? {
                ArgRef::Str(s) => join_value(s, &sep, &mut out, &mut first),
                ArgRef::Value(v) => join_values(&v, &sep, &mut out, &mut first),
            }
        }
        ExprValue::String(out)
    })
}

/// `Left`.
fn f_left(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let source = ev.arg_ref(args, 0)?;
        let n = number(name, 2, "numChars", &ev.arg(args, 1)?)?;
        match source {
            s if s.is_null() => ExprValue::string(""),
            s => s.map_text(&mut |t| {
                Ok(ExprValue::String(if n < 0 {
                    t.to_owned()
                } else {
                    char_slice(t, 0, usize::try_from(n).unwrap_or(usize::MAX)).to_owned()
                }))
            })?,
        }
    })
}

/// `Mid`.
fn f_mid(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let source = ev.arg(args, 0)?;
        let start = number(name, 2, "start", &ev.arg(args, 1)?)?;
        let length = number(name, 3, "length", &ev.arg(args, 2)?)?;
        if start < 1 {
            return Err(bad_arg(
                name,
                2,
                "start",
                "at least 1",
                &ExprValue::Number(start),
            ));
        }
        if length < 0 {
            return Err(bad_arg(
                name,
                3,
                "length",
                "at least 0",
                &ExprValue::Number(length),
            ));
        }
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(length).unwrap_or(usize::MAX);
        map_text(source, &mut |t| {
            Ok(ExprValue::String(char_slice(t, skip, take).to_owned()))
        })?
    })
}

/// `NormalizeDiacritics`.
fn f_normalize_diacritics(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    map_text(ev.arg(args, 0)?, &mut |t| {
        Ok(ExprValue::String(normalize_diacritics(t)))
    })
}

/// `PCase`.
fn f_p_case(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let seps = if Eval::given(args, 1) {
            Some(scalar_text(name, 2, "wordSeparators", &ev.arg(args, 1)?)?)
        } else {
            None
        };
        map_text(ev.arg(args, 0)?, &mut |t| {
            Ok(ExprValue::String(pcase(t, seps.as_deref())))
        })?
    })
}

/// `Split`.
fn f_split(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let delim = scalar_text(name, 2, "delimiter", &ev.arg(args, 1)?)?;
        match ev.arg(args, 0)? {
            ExprValue::Null => ExprValue::Null,
            v => {
                let t = scalar_text(name, 1, "source", &v)?;
                if delim.is_empty() {
                    ExprValue::Multi(vec![ExprValue::String(t)])
                } else {
                    ExprValue::Multi(t.split(delim.as_str()).map(ExprValue::from).collect())
                }
            }
        }
    })
}

/// `StripSpaces`.
fn f_strip_spaces(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    map_text(ev.arg(args, 0)?, &mut |t| {
        Ok(ExprValue::String(t.replace(' ', "")))
    })
}

/// `ToLower | ToUpper`.
fn f_to_lower(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        // Unicode's default (invariant) mapping; the Turkic cultures (tr, az) map the
        // dotted and dotless i as those languages do. Other culture names are accepted.
        let culture = if Eval::given(args, 1) {
            scalar_text(name, 2, "culture", &ev.arg(args, 1)?)?
        } else {
            String::new()
        };
        let lang = culture
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let turkic = lang == "tr" || lang == "az";
        let upper = name == "ToUpper";
        let source = ev.arg_ref(args, 0)?;
        if let ArgRef::Value(ExprValue::String(mut t)) = source {
            if !turkic && t.is_ascii() {
                // The default mapping of ASCII text is ASCII's: done in place, no copy.
                if upper {
                    t.make_ascii_uppercase();
                } else {
                    t.make_ascii_lowercase();
                }
                return Ok(ExprValue::String(t));
            }
            return Ok(ExprValue::String(case_map(&t, upper, turkic)));
        }
        source.map_text(&mut |t| Ok(ExprValue::String(case_map(t, upper, turkic))))?
    })
}

/// `ToUpper` (`upper`) or `ToLower` of one text.
pub(crate) fn case_map(t: &str, upper: bool, turkic: bool) -> String {
    match (upper, turkic) {
        (true, false) => t.to_uppercase(),
        (false, false) => t.to_lowercase(),
        (true, true) => t.replace('i', "\u{130}").to_uppercase(),
        (false, true) => t
            .replace('I', "\u{131}")
            .replace('\u{130}', "i")
            .to_lowercase(),
    }
}

/// `Trim`.
fn f_trim(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    map_text(ev.arg(args, 0)?, &mut |t| {
        Ok(ExprValue::String(t.trim().to_owned()))
    })
}

/// `Word`.
fn f_word(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let source = ev.arg(args, 0)?;
        let n = number(name, 2, "wordNumber", &ev.arg(args, 1)?)?;
        let delims = scalar_text(name, 3, "delimiters", &ev.arg(args, 2)?)?;
        let t = scalar_text(name, 1, "string", &source)?;
        let word = if n < 1 {
            String::new()
        } else {
            t.split(|c| delims.contains(c))
                .filter(|w| !w.is_empty())
                .nth(usize::try_from(n - 1).unwrap_or(usize::MAX))
                .unwrap_or("")
                .to_owned()
        };
        ExprValue::String(word)
    })
}

/// `DNComponent`.
fn f_dn_component(ev: &mut Eval<'_>, name: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok({
        let dn = ev.arg(args, 0)?;
        let n = number(name, 2, "n", &ev.arg(args, 1)?)?;
        match dn {
            ExprValue::Null => ExprValue::Null,
            dn => {
                let t = scalar_text(name, 1, "dn", &dn)?;
                let rdns = split_dn(&t);
                match usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| rdns.get(i))
                {
                    Some(rdn) => ExprValue::String(
                        rdn.split_once('=')
                            .map(|(_, v)| v.trim().to_owned())
                            .unwrap_or_default(),
                    ),
                    None => ExprValue::Null,
                }
            }
        }
    })
}

/// `RemoveDuplicates`.
fn f_remove_duplicates(ev: &mut Eval<'_>, _: &str, args: &[Option<Code>]) -> Result<ExprValue> {
    Ok(match ev.arg(args, 0)? {
        ExprValue::Multi(items) => {
            let mut out: Vec<ExprValue> = Vec::new();
            for item in items {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            ExprValue::Multi(out)
        }
        other => other,
    })
}

/// Expands multi-valued values, skipping null and empty ones.
/// Appends to `out` the non-empty values of `v` (each value of a multi-valued one),
/// separated by `sep`.
pub(crate) fn join_values(v: &ExprValue, sep: &str, out: &mut String, first: &mut bool) {
    match v {
        ExprValue::Multi(items) => {
            for item in items {
                join_values(item, sep, out, first);
            }
        }
        v if v.is_null_or_empty() => {}
        v => join_value(&v.text(), sep, out, first),
    }
}

/// How many parts `Join` reads before writing any (see [`f_join`]).
const JOIN_AT_ONCE: usize = 4;

/// The characters `skip..skip + take` of `t` (as `t.chars().skip(skip).take(take)`),
/// borrowed.
pub(crate) fn char_slice(t: &str, skip: usize, take: usize) -> &str {
    let start = match t.char_indices().nth(skip) {
        Some((i, _)) => i,
        None => return "",
    };
    let rest = &t[start..];
    match rest.char_indices().nth(take) {
        Some((i, _)) => &rest[..i],
        None => rest,
    }
}

/// Appends one value to `out` unless it is empty, after `sep` unless it is the first.
fn join_value(text: &str, sep: &str, out: &mut String, first: &mut bool) {
    if text.is_empty() {
        return;
    }
    if !*first {
        out.push_str(sep);
    }
    out.push_str(text);
    *first = false;
}

/// The RDNs of a DN, split on commas not escaped with a backslash.
fn split_dn(dn: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur).trim().to_owned());
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn pcase(t: &str, seps: Option<&str>) -> String {
    let mut out = String::with_capacity(t.len());
    let mut start = true;
    for c in t.chars() {
        let is_sep = match seps {
            Some(s) => s.contains(c),
            None => !(c.is_alphanumeric() || c == '\''),
        };
        if is_sep {
            out.push(c);
            start = true;
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Entra's diacritics table (documented for `NormalizeDiacritics`), lower and upper case.
const DIACRITICS: &[(&str, &str)] = &[
    ("äàâãåáąăāǎ", "a"),
    ("ÄÀÂÃÅÁĄĂĀǍ", "A"),
    ("æ", "ae"),
    ("Æ", "AE"),
    ("çčćĉċ", "c"),
    ("ÇČĆĈĊ", "C"),
    ("ďđ", "d"),
    ("ĎĐ", "D"),
    ("ëèéêęěėēĕ", "e"),
    ("ËÈÉÊĘĚĖĒĔ", "E"),
    ("ğĝġģ", "g"),
    ("ĞĜĠĢ", "G"),
    ("ĥħ", "h"),
    ("ĤĦ", "H"),
    ("ïîìíıīĭįĩ", "i"),
    ("ÏÎÌÍİĪĬĮĨ", "I"),
    ("ĵ", "j"),
    ("Ĵ", "J"),
    ("ķ", "k"),
    ("Ķ", "K"),
    ("ľłĺļŀ", "l"),
    ("ĽŁĹĻĿ", "L"),
    ("ñńňņ", "n"),
    ("ÑŃŇŅ", "N"),
    ("öòőõôóōŏ", "o"),
    ("ÖÒŐÕÔÓŌŎ", "O"),
    ("ø", "oe"),
    ("Ø", "OE"),
    ("œ", "oe"),
    ("Œ", "OE"),
    ("řŕŗ", "r"),
    ("ŘŔŖ", "R"),
    ("šśșşŝ", "s"),
    ("ŠŚȘŞŜ", "S"),
    ("ß", "ss"),
    ("ťțţŧ", "t"),
    ("ŤȚŢŦ", "T"),
    ("üùûúůűūŭųũ", "u"),
    ("ÜÙÛÚŮŰŪŬŲŨ", "U"),
    ("ŵ", "w"),
    ("Ŵ", "W"),
    ("ÿýŷ", "y"),
    ("ŸÝŶ", "Y"),
    ("żźž", "z"),
    ("ŻŹŽ", "Z"),
];

pub(crate) fn normalize_diacritics(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match DIACRITICS.iter().find(|(from, _)| from.contains(c)) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    out
}

/// `Replace`; `regex` is argument 3 compiled, when it is a constant.
pub(crate) fn replace(
    ev: &mut Eval<'_>,
    args: &[Option<Code>],
    regex: Option<&Regex>,
) -> Result<ExprValue> {
    ReplaceArgs::read(ev, args)?.apply(regex)
}

/// The arguments of `Replace`, evaluated (in order; the omitted ones `None`).
pub(crate) struct ReplaceArgs<'a> {
    pub(crate) source: ArgRef<'a>,
    pub(crate) old: Option<ArgRef<'a>>,
    pattern: Option<ArgRef<'a>>,
    group: Option<ArgRef<'a>>,
    pub(crate) replacement: Option<ArgRef<'a>>,
    repl_attr: Option<ArgRef<'a>>,
    pub(crate) template: Option<ArgRef<'a>>,
}

impl<'a> ReplaceArgs<'a> {
    /// Evaluates the arguments, in order.
    pub(crate) fn read<'e: 'a>(ev: &mut Eval<'e>, args: &'a [Option<Code>]) -> Result<Self> {
        let source = ev.arg_ref(args, 0)?;
        let mut opt = |i: usize| {
            Eval::given(args, i)
                .then(|| ev.arg_ref(args, i))
                .transpose()
        };
        Ok(ReplaceArgs {
            source,
            old: opt(1)?,
            pattern: opt(2)?,
            group: opt(3)?,
            replacement: opt(4)?,
            repl_attr: opt(5)?,
            template: opt(6)?,
        })
    }

    /// The value of `Replace` with these arguments.
    pub(crate) fn apply(self, regex: Option<&Regex>) -> Result<ExprValue> {
        const F: &str = "Replace";
        let ReplaceArgs {
            source,
            old,
            pattern,
            group,
            replacement,
            repl_attr,
            template,
        } = self;
        if let Some(old) = old {
            let old = old.scalar_str(F, 2, "oldValue")?;
            if let Some(template) = template {
                // Mode 2: put the source in the template, in place of oldValue.
                let template = template.scalar_str(F, 7, "template")?;
                return source.map_text(&mut |t| Ok(ExprValue::String(template.replace(&*old, t))));
            }
            // Mode 1: replace every occurrence of oldValue.
            let new = replacement
                .as_ref()
                .map(|r| r.scalar_str(F, 5, "replacementValue"))
                .transpose()?
                .unwrap_or_default();
            if old.is_empty() {
                return Ok(source.into_value());
            }
            // `regex` is `old` as a literal when `old` is a constant (see `compiled`).
            return source.map_text(&mut |t| {
                Ok(ExprValue::String(match regex {
                    Some(re) => re.replace_all(t, regex::NoExpand(&new)).into_owned(),
                    None => t.replace(&*old, &new),
                }))
            });
        }
        let Some(pattern) = pattern else {
            return Err(fail(
                F,
                "needs argument 2 (oldValue) or argument 3 (regexPattern)",
            ));
        };
        let pattern = pattern.scalar_str(F, 3, "regexPattern")?;
        let compiled;
        let re = match regex {
            Some(re) => re,
            None => {
                compiled = compile_regex(&pattern)?;
                &compiled
            }
        };
        let group = group
            .as_ref()
            .map(|g| g.scalar_str(F, 4, "regexGroupName"))
            .transpose()?;
        match (group, replacement, repl_attr) {
            (Some(group), _, Some(attr)) => {
                // Mode 5 (app provisioning doc): the source when it has a value, else the named
                // group extracted from replacementAttributeName.
                if !source.is_null_or_empty() {
                    return Ok(source.into_value());
                }
                attr.map_text(&mut |t| {
                    Ok(re
                        .captures(t)
                        .and_then(|c| c.name(&group))
                        .map(|m| ExprValue::string(m.as_str()))
                        .unwrap_or(ExprValue::Null))
                })
            }
            (Some(group), replacement, None) => {
                // Mode 4: replace the text the named group matched.
                let new = replacement
                    .as_ref()
                    .map(|r| r.scalar_str(F, 5, "replacementValue"))
                    .transpose()?
                    .unwrap_or_default();
                source.map_text(&mut |t| {
                    let mut out = String::with_capacity(t.len());
                    let mut last = 0;
                    for caps in re.captures_iter(t) {
                        if let Some(m) = caps.name(&group) {
                            out.push_str(&t[last..m.start()]);
                            out.push_str(&new);
                            last = m.end();
                        }
                    }
                    out.push_str(&t[last..]);
                    Ok(ExprValue::String(out))
                })
            }
            (None, replacement, _) => {
                // Mode 3: regex replace; the replacement may use `${group}`.
                let new = replacement
                    .as_ref()
                    .map(|r| r.scalar_str(F, 5, "replacementValue"))
                    .transpose()?
                    .unwrap_or_default();
                source
                    .map_text(&mut |t| Ok(ExprValue::String(re.replace_all(t, &*new).into_owned())))
            }
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    if padding > 2 {
        return None;
    }
    Some(out)
}

fn decode_bytes(bytes: &[u8], encoding: &str) -> Result<String> {
    let e = encoding.trim().to_ascii_lowercase();
    match e.as_str() {
        "" | "unicode" | "utf-16" | "utf16" => {
            if !bytes.len().is_multiple_of(2) {
                return Err(fail(
                    "ConvertFromBase64",
                    "argument 1 (source) is not UTF-16 text: odd byte count",
                ));
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| {
                fail(
                    "ConvertFromBase64",
                    "argument 1 (source) is not UTF-16 text",
                )
            })
        }
        "utf8" | "utf-8" => String::from_utf8(bytes.to_vec())
            .map_err(|_| fail("ConvertFromBase64", "argument 1 (source) is not UTF-8 text")),
        "ascii" => {
            if bytes.is_ascii() {
                Ok(bytes.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(fail(
                    "ConvertFromBase64",
                    "argument 1 (source) is not ASCII text",
                ))
            }
        }
        _ => Err(bad_arg(
            "ConvertFromBase64",
            2,
            "encoding",
            "Unicode, UTF8 or ASCII",
            &ExprValue::string(encoding),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for n in 0..10u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(
                base64_decode(&base64_encode(&bytes)).unwrap_or_default(),
                bytes
            );
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert!(base64_decode("TW=u").is_none());
        assert!(base64_decode("T!").is_none());
    }

    #[test]
    fn dn_splitting_honours_escapes() {
        assert_eq!(split_dn(r"cn=Doe\, J,ou=X"), vec![r"cn=Doe\, J", "ou=X"]);
    }

    #[test]
    fn pcase_default_separators() {
        assert_eq!(pcase("HELLO wORLD-x", None), "Hello World-X");
    }
}
