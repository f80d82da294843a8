//! The two SCIM resource kinds the harness, the IdP profiles and the built-in server handle,
//! with their endpoint, resource type and uniqueness attribute (RFC 7643 §4.1, §4.2). The
//! server's journal names a kind by its variant:
//!
//! ```json
//! {"put":"User","entry":{"id":"4f…","seq":3,"body":{"userName":"josue@contoso.com"},"password":null,"version":2}}
//! ```

use crate::scim::schema::{ResourceTypeDef, GROUP_TYPE, USER_TYPE};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectKind {
    User,
    Group,
}

impl ObjectKind {
    /// The endpoint relative to the base URL: `/Users`, `/Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ObjectKind::User => "/Users",
            ObjectKind::Group => "/Groups",
        }
    }
    /// The resource type name: `User`, `Group`.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::User => "User",
            ObjectKind::Group => "Group",
        }
    }
    pub fn rt(self) -> &'static ResourceTypeDef {
        match self {
            ObjectKind::User => &USER_TYPE,
            ObjectKind::Group => &GROUP_TYPE,
        }
    }
    /// The attribute the built-in server keeps unique (RFC 7643 §4.1.1 userName, §4.2 displayName).
    pub fn unique_attr(self) -> &'static str {
        match self {
            ObjectKind::User => "userName",
            ObjectKind::Group => "displayName",
        }
    }
}
