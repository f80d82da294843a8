//! The target's state read back and compared with the expected state: normalised (attribute
//! names case-insensitive, multi-valued attributes unordered, server-assigned fields masked,
//! references as identities), then diffed both ways: a unified diff for people and an RFC 6902
//! patch for machines.
//!
//! ```text
//!  "users": {
//!    "josue.r3f9a1c01@contoso.com": {
//! -    "active": false,
//! +    "active": true,
//! ```
//! (`-` expected, `+` found on the server.)

use crate::check::expected::ExpectedState;
use crate::compact::Compact;
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::{ResourceTypeDef, GROUP_TYPE, USER_TYPE};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Resources read back from the target, by id, as compact text (parsed one at a time when
/// compared).
#[derive(Debug, Clone, Default)]
pub struct ActualState {
    pub users: BTreeMap<String, Compact>,
    pub groups: BTreeMap<String, Compact>,
    /// Users whose body came from a listing (`GET /Users?startIndex=…`), not their own GET:
    /// the state check reads one of them again before it reports a difference.
    pub listed: std::collections::BTreeSet<String>,
}

/// One object that differs, with the target ids involved.
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    pub kind: &'static str,
    pub identity: String,
    /// The source object's key, when one should be there.
    pub key: Option<String>,
    /// Top-level attributes that differ (`*`: the whole object).
    pub fields: Vec<String>,
    pub problem: String,
    pub target_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StateDiff {
    pub expected: Value,
    pub actual: Value,
    pub objects: Vec<ObjectDiff>,
    pub text: String,
    pub patch: Value,
}

fn sort_multi(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.iter_mut().for_each(sort_multi);
            a.sort_by_key(|x| x.to_string());
        }
        Value::Object(m) => m.values_mut().for_each(sort_multi),
        _ => {}
    }
}

/// Projects `resource` onto the compared paths, in the schema's spelling.
pub fn project(resource: &Value, paths: &[String], rt: &ResourceTypeDef) -> Value {
    let mut out = json!({});
    for p in paths {
        if let Some(v) = get_path(resource, p, rt) {
            let _ = put_path(&mut out, p, &v, rt);
        }
    }
    out
}

/// The identity (the string at `path`) of each resource read back, in the map's order; `None`
/// for one without. Each resource is parsed once, one at a time.
pub fn resource_identities(
    map: &BTreeMap<String, Compact>,
    path: &str,
    rt: &ResourceTypeDef,
) -> Vec<Option<String>> {
    map.values().map(|r| str_at(&r.value(), path, rt)).collect()
}

fn str_at(v: &Value, path: &str, rt: &ResourceTypeDef) -> Option<String> {
    get_path(v, path, rt).and_then(|x| x.as_str().map(str::to_string))
}

/// One half of the comparison: section name, object kind, expected objects, resources read
/// back and their identities, compared paths, identity path, resource type.
type Section<'a> = (
    &'static str,
    &'static str,
    &'a Vec<crate::check::expected::Expected>,
    &'a BTreeMap<String, Compact>,
    &'a Vec<Option<String>>,
    &'a Vec<String>,
    &'a str,
    &'static ResourceTypeDef,
);

/// Up to this many expected objects of a kind, the diff's documents hold every object (the
/// matching ones as context); past it, only those that differ.
const CONTEXT_UP_TO: usize = 500;

/// Compares. `user_id_path`/`group_id_path` name the identity attributes (the matching ones).
pub fn compare(
    expected: &ExpectedState,
    actual: &ActualState,
    user_id_path: &str,
    group_id_path: &str,
    manager_path: Option<&str>,
) -> Option<StateDiff> {
    // Each resource's identity, read once (target id → identity): the diff groups resources
    // by it, and shows references (members, manager) the way the expectation does.
    let user_idents = resource_identities(&actual.users, user_id_path, &USER_TYPE);
    let group_idents = resource_identities(&actual.groups, group_id_path, &GROUP_TYPE);
    let id_to_identity: BTreeMap<&str, String> = actual
        .users
        .keys()
        .zip(&user_idents)
        .chain(actual.groups.keys().zip(&group_idents))
        .filter_map(|(id, n)| n.clone().map(|n| (id.as_str(), n)))
        .collect();
    let ref_name = |id: &str| {
        id_to_identity
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("<unknown id {id}>"))
    };

    let mut exp = json!({"users": {}, "groups": {}});
    let mut act = json!({"users": {}, "groups": {}});
    let mut objects = Vec::new();

    let sections: [Section<'_>; 2] = [
        (
            "users",
            "user",
            &expected.users,
            &actual.users,
            &user_idents,
            &expected.user_paths,
            user_id_path,
            &USER_TYPE,
        ),
        (
            "groups",
            "group",
            &expected.groups,
            &actual.groups,
            &group_idents,
            &expected.group_paths,
            group_id_path,
            &GROUP_TYPE,
        ),
    ];
    for (section, kind, exp_list, act_map, act_idents, paths, id_path, rt) in sections {
        let mut by_identity: BTreeMap<String, Vec<(&String, &Compact)>> = BTreeMap::new();
        for ((id, r), ident) in act_map.iter().zip(act_idents) {
            let ident = ident
                .clone()
                .unwrap_or_else(|| format!("<no {id_path}> {id}"));
            by_identity.entry(ident).or_default().push((id, r));
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in exp_list {
            seen.insert(e.identity.clone());
            let found = by_identity.get(&e.identity).cloned().unwrap_or_default();
            let ids: Vec<String> = found.iter().map(|(id, _)| (*id).clone()).collect();
            if !e.present {
                if !found.is_empty() {
                    act[section][&e.identity] = json!("present");
                    exp[section][&e.identity] = json!("absent");
                    objects.push(ObjectDiff {
                        key: Some(e.key.clone()),
                        kind,
                        identity: e.identity.clone(),
                        problem:
                            "should be absent (deleted, or never created) but is on the server"
                                .into(),
                        fields: vec!["*".into()],
                        target_ids: ids,
                    });
                }
                continue;
            }
            let mut want = e.attrs.value();
            sort_multi(&mut want);
            match found.as_slice() {
                [] => {
                    exp[section][&e.identity] = want;
                    act[section][&e.identity] = json!("missing");
                    objects.push(ObjectDiff {
                        key: Some(e.key.clone()),
                        kind,
                        identity: e.identity.clone(),
                        problem: "missing on the server".into(),
                        fields: vec!["*".into()],
                        target_ids: ids,
                    });
                }
                [(_, r)] => {
                    let r = &r.value();
                    let mut have = project(r, paths, rt);
                    if section == "groups" && want.get("members").is_some() {
                        let mut ms: Vec<String> = r
                            .get("members")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|m| m.get("value").and_then(Value::as_str))
                                    .map(ref_name)
                                    .collect()
                            })
                            .unwrap_or_default();
                        ms.sort();
                        have["members"] = json!(ms);
                    }
                    if let (Some(mp), "users") = (manager_path, section) {
                        if let Some(Value::String(m)) = get_path(r, &format!("{mp}.value"), rt)
                            .or_else(|| get_path(r, mp, rt).filter(Value::is_string))
                        {
                            let _ = put_path(
                                &mut have,
                                &format!("{mp}.value"),
                                &json!(ref_name(&m)),
                                rt,
                            );
                        }
                    }
                    // Compare only what the expectation defines: the IdP never clears an
                    // attribute it has no value for, and servers may add their own.
                    let have = restrict(&have, &want);
                    let mut have = have;
                    sort_multi(&mut have);
                    let differs = have != want;
                    if differs {
                        let segments: Vec<Vec<String>> =
                            json_patch::diff(&have, &want).iter().map(op_path).collect();
                        // `members`, not `members.0`: multi-valued attributes are unordered.
                        let mut fields: Vec<String> = segments
                            .iter()
                            .map(|s| {
                                s.iter()
                                    .filter(|x| x.parse::<usize>().is_err())
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(".")
                            })
                            .collect();
                        fields.dedup();
                        let mut tops: Vec<String> =
                            segments.iter().filter_map(|s| s.first().cloned()).collect();
                        tops.dedup();
                        objects.push(ObjectDiff {
                            key: Some(e.key.clone()),
                            kind,
                            identity: e.identity.clone(),
                            problem: format!("differs at {}", fields.join(", ")),
                            fields: tops,
                            target_ids: ids,
                        });
                    }
                    // An object that matches is context in a small directory's diff; in a
                    // tenant's, two more copies of every object (a 10,000-user check held
                    // them all at once) for lines the diff never shows.
                    if differs || exp_list.len() <= CONTEXT_UP_TO {
                        exp[section][&e.identity] = want;
                        act[section][&e.identity] = have;
                    }
                }
                many => {
                    exp[section][&e.identity] = want;
                    act[section][&e.identity] = json!(format!("{} objects", many.len()));
                    objects.push(ObjectDiff {
                        key: Some(e.key.clone()),
                        kind,
                        identity: e.identity.clone(),
                        problem: format!(
                            "{} objects on the server have this identity (duplicates)",
                            many.len()
                        ),
                        fields: vec!["*".into()],
                        target_ids: ids,
                    });
                }
            }
        }
        for (ident, found) in &by_identity {
            if !seen.contains(ident) {
                act[section][ident] = json!("present");
                exp[section][ident] = json!("absent");
                objects.push(ObjectDiff {
                    key: None,
                    kind,
                    identity: ident.clone(),
                    problem: "on the server but no source object should have left it there".into(),
                    fields: vec!["*".into()],
                    target_ids: found.iter().map(|(id, _)| (*id).clone()).collect(),
                });
            }
        }
    }
    if objects.is_empty() {
        return None;
    }
    let e_text = serde_json::to_string_pretty(&exp).unwrap_or_default() + "\n";
    let a_text = serde_json::to_string_pretty(&act).unwrap_or_default() + "\n";
    let text = similar::TextDiff::from_lines(&e_text, &a_text)
        .unified_diff()
        .context_radius(3)
        .header("expected", "found on the server")
        .to_string();
    let patch = serde_json::to_value(json_patch::diff(&act, &exp)).unwrap_or(Value::Null);
    Some(StateDiff {
        expected: exp,
        actual: act,
        objects,
        text,
        patch,
    })
}

/// The JSON Pointer of a patch operation, as unescaped segments.
fn op_path(op: &json_patch::PatchOperation) -> Vec<String> {
    let p = match op {
        json_patch::PatchOperation::Add(x) => x.path.to_string(),
        json_patch::PatchOperation::Remove(x) => x.path.to_string(),
        json_patch::PatchOperation::Replace(x) => x.path.to_string(),
        json_patch::PatchOperation::Move(x) => x.path.to_string(),
        json_patch::PatchOperation::Copy(x) => x.path.to_string(),
        json_patch::PatchOperation::Test(x) => x.path.to_string(),
    };
    p.trim_start_matches('/')
        .split('/')
        .map(|x| x.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// `have` restricted to the keys `want` has (recursively for objects). A `null` in `want`
/// means "must be absent": an absent value shows as `null` too, so only a present one differs.
fn restrict(have: &Value, want: &Value) -> Value {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => {
            let mut out = Map::new();
            for (k, wv) in w {
                match h
                    .iter()
                    .find(|(hk, _)| hk.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v)
                {
                    Some(hv) => {
                        out.insert(k.clone(), restrict(hv, wv));
                    }
                    None if only_nulls(wv) => {
                        out.insert(k.clone(), wv.clone());
                    }
                    None => {}
                }
            }
            Value::Object(out)
        }
        (h, _) => h.clone(),
    }
}

fn only_nulls(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.values().all(only_nulls),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::expected::{Expected, ExpectedState};
    use serde_json::json;

    const MGR: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

    fn expected(attrs: Value) -> ExpectedState {
        ExpectedState {
            users: vec![Expected {
                key: "a".into(),
                identity: "a@x".into(),
                present: true,
                attrs: attrs.into(),
            }],
            groups: vec![],
            user_paths: vec!["userName".into(), "active".into()],
            group_paths: vec![],
        }
    }

    fn actual(user: Value) -> ActualState {
        let mut a = ActualState::default();
        a.users.insert("1".into(), user.into());
        a
    }

    #[test]
    fn a_null_expectation_means_absent() {
        let want = expected(
            json!({"userName": "a@x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": null}}),
        );
        let clean = actual(json!({"id": "1", "userName": "a@x"}));
        assert!(compare(&want, &clean, "userName", "displayName", Some(MGR)).is_none());
        let stale = actual(
            json!({"id": "1", "userName": "a@x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "9"}}}),
        );
        let d = compare(&want, &stale, "userName", "displayName", Some(MGR))
            .expect("a manager left behind differs");
        assert!(
            d.objects[0].problem.contains("manager"),
            "{}",
            d.objects[0].problem
        );
    }

    #[test]
    fn extra_server_attributes_and_order_do_not_matter_but_values_do() {
        let want = expected(json!({"userName": "a@x", "active": false}));
        let ok = actual(
            json!({"id": "1", "USERNAME": "a@x", "active": false, "nickName": "server default"}),
        );
        assert!(compare(&want, &ok, "userName", "displayName", None).is_none());
        let bad = actual(json!({"id": "1", "userName": "a@x", "active": true}));
        let d = compare(&want, &bad, "userName", "displayName", None).unwrap();
        assert_eq!(d.objects[0].fields, vec!["active".to_string()]);
        assert!(
            d.text.contains("-      \"active\": false")
                && d.text.contains("+      \"active\": true"),
            "{}",
            d.text
        );
    }

    #[test]
    fn missing_duplicate_and_unexpected_objects() {
        let want = expected(json!({"userName": "a@x"}));
        let none = ActualState::default();
        assert!(compare(&want, &none, "userName", "displayName", None)
            .unwrap()
            .objects[0]
            .problem
            .contains("missing"));
        let mut two = actual(json!({"id": "1", "userName": "a@x"}));
        two.users
            .insert("2".into(), json!({"id": "2", "userName": "a@x"}).into());
        two.users
            .insert("3".into(), json!({"id": "3", "userName": "stray@x"}).into());
        let d = compare(&want, &two, "userName", "displayName", None).unwrap();
        assert!(d.objects.iter().any(|o| o.problem.contains("duplicates")));
        assert!(d
            .objects
            .iter()
            .any(|o| o.identity == "stray@x" && o.problem.contains("no source object")));
    }
}
