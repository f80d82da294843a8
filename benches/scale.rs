//! How scimulator scales with the tenant (issue 10): one run prints
//!
//! 1. wall time and peak RSS of `scimulator run scenarios/scale/entra-10k.yaml --scale N`
//!    (built-in server in-process: initial cycle, derived-state check, clean-up) at 1,000 and
//!    10,000 users, and 100,000 with `SCIMULATOR_BENCH_100K=1`;
//! 2. the harness's request rate against a raw replay of the same request sequence on the
//!    same server (`scimulator serve`, reqwest, one keep-alive connection, sequential), as a
//!    ratio;
//! 3. the built-in server's RSS holding 100,000 Entra-shaped users.
//!
//! ```text
//! cargo bench --bench scale
//! SCIMULATOR_BENCH_100K=1 cargo bench --bench scale
//! SCIMULATOR_BENCH_RATIO_USERS=2000 cargo bench --bench scale   # size of the ratio run
//! SCIMULATOR_BENCH_PARTS=3 SCIMULATOR_BENCH_BIN=/tmp/old/scimulator cargo bench --bench scale
//! ```
//!
//! `SCIMULATOR_BENCH_PARTS` picks parts (default `1,2,3`); `SCIMULATOR_BENCH_BIN` measures
//! another build of scimulator (an older one, for before/after figures on the same machine).
//!
//! Everything runs the real release binary as child processes on loopback port 0, so each
//! figure is one process's own. Every wait is bounded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "bench";
const RUN_LIMIT: Duration = Duration::from_secs(900);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn bin() -> String {
    std::env::var("SCIMULATOR_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_scimulator").to_owned())
}

fn part(n: char) -> bool {
    std::env::var("SCIMULATOR_BENCH_PARTS").map_or(true, |p| p.contains(n))
}

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale/entra-10k.yaml")
}

/// A `VmXXX:` field of `/proc/<pid>/status`, in KiB.
fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Kills (and reaps) the child when dropped, panics included.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `scimulator` with `args` to the end (bounded by `RUN_LIMIT`), polling its peak RSS
/// (`VmHWM` only grows, so the last reading before exit is the peak, give or take the last
/// 20 ms). Returns wall time, peak KiB and the exit code.
fn run_measured(args: &[String]) -> (Duration, u64, Option<i32>) {
    let start = Instant::now();
    let child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn scimulator");
    let mut guard = Guard(child);
    let pid = guard.0.id();
    let mut peak = 0;
    loop {
        if let Some(k) = proc_kib(pid, "VmHWM") {
            peak = peak.max(k);
        }
        if let Ok(Some(status)) = guard.0.try_wait() {
            return (start.elapsed(), peak, status.code());
        }
        if start.elapsed() > RUN_LIMIT {
            eprintln!("bench: scimulator {args:?} ran past {RUN_LIMIT:?}; killed");
            return (start.elapsed(), peak, None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `scimulator serve` on 127.0.0.1:0, with its base URL.
fn spawn_server() -> (Guard, String) {
    let child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn scimulator serve");
    let mut guard = Guard(child);
    let mut reader = BufReader::new(guard.0.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("read the server's URL");
    std::thread::spawn(move || {
        let mut sink = String::new();
        while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
            sink.clear();
        }
    });
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the server's first line: {line:?}"))
        .to_string();
    (guard, url)
}

/// Replaces every string of `v` that is a key of `ids` (a target id of the recorded run) with
/// the id the replay got for the same object.
fn remap(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(n) = ids.get(s.as_str()) {
                *s = n.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| remap(x, ids)),
        Value::Object(m) => m.values_mut().for_each(|x| remap(x, ids)),
        _ => {}
    }
}

fn remap_path(path: &str, ids: &HashMap<String, String>) -> String {
    let (route, query) = path
        .split_once('?')
        .map_or((path, None), |(r, q)| (r, Some(q)));
    let route: Vec<&str> = route
        .split('/')
        .map(|seg| ids.get(seg).map_or(seg, String::as_str))
        .collect();
    match query {
        Some(q) => format!("{}?{q}", route.join("/")),
        None => route.join("/"),
    }
}

/// One request of the recorded run (`SCIMULATOR_RECORD_REQUESTS`), as sent.
struct Recorded {
    method: reqwest::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    status: Option<u64>,
    id: Option<String>,
}

/// How many times each side of the ratio runs; the best run counts. On shared cores one run
/// of a few seconds varies by a third either way.
const RATIO_RUNS: usize = 3;

/// The harness's rate and the raw replay's, for `users` users: the harness runs the scale
/// scenario against one `scimulator serve` and records every request it sends, whole (the
/// exchange log in report.json keeps bodies only up to its budget); the same sequence is then
/// replayed, sequentially on one keep-alive connection (reqwest), against a fresh
/// `scimulator serve`, ids of created objects mapped to the replay's own. The harness is then
/// timed without recording (writing each request to a file is the bench's cost, not the
/// harness's), each side [`RATIO_RUNS`] times on a fresh server, the best run of each
/// counting. Returns the number of requests, the harness's requests per second over the
/// scenario's whole duration (its own checks and clean-up included) and the replay's.
async fn ratio(users: u32) -> (usize, f64, f64, usize) {
    let record = tempfile_dir().join("requests.jsonl");
    harness_run(users, Some(&record));
    let text = std::fs::read_to_string(&record).expect("the recorded requests");
    let _ = std::fs::remove_dir_all(record.parent().expect("a temp dir"));
    let recorded: Vec<Recorded> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a recorded request");
            Recorded {
                method: reqwest::Method::from_bytes(
                    v["method"].as_str().unwrap_or("GET").as_bytes(),
                )
                .expect("method"),
                path: v["path"].as_str().unwrap_or("/").to_string(),
                headers: v["headers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| Some((h[0].as_str()?.to_string(), h[1].as_str()?.to_string())))
                    .collect(),
                body: v["body"]
                    .as_str()
                    .map(|b| serde_json::from_str(b).expect("a recorded body")),
                status: v["status"].as_u64(),
                id: v["id"].as_str().map(str::to_string),
            }
        })
        .collect();
    let n = recorded.len();
    let harness_s = (0..RATIO_RUNS)
        .map(|_| harness_run(users, None))
        .fold(f64::INFINITY, f64::min);
    let mut raw_s = f64::INFINITY;
    let mut failures = 0;
    for _ in 0..RATIO_RUNS {
        let (s, f) = replay(&recorded).await;
        raw_s = raw_s.min(s);
        failures = failures.max(f);
    }
    (n, n as f64 / harness_s, n as f64 / raw_s, failures)
}

/// One run of the scale scenario at `users` users against a fresh `scimulator serve`,
/// recording its requests to `record` when given: the scenario's duration in seconds, as
/// report.json gives it.
fn harness_run(users: u32, record: Option<&Path>) -> f64 {
    let (server, url) = spawn_server();
    // Its own folder: `record` is in the bench's temp folder, read after this run.
    let report_dir = tempfile_dir().join("report");
    let args = vec![
        "run".to_string(),
        scenario().display().to_string(),
        "--scale".into(),
        users.to_string(),
        "--target".into(),
        url.clone(),
        "--token".into(),
        TOKEN.into(),
        "--report".into(),
        report_dir.display().to_string(),
        "--no-color".into(),
    ];
    if let Some(record) = record {
        std::env::set_var("SCIMULATOR_RECORD_REQUESTS", record);
    }
    let (_, _, code) = run_measured(&args);
    std::env::remove_var("SCIMULATOR_RECORD_REQUESTS");
    drop(server);
    assert_eq!(code, Some(0), "the scale scenario failed at {users} users");
    let report: Value = serde_json::from_slice(
        &std::fs::read(report_dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    let _ = std::fs::remove_dir_all(&report_dir);
    report["scenarios"][0]["duration_ms"]
        .as_f64()
        .expect("scenario duration")
        / 1000.0
}

/// Replays `recorded` raw against a fresh `scimulator serve`: seconds taken, and how many
/// answers differed in status from the recorded run.
async fn replay(recorded: &[Recorded]) -> (f64, usize) {
    let (_replay_server, url) = spawn_server();
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(1)
        .build()
        .expect("http client");
    let auth = format!("Bearer {TOKEN}");
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut failures = 0;
    let start = Instant::now();
    for x in recorded {
        let path = remap_path(&x.path, &ids);
        let mut req = client
            .request(x.method.clone(), format!("{url}{path}"))
            .header("Authorization", &auth);
        for (k, v) in &x.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &x.body {
            let mut body = body.clone();
            remap(&mut body, &ids);
            req = req.body(serde_json::to_vec(&body).expect("body"));
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await.unwrap_or_default();
                if Some(u64::from(status)) != x.status {
                    failures += 1;
                }
                if let Some(old) = &x.id {
                    if let Ok(new) = serde_json::from_slice::<Value>(&bytes) {
                        if let Some(new) = new["id"].as_str() {
                            ids.insert(old.clone(), new.to_string());
                        }
                    }
                }
            }
            Err(_) => failures += 1,
        }
    }
    (start.elapsed().as_secs_f64(), failures)
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("scimulator-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The built-in server's RSS after 100,000 Entra-shaped `POST /Users`, 16 in flight.
async fn server_rss(users: usize) -> (u64, u64, f64) {
    let (server, url) = spawn_server();
    let pid = server.0.id();
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("http client");
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= users || start.elapsed() > RUN_LIMIT {
                    break;
                }
                let upn = format!("user.{i}@example.com");
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                    "externalId": format!("user.{i}"),
                    "userName": upn,
                    "active": true,
                    "displayName": format!("User {i}"),
                    "name": {"formatted": format!("User {i}"), "familyName": format!("{i}"), "givenName": "User"},
                    "emails": [{"primary": true, "type": "work", "value": upn}],
                    "title": "Engineer",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                        "department": "Engineering", "employeeNumber": format!("{}", 100_000 + i)
                    }
                });
                let _ = client
                    .post(format!("{url}/Users"))
                    .header("Authorization", format!("Bearer {TOKEN}"))
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map(|r| r.bytes());
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let rate = users as f64 / start.elapsed().as_secs_f64();
    let rss = proc_kib(pid, "VmRSS").unwrap_or(0);
    let hwm = proc_kib(pid, "VmHWM").unwrap_or(0);
    (rss, hwm, rate)
}

async fn bench() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("scimulator scale benchmark ({cores} cores, release build, loopback)");
    println!();
    let mut sizes = if part('1') {
        vec![1_000u32, 10_000]
    } else {
        Vec::new()
    };
    if part('1') && std::env::var_os("SCIMULATOR_BENCH_100K").is_some() {
        sizes.push(100_000);
    }
    println!("1. scimulator run scenarios/scale/entra-10k.yaml --scale N (built-in server, initial cycle, derived-state check, clean-up)");
    println!(
        "{:>9} {:>10} {:>14} {:>12} {:>12}",
        "users", "wall s", "µs per user", "peak RSS MB", "KB per user"
    );
    for n in &sizes {
        let args = vec![
            "run".to_string(),
            scenario().display().to_string(),
            "--scale".into(),
            n.to_string(),
            "--no-color".into(),
        ];
        let (wall, peak, code) = run_measured(&args);
        println!(
            "{n:>9} {:>10.1} {:>14.0} {:>12.0} {:>12.1}{}",
            wall.as_secs_f64(),
            wall.as_secs_f64() * 1e6 / f64::from(*n),
            mb(peak),
            mb(peak) * 1000.0 / f64::from(*n),
            if code == Some(0) {
                String::new()
            } else {
                format!("  (exit {code:?})")
            }
        );
    }
    println!();

    if part('2') {
        let ratio_users: u32 = std::env::var("SCIMULATOR_BENCH_RATIO_USERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000);
        let (n, harness, raw, failures) = ratio(ratio_users).await;
        println!("2. harness vs raw replay, {ratio_users} users, {n} requests, `scimulator serve`, sequential, best of {RATIO_RUNS}");
        println!("   harness:    {harness:>8.0} requests/s (the scenario's whole duration: cycle, check, clean-up)");
        println!("   raw replay: {raw:>8.0} requests/s (reqwest, one keep-alive connection, fresh server)");
        if failures > 0 {
            println!(
                "   note: {failures} replayed answers differed in status from the recorded run"
            );
        }
        println!("   ratio:      {:>8.2}", harness / raw);
        println!();
    }

    if part('3') {
        let (rss, hwm, rate) = server_rss(100_000).await;
        println!(
            "3. built-in server holding 100,000 users (POST /Users, 16 in flight: {rate:.0}/s)"
        );
        println!(
            "   RSS {:.0} MB ({:.0} MiB), peak {:.0} MB",
            mb(rss),
            rss as f64 / 1024.0,
            mb(hwm)
        );
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale bench: run with `cargo bench --bench scale`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}
