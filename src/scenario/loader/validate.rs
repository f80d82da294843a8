//! Checks that need the whole scenario, after it parsed: ids are unique and every reference
//! names a user or group that exists at that point of the story (`add_user` and `add_group`
//! steps bring new ones in, in order), `idp` is known, steps that take one of two keys have
//! exactly one, request patterns read `METHOD /path`, and every `expect` checks something.
//! Positions come from the YAML tree, so
//!
//! ```yaml
//!   - add_member: { group: it-admins, users: [josue, bob] }
//! ```
//!
//! is reported at the column of `bob`, not at the start of the step.

use super::super::diagnostics::{nearest, suggest, DiagnosticKind, Position};
use super::super::model::{
    Expectation, FaultEffect, Scenario, SourceGroup, SourceUser, StateExpectation, Step, Targets,
};
use super::step_example;
use super::tree::{Node, Seg};
use crate::idp::registry;
use serde_json::Value;
use std::collections::HashMap;

/// One semantic problem, positioned; the loader adds the file.
#[derive(Debug)]
pub(super) struct Problem {
    pub position: Position,
    pub kind: DiagnosticKind,
    pub message: String,
    pub hint: String,
}

/// Every semantic problem in `scenario`, in file order.
pub(super) fn check(scenario: &Scenario, tree: &Node) -> Vec<Problem> {
    let mut checker = Checker {
        tree,
        problems: Vec::new(),
        users: HashMap::new(),
        groups: HashMap::new(),
        added_later: HashMap::new(),
    };
    checker.header(scenario);
    checker.directory(scenario);
    checker.steps(scenario);
    checker.problems.sort_by_key(|p| p.position);
    checker.problems
}

/// The step's name as written in YAML.
pub(crate) fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Assign(_) => "assign",
        Step::Unassign(_) => "unassign",
        Step::Update(_) => "update",
        Step::Disable(_) => "disable",
        Step::Enable(_) => "enable",
        Step::SoftDelete(_) => "soft_delete",
        Step::Restore(_) => "restore",
        Step::HardDelete(_) => "hard_delete",
        Step::AddMember(_) => "add_member",
        Step::RemoveMember(_) => "remove_member",
        Step::RenameGroup(_) => "rename_group",
        Step::AddUser(_) => "add_user",
        Step::AddGroup(_) => "add_group",
        Step::TestConnection(_) => "test_connection",
        Step::Cycle(_) => "cycle",
        Step::Restart(_) => "restart",
        Step::ProvisionOnDemand(_) => "provision_on_demand",
        Step::PushGroups(_) => "push_groups",
        Step::LinkGroups(_) => "link_groups",
        Step::PushNow(_) => "push_now",
        Step::UnlinkGroups(_) => "unlink_groups",
        Step::Import(_) => "import",
        Step::OktaSpecTest(_) => "okta_spec_test",
        Step::RfcProbes(_) => "rfc_probes",
        Step::Fault(_) => "fault",
        Step::ClearFaults(_) => "clear_faults",
        Step::Expect(_) => "expect",
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    User,
    Group,
}

impl Sort {
    fn noun(self) -> &'static str {
        match self {
            Sort::User => "user",
            Sort::Group => "group",
        }
    }
}

struct Checker<'a> {
    tree: &'a Node,
    problems: Vec<Problem>,
    /// Ids known so far, with where they were defined.
    users: HashMap<String, Position>,
    groups: HashMap<String, Position>,
    /// Ids that an `add_user`/`add_group` step defines, for "added later" hints.
    added_later: HashMap<String, (Sort, Position)>,
}

impl Checker<'_> {
    fn report(&mut self, position: Position, kind: DiagnosticKind, message: String, hint: String) {
        self.problems.push(Problem {
            position,
            kind,
            message,
            hint,
        });
    }

    fn pos(&self, path: &[Seg<'_>]) -> Position {
        self.tree.deepest(path).pos
    }

    fn key_pos(&self, path: &[Seg<'_>]) -> Position {
        self.tree.key_pos(path)
    }

    fn header(&mut self, scenario: &Scenario) {
        if scenario.name.trim().is_empty() {
            self.report(
                self.pos(&[Seg::Key("name")]),
                DiagnosticKind::Empty,
                "`name` is empty".to_owned(),
                "give the scenario a short unique name: `name: entra-cisco-guide`".to_owned(),
            );
        }
        if registry::find(&scenario.idp).is_none() {
            self.report(
                self.pos(&[Seg::Key("idp")]),
                DiagnosticKind::UnknownIdp,
                format!("unknown identity provider `{}`", scenario.idp),
                suggest(
                    &scenario.idp,
                    &registry::names(),
                    "known identity providers",
                ),
            );
        }
        if scenario.steps.is_empty() {
            self.report(
                self.key_pos(&[Seg::Key("steps")]),
                DiagnosticKind::Empty,
                "the scenario has no steps".to_owned(),
                "add at least one step, such as `- cycle: initial`".to_owned(),
            );
        }
    }

    fn directory(&mut self, scenario: &Scenario) {
        let users = &scenario.directory.users;
        let groups = &scenario.directory.groups;
        for (i, user) in users.iter().enumerate() {
            let path = [
                Seg::Key("directory"),
                Seg::Key("users"),
                Seg::Index(i),
                Seg::Key("id"),
            ];
            self.define(Sort::User, &user.id, &path);
        }
        for (i, group) in groups.iter().enumerate() {
            let path = [
                Seg::Key("directory"),
                Seg::Key("groups"),
                Seg::Index(i),
                Seg::Key("id"),
            ];
            self.define(Sort::Group, &group.id, &path);
        }
        // Later steps may bring ids in; a reference before that gets a precise hint.
        for (i, step) in scenario.steps.iter().enumerate() {
            let (sort, id, name) = match step {
                Step::AddUser(u) => (Sort::User, &u.id, "add_user"),
                Step::AddGroup(g) => (Sort::Group, &g.id, "add_group"),
                _ => continue,
            };
            let position = self.pos(&[
                Seg::Key("steps"),
                Seg::Index(i),
                Seg::Key(name),
                Seg::Key("id"),
            ]);
            self.added_later
                .entry(id.clone())
                .or_insert((sort, position));
        }
        // Managers and members may name entries further down the lists: check them once every
        // directory id is known.
        for (i, user) in users.iter().enumerate() {
            let base = [Seg::Key("directory"), Seg::Key("users"), Seg::Index(i)];
            self.user_attributes(user, &base);
        }
        for (i, group) in groups.iter().enumerate() {
            let base = [Seg::Key("directory"), Seg::Key("groups"), Seg::Index(i)];
            self.group_members(group, &base);
        }
    }

    fn steps(&mut self, scenario: &Scenario) {
        for (i, step) in scenario.steps.iter().enumerate() {
            let name = step_name(step);
            let base = [Seg::Key("steps"), Seg::Index(i), Seg::Key(name)];
            match step {
                Step::Assign(t)
                | Step::Unassign(t)
                | Step::Disable(t)
                | Step::Enable(t)
                | Step::SoftDelete(t)
                | Step::Restore(t)
                | Step::HardDelete(t) => self.targets(t, name, &base),
                Step::Update(u) => {
                    if let Some(sort) =
                        self.one_of(u.user.as_deref(), u.group.as_deref(), name, &base)
                    {
                        let (id, key) = match sort {
                            Sort::User => (u.user.as_deref(), "user"),
                            Sort::Group => (u.group.as_deref(), "group"),
                        };
                        if let Some(id) = id {
                            self.reference(sort, id, &with(&base, &[Seg::Key(key)]));
                        }
                    }
                    if u.set.is_empty() {
                        self.report(
                            self.key_pos(&with(&base, &[Seg::Key("set")])),
                            DiagnosticKind::Empty,
                            "`set` is empty: the update changes nothing".to_owned(),
                            "name the attributes to change: `set: { jobTitle: Engineer }`"
                                .to_owned(),
                        );
                    }
                    if let Some(manager) = u.set.get("manager") {
                        self.manager(
                            manager,
                            &with(&base, &[Seg::Key("set"), Seg::Key("manager")]),
                        );
                    }
                }
                Step::AddMember(m) | Step::RemoveMember(m) => {
                    self.reference(Sort::Group, &m.group, &with(&base, &[Seg::Key("group")]));
                    if m.users.is_empty() {
                        self.report(
                            self.key_pos(&with(&base, &[Seg::Key("users")])),
                            DiagnosticKind::Empty,
                            format!("`{name}` names no users"),
                            format!("for example `{}`", step_example(name).unwrap_or_default()),
                        );
                    }
                    for (j, id) in m.users.iter().enumerate() {
                        self.reference(
                            Sort::User,
                            id,
                            &with(&base, &[Seg::Key("users"), Seg::Index(j)]),
                        );
                    }
                }
                Step::RenameGroup(r) => {
                    self.reference(Sort::Group, &r.group, &with(&base, &[Seg::Key("group")]));
                    if r.name.trim().is_empty() {
                        self.report(
                            self.pos(&with(&base, &[Seg::Key("name")])),
                            DiagnosticKind::Empty,
                            "the new group name is empty".to_owned(),
                            "for example `- rename_group: { group: it-admins, name: IT-Admins-EU }`".to_owned(),
                        );
                    }
                }
                Step::AddUser(user) => {
                    self.define(Sort::User, &user.id, &with(&base, &[Seg::Key("id")]));
                    self.user_attributes(user, &base);
                }
                Step::AddGroup(group) => {
                    self.define(Sort::Group, &group.id, &with(&base, &[Seg::Key("id")]));
                    self.group_members(group, &base);
                }
                Step::ProvisionOnDemand(p) => {
                    if let Some(sort) =
                        self.one_of(p.user.as_deref(), p.group.as_deref(), name, &base)
                    {
                        let (id, key) = match sort {
                            Sort::User => (p.user.as_deref(), "user"),
                            Sort::Group => (p.group.as_deref(), "group"),
                        };
                        if let Some(id) = id {
                            self.reference(sort, id, &with(&base, &[Seg::Key(key)]));
                        }
                        if sort == Sort::User && !p.members.is_empty() {
                            self.report(
                                self.key_pos(&with(&base, &[Seg::Key("members")])),
                                DiagnosticKind::Conflict,
                                "`members` only applies when provisioning a group".to_owned(),
                                "remove `members`, or provision a group: \
                                 `- provision_on_demand: { group: it-admins, members: [josue] }`"
                                    .to_owned(),
                            );
                        }
                    }
                    for (j, id) in p.members.iter().enumerate() {
                        self.reference(
                            Sort::User,
                            id,
                            &with(&base, &[Seg::Key("members"), Seg::Index(j)]),
                        );
                    }
                }
                Step::Fault(fault) => {
                    if let Some(e) = fault.matches.problem() {
                        self.report(
                            self.pos(&with(&base, &[Seg::Key("match")])),
                            DiagnosticKind::BadPattern,
                            e.message.clone(),
                            e.hint.clone(),
                        );
                    }
                    if fault.nth == Some(0) {
                        self.report(
                            self.pos(&with(&base, &[Seg::Key("nth")])),
                            DiagnosticKind::OutOfRange,
                            "`nth` counts from 1".to_owned(),
                            "`nth: 1` is the first matching request".to_owned(),
                        );
                    }
                    if fault.times == Some(0) {
                        self.report(
                            self.pos(&with(&base, &[Seg::Key("times")])),
                            DiagnosticKind::OutOfRange,
                            "`times: 0` never fires".to_owned(),
                            "use `times: 1` or more, or remove the fault".to_owned(),
                        );
                    }
                    if let FaultEffect::Status { status, .. } = fault.effect {
                        if !(100..=599).contains(&status) {
                            self.report(
                                self.pos(&with(&base, &[Seg::Key("effect"), Seg::Key("status")])),
                                DiagnosticKind::OutOfRange,
                                format!("`{status}` is not an HTTP status code"),
                                "use a code from 100 to 599, such as 500, 503 or 429".to_owned(),
                            );
                        }
                    }
                }
                Step::Expect(expect) => self.expectation(expect, &base),
                Step::PushGroups(l) | Step::LinkGroups(l) | Step::PushNow(l) => {
                    let t = Targets {
                        users: Vec::new(),
                        groups: l.groups.clone(),
                        generated: None,
                    };
                    self.targets(&t, name, &base);
                }
                Step::UnlinkGroups(u) => {
                    let t = Targets {
                        users: Vec::new(),
                        groups: u.groups.clone(),
                        generated: None,
                    };
                    self.targets(&t, name, &base);
                }
                Step::Import(_)
                | Step::OktaSpecTest(_)
                | Step::RfcProbes(_)
                | Step::TestConnection(_)
                | Step::Cycle(_)
                | Step::Restart(_)
                | Step::ClearFaults(_) => {}
            }
        }
    }

    fn targets(&mut self, targets: &Targets, name: &str, base: &[Seg<'_>]) {
        if targets.users.is_empty() && targets.groups.is_empty() {
            self.report(
                self.key_pos(base),
                DiagnosticKind::Empty,
                format!("`{name}` names no users or groups"),
                format!("for example `{}`", step_example(name).unwrap_or_default()),
            );
        }
        for (j, id) in targets.users.iter().enumerate() {
            self.reference(
                Sort::User,
                id,
                &with(base, &[Seg::Key("users"), Seg::Index(j)]),
            );
        }
        for (j, id) in targets.groups.iter().enumerate() {
            self.reference(
                Sort::Group,
                id,
                &with(base, &[Seg::Key("groups"), Seg::Index(j)]),
            );
        }
    }

    /// Exactly one of `user` and `group`; reports and returns `None` otherwise.
    fn one_of(
        &mut self,
        user: Option<&str>,
        group: Option<&str>,
        name: &str,
        base: &[Seg<'_>],
    ) -> Option<Sort> {
        match (user, group) {
            (Some(_), None) => Some(Sort::User),
            (None, Some(_)) => Some(Sort::Group),
            (None, None) => {
                self.report(
                    self.key_pos(base),
                    DiagnosticKind::Conflict,
                    format!("`{name}` needs `user` or `group`"),
                    format!(
                        "name the object: `{}`",
                        step_example(name).unwrap_or_default()
                    ),
                );
                None
            }
            (Some(_), Some(_)) => {
                self.report(
                    self.key_pos(&with(base, &[Seg::Key("group")])),
                    DiagnosticKind::Conflict,
                    format!("`{name}` takes `user` or `group`, not both"),
                    format!(
                        "split it into two `{name}` steps, one for the user and one for the group"
                    ),
                );
                None
            }
        }
    }

    fn define(&mut self, sort: Sort, id: &str, path: &[Seg<'_>]) {
        let position = self.pos(path);
        if id.trim().is_empty() {
            self.report(
                position,
                DiagnosticKind::Empty,
                format!("the {} id is empty", sort.noun()),
                "give it a short id the steps can refer to: `id: josue`".to_owned(),
            );
            return;
        }
        let earlier = self
            .users
            .get(id)
            .map(|p| (Sort::User, *p))
            .or_else(|| self.groups.get(id).map(|p| (Sort::Group, *p)));
        if let Some((earlier_sort, earlier_pos)) = earlier {
            self.report(
                position,
                DiagnosticKind::DuplicateId,
                format!(
                    "duplicate id `{id}`: line {} already defines a {} with it",
                    earlier_pos.line,
                    earlier_sort.noun()
                ),
                "ids are unique across users and groups: rename one of them".to_owned(),
            );
            return;
        }
        match sort {
            Sort::User => self.users.insert(id.to_owned(), position),
            Sort::Group => self.groups.insert(id.to_owned(), position),
        };
    }

    fn reference(&mut self, sort: Sort, id: &str, path: &[Seg<'_>]) {
        let position = self.pos(path);
        self.reference_at(sort, id, position);
    }

    fn reference_at(&mut self, sort: Sort, id: &str, position: Position) {
        let known = match sort {
            Sort::User => &self.users,
            Sort::Group => &self.groups,
        };
        if known.contains_key(id) {
            return;
        }
        let other = match sort {
            Sort::User => &self.groups,
            Sort::Group => &self.users,
        };
        let hint = if other.contains_key(id) {
            let other_noun = match sort {
                Sort::User => "group",
                Sort::Group => "user",
            };
            format!(
                "`{id}` is a {other_noun}, and a {} is expected here",
                sort.noun()
            )
        } else if let Some((later_sort, later)) =
            self.added_later.get(id).filter(|(s, _)| *s == sort)
        {
            format!(
                "`{id}` is added by the `add_{}` step on line {}, after this one; move that step up",
                later_sort.noun(),
                later.line
            )
        } else {
            let mut ids: Vec<&str> = known.keys().map(String::as_str).collect();
            ids.sort_unstable();
            let noun = format!("known {}s", sort.noun());
            if ids.is_empty() {
                format!(
                    "no {} is defined yet: add it under `directory:` or with an `add_{}` step",
                    sort.noun(),
                    sort.noun()
                )
            } else if ids.len() > 12 {
                match nearest(id, &ids) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("define it under `directory: {{ {}s: [...] }}`", sort.noun()),
                }
            } else {
                suggest(id, &ids, &noun)
            }
        };
        self.report(
            position,
            DiagnosticKind::UnknownId,
            format!("unknown {} `{id}`", sort.noun()),
            hint,
        );
    }

    fn manager(&mut self, manager: &Value, path: &[Seg<'_>]) {
        match manager {
            Value::String(id) => self.reference(Sort::User, id, path),
            // `manager: null` clears the manager in an update.
            Value::Null => {}
            other => self.report(
                self.pos(path),
                DiagnosticKind::WrongType,
                format!("`manager` must be a user id, found {}", kind_of(other)),
                "for example `manager: test-user`".to_owned(),
            ),
        }
    }

    fn user_attributes(&mut self, user: &SourceUser, base: &[Seg<'_>]) {
        if let Some(manager) = user.attributes.get("manager") {
            self.manager(manager, &with(base, &[Seg::Key("manager")]));
        }
        self.near_miss(user.attributes.keys(), "manager", base);
    }

    fn group_members(&mut self, group: &SourceGroup, base: &[Seg<'_>]) {
        for (j, id) in group.members.iter().enumerate() {
            self.reference(
                Sort::User,
                id,
                &with(base, &[Seg::Key("members"), Seg::Index(j)]),
            );
        }
        self.near_miss(group.attributes.keys(), "members", base);
    }

    /// Users and groups take any attribute, so `member:` would pass silently as an attribute
    /// named "member" and the group would have no members: flag keys one typo away from the
    /// ones the loader gives a meaning to.
    fn near_miss<'k>(
        &mut self,
        keys: impl Iterator<Item = &'k String>,
        meant: &str,
        base: &[Seg<'_>],
    ) {
        for key in keys {
            if key != meant && nearest(key, &[meant]).is_some() {
                self.report(
                    self.key_pos(&with(base, &[Seg::Key(key)])),
                    DiagnosticKind::UnknownKey,
                    format!("`{key}` looks like a typo"),
                    format!("did you mean `{meant}`?"),
                );
            }
        }
    }

    fn expectation(&mut self, expect: &Expectation, base: &[Seg<'_>]) {
        if expect.state.is_none() && expect.log.is_none() && expect.trace.is_none() {
            self.report(
                self.key_pos(base),
                DiagnosticKind::Empty,
                "`expect` checks nothing".to_owned(),
                "add `state: derived`, `log: [...]` (the expected provisioning log) or \
                 `trace: [...]` (the expected requests)"
                    .to_owned(),
            );
        }
        if let Some(StateExpectation::Overrides { users, groups }) = &expect.state {
            // The ids are keys here: point at the key, not at its overrides.
            for id in users.keys() {
                let at = self.key_pos(&with(
                    base,
                    &[Seg::Key("state"), Seg::Key("users"), Seg::Key(id)],
                ));
                self.reference_at(Sort::User, id, at);
            }
            for id in groups.keys() {
                let at = self.key_pos(&with(
                    base,
                    &[Seg::Key("state"), Seg::Key("groups"), Seg::Key(id)],
                ));
                self.reference_at(Sort::Group, id, at);
            }
        }
        for (j, pattern) in expect.trace.iter().flatten().enumerate() {
            if let Some(e) = pattern.problem() {
                self.report(
                    self.pos(&with(base, &[Seg::Key("trace"), Seg::Index(j)])),
                    DiagnosticKind::BadPattern,
                    e.message.clone(),
                    e.hint.clone(),
                );
            }
        }
    }
}

/// `base` followed by `more`: paths are short, so a copy is simpler than a builder.
fn with<'a>(base: &[Seg<'a>], more: &[Seg<'a>]) -> Vec<Seg<'a>> {
    base.iter().chain(more).copied().collect()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
