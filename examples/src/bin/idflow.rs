//! The `idflow` command-line tool.
fn main() {}
