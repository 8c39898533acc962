//! Temporary files and staging directories: `.NAME.stet-HOST-PID-RANDOM.tmp`, the files of
//! atomic writes (and the old contents left under that name by exchanged commits), log side
//! temporaries, and entries built aside by `stet new`.

use std::fs::Metadata;
use std::io;
use std::path::Path;

use super::Sweeper;
use crate::atomic::TempOrigin;
use crate::fs::{FileKind, Fs, not_found_as_none};
use crate::sys;

/// What became of a leftover the sweep tried to remove.
pub(super) enum Removal {
    Removed,
    /// The path no longer names what was checked.
    Changed,
    /// Something else removed it first.
    Gone,
}

impl Sweeper<'_> {
    /// Removes the temporary file or staging directory at `path` if its maker is dead.
    pub(super) fn temporary(&mut self, path: &Path, meta: &Metadata, origin: TempOrigin) {
        match FileKind::of(meta) {
            None | Some(FileKind::Directory) => {}
            Some(kind) => {
                let why = format!("it is {kind} with a stet temporary name; stet makes none, so it is left");
                return self.kept(path, why);
            }
        }
        if !origin.made_here() {
            return self.kept(path, "made on another host, where stet cannot tell whether its process runs");
        }
        if let Some(why) = Self::running(origin.pid) {
            return self.kept(path, why);
        }
        if (self.spared)(path) {
            return self.kept(path, "staged by a transaction that is not finished");
        }
        let id = sys::file_id(meta);
        let outcome = if meta.is_dir() {
            remove_tree(&**self.fs, path, id)
        } else {
            remove_file_named(&**self.fs, path, id, Metadata::is_file)
        };
        self.report(path, outcome);
    }

    pub(super) fn report(&mut self, path: &Path, outcome: io::Result<Removal>) {
        match outcome {
            Ok(Removal::Removed) => self.removed(path),
            Ok(Removal::Changed) => self.kept(path, "it changed while the sweep examined it"),
            Ok(Removal::Gone) => {}
            Err(err) => self.kept(path, format!("cannot remove it: {err}")),
        }
    }
}

/// Unlinks `path` if it still names the inode `id` and `still` holds of it.
pub(super) fn remove_file_named(
    fs: &dyn Fs,
    path: &Path,
    id: (u64, u64),
    still: impl Fn(&Metadata) -> bool,
) -> io::Result<Removal> {
    let Some(meta) = not_found_as_none(fs.symlink_metadata(path))? else { return Ok(Removal::Gone) };
    if sys::file_id(&meta) != id || !still(&meta) {
        return Ok(Removal::Changed);
    }
    gone_is_fine(fs.remove_file(path))
}

/// Removes the directory `path` (inode `id`) and everything in it, never following a symlink: a
/// link inside is unlinked, not what it leads to.
fn remove_tree(fs: &dyn Fs, path: &Path, id: (u64, u64)) -> io::Result<Removal> {
    let Some(meta) = not_found_as_none(fs.symlink_metadata(path))? else { return Ok(Removal::Gone) };
    if sys::file_id(&meta) != id || !meta.is_dir() {
        return Ok(Removal::Changed);
    }
    for name in fs.list_dir(path)? {
        let child = path.join(name);
        let Some(meta) = not_found_as_none(fs.symlink_metadata(&child))? else { continue };
        if meta.is_dir() {
            if let Removal::Changed = remove_tree(fs, &child, sys::file_id(&meta))? {
                return Ok(Removal::Changed);
            }
        } else if let Err(err) = fs.remove_file(&child)
            && err.kind() != io::ErrorKind::NotFound
        {
            return Err(err);
        }
    }
    gone_is_fine(fs.remove_dir(path))
}

fn gone_is_fine(result: io::Result<()>) -> io::Result<Removal> {
    match result {
        Ok(()) => Ok(Removal::Removed),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Removal::Gone),
        Err(err) => Err(err),
    }
}
