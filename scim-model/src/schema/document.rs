//! Reading and checking RFC 7643 §7 schema documents.
//!
//! [`parse_schema`] reads a JSON schema document field by field, so that an error names the
//! attribute and the field at fault (`attribute "manager.value": "type": unknown variant
//! `strin`, ...`); [`check_schema`] then checks the rules a well-formed schema keeps, whether
//! it came from JSON or was built in code:
//!
//! - `id` is a URN (`urn:` NID `:` NSS, RFC 8141);
//! - every attribute name is an RFC 7643 §2.1 `ATTRNAME` (`ALPHA *(ALPHA / DIGIT / "-" / "_")`);
//!   `$ref` (RFC 7643 §2.4) is allowed as a sub-attribute name;
//! - no two attributes of one level share a name, compared case-insensitively;
//! - a complex attribute has sub-attributes, a sub-attribute is not complex (RFC 7643 §2.3.8),
//!   and only complex attributes have sub-attributes.
//!
//! Keys of the document that RFC 7643 does not define (`schemas`, `meta`, vendor additions)
//! are ignored; keys are matched case-insensitively, as RFC 7643 §2.1 says of attribute names.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Attribute, AttributeType, Schema};
use crate::resource::get_ci;
use crate::{Error, Result};

/// Reads a schema document (RFC 7643 §7) without checking the rules of [`check_schema`].
pub(crate) fn parse_schema(doc: &Value) -> Result<Schema> {
    let Value::Object(obj) = doc else {
        return Err(invalid(
            "(none)",
            format!(
                "a schema document must be a JSON object, found {}",
                kind_of(doc)
            ),
        ));
    };
    let id = match get_ci(obj, "id") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid(
                "(none)",
                format!("\"id\" must be a string, found {}", kind_of(other)),
            ));
        }
        None => return Err(invalid("(none)", "the schema has no \"id\"")),
    };
    let name = optional_string(obj, "name").map_err(|m| invalid(&id, m))?;
    let description = optional_string(obj, "description").map_err(|m| invalid(&id, m))?;
    let attributes = match get_ci(obj, "attributes") {
        Some(Value::Array(items)) => parse_attributes(&id, items, "")?,
        Some(other) => {
            return Err(invalid(
                &id,
                format!("\"attributes\" must be an array, found {}", kind_of(other)),
            ));
        }
        None => return Err(invalid(&id, "the schema has no \"attributes\"")),
    };
    Ok(Schema {
        id,
        name,
        description,
        attributes,
    })
}

/// Reads a list of attribute definitions; `parent` is the parent's path (`""` at top level).
fn parse_attributes(urn: &str, items: &[Value], parent: &str) -> Result<Vec<Attribute>> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_attribute(urn, item, parent, i))
        .collect()
}

fn parse_attribute(urn: &str, item: &Value, parent: &str, index: usize) -> Result<Attribute> {
    let list = if parent.is_empty() {
        "attributes".to_owned()
    } else {
        format!("{parent}.subAttributes")
    };
    let Value::Object(obj) = item else {
        return Err(invalid(
            urn,
            format!("{list}[{index}] must be an object, found {}", kind_of(item)),
        ));
    };
    let name = match get_ci(obj, "name") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid(
                urn,
                format!(
                    "{list}[{index}].name must be a string, found {}",
                    kind_of(other)
                ),
            ));
        }
        None => return Err(invalid(urn, format!("{list}[{index}] has no \"name\""))),
    };
    let path = join(parent, &name);
    let at = |field: &str, message: String| {
        invalid(urn, format!("attribute {path:?}: {field:?}: {message}"))
    };
    let Some(kind) = field::<AttributeType>(obj, "type").map_err(|m| at("type", m))? else {
        return Err(invalid(urn, format!("attribute {path:?} has no \"type\"")));
    };
    let mut attr = Attribute::new(name, kind);
    macro_rules! read {
        ($field:ident, $key:literal) => {
            if let Some(v) = field(obj, $key).map_err(|m| at($key, m))? {
                attr.$field = v;
            }
        };
    }
    read!(multi_valued, "multiValued");
    read!(description, "description");
    read!(required, "required");
    read!(canonical_values, "canonicalValues");
    read!(case_exact, "caseExact");
    read!(mutability, "mutability");
    read!(returned, "returned");
    read!(uniqueness, "uniqueness");
    read!(reference_types, "referenceTypes");
    match get_ci(obj, "subAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => attr.sub_attributes = parse_attributes(urn, items, &path)?,
        Some(other) => {
            return Err(at(
                "subAttributes",
                format!("expected an array, found {}", kind_of(other)),
            ));
        }
    }
    Ok(attr)
}

/// Reads an optional field with serde; `null` counts as absent. The error is serde's message.
fn field<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Option<T>, String> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v).map(Some).map_err(|e| e.to_string()),
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Option<String>, String> {
    field(obj, key).map_err(|m| format!("{key:?}: {m}"))
}

/// Checks the rules every schema keeps (see the module documentation).
pub(crate) fn check_schema(schema: &Schema) -> Result<()> {
    if !is_urn(&schema.id) {
        return Err(invalid(
            &schema.id,
            "the schema id must be a URN (urn:<NID>:<NSS>, RFC 8141)",
        ));
    }
    check_level(&schema.id, &schema.attributes, "")
}

fn check_level(urn: &str, attrs: &[Attribute], parent: &str) -> Result<()> {
    for (i, attr) in attrs.iter().enumerate() {
        let path = join(parent, &attr.name);
        let is_sub = !parent.is_empty();
        let name_ok = is_attr_name(&attr.name) || (is_sub && attr.name == "$ref");
        if !name_ok {
            return Err(invalid(
                urn,
                format!(
                    "attribute {path:?}: invalid name (RFC 7643 ATTRNAME: a letter, then letters, \
                     digits, '-' or '_'{})",
                    if is_sub { "; or \"$ref\"" } else { "" }
                ),
            ));
        }
        if let Some(first) = attrs[..i]
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&attr.name))
        {
            return Err(invalid(
                urn,
                format!(
                    "attribute {path:?}: duplicate name (names are case-insensitive; already \
                     defined as {:?})",
                    join(parent, &first.name)
                ),
            ));
        }
        match (attr.kind, is_sub, attr.sub_attributes.is_empty()) {
            (AttributeType::Complex, true, _) => {
                return Err(invalid(
                    urn,
                    format!(
                        "attribute {path:?}: a sub-attribute cannot be complex (RFC 7643 §2.3.8)"
                    ),
                ));
            }
            (AttributeType::Complex, false, true) => {
                return Err(invalid(
                    urn,
                    format!("attribute {path:?}: a complex attribute needs subAttributes"),
                ));
            }
            (AttributeType::Complex, false, false) => {
                check_level(urn, &attr.sub_attributes, &path)?;
            }
            (_, _, false) => {
                return Err(invalid(
                    urn,
                    format!(
                        "attribute {path:?}: only complex attributes have subAttributes, this one \
                         is {}",
                        type_name(attr.kind)
                    ),
                ));
            }
            (_, _, true) => {}
        }
    }
    Ok(())
}

/// Whether `name` is an RFC 7643 §2.1 `ATTRNAME`: `ALPHA *(ALPHA / DIGIT / "-" / "_")`.
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `s` is a URN as RFC 8141 shapes it: `urn:`, a NID of 2 to 32 letters, digits and
/// hyphens (starting and ending with a letter or digit), `:`, a non-empty NSS without spaces.
pub(crate) fn is_urn(s: &str) -> bool {
    let mut parts = s.splitn(3, ':');
    let (Some(scheme), Some(nid), Some(nss)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let nid_ok = (2..=32).contains(&nid.len())
        && nid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !nid.starts_with('-')
        && !nid.ends_with('-');
    scheme.eq_ignore_ascii_case("urn")
        && nid_ok
        && !nss.is_empty()
        && !nss.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The RFC 7643 spelling of a type: `dateTime`, `complex`, ...
pub(crate) fn type_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "string",
        AttributeType::Boolean => "boolean",
        AttributeType::Decimal => "decimal",
        AttributeType::Integer => "integer",
        AttributeType::DateTime => "dateTime",
        AttributeType::Binary => "binary",
        AttributeType::Reference => "reference",
        AttributeType::Complex => "complex",
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn invalid(urn: &str, message: impl Into<String>) -> Error {
    Error::InvalidSchema {
        urn: urn.to_owned(),
        message: message.into(),
    }
}

/// How a JSON value is described in messages: `a string`, `an object`, ...
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(doc: Value) -> String {
        match parse_schema(&doc).and_then(|s| check_schema(&s)) {
            Err(Error::InvalidSchema { urn, message }) => format!("{urn}: {message}"),
            other => format!("not an InvalidSchema error: {other:?}"),
        }
    }

    const URN: &str = "urn:example:test:1.0:Thing";

    #[test]
    fn urns_and_names() {
        assert!(is_urn("urn:ietf:params:scim:schemas:core:2.0:User"));
        assert!(is_urn("URN:example:x"));
        assert!(!is_urn("urn:x:y"), "NID of one letter");
        assert!(!is_urn("urn:ietf:"));
        assert!(!is_urn("http://example.com/schema"));
        assert!(!is_urn("urn:ietf:a b"));
        assert!(is_attr_name("userName"));
        assert!(is_attr_name("x509Certificates"));
        assert!(is_attr_name("a-b_c"));
        assert!(!is_attr_name("1abc"));
        assert!(!is_attr_name("a.b"));
        assert!(!is_attr_name(""));
        assert!(!is_attr_name("$ref"));
    }

    #[test]
    fn errors_name_the_schema_attribute_and_field() {
        let m = message(json!({"id": URN, "attributes": [
            {"name": "manager", "type": "complex", "subAttributes": [
                {"name": "value", "type": "strin"}]}]}));
        assert!(m.starts_with(URN), "{m}");
        assert!(m.contains("\"manager.value\""), "{m}");
        assert!(m.contains("\"type\""), "{m}");
        assert!(m.contains("strin"), "{m}");

        let m = message(json!({"id": URN, "attributes": [
            {"name": "x", "type": "string", "mutability": "readonly"}]}));
        assert!(
            m.contains("\"x\": \"mutability\"") && m.contains("readonly"),
            "{m}"
        );

        let m = message(json!({"id": URN, "attributes": [{"name": "x"}]}));
        assert!(m.contains("attribute \"x\" has no \"type\""), "{m}");
        let m = message(json!({"id": URN, "attributes": [{"type": "string"}]}));
        assert!(m.contains("attributes[0] has no \"name\""), "{m}");
        let m = message(
            json!({"id": URN, "attributes": [{"name": "x", "type": "string", "required": "yes"}]}),
        );
        assert!(m.contains("\"required\""), "{m}");
        let m = message(json!({"id": URN}));
        assert!(m.contains("no \"attributes\""), "{m}");
        let m = message(json!({"attributes": []}));
        assert!(m.contains("no \"id\""), "{m}");
        let m = message(json!([1]));
        assert!(m.contains("must be a JSON object"), "{m}");
    }

    #[test]
    fn structural_rules() {
        let m = message(json!({"id": "acme-user", "attributes": []}));
        assert!(m.contains("must be a URN"), "{m}");
        let m = message(json!({"id": URN, "attributes": [
            {"name": "Hire Date", "type": "string"}]}));
        assert!(m.contains("\"Hire Date\": invalid name"), "{m}");
        let m = message(json!({"id": URN, "attributes": [{"name": "$ref", "type": "string"}]}));
        assert!(m.contains("invalid name"), "{m}");
        let m = message(json!({"id": URN, "attributes": [
            {"name": "hireDate", "type": "string"}, {"name": "HIREDATE", "type": "string"}]}));
        assert!(
            m.contains("\"HIREDATE\": duplicate name") && m.contains("\"hireDate\""),
            "{m}"
        );
        let m = message(json!({"id": URN, "attributes": [{"name": "c", "type": "complex"}]}));
        assert!(
            m.contains("\"c\": a complex attribute needs subAttributes"),
            "{m}"
        );
        let m = message(
            json!({"id": URN, "attributes": [{"name": "c", "type": "complex",
            "subAttributes": [{"name": "d", "type": "complex",
                "subAttributes": [{"name": "e", "type": "string"}]}]}]}),
        );
        assert!(
            m.contains("\"c.d\": a sub-attribute cannot be complex"),
            "{m}"
        );
        let m = message(
            json!({"id": URN, "attributes": [{"name": "s", "type": "string",
            "subAttributes": [{"name": "e", "type": "string"}]}]}),
        );
        assert!(
            m.contains("only complex attributes have subAttributes"),
            "{m}"
        );
        let m = message(
            json!({"id": URN, "attributes": [{"name": "c", "type": "complex",
            "subAttributes": [{"name": "v", "type": "string"}, {"name": "V", "type": "string"}]}]}),
        );
        assert!(m.contains("\"c.V\": duplicate name"), "{m}");
    }

    #[test]
    fn accepts_ref_sub_attributes_and_ignores_unknown_keys() {
        let doc = json!({"id": URN, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "meta": {"resourceType": "Schema"}, "ATTRIBUTES": [
            {"name": "owner", "type": "complex", "x-vendor": 1, "subAttributes": [
                {"name": "$ref", "type": "reference", "referenceTypes": ["User"]},
                {"name": "value", "type": "string", "caseExact": true}]}]});
        let schema = parse_schema(&doc).unwrap();
        check_schema(&schema).unwrap();
        let owner = schema.attribute("OWNER").unwrap();
        assert!(owner.sub_attribute("value").unwrap().case_exact);
        assert_eq!(
            owner.sub_attribute("$REF").unwrap().reference_types,
            ["User"]
        );
    }
}
