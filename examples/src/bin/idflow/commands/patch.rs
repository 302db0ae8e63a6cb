//! `idflow patch --patch patch.json < resource.json`: prints the patched resource.

use std::path::PathBuf;

use scim_model::SchemaRegistry;
use scim_model::patch::PatchOp;

use crate::{Failure, io};

/// Options of `idflow patch`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A file holding the PatchOp request body (RFC 7644 §3.5.2).
    #[arg(long)]
    patch: PathBuf,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let text = io::read_file(&args.patch)?;
    let patch = PatchOp::from_json_str(&text, &io::limits())
        .map_err(|e| Failure::bad(format!("{}: {e}", args.patch.display())))?;
    let mut resource = io::read_resource()?;
    let registry = SchemaRegistry::default();
    patch
        .apply(&mut resource, &registry)
        .map_err(|e| Failure::bad(format!("patch failed, resource unchanged: {e}")))?;
    io::print_json(&resource)
}
