//! The probe groups. Each probe sends raw requests and asserts what RFC 7643/7644 require of
//! the answer, citing the section and its level (RFC 2119: MUST for MUST/SHALL/REQUIRED, SHOULD
//! for SHOULD/RECOMMENDED). A probe checks only objects it created, found by run-scoped names.

use super::{got, must, should, Probe, Runner, SCIM_JSON};
use crate::client::{percent_encode, Request, Response};
use crate::idp::okta_spec::shown;
use crate::runner::sync::ObjectKind;
use crate::scim::id::segment;
use crate::scim::schema::{
    GROUP_URN, LIST_URN, PATCH_URN, RESOURCE_TYPE_URN, SCHEMA_URN, SPC_URN, USER_URN,
};
use reqwest::Method;
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

/// A user body with the run-scoped `userName`.
fn user(user_name: &str, extra: Value) -> Value {
    let mut b = json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "active": true,
    });
    if let (Some(o), Value::Object(x)) = (b.as_object_mut(), extra) {
        o.extend(x);
    }
    b
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
        format!("/Users/{unknown}"),
        format!("/Groups/{unknown}"),
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
    let mut p = Probe::new("crud POST /Users is 201 with Location and id");
    let created = r
        .create(
            &mut p,
            ObjectKind::User,
            user(
                &name,
                json!({"displayName": "RFC Crud", "title": "Probe",
                       "name": {"givenName": "Rfc", "familyName": "Crud"}}),
            ),
        )
        .await;
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
        for n in [
            "crud GET /Users/{id}",
            "crud PUT replaces: an omitted attribute is gone",
            "crud DELETE then 404",
        ] {
            r.skip(n, "not run: POST /Users created no user to work on");
        }
        return;
    };

    let mut p = Probe::new("crud GET /Users/{id}");
    let g = r.get(&mut p, &format!("/Users/{}", segment(&id))).await;
    if p.status(must("RFC 7644 §3.4.1"), &g, &[200]) {
        let b = body(&g);
        p.check(
            must("RFC 7644 §3.4.1"),
            b["id"] == id.as_str() && b["userName"] == name.as_str() && b["title"] == "Probe",
            "the resource as created (id, userName, title)",
            format!(
                "got id {}, userName {}, title {}",
                shown(&b["id"]),
                shown(&b["userName"]),
                shown(&b["title"])
            ),
        );
    }
    r.finish(p);

    // "HTTP PUT is used to replace a resource's attributes"; for an omitted readWrite attribute
    // the RFC lets the server clear it or assign a default ("MAY assume that any existing values
    // are to be cleared"), so clearing is checked as a SHOULD (IdPs that PUT, such as Okta's AIW
    // apps, rely on it).
    let mut p = Probe::new("crud PUT replaces: an omitted attribute is gone");
    let put = r
        .write(
            &mut p,
            Method::PUT,
            &format!("/Users/{}", segment(&id)),
            user(&name, json!({"displayName": "RFC Crud Replaced"})),
        )
        .await;
    if p.status(must("RFC 7644 §3.5.1"), &put, &[200]) {
        let after = r.get(&mut p, &format!("/Users/{}", segment(&id))).await;
        let b = body(&after);
        p.check(
            must("RFC 7644 §3.5.1"),
            b["displayName"] == "RFC Crud Replaced",
            "the new displayName is stored",
            format!("got {}", shown(&b["displayName"])),
        );
        p.check(
            should("RFC 7644 §3.5.1"),
            b.get("title").is_none_or(Value::is_null) && b.get("name").is_none_or(Value::is_null),
            "title and name, omitted from the PUT, are gone",
            format!(
                "got title {}, name {}",
                shown(&b["title"]),
                shown(&b["name"])
            ),
        );
    }
    r.finish(p);

    let mut p = Probe::new("crud DELETE then 404");
    let del = r
        .send(
            &mut p,
            Request::new(Method::DELETE, format!("/Users/{}", segment(&id))),
        )
        .await;
    if p.status(must("RFC 7644 §3.6"), &del, &[204]) {
        r.forget(&id);
        let again = r.get(&mut p, &format!("/Users/{}", segment(&id))).await;
        p.scim_error(must("RFC 7644 §3.6"), &again, 404, None);
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
    let resp = r
        .write(
            &mut p,
            Method::POST,
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                   "Operations": [{"method": "POST", "path": "/Users", "bulkId": "rfc1",
                                   "data": user(&n, json!({}))}]}),
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
// filters: RFC 7644 §3.4.2.2; case rules from RFC 7643 §2.2, §3.1, §4.1.1; sorting §3.4.2.3

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

pub(super) async fn filters(r: &mut Runner<'_>) {
    if !r.caps().filter {
        for op in FILTER_PROBES {
            r.skip(
                &format!("filter {op}"),
                "skipped: ServiceProviderConfig says filter.supported is false",
            );
        }
        return;
    }
    let (a, b) = (r.user_name("a"), r.user_name("b"));
    let ext = format!("ExtA-{}", r.tag());
    let mut setup = Probe::new("filter set-up");
    let ida = r
        .fixture_user(
            &mut setup,
            user(
                &a,
                json!({"externalId": ext, "title": "Engineer",
                       "emails": [{"type": "work", "value": a, "primary": true}]}),
            ),
        )
        .await;
    let idb = r
        .fixture_user(
            &mut setup,
            user(&b, json!({"emails": [{"type": "home", "value": b}]})),
        )
        .await;
    let (Some(ida), Some(idb)) = (ida, idb) else {
        r.finish(setup);
        return;
    };
    let t = r.tag().to_string();
    let scope = format!("userName sw \"rfc.{t}.\"");
    let upper = a.to_uppercase();
    // (probe, filter, which of the probe's users it must find: "a", "b")
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("eq", format!("userName eq \"{a}\""), &["a"]),
        ("ne", format!("{scope} and userName ne \"{a}\""), &["b"]),
        ("co", format!("userName co \"{t}.b@\""), &["b"]),
        ("sw", scope.clone(), &["a", "b"]),
        ("ew", format!("userName ew \"{t}.a@example.com\""), &["a"]),
        (
            "gt",
            format!("userName gt \"{a}\" and userName lt \"rfc.{t}.z\""),
            &["b"],
        ),
        (
            "ge",
            format!("userName ge \"{a}\" and userName lt \"rfc.{t}.z\""),
            &["a", "b"],
        ),
        (
            "lt",
            format!("userName lt \"{b}\" and userName gt \"rfc.{t}.\""),
            &["a"],
        ),
        (
            "le",
            format!("userName le \"{b}\" and userName gt \"{a}\""),
            &["b"],
        ),
        ("pr", format!("{scope} and title pr"), &["a"]),
        (
            "and",
            format!("userName eq \"{a}\" and title eq \"Engineer\""),
            &["a"],
        ),
        (
            "or",
            format!("userName eq \"{a}\" or userName eq \"{b}\""),
            &["a", "b"],
        ),
        (
            "not",
            format!("{scope} and not (userName eq \"{a}\")"),
            &["b"],
        ),
        (
            FILTER_PROBES[13],
            format!("{scope} and emails[type eq \"work\" and value co \"@\"]"),
            &["a"],
        ),
        (
            FILTER_PROBES[14],
            format!("userName eq \"{upper}\""),
            &["a"],
        ),
        (
            FILTER_PROBES[15],
            format!("externalId eq \"{}\"", ext.to_lowercase()),
            &[],
        ),
    ];
    let label = |id: &String| if *id == ida { "a" } else { "b" };
    for (op, filter, want) in cases {
        let mut p = Probe::new(&format!("filter {op}")).claimed("filter");
        let section = match op {
            "userName is case-insensitive" => "RFC 7643 §4.1.1",
            "externalId is case-exact" => "RFC 7643 §3.1",
            _ => "RFC 7644 §3.4.2.2",
        };
        if op == "externalId is case-exact" {
            // The exact value finds the user first: otherwise "finds nothing" proves nothing.
            let exact = r
                .get(
                    &mut p,
                    &format!(
                        "/Users?filter={}",
                        percent_encode(&format!("externalId eq \"{ext}\""))
                    ),
                )
                .await;
            p.check(
                must("RFC 7644 §3.4.2.2"),
                exact.status == Some(200) && ids(&exact).contains(&ida),
                format!("externalId eq \"{ext}\" finds the user"),
                format!("{}, ids {:?}", got(&exact), ids(&exact)),
            );
        }
        let resp = r
            .get(
                &mut p,
                &format!("/Users?filter={}", percent_encode(&filter)),
            )
            .await;
        if p.status(must("RFC 7644 §3.4.2.2"), &resp, &[200]) {
            let mut found: Vec<&str> = ids(&resp)
                .iter()
                .filter(|i| **i == ida || **i == idb)
                .map(label)
                .collect();
            found.sort_unstable();
            p.check(
                must(section),
                found == want,
                format!("`{filter}` finds exactly {want:?} of the probe's users"),
                format!("got {found:?}"),
            );
        }
        r.finish(p);
    }

    if !r.caps().sort {
        r.skip(
            FILTER_PROBES[16],
            "skipped: ServiceProviderConfig says sort.supported is false",
        );
        return;
    }
    let mut p = Probe::new(&format!("filter {}", FILTER_PROBES[16])).claimed("sort");
    let resp = r
        .get(
            &mut p,
            &format!(
                "/Users?filter={}&sortBy=userName&sortOrder=descending",
                percent_encode(&scope)
            ),
        )
        .await;
    if p.status(must("RFC 7644 §3.4.2.3"), &resp, &[200]) {
        let order: Vec<&str> = ids(&resp).iter().map(label).collect();
        p.check(
            must("RFC 7644 §3.4.2.3"),
            order == ["b", "a"],
            "the users in descending userName order: b, a",
            format!("got {order:?}"),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// pagination: RFC 7644 §3.4.2.4

pub(super) async fn pagination(r: &mut Runner<'_>) {
    let names = [
        "count=0 returns totalResults only",
        "negative count is read as 0",
        "startIndex past the end is an empty page",
        "pages are stable and cover every result once",
        "startIndex 0 is read as 1",
    ];
    if !r.caps().filter {
        for n in names {
            r.skip(
                &format!("pagination {n}"),
                "skipped: the probes page through their own users, found with a filter, and \
                 ServiceProviderConfig says filter.supported is false",
            );
        }
        return;
    }
    let mut setup = Probe::new("pagination set-up");
    let mut mine = Vec::new();
    for i in 1..=3 {
        let n = r.user_name(&format!("p{i}"));
        if let Some(id) = r.fixture_user(&mut setup, user(&n, json!({}))).await {
            mine.push(id);
        }
    }
    if mine.len() < 3 {
        r.finish(setup);
        return;
    }
    let q = format!(
        "/Users?filter={}",
        percent_encode(&format!("userName sw \"rfc.{}.p\"", r.tag()))
    );
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
    let resp = r.get(&mut p, &format!("{q}&count=0")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            body(&resp)["totalResults"] == 3 && ids(&resp).is_empty(),
            "totalResults 3 and no Resources (\"A value of 0 indicates that no resource \
             results are to be returned except for totalResults\")",
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[1]));
    let resp = r.get(&mut p, &format!("{q}&count=-1")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            body(&resp)["totalResults"] == 3 && ids(&resp).is_empty(),
            "totalResults 3 and no Resources (\"A negative value SHALL be interpreted as 0\")",
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[2]));
    let resp = r.get(&mut p, &format!("{q}&startIndex=10&count=2")).await;
    if p.status(should("RFC 7644 §3.4.2.4"), &resp, &[200]) {
        p.check(
            should("RFC 7644 §3.4.2.4"),
            body(&resp)["totalResults"] == 3 && ids(&resp).is_empty(),
            "totalResults 3 and no Resources",
            summary(&resp),
        );
    }
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[3]));
    let mut seen = Vec::new();
    for start in 1..=3 {
        let resp = r
            .get(&mut p, &format!("{q}&startIndex={start}&count=1"))
            .await;
        let b = body(&resp);
        p.check(
            rule,
            resp.status == Some(200)
                && b["totalResults"] == 3
                && b["startIndex"] == start
                && b["itemsPerPage"] == 1
                && ids(&resp).len() == 1,
            format!(
                "page startIndex={start}&count=1: totalResults 3, startIndex {start}, \
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
        distinct == want && seen.len() == 3,
        "the three pages hold the three users, none twice (a stable order)",
        format!("got {} ids, {} distinct", seen.len(), distinct.len()),
    );
    let first = seen.first().cloned();
    r.finish(p);

    let mut p = Probe::new(&format!("pagination {}", names[4]));
    let resp = r.get(&mut p, &format!("{q}&startIndex=0&count=1")).await;
    if p.status(rule, &resp, &[200]) {
        p.check(
            rule,
            ids(&resp).first() == first.as_ref() && body(&resp)["totalResults"] == 3,
            "the same first resource as startIndex=1 (\"A value less than 1 SHALL be \
             interpreted as 1\")",
            format!("got ids {:?}, first page {:?}", ids(&resp), first),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// attributes: RFC 7644 §3.4.2.5, §3.9; `returned` from RFC 7643 §2.4

pub(super) async fn attributes(r: &mut Runner<'_>) {
    let n = r.user_name("attrs");
    let mut setup = Probe::new("attributes set-up");
    let Some(id) = r
        .fixture_user(
            &mut setup,
            user(
                &n,
                json!({"displayName": "RFC Attrs", "title": "Probe",
                       "emails": [{"type": "work", "value": n}]}),
            ),
        )
        .await
    else {
        r.finish(setup);
        return;
    };
    let rule = must("RFC 7644 §3.9");

    let mut p = Probe::new("attributes=displayName returns it and id only");
    let resp = r
        .get(
            &mut p,
            &format!("/Users/{}?attributes=displayName", segment(&id)),
        )
        .await;
    if p.status(rule, &resp, &[200]) {
        let b = body(&resp);
        p.check(
            rule,
            b["displayName"] == "RFC Attrs" && b["id"] == id.as_str(),
            "displayName and id (returned \"always\") are there",
            format!(
                "got displayName {}, id {}",
                shown(&b["displayName"]),
                shown(&b["id"])
            ),
        );
        p.check(
            rule,
            b.get("title").is_none() && b.get("emails").is_none(),
            "title and emails, not asked for, are left out",
            format!(
                "got title {}, emails {}",
                shown(&b["title"]),
                shown(&b["emails"])
            ),
        );
    }
    r.finish(p);

    let mut p = Probe::new("attributes excludedAttributes=emails leaves emails out");
    let resp = r
        .get(
            &mut p,
            &format!("/Users/{}?excludedAttributes=emails", segment(&id)),
        )
        .await;
    if p.status(rule, &resp, &[200]) {
        let b = body(&resp);
        p.check(
            rule,
            b.get("emails").is_none(),
            "emails is left out",
            format!("got emails {}", shown(&b["emails"])),
        );
        p.check(
            rule,
            b["title"] == "Probe" && b["id"] == id.as_str() && b["userName"] == n.as_str(),
            "the other attributes are still returned",
            format!(
                "got title {}, userName {}",
                shown(&b["title"]),
                shown(&b["userName"])
            ),
        );
    }
    r.finish(p);

    if !r.caps().filter {
        r.skip(
            "attributes on a list",
            "skipped: ServiceProviderConfig says filter.supported is false",
        );
        return;
    }
    let mut p = Probe::new("attributes on a list").claimed("filter");
    let resp = r
        .get(
            &mut p,
            &format!(
                "/Users?filter={}&attributes=userName",
                percent_encode(&format!("userName eq \"{n}\""))
            ),
        )
        .await;
    if p.status(rule, &resp, &[200]) {
        let first = body(&resp)["Resources"][0].clone();
        p.check(
            rule,
            first["userName"] == n.as_str()
                && first["id"] == id.as_str()
                && first.get("displayName").is_none()
                && first.get("emails").is_none(),
            "each resource holds id and userName only",
            format!("got {}", shown(&first)),
        );
    }
    r.finish(p);
}

// ---------------------------------------------------------------------------------------------
// patch: RFC 7644 §3.5.2. The RFC writes the op values "add", "remove" and "replace" in lower
// case and says nothing of other cases, so only those are sent here: accepting "Add" (as Entra
// ID sends it) is an IdP-compatibility matter, not an RFC requirement.

type Verify = fn(&Value) -> (bool, String);

pub(super) async fn patch(r: &mut Runner<'_>) {
    let cases: Vec<(&str, &'static str, Value, &str, Verify)> = vec![
        (
            "patch add with path",
            "RFC 7644 §3.5.2.1",
            json!([{"op": "add", "path": "nickName", "value": "rfcnick"}]),
            "nickName is \"rfcnick\"",
            |b| {
                (
                    b["nickName"] == "rfcnick",
                    format!("nickName {}", shown(&b["nickName"])),
                )
            },
        ),
        (
            "patch add without path",
            "RFC 7644 §3.5.2.1",
            json!([{"op": "add", "value": {"profileUrl": "https://example.com/rfc"}}]),
            "profileUrl is set",
            |b| {
                (
                    b["profileUrl"] == "https://example.com/rfc",
                    format!("profileUrl {}", shown(&b["profileUrl"])),
                )
            },
        ),
        (
            "patch replace with path",
            "RFC 7644 §3.5.2.3",
            json!([{"op": "replace", "path": "displayName", "value": "RFC Patch 2"}]),
            "displayName is \"RFC Patch 2\"",
            |b| {
                (
                    b["displayName"] == "RFC Patch 2",
                    format!("displayName {}", shown(&b["displayName"])),
                )
            },
        ),
        (
            "patch replace without path",
            "RFC 7644 §3.5.2.3",
            json!([{"op": "replace", "value": {"displayName": "RFC Patch 3"}}]),
            "displayName is \"RFC Patch 3\"",
            |b| {
                (
                    b["displayName"] == "RFC Patch 3",
                    format!("displayName {}", shown(&b["displayName"])),
                )
            },
        ),
        (
            "patch replace sub-attribute",
            "RFC 7644 §3.5.2.3",
            json!([{"op": "replace", "path": "name.givenName", "value": "Rfc2"}]),
            "name.givenName is \"Rfc2\" and name.familyName is kept",
            |b| {
                (
                    b["name"]["givenName"] == "Rfc2" && b["name"]["familyName"] == "Patch",
                    format!("name {}", shown(&b["name"])),
                )
            },
        ),
        (
            "patch replace with URN path",
            "RFC 7644 §3.5.2.3, §3.10",
            json!([{"op": "replace", "path": format!("{USER_URN}:title"), "value": "Urn Title"}]),
            "title is \"Urn Title\"",
            |b| {
                (
                    b["title"] == "Urn Title",
                    format!("title {}", shown(&b["title"])),
                )
            },
        ),
        (
            "patch replace with value filter",
            "RFC 7644 §3.5.2.3",
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value",
                    "value": "new.work@example.com"}]),
            "the work email's value is replaced, the home email kept",
            |b| {
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
            },
        ),
        (
            "patch remove with path",
            "RFC 7644 §3.5.2.2",
            json!([{"op": "remove", "path": "nickName"}]),
            "nickName is gone",
            |b| {
                (
                    b.get("nickName").is_none_or(Value::is_null),
                    format!("nickName {}", shown(&b["nickName"])),
                )
            },
        ),
        (
            "patch remove with value filter",
            "RFC 7644 §3.5.2.2",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            "the home email is gone, the work email kept",
            |b| {
                let emails = b["emails"].as_array().cloned().unwrap_or_default();
                (
                    emails.len() == 1 && emails[0]["type"] == "work",
                    format!("emails {}", shown(&b["emails"])),
                )
            },
        ),
    ];
    const NO_TARGET: &str = "patch remove without path is 400 noTarget";
    if !r.caps().patch {
        for (n, ..) in &cases {
            r.skip(
                n,
                "skipped: ServiceProviderConfig says patch.supported is false",
            );
        }
        r.skip(
            NO_TARGET,
            "skipped: ServiceProviderConfig says patch.supported is false",
        );
        return;
    }
    let n = r.user_name("patch");
    let mut setup = Probe::new("patch set-up");
    let Some(id) = r
        .fixture_user(
            &mut setup,
            user(
                &n,
                json!({"displayName": "RFC Patch", "title": "Probe",
                       "name": {"givenName": "Rfc", "familyName": "Patch"},
                       "emails": [{"type": "work", "value": format!("work.{n}")},
                                  {"type": "home", "value": format!("home.{n}")}]}),
            ),
        )
        .await
    else {
        r.finish(setup);
        return;
    };
    let path = format!("/Users/{}", segment(&id));
    for (name, section, ops, label, verify) in cases {
        let mut p = Probe::new(name).claimed("patch");
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
}

// ---------------------------------------------------------------------------------------------
// uniqueness: RFC 7644 §3.3, §3.12; userName unique and caseExact false (RFC 7643 §4.1.1)

pub(super) async fn uniqueness(r: &mut Runner<'_>) {
    let n = r.user_name("unique");
    let mut p = Probe::new("uniqueness duplicate userName is 409 uniqueness");
    if r.fixture_user(&mut p, user(&n, json!({}))).await.is_some() {
        let dup = r
            .create(&mut p, ObjectKind::User, user(&n, json!({})))
            .await;
        p.scim_error(must("RFC 7644 §3.3"), &dup, 409, Some("uniqueness"));
        let dup = r
            .create(&mut p, ObjectKind::User, user(&n.to_uppercase(), json!({})))
            .await;
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
    let resp = r
        .create(
            &mut p,
            ObjectKind::User,
            json!({"schemas": [USER_URN], "displayName": "RFC No UserName"}),
        )
        .await;
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
    let req = Request::new(Method::POST, "/Users")
        .header("Content-Type", "application/scim+json; charset=utf-8")
        .header("Accept", SCIM_JSON)
        .json(user(&n, json!({})));
    let resp = r.send(&mut p, req).await;
    r.remember(ObjectKind::User, &resp);
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

    // reqwest sends `Accept: */*` when none is given: any media type, as with no header at
    // all (RFC 7231 §5.3.2).
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
    let Some(id) = r.fixture_user(&mut p, user(&n, json!({}))).await else {
        r.finish(p);
        return;
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
    let resp = r
        .send(
            &mut p,
            Request::new(Method::PUT, &path)
                .header("Content-Type", SCIM_JSON)
                .header("Accept", SCIM_JSON)
                .header("If-Match", "W/\"rfc-not-the-version\"")
                .json(user(&n, json!({"displayName": "RFC Etag"}))),
        )
        .await;
    p.scim_error(must("RFC 7644 §3.14"), &resp, 412, None);
    r.finish(p);
}
