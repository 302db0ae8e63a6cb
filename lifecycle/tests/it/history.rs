//! History: runs, users and tasks, queryable by workflow, user and time, exported to CSV.

use connectors::Clock;
use lifecycle::tasks::definitions as d;
use lifecycle::{CSV_COLUMNS, HistoryQuery, ProcessingStatus};
use serde_json::json;

use crate::support::{Person, World, block, person, task, time_workflow};

#[test]
fn history_is_queryable_and_exports_csv() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        Person {
            hire: Some("2026-03-02T08:00:00Z"),
            name: "Ada Lovelace",
            ..person("ada")
        },
        Person {
            hire: Some("2026-03-03T08:00:00Z"),
            ..person("bob")
        },
        Person {
            leave: Some("2026-03-03T08:00:00Z"),
            ..person("cid")
        },
    ]);
    let r = w.runner(json!([
        time_workflow(
            "join",
            "joiner",
            "employeeHireDate",
            0,
            "",
            json!([task(d::ENABLE_ACCOUNT, "Enable")])
        ),
        time_workflow(
            "leave",
            "leaver",
            "employeeLeaveDateTime",
            0,
            "",
            json!([
                task(d::ON_LAST_DAY_EMAIL, "Tell the manager"),
                task(d::DISABLE_ACCOUNT, "Disable")
            ])
        ),
    ]));
    w.run(&r);
    let day1 = w.clock.now();
    w.days(1);
    w.run(&r);
    let h = r.history();
    let runs = block(h.runs(&HistoryQuery::all())).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        block(h.runs(&HistoryQuery::all().workflow("leave")))
            .unwrap()
            .len(),
        1
    );
    let users = block(h.user_results(&HistoryQuery::all().user("bob"))).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].workflow.id, "join");
    let first_day = block(
        h.user_results(&HistoryQuery::all().between(day1, day1 + chrono::Duration::hours(1))),
    )
    .unwrap();
    assert_eq!(first_day.len(), 1);
    assert_eq!(first_day[0].subject.id, "ada");
    let cid = block(h.user_results(&HistoryQuery::all().user("cid").workflow("leave"))).unwrap();
    assert_eq!(cid[0].processing_status, ProcessingStatus::Failed);

    let mut out = Vec::new();
    block(h.export_csv(&HistoryQuery::all(), &mut out)).unwrap();
    let mut rd = csv::Reader::from_reader(out.as_slice());
    let headers: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(headers, CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "one row per task result");
    let ada = rows.iter().find(|r| &r[5] == "ada").unwrap();
    assert_eq!(&ada[6], "Ada Lovelace");
    assert_eq!(&ada[8], "completed");
    assert_eq!(&ada[13], "Enable");
    let cid_rows: Vec<_> = rows.iter().filter(|r| &r[5] == "cid").collect();
    assert_eq!(&cid_rows[0][15], "failed");
    assert!(cid_rows[0][18].contains("has no manager"));
    assert_eq!(&cid_rows[1][15], "canceled");
}
