//! `salesflow accept`: an operator's acceptance of a load over the quality threshold, and its
//! revocation.

use crate::{DatabaseArgs, describe_load, exit};

/// Accept a succeeded load for publication despite its rejects (--revoke: take that back).
///
/// The Airflow DAG's quality gate holds back every load that rejected more than its
/// threshold of rows (max_reject_rate, 5 % by default), and every later run fails on it
/// too. After looking at its rows (`salesflow rejects LOAD_ID`), accept the load: the gate then
/// publishes it, without raising the threshold for other loads (clear the failed
/// quality_gate task, or let the next run with new files judge it). The acceptance, with
/// who and why, is kept in salesflow.load_acceptances. Accepting a load twice keeps the
/// first acceptance. A load that the marts were already published with is not judged
/// again, so accepting it is refused.
///
/// --revoke takes a standing acceptance back, until the marts are published with the load:
/// the gate holds the load back again. The revoked acceptance stays on record with who
/// revoked it, when and why, and the load can be accepted again later.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The load id, as `salesflow status` and the quality gate's message show it.
    load_id: i64,
    /// Why the load may be published (with --revoke: why no longer). Kept on record.
    #[arg(long)]
    reason: String,
    /// Who accepts or revokes (default: the database user logged in).
    #[arg(long)]
    by: Option<String>,
    /// Revoke the load's standing acceptance instead (refused once the load is published).
    #[arg(long)]
    revoke: bool,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    if args.revoke {
        let revocation =
            warehouse.revoke_acceptance(args.load_id, &args.reason, args.by.as_deref())?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&revocation)?);
            return Ok(exit::OK);
        }
        let accepted = &revocation.acceptance;
        let revoked = accepted
            .revoked
            .as_ref()
            .expect("a revocation reports its revoked acceptance");
        println!(
            "load {} ({}): the acceptance by {} at {} is revoked by {} at {}: {}. \
             The quality gate holds the load back again if it is over the threshold.",
            revocation.load.load_id,
            describe_load(&revocation.load),
            accepted.accepted_by,
            accepted.accepted_at,
            revoked.revoked_by,
            revoked.revoked_at,
            revoked.reason
        );
        return Ok(exit::OK);
    }
    let acceptance = warehouse.accept_load(args.load_id, &args.reason, args.by.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&acceptance)?);
        return Ok(exit::OK);
    }
    let verb = if acceptance.new {
        "accepted"
    } else {
        "was already accepted"
    };
    println!(
        "load {} ({}) {verb} by {} at {}: {}",
        acceptance.load.load_id,
        describe_load(&acceptance.load),
        acceptance.accepted.accepted_by,
        acceptance.accepted.accepted_at,
        acceptance.accepted.reason
    );
    Ok(exit::OK)
}
