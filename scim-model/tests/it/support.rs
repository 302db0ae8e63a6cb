//! Helpers shared by the behaviour tests.

use std::path::PathBuf;

use serde_json::Value;

/// The conformance corpus folder: `../shared/conformance/scim` beside the workspace root.
pub(crate) fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/scim")
}

/// Reads one JSON file of the conformance corpus, e.g. `conformance("filters/scimple.json")`.
///
/// Panics with the path when the file is missing: the corpus is part of the test set-up.
pub(crate) fn conformance(relative: &str) -> Value {
    let path = conformance_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read conformance file {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("conformance file {} is not JSON: {e}", path.display()))
}
