//! The function library: names, argument counts and implementations.

pub(crate) mod dates;
pub(crate) mod other;
pub(crate) mod text;

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arity {
    pub(crate) min: usize,
    pub(crate) max: Option<usize>,
    /// The count must be even (Switch: source, default, then key/value pairs).
    pub(crate) even: bool,
}

const fn fixed(n: usize) -> Arity {
    Arity {
        min: n,
        max: Some(n),
        even: false,
    }
}

const fn range(min: usize, max: usize) -> Arity {
    Arity {
        min,
        max: Some(max),
        even: false,
    }
}

const fn at_least(min: usize) -> Arity {
    Arity {
        min,
        max: None,
        even: false,
    }
}

/// Every function, with its argument counts. Names are case-sensitive, as in Entra.
const TABLE: &[(&str, Arity)] = &[
    ("Append", fixed(2)),
    ("AppRoleAssignmentsComplex", fixed(1)),
    ("BitAnd", fixed(2)),
    ("CBool", fixed(1)),
    ("CDate", fixed(1)),
    ("Coalesce", at_least(1)),
    ("ConvertFromBase64", range(1, 2)),
    ("ConvertToBase64", fixed(1)),
    ("ConvertToUTF8Hex", fixed(1)),
    ("Count", fixed(1)),
    ("CRef", fixed(1)),
    ("CStr", fixed(1)),
    ("DateAdd", fixed(3)),
    ("DateDiff", fixed(3)),
    ("DateFromNum", fixed(1)),
    ("DefaultDomain", fixed(0)),
    ("DNComponent", fixed(2)),
    ("Error", fixed(1)),
    ("FormatDateTime", range(3, 4)),
    ("Guid", fixed(0)),
    ("IgnoreFlowIfNullOrEmpty", fixed(1)),
    ("IIF", fixed(3)),
    ("InStr", range(2, 4)),
    ("IsNull", fixed(1)),
    ("IsNullOrEmpty", fixed(1)),
    ("IsPresent", fixed(1)),
    ("IsString", fixed(1)),
    ("Item", fixed(2)),
    ("Join", at_least(1)),
    ("Left", fixed(2)),
    ("Mid", fixed(3)),
    ("NormalizeDiacritics", fixed(1)),
    ("Not", fixed(1)),
    ("Now", fixed(0)),
    ("NumFromDate", fixed(1)),
    ("PCase", range(1, 2)),
    ("RandomString", range(5, 6)),
    ("Redact", fixed(1)),
    ("RemoveDuplicates", fixed(1)),
    ("Replace", range(3, 7)),
    ("SelectUniqueValue", at_least(2)),
    ("SingleAppRoleAssignment", fixed(1)),
    ("Split", fixed(2)),
    ("StringFromSid", fixed(1)),
    ("StripSpaces", fixed(1)),
    (
        "Switch",
        Arity {
            min: 2,
            max: None,
            even: true,
        },
    ),
    ("ToLower", range(1, 2)),
    ("ToUpper", range(1, 2)),
    ("Trim", fixed(1)),
    ("Word", fixed(3)),
];

/// The names of all functions.
pub(crate) const NAMES: [&str; TABLE.len()] = {
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].0;
        i += 1;
    }
    names
};

/// The argument counts of the function `name`, or `None` for an unknown function.
pub(crate) fn arity(name: &str) -> Option<Arity> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}
