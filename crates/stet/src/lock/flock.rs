//! The default protocol: a kernel advisory lock (flock) on the sidecar file `FILE.lock`.
//!
//! Acquire: open `FILE.lock` (`O_RDWR|O_CREAT|O_NOFOLLOW`), `flock(LOCK_NB)`, then check that the
//! path still names the inode we locked (`fstat` vs `lstat`, link count > 0); if not, a releasing
//! holder unlinked it meanwhile: retry. Exclusive holders write their [`Holder`] record into the file.
//! Release: unlink the path while still holding the lock, then close. Because every acquirer checks
//! the inode, deleting lock files does not break mutual exclusion, and no lock file stays behind.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Holder;
use crate::fs::{Fs, LockKind, not_found_as_none, read_optional};
use crate::sys;

/// A held flock.
#[derive(Debug)]
pub(super) struct Held {
    fs: Arc<dyn Fs>,
    lock_path: PathBuf,
    file: File,
    kind: LockKind,
}

/// Tries once to take the lock; `Ok(None)` when another process holds it.
pub(super) fn try_acquire(
    fs: &Arc<dyn Fs>,
    lock_path: &Path,
    kind: LockKind,
    holder: &Holder,
) -> io::Result<Option<Held>> {
    loop {
        let file = fs.open_lock_file(lock_path)?;
        if !fs.try_lock(&file, kind)? {
            return Ok(None);
        }
        let checked = names_inode(&**fs, lock_path, &file).and_then(|current| {
            if let Some(meta) = &current
                && kind == LockKind::Exclusive
            {
                fs.overwrite(&file, meta.len(), &holder.to_json())?;
            }
            Ok(current.is_some())
        });
        match checked {
            Ok(true) => {
                return Ok(Some(Held { fs: fs.clone(), lock_path: lock_path.to_path_buf(), file, kind }));
            }
            // A holder unlinked the file between our open and our lock: it is no longer the lock.
            Ok(false) => {}
            Err(err) => {
                // We hold the lock, so if the path is still our file it is ours to remove.
                if kind == LockKind::Exclusive && matches!(names_inode(&**fs, lock_path, &file), Ok(Some(_)))
                {
                    let _ = fs.remove_file(lock_path);
                }
                return Err(err);
            }
        }
    }
}

/// Like [`try_acquire`] (exclusive), but on the lock file kept open in `slot`, reopening it only
/// when another process removed it; the file stays on disk after an unlock.
pub(super) fn try_acquire_reusing(
    fs: &dyn Fs,
    lock_path: &Path,
    slot: &mut Option<File>,
    holder: &Holder,
) -> io::Result<bool> {
    loop {
        let file = match slot {
            Some(file) => file,
            None => slot.insert(fs.open_lock_file(lock_path)?),
        };
        if !fs.try_lock(file, LockKind::Exclusive)? {
            return Ok(false);
        }
        match names_inode(fs, lock_path, file) {
            Ok(Some(meta)) => match fs.overwrite(file, meta.len(), &holder.to_json()) {
                Ok(()) => return Ok(true),
                Err(err) => {
                    let _ = fs.unlock(file);
                    return Err(err);
                }
            },
            // Another process removed this file: it no longer is the lock. Open the path anew.
            Ok(None) => *slot = None,
            Err(err) => {
                *slot = None;
                return Err(err);
            }
        }
    }
}

/// Closes a kept lock file, removing it from disk if no other process holds it.
pub(super) fn close_reused(fs: &dyn Fs, lock_path: &Path, file: File) -> io::Result<()> {
    if fs.try_lock(&file, LockKind::Exclusive)? && names_inode(fs, lock_path, &file)?.is_some() {
        match fs.remove_file(lock_path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    drop(file);
    Ok(())
}

/// If `path` still names the inode `file` has open, that file's metadata.
pub(super) fn names_inode(fs: &dyn Fs, path: &Path, file: &File) -> io::Result<Option<Metadata>> {
    let ours = fs.file_metadata(file)?;
    if sys::link_count(&ours) == 0 {
        return Ok(None);
    }
    let at_path = not_found_as_none(fs.symlink_metadata(path))?;
    Ok(at_path.filter(|meta| sys::file_id(meta) == sys::file_id(&ours)).map(|_| ours))
}

impl Held {
    /// Unlinks the lock file if no one else holds it, then unlocks by closing.
    pub(super) fn release(self) -> io::Result<()> {
        let Held { fs, lock_path, file, kind } = self;
        // A shared holder may remove the file only once it is the last holder: it asks for an
        // exclusive lock without waiting (a conversion other holders make fail).
        let sole = kind == LockKind::Exclusive || fs.try_lock(&file, LockKind::Exclusive)?;
        let current = if sole { names_inode(&*fs, &lock_path, &file)? } else { None };
        if current.is_some() {
            match fs.remove_file(&lock_path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        drop(file);
        Ok(())
    }
}

/// The record of the process holding the lock, if one is written there.
pub(super) fn read_holder(fs: &dyn Fs, lock_path: &Path) -> Option<Holder> {
    read_optional(fs, lock_path).ok().flatten().and_then(|bytes| Holder::parse(&bytes))
}
