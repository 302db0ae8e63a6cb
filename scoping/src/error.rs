//! The scoping crate's error type.

/// What went wrong loading or evaluating a scoping filter, a mapping or an expression.
///
/// Every variant carries the offending input: the group and clause index of a filter, the
/// index and target attribute of a mapping.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scoping filter clause cannot be compiled (unknown operator, bad regex, missing value,
    /// a value on a unary operator, bad path). `group` and `clause` are the 0-based indexes in
    /// the JSON arrays.
    #[error("scoping filter group {group}, clause {clause}: {message}")]
    InvalidClause {
        /// Index of the group in the filter.
        group: usize,
        /// Index of the clause in its group.
        clause: usize,
        /// What is wrong.
        message: String,
    },
    /// A document (scoping filter, mapping set) is not valid JSON of the expected shape.
    #[error("invalid {what} JSON: {message}")]
    InvalidJson {
        /// What was being read ("scoping filter", "mappings").
        what: &'static str,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An attribute mapping cannot be loaded. `index` is the 0-based index in the mapping
    /// array; `target` its `targetAttribute` as written.
    #[error("mapping {index} ({target}): {message}")]
    InvalidMapping {
        /// Index of the mapping in the set.
        index: usize,
        /// Its target attribute, as written.
        target: String,
        /// What is wrong.
        message: String,
    },
    /// A mapping set as a whole is invalid (no matching attribute, duplicate targets).
    #[error("mapping set: {message}")]
    InvalidMappingSet {
        /// What is wrong.
        message: String,
    },
    /// A mapping could not be evaluated for one source object.
    #[error("mapping {target}: {message}")]
    MappingFailed {
        /// The mapping's target attribute, as written.
        target: String,
        /// What went wrong.
        message: String,
    },
    /// A mapping's expression failed for one source object; `source` is the expression's
    /// error ([`Error::ExpressionFailed`], [`Error::ExpressionRaised`],
    /// [`Error::ExpressionNoUniqueValue`]).
    #[error("mapping {target}: {source}")]
    MappingExpression {
        /// The mapping's target attribute, as written.
        target: String,
        /// The expression's error.
        source: Box<Error>,
    },
    /// An expression cannot be parsed: `position` is the 0-based character position,
    /// `expected` what the parser expected there and `found` what it found.
    #[error("expression, at position {position}: expected {expected}, found {found}")]
    ExpressionSyntax {
        /// 0-based character position in the expression text.
        position: usize,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// An expression could not be evaluated: `function` names the function (or operator),
    /// `message` the argument and what is wrong with it.
    #[error("{function}: {message}")]
    ExpressionFailed {
        /// The function or operator.
        function: String,
        /// What is wrong, naming the argument ("argument 2 (start) must be a number, found \"x\"").
        message: String,
    },
    /// The expression called `Error(message)`: the object is reported with this message.
    #[error("expression raised an error: {message}")]
    ExpressionRaised {
        /// The message given to `Error`.
        message: String,
    },
    /// `SelectUniqueValue` found every candidate taken (Entra escrows the object).
    #[error("SelectUniqueValue: every candidate value is taken: {tried:?}")]
    ExpressionNoUniqueValue {
        /// The candidates tried, in order.
        tried: Vec<String>,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
