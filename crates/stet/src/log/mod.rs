//! Event logs: NDJSON files appended to by many processes, read while they grow.
//!
//! **Guarantees.** An append takes the log's lock, cuts a torn tail left by a crash (keeping the
//! cut bytes in `LOG.rejected`), skips events whose id the log already holds, writes all new lines
//! in one `pwrite`, releases the lock, and returns only after `fdatasync`: every acknowledged event
//! is in the log exactly once, whole, on its own line. Appenders flush outside the lock, so
//! concurrent appenders share flushes. Readers never show a torn tail; corrupt lines in the middle
//! are skipped and reported. See `docs/design.md` for the index and the order of system calls.

mod append;
mod index;
mod lines;
mod read;

use std::io;
use std::path::PathBuf;

use serde_json::Value;

pub use append::{Appended, Appender, append, parse_events};
pub use read::{Entry, Item, Reader, Verified, repair, verify};

use crate::lock::LockError;

/// How an event's id is found, for idempotent appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRule {
    /// The value of this top-level field (`id` by default); events without it are never duplicates.
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
    /// The event's id under this rule.
    pub fn id_of(&self, event: &Value) -> Option<String> {
        match self {
            IdRule::Field(name) => event.get(name).map(|id| match id {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            }),
            IdRule::Content => {
                let mut canonical = String::new();
                write_canonical(&mut canonical, event);
                Some(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(canonical.as_bytes())))
            }
        }
    }

    /// Which rule an index was built for.
    pub(crate) fn hash(&self) -> u64 {
        let spec = match self {
            IdRule::Field(name) => format!("field:{name}"),
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
    /// The log's lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Rewriting the log atomically (a repair) failed; the log is as it was.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
    /// A file-system step failed.
    #[error("cannot {step} {}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What stet was doing.
        step: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
}

fn io_error(path: &std::path::Path, step: &'static str) -> impl FnOnce(io::Error) -> LogError {
    let path = path.to_owned();
    move |source| LogError::Io { path, step, source }
}

/// For opening the log itself: a missing log is [`LogError::NotFound`].
fn open_error(path: &std::path::Path) -> impl FnOnce(io::Error) -> LogError {
    let path = path.to_owned();
    move |source| {
        if source.kind() == io::ErrorKind::NotFound {
            LogError::NotFound { path }
        } else {
            LogError::Io { path, step: "open", source }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::IdRule;

    #[test]
    fn ids_come_from_the_field_or_from_canonical_content() {
        assert_eq!(IdRule::default().id_of(&json!({"id": "e-1"})), Some("e-1".into()));
        assert_eq!(IdRule::default().id_of(&json!({"id": 7})), Some("7".into()));
        assert_eq!(IdRule::default().id_of(&json!({"x": 1})), None);
        let content = IdRule::Content;
        assert_eq!(content.id_of(&json!({"a": 1, "b": [2]})), content.id_of(&json!({"b": [2], "a": 1})));
        assert_ne!(content.id_of(&json!({"a": 1})), content.id_of(&json!({"a": 2})));
    }
}
