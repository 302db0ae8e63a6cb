//! Filter evaluation. (Being written: the filter-eval helper owns this file.)

/// A filter compiled against a schema registry for fast repeated evaluation.
#[derive(Clone, Debug)]
pub struct CompiledFilter {}
