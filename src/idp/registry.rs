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
//!     build: |s| okta::Okta::new(s).map(Profile::Okta),
//!     verdict: |s| Some(format!("Okta ({})", typed::<okta::App>(s, "app").label())),
//! }
//! ```
//!
//! `idp: okta-aiw` is `idp: okta` with `settings: { app: AIW }`: the alias adds its setting
//! before the settings are checked, so both spellings run the same profile and report the same
//! settings.

use super::wire::{self, Wire};
use super::{duo, entra, jumpcloud, mapping, okta, onelogin, pingfederate, Profile};
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
    pub build: fn(&Map<String, Value>) -> Result<Profile, String>,
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
        build: |s| entra::Entra::new(s).map(Profile::Entra),
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
        build: |s| okta::Okta::new(s).map(Profile::Okta),
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
        build: |s| duo::Duo::new(s).map(Profile::Duo),
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
        build: |s| onelogin::OneLogin::new(s).map(Profile::OneLogin),
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
        build: |s| jumpcloud::JumpCloud::new(s).map(Profile::JumpCloud),
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
        build: |s| pingfederate::PingFederate::new(s).map(Profile::PingFederate),
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
        build: |s| duo::Duo::custom(s).map(Profile::Duo),
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
                .map(|m| Profile::Rfc(Box::new(m)))
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

/// The profile for `idp` with these settings: the alias's setting added (refused when the
/// scenario sets it otherwise), then the IdP's typed settings.
pub fn profile(name: &str, settings: &Map<String, Value>) -> Result<Profile, String> {
    let Some((idp, alias)) = find(name) else {
        return Err(format!(
            "IdP '{name}' is not simulated yet (available: {})",
            names().join(", ")
        ));
    };
    let Some(alias) = alias else {
        return (idp.build)(settings);
    };
    let mut settings = settings.clone();
    match settings.get(alias.setting) {
        Some(v) if v.as_str() != Some(alias.value) => Err(format!(
            "`{}` is `{}`, but `idp: {}` means `{}: {}`; write `idp: {}` to choose `{}` yourself",
            alias.setting,
            v.as_str().map_or_else(|| v.to_string(), str::to_string),
            alias.name,
            alias.setting,
            alias.value,
            idp.name,
            alias.setting
        )),
        _ => {
            settings.insert(alias.setting.into(), alias.value.into());
            (idp.build)(&settings)
        }
    }
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
        let Ok(Profile::Okta(aiw)) = profile("okta-aiw", &Map::new()) else {
            panic!("okta-aiw builds an Okta profile");
        };
        let mut s = Map::new();
        s.insert("app".into(), json!("AIW"));
        let Ok(Profile::Okta(set)) = profile("okta", &s) else {
            panic!("okta with app: AIW builds an Okta profile");
        };
        assert_eq!(
            crate::idp::json_of(&aiw.settings),
            crate::idp::json_of(&set.settings)
        );
        assert_eq!(crate::idp::json_of(&aiw.settings)["app"], "AIW");
        let Ok(Profile::Okta(oin)) = profile("okta", &Map::new()) else {
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
