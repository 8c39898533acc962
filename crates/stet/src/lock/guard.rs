//! A held lock, released when dropped.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{LockError, flock, mkdir, registry};

#[derive(Debug)]
pub(super) enum Held {
    Flock(flock::Held),
    Mkdir(mkdir::Held),
}

/// A held lock. Dropping it releases the lock quietly; [`Lock::release`] reports errors.
#[derive(Debug)]
#[must_use = "a lock is released as soon as it is dropped"]
#[allow(clippy::struct_field_names)]
pub struct Lock {
    pub(super) path: PathBuf,
    pub(super) lock_path: PathBuf,
    pub(super) held: Option<Held>,
    /// Removed from the registry when dropped, after `Drop::drop` released the lock.
    pub(super) _registration: registry::Registration,
}

impl Lock {
    /// The locked file (symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file or directory.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Whether the lock is still this process's. Call it right before committing work done under
    /// the lock: a [`super::Protocol::Mkdir`] lock can be taken over if its heartbeat was starved.
    ///
    /// A [`super::Protocol::Flock`] lock is lost if someone removed or replaced `FILE.lock` while it was
    /// held (another process may then have locked a new file there).
    pub fn check(&self) -> Result<(), LockError> {
        match &self.held {
            Some(Held::Mkdir(held)) => {
                held.check().map_err(|reason| LockError::Compromised { path: self.path.clone(), reason })
            }
            Some(Held::Flock(held)) => match held.still_named() {
                Ok(true) => Ok(()),
                Ok(false) => Err(LockError::Compromised {
                    path: self.path.clone(),
                    reason: super::REMOVED_WHILE_HELD.into(),
                }),
                Err(source) => {
                    Err(LockError::Io { path: self.path.clone(), lock_path: self.lock_path.clone(), source })
                }
            },
            None => Ok(()),
        }
    }

    /// The open lock file of a [`super::Protocol::Flock`] lock (`None` for the mkdir protocol). A
    /// child process that inherits it keeps the lock held until the child ends, even if this
    /// process dies first, as with `flock(1)`: the kernel ties the lock to the open file.
    pub fn file(&self) -> Option<&std::fs::File> {
        match &self.held {
            Some(Held::Flock(held)) => Some(held.file()),
            _ => None,
        }
    }

    /// The environment variables to give a child process run while this lock is held, so that a
    /// stet command in it that asks for the same lock fails at once instead of deadlocking.
    pub fn child_env<'a>(locks: impl IntoIterator<Item = &'a Lock>) -> Vec<(OsString, OsString)> {
        let locks: Vec<&Lock> = locks.into_iter().collect();
        registry::child_env(locks.iter().map(|lock| lock.lock_path.as_path()))
    }

    /// Releases the lock, reporting what went wrong: a compromised mkdir lock is reported (and left
    /// to its new holder).
    pub fn release(mut self) -> Result<(), LockError> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<(), LockError> {
        let Some(held) = self.held.take() else { return Ok(()) };
        let io_error =
            |source| LockError::Io { path: self.path.clone(), lock_path: self.lock_path.clone(), source };
        match held {
            Held::Flock(held) => held.release().map_err(io_error),
            Held::Mkdir(held) => held.release().map_err(|err| match err {
                mkdir::ReleaseError::Compromised(reason) => {
                    LockError::Compromised { path: self.path.clone(), reason }
                }
                mkdir::ReleaseError::Io(source) => io_error(source),
            }),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.release_inner();
    }
}
