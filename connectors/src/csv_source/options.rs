//! [`CsvOptions`]: how a [`CsvSource`](super::CsvSource) reads its file.

use scim_model::{AttributePath, GROUP_SCHEMA, SchemaRegistry, USER_SCHEMA};

use crate::types::ObjectType;

/// The default number of records per page.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// How a [`CsvSource`](super::CsvSource) reads its file: which column identifies a record,
/// what the objects are, how headers map to attribute paths, how cells are typed.
///
/// Built with [`CsvOptions::default`] and the `with_*` methods:
///
/// ```
/// use connectors::CsvOptions;
/// use scim_model::AttributePath;
///
/// let options = CsvOptions::default()
///     .with_id_attribute(AttributePath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").unwrap())
///     .with_column("Employee ID", AttributePath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").unwrap())
///     .with_column("First Name", AttributePath::parse("name.givenName").unwrap())
///     .with_delimiter(b';')
///     .with_page_size(500);
/// assert_eq!(options.page_size, 500);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CsvOptions {
    /// The attribute whose column identifies a record (the job's `idAttribute`); its cell is
    /// the object's [`SourceId`](crate::SourceId). Default: `externalId`. When it is `id`, the
    /// cell becomes the resource's `id`; any other path is also written into the resource
    /// like every other column.
    pub id_attribute: AttributePath,
    /// The type of every object in the file. Default: `User`.
    pub object_type: ObjectType,
    /// The cell separator. Default: `,`.
    pub delimiter: u8,
    /// Header cells that are not attribute paths, and the path each stands for (e.g.
    /// `"Employee ID"` → `externalId`). Headers are compared case-insensitively, after
    /// trimming.
    pub columns: Vec<(String, AttributePath)>,
    /// Header cells whose columns are not read at all (compared case-insensitively).
    pub ignored_columns: Vec<String>,
    /// The `schemas` every resource starts with, base schema first. Default: the core User
    /// schema for `User`, the core Group schema for `Group`, nothing for other types (which
    /// must set it). The URN of every extension that a header path names is added after these.
    pub schemas: Vec<String>,
    /// The schemas that type the cells: booleans, integers and decimals are converted, and
    /// every value is checked against its attribute's type. Attributes the registry does not
    /// know are kept as strings. Default: [`SchemaRegistry::default`] (RFC 7643's User, Group
    /// and Enterprise User); register custom extensions to type their columns.
    pub registry: SchemaRegistry,
    /// How many records one page holds (objects and problems together). Default: 1000.
    pub page_size: usize,
    /// Whether whitespace around cells (and header cells) is removed. Default: `true`, so a
    /// cell of spaces is empty, i.e. an absent attribute.
    pub trim: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            id_attribute: AttributePath::new("externalId"),
            object_type: ObjectType::USER,
            delimiter: b',',
            columns: Vec::new(),
            ignored_columns: Vec::new(),
            schemas: vec![USER_SCHEMA.to_owned()],
            registry: SchemaRegistry::default(),
            page_size: DEFAULT_PAGE_SIZE,
            trim: true,
        }
    }
}

impl CsvOptions {
    /// Sets the attribute whose column identifies a record.
    #[must_use]
    pub fn with_id_attribute(mut self, path: AttributePath) -> Self {
        self.id_attribute = path;
        self
    }

    /// Sets the object type, and the default `schemas` of `User` and `Group` with it (core
    /// User or core Group; other types start with no schema: call
    /// [`CsvOptions::with_schemas`] after this).
    #[must_use]
    pub fn with_object_type(mut self, object_type: ObjectType) -> Self {
        self.schemas = if object_type == ObjectType::USER {
            vec![USER_SCHEMA.to_owned()]
        } else if object_type == ObjectType::GROUP {
            vec![GROUP_SCHEMA.to_owned()]
        } else {
            Vec::new()
        };
        self.object_type = object_type;
        self
    }

    /// Sets the cell separator, e.g. `b';'` or `b'\t'`.
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Maps a header cell to an attribute path, for headers that are not paths themselves.
    #[must_use]
    pub fn with_column(mut self, header: impl Into<String>, path: AttributePath) -> Self {
        self.columns.push((header.into(), path));
        self
    }

    /// Skips the column with this header.
    #[must_use]
    pub fn with_ignored_column(mut self, header: impl Into<String>) -> Self {
        self.ignored_columns.push(header.into());
        self
    }

    /// Sets the `schemas` every resource starts with, base schema first.
    #[must_use]
    pub fn with_schemas<I, S>(mut self, schemas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.schemas = schemas.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the schema registry that types the cells.
    #[must_use]
    pub fn with_registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// Sets the number of records per page (at least 1).
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets whether whitespace around cells is removed.
    #[must_use]
    pub fn with_trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self
    }

    /// The path a header cell stands for: its mapping if it has one, else the cell parsed as
    /// a path. `Ok(None)` for an ignored column.
    pub(crate) fn path_for(&self, header: &str) -> scim_model::Result<Option<AttributePath>> {
        if self
            .ignored_columns
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(header))
        {
            return Ok(None);
        }
        if let Some((_, path)) = self
            .columns
            .iter()
            .find(|(h, _)| h.trim().eq_ignore_ascii_case(header))
        {
            return Ok(Some(path.clone()));
        }
        AttributePath::parse(header).map(Some)
    }
}
