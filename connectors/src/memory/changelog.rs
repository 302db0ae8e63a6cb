//! The change log of one object type: what a delta reader sees, ordered by USN.
//!
//! Like Active Directory's `uSNChanged`, every write takes the next value of one directory-wide
//! counter (the USN). The log keeps, per object, only its *latest* entries:
//!
//! - one **state** entry: [`EntryKind::Upsert`] (created or changed; the reader gets the
//!   object's current state) or [`EntryKind::Delete`] (a tombstone);
//! - at most one **members** entry after it: [`EntryKind::Members`], the group-membership
//!   changes made since the state entry, merged into one net [`MemberDelta`].
//!
//! When an object changes again its older entries are removed and a new one is added at the
//! new USN, so the log holds at most two entries per object (plus tombstones) and reading the
//! changes after a USN costs the number of entries after it, never the directory's size. A
//! reader whose position is older than an object's entries sees the object's newest state (and
//! may see a membership change that state already contains: a harmless replay); a reader whose
//! position is newer sees nothing of it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// What a log entry says happened to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// Created or changed: the reader is given the object's current state.
    Upsert,
    /// Members added or removed: the reader is given the object's [`MemberDelta`].
    Members,
    /// Deleted: a tombstone.
    Delete,
}

/// One entry: what happened, and to which object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) kind: EntryKind,
    pub(crate) id: Arc<str>,
}

/// The change log of one object type, keyed by USN.
#[derive(Debug, Default)]
pub(crate) struct ChangeLog {
    entries: BTreeMap<u64, Entry>,
    /// Tombstones at or below this USN were purged: a reader from an older position would miss
    /// deletes and must import in full.
    horizon: u64,
}

impl ChangeLog {
    /// Records a change at `usn` (higher than every USN recorded before), removing the
    /// object's older entries `replaces` (USNs the caller kept for it).
    pub(crate) fn record(
        &mut self,
        usn: u64,
        kind: EntryKind,
        id: Arc<str>,
        replaces: impl IntoIterator<Item = u64>,
    ) {
        for old in replaces {
            self.entries.remove(&old);
        }
        self.entries.insert(usn, Entry { kind, id });
    }

    /// Removes the entry at `usn`, recording nothing (a bulk load that is undone).
    pub(crate) fn remove(&mut self, usn: u64) {
        self.entries.remove(&usn);
    }

    /// The entries after `after`, oldest first.
    pub(crate) fn after(&self, after: u64) -> impl Iterator<Item = (u64, &Entry)> + '_ {
        self.entries
            .range((Bound::Excluded(after), Bound::Unbounded))
            .map(|(usn, e)| (*usn, e))
    }

    /// The oldest position a reader may still read from (see [`ChangeLog::purge_tombstones`]).
    pub(crate) fn horizon(&self) -> u64 {
        self.horizon
    }

    /// Drops the tombstones at or below `through` (as a directory does when its tombstone
    /// lifetime passes) and moves the horizon there: positions older than it can no longer
    /// be read. Costs the entries at or below `through`. Returns how many were dropped.
    pub(crate) fn purge_tombstones(&mut self, through: u64) -> usize {
        let doomed: Vec<u64> = self
            .entries
            .range(..=through)
            .filter(|(_, e)| e.kind == EntryKind::Delete)
            .map(|(usn, _)| *usn)
            .collect();
        for usn in &doomed {
            self.entries.remove(usn);
        }
        self.horizon = self.horizon.max(through);
        doomed.len()
    }

    /// How many entries the log holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many tombstones the log holds (costs the log's length).
    pub(crate) fn tombstones(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.kind == EntryKind::Delete)
            .count()
    }
}

/// The net membership changes of one group since its last state entry: for each member
/// touched, whether it is a member now. Keyed by the member id folded to lower case (SCIM
/// compares `members.value` case-insensitively), keeping the spelling last written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberDelta {
    /// The USN of the group's [`EntryKind::Members`] entry.
    pub(crate) usn: u64,
    changes: BTreeMap<Box<str>, (Box<str>, bool)>,
}

impl MemberDelta {
    /// An empty delta logged at `usn`.
    pub(crate) fn new(usn: u64) -> Self {
        MemberDelta {
            usn,
            changes: BTreeMap::new(),
        }
    }

    /// Merges later changes in: a member added then removed ends up removed, and the other
    /// way round. Costs the members given.
    pub(crate) fn merge<'a>(
        &mut self,
        added: impl IntoIterator<Item = &'a str>,
        removed: impl IntoIterator<Item = &'a str>,
    ) {
        for (ids, present) in [
            (added.into_iter().collect::<Vec<_>>(), true),
            (removed.into_iter().collect(), false),
        ] {
            for id in ids {
                self.changes
                    .insert(fold(id).into(), (Box::from(id), present));
            }
        }
    }

    /// The members added, in folded-id order.
    pub(crate) fn added(&self) -> impl Iterator<Item = &str> {
        self.changes
            .values()
            .filter(|(_, present)| *present)
            .map(|(id, _)| &**id)
    }

    /// The members removed, in folded-id order.
    pub(crate) fn removed(&self) -> impl Iterator<Item = &str> {
        self.changes
            .values()
            .filter(|(_, present)| !*present)
            .map(|(id, _)| &**id)
    }

    /// Whether no member was touched.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A member id as SCIM compares it: lower case (borrowed when it already is).
pub(crate) fn fold(id: &str) -> Cow<'_, str> {
    if id.chars().any(char::is_uppercase) {
        Cow::Owned(id.to_lowercase())
    } else {
        Cow::Borrowed(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    fn listing(log: &ChangeLog, after: u64) -> Vec<(u64, EntryKind, String)> {
        log.after(after)
            .map(|(usn, e)| (usn, e.kind, e.id.to_string()))
            .collect()
    }

    #[test]
    fn a_later_change_replaces_the_older_entry() {
        let mut log = ChangeLog::default();
        log.record(1, EntryKind::Upsert, id("a"), []);
        log.record(2, EntryKind::Upsert, id("b"), []);
        log.record(3, EntryKind::Upsert, id("a"), [1]);
        assert_eq!(log.len(), 2);
        assert_eq!(
            listing(&log, 0),
            vec![
                (2, EntryKind::Upsert, "b".into()),
                (3, EntryKind::Upsert, "a".into())
            ]
        );
        // A reader past the change sees nothing of it; one between sees only the newer one.
        assert_eq!(listing(&log, 3), vec![]);
        assert_eq!(listing(&log, 2), vec![(3, EntryKind::Upsert, "a".into())]);
    }

    #[test]
    fn deletes_stay_as_tombstones_until_purged() {
        let mut log = ChangeLog::default();
        log.record(1, EntryKind::Upsert, id("a"), []);
        log.record(2, EntryKind::Upsert, id("b"), []);
        log.record(3, EntryKind::Delete, id("a"), [1]);
        assert_eq!(listing(&log, 0).len(), 2);
        assert_eq!(listing(&log, 2), vec![(3, EntryKind::Delete, "a".into())]);
        assert_eq!(log.tombstones(), 1);

        assert_eq!(log.horizon(), 0);
        assert_eq!(log.purge_tombstones(2), 0, "the tombstone is newer than 2");
        assert_eq!(log.horizon(), 2);
        assert_eq!(log.purge_tombstones(3), 1);
        assert_eq!(log.horizon(), 3);
        assert_eq!(listing(&log, 0), vec![(2, EntryKind::Upsert, "b".into())]);
        // The horizon never moves back.
        log.purge_tombstones(1);
        assert_eq!(log.horizon(), 3);
    }

    #[test]
    fn member_entries_follow_the_state_entry() {
        let mut log = ChangeLog::default();
        log.record(1, EntryKind::Upsert, id("g"), []);
        log.record(2, EntryKind::Members, id("g"), []);
        log.record(3, EntryKind::Members, id("g"), [2]);
        assert_eq!(
            listing(&log, 0),
            vec![
                (1, EntryKind::Upsert, "g".into()),
                (3, EntryKind::Members, "g".into())
            ]
        );
        assert_eq!(listing(&log, 1), vec![(3, EntryKind::Members, "g".into())]);
        // A full change replaces both.
        log.record(4, EntryKind::Upsert, id("g"), [1, 3]);
        assert_eq!(listing(&log, 0), vec![(4, EntryKind::Upsert, "g".into())]);
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn member_deltas_merge_to_the_net_change() {
        let mut d = MemberDelta::new(7);
        assert!(d.is_empty());
        d.merge(["u1", "u2"], []);
        d.merge(["U3"], ["u1"]);
        d.merge([], ["u4"]);
        d.merge(["U4"], []);
        let added: Vec<&str> = d.added().collect();
        let removed: Vec<&str> = d.removed().collect();
        assert_eq!(added, vec!["u2", "U3", "U4"]);
        assert_eq!(removed, vec!["u1"]);
        assert_eq!(d.usn, 7);
    }

    #[test]
    fn fold_borrows_lower_case_ids() {
        assert!(matches!(fold("u-0001"), Cow::Borrowed(_)));
        assert_eq!(fold("ÄB"), "äb");
    }

    #[test]
    fn reading_costs_the_entries_after_the_position() {
        let mut log = ChangeLog::default();
        for usn in 1..=100_000u64 {
            log.record(usn, EntryKind::Upsert, id(&format!("o{usn}")), []);
        }
        // Only the tail is visited: the iterator is a range, not a scan.
        assert_eq!(log.after(99_990).count(), 10);
        assert_eq!(log.after(100_000).count(), 0);
    }
}
