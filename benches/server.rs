//! Throughput and memory of the reference server (issue 2, acceptance point 4).
//!
//! ```text
//! cargo bench --bench server                               # 100,000 users
//! SCIMULATOR_BENCH_USERS=2000 cargo bench --bench server   # quick run
//! ```
//!
//! Spawns the real `scimulator serve` binary on a loopback port 0 (so its memory is measured
//! apart from the client's), then:
//!
//! 1. `POST /Users` for every user, Entra-shaped bodies, 32 requests in flight;
//! 2. `GET /Users?filter=userName eq "<random existing user>"` (the indexed lookup every IdP
//!    does before a create), 32 in flight, bounded by a count and a duration;
//! 3. for contrast, a filter no index serves (`name.familyName eq "..."`), a few hundred times.
//!
//! Prints requests/s and p50/p99 latency per phase, the server's peak RSS (`VmHWM`) and RSS
//! after the load (`VmRSS`), the core count and the user count. Client and server share the
//! machine's cores. All traffic is loopback; every loop is bounded in count and time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tokio::task::JoinSet;

const TOKEN: &str = "bench";
const DEFAULT_USERS: usize = 100_000;
const CONCURRENCY: usize = 32;
/// Phase 1 stops early (and says so) if loading takes longer than this.
const POST_TIME_LIMIT: Duration = Duration::from_secs(600);
const GET_REQUESTS: usize = 100_000;
const GET_TIME_LIMIT: Duration = Duration::from_secs(10);
const SCAN_REQUESTS: usize = 200;
const SCAN_TIME_LIMIT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const GIVEN: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Irvin",
    "Debra",
    "Josue",
];
const FAMILY: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Zeta",
    "Archie",
    "Mueller",
    "Brown",
    "Lanier",
    "Sherman",
    "Gonzales",
    "Holloway",
    "Cline",
    "Bowen",
    "Fernandez",
    "Wilke",
    "Gupta",
    "Sellers",
    "Fowler",
    "Garcia",
    "Nakamura",
    "Okafor",
    "Lindqvist",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Tanaka",
    "Silva",
    "Murphy",
    "Novak",
    "Dubois",
    "Schmidt",
    "Ivanova",
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Human Resources",
    "Legal",
    "Operations",
    "Retail",
    "Research & Development",
    "Executive Management",
];

/// The server child process; killed (and reaped) when dropped, panics included.
struct ServerGuard {
    child: Child,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerGuard {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Starts `scimulator serve` on 127.0.0.1:0 and returns it with its base URL.
fn spawn_server() -> (ServerGuard, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn scimulator serve");
    let mut guard = ServerGuard { child };
    let stdout = guard.child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read the server's URL");
    // Keep draining stdout so the server never writes into a closed pipe.
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

/// A `VmXXX:` field of `/proc/<pid>/status`, in KiB.
fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// The three name parts of user `i`; `userName` is unique by construction.
fn person(i: usize) -> (&'static str, &'static str, String) {
    let given = GIVEN[i % GIVEN.len()];
    let family = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
    let user_name = format!(
        "{}.{}.{i}@contoso.example",
        given.to_lowercase(),
        family.to_lowercase()
    );
    (given, family, user_name)
}

/// A `POST /Users` body shaped like Microsoft Entra ID's provisioning service sends.
fn entra_user(i: usize) -> Value {
    let (given, family, user_name) = person(i);
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": format!("{:08x}-5e1d-4c1b-9a4e-{:012x}", i.wrapping_mul(2_654_435_761) as u32, i),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "name": {
            "formatted": format!("{given} {family}"),
            "familyName": family,
            "givenName": given
        },
        "emails": [
            {"primary": true, "type": "work", "value": user_name}
        ],
        "title": "Contributor",
        "preferredLanguage": "en-US",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": DEPARTMENTS[i % DEPARTMENTS.len()],
            "employeeNumber": format!("{}", 100_000 + i)
        }
    })
}

/// xorshift64*: enough randomness to pick users, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// What one phase measured.
struct PhaseResult {
    name: &'static str,
    latencies: Vec<Duration>,
    failures: usize,
    elapsed: Duration,
    /// Indices that succeeded (phase 1 only: the users that exist).
    ok_indices: Vec<usize>,
}

impl PhaseResult {
    fn requests(&self) -> usize {
        self.latencies.len()
    }
    fn rate(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
    }
}

/// One request of a phase: `Ok(true)` when the answer is the expected one, `Ok(false)` when it
/// is not, `Err` when the request itself failed.
type Outcome = Result<bool, reqwest::Error>;

/// Runs `total` requests (or until `limit` elapses) with `CONCURRENCY` in flight. `make`
/// turns (request index, worker rng) into the request's future.
async fn run_phase<F, Fut>(
    name: &'static str,
    total: usize,
    limit: Duration,
    make: F,
) -> PhaseResult
where
    F: Fn(usize, &mut Rng) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for w in 0..CONCURRENCY {
        let make = Arc::clone(&make);
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut rng = Rng::new(w as u64 + 1);
            let mut lat = Vec::new();
            let mut ok = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || start.elapsed() >= limit {
                    break;
                }
                let t = Instant::now();
                let outcome = make(i, &mut rng).await;
                lat.push(t.elapsed());
                match outcome {
                    Ok(true) => ok.push(i),
                    Ok(false) => failures += 1,
                    Err(e) => {
                        if failures < 3 {
                            eprintln!("bench: {name} request {i}: {e}");
                        }
                        failures += 1;
                    }
                }
            }
            (lat, ok, failures)
        });
    }
    let mut result = PhaseResult {
        name,
        latencies: Vec::with_capacity(total.min(1 << 20)),
        failures: 0,
        elapsed: Duration::ZERO,
        ok_indices: Vec::new(),
    };
    while let Some(joined) = workers.join_next().await {
        let (lat, ok, failures) = joined.expect("bench worker panicked");
        result.latencies.extend(lat);
        result.ok_indices.extend(ok);
        result.failures += failures;
    }
    result.elapsed = start.elapsed();
    result.ok_indices.sort_unstable();
    result
}

fn filter_url(users_url: &str, filter: &str, extra: &str) -> String {
    format!(
        "{users_url}?filter={}{extra}",
        utf8_percent_encode(filter, NON_ALPHANUMERIC)
    )
}

async fn total_results(resp: reqwest::Response) -> Outcome {
    if !resp.status().is_success() {
        return Ok(false);
    }
    let v: Value = resp.json().await?;
    Ok(v.get("totalResults").and_then(Value::as_u64) == Some(1))
}

async fn bench() {
    let users: usize = match std::env::var("SCIMULATOR_BENCH_USERS") {
        Ok(s) => s
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("SCIMULATOR_BENCH_USERS={s:?}: want a positive integer")),
        Err(_) => DEFAULT_USERS,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (server, base) = spawn_server();
    let pid = server.pid();
    let users_url = format!("{base}/Users");
    let rss_start = proc_kib(pid, "VmRSS");
    println!("scimulator server benchmark");
    println!("  server:      {base} (pid {pid}, release build)");
    println!("  cores:       {cores} (client and server share them)");
    println!("  users:       {users}");
    println!("  concurrency: {CONCURRENCY} requests in flight");
    println!();

    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .build()
        .expect("http client");
    let auth = format!("Bearer {TOKEN}");

    // Phase 1: load.
    let post = {
        let (client, auth, url) = (client.clone(), auth.clone(), users_url.clone());
        run_phase("POST /Users", users, POST_TIME_LIMIT, move |i, _| {
            let req = client
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/scim+json")
                .body(entra_user(i).to_string());
            async move {
                let resp = req.send().await?;
                let created = resp.status().as_u16() == 201;
                resp.bytes().await?;
                Ok(created)
            }
        })
        .await
    };
    let loaded = Arc::new(post.ok_indices.clone());
    let rss_loaded = proc_kib(pid, "VmRSS");
    if loaded.is_empty() {
        panic!("no user was created ({} failures)", post.failures);
    }

    // Phase 2: the indexed lookup.
    let get = {
        let (client, auth, url, loaded) = (
            client.clone(),
            auth.clone(),
            users_url.clone(),
            Arc::clone(&loaded),
        );
        run_phase(
            "GET userName eq (indexed)",
            GET_REQUESTS,
            GET_TIME_LIMIT,
            move |_, rng| {
                let (_, _, user_name) = person(loaded[rng.below(loaded.len())]);
                let req = client
                    .get(filter_url(
                        &url,
                        &format!("userName eq \"{user_name}\""),
                        "",
                    ))
                    .header("Authorization", &auth);
                async move { total_results(req.send().await?).await }
            },
        )
        .await
    };

    // Phase 3: the same kind of lookup on an attribute no index serves: a full scan.
    let scan = {
        let (client, auth, url, loaded) = (
            client.clone(),
            auth.clone(),
            users_url.clone(),
            Arc::clone(&loaded),
        );
        run_phase(
            "GET familyName eq (scan)",
            SCAN_REQUESTS,
            SCAN_TIME_LIMIT,
            move |_, rng| {
                let (_, family, _) = person(loaded[rng.below(loaded.len())]);
                let req = client
                    .get(filter_url(
                        &url,
                        &format!("name.familyName eq \"{family}\""),
                        "&count=1",
                    ))
                    .header("Authorization", &auth);
                async move {
                    let resp = req.send().await?;
                    if !resp.status().is_success() {
                        return Ok(false);
                    }
                    let v: Value = resp.json().await?;
                    let items = v.get("Resources").and_then(Value::as_array).map(Vec::len);
                    Ok(
                        v.get("totalResults").and_then(Value::as_u64).unwrap_or(0) >= 1
                            && items == Some(1),
                    )
                }
            },
        )
        .await
    };

    let hwm = proc_kib(pid, "VmHWM");
    let rss_end = proc_kib(pid, "VmRSS");

    println!(
        "{:<28} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "phase", "requests", "seconds", "req/s", "p50 ms", "p99 ms", "failures"
    );
    for r in [&post, &get, &scan] {
        println!(
            "{:<28} {:>9} {:>9.2} {:>10.0} {:>9.3} {:>9.3} {:>9}",
            r.name,
            r.requests(),
            r.elapsed.as_secs_f64(),
            r.rate(),
            r.percentile_ms(50.0),
            r.percentile_ms(99.0),
            r.failures
        );
    }
    println!();
    if post.requests() < users {
        println!(
            "note: loading stopped at the {}s limit after {} of {users} users",
            POST_TIME_LIMIT.as_secs(),
            post.requests()
        );
    }
    println!("users loaded:              {}", loaded.len());
    println!("server RSS at start:       {}", mib(rss_start));
    println!("server RSS after load:     {}", mib(rss_loaded));
    println!("server RSS at end:         {}", mib(rss_end));
    println!("server peak RSS (VmHWM):   {}", mib(hwm));
    println!("cores (available_parallelism): {cores}");

    drop(server);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special. Either way
    // this binary only runs the benchmark when invoked as a benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        println!("server bench: run with `cargo bench --bench server`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}
