//! Inputs of the connectors benchmarks (`benches/benches/connectors.rs`) and of the
//! `memory_per_user` binary: HR-shaped Users made deterministically from their number, a
//! [`MemoryDirectory`] holding them, changes made to it, links for a state store, and the
//! reads the benchmarks time.
//!
//! User *i* ([`hr_user`]) has the attributes an HR export gives a directory: `userName`,
//! `externalId` (the employee number), `name`, `displayName`, `title`, one work email, one
//! work phone, `active` (one user in 50 is inactive), and the enterprise extension with
//! `employeeNumber`, `costCenter`, `organization`, `division`, `department` and `manager`
//! (user *i*'s manager is user *i* / 8, so the org chart is a tree of fan-out 8). Its `id` is
//! [`user_id`]`(i)`, 16 hex digits scattered over the id space as a directory's GUIDs are.

use std::fs;

use connectors::memory::MemoryDirectory;
use connectors::state::records::Link;
use connectors::state::{StateStore, Txn};
use connectors::{
    JobId, ObjectType, PageToken, Result, SourceConnector, SourceId, TargetConnector, TargetId,
    Watermark,
};
use futures::executor::block_on;
use scim_model::patch::PatchOp;
use scim_model::{AttributePath, ENTERPRISE_USER_SCHEMA, Resource, USER_SCHEMA};
use serde_json::{Map, Value, json};

const GIVEN: [&str; 32] = [
    "Adele", "Alex", "Allan", "Ananya", "Bianca", "Carlos", "Chen", "Diego", "Emma", "Fatima",
    "Grace", "Hiroshi", "Ines", "Isaiah", "Johanna", "Kwame", "Lars", "Lidia", "Mei", "Miriam",
    "Nestor", "Noah", "Olga", "Pradeep", "Priya", "Rafael", "Sara", "Tomasz", "Uma", "Viktor",
    "Yasmin", "Zoe",
];

const FAMILY: [&str; 32] = [
    "Adams",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Umarov",
    "Vance",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Andersson",
    "Brennan",
    "Costa",
    "Dimitrov",
    "Esposito",
    "Fernandes",
];

const DEPARTMENTS: [&str; 12] = [
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Human Resources",
    "Legal",
    "Operations",
    "Customer Support",
    "Research",
    "Procurement",
    "Facilities",
    "Information Technology",
];

const TITLES: [&str; 16] = [
    "Associate",
    "Analyst",
    "Senior Analyst",
    "Specialist",
    "Engineer",
    "Senior Engineer",
    "Staff Engineer",
    "Team Lead",
    "Manager",
    "Senior Manager",
    "Director",
    "Account Executive",
    "Consultant",
    "Coordinator",
    "Technician",
    "Administrator",
];

/// The object type every benchmark here reads and writes.
pub const USER: ObjectType = ObjectType::USER;

/// How many users [`directory`] loads per call of [`MemoryDirectory::load`]: small enough
/// that the ids each call returns are freed and reused before the next, so they do not
/// inflate a resident-memory figure.
pub const LOAD_CHUNK: u64 = 10_000;

/// SplitMix64's output function: a bijection of `u64`, so distinct inputs give distinct
/// outputs, well scattered.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The directory id of user `i`: 16 hex digits, unique (as [`mix`] is a bijection).
pub fn user_id(i: u64) -> String {
    format!("{:016x}", mix(i))
}

/// A target id for user `i`, shaped like an Entra object id (a GUID).
pub fn target_id(i: u64) -> String {
    let a = mix(i ^ 0x5a5a_5a5a_5a5a_5a5a);
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn pick<const N: usize>(list: &[&'static str; N], h: u64) -> &'static str {
    // N is a small constant, so the index fits.
    list[usize::try_from(h % N as u64).unwrap_or(0)]
}

/// Given and family name of user `i`.
fn names(i: u64) -> (&'static str, &'static str) {
    let h = mix(i.wrapping_mul(31).wrapping_add(7));
    (pick(&GIVEN, h), pick(&FAMILY, h >> 8))
}

fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// User `i`, as an HR-driven directory holds it (see the [module documentation](self)),
/// with its `id` and without `meta`.
pub fn hr_user(i: u64) -> Resource {
    let (given, family) = names(i);
    let h = mix(i ^ 0x00c0_ffee);
    let login = format!(
        "{}.{}{i}@contoso.example",
        given.to_ascii_lowercase(),
        family.to_ascii_lowercase()
    );
    let employee_number = format!("{i:07}");
    let department = pick(&DEPARTMENTS, h);

    let mut r = Resource::new([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
    r.set_id(user_id(i));
    r.set_external_id(employee_number.clone());
    r.set("userName", string(login.clone()));
    r.set(
        "name",
        json!({
            "formatted": format!("{given} {family}"),
            "familyName": family,
            "givenName": given,
        }),
    );
    r.set("displayName", string(format!("{given} {family}")));
    r.set("title", string(pick(&TITLES, h >> 8)));
    r.set("preferredLanguage", string("en-US"));
    r.set(
        "emails",
        json!([{ "value": login, "type": "work", "primary": true }]),
    );
    r.set(
        "phoneNumbers",
        json!([{ "value": format!("+1 555 {:03} {:04}", (h >> 16) % 1000, i % 10_000), "type": "work" }]),
    );
    r.set("active", Value::Bool(i % 50 != 49));
    let ext: &mut Map<String, Value> = r.extension_mut(ENTERPRISE_USER_SCHEMA);
    ext.insert("employeeNumber".to_owned(), string(employee_number));
    ext.insert(
        "costCenter".to_owned(),
        string(format!("CC-{}", 1000 + (h >> 24) % 400)),
    );
    ext.insert("organization".to_owned(), string("Contoso"));
    ext.insert(
        "division".to_owned(),
        string(if (h >> 32).is_multiple_of(3) {
            "EMEA"
        } else {
            "Americas"
        }),
    );
    ext.insert("department".to_owned(), string(department));
    if i > 0 {
        let boss = i / 8;
        let (bg, bf) = names(boss);
        ext.insert(
            "manager".to_owned(),
            json!({ "value": user_id(boss), "displayName": format!("{bg} {bf}") }),
        );
    }
    r
}

/// Users `range`, made one at a time as the iterator is read.
pub fn hr_users(range: std::ops::Range<u64>) -> impl Iterator<Item = Resource> {
    range.map(hr_user)
}

/// A [`MemoryDirectory`] (default settings: page size 500) holding users `0..n`, loaded in
/// chunks of [`LOAD_CHUNK`].
///
/// # Errors
///
/// What [`MemoryDirectory::load`] returns (none for these users).
pub fn directory(n: u64) -> Result<MemoryDirectory> {
    let dir = MemoryDirectory::new();
    let mut start = 0;
    while start < n {
        let end = n.min(start + LOAD_CHUNK);
        dir.load(&USER, hr_users(start..end))?;
        start = end;
    }
    Ok(dir)
}

/// A full import of the directory's users, page by page as the engine reads it; returns how
/// many users it read.
///
/// # Errors
///
/// What [`SourceConnector::import_page`] returns.
pub fn full_import(dir: &MemoryDirectory) -> Result<usize> {
    let mut token: Option<PageToken> = None;
    let mut n = 0;
    loop {
        let page = block_on(dir.import_page(&USER, token.as_ref()))?;
        n += page.objects.len();
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(n),
        }
    }
}

/// Every change of the directory's users after `since`, page by page; returns how many
/// changes it read.
///
/// # Errors
///
/// What [`SourceConnector::changes`] returns.
pub fn read_changes(dir: &MemoryDirectory, since: &Watermark) -> Result<usize> {
    let mut token: Option<PageToken> = None;
    let mut n = 0;
    loop {
        let page = block_on(dir.changes(&USER, since, token.as_ref()))?;
        n += page.changes.len();
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(n),
        }
    }
}

/// Changes the title of `count` distinct users of a directory holding users `0..n` (a PATCH
/// each, through [`TargetConnector::patch`]), spread evenly over the directory, and returns
/// for each `c` of `marks` the watermark taken `c` changes before the end: reading the changes
/// since it gives exactly the last `c` changes. `count` is the largest mark.
///
/// # Errors
///
/// What [`TargetConnector::patch`] or [`SourceConnector::current_watermark`] returns;
/// a permanent [`connectors::Error`] when the largest mark is more than `n`.
pub fn staged_changes(
    dir: &MemoryDirectory,
    n: u64,
    marks: &[u64],
) -> Result<Vec<(u64, Watermark)>> {
    let count = marks.iter().copied().max().unwrap_or(0);
    if count > n {
        return Err(connectors::Error::permanent(
            dir.name(),
            format!("{count} distinct changes need {count} users; the directory has {n}"),
        ));
    }
    let stride = n.checked_div(count).unwrap_or(1);
    let mut watermarks = Vec::new();
    for j in 0..count {
        for &c in marks {
            if count - j == c {
                watermarks.push((c, block_on(dir.current_watermark(&USER))?));
            }
        }
        let i = j * stride;
        let title = pick(&TITLES, mix(i ^ 0x00c0_ffee) >> 8 ^ 1);
        let patch = PatchOp::new().replace(
            AttributePath::new("title"),
            string(format!("{title} (promoted)")),
        );
        block_on(TargetConnector::patch(
            dir,
            &USER,
            &TargetId::new(user_id(i)),
            &patch,
            None,
        ))?;
    }
    Ok(watermarks)
}

/// The job every link benchmark writes under.
pub fn job() -> JobId {
    JobId::new("hr-to-entra")
}

/// The link of user `i`: its source id ([`user_id`]), a GUID target id ([`target_id`]), both
/// fingerprints set (16 hex digits each, as the engine stores them), updated at a fixed time.
pub fn link(i: u64) -> Link {
    let updated = chrono::DateTime::from_timestamp(1_717_400_000, 0).unwrap_or_default();
    let mut l = Link::new(
        SourceId::new(user_id(i)),
        TargetId::new(target_id(i)),
        updated,
    );
    l.source_fingerprint = Some(format!("{:016x}", mix(i ^ 0x1111)));
    l.export_fingerprint = Some(format!("{:016x}", mix(i ^ 0x2222)));
    l
}

/// A transaction writing the links of users `range` (two writes each: the link and its
/// reverse index entry).
///
/// # Errors
///
/// What [`Txn::put_link`] returns (none: a link always encodes).
pub fn links_txn(range: std::ops::Range<u64>) -> Result<Txn> {
    let job = job();
    let mut txn = Txn::new(None);
    for i in range {
        txn.put_link(&job, &USER, &link(i))?;
    }
    Ok(txn)
}

/// Writes the links of users `0..n` into `store`, `batch` per transaction.
///
/// # Errors
///
/// What [`Txn::commit`] returns.
pub fn fill_links<S: StateStore + ?Sized>(store: &S, n: u64, batch: u64) -> Result<()> {
    let mut start = 0;
    while start < n {
        let end = n.min(start + batch.max(1));
        block_on(links_txn(start..end)?.commit(store))?;
        start = end;
    }
    Ok(())
}

/// This process's resident memory in bytes (`VmRSS` of `/proc/self/status`; Linux), `None`
/// where it cannot be read.
pub fn resident_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors::state::{MemoryStateStore, StateStoreExt};
    use scim_model::SchemaRegistry;

    #[test]
    fn users_are_valid_distinct_and_deterministic() {
        let registry = SchemaRegistry::default();
        let mut ids = Vec::new();
        for i in [0, 1, 7, 8, 49, 12_345, 999_999] {
            let u = hr_user(i);
            assert_eq!(u, hr_user(i));
            let issues = registry.validate(&u, scim_model::Operation::Stored);
            assert!(issues.is_empty(), "user {i}: {issues:?}");
            assert_eq!(u.id(), Some(user_id(i).as_str()));
            ids.push(user_id(i));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7);
        let u = hr_user(17);
        let ext = u.extension(ENTERPRISE_USER_SCHEMA).unwrap();
        assert_eq!(ext["manager"]["value"], json!(user_id(2)));
        assert!(
            hr_user(0)
                .extension(ENTERPRISE_USER_SCHEMA)
                .unwrap()
                .get("manager")
                .is_none()
        );
        assert_eq!(hr_user(49).get("active"), Some(&json!(false)));
        assert_eq!(target_id(3).len(), 36);
    }

    #[test]
    fn import_and_staged_changes_read_what_was_written() {
        let dir = directory(2_000).unwrap();
        assert_eq!(dir.len(&USER), 2_000);
        assert_eq!(full_import(&dir).unwrap(), 2_000);
        let marks = staged_changes(&dir, 2_000, &[100, 10, 1]).unwrap();
        let counts: Vec<u64> = marks.iter().map(|(c, _)| *c).collect();
        assert_eq!(counts, [100, 10, 1]);
        for (c, w) in &marks {
            assert_eq!(read_changes(&dir, w).unwrap() as u64, *c);
        }
        let changed = dir.resource(&USER, &user_id(1_980)).unwrap();
        assert!(
            changed
                .get("title")
                .unwrap()
                .as_str()
                .unwrap()
                .ends_with("(promoted)")
        );
        assert!(staged_changes(&dir, 10, &[11]).is_err());
    }

    #[test]
    fn links_fill_a_store_and_are_found_both_ways() {
        let store = MemoryStateStore::new();
        fill_links(&store, 1_000, 300).unwrap();
        let job = job();
        let got = block_on(store.link_by_source(&job, &USER, &SourceId::new(user_id(999))));
        assert_eq!(got.unwrap(), Some(link(999)));
        let got = block_on(store.link_by_target(&job, &USER, &TargetId::new(target_id(0))));
        assert_eq!(got.unwrap(), Some(link(0)));
        assert_eq!(links_txn(0..10).unwrap().len(), 20);
    }

    #[test]
    fn resident_memory_is_read() {
        assert!(resident_bytes().unwrap() > 0);
    }
}
