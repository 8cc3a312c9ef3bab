//! Connecting to real servers: TLS with each sslmode against the project's cluster (which
//! speaks TLS with a CA of its own) and against one with TLS off, client certificates, the
//! password file, passwords kept out of `ps` and logs, and the least-privilege roles, each
//! doing its job and refused the rest.
//!
//! The TLS cases need the project's own cluster (`scripts/pg-local`, which `make test` uses
//! when DATABASE_URL is not set): its CA is in `.local/pg/tls`. Against another server they
//! say so and pass without checking anything.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's cluster's TLS directory, when DATABASE_URL is that cluster.
fn cluster_tls() -> Option<PathBuf> {
    let home = repo().join(".local/pg");
    let port = std::fs::read_to_string(home.join("port")).ok()?;
    let tls = home.join("tls");
    let ours = server_url().contains(&format!(":{}/", port.trim()));
    if ours && tls.join("ca.crt").is_file() {
        return Some(tls);
    }
    eprintln!("DATABASE_URL is not the project's own cluster: its TLS cases are not checked");
    None
}

fn pg_local(args: &[&str]) -> String {
    let output = Command::new(repo().join("scripts/pg-local"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/pg-local");
    assert!(output.status.success(), "scripts/pg-local {args:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// `url` with `params` as its query.
fn with_params(url: &str, params: &str) -> String {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    format!("{base}?{params}")
}

/// The port of a `postgresql://user@127.0.0.1:PORT/db` URL.
fn port_of(url: &str) -> &str {
    let after_host = url.rsplit_once(':').expect("a port").1;
    after_host.split('/').next().unwrap()
}

fn run_with_url(url: &str, args: &[&str]) -> std::process::Output {
    salesflow_command(args)
        .env("DATABASE_URL", url)
        .output()
        .expect("run salesflow")
}

fn assert_exit(output: &std::process::Output, code: i32) -> String {
    let all = format!("{}{}", stdout(output), stderr(output));
    assert_eq!(output.status.code(), Some(code), "{all}");
    all
}

#[test]
fn require_and_verify_full_with_the_clusters_ca_load_the_reference_file() {
    let Some(tls) = cluster_tls() else { return };
    let db = TestDb::new("tls_ok");
    let ca = tls.join("ca.crt");
    let require = with_params(&db.url, "sslmode=require");
    let report = tempfile::NamedTempFile::new().unwrap();
    let output = run_with_url(
        &require,
        &[
            "ingest",
            &reference_csv(),
            "--report-json",
            report.path().to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let report = json_report(report.path());
    assert_eq!(report_counts(&report["files"][0]), [1005, 1004, 0, 0, 0, 1]);

    let verify_full = with_params(
        &db.url,
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    );
    let all = assert_exit(&run_with_url(&verify_full, &["status"]), 0);
    assert!(all.contains("generated-sales-data.csv"), "{all}");
    // The same settings from the environment, as libpq reads them.
    let output = salesflow_command(&["status"])
        .env("DATABASE_URL", &db.url)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &ca)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    // And as a key=value string.
    let conninfo = format!(
        "host=127.0.0.1 port={} user=salesflow dbname={} sslmode=verify-ca sslrootcert='{}'",
        port_of(&db.url),
        db.name,
        ca.display()
    );
    assert_exit(&run_with_url(&conninfo, &["status"]), 0);
}

#[test]
fn verify_full_with_a_foreign_ca_exits_2_at_once() {
    if cluster_tls().is_none() {
        return;
    }
    let db = TestDb::new("tls_foreign");
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=someone else's CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    let url = with_params(
        &db.url,
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            dir.path().join("ca.crt").display()
        ),
    );
    let started = Instant::now();
    let output = run_with_url(&url, &["ingest", &reference_csv()]);
    let took = started.elapsed();
    let all = assert_exit(&output, 2);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(all.contains("sslmode=verify-full"), "{all}");
    assert!(all.contains("certificate is not trusted"), "{all}");
    // Nothing reached the database.
    assert_eq!(
        db.count("select count(*) from pg_tables where schemaname = 'raw'"),
        0
    );
}

#[test]
fn verify_full_with_the_wrong_host_name_exits_2_and_verify_ca_connects() {
    let Some(tls) = cluster_tls() else { return };
    let db = TestDb::new("tls_host");
    // The certificate names localhost and 127.0.0.1; connect to 127.0.0.1 by another name.
    let url = |mode: &str| {
        format!(
            "postgresql://salesflow@db.invalid:{}/{}?hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={}",
            port_of(&db.url),
            db.name,
            tls.join("ca.crt").display()
        )
    };
    let all = assert_exit(&run_with_url(&url("verify-full"), &["status"]), 2);
    assert!(all.contains("sslmode=verify-full"), "{all}");
    assert!(all.contains("does not name the host db.invalid"), "{all}");
    assert_exit(&run_with_url(&url("verify-ca"), &["status"]), 0);
}

#[test]
fn require_against_a_server_without_tls_exits_2_and_prefer_connects() {
    if cluster_tls().is_none() {
        return;
    }
    pg_local(&["--plain", "start"]);
    let plain = pg_local(&["--plain", "url"]);
    let all = assert_exit(
        &run_with_url(&with_params(&plain, "sslmode=require"), &["status"]),
        2,
    );
    assert!(all.contains("sslmode=require"), "{all}");
    assert!(all.contains("server does not support TLS"), "{all}");
    // prefer, the default, goes on without TLS (in a database of the test's own).
    let name = format!("sf_test_plain_{}", std::process::id());
    let mut admin = postgres::Client::connect(&plain, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("drop database if exists {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("create database {name}"))
        .unwrap();
    let in_database = format!("{}/{name}", plain.rsplit_once('/').unwrap().0);
    let output = run_with_url(&in_database, &["ingest", &fixture("base.csv")]);
    admin
        .batch_execute(&format!("drop database {name} with (force)"))
        .unwrap();
    assert_exit(&output, 0);
}

#[test]
fn a_server_that_is_down_exits_4_whatever_the_sslmode() {
    for mode in ["require", "verify-full&sslrootcert=system"] {
        let url = format!("postgresql://ann@127.0.0.1:9/sales?sslmode={mode}");
        let all = assert_exit(&run_with_url(&url, &["status"]), 4);
        assert!(all.contains("cannot connect"), "{all}");
    }
}

/// Runs the openssl CLI in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A client certificate for `user`, signed by the cluster's CA: (cert, key), the key 0600.
fn client_certificate(tls: &Path, dir: &Path, user: &str) -> (PathBuf, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={user}"),
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ],
    );
    let ca = |name: &str| tls.join(name).display().to_string();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            &ca("ca.crt"),
            "-CAkey",
            &ca("ca.key"),
            "-CAserial",
            "client.srl",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "client.crt",
        ],
    );
    let key = dir.join("client.key");
    set_mode(&key, 0o600);
    (dir.join("client.crt"), key)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_client_certificate_logs_in_where_pg_hba_demands_one() {
    let Some(tls) = cluster_tls() else { return };
    let db = TestDb::new("tls_cert");
    db.salesflow_ok(&["status"], 0); // migrated: the roles exist
    let user = TestRole::new(
        &db,
        "cert",
        "",
        &["salesflow_cert_login", "salesflow_loader"],
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = client_certificate(&tls, dir.path(), &user.name);
    let ca = tls.join("ca.crt");
    let url = |extra: &str| {
        with_params(
            &user.url(),
            &format!("sslmode=verify-full&sslrootcert={}{extra}", ca.display()),
        )
    };
    let with_cert = url(&format!(
        "&sslcert={}&sslkey={}",
        cert.display(),
        key.display()
    ));
    let output = run_with_url(&with_cert, &["ingest", &fixture("base.csv")]);
    assert_exit(&output, 0);
    assert_eq!(
        db.count("select count(*) from salesflow.loads where status = 'succeeded'"),
        1
    );
    // The same certificate from PGSSLCERT / PGSSLKEY.
    let output = salesflow_command(&["status"])
        .env("DATABASE_URL", url(""))
        .env("PGSSLCERT", &cert)
        .env("PGSSLKEY", &key)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    // Without it the server refuses the login: a settings error, not worth a retry.
    let all = assert_exit(&run_with_url(&url(""), &["status"]), 2);
    assert!(all.contains("certificate"), "{all}");
    // A key that others may read is refused before connecting, as libpq does.
    set_mode(&key, 0o644);
    let all = assert_exit(&run_with_url(&with_cert, &["status"]), 2);
    assert!(all.contains("group or world access"), "{all}");
}

/// A login role that must give its password (pg_hba demands it of salesflow_password_login).
fn password_role(db: &TestDb, what: &str, groups: &[&str]) -> (TestRole, String) {
    let password = format!("pw-{}-{}", std::process::id(), what);
    let mut all_groups = vec!["salesflow_password_login"];
    all_groups.extend_from_slice(groups);
    let role = TestRole::new(db, what, &format!("password '{password}'"), &all_groups);
    (role, password)
}

#[test]
fn the_password_file_supplies_the_password_and_a_missing_one_exits_2() {
    let db = TestDb::new("pgpass");
    db.salesflow_ok(&["status"], 0);
    let (user, password) = password_role(&db, "pgpass", &["salesflow_loader"]);
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# host:port:database:user:password\n127.0.0.1:*:*:{}:{password}\n",
            user.name
        ),
    )
    .unwrap();
    set_mode(&pgpass, 0o600);
    let output = salesflow_command(&["ingest", &fixture("base.csv")])
        .env("DATABASE_URL", user.url())
        .env("PGPASSFILE", &pgpass)
        .output()
        .unwrap();
    let all = assert_exit(&output, 0);
    assert!(!all.contains(&password), "{all}");
    // No password anywhere: the login is refused, which a retry does not fix.
    let all = assert_exit(&run_with_url(&user.url(), &["status"]), 2);
    assert!(!all.contains(&password), "{all}");
    // A wrong one likewise.
    let output = salesflow_command(&["status"])
        .env("DATABASE_URL", user.url())
        .env("PGPASSWORD", "not-the-password")
        .output()
        .unwrap();
    let all = assert_exit(&output, 2);
    assert!(all.contains("password authentication failed"), "{all}");
}

#[test]
fn no_password_in_ps_or_logs_during_an_ingest() {
    let db = TestDb::new("ps");
    db.salesflow_ok(&["status"], 0);
    let (user, password) = password_role(&db, "ps", &["salesflow_loader"]);
    let dir = tempfile::tempdir().unwrap();
    // Big enough that the load runs for a while under the sampler.
    let file = generated(dir.path(), "big.csv", &["--rows", "300000", "--seed", "7"]);
    let child = salesflow_command(&["-v", "ingest", &file])
        .env("DATABASE_URL", user.url())
        .env("PGPASSWORD", &password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
                samples.push(String::from_utf8_lossy(&ps.stdout).into_owned());
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        })
    };
    let output = child.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let all = assert_exit(&output, 0);
    let seen_running = samples
        .iter()
        .filter(|sample| sample.contains("big.csv"))
        .count();
    assert!(seen_running > 0, "ps never saw the ingest running");
    assert!(
        samples.iter().all(|sample| !sample.contains(&password)),
        "the password appeared in ps"
    );
    assert!(
        !all.contains(&password),
        "the password appeared in the output"
    );
    // The server's log of the session says nothing of it either (it never gets it in clear).
    assert!(all.contains("file done"), "{all}");
}

#[test]
fn a_password_on_the_command_line_is_warned_about_and_never_echoed() {
    let db = TestDb::new("pw_argv");
    db.salesflow_ok(&["status"], 0);
    let (user, password) = password_role(&db, "argv", &["salesflow_loader"]);
    let url = user.url().replacen(
        &format!("{}@", user.name),
        &format!("{}:{password}@", user.name),
        1,
    );
    let output = salesflow_command(&["status", "--database-url", &url])
        .output()
        .unwrap();
    let all = assert_exit(&output, 0);
    assert!(all.contains("visible to other users"), "{all}");
    assert!(all.contains(".pgpass"), "{all}");
    assert!(!all.contains(&password), "{all}");
    // From DATABASE_URL, the environment, there is nothing to warn about.
    let all = assert_exit(&run_with_url(&url, &["status"]), 0);
    assert!(!all.contains("visible to other users"), "{all}");
}

/// Runs `sql` as `url`'s user; the error's SQLSTATE when it fails.
fn try_sql(url: &str, sql: &str) -> Result<(), String> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client.batch_execute(sql).map_err(|error| {
        error
            .code()
            .map_or(error.to_string(), |code| code.code().into())
    })
}

const PERMISSION_DENIED: &str = "42501";

#[test]
fn each_role_does_its_job_and_is_refused_the_rest() {
    let db = TestDb::new("roles");
    db.salesflow_ok(&["status"], 0); // migrated by the superuser: the roles are set up
    let loader = TestRole::new(&db, "loader", "", &["salesflow_loader"]);
    let transformer = TestRole::new(&db, "transformer", "", &["salesflow_transformer"]);
    let reader = TestRole::new(&db, "reader", "", &["salesflow_reader"]);

    // The loader ingests, creating the month partitions, which belong to the role.
    let output = run_with_url(&loader.url(), &["ingest", &reference_csv()]);
    assert_exit(&output, 0);
    let owners: Vec<(String, String)> = db
        .client()
        .query(
            "select relname::text, pg_get_userbyid(relowner)::text from pg_class
             where relnamespace = 'raw'::regnamespace and relkind in ('r', 'p')
             order by relname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(
        owners.iter().any(|(name, _)| name == "sales_2024_01"),
        "{owners:?}"
    );
    assert!(
        owners.iter().all(|(_, owner)| owner == "salesflow_loader"),
        "{owners:?}"
    );
    // A month the warehouse has not seen gets its partition from the loader too.
    assert_exit(
        &run_with_url(
            &loader.url(),
            &["ingest", &fixture("append_mixed_months.csv")],
        ),
        0,
    );
    assert_eq!(
        db.value::<String>(
            "select pg_get_userbyid(relowner)::text from pg_class where relname = 'sales_2024_06'"
        ),
        "salesflow_loader"
    );
    // Its acceptance names the person, not the group role.
    assert_exit(
        &run_with_url(&loader.url(), &["accept", "1", "--reason", "checked"]),
        0,
    );
    assert_eq!(
        db.value::<String>("select accepted_by from salesflow.load_acceptances"),
        loader.name
    );

    // The transformer builds marts from raw and the ledger; it cannot write raw.
    try_sql(
        &transformer.url(),
        "set role salesflow_transformer;
         create table marts.revenue as
             select s.sale_date, sum(s.price) as revenue
             from raw.sales s join salesflow.loads l using (load_id)
             group by s.sale_date",
    )
    .expect("the transformer builds a mart");
    assert_eq!(
        try_sql(&transformer.url(), "delete from raw.sales").unwrap_err(),
        PERMISSION_DENIED
    );

    // The reader reads the marts, and nothing else.
    try_sql(&reader.url(), "select * from marts.revenue").expect("the reader reads the marts");
    for forbidden in [
        "select * from raw.sales",
        "select * from salesflow.loads",
        "insert into marts.revenue values (current_date, 1)",
        "update marts.revenue set revenue = 0",
        "drop table marts.revenue",
    ] {
        assert_eq!(
            try_sql(&reader.url(), forbidden).unwrap_err(),
            PERMISSION_DENIED,
            "{forbidden}"
        );
    }
    // The loader cannot drop or rewrite the marts.
    for forbidden in [
        "drop table marts.revenue",
        "set role salesflow_loader; drop table marts.revenue",
        "truncate marts.revenue",
    ] {
        assert_eq!(
            try_sql(&loader.url(), forbidden).unwrap_err(),
            PERMISSION_DENIED,
            "{forbidden}"
        );
    }
}

#[test]
fn a_user_who_may_not_create_roles_is_told_what_an_administrator_runs() {
    let db = TestDb::new("no_createrole");
    let owner = TestRole::new(&db, "owner", "", &[]);
    let mut admin = db.client();
    admin
        .batch_execute(&format!(
            "alter database {} owner to {}",
            db.name, owner.name
        ))
        .unwrap();
    // The roles exist on this server (other databases' migrations made them), but the owner
    // is no member of them and may not create or grant roles.
    for group in [
        "salesflow_loader",
        "salesflow_transformer",
        "salesflow_reader",
    ] {
        ensure_group_role(&mut admin, group);
    }
    let output = run_with_url(&owner.url(), &["ingest", &reference_csv()]);
    let all = assert_exit(&output, 0);
    assert!(
        all.contains("least-privilege roles are not set up"),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "GRANT salesflow_loader, salesflow_transformer, salesflow_reader TO \"{}\"",
            owner.name
        )),
        "{all}"
    );
    assert_eq!(
        db.count("select count(*) from salesflow.schema_migrations where version = 9"),
        0
    );
    // The administrator does as told; the next command completes the set-up.
    admin
        .batch_execute(&format!(
            "grant salesflow_loader, salesflow_transformer, salesflow_reader to {}",
            owner.name
        ))
        .unwrap();
    let all = assert_exit(&run_with_url(&owner.url(), &["status"]), 0);
    assert!(!all.contains("not set up"), "{all}");
    assert_eq!(
        db.value::<String>(
            "select pg_get_userbyid(relowner)::text from pg_class where relname = 'sales'"
        ),
        "salesflow_loader"
    );
}
