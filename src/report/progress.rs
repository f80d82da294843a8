//! The live progress line of a long run, on a terminal only: which scenario and step is
//! running, how many source objects the IdP has processed in this step out of how many it
//! holds, and the request rate. It is redrawn in place on stderr a few times a second and
//! erased before the summary prints:
//!
//! ```text
//! [3/22] entra-bulk-10k · step 2/4 cycle initial · objects 4210/10000 · 8533 requests · 96 req/s
//! ```
//!
//! Silent unless both stdout and stderr are terminals (so CI logs, pipes and `--report` runs in
//! scripts never see a control sequence) and `TERM` is not `dumb`. The runner, the IdP context
//! and the client report into process-wide counters through the cheap free functions below;
//! while no line is shown they cost one relaxed atomic load.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static OBJECTS_TOTAL: AtomicU64 = AtomicU64::new(0);
static STATE: Mutex<Option<Where>> = Mutex::new(None);

/// What is running now.
#[derive(Default)]
struct Where {
    scenario: String,
    step: String,
    detail: String,
    /// Source objects the IdP logged an action for in this step (kind, identity).
    objects: HashSet<(String, String)>,
}

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);
/// Longest line drawn: a wrapped line could not be erased with one carriage return.
const MAX_WIDTH: usize = 110;

fn with_state(f: impl FnOnce(&mut Where)) {
    if !ACTIVE.load(Relaxed) {
        return;
    }
    if let Ok(mut s) = STATE.lock() {
        f(s.get_or_insert_with(Where::default));
    }
}

/// A request left for the target.
pub fn request_sent() {
    if ACTIVE.load(Relaxed) {
        REQUESTS.fetch_add(1, Relaxed);
    }
}

/// The IdP logged an action for a source object (`User`, `josue`).
pub fn object_logged(kind: &str, identity: &str) {
    with_state(|s| {
        if s.objects.len() < 10_000_000 {
            s.objects.insert((kind.to_owned(), identity.to_owned()));
        }
    });
}

/// Scenario `index` of `total` starts.
pub fn scenario(index: usize, total: usize, name: &str) {
    with_state(|s| {
        s.scenario = format!("[{index}/{total}] {name}");
        s.step.clear();
        s.detail.clear();
        s.objects.clear();
    });
}

/// Step `index` of `total` (`cycle initial`) starts; `objects` is how many source objects the
/// IdP will go through, when known.
pub fn step(index: usize, total: usize, kind: &str, objects: Option<usize>) {
    OBJECTS_TOTAL.store(objects.unwrap_or(0) as u64, Relaxed);
    with_state(|s| {
        s.step = format!("step {index}/{total} {kind}");
        s.detail.clear();
        s.objects.clear();
    });
}

/// A finer position within the step (`probes: patch`).
pub fn detail(text: &str) {
    with_state(|s| s.detail = text.to_owned());
}

/// Whether a progress line may be drawn here.
pub fn wanted() -> bool {
    std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// The line, drawn until [`ProgressLine::finish`].
pub struct ProgressLine {
    task: tokio::task::JoinHandle<()>,
}

impl ProgressLine {
    /// Starts drawing when [`wanted`]; `None` (and nothing drawn, nothing counted) otherwise.
    pub fn start() -> Option<ProgressLine> {
        if !wanted() {
            return None;
        }
        Some(Self::start_on(|line| {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }))
    }

    /// Starts drawing with `draw` (given the bare line), whatever the terminal.
    fn start_on(draw: impl Fn(&str) + Send + 'static) -> ProgressLine {
        REQUESTS.store(0, Relaxed);
        if let Ok(mut s) = STATE.lock() {
            *s = Some(Where::default());
        }
        ACTIVE.store(true, Relaxed);
        let task = tokio::spawn(async move {
            let mut rate = Rate::new();
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                let requests = REQUESTS.load(Relaxed);
                let per_second = rate.update(requests, Instant::now());
                let line = STATE.lock().ok().and_then(|s| {
                    s.as_ref()
                        .map(|w| render(w, OBJECTS_TOTAL.load(Relaxed), requests, per_second))
                });
                if let Some(line) = line {
                    draw(&line);
                }
            }
        });
        ProgressLine { task }
    }

    /// Stops drawing and erases the line.
    pub fn finish(self) {
        self.stop();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

impl ProgressLine {
    /// Stops drawing and counting, leaving the terminal as it is.
    fn stop(self) {
        self.task.abort();
        ACTIVE.store(false, Relaxed);
        if let Ok(mut s) = STATE.lock() {
            *s = None;
        }
    }
}

/// Requests per second over the last second or so.
struct Rate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl Rate {
    fn new() -> Rate {
        Rate {
            samples: Default::default(),
        }
    }

    fn update(&mut self, count: u64, now: Instant) -> Option<f64> {
        self.samples.push_back((now, count));
        while self.samples.len() > 2
            && now.duration_since(self.samples[1].0) >= Duration::from_secs(1)
        {
            self.samples.pop_front();
        }
        let (t0, c0) = *self.samples.front()?;
        let dt = now.duration_since(t0).as_secs_f64();
        (dt >= 0.1).then(|| count.saturating_sub(c0) as f64 / dt)
    }
}

fn render(w: &Where, total: u64, requests: u64, per_second: Option<f64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for p in [&w.scenario, &w.step, &w.detail] {
        if !p.is_empty() {
            parts.push(p.clone());
        }
    }
    let done = w.objects.len() as u64;
    match (done, total) {
        (0, 0) => {}
        (d, 0) => parts.push(format!("objects {d}")),
        (d, t) => parts.push(format!("objects {}/{t}", d.min(t))),
    }
    parts.push(format!("{requests} requests"));
    if let Some(r) = per_second {
        parts.push(format!("{r:.0} req/s"));
    }
    let line = parts.join(" · ");
    match line.char_indices().nth(MAX_WIDTH) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_covers_about_the_last_second() {
        let mut r = Rate::new();
        let t = Instant::now();
        assert_eq!(r.update(0, t), None);
        let got = r.update(50, t + Duration::from_millis(500)).unwrap();
        assert!((got - 100.0).abs() < 1e-6, "{got}");
        // A burst long ago no longer counts once the window moved past it.
        r.update(1000, t + Duration::from_millis(1000));
        let got = r.update(1010, t + Duration::from_millis(3000)).unwrap();
        assert!(got < 20.0, "{got}");
    }

    #[test]
    fn the_line_names_scenario_step_objects_and_rate() {
        let mut w = Where {
            scenario: "[3/22] entra-bulk".into(),
            step: "step 2/4 cycle initial".into(),
            ..Default::default()
        };
        w.objects.insert(("User".into(), "a".into()));
        w.objects.insert(("User".into(), "a".into()));
        w.objects.insert(("Group".into(), "a".into()));
        let line = render(&w, 10, 8533, Some(96.4));
        assert_eq!(
            line,
            "[3/22] entra-bulk · step 2/4 cycle initial · objects 2/10 · 8533 requests · 96 req/s"
        );
        w.scenario = "x".repeat(300);
        assert_eq!(render(&w, 0, 0, None).chars().count(), MAX_WIDTH + 1);
    }

    /// Counters only move while a line is shown, and the line really is drawn.
    #[tokio::test]
    async fn draws_while_started_and_counts_nothing_otherwise() {
        request_sent();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let line = ProgressLine::start_on(move |l| {
            let _ = tx.send(l.to_owned());
        });
        scenario(1, 2, "okta-import");
        step(1, 3, "import", None);
        request_sent();
        request_sent();
        // Other tests of this process may run scenarios meanwhile (their steps and requests
        // count too): wait for at least these two requests, and the scenario set here.
        let requests = |line: &str| -> u64 {
            line.split(" requests")
                .next()
                .and_then(|head| head.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let mut seen = String::new();
        while requests(&seen) < 2 {
            seen = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("a line within 5 s")
                .unwrap();
        }
        assert!(seen.starts_with("[1/2] okta-import · step "), "{seen}");
        line.stop();
        request_sent();
        assert!(!ACTIVE.load(Relaxed));
    }
}
