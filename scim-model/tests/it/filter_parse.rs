//! Tests: filter_parse.
