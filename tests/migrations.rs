//! Schema migrations: a warehouse made by an older salesflow is brought up to date by the
//! next command, keeping what it holds.

mod common;

use common::*;

#[test]
fn a_schema_version_1_database_is_migrated_on_the_next_ingest() {
    let db = TestDb::new("upgrade_v1");
    // What a salesflow with only migration 0001 left behind: its bookkeeping table (as it
    // created it then), the schema, and a load with one quarantined row.
    db.schema_as_of_version(1);
    let client = &mut db.client();
    client
        .batch_execute(
            "insert into salesflow.loads (source_path, file_sha256, file_bytes, status, rows_read, rows_rejected)
             values ('old.csv', 'abc', 10, 'succeeded', 1, 1);
             insert into raw.sales_rejects (load_id, source_line, raw_record, reasons, message)
             values (1, 2, '1,2,3', '{field_count}', 'expected 12 fields as in the header, found 3');",
        )
        .unwrap();

    db.salesflow_ok(&["ingest", &reference_csv()], 0);
    let versions: Vec<(i32, String)> =
        db.pairs("select version, name from salesflow.schema_migrations order by version");
    assert_eq!(
        versions,
        vec![
            (1, "0001_init".into()),
            (2, "reject fields".into()),
            (3, "reject currency".into()),
            (4, "publications".into()),
            (5, "load acceptances".into()),
            (6, "file modification time".into()),
            (7, "load failure class".into()),
            (8, "acceptance revocations".into()),
            (9, "least-privilege roles".into()),
            (10, "contract versions".into()),
            (11, "feeds".into()),
            (12, "replays".into()),
            (13, "sales indexes by plan".into())
        ]
    );
    // The old reject is kept, with NULL fields; the new load's reject has its fields.
    let rejects = reject_fields(&db);
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].1, vec!["field_count"]);
    assert_eq!(rejects[0].2, fields([None; 13]));
    assert_eq!(rejects[1].2[1].as_deref(), Some("7"));
    // Typed like raw.sales.
    let types: Vec<String> = client
        .query(
            "select format_type(atttypid, atttypmod) from pg_attribute
             where attrelid = 'raw.sales_rejects'::regclass
               and attname in ('sale_id', 'quantity', 'price', 'currency', 'sale_date')
             order by attname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        types,
        vec!["text", "numeric(12,2)", "integer", "date", "bigint"]
    );
    // A further run has nothing to apply.
    db.salesflow_ok(&["status"], 0);
    assert_eq!(
        db.count("select count(*) from salesflow.schema_migrations"),
        13
    );
}

#[test]
fn raw_sales_keeps_only_the_indexes_that_plans_use() {
    let db = TestDb::new("sales_indexes");
    db.salesflow_ok(&["status"], 0);
    let indexes: Vec<(String, String)> = db.pairs(
        "select indexname::text, regexp_replace(indexdef, '^.* USING ', '')
         from pg_indexes where schemaname = 'raw' and tablename = 'sales' order by indexname",
    );
    assert_eq!(
        indexes,
        vec![
            ("sales_load_id_brin".into(), "brin (load_id)".into()),
            ("sales_pkey".into(), "btree (sale_id, sale_date)".into()),
            (
                "sales_product_id_missing_idx".into(),
                "btree (product_id) WHERE (product_id IS NULL)".into()
            ),
        ]
    );
}

#[test]
fn the_amount_type_the_cleaner_checks_is_the_one_the_migrations_declare() {
    let db = TestDb::new("amount_type");
    db.salesflow_ok(&["status"], 0);
    for table in ["raw.sales", "raw.sales_rejects"] {
        assert_eq!(
            db.value::<String>(&format!(
                "select format_type(atttypid, atttypmod) from pg_attribute
                 where attrelid = '{table}'::regclass and attname = 'price'"
            )),
            salesflow::contract::AMOUNT_TYPE.to_string(),
            "{table}.price"
        );
    }
}

#[test]
fn a_warehouse_from_before_the_roles_is_handed_over_to_them() {
    let db = TestDb::new("roles_upgrade");
    db.schema_as_of_version(8);
    // What a superuser's dbt left before the roles existed.
    db.client()
        .batch_execute(
            "create schema marts; create schema staging;
             create table marts.fct_sales (sale_id bigint);
             create view staging.stg_sales as select 1 as sale_id;",
        )
        .unwrap();
    db.salesflow_ok(&["status"], 0);
    let owner = |relation: &str| {
        db.value::<String>(&format!(
            "select pg_get_userbyid(relowner)::text from pg_class where oid = '{relation}'::regclass"
        ))
    };
    assert_eq!(owner("raw.sales"), "salesflow_loader");
    assert_eq!(owner("raw.sale_keys"), "salesflow_loader");
    assert_eq!(owner("marts.fct_sales"), "salesflow_transformer");
    assert_eq!(owner("staging.stg_sales"), "salesflow_transformer");
    let can_read = |role: &str, relation: &str| {
        db.value::<bool>(&format!(
            "select has_table_privilege('{role}', '{relation}', 'select')"
        ))
    };
    assert!(can_read("salesflow_reader", "marts.fct_sales"));
    assert!(!can_read("salesflow_reader", "raw.sales"));
    assert!(can_read("salesflow_transformer", "raw.sales"));
    assert!(can_read("salesflow_transformer", "salesflow.loads"));
}
