//! Tests: patch.
