//! Schema validation of every answer a target gave: the JSON Schemas in `fixtures/schemas/`
//! (written from RFC 7643 §4–§7 and RFC 7644 §3.4.2, §3.5.2, §3.12), embedded and compiled once.
//! They are draft-07 documents: a validator of a draft 2020-12 document keeps that draft's
//! meta-schemas resolved, and the nine of them held 63 MB for the process's life, more than
//! a 10,000-user run's own data; draft-07 has every keyword they use (`if`, `const`,
//! `contains`).
//! Which schema applies follows from the exchange's method, path and status:
//!
//! ```text
//! GET /Users/2819c223 → 200 {"schemas":[…User],"id":"2819c223","userName":"bjensen","active":"yes"}
//!   ⇒ Violation { instance_path: "/active", schema: User, message: "\"yes\" is not of type \"boolean\"" }
//! ```
//!
//! Each violation becomes a finding (`RFC 7643/7644: User response schema`, source
//! `RFC 7643 §4.1`); the runner adds them to every scenario ([`findings`]).

use crate::report::model::{Exchange, Finding, LoggedBody, Severity};
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;
use std::sync::LazyLock;

const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// One of the bundled schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaName {
    User,
    EnterpriseUser,
    Group,
    ListResponse,
    Error,
    PatchOp,
    ServiceProviderConfig,
    ResourceType,
    Schema,
}

const ALL: [SchemaName; 9] = [
    SchemaName::User,
    SchemaName::EnterpriseUser,
    SchemaName::Group,
    SchemaName::ListResponse,
    SchemaName::Error,
    SchemaName::PatchOp,
    SchemaName::ServiceProviderConfig,
    SchemaName::ResourceType,
    SchemaName::Schema,
];

impl SchemaName {
    /// The file stem in `fixtures/schemas/`: `User`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaName::User => "User",
            SchemaName::EnterpriseUser => "EnterpriseUser",
            SchemaName::Group => "Group",
            SchemaName::ListResponse => "ListResponse",
            SchemaName::Error => "Error",
            SchemaName::PatchOp => "PatchOp",
            SchemaName::ServiceProviderConfig => "ServiceProviderConfig",
            SchemaName::ResourceType => "ResourceType",
            SchemaName::Schema => "Schema",
        }
    }

    /// The RFC section the schema is written from.
    pub fn source(self) -> &'static str {
        match self {
            SchemaName::User => "RFC 7643 §4.1",
            SchemaName::EnterpriseUser => "RFC 7643 §4.3",
            SchemaName::Group => "RFC 7643 §4.2",
            SchemaName::ListResponse => "RFC 7644 §3.4.2",
            SchemaName::Error => "RFC 7644 §3.12",
            SchemaName::PatchOp => "RFC 7644 §3.5.2",
            SchemaName::ServiceProviderConfig => "RFC 7643 §5",
            SchemaName::ResourceType => "RFC 7643 §6",
            SchemaName::Schema => "RFC 7643 §7",
        }
    }

    /// The schema document.
    pub fn text(self) -> &'static str {
        match self {
            SchemaName::User => include_str!("../fixtures/schemas/User.json"),
            SchemaName::EnterpriseUser => include_str!("../fixtures/schemas/EnterpriseUser.json"),
            SchemaName::Group => include_str!("../fixtures/schemas/Group.json"),
            SchemaName::ListResponse => include_str!("../fixtures/schemas/ListResponse.json"),
            SchemaName::Error => include_str!("../fixtures/schemas/Error.json"),
            SchemaName::PatchOp => include_str!("../fixtures/schemas/PatchOp.json"),
            SchemaName::ServiceProviderConfig => {
                include_str!("../fixtures/schemas/ServiceProviderConfig.json")
            }
            SchemaName::ResourceType => include_str!("../fixtures/schemas/ResourceType.json"),
            SchemaName::Schema => include_str!("../fixtures/schemas/Schema.json"),
        }
    }

    fn validator(self) -> &'static Validator {
        static VALIDATORS: LazyLock<Vec<Validator>> = LazyLock::new(|| {
            ALL.iter()
                .map(|s| {
                    let doc: Value = serde_json::from_str(s.text())
                        .unwrap_or_else(|e| panic!("fixtures/schemas/{}.json: {e}", s.name()));
                    jsonschema::validator_for(&doc)
                        .unwrap_or_else(|e| panic!("fixtures/schemas/{}.json: {e}", s.name()))
                })
                .collect()
        });
        let at = ALL.iter().position(|s| *s == self).expect("listed in ALL");
        &VALIDATORS[at]
    }
}

/// One way an answer breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON Pointer into the response body (`/Resources/0/emails/0/primary`; empty for the
    /// whole body).
    pub instance_path: String,
    pub schema: SchemaName,
    pub message: String,
    /// MUST, but for deviations the RFC tolerates in practice (an integer Error `status`).
    pub severity: Severity,
}

/// Checks `instance` against `schema`; `prefix` is the pointer of `instance` in the body.
/// `partial`: the client asked for a subset of attributes (`attributes`/`excludedAttributes`),
/// so only attributes returned "always" (`schemas`, `id`) are still required.
pub fn validate_value(
    schema: SchemaName,
    instance: &Value,
    prefix: &str,
    partial: bool,
) -> Vec<Violation> {
    // RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the case of a
    // multi-valued attribute) SHALL be considered to be equivalent in "state"": a member
    // whose value is `null` is validated as absent (so `"externalId": null` breaks no type,
    // while `"userName": null` is still a missing required attribute).
    let instance = &without_nulls(instance);
    schema
        .validator()
        .iter_errors(instance)
        .filter(|e| {
            !(partial
                && matches!(&e.kind, ValidationErrorKind::Required { property }
                    if !matches!(property.as_str(), Some("schemas" | "id"))))
        })
        .map(|e| {
            let instance_path = format!("{prefix}{}", e.instance_path.as_str());
            let mut severity = Severity::Must;
            let mut message = e.to_string();
            // RFC 7644 §3.12 writes status as a string ("400"); a number is a common deviation
            // that clients cope with.
            if schema == SchemaName::Error
                && e.instance_path.as_str() == "/status"
                && e.instance.is_number()
            {
                severity = Severity::Should;
                message.push_str(" (RFC 7644 §3.12 gives status as a string, e.g. \"400\")");
            }
            Violation {
                instance_path,
                schema,
                message,
                severity,
            }
        })
        .collect()
}

/// `v` without the object members whose value is `null`, at any depth. Array items stay where
/// they are, so instance paths still point into the body as received.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// What a 2xx answer on an endpoint should be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    One(SchemaName),
    /// A ListResponse; its resources are of this type, or told by each one's `meta`/`schemas`.
    List(Option<SchemaName>),
}

impl Expect {
    fn schema(self) -> SchemaName {
        match self {
            Expect::One(s) => s,
            Expect::List(_) => SchemaName::ListResponse,
        }
    }
}

/// The schema violations of the answer `ex` records. Nothing for answers that did not arrive,
/// for 204 and other bodiless answers, for redirects, and for 2xx answers on endpoints this does
/// not know. Every 4xx/5xx with a body is an Error.
pub fn validate_exchange(ex: &Exchange) -> Vec<Violation> {
    let Some(status) = ex.status else {
        return vec![];
    };
    // Left out of the log (its budget was spent): nothing to judge.
    if let Some(LoggedBody::Omitted { .. }) = ex.response_body {
        return vec![];
    }
    if status >= 400 {
        return match &ex.response_body {
            None => vec![],
            Some(body) => validate_body(Expect::One(SchemaName::Error), &body.value(), false),
        };
    }
    if !(200..300).contains(&status) || status == 204 {
        return vec![];
    }
    let method = ex.method.to_ascii_uppercase();
    if method == "DELETE" {
        return vec![];
    }
    let (path, query) = ex.path.split_once('?').unwrap_or((&ex.path, ""));
    let Some(expect) = endpoint(&method, path) else {
        return vec![];
    };
    match &ex.response_body {
        // PATCH may answer 200 without a body; GET, POST and PUT return the resource
        // (RFC 7644 §3.3, §3.4.1, §3.5.1).
        None if method == "PATCH" => vec![],
        None => vec![Violation {
            instance_path: String::new(),
            schema: expect.schema(),
            message: format!(
                "no response body (a {} was expected)",
                expect.schema().name()
            ),
            severity: Severity::Must,
        }],
        Some(body) => validate_body(
            expect,
            &body.value(),
            asks_partial(
                query,
                ex.request_body.as_ref().map(LoggedBody::value).as_ref(),
            ),
        ),
    }
}

/// Schema findings for every answer the target itself gave: answers a client-side fault
/// injected (`status 500`, ...) are skipped, answers a `drop-response` fault hid from the IdP
/// are not (the server did send them).
pub fn findings(exchanges: &[Exchange]) -> Vec<Finding> {
    exchanges
        .iter()
        .filter(|ex| !ex.fault.as_deref().is_some_and(|f| f.starts_with("status")))
        .flat_map(|ex| {
            validate_exchange(ex).into_iter().map(|v| Finding {
                severity: v.severity,
                behaviour: format!("RFC 7643/7644: {} response schema", v.schema.name()),
                source: v.schema.source().to_owned(),
                inferred: false,
                message: format!(
                    "{}: {}",
                    if v.instance_path.is_empty() {
                        "(body)"
                    } else {
                        &v.instance_path
                    },
                    v.message
                ),
                exchange: Some(ex.id),
                step: ex.step,
                count: 1,
                examples: Vec::new(),
            })
        })
        .collect()
}

/// The endpoint a path names, whatever precedes it (`/scim/v2/Users/1` works as `/Users/1`).
fn endpoint(method: &str, path: &str) -> Option<Expect> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let known = |s: &&str| {
        [
            "users",
            "groups",
            "serviceproviderconfig",
            "serviceproviderconfigs",
            "resourcetypes",
            "schemas",
        ]
        .contains(&s.to_ascii_lowercase().as_str())
    };
    let Some(at) = segments.iter().position(known) else {
        // Root search (RFC 7644 §3.4.3): POST /.search answers a ListResponse of any type.
        return (segments.last() == Some(&".search") && method == "POST")
            .then_some(Expect::List(None));
    };
    let head = segments[at].to_ascii_lowercase();
    let rest = &segments[at + 1..];
    let resource = match head.as_str() {
        "users" => SchemaName::User,
        "groups" => SchemaName::Group,
        "serviceproviderconfig" | "serviceproviderconfigs" => {
            return rest
                .is_empty()
                .then_some(Expect::One(SchemaName::ServiceProviderConfig))
        }
        "resourcetypes" => SchemaName::ResourceType,
        _ => SchemaName::Schema,
    };
    match rest {
        [] if method == "GET" => Some(Expect::List(Some(resource))),
        [] if method == "POST" && matches!(resource, SchemaName::User | SchemaName::Group) => {
            Some(Expect::One(resource))
        }
        [search] if *search == ".search" && method == "POST" => Some(Expect::List(Some(resource))),
        [_id] if matches!(method, "GET" | "PUT" | "PATCH") => Some(Expect::One(resource)),
        _ => None,
    }
}

/// Whether the client asked for a subset of attributes, in the query or a `.search` body.
fn asks_partial(query: &str, request_body: Option<&Value>) -> bool {
    let in_query = query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        name.eq_ignore_ascii_case("attributes") || name.eq_ignore_ascii_case("excludedAttributes")
    });
    let in_body = request_body
        .and_then(Value::as_object)
        .is_some_and(|o| o.contains_key("attributes") || o.contains_key("excludedAttributes"));
    in_query || in_body
}

fn validate_body(expect: Expect, body: &Value, partial: bool) -> Vec<Violation> {
    // Only the first bytes were kept (branch `bounds`): nothing to judge; a body cut at
    // `--max-body` is already a failed answer.
    if crate::client::is_truncated(body) {
        return vec![];
    }
    // The client keeps a body that does not parse as JSON as a string.
    if let Value::String(_) = body {
        return vec![Violation {
            instance_path: String::new(),
            schema: expect.schema(),
            message: format!(
                "response body is not JSON (a {} was expected)",
                expect.schema().name()
            ),
            severity: Severity::Must,
        }];
    }
    match expect {
        Expect::One(schema) => validate_resource(schema, body, "", partial),
        Expect::List(kind) => {
            let mut out = validate_value(SchemaName::ListResponse, body, "", false);
            let resources = body.get("Resources").and_then(Value::as_array);
            for (i, resource) in resources.into_iter().flatten().enumerate() {
                if let Some(schema) = resource_kind(resource).or(kind) {
                    out.extend(validate_resource(
                        schema,
                        resource,
                        &format!("/Resources/{i}"),
                        partial,
                    ));
                }
            }
            out
        }
    }
}

/// A resource's type from its `meta.resourceType`, else its core schema URN.
fn resource_kind(resource: &Value) -> Option<SchemaName> {
    match resource
        .pointer("/meta/resourceType")
        .and_then(Value::as_str)
    {
        Some("User") => return Some(SchemaName::User),
        Some("Group") => return Some(SchemaName::Group),
        _ => {}
    }
    let schemas = resource.get("schemas").and_then(Value::as_array)?;
    if schemas.iter().any(|s| s.as_str() == Some(USER_URN)) {
        Some(SchemaName::User)
    } else if schemas.iter().any(|s| s.as_str() == Some(GROUP_URN)) {
        Some(SchemaName::Group)
    } else {
        None
    }
}

fn validate_resource(
    schema: SchemaName,
    body: &Value,
    prefix: &str,
    partial: bool,
) -> Vec<Violation> {
    let mut out = validate_value(schema, body, prefix, partial);
    if schema == SchemaName::User {
        if let Some(ext) = body.get(ENTERPRISE_URN).filter(|e| e.is_object()) {
            out.extend(validate_value(
                SchemaName::EnterpriseUser,
                ext,
                &format!(
                    "{prefix}/{}",
                    ENTERPRISE_URN.replace('~', "~0").replace('/', "~1")
                ),
                partial,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(method: &str, path: &str, status: u16, body: Option<Value>) -> Exchange {
        Exchange {
            id: 7,
            step: 2,
            method: method.to_owned().into(),
            path: path.into(),
            request_headers: Default::default(),
            request_body: None,
            status: Some(status),
            response_body: body.map(Into::into),
            duration_ms: 1.0,
            error: None,
            fault: None,
            harness: false,
        }
    }

    #[test]
    fn null_is_unassigned_but_a_null_required_attribute_is_still_missing() {
        let mut u = user();
        u["externalId"] = Value::Null;
        u["name"]["middleName"] = Value::Null;
        u["emails"][0]["display"] = Value::Null;
        u["title"] = Value::Null;
        assert_eq!(validate_value(SchemaName::User, &u, "", false), vec![]);
        let spc = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": null, "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 100}, "changePassword": {"supported": false},
            "sort": {"supported": false}, "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer",
                "description": "token", "specUri": null, "documentationUri": null}]});
        assert_eq!(
            validate_value(SchemaName::ServiceProviderConfig, &spc, "", false),
            vec![]
        );
        u["userName"] = Value::Null;
        let v = validate_value(SchemaName::User, &u, "", false);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("userName"), "{v:?}");
    }

    fn user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            ENTERPRISE_URN: {"department": "Tour Operations", "manager": {"value": "26118915"}},
            "x-custom": {"anything": 1},
            "meta": {"resourceType": "User", "created": "2011-08-01T21:32:44.882Z",
                     "location": "https://example.com/v2/Users/2819c223", "version": "W/\"1\""}
        })
    }

    fn list(resources: Vec<Value>) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources
        })
    }

    #[test]
    fn every_schema_compiles() {
        for s in ALL {
            let _ = s.validator();
        }
    }

    #[test]
    fn a_valid_user_passes() {
        let ex = exchange("GET", "/Users/2819c223", 200, Some(user()));
        assert_eq!(validate_exchange(&ex), vec![]);
        let ex = exchange("POST", "/Users", 201, Some(user()));
        assert_eq!(validate_exchange(&ex), vec![]);
    }

    #[test]
    fn active_as_a_string_is_a_violation_at_active() {
        let mut body = user();
        body["active"] = json!("yes");
        let v = validate_exchange(&exchange("GET", "/Users/2819c223", 200, Some(body)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/active");
        assert_eq!(v[0].schema, SchemaName::User);
        assert!(v[0].message.contains("boolean"), "{}", v[0].message);
    }

    #[test]
    fn violations_inside_a_list_carry_the_resource_path() {
        let mut bad = user();
        bad["emails"][0]["primary"] = json!("True");
        let body = list(vec![user(), bad]);
        let v = validate_exchange(&exchange(
            "GET",
            "/Users?filter=userName%20eq%20%22x%22",
            200,
            Some(body),
        ));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/Resources/1/emails/0/primary");
    }

    #[test]
    fn the_enterprise_extension_is_checked() {
        let mut body = user();
        body[ENTERPRISE_URN]["manager"] = json!("26118915");
        let v = validate_exchange(&exchange("PUT", "/Users/2819c223", 200, Some(body)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].schema, SchemaName::EnterpriseUser);
        assert_eq!(v[0].instance_path, format!("/{ENTERPRISE_URN}/manager"));
    }

    #[test]
    fn an_error_without_schemas_is_a_violation() {
        let body = json!({"status": "404", "detail": "not found"});
        let v = validate_exchange(&exchange("GET", "/Users/nope", 404, Some(body)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].schema, SchemaName::Error);
        assert_eq!(v[0].instance_path, "");
        assert!(v[0].message.contains("schemas"), "{}", v[0].message);
    }

    #[test]
    fn an_integer_error_status_is_a_should() {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": 409});
        let v = validate_exchange(&exchange("POST", "/Users", 409, Some(body)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/status");
        assert_eq!(v[0].severity, Severity::Should);
    }

    #[test]
    fn a_list_without_total_results_is_a_violation() {
        let mut body = list(vec![user()]);
        body.as_object_mut().unwrap().remove("totalResults");
        let v = validate_exchange(&exchange("GET", "/Users", 200, Some(body)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].schema, SchemaName::ListResponse);
        assert!(v[0].message.contains("totalResults"), "{}", v[0].message);
    }

    #[test]
    fn a_list_with_results_needs_resources_unless_count_was_zero() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 3});
        let v = validate_exchange(&exchange("GET", "/Groups", 200, Some(body.clone())));
        assert_eq!(v.len(), 1, "{v:?}");
        let mut empty_page = body;
        empty_page["itemsPerPage"] = json!(0);
        let v = validate_exchange(&exchange("GET", "/Groups?count=0", 200, Some(empty_page)));
        assert_eq!(v, vec![]);
    }

    #[test]
    fn attributes_lift_the_default_requirements() {
        let body = list(vec![
            json!({"schemas": [USER_URN], "id": "1", "emails": []}),
        ]);
        let ex = exchange("GET", "/Users?attributes=emails", 200, Some(body.clone()));
        assert_eq!(validate_exchange(&ex), vec![]);
        let ex = exchange("GET", "/Users", 200, Some(body));
        assert_eq!(validate_exchange(&ex).len(), 1);
    }

    #[test]
    fn non_json_and_empty_answers() {
        let text = Value::String("User already exists".into());
        let v = validate_exchange(&exchange("POST", "/Users", 409, Some(text.clone())));
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("not JSON"));
        let v = validate_exchange(&exchange("GET", "/Groups/1", 200, Some(text)));
        assert_eq!(v[0].schema, SchemaName::Group);
        assert_eq!(
            validate_exchange(&exchange("PATCH", "/Groups/1", 204, None)),
            vec![]
        );
        assert_eq!(
            validate_exchange(&exchange("DELETE", "/Users/1", 204, None)),
            vec![]
        );
        assert_eq!(
            validate_exchange(&exchange("GET", "/Users/1", 200, None)).len(),
            1
        );
    }

    #[test]
    fn discovery_endpoints() {
        let spc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true}, "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 200}, "changePassword": {"supported": false},
            "sort": {"supported": false}, "etag": {"supported": "no"}, "authenticationSchemes": []
        });
        let v = validate_exchange(&exchange("GET", "/ServiceProviderConfig", 200, Some(spc)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/etag/supported");
        let rt = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_URN,
            "schemaExtensions": [{"schema": ENTERPRISE_URN, "required": false}]});
        let mut rts = list(vec![rt.clone()]);
        assert_eq!(
            validate_exchange(&exchange("GET", "/ResourceTypes", 200, Some(rts.clone()))),
            vec![]
        );
        assert_eq!(
            validate_exchange(&exchange("GET", "/ResourceTypes/User", 200, Some(rt))),
            vec![]
        );
        rts["Resources"][0]["schemaExtensions"][0]["required"] = json!("false");
        let v = validate_exchange(&exchange("GET", "/ResourceTypes", 200, Some(rts)));
        assert_eq!(
            v[0].instance_path,
            "/Resources/0/schemaExtensions/0/required"
        );
        let schema = json!({"id": USER_URN, "name": "User", "attributes": [
            {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName", "type": "text"}]}]});
        let v = validate_exchange(&exchange(
            "GET",
            &format!("/Schemas/{USER_URN}"),
            200,
            Some(schema),
        ));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/attributes/0/subAttributes/0/type");
    }

    #[test]
    fn patch_op_accepts_any_case_and_needs_paths_for_remove() {
        let ok = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}, {"op": "remove", "path": "members[value eq \"1\"]"}]});
        assert_eq!(validate_value(SchemaName::PatchOp, &ok, "", false), vec![]);
        let bad = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove"}, {"op": "merge", "value": 1}]});
        let v = validate_value(SchemaName::PatchOp, &bad, "", false);
        assert!(
            v.iter().any(|v| v.instance_path == "/Operations/0"),
            "{v:?}"
        );
        assert!(
            v.iter().any(|v| v.instance_path == "/Operations/1/op"),
            "{v:?}"
        );
    }

    #[test]
    fn findings_skip_injected_answers() {
        let bad = json!({"status": "500"});
        let mut injected = exchange("PATCH", "/Groups/1", 500, Some(bad.clone()));
        injected.fault = Some("status 500".into());
        let real = exchange("PATCH", "/Groups/1", 500, Some(bad));
        let f = findings(&[injected, real]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].behaviour, "RFC 7643/7644: Error response schema");
        assert_eq!(f[0].source, "RFC 7644 §3.12");
        assert_eq!(f[0].exchange, Some(7));
        assert_eq!(f[0].step, 2);
        assert!(f[0].message.starts_with("(body): "), "{}", f[0].message);
    }
}
