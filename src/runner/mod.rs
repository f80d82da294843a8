//! Executes scenarios: owns the source directory and the sync state, drives the IdP profile,
//! checks expectations, cleans up, and builds the result model every reporter folds.
//!
//! ```text
//! step 2  cycle initial   → 14 exchanges, 6 provisioning-log entries
//! step 3  expect          → state: passed, log: passed
//! ```

pub mod directory;
pub mod sync;

use crate::check::diff::{compare, ActualState};
use crate::check::expected::{apply_overrides, derive};
use crate::check::{check_log, check_trace};
use crate::client::{Client, ClientConfig, Request};
use crate::idp::{Ctx, Ledger, Profile};
use crate::report::model::{CheckReport, Finding, LogEntry, Outcome, ScenarioReport, StepReport};
use crate::scenario::model::{Expectation, Outcome as Expected, Scenario, StateExpectation, Step};
use crate::secret::Secret;
use directory::SourceDirectory;
use std::time::{Duration, Instant};
use sync::{ObjectKind, SyncState};

/// Where and how to run.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub token: Option<Secret>,
    pub timeout: Duration,
    /// Leave what the run created on the server.
    pub keep: bool,
}

fn step_kind(s: &Step) -> String {
    match s {
        Step::Assign(_) => "assign".into(),
        Step::Unassign(_) => "unassign".into(),
        Step::Update(_) => "update".into(),
        Step::Disable(_) => "disable".into(),
        Step::Enable(_) => "enable".into(),
        Step::SoftDelete(_) => "soft_delete".into(),
        Step::Restore(_) => "restore".into(),
        Step::HardDelete(_) => "hard_delete".into(),
        Step::AddMember(_) => "add_member".into(),
        Step::RemoveMember(_) => "remove_member".into(),
        Step::RenameGroup(_) => "rename_group".into(),
        Step::AddUser(_) => "add_user".into(),
        Step::AddGroup(_) => "add_group".into(),
        Step::TestConnection(_) => "test_connection".into(),
        Step::Cycle(k) => format!(
            "cycle {}",
            if *k == crate::scenario::model::CycleKind::Initial {
                "initial"
            } else {
                "incremental"
            }
        ),
        Step::Restart(r) => format!("restart {:?}", r.scope).to_lowercase(),
        Step::ProvisionOnDemand(_) => "provision_on_demand".into(),
        Step::PushGroups(_) => "push_groups".into(),
        Step::LinkGroups(_) => "link_groups".into(),
        Step::PushNow(_) => "push_now".into(),
        Step::UnlinkGroups(_) => "unlink_groups".into(),
        Step::Import(_) => "import".into(),
        Step::OktaSpecTest(_) => "okta_spec_test".into(),
        Step::RfcProbes(_) => "rfc_probes".into(),
        Step::Fault(f) => format!("fault {}", f.matches),
        Step::ClearFaults(_) => "clear_faults".into(),
        Step::Expect(_) => "expect".into(),
    }
}

struct State {
    dir: SourceDirectory,
    sync: SyncState,
    log: Vec<LogEntry>,
    findings: Vec<Finding>,
    ledger: Ledger,
    /// Log entries and exchanges already covered by an earlier `expect`.
    log_mark: usize,
    exchange_mark: usize,
}

/// Runs one scenario. `tag` scopes its names (`r3f9a1c01`).
pub async fn run_scenario(
    scenario: &Scenario,
    profile: &Profile,
    target: &Target,
    tag: &str,
) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        file: scenario.origin.file.display().to_string(),
        idp: scenario.idp.clone(),
        settings: profile.settings_json(),
        outcome: Outcome::Passed,
        duration_ms: 0,
        steps: Vec::new(),
        exchanges: Vec::new(),
        provisioning_log: Vec::new(),
        findings: Vec::new(),
    };
    let mut client = match Client::new(ClientConfig {
        base_url: target.url.clone(),
        token: target.token.clone(),
        timeout: target.timeout,
    }) {
        Ok(c) => c,
        Err(e) => {
            report.outcome = Outcome::Error;
            report.steps.push(StepReport {
                index: 0,
                line: 0,
                kind: "setup".into(),
                outcome: Outcome::Error,
                duration_ms: 0,
                exchanges: vec![],
                checks: vec![],
                error: Some(e),
            });
            return report;
        }
    };
    let mut st = State {
        dir: SourceDirectory::new(&scenario.directory, tag),
        sync: SyncState::default(),
        log: Vec::new(),
        findings: Vec::new(),
        ledger: Ledger::default(),
        log_mark: 0,
        exchange_mark: 0,
    };
    let mut stopped = false;
    for (i, step) in scenario.steps.iter().enumerate() {
        let index = i + 1;
        let line = scenario.origin.step_lines.get(i).copied().unwrap_or(0);
        let mut sr = StepReport {
            index,
            line,
            kind: step_kind(step),
            outcome: Outcome::Passed,
            duration_ms: 0,
            exchanges: vec![],
            checks: vec![],
            error: None,
        };
        if stopped {
            sr.outcome = Outcome::Skipped;
            report.steps.push(sr);
            continue;
        }
        let t0 = Instant::now();
        let before = client.exchanges().len();
        let result = run_step(step, index, profile, &mut client, &mut st, target).await;
        match result {
            Ok(checks) => sr.checks = checks,
            Err(e) => {
                sr.error = Some(e);
                sr.outcome = Outcome::Error;
                stopped = true;
            }
        }
        if sr.checks.iter().any(|c| c.outcome == Outcome::Failed) && sr.outcome == Outcome::Passed {
            sr.outcome = Outcome::Failed;
        }
        if sr.checks.iter().any(|c| c.outcome == Outcome::Error) {
            sr.outcome = Outcome::Error;
        }
        sr.exchanges = client.exchanges()[before..].iter().map(|e| e.id).collect();
        sr.duration_ms = t0.elapsed().as_millis() as u64;
        report.steps.push(sr);
    }
    if !target.keep {
        let ids = identities(
            &derive(&st.dir, profile.mapping(), profile.rules()),
            profile.mapping(),
        );
        cleanup(&st.ledger, &ids, target).await;
    }
    report.exchanges = client.take_exchanges();
    report.provisioning_log = st.log;
    report.findings = st.findings;
    // Every answer the target gave, whatever the scenario checks, against the SCIM schemas.
    report
        .findings
        .extend(crate::validate::findings(&report.exchanges));
    report.outcome = if report.steps.iter().any(|s| s.outcome == Outcome::Error) {
        Outcome::Error
    } else if report.steps.iter().any(|s| s.outcome == Outcome::Failed) {
        Outcome::Failed
    } else {
        Outcome::Passed
    };
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

async fn run_step(
    step: &Step,
    index: usize,
    profile: &Profile,
    client: &mut Client,
    st: &mut State,
    target: &Target,
) -> Result<Vec<CheckReport>, String> {
    let d = &mut st.dir;
    let err = |e: directory::DirectoryError| e.0;
    macro_rules! ctx {
        () => {
            Ctx {
                client: &mut *client,
                dir: &mut st.dir,
                sync: &mut st.sync,
                log: &mut st.log,
                findings: &mut st.findings,
                ledger: &mut st.ledger,
                step: index,
                idp_name: profile.display_name(),
            }
        };
    }
    match step {
        Step::Assign(t) => d.set_assigned(t, true).map_err(err)?,
        Step::Unassign(t) => d.set_assigned(t, false).map_err(err)?,
        Step::Update(u) => d
            .update(u.user.as_deref(), u.group.as_deref(), &u.set)
            .map_err(err)?,
        Step::Disable(t) => d.set_enabled(t, false).map_err(err)?,
        Step::Enable(t) => d.set_enabled(t, true).map_err(err)?,
        Step::SoftDelete(t) => d.set_soft_deleted(t, true).map_err(err)?,
        Step::Restore(t) => d.set_soft_deleted(t, false).map_err(err)?,
        Step::HardDelete(t) => d.hard_delete(t).map_err(err)?,
        Step::AddMember(m) => d.set_members(&m.group, &m.users, true).map_err(err)?,
        Step::RemoveMember(m) => d.set_members(&m.group, &m.users, false).map_err(err)?,
        Step::RenameGroup(r) => d.rename_group(&r.group, &r.name).map_err(err)?,
        Step::AddUser(u) => d.add_user(u),
        Step::AddGroup(g) => d.add_group(g),
        Step::Fault(f) => client.faults.arm(f),
        Step::ClearFaults(_) => client.faults.clear(),
        Step::PushGroups(l) | Step::LinkGroups(l) => {
            let mut ctx = ctx!();
            profile
                .push_groups(&mut ctx, &l.groups, matches!(step, Step::LinkGroups(_)))
                .await?;
        }
        Step::PushNow(l) => {
            let mut ctx = ctx!();
            profile.push_now(&mut ctx, &l.groups).await?;
        }
        Step::UnlinkGroups(u) => {
            let mut ctx = ctx!();
            profile
                .unlink_groups(&mut ctx, &u.groups, u.delete_in_app)
                .await?;
        }
        Step::Import(_) => {
            let mut ctx = ctx!();
            return profile.import(&mut ctx).await;
        }
        Step::OktaSpecTest(_) => {
            client.step = index;
            let tag = st.dir.tag().to_string();
            let spec = crate::idp::okta_spec::run(client, &tag).await;
            // Its users are the run's: cleaned up at the end unless `--keep`.
            let mut ctx = ctx!();
            for id in &spec.created_users {
                ctx.own(ObjectKind::User, id, true);
            }
            return Ok(spec.checks);
        }
        Step::RfcProbes(g) => {
            client.step = index;
            let tag = st.dir.tag().to_string();
            let run = crate::probe::run(client, &tag, index, &g.groups).await;
            st.findings.extend(run.findings);
            // What the probes could not delete is left to the clean-up at the end.
            let mut ctx = ctx!();
            for (kind, id) in &run.leftovers {
                ctx.own(*kind, id, true);
            }
            return Ok(run.checks);
        }
        Step::Restart(r) => {
            let mut ctx = ctx!();
            profile.restart(&mut ctx, r.scope);
        }
        Step::Cycle(k) => {
            let mut ctx = ctx!();
            profile.cycle(&mut ctx, *k).await;
        }
        Step::ProvisionOnDemand(od) => {
            let mut ctx = ctx!();
            profile.provision_on_demand(&mut ctx, od).await?;
        }
        Step::TestConnection(tc) => {
            let mut ctx = ctx!();
            let got = profile.test_connection(&mut ctx).await;
            let want = tc.expect.unwrap_or(Expected::Success);
            let exchange = client
                .exchanges()
                .last()
                .map(|e| e.id)
                .into_iter()
                .collect();
            let (outcome, message) = match (&got, want) {
                (Ok(()), Expected::Success) => (
                    Outcome::Passed,
                    "Test Connection succeeded, as expected".to_string(),
                ),
                (Err(e), Expected::Failure) => (
                    Outcome::Passed,
                    format!("Test Connection failed, as expected: {e}"),
                ),
                (Ok(()), Expected::Failure) => (
                    Outcome::Failed,
                    "Test Connection succeeded; the scenario expected a failure".to_string(),
                ),
                (Err(e), Expected::Success) => {
                    (Outcome::Failed, format!("Test Connection failed: {e}"))
                }
            };
            return Ok(vec![CheckReport {
                name: "test_connection".into(),
                outcome,
                message,
                diff: None,
                patch: None,
                exchanges: exchange,
            }]);
        }
        Step::Expect(x) => return Ok(expect(x, profile, client, st, target).await),
    }
    if changes_directory(step) {
        // Event-driven IdPs (Okta) act on each change; Entra waits for its cycle.
        let mut ctx = ctx!();
        profile.react(&mut ctx).await;
    }
    Ok(Vec::new())
}

fn changes_directory(step: &Step) -> bool {
    matches!(
        step,
        Step::Assign(_)
            | Step::Unassign(_)
            | Step::Update(_)
            | Step::Disable(_)
            | Step::Enable(_)
            | Step::SoftDelete(_)
            | Step::Restore(_)
            | Step::HardDelete(_)
            | Step::AddMember(_)
            | Step::RemoveMember(_)
            | Step::RenameGroup(_)
            | Step::AddUser(_)
            | Step::AddGroup(_)
    )
}

async fn expect(
    x: &Expectation,
    profile: &Profile,
    client: &Client,
    st: &mut State,
    target: &Target,
) -> Vec<CheckReport> {
    let mut checks = Vec::new();
    if let Some(state) = &x.state {
        checks.push(check_state(state, profile, st, target).await);
    }
    if let Some(log) = &x.log {
        let new = &st.log[st.log_mark..];
        let (outcome, message, diff) = match check_log(log, new) {
            Ok(()) => (Outcome::Passed, format!("{} provisioning-log entries as expected", new.len()), None),
            Err(d) => (Outcome::Failed, format!("provisioning log: expected {} entries, the IdP wrote {} (shown as `identity | action | status`)", log.len(), new.len()), Some(d)),
        };
        let exchanges = new
            .iter()
            .filter(|e| e.status != "Success")
            .flat_map(|e| e.exchanges.clone())
            .collect();
        checks.push(CheckReport {
            name: "log".into(),
            outcome,
            message,
            diff,
            patch: None,
            exchanges,
        });
    }
    if let Some(trace) = &x.trace {
        let new = &client.exchanges()[st.exchange_mark..];
        let (outcome, message, diff) = match check_trace(trace, new) {
            Ok(()) => (
                Outcome::Passed,
                format!("{} requests as expected", new.len()),
                None,
            ),
            Err(d) => (
                Outcome::Failed,
                format!(
                    "request trace: expected {} requests, {} were sent",
                    trace.len(),
                    new.len()
                ),
                Some(d),
            ),
        };
        checks.push(CheckReport {
            name: "trace".into(),
            outcome,
            message,
            diff,
            patch: None,
            exchanges: vec![],
        });
    }
    st.log_mark = st.log.len();
    st.exchange_mark = client.exchanges().len();
    checks
}

/// A client for the harness's own reads and clean-up: no faults, not in the IdP's exchange log.
fn harness_client(target: &Target) -> Result<Client, String> {
    Client::new(ClientConfig {
        base_url: target.url.clone(),
        token: target.token.clone(),
        timeout: target.timeout,
    })
}

async fn check_state(
    state: &StateExpectation,
    profile: &Profile,
    st: &State,
    target: &Target,
) -> CheckReport {
    let mapping = profile.mapping();
    let mut expected = derive(&st.dir, mapping, profile.rules());
    if let StateExpectation::Overrides { users, groups } = state {
        if let Err(e) = apply_overrides(&mut expected.users, users, false)
            .and_then(|_| apply_overrides(&mut expected.groups, groups, true))
        {
            return CheckReport {
                name: "state".into(),
                outcome: Outcome::Error,
                message: e,
                diff: None,
                patch: None,
                exchanges: vec![],
            };
        }
    }
    // Read back every object the run created or matched: the run's own objects only.
    let mut reader = match harness_client(target) {
        Ok(c) => c,
        Err(e) => {
            return CheckReport {
                name: "state".into(),
                outcome: Outcome::Error,
                message: e,
                diff: None,
                patch: None,
                exchanges: vec![],
            }
        }
    };
    let mut actual = ActualState::default();
    let mut to_read: Vec<(ObjectKind, String)> = st.ledger.touchable.iter().cloned().collect();
    let mut known: std::collections::HashSet<(ObjectKind, String)> =
        to_read.iter().cloned().collect();
    for found in find_by_identity(&mut reader, &identities(&expected, mapping)).await {
        if known.insert(found.clone()) {
            to_read.push(found);
        }
    }
    for (kind, id) in &to_read {
        let resp = reader
            .send(Request::new(
                reqwest::Method::GET,
                format!("{}/{}", kind.endpoint(), id),
            ))
            .await;
        match (resp.status, resp.body) {
            (Some(200), Some(body)) => {
                match kind {
                    ObjectKind::User => actual.users.insert(id.clone(), body),
                    ObjectKind::Group => actual.groups.insert(id.clone(), body),
                };
            }
            (Some(404), _) => {}
            (status, _) => {
                let what = status.map_or_else(
                    || resp.error.map(|e| e.to_string()).unwrap_or_default(),
                    |s| format!("HTTP {s}"),
                );
                return CheckReport {
                    name: "state".into(),
                    outcome: Outcome::Error,
                    message: format!("could not read back {} {id}: {what}", kind.name()),
                    diff: None,
                    patch: None,
                    exchanges: vec![],
                };
            }
        }
    }
    let uid = mapping
        .user_matching()
        .first()
        .map_or("userName".to_string(), |e| e.target.clone());
    let gid = mapping
        .group_matching()
        .first()
        .map_or("displayName".to_string(), |e| e.target.clone());
    let manager = mapping.user_reference("User").map(|e| e.target.clone());
    let n_users = expected.users.iter().filter(|e| e.present).count();
    let n_groups = expected.groups.iter().filter(|e| e.present).count();
    match compare(&expected, &actual, &uid, &gid, manager.as_deref()) {
        None => CheckReport {
            name: "state".into(),
            outcome: Outcome::Passed,
            message: format!(
                "the server holds the {n_users} users and {n_groups} groups expected, as expected"
            ),
            diff: None,
            patch: None,
            exchanges: vec![],
        },
        Some(d) => {
            let actual_users = &actual.users;
            let mut exchanges: Vec<u64> = Vec::new();
            let mut lines = Vec::new();
            for o in &d.objects {
                let mut line = format!("{} \"{}\": {}", o.kind, o.identity, o.problem);
                // The objects found under this identity, or, when none is, the one the IdP
                // linked to the source object (for blame only, never for comparing).
                let mut ids = o.target_ids.clone();
                if ids.is_empty() {
                    let kind = if o.kind == "group" {
                        ObjectKind::Group
                    } else {
                        ObjectKind::User
                    };
                    ids.extend(
                        o.key
                            .as_deref()
                            .and_then(|k| st.sync.target_id(kind, k))
                            .map(str::to_string),
                    );
                }
                if let Some(w) = st.ledger.blame(&ids, &o.fields) {
                    line.push_str(&format!(
                        " — last written by {}: {}{} (exchange #{})",
                        profile.display_name(),
                        w.behaviour.name,
                        if w.behaviour.inferred {
                            " (inferred)"
                        } else {
                            ""
                        },
                        w.exchange
                    ));
                    exchanges.push(w.exchange);
                }
                // Members that differ may have been changed on the server by a later write to
                // the member itself (a PUT /Users that drops the user's groups): name it too.
                if o.kind == "group" && o.fields.iter().any(|f| f == "members") {
                    let since = st.ledger.blame(&ids, &o.fields).map_or(0, |w| w.exchange);
                    let members = |doc: &serde_json::Value| -> Vec<String> {
                        doc["groups"][&o.identity]["members"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|m| m.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let (want, have) = (members(&d.expected), members(&d.actual));
                    let changed: Vec<&String> = want
                        .iter()
                        .filter(|m| !have.contains(m))
                        .chain(have.iter().filter(|m| !want.contains(m)))
                        .collect();
                    let member_ids: Vec<String> = actual_users
                        .iter()
                        .filter(|(_, r)| {
                            crate::scim::patch::get_path(r, &uid, &crate::scim::schema::USER_TYPE)
                                .and_then(|v| v.as_str().map(str::to_string))
                                .is_some_and(|n| changed.contains(&&n))
                        })
                        .map(|(id, _)| id.clone())
                        .collect();
                    let later = member_ids
                        .iter()
                        .filter_map(|id| st.ledger.writes.get(id))
                        .flatten()
                        .filter(|w| w.exchange > since)
                        .max_by_key(|w| w.exchange);
                    if let Some(w) = later {
                        line.push_str(&format!(
                            "; after that, {}: {} wrote a member (exchange #{})",
                            profile.display_name(),
                            w.behaviour.name,
                            w.exchange
                        ));
                        exchanges.push(w.exchange);
                    }
                }
                lines.push(line);
            }
            exchanges.sort_unstable();
            exchanges.dedup();
            CheckReport {
                name: "state".into(),
                outcome: Outcome::Failed,
                message: format!(
                    "the server's directory differs from what {} should have left:\n  {}",
                    profile.display_name(),
                    lines.join("\n  ")
                ),
                diff: Some(d.text),
                patch: Some(d.patch),
                exchanges,
            }
        }
    }
}

/// The identities (matching attribute and value) of every source object, run-scoped.
fn identities(
    expected: &crate::check::expected::ExpectedState,
    mapping: &crate::idp::mapping::Mapping,
) -> Vec<(ObjectKind, String, String)> {
    let uid = mapping
        .user_matching()
        .first()
        .map_or("userName".to_string(), |e| e.target.clone());
    let gid = mapping
        .group_matching()
        .first()
        .map_or("displayName".to_string(), |e| e.target.clone());
    let users = expected
        .users
        .iter()
        .map(|e| (ObjectKind::User, uid.clone(), e.identity.clone()));
    let groups = expected
        .groups
        .iter()
        .map(|e| (ObjectKind::Group, gid.clone(), e.identity.clone()));
    users.chain(groups).collect()
}

/// Ids of the objects a run-scoped identity finds on the server: objects this run created
/// even when it never saw the answer (a dropped POST response). A lookup the server cannot
/// answer finds nothing; the ids the run knows still count.
async fn find_by_identity(
    c: &mut Client,
    ids: &[(ObjectKind, String, String)],
) -> Vec<(ObjectKind, String)> {
    let mut out = Vec::new();
    for (kind, attr, value) in ids {
        let filter = format!(
            "{attr} eq {}",
            serde_json::to_string(value).unwrap_or_default()
        );
        let resp = c
            .send(Request::new(
                reqwest::Method::GET,
                format!(
                    "{}?filter={}",
                    kind.endpoint(),
                    crate::client::form_encode(&filter)
                ),
            ))
            .await;
        let found = resp
            .body
            .as_ref()
            .and_then(|b| b.get("Resources"))
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        for r in found {
            if let Some(id) = r.get("id").and_then(|v| v.as_str()) {
                out.push((*kind, id.to_string()));
            }
        }
    }
    out
}

/// Deletes what the run created, groups first; never anything else: the objects it saw
/// created, and those its run-scoped names find.
async fn cleanup(ledger: &Ledger, identities: &[(ObjectKind, String, String)], target: &Target) {
    let Ok(mut c) = harness_client(target) else {
        return;
    };
    let mut created = ledger.created.clone();
    let mut known: std::collections::HashSet<(ObjectKind, String)> =
        created.iter().cloned().collect();
    for found in find_by_identity(&mut c, identities).await {
        if known.insert(found.clone()) {
            created.push(found);
        }
    }
    created.sort_by_key(|(k, _)| if *k == ObjectKind::Group { 0 } else { 1 });
    for (kind, id) in created {
        let _ = c
            .send(Request::new(
                reqwest::Method::DELETE,
                format!("{}/{}", kind.endpoint(), id),
            ))
            .await;
    }
}

/// Checks the target answers and accepts the credentials: `Err` is exit code 3.
pub async fn preflight(target: &Target) -> Result<(), String> {
    let mut c = harness_client(target)?;
    let probe = format!(
        "/Users?filter={}",
        crate::client::form_encode(&format!("userName eq \"{}\"", uuid::Uuid::new_v4()))
    );
    let resp = c.send(Request::new(reqwest::Method::GET, probe)).await;
    match (resp.status, &resp.error) {
        (_, Some(e)) => Err(format!("{} is unreachable: {e}", target.url)),
        (Some(401), _) | (Some(403), _) => Err(format!(
            "{} refused the credentials: {}",
            target.url,
            resp.describe()
        )),
        _ => Ok(()),
    }
}
