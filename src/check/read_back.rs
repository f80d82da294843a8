//! Reading back what the run owns: the identities of the source objects, the objects those
//! identities find on the server (only resources whose identity equals the run-scoped name), and
//! a GET of each object the run created, matched or found. The state check diffs the result;
//! the runner's clean-up deletes what it finds. A lookup, run-scoped:
//!
//! ```text
//! GET /Users?filter=userName+eq+%22test.user.r3f9a1c01%40contoso.com%22
//! ```

use crate::check::diff::ActualState;
use crate::check::expected::ExpectedState;
use crate::client::{Client, Request};
use crate::idp::mapping::Mapping;
use crate::idp::Ledger;
use crate::report::model::Finding;
use crate::scim::kind::ObjectKind;

/// Reads back every object the run owns: those it created or matched, and those its
/// run-scoped identities find (only resources whose identity equals the run-scoped name: a
/// lookup answer is never trusted as such). Reads only; `Err` when one cannot be read.
///
/// `reader` is the harness's own client (no faults, outside the IdP's exchange log).
pub async fn read_back(
    reader: &mut Client,
    ids: &[(ObjectKind, String, String)],
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
    index: usize,
) -> Result<ActualState, String> {
    let mut actual = ActualState::default();
    let mut to_read: Vec<(ObjectKind, String)> = ledger.touchable.iter().cloned().collect();
    let mut known: std::collections::HashSet<(ObjectKind, String)> =
        to_read.iter().cloned().collect();
    let found = find_by_identity(reader, ids, ledger, findings, index).await;
    for found in found {
        if known.insert(found.clone()) {
            to_read.push(found);
        }
    }
    let mut result = Ok(());
    for (kind, id) in &to_read {
        let resp = reader
            .send(Request::new(
                reqwest::Method::GET,
                crate::idp::object_path(*kind, id),
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
                result = Err(format!("could not read back {} {id}: {what}", kind.name()));
                break;
            }
        }
    }
    result.map(|()| actual)
}

/// The identities (matching attribute and value) of every source object, run-scoped.
pub fn identities(
    expected: &ExpectedState,
    mapping: &Mapping,
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
/// even when it never saw the answer (a dropped POST response). Only a resource whose identity
/// attribute equals the run-scoped value (case-insensitively where RFC 7643 says `caseExact:
/// false`, as for `userName` and `displayName`) is the run's: the rest of the answer is someone
/// else's, and its presence means the server ignores `filter` (a finding; the ledger then
/// forbids writes to objects found only by lookup). A lookup the server cannot answer finds
/// nothing; the ids the run knows still count.
pub async fn find_by_identity(
    c: &mut Client,
    ids: &[(ObjectKind, String, String)],
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
    step: usize,
) -> Vec<(ObjectKind, String)> {
    let mut out = Vec::new();
    for (kind, attr, value) in ids {
        let filter = crate::idp::filter_eq(attr, value);
        let path = format!(
            "{}?filter={}",
            kind.endpoint(),
            crate::client::form_encode(&filter)
        );
        let resp = c.send(Request::new(reqwest::Method::GET, path)).await;
        if resp.status != Some(200) {
            continue;
        }
        let (Some(resources), Ok(parsed)) = (
            crate::idp::list_resources(&resp),
            crate::scim::filter::parse_filter(&filter),
        ) else {
            continue;
        };
        let (mine, foreign, unproven) = crate::idp::split_lookup(*kind, &parsed, &resources);
        for id in foreign.iter().chain(&unproven) {
            ledger.foreign.insert((*kind, id.clone()));
        }
        if !foreign.is_empty() {
            ledger.filter_ignored = true;
            note_filter_ignored(
                findings,
                crate::idp::filter_ignored_finding(
                    *kind,
                    &filter,
                    foreign.len(),
                    Some(resp.exchange),
                    step,
                ),
            );
        }
        for r in mine {
            let Some(id) = r.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            if let Some(why) = crate::scim::id::problem(id) {
                if !ledger.unsafe_ids.iter().any(|(k, x)| k == kind && x == id) {
                    ledger.unsafe_ids.push((*kind, id.to_string()));
                    crate::idp::count_finding(
                        findings,
                        crate::idp::unsafe_id_finding(*kind, id, why, Some(resp.exchange), step),
                    );
                }
                continue;
            }
            out.push((*kind, id.to_string()));
        }
    }
    out
}

/// Records a "filter ignored" finding once per scenario (later lookups raise its count).
fn note_filter_ignored(findings: &mut Vec<Finding>, f: Finding) {
    match findings.iter_mut().find(|x| x.behaviour == f.behaviour) {
        Some(prev) => {
            prev.count = prev.count.max(f.count);
            if let Some(e) = f.exchange.filter(|_| prev.examples.len() < 5) {
                prev.examples.push(e);
            }
        }
        None => findings.push(f),
    }
}
