//! `scimulator run` of PingFederate scenarios against servers that get one behaviour Ping's
//! shapes depend on wrong, and against a correct but minimal one. The servers are the reference
//! server behind a buggy proxy (`buggy`, bugs of tests/buggy/ping.rs).
//!
//! - PingOne writes `userName Eq "…"`
//!   (https://docs.pingidentity.com/pingone/integrations/p1_scim_filter_expressions.html); RFC
//!   7644 §3.4.2.2: "Attribute names and attribute operators used in filters are case
//!   insensitive." A server that refuses `Eq` cannot provision anyone from Ping.
//! - PingFederate finds groups by paging `GET /Groups` with no filter
//!   (https://docs.pingidentity.com/integrations/scim/pf_scim_connector.html). A server may
//!   return fewer resources than `count` asks; one that then ignores `startIndex` repeats its
//!   first page forever: the listing must stop, bounded, and say why.

mod buggy;

use buggy::{Bug, Run};

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-ping-8d3f02";

async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, scenario).await
}

const INITIAL: &str = "scenarios/pingfederate/initial-provisioning.yaml";
const MANY: &str = "tests/scenarios/pingfederate/many-groups.yaml";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes() {
    for scenario in [INITIAL, MANY] {
        run(Bug::None, scenario)
            .await
            .assert_code(0)
            .assert_contains("passed");
    }
}

/// Correct but minimal: two resources a page, `startIndex` honoured. Every group is found on
/// its page (after the restart too, so nothing is created twice): no finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_pages_that_honour_start_index_pass() {
    let r = run(Bug::CappedPages, MANY).await;
    r.assert_code(0).assert_contains("1 passed, 0 failed");
    assert!(!r.output.contains("finding"), "{}", r.output);
    assert!(!r.output.contains("MUST"), "{}", r.output);
}

/// `Eq` answered 400: every user lookup fails, so nobody is created; the finding names Ping's
/// documented lookup (not inferred) and quotes the server's refusal. The connection test, which
/// writes `eq`, still passes: the operator's case is the only difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capitalised_operator_refused() {
    let r = run(Bug::CaseSensitiveFilterOperators, INITIAL).await;
    r.assert_code(1)
        .assert_contains("FAILED pingfederate-initial-provisioning")
        .assert_contains(
            "PingFederate: user lookup by the Unique User Identifier (GET /Users?filter=…)",
        )
        .assert_contains(r#"answered HTTP 400 (scimType invalidFilter): unknown operator "Eq""#)
        .assert_contains("p1_scim_filter_expressions.html")
        .assert_diff_line('+', "Janet Smith | Create user | Failure")
        .assert_contains("Outbound SCIM Sync | Test connection succeeded | Success");
    assert!(
        !r.output.contains("Test connection succeeded | Failure"),
        "{}",
        r.output
    );
}

/// A listing that ignores startIndex: page 2 repeats page 1, so the groups on later pages are
/// never seen. The lookup stops after that page (not at --max-pages), the group is not created
/// blindly, and the finding says which page repeated and why it matters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_that_ignores_start_index_stops_and_says_so() {
    let r = run(Bug::CappedPagesIgnoreStartIndex, MANY).await;
    r.assert_code(1)
        .assert_contains("FAILED pingfederate-many-groups")
        .assert_contains("group lookup without a filter")
        .assert_contains(
            "the listing page startIndex=3 returned no new groups: all 2 were on earlier pages",
        )
        .assert_contains("RFC 7644 §3.4.2.4")
        .assert_diff_line('+', "Delta | Create group | Failure");
    // Alpha to Charlie fit on the first page and were created; Delta and Echo were not.
    assert!(!r.output.contains("pagination did not end"), "{}", r.output);
}
