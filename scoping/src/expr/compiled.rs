//! The evaluated form of an expression: the syntax tree with every function name resolved to a
//! [`Func`], every bare name to its constant value and every constant regex pattern of
//! `Replace` to its compiled regex, once, when the expression is built. Evaluation never looks
//! a name up.

use std::collections::BTreeMap;

use regex::Regex;

use super::ast::{AttributeRef, CompareOp, Node};
use super::value::ExprValue;
use crate::error::Result;

macro_rules! functions {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A function of the expression language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Func {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Func {
            /// Every function.
            #[cfg(test)]
            pub(crate) const ALL: &[Func] = &[$(Func::$variant),*];

            /// The function written `name` (case-sensitive, as in Entra).
            pub(crate) fn from_name(name: &str) -> Option<Func> {
                match name {
                    $($name => Some(Func::$variant),)*
                    _ => None,
                }
            }

            /// The function's name, as written.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Func::$variant => $name,)*
                }
            }
        }
    };
}

functions! {
    Append = "Append",
    AppRoleAssignmentsComplex = "AppRoleAssignmentsComplex",
    BitAnd = "BitAnd",
    CBool = "CBool",
    CDate = "CDate",
    Coalesce = "Coalesce",
    ConvertFromBase64 = "ConvertFromBase64",
    ConvertToBase64 = "ConvertToBase64",
    ConvertToUtf8Hex = "ConvertToUTF8Hex",
    Count = "Count",
    CRef = "CRef",
    CStr = "CStr",
    DateAdd = "DateAdd",
    DateDiff = "DateDiff",
    DateFromNum = "DateFromNum",
    DefaultDomain = "DefaultDomain",
    DnComponent = "DNComponent",
    Error = "Error",
    FormatDateTime = "FormatDateTime",
    Guid = "Guid",
    IgnoreFlowIfNullOrEmpty = "IgnoreFlowIfNullOrEmpty",
    Iif = "IIF",
    InStr = "InStr",
    IsNull = "IsNull",
    IsNullOrEmpty = "IsNullOrEmpty",
    IsPresent = "IsPresent",
    IsString = "IsString",
    Item = "Item",
    Join = "Join",
    Left = "Left",
    Mid = "Mid",
    NormalizeDiacritics = "NormalizeDiacritics",
    Not = "Not",
    Now = "Now",
    NumFromDate = "NumFromDate",
    PCase = "PCase",
    RandomString = "RandomString",
    Redact = "Redact",
    RemoveDuplicates = "RemoveDuplicates",
    Replace = "Replace",
    SelectUniqueValue = "SelectUniqueValue",
    SingleAppRoleAssignment = "SingleAppRoleAssignment",
    Split = "Split",
    StringFromSid = "StringFromSid",
    StripSpaces = "StripSpaces",
    Switch = "Switch",
    ToLower = "ToLower",
    ToUpper = "ToUpper",
    Trim = "Trim",
    Word = "Word",
}

/// One node of the evaluated tree (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub(crate) enum Code {
    /// A string constant.
    Str(String),
    /// A number constant or a bare name (`True`, `vbTextCompare`…), as its value.
    Const(ExprValue),
    /// An attribute of the source object.
    Attribute(AttributeRef),
    /// A call of a known function.
    Call {
        /// The function.
        func: Func,
        /// The arguments; an omitted one is `None`.
        args: Vec<Option<Code>>,
        /// `Replace`: its constant oldValue as a literal regex, or else its constant
        /// regexPattern, compiled.
        regex: Option<Regex>,
    },
    /// `a & b & …`.
    Concat(Vec<Code>),
    /// A comparison.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Code>,
        /// Right operand.
        right: Box<Code>,
    },
}

/// The value of a bare name (the parser accepts only these four).
pub(crate) fn name_value(name: &str) -> ExprValue {
    match name {
        "True" => ExprValue::Bool(true),
        "False" => ExprValue::Bool(false),
        "vbTextCompare" => ExprValue::Number(1),
        _ => ExprValue::Number(0),
    }
}

/// The evaluated form of a checked tree; `regexes` holds the constant patterns of `Replace`
/// compiled (see [`super::eval::collect_regexes`]).
pub(crate) fn compile(node: &Node, regexes: &BTreeMap<String, Regex>) -> Result<Code> {
    Ok(match node {
        Node::Str(s) => Code::Str(s.clone()),
        Node::Number { value, .. } => Code::Const(ExprValue::Number(*value)),
        Node::Name(n) => Code::Const(name_value(n)),
        Node::Attribute(a) => Code::Attribute(a.clone()),
        Node::Call { name, args } => {
            let func =
                Func::from_name(name).ok_or_else(|| super::eval::fail(name, "unknown function"))?;
            let regex = match (func, args.get(1), args.get(2)) {
                // Mode 1 with a constant oldValue: a regex of that literal finds it with a
                // searcher built once (`str::replace` builds one on every call).
                (Func::Replace, Some(Some(Node::Str(old))), _) if !old.is_empty() => {
                    super::eval::build_regex(&regex::escape(old)).ok()
                }
                (Func::Replace, Some(Some(_)), _) => None,
                (Func::Replace, _, Some(Some(Node::Str(pattern)))) => regexes.get(pattern).cloned(),
                _ => None,
            };
            let args = args
                .iter()
                .map(|a| a.as_ref().map(|n| compile(n, regexes)).transpose())
                .collect::<Result<Vec<_>>>()?;
            Code::Call { func, args, regex }
        }
        Node::Concat(parts) => Code::Concat(
            parts
                .iter()
                .map(|p| compile(p, regexes))
                .collect::<Result<Vec<_>>>()?,
        ),
        Node::Compare { op, left, right } => Code::Compare {
            op: *op,
            left: Box::new(compile(left, regexes)?),
            right: Box::new(compile(right, regexes)?),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::functions::NAMES;

    #[test]
    fn every_function_of_the_table_has_a_func_with_its_name() {
        for name in NAMES {
            let func = Func::from_name(name).unwrap();
            assert_eq!(func.name(), name);
        }
        assert_eq!(Func::from_name("append"), None);
        assert_eq!(Func::ALL.len(), NAMES.len());
    }
}
