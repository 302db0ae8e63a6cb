//! The syntax tree of a parsed expression.

use scim_model::AttributePath;

use crate::read::PathReader;

/// One node of an expression's syntax tree.
///
/// Parentheses are not kept: [`std::fmt::Display`] inserts them where precedence needs them,
/// so printing and parsing again gives the same tree.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Node {
    /// A string constant, unescaped (`"a\"b"` holds `a"b`).
    Str(String),
    /// An integer constant: decimal (`1000`, `-1`) or hexadecimal (`&HF`, kept for printing).
    Number {
        /// The value.
        value: i64,
        /// Written as `&H…`.
        hex: bool,
    },
    /// An attribute of the source object: `[userPrincipalName]`, `[urn:…:User:HireDate]`,
    /// `[manager.value]`.
    Attribute(AttributeRef),
    /// A bare name: the enum constants `vbBinaryCompare` and `vbTextCompare`, `True`, `False`.
    Name(String),
    /// A function call; an omitted argument (`Replace(x, , "re", , "", , )`) is `None`.
    Call {
        /// The function's name, as written (names are case-sensitive).
        name: String,
        /// The arguments in order.
        args: Vec<Option<Node>>,
    },
    /// `a & b & …`: string concatenation (two or more parts).
    Concat(Vec<Node>),
    /// A comparison `a = b`, `a <> b`, `a > b`, `a >= b`, `a < b`, `a <= b`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Node>,
        /// Right operand.
        right: Box<Node>,
    },
}

/// An attribute reference: the text between the brackets and, when it is a valid SCIM path,
/// the parsed path. Two references are equal when their texts are.
#[derive(Clone, Debug)]
pub struct AttributeRef {
    text: String,
    path: Option<AttributePath>,
    /// The path's reading steps, prepared once (see [`crate::read`]).
    reader: Option<PathReader>,
}

impl AttributeRef {
    /// A reference to the attribute written `text` (without the brackets).
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let path = AttributePath::parse(text.trim()).ok();
        let reader = path.as_ref().map(PathReader::new);
        Self { text, path, reader }
    }

    /// The text between the brackets.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed SCIM path, when the text is one; otherwise the text is read as one
    /// top-level key.
    pub fn path(&self) -> Option<&AttributePath> {
        self.path.as_ref()
    }

    /// The reader of [`AttributeRef::path`].
    pub(crate) fn reader(&self) -> Option<&PathReader> {
        self.reader.as_ref()
    }
}

impl PartialEq for AttributeRef {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// A comparison operator of an `IIF` condition (or any comparison).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}
