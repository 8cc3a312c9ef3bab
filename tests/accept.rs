//! `salesflow accept` and `accept --revoke`: operators' review of loads at the quality gate.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn accept_records_who_and_why_once_and_refuses_loads_without_rows_or_already_published() {
    let db = TestDb::new("accept");
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    db.salesflow_ok(&["ingest", &fixture("empty.csv")], 3);
    assert_eq!(db.ledger(2).0, "failed");

    let accepted = db.salesflow_ok(
        &[
            "accept",
            "1",
            "--reason",
            "vendor confirmed 1003",
            "--by",
            "alice",
        ],
        0,
    );
    let said = stdout(&accepted);
    assert!(
        said.contains("load 1 (")
            && said.contains("1 of 1005 rows rejected = 0.10%) accepted by alice")
            && said.ends_with(": vendor confirmed 1003\n"),
        "{said}"
    );
    assert_eq!(
        db.count(
            "select count(*) from salesflow.load_acceptances
             where load_id = 1 and accepted_by = 'alice' and reason = 'vendor confirmed 1003'"
        ),
        1
    );
    // Accepting again keeps the first acceptance, and says so.
    let again = db.salesflow_ok(&["accept", "1", "--reason", "second thoughts", "--json"], 0);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["new"], false);
    assert_eq!(again["accepted_by"], "alice");
    assert_eq!(again["reason"], "vendor confirmed 1003");

    // status shows the acceptance under its load, and only there.
    let table = stdout(&db.salesflow_ok(&["status"], 0));
    let accepted_line = table
        .lines()
        .position(|line| line.contains("accepted at the quality gate"))
        .unwrap_or_else(|| panic!("no acceptance in\n{table}"));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[accepted_line - 1]
            .trim_start()
            .starts_with("1  succeeded")
            && lines[accepted_line].contains(" by alice: vendor confirmed 1003"),
        "{table}"
    );
    assert_eq!(
        table.matches("accepted at the quality gate").count(),
        1,
        "{table}"
    );
    let ledger: serde_json::Value =
        serde_json::from_slice(&db.salesflow_ok(&["status", "--json"], 0).stdout).unwrap();
    assert_eq!(ledger[1]["load_id"], 1);
    assert_eq!(ledger[1]["acceptance"]["accepted_by"], "alice");
    assert_eq!(ledger[1]["acceptance"]["reason"], "vendor confirmed 1003");
    assert_eq!(ledger[0]["acceptance"], serde_json::Value::Null);

    // Loads that wrote no rows, unknown loads and empty reasons are usage errors (exit 2).
    for (args, expected) in [
        (
            ["accept", "2", "--reason", "x"],
            "load 2 cannot be accepted: it is failed",
        ),
        (
            ["accept", "99", "--reason", "x"],
            "load 99 cannot be accepted: the ledger has no such load",
        ),
        (
            ["accept", "1", "--reason", " "],
            "load 1 cannot be accepted: the reason is empty",
        ),
    ] {
        let refused = db.salesflow_ok(&args, 2);
        assert!(stderr(&refused).contains(expected), "{}", stderr(&refused));
    }
    // Once a publication of the marts covers a load (as the Airflow DAG records it), the gate
    // never judges it again: a new acceptance is refused, a standing one is still reported.
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    db.client()
        .execute(
            "insert into salesflow.publications (through_load_id, published_by)
             values (3, 'airflow sales_pipeline manual__1')",
            &[],
        )
        .unwrap();
    let refused = db.salesflow_ok(&["accept", "3", "--reason", "x"], 2);
    assert!(
        stderr(&refused).contains(
            "load 3 cannot be accepted: publication 1 (through load 3, at 20"
        ) && stderr(&refused).contains(
            " by airflow sales_pipeline manual__1) already published it, so an acceptance would change nothing"
        ),
        "{}",
        stderr(&refused)
    );
    let again = stdout(&db.salesflow_ok(&["accept", "1", "--reason", "x"], 0));
    assert!(again.contains("was already accepted by alice"), "{again}");
    assert_eq!(
        db.count("select count(*) from salesflow.load_acceptances"),
        1
    );
}

#[test]
fn a_revoked_acceptance_stays_on_record_and_a_published_load_cannot_be_revoked() {
    let db = TestDb::new("revoke");
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    db.salesflow_ok(
        &[
            "accept",
            "1",
            "--reason",
            "vendor confirmed",
            "--by",
            "alice",
        ],
        0,
    );

    let revoked = db.salesflow_ok(
        &[
            "accept",
            "1",
            "--revoke",
            "--reason",
            "wrong load",
            "--by",
            "bob",
        ],
        0,
    );
    let said = stdout(&revoked);
    assert!(
        said.starts_with("load 1 (")
            && said.contains("1 of 1005 rows rejected = 0.10%): the acceptance by alice at ")
            && said.contains(" is revoked by bob at ")
            && said.contains(": wrong load. The quality gate holds the load back again"),
        "{said}"
    );
    // The acceptance keeps its row, now revoked; none stands.
    assert_eq!(
        db.count(
            "select count(*) from salesflow.load_acceptances
             where load_id = 1 and accepted_by = 'alice' and reason = 'vendor confirmed'
               and revoked_at >= accepted_at and revoked_by = 'bob'
               and revoke_reason = 'wrong load'"
        ),
        1
    );
    let refused = db.salesflow_ok(&["accept", "1", "--revoke", "--reason", "again"], 2);
    assert!(
        stderr(&refused)
            .contains("the acceptance of load 1 cannot be revoked: it has no standing acceptance"),
        "{}",
        stderr(&refused)
    );

    // status shows the revocation under the acceptance, in the table and in JSON.
    let table = stdout(&db.salesflow_ok(&["status"], 0));
    let lines: Vec<&str> = table.lines().collect();
    let accepted_line = lines
        .iter()
        .position(|line| line.contains("accepted at the quality gate"))
        .unwrap_or_else(|| panic!("no acceptance in\n{table}"));
    assert!(
        lines[accepted_line].contains(" by alice: vendor confirmed")
            && lines[accepted_line + 1].contains("acceptance revoked ")
            && lines[accepted_line + 1].ends_with(" by bob: wrong load"),
        "{table}"
    );
    let ledger: serde_json::Value =
        serde_json::from_slice(&db.salesflow_ok(&["status", "--json"], 0).stdout).unwrap();
    assert_eq!(ledger[0]["acceptance"]["accepted_by"], "alice");
    assert_eq!(ledger[0]["acceptance"]["revoked"]["revoked_by"], "bob");
    assert_eq!(ledger[0]["acceptance"]["revoked"]["reason"], "wrong load");

    // The load can be accepted again: a new acceptance, which is the one status shows.
    let again = db.salesflow_ok(
        &[
            "accept",
            "1",
            "--reason",
            "checked twice",
            "--by",
            "carol",
            "--json",
        ],
        0,
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["new"], true);
    assert_eq!(again["accepted_by"], "carol");
    assert_eq!(again["revoked"], serde_json::Value::Null);
    let table = stdout(&db.salesflow_ok(&["status"], 0));
    assert!(
        table.contains(" by carol: checked twice") && !table.contains("acceptance revoked"),
        "{table}"
    );
    assert_eq!(
        db.count("select count(*) from salesflow.load_acceptances where load_id = 1"),
        2
    );
    // At most one acceptance of a load stands, whoever writes it.
    let second_standing = db.client().execute(
        "insert into salesflow.load_acceptances (load_id, accepted_by, reason)
         values (1, 'mallory', 'by hand')",
        &[],
    );
    let violated = second_standing.unwrap_err();
    assert_eq!(
        violated.as_db_error().and_then(|error| error.constraint()),
        Some("load_acceptances_standing_idx"),
        "{violated:?}"
    );

    // Usage errors (exit 2): an empty reason, an unknown load.
    for (args, expected) in [
        (
            ["accept", "1", "--revoke", "--reason", " "],
            "the acceptance of load 1 cannot be revoked: the reason is empty",
        ),
        (
            ["accept", "99", "--revoke", "--reason", "x"],
            "the acceptance of load 99 cannot be revoked: the ledger has no such load",
        ),
    ] {
        let refused = db.salesflow_ok(&args, 2);
        assert!(stderr(&refused).contains(expected), "{}", stderr(&refused));
    }

    // Once a publication of the marts covers the load (as the Airflow DAG records it),
    // revoking would not unpublish it: refused, and the acceptance stands.
    db.client()
        .execute(
            "insert into salesflow.publications (through_load_id, published_by)
             values (1, 'airflow sales_pipeline manual__1')",
            &[],
        )
        .unwrap();
    let refused = db.salesflow_ok(&["accept", "1", "--revoke", "--reason", "too late"], 2);
    assert!(
        stderr(&refused).contains(
            "the acceptance of load 1 cannot be revoked: publication 1 (through load 1, at "
        ) && stderr(&refused)
            .contains(" by airflow sales_pipeline manual__1) already published it, and revoking cannot unpublish it"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        db.count(
            "select count(*) from salesflow.load_acceptances
             where load_id = 1 and revoked_at is null and accepted_by = 'carol'"
        ),
        1
    );
}

#[test]
fn a_revocation_racing_a_publication_waits_for_it_and_is_refused() {
    let db = TestDb::new("revoke_race");
    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    db.salesflow_ok(&["accept", "1", "--reason", "reviewed"], 0);
    // Stand in for the DAG's publish_marts (record_publication) half-way: the acceptances it
    // relies on locked and the publication written, not yet committed.
    let mut publisher = db.client();
    let mut publication = publisher.transaction().unwrap();
    publication
        .query(
            "select load_id from salesflow.load_acceptances
             where load_id = any($1) and revoked_at is null for share",
            &[&vec![1_i64]],
        )
        .unwrap();
    publication
        .execute(
            "insert into salesflow.publications (through_load_id, published_by)
             values (1, 'airflow sales_pipeline scheduled__1')",
            &[],
        )
        .unwrap();
    let child = salesflow_command(&["accept", "1", "--revoke", "--reason", "too late"])
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "the revocation never waited for the publication",
        Duration::from_secs(30),
        || {
            db.count(
                "select count(*) from pg_stat_activity
                 where datname = current_database() and wait_event_type = 'Lock'",
            ) > 0
        },
    );
    publication.commit().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("publication 1 (through load 1,"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        db.count("select count(*) from salesflow.load_acceptances where revoked_at is null"),
        1
    );
}

#[test]
fn an_acceptance_recorded_before_schema_version_8_stands_and_can_be_revoked() {
    let db = TestDb::new("revoke_v7");
    db.schema_as_of_version(7);
    db.client()
        .batch_execute(
            "insert into salesflow.loads (source_path, file_sha256, file_bytes, status, rows_read, rows_rejected)
             values ('old.csv', 'abc', 10, 'succeeded', 10, 4);
             insert into salesflow.load_acceptances (load_id, accepted_by, reason)
             values (1, 'alice', 'seasonal returns');",
        )
        .unwrap();

    let ledger: serde_json::Value =
        serde_json::from_slice(&db.salesflow_ok(&["status", "--json"], 0).stdout).unwrap();
    assert_eq!(ledger[0]["acceptance"]["accepted_by"], "alice");
    assert_eq!(ledger[0]["acceptance"]["revoked"], serde_json::Value::Null);
    db.salesflow_ok(
        &[
            "accept",
            "1",
            "--revoke",
            "--reason",
            "not seasonal",
            "--by",
            "bob",
        ],
        0,
    );
    assert_eq!(
        db.count(
            "select count(*) from salesflow.load_acceptances
             where acceptance_id is not null and accepted_by = 'alice' and revoked_by = 'bob'"
        ),
        1
    );
}
