//! One module per subcommand, each with its clap `Args` and a `run` function.

pub(crate) mod filter;
pub(crate) mod patch;
pub(crate) mod validate;
