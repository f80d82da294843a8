//! The read-only discovery documents (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas`. They advertise exactly what the server does:
//!
//! ```json
//! {"patch":{"supported":true},"bulk":{"supported":false,"maxOperations":0,"maxPayloadSize":0},
//!  "filter":{"supported":true,"maxResults":1000},"sort":{"supported":true},"etag":{"supported":true}}
//! ```

use crate::scim::kind::ObjectKind;
use crate::scim::schema::{all_schemas, LIST_URN, SPC_URN};
use serde_json::{json, Value};

/// Largest page a list or search returns (`filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;

pub fn service_provider_config(base_url: &str, bearer: bool) -> Value {
    let schemes = if bearer {
        json!([{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the bearer token given to `scimulator serve --token`.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }])
    } else {
        json!([])
    };
    json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://www.rfc-editor.org/info/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": schemes,
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub fn resource_types(base_url: &str) -> Vec<Value> {
    [ObjectKind::User, ObjectKind::Group]
        .iter()
        .map(|k| k.rt().to_json(base_url))
        .collect()
}

pub fn resource_type(base_url: &str, id: &str) -> Option<Value> {
    [ObjectKind::User, ObjectKind::Group]
        .iter()
        .find(|k| k.rt().name.eq_ignore_ascii_case(id))
        .map(|k| k.rt().to_json(base_url))
}

pub fn schemas(base_url: &str) -> Vec<Value> {
    all_schemas().iter().map(|s| s.to_json(base_url)).collect()
}

pub fn schema(base_url: &str, id: &str) -> Option<Value> {
    all_schemas()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| s.to_json(base_url))
}
