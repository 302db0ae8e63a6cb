//! `idflow filter --filter 'FILTER' < resource.json`: prints true or false.

use scim_model::{Filter, SchemaRegistry};

use crate::{Failure, io};

/// Options of `idflow filter`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The SCIM filter, e.g. 'userName eq "bjensen" and active eq true'.
    #[arg(long)]
    filter: String,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let filter = Filter::parse_with(&args.filter, &io::limits()).map_err(Failure::bad)?;
    let resource = io::read_resource()?;
    let registry = SchemaRegistry::default();
    let matched = filter.matches(&resource, &registry).map_err(Failure::bad)?;
    println!("{matched}");
    Ok(())
}
