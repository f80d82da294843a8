//! The `state` check of an `expect` step: the target state derived from the source directory
//! and the mapping, with the scenario's overrides, diffed against what the server holds for the
//! run's own objects, each difference blamed on the request that wrote it (or said to have none):
//!
//! ```text
//! user "josue.r3f9a1c01@contoso.com": differs at active — last written by Entra ID: disable user (PATCH /Users/{id} {"op":"Replace","path":"active","value":"False"}) (exchange #9)
//! ```

use crate::check::diff::compare;
use crate::check::expected::{apply_overrides, derive};
use crate::check::read_back::{identities, read_back, read_one, top_names};
use crate::client::Client;
use crate::idp::sync::SyncState;
use crate::idp::{Ledger, Profile};
use crate::report::model::{CheckReport, Finding, Outcome};
use crate::scenario::model::StateExpectation;
use crate::scim::kind::ObjectKind;
use crate::source::SourceDirectory;

/// What the state check reads from the run (the source directory, the IdP's links) and adds to
/// (objects found by lookup, findings).
pub struct Run<'a> {
    pub dir: &'a SourceDirectory,
    pub sync: &'a SyncState,
    pub ledger: &'a mut Ledger,
    pub findings: &'a mut Vec<Finding>,
}

/// A state check that could not be made (an override that does not apply, an object that
/// cannot be read back): an error, not a verdict.
pub fn state_error(message: String) -> CheckReport {
    CheckReport {
        name: "state".into(),
        outcome: Outcome::Error,
        message,
        diff: None,
        patch: None,
        exchanges: vec![],
    }
}

pub async fn check_state(
    state: &StateExpectation,
    index: usize,
    profile: &Profile,
    run: Run<'_>,
    reader: &mut Client,
) -> CheckReport {
    let mapping = profile.mapping();
    // Derived once: the identities to read back come from it, before any override.
    let mut expected = derive(run.dir, mapping, profile.rules());
    let ids = identities(&expected, mapping);
    if let StateExpectation::Overrides { users, groups } = state {
        if let Err(e) = apply_overrides(&mut expected.users, users, false)
            .and_then(|_| apply_overrides(&mut expected.groups, groups, true))
        {
            return state_error(e);
        }
    }
    // Read back every object the run created or matched: the run's own objects only, kept
    // with what the diff reads (compared paths, identity, manager).
    let compared = top_names(
        expected
            .user_paths
            .iter()
            .chain(mapping.user_matching().iter().map(|e| &e.target))
            .chain(mapping.user_reference("User").map(|e| &e.target)),
    );
    let mut actual = match read_back(reader, &ids, &compared, run.ledger, run.findings, index).await {
        Ok(a) => a,
        Err(e) => return state_error(e),
    };
    let ledger: &Ledger = run.ledger;
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
    let mut diff = compare(&expected, &actual, &uid, &gid, manager.as_deref());
    // A difference seen in a listing is said only of what the user's own GET answers (a
    // server may list less than it holds): those users are read again, and compared again.
    let relisted: Vec<String> = diff
        .iter()
        .flat_map(|d| &d.objects)
        .filter(|o| o.kind == "user")
        .flat_map(|o| o.target_ids.iter())
        .filter(|id| actual.listed.contains(*id))
        .cloned()
        .collect();
    if !relisted.is_empty() {
        for id in relisted {
            actual.listed.remove(&id);
            match read_one(reader, ObjectKind::User, &id).await {
                Ok(Some(body)) => {
                    actual.users.insert(id, body);
                }
                Ok(None) => {
                    actual.users.remove(&id);
                }
                Err(e) => return state_error(e),
            }
        }
        diff = compare(&expected, &actual, &uid, &gid, manager.as_deref());
    }
    match diff {
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
                let kind = if o.kind == "group" {
                    ObjectKind::Group
                } else {
                    ObjectKind::User
                };
                let mut ids = o.target_ids.clone();
                if ids.is_empty() {
                    ids.extend(
                        o.key
                            .as_deref()
                            .and_then(|k| run.sync.target_id(kind, k))
                            .map(str::to_string),
                    );
                }
                // Only a write to this object that touched these attributes is to blame; when
                // none did, say so rather than name an unrelated write.
                let blamed = ledger.blame(kind, &ids, &o.fields);
                match blamed {
                    Some(w) => {
                        line.push_str(&format!(" — {}", w.describe(profile.display_name())));
                        exchanges.push(w.exchange);
                    }
                    None if !ids.is_empty() && o.fields.iter().all(|f| f != "*") => {
                        line.push_str(&format!(
                            " — no request of this run wrote {}",
                            o.fields.join(", ")
                        ));
                    }
                    None => {}
                }
                // Members that differ may have been changed on the server by a later write to
                // the member itself (a PUT /Users that drops the user's groups): name it too.
                if o.kind == "group" && o.fields.iter().any(|f| f == "members") {
                    let since = blamed.map_or(0, |w| w.exchange);
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
                        .flat_map(|id| ledger.writes_to(ObjectKind::User, id))
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
