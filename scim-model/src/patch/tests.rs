//! Unit tests of PATCH application.
