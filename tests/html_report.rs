//! Issue 11, acceptance 2: a failing run against the misbehaving server leaves index.html,
//! summary.md, report.json and junit.xml that agree (same verdicts, same scenarios not passed,
//! same failed checks, same finding counts), appends the summary to `$GITHUB_STEP_SUMMARY`,
//! and the page, loaded in headless Chromium, shows the state diff and the exchange that caused
//! it, and renders as a real page (a screenshot with a red FAIL banner, not a blank image).
//!
//! The Chromium half skips, saying so, when no `chromium` is installed; `.ci/run` installs it.
//! Set `SCIMULATOR_KEEP_REPORT=DIR` to keep the reports and the screenshot for a look.

mod buggy;

use quick_xml::events::Event;
use scimulator::report::model::{Outcome, RunReport};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "html-report-proxy-token-91c3e7";

/// Verdict name → `PASS` / `FAIL`, and the inferred note.
type Verdicts = BTreeMap<String, (String, String)>;

struct Reports {
    dir: tempfile::TempDir,
    step_summary: PathBuf,
    code: Option<i32>,
    output: String,
}

/// `scimulator run` on one failing Entra scenario and two passing ones (Entra, Duo: every Duo
/// request shape is inferred) against a server that reads `"False"` as true.
async fn failing_run() -> Reports {
    let server = buggy::start(buggy::Bug::FalseStringIsTrue, TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let step_summary = dir.path().join("step-summary.md");
    std::fs::write(&step_summary, "earlier step\n").unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let url = server.url.clone();
    let report_dir = dir.path().join("reports");
    let summary = step_summary.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .args([
                "run",
                "scenarios/entra/deprovisioning.yaml",
                "scenarios/entra/cisco-guide.yaml",
                "scenarios/duo/cisco-guide.yaml",
                "--target",
                &url,
                "--token",
                TOKEN,
                "--no-color",
                "--report",
            ])
            .arg(&report_dir)
            .output()
            .expect("run scimulator")
    })
    .await
    .unwrap();
    server.stop().await;
    Reports {
        dir,
        step_summary,
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

impl Reports {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("reports").join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", self.output))
    }

    fn keep(&self, extra: &[&Path]) {
        let Some(to) = std::env::var_os("SCIMULATOR_KEEP_REPORT") else {
            return;
        };
        let to = PathBuf::from(to);
        std::fs::create_dir_all(&to).unwrap();
        for name in ["index.html", "summary.md", "report.json", "junit.xml"] {
            std::fs::copy(self.path(name), to.join(name)).unwrap();
        }
        for p in extra {
            std::fs::copy(p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

// ------------------------------------------------------------------ what each format says

/// What a reader of one format learns: verdicts, scenarios not passed, failed checks (as
/// `scenario: step N kind[: check]`), findings per scenario not passed.
#[derive(Debug, PartialEq, Eq)]
struct Said {
    verdicts: Verdicts,
    not_passed: BTreeSet<String>,
    failed_checks: BTreeSet<String>,
    findings: BTreeMap<String, usize>,
}

fn from_json(report: &RunReport) -> Said {
    let mut failed_checks = BTreeSet::new();
    let mut findings = BTreeMap::new();
    let mut not_passed = BTreeSet::new();
    for s in report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
    {
        not_passed.insert(s.name.clone());
        findings.insert(s.name.clone(), s.findings.len());
        for st in &s.steps {
            let bad: Vec<_> = st
                .checks
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error))
                .collect();
            if bad.is_empty() && matches!(st.outcome, Outcome::Failed | Outcome::Error) {
                failed_checks.insert(format!("{}: step {} {}", s.name, st.index, st.kind));
            }
            for c in bad {
                failed_checks.insert(format!(
                    "{}: step {} {}: {}",
                    s.name, st.index, st.kind, c.name
                ));
            }
        }
    }
    Said {
        verdicts: report
            .verdicts
            .iter()
            .map(|v| {
                (
                    v.verdict.name.clone(),
                    (
                        if v.verdict.passed { "PASS" } else { "FAIL" }.to_owned(),
                        v.inferred_note.clone().unwrap_or_default(),
                    ),
                )
            })
            .collect(),
        not_passed,
        failed_checks,
        findings,
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every value of attribute `name` in `html`, in order, with its element's start tag and where
/// that tag is.
fn attr_values(html: &str, name: &str) -> Vec<(String, String, usize)> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = html[from..].find(&needle) {
        let at = from + found;
        let tag_start = html[..at].rfind('<').unwrap_or(0);
        let value_start = at + needle.len();
        let end = value_start + html[value_start..].find('"').unwrap();
        let tag_end = end + html[end..].find('>').unwrap_or(0);
        out.push((
            unescape(&html[value_start..end]),
            html[tag_start..tag_end].to_owned(),
            tag_start,
        ));
        from = end;
    }
    out
}

fn attr_in(tag: &str, name: &str) -> String {
    attr_values(tag, name)
        .into_iter()
        .next()
        .map(|(v, _, _)| v)
        .unwrap_or_default()
}

fn from_html(html: &str) -> Said {
    let verdicts = attr_values(html, "data-verdict")
        .into_iter()
        .map(|(name, tag, _)| {
            (
                name,
                (attr_in(&tag, "data-result"), attr_in(&tag, "data-inferred")),
            )
        })
        .collect();
    let mut not_passed = BTreeSet::new();
    let mut findings = BTreeMap::new();
    let mut failed_checks = BTreeSet::new();
    // Sections in order; each failure belongs to the section before it.
    let sections = attr_values(html, "data-scenario");
    let mut starts: Vec<(usize, String)> = Vec::new();
    for (name, tag, at) in &sections {
        starts.push((*at, name.clone()));
        if attr_in(tag, "data-outcome") != "passed" {
            not_passed.insert(name.clone());
            findings.insert(name.clone(), attr_in(tag, "data-findings").parse().unwrap());
        }
    }
    for (failure, _, at) in attr_values(html, "data-failure") {
        let owner = starts
            .iter()
            .rev()
            .find(|(s, _)| *s < at)
            .map(|(_, n)| n.clone())
            .unwrap();
        failed_checks.insert(format!("{owner}: {failure}"));
    }
    Said {
        verdicts,
        not_passed,
        failed_checks,
        findings,
    }
}

/// The rows of the Markdown table whose header row starts with `header`.
fn md_rows<'a>(md: &'a str, header: &str) -> Vec<Vec<&'a str>> {
    let mut lines = md.lines().skip_while(|l| !l.starts_with(header)).skip(2);
    let mut rows = Vec::new();
    for l in lines.by_ref() {
        if !l.starts_with('|') {
            break;
        }
        rows.push(
            l.trim_matches('|')
                .split(" | ")
                .map(str::trim)
                .collect::<Vec<_>>(),
        );
    }
    rows
}

fn from_markdown(md: &str) -> Said {
    let verdicts = md_rows(md, "| verdict |")
        .into_iter()
        .map(|r| {
            let result = r[1].trim_start_matches(['✅', '❌', ' ']);
            let (word, note) = result.split_once(" — ").unwrap_or((result, ""));
            (r[0].to_owned(), (word.to_owned(), note.to_owned()))
        })
        .collect();
    let mut not_passed = BTreeSet::new();
    let mut findings = BTreeMap::new();
    let mut failed_checks = BTreeSet::new();
    for r in md_rows(md, "| scenario |") {
        not_passed.insert(r[0].to_owned());
        findings.insert(r[0].to_owned(), r[4].parse().unwrap());
        for c in r[3].split("; ") {
            failed_checks.insert(format!("{}: {c}", r[0]));
        }
    }
    Said {
        verdicts,
        not_passed,
        failed_checks,
        findings,
    }
}

#[derive(Debug, Default)]
struct XmlElem {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<XmlElem>,
}

fn parse_xml(xml: &str) -> XmlElem {
    fn elem(e: &quick_xml::events::BytesStart) -> XmlElem {
        XmlElem {
            name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
            attrs: e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (
                        String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                        a.unescape_value().unwrap().into_owned(),
                    )
                })
                .collect(),
            children: Vec::new(),
        }
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![XmlElem::default()];
    loop {
        match reader.read_event().expect("junit.xml parses") {
            Event::Start(e) => stack.push(elem(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(elem(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().children.pop().unwrap()
}

/// JUnit has no findings: `findings` stays empty.
fn from_junit(xml: &str) -> Said {
    let root = parse_xml(xml);
    let mut verdicts = Verdicts::new();
    let mut not_passed = BTreeSet::new();
    let mut failed_checks = BTreeSet::new();
    // Scenario suites carry their verdict as properties; the run-wide `verdicts` suite (one
    // testcase per verdict) is checked by tests/verdicts.rs.
    for suite in root.children.iter().filter(|c| {
        c.name == "testsuite" && c.attrs.get("name").map(String::as_str) != Some("verdicts")
    }) {
        let scenario = suite.attrs["name"].clone();
        let props: BTreeMap<&str, &str> = suite
            .children
            .iter()
            .filter(|c| c.name == "properties")
            .flat_map(|p| &p.children)
            .map(|p| (p.attrs["name"].as_str(), p.attrs["value"].as_str()))
            .collect();
        let result = props["verdict_result"];
        let (word, note) = result.split_once(" — ").unwrap_or((result, ""));
        verdicts.insert(
            props["verdict"].to_owned(),
            (word.to_owned(), note.to_owned()),
        );
        for case in suite.children.iter().filter(|c| c.name == "testcase") {
            if !case
                .children
                .iter()
                .any(|c| c.name == "failure" || c.name == "error")
            {
                continue;
            }
            not_passed.insert(scenario.clone());
            // `07 expect state`: step 7, kind `expect`, check `state`; a step's own case has
            // no check.
            let name = &case.attrs["name"];
            let (index, rest) = name.split_once(' ').unwrap();
            failed_checks.insert(format!(
                "{scenario}: step {} {rest}",
                index.parse::<usize>().unwrap()
            ));
        }
    }
    Said {
        verdicts,
        not_passed,
        failed_checks,
        findings: BTreeMap::new(),
    }
}

// ------------------------------------------------------------------------------- the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_says_the_same_and_the_page_shows_diff_and_cause() {
    let run = failing_run().await;
    assert_eq!(run.code, Some(1), "exit code\n{}", run.output);

    let report: RunReport = serde_json::from_str(&run.read("report.json")).unwrap();
    let json = from_json(&report);
    // The run really failed where the bug is, and only there.
    assert_eq!(
        json.not_passed,
        BTreeSet::from(["entra-deprovisioning".to_owned()]),
        "{}",
        run.output
    );
    assert!(
        json.failed_checks
            .iter()
            .any(|c| c.starts_with("entra-deprovisioning: step ") && c.ends_with(": state")),
        "{:?}",
        json.failed_checks
    );
    assert_eq!(
        json.verdicts.get("works with Duo"),
        Some(&("PASS".to_owned(), "every request shape inferred".to_owned())),
        "{:?}",
        json.verdicts
    );
    assert_eq!(
        json.verdicts["works with Entra ID (default)"].0, "FAIL",
        "{:?}",
        json.verdicts
    );

    let html = run.read("index.html");
    let md = run.read("summary.md");
    let junit = run.read("junit.xml");
    assert_eq!(from_html(&html), json, "index.html vs report.json");
    assert_eq!(from_markdown(&md), json, "summary.md vs report.json\n{md}");
    // JUnit names a check's case `07 expect state`: the same words without the colon.
    let junit_said = from_junit(&junit);
    let as_junit = |c: &String| {
        let (scenario, rest) = c.split_once(": ").unwrap();
        format!("{scenario}: {}", rest.replace(": ", " "))
    };
    assert_eq!(junit_said.verdicts, json.verdicts, "junit.xml verdicts");
    assert_eq!(
        junit_said.not_passed, json.not_passed,
        "junit.xml failed suites"
    );
    assert_eq!(
        junit_said.failed_checks,
        json.failed_checks.iter().map(as_junit).collect(),
        "junit.xml failed cases"
    );

    // The job summary got the same Markdown, after what was there.
    let step_summary = std::fs::read_to_string(&run.step_summary).unwrap();
    assert_eq!(step_summary, format!("earlier step\n{md}"));
    assert!(md.lines().count() <= 60, "short enough: {md}");

    // The terminal says the same verdicts, inferred note included.
    assert!(
        run.output.contains(
            "works with Duo: PASS (0 of 1 scenarios failed; every request shape inferred)"
        ),
        "{}",
        run.output
    );

    // The page itself: the state diff and the request that wrote the value.
    let state = report.scenarios[0]
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .find(|c| c.name == "state" && c.outcome == Outcome::Failed)
        .unwrap();
    let cause = report.scenarios[0]
        .exchanges
        .iter()
        .find(|x| state.exchanges.contains(&x.id) && x.method == "PATCH")
        .expect("the failed state check cites the PATCH that disabled the user");
    let screenshot = run.dir.path().join("screenshot.png");
    let Some(dom) = chromium(&run.path("index.html"), &screenshot) else {
        run.keep(&[]);
        return;
    };
    run.keep(&[&screenshot]);
    // The diff, as the browser parsed it: the expected and the actual `active`.
    let failure = &dom[dom.find("data-failure=").expect("a failure in the DOM")..];
    assert!(failure.contains("class=\"del\">-"), "a removed diff line");
    assert!(
        failure.contains("\"active\": false") || failure.contains("&quot;active&quot;: false"),
        "the expected value in the diff"
    );
    assert!(
        failure.contains("\"active\": true") || failure.contains("&quot;active&quot;: true"),
        "the actual value in the diff"
    );
    // The causing exchange: its line and its request body with the "False" string.
    assert!(
        failure.contains(&format!("#{} PATCH {}", cause.id, cause.path)),
        "the causing exchange #{} {}",
        cause.id,
        cause.path
    );
    assert!(failure.contains("False"), "the request body that caused it");
    check_screenshot(&screenshot);
}

/// `chromium --headless`: the DOM as rendered, and a screenshot; `None` when there is no
/// Chromium here.
fn chromium(page: &Path, screenshot: &Path) -> Option<String> {
    let Some(bin) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    else {
        println!(
            "SKIPPED the headless Chromium half: no chromium on PATH (apt-get install -y chromium)"
        );
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let common = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let dom = bounded(Command::new(bin).args(&common).arg("--dump-dom").arg(&url));
    let dom = String::from_utf8_lossy(&dom).into_owned();
    assert!(dom.contains("</html>"), "chromium rendered nothing:\n{dom}");
    bounded(
        Command::new(bin)
            .args(&common)
            .arg(format!("--screenshot={}", screenshot.display()))
            .arg("--window-size=1280,2000")
            .arg("--hide-scrollbars")
            .arg(&url),
    );
    Some(dom)
}

/// Runs `cmd` for at most 90 s; its stdout.
fn bounded(cmd: &mut Command) -> Vec<u8> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// A 1280×2000 image of a page, not a blank one: many colours, and the top is the red FAIL
/// banner with white text on it.
fn check_screenshot(path: &Path) {
    let file = std::fs::File::open(path).expect("chromium wrote the screenshot");
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    let pixel = |x: u32, y: u32| {
        let at = (y as usize * info.width as usize + x as usize) * channels;
        (buf[at], buf[at + 1], buf[at + 2])
    };
    let mut colours = BTreeSet::new();
    for y in (0..info.height).step_by(7) {
        for x in (0..info.width).step_by(7) {
            colours.insert(pixel(x, y));
        }
    }
    assert!(
        colours.len() > 50,
        "a near-blank screenshot: {} colours",
        colours.len()
    );
    // The banner: #cf222e behind the headline.
    let (r, g, b) = pixel(4, 4);
    assert!(
        r > 180 && g < 80 && b < 80,
        "the top of a failing run's page is red, got {:?}",
        (r, g, b)
    );
    let banner_white = (0..1280)
        .step_by(2)
        .flat_map(|x| (10..60).map(move |y| (x, y)))
        .filter(|(x, y)| pixel(*x, *y) == (255, 255, 255))
        .count();
    assert!(banner_white > 100, "the banner has white text on it");
}
