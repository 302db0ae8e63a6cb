//! Joiner, mover and leaver workflows after Microsoft Entra Lifecycle Workflows.
//!
//! This crate will evaluate workflow triggers (hire date, leave date, attribute changes, group
//! membership), check each user against the workflow's scope and run its ordered tasks, keeping
//! a run history that can be queried and exported.
//!
//! It is not built yet: its work is tracked by the lifecycle issue.
