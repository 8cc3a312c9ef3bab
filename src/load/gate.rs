//! The quality gate and the publication of the marts.
//!
//! The gate judges every succeeded load after the last publication (`salesflow.publications`)
//! through a given load, not only the loads of one orchestrator run: a load that failed the
//! gate stays unpublished, and a later run fails on it again rather than publishing it
//! unjudged. A load passes when at most the threshold's share of the rows it read is in
//! quarantine (the rows its file rejected, less those a replay has loaded since), or when an
//! operator's acceptance of it stands (`salesflow accept`).
//!
//! A publication judges the same loads again in its own transaction, with the standing
//! acceptances it relies on locked (FOR SHARE) until it commits. A revocation locks the
//! acceptance it revokes: one that comes first is seen, and the publication is refused; one
//! that comes later waits, then finds the load published and is refused in turn.

use postgres::GenericClient;

use super::ledger::utc_text;
use super::review::{LoadAcceptance, acceptance_columns};
use super::{LoadError, ReasonCount, Warehouse};
use crate::report::reject_rate;

/// How the gate judged the unpublished loads.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateVerdict {
    /// The last load a publication covers (0 before the first publication).
    pub after_load_id: i64,
    /// The last load judged.
    pub through_load_id: i64,
    /// The share of a load's rows that may be rejected.
    pub threshold: f64,
    /// Every succeeded load after `after_load_id` through `through_load_id`, in order.
    pub loads: Vec<JudgedLoad>,
    /// Totals over those loads.
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub reject_rate: f64,
    /// True when no load is over the threshold without a standing acceptance.
    pub passed: bool,
}

/// One load as the gate judged it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JudgedLoad {
    pub load_id: i64,
    pub source_path: String,
    pub rows_read: u64,
    /// The load's rows still in quarantine: those its file rejected, less those a replay
    /// (`salesflow replay`) has loaded since.
    pub rows_rejected: u64,
    pub reject_rate: f64,
    /// `passed` (at most the threshold), `accepted` (over it, with a standing acceptance) or
    /// `held` (over it: not published).
    pub verdict: Verdict,
    /// The reject reasons of the load's quarantined rows, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// The standing acceptance, when there is one.
    pub acceptance: Option<LoadAcceptance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Accepted,
    Held,
}

impl GateVerdict {
    /// The loads held back.
    pub fn held(&self) -> impl Iterator<Item = &JudgedLoad> {
        self.loads
            .iter()
            .filter(|load| load.verdict == Verdict::Held)
    }
}

/// A publication of the marts, as `salesflow publish` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Publication {
    pub publication_id: i64,
    /// ISO 8601 in UTC.
    pub published_at: String,
    pub published_by: String,
    #[serde(flatten)]
    pub verdict: GateVerdict,
}

/// What `salesflow publish` did.
#[derive(Debug, Clone)]
pub enum PublishOutcome {
    Published(Publication),
    /// The gate held loads back: nothing was recorded.
    Refused(GateVerdict),
}

impl Warehouse {
    /// Judges the succeeded loads after the last publication, through `through` (default:
    /// the newest succeeded load), against `threshold`. Reads one snapshot; writes nothing.
    pub fn judge_loads(
        &mut self,
        threshold: f64,
        through: Option<i64>,
    ) -> Result<GateVerdict, LoadError> {
        let mut transaction = self.snapshot()?;
        let verdict = judge(&mut transaction, threshold, through, false)?;
        transaction
            .commit()
            .map_err(|source| LoadError::database("ending the transaction", source))?;
        Ok(verdict)
    }

    /// Publishes the marts through load `through`: judges the loads again, with the standing
    /// acceptances locked, and records the publication (`salesflow.publications`) when they
    /// pass, so that the next gate judges the loads after it. `by` names the publisher (an
    /// orchestrator run, say; default: the user logged in).
    pub fn publish(
        &mut self,
        threshold: f64,
        through: i64,
        by: Option<&str>,
    ) -> Result<PublishOutcome, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let mut transaction = self
            .client
            .transaction()
            .map_err(db("starting the transaction"))?;
        let verdict = judge(&mut transaction, threshold, Some(through), true)?;
        if !verdict.passed {
            return Ok(PublishOutcome::Refused(verdict));
        }
        let row = transaction
            .query_one(
                &format!(
                    "insert into salesflow.publications (through_load_id, published_by)
                     values ($1, coalesce($2, session_user))
                     returning publication_id, published_by, {} as published_at",
                    utc_text("published_at")
                ),
                &[&verdict.through_load_id, &by],
            )
            .map_err(db("recording the publication"))?;
        transaction
            .commit()
            .map_err(db("committing the publication"))?;
        Ok(PublishOutcome::Published(Publication {
            publication_id: row.get("publication_id"),
            published_at: row.get("published_at"),
            published_by: row.get("published_by"),
            verdict,
        }))
    }
}

/// The gate's judgement, in the caller's transaction; `lock` takes the standing acceptances
/// it relies on FOR SHARE.
fn judge(
    client: &mut impl GenericClient,
    threshold: f64,
    through: Option<i64>,
    lock: bool,
) -> Result<GateVerdict, LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let window = client
        .query_one(
            "select coalesce((select max(through_load_id) from salesflow.publications), 0)
                        as after_load_id,
                    coalesce((select max(load_id) from salesflow.loads
                              where status = 'succeeded'), 0) as newest_load_id",
            &[],
        )
        .map_err(db("reading the publications"))?;
    let after: i64 = window.get("after_load_id");
    let through = through
        .unwrap_or_else(|| window.get("newest_load_id"))
        .max(after);
    let loads = client
        .query(
            "select load_id, source_path, rows_read,
                    -- what is still in quarantine: a replay takes out the rows it loaded
                    (select count(*) from raw.sales_rejects r where r.load_id = l.load_id)
                        as rows_rejected
             from salesflow.loads l
             where load_id > $1 and load_id <= $2 and status = 'succeeded'
               -- a replay's rejects are rows its loads were judged with already
               and kind = 'file'
             order by load_id",
            &[&after, &through],
        )
        .map_err(db("reading the load ledger"))?;
    let acceptances = client
        .query(
            &format!(
                "select a.load_id, {columns} from salesflow.load_acceptances a
                 where a.load_id > $1 and a.load_id <= $2 and a.revoked_at is null
                 order by a.load_id{lock}",
                columns = acceptance_columns(),
                lock = if lock { " for share" } else { "" },
            ),
            &[&after, &through],
        )
        .map_err(db("reading the acceptances"))?;
    let reasons = client
        .query(
            "select load_id, reason, count(*) as rows
             from raw.sales_rejects, unnest(reasons) as reason
             where load_id > $1 and load_id <= $2
             group by load_id, reason
             order by load_id, count(*) desc, reason",
            &[&after, &through],
        )
        .map_err(db("counting the rejects"))?;

    let mut verdict = GateVerdict {
        after_load_id: after,
        through_load_id: through,
        threshold,
        loads: Vec::with_capacity(loads.len()),
        rows_read: 0,
        rows_rejected: 0,
        reject_rate: 0.0,
        passed: true,
    };
    for row in &loads {
        let load_id: i64 = row.get("load_id");
        let rows_read = row.get::<_, i64>("rows_read") as u64;
        let rows_rejected = row.get::<_, i64>("rows_rejected") as u64;
        let rate = reject_rate(rows_read, rows_rejected);
        let acceptance = acceptances
            .iter()
            .find(|accepted| accepted.get::<_, i64>("load_id") == load_id)
            .and_then(LoadAcceptance::from_row);
        let load_verdict = match (rate > threshold, &acceptance) {
            (false, _) => Verdict::Passed,
            (true, Some(_)) => Verdict::Accepted,
            (true, None) => Verdict::Held,
        };
        verdict.passed &= load_verdict != Verdict::Held;
        verdict.rows_read += rows_read;
        verdict.rows_rejected += rows_rejected;
        verdict.loads.push(JudgedLoad {
            load_id,
            source_path: row.get("source_path"),
            rows_read,
            rows_rejected,
            reject_rate: rate,
            verdict: load_verdict,
            reasons: reasons
                .iter()
                .filter(|reason| reason.get::<_, i64>("load_id") == load_id)
                .map(|reason| ReasonCount {
                    reason: reason.get("reason"),
                    rows: reason.get::<_, i64>("rows") as u64,
                })
                .collect(),
            acceptance,
        });
    }
    verdict.reject_rate = reject_rate(verdict.rows_read, verdict.rows_rejected);
    Ok(verdict)
}
