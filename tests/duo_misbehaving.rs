//! `scimulator run` of the bundled Duo scenarios against servers that get one behaviour wrong
//! (issue 4, acceptance point 2): the real binary must exit 1, name the Duo behaviour that met
//! the bug (marked inferred: Duo publishes no wire captures) and show the diff. The servers are
//! the reference server behind a buggy proxy (`buggy`), one bug each.

mod buggy;

use buggy::{Bug, Run};

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-duo-5b2e71";

/// Runs the real binary on one bundled Duo scenario against a proxy with `bug`.
async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, &format!("scenarios/duo/{scenario}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes_the_duo_scenarios_used_here() {
    for scenario in ["deactivate-mode.yaml", "delete-mode.yaml"] {
        let r = run(Bug::None, scenario).await;
        r.assert_code(0).assert_contains("passed");
    }
}

/// Duo's Deactivate Users must keep the user, disabled; a server that deletes the user when
/// `active` is set to false loses the account Duo meant to keep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_deletes_the_user() {
    let r = run(Bug::DeactivateDeletes, "deactivate-mode.yaml").await;
    r.assert_code(1)
        .assert_contains("FAILED duo-deactivate-mode")
        .assert_contains(r#"user "bokafor."#)
        .assert_contains("missing on the server")
        .assert_diff_line('-', r#""active": false"#)
        .assert_diff_line('+', r#""missing""#)
        // The failure names the behaviour that met the bug, the deactivate PATCH (answered 204),
        // and says no public source shows its shape.
        .assert_contains(
            r#"last written by Duo: Deactivate Users (PATCH /Users/{id} {"op":"replace","path":"active","value":false}: the user stays, disabled) (inferred)"#,
        );
}
