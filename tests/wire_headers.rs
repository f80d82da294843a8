//! What an IdP's requests carry on the wire, read back from a loopback server that records each
//! raw request head, against what the exchange log (and so report.json) says went out; and the
//! wait an IdP's wire documents (`timeout_secs`, Okta's 60 s) as the one the client uses.
//!
//! The transport adds only `Host` (and `Content-Length` with a body): HTTP framing, not the
//! IdP's choice, and not logged. In particular no `Accept: */*` a general-purpose client would
//! add: Entra's GETs carry none, and a server's 406 to that must show.

use scimulator::client::{Client, ClientConfig, Request, TransportError};
use scimulator::idp::engine::Engine;
use scimulator::idp::mapping::Mapping;
use scimulator::idp::wire::{self, Wire};
use scimulator::secret::Secret;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Heads = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A server that records each request's header lines as received and answers 200 with an
/// empty ListResponse. Reads at most 64 KiB of head and the announced body.
async fn recorder() -> (String, Heads) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads: Heads = Arc::default();
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
                    if let Some(end) = head_end {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let headers: Vec<(String, String)> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                            .collect();
                        let len: usize = headers
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + len.min(1 << 16) {
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + 4 + len);
                        seen.lock().unwrap().push(headers);
                        let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    if buf.len() > 1 << 16 {
                        return;
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (url, heads)
}

fn client(url: &str) -> Client {
    Client::new(ClientConfig {
        base_url: url.to_string(),
        token: Some(Secret::new("wire-token")),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

/// Header names, lower-cased and sorted, with values (the token masked as the log masks it).
fn set(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("authorization") {
                "Bearer ***".to_string()
            } else {
                v.clone()
            };
            (k.to_ascii_lowercase(), v)
        })
        .collect();
    v.sort();
    v
}

/// Sends GET and POST the way `wire` does and returns (on the wire, in the log) per request,
/// the transport's `Host` and `Content-Length` left out of the first.
async fn sent_and_logged(w: &Wire) -> Vec<(Vec<(String, String)>, Vec<(String, String)>)> {
    let (url, heads) = recorder().await;
    let mapping = Mapping::load("entra-default").unwrap();
    let engine = Engine {
        wire: w,
        mapping: &mapping,
    };
    let mut c = client(&url);
    let get = engine.request(
        reqwest::Method::GET,
        "/Users?filter=userName+eq+%22a%22".into(),
        None,
    );
    let post = engine.request(
        reqwest::Method::POST,
        "/Users".into(),
        Some(json!({"userName": "a"})),
    );
    for r in [get, post] {
        let resp = c.send(r).await;
        assert_eq!(resp.status, Some(200), "{resp:?}");
    }
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    heads
        .iter()
        .zip(c.exchanges())
        .map(|(raw, ex)| {
            let raw: Vec<(String, String)> = raw
                .iter()
                .filter(|(k, _)| {
                    !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length")
                })
                .cloned()
                .collect();
            (set(&raw), set(&ex.request_headers))
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn entra_requests_log_exactly_the_headers_that_went_out() {
    let got = sent_and_logged(wire::entra()).await;
    let (get_wire, get_log) = &got[0];
    // Entra's wire lists no header for a GET (I94189); what leaves is the token alone, and
    // report.json says exactly that.
    assert_eq!(get_wire, &pairs(&[("authorization", "Bearer ***")]));
    assert_eq!(get_log, get_wire);
    let (post_wire, post_log) = &got[1];
    assert_eq!(
        post_wire,
        &pairs(&[
            ("authorization", "Bearer ***"),
            ("content-type", "application/scim+json; charset=utf-8"),
        ])
    );
    assert_eq!(post_log, post_wire);
}

#[tokio::test]
async fn header_names_go_out_in_title_case_as_idp_clients_write_them() {
    let (url, heads) = recorder().await;
    let mapping = Mapping::load("entra-default").unwrap();
    let engine = Engine {
        wire: wire::entra(),
        mapping: &mapping,
    };
    let post = engine.request(
        reqwest::Method::POST,
        "/Users".into(),
        Some(json!({"userName": "a"})),
    );
    let resp = client(&url).send(post).await;
    assert_eq!(resp.status, Some(200), "{resp:?}");
    let mut names: Vec<String> = heads.lock().unwrap()[0]
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Authorization", "Content-Length", "Content-Type", "Host"]
    );
}

#[tokio::test]
async fn okta_requests_carry_its_accept_only_and_the_log_agrees() {
    let got = sent_and_logged(wire::okta()).await;
    for (on_wire, logged) in &got {
        // One Accept, Okta's own (S3).
        let accepts: Vec<&String> = on_wire
            .iter()
            .filter(|(k, _)| k == "accept")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(accepts, ["application/scim+json"]);
        assert!(on_wire.contains(&("user-agent".into(), "Okta SCIM Client 1.0.0".into())));
        assert_eq!(logged, on_wire);
    }
}

#[test]
fn okta_waits_its_documented_60_s_unless_the_user_gave_a_timeout() {
    let mapping = Mapping::load("entra-default").unwrap();
    let okta = Engine {
        wire: wire::okta(),
        mapping: &mapping,
    };
    let req = okta.request(reqwest::Method::GET, "/Users".into(), None);
    assert_eq!(req.timeout, Some(Duration::from_secs(60)));
    let c = client("http://127.0.0.1:9");
    assert_eq!(c.wait_for(&req), Duration::from_secs(60));
    let c = c.with_timeout_given(true);
    assert_eq!(c.wait_for(&req), Duration::from_secs(10), "--timeout wins");
    // Entra documents no wait: the client's own.
    let entra = Engine {
        wire: wire::entra(),
        mapping: &mapping,
    };
    let req = entra.request(reqwest::Method::GET, "/Users".into(), None);
    assert_eq!(req.timeout, None);
    assert_eq!(client("http://x").wait_for(&req), Duration::from_secs(10));
}

#[tokio::test]
async fn a_wire_timeout_of_1_s_ends_a_request_the_server_never_answers() {
    let text =
        include_str!("../src/idp/wires/okta.yaml").replace("timeout_secs: 60", "timeout_secs: 1");
    let w = Wire::parse("okta-1s.yaml", &text).unwrap();
    assert_eq!(w.timeout_secs, Some(1));
    let mapping = Mapping::load("entra-default").unwrap();
    let engine = Engine {
        wire: &w,
        mapping: &mapping,
    };
    // Accepts and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let mut c = client(&url); // its own timeout: 10 s
    let started = Instant::now();
    let resp = tokio::time::timeout(
        Duration::from_secs(8),
        c.send(engine.request(reqwest::Method::GET, "/Users".into(), None)),
    )
    .await
    .expect("the wire's 1 s wait, not the client's 10 s");
    assert_eq!(resp.error, Some(TransportError::Timeout(false)));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// A server that answers every request with `303 See Other` to `to`.
async fn redirector(to: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let to = to.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 16];
                let _ = sock.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 303 See Other\r\nLocation: {to}/Users/moved\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_303_to_another_origin_is_followed_as_a_get_without_body_or_token() {
    let (target, heads) = recorder().await;
    let first = redirector(target).await;
    let mut c = client(&first);
    let resp = c
        .send(
            Request::new(reqwest::Method::POST, "/Users")
                .header("Content-Type", "application/scim+json")
                .json(json!({"userName": "a"})),
        )
        .await;
    assert_eq!(resp.status, Some(200), "{resp:?}");
    let heads = heads.lock().unwrap().clone();
    let names: Vec<String> = heads[0].iter().map(|(k, _)| k.to_lowercase()).collect();
    assert_eq!(names, ["host"], "no token, no body headers: {heads:?}");
}
