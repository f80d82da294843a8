//! A target behind the environment's proxy: `HTTP_PROXY` / `HTTPS_PROXY` are honoured as a
//! corporate network needs (a plain-HTTP target is asked for in absolute form with the proxy's
//! credentials; an https target through a `CONNECT` tunnel), and the proxy's credentials never
//! reach the exchange log. One test per process: the proxy is read from the environment.

use scimulator::client::{Client, ClientConfig, Method, Request};
use scimulator::secret::Secret;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback "proxy" that records each request head and answers every request with an empty
/// ListResponse, and every `CONNECT` with 403.
async fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 1 << 16 {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let answer = if head.starts_with("CONNECT ") {
                    "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_string()
                } else {
                    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                seen.lock().unwrap().push(head);
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://proxyuser:proxy-pw-123@{addr}"), heads)
}

fn client(url: &str) -> Client {
    Client::new(ClientConfig {
        base_url: url.to_string(),
        token: Some(Secret::new("proxy-test-token")),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

#[tokio::test]
async fn targets_behind_the_environments_proxy_are_reached_through_it() {
    let (url, heads) = proxy().await;
    // Read once, when a client is built; this binary holds this one test.
    std::env::set_var("HTTP_PROXY", &url);
    std::env::set_var("HTTPS_PROXY", &url);
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let mut plain = client("http://scim.example.invalid/scim/v2");
    let resp = plain.send(Request::new(Method::GET, "/Users")).await;
    assert_eq!(resp.status, Some(200), "{resp:?}");
    let head = heads.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("GET http://scim.example.invalid/scim/v2/Users HTTP/1.1\r\n"),
        "absolute form to the proxy: {head}"
    );
    // base64("proxyuser:proxy-pw-123")
    assert!(
        head.contains("Proxy-Authorization: Basic cHJveHl1c2VyOnByb3h5LXB3LTEyMw=="),
        "{head}"
    );
    let logged = format!("{:?}", plain.exchanges());
    assert!(!logged.contains("cHJveHl1c2Vy") && !logged.contains("proxy-pw-123"));

    let mut tls = client("https://scim.example.invalid/scim/v2");
    let resp = tls.send(Request::new(Method::GET, "/Users")).await;
    assert_eq!(resp.status, None, "the proxy refused the tunnel: {resp:?}");
    let head = heads.lock().unwrap()[1].clone();
    assert!(
        head.starts_with("CONNECT scim.example.invalid:443 HTTP/1.1\r\n"),
        "a tunnel for https: {head}"
    );
    let err = resp.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("connection failed"), "{err}");
}
