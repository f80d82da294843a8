//! The probe groups. Each probe sends raw requests and asserts what RFC 7643/7644 require of
//! the answer, citing the section and its level (RFC 2119: MUST for MUST/SHALL/REQUIRED, SHOULD
//! for SHOULD/RECOMMENDED). A probe checks only objects it created, found by run-scoped names.

use super::schema::{get_path, merge, nested, unassigned};
use super::{got, may, must, should, Probe, Runner, SCIM_JSON};
use crate::client::Method;
use crate::client::{percent_encode, Request, Response};
use crate::probe::assertion::shown;
use crate::scim::id::segment;
use crate::scim::kind::ObjectKind;
use crate::scim::schema::{
    GROUP_URN, LIST_URN, PATCH_URN, RESOURCE_TYPE_URN, SCHEMA_URN, SPC_URN, USER_URN,
};
use serde_json::{json, Value};

/// The ids of a ListResponse's `Resources`.
fn ids(r: &Response) -> Vec<String> {
    r.body
        .as_ref()
        .and_then(|b| b["Resources"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn body(r: &Response) -> Value {
    r.body.clone().unwrap_or(Value::Null)
}

fn is_list(r: &Response) -> bool {
    body(r)["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == LIST_URN))
}

fn id_of(r: &Response) -> Option<String> {
    r.body
        .as_ref()
        .and_then(|b| b["id"].as_str())
        .map(str::to_string)
}

fn patch_ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

// ---------------------------------------------------------------------------------------------
// discovery: RFC 7644 §4, RFC 7643 §5–7

/// The shape of ServiceProviderConfig (RFC 7643 §5: patch, bulk, filter, changePassword, sort,
/// etag and authenticationSchemes are REQUIRED).
pub(super) fn spc_shape(p: &mut Probe, r: &Response) {
    if !p.status(must("RFC 7644 §4"), r, &[200]) {
        return;
    }
    let b = body(r);
    p.check(
        must("RFC 7643 §5"),
        b["schemas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == SPC_URN)),
        "schemas holds the ServiceProviderConfig URN",
        format!("got {}", shown(&b["schemas"])),
    );
    let missing: Vec<&str> = ["patch", "bulk", "filter", "changePassword", "sort", "etag"]
        .into_iter()
        .filter(|k| !b[*k]["supported"].is_boolean())
        .collect();
    p.check(
        must("RFC 7643 §5"),
        missing.is_empty(),
        "patch, bulk, filter, changePassword, sort and etag each have a boolean `supported`",
        format!("missing or not boolean: {missing:?}"),
    );
    p.check(
        must("RFC 7643 §5"),
        b["authenticationSchemes"].is_array(),
        "authenticationSchemes is an array",
        format!("got {}", shown(&b["authenticationSchemes"])),
    );
}

pub(super) async fn discovery(r: &mut Runner<'_>) {
    let mut p = Probe::new("discovery GET /ResourceTypes");
    let rt = r.get(&mut p, "/ResourceTypes").await;
    if p.status(must("RFC 7644 §4"), &rt, &[200]) {
        p.check(
            must("RFC 7644 §4"),
            is_list(&rt),
            "a ListResponse",
            format!("schemas {}", shown(&body(&rt)["schemas"])),
        );
        let user_rt = body(&rt)["Resources"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["schema"] == USER_URN).cloned());
        p.check(
            must("RFC 7643 §6"),
            user_rt.as_ref().is_some_and(|u| {
                u["endpoint"].is_string()
                    && u["name"].is_string()
                    && u["schemas"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == RESOURCE_TYPE_URN))
            }),
            "a User resource type with name, endpoint and the ResourceType schema URN",
            format!(
                "got {}",
                user_rt
                    .as_ref()
                    .map_or("no User resource type".into(), shown)
            ),
        );
    }
    r.finish(p);

    let mut p = Probe::new("discovery GET /Schemas");
    let s = r.get(&mut p, "/Schemas").await;
    if p.status(must("RFC 7644 §4"), &s, &[200]) {
        p.check(
            must("RFC 7644 §4"),
            is_list(&s),
            "a ListResponse",
            format!("schemas {}", shown(&body(&s)["schemas"])),
        );
        let user_schema = body(&s)["Resources"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == USER_URN).cloned());
        p.check(
            must("RFC 7643 §7"),
            user_schema
                .as_ref()
                .is_some_and(|u| u["attributes"].is_array()),
            "the User schema, with its attributes",
            format!(
                "got {}",
                user_schema.as_ref().map_or("no User schema".into(), shown)
            ),
        );
    }
    let one = r.get(&mut p, &format!("/Schemas/{USER_URN}")).await;
    if p.status(should("RFC 7644 §4"), &one, &[200]) {
        p.check(
            must("RFC 7643 §7"),
            body(&one)["id"] == USER_URN
                && body(&one)["schemas"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == SCHEMA_URN)),
            format!("GET /Schemas/{USER_URN} is that schema"),
            format!("got id {}", shown(&body(&one)["id"])),
        );
    }
    r.finish(p);

    // The discovery endpoints are read-only (RFC 7644 §4 defines GET only); a method an endpoint
    // does not support is 405 (RFC 7644 §3.12, RFC 7231 §6.5.5).
    let mut p = Probe::new("discovery POST to discovery endpoints is 405");
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        let resp = r
            .write(&mut p, Method::POST, path, json!({"schemas": [SPC_URN]}))
            .await;
        p.check(
            should("RFC 7644 §4, §3.12"),
            resp.status == Some(405),
            format!("POST {path} is 405 Method Not Allowed"),
            got(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new("discovery unknown ids are 404 SCIM Errors");
    let unknown = format!("rfc-{}-no-such-id", r.tag());
    for path in [
        format!("/Users/{}", segment(&unknown)),
        format!("/Groups/{}", segment(&unknown)),
        "/ResourceTypes/NoSuchType".to_string(),
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:NoSuchSchema".to_string(),
    ] {
        let resp = r.get(&mut p, &path).await;
        p.scim_error(must("RFC 7644 §3.12"), &resp, 404, None);
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// crud: RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6, §3.7

pub(super) async fn crud(r: &mut Runner<'_>) {
    let name = r.user_name("crud");
    let t = r.tag().to_string();
    // `kept`: set at creation, left out of the PUT; `changed`: changed by the PUT.
    let kept = r.declared().pick(true, &[]);
    let changed = r
        .declared()
        .pick(false, &[kept.as_deref().unwrap_or("")])
        .filter(|c| Some(c) != kept.as_ref());
    let kept_value = format!("rfc-{t}-kept");
    let mut extra = json!({});
    if let Some(k) = &kept {
        merge(&mut extra, nested(k, json!(kept_value)));
    }
    if let Some(c) = &changed {
        merge(&mut extra, nested(c, json!(format!("Rfc{t}crud"))));
    }
    let used = |a: &Option<String>| a.clone().unwrap_or_else(|| "none declared".into());
    let mut p = Probe::new("crud POST /Users is 201 with Location and id");
    p.note(format!(
        "attribute used: {} (probe attributes come from {})",
        used(&kept),
        if r.declared().from_server {
            "the server's /Schemas"
        } else {
            "the RFC 7643 core set: the server's /Schemas declares no User schema"
        }
    ));
    let body_sent = r.user(&name, extra);
    let created = r.create(&mut p, ObjectKind::User, body_sent).await;
    let id = id_of(&created);
    if p.status(must("RFC 7644 §3.3"), &created, &[201]) {
        let b = body(&created);
        p.check(
            must("RFC 7643 §3.1"),
            id.is_some(),
            "the answer carries the server-assigned `id`",
            format!("got {}", shown(&b["id"])),
        );
        let location = created.header("location").unwrap_or("").to_string();
        p.check(
            must("RFC 7644 §3.3"),
            !location.is_empty() && id.as_ref().is_some_and(|i| location.ends_with(i.as_str())),
            "a Location header with the new resource's URI",
            format!("got Location {location:?}"),
        );
        p.check(
            must("RFC 7644 §3.3"),
            b["meta"]["location"].is_string()
                && (location.is_empty() || b["meta"]["location"] == location.as_str()),
            "meta.location in the body, equal to Location",
            format!("got meta.location {}", shown(&b["meta"]["location"])),
        );
    }
    r.finish(p);
    let Some(id) = id else {
        let names: Vec<String> = [
            "crud GET /Users/{id}",
            "crud PUT replaces: an omitted attribute is gone",
            "crud DELETE then 404",
        ]
        .map(|n| format!("rfc {n}"))
        .to_vec();
        r.not_run(&names, &format!("POST /Users {}", got(&created)));
        return;
    };

    let mut p = Probe::new("crud GET /Users/{id}");
    p.note(format!("attribute used: {}", used(&kept)));
    let g = r.get(&mut p, &format!("/Users/{}", segment(&id))).await;
    let read = body(&g);
    if p.status(must("RFC 7644 §3.4.1"), &g, &[200]) {
        let k = kept.as_deref().map(|k| get_path(&read, k));
        p.check(
            must("RFC 7644 §3.4.1"),
            read["id"] == id.as_str()
                && read["userName"] == name.as_str()
                && k.as_ref().is_none_or(|v| *v == kept_value.as_str()),
            format!(
                "the resource as created (id, userName{})",
                kept.as_ref().map(|k| format!(", {k}")).unwrap_or_default()
            ),
            format!(
                "got id {}, userName {}{}",
                shown(&read["id"]),
                shown(&read["userName"]),
                k.map(|v| format!(", {} {}", used(&kept), shown(&v)))
                    .unwrap_or_default()
            ),
        );
    }
    r.finish(p);

    // RFC 7644 §3.5.1: "HTTP PUT is used to replace a resource's attributes"; provided values
    // "SHALL replace the existing attribute values"; for an omitted readWrite attribute "The
    // service provider MAY assume that any existing values are to be cleared, or the service
    // provider MAY assign a default value". Keeping the old value is neither, but the RFC's
    // only verb here is MAY, so that is the severity (IdPs that PUT, such as Okta's AIW apps,
    // rely on clearing: the IdP verdicts say so where it matters).
    let mut p = Probe::new("crud PUT replaces: an omitted attribute is gone");
    // The attribute to omit: one the server declares and returned.
    let omit = r
        .declared()
        .strings(true)
        .into_iter()
        .filter(|a| Some(a) != changed.as_ref())
        .find(|a| !unassigned(&get_path(&read, a)));
    let Some(omit) = omit else {
        p.not_run_because(
            "the user as read back holds no removable attribute the PUT could leave out",
        );
        r.finish(p);
        return crud_delete(r, &id, &name).await;
    };
    let old = get_path(&read, &omit);
    p.note(format!("attribute used: {omit} (omitted from the PUT)"));
    let replaced = format!("Rfc{t}replaced");
    let put_body = r.user(
        &name,
        changed
            .as_ref()
            .map_or(json!({}), |c| nested(c, json!(replaced))),
    );
    // The omitted attribute may be one the builder fills in (required): then nothing to test.
    if !unassigned(&get_path(&put_body, &omit)) {
        p.not_run_because(format!("{omit} is required, so a PUT cannot leave it out"));
        r.finish(p);
        return crud_delete(r, &id, &name).await;
    }
    let put = r
        .write(
            &mut p,
            Method::PUT,
            &format!("/Users/{}", segment(&id)),
            put_body,
        )
        .await;
    if p.status(must("RFC 7644 §3.5.1"), &put, &[200]) {
        let after = r.get(&mut p, &format!("/Users/{}", segment(&id))).await;
        let b = body(&after);
        if let Some(c) = &changed {
            p.check(
                must("RFC 7644 §3.5.1"),
                get_path(&b, c) == replaced.as_str(),
                format!("the new {c} is stored"),
                format!("got {}", shown(&get_path(&b, c))),
            );
        }
        let now = get_path(&b, &omit);
        p.check(
            may("RFC 7644 §3.5.1"),
            now != old,
            format!(
                "{omit}, omitted from the PUT, is cleared or given a default (the RFC lets the \
                 server do either)"
            ),
            format!("got {omit} {}: the old value was kept", shown(&now)),
        );
    }
    r.finish(p);
    crud_delete(r, &id, &name).await;
}

/// DELETE, then the user is gone for every operation and from query results (RFC 7644 §3.6:
/// the service provider "MUST return a 404 (Not Found) error code for all operations associated
/// with the previously deleted resource" and "MUST omit the resource from future query
/// results"); then the group CRUD and bulk probes.
async fn crud_delete(r: &mut Runner<'_>, id: &str, name: &str) {
    let mut p = Probe::new("crud DELETE then 404");
    let del = r
        .send(
            &mut p,
            Request::new(Method::DELETE, format!("/Users/{}", segment(id))),
        )
        .await;
    if p.status(must("RFC 7644 §3.6"), &del, &[204]) {
        r.forget(id);
        let again = r.get(&mut p, &format!("/Users/{}", segment(id))).await;
        p.scim_error(must("RFC 7644 §3.6"), &again, 404, None);
        let filter = format!("userName eq \"{name}\"");
        let listed = r
            .get(
                &mut p,
                &format!("/Users?filter={}", percent_encode(&filter)),
            )
            .await;
        if listed.status == Some(200) {
            p.check(
                must("RFC 7644 §3.6"),
                !ids(&listed).iter().any(|x| x == id),
                format!("`{filter}` no longer lists it"),
                format!("got ids {:?}", ids(&listed)),
            );
        }
    }
    r.finish(p);

    let mut p = Probe::new("crud POST, GET, DELETE /Groups");
    let gname = format!("rfc-{}-group", r.tag());
    let g = r
        .create(
            &mut p,
            ObjectKind::Group,
            json!({"schemas": [GROUP_URN], "displayName": gname}),
        )
        .await;
    if p.status(must("RFC 7644 §3.3"), &g, &[201]) {
        if let Some(gid) = id_of(&g) {
            let read = r.get(&mut p, &format!("/Groups/{}", segment(&gid))).await;
            p.check(
                must("RFC 7644 §3.4.1"),
                read.status == Some(200) && body(&read)["displayName"] == gname.as_str(),
                "GET /Groups/{id} is the group as created",
                format!(
                    "{}, displayName {}",
                    got(&read),
                    shown(&body(&read)["displayName"])
                ),
            );
            let del = r
                .send(
                    &mut p,
                    Request::new(Method::DELETE, format!("/Groups/{}", segment(&gid))),
                )
                .await;
            if p.status(must("RFC 7644 §3.6"), &del, &[204]) {
                r.forget(&gid);
            }
        }
    }
    r.finish(p);

    if !r.caps().bulk {
        r.skip(
            "crud POST /Bulk",
            "skipped: ServiceProviderConfig says bulk.supported is false",
        );
        return;
    }
    let mut p = Probe::new("crud POST /Bulk").claimed("bulk");
    let n = r.user_name("bulk");
    let data = r.user(&n, json!({}));
    let resp = r
        .write(
            &mut p,
            Method::POST,
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                   "Operations": [{"method": "POST", "path": "/Users", "bulkId": "rfc1",
                                   "data": data}]}),
        )
        .await;
    let op = body(&resp)["Operations"][0].clone();
    if let Some(loc) = op["location"].as_str() {
        if let Some(id) = loc.rsplit('/').next().filter(|_| op["status"] == "201") {
            r.remember_id(ObjectKind::User, id);
        }
    }
    if p.status(must("RFC 7644 §3.7"), &resp, &[200]) {
        p.check(
            must("RFC 7644 §3.7.3"),
            op["status"] == "201" && op["bulkId"] == "rfc1" && op["location"].is_string(),
            "the operation's status is \"201\", with its bulkId and location",
            format!("got {}", shown(&op)),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// filters: RFC 7644 §3.4.2.2; case rules from RFC 7643 §2.2, §3.1, §4.1.1; sorting §3.4.2.3.
// An operator the server answers with 400 invalidFilter is "not supported" (RFC 7644 §3.12),
// information and never a failure. Two probes run whatever ServiceProviderConfig says, because
// every IdP sends them: Entra's Test Connection filters on a random userName
// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
// and every IdP matches an account with `userName eq`. A server that ignores the filter answers
// with resources that do not match, and an IdP links the wrong account.

const FILTER_PROBES: [&str; 17] = [
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "and",
    "or",
    "not",
    "complex emails[type eq \"work\" and value co \"@\"]",
    "userName is case-insensitive",
    "externalId is case-exact",
    "sortBy userName descending",
];

const RANDOM_EQ: &str = "filter userName eq a random name finds nothing";

/// The resources of a ListResponse whose `userName` is not `want` (case-insensitively).
fn not_matching(r: &Response, want: &str) -> Vec<String> {
    body(r)["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| {
                    !x["userName"]
                        .as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(want))
                })
                .map(|x| {
                    format!(
                        "{} ({})",
                        x["id"].as_str().unwrap_or("?"),
                        x["userName"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A `userName eq` lookup probe: 200 with only matching resources, or an honest refusal.
async fn user_name_lookup(r: &mut Runner<'_>, p: &mut Probe, want: &str) -> Option<Response> {
    let filter = format!("userName eq \"{want}\"");
    let resp = r
        .get(p, &format!("/Users?filter={}", percent_encode(&filter)))
        .await;
    if p.refused_filter(&resp, &filter) {
        return None;
    }
    if !r.caps().filter
        && resp
            .status
            .is_some_and(|s| s == 501 || (400..500).contains(&s))
    {
        p.unsupported(
            format!(
                "ServiceProviderConfig says filter.supported is false and the server answered \
                 `{filter}` with {}",
                got(&resp)
            ),
            "RFC 7643 §5",
        );
        return None;
    }
    if !p.status(must("RFC 7644 §3.4.2.2"), &resp, &[200]) {
        return None;
    }
    let wrong = not_matching(&resp, want);
    p.check(
        must("RFC 7644 §3.4.2.2"),
        wrong.is_empty(),
        format!("every resource in the answer matches `{filter}`"),
        format!(
            "got {} resources that do not match (the filter was ignored?): {}",
            wrong.len(),
            wrong.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ),
    );
    Some(resp)
}

/// Page size and page limit of [`read_all`]: at most 1,000 resources are read.
const PAGE: usize = 100;
const MAX_PAGES: usize = 10;

/// Reads every page of `prefix` (`/Users?filter=...&`, ending in `?` or `&`): the first answer
/// (its status says whether the query was accepted), the ids in order, and whether all
/// `totalResults` were read within [`MAX_PAGES`]. So a probe needs only the operator it tests,
/// never a second one to narrow the answer down.
async fn read_all(
    r: &mut Runner<'_>,
    p: &mut Probe,
    prefix: &str,
) -> (Response, Vec<String>, bool) {
    let first = r
        .get(p, &format!("{prefix}startIndex=1&count={PAGE}"))
        .await;
    let mut all = ids(&first);
    let total = body(&first)["totalResults"].as_u64().unwrap_or(0) as usize;
    let mut page = 1;
    while first.status == Some(200) && all.len() < total && page < MAX_PAGES {
        let next = r
            .get(
                p,
                &format!("{prefix}startIndex={}&count={PAGE}", all.len() + 1),
            )
            .await;
        let got_ids = ids(&next);
        if next.status != Some(200) || got_ids.is_empty() {
            break;
        }
        all.extend(got_ids);
        page += 1;
    }
    let complete = all.len() >= total;
    (first, all, complete)
}

pub(super) async fn filters(r: &mut Runner<'_>) {
    let (a, b) = (r.user_name("a"), r.user_name("b"));
    let t = r.tag().to_string();
    let ext = format!("ExtA-{t}");
    // The attribute `pr` and `and` test, set on user a only.
    let attr = r.declared().pick(true, &["externalId"]);
    let has_ext = r.declared().has(&["externalId"]);
    let has_emails = r.declared().has(&["emails.type", "emails.value"]);
    let mut extra_a = json!({});
    if has_ext {
        extra_a["externalId"] = json!(ext);
    }
    if let Some(x) = &attr {
        merge(&mut extra_a, nested(x, json!("Engineer")));
    }
    if has_emails {
        extra_a["emails"] = json!([{"type": "work", "value": a, "primary": true}]);
    }
    let extra_b = if has_emails {
        json!({"emails": [{"type": "home", "value": b}]})
    } else {
        json!({})
    };
    let mut setup = Probe::new("filter set-up");
    let body_a = r.user(&a, extra_a);
    let body_b = r.user(&b, extra_b);
    let ida = r.fixture_user(&mut setup, body_a).await;
    let idb = r.fixture_user(&mut setup, body_b).await;

    // Whatever SPC says, and even when the set-up failed (other users may be there).
    let mut p = Probe::new(RANDOM_EQ);
    let nobody = uuid::Uuid::new_v4().to_string();
    p.note("as Entra ID's Test Connection sends it, with a random GUID");
    user_name_lookup(r, &mut p, &nobody).await;
    r.finish(p);

    let (ida, idb) = match (ida, idb) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(why), _) | (_, Err(why)) => {
            let names: Vec<String> = FILTER_PROBES
                .iter()
                .map(|op| format!("rfc filter {op}"))
                .collect();
            r.not_run(&names, &why);
            return;
        }
    };

    let mut p = Probe::new("filter eq");
    if let Some(resp) = user_name_lookup(r, &mut p, &a).await {
        p.check(
            must("RFC 7644 §3.4.2.2"),
            ids(&resp).contains(&ida) && !ids(&resp).contains(&idb),
            format!("`userName eq \"{a}\"` finds the probe's user a and not b"),
            format!("got ids {:?}", ids(&resp)),
        );
    }
    r.finish(p);

    if !r.caps().filter {
        for op in &FILTER_PROBES[1..] {
            r.skip(
                &format!("filter {op}"),
                "skipped: ServiceProviderConfig says filter.supported is false",
            );
        }
        return;
    }
    let scope = format!("userName sw \"rfc.{t}.\"");
    let upper = a.to_uppercase();
    // (probe, filter, which of the probe's users it must find: "a", "b"); None: the attribute
    // it needs is not declared. Each filter uses only the operator it tests (and `eq` inside
    // `and`, `or`, `not`): the whole answer is read, so nothing else is needed to narrow it.
    let on_attr = |f: &dyn Fn(&str) -> String| attr.as_deref().map(f);
    let cases: Vec<(&str, Option<String>, &[&str])> = vec![
        ("ne", Some(format!("userName ne \"{a}\"")), &["b"]),
        ("co", Some(format!("userName co \"{t}.b@\"")), &["b"]),
        ("sw", Some(scope.clone()), &["a", "b"]),
        (
            "ew",
            Some(format!("userName ew \"{t}.a@example.com\"")),
            &["a"],
        ),
        ("gt", Some(format!("userName gt \"{a}\"")), &["b"]),
        ("ge", Some(format!("userName ge \"{a}\"")), &["a", "b"]),
        ("lt", Some(format!("userName lt \"{b}\"")), &["a"]),
        ("le", Some(format!("userName le \"{a}\"")), &["a"]),
        ("pr", on_attr(&|x| format!("{x} pr")), &["a"]),
        (
            "and",
            on_attr(&|x| format!("userName eq \"{a}\" and {x} eq \"Engineer\"")),
            &["a"],
        ),
        (
            "or",
            Some(format!("userName eq \"{a}\" or userName eq \"{b}\"")),
            &["a", "b"],
        ),
        ("not", Some(format!("not (userName eq \"{a}\")")), &["b"]),
        (
            FILTER_PROBES[13],
            has_emails.then(|| "emails[type eq \"work\" and value co \"@\"]".to_string()),
            &["a"],
        ),
        (
            FILTER_PROBES[14],
            Some(format!("userName eq \"{upper}\"")),
            &["a"],
        ),
        (
            FILTER_PROBES[15],
            has_ext.then(|| format!("externalId eq \"{}\"", ext.to_lowercase())),
            &[],
        ),
    ];
    let label = |id: &String| if *id == ida { "a" } else { "b" };
    for (op, filter, want) in cases {
        let name = format!("filter {op}");
        let Some(filter) = filter else {
            let what = match op {
                "pr" | "and" => "a removable string attribute",
                "externalId is case-exact" => "externalId",
                _ => "emails with type and value",
            };
            r.skip_unsupported(
                &name,
                format!("the server's /Schemas declares no {what} for User"),
            );
            continue;
        };
        let mut p = Probe::new(&name).claimed("filter");
        if matches!(op, "pr" | "and") {
            p.note(format!("attribute used: {}", attr.as_deref().unwrap_or("")));
        }
        let section = match op {
            "userName is case-insensitive" => "RFC 7643 §4.1.1",
            "externalId is case-exact" => "RFC 7643 §3.1",
            _ => "RFC 7644 §3.4.2.2",
        };
        if op == "externalId is case-exact" {
            // The exact value finds the user first: otherwise "finds nothing" proves nothing.
            let exact_filter = format!("externalId eq \"{ext}\"");
            let exact = r
                .get(
                    &mut p,
                    &format!("/Users?filter={}", percent_encode(&exact_filter)),
                )
                .await;
            if p.refused_filter(&exact, &exact_filter) {
                r.finish(p);
                continue;
            }
            p.check(
                must("RFC 7644 §3.4.2.2"),
                exact.status == Some(200) && ids(&exact).contains(&ida),
                format!("externalId eq \"{ext}\" finds the user"),
                format!("{}, ids {:?}", got(&exact), ids(&exact)),
            );
        }
        let prefix = format!("/Users?filter={}&", percent_encode(&filter));
        let (resp, all, complete) = read_all(r, &mut p, &prefix).await;
        if p.refused_filter(&resp, &filter) {
            r.finish(p);
            continue;
        }
        if p.status(must("RFC 7644 §3.4.2.2"), &resp, &[200]) {
            let mut found: Vec<&str> = all
                .iter()
                .filter(|i| **i == ida || **i == idb)
                .map(label)
                .collect();
            found.sort_unstable();
            let unwanted = found.iter().any(|f| !want.contains(f));
            if complete || unwanted {
                p.check(
                    must(section),
                    found == want,
                    format!("`{filter}` finds exactly {want:?} of the probe's users"),
                    format!("got {found:?}"),
                );
            } else {
                p.not_run_because(format!(
                    "`{filter}` matches more than {} resources, more than the probe reads",
                    PAGE * MAX_PAGES
                ));
            }
        }
        r.finish(p);
    }

    if !r.caps().sort {
        r.skip(
            &format!("filter {}", FILTER_PROBES[16]),
            "skipped: ServiceProviderConfig says sort.supported is false",
        );
        return;
    }
    // No filter: the probe depends on sorting only.
    let mut p = Probe::new(&format!("filter {}", FILTER_PROBES[16])).claimed("sort");
    let (resp, all, _) = read_all(r, &mut p, "/Users?sortBy=userName&sortOrder=descending&").await;
    if p.status(must("RFC 7644 §3.4.2.3"), &resp, &[200]) {
        let order: Vec<&str> = all
            .iter()
            .filter(|i| **i == ida || **i == idb)
            .map(label)
            .collect();
        if order.len() == 2 {
            p.check(
                must("RFC 7644 §3.4.2.3"),
                order == ["b", "a"],
                "the users in descending userName order: b, a",
                format!("got {order:?}"),
            );
        } else {
            p.not_run_because(format!(
                "the probe's two users were not both among the first {} resources",
                PAGE * MAX_PAGES
            ));
        }
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// pagination: RFC 7644 §3.4.2.4. The probes page through their own three users, found with
// `eq` on a value they share (every IdP needs `eq`); when the server supports no such filter,
// through the whole /Users list, checking the page arithmetic against its totalResults.

pub(super) async fn pagination(r: &mut Runner<'_>) {
    let names = [
        "count=0 returns totalResults only",
        "negative count is read as 0",
        "startIndex past the end is an empty page",
        "pages are stable and cover every result once",
        "startIndex 0 is read as 1",
    ];
    let t = r.tag().to_string();
    // A string attribute three users can share (externalId is often unique).
    let shared_attr = r
        .declared()
        .strings(false)
        .into_iter()
        .find(|a| !a.eq_ignore_ascii_case("externalId"));
    let shared = format!(
        "Rfcpage{}",
        t.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let mut setup = Probe::new("pagination set-up");
    let mut mine = Vec::new();
    for i in 1..=3 {
        let n = r.user_name(&format!("p{i}"));
        let extra = shared_attr
            .as_deref()
            .map_or(json!({}), |a| nested(a, json!(shared)));
        let body = r.user(&n, extra);
        match r.fixture_user(&mut setup, body).await {
            Ok(id) => mine.push(id),
            Err(why) => {
                let names: Vec<String> = names
                    .iter()
                    .map(|n| format!("rfc pagination {n}"))
                    .collect();
                r.not_run(&names, &why);
                return;
            }
        }
    }
    // Scoped to the three users when `eq` on the shared attribute works; else the whole list.
    let mut scope_note = String::from(
        "scope: the whole /Users list (the server supports no `eq` filter on an attribute three \
         users can share), page arithmetic checked against its totalResults",
    );
    let mut base = "/Users?".to_string();
    let mut total: Option<u64> = None;
    if let (true, Some(attr)) = (r.caps().filter, &shared_attr) {
        let filter = format!("{attr} eq \"{shared}\"");
        let q = format!("/Users?filter={}&", percent_encode(&filter));
        let resp = r
            .get(&mut setup, &format!("{q}startIndex=1&count=10"))
            .await;
        let found = ids(&resp);
        if resp.status == Some(200) && mine.iter().all(|m| found.contains(m)) {
            base = q;
            total = Some(3);
            scope_note = format!("scope: `{filter}` (attribute used: {attr}), three users");
        }
    }
    if total.is_none() {
        let resp = r.get(&mut setup, "/Users?startIndex=1&count=1").await;
        total = body(&resp)["totalResults"].as_u64();
        if resp.status != Some(200) || total.is_none_or(|n| n < 3) {
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("rfc pagination {n}"))
                .collect();
            r.not_run(
                &names,
                &format!(
                    "GET /Users?startIndex=1&count=1 {} with totalResults {} after three users \
                     were created",
                    got(&resp),
                    shown(&body(&resp)["totalResults"])
                ),
            );
            return;
        }
    }
    let total = total.expect("set above");
    let scoped = base != "/Users?";
    let rule = must("RFC 7644 §3.4.2.4");
    let summary = |resp: &Response| {
        format!(
            "{}, totalResults {}, {} resources",
            got(resp),
            shown(&body(resp)["totalResults"]),
            ids(resp).len()
        )
    };

    let mut p = Probe::new(&format!("pagination {}", names[0]));
    p.note(scope_note.clone());
    let resp = r.get(&mut p, &format!("{base}count=0")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            body(&resp)["totalResults"] == total && ids(&resp).is_empty(),
            format!(
                "totalResults {total} and no Resources (\"A value of 0 indicates that no \
                 resource results are to be returned except for totalResults\")"
            ),
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[1]));
    p.note(scope_note.clone());
    let resp = r.get(&mut p, &format!("{base}count=-1")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            body(&resp)["totalResults"] == total && ids(&resp).is_empty(),
            format!(
                "totalResults {total} and no Resources (\"A negative value SHALL be \
                 interpreted as 0\")"
            ),
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[2]));
    p.note(scope_note.clone());
    let past = total + 10;
    let resp = r
        .get(&mut p, &format!("{base}startIndex={past}&count=2"))
        .await;
    if p.status(should("RFC 7644 §3.4.2.4"), &resp, &[200]) {
        p.check(
            should("RFC 7644 §3.4.2.4"),
            body(&resp)["totalResults"] == total && ids(&resp).is_empty(),
            format!("totalResults {total} and no Resources"),
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[3]));
    p.note(scope_note.clone());
    let mut seen = Vec::new();
    for start in 1..=3 {
        let resp = r
            .get(&mut p, &format!("{base}startIndex={start}&count=1"))
            .await;
        let b = body(&resp);
        p.check(
            rule,
            resp.status == Some(200)
                && b["totalResults"] == total
                && b["startIndex"] == start
                && b["itemsPerPage"] == 1
                && ids(&resp).len() == 1,
            format!(
                "page startIndex={start}&count=1: totalResults {total}, startIndex {start}, \
                 itemsPerPage 1, one resource"
            ),
            format!(
                "{}, startIndex {}, itemsPerPage {}",
                summary(&resp),
                shown(&b["startIndex"]),
                shown(&b["itemsPerPage"])
            ),
        );
        seen.extend(ids(&resp));
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    let mut want = mine.clone();
    want.sort();
    p.check(
        should("RFC 7644 §3.4.2.4"),
        seen.len() == 3 && distinct.len() == 3 && (!scoped || distinct == want),
        if scoped {
            "the three pages hold the three users, none twice (a stable order)"
        } else {
            "the three pages hold three different resources (a stable order)"
        },
        format!("got {} ids, {} distinct", seen.len(), distinct.len()),
    );
    let first = seen.first().cloned();
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[4]));
    p.note(scope_note);
    let resp = r.get(&mut p, &format!("{base}startIndex=0&count=1")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            ids(&resp).first() == first.as_ref() && body(&resp)["totalResults"] == total,
            "the same first resource as startIndex=1 (\"A value less than 1 SHALL be \
             interpreted as 1\")",
            format!("got ids {:?}, first page {:?}", ids(&resp), first),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// attributes: RFC 7644 §3.4.2.5, §3.9; `returned` from RFC 7643 §2.4. The attributes a probe
// asks for or leaves out are ones the server returned for the same resource, so that a server
// that ignores the parameter cannot pass by never returning the attribute.

/// The attributes of a resource as read back that `attributes`/`excludedAttributes` can
/// leave out: set, and not returned "always" (RFC 7643 §2.4); `userName` too, which many
/// servers return always.
fn returned_optional(r: &Runner<'_>, read: &Value) -> Vec<String> {
    let always = |k: &str| {
        ["schemas", "id", "meta", "userName"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(k))
            || r.declared()
                .user_attr(k)
                .is_some_and(|a| a.returned.eq_ignore_ascii_case("always"))
    };
    let mut keys: Vec<String> = read
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| !always(k) && !unassigned(v))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    // emails first: what the probe always sets when it is declared.
    keys.sort_by_key(|k| k != "emails");
    keys
}

pub(super) async fn attributes(r: &mut Runner<'_>) {
    let names = [
        "attributes= returns the asked attribute and id only",
        "attributes excludedAttributes leaves a returned attribute out",
        "attributes excludedAttributes=members on /Groups",
        "attributes on a list",
    ];
    let n = r.user_name("attrs");
    let t = r.tag().to_string();
    let asked = r.declared().pick(false, &[]);
    let value = format!("Rfc{t}attrs");
    let mut extra = json!({});
    if let Some(a) = &asked {
        merge(&mut extra, nested(a, json!(value)));
    }
    if r.declared().has(&["emails.value"]) {
        extra["emails"] = json!([{"type": "work", "value": n}]);
    }
    let mut setup = Probe::new("attributes set-up");
    let body_sent = r.user(&n, extra);
    let id = match r.fixture_user(&mut setup, body_sent).await {
        Ok(id) => id,
        Err(why) => {
            let names: Vec<String> = names.iter().map(|n| format!("rfc {n}")).collect();
            r.not_run(&names, &why);
            return;
        }
    };
    let full = r.get(&mut setup, &format!("/Users/{}", segment(&id))).await;
    let read = body(&full);
    let optional = returned_optional(r, &read);
    let rule = must("RFC 7644 §3.9");

    let mut p = Probe::new(names[0]);
    match &asked {
        None => p.not_run_because("the server's /Schemas declares no string attribute to ask for"),
        Some(a) if unassigned(&get_path(&read, a)) => p.not_run_because(format!(
            "the user as read back holds no {a}, though it was created with one"
        )),
        Some(a) => {
            p.note(format!("attribute used: {a}"));
            let resp = r
                .get(&mut p, &format!("/Users/{}?attributes={a}", segment(&id)))
                .await;
            if p.status(rule, &resp, &[200]) {
                let b = body(&resp);
                p.check(
                    rule,
                    get_path(&b, a) == value.as_str() && b["id"] == id.as_str(),
                    format!("{a} and id (returned \"always\") are there"),
                    format!(
                        "got {a} {}, id {}",
                        shown(&get_path(&b, a)),
                        shown(&b["id"])
                    ),
                );
                let top = a.split('.').next().unwrap_or(a);
                let extra: Vec<&String> = optional
                    .iter()
                    .filter(|k| k.as_str() != top && !unassigned(&b[k.as_str()]))
                    .collect();
                p.check(
                    rule,
                    extra.is_empty(),
                    format!(
                        "the other attributes it returns by default ({optional:?}) are left out"
                    ),
                    format!("got {extra:?}"),
                );
            }
        }
    }
    r.finish(p);

    let mut p = Probe::new(names[1]);
    match optional.first() {
        None => p.not_run_because(
            "the user as read back holds no attribute besides id, userName and meta",
        ),
        Some(x) => {
            p.note(format!(
                "attribute used: {x} (returned by GET /Users/{{id}})"
            ));
            let resp = r
                .get(
                    &mut p,
                    &format!("/Users/{}?excludedAttributes={x}", segment(&id)),
                )
                .await;
            if p.status(rule, &resp, &[200]) {
                let b = body(&resp);
                p.check(
                    rule,
                    unassigned(&b[x.as_str()]),
                    format!("{x} is left out"),
                    format!("got {x} {}", shown(&b[x.as_str()])),
                );
                p.check(
                    rule,
                    b["id"] == id.as_str() && b["userName"] == n.as_str(),
                    "the other attributes are still returned (id, userName)",
                    format!(
                        "got id {}, userName {}",
                        shown(&b["id"]),
                        shown(&b["userName"])
                    ),
                );
            }
        }
    }
    r.finish(p);

    // Entra ID reads a group with `excludedAttributes=members` before each update
    // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
    // a server that ignores it sends every member back on each read.
    let mut p = Probe::new(names[2]);
    let gname = format!("rfc-{t}-attrs-group");
    let g = r
        .create(
            &mut p,
            ObjectKind::Group,
            json!({"schemas": [GROUP_URN], "displayName": gname, "members": [{"value": id}]}),
        )
        .await;
    match id_of(&g).filter(|_| g.status == Some(201)) {
        None => p.setup_failed(format!("POST /Groups with one member {}", got(&g))),
        Some(gid) => {
            let whole = r.get(&mut p, &format!("/Groups/{}", segment(&gid))).await;
            if unassigned(&body(&whole)["members"]) {
                p.not_run_because(format!(
                    "GET /Groups/{{id}} {} holds no members for a group created with one",
                    got(&whole)
                ));
            } else {
                let resp = r
                    .get(
                        &mut p,
                        &format!("/Groups/{}?excludedAttributes=members", segment(&gid)),
                    )
                    .await;
                if p.status(rule, &resp, &[200]) {
                    let b = body(&resp);
                    p.check(
                        rule,
                        unassigned(&b["members"]),
                        "members is left out",
                        format!("got members {}", shown(&b["members"])),
                    );
                    p.check(
                        rule,
                        b["displayName"] == gname.as_str() && b["id"] == gid.as_str(),
                        "id and displayName are still returned",
                        format!(
                            "got id {}, displayName {}",
                            shown(&b["id"]),
                            shown(&b["displayName"])
                        ),
                    );
                }
            }
        }
    }
    r.finish(p);

    if !r.caps().filter {
        r.skip(
            names[3],
            "skipped: ServiceProviderConfig says filter.supported is false",
        );
        return;
    }
    let mut p = Probe::new(names[3]).claimed("filter");
    let filter = format!("userName eq \"{n}\"");
    let resp = r
        .get(
            &mut p,
            &format!(
                "/Users?filter={}&attributes=userName",
                percent_encode(&filter)
            ),
        )
        .await;
    if !p.refused_filter(&resp, &filter) && p.status(rule, &resp, &[200]) {
        let first = body(&resp)["Resources"][0].clone();
        let extra: Vec<&String> = optional
            .iter()
            .filter(|k| !unassigned(&first[k.as_str()]))
            .collect();
        p.check(
            rule,
            first["userName"] == n.as_str() && first["id"] == id.as_str() && extra.is_empty(),
            "each resource holds id and userName only",
            format!("got {}", shown(&first)),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// patch: RFC 7644 §3.5.2. The RFC writes the op values "add", "remove" and "replace" in lower
// case and says nothing of other cases, so only those are sent here: accepting "Add" (as Entra
// ID sends it) is an IdP-compatibility matter, not an RFC requirement. The attributes come from
// the server's /Schemas; each probe says which it used.

type Verify = Box<dyn Fn(&Value) -> (bool, String)>;

/// A check that `path` now holds `want`.
fn holds(path: &str, want: &str) -> (String, Verify) {
    let (p, w) = (path.to_string(), want.to_string());
    (
        format!("{path} is \"{want}\""),
        Box::new(move |b: &Value| {
            let v = get_path(b, &p);
            (v == w.as_str(), format!("{p} {}", shown(&v)))
        }),
    )
}

pub(super) async fn patch(r: &mut Runner<'_>) {
    let t = r.tag().to_string();
    let d = r.declared().clone();
    // `added`: added then removed; `replaced`: replaced; favourites first, distinct if possible.
    let added = d.pick(true, &[]);
    let replaced = d.pick(false, &[added.as_deref().unwrap_or("")]);
    let has_name = d.has(&["name.givenName", "name.familyName"]);
    let has_emails = d.has(&["emails.type", "emails.value"]);
    let (v_add, v_add2) = (format!("Rfc{t}add"), format!("Rfc{t}addnp"));
    let (v_rep, v_rep2, v_urn) = (
        format!("Rfc{t}rep"),
        format!("Rfc{t}repnp"),
        format!("Rfc{t}urn"),
    );
    // (name, section, attribute used, ops, what to check) — None: what it needs is not declared.
    type Case = (
        &'static str,
        &'static str,
        String,
        Option<(Value, String, Verify)>,
    );
    let mut cases: Vec<Case> = Vec::new();
    let (removable, writable) = (
        "removable string attribute".to_string(),
        "writable string attribute".to_string(),
    );
    let with =
        |a: &Option<String>, f: &dyn Fn(&str) -> (Value, String, Verify)| a.as_deref().map(f);
    cases.push((
        "patch add with path",
        "RFC 7644 §3.5.2.1",
        added.clone().unwrap_or(removable.clone()),
        with(&added, &|a| {
            let (l, v) = holds(a, &v_add);
            (json!([{"op": "add", "path": a, "value": v_add}]), l, v)
        }),
    ));
    let add_np = replaced.clone().or(added.clone());
    cases.push((
        "patch add without path",
        "RFC 7644 §3.5.2.1",
        add_np.clone().unwrap_or(writable.clone()),
        with(&add_np, &|a| {
            let (l, v) = holds(a, &v_add2);
            (
                json!([{"op": "add", "value": nested(a, json!(v_add2))}]),
                l,
                v,
            )
        }),
    ));
    cases.push((
        "patch replace with path",
        "RFC 7644 §3.5.2.3",
        replaced.clone().unwrap_or(writable.clone()),
        with(&replaced, &|a| {
            let (l, v) = holds(a, &v_rep);
            (json!([{"op": "replace", "path": a, "value": v_rep}]), l, v)
        }),
    ));
    cases.push((
        "patch replace without path",
        "RFC 7644 §3.5.2.3",
        replaced.clone().unwrap_or(writable.clone()),
        with(&replaced, &|a| {
            let (l, v) = holds(a, &v_rep2);
            (
                json!([{"op": "replace", "value": nested(a, json!(v_rep2))}]),
                l,
                v,
            )
        }),
    ));
    cases.push((
        "patch replace sub-attribute",
        "RFC 7644 §3.5.2.3",
        "name.givenName and name.familyName".into(),
        has_name.then(|| {
            (
                json!([{"op": "replace", "path": "name.givenName", "value": "Rfc2"}]),
                "name.givenName is \"Rfc2\" and name.familyName is kept".to_string(),
                Box::new(|b: &Value| {
                    (
                        b["name"]["givenName"] == "Rfc2" && b["name"]["familyName"] == "Patch",
                        format!("name {}", shown(&b["name"])),
                    )
                }) as Verify,
            )
        }),
    ));
    cases.push((
        "patch replace with URN path",
        "RFC 7644 §3.5.2.3, §3.10",
        replaced.clone().unwrap_or(writable.clone()),
        with(&replaced, &|a| {
            let (l, v) = holds(a, &v_urn);
            (
                json!([{"op": "replace", "path": format!("{USER_URN}:{a}"), "value": v_urn}]),
                l,
                v,
            )
        }),
    ));
    cases.push((
        "patch replace with value filter",
        "RFC 7644 §3.5.2.3",
        "emails with type and value".into(),
        has_emails.then(|| {
            (
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value",
                        "value": "new.work@example.com"}]),
                "the work email's value is replaced, the home email kept".to_string(),
                Box::new(|b: &Value| {
                    let emails = b["emails"].as_array().cloned().unwrap_or_default();
                    let work = emails.iter().find(|e| e["type"] == "work");
                    let home = emails.iter().find(|e| e["type"] == "home");
                    (
                        work.is_some_and(|w| w["value"] == "new.work@example.com")
                            && home.is_some_and(|h| {
                                h["value"].as_str().is_some_and(|v| v.starts_with("home."))
                            }),
                        format!("emails {}", shown(&b["emails"])),
                    )
                }) as Verify,
            )
        }),
    ));
    cases.push((
        "patch remove with path",
        "RFC 7644 §3.5.2.2",
        added.clone().unwrap_or(removable.clone()),
        with(&added, &|a| {
            let p = a.to_string();
            (
                json!([{"op": "remove", "path": a}]),
                format!("{a} is gone"),
                Box::new(move |b: &Value| {
                    let v = get_path(b, &p);
                    (unassigned(&v), format!("{p} {}", shown(&v)))
                }) as Verify,
            )
        }),
    ));
    cases.push((
        "patch remove with value filter",
        "RFC 7644 §3.5.2.2",
        "emails with type and value".into(),
        has_emails.then(|| {
            (
                json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
                "the home email is gone, the work email kept".to_string(),
                Box::new(|b: &Value| {
                    let emails = b["emails"].as_array().cloned().unwrap_or_default();
                    (
                        emails.len() == 1 && emails[0]["type"] == "work",
                        format!("emails {}", shown(&b["emails"])),
                    )
                }) as Verify,
            )
        }),
    ));
    const NO_TARGET: &str = "patch remove without path is 400 noTarget";
    const ATOMIC: &str = "patch a failing operation leaves the resource unchanged";
    if !r.caps().patch {
        for n in cases.iter().map(|c| c.0).chain([NO_TARGET, ATOMIC]) {
            r.skip(
                n,
                "skipped: ServiceProviderConfig says patch.supported is false",
            );
        }
        return;
    }
    let n = r.user_name("patch");
    let mut setup = Probe::new("patch set-up");
    let mut extra = json!({});
    if has_name {
        extra["name"] = json!({"givenName": "Rfc", "familyName": "Patch"});
    }
    if has_emails {
        extra["emails"] = json!([{"type": "work", "value": format!("work.{n}")},
                                 {"type": "home", "value": format!("home.{n}")}]);
    }
    let body_sent = r.user(&n, extra);
    let id = match r.fixture_user(&mut setup, body_sent).await {
        Ok(id) => id,
        Err(why) => {
            let names: Vec<String> = cases
                .iter()
                .map(|c| c.0)
                .chain([NO_TARGET, ATOMIC])
                .map(|n| format!("rfc {n}"))
                .collect();
            r.not_run(&names, &why);
            return;
        }
    };
    let path = format!("/Users/{}", segment(&id));
    for (name, section, used, case) in cases {
        let Some((ops, label, verify)) = case else {
            r.skip_unsupported(
                name,
                format!("the server's /Schemas declares no {used} for User to patch"),
            );
            continue;
        };
        let mut p = Probe::new(name).claimed("patch");
        p.note(format!("attribute used: {used}"));
        let resp = r.write(&mut p, Method::PATCH, &path, patch_ops(ops)).await;
        // 200 with the resource, or 204 when the server returns none.
        if p.status(must("RFC 7644 §3.5.2"), &resp, &[200, 204]) {
            let after = r.get(&mut p, &path).await;
            let (ok, detail) = verify(&body(&after));
            p.check(must(section), ok, label, format!("got {detail}"));
        }
        r.finish(p);
    }

    let mut p = Probe::new(NO_TARGET).claimed("patch");
    let resp = r
        .write(
            &mut p,
            Method::PATCH,
            &path,
            patch_ops(json!([{"op": "remove"}])),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.5.2.2"), &resp, 400, Some("noTarget"));
    r.finish(p);

    // RFC 7644 §3.5.2: "A patch request, regardless of the number of operations, SHALL be
    // treated as atomic. If a single operation encounters an error condition, the original
    // SCIM resource MUST be restored, and a failure status SHALL be returned." A valid replace
    // followed by a `remove` without a path, which §3.5.2.2 says MUST fail (noTarget). Entra
    // bundles a disable with other operations in one PATCH, so this decides whether a user
    // ends up half-updated.
    let mut p = Probe::new(ATOMIC).claimed("patch");
    let Some(target) = replaced.or(added) else {
        p.not_run_because("the server's /Schemas declares no string attribute to replace");
        r.finish(p);
        return;
    };
    p.note(format!("attribute used: {target}"));
    let before = r.get(&mut p, &path).await;
    let old = get_path(&body(&before), &target);
    let new = format!("Rfc{t}atomic");
    let resp = r
        .write(
            &mut p,
            Method::PATCH,
            &path,
            patch_ops(json!([{"op": "replace", "path": target, "value": new},
                             {"op": "remove"}])),
        )
        .await;
    if resp.status.is_some_and(|s| (200..300).contains(&s)) {
        p.not_run_because(format!(
            "the server accepted `remove` without a path ({}), so no operation failed; see \
             \"{NO_TARGET}\"",
            got(&resp)
        ));
    } else if before.status == Some(200) {
        let after = r.get(&mut p, &path).await;
        let now = get_path(&body(&after), &target);
        p.check(
            must("RFC 7644 §3.5.2"),
            now == old,
            format!(
                "the PATCH failed ({}) and {target} is unchanged ({})",
                got(&resp),
                shown(&old)
            ),
            format!(
                "got {target} {}: the first operation was applied",
                shown(&now)
            ),
        );
    } else {
        p.setup_failed(format!("GET {path} {}", got(&before)));
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// uniqueness: RFC 7644 §3.3, §3.12; userName unique and caseExact false (RFC 7643 §4.1.1)

pub(super) async fn uniqueness(r: &mut Runner<'_>) {
    let n = r.user_name("unique");
    let mut p = Probe::new("uniqueness duplicate userName is 409 uniqueness");
    let body_sent = r.user(&n, json!({}));
    let first = r.fixture_user(&mut p, body_sent.clone()).await;
    if let Err(why) = first {
        p.setup_failed(why);
    } else {
        let dup = r.create(&mut p, ObjectKind::User, body_sent).await;
        p.scim_error(must("RFC 7644 §3.3"), &dup, 409, Some("uniqueness"));
        let upper = r.user(&n.to_uppercase(), json!({}));
        let dup = r.create(&mut p, ObjectKind::User, upper).await;
        p.check(
            should("RFC 7643 §4.1.1"),
            dup.status == Some(409),
            "the same userName in upper case is also 409 (userName is caseExact false)",
            got(&dup),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// errors: RFC 7644 §3.12

pub(super) async fn errors(r: &mut Runner<'_>) {
    let mut p = Probe::new("errors missing required userName is 400 invalidValue");
    // Everything else the server requires is there: only userName is missing.
    let mut no_user_name = r.user(&r.user_name("nousername"), json!({}));
    if let Some(o) = no_user_name.as_object_mut() {
        o.remove("userName");
    }
    let resp = r.create(&mut p, ObjectKind::User, no_user_name).await;
    p.scim_error(must("RFC 7644 §3.12"), &resp, 400, Some("invalidValue"));
    r.finish(p);

    // A JSON string where a resource belongs: "The request body message structure was invalid
    // or did not conform to the request schema" (invalidSyntax).
    let mut p = Probe::new("errors a body that is no JSON object is 400 invalidSyntax");
    let n = r.next();
    let req = Request::new(Method::POST, "/Users")
        .header("Content-Type", SCIM_JSON)
        .header("Accept", SCIM_JSON)
        .json(Value::String(format!("userName=rfc-{}-{n}", r.tag())));
    let resp = r.send(&mut p, req).await;
    r.remember(ObjectKind::User, &resp);
    p.scim_error(should("RFC 7644 §3.12"), &resp, 400, Some("invalidSyntax"));
    r.finish(p);

    if !r.caps().filter {
        r.skip(
            "errors bad filter is 400 invalidFilter",
            "skipped: ServiceProviderConfig says filter.supported is false",
        );
        return;
    }
    let mut p = Probe::new("errors bad filter is 400 invalidFilter").claimed("filter");
    let resp = r
        .get(
            &mut p,
            &format!("/Users?filter={}", percent_encode("userName eq")),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.4.2.2"), &resp, 400, Some("invalidFilter"));
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// content types: RFC 7644 §3.8, §8.1

pub(super) async fn content_types(r: &mut Runner<'_>) {
    let n = r.user_name("ctype");
    let mut p = Probe::new("content types request with charset, scim+json response");
    let body_sent = r.user(&n, json!({}));
    let req = Request::new(Method::POST, "/Users")
        .header("Content-Type", "application/scim+json; charset=utf-8")
        .header("Accept", SCIM_JSON)
        .json(body_sent.clone());
    let resp = r.send(&mut p, req).await;
    r.remember(ObjectKind::User, &resp);
    if resp.status.is_some_and(|s| s != 201 && s != 415) {
        // Refused for something else than the media type? The same POST without the charset
        // tells: if it fails too, this probe never reached its point.
        let plain = r.create(&mut p, ObjectKind::User, body_sent).await;
        if plain.status != Some(201) {
            p.setup_failed(format!(
                "POST /Users {} with the charset and {} without it",
                got(&resp),
                got(&plain)
            ));
            r.finish(p);
            let names = ["rfc content types GET without Accept".to_string()];
            r.not_run(&names, "no user was created to read");
            return;
        }
    }
    p.status(must("RFC 7644 §3.8"), &resp, &[201]);
    let ct = resp.header("content-type").unwrap_or("").to_string();
    p.check(
        should("RFC 7644 §3.8, §8.1"),
        ct.to_ascii_lowercase().starts_with(SCIM_JSON),
        "the response's Content-Type is application/scim+json",
        format!("got {ct:?}"),
    );
    let id = id_of(&resp).filter(|_| resp.status == Some(201));
    r.finish(p);

    // No `Accept` header at all, as Entra sends its GETs (azure-docs issue 94189): the client
    // accepts any media type (RFC 7231 §5.3.2).
    let mut p = Probe::new("content types GET without Accept");
    let path = id.map_or("/ServiceProviderConfig".to_string(), |i| {
        format!("/Users/{}", segment(&i))
    });
    let resp = r.send(&mut p, Request::new(Method::GET, path)).await;
    if p.status(should("RFC 7644 §3.8"), &resp, &[200]) {
        p.check(
            should("RFC 7644 §3.8"),
            resp.body.is_some(),
            "a JSON body",
            format!("got {}", resp.text.as_deref().unwrap_or("no body")),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// auth: RFC 7644 §2, §3.12 (401 "Authorization failure. The authorization header is invalid or
// missing.")

pub(super) async fn auth(r: &mut Runner<'_>) {
    if !r.has_token() {
        for n in ["auth no token is 401", "auth wrong token is 401"] {
            r.skip(
                n,
                "skipped: no bearer token was given for the target, so a request without one \
                 proves nothing",
            );
        }
        return;
    }
    let mut p = Probe::new("auth no token is 401");
    let resp = r
        .send_without_auth(
            &mut p,
            Request::new(Method::GET, "/Users?count=1").header("Accept", SCIM_JSON),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.12"), &resp, 401, None);
    r.finish(p);

    let mut p = Probe::new("auth wrong token is 401");
    let wrong = format!("Bearer rfc-wrong-token-{}", uuid::Uuid::new_v4().simple());
    let resp = r
        .send_without_auth(
            &mut p,
            Request::new(Method::GET, "/Users?count=1")
                .header("Accept", SCIM_JSON)
                .header("Authorization", &wrong),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.12"), &resp, 401, None);
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// etag: RFC 7644 §3.14, RFC 7232

pub(super) async fn etag(r: &mut Runner<'_>) {
    let names = [
        "etag version is returned",
        "etag If-None-Match current version is 304",
        "etag If-Match mismatch is 412",
    ];
    if !r.caps().etag {
        for n in names {
            r.skip(
                n,
                "skipped: ServiceProviderConfig says etag.supported is false",
            );
        }
        return;
    }
    let n = r.user_name("etag");
    let mut p = Probe::new(names[0]).claimed("etag");
    let body_sent = r.user(&n, json!({}));
    let id = match r.fixture_user(&mut p, body_sent).await {
        Ok(id) => id,
        Err(why) => {
            p.setup_failed(&why);
            r.finish(p);
            let names: Vec<String> = names[1..].iter().map(|n| format!("rfc {n}")).collect();
            r.not_run(&names, &why);
            return;
        }
    };
    let path = format!("/Users/{}", segment(&id));
    let resp = r.get(&mut p, &path).await;
    let etag = resp.header("etag").map(str::to_string);
    let version = body(&resp)["meta"]["version"].as_str().map(str::to_string);
    p.check(
        should("RFC 7644 §3.14"),
        etag.is_some() && (version.is_none() || version == etag),
        "an ETag header, equal to meta.version",
        format!("got ETag {etag:?}, meta.version {version:?}"),
    );
    r.finish(p);
    let Some(etag) = etag.or(version) else {
        for n in &names[1..] {
            r.skip(n, "not run: the server returned no version to send back");
        }
        return;
    };

    let mut p = Probe::new(names[1]).claimed("etag");
    let resp = r
        .send(
            &mut p,
            Request::new(Method::GET, &path)
                .header("Accept", SCIM_JSON)
                .header("If-None-Match", &etag),
        )
        .await;
    p.status(must("RFC 7644 §3.14"), &resp, &[304]);
    r.finish(p);

    let mut p = Probe::new(names[2]).claimed("etag");
    let put_body = r.user(&n, json!({}));
    let resp = r
        .send(
            &mut p,
            Request::new(Method::PUT, &path)
                .header("Content-Type", SCIM_JSON)
                .header("Accept", SCIM_JSON)
                .header("If-Match", "W/\"rfc-not-the-version\"")
                .json(put_body),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.14"), &resp, 412, None);
    r.finish(p);
}
