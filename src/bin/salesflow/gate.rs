//! `salesflow gate` and `salesflow publish`: the quality gate over the loads not yet
//! published, and the publication of the marts.

use salesflow::load::{GateVerdict, PublishOutcome, Verdict};

use crate::ingest::parse_rate;
use crate::{ContractArgs, DatabaseArgs, exit};

/// Judge the loads not yet published against the quality gate.
///
/// Every succeeded load after the last publication of the marts (salesflow.publications),
/// through --through (default: the newest succeeded load), passes when it rejected at most
/// the threshold's share of the rows it read, or when an operator's acceptance of it stands
/// (`salesflow accept`). Loads of earlier runs that were held back are judged again, so none
/// reaches the published marts unjudged. Exit 0 when every load passes; 3 when one is held
/// back: `salesflow rejects LOAD_ID` shows its rows, `salesflow accept LOAD_ID --reason ...`
/// lets it through. The Airflow DAG runs this after dbt, then `salesflow publish`.
#[derive(clap::Args)]
pub struct GateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    threshold: ThresholdArgs,
    /// The last load to judge (default: the newest succeeded load).
    #[arg(long, value_name = "LOAD_ID")]
    through: Option<i64>,
    /// Print the verdict as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Publish the marts through a load, after the quality gate passes.
///
/// Judges the loads not yet published through --through again, as `salesflow gate` does, with
/// the acceptances it relies on locked until the publication commits, then records the
/// publication in salesflow.publications: the next gate judges the loads after it. A load
/// held back, or whose acceptance was revoked in the meantime (`salesflow accept --revoke`),
/// refuses the publication (exit 3) and nothing is recorded. Give --through the newest load
/// the marts were built from: a load committed while dbt ran is not in them.
#[derive(clap::Args)]
pub struct PublishArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    threshold: ThresholdArgs,
    /// The last load the marts were built from.
    #[arg(long, value_name = "LOAD_ID")]
    through: i64,
    /// Who publishes, kept on record (default: the database user logged in).
    #[arg(long)]
    by: Option<String>,
    /// Print the publication (or the refusing verdict) as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ThresholdArgs {
    /// The share of a load's rows that may be rejected, 0..1 (default: the contract's
    /// quality_gate.max_reject_rate, 0.05 in the built-in contract).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,
    #[command(flatten)]
    contract: ContractArgs,
}

impl ThresholdArgs {
    pub fn threshold(&self) -> anyhow::Result<f64> {
        Ok(match self.max_reject_rate {
            Some(rate) => rate,
            None => self.contract.load()?.max_reject_rate,
        })
    }

    /// The threshold and where it comes from: `--max-reject-rate`, or the contract by name.
    pub fn threshold_and_source(&self) -> anyhow::Result<(f64, String)> {
        Ok(match self.max_reject_rate {
            Some(rate) => (rate, "--max-reject-rate".to_string()),
            None => {
                let contract = self.contract.load()?;
                (
                    contract.max_reject_rate,
                    format!("contract {}", contract.name),
                )
            }
        })
    }
}

pub fn run_gate(args: GateArgs) -> anyhow::Result<u8> {
    let threshold = args.threshold.threshold()?;
    let mut warehouse = args.database.open()?;
    let verdict = warehouse.judge_loads(threshold, args.through)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
    } else {
        print_verdict(&verdict);
    }
    Ok(conclude(&verdict))
}

pub fn run_publish(args: PublishArgs) -> anyhow::Result<u8> {
    let threshold = args.threshold.threshold()?;
    let mut warehouse = args.database.open()?;
    match warehouse.publish(threshold, args.through, args.by.as_deref())? {
        PublishOutcome::Published(publication) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&publication)?);
            } else {
                print_verdict(&publication.verdict);
                println!(
                    "published: publication {} through load {}, at {} by {}",
                    publication.publication_id,
                    publication.verdict.through_load_id,
                    publication.published_at,
                    publication.published_by
                );
            }
            Ok(exit::OK)
        }
        PublishOutcome::Refused(verdict) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                print_verdict(&verdict);
            }
            conclude(&verdict);
            tracing::error!("not published: nothing was recorded");
            Ok(exit::DATA_QUALITY)
        }
    }
}

/// Logs the gate's conclusion; the exit code it means.
fn conclude(verdict: &GateVerdict) -> u8 {
    let held: Vec<String> = verdict
        .held()
        .map(|load| {
            format!(
                "{} (load {}): {} of {} rows rejected = {:.2}%{}",
                file_name(&load.source_path),
                load.load_id,
                load.rows_rejected,
                load.rows_read,
                100.0 * load.reject_rate,
                reasons(load, " [", "]")
            )
        })
        .collect();
    if held.is_empty() {
        tracing::info!(
            loads = verdict.loads.len(),
            rows_read = verdict.rows_read,
            rows_rejected = verdict.rows_rejected,
            "quality gate passed: no load over {:.2}% without an acceptance",
            100.0 * verdict.threshold
        );
        return exit::OK;
    }
    tracing::error!(
        "quality gate: reject rate over {:.2}% in {} load(s): {}. The rows are quarantined in \
         raw.sales_rejects (`salesflow rejects LOAD_ID` shows them); the load is held back from \
         publication, and later gates hold it too, until it is accepted: \
         `salesflow accept LOAD_ID --reason ...`",
        100.0 * verdict.threshold,
        held.len(),
        held.join("; ")
    );
    exit::DATA_QUALITY
}

fn print_verdict(verdict: &GateVerdict) {
    println!(
        "quality gate: {} succeeded load(s) after load {} (the last published) through load {}, \
         at most {:.2}% rejected per load",
        verdict.loads.len(),
        verdict.after_load_id,
        verdict.through_load_id,
        100.0 * verdict.threshold
    );
    if verdict.loads.is_empty() {
        return;
    }
    println!(
        "{:>6}  {:<8}  {:>10}  {:>10}  {:>8}  file",
        "load", "verdict", "read", "rejected", "rate"
    );
    for load in &verdict.loads {
        let label = match load.verdict {
            Verdict::Passed => "passed",
            Verdict::Accepted => "accepted",
            Verdict::Held => "HELD",
        };
        let note = match (&load.acceptance, load.verdict) {
            (Some(accepted), Verdict::Accepted) => format!(
                "  accepted by {} at {}: {}",
                accepted.accepted_by, accepted.accepted_at, accepted.reason
            ),
            _ => reasons(load, "  ", ""),
        };
        println!(
            "{:>6}  {:<8}  {:>10}  {:>10}  {:>7.2}%  {}{note}",
            load.load_id,
            label,
            load.rows_read,
            load.rows_rejected,
            100.0 * load.reject_rate,
            file_name(&load.source_path)
        );
    }
}

/// A load's reject reasons, `quantity_positive x12, channel_known x3`, between `before` and
/// `after`; empty without rejects.
fn reasons(load: &salesflow::load::JudgedLoad, before: &str, after: &str) -> String {
    if load.reasons.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = load
        .reasons
        .iter()
        .map(|reason| format!("{} x{}", reason.reason, reason.rows))
        .collect();
    format!("{before}{}{after}", listed.join(", "))
}

fn file_name(path: &str) -> &str {
    std::path::Path::new(path)
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or(path)
}
