//! Tests: filter_eval.
