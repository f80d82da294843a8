//! The `state` check of an `expect` step: the target state derived from the source directory
//! and the mapping, with the scenario's overrides, diffed against what the server holds for the
//! run's own objects, each difference blamed on the request that wrote it (or said to have none):
//!
//! ```text
//! user "josue.r3f9a1c01@contoso.com": differs at active — last written by Entra ID: disable user (PATCH /Users/{id} {"op":"Replace","path":"active","value":"False"}) (exchange #9)
//! ```

use crate::check::diff::{compare, resource_identities, ActualState};
use crate::check::expected::{apply_overrides, derive};
use crate::check::read_back::{identities, read_back, read_one, top_names};
use crate::client::Client;
use crate::idp::sync::SyncState;
use crate::idp::{Ledger, Profile};
use crate::report::model::{CheckReport, Finding, Outcome, Severity};
use crate::scenario::model::StateExpectation;
use crate::scim::kind::ObjectKind;
use crate::scim::schema::USER_TYPE;
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
    let mut actual = match read_back(reader, &ids, &compared, run.ledger, run.findings, index).await
    {
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
    run.findings.extend(drop_deleted_members(
        &mut actual,
        ledger,
        &gid,
        index,
        profile.display_name(),
    ));
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
                    actual.users.insert(id, body.into());
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
            // Each user read back with its identity, read once when a group's members differ
            // (parsing every user again for every such group grew with groups × users).
            let mut user_identities: Option<Vec<(&String, String)>> = None;
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
                    let identities = user_identities.get_or_insert_with(|| {
                        let names = resource_identities(&actual.users, &uid, &USER_TYPE);
                        actual
                            .users
                            .keys()
                            .zip(names)
                            .filter_map(|(id, n)| Some((id, n?)))
                            .collect()
                    });
                    let member_ids: Vec<String> = identities
                        .iter()
                        .filter(|(_, n)| changed.contains(&n))
                        .map(|(id, _)| (*id).clone())
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

/// Takes out of the groups read back the members that are users this run deleted (a `DELETE`
/// the server acknowledged) and that no longer exist, and says so as information: RFC 7644
/// §3.6 does not require a service provider to remove a deleted resource from the groups that
/// list it, and an IdP that deleted a user sends no membership change for it. The rest of
/// the groups' members are compared as usual; such a reference is not the IdP's write.
fn drop_deleted_members(
    actual: &mut ActualState,
    ledger: &Ledger,
    group_identity: &str,
    step: usize,
    idp: &str,
) -> Vec<Finding> {
    let deleted: std::collections::HashMap<&str, &crate::idp::Write> = ledger
        .writes
        .iter()
        .filter(|((kind, _), _)| *kind == ObjectKind::User)
        .filter_map(|((_, id), ws)| {
            ws.iter()
                .rfind(|w| {
                    w.request.starts_with("DELETE")
                        && w.status
                            .is_some_and(|s| (200..300).contains(&s) || s == 404)
                })
                .map(|w| (id.as_str(), w))
        })
        .collect();
    if deleted.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for stored in actual.groups.values_mut() {
        let mut group = stored.value();
        let name = group
            .get(group_identity)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        let Some(members) = group.get_mut("members").and_then(|m| m.as_array_mut()) else {
            continue;
        };
        let mut gone = Vec::new();
        members.retain(|m| {
            let id = m.get("value").and_then(|v| v.as_str()).unwrap_or("");
            match deleted.get(id) {
                Some(w) if !actual.users.contains_key(id) => {
                    gone.push(*w);
                    false
                }
                _ => true,
            }
        });
        let Some(first) = gone.first() else {
            continue;
        };
        *stored = (&group).into();
        findings.push(Finding {
            severity: Severity::Info,
            behaviour: format!("{idp}: {}", first.behaviour.short_name()),
            source: "RFC 7644 §3.6".into(),
            inferred: false,
            message: format!(
                "group \"{name}\" still lists {} member(s) whose user the run deleted ({} answered {}): RFC 7644 §3.6 does not require a service provider to remove a deleted resource from groups, so this is not compared; an IdP reading the group back gets members that answer 404",
                gone.len(),
                first.request,
                first.status.map_or("nothing".to_string(), |s| s.to_string()),
            ),
            exchange: Some(first.exchange),
            step,
            count: gone.len(),
            examples: gone.iter().skip(1).take(3).map(|w| w.exchange).collect(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::{Behaviour, Write};
    use serde_json::json;

    const DELETE: Behaviour = Behaviour {
        name: "delete user (DELETE /Users/{id})",
        source: "https://example.org/idp-docs",
        inferred: false,
    };

    fn write(request: &str, status: u16, exchange: u64) -> Write {
        Write {
            exchange,
            behaviour: DELETE,
            fields: Default::default(),
            status: Some(status),
            request: request.into(),
        }
    }

    fn state() -> ActualState {
        ActualState {
            users: [(
                "u1".to_string(),
                json!({"id": "u1", "userName": "ana"}).into(),
            )]
            .into(),
            groups: [(
                "g1".to_string(),
                json!({"id": "g1", "displayName": "Sales",
                       "members": [{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]})
                .into(),
            )]
            .into(),
            listed: Default::default(),
        }
    }

    #[test]
    fn members_the_run_deleted_are_information_not_a_difference() {
        let mut ledger = Ledger::default();
        ledger.writes.insert(
            (ObjectKind::User, "u2".into()),
            vec![write("DELETE /Users/{id}", 204, 7)],
        );
        let mut actual = state();
        let found = drop_deleted_members(&mut actual, &ledger, "displayName", 3, "Duo");
        assert_eq!(
            actual.groups["g1"].value()["members"],
            json!([{"value": "u1"}, {"value": "u3"}]),
            "the deleted user's reference is taken out; an unknown id the run never deleted stays"
        );
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert!(matches!(f.severity, Severity::Info));
        assert_eq!(f.exchange, Some(7));
        assert_eq!(f.behaviour, "Duo: delete user");
        assert!(
            f.message
                .contains("group \"Sales\" still lists 1 member(s)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn resource_identities_read_the_identity_path_of_each_user() {
        use crate::check::diff::resource_identities;
        let mut actual = state();
        actual
            .users
            .insert("u2".into(), json!({"id": "u2", "UserName": "bo"}).into());
        actual.users.insert("u3".into(), json!({"id": "u3"}).into());
        let found = resource_identities(&actual.users, "userName", &USER_TYPE);
        assert_eq!(
            found,
            [Some("ana".to_string()), Some("bo".to_string()), None],
            "attribute names are case-insensitive; a user without one has no identity"
        );
    }

    #[test]
    fn a_refused_delete_or_a_user_still_there_keeps_the_member() {
        let mut ledger = Ledger::default();
        ledger.writes.insert(
            (ObjectKind::User, "u2".into()),
            vec![write("DELETE /Users/{id}", 500, 7)],
        );
        // Soft-deleted: the DELETE was acknowledged, the user still reads back.
        ledger.writes.insert(
            (ObjectKind::User, "u1".into()),
            vec![write("DELETE /Users/{id}", 204, 8)],
        );
        let mut actual = state();
        let found = drop_deleted_members(&mut actual, &ledger, "displayName", 3, "Duo");
        assert!(found.is_empty());
        assert_eq!(
            actual.groups["g1"].value()["members"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }
}
