//! Why a lock could not be taken or kept.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Holder;

/// Why a lock could not be taken or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// An interrupted transaction covers the file and could not be finished, so its lock must
    /// not be used yet.
    #[error("{} is part of an interrupted transaction ({}) that could not be finished: {source}; run `stet recover`", path.display(), journal.display())]
    Unsettled {
        /// The locked file.
        path: PathBuf,
        /// The transaction's journal.
        journal: PathBuf,
        /// Why it could not be finished.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another process held the lock for the whole wait.
    #[error("timed out after {} waiting for the lock on {}: {}; retry later, or stop that process if it is stuck", format_wait(*waited), path.display(), describe_holder(holder.as_deref()))]
    Timeout {
        /// The locked file.
        path: PathBuf,
        /// The lock file or directory.
        lock_path: PathBuf,
        /// Who holds it, if known.
        holder: Option<Box<Holder>>,
        /// How long stet waited.
        waited: Duration,
    },
    /// This thread, or the stet command that started this process, already holds the lock.
    #[error("the lock on {} is already held by {}; waiting for it would deadlock", path.display(), if *ancestor { format!("the stet command (pid {pid}) that started this process") } else { "this thread".to_owned() })]
    AlreadyHeld {
        /// The locked file.
        path: PathBuf,
        /// The holding process.
        pid: u32,
        /// Whether the holder is an ancestor process rather than this thread.
        ancestor: bool,
    },
    /// The lock was taken over by another process while held (mkdir protocol).
    #[error("the lock on {} was lost while held: {reason}; nothing was committed", path.display())]
    Compromised {
        /// The locked file.
        path: PathBuf,
        /// What happened.
        reason: String,
    },
    /// A side file of the lock (`FILE.lock`, its holder record) has a name stet would use, but
    /// holds something stet did not create; it is left untouched.
    #[error("cannot lock {}: {} is {what}, which stet did not create and will not use, change or remove; if that file belongs to another tool, give stet's locks another name with `lock.suffix` in .stet/config.toml (default \".lock\")", path.display(), side_path.display())]
    Foreign {
        /// The file to lock.
        path: PathBuf,
        /// The side file that is not stet's.
        side_path: PathBuf,
        /// What it is.
        what: super::Foreign,
    },
    /// The lock's name holds a lock of the other protocol: another tool locks this file with it.
    #[error("cannot lock {}: {} is {}, so another tool locks this file with the {other} protocol{}; use the same protocol with --lock-protocol {other}, STET_LOCK_PROTOCOL={other}, or lock.protocol = \"{other}\" in .stet/config.toml", path.display(), lock_path.display(), if *other == "mkdir" { "a directory" } else { "a lock file" }, if *other == "mkdir" { " (npm proper-lockfile)" } else { " (stet's default, Python filelock)" })]
    OtherProtocol {
        /// The file to lock.
        path: PathBuf,
        /// The lock file or directory found.
        lock_path: PathBuf,
        /// The protocol that made it: `"mkdir"` or `"flock"`.
        other: &'static str,
    },
    /// A request this protocol cannot serve.
    #[error("cannot lock {}: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// An I/O error while locking or unlocking.
    #[error("cannot lock {} (lock at {}): {source}{}", path.display(), lock_path.display(), io_hint(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The lock file or directory.
        lock_path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl LockError {
    /// The file the lock is for.
    pub fn path(&self) -> &Path {
        match self {
            LockError::Timeout { path, .. }
            | LockError::AlreadyHeld { path, .. }
            | LockError::Compromised { path, .. }
            | LockError::Unsupported { path, .. }
            | LockError::Foreign { path, .. }
            | LockError::OtherProtocol { path, .. }
            | LockError::Io { path, .. }
            | LockError::Unsettled { path, .. } => path,
        }
    }

    /// The known holder, for timeouts.
    pub fn holder(&self) -> Option<&Holder> {
        match self {
            LockError::Timeout { holder, .. } => holder.as_deref(),
            _ => None,
        }
    }
}

fn io_hint(err: &io::Error) -> &'static str {
    if crate::sys::is_read_only_fs(err) {
        "; the file system is read-only, so no lock can be created there"
    } else if err.kind() == io::ErrorKind::PermissionDenied {
        "; locking needs write permission on the file's directory"
    } else {
        ""
    }
}

fn describe_holder(holder: Option<&Holder>) -> String {
    holder.map_or_else(
        || "it is held by a process that left no holder record (another tool, or one starting up)".to_owned(),
        |holder| format!("it is held by {holder}"),
    )
}

fn format_wait(waited: Duration) -> String {
    humantime::format_duration(Duration::from_millis(waited.as_millis() as u64)).to_string()
}
