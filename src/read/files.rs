//! Finding the files that command-line paths name, opening them (gzip recognised by its
//! content), and their SHA-256.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

/// Why files could not be found or opened. (Each message includes its cause, which
/// `source()` therefore does not repeat.)
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    #[error("{pattern}: invalid glob pattern: {cause}")]
    Pattern {
        pattern: String,
        cause: glob::PatternError,
    },
    #[error("{0}: no such file, directory or matching glob")]
    NotFound(String),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ReadError + '_ {
    move |cause| ReadError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Expands the paths given on a command line into the files to load, in order:
/// a file as is, a directory as its `*.csv` and `*.csv.gz` files (sorted, not recursive),
/// anything else as a glob pattern. Duplicates are removed, keeping the first.
pub fn expand_paths(arguments: &[String]) -> Result<Vec<PathBuf>, ReadError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for argument in arguments {
        let path = Path::new(argument);
        let found: Vec<PathBuf> = if path.is_file() {
            vec![path.to_path_buf()]
        } else if path.is_dir() {
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io_error(path))? {
                let entry_path = entry.map_err(io_error(path))?.path();
                if entry_path.is_file() && is_csv_name(&entry_path) {
                    entries.push(entry_path);
                }
            }
            entries.sort();
            entries
        } else {
            let matches = glob::glob(argument).map_err(|cause| ReadError::Pattern {
                pattern: argument.clone(),
                cause,
            })?;
            let mut entries: Vec<PathBuf> = matches
                .filter_map(Result::ok)
                .filter(|entry| entry.is_file())
                .collect();
            if entries.is_empty() {
                return Err(ReadError::NotFound(argument.clone()));
            }
            entries.sort();
            entries
        };
        for file in found {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// Whether a file name says it is a sales file: `*.csv` or `*.csv.gz`, in any case.
pub fn is_csv_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

/// The identity of a file's bytes: what the ledger uses to recognise a re-sent file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub sha256: String,
    pub bytes: u64,
    /// When the file was last modified, read before hashing: a write during the hashing
    /// leaves a later time on the file than the ledger keeps.
    pub modified: Option<SystemTime>,
}

/// Hashes a file (its bytes as stored, compressed or not).
pub fn digest_file(path: &Path) -> io::Result<FileDigest> {
    let mut file = File::open(path)?;
    let modified = file.metadata()?.modified().ok();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileDigest {
        sha256: hex::encode(hasher.finalize()),
        bytes,
        modified,
    })
}

/// A file opened for reading, decompressed if it is gzip (recognised by its magic bytes,
/// whatever its name), with a counter of the stored bytes consumed so far for progress.
pub struct Source {
    pub reader: Box<dyn BufRead + Send>,
    /// Stored (possibly compressed) bytes read so far.
    pub consumed: Arc<AtomicU64>,
    pub compressed: bool,
}

/// Opens `path` for reading as text in `encoding`: other encodings than UTF-8 are decoded to
/// UTF-8 on the way (a byte-order mark overrides the declared encoding). UTF-8 is passed
/// through as bytes, so that the framer can report bytes that are not UTF-8.
pub fn open(path: &Path, encoding: &'static encoding_rs::Encoding) -> io::Result<Source> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = read_prefix(&mut file, &mut magic)?;
    let consumed = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: io::Cursor::new(magic[..n].to_vec()).chain(file),
        consumed: Arc::clone(&consumed),
    };
    let compressed = &magic[..n] == GZIP_MAGIC;
    let bytes: Box<dyn Read + Send> = if compressed {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            counted,
        )))
    } else {
        Box::new(counted)
    };
    let reader: Box<dyn BufRead + Send> = if encoding == encoding_rs::UTF_8 {
        Box::new(BufReader::with_capacity(1 << 16, bytes))
    } else {
        Box::new(BufReader::with_capacity(
            1 << 16,
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_override(true)
                .build(bytes),
        ))
    };
    Ok(Source {
        reader,
        consumed,
        compressed,
    })
}

fn read_prefix(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

struct CountingReader<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_recognised_by_content_and_counted() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sales.data");
        let mut encoder =
            flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        encoder.write_all(b"a,b\n1,2\n").unwrap();
        encoder.finish().unwrap();
        let mut source = open(&path, encoding_rs::UTF_8).unwrap();
        assert!(source.compressed);
        let mut text = String::new();
        source.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(
            source.consumed.load(Ordering::Relaxed),
            std::fs::metadata(&path).unwrap().len()
        );
    }

    #[test]
    fn paths_expand_from_files_directories_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv.gz", "notes.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let as_dir = expand_paths(&[dir.path().display().to_string()]).unwrap();
        assert_eq!(
            as_dir,
            vec![dir.path().join("a.csv.gz"), dir.path().join("b.csv")]
        );
        let as_glob = expand_paths(&[format!("{}/*.txt", dir.path().display())]).unwrap();
        assert_eq!(as_glob, vec![dir.path().join("notes.txt")]);
        let missing = expand_paths(&[format!("{}/none-*.csv", dir.path().display())]);
        assert!(matches!(missing, Err(ReadError::NotFound(_))));
    }
}
