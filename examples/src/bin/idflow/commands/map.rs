//! `idflow map --mappings mappings.json [--target current.json] < resource.json`: prints what a
//! create sends, or the PATCH an update sends.

use std::path::PathBuf;

use chrono::Utc;
use scim_model::Resource;
use scoping::{EvalContext, MappingSet};

use crate::{Failure, io};

/// Options of `idflow map`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A JSON array of attribute mappings
    /// {"targetAttribute", "source": {"type": "Direct"|"Constant"|"Expression"|"None", …}, …}.
    #[arg(long)]
    mappings: PathBuf,
    /// The target object as it is now: print the SCIM PatchOp an update sends to it.
    #[arg(long)]
    target: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let text = io::read_file(&args.mappings)?;
    let mappings = MappingSet::from_json_str(&text)
        .map_err(|e| Failure::bad(format!("{}: {e}", args.mappings.display())))?;
    let current = match &args.target {
        Some(path) => {
            let text = io::read_file(path)?;
            Some(
                Resource::from_json_str(&text, &io::limits())
                    .map_err(|e| Failure::bad(format!("{}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let source = io::read_resource()?;
    // The tool is a host: its clock is the system's.
    let ctx = EvalContext::new(Utc::now());
    match current {
        None => {
            let attributes = mappings
                .create_attributes(&source, &ctx)
                .map_err(Failure::bad)?;
            io::print_json(&attributes)
        }
        Some(current) => {
            let patch = mappings
                .update(&source, &current, &ctx)
                .map_err(Failure::bad)?;
            io::print_json(&patch)
        }
    }
}
