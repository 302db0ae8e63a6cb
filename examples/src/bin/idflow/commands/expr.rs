//! `idflow expr --expr 'EXPRESSION' < resource.json`: prints the value as JSON.

use chrono::Utc;
use scoping::{EvalContext, Expression};

use crate::{Failure, io};

/// Options of `idflow expr`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The mapping expression, e.g. 'Join(" ", [name.givenName], [name.familyName])'.
    #[arg(long)]
    expr: String,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let expression = Expression::parse(&args.expr).map_err(Failure::bad)?;
    let resource = io::read_resource()?;
    // The tool is a host: its clock is the system's.
    let ctx = EvalContext::new(Utc::now());
    let value = expression.evaluate(&resource, &ctx).map_err(Failure::bad)?;
    io::print_json(&value.to_json())
}
