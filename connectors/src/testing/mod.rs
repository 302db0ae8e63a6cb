//! Test decorators any connector or state store can be wrapped in.
