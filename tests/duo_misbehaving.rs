//! `scimulator run` of the bundled Duo scenarios against servers that get one behaviour wrong
//! (issue 4, acceptance point 2): the real binary must exit 1, name the Duo behaviour that met
//! the bug (marked inferred: Duo publishes no wire captures) and show the diff. The servers are
//! the reference server behind a buggy proxy (`buggy`), one bug each.

mod buggy;

use buggy::Bug;
use std::process::Command;

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-duo-5b2e71";

struct Run {
    code: Option<i32>,
    /// stdout then stderr.
    output: String,
}

impl Run {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "exit code\n{}", self.output);
        self
    }

    #[track_caller]
    fn assert_contains(&self, needle: &str) -> &Run {
        assert!(
            self.output.contains(needle),
            "expected {needle:?} in the output:\n{}",
            self.output
        );
        self
    }

    /// A diff line (`-` expected or `+` actual) containing `needle`.
    #[track_caller]
    fn assert_diff_line(&self, sign: char, needle: &str) -> &Run {
        assert!(
            self.output.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(sign)
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
                    && l.contains(needle)
            }),
            "expected a diff line {sign}...{needle:?} in the output:\n{}",
            self.output
        );
        self
    }
}

/// Runs the real binary on one bundled Duo scenario against a proxy with `bug`.
async fn run(bug: Bug, scenario: &str) -> Run {
    let server = buggy::start(bug, TOKEN).await;
    let url = server.url.clone();
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/scenarios/duo/{scenario}");
    // The binary blocks; the proxy and the reference server run on this test's runtime.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args([
                "run",
                &file,
                "--target",
                &url,
                "--token",
                TOKEN,
                "--no-color",
            ])
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    server.stop().await;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.contains(TOKEN), "the token leaked:\n{output}");
    Run {
        code: out.status.code(),
        output,
    }
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
        .assert_contains(r#"user "ben."#)
        .assert_contains("missing on the server")
        .assert_diff_line('-', r#""active": false"#)
        .assert_diff_line('+', r#""missing""#)
        // The failure names the behaviour that met the bug, the deactivate PATCH (answered 204),
        // and says no public source shows its shape.
        .assert_contains(
            r#"last written by Duo: Deactivate Users (PATCH /Users/{id} {"op":"replace","path":"active","value":false}: the user stays, disabled) (inferred)"#,
        );
}
