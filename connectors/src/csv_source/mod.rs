//! [`CsvSource`]: an HR export as a CSV file — the flat-file source connector.

mod options;
mod parse;

use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use scim_model::Resource;

pub use options::{CsvOptions, DEFAULT_PAGE_SIZE};
use parse::Entry;

use crate::source::{ChangePage, ImportPage, SourceCapabilities, SourceConnector};
use crate::types::{ObjectType, PageToken, SourceId, Watermark};
use crate::{Error, Result};

/// A source that reads identities from a CSV file, as HR systems export them.
///
/// # The file
///
/// - **Header.** The first row names the columns; each header cell is a SCIM attribute path
///   (`userName`, `name.givenName`, `emails[type eq "work"].value`, `active`,
///   `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, a custom
///   extension's `urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate`), or a
///   header mapped to a path with [`CsvOptions::with_column`]. A cell that is neither, two
///   columns for the same path, a read-only attribute (`meta.created`), or no column for the
///   id attribute is an error of the whole file that names the column (1-based) and the cell:
///   [`CsvSource::open`] fails with it, and so does an import of a file replaced by one with
///   such a header.
/// - **Records.** One object per record, identified by the cell of the id column
///   ([`CsvOptions::id_attribute`], `externalId` by default). Each non-empty cell is written
///   at its path, as a SCIM PATCH `add` would (so `emails[type eq "work"].value` creates the
///   work email, and an extension's URN joins `schemas`). Empty cells are absent attributes,
///   never empty strings. Every resource has the configured `schemas` plus the URN of each
///   extension the header names.
/// - **Types**, from [`CsvOptions::registry`]: booleans are `true`/`false`, `yes`/`no` or
///   `1`/`0` in any case; integers and decimals become JSON numbers; dateTimes must be
///   RFC 3339 instants with a zone (`2021-05-01T00:00:00Z`, `…-05:00`) and are kept as
///   written. Attributes the registry does not know (an unregistered extension) are strings.
/// - **Encoding.** UTF-8, with or without a byte order mark. Quoted cells may hold the
///   delimiter, doubled quotes (`""`) and line breaks. Blank lines are skipped.
///
/// # Bad records
///
/// A record that cannot be read is reported in [`ImportPage::problems`] and the import goes
/// on. Its location is `line N`, the physical line on which the record starts (a quoted cell
/// with line breaks before it moves later records down, as an editor shows them), with the
/// record's id when it could be read. Bad records are: the wrong number of cells, an empty or
/// non-UTF-8 id, a cell that is not UTF-8, a value that does not fit its attribute's type.
/// **Duplicate ids**: every record of an id that appears more than once is a problem and none
/// of them is imported, since which one is right cannot be told (ids compare exactly).
///
/// # Imports and pages
///
/// No delta support: [`SourceConnector::changes`] and
/// [`SourceConnector::current_watermark`] are [`Error::Unsupported`]; the engine diffs each
/// full import against what it stored.
///
/// The first page of an import (`page` = `None`) reads and parses the whole file and holds the
/// result in memory until its last page is served, so one import sees one version of the file
/// even when the file is replaced meanwhile (memory: the parsed resources of the file, about
/// a kilobyte per record). Pages hold [`CsvOptions::page_size`] records each, objects and
/// problems together, in file order. A page token names the offset *and* the file version it
/// belongs to (the file's length and a hash of its content): if the file changed since the
/// import began, a later page is [`Error::ResyncRequired`] — start the import again — never a
/// mix of two files. Every new import reads the file again.
///
/// [`SourceConnector::get`] reads the file again and returns that id's resource; `None` when
/// no record has it; an error when its record is bad or its id is duplicated.
///
/// The file is read with blocking I/O inside the call (it is a local file).
///
/// # Errors
///
/// A failed read is an error, never an empty import, so the engine deletes nothing because of
/// it: a missing file, an empty file (not even a header) or a bad header is
/// [`Error::Permanent`] (the cycle fails; the next one reads again); no permission to read is
/// [`Error::Fatal`] (a person must act); an interrupted or timed-out read is
/// [`Error::Temporary`].
///
/// ```
/// use connectors::{CsvOptions, CsvSource, ObjectType, SourceConnector};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hr.csv");
/// std::fs::write(&path, "externalId,userName,name.givenName,active\n\
///                        E1,bjensen,Barbara,True\n\
///                        E2,jsmith,,no\n").unwrap();
///
/// let source = CsvSource::open(&path, CsvOptions::default()).unwrap();
/// # futures::executor::block_on(async {
/// let page = source.import_page(&ObjectType::USER, None).await.unwrap();
/// assert_eq!(page.objects.len(), 2);
/// let bjensen = &page.objects[0].resource;
/// assert_eq!(bjensen.external_id(), Some("E1"));
/// assert_eq!(bjensen.get("active"), Some(&serde_json::json!(true)));
/// assert!(page.objects[1].resource.get("name").is_none()); // empty cell: absent
/// # });
/// ```
#[derive(Debug)]
pub struct CsvSource {
    path: PathBuf,
    name: String,
    options: CsvOptions,
    /// The parsed file of the import under way, until its last page is served.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

/// One version of the file, parsed.
#[derive(Debug)]
struct Snapshot {
    identity: Identity,
    entries: Vec<Entry>,
}

/// What tells two versions of the file apart: its length and a hash of its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Identity {
    len: u64,
    hash: u64,
}

impl Identity {
    fn of(bytes: &[u8]) -> Self {
        // FNV-1a, 64 bits: stable across runs and platforms, and enough to tell a rewritten
        // file from the one an import began with.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Identity {
            len: bytes.len() as u64,
            hash,
        }
    }
}

/// A failed read, classified: no permission is fatal (a person must act), an interrupted or
/// timed-out read temporary, anything else (a missing file) permanent.
fn io_error(connector: &str, path: &Path, e: &std::io::Error) -> Error {
    let message = format!("cannot read {}: {e}", path.display());
    match e.kind() {
        IoKind::PermissionDenied => Error::Fatal {
            connector: connector.to_owned(),
            message,
        },
        IoKind::Interrupted | IoKind::TimedOut | IoKind::WouldBlock => {
            Error::temporary(connector, message)
        }
        _ => Error::permanent(connector, message),
    }
}

/// A page token: `v1.<length>.<hash>.<offset>`, lengths and hash in hex.
fn encode_token(identity: Identity, offset: usize) -> PageToken {
    PageToken::new(format!(
        "v1.{:x}.{:016x}.{offset}",
        identity.len, identity.hash
    ))
}

fn decode_token(token: &PageToken) -> Option<(Identity, usize)> {
    let mut parts = token.as_str().split('.');
    if parts.next()? != "v1" {
        return None;
    }
    let len = u64::from_str_radix(parts.next()?, 16).ok()?;
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    let offset = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((Identity { len, hash }, offset))
}

impl CsvSource {
    /// A source over the file at `path`. Reads the file once to check its header.
    ///
    /// # Errors
    ///
    /// [`Error::Permanent`] when the file is missing or empty, or its header is bad (naming
    /// the column and the cell); [`Error::Fatal`] when it may not be read. See the type's
    /// documentation.
    pub fn open(path: impl Into<PathBuf>, options: CsvOptions) -> Result<Self> {
        let path = path.into();
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        let source = CsvSource {
            name: format!("csv:{file}"),
            path,
            options,
            snapshot: Mutex::new(None),
        };
        let bytes = source.read()?;
        parse::check_header(&bytes, &source.options).map_err(|m| source.file_error(m))?;
        Ok(source)
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options the file is read with.
    pub fn options(&self) -> &CsvOptions {
        &self.options
    }

    /// The page size, at least 1 (the field is public and may have been set to 0).
    fn page_size(&self) -> usize {
        self.options.page_size.max(1)
    }

    fn file_error(&self, message: impl std::fmt::Display) -> Error {
        Error::permanent(&self.name, format!("{}: {message}", self.path.display()))
    }

    fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| io_error(&self.name, &self.path, &e))
    }

    /// Reads and parses the file as it is now.
    fn load(&self) -> Result<Arc<Snapshot>> {
        let bytes = self.read()?;
        let identity = Identity::of(&bytes);
        let entries = parse::parse(&bytes, &self.options, None).map_err(|m| self.file_error(m))?;
        Ok(Arc::new(Snapshot { identity, entries }))
    }

    fn cache(&self) -> MutexGuard<'_, Option<Arc<Snapshot>>> {
        // The cache holds a finished value or nothing; a panic elsewhere cannot leave it half
        // written.
        self.snapshot.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_type(&self, object_type: &ObjectType) -> Result<()> {
        if *object_type == self.options.object_type {
            Ok(())
        } else {
            Err(Error::permanent(
                &self.name,
                format!(
                    "{} holds {} objects only, not {object_type}",
                    self.path.display(),
                    self.options.object_type
                ),
            ))
        }
    }

    /// The snapshot a page token belongs to: the cached one, or the file read again if it is
    /// still the same version.
    fn snapshot_for(&self, identity: Identity) -> Result<Arc<Snapshot>> {
        if let Some(s) = self.cache().as_ref().filter(|s| s.identity == identity) {
            return Ok(Arc::clone(s));
        }
        let fresh = self.load()?;
        if fresh.identity != identity {
            return Err(Error::ResyncRequired {
                connector: self.name.clone(),
                message: format!(
                    "{} changed since this import began (the page token is for another \
                     version of the file): start the import again from its first page",
                    self.path.display()
                ),
            });
        }
        *self.cache() = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    fn serve(&self, snapshot: &Arc<Snapshot>, offset: usize) -> ImportPage {
        let len = snapshot.entries.len();
        let end = offset.saturating_add(self.page_size()).min(len);
        let mut page = ImportPage::default();
        for entry in snapshot.entries.get(offset..end).unwrap_or_default() {
            match entry {
                Entry::Object(o) => page.objects.push(o.clone()),
                Entry::Problem(p) => page.problems.push(p.clone()),
            }
        }
        if end < len {
            page.next = Some(encode_token(snapshot.identity, end));
        } else {
            // The last page: free the snapshot (a repeated request reads the file again).
            let mut cache = self.cache();
            if cache.as_ref().is_some_and(|c| Arc::ptr_eq(c, snapshot)) {
                *cache = None;
            }
        }
        page
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl SourceConnector for CsvSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> SourceCapabilities {
        SourceCapabilities::new([self.options.object_type.clone()])
            .with_max_page_size(self.page_size())
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> Result<ImportPage> {
        self.check_type(object_type)?;
        let Some(token) = page else {
            let snapshot = self.load()?;
            *self.cache() = Some(Arc::clone(&snapshot));
            return Ok(self.serve(&snapshot, 0));
        };
        let (identity, offset) = decode_token(token).ok_or_else(|| {
            Error::permanent(
                &self.name,
                format!("{token:?} is not a page token of this source"),
            )
        })?;
        let snapshot = self.snapshot_for(identity)?;
        if offset > snapshot.entries.len() {
            return Err(Error::permanent(
                &self.name,
                format!("page token {token:?} points past the end of the file"),
            ));
        }
        Ok(self.serve(&snapshot, offset))
    }

    async fn changes(
        &self,
        _object_type: &ObjectType,
        _since: &Watermark,
        _page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        Err(Error::unsupported(&self.name, "changes"))
    }

    async fn current_watermark(&self, _object_type: &ObjectType) -> Result<Watermark> {
        Err(Error::unsupported(&self.name, "current_watermark"))
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        self.check_type(object_type)?;
        let bytes = self.read()?;
        let entries = parse::parse(&bytes, &self.options, Some(id.as_str()))
            .map_err(|m| self.file_error(m))?;
        let mut found = None;
        for entry in entries {
            match entry {
                Entry::Object(o) if o.id == *id => found = Some(o.resource),
                Entry::Problem(p) if p.id.as_ref() == Some(id) => {
                    return Err(Error::permanent(
                        &self.name,
                        format!(
                            "{}: {} {:?} at {}: {}",
                            self.path.display(),
                            self.options.object_type,
                            id.as_str(),
                            p.location,
                            p.message
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let id = Identity::of(b"externalId\nE1\n");
        let t = encode_token(id, 1000);
        assert_eq!(decode_token(&t), Some((id, 1000)));
        for bad in [
            "",
            "v1",
            "v2.1.2.3",
            "v1.zz.00.1",
            "v1.1.2.3.4",
            "v1.1.2.-1",
        ] {
            assert_eq!(decode_token(&PageToken::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn read_failures_are_classified() {
        let p = Path::new("/hr/export.csv");
        let kind = |k: IoKind| io_error("csv:export.csv", p, &std::io::Error::from(k)).kind();
        assert_eq!(kind(IoKind::PermissionDenied), crate::ErrorKind::Fatal);
        assert_eq!(kind(IoKind::NotFound), crate::ErrorKind::Permanent);
        assert_eq!(kind(IoKind::TimedOut), crate::ErrorKind::Temporary);
        assert_eq!(kind(IoKind::Interrupted), crate::ErrorKind::Temporary);
        let e = io_error("csv:export.csv", p, &std::io::Error::from(IoKind::NotFound));
        assert!(
            e.to_string()
                .starts_with("csv:export.csv: cannot read /hr/export.csv: ")
        );
    }

    #[test]
    fn identity_tells_same_length_files_apart() {
        assert_ne!(Identity::of(b"a,b\n1,2\n"), Identity::of(b"a,b\n1,3\n"));
        assert_eq!(Identity::of(b"a,b\n1,2\n"), Identity::of(b"a,b\n1,2\n"));
    }
}
