#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests of the sync engine, against the reference connectors.

mod crash;
mod crash_groups;
mod cycles;
mod failures;
mod inbound;
mod matching;
mod operations;
mod references;
mod support;
