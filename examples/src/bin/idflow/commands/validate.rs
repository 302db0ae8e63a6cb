//! `idflow validate [--schema ext.json ...] < resource.json`: prints the problems found.

use std::path::PathBuf;

use scim_model::SchemaRegistry;
use scim_model::schema::Operation;
use serde_json::Value;

use crate::{Failure, io};

/// What the resource is validated for.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum For {
    /// A resource as stored or returned by a server: mutability is not checked.
    Stored,
    /// A resource a client POSTs: readOnly attributes are rejected.
    Create,
    /// A resource a client PUTs: readOnly attributes are rejected.
    Replace,
}

/// Options of `idflow validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// An extension schema document (RFC 7643 §7), or a JSON array of them; may be repeated.
    #[arg(long, num_args = 1..)]
    schema: Vec<PathBuf>,
    /// What the resource is validated as.
    #[arg(long = "for", value_enum, default_value = "stored")]
    purpose: For,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let mut registry = SchemaRegistry::default();
    for path in &args.schema {
        let text = io::read_file(path)?;
        let doc = io::parse_json(&text, &path.display().to_string())?;
        let docs = match doc {
            Value::Array(docs) => docs,
            one => vec![one],
        };
        for (i, doc) in docs.iter().enumerate() {
            registry
                .register_json(doc)
                .map_err(|e| Failure::bad(format!("{} (schema {i}): {e}", path.display())))?;
        }
    }
    let resource = io::read_resource()?;
    let operation = match args.purpose {
        For::Stored => Operation::Stored,
        For::Create => Operation::Create,
        For::Replace => Operation::Replace,
    };
    let issues = registry.validate(&resource, operation);
    io::print_json(&issues)?;
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Failure::Rejected)
    }
}
