//! Attribute paths: `userName`, `name.givenName`, `emails[type eq "work"].value` and
//! URN-qualified paths such as
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.

use std::fmt;
use std::str::FromStr;

use crate::filter::Filter;
use crate::{Error, Limits, Result};

/// A parsed SCIM attribute path (RFC 7644 §3.10 `attrPath`, and the PATCH `path` of §3.5.2).
///
/// The grammar is `[URN ":"] name ["[" filter "]"] ["." subAttribute]`. Names keep the spelling
/// they were written with; SCIM compares them case-insensitively (RFC 7643 §2.1), and so do
/// [`AttributePath::eq_ignore_case`] and everything in this crate that resolves a path.
///
/// ```
/// use scim_model::AttributePath;
///
/// let p: AttributePath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
///     .parse()
///     .unwrap();
/// assert_eq!(p.urn(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
/// assert_eq!(p.name(), "manager");
/// assert_eq!(p.sub_attribute(), Some("value"));
/// assert_eq!(p.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AttributePath {
    pub(crate) urn: Option<String>,
    pub(crate) name: String,
    pub(crate) filter: Option<Box<Filter>>,
    pub(crate) sub_attribute: Option<String>,
}

impl AttributePath {
    /// A path to a top-level attribute, e.g. `AttributePath::new("userName")`.
    ///
    /// The name is taken as given; use [`AttributePath::parse`] for text that may hold a URN,
    /// a sub-attribute or a filter.
    pub fn new(name: impl Into<String>) -> Self {
        AttributePath {
            urn: None,
            name: name.into(),
            filter: None,
            sub_attribute: None,
        }
    }

    /// Parses a path with the default [`Limits`].
    pub fn parse(input: &str) -> Result<Self> {
        Self::parse_with(input, &Limits::DEFAULT)
    }

    /// Parses a path with the given limits (length and filter nesting).
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Self> {
        crate::filter::parser::parse_path(input, limits)
    }

    /// Sets the schema URN prefix.
    pub fn with_urn(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }

    /// Sets the sub-attribute, e.g. `givenName` in `name.givenName`.
    pub fn with_sub_attribute(mut self, sub: impl Into<String>) -> Self {
        self.sub_attribute = Some(sub.into());
        self
    }

    /// Sets the value filter, e.g. `type eq "work"` in `emails[type eq "work"]`.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(Box::new(filter));
        self
    }

    /// The schema URN the path was qualified with, if any.
    pub fn urn(&self) -> Option<&str> {
        self.urn.as_deref()
    }

    /// The attribute name (after the URN, before any filter or sub-attribute).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value filter in brackets, if any.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_deref()
    }

    /// The sub-attribute after the dot, if any.
    pub fn sub_attribute(&self) -> Option<&str> {
        self.sub_attribute.as_deref()
    }

    /// Compares two paths as SCIM does: names and URNs case-insensitively, filters exactly.
    pub fn eq_ignore_case(&self, other: &AttributePath) -> bool {
        fn opt_eq(a: Option<&str>, b: Option<&str>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
        }
        opt_eq(self.urn(), other.urn())
            && self.name.eq_ignore_ascii_case(&other.name)
            && opt_eq(self.sub_attribute(), other.sub_attribute())
            && self.filter == other.filter
    }

    /// The same path without its filter: `emails[type eq "work"].value` → `emails.value`.
    pub fn without_filter(&self) -> AttributePath {
        AttributePath {
            urn: self.urn.clone(),
            name: self.name.clone(),
            filter: None,
            sub_attribute: self.sub_attribute.clone(),
        }
    }
}

impl FromStr for AttributePath {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        AttributePath::parse(s)
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for AttributePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AttributePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        AttributePath::parse(&s).map_err(serde::de::Error::custom)
    }
}
