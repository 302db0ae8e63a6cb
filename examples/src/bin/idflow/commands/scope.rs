//! `idflow scope --rules scoping.json [--explain] < resource.json`: prints true or false.

use std::path::PathBuf;

use scoping::ScopingFilter;
use serde_json::json;

use crate::{Failure, io};

/// Options of `idflow scope`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A scoping filter: an array of groups, each an array of clauses
    /// {"sourceAttribute", "operator", "value"}; `[]` is everything in scope.
    #[arg(long)]
    rules: PathBuf,
    /// Print {"inScope": …, "explanation": "…"} instead of the bare boolean.
    #[arg(long)]
    explain: bool,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let text = io::read_file(&args.rules)?;
    let filter = ScopingFilter::from_json_str(&text)
        .and_then(|f| f.compile())
        .map_err(|e| Failure::bad(format!("{}: {e}", args.rules.display())))?;
    let resource = io::read_resource()?;
    if args.explain {
        let explanation = filter.explain(&resource);
        io::print_json(&json!({
            "inScope": explanation.in_scope,
            "explanation": explanation.to_string(),
        }))
    } else {
        println!("{}", filter.matches(&resource));
        Ok(())
    }
}
