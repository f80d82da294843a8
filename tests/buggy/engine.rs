//! Misbehaviours added on branch `engine` (the provisioning engine's fidelity fixes).

use super::Incoming;
use reqwest::Method;

/// Rewrites `count` on a `GET /Users?…` list to at most `cap`: the upstream then answers pages
/// of `cap` resources, as a server with a page-size limit does.
pub(super) fn cap_users_page(req: &mut Incoming, cap: u64) {
    if req.method != Method::GET || !req.is_users() {
        return;
    }
    let Some(query) = req.query.clone() else {
        return;
    };
    let capped: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("count") => match v.parse::<u64>() {
                Ok(n) if n > cap => format!("{k}={cap}"),
                _ => part.to_owned(),
            },
            _ => part.to_owned(),
        })
        .collect();
    let query = capped.join("&");
    req.path_and_query = format!("{}?{query}", req.path);
    req.query = Some(query);
}
