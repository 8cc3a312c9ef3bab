//! Versioned schema migrations, applied by salesflow itself.
//!
//! Pending migrations run once, in one transaction, under an advisory lock so that two
//! loaders starting together do not race. The applied versions and a checksum of each
//! script are kept in `salesflow.schema_migrations`; a script that changed after it was
//! applied is an error, not a silent divergence.
//!
//! The roles migration needs more than ownership of the schema: the right to create roles,
//! or the roles made by an administrator beforehand. Without either it is left pending, with
//! a warning that says what the administrator must run, and the other migrations go on: the
//! warehouse works as before, under the one user that owns it, until the roles exist.

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
    (
        ROLES_MIGRATION,
        "least-privilege roles",
        include_str!("../../migrations/0009_roles.sql"),
    ),
    (
        10,
        "contract versions",
        include_str!("../../migrations/0010_contract_versions.sql"),
    ),
    (11, "feeds", include_str!("../../migrations/0011_feeds.sql")),
    (
        12,
        "replays",
        include_str!("../../migrations/0012_replay.sql"),
    ),
    (
        13,
        "sales indexes by plan",
        include_str!("../../migrations/0013_sales_indexes_by_plan.sql"),
    ),
];

/// The migration that creates the group roles and hands them the schemas.
const ROLES_MIGRATION: i32 = 9;

/// The group roles, as migration 9 creates them.
pub const LOADER_ROLE: &str = "salesflow_loader";
pub const TRANSFORMER_ROLE: &str = "salesflow_transformer";
pub const READER_ROLE: &str = "salesflow_reader";
const ROLES: [&str; 3] = [LOADER_ROLE, TRANSFORMER_ROLE, READER_ROLE];

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
    // Only where it is missing: `create ... if not exists` still needs the right to create,
    // which a loader that merely uses the warehouse does not have.
    let bookkept: bool = client
        .query_one(
            "select to_regclass('salesflow.schema_migrations') is not null",
            &[],
        )
        .map_err(db)?
        .get(0);
    if !bookkept {
        client
            .batch_execute(
                "create schema if not exists salesflow;
                 create table if not exists salesflow.schema_migrations (
                     version    integer primary key,
                     name       text not null,
                     sha256     text not null,
                     applied_at timestamptz not null default now()
                 )",
            )
            .map_err(db)?;
    }
    let mut transaction = client.transaction().map_err(db)?;
    let applied: Vec<(i32, String)> = transaction
        .query(
            "select version, sha256 from salesflow.schema_migrations",
            &[],
        )
        .map_err(db)?
        .iter()
        .map(|row| (row.get("version"), row.get("sha256")))
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
        if *version == ROLES_MIGRATION && !may_set_up_roles(&mut transaction).map_err(db)? {
            let user: String = transaction
                .query_one("select current_user::text", &[])
                .map_err(db)?
                .get(0);
            tracing::warn!(
                "the least-privilege roles are not set up: {user} may not create roles. \
                 An administrator runs once, on this server:\n  \
                 CREATE ROLE salesflow_loader NOLOGIN; \
                 CREATE ROLE salesflow_transformer NOLOGIN; \
                 CREATE ROLE salesflow_reader NOLOGIN;\n  \
                 GRANT salesflow_loader, salesflow_transformer, salesflow_reader TO \"{user}\";\n\
                 and the next salesflow command as {user} completes the set-up. \
                 Until then everything runs as {user}."
            );
            continue;
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

/// Whether the roles migration can run: the current user may create roles, or they all
/// exist and it is a member of each (it hands the schemas over to them).
fn may_set_up_roles(transaction: &mut postgres::Transaction) -> Result<bool, postgres::Error> {
    let row = transaction.query_one(
        "select (select rolsuper or rolcreaterole from pg_roles where rolname = current_user)
             or (select count(*) = 3 from pg_roles
                 where rolname = any($1) and pg_has_role(current_user, oid, 'member'))",
        &[&&ROLES[..]],
    )?;
    Ok(row.get::<_, Option<bool>>(0).unwrap_or(false))
}

/// Takes the loader's role for the rest of the session (`SET ROLE`), when it exists and the
/// user is a member of it, so that the partitions and ledger rows a load creates belong to
/// the role, whichever member created them. Returns whether it did. A user outside the role
/// (a warehouse without the roles, say) goes on as itself.
pub fn take_loader_role(client: &mut postgres::Client) -> Result<bool, postgres::Error> {
    let member = client
        .query_one(
            "select exists (select from pg_roles
                            where rolname = $1 and pg_has_role(current_user, oid, 'member'))",
            &[&LOADER_ROLE],
        )?
        .get(0);
    if member {
        client.batch_execute(&format!("set role {LOADER_ROLE}"))?;
    }
    Ok(member)
}
