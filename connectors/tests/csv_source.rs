//! `CsvSource`: the flat-file HR connector, against fixture files in `tests/data/` and files
//! generated here.

// Test helpers outside `#[test]` functions may fail loudly: a broken fixture should stop the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use connectors::{
    CsvOptions, CsvSource, ErrorKind, ImportPage, ObjectType, PageToken, RecordProblem,
    SourceConnector, SourceId, Watermark,
};
use futures::executor::block_on;
use scim_model::{AttributePath, Resource, SchemaRegistry};
use serde_json::json;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The registry with the acme extension: `HireDate` (dateTime) and `Level` (integer).
fn acme_registry() -> SchemaRegistry {
    let mut registry = SchemaRegistry::default();
    registry
        .register_str(
            r#"{"id": "urn:ietf:params:scim:schemas:extension:acme:1.0:User",
                "attributes": [{"name": "HireDate", "type": "dateTime"},
                               {"name": "Level", "type": "integer"}]}"#,
        )
        .unwrap();
    registry
}

fn path(p: &str) -> AttributePath {
    AttributePath::parse(p).unwrap()
}

/// Every page of a full import, in order.
fn import_all(source: &CsvSource) -> Vec<ImportPage> {
    let mut pages = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = block_on(source.import_page(&ObjectType::USER, token.as_ref())).unwrap();
        token = page.next.clone();
        pages.push(page);
        if token.is_none() {
            return pages;
        }
        assert!(pages.len() < 100_000, "the import does not end");
    }
}

fn ids(pages: &[ImportPage]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.id.as_str().to_owned()))
        .collect()
}

fn problems(pages: &[ImportPage]) -> Vec<RecordProblem> {
    pages.iter().flat_map(|p| p.problems.clone()).collect()
}

fn resource(pages: &[ImportPage], id: &str) -> Resource {
    pages
        .iter()
        .flat_map(|p| &p.objects)
        .find(|o| o.id.as_str() == id)
        .map(|o| o.resource.clone())
        .unwrap_or_else(|| panic!("no object {id}"))
}

fn write(dir: &tempfile::TempDir, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn reads_bom_quotes_value_paths_extensions_and_booleans() {
    let source = CsvSource::open(data("hr_basic.csv"), CsvOptions::default()).unwrap();
    assert_eq!(source.name(), "csv:hr_basic.csv");
    let pages = import_all(&source);
    assert_eq!(pages.len(), 1);
    assert_eq!(problems(&pages), []);
    assert_eq!(ids(&pages), ["E1001", "E1002", "E1003"]);

    // Every kind of column, as the JSON a SCIM client would have sent. The BOM did not stick
    // to the first header (else `externalId` would be missing), the quoted display name kept
    // its comma and the title its doubled quotes.
    assert_eq!(
        resource(&pages, "E1001").to_value(),
        json!({
            "schemas": [CORE, ENTERPRISE, ACME],
            "externalId": "E1001",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Jensen, Barbara",
            "emails": [{"type": "work", "value": "bjensen@example.com"},
                       {"type": "home", "value": "babs@home.example"}],
            "active": true,
            "title": "Tour Guide, \"Senior\"",
            ENTERPRISE: {"department": "Tour Operations"},
            ACME: {"HireDate": "2021-05-01T00:00:00-05:00"}
        })
    );
    // A line break inside quotes is part of the cell; the manager is the enterprise
    // extension's complex `manager`; empty cells are absent, not "".
    assert_eq!(
        resource(&pages, "E1002").to_value(),
        json!({
            "schemas": [CORE, ENTERPRISE, ACME],
            "externalId": "E1002",
            "userName": "jsmith",
            "name": {"givenName": "John", "familyName": "Smith"},
            "displayName": "John Smith",
            "emails": [{"type": "work", "value": "jsmith@example.com"}],
            "active": false,
            "title": "Office\nManager",
            ENTERPRISE: {"department": "Finance", "manager": {"value": "E1001"}}
        })
    );
    // Cells are trimmed; `YES` is true; no email column set means no `emails` at all.
    let mdoe = resource(&pages, "E1003");
    assert_eq!(mdoe.get("userName"), Some(&json!("mdoe")));
    assert_eq!(mdoe.get("active"), Some(&json!(true)));
    assert!(mdoe.get("emails").is_none());
    assert!(mdoe.get("displayName").is_none());
    assert_eq!(
        mdoe.extension(ACME).unwrap()["HireDate"],
        "2023-01-09T08:00:00Z"
    );
}

#[test]
fn bad_rows_are_reported_by_the_line_they_start_on_and_the_import_goes_on() {
    let options = CsvOptions::default().with_registry(acme_registry());
    let source = CsvSource::open(data("hr_bad_rows.csv"), options).unwrap();
    let pages = import_all(&source);
    assert_eq!(ids(&pages), ["E1", "E2", "E11"]);
    // Typed: an integer column became a number.
    assert_eq!(
        resource(&pages, "E1").extension(ACME).unwrap()["Level"],
        json!(3)
    );
    assert_eq!(
        resource(&pages, "E2").get("userName"),
        Some(&json!("bob\nhas a\nmulti-line name"))
    );
    let got: Vec<(String, Option<String>)> = problems(&pages)
        .iter()
        .map(|p| {
            (
                p.location.clone(),
                p.id.as_ref().map(|i| i.as_str().to_owned()),
            )
        })
        .collect();
    let want = [
        ("line 6", Some("E3")),  // too few cells, after a record of three lines
        ("line 7", Some("E4")),  // "maybe" is no boolean
        ("line 8", None),        // no id
        ("line 9", Some("E6")),  // February 30th
        ("line 10", Some("E7")), // "two" is no integer
        ("line 11", Some("E8")), // duplicate id: both records
        ("line 12", Some("E8")),
        ("line 13", Some("E10")), // a date without time and zone
    ];
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(l, i)| ((*l).to_owned(), i.map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
    let messages: Vec<String> = problems(&pages).into_iter().map(|p| p.message).collect();
    assert_eq!(messages[0], "3 cells, the header has 5");
    assert!(
        messages[1].contains("column 3 (active)") && messages[1].contains("\"maybe\""),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("the id (column 1, \"externalId\") is empty"),
        "{}",
        messages[2]
    );
    assert!(
        messages[3].contains("column 4") && messages[3].contains("dateTime"),
        "{}",
        messages[3]
    );
    assert!(
        messages[4].contains("column 5") && messages[4].contains("integer"),
        "{}",
        messages[4]
    );
    assert!(
        messages[5].contains("duplicate id \"E8\"") && messages[5].contains("line 12"),
        "{}",
        messages[5]
    );
    assert!(messages[6].contains("line 11"), "{}", messages[6]);
}

#[test]
fn without_the_extension_schema_its_values_are_strings() {
    // The same file, acme unknown: `Level` stays "two", the bad date stays as written.
    let source = CsvSource::open(data("hr_bad_rows.csv"), CsvOptions::default()).unwrap();
    let pages = import_all(&source);
    assert_eq!(ids(&pages), ["E1", "E2", "E6", "E7", "E10", "E11"]);
    assert_eq!(
        resource(&pages, "E7").extension(ACME).unwrap()["Level"],
        json!("two")
    );
    assert_eq!(
        resource(&pages, "E1").extension(ACME).unwrap()["Level"],
        json!("3")
    );
}

#[test]
fn a_cell_that_is_not_utf8_is_a_problem_of_its_row_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = b"externalId,userName,displayName\nE1,ok,Fine\nE2,bad,Caf".to_vec();
    content.extend_from_slice(&[0xE9, b'\n']); // Latin-1 "é"
    content.extend_from_slice(b"E3,ok2,Also fine\n");
    let p = write(&dir, "latin1.csv", content);
    let pages = import_all(&CsvSource::open(p, CsvOptions::default()).unwrap());
    assert_eq!(ids(&pages), ["E1", "E3"]);
    let probs = problems(&pages);
    assert_eq!(probs.len(), 1);
    assert_eq!(probs[0].location, "line 3");
    assert_eq!(probs[0].id, Some(SourceId::new("E2")));
    assert!(
        probs[0]
            .message
            .contains("column 3 (displayName): not valid UTF-8")
    );
}

#[test]
fn a_bad_header_is_an_error_naming_the_column_and_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let open = |content: &str| {
        let p = write(&dir, "h.csv", content);
        CsvSource::open(p, CsvOptions::default()).unwrap_err()
    };
    let e = open("externalId,userName,emails[type eq \"work\".value\nE1,a,b\n");
    assert_eq!(e.kind(), ErrorKind::Permanent);
    let m = e.to_string();
    assert!(
        m.contains("column 3") && m.contains(r#""emails[type eq \"work\".value""#),
        "{m}"
    );

    let m = open("externalId,userName,USERNAME\n").to_string();
    assert!(
        m.contains("columns 2 (\"userName\") and 3 (\"USERNAME\") both hold USERNAME"),
        "{m}"
    );
    let m = open("userName,displayName\nbjensen,B\n").to_string();
    assert!(
        m.contains("no column holds the id attribute externalId"),
        "{m}"
    );
    let m = open("externalId,meta.created\n").to_string();
    assert!(m.contains("column 2: meta.created is read-only"), "{m}");
    let m = open("externalId,,userName\n").to_string();
    assert!(m.contains("column 2: header \"\""), "{m}");
    let e = open("");
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(e.to_string().contains("no header row"));
    let e = open("\u{feff}");
    assert!(e.to_string().contains("no header row"));
    // A header alone is an empty import, not an error.
    let p = write(&dir, "empty.csv", "\u{feff}externalId,userName\r\n");
    let pages = import_all(&CsvSource::open(p, CsvOptions::default()).unwrap());
    assert_eq!((ids(&pages).len(), problems(&pages).len()), (0, 0));
}

#[test]
fn a_file_replaced_by_one_with_a_bad_header_fails_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "hr.csv", "externalId,userName\nE1,a\n");
    let source = CsvSource::open(&p, CsvOptions::default()).unwrap();
    write(&dir, "hr.csv", "externalId,user Name\nE1,a\n");
    let e = block_on(source.import_page(&ObjectType::USER, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(e.to_string().contains("column 2"), "{e}");
}

#[test]
fn hr_headers_are_mapped_ignored_and_semicolons_work() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "hr.csv",
        "Employee ID;First Name;Last Name;Cost Center;userName\n\
         00042;Ana;Lima;CC-7;alima\n",
    );
    let options = CsvOptions::default()
        .with_delimiter(b';')
        .with_id_attribute(path(&format!("{ENTERPRISE}:employeeNumber")))
        .with_column("employee id", path(&format!("{ENTERPRISE}:employeeNumber")))
        .with_column("First Name", path("name.givenName"))
        .with_column("Last Name", path("name.familyName"))
        .with_ignored_column("Cost Center");
    let pages = import_all(&CsvSource::open(p, options).unwrap());
    assert_eq!(problems(&pages), []);
    assert_eq!(ids(&pages), ["00042"]);
    assert_eq!(
        resource(&pages, "00042").to_value(),
        json!({
            "schemas": [CORE, ENTERPRISE],
            ENTERPRISE: {"employeeNumber": "00042"},
            "name": {"givenName": "Ana", "familyName": "Lima"},
            "userName": "alima"
        })
    );
}

#[test]
fn the_id_attribute_may_be_the_resource_id_and_cells_may_keep_their_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "hr.csv",
        "id,userName,nickName\n2819c223, bjensen ,  \n",
    );
    let options = CsvOptions::default()
        .with_id_attribute(AttributePath::new("id"))
        .with_trim(false);
    let pages = import_all(&CsvSource::open(p, options).unwrap());
    let r = resource(&pages, "2819c223");
    assert_eq!(r.id(), Some("2819c223"));
    assert_eq!(r.get("userName"), Some(&json!(" bjensen ")));
    assert_eq!(r.get("nickName"), Some(&json!("  ")));
}

#[test]
fn groups_and_other_object_types() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "groups.csv", "externalId,displayName\nG1,Sales\n");
    let options = CsvOptions::default().with_object_type(ObjectType::GROUP);
    let source = CsvSource::open(&p, options).unwrap();
    assert_eq!(source.capabilities().object_types, [ObjectType::GROUP]);
    let page = block_on(source.import_page(&ObjectType::GROUP, None)).unwrap();
    assert_eq!(
        page.objects[0].resource.to_value(),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "G1", "displayName": "Sales"})
    );
    // Asking for a type the file does not hold is an error, not an empty import.
    let e = block_on(source.import_page(&ObjectType::USER, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(
        e.to_string().contains("holds Group objects only, not User"),
        "{e}"
    );
    assert!(block_on(source.get(&ObjectType::USER, &SourceId::new("G1"))).is_err());

    // Another type needs its schemas.
    let device = ObjectType::new("Device");
    let e =
        CsvSource::open(&p, CsvOptions::default().with_object_type(device.clone())).unwrap_err();
    assert!(
        e.to_string()
            .contains("no schemas are configured for Device"),
        "{e}"
    );
    let options = CsvOptions::default()
        .with_object_type(device.clone())
        .with_schemas(["urn:example:Device"]);
    let source = CsvSource::open(&p, options).unwrap();
    let page = block_on(source.import_page(&device, None)).unwrap();
    assert_eq!(
        page.objects[0].resource.schemas().collect::<Vec<_>>(),
        ["urn:example:Device"]
    );
}

#[test]
fn pages_chain_and_each_record_comes_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("externalId,userName\n");
    for i in 0..7 {
        content.push_str(&format!("E{i},user{i}\n"));
    }
    content.push_str("E7\n"); // a bad record takes its place in a page too
    let p = write(&dir, "hr.csv", &content);
    let source = CsvSource::open(p, CsvOptions::default().with_page_size(3)).unwrap();
    assert_eq!(source.capabilities().max_page_size, Some(3));
    assert!(!source.capabilities().delta);
    let pages = import_all(&source);
    let sizes: Vec<(usize, usize)> = pages
        .iter()
        .map(|p| (p.objects.len(), p.problems.len()))
        .collect();
    assert_eq!(sizes, [(3, 0), (3, 0), (1, 1)]);
    assert_eq!(ids(&pages), ["E0", "E1", "E2", "E3", "E4", "E5", "E6"]);
    assert!(pages.iter().all(|p| p.watermark.is_none()));

    // A page asked for again (a retry) is the same page, even after the last one freed the
    // snapshot: the file is read again and is still the same version.
    let again = block_on(source.import_page(&ObjectType::USER, pages[0].next.as_ref())).unwrap();
    assert_eq!(again, pages[1]);
    // A token that is not one of ours.
    let e =
        block_on(source.import_page(&ObjectType::USER, Some(&PageToken::new("3")))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
}

#[test]
fn a_file_replaced_during_an_import_is_never_mixed_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "hr.csv", "externalId,userName\nE1,a\nE2,b\nE3,c\n");
    let source = CsvSource::open(&p, CsvOptions::default().with_page_size(2)).unwrap();
    let first = block_on(source.import_page(&ObjectType::USER, None)).unwrap();
    let token = first.next.clone().unwrap();

    // The `idflow sync` tool rewrites the file between runs; same length, other content.
    write(&dir, "hr.csv", "externalId,userName\nE1,a\nE2,b\nE9,z\n");
    // The import under way keeps reading the version it began with.
    let second = block_on(source.import_page(&ObjectType::USER, Some(&token))).unwrap();
    assert_eq!(ids(&[second]), ["E3"]);

    // Its snapshot is gone now; a token of the old version is refused, not served from the
    // new file.
    let e = block_on(source.import_page(&ObjectType::USER, Some(&token))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);
    assert!(e.to_string().contains("start the import again"), "{e}");
    // A token from another source over the same path is also checked against the file.
    let other = CsvSource::open(&p, CsvOptions::default().with_page_size(2)).unwrap();
    let e = block_on(other.import_page(&ObjectType::USER, Some(&token))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResyncRequired);

    // A new import reads the new file.
    let pages = import_all(&source);
    assert_eq!(ids(&pages), ["E1", "E2", "E9"]);
}

#[test]
fn get_reads_the_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "hr.csv",
        "externalId,userName,active\nE1,a,true\nE2,b,maybe\nE3,c,true\nE3,d,true\n",
    );
    let source = CsvSource::open(&p, CsvOptions::default()).unwrap();
    let user = ObjectType::USER;
    let e1 = block_on(source.get(&user, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(e1.get("userName"), Some(&json!("a")));
    assert_eq!(
        block_on(source.get(&user, &SourceId::new("E404"))).unwrap(),
        None
    );
    // Ids compare exactly.
    assert_eq!(
        block_on(source.get(&user, &SourceId::new("e1"))).unwrap(),
        None
    );
    let e = block_on(source.get(&user, &SourceId::new("E2"))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(
        e.to_string().contains("line 3") && e.to_string().contains("maybe"),
        "{e}"
    );
    let e = block_on(source.get(&user, &SourceId::new("E3"))).unwrap_err();
    assert!(e.to_string().contains("duplicate id"), "{e}");

    write(&dir, "hr.csv", "externalId,userName\nE1,renamed\n");
    let e1 = block_on(source.get(&user, &SourceId::new("E1")))
        .unwrap()
        .unwrap();
    assert_eq!(e1.get("userName"), Some(&json!("renamed")));
}

#[test]
fn a_missing_file_fails_the_import_instead_of_emptying_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hr.csv");
    let e = CsvSource::open(&p, CsvOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(e.to_string().contains("hr.csv"), "{e}");

    write(&dir, "hr.csv", "externalId,userName\nE1,a\n");
    let source = CsvSource::open(&p, CsvOptions::default()).unwrap();
    std::fs::remove_file(&p).unwrap();
    let e = block_on(source.import_page(&ObjectType::USER, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    let e = block_on(source.get(&ObjectType::USER, &SourceId::new("E1"))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
}

#[cfg(unix)]
#[test]
fn a_file_that_may_not_be_read_is_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "hr.csv", "externalId,userName\nE1,a\n");
    let source = CsvSource::open(&p, CsvOptions::default()).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // Running as root: permissions do not stop reads, so there is nothing to observe.
        return;
    }
    let e = block_on(source.import_page(&ObjectType::USER, None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Fatal);
}

#[test]
fn no_delta_support() {
    let source = CsvSource::open(data("hr_basic.csv"), CsvOptions::default()).unwrap();
    let e = block_on(source.changes(&ObjectType::USER, &Watermark::from_u64(1), None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = block_on(source.current_watermark(&ObjectType::USER)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn a_generated_hr_file_of_thousands_of_rows_keeps_its_line_numbers() {
    // 5,000 workers; every 7th has a two-line address (one extra physical line); rows 1234
    // and 4321 have too few cells. Their reported lines must be the physical lines they
    // start on.
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from(
        "externalId,userName,name.givenName,addresses[type eq \"work\"].streetAddress,active,\
         urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value\n",
    );
    let mut line = 2u64;
    let mut bad_lines = Vec::new();
    for i in 0..5000u32 {
        if i == 1234 || i == 4321 {
            content.push_str(&format!("W{i},short\n"));
            bad_lines.push(line);
            line += 1;
            continue;
        }
        let street = if i % 7 == 0 {
            line += 1;
            format!("\"{i} Main St\nBuilding {}\"", i % 13)
        } else {
            format!("{i} Side Rd")
        };
        let manager = if i == 0 {
            String::new()
        } else {
            format!("W{}", i / 10)
        };
        content.push_str(&format!(
            "W{i},user{i}@example.com,Given{i},{street},{},{manager}\n",
            if i % 2 == 0 { "True" } else { "False" }
        ));
        line += 1;
    }
    let p = write(&dir, "big.csv", content);
    let source = CsvSource::open(p, CsvOptions::default()).unwrap();
    let pages = import_all(&source);
    assert_eq!(pages.len(), 5);
    assert!(
        pages
            .iter()
            .all(|p| p.objects.len() + p.problems.len() == 1000)
    );
    let all = ids(&pages);
    assert_eq!(all.len(), 4998);
    assert_eq!(
        all.iter().collect::<std::collections::BTreeSet<_>>().len(),
        4998
    );
    let probs = problems(&pages);
    let got: Vec<&str> = probs.iter().map(|p| p.location.as_str()).collect();
    let want: Vec<String> = bad_lines.iter().map(|l| format!("line {l}")).collect();
    assert_eq!(got, want);
    assert_eq!(probs[0].id, Some(SourceId::new("W1234")));
    let w14 = resource(&pages, "W14");
    assert_eq!(
        w14.get("addresses"),
        Some(&json!([{"type": "work", "streetAddress": "14 Main St\nBuilding 1"}]))
    );
    assert_eq!(w14.get("active"), Some(&json!(true)));
    assert_eq!(
        w14.extension(ENTERPRISE).unwrap()["manager"],
        json!({"value": "W1"})
    );
}

// ---------------------------------------------------------------------------------------------
// The source conformance kit, with a fixture that rewrites the file

/// Changes the HR file as the `idflow sync` tool's users do: by rewriting it whole.
#[derive(Debug)]
struct RewriteFixture {
    path: PathBuf,
    rows: std::sync::Mutex<Vec<(String, Resource)>>,
    next: std::sync::atomic::AtomicU64,
}

const FIXTURE_COLUMNS: [&str; 5] = [
    "userName",
    "name.givenName",
    "name.familyName",
    "active",
    "title",
];

impl RewriteFixture {
    fn new(path: PathBuf) -> Self {
        let f = RewriteFixture {
            path,
            rows: std::sync::Mutex::new(Vec::new()),
            next: std::sync::atomic::AtomicU64::new(1),
        };
        f.rewrite(&[]);
        f
    }

    fn rewrite(&self, rows: &[(String, Resource)]) {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["externalId"];
        header.extend(FIXTURE_COLUMNS);
        w.write_record(&header).unwrap();
        for (id, r) in rows {
            let mut cells = vec![id.clone()];
            for column in FIXTURE_COLUMNS {
                let (name, sub) = column
                    .split_once('.')
                    .map_or((column, None), |(n, s)| (n, Some(s)));
                let v = r.get(name).and_then(|v| match sub {
                    Some(s) => v.get(s),
                    None => Some(v),
                });
                cells.push(match v {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Bool(b)) => b.to_string(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                });
            }
            w.write_record(&cells).unwrap();
        }
        std::fs::write(&self.path, w.into_inner().unwrap()).unwrap();
    }

    fn change(
        &self,
        f: impl FnOnce(&mut Vec<(String, Resource)>) -> connectors::Result<()>,
    ) -> connectors::Result<()> {
        let mut rows = self.rows.lock().unwrap();
        f(&mut rows)?;
        self.rewrite(&rows);
        Ok(())
    }
}

#[async_trait::async_trait]
impl connectors::conformance::source::SourceFixture for RewriteFixture {
    async fn create(
        &self,
        object_type: &ObjectType,
        resource: &Resource,
    ) -> connectors::Result<SourceId> {
        if *object_type != ObjectType::USER {
            return Err(connectors::Error::unsupported(
                "csv fixture",
                "create of a non-User",
            ));
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("C{n:05}");
        self.change(|rows| {
            rows.push((id.clone(), resource.clone()));
            Ok(())
        })?;
        Ok(SourceId::new(id))
    }

    async fn update(
        &self,
        object_type: &ObjectType,
        id: &SourceId,
        resource: &Resource,
    ) -> connectors::Result<()> {
        self.change(
            |rows| match rows.iter_mut().find(|(i, _)| i == id.as_str()) {
                Some(row) => {
                    row.1 = resource.clone();
                    Ok(())
                }
                None => Err(connectors::Error::not_found(
                    object_type.clone(),
                    id.as_str(),
                )),
            },
        )
    }

    async fn delete(&self, object_type: &ObjectType, id: &SourceId) -> connectors::Result<()> {
        self.change(|rows| {
            let before = rows.len();
            rows.retain(|(i, _)| i != id.as_str());
            if rows.len() == before {
                Err(connectors::Error::not_found(
                    object_type.clone(),
                    id.as_str(),
                ))
            } else {
                Ok(())
            }
        })
    }

    async fn add_members(
        &self,
        _group: &SourceId,
        _members: &[SourceId],
    ) -> connectors::Result<()> {
        Err(connectors::Error::unsupported("csv fixture", "add_members"))
    }

    async fn remove_members(
        &self,
        _group: &SourceId,
        _members: &[SourceId],
    ) -> connectors::Result<()> {
        Err(connectors::Error::unsupported(
            "csv fixture",
            "remove_members",
        ))
    }
}

#[test]
fn csv_source_passes_the_source_conformance_kit() {
    use connectors::conformance::source;
    let dir = tempfile::tempdir().unwrap();
    let fixture = RewriteFixture::new(dir.path().join("hr.csv"));
    let csv = CsvSource::open(
        dir.path().join("hr.csv"),
        CsvOptions::default().with_page_size(5),
    )
    .unwrap();
    block_on(source::run_all(&csv, &fixture)).unwrap();
    // As a trait object too.
    let dynamic: std::sync::Arc<dyn SourceConnector> = std::sync::Arc::new(csv);
    block_on(source::run_all(&*dynamic, &fixture)).unwrap();
    // The kit cleaned up after itself: the file is back to its header.
    let pages = import_all_dyn(&*dynamic);
    assert_eq!(pages.iter().map(|p| p.objects.len()).sum::<usize>(), 0);
}

fn import_all_dyn(source: &dyn SourceConnector) -> Vec<ImportPage> {
    let mut pages = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = block_on(source.import_page(&ObjectType::USER, token.as_ref())).unwrap();
        token = page.next.clone();
        pages.push(page);
        if token.is_none() {
            return pages;
        }
    }
}

#[test]
fn a_page_size_of_zero_still_makes_progress() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "hr.csv", "externalId\nE1\nE2\n");
    let mut options = CsvOptions::default();
    options.page_size = 0;
    let pages = import_all(&CsvSource::open(p, options).unwrap());
    assert_eq!(ids(&pages), ["E1", "E2"]);
    assert_eq!(pages.len(), 2);
}
