//! Client-side fault injection: works against any target, because the harness itself fails,
//! drops or replaces the exchange. A scenario arms a fault with
//!
//! ```yaml
//! - fault: { match: "PATCH /Groups/*", times: 1, effect: drop-response }
//! ```
//!
//! `*` matches one path segment; `**` any rest. The Nth matching request (`nth`), or the first
//! K (`times`, default 1), get the effect.

use crate::scenario::model::{Fault, FaultEffect, FaultKind};
use crate::scim::pattern::RequestPattern;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    Fail,
    DropResponse,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
}

impl FaultAction {
    pub fn label(&self) -> String {
        match self {
            FaultAction::Fail => "fail".into(),
            FaultAction::DropResponse => "drop-response".into(),
            FaultAction::Status {
                status,
                retry_after: Some(s),
            } => format!("status {status} (Retry-After: {s})"),
            FaultAction::Status { status, .. } => format!("status {status}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Armed {
    pattern: RequestPattern,
    first: u32,
    times: u32,
    seen: u32,
    action: FaultAction,
}

/// The faults a scenario armed. Clones share them (an `Arc`): the lane clients of a pass
/// ([`super::Client::lane`]) count matching requests in one sequence with the run's client,
/// so `nth: 3` is the run's third matching request whichever lane sends it.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    armed: std::sync::Arc<std::sync::Mutex<Vec<Armed>>>,
}

impl Faults {
    /// Arms a fault. The scenario loader has checked `match` is `METHOD /path`.
    pub fn arm(&mut self, f: &Fault) {
        let action = match &f.effect {
            FaultEffect::Named(FaultKind::Fail) => FaultAction::Fail,
            FaultEffect::Named(FaultKind::DropResponse) => FaultAction::DropResponse,
            FaultEffect::Status {
                status,
                retry_after,
            } => FaultAction::Status {
                status: *status,
                retry_after: *retry_after,
            },
        };
        self.armed().push(Armed {
            pattern: f.matches.clone(),
            first: f.nth.unwrap_or(1).max(1),
            times: f.times.unwrap_or(1),
            seen: 0,
            action,
        });
    }

    pub fn clear(&mut self) {
        self.armed().clear();
    }

    /// The armed faults (a poisoned lock still holds them: nothing panics while it is held).
    fn armed(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The action for this request, if an armed fault claims it. Every fault counts the
    /// requests it matches; the first one in its window applies.
    pub fn action_for(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let mut chosen = None;
        for a in self.armed().iter_mut() {
            if a.pattern.matches(method, path) {
                a.seen += 1;
                if chosen.is_none() && a.seen >= a.first && a.seen < a.first + a.times {
                    chosen = Some(a.action.clone());
                }
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(m: &str, nth: Option<u32>, times: Option<u32>) -> Fault {
        Fault {
            matches: m.into(),
            nth,
            times,
            effect: FaultEffect::Named(FaultKind::DropResponse),
        }
    }

    #[test]
    fn first_k_and_nth() {
        let mut f = Faults::default();
        f.arm(&fault("PATCH /Groups/*", None, None));
        assert_eq!(f.action_for("GET", "/Groups/1"), None);
        assert_eq!(
            f.action_for("PATCH", "/Groups/1"),
            Some(FaultAction::DropResponse)
        );
        assert_eq!(f.action_for("PATCH", "/Groups/2"), None);
        let mut f = Faults::default();
        f.arm(&fault("* /Users", Some(2), Some(2)));
        assert_eq!(f.action_for("GET", "/Users"), None);
        assert!(f.action_for("POST", "/Users").is_some());
        assert!(f.action_for("GET", "/Users").is_some());
        assert_eq!(f.action_for("GET", "/Users"), None);
        assert_eq!(
            f.action_for("GET", "/Users/x"),
            None,
            "* /Users does not match deeper paths"
        );
    }
}
