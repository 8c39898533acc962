//! Lock leftovers: flock-protocol lock files (`FILE.lock`, `FILE.lock.steal`) and mkdir-protocol
//! lock directories with their holder records (`FILE.lock.holder`).
//!
//! What marks a lock file as stet's is the holder record stet's exclusive holders write into it
//! (`{"pid":...,"host":...}`). An empty lock file carries no such mark: stet's shared holders and
//! a crash between creating the file and writing the record leave one, but so do Python
//! `filelock` and any tool whose own file is named `FILE.lock`; the sweep cannot tell them apart,
//! so it reports them kept and never removes them.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;

use super::Sweeper;
use super::temp::{Removal, remove_file_named};
use crate::fs::{Fs, LockKind, not_found_as_none};
use crate::lock::Holder;
use crate::sys;

/// As in `lock::side`: no holder record stet writes comes near this; a longer file is not one.
const MAX_RECORD_BYTES: u64 = 4096;

impl Sweeper<'_> {
    /// Removes the flock-protocol lock file at `path` if it holds the record of a dead process of
    /// this host and nobody holds its flock: taken without waiting, then the same inode and the
    /// same record checked, then unlinked while held, as the protocol's release does.
    pub(super) fn lock_file(&mut self, path: &Path, meta: &Metadata) {
        if sys::link_count(meta) != 1 || meta.len() > MAX_RECORD_BYTES {
            return;
        }
        if meta.len() == 0 {
            let why = "it is empty: nothing in it shows that stet made it (it may be another tool's), so it is left";
            return self.kept(path, why);
        }
        let fs = &**self.fs;
        // Read-write and never through a symlink: the flock below needs an open file.
        let Ok(file) = fs.open_no_follow(path) else { return };
        let id = sys::file_id(meta);
        let Ok(Some(record)) = read_record(fs, &file, id) else { return };
        let Some(holder) = Holder::parse(&record) else { return };
        if let Some(why) = self.not_ours_to_judge(&holder) {
            return self.kept(path, why);
        }
        match fs.try_lock(&file, LockKind::Exclusive) {
            Ok(true) => {}
            Ok(false) => return self.kept(path, "its lock is held by a running process"),
            Err(err) => return self.kept(path, format!("cannot try its lock: {err}")),
        }
        let outcome = unchanged(fs, &file, id, &record).and_then(|same| {
            if same { remove_file_named(fs, path, id, |_| true) } else { Ok(Removal::Changed) }
        });
        self.report(path, outcome);
        // Closing the file releases the flock, after the unlink.
        drop(file);
    }

    /// Judges the mkdir-protocol holder record at `record_path` and the lock directory `lock_dir`
    /// it sits beside: a lock abandoned by a dead process of this host goes by the protocol's
    /// guarded steal; a record whose directory is gone (another tool removed the stale lock) goes
    /// if unchanged.
    pub(super) fn holder_record(&mut self, record_path: &Path, lock_dir: &Path) {
        let fs = &**self.fs;
        let Some((holder, recorded_dir)) = crate::lock::read_record_for_sweep(fs, record_path) else {
            return;
        };
        let lock_meta = not_found_as_none(fs.symlink_metadata(lock_dir)).ok().flatten();
        let current = lock_meta.filter(Metadata::is_dir).map(|meta| sys::file_id(&meta));
        let described = current.is_some() && current == recorded_dir;
        let shown = if described { lock_dir } else { record_path };
        if let Some(why) = self.not_ours_to_judge(&holder) {
            return self.kept(shown, why);
        }
        if let (true, Some(id)) = (described, current) {
            match crate::lock::remove_abandoned(self.fs, lock_dir, id) {
                Ok(true) => {
                    self.removed(lock_dir);
                    if fs.symlink_metadata(record_path).is_err() {
                        self.removed(record_path);
                    }
                }
                Ok(false) => self.kept(lock_dir, "another process is taking it over, or it changed"),
                Err(err) => self.kept(lock_dir, format!("cannot remove it: {err}")),
            }
            return;
        }
        self.orphaned_record(record_path);
    }

    /// Removes a holder record whose lock directory is gone, if it is still the record read.
    fn orphaned_record(&mut self, record_path: &Path) {
        let fs = &**self.fs;
        let Ok(Some(meta)) = not_found_as_none(fs.symlink_metadata(record_path)) else { return };
        let Ok(file) = fs.open_read_nofollow(record_path) else { return };
        let id = sys::file_id(&meta);
        let Ok(Some(record)) = read_record(fs, &file, id) else { return };
        if crate::lock::read_record_for_sweep(fs, record_path).is_none() {
            return;
        }
        let outcome = unchanged(fs, &file, id, &record).and_then(|same| {
            if same { remove_file_named(fs, record_path, id, |_| true) } else { Ok(Removal::Changed) }
        });
        self.report(record_path, outcome);
    }

    /// Why a lock left by `holder` is not this sweep's to remove, if it is not.
    fn not_ours_to_judge(&self, holder: &Holder) -> Option<String> {
        if holder.host != self.host {
            return Some(format!(
                "made on another host ({}), where stet cannot tell whether it runs",
                holder.host
            ));
        }
        Self::running(holder.pid)
    }
}

/// The content of the open `file`, if it is the regular file `id` with one link and of record
/// size.
fn read_record(fs: &dyn Fs, file: &File, id: (u64, u64)) -> io::Result<Option<Vec<u8>>> {
    let meta = fs.file_metadata(file)?;
    if !meta.is_file()
        || sys::file_id(&meta) != id
        || sys::link_count(&meta) != 1
        || meta.len() > MAX_RECORD_BYTES
    {
        return Ok(None);
    }
    let mut bytes = vec![0u8; MAX_RECORD_BYTES as usize + 1];
    let read = fs.read_at(file, &mut bytes, 0)?;
    bytes.truncate(read);
    Ok(Some(bytes))
}

/// Whether the open `file` is still the inode `id`, still linked, and still holds `record`.
fn unchanged(fs: &dyn Fs, file: &File, id: (u64, u64), record: &[u8]) -> io::Result<bool> {
    Ok(read_record(fs, file, id)?.is_some_and(|now| now == record))
}
