//! The request shapes real identity providers send, one test per shape, each named after the IdP
//! and the shape and citing its source (see `shared/reference/entra.md` and
//! `shared/reference/okta-duo-others.md`). Bodies are raw JSON exactly as the IdP sends them;
//! every test reads the resource back and asserts the state the request must leave.

mod common;

use common::*;
use serde_json::{json, Value};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

// ================================================================ Microsoft Entra ID

// Entra's default dialect sends `active` as a string, with PascalCase ops, and has been seen using
// `Add` for it as well.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// https://github.com/rancher/rancher/issues/52996, https://github.com/rancher/rancher/issues/54025
#[tokio::test]
async fn entra_patch_active_as_false_and_true_strings() {
    let s = server().await;
    let id = s.user("Test_User@contoso.com").await;
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u["active"], json!(false), "stored as a boolean");
    assert_eq!(s.users_matching("active eq false").await.len(), 1);

    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN],
                "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}),
    )
    .await
    .expect(204);
    assert_eq!(s.read(&path).await["active"], json!(true));

    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN],
                "Operations": [{"op": "Add", "path": "active", "value": "False"}]}),
    )
    .await
    .expect(204);
    assert_eq!(s.read(&path).await["active"], json!(false));
}

// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
#[tokio::test]
async fn entra_post_user_with_active_as_a_string() {
    let s = server().await;
    for (name, active, want) in [
        ("off@contoso.com", "False", false),
        ("on@contoso.com", "True", true),
    ] {
        let r = s
            .post(
                "/Users",
                &json!({"schemas": [USER_URN], "userName": name, "active": active}),
            )
            .await;
        r.expect(201);
        assert_eq!(r.body["active"], json!(want));
        assert_eq!(
            s.read(&format!("/Users/{}", id_of(&r.body))).await["active"],
            json!(want)
        );
    }
}

// Entra's ops are `Add`/`Replace`/`Remove`.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// https://github.com/thomaspoignant/scim-patch/pull/6
#[tokio::test]
async fn entra_pascal_case_replace_add_remove_ops() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "pascal@contoso.com", "title": "Old", "nickName": "N"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "Replace", "path": "title", "value": "New"},
            {"op": "Add", "path": "preferredLanguage", "value": "en-US"},
            {"op": "Remove", "path": "nickName"}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u["title"], "New");
    assert_eq!(u["preferredLanguage"], "en-US");
    assert!(u.get("nickName").is_none());
}

// With `aadOptscim062020`, Entra folds non-filtered attributes into one path-less replace whose
// value uses dotted keys and URN-prefixed keys.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// https://github.com/AzureAD/SCIMReferenceCode/issues/97
#[tokio::test]
async fn entra_aadoptscim062020_pathless_replace_with_dotted_and_urn_keys() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "flag@contoso.com",
                   "displayName": "Old", "active": false,
                   "name": {"givenName": "Old", "familyName": "Old", "formatted": "Old Old"},
                   ENTERPRISE_URN: {"department": "Sales", "employeeNumber": "1"}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
            "active": true}}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u["displayName"], "Bjfe");
    assert_eq!(
        u["name"],
        json!({"givenName": "Kkom", "familyName": "Unua", "formatted": "Old Old"}),
        "dotted keys address sub-attributes; the others stay"
    );
    assert_eq!(u[ENTERPRISE_URN]["employeeNumber"], "Aklq");
    assert_eq!(u[ENTERPRISE_URN]["department"], "Sales");
    assert_eq!(u["active"], true);
    assert!(
        u.get("name.givenName").is_none(),
        "no literal dotted key is stored: {u}"
    );
    assert!(
        u.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
            .is_none(),
        "no literal URN-prefixed key is stored: {u}"
    );
}

// Entra removes members with `Remove` + `path: members` + a `value` array; only those leave.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// https://github.com/MicrosoftDocs/azure-docs/issues/30826, https://github.com/AzureAD/SCIMReferenceCode/issues/10
#[tokio::test]
async fn entra_remove_members_with_a_value_array_removes_only_those() {
    let s = server().await;
    let a = s.user("a@contoso.com").await;
    let b = s.user("b@contoso.com").await;
    let c = s.user("c@contoso.com").await;
    let d = s.user("d@contoso.com").await;
    let g = s.group("Sales", &[&a, &b, &c, &d]).await;
    s.patch(
        &format!("/Groups/{g}"),
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "Remove", "path": "members",
                 "value": [{"$ref": null, "value": b}, {"value": c}]}]}),
    )
    .await
    .expect(204);
    let grp = s.read(&format!("/Groups/{g}")).await;
    assert_eq!(member_ids(&grp), set(&[&a, &d]));
    assert!(s.read(&format!("/Users/{b}")).await.get("groups").is_none());
    assert_eq!(group_ids(&s.read(&format!("/Users/{a}")).await), set(&[&g]));
}

// Entra creates a group, then adds members with `"$ref": null` next to each value.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
#[tokio::test]
async fn entra_add_members_with_null_ref() {
    let s = server().await;
    let a = s.user("a@contoso.com").await;
    let b = s.user("b@contoso.com").await;
    let g = s.group("Sales", &[]).await;
    let path = format!("/Groups/{g}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "Add", "path": "members",
                 "value": [{"$ref": null, "value": a}, {"$ref": null, "value": b}]}]}),
    )
    .await
    .expect(204);
    let grp = s.read(&path).await;
    assert_eq!(member_ids(&grp), set(&[&a, &b]));
    for m in grp["members"].as_array().unwrap() {
        let v = m["value"].as_str().unwrap();
        assert_eq!(m["$ref"], json!(format!("{}/Users/{v}", s.url)), "{grp}");
    }
}

// Add (or Replace) on `emails[type eq "work"].value` when there is no work email creates it.
// https://github.com/sourcegraph/sourcegraph-public-snapshot/pull/49200
// https://github.com/wireapp/wire-server/pull/5419
// https://github.com/Metatavu/keycloak-scim-server/issues/35
#[tokio::test]
async fn entra_add_on_filtered_email_path_creates_the_missing_entry() {
    let s = server().await;
    let id = s
        .create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "mail@contoso.com",
                   "emails": [{"type": "home", "value": "me@home.example"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "me@contoso.com"}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(
        u["emails"],
        json!([{"type": "home", "value": "me@home.example"},
               {"type": "work", "value": "me@contoso.com"}])
    );
    // A second Add updates the entry it created rather than adding another.
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u["emails"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.users_matching("emails[type eq \"work\"].value eq \"new@contoso.com\"")
            .await,
        ["mail@contoso.com"]
    );
    // And the same on a user with no emails at all.
    let other = s.user("bare@contoso.com").await;
    s.patch(
        &format!("/Users/{other}"),
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "bare@contoso.com"}]}),
    )
    .await
    .expect(204);
    assert_eq!(
        s.read(&format!("/Users/{other}")).await["emails"],
        json!([{"type": "work", "value": "bare@contoso.com"}])
    );
}

// Entra sends the manager in a POST as a bare id string inside the enterprise object.
// https://github.com/apache/directory-scimple/issues/1242
#[tokio::test]
async fn entra_post_user_with_manager_as_a_bare_id_string() {
    let s = server().await;
    let mgr = s.user("boss@contoso.com").await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "worker@contoso.com",
                    ENTERPRISE_URN: {"department": "R&D", "manager": mgr}}),
        )
        .await;
    r.expect(201);
    let u = s.read(&format!("/Users/{}", id_of(&r.body))).await;
    assert_eq!(u[ENTERPRISE_URN]["manager"], json!({"value": mgr}));
    assert_eq!(u[ENTERPRISE_URN]["department"], "R&D");
    assert_eq!(
        s.users_matching(&format!("{ENTERPRISE_URN}:manager.value eq \"{mgr}\""))
            .await,
        ["worker@contoso.com"]
    );
}

// Entra's reference pass sets the manager with a bare id string on the URN-prefixed path.
// https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/686
#[tokio::test]
async fn entra_patch_enterprise_manager_as_a_bare_id_string() {
    let s = server().await;
    let mgr = s.user("boss@contoso.com").await;
    let id = s.user("worker@contoso.com").await;
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": mgr}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u[ENTERPRISE_URN]["manager"], json!({"value": mgr}));
    assert!(u["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE_URN)));
}

// Manager removal with a value filter on the single-valued `manager`, URN-prefixed.
// https://github.com/thomaspoignant/scim-patch/issues/453
#[tokio::test]
async fn entra_remove_manager_by_value_filter_on_the_urn_path() {
    let s = server().await;
    let mgr = s.user("boss@contoso.com").await;
    let id = id_of(
        &s.create(
            "/Users",
            json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "worker@contoso.com",
                   ENTERPRISE_URN: {"department": "R&D", "manager": {"value": mgr}}}),
        )
        .await,
    );
    let path = format!("/Users/{id}");
    // A filter naming another manager leaves it alone. RFC 7644 §3.12 allows `noTarget` for a
    // filter that matches nothing; an idempotent 204 is just as good for the IdP.
    let r = s
        .patch(
            &path,
            &json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove",
                "path": format!("{ENTERPRISE_URN}:manager[value eq \"someone-else\"]")}]}),
        )
        .await;
    if r.status != 204 {
        r.assert_error(400, Some("noTarget"));
    }
    assert_eq!(
        s.read(&path).await[ENTERPRISE_URN]["manager"]["value"],
        json!(mgr)
    );
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove",
            "path": format!("{ENTERPRISE_URN}:manager[value eq \"{mgr}\"]")}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert!(u[ENTERPRISE_URN].get("manager").is_none(), "{u}");
    assert_eq!(u[ENTERPRISE_URN]["department"], "R&D");
}

// The form captured from Entra has no URN prefix: `manager[value eq "id"]`. `manager` is not a
// core attribute, so it can only mean the enterprise extension's.
// https://github.com/thomaspoignant/scim-patch/issues/453
#[tokio::test]
async fn entra_remove_manager_by_value_filter_without_urn() {
    let s = server().await;
    let mgr = s.user("boss@contoso.com").await;
    let id = id_of(
        &s.create(
            "/Users",
            json!({"schemas": [USER_URN, ENTERPRISE_URN], "userName": "worker@contoso.com",
                   ENTERPRISE_URN: {"manager": {"value": mgr}}}),
        )
        .await,
    );
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove",
            "path": format!("manager[value eq \"{mgr}\"]")}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert!(u.get(ENTERPRISE_URN).is_none(), "the manager is gone: {u}");
    assert!(u.get("manager").is_none(), "{u}");
}

// The Entra tutorial's (legacy) manager update: unprefixed `manager`, value a one-element array.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
#[tokio::test]
async fn entra_add_manager_without_urn_as_a_one_element_array() {
    let s = server().await;
    let mgr = s.user("boss@contoso.com").await;
    let id = s.user("worker@contoso.com").await;
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "Add", "path": "manager",
            "value": [{"$ref": format!("{}/Users/{mgr}", s.url), "value": mgr}]}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(u[ENTERPRISE_URN]["manager"]["value"], json!(mgr), "{u}");
    assert!(
        u.get("manager").is_none(),
        "not stored as a core attribute: {u}"
    );
}

// Entra lists a non-standard group schema next to the core one.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
#[tokio::test]
async fn entra_post_group_with_the_adscim_schema_urn() {
    let s = server().await;
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_URN, ADSCIM_GROUP_URN],
                    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                    "displayName": "Sales",
                    "meta": {"resourceType": "Group"}}),
        )
        .await;
    r.expect(201);
    let g = s.read(&format!("/Groups/{}", id_of(&r.body))).await;
    assert_eq!(g["displayName"], "Sales");
    assert_eq!(g["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(g["meta"]["resourceType"], "Group");
    assert!(
        g["meta"]["created"].is_string(),
        "the server's meta, not the client's"
    );
    let hits = s
        .list("/Groups", &[("filter", "displayName eq \"Sales\"")])
        .await;
    assert_eq!(hits["totalResults"], 1);
}

// Entra's user POST carries `meta`, `roles: []` and (with a mapping) a `password`.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
#[tokio::test]
async fn entra_post_user_with_meta_empty_roles_and_password() {
    let s = server().await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN, ENTERPRISE_URN],
                    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                    "active": true,
                    "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb@testuser.com"}],
                    "meta": {"resourceType": "User"},
                    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                    "roles": [],
                    "password": "Pa55w0rd!"}),
        )
        .await;
    r.expect(201);
    assert!(!r.text.contains("Pa55w0rd") && r.body.get("password").is_none());
    let u = s.read(&format!("/Users/{}", id_of(&r.body))).await;
    assert!(u.get("roles").is_none(), "an empty list is unassigned: {u}");
    assert!(u.get("password").is_none());
    assert_eq!(u["meta"]["resourceType"], "User");
    assert!(u["meta"]["location"].is_string());
    assert_eq!(u["emails"][0]["value"], "Test_User_11bb@testuser.com");
    assert_eq!(u["name"]["formatted"], "givenName familyName");
}

// Entra's GETs carry no SCIM media type (and no User-Agent); its POSTs use
// `application/scim+json; charset=utf-8`.
// https://github.com/MicrosoftDocs/azure-docs/issues/94189, https://github.com/MicrosoftDocs/azure-docs/issues/12728
// https://github.com/kortix-ai/suna/pull/7297
#[tokio::test]
async fn entra_get_without_accept_and_post_with_scim_json_charset() {
    let s = server().await;
    let body = json!({"schemas": [USER_URN], "userName": "charset@contoso.com"}).to_string();
    let r = s
        .send(
            s.http
                .post(s.at("/Users"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(body),
        )
        .await;
    r.expect(201).assert_scim_json();
    let id = id_of(&r.body);

    // A client asking for plain JSON is not refused (no 406).
    let r = s
        .send(
            s.http
                .get(s.at(&format!("/Users/{id}")))
                .bearer_auth(TOKEN)
                .header("accept", "application/json"),
        )
        .await;
    r.expect(200);

    let host = s.server.addr;
    let (status, headers, body) = raw_http(
        host,
        format!(
            "GET /scim/v2/Users/{id} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with(SCIM_JSON)));
    let u: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(u["userName"], "charset@contoso.com");

    let (status, _, body) = raw_http(
        host,
        format!(
            "GET /scim/v2/Users?filter=userName+eq+%22charset%40contoso.com%22 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let l: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(l["totalResults"], 1);
}

// Entra's query encoding: spaces as `+`, quotes as `%22`.
// https://github.com/MicrosoftDocs/azure-docs/issues/94189, https://github.com/MicrosoftDocs/azure-docs/issues/11784
#[tokio::test]
async fn entra_filter_encoded_with_plus_and_pct22() {
    let s = server().await;
    s.create(
        "/Users",
        json!({"schemas": [USER_URN], "userName": "alice@contoso.com", "externalId": "johnwong"}),
    )
    .await;
    s.user("bob@contoso.com").await;
    for q in [
        "filter=userName+eq+%22alice%40contoso.com%22",
        "filter=externalId+eq+%22johnwong%22",
        "filter=userName+eq+%22ALICE@contoso.com%22",
    ] {
        let r = s.get(&format!("/Users?{q}")).await;
        r.expect(200);
        assert_eq!(r.body["totalResults"], 1, "{q}: {}", r.text);
        assert_eq!(r.body["Resources"][0]["userName"], "alice@contoso.com");
    }
}

// Entra looks a group up by displayName without its members.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
#[tokio::test]
async fn entra_group_lookup_with_excluded_members() {
    let s = server().await;
    let a = s.user("a@contoso.com").await;
    let g = s.group("Sales", &[&a]).await;
    s.group("Marketing", &[&a]).await;
    let r = s
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22")
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["totalResults"], 1);
    let found = &r.body["Resources"][0];
    assert_eq!(found["id"], json!(g));
    assert_eq!(found["displayName"], "Sales");
    assert!(found.get("members").is_none(), "{found}");
    // And by id, as before a membership update.
    let got = s
        .read(&format!("/Groups/{g}?excludedAttributes=members"))
        .await;
    assert!(got.get("members").is_none());
    assert_eq!(
        member_ids(&s.read(&format!("/Groups/{g}")).await),
        set(&[&a])
    );
}

// Test Connection filters on a random GUID and expects 200 with an empty ListResponse.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-quarantine-status
#[tokio::test]
async fn entra_test_connection_with_a_random_guid_user_name() {
    let s = server().await;
    s.user("someone@contoso.com").await;
    let guid = uuid::Uuid::new_v4();
    let r = s
        .get(&format!("/Users?filter=userName+eq+%22{guid}%22"))
        .await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(
        r.body["Resources"],
        json!([]),
        "Resources is present and empty"
    );
    assert_eq!(r.body["startIndex"], 1);
    // The group probe Entra may send next.
    let r = s
        .get(&format!(
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22{guid}%22"
        ))
        .await;
    r.expect(200);
    assert_eq!(r.body["Resources"], json!([]));
}

// Entra's incremental update mixes Replace and Add in one PATCH, including a URN-prefixed Add
// for an attribute that had no value.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// https://github.com/limosa-io/laravel-scim-server/issues/34
#[tokio::test]
async fn entra_incremental_update_mixing_replace_and_add() {
    let s = server().await;
    let id = id_of(
        &s.create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "upd@contoso.com",
                   "name": {"givenName": "G", "familyName": "F"},
                   "emails": [{"primary": true, "type": "work", "value": "old@contoso.com"}],
                   "addresses": [{"type": "work", "formatted": "1 Old Rd"}]}),
        )
        .await,
    );
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Retail"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "18/2111"},
            {"op": "Replace", "path": "userName", "value": "renamed@contoso.com"}]}),
    )
    .await
    .expect(204);
    let u = s.read(&path).await;
    assert_eq!(
        u["emails"],
        json!([{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}])
    );
    assert_eq!(
        u["name"],
        json!({"givenName": "G", "familyName": "updatedFamilyName"})
    );
    assert_eq!(u[ENTERPRISE_URN]["department"], "Retail");
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "formatted": "18/2111"}])
    );
    assert_eq!(u["userName"], "renamed@contoso.com");
    assert!(s
        .users_matching("userName eq \"upd@contoso.com\"")
        .await
        .is_empty());
}

// Entra does not always list a custom extension in `schemas`; its attributes must still be kept.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes
#[tokio::test]
async fn entra_post_user_with_an_extension_missing_from_schemas() {
    let s = server().await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "ext@contoso.com",
                    ENTERPRISE_URN: {"employeeNumber": "42"},
                    UMBRELLA_URN: {"nativeObjectId": "aad-object-id"}}),
        )
        .await;
    r.expect(201);
    let u = s.read(&format!("/Users/{}", id_of(&r.body))).await;
    assert_eq!(u[ENTERPRISE_URN]["employeeNumber"], "42");
    assert_eq!(u[UMBRELLA_URN]["nativeObjectId"], "aad-object-id");
    let schemas = u["schemas"].as_array().unwrap();
    assert!(schemas.contains(&json!(ENTERPRISE_URN)) && schemas.contains(&json!(UMBRELLA_URN)));
}

// With `AppRoleAssignmentsComplex`, Entra PATCHes roles whose `value` is a JSON-encoded string.
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes
// https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/516
#[tokio::test]
async fn entra_patch_roles_with_json_string_values() {
    let s = server().await;
    let id = s.user("roles@contoso.com").await;
    let path = format!("/Users/{id}");
    let admin =
        r#"{"id":"8ae06bd4-35bb-4fcd-977e-14e074ad1192","value":"Admin","displayName":"Admin"}"#;
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "Add", "path": "roles",
                 "value": [{"value": admin}]}]}),
    )
    .await
    .expect(204);
    // Stored and returned as sent: Entra compares what it reads with what it wrote.
    assert_eq!(s.read(&path).await["roles"], json!([{"value": admin}]));
}

// ================================================================ Okta

// Okta's group rename carries the group's own id in the path-less value.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
#[tokio::test]
async fn okta_group_rename_patch_carrying_the_id_in_the_value() {
    let s = server().await;
    let a = s.user("a@okta.local").await;
    let g = s.group("Test SCIMv2", &[&a]).await;
    let path = format!("/Groups/{g}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "replace", "value": {"id": g, "displayName": "Renamed SCIMv2"}}]}),
    )
    .await
    .expect(204);
    let grp = s.read(&path).await;
    assert_eq!(grp["id"], json!(g));
    assert_eq!(grp["displayName"], "Renamed SCIMv2");
    assert_eq!(member_ids(&grp), set(&[&a]), "members untouched");
    assert_eq!(
        s.read(&format!("/Users/{a}")).await["groups"][0]["display"],
        "Renamed SCIMv2"
    );
}

// Okta (OIN apps) deactivates with a path-less replace of `active`, and reactivates the same way.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
#[tokio::test]
async fn okta_deactivate_and_reactivate_with_pathless_replace_of_active() {
    let s = server().await;
    let id = id_of(
        &s.create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "test.user@okta.local", "active": true}),
        )
        .await,
    );
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": false}}]}),
    )
    .await
    .expect(204);
    assert_eq!(s.read(&path).await["active"], false);
    // The reassignment lookup still finds the inactive user.
    assert_eq!(
        s.users_matching("userName eq \"test.user@okta.local\"")
            .await,
        ["test.user@okta.local"]
    );
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": true}}]}),
    )
    .await
    .expect(204);
    assert_eq!(s.read(&path).await["active"], true);
}

// Okta's membership PATCH: a filtered remove and an add, in one request.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
// https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/419
#[tokio::test]
async fn okta_member_remove_by_filter_and_add_in_one_patch() {
    let s = server().await;
    let a = s.user("a@okta.local").await;
    let b = s.user("b@okta.local").await;
    let c = s.user("test.user@okta.local").await;
    let g = s.group("Test SCIMv2", &[&a, &b]).await;
    let path = format!("/Groups/{g}");
    s.patch(
        &path,
        &json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
            {"op": "add", "path": "members", "value": [{"value": c, "display": "test.user@okta.local"}]}]}),
    )
    .await
    .expect(204);
    let grp = s.read(&path).await;
    assert_eq!(member_ids(&grp), set(&[&b, &c]));
    assert!(s.read(&format!("/Users/{a}")).await.get("groups").is_none());
    assert_eq!(group_ids(&s.read(&format!("/Users/{c}")).await), set(&[&g]));
}

// Okta (AIW apps, and OIN profile updates) PUT the GET response back with edits, `id`, `meta`
// and the read-only `groups` included; memberships must survive.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
#[tokio::test]
async fn okta_put_echoing_the_get_response_keeps_group_memberships() {
    let s = server().await;
    let id = id_of(
        &s.create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": "test.user@okta.local",
                   "name": {"givenName": "Test", "familyName": "User"},
                   "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                   "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
                   "groups": [], "password": "1mz050nq", "active": true}),
        )
        .await,
    );
    let g = s.group("Okta Group", &[&id]).await;
    let path = format!("/Users/{id}");
    let mut echoed = s.read(&path).await;
    assert_eq!(group_ids(&echoed), set(&[&g]));
    echoed["name"]["familyName"] = json!("Changed");
    echoed["active"] = json!(false);
    let r = s.put(&path, &echoed).await;
    r.expect(200);
    assert_eq!(r.body["name"]["familyName"], "Changed");
    let u = s.read(&path).await;
    assert_eq!(u["name"]["familyName"], "Changed");
    assert_eq!(u["active"], false);
    assert_eq!(u["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(group_ids(&u), set(&[&g]), "memberships kept");
    assert_eq!(
        member_ids(&s.read(&format!("/Groups/{g}")).await),
        set(&[&id])
    );
    assert!(u.get("password").is_none());
}

// Okta AIW apps PUT the whole group with the complete member list; `display` may be null.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
// https://github.com/jelhub/scimgateway/issues/95
#[tokio::test]
async fn okta_group_put_with_full_member_list_and_null_display() {
    let s = server().await;
    let a = s.user("a@okta.local").await;
    let b = s.user("b@okta.local").await;
    let g = s.group("Test SCIMv2", &[&a]).await;
    let path = format!("/Groups/{g}");
    let mut echoed = s.read(&path).await;
    echoed["members"] =
        json!([{"value": a, "display": null}, {"value": b, "display": "b@okta.local"}]);
    s.put(&path, &echoed).await.expect(200);
    let grp = s.read(&path).await;
    assert_eq!(member_ids(&grp), set(&[&a, &b]));
    assert_eq!(grp["displayName"], "Test SCIMv2");
    assert_eq!(group_ids(&s.read(&format!("/Users/{b}")).await), set(&[&g]));
}

// Okta's create POST carries `groups: []` and a throwaway `password`.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
#[tokio::test]
async fn okta_post_user_with_empty_groups_and_password() {
    let s = server().await;
    let r = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "test.user@okta.local",
                    "name": {"givenName": "Test", "familyName": "User"},
                    "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                    "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
                    "groups": [], "password": "1mz050nq", "active": true}),
        )
        .await;
    r.expect(201);
    assert!(r.body["id"].is_string());
    let u = s.read(&format!("/Users/{}", id_of(&r.body))).await;
    assert!(
        u.get("groups").is_none() && u.get("password").is_none(),
        "{u}"
    );
    assert_eq!(u["locale"], "en-US");
    // Okta's spec test POSTs the same user twice and expects 409.
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "test.user@okta.local"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
}

// Okta's lookup before a create: `%20`-encoded filter, paging parameters, userName in another case.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
// https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json
#[tokio::test]
async fn okta_user_lookup_pct20_encoded_with_start_index_and_count() {
    let s = server().await;
    let miss = s
        .get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100")
        .await;
    miss.expect(200);
    assert_eq!(
        miss.body,
        json!({"schemas": [LIST_URN], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    s.user("test.user@okta.local").await;
    let hit = s
        .get("/Users?filter=userName%20eq%20%22TEST.USER%40okta.local%22&startIndex=1&count=100")
        .await;
    hit.expect(200);
    assert_eq!(hit.body["totalResults"], 1);
    assert_eq!(hit.body["itemsPerPage"], 1);
    assert_eq!(hit.body["Resources"][0]["userName"], "test.user@okta.local");
}

// Okta's Test API Credentials: `GET /Users?startIndex=1&count=2`, a full ListResponse even when empty.
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-11
// https://support.okta.com/help/s/article/okta-scim-connector-error-no-results-for-users-returned-when-testing-connection
#[tokio::test]
async fn okta_test_credentials_list_with_count_2() {
    let s = server().await;
    let r = s.get("/Users?startIndex=1&count=2").await;
    r.expect(200).assert_scim_json();
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    for n in ["a@okta.local", "b@okta.local", "c@okta.local"] {
        s.user(n).await;
    }
    let r = s.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert!(r.body["totalResults"].is_u64() && r.body["startIndex"].is_u64());
    let r = s.get("/Groups?startIndex=1&count=100").await;
    r.expect(200);
    assert_eq!(r.body["Resources"], json!([]));
}
