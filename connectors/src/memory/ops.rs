//! [`SourceConnector`] and [`TargetConnector`] for [`MemoryDirectory`].

use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use scim_model::patch::PatchOp;
use scim_model::schema::{Operation, ValidationIssue};
use scim_model::{AttributePath, CompareOp, Filter, Resource};
use serde_json::Value;

use super::changelog::EntryKind;
use super::directory::{MemoryDirectory, with_schemas};
use super::members::{diff, membership_only, present, present_owned};
use super::query::{SortKey, cmp_keys, comp_value, filter_reads_meta, path_is_meta, sort_key};
use super::state::{State, Stored, TypeConfig, with_id};
use crate::error::ObjectRef;
use crate::source::{
    Change, ChangeKind, ChangePage, ImportPage, SourceCapabilities, SourceConnector, SourceObject,
};
use crate::target::{
    CreatedObject, Query, QueryPage, SortOrder, TargetCapabilities, TargetConnector, TargetObject,
};
use crate::types::{CreateKey, ObjectType, PageToken, SourceId, TargetId, Version, Watermark};
use crate::{Error, Result};

/// An [`Error::InvalidInput`] listing validation issues (the first few).
fn invalid(object: ObjectRef, issues: &[ValidationIssue]) -> Error {
    let mut message = issues
        .iter()
        .take(5)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if issues.len() > 5 {
        message.push_str(&format!("; and {} more", issues.len() - 5));
    }
    Error::InvalidInput {
        object,
        message,
        source: None,
    }
}

/// An [`Error::InvalidInput`] with a message.
fn invalid_msg(object: ObjectRef, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        object,
        message: message.into(),
        source: None,
    }
}

/// Whether a value counts as unassigned (RFC 7643 §2.5).
fn unassigned(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// Refuses a resource that lacks one of its type's required attributes.
fn check_required(cfg: &TypeConfig, resource: &Resource, object: &ObjectRef) -> Result<()> {
    match cfg
        .required
        .iter()
        .find(|name| unassigned(resource.get(name)))
    {
        Some(name) => Err(invalid_msg(
            object.clone(),
            format!("{name}: required attribute has no value"),
        )),
        None => Ok(()),
    }
}

/// Whether a PATCH may change an attribute the directory guards (see [`TypeConfig::guards`]).
fn touches_guarded(patch: &PatchOp, cfg: &TypeConfig) -> bool {
    let base = cfg.base_schema.as_str();
    patch.operations().iter().any(|op| match &op.path {
        Some(p) => p.urn().is_none_or(|u| u.eq_ignore_ascii_case(base)) && cfg.guards(p.name()),
        None => match &op.value {
            Some(Value::Object(attrs)) => attrs.keys().any(|k| {
                if k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
                    // `urn:…:User:userName`, or the base schema's block: guarded when in the
                    // base schema; an extension's attributes are not.
                    match k.get(..base.len()) {
                        Some(prefix) if prefix.eq_ignore_ascii_case(base) => {
                            let rest = &k[base.len()..];
                            rest.is_empty() || cfg.guards(rest.trim_start_matches(':'))
                        }
                        _ => false,
                    }
                } else {
                    cfg.guards(k)
                }
            }),
            _ => true,
        },
    })
}

/// How a new object is named in errors before it has an id.
fn new_object(ty: &ObjectType, resource: &Resource, key: Option<&CreateKey>) -> ObjectRef {
    let name = key
        .map(|k| k.as_str().to_owned())
        .or_else(|| {
            resource
                .get("userName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            resource
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "(new)".to_owned());
    ObjectRef::new(ty.clone(), name)
}

/// A page token that does not parse.
fn bad_token(name: &str, token: &PageToken) -> Error {
    Error::permanent(
        name,
        format!("page token {token:?} was not issued by this directory"),
    )
}

impl MemoryDirectory {
    fn config(&self, t: usize) -> &TypeConfig {
        &self.inner.types[t]
    }

    /// Prepares a resource a client sent (the caller's copy, taken by value so it is not
    /// copied again): `schemas` defaulted, checked against the schemas if validation is on.
    fn incoming(
        &self,
        cfg: &TypeConfig,
        resource: Resource,
        op: Operation,
        object: &ObjectRef,
    ) -> Result<Resource> {
        let r = if resource.get("schemas").is_none() {
            with_schemas(resource, &cfg.base_schema)
        } else {
            resource
        };
        if self.inner.validate {
            let issues = self.inner.registry.validate(&r, op);
            if !issues.is_empty() {
                return Err(invalid(object.clone(), &issues));
            }
        }
        Ok(r)
    }

    /// Creates; `out` makes the answer from the stored object and its id (the whole object
    /// for `create`, only the id and version for `create_for_id`).
    fn do_create<R>(
        &self,
        ty: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
        out: impl FnOnce(&Stored, &str) -> R,
    ) -> Result<R> {
        let t = self.type_index(ty)?;
        let cfg = self.config(t);
        let object = new_object(ty, resource, key);
        let mut r = resource.clone();
        if let Some(key) = key
            && r.external_id().is_none()
        {
            r.set_external_id(key.as_str());
        }
        let mut r = self.incoming(cfg, r, Operation::Create, &object)?;
        r.remove("meta");
        if self.inner.validate {
            check_required(cfg, &r, &object)?;
        }
        let now = self.inner.clock.now();
        let mut guard = self.write();
        let st = &mut *guard;
        st.types[t].check_unique(&r, None, || object.clone())?;
        let id = st.new_id(t, cfg);
        let usn = st.bump();
        let ts = &mut st.types[t];
        ts.insert(id.clone(), with_id(r, &id), now, now, usn);
        ts.objects
            .get(&*id)
            .map(|s| out(s, &id))
            .ok_or_else(|| Error::not_found(ty.clone(), &*id))
    }

    fn do_get(&self, ty: &ObjectType, id: &str) -> Result<Option<TargetObject>> {
        let t = self.type_index(ty)?;
        let st = self.read();
        Ok(st.types[t]
            .objects
            .get_key_value(id)
            .map(|(k, s)| s.target_object(k, ty)))
    }

    /// [`Self::do_get`], without a group's `members` (and `meta`) unless `attributes` names
    /// them. Anything else is copied whole, as `get` copies it: one pass over the object
    /// costs less than picking attributes out of it (measured: BENCHMARKS.md, sync-engine,
    /// session 11), and a big group's members are what is worth leaving out.
    fn do_get_attributes(
        &self,
        ty: &ObjectType,
        id: &str,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        let t = self.type_index(ty)?;
        let wants_members = attributes
            .iter()
            .any(|p| p.urn().is_none() && p.name().eq_ignore_ascii_case("members"));
        let st = self.read();
        Ok(st.types[t].objects.get_key_value(id).map(|(k, s)| {
            // An exact lookup: a case-insensitive miss would read every key of the object.
            if wants_members || !s.resource.as_object().contains_key("members") {
                return s.target_object(k, ty);
            }
            let kept: serde_json::Map<String, Value> = s
                .resource
                .as_object()
                .iter()
                .filter(|(k, _)| k.as_str() != "members")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            TargetObject::new(
                TargetId::new(&**k),
                Resource::from_object(kept).unwrap_or_else(|_| s.resource.clone()),
                Some(Version::new(s.etag())),
            )
        }))
    }

    fn do_find(
        &self,
        ty: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        let t = self.type_index(ty)?;
        let cfg = self.config(t);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let st = self.read();
        let ts = &st.types[t];
        if let Some(hits) = value
            .as_str()
            .and_then(|v| index_lookup(ts, &cfg.base_schema, path, v))
        {
            return Ok(hits
                .into_iter()
                .take(limit)
                .map(|(id, s)| s.target_object(id, ty))
                .collect());
        }
        let object = ObjectRef::new(ty.clone(), path.to_string());
        let comp = comp_value(value).ok_or_else(|| {
            invalid_msg(
                object.clone(),
                format!("find compares with one value, not {value}"),
            )
        })?;
        let filter = Filter::Compare {
            path: path.clone(),
            op: CompareOp::Eq,
            value: comp,
        };
        let compiled = filter.compile(&self.inner.registry, &cfg.base_schema);
        let with_meta = path_is_meta(path);
        let mut out = Vec::new();
        for (id, s) in &ts.objects {
            let hit = if with_meta {
                compiled.matches(&s.output(ty))
            } else {
                compiled.matches(&s.resource)
            }
            .map_err(|e| Error::invalid_input(object.clone(), e))?;
            if hit {
                out.push(s.target_object(id, ty));
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Applies `patch` under the write lock; `out` makes the answer from the object after it
    /// (a copy of the whole object for `patch`, only its version for `apply_patch`).
    fn do_patch<R>(
        &self,
        ty: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
        out: impl FnOnce(&Stored, &str) -> R,
    ) -> Result<R> {
        let t = self.type_index(ty)?;
        let cfg = self.config(t);
        let registry = &self.inner.registry;
        let object = ObjectRef::new(ty.clone(), id.as_str());
        let membership = membership_only(patch, &cfg.base_schema);
        let guarded = touches_guarded(patch, cfg);
        let now = self.inner.clock.now();
        let mut guard = self.write();
        let State { usn, types, .. } = &mut *guard;
        let ts = &mut types[t];
        let not_found = || Error::not_found(ty.clone(), id.as_str());
        let (key, stored) = ts
            .objects
            .get_key_value(id.as_str())
            .map(|(k, s)| (k.clone(), s))
            .ok_or_else(not_found)?;
        stored.check_version(if_match, &object)?;
        if guarded {
            // Applied to a copy: a clash or a missing required value leaves the object as it
            // was.
            let mut candidate = stored.resource.clone();
            let changed = patch
                .apply(&mut candidate, registry)
                .map_err(|e| Error::invalid_input(object.clone(), e))?;
            if !changed {
                return Ok(out(stored, &key));
            }
            candidate.remove("meta");
            if candidate.id() != Some(id.as_str()) {
                return Err(invalid_msg(
                    object,
                    "id: the directory assigns it; it cannot change",
                ));
            }
            check_required(cfg, &candidate, &object)?;
            ts.check_unique(&candidate, Some(id.as_str()), || object.clone())?;
            ts.replace_resource(&key, candidate);
            *usn += 1;
            ts.log_upsert(&key, *usn, now);
        } else {
            let stored = ts.objects.get_mut(&*key).ok_or_else(not_found)?;
            let before = membership
                .as_ref()
                .map(|c| present_owned(&stored.resource, c));
            // Applied in place (PATCH is atomic: on an error nothing changed), so a
            // membership change of a big group does not copy the group.
            let changed = patch
                .apply(&mut stored.resource, registry)
                .map_err(|e| Error::invalid_input(object.clone(), e))?;
            if !changed {
                return Ok(out(stored, &key));
            }
            stored.resource.remove("meta");
            let delta = match (&membership, &before) {
                (Some(c), Some(b)) => Some(diff(b, &present(&stored.resource, c))),
                _ => None,
            };
            *usn += 1;
            match delta {
                Some((added, removed)) if !(added.is_empty() && removed.is_empty()) => {
                    ts.log_members(&key, *usn, now, &added, &removed);
                }
                _ => ts.log_upsert(&key, *usn, now),
            }
        }
        ts.objects
            .get(&*key)
            .map(|s| out(s, &key))
            .ok_or_else(not_found)
    }

    fn do_replace(
        &self,
        ty: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        let t = self.type_index(ty)?;
        let cfg = self.config(t);
        let object = ObjectRef::new(ty.clone(), id.as_str());
        let mut r = self.incoming(cfg, resource.clone(), Operation::Replace, &object)?;
        r.remove("meta");
        if let Some(given) = r.id()
            && given != id.as_str()
        {
            return Err(invalid_msg(
                object,
                format!("id: the body names {given:?}, the request {id:?}"),
            ));
        }
        let now = self.inner.clock.now();
        let mut guard = self.write();
        let State { usn, types, .. } = &mut *guard;
        let ts = &mut types[t];
        let not_found = || Error::not_found(ty.clone(), id.as_str());
        let (key, stored) = ts
            .objects
            .get_key_value(id.as_str())
            .map(|(k, s)| (k.clone(), s))
            .ok_or_else(not_found)?;
        stored.check_version(if_match, &object)?;
        if self.inner.validate {
            let issues = self.inner.registry.validate_change(&stored.resource, &r);
            if !issues.is_empty() {
                return Err(invalid(object, &issues));
            }
            check_required(cfg, &r, &object)?;
        }
        let r = with_id(r, &key);
        if r == stored.resource {
            return Ok(stored.target_object(&key, ty));
        }
        ts.check_unique(&r, Some(id.as_str()), || object.clone())?;
        ts.replace_resource(&key, r);
        *usn += 1;
        ts.log_upsert(&key, *usn, now);
        ts.objects
            .get(&*key)
            .map(|s| s.target_object(&key, ty))
            .ok_or_else(not_found)
    }

    fn do_delete(&self, ty: &ObjectType, id: &TargetId, if_match: Option<&Version>) -> Result<()> {
        let t = self.type_index(ty)?;
        let object = ObjectRef::new(ty.clone(), id.as_str());
        let mut guard = self.write();
        let st = &mut *guard;
        let Some(stored) = st.types[t].objects.get(id.as_str()) else {
            return Ok(());
        };
        stored.check_version(if_match, &object)?;
        let usn = st.bump();
        st.types[t].remove(id.as_str(), usn);
        Ok(())
    }

    fn do_query(&self, ty: &ObjectType, q: &Query) -> Result<QueryPage> {
        let t = self.type_index(ty)?;
        let cfg = self.config(t);
        let limit = q
            .count
            .unwrap_or(self.inner.page_size)
            .min(self.inner.page_size);
        let compiled = q
            .filter
            .as_ref()
            .map(|f| f.compile(&self.inner.registry, &cfg.base_schema));
        let filter_meta = q.filter.as_ref().is_some_and(filter_reads_meta);
        let object = || {
            ObjectRef::new(
                ty.clone(),
                q.filter
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )
        };
        let test = |s: &Stored| -> Result<bool> {
            let Some(c) = &compiled else {
                return Ok(true);
            };
            if filter_meta {
                c.matches(&s.output(ty))
            } else {
                c.matches(&s.resource)
            }
            .map_err(|e| Error::invalid_input(object(), e))
        };
        let st = self.read();
        let ts = &st.types[t];
        // An `eq` on an indexed attribute (userName, externalId, id), alone or in an `and`,
        // narrows the objects to test to the index's holders (the gateway's and Entra's
        // `GET /Users?filter=userName eq "…"` costs a lookup, not a scan). The filter still
        // decides, so the index need only hold a superset of the matches.
        let candidates: Option<Vec<(&Arc<str>, &Stored)>> = q
            .filter
            .as_ref()
            .and_then(|f| indexed_candidates(f, ts, &cfg.base_schema));
        let objects: Box<dyn Iterator<Item = (&Arc<str>, &Stored)> + '_> = match &candidates {
            Some(c) => Box::new(c.iter().copied()),
            None => Box::new(ts.objects.iter()),
        };

        if let Some(sort) = &q.sort_by {
            if q.cursor.is_some() {
                return Err(Error::unsupported(
                    self.inner.name.clone(),
                    "cursor paging of a sorted query",
                ));
            }
            let def = self
                .inner
                .registry
                .attribute_in(&cfg.base_schema, &sort.without_filter());
            let sort_meta = path_is_meta(sort);
            let mut hits: Vec<(Option<SortKey>, &Arc<str>, &Stored)> = Vec::new();
            for (id, s) in objects {
                if test(s)? {
                    let key = if sort_meta {
                        sort_key(&s.output(ty), sort, def)
                    } else {
                        sort_key(&s.resource, sort, def)
                    };
                    hits.push((key, id, s));
                }
            }
            let descending = q.sort_order == SortOrder::Descending;
            hits.sort_by(|a, b| cmp_keys(&a.0, &b.0, descending).then_with(|| a.1.cmp(b.1)));
            let objects = hits
                .iter()
                .skip(q.start_index.max(1) - 1)
                .take(limit)
                .map(|(_, id, s)| s.target_object(id, ty))
                .collect();
            return Ok(QueryPage {
                objects,
                total_results: hits.len(),
                next: None,
            });
        }

        // Id order: a cursor is the last id returned (keyset paging, stable under changes).
        let after = q.cursor.as_ref().map(PageToken::as_str);
        let skip = if after.is_some() {
            0
        } else {
            q.start_index.max(1) - 1
        };
        let mut page: Vec<(&Arc<str>, &Stored)> = Vec::new();
        let (total, more) = if compiled.is_none() {
            let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
            let mut rest = ts
                .objects
                .range::<str, _>((lower, Bound::Unbounded))
                .skip(skip);
            page.extend(rest.by_ref().take(limit));
            (ts.objects.len(), rest.next().is_some())
        } else {
            let (mut total, mut skipped, mut more) = (0, 0, false);
            for (id, s) in objects {
                if !test(s)? {
                    continue;
                }
                total += 1;
                if after.is_some_and(|a| &**id <= a) {
                    continue;
                }
                if skipped < skip {
                    skipped += 1;
                } else if page.len() < limit {
                    page.push((id, s));
                } else {
                    more = true;
                }
            }
            (total, more)
        };
        let next = if more {
            page.last().map(|(id, _)| PageToken::new(&***id))
        } else {
            None
        };
        Ok(QueryPage {
            objects: page
                .into_iter()
                .map(|(id, s)| s.target_object(id, ty))
                .collect(),
            total_results: total,
            next,
        })
    }

    fn do_import_page(&self, ty: &ObjectType, page: Option<&PageToken>) -> Result<ImportPage> {
        let t = self.type_index(ty)?;
        let name = &self.inner.name;
        let st = self.read();
        let ts = &st.types[t];
        // The token: the watermark taken before the first page, and the last id returned.
        let (watermark, after) = match page {
            None => (st.usn, None),
            Some(token) => {
                let (w, id) = token
                    .as_str()
                    .split_once(':')
                    .ok_or_else(|| bad_token(name, token))?;
                let w: u64 = w.parse().map_err(|_| bad_token(name, token))?;
                (w, Some(id))
            }
        };
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut rest = ts.objects.range::<str, _>((lower, Bound::Unbounded));
        let objects: Vec<SourceObject> = rest
            .by_ref()
            .take(self.inner.page_size)
            .map(|(id, s)| SourceObject::new(SourceId::new(&**id), s.output(ty)))
            .collect();
        let more = rest.next().is_some();
        let next = match objects.last() {
            Some(last) if more => Some(PageToken::new(format!("{watermark}:{}", last.id))),
            _ => None,
        };
        let watermark =
            (next.is_none() && self.inner.delta).then(|| Watermark::from_u64(watermark));
        Ok(ImportPage {
            objects,
            problems: Vec::new(),
            next,
            watermark,
        })
    }

    fn do_changes(
        &self,
        ty: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        let name = &self.inner.name;
        if !self.inner.delta {
            return Err(Error::unsupported(name.clone(), "changes"));
        }
        let t = self.type_index(ty)?;
        let resync = |message: String| Error::ResyncRequired {
            connector: name.clone(),
            message,
        };
        let since = since
            .to_u64()
            .ok_or_else(|| resync(format!("{since:?} is not a watermark of this directory")))?;
        let st = self.read();
        let ts = &st.types[t];
        if since > st.usn {
            return Err(resync(format!(
                "watermark {since} is ahead of this directory's change counter {}: it was issued by another directory",
                st.usn
            )));
        }
        let start = match page {
            None => since,
            Some(token) => token
                .as_str()
                .parse::<u64>()
                .ok()
                .filter(|p| *p >= since && *p <= st.usn)
                .ok_or_else(|| bad_token(name, token))?,
        };
        if start < ts.log.horizon() {
            return Err(resync(format!(
                "tombstones up to change {} were purged; changes since {start} cannot be listed",
                ts.log.horizon()
            )));
        }
        let mut entries = ts.log.after(start);
        let mut changes = Vec::new();
        let mut last = None;
        for (usn, entry) in entries.by_ref().take(self.inner.page_size) {
            last = Some(usn);
            let id = SourceId::new(&*entry.id);
            match entry.kind {
                EntryKind::Delete => changes.push(Change::delete(id)),
                EntryKind::Upsert => {
                    if let Some(s) = ts.objects.get(&*entry.id) {
                        changes.push(Change::upsert(id, s.output(ty)));
                    }
                }
                EntryKind::Members => {
                    if let Some(d) = ts.objects.get(&*entry.id).and_then(|s| s.members.as_ref()) {
                        changes.push(Change {
                            id,
                            kind: ChangeKind::Members {
                                added: d.added().map(SourceId::from).collect(),
                                removed: d.removed().map(SourceId::from).collect(),
                            },
                        });
                    }
                }
            }
        }
        let more = entries.next().is_some();
        let (watermark, next) = match last {
            Some(usn) if more => (usn, Some(PageToken::new(usn.to_string()))),
            _ => (st.usn, None),
        };
        Ok(ChangePage {
            changes,
            problems: Vec::new(),
            next,
            watermark: Watermark::from_u64(watermark),
        })
    }
}

#[async_trait]
impl TargetConnector for MemoryDirectory {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn capabilities(&self) -> TargetCapabilities {
        let mut caps = TargetCapabilities::full(self.inner.types.iter().map(|c| c.ty.clone()));
        caps.max_page_size = Some(self.inner.page_size);
        caps
    }

    async fn get(&self, object_type: &ObjectType, id: &TargetId) -> Result<Option<TargetObject>> {
        self.do_get(object_type, id.as_str())
    }

    async fn get_attributes(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        attributes: &[AttributePath],
    ) -> Result<Option<TargetObject>> {
        self.do_get_attributes(object_type, id.as_str(), attributes)
    }

    async fn find(
        &self,
        object_type: &ObjectType,
        path: &AttributePath,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<TargetObject>> {
        self.do_find(object_type, path, value, limit)
    }

    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<TargetObject> {
        self.do_create(object_type, resource, key, |s, id| {
            s.target_object(id, object_type)
        })
    }

    async fn create_for_id(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
        key: Option<&CreateKey>,
    ) -> Result<CreatedObject> {
        // The same create; the stored object is not copied back out.
        self.do_create(object_type, resource, key, |s, id| {
            CreatedObject::new(id, Some(Version::new(s.etag())))
        })
    }

    async fn patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        self.do_patch(object_type, id, patch, if_match, |s, key| {
            s.target_object(key, object_type)
        })
    }

    async fn apply_patch(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        patch: &PatchOp,
        if_match: Option<&Version>,
    ) -> Result<Option<Version>> {
        self.do_patch(object_type, id, patch, if_match, |s, _| {
            Some(Version::new(s.etag()))
        })
    }

    async fn replace(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        resource: &Resource,
        if_match: Option<&Version>,
    ) -> Result<TargetObject> {
        self.do_replace(object_type, id, resource, if_match)
    }

    async fn delete(
        &self,
        object_type: &ObjectType,
        id: &TargetId,
        if_match: Option<&Version>,
    ) -> Result<()> {
        self.do_delete(object_type, id, if_match)
    }

    async fn query(&self, object_type: &ObjectType, query: &Query) -> Result<QueryPage> {
        self.do_query(object_type, query)
    }
}

#[async_trait]
impl SourceConnector for MemoryDirectory {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn capabilities(&self) -> SourceCapabilities {
        let caps = SourceCapabilities::new(self.inner.types.iter().map(|c| c.ty.clone()))
            .with_max_page_size(self.inner.page_size);
        if self.inner.delta {
            caps.with_delta(true)
        } else {
            caps
        }
    }

    async fn import_page(
        &self,
        object_type: &ObjectType,
        page: Option<&PageToken>,
    ) -> Result<ImportPage> {
        self.do_import_page(object_type, page)
    }

    async fn changes(
        &self,
        object_type: &ObjectType,
        since: &Watermark,
        page: Option<&PageToken>,
    ) -> Result<ChangePage> {
        self.do_changes(object_type, since, page)
    }

    async fn current_watermark(&self, object_type: &ObjectType) -> Result<Watermark> {
        if !self.inner.delta {
            return Err(Error::unsupported(
                self.inner.name.clone(),
                "current_watermark",
            ));
        }
        self.type_index(object_type)?;
        Ok(Watermark::from_u64(self.read().usn))
    }

    async fn get(&self, object_type: &ObjectType, id: &SourceId) -> Result<Option<Resource>> {
        let t = self.type_index(object_type)?;
        let st = self.read();
        Ok(st.types[t]
            .objects
            .get(id.as_str())
            .map(|s| s.output(object_type)))
    }
}

/// The objects an `eq` on an indexed attribute (or `id`) can match, in id order: for
/// `attr eq "v"` the index's holders of `v`, for `a and b` those of either side; `None` when no
/// index applies (every object is tested).
fn indexed_candidates<'s>(
    filter: &Filter,
    ts: &'s super::state::TypeState,
    base_schema: &str,
) -> Option<Vec<(&'s Arc<str>, &'s Stored)>> {
    match filter {
        Filter::And(a, b) => indexed_candidates(a, ts, base_schema)
            .or_else(|| indexed_candidates(b, ts, base_schema)),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: scim_model::CompValue::String(v),
        } => index_lookup(ts, base_schema, path, v),
        _ => None,
    }
}

/// The objects whose `path` holds `value` by the index, in id order, when `path` is `id` or
/// an indexed attribute of the base schema (no filter, no sub-attribute); `None` otherwise.
/// The index compares as it keys (`userName` ignoring case), so callers that need the
/// filter's exact semantics test the objects it returns.
fn index_lookup<'s>(
    ts: &'s super::state::TypeState,
    base_schema: &str,
    path: &AttributePath,
    value: &str,
) -> Option<Vec<(&'s Arc<str>, &'s Stored)>> {
    let plain = path.filter().is_none()
        && path.sub_attribute().is_none()
        && path
            .urn()
            .is_none_or(|u| u.eq_ignore_ascii_case(base_schema));
    if !plain {
        return None;
    }
    if path.name().eq_ignore_ascii_case("id") {
        return Some(ts.objects.get_key_value(value).into_iter().collect());
    }
    let ix = ts.index(path.name())?;
    let mut ids: Vec<&Arc<str>> = ix.holders(&ix.key(value)).iter().collect();
    ids.sort();
    Some(
        ids.into_iter()
            .filter_map(|id| ts.objects.get_key_value(&**id))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryDirectory;
    use serde_json::json;

    fn dir_with_users(page_size: usize, n: usize) -> MemoryDirectory {
        let dir = MemoryDirectory::builder().page_size(page_size).build();
        for i in 0..n {
            let r = Resource::from_value(json!({
                "schemas": [scim_model::USER_SCHEMA], "userName": format!("user{i}")
            }))
            .unwrap();
            dir.do_create(&ObjectType::USER, &r, None, |_, _| ())
                .unwrap();
        }
        dir
    }

    fn usns(page: &ChangePage) -> Vec<String> {
        page.changes.iter().map(|c| c.id.to_string()).collect()
    }

    #[test]
    fn change_pages_carry_their_highest_usn_and_resume_after_it() {
        let dir = dir_with_users(2, 5);
        let since = Watermark::from_u64(0);
        let p1 = dir.do_changes(&ObjectType::USER, &since, None).unwrap();
        assert_eq!(usns(&p1), vec!["u-00000001", "u-00000002"]);
        assert_eq!(p1.watermark.to_u64(), Some(2));
        assert_eq!(p1.next.as_ref().map(PageToken::as_str), Some("2"));
        // The first object changes while the reader is between pages: its entry moves to
        // the end of the log, so the reader sees it again, last (compaction, not loss).
        let patch = PatchOp::new().replace(AttributePath::new("title"), json!("x"));
        dir.do_patch(
            &ObjectType::USER,
            &TargetId::new("u-00000001"),
            &patch,
            None,
            |_, _| (),
        )
        .unwrap();
        let p2 = dir
            .do_changes(&ObjectType::USER, &since, p1.next.as_ref())
            .unwrap();
        assert_eq!(usns(&p2), vec!["u-00000003", "u-00000004"]);
        assert_eq!(p2.watermark.to_u64(), Some(4));
        let p3 = dir
            .do_changes(&ObjectType::USER, &since, p2.next.as_ref())
            .unwrap();
        assert_eq!(usns(&p3), vec!["u-00000005", "u-00000001"]);
        assert!(p3.next.is_none());
        assert_eq!(
            p3.watermark.to_u64(),
            Some(6),
            "the last page: the current USN"
        );
        // Exactly a page's worth left: the last page is empty and carries the current USN.
        let empty = dir
            .do_changes(&ObjectType::USER, &Watermark::from_u64(6), None)
            .unwrap();
        assert!(empty.changes.is_empty() && empty.next.is_none());
        assert_eq!(empty.watermark.to_u64(), Some(6));
    }

    #[test]
    fn page_tokens_from_elsewhere_are_refused() {
        let dir = dir_with_users(2, 3);
        let since = Watermark::from_u64(1);
        for bad in ["x", "0", "99", "-1", ""] {
            let err = dir
                .do_changes(&ObjectType::USER, &since, Some(&PageToken::new(bad)))
                .unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Permanent, "{bad:?}");
        }
        for bad in ["x", "12", "x:u-00000001"] {
            let err = dir
                .do_import_page(&ObjectType::USER, Some(&PageToken::new(bad)))
                .unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Permanent, "{bad:?}");
        }
    }

    #[test]
    fn import_tokens_carry_the_starting_watermark_and_the_last_id() {
        let dir = dir_with_users(2, 3);
        let p1 = dir.do_import_page(&ObjectType::USER, None).unwrap();
        assert_eq!(
            p1.next.as_ref().map(PageToken::as_str),
            Some("3:u-00000002")
        );
        dir.do_delete(&ObjectType::USER, &TargetId::new("u-00000003"), None)
            .unwrap();
        let p2 = dir
            .do_import_page(&ObjectType::USER, p1.next.as_ref())
            .unwrap();
        assert!(p2.objects.is_empty() && p2.next.is_none());
        assert_eq!(p2.watermark.map(|w| w.to_u64()), Some(Some(3)));
        // An id that no longer exists is still a valid position.
        let p = dir
            .do_import_page(&ObjectType::USER, Some(&PageToken::new("3:u-00000002x")))
            .unwrap();
        assert!(p.objects.is_empty());
    }

    #[test]
    fn guarded_attributes_are_found_in_every_patch_form() {
        let cfg = TypeConfig::new(
            ObjectType::USER,
            scim_model::USER_SCHEMA,
            &scim_model::SchemaRegistry::default(),
        );
        let guarded = |v: serde_json::Value| {
            let p = PatchOp::from_value(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": v
            }))
            .unwrap();
            touches_guarded(&p, &cfg)
        };
        assert!(guarded(
            json!([{"op": "replace", "path": "USERNAME", "value": "x"}])
        ));
        assert!(guarded(
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "x"}])
        ));
        assert!(guarded(
            json!([{"op": "replace", "value": {"externalId": "x"}}])
        ));
        assert!(guarded(
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:userName": "x"}}])
        ));
        assert!(!guarded(
            json!([{"op": "replace", "path": "title", "value": "x"}])
        ));
        assert!(!guarded(
            json!([{"op": "add", "value": {"name.givenName": "x", "ürn:x": 1}}])
        ));
        assert!(!guarded(
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"}}}])
        ));
    }
}
