//! One test per kind of mistake: each asserts the reported line:column and the hint, since the
//! position and the hint are what a scenario author acts on.

use super::*;
use crate::scenario::diagnostics::DiagnosticKind as K;

/// A valid head: steps start on line 10.
const HEAD: &str = "\
name: t
idp: entra
directory:
  users:
    - { id: ana, displayName: Ana }
    - { id: bob, displayName: Bob, manager: ana }
  groups:
    - { id: sales, displayName: Sales, members: [ana] }
steps:
";

fn problems(yaml: &str) -> Vec<Diagnostic> {
    match parse(Path::new("t.yaml"), yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// The only problem in `yaml`.
fn problem(yaml: &str) -> Diagnostic {
    let all = problems(yaml);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    all.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn with_steps(steps: &str) -> String {
    format!("{HEAD}{steps}")
}

#[track_caller]
fn assert_at(d: &Diagnostic, line: u32, column: u32, kind: K) {
    assert_eq!(
        (d.position.line, d.position.column, d.kind),
        (line, column, kind),
        "{d}"
    );
}

#[test]
fn a_valid_scenario_loads_with_the_line_of_every_step() {
    let s = parse(
        Path::new("t.yaml"),
        &with_steps("  - assign: { groups: [sales] }\n\n  - cycle: initial\n  - expect:\n      state: derived\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.origin.file, Path::new("t.yaml"));
    assert_eq!(s.origin.step_lines, vec![10, 12, 13]);
    assert_eq!(s.steps.len(), 3);
}

#[test]
fn the_bundled_example_loads() {
    let path = bundled_dir().join("entra").join("cisco-guide.yaml");
    let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "entra-cisco-guide");
    assert_eq!(s.idp, "entra");
    assert_eq!(s.directory.users.len(), 2);
    assert_eq!(s.directory.groups.len(), 2);
    assert_eq!(s.steps.len(), 3);
    assert_eq!(s.origin.step_lines.len(), 3);
}

#[test]
fn yaml_1_1_booleans_and_leading_zeros_stay_text() {
    let s = parse(
        Path::new("t.yaml"),
        "name: t\nidp: entra\ndirectory:\n  users:\n    - { id: no, country: NO, employeeId: 007, accountEnabled: false }\nsteps:\n  - assign: { users: [no] }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let user = &s.directory.users[0];
    assert_eq!(user.id, "no");
    assert_eq!(user.attributes["country"], "NO");
    assert_eq!(user.attributes["employeeId"], "007");
    assert_eq!(user.attributes["accountEnabled"], false);
}

#[test]
fn syntax_error_tabs() {
    let d = problem(&with_steps("\t- cycle: initial\n"));
    assert_at(&d, 10, 2, K::Syntax);
    assert!(d.message.starts_with("YAML syntax error:"), "{d}");
    assert_eq!(d.hint, "YAML indents with spaces only: replace the tabs");
}

#[test]
fn syntax_error_unclosed_bracket() {
    let d = problem(&with_steps(
        "  - assign: { groups: [sales }\n  - cycle: initial\n",
    ));
    assert_eq!(d.kind, K::Syntax, "{d}");
    assert_eq!(d.position.line, 10, "{d}");
    assert!(d.hint.starts_with("close every `[` and `{`"), "{d}");
}

#[test]
fn syntax_error_mapping_value_in_the_wrong_place() {
    let d = problem("name: t\n idp: entra\nsteps: []\n");
    assert_at(&d, 2, 5, K::Syntax);
    assert!(d.hint.contains("must be quoted"), "{d}");
}

#[test]
fn empty_file_and_file_of_comments() {
    for text in ["", "# nothing here\n"] {
        let d = problem(text);
        assert_at(&d, 1, 1, K::NotAScenario);
        assert_eq!(d.message, "the file holds no scenario");
        assert!(d.hint.contains("`name`, `idp` and `steps`"), "{d}");
    }
}

#[test]
fn top_level_list() {
    let d = problem("- a\n- b\n");
    assert_at(&d, 1, 1, K::NotAScenario);
    assert_eq!(d.message, "a scenario is a mapping of keys, found a list");
}

#[test]
fn unknown_top_level_key_suggests_the_nearest() {
    let d = problem("name: t\nidp: entra\nstep:\n  - cycle: initial\n");
    assert_at(&d, 3, 1, K::UnknownKey);
    assert_eq!(d.message, "unknown key `step` at the top level");
    assert_eq!(
        d.hint,
        "did you mean `steps`? allowed keys: name, description, idp, settings, directory, steps"
    );
}

#[test]
fn unknown_key_in_a_step() {
    let d = problem(&with_steps("  - assign: { user: [ana] }\n"));
    assert_at(&d, 10, 15, K::UnknownKey);
    assert_eq!(d.message, "unknown key `user` in `assign`");
    assert_eq!(
        d.hint,
        "did you mean `users`? allowed keys: users, groups, generated"
    );
}

#[test]
fn unknown_key_in_a_log_entry() {
    let d = problem(&with_steps(
        "  - expect:\n      log:\n        - { identity: Ana, acton: Create }\n",
    ));
    assert_at(&d, 12, 28, K::UnknownKey);
    assert_eq!(
        d.hint,
        "did you mean `action`? allowed keys: identity, action, status, error"
    );
}

#[test]
fn unknown_key_in_an_empty_step() {
    let d = problem(&with_steps("  - clear_faults: { all: true }\n"));
    assert_at(&d, 10, 21, K::UnknownKey);
    assert_eq!(d.hint, "this mapping takes no keys: write `{}`");
}

#[test]
fn unknown_step_lists_the_steps() {
    let d = problem(&with_steps(
        "  - cycle: initial\n  - asign: { groups: [sales] }\n",
    ));
    assert_at(&d, 11, 5, K::UnknownStep);
    assert_eq!(d.message, "unknown step `asign`");
    assert!(
        d.hint
            .starts_with("did you mean `assign`? steps: assign, unassign, update,"),
        "{d}"
    );
    assert!(d.hint.ends_with("fault, clear_faults, expect"), "{d}");
}

#[test]
fn a_step_without_a_value() {
    let d = problem(&with_steps("  - cycle\n"));
    assert_at(&d, 10, 5, K::WrongType);
    assert_eq!(d.message, "step `cycle` needs a value");
    assert_eq!(d.hint, "for example `- cycle: initial`");

    let d = problem(&with_steps("  - test_connection:\n"));
    assert_at(&d, 10, 5, K::WrongType);
    assert_eq!(d.hint, "for example `- test_connection: {}`");
}

#[test]
fn a_step_with_two_keys_is_a_missing_indentation() {
    let d = problem(&with_steps(
        "  - add_member:\n    group: sales\n    users: [bob]\n",
    ));
    assert_at(&d, 11, 5, K::UnknownStep);
    assert_eq!(
        d.message,
        "a step has exactly one key, this one has `add_member`, `group`, `users`"
    );
    assert!(
        d.hint
            .starts_with("indent the step's fields under `add_member:`"),
        "{d}"
    );
}

#[test]
fn unknown_enum_value_suggests_the_nearest() {
    let d = problem(&with_steps("  - cycle: initail\n"));
    assert_at(&d, 10, 12, K::UnknownValue);
    assert_eq!(d.message, "unknown value `initail` for `cycle`");
    assert_eq!(
        d.hint,
        "did you mean `initial`? expected one of: initial, incremental"
    );

    let d = problem(&with_steps("  - restart: { scope: everything }\n"));
    assert_at(&d, 10, 23, K::UnknownValue);
    assert_eq!(
        d.hint,
        "expected one of: portal, full, escrows, watermark, quarantine_state, connector_data_store"
    );
}

#[test]
fn wrong_types_name_the_field() {
    let d = problem(&with_steps(
        "  - fault: { match: GET /Users, times: lots, effect: fail }\n",
    ));
    assert_at(&d, 10, 40, K::WrongType);
    assert_eq!(
        d.message,
        "`times` must be a whole number (0 or more), found `lots`"
    );
    assert_eq!(d.hint, "for example `times: 1`");

    let d = problem("name: t\nidp: entra\nsteps: cycle\n");
    assert_at(&d, 3, 8, K::WrongType);
    assert_eq!(d.message, "`steps` must be a list, found `cycle`");
    assert_eq!(
        d.hint,
        "write a list: `steps: [a, b]`, or one `- item` per line under `steps:`"
    );

    let d = problem(&with_steps("  - assign: { users: ana }\n"));
    assert_at(&d, 10, 22, K::WrongType);
    assert_eq!(d.message, "`users` must be a list, found `ana`");

    let d = problem("name: [t]\nidp: entra\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 1, 7, K::WrongType);
    assert_eq!(d.message, "`name` must be text, found a list");
}

#[test]
fn a_list_entry_of_the_wrong_type_is_named_as_an_entry() {
    let d = problem(
        "name: t\nidp: entra\ndirectory:\n  users:\n    - ana\nsteps:\n  - cycle: initial\n",
    );
    assert_at(&d, 5, 7, K::WrongType);
    assert_eq!(
        d.message,
        "each entry of `users` must be a mapping, found `ana`"
    );
    assert!(
        d.hint.starts_with("a user is a mapping: `- { id: ana,"),
        "{d}"
    );
}

#[test]
fn fault_effect_errors_are_explained() {
    let d = problem(&with_steps(
        "  - fault: { match: GET /Users, effect: explode }\n",
    ));
    assert_at(&d, 10, 41, K::UnknownValue);
    assert_eq!(d.message, "unknown fault effect `explode`");
    assert!(
        d.hint
            .starts_with("an effect is `fail`, `drop-response`, or a status"),
        "{d}"
    );

    let d = problem(&with_steps(
        "  - fault: { match: GET /Users, effect: drop_response }\n",
    ));
    assert!(d.hint.starts_with("did you mean `drop-response`?"), "{d}");

    let d = problem(&with_steps(
        "  - fault:\n      match: GET /Users\n      effect:\n        status: abc\n",
    ));
    assert_at(&d, 13, 17, K::WrongType);
    assert_eq!(
        d.message,
        "`status` must be an HTTP status code, found `abc`"
    );

    let d = problem(&with_steps(
        "  - fault: { match: GET /Users, effect: { status: 429, retry: 3 } }\n",
    ));
    assert_at(&d, 10, 56, K::UnknownKey);
    assert_eq!(d.message, "unknown key `retry` in `effect`");
    assert_eq!(
        d.hint,
        "did you mean `retry_after`? allowed keys: status, retry_after"
    );
}

#[test]
fn state_expectation_errors_are_explained() {
    let d = problem(&with_steps("  - expect: { state: derivd }\n"));
    assert_at(&d, 10, 22, K::UnknownValue);
    assert_eq!(d.message, "unknown state `derivd`");
    assert!(
        d.hint
            .starts_with("did you mean `derived`? `state` is `derived`"),
        "{d}"
    );

    let d = problem(&with_steps(
        "  - expect: { state: { user: { ana: { absent: true } } } }\n",
    ));
    assert_at(&d, 10, 24, K::UnknownKey);
    assert_eq!(d.message, "unknown key `user` in `state`");
    assert_eq!(d.hint, "did you mean `users`? allowed keys: users, groups");
}

#[test]
fn missing_keys_point_at_the_mapping_that_lacks_them() {
    let d = problem("name: t\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 1, 1, K::MissingKey);
    assert_eq!(d.message, "missing key `idp`");
    assert_eq!(
        d.hint,
        format!(
            "add the identity provider: `idp: entra` (one of {})",
            crate::idp::registry::names().join(", ")
        )
    );

    let d = problem(&with_steps("  - add_member:\n      group: sales\n"));
    assert_at(&d, 11, 7, K::MissingKey);
    assert_eq!(d.message, "missing key `users` in `add_member`");
    assert_eq!(
        d.hint,
        "for example `- add_member: { group: it-admins, users: [josue] }`"
    );
}

#[test]
fn duplicate_keys() {
    let d = problem("name: t\nname: u\nidp: entra\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 2, 1, K::DuplicateKey);
    assert_eq!(d.message, "key `name` appears twice in this mapping");
    assert_eq!(
        d.hint,
        "a mapping holds each key once: remove or rename one of them"
    );
}

#[test]
fn duplicate_ids_across_users_and_groups() {
    let all = problems(
        "name: t\nidp: entra\ndirectory:\n  users:\n    - { id: ana }\n    - { id: ana }\n  groups:\n    - id: ana\nsteps:\n  - cycle: initial\n",
    );
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_at(&all[0], 6, 13, K::DuplicateId);
    assert_eq!(
        all[0].message,
        "duplicate id `ana`: line 5 already defines a user with it"
    );
    assert_eq!(
        all[0].hint,
        "ids are unique across users and groups: rename one of them"
    );
    assert_at(&all[1], 8, 11, K::DuplicateId);

    let d = problem(&with_steps("  - add_user: { id: bob }\n"));
    assert_at(&d, 10, 21, K::DuplicateId);
}

#[test]
fn unknown_ids_in_steps_members_and_managers() {
    let all = problems(&with_steps(
        "  - assign: { users: [ana, zoe], groups: [sales, ana] }\n  - add_member: { group: sale, users: [bob] }\n",
    ));
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_at(&all[0], 10, 28, K::UnknownId);
    assert_eq!(all[0].message, "unknown user `zoe`");
    assert_eq!(all[0].hint, "known users: ana, bob");
    assert_at(&all[1], 10, 50, K::UnknownId);
    assert_eq!(all[1].message, "unknown group `ana`");
    assert_eq!(all[1].hint, "`ana` is a user, and a group is expected here");
    assert_at(&all[2], 11, 26, K::UnknownId);
    assert_eq!(all[2].hint, "did you mean `sales`? known groups: sales");

    let d = problem(
        "name: t\nidp: entra\ndirectory:\n  users:\n    - { id: ana, manager: zed }\nsteps:\n  - cycle: initial\n",
    )
    .to_string();
    assert_eq!(
        d,
        "t.yaml:5:27: unknown user `zed`\n  hint: known users: ana"
    );
}

#[test]
fn unknown_member_of_a_group_in_the_directory() {
    let all = problems(
        "name: t\nidp: entra\ndirectory:\n  users:\n    - { id: ana }\n  groups:\n    - { id: g, members: [ana, bob] }\nsteps:\n  - cycle: initial\n",
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(&all[0], 7, 31, K::UnknownId);
    assert_eq!(all[0].message, "unknown user `bob`");
    assert_eq!(all[0].hint, "known users: ana");
}

#[test]
fn ids_come_into_existence_in_step_order() {
    let d = problem(&with_steps(
        "  - assign: { users: [cy] }\n  - add_user: { id: cy, displayName: Cy }\n",
    ));
    assert_at(&d, 10, 23, K::UnknownId);
    assert_eq!(
        d.hint,
        "`cy` is added by the `add_user` step on line 11, after this one; move that step up"
    );

    let ok = parse(
        Path::new("t.yaml"),
        &with_steps(
            "  - add_user: { id: cy, manager: bob }\n  - add_group: { id: ops, members: [cy] }\n  - assign: { groups: [ops] }\n  - update: { user: cy, set: { manager: ana } }\n",
        ),
    );
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.to_string()));
}

#[test]
fn a_typo_of_members_is_not_taken_for_an_attribute() {
    let d = problem(
        "name: t\nidp: entra\ndirectory:\n  users:\n    - { id: ana }\n  groups:\n    - { id: g, member: [ana] }\nsteps:\n  - cycle: initial\n",
    );
    assert_at(&d, 7, 16, K::UnknownKey);
    assert_eq!(d.message, "`member` looks like a typo");
    assert_eq!(d.hint, "did you mean `members`?");
}

#[test]
fn unknown_idp() {
    let d = problem("name: t\nidp: entr\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 2, 6, K::UnknownIdp);
    assert_eq!(d.message, "unknown identity provider `entr`");
    assert_eq!(
        d.hint,
        format!(
            "did you mean `entra`? known identity providers: {}",
            crate::idp::registry::names().join(", ")
        )
    );
}

#[test]
fn update_needs_exactly_one_of_user_and_group() {
    let d = problem(&with_steps("  - update: { set: { jobTitle: CEO } }\n"));
    assert_at(&d, 10, 5, K::Conflict);
    assert_eq!(d.message, "`update` needs `user` or `group`");
    assert_eq!(
        d.hint,
        "name the object: `- update: { user: josue, set: { jobTitle: Engineer } }`"
    );

    let d = problem(&with_steps(
        "  - update: { user: ana, group: sales, set: { jobTitle: CEO } }\n",
    ));
    assert_at(&d, 10, 26, K::Conflict);
    assert_eq!(d.message, "`update` takes `user` or `group`, not both");
    assert_eq!(
        d.hint,
        "split it into two `update` steps, one for the user and one for the group"
    );
}

#[test]
fn provision_on_demand_needs_exactly_one_of_user_and_group() {
    let d = problem(&with_steps("  - provision_on_demand: {}\n"));
    assert_at(&d, 10, 5, K::Conflict);
    assert_eq!(d.message, "`provision_on_demand` needs `user` or `group`");

    let d = problem(&with_steps(
        "  - provision_on_demand: { user: ana, group: sales }\n",
    ));
    assert_at(&d, 10, 39, K::Conflict);
    assert_eq!(
        d.message,
        "`provision_on_demand` takes `user` or `group`, not both"
    );

    let d = problem(&with_steps(
        "  - provision_on_demand: { user: ana, members: [bob] }\n",
    ));
    assert_at(&d, 10, 39, K::Conflict);
    assert_eq!(
        d.message,
        "`members` only applies when provisioning a group"
    );
}

#[test]
fn fault_match_must_be_method_and_path() {
    let all = problems(&with_steps(
        "  - fault: { match: 'patch /Groups/*', effect: fail }\n  - fault: { match: 'FETCH /Users', effect: fail }\n  - fault: { match: /Users, effect: fail }\n  - fault: { match: '* /*', effect: fail }\n",
    ));
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_at(&all[0], 10, 21, K::BadPattern);
    assert_eq!(all[0].message, "method `patch` must be upper-case");
    assert_eq!(all[0].hint, "write `PATCH /Groups/*`");
    assert_at(&all[1], 11, 21, K::BadPattern);
    assert_eq!(all[1].message, "unknown method `FETCH` in `FETCH /Users`");
    assert!(all[1]
        .hint
        .starts_with("write `METHOD /path`: METHOD is GET, POST, PUT, PATCH, DELETE or `*`"));
    assert_at(&all[2], 12, 21, K::BadPattern);
    assert_eq!(all[2].message, "`/Users` is not `METHOD /path`");
}

#[test]
fn fault_numbers_out_of_range() {
    let all = problems(&with_steps(
        "  - fault: { match: GET /Users, nth: 0, times: 0, effect: { status: 42 } }\n",
    ));
    let found: Vec<_> = all
        .iter()
        .map(|d| (d.position.column, d.kind, d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (38, K::OutOfRange, "`nth` counts from 1"),
            (48, K::OutOfRange, "`times: 0` never fires"),
            (69, K::OutOfRange, "`42` is not an HTTP status code"),
        ]
    );
}

#[test]
fn trace_patterns_are_checked_too() {
    let d = problem(&with_steps(
        "  - expect: { trace: [GET /Users, get /Groups] }\n",
    ));
    assert_at(&d, 10, 35, K::BadPattern);
    assert_eq!(d.hint, "write `GET /Groups`");
}

#[test]
fn an_expect_with_nothing_to_check() {
    let d = problem(&with_steps("  - cycle: initial\n  - expect: {}\n"));
    assert_at(&d, 11, 5, K::Empty);
    assert_eq!(d.message, "`expect` checks nothing");
    assert!(
        d.hint.starts_with("add `state: derived`, `log: [...]`"),
        "{d}"
    );
}

#[test]
fn state_overrides_name_known_ids() {
    let d = problem(&with_steps(
        "  - expect: { state: { users: { zoe: { absent: true } } } }\n",
    ));
    assert_at(&d, 10, 33, K::UnknownId);
    assert_eq!(d.message, "unknown user `zoe`");
}

#[test]
fn steps_that_name_nothing_and_empty_step_lists() {
    let d = problem(&with_steps("  - assign: {}\n"));
    assert_at(&d, 10, 5, K::Empty);
    assert_eq!(d.message, "`assign` names no users or groups");
    assert_eq!(
        d.hint,
        "for example `- assign: { users: [josue], groups: [it-admins] }`"
    );

    let d = problem("name: t\nidp: entra\nsteps: []\n");
    assert_at(&d, 3, 1, K::Empty);
    assert_eq!(d.message, "the scenario has no steps");
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let err = parse(
        Path::new("dir/t.yaml"),
        "name: t\nidp: okay\nsteps:\n  - assign: { users: [nobody] }\n  - expect: {}\n",
    )
    .expect_err("three problems");
    let text = err.to_string();
    let heads: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("  hint: "))
        .collect();
    assert_eq!(
        heads,
        vec![
            "dir/t.yaml:2:6: unknown identity provider `okay`",
            "dir/t.yaml:4:23: unknown user `nobody`",
            "dir/t.yaml:5:5: `expect` checks nothing",
        ]
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  hint: ")).count(),
        3
    );
}

#[test]
fn a_file_that_cannot_be_read() {
    let err = load(Path::new("/nonexistent/scimulator/s.yaml")).expect_err("missing file");
    let text = err.to_string();
    assert!(
        text.starts_with("/nonexistent/scimulator/s.yaml: cannot read the file:"),
        "{text}"
    );
    assert!(text.contains("\n  hint: check the path"), "{text}");
}

#[test]
fn step_kinds_match_the_model() {
    let schema = crate::scenario::scenario_schema();
    let variants = schema["definitions"]["Step"]["oneOf"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|s| s["required"][0].as_str())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert_eq!(variants, step_names(), "update STEP_KINDS in loader.rs");
    // Every example, in table order (`add_user` brings in the `ana` that `add_group` names),
    // must load: hints must not teach something the loader rejects.
    let mut yaml = "name: t\nidp: entra\ndirectory:\n  users: [{ id: josue }]\n  groups: [{ id: it-admins }]\nsteps:\n".to_owned();
    for (_, example) in STEP_KINDS {
        yaml.push_str(&format!("  {example}\n"));
    }
    if let Err(e) = parse(Path::new("t.yaml"), &yaml) {
        panic!("the step examples do not load:\n{e}\n{yaml}");
    }
}

/// The schema editors validate with and the loader must agree on the bundled scenarios, and
/// the schema must reject what the loader rejects for shape.
#[test]
fn the_schema_accepts_the_bundled_scenarios_and_rejects_unknown_steps() {
    let schema = crate::scenario::scenario_schema();
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{e}"));
    let as_json = |text: &str| -> serde_json::Value {
        serde_saphyr::from_str_with_options(text, options()).unwrap_or_else(|e| panic!("{e}"))
    };
    for path in discover(&[bundled_dir()]).unwrap_or_else(|e| panic!("{e}")) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
    assert!(!validator.is_valid(&as_json(&with_steps("  - asign: { groups: [sales] }\n"))));
    assert!(!validator.is_valid(&as_json(&with_steps(
        "  - fault: { match: GET /x, effect: { status: 500, retry: 1 } }\n"
    ))));
    assert!(!validator.is_valid(&as_json(&with_steps(
        "  - expect: { state: { user: {} } }\n"
    ))));
    assert!(validator.is_valid(&as_json(&with_steps(
        "  - expect: { state: { users: { ana: { absent: true } } } }\n"
    ))));
}

mod discovery {
    use super::*;
    use std::fs;

    #[test]
    fn files_are_taken_as_given_and_folders_searched_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        let write = |rel: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
            fs::write(&path, "x").unwrap_or_else(|e| panic!("{e}"));
            path
        };
        write("b/two.yaml");
        write("a/one.yml");
        write("a/z/three.yaml");
        write("schema.json");
        write("notes.txt");
        write(".hidden/four.yaml");
        let given = write("other/given.txt");

        let found = discover(&[root.to_path_buf(), given.clone(), root.join("b/two.yaml")])
            .unwrap_or_else(|e| panic!("{e}"));
        let rel: Vec<PathBuf> = found
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|_| p.clone())
            })
            .collect();
        assert_eq!(
            rel,
            vec![
                PathBuf::from("a/one.yml"),
                PathBuf::from("a/z/three.yaml"),
                PathBuf::from("b/two.yaml"),
                PathBuf::from("other/given.txt"),
            ]
        );

        let schema = discover(&[root.join("schema.json")]).unwrap_or_else(|e| panic!("{e}"));
        assert!(schema.is_empty());
    }

    #[test]
    fn a_missing_path_is_an_error_with_a_hint() {
        let err = discover(&[PathBuf::from("/nonexistent/scimulator")]).expect_err("missing");
        assert!(matches!(err, LoadError::NotFound { .. }));
        assert!(err
            .to_string()
            .starts_with("/nonexistent/scimulator: no such file or directory\n  hint: "));
    }

    #[test]
    fn the_bundled_folder_holds_the_entra_example() {
        let found = discover(&[bundled_dir()]).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            found.iter().any(|p| p.ends_with("entra/cisco-guide.yaml")),
            "{found:?}"
        );
        for path in found {
            if let Err(e) = load(&path) {
                panic!("a bundled scenario does not load:\n{e}");
            }
        }
    }
}

/// Okta's app type is a typed setting: a wrong spelling is shown where it is written, with
/// the allowed values and the nearest one.
#[test]
fn okta_app_setting_is_checked_where_it_is_written() {
    let d = problem("name: t\nidp: okta\nsettings:\n  app: aiw\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 4, 8, K::UnknownValue);
    assert_eq!(d.message, "settings: `aiw` is not a valid `app`");
    assert!(
        d.hint
            .starts_with("did you mean `AIW`? allowed values: OIN, AIW"),
        "{}",
        d.hint
    );
    assert!(d.hint.contains("app (OIN | AIW)"), "{}", d.hint);
}

/// `idp: okta-aiw` means `app: AIW`: a scenario saying otherwise is refused at the setting,
/// with how to choose the app instead.
#[test]
fn okta_aiw_alias_refuses_a_contradicting_app_setting() {
    let d = problem("name: t\nidp: okta-aiw\nsettings:\n  app: OIN\nsteps:\n  - cycle: initial\n");
    assert_at(&d, 4, 8, K::UnknownValue);
    assert_eq!(
        d.message,
        "settings: `app`: `app` is `OIN`, but `idp: okta-aiw` means `app: AIW`"
    );
    assert_eq!(d.hint, "write `idp: okta` to choose `app` yourself");
}

/// Both spellings of an AIW app load.
#[test]
fn okta_aiw_and_okta_with_app_aiw_both_load() {
    for text in [
        "name: t\nidp: okta-aiw\nsteps:\n  - cycle: initial\n",
        "name: t\nidp: okta\nsettings: { app: AIW }\nsteps:\n  - cycle: initial\n",
    ] {
        let loaded = parse(Path::new("t.yaml"), text);
        assert!(loaded.is_ok(), "{text}: {:?}", loaded.err());
    }
}
