//! `salesflow rejects`: a load's quarantine read back.

mod common;

use common::*;

#[test]
fn rejects_shows_a_loads_quarantined_rows_as_they_were_in_the_file() {
    let db = TestDb::new("rejects");
    let dir = tempfile::tempdir().unwrap();
    let path = &generated(
        dir.path(),
        "defects.csv",
        &["--rows", "400", "--defect-rate", "0.1", "--seed", "7"],
    );
    db.salesflow_ok(&["ingest", path], 0);
    let rejected = db.ledger(1).1[5];
    assert!(
        rejected > 3,
        "the fixture needs more than 3 rejects, has {rejected}"
    );

    let json = db.salesflow_ok(&["rejects", "1", "--limit", "3", "--json"], 0);
    let found: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(found["rows_rejected"], rejected);
    assert_eq!(found["status"], "succeeded");
    // The reason counts cover every reject, as raw.sales_rejects has them.
    let reasons: Vec<(String, i64)> = found["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|count| {
            let reason = count["reason"].as_str().unwrap().to_string();
            (reason, count["rows"].as_i64().unwrap())
        })
        .collect();
    for (reason, rows) in &reasons {
        assert_eq!(
            *rows,
            db.count(&format!(
                "select count(*) from raw.sales_rejects where load_id = 1 and '{reason}' = any(reasons)"
            )),
            "{reason}"
        );
    }
    assert!(
        reasons.windows(2).all(|pair| pair[0].1 >= pair[1].1),
        "{reasons:?}"
    );
    // The first three rows in file order, each with its text as it was on its line.
    let content = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    let shown = found["rejects"].as_array().unwrap();
    assert_eq!(shown.len(), 3);
    let first_lines: Vec<i64> = db
        .client()
        .query(
            "select source_line from raw.sales_rejects where load_id = 1
             order by source_line limit 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for (reject, line) in shown.iter().zip(&first_lines) {
        assert_eq!(reject["source_line"], *line);
        let raw = reject["raw_record"].as_str().unwrap();
        if !raw.contains('\n') {
            assert_eq!(raw, lines[*line as usize - 1]);
        }
        assert!(!reject["message"].as_str().unwrap().is_empty());
    }

    let text = stdout(&db.salesflow_ok(&["rejects", "1", "--limit", "3"], 0));
    assert!(
        text.starts_with("load 1 (") && text.contains(&format!(" {rejected} of 400 rows")),
        "{text}"
    );
    assert!(
        text.contains(&format!("reasons: {} {}", reasons[0].0, reasons[0].1)),
        "{text}"
    );
    assert!(
        text.contains(&format!("line {}: ", first_lines[0])),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(&format!(
            "... and {} more (--limit N shows more)",
            rejected - 3
        )),
        "{text}"
    );

    // A failed load wrote no rejects; an unknown load is a usage error.
    db.salesflow_ok(&["ingest", &fixture("empty.csv")], 3);
    let failed = stdout(&db.salesflow_ok(&["rejects", "2"], 0));
    assert!(
        failed.contains(": failed (invalid_file)")
            && failed.contains("nothing of this load was written, its rejects included"),
        "{failed}"
    );
    let unknown = db.salesflow_ok(&["rejects", "99"], 2);
    assert!(
        stderr(&unknown).contains("load 99: the ledger has no such load"),
        "{}",
        stderr(&unknown)
    );
}
