//! JumpCloud's custom SCIM connector (`../shared/reference/okta-duo-others.md` §3), on the
//! engine: the wire is `src/idp/wires/jumpcloud.yaml`, every fact graded there with its
//! source. JumpCloud documents its events, not its verbs; what is its own lives in the wire
//! (saving creates a test user and a test group, then deletes them; empty groups are not
//! created; membership PATCH without a filter) and here (the schedule's rules for leaving).
//! JumpCloud provisions each change as it happens: the engine's continuous schedule (Duo's),
//! with JumpCloud's two exits
//! (https://jumpcloud.com/wp-json/wp/v2/support/76256, https://jumpcloud.com/wp-json/wp/v2/support/85119):
//! a user removed from the app is set inactive (`user_deprovision`), a user deleted in
//! JumpCloud is deleted (`user_delete_provision`); a group unbound from the app stays there
//! unsynced, a group deleted in JumpCloud is deleted. A membership change, as J4 reports it:
//!
//! ```json
//! PATCH /Groups/{id}
//! {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!  "Operations":[{"op":"remove","path":"members","value":[{"value":"2819c223"}]}]}
//! ```

use crate::idp::duo::{Deprovisioning, Duo, DuoSettings, GroupLeaving};
use crate::idp::mapping::Mapping;
use crate::idp::wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn jumpcloud_mapping() -> String {
    "jumpcloud-default".into()
}

const SETTINGS_HINT: &str = "JumpCloud settings are mapping (a bundled mapping or a file)";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpCloudSettings {
    #[serde(default = "jumpcloud_mapping")]
    pub mapping: String,
}

pub struct JumpCloud {
    pub settings: JumpCloudSettings,
    /// The continuous schedule, on JumpCloud's wire.
    pub run: Duo,
}

impl JumpCloud {
    pub fn new(raw: &Map<String, Value>) -> Result<JumpCloud, String> {
        let settings: JumpCloudSettings = crate::idp::typed_settings(raw, SETTINGS_HINT)?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let wire = wire::jumpcloud().clone();
        // Set inactive, deleted on a delete (https://jumpcloud.com/wp-json/wp/v2/support/76256);
        // an unbound group stays (https://jumpcloud.com/wp-json/wp/v2/support/85119). A group
        // deleted in JumpCloud is deleted too, which the expected-state rules do not tell
        // apart: scenarios check that by its log and trace. `user_deprovision` sets the user
        // inactive (J2).
        let schedule = DuoSettings::on_wire(&settings.mapping, Deprovisioning::Deactivate, &wire);
        let mut run = Duo::on_wire(schedule, mapping, wire);
        run.delete_deleted_users = true;
        run.group_leaving = GroupLeaving::DeleteIfDeleted;
        Ok(JumpCloud { settings, run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::wire::{ConnectionCheck, MemberRemove};
    use serde_json::json;

    #[test]
    fn defaults_follow_jumpcloud() {
        let j = JumpCloud::new(&Map::new()).unwrap();
        assert_eq!(
            crate::idp::json_of(&j.settings),
            json!({"mapping": "jumpcloud-default"})
        );
        assert_eq!(j.run.wire.connect.check, ConnectionCheck::TestObjects);
        assert!(!j.run.wire.create.empty_groups);
        assert_eq!(j.run.wire.members.remove, MemberRemove::PathList);
        assert!(j.run.delete_deleted_users);
        assert_eq!(j.run.group_leaving, GroupLeaving::DeleteIfDeleted);
        assert_eq!(j.run.mapping.idp(), "jumpcloud");
    }

    #[test]
    fn unknown_settings_are_refused() {
        let Err(e) = JumpCloud::new(json!({"deprovisioning": "delete"}).as_object().unwrap())
        else {
            panic!("JumpCloud has no deprovisioning setting")
        };
        assert!(e.contains("unknown field `deprovisioning`"), "{e}");
        assert!(e.contains("JumpCloud settings are"), "{e}");
    }
}
