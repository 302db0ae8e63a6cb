//! Tasks: account and group tasks through the target, localised emails, the manager rules,
//! continueOnError, the Temporary Access Pass, custom extensions, retries, host tasks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use connectors::{Clock, ObjectType};
use lifecycle::tasks::{
    CheckContext, CustomExtension, CustomTaskExtension, ExtensionCall, ExtensionMode,
    OperationStatus, TaskContext, TaskDefinition, TaskFailure, TaskHandler, TaskOutcome,
    definitions as d,
};
use lifecycle::{Category, ProcessingStatus, RetryPolicy, RunnerOptions, Task};
use serde_json::json;

use crate::support::{Person, World, block, outcomes, person, task, task_args, time_workflow};

fn leaver(tasks: serde_json::Value) -> serde_json::Value {
    time_workflow("leave", "leaver", "employeeLeaveDateTime", 0, "", tasks)
}

fn leaving<'a>(id: &'a str) -> Person<'a> {
    Person {
        leave: Some("2026-03-02T08:00:00Z"),
        ..person(id)
    }
}

#[test]
fn account_and_group_tasks_act_on_the_target() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada"), leaving("bob"), person("eve")]);
    w.add_group("g1", &["ada", "eve"]);
    w.add_group("g2", &["ada"]);
    w.add_group("g3", &["bob", "eve"]);
    let r = w.runner(leaver(json!([
        task(d::DISABLE_ACCOUNT, "Disable"),
        task_args(
            d::REMOVE_FROM_SELECTED_GROUPS,
            "Remove g1",
            &[("groupID", "g1")]
        ),
        task(d::REMOVE_FROM_ALL_GROUPS, "Remove all"),
        task_args(d::ADD_TO_GROUPS, "Alumni", &[("groupID", "g2, g3")]),
    ])));
    let report = w.run(&r);
    assert_eq!(outcomes(&report).len(), 2);
    assert!(
        outcomes(&report).iter().all(|o| o.2 == "completed"),
        "{report:#?}"
    );
    assert_eq!(w.user("ada").get("active"), Some(&json!(false)));
    assert_eq!(w.members("g1"), ["eve"]);
    let mut g2 = w.members("g2");
    g2.sort();
    assert_eq!(g2, ["ada", "bob"]);
    let mut g3 = w.members("g3");
    g3.sort();
    assert_eq!(g3, ["ada", "bob", "eve"]);

    // Enable and delete.
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada")]);
    w.set("ada", "active", json!(false));
    let r = w.runner(leaver(json!([
        task(d::ENABLE_ACCOUNT, "Enable"),
        task(d::DELETE_USER, "Delete")
    ])));
    assert_eq!(outcomes(&w.run(&r))[0].2, "completed");
    assert!(w.dir.resource(&ObjectType::USER, "ada").is_none());
}

#[test]
fn emails_are_localised_by_the_recipients_language() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        Person {
            name: "Grete Weber",
            language: Some("de-DE"),
            ..person("de-boss")
        },
        Person {
            name: "Giulia Rossi",
            language: Some("it"),
            ..person("it-boss")
        },
        Person {
            name: "Fiona Fin",
            language: Some("fi-FI"),
            ..person("fi-boss")
        },
        Person {
            name: "Ada Lovelace",
            manager: Some("de-boss"),
            language: Some("it-IT"),
            ..leaving("ada")
        },
        Person {
            name: "Bruno Bianchi",
            manager: Some("it-boss"),
            ..leaving("bruno")
        },
        Person {
            name: "Otto Ohne",
            manager: Some("fi-boss"),
            ..leaving("otto")
        },
    ]);
    let r = w.runner(leaver(json!([
        task(d::ON_LAST_DAY_EMAIL, "Last day"),
        task(d::WELCOME_EMAIL, "Welcome (odd, but it goes to the user)"),
    ])));
    let report = w.run(&r);
    assert!(
        outcomes(&report).iter().all(|o| o.2 == "completed"),
        "{report:#?}"
    );
    let sent = w.mail.sent();
    let find = |to: &str| sent.iter().find(|e| e.to == to).unwrap().clone();
    let de = find("de-boss@example.com");
    assert_eq!(de.language, "de");
    assert_eq!(
        de.subject,
        "Heute ist der letzte Arbeitstag von Ada Lovelace"
    );
    assert!(de.body.starts_with("Hallo Grete Weber,"));
    let it = find("it-boss@example.com");
    assert_eq!(it.language, "it");
    assert_eq!(it.subject, "Oggi è l'ultimo giorno di Bruno Bianchi");
    let fi = find("fi-boss@example.com");
    assert_eq!(fi.language, "en", "fallback");
    // The welcome email goes to the user, in the user's language, naming the manager.
    let welcome = find("ada@example.com");
    assert_eq!(welcome.language, "it");
    assert_eq!(welcome.subject, "Benvenuto a bordo, Ada");
    assert!(welcome.body.contains("il tuo responsabile è Grete Weber"));
}

#[test]
fn custom_subject_and_body_locale_and_cc() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        Person {
            name: "Boss Person",
            language: Some("it"),
            ..person("boss")
        },
        person("hr"),
        Person {
            name: "Ada Lovelace",
            manager: Some("boss"),
            ..leaving("ada")
        },
    ]);
    let r = w.runner(leaver(json!([
        task_args(
            d::BEFORE_LAST_DAY_EMAIL,
            "Custom",
            &[
                (
                    "customSubject",
                    "Goodbye {{userGivenName}} ({{userEmployeeLeaveDateTime}})"
                ),
                (
                    "customBody",
                    "Dear {{managerDisplayName}}, {{userDisplayName}} leaves."
                ),
                ("cc", "hr"),
            ]
        ),
        task_args(
            d::AFTER_LAST_DAY_EMAIL,
            "German on purpose",
            &[("locale", "de-DE")]
        ),
    ])));
    w.run(&r);
    let sent = w.mail.sent();
    assert_eq!(sent[0].subject, "Goodbye Ada (02/03/2026)");
    assert_eq!(sent[0].body, "Dear Boss Person, Ada Lovelace leaves.");
    assert_eq!(sent[0].cc, ["hr@example.com"]);
    assert_eq!(sent[1].language, "de-DE");
    assert!(sent[1].subject.contains("hat das Unternehmen verlassen"));
}

#[test]
fn a_missing_manager_fails_exactly_the_tasks_that_need_one() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[
        Person {
            name: "Ada Lovelace",
            ..leaving("nomanager")
        },
        Person {
            manager: Some("ghost"),
            ..leaving("ghostmanager")
        },
        Person {
            mail: false,
            ..person("mute")
        },
        Person {
            manager: Some("mute"),
            ..leaving("mutemanager")
        },
    ]);
    let mut notify = task(d::ON_LAST_DAY_EMAIL, "Tell the manager");
    notify["continueOnError"] = json!(true);
    let r = w.runner(leaver(json!([notify, task(d::DISABLE_ACCOUNT, "Disable")])));
    let report = w.run(&r);
    for u in &report.runs[0].user_processing_results {
        assert_eq!(
            u.processing_status,
            ProcessingStatus::CompletedWithErrors,
            "{u:#?}"
        );
        let t = &u.task_processing_results;
        assert_eq!(t[0].processing_status, ProcessingStatus::Failed);
        assert_eq!(t[1].processing_status, ProcessingStatus::Completed);
        let reason = t[0].failure_reason.clone().unwrap();
        let want = match u.subject.id.as_str() {
            "nomanager" => "user \"Ada Lovelace\" (id nomanager) has no manager",
            "ghostmanager" => "the manager \"ghost\" of user",
            "mutemanager" => {
                "the manager \"mute\" (id mute) of user \"mutemanager\" (id mutemanager) has no email address (mail)"
            }
            other => panic!("{other}"),
        };
        assert!(reason.contains(want), "{reason}");
        assert_eq!(w.user(&u.subject.id).get("active"), Some(&json!(false)));
    }
}

#[test]
fn without_continue_on_error_the_rest_is_canceled() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada")]);
    let r = w.runner(leaver(json!([
        task(d::ON_LAST_DAY_EMAIL, "Tell the manager"),
        task(d::DISABLE_ACCOUNT, "Disable"),
    ])));
    let report = w.run(&r);
    let u = &report.runs[0].user_processing_results[0];
    assert_eq!(u.processing_status, ProcessingStatus::Failed);
    assert_eq!(
        u.task_processing_results[1].processing_status,
        ProcessingStatus::Canceled
    );
    assert_eq!(u.total_unprocessed_tasks_count, 1);
    assert_eq!(
        report.runs[0].run.processing_status,
        ProcessingStatus::Failed
    );
    assert_eq!(w.user("ada").get("active"), Some(&json!(true)));
}

#[test]
fn the_temporary_access_pass_goes_to_the_manager_only() {
    let w = World::new("2026-02-23T09:00:00Z");
    w.add(&[
        Person {
            name: "Max Muster",
            language: Some("de"),
            ..person("boss")
        },
        Person {
            hire: Some("2026-03-02T08:00:00Z"),
            manager: Some("boss"),
            ..person("ada")
        },
    ]);
    let wf = time_workflow(
        "prehire",
        "joiner",
        "employeeHireDate",
        -7,
        "",
        json!([task_args(
            d::TAP_EMAIL,
            "TAP",
            &[("tapLifetimeMinutes", "480"), ("tapIsUsableOnce", "true")]
        )]),
    );
    let r = w.runner(wf);
    let report = w.run(&r);
    assert_eq!(outcomes(&report)[0].2, "completed");
    let mail = w.mail.sent();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "boss@example.com");
    assert_eq!(mail[0].language, "de");
    let pass = mail[0]
        .body
        .split("(Temporary Access Pass) von ada (ada@example.com): ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_eq!(pass.len(), 16);
    // Nowhere else: not in the report, not in the history, not in Debug output.
    let everything = format!(
        "{} {:?} {:?}",
        serde_json::to_string(&report).unwrap(),
        block(r.history().user_results(&lifecycle::HistoryQuery::all())).unwrap(),
        mail[0]
    );
    assert!(!everything.contains(&pass));
    let mut csv = Vec::new();
    block(
        r.history()
            .export_csv(&lifecycle::HistoryQuery::all(), &mut csv),
    )
    .unwrap();
    assert!(!String::from_utf8(csv).unwrap().contains(&pass));
}

#[derive(Debug, Default)]
struct Extension {
    calls: Mutex<Vec<ExtensionCall>>,
}

#[async_trait]
impl CustomTaskExtension for Extension {
    async fn launch(&self, call: &ExtensionCall) -> Result<(), TaskFailure> {
        self.calls.lock().unwrap().push(call.clone());
        Ok(())
    }
}

fn with_extension(mode: ExtensionMode) -> (World, lifecycle::Runner, Arc<Extension>) {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada")]);
    let ext = Arc::new(Extension::default());
    let r = w
        .builder(leaver(json!([
            task_args(
                d::CUSTOM_EXTENSION,
                "Logic App",
                &[("customTaskExtensionID", "ext-1")]
            ),
            task(d::DISABLE_ACCOUNT, "Disable"),
        ])))
        .custom_extension(CustomExtension::new("ext-1", mode, ext.clone()).unwrap())
        .build()
        .unwrap();
    (w, r, ext)
}

#[test]
fn launch_and_continue_completes_once_launched() {
    let (w, r, ext) = with_extension(ExtensionMode::LaunchAndContinue);
    assert_eq!(outcomes(&w.run(&r))[0].2, "completed");
    let calls = ext.calls.lock().unwrap();
    assert_eq!(calls[0].subject["id"], "ada");
    assert_eq!(calls[0].workflow_id, "leave");
}

#[test]
fn launch_and_wait_resumes_on_the_callback() {
    let (w, r, ext) = with_extension(ExtensionMode::LaunchAndWait {
        timeout: Duration::from_secs(600),
    });
    let report = w.run(&r);
    assert_eq!(outcomes(&report)[0].2, "inProgress");
    assert_eq!(
        report.runs[0].run.processing_status,
        ProcessingStatus::InProgress
    );
    assert_eq!(
        w.user("ada").get("active"),
        Some(&json!(true)),
        "the next task waits"
    );
    let id = ext.calls.lock().unwrap()[0]
        .task_processing_result_id
        .clone();
    let done = block(r.resume(&id, OperationStatus::Completed)).unwrap();
    assert_eq!(done.processing_status, ProcessingStatus::Completed);
    assert_eq!(w.user("ada").get("active"), Some(&json!(false)));
    let runs = block(r.history().runs(&lifecycle::HistoryQuery::all())).unwrap();
    assert_eq!(runs[0].processing_status, ProcessingStatus::Completed);
    // A second answer is refused.
    assert!(block(r.resume(&id, OperationStatus::Completed)).is_err());
}

#[test]
fn a_waiting_user_is_canceled_when_the_workflow_is_disabled_meanwhile() {
    let (w, r, ext) = with_extension(ExtensionMode::LaunchAndWait {
        timeout: Duration::from_secs(600),
    });
    w.run(&r);
    let id = ext.calls.lock().unwrap()[0]
        .task_processing_result_id
        .clone();
    // The host reloads the workflow, disabled, and the callback comes to the new runner.
    let mut disabled = leaver(json!([
        task_args(
            d::CUSTOM_EXTENSION,
            "Logic App",
            &[("customTaskExtensionID", "ext-1")]
        ),
        task(d::DISABLE_ACCOUNT, "Disable"),
    ]));
    disabled["isEnabled"] = json!(false);
    disabled["isSchedulingEnabled"] = json!(false);
    let r2 = w
        .builder(disabled)
        .custom_extension(
            CustomExtension::new(
                "ext-1",
                ExtensionMode::LaunchAndWait {
                    timeout: Duration::from_secs(600),
                },
                ext.clone(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let done = block(r2.resume(&id, OperationStatus::Completed)).unwrap();
    assert_eq!(done.processing_status, ProcessingStatus::Canceled);
    let t = &done.task_processing_results;
    assert_eq!(t[0].processing_status, ProcessingStatus::Completed);
    assert_eq!(t[1].processing_status, ProcessingStatus::Canceled);
    assert!(t[1].failure_reason.as_deref().unwrap().contains("disabled"));
    assert_eq!(w.user("ada").get("active"), Some(&json!(true)), "not run");
    // The wait is over: the timeout does not fire later, and runs go on.
    w.clock.advance(Duration::from_secs(601));
    w.run(&r2);
    let users = block(r2.history().user_results(&lifecycle::HistoryQuery::all())).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].processing_status, ProcessingStatus::Canceled);
    assert!(block(r2.resume(&id, OperationStatus::Completed)).is_err());
}

#[test]
fn launch_and_wait_fails_on_timeout() {
    let (w, r, _) = with_extension(ExtensionMode::LaunchAndWait {
        timeout: Duration::from_secs(600),
    });
    w.run(&r);
    w.clock.advance(Duration::from_secs(601));
    w.run(&r);
    let users = block(r.history().user_results(&lifecycle::HistoryQuery::all())).unwrap();
    let t = &users[0].task_processing_results;
    assert_eq!(t[0].processing_status, ProcessingStatus::Failed);
    assert!(
        t[0].failure_reason
            .as_deref()
            .unwrap()
            .contains("did not call back before the timeout")
    );
    assert_eq!(t[1].processing_status, ProcessingStatus::Canceled);
    assert_eq!(users[0].processing_status, ProcessingStatus::Failed);
}

#[test]
fn extension_timeouts_are_entras() {
    let ext: Arc<dyn CustomTaskExtension> = Arc::new(Extension::default());
    for secs in [60, 4 * 3600] {
        let mode = ExtensionMode::LaunchAndWait {
            timeout: Duration::from_secs(secs),
        };
        assert!(CustomExtension::new("x", mode, ext.clone()).is_err());
    }
}

/// A host task that fails with a temporary failure a number of times, then succeeds.
#[derive(Debug)]
struct Flaky {
    failures: u32,
    calls: AtomicU32,
}

#[async_trait]
impl TaskHandler for Flaky {
    fn definition(&self) -> TaskDefinition {
        TaskDefinition::new(
            d::ASSIGN_LICENSES,
            "Assign licenses to user",
            [Category::Joiner],
        )
    }
    fn check(&self, _: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        Ok(())
    }
    async fn run(&self, _: &TaskContext<'_>) -> TaskOutcome {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.failures {
            TaskOutcome::Failed(TaskFailure::temporary(format!(
                "licence service busy ({n})"
            )))
        } else {
            TaskOutcome::Completed
        }
    }
}

#[test]
fn failed_tasks_are_retried_with_backoff_then_reported() {
    for (failures, want, attempts) in [
        (2, ProcessingStatus::Completed, 3),
        (5, ProcessingStatus::Failed, 3),
    ] {
        let w = World::new("2026-03-02T09:00:00Z");
        w.add(&[leaving("ada")]);
        let start = w.clock.now();
        let r = w
            .builder(leaver(json!([task(d::ASSIGN_LICENSES, "Licences")])))
            .task(Arc::new(Flaky {
                failures,
                calls: AtomicU32::new(0),
            }))
            .options(RunnerOptions::default().with_retry(RetryPolicy::new(
                3,
                Duration::from_secs(30),
                Duration::from_secs(600),
            )))
            .build()
            .unwrap();
        let report = w.run(&r);
        let t = &report.runs[0].user_processing_results[0].task_processing_results[0];
        assert_eq!(t.processing_status, want);
        assert_eq!(t.attempts, attempts);
        // Waited 30 s, then 60 s (the fake clock moved).
        assert_eq!((w.clock.now() - start).num_seconds(), 90);
        if want == ProcessingStatus::Failed {
            assert_eq!(
                t.failure_reason.as_deref(),
                Some("licence service busy (3) (after 3 attempts)")
            );
        }
    }
}

#[test]
fn cloud_tasks_fail_until_the_host_provides_them() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada")]);
    let r = w.runner(leaver(json!([task(
        d::REMOVE_ALL_LICENSES,
        "Remove all licenses for user"
    )])));
    let report = w.run(&r);
    let reason = report.runs[0].user_processing_results[0].task_processing_results[0]
        .failure_reason
        .clone()
        .unwrap();
    assert!(reason.contains("this host does not provide it"), "{reason}");
}

#[test]
fn disabled_tasks_do_not_run() {
    let w = World::new("2026-03-02T09:00:00Z");
    w.add(&[leaving("ada")]);
    let mut off = task(d::DELETE_USER, "Delete");
    off["isEnabled"] = json!(false);
    let r = w.runner(leaver(json!([off, task(d::DISABLE_ACCOUNT, "Disable")])));
    let report = w.run(&r);
    assert_eq!(
        report.runs[0].user_processing_results[0]
            .task_processing_results
            .len(),
        1
    );
    assert!(w.dir.resource(&ObjectType::USER, "ada").is_some());
}
