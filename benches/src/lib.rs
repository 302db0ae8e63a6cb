//! Benchmark inputs shared by idflow's criterion benchmarks (`benches/benches/*.rs`) and the
//! peer scripts in `benches/peers/`, so that both measure exactly the same work.
//!
//! The inputs live in `benches/data/` as JSON and are compiled in with `include_str!`, so no
//! benchmark reads a file while it is being timed:
//!
//! - `user-full.json`: the full User representation of RFC 7643 §8.2;
//! - `user-entra.json`: a User shaped like the ones Microsoft Entra's provisioning service
//!   sends, with the enterprise extension;
//! - `group-100.json`: a Group with 100 members (written by `benches/scripts/make_group.py`);
//! - `filters.json`: filters, each with the resource it is evaluated on and the answer;
//! - `patches.json`: PATCH requests, each with the resource it applies to and the whole
//!   resource expected afterwards.
//!
//! The expected answers are what both idflow and the Node peers must compute; this crate's
//! tests check idflow against them, `benches/peers/bench.js` checks the peers.

pub mod connectors;
pub mod sync;

use std::fmt;

use scim_model::Resource;
use serde_json::Value;

/// One JSON document of `benches/data/`, by name (the file name without `.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// The file name without `.json`, e.g. `user-full`.
    pub name: &'static str,
    /// The document's text, exactly as in the file.
    pub text: &'static str,
}

/// Every resource document of `benches/data/`.
pub const DOCUMENTS: [Document; 3] = [
    Document {
        name: "user-full",
        text: include_str!("../data/user-full.json"),
    },
    Document {
        name: "user-entra",
        text: include_str!("../data/user-entra.json"),
    },
    Document {
        name: "group-100",
        text: include_str!("../data/group-100.json"),
    },
];

/// The User documents, the ones the parse and serialise benchmarks measure.
pub const USER_DOCUMENTS: [&str; 2] = ["user-full", "user-entra"];

const FILTERS: &str = include_str!("../data/filters.json");
const PATCHES: &str = include_str!("../data/patches.json");

/// What was wrong with a benchmark input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    message: String,
}

impl InputError {
    fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// The text of the document called `name` (e.g. `user-full`).
pub fn document(name: &str) -> Result<&'static str, InputError> {
    DOCUMENTS
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.text)
        .ok_or_else(|| InputError::new(format!("no document {name:?} in benches/data")))
}

/// The document called `name`, parsed as a [`Resource`].
pub fn resource(name: &str) -> Result<Resource, InputError> {
    serde_json::from_str(document(name)?)
        .map_err(|e| InputError::new(format!("{name}.json is not a SCIM resource: {e}")))
}

/// A filter of `benches/data/filters.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilterCase {
    /// The case's name, used as the benchmark id on both sides.
    pub name: String,
    /// The document the filter is evaluated on.
    pub resource: String,
    /// The filter text.
    pub filter: String,
    /// Whether the resource matches the filter.
    pub expected: bool,
}

/// A PATCH request of `benches/data/patches.json`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchCase {
    /// The case's name, used as the benchmark id on both sides.
    pub name: String,
    /// The document the request applies to.
    pub resource: String,
    /// The PATCH request body (`schemas` and `Operations`).
    pub request: Value,
    /// The whole resource after the request.
    pub expected: Value,
}

fn cases(text: &str, file: &str) -> Result<Vec<Value>, InputError> {
    let mut doc: Value = serde_json::from_str(text)
        .map_err(|e| InputError::new(format!("{file} is not JSON: {e}")))?;
    match doc.get_mut("cases").map(Value::take) {
        Some(Value::Array(cases)) => Ok(cases),
        _ => Err(InputError::new(format!("{file} has no `cases` array"))),
    }
}

fn field<'a>(case: &'a Value, file: &str, name: &str) -> Result<&'a Value, InputError> {
    case.get(name)
        .ok_or_else(|| InputError::new(format!("a case of {file} has no `{name}`: {case}")))
}

fn string(case: &Value, file: &str, name: &str) -> Result<String, InputError> {
    field(case, file, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| InputError::new(format!("`{name}` of a case of {file} is not a string")))
}

/// The filters of `benches/data/filters.json`, in file order.
pub fn filter_cases() -> Result<Vec<FilterCase>, InputError> {
    const FILE: &str = "filters.json";
    cases(FILTERS, FILE)?
        .iter()
        .map(|c| {
            let expected = field(c, FILE, "expected")?.as_bool().ok_or_else(|| {
                InputError::new(format!("`expected` of a case of {FILE} is not a boolean"))
            })?;
            Ok(FilterCase {
                name: string(c, FILE, "name")?,
                resource: string(c, FILE, "resource")?,
                filter: string(c, FILE, "filter")?,
                expected,
            })
        })
        .collect()
}

/// The PATCH requests of `benches/data/patches.json`, in file order.
pub fn patch_cases() -> Result<Vec<PatchCase>, InputError> {
    const FILE: &str = "patches.json";
    cases(PATCHES, FILE)?
        .iter()
        .map(|c| {
            Ok(PatchCase {
                name: string(c, FILE, "name")?,
                resource: string(c, FILE, "resource")?,
                request: field(c, FILE, "request")?.clone(),
                expected: field(c, FILE, "expected")?.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_is_a_resource_and_equals_its_json() {
        for d in DOCUMENTS {
            let r = resource(d.name).unwrap();
            let v: Value = serde_json::from_str(d.text).unwrap();
            assert_eq!(r.to_value(), v, "{}", d.name);
        }
        assert!(resource("nope").is_err());
    }

    #[test]
    fn cases_name_existing_documents_and_are_unique() {
        let filters = filter_cases().unwrap();
        let patches = patch_cases().unwrap();
        assert!(filters.len() >= 5 && patches.len() >= 4);
        let mut names: Vec<&str> = filters.iter().map(|c| c.name.as_str()).collect();
        names.extend(patches.iter().map(|c| c.name.as_str()));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "case names must be unique");
        for r in filters
            .iter()
            .map(|c| &c.resource)
            .chain(patches.iter().map(|c| &c.resource))
        {
            document(r).unwrap();
        }
    }

    #[test]
    fn idflow_gives_every_filter_its_recorded_answer() {
        let registry = scim_model::SchemaRegistry::default();
        for case in filter_cases().unwrap() {
            let r = resource(&case.resource).unwrap();
            let filter = scim_model::Filter::parse(&case.filter).unwrap();
            assert_eq!(
                filter.matches(&r, &registry).unwrap(),
                case.expected,
                "{}",
                case.name
            );
            let compiled = filter.compile(&registry, r.base_schema().unwrap());
            assert_eq!(
                compiled.matches(&r).unwrap(),
                case.expected,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn idflow_gives_every_patch_its_recorded_result() {
        let registry = scim_model::SchemaRegistry::default();
        for case in patch_cases().unwrap() {
            let mut r = resource(&case.resource).unwrap();
            let op = scim_model::patch::PatchOp::from_value(&case.request).unwrap();
            assert!(
                op.apply(&mut r, &registry).unwrap(),
                "{} changes",
                case.name
            );
            assert_eq!(r.to_value(), case.expected, "{}", case.name);
        }
    }

    #[test]
    fn user_documents_are_users() {
        for name in USER_DOCUMENTS {
            let r = resource(name).unwrap();
            assert!(r.has_schema(scim_model::USER_SCHEMA), "{name}");
        }
    }
}
