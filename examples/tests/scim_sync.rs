//! The sync engine against a real SCIM server that no one here wrote: the example HR export
//! (`examples/data/hr.csv`, 3,000 people, `hr-job.json`) provisioned into `scim2-server`
//! (PyPI, started on loopback by `connectors::testing::Scim2Server`) through `ScimTarget`,
//! then a changed export (moves, leavers, a new hire, removed records) as a delta cycle, then
//! the same export again (nothing to do). After each cycle the server's users are read back and
//! compared with what the export says they must be.
//!
//! Skipped with a visible message when scim2-server is not installed (run `.ci/peers`); CI sets
//! `IDFLOW_REQUIRE_PEERS=1`, which makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::scim::{ScimTarget, ScimTargetConfig};
use connectors::testing::Scim2Server;
use connectors::{
    CsvOptions, CsvSource, JobId, ObjectType, Query, RedbStateStore, SourceConnector,
    TargetConnector,
};
use scim_model::AttributePath;
use serde_json::Value;
use sync_engine::{CycleReport, Job, RunOptions, SyncEngine};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// One row of the HR export, by the columns the checks need.
#[derive(Clone, Debug)]
struct Row {
    external_id: String,
    user_name: String,
    active: bool,
    department: String,
    manager: String,
    line: String,
}

fn read_rows(path: &Path) -> (String, Vec<Row>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            // The export's data rows hold no quoted cells (checked here).
            assert!(!line.contains('"'), "{line}");
            let cells: Vec<&str> = line.split(',').collect();
            Row {
                external_id: cells[0].to_owned(),
                user_name: cells[1].to_owned(),
                active: cells[7] == "true",
                department: cells[9].to_owned(),
                manager: cells[11].to_owned(),
                line: line.to_owned(),
            }
        })
        .collect();
    (header, rows)
}

fn write_rows(path: &Path, header: &str, rows: &[Row]) {
    let mut text = String::from(header);
    text.push('\n');
    for r in rows {
        text.push_str(&r.line);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn set_cell(row: &mut Row, index: usize, value: &str) {
    let mut cells: Vec<String> = row.line.split(',').map(str::to_owned).collect();
    cells[index] = value.to_owned();
    row.line = cells.join(",");
}

/// Who the job provisions: active people who are not contractors.
fn in_scope(r: &Row) -> bool {
    r.active && r.department != "Contractors"
}

/// A user as the server holds it.
#[derive(Debug)]
struct Held {
    id: String,
    active: bool,
    department: Option<String>,
    manager: Option<String>,
}

/// Every user the server holds, by userName; fails on a userName held twice.
async fn server_users(target: &ScimTarget) -> BTreeMap<String, Held> {
    let mut out = BTreeMap::new();
    let mut start = 1;
    loop {
        let mut q = Query::all().with_count(500);
        q.start_index = start;
        let page = target.query(&ObjectType::USER, &q).await.unwrap();
        let n = page.objects.len();
        for o in page.objects {
            let r = o.resource;
            let user_name = r
                .get("userName")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned();
            let held = Held {
                id: o.id.to_string(),
                active: r.get("active").and_then(Value::as_bool).unwrap_or(true),
                department: r
                    .attribute(Some(ENT), "department")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                manager: r
                    .attribute(Some(ENT), "manager")
                    .and_then(|m| m.get("value"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            assert!(
                out.insert(user_name.clone(), held).is_none(),
                "{user_name} is held twice"
            );
        }
        start += n;
        if n == 0 || start > page.total_results {
            break;
        }
    }
    out
}

/// The server holds exactly what `rows` say: every in-scope person once with their department
/// and their manager's server id; people who left scope disabled (`disabled`) or absent.
async fn check(target: &ScimTarget, rows: &[Row], disabled: &[&str], absent: &[&str]) {
    let held = server_users(target).await;
    let by_external: BTreeMap<&str, &Row> =
        rows.iter().map(|r| (r.external_id.as_str(), r)).collect();
    let mut expected = 0;
    for r in rows.iter().filter(|r| in_scope(r)) {
        expected += 1;
        let h = held
            .get(&r.user_name)
            .unwrap_or_else(|| panic!("{} is not on the server", r.user_name));
        assert!(h.active, "{} should be active", r.user_name);
        assert_eq!(
            h.department.as_deref(),
            Some(r.department.as_str()),
            "{}",
            r.user_name
        );
        let manager = by_external.get(r.manager.as_str()).filter(|m| in_scope(m));
        match manager {
            Some(m) => {
                let manager_id = &held[&m.user_name].id;
                assert_eq!(
                    h.manager.as_ref(),
                    Some(manager_id),
                    "{}'s manager",
                    r.user_name
                );
            }
            None => assert_eq!(
                h.manager, None,
                "{} has no provisioned manager",
                r.user_name
            ),
        }
    }
    for name in disabled {
        let h = held
            .get(*name)
            .unwrap_or_else(|| panic!("{name} should be on the server, disabled"));
        assert!(!h.active, "{name} should be disabled");
    }
    for name in absent {
        assert!(!held.contains_key(*name), "{name} should be deleted");
    }
    assert_eq!(
        held.len(),
        expected + disabled.len(),
        "nothing else on the server"
    );
}

async fn cycle(
    job: &Job,
    csv: &Path,
    target: &Arc<ScimTarget>,
    state: &Arc<RedbStateStore>,
) -> CycleReport {
    let options = CsvOptions::default().with_id_attribute(AttributePath::new("externalId"));
    let source: Arc<dyn SourceConnector> = Arc::new(CsvSource::open(csv, options).unwrap());
    let engine = SyncEngine::new(
        JobId::new("hr-to-scim2-server"),
        job.clone(),
        source,
        target.clone(),
        state.clone(),
    )
    .unwrap();
    engine.run_cycle(&RunOptions::new()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hr_export_provisions_into_scim2_server_then_changes_then_deletions() {
    let Some(server) = Scim2Server::start().unwrap() else {
        return;
    };
    let target = Arc::new(
        ScimTarget::connect(ScimTargetConfig::new(server.url()))
            .await
            .unwrap(),
    );
    let job = Job::from_json_str(&std::fs::read_to_string(data("hr-job.json")).unwrap()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let state = Arc::new(RedbStateStore::open(work.path().join("state.redb")).unwrap());

    // Cycle 1: the whole export.
    let (header, rows) = read_rows(&data("hr.csv"));
    let wanted = rows.iter().filter(|r| in_scope(r)).count();
    let first = cycle(&job, &data("hr.csv"), &target, &state).await;
    assert_eq!(
        first.summary.failed,
        0,
        "{:?}",
        first.log.iter().find(|e| e.status_info.is_some())
    );
    assert_eq!(first.summary.created as usize, wanted);
    check(&target, &rows, &[], &[]).await;

    // Cycle 2: five people move to Finance, two leave (active=false), three records are
    // removed from the export, one person is hired.
    let mut next = rows.clone();
    let movers: Vec<usize> = (0..next.len())
        .filter(|&i| in_scope(&next[i]) && next[i].department == "Engineering")
        .take(5)
        .collect();
    for &i in &movers {
        set_cell(&mut next[i], 9, "Finance");
        next[i].department = "Finance".to_owned();
    }
    // Leavers and removed people are nobody's manager, so no one's manager changes.
    let managers: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.manager.clone()).collect();
    let quiet: Vec<usize> = (0..next.len())
        .rev()
        .filter(|&i| {
            in_scope(&next[i]) && !managers.contains(&next[i].external_id) && !movers.contains(&i)
        })
        .take(5)
        .collect();
    let leavers: Vec<String> = quiet[..2]
        .iter()
        .map(|&i| next[i].user_name.clone())
        .collect();
    for &i in &quiet[..2] {
        set_cell(&mut next[i], 7, "false");
        next[i].active = false;
    }
    let removed: Vec<String> = quiet[2..]
        .iter()
        .map(|&i| next[i].user_name.clone())
        .collect();
    let mut hire = next[movers[0]].clone();
    hire.external_id = "E09999".to_owned();
    hire.user_name = "ada.newhire@contoso.com".to_owned();
    hire.department = "Engineering".to_owned();
    for (index, value) in [
        (0, "E09999"),
        (1, "ada.newhire@contoso.com"),
        (6, "ada.newhire@contoso.com"),
        (9, "Engineering"),
    ] {
        set_cell(&mut hire, index, value);
    }
    next.retain(|r| !removed.contains(&r.user_name));
    next.push(hire);
    let changed = work.path().join("hr-next.csv");
    write_rows(&changed, &header, &next);

    let second = cycle(&job, &changed, &target, &state).await;
    assert_eq!(second.cycle.kind, sync_engine::CycleKind::Delta);
    assert_eq!(second.summary.failed, 0);
    assert_eq!(second.summary.created, 1);
    assert_eq!(second.summary.updated, 5);
    assert_eq!(second.summary.disabled, 2);
    assert_eq!(second.summary.deleted, 3);
    let leavers: Vec<&str> = leavers.iter().map(String::as_str).collect();
    let removed: Vec<&str> = removed.iter().map(String::as_str).collect();
    check(&target, &next, &leavers, &removed).await;

    // Cycle 3: the same export again — nothing to do.
    let third = cycle(&job, &changed, &target, &state).await;
    let s = &third.summary;
    assert_eq!(
        (s.created, s.updated, s.disabled, s.deleted, s.failed),
        (0, 0, 0, 0, 0),
        "{:?}",
        third.log
    );
    check(&target, &next, &leavers, &removed).await;
}
