//! Advisory locks. Keys are (class, object) pairs; the class spells "SFLW" so that
//! salesflow's locks do not collide with an application's own advisory locks.

use postgres::GenericClient;

const CLASS: i32 = 0x5346_4c57;
const LOADS: i32 = 1;
const MIGRATIONS: i32 = 2;

/// Waits for the right to load (session lock: held across the file's transaction and
/// the ledger updates around it, released on disconnect if the process dies). Says so
/// when another load holds it, rather than hanging silently.
pub fn take_loads(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    if try_loads(client)? {
        return Ok(());
    }
    let running = client.query_opt(
        "select load_id, source_path from salesflow.loads where status = 'running'
         order by load_id desc limit 1",
        &[],
    )?;
    match running {
        Some(row) => tracing::info!(
            load_id = row.get::<_, i64>("load_id"),
            path = row.get::<_, String>("source_path"),
            "waiting for another load to finish (files are loaded one at a time)"
        ),
        None => {
            tracing::info!("waiting for another load to finish (files are loaded one at a time)")
        }
    }
    client.execute("select pg_advisory_lock($1, $2)", &[&CLASS, &LOADS])?;
    Ok(())
}

/// Takes the load lock only if nobody holds it.
pub fn try_loads(client: &mut impl GenericClient) -> Result<bool, postgres::Error> {
    Ok(client
        .query_one("select pg_try_advisory_lock($1, $2)", &[&CLASS, &LOADS])?
        .get(0))
}

pub fn release_loads(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    client.execute("select pg_advisory_unlock($1, $2)", &[&CLASS, &LOADS])?;
    Ok(())
}

/// Serializes schema migrations, including the creation of their bookkeeping table
/// (session lock: catalog DDL races even with IF NOT EXISTS).
pub fn take_migrations(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    client.execute("select pg_advisory_lock($1, $2)", &[&CLASS, &MIGRATIONS])?;
    Ok(())
}

pub fn release_migrations(client: &mut impl GenericClient) -> Result<(), postgres::Error> {
    client.execute("select pg_advisory_unlock($1, $2)", &[&CLASS, &MIGRATIONS])?;
    Ok(())
}
