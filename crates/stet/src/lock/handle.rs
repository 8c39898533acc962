//! A lock file kept open, for a process that takes the same lock many times.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Holder, LockError, Locker, Protocol, flock, registry};
use crate::fs::Fs;
use flock::Kept;

/// `FILE.lock` kept open between locks (flock protocol only), for a process that locks the same
/// file many times, such as a server or an editor: each [`LockFile::lock`] then costs one flock
/// and a few checks instead of creating and removing the lock file (tens of µs on ext4).
///
/// The lock file stays on disk while the `LockFile` is open, and goes when it is dropped (if no
/// other process holds it then). Mutual exclusion is the same as with [`Locker::lock`]: if another
/// process removed the file in between, the next lock opens the path anew.
#[derive(Debug)]
pub struct LockFile {
    locker: Locker,
    path: PathBuf,
    lock_path: PathBuf,
    file: Option<Kept>,
}

/// The lock of a [`LockFile`], held until dropped.
#[derive(Debug)]
#[must_use = "a lock is released as soon as it is dropped"]
pub struct LockFileGuard<'a> {
    handle: &'a mut LockFile,
    _registration: registry::Registration,
}

impl LockFile {
    /// Prepares to lock `path` with `locker`'s wait policy and owner. Creates nothing yet.
    pub fn open(locker: &Locker, path: &Path) -> Result<LockFile, LockError> {
        let target = locker.resolve(path)?;
        if locker.protocol != Protocol::Flock {
            return Err(LockError::Unsupported {
                path: target,
                reason: "a kept-open lock file needs the flock protocol",
            });
        }
        let lock_path = locker.lock_path_of(&target);
        Ok(LockFile { locker: locker.clone(), path: target, lock_path, file: None })
    }

    /// The locked file (symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock, waiting as the locker says.
    pub fn lock(&mut self) -> Result<LockFileGuard<'_>, LockError> {
        if registry::held_by_this_thread(&self.lock_path) {
            return Err(LockError::AlreadyHeld {
                path: self.path.clone(),
                pid: std::process::id(),
                ancestor: false,
            });
        }
        let fs: Arc<dyn Fs> = self.locker.file_system().clone();
        let holder = Holder::current(self.locker.owner.as_deref());
        let LockFile { locker, path, lock_path, file } = self;
        locker.wait_for(path, lock_path, || {
            Ok(flock::try_acquire_reusing(&*fs, lock_path, file, &holder)?.then_some(()))
        })?;
        let registration = registry::Registration::new(&self.lock_path);
        Ok(LockFileGuard { handle: self, _registration: registration })
    }
}

impl LockFileGuard<'_> {
    /// Whether the lock is still this process's: call it right before committing work done under
    /// it. Someone may have removed or replaced `FILE.lock` meanwhile, letting another process lock
    /// a new file there ([`LockError::Compromised`]).
    pub fn check(&self) -> Result<(), LockError> {
        let handle = &*self.handle;
        match flock::still_named(&**handle.locker.file_system(), &handle.lock_path, handle.file.as_ref()) {
            Ok(true) => Ok(()),
            Ok(false) => Err(LockError::Compromised {
                path: handle.path.clone(),
                reason: super::REMOVED_WHILE_HELD.into(),
            }),
            Err(source) => {
                Err(LockError::Io { path: handle.path.clone(), lock_path: handle.lock_path.clone(), source })
            }
        }
    }
}

impl Drop for LockFileGuard<'_> {
    fn drop(&mut self) {
        if let Some(kept) = &self.handle.file {
            let _ = flock::unlock_kept(&**self.handle.locker.file_system(), kept);
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if let Some(kept) = self.file.take() {
            let _ = flock::close_reused(&**self.locker.file_system(), &self.lock_path, kept);
        }
    }
}
