//! `salesflow report`: the data-quality page, written by the real binary over loads in the real
//! PostgreSQL, checked as text, for escaping, and in a real headless browser (Chromium, which
//! `scripts/ensure-chromium` installs for `make test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Two generated feeds with rejects after the reference file; load 2 is over the gate's 5 %
/// and accepted, then a publication through load 1.
fn loads_with_rejects(db: &TestDb, dir: &Path) -> [String; 2] {
    let some = generated(
        dir,
        "vendor-march.csv",
        &["--rows", "400", "--defect-rate", "0.2", "--seed", "7"],
    );
    let few = generated(
        dir,
        "vendor-april.csv",
        &[
            "--rows",
            "300",
            "--defect-rate",
            "0.05",
            "--seed",
            "9",
            "--first-sale-id",
            "5000",
        ],
    );
    db.salesflow_ok(&["ingest", &reference_csv(), &some, &few], 0);
    db.salesflow_ok(&["publish", "--through", "1", "--by", "nightly run"], 0);
    db.salesflow_ok(
        &[
            "accept",
            "2",
            "--reason",
            "vendor confirmed the test orders",
        ],
        0,
    );
    [some, few]
}

/// Runs `salesflow report ARGS -o DIR/report.html --json`; returns the page and the JSON.
fn report(db: &TestDb, dir: &Path, args: &[&str]) -> (String, serde_json::Value) {
    let path = dir.join("report.html");
    let mut all = vec!["report", "-o", path.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let output = db.salesflow_ok(&all, 0);
    let written: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("report --json prints JSON");
    assert_eq!(written["path"], path.to_str().unwrap());
    (
        std::fs::read_to_string(&path).expect("page written"),
        written,
    )
}

fn distinct(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .query(sql, &[])
        .expect(sql)
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn the_page_shows_every_load_its_rejects_and_the_gate() {
    let db = TestDb::new("report");
    let dir = tempfile::tempdir().unwrap();
    loads_with_rejects(&db, dir.path());

    let (page, written) = report(&db, dir.path(), &[]);
    assert_eq!(written["loads"], 3);
    assert_eq!(written["first_load_id"], 1);
    assert_eq!(written["last_load_id"], 3);
    assert_eq!(written["threshold"], 0.05);
    for file in [
        "generated-sales-data.csv",
        "vendor-march.csv",
        "vendor-april.csv",
    ] {
        assert!(page.contains(file), "{file} missing");
    }
    for load_id in 1..=3 {
        assert!(
            page.contains(&format!("<td class=\"id\">{load_id}</td>")),
            "load {load_id} missing"
        );
    }
    // Every reject reason and every repair flag of the loads, by name.
    let reasons = distinct(
        &db,
        "select distinct unnest(reasons) from raw.sales_rejects order by 1",
    );
    let flags = distinct(
        &db,
        "select distinct unnest(dq_flags) from raw.sales order by 1",
    );
    assert!(
        reasons.len() >= 3 && !flags.is_empty(),
        "{reasons:?} {flags:?}"
    );
    for code in reasons.iter().chain(&flags) {
        assert!(page.contains(code.as_str()), "{code} missing");
    }
    // The gate's threshold, the acceptance, the publication and the quarantined rows' text.
    assert!(page.contains("quality gate 5.00%"));
    assert!(page.contains("vendor confirmed the test orders"));
    assert!(page.contains("publication 1 through load 1"));
    assert!(page.contains("nightly run"));
    let raw: String = db.value(
        "select raw_record from raw.sales_rejects where load_id = 3 order by source_line limit 1",
    );
    let escaped = raw
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    assert!(page.contains(&escaped), "{raw}");
    assert!(!page.contains("<script"), "the page needs no script");

    // The newest load only: the others are not on the page.
    let (page, written) = report(&db, dir.path(), &["--loads", "1"]);
    assert_eq!(written["loads"], 1);
    assert!(page.contains("vendor-april.csv"));
    assert!(!page.contains("vendor-march.csv"));
    // --since: every load started since that day; none in the future.
    let (_, written) = report(&db, dir.path(), &["--since", "2000-01-01"]);
    assert_eq!(written["loads"], 3);
    let (page, written) = report(&db, dir.path(), &["--since", "2999-01-01"]);
    assert_eq!(written["loads"], 0);
    assert!(page.contains("no load in this range"));
    // Both at once is a usage error.
    let out = dir.path().join("x.html");
    db.salesflow_ok(
        &[
            "report",
            "--since",
            "2000-01-01",
            "--loads",
            "3",
            "-o",
            out.to_str().unwrap(),
        ],
        2,
    );
}

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

#[test]
fn values_from_the_data_come_out_inert() {
    let db = TestDb::new("report_xss");
    let dir = tempfile::tempdir().unwrap();
    // The file's own path carries markup too: a folder `<script>alert(1)<` holding
    // `script>.csv` makes the path `.../<script>alert(1)</script>.csv`.
    let folder = dir.path().join("<script>alert(1)<");
    std::fs::create_dir(&folder).unwrap();
    let path = folder.join("script>.csv");
    let csv_field = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let header = "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,Channel,\
                  Location,Quantity,Price,Date";
    let rows = [
        // Loaded, with the markup in text columns.
        format!(
            "1,1,{},{},Tools,1,R,Offline,{},1,10,2024-01-02",
            csv_field(SCRIPT),
            csv_field(IMG),
            csv_field(SCRIPT)
        ),
        // Rejected: the message quotes the quantity and the price.
        format!(
            "2,1,Saw,B,Tools,1,R,Online,,{},10,2024-01-02",
            csv_field(SCRIPT)
        ),
        format!(
            "3,1,Saw,B,Tools,1,R,Online,,1,{},2024-01-02",
            csv_field(IMG)
        ),
        // Rejected for its field count, with markup in its text.
        format!("4,{SCRIPT},{}", csv_field(IMG)),
        "5,1,Saw,B,Tools,1,R,Online,,1,10,2024-01-03".to_string(),
    ];
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let path = path.to_str().unwrap();
    assert!(path.ends_with(&format!("/{SCRIPT}.csv")), "{path}");
    db.salesflow_ok(&["ingest", path], 0);
    assert_eq!(db.ledger(1).1[5], 3, "three rows quarantined");
    db.salesflow_ok(&["accept", "1", "--reason", IMG], 0);
    db.salesflow_ok(&["accept", "1", "--revoke", "--reason", SCRIPT], 0);
    db.salesflow_ok(&["publish", "--through", "0", "--by", SCRIPT], 0);

    let (page, _) = report(&db, dir.path(), &[]);
    let lower = page.to_lowercase();
    assert!(!lower.contains("<script"), "unescaped <script");
    assert!(!lower.contains("<img"), "unescaped <img");
    // The markup is there, as text.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // Every tag on the page is one the page itself writes.
    let allowed = [
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "footer",
        "section", "div", "h1", "h2", "p", "span", "b", "i", "code", "table", "thead", "tbody",
        "tr", "th", "td", "svg", "rect", "line", "text",
    ];
    for tag in lower.split('<').skip(1) {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        assert!(
            allowed.contains(&name.as_str()),
            "unexpected tag <{tag:.40}"
        );
    }
}

/// The browser: $CHROMIUM, else `chromium` on the PATH.
fn chromium() -> String {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&browser)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "{browser} not found: run scripts/ensure-chromium (make test does), or set CHROMIUM"
    );
    browser
}

/// Runs the headless browser on `page` with `args`, killed after a minute; returns its
/// stdout and stderr.
fn headless(browser: &str, profile: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            // Root, or a container without user namespaces, has no sandbox to offer.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the browser");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = Instant::now();
    while child.try_wait().expect("wait for the browser").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

#[test]
fn a_real_browser_renders_the_page() {
    let browser = chromium();
    let db = TestDb::new("report_browser");
    let dir = tempfile::tempdir().unwrap();
    loads_with_rejects(&db, dir.path());
    let (page, _) = report(&db, dir.path(), &[]);
    assert!(!page.contains("<script"), "the page needs no script");
    let html: PathBuf = dir.path().join("report.html");
    let profile = dir.path().join("profile");

    // The DOM the browser built holds the loads and the charts.
    let (dom, log) = headless(&browser, &profile, &html, &["--dump-dom"]);
    for marker in [
        "<td class=\"id\">1</td>",
        "<td class=\"id\">3</td>",
        "vendor-march.csv",
        "quality gate 5.00%",
        "<svg class=\"chart\"",
        "<svg class=\"heat\"",
    ] {
        assert!(
            dom.contains(marker),
            "{marker} not in the DOM:\n{dom:.2000}"
        );
    }
    assert!(
        !log.contains("Uncaught") && !log.contains(":CONSOLE"),
        "the browser logged a script error or a console message:\n{log}"
    );

    // A screenshot with something on it: many colours, a fair share of it not white.
    let png = dir.path().join("report.png");
    let (_, log) = headless(
        &browser,
        &profile,
        &html,
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", png.display()),
        ],
    );
    assert!(png.is_file(), "no screenshot:\n{log}");
    let (width, height, pixels) = decode_png(&std::fs::read(&png).unwrap());
    assert_eq!((width, height), (1280, 1600));
    let mut colours = std::collections::HashSet::new();
    let mut not_white = 0usize;
    for rgb in &pixels {
        colours.insert(*rgb);
        if rgb.iter().any(|&c| c < 240) {
            not_white += 1;
        }
    }
    let share = not_white as f64 / pixels.len() as f64;
    assert!(colours.len() > 100, "{} colours only", colours.len());
    assert!(
        share > 0.05,
        "{:.1}% of the pixels are not white",
        100.0 * share
    );
}

/// The pixels of a PNG as Chromium writes a screenshot (8-bit RGB or RGBA, not interlaced):
/// (width, height, RGB of each pixel). Inflates the IDAT chunks with flate2 and undoes each
/// scanline's filter (PNG specification, section 9).
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    use std::io::Read;
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut at, mut header, mut data) = (8, None, Vec::new());
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..at + 8 + length];
        match &bytes[at + 4..at + 8] {
            b"IHDR" => header = Some(body.to_vec()),
            b"IDAT" => data.extend_from_slice(body),
            _ => {}
        }
        at += 12 + length;
    }
    let header = header.expect("an IHDR chunk");
    let number = |range: std::ops::Range<usize>| {
        u32::from_be_bytes(header[range].try_into().unwrap()) as usize
    };
    let (width, height) = (number(0..4), number(4..8));
    let channels = match (header[8], header[9], header[12]) {
        (8, 2, 0) => 3,
        (8, 6, 0) => 4,
        other => panic!("unexpected PNG format (depth, colour type, interlace) {other:?}"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..])
        .read_to_end(&mut raw)
        .expect("inflate the image data");
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1), "image data size");
    let mut previous = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for line in raw.chunks(stride + 1) {
        let (filter, line) = (line[0], &line[1..]);
        let mut current = vec![0u8; stride];
        for i in 0..stride {
            let left = if i >= channels {
                current[i - channels]
            } else {
                0
            };
            let up = previous[i];
            let up_left = if i >= channels {
                previous[i - channels]
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => {
                    let p = i16::from(left) + i16::from(up) - i16::from(up_left);
                    let (pa, pb, pc) = (
                        (p - i16::from(left)).abs(),
                        (p - i16::from(up)).abs(),
                        (p - i16::from(up_left)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        up_left
                    }
                }
                other => panic!("unknown PNG filter {other}"),
            };
            current[i] = line[i].wrapping_add(predictor);
        }
        pixels.extend(
            current
                .chunks(channels)
                .map(|pixel| [pixel[0], pixel[1], pixel[2]]),
        );
        previous = current;
    }
    (width, height, pixels)
}
