//! Entra ID on the provisioning engine (branch entra): its matching precedence comes from its
//! `matching` setting (the wire's `lookup.user_attributes`) and a lookup that finds several
//! users is refused (the wire's `lookup.duplicates: refuse`), as Entra logs
//! `DuplicateTargetEntries` (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/howto-analyze-provisioning-logs)
//! and writes to none of them.

use scimulator::idp::Profile;
use scimulator::runner::{run_scenario, Target};
use scimulator::scenario::loader;
use scimulator::secret::Secret;
use scimulator::server::{start, ServerConfig};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "entra-engine";
const TAG: &str = "rdup0001";

#[tokio::test]
async fn several_users_matching_are_refused_and_left_alone() {
    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .unwrap();
    // Two users the run did not create, both with the externalId the run's user maps to
    // (`mailNickname`, run-scoped: `dup.<tag>`).
    let http = reqwest::Client::new();
    let mut foreign = Vec::new();
    for name in ["first", "second"] {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("{name}@elsewhere.example"),
            "externalId": format!("dup.{TAG}"),
            "displayName": name,
        });
        let created: Value = http
            .post(format!("{}/Users", server.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        foreign.push(created);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dup.yaml");
    std::fs::write(
        &file,
        "name: entra-duplicate-match\n\
         description: two target users match the first matching attribute\n\
         idp: entra\n\
         settings: { mapping: entra-default, matching: [externalId, userName] }\n\
         directory:\n  users:\n    - { id: dee, userPrincipalName: dee@contoso.com, displayName: Dee, mailNickname: dup }\n\
         steps:\n  - assign: { users: [dee] }\n  - cycle: initial\n",
    )
    .unwrap();
    let s = loader::load(&file).unwrap();
    let p = Profile::new(&s.idp, &s.settings).unwrap();
    let target = Target {
        url: server.url.clone(),
        token: Some(Secret::new(TOKEN)),
        timeout: Duration::from_secs(10),
        timeout_given: true,
        keep: false,
        limits: Default::default(),
    };
    let report = run_scenario(&s, &p, &target, TAG).await;
    let report = serde_json::to_value(&report).unwrap();

    // One Create line, failed with Entra's code; no second lookup by userName, no write.
    let log = report["provisioning_log"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["action"], "Create");
    assert_eq!(log[0]["status"], "Failure");
    assert_eq!(log[0]["error_code"], "DuplicateTargetEntries");
    let sent: Vec<String> = report["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        // The cycle is the scenario's second step; later ones are the harness's clean-up.
        .filter(|x| x["step"].as_u64() == Some(2))
        .map(|x| {
            format!(
                "{} {}",
                x["method"].as_str().unwrap(),
                x["path"].as_str().unwrap()
            )
        })
        .collect();
    let lookups: Vec<&String> = sent
        .iter()
        .filter(|r| r.starts_with("GET /Users?filter="))
        .collect();
    assert!(
        lookups.len() == 2 && lookups[1].contains("externalId+eq+%22dup.rdup0001%22"),
        "the probe, then the lookup by the first matching attribute only: {sent:#?}"
    );
    assert!(
        !sent.iter().any(|r| r.starts_with("POST /Users")
            || r.starts_with("PATCH ")
            || r.starts_with("PUT ")
            || r.starts_with("DELETE ")),
        "nothing written: {sent:#?}"
    );
    let findings = report["findings"].to_string();
    assert!(
        findings.contains("2 users match externalId eq"),
        "{findings}"
    );

    // Both foreign users are as they were.
    for f in &foreign {
        let id = f["id"].as_str().unwrap();
        let now: Value = http
            .get(format!("{}/Users/{id}", server.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(now["userName"], f["userName"]);
        assert_eq!(now["meta"]["version"], f["meta"]["version"], "{now}");
    }
    server.stop().await;
}
