//! Requests in flight as a setting (issue 10): `settings: { in_flight: 4 }` keeps up to four
//! objects of a pass provisioning at once, and the server sees it; the default sends one
//! request at a time. Runs the real binary against a loopback proxy (port 0) in front of the
//! reference server that counts the requests it holds at once. The proxy holds the first few
//! `POST /Users` until a second request arrives (bounded, never a sleep): a client that keeps
//! several in flight releases them at once, a sequential one waits out the bound alone.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use scimulator::server::{start, RunningServer, ServerConfig};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const TOKEN: &str = "lanes-proxy-token-7c21e5";
/// How many `POST /Users` the proxy holds for a companion, and how long at most.
const HELD: usize = 3;
const HOLD: Duration = Duration::from_millis(500);

/// What the proxy saw, in the order it saw it.
#[derive(Debug, Clone)]
enum Event {
    Arrived {
        seq: usize,
        method: String,
        path: String,
        /// A group write whose body carries members (`POST /Groups` or a members op).
        members: bool,
    },
    Answered {
        seq: usize,
    },
}

struct Watch {
    upstream: String,
    http: reqwest::Client,
    in_flight: AtomicUsize,
    max: AtomicUsize,
    seq: AtomicUsize,
    held: AtomicUsize,
    arrived: Notify,
    events: Mutex<Vec<Event>>,
    /// A server that serves one request at a time and answers 429 to any beside it.
    one_at_a_time: bool,
    /// The 429s it answered.
    refused: AtomicUsize,
}

/// Whether a group request's body adds members: a `POST /Groups` with a non-empty `members`,
/// or a PATCH/PUT that names `members`.
fn carries_members(method: &str, path: &str, body: &[u8]) -> bool {
    if !path.contains("/Groups") || !matches!(method, "POST" | "PATCH" | "PUT") {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let non_empty = |m: Option<&Value>| m.and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    non_empty(v.get("members"))
        || v["Operations"].as_array().is_some_and(|ops| {
            ops.iter().any(|op| {
                op["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("members"))
                    || op["value"].get("members").is_some()
            })
        })
}

async fn handle(State(w): State<Arc<Watch>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 32 * 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, |p| p.as_str().to_string());
    let seq = w.seq.fetch_add(1, Ordering::SeqCst);
    let now = w.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    w.max.fetch_max(now, Ordering::SeqCst);
    w.events.lock().unwrap().push(Event::Arrived {
        seq,
        members: carries_members(&method, &path, &body),
        method: method.clone(),
        path: path.clone(),
    });
    w.arrived.notify_waiters();
    if w.one_at_a_time && now > 1 {
        w.refused.fetch_add(1, Ordering::SeqCst);
        w.events.lock().unwrap().push(Event::Answered { seq });
        w.in_flight.fetch_sub(1, Ordering::SeqCst);
        let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"one request at a time"}"#;
        return Response::builder()
            .status(429)
            .header("Content-Type", "application/scim+json")
            .header("Retry-After", "1")
            .body(Body::from(body))
            .expect("response");
    }
    let user_post = method == "POST" && path.split('?').next().unwrap_or("").ends_with("/Users");
    if user_post && !w.one_at_a_time && w.held.fetch_add(1, Ordering::SeqCst) < HELD {
        // Hold it until another request is in flight beside it (or the bound passes).
        let _ = tokio::time::timeout(HOLD, async {
            loop {
                let notified = w.arrived.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if w.in_flight.load(Ordering::SeqCst) >= 2 {
                    break;
                }
                notified.await;
            }
        })
        .await;
    }
    let mut out = w
        .http
        .request(parts.method.clone(), format!("{}{path}", w.upstream));
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let answer = out
        .body(body.to_vec())
        .send()
        .await
        .expect("upstream answers");
    let mut resp = Response::builder().status(answer.status().as_u16());
    for (k, v) in answer.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            resp = resp.header(k, v);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    w.events.lock().unwrap().push(Event::Answered { seq });
    w.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp.body(Body::from(bytes)).expect("response")
}

struct Proxy {
    url: String,
    watch: Arc<Watch>,
    upstream: RunningServer,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn proxy(one_at_a_time: bool) -> Proxy {
    let upstream = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("reference server");
    let watch = Arc::new(Watch {
        upstream: format!("http://{}", upstream.addr),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        in_flight: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
        seq: AtomicUsize::new(0),
        held: AtomicUsize::new(0),
        arrived: Notify::new(),
        events: Mutex::new(Vec::new()),
        one_at_a_time,
        refused: AtomicUsize::new(0),
    });
    let router = axum::Router::new()
        .fallback(handle)
        .with_state(watch.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    let base = upstream
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_owned()))
        .unwrap_or_default();
    Proxy {
        url: format!("http://{addr}{base}"),
        watch,
        upstream,
        shutdown: tx,
    }
}

/// The bundled scale scenario of `idp` at 16 users in 3 groups, with `settings` added.
fn scenario(dir: &std::path::Path, idp: &str, in_flight: Option<usize>) -> std::path::PathBuf {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/scenarios/scale/{idp}-10k.yaml"))
        .expect("bundled scale scenario");
    let mut text = text
        .replace("users: 10000", "users: 16")
        .replace("groups: 100", "groups: 3");
    if let Some(n) = in_flight {
        text = text.replace("settings: { ", &format!("settings: {{ in_flight: {n}, "));
        assert!(text.contains("in_flight"), "{idp}: settings line not found");
    }
    let file = dir.join(format!("{idp}.yaml"));
    std::fs::write(&file, text).unwrap();
    file
}

struct Outcome {
    code: Option<i32>,
    /// 429s a one-at-a-time server answered.
    refused: usize,
    output: String,
    report: Value,
    max: usize,
    events: Vec<Event>,
}

async fn run(idp: &str, in_flight: Option<usize>) -> Outcome {
    run_on(idp, in_flight, false).await
}

async fn run_on(idp: &str, in_flight: Option<usize>, one_at_a_time: bool) -> Outcome {
    let p = proxy(one_at_a_time).await;
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), idp, in_flight);
    let reports = dir.path().join("reports");
    let url = p.url.clone();
    let root = env!("CARGO_MANIFEST_DIR");
    let args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        file.into(),
        "--target".into(),
        url.into(),
        "--token".into(),
        TOKEN.into(),
        "--report".into(),
        reports.clone().into(),
        "--no-color".into(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args(args)
            .output()
            .expect("run scimulator")
    })
    .await
    .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(reports.join("report.json"))
        .unwrap_or_else(|e| panic!("report.json: {e}\n{output}"));
    let report: Value = serde_json::from_str(&text).expect("report.json parses");
    let max = p.watch.max.load(Ordering::SeqCst);
    let refused = p.watch.refused.load(Ordering::SeqCst);
    let events = p.watch.events.lock().unwrap().clone();
    let _ = p.shutdown.send(());
    p.upstream.stop().await;
    Outcome {
        code: out.status.code(),
        refused,
        output,
        report,
        max,
        events,
    }
}

/// report.json validates against the checked-in schema; each scenario's exchange ids are
/// unique and increasing (the order requests were sent in), and every exchange the
/// provisioning log names is one of them.
fn check_report(o: &Outcome) {
    let root = env!("CARGO_MANIFEST_DIR");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/fixtures/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&o.report)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "report.json: {errors:#?}");
    for s in o.report["scenarios"].as_array().unwrap() {
        let ids: Vec<u64> = s["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert!(!ids.is_empty());
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "exchange ids not unique and increasing: {ids:?}"
        );
        let known: std::collections::HashSet<u64> = ids.into_iter().collect();
        for entry in s["provisioning_log"].as_array().unwrap() {
            for x in entry["exchanges"].as_array().unwrap() {
                let x = x.as_u64().unwrap();
                assert!(known.contains(&x), "log entry names exchange {x}: {entry}");
            }
        }
    }
}

/// No group write carrying members arrives while a `/Users` request of the user pass is still
/// unanswered, and every user's POST was answered before the first of them.
fn users_answered_before_member_writes(idp: &str, events: &[Event]) {
    let mut open_user_requests = std::collections::BTreeSet::new();
    let mut user_posts = 0;
    let mut member_writes = 0;
    for e in events {
        match e {
            Event::Arrived {
                seq,
                method,
                path,
                members,
            } => {
                if *members {
                    member_writes += 1;
                    assert!(
                        open_user_requests.is_empty(),
                        "{idp}: {method} {path} (members) sent while user requests {open_user_requests:?} were unanswered"
                    );
                }
                if path.split('?').next().unwrap_or("").contains("/Users") {
                    open_user_requests.insert(*seq);
                    if method == "POST" {
                        user_posts += 1;
                    }
                }
            }
            Event::Answered { seq } => {
                open_user_requests.remove(seq);
            }
        }
    }
    assert!(user_posts >= 16, "{idp}: {user_posts} user POSTs");
    assert!(member_writes > 0, "{idp}: no group write carried members");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_in_flight_reach_the_server_and_the_derived_state_for_entra_okta_and_duo() {
    for idp in ["entra", "okta", "duo"] {
        let o = run(idp, Some(4)).await;
        assert_eq!(o.code, Some(0), "{idp}: exit code\n{}", o.output);
        assert!(
            o.max > 1,
            "{idp}: the server never held more than one request at once"
        );
        assert!(
            o.max <= 4,
            "{idp}: {} requests at once, more than in_flight",
            o.max
        );
        check_report(&o);
        users_answered_before_member_writes(idp, &o.events);
        let s = &o.report["scenarios"][0];
        assert_eq!(s["settings"]["in_flight"], 4, "{idp}");
        let inferred = s["behaviours"].as_array().unwrap().iter().any(|b| {
            b["inferred"] == true && b["name"].as_str().unwrap().contains("requests in flight")
        });
        assert!(
            inferred,
            "{idp}: in_flight above 1 is not labelled inferred"
        );
        assert!(o.output.contains("inferred"), "{}", o.output);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_request_at_a_time() {
    let o = run("entra", None).await;
    assert_eq!(o.code, Some(0), "exit code\n{}", o.output);
    assert_eq!(o.max, 1, "the default sent requests side by side");
    check_report(&o);
    users_answered_before_member_writes("entra", &o.events);
    let s = &o.report["scenarios"][0];
    assert!(
        s["settings"].get("in_flight").is_none(),
        "{}",
        s["settings"]
    );
    let lanes = s["behaviours"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"].as_str().unwrap().contains("requests in flight"));
    assert!(!lanes);
}

/// A server that serves one request at a time (429 to any other) passes Duo's sequential run;
/// with four in flight its 429s show up, each a finding (Duo does not retry a 429), and the
/// run fails. The race is the server's, found only by sending side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_at_a_time_server_shows_its_429s_only_with_requests_in_flight() {
    let o = run_on("duo", None, true).await;
    assert_eq!(o.code, Some(0), "sequential: exit code\n{}", o.output);
    assert_eq!(o.refused, 0);
    let o = run_on("duo", Some(4), true).await;
    assert!(o.refused > 0, "four in flight never met the limit");
    assert_eq!(o.code, Some(1), "four in flight: exit code\n{}", o.output);
    check_report(&o);
    let findings = o.report["scenarios"][0]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains("HTTP 429")),
        "{findings:#?}"
    );
}

/// A bad `in_flight` is a scenario error pointing at the value (exit 2).
#[test]
fn a_bad_in_flight_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\nidp: duo\nsettings: { in_flight: 0 }\ndirectory: { users: [] }\nsteps:\n  - cycle: initial\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(["run".as_ref(), file.as_os_str(), "--no-color".as_ref()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("bad.yaml:3"), "{text}");
    assert!(text.contains("in_flight"), "{text}");
    assert!(
        text.contains("not a number of requests in flight"),
        "{text}"
    );
}
