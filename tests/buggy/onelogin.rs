//! Branch `onelogin`: server bugs the OneLogin and JumpCloud request shapes expose. Each is
//! general (it looks at the request's shape, never at test data), and each is a bug real
//! servers have:
//!
//! ```text
//! PlusIsLiteral                GET /Users?filter=userName+eq+%22a%40b%22&  → 400 invalidFilter ("userName+eq+"a@b"")
//! EmptyQueryInId               PUT /Users/2819c223?                        → 404 (the id read as "2819c223?")
//! RejectMembersRemoveNoFilter  PATCH /Groups/… remove path "members"        → 400 invalidPath
//! DeleteNotSupported           DELETE /Users/…                             → 405 (legal: JumpCloud deactivates)
//! ```

use super::{scim_error, Bug, Incoming, Proxy};
use axum::http::{Method, StatusCode};
use axum::response::Response;

/// The answer instead of forwarding, when the bug applies to `req`.
pub(super) async fn before(proxy: &Proxy, req: &mut Incoming) -> Option<Response> {
    match proxy.bug {
        // The query is percent-decoded as RFC 3986 says for a URI, not as a form: `+` stays a
        // plus sign, so `userName+eq+"…"` is one token and no filter.
        Bug::PlusIsLiteral => {
            let filter = req
                .query
                .as_deref()?
                .split('&')
                .find_map(|kv| kv.strip_prefix("filter="))?;
            if filter.contains('+') {
                let text = percent_encoding::percent_decode_str(filter).decode_utf8_lossy();
                return Some(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    &format!("cannot parse filter {text:?}"),
                ));
            }
            None
        }
        // The router takes the raw request target: with an empty query (`?` and nothing after)
        // the `?` stays in the last path segment, and no resource has that id.
        Bug::EmptyQueryInId => {
            let (_, id) = req.resource()?;
            let id = id?;
            if req.path_and_query.ends_with('?') && req.query.as_deref().is_none_or(str::is_empty) {
                return Some(scim_error(
                    StatusCode::NOT_FOUND,
                    None,
                    &format!("Resource {id}? not found"),
                ));
            }
            None
        }
        // Members can only be removed one by one through a value filter
        // (`members[value eq "…"]`); a remove of the path `members` is refused.
        Bug::RejectMembersRemoveNoFilter => {
            let refused = super::patch_ops(req).iter().any(|op| {
                super::op_name(op).is_some_and(|n| n.eq_ignore_ascii_case("remove"))
                    && op
                        .as_object()
                        .and_then(super::op_path)
                        .is_some_and(|p| p.eq_ignore_ascii_case("members"))
            });
            (req.is_groups() && refused).then(|| {
                scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidPath"),
                    "remove members with a filter: members[value eq \"id\"]",
                )
            })
        }
        // A server without user deletion: DELETE /Users/{id} is not allowed.
        Bug::DeleteNotSupported => {
            let one = req.resource().is_some_and(|(_, id)| id.is_some());
            (req.method == Method::DELETE && req.is_users() && one).then(|| {
                scim_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    None,
                    "users cannot be deleted, set active false",
                )
            })
        }
        _ => None,
    }
}
