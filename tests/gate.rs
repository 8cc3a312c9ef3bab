//! `salesflow gate` and `salesflow publish`: the quality gate over the loads not yet
//! published, and the publication of the marts, against the real PostgreSQL.

mod common;

use common::*;

/// A feed whose rejects are well over the built-in threshold (5 %): 30 of 200 rows.
fn bad_feed(dir: &std::path::Path) -> String {
    generated(
        dir,
        "bad.csv",
        &["--rows", "200", "--defect-rate", "0.5", "--seed", "1"],
    )
}

fn gate_json(db: &TestDb, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["gate", "--json"];
    all.extend_from_slice(args);
    let output = db.salesflow_ok(&all, code);
    serde_json::from_slice(&output.stdout).expect("gate --json prints JSON")
}

fn verdicts(verdict: &serde_json::Value) -> Vec<(i64, String)> {
    verdict["loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|load| {
            (
                load["load_id"].as_i64().unwrap(),
                load["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_load_over_the_threshold_is_held_until_accepted_then_published_once() {
    let db = TestDb::new("gate");
    let dir = tempfile::tempdir().unwrap();
    db.salesflow_ok(&["ingest", &reference_csv(), &bad_feed(dir.path())], 0);

    let verdict = gate_json(&db, &[], 3);
    assert_eq!(
        verdicts(&verdict),
        [(1, "passed".into()), (2, "held".into())]
    );
    assert_eq!(verdict["after_load_id"], 0);
    assert_eq!(verdict["through_load_id"], 2);
    assert_eq!(verdict["threshold"], 0.05);
    assert_eq!(verdict["passed"], false);
    assert_eq!(verdict["rows_read"], 1205);
    assert_eq!(verdict["rows_rejected"], 31);
    let held = &verdict["loads"][1];
    assert_eq!(held["rows_rejected"], 30);
    assert_eq!(held["reasons"][0]["reason"], "quantity_positive");
    // The people's version names the file, the rate, the reasons and the way out.
    let output = db.salesflow_ok(&["gate"], 3);
    let all = format!("{}{}", stdout(&output), stderr(&output));
    for needle in [
        "bad.csv (load 2): 30 of 200 rows rejected = 15.00%",
        "quantity_positive x11",
        "salesflow accept LOAD_ID",
        "HELD",
    ] {
        assert!(all.contains(needle), "{needle} missing from:\n{all}");
    }

    // Publishing is refused while the load is held, and records nothing.
    db.salesflow_ok(&["publish", "--through", "2"], 3);
    assert_eq!(db.count("select count(*) from salesflow.publications"), 0);

    db.salesflow_ok(
        &["accept", "2", "--reason", "the vendor re-sends the rows"],
        0,
    );
    let verdict = gate_json(&db, &[], 0);
    assert_eq!(
        verdicts(&verdict),
        [(1, "passed".into()), (2, "accepted".into())]
    );
    assert_eq!(
        verdict["loads"][1]["acceptance"]["reason"],
        "the vendor re-sends the rows"
    );
    let output = db.salesflow_ok(&["publish", "--through", "2", "--by", "run 7", "--json"], 0);
    let publication: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(publication["published_by"], "run 7");
    assert_eq!(publication["through_load_id"], 2);
    assert_eq!(
        db.value::<String>("select published_by from salesflow.publications"),
        "run 7"
    );
    // The next gate judges only what came after the publication.
    let verdict = gate_json(&db, &[], 0);
    assert_eq!(verdict["after_load_id"], 2);
    assert!(verdict["loads"].as_array().unwrap().is_empty());
}

#[test]
fn a_held_load_stays_held_behind_later_loads_and_the_threshold_can_be_raised() {
    let db = TestDb::new("gate_later");
    let dir = tempfile::tempdir().unwrap();
    db.salesflow_ok(&["ingest", &bad_feed(dir.path())], 0);
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    let verdict = gate_json(&db, &[], 3);
    assert_eq!(
        verdicts(&verdict),
        [(1, "held".into()), (2, "passed".into())]
    );
    // --through bounds the window: a load committed after it is not judged.
    let verdict = gate_json(&db, &["--through", "1"], 3);
    assert_eq!(verdicts(&verdict), [(1, "held".into())]);
    // A threshold for one run, over the load's 15 %.
    let verdict = gate_json(&db, &["--max-reject-rate", "0.2"], 0);
    assert_eq!(verdict["passed"], true);
    // Or the contract's.
    let contract = dir.path().join("lenient.toml");
    std::fs::write(
        &contract,
        salesflow::contract::DEFAULT_CONTRACT
            .replace("max_reject_rate = 0.05", "max_reject_rate = 0.25"),
    )
    .unwrap();
    let verdict = gate_json(&db, &["--contract", contract.to_str().unwrap()], 0);
    assert_eq!(verdict["threshold"], 0.25);
    db.salesflow_ok(&["gate", "--max-reject-rate", "2"], 2);
}

#[test]
fn an_acceptance_revoked_after_the_gate_refuses_the_publication() {
    let db = TestDb::new("gate_revoked");
    let dir = tempfile::tempdir().unwrap();
    db.salesflow_ok(&["ingest", &bad_feed(dir.path())], 0);
    db.salesflow_ok(&["accept", "1", "--reason", "looked at it"], 0);
    gate_json(&db, &[], 0);
    db.salesflow_ok(&["accept", "1", "--revoke", "--reason", "looked again"], 0);
    let output = db.salesflow_ok(&["publish", "--through", "1"], 3);
    assert!(
        stderr(&output).contains("not published"),
        "{}",
        stderr(&output)
    );
    assert_eq!(db.count("select count(*) from salesflow.publications"), 0);
}

#[test]
fn the_loader_role_runs_the_gate_and_publishes() {
    let db = TestDb::new("gate_loader");
    db.salesflow_ok(&["status"], 0);
    let loader = TestRole::new(&db, "gate_loader", "", &["salesflow_loader"]);
    let as_loader = |args: &[&str]| {
        salesflow_command(args)
            .env("DATABASE_URL", loader.url())
            .output()
            .unwrap()
    };
    assert_eq!(
        as_loader(&["ingest", &reference_csv()]).status.code(),
        Some(0)
    );
    assert_eq!(as_loader(&["gate"]).status.code(), Some(0));
    let output = as_loader(&["publish", "--through", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        db.value::<String>("select published_by from salesflow.publications"),
        loader.name
    );
}

#[test]
fn status_shows_the_newest_load_of_a_status() {
    let db = TestDb::new("status_filter");
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    db.salesflow_ok(&["ingest", &reference_csv()], 0); // skipped: the same bytes
    let output = db.salesflow_ok(
        &["status", "--status", "succeeded", "--limit", "1", "--json"],
        0,
    );
    let loads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(loads.as_array().unwrap().len(), 1);
    assert_eq!(loads[0]["load_id"], 1);
    assert_eq!(loads[0]["status"], "succeeded");
}
