//! Transactions: several files changed all together or not at all, across crashes and power
//! loss, and the recovery that finishes or undoes an interrupted one.
//!
//! **Guarantees.** [`run`] checks a whole [`Plan`] before anything is written (a malformed
//! document or event, a missing `copy` source, a version that differs: nothing is done, the op is
//! named). It takes the lock of every file (for `new`, of the directory) in one global order
//! ([`Locker::lock_all`]), so transactions never deadlock with each other or with single-file
//! commands, and holds them until the transaction is finished. Each new content is staged beside
//! its target and fsynced; then the journal `ROOT/.stet/tx/ID.tx` (every step, with its content
//! inline) is written, fsynced, renamed into place and its directory fsynced: that is the commit
//! point. The steps follow (renames, unlinks, appends at a recorded offset, the publishing rename of
//! new entries), every touched directory and log is fsynced, and the journal is removed and its
//! directory fsynced before the locks are released. A crash before the commit point leaves the
//! files as they were (and staged temporary files that [`recover`] removes); after it,
//! recovery finishes the transaction, however often it is itself interrupted.
//!
//! **What others see meanwhile.** Each file changes atomically, but not all at one instant:
//! a process reading without stet may see some files new and others old until the transaction
//! finishes. stet readers of a file under a running transaction wait for its lock.
//!
//! **Assumptions.** The root and every target are on one file system (a plan that crosses file
//! systems is refused before anything is done); the file system orders a rename after the fsync
//! of the renamed file, as ext4, XFS and btrfs do.

mod apply;
mod journal;
mod plan;
mod recover;
mod run;

use std::path::PathBuf;

use serde::Serialize;

pub use plan::{Op, OpKind, Plan};
pub use recover::{
    Interrupted, Kept, Outcome, Recovered, TxOutcome, recover, recover_interrupted, staged_by_journals,
};
pub use run::run;

/// Eight hex digits naming this host in journal names, so that a root shared between hosts
/// (a network file system) never has one host's recovery act on another's transactions.
pub fn host_tag() -> String {
    journal::host_tag()
}

use crate::atomic::{WriteError, Writer};
use crate::doc::DocError;
use crate::entry::EntryError;
use crate::fs::IoError;
use crate::lock::{LockError, Locker};
use crate::log::LogError;
use crate::version::Version;

/// Where and how a transaction runs: the project's root (where `.stet/tx` is), its locker and
/// its writer (durability, links).
#[derive(Debug, Clone)]
pub struct Context {
    /// The project root.
    pub root: PathBuf,
    /// Takes the locks.
    pub locker: Locker,
    /// Stages the new contents.
    pub writer: Writer,
}

/// A committed transaction: the contract's `{"committed": true, "ops": N, "results": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Committed {
    /// Always `true`: a transaction that did not commit is an error.
    pub committed: bool,
    /// How many ops the plan had.
    pub ops: usize,
    /// Each op's own result, in order.
    pub results: Vec<OpResult>,
}

/// What one op did, shaped as the command of the same name reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum OpResult {
    /// `write`, `copy`: `{"path", "bytes", "version"}`.
    Written {
        /// The file, as the plan named it.
        path: PathBuf,
        /// Its size now.
        bytes: u64,
        /// Its version now.
        version: Version,
    },
    /// `delete`: `{"path", "deleted"}` (`false`: it did not exist).
    Deleted {
        /// The file, as the plan named it.
        path: PathBuf,
        /// Whether there was a file to delete.
        deleted: bool,
    },
    /// `set`, `unset`, `push`, `merge`: `{"path", "version", "changed"}`.
    Edited {
        /// The document, as the plan named it.
        path: PathBuf,
        /// Its version now.
        version: Version,
        /// Whether the op changed it.
        changed: bool,
    },
    /// `append`: `{"appended", "duplicates", "offset"}`.
    Appended {
        /// Events written.
        appended: usize,
        /// Events skipped as duplicates.
        duplicates: usize,
        /// Where the first written event's line starts.
        offset: u64,
    },
    /// `new`: `{"path", "seq"}`.
    Entry {
        /// The entry.
        path: PathBuf,
        /// Its number.
        seq: u64,
    },
}

/// Why a transaction did nothing, or (only [`TxError::Unfinished`]) did not finish yet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The plan is not one stet can run.
    #[error("{message}")]
    Plan {
        /// The op at fault, if one is.
        op: Option<usize>,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// An op's `if_version` is not its file's version.
    #[error("op {op}: {} is at version {found}, not {expected}: it changed since it was read; nothing was done. Read it again and retry.", path.display())]
    Conflict {
        /// The op.
        op: usize,
        /// Its file.
        path: PathBuf,
        /// The version the op expected.
        expected: Version,
        /// The version the file has.
        found: Version,
    },
    /// A file an op reads does not exist.
    #[error("op {op}: {} does not exist; nothing was done", path.display())]
    NotFound {
        /// The op.
        op: usize,
        /// The missing file.
        path: PathBuf,
    },
    /// An op's file is not what the op can change (a directory to delete, say).
    #[error("op {op}: {} is {what}; {why}; nothing was done", path.display())]
    Refused {
        /// The op.
        op: usize,
        /// Its file.
        path: PathBuf,
        /// What the file is, in words.
        what: &'static str,
        /// What the op can change instead.
        why: &'static str,
    },
    /// An op's document is malformed, or its edit does not fit it.
    #[error("op {op}: {}: {source}; nothing was done", path.display())]
    Document {
        /// The op.
        op: usize,
        /// The document.
        path: PathBuf,
        /// What is wrong.
        source: DocError,
    },
    /// An op's log cannot take the events.
    #[error("op {op}: {source}")]
    Log {
        /// The op.
        op: usize,
        /// The log.
        path: PathBuf,
        /// What is wrong.
        source: LogError,
    },
    /// An op's new entry cannot be made.
    #[error("op {op}: {source}")]
    Entry {
        /// The op.
        op: usize,
        /// What is wrong.
        source: EntryError,
    },
    /// An op's new content cannot be staged (the target is not writable, has other links...).
    #[error("op {op}: {source}")]
    Write {
        /// The op.
        op: usize,
        /// What is wrong.
        source: WriteError,
    },
    /// A file the plan changes is on another file system than the root's journal.
    #[error("op {op}: {} is on another file system than the project root {}; a transaction's files must share the root's file system (its journal's renames cannot cross file systems); nothing was done", path.display(), root.display())]
    CrossDevice {
        /// The op.
        op: usize,
        /// The file.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// A lock could not be taken; nothing was done.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A file-system step before the commit point failed; nothing was done.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The transaction committed, but a step after the commit point failed: the next stet
    /// command on its files, or `stet recover`, finishes it.
    #[error("the transaction is committed, but finishing it failed ({source}); the next stet command on these files, or `stet recover`, finishes it from its journal {}", journal.display())]
    Unfinished {
        /// The journal that holds it.
        journal: PathBuf,
        /// The step that failed.
        source: IoError,
    },
}

impl TxError {
    /// The op at fault, if one is.
    pub fn op(&self) -> Option<usize> {
        match self {
            TxError::Plan { op, .. } => *op,
            TxError::Conflict { op, .. }
            | TxError::NotFound { op, .. }
            | TxError::Refused { op, .. }
            | TxError::Document { op, .. }
            | TxError::Log { op, .. }
            | TxError::Entry { op, .. }
            | TxError::Write { op, .. }
            | TxError::CrossDevice { op, .. } => Some(*op),
            TxError::Lock(_) | TxError::Io(_) | TxError::Unfinished { .. } => None,
        }
    }
}
