//! The command line's contract: help, exit codes, `check`, `generate`, `status`, and
//! passwords never shown.

mod common;

use common::*;

#[test]
fn help_explains_commands_and_exit_codes() {
    let output = salesflow_command(&["--help"]).output().unwrap();
    assert!(output.status.success());
    let help = stdout(&output);
    for needle in [
        "ingest",
        "check",
        "generate",
        "status",
        "gate",
        "publish",
        "Exit codes",
        "DATABASE_URL",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let ingest_help = stdout(&salesflow_command(&["ingest", "--help"]).output().unwrap());
    for flag in ["--dry-run", "--force", "--max-reject-rate", "--report-json"] {
        assert!(
            ingest_help.contains(flag),
            "{flag} missing from:\n{ingest_help}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let no_paths = salesflow_command(&["ingest"]).output().unwrap();
    assert_eq!(no_paths.status.code(), Some(2));
    let bad_rate = salesflow_command(&["check", "--max-reject-rate", "7", "x.csv"])
        .output()
        .unwrap();
    assert_eq!(bad_rate.status.code(), Some(2));
    assert!(stderr(&bad_rate).contains("not a rate between 0 and 1"));
}

#[test]
fn unreachable_database_exits_4_without_showing_the_password() {
    let output = salesflow_command(&["ingest", &fixture("base.csv")])
        .env(
            "DATABASE_URL",
            "postgresql://ann:hunter2secret@127.0.0.1:9/sales",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        all.contains("cannot connect to PostgreSQL at ann@127.0.0.1:9/sales"),
        "{all}"
    );
    // The cause is said once: "error connecting to server: <the operating system's reason>".
    assert_eq!(
        all.matches("error connecting to server").count(),
        1,
        "{all}"
    );
    assert!(!all.contains("hunter2secret"), "{all}");
}

#[test]
fn settings_errors_exit_2_and_say_what_is_wrong() {
    let status_with_url = |url: &str| {
        salesflow_command(&["status"])
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    };
    let none = salesflow_command(&["status"]).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("set DATABASE_URL"),
        "{}",
        stderr(&none)
    );

    let unparsable = status_with_url("not-a-url");
    assert_eq!(unparsable.status.code(), Some(2));
    assert!(
        stderr(&unparsable).contains("invalid database URL")
            && stderr(&unparsable).contains("expected postgresql://"),
        "{}",
        stderr(&unparsable)
    );

    let no_such_database = status_with_url(&with_database(&server_url(), "sf_no_such_db"));
    assert_eq!(no_such_database.status.code(), Some(2));
    let text = stderr(&no_such_database);
    assert!(
        text.contains("FATAL: database \"sf_no_such_db\" does not exist"),
        "{text}"
    );
    assert!(!text.contains("db error"), "{text}");

    let unknown_role = server_url().replacen("://", "://sf_no_such_role:pw-xyz-secret@", 1);
    let unknown_role = unknown_role.replacen("@salesflow@", "@", 1);
    let refused = status_with_url(&unknown_role);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let text = stderr(&refused);
    assert!(
        text.contains("role \"sf_no_such_role\" does not exist"),
        "{text}"
    );
    assert!(!text.contains("pw-xyz-secret"), "{text}");

    let no_such_path = salesflow_command(&["ingest", "no/such/file.csv"])
        .env("DATABASE_URL", server_url())
        .output()
        .unwrap();
    assert_eq!(no_such_path.status.code(), Some(2));
    assert!(
        stderr(&no_such_path).contains(
            "nothing was loaded: no/such/file.csv: no such file, directory or matching glob"
        ),
        "{}",
        stderr(&no_such_path)
    );
}

#[test]
fn wrong_password_is_not_echoed() {
    let db = TestDb::new("password");
    db.client()
        .batch_execute(
            "do $$ begin
               if not exists (select from pg_roles where rolname = 'sf_pw_test') then
                 create role sf_pw_test login password 'right-one';
               end if;
             end $$",
        )
        .unwrap();
    let url = db.url.replacen("://", "://sf_pw_test:wrong-pw-xyz@", 1);
    let url = url.replacen("@salesflow@", "@", 1);
    let output = salesflow_command(&["status"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!all.contains("wrong-pw-xyz"), "{all}");
    assert_ne!(output.status.code(), Some(0), "{all}");
}

#[test]
fn check_reports_quality_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("check.json");
    let output = salesflow_command(&[
        "check",
        &reference_csv(),
        "--report-json",
        report_path.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains("validated"), "{table}");
    assert!(table.contains("rejects: quantity_positive 1"), "{table}");
    assert!(table.contains("product_id:missing 1"), "{table}");
    let report = json_report(&report_path);
    assert_eq!(report_counts(&report["files"][0]), [1005, 1004, 0, 0, 0, 1]);
    assert_eq!(report["files"][0]["flags"]["price:currency_code"], 1);

    let strict = salesflow_command(&["check", "--max-reject-rate", "0", &reference_csv()])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn check_rejects_a_broken_contract_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let contract = dir.path().join("bad.toml");
    std::fs::write(&contract, "name = \"sales\"\n[format]\nnull_tokens = []\n").unwrap();
    let output = salesflow_command(&[
        "check",
        "--contract",
        contract.to_str().unwrap(),
        &reference_csv(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("contract is not valid TOML"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn generate_is_deterministic_per_seed_and_can_compress() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |name: &str, seed: &str| {
        let path = generated(dir.path(), name, &["--rows", "1000", "--seed", seed]);
        std::fs::read(path).unwrap()
    };
    let a = generate("a.csv", "1");
    assert_eq!(a, generate("b.csv", "1"));
    assert_ne!(a, generate("c.csv", "2"));
    assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 1001);

    let gz = generated(dir.path(), "a.csv.gz", &["--rows", "1000", "--seed", "1"]);
    let check = salesflow_command(&["check", &gz]).output().unwrap();
    assert!(stdout(&check).contains("validated"), "{}", stdout(&check));
}

#[test]
fn status_lists_recent_loads() {
    let db = TestDb::new("status");
    db.salesflow_ok(&["ingest", &fixture("base.csv")], 0);
    db.salesflow_ok(&["ingest", &fixture("empty.csv")], 3);
    let output = db.salesflow_ok(&["status"], 0);
    let text = stdout(&output);
    assert!(text.contains("succeeded"), "{text}");
    assert!(text.contains("base.csv"), "{text}");
    // A failure shows its class: this one fails again on the same bytes.
    assert!(
        text.contains("error (invalid_file): the file has no header row (empty file)"),
        "{text}"
    );
    let json = db.salesflow_ok(&["status", "--json"], 0);
    let loads: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(loads[0]["failure"], "invalid_file");
    assert_eq!(loads[1]["counts"]["loaded"], 3);
    assert_eq!(loads[1]["failure"], serde_json::Value::Null);
    // ISO 8601 in UTC, e.g. 2026-11-26T08:00:31Z: unambiguous wherever it is read.
    let started = loads[1]["started_at"].as_str().unwrap();
    let started_at = chrono::NaiveDateTime::parse_from_str(started, "%Y-%m-%dT%H:%M:%SZ");
    assert!(started_at.is_ok(), "{started}");
    let age = chrono::Utc::now().naive_utc() - started_at.unwrap();
    assert!(
        age.num_minutes().abs() < 10,
        "{started} is not the load's time in UTC"
    );
    // The file's modification time as its load began, in the same form.
    let modified: chrono::DateTime<chrono::Utc> = std::fs::metadata(fixture("base.csv"))
        .unwrap()
        .modified()
        .unwrap()
        .into();
    assert_eq!(
        loads[1]["file_modified_at"],
        modified.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
}
