//! The common attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`) and the `schemas`
//! attribute of §3: part of every resource, whatever its base schema, but defined by no schema
//! document. [`SchemaRegistry`](super::SchemaRegistry) lookups fall back to these.

use std::sync::LazyLock;

use super::{Attribute, AttributeType, Mutability, Returned, Uniqueness};

/// The common attributes, built once.
static COMMON: LazyLock<Vec<Attribute>> = LazyLock::new(build);

/// The attributes every resource has besides those of its schemas, as RFC 7643 §3 and §3.1
/// define them:
///
/// | name | type | notes |
/// |---|---|---|
/// | `schemas` | reference (uri), multi-valued | required, caseExact, returned always |
/// | `id` | string | caseExact, readOnly, returned always, uniqueness server |
/// | `externalId` | string | caseExact, readWrite |
/// | `meta` | complex, readOnly | `resourceType` (string, caseExact), `created` and `lastModified` (dateTime), `location` (reference uri, caseExact), `version` (string, caseExact) |
///
/// `id` is `required` in the RFC's sense of "the service provider always has one"; validation
/// does not ask a client for it on create, because it is `readOnly` (see
/// [`SchemaRegistry::validate`](super::SchemaRegistry::validate)).
pub fn common_attributes() -> &'static [Attribute] {
    &COMMON
}

/// A common attribute by name, case-insensitively.
pub(crate) fn common_attribute(name: &str) -> Option<&'static Attribute> {
    COMMON.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn attr(name: &str, kind: AttributeType) -> Attribute {
    Attribute::new(name, kind)
}

fn build() -> Vec<Attribute> {
    let schemas = Attribute {
        multi_valued: true,
        required: true,
        case_exact: true,
        returned: Returned::Always,
        reference_types: vec!["uri".to_owned()],
        description: Some("The URNs of the schemas the resource uses (RFC 7643 §3).".to_owned()),
        ..attr("schemas", AttributeType::Reference)
    };
    let id = Attribute {
        required: true,
        case_exact: true,
        mutability: Mutability::ReadOnly,
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        description: Some(
            "The service provider's unique identifier of the resource (RFC 7643 §3.1).".to_owned(),
        ),
        ..attr("id", AttributeType::String)
    };
    let external_id = Attribute {
        case_exact: true,
        description: Some(
            "The provisioning client's identifier of the resource (RFC 7643 §3.1).".to_owned(),
        ),
        ..attr("externalId", AttributeType::String)
    };
    let read_only = |name: &str, kind: AttributeType, case_exact: bool| Attribute {
        case_exact,
        mutability: Mutability::ReadOnly,
        ..attr(name, kind)
    };
    let meta = Attribute {
        mutability: Mutability::ReadOnly,
        description: Some("The resource's metadata (RFC 7643 §3.1).".to_owned()),
        sub_attributes: vec![
            read_only("resourceType", AttributeType::String, true),
            read_only("created", AttributeType::DateTime, false),
            read_only("lastModified", AttributeType::DateTime, false),
            Attribute {
                reference_types: vec!["uri".to_owned()],
                ..read_only("location", AttributeType::Reference, true)
            },
            read_only("version", AttributeType::String, true),
        ],
        ..attr("meta", AttributeType::Complex)
    };
    vec![schemas, id, external_id, meta]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_attributes_have_the_rfc_types() {
        let id = common_attribute("ID").unwrap();
        assert!(id.case_exact);
        assert_eq!(id.mutability, Mutability::ReadOnly);
        assert_eq!(id.uniqueness, Uniqueness::Server);
        let meta = common_attribute("meta").unwrap();
        assert_eq!(
            meta.sub_attribute("LASTMODIFIED").map(|a| a.kind),
            Some(AttributeType::DateTime)
        );
        assert!(common_attribute("schemas").unwrap().multi_valued);
        assert!(common_attribute("externalId").unwrap().case_exact);
        assert!(common_attribute("userName").is_none());
    }
}
