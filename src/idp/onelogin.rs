//! OneLogin's outbound SCIM (`../shared/reference/okta-duo-others.md` §3), on the engine: the
//! wire is `src/idp/wires/onelogin.yaml`, every fact graded there with its source. What is
//! OneLogin's own lives here: the admin's "SCIM JSON Template" (its `schemas` and quoted
//! booleans are settings, default standard) and the deprovisioning choice. OneLogin pushes
//! each change as it happens; the schedule is the engine's continuous one (Duo's), groups left
//! in the app when they leave (the call set has no Delete Group,
//! https://developers.onelogin.com/scim/implement-scim-api). An update, as logged in
//! https://github.com/goauthentik/authentik/issues/11249:
//!
//! ```text
//! GET /Users?filter=userName+eq+%22ana%40example.org%22&
//! GET /Users/{id}
//! PUT /Users/{id}?
//! ```

use crate::idp::duo::{Deprovisioning as Leaving, Duo, DuoSettings, GroupLeaving};
use crate::idp::mapping::Mapping;
use crate::idp::wire::{self, DeactivateShape};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The workflow toggle for a user leaving the app (https://developers.onelogin.com/scim/implement-scim-api,
/// https://doc.keepnetlabs.com/Next-Generation-Product/modules/company/company-settings/scim-settings/onelogin-scim-integration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovisioning {
    /// "Delete User" [doc].
    #[default]
    Delete,
    /// Suspend: the template's PUT with active false [inferred].
    Suspend,
}

/// The `schemas` of the admin's SCIM JSON Template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schemas {
    /// The RFC 7643 URNs: core, and each extension the body carries.
    #[default]
    Standard,
    /// `urn:scim:schemas:core:2.0` plus `urn:scim:schemas:extension:enterprise:2.0`, as one
    /// capture shows (https://github.com/goauthentik/authentik/issues/11249).
    #[serde(rename = "core-2.0")]
    Core20,
    /// `urn:scim:schemas:core:1.0`, the "Core Schema" connector's template
    /// (https://scim.dev/guide/applications/onelogin).
    #[serde(rename = "core-1.0")]
    Core10,
}

impl Schemas {
    fn urns(self) -> Option<Vec<String>> {
        let urns: &[&str] = match self {
            Schemas::Standard => return None,
            Schemas::Core20 => &[
                "urn:scim:schemas:core:2.0",
                "urn:scim:schemas:extension:enterprise:2.0",
            ],
            Schemas::Core10 => &["urn:scim:schemas:core:1.0"],
        };
        Some(urns.iter().map(|s| s.to_string()).collect())
    }
}

fn onelogin_mapping() -> String {
    "onelogin-default".into()
}

const SETTINGS_HINT: &str = "OneLogin settings are mapping, deprovisioning (delete | suspend), \
     schemas (standard | core-2.0 | core-1.0), quoted_booleans (true | false)";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneLoginSettings {
    #[serde(default = "onelogin_mapping")]
    pub mapping: String,
    #[serde(default)]
    pub deprovisioning: Deprovisioning,
    /// The template's `schemas` (the wire's `create.user_schemas`).
    #[serde(default)]
    pub schemas: Schemas,
    /// The template quotes `active` (`"active": "{$user.active}"`), so it arrives as a string
    /// (https://doc.keepnetlabs.com/Next-Generation-Product/modules/company/company-settings/scim-settings/onelogin-scim-integration;
    /// the rendering is inferred). The wire's `create.string_booleans`.
    #[serde(default)]
    pub quoted_booleans: bool,
}

pub struct OneLogin {
    pub settings: OneLoginSettings,
    /// The continuous schedule, on OneLogin's wire.
    pub run: Duo,
}

impl OneLogin {
    pub fn new(raw: &Map<String, Value>) -> Result<OneLogin, String> {
        let settings: OneLoginSettings = crate::idp::typed_settings(raw, SETTINGS_HINT)?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let mut wire = wire::onelogin().clone();
        wire.create.user_schemas = settings.schemas.urns();
        wire.create.string_booleans = settings.quoted_booleans;
        wire.deactivate.user = DeactivateShape::Put;
        // Delete User, or suspend (active false), for every user that leaves; groups stay in
        // the app when they leave (no Delete Group in its call set,
        // https://developers.onelogin.com/scim/implement-scim-api). Duo's rules say so.
        let leaving = match settings.deprovisioning {
            Deprovisioning::Delete => Leaving::Delete,
            Deprovisioning::Suspend => Leaving::Deactivate,
        };
        let schedule = DuoSettings::on_wire(&settings.mapping, leaving, &wire);
        let mut run = Duo::on_wire(schedule, mapping, wire);
        run.group_leaving = GroupLeaving::Keep;
        Ok(OneLogin { settings, run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new(v: Value) -> Result<OneLogin, String> {
        OneLogin::new(v.as_object().unwrap())
    }

    #[test]
    fn defaults_are_the_standard_template_and_delete() {
        let o = new(json!({})).unwrap();
        assert_eq!(
            crate::idp::json_of(&o.settings),
            json!({"mapping": "onelogin-default", "deprovisioning": "delete",
                   "schemas": "standard", "quoted_booleans": false})
        );
        assert_eq!(o.run.wire.create.user_schemas, None);
        assert!(!o.run.wire.create.string_booleans);
        assert_eq!(o.run.settings.deprovisioning, Leaving::Delete);
        assert_eq!(o.run.wire.update.put_suffix, "?");
    }

    #[test]
    fn template_settings_select_the_wire() {
        let o = new(json!({"schemas": "core-1.0", "quoted_booleans": true,
                           "deprovisioning": "suspend"}))
        .unwrap();
        assert_eq!(
            o.run.wire.create.user_schemas,
            Some(vec!["urn:scim:schemas:core:1.0".to_string()])
        );
        assert!(o.run.wire.create.string_booleans);
        assert_eq!(o.run.settings.deprovisioning, Leaving::Deactivate);
        // The bundled wire is untouched.
        assert!(!wire::onelogin().create.string_booleans);
    }

    #[test]
    fn bad_settings_name_the_known_ones() {
        let bad = [
            json!({"schema": "core-1.0"}),
            json!({"schemas": "core-3"}),
            json!({"deprovisioning": "deactivate"}),
            json!({"quoted_booleans": "yes"}),
        ];
        crate::idp::assert_refused(OneLogin::new, &bad, "OneLogin settings are");
    }
}
