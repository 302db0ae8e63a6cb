//! Lexer and recursive-descent parser for the expression language.
//!
//! Grammar (precedence low to high):
//!
//! ```text
//! expr    := concat (( "=" | "<>" | ">" | ">=" | "<" | "<=" ) concat)?
//! concat  := primary ("&" primary)*
//! primary := STRING | ["-"] NUMBER | ["-"] HEX | "[" ATTRIBUTE "]"
//!          | NAME "(" [arg ("," arg)*] ")" | NAME | "(" expr ")"
//! arg     := expr | (nothing: an omitted optional argument)
//! ```

use std::collections::BTreeMap;

use regex::Regex;

use super::ast::{AttributeRef, CompareOp, Node};
use super::eval::build_regex;
use super::functions::{self, Arity};
use crate::error::{Error, Result};

/// The longest expression accepted, in characters (Entra's limit).
pub const MAX_LENGTH: usize = 10_000;

/// The deepest nesting accepted (function calls and parentheses).
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Str(String),
    Num(i64, bool),
    Attr(String),
    Ident(String),
    LParen,
    RParen,
    Comma,
    Amp,
    Minus,
    Cmp(CompareOp),
    End,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Num(n, _) => format!("number {n}"),
        Tok::Attr(a) => format!("attribute [{a}]"),
        Tok::Ident(i) => format!("name `{i}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Amp => "`&`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Cmp(op) => format!("`{}`", op.as_str()),
        Tok::End => "end of expression".into(),
    }
}

fn syntax(position: usize, expected: impl Into<String>, found: impl Into<String>) -> Error {
    Error::ExpressionSyntax {
        position,
        expected: expected.into(),
        found: found.into(),
    }
}

/// Splits the text into tokens with their character positions (0-based).
fn lex(text: &str) -> Result<Vec<(usize, Tok)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            '-' => {
                out.push((start, Tok::Minus));
                i += 1;
            }
            '=' => {
                out.push((start, Tok::Cmp(CompareOp::Eq)));
                i += 1;
            }
            '<' => match chars.get(i + 1) {
                Some('>') => {
                    out.push((start, Tok::Cmp(CompareOp::Ne)));
                    i += 2;
                }
                Some('=') => {
                    out.push((start, Tok::Cmp(CompareOp::Le)));
                    i += 2;
                }
                _ => {
                    out.push((start, Tok::Cmp(CompareOp::Lt)));
                    i += 1;
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push((start, Tok::Cmp(CompareOp::Ge)));
                    i += 2;
                } else {
                    out.push((start, Tok::Cmp(CompareOp::Gt)));
                    i += 1;
                }
            }
            '&' => {
                // `&H` followed by hex digits is a hexadecimal constant; otherwise concatenation.
                let is_hex = matches!(chars.get(i + 1), Some('H' | 'h'))
                    && chars.get(i + 2).is_some_and(|d| d.is_ascii_hexdigit());
                if is_hex {
                    let mut j = i + 2;
                    while j < chars.len() && chars[j].is_ascii_hexdigit() {
                        j += 1;
                    }
                    let digits: String = chars[i + 2..j].iter().collect();
                    let value = i64::from_str_radix(&digits, 16).map_err(|_| {
                        syntax(
                            start,
                            "a hexadecimal number that fits 64 bits",
                            format!("&H{digits}"),
                        )
                    })?;
                    out.push((start, Tok::Num(value, true)));
                    i = j;
                } else {
                    out.push((start, Tok::Amp));
                    i += 1;
                }
            }
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(syntax(start, "a closing `\"`", "end of expression")),
                        Some('"') => break,
                        Some('\\') => match chars.get(j + 1) {
                            Some(&e @ ('"' | '\\')) => {
                                s.push(e);
                                j += 2;
                            }
                            // Any other backslash is kept as written (regex patterns).
                            _ => {
                                s.push('\\');
                                j += 1;
                            }
                        },
                        Some(&ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
                i = j + 1;
            }
            '[' => {
                // Up to the matching `]`: a value filter (`emails[type eq "work"].value`)
                // nests brackets, and its quoted strings may hold any character.
                let mut j = i + 1;
                let mut depth = 0usize;
                let mut quoted = false;
                while j < chars.len() {
                    match chars[j] {
                        '\\' if quoted => j += 1,
                        '"' => quoted = !quoted,
                        '[' if !quoted => depth += 1,
                        ']' if !quoted && depth == 0 => break,
                        ']' if !quoted => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(syntax(
                        start,
                        "`]` closing the attribute",
                        "end of expression",
                    ));
                }
                let name: String = chars[i + 1..j].iter().collect();
                if name.trim().is_empty() {
                    return Err(syntax(start, "an attribute name", "`[]`"));
                }
                out.push((start, Tok::Attr(name)));
                i = j + 1;
            }
            c if c.is_ascii_digit() => {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let digits: String = chars[i..j].iter().collect();
                let value = digits
                    .parse::<i64>()
                    .map_err(|_| syntax(start, "a number that fits 64 bits", digits.clone()))?;
                out.push((start, Tok::Num(value, false)));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                out.push((start, Tok::Ident(chars[i..j].iter().collect())));
                i = j;
            }
            other => {
                return Err(syntax(
                    start,
                    "a function, an attribute, a string or a number",
                    format!("`{other}`"),
                ));
            }
        }
    }
    out.push((chars.len(), Tok::End));
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    depth: usize,
    /// Regex patterns written as constants (`Replace` argument 3), compiled once.
    regexes: BTreeMap<String, Regex>,
}

impl Parser {
    fn peek(&self) -> &(usize, Tok) {
        // `lex` always ends with `End`, and `next` never moves past it.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> (usize, Tok) {
        let t = self.peek().clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn enter(&mut self, position: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(
                position,
                format!("at most {MAX_DEPTH} levels of nesting"),
                "deeper nesting",
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node> {
        let left = self.concat()?;
        if let (_, Tok::Cmp(op)) = self.peek() {
            let op = *op;
            self.next();
            let right = self.concat()?;
            return Ok(Node::Compare {
                op,
                left: Box::new(left),
                right: Box::new(right),
            });
        }
        Ok(left)
    }

    fn concat(&mut self) -> Result<Node> {
        let first = self.primary()?;
        if self.peek().1 != Tok::Amp {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek().1 == Tok::Amp {
            self.next();
            parts.push(self.primary()?);
        }
        Ok(Node::Concat(parts))
    }

    fn primary(&mut self) -> Result<Node> {
        let (pos, tok) = self.next();
        match tok {
            Tok::Str(s) => Ok(Node::Str(s)),
            Tok::Num(value, hex) => Ok(Node::Number { value, hex }),
            Tok::Minus => match self.next() {
                (_, Tok::Num(value, hex)) => Ok(Node::Number { value: -value, hex }),
                (p, t) => Err(syntax(p, "a number after `-`", describe(&t))),
            },
            Tok::Attr(a) => Ok(Node::Attribute(AttributeRef::new(a))),
            Tok::LParen => {
                self.enter(pos)?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.next() {
                    (_, Tok::RParen) => Ok(inner),
                    (p, t) => Err(syntax(p, "`)`", describe(&t))),
                }
            }
            Tok::Ident(name) => {
                if self.peek().1 == Tok::LParen {
                    self.next();
                    self.enter(pos)?;
                    let (args, positions) = self.args()?;
                    self.depth -= 1;
                    check_call(pos, &name, args.len())?;
                    if name == "Replace"
                        && let Some(Some(Node::Str(pattern))) = args.get(2)
                        && !self.regexes.contains_key(pattern)
                    {
                        let at = positions.get(2).copied().unwrap_or(pos);
                        let re = build_regex(pattern).map_err(|e| {
                            syntax(
                                at,
                                "a supported regular expression in Replace argument 3 (regexPattern)",
                                format!("{pattern:?}: {}", e.to_string().replace('\n', " ")),
                            )
                        })?;
                        self.regexes.insert(pattern.clone(), re);
                    }
                    Ok(Node::Call { name, args })
                } else {
                    check_name(pos, &name)?;
                    Ok(Node::Name(name))
                }
            }
            t => Err(syntax(
                pos,
                "a function, an attribute, a string or a number",
                describe(&t),
            )),
        }
    }

    /// The arguments after `(`, through the closing `)`, with the position where each starts.
    fn args(&mut self) -> Result<(Vec<Option<Node>>, Vec<usize>)> {
        let mut args = Vec::new();
        let mut positions = Vec::new();
        if self.peek().1 == Tok::RParen {
            self.next();
            return Ok((args, positions));
        }
        loop {
            positions.push(self.peek().0);
            if matches!(self.peek().1, Tok::Comma | Tok::RParen) {
                args.push(None);
            } else {
                args.push(Some(self.expr()?));
            }
            match self.next() {
                (_, Tok::Comma) => continue,
                (_, Tok::RParen) => return Ok((args, positions)),
                (p, t) => return Err(syntax(p, "`,` or `)`", describe(&t))),
            }
        }
    }
}

/// The bare names the language knows.
pub(crate) const NAMES: [&str; 4] = ["vbBinaryCompare", "vbTextCompare", "True", "False"];

fn check_name(pos: usize, name: &str) -> Result<()> {
    if NAMES.contains(&name) {
        return Ok(());
    }
    if functions::arity(name).is_some() {
        return Err(syntax(
            pos + name.chars().count(),
            format!("`(` after {name}"),
            "no argument list",
        ));
    }
    Err(syntax(
        pos,
        "a function call `Name(…)`, `vbBinaryCompare`, `vbTextCompare`, `True` or `False`",
        format!("`{name}`"),
    ))
}

fn check_call(pos: usize, name: &str, count: usize) -> Result<()> {
    let Some(Arity { min, max, even }) = functions::arity(name) else {
        let hint = functions::NAMES
            .iter()
            .find(|f| f.eq_ignore_ascii_case(name))
            .map(|f| format!(" (names are case-sensitive: did you mean `{f}`?)"))
            .unwrap_or_default();
        return Err(syntax(
            pos,
            "a known function",
            format!("unknown function `{name}`{hint}"),
        ));
    };
    let ok = count >= min && max.is_none_or(|m| count <= m) && (!even || count.is_multiple_of(2));
    if ok {
        return Ok(());
    }
    let expected = match max {
        Some(m) if m == min => format!("{name} with {min} argument(s)"),
        Some(m) => format!("{name} with {min} to {m} arguments"),
        None if even => format!("{name} with an even number of arguments, at least {min}"),
        None => format!("{name} with at least {min} argument(s)"),
    };
    Err(syntax(pos, expected, format!("{count} argument(s)")))
}

/// Checks a syntax tree built in code as the parser checks text: nesting depth, known
/// functions and their argument counts, bare names. Positions in its errors are 0.
pub(crate) fn check_tree(node: &Node, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(syntax(
            0,
            format!("at most {MAX_DEPTH} levels of nesting"),
            "deeper nesting",
        ));
    }
    match node {
        Node::Call { name, args } => {
            check_call(0, name, args.len())?;
            if args.len() == 1 && args[0].is_none() {
                return Err(syntax(
                    0,
                    format!("{name}() or an argument"),
                    "one omitted argument",
                ));
            }
            for arg in args.iter().flatten() {
                check_tree(arg, depth + 1)?;
            }
        }
        Node::Name(name) => check_name(0, name)?,
        Node::Number {
            value: i64::MIN, ..
        } => {
            return Err(syntax(
                0,
                "a number above -9223372036854775808",
                "-9223372036854775808",
            ));
        }
        Node::Attribute(a) => {
            // It must print as one attribute token that reads back the same.
            let printed = format!("[{}]", a.text());
            let ok = matches!(lex(&printed).ok().as_deref(), Some([(_, Tok::Attr(t)), (_, Tok::End)]) if t == a.text());
            if !ok {
                return Err(syntax(0, "an attribute name", printed));
            }
        }
        Node::Concat(parts) => {
            if parts.len() < 2 {
                return Err(syntax(
                    0,
                    "two or more parts joined with `&`",
                    format!("{}", parts.len()),
                ));
            }
            for p in parts {
                check_tree(p, depth + 1)?;
            }
        }
        Node::Compare { left, right, .. } => {
            check_tree(left, depth + 1)?;
            check_tree(right, depth + 1)?;
        }
        _ => {}
    }
    Ok(())
}

/// Parses expression text into its syntax tree.
pub(crate) fn parse(text: &str) -> Result<(Node, BTreeMap<String, Regex>)> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return Err(syntax(
            MAX_LENGTH,
            format!("at most {MAX_LENGTH} characters"),
            format!("{length} characters"),
        ));
    }
    let toks = lex(text)?;
    let mut parser = Parser {
        toks,
        at: 0,
        depth: 0,
        regexes: BTreeMap::new(),
    };
    if parser.peek().1 == Tok::End {
        return Err(syntax(0, "an expression", "nothing"));
    }
    let node = parser.expr()?;
    match parser.next() {
        (_, Tok::End) => Ok((node, parser.regexes)),
        (p, t) => Err(syntax(p, "end of expression", describe(&t))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_hex_concat_and_comparisons() {
        let toks: Vec<Tok> = lex(r#"&HfF & "a" <> >= <= < > = -1"#)
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            toks,
            vec![
                Tok::Num(255, true),
                Tok::Amp,
                Tok::Str("a".into()),
                Tok::Cmp(CompareOp::Ne),
                Tok::Cmp(CompareOp::Ge),
                Tok::Cmp(CompareOp::Le),
                Tok::Cmp(CompareOp::Lt),
                Tok::Cmp(CompareOp::Gt),
                Tok::Cmp(CompareOp::Eq),
                Tok::Minus,
                Tok::Num(1, false),
                Tok::End,
            ]
        );
    }

    #[test]
    fn string_escapes_keep_other_backslashes() {
        let toks = lex(r#""a\"b\\c\d""#).unwrap();
        assert_eq!(toks[0].1, Tok::Str(r#"a"b\c\d"#.into()));
    }

    #[test]
    fn omitted_arguments_are_none() {
        let Node::Call { args, .. } = parse(r#"Replace([x], , "re", , "", , )"#).unwrap().0 else {
            panic!("not a call");
        };
        let given: Vec<bool> = args.iter().map(Option::is_some).collect();
        assert_eq!(given, vec![true, false, true, false, true, false, false]);
    }

    #[test]
    fn concat_binds_tighter_than_comparison() {
        let Node::Compare { left, .. } = parse(r#""t-" & [a] = "t-x""#).unwrap().0 else {
            panic!("not a comparison");
        };
        assert!(matches!(*left, Node::Concat(ref p) if p.len() == 2));
    }

    #[test]
    fn numbers_too_large_are_errors() {
        assert!(parse("Left(\"a\", 99999999999999999999)").is_err());
        assert!(parse("BitAnd(&HFFFFFFFFFFFFFFFFF, 1)").is_err());
    }
}
