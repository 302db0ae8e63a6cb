//! `idflow`: a command-line tool over the idflow library.
//!
//! For people (try a filter or a PATCH before putting it into a job, like a portal's tester)
//! and for black-box tests. JSON comes in on stdin and goes out on stdout; the exit status is 0
//! on success and 2 on bad input, with a one-line error on stderr. The commands and what they
//! print are a contract (the `idflow` section of DESIGN.md).

mod commands;
mod io;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What went wrong, and so which exit status to use.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input (a file, stdin, an option's value) was bad: exit 2.
    BadInput(String),
    /// The input was read but found wanting (e.g. `validate` found problems): exit 2, with
    /// the result already printed on stdout.
    Rejected,
    /// The environment failed (a file could not be written): exit 1.
    Environment(String),
}

impl Failure {
    pub(crate) fn bad(message: impl std::fmt::Display) -> Self {
        Failure::BadInput(message.to_string())
    }
}

/// idflow: SCIM filters, PATCH, schema validation, expressions, scoping and mappings on the
/// command line.
///
/// Every command reads a SCIM resource as JSON on stdin and prints JSON on stdout.
/// Exit status: 0 on success, 2 on bad input (with a one-line error on stderr).
#[derive(Debug, Parser)]
#[command(name = "idflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate a SCIM filter (RFC 7644 §3.4.2.2) against the resource on stdin; prints true or false.
    #[command(after_help = r#"Example:
  echo '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","emails":[{"type":"work","value":"b@example.com"}]}' \
    | idflow filter --filter 'emails[type eq "work" and value ew "@EXAMPLE.com"]'
  true"#)]
    Filter(commands::filter::Args),
    /// Apply a SCIM PatchOp (RFC 7644 §3.5.2) to the resource on stdin; prints the patched resource.
    #[command(after_help = r#"Example:
  echo '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}' > patch.json
  echo '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","active":true}' \
    | idflow patch --patch patch.json
  {"schemas": [...], "userName": "bjensen", "active": false}

The request is atomic: if one operation fails, nothing is printed and the exit status is 2."#)]
    Patch(commands::patch::Args),
    /// Validate the resource on stdin against the RFC 7643 schemas and any extension schemas given;
    /// prints a JSON array of problems ([] when valid) and exits 2 when there is any.
    #[command(after_help = r#"Example:
  idflow validate --schema acme-extension.json < user.json
  [{"path": "urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate", "message": "..."}]

A schema file is an RFC 7643 §7 schema document, or a JSON array of them."#)]
    Validate(commands::validate::Args),
    /// Evaluate an attribute-mapping expression (Entra's language) against the resource on stdin;
    /// prints the value as JSON.
    #[command(after_help = r#"Example:
  echo '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"name":{"givenName":"Barbara","familyName":"Jensen"}}' \
    | idflow expr --expr 'ToLower(Join(".", [name.givenName], [name.familyName]))'
  "barbara.jensen""#)]
    Expr(commands::expr::Args),
    /// Evaluate a scoping filter against the resource on stdin; prints true or false.
    #[command(after_help = r#"Example:
  echo '[[{"sourceAttribute": "department", "operator": "EQUALS", "value": "Sales"}]]' > scope.json
  idflow scope --rules scope.json --explain < user.json
  {"inScope": false, "explanation": "out of scope: group 0: department EQUALS 'Sales' failed: ..."}"#)]
    Scope(commands::scope::Args),
    /// Compute the target attributes a create sends, or with --target the PATCH an update sends.
    #[command(after_help = r#"Example:
  echo '[{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
         {"targetAttribute": "displayName", "source": {"type": "Expression", "expression": "Join(\" \", [name.givenName], [name.familyName])"}}]' > mappings.json
  idflow map --mappings mappings.json < source-user.json                  # what a create sends
  idflow map --mappings mappings.json --target target-user.json < source-user.json   # the PATCH"#)]
    Map(commands::map::Args),
    /// Run one cycle of a sync job (a CSV or JSON source to a JSON target); prints its report.
    #[command(after_help = r#"Example:
  cat > job.json <<'EOF'
  {"source": {"type": "csv", "path": "hr.csv", "idAttribute": "externalId"},
   "target": {"type": "json", "path": "directory.json"},
   "objectMappings": [{"sourceObjectName": "User", "targetObjectName": "User",
     "scope": [[{"sourceAttribute": "active", "operator": "IS TRUE"}]],
     "attributeMappings": [{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1}]}],
   "deletionThreshold": 500}
  EOF
  idflow sync --job job.json --state .idflow-state
  {"cycle": {"id": "idflow-sync-1", "kind": "initial", ...}, "summary": {"created": 2, ...}, "quarantine": null, "log": [...]}

Paths in the job file are relative to it. Exit status: 0 when the cycle ran (failed objects
are results), 2 on a bad job or input file, 1 when a file cannot be written."#)]
    Sync(commands::sync::Args),
    /// Run the due lifecycle workflows once over a users file; prints the runs, errors and emails.
    #[command(after_help = r#"Example:
  idflow workflows --config onboarding.json --users users.json --now 2026-03-02T09:00:00Z --state .idflow-lifecycle
  {"runs": [{"workflow": {"displayName": "Onboard new hire", ...}, "processingStatus": "completed",
             "userProcessingResults": [{"subject": {"id": "u1"}, "processingStatus": "completed", ...}]}],
   "errors": [], "emails": [{"to": "manager@example.com", "subject": "...", "language": "de"}]}

The config is one workflow or an array in Microsoft Graph's shape; the users file a JSON array of
SCIM resources (users, and the groups tasks name) or a ListResponse. With --state, a later run
processes each user once per trigger occurrence. Exit status: 0 when the run happened, 2 on a bad
workflow or users file."#)]
    Workflows(commands::workflows::Args),
    /// Serve a SCIM 2.0 gateway over an in-memory directory at http://ADDR/scim/v2 until Ctrl-C or SIGTERM.
    #[command(after_help = r#"Example:
  idflow serve --listen 127.0.0.1:8080 --token s3cret --data users.json
  idflow serve: listening on http://127.0.0.1:8080/scim/v2
  curl -H 'Authorization: Bearer s3cret' 'http://127.0.0.1:8080/scim/v2/Users?filter=userName%20eq%20%22bjensen%22'

Endpoints: /Users, /Groups, /Schemas, /ResourceTypes, /ServiceProviderConfig, /Bulk, /.search;
beside them POST /bulkUpload (Entra's API-driven inbound shape: 202 + Location /bulkUpload/{id},
provisioned into the directory by a background sync cycle) and GET /bulkUpload/{id}.
The data file is a JSON array of SCIM resources (Users and Groups) or a ListResponse. One line
per request is logged on stderr. Exit status: 0 when stopped by a signal, 2 on a bad option or
data file, 1 when the address cannot be listened on."#)]
    Serve(commands::serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
                return ExitCode::from(2);
            }
            // One line: clap's message up to its usage section, folded.
            let text = e.to_string();
            let message = text.split("Usage:").next().unwrap_or("invalid arguments");
            let message = one_line(message.trim_start_matches("error: "));
            eprintln!("idflow: {message} (see idflow --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Filter(args) => commands::filter::run(args),
        Command::Patch(args) => commands::patch::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Expr(args) => commands::expr::run(args),
        Command::Scope(args) => commands::scope::run(args),
        Command::Map(args) => commands::map::run(args),
        Command::Sync(args) => commands::sync::run(args),
        Command::Workflows(args) => commands::workflows::run(args),
        Command::Serve(args) => commands::serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            eprintln!("idflow: {}", one_line(&message));
            ExitCode::from(2)
        }
        Err(Failure::Rejected) => ExitCode::from(2),
        Err(Failure::Environment(message)) => {
            eprintln!("idflow: {}", one_line(&message));
            ExitCode::from(1)
        }
    }
}

/// Folds a message onto one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
