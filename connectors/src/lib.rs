//! The seams of idflow: the traits that hosts implement.
//!
//! This crate will hold `SourceConnector`, `TargetConnector`, `StateStore` and `Clock`, the
//! reference implementations beside them (an in-memory directory, a CSV source, a durable
//! embedded state store) and a conformance kit that every implementation runs.
//!
//! It is not built yet: its work is tracked by the connectors issue. Objects cross these seams
//! as [`scim_model`] resources.
