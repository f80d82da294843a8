//! Bugs added on branch `verdicts` (issue 8): shapes that exposed scimulator's own mistakes on
//! independent servers. Each looks at the shape of a request or answer, never at test data.

use super::{get_ci, op_name, patch_ops, rewrite_json, scim_error, Bug, Incoming, Proxy, Response};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// Before forwarding: `Some(answer)` answers instead of the reference server.
pub(super) async fn before(proxy: &Proxy, req: &mut Incoming) -> Option<Response> {
    let resource = req.resource();
    let user_id = resource
        .as_ref()
        .filter(|(kind, _)| kind.eq_ignore_ascii_case("Users"))
        .and_then(|(_, id)| id.clone());
    match proxy.bug {
        Bug::RejectAddOnFilteredPath => {
            if req.method != Method::PATCH {
                return None;
            }
            for op in patch_ops(req) {
                let add = op_name(&op).is_some_and(|n| n.eq_ignore_ascii_case("add"));
                let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
                if add && path.contains('[') {
                    return Some(scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidPath"),
                        &format!("add is not supported on a filtered path: {path}"),
                    ));
                }
            }
            None
        }
        Bug::PutMergesTopLevel => {
            if req.method != Method::PUT || user_id.is_none() {
                return None;
            }
            let body = req.json()?;
            let (status, current) = proxy
                .upstream_json(req, Method::GET, &req.path, None)
                .await?;
            let (StatusCode::OK, Value::Object(mut merged), Value::Object(body)) =
                (status, current, body)
            else {
                return None;
            };
            // Every key of the body replaces the stored one (extension objects whole); a key
            // the body leaves out keeps its stored value.
            for (key, value) in body {
                if let Some(same) = merged
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&key))
                    .cloned()
                {
                    merged.remove(&same);
                }
                merged.insert(key, value);
            }
            req.set_json(&Value::Object(merged));
            None
        }
        Bug::RequireGivenAndFamilyName => {
            let users = resource
                .as_ref()
                .is_some_and(|(kind, _)| kind.eq_ignore_ascii_case("Users"));
            if !users {
                return None;
            }
            let refuse = || {
                Some(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    "name.givenName and name.familyName are required together",
                ))
            };
            let full_name = |user: &Value| {
                let name = user.as_object().and_then(|m| get_ci(m, "name"));
                let part = |p: &str| {
                    name.and_then(Value::as_object)
                        .and_then(|n| get_ci(n, p))
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                };
                part("givenName") && part("familyName")
            };
            let whole_user = match req.method {
                Method::POST => user_id.is_none(),
                Method::PUT => user_id.is_some(),
                _ => false,
            };
            if whole_user && !full_name(&req.json()?) {
                return refuse();
            }
            // A PATCH that removes one part (or the whole name) leaves the pair incomplete.
            let clears = req.method == Method::PATCH
                && user_id.is_some()
                && patch_ops(req).iter().any(|op| {
                    let remove = op_name(op).is_some_and(|n| n.eq_ignore_ascii_case("remove"));
                    let path = op
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    remove && matches!(path.as_str(), "name" | "name.givenname" | "name.familyname")
                });
            if clears {
                return refuse();
            }
            None
        }
        Bug::NoGroupsEndpoint if req.is_groups() => Some(scim_error(
            StatusCode::NOT_FOUND,
            None,
            "this server does not support groups",
        )),
        _ => None,
    }
}

/// After forwarding: the answer as the buggy server gives it.
pub(super) async fn after(req: &Incoming, answer: Response) -> Response {
    let list = req.method == Method::GET && req.resource().is_some_and(|(_, id)| id.is_none());
    if !list || answer.status() != StatusCode::OK {
        return answer;
    }
    rewrite_json(answer, |body| {
        for key in ["startIndex", "itemsPerPage"] {
            if let Some(n) = body.get(key).and_then(Value::as_u64) {
                body[key] = json!(n.to_string());
            }
        }
    })
    .await
}
