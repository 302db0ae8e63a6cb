//! Applying a [`PatchOp`] to a [`Resource`]: RFC 7644 §3.5.2.1-3 with the tolerances real
//! clients need (see the module documentation of [`crate::patch`] for every choice).
//!
//! All changes go through a [`Tx`], an undo log: each write records what it overwrote (moving
//! the old value, never cloning it), so a failed request is rolled back exactly and a large
//! multi-valued attribute (a group's members) is never copied to make the request atomic.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::mem;

use serde_json::{Map, Value};

use super::op::kind_of;
use super::rules::{eq_ignore_case, eq_template, get_ci, is_primary, position_ci, same_record};
use super::{PatchOp, PatchOpKind, PatchOperation, PatchOptions};
use crate::filter::eval::element_matches;
use crate::resource::{find_key, is_urn};
use crate::schema::{Attribute, AttributeType, Mutability, Schema, common_attributes};
use crate::{AttributePath, CompValue, CompareOp, Error, Filter, Resource, Result, SchemaRegistry};

/// Applies every operation of `patch` to `resource`, all or nothing; reports whether anything
/// changed.
pub(crate) fn apply(
    patch: &PatchOp,
    resource: &mut Resource,
    registry: &SchemaRegistry,
    options: &PatchOptions,
) -> Result<bool> {
    if patch.is_empty() {
        if options.strict {
            return Err(Error::InvalidSyntax {
                context: "Operations".to_owned(),
                message: "RFC 7644 §3.5.2 requires one or more operations".to_owned(),
            });
        }
        return Ok(false);
    }
    // The base schema: the first listed core schema the registry knows (one lookup), else
    // what `Resource::base_schema` finds.
    let known_core = listed_schemas(resource.as_object())
        .filter_map(|u| registry.schema(u))
        .find(|s| !s.id.contains(":extension:"));
    let base_name = match known_core {
        Some(schema) => Some(schema.id.as_str()),
        None => resource.base_schema(),
    };
    let base = known_core.or_else(|| base_name.and_then(|u| registry.schema(u)));
    // Borrowed from the registry when it knows the schema: no copy per request.
    let base_urn: Option<Cow<'_, str>> = match (base, base_name) {
        (Some(schema), _) => Some(Cow::Borrowed(schema.id.as_str())),
        (None, Some(name)) => Some(Cow::Owned(name.to_owned())),
        (None, None) => None,
    };
    let mut engine = Engine {
        registry,
        base,
        base_urn,
        strict: options.strict,
        tx: Tx::default(),
        index: 0,
    };
    let root = resource.as_object_mut();
    let mut outcome = Ok(());
    for (index, op) in patch.operations().iter().enumerate() {
        engine.index = index;
        outcome = engine.operation(root, op);
        if outcome.is_err() {
            break;
        }
    }
    match outcome {
        Ok(()) => Ok(engine.tx.changed),
        Err(e) => {
            engine.tx.rollback(root);
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The undo log.

/// One step from the resource's top-level object down to a value.
///
/// Object members are addressed by position, not by key: a location is then a few integers,
/// built and copied without allocating, and it stays valid for undoing because undo runs in
/// reverse order (each entry sees the object exactly as its write left it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The `n`th member of an object.
    Slot(usize),
    /// The `n`th element of an array.
    Index(usize),
}

/// The deepest location a PATCH writes: extension block, attribute, element, sub-attribute.
const MAX_DEPTH: usize = 4;

/// A location in the resource: up to [`MAX_DEPTH`] steps from its top-level object, inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Loc {
    len: usize,
    steps: [Step; MAX_DEPTH],
}

impl Loc {
    /// The top-level object itself.
    const ROOT: Loc = Loc {
        len: 0,
        steps: [Step::Slot(0); MAX_DEPTH],
    };

    fn steps(&self) -> &[Step] {
        &self.steps[..self.len.min(MAX_DEPTH)]
    }

    fn is_root(&self) -> bool {
        self.len == 0
    }

    /// One step further down.
    fn child(&self, step: Step) -> Result<Loc> {
        if self.len >= MAX_DEPTH {
            return Err(lost(self));
        }
        let mut loc = *self;
        loc.steps[loc.len] = step;
        loc.len += 1;
        Ok(loc)
    }
}

/// What to do to undo one write.
#[derive(Debug)]
enum Undo {
    /// The value at `loc` was overwritten: put `old` back.
    Set { loc: Loc, old: Value },
    /// A member was added at the end of the object at `parent`: remove it.
    KeyAdded { parent: Loc },
    /// `key` was removed from the object at `parent`, where it was the `index`th member.
    KeyRemoved {
        parent: Loc,
        index: usize,
        key: String,
        old: Value,
    },
    /// A value was pushed onto the array at `array`: pop it.
    Pushed { array: Loc },
    /// Elements were removed from the array at `array`: `(index, value)` in ascending order.
    ElemsRemoved {
        array: Loc,
        removed: Vec<(usize, Value)>,
    },
}

/// The writes of one request, undoable in reverse order.
#[derive(Debug, Default)]
struct Tx {
    undo: UndoLog,
    changed: bool,
}

/// A stack of [`Undo`] entries whose first one is kept inline: most requests make one write,
/// and then need no allocation for their undo log.
#[derive(Debug, Default)]
struct UndoLog {
    first: Option<Undo>,
    rest: Vec<Undo>,
}

impl UndoLog {
    fn push(&mut self, undo: Undo) {
        if self.first.is_none() {
            self.first = Some(undo);
        } else {
            self.rest.push(undo);
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The entries, newest first.
    fn into_newest_first(self) -> impl Iterator<Item = Undo> {
        self.rest.into_iter().rev().chain(self.first)
    }
}

fn value_at<'a>(root: &'a Map<String, Value>, loc: &Loc) -> Option<&'a Value> {
    let (first, rest) = loc.steps().split_first()?;
    let Step::Slot(i) = *first else { return None };
    let mut cur = root.values().nth(i)?;
    for step in rest {
        cur = match (*step, cur) {
            (Step::Slot(i), Value::Object(m)) => m.values().nth(i)?,
            (Step::Index(i), Value::Array(a)) => a.get(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn value_at_mut<'a>(root: &'a mut Map<String, Value>, loc: &Loc) -> Option<&'a mut Value> {
    let (first, rest) = loc.steps().split_first()?;
    let Step::Slot(i) = *first else { return None };
    let mut cur = root.values_mut().nth(i)?;
    for step in rest {
        cur = match (*step, cur) {
            (Step::Slot(i), Value::Object(m)) => m.values_mut().nth(i)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn object_at<'a>(root: &'a Map<String, Value>, loc: &Loc) -> Option<&'a Map<String, Value>> {
    if loc.is_root() {
        return Some(root);
    }
    value_at(root, loc)?.as_object()
}

fn object_at_mut<'a>(
    root: &'a mut Map<String, Value>,
    loc: &Loc,
) -> Option<&'a mut Map<String, Value>> {
    if loc.is_root() {
        return Some(root);
    }
    value_at_mut(root, loc)?.as_object_mut()
}

fn array_at_mut<'a>(root: &'a mut Map<String, Value>, loc: &Loc) -> Option<&'a mut Vec<Value>> {
    value_at_mut(root, loc)?.as_array_mut()
}

/// A location the engine computed has vanished: a bug, reported rather than panicking.
fn lost(loc: &Loc) -> Error {
    Error::InvalidSyntax {
        context: "PatchOp".to_owned(),
        message: format!("internal error: no value at {:?}", loc.steps()),
    }
}

impl Tx {
    /// Sets `name` (found case-insensitively, keeping its spelling) in the object at `parent`.
    fn set(
        &mut self,
        root: &mut Map<String, Value>,
        parent: Loc,
        name: &str,
        value: Value,
    ) -> Result<()> {
        let obj = object_at_mut(root, &parent).ok_or_else(|| lost(&parent))?;
        match position_ci(obj, name) {
            Some(i) => {
                let slot = obj.values_mut().nth(i).ok_or_else(|| lost(&parent))?;
                if *slot == value {
                    return Ok(());
                }
                let old = mem::replace(slot, value);
                self.undo.push(Undo::Set {
                    loc: parent.child(Step::Slot(i))?,
                    old,
                });
            }
            None => {
                obj.insert(name.to_owned(), value);
                self.undo.push(Undo::KeyAdded { parent });
            }
        }
        self.changed = true;
        Ok(())
    }

    /// Overwrites the value at `loc`, which exists.
    fn set_at(&mut self, root: &mut Map<String, Value>, loc: Loc, value: Value) -> Result<()> {
        let slot = value_at_mut(root, &loc).ok_or_else(|| lost(&loc))?;
        if *slot == value {
            return Ok(());
        }
        let old = mem::replace(slot, value);
        self.undo.push(Undo::Set { loc, old });
        self.changed = true;
        Ok(())
    }

    /// Removes `name` (case-insensitively) from the object at `parent`; `false` if absent.
    fn remove(&mut self, root: &mut Map<String, Value>, parent: Loc, name: &str) -> Result<bool> {
        let Some(obj) = object_at_mut(root, &parent) else {
            return Ok(false);
        };
        let Some(index) = position_ci(obj, name) else {
            return Ok(false);
        };
        let removed = match obj.keys().nth(index) {
            Some(k) if k == name => obj.shift_remove_entry(name),
            Some(k) => {
                let k = k.clone();
                obj.shift_remove_entry(&k)
            }
            None => None,
        };
        let Some((key, old)) = removed else {
            return Ok(false);
        };
        self.undo.push(Undo::KeyRemoved {
            parent,
            index,
            key,
            old,
        });
        self.changed = true;
        Ok(true)
    }

    /// Appends to the array at `array`.
    fn push(&mut self, root: &mut Map<String, Value>, array: Loc, value: Value) -> Result<()> {
        let items = array_at_mut(root, &array).ok_or_else(|| lost(&array))?;
        items.push(value);
        self.undo.push(Undo::Pushed { array });
        self.changed = true;
        Ok(())
    }

    /// Removes the elements at `indices` (ascending, distinct) from the array at `array`.
    fn remove_elems(
        &mut self,
        root: &mut Map<String, Value>,
        array: Loc,
        indices: &[usize],
    ) -> Result<()> {
        if indices.is_empty() {
            return Ok(());
        }
        let items = array_at_mut(root, &array).ok_or_else(|| lost(&array))?;
        let removed = if let [only] = indices {
            if *only >= items.len() {
                return Err(lost(&array));
            }
            vec![(*only, items.remove(*only))]
        } else {
            // One pass, moving every element once: removing many from a long list stays linear.
            let old = mem::take(items);
            let mut kept = Vec::with_capacity(old.len().saturating_sub(indices.len()));
            let mut removed = Vec::with_capacity(indices.len());
            let mut next = indices.iter().copied().peekable();
            for (i, v) in old.into_iter().enumerate() {
                if next.peek() == Some(&i) {
                    next.next();
                    removed.push((i, v));
                } else {
                    kept.push(v);
                }
            }
            *items = kept;
            removed
        };
        self.undo.push(Undo::ElemsRemoved { array, removed });
        self.changed = true;
        Ok(())
    }

    /// Undoes every write, newest first, leaving the resource as it was before the request.
    fn rollback(self, root: &mut Map<String, Value>) {
        for undo in self.undo.into_newest_first() {
            match undo {
                Undo::Set { loc, old } => {
                    if let Some(slot) = value_at_mut(root, &loc) {
                        *slot = old;
                    }
                }
                Undo::KeyAdded { parent } => {
                    if let Some(obj) = object_at_mut(root, &parent)
                        && let Some(key) = obj.keys().next_back().cloned()
                    {
                        obj.shift_remove(&key);
                    }
                }
                Undo::KeyRemoved {
                    parent,
                    index,
                    key,
                    old,
                } => {
                    if let Some(obj) = object_at_mut(root, &parent) {
                        let index = index.min(obj.len());
                        obj.shift_insert(index, key, old);
                    }
                }
                Undo::Pushed { array } => {
                    if let Some(items) = array_at_mut(root, &array) {
                        items.pop();
                    }
                }
                Undo::ElemsRemoved { array, removed } => {
                    if let Some(items) = array_at_mut(root, &array) {
                        let kept = mem::take(items);
                        let mut merged = Vec::with_capacity(kept.len() + removed.len());
                        let mut kept = kept.into_iter();
                        for (index, value) in removed {
                            while merged.len() < index {
                                match kept.next() {
                                    Some(v) => merged.push(v),
                                    None => break,
                                }
                            }
                            merged.push(value);
                        }
                        merged.extend(kept);
                        *items = merged;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolving a path to the attribute it names.

/// An attribute a path names: where it lives and its definition, if the registry has one.
#[derive(Debug)]
struct Target<'a> {
    /// `None`: a top-level (core or common) attribute; `Some(urn)`: an attribute inside the
    /// extension block `urn` (created, and listed in `schemas`, when first written).
    block: Option<Cow<'a, str>>,
    /// The attribute's name, as the request spelled it.
    name: &'a str,
    /// Its definition.
    def: Option<&'a Attribute>,
}

impl Target<'_> {
    /// The attribute as a path, for error messages.
    fn describe(&self, sub: Option<&str>) -> String {
        let mut s = match &self.block {
            Some(b) => format!("{b}:{}", self.name),
            None => self.name.to_owned(),
        };
        if let Some(sub) = sub {
            s.push('.');
            s.push_str(sub);
        }
        s
    }

    fn multi_valued(&self) -> Option<bool> {
        self.def.map(|d| d.multi_valued)
    }

    fn complex(&self) -> Option<bool> {
        self.def.map(|d| d.kind == AttributeType::Complex)
    }
}

/// What a path names.
#[derive(Debug)]
enum Resolved<'a> {
    /// An attribute.
    Attr(Target<'a>),
    /// A whole extension block, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    Block(String),
}

fn common_attribute(name: &str) -> Option<&'static Attribute> {
    common_attributes()
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Whether a path-less key is a plain attribute name (no URN, sub-attribute or filter), which
/// needs no parsing.
fn is_plain_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'$')
}

/// The URNs the resource's `schemas` lists.
fn listed_schemas(root: &Map<String, Value>) -> impl Iterator<Item = &str> {
    get_ci(root, "schemas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn lists_schema(root: &Map<String, Value>, urn: &str) -> bool {
    listed_schemas(root).any(|s| s.eq_ignore_ascii_case(urn))
}

struct Engine<'r> {
    registry: &'r SchemaRegistry,
    /// The resource's base schema, when the registry knows it.
    base: Option<&'r Schema>,
    /// The resource's base schema URN.
    base_urn: Option<Cow<'r, str>>,
    strict: bool,
    tx: Tx,
    /// The index of the operation being applied, for error messages.
    index: usize,
}

impl<'r> Engine<'r> {
    // ---- errors ----

    fn at(&self, message: impl std::fmt::Display) -> String {
        format!("{message} (Operations[{}])", self.index)
    }

    fn invalid_value(&self, path: String, message: impl std::fmt::Display) -> Error {
        Error::InvalidValue {
            path,
            message: self.at(message),
        }
    }

    fn invalid_path(&self, input: String, message: impl std::fmt::Display) -> Error {
        Error::InvalidPath {
            input,
            position: 0,
            message: self.at(message),
        }
    }

    fn no_target(&self, path: String, message: impl std::fmt::Display) -> Error {
        Error::NoTarget {
            path,
            message: self.at(message),
        }
    }

    fn mutability(&self, path: String, message: impl std::fmt::Display) -> Error {
        Error::Mutability {
            path,
            message: self.at(message),
        }
    }

    /// Refuses a change that the attribute's mutability forbids (RFC 7643 §7): a `readOnly`
    /// attribute may not change at all, an `immutable` one only from unassigned. Writing the
    /// value already there is no change, so it is allowed (Okta sends `id` back unchanged).
    fn check_mutability(
        &self,
        def: Option<&Attribute>,
        old: Option<&Value>,
        new: Option<&Value>,
        path: impl FnOnce() -> String,
    ) -> Result<()> {
        let Some(def) = def else { return Ok(()) };
        let old = old.filter(|v| !is_empty(v));
        let new = new.filter(|v| !is_empty(v));
        match def.mutability {
            Mutability::ReadOnly if old != new => {
                Err(self.mutability(path(), "readOnly: a client may not change it"))
            }
            Mutability::Immutable if old.is_some() && old != new => Err(self.mutability(
                path(),
                "immutable: it may be set once but not changed or removed",
            )),
            _ => Ok(()),
        }
    }

    // ---- resolution ----

    fn is_base_urn(&self, urn: &str) -> bool {
        match &self.base_urn {
            Some(base) => base.eq_ignore_ascii_case(urn),
            None => {
                urn.len() > 33
                    && urn[..33].eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:")
            }
        }
    }

    fn base_attribute(&self, name: &str) -> Option<&'r Attribute> {
        self.base
            .and_then(|s| s.attribute(name))
            .or_else(|| common_attribute(name))
    }

    /// Whether `urn` names an extension block: a registered schema, a block in the resource,
    /// or a URN its `schemas` lists.
    fn is_known_block(&self, root: &Map<String, Value>, urn: &str) -> bool {
        self.registry.schema(urn).is_some()
            || find_key(root, urn).is_some_and(|(_, v)| v.is_object())
            || lists_schema(root, urn)
    }

    /// The extension an unqualified name belongs to, when the base schema does not have it
    /// (Entra removes `manager[value eq "…"]` without the enterprise URN): a schema the
    /// resource lists that defines it, a block of the resource that holds it, or the one
    /// registered extension that defines it.
    fn find_in_extensions(
        &self,
        root: &Map<String, Value>,
        name: &str,
    ) -> Option<(Cow<'r, str>, Option<&'r Attribute>)> {
        for urn in listed_schemas(root) {
            if self.is_base_urn(urn) {
                continue;
            }
            if let Some(schema) = self.registry.schema(urn)
                && let Some(def) = schema.attribute(name)
            {
                return Some((Cow::Borrowed(schema.id.as_str()), Some(def)));
            }
        }
        for (key, value) in root {
            if is_urn(key)
                && let Some(block) = value.as_object()
                && find_key(block, name).is_some()
            {
                let def = self.registry.schema(key).and_then(|s| s.attribute(name));
                return Some((Cow::Owned(key.clone()), def));
            }
        }
        let mut found = self
            .registry
            .schemas()
            .filter(|s| s.id.contains(":extension:"))
            .filter_map(|s| {
                s.attribute(name)
                    .map(|a| (Cow::Borrowed(s.id.as_str()), Some(a)))
            });
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    fn resolve<'a>(
        &self,
        root: &Map<String, Value>,
        urn: Option<&'a str>,
        name: &'a str,
    ) -> Result<Resolved<'a>>
    where
        'r: 'a,
    {
        let core = |def| {
            Resolved::Attr(Target {
                block: None,
                name,
                def,
            })
        };
        let Some(urn) = urn else {
            if let Some(def) = self.base_attribute(name) {
                return Ok(core(Some(def)));
            }
            if find_key(root, name).is_some() {
                return Ok(core(None));
            }
            if let Some((block, def)) = self.find_in_extensions(root, name) {
                return Ok(Resolved::Attr(Target {
                    block: Some(block),
                    name,
                    def,
                }));
            }
            if self.strict && self.base.is_some() {
                return Err(self.invalid_path(
                    name.to_owned(),
                    "no such attribute in the resource's schemas",
                ));
            }
            return Ok(core(None));
        };
        if self.is_base_urn(urn) {
            let def = self.base_attribute(name);
            if def.is_none() && self.strict && self.base.is_some() {
                return Err(self.invalid_path(
                    format!("{urn}:{name}"),
                    "no such attribute in the base schema",
                ));
            }
            return Ok(core(def));
        }
        if let Some(schema) = self.registry.schema(urn) {
            if !schema.id.contains(":extension:") && find_key(root, urn).is_none() {
                // Another core schema (a Group attribute on a User): nothing to act on.
                return Err(self.invalid_path(
                    format!("{urn}:{name}"),
                    "the schema is neither the resource's base schema nor an extension",
                ));
            }
            let def = schema.attribute(name);
            if def.is_none() && self.strict {
                return Err(self.invalid_path(
                    format!("{urn}:{name}"),
                    "no such attribute in the extension schema",
                ));
            }
            return Ok(Resolved::Attr(Target {
                block: Some(Cow::Borrowed(urn)),
                name,
                def,
            }));
        }
        // `urn:…:enterprise:2.0` + `User` may spell a whole extension block.
        let whole = format!("{urn}:{name}");
        if self.is_known_block(root, &whole) {
            return Ok(Resolved::Block(whole));
        }
        Ok(Resolved::Attr(Target {
            block: Some(Cow::Borrowed(urn)),
            name,
            def: None,
        }))
    }

    // ---- reading and writing a target ----

    fn read<'m>(root: &'m Map<String, Value>, t: &Target<'_>) -> Option<&'m Value> {
        let obj = match &t.block {
            None => root,
            Some(b) => get_ci(root, b)?.as_object()?,
        };
        get_ci(obj, t.name)
    }

    /// The location of the object holding the attribute, if it exists.
    fn parent_loc(root: &Map<String, Value>, t: &Target<'_>) -> Option<Loc> {
        match &t.block {
            None => Some(Loc::ROOT),
            Some(b) => {
                let i = position_ci(root, b)?;
                if !root.values().nth(i)?.is_object() {
                    return None;
                }
                Loc::ROOT.child(Step::Slot(i)).ok()
            }
        }
    }

    /// The location of the attribute, if it exists.
    fn attr_loc(root: &Map<String, Value>, t: &Target<'_>) -> Option<Loc> {
        let parent = Self::parent_loc(root, t)?;
        let i = position_ci(object_at(root, &parent)?, t.name)?;
        parent.child(Step::Slot(i)).ok()
    }

    /// The location of the attribute, which must exist.
    fn existing(root: &Map<String, Value>, t: &Target<'_>) -> Result<Loc> {
        Self::attr_loc(root, t).ok_or_else(|| lost(&Loc::ROOT))
    }

    /// The location of the object holding the attribute, creating its extension block (and
    /// listing the URN in `schemas`) when needed.
    fn ensure_parent(&mut self, root: &mut Map<String, Value>, t: &Target<'_>) -> Result<Loc> {
        let Some(block) = &t.block else {
            return Ok(Loc::ROOT);
        };
        if let Some((_, value)) = find_key(root, block) {
            if !value.is_object() && !value.is_null() {
                return Err(self.invalid_value(
                    block.to_string(),
                    format!("the extension is {}, not an object", kind_of(value)),
                ));
            }
            if value.is_null() {
                self.tx
                    .set(root, Loc::ROOT, block, Value::Object(Map::new()))?;
            }
        } else {
            self.tx
                .set(root, Loc::ROOT, block, Value::Object(Map::new()))?;
            self.list_schema(root, block)?;
        }
        let i = position_ci(root, block).ok_or_else(|| lost(&Loc::ROOT))?;
        Loc::ROOT.child(Step::Slot(i))
    }

    /// Adds `urn` to `schemas` unless listed (a resource without `schemas` is left alone).
    fn list_schema(&mut self, root: &mut Map<String, Value>, urn: &str) -> Result<()> {
        if lists_schema(root, urn) {
            return Ok(());
        }
        if let Some(i) = position_ci(root, "schemas")
            && root.values().nth(i).is_some_and(Value::is_array)
        {
            let loc = Loc::ROOT.child(Step::Slot(i))?;
            self.tx.push(root, loc, Value::String(urn.to_owned()))?;
        }
        Ok(())
    }

    /// Sets the attribute to `value`.
    fn write(&mut self, root: &mut Map<String, Value>, t: &Target<'_>, value: Value) -> Result<()> {
        let parent = self.ensure_parent(root, t)?;
        self.tx.set(root, parent, t.name, value)
    }

    /// Removes the attribute, and its extension block if that is left empty.
    fn remove_attr(&mut self, root: &mut Map<String, Value>, t: &Target<'_>) -> Result<()> {
        let Some(parent) = Self::parent_loc(root, t) else {
            return Ok(());
        };
        self.tx.remove(root, parent, t.name)?;
        if let Some(block) = &t.block
            && object_at(root, &parent).is_some_and(Map::is_empty)
        {
            self.tx.remove(root, Loc::ROOT, block)?;
        }
        Ok(())
    }

    /// Removes the attribute if it is now an empty object or array (RFC 7643 §2.5: empty is
    /// unassigned).
    fn drop_if_empty(&mut self, root: &mut Map<String, Value>, t: &Target<'_>) -> Result<()> {
        if Self::read(root, t).is_some_and(is_empty) {
            self.remove_attr(root, t)?;
        }
        Ok(())
    }

    // ---- operations ----

    fn operation(&mut self, root: &mut Map<String, Value>, op: &PatchOperation) -> Result<()> {
        op.check(self.index)?;
        match (&op.path, &op.value) {
            (Some(path), value) => self.apply_path(root, op.op, path, value.as_ref()),
            (None, Some(Value::Object(attrs))) => {
                for (key, value) in attrs {
                    self.apply_key(root, op.op, key, value)?;
                }
                Ok(())
            }
            // `check` refuses every other shape.
            (None, _) => Err(self.no_target(
                format!("Operations[{}]", self.index),
                "an operation without a path needs an object value",
            )),
        }
    }

    /// One key of a path-less `add` or `replace`: an attribute name, a path such as
    /// `name.givenName` or `urn:…:enterprise:2.0:User:employeeNumber` (Entra sends both), or
    /// an extension URN whose value holds that extension's attributes.
    fn apply_key(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        if is_plain_name(key) {
            return self.apply_path(root, kind, &AttributePath::new(key), Some(value));
        }
        if is_urn(key) && value.is_object() {
            let prefix = key.rfind(':').map_or(key, |i| &key[..i]);
            let prefix_known = self.is_base_urn(prefix) || self.is_known_block(root, prefix);
            if self.is_known_block(root, key) || self.is_base_urn(key) || !prefix_known {
                return self.apply_block(root, kind, key, value);
            }
        }
        let parsed = match super::op::simple_path(key, &crate::Limits::DEFAULT) {
            Some(path) => Ok(path),
            None => AttributePath::parse(key),
        };
        let path = match parsed {
            Ok(path) => path,
            Err(_) if !self.strict => AttributePath::new(key),
            Err(e) => return Err(e),
        };
        self.apply_path(root, kind, &path, Some(value))
    }

    /// `add` or `replace` of a whole extension block (or of the base schema's attributes sent
    /// under the base URN): each of its attributes in turn.
    fn apply_block(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        urn: &str,
        value: &Value,
    ) -> Result<()> {
        let Value::Object(attrs) = value else {
            return Err(self.invalid_value(
                urn.to_owned(),
                format!(
                    "an extension's value must be an object, found {}",
                    kind_of(value)
                ),
            ));
        };
        for (key, v) in attrs {
            let path = if is_plain_name(key) {
                AttributePath::new(key.as_str()).with_urn(urn)
            } else {
                match AttributePath::parse(key) {
                    Ok(p) if p.urn().is_none() => p.with_urn(urn),
                    Ok(p) => p,
                    Err(_) if !self.strict => AttributePath::new(key.as_str()).with_urn(urn),
                    Err(e) => return Err(e),
                }
            };
            self.apply_path(root, kind, &path, Some(v))?;
        }
        Ok(())
    }

    fn apply_path(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        path: &AttributePath,
        value: Option<&Value>,
    ) -> Result<()> {
        let target = match self.resolve(root, path.urn(), path.name())? {
            Resolved::Attr(t) => t,
            Resolved::Block(urn) => {
                if path.filter().is_some() {
                    return Err(self
                        .invalid_path(path.to_string(), "an extension block cannot be filtered"));
                }
                if let Some(sub) = path.sub_attribute() {
                    // `urn:…:2.0:User.department`: an attribute of the block.
                    match self.resolve(root, Some(&urn), sub)? {
                        Resolved::Attr(t) => {
                            return self.apply_attr(root, kind, &t, None, None, value);
                        }
                        Resolved::Block(_) => {
                            return Err(self.invalid_path(path.to_string(), "not an attribute"));
                        }
                    }
                }
                return match (kind, value) {
                    (PatchOpKind::Remove, _) | (_, Some(Value::Null)) => {
                        self.tx.remove(root, Loc::ROOT, &urn)?;
                        Ok(())
                    }
                    (_, Some(v)) => self.apply_block(root, kind, &urn, v),
                    (_, None) => Err(self.invalid_value(urn, format!("{kind} requires a value"))),
                };
            }
        };
        self.apply_attr(
            root,
            kind,
            &target,
            path.filter(),
            path.sub_attribute(),
            value,
        )
    }

    fn apply_attr(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        t: &Target<'_>,
        filter: Option<&Filter>,
        sub: Option<&str>,
        value: Option<&Value>,
    ) -> Result<()> {
        if let Some(sub) = sub {
            // (With a filter, `filtered` reports a simple attribute first.)
            if t.complex() == Some(false) && filter.is_none() {
                return Err(self.invalid_path(
                    t.describe(Some(sub)),
                    format!("{} has no sub-attributes", t.name),
                ));
            }
            let known = t.def.and_then(|d| d.sub_attribute(sub)).is_some();
            if self.strict && t.def.is_some() && !known {
                return Err(self.invalid_path(t.describe(Some(sub)), "no such sub-attribute"));
            }
        }
        match (filter, sub) {
            (Some(filter), _) => self.filtered(root, kind, t, filter, sub, value),
            (None, Some(sub)) => self.sub_attribute(root, kind, t, sub, value),
            (None, None) => self.whole(root, kind, t, value),
        }
    }

    // ---- `attr` ----

    fn whole(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        t: &Target<'_>,
        value: Option<&Value>,
    ) -> Result<()> {
        let value = match (kind, value) {
            (PatchOpKind::Remove, v) => return self.remove_whole(root, t, v),
            (_, None | Some(Value::Null)) => return self.remove_whole(root, t, None),
            (_, Some(v)) => v,
        };
        let cur = Self::read(root, t);
        let multi = t.multi_valued().unwrap_or_else(|| {
            matches!(cur, Some(Value::Array(_))) || (is_absent(cur) && value.is_array())
        });
        if multi {
            let items = self.items(t, value)?;
            return match kind {
                PatchOpKind::Add => self.append(root, t, items),
                _ => self.replace_all(root, t, items),
            };
        }
        let complex = t.complex().unwrap_or(value.is_object());
        if complex {
            let v = self.normalize(value.clone(), t.def, || t.describe(None))?;
            return match v {
                Value::Object(obj) => self.merge_into(root, t, obj),
                other => self.write(root, t, other),
            };
        }
        if value.is_array() && t.def.is_some() {
            return Err(self.invalid_value(
                t.describe(None),
                "a list given for a single-valued attribute",
            ));
        }
        let v = self.normalize(value.clone(), t.def, || t.describe(None))?;
        self.check_mutability(t.def, cur, Some(&v), || t.describe(None))?;
        self.write(root, t, v)
    }

    /// The values given for a multi-valued attribute: a list, or one value (appended as is,
    /// as SCIMple and scim2-models accept), each type-checked.
    fn items(&self, t: &Target<'_>, value: &Value) -> Result<Vec<Value>> {
        let list = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        list.into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_null())
            .map(|(i, v)| self.normalize(v, t.def, || format!("{}[{i}]", t.describe(None))))
            .collect()
    }

    /// `add` to a multi-valued attribute: appends the values not already there.
    ///
    /// A value is already there when a stored one is the same record (see [`same_record`]);
    /// the sub-attributes it gives that differ and that a client may write (`primary`, say)
    /// are then updated in place, so `add` of `{"value": "x", "primary": true}` to emails that
    /// hold `x` makes it primary instead of listing it twice.
    fn append(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        items: Vec<Value>,
    ) -> Result<()> {
        let cur = Self::read(root, t);
        let existing: &[Value] = match cur {
            Some(Value::Array(a)) => a,
            _ => &[],
        };
        let mut new: Vec<Value> = Vec::with_capacity(items.len());
        let mut updates: Vec<(usize, Map<String, Value>)> = Vec::new();
        let index = ValueIndex::worth_it(existing.len(), items.len())
            .then(|| ValueIndex::build(existing, t.def));
        for item in items {
            let found = match index.as_ref().and_then(|ix| ix.candidates(&item)) {
                Some(candidates) => candidates
                    .iter()
                    .copied()
                    .find(|&i| same_record(&existing[i], &item, t.def)),
                None => existing.iter().position(|e| same_record(e, &item, t.def)),
            };
            if let Some(i) = found {
                if let (Value::Object(stored), Value::Object(given)) = (&existing[i], &item) {
                    let changes: Map<String, Value> = given
                        .iter()
                        .filter(|(k, v)| {
                            !v.is_null()
                                && get_ci(stored, k) != Some(*v)
                                && t.def.and_then(|d| d.sub_attribute(k)).is_none_or(|sd| {
                                    matches!(
                                        sd.mutability,
                                        Mutability::ReadWrite | Mutability::WriteOnly
                                    )
                                })
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !changes.is_empty() {
                        updates.push((i, changes));
                    }
                }
            } else if !new.iter().any(|e| same_record(e, &item, t.def)) {
                new.push(item);
            }
        }
        if new.is_empty() && updates.is_empty() {
            return Ok(());
        }
        if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
            return Err(self.mutability(t.describe(None), "readOnly: a client may not change it"));
        }
        let mut written: Vec<usize> = updates.iter().map(|(i, _)| *i).collect();
        match cur {
            Some(Value::Array(a)) => {
                let start = a.len();
                let loc = Self::existing(root, t)?;
                for (i, changes) in updates {
                    let elem = loc.child(Step::Index(i))?;
                    for (k, v) in changes {
                        self.tx.set(root, elem, &k, v)?;
                    }
                }
                written.extend(start..start + new.len());
                for item in new {
                    self.tx.push(root, loc, item)?;
                }
            }
            Some(single) if !single.is_null() => {
                // The schema says multi-valued but the resource holds one value: make a list.
                let mut list = vec![single.clone()];
                written.extend(1..=new.len());
                list.extend(new);
                self.write(root, t, Value::Array(list))?;
            }
            _ => {
                written.extend(0..new.len());
                self.write(root, t, Value::Array(new))?;
            }
        }
        self.fix_primary(root, t, &written)
    }

    /// `replace` of a whole multi-valued attribute; an empty list removes it.
    fn replace_all(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        items: Vec<Value>,
    ) -> Result<()> {
        if items.is_empty() {
            return self.remove_whole(root, t, None);
        }
        let count = items.iter().filter(|v| is_primary(v)).count();
        if count > 1 {
            return Err(self.invalid_value(
                t.describe(None),
                "\"primary\" may be true for one value only",
            ));
        }
        let new = Value::Array(items);
        self.check_mutability(t.def, Self::read(root, t), Some(&new), || t.describe(None))?;
        self.write(root, t, new)
    }

    /// `add` or `replace` of a single-valued complex attribute: each given sub-attribute is
    /// set (null removes it), the others are kept (RFC 7644 §3.5.2.1, §3.5.2.3).
    fn merge_into(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        obj: Map<String, Value>,
    ) -> Result<()> {
        let cur = Self::read(root, t);
        let Some(Value::Object(existing)) = cur else {
            let obj: Map<String, Value> = obj.into_iter().filter(|(_, v)| !v.is_null()).collect();
            if obj.is_empty() {
                return Ok(());
            }
            for (k, v) in &obj {
                let sub_def = t.def.and_then(|d| d.sub_attribute(k));
                self.check_mutability(sub_def, None, Some(v), || t.describe(Some(k)))?;
            }
            let new = Value::Object(obj);
            self.check_mutability(t.def, cur, Some(&new), || t.describe(None))?;
            return self.write(root, t, new);
        };
        for (k, v) in &obj {
            let old = get_ci(existing, k);
            if values_equal(old, Some(v)) {
                continue;
            }
            let sub_def = t.def.and_then(|d| d.sub_attribute(k));
            self.check_mutability(sub_def, old, Some(v), || t.describe(Some(k)))?;
            if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
                return Err(
                    self.mutability(t.describe(Some(k)), "readOnly: a client may not change it")
                );
            }
        }
        let loc = Self::existing(root, t)?;
        for (k, v) in obj {
            if v.is_null() {
                self.tx.remove(root, loc, &k)?;
            } else {
                self.tx.set(root, loc, &k, v)?;
            }
        }
        self.drop_if_empty(root, t)
    }

    /// `remove` of `attr`, or `replace`/`add` with a null value: removes the attribute, or —
    /// when the request names values (Entra's `{"op": "Remove", "path": "members", "value":
    /// [{"value": "id"}]}`) — only those values.
    fn remove_whole(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        value: Option<&Value>,
    ) -> Result<()> {
        let cur = Self::read(root, t);
        if is_absent(cur) {
            return Ok(());
        }
        let selectors: Option<Vec<&Value>> = match value {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(items.iter().filter(|v| !v.is_null()).collect()),
            Some(one) => Some(vec![one]),
        };
        let Some(selectors) = selectors else {
            self.check_mutability(t.def, cur, None, || t.describe(None))?;
            return self.remove_attr(root, t);
        };
        match cur {
            Some(Value::Array(elements)) => {
                let index = ValueIndex::worth_it(elements.len(), selectors.len())
                    .then(|| ValueIndex::build(elements, t.def));
                let mut indices: Vec<usize> = Vec::new();
                let mut scan_all = false;
                for selector in &selectors {
                    match index.as_ref().and_then(|ix| ix.candidates(selector)) {
                        Some(candidates) => indices.extend(
                            candidates
                                .iter()
                                .copied()
                                .filter(|&i| selects(selector, &elements[i], t.def)),
                        ),
                        None => scan_all = true,
                    }
                }
                if scan_all || index.is_none() {
                    indices = elements
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| selectors.iter().any(|s| selects(s, e, t.def)))
                        .map(|(i, _)| i)
                        .collect();
                } else {
                    indices.sort_unstable();
                    indices.dedup();
                }
                if indices.is_empty() {
                    return Ok(());
                }
                if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
                    return Err(
                        self.mutability(t.describe(None), "readOnly: a client may not change it")
                    );
                }
                let loc = Self::existing(root, t)?;
                self.tx.remove_elems(root, loc, &indices)?;
                self.drop_if_empty(root, t)
            }
            Some(single) => {
                if selectors.iter().any(|s| selects(s, single, t.def)) {
                    self.check_mutability(t.def, cur, None, || t.describe(None))?;
                    self.remove_attr(root, t)?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    // ---- `attr.sub` ----

    fn sub_attribute(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        t: &Target<'_>,
        sub: &str,
        value: Option<&Value>,
    ) -> Result<()> {
        let sub_def = t.def.and_then(|d| d.sub_attribute(sub));
        let cur = Self::read(root, t);
        let new = match (kind, value) {
            (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => None,
            (_, Some(v)) => Some(self.normalize_sub(v, sub_def, || t.describe(Some(sub)))?),
        };
        let multi = t
            .multi_valued()
            .unwrap_or(matches!(cur, Some(Value::Array(_))));
        if multi {
            // `emails.display`: every value of the attribute.
            let count = match cur {
                Some(Value::Array(a)) => a.len(),
                _ => 0,
            };
            if count == 0 {
                return match new {
                    None => Ok(()),
                    Some(_) => {
                        Err(self
                            .no_target(t.describe(Some(sub)), format!("{} has no values", t.name)))
                    }
                };
            }
            let all: Vec<usize> = (0..count).collect();
            return self.set_in_elements(root, t, &all, sub, sub_def, new);
        }
        match cur {
            None | Some(Value::Null) => match new {
                None => Ok(()),
                Some(v) => {
                    self.check_mutability(sub_def, None, Some(&v), || t.describe(Some(sub)))?;
                    self.check_mutability(t.def, None, Some(&v), || t.describe(Some(sub)))?;
                    let mut obj = Map::new();
                    obj.insert(sub.to_owned(), v);
                    self.write(root, t, Value::Object(obj))
                }
            },
            Some(Value::Object(existing)) => {
                let old = get_ci(existing, sub);
                self.check_mutability(sub_def, old, new.as_ref(), || t.describe(Some(sub)))?;
                if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly)
                    && !values_equal(old, new.as_ref())
                {
                    return Err(self.mutability(
                        t.describe(Some(sub)),
                        "readOnly: a client may not change it",
                    ));
                }
                let loc = Self::existing(root, t)?;
                match new {
                    Some(v) => self.tx.set(root, loc, sub, v),
                    None => {
                        self.tx.remove(root, loc, sub)?;
                        self.drop_if_empty(root, t)
                    }
                }
            }
            Some(other) => match new {
                None => Ok(()),
                Some(_) => Err(self.invalid_path(
                    t.describe(Some(sub)),
                    format!(
                        "{} is {}, which has no sub-attributes",
                        t.name,
                        kind_of(other)
                    ),
                )),
            },
        }
    }

    /// Sets (or with `None` removes) `sub` in the elements at `indices` of a multi-valued
    /// attribute (or in a single-valued complex attribute, index 0), then keeps `primary`
    /// unique and drops elements left empty.
    fn set_in_elements(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        indices: &[usize],
        sub: &str,
        sub_def: Option<&Attribute>,
        new: Option<Value>,
    ) -> Result<()> {
        let Some(loc) = Self::attr_loc(root, t) else {
            return Ok(());
        };
        let (single, elements): (bool, &[Value]) = match value_at(root, &loc) {
            Some(Value::Array(a)) => (false, a),
            Some(v) => (true, std::slice::from_ref(v)),
            None => return Ok(()),
        };
        // Check everything first, then write.
        for &i in indices {
            let element = if single {
                elements.first()
            } else {
                elements.get(i)
            };
            match element {
                Some(Value::Object(elem)) => {
                    let old = get_ci(elem, sub);
                    self.check_mutability(sub_def, old, new.as_ref(), || t.describe(Some(sub)))?;
                    if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly)
                        && !values_equal(old, new.as_ref())
                    {
                        return Err(self.mutability(
                            t.describe(Some(sub)),
                            "readOnly: a client may not change it",
                        ));
                    }
                }
                Some(other) if new.is_some() => {
                    return Err(self.invalid_path(
                        t.describe(Some(sub)),
                        format!(
                            "the values of {} are {}, which has no sub-attributes",
                            t.name,
                            kind_of(other)
                        ),
                    ));
                }
                _ => {}
            }
        }
        let mut emptied = Vec::new();
        // One location buffer for every element: `attr` then `attr[i]`.
        for &i in indices {
            let elem_loc = if single {
                loc
            } else {
                loc.child(Step::Index(i))?
            };
            if !matches!(value_at(root, &elem_loc), Some(Value::Object(_))) {
                continue;
            }
            match &new {
                Some(v) => self.tx.set(root, elem_loc, sub, v.clone())?,
                None => {
                    self.tx.remove(root, elem_loc, sub)?;
                    if object_at(root, &elem_loc).is_some_and(Map::is_empty) {
                        emptied.push(i);
                    }
                }
            }
        }
        if single {
            return self.drop_if_empty(root, t);
        }
        if new.is_some() && sub.eq_ignore_ascii_case("primary") {
            self.fix_primary(root, t, indices)?;
        }
        self.tx.remove_elems(root, loc, &emptied)?;
        self.drop_if_empty(root, t)
    }

    // ---- `attr[filter]` and `attr[filter].sub` ----

    fn filtered(
        &mut self,
        root: &mut Map<String, Value>,
        kind: PatchOpKind,
        t: &Target<'_>,
        filter: &Filter,
        sub: Option<&str>,
        value: Option<&Value>,
    ) -> Result<()> {
        let described = || {
            let mut s = t.describe(None);
            s.push('[');
            s.push_str(&filter.to_string());
            s.push(']');
            if let Some(sub) = sub {
                s.push('.');
                s.push_str(sub);
            }
            s
        };
        if t.multi_valued() == Some(false) && t.complex() == Some(false) {
            return Err(self.invalid_path(
                described(),
                format!(
                    "{} is single-valued: a value filter needs a multi-valued or complex attribute",
                    t.name
                ),
            ));
        }
        let cur = Self::read(root, t);
        let single = match t.multi_valued() {
            Some(m) => !m,
            None => matches!(cur, Some(Value::Object(_))),
        };
        if !single && matches!(cur, Some(v) if !v.is_array() && !v.is_null()) {
            return Err(self.invalid_path(described(), format!("{} is not multi-valued", t.name)));
        }
        // The elements the filter selects (index 0 for a single-valued complex attribute).
        let matched: Vec<usize> = match cur {
            Some(Value::Array(elements)) => {
                let matcher = Matcher::new(filter, t.def, self.registry);
                let mut m = Vec::new();
                for (i, e) in elements.iter().enumerate() {
                    if matcher.matches(e)? {
                        m.push(i);
                    }
                }
                m
            }
            Some(v @ Value::Object(_)) if single => {
                if element_matches(filter, v, t.def, self.registry)? {
                    vec![0]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let sub_def = sub.and_then(|s| t.def.and_then(|d| d.sub_attribute(s)));
        let value = match (kind, value) {
            (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => None,
            (_, Some(v)) => Some(v),
        };
        let Some(value) = value else {
            // remove
            if matched.is_empty() {
                if self.strict {
                    return Err(self.no_target(described(), "the filter matches no value"));
                }
                return Ok(());
            }
            return match sub {
                Some(sub) => self.set_in_elements(root, t, &matched, sub, sub_def, None),
                None => self.remove_elements(root, t, &matched, single),
            };
        };
        match kind {
            PatchOpKind::Add => {
                if matched.len() > 1 {
                    return Err(self.invalid_path(
                        described(),
                        format!(
                            "the filter matches {} values; add needs at most one",
                            matched.len()
                        ),
                    ));
                }
                match sub {
                    Some(sub) => {
                        let v = self.normalize_sub(value, sub_def, described)?;
                        if matched.is_empty() {
                            self.create_from_filter(
                                root,
                                t,
                                filter,
                                Some((sub, v)),
                                None,
                                single,
                                &described,
                            )
                        } else {
                            self.set_in_elements(root, t, &matched, sub, sub_def, Some(v))
                        }
                    }
                    None => {
                        let v = self.normalize(value.clone(), t.def, described)?;
                        let complex = t.complex().unwrap_or(true);
                        if complex && !v.is_object() {
                            return Err(self.invalid_value(
                                described(),
                                format!(
                                    "add through a value filter needs an object of sub-attributes (or a path ending in .subAttribute), found {}",
                                    kind_of(&v)
                                ),
                            ));
                        }
                        if matched.is_empty() {
                            return self.create_from_filter(
                                root,
                                t,
                                filter,
                                None,
                                Some(v),
                                single,
                                &described,
                            );
                        }
                        match v {
                            Value::Object(obj) => {
                                for (k, sv) in obj {
                                    let sd = t.def.and_then(|d| d.sub_attribute(&k));
                                    self.set_in_elements(root, t, &matched, &k, sd, Some(sv))?;
                                }
                                Ok(())
                            }
                            other => self.replace_elements(root, t, &matched, other, single),
                        }
                    }
                }
            }
            _ => {
                if matched.is_empty() {
                    if let (Some(sub), false) = (sub, self.strict) {
                        // Entra expects replace through a filter that matches nothing to add.
                        let v = self.normalize_sub(value, sub_def, described)?;
                        return self.create_from_filter(
                            root,
                            t,
                            filter,
                            Some((sub, v)),
                            None,
                            single,
                            &described,
                        );
                    }
                    return Err(self.no_target(described(), "the filter matches no value"));
                }
                match sub {
                    Some(sub) => {
                        let v = self.normalize_sub(value, sub_def, described)?;
                        self.set_in_elements(root, t, &matched, sub, sub_def, Some(v))
                    }
                    None => {
                        let element = match value {
                            Value::Array(items) if items.is_empty() => {
                                return self.remove_elements(root, t, &matched, single);
                            }
                            Value::Array(items) if items.len() == 1 => items[0].clone(),
                            Value::Array(items) => {
                                return Err(self.invalid_value(
                                    described(),
                                    format!("{} values given to replace the selected values with; give one", items.len()),
                                ));
                            }
                            other => other.clone(),
                        };
                        let element = self.normalize(element, t.def, described)?;
                        if t.complex() == Some(true) && !element.is_object() {
                            return Err(self.invalid_value(
                                described(),
                                format!("expected an object, found {}", kind_of(&element)),
                            ));
                        }
                        self.replace_elements(root, t, &matched, element, single)
                    }
                }
            }
        }
    }

    /// Removes the selected elements (or the single-valued attribute).
    fn remove_elements(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        matched: &[usize],
        single: bool,
    ) -> Result<()> {
        let forbidden = t.def.is_some_and(|d| match d.mutability {
            Mutability::ReadOnly => true,
            // Removing a record of a multi-valued immutable attribute is allowed; changing a
            // single immutable value is not.
            Mutability::Immutable => single,
            _ => false,
        });
        if forbidden {
            return Err(self.mutability(t.describe(None), "a client may not remove it"));
        }
        if single {
            return self.remove_attr(root, t);
        }
        let loc = Self::existing(root, t)?;
        self.tx.remove_elems(root, loc, matched)?;
        self.drop_if_empty(root, t)
    }

    /// Replaces each selected element by `element` (RFC 7644 §3.5.2.3: "all matching record
    /// values SHALL be replaced").
    fn replace_elements(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        matched: &[usize],
        element: Value,
        single: bool,
    ) -> Result<()> {
        let cur = Self::read(root, t);
        if single {
            self.check_mutability(t.def, cur, Some(&element), || t.describe(None))?;
            return self.write(root, t, element);
        }
        if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
            return Err(self.mutability(t.describe(None), "readOnly: a client may not change it"));
        }
        if matched.len() > 1 && is_primary(&element) {
            return Err(self.invalid_value(
                t.describe(None),
                "\"primary\" may be true for one value only",
            ));
        }
        let loc = Self::existing(root, t)?;
        for &i in matched {
            self.tx
                .set_at(root, loc.child(Step::Index(i))?, element.clone())?;
        }
        self.fix_primary(root, t, matched)
    }

    /// A value path that matches nothing, with `add` (or lenient `replace`) and a
    /// sub-attribute: creates the element the filter describes (`emails[type eq "work"].value`
    /// creates `{"type": "work", "value": …}`), as the Microsoft SCIM Validator, UnboundID and
    /// SCIMple do. Only filters of `eq` comparisons joined by `and` describe an element.
    #[allow(clippy::too_many_arguments)]
    fn create_from_filter(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        filter: &Filter,
        sub: Option<(&str, Value)>,
        merge: Option<Value>,
        single: bool,
        described: &dyn Fn() -> String,
    ) -> Result<()> {
        let complex = t.complex().unwrap_or(true);
        let element = if complex {
            let mut obj = Map::new();
            if !eq_template(filter, &mut obj) {
                return Err(self.no_target(
                    described(),
                    "the filter matches no value, and only a filter of eq comparisons joined by and describes a value to create",
                ));
            }
            let obj = Value::Object(obj);
            let mut obj = match self.normalize(obj, t.def, described)? {
                Value::Object(o) => o,
                _ => Map::new(),
            };
            if let Some((sub, v)) = sub {
                crate::insert_ci(&mut obj, sub, v);
            }
            if let Some(Value::Object(m)) = merge {
                for (k, v) in m {
                    crate::insert_ci(&mut obj, &k, v);
                }
            }
            Value::Object(obj)
        } else {
            match merge {
                Some(v) if sub.is_none() => v,
                _ => {
                    return Err(self.no_target(described(), "the filter matches no value"));
                }
            }
        };
        let cur = Self::read(root, t);
        if single {
            if !is_absent(cur) {
                return Err(self.no_target(described(), "the filter does not match the value"));
            }
            self.check_mutability(t.def, None, Some(&element), described)?;
            return self.write(root, t, element);
        }
        if t.def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
            return Err(self.mutability(t.describe(None), "readOnly: a client may not change it"));
        }
        match cur {
            Some(Value::Array(a)) => {
                let index = a.len();
                let loc = Self::existing(root, t)?;
                self.tx.push(root, loc, element)?;
                self.fix_primary(root, t, &[index])
            }
            _ => self.write(root, t, Value::Array(vec![element])),
        }
    }

    /// RFC 7643 §2.4: `primary` is true for one value at most. When a written element is
    /// primary, the others stop being so; two written primaries are refused.
    fn fix_primary(
        &mut self,
        root: &mut Map<String, Value>,
        t: &Target<'_>,
        written: &[usize],
    ) -> Result<()> {
        let Some(loc) = Self::attr_loc(root, t) else {
            return Ok(());
        };
        let Some(Value::Array(elements)) = value_at(root, &loc) else {
            return Ok(());
        };
        let primaries: Vec<usize> = written
            .iter()
            .copied()
            .filter(|&i| elements.get(i).is_some_and(is_primary))
            .collect();
        match primaries.as_slice() {
            [] => Ok(()),
            [keep] => {
                let demote: Vec<usize> = elements
                    .iter()
                    .enumerate()
                    .filter(|&(i, e)| i != *keep && is_primary(e))
                    .map(|(i, _)| i)
                    .collect();
                for i in demote {
                    self.tx.set(
                        root,
                        loc.child(Step::Index(i))?,
                        "primary",
                        Value::Bool(false),
                    )?;
                }
                Ok(())
            }
            _ => Err(self.invalid_value(
                t.describe(None),
                "\"primary\" may be true for one value only",
            )),
        }
    }

    // ---- values ----

    /// Type-checks a value (one value of the attribute) against its definition and turns
    /// string booleans into booleans (lenient mode; strict mode refuses them).
    fn normalize(
        &self,
        value: Value,
        def: Option<&Attribute>,
        path: impl Fn() -> String,
    ) -> Result<Value> {
        normalize(value, def, self.strict, &path)
            .map_err(|(path, message)| self.invalid_value(path, message))
    }

    /// A sub-attribute's value: a list only if the sub-attribute is multi-valued.
    fn normalize_sub(
        &self,
        value: &Value,
        def: Option<&Attribute>,
        path: impl Fn() -> String,
    ) -> Result<Value> {
        normalize_member(value.clone(), def, self.strict, &path)
            .map_err(|(path, message)| self.invalid_value(path, message))
    }
}

type Invalid = (String, String);

fn normalize_member(
    value: Value,
    def: Option<&Attribute>,
    strict: bool,
    path: &dyn Fn() -> String,
) -> std::result::Result<Value, Invalid> {
    match (def, value) {
        (Some(d), Value::Array(items)) if d.multi_valued => items
            .into_iter()
            .map(|v| normalize(v, Some(d), strict, path))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::Array),
        (Some(d), Value::Array(_)) => Err((
            path(),
            format!(
                "expected one value, found a list (\"{}\" is single-valued)",
                d.name
            ),
        )),
        (def, v) => normalize(v, def, strict, path),
    }
}

fn normalize(
    value: Value,
    def: Option<&Attribute>,
    strict: bool,
    path: &dyn Fn() -> String,
) -> std::result::Result<Value, Invalid> {
    let Some(def) = def else { return Ok(value) };
    if value.is_null() {
        return Ok(value);
    }
    let expected = |what: &str, found: &Value| {
        Err((path(), format!("expected {what}, found {}", kind_of(found))))
    };
    match def.kind {
        AttributeType::Complex => {
            let mut obj = match value {
                Value::Object(o) => o,
                // Entra sends `manager` as its id: `"value": "26118915-…"`.
                Value::String(s)
                    if !strict && !def.multi_valued && def.sub_attribute("value").is_some() =>
                {
                    let mut m = Map::new();
                    m.insert("value".to_owned(), Value::String(s));
                    m
                }
                other => return expected("an object of sub-attributes", &other),
            };
            for (k, v) in obj.iter_mut() {
                match def.sub_attribute(k) {
                    Some(sd) => {
                        let taken = mem::take(v);
                        let sub_path = || format!("{}.{k}", path());
                        *v = normalize_member(taken, Some(sd), strict, &sub_path)?;
                    }
                    None if strict => {
                        return Err((
                            format!("{}.{k}", path()),
                            format!("{} has no such sub-attribute", def.name),
                        ));
                    }
                    None => {}
                }
            }
            Ok(Value::Object(obj))
        }
        AttributeType::Boolean => match value {
            Value::Bool(_) => Ok(value),
            Value::String(s) if !strict && s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if !strict && s.eq_ignore_ascii_case("false") => {
                Ok(Value::Bool(false))
            }
            other => expected("a boolean", &other),
        },
        AttributeType::String
        | AttributeType::Reference
        | AttributeType::Binary
        | AttributeType::DateTime => match value {
            Value::String(_) => Ok(value),
            other => expected("a string", &other),
        },
        AttributeType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value),
            other => expected("an integer", other),
        },
        AttributeType::Decimal => match &value {
            Value::Number(_) => Ok(value),
            other => expected("a number", other),
        },
    }
}

/// A value filter, ready to test many values of one attribute.
///
/// The filters PATCH paths nearly always carry, `name eq "text"` on a string sub-attribute
/// (`members[value eq "…"]`, `emails[type eq "work"]`), are tested directly: one lookup and one
/// string comparison per value, caseExact as the schema says. Everything else, and any value
/// the shortcut is unsure of, goes to the filter evaluator, which gives the same answers.
enum Matcher<'a> {
    /// `name eq "text"` where the schema defines `name` as a string or reference.
    EqText {
        name: &'a str,
        text: &'a str,
        /// Whether `text` is ASCII, known once for all values.
        text_ascii: bool,
        case_exact: bool,
        filter: &'a Filter,
        def: Option<&'a Attribute>,
        registry: &'a SchemaRegistry,
    },
    /// Any other filter.
    General {
        filter: &'a Filter,
        def: Option<&'a Attribute>,
        registry: &'a SchemaRegistry,
    },
}

impl<'a> Matcher<'a> {
    fn new(filter: &'a Filter, def: Option<&'a Attribute>, registry: &'a SchemaRegistry) -> Self {
        if let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(text),
        } = filter
            && path.urn().is_none()
            && path.filter().is_none()
            && path.sub_attribute().is_none()
            && let Some(sub) = def.and_then(|d| d.sub_attribute(path.name()))
            && matches!(sub.kind, AttributeType::String | AttributeType::Reference)
            && !sub.multi_valued
        {
            return Matcher::EqText {
                name: path.name(),
                text,
                text_ascii: text.is_ascii(),
                case_exact: sub.case_exact,
                filter,
                def,
                registry,
            };
        }
        Matcher::General {
            filter,
            def,
            registry,
        }
    }

    fn matches(&self, element: &Value) -> Result<bool> {
        match *self {
            Matcher::EqText {
                name,
                text,
                ref text_ascii,
                case_exact,
                filter,
                def,
                registry,
            } => match element {
                Value::Object(o) => match get_ci(o, name) {
                    None | Some(Value::Null) => Ok(false),
                    Some(Value::String(s)) if case_exact => Ok(s == text),
                    Some(Value::String(s)) => Ok(eq_ignore_case_to(s, text, *text_ascii)),
                    Some(_) => element_matches(filter, element, def, registry),
                },
                _ => element_matches(filter, element, def, registry),
            },
            Matcher::General {
                filter,
                def,
                registry,
            } => element_matches(filter, element, def, registry),
        }
    }
}

/// The values of a long multi-valued attribute by their `value` sub-attribute, so that adding
/// or removing k members of a group of n costs about n + k comparisons instead of n × k.
///
/// Lookups give candidates (every value equal ignoring case, or exactly when `value` is
/// caseExact); callers still test each candidate with [`same_record`] or [`selects`], so the
/// index only ever narrows the search.
struct ValueIndex {
    by_value: BTreeMap<String, Vec<usize>>,
    case_exact: bool,
    /// False when some value is not an object: lookups then answer `None` (scan).
    usable: bool,
}

impl ValueIndex {
    /// Whether n × k is large enough for building the index to pay.
    fn worth_it(n: usize, k: usize) -> bool {
        n.saturating_mul(k) >= 1024
    }

    fn build(elements: &[Value], def: Option<&Attribute>) -> Self {
        let case_exact = def
            .and_then(|d| d.sub_attribute("value"))
            .is_some_and(|sd| sd.case_exact);
        let mut by_value: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut usable = true;
        for (i, e) in elements.iter().enumerate() {
            match e {
                Value::Object(o) => {
                    if let Some(Value::String(v)) = get_ci(o, "value") {
                        by_value.entry(fold(v, case_exact)).or_default().push(i);
                    }
                }
                // A simple value can equal a string selector itself: scan instead.
                _ => usable = false,
            }
        }
        ValueIndex {
            by_value,
            case_exact,
            usable,
        }
    }

    /// The indices (ascending) of the values whose `value` may equal the one `item` gives;
    /// `None` when `item` gives no string `value` (then every value must be scanned).
    fn candidates(&self, item: &Value) -> Option<&[usize]> {
        if !self.usable {
            return None;
        }
        let v = match item {
            Value::Object(o) => get_ci(o, "value")?.as_str()?,
            Value::String(s) => s.as_str(),
            _ => return None,
        };
        Some(
            self.by_value
                .get(&fold(v, self.case_exact))
                .map_or(&[][..], Vec::as_slice),
        )
    }
}

/// The form a `value` is indexed by: itself, or lower-cased char by char (as
/// [`eq_ignore_case`] compares).
fn fold(s: &str, case_exact: bool) -> String {
    if case_exact {
        s.to_owned()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

/// Absent, null, `[]` or `{}`: unassigned (RFC 7643 §2.5).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn is_absent(v: Option<&Value>) -> bool {
    v.is_none_or(is_empty)
}

fn values_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    a.filter(|v| !v.is_null()) == b.filter(|v| !v.is_null())
}

/// [`eq_ignore_case`] with the ASCII-ness of `text` known: a value of another length, or an
/// ASCII value that differs, is rejected without a Unicode comparison.
fn eq_ignore_case_to(s: &str, text: &str, text_ascii: bool) -> bool {
    let (a, b) = (s.as_bytes(), text.as_bytes());
    // Stops at the first difference: values that differ usually do so in their first bytes.
    if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y)) {
        return true;
    }
    if text_ascii && s.is_ascii() {
        return false;
    }
    eq_ignore_case(s, text)
}

/// Whether a value given with `remove` selects `element`: the same record as for `add`
/// ([`same_record`]: same `value`, compared as the schema says, and same `type` when both give
/// one), and a bare string selects a complex value whose `value` it is. A selector whose
/// members are all null selects nothing.
fn selects(selector: &Value, element: &Value, def: Option<&Attribute>) -> bool {
    match (selector, element) {
        (Value::Object(s), _) if s.values().all(Value::is_null) => false,
        (Value::String(s), Value::Object(_)) => {
            same_record(element, &Value::Object(value_only(s)), def)
        }
        _ => same_record(element, selector, def),
    }
}

/// `{"value": s}`.
fn value_only(s: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("value".to_owned(), Value::String(s.to_owned()));
    m
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
