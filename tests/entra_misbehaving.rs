//! `scimulator run` against servers that get one Entra ID behaviour wrong (issue 3, acceptance
//! point 2): the real binary must exit 1 and its report must name the Entra behaviour that met
//! the bug and show the diff of what the server ended up with. The servers are the reference
//! server behind a buggy proxy (`buggy`), so each test isolates exactly one bug.

mod buggy;

use buggy::{Bug, Run};

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-6d1f0c";

/// Runs the real binary on one bundled scenario (under `scenarios/entra`) against a proxy with
/// `bug`.
async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, &format!("scenarios/entra/{scenario}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes_every_scenario_used_here() {
    for scenario in [
        "cisco-guide.yaml",
        "deprovisioning.yaml",
        "groups-lifecycle.yaml",
    ] {
        let r = run(Bug::None, scenario).await;
        r.assert_code(0).assert_contains("passed");
    }
}

/// Entra sends `"op": "Add"` to add group members (default dialect); a server that only knows
/// lowercase ops refuses it, and the groups end up without members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pascal_case_ops_rejected() {
    let r = run(Bug::RejectPascalCaseOps, "cisco-guide.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-cisco-guide")
        // The state check names the behaviour that last wrote each differing group...
        .assert_contains("last sent by Entra ID: update group (PATCH /Groups/{id}")
        // ...and the findings name it with the server's answer.
        .assert_contains("MUST Entra ID: update group (PATCH /Groups/{id}")
        .assert_contains(r#"answered HTTP 400 (scimType invalidSyntax): unknown op "Add""#)
        .assert_contains(r#""op": "Add","#)
        // The diff: members expected, none found.
        .assert_diff_line('-', r#""josue."#)
        .assert_diff_line('+', r#""members": []"#);
}

/// Entra sends `active` as the string "False" (default dialect); a server doing `bool(value)`
/// keeps the disabled and soft-deleted users active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_string_taken_as_true() {
    let r = run(Bug::FalseStringIsTrue, "deprovisioning.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-deprovisioning")
        .assert_contains("differs at active")
        .assert_contains(
            r#"last written by Entra ID: disable user (PATCH /Users/{id} {"op":"Replace","path":"active","value":"False"})"#,
        )
        .assert_contains(r#"{"op": "Replace", "path": "active", "value": "False"}"#)
        .assert_diff_line('-', r#""active": false"#)
        .assert_diff_line('+', r#""active": true"#);
}

/// Entra looks every group up by displayName before creating it; a server that answers the
/// filter with 400 gets no groups at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_filter_answers_400() {
    let r = run(Bug::GroupFilterBadRequest, "cisco-guide.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-cisco-guide")
        .assert_contains(
            r#"MUST Entra ID: group lookup by displayName (GET /Groups?excludedAttributes=…&filter=…)"#,
        )
        .assert_contains("answered HTTP 400 (scimType invalidFilter): filtering groups is not supported")
        .assert_contains(r#"group "IT-Admins "#)
        .assert_contains("missing on the server")
        .assert_diff_line('-', r#""IT-Admins "#)
        .assert_diff_line('+', r#""missing""#)
        // The provisioning log shows the failed creates.
        .assert_diff_line('+', "IT-Admins | Create | Failure");
}

/// Entra removes members with `{"op": "Remove", "path": "members", "value": [...]}`; the
/// spec-literal server drops every member instead of the ones listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_array_remove_drops_every_member() {
    let r = run(Bug::RemoveValueArrayDropsAll, "groups-lifecycle.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-groups-lifecycle")
        .assert_contains(r#"group "Ops "#)
        .assert_contains("differs at members")
        .assert_contains("last written by Entra ID: update group (PATCH /Groups/{id}")
        .assert_contains(r#""op": "Remove","#)
        // Hal stays and Ivy was added: both expected, neither found.
        .assert_diff_line('-', r#""hal."#)
        .assert_diff_line('-', r#""ivy."#)
        .assert_diff_line('+', r#""members": []"#);
}

/// Entra disables (active "False") a user that is disabled or unassigned; a server that deletes
/// it instead loses the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_deletes_the_user() {
    let r = run(Bug::DeactivateDeletes, "deprovisioning.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-deprovisioning")
        .assert_contains(r#"user "dana."#)
        .assert_contains("missing on the server")
        .assert_diff_line('-', r#""active": false"#)
        .assert_diff_line('+', r#""missing""#)
        // The failure must name the behaviour that met the bug: the disable PATCH, answered 204.
        .assert_contains("last written by Entra ID: disable user (PATCH /Users/{id}");
}

/// Entra's GETs carry no `Accept` header (azure-docs issue 94189); a server whose content
/// negotiation answers 406 without one fails Entra's very first lookup, and the run says so.
/// The harness's own reads ask for `application/scim+json`, so they are not what fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_406_to_a_request_without_accept_fails_entras_lookup() {
    let r = run(Bug::RequireAccept, "cisco-guide.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED entra-cisco-guide")
        .assert_contains("answered HTTP 406");
}
