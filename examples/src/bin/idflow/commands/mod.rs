//! One module per subcommand, each with its clap `Args` and a `run` function.

pub(crate) mod expr;
pub(crate) mod filter;
pub(crate) mod map;
pub(crate) mod patch;
pub(crate) mod scope;
pub(crate) mod serve;
pub(crate) mod sync;
pub(crate) mod validate;
pub(crate) mod workflows;
