//! Tests: messages.
