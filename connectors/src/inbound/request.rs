//! Reading and checking one inbound request: content type, size, encoding, JSON, the Bulk
//! message, the API-driven inbound profile — every problem, before anything is stored.

use scim_model::message::{
    BulkMethod, BulkOperation, BulkRequest, SCIM_CONTENT_TYPE, check_content_type,
};
use scim_model::{Limits, Resource, ScimType, remove_ci};
use serde_json::Value;

use super::InboundOptions;
use super::error::Problem;
use crate::types::SourceId;

/// One operation of an acceptable request.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) bulk_id: String,
    pub(crate) source_id: SourceId,
    pub(crate) record: Resource,
}

/// Reads a request; `Err` lists every problem found (and then nothing may be stored).
pub(crate) fn read(
    body: &[u8],
    content_type: Option<&str>,
    options: &InboundOptions,
) -> Result<Vec<Operation>, Vec<Problem>> {
    let mut problems = Vec::new();
    if let Err(p) = check_type(content_type, options.accept_application_json) {
        problems.push(p);
    }
    match read_body(body, options, &mut problems) {
        Some(ops) if problems.is_empty() => Ok(ops),
        _ => {
            // Request-level problems first, then by operation (stable: in the order found).
            problems.sort_by_key(|p| p.operation.map_or(0, |i| i + 1));
            Err(problems)
        }
    }
}

/// Checks the `Content-Type` header (see [`InboundOptions::accept_application_json`]).
fn check_type(content_type: Option<&str>, accept_json: bool) -> Result<(), Problem> {
    let problem =
        |message: String| Problem::request("Content-Type", message, ScimType::InvalidSyntax);
    let Some(value) = content_type else {
        return Err(problem(format!(
            "is missing; it must be {SCIM_CONTENT_TYPE}"
        )));
    };
    let (media_type, rest) = value.split_once(';').unwrap_or((value, ""));
    let value = if accept_json && media_type.trim().eq_ignore_ascii_case("application/json") {
        // Same parameter rules (charset UTF-8), with the SCIM media type in its place.
        format!("{SCIM_CONTENT_TYPE};{rest}")
    } else {
        value.to_owned()
    };
    check_content_type(&value).map_err(|e| match e {
        scim_model::Error::InvalidSyntax { message, .. } => problem(message),
        other => problem(other.to_string()),
    })
}

/// Reads the body; `None` when it could not be read far enough to yield operations.
fn read_body(
    body: &[u8],
    options: &InboundOptions,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Operation>> {
    let limits: &Limits = &options.limits;
    if body.len() > limits.max_payload_bytes {
        problems.push(Problem::from(scim_model::Error::TooLong {
            what: "payload",
            len: body.len(),
            max: limits.max_payload_bytes,
        }));
        return None;
    }
    // A UTF-8 byte order mark (as Windows PowerShell's Out-File writes it) is skipped.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::request(
                "body",
                format!(
                    "is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                ScimType::InvalidSyntax,
            ));
            return None;
        }
    };
    let (request, unreadable) = match BulkRequest::from_json_str(text, limits) {
        Ok(r) => (r, Vec::new()),
        Err(scim_model::Error::BulkOperation { .. }) => read_each_operation(text, problems)?,
        Err(e) => {
            problems.push(Problem::from(e));
            return None;
        }
    };
    if request.operations.is_empty() {
        problems.push(Problem::request(
            "Operations",
            "holds no operation; send at least one record",
            ScimType::InvalidValue,
        ));
        return None;
    }
    // The queue identifies a record by its externalId, whatever the profile says.
    let profile = options.profile.clone().with_require_external_id(true);
    let mut bad = unreadable.clone();
    for e in profile.validate(&request) {
        let p = Problem::from(e);
        if let Some(i) = p.operation {
            if unreadable.contains(&i) {
                // A placeholder for an operation that could not be read: its own problem
                // is already listed.
                continue;
            }
            bad.push(i);
        }
        problems.push(p);
    }
    let mut ops = Vec::with_capacity(request.operations.len());
    for (index, op) in request.operations.into_iter().enumerate() {
        if bad.contains(&index) {
            continue;
        }
        match operation(index, op) {
            Ok(o) => ops.push(o),
            Err(p) => problems.push(p),
        }
    }
    Some(ops)
}

/// Reads the operations of a request one by one, after reading them together stopped at the
/// first bad one, so that every bad operation is named. Operations that cannot be read are
/// replaced by placeholders (returned by index) whose profile problems are dropped.
fn read_each_operation(
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<(BulkRequest, Vec<usize>)> {
    let Ok(Value::Object(mut top)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let items = match remove_ci(&mut top, "Operations") {
        Some(Value::Array(items)) => items,
        _ => return None,
    };
    top.insert("Operations".to_owned(), Value::Array(Vec::new()));
    let mut request = match BulkRequest::from_value(Value::Object(top)) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::from(e));
            return None;
        }
    };
    let mut unreadable = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let one = serde_json::json!({"Operations": [item]});
        match BulkRequest::from_value(one) {
            Ok(mut r) if r.operations.len() == 1 => {
                request.operations.extend(r.operations.pop());
            }
            Ok(_) => {
                unreadable.push(index);
                request.operations.push(placeholder());
            }
            Err(e) => {
                let mut p = Problem::from(e);
                p.operation = Some(index);
                if p.field.is_empty() {
                    p.field = format!("Operations[{index}]");
                }
                problems.push(p);
                unreadable.push(index);
                request.operations.push(placeholder());
            }
        }
    }
    Some((request, unreadable))
}

/// Stands in for an operation that could not be read, so that the others keep their index.
fn placeholder() -> BulkOperation {
    BulkOperation::new(BulkMethod::Post, "/Users")
}

/// The record of an operation that passed the profile.
fn operation(index: usize, op: BulkOperation) -> Result<Operation, Problem> {
    let bulk_id = op.bulk_id.unwrap_or_default();
    let data = op.data.unwrap_or(Value::Null);
    let record = Resource::from_value(data).map_err(|e| {
        let message = match e {
            scim_model::Error::InvalidSyntax { message, .. } => message,
            other => other.to_string(),
        };
        Problem::operation(index, "data", message, ScimType::InvalidSyntax)
    })?;
    let source_id = match record.external_id() {
        Some(id) => SourceId::new(id),
        None => {
            return Err(Problem::operation(
                index,
                "data.externalId",
                "is required: it is the source's unique id of the user",
                ScimType::InvalidValue,
            ));
        }
    };
    Ok(Operation {
        bulk_id,
        source_id,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(ops: Vec<Value>) -> Vec<u8> {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
            .to_string()
            .into_bytes()
    }

    fn good(id: &str) -> Value {
        json!({"method": "POST", "path": "/Users", "bulkId": id, "data": {
            "schemas": [scim_model::USER_SCHEMA, scim_model::ENTERPRISE_USER_SCHEMA],
            "externalId": id}})
    }

    #[test]
    fn an_acceptable_request_yields_its_records_in_order() {
        let ops = read(
            &body(vec![good("b"), good("a")]),
            Some(SCIM_CONTENT_TYPE),
            &InboundOptions::default(),
        )
        .unwrap();
        let ids: Vec<&str> = ops.iter().map(|o| o.source_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(ops[0].bulk_id, "b");
        assert_eq!(ops[0].record.external_id(), Some("b"));
    }

    #[test]
    fn the_profile_cannot_turn_off_the_external_id_the_queue_needs() {
        let options = InboundOptions::default().with_profile(
            scim_model::message::InboundProfile::new().with_require_external_id(false),
        );
        let mut op = good("a");
        op["data"].as_object_mut().unwrap().remove("externalId");
        let problems = read(&body(vec![op]), Some(SCIM_CONTENT_TYPE), &options).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "data.externalId");
    }

    #[test]
    fn an_unreadable_operation_keeps_the_others_at_their_index() {
        // Operation 0 cannot be read; operation 1 repeats operation 2's bulkId, which the
        // profile still sees because the placeholder keeps the indices.
        let ops = vec![json!({"method": 7}), good("x"), good("x")];
        let problems = read(
            &body(ops),
            Some(SCIM_CONTENT_TYPE),
            &InboundOptions::default(),
        )
        .unwrap_err();
        let found: Vec<(Option<usize>, &str)> = problems
            .iter()
            .map(|p| (p.operation, p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(0), "method"),
                (Some(2), "bulkId"),
                (Some(2), "data.externalId")
            ]
        );
    }

    #[test]
    fn content_type_rules() {
        assert!(check_type(Some("application/scim+json"), false).is_ok());
        assert!(check_type(Some("application/json"), false).is_err());
        assert!(check_type(Some("application/json"), true).is_ok());
        assert!(check_type(Some("application/json; charset=latin1"), true).is_err());
        let p = check_type(None, true).unwrap_err();
        assert_eq!(p.message, "is missing; it must be application/scim+json");
    }
}
