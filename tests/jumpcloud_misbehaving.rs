//! `scimulator run` of the bundled JumpCloud scenarios against servers with a bug JumpCloud's
//! request shapes expose: the membership PATCH `path: "members"` with a value list and no
//! filter, for removal too (https://app.uni-moni.com/en/kb/sso-setup-jumpcloud). And a server
//! without user DELETE, which JumpCloud's save handles by deactivating its test user
//! (https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-identity-management-integration):
//! no finding there, nor on a faithful proxy or the minimal RFC-legal server.

mod buggy;

use buggy::{Bug, Run};
use serde_json::Value;

const TOKEN: &str = "buggy-proxy-token-jumpcloud-2f8a63";

async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, &format!("scenarios/jumpcloud/{scenario}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes_the_jumpcloud_scenarios() {
    for scenario in ["lifecycle.yaml", "groups.yaml"] {
        run(Bug::None, scenario)
            .await
            .assert_code(0)
            .assert_contains("passed");
    }
}

/// A server that removes members only through a value filter refuses JumpCloud's removal:
/// the finding names group_update (observed, J4), the member stays in the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_removal_without_filter_refused() {
    let r = run(Bug::RejectMembersRemoveNoFilter, "lifecycle.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED jumpcloud-lifecycle")
        .assert_contains("JumpCloud: group_update (PATCH /Groups/{id}")
        .assert_contains("invalidPath")
        .assert_contains("source: https://app.uni-moni.com/en/kb/sso-setup-jumpcloud");
    // The add of the same shape went through: only removals met the bug.
    assert!(
        !r.output.contains("JumpCloud: group_create"),
        "{}",
        r.output
    );
}

/// Users cannot be deleted: the save still passes (the test user is deactivated instead, as
/// JumpCloud documents), with no finding for the 405; the delete event later is refused and
/// is a finding about user_delete_provision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_user_delete_save_deactivates_the_test_user() {
    let server = buggy::start(Bug::DeleteNotSupported, TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let (url, report) = (server.url.clone(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SCIM_TOKEN")
            .args([
                "run",
                "scenarios/jumpcloud/lifecycle.yaml",
                "--target",
                &url,
            ])
            .args(["--token", TOKEN, "--no-color", "--report"])
            .arg(&report)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let seen = server.seen.lock().unwrap().clone();
    server.stop().await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The save: POST, POST, DELETE group, DELETE user (405), PATCH the user inactive.
    // (after the harness's own reads before the run)
    let first = seen.iter().position(|l| l.starts_with("POST ")).unwrap();
    let save: Vec<&str> = seen[first..first + 5]
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        save,
        ["POST", "POST", "DELETE", "DELETE", "PATCH"],
        "{seen:#?}"
    );
    assert_eq!(
        seen[first + 3].split(' ').nth(1),
        seen[first + 4].split(' ').nth(1)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let sc = &report["scenarios"][0];
    assert_eq!(
        sc["provisioning_log"][0]["action"], "connector_test",
        "{text}"
    );
    assert_eq!(sc["provisioning_log"][0]["status"], "Success", "{text}");
    let findings = sc["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| !f["behaviour"]
            .as_str()
            .unwrap()
            .contains("save the connector")),
        "{findings:#?}"
    );
    assert!(
        findings.iter().any(|f| f["behaviour"]
            .as_str()
            .unwrap()
            .contains("user_delete_provision")),
        "{findings:#?}"
    );
}

/// The minimal RFC-legal server works with JumpCloud: no finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimal_legal_server_gets_no_jumpcloud_finding() {
    // Legal strictness (unknown attributes dropped, undeclared filters refused), with only
    // userName required: what these IdPs' default mappings always send.
    let flaws = buggy::strict::Flaws {
        nothing_required: true,
        ..Default::default()
    };
    let server = buggy::strict::start(flaws, TOKEN).await;
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SCIM_TOKEN")
            .args(["run", "scenarios/jumpcloud", "--target", &url])
            .args(["--token", TOKEN, "--no-color"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.stop().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("MUST"), "{text}");
}
