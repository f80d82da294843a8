//! Branch `safety`: the bugs that test the harness's "do no harm" promise: a server that
//! ignores `filter`, one whose ids are path syntax, one that soft-deletes, one whose DELETE
//! fails. Each is general: it looks at the request's shape, never at test data.
//!
//! ```text
//! IgnoreFilter  GET /scim/v2/Users?filter=userName+eq+%22a%40b%22  → every user (50 foreign + the run's)
//! DotDotIds     POST /scim/v2/Users → {"id":"../../2819c223-…", …}
//! SoftDelete    DELETE /scim/v2/Users/2819c223-… → 204, GET afterwards → 200
//! DeleteFails   DELETE /scim/v2/Groups/… → 500
//! ```

use super::{rewrite_json, scim_error, Bug, Incoming, Proxy};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// The prefix `DotDotIds` puts before every id.
pub const DOT_DOT: &str = "../../";

pub(super) async fn handle(proxy: &Proxy, mut req: Incoming) -> Response {
    let resource = req.resource();
    let is_delete_of_one =
        req.method == Method::DELETE && resource.as_ref().is_some_and(|(_, id)| id.is_some());
    match proxy.bug {
        Bug::IgnoreFilter => {
            let collection = resource.as_ref().is_some_and(|(_, id)| id.is_none());
            if req.method == Method::GET && collection && req.has_query_param("filter") {
                let kept: Vec<&str> = req
                    .query
                    .as_deref()
                    .unwrap_or("")
                    .split('&')
                    .filter(|kv| {
                        !kv.to_ascii_lowercase().starts_with("filter=")
                            && !kv.to_ascii_lowercase().starts_with("count=")
                            && !kv.to_ascii_lowercase().starts_with("startindex=")
                    })
                    .collect();
                req.path_and_query = if kept.is_empty() {
                    req.path.clone()
                } else {
                    format!("{}?{}", req.path, kept.join("&"))
                };
            }
        }
        Bug::DotDotIds => {
            // An id the harness sends back (it never should) is mapped to the real one, so the
            // test sees what a real server would do with it: nothing stops it but the harness.
            if let Some((_, Some(id))) = &resource {
                let decoded = percent_encoding::percent_decode_str(id)
                    .decode_utf8_lossy()
                    .into_owned();
                if let Some(real) = decoded.strip_prefix(DOT_DOT) {
                    let at = req.path.len() - id.len();
                    req.path = format!("{}{real}", &req.path[..at]);
                    req.path_and_query = match &req.query {
                        Some(q) => format!("{}?{q}", req.path),
                        None => req.path.clone(),
                    };
                }
            }
            let body = std::mem::take(&mut req.body);
            let method = req.method.clone();
            let answer = proxy.forward_as(&req, method, body).await;
            return rewrite_json(answer, dot_dot_ids).await;
        }
        Bug::SoftDelete if is_delete_of_one => {
            return Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .expect("204 response");
        }
        Bug::DeleteFails if is_delete_of_one => {
            return scim_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "the storage backend refused the deletion",
            );
        }
        _ => {}
    }
    let body = std::mem::take(&mut req.body);
    let method = req.method.clone();
    proxy.forward_as(&req, method, body).await
}

/// Prefixes the id of a resource, and of each resource of a ListResponse, with `../../`.
fn dot_dot_ids(v: &mut Value) {
    let prefix = |r: &mut Value| {
        if let Some(Value::String(id)) = r.get_mut("id") {
            *id = format!("{DOT_DOT}{id}");
        }
    };
    prefix(v);
    if let Some(Value::Array(list)) = v.get_mut("Resources") {
        list.iter_mut().for_each(prefix);
    }
}
