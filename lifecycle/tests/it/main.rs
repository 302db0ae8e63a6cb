#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests of the lifecycle runner, against the reference connectors and a fake clock.

mod crash;
mod history;
mod model;
mod support;
mod tasks;
mod triggers;
