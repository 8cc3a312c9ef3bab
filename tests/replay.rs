//! `salesflow replay`: quarantined rows judged again after a contract fix, merged without ever
//! replacing a later file's word on a sale.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

const HEADER: &str = "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,\
                      Channel,Location,Quantity,Price,Date";

/// A sale line: id, quantity, price and date as written.
fn sale(id: i64, quantity: i64, price: &str, date: &str) -> String {
    format!("{id},1,Laptop,BrandA,Electronics,1,TechGear,Online,,{quantity},{price},{date}")
}

/// Writes DIR/NAME with the header and `lines`; returns its path.
fn feed(dir: &Path, name: &str, lines: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    path.display().to_string()
}

/// The built-in contract with day-first dates (`01.03.2024`) accepted too.
fn fixed_contract(dir: &Path) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/sales.toml"))
            .unwrap();
    let fixed = text.replacen(
        "formats = [\"%Y-%m-%d\", ",
        "formats = [\"%Y-%m-%d\", \"%d.%m.%Y\", ",
        1,
    );
    assert_ne!(fixed, text, "the contract's date formats moved");
    let path = dir.join("fixed.toml");
    std::fs::write(&path, fixed).unwrap();
    path.display().to_string()
}

/// The ledger's counts of a load with superseded: [read, loaded, updated, unchanged,
/// duplicate, superseded, rejected], and whether they add up.
fn counts(db: &TestDb, load_id: i64) -> [i64; 7] {
    let row = db
        .client()
        .query_one(
            "select rows_read, rows_loaded, rows_updated, rows_unchanged, rows_duplicate,
                    rows_superseded, rows_rejected
             from salesflow.loads where load_id = $1",
            &[&load_id],
        )
        .unwrap();
    let counts: [i64; 7] = std::array::from_fn(|i| row.get(i));
    assert_eq!(counts[0], counts[1..].iter().sum::<i64>(), "{counts:?}");
    counts
}

/// Everything a replay may change, as text: the sales, their keys, the quarantine, the
/// outcomes and the ledger.
fn state(db: &TestDb) -> Vec<String> {
    [
        "select sale_id, price::text, sale_date::text, load_id, origin_load_id, source_line
         from raw.sales order by sale_id",
        "select sale_id, sale_date::text, row_hash, load_id, origin_load_id, origin_line
         from raw.sale_keys order by sale_id",
        "select load_id, source_line, reasons::text, message from raw.sales_rejects
         order by load_id, source_line",
        "select replay_load_id, load_id, source_line, outcome from raw.sales_replays
         order by 1, 2, 3",
        "select load_id, status, kind, rows_read from salesflow.loads order by load_id",
    ]
    .iter()
    .map(|sql| {
        let mut text = String::new();
        for message in db.client().simple_query(sql).unwrap() {
            if let postgres::SimpleQueryMessage::Row(row) = message {
                let cells: Vec<&str> = (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL"))
                    .collect();
                text.push_str(&cells.join("|"));
                text.push('\n');
            }
        }
        text
    })
    .collect()
}

/// (price, sale_date, load_id, origin_load_id) of a stored sale.
fn stored(db: &TestDb, sale_id: i64) -> (String, String, i64, Option<i64>) {
    let row = db
        .client()
        .query_one(
            "select price::text, sale_date::text, load_id, origin_load_id from raw.sales
             where sale_id = $1",
            &[&sale_id],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

fn outcomes(db: &TestDb, replay: i64) -> Vec<(i64, String)> {
    db.client()
        .query(
            "select sale_id, outcome from raw.sales_replays where replay_load_id = $1
             order by load_id, source_line",
            &[&replay],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get::<_, Option<i64>>(0).unwrap_or(-1), row.get(1)))
        .collect()
}

#[test]
fn rows_rejected_for_a_date_format_arrive_after_the_contract_learns_it() {
    let db = TestDb::new("replay_fix");
    let dir = tempfile::tempdir().unwrap();
    let path = feed(
        dir.path(),
        "dates.csv",
        &[
            sale(1, 1, "100.00", "2024-03-01"),
            sale(2, 2, "250.50", "01.03.2024"),
            sale(3, 3, "USD 75.25", "28.02.2025"),
            sale(4, -1, "10.00", "02.03.2024"),
        ],
    );
    db.salesflow_ok(&["ingest", &path], 0);
    assert_eq!(counts(&db, 1), [4, 1, 0, 0, 0, 0, 3]);
    let contract = fixed_contract(dir.path());
    // 3 of 4 rows in quarantine: the quality gate holds the load back.
    let gate = |code| {
        let output = db.salesflow_ok(&["gate", "--json", "--max-reject-rate", "0.3"], code);
        let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        verdict["loads"][0].clone()
    };
    let held = gate(3);
    assert_eq!(
        (held["verdict"].as_str(), held["rows_rejected"].as_u64()),
        (Some("held"), Some(3))
    );

    // A dry run says what would happen and changes nothing, not even the ledger.
    let before = state(&db);
    let report = dir.path().join("dry.json");
    db.salesflow_ok(
        &[
            "replay",
            "1",
            "--contract",
            &contract,
            "--dry-run",
            "--report-json",
            report.to_str().unwrap(),
        ],
        0,
    );
    let json = json_report(&report);
    assert_eq!(json["load_id"], serde_json::Value::Null);
    assert_eq!(json["counts"]["loaded"], 2);
    assert_eq!(json["counts"]["rejected"], 1);
    assert_eq!(state(&db), before);

    let report = dir.path().join("replay.json");
    let output = db.salesflow_ok(
        &[
            "replay",
            "1",
            "--contract",
            &contract,
            "--report-json",
            report.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        stdout(&output).contains("quantity_positive 1"),
        "{}",
        stdout(&output)
    );
    let json = json_report(&report);
    assert_eq!(json["load_id"], 2);
    assert_eq!(json["replays"], serde_json::json!([1]));
    // read = loaded + updated + unchanged + duplicate + superseded + rejected
    assert_eq!(counts(&db, 2), [3, 2, 0, 0, 0, 0, 1]);
    assert_eq!(
        counts(&db, 1),
        [4, 1, 0, 0, 0, 0, 3],
        "the original load's counts stay"
    );
    let ledger = db
        .client()
        .query_one(
            "select kind, replays, l.contract_sha256 = c.sha256 and c.text like '%\\%d.\\%m.\\%Y%'
             from salesflow.loads l join salesflow.contracts c on c.sha256 = l.contract_sha256
             where load_id = 2",
            &[],
        )
        .unwrap();
    assert_eq!(ledger.get::<_, String>(0), "replay");
    assert_eq!(ledger.get::<_, Vec<i64>>(1), [1]);
    assert!(
        ledger.get::<_, bool>(2),
        "the replay records the contract that judged it"
    );

    // The values are those the file meant, carried by the replay's load, from load 1's lines.
    assert_eq!(
        stored(&db, 2),
        ("250.50".into(), "2024-03-01".into(), 2, Some(1))
    );
    assert_eq!(
        stored(&db, 3),
        ("75.25".into(), "2025-02-28".into(), 2, Some(1))
    );
    assert_eq!(
        db.value::<String>("select currency from raw.sales where sale_id = 3"),
        "USD"
    );
    assert_eq!(db.count("select count(*) from raw.sale_keys"), 3);
    // The row that fails again stays quarantined; the others left with their outcome kept.
    assert_eq!(
        reject_fields(&db).iter().map(|r| r.0).collect::<Vec<_>>(),
        [5]
    );
    assert_eq!(
        outcomes(&db, 2),
        [
            (2, "loaded".into()),
            (3, "loaded".into()),
            (4, "rejected".into())
        ]
    );
    // status shows the replay and its superseded count.
    let status = stdout(&db.salesflow_ok(&["status"], 0));
    assert!(status.contains("replay of load 1"), "{status}");
    assert!(status.contains("0 superseded"), "{status}");
    // The gate judges what is still in quarantine: 1 of 4 rows, and the load passes.
    let passed = gate(0);
    assert_eq!(passed["verdict"], "passed");
    assert_eq!(passed["rows_rejected"], 1);
    assert_eq!(passed["reasons"][0]["reason"], "quantity_positive");
    // So does `rejects`, which says where the others went.
    let rejects = stdout(&db.salesflow_ok(&["rejects", "1", "--limit", "1"], 0));
    assert!(
        rejects.contains("2 of its 3 rejected rows were loaded by a replay since"),
        "{rejects}"
    );
    assert!(!rejects.contains("more (--limit N"), "{rejects}");
    let output = db.salesflow_ok(&["rejects", "1", "--json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["in_quarantine"], 1);
}

#[test]
fn a_replay_never_replaces_a_later_files_word_and_does_replace_an_earlier_one() {
    let db = TestDb::new("replay_newer");
    let dir = tempfile::tempdir().unwrap();
    // Load 1: the first word on sales 20 and 30.
    let first = feed(
        dir.path(),
        "first.csv",
        &[
            sale(20, 1, "100.00", "2024-03-01"),
            sale(30, 1, "300.00", "2024-03-01"),
        ],
    );
    // Load 2: new words on 10, 20 and 30, in a date format that is rejected, and sale 40
    // twice, the later line valid.
    let second = feed(
        dir.path(),
        "second.csv",
        &[
            sale(10, 1, "111.00", "05.03.2024"),
            sale(20, 2, "200.00", "06.04.2024"),
            sale(30, 3, "333.00", "07.03.2024"),
            sale(40, 1, "40.00", "08.03.2024"),
            sale(40, 2, "44.00", "2024-03-08"),
        ],
    );
    // Load 3: a later word on 10, and sale 30 sent again as load 1 had it (unchanged).
    let third = feed(
        dir.path(),
        "third.csv",
        &[
            sale(10, 1, "999.00", "2024-03-09"),
            sale(30, 1, "300.00", "2024-03-01"),
        ],
    );
    for path in [&first, &second, &third] {
        db.salesflow_ok(&["ingest", path], 0);
    }
    assert_eq!(counts(&db, 2), [5, 1, 0, 0, 0, 0, 4]);
    assert_eq!(counts(&db, 3), [2, 1, 0, 1, 0, 0, 0]);

    let contract = fixed_contract(dir.path());
    db.salesflow_ok(&["replay", "2", "--contract", &contract], 0);
    // 10: load 3 said so later (superseded); 20: load 1's word is older (updated, moved to
    // April); 30: load 3 sent it again unchanged after load 2 (superseded); 40: line 6 of
    // load 2's own file has the last word (duplicate).
    assert_eq!(
        outcomes(&db, 4),
        [
            (10, "superseded".into()),
            (20, "updated".into()),
            (30, "superseded".into()),
            (40, "duplicate".into())
        ]
    );
    assert_eq!(counts(&db, 4), [4, 0, 1, 0, 1, 2, 0]);
    assert_eq!(
        stored(&db, 10),
        ("999.00".into(), "2024-03-09".into(), 3, None)
    );
    assert_eq!(
        stored(&db, 20),
        ("200.00".into(), "2024-04-06".into(), 4, Some(2))
    );
    assert_eq!(
        stored(&db, 30),
        ("300.00".into(), "2024-03-01".into(), 1, None)
    );
    assert_eq!(
        stored(&db, 40),
        ("44.00".into(), "2024-03-08".into(), 2, None)
    );
    assert_eq!(
        db.count("select count(*) from raw.sales where sale_id = 20"),
        1
    );
    assert_eq!(
        db.value::<String>("select sale_date::text from raw.sale_keys where sale_id = 20"),
        "2024-04-06"
    );
    assert_eq!(db.count("select count(*) from raw.sales_rejects"), 0);

    // A later file's load still replaces what a replay wrote.
    let fourth = feed(
        dir.path(),
        "fourth.csv",
        &[sale(20, 5, "500.00", "2024-03-01")],
    );
    db.salesflow_ok(&["ingest", &fourth], 0);
    assert_eq!(
        stored(&db, 20),
        ("500.00".into(), "2024-03-01".into(), 5, None)
    );
}

#[test]
fn a_second_replay_and_a_replay_of_a_replay_change_nothing() {
    let db = TestDb::new("replay_again");
    let dir = tempfile::tempdir().unwrap();
    let path = feed(
        dir.path(),
        "dates.csv",
        &[
            sale(1, 1, "10.00", "01.03.2024"),
            sale(2, -1, "20.00", "2024-03-02"),
        ],
    );
    db.salesflow_ok(&["ingest", &path], 0);
    let contract = fixed_contract(dir.path());
    db.salesflow_ok(&["replay", "1", "--contract", &contract], 0);
    assert_eq!(counts(&db, 2), [2, 1, 0, 0, 0, 0, 1]);

    let data = |db: &TestDb| state(db)[..3].to_vec();
    let before = data(&db);
    // Again: only the row that fails again is judged, and it fails again.
    db.salesflow_ok(&["replay", "1", "--contract", &contract], 0);
    assert_eq!(counts(&db, 3), [1, 0, 0, 0, 0, 0, 1]);
    // A replay's own load has nothing quarantined under it.
    db.salesflow_ok(&["replay", "2", "--contract", &contract], 0);
    assert_eq!(counts(&db, 4), [0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(data(&db), before);

    // Loads that cannot be replayed are usage errors that write nothing.
    let ledger = state(&db)[4].clone();
    db.salesflow_ok(&["replay", "99"], 2);
    assert_eq!(state(&db)[4], ledger);
}

#[test]
fn a_killed_replay_leaves_nothing_and_the_next_run_marks_it_failed() {
    let db = TestDb::new("replay_kill");
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=50)
        .map(|id| sale(id, 1, "10.00", "01.03.2024"))
        .collect();
    let path = feed(dir.path(), "dates.csv", &lines);
    db.salesflow_ok(&["ingest", &path], 0);
    let contract = fixed_contract(dir.path());
    let before = state(&db);

    // Hold the key table, so that the replay stops mid-transaction, after it has judged and
    // staged the rows and before it merges them.
    let mut blocker = db.client();
    let mut hold = blocker.transaction().unwrap();
    hold.batch_execute("lock table raw.sale_keys in access exclusive mode")
        .unwrap();
    let mut child = salesflow_command(&["replay", "1", "--contract", &contract])
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "the replay never reached the merge",
        Duration::from_secs(60),
        || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the replay ended early"
            );
            db.count(
                "select count(*) from pg_stat_activity
             where application_name = 'salesflow' and wait_event_type = 'Lock'",
            ) > 0
        },
    );
    assert_eq!(
        db.value::<String>("select status from salesflow.loads where load_id = 2"),
        "running"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The server notices the dead client once the statement it waits in can go on, and ends
    // the session with its transaction uncommitted.
    hold.rollback().unwrap();
    db.wait_for_salesflow_sessions_to_end();

    let after = state(&db);
    assert_eq!(after[..4], before[..4], "nothing of the replay is left");
    // The next run marks it failed, and replays the rows once.
    db.salesflow_ok(&["replay", "1", "--contract", &contract], 0);
    assert_eq!(db.ledger(2).0, "failed");
    assert_eq!(db.failures()[1].as_deref(), Some("error"));
    assert_eq!(counts(&db, 3), [50, 50, 0, 0, 0, 0, 0]);
    assert_eq!(db.count("select count(*) from raw.sales"), 50);
    assert_eq!(db.count("select count(*) from raw.sales_rejects"), 0);
}
