//! A watermark-based delta sync engine: import, scope, map, match, decide, export.
//!
//! This crate will run initial and incremental cycles between a source and a target that it
//! knows only through the `connectors` traits, with the guarantee that a crash at any instant
//! loses nothing and creates nothing twice.
//!
//! It is not built yet: its work is tracked by the sync-engine issue.
