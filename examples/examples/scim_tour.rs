//! A tour of `scim-model`: a User with the enterprise extension and a custom extension
//! registered at run time, validated, filtered, patched the way Entra patches, and an
//! API-driven inbound BulkRequest checked against Entra's profile.
//!
//! Run it with `cargo run -p idflow-examples --example scim_tour`.

use std::error::Error;

use scim_model::message::BulkRequest;
use scim_model::patch::PatchOp;
use scim_model::schema::Operation;
use scim_model::typed::User;
use scim_model::{Filter, Limits, Resource, SchemaRegistry};
use serde_json::json;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";

fn main() -> Result<(), Box<dyn Error>> {
    // 1. A custom extension schema, registered at run time from an RFC 7643 §7 document.
    let mut registry = SchemaRegistry::default();
    registry.register_json(&json!({
        "id": ACME,
        "name": "AcmeUser",
        "description": "Acme's HR attributes",
        "attributes": [
            {"name": "HireDate", "type": "dateTime", "multiValued": false, "required": false,
             "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
            {"name": "LeaveDate", "type": "dateTime", "multiValued": false, "required": false,
             "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
            {"name": "SamAccountName", "type": "string", "multiValued": false, "required": false,
             "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server"}
        ]
    }))?;
    println!("== Schemas known to the registry");
    for schema in registry.schemas() {
        println!("  {:<62} {} attributes", schema.id, schema.attributes.len());
    }

    // 2. A user as an HR system sends it: names in any case, an extension Entra forgot to list.
    let mut user: Resource = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", ACME],
        "externalId": "E1042",
        "UserName": "Barbara.Jensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"type": "work", "value": "bjensen@example.com", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tour Operations", "manager": {"value": "E0007"}
        },
        ACME: {"HireDate": "2026-12-01T08:00:00+01:00", "SamAccountName": "bjensen"}
    }))?;
    println!("\n== The user, as received (names and order kept)");
    println!("{}", serde_json::to_string_pretty(&user)?);

    println!("\n== Validation");
    let issues = registry.validate(&user, Operation::Create);
    println!("  as a create request: {} problem(s)", issues.len());
    let mut bad = user.clone();
    bad.extension_mut(ACME)
        .insert("HireDate".into(), json!("next monday"));
    for issue in registry.validate(&bad, Operation::Create) {
        println!("  with a bad HireDate: {}: {}", issue.path, issue.message);
    }

    // 3. Filters: parsed once, printed canonically, evaluated with the schema's rules.
    println!("\n== Filters");
    for text in [
        r#"userName eq "barbara.jensen@EXAMPLE.com""#,
        r#"emails[type eq "work" and value co "@example.com"] and active eq true"#,
        r#"urn:ietf:params:scim:schemas:extension:acme:1.0:User:HireDate gt "2026-11-30T00:00:00Z""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "tour""#,
        r#"not (active eq true) or title pr"#,
    ] {
        let filter: Filter = text.parse()?;
        let compiled = filter.compile(&registry, scim_model::USER_SCHEMA);
        println!("  {:<5} {}", compiled.matches(&user)?, filter);
    }
    match Filter::parse(r#"userName eq "bjensen" and (title pr"#) {
        Ok(_) => println!("  unexpectedly parsed"),
        Err(e) => println!("  error: {e}"),
    }

    // 4. PATCH the way Entra sends it: capitalised ops, booleans as strings, a value filter.
    println!("\n== PATCH (as Entra sends it)");
    let patch: PatchOp = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Finance"}
        ]
    }))?;
    let changed = patch.apply(&mut user, &registry)?;
    println!("  changed: {changed}");
    println!("  active = {}", user.get("active").unwrap_or(&json!(null)));
    println!(
        "  phoneNumbers = {}",
        user.get("phoneNumbers").unwrap_or(&json!(null))
    );
    let typed = User::try_from(&user)?;
    println!(
        "  typed view: {} ({}), department {:?}",
        typed.user_name,
        typed.display_name.as_deref().unwrap_or("no displayName"),
        typed.enterprise()?.and_then(|e| e.department)
    );
    let failing: PatchOp = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "title", "value": "Guide"},
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "replace", "path": "id", "value": "changed"}
        ]
    }))?;
    let before = user.clone();
    match failing.apply(&mut user, &registry) {
        Ok(_) => println!("  unexpectedly applied"),
        Err(e) => println!("  rejected, resource unchanged = {}: {e}", user == before),
    }

    // 5. An API-driven inbound upload (Entra's /bulkUpload profile).
    println!("\n== API-driven inbound BulkRequest");
    let upload = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{
            "method": "POST", "bulkId": "E1043", "path": "/Users",
            "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "E1043", "userName": "ana.lima@example.com",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "E1043"},
                ACME: {"HireDate": "2027-01-04T09:00:00Z"}
            }
        }, {
            "method": "DELETE", "bulkId": "E1043", "path": "/Users/E1043"
        }]
    });
    let request = BulkRequest::from_json_str(&upload.to_string(), &Limits::default())?;
    for problem in scim_model::message::validate_inbound(&request) {
        println!("  {problem}");
    }
    Ok(())
}
