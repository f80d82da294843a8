//! Every identity provider scimulator knows, in one table: the name a scenario writes in `idp:`
//! (and `certify --idp`), the other names that mean the same IdP with one setting preset, its
//! bundled wire, default mapping and generated-directory attributes, how its typed settings
//! become a [`Profile`], and the verdict its scenarios count towards. The scenario loader, the
//! JSON Schema, `run --idp`, mappings, `generate:` and the verdicts all ask this table.
//!
//! Adding an IdP is one more [`Idp`] in [`IDPS`]:
//!
//! ```text
//! Idp {
//!     name: "okta",
//!     aliases: &[Alias { name: "okta-aiw", setting: "app", value: "AIW" }],
//!     display_name: "Okta",
//!     wire: Some(wire::okta),
//!     mapping: "okta-default",
//!     templates: OKTA_TEMPLATES,
//!     build: |s| okta::Okta::new(s).map(ProfileKind::Okta),
//!     verdict: |s| Some(format!("Okta ({})", typed::<okta::App>(s, "app").label())),
//! }
//! ```
//!
//! `idp: okta-aiw` is `idp: okta` with `settings: { app: AIW }`: the alias adds its setting
//! before the settings are checked, so both spellings run the same profile and report the same
//! settings.

use super::wire::{self, Wire};
use super::{duo, entra, jumpcloud, mapping, okta, onelogin, pingfederate, Profile, ProfileKind};
use crate::certify::Shape;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One identity provider.
pub struct Idp {
    /// As written in a scenario's `idp:` and in `certify --idp`.
    pub name: &'static str,
    /// Other names for this IdP, each with the setting it implies.
    pub aliases: &'static [Alias],
    /// In findings and reports.
    pub display_name: &'static str,
    /// Its bundled wire (`src/idp/wires/`); `None`: no bundled wire (`custom` loads the user's,
    /// `rfc` sends no IdP traffic).
    pub wire: Option<fn() -> &'static Wire>,
    /// Its bundled mapping (`fixtures/mappings/`), the `mapping` setting's default.
    pub mapping: &'static str,
    /// What a `generate:` directory holds per user: the attributes this IdP's own directory has
    /// and its bundled mapping reads.
    pub templates: &'static [(&'static str, &'static str)],
    /// Its profile from its settings (the alias's setting already added); the error names the
    /// setting and lists the IdP's settings after `; `.
    pub build: fn(&Map<String, Value>) -> Result<ProfileKind, String>,
    /// The verdict its scenarios count towards (`Entra ID (aadOptscim062020)`), from the
    /// settings a report carries, read back typed; `None`: no IdP verdict (`rfc`).
    pub verdict: fn(&Value) -> Option<String>,
    /// The names `certify --idp` takes for it, each with the request shapes it certifies in and
    /// the matrix's label; empty: not certifiable.
    pub certify: &'static [Certify],
}

/// One `certify --idp` name: `okta-aiw` certifies in Okta's shapes, labelled `Okta (AIW)`.
pub struct Certify {
    pub name: &'static str,
    pub shape: Shape,
    pub label: &'static str,
}

/// Another name for an IdP: `okta-aiw` is `okta` with `app: AIW`.
pub struct Alias {
    pub name: &'static str,
    pub setting: &'static str,
    pub value: &'static str,
}

/// Entra's user object.
const ENTRA_TEMPLATES: &[(&str, &str)] = &[
    ("userPrincipalName", "{email}"),
    ("mail", "{email}"),
    ("displayName", "{given} {family}"),
    ("givenName", "{given}"),
    ("surname", "{family}"),
    ("department", "{department}"),
    ("jobTitle", "{title}"),
    ("employeeId", "{employee_id}"),
    ("manager", "{manager}"),
];

/// Okta's user profile.
const OKTA_TEMPLATES: &[(&str, &str)] = &[
    ("login", "{email}"),
    ("email", "{email}"),
    ("firstName", "{given}"),
    ("lastName", "{family}"),
    ("displayName", "{given} {family}"),
    ("department", "{department}"),
];

/// Duo's directory user.
const DUO_TEMPLATES: &[(&str, &str)] = &[
    ("username", "{username}"),
    ("email", "{email}"),
    ("firstName", "{given}"),
    ("lastName", "{family}"),
    ("displayName", "{given} {family}"),
];

/// Every IdP, in the order names are listed to users (`entra, okta, okta-aiw, duo, onelogin,
/// jumpcloud, pingfederate, custom, rfc`). A new IdP goes here, before `custom`.
pub static IDPS: &[Idp] = &[
    Idp {
        name: "entra",
        aliases: &[],
        display_name: "Entra ID",
        wire: Some(wire::entra),
        mapping: "entra-default",
        templates: ENTRA_TEMPLATES,
        build: |s| entra::Entra::new(s).map(ProfileKind::Entra),
        verdict: |s| {
            let dialect: entra::Dialect = typed(s, "dialect");
            Some(format!("Entra ID ({})", dialect.name()))
        },
        certify: &[Certify {
            name: "entra",
            shape: Shape::Entra,
            label: "Entra ID (default dialect)",
        }],
    },
    Idp {
        name: "okta",
        aliases: &[Alias {
            name: "okta-aiw",
            setting: "app",
            value: "AIW",
        }],
        display_name: "Okta",
        wire: Some(wire::okta),
        mapping: "okta-default",
        templates: OKTA_TEMPLATES,
        build: |s| okta::Okta::new(s).map(ProfileKind::Okta),
        verdict: |s| {
            let app: okta::App = typed(s, "app");
            Some(format!("Okta ({})", app.name()))
        },
        certify: &[
            Certify {
                name: "okta",
                shape: Shape::Okta,
                label: "Okta (OIN)",
            },
            Certify {
                name: "okta-aiw",
                shape: Shape::Okta,
                label: "Okta (AIW)",
            },
        ],
    },
    Idp {
        name: "duo",
        aliases: &[],
        display_name: "Duo",
        wire: Some(wire::duo),
        mapping: "duo-secure-access",
        templates: DUO_TEMPLATES,
        build: |s| duo::Duo::new(s).map(ProfileKind::Duo),
        verdict: |_| Some("Duo".into()),
        certify: &[Certify {
            name: "duo",
            shape: Shape::Duo,
            label: "Duo",
        }],
    },
    // branch onelogin: OneLogin and JumpCloud on the engine, shapes from their bundled wires.
    Idp {
        name: "onelogin",
        aliases: &[],
        display_name: "OneLogin",
        wire: Some(wire::onelogin),
        mapping: "onelogin-default",
        templates: ENTRA_TEMPLATES,
        build: |s| onelogin::OneLogin::new(s).map(ProfileKind::OneLogin),
        verdict: |_| Some("OneLogin".into()),
        certify: &[Certify {
            name: "onelogin",
            shape: Shape::OneLogin,
            label: "OneLogin",
        }],
    },
    Idp {
        name: "jumpcloud",
        aliases: &[],
        display_name: "JumpCloud",
        wire: Some(wire::jumpcloud),
        mapping: "jumpcloud-default",
        templates: ENTRA_TEMPLATES,
        build: |s| jumpcloud::JumpCloud::new(s).map(ProfileKind::JumpCloud),
        verdict: |_| Some("JumpCloud".into()),
        certify: &[Certify {
            name: "jumpcloud",
            shape: Shape::JumpCloud,
            label: "JumpCloud",
        }],
    },
    // branch ping: PingFederate's directory users look like Duo's.
    Idp {
        name: "pingfederate",
        aliases: &[],
        display_name: "PingFederate",
        wire: Some(wire::pingfederate),
        mapping: "pingfederate-default",
        templates: DUO_TEMPLATES,
        build: |s| pingfederate::PingFederate::new(s).map(ProfileKind::PingFederate),
        verdict: |_| Some("PingFederate".into()),
        certify: &[Certify {
            name: "pingfederate",
            shape: Shape::PingFederate,
            label: "PingFederate",
        }],
    },
    // An IdP the tool does not ship: its requests from the `wire` setting's file, on Duo's
    // continuous schedule.
    Idp {
        name: "custom",
        aliases: &[],
        display_name: "custom wire",
        wire: None,
        mapping: "duo-secure-access",
        templates: ENTRA_TEMPLATES,
        build: |s| duo::Duo::custom(s).map(ProfileKind::Duo),
        verdict: |_| Some("custom".into()),
        certify: &[],
    },
    // No IdP: the RFC 7643/7644 conformance probes of `scimulator check`.
    Idp {
        name: "rfc",
        aliases: &[],
        display_name: "RFC 7643/7644",
        wire: None,
        mapping: "entra-default",
        templates: ENTRA_TEMPLATES,
        build: |s| {
            if !s.is_empty() {
                return Err("`idp: rfc` takes no settings".into());
            }
            mapping::Mapping::load("entra-default")
                .map(|m| ProfileKind::Rfc(Box::new(m)))
                .map_err(|e| e.to_string())
        },
        verdict: |_| None,
        certify: &[],
    },
];

/// One setting of a report's settings, typed; its default when absent or unreadable (a report
/// written before the setting existed).
fn typed<T: DeserializeOwned + Default>(settings: &Value, key: &str) -> T {
    settings
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Every name a scenario may write in `idp:`, aliases after their IdP.
pub fn names() -> Vec<&'static str> {
    IDPS.iter()
        .flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().map(|a| a.name)))
        .collect()
}

/// The IdP a name (or alias) means, with the alias if it was one.
pub fn find(name: &str) -> Option<(&'static Idp, Option<&'static Alias>)> {
    IDPS.iter().find_map(|i| {
        if i.name == name {
            Some((i, None))
        } else {
            i.aliases
                .iter()
                .find(|a| a.name == name)
                .map(|a| (i, Some(a)))
        }
    })
}

/// The setting every IdP takes besides its own: how many objects of a pass its flows keep in
/// flight at once ([`crate::idp::engine::each`]). Absent or 1: one after the other, as every
/// IdP's documented schedule reads; above 1 is inferred (no public source gives Entra ID's or
/// Okta's concurrency; Microsoft asks gallery apps to sustain 25 requests/s per tenant,
/// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
///
/// ```yaml
/// idp: entra
/// settings: { in_flight: 4 }
/// ```
pub const IN_FLIGHT: &str = "in_flight";
/// The most `in_flight` may be: a run is one thread, and more lanes only queue on it.
pub const MAX_IN_FLIGHT: u64 = 64;

/// `in_flight` from `settings`, taken out of them (the IdP's own typed settings refuse what
/// they do not know, so a common setting is handled before them); 1 when absent.
fn take_in_flight(settings: &mut Map<String, Value>) -> Result<usize, String> {
    let Some(v) = settings.remove(IN_FLIGHT) else {
        return Ok(1);
    };
    match v.as_u64() {
        Some(n @ 1..=MAX_IN_FLIGHT) => Ok(n as usize),
        _ => Err(format!(
            "`{v}` is not a number of requests in flight: a whole number from 1 (one object \
             after the other, the default) to {MAX_IN_FLIGHT}"
        )),
    }
}

/// The profile for `idp` with these settings: the common settings ([`IN_FLIGHT`]) taken out,
/// the alias's setting added (refused when the scenario sets it otherwise), then the IdP's
/// typed settings.
pub fn profile(name: &str, settings: &Map<String, Value>) -> Result<Profile, String> {
    let Some((idp, alias)) = find(name) else {
        return Err(format!(
            "IdP '{name}' is not simulated yet (available: {})",
            names().join(", ")
        ));
    };
    let mut settings = settings.clone();
    // `idp: rfc` sends no IdP traffic: it takes no settings at all, this one included.
    let in_flight = if idp.name == "rfc" {
        1
    } else {
        take_in_flight(&mut settings)?
    };
    // The IdP's listing of its settings (after `; `) names the common one too.
    let build = |s: &Map<String, Value>| {
        (idp.build)(s).map_err(|e| match e.contains("; ") {
            true => format!("{e}; every IdP also takes {IN_FLIGHT} (1 to {MAX_IN_FLIGHT})"),
            false => e,
        })
    };
    let kind = match alias {
        None => build(&settings)?,
        Some(alias) => match settings.get(alias.setting) {
            Some(v) if v.as_str() != Some(alias.value) => {
                return Err(format!(
                    "`{}` is `{}`, but `idp: {}` means `{}: {}`; write `idp: {}` to choose `{}` yourself",
                    alias.setting,
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    alias.name,
                    alias.setting,
                    alias.value,
                    idp.name,
                    alias.setting
                ))
            }
            _ => {
                settings.insert(alias.setting.into(), alias.value.into());
                build(&settings)?
            }
        },
    };
    Ok(Profile { kind, in_flight })
}

/// The IdP verdict a scenario of `idp` with these (reported) settings counts towards; `None`
/// for `rfc`. A name the registry does not know is its own verdict.
pub fn verdict(name: &str, settings: &Value) -> Option<String> {
    match find(name) {
        Some((idp, _)) => (idp.verdict)(settings),
        None => Some(name.to_string()),
    }
}

/// The IdP whose app a mapping describes, from its name: the first shipped IdP whose name
/// starts it (`okta-default` Okta, `duo-secure-access` Duo), else Entra ID.
pub fn for_mapping_name(mapping: &str) -> &'static str {
    let n = mapping.to_ascii_lowercase();
    IDPS.iter()
        .filter(|i| i.wire.is_some())
        .find(|i| n.starts_with(i.name))
        .map_or("entra", |i| i.name)
}

/// The `generate:` attributes for `idp` (Entra's user object for a name it does not know).
pub fn templates(name: &str) -> &'static [(&'static str, &'static str)] {
    find(name).map_or(ENTRA_TEMPLATES, |(i, _)| i.templates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_listed_in_the_order_users_see_them() {
        assert_eq!(
            names(),
            [
                "entra",
                "okta",
                "okta-aiw",
                "duo",
                "onelogin",
                "jumpcloud",
                "pingfederate",
                "custom",
                "rfc"
            ]
        );
    }

    #[test]
    fn okta_aiw_is_okta_with_the_aiw_app_setting() {
        let Ok(Profile {
            kind: ProfileKind::Okta(aiw),
            ..
        }) = profile("okta-aiw", &Map::new())
        else {
            panic!("okta-aiw builds an Okta profile");
        };
        let mut s = Map::new();
        s.insert("app".into(), json!("AIW"));
        let Ok(Profile {
            kind: ProfileKind::Okta(set),
            ..
        }) = profile("okta", &s)
        else {
            panic!("okta with app: AIW builds an Okta profile");
        };
        assert_eq!(
            crate::idp::json_of(&aiw.settings),
            crate::idp::json_of(&set.settings)
        );
        assert_eq!(crate::idp::json_of(&aiw.settings)["app"], "AIW");
        let Ok(Profile {
            kind: ProfileKind::Okta(oin),
            ..
        }) = profile("okta", &Map::new())
        else {
            panic!("okta builds");
        };
        assert_eq!(crate::idp::json_of(&oin.settings)["app"], "OIN");
    }

    #[test]
    fn an_alias_refuses_a_setting_that_contradicts_it() {
        let mut s = Map::new();
        s.insert("app".into(), json!("OIN"));
        let Err(e) = profile("okta-aiw", &s) else {
            panic!("okta-aiw with app: OIN must be refused");
        };
        assert!(e.contains("`idp: okta-aiw` means `app: AIW`"), "{e}");
    }

    /// `in_flight` is common to every IdP: taken out before the IdP's own settings (which
    /// still refuse what they do not know, naming it among theirs), reported only above 1.
    #[test]
    fn in_flight_is_a_setting_of_every_idp() {
        for name in [
            "entra",
            "okta",
            "okta-aiw",
            "duo",
            "onelogin",
            "jumpcloud",
            "pingfederate",
        ] {
            let p = profile(name, &Map::new()).unwrap();
            assert_eq!(p.in_flight, 1, "{name}");
            assert!(p.settings_json().get(IN_FLIGHT).is_none(), "{name}");
            let mut s = Map::new();
            s.insert(IN_FLIGHT.into(), json!(4));
            let p = profile(name, &s).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.in_flight, 4, "{name}");
            assert_eq!(p.settings_json()[IN_FLIGHT], 4, "{name}");
        }
        for bad in [
            json!(0),
            json!(65),
            json!(-1),
            json!(2.5),
            json!("4"),
            json!(null),
        ] {
            let mut s = Map::new();
            s.insert(IN_FLIGHT.into(), bad.clone());
            let Err(e) = profile("entra", &s) else {
                panic!("in_flight: {bad} must be refused");
            };
            assert!(e.contains("not a number of requests in flight"), "{e}");
        }
        let mut s = Map::new();
        s.insert(IN_FLIGHT.into(), json!(2));
        s.insert("lanes".into(), json!(2));
        let Err(e) = profile("duo", &s) else {
            panic!("an unknown setting beside in_flight must be refused");
        };
        assert!(e.contains("unknown field `lanes`"), "{e}");
        assert!(e.contains("every IdP also takes in_flight"), "{e}");
        // `idp: rfc` sends no IdP traffic and takes no settings, this one included.
        assert!(profile("rfc", &s).is_err());
    }

    #[test]
    fn verdicts_come_from_typed_settings() {
        assert_eq!(
            verdict("entra", &json!({"dialect": "aadOptscim062020"})).as_deref(),
            Some("Entra ID (aadOptscim062020)")
        );
        assert_eq!(
            verdict("entra", &json!({})).as_deref(),
            Some("Entra ID (default)")
        );
        assert_eq!(
            verdict("okta-aiw", &json!({"app": "AIW"})).as_deref(),
            Some("Okta (AIW)")
        );
        assert_eq!(verdict("okta", &json!({})).as_deref(), Some("Okta (OIN)"));
        assert_eq!(verdict("rfc", &json!({})), None);
    }

    #[test]
    fn every_bundled_mapping_belongs_to_a_registered_idp_and_defaults_exist() {
        for m in mapping::Mapping::bundled_names() {
            assert!(find(for_mapping_name(m)).is_some(), "{m}");
        }
        for i in IDPS {
            assert!(
                mapping::Mapping::bundled_names().contains(&i.mapping),
                "{}: {}",
                i.name,
                i.mapping
            );
        }
        assert_eq!(for_mapping_name("okta-default"), "okta");
        assert_eq!(for_mapping_name("duo-secure-access"), "duo");
        assert_eq!(for_mapping_name("cisco-secure-access-entra"), "entra");
    }
}
