//! Whole files: write, update, lock, version.

use std::path::Path;

use super::{Error, Notice, Project, Updated, VersionOf, Written};
use crate::atomic::{Existing, Mode};
use crate::lock::{Lock, LockError, LockKind};

/// How `write` treats the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Fail with `EEXIST` if the file exists.
    pub create_new: bool,
    /// Permission bits for the file (default: keep the file's, or 0666 minus umask).
    pub mode: Option<u32>,
}

impl Project {
    /// Replaces `path` with `bytes`, atomically and durably, under its lock.
    pub fn write(&self, path: &Path, bytes: &[u8], options: WriteOptions) -> Result<Written, Error> {
        self.given(path, || {
            self.check_lease(path)?;
            let writer = self
                .writer()
                .mode(options.mode.map_or(Mode::Keep, Mode::Set))
                .existing(if options.create_new { Existing::Fail } else { Existing::Replace });
            let written = crate::update::replace(&self.locker_for(path), &writer, path, bytes)?;
            Ok(Written { path: path.to_path_buf(), bytes: written.bytes, version: written.version })
        })
    }

    /// Under `path`'s lock, gives `change` the current content (`None`: the file does not exist)
    /// and the held lock, and replaces the file with what it returns (`Ok(None)`: leave it alone).
    /// An error from `change` is returned as it is, and the file is untouched.
    pub fn update(
        &self,
        path: &Path,
        change: impl FnOnce(Option<&[u8]>, &Lock) -> Result<Option<Vec<u8>>, Error>,
    ) -> Result<Updated, Error> {
        self.given(path, || {
            self.check_lease(path)?;
            refuse_directory(self, path)?;
            let updated = crate::update::update(&self.locker_for(path), &self.writer(), path, change)?;
            Ok(Updated {
                path: path.to_path_buf(),
                bytes: updated.bytes,
                version: updated.version,
                changed: updated.changed,
            })
        })
    }

    /// Runs `work` while holding `path`'s lock, and releases it. A lock lost while `work` ran is
    /// `ECOMPROMISED` (its work was not protected), whatever `work` returned.
    pub fn lock<R>(&self, path: &Path, kind: LockKind, work: impl FnOnce(&Lock) -> R) -> Result<R, Error> {
        self.given(path, || {
            let lock = self.lock_guard(path, kind)?;
            let outcome = work(&lock);
            lock.check()?;
            match lock.release() {
                Err(err @ LockError::Compromised { .. }) => return Err(err.into()),
                Err(err) => self.notify(&Notice::ReleaseFailed { message: err.to_string() }),
                Ok(()) => {}
            }
            Ok(outcome)
        })
    }

    /// Takes `path`'s lock and hands it over: released when dropped.
    pub fn lock_guard(&self, path: &Path, kind: LockKind) -> Result<Lock, Error> {
        self.given(path, || Ok(self.locker_for(path).acquire(path, kind)?))
    }

    /// The version of `path` now (`none` if it does not exist).
    pub fn version(&self, path: &Path) -> Result<VersionOf, Error> {
        self.given(path, || {
            refuse_directory(self, path)?;
            let version = self.read_settled(path, || {
                crate::version::of_file(self.fs(), path).map_err(|err| Error::io(path, &err, "cannot read"))
            })?;
            Ok(VersionOf { path: path.to_path_buf(), version })
        })
    }
}

/// A directory where a file is expected is refused with a message that says so.
pub(super) fn refuse_directory(project: &Project, path: &Path) -> Result<(), Error> {
    match project.fs().metadata(path) {
        Ok(meta) if meta.is_dir() => Err(Error::new(
            super::Code::Io,
            format!("{} is a directory, not a file; give the path of a file", path.display()),
        )
        .with_path(path)),
        _ => Ok(()),
    }
}
