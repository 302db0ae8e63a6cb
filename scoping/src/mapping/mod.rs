//! Attribute mappings: what the target should look like.
//!
//! A mapping fills one target attribute from a source [`Resource`](scim_model::Resource): a source attribute
//! (`Direct`), a fixed value (`Constant`), an expression (`Expression`) or nothing (`None`,
//! which only supplies a default value). The JSON shape is the one `idflow map --mappings`
//! reads (field names after Entra's Graph `attributeMapping`):
//!
//! ```json
//! [{"targetAttribute": "userName", "source": {"type": "Direct", "path": "userPrincipalName"},
//!   "matchingPriority": 1},
//!  {"targetAttribute": "phoneNumbers[type eq \"work\"].value",
//!   "source": {"type": "Direct", "path": "telephoneNumber"}},
//!  {"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"},
//!   "defaultValue": "Employee", "flowType": "ObjectAddOnly"}]
//! ```
//!
//! A [`MappingSet`] is checked when loaded and then computes, for one source object, what a
//! create sends ([`MappingSet::create_attributes`], [`MappingSet::create_resource`]) or the
//! minimal PATCH an update sends to the current target ([`MappingSet::update`]). For a loop
//! over many objects, [`MappingSet::create_attributes_into`] writes the same attributes into
//! one map reused from object to object (its keys and string buffers are kept): less than
//! half the instructions of a new map each time.
//!
//! # Semantics
//!
//! - **Empty values.** A source value that is missing, `null`, `""`, `[]` or `{}` is *null*.
//!   A null never clears a target value that has one, unless the mapping sets
//!   `flowNullValues` (Entra's "Flow null values"): then, on update, it removes the target
//!   value (flow type `Always` only).
//! - **Default values** (`defaultValue`) apply **on create only**, when the source is null
//!   (Entra's portal behaviour). A `None` mapping also fills an empty target with its
//!   default on update ("if the target is ever empty it is filled with the default value").
//! - **Flow types** on update: `Always` adds or replaces when the value differs;
//!   `ObjectAddOnly` flows on create only; `AttributeAddOnly` only when the target has no
//!   value; `ValueAddOnly` adds the source's values the target lacks and never removes any
//!   (for a single value: as `Always`, but a null never clears); `MultiValueAddOnly` adds
//!   missing values to a multi-valued target and otherwise only fills an empty target. On
//!   create every flow type flows.
//! - **Comparison.** Strings compare exactly (a change of case flows); a boolean equals the
//!   strings `"True"`/`"False"` in any case and a number its decimal text (what Entra sends);
//!   arrays compare as sets.
//! - **Value-filter target paths** (`phoneNumbers[type eq "work"].value`,
//!   `roles[primary eq "True"].value`) read the first element the filter selects; when no
//!   element matches, the value is written with `add`, which creates the element (as Entra
//!   does). Filter comparisons of strings ignore case, and `"True"` equals `true`.
//! - **Expressions** are parsed when the set is loaded (a syntax error is
//!   [`Error::InvalidMapping`] with the position) and evaluated with the
//!   [`EvalContext`] the caller passes (clock, random generator, uniqueness check for
//!   `SelectUniqueValue`); a failure is [`Error::MappingExpression`] naming the target.
//!   `IgnoreFlowIfNullOrEmpty` leaves the attribute out of the flow: absent on create (no
//!   default value), untouched on update (even with `flowNullValues`). A value produced
//!   through `Redact` flows as is; [`MappingSet::create_attributes_for_log`] and
//!   [`MappingSet::redacted_targets`] let logs show `[Redact]` instead.
//! - **Matching attributes** are the mappings with `matchingPriority` > 0; they are tried
//!   lowest priority first ([`MappingSet::matching_values`]).
//!
//! # Checked when loaded
//!
//! Every target and source path parses; no two mappings write the same target; `id` is not a
//! target; an expression is at most 10,000 characters; there is at least one matching
//! attribute, no two share a priority, every one has a source, and none uses
//! `SelectUniqueValue` (a unique value generated at create cannot be matched on).

mod build;
mod diff;
pub(crate) mod flow;

use scim_model::{AttributePath, SchemaRegistry, USER_SCHEMA};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::expr::EvalContext;
use crate::{Error, Result};

/// Entra's limit on an expression's length.
pub const MAX_EXPRESSION_LEN: usize = crate::expr::MAX_LENGTH;

/// One attribute mapping, as configured (plain data, serde).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct AttributeMapping {
    /// The target attribute path, e.g. `name.givenName` or `phoneNumbers[type eq "work"].value`.
    pub target_attribute: String,
    /// Where the value comes from.
    pub source: MappingSource,
    /// The value used on create when the source is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    /// When the value flows (default `Always`).
    #[serde(default)]
    pub flow_type: FlowType,
    /// Greater than 0 for a matching attribute; the lowest is tried first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_priority: Option<u32>,
    /// Whether a null source clears the target on update (Entra's "Flow null values").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flow_null_values: bool,
}

impl AttributeMapping {
    /// A mapping with the defaults: flow `Always`, no default value, not matching.
    pub fn new(target_attribute: impl Into<String>, source: MappingSource) -> Self {
        AttributeMapping {
            target_attribute: target_attribute.into(),
            source,
            default_value: None,
            flow_type: FlowType::Always,
            matching_priority: None,
            flow_null_values: false,
        }
    }

    /// Sets the default value used on create.
    #[must_use]
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default_value = Some(value.into());
        self
    }

    /// Sets the flow type.
    #[must_use]
    pub fn with_flow_type(mut self, flow_type: FlowType) -> Self {
        self.flow_type = flow_type;
        self
    }

    /// Makes this a matching attribute with the given priority (> 0; lowest first).
    #[must_use]
    pub fn with_matching_priority(mut self, priority: u32) -> Self {
        self.matching_priority = Some(priority);
        self
    }

    /// Sets whether a null source clears the target on update.
    #[must_use]
    pub fn with_flow_null_values(mut self, flow: bool) -> Self {
        self.flow_null_values = flow;
        self
    }

    /// Whether this is a matching attribute.
    pub fn is_matching(&self) -> bool {
        self.matching_priority.is_some_and(|p| p > 0)
    }
}

/// Where a mapping's value comes from: `{"type": "Direct", "path": …}`,
/// `{"type": "Constant", "value": …}`, `{"type": "Expression", "expression": …}` or
/// `{"type": "None"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
#[non_exhaustive]
pub enum MappingSource {
    /// The value of a source attribute.
    Direct {
        /// A SCIM attribute path, URN-qualified extension paths included.
        path: String,
    },
    /// A fixed value.
    Constant {
        /// The value (a string in Entra; any JSON value here).
        value: Value,
    },
    /// The result of an expression in Entra's expression language.
    Expression {
        /// The expression's text.
        expression: String,
    },
    /// No value: the mapping only supplies its default value.
    None,
}

impl MappingSource {
    /// A `Direct` source.
    pub fn direct(path: impl Into<String>) -> Self {
        MappingSource::Direct { path: path.into() }
    }

    /// A `Constant` source.
    pub fn constant(value: impl Into<Value>) -> Self {
        MappingSource::Constant {
            value: value.into(),
        }
    }

    /// An `Expression` source.
    pub fn expression(text: impl Into<String>) -> Self {
        MappingSource::Expression {
            expression: text.into(),
        }
    }
}

/// When a mapping's value flows (Graph's `flowType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FlowType {
    /// On create and on every update (the default).
    #[default]
    Always,
    /// On create only (the portal's "Only during object creation").
    ObjectAddOnly,
    /// Only when the target has no value.
    AttributeAddOnly,
    /// Adds values, never removes one.
    ValueAddOnly,
    /// Only adds to a multi-valued target.
    MultiValueAddOnly,
}

/// A checked set of attribute mappings for one object type.
///
/// ```
/// use scoping::MappingSet;
///
/// let set = MappingSet::from_json_str(r#"[
///   {"targetAttribute": "userName", "source": {"type": "Direct", "path": "mail"}, "matchingPriority": 1},
///   {"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "defaultValue": "Staff"}
/// ]"#)?;
/// let source = serde_json::from_str(r#"{"mail": "ann@contoso.com"}"#)?;
/// let ctx = scoping::EvalContext::new(chrono::DateTime::UNIX_EPOCH);
/// let create = set.create_attributes(&source, &ctx)?;
/// assert_eq!(serde_json::Value::Object(create), serde_json::json!({"userName": "ann@contoso.com", "title": "Staff"}));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct MappingSet {
    mappings: Vec<flow::CompiledMapping>,
    /// Indexes of the matching mappings, lowest priority first.
    matching: Vec<usize>,
    target_schema: String,
    registry: SchemaRegistry,
    /// Every mapping's `targetAttribute` with the value `null`, in mapping order: the start
    /// of each [`MappingSet::create_attributes`]. `None` when two mappings spell their
    /// target alike.
    create_template: Option<Map<String, Value>>,
    /// How each mapping's value is written by [`MappingSet::create_resource`], resolved
    /// against `registry` for a resource of `target_schema` (in mapping order).
    create_plans: Vec<build::CreatePlan>,
    /// The capacity of the top-level object of a resource built for a create.
    create_capacity: usize,
}

impl MappingSet {
    /// Checks the mappings (see the [module documentation](self)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMapping`] naming the first bad mapping's index and target,
    /// [`Error::InvalidMappingSet`] for a set without a matching attribute or with two matching
    /// attributes of the same priority.
    pub fn new(mappings: Vec<AttributeMapping>) -> Result<Self> {
        let mut compiled: Vec<flow::CompiledMapping> = Vec::with_capacity(mappings.len());
        for (index, spec) in mappings.into_iter().enumerate() {
            let m = flow::CompiledMapping::new(index, spec)?;
            if let Some(other) = compiled.iter().find(|o| o.target.eq_ignore_case(&m.target)) {
                return Err(m.invalid(format!(
                    "mapping {} already writes this target attribute",
                    other.index
                )));
            }
            compiled.push(m);
        }
        let mut matching: Vec<usize> = (0..compiled.len())
            .filter(|&i| compiled[i].spec.is_matching())
            .collect();
        if matching.is_empty() {
            return Err(Error::InvalidMappingSet {
                message: "no matching attribute: set matchingPriority (1 = tried first) on at least one mapping".to_owned(),
            });
        }
        matching.sort_by_key(|&i| compiled[i].spec.matching_priority);
        for pair in matching.windows(2) {
            if let [a, b] = pair
                && compiled[*a].spec.matching_priority == compiled[*b].spec.matching_priority
            {
                return Err(Error::InvalidMappingSet {
                    message: format!(
                        "mappings {} ({}) and {} ({}) have the same matchingPriority",
                        compiled[*a].index,
                        compiled[*a].spec.target_attribute,
                        compiled[*b].index,
                        compiled[*b].spec.target_attribute
                    ),
                });
            }
        }
        let template: Map<String, Value> = compiled
            .iter()
            .map(|m| (m.spec.target_attribute.clone(), Value::Null))
            .collect();
        Ok(MappingSet {
            create_template: (template.len() == compiled.len()).then_some(template),
            mappings: compiled,
            matching,
            target_schema: USER_SCHEMA.to_owned(),
            registry: SchemaRegistry::default(),
            create_plans: Vec::new(),
            create_capacity: 1,
        }
        .with_create_plans())
    }

    /// Resolves every target for [`MappingSet::create_resource`] (again, after the target
    /// schema or the registry changed).
    fn with_create_plans(mut self) -> Self {
        self.create_plans = self
            .mappings
            .iter()
            .map(|m| build::CreatePlan::new(&m.target, &self.target_schema, &self.registry))
            .collect();
        let targets: Vec<&AttributePath> = self.mappings.iter().map(|m| &m.target).collect();
        self.create_capacity = build::size(&mut self.create_plans, &targets);
        self
    }

    /// Reads and checks a JSON array of mappings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] for text of the wrong shape, otherwise as [`MappingSet::new`].
    pub fn from_json_str(text: &str) -> Result<Self> {
        let mappings: Vec<AttributeMapping> =
            serde_json::from_str(text).map_err(|e| Error::InvalidJson {
                what: "mappings",
                message: e.to_string(),
            })?;
        MappingSet::new(mappings)
    }

    /// Sets the base schema of resources built for a create (default: the core User schema).
    #[must_use]
    pub fn with_target_schema(mut self, urn: impl Into<String>) -> Self {
        self.target_schema = urn.into();
        self.with_create_plans()
    }

    /// Sets the schema registry used to build the target resource of a create (default:
    /// [`SchemaRegistry::default`]).
    #[must_use]
    pub fn with_registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = registry;
        self.with_create_plans()
    }

    /// The mappings, in the order given.
    pub fn mappings(&self) -> impl Iterator<Item = &AttributeMapping> {
        self.mappings.iter().map(|m| &m.spec)
    }

    /// The matching mappings, lowest priority first.
    pub fn matching_mappings(&self) -> impl Iterator<Item = &AttributeMapping> {
        self.matching.iter().map(|&i| &self.mappings[i].spec)
    }
}

impl TryFrom<Vec<AttributeMapping>> for MappingSet {
    type Error = Error;

    fn try_from(mappings: Vec<AttributeMapping>) -> Result<Self> {
        MappingSet::new(mappings)
    }
}

impl<'de> Deserialize<'de> for MappingSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mappings = Vec::<AttributeMapping>::deserialize(d)?;
        MappingSet::new(mappings).map_err(serde::de::Error::custom)
    }
}

impl Serialize for MappingSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.mappings())
    }
}

impl MappingSet {
    /// The parsed target path of each matching mapping with the value the source gives it,
    /// lowest priority first; mappings whose value is null (or ignored) are left out.
    ///
    /// # Errors
    ///
    /// [`Error::MappingFailed`] when a matching mapping's value cannot be computed.
    pub fn matching_values(
        &self,
        source: &scim_model::Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<Vec<(AttributePath, Value)>> {
        let mut out = Vec::new();
        for &i in &self.matching {
            let m = &self.mappings[i];
            if let (flow::Flow::Value(v), _) = m.flow(source, ctx)? {
                out.push((m.target.clone(), v));
            }
        }
        Ok(out)
    }
}
