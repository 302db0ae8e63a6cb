//! Logic, conversion, multi-valued, random and host-assisted functions.

use super::super::compiled::{Code, Func};
use super::super::eval::{Eval, bad_arg, boolean, fail, number, scalar_text};
use super::super::value::ExprValue;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Runs the function `name`, or returns `None` when it is not one of these.
pub(crate) fn call(
    ev: &mut Eval<'_>,
    func: Func,
    args: &[Option<Code>],
    top: bool,
) -> Result<Option<ExprValue>> {
    let name = func.name();
    let v = match func {
        Func::BitAnd => {
            let a = number(name, 1, "value1", &ev.arg(args, 0)?)?;
            let b = number(name, 2, "value2", &ev.arg(args, 1)?)?;
            ExprValue::Number(a & b)
        }
        Func::CBool => {
            let v = ev.arg(args, 0)?;
            ExprValue::Bool(
                boolean(&v)
                    .ok_or_else(|| bad_arg(name, 1, "expression", "a boolean or a number", &v))?,
            )
        }
        Func::CStr => match ev.arg(args, 0)? {
            ExprValue::Null => ExprValue::Null,
            v => ExprValue::String(v.to_text()),
        },
        Func::CRef => ev.arg(args, 0)?,
        Func::Coalesce => {
            for i in 0..args.len() {
                let v = ev.arg(args, i)?;
                if !v.is_null_or_empty() {
                    return Ok(Some(v));
                }
            }
            ExprValue::Null
        }
        Func::Count => ExprValue::Number(match ev.arg(args, 0)? {
            ExprValue::Null => 0,
            ExprValue::Multi(items) => i64::try_from(items.len()).unwrap_or(i64::MAX),
            _ => 1,
        }),
        Func::DefaultDomain => ev
            .ctx
            .default_domain
            .map(ExprValue::from)
            .unwrap_or(ExprValue::Null),
        Func::Error => {
            let message = ev.arg(args, 0)?.to_text();
            return Err(Error::ExpressionRaised { message });
        }
        Func::Guid => {
            let mut b = [0u8; 16];
            fill(ev, name, &mut b)?;
            b[6] = (b[6] & 0x0F) | 0x40;
            b[8] = (b[8] & 0x3F) | 0x80;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            ExprValue::String(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        Func::IgnoreFlowIfNullOrEmpty => {
            let v = ev.arg(args, 0)?;
            if v.is_null_or_empty() {
                ExprValue::IgnoreFlow
            } else {
                v
            }
        }
        Func::Iif => {
            let chosen = iif_choice(ev, args)?;
            ev.arg(args, chosen)?
        }
        Func::Switch => {
            let chosen = switch_choice(ev, args)?;
            ev.arg(args, chosen)?
        }
        Func::IsNull => ExprValue::Bool(matches!(ev.arg(args, 0)?, ExprValue::Null)),
        Func::IsNullOrEmpty => ExprValue::Bool(ev.arg(args, 0)?.is_null_or_empty()),
        Func::IsPresent => ExprValue::Bool(!ev.arg(args, 0)?.is_null_or_empty()),
        Func::IsString => ExprValue::Bool(matches!(
            ev.arg(args, 0)?,
            ExprValue::String(_) | ExprValue::Bool(_) | ExprValue::Number(_)
        )),
        Func::Item => {
            let v = ev.arg(args, 0)?;
            let index = number(name, 2, "index", &ev.arg(args, 1)?)?;
            let items = match v {
                ExprValue::Null => Vec::new(),
                ExprValue::Multi(items) => items,
                one => vec![one],
            };
            let count = items.len();
            match usize::try_from(index)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.into_iter().nth(i))
            {
                Some(item) => item,
                None => {
                    return Err(fail(
                        name,
                        format!(
                            "argument 2 (index) {index} is out of range: the attribute has {count} value(s), indexes start at 1"
                        ),
                    ));
                }
            }
        }
        Func::Not => ExprValue::Bool(!matches!(boolean(&ev.arg(args, 0)?), Some(true))),
        Func::RandomString => random_string(ev, args)?,
        Func::Redact => {
            ev.redacted = true;
            ev.arg(args, 0)?
        }
        Func::SelectUniqueValue => {
            if !top {
                return Err(fail(name, "is only allowed at the top of an expression"));
            }
            let mut tried = Vec::new();
            for i in 0..args.len() {
                let v = ev.arg(args, i)?;
                if v.is_null_or_empty() {
                    continue;
                }
                let candidate = scalar_text(name, i + 1, "rule", &v)?;
                let unique = match ev.ctx.uniqueness {
                    Some(check) => check.is_unique(&candidate).map_err(|e| fail(name, e))?,
                    None => true,
                };
                if unique {
                    return Ok(Some(ExprValue::String(candidate)));
                }
                tried.push(candidate);
            }
            return Err(Error::ExpressionNoUniqueValue { tried });
        }
        Func::SingleAppRoleAssignment => {
            let roles = ev.arg(args, 0)?;
            first_role(&roles)
                .map(ExprValue::String)
                .unwrap_or(ExprValue::Null)
        }
        Func::AppRoleAssignmentsComplex => {
            let roles = match ev.arg(args, 0)? {
                ExprValue::Null => Vec::new(),
                ExprValue::Multi(items) => items,
                one => vec![one],
            };
            let out: Vec<ExprValue> = roles
                .iter()
                .filter_map(|r| {
                    let value = first_role(r)?;
                    let display = match r {
                        ExprValue::Object(m) => m
                            .get("displayName")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .unwrap_or_else(|| value.clone()),
                        _ => value.clone(),
                    };
                    let mut m = Map::new();
                    m.insert("primary".into(), Value::Bool(false));
                    m.insert(
                        "type".into(),
                        Value::String("WindowsAzureActiveDirectoryRole".into()),
                    );
                    m.insert("display".into(), Value::String(display));
                    m.insert("value".into(), Value::String(value));
                    Some(ExprValue::Object(m))
                })
                .collect();
            if out.is_empty() {
                ExprValue::Null
            } else {
                ExprValue::Multi(out)
            }
        }
        Func::StringFromSid => match ev.arg(args, 0)? {
            ExprValue::Null => ExprValue::Null,
            v => {
                let t = scalar_text(name, 1, "objectSid", &v)?;
                let bytes = super::text::base64_decode(&t)
                    .ok_or_else(|| bad_arg(name, 1, "objectSid", "a base64 binary SID", &v))?;
                ExprValue::String(
                    sid_to_string(&bytes)
                        .ok_or_else(|| bad_arg(name, 1, "objectSid", "a binary SID", &v))?,
                )
            }
        },
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// The role of one assignment (its `value`, else `displayName`), or of the first of several.
fn first_role(v: &ExprValue) -> Option<String> {
    match v {
        ExprValue::Multi(items) => items.iter().find_map(first_role),
        ExprValue::Object(m) => ["value", "displayName"]
            .iter()
            .find_map(|k| scim_model::get_ci(m, k).and_then(Value::as_str))
            .map(str::to_owned),
        ExprValue::Null => None,
        other => Some(other.to_text()),
    }
}

fn fill(ev: &Eval<'_>, name: &str, buf: &mut [u8]) -> Result<()> {
    ev.ctx
        .random
        .fill_bytes(buf)
        .map_err(|e| fail(name, format!("random generator failed: {e}")))
}

/// A uniform index below `n` (n ≥ 1), by rejection sampling.
fn uniform(ev: &Eval<'_>, n: usize) -> Result<usize> {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX).max(1);
    let zone = u32::MAX - (u32::MAX % n32);
    loop {
        let mut b = [0u8; 4];
        fill(ev, "RandomString", &mut b)?;
        let x = u32::from_le_bytes(b);
        if x < zone {
            return Ok((x % n32) as usize);
        }
    }
}

const DIGITS: &str = "0123456789";
const SPECIAL: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

fn random_string(ev: &mut Eval<'_>, args: &[Option<Code>]) -> Result<ExprValue> {
    const F: &str = "RandomString";
    let names = [
        "Length",
        "MinNumbers",
        "MinSpecialCharacters",
        "MinCapital",
        "MinLower",
    ];
    let mut n = [0usize; 5];
    for (i, arg_name) in names.iter().enumerate() {
        let v = ev.arg(args, i)?;
        let x = number(F, i + 1, arg_name, &v)?;
        n[i] = usize::try_from(x).map_err(|_| bad_arg(F, i + 1, arg_name, "0 or more", &v))?;
    }
    let avoid = if Eval::given(args, 5) {
        scalar_text(F, 6, "CharactersToAvoid", &ev.arg(args, 5)?)?
    } else {
        String::new()
    };
    let length = n[0];
    if length == 0 || length > 256 {
        return Err(bad_arg(
            F,
            1,
            "Length",
            "between 1 and 256",
            &ExprValue::Number(i64::try_from(length).unwrap_or(0)),
        ));
    }
    if n[1] + n[2] + n[3] + n[4] > length {
        return Err(fail(
            F,
            "the minimum counts add up to more than argument 1 (Length)",
        ));
    }
    let sets: Vec<Vec<char>> = [DIGITS, SPECIAL, UPPER, LOWER]
        .iter()
        .map(|s| s.chars().filter(|c| !avoid.contains(*c)).collect())
        .collect();
    let mut out: Vec<char> = Vec::with_capacity(length);
    for (k, set) in sets.iter().enumerate() {
        if n[k + 1] > 0 && set.is_empty() {
            return Err(fail(
                F,
                format!(
                    "argument {} ({}) cannot be met: every such character is avoided",
                    k + 2,
                    names[k + 1]
                ),
            ));
        }
        for _ in 0..n[k + 1] {
            out.push(set[uniform(ev, set.len())?]);
        }
    }
    // The rest from letters and digits (and specials only when some are required).
    let mut pool: Vec<char> = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        if k != 1 || n[2] > 0 {
            pool.extend(set);
        }
    }
    if pool.is_empty() && out.len() < length {
        return Err(fail(
            F,
            "argument 6 (CharactersToAvoid) leaves no character to use",
        ));
    }
    while out.len() < length {
        out.push(pool[uniform(ev, pool.len())?]);
    }
    for i in (1..out.len()).rev() {
        let j = uniform(ev, i + 1)?;
        out.swap(i, j);
    }
    Ok(ExprValue::String(out.into_iter().collect()))
}

/// A binary SID as `S-1-5-21-…`.
fn sid_to_string(b: &[u8]) -> Option<String> {
    let revision = *b.first()?;
    let count = usize::from(*b.get(1)?);
    let auth = b.get(2..8)?;
    if b.len() != 8 + 4 * count {
        return None;
    }
    let authority = auth.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let mut s = format!("S-{revision}-{authority}");
    for i in 0..count {
        let c = b.get(8 + 4 * i..12 + 4 * i)?;
        s.push_str(&format!(
            "-{}",
            u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        ));
    }
    Some(s)
}

/// Which argument `IIF` gives: the second when the condition is true, else the third (a null
/// condition is false). Shared by `call` and the evaluation into a buffer.
pub(crate) fn iif_choice(ev: &mut Eval<'_>, args: &[Option<Code>]) -> Result<usize> {
    let c = match ev.arg(args, 0)? {
        ExprValue::Null => false,
        ref v => boolean(v).ok_or_else(|| bad_arg("IIF", 1, "condition", "True or False", v))?,
    };
    Ok(if c { 1 } else { 2 })
}

/// Which argument `Switch` gives: the value after the first key equal to the source
/// (case-sensitive; a null source reads as "", so the key "" matches it), else the default
/// (the second argument). Shared by `call` and the evaluation into a buffer.
pub(crate) fn switch_choice(ev: &mut Eval<'_>, args: &[Option<Code>]) -> Result<usize> {
    const F: &str = "Switch";
    let source = ev.arg_ref(args, 0)?;
    let source = source.scalar_str(F, 1, "source")?;
    let mut i = 2;
    while i + 1 < args.len() {
        let key = ev.arg_ref(args, i)?;
        if key.scalar_str(F, i + 1, "key")? == source {
            return Ok(i + 1);
        }
        i += 2;
    }
    Ok(1)
}
