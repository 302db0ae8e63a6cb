//! Reading a CSV file into SCIM resources: the header (which column is which attribute path),
//! then each record, with its problems, by the line it starts on.

use std::collections::BTreeMap;

use scim_model::patch::{PatchOp, PatchOptions};
use scim_model::schema::{AttributeType, Mutability};
use scim_model::{AttributePath, Resource};
use serde_json::{Number, Value};

use super::options::CsvOptions;
use crate::source::{RecordProblem, SourceObject};
use crate::types::SourceId;

/// The UTF-8 byte order mark some exporters (Excel) write first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How one column's cells are written into a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CellKind {
    /// Not read.
    Ignored,
    /// The resource's `id` (the id column when the id attribute is `id`).
    ResourceId,
    /// `true`/`false`, `yes`/`no`, `1`/`0` (any case) become a JSON boolean.
    Boolean,
    /// A whole number.
    Integer,
    /// A number.
    Decimal,
    /// An RFC 3339 instant with a zone, kept as the string written.
    DateTime,
    /// Kept as a string (strings, references, binary, attributes no schema describes).
    Text,
}

/// One column of the header.
#[derive(Clone, Debug)]
struct Column {
    /// The header cell, as written (trimmed).
    header: String,
    /// The path its cells are written to (`None` for an ignored column).
    path: Option<AttributePath>,
    kind: CellKind,
}

/// What the header says: the columns, the id column, the schemas of every resource.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    columns: Vec<Column>,
    id_column: usize,
    schemas: Vec<String>,
}

/// One entry of an import: an object, or a record that could not be read.
#[derive(Clone, Debug)]
pub(crate) enum Entry {
    Object(SourceObject),
    Problem(RecordProblem),
}

/// One record as read, before duplicate ids are resolved.
struct Row {
    line: u64,
    id: Option<String>,
    /// The resource, or what was wrong. `None` when the row was not built (a `get` looking
    /// for another id).
    outcome: Option<Result<Resource, String>>,
}

/// Strips a leading UTF-8 BOM.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

fn reader<'a>(bytes: &'a [u8], options: &CsvOptions) -> csv::Reader<&'a [u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .from_reader(bytes)
}

fn cell_text<'a>(cell: &'a [u8], options: &CsvOptions) -> Result<&'a str, std::str::Utf8Error> {
    let text = std::str::from_utf8(cell)?;
    Ok(if options.trim { text.trim() } else { text })
}

/// Reads the whole file: the header, then every record. `want` limits the building of
/// resources to the records with that id (a `get`); every record's id is still read, so
/// duplicates are found.
///
/// # Errors
///
/// A message naming what is wrong with the file as a whole: empty, or a bad header.
pub(crate) fn parse(
    bytes: &[u8],
    options: &CsvOptions,
    want: Option<&str>,
) -> Result<Vec<Entry>, String> {
    let bytes = strip_bom(bytes);
    let mut rdr = reader(bytes, options);
    let mut record = csv::ByteRecord::new();
    let layout = read_layout(&mut rdr, &mut record, options)?;
    let mut rows = Vec::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Reading from memory fails only on malformed input the reader cannot get
                // past; report it where it happened and stop (the import is incomplete).
                let line = e.position().map_or(0, csv::Position::line);
                rows.push(Row {
                    line,
                    id: None,
                    outcome: Some(Err(format!("unreadable CSV: {e}"))),
                });
                break;
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
        rows.push(read_row(&record, line, &layout, options, want));
    }
    Ok(resolve_duplicates(rows, options))
}

/// Checks the header of a file without reading its records.
///
/// # Errors
///
/// As [`parse`].
pub(crate) fn check_header(bytes: &[u8], options: &CsvOptions) -> Result<(), String> {
    let mut rdr = reader(strip_bom(bytes), options);
    let mut record = csv::ByteRecord::new();
    read_layout(&mut rdr, &mut record, options).map(|_| ())
}

/// Reads and checks the header.
fn read_layout(
    rdr: &mut csv::Reader<&[u8]>,
    record: &mut csv::ByteRecord,
    options: &CsvOptions,
) -> Result<Layout, String> {
    match rdr.read_byte_record(record) {
        Ok(true) => {}
        Ok(false) => return Err("the file is empty: it has no header row".to_owned()),
        Err(e) => return Err(format!("cannot read the header row: {e}")),
    }
    let Some(base) = options.schemas.first() else {
        return Err(format!(
            "no schemas are configured for {} objects (CsvOptions::with_schemas)",
            options.object_type
        ));
    };
    let mut schemas = options.schemas.clone();
    let mut columns: Vec<Column> = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        let n = i + 1;
        let header = cell_text(cell, options)
            .map_err(|_| format!("column {n}: the header cell is not valid UTF-8"))?
            .trim()
            .to_owned();
        let path = options
            .path_for(&header)
            .map_err(|e| format!("column {n}: header {header:?} is not an attribute path: {e}"))?;
        let Some(path) = path else {
            columns.push(Column {
                header,
                path: None,
                kind: CellKind::Ignored,
            });
            continue;
        };
        if let Some((j, other)) = columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.path.as_ref().is_some_and(|p| p.eq_ignore_case(&path)))
        {
            return Err(format!(
                "columns {} ({:?}) and {n} ({header:?}) both hold {path}",
                j + 1,
                other.header
            ));
        }
        let is_id = path.eq_ignore_case(&options.id_attribute);
        let attr = options.registry.attribute_in(base, &path);
        let kind = if is_id && path.urn().is_none() && path.name().eq_ignore_ascii_case("id") {
            CellKind::ResourceId
        } else {
            if attr.is_some_and(|a| a.mutability == Mutability::ReadOnly) {
                return Err(format!(
                    "column {n}: {path} is read-only, a source cannot set it"
                ));
            }
            match attr.map(|a| a.kind) {
                Some(AttributeType::Boolean) => CellKind::Boolean,
                Some(AttributeType::Integer) => CellKind::Integer,
                Some(AttributeType::Decimal) => CellKind::Decimal,
                Some(AttributeType::DateTime) => CellKind::DateTime,
                _ => CellKind::Text,
            }
        };
        if let Some(urn) = path.urn()
            && !schemas.iter().any(|s| s.eq_ignore_ascii_case(urn))
        {
            let known = options.registry.schema(urn).map(|s| s.id.clone());
            schemas.push(known.unwrap_or_else(|| urn.to_owned()));
        }
        columns.push(Column {
            header,
            path: Some(path),
            kind,
        });
    }
    let id_column = columns
        .iter()
        .position(|c| {
            c.path
                .as_ref()
                .is_some_and(|p| p.eq_ignore_case(&options.id_attribute))
        })
        .ok_or_else(|| {
            format!(
                "no column holds the id attribute {} (the header has: {})",
                options.id_attribute,
                columns
                    .iter()
                    .map(|c| format!("{:?}", c.header))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    Ok(Layout {
        columns,
        id_column,
        schemas,
    })
}

/// Reads one record.
fn read_row(
    record: &csv::ByteRecord,
    line: u64,
    layout: &Layout,
    options: &CsvOptions,
    want: Option<&str>,
) -> Row {
    let id = record
        .get(layout.id_column)
        .and_then(|cell| cell_text(cell, options).ok())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if record.len() != layout.columns.len() {
        let outcome = Err(format!(
            "{} cells, the header has {}",
            record.len(),
            layout.columns.len()
        ));
        return Row {
            line,
            id,
            outcome: Some(outcome),
        };
    }
    let Some(id) = id else {
        let column = &layout.columns[layout.id_column];
        let why = match record.get(layout.id_column).map(|c| cell_text(c, options)) {
            Some(Err(_)) => "is not valid UTF-8",
            _ => "is empty",
        };
        let outcome = Err(format!(
            "the id (column {}, {:?}) {why}",
            layout.id_column + 1,
            column.header
        ));
        return Row {
            line,
            id: None,
            outcome: Some(outcome),
        };
    };
    if want.is_some_and(|w| w != id) {
        return Row {
            line,
            id: Some(id),
            outcome: None,
        };
    }
    let outcome = build(record, layout, options);
    Row {
        line,
        id: Some(id),
        outcome: Some(outcome),
    }
}

/// Builds the resource of a record whose cells are all there.
fn build(
    record: &csv::ByteRecord,
    layout: &Layout,
    options: &CsvOptions,
) -> Result<Resource, String> {
    let mut resource = Resource::new(layout.schemas.iter().cloned());
    let mut problems: Vec<String> = Vec::new();
    for (i, (column, cell)) in layout.columns.iter().zip(record.iter()).enumerate() {
        let Some(path) = &column.path else { continue };
        let n = i + 1;
        let text = match cell_text(cell, options) {
            Ok(t) => t,
            Err(_) => {
                problems.push(format!("column {n} ({path}): not valid UTF-8"));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let value = match typed(column.kind, text) {
            Ok(v) => v,
            Err(why) => {
                problems.push(format!("column {n} ({path}): {why}"));
                continue;
            }
        };
        if column.kind == CellKind::ResourceId {
            resource.set_id(text);
            continue;
        }
        let patch = PatchOp::new().add(path.clone(), value);
        if let Err(e) = patch.apply_with(&mut resource, &options.registry, &PatchOptions::lenient())
        {
            let message = e.to_string();
            let message = message.trim_end_matches(" (Operations[0])");
            problems.push(format!("column {n} ({path}): {message}"));
        }
    }
    if problems.is_empty() {
        Ok(resource)
    } else {
        Err(problems.join("; "))
    }
}

/// A cell's value as its column's type wants it.
fn typed(kind: CellKind, text: &str) -> Result<Value, String> {
    match kind {
        CellKind::Boolean => parse_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| format!("expected a boolean (true/false, yes/no, 1/0), found {text:?}")),
        CellKind::Integer => text
            .parse::<i64>()
            .map(|n| Value::Number(n.into()))
            .map_err(|_| format!("expected an integer, found {text:?}")),
        CellKind::Decimal => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a decimal number, found {text:?}")),
        CellKind::DateTime => {
            if is_datetime(text) {
                Ok(Value::String(text.to_owned()))
            } else {
                Err(format!(
                    "expected a dateTime (RFC 3339 with a zone, e.g. 2021-05-01T00:00:00Z), found {text:?}"
                ))
            }
        }
        CellKind::Ignored | CellKind::ResourceId | CellKind::Text => {
            Ok(Value::String(text.to_owned()))
        }
    }
}

/// Booleans as HR exports write them: `true`/`false`, `yes`/`no`, `1`/`0`, in any case.
fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["true", "yes", "1"];
    const FALSE: [&str; 3] = ["false", "no", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// A SCIM dateTime exactly as scim-model's validation reads one: RFC 3339 with an upper-case
/// `T` and a zone.
fn is_datetime(text: &str) -> bool {
    scim_model::schema::parse_datetime(text).is_some()
}

/// Turns rows into entries. Every row whose id appears more than once is a problem, none of
/// them an object: which of them is right cannot be told.
fn resolve_duplicates(rows: Vec<Row>, options: &CsvOptions) -> Vec<Entry> {
    let mut lines_by_id: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for row in &rows {
        if let Some(id) = &row.id {
            lines_by_id.entry(id.as_str()).or_default().push(row.line);
        }
    }
    let duplicated: BTreeMap<String, Vec<u64>> = lines_by_id
        .into_iter()
        .filter(|(_, lines)| lines.len() > 1)
        .map(|(id, lines)| (id.to_owned(), lines))
        .collect();
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let location = format!("line {}", row.line);
        let dup = row.id.as_ref().and_then(|id| duplicated.get(id));
        let problem = |message: String, id: Option<String>| {
            let mut p = RecordProblem::new(location.clone(), message);
            p.id = id.map(SourceId::new);
            Entry::Problem(p)
        };
        if let (Some(lines), Some(id)) = (dup, &row.id) {
            let others: Vec<String> = lines
                .iter()
                .filter(|l| **l != row.line)
                .map(u64::to_string)
                .collect();
            let message = format!(
                "duplicate id {id:?} ({} {id:?} is also on line {}): none of its records is imported",
                options.id_attribute,
                others.join(", ")
            );
            entries.push(problem(message, row.id.clone()));
            continue;
        }
        match row.outcome {
            None => {}
            Some(Ok(resource)) => {
                if let Some(id) = row.id {
                    entries.push(Entry::Object(SourceObject::new(id, resource)));
                }
            }
            Some(Err(message)) => entries.push(problem(message, row.id)),
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_the_documented_spellings_only() {
        for t in ["true", "TRUE", "Yes", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "False", "NO", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for x in ["", "y", "2", "on", "truee"] {
            assert_eq!(parse_bool(x), None, "{x}");
        }
    }

    #[test]
    fn datetimes_need_a_zone_and_an_upper_case_t() {
        assert!(is_datetime("2021-05-01T00:00:00Z"));
        assert!(is_datetime("2021-05-01T00:00:00-05:00"));
        assert!(!is_datetime("2021-05-01"));
        assert!(!is_datetime("2021-05-01T00:00:00"));
        assert!(!is_datetime("2021-05-01t00:00:00Z"));
        assert!(!is_datetime("2021-13-01T00:00:00Z"));
    }

    #[test]
    fn the_bom_is_stripped_once() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBFa,b"), b"a,b");
        assert_eq!(strip_bom(b"a,b"), b"a,b");
    }
}
