//! `salesflow discover`: the new files of a landing directory, their feeds and contracts, and
//! the files held back, against the real PostgreSQL.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;

/// `salesflow discover LANDING --json ARGS` (contracts from `contracts`), with its log.
fn discover(
    db: &TestDb,
    landing: &Path,
    contracts: &Path,
    args: &[&str],
) -> (serde_json::Value, String) {
    let output = salesflow_command(&["discover", "--json"])
        .arg(landing)
        .arg("--contracts-dir")
        .arg(contracts)
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "salesflow=info")
        .output()
        .expect("run salesflow discover");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let found = serde_json::from_slice(&output.stdout).expect("discover --json prints JSON");
    (found, stderr(&output))
}

fn names(found: &serde_json::Value) -> Vec<String> {
    found["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["name"].as_str().unwrap().to_string())
        .collect()
}

fn file<'a>(found: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    found["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed in {found}"))
}

fn set_modified(path: &Path, seconds: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap();
}

#[test]
fn new_files_are_listed_once_by_content_and_loaded_ones_are_not() {
    let db = TestDb::new("discover_new");
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir(&landing).unwrap();
    let a = generated(&landing, "a.csv", &["--rows", "5", "--seed", "1"]);
    std::fs::copy(&a, landing.join("a-resent.csv")).unwrap(); // same bytes, another name
    let b = generated(&landing, "b.csv", &["--rows", "5", "--seed", "2"]);
    generated(&landing, "c.csv.gz", &["--rows", "5", "--seed", "3"]);
    std::fs::write(landing.join(".incoming.csv"), "SaleID\n4\n").unwrap(); // still being written
    std::fs::write(landing.join("d.csv.part"), "SaleID\n5\n").unwrap(); // a partial upload
    std::fs::write(landing.join("notes.txt"), "not data").unwrap();
    let contracts = dir.path().join("contracts");

    // A fresh database: everything is new; a file with the bytes of another is listed once.
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), ["a-resent.csv", "b.csv", "c.csv.gz"]);
    assert_eq!(found["same_content"], 1);
    let listed = file(&found, "b.csv");
    assert!(Path::new(listed["path"].as_str().unwrap()).is_absolute());
    assert_eq!(listed["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(listed["feed"], serde_json::Value::Null);
    assert_eq!(listed["contract"], serde_json::Value::Null);
    assert_eq!(listed["held"], serde_json::Value::Null);

    db.salesflow_ok(&["ingest", &a, &b], 0);
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), ["c.csv.gz"]);
    assert_eq!(found["already_loaded"], 3);

    generated(&landing, "e.csv", &["--rows", "5", "--seed", "5"]);
    let (found, _) = discover(&db, &landing, &contracts, &["--max-files", "1"]);
    assert_eq!(names(&found), ["c.csv.gz"]);
    assert_eq!(found["deferred"], 1);
}

#[test]
fn a_loaded_file_that_did_not_change_is_not_hashed_again() {
    let db = TestDb::new("discover_unchanged");
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir(&landing).unwrap();
    let loaded = generated(&landing, "loaded.csv", &["--rows", "5", "--seed", "1"]);
    set_modified(Path::new(&loaded), 1_700_000_000);
    db.salesflow_ok(&["ingest", &loaded], 0);
    let contracts = dir.path().join("contracts");

    // Its path, size and modification time are the ledger's: known without reading it.
    let (found, log) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), Vec::<String>::new());
    assert!(log.contains("already loaded, unchanged since"), "{log}");

    // Touched: read again, and still loaded by its content.
    set_modified(Path::new(&loaded), 1_700_000_100);
    let (found, log) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), Vec::<String>::new());
    assert_eq!(found["already_loaded"], 1);
    assert!(!log.contains("unchanged since"), "{log}");

    // Rewritten with other bytes: new.
    generated(&landing, "loaded.csv", &["--rows", "5", "--seed", "9"]);
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), ["loaded.csv"]);
}

#[test]
fn files_whose_bytes_failed_on_data_quality_are_held_until_something_changes() {
    let db = TestDb::new("discover_held");
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir(&landing).unwrap();
    let contracts = dir.path().join("contracts");
    let invalid = landing.join("invalid.csv");
    std::fs::write(&invalid, "no header here\n1,2,3\n").unwrap();
    // 30 of 200 rows rejected (15 %): rolled back under a 10 % limit.
    let over = generated(
        &landing,
        "over.csv",
        &["--rows", "200", "--defect-rate", "0.5", "--seed", "1"],
    );
    db.salesflow_ok(&["ingest", invalid.to_str().unwrap()], 3);
    db.salesflow_ok(&["ingest", &over, "--max-reject-rate", "0.1"], 3);

    let (found, _) = discover(&db, &landing, &contracts, &["--max-reject-rate", "0.1"]);
    assert_eq!(names(&found), ["invalid.csv", "over.csv"]);
    assert_eq!(
        file(&found, "invalid.csv")["held"]["failure"],
        "invalid_file"
    );
    let held = &file(&found, "over.csv")["held"];
    assert_eq!(held["failure"], "reject_rate_exceeded");
    assert_eq!(held["rows_rejected"], 30);
    assert!(held["error"].as_str().unwrap().contains("reject"), "{held}");

    // A limit at or above its reject rate, or none, lets it load again.
    for args in [&["--max-reject-rate", "0.2"][..], &[]] {
        let (found, _) = discover(&db, &landing, &contracts, args);
        assert_eq!(file(&found, "over.csv")["held"], serde_json::Value::Null);
        assert_eq!(
            file(&found, "invalid.csv")["held"]["failure"],
            "invalid_file"
        );
    }

    // Other bytes are new, and the old verdict no longer applies.
    std::fs::write(&invalid, std::fs::read(reference_csv()).unwrap()).unwrap();
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(file(&found, "invalid.csv")["held"], serde_json::Value::Null);
}

#[test]
fn each_feed_folder_is_judged_by_its_own_contract_and_a_new_contract_releases_held_files() {
    let db = TestDb::new("discover_feeds");
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    let contracts = dir.path().join("contracts");
    for folder in [
        &landing,
        &landing.join("acme"),
        &landing.join("broken"),
        &contracts,
    ] {
        std::fs::create_dir_all(folder).unwrap();
    }
    generated(&landing, "top.csv", &["--rows", "5", "--seed", "1"]);
    let acme = landing.join("acme").join("acme.csv");
    // The reference data with `;` between fields: not a sales feed to the built-in contract.
    let semicolons = std::fs::read_to_string(reference_csv())
        .unwrap()
        .lines()
        .map(|line| line.replace(',', ";"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&acme, semicolons).unwrap();
    generated(
        &landing.join("broken"),
        "b.csv",
        &["--rows", "5", "--seed", "2"],
    );
    std::fs::write(contracts.join("broken.toml"), "this is = not a contract").unwrap();

    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), ["top.csv", "acme.csv", "b.csv"]);
    assert_eq!(file(&found, "top.csv")["feed"], serde_json::Value::Null);
    assert_eq!(file(&found, "acme.csv")["feed"], "acme");
    assert_eq!(
        file(&found, "acme.csv")["contract"],
        serde_json::Value::Null
    );
    let broken = file(&found, "b.csv");
    assert_eq!(broken["feed"], "broken");
    let error = broken["contract_error"].as_str().unwrap();
    assert!(
        error.contains("feed broken") && error.contains("broken.toml"),
        "{error}"
    );

    // Under the built-in contract the feed's file is invalid, and held.
    let acme_path = acme.to_str().unwrap();
    db.salesflow_ok(&["ingest", "--feed", "acme", acme_path], 3);
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(file(&found, "acme.csv")["held"]["failure"], "invalid_file");

    // The feed's contract, committed: the file is judged by it, no longer held, and loads.
    let contract = contracts.join("acme.toml");
    let sniffed = salesflow_command(&["sniff", acme_path]).output().unwrap();
    std::fs::write(&contract, &sniffed.stdout).unwrap();
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    let listed = file(&found, "acme.csv");
    assert_eq!(listed["contract"], contract.to_str().unwrap());
    assert_eq!(listed["held"], serde_json::Value::Null);
    let contract_arg = contract.to_str().unwrap();
    db.salesflow_ok(
        &[
            "ingest",
            "--feed",
            "acme",
            "--contract",
            contract_arg,
            acme_path,
        ],
        0,
    );
    let output = db.salesflow_ok(&["status", "--json", "--limit", "1"], 0);
    let loads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(loads[0]["feed"], "acme");
    assert_eq!(loads[0]["counts"]["loaded"], 1004);
    let (found, _) = discover(&db, &landing, &contracts, &[]);
    assert_eq!(names(&found), ["top.csv", "b.csv"]);
}

#[test]
fn a_missing_landing_directory_is_a_usage_error() {
    let db = TestDb::new("discover_missing");
    let output = db.salesflow_ok(&["discover", "/no/such/landing"], 2);
    assert!(
        stderr(&output).contains("landing directory /no/such/landing does not exist"),
        "{}",
        stderr(&output)
    );
}
