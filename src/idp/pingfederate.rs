//! PingFederate's SCIM Provisioner (and PingOne's outbound SCIM), as
//! `../shared/reference/okta-duo-others.md` §3 describes it. Everything it sends is the data of
//! `src/idp/wires/pingfederate.yaml`: user updates are PUT, never a user PATCH; groups are not
//! looked up by filter but listed (every page of `GET /Groups`) and matched by displayName on
//! the client; users are looked up by a filter expression with PingOne's capitalised operator
//! (https://docs.pingidentity.com/pingone/integrations/p1_scim_filter_expressions.html):
//!
//! ```text
//! GET /Users?filter=userName%20Eq%20%22ana.r3f9a1c01%40example.org%22
//! GET /Groups?startIndex=1&count=100
//! PUT /Users/{id}   {"schemas":[...],"id":"…","userName":"…","active":false,…}
//! ```
//!
//! The provisioner polls its datastore and provisions what changed since its last run
//! (https://docs.pingidentity.com/integrations/scim/pf_scim_connector_user_and_group_management.html):
//! users added to the targeted group or filter are created, changed ones updated, removed or
//! disabled ones handled by the Remove User Action; groups follow. That is the continuous
//! schedule Duo's profile runs, so this profile runs it ([`duo::Duo::react`]) on Ping's wire
//! and keeps only its settings and the GitHub EMU connector's health probe.

use crate::client::Method;
use crate::idp::duo::{self, Deprovisioning, DuoSettings};
use crate::idp::engine::Engine;
use crate::idp::mapping::Mapping;
use crate::idp::wire::{self, UpdateVerb};
use crate::idp::Ctx;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// "Remove User Action" (P1, P5): what happens to a user removed from scope or disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveUserAction {
    /// "PingFederate disables the user": `active: false`, sent as a PUT (the default).
    #[default]
    Disable,
    /// "PingFederate deletes the user": DELETE.
    Delete,
}

fn ping_mapping() -> String {
    "pingfederate-default".into()
}

fn ping_filter() -> String {
    "userName Eq \"%s\"".into()
}

const SETTINGS_HINT: &str = "PingFederate settings are mapping, remove_user_action (disable | \
     delete), provision_disabled_users (true | false), user_filter (a filter expression with \
     %s, e.g. 'userName Eq \"%s\"'), group_membership (put | patch), health_probe (true | false)";

/// The connection's provisioning options and SCIM overrides (P2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingSettings {
    #[serde(default = "ping_mapping")]
    pub mapping: String,
    #[serde(default)]
    pub remove_user_action: RemoveUserAction,
    /// "Provision Disabled Users": a user disabled in the datastore is created with
    /// `active: false` instead of being left out (default cleared, P5).
    #[serde(default)]
    pub provision_disabled_users: bool,
    /// The "Filter Expression" override of the user lookup; `%s` is the Unique User
    /// Identifier's value (P2). Default: PingOne's capitalised `userName Eq "%s"` (P4).
    #[serde(default = "ping_filter")]
    pub user_filter: String,
    /// Group membership changes as PATCH (optional in Ping, P1, P2) or GET then PUT of the
    /// whole group (the default when group PATCH is not enabled).
    #[serde(default = "put")]
    pub group_membership: UpdateVerb,
    /// `GET /Users/0` before each run, a 404 meaning healthy: what the GitHub EMU connector
    /// sends (P6); off for the generic SCIM Provisioner.
    #[serde(default)]
    pub health_probe: bool,
}

fn put() -> UpdateVerb {
    UpdateVerb::Put
}

pub struct PingFederate {
    pub settings: PingSettings,
    /// Duo's continuous schedule on Ping's wire and Ping's deprovisioning.
    pub run: duo::Duo,
}

impl PingFederate {
    pub fn new(raw: &Map<String, Value>) -> Result<PingFederate, String> {
        let settings: PingSettings = crate::idp::typed_settings(raw, SETTINGS_HINT)?;
        if !settings.user_filter.contains("%s") {
            return Err(format!(
                "user_filter {:?} has no %s (where the userName goes); {SETTINGS_HINT}",
                settings.user_filter
            ));
        }
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let mut wire = wire::pingfederate().clone();
        wire.lookup.user_expression = Some(settings.user_filter.clone());
        wire.members.update = settings.group_membership;
        wire.create.disabled_users = settings.provision_disabled_users;
        // The Remove User Action (Disable or Delete) applies to users removed from the datastore
        // group or filter and to disabled ones; groups follow their targeting
        // (https://docs.pingidentity.com/integrations/scim/pf_scim_connector_user_and_group_management.html).
        let leaving = match settings.remove_user_action {
            RemoveUserAction::Disable => Deprovisioning::Deactivate,
            RemoveUserAction::Delete => Deprovisioning::Delete,
        };
        let schedule = DuoSettings::on_wire(&settings.mapping, leaving, &wire);
        // The schedule's defaults are Ping's: a group that leaves its targeting is removed
        // (P3), and deleted users follow the Remove User Action like every user that leaves.
        let run = duo::Duo::on_wire(schedule, mapping, wire);
        Ok(PingFederate { settings, run })
    }

    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.run.test_connection(ctx).await
    }

    /// One provisioning run: the health probe when configured, then what changed.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        if self.settings.health_probe && !self.healthy(ctx).await {
            return;
        }
        self.run.react(ctx).await
    }

    /// `GET /Users/0` (P6): a 404 (or any success) is healthy; anything else stops the run
    /// before it sends anything, with a log line and a finding naming the answer.
    async fn healthy(&self, ctx: &mut Ctx<'_>) -> bool {
        let wire = &self.run.wire;
        let b = wire.behaviour("health", None);
        let req =
            Engine::new(wire, &self.run.mapping).request(Method::GET, "/Users/0".into(), None);
        // Sent directly, not through `Ctx::send`: the expected answer is a 404, which is not
        // a failure here.
        ctx.client.step = ctx.step;
        let resp = ctx.client.send(req).await;
        ctx.ledger_mut().exercise(b);
        if resp.ok() || resp.status == Some(404) {
            return true;
        }
        let why = format!(
            "the health probe answered {}: the connector sends nothing this run",
            resp.describe()
        );
        ctx.finding(b, why.clone(), Some(resp.exchange).filter(|e| *e != 0));
        let code = resp
            .status
            .map_or(wire.log.no_answer.clone(), |s| format!("HTTP {s}"));
        ctx.log(
            "Outbound SCIM Sync",
            crate::scim::kind::ObjectKind::User,
            "Health check failed",
            "Failure",
            Some(code),
            Some(why),
            vec![],
            vec![resp.exchange],
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::idp::settings_map as settings;

    #[test]
    fn defaults_follow_the_settings_reference() {
        let p = PingFederate::new(&Map::new()).unwrap();
        assert_eq!(p.settings.remove_user_action, RemoveUserAction::Disable);
        assert!(!p.settings.provision_disabled_users);
        assert_eq!(p.run.wire.update.user, UpdateVerb::Put);
        assert_eq!(p.run.wire.members.update, UpdateVerb::Put);
        assert_eq!(
            p.run.wire.lookup.user_expression.as_deref(),
            Some("userName Eq \"%s\"")
        );
        assert!(p.run.wire.lookup.groups_listing.is_some());
        assert_eq!(p.run.settings.deprovisioning, Deprovisioning::Deactivate);
        assert_eq!(p.run.wire.display_name(), "PingFederate");
    }

    #[test]
    fn settings_select_the_wire() {
        let p = PingFederate::new(&settings(json!({
            "remove_user_action": "delete", "provision_disabled_users": true,
            "user_filter": "userName eq \"%s\"", "group_membership": "patch"
        })))
        .unwrap();
        assert_eq!(p.run.settings.deprovisioning, Deprovisioning::Delete);
        assert!(p.run.wire.create.disabled_users);
        assert_eq!(p.run.wire.members.update, UpdateVerb::Patch);
        assert_eq!(
            p.run.wire.lookup.user_expression.as_deref(),
            Some("userName eq \"%s\"")
        );
        // The bundled wire is untouched.
        assert_eq!(wire::pingfederate().members.update, UpdateVerb::Put);
    }

    #[test]
    fn bad_settings_are_refused_with_the_list() {
        let bad = [
            json!({"remove_user_action": "suspend"}),
            json!({"group_membership": "post"}),
            json!({"user_filter": "userName Eq \"x\""}),
            json!({"remove_user": "delete"}),
        ];
        crate::idp::assert_refused(PingFederate::new, &bad, "PingFederate settings are");
    }

    #[test]
    fn undocumented_shapes_are_inferred() {
        let w = wire::pingfederate();
        assert!(!w.behaviour("user_update", Some("put")).inferred);
        assert!(!w.behaviour("group_lookup", None).inferred);
        assert!(w.behaviour("user_get", None).inferred);
        assert!(w.behaviour("connect", Some("filter")).inferred);
        assert!(w
            .behaviour("user_lookup", None)
            .source
            .ends_with("p1_scim_filter_expressions.html"));
    }
}
