//! Golden provisioning logs: every bundled scenario, run against the built-in server, must
//! write exactly the provisioning log checked in under `fixtures/golden/<idp>/<name>.log`
//! (one line per entry: identity | object type | action | status | error code | modified
//! properties). Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test golden_logs`.

use scimulator::idp::Profile;
use scimulator::runner::{run_scenario, Target};
use scimulator::scenario::loader;
use scimulator::secret::Secret;
use scimulator::server::{start, ServerConfig};
use std::path::PathBuf;
use std::time::Duration;

fn render(log: &[scimulator::report::model::LogEntry]) -> String {
    log.iter()
        .map(|e| {
            format!(
                "{} | {} | {} | {} | {} | {}\n",
                e.identity,
                e.object_type,
                e.action,
                e.status,
                e.error_code.as_deref().unwrap_or("-"),
                e.modified_properties.join(", ")
            )
        })
        .collect()
}

#[tokio::test]
async fn bundled_scenarios_write_their_golden_logs() {
    let server = start(ServerConfig::local().with_token("golden"))
        .await
        .unwrap();
    let target = Target {
        url: server.url.clone(),
        token: Some(Secret::new("golden")),
        timeout: Duration::from_secs(10),
        timeout_given: true,
        keep: false,
        limits: Default::default(),
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The bundled ones a bare `scimulator run` runs: scenarios/scale/ is for benchmarks.
    let scale = loader::bundled_dir().join("scale");
    let files: Vec<PathBuf> = loader::discover(&[loader::bundled_dir()])
        .unwrap()
        .into_iter()
        .filter(|p| !p.starts_with(&scale))
        .collect();
    assert!(
        files.len() >= 8,
        "expected the bundled scenarios, found {files:?}"
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let s = loader::load(f).unwrap();
        let p = Profile::new(&s.idp, &s.settings).unwrap();
        let report = run_scenario(&s, &p, &target, &format!("g{i:02}")).await;
        let got = render(&report.provisioning_log);
        let golden = root
            .join("fixtures/golden")
            .join(&s.idp)
            .join(format!("{}.log", s.name));
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!(
                "no golden log {}; run UPDATE_GOLDEN=1 cargo test --test golden_logs",
                golden.display()
            )
        });
        if want != got {
            mismatches.push(format!("{}:\n--- golden\n{want}--- got\n{got}", s.name));
        }
    }
    server.stop().await;
    assert!(
        mismatches.is_empty(),
        "provisioning logs differ from fixtures/golden:\n{}",
        mismatches.join("\n")
    );
}
