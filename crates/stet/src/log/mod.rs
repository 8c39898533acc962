//! Event logs: NDJSON files appended to by many processes, read while they grow.
//!
//! **Guarantees.** An append takes the log's lock, cuts a torn tail left by a crash (the bytes
//! after the last line break, kept in `LOG.rejected`), skips events whose id the log already
//! holds, writes all new lines in one `pwrite`, releases the lock, and returns only after
//! `fdatasync`: every acknowledged event is in the log exactly once, whole, on its own line.
//! Appenders flush outside the lock, so concurrent appenders share flushes. Readers never show a
//! torn tail, and a complete line is never cut later: corrupt complete lines are skipped and
//! reported. See `docs/design.md` for the index and the order of system calls.
//!
//! **Non-guarantees.** stet never writes to a side file (`LOG.rejected`, `.LOG.stet-index`) it
//! did not make: a foreign `LOG.rejected` refuses the append, a foreign index makes appends check
//! duplicates by reading the whole log. A file that holds no event at all is not a log and is
//! refused; FIFOs, devices, sockets and directories are refused without being waited on.

mod append;
mod follow;
mod index;
mod lines;
mod read;
mod rejected;
mod side;

use std::fs::File;
use std::io;
use std::path::PathBuf;

use serde_json::Value;

pub use append::{Appended, Appender, Cut, IndexNotice, IndexProblem, append, parse_events};
pub(crate) use append::{Prepared, prepare, prepare_new};
pub use follow::{Change, Changed};
pub use read::{Entry, Item, Reader, Verified, repair, verify};

use crate::lock::LockError;

/// How an event's id is found, for idempotent appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRule {
    /// The value of this top-level field (`id` by default), compared as a JSON value (`1` and
    /// `"1"` differ); events without it, or with `null`, have no id and are never duplicates.
    Field(String),
    /// A digest of the event's canonical JSON (keys sorted, no spaces).
    Content,
}

impl Default for IdRule {
    fn default() -> Self {
        IdRule::Field("id".into())
    }
}

impl IdRule {
    /// The event's id under this rule: for a field, its canonical JSON text (a string keeps its
    /// quotes, so `1` and `"1"` differ; object keys are sorted); `None` when it is missing or `null`.
    pub fn id_of(&self, event: &Value) -> Option<String> {
        match self {
            IdRule::Field(name) => match event.get(name) {
                None | Some(Value::Null) => None,
                Some(id) => {
                    let mut canonical = String::new();
                    write_canonical(&mut canonical, id);
                    Some(canonical)
                }
            },
            IdRule::Content => {
                let mut canonical = String::new();
                write_canonical(&mut canonical, event);
                Some(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(canonical.as_bytes())))
            }
        }
    }

    /// Which rule an index was built for. Field ids became typed JSON text in index format 2's
    /// second spelling (`field-json:`): an index whose ids were untyped text is rebuilt.
    pub(crate) fn hash(&self) -> u64 {
        let spec = match self {
            IdRule::Field(name) => format!("field-json:{name}"),
            IdRule::Content => "content".to_owned(),
        };
        xxhash_rust::xxh3::xxh3_64(spec.as_bytes())
    }
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (at, key) in keys.into_iter().enumerate() {
                if at > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("strings serialize"));
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Why a log operation failed. An append that fails appends nothing it reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// An event is not one JSON value on one line; nothing was appended.
    #[error("event {number}: {message}; nothing was appended")]
    Malformed {
        /// The 1-based number of the event in the batch (its line on standard input).
        number: usize,
        /// What is wrong.
        message: String,
    },
    /// The log does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The log.
        path: PathBuf,
    },
    /// The file holds no event line at all (prose, say): it is not a log, and nothing was changed.
    #[error(
        "{} holds no event (no line is one JSON value), so it is not an NDJSON log; nothing was \
         appended and the file is unchanged. Append to another file, or run `stet log repair` if it \
         is a log damaged by hand",
        path.display()
    )]
    NotALog {
        /// The file.
        path: PathBuf,
    },
    /// The path names a FIFO, a device, a socket or a directory, which stet never reads or
    /// appends to as a log (and never waits on).
    #[error("{} is {kind}, not a log file; stet reads and appends to regular files only", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is, in words ("a FIFO (named pipe)").
        kind: &'static str,
    },
    /// A side file stet keeps beside the log (`LOG.rejected`) is something stet did not make: a
    /// symbolic link, a file with several hard links, a special file, or a file with content that
    /// is not stet's. stet never writes to it; nothing was changed.
    #[error(
        "{} is {found}, not a file stet made; stet will not write to it, and changed nothing. Move \
         it away (stet keeps the bytes it cuts from the log there)",
        path.display()
    )]
    NotStets {
        /// The side file.
        path: PathBuf,
        /// What is there, in words.
        found: &'static str,
    },
    /// The log's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Rewriting the log atomically (a repair) failed; the log is as it was.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
    /// A file-system step failed.
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

fn io_error(path: &std::path::Path, step: &'static str) -> impl FnOnce(io::Error) -> LogError {
    let path = path.to_owned();
    move |source| LogError::Io(crate::fs::IoError { path, step, source })
}

/// How a log is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Read-write, created if missing.
    Append,
}

/// Refuses, before anything is locked or made, a path that names a FIFO, a device, a socket or a
/// directory (`stat` never blocks; opening a FIFO or a device might, or might do something).
pub(crate) fn refuse_special(fs: &dyn crate::fs::Fs, path: &std::path::Path) -> Result<(), LogError> {
    match fs.metadata(path) {
        Ok(meta) if !meta.is_file() => Err(LogError::NotAFile {
            path: path.to_owned(),
            kind: crate::fs::FileKind::describe_metadata(&meta),
        }),
        _ => Ok(()),
    }
}

/// Opens the log itself without waiting on it, and refuses it unless it is a regular file (checked
/// on the open descriptor, so a FIFO swapped in after [`refuse_special`] is refused too).
pub(crate) fn open_log(
    fs: &dyn crate::fs::Fs,
    path: &std::path::Path,
    access: Access,
) -> Result<File, LogError> {
    let create = (access == Access::Append).then_some(0o666);
    let file = fs.open_no_block(path, create).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            LogError::NotFound { path: path.to_owned() }
        } else if let Err(special) = refuse_special(fs, path) {
            special // a directory opened for writing fails with EISDIR: say what it is
        } else {
            LogError::Io(crate::fs::IoError { path: path.to_owned(), step: "open", source })
        }
    })?;
    let meta = fs.file_metadata(&file).map_err(io_error(path, "stat"))?;
    if !meta.is_file() {
        return Err(LogError::NotAFile {
            path: path.to_owned(),
            kind: crate::fs::FileKind::describe_metadata(&meta),
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::IdRule;

    #[test]
    fn ids_come_from_the_field_or_from_canonical_content() {
        assert_eq!(IdRule::default().id_of(&json!({"id": "e-1"})), Some("\"e-1\"".into()));
        assert_eq!(IdRule::default().id_of(&json!({"id": 7})), Some("7".into()));
        assert_ne!(IdRule::default().id_of(&json!({"id": 7})), IdRule::default().id_of(&json!({"id": "7"})));
        assert_eq!(IdRule::default().id_of(&json!({"x": 1})), None);
        assert_eq!(IdRule::default().id_of(&json!({"id": null})), None, "null is no id");
        assert_eq!(
            IdRule::default().id_of(&json!({"id": {"b": 1, "a": 2}})),
            IdRule::default().id_of(&json!({"id": {"a": 2, "b": 1}})),
            "ids are JSON values: key order does not matter"
        );
        let content = IdRule::Content;
        assert_eq!(content.id_of(&json!({"a": 1, "b": [2]})), content.id_of(&json!({"b": [2], "a": 1})));
        assert_ne!(content.id_of(&json!({"a": 1})), content.id_of(&json!({"a": 2})));
    }
}
