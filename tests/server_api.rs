//! The reference server's protocol surface (issue 2), through HTTP as a client sees it: resources,
//! lists and searches, discovery, status codes, `scimType`s, headers, ETags, limits, concurrency,
//! the filter grammar (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

mod common;

use common::*;
use reqwest::Method;
use scimulator::server::ServerConfig;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

// ---------------------------------------------------------------- create, read, replace, delete

#[tokio::test]
async fn post_user_answers_201_with_location_meta_and_etag() {
    let s = server().await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "josue@contoso.com", "externalId": "x-1",
                    "name": {"givenName": "Josue", "familyName": "Tester"}, "active": true}),
        )
        .await;
    r.expect(201).assert_scim_json();
    let id = r.body["id"].as_str().expect("server-assigned id");
    assert!(!id.is_empty());
    let location = format!("{}/Users/{id}", s.url);
    assert_eq!(r.header("location"), Some(location.as_str()));
    let meta = &r.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], json!(location));
    assert!(meta["created"].is_string() && meta["lastModified"].is_string());
    assert_eq!(r.header("etag"), meta["version"].as_str());
    assert!(r.body["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(USER_URN)));
    assert_eq!(r.body["userName"], "josue@contoso.com");
    assert_eq!(r.body["name"]["familyName"], "Tester");

    // The Location is where the resource lives.
    let got = s.send(s.http.get(&location).bearer_auth(TOKEN)).await;
    got.expect(200).assert_scim_json();
    assert_eq!(got.body, r.body);
    assert_eq!(got.header("etag"), r.header("etag"));
}

#[tokio::test]
async fn post_group_answers_201_with_members() {
    let s = server().await;
    let u = s.user("a@x").await;
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_URN], "displayName": "IT-Admins", "members": [{"value": u}]}),
        )
        .await;
    r.expect(201).assert_scim_json();
    let gid = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("{}/Groups/{gid}", s.url).as_str())
    );
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(r.body["members"][0]["value"], json!(u));
    assert_eq!(
        r.body["members"][0]["$ref"],
        json!(format!("{}/Users/{u}", s.url))
    );
    // The user sees the membership in its read-only `groups`.
    let user = s.read(&format!("/Users/{u}")).await;
    assert_eq!(group_ids(&user), set(&[gid]));
    assert_eq!(user["groups"][0]["display"], "IT-Admins");
}

#[tokio::test]
async fn put_replaces_every_writable_attribute() {
    let s = server().await;
    let created = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "u@x", "title": "Engineer", "nickName": "n"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let r = s
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_URN], "userName": "u@x", "title": "Lead"}),
        )
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["title"], "Lead");
    assert!(r.body.get("nickName").is_none(), "PUT drops what it omits");
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    assert_ne!(
        r.header("etag"),
        Some(created["meta"]["version"].as_str().unwrap())
    );
    let got = s.read(&format!("/Users/{id}")).await;
    assert_eq!(got["title"], "Lead");
    assert!(got.get("nickName").is_none());
}

#[tokio::test]
async fn patch_answers_204_or_200_with_the_resource_when_attributes_are_asked() {
    let s = server().await;
    let id = s.user("p@x").await;
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "One"}]),
        )
        .await;
    r.expect(204);
    assert!(r.text.is_empty(), "204 has no body");
    assert!(r.header("etag").is_some());

    let r = s
        .patch_ops(
            &format!("/Users/{id}?attributes=title"),
            json!([{"op": "replace", "path": "title", "value": "Two"}]),
        )
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["title"], "Two");
    assert!(
        r.body.get("userName").is_none(),
        "only the asked attributes"
    );
    assert_eq!(s.read(&format!("/Users/{id}")).await["title"], "Two");
}

#[tokio::test]
async fn delete_answers_204_and_the_resource_is_gone() {
    let s = server().await;
    let id = s.user("d@x").await;
    let r = s.delete(&format!("/Users/{id}")).await;
    r.expect(204);
    assert!(r.text.is_empty());
    s.get(&format!("/Users/{id}")).await.assert_error(404, None);
    s.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    let gid = s.group("G", &[]).await;
    s.delete(&format!("/Groups/{gid}")).await.expect(204);
    s.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn unknown_ids_and_endpoints_are_404_scim_errors() {
    let s = server().await;
    for path in ["/Users/nope", "/Groups/nope"] {
        s.get(path).await.assert_error(404, None);
        s.delete(path).await.assert_error(404, None);
        s.put(path, &json!({"userName": "x", "displayName": "x"}))
            .await
            .assert_error(404, None);
        s.patch_ops(
            path,
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        )
        .await
        .assert_error(404, None);
    }
    s.get("/Nope").await.assert_error(404, None);
    // A user id is not a group id.
    let u = s.user("u@x").await;
    s.get(&format!("/Groups/{u}")).await.assert_error(404, None);
}

// ---------------------------------------------------------------- lists and searches

#[tokio::test]
async fn list_pages_with_start_index_and_count() {
    let s = server().await;
    for n in ["u1", "u2", "u3", "u4", "u5"] {
        s.user(n).await;
    }
    let all = s.list("/Users", &[]).await;
    assert_eq!(all["totalResults"], 5);
    assert_eq!(all["startIndex"], 1);
    assert_eq!(all["itemsPerPage"], 5);
    assert_eq!(
        names(&all),
        ["u1", "u2", "u3", "u4", "u5"],
        "creation order"
    );

    let page = s
        .list("/Users", &[("startIndex", "2"), ("count", "2")])
        .await;
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(names(&page), ["u2", "u3"]);

    let zero = s.list("/Users", &[("count", "0")]).await;
    assert_eq!(zero["totalResults"], 5);
    assert_eq!(zero["Resources"], json!([]));

    let past = s.list("/Users", &[("startIndex", "9")]).await;
    assert_eq!(past["totalResults"], 5);
    assert_eq!(past["Resources"], json!([]));

    // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1.
    let low = s
        .list("/Users", &[("startIndex", "0"), ("count", "1")])
        .await;
    assert_eq!(names(&low), ["u1"]);
    s.get_q("/Users", &[("count", "many")])
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn list_with_filter_attributes_and_excluded_attributes() {
    let s = server().await;
    s.create(
        "/Users",
        json!({"schemas": [USER_URN], "userName": "a@x", "title": "T",
               "name": {"givenName": "A", "familyName": "F"},
               "emails": [{"type": "work", "value": "a@x"}]}),
    )
    .await;
    s.user("b@x").await;

    let l = s
        .list(
            "/Users",
            &[
                ("filter", "userName eq \"a@x\""),
                ("attributes", "userName,name.givenName"),
            ],
        )
        .await;
    assert_eq!(l["totalResults"], 1);
    let u = &l["Resources"][0];
    assert!(u["id"].is_string(), "id is always returned");
    assert_eq!(u["userName"], "a@x");
    assert_eq!(u["name"], json!({"givenName": "A"}));
    assert!(u.get("title").is_none() && u.get("emails").is_none());

    let l = s
        .list(
            "/Users",
            &[
                ("filter", "userName eq \"a@x\""),
                ("excludedAttributes", "emails,name"),
            ],
        )
        .await;
    let u = &l["Resources"][0];
    assert_eq!(u["title"], "T");
    assert!(u.get("emails").is_none() && u.get("name").is_none());
    assert!(u["id"].is_string());
}

#[tokio::test]
async fn list_sorts_by_sort_by_and_sort_order() {
    let s = server().await;
    for (u, family) in [
        ("carol", Some("Adams")),
        ("alice", None),
        ("Bob", Some("Zed")),
    ] {
        let mut body = json!({"schemas": [USER_URN], "userName": u});
        if let Some(f) = family {
            body["name"] = json!({"familyName": f});
        }
        s.create("/Users", body).await;
    }
    let asc = s.list("/Users", &[("sortBy", "userName")]).await;
    assert_eq!(names(&asc), ["alice", "Bob", "carol"]);
    let desc = s
        .list(
            "/Users",
            &[("sortBy", "userName"), ("sortOrder", "descending")],
        )
        .await;
    assert_eq!(names(&desc), ["carol", "Bob", "alice"]);
    // Unassigned values sort last in both orders (RFC 7644 §3.4.2.3).
    let by_family = s.list("/Users", &[("sortBy", "name.familyName")]).await;
    assert_eq!(names(&by_family), ["carol", "Bob", "alice"]);
    let by_family = s
        .list(
            "/Users",
            &[("sortBy", "name.familyName"), ("sortOrder", "descending")],
        )
        .await;
    assert_eq!(names(&by_family), ["Bob", "carol", "alice"]);
    // Sort, then page.
    let page = s
        .list(
            "/Users",
            &[("sortBy", "userName"), ("startIndex", "2"), ("count", "1")],
        )
        .await;
    assert_eq!(names(&page), ["Bob"]);
    s.get_q(
        "/Users",
        &[("sortBy", "userName"), ("sortOrder", "sideways")],
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn post_search_at_the_root_and_under_a_resource_type() {
    let s = server().await;
    s.create(
        "/Users",
        json!({"schemas": [USER_URN], "userName": "shared.user", "displayName": "Shared User", "title": "T"}),
    )
    .await;
    s.user("other").await;
    s.group("Shared Group", &[]).await;

    let r = s
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_URN], "filter": "userName sw \"shared\"",
                    "attributes": ["userName"], "startIndex": 1, "count": 10}),
        )
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "shared.user");
    assert!(r.body["Resources"][0].get("title").is_none());

    // The root search spans users and groups.
    let r = s
        .post(
            "/.search",
            &json!({"schemas": [SEARCH_URN], "filter": "displayName sw \"shared\"",
                    "excludedAttributes": ["members"]}),
        )
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["totalResults"], 2);
    let types: BTreeSet<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from(["User", "Group"]));

    // Paging across both types.
    let r = s
        .post(
            "/.search",
            &json!({"schemas": [SEARCH_URN], "startIndex": 3, "count": 5}),
        )
        .await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["Resources"][0]["displayName"], "Shared Group");

    s.post(
        "/Users/.search",
        &json!({"schemas": [SEARCH_URN], "filter": "userName eq"}),
    )
    .await
    .assert_error(400, Some("invalidFilter"));
    s.post("/.search", &json!({"schemas": [USER_URN]}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.get("/.search").await.assert_error(405, None);
}

// ---------------------------------------------------------------- discovery

#[tokio::test]
async fn service_provider_config_advertises_what_the_server_does() {
    let s = server().await;
    let c = s.read("/ServiceProviderConfig").await;
    assert_eq!(c["schemas"], json!([SPC_URN]));
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["bulk"]["supported"], false);
    assert_eq!(c["filter"]["supported"], true);
    assert!(c["filter"]["maxResults"].as_u64().unwrap() >= 100);
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    assert!(c["changePassword"]["supported"].is_boolean());
    let schemes = c["authenticationSchemes"].as_array().unwrap();
    assert!(schemes.iter().any(|x| x["type"] == "oauthbearertoken"));
    // Bulk is not supported, and says so with the status RFC 7644 §3.7 implies.
    let r = s.post("/Bulk", &json!({})).await;
    assert_eq!(r.status, 501, "{}", r.text);
}

#[tokio::test]
async fn a_page_never_exceeds_the_advertised_max_results() {
    use scimulator::scim::kind::ObjectKind;
    use scimulator::scim::resource::normalize;
    let s = server().await;
    let max = s.read("/ServiceProviderConfig").await["filter"]["maxResults"]
        .as_u64()
        .unwrap() as usize;
    // Loaded through the store: the HTTP path is not what this test is about.
    for i in 0..max + 5 {
        let n = normalize(
            &json!({"userName": format!("bulk{i}")}),
            ObjectKind::User.rt(),
        )
        .unwrap();
        s.server.store.create(ObjectKind::User, n).unwrap();
    }
    let l = s.list("/Users", &[("count", "100000")]).await;
    assert_eq!(l["totalResults"], max + 5);
    assert_eq!(l["itemsPerPage"], max);
    assert_eq!(l["Resources"].as_array().unwrap().len(), max);
    let rest = s
        .list("/Users", &[("startIndex", &(max + 1).to_string())])
        .await;
    assert_eq!(rest["itemsPerPage"], 5);
}

#[tokio::test]
async fn resource_types_list_and_by_id() {
    let s = server().await;
    let l = s.read("/ResourceTypes").await;
    assert_eq!(l["schemas"], json!([LIST_URN]));
    assert_eq!(l["totalResults"], 2);
    let user = l["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "User")
        .expect("User resource type")
        .clone();
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_URN);
    assert!(user["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["schema"] == ENTERPRISE_URN));

    let g = s.read("/ResourceTypes/Group").await;
    assert_eq!(g["endpoint"], "/Groups");
    assert_eq!(g["schema"], GROUP_URN);
    assert_eq!(s.read("/ResourceTypes/User").await, user);
    s.get("/ResourceTypes/Printer")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn schemas_list_and_by_id() {
    let s = server().await;
    let l = s.read("/Schemas").await;
    let ids: BTreeSet<&str> = l["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(ids.is_superset(&BTreeSet::from([USER_URN, GROUP_URN, ENTERPRISE_URN])));

    let u = s.read(&format!("/Schemas/{USER_URN}")).await;
    assert_eq!(u["id"], USER_URN);
    let user_name = u["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName is described");
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["uniqueness"], "server");
    let password = u["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .expect("password is described");
    assert_eq!(password["returned"], "never");
    assert_eq!(
        s.read(&format!("/Schemas/{ENTERPRISE_URN}")).await["id"],
        ENTERPRISE_URN
    );
    s.get("/Schemas/urn:nope").await.assert_error(404, None);
}

#[tokio::test]
async fn discovery_endpoints_refuse_writes_with_405() {
    let s = server().await;
    let paths = [
        "/ServiceProviderConfig".to_string(),
        "/ResourceTypes".to_string(),
        "/ResourceTypes/User".to_string(),
        "/Schemas".to_string(),
        format!("/Schemas/{USER_URN}"),
    ];
    for path in &paths {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = s.send_json(s.request(m.clone(), path), &json!({})).await;
            r.assert_error(405, None);
            // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
            assert_eq!(r.header("allow"), Some("GET, HEAD"), "{m} {path}");
        }
    }
    // And resources refuse methods they do not have.
    let r = s.send(s.request(Method::DELETE, "/Users")).await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    // HEAD is GET without a body.
    let r = s.send(s.request(Method::HEAD, "/Users")).await;
    assert_eq!(r.status, 200);
    assert!(r.text.is_empty(), "HEAD answers carry no body");
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn duplicate_user_name_and_group_display_name_are_409_uniqueness() {
    let s = server().await;
    let a = s.user("Josue@Contoso.com").await;
    // userName is caseExact=false (RFC 7643 §4.1.1), so case does not make it new.
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "josue@contoso.COM"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    // Renaming another user onto it, by PUT or PATCH, is the same conflict.
    let b = s.user("b@contoso.com").await;
    s.put(
        &format!("/Users/{b}"),
        &json!({"schemas": [USER_URN], "userName": "JOSUE@contoso.com"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    s.patch_ops(
        &format!("/Users/{b}"),
        json!([{"op": "replace", "path": "userName", "value": "josue@contoso.com"}]),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(
        s.read(&format!("/Users/{b}")).await["userName"],
        "b@contoso.com"
    );
    // A user may change the case of its own userName.
    s.patch_ops(
        &format!("/Users/{a}"),
        json!([{"op": "replace", "path": "userName", "value": "josue@contoso.com"}]),
    )
    .await
    .expect(204);

    let g = s.group("IT-Admins", &[]).await;
    for name in ["IT-Admins", "it-admins"] {
        s.post(
            "/Groups",
            &json!({"schemas": [GROUP_URN], "displayName": name}),
        )
        .await
        .assert_error(409, Some("uniqueness"));
    }
    let other = s.group("Other", &[]).await;
    s.put(
        &format!("/Groups/{other}"),
        &json!({"schemas": [GROUP_URN], "displayName": "IT-ADMINS"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    // Renaming a group to a free name frees its old one.
    s.patch_ops(
        &format!("/Groups/{g}"),
        json!([{"op": "replace", "path": "displayName", "value": "Admins"}]),
    )
    .await
    .expect(204);
    s.group("it-admins", &[]).await;
    // Once the holder is gone, the name is free again.
    s.delete(&format!("/Users/{a}")).await.expect(204);
    s.user("JOSUE@contoso.com").await;
}

#[tokio::test]
async fn bad_requests_are_400_with_the_right_scim_type() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "u@x",
                   "emails": [{"type": "work", "value": "u@x"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = format!("/Users/{id}");

    // invalidFilter
    for f in [
        "userName eq",
        "userName zz \"x\"",
        "(userName pr",
        "emails[type eq \"work\"",
        "userName eq \"unterminated",
        "active gt true",
    ] {
        s.get_q("/Users", &[("filter", f)])
            .await
            .assert_error(400, Some("invalidFilter"));
    }

    // invalidSyntax: not JSON, no body, not a PatchOp, wrong schemas
    let r = s
        .send(
            s.request(Method::POST, "/Users")
                .header("content-type", SCIM_JSON)
                .body("{not json"),
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    s.send(s.request(Method::POST, "/Users"))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.patch(&user, &json!({"schemas": [PATCH_URN]}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.patch_ops(
        &user,
        json!([{"op": "jump", "path": "title", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    s.post(
        "/Users",
        &json!({"schemas": [GROUP_URN], "userName": "v@x"}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));

    // invalidValue: required attribute missing, wrong types
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "title": "no userName"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "v@x", "active": "maybe"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.post(
        "/Groups",
        &json!({"schemas": [GROUP_URN], "displayName": "G", "members": [{"value": "no-such-id"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.patch_ops(
        &user,
        json!([{"op": "replace", "path": "name", "value": "flat"}]),
    )
    .await
    .assert_error(400, Some("invalidValue"));

    // invalidPath
    s.patch_ops(
        &user,
        json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    s.patch_ops(
        &user,
        json!([{"op": "replace", "path": "a b", "value": "x"}]),
    )
    .await
    .assert_error(400, Some("invalidPath"));

    // noTarget: remove without path; a filter that matches nothing and cannot create
    s.patch_ops(&user, json!([{"op": "remove"}]))
        .await
        .assert_error(400, Some("noTarget"));
    s.patch_ops(
        &user,
        json!([{"op": "replace", "path": "emails[value co \"zzz\"].value", "value": "y"}]),
    )
    .await
    .assert_error(400, Some("noTarget"));

    // mutability: readOnly id, required userName removed
    s.patch_ops(
        &user,
        json!([{"op": "replace", "path": "id", "value": "other"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    s.patch_ops(&user, json!([{"op": "remove", "path": "userName"}]))
        .await
        .assert_error(400, Some("mutability"));
    s.patch_ops(
        &user,
        json!([{"op": "replace", "value": {"id": "someone-else"}}]),
    )
    .await
    .assert_error(400, Some("mutability"));

    // None of the failed PATCHes changed anything.
    let u = s.read(&user).await;
    assert_eq!(u["meta"]["version"], "W/\"1\"");
    assert_eq!(u["userName"], "u@x");
}

#[tokio::test]
async fn a_failing_patch_changes_nothing() {
    let s = server().await;
    let id = s.user("atomic@x").await;
    let path = format!("/Users/{id}");
    s.patch_ops(
        &path,
        json!([{"op": "replace", "path": "title", "value": "changed"},
               {"op": "remove", "path": "userName"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    let u = s.read(&path).await;
    assert!(u.get("title").is_none(), "all or nothing: {u}");
}

#[tokio::test]
async fn missing_or_wrong_bearer_token_is_401_with_a_scim_error() {
    let s = server().await;
    let url = s.at("/Users");
    let cases = [
        s.http.get(&url),
        s.http.get(&url).bearer_auth("wrong"),
        s.http.get(&url).bearer_auth("tt"),
        s.http.get(&url).basic_auth("t", Some("t")),
        s.http.get(&url).header("authorization", "Bearer"),
    ];
    for rb in cases {
        let r = s.send(rb).await;
        r.assert_error(401, None);
        assert!(r
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")));
    }
    // Writes are refused too, and nothing is created.
    let r = s
        .send(s.http.post(&url).header("content-type", SCIM_JSON).body(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"intruder"}"#,
        ))
        .await;
    r.assert_error(401, None);
    let l = s.list("/Users", &[]).await;
    assert_eq!(l["totalResults"], 0);
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let r = s
        .send(
            s.http
                .get(&url)
                .header("authorization", format!("bearer {TOKEN}")),
        )
        .await;
    r.expect(200);
}

// ---------------------------------------------------------------- semantics

#[tokio::test]
async fn inactive_users_stay_visible_to_filters_and_reads() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "gone@x", "externalId": "e-1", "active": true}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await
    .expect(204);
    assert_eq!(s.users_matching("userName eq \"gone@x\"").await, ["gone@x"]);
    assert_eq!(s.users_matching("externalId eq \"e-1\"").await, ["gone@x"]);
    assert_eq!(s.users_matching("active eq false").await, ["gone@x"]);
    assert_eq!(s.list("/Users", &[]).await["totalResults"], 1);
    assert_eq!(s.read(&format!("/Users/{id}")).await["active"], false);
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_its_groups() {
    let s = server().await;
    let a = s.user("a@x").await;
    let b = s.user("b@x").await;
    let g1 = s.group("G1", &[&a, &b]).await;
    let g2 = s.group("G2", &[&a]).await;
    let before = s.get(&format!("/Groups/{g1}")).await;
    s.delete(&format!("/Users/{a}")).await.expect(204);

    let after = s.get(&format!("/Groups/{g1}")).await;
    after.expect(200);
    assert_eq!(member_ids(&after.body), set(&[&b]));
    assert_ne!(
        after.header("etag"),
        before.header("etag"),
        "the group changed, so its version did"
    );
    let g2 = s.read(&format!("/Groups/{g2}")).await;
    assert_eq!(member_ids(&g2), BTreeSet::new());
    let hits = s
        .list(
            "/Groups",
            &[("filter", &format!("members[value eq \"{a}\"]"))],
        )
        .await;
    assert_eq!(hits["totalResults"], 0);
    assert_eq!(
        group_ids(&s.read(&format!("/Users/{b}")).await),
        set(&[&g1])
    );
}

#[tokio::test]
async fn deleting_a_group_removes_it_from_users_groups() {
    let s = server().await;
    let a = s.user("a@x").await;
    let g = s.group("G", &[&a]).await;
    assert_eq!(group_ids(&s.read(&format!("/Users/{a}")).await), set(&[&g]));
    s.delete(&format!("/Groups/{g}")).await.expect(204);
    assert!(s.read(&format!("/Users/{a}")).await.get("groups").is_none());
}

#[tokio::test]
async fn password_is_accepted_and_never_returned() {
    let s = server().await;
    let secret = "S3cr3t-Passw0rd";
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "pw@x", "password": secret}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let mut answers = vec![r.text];
    answers.push(s.get(&path).await.text);
    answers.push(
        s.get(&format!("{path}?attributes=password,userName"))
            .await
            .text,
    );
    answers.push(
        s.get_q("/Users", &[("filter", "userName eq \"pw@x\"")])
            .await
            .text,
    );
    answers.push(
        s.post(
            "/.search",
            &json!({"schemas": [SEARCH_URN], "attributes": ["password"]}),
        )
        .await
        .text,
    );
    let put = s
        .put(
            &path,
            &json!({"schemas": [USER_URN], "userName": "pw@x", "password": "other-secret"}),
        )
        .await;
    put.expect(200);
    answers.push(put.text);
    let patch = s
        .patch_ops(
            &format!("{path}?attributes=password,userName"),
            json!([{"op": "replace", "path": "password", "value": "third-secret"}]),
        )
        .await;
    patch.expect(200);
    answers.push(patch.text);
    for a in answers {
        assert!(!a.contains("password"), "password leaked: {a}");
        assert!(
            !a.contains("secret") && !a.contains(secret),
            "password leaked: {a}"
        );
    }
    // Nor can a filter probe it.
    assert!(s.users_matching("password pr").await.is_empty());
}

#[tokio::test]
async fn etags_if_match_and_if_none_match() {
    let s = server().await;
    let id = s.user("e@x").await;
    let path = format!("/Users/{id}");
    let r = s.get(&path).await;
    let v1 = r.header("etag").expect("GET has an ETag").to_string();
    assert_eq!(r.body["meta"]["version"], json!(v1));

    // If-None-Match with the current version: 304 without a body.
    let r = s
        .send(s.request(Method::GET, &path).header("if-none-match", &v1))
        .await;
    r.expect(304);
    assert!(r.text.is_empty());
    assert_eq!(r.header("etag"), Some(v1.as_str()));

    // Stale If-Match: 412 for PUT, PATCH and DELETE, and nothing changes.
    let stale = "W/\"999\"";
    let put = json!({"schemas": [USER_URN], "userName": "e@x", "title": "put"});
    let patch = patch_body(json!([{"op": "replace", "path": "title", "value": "patch"}]));
    s.send_json(
        s.request(Method::PUT, &path).header("if-match", stale),
        &put,
    )
    .await
    .assert_error(412, None);
    s.send_json(
        s.request(Method::PATCH, &path).header("if-match", stale),
        &patch,
    )
    .await
    .assert_error(412, None);
    s.send(s.request(Method::DELETE, &path).header("if-match", stale))
        .await
        .assert_error(412, None);
    assert!(s.read(&path).await.get("title").is_none());

    // The right ETag lets the write through and yields a new one.
    let r = s
        .send_json(
            s.request(Method::PATCH, &path).header("if-match", &v1),
            &patch,
        )
        .await;
    r.expect(204);
    let v2 = r.header("etag").expect("PATCH has an ETag").to_string();
    assert_ne!(v1, v2);
    // The old one is now stale, for reads too.
    s.send_json(s.request(Method::PUT, &path).header("if-match", &v1), &put)
        .await
        .assert_error(412, None);
    let r = s
        .send(s.request(Method::GET, &path).header("if-none-match", &v1))
        .await;
    r.expect(200);
    assert_eq!(r.body["title"], "patch");
    let r = s
        .send_json(s.request(Method::PUT, &path).header("if-match", &v2), &put)
        .await;
    r.expect(200);
    let v3 = r.header("etag").unwrap().to_string();
    s.send(s.request(Method::DELETE, &path).header("if-match", &v3))
        .await
        .expect(204);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut cfg = ServerConfig::local().with_token(TOKEN);
    cfg.max_body = 1024;
    let s = server_with(cfg).await;
    let big = "x".repeat(2048);
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "big@x", "title": big}),
    )
    .await
    .assert_error(413, None);
    let id = s.user("small@x").await;
    s.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": big}]),
    )
    .await
    .assert_error(413, None);
    s.post(
        "/.search",
        &json!({"schemas": [SEARCH_URN], "filter": format!("title eq \"{big}\"")}),
    )
    .await
    .assert_error(413, None);
    // A chunked body has no Content-Length to refuse up front; it is cut off at the limit.
    let body = json!({"schemas": [USER_URN], "userName": "chunked@x", "title": big}).to_string();
    let addr = s.server.addr;
    let (status, _, text) = raw_http(
        addr,
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert_eq!(s.list("/Users", &[]).await["totalResults"], 1);
}

#[tokio::test]
async fn fifty_parallel_posts_with_distinct_user_names_all_succeed() {
    let s = server().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (http, url) = (s.http.clone(), s.at("/Users"));
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", SCIM_JSON)
                .body(
                    json!({"schemas": [USER_URN], "userName": format!("user{i:02}@x")}).to_string(),
                )
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body["id"].as_str().unwrap_or("").to_string())
        }));
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert_eq!(status, 201);
        ids.insert(id);
    }
    assert_eq!(ids.len(), 50, "distinct ids");
    let l = s.list("/Users", &[]).await;
    assert_eq!(l["totalResults"], 50);
    let listed: BTreeSet<String> = l["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn twenty_parallel_posts_of_the_same_user_name_create_exactly_one() {
    let s = server().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (http, url) = (s.http.clone(), s.at("/Users"));
        // Vary the case: uniqueness is case-insensitive.
        let name = if i % 2 == 0 { "Same@X" } else { "same@x" };
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", SCIM_JSON)
                .body(json!({"schemas": [USER_URN], "userName": name}).to_string())
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body)
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert_eq!(body["scimType"], "uniqueness"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(s.list("/Users", &[]).await["totalResults"], 1);
}

#[tokio::test]
async fn thirty_parallel_member_adds_to_one_group_lose_nothing() {
    let s = server().await;
    let mut users = BTreeSet::new();
    for i in 0..30 {
        users.insert(s.user(&format!("m{i}@x")).await);
    }
    let g = s.group("Busy", &[]).await;
    let mut tasks = Vec::new();
    for u in &users {
        let (http, url) = (s.http.clone(), s.at(&format!("/Groups/{g}")));
        let body = patch_body(json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]));
        tasks.push(tokio::spawn(async move {
            http.patch(url)
                .bearer_auth(TOKEN)
                .header("content-type", SCIM_JSON)
                .body(body.to_string())
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    let grp = s.read(&format!("/Groups/{g}")).await;
    assert_eq!(member_ids(&grp), users);
    assert_eq!(grp["meta"]["version"], "W/\"31\"", "one version per write");
}

// ---------------------------------------------------------------- the filter grammar

/// Four users covering every attribute shape the grammar reaches; returns their ids by short name.
async fn filter_fixture(s: &Scim) -> std::collections::BTreeMap<&'static str, String> {
    let bodies = [
        (
            "alice",
            json!({"schemas": [USER_URN, ENTERPRISE_URN, UMBRELLA_URN], "userName": "Alice@Contoso.com",
                   "externalId": "Ext-A", "displayName": "Alice Smith", "title": "Engineer", "active": true,
                   "name": {"givenName": "Alice", "familyName": "Smith"},
                   "emails": [{"type": "work", "value": "alice@contoso.com", "primary": true},
                              {"type": "home", "value": "alice@home.example"}],
                   ENTERPRISE_URN: {"department": "R&D", "employeeNumber": "100"},
                   UMBRELLA_URN: {"nativeObjectId": "N-A", "level": 3}}),
        ),
        (
            "bob",
            json!({"schemas": [USER_URN, ENTERPRISE_URN, UMBRELLA_URN], "userName": "bob@contoso.com",
                   "externalId": "ext-b", "title": "Manager", "active": false,
                   "name": {"givenName": "Bob", "familyName": "Jones"},
                   "emails": [{"type": "work", "value": "bob@x.example"}],
                   ENTERPRISE_URN: {"department": "Sales", "employeeNumber": "200"},
                   UMBRELLA_URN: {"nativeObjectId": "N-B", "level": 5}}),
        ),
        (
            "carol",
            json!({"schemas": [USER_URN], "userName": "carol@fabrikam.com", "nickName": "cc", "active": true,
                   "name": {"givenName": "Carol", "familyName": "Adams"},
                   "emails": [{"type": "home", "value": "carol@x.example"}]}),
        ),
        (
            "dave",
            json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "Dave@Fabrikam.com", "externalId": "EXT-D",
                   "active": true,
                   "emails": [{"type": "work", "value": "dave@contoso.com"}, {"type": "other", "value": "dave@x.example"}],
                   ENTERPRISE_URN: {"department": "r&d"}}),
        ),
    ];
    let mut ids = std::collections::BTreeMap::new();
    for (k, b) in bodies {
        ids.insert(
            k,
            s.create("/Users", b).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

fn c(filter: impl Into<String>, want: &[&str]) -> (String, BTreeSet<String>) {
    (filter.into(), set(want))
}

/// Short names of the fixture users a filter returns (userName's local part, lower-cased).
async fn who(s: &Scim, filter: &str) -> BTreeSet<String> {
    s.users_matching(filter)
        .await
        .into_iter()
        .map(|u| u.split('@').next().unwrap().to_lowercase())
        .collect()
}

#[tokio::test]
async fn filter_grammar_operators_logic_and_case_rules() {
    let s = server().await;
    let ids = filter_fixture(&s).await;
    let alice_id = &ids["alice"];
    let cases = vec![
        // eq, with userName caseExact=false and operators/attribute names case-insensitive
        c("userName eq \"alice@contoso.com\"", &["alice"]),
        c("USERNAME EQ \"ALICE@CONTOSO.COM\"", &["alice"]),
        c("userName Eq \"dave@fabrikam.com\"", &["dave"]),
        // externalId and id are caseExact
        c("externalId eq \"ext-a\"", &[]),
        c("externalId eq \"Ext-A\"", &["alice"]),
        c("externalid EQ \"EXT-D\"", &["dave"]),
        c(format!("id eq \"{alice_id}\""), &["alice"]),
        c(format!("id eq \"{}\"", alice_id.to_uppercase()), &[]),
        // the other comparison operators
        c(
            "userName ne \"alice@contoso.com\"",
            &["bob", "carol", "dave"],
        ),
        c("userName co \"FABRIKAM\"", &["carol", "dave"]),
        c("userName CO \"contoso\"", &["alice", "bob"]),
        c("userName sw \"B\"", &["bob"]),
        c("userName ew \".COM\"", &["alice", "bob", "carol", "dave"]),
        c("title pr", &["alice", "bob"]),
        c("externalId PR", &["alice", "bob", "dave"]),
        c("name.familyName gt \"Jones\"", &["alice"]),
        c("name.familyName ge \"jones\"", &["alice", "bob"]),
        c("name.familyName lt \"Jones\"", &["carol"]),
        c("name.familyName LE \"JONES\"", &["bob", "carol"]),
        c(
            "meta.created gt \"2000-01-01T00:00:00Z\"",
            &["alice", "bob", "carol", "dave"],
        ),
        c("meta.lastModified ge \"2999-01-01T00:00:00Z\"", &[]),
        c("active eq false", &["bob"]),
        c("active eq true", &["alice", "carol", "dave"]),
        c("userName eq \"nobody@nowhere\"", &[]),
        // and, or, not, precedence and parentheses
        c("title eq \"engineer\" and active eq true", &["alice"]),
        c(
            "title eq \"Manager\" or nickName eq \"cc\"",
            &["bob", "carol"],
        ),
        c(
            "title eq \"Manager\" OR nickName eq \"cc\" AND active eq false",
            &["bob"],
        ),
        c("not (userName co \"contoso\")", &["carol", "dave"]),
        c(
            "NOT (userName co \"contoso\") and not (externalId pr)",
            &["carol"],
        ),
        // `and` binds tighter than `or` (RFC 7644 §3.4.2.2) unless parentheses say otherwise
        c(
            "userName sw \"a\" or userName sw \"b\" and active eq true",
            &["alice"],
        ),
        c(
            "(userName sw \"a\" or userName sw \"b\") and active eq false",
            &["bob"],
        ),
        c(
            "userName sw \"a\" or (userName sw \"b\" and active eq false)",
            &["alice", "bob"],
        ),
        c("((userName sw \"c\"))", &["carol"]),
        // complex attribute filters and sub-attributes
        c(
            "emails[type eq \"work\" and value co \"@contoso\"]",
            &["alice", "dave"],
        ),
        c("emails[type eq \"work\" and value co \"@x\"]", &["bob"]),
        c("emails[type eq \"home\"]", &["alice", "carol"]),
        c(
            "emails[not (type eq \"work\")]",
            &["alice", "carol", "dave"],
        ),
        c(
            "emails[type eq \"work\" or primary eq true] and active eq true",
            &["alice", "dave"],
        ),
        c(
            "emails[type eq \"work\"].value eq \"dave@contoso.com\"",
            &["dave"],
        ),
        c("emails.value ew \"x.example\"", &["bob", "carol", "dave"]),
        c("emails.type eq \"other\"", &["dave"]),
        c("emails co \"home.example\"", &["alice"]),
        c("name.givenName eq \"carol\"", &["carol"]),
        // URN-prefixed attributes: core, enterprise, and an extension the server does not know
        c(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"carol\"",
            &["carol"],
        ),
        c(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq \"bob\"",
            &["bob"],
        ),
        c(
            format!("{ENTERPRISE_URN}:department eq \"R&D\""),
            &["alice", "dave"],
        ),
        c(
            format!("{ENTERPRISE_URN}:employeeNumber gt \"150\""),
            &["bob"],
        ),
        c(
            format!("{ENTERPRISE_URN}:department pr"),
            &["alice", "bob", "dave"],
        ),
        c(
            format!("{UMBRELLA_URN}:nativeObjectId eq \"N-A\""),
            &["alice"],
        ),
        c(format!("{UMBRELLA_URN}:level ge 3"), &["alice", "bob"]),
        c(format!("{UMBRELLA_URN}:level lt 4"), &["alice"]),
    ];
    for (filter, want) in cases {
        assert_eq!(who(&s, &filter).await, want, "filter {filter}");
    }
}

#[tokio::test]
async fn filter_string_literals_with_escapes_and_non_ascii() {
    let s = server().await;
    s.user("o\"neil@x").await;
    s.user("zoë@x").await;
    s.user("back\\slash@x").await;
    assert_eq!(
        s.users_matching(r#"userName eq "o\"neil@x""#).await,
        ["o\"neil@x"]
    );
    assert_eq!(s.users_matching(r#"userName eq "ZOË@X""#).await, ["zoë@x"]);
    assert_eq!(s.users_matching(r#"userName co "Ë""#).await, ["zoë@x"]);
    assert_eq!(
        s.users_matching(r#"userName sw "back\\""#).await,
        ["back\\slash@x"]
    );
    assert_eq!(
        s.users_matching(r#"userName eq "\u007a\u006f\u00eb@x""#)
            .await,
        ["zoë@x"]
    );
}

#[tokio::test]
async fn group_filters_on_display_name_external_id_and_members() {
    let s = server().await;
    let a = s.user("a@x").await;
    let b = s.user("b@x").await;
    let g1 = s
        .create(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": "IT-Admins", "externalId": "Ext-G",
                   "members": [{"value": a}, {"value": b}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let g2 = s.group("IT-Cloud-Admins", &[&b]).await;
    let ids = |l: Value| -> BTreeSet<String> {
        l["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect()
    };
    let sr = &s;
    let q = |f: String| async move { sr.list("/Groups", &[("filter", &f)]).await };
    assert_eq!(
        ids(q("displayName eq \"it-admins\"".into()).await),
        set(&[&g1])
    );
    assert_eq!(
        ids(q("displayName sw \"IT\"".into()).await),
        set(&[&g1, &g2])
    );
    assert_eq!(ids(q("externalId eq \"ext-g\"".into()).await), set(&[]));
    assert_eq!(ids(q("externalId eq \"Ext-G\"".into()).await), set(&[&g1]));
    assert_eq!(
        ids(q(format!("members[value eq \"{a}\"]")).await),
        set(&[&g1])
    );
    assert_eq!(
        ids(q(format!("members.value eq \"{b}\"")).await),
        set(&[&g1, &g2])
    );
    assert_eq!(
        ids(q(format!(
            "displayName co \"cloud\" and members[value eq \"{b}\"]"
        ))
        .await),
        set(&[&g2])
    );
}

// ---------------------------------------------------------------- PATCH paths

#[tokio::test]
async fn patch_paths_simple_sub_attribute_urn_and_value_filtered() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "p@x", "title": "Old", "displayName": "P",
                   "name": {"givenName": "Pat", "familyName": "Smith"},
                   "emails": [{"type": "work", "value": "p@work"}, {"type": "home", "value": "p@home"}],
                   "addresses": [{"type": "work", "formatted": "1 Main St"}, {"type": "home", "formatted": "2 Elm St"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    s.patch_ops(
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Patricia"},
            {"op": "add", "path": "nickName", "value": "Pat"},
            {"op": "remove", "path": "title"},
            {"op": "replace", "path": "name.givenName", "value": "Patricia"},
            {"op": "add", "path": format!("{ENTERPRISE_URN}:department"), "value": "Retail"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "patricia@work"},
            {"op": "replace", "path": "addresses[type eq \"work\"].formatted", "value": "18/2111"},
            {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "+1 555"}]}
        ]),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u["displayName"], "Patricia");
    assert_eq!(u["nickName"], "Pat");
    assert!(u.get("title").is_none());
    assert_eq!(
        u["name"],
        json!({"givenName": "Patricia", "familyName": "Smith"})
    );
    assert_eq!(u[ENTERPRISE_URN]["department"], "Retail");
    assert!(u["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE_URN)));
    assert_eq!(
        u["emails"],
        json!([{"type": "work", "value": "patricia@work"}, {"type": "home", "value": "p@home"}])
    );
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "formatted": "18/2111"}, {"type": "home", "formatted": "2 Elm St"}])
    );
    assert_eq!(
        u["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555"}])
    );

    // Removing a filtered entry, a URN-prefixed attribute, and a sub-attribute.
    s.patch_ops(
        &path,
        json!([
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "remove", "path": format!("{ENTERPRISE_URN}:department")},
            {"op": "remove", "path": "name.familyName"}
        ]),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(
        u["emails"],
        json!([{"type": "work", "value": "patricia@work"}])
    );
    assert!(
        u.get(ENTERPRISE_URN).is_none(),
        "an emptied extension goes: {u}"
    );
    assert!(!u["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE_URN)));
    assert_eq!(u["name"], json!({"givenName": "Patricia"}));
}

#[tokio::test]
async fn patch_members_add_remove_by_filter_and_replace() {
    let s = server().await;
    let a = s.user("a@x").await;
    let b = s.user("b@x").await;
    let c = s.user("c@x").await;
    let g = s.group("G", &[&a]).await;
    let path = format!("/Groups/{g}");
    s.patch_ops(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": b}, {"value": c}, {"value": a}]}]),
    )
    .await
    .expect(204);
    let grp = s.read(&path).await;
    assert_eq!(member_ids(&grp), set(&[&a, &b, &c]));
    assert_eq!(grp["members"].as_array().unwrap().len(), 3, "no duplicates");

    s.patch_ops(
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]),
    )
    .await
    .expect(204);
    assert_eq!(member_ids(&s.read(&path).await), set(&[&a, &c]));
    assert!(group_ids(&s.read(&format!("/Users/{b}")).await).is_empty());

    s.patch_ops(
        &path,
        json!([{"op": "replace", "path": "members", "value": [{"value": b}]}]),
    )
    .await
    .expect(204);
    assert_eq!(member_ids(&s.read(&path).await), set(&[&b]));

    s.patch_ops(&path, json!([{"op": "remove", "path": "members"}]))
        .await
        .expect(204);
    let grp = s.read(&path).await;
    assert!(member_ids(&grp).is_empty());
    assert_eq!(grp["displayName"], "G");
}

#[tokio::test]
async fn unknown_extension_attributes_are_stored_returned_filterable_and_patchable() {
    let s = server().await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN, UMBRELLA_URN], "userName": "umbrella@x",
                    UMBRELLA_URN: {"nativeObjectId": "0b7e-Native"}}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body[UMBRELLA_URN]["nativeObjectId"], "0b7e-Native");
    assert!(r.body["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(UMBRELLA_URN)));
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    assert_eq!(
        s.read(&path).await[UMBRELLA_URN]["nativeObjectId"],
        "0b7e-Native"
    );
    assert_eq!(
        s.users_matching(&format!("{UMBRELLA_URN}:nativeObjectId eq \"0b7e-Native\""))
            .await,
        ["umbrella@x"]
    );
    // attributes= can name it, as a URN-prefixed attribute or as the whole extension.
    let got = s
        .read(&format!("{path}?attributes={UMBRELLA_URN}:nativeObjectId"))
        .await;
    assert_eq!(got[UMBRELLA_URN]["nativeObjectId"], "0b7e-Native");
    assert!(got.get("userName").is_none());
    let got = s
        .read(&format!("{path}?excludedAttributes={UMBRELLA_URN}"))
        .await;
    assert!(got.get(UMBRELLA_URN).is_none());

    s.patch_ops(
        &path,
        json!([{"op": "replace", "path": format!("{UMBRELLA_URN}:nativeObjectId"), "value": "N-2"}]),
    )
    .await
    .expect(204);
    assert_eq!(s.read(&path).await[UMBRELLA_URN]["nativeObjectId"], "N-2");
    assert!(s
        .users_matching(&format!("{UMBRELLA_URN}:nativeObjectId eq \"0b7e-Native\""))
        .await
        .is_empty());
    // A PUT without the extension drops it (RFC 7644 §3.5.1).
    s.put(
        &path,
        &json!({"schemas": [USER_URN], "userName": "umbrella@x"}),
    )
    .await
    .expect(200);
    assert!(s.read(&path).await.get(UMBRELLA_URN).is_none());
}

#[tokio::test]
async fn responses_are_scim_json_even_for_json_requests() {
    let s = server().await;
    // A client sending plain application/json still gets application/scim+json back.
    let r = s
        .send(
            s.request(Method::POST, "/Users")
                .json(&json!({"schemas": [USER_URN], "userName": "json@x"})),
        )
        .await;
    r.expect(201).assert_scim_json();
    for path in [
        "/Users",
        "/Groups",
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/Schemas",
    ] {
        s.get(path).await.expect(200).assert_scim_json();
    }
}
