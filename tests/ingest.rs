//! `salesflow ingest` end to end: the real binary against the real PostgreSQL.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use rust_decimal::Decimal;

#[test]
fn reference_file_lands_with_every_row_accounted_for() {
    let db = TestDb::new("reference");
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = db.salesflow_ok(
        &[
            "ingest",
            &reference_csv(),
            "--report-json",
            report_path.to_str().unwrap(),
        ],
        0,
    );
    let table = stdout(&output);
    assert!(
        table.contains("generated-sales-data.csv  succeeded"),
        "{table}"
    );
    assert!(table.contains("rejects: quantity_positive 1"), "{table}");

    let report = json_report(&report_path);
    assert_eq!(report_counts(&report["files"][0]), [1005, 1004, 0, 0, 0, 1]);
    assert_eq!(db.ledger(1), ("succeeded".into(), [1005, 1004, 0, 0, 0, 1]));
    // The file's modification time, to the microsecond (what the orchestrator compares).
    let modified = std::fs::metadata(reference_csv())
        .unwrap()
        .modified()
        .unwrap();
    let micros = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    assert_eq!(
        db.value::<i64>(
            "select (extract(epoch from file_modified_at) * 1000000)::bigint
             from salesflow.loads where load_id = 1"
        ),
        micros
    );

    assert_eq!(db.count("select count(*) from raw.sales"), 1004);
    assert_keys_name_the_stored_versions(&db, 1004);
    assert_eq!(
        db.value::<Decimal>("select sum(price) from raw.sales"),
        Decimal::new(175_330_000, 2)
    );

    let client = &mut db.client();
    let reject = client
        .query_one(
            "select load_id, source_line, raw_record, reasons, message from raw.sales_rejects",
            &[],
        )
        .unwrap();
    assert_eq!(reject.get::<_, i64>(0), 1);
    assert_eq!(reject.get::<_, i64>(1), 538);
    assert!(reject.get::<_, String>(2).starts_with("1003,7,Office Desk"));
    assert_eq!(reject.get::<_, Vec<String>>(3), vec!["quantity_positive"]);
    assert!(reject.get::<_, String>(4).contains("got -1"));
    // Every migration the project ships is applied.
    let shipped =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
            .unwrap()
            .count();
    assert_eq!(
        db.value::<i32>("select max(version) from salesflow.schema_migrations"),
        shipped as i32
    );

    let mut sale = |id: i64| {
        client
            .query_one(
                "select product_id, price, currency, location, sale_date::text, dq_flags, source_line
                 from raw.sales where sale_id = $1",
                &[&id],
            )
            .unwrap()
    };
    let s1001 = sale(1001);
    assert_eq!(s1001.get::<_, Option<i64>>(0), None);
    assert_eq!(s1001.get::<_, Vec<String>>(5), vec!["product_id:missing"]);
    assert_eq!(s1001.get::<_, i64>(6), 73);
    let s1002 = sale(1002);
    assert_eq!(s1002.get::<_, Decimal>(1), Decimal::new(10000, 2));
    assert_eq!(s1002.get::<_, Option<String>>(2).as_deref(), Some("USD"));
    assert_eq!(s1002.get::<_, Option<String>>(3), None);
    assert_eq!(
        s1002.get::<_, Vec<String>>(5),
        vec!["location:null_token", "price:currency_code"]
    );
    let s1005 = sale(1005);
    assert_eq!(s1005.get::<_, String>(4), "2024-02-28");
    assert_eq!(
        s1005.get::<_, Vec<String>>(5),
        vec!["sale_date:alternate_format"]
    );
    // 1004 repeats 1001's sale under a new SaleID: a different sale, loaded.
    assert_eq!(sale(1004).get::<_, Option<i64>>(0), Some(5));

    // One partition per month, and every row in the right one.
    assert_eq!(
        db.count("select count(*) from pg_inherits where inhparent = 'raw.sales'::regclass"),
        db.count("select count(distinct date_trunc('month', sale_date)) from raw.sales")
    );
    assert_eq!(
        db.count(
            "select count(*) from raw.sales_2024_02 where sale_date < '2024-02-01' or sale_date >= '2024-03-01'"
        ),
        0
    );
}

#[test]
fn rerun_is_skipped_and_force_finds_everything_unchanged() {
    let db = TestDb::new("rerun");
    let file = reference_csv();
    db.salesflow_ok(&["ingest", &file], 0);
    let second = db.salesflow_ok(&["ingest", &file], 0);
    assert!(stdout(&second).contains("skipped"), "{}", stdout(&second));
    assert_eq!(db.ledger(2), ("skipped".into(), [0; 6]));
    assert_eq!(db.count("select count(*) from raw.sales"), 1004);

    db.salesflow_ok(&["ingest", "--force", &file], 0);
    assert_eq!(db.ledger(3), ("succeeded".into(), [1005, 0, 0, 1004, 0, 1]));
    assert_eq!(db.count("select count(*) from raw.sales"), 1004);
    assert_eq!(
        db.count("select count(*) from raw.sales where load_id <> 1"),
        0,
        "unchanged rows keep their original lineage"
    );
}

#[test]
fn resent_sales_update_move_and_deduplicate() {
    let db = TestDb::new("resend");
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    db.salesflow_ok(&["ingest", &fixture("resend.csv")], 0);
    // resend.csv: sale 2 twice (last wins), sale 3 moved to April, 4 new, 1 unchanged.
    assert_eq!(db.ledger(2), ("succeeded".into(), [5, 1, 2, 1, 1, 0]));
    let client = &mut db.client();
    let rows = client
        .query(
            "select sale_id, price::text, sale_date::text, load_id, source_line
             from raw.sales order by sale_id",
            &[],
        )
        .unwrap();
    let got: Vec<(i64, String, String, i64, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "4500.00".into(), "2024-02-05".into(), 1, 2),
            (2, "250.00".into(), "2024-02-24".into(), 2, 5),
            (3, "800.00".into(), "2024-04-02".into(), 2, 4),
            (4, "600.00".into(), "2024-01-15".into(), 2, 3),
        ]
    );
    assert_eq!(
        db.count("select count(*) from raw.sales_2024_02 where sale_id = 3"),
        0
    );
    // January and April were new months: filled unindexed, then attached.
    assert_new_partition_is_complete(&db, "sales_2024_01");
    assert_new_partition_is_complete(&db, "sales_2024_04");
    assert_eq!(
        db.count(
            "select count(*) from raw.sale_keys k join raw.sales s using (sale_id)
             where k.sale_date = s.sale_date and k.row_hash = s.row_hash"
        ),
        4
    );
}

#[test]
fn header_variants_bom_crlf_and_quoted_fields_load() {
    let db = TestDb::new("bom_crlf");
    db.salesflow_ok(&["ingest", &fixture("bom_crlf_quoted.csv")], 0);
    assert_eq!(db.ledger(1), ("succeeded".into(), [3, 3, 0, 0, 0, 0]));
    let client = &mut db.client();
    let names: Vec<String> = client
        .query(
            "select product_name || '|' || brand from raw.sales order by sale_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names,
        vec![
            "Laptop|BrandA",
            "Coffee Maker, deluxe|Brand \"B\"",
            "Smart\r\nphone|BrandC"
        ]
    );
}

#[test]
fn malformed_lines_are_quarantined_and_the_rest_recovered() {
    let db = TestDb::new("malformed");
    let output = db.salesflow_ok(&["ingest", &fixture("malformed.csv")], 0);
    assert_eq!(
        db.ledger(1),
        ("succeeded".into(), [6, 3, 0, 0, 0, 3]),
        "{}",
        stdout(&output)
    );
    let client = &mut db.client();
    let rejects: Vec<(i64, Vec<String>)> = client
        .query(
            "select source_line, reasons from raw.sales_rejects order by source_line",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rejects,
        vec![
            (2, vec!["unbalanced_quote".to_string()]),
            (5, vec!["field_count".to_string()]),
            (6, vec!["field_count".to_string()]),
        ]
    );
    let loaded: Vec<i64> = client
        .query("select sale_id from raw.sales order by 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(loaded, vec![21, 22, 25]);
}

#[test]
fn a_rejected_last_occurrence_leaves_the_sale_as_stored() {
    let db = TestDb::new("last_rejected");
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrections.csv");
    let header = std::fs::read_to_string(fixture_path("base.csv")).unwrap();
    let header = header.lines().next().unwrap();
    let dated = |id: u32, quantity: i32, price: u32, date: &str| {
        format!("{id},1,Laptop,BrandA,Electronics,1,TechGear,Online,,{quantity},{price},{date}")
    };
    let row = |id: u32, quantity: i32, price: u32| dated(id, quantity, price, "2024-02-05");
    // Sale 1 (stored) and sale 9 (new) are each sent valid, then with a negative quantity:
    // the feed's last word on them is unusable. Sale 8 is sent bad, then corrected. Sales
    // 7 and 6 come in decreasing order, so that only the merge path can load this file.
    // July is a new month: sale 10 ends rejected there, sale 11 is sent twice.
    let rows = [
        row(1, 5, 7500),
        row(9, 1, 1500),
        row(8, -1, 1500),
        dated(10, 1, 1500, "2024-07-01"),
        dated(11, 1, 1500, "2024-07-02"),
        row(1, -1, 7500),
        row(9, -1, 1500),
        dated(10, -1, 1500, "2024-07-01"),
        row(8, 2, 3000),
        dated(11, 2, 3000, "2024-07-02"),
        row(7, 1, 1500),
        row(6, 1, 1500),
    ];
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    db.salesflow_ok(&["ingest", path.to_str().unwrap()], 0);
    // read 12 = loaded 4 (8, 7, 6, 11) + duplicate 4 (the valid 1, 9 and 10, the first 11)
    // + rejected 4.
    assert_eq!(db.ledger(2), ("succeeded".into(), [12, 4, 0, 0, 4, 4]));
    let sales: Vec<(i64, i32)> = db
        .client()
        .query("select sale_id, quantity from raw.sales order by 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        sales,
        [(1, 3), (2, 1), (3, 4), (6, 1), (7, 1), (8, 2), (11, 2)]
    );
    assert_eq!(db.count("select count(*) from raw.sales_2024_07"), 1);

    // Without the reject's id, this file's valid ids (20, 21) would be increasing and new,
    // and the append path would load sale 20: the reject's id keeps it on the merge path.
    let path = dir.path().join("increasing.csv");
    let rows = [row(20, 1, 1500), row(20, -1, 1500), row(21, 1, 1500)];
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    db.salesflow_ok(&["ingest", path.to_str().unwrap()], 0);
    assert_eq!(db.ledger(3), ("succeeded".into(), [3, 1, 0, 0, 1, 1]));
    assert_eq!(
        db.count("select count(*) from raw.sales where sale_id in (20, 21)"),
        1
    );
}

#[test]
fn bare_carriage_returns_end_lines_and_each_row_keeps_its_own() {
    let db = TestDb::new("bare_cr");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old_mac.csv");
    let mut text = std::fs::read_to_string(fixture_path("base.csv")).unwrap();
    text.push_str("4,1,Laptop,BrandA,Electronics,1,TechGear,Online,,0,0,2024-02-06\n");
    std::fs::write(&path, text.replace('\n', "\r")).unwrap();
    db.salesflow_ok(&["ingest", path.to_str().unwrap()], 0);
    assert_eq!(db.ledger(1), ("succeeded".into(), [4, 3, 0, 0, 0, 1]));
    let lines: Vec<i64> = db
        .client()
        .query("select source_line from raw.sales order by sale_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(
        db.value::<i64>("select source_line from raw.sales_rejects"),
        5
    );
}

#[test]
fn invalid_utf8_rejects_only_its_row() {
    let db = TestDb::new("utf8");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.csv");
    let mut bytes = std::fs::read(fixture_path("base.csv")).unwrap();
    bytes.extend_from_slice(
        b"9,1,Caf\xe9 Machine,BrandA,Appliances,1,TechGear,Online,,1,10,2024-02-01\n",
    );
    std::fs::write(&path, bytes).unwrap();
    db.salesflow_ok(&["ingest", path.to_str().unwrap()], 0);
    assert_eq!(db.ledger(1), ("succeeded".into(), [4, 3, 0, 0, 0, 1]));
    let raw: String = db.value("select raw_record from raw.sales_rejects");
    assert!(raw.starts_with("9,1,Caf\u{FFFD} Machine"), "{raw}");
    let reasons: Vec<String> = db.value("select reasons from raw.sales_rejects");
    assert_eq!(reasons, vec!["invalid_utf8"]);
}

#[test]
fn gzip_file_loads_like_the_plain_one() {
    let db = TestDb::new("gzip");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    encoder
        .write_all(&std::fs::read(reference_csv()).unwrap())
        .unwrap();
    encoder.finish().unwrap();
    db.salesflow_ok(&["ingest", dir.path().to_str().unwrap()], 0);
    assert_eq!(db.ledger(1), ("succeeded".into(), [1005, 1004, 0, 0, 0, 1]));
}

#[test]
fn corrupt_and_truncated_gzip_files_are_invalid_and_count_nothing() {
    let db = TestDb::new("bad_gzip");
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&std::fs::read(reference_csv()).unwrap())
        .unwrap();
    let good = encoder.finish().unwrap();
    let truncated = dir.path().join("truncated.csv.gz");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let corrupt = dir.path().join("corrupt.csv.gz");
    std::fs::write(&corrupt, &flipped).unwrap();
    let json = dir.path().join("report.json");
    let output = db.salesflow_ok(
        &[
            "ingest",
            truncated.to_str().unwrap(),
            corrupt.to_str().unwrap(),
            "--report-json",
            json.to_str().unwrap(),
        ],
        3, // a broken archive is a data problem: retrying cannot help
    );
    let text = stdout(&output);
    assert!(text.contains("\ntruncated.csv.gz  invalid  1 "), "{text}");
    assert!(text.contains("\ncorrupt.csv.gz    invalid  2 "), "{text}");
    assert!(
        !text.contains("rejects:"),
        "a file that loaded nothing lists no reasons: {text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["counts"]["rejected"], 0, "{file}");
        assert_eq!(file["reject_reasons"], serde_json::json!({}), "{file}");
        assert_eq!(file["flags"], serde_json::json!({}), "{file}");
    }
    assert_eq!(db.count("select count(*) from raw.sales"), 0);
    assert_eq!(db.ledger(1).0, "failed");
    // The ledger tells programs that these bytes fail again: the orchestrator holds them.
    let invalid = Some("invalid_file".to_string());
    assert_eq!(db.failures(), [invalid.clone(), invalid]);
}

#[test]
fn empty_and_foreign_files_fail_clearly_without_stopping_the_others() {
    let db = TestDb::new("empty");
    let output = db.salesflow_ok(
        &[
            "ingest",
            &fixture("empty.csv"),
            &fixture("header_only.csv"),
            &fixture("wrong_header.csv"),
            &fixture("header_quote.csv"),
            &fixture("base.csv"),
        ],
        3,
    );
    let text = stdout(&output);
    assert!(
        text.contains("\nempty.csv: the file has no header row (empty file)\n"),
        "{text}"
    );
    assert!(
        text.contains("\nwrong_header.csv: header lacks the contract's column(s)"),
        "{text}"
    );
    // A quote left open in the header would swallow the rows after it into a column name.
    assert!(
        text.contains("\nheader_quote.csv: the header (line 1) has an unbalanced quote"),
        "{text}"
    );
    // The summary names each failed file's ledger row.
    assert!(text.contains("\nempty.csv         invalid    1 "), "{text}");
    assert!(text.contains("\nwrong_header.csv  invalid    3 "), "{text}");
    assert!(text.contains("\nheader_quote.csv  invalid    4 "), "{text}");
    let statuses: Vec<String> = db
        .client()
        .query("select status from salesflow.loads order by load_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        statuses,
        vec!["failed", "succeeded", "failed", "failed", "succeeded"]
    );
    assert_eq!(db.ledger(2).1, [0; 6]);
    let invalid = Some("invalid_file".to_string());
    assert_eq!(
        db.failures(),
        [invalid.clone(), None, invalid.clone(), invalid, None]
    );
    assert_eq!(db.count("select count(*) from raw.sales"), 3);
}

#[test]
fn dry_run_counts_everything_and_writes_nothing() {
    let db = TestDb::new("dry_run");
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("dry.json");
    db.salesflow_ok(
        &[
            "ingest",
            "--dry-run",
            &fixture("resend.csv"),
            "--report-json",
            report_path.to_str().unwrap(),
        ],
        0,
    );
    let report = json_report(&report_path);
    assert_eq!(report["files"][0]["status"], "validated");
    assert_eq!(report_counts(&report["files"][0]), [5, 1, 2, 1, 1, 0]);
    assert_eq!(db.count("select count(*) from salesflow.loads"), 1);
    assert_eq!(db.count("select count(*) from raw.sales"), 3);
    assert_eq!(
        db.count("select count(*) from raw.sales where price = 250"),
        0
    );
}

#[test]
fn reject_rate_over_the_limit_rolls_the_file_back() {
    let db = TestDb::new("reject_rate");
    let output = db.salesflow_ok(
        &[
            "ingest",
            "--max-reject-rate",
            "0.2",
            &fixture("malformed.csv"),
        ],
        3,
    );
    assert!(
        stdout(&output).contains("reject rate exceeded"),
        "{}",
        stdout(&output)
    );
    assert_eq!(db.ledger(1), ("failed".into(), [6, 3, 0, 0, 0, 3]));
    assert_eq!(db.failures(), [Some("reject_rate_exceeded".to_string())]);
    let error: String = db.value("select error from salesflow.loads");
    assert!(
        error.contains("50.00% is over the limit of 20.00%"),
        "{error}"
    );
    assert_eq!(db.count("select count(*) from raw.sales"), 0);
    assert_eq!(db.count("select count(*) from raw.sales_rejects"), 0);
    // Under the limit the same file loads, with a warning: half its rows were rejected.
    let loaded = db.salesflow_ok(
        &[
            "ingest",
            "--max-reject-rate",
            "0.5",
            &fixture("malformed.csv"),
        ],
        0,
    );
    assert_eq!(db.count("select count(*) from raw.sales"), 3);
    assert!(
        stderr(&loaded).contains("50.00% of the rows were rejected (over the quality gate's 5%)"),
        "{}",
        stderr(&loaded)
    );
}

#[test]
fn generated_defects_all_end_in_an_outcome() {
    let db = TestDb::new("generated");
    let dir = tempfile::tempdir().unwrap();
    let path = &generated(
        dir.path(),
        "defects.csv",
        &["--rows", "20000", "--defect-rate", "0.3", "--seed", "7"],
    );
    db.salesflow_ok(&["ingest", path], 0);
    let (status, [read, loaded, updated, unchanged, duplicate, rejected]) = db.ledger(1);
    assert_eq!(status, "succeeded");
    assert_eq!(read, 20000, "every generated line is a row read");
    assert_eq!(read, loaded + updated + unchanged + duplicate + rejected);
    assert!(
        duplicate > 0 && rejected > 0,
        "defects present: {duplicate} {rejected}"
    );
    assert_eq!(db.count("select count(*) from raw.sales"), loaded);
    assert_eq!(db.count("select count(*) from raw.sales_rejects"), rejected);
    for reason in [
        "unbalanced_quote",
        "field_count",
        "quantity_positive",
        "price:invalid",
    ] {
        assert!(
            db.count(&format!(
                "select count(*) from raw.sales_rejects where '{reason}' = any(reasons)"
            )) > 0,
            "{reason}"
        );
    }
    for flag in [
        "product_id:missing",
        "price:currency_code",
        "sale_date:alternate_format",
    ] {
        assert!(
            db.count(&format!(
                "select count(*) from raw.sales where '{flag}' = any(dq_flags)"
            )) > 0,
            "{flag}"
        );
    }
}

/// Valid rows go to one COPY stream (a landing table with a table per month, each created
/// when its first row arrives) and rejects wait in memory in 1 MiB batches: with 12,680
/// rejects (about 3 MB) interleaved with the valid rows of 36 months, the stream pauses
/// for batches and new months many times, and every row must still land exactly once.
#[test]
fn rejects_in_several_batches_and_months_opened_mid_stream_all_land() {
    let db = TestDb::new("reject_batches");
    let dir = tempfile::tempdir().unwrap();
    let path = &generated(
        dir.path(),
        "batches.csv",
        &["--rows", "60000", "--defect-rate", "0.5", "--seed", "11"],
    );
    let checked = dir.path().join("check.json");
    db.salesflow_ok(
        &["check", path, "--report-json", checked.to_str().unwrap()],
        0,
    );
    let [_, valid, _, _, _, rejected_by_check] = report_counts(&json_report(&checked)["files"][0]);
    assert!(rejected_by_check > 12_000, "{rejected_by_check}");

    db.salesflow_ok(&["ingest", path], 0);
    let (status, [read, loaded, updated, unchanged, duplicate, rejected]) = db.ledger(1);
    assert_eq!(status, "succeeded");
    assert_eq!(read, 60_000);
    assert_eq!(rejected, rejected_by_check);
    assert_eq!(loaded + updated + unchanged + duplicate, valid);
    assert_eq!(db.count("select count(*) from raw.sales_rejects"), rejected);
    assert_eq!(
        db.count("select count(distinct source_line) from raw.sales_rejects"),
        rejected
    );
    assert!(db.count("select max(source_line) from raw.sales_rejects") > 59_000);
    assert_eq!(db.count("select count(*) from raw.sales"), loaded);
    assert_eq!(
        db.count("select count(*) from pg_inherits where inhparent = 'raw.sales'::regclass"),
        db.count("select count(distinct date_trunc('month', sale_date)) from raw.sales"),
        "one partition per month sold in"
    );
}

#[test]
fn concurrent_loads_of_one_file_load_it_once() {
    let db = TestDb::new("concurrent");
    let dir = tempfile::tempdir().unwrap();
    let path = &generated(dir.path(), "sales.csv", &["--rows", "100000"]);
    let children: Vec<_> = (0..2)
        .map(|_| {
            salesflow_command(&["ingest", path])
                .env("DATABASE_URL", &db.url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let statuses: Vec<String> = db
        .client()
        .query("select status from salesflow.loads order by status", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, vec!["skipped", "succeeded"]);
    assert_eq!(db.count("select count(*) from raw.sales"), 100_000);
}

#[test]
fn a_load_waiting_for_another_says_so_and_the_ledger_keeps_absolute_paths() {
    let db = TestDb::new("lock_wait");
    db.salesflow_ok(&["status"], 0); // creates the schema
    // Stand in for another load: hold the load lock (class "SFLW", object 1), with its
    // running ledger row.
    let mut holder = db.client();
    holder
        .execute("select pg_advisory_lock(1397115991, 1)", &[])
        .unwrap();
    holder
        .execute(
            "insert into salesflow.loads (source_path, file_sha256, file_bytes, status)
             values ('/landing/other.csv', 'ab', 2, 'running')",
            &[],
        )
        .unwrap();
    let fixtures = fixture_path("base.csv").parent().unwrap().to_path_buf();
    let child = salesflow_command(&["ingest", "base.csv"])
        .current_dir(&fixtures)
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "the load never waited for the lock",
        Duration::from_secs(30),
        || {
            db.count(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted
             and database = (select oid from pg_database where datname = current_database())",
            ) > 0
        },
    );
    holder
        .execute("select pg_advisory_unlock(1397115991, 1)", &[])
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // The wait names the load it waits for.
    let waiting = stderr(&output)
        .lines()
        .find(|line| line.contains("waiting for another load to finish"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no wait in\n{}", stderr(&output)));
    assert!(
        waiting.contains("load_id=1") && waiting.contains("path=\"/landing/other.csv\""),
        "{waiting}"
    );
    let source_path: String = db.value("select source_path from salesflow.loads where load_id = 2");
    assert_eq!(
        source_path,
        fixtures.join("base.csv").to_str().unwrap(),
        "typed as base.csv in {}",
        fixtures.display()
    );
}

#[test]
fn killed_load_leaves_nothing_and_the_rerun_loads_once() {
    let db = TestDb::new("sigkill");
    let dir = tempfile::tempdir().unwrap();
    let path = &generated(dir.path(), "big.csv", &["--rows", "1000000"]);
    db.salesflow_ok(&["status"], 0); // creates the schema, so the poll below can run
    let mut child = salesflow_command(&["ingest", path])
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the load never started", Duration::from_secs(60), || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended too early"
        );
        db.count("select count(*) from salesflow.loads where status = 'running'") > 0
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the load finished before it could be killed; use a bigger file"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The server ends the dead session's transaction; nothing of it is visible.
    db.wait_for_salesflow_sessions_to_end();
    assert_eq!(db.count("select count(*) from raw.sales"), 0);
    assert_eq!(db.count("select count(*) from raw.sale_keys"), 0);

    // status marks the abandoned load failed; the rerun loads the file exactly once.
    let status = db.salesflow_ok(&["status"], 0);
    assert!(stdout(&status).contains("abandoned"), "{}", stdout(&status));
    db.salesflow_ok(&["ingest", path], 0);
    assert_eq!(db.ledger(1).0, "failed");
    // A killed loader is no verdict on the file: a retry may pass.
    assert_eq!(db.failures(), [Some("error".to_string()), None]);
    assert_eq!(
        db.ledger(2),
        ("succeeded".into(), [1_000_000, 1_000_000, 0, 0, 0, 0])
    );
    assert_eq!(db.count("select count(*) from raw.sales"), 1_000_000);
    assert_eq!(
        db.count("select count(distinct sale_id) from raw.sales"),
        1_000_000
    );
}

#[test]
fn a_connection_lost_mid_run_still_reports_the_files_loaded_before() {
    let db = TestDb::new("conn_lost");
    let dir = tempfile::tempdir().unwrap();
    let big = &generated(
        dir.path(),
        "big.csv",
        &["--rows", "300000", "--first-sale-id", "100"],
    );
    let json = dir.path().join("report.json");
    db.salesflow_ok(&["status"], 0); // creates the schema, so the poll below can run
    let child = salesflow_command(&[
        "ingest",
        &fixture("base.csv"),
        big,
        &fixture("resend.csv"),
        "--report-json",
        json.to_str().unwrap(),
    ])
    .env("DATABASE_URL", &db.url)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until(
        "the second load never started",
        Duration::from_secs(60),
        || {
            db.count(
                "select count(*) from salesflow.loads where status = 'running' and load_id = 2",
            ) > 0
        },
    );
    let terminated: bool = db.value(
        "select bool_or(pg_terminate_backend(pid)) from pg_stat_activity
         where application_name = 'salesflow' and datname = current_database()",
    );
    assert!(terminated);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("\nbase.csv  succeeded  1 "), "{text}");
    assert!(text.contains("\nbig.csv   failed "), "{text}");
    assert!(
        stderr(&output).contains("big.csv: stopped, 1 later file(s) not attempted"),
        "{}",
        stderr(&output)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let statuses: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "failed"]);
    assert_eq!(db.ledger(1), ("succeeded".into(), [3, 3, 0, 0, 0, 0]));
    assert_eq!(db.count("select count(*) from raw.sales"), 3);
}

/// A partition the loader made from a landing table carries every index of `raw.sales`,
/// attached to the parent's, and nothing of its landing days: no bounds check, and no
/// landing table is left.
fn assert_new_partition_is_complete(db: &TestDb, partition: &str) {
    assert_eq!(
        db.count(&format!(
            "select count(*) from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where c.relname like '{partition}_%' and c.relkind = 'i'"
        )),
        db.count(
            "select count(*) from pg_indexes where schemaname = 'raw' and tablename = 'sales'"
        ),
        "{partition}: indexes"
    );
    assert_eq!(
        db.count(&format!(
            "select count(*) from pg_constraint
             where conrelid = 'raw.{partition}'::regclass and contype = 'c'"
        )),
        0,
        "{partition}: the bounds check that spared the attach its scan is dropped"
    );
    assert_eq!(
        db.count(&format!(
            "select count(*) from pg_attribute p
             join pg_attribute s on s.attrelid = 'raw.sales'::regclass and s.attname = p.attname
             left join pg_attrdef pd on pd.adrelid = p.attrelid and pd.adnum = p.attnum
             left join pg_attrdef sd on sd.adrelid = s.attrelid and sd.adnum = s.attnum
             where p.attrelid = 'raw.{partition}'::regclass and p.attnum > 0
               and pg_get_expr(pd.adbin, pd.adrelid) is distinct from pg_get_expr(sd.adbin, sd.adrelid)"
        )),
        0,
        "{partition}: the landing's defaults (this load's id and time) are gone"
    );
    assert_eq!(
        db.count("select count(*) from pg_tables where tablename like 'sales_landing%'"),
        0,
        "the landing table is gone"
    );
}

/// The key table holds one row per stored sale, with that sale's date, content hash and load
/// (on the append path the loader sends them from the file's stream, not from the table).
fn assert_keys_name_the_stored_versions(db: &TestDb, sales: i64) {
    assert_eq!(db.count("select count(*) from raw.sale_keys"), sales);
    assert_eq!(
        db.count(
            "select count(*) from raw.sale_keys k join raw.sales s using (sale_id)
             where (k.sale_date, k.row_hash, k.load_id) = (s.sale_date, s.row_hash, s.load_id)"
        ),
        sales
    );
}

#[test]
fn appending_new_sales_fills_existing_and_new_partitions_with_indexes() {
    let db = TestDb::new("append");
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    // Increasing new ids: February exists already, June is a new partition.
    db.salesflow_ok(&["ingest", &fixture("append_mixed_months.csv")], 0);
    assert_eq!(db.ledger(2), ("succeeded".into(), [4, 3, 0, 0, 0, 1]));
    assert_eq!(db.count("select count(*) from raw.sales_2024_02"), 4);
    assert_eq!(db.count("select count(*) from raw.sales_2024_06"), 2);
    assert_eq!(db.count("select count(*) from raw.sale_keys"), 6);
    assert_keys_name_the_stored_versions(&db, 6);
    assert_new_partition_is_complete(&db, "sales_2024_06");
    // A later re-send of one of them takes the merge path and updates it.
    db.salesflow_ok(&["ingest", &fixture("resend.csv")], 0);
    assert_eq!(db.count("select count(*) from raw.sales"), 7);
    assert_eq!(db.count("select count(distinct sale_id) from raw.sales"), 7);
}

#[test]
fn tables_a_load_fills_from_empty_are_vacuumed_and_analyzed() {
    let db = TestDb::new("vacuum");
    let manual_vacuums = |table: &str| {
        db.count(&format!(
            "select vacuum_count from pg_stat_user_tables where relid = 'raw.{table}'::regclass"
        ))
    };
    let has_statistics = |table: &str| {
        db.count(&format!(
            "select count(*) from pg_stats where schemaname = 'raw' and tablename = '{table}'"
        )) > 0
    };
    // The first load (append path) creates February's partition and fills the key table.
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    assert_eq!(manual_vacuums("sales_2024_02"), 1);
    assert_eq!(manual_vacuums("sale_keys"), 1);
    assert!(has_statistics("sales_2024_02") && has_statistics("sale_keys"));
    assert_eq!(
        db.count(
            "select relallvisible::bigint from pg_class where oid = 'raw.sales_2024_02'::regclass"
        ),
        db.count("select relpages::bigint from pg_class where oid = 'raw.sales_2024_02'::regclass"),
        "every page is marked all-visible"
    );

    // Appending to February and a new June: only June is new, so only June is vacuumed.
    db.salesflow_ok(&["ingest", &fixture("append_mixed_months.csv")], 0);
    assert_eq!(manual_vacuums("sales_2024_06"), 1);
    assert!(has_statistics("sales_2024_06"));
    assert_eq!(manual_vacuums("sales_2024_02"), 1);
    assert_eq!(manual_vacuums("sale_keys"), 1);

    // The merge path (a re-sent sale) vacuums the partition it creates for the new date.
    let dir = tempfile::tempdir().unwrap();
    let resend = dir.path().join("resend_into_september.csv");
    std::fs::write(
        &resend,
        "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,Channel,Location,Quantity,Price,Date\n\
         1,1,Laptop,BrandA,Electronics,1,TechGear,Online,,3,4500,2024-09-05\n",
    )
    .unwrap();
    db.salesflow_ok(&["ingest", resend.to_str().unwrap()], 0);
    assert_eq!(db.ledger(3), ("succeeded".into(), [1, 0, 1, 0, 0, 0]));
    assert_eq!(manual_vacuums("sales_2024_09"), 1);
    assert!(has_statistics("sales_2024_09"));
    assert_eq!(manual_vacuums("sales_2024_06"), 1);
}

#[test]
fn reject_of_sale_1003_keeps_its_product_retailer_and_date() {
    let db = TestDb::new("reject_1003");
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    assert_eq!(
        reject_fields(&db),
        vec![(
            538,
            vec!["quantity_positive".to_string()],
            fields([
                Some("1003"),
                Some("7"),
                Some("Office Desk"),
                Some("BrandG"),
                Some("Furniture"),
                Some("3"),
                Some("GadgetWorld"),
                Some("Offline"),
                Some("San Francisco"),
                None, // quantity -1 failed quantity_positive
                Some("500.00"),
                None, // no currency code
                Some("2024-03-05"),
            ])
        )]
    );
}

#[test]
fn rejects_keep_the_fields_that_parsed_as_a_sale_would_hold_them() {
    let db = TestDb::new("reject_fields");
    let file = fixture("rejects.csv");
    db.salesflow_ok(&["ingest", &file], 0);
    assert_eq!(db.ledger(1), ("succeeded".into(), [6, 1, 0, 0, 0, 5]));
    let record_level = fields([None; 13]);
    let expected = vec![
        (
            2,
            vec!["quantity_positive".to_string()],
            // Trimmed, escaped through COPY, canonical channel, null token, currency
            // symbol split off as USD, thousands separator removed, rounded, alternate
            // date format.
            fields([
                Some("30"),
                Some("9"),
                Some("Standing Desk \\ \"XL\""),
                Some("BrandG"),
                Some("Furniture"),
                Some("3"),
                Some("GadgetWorld"),
                Some("Offline"),
                None,
                None,
                Some("1250.51"),
                Some("USD"),
                Some("2024-03-05"),
            ]),
        ),
        (
            3,
            vec!["sale_date:invalid".to_string()],
            fields([
                Some("31"),
                Some("10"),
                Some("Bookshelf"),
                Some("BrandH"),
                Some("Furniture"),
                Some("4"),
                Some("HomeEssentials"),
                Some("Online"),
                None,
                Some("2"),
                Some("300.00"),
                None,
                None,
            ]),
        ),
        (
            4,
            vec![
                "product_id:invalid".to_string(),
                "price_non_negative".to_string(),
                "channel_known".to_string(),
            ],
            fields([
                Some("32"),
                None,
                Some("Lamp"),
                Some("BrandF"),
                Some("Electronics"),
                Some("1"),
                Some("TechGear"),
                None,
                None,
                Some("1"),
                None, // -20USD failed price_non_negative: no price, no currency
                None,
                Some("2024-03-10"),
            ]),
        ),
        (
            5,
            vec!["unbalanced_quote".to_string()],
            record_level.clone(),
        ),
        (6, vec!["field_count".to_string()], record_level),
    ];
    assert_eq!(reject_fields(&db), expected);
    assert_eq!(db.count("select count(*) from raw.sales"), 1);

    // Loaded again: the merge path (the sale is stored) keeps the rejects out of raw.sales too.
    db.salesflow_ok(&["ingest", "--force", &file], 0);
    assert_eq!(db.ledger(2), ("succeeded".into(), [6, 0, 0, 1, 0, 5]));
    let again: Vec<_> = reject_fields(&db).split_off(5);
    assert_eq!(again, expected);
    assert_eq!(db.count("select count(*) from raw.sales"), 1);
}

#[test]
fn each_load_records_the_contract_that_judged_it_and_its_files_header() {
    let db = TestDb::new("contract_versions");
    let dir = tempfile::tempdir().unwrap();
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    // Another version of the rules: the same contract with one more date format.
    let contract = dir.path().join("sales-v2.toml");
    let text = salesflow::contract::DEFAULT_CONTRACT.replace(
        r#"formats = ["%Y-%m-%d", "#,
        r#"formats = ["%Y-%m-%d", "%d.%m.%Y", "#,
    );
    assert_ne!(text, salesflow::contract::DEFAULT_CONTRACT);
    std::fs::write(&contract, &text).unwrap();
    let contract_arg = contract.to_str().unwrap();
    db.salesflow_ok(
        &[
            "ingest",
            &fixture("append_mixed_months.csv"),
            "--contract",
            contract_arg,
        ],
        0,
    );

    // Each text once, by its SHA-256.
    let builtin = salesflow::contract::Contract::default_sales().sha256;
    let v2 = salesflow::contract::Contract::from_toml(&text)
        .unwrap()
        .sha256;
    assert_ne!(builtin, v2);
    let kept: Vec<(String, String, String)> = db
        .client()
        .query(
            "select sha256, name, text from salesflow.contracts order by first_used_at, sha256",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.contains(&(
        builtin.clone(),
        "sales".into(),
        salesflow::contract::DEFAULT_CONTRACT.into()
    )));
    assert!(kept.contains(&(v2.clone(), "sales".into(), text.clone())));
    let judged_by: Vec<String> = db
        .client()
        .query(
            "select contract_sha256 from salesflow.loads order by load_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(judged_by, [builtin.clone(), builtin.clone(), v2.clone()]);

    // status shows the short hash; --json the whole of it, the name and the header.
    let text_status = stdout(&db.salesflow_ok(&["status"], 0));
    assert!(text_status.contains(&builtin[..8]), "{text_status}");
    assert!(text_status.contains(&v2[..8]), "{text_status}");
    let json = db.salesflow_ok(&["status", "--json"], 0);
    let loads: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(loads[0]["contract_sha256"], v2.as_str());
    assert_eq!(loads[0]["contract_name"], "sales");
    assert_eq!(loads[2]["header"][0], "SaleID");
    assert_eq!(loads[2]["header"][11], "Date");
    assert_eq!(loads[2]["header"].as_array().unwrap().len(), 12);
}
