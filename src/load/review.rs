//! Operators' review of loads at the quality gate: accepting a load over the reject
//! threshold for publication, and revoking that acceptance until the load is published.

use postgres::Transaction;

use super::ledger::{LedgerEntry, ledger_entry, utc_text};
use super::{LoadError, Warehouse};

impl Warehouse {
    /// Records that an operator accepts a succeeded load for publication despite its
    /// rejects (`salesflow.load_acceptances`): the orchestrator's quality gate then does
    /// not hold it against the reject threshold. `by` defaults to the user logged in. A load
    /// accepted before keeps its first acceptance (returned with `new: false`). A load that a
    /// publication already covers is refused: the gate never judges it again.
    pub fn accept_load(
        &mut self,
        load_id: i64,
        reason: &str,
        by: Option<&str>,
    ) -> Result<Acceptance, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let not_acceptable = |why: String| LoadError::NotAcceptable { load_id, why };
        if reason.trim().is_empty() {
            return Err(not_acceptable("the reason is empty".into()));
        }
        let mut transaction = self
            .client
            .transaction()
            .map_err(db("starting the transaction"))?;
        let Some(LedgerEntry { status, load, .. }) = ledger_entry(&mut transaction, load_id)?
        else {
            return Err(not_acceptable("the ledger has no such load".into()));
        };
        if status != "succeeded" {
            return Err(not_acceptable(format!(
                "it is {status}, so it wrote no rows to publish"
            )));
        }
        let standing = transaction
            .query_opt(
                "select from salesflow.load_acceptances where load_id = $1 and revoked_at is null",
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        if standing.is_none()
            && let Some(publication) = covering_publication(&mut transaction, load_id)?
        {
            return Err(not_acceptable(format!(
                "{publication} already published it, so an acceptance would change nothing"
            )));
        }
        let inserted = transaction
            .query_opt(
                "insert into salesflow.load_acceptances (load_id, accepted_by, reason)
                 values ($1, coalesce($2, session_user), $3)
                 on conflict (load_id) where revoked_at is null do nothing
                 returning load_id",
                &[&load_id, &by, &reason.trim()],
            )
            .map_err(db("recording the acceptance"))?;
        let accepted = transaction
            .query_one(
                &format!(
                    "select {} from salesflow.load_acceptances a
                     where load_id = $1 and revoked_at is null",
                    acceptance_columns()
                ),
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        transaction
            .commit()
            .map_err(db("committing the acceptance"))?;
        Ok(Acceptance {
            load,
            accepted: LoadAcceptance::from_row(&accepted)
                .expect("the standing acceptance was just read"),
            new: inserted.is_some(),
        })
    }

    /// Revokes the standing acceptance of a load (`salesflow accept --revoke`): the quality
    /// gate holds the load against the reject threshold again. The acceptance keeps its row,
    /// with who revoked it (`by`, default the user logged in), when and why. A load that a
    /// publication of the marts already covers is refused: revoking cannot unpublish it.
    ///
    /// The acceptance's row stays locked until the commit, and the orchestrator's publication
    /// locks the acceptances it relies on: a revocation racing a publication either comes
    /// first (and the publication fails) or sees the publication (and is refused).
    pub fn revoke_acceptance(
        &mut self,
        load_id: i64,
        reason: &str,
        by: Option<&str>,
    ) -> Result<Revocation, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let not_revocable = |why: String| LoadError::NotRevocable { load_id, why };
        if reason.trim().is_empty() {
            return Err(not_revocable("the reason is empty".into()));
        }
        let mut transaction = self
            .client
            .transaction()
            .map_err(db("starting the transaction"))?;
        let Some(LedgerEntry { load, .. }) = ledger_entry(&mut transaction, load_id)? else {
            return Err(not_revocable("the ledger has no such load".into()));
        };
        let standing = transaction
            .query_opt(
                "select acceptance_id from salesflow.load_acceptances
                 where load_id = $1 and revoked_at is null for update",
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        let Some(standing) = standing else {
            return Err(not_revocable("it has no standing acceptance".into()));
        };
        let acceptance_id: i64 = standing.get(0);
        if let Some(publication) = covering_publication(&mut transaction, load_id)? {
            return Err(not_revocable(format!(
                "{publication} already published it, and revoking cannot unpublish it"
            )));
        }
        let revoked = transaction
            .query_one(
                &format!(
                    "update salesflow.load_acceptances a
                     set revoked_at = now(), revoked_by = coalesce($2, session_user),
                         revoke_reason = $3
                     where acceptance_id = $1
                     returning {}",
                    acceptance_columns()
                ),
                &[&acceptance_id, &by, &reason.trim()],
            )
            .map_err(db("revoking the acceptance"))?;
        transaction
            .commit()
            .map_err(db("committing the revocation"))?;
        Ok(Revocation {
            load,
            acceptance: LoadAcceptance::from_row(&revoked)
                .expect("the revoked acceptance was just written"),
        })
    }
}

/// A load that an operator accepts at the quality gate, or whose acceptance they revoke.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewedLoad {
    pub load_id: i64,
    pub source_path: String,
    pub rows_read: u64,
    pub rows_rejected: u64,
}

/// The first publication of the marts that covers a load, described as
/// `publication 3 (through load 7, at 2026-11-26T08:00:31Z by airflow ...)`; None while the
/// load is unpublished.
fn covering_publication(
    transaction: &mut Transaction<'_>,
    load_id: i64,
) -> Result<Option<String>, LoadError> {
    let publication = transaction
        .query_opt(
            &format!(
                "select publication_id, through_load_id, {published_at} as published_at,
                        published_by
                 from salesflow.publications where through_load_id >= $1
                 order by publication_id limit 1",
                published_at = utc_text("published_at"),
            ),
            &[&load_id],
        )
        .map_err(|source| LoadError::database("reading the publications", source))?;
    Ok(publication.map(|row| {
        let (publication_id, through, at, by): (i64, i64, String, String) = (
            row.get("publication_id"),
            row.get("through_load_id"),
            row.get("published_at"),
            row.get("published_by"),
        );
        format!("publication {publication_id} (through load {through}, at {at} by {by})")
    }))
}

/// A load accepted for publication despite its rejects, as `salesflow accept` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Acceptance {
    #[serde(flatten)]
    pub load: ReviewedLoad,
    #[serde(flatten)]
    pub accepted: LoadAcceptance,
    /// False when the load had been accepted before: that acceptance stands.
    pub new: bool,
}

/// A revoked acceptance, as `salesflow accept --revoke` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Revocation {
    #[serde(flatten)]
    pub load: ReviewedLoad,
    #[serde(flatten)]
    pub acceptance: LoadAcceptance,
}

/// Who accepted a load at the quality gate, when and why; and whether that was revoked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadAcceptance {
    /// ISO 8601 in UTC.
    pub accepted_at: String,
    pub accepted_by: String,
    pub reason: String,
    /// Set when the acceptance was revoked (`salesflow accept --revoke`): it no longer stands.
    pub revoked: Option<AcceptanceRevocation>,
}

/// Who revoked an acceptance, when and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcceptanceRevocation {
    /// ISO 8601 in UTC.
    pub revoked_at: String,
    pub revoked_by: String,
    pub reason: String,
}

impl LoadAcceptance {
    /// The acceptance in the columns of `acceptance_columns()`; None when they are NULL (a
    /// load without acceptance, from an outer join).
    pub(super) fn from_row(row: &postgres::Row) -> Option<LoadAcceptance> {
        let accepted_at: String = row.get::<_, Option<String>>("accepted_at")?;
        Some(LoadAcceptance {
            accepted_at,
            accepted_by: row.get("accepted_by"),
            reason: row.get("acceptance_reason"),
            revoked: row
                .get::<_, Option<String>>("revoked_at")
                .map(|revoked_at| AcceptanceRevocation {
                    revoked_at,
                    revoked_by: row.get("revoked_by"),
                    reason: row.get("revoke_reason"),
                }),
        })
    }
}

/// The columns of an acceptance (alias `a`), as `LoadAcceptance::from_row` reads them.
pub(super) fn acceptance_columns() -> String {
    format!(
        "{} as accepted_at, a.accepted_by, a.reason as acceptance_reason, {} as revoked_at, \
         a.revoked_by, a.revoke_reason",
        utc_text("a.accepted_at"),
        utc_text("a.revoked_at")
    )
}
