//! The filter and attribute-path parser: RFC 7644 §3.4.2.2 (Figure 1) and the PATCH `path` of
//! §3.5.2.
//!
//! A hand-written parser over the input's bytes, in one pass: no tokens are buffered, nothing
//! is re-scanned, and no string is rebuilt while parsing, so time is linear in the input. Two
//! guards keep hostile input harmless:
//!
//! - the input's length is checked against [`Limits::max_filter_len`] before anything else;
//! - every `(`, `not (` and `[` counts one level of nesting as it opens, and every `and`/`or`
//!   chain counts the depth of the tree it builds, both against [`Limits::max_depth`]; so
//!   `((((…` or `not(not(…` fail with [`Error::TooDeep`] after at most `max_depth` levels,
//!   and no tree deeper than `max_depth` is ever built (printing, evaluating and dropping a
//!   filter recurse over its tree).
//!
//! Parentheses and `not` are parsed with an explicit stack of open groups, not by recursion,
//! so the parser's own stack use does not depend on the nesting, whatever the limits; the one
//! recursion, into a value filter's brackets, is one level deep because value filters do not
//! nest.
//!
//! # Grammar accepted
//!
//! ```text
//! FILTER    = orExp
//! orExp     = andExp *(WS "or" WS andExp)        ; chains nest left-to-right
//! andExp    = unary *(WS "and" WS unary)
//! unary     = "not" *WS "(" orExp ")"            ; `not(` and `not (` both accepted
//!           / "(" orExp ")"
//!           / attrPath "[" valFilter "]"          ; Filter::ValuePath
//!           / attrPath "[" valFilter "]" "." ATTRNAME WS ("pr" / compareOp WS compValue)
//!                                                ; Entra's extension, see below
//!           / attrPath WS "pr"
//!           / attrPath WS compareOp WS compValue
//! valFilter = orExp without value paths          ; RFC: value filters do not nest
//! attrPath  = [URN ":"] ATTRNAME ["." ATTRNAME]
//! ATTRNAME  = ALPHA *(ALPHA / DIGIT / "-" / "_") / "$ref"
//! compValue = "false" / "null" / "true" / JSON number / JSON string
//! PATH      = attrPath / attrPath "[" valFilter "]" ["." ATTRNAME]     ; parse_path
//! ```
//!
//! Choices where the RFC is silent or peers disagree (each one is tested):
//!
//! - **Keywords** (`and`, `or`, `not`, `pr` and the comparison operators) are read
//!   case-insensitively, as the RFC requires; **`true`, `false` and `null` must be lower-case**,
//!   because `compValue` takes them from JSON (RFC 7159), as UnboundID (Jackson) does. `True`
//!   gets an error that says so.
//! - **Whitespace**: any run of spaces and tabs is accepted where the RFC has one `SP`, and
//!   around the whole filter. Whitespace is required only where it separates two words
//!   (`title pr`), not next to punctuation (`not(`, `(a pr)and(b pr)`, `eq"x"`). Line breaks
//!   are not whitespace here.
//! - **Reserved words**: where a term may start, `not`, `and` and `or` are keywords, so no
//!   attribute can be called that (none in RFC 7643 is). `true`, `null`, `pr` or `eq` are fine
//!   as attribute names (`null eq null` compares an attribute called `null`).
//! - **Unquoted values** (`externalId eq jyoung`, Microsoft's documentation example) are
//!   rejected, as the RFC grammar says: a bare word is not a JSON value. The error names the
//!   word and says to quote it.
//! - **Raw control characters in strings** (a literal line break inside `"…"`, which SCIMple
//!   keeps) are rejected, as JSON (RFC 8259 §7) requires: write `\n`.
//! - **Value paths do not nest** (`emails[x[y pr]]` is an error, per the RFC), and a value
//!   filter applies to a top-level attribute only (`name.givenName[...]` is an error): RFC 7643
//!   §2.3.8 forbids complex sub-attributes, so a sub-attribute is never multi-valued complex.
//! - **Entra's `emails[type eq "work"].value eq "x"`** (a value path followed by a
//!   sub-attribute and a comparison, outside the RFC grammar but sent by Microsoft Entra to
//!   check uniqueness) parses to [`Filter::Compare`] (or [`Filter::Present`] with `pr`) whose
//!   path carries the filter and the sub-attribute: "some email of type work has that value".
//! - **URN-qualified paths**: a path word starting with `urn:` (any case) is split at its last
//!   `:`; what precedes is the schema URN (at least `urn:NID`), what follows the attribute
//!   name and optional sub-attribute. So a bare extension URN such as
//!   `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` parses as URN
//!   `urn:ietf:params:scim:schemas:extension:enterprise:2.0` and name `User`; resolving a path
//!   maps that back to the extension block. A `:` in a path that does not start with `urn:` is
//!   an error.
//! - **PATCH paths** are exactly `attrPath` or `valuePath ["." subAttr]`, with no surrounding
//!   whitespace: the empty path, `urn:x:` (a schema root), several filters, and a filter
//!   followed by `and …` (which SCIMple accepts) are all errors.

use std::fmt;

use crate::error::excerpt;
use crate::filter::{CompValue, CompareOp};
use crate::{AttributePath, Error, Filter, Limits, Result};

/// Parses a filter (RFC 7644 §3.4.2.2).
pub(crate) fn parse_filter(input: &str, limits: &Limits) -> Result<Filter> {
    if input.len() > limits.max_filter_len {
        return Err(Error::TooLong {
            what: "filter",
            len: input.len(),
            max: limits.max_filter_len,
        });
    }
    let mut p = Parser::new(input, limits, Kind::Filter);
    p.skip_ws();
    if p.at_end() {
        return Err(p.error(p.pos, "the filter is empty".to_owned()));
    }
    let (filter, _) = p.parse_expr(false)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(filter),
        Some(b')') => Err(p.error(p.pos, "unbalanced ')': there is no '(' to close".to_owned())),
        Some(b']') => Err(p.error(p.pos, "unbalanced ']': there is no '[' to close".to_owned())),
        Some(_) => Err(p.error(
            p.pos,
            format!(
                "expected 'and', 'or' or the end of the filter, found {}",
                p.describe(p.pos)
            ),
        )),
    }
}

/// Parses an attribute path or a PATCH path (RFC 7644 §3.5.2 `PATH`).
pub(crate) fn parse_path(input: &str, limits: &Limits) -> Result<AttributePath> {
    if input.len() > limits.max_filter_len {
        return Err(Error::TooLong {
            what: "path",
            len: input.len(),
            max: limits.max_filter_len,
        });
    }
    let mut p = Parser::new(input, limits, Kind::Path);
    if p.at_end() {
        return Err(p.error(0, "the path is empty".to_owned()));
    }
    let start = p.pos;
    let end = p.scan_path_word();
    if end == start {
        return Err(p.error(
            start,
            format!("expected an attribute name, found {}", p.describe(start)),
        ));
    }
    let mut path = p.attr_path(start, end)?;
    p.pos = end;
    if p.peek() == Some(b'[') {
        let (filter, _) = p.parse_bracket_filter(&path, start)?;
        path.filter = Some(Box::new(filter));
        if p.peek() == Some(b'.') {
            path.sub_attribute = Some(p.parse_sub_after_bracket()?);
        }
    }
    match p.peek() {
        None => Ok(path),
        Some(b'[') => Err(p.error(
            p.pos,
            "a path has at most one value filter: expected the end of the path, found '['"
                .to_owned(),
        )),
        Some(_) => Err(p.error(
            p.pos,
            format!(
                "expected the end of the path after '{}', found {}",
                p.slice(start, p.pos),
                p.describe(p.pos)
            ),
        )),
    }
}

/// Which kind of input is being parsed: decides the error variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Filter,
    Path,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Filter => "filter",
            Kind::Path => "path",
        }
    }
}

/// The parser's state: the input and a byte cursor that only moves forward.
///
/// The cursor is always on a char boundary: it moves over ASCII bytes one at a time, and over
/// strings and bare words only up to an ASCII delimiter.
struct Parser<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    kind: Kind,
    /// How many `(`, `not (` and `[` enclose the cursor.
    nesting: usize,
}

/// What opened a group of [`Parser::parse_expr`]: the start, `(` or `not (` (with the
/// position of the `(`).
#[derive(Clone, Copy, Debug)]
enum Open {
    Top,
    Paren(usize),
    Not(usize),
}

/// A group being parsed: the `or` chain so far and the `and` chain being built.
struct Group {
    open: Open,
    or_chain: Option<Parsed>,
    and_chain: Option<Parsed>,
}

impl Group {
    fn new(open: Open) -> Self {
        Group {
            open,
            or_chain: None,
            and_chain: None,
        }
    }
}

/// A parsed filter with the depth of its tree (a comparison is 0, each `and`, `or`, `not` and
/// value path above it adds 1).
type Parsed = (Filter, usize);

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Bytes a path word is made of: attribute names, `.`, the `:` of URNs and the `$` of `$ref`.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'$')
}

/// Bytes an attribute name is made of (ATTRNAME, plus `$` for `$ref`).
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$')
}

/// Bytes that end a bare word (an unquoted value).
fn is_delimiter(b: u8) -> bool {
    is_ws(b) || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

/// Checks an ATTRNAME: `ALPHA *(ALPHA / DIGIT / "-" / "_")`, or `$ref`.
fn attr_name_error(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("expected an attribute name");
    }
    if name.eq_ignore_ascii_case("$ref") {
        return None;
    }
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() => {}
        _ => return Some("an attribute name must start with a letter (or be '$ref')"),
    }
    if bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        None
    } else {
        Some("an attribute name may hold only letters, digits, '-' and '_'")
    }
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, limits: &'a Limits, kind: Kind) -> Self {
        Parser {
            input,
            bytes: input.as_bytes(),
            pos: 0,
            limits,
            kind,
            nesting: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// The input between two byte offsets, or "" if they are not char boundaries (never the
    /// case by construction; this keeps a mistake from becoming a panic).
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.input.get(start..end).unwrap_or("")
    }

    /// The end of the path word starting at the cursor (the cursor does not move).
    fn scan_path_word(&self) -> usize {
        let mut end = self.pos;
        while self.bytes.get(end).copied().is_some_and(is_path_byte) {
            end += 1;
        }
        end
    }

    /// The path word at the cursor, if it equals `keyword` (ASCII case-insensitively).
    fn keyword_end(&self, keyword: &str) -> Option<usize> {
        let end = self.scan_path_word();
        self.slice(self.pos, end)
            .eq_ignore_ascii_case(keyword)
            .then_some(end)
    }

    /// What is at `pos`, for an error message: `'word'`, `'c'` or `end of input`.
    fn describe(&self, pos: usize) -> String {
        const MAX: usize = 40;
        let Some(rest) = self.input.get(pos..) else {
            return "end of input".to_owned();
        };
        let Some(c) = rest.chars().next() else {
            return "end of input".to_owned();
        };
        if c.is_ascii() && is_path_byte(c as u8) {
            let word_len = rest.bytes().take_while(|b| is_path_byte(*b)).count();
            // Path bytes are ASCII, so any cut is on a char boundary.
            let word = rest.get(..word_len.min(MAX)).unwrap_or("");
            let more = if word_len > MAX { "…" } else { "" };
            format!("'{word}{more}'")
        } else {
            format!("{c:?}")
        }
    }

    #[cold]
    #[inline(never)]
    fn error(&self, position: usize, message: String) -> Error {
        let input = excerpt(self.input);
        match self.kind {
            Kind::Filter => Error::InvalidFilter {
                input,
                position,
                message,
            },
            Kind::Path => Error::InvalidPath {
                input,
                position,
                message,
            },
        }
    }

    /// "`what`, found …" at `pos`.
    #[cold]
    #[inline(never)]
    fn expected(&self, pos: usize, what: fmt::Arguments<'_>) -> Error {
        self.error(pos, format!("{what}, found {}", self.describe(pos)))
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self) -> Error {
        Error::TooDeep {
            what: self.kind.what(),
            max: self.limits.max_depth,
        }
    }

    /// Counts one more level of nesting, before recursing into it.
    fn enter(&mut self) -> Result<()> {
        self.nesting += 1;
        if self.nesting > self.limits.max_depth {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// Checks the depth of a tree about to be built.
    fn check_depth(&self, depth: usize) -> Result<usize> {
        if depth > self.limits.max_depth {
            return Err(self.too_deep());
        }
        Ok(depth)
    }

    /// `orExp`: a whole filter, or the inside of a value filter's brackets.
    ///
    /// Parentheses and `not (…)` are handled with an explicit stack of open groups, not by
    /// recursion, so the machine stack this needs does not grow with the nesting (which
    /// [`Parser::enter`] still bounds, so that no tree deeper than the limit is built). The
    /// only recursion is into a value filter's brackets, which cannot nest.
    ///
    /// Each group keeps the `and` chain being built and the `or` chain of finished `and`
    /// chains: `and` binds tighter than `or`, and both nest left-to-right.
    fn parse_expr(&mut self, in_brackets: bool) -> Result<Parsed> {
        let mut top = Group::new(Open::Top);
        let mut groups: Vec<Group> = Vec::new();
        loop {
            // Expect an operand: open groups until a term is found.
            self.skip_ws();
            let mut operand = match self.peek() {
                Some(b'(') => {
                    self.enter()?;
                    groups.push(Group::new(Open::Paren(self.pos)));
                    self.pos += 1;
                    continue;
                }
                Some(b) if is_path_byte(b) => {
                    let end = self.scan_path_word();
                    if self.slice(self.pos, end).eq_ignore_ascii_case("not") {
                        self.pos = end;
                        self.skip_ws();
                        if self.peek() != Some(b'(') {
                            return Err(self.expected(
                                self.pos,
                                format_args!("expected '(' after 'not' (write not (filter))"),
                            ));
                        }
                        self.enter()?;
                        groups.push(Group::new(Open::Not(self.pos)));
                        self.pos += 1;
                        continue;
                    }
                    self.parse_attr_term(end, in_brackets)?
                }
                _ => return Err(self.unary_error()),
            };
            // An operand is complete: fold it into the innermost group, then see what follows.
            loop {
                let group = match groups.last_mut() {
                    Some(group) => group,
                    None => &mut top,
                };
                let chain = self.fold(group.and_chain.take(), operand, Filter::And)?;
                let before = self.pos;
                self.skip_ws();
                if let Some(end) = self.keyword_end("and") {
                    self.pos = end;
                    group.and_chain = Some(chain);
                    break;
                }
                let alternatives = self.fold(group.or_chain.take(), chain, Filter::Or)?;
                if let Some(end) = self.keyword_end("or") {
                    self.pos = end;
                    group.or_chain = Some(alternatives);
                    break;
                }
                // Nothing continues the group: close it.
                let Some(closed) = groups.pop() else {
                    self.pos = before;
                    return Ok(alternatives);
                };
                let (Open::Paren(open) | Open::Not(open)) = closed.open else {
                    // Only the top group is `Open::Top`, and it is never on the stack.
                    return Err(self.error(self.pos, "unbalanced group".to_owned()));
                };
                if self.peek() != Some(b')') {
                    return Err(self.expected(
                        self.pos,
                        format_args!("expected ')' to close the '(' at position {open}"),
                    ));
                }
                self.pos += 1;
                self.leave();
                operand = match closed.open {
                    Open::Not(_) => {
                        let (inner, depth) = alternatives;
                        let depth = self.check_depth(depth + 1)?;
                        (Filter::Not(Box::new(inner)), depth)
                    }
                    _ => alternatives,
                };
            }
        }
    }

    /// `acc op next`, or `next` when there is no `acc` yet; checks the new tree's depth.
    fn fold(
        &self,
        acc: Option<Parsed>,
        next: Parsed,
        op: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Parsed> {
        let Some((acc, acc_depth)) = acc else {
            return Ok(next);
        };
        let depth = self.check_depth(acc_depth.max(next.1) + 1)?;
        Ok((op(Box::new(acc), Box::new(next.0)), depth))
    }

    /// Why a filter cannot start at the cursor.
    #[cold]
    #[inline(never)]
    fn unary_error(&self) -> Error {
        let start = self.pos;
        let message = match self.peek() {
            None => "expected an attribute path, '(' or 'not', found end of input".to_owned(),
            Some(b')') => "expected an attribute path, '(' or 'not', found ')' (empty \
                           parentheses?)"
                .to_owned(),
            Some(b']') => {
                "expected an attribute path, '(' or 'not', found ']' (empty brackets?)".to_owned()
            }
            Some(b'[') => "expected an attribute path before '[': a value filter follows an \
                           attribute name, as in emails[type eq \"work\"]"
                .to_owned(),
            Some(_) => format!(
                "expected an attribute path, '(' or 'not', found {}",
                self.describe(start)
            ),
        };
        self.error(start, message)
    }

    /// An attribute expression or a value path, with the cursor on the path word that ends at
    /// `end`. Recurses only into a value filter, which cannot nest.
    #[inline(never)]
    fn parse_attr_term(&mut self, end: usize, in_brackets: bool) -> Result<Parsed> {
        let start = self.pos;
        let word = self.slice(start, end);
        if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") {
            return Err(self.error(
                start,
                format!("expected a filter (an attribute path, '(' or 'not'), found '{word}'"),
            ));
        }
        let mut path = self.attr_path(start, end)?;
        self.pos = end;
        if self.peek() != Some(b'[') {
            return self.parse_attr_exp(path, start, 0);
        }
        if in_brackets {
            return Err(self.error(
                self.pos,
                format!(
                    "value filters cannot be nested: '{}' is inside another value filter \
                     (RFC 7644 §3.4.2.2)",
                    self.slice(start, end)
                ),
            ));
        }
        let (filter, depth) = self.parse_bracket_filter(&path, start)?;
        let depth = self.check_depth(depth + 1)?;
        if self.peek() == Some(b'.') {
            // Entra's `emails[type eq "work"].value eq "x"`.
            path.sub_attribute = Some(self.parse_sub_after_bracket()?);
            path.filter = Some(Box::new(filter));
            return self.parse_attr_exp(path, start, depth);
        }
        Ok((
            Filter::ValuePath {
                path,
                filter: Box::new(filter),
            },
            depth,
        ))
    }

    /// `"[" valFilter "]"`, with the cursor on the `[` after `path` (which started at `start`).
    fn parse_bracket_filter(&mut self, path: &AttributePath, start: usize) -> Result<Parsed> {
        let open = self.pos;
        if path.sub_attribute.is_some() {
            return Err(self.error(
                open,
                format!(
                    "a value filter applies to a top-level attribute, not to the \
                     sub-attribute '{}' (write name[filter].sub)",
                    self.slice(start, open)
                ),
            ));
        }
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        let parsed = self.parse_expr(true)?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.error(
                self.pos,
                format!(
                    "expected ']' to close the '[' at position {open}, found {}",
                    self.describe(self.pos)
                ),
            ));
        }
        self.pos += 1;
        self.leave();
        Ok(parsed)
    }

    /// `"." ATTRNAME` after a `]`, with the cursor on the `.`.
    fn parse_sub_after_bracket(&mut self) -> Result<String> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(is_name_byte) {
            self.pos += 1;
        }
        let name = self.slice(start, self.pos);
        if let Some(problem) = attr_name_error(name) {
            return Err(self.error(
                start,
                format!(
                    "{problem} after '.', found {}",
                    if name.is_empty() {
                        self.describe(start)
                    } else {
                        format!("'{name}'")
                    }
                ),
            ));
        }
        Ok(name.to_owned())
    }

    /// `attrPath WS ("pr" / compareOp WS compValue)`, with the cursor after the path.
    fn parse_attr_exp(
        &mut self,
        path: AttributePath,
        start: usize,
        depth: usize,
    ) -> Result<Parsed> {
        let path_text = self.slice(start, self.pos);
        let expected = || {
            format!(
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after \
                 attribute path '{path_text}'"
            )
        };
        if !self.peek().is_some_and(is_ws) {
            return Err(self.error(
                self.pos,
                format!("{}, found {}", expected(), self.describe(self.pos)),
            ));
        }
        self.skip_ws();
        let op_start = self.pos;
        let op_end = self.scan_path_word();
        let op_text = self.slice(op_start, op_end);
        if op_text.eq_ignore_ascii_case("pr") {
            self.pos = op_end;
            return Ok((Filter::Present(path), depth));
        }
        let Some(op) = CompareOp::from_name(op_text) else {
            return Err(self.error(
                op_start,
                format!("{}, found {}", expected(), self.describe(op_start)),
            ));
        };
        self.pos = op_end;
        self.skip_ws();
        let value = self.parse_value(op)?;
        Ok((Filter::Compare { path, op, value }, depth))
    }

    /// `compValue`: a JSON literal.
    fn parse_value(&mut self, op: CompareOp) -> Result<CompValue> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.error(
                start,
                format!(
                    "expected a value after '{op}' (a quoted string, a number, true, false or \
                     null), found end of input"
                ),
            )),
            Some(b'"') => self.parse_string(),
            Some(b) if b == b'-' || b.is_ascii_digit() => self.parse_number(),
            Some(b'\'') => Err(self.error(
                start,
                "strings must be in double quotes (JSON), found a single quote".to_owned(),
            )),
            Some(b) if is_delimiter(b) => Err(self.error(
                start,
                format!(
                    "expected a value after '{op}' (a quoted string, a number, true, false or \
                     null), found {}",
                    self.describe(start)
                ),
            )),
            Some(_) => {
                let mut end = start;
                while self.bytes.get(end).is_some_and(|b| !is_delimiter(*b)) {
                    end += 1;
                }
                // `end` stops at an ASCII delimiter or the end: a char boundary.
                let word = self.slice(start, end);
                let value = match word {
                    "true" => CompValue::Bool(true),
                    "false" => CompValue::Bool(false),
                    "null" => CompValue::Null,
                    _ => return Err(self.bare_word_error(start, word)),
                };
                self.pos = end;
                Ok(value)
            }
        }
    }

    fn bare_word_error(&self, start: usize, word: &str) -> Error {
        let shown = excerpt_short(word);
        if ["true", "false", "null"]
            .iter()
            .any(|lit| lit.eq_ignore_ascii_case(word))
        {
            return self.error(
                start,
                format!(
                    "'{shown}' is not a JSON literal: write '{}' in lower case",
                    word.to_ascii_lowercase()
                ),
            );
        }
        self.error(
            start,
            format!(
                "expected a value (a quoted string, a number, true, false or null), found the \
                 unquoted word '{shown}': strings must be in double quotes, as in \"{shown}\""
            ),
        )
    }

    /// A JSON string, with the cursor on its opening quote.
    fn parse_string(&mut self) -> Result<CompValue> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.bytes.get(i) {
                None => {
                    return Err(self.error(
                        start,
                        "unterminated string: expected a closing '\"'".to_owned(),
                    ));
                }
                Some(b'"') => break,
                // An escape: the next byte cannot close the string. (A multi-byte char after
                // the backslash is an invalid escape, which serde_json reports below.)
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        let end = i + 1;
        let literal = self.slice(start, end);
        match serde_json::from_str::<String>(literal) {
            Ok(s) => {
                self.pos = end;
                Ok(CompValue::String(s))
            }
            Err(e) => Err(self.error(
                start + e.column().saturating_sub(1).min(literal.len()),
                format!("invalid JSON string: {}", json_message(&e)),
            )),
        }
    }

    /// A JSON number, with the cursor on its first byte (`-` or a digit).
    fn parse_number(&mut self) -> Result<CompValue> {
        let start = self.pos;
        let mut end = start;
        while self
            .bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            end += 1;
        }
        if let Some(b) = self.bytes.get(end).copied()
            && !is_delimiter(b)
        {
            return Err(self.error(
                end,
                format!(
                    "expected a space, ')' or ']' after the number '{}', found {}",
                    self.slice(start, end),
                    self.describe(end)
                ),
            ));
        }
        let literal = self.slice(start, end);
        match serde_json::from_str::<serde_json::Value>(literal) {
            Ok(serde_json::Value::Number(n)) => {
                self.pos = end;
                Ok(CompValue::Number(n))
            }
            Ok(_) => Err(self.error(start, format!("invalid number '{literal}'"))),
            Err(e) => Err(self.error(
                start,
                format!("invalid number '{literal}': {}", json_message(&e)),
            )),
        }
    }

    /// Splits the path word `input[start..end]` into URN, name and sub-attribute.
    fn attr_path(&self, start: usize, end: usize) -> Result<AttributePath> {
        let word = self.slice(start, end);
        let (urn, rest, rest_start) = if word.len() >= 4
            && word
                .get(..4)
                .is_some_and(|w| w.eq_ignore_ascii_case("urn:"))
        {
            // The URN is everything up to the last ':' (there is one, at index 3 or later).
            let colon = word.rfind(':').unwrap_or(3);
            let urn = word.get(..colon).unwrap_or("");
            self.check_urn(urn, start)?;
            (
                Some(urn),
                word.get(colon + 1..).unwrap_or(""),
                start + colon + 1,
            )
        } else {
            if let Some(colon) = word.find(':') {
                return Err(self.error(
                    start + colon,
                    format!(
                        "unexpected ':' in '{}': only a schema URN (starting with 'urn:') may \
                         qualify an attribute name",
                        excerpt_short(word)
                    ),
                ));
            }
            (None, word, start)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        if let Some(problem) = attr_name_error(name) {
            let what = if urn.is_some() && name.is_empty() {
                "expected an attribute name after the schema URN".to_owned()
            } else if name.is_empty() {
                "expected an attribute name before '.'".to_owned()
            } else {
                format!("{problem}, found '{}'", excerpt_short(name))
            };
            return Err(self.error(rest_start, what));
        }
        let sub_start = rest_start + name.len() + 1;
        if let Some(sub) = sub {
            if let Some(dot) = sub.find('.') {
                return Err(self.error(
                    sub_start + dot,
                    format!(
                        "an attribute path has at most one sub-attribute: '{}' has more",
                        excerpt_short(word)
                    ),
                ));
            }
            if let Some(problem) = attr_name_error(sub) {
                let what = if sub.is_empty() {
                    "expected a sub-attribute name after '.'".to_owned()
                } else {
                    format!("{problem}, found '{}'", excerpt_short(sub))
                };
                return Err(self.error(sub_start, what));
            }
        }
        Ok(AttributePath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            filter: None,
            sub_attribute: sub.map(str::to_owned),
        })
    }

    /// Checks a schema URN: `urn:NID[:NSS…]`, segments non-empty, no `$`.
    fn check_urn(&self, urn: &str, start: usize) -> Result<()> {
        let mut offset = 0;
        for (i, segment) in urn.split(':').enumerate() {
            if segment.is_empty() {
                return Err(self.error(
                    start + offset,
                    format!("empty segment in the schema URN '{}'", excerpt_short(urn)),
                ));
            }
            if let Some(bad) = segment.find('$') {
                return Err(self.error(
                    start + offset + bad,
                    format!("unexpected '$' in the schema URN '{}'", excerpt_short(urn)),
                ));
            }
            if i == 0 && urn.len() == segment.len() {
                return Err(self.error(
                    start,
                    "expected a schema URN ('urn:' namespace ':' …) before the attribute name"
                        .to_owned(),
                ));
            }
            offset += segment.len() + 1;
        }
        Ok(())
    }
}

/// Cuts a word for an error message to 40 characters, on a char boundary.
fn excerpt_short(word: &str) -> String {
    const MAX: usize = 40;
    match word.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", word.get(..cut).unwrap_or("")),
        None => word.to_owned(),
    }
}

/// serde_json's message without its " at line 1 column N" suffix (we report our own position).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Filter> {
        parse_filter(s, &Limits::DEFAULT)
    }

    fn path(s: &str) -> Result<AttributePath> {
        parse_path(s, &Limits::DEFAULT)
    }

    fn position(e: &Error) -> usize {
        match e {
            Error::InvalidFilter { position, .. } | Error::InvalidPath { position, .. } => {
                *position
            }
            other => panic!("not a parse error: {other:?}"),
        }
    }

    fn message(e: &Error) -> &str {
        match e {
            Error::InvalidFilter { message, .. } | Error::InvalidPath { message, .. } => message,
            other => panic!("not a parse error: {other:?}"),
        }
    }

    #[test]
    fn keywords_are_whole_words() {
        // `order` starts with `or`, `android` with `and`, `notes` with `not`, `price` with
        // `pr`: none of them is a keyword.
        let f = parse("order pr and android pr or notes eq \"x\" and price pr").unwrap();
        assert_eq!(
            f.to_string(),
            "order pr and android pr or notes eq \"x\" and price pr"
        );
        assert!(parse("a pr andx b pr").is_err());
        assert!(parse("a prx").is_err());
    }

    #[test]
    fn whitespace_runs_tabs_and_punctuation() {
        let a = parse("\t a \t eq  \"x\"\tand ( b pr ) ").unwrap();
        let b = parse("a eq \"x\" and (b pr)").unwrap();
        assert_eq!(a, b);
        // Whitespace is needed only between two words.
        assert_eq!(parse("(a eq\"x\")and(b pr)").unwrap(), b);
        assert_eq!(parse("not(a pr)").unwrap(), parse("not (a pr)").unwrap());
        // Line breaks are not whitespace.
        assert!(parse("a pr\nand b pr").is_err());
        // A path and its operator must be apart.
        assert!(parse("a\"x\"").is_err());
    }

    #[test]
    fn string_escapes_and_quotes_inside_strings() {
        let f = parse(r#"a eq "x\"y) and b pr \\" and c pr"#).unwrap();
        let Filter::And(left, _) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(
            **left,
            Filter::Compare {
                path: AttributePath::new("a"),
                op: CompareOp::Eq,
                value: CompValue::String("x\"y) and b pr \\".to_owned()),
            }
        );
        // Unicode escapes and raw non-ASCII text.
        let f = parse(r#"a eq "\u00e9é\ud83d\ude00""#).unwrap();
        let Filter::Compare { value, .. } = f else {
            panic!()
        };
        assert_eq!(value, CompValue::String("éé😀".to_owned()));
    }

    #[test]
    fn bad_strings_report_where() {
        let e = parse(r#"userName eq "a\qb""#).unwrap_err();
        assert!(message(&e).contains("invalid JSON string"), "{e}");
        assert!((12..=16).contains(&position(&e)), "{e}");
        let e = parse("userName eq \"abc").unwrap_err();
        assert_eq!(position(&e), 12);
        assert!(message(&e).contains("unterminated"));
        // A backslash before a multi-byte char, then the end: no panic, an error.
        assert!(parse("a eq \"\\é").is_err());
        assert!(parse("a eq \"\\é\"").is_err());
        assert!(parse("a eq \"\\").is_err());
    }

    #[test]
    fn numbers_are_json_numbers() {
        for (text, json) in [
            ("0", "0"),
            ("-510", "-510"),
            ("25.52", "25.52"),
            ("-5.1e-2", "-0.051"),
            ("1E3", "1000.0"),
        ] {
            let f = parse(&format!("a eq {text}")).unwrap();
            let Filter::Compare {
                value: CompValue::Number(n),
                ..
            } = f
            else {
                panic!()
            };
            let expected: serde_json::Number = serde_json::from_str(json).unwrap();
            assert_eq!(n, expected, "{text}");
        }
        for bad in ["01", "1.", ".5", "-", "1e", "1-2", "+1", "1x", "1e999"] {
            assert!(parse(&format!("a eq {bad}")).is_err(), "{bad}");
        }
        // A number is followed by a delimiter.
        assert!(parse("(a eq 1)").is_ok());
        assert!(parse("e[a eq 1]").is_ok());
        assert!(parse("a eq 1and b pr").is_err());
    }

    #[test]
    fn literals_are_lower_case_json() {
        assert!(parse("a eq true and b eq false or c eq null").is_ok());
        assert!(parse("(a eq true)").is_ok());
        let e = parse("a eq True").unwrap_err();
        assert!(message(&e).contains("write 'true' in lower case"), "{e}");
        let e = parse("a eq trueish").unwrap_err();
        assert!(message(&e).contains("unquoted word 'trueish'"), "{e}");
    }

    #[test]
    fn urn_split_at_last_colon() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .unwrap();
        assert_eq!(
            p.urn(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(p.name(), "manager");
        assert_eq!(p.sub_attribute(), Some("value"));
        let p = path("URN:contoso:employee:HireDate").unwrap();
        assert_eq!(p.urn(), Some("URN:contoso:employee"));
        assert_eq!(p.name(), "HireDate");
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
        assert_eq!(
            p.urn(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
        );
        assert_eq!(p.name(), "User");
        for bad in [
            "urn:attr",
            "urn::x:attr",
            "urn:x:",
            "foo:bar",
            "urn:x$:a",
            "urn:x:2a",
        ] {
            assert!(path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ref_is_the_only_dollar_name() {
        assert_eq!(path("members.$ref").unwrap().sub_attribute(), Some("$ref"));
        assert_eq!(path("$ref").unwrap().name(), "$ref");
        assert!(path("members.$id").is_err());
        assert!(path("a$b").is_err());
    }

    #[test]
    fn errors_name_what_was_expected() {
        let e = parse("userName foo \"x\"").unwrap_err();
        assert_eq!(
            message(&e),
            "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after attribute \
             path 'userName', found 'foo'"
        );
        assert_eq!(position(&e), 9);
        let e = parse("a pr and").unwrap_err();
        assert_eq!(position(&e), 8);
        let e = parse("(a pr").unwrap_err();
        assert!(
            message(&e).contains("expected ')' to close the '(' at position 0"),
            "{e}"
        );
    }

    #[test]
    fn non_ascii_never_splits_a_char() {
        for s in [
            "é",
            "aé pr",
            "a é",
            "a eq é",
            "a eq 1é",
            "(é",
            "a[é",
            "a pr é",
            "a pr and é",
            "urn:é:a pr",
            "a.é pr",
            "a[b pr].é eq 1",
            "not é",
            "😀😀😀",
        ] {
            let e = parse(s).unwrap_err();
            let pos = position(&e);
            assert!(s.is_char_boundary(pos), "{s}: {pos}");
            let _ = e.to_string();
            let _ = path(s);
        }
    }

    #[test]
    fn depth_is_checked_before_recursing() {
        let limits = Limits::DEFAULT.with_max_depth(3);
        assert!(parse_filter("(((a pr)))", &limits).is_ok());
        assert!(matches!(
            parse_filter("((((a pr))))", &limits),
            Err(Error::TooDeep {
                what: "filter",
                max: 3
            })
        ));
        assert!(parse_filter("not(not(not(a pr)))", &limits).is_ok());
        assert!(parse_filter("not(not(not(not(a pr))))", &limits).is_err());
        // Chains count the depth of the tree they build.
        assert!(parse_filter("a pr or b pr or c pr or d pr", &limits).is_ok());
        assert!(parse_filter("a pr or b pr or c pr or d pr or e pr", &limits).is_err());
        assert!(parse_filter("x[a pr or b pr] and c pr", &limits).is_ok());
        assert!(parse_filter("x[a pr or b pr or c pr] and d pr", &limits).is_err());
        assert!(matches!(
            parse_path("x[((a pr))]", &limits.with_max_depth(2)),
            Err(Error::TooDeep { what: "path", .. })
        ));
    }

    #[test]
    fn length_is_checked_first() {
        let limits = Limits::DEFAULT.with_max_filter_len(8);
        assert!(parse_filter("a eq \"x\"", &limits).is_ok());
        assert!(matches!(
            parse_filter("a eq \"xy\"", &limits),
            Err(Error::TooLong {
                what: "filter",
                len: 9,
                max: 8
            })
        ));
        assert!(matches!(
            parse_path("abcdefghi", &limits),
            Err(Error::TooLong { what: "path", .. })
        ));
    }

    #[test]
    fn entra_sub_attribute_after_value_filter() {
        let f = parse(r#"emails[type eq "work"].value eq "x""#).unwrap();
        let Filter::Compare { path, op, .. } = &f else {
            panic!("{f:?}")
        };
        assert_eq!(*op, CompareOp::Eq);
        assert_eq!(path.name(), "emails");
        assert_eq!(path.sub_attribute(), Some("value"));
        assert!(path.filter().is_some());
        let f = parse(r#"emails[type eq "work"].value pr"#).unwrap();
        assert!(matches!(f, Filter::Present(_)));
        // Without a sub-attribute, a comparison cannot follow the brackets.
        assert!(parse(r#"emails[type eq "work"] eq "x""#).is_err());
        assert!(parse(r#"emails[type eq "work"]."#).is_err());
        assert!(parse(r#"emails[type eq "work"].value"#).is_err());
    }

    #[test]
    fn value_filters_do_not_nest_or_follow_sub_attributes() {
        let e = parse(r#"a[b[c pr]]"#).unwrap_err();
        assert!(message(&e).contains("cannot be nested"), "{e}");
        assert!(parse(r#"a[(b[c pr])]"#).is_err());
        assert!(parse(r#"a[not (b[c pr])]"#).is_err());
        let e = parse(r#"name.givenName[c pr]"#).unwrap_err();
        assert!(message(&e).contains("top-level attribute"), "{e}");
        assert!(path(r#"name.givenName[c pr]"#).is_err());
    }
}
