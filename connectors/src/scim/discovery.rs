//! Discovery (RFC 7644 §4): what `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`
//! say, read tolerantly — a server that lacks one of them, or answers it oddly, gets the
//! defaults and a note saying so.

use scim_model::SchemaRegistry;
use scim_model::get_ci;
use serde_json::{Map, Value};

/// What the server said about itself at [`ScimTarget::connect`](super::ScimTarget::connect).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discovery {
    /// `patch.supported`: the server takes PATCH (else the connector emulates it with GET and
    /// PUT).
    pub patch: bool,
    /// `bulk.supported`.
    pub bulk: bool,
    /// `bulk.maxOperations`, if given.
    pub bulk_max_operations: Option<u64>,
    /// `bulk.maxPayloadSize` in bytes, if given.
    pub bulk_max_payload_size: Option<u64>,
    /// `filter.supported`.
    pub filter: bool,
    /// `filter.maxResults`, if given: the largest page the server returns.
    pub filter_max_results: Option<usize>,
    /// `sort.supported`.
    pub sort: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `pagination.cursor` (RFC 9865): the server pages by cursor.
    pub cursor: bool,
    /// The resource types: name and endpoint (`User`, `/Users`).
    pub resource_types: Vec<(String, String)>,
    /// The schema URNs `/Schemas` listed.
    pub schemas: Vec<String>,
    /// What was missing or odd, and which default was used instead.
    pub notes: Vec<String>,
}

impl Default for Discovery {
    /// What is assumed of a server that says nothing: PATCH and filters (every SCIM client
    /// relies on them), no sorting, no ETags, no bulk, no cursors, `User` and `Group`.
    fn default() -> Self {
        Discovery {
            patch: true,
            bulk: false,
            bulk_max_operations: None,
            bulk_max_payload_size: None,
            filter: true,
            filter_max_results: None,
            sort: false,
            etag: false,
            cursor: false,
            resource_types: Vec::new(),
            schemas: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Discovery {
    /// Reads a `ServiceProviderConfig` document; a feature that is absent or not a boolean
    /// keeps its default, with a note.
    pub(super) fn read_service_provider_config(&mut self, spc: &Value) {
        let Some(map) = spc.as_object() else {
            self.notes.push(
                "/ServiceProviderConfig is not a JSON object; assuming the defaults \
                 (patch, filter; no sort, etag, bulk)"
                    .to_owned(),
            );
            return;
        };
        self.patch = self.feature(map, "patch", self.patch);
        self.bulk = self.feature(map, "bulk", self.bulk);
        self.filter = self.feature(map, "filter", self.filter);
        self.sort = self.feature(map, "sort", self.sort);
        self.etag = self.feature(map, "etag", self.etag);
        self.bulk_max_operations = number(map, "bulk", "maxOperations");
        self.bulk_max_payload_size = number(map, "bulk", "maxPayloadSize");
        self.filter_max_results = number(map, "filter", "maxResults")
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0);
        self.cursor = get_ci(map, "pagination")
            .and_then(Value::as_object)
            .and_then(|p| get_ci(p, "cursor"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    }

    fn feature(&mut self, map: &Map<String, Value>, name: &str, default: bool) -> bool {
        let supported = get_ci(map, name)
            .and_then(Value::as_object)
            .and_then(|o| get_ci(o, "supported"));
        match supported {
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.notes.push(format!(
                    "/ServiceProviderConfig {name}.supported is {other}, not a boolean; \
                     assuming {default}"
                ));
                default
            }
            None => {
                self.notes.push(format!(
                    "/ServiceProviderConfig says nothing of {name}; assuming {default}"
                ));
                default
            }
        }
    }

    /// Reads the resources of a `/ResourceTypes` listing (or a bare array of them): the name
    /// and endpoint of each. Entries without both are skipped, with a note.
    pub(super) fn read_resource_types(&mut self, resources: &[Value]) {
        for (i, rt) in resources.iter().enumerate() {
            let Some(map) = rt.as_object() else {
                self.notes
                    .push(format!("/ResourceTypes item {i} is not an object; skipped"));
                continue;
            };
            let name = get_ci(map, "name").and_then(Value::as_str);
            let endpoint = get_ci(map, "endpoint").and_then(Value::as_str);
            match (name, endpoint) {
                (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => {
                    let e = if e.starts_with('/') {
                        e.to_owned()
                    } else {
                        format!("/{e}")
                    };
                    self.resource_types.push((n.to_owned(), e));
                }
                _ => self.notes.push(format!(
                    "/ResourceTypes item {i} has no name or endpoint; skipped"
                )),
            }
        }
    }

    /// Registers the schemas of a `/Schemas` listing in `registry` (for the PATCH emulation);
    /// a schema the registry refuses is noted and left out.
    pub(super) fn read_schemas(&mut self, resources: &[Value], registry: &mut SchemaRegistry) {
        for (i, doc) in resources.iter().enumerate() {
            let id = doc
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("(no id)")
                .to_owned();
            match registry.register_json(doc) {
                Ok(()) => self.schemas.push(id),
                Err(e) => self
                    .notes
                    .push(format!("/Schemas item {i} ({id}) not used: {e}")),
            }
        }
    }

    /// The endpoint `/ResourceTypes` gave for an object type (names compared
    /// case-insensitively).
    pub fn endpoint_of(&self, name: &str) -> Option<&str> {
        self.resource_types
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, e)| e.as_str())
    }
}

fn number(map: &Map<String, Value>, feature: &str, field: &str) -> Option<u64> {
    get_ci(map, feature)
        .and_then(Value::as_object)
        .and_then(|o| get_ci(o, field))
        .and_then(Value::as_u64)
}

/// The resources of a listing: a `ListResponse`'s `Resources`, or a bare JSON array (some
/// servers answer `/Schemas` that way). `None` for anything else.
pub(super) fn listed(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(mut map) => {
            let key = map
                .keys()
                .find(|k| k.eq_ignore_ascii_case("Resources"))
                .cloned()?;
            match map.remove(&key) {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_full_service_provider_config() {
        let mut d = Discovery::default();
        d.read_service_provider_config(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "pagination": {"cursor": true, "index": true}
        }));
        assert!(d.patch && d.bulk && d.filter && d.sort && d.etag && d.cursor);
        assert_eq!(d.bulk_max_operations, Some(1000));
        assert_eq!(d.bulk_max_payload_size, Some(1_048_576));
        assert_eq!(d.filter_max_results, Some(200));
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn missing_or_odd_features_keep_defaults_with_a_note() {
        let mut d = Discovery::default();
        d.read_service_provider_config(&json!({
            "Patch": {"Supported": false},
            "sort": {"supported": "yes"}
        }));
        assert!(!d.patch, "names are case-insensitive");
        assert!(!d.sort);
        assert!(d.filter, "absent filter keeps its default");
        assert!(!d.cursor);
        assert!(
            d.notes.iter().any(|n| n.contains("sort.supported")),
            "{:?}",
            d.notes
        );
        assert!(
            d.notes.iter().any(|n| n.contains("nothing of etag")),
            "{:?}",
            d.notes
        );
        let mut d = Discovery::default();
        d.read_service_provider_config(&json!("nonsense"));
        assert!(d.notes[0].contains("not a JSON object"));
    }

    #[test]
    fn resource_types_give_endpoints() {
        let mut d = Discovery::default();
        d.read_resource_types(&[
            json!({"name": "User", "endpoint": "/Users"}),
            json!({"name": "Device", "endpoint": "Devices"}),
            json!({"name": "Broken"}),
            json!(7),
        ]);
        assert_eq!(d.endpoint_of("user"), Some("/Users"));
        assert_eq!(d.endpoint_of("Device"), Some("/Devices"));
        assert_eq!(d.endpoint_of("Broken"), None);
        assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
    }

    #[test]
    fn listings_are_read_from_list_responses_or_arrays() {
        assert_eq!(
            listed(json!({"totalResults": 1, "resources": [{"id": "a"}]})),
            Some(vec![json!({"id": "a"})])
        );
        assert_eq!(listed(json!([1, 2])), Some(vec![json!(1), json!(2)]));
        assert_eq!(listed(json!({"totalResults": 0})), None);
        assert_eq!(listed(json!("x")), None);
    }

    #[test]
    fn schemas_the_registry_refuses_are_noted() {
        let mut d = Discovery::default();
        let mut registry = SchemaRegistry::empty();
        d.read_schemas(
            &[
                json!({"id": "urn:example:schemas:Thing", "name": "Thing", "attributes": [
                    {"name": "size", "type": "integer", "multiValued": false, "required": false,
                     "mutability": "readWrite", "returned": "default", "uniqueness": "none",
                     "caseExact": false}
                ]}),
                json!({"id": "urn:example:broken", "attributes": [{"type": "nonsense"}]}),
            ],
            &mut registry,
        );
        assert_eq!(d.schemas, vec!["urn:example:schemas:Thing".to_owned()]);
        assert!(registry.contains("urn:example:schemas:Thing"));
        assert!(d.notes[0].contains("urn:example:broken"), "{:?}", d.notes);
    }
}
