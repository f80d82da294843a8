//! `scimulator run` against servers that get one behaviour Okta relies on wrong (issue 4,
//! acceptance point 2): the real binary must exit 1 and its report must name the Okta behaviour
//! that met the bug and show the diff or the failing check. The servers are the reference
//! server behind a buggy proxy (`buggy`), so each test isolates exactly one bug.

mod buggy;

use buggy::{Bug, Run};

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-0k7a4e";

/// Runs the real binary on a bundled scenario file or folder (under `scenarios/okta`) against a
/// proxy with `bug`.
async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, &format!("scenarios/okta/{scenario}")).await
}

/// The control: a faithful proxy passes every bundled Okta scenario, in one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes_every_okta_scenario() {
    let r = run(Bug::None, "").await;
    r.assert_code(0)
        .assert_contains("okta-group-push")
        .assert_contains("okta-import-paging")
        .assert_contains("0 failed, 0 errors");
}

/// Okta removes a pushed group's member with `remove` on `members[value eq "..."]`, in the
/// same PATCH as the rename op; a server without value-filter paths refuses the whole PATCH,
/// and the member stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_filter_path_rejected() {
    let r = run(Bug::RejectMembersFilterPath, "group-push.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-group-push")
        .assert_contains(r#"group "Engineering "#)
        .assert_contains(
            "differs at members — last sent by Okta: group membership update (PATCH /Groups/{id}",
        )
        .assert_contains("MUST Okta: group membership update (PATCH /Groups/{id}")
        .assert_contains(
            r#"answered HTTP 400 (scimType invalidPath): unsupported path "members[value eq"#,
        )
        .assert_contains(r#"{"op": "remove", "path": "members[value eq \""#)
        // Wes was removed in Okta but is still a member in the app.
        .assert_diff_line('+', r#""wes."#)
        .assert_diff_line(
            '+',
            "Engineering | Group Push group Engineering updated in app | Failure",
        );
}

/// Okta's profile update is a full PUT of the user, without `groups`; a server that rebuilds
/// the user's memberships from the PUT body drops the user from its groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_drops_group_memberships() {
    let r = run(Bug::PutDropsGroups, "profile-put.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-profile-put")
        .assert_contains(r#"group "Legal "#)
        .assert_contains("differs at members")
        // Bea is expected in the group and missing; Cal, never PUT, stays.
        .assert_diff_line('-', r#""bea."#)
        // The failure must name the behaviour that met the bug: the profile PUT.
        .assert_contains("profile update (PUT /Users/{id}");
}

/// Okta clears an attribute by leaving it out of the PUT; a server that merges the PUT into
/// the stored user keeps the old value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_keeps_omitted_attributes() {
    let r = run(Bug::PutKeepsOmitted, "profile-put.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-profile-put")
        .assert_contains(r#"user "bea."#)
        .assert_contains(
            "differs at title, urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
        )
        .assert_contains("last written by Okta: profile update (PUT /Users/{id}")
        .assert_contains("PUT /Users/")
        .assert_diff_line('-', r#""department": null"#)
        .assert_diff_line('+', r#""department": "Legal""#);
}

/// On reassignment Okta looks the user up by userName to reactivate it; a server that hides
/// inactive users from filters makes Okta POST a duplicate, which the server refuses, and the
/// user stays inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_users_hidden_from_filters() {
    let r = run(Bug::HideInactive, "oin-lifecycle.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-oin-lifecycle")
        .assert_contains(r#"user "vic."#)
        .assert_contains("differs at active")
        .assert_contains("MUST Okta: create user (POST /Users")
        .assert_contains("POST /Users answered HTTP 409")
        // The lookup that found nothing, then the duplicate create.
        .assert_contains("GET /Users?filter=userName%20eq%20%22vic.")
        .assert_contains(r#""totalResults": 0"#)
        .assert_contains("POST /Users -> 409")
        .assert_diff_line('-', r#""active": true"#)
        .assert_diff_line('+', r#""active": false"#)
        .assert_diff_line('-', "Vic Hale-Ward | Reactivate user in app | Success")
        .assert_diff_line('+', "Vic Hale-Ward | Push new user to app | Failure");
}

/// Okta imports 100 users a page from startIndex=1; a server reading startIndex as a 0-based
/// offset starts every page one user late, and the import misses users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_based_start_index() {
    let r = run(Bug::ZeroBasedStartIndex, "import-paging.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-import-paging")
        .assert_contains("import users FAILED")
        .assert_contains(
            "MUST Okta: import (GET /Users?startIndex=1&count=100, then startIndex=101",
        )
        .assert_contains(
            "Okta read 104 users (104 distinct, 0 repeated) where totalResults says 105",
        )
        .assert_contains("Okta needs a 1-based startIndex")
        .assert_contains("GET /Users?startIndex=1&count=100 -> 200")
        .assert_contains("GET /Users?startIndex=101&count=100 -> 200");
}

/// Okta asks for 100 users a page and moves startIndex by 100 (S1: "startIndex+100"); a
/// server that caps pages at 50 (RFC 7644 §3.4.2.4 lets it) answers 50, and users 51-100 are
/// never read: the import misses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_cap_below_100() {
    let r = run(Bug::PageCap50, "import-paging.yaml").await;
    r.assert_code(1)
        .assert_contains("import users FAILED")
        .assert_contains("Okta read 55 users (55 distinct, 0 repeated) where totalResults says 105")
        .assert_contains("moves startIndex by 100")
        .assert_contains("GET /Users?startIndex=1&count=100 -> 200")
        .assert_contains("GET /Users?startIndex=101&count=100 -> 200");
}

/// With "push members on create", Okta creates the pushed group with its members in the POST
/// body and does not send them again; a server that ignores them leaves the group empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_groups_ignores_members() {
    let r = run(Bug::PostGroupsIgnoresMembers, "push-with-members.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED okta-push-with-members")
        .assert_contains(r#"group "Marketing "#)
        .assert_contains(
            "differs at members — last written by Okta (AIW): Group Push (POST /Groups",
        )
        .assert_contains("POST /Groups -> 201")
        .assert_diff_line('-', r#""dov."#)
        .assert_diff_line('-', r#""efox."#)
        .assert_diff_line('+', r#""members": []"#);
}

/// Okta sends `Accept: application/scim+json` on every request (S3): a server that answers
/// 406 to a request without `Accept` works with Okta, and nothing the harness sends itself
/// trips it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_requiring_accept_passes_every_okta_scenario() {
    let r = run(Bug::RequireAccept, "").await;
    r.assert_code(0).assert_contains("0 failed, 0 errors");
}
