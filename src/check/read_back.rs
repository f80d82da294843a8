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
use crate::compact::Compact;
use crate::idp::mapping::Mapping;
use crate::idp::Ledger;
use crate::report::model::Finding;
use crate::scim::kind::ObjectKind;
use crate::scim::patch::get_path;
use crate::scim::schema::USER_TYPE;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Reads back every object the run owns: those it created or matched, and those its
/// run-scoped identities find (only resources whose identity equals the run-scoped name: a
/// lookup answer is never trusted as such). Reads only; `Err` when one cannot be read.
///
/// `reader` is the harness's own client (no faults, outside the IdP's exchange log).
///
/// Users that come from a listing are kept with the top-level attributes named in `compared`
/// (lower-case, see [`top_names`]), their identity, `id` and every extension (`urn:` keys)
/// only: what the diff reads of them. At a tenant's size the rest (`meta`, `groups`,
/// `schemas`) was a third of the state check's memory.
pub async fn read_back(
    reader: &mut Client,
    ids: &[(ObjectKind, String, String)],
    compared: &HashSet<String>,
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
    index: usize,
) -> Result<ActualState, String> {
    let mut actual = ActualState::default();
    let touchable: HashSet<(ObjectKind, String)> = ledger.touchable.iter().cloned().collect();
    let want = Want {
        objects: &touchable,
        compared,
    };
    let discovered = discover(reader, ids, ledger, findings, index, Some(want)).await;
    let mut to_read: Vec<(ObjectKind, String)> = ledger.touchable.iter().cloned().collect();
    let mut known: HashSet<(ObjectKind, String)> = to_read.iter().cloned().collect();
    for found in discovered.found {
        if known.insert(found.clone()) {
            to_read.push(found);
        }
    }
    let mut listed = discovered.bodies;
    let mut result = Ok(());
    for (kind, id) in &to_read {
        // Listed already: its body is the one the listing answered. A listed user that
        // differs from what is expected is read again on its own before the check says so.
        if let Some(body) = listed.remove(&(*kind, id.clone())) {
            actual.listed.insert(id.clone());
            actual.users.insert(id.clone(), body);
            continue;
        }
        match read_one(reader, *kind, id).await {
            Ok(Some(body)) => {
                match kind {
                    ObjectKind::User => actual.users.insert(id.clone(), body.into()),
                    ObjectKind::Group => actual.groups.insert(id.clone(), body.into()),
                };
            }
            Ok(None) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    result.map(|()| actual)
}

/// `GET /Users/{id}` (or `/Groups/{id}`): `Ok(None)` when the server answers 404.
pub async fn read_one(
    reader: &mut Client,
    kind: ObjectKind,
    id: &str,
) -> Result<Option<Value>, String> {
    let resp = reader
        .send(Request::new(
            crate::client::Method::GET,
            crate::idp::object_path(kind, id),
        ))
        .await;
    match (resp.status, resp.body) {
        (Some(200), Some(body)) => Ok(Some(body)),
        (Some(404), _) => Ok(None),
        (status, _) => {
            let what = status.map_or_else(
                || resp.error.map(|e| e.to_string()).unwrap_or_default(),
                |s| format!("HTTP {s}"),
            );
            Err(format!("could not read back {} {id}: {what}", kind.name()))
        }
    }
}

/// Users per listing page the harness asks for (RFC 7644 §3.4.2.4 `count`; a server may
/// answer fewer, and the listing goes on from where the page ended).
pub const PAGE: usize = 500;

/// Below this many users to find, one lookup each costs less than a listing of the server.
const LIST_FROM: usize = 50;

/// The bodies [`discover`] keeps from a listing: those of `objects`, pruned to the top-level
/// attributes in `compared` (see [`read_back`]).
#[derive(Clone, Copy)]
pub struct Want<'a> {
    pub objects: &'a HashSet<(ObjectKind, String)>,
    pub compared: &'a HashSet<String>,
}

/// The lower-case top-level attribute names of `paths` (`name.givenName` → `name`,
/// `emails[type eq "work"].value` → `emails`); extension paths need none, as every `urn:`
/// key is kept.
pub fn top_names<'a>(paths: impl IntoIterator<Item = &'a String>) -> HashSet<String> {
    paths
        .into_iter()
        .map(|p| match crate::scim::filter::parse_path(p) {
            Ok(parsed) => parsed.attr.name.to_ascii_lowercase(),
            Err(_) => p
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        })
        .collect()
}

/// `body` without the top-level attributes a check does not read: kept are `id`, every
/// extension (`urn:` keys) and the names in `keep` (lower-case).
pub fn prune(body: &mut Value, keep: &HashSet<String>) {
    if let Value::Object(m) = body {
        m.retain(|k, _| {
            k == "id"
                || k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
                || keep.contains(&k.to_ascii_lowercase())
        });
    }
}

/// What [`discover`] found: the ids of objects whose identity is run-scoped, and the listed
/// bodies of users that are the run's (found, or in `want`; none when `want` is `None`).
pub struct Discovered {
    pub found: Vec<(ObjectKind, String)>,
    pub bodies: HashMap<(ObjectKind, String), Compact>,
}

/// [`find_by_identity`] at a tenant's size: the users come from one paged listing of
/// `GET /Users?startIndex=…&count=500` (every page bounded by `--max-pages`), matched by
/// identity with the same rule as a lookup's answer (the run-scoped value, compared as the
/// attribute's `caseExact` says); each identity the listing does not show, and every group,
/// is still looked up on its own. A listing that fails, is cut by `--max-pages`, repeats
/// itself (a server ignoring `startIndex`) or holds fewer users than its `totalResults`
/// finds nothing: every identity is then looked up, as for a small directory. Reads only.
pub async fn discover(
    c: &mut Client,
    ids: &[(ObjectKind, String, String)],
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
    step: usize,
    want: Option<Want<'_>>,
) -> Discovered {
    let users: Vec<&(ObjectKind, String, String)> = ids
        .iter()
        .filter(|(k, _, _)| *k == ObjectKind::User)
        .collect();
    // What the listing keeps of each user: its identity attributes, and what is compared.
    let mut keep = top_names(users.iter().map(|u| &u.1));
    if let Some(w) = want {
        keep.extend(w.compared.iter().cloned());
    }
    let mut out = Discovered {
        found: Vec::new(),
        bodies: HashMap::new(),
    };
    // A listing this run already saw fail (see `Ledger::unpaged`) is not paged again.
    let listing = if users.len() >= LIST_FROM && !ledger.unpaged.contains(&ObjectKind::User) {
        list_all(c, ObjectKind::User, Some(&keep)).await
    } else {
        None
    };
    let Some(listing) = listing else {
        out.found = find_by_identity(c, ids, ledger, findings, step).await;
        return out;
    };
    // Candidates by lower-cased value; each is confirmed by the lookup's own filter rule.
    let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, _, value)) in users.iter().enumerate() {
        by_value.entry(value.to_lowercase()).or_default().push(i);
    }
    let mut attrs: Vec<&str> = users.iter().map(|u| u.1.as_str()).collect();
    attrs.sort_unstable();
    attrs.dedup();
    let mut seen = vec![false; users.len()];
    for stored in listing {
        let r = stored.value();
        let Some(id) = r.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let mut mine = false;
        for attr in &attrs {
            let Some(v) =
                get_path(&r, attr, &USER_TYPE).and_then(|v| v.as_str().map(str::to_lowercase))
            else {
                continue;
            };
            for &j in by_value.get(&v).into_iter().flatten() {
                let (_, a, value) = users[j];
                let filter = crate::idp::filter_eq(a, value);
                if a == attr
                    && crate::scim::filter::parse_filter(&filter)
                        .is_ok_and(|f| f.matches(&r, &USER_TYPE))
                {
                    seen[j] = true;
                    mine = true;
                }
            }
        }
        if mine {
            if let Some(why) = crate::scim::id::problem(&id) {
                note_unsafe(ledger, findings, ObjectKind::User, &id, why, None, step);
                continue;
            }
            out.found.push((ObjectKind::User, id.clone()));
        }
        if want.is_some_and(|w| mine || w.objects.contains(&(ObjectKind::User, id.clone()))) {
            out.bodies.insert((ObjectKind::User, id), stored);
        }
    }
    let rest: Vec<(ObjectKind, String, String)> = users
        .iter()
        .zip(&seen)
        .filter(|(_, s)| !**s)
        .map(|(u, _)| (*u).clone())
        .chain(
            ids.iter()
                .filter(|(k, _, _)| *k != ObjectKind::User)
                .cloned(),
        )
        .collect();
    out.found
        .extend(find_by_identity(c, &rest, ledger, findings, step).await);
    out
}

/// Every resource of `kind` the server lists, page by page, or `None` when the listing cannot
/// be trusted to be whole (see [`discover`]). With `keep`, each resource is [`prune`]d as its
/// page arrives; each is kept as compact text ([`Compact`]): a 100,000-user listing is held
/// whole, so only what the caller reads, at the size of its text.
pub async fn list_all(
    c: &mut Client,
    kind: ObjectKind,
    keep: Option<&HashSet<String>>,
) -> Option<Vec<Compact>> {
    let max_pages = c.limits().max_pages;
    let mut all: Vec<Compact> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut total: Option<u64> = None;
    for _ in 0..max_pages {
        let path = format!(
            "{}?startIndex={}&count={PAGE}",
            kind.endpoint(),
            all.len() + 1
        );
        let resp = c.send(Request::new(crate::client::Method::GET, path)).await;
        if resp.status != Some(200) {
            return None;
        }
        let mut body = resp.body?;
        let n = body.get("totalResults").and_then(Value::as_u64)?;
        if n > max_pages as u64 * PAGE as u64 {
            // More than `--max-pages` full pages could hold: the listing cannot be read whole.
            return None;
        }
        if *total.get_or_insert(n) != n {
            // The directory changed while it was listed: pages may have shifted.
            return None;
        }
        let key = if body.get("Resources").is_some() {
            "Resources"
        } else {
            "resources"
        };
        let page = match body.get_mut(key).map(Value::take) {
            Some(Value::Array(a)) => a,
            None if n == 0 => Vec::new(),
            _ => return None,
        };
        for r in &page {
            let id = r.get("id").and_then(Value::as_str)?;
            if !ids.insert(id.to_string()) {
                // The same resource twice: the server ignores startIndex.
                return None;
            }
        }
        let empty = page.is_empty();
        all.extend(page.into_iter().map(|mut r| {
            if let Some(keep) = keep {
                prune(&mut r, keep);
            }
            Compact::from(&r)
        }));
        if all.len() as u64 >= n {
            return (all.len() as u64 == n).then_some(all);
        }
        if empty {
            return None;
        }
    }
    None
}

fn note_unsafe(
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
    kind: ObjectKind,
    id: &str,
    why: &'static str,
    exchange: Option<u64>,
    step: usize,
) {
    if !ledger.unsafe_ids.iter().any(|(k, x)| *k == kind && x == id) {
        ledger.unsafe_ids.push((kind, id.to_string()));
        crate::idp::count_finding(
            findings,
            crate::idp::unsafe_id_finding(kind, id, why, exchange, step),
        );
    }
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
        let resp = c.send(Request::new(crate::client::Method::GET, path)).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::diff::compare;
    use crate::check::expected::{Expected, ExpectedState};
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// A listed user kept with only the attributes the diff reads compares exactly as the
    /// whole body does, equal or not.
    #[test]
    fn a_pruned_listing_body_compares_as_the_whole_body() {
        let paths: Vec<String> = [
            "userName",
            "name.givenName",
            "emails[type eq \"work\"].value",
            &format!("{ENT}:department"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let manager = format!("{ENT}:manager");
        let keep = top_names(paths.iter().chain([&manager]));
        assert!(["username", "name", "emails"]
            .iter()
            .all(|n| keep.contains(*n)));
        let want = |given: &str| ExpectedState {
            users: vec![
                Expected {
                    key: "a".into(),
                    identity: "a@x".into(),
                    present: true,
                    attrs: json!({"userName": "a@x", "name": {"givenName": given},
                    "emails": [{"type": "work", "value": "a@x"}],
                    ENT: {"department": "IT", "manager": {"value": "b@x"}}})
                    .into(),
                },
                Expected {
                    key: "b".into(),
                    identity: "b@x".into(),
                    present: true,
                    attrs: json!({"userName": "b@x"}).into(),
                },
            ],
            groups: vec![],
            user_paths: paths.clone(),
            group_paths: vec![],
        };
        let body = |id: &str, name: &str, manager: Option<&str>| {
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT], "id": id,
                "UserName": name, "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"type": "work", "value": name, "primary": true}],
                ENT: {"department": "IT", "manager": manager.map(|m| json!({"value": m}))},
                "groups": [{"value": "g1", "display": "Sales"}],
                "meta": {"resourceType": "User", "version": "W/\"2\""}})
        };
        let mut whole = ActualState::default();
        whole
            .users
            .insert("1".into(), body("1", "a@x", Some("2")).into());
        whole
            .users
            .insert("2".into(), body("2", "b@x", None).into());
        let mut pruned = whole.clone();
        for b in pruned.users.values_mut() {
            let mut v = b.value();
            prune(&mut v, &keep);
            *b = v.into();
        }
        let kept = &pruned.users["1"].value();
        assert!(kept.get("meta").is_none() && kept.get("groups").is_none());
        assert!(kept.get("UserName").is_some() && kept.get(ENT).is_some());
        let run = |a: &ActualState, given: &str| {
            compare(&want(given), a, "userName", "displayName", Some(&manager)).map(|d| {
                (
                    d.text,
                    d.objects
                        .iter()
                        .map(|o| o.fields.clone())
                        .collect::<Vec<_>>(),
                )
            })
        };
        assert_eq!(run(&pruned, "Ann"), run(&whole, "Ann"));
        let differs = run(&pruned, "Bob").expect("givenName differs");
        assert_eq!(Some(differs.clone()), run(&whole, "Bob"));
        assert_eq!(differs.1, vec![vec!["name".to_string()]]);
    }
}
