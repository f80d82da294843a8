//! Generated directories: `directory.generate` turned into plain users and groups, before the
//! semantic checks, so the rest of the harness sees an ordinary directory. The same seed gives
//! the same directory, byte for byte; `scimulator run --scale N` changes the count.
//!
//! ```yaml
//! directory:
//!   generate:
//!     users: 10000
//!     groups: 100
//!     seed: 7
//!     membership: { per_user: [1, 3], sizes: skewed }
//!     attributes: { jobTitle: "{title}", costCenter: "CC-{department_code}" }
//!   users:
//!     - { id: josue, userPrincipalName: josue@example.com, displayName: Josue }
//! ```
//!
//! gives `user-00001` ... `user-10000` (`Hana Kowalski`, `hana.kowalski.1@example.org`, a
//! department, a title, an employee id, a manager among the earlier users) and `group-001` ...
//! `group-100` (`Sales EMEA 001`), then the hand-written `josue`. Steps name all of them at once
//! with `generated`: `- assign: { generated: groups }`, `- push_groups: { generated: true }`.
//!
//! Values are realistic but fictitious: names from the lists below, addresses on the
//! documentation domains of RFC 2606 (`example.com`, `example.org`), so nothing generated can
//! reach a real mailbox.

use super::super::diagnostics::{DiagnosticKind, Position};
use super::super::model::{
    Generate, GeneratedSet, GroupSizes, Scenario, SourceGroup, SourceUser, Step,
};
use super::tree::{Node, Seg};
use super::validate::Problem;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The most users (and groups) one scenario may generate: far above any tenant the issue names
/// (100,000), low enough that a typo (`users: 10000000`) is an error, not an hour of swapping.
pub const MAX_USERS: u32 = 1_000_000;

const GIVEN: &[&str] = &[
    "Aaliyah",
    "Abdul",
    "Ada",
    "Adrian",
    "Aiko",
    "Alejandro",
    "Amara",
    "Ana",
    "Anders",
    "Ángel",
    "Anika",
    "Arjun",
    "Astrid",
    "Aylin",
    "Bao",
    "Beatriz",
    "Ben",
    "Camila",
    "Carlos",
    "Chen",
    "Chiara",
    "Chloé",
    "Dana",
    "Daniel",
    "Deepa",
    "Diego",
    "Dmitri",
    "Elena",
    "Elif",
    "Emeka",
    "Emma",
    "Eun-ji",
    "Fatima",
    "Felix",
    "Freya",
    "Gabriel",
    "Grace",
    "Hana",
    "Hassan",
    "Ingrid",
    "Isabel",
    "Ivan",
    "Jamal",
    "James",
    "Jana",
    "Javier",
    "Jin",
    "Joana",
    "Jonas",
    "José",
    "Kai",
    "Kenji",
    "Kofi",
    "Lara",
    "Leila",
    "Liam",
    "Lina",
    "Lucas",
    "Maja",
    "Malik",
    "Marco",
    "María",
    "Mateo",
    "Mei",
    "Mia",
    "Mohammed",
    "Nadia",
    "Naomi",
    "Nikhil",
    "Nina",
    "Noah",
    "Olga",
    "Omar",
    "Oscar",
    "Priya",
    "Rafael",
    "Rania",
    "Ravi",
    "Rosa",
    "Sakura",
    "Samuel",
    "Sara",
    "Sebastián",
    "Sofia",
    "Soo-min",
    "Tariq",
    "Thabo",
    "Tomás",
    "Uma",
    "Valentina",
    "Victor",
    "Wei",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoe",
];

const FAMILY: &[&str] = &[
    "Abebe",
    "Adeyemi",
    "Ahmed",
    "Alvarez",
    "Andersson",
    "Bauer",
    "Becker",
    "Bianchi",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "da Silva",
    "Dubois",
    "Eriksen",
    "Fernández",
    "Fischer",
    "García",
    "Gonzalez",
    "Gupta",
    "Hansen",
    "Hernández",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Johnson",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Martínez",
    "Mensah",
    "Moreau",
    "Müller",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "O'Brien",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Pereira",
    "Petrov",
    "Popescu",
    "Qureshi",
    "Rahman",
    "Ramos",
    "Rossi",
    "Sato",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Van der Berg",
    "Wagner",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Yamamoto",
    "Yilmaz",
    "Zhang",
    "Zhou",
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("Sales", "SAL"),
    ("Marketing", "MKT"),
    ("Engineering", "ENG"),
    ("Finance", "FIN"),
    ("Human Resources", "HR"),
    ("Legal", "LEG"),
    ("Operations", "OPS"),
    ("Customer Support", "SUP"),
    ("IT", "IT"),
    ("Research", "RND"),
    ("Procurement", "PRC"),
    ("Facilities", "FAC"),
];

const TITLES: &[&str] = &[
    "Analyst",
    "Senior Analyst",
    "Engineer",
    "Senior Engineer",
    "Staff Engineer",
    "Manager",
    "Senior Manager",
    "Director",
    "Specialist",
    "Coordinator",
    "Consultant",
    "Administrator",
    "Associate",
    "Team Lead",
    "Vice President",
];

const REGIONS: &[&str] = &["EMEA", "AMER", "APAC", "LATAM", "Global"];

const DEFAULT_DOMAINS: &[&str] = &["example.com", "example.org"];

/// The placeholders a template may use, with what each stands for (shown in hints).
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("n", "the user's number, 1-based"),
    ("given", "given name"),
    ("family", "family name"),
    ("login", "given.family.n, lower-case ASCII"),
    ("domain", "example.com or example.org (or `domains`)"),
    ("email", "login@domain"),
    (
        "username",
        "an e-mail address, or for `non_email_usernames` percent a bare name",
    ),
    ("department", "department name"),
    ("department_code", "department code (SAL, ENG, ...)"),
    ("title", "job title"),
    ("employee_id", "E followed by six digits"),
    (
        "manager",
        "the id of the user's manager (no attribute when the user has none)",
    ),
];

/// Default user templates per IdP: the attributes that IdP's own directory holds and its
/// bundled mapping reads (fixtures/mappings/).
fn default_templates(idp: &str) -> Vec<(&'static str, &'static str)> {
    crate::idp::registry::templates(idp).to_vec()
}

/// SplitMix64: small, fast, and the same sequence on every platform, which is all a seeded
/// directory needs (https://prng.di.unimi.it/splitmix64.c).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for picking names, and branch-free.
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn percent(&mut self, p: u8) -> bool {
        self.below(100) < u64::from(p)
    }
    fn pick<'a, T>(&mut self, list: &'a [T]) -> &'a T {
        &list[self.below(list.len() as u64) as usize]
    }
}

/// `Ana Martínez` → `ana.martinez`: lower-case ASCII letters, as directories build logins.
fn ascii_lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'Ó' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// One template, split once into literal text and placeholders.
#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Var(usize),
}

/// Splits `"{given} {family}"`; an unknown placeholder or an unclosed `{` is an error naming it.
fn compile(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed `{{` in template `{template}`"));
        };
        let name = &after[..close];
        let Some(i) = PLACEHOLDERS.iter().position(|(p, _)| *p == name) else {
            return Err(format!(
                "unknown placeholder `{{{name}}}` in template `{template}`"
            ));
        };
        parts.push(Part::Var(i));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

fn placeholder_hint() -> String {
    let names: Vec<String> = PLACEHOLDERS
        .iter()
        .map(|(p, _)| format!("{{{p}}}"))
        .collect();
    format!("placeholders: {}", names.join(", "))
}

/// The ids of generated objects: `user-00001`, `group-001`. Fixed widths (at least 5 and 3
/// digits) keep ids stable when `--scale` changes the count.
pub fn user_id(prefix: &str, n: u32) -> String {
    format!("{prefix}user-{n:05}")
}

pub fn group_id(prefix: &str, n: u32) -> String {
    format!("{prefix}group-{n:03}")
}

/// What `--scale N` does to a generated directory: `N` users, and the groups scaled by the same
/// factor (at least one when there were any).
pub fn rescale(g: &mut Generate, users: u32) {
    if g.users > 0 && g.groups > 0 {
        let groups =
            (u64::from(g.groups) * u64::from(users) + u64::from(g.users) / 2) / u64::from(g.users);
        g.groups = u32::try_from(groups.max(1)).unwrap_or(u32::MAX);
    }
    g.users = users;
}

/// Checks the `generate` block and, when it is sound, adds its users and groups to the
/// directory (after the hand-written ones, whose positions the later checks use) and expands
/// every `generated` target. Problems point into the tree.
pub(super) fn expand(scenario: &mut Scenario, tree: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    let base = [Seg::Key("directory"), Seg::Key("generate")];
    let at = |path: &[Seg<'_>]| tree.deepest(path).pos;
    let mut report = |position: Position, kind, message: String, hint: String| {
        problems.push(Problem {
            position,
            kind,
            message,
            hint,
        })
    };
    let Some(spec) = scenario.directory.generate.clone() else {
        // `generated` with nothing generated would silently name no one.
        for (i, step) in scenario.steps.iter().enumerate() {
            if step_generated(step) {
                let name = super::validate::step_name(step);
                report(
                    at(&[
                        Seg::Key("steps"),
                        Seg::Index(i),
                        Seg::Key(name),
                        Seg::Key("generated"),
                    ]),
                    DiagnosticKind::UnknownId,
                    "`generated` names the generated objects, but the directory generates none"
                        .to_owned(),
                    "add `directory: { generate: { users: 1000, groups: 10 } }`, or list ids"
                        .to_owned(),
                );
            }
        }
        return problems;
    };

    let field = |name: &'static str| {
        let mut p = base.to_vec();
        p.push(Seg::Key(name));
        p
    };
    if spec.users > MAX_USERS {
        report(
            at(&field("users")),
            DiagnosticKind::WrongType,
            format!("`users: {}` is more than {MAX_USERS}", spec.users),
            "generate at most 1,000,000 users; tenants of 100,000 run in about two minutes"
                .to_owned(),
        );
    }
    if spec.groups > spec.users.max(1) {
        report(
            at(&field("groups")),
            DiagnosticKind::WrongType,
            format!(
                "`groups: {}` is more than the {} users",
                spec.groups, spec.users
            ),
            "a generated group holds at least one user on average: use fewer groups".to_owned(),
        );
    }
    let per_user = spec.membership.per_user;
    let mut membership = field("membership");
    membership.push(Seg::Key("per_user"));
    if per_user[0] > per_user[1] {
        report(
            at(&membership),
            DiagnosticKind::WrongType,
            format!(
                "`per_user: [{}, {}]`: the minimum is above the maximum",
                per_user[0], per_user[1]
            ),
            "write `per_user: [MIN, MAX]`, for example `[1, 3]`".to_owned(),
        );
    } else if spec.groups > 0 && per_user[1] > spec.groups {
        report(
            at(&membership),
            DiagnosticKind::WrongType,
            format!(
                "`per_user` allows {} groups per user, there are {}",
                per_user[1], spec.groups
            ),
            "a user joins each group at most once: lower the maximum".to_owned(),
        );
    }
    for (name, value) in [
        ("managers", spec.managers),
        ("non_email_usernames", spec.non_email_usernames),
    ] {
        if value > 100 {
            report(
                at(&field(name)),
                DiagnosticKind::WrongType,
                format!("`{name}: {value}` is not a percentage"),
                format!("write a whole number from 0 to 100: `{name}: 10`"),
            );
        }
    }
    if spec.membership.ungrouped > 100 {
        let mut p = field("membership");
        p.push(Seg::Key("ungrouped"));
        report(
            at(&p),
            DiagnosticKind::WrongType,
            format!(
                "`ungrouped: {}` is not a percentage",
                spec.membership.ungrouped
            ),
            "write a whole number from 0 to 100: `ungrouped: 5`".to_owned(),
        );
    }
    for (i, d) in spec.domains.iter().enumerate() {
        let mut p = field("domains");
        p.push(Seg::Index(i));
        if d.is_empty() || d.contains(['@', ' ', '/']) {
            report(
                at(&p),
                DiagnosticKind::WrongType,
                format!("`{d}` is not a domain name"),
                "write a bare domain: `example.com`".to_owned(),
            );
        }
    }

    // Templates: the IdP's defaults, then the scenario's (a `null` removes a default).
    let templates = templates(&spec, &scenario.idp, |k, kind, message, hint| {
        let p = [base[0], base[1], Seg::Key("attributes"), Seg::Key(k)];
        report(at(&p), kind, message, hint)
    });
    if spec.attributes.contains_key("id") {
        let mut p = field("attributes");
        p.push(Seg::Key("id"));
        report(
            at(&p),
            DiagnosticKind::UnknownKey,
            "`id` is not a template: generated ids are user-00001, group-001, ...".to_owned(),
            "use `id_prefix: eu-` to tell two generated directories apart".to_owned(),
        );
    }

    // Hand-written ids that a generated one would shadow.
    let prefix = spec.id_prefix.clone().unwrap_or_default();
    for (i, u) in scenario.directory.users.iter().enumerate() {
        if let Some(n) = generated_number(&u.id, &prefix, "user-") {
            if (1..=spec.users).contains(&n) {
                report(
                    at(&[
                        Seg::Key("directory"),
                        Seg::Key("users"),
                        Seg::Index(i),
                        Seg::Key("id"),
                    ]),
                    DiagnosticKind::DuplicateId,
                    format!("user id `{}` is also a generated id", u.id),
                    format!(
                        "generated users are {} ... {}: rename this one, or set `id_prefix`",
                        user_id(&prefix, 1),
                        user_id(&prefix, spec.users)
                    ),
                );
            }
        }
    }
    for (i, g) in scenario.directory.groups.iter().enumerate() {
        if let Some(n) = generated_number(&g.id, &prefix, "group-") {
            if (1..=spec.groups).contains(&n) {
                report(
                    at(&[
                        Seg::Key("directory"),
                        Seg::Key("groups"),
                        Seg::Index(i),
                        Seg::Key("id"),
                    ]),
                    DiagnosticKind::DuplicateId,
                    format!("group id `{}` is also a generated id", g.id),
                    format!(
                        "generated groups are {} ... {}: rename this one, or set `id_prefix`",
                        group_id(&prefix, 1),
                        group_id(&prefix, spec.groups.max(1))
                    ),
                );
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }

    let (users, groups) = generate(&spec, &templates);
    let user_ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let group_ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    scenario.directory.users.extend(users);
    scenario.directory.groups.extend(groups);
    for step in &mut scenario.steps {
        expand_step(step, &user_ids, &group_ids);
    }
    problems
}

/// The attribute templates of `spec`: the IdP's defaults, then the scenario's (a `null`
/// removes a default). A template that does not compile is reported (attribute, kind, message,
/// hint) and left out.
fn templates(
    spec: &Generate,
    idp: &str,
    mut report: impl FnMut(&str, DiagnosticKind, String, String),
) -> Vec<(String, Vec<Part>)> {
    let mut templates: Vec<(String, Vec<Part>)> = Vec::new();
    for (k, t) in default_templates(idp) {
        if !spec.attributes.contains_key(k) {
            templates.push((
                k.to_owned(),
                compile(t).expect("built-in templates compile"),
            ));
        }
    }
    for (k, v) in &spec.attributes {
        match v {
            Value::Null => {}
            Value::String(t) => match compile(t) {
                Ok(parts) => templates.push((k.clone(), parts)),
                Err(message) => {
                    report(k, DiagnosticKind::UnknownValue, message, placeholder_hint())
                }
            },
            Value::Bool(_) | Value::Number(_) => {
                templates.push((k.clone(), vec![Part::Text(String::new())]))
            }
            other => report(
                k,
                DiagnosticKind::WrongType,
                format!("template `{k}` must be text, found {}", kind_name(other)),
                format!(
                    "for example `{k}: \"{{given}} {{family}}\"`; {}",
                    placeholder_hint()
                ),
            ),
        }
    }
    templates
}

/// Takes the generated users and groups out of a checked scenario again, leaving the
/// hand-written ones and `directory.generate`: [`generated`] makes them anew when the scenario
/// runs (same seed, same objects). A folder of tenant-sized scenarios then holds one tenant
/// at a time, and a running scenario holds its tenant once (in the source directory).
pub(super) fn set_aside(scenario: &mut Scenario) {
    if let Some(spec) = &scenario.directory.generate {
        let users = scenario.directory.users.len() - spec.users as usize;
        let groups = scenario.directory.groups.len() - spec.groups as usize;
        scenario.directory.users.truncate(users);
        scenario.directory.groups.truncate(groups);
    }
}

/// The generated users and groups of a loaded scenario (none without `directory.generate`),
/// exactly as the loader checked them: they follow the hand-written ones in the directory.
pub fn generated(scenario: &Scenario) -> (Vec<SourceUser>, Vec<SourceGroup>) {
    match &scenario.directory.generate {
        Some(spec) => generate(spec, &templates(spec, &scenario.idp, |_, _, _, _| {})),
        None => (Vec::new(), Vec::new()),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
        _ => "a value",
    }
}

fn generated_number(id: &str, prefix: &str, kind: &str) -> Option<u32> {
    id.strip_prefix(prefix)?.strip_prefix(kind)?.parse().ok()
}

fn step_generated(step: &Step) -> bool {
    match step {
        Step::Assign(t)
        | Step::Unassign(t)
        | Step::Disable(t)
        | Step::Enable(t)
        | Step::SoftDelete(t)
        | Step::Restore(t)
        | Step::HardDelete(t) => t.generated.is_some(),
        Step::PushGroups(l) | Step::LinkGroups(l) | Step::PushNow(l) => l.generated,
        _ => false,
    }
}

fn expand_step(step: &mut Step, users: &[String], groups: &[String]) {
    match step {
        Step::Assign(t)
        | Step::Unassign(t)
        | Step::Disable(t)
        | Step::Enable(t)
        | Step::SoftDelete(t)
        | Step::Restore(t)
        | Step::HardDelete(t) => match t.generated.take() {
            Some(GeneratedSet::Users) => t.users.extend_from_slice(users),
            Some(GeneratedSet::Groups) => t.groups.extend_from_slice(groups),
            Some(GeneratedSet::All) => {
                t.users.extend_from_slice(users);
                t.groups.extend_from_slice(groups);
            }
            None => {}
        },
        Step::PushGroups(l) | Step::LinkGroups(l) | Step::PushNow(l) if l.generated => {
            l.generated = false;
            l.groups.extend_from_slice(groups);
        }
        _ => {}
    }
}

/// Values of one user, by placeholder index.
fn user_values(
    spec: &Generate,
    rng: &mut Rng,
    n: u32,
    manager: Option<String>,
    domains: &[String],
) -> Vec<Option<String>> {
    let given = *rng.pick(GIVEN);
    let family = *rng.pick(FAMILY);
    let (department, code) = *rng.pick(DEPARTMENTS);
    let title = *rng.pick(TITLES);
    let domain = rng.pick(domains).clone();
    let login = format!("{}.{}.{n}", ascii_lower(given), ascii_lower(family));
    let email = format!("{login}@{domain}");
    // Duo and on-premises directories often have bare names (`amartinez7`), not addresses.
    let username = if rng.percent(spec.non_email_usernames) {
        let initial = ascii_lower(given).chars().next().unwrap_or('x');
        format!("{initial}{}{n}", ascii_lower(family))
    } else {
        email.clone()
    };
    vec![
        Some(n.to_string()),
        Some(given.to_owned()),
        Some(family.to_owned()),
        Some(login),
        Some(domain),
        Some(email),
        Some(username),
        Some(department.to_owned()),
        Some(code.to_owned()),
        Some(title.to_owned()),
        Some(format!("E{:06}", 100_000 + u64::from(n))),
        manager,
    ]
}

fn render(parts: &[Part], values: &[Option<String>]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            // A template naming a value the user lacks (a manager) gives no attribute.
            Part::Var(i) => out.push_str(values[*i].as_deref()?),
        }
    }
    Some(out)
}

/// The users and groups of `spec`. Deterministic: one random stream, consumed in a fixed order.
fn generate(
    spec: &Generate,
    templates: &[(String, Vec<Part>)],
) -> (Vec<SourceUser>, Vec<SourceGroup>) {
    let mut rng = Rng(spec.seed);
    let prefix = spec.id_prefix.clone().unwrap_or_default();
    let domains: Vec<String> = if spec.domains.is_empty() {
        DEFAULT_DOMAINS.iter().map(|d| (*d).to_owned()).collect()
    } else {
        spec.domains.clone()
    };
    // Managers come from the first tenth of the users, each one earlier than the user it
    // manages: a hierarchy without cycles, as an org chart is.
    let pool = (spec.users / 10).max(1);
    let literal: Vec<Option<Value>> = templates
        .iter()
        .map(|(k, _)| match spec.attributes.get(k) {
            Some(v @ (Value::Bool(_) | Value::Number(_))) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let mut users = Vec::with_capacity(spec.users as usize);
    for n in 1..=spec.users {
        let i = n - 1;
        let manager = (i > 0 && rng.percent(spec.managers))
            .then(|| user_id(&prefix, 1 + rng.below(u64::from(i.min(pool))) as u32));
        let values = user_values(spec, &mut rng, n, manager, &domains);
        let mut attributes = Map::new();
        for ((k, parts), lit) in templates.iter().zip(&literal) {
            if let Some(v) = lit {
                attributes.insert(k.clone(), v.clone());
            } else if let Some(s) = render(parts, &values) {
                attributes.insert(k.clone(), Value::String(s));
            }
        }
        users.push(SourceUser {
            id: user_id(&prefix, n),
            attributes,
        });
    }

    let mut groups: Vec<SourceGroup> = (1..=spec.groups)
        .map(|n| {
            let (department, _) = DEPARTMENTS[(n as usize - 1) % DEPARTMENTS.len()];
            let region = REGIONS[((n as usize - 1) / DEPARTMENTS.len()) % REGIONS.len()];
            let mut attributes = Map::new();
            attributes.insert(
                "displayName".into(),
                Value::String(format!("{department} {region} {n:03}")),
            );
            SourceGroup {
                id: group_id(&prefix, n),
                members: Vec::new(),
                attributes,
            }
        })
        .collect();
    if !groups.is_empty() {
        // Skewed: group k is chosen with weight 1/k (Zipf), so a few groups are large and most
        // are small, as "All staff" and team groups are. Even: every group alike.
        let weights: Vec<f64> = (1..=groups.len())
            .map(|k| match spec.membership.sizes {
                GroupSizes::Skewed => 1.0 / k as f64,
                GroupSizes::Even => 1.0,
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let cumulative: Vec<f64> = weights
            .iter()
            .scan(0.0, |acc, w| {
                *acc += w / total;
                Some(*acc)
            })
            .collect();
        let [min, max] = spec.membership.per_user;
        let mut chosen = HashSet::new();
        for u in &users {
            if rng.percent(spec.membership.ungrouped) {
                continue;
            }
            let k = min + rng.below(u64::from(max - min) + 1) as u32;
            chosen.clear();
            // Draw until k distinct groups; bounded since k <= groups (checked above).
            let mut draws = 0;
            while chosen.len() < k as usize && draws < 64 * k {
                draws += 1;
                let r = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                let g = cumulative.partition_point(|c| *c < r).min(groups.len() - 1);
                if chosen.insert(g) {
                    groups[g].members.push(u.id.clone());
                }
            }
        }
    }
    (users, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(users: u32, groups: u32) -> Generate {
        serde_json::from_value(serde_json::json!({"users": users, "groups": groups})).unwrap()
    }

    fn templates(idp: &str) -> Vec<(String, Vec<Part>)> {
        default_templates(idp)
            .into_iter()
            .map(|(k, t)| (k.to_owned(), compile(t).unwrap()))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_directory_and_another_seed_another() {
        let a = generate(&spec(500, 5), &templates("entra"));
        let b = generate(&spec(500, 5), &templates("entra"));
        let show =
            |d: &(Vec<SourceUser>, Vec<SourceGroup>)| serde_json::to_string(&(&d.0, &d.1)).unwrap();
        assert_eq!(show(&a), show(&b));
        let mut other = spec(500, 5);
        other.seed = 8;
        assert_ne!(show(&a), show(&generate(&other, &templates("entra"))));
    }

    #[test]
    fn users_are_realistic_and_unique_on_documentation_domains() {
        let (users, groups) = generate(&spec(2000, 20), &templates("entra"));
        assert_eq!((users.len(), groups.len()), (2000, 20));
        let mut upns = HashSet::new();
        for u in &users {
            let upn = u.attributes["userPrincipalName"].as_str().unwrap();
            assert!(
                upn.ends_with("@example.com") || upn.ends_with("@example.org"),
                "{upn}"
            );
            assert!(upns.insert(upn.to_owned()), "duplicate {upn}");
            assert!(u.attributes["department"].is_string());
            let name = u.attributes["displayName"].as_str().unwrap();
            assert_eq!(
                name,
                format!(
                    "{} {}",
                    u.attributes["givenName"].as_str().unwrap(),
                    u.attributes["surname"].as_str().unwrap()
                )
            );
        }
        // About 90 % have a manager, always an earlier user.
        let managed = users
            .iter()
            .filter(|u| u.attributes.contains_key("manager"))
            .count();
        assert!((1700..=1900).contains(&managed), "{managed}");
        for (i, u) in users.iter().enumerate() {
            if let Some(m) = u.attributes.get("manager").and_then(Value::as_str) {
                let n: usize = m.trim_start_matches("user-").parse().unwrap();
                assert!(n <= i, "{} managed by a later user {m}", u.id);
            }
        }
    }

    #[test]
    fn membership_follows_per_user_and_skew_and_is_nesting_free() {
        let mut s = spec(3000, 30);
        s.membership.per_user = [1, 3];
        let (users, groups) = generate(&s, &templates("entra"));
        let ids: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
        let mut per_user = std::collections::HashMap::<&str, u32>::new();
        for g in &groups {
            let distinct: HashSet<&String> = g.members.iter().collect();
            assert_eq!(distinct.len(), g.members.len(), "no user twice in a group");
            for m in &g.members {
                assert!(ids.contains(m.as_str()), "members are users, never groups");
                *per_user.entry(m).or_default() += 1;
            }
        }
        assert_eq!(per_user.len(), 3000, "every user is in a group");
        assert!(per_user.values().all(|k| (1..=3).contains(k)));
        // Zipf: the first group is much larger than the last.
        assert!(groups[0].members.len() > 5 * groups[29].members.len());
        s.membership.sizes = GroupSizes::Even;
        let (_, even) = generate(&s, &templates("entra"));
        let sizes: Vec<usize> = even.iter().map(|g| g.members.len()).collect();
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(*hi < 2 * *lo, "even sizes {sizes:?}");
    }

    #[test]
    fn a_share_of_duo_usernames_are_not_addresses() {
        let mut s = spec(1000, 0);
        s.non_email_usernames = 25;
        let (users, _) = generate(&s, &templates("duo"));
        let bare = users
            .iter()
            .filter(|u| !u.attributes["username"].as_str().unwrap().contains('@'))
            .count();
        assert!((180..=320).contains(&bare), "{bare}");
    }

    #[test]
    fn templates_name_known_placeholders_only() {
        assert!(compile("{given}.{family}@{domain}").is_ok());
        assert!(compile("{givne}")
            .unwrap_err()
            .contains("unknown placeholder `{givne}`"));
        assert!(compile("{given").unwrap_err().contains("unclosed"));
    }

    const GENERATED: &str = "\
name: t
idp: entra
directory:
  generate:
    users: 50
    groups: 5
    membership: { per_user: [1, 2] }
  users:
    - { id: josue, userPrincipalName: josue@example.com, displayName: Josue }
  groups:
    - { id: admins, displayName: Admins, members: [josue, user-00007] }
steps:
  - assign: { generated: groups, groups: [admins] }
  - update: { user: user-00003, set: { jobTitle: CEO } }
  - cycle: initial
  - expect: { state: derived }
";

    fn load(text: &str, scale: Option<u32>) -> Result<Scenario, crate::scenario::LoadError> {
        super::super::parse_with(
            std::path::Path::new("t.yaml"),
            text,
            super::super::LoadOptions { scale },
        )
    }

    /// The only diagnostic of a scenario that must not load, as `file:line:col: message`.
    fn error(text: &str) -> String {
        let e = load(text, None).expect_err("must not load");
        assert_eq!(e.diagnostics().len(), 1, "{e}");
        e.diagnostics()[0].to_string()
    }

    #[test]
    fn a_generated_directory_mixes_with_hand_written_objects_that_steps_name() {
        let s = load(GENERATED, None).unwrap_or_else(|e| panic!("{e}"));
        let d = &s.directory;
        assert_eq!(
            (d.users.len(), d.groups.len()),
            (1, 1),
            "the loader keeps the hand-written objects; the generated ones are made when it runs"
        );
        assert_eq!(d.users[0].id, "josue");
        let (users, groups) = generated(&s);
        assert_eq!((users.len(), groups.len()), (50, 5));
        assert_eq!(users[0].id, "user-00001");
        assert_eq!(groups[4].id, "group-005");
        assert_eq!(
            generated(&s).0[17].attributes,
            users[17].attributes,
            "made again the same"
        );
        let Step::Assign(t) = &s.steps[0] else {
            panic!()
        };
        assert_eq!(t.generated, None, "expanded by the loader");
        assert_eq!(t.groups.len(), 6);
        assert_eq!(t.groups[0], "admins");
        // --scale: 500 users, groups scaled by the same factor.
        let big = load(GENERATED, Some(500)).unwrap_or_else(|e| panic!("{e}"));
        let (users, groups) = generated(&big);
        assert_eq!((users.len(), groups.len()), (500, 50));
    }

    #[test]
    fn generate_mistakes_point_at_the_line_and_column() {
        let unknown = GENERATED.replace(
            "    membership: { per_user: [1, 2] }\n",
            "    attributes: { jobTitle: \"{titel}\" }\n",
        );
        let e = error(&unknown);
        assert!(
            e.starts_with("t.yaml:7:29: unknown placeholder `{titel}`"),
            "{e}"
        );
        assert!(
            e.contains("{title}"),
            "the hint lists the placeholders: {e}"
        );

        let backwards = GENERATED.replace("[1, 2]", "[3, 1]");
        assert!(
            error(&backwards).starts_with("t.yaml:7:29: `per_user: [3, 1]`"),
            "{}",
            error(&backwards)
        );

        let clash = GENERATED
            .replace("id: josue", "id: user-00002")
            .replace("[josue,", "[user-00002,");
        let e = error(&clash);
        assert!(
            e.starts_with("t.yaml:9:13: user id `user-00002` is also a generated id"),
            "{e}"
        );

        let nothing = "name: t\nidp: entra\nsteps:\n  - assign: { generated: users }\n";
        let e = error(nothing);
        assert!(
            e.starts_with("t.yaml:4:26: `generated` names the generated objects"),
            "{e}"
        );

        let shape = GENERATED.replace("groups: 5\n", "groups: five\n");
        let e = load(&shape, None).expect_err("must not load").to_string();
        assert!(e.starts_with("t.yaml:6:"), "{e}");
    }

    #[test]
    fn rescale_keeps_the_ratio_of_groups_to_users() {
        let mut s = spec(10_000, 100);
        rescale(&mut s, 1000);
        assert_eq!((s.users, s.groups), (1000, 10));
        rescale(&mut s, 10);
        assert_eq!((s.users, s.groups), (10, 1));
        let mut none = spec(100, 0);
        rescale(&mut none, 50);
        assert_eq!(none.groups, 0);
    }
}
