//! Bugs added on branch `ping`: what PingFederate's shapes expose. PingOne writes filter
//! operators capitalised (`userName Eq "…"`,
//! https://docs.pingidentity.com/pingone/integrations/p1_scim_filter_expressions.html), and
//! PingFederate finds groups by paging `GET /Groups` to its end, with no filter
//! (https://docs.pingidentity.com/integrations/scim/pf_scim_connector.html). Each bug looks at
//! the shape of a request, never at test data.

use super::{scim_error, Bug, Incoming, Proxy, Response};
use axum::http::{Method, StatusCode};

/// Page size of the capped listings: small, so a few groups span several pages.
const PAGE_CAP: u64 = 2;

/// Before forwarding: `Some(answer)` answers instead of the reference server; otherwise the
/// request may have been rewritten.
pub(super) async fn before(proxy: &Proxy, req: &mut Incoming) -> Option<Response> {
    match proxy.bug {
        Bug::CaseSensitiveFilterOperators => {
            let filter = query_pairs(req)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("filter"))?
                .1;
            // `attr op value`: an operator in any case but lower is "unknown" to this parser.
            let op = filter.split_whitespace().nth(1)?;
            (req.method == Method::GET && op != op.to_ascii_lowercase()).then(|| {
                scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    &format!("unknown operator {op:?}"),
                )
            })
        }
        Bug::CappedPages | Bug::CappedPagesIgnoreStartIndex => {
            let listing = req.method == Method::GET
                && req.resource().is_some_and(|(_, id)| id.is_none())
                && !req.has_query_param("filter");
            if listing {
                let ignore_start = proxy.bug == Bug::CappedPagesIgnoreStartIndex;
                let mut pairs: Vec<(String, String)> = query_pairs(req)
                    .into_iter()
                    .filter(|(k, _)| {
                        let start = ignore_start && k.eq_ignore_ascii_case("startIndex");
                        !(k.eq_ignore_ascii_case("count") || start)
                    })
                    .collect();
                pairs.push(("count".into(), PAGE_CAP.to_string()));
                let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req.query = Some(query.join("&"));
                req.path_and_query = format!("{}?{}", req.path, query.join("&"));
            }
            None
        }
        _ => None,
    }
}

fn query_pairs(req: &Incoming) -> Vec<(String, String)> {
    let Some(query) = &req.query else {
        return Vec::new();
    };
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| {
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}
