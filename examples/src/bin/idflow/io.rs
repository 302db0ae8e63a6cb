//! Reading inputs: stdin, files named by options, with errors that say which input was bad.

use std::io::Read;
use std::path::Path;

use scim_model::{Limits, Resource};
use serde_json::Value;

use crate::Failure;

/// The largest input the tool reads (64 MiB): far above any real resource, low enough that a
/// mistaken `< /dev/zero` ends with an error instead of exhausting memory.
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Limits for parsing the tool's inputs: the library's defaults, with payloads up to
/// [`MAX_INPUT`].
pub(crate) fn limits() -> Limits {
    Limits::default().with_max_payload_bytes(MAX_INPUT as usize)
}

/// Reads all of stdin as UTF-8 text.
pub(crate) fn read_stdin() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::bad(format!("cannot read stdin: {e}")))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(Failure::bad(format!(
            "stdin is larger than {MAX_INPUT} bytes"
        )));
    }
    Ok(text)
}

/// Reads a whole file as UTF-8 text.
pub(crate) fn read_file(path: &Path) -> Result<String, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::bad(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_INPUT + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::bad(format!("cannot read {}: {e}", path.display())))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(Failure::bad(format!(
            "{} is larger than {MAX_INPUT} bytes",
            path.display()
        )));
    }
    Ok(text)
}

/// Parses JSON text, naming the input on error.
pub(crate) fn parse_json(text: &str, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::bad(format!("{what} is not valid JSON: {e}")))
}

/// Reads the SCIM resource on stdin.
pub(crate) fn read_resource() -> Result<Resource, Failure> {
    let text = read_stdin()?;
    Resource::from_json_str(&text, &limits()).map_err(|e| Failure::bad(format!("stdin: {e}")))
}

/// Prints a JSON value on stdout, pretty, with a final newline.
///
/// Not `println!`, which panics when stdout is closed (`idflow … | head`): a failed write is
/// an environment failure.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Environment(format!("cannot print JSON: {e}")))?;
    text.push('\n');
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Environment(format!("cannot print JSON: {e}")))
}
