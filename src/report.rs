//! Outcome counts, the per-file summary table and the JSON report.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

/// The share of the rows read that were rejected: the figure the quality gate and the ingest
/// summary judge (0 for a file without rows).
pub fn reject_rate(read: u64, rejected: u64) -> f64 {
    if read == 0 {
        0.0
    } else {
        rejected as f64 / read as f64
    }
}

/// What happened to a file's rows. Every row read has exactly one outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: u64,
    /// New sales.
    pub loaded: u64,
    /// Sales already stored with other content: replaced.
    pub updated: u64,
    /// Sales already stored with the same content.
    pub unchanged: u64,
    /// Earlier occurrences of a sale id repeated later in the same file.
    pub duplicate: u64,
    /// Quarantined in raw.sales_rejects.
    pub rejected: u64,
    /// Replays only (`salesflow replay`): rows that now pass but lose to a later file's word
    /// on the same sale. Always 0 for a file's load.
    pub superseded: u64,
}

impl Counts {
    /// True when the outcomes add up to the rows read.
    pub fn is_balanced(&self) -> bool {
        self.read
            == self.loaded
                + self.updated
                + self.unchanged
                + self.duplicate
                + self.superseded
                + self.rejected
    }

    pub fn reject_rate(&self) -> f64 {
        reject_rate(self.read, self.rejected)
    }
}

/// How one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Succeeded,
    /// Validated and merged in a transaction that was rolled back (--dry-run, check).
    Validated,
    /// Already loaded: same bytes as a succeeded load.
    Skipped,
    /// Rolled back: the reject rate was over --max-reject-rate.
    RejectRateExceeded,
    /// Not a sales feed: empty, or without the contract's columns.
    Invalid,
    Failed,
}

impl FileStatus {
    pub fn label(self) -> &'static str {
        match self {
            FileStatus::Succeeded => "succeeded",
            FileStatus::Validated => "validated",
            FileStatus::Skipped => "skipped",
            FileStatus::RejectRateExceeded => "reject rate exceeded",
            FileStatus::Invalid => "invalid",
            FileStatus::Failed => "failed",
        }
    }
}

/// The report of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub status: FileStatus,
    pub load_id: Option<i64>,
    pub sha256: Option<String>,
    pub bytes: u64,
    pub counts: Counts,
    pub reject_rate: f64,
    /// How often each reject reason occurred.
    pub reject_reasons: BTreeMap<String, u64>,
    /// How often each dq flag was set on a loaded row.
    pub flags: BTreeMap<String, u64>,
    pub seconds: f64,
    pub error: Option<String>,
}

impl FileReport {
    pub fn new(path: String) -> FileReport {
        FileReport {
            path,
            status: FileStatus::Failed,
            load_id: None,
            sha256: None,
            bytes: 0,
            counts: Counts::default(),
            reject_rate: 0.0,
            reject_reasons: BTreeMap::new(),
            flags: BTreeMap::new(),
            seconds: 0.0,
            error: None,
        }
    }
}

/// The whole run, as `--report-json` writes it.
#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    pub files: &'a [FileReport],
    pub totals: Counts,
}

pub fn totals(files: &[FileReport]) -> Counts {
    files.iter().fold(Counts::default(), |mut sum, file| {
        sum.read += file.counts.read;
        sum.loaded += file.counts.loaded;
        sum.updated += file.counts.updated;
        sum.unchanged += file.counts.unchanged;
        sum.duplicate += file.counts.duplicate;
        sum.rejected += file.counts.rejected;
        sum.superseded += file.counts.superseded;
        sum
    })
}

pub fn to_json(files: &[FileReport]) -> String {
    let report = RunReport {
        files,
        totals: totals(files),
    };
    serde_json::to_string_pretty(&report).expect("reports serialize")
}

/// A table: a header line and one line per row, columns two spaces apart, each as wide as its
/// widest cell; the first `left` columns (names) are aligned left, the others (numbers) right.
pub fn render_columns<R: AsRef<[String]>>(header: &[&str], rows: &[R], left: usize) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row.as_ref()[column].chars().count())
                .chain([header[column].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if column > 0 {
                text.push_str("  ");
            }
            let width = widths[column];
            if column < left {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "{cell:>width$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in rows {
        line(&row.as_ref().iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// The per-file summary table, with a total line when there are several files, and
/// the top reject reasons and flags under it; nothing when there is no file (the commands
/// warn about that).
pub fn render_table(files: &[FileReport]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let header = [
        "file",
        "status",
        "load",
        "read",
        "loaded",
        "updated",
        "unchanged",
        "duplicate",
        "rejected",
        "reject %",
        "seconds",
    ];
    let names = display_names(files);
    let mut rows: Vec<[String; 11]> = files
        .iter()
        .zip(&names)
        .map(|(file, name)| {
            row(
                name.clone(),
                file.status.label().to_string(),
                file.load_id.map_or("-".into(), |id| id.to_string()),
                &file.counts,
                format!("{:.2}", file.seconds),
            )
        })
        .collect();
    if files.len() > 1 {
        let total_seconds: f64 = files.iter().map(|file| file.seconds).sum();
        rows.push(row(
            "total".into(),
            String::new(),
            String::new(),
            &totals(files),
            format!("{total_seconds:.2}"),
        ));
    }
    let mut out = render_columns(&header, &rows, 3);
    for (file, name) in files.iter().zip(&names) {
        if let Some(error) = &file.error {
            let _ = writeln!(out, "{name}: {error}");
        }
        for (title, counts) in [("rejects", &file.reject_reasons), ("flags", &file.flags)] {
            if counts.is_empty() {
                continue;
            }
            let mut top: Vec<(&String, &u64)> = counts.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let listed: Vec<String> = top
                .iter()
                .take(6)
                .map(|(code, count)| format!("{code} {count}"))
                .collect();
            let more = match top.len().saturating_sub(6) {
                0 => String::new(),
                hidden => format!(", and {hidden} more (--report-json lists all)"),
            };
            let _ = writeln!(out, "{name} {title}: {}{more}", listed.join(", "));
        }
    }
    out
}

fn row(
    name: String,
    status: String,
    load: String,
    counts: &Counts,
    seconds: String,
) -> [String; 11] {
    [
        name,
        status,
        load,
        counts.read.to_string(),
        counts.loaded.to_string(),
        counts.updated.to_string(),
        counts.unchanged.to_string(),
        counts.duplicate.to_string(),
        counts.rejected.to_string(),
        format!("{:.2}", counts.reject_rate() * 100.0),
        seconds,
    ]
}

/// How the table names each file: its file name, or its path as given when another file
/// of the run has the same name.
fn display_names(files: &[FileReport]) -> Vec<String> {
    let file_name = |path: &str| {
        std::path::Path::new(path).file_name().map_or_else(
            || path.to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    };
    let names: Vec<String> = files.iter().map(|file| file_name(&file.path)).collect();
    names
        .iter()
        .zip(files)
        .map(|(name, file)| {
            if names.iter().filter(|other| *other == name).count() > 1 {
                file.path.clone()
            } else {
                name.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        Counts {
            read: 10,
            loaded: 6,
            updated: 1,
            unchanged: 1,
            duplicate: 1,
            rejected: 1,
            superseded: 0,
        }
    }

    #[test]
    fn counts_balance_and_rate() {
        assert!(counts().is_balanced());
        assert!((counts().reject_rate() - 0.1).abs() < 1e-12);
        assert_eq!(Counts::default().reject_rate(), 0.0);
        let mut unbalanced = counts();
        unbalanced.loaded += 1;
        assert!(!unbalanced.is_balanced());
    }

    #[test]
    fn table_lists_files_totals_and_top_reasons() {
        let mut a = FileReport::new("/in/a.csv".into());
        a.status = FileStatus::Succeeded;
        a.load_id = Some(3);
        a.counts = counts();
        a.reject_reasons.insert("quantity_positive".into(), 1);
        let mut b = FileReport::new("b.csv".into());
        b.status = FileStatus::Skipped;
        let table = render_table(&[a, b]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("file "), "{table}");
        assert!(lines[1].starts_with("a.csv  succeeded"), "{table}");
        assert!(lines[1].contains(" 10 "), "{table}");
        assert!(lines[3].starts_with("total"), "{table}");
        assert!(
            table.contains("a.csv rejects: quantity_positive 1"),
            "{table}"
        );

        let mut many = FileReport::new("many.csv".into());
        for (count, reason) in (1..=8).zip(["a", "b", "c", "d", "e", "f", "g", "h"]) {
            many.reject_reasons.insert(reason.into(), count);
        }
        let table = render_table(&[many]);
        assert!(
            table.contains("many.csv rejects: h 8, g 7, f 6, e 5, d 4, c 3, and 2 more (--report-json lists all)"),
            "{table}"
        );
    }

    #[test]
    fn files_of_the_same_name_are_told_apart_by_their_path() {
        let mut a = FileReport::new("in/2024/sales.csv".into());
        a.error = Some("the file has no header row (empty file)".into());
        let b = FileReport::new("in/2025/sales.csv".into());
        let c = FileReport::new("in/2025/returns.csv".into());
        let table = render_table(&[a, b, c]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].starts_with("in/2024/sales.csv "), "{table}");
        assert!(lines[2].starts_with("in/2025/sales.csv "), "{table}");
        assert!(lines[3].starts_with("returns.csv "), "{table}");
        assert!(
            table.contains("\nin/2024/sales.csv: the file has no header row (empty file)\n"),
            "{table}"
        );
    }

    #[test]
    fn no_file_no_table() {
        assert_eq!(render_table(&[]), "");
    }

    #[test]
    fn json_report_has_files_and_totals() {
        let mut a = FileReport::new("a.csv".into());
        a.counts = counts();
        let json: serde_json::Value = serde_json::from_str(&to_json(&[a])).unwrap();
        assert_eq!(json["totals"]["read"], 10);
        assert_eq!(json["files"][0]["status"], "failed");
    }
}
