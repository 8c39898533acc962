//! Locked read-modify-write of a whole file, and locked replacement.
//!
//! The lock is held from the read to the atomic replace, so concurrent updates never lose each
//! other; the lock is re-checked right before the commit, so a lock lost meanwhile (mkdir protocol)
//! aborts the write instead of overwriting another holder's work.

use std::convert::Infallible;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::{WriteError, Writer, Written};
use crate::fs::read_optional;
use crate::lock::{Lock, LockError, Locker};
use crate::version::Version;

/// The outcome of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The file (symlinks resolved).
    pub path: PathBuf,
    /// Its version now.
    pub version: Version,
    /// Whether it was rewritten (an edit that changes nothing does not rewrite).
    pub changed: bool,
    /// Its size now, in bytes (0 if it does not exist).
    pub bytes: u64,
}

/// Why an update failed. The file is as it was in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError<E> {
    /// The lock could not be taken, or was lost before the commit.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The current content could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The edit refused.
    #[error("the edit of the file failed")]
    Edit(E),
    /// The new content could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Under `path`'s lock, gives `edit` the current content (`None`: the file does not exist) and
/// writes what it returns; `Ok(None)` from `edit` leaves the file alone. `edit` also gets the held
/// lock, for [`Lock::child_env`] when it runs other programs.
pub fn update<E>(
    locker: &Locker,
    writer: &Writer,
    path: &Path,
    edit: impl FnOnce(Option<&[u8]>, &Lock) -> Result<Option<Vec<u8>>, E>,
) -> Result<Updated, UpdateError<E>> {
    let lock = locker.lock(path)?;
    let target = lock.path().to_path_buf();
    let old = read_optional(&**locker.file_system(), &target)
        .map_err(|source| UpdateError::Read { path: target.clone(), source })?;
    let new = edit(old.as_deref(), &lock).map_err(UpdateError::Edit)?;
    let updated = match new {
        Some(new) if old.as_deref() != Some(new.as_slice()) => {
            let staged = writer.stage(&target, &new)?;
            lock.check()?;
            let written = staged.commit()?;
            Updated { path: written.path, version: written.version, changed: true, bytes: written.bytes }
        }
        _ => Updated {
            path: target,
            version: Version::of_optional(old.as_deref()),
            changed: false,
            bytes: old.map_or(0, |old| old.len() as u64),
        },
    };
    release_after_commit(lock);
    Ok(updated)
}

/// Under `path`'s lock, replaces it with `bytes` (with `writer`'s policies: mode, create-new).
pub fn replace(
    locker: &Locker,
    writer: &Writer,
    path: &Path,
    bytes: &[u8],
) -> Result<Written, UpdateError<Infallible>> {
    let lock = locker.lock(path)?;
    let staged = writer.stage(lock.path(), bytes)?;
    lock.check()?;
    let written = staged.commit()?;
    release_after_commit(lock);
    Ok(written)
}

/// After a commit, a failure to clean the lock up changes nothing the caller must know: the file
/// is written, and a leftover flock file or a taken-over lock directory harms no one.
fn release_after_commit(lock: Lock) {
    let _ = lock.release();
}
