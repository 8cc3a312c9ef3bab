//! Helpers for integration tests: a fresh database per test on the real PostgreSQL
//! server of `DATABASE_URL` (`make test` starts the project's own cluster and sets it),
//! and the real `salesflow` binary.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls};

pub fn server_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at a PostgreSQL server whose user may create databases; \
         `make test` starts the project's own cluster and sets it",
    )
}

/// The URL of another database on the same server.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database part");
    let query = url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{database}{query}")
}

/// A database created for one test and dropped after it.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn new(test: &str) -> TestDb {
        let name = format!(
            "sf_test_{}_{}_{}",
            test,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = server_url();
        let mut client = Client::connect(&admin, NoTls).expect("connect to DATABASE_URL");
        // CREATE DATABASE fails while another one copies template1 at the same moment
        // (tests run in parallel): retry briefly.
        let mut attempts = 0;
        client
            .batch_execute(&format!("drop database if exists {name}"))
            .expect("drop a leftover test database");
        while let Err(error) = client.batch_execute(&format!("create database {name}")) {
            attempts += 1;
            assert!(attempts < 100, "create test database {name}: {error}");
            std::thread::sleep(std::time::Duration::from_millis(50 + 10 * attempts));
        }
        TestDb {
            url: with_database(&admin, &name),
            name,
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to test database")
    }

    /// A single value of a query's first row.
    pub fn value<T: for<'a> postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        self.client().query_one(sql, &[]).expect(sql).get(0)
    }

    /// The first two columns of a query's rows.
    pub fn pairs<A, B>(&self, sql: &str) -> Vec<(A, B)>
    where
        A: for<'a> postgres::types::FromSql<'a>,
        B: for<'a> postgres::types::FromSql<'a>,
    {
        self.client()
            .query(sql, &[])
            .expect(sql)
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.value::<i64>(sql)
    }

    /// Waits until no salesflow session is connected to this database: a killed loader's
    /// session lingers until the server notices, and its transaction ends with it.
    pub fn wait_for_salesflow_sessions_to_end(&self) {
        wait_until(
            "the killed session lingers",
            std::time::Duration::from_secs(30),
            || {
                self.count(
                    "select count(*) from pg_stat_activity
                     where application_name = 'salesflow' and datname = current_database()",
                ) == 0
            },
        );
    }

    /// Runs `salesflow ARGS` against this database.
    pub fn salesflow(&self, args: &[&str]) -> Output {
        salesflow_command(args)
            .env("DATABASE_URL", &self.url)
            .output()
            .expect("run salesflow")
    }

    /// Runs `salesflow ARGS` and asserts it exits with `code`.
    pub fn salesflow_ok(&self, args: &[&str], code: i32) -> Output {
        let output = self.salesflow(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "salesflow {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Leaves the schema as a salesflow that knew only migrations 1..=`version` did: the
    /// bookkeeping table (as every version created it) and those scripts applied, each
    /// recorded under its file name.
    pub fn schema_as_of_version(&self, version: i32) {
        use sha2::{Digest, Sha256};

        let mut client = self.client();
        client
            .batch_execute(
                "create schema salesflow;
                 create table salesflow.schema_migrations (
                     version    integer primary key,
                     name       text not null,
                     sha256     text not null,
                     applied_at timestamptz not null default now()
                 );",
            )
            .unwrap();
        let mut scripts: Vec<PathBuf> =
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .expect("migrations directory")
                .map(|entry| entry.unwrap().path())
                .collect();
        scripts.sort();
        for (number, path) in (1..=version).zip(&scripts) {
            let script = std::fs::read_to_string(path).unwrap();
            let name = path.file_stem().unwrap().to_str().unwrap();
            assert!(name.starts_with(&format!("{number:04}_")), "{name}");
            client.batch_execute(&script).expect(name);
            client
                .execute(
                    "insert into salesflow.schema_migrations (version, name, sha256)
                     values ($1, $2, $3)",
                    &[
                        &number,
                        &name,
                        &hex::encode(Sha256::digest(script.as_bytes())),
                    ],
                )
                .unwrap();
        }
    }

    /// The ledger's failure classes (`salesflow.loads.failure`), in load order.
    pub fn failures(&self) -> Vec<Option<String>> {
        self.client()
            .query("select failure from salesflow.loads order by load_id", &[])
            .expect("ledger failures")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// The ledger's counts of a load: (status, read, loaded, updated, unchanged, duplicate, rejected).
    pub fn ledger(&self, load_id: i64) -> (String, [i64; 6]) {
        let row = self
            .client()
            .query_one(
                "select status, rows_read, rows_loaded, rows_updated, rows_unchanged,
                        rows_duplicate, rows_rejected
                 from salesflow.loads where load_id = $1",
                &[&load_id],
            )
            .expect("ledger row");
        (
            row.get(0),
            [
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
                row.get(6),
            ],
        )
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&server_url(), NoTls) {
            let _ = client.batch_execute(&format!(
                "drop database if exists {} with (force)",
                self.name
            ));
        }
    }
}

/// Polls until `done` holds, every 20 ms; fails with `what` once `timeout` has passed.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Writes a synthetic feed, `salesflow generate ARGS`, to DIR/NAME; returns its path.
pub fn generated(dir: &Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name).to_str().expect("UTF-8 path").to_string();
    let status = salesflow_command(&["generate"])
        .args(args)
        .args(["-o", &path])
        .status()
        .expect("salesflow generate runs");
    assert!(status.success(), "salesflow generate {args:?}");
    path
}

pub fn salesflow_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_salesflow"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "salesflow=info");
    for name in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGPASSFILE",
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGSSLCERT",
        "PGSSLKEY",
    ] {
        command.env_remove(name);
    }
    command
}

pub fn fixture(name: &str) -> String {
    fixture_path(name).display().to_string()
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn reference_csv() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/generated-sales-data.csv")
        .display()
        .to_string()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON report of a run that wrote one with --report-json.
pub fn json_report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

/// A file report's counts as [read, loaded, updated, unchanged, duplicate, rejected].
pub fn report_counts(file: &serde_json::Value) -> [i64; 6] {
    let c = &file["counts"];
    [
        "read",
        "loaded",
        "updated",
        "unchanged",
        "duplicate",
        "rejected",
    ]
    .map(|key| c[key].as_i64().expect("count"))
}

/// The URL `url` with another user name (and no password).
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgresql:// URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{host}")
}

/// A login role made for one test, dropped with what it owns in `database` afterwards. Roles
/// belong to the whole server, so its name is unique to this process.
pub struct TestRole {
    pub name: String,
    database_url: String,
}

impl TestRole {
    /// `create role NAME login` + `attributes` (e.g. "password 'x'"), member of `groups`,
    /// on the server of `db` (its grants are made in `db`).
    pub fn new(db: &TestDb, what: &str, attributes: &str, groups: &[&str]) -> TestRole {
        let name = format!(
            "sftest_{what}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = db.client();
        for group in groups {
            ensure_group_role(&mut client, group);
        }
        client
            .batch_execute(&format!("create role {name} login {attributes}"))
            .expect("create the test role");
        for group in groups {
            client
                .batch_execute(&format!("grant {group} to {name}"))
                .expect("grant the group role");
        }
        TestRole {
            name,
            database_url: db.url.clone(),
        }
    }

    /// The test database's URL as this role.
    pub fn url(&self) -> String {
        with_user(&self.database_url, &self.name)
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.database_url, NoTls) {
            let _ = client.batch_execute(&format!(
                "reassign owned by {0} to current_user; drop owned by {0}; \
                 drop role if exists {0}",
                self.name
            ));
        }
    }
}

/// Creates a NOLOGIN group role unless it exists (tests running in parallel may race).
pub fn ensure_group_role(client: &mut Client, role: &str) {
    client
        .batch_execute(&format!(
            "do $$ begin
                 if not exists (select from pg_roles where rolname = '{role}') then
                     create role {role} nologin;
                 end if;
             exception when duplicate_object or unique_violation then null;
             end $$"
        ))
        .expect("create the group role");
}

/// The new columns of `raw.sales_rejects` (migration 0002) as text, NULL as None.
pub const REJECT_FIELDS: &str = "sale_id::text, product_id::text, product_name, brand, category, \
     retailer_id::text, retailer_name, channel, location, quantity::text, price::text, \
     currency, sale_date::text";

/// (source_line, reasons, the reject's fields) of every quarantined row, in file order.
pub fn reject_fields(db: &TestDb) -> Vec<(i64, Vec<String>, Vec<Option<String>>)> {
    db.client()
        .query(
            &format!(
                "select source_line, reasons, {REJECT_FIELDS} from raw.sales_rejects
                 order by load_id, source_line"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get(0),
                row.get(1),
                (2..15).map(|i| row.get(i)).collect(),
            )
        })
        .collect()
}

pub fn fields(values: [Option<&str>; 13]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}
