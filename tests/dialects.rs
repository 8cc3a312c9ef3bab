//! Feeds in other encodings and CSV dialects, declared in the contract's `[format]`: the
//! files are made here, byte by byte, and loaded with the real binary into PostgreSQL.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const HEADER: &str = "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,\
                      Channel,Location,Quantity,Price,Date";

/// The built-in contract with `settings` added to its `[format]` section, written to DIR.
fn contract_with(dir: &Path, settings: &str) -> PathBuf {
    let text = salesflow::contract::DEFAULT_CONTRACT.replacen(
        "[format]\n",
        &format!("[format]\n{settings}\n"),
        1,
    );
    let path = dir.join("feed.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `lines` joined with CRLF, in `encoding` (with its BOM for UTF-16), written to DIR/NAME.
fn feed(
    dir: &Path,
    name: &str,
    lines: &[&str],
    encoding: &'static encoding_rs::Encoding,
) -> String {
    let text = lines.join("\r\n") + "\r\n";
    let bytes = if encoding == encoding_rs::UTF_16LE {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes
    } else {
        let (bytes, _, unmappable) = encoding.encode(&text);
        assert!(!unmappable, "{text} is not all {}", encoding.name());
        bytes.into_owned()
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn names_and_locations(db: &TestDb) -> Vec<(String, Option<String>)> {
    db.pairs("select product_name, location from raw.sales order by sale_id")
}

const ROWS: [&str; 2] = [
    "1,2,Café Maker,BrandB,Appliances,2,HomeEssentials,Offline,München,2,200,2024-02-03",
    "2,5,Blender,BrandE,Appliances,2,HomeEssentials,Offline,Zürich,1,100,2024-02-04",
];

#[test]
fn a_windows_1252_export_loads_once_the_contract_says_so() {
    let db = TestDb::new("cp1252");
    let dir = tempfile::tempdir().unwrap();
    let file = feed(
        dir.path(),
        "excel.csv",
        &[HEADER, ROWS[0], ROWS[1]],
        encoding_rs::WINDOWS_1252,
    );
    // Read as UTF-8, its accented bytes reject both rows.
    let output = stdout(&db.salesflow_ok(&["check", &file], 0));
    assert!(output.contains("100.00"), "{output}");
    assert!(output.contains("rejects: invalid_utf8 2"), "{output}");
    let contract = contract_with(dir.path(), r#"encoding = "windows-1252""#);
    db.salesflow_ok(
        &["ingest", &file, "--contract", contract.to_str().unwrap()],
        0,
    );
    assert_eq!(
        names_and_locations(&db),
        [
            ("Café Maker".into(), Some("München".into())),
            ("Blender".into(), Some("Zürich".into())),
        ]
    );
}

#[test]
fn iso_8859_15_and_utf_16_with_a_bom_are_decoded() {
    let db = TestDb::new("latin9_utf16");
    let dir = tempfile::tempdir().unwrap();
    // The euro sign is 0xA4 in ISO-8859-15, where ISO-8859-1 has the currency sign.
    let euro = "3,9,Lampe €co,BrandL,Electronics,1,TechGear,Online,,1,30,2024-03-01";
    let latin9 = feed(
        dir.path(),
        "latin9.csv",
        &[HEADER, euro],
        encoding_rs::ISO_8859_15,
    );
    let contract = contract_with(dir.path(), r#"encoding = "ISO-8859-15""#);
    db.salesflow_ok(
        &["ingest", &latin9, "--contract", contract.to_str().unwrap()],
        0,
    );
    let utf16 = feed(
        dir.path(),
        "utf16.csv",
        &[HEADER, ROWS[0], ROWS[1]],
        encoding_rs::UTF_16LE,
    );
    let contract = contract_with(dir.path(), r#"encoding = "UTF-16LE""#);
    db.salesflow_ok(
        &["ingest", &utf16, "--contract", contract.to_str().unwrap()],
        0,
    );
    assert_eq!(
        names_and_locations(&db),
        [
            ("Café Maker".into(), Some("München".into())),
            ("Blender".into(), Some("Zürich".into())),
            ("Lampe €co".into(), None),
        ]
    );
}

#[test]
fn semicolon_tab_and_pipe_delimited_files_load_with_their_quotes_and_escapes() {
    let db = TestDb::new("delimiters");
    let dir = tempfile::tempdir().unwrap();
    let with = |delimiter: &str, line: &str| line.replace(',', delimiter);
    let semicolon = feed(
        dir.path(),
        "semicolon.csv",
        &[&with(";", HEADER), &with(";", ROWS[0])],
        encoding_rs::UTF_8,
    );
    let contract = contract_with(dir.path(), r#"delimiter = ";""#);
    db.salesflow_ok(
        &[
            "ingest",
            &semicolon,
            "--contract",
            contract.to_str().unwrap(),
        ],
        0,
    );
    let tab = feed(
        dir.path(),
        "tab.tsv.csv",
        &[&with("\t", HEADER), &with("\t", ROWS[1])],
        encoding_rs::UTF_8,
    );
    let contract = contract_with(dir.path(), r#"delimiter = "\t""#);
    db.salesflow_ok(
        &["ingest", &tab, "--contract", contract.to_str().unwrap()],
        0,
    );
    // Pipes inside a quoted field are text; a quote inside it is escaped with a backslash.
    let pipe = feed(
        dir.path(),
        "pipe.csv",
        &[
            &with("|", HEADER),
            r#"3|6|'Desk | Lamp \'XL\''|BrandF|Electronics|1|TechGear|Online||1|50|2024-03-02"#,
        ],
        encoding_rs::UTF_8,
    );
    let contract = contract_with(
        dir.path(),
        "delimiter = \"|\"\nquote = \"'\"\nescape = \"\\\\\"",
    );
    db.salesflow_ok(
        &["ingest", &pipe, "--contract", contract.to_str().unwrap()],
        0,
    );
    assert_eq!(
        names_and_locations(&db),
        [
            ("Café Maker".into(), Some("München".into())),
            ("Blender".into(), Some("Zürich".into())),
            ("Desk | Lamp 'XL'".into(), None),
        ]
    );
    // The quarantine keeps a rejected record's text as the file had it.
    let bad = feed(
        dir.path(),
        "bad.csv",
        &[
            &with(";", HEADER),
            "4;1;Laptop;BrandA;Electronics;1;TechGear;Online;;-1;1500;2024-03-03",
        ],
        encoding_rs::UTF_8,
    );
    let contract = contract_with(dir.path(), r#"delimiter = ";""#);
    db.salesflow_ok(
        &["ingest", &bad, "--contract", contract.to_str().unwrap()],
        0,
    );
    assert_eq!(
        db.value::<String>("select raw_record from raw.sales_rejects"),
        "4;1;Laptop;BrandA;Electronics;1;TechGear;Online;;-1;1500;2024-03-03"
    );
}

#[test]
fn a_dialect_the_contract_cannot_mean_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (settings, says) in [
        (
            r#"encoding = "EBCDIC-fantasy""#,
            "not an encoding salesflow knows",
        ),
        (r#"delimiter = ";;""#, "must be one ASCII character"),
        (
            r#"delimiter = "'"
quote = "'""#,
            "must differ",
        ),
    ] {
        let contract = contract_with(dir.path(), settings);
        let output = salesflow_command(&["check", "--contract", contract.to_str().unwrap()])
            .arg(reference_csv())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{settings}");
        assert!(
            stderr(&output).contains(says),
            "{settings}: {}",
            stderr(&output)
        );
    }
}

/// An export as a European spreadsheet writes it (Windows-1252, `;`, decimal commas,
/// day-first dates): a laptop at 1.500,00, then `rows`.
fn european_export(dir: &Path, rows: &[&str]) -> String {
    let header = HEADER.replace(',', ";");
    let mut lines = vec![
        header.as_str(),
        "1;1;Laptop;BrandA;Electronics;1;TechGear;Online;;1;1.500,00;01.02.2024",
    ];
    lines.extend_from_slice(rows);
    feed(dir, "export.csv", &lines, encoding_rs::WINDOWS_1252)
}

#[test]
fn a_european_export_loads_with_its_decimal_comma_and_day_first_dates() {
    let db = TestDb::new("european");
    let dir = tempfile::tempdir().unwrap();
    let file = european_export(
        dir.path(),
        &[
            "2;2;Kaffeemaschine;BrandB;Appliances;2;HomeEssentials;Offline;München;3;\"99,90\";15.02.2024",
            "3;2;Kaffeemaschine;BrandB;Appliances;2;HomeEssentials;Offline;München;1;99.90;16.02.2024",
        ],
    );
    let text = salesflow::contract::DEFAULT_CONTRACT
        .replacen(
            "[format]\n",
            "[format]\nencoding = \"windows-1252\"\ndelimiter = \";\"\ndecimal_separator = \",\"\n",
            1,
        )
        .replace(
            r#"formats = ["%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.fZ"]"#,
            r#"formats = ["%d.%m.%Y"]"#,
        );
    let contract = dir.path().join("eu.toml");
    std::fs::write(&contract, text).unwrap();
    db.salesflow_ok(
        &["ingest", &file, "--contract", contract.to_str().unwrap()],
        0,
    );
    let rows: Vec<(i64, String, String, Vec<String>)> = db
        .client()
        .query(
            "select sale_id, price::text, sale_date::text, dq_flags from raw.sales order by sale_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                1,
                "1500.00".into(),
                "2024-02-01".into(),
                vec!["price:thousands_separator".to_string()]
            ),
            (2, "99.90".into(), "2024-02-15".into(), vec![]),
        ]
    );
    // A point where the feed writes a decimal comma is not guessed at: the row is rejected.
    assert_eq!(
        db.value::<Vec<String>>("select reasons from raw.sales_rejects"),
        ["price:invalid"]
    );
}

#[test]
fn a_file_in_another_dialect_says_how_to_read_it() {
    let db = TestDb::new("dialect_hint");
    let dir = tempfile::tempdir().unwrap();
    let semicolon = feed(
        dir.path(),
        "semicolon.csv",
        &[&HEADER.replace(',', ";"), &ROWS[1].replace(',', ";")],
        encoding_rs::UTF_8,
    );
    let output = db.salesflow_ok(&["ingest", &semicolon], 3);
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        all.contains(r#"looks ;-delimited, and matches the contract with `delimiter = ";"`"#),
        "{all}"
    );
    let utf16 = feed(
        dir.path(),
        "utf16.csv",
        &[HEADER, ROWS[1]],
        encoding_rs::UTF_16LE,
    );
    let output = db.salesflow_ok(&["ingest", &utf16], 3);
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(all.contains("looks UTF-16"), "{all}");
}

#[test]
fn sniff_proposes_a_contract_that_loads_the_file() {
    let db = TestDb::new("sniff");
    let dir = tempfile::tempdir().unwrap();
    let file = european_export(
        dir.path(),
        &["2;2;Café Maker;BrandB;Appliances;2;HomeEssentials;Offline;München;3;99,90;15.02.2024"],
    );
    let output = salesflow_command(&["sniff", &file]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let proposed = stdout(&output);
    for needle in [
        r#"encoding = "windows-1252""#,
        r#"delimiter = ";""#,
        r#"decimal_separator = ",""#,
        r#"formats = ["%d.%m.%Y"]"#,
        "Café",
    ] {
        assert!(
            proposed.contains(needle),
            "{needle} missing from:\n{proposed}"
        );
    }
    let contract = dir.path().join("export.toml");
    std::fs::write(&contract, &proposed).unwrap();
    let contract = contract.to_str().unwrap();
    // Every row is valid under the proposed contract, before and after loading.
    let checked = tempfile::NamedTempFile::new().unwrap();
    let checked_path = checked.path().to_str().unwrap();
    db.salesflow_ok(
        &[
            "check",
            &file,
            "--contract",
            contract,
            "--report-json",
            checked_path,
        ],
        0,
    );
    let report = json_report(checked.path());
    assert_eq!(report_counts(&report["files"][0])[0], 2);
    assert_eq!(report["files"][0]["counts"]["rejected"], 0);
    db.salesflow_ok(&["ingest", &file, "--contract", contract], 0);
    assert_eq!(
        names_and_locations(&db),
        [
            ("Laptop".into(), None),
            ("Café Maker".into(), Some("München".into())),
        ]
    );
    let values: Vec<(String, String)> =
        db.pairs("select price::text, sale_date::text from raw.sales order by sale_id");
    assert_eq!(
        values,
        [
            ("1500.00".into(), "2024-02-01".into()),
            ("99.90".into(), "2024-02-15".into()),
        ]
    );
    // The reference feed needs no contract of its own, and sniff says so.
    let output = salesflow_command(&["sniff", &reference_csv()])
        .output()
        .unwrap();
    assert!(
        stderr(&output).contains("fits the built-in contract as it is"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_database_that_is_not_utf8_stores_the_rows_in_its_own_encoding() {
    let db = TestDb::new("latin1");
    let mut admin = postgres::Client::connect(&server_url(), postgres::NoTls).unwrap();
    for statement in [
        format!("drop database {}", db.name),
        format!(
            "create database {} encoding 'LATIN1' template template0 lc_collate 'C' lc_ctype 'C'",
            db.name
        ),
    ] {
        admin.batch_execute(&statement).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = feed(
        dir.path(),
        "utf8.csv",
        &[HEADER, ROWS[0], ROWS[1]],
        encoding_rs::UTF_8,
    );
    db.salesflow_ok(&["ingest", &file], 0);
    assert_eq!(
        names_and_locations(&db),
        [
            ("Café Maker".into(), Some("München".into())),
            ("Blender".into(), Some("Zürich".into())),
        ]
    );
}
