//! Tests: typed.
