//! What an operation has to say while it goes on, without failing: given to the front end's
//! callback, never printed by the library.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::lock::Holder;

/// A notice: something the user should know, that did not stop the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notice {
    /// A lock has been awaited for about a second; said once per wait.
    Waiting {
        /// The file whose lock is awaited.
        path: PathBuf,
        /// Who holds it, if known.
        #[serde(skip_serializing_if = "Option::is_none")]
        holder: Option<Holder>,
    },
    /// A line in the middle of a log is not one JSON value; it was skipped.
    CorruptLine {
        /// The log.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// Where the line starts.
        offset: u64,
    },
    /// A log's idempotency index could not be used; duplicates were found by reading the log.
    IndexUnusable {
        /// The index file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A followed log was replaced by another file (a repair, a rotation).
    LogReplaced {
        /// The log.
        path: PathBuf,
        /// Where following goes on.
        offset: u64,
        /// Events already given that the new file holds again, skipped.
        skipped: usize,
    },
    /// A followed log was truncated.
    LogTruncated {
        /// The log.
        path: PathBuf,
        /// Where following goes on.
        offset: u64,
        /// Events already given that the new content holds again, skipped.
        skipped: usize,
    },
    /// Renewing a held lease failed for a passing reason; it is retried.
    LeaseRenewRetry {
        /// Why it failed.
        message: String,
    },
    /// A lease or lock could not be released after the work was done (the work is not affected).
    ReleaseFailed {
        /// Why.
        message: String,
    },
}

impl Notice {
    /// `{"notice": {"kind", ...}}`: one line of `--json` stderr.
    pub fn to_json(&self) -> Value {
        json!({ "notice": self })
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Waiting { path, holder: Some(holder) } => {
                write!(f, "waiting for the lock on {}, held by {holder}", path.display())
            }
            Notice::Waiting { path, holder: None } => write!(f, "waiting for the lock on {}", path.display()),
            Notice::CorruptLine { path, line, offset } => {
                write!(f, "{} line {line} (offset {offset}) is not one JSON value; skipped", path.display())
            }
            Notice::IndexUnusable { message, .. } => f.write_str(message),
            Notice::LogReplaced { path, offset, skipped } => {
                followed(f, path, "was replaced by another file", *offset, *skipped)
            }
            Notice::LogTruncated { path, offset, skipped } => {
                followed(f, path, "was truncated", *offset, *skipped)
            }
            Notice::LeaseRenewRetry { message } => {
                write!(f, "warning: renewing the lease failed, retrying: {message}")
            }
            Notice::ReleaseFailed { message } => write!(f, "warning: {message}"),
        }
    }
}

fn followed(
    f: &mut fmt::Formatter<'_>,
    path: &std::path::Path,
    what: &str,
    offset: u64,
    skipped: usize,
) -> fmt::Result {
    write!(
        f,
        "{} {what}; following it from offset {offset} ({skipped} event{} already shown skipped)",
        path.display(),
        if skipped == 1 { "" } else { "s" }
    )
}

/// Where a project's notices go.
pub type NoticeSink = Arc<dyn Fn(&Notice) + Send + Sync>;
