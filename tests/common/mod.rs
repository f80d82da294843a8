//! Helpers shared by the reference-server integration tests: an in-process server on a loopback
//! port, a client that sends SCIM bodies as `application/scim+json`, and small readers.
//!
//! ```ignore
//! let s = common::server().await;
//! let id = s.user("josue@contoso.com").await;
//! let u = s.read(&format!("/Users/{id}")).await;
//! ```

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, Method, RequestBuilder};
use scimulator::server::{start, RunningServer, ServerConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const TOKEN: &str = "t";
pub const SCIM_JSON: &str = "application/scim+json";
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const UMBRELLA_URN: &str = "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User";
pub const ADSCIM_GROUP_URN: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// A plain HTTP client for loopback: no proxy from the environment may sit in between.
pub fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// One answer, read in full.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON, `Null` when empty or not JSON.
    pub body: Value,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, with the body in the message when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Resp {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a body served as `application/scim+json` (RFC 7644 §3.1).
    #[track_caller]
    pub fn assert_scim_json(&self) {
        let ct = self.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with(SCIM_JSON),
            "Content-Type {ct:?} is not {SCIM_JSON}; body: {}",
            self.text
        );
    }

    /// Asserts a SCIM Error (RFC 7644 §3.12) with this status and `scimType`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        self.expect(status);
        self.assert_scim_json();
        assert_eq!(self.body["schemas"], json!([ERROR_URN]), "{}", self.text);
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "{}",
            self.text
        );
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "scimType of {}",
            self.text
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "an error says why: {}",
            self.text
        );
    }
}

/// A client for one SCIM base URL, holding the token [`TOKEN`].
pub struct Api {
    pub http: Client,
    /// `http://127.0.0.1:PORT/scim/v2`
    pub url: String,
}

/// An in-process reference server and a client for it (`Deref`s to [`Api`]).
pub struct Scim {
    pub server: RunningServer,
    pub api: Api,
}

impl std::ops::Deref for Scim {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A server on 127.0.0.1:0 requiring the bearer token [`TOKEN`].
pub async fn server() -> Scim {
    server_with(ServerConfig::local().with_token(TOKEN)).await
}

pub async fn server_with(cfg: ServerConfig) -> Scim {
    let server = start(cfg).await.expect("reference server starts");
    let api = Api::new(&server.url);
    Scim { server, api }
}

/// A PatchOp body around `ops`.
pub fn patch_body(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

/// The `value`s of a group's `members`.
pub fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of a user's `groups`.
pub fn group_ids(user: &Value) -> BTreeSet<String> {
    member_ids(&json!({"members": user["groups"].clone()}))
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Api {
    pub fn new(url: &str) -> Api {
        Api {
            http: http_client(),
            url: url.to_string(),
        }
    }

    /// An absolute URL for a path under the base URL (`/Users?x=y`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request with the bearer token and an `Accept: application/scim+json`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.at(path))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header("accept", SCIM_JSON)
    }

    pub async fn send(&self, rb: RequestBuilder) -> Resp {
        Resp::read(rb.send().await.expect("request reaches the server")).await
    }

    /// `rb` with a JSON body sent as `application/scim+json`.
    pub async fn send_json(&self, rb: RequestBuilder, body: &Value) -> Resp {
        self.send(
            rb.header(CONTENT_TYPE, SCIM_JSON)
                .body(serde_json::to_vec(body).expect("json")),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    /// GET with query parameters, form-encoded by reqwest (`+` for spaces).
    pub async fn get_q(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        self.send(self.request(Method::GET, path).query(query))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send_json(self.request(Method::POST, path), body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send_json(self.request(Method::PUT, path), body).await
    }

    /// PATCH with a whole body (use [`patch_body`] or [`Scim::patch_ops`] for the usual shape).
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send_json(self.request(Method::PATCH, path), body)
            .await
    }

    pub async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        self.patch(path, &patch_body(ops)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// GET that must answer 200; returns the body.
    pub async fn read(&self, path: &str) -> Value {
        let r = self.get(path).await;
        r.expect(200);
        r.assert_scim_json();
        r.body
    }

    /// A list or search that must answer 200 with a ListResponse.
    pub async fn list(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let r = self.get_q(path, query).await;
        r.expect(200);
        r.assert_scim_json();
        assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
        r.body
    }

    /// POST /Users (or /Groups) that must answer 201; returns the created resource.
    pub async fn create(&self, endpoint: &str, body: Value) -> Value {
        let r = self.post(endpoint, &body).await;
        r.expect(201);
        r.body
    }

    /// A user with only a userName; returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        self.create(
            "/Users",
            json!({"schemas": [USER_URN], "userName": user_name}),
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// A group with these member ids; returns its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        self.create(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": name, "members": members}),
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// userNames of the users a filter returns, in answer order.
    pub async fn users_matching(&self, filter: &str) -> Vec<String> {
        self.list("/Users", &[("filter", filter)]).await["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// Sends `request` (raw HTTP/1.1 text, `Connection: close`) to `addr` over a plain socket, for
/// requests reqwest would change (it always adds `Accept`); returns status, headers, body.
pub async fn raw_http(
    addr: std::net::SocketAddr,
    request: String,
) -> (u16, Vec<(String, String)>, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut sock = std::net::TcpStream::connect(addr).expect("connect");
        sock.write_all(request.as_bytes()).expect("write");
        let mut out = String::new();
        sock.read_to_string(&mut out).expect("read");
        let (head, body) = out.split_once("\r\n\r\n").expect("header end");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers, body.to_string())
    })
    .await
    .expect("raw request")
}
