//! The HTML report in a real browser: headless Chromium (Debian package
//! `chromium`, installed by scripts/test) opens the page `dockhard check
//! --snapshot tests/fixtures/snapshots/sample.json --profile all --format
//! html` writes, and the tests check that it renders (chart and findings in
//! the DOM after the script ran), that a screenshot is taken (kept as the CI
//! artifact `target/artifacts/report.png`, beside `report.html`), that the
//! filter driven by the URL fragment hides what it should, and that the
//! sample's hostile label (`<script>alert('x')</script>`) stays text.
//!
//! They are `#[ignore]`d (a plain `cargo test` reports them ignored) and
//! scripts/test runs them; without Chromium they fail.
//! Every Chromium run has its own profile directory and a 60 s timeout.

use crate::support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const SAMPLE: &str = "tests/fixtures/snapshots/sample.json";

fn chromium(test: &str) -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{test}` cannot run: chromium not found (Debian package `chromium`; scripts/test \
                 installs it)"
            )
        })
}

/// `target/tmp/report_html`, emptied once per test run.
fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_html");
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        d
    })
}

/// `target/artifacts`, what CI keeps.
fn artifacts_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let d = target.join("artifacts");
    fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn dockhard(format: &str, output: &Path) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    let out = Command::new(env!("CARGO_BIN_EXE_dockhard"))
        .arg("check")
        .arg("--snapshot")
        .arg(&sample)
        .args(["--profile", "all", "--format", format, "-o"])
        .arg(output)
        .output()
        .unwrap_or_else(|e| panic!("cannot run dockhard: {e}"));
    // The sample has failures: exit code 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "dockhard check --format {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The page, written once: (path, the same report as JSON).
fn report() -> &'static (PathBuf, serde_json::Value) {
    static REPORT: OnceLock<(PathBuf, serde_json::Value)> = OnceLock::new();
    REPORT.get_or_init(|| {
        let html = work_dir().join("report.html");
        dockhard("html", &html);
        let json = work_dir().join("report.json");
        dockhard("json", &json);
        let text = fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("report.json: {e}"));
        let _ = fs::copy(&html, artifacts_dir().join("report.html"));
        (html, v)
    })
}

/// (status, severity) of every result of the JSON report.
fn results(report: &serde_json::Value) -> Vec<(String, String)> {
    report["daemons"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["results"].as_array().into_iter().flatten())
        .map(|r| {
            (
                r["status"].as_str().unwrap_or("?").to_string(),
                r["severity"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// Run headless Chromium with `args` then `url`; its standard output.
/// One run at a time (two cores), each with a fresh profile directory.
fn run_chromium(chromium: &Path, name: &str, args: &[String], url: &str) -> String {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = work_dir().join(name);
    let profile = dir.join("profile");
    fs::create_dir_all(&profile).unwrap_or_else(|e| panic!("{}: {e}", profile.display()));
    let stdout_path = dir.join("stdout");
    let stderr_path = dir.join("stderr");
    let file = |p: &Path| fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(file(&stdout_path))
        .stderr(file(&stderr_path))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium ({name}) did not finish in {TIMEOUT:?} (a JavaScript dialog would \
                     block it); stderr:\n{}",
                    tail(&stderr_path)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for chromium: {e}"),
        }
    };
    assert!(
        status.success(),
        "chromium ({name}) failed: {status}; stderr:\n{}",
        tail(&stderr_path)
    );
    fs::read_to_string(&stdout_path).unwrap_or_else(|e| panic!("{}: {e}", stdout_path.display()))
}

fn tail(p: &Path) -> String {
    let s = fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn file_url(p: &Path, fragment: &str) -> String {
    let abs = fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    format!("file://{}{fragment}", abs.display())
}

fn dump_dom(chromium: &Path, name: &str, fragment: &str) -> String {
    let (html, _) = report();
    let dom = run_chromium(
        chromium,
        name,
        &["--dump-dom".to_string()],
        &file_url(html, fragment),
    );
    let _ = fs::write(work_dir().join(format!("{name}.dom.html")), &dom);
    dom
}

/// The start tags of the findings, as Chromium serialized them.
fn finding_tags(dom: &str) -> Vec<&str> {
    dom.match_indices("<details class=\"finding\"")
        .map(|(i, _)| {
            let rest = &dom[i..];
            &rest[..rest.find('>').unwrap_or(rest.len())]
        })
        .collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    tag.find(&key)
        .map(|i| {
            let v = &tag[i + key.len()..];
            &v[..v.find('"').unwrap_or(v.len())]
        })
        .unwrap_or("")
}

fn is_hidden(tag: &str) -> bool {
    tag.contains(" hidden=\"\"") || tag.ends_with(" hidden")
}

#[test]
#[ignore = "needs headless Chromium (scripts/test installs it); scripts/test runs it"]
fn html_report_renders_in_chromium() {
    let chromium = chromium("html_report_renders_in_chromium");
    let (_, json) = report();
    let want = results(json);
    let dom = dump_dom(&chromium, "render", "");
    // The chart.
    assert!(dom.contains("<svg class=\"chart\""), "no chart in the DOM");
    assert!(dom.contains("<rect class=\"st-fail\""), "no fail bar");
    assert!(dom.contains("Results by severity and status"));
    // Every finding, none hidden without a filter.
    let tags = finding_tags(&dom);
    assert_eq!(tags.len(), want.len(), "findings in the DOM");
    assert!(
        tags.iter().all(|t| !is_hidden(t)),
        "hidden without a filter"
    );
    for rule in [
        "daemon.remote-api-auth",
        "containers.privileged",
        "daemon.icc",
    ] {
        assert!(
            dom.contains(&format!("<code class=\"rule\">{rule}</code>")),
            "{rule} missing"
        );
    }
    // The script ran: the filter is shown and counts.
    assert!(
        dom.contains("<div id=\"filters\" class=\"filters\">"),
        "the filter is still hidden: did the script run?"
    );
    let n = want.len();
    assert!(
        dom.contains(&format!("{n} of {n} results shown")),
        "no count of shown results"
    );
}

#[test]
#[ignore = "needs headless Chromium (scripts/test installs it); scripts/test runs it"]
fn html_report_screenshot() {
    let chromium = chromium("html_report_screenshot");
    let (html, _) = report();
    let png = work_dir().join("report.png");
    run_chromium(
        &chromium,
        "screenshot",
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
        &file_url(html, ""),
    );
    let data = fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        data.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
    let be32 = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0)
    };
    assert_eq!((be32(16), be32(20)), (1280, 2000), "screenshot size");
    // A blank page compresses to a few kilobytes; this one has text, a
    // chart and coloured badges.
    assert!(
        data.len() > 60_000,
        "screenshot is only {} bytes: blank?",
        data.len()
    );
    let kept = artifacts_dir().join("report.png");
    fs::copy(&png, &kept).unwrap_or_else(|e| panic!("{}: {e}", kept.display()));
    support::loud(&format!(
        "screenshot of the HTML report: {}",
        kept.display()
    ));
}

#[test]
#[ignore = "needs headless Chromium (scripts/test installs it); scripts/test runs it"]
fn html_report_filter_from_url_fragment() {
    let chromium = chromium("html_report_filter_from_url_fragment");
    let (_, json) = report();
    let want = results(json);
    for (name, fragment, keep) in [
        (
            "filter-fail",
            "#status=fail",
            &(|st: &str, _: &str| st == "fail") as &dyn Fn(&str, &str) -> bool,
        ),
        (
            "filter-fail-error-critical-high",
            "#status=fail,error&severity=critical,high",
            &|st: &str, sv: &str| {
                matches!(st, "fail" | "error") && matches!(sv, "critical" | "high")
            },
        ),
    ] {
        let dom = dump_dom(&chromium, name, fragment);
        let tags = finding_tags(&dom);
        assert_eq!(tags.len(), want.len(), "{fragment}: findings in the DOM");
        let mut shown = 0;
        for t in &tags {
            let (st, sv) = (attr(t, "data-status"), attr(t, "data-severity"));
            let should = keep(st, sv);
            assert_eq!(
                !is_hidden(t),
                should,
                "{fragment}: {st}/{sv} finding shown={}: {t}",
                !is_hidden(t)
            );
            shown += usize::from(should);
        }
        let expected = want.iter().filter(|(st, sv)| keep(st, sv)).count();
        assert_eq!(shown, expected, "{fragment}");
        assert!(
            expected > 0 && expected < want.len(),
            "{fragment}: {expected}"
        );
        assert!(
            dom.contains(&format!("{expected} of {} results shown", want.len())),
            "{fragment}: count of shown results"
        );
    }
}

#[test]
#[ignore = "needs headless Chromium (scripts/test installs it); scripts/test runs it"]
fn html_report_hostile_label_stays_inert() {
    let chromium = chromium("html_report_hostile_label_stays_inert");
    // An alert() would block --dump-dom until the timeout: finishing at all
    // says no dialog opened.
    let dom = dump_dom(&chromium, "hostile", "");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "a <script> element other than the page's own"
    );
    assert!(
        !dom.contains("<script>alert"),
        "the hostile label became markup"
    );
    assert!(
        dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "the hostile label is not shown as text"
    );
    // The page's policy is there to stop anything an escaping bug let in.
    assert!(dom.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(dom.contains("default-src 'none'"));
}
