//! Versioned schema migrations, applied by salesflow itself.
//!
//! Pending migrations run once, in one transaction, under an advisory lock so that two
//! loaders starting together do not race. The applied versions and a checksum of each
//! script are kept in `salesflow.schema_migrations`; a script that changed after it was
//! applied is an error, not a silent divergence.

use postgres::Client;
use sha2::{Digest, Sha256};

use super::{LoadError, lock};

/// The migrations, in order. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "initial schema",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "reject fields",
        include_str!("../../migrations/0002_reject_fields.sql"),
    ),
    (
        3,
        "reject currency",
        include_str!("../../migrations/0003_reject_currency.sql"),
    ),
    (
        4,
        "publications",
        include_str!("../../migrations/0004_publications.sql"),
    ),
    (
        5,
        "load acceptances",
        include_str!("../../migrations/0005_load_acceptances.sql"),
    ),
    (
        6,
        "file modification time",
        include_str!("../../migrations/0006_file_modified_at.sql"),
    ),
    (
        7,
        "load failure class",
        include_str!("../../migrations/0007_load_failure.sql"),
    ),
    (
        8,
        "acceptance revocations",
        include_str!("../../migrations/0008_acceptance_revocations.sql"),
    ),
];

/// Brings the schema up to date; returns how many migrations were applied.
pub fn migrate(client: &mut Client) -> Result<usize, LoadError> {
    let db = |source| LoadError::database("applying schema migrations", source);
    lock::take_migrations(client).map_err(db)?;
    let applied = apply_pending(client);
    lock::release_migrations(client).map_err(db)?;
    applied
}

fn apply_pending(client: &mut Client) -> Result<usize, LoadError> {
    let db = |source| LoadError::database("applying schema migrations", source);
    client
        .batch_execute("create schema if not exists salesflow")
        .map_err(db)?;
    client
        .batch_execute(
            "create table if not exists salesflow.schema_migrations (
                version    integer primary key,
                name       text not null,
                sha256     text not null,
                applied_at timestamptz not null default now()
            )",
        )
        .map_err(db)?;
    let mut transaction = client.transaction().map_err(db)?;
    let applied: Vec<(i32, String)> = transaction
        .query(
            "select version, sha256 from salesflow.schema_migrations",
            &[],
        )
        .map_err(db)?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut count = 0;
    for (version, name, script) in MIGRATIONS {
        let sha256 = hex::encode(Sha256::digest(script.as_bytes()));
        match applied.iter().find(|(v, _)| v == version) {
            Some((_, recorded)) if *recorded == sha256 => continue,
            Some(_) => {
                return Err(LoadError::Migration(format!(
                    "migration {version} ({name}) differs from the one applied to this database"
                )));
            }
            None => {}
        }
        transaction.batch_execute(script).map_err(db)?;
        transaction
            .execute(
                "insert into salesflow.schema_migrations (version, name, sha256) values ($1, $2, $3)",
                &[version, name, &sha256],
            )
            .map_err(db)?;
        tracing::info!(version, name, "applied migration");
        count += 1;
    }
    transaction.commit().map_err(db)?;
    Ok(count)
}
