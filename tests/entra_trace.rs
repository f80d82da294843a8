//! Acceptance 3 of `scimulator run`: the requests the bundled Cisco-guide scenario sends match,
//! one by one, the shapes of `entra.md` §2.1–§2.4, and the lifecycle scenarios show both
//! dialects of §4.
//!
//! Each test runs the real binary with `--report DIR` and reads `DIR/report.json`. One test also
//! puts a recording proxy between the binary and the built-in server, so that what report.json
//! says was sent is checked against what went over the wire.
//!
//! Sources (resolved in entra.md §0):
//! - T  https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
//! - C  https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
//! - https://github.com/MicrosoftDocs/azure-docs/issues/94189 (probe, query encoding, GET media type)
//! - https://github.com/MicrosoftDocs/azure-docs/issues/12728 (POST Content-Type)

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ADSCIM_GROUP_URN: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// §1: POST and PATCH bodies (https://github.com/MicrosoftDocs/azure-docs/issues/12728).
const BODY_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";

// ------------------------------------------------------------------------------------ running

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(name: &str) -> PathBuf {
    manifest_dir().join("scenarios/entra").join(name)
}

/// `scimulator run ARGS...` from the crate root, no token from the environment, no colour.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .arg("run")
        .args(args)
        .arg("--no-color")
        .current_dir(manifest_dir())
        .env_remove("SCIM_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("the scimulator binary runs")
}

/// Runs one scenario against the built-in server (or `extra` args) and returns the scenario's
/// entry of report.json and the whole report.
fn run_report(file: &Path, extra: &[&str]) -> (Value, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        file.to_str().expect("utf-8 path"),
        "--report",
        dir.path().to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "scimulator run {args:?} must pass\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("report.json is JSON");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 1, "one scenario file, one scenario");
    (scenarios[0].clone(), report)
}

// ------------------------------------------------------------------------------------ reading

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .expect("the query decodes to UTF-8")
        .into_owned()
}

/// The query parameters of an exchange path, in order, raw (still encoded).
fn raw_query(path: &str) -> Vec<(String, String)> {
    let Some((_, q)) = path.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn header<'a>(x: &'a Value, name: &str) -> Option<&'a str> {
    x["request_headers"]
        .as_array()
        .expect("request_headers")
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

fn describe(x: &Value) -> String {
    format!(
        "exchange #{} {} {}\nheaders: {}\nbody: {}",
        x["id"],
        x["method"].as_str().unwrap_or("?"),
        x["path"].as_str().unwrap_or("?"),
        x["request_headers"],
        x.get("request_body").unwrap_or(&Value::Null)
    )
}

/// `<method> /<endpoint>` of every exchange (no id, no query), for readable order assertions.
fn trace(exchanges: &[Value]) -> Vec<String> {
    exchanges
        .iter()
        .map(|x| {
            let path = x["path"].as_str().unwrap_or("");
            let endpoint = path
                .trim_start_matches('/')
                .split(['/', '?'])
                .next()
                .unwrap_or("");
            format!("{} /{endpoint}", x["method"].as_str().unwrap_or(""))
        })
        .collect()
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && uuid::Uuid::parse_str(s).is_ok()
        && s.char_indices()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'))
}

/// Every value in `v`, recursively, is not `null` (Entra never sends nulls: §2.3, [K][A]).
fn assert_no_nulls(v: &Value, at: &str, ctx: &str) {
    match v {
        Value::Null => panic!("a null at {at}: Entra never provisions nulls (§2.3)\n{ctx}"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls(x, &format!("{at}[{i}]"), ctx)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| assert_no_nulls(x, &format!("{at}.{k}"), ctx)),
        _ => {}
    }
}

/// A GET as Entra sends it: no body, no Content-Type, no SCIM media type in Accept
/// (https://github.com/MicrosoftDocs/azure-docs/issues/94189), the bearer token redacted.
#[track_caller]
fn assert_entra_get(x: &Value) {
    let ctx = describe(x);
    assert_eq!(x["method"], "GET", "{ctx}");
    assert!(x.get("request_body").is_none(), "a GET has no body\n{ctx}");
    assert_eq!(
        header(x, "Content-Type"),
        None,
        "a GET carries no Content-Type\n{ctx}"
    );
    assert!(
        !header(x, "Accept").is_some_and(|a| a.contains("scim")),
        "Entra's GETs carry no SCIM media type (issue 94189)\n{ctx}"
    );
    assert_eq!(header(x, "Authorization"), Some("Bearer ***"), "{ctx}");
}

/// A POST or PATCH as Entra sends it (§1).
#[track_caller]
fn assert_entra_write(x: &Value, method: &str) {
    let ctx = describe(x);
    assert_eq!(x["method"], method, "{ctx}");
    assert_eq!(
        header(x, "Content-Type"),
        Some(BODY_CONTENT_TYPE),
        "§1: Content-Type of a body Entra sends\n{ctx}"
    );
    assert_eq!(header(x, "Authorization"), Some("Bearer ***"), "{ctx}");
    assert!(x["request_body"].is_object(), "a JSON body\n{ctx}");
}

#[track_caller]
fn assert_status_2xx(x: &Value, status: u64) {
    assert_eq!(
        x["status"].as_u64(),
        Some(status),
        "the built-in server's answer\n{}\nresponse: {}",
        describe(x),
        x.get("response_body").unwrap_or(&Value::Null)
    );
}

/// The matching lookup `GET /<endpoint>?<params>filter=<attr>+eq+%22<value>%22`, form-encoded
/// (space `+`, quote `%22`: §1). Returns the decoded value.
#[track_caller]
fn assert_lookup(x: &Value, endpoint: &str, attr: &str, leading: &[(&str, &str)]) -> String {
    assert_entra_get(x);
    let ctx = describe(x);
    let path = str_at(x, "path");
    assert!(
        path.starts_with(&format!("/{endpoint}?")),
        "GET /{endpoint}?...\n{ctx}"
    );
    assert!(
        !path.contains(' ') && !path.contains('"'),
        "the query is encoded: no raw space or quote\n{ctx}"
    );
    let params = raw_query(path);
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    let mut want: Vec<&str> = leading.iter().map(|(k, _)| *k).collect();
    want.push("filter");
    assert_eq!(names, want, "query parameters, in Entra's order\n{ctx}");
    for ((k, v), (wk, wv)) in params.iter().zip(leading) {
        assert_eq!((k.as_str(), v.as_str()), (*wk, *wv), "{ctx}");
    }
    let raw_filter = &params.last().expect("filter").1;
    let prefix = format!("{attr}+eq+%22");
    assert!(
        raw_filter.starts_with(&prefix) && raw_filter.ends_with("%22"),
        "filter={attr}+eq+%22<value>%22 (space as +, quotes as %22: issue 94189)\n{ctx}"
    );
    let decoded = form_decode(raw_filter);
    let value = decoded
        .strip_prefix(&format!("{attr} eq \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("filter decodes to {attr} eq \"...\": {decoded}\n{ctx}"));
    assert!(!value.contains('"'), "{ctx}");
    value.to_string()
}

/// A lookup answered with an empty ListResponse (the target starts empty).
#[track_caller]
fn assert_not_found(x: &Value) {
    assert_status_2xx(x, 200);
    let body = &x["response_body"];
    assert_eq!(body["schemas"], json!([LIST_URN]), "{}", describe(x));
    assert_eq!(body["totalResults"], 0, "{}", describe(x));
}

/// The `id` a POST's 201 answer returned.
#[track_caller]
fn created_id(x: &Value) -> String {
    assert_status_2xx(x, 201);
    str_at(&x["response_body"], "id").to_string()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `POST /Users` as in §2.3 2a: returns the body.
#[track_caller]
fn assert_user_post<'a>(x: &'a Value, user_name: &str) -> &'a Value {
    assert_entra_write(x, "POST");
    let ctx = describe(x);
    assert_eq!(x["path"], "/Users", "{ctx}");
    let body = &x["request_body"];
    assert_no_nulls(body, "$", &ctx);
    let schemas: Vec<&str> = body["schemas"]
        .as_array()
        .unwrap_or_else(|| panic!("schemas is an array\n{ctx}"))
        .iter()
        .map(|s| s.as_str().expect("schema URN"))
        .collect();
    assert!(
        schemas.contains(&USER_URN),
        "schemas has the core User URN\n{ctx}"
    );
    // Microsoft's sample POST (entra.md §2a, T):
    // {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
    //             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], …}
    // lists both URNs even though it sends no enterprise attribute.
    assert_eq!(
        schemas,
        [USER_URN, ENTERPRISE_URN],
        "the core and the enterprise User URN, as in Microsoft's sample (§2.3 2a)\n{ctx}"
    );
    assert_eq!(
        body["userName"], user_name,
        "the POST creates the userName it looked up\n{ctx}"
    );
    assert_eq!(
        body["active"],
        Value::Bool(true),
        "`active` is a JSON boolean in POST (§2.3 2a)\n{ctx}"
    );
    assert_eq!(
        body["meta"],
        json!({"resourceType": "User"}),
        "§2.3 2a sends meta\n{ctx}"
    );
    assert_eq!(body["roles"], json!([]), "§2.3 2a sends roles: []\n{ctx}");
    assert!(
        body["externalId"].as_str().is_some_and(|s| !s.is_empty()),
        "externalId ← mailNickname (§5)\n{ctx}"
    );
    for forbidden in ["id", "groups", "members", "password"] {
        assert!(
            body.get(forbidden).is_none(),
            "a create carries no `{forbidden}`\n{ctx}"
        );
    }
    body
}

/// `POST /Groups` as in §2.4: schemas exactly core + ADSCIM, externalId, displayName, meta, and
/// no members.
#[track_caller]
fn assert_group_post(x: &Value, display_name: &str) {
    assert_entra_write(x, "POST");
    let ctx = describe(x);
    assert_eq!(x["path"], "/Groups", "{ctx}");
    let body = &x["request_body"];
    assert_no_nulls(body, "$", &ctx);
    assert_eq!(
        body["schemas"],
        json!([GROUP_URN, ADSCIM_GROUP_URN]),
        "§2.4: the group schemas, in this order\n{ctx}"
    );
    assert_eq!(
        body["displayName"], display_name,
        "the POST creates the displayName it looked up\n{ctx}"
    );
    assert!(
        body["externalId"].as_str().is_some_and(is_guid),
        "§2.4: externalId ← objectId, a GUID\n{ctx}"
    );
    assert_eq!(body["meta"], json!({"resourceType": "Group"}), "{ctx}");
    assert!(
        body.get("members").is_none(),
        "§2.4: groups are created without members\n{ctx}"
    );
    assert_eq!(
        keys(body),
        set(&["schemas", "externalId", "displayName", "meta"]),
        "§2.4: the group POST body\n{ctx}"
    );
}

/// `PATCH /Groups/{id}` adding `members` (§2.4) with `op` spelled `op_name`; returns the member
/// ids, checking each appears once as `{"$ref":null,"value":id}`.
#[track_caller]
fn assert_member_add(x: &Value, group_id: &str, op_name: &str) -> BTreeSet<String> {
    assert_entra_write(x, "PATCH");
    let ctx = describe(x);
    assert_eq!(
        str_at(x, "path"),
        format!("/Groups/{group_id}"),
        "the PATCH goes to the id the group's POST returned\n{ctx}"
    );
    let body = &x["request_body"];
    assert_eq!(keys(body), set(&["schemas", "Operations"]), "{ctx}");
    assert_eq!(body["schemas"], json!([PATCH_URN]), "{ctx}");
    let ops = body["Operations"].as_array().expect("Operations");
    assert_eq!(ops.len(), 1, "one Add operation\n{ctx}");
    let op = &ops[0];
    assert_eq!(keys(op), set(&["op", "path", "value"]), "{ctx}");
    assert_eq!(op["op"], op_name, "op spelling\n{ctx}");
    assert_eq!(op["path"], "members", "{ctx}");
    let values = op["value"].as_array().expect("value is an array");
    let mut ids = BTreeSet::new();
    for v in values {
        assert_eq!(keys(v), set(&["$ref", "value"]), "{ctx}");
        assert_eq!(v["$ref"], Value::Null, "§2.4: \"$ref\":null\n{ctx}");
        let id = str_at(v, "value").to_string();
        assert!(ids.insert(id.clone()), "member {id} sent twice\n{ctx}");
    }
    ids
}

// ------------------------------------------------------------------------------------ §2.1–§2.4

/// The whole trace of scenarios/entra/cisco-guide.yaml, request by request.
#[test]
fn cisco_guide_sends_the_entra_requests_one_by_one() {
    let (s, report) = run_report(&scenario("cisco-guide.yaml"), &[]);
    let run_id = str_at(&report, "run_id").to_string();
    assert_eq!(s["outcome"], "passed");
    // Entra's requests only: the harness's own read-back and clean-up are marked as such.
    let xs: Vec<Value> = s["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .filter(|x| x["harness"] != true)
        .cloned()
        .collect();

    // The exact order: probe; per user match then create; per group lookup then create; then
    // the membership PATCHes (users and groups first, then memberships: §2.4, [H]).
    assert_eq!(
        trace(&xs),
        [
            "GET /Users",    // §2.1/§2.2 probe
            "GET /Users",    // §2.3 match Test User
            "POST /Users",   // §2.3 create Test User
            "GET /Users",    // §2.3 match Josue
            "POST /Users",   // §2.3 create Josue
            "GET /Groups",   // §2.4 lookup IT-Admins
            "POST /Groups",  // §2.4 create IT-Admins
            "GET /Groups",   // §2.4 lookup IT-Cloud-Admins
            "POST /Groups",  // §2.4 create IT-Cloud-Admins
            "PATCH /Groups", // §2.4 members of IT-Admins
            "PATCH /Groups", // §2.4 members of IT-Cloud-Admins
        ],
        "the request trace of the initial cycle"
    );
    assert_eq!(xs.len(), 11, "11 requests: {:#?}", trace(&xs));
    for (i, x) in xs.iter().enumerate() {
        assert_eq!(x["id"], i as u64 + 1, "exchange ids in send order");
        assert_eq!(
            x["step"],
            2,
            "every request belongs to step 2, `cycle: initial`: {}",
            describe(x)
        );
    }
    let steps = s["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["exchanges"], json!([]), "assign sends nothing");
    assert_eq!(steps[2]["exchanges"], json!([]), "expect sends nothing");

    // §2.1/§2.2: the probe, a random GUID as userName.
    let probe = assert_lookup(&xs[0], "Users", "userName", &[]);
    assert!(
        is_guid(&probe),
        "§2.1: the probe filters on a bare random GUID, got {probe:?}"
    );
    assert_not_found(&xs[0]);

    // §2.3: Test User, then Josue (source order), each looked up by userName and created.
    let mut user_ids = Vec::new();
    for (i, (local, display, mail)) in [("test.user", "Test User", true), ("josue", "Josue", false)]
        .into_iter()
        .enumerate()
    {
        let (get, post) = (&xs[1 + 2 * i], &xs[2 + 2 * i]);
        let upn = assert_lookup(get, "Users", "userName", &[]);
        assert!(
            upn.starts_with(local) && upn.ends_with("@contoso.com") && upn.contains(&run_id),
            "userName ← userPrincipalName ({local}@contoso.com), scoped to run {run_id}: {upn}"
        );
        assert_not_found(get);
        let body = assert_user_post(post, &upn);
        let ctx = describe(post);
        assert!(
            str_at(body, "displayName").starts_with(display),
            "displayName ← displayName\n{ctx}"
        );
        if mail {
            // §2.3 2a / §5: the work email, primary.
            let emails = body["emails"].as_array().expect("emails");
            assert_eq!(emails.len(), 1, "{ctx}");
            let e = &emails[0];
            assert_eq!(keys(e), set(&["primary", "type", "value"]), "{ctx}");
            assert_eq!(e["primary"], Value::Bool(true), "{ctx}");
            assert_eq!(e["type"], "work", "{ctx}");
            let value = str_at(e, "value");
            assert!(
                value.starts_with("test.user") && value.ends_with("@contoso.com"),
                "emails[type eq \"work\"].value ← mail\n{ctx}"
            );
            assert_eq!(body["name"]["givenName"], "Test", "{ctx}");
            assert_eq!(body["name"]["familyName"], "User", "{ctx}");
        } else {
            assert!(
                body.get("emails").is_none() && body.get("name").is_none(),
                "Josue has no mail and no names: nothing is sent for them (no nulls)\n{ctx}"
            );
        }
        user_ids.push(created_id(post));
    }
    let (test_user_id, josue_id) = (user_ids[0].clone(), user_ids[1].clone());
    assert_ne!(test_user_id, josue_id);

    // §2.4: IT-Admins then IT-Cloud-Admins, each looked up (members excluded) and created
    // without members.
    let mut group_ids = Vec::new();
    for (i, name) in ["IT-Admins", "IT-Cloud-Admins"].into_iter().enumerate() {
        let (get, post) = (&xs[5 + 2 * i], &xs[6 + 2 * i]);
        let display = assert_lookup(
            get,
            "Groups",
            "displayName",
            &[("excludedAttributes", "members")],
        );
        assert!(
            display.starts_with(name) && display.contains(&run_id),
            "displayName ← displayName ({name}), scoped to run {run_id}: {display}"
        );
        assert_not_found(get);
        assert_group_post(post, &display);
        group_ids.push(created_id(post));
    }

    // §2.4: PATCH Add members, with the ids the user POSTs returned.
    let members = assert_member_add(&xs[9], &group_ids[0], "Add");
    assert_eq!(
        members,
        [test_user_id.clone(), josue_id.clone()].into(),
        "IT-Admins gets Test User and Josue, by their target ids\n{}",
        describe(&xs[9])
    );
    assert_status_2xx(&xs[9], 204);
    let members = assert_member_add(&xs[10], &group_ids[1], "Add");
    assert_eq!(
        members,
        [josue_id].into(),
        "IT-Cloud-Admins gets Josue, by his target id\n{}",
        describe(&xs[10])
    );
    assert_status_2xx(&xs[10], 204);

    // The provisioning log the guide shows: Create ×4 then Update ×2, from those exchanges.
    let log: Vec<(String, String, String, Value)> = s["provisioning_log"]
        .as_array()
        .expect("provisioning_log")
        .iter()
        .map(|e| {
            (
                str_at(e, "identity").to_string(),
                str_at(e, "action").to_string(),
                str_at(e, "status").to_string(),
                e["exchanges"].clone(),
            )
        })
        .collect();
    let entry = |who: &str, action: &str, xs: Value| {
        (
            who.to_string(),
            action.to_string(),
            "Success".to_string(),
            xs,
        )
    };
    assert_eq!(
        log,
        vec![
            entry("Test User", "Create", json!([2, 3])),
            entry("Josue", "Create", json!([4, 5])),
            entry("IT-Admins", "Create", json!([6, 7])),
            entry("IT-Cloud-Admins", "Create", json!([8, 9])),
            entry("IT-Admins", "Update", json!([10])),
            entry("IT-Cloud-Admins", "Update", json!([11])),
        ]
    );
}

// ------------------------------------------------------------------------------------ the wire

/// One request as the recording proxy received it.
#[derive(Debug, Clone)]
struct Wire {
    method: String,
    /// Path and query as received (`/scim/v2/Users?filter=...`).
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Wire>>>,
}

async fn forward(
    axum::extract::State(p): axum::extract::State<Proxy>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    p.log.lock().expect("log").push(Wire {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or("<binary>").to_string(),
                )
            })
            .collect(),
        body: body.to_vec(),
    });
    let mut rb = p
        .http
        .request(parts.method.clone(), format!("{}{path}", p.upstream));
    for (k, v) in &parts.headers {
        if k != axum::http::header::HOST && k != axum::http::header::CONTENT_LENGTH {
            rb = rb.header(k, v);
        }
    }
    let answer = rb
        .body(body.to_vec())
        .send()
        .await
        .expect("upstream answers");
    let mut out = axum::response::Response::builder().status(answer.status());
    for (k, v) in answer.headers() {
        if k == axum::http::header::CONTENT_TYPE || k == axum::http::header::RETRY_AFTER {
            out = out.header(k, v);
        }
    }
    let bytes = answer.bytes().await.expect("upstream body");
    out.body(axum::body::Body::from(bytes)).expect("response")
}

/// report.json's exchanges are what went over the wire: same requests, same order, same query
/// bytes, same body; the GETs carry no SCIM media type and the POST/PATCH bodies are
/// `application/scim+json; charset=utf-8` on the wire too. The harness's own requests (the
/// preflight, the read-back of `expect: state`, the clean-up) touch only the run's objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_exchanges_are_what_went_over_the_wire() {
    const TOKEN: &str = "wire-token";
    let server =
        scimulator::server::start(scimulator::server::ServerConfig::local().with_token(TOKEN))
            .await
            .expect("built-in server");
    let upstream = format!("http://{}", server.addr);
    let base_path = server
        .url
        .strip_prefix(&upstream)
        .expect("url = http://addr/base")
        .to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let proxy = Proxy {
        upstream,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        log: log.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy_url = format!("http://{}{base_path}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });

    let target = proxy_url.clone();
    let (s, _) = tokio::task::spawn_blocking(move || {
        run_report(
            &scenario("cisco-guide.yaml"),
            &["--target", &target, "--token", TOKEN],
        )
    })
    .await
    .expect("run");
    serving.abort();
    server.stop().await;

    let wire = log.lock().expect("log").clone();
    let xs = s["exchanges"].as_array().expect("exchanges");
    let strip = |w: &Wire| {
        w.path
            .strip_prefix(&base_path)
            .unwrap_or_else(|| panic!("under the base path: {}", w.path))
            .to_string()
    };

    // Before the cycle only the harness's preflight; it is not one of the IdP's exchanges.
    assert!(!wire.is_empty(), "the proxy saw the run");
    let first_idp = wire
        .iter()
        .position(|w| strip(w) == str_at(&xs[0], "path"))
        .expect("the probe crossed the proxy");
    assert!(
        first_idp <= 1,
        "at most the preflight before the cycle: {:#?}",
        &wire[..first_idp]
    );
    assert!(
        wire.len() >= first_idp + xs.len(),
        "every exchange crossed the proxy"
    );
    for (w, x) in wire[first_idp..].iter().zip(xs) {
        let ctx = format!("{}\nwire: {w:#?}", describe(x));
        assert_eq!(w.method, str_at(x, "method"), "{ctx}");
        assert_eq!(strip(w), str_at(x, "path"), "the query as sent\n{ctx}");
        assert_eq!(
            w.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{ctx}"
        );
        if x["harness"] == true {
            // The harness's own read-back and clean-up: recorded as sent, not Entra-shaped.
            continue;
        }
        assert!(
            !w.header("accept").is_some_and(|a| a.contains("scim")),
            "no SCIM media type in Accept (issue 94189)\n{ctx}"
        );
        if w.method == "GET" {
            assert!(w.body.is_empty(), "a GET has no body\n{ctx}");
            assert_eq!(w.header("content-type"), None, "{ctx}");
        } else {
            assert_eq!(w.header("content-type"), Some(BODY_CONTENT_TYPE), "{ctx}");
            let sent: Value = serde_json::from_slice(&w.body).expect("a JSON body");
            assert_eq!(&sent, &x["request_body"], "the body as sent\n{ctx}");
            // Key order as Entra writes it (schemas first).
            let text = String::from_utf8_lossy(&w.body);
            assert!(text.starts_with("{\"schemas\":"), "{ctx}");
        }
        // Every request header on the wire is in the report, except what the HTTP layer adds.
        for (k, v) in &w.headers {
            let transport = ["host", "content-length", "accept", "accept-encoding"];
            if transport.contains(&k.as_str()) || k == "authorization" {
                continue;
            }
            assert_eq!(
                header(x, k),
                Some(v.as_str()),
                "report.json lists the {k} header sent\n{ctx}"
            );
        }
    }

    // The harness's own requests: reads of the run's objects and their clean-up, nothing else.
    let ids: BTreeSet<String> = xs
        .iter()
        .filter(|x| x["method"] == "POST")
        .map(created_id)
        .collect();
    let preflight = &wire[..first_idp];
    // Every request that crossed the wire after the preflight is in the report, the harness's
    // own marked `harness`.
    assert_eq!(
        wire.len(),
        first_idp + xs.len(),
        "report.json records the harness's read-back and clean-up too"
    );
    let idp: Vec<&Value> = xs.iter().filter(|x| x["harness"] != true).collect();
    let after: Vec<&Wire> = wire[first_idp..]
        .iter()
        .zip(xs)
        .filter(|(_, x)| x["harness"] == true)
        .map(|(w, _)| w)
        .collect();
    assert!(!after.is_empty(), "read-back and clean-up are recorded");
    for w in preflight {
        assert_eq!(w.method, "GET", "preflight: {w:?}");
        assert!(strip(w).starts_with("/Users?filter="), "preflight: {w:?}");
    }
    let mut deleted = BTreeSet::new();
    for w in after {
        let path = strip(w);
        // Lookups by run-scoped identity find objects whose creation the run never saw
        // answered; they are reads, and name only this run's objects.
        if w.method == "GET"
            && (path.starts_with("/Users?filter=") || path.starts_with("/Groups?filter="))
        {
            let value = path
                .split("%22")
                .nth(1)
                .unwrap_or_else(|| panic!("a quoted value: {w:?}"));
            assert!(
                idp.iter().any(|x| x["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(&format!("%22{value}%22")))),
                "identity lookups name only objects the IdP itself looked up: {w:?}"
            );
            continue;
        }
        let id = path
            .strip_prefix("/Users/")
            .or_else(|| path.strip_prefix("/Groups/"))
            .unwrap_or_else(|| {
                panic!("the harness touches only /Users/{{id}} or /Groups/{{id}}: {w:?}")
            });
        assert!(ids.contains(id), "an object the run did not create: {w:?}");
        match w.method.as_str() {
            "GET" => {}
            "DELETE" => {
                deleted.insert(id.to_string());
            }
            _ => panic!("the harness only reads and deletes: {w:?}"),
        }
    }
    assert_eq!(
        deleted, ids,
        "without --keep the run deletes what it created"
    );
}

// ------------------------------------------------------------------------------------ §4

/// The PATCH exchanges a step sent, in order (with the GET by id that must precede each user
/// PATCH: §2.5).
fn step_exchanges<'a>(s: &'a Value, step_kind: &str, nth: usize) -> Vec<&'a Value> {
    let steps = s["steps"].as_array().expect("steps");
    let step = steps
        .iter()
        .filter(|st| st["kind"] == step_kind)
        .nth(nth)
        .unwrap_or_else(|| panic!("step {step_kind} #{nth}"));
    let index = step["index"].clone();
    s["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .filter(|x| x["step"] == index)
        .collect()
}

fn only<'a>(xs: &[&'a Value], method: &str, prefix: &str) -> &'a Value {
    let found: Vec<&&Value> = xs
        .iter()
        .filter(|x| x["method"] == method && str_at(x, "path").starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {method} {prefix}... in {:#?}",
        xs.iter().map(|x| describe(x)).collect::<Vec<_>>()
    );
    found[0]
}

struct Lifecycle {
    kim: String,
    lou: String,
    eng: String,
    initial_add: Value,
    update: Value,
    member_remove: Value,
    disable: Value,
    enable: Value,
}

/// Runs a lifecycle scenario and picks the requests §4 compares.
fn lifecycle(file: &str) -> Lifecycle {
    let (s, _) = run_report(&scenario(file), &[]);
    assert_eq!(s["outcome"], "passed");
    let initial = step_exchanges(&s, "cycle initial", 0);
    let posts: Vec<&&Value> = initial
        .iter()
        .filter(|x| x["method"] == "POST" && x["path"] == "/Users")
        .collect();
    assert_eq!(posts.len(), 2);
    let kim = created_id(posts[0]);
    let lou = created_id(posts[1]);
    assert!(str_at(&posts[0]["request_body"], "userName").starts_with("kim"));
    let eng = created_id(only(&initial, "POST", "/Groups"));
    let initial_add = only(&initial, "PATCH", "/Groups/").clone();

    let update_cycle = step_exchanges(&s, "cycle incremental", 0);
    let update = only(&update_cycle, "PATCH", "/Users/").clone();
    let member_remove = only(&update_cycle, "PATCH", "/Groups/").clone();
    let disable = only(
        &step_exchanges(&s, "cycle incremental", 1),
        "PATCH",
        "/Users/",
    )
    .clone();
    let enable = only(
        &step_exchanges(&s, "cycle incremental", 2),
        "PATCH",
        "/Users/",
    )
    .clone();

    // §2.5: each user PATCH goes to the id the POST returned, after a GET of that id.
    for (nth, patch) in [(0, &update), (1, &disable), (2, &enable)] {
        assert_eq!(
            str_at(patch, "path"),
            format!("/Users/{kim}"),
            "{}",
            describe(patch)
        );
        let cycle = step_exchanges(&s, "cycle incremental", nth);
        let at = cycle
            .iter()
            .position(|x| x["id"] == patch["id"])
            .expect("in its cycle");
        assert!(
            cycle[..at]
                .iter()
                .any(|x| x["method"] == "GET" && str_at(x, "path") == format!("/Users/{kim}")),
            "§2.5: GET /Users/{{id}} before the PATCH\n{}",
            describe(patch)
        );
        assert_entra_write(patch, "PATCH");
        assert_eq!(patch["request_body"]["schemas"], json!([PATCH_URN]));
    }
    assert_eq!(
        str_at(&member_remove, "path"),
        format!("/Groups/{eng}"),
        "{}",
        describe(&member_remove)
    );
    assert_entra_write(&member_remove, "PATCH");
    Lifecycle {
        kim,
        lou,
        eng,
        initial_add,
        update,
        member_remove,
        disable,
        enable,
    }
}

fn ops(x: &Value) -> Vec<Value> {
    x["request_body"]["Operations"]
        .as_array()
        .unwrap_or_else(|| panic!("Operations\n{}", describe(x)))
        .clone()
}

const EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
const WORK_EMAIL: &str = "emails[type eq \"work\"].value";

/// The attributes the update step changed (displayName, givenName, employeeId, mail), as target
/// paths; `name.formatted` may follow from givenName.
fn assert_updated_attributes(attrs: &BTreeSet<String>, ctx: &str) {
    for want in ["displayName", "name.givenName", EMPLOYEE_NUMBER, WORK_EMAIL] {
        assert!(attrs.contains(want), "{want} is updated\n{ctx}");
    }
    for a in attrs {
        assert!(
            [
                "displayName",
                "name.givenName",
                "name.formatted",
                EMPLOYEE_NUMBER,
                WORK_EMAIL
            ]
            .contains(&a.as_str()),
            "{a} did not change\n{ctx}"
        );
    }
}

/// §4, default column: PascalCase ops, `"False"`/`"True"` strings, one op per attribute with a
/// path, member Remove with `path: members` and a value array.
#[test]
fn default_dialect_matches_the_left_column_of_section_4() {
    let l = lifecycle("lifecycle-default-dialect.yaml");

    let members = assert_member_add(&l.initial_add, &l.eng, "Add");
    assert_eq!(members, [l.kim.clone(), l.lou.clone()].into());

    // One op per attribute, each with its own path, PascalCase.
    let ctx = describe(&l.update);
    let mut attrs = BTreeSet::new();
    for op in ops(&l.update) {
        assert_eq!(keys(&op), set(&["op", "path", "value"]), "{ctx}");
        assert!(
            ["Add", "Replace"].contains(&str_at(&op, "op")),
            "§4: PascalCase op, got {}\n{ctx}",
            op["op"]
        );
        let path = str_at(&op, "path").to_string();
        assert!(op["value"].is_string(), "{ctx}");
        assert!(attrs.insert(path.clone()), "{path} twice\n{ctx}");
    }
    assert_updated_attributes(&attrs, &ctx);
    let email_op = ops(&l.update)
        .into_iter()
        .find(|op| op["path"] == WORK_EMAIL)
        .expect("email op");
    assert!(str_at(&email_op, "value").starts_with("kim.lee"), "{ctx}");

    // Member Remove: path `members`, the id in a value array (§4; quirk 5).
    let ctx = describe(&l.member_remove);
    let remove = ops(&l.member_remove);
    assert_eq!(remove.len(), 1, "{ctx}");
    assert_eq!(keys(&remove[0]), set(&["op", "path", "value"]), "{ctx}");
    assert_eq!(remove[0]["op"], "Remove", "{ctx}");
    assert_eq!(remove[0]["path"], "members", "{ctx}");
    let values = remove[0]["value"].as_array().expect("a value array");
    assert_eq!(values.len(), 1, "{ctx}");
    assert_eq!(values[0]["value"], l.lou.as_str(), "Lou's target id\n{ctx}");
    for (k, v) in values[0].as_object().expect("object") {
        assert!(
            k == "value" || (k == "$ref" && v.is_null()),
            "{k} in a member value\n{ctx}"
        );
    }

    // Disable and re-enable: `active` as the strings "False" / "True" (§2.6, §4).
    assert_eq!(
        ops(&l.disable),
        vec![json!({"op": "Replace", "path": "active", "value": "False"})],
        "§4: disable in the default dialect\n{}",
        describe(&l.disable)
    );
    assert_eq!(
        ops(&l.enable),
        vec![json!({"op": "Replace", "path": "active", "value": "True"})],
        "§2.6: re-enable in the default dialect\n{}",
        describe(&l.enable)
    );
}

/// §4, `aadOptscim062020` column: lowercase ops, booleans, one path-less replace with dotted
/// keys for the attributes without a filter, filtered paths in their own op, member remove by a
/// `members[value eq "…"]` path without value.
#[test]
fn aadoptscim062020_dialect_matches_the_right_column_of_section_4() {
    let l = lifecycle("lifecycle-aadoptscim062020.yaml");

    let members = assert_member_add(&l.initial_add, &l.eng, "add");
    assert_eq!(members, [l.kim.clone(), l.lou.clone()].into());

    let ctx = describe(&l.update);
    let all = ops(&l.update);
    let pathless: Vec<&Value> = all.iter().filter(|op| op.get("path").is_none()).collect();
    assert_eq!(
        pathless.len(),
        1,
        "§4: ONE path-less replace for the attributes without a filter\n{ctx}"
    );
    let p = pathless[0];
    assert_eq!(keys(p), set(&["op", "value"]), "{ctx}");
    assert_eq!(p["op"], "replace", "{ctx}");
    let dotted = p["value"].as_object().expect("the value is an object");
    assert!(
        dotted.contains_key("name.givenName") && !dotted.contains_key("name"),
        "§4: dotted keys (name.givenName), not a nested name object\n{ctx}"
    );
    assert_eq!(dotted["name.givenName"], "Kimberly", "{ctx}");
    assert!(
        dotted["displayName"]
            .as_str()
            .is_some_and(|d| d.starts_with("Kim Lee-Smith")),
        "{ctx}"
    );
    assert_eq!(
        dotted[EMPLOYEE_NUMBER], "1002",
        "§4: the enterprise attribute under its full URN key\n{ctx}"
    );
    let mut attrs: BTreeSet<String> = dotted.keys().cloned().collect();
    assert!(
        attrs.iter().all(|k| !k.contains('[')),
        "§4: filtered paths keep their own op\n{ctx}"
    );
    for op in all.iter().filter(|op| op.get("path").is_some()) {
        assert_eq!(keys(op), set(&["op", "path", "value"]), "{ctx}");
        assert!(
            ["add", "replace"].contains(&str_at(op, "op")),
            "§4: lowercase op, got {}\n{ctx}",
            op["op"]
        );
        let path = str_at(op, "path").to_string();
        assert!(
            path.contains('['),
            "only filtered paths outside the path-less op: {path}\n{ctx}"
        );
        assert!(attrs.insert(path.clone()), "{path} twice\n{ctx}");
    }
    assert_updated_attributes(&attrs, &ctx);

    // Member remove: a filter in the path, no value (§4, quirk 5).
    assert_eq!(
        ops(&l.member_remove),
        vec![json!({"op": "remove", "path": format!("members[value eq \"{}\"]", l.lou)})],
        "§4: member remove in the aadOptscim062020 dialect\n{}",
        describe(&l.member_remove)
    );

    // Disable and re-enable: `active` as a boolean, lowercase op. §4's table (from [C]):
    // {"op":"replace","path":"active","value":false}.
    assert_eq!(
        ops(&l.disable),
        vec![json!({"op": "replace", "path": "active", "value": false})],
        "§4: disable in the aadOptscim062020 dialect\n{}",
        describe(&l.disable)
    );
    assert_eq!(
        ops(&l.enable),
        vec![json!({"op": "replace", "path": "active", "value": true})],
        "re-enable in the aadOptscim062020 dialect\n{}",
        describe(&l.enable)
    );
}

/// The two dialects run the same lifecycle: they must write the same attributes, only shaped
/// differently.
#[test]
fn both_dialects_update_the_same_attributes() {
    fn updated(l: &Lifecycle) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for op in ops(&l.update) {
            match op.get("path").and_then(Value::as_str) {
                Some(p) => {
                    out.insert(p.to_string());
                }
                None => out.extend(keys(&op["value"])),
            }
        }
        out
    }
    let default = lifecycle("lifecycle-default-dialect.yaml");
    let flagged = lifecycle("lifecycle-aadoptscim062020.yaml");
    assert_eq!(updated(&default), updated(&flagged));
    let values = |l: &Lifecycle| -> Map<String, Value> {
        let mut m = Map::new();
        for op in ops(&l.update) {
            match op.get("path").and_then(Value::as_str) {
                Some(p) => {
                    m.insert(p.to_string(), op["value"].clone());
                }
                None => m.extend(op["value"].as_object().cloned().unwrap_or_default()),
            }
        }
        // Run-scoped names differ between the two runs: compare without the run id.
        m.remove("displayName");
        m.remove(WORK_EMAIL);
        m
    };
    assert_eq!(values(&default), values(&flagged));
}
