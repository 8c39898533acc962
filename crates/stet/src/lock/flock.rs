//! The default protocol: a kernel advisory lock (flock) on the sidecar file `FILE.lock`.
//!
//! Acquire: open `FILE.lock` without following a symlink (creating it if missing; an existing name
//! only if it is a regular file with one link), `flock(LOCK_NB)`, then check that the path still
//! names the inode we locked (`fstat` vs `lstat`, link count > 0); if not, a releasing holder
//! unlinked it meanwhile: retry. Then, holding the lock, judge whose the file is (see
//! [`super::side`]): one this call created, an empty one or one that holds a stet record is a lock
//! file, and exclusive holders write their [`Holder`] record into it; anything else
//! (`Gemfile.lock`) is refused, untouched. Release: unlink the path while still holding the lock,
//! then close. Because every acquirer checks the inode,
//! deleting lock files does not break mutual exclusion, and no lock file stays behind.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Holder;
use super::side::{self, SideError};
use crate::fs::{Fs, LockKind, not_found_as_none};
use crate::interrupt::{self, Leftover, Tracked};
use crate::sys;

/// A held flock.
#[derive(Debug)]
pub(super) struct Held {
    fs: Arc<dyn Fs>,
    lock_path: PathBuf,
    file: File,
    /// The inode locked (device, inode), which the lock path must still name.
    id: (u64, u64),
    kind: LockKind,
    tracked: Tracked,
}

/// Tries once to take the lock; `Ok(None)` when another process holds it.
pub(super) fn try_acquire(
    fs: &Arc<dyn Fs>,
    lock_path: &Path,
    kind: LockKind,
    holder: &Holder,
) -> Result<Option<Held>, SideError> {
    // From the lock file's creation until it is recorded for interrupt cleanup.
    let _held_off = interrupt::hold_off();
    loop {
        let (file, existing) = side::open(&**fs, lock_path)?;
        let created = existing.is_none();
        if !fs.try_lock(&file, kind)? {
            return Ok(None);
        }
        // Judged under the lock: no stet holder is writing its record into the file now.
        let checked = names_inode(&**fs, lock_path, &file).map_err(SideError::Io).and_then(|current| {
            let Some(meta) = current else { return Ok(None) };
            side::check_content(&**fs, lock_path, &file, &meta, created)?;
            let id = sys::file_id(&meta);
            let tracked = interrupt::track(Leftover::LockFile { path: lock_path.to_path_buf(), id });
            if kind == LockKind::Exclusive {
                fs.overwrite(&file, meta.len(), &holder.to_json())?;
            }
            Ok(Some((id, tracked)))
        });
        match checked {
            Ok(Some((id, tracked))) => {
                return Ok(Some(Held {
                    fs: fs.clone(),
                    lock_path: lock_path.to_path_buf(),
                    file,
                    id,
                    kind,
                    tracked,
                }));
            }
            // A holder unlinked the file between our open and our lock: it is no longer the lock.
            Ok(None) => {}
            Err(err) => {
                // A file we created and hold exclusively is ours to remove, if the path still names it.
                if created
                    && kind == LockKind::Exclusive
                    && matches!(names_inode(&**fs, lock_path, &file), Ok(Some(_)))
                {
                    let _ = fs.remove_file(lock_path);
                }
                return Err(err);
            }
        }
    }
}

/// A lock file kept open between locks, and whether its content was found to be a lock's.
#[derive(Debug)]
pub(super) struct Kept {
    file: File,
    created: bool,
    checked: bool,
    /// Set once it served as a lock: it stays on disk while kept, and must go on an interrupt.
    tracked: Option<Tracked>,
    /// The inode, once it served as a lock.
    id: Option<(u64, u64)>,
}

/// Like [`try_acquire`] (exclusive), but on the lock file kept open in `slot`, reopening it only
/// when another process removed it; the file stays on disk after an unlock.
pub(super) fn try_acquire_reusing(
    fs: &dyn Fs,
    lock_path: &Path,
    slot: &mut Option<Kept>,
    holder: &Holder,
) -> Result<bool, SideError> {
    let _held_off = interrupt::hold_off();
    loop {
        if slot.is_none() {
            let (file, existing) = side::open(fs, lock_path)?;
            let created = existing.is_none();
            *slot = Some(Kept { file, created, checked: false, tracked: None, id: None });
        }
        let kept = slot.as_mut().expect("the slot was just filled");
        if !fs.try_lock(&kept.file, LockKind::Exclusive)? {
            return Ok(false);
        }
        let checked = names_inode(fs, lock_path, &kept.file).map_err(SideError::Io).and_then(|current| {
            let Some(meta) = current else { return Ok(false) };
            if !kept.checked {
                side::check_content(fs, lock_path, &kept.file, &meta, kept.created)?;
                let id = sys::file_id(&meta);
                kept.tracked =
                    Some(interrupt::track(Leftover::LockFile { path: lock_path.to_path_buf(), id }));
                kept.id = Some(id);
                kept.checked = true;
            }
            fs.overwrite(&kept.file, meta.len(), &holder.to_json())?;
            Ok(true)
        });
        match checked {
            Ok(true) => return Ok(true),
            // Another process removed this file: it no longer is the lock. Open the path anew.
            Ok(false) => *slot = None,
            Err(err) => {
                let _ = fs.unlock(&kept.file);
                *slot = None;
                return Err(err);
            }
        }
    }
}

/// Whether the kept lock file, held now, is still the one at its path.
pub(super) fn still_named(fs: &dyn Fs, lock_path: &Path, kept: Option<&Kept>) -> io::Result<bool> {
    match kept {
        Some(Kept { id: Some(id), .. }) => names_id(fs, lock_path, *id),
        Some(kept) => Ok(names_inode(fs, lock_path, &kept.file)?.is_some()),
        None => Ok(false),
    }
}

/// Unlocks a kept lock file without closing it.
pub(super) fn unlock_kept(fs: &dyn Fs, kept: &Kept) -> io::Result<()> {
    fs.unlock(&kept.file)
}

/// Closes a kept lock file, removing it from disk if it was used as a lock and no other process
/// holds it.
pub(super) fn close_reused(fs: &dyn Fs, lock_path: &Path, kept: Kept) -> io::Result<()> {
    let Kept { file, checked, .. } = kept;
    if checked && fs.try_lock(&file, LockKind::Exclusive)? && names_inode(fs, lock_path, &file)?.is_some() {
        match fs.remove_file(lock_path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    drop(file);
    Ok(())
}

/// Whether `path` names the inode `id`.
fn names_id(fs: &dyn Fs, path: &Path, id: (u64, u64)) -> io::Result<bool> {
    Ok(not_found_as_none(fs.symlink_metadata(path))?.is_some_and(|meta| sys::file_id(&meta) == id))
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
    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// Whether the lock path still names the file this holder locked: someone may have removed
    /// or replaced it (`rm FILE.lock`), letting another process lock a new file there. (The inode
    /// cannot be reused by another file meanwhile: this holder keeps it open.)
    pub(super) fn still_named(&self) -> io::Result<bool> {
        names_id(&*self.fs, &self.lock_path, self.id)
    }

    /// Unlinks the lock file if no one else holds it, then unlocks by closing.
    pub(super) fn release(self) -> io::Result<()> {
        let Held { fs, lock_path, file, kind, tracked, .. } = self;
        let removed = tracked.finish(|| {
            // A shared holder may remove the file only once it is the last holder: it asks for an
            // exclusive lock without waiting (a conversion other holders make fail).
            let sole = kind == LockKind::Exclusive || fs.try_lock(&file, LockKind::Exclusive)?;
            if sole && names_inode(&*fs, &lock_path, &file)?.is_some() {
                match fs.remove_file(&lock_path) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
            }
            Ok(())
        });
        drop(file);
        removed
    }
}

/// The record of the process holding the lock, if one is written there.
pub(super) fn read_holder(fs: &dyn Fs, lock_path: &Path) -> Option<Holder> {
    side::read_record(fs, lock_path).and_then(|bytes| Holder::parse(&bytes))
}
