//! Evaluation that writes a text result into a caller's buffer.
//!
//! [`evaluate_into`] gives what [`super::eval::evaluate`] gives, but when the result is one
//! string its text is written into a `String` the caller passes (a mapping passes the
//! buffer of the string its output slot held for the previous object) instead of into a new
//! one. The functions whose result is text by construction write there directly, and so do
//! their text arguments: `Join`, `Append`, `Left`, `ToLower`/`ToUpper`, `Replace` with a
//! constant `oldValue`, `Switch` and `IIF` (the value they choose), `&`, string constants and
//! string attributes. `Append("https://", Replace([userName], "@x", , , "", , ))` allocates
//! nothing once the buffer is large enough. Anything else is evaluated as
//! [`Eval::node`] evaluates it, and returned.
//!
//! Each function here repeats its definition's order of evaluation, checks and errors; a
//! property test compares the two over generated expressions and sources (`into_tests.rs`).

use super::compiled::{Code, Func};
use super::eval::{ArgRef, Eval, map_text, number, scalar_str, scalar_text};
use super::functions::other::{iif_choice, switch_choice};
use super::functions::text::{ReplaceArgs, case_map, char_slice, join_values};
use super::value::ExprValue;
use super::{EvalContext, Expression};
use crate::error::Result;
use regex::Regex;
use scim_model::Resource;

/// What [`super::eval::evaluate`] gives: `Ok(None)` when it is the string now in `buf`
/// (cleared first; never [`ExprValue::Redacted`]), else `Ok(Some(value))` (`buf` then holds
/// anything).
pub(crate) fn evaluate_into(
    expr: &Expression,
    resource: &Resource,
    ctx: &EvalContext<'_>,
    buf: &mut String,
) -> Result<Option<ExprValue>> {
    let mut ev = Eval {
        resource,
        ctx,
        redacted: false,
    };
    buf.clear();
    let value = match ev.text_into(&expr.code, true, buf)? {
        None if !ev.redacted => return Ok(None),
        None => ExprValue::String(std::mem::take(buf)),
        Some(v) => v,
    };
    Ok(Some(if ev.redacted && !value.is_ignore_flow() {
        ExprValue::Redacted(Box::new(value))
    } else {
        value
    }))
}

/// `IgnoreFlow` below the top reads as no value (as [`Eval::arg`] and [`Eval::node`] make it).
fn below_top(v: Option<ExprValue>) -> Option<ExprValue> {
    match v {
        Some(ExprValue::IgnoreFlow) => Some(ExprValue::Null),
        v => v,
    }
}

impl Eval<'_> {
    /// [`Eval::node`]`(node, top)`, except that a string result is appended to `buf` (and
    /// `None` returned); any other result is returned, with `buf` as it was.
    pub(crate) fn text_into(
        &mut self,
        node: &Code,
        top: bool,
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        match node {
            Code::Str(s) => {
                buf.push_str(s);
                Ok(None)
            }
            Code::Attribute(a) => match self.attribute_str(a) {
                Some(s) => {
                    buf.push_str(s);
                    Ok(None)
                }
                None => Ok(Some(self.attribute(a))),
            },
            Code::Concat(parts) => {
                for p in parts {
                    if let Some(v) = self.text_into(p, false, buf)? {
                        buf.push_str(&scalar_str("&", 0, "operand", &v)?);
                    }
                }
                Ok(None)
            }
            Code::Call { func, args, regex } => {
                let v = match func {
                    Func::Join => self.join_into(args, buf)?,
                    Func::Append => self.append_into(args, buf)?,
                    Func::Left => self.left_into(args, buf)?,
                    Func::ToLower | Func::ToUpper => self.case_into(*func, args, buf)?,
                    Func::Replace => self.replace_into(args, regex.as_ref(), buf)?,
                    Func::Switch => self.switch_into(args, buf)?,
                    Func::Iif => self.iif_into(args, buf)?,
                    _ => Some(self.call(*func, args, top, regex.as_ref())?),
                };
                Ok(if top { v } else { below_top(v) })
            }
            other => Ok(Some(self.node(other, top)?)),
        }
    }

    /// [`Eval::arg`]`(args, i)` as [`Eval::text_into`] gives it.
    fn arg_into(
        &mut self,
        args: &[Option<Code>],
        i: usize,
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        match args.get(i) {
            Some(Some(n)) => Ok(below_top(self.text_into(n, false, buf)?)),
            _ => Ok(Some(ExprValue::Null)),
        }
    }

    /// `Join` (its definition: `text::f_join`).
    fn join_into(&mut self, args: &[Option<Code>], buf: &mut String) -> Result<Option<ExprValue>> {
        let sep = self.arg_ref(args, 0)?;
        let sep = sep.scalar_str("Join", 1, "separator")?;
        let mut first = true;
        for i in 1..args.len() {
            let start = buf.len();
            if !first {
                buf.push_str(&sep);
            }
            let text_start = buf.len();
            match self.arg_into(args, i, buf)? {
                // An empty text is skipped, with its separator.
                None if buf.len() == text_start => buf.truncate(start),
                None => first = false,
                Some(v) => {
                    buf.truncate(start);
                    join_values(&v, &sep, buf, &mut first);
                }
            }
        }
        Ok(None)
    }

    /// `Append` (`text::f_append`).
    fn append_into(
        &mut self,
        args: &[Option<Code>],
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        const F: &str = "Append";
        let source = self.arg_ref(args, 0)?;
        match &source {
            ArgRef::Str(t) => buf.push_str(t),
            ArgRef::Value(ExprValue::Null) => {}
            ArgRef::Value(ExprValue::Multi(_) | ExprValue::IgnoreFlow) => {
                let suffix = self.arg_ref(args, 1)?;
                let suffix = suffix.scalar_str(F, 2, "suffix")?;
                return Ok(Some(source.map_text(&mut |t| {
                    let mut out = String::with_capacity(t.len() + suffix.len());
                    out.push_str(t);
                    out.push_str(&suffix);
                    Ok(ExprValue::String(out))
                })?));
            }
            ArgRef::Value(v) => buf.push_str(&v.text()),
        }
        if let Some(v) = self.arg_into(args, 1, buf)? {
            buf.push_str(&scalar_str(F, 2, "suffix", &v)?);
        }
        Ok(None)
    }

    /// `Left` (`text::f_left`).
    fn left_into(&mut self, args: &[Option<Code>], buf: &mut String) -> Result<Option<ExprValue>> {
        const F: &str = "Left";
        let start = buf.len();
        let source = self.arg_into(args, 0, buf)?;
        let n = number(F, 2, "numChars", &self.arg(args, 1)?)?;
        let take = |t: &str| {
            if n < 0 {
                t.len()
            } else {
                char_slice(t, 0, usize::try_from(n).unwrap_or(usize::MAX)).len()
            }
        };
        match source {
            None => {
                let keep = take(buf.get(start..).unwrap_or(""));
                buf.truncate(start + keep);
                Ok(None)
            }
            Some(ExprValue::Null) => Ok(None),
            Some(v @ ExprValue::Multi(_)) => Ok(Some(map_text(v, &mut |t| {
                Ok(ExprValue::String(t[..take(t)].to_owned()))
            })?)),
            Some(v) => {
                let t = v.text();
                buf.push_str(&t[..take(&t)]);
                Ok(None)
            }
        }
    }

    /// `ToLower` and `ToUpper` (`text::f_to_lower`).
    fn case_into(
        &mut self,
        func: Func,
        args: &[Option<Code>],
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        let name = func.name();
        let culture = if Eval::given(args, 1) {
            scalar_text(name, 2, "culture", &self.arg(args, 1)?)?
        } else {
            String::new()
        };
        let lang = culture.split(['-', '_']).next().unwrap_or("");
        let turkic = lang.eq_ignore_ascii_case("tr") || lang.eq_ignore_ascii_case("az");
        let upper = func == Func::ToUpper;
        let start = buf.len();
        match self.arg_into(args, 0, buf)? {
            None => {
                if let Some(t) = buf.get_mut(start..) {
                    if !turkic && t.is_ascii() {
                        if upper {
                            t.make_ascii_uppercase();
                        } else {
                            t.make_ascii_lowercase();
                        }
                    } else {
                        let mapped = case_map(t, upper, turkic);
                        buf.truncate(start);
                        buf.push_str(&mapped);
                    }
                }
                Ok(None)
            }
            Some(ExprValue::Null) => Ok(Some(ExprValue::Null)),
            Some(v @ ExprValue::Multi(_)) => Ok(Some(map_text(v, &mut |t| {
                Ok(ExprValue::String(case_map(t, upper, turkic)))
            })?)),
            Some(v) => {
                buf.push_str(&case_map(&v.text(), upper, turkic));
                Ok(None)
            }
        }
    }

    /// `Replace` (`text::replace`): mode 1 (replace `oldValue`) of one text is written into
    /// `buf`; any other mode or source is evaluated by the definition, from the same
    /// arguments.
    fn replace_into(
        &mut self,
        args: &[Option<Code>],
        regex: Option<&Regex>,
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        const F: &str = "Replace";
        let a = ReplaceArgs::read(self, args)?;
        let one = match &a.source {
            ArgRef::Str(t) => Some(std::borrow::Cow::Borrowed(*t)),
            ArgRef::Value(ExprValue::Null | ExprValue::IgnoreFlow | ExprValue::Multi(_)) => None,
            ArgRef::Value(v) => Some(v.text()),
        };
        if let (Some(t), Some(old), None) = (one, &a.old, &a.template) {
            // As the definition checks them: oldValue, then replacementValue.
            let old = old.scalar_str(F, 2, "oldValue")?;
            let new = a
                .replacement
                .as_ref()
                .map(|r| r.scalar_str(F, 5, "replacementValue"))
                .transpose()?
                .unwrap_or_default();
            if !old.is_empty() {
                // `regex` is `old` as a literal when `old` is a constant (see `compiled`);
                // either finds the same non-overlapping occurrences, left to right.
                let mut last = 0;
                let mut push = |range: std::ops::Range<usize>| {
                    buf.push_str(&t[last..range.start]);
                    buf.push_str(&new);
                    last = range.end;
                };
                match regex {
                    Some(re) => re.find_iter(&t).for_each(|m| push(m.range())),
                    None => t
                        .match_indices(&*old)
                        .for_each(|(i, m)| push(i..i + m.len())),
                }
                buf.push_str(&t[last..]);
                return Ok(None);
            }
        }
        Ok(Some(a.apply(regex)?))
    }

    /// `Switch` (`other::call`): the value chosen is written into `buf`.
    fn switch_into(
        &mut self,
        args: &[Option<Code>],
        buf: &mut String,
    ) -> Result<Option<ExprValue>> {
        let chosen = switch_choice(self, args)?;
        self.arg_into(args, chosen, buf)
    }

    /// `IIF` (`other::call`): the value chosen is written into `buf`.
    fn iif_into(&mut self, args: &[Option<Code>], buf: &mut String) -> Result<Option<ExprValue>> {
        let chosen = iif_choice(self, args)?;
        self.arg_into(args, chosen, buf)
    }
}

#[cfg(test)]
#[path = "into_tests.rs"]
mod tests;
