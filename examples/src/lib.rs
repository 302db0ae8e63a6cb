//! The library side of idflow's examples: the SCIM gateway that `idflow serve` runs, kept
//! here so tests can drive it in-process.

pub mod gateway;
