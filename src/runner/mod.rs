//! Executes scenarios: owns the source directory and the sync state, drives the IdP profile,
//! checks expectations, cleans up, and builds the result model every reporter folds.
//!
//! ```text
//! step 2  cycle initial   → 14 exchanges, 6 provisioning-log entries
//! step 3  expect          → state: passed, log: passed
//! ```

use crate::check::expected::derive;
use crate::check::read_back::{discover, identities, list_all};
use crate::check::state::{state_error, Run};
use crate::check::{check_log, check_trace};
use crate::client::{Client, ClientConfig, Limits, Request};
use crate::idp::sync::SyncState;
use crate::idp::{Ctx, Ledger, Profile};
use crate::report::model::{
    CheckReport, Exchange, Finding, LogEntry, Outcome, ScenarioReport, Severity, StepReport,
};
use crate::scenario::model::{Expectation, Outcome as Expected, Scenario, StateExpectation, Step};
use crate::scim::kind::ObjectKind;
use crate::secret::Secret;
use crate::source::{DirectoryError, SourceDirectory};
use std::time::{Duration, Instant};

/// Where and how to run.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub token: Option<Secret>,
    pub timeout: Duration,
    /// The user gave `--timeout`: it wins over the wait an IdP's wire documents
    /// (`timeout_secs`, Okta's 60 s); otherwise `timeout` is only the default.
    pub timeout_given: bool,
    /// Leave what the run created on the server.
    pub keep: bool,
    /// Caps, deadline and the watchdog every client of the run shares.
    pub limits: Limits,
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
    /// The RFC probe groups run so far, for the report.
    probe_groups: Vec<crate::report::model::ProbeGroupReport>,
    /// Log entries and exchanges already covered by an earlier `expect`.
    log_mark: usize,
    exchange_mark: usize,
    /// The harness's own requests (read-back, clean-up), numbered with the IdP's exchanges.
    harness: Vec<Exchange>,
    /// Objects deleted before the end (by the probes' own clean-up): read back at clean-up.
    deleted: Vec<(ObjectKind, String)>,
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
        behaviours: Vec::new(),
        probe_groups: Vec::new(),
    };
    let mut client = match Client::new(ClientConfig {
        base_url: target.url.clone(),
        token: target.token.clone(),
        timeout: target.timeout,
    })
    .map(|c| {
        c.with_limits(target.limits.clone())
            .with_timeout_given(target.timeout_given)
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
    let generated = crate::scenario::loader::generate::generated(scenario);
    let dir = SourceDirectory::new(&scenario.directory, (&generated.0, &generated.1), tag);
    drop(generated);
    let mut st = State {
        dir,
        sync: profile.sync_state(),
        log: Vec::new(),
        findings: Vec::new(),
        ledger: Ledger::default(),
        probe_groups: Vec::new(),
        log_mark: 0,
        exchange_mark: 0,
        harness: Vec::new(),
        deleted: Vec::new(),
    };
    // Why the steps after an error are not run.
    let mut stopped: Option<String> = None;
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
        let why = stopped.clone().or_else(|| {
            target
                .limits
                .watchdog
                .stopped()
                .map(|w| format!("not run: the run stopped ({w})"))
        });
        if let Some(why) = why {
            sr.outcome = Outcome::Skipped;
            sr.error = Some(why);
            report.steps.push(sr);
            continue;
        }
        // A cycle goes through the whole source directory: that is the progress line's total.
        let objects = matches!(step, Step::Cycle(_) | Step::Import(_))
            .then(|| st.dir.users.len() + st.dir.groups.len());
        crate::report::progress::step(index, scenario.steps.len(), &sr.kind, objects);
        let t0 = Instant::now();
        let before = client.exchanges().len();
        let result = run_step(step, index, profile, &mut client, &mut st, target).await;
        match result {
            Ok(checks) => sr.checks = checks,
            Err(e) => match failed_before(&st.findings, index) {
                // A step that cannot run because an earlier step's requests failed (a push
                // of a group whose creation the server refused) is a consequence, not a new
                // failure: "not run: needs step N", and so is everything after it.
                Some(n) => {
                    let why = format!("not run: needs step {n}, which failed ({e})");
                    sr.error = Some(why);
                    sr.outcome = Outcome::Skipped;
                    stopped = Some(format!("not run: needs step {n}, which failed"));
                }
                None => {
                    sr.error = Some(e);
                    sr.outcome = Outcome::Error;
                    stopped = Some(format!("not run: step {index} could not run"));
                }
            },
        }
        if sr.checks.iter().any(|c| c.outcome == Outcome::Failed) && sr.outcome == Outcome::Passed {
            sr.outcome = Outcome::Failed;
        }
        if sr.checks.iter().any(|c| c.outcome == Outcome::Error) {
            sr.outcome = Outcome::Error;
        }
        // The deadline passed or the target stopped answering during this step: what it
        // checked cannot be trusted, and nothing after it runs.
        if let Some(why) = target.limits.watchdog.stopped() {
            sr.outcome = Outcome::Error;
            sr.error.get_or_insert(format!("stopped: {why}"));
            stopped = Some(format!("not run: the run stopped ({why})"));
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
        let index = report.steps.len() + 1;
        report
            .steps
            .push(cleanup(&mut st, &ids, target, &mut client, index).await);
    }
    report.exchanges = client.take_exchanges();
    // The harness's own requests, in send order among the IdP's (ids are shared, and
    // unique). Sorted in place: a stable sort's scratch would be half the exchange log
    // (48 MB at 100,000 users), at the end of the run, when the rest is still held.
    report.exchanges.append(&mut st.harness);
    report.exchanges.sort_unstable_by_key(|e| e.id);
    report.provisioning_log = st.log;
    report.findings = st.findings;
    report.probe_groups = st.probe_groups;
    // What the report says each verdict rests on, inferred or with a public source.
    report.behaviours = st
        .ledger
        .exercised
        .iter()
        .map(|(b, n)| crate::report::model::BehaviourUse {
            name: format!("{}: {}", profile.display_name(), b.name),
            source: b.source.to_owned(),
            inferred: b.inferred,
            requests: *n,
        })
        .collect();
    // Every answer the target gave, whatever the scenario checks, against the SCIM schemas.
    report
        .findings
        .extend(crate::validate::findings(&report.exchanges));
    // One finding per cause, counted: a bug seen on 200 exchanges is one finding ×200.
    report.findings = crate::report::group_findings(std::mem::take(&mut report.findings));
    report.outcome = if report.steps.iter().any(|s| s.outcome == Outcome::Error) {
        Outcome::Error
    } else if report.steps.iter().any(|s| s.outcome == Outcome::Failed)
        // A MUST finding about what this scenario tests fails it even when every expectation
        // held: the verdicts, the exit code and every report then agree.
        || report
            .findings
            .iter()
            .any(|f| crate::report::verdicts::fails_scenario(&report, f))
    {
        Outcome::Failed
    } else {
        Outcome::Passed
    };
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// The last step before `index` whose IdP requests the server refused (a MUST finding about
/// an IdP behaviour): what a later step that cannot run depends on.
fn failed_before(findings: &[Finding], index: usize) -> Option<usize> {
    findings
        .iter()
        .filter(|f| {
            f.step < index
                && f.severity == crate::report::model::Severity::Must
                && !crate::report::verdicts::is_rfc(f)
        })
        .map(|f| f.step)
        .max()
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
    let err = |e: DirectoryError| e.0;
    macro_rules! ctx {
        () => {
            Ctx::new(
                &mut *client,
                &mut st.dir,
                &mut st.sync,
                &mut st.log,
                &mut st.findings,
                &mut st.ledger,
                index,
                profile.display_name(),
            )
            .with_in_flight(profile.in_flight)
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
            let spec = crate::probe::okta_spec::run(client, &tag).await;
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
            st.deleted.extend(run.deleted.iter().cloned());
            st.probe_groups.extend(run.groups);
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
        Step::Expect(x) => return Ok(expect(x, index, profile, client, st, target).await),
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
    index: usize,
    profile: &Profile,
    client: &mut Client,
    st: &mut State,
    target: &Target,
) -> Vec<CheckReport> {
    let mut checks = Vec::new();
    if let Some(state) = &x.state {
        checks.push(check_state(state, index, profile, st, target, client).await);
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

/// A client for the harness's own reads and clean-up: no faults, and not in the IdP's exchange
/// log (so never in a trace or provisioning-log check), but its exchanges continue the IdP
/// client's numbering and are kept, marked `harness`, by [`harness_done`].
fn harness_client(target: &Target, main: &Client, step: usize) -> Result<Client, String> {
    let mut c = Client::new(ClientConfig {
        base_url: target.url.clone(),
        token: target.token.clone(),
        timeout: target.timeout,
    })?
    .with_limits(target.limits.clone())
    .with_timeout_given(target.timeout_given)
    .with_accept(crate::scim::SCIM_JSON);
    c.set_next_exchange_id(main.next_exchange_id());
    c.step = step;
    Ok(c)
}

/// Hands the harness client's exchanges to the scenario, marked as the harness's own, and moves
/// the IdP client's numbering past them. Returns their ids.
fn harness_done(h: &mut Client, main: &mut Client, out: &mut Vec<Exchange>) -> Vec<u64> {
    main.set_next_exchange_id(h.next_exchange_id());
    let mut xs = h.take_exchanges();
    for x in &mut xs {
        x.harness = true;
    }
    let ids = xs.iter().map(|x| x.id).collect();
    out.extend(xs);
    ids
}

/// The `state` check, read back through the harness's own client.
async fn check_state(
    state: &StateExpectation,
    index: usize,
    profile: &Profile,
    st: &mut State,
    target: &Target,
    client: &mut Client,
) -> CheckReport {
    let mut reader = match harness_client(target, client, index) {
        Ok(c) => c,
        Err(e) => return state_error(e),
    };
    let run = Run {
        dir: &st.dir,
        sync: &st.sync,
        ledger: &mut st.ledger,
        findings: &mut st.findings,
    };
    let report = crate::check::state::check_state(state, index, profile, run, &mut reader).await;
    harness_done(&mut reader, client, &mut st.harness);
    report
}

/// Deletes what the run owns, groups first, and reads each deleted object back: the
/// `cleanup` step of the scenario report. Owned means created by the run's own POST, or found
/// under its run-scoped identity on a server that honours `filter`; nothing else is ever
/// deleted. A DELETE that fails, an object still readable after its DELETE (RFC 7644 §3.6: a
/// deleted resource MUST answer 404 to every later operation), and an object left because its
/// id is path syntax make the step fail (exit code 1).
///
/// ```text
/// step 9  cleanup  FAILED
///   deleted 2 groups and 4 users; 1 still readable after DELETE (soft delete?): User 7f3e…
/// ```
async fn cleanup(
    st: &mut State,
    identities: &[(ObjectKind, String, String)],
    target: &Target,
    client: &mut Client,
    index: usize,
) -> StepReport {
    let t0 = Instant::now();
    let mut sr = StepReport {
        index,
        line: 0,
        kind: "cleanup".into(),
        outcome: Outcome::Passed,
        duration_ms: 0,
        exchanges: vec![],
        checks: vec![],
        error: None,
    };
    let mut c = match harness_client(target, client, index) {
        Ok(c) => c,
        Err(e) => {
            sr.outcome = Outcome::Error;
            sr.error = Some(e);
            return sr;
        }
    };
    let mut owned: Vec<(ObjectKind, String)> = st
        .ledger
        .created
        .iter()
        .filter(|(_, id)| crate::scim::id::problem(id).is_none())
        .cloned()
        .collect();
    let mut known: std::collections::HashSet<(ObjectKind, String)> =
        owned.iter().cloned().collect();
    let mut left_unproven = Vec::new();
    let found = discover(
        &mut c,
        identities,
        &mut st.ledger,
        &mut st.findings,
        index,
        None,
    )
    .await
    .found;
    for found in found {
        if !known.insert(found.clone()) {
            continue;
        }
        if st.ledger.filter_ignored {
            // Found only by lookup on a server that ignores filter: not provably the run's.
            left_unproven.push(found);
        } else {
            owned.push(found);
        }
    }
    owned.sort_by_key(|(k, _)| if *k == ObjectKind::Group { 0 } else { 1 });
    let mut failed: Vec<String> = Vec::new();
    let mut gone: Vec<(ObjectKind, String)> = st.deleted.clone();
    let mut gone_set: std::collections::HashSet<(ObjectKind, String)> =
        gone.iter().cloned().collect();
    let mut exchanges_of_failures = Vec::new();
    for (kind, id) in &owned {
        let resp = c
            .send(Request::new(
                crate::client::Method::DELETE,
                crate::idp::object_path(*kind, id),
            ))
            .await;
        // 404: already gone (the IdP deleted it during the scenario).
        if resp.ok() || resp.status == Some(404) {
            if gone_set.insert((*kind, id.clone())) {
                gone.push((*kind, id.clone()));
            }
        } else {
            failed.push(format!("{} {id}: {}", kind.name(), resp.describe()));
            exchanges_of_failures.push(resp.exchange);
        }
    }
    // RFC 7644 §3.6: "the service provider MUST return a 404 (Not Found) error code for all
    // operations associated with the previously deleted resource".
    let mut residue: Vec<String> = Vec::new();
    let mut unverified: Vec<String> = Vec::new();
    let mut residue_exchanges = Vec::new();
    // At a tenant's size, one listing of the users shows which deleted users are still there;
    // those, the groups and a sample of the rest are read one by one (the 404 the RFC asks).
    let gone_users = gone.iter().filter(|(k, _)| *k == ObjectKind::User).count();
    let still_listed: Option<std::collections::HashSet<String>> =
        if gone_users >= VERIFY_ALL_UPTO && !st.ledger.unpaged.contains(&ObjectKind::User) {
            list_all(&mut c, ObjectKind::User, Some(&Default::default()))
                .await
                .map(|l| {
                    l.iter()
                        .filter_map(|r| r.value().get("id")?.as_str().map(str::to_string))
                        .collect()
                })
        } else {
            None
        };
    let mut sampled = 0;
    let mut unlisted = 0;
    for (kind, id) in &gone {
        if let (ObjectKind::User, Some(listed)) = (kind, &still_listed) {
            if !listed.contains(id) {
                if sampled >= VERIFY_ALL_UPTO {
                    unlisted += 1;
                    continue;
                }
                sampled += 1;
            }
        }
        let resp = c
            .send(Request::new(
                crate::client::Method::GET,
                crate::idp::object_path(*kind, id),
            ))
            .await;
        match resp.status {
            Some(404) => {}
            Some(s) if (200..300).contains(&s) => {
                residue.push(format!("{} {id}", kind.name()));
                residue_exchanges.push(resp.exchange);
            }
            _ => unverified.push(format!("{} {id}: {}", kind.name(), resp.describe())),
        }
    }
    sr.exchanges = harness_done(&mut c, client, &mut st.harness);
    let unsafe_left: Vec<String> = st
        .ledger
        .unsafe_ids
        .iter()
        .filter(|(k, id)| {
            st.ledger
                .created
                .iter()
                .any(|(ck, cid)| ck == k && cid == id)
        })
        .map(|(k, id)| format!("{} {id:?}", k.name()))
        .collect();
    if !residue.is_empty() {
        st.findings.push(Finding {
            severity: Severity::Must,
            behaviour: "RFC 7643/7644: a deleted resource is gone (DELETE, then GET answers 404)"
                .into(),
            source: "RFC 7644 §3.6".into(),
            inferred: false,
            message: format!(
                "{} object{} still readable after a successful DELETE (soft delete?): {}; \
                 RFC 7644 §3.6: the service provider \"MUST return a 404 (Not Found) error code \
                 for all operations associated with the previously deleted resource\"",
                residue.len(),
                if residue.len() == 1 { " is" } else { "s are" },
                residue.join(", ")
            ),
            exchange: residue_exchanges.first().copied(),
            step: index,
            count: residue.len(),
            examples: residue_exchanges.iter().skip(1).take(4).copied().collect(),
        });
    }
    let groups = owned
        .iter()
        .filter(|(k, _)| *k == ObjectKind::Group)
        .count();
    let mut lines = vec![format!(
        "deleted what the run owns: {} group{} and {} user{}, groups first{}",
        groups,
        if groups == 1 { "" } else { "s" },
        owned.len() - groups,
        if owned.len() - groups == 1 { "" } else { "s" },
        if gone.is_empty() {
            String::new()
        } else if unlisted > 0 {
            format!(
                "; {} read back after DELETE, {unlisted} more shown gone by a listing of /Users",
                gone.len() - unlisted
            )
        } else {
            format!("; {} read back after DELETE", gone.len())
        }
    )];
    let problem = !failed.is_empty() || !residue.is_empty() || !unsafe_left.is_empty();
    if !failed.is_empty() {
        lines.push(format!(
            "{} DELETE{} failed, left on the server: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join("; ")
        ));
    }
    if !residue.is_empty() {
        lines.push(format!(
            "{} still readable after DELETE (RFC 7644 §3.6 MUST answer 404): {}",
            residue.len(),
            residue.join(", ")
        ));
    }
    if !unsafe_left.is_empty() {
        lines.push(format!(
            "left on the server, their server-chosen ids being path syntax the harness never \
             sends: {}",
            unsafe_left.join(", ")
        ));
    }
    if !left_unproven.is_empty() {
        lines.push(format!(
            "not deleted: {} object{} found only by lookup on a server that ignores filter \
             (not provably the run's): {}",
            left_unproven.len(),
            if left_unproven.len() == 1 { "" } else { "s" },
            left_unproven
                .iter()
                .map(|(k, id)| format!("{} {id}", k.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !unverified.is_empty() {
        lines.push(format!(
            "could not verify the deletion of: {}",
            unverified.join("; ")
        ));
    }
    let mut exchanges = exchanges_of_failures;
    exchanges.extend(residue_exchanges);
    sr.checks.push(CheckReport {
        name: "cleanup".into(),
        outcome: if problem {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        message: lines.join("\n"),
        diff: None,
        patch: None,
        exchanges,
    });
    if problem {
        sr.outcome = Outcome::Failed;
    }
    sr.duration_ms = t0.elapsed().as_millis() as u64;
    sr
}

/// Up to this many deleted users are each read back after DELETE; past it, a listing of
/// `/Users` shows which are still there, and only those and this many others are read back.
const VERIFY_ALL_UPTO: usize = 50;

/// A client for the checks before and after a run (is the target usable, did it die): no
/// scenario owns its exchanges.
fn probe_client(target: &Target) -> Result<Client, String> {
    Ok(Client::new(ClientConfig {
        base_url: target.url.clone(),
        token: target.token.clone(),
        timeout: target.timeout,
    })?
    .with_limits(target.limits.clone())
    .with_timeout_given(target.timeout_given)
    .with_accept(crate::scim::SCIM_JSON))
}

/// The first lookup the harness sends (a user that cannot exist): every IdP's Test
/// Connection sends one like it.
fn lookup_path() -> String {
    format!(
        "/Users?filter={}",
        crate::client::form_encode(&format!("userName eq \"{}\"", uuid::Uuid::new_v4()))
    )
}

/// Checks the target answers, accepts the credentials and speaks SCIM: `Err` is exit code 3,
/// with a message that names the request and what came back:
///
/// ```text
/// http://127.0.0.1:8080/scim/v2 is not a SCIM endpoint: GET /Users?filter=… answered 404
/// text/html; GET /ServiceProviderConfig answered 404 text/html
/// ```
///
/// "Not SCIM" needs both the lookup and discovery to fail that way: a server whose filter
/// lookup 404s but whose `/ServiceProviderConfig` answers SCIM is tested (and its 404 reported
/// by the scenarios that check it).
pub async fn preflight(target: &Target) -> Result<(), String> {
    let mut c = probe_client(target)?;
    let probe = lookup_path();
    let resp = c
        .send(Request::new(crate::client::Method::GET, probe.clone()))
        .await;
    match (resp.status, &resp.error) {
        (_, Some(e)) => {
            return Err(format!(
                "{} {}: GET {} got no answer: {e}",
                target.url,
                if matches!(e, crate::client::TransportError::Connect { .. }) {
                    "is unreachable"
                } else {
                    "cannot be used"
                },
                short(&probe)
            ))
        }
        (Some(401), _) | (Some(403), _) => {
            return Err(format!(
                "{} refused the credentials: {}",
                target.url,
                resp.describe()
            ))
        }
        _ => {}
    }
    if !not_scim(&resp) {
        return Ok(());
    }
    let disco = c
        .send(Request::new(
            crate::client::Method::GET,
            "/ServiceProviderConfig".to_string(),
        ))
        .await;
    if disco.ok() && !not_scim(&disco) {
        return Ok(());
    }
    Err(format!(
        "{} is not a SCIM endpoint: GET {} answered {}; GET /ServiceProviderConfig answered {}; \
         check the base path (it usually ends in /scim/v2) and that the server is a SCIM 2.0 service",
        target.url,
        short(&probe),
        answer(&resp),
        answer(&disco)
    ))
}

/// After a run that did not pass: `Some(why)` when the target no longer answers at all (it
/// died or hung mid-run), which makes the run's outcome "target unusable" (exit 3) rather than
/// a verdict about the server.
pub async fn lost(target: &Target) -> Option<String> {
    let mut c = probe_client(target).ok()?;
    let probe = lookup_path();
    let resp = c
        .send(Request::new(crate::client::Method::GET, probe.clone()))
        .await;
    resp.error.map(|e| {
        format!(
            "{} stopped answering during the run: GET {} now gets {e}; the results above are \
             not a verdict on the server",
            target.url,
            short(&probe)
        )
    })
}

/// `/Users?filter=userName+eq+%22<36 characters>%22` as `/Users?filter=…`: the random value
/// says nothing.
fn short(path: &str) -> String {
    match path.split_once("filter=") {
        Some((head, _)) => format!("{head}filter=userName eq \"<random>\""),
        None => path.to_string(),
    }
}

/// A body nothing SCIM would send: an HTML page, text, nothing, or a 404 whose JSON is not a
/// SCIM message (a web framework's "not found").
fn not_scim(resp: &crate::client::Response) -> bool {
    let html = resp
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
    let Some(serde_json::Value::Object(body)) = &resp.body else {
        return true;
    };
    let scim_shaped = body.contains_key("schemas")
        || body.contains_key("Resources")
        || body.contains_key("totalResults")
        || body.contains_key("scimType");
    html || (resp.status == Some(404) && !scim_shaped)
}

/// `404 text/html`, `200 (no Content-Type)`, `no answer: connection reset ...`.
fn answer(resp: &crate::client::Response) -> String {
    match (resp.status, &resp.error) {
        (_, Some(e)) => format!("nothing ({e})"),
        (Some(s), _) => format!(
            "{s} {}",
            resp.header("content-type")
                .map(|c| c.split(';').next().unwrap_or(c).trim().to_string())
                .unwrap_or_else(|| "(no Content-Type)".into())
        ),
        (None, None) => "nothing".into(),
    }
}
