//! A month of joiners, movers and leavers at a small company, on a fake clock.
//!
//! Entra's template workflows — pre-hire (a Temporary Access Pass to the manager a week
//! before), new hire (enable, add to the staff group, welcome email), post-onboarding (a week
//! after, once onboarding completed), a mover notice, pre-offboarding, offboarding and
//! post-offboarding — run every morning for 30 days over a directory of a dozen people with
//! managers in Berlin, Milan and London. Each day prints the emails sent, in the recipients'
//! languages, and the changes to accounts and groups.
//!
//! ```sh
//! cargo run -p idflow-examples --example lifecycle_month
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors::{
    Clock, FakeClock, JobId, MemoryDirectory, MemoryStateStore, ObjectType, TargetConnector,
};
use lifecycle::tasks::RecordingSender;
use lifecycle::{Limits, Runner, WorkflowSet};
use scim_model::Resource;
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ODATA: &str = "#microsoft.graph.identityGovernance.";

/// (id, name, department, manager, language, hire date, leave date)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const PEOPLE: &[Row] = &[
    (
        "grete",
        "Grete Weber",
        "Sales",
        None,
        "de-DE",
        "2019-04-01T08:00:00Z",
        None,
    ),
    (
        "giulia",
        "Giulia Rossi",
        "Engineering",
        None,
        "it-IT",
        "2020-09-01T08:00:00Z",
        None,
    ),
    (
        "oliver",
        "Oliver Smith",
        "Finance",
        None,
        "en-GB",
        "2018-01-15T08:00:00Z",
        None,
    ),
    (
        "ada",
        "Ada Lovelace",
        "Engineering",
        Some("giulia"),
        "en-GB",
        "2026-03-09T08:00:00Z",
        None,
    ),
    (
        "hans",
        "Hans Becker",
        "Sales",
        Some("grete"),
        "de-AT",
        "2026-03-16T08:00:00Z",
        None,
    ),
    (
        "marco",
        "Marco Bianchi",
        "Engineering",
        Some("giulia"),
        "it-IT",
        "2026-03-23T08:00:00Z",
        None,
    ),
    (
        "lena",
        "Lena Vogel",
        "Sales",
        Some("grete"),
        "de-DE",
        "2021-05-03T08:00:00Z",
        Some("2026-03-13T17:00:00Z"),
    ),
    (
        "paolo",
        "Paolo Conti",
        "Finance",
        Some("oliver"),
        "it-IT",
        "2017-02-01T08:00:00Z",
        Some("2026-03-27T17:00:00Z"),
    ),
    (
        "sam",
        "Sam Taylor",
        "Finance",
        Some("oliver"),
        "en-US",
        "2022-06-01T08:00:00Z",
        None,
    ),
    (
        "nina",
        "Nina Kraus",
        "Sales",
        None,
        "de-DE",
        "2026-03-04T08:00:00Z",
        None,
    ),
];

fn person(row: &Row) -> Resource {
    let (id, name, dept, manager, lang, hire, leave) = *row;
    let (given, family) = name.split_once(' ').unwrap_or((name, ""));
    let hired = hire < "2026-03-01";
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": id, "userName": format!("{id}@contoso.example"), "displayName": name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": format!("{id}@contoso.example"), "type": "work", "primary": true}],
        "preferredLanguage": lang, "active": hired,
        "employeeHireDate": hire,
        ENT: {"department": dept}
    });
    if let Some(m) = manager {
        v[ENT]["manager"] = json!({"value": m});
    }
    if let Some(l) = leave {
        v["employeeLeaveDateTime"] = json!(l);
    }
    Resource::from_value(v).unwrap_or_default()
}

fn task(definition: &str, name: &str, args: &[(&str, &str)]) -> Value {
    json!({"taskDefinitionId": definition, "displayName": name, "continueOnError": true,
           "arguments": args.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>()})
}

fn timed(id: &str, name: &str, category: &str, attr: &str, offset: i32, tasks: Value) -> Value {
    json!({
        "id": id, "displayName": name, "category": category,
        "isEnabled": true, "isSchedulingEnabled": true,
        "executionConditions": {
            "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
            "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": "(department in ('Sales', 'Engineering', 'Finance'))"},
            "trigger": {"@odata.type": format!("{ODATA}timeBasedAttributeTrigger"),
                        "timeBasedAttribute": attr, "offsetInDays": offset}},
        "tasks": tasks
    })
}

fn workflows() -> Value {
    let mut post = timed(
        "post-onboarding",
        "Post-onboarding",
        "joiner",
        "employeeHireDate",
        7,
        json!([task(
            "addUserToGroups",
            "Add to the onboarded group",
            &[("groupID", "onboarded")]
        )]),
    );
    post["dependsOn"] = json!(["new-hire"]);
    json!([
        timed("pre-hire", "Onboard pre-hire employee", "joiner", "employeeHireDate", -7, json!([
            task("1b555e50-7f65-41d5-b514-5894a026d10d", "Generate TAP and send email", &[("tapLifetimeMinutes", "480")]),
            task("3C860712-2D37-42A4-928F-5C93935D26A1", "Send onboarding reminder email", &[]),
        ])),
        timed("new-hire", "Onboard new hire employee", "joiner", "employeeHireDate", 0, json!([
            task("6fc52c9d-398b-4305-9763-15f42c1676fc", "Enable user account", &[]),
            task("22085229-5809-45e8-97fd-270d28d66910", "Add user to groups", &[("groupID", "staff")]),
            task("70b29d51-b59a-4773-9280-8841dfd3f2ea", "Send welcome email to new hire", &[]),
        ])),
        post,
        {
            "id": "mover", "displayName": "Employee job profile change", "category": "mover",
            "isEnabled": true, "isSchedulingEnabled": true,
            "executionConditions": {
                "@odata.type": format!("{ODATA}triggerAndScopeBasedConditions"),
                "scope": {"@odata.type": format!("{ODATA}ruleBasedSubjectSet"), "rule": ""},
                "trigger": {"@odata.type": format!("{ODATA}attributeChangeTrigger"),
                            "triggerAttributes": [{"name": "department"}, {"name": "jobTitle"}]}},
            "tasks": [task("aab41899-9972-422a-9d97-f626014578b7", "Send email to notify manager of user move", &[])]
        },
        timed("pre-offboarding", "Pre-offboarding of an employee", "leaver", "employeeLeaveDateTime", -7, json!([
            task("52853a3e-f4e5-4eb8-bb24-1ac09a1da935", "Send email before user's last day", &[]),
        ])),
        timed("offboarding", "Offboard an employee", "leaver", "employeeLeaveDateTime", 0, json!([
            task("1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950", "Disable user account", &[]),
            task("b3a31406-2a15-4c9a-b25b-a658fa5f07fc", "Remove user from all groups", &[]),
            task("9c0a1eaf-5bda-4392-9d9e-6e155bb57411", "Send email on user's last day", &[]),
        ])),
        timed("post-offboarding", "Post-offboarding of an employee", "leaver", "employeeLeaveDateTime", 7, json!([
            task("6f22ddd4-b3a5-47a4-a846-0d7c201a49ce", "Send email after user's last day", &[]),
            task("8d18588d-9ad3-4c0f-99d0-ec215f0e3dff", "Delete user", &[]),
        ])),
    ])
}

/// What the directory looks like: per user, whether enabled and which groups.
fn state(dir: &MemoryDirectory) -> BTreeMap<String, (bool, Vec<String>)> {
    let mut out: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    for u in dir.snapshot(&ObjectType::USER) {
        let id = u.id().unwrap_or("?").to_owned();
        let active = u.get("active") == Some(&Value::Bool(true));
        out.insert(id, (active, Vec::new()));
    }
    for g in dir.snapshot(&ObjectType::GROUP) {
        let gid = g.id().unwrap_or("?").to_owned();
        for m in g
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(entry) = m["value"].as_str().and_then(|v| out.get_mut(v)) {
                entry.1.push(gid.clone());
            }
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    futures::executor::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let clock = FakeClock::at("2026-03-01T09:00:00Z".parse()?);
    let dir = Arc::new(
        MemoryDirectory::builder()
            .validate(false)
            .clock(clock.clone())
            .build(),
    );
    dir.load(&ObjectType::USER, PEOPLE.iter().map(person))?;
    let group = |id: &str, members: &[&str]| {
        Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id, "displayName": id,
            "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()}))
    };
    dir.load(
        &ObjectType::GROUP,
        [
            group(
                "staff",
                &["grete", "giulia", "oliver", "lena", "paolo", "sam"],
            )?,
            group("onboarded", &[])?,
            group("finance-team", &["oliver", "paolo", "sam"])?,
        ],
    )?;
    let mail = RecordingSender::new();
    let runner = Runner::builder(
        JobId::new("contoso"),
        WorkflowSet::from_value(workflows(), Limits::default())?,
        dir.clone(),
        Arc::new(MemoryStateStore::new()),
    )
    .clock(Arc::new(clock.clone()))
    .email_sender(Arc::new(mail.clone()))
    .build()?;

    let mut before = state(&dir);
    for day in 1..=30 {
        // Day 12: Sam moves from Finance to Sales (HR changes the department).
        if day == 12 {
            let mut sam = dir.resource(&ObjectType::USER, "sam").unwrap_or_default();
            sam.extension_mut(ENT)
                .insert("department".into(), json!("Sales"));
            dir.replace(
                &ObjectType::USER,
                &connectors::TargetId::new("sam"),
                &sam,
                None,
            )
            .await?;
        }
        let now = clock.now();
        let report = runner.run_due(now).await?;
        let emails = mail.take();
        let after = state(&dir);
        let mut lines = Vec::new();
        for e in &emails {
            lines.push(format!("  ✉ {} [{}] {}", e.to, e.language, e.subject));
        }
        for (id, (active, groups)) in &after {
            match before.get(id) {
                None => lines.push(format!("  + {id} created")),
                Some((was, old)) => {
                    if was != active {
                        lines.push(format!(
                            "  {} {id} {}",
                            if *active { "▲" } else { "▼" },
                            if *active { "enabled" } else { "disabled" }
                        ));
                    }
                    for g in groups.iter().filter(|g| !old.contains(g)) {
                        lines.push(format!("  + {id} joined {g}"));
                    }
                    for g in old.iter().filter(|g| !groups.contains(g)) {
                        lines.push(format!("  - {id} left {g}"));
                    }
                }
            }
        }
        for id in before.keys().filter(|id| !after.contains_key(*id)) {
            lines.push(format!("  ✖ {id} deleted"));
        }
        for run in &report.runs {
            for u in &run.user_processing_results {
                for t in &u.task_processing_results {
                    if let Some(reason) = &t.failure_reason {
                        lines.push(format!(
                            "  ! {} / {}: {}",
                            run.run.workflow.display_name, t.task.display_name, reason
                        ));
                    }
                }
            }
        }
        for e in &report.errors {
            lines.push(format!("  ! {}: {}", e.subject.id, e.message));
        }
        if !lines.is_empty() {
            println!("{} (day {day})", now.format("%a %Y-%m-%d"));
            let workflows: Vec<String> = report
                .runs
                .iter()
                .map(|r| {
                    format!(
                        "{} ({} user{})",
                        r.run.workflow.display_name,
                        r.run.total_users_count,
                        if r.run.total_users_count == 1 {
                            ""
                        } else {
                            "s"
                        }
                    )
                })
                .collect();
            if !workflows.is_empty() {
                println!("  ran: {}", workflows.join(", "));
            }
            for l in lines {
                println!("{l}");
            }
        }
        before = after;
        clock.advance(Duration::from_secs(86_400));
    }

    let mut csv = Vec::new();
    runner
        .history()
        .export_csv(&lifecycle::HistoryQuery::all(), &mut csv)
        .await?;
    let rows = String::from_utf8_lossy(&csv)
        .lines()
        .count()
        .saturating_sub(1);
    println!("\nhistory: {rows} task results (CSV export of the month)");
    Ok(())
}
