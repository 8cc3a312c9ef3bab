//! Discovery: the files of a landing directory that the warehouse has not loaded yet, each
//! with the feed it belongs to and the contract that judges it.
//!
//! A landing directory holds sales files (`*.csv`, `*.csv.gz`) at its top, judged by the
//! default contract, and one folder per feed: a file under `LANDING/<feed>/` is judged by
//! `<contracts dir>/<feed>.toml` when that file exists, else by the default contract. Names
//! starting with a dot are ignored at both levels.
//!
//! A file is new unless a load of its bytes succeeded. A new file whose bytes last failed on
//! data quality under the contract that would judge it again is *held*: loading it again
//! would fail the same way (a file that is not a sales feed, or one over a per-file reject
//! limit still in force). A contract changed since releases it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::contract::Contract;
use crate::load::{ContentVerdict, FailedLoad, LoadError, Warehouse, micros_since_epoch};
use crate::read;
use crate::report::reject_rate;

/// Why a landing directory could not be looked through.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("landing directory {0} does not exist")]
    NoLandingDirectory(PathBuf),
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Where to look, and the limits the loads will run under.
pub struct DiscoverOptions<'a> {
    pub landing: &'a Path,
    /// Where the feeds' contracts are: `<feed>.toml`.
    pub contracts_dir: &'a Path,
    /// The per-file reject limit the loads will run under (`ingest --max-reject-rate`), if
    /// any: a file rolled back over a lower limit may pass under a higher one.
    pub max_reject_rate: Option<f64>,
    /// At most this many files are returned; the rest wait for the next discovery.
    pub max_files: usize,
}

/// The new files of a landing directory.
#[derive(Debug, serde::Serialize)]
pub struct Discovery {
    /// New files, by feed (the top level first) and name.
    pub files: Vec<LandedFile>,
    /// Files whose bytes were loaded before.
    pub already_loaded: usize,
    /// Files with the same bytes as a new file listed before them: loaded once.
    pub same_content: usize,
    /// New files beyond `max_files`.
    pub deferred: usize,
}

/// A file to load.
#[derive(Debug, serde::Serialize)]
pub struct LandedFile {
    /// The absolute path, as the ledger keeps it.
    pub path: String,
    pub name: String,
    /// The feed's folder name; None for a file at the top of the landing directory.
    pub feed: Option<String>,
    /// The feed's contract file; None when the default contract judges the file.
    pub contract: Option<String>,
    /// Why the feed's contract cannot judge anything (unreadable or invalid): the file is
    /// not to be loaded until the contract is fixed.
    pub contract_error: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    /// The failed load that holds the file back, when loading it again would fail the same
    /// way.
    pub held: Option<FailedLoad>,
}

/// A feed's folder and the contract that judges its files.
struct Feed {
    name: Option<String>,
    files: Vec<PathBuf>,
    contract_path: Option<PathBuf>,
    contract: Result<Contract, String>,
}

/// Looks through `options.landing` and asks the ledger which of its files are new.
pub fn discover(
    warehouse: &mut Warehouse,
    options: &DiscoverOptions<'_>,
) -> Result<Discovery, DiscoverError> {
    let feeds = feeds(options)?;
    let paths: Vec<String> = feeds
        .iter()
        .flat_map(|feed| feed.files.iter().map(|path| absolute(path)))
        .collect();
    let seen: HashMap<(String, u64, i64), (String, bool)> = warehouse
        .files_seen_at(&paths)?
        .into_iter()
        .map(|file| {
            let key = (file.source_path, file.bytes, file.modified_micros);
            (key, (file.sha256, file.loaded))
        })
        .collect();

    let mut discovery = Discovery {
        files: Vec::new(),
        already_loaded: 0,
        same_content: 0,
        deferred: 0,
    };
    // Files to judge by content, each with its feed.
    let mut candidates: Vec<(LandedFile, &Feed)> = Vec::new();
    let mut hashes_seen = HashSet::new();
    for feed in &feeds {
        for path in &feed.files {
            let io_error = |cause| DiscoverError::Io {
                path: path.clone(),
                cause,
            };
            let absolute = absolute(path);
            let metadata = std::fs::metadata(path).map_err(io_error)?;
            let known = metadata.modified().ok().and_then(|modified| {
                seen.get(&(
                    absolute.clone(),
                    metadata.len(),
                    micros_since_epoch(modified),
                ))
            });
            let sha256 = match known {
                Some((_, true)) => {
                    tracing::info!(path = %absolute, "already loaded, unchanged since");
                    discovery.already_loaded += 1;
                    continue;
                }
                // Its bytes are known: a write since would have changed the time.
                Some((sha256, false)) => sha256.clone(),
                None => read::digest_file(path).map_err(io_error)?.sha256,
            };
            if !hashes_seen.insert(sha256.clone()) {
                tracing::info!(path = %absolute, "same bytes as a file listed before: loaded once");
                discovery.same_content += 1;
                continue;
            }
            let file = LandedFile {
                name: file_name(path),
                path: absolute,
                feed: feed.name.clone(),
                contract: feed.contract_path.as_ref().map(|p| p.display().to_string()),
                contract_error: feed.contract.as_ref().err().cloned(),
                sha256,
                bytes: metadata.len(),
                held: None,
            };
            candidates.push((file, feed));
        }
    }

    let sha256s: Vec<String> = candidates.iter().map(|(f, _)| f.sha256.clone()).collect();
    let verdicts: HashMap<String, ContentVerdict> =
        warehouse.content_verdicts(&sha256s)?.into_iter().collect();
    for (mut file, feed) in candidates {
        match verdicts.get(&file.sha256) {
            Some(ContentVerdict::Loaded) => {
                discovery.already_loaded += 1;
                continue;
            }
            Some(ContentVerdict::Failed(failed)) => {
                let judged_by = feed.contract.as_ref().ok().map(|c| c.sha256.as_str());
                if fails_again(failed, judged_by, options.max_reject_rate) {
                    file.held = Some(failed.clone());
                }
            }
            None => {}
        }
        if discovery.files.len() < options.max_files {
            discovery.files.push(file);
        } else {
            discovery.deferred += 1;
        }
    }
    Ok(discovery)
}

/// Whether a file whose bytes failed as `failed` would fail the same way if loaded again
/// by the contract `judged_by` (its SHA-256) under the per-file limit `max_reject_rate`.
fn fails_again(failed: &FailedLoad, judged_by: Option<&str>, max_reject_rate: Option<f64>) -> bool {
    // A failure recorded without its contract (older ledgers) counts as the same contract's.
    let same_contract = match (&failed.contract_sha256, judged_by) {
        (Some(then), Some(now)) => then == now,
        _ => true,
    };
    if !same_contract {
        return false;
    }
    if failed.invalid_file() {
        return true;
    }
    failed.over_reject_limit()
        && max_reject_rate
            .is_some_and(|limit| reject_rate(failed.rows_read, failed.rows_rejected) > limit)
}

/// The landing directory's top level, then its feed folders by name, each with its files.
fn feeds(options: &DiscoverOptions<'_>) -> Result<Vec<Feed>, DiscoverError> {
    let landing = options.landing;
    if !landing.is_dir() {
        return Err(DiscoverError::NoLandingDirectory(landing.to_path_buf()));
    }
    let (files, folders) = entries(landing)?;
    let mut feeds = vec![Feed {
        name: None,
        files,
        contract_path: None,
        contract: Ok(Contract::default_sales()),
    }];
    for folder in folders {
        let name = file_name(&folder);
        let (files, _) = entries(&folder)?;
        let candidate = options.contracts_dir.join(format!("{name}.toml"));
        // A dangling link or an unreadable file is a contract that was meant to be there.
        let (contract_path, contract) = if candidate.symlink_metadata().is_ok() {
            let contract = Contract::from_file(&candidate).map_err(|error| {
                format!(
                    "the contract of feed {name}, {}, cannot judge its files: {error}",
                    candidate.display()
                )
            });
            (Some(candidate), contract)
        } else {
            (None, Ok(Contract::default_sales()))
        };
        feeds.push(Feed {
            name: Some(name),
            files,
            contract_path,
            contract,
        });
    }
    Ok(feeds)
}

/// A directory's sales files and its folders, each sorted by name; names starting with a
/// dot are left out.
fn entries(directory: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DiscoverError> {
    let io_error = |cause| DiscoverError::Io {
        path: directory.to_path_buf(),
        cause,
    };
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(directory).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if file_name(&path).starts_with('.') {
            continue;
        }
        if path.is_dir() {
            folders.push(path);
        } else if path.is_file() && read::is_csv_name(&path) {
            files.push(path);
        }
    }
    files.sort();
    folders.sort();
    Ok((files, folders))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The path as `ingest` records it in the ledger.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(failure: &str, read: u64, rejected: u64, contract: Option<&str>) -> FailedLoad {
        FailedLoad {
            load_id: 7,
            failure: Some(failure.into()),
            rows_read: read,
            rows_rejected: rejected,
            error: None,
            failed_at: None,
            contract_sha256: contract.map(str::to_string),
        }
    }

    #[test]
    fn an_invalid_file_is_held_while_its_contract_stays_the_same() {
        let invalid = failed("invalid_file", 0, 0, Some("aaa"));
        assert!(fails_again(&invalid, Some("aaa"), None));
        assert!(!fails_again(&invalid, Some("bbb"), None));
        let before_contracts = failed("invalid_file", 0, 0, None);
        assert!(fails_again(&before_contracts, Some("bbb"), None));
    }

    #[test]
    fn a_file_over_the_reject_limit_is_held_only_under_a_limit_it_exceeds() {
        let over = failed("reject_rate_exceeded", 100, 20, Some("aaa"));
        assert!(fails_again(&over, Some("aaa"), Some(0.1)));
        assert!(!fails_again(&over, Some("aaa"), Some(0.2)));
        assert!(!fails_again(&over, Some("aaa"), None));
    }

    #[test]
    fn a_failure_that_may_pass_is_retried() {
        assert!(!fails_again(
            &failed("error", 100, 0, Some("aaa")),
            Some("aaa"),
            Some(0.0)
        ));
        // A failure recorded before failures had classes.
        let unclassified = FailedLoad {
            failure: None,
            ..failed("error", 100, 0, None)
        };
        assert!(!fails_again(&unclassified, Some("aaa"), Some(0.0)));
    }
}
