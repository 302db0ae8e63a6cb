//! What a create sends, and the minimal PATCH an update sends.

use scim_model::patch::PatchOp;
use scim_model::{Resource, get_ci};
use serde_json::{Map, Value};

use super::flow::{CompiledMapping, Flow, is_empty};
use super::{FlowType, MappingSet};
use crate::expr::EvalContext;
use crate::{Error, Result};

impl MappingSet {
    /// What a create sends: a JSON object keyed by each flowing mapping's `targetAttribute`,
    /// exactly as written, with its value. A null source gives the default value if the
    /// mapping has one; otherwise the mapping is absent, as is one whose expression ignored
    /// the flow.
    ///
    /// # Errors
    ///
    /// [`Error::MappingFailed`] naming the mapping whose value cannot be computed.
    pub fn create_attributes(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<Map<String, Value>> {
        let Some(template) = &self.create_template else {
            let mut out = Map::with_capacity(self.mappings.len());
            for m in &self.mappings {
                if let Some((v, _)) = create_value(m, source, ctx)? {
                    out.insert(m.spec.target_attribute.clone(), v);
                }
            }
            return Ok(out);
        };
        std::hint::black_box(crate::read::warm(source));
        // Every target key, in mapping order, copied with its hash table rather than hashed
        // again; each value is written in place, and the keys of mappings that do not flow
        // (left `null`: a flowing value is never empty) are removed, keeping the order.
        let mut out = template.clone();
        self.fill(source, ctx, &mut out)?;
        Ok(out)
    }

    /// [`MappingSet::create_attributes`] written into `out`: afterwards `out` holds exactly
    /// what `create_attributes` returns (the same keys in the same order, the same values),
    /// whatever it held before. The same error is returned when there is one; `out` then
    /// holds an unspecified mix of target keys and values (a valid map, set right by the
    /// next successful call).
    ///
    /// This is the form for a loop over many source objects: give it the same map each time
    /// and the keys, the map's hash table and the buffers of its string values are reused
    /// instead of allocated and freed for every object. When `out` holds the previous
    /// object's attributes (the same keys in mapping order, some perhaps left out because
    /// they did not flow), only the values are rewritten; any other content is replaced.
    ///
    /// ```
    /// use scoping::MappingSet;
    ///
    /// let set = MappingSet::from_json_str(r#"[
    ///   {"targetAttribute": "userName", "source": {"type": "Direct", "path": "mail"}, "matchingPriority": 1},
    ///   {"targetAttribute": "title", "source": {"type": "Direct", "path": "jobTitle"}, "defaultValue": "Staff"}
    /// ]"#)?;
    /// let ctx = scoping::EvalContext::new(chrono::DateTime::UNIX_EPOCH);
    /// let mut out = serde_json::Map::new();
    /// for text in [r#"{"mail": "ann@contoso.com", "jobTitle": "Engineer"}"#, r#"{"mail": "bob@contoso.com"}"#] {
    ///     let source = serde_json::from_str(text)?;
    ///     set.create_attributes_into(&source, &ctx, &mut out)?;
    ///     assert_eq!(out, set.create_attributes(&source, &ctx)?);
    /// }
    /// assert_eq!(serde_json::Value::Object(out), serde_json::json!({"userName": "bob@contoso.com", "title": "Staff"}));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MappingSet::create_attributes`].
    pub fn create_attributes_into(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
        out: &mut Map<String, Value>,
    ) -> Result<()> {
        let Some(template) = &self.create_template else {
            *out = self.create_attributes(source, ctx)?;
            return Ok(());
        };
        std::hint::black_box(crate::read::warm(source));
        reshape(out, template);
        // `out` has the template's keys, in order; every slot is written, `null` where the
        // mapping does not flow (a flowing value is never empty), then those keys are removed.
        self.fill(source, ctx, out)
    }

    /// Writes each mapping's value into its slot of `out`, which has the create template's
    /// keys in mapping order, then removes the keys of mappings that do not flow (left `null`:
    /// a flowing value is never empty), keeping the order.
    fn fill(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
        out: &mut Map<String, Value>,
    ) -> Result<()> {
        let mut absent = false;
        for (m, slot) in self.mappings.iter().zip(out.values_mut()) {
            if !m.create_into(source, ctx, slot)? {
                absent = true;
            }
        }
        if absent {
            out.retain(|_, v| !v.is_null());
        }
        Ok(())
    }

    /// As [`MappingSet::create_attributes`], for logs: a value produced through the
    /// expression function `Redact` is shown as the string `[Redact]`.
    ///
    /// # Errors
    ///
    /// As [`MappingSet::create_attributes`].
    pub fn create_attributes_for_log(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<Map<String, Value>> {
        let mut out = Map::with_capacity(self.mappings.len());
        for m in &self.mappings {
            if let Some((v, redacted)) = create_value(m, source, ctx)? {
                let v = if redacted { Value::from(REDACTED) } else { v };
                out.insert(m.spec.target_attribute.clone(), v);
            }
        }
        Ok(out)
    }

    /// The target attributes whose value for `source` came through `Redact`: a log of the
    /// PATCH from [`MappingSet::update`] must show `[Redact]` for operations on these paths.
    ///
    /// # Errors
    ///
    /// As [`MappingSet::create_attributes`].
    pub fn redacted_targets(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for m in &self.mappings {
            if matches!(m.source, super::flow::Source::Expression(_)) && m.flow(source, ctx)?.1 {
                out.push(m.spec.target_attribute.clone());
            }
        }
        Ok(out)
    }

    /// The resource a create sends: the values of [`MappingSet::create_attributes`] written,
    /// as PATCH `add` operations, into an empty resource of the target schema (value-filter
    /// paths create their element; extension attributes their extension block).
    ///
    /// That is the definition; most values are written directly instead, with the same
    /// result, where the outcome of the PATCH is certain (the common path shapes, resolved
    /// against the registry once when the set is built): a mapping whose target or value is
    /// anything else still goes through the PATCH, with its checks and its errors.
    ///
    /// # Errors
    ///
    /// [`Error::MappingFailed`] naming the mapping whose value cannot be computed or written
    /// (a value the schema refuses, say).
    pub fn create_resource(&self, source: &Resource, ctx: &EvalContext<'_>) -> Result<Resource> {
        std::hint::black_box(crate::read::warm(source));
        // As `Resource::new([target_schema])`, sized for the keys the mappings write.
        let mut resource = Resource::default();
        let root = resource.as_object_mut();
        *root = Map::with_capacity(self.create_capacity);
        root.insert(
            "schemas".to_owned(),
            Value::Array(vec![Value::String(self.target_schema.clone())]),
        );
        for (m, plan) in self.mappings.iter().zip(&self.create_plans) {
            if let Some((v, _)) = create_value(m, source, ctx)?
                && let Err(v) = plan.write(resource.as_object_mut(), v)
            {
                self.add_by_patch(&mut resource, m, v)?;
            }
        }
        Ok(resource)
    }

    /// [`MappingSet::create_resource`] as defined: every value written by a PATCH `add`.
    /// The oracle of the tests of the direct writes.
    #[cfg(test)]
    pub(crate) fn create_resource_by_patch(
        &self,
        source: &Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<Resource> {
        let mut resource = Resource::new([self.target_schema.as_str()]);
        for m in &self.mappings {
            if let Some((v, _)) = create_value(m, source, ctx)? {
                self.add_by_patch(&mut resource, m, v)?;
            }
        }
        Ok(resource)
    }

    /// Writes one mapping's value into `resource` by a PATCH `add` of its target.
    fn add_by_patch(&self, resource: &mut Resource, m: &CompiledMapping, v: Value) -> Result<()> {
        PatchOp::new()
            .add(m.target.clone(), v)
            .apply(resource, &self.registry)
            .map_err(|e| Error::MappingFailed {
                target: m.spec.target_attribute.clone(),
                message: e.to_string(),
            })?;
        Ok(())
    }

    /// The minimal PATCH that brings `current` (the target object) up to date with `source`,
    /// honouring each mapping's flow type and the rule that a null source never clears a
    /// target value (unless `flowNullValues`). Empty when nothing changes.
    ///
    /// # Errors
    ///
    /// [`Error::MappingFailed`] naming the mapping whose value cannot be computed.
    pub fn update(
        &self,
        source: &Resource,
        current: &Resource,
        ctx: &EvalContext<'_>,
    ) -> Result<PatchOp> {
        std::hint::black_box(crate::read::warm(source).wrapping_add(crate::read::warm(current)));
        let mut patch = PatchOp::new();
        for m in &self.mappings {
            if m.spec.flow_type == FlowType::ObjectAddOnly {
                continue;
            }
            let now = m.target_reader.read(current);
            match m.flow(source, ctx)?.0 {
                Flow::Ignore => {}
                Flow::Null => {
                    if matches!(m.source, super::flow::Source::None) {
                        if let (None, Some(default)) = (&now, &m.spec.default_value)
                            && !is_empty(default)
                        {
                            patch = patch.add(m.target.clone(), default.clone());
                        }
                    } else if m.spec.flow_null_values
                        && m.spec.flow_type == FlowType::Always
                        && now.is_some()
                    {
                        patch = patch.remove(m.target.clone());
                    }
                }
                Flow::Value(v) => {
                    if let Some(op) = update_value(m, now.as_deref(), v) {
                        patch.push(op);
                    }
                }
            }
        }
        Ok(patch)
    }
}

/// Gives `out` the keys of `template`, in its order: nothing to do when it has them already;
/// when its keys are some of the template's, in the template's order (an earlier output
/// whose absent mappings were removed), the missing ones are inserted (with `null`) where
/// they go; otherwise `out` becomes a copy of `template`. Values of kept keys stay, to be
/// overwritten.
fn reshape(out: &mut Map<String, Value>, template: &Map<String, Value>) {
    let mut have = out.keys().peekable();
    // The template's positions whose key `out` lacks (no allocation when there is none).
    let mut missing: Vec<(usize, &String)> = Vec::new();
    for (i, key) in template.keys().enumerate() {
        if have.peek() == Some(&key) {
            have.next();
        } else {
            missing.push((i, key));
        }
    }
    if have.next().is_some() {
        // A key the template lacks, or the template's keys in another order.
        *out = template.clone();
        return;
    }
    // Inserted in ascending position, each lands where the template has it: the keys before
    // it are all there by then.
    for (i, key) in missing {
        out.shift_insert(i, key.clone(), Value::Null);
    }
}

/// What a log shows instead of a redacted value.
const REDACTED: &str = "[Redact]";

fn create_value(
    m: &CompiledMapping,
    source: &Resource,
    ctx: &EvalContext<'_>,
) -> Result<Option<(Value, bool)>> {
    let (flow, redacted) = m.flow(source, ctx)?;
    Ok(match flow {
        Flow::Value(v) => Some((v, redacted)),
        Flow::Null => m
            .spec
            .default_value
            .clone()
            .filter(|d| !is_empty(d))
            .map(|d| (d, false)),
        Flow::Ignore => None,
    })
}

fn update_value(
    m: &CompiledMapping,
    now: Option<&Value>,
    v: Value,
) -> Option<scim_model::patch::PatchOperation> {
    use scim_model::patch::PatchOperation;
    let path = m.target.clone();
    let Some(now) = now else {
        return Some(PatchOperation::add(path, v));
    };
    match m.spec.flow_type {
        FlowType::AttributeAddOnly | FlowType::ObjectAddOnly => None,
        FlowType::Always => (!equal(now, &v)).then(|| PatchOperation::replace(path, v)),
        FlowType::ValueAddOnly | FlowType::MultiValueAddOnly => {
            if let Value::Array(wanted) = &v {
                let missing: Vec<Value> = wanted
                    .iter()
                    .filter(|w| !contains(now, w))
                    .cloned()
                    .collect();
                (!missing.is_empty()).then(|| PatchOperation::add(path, Value::Array(missing)))
            } else if let Value::Array(_) = now {
                (!contains(now, &v)).then(|| PatchOperation::add(path, Value::Array(vec![v])))
            } else if m.spec.flow_type == FlowType::ValueAddOnly {
                (!equal(now, &v)).then(|| PatchOperation::replace(path, v))
            } else {
                None
            }
        }
    }
}

fn contains(haystack: &Value, wanted: &Value) -> bool {
    match haystack {
        Value::Array(items) => items.iter().any(|i| equal(i, wanted)),
        single => equal(single, wanted),
    }
}

/// Whether the target's value already is the wanted one: strings exactly, a boolean and its
/// `"True"`/`"False"` text, a number and its decimal text, arrays as sets, objects key by key
/// (keys ignoring case).
pub(crate) fn equal(now: &Value, wanted: &Value) -> bool {
    match (now, wanted) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::String(s)) | (Value::String(s), Value::Bool(a)) => {
            s.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s || (s.parse::<f64>().ok().is_some_and(|f| Some(f) == n.as_f64()))
        }
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && b.iter().all(|w| a.iter().any(|x| equal(x, w)))
                && a.iter().all(|x| b.iter().any(|w| equal(x, w)))
        }
        (Value::Object(a), Value::Object(b)) => {
            let present = |m: &Map<String, Value>| m.values().filter(|v| !is_empty(v)).count();
            present(a) == present(b)
                && b.iter()
                    .filter(|(_, v)| !is_empty(v))
                    .all(|(k, w)| get_ci(a, k).is_some_and(|x| equal(x, w)))
        }
        (a, b) => a == b,
    }
}
