//! What the IdP remembers between cycles: links from source objects to target ids, escrowed
//! failures, the watermark and quarantine. Restart provisioning clears parts of it
//! (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationjobrestartcriteria).
//!
//! It lives in `idp/` because only the IdP profiles write it (the runner creates it and restarts
//! it; the state check reads links for blame). A user's link after its POST:
//!
//! ```text
//! users["test-user"] = Link { target_id: "4f2c…", managed: true, members_sent: {}, .. }
//! ```

use crate::scenario::model::RestartScope;
use crate::scim::kind::ObjectKind;
use std::collections::{BTreeMap, BTreeSet};

/// A source object's target counterpart, as the IdP knows it.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub target_id: String,
    /// False once the object left scope and was disabled: the IdP no longer manages it.
    pub managed: bool,
    /// Groups: the source user keys the IdP believes it added as members (it never reads
    /// members back, https://learn.microsoft.com/en-us/answers/questions/2278290/scim-provisioning-of-group-memberships-and-resilie).
    pub members_sent: BTreeSet<String>,
    /// Users: the manager's target id last written.
    pub manager_sent: Option<String>,
    /// The mapped view last written (event-driven IdPs push a profile only when it changed),
    /// as compact text: one per user of the tenant.
    pub view_sent: Option<crate::compact::Compact>,
    /// Groups: the display name last written.
    pub name_sent: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub users: BTreeMap<String, Link>,
    pub groups: BTreeMap<String, Link>,
    /// Objects whose last operation failed: retried on later cycles.
    pub escrows: BTreeSet<(ObjectKind, String)>,
    /// Directory clock at the start of the last completed cycle.
    pub watermark: Option<u64>,
    /// Why the job is in quarantine, if it is.
    pub quarantine: Option<String>,
    /// Export events and failures since the last restart, for the escrow-proportion rule.
    pub events: u64,
    pub failures: u64,
    /// Links keep `view_sent` ([`crate::idp::Profile::sync_state`] says for which IdPs).
    pub keeps_views: bool,
}

impl SyncState {
    /// Counts one export and applies Entra's quarantine thresholds: evaluation starts at 5,000
    /// failures; quarantine above 40 % failed or 40,000 failures, or 60,000 failures in all
    /// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-quarantine-status).
    pub fn count_event(&mut self, failed: bool) {
        self.events += 1;
        if failed {
            self.failures += 1;
        }
        let over = self.failures >= 60_000
            || (self.failures >= 5_000
                && (self.failures * 100 > self.events * 40 || self.failures > 40_000));
        if over && self.quarantine.is_none() {
            self.quarantine = Some(format!(
                "EncounteredEscrowProportionThreshold: {} of {} exports failed",
                self.failures, self.events
            ));
        }
    }
}

impl SyncState {
    pub fn links(&self, kind: ObjectKind) -> &BTreeMap<String, Link> {
        match kind {
            ObjectKind::User => &self.users,
            ObjectKind::Group => &self.groups,
        }
    }

    pub fn links_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, Link> {
        match kind {
            ObjectKind::User => &mut self.users,
            ObjectKind::Group => &mut self.groups,
        }
    }

    pub fn target_id(&self, kind: ObjectKind, key: &str) -> Option<&str> {
        self.links(kind).get(key).map(|l| l.target_id.as_str())
    }

    pub fn restart(&mut self, scope: RestartScope) {
        let clear_escrows = matches!(
            scope,
            RestartScope::Portal | RestartScope::Full | RestartScope::Escrows
        );
        let clear_watermark = matches!(
            scope,
            RestartScope::Portal | RestartScope::Full | RestartScope::Watermark
        );
        let clear_quarantine = matches!(
            scope,
            RestartScope::Portal | RestartScope::Full | RestartScope::QuarantineState
        );
        let clear_links = matches!(scope, RestartScope::Full | RestartScope::ConnectorDataStore);
        if clear_escrows {
            self.escrows.clear();
        }
        if clear_watermark {
            self.watermark = None;
        }
        if clear_quarantine {
            self.quarantine = None;
            self.events = 0;
            self.failures = 0;
        }
        if clear_links {
            self.users.clear();
            self.groups.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_thresholds() {
        let mut s = SyncState::default();
        for _ in 0..4_999 {
            s.count_event(true);
        }
        assert!(
            s.quarantine.is_none(),
            "evaluation starts at 5,000 failures"
        );
        s.count_event(true);
        assert!(s
            .quarantine
            .as_deref()
            .unwrap()
            .starts_with("EncounteredEscrowProportionThreshold"));
        let mut s = SyncState::default();
        for _ in 0..20_000 {
            s.count_event(false);
        }
        for _ in 0..6_000 {
            s.count_event(true);
        }
        assert!(s.quarantine.is_none(), "6,000 of 26,000 is under 40 %");
        s.restart(RestartScope::Portal);
        assert_eq!((s.events, s.failures), (0, 0));
    }

    #[test]
    fn restart_scopes() {
        let mut s = SyncState {
            watermark: Some(3),
            quarantine: Some("q".into()),
            ..Default::default()
        };
        s.users.insert(
            "a".into(),
            Link {
                target_id: "1".into(),
                managed: true,
                ..Default::default()
            },
        );
        s.escrows.insert((ObjectKind::User, "a".into()));
        s.restart(RestartScope::Portal);
        assert!(s.escrows.is_empty() && s.watermark.is_none() && s.quarantine.is_none());
        assert_eq!(s.users.len(), 1, "the portal's restart keeps links");
        s.restart(RestartScope::Full);
        assert!(s.users.is_empty(), "a full reset clears links");
    }
}
