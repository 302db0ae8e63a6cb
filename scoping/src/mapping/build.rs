//! The resource a create sends, built directly.
//!
//! [`MappingSet::create_resource`](super::MappingSet::create_resource) is defined as each
//! flowing mapping's value written, in mapping order, by a one-operation PATCH `add` into an
//! empty resource of the target schema (scim-model's
//! [`PatchOp::apply`](scim_model::patch::PatchOp::apply), with its schema checks). That costs
//! a PATCH request per mapping: the target path cloned, the operation checked, the path
//! resolved against the registry on every call, an undo log. Here each
//! mapping's target is resolved once, when the set is built ([`CreatePlan::new`]), and at
//! create time the value is written straight into the resource — but only where the outcome
//! is certain to be the one the PATCH would give: the attribute (or, for a value filter, the
//! element) is not there yet, the schema accepts the value as it is or after the conversions
//! the PATCH makes (`"True"` → `true`, a string given for a complex attribute with a `value`
//! sub-attribute → `{"value": …}`), and no mutability rule is involved. Anything else — a path
//! shape not listed below, an attribute already written by an earlier mapping in a way not
//! handled, a value the schema refuses — is handed back untouched and goes through the PATCH,
//! which then gives the result or the error it always gave.
//!
//! Shapes written directly (the attribute defined by the registry, not `readOnly`):
//!
//! - a single-valued simple attribute: `title`, `active`, `urn:…:enterprise:2.0:User:department`;
//! - a whole single-valued complex attribute: `name`, `urn:…:enterprise:2.0:User:manager`;
//! - a whole multi-valued attribute: `emails`, `roles` (duplicates dropped as `add` drops them);
//! - a sub-attribute of a single-valued complex attribute: `name.givenName`,
//!   `urn:…:enterprise:2.0:User:manager.value` (into an object an earlier mapping made, too);
//! - a sub-attribute through a value filter of `eq` comparisons joined by `and` on a
//!   multi-valued complex attribute: `emails[type eq "work"].value` creates its element, and
//!   when earlier mappings made the list, a filter `name eq "text"` on a string sub-attribute
//!   finds its element or adds one (`phoneNumbers[type eq "mobile"].value` after the work one).
//!
//! Every rule copied here from scim-model's PATCH is checked by a property test against the
//! PATCH itself (`build_tests.rs`).

use scim_model::patch::rules::{eq_ignore_case, eq_template, is_primary, position_ci, same_record};
use scim_model::schema::{Attribute, AttributeType, Mutability};
use scim_model::{AttributePath, CompValue, CompareOp, Filter, SchemaRegistry, insert_ci};
use serde_json::{Map, Value};

/// How one mapping's value is written into the resource a create sends.
#[derive(Clone, Debug)]
pub(crate) enum CreatePlan {
    /// Always through a PATCH `add`.
    Patch,
    /// Directly, when the resource's state and the value allow (see [`Direct::write`]).
    Direct(Box<Direct>),
}

/// A target resolved against the registry: where the attribute lives, its definition, and
/// the shape of the path.
#[derive(Clone, Debug)]
pub(crate) struct Direct {
    /// The extension block holding the attribute, spelled as the path spells it; `None` for
    /// an attribute of the base schema (or a common one).
    block: Option<String>,
    /// The attribute's name, spelled as the path spells it.
    name: String,
    /// Its definition.
    def: Attribute,
    shape: Shape,
    /// The capacity a new extension block is made with: the number of mappings into it.
    block_capacity: usize,
    /// The capacity a new object of sub-attributes is made with: the number of mappings into
    /// it.
    object_capacity: usize,
}

#[derive(Clone, Debug)]
enum Shape {
    /// `attr`, single-valued and simple.
    Simple,
    /// `attr`, single-valued and complex.
    Complex,
    /// `attr`, multi-valued.
    Multi,
    /// `attr.sub`, `attr` single-valued and complex.
    Sub {
        sub: String,
        sub_def: Option<Attribute>,
    },
    /// `attr[filter].sub`, `attr` multi-valued and complex, the filter `eq` comparisons joined
    /// by `and`.
    Filtered {
        sub: String,
        sub_def: Option<Attribute>,
        /// The element the filter describes, as the PATCH makes it (type-checked, converted).
        template: Map<String, Value>,
        /// For a filter `name eq "text"` on a string sub-attribute: how the PATCH tests an
        /// existing element. `None`: only a missing list is handled.
        eq_text: Option<EqText>,
    },
}

/// The PATCH's shortcut test of `name eq "text"` on a single-valued string sub-attribute.
#[derive(Clone, Debug)]
struct EqText {
    name: String,
    text: String,
    case_exact: bool,
}

/// Sizes what the plans make (see [`Direct::block_capacity`]) and returns the capacity for the
/// resource's top-level object: `schemas` and every distinct top-level key the targets name.
pub(crate) fn size(plans: &mut [CreatePlan], targets: &[&AttributePath]) -> usize {
    let top = |t: &AttributePath| t.urn().unwrap_or(t.name()).to_ascii_lowercase();
    let mut keys: Vec<String> = targets.iter().map(|t| top(t)).collect();
    keys.sort_unstable();
    keys.dedup();
    let directs: Vec<(Option<String>, String, bool)> = plans
        .iter()
        .map(|p| match p {
            CreatePlan::Direct(d) => (
                d.block.as_deref().map(str::to_ascii_lowercase),
                d.name.to_ascii_lowercase(),
                matches!(d.shape, Shape::Sub { .. }),
            ),
            CreatePlan::Patch => (None, String::new(), false),
        })
        .collect();
    for p in plans.iter_mut() {
        if let CreatePlan::Direct(d) = p {
            let block = d.block.as_deref().map(str::to_ascii_lowercase);
            let name = d.name.to_ascii_lowercase();
            if block.is_some() {
                d.block_capacity = directs.iter().filter(|(b, _, _)| *b == block).count();
            }
            if matches!(d.shape, Shape::Sub { .. }) {
                d.object_capacity = directs
                    .iter()
                    .filter(|(b, n, sub)| *sub && *b == block && *n == name)
                    .count();
            }
        }
    }
    keys.len() + 1
}

impl CreatePlan {
    /// Resolves `target` as the PATCH would for a resource whose base schema is
    /// `target_schema`, where that resolution does not depend on what the resource holds.
    pub(crate) fn new(
        target: &AttributePath,
        target_schema: &str,
        registry: &SchemaRegistry,
    ) -> CreatePlan {
        Direct::new(target, target_schema, registry)
            .map_or(CreatePlan::Patch, |d| CreatePlan::Direct(Box::new(d)))
    }

    /// Writes `value` into `root` (a resource's top-level object) as a PATCH `add` of the
    /// target would, or gives it back, with `root` untouched, when that is not certain.
    pub(crate) fn write(&self, root: &mut Map<String, Value>, value: Value) -> Result<(), Value> {
        match self {
            CreatePlan::Patch => Err(value),
            CreatePlan::Direct(d) => d.write(root, value),
        }
    }

    /// Whether this target is written directly (when the resource and the value allow).
    #[cfg(test)]
    pub(crate) fn is_direct(&self) -> bool {
        matches!(self, CreatePlan::Direct(_))
    }
}

impl Direct {
    fn new(target: &AttributePath, target_schema: &str, registry: &SchemaRegistry) -> Option<Self> {
        // The PATCH's base schema: the first schema the resource lists that the registry knows
        // and that is not an extension. A new resource lists `target_schema` first, and the
        // URNs writes add later are extensions, so it never changes while the resource is built.
        let base = registry
            .schema(target_schema)
            .filter(|s| !s.id.contains(":extension:"))?;
        let base_attribute = |name: &str| {
            base.attribute(name).or_else(|| {
                scim_model::schema::common_attributes()
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
            })
        };
        let name = target.name();
        // As the PATCH resolves a path, keeping only the resolutions that do not depend on the
        // resource's content: an unqualified name the base schema does not define is looked
        // up in the resource's extensions, so it goes through the PATCH.
        let (block, def) = match target.urn() {
            None => (None, base_attribute(name)?),
            Some(urn) if base.id.eq_ignore_ascii_case(urn) => (None, base_attribute(name)?),
            Some(urn) => {
                let schema = registry
                    .schema(urn)
                    .filter(|s| s.id.contains(":extension:"))?;
                (Some(urn.to_owned()), schema.attribute(name)?)
            }
        };
        if def.mutability == Mutability::ReadOnly {
            return None;
        }
        let complex = def.kind == AttributeType::Complex;
        let shape = match (target.filter(), target.sub_attribute()) {
            (None, None) if def.multi_valued => Shape::Multi,
            (None, None) if complex => Shape::Complex,
            (None, None) => Shape::Simple,
            (None, Some(sub)) if complex && !def.multi_valued => {
                let sub_def = def.sub_attribute(sub).cloned();
                if sub_def
                    .as_ref()
                    .is_some_and(|d| d.mutability == Mutability::ReadOnly)
                {
                    return None;
                }
                Shape::Sub {
                    sub: sub.to_owned(),
                    sub_def,
                }
            }
            (Some(filter), Some(sub)) if complex && def.multi_valued => {
                let sub_def = def.sub_attribute(sub).cloned();
                if sub_def
                    .as_ref()
                    .is_some_and(|d| d.mutability == Mutability::ReadOnly)
                {
                    return None;
                }
                let mut template = Map::new();
                if !eq_template(filter, &mut template) {
                    return None;
                }
                let mut template = Value::Object(template);
                if !accepts(&template, Some(def)) {
                    return None;
                }
                convert(&mut template, Some(def));
                let Value::Object(template) = template else {
                    return None;
                };
                Shape::Filtered {
                    sub: sub.to_owned(),
                    sub_def,
                    template,
                    eq_text: EqText::new(filter, def),
                }
            }
            _ => return None,
        };
        Some(Direct {
            block,
            name: name.to_owned(),
            def: def.clone(),
            shape,
            block_capacity: 1,
            object_capacity: 1,
        })
    }

    /// See [`CreatePlan::write`]. Everything is decided before anything is written.
    fn write(&self, root: &mut Map<String, Value>, value: Value) -> Result<(), Value> {
        let parent: Option<&Map<String, Value>> = match &self.block {
            None => Some(&*root),
            Some(block) => match position_ci(root, block) {
                None => None,
                Some(i) => match root.values().nth(i) {
                    Some(Value::Object(o)) => Some(o),
                    _ => return Err(value),
                },
            },
        };
        let cur = parent.and_then(|p| position_ci(p, &self.name).and_then(|i| p.values().nth(i)));
        let def = &self.def;
        match &self.shape {
            Shape::Simple => {
                if cur.is_some() || value.is_array() || !accepts(&value, Some(def)) {
                    return Err(value);
                }
                let mut value = value;
                convert(&mut value, Some(def));
                self.insert(root, value);
                hit("simple");
            }
            Shape::Complex => {
                // `merge_into` on a missing attribute; a member whose sub-attribute is readOnly
                // goes through the PATCH, which refuses it.
                let read_only = |k: &str, v: &Value| {
                    !v.is_null()
                        && def
                            .sub_attribute(k)
                            .is_some_and(|d| d.mutability == Mutability::ReadOnly)
                };
                let refused = match &value {
                    Value::Object(o) => o.iter().any(|(k, v)| read_only(k, v)),
                    other => read_only("value", other),
                };
                if cur.is_some() || refused || !accepts(&value, Some(def)) {
                    return Err(value);
                }
                let mut value = value;
                convert(&mut value, Some(def));
                if let Value::Object(obj) = value {
                    // Null members are dropped; nothing is written if none is left.
                    let obj: Map<String, Value> =
                        obj.into_iter().filter(|(_, v)| !v.is_null()).collect();
                    if !obj.is_empty() {
                        self.insert(root, Value::Object(obj));
                    }
                }
                hit("complex");
            }
            Shape::Multi => {
                if cur.is_some() {
                    return Err(value);
                }
                let Some(items) = self.items(&value) else {
                    return Err(value);
                };
                // `append` to a missing list: values already given once are dropped.
                let mut new: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    if !new.iter().any(|e| same_record(e, &item, Some(def))) {
                        new.push(item);
                    }
                }
                if new.iter().filter(|v| is_primary(v)).count() > 1 {
                    return Err(value);
                }
                if !new.is_empty() {
                    self.insert(root, Value::Array(new));
                }
                hit("multi");
            }
            Shape::Sub { sub, sub_def } => {
                let cur = match cur {
                    None => None,
                    Some(Value::Object(o)) if position_ci(o, sub).is_none() => Some(()),
                    Some(_) => return Err(value),
                };
                if !accepts_member(&value, sub_def.as_ref()) {
                    return Err(value);
                }
                let mut value = value;
                convert_member(&mut value, sub_def.as_ref());
                match cur {
                    None => {
                        let mut obj = Map::with_capacity(self.object_capacity);
                        obj.insert(sub.clone(), value);
                        self.insert(root, Value::Object(obj));
                        hit("sub, new object");
                    }
                    Some(()) => {
                        if let Some(Value::Object(o)) = self.attribute_mut(root) {
                            o.insert(sub.clone(), value);
                        }
                        hit("sub, into an object");
                    }
                }
            }
            Shape::Filtered {
                sub,
                sub_def,
                template,
                eq_text,
            } => {
                // Where the value goes: a new list, a new element, or an element the filter
                // selects that lacks the sub-attribute.
                let into = match cur {
                    None => None,
                    Some(Value::Array(elements)) => {
                        let Some(eq_text) = eq_text else {
                            return Err(value);
                        };
                        let mut matched = None;
                        for (i, e) in elements.iter().enumerate() {
                            match eq_text.matches(e) {
                                Some(false) => {}
                                Some(true) if matched.is_none() => matched = Some(i),
                                // Several matches (refused), or a test the shortcut cannot make.
                                _ => return Err(value),
                            }
                        }
                        if let Some(i) = matched {
                            let lacks = elements
                                .get(i)
                                .and_then(Value::as_object)
                                .is_some_and(|o| position_ci(o, sub).is_none());
                            if !lacks {
                                return Err(value);
                            }
                        } else if is_primary_map(template) {
                            // Pushing a primary element demotes the others: the PATCH does that.
                            return Err(value);
                        }
                        // Writing `primary` likewise.
                        if sub.eq_ignore_ascii_case("primary") {
                            return Err(value);
                        }
                        Some(matched)
                    }
                    Some(_) => return Err(value),
                };
                if !accepts_member(&value, sub_def.as_ref()) {
                    return Err(value);
                }
                let mut value = value;
                convert_member(&mut value, sub_def.as_ref());
                match into {
                    None => {
                        let mut element = template.clone();
                        insert_ci(&mut element, sub, value);
                        self.insert(root, Value::Array(vec![Value::Object(element)]));
                        hit("filtered, new list");
                    }
                    Some(None) => {
                        let mut element = template.clone();
                        insert_ci(&mut element, sub, value);
                        if let Some(Value::Array(items)) = self.attribute_mut(root) {
                            items.push(Value::Object(element));
                        }
                        hit("filtered, new element");
                    }
                    Some(Some(i)) => {
                        if let Some(Value::Object(o)) = self
                            .attribute_mut(root)
                            .and_then(|a| a.as_array_mut())
                            .and_then(|items| items.get_mut(i))
                        {
                            o.insert(sub.clone(), value);
                        }
                        hit("filtered, into an element");
                    }
                }
            }
        }
        Ok(())
    }

    /// The values given for a multi-valued attribute, as `items` makes them (a list, or one
    /// value as a list of one; nulls dropped; each type-checked and converted); `None` when
    /// the PATCH would refuse one.
    fn items(&self, value: &Value) -> Option<Vec<Value>> {
        let list: Vec<&Value> = match value {
            Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
            other => std::iter::once(other).filter(|v| !v.is_null()).collect(),
        };
        if !list.iter().all(|v| accepts(v, Some(&self.def))) {
            return None;
        }
        Some(
            list.into_iter()
                .map(|v| {
                    let mut v = v.clone();
                    convert(&mut v, Some(&self.def));
                    v
                })
                .collect(),
        )
    }

    /// Adds the attribute, which is missing, at the end of the object holding it; a missing
    /// extension block is added at the end of the resource and listed in `schemas`.
    fn insert(&self, root: &mut Map<String, Value>, value: Value) {
        let parent = match &self.block {
            None => root,
            Some(block) => {
                if position_ci(root, block).is_none() {
                    root.insert(
                        block.clone(),
                        Value::Object(Map::with_capacity(self.block_capacity)),
                    );
                    list_schema(root, block);
                }
                match position_ci(root, block).and_then(|i| root.values_mut().nth(i)) {
                    Some(Value::Object(o)) => o,
                    _ => return,
                }
            }
        };
        parent.insert(self.name.clone(), value);
    }

    /// The attribute's value, which exists.
    fn attribute_mut<'a>(&self, root: &'a mut Map<String, Value>) -> Option<&'a mut Value> {
        let parent = match &self.block {
            None => root,
            Some(block) => {
                let i = position_ci(root, block)?;
                root.values_mut().nth(i)?.as_object_mut()?
            }
        };
        let i = position_ci(parent, &self.name)?;
        parent.values_mut().nth(i)
    }
}

impl EqText {
    /// The shortcut the PATCH takes for `name eq "text"` where the schema defines `name` as a
    /// single-valued string or reference.
    fn new(filter: &Filter, def: &Attribute) -> Option<Self> {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(text),
        } = filter
        else {
            return None;
        };
        if path.urn().is_some() || path.filter().is_some() || path.sub_attribute().is_some() {
            return None;
        }
        let sub = def.sub_attribute(path.name())?;
        if !matches!(sub.kind, AttributeType::String | AttributeType::Reference) || sub.multi_valued
        {
            return None;
        }
        Some(EqText {
            name: path.name().to_owned(),
            text: text.clone(),
            case_exact: sub.case_exact,
        })
    }

    /// Whether the filter selects `element`; `None` where the PATCH would evaluate the filter
    /// in full (an element that is not an object, or whose value is not a string).
    fn matches(&self, element: &Value) -> Option<bool> {
        let Value::Object(o) = element else {
            return None;
        };
        match position_ci(o, &self.name).and_then(|i| o.values().nth(i)) {
            None | Some(Value::Null) => Some(false),
            Some(Value::String(s)) if self.case_exact => Some(*s == self.text),
            Some(Value::String(s)) => Some(eq_ignore_case(s, &self.text)),
            Some(_) => None,
        }
    }
}

/// Counts, in tests, the direct writes of each kind (the property test checks it saw them all).
#[cfg(test)]
fn hit(kind: &'static str) {
    tests::HITS.with(|h| *h.borrow_mut().entry(kind).or_default() += 1);
}

#[cfg(not(test))]
#[inline(always)]
fn hit(_kind: &'static str) {}

/// Lists `urn` in the resource's `schemas` unless it is there (ignoring case); a resource
/// without a `schemas` list is left alone.
fn list_schema(root: &mut Map<String, Value>, urn: &str) {
    let Some(Value::Array(schemas)) =
        position_ci(root, "schemas").and_then(|i| root.values_mut().nth(i))
    else {
        return;
    };
    if !schemas
        .iter()
        .filter_map(Value::as_str)
        .any(|s| s.eq_ignore_ascii_case(urn))
    {
        schemas.push(Value::String(urn.to_owned()));
    }
}

/// Whether the PATCH (lenient) accepts `value` as one value of the attribute `def`.
fn accepts(value: &Value, def: Option<&Attribute>) -> bool {
    let Some(def) = def else { return true };
    if value.is_null() {
        return true;
    }
    match def.kind {
        AttributeType::Complex => match value {
            Value::Object(o) => o.iter().all(|(k, v)| {
                def.sub_attribute(k)
                    .is_none_or(|sd| accepts_member(v, Some(sd)))
            }),
            // Entra sends `manager` as its id: it becomes `{"value": …}`.
            Value::String(_) if !def.multi_valued => def
                .sub_attribute("value")
                .is_some_and(|sd| accepts_member(value, Some(sd))),
            _ => false,
        },
        AttributeType::Boolean => match value {
            Value::Bool(_) => true,
            Value::String(s) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false"),
            _ => false,
        },
        AttributeType::String
        | AttributeType::Reference
        | AttributeType::Binary
        | AttributeType::DateTime => value.is_string(),
        AttributeType::Integer => matches!(value, Value::Number(n) if n.is_i64() || n.is_u64()),
        AttributeType::Decimal => value.is_number(),
        // A type this code does not know: the PATCH decides.
        _ => false,
    }
}

/// [`accepts`] for the value of a sub-attribute: a list only if it is multi-valued.
fn accepts_member(value: &Value, def: Option<&Attribute>) -> bool {
    match (def, value) {
        (Some(d), Value::Array(items)) if d.multi_valued => {
            items.iter().all(|v| accepts(v, Some(d)))
        }
        (Some(_), Value::Array(_)) => false,
        (def, v) => accepts(v, def),
    }
}

/// The conversions the PATCH (lenient) makes to a value it accepts: booleans given as text
/// become booleans, a string given for a complex attribute becomes `{"value": …}`.
fn convert(value: &mut Value, def: Option<&Attribute>) {
    let Some(def) = def else { return };
    match def.kind {
        AttributeType::Complex => {
            if let Value::String(s) = value {
                let mut m = Map::new();
                m.insert("value".to_owned(), Value::String(std::mem::take(s)));
                *value = Value::Object(m);
            }
            if let Value::Object(o) = value {
                for (k, v) in o.iter_mut() {
                    if let Some(sd) = def.sub_attribute(k) {
                        convert_member(v, Some(sd));
                    }
                }
            }
        }
        AttributeType::Boolean => {
            if let Value::String(s) = value {
                *value = Value::Bool(s.eq_ignore_ascii_case("true"));
            }
        }
        _ => {}
    }
}

/// [`convert`] for the value of a sub-attribute.
fn convert_member(value: &mut Value, def: Option<&Attribute>) {
    match (def, value) {
        (Some(d), Value::Array(items)) if d.multi_valued => {
            for v in items {
                convert(v, Some(d));
            }
        }
        (def, v) => convert(v, def),
    }
}

/// [`is_primary`] of an object (as it reads an element's `primary`).
fn is_primary_map(o: &Map<String, Value>) -> bool {
    match scim_model::get_ci(o, "primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
