//! The replace protocol: check the target (a regular file, one link, writable by the caller), read
//! its extended attributes, create temp, write, chown, copy the attributes, chmod, fsync, rename
//! (or exchange), fsync dir.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Durability, Existing, Links, Mode, Step, WriteError, Writer, attributes};
use crate::fs::{FileKind, Fs};
use crate::interrupt::{self, Leftover, Tracked};
use crate::sys;
use crate::version::Version;

/// The longest file name most file systems accept, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// A completed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file that was written (symlinks resolved).
    pub path: PathBuf,
    /// How many bytes it now holds.
    pub bytes: u64,
    /// The version of its new content.
    pub version: Version,
}

/// New content in a temporary file next to its target, fully written (and fsynced, if durable),
/// waiting to be renamed into place by [`Staged::commit`]. Dropping it removes the temporary file.
#[derive(Debug)]
#[must_use = "a staged write does nothing until it is committed"]
pub struct Staged {
    fs: Arc<dyn Fs>,
    target: PathBuf,
    dir: PathBuf,
    /// The temporary name, while a file stands there that this write must remove.
    temp: Option<PathBuf>,
    /// The temporary name, recorded for removal if the process is interrupted.
    _tracked: Tracked,
    durability: Durability,
    existing: Existing,
    replaces: bool,
    bytes: u64,
    version: Version,
}

impl Staged {
    pub(super) fn prepare(writer: &Writer, path: &Path, bytes: &[u8]) -> Result<Staged, WriteError> {
        let fs = &*writer.fs;
        let io_error = |step, source| WriteError::Io { path: path.to_path_buf(), step, source };
        let (target, existing) =
            crate::target::resolve_for_write(fs, path).map_err(|err| io_error(Step::Resolve, err))?;
        let io_error = |step, source| WriteError::Io { path: target.clone(), step, source };
        if let Some(meta) = &existing {
            check_replaceable(writer, &target, meta)?;
        }
        let attributes = match &existing {
            Some(_) => attributes::read(fs, &target, writer.mode)
                .map_err(|err| io_error(Step::ReadAttributes, err))?,
            None => Vec::new(),
        };
        let dir = target.parent().expect("a resolved path is absolute and names a file").to_path_buf();
        let create_mode = if existing.is_some() || matches!(writer.mode, Mode::Set(_)) {
            sys::PRIVATE_FILE_MODE
        } else {
            sys::DEFAULT_NEW_FILE_MODE
        };
        let (temp, mut file, tracked) =
            create_temp(fs, &dir, &target, create_mode).map_err(|err| io_error(Step::CreateTemp, err))?;
        let staged = Staged {
            fs: writer.fs.clone(),
            target,
            dir,
            temp: Some(temp),
            _tracked: tracked,
            durability: writer.durability,
            existing: writer.existing,
            replaces: existing.is_some(),
            bytes: bytes.len() as u64,
            version: Version::of(bytes),
        };
        // From here on, an early return drops `staged`, which removes the temporary file.
        staged.fill(writer, &mut file, bytes, existing.as_ref(), &attributes)?;
        Ok(staged)
    }

    /// Writes the content into the temporary file and gives it the target's owner, attributes and
    /// mode, in the order that keeps each: chown clears setuid/setgid bits and file
    /// capabilities, setting an ACL rewrites the group bits, and the final chmod sets the ACL mask
    /// from the old file's group bits, which were its mask.
    fn fill(
        &self,
        writer: &Writer,
        file: &mut File,
        bytes: &[u8],
        existing: Option<&Metadata>,
        attributes: &[attributes::Attribute],
    ) -> Result<(), WriteError> {
        let fs = &*self.fs;
        let io_error = |step, source| WriteError::Io { path: self.target.clone(), step, source };
        fs.write_all(file, bytes).map_err(|err| io_error(Step::WriteTemp, err))?;
        if let (Mode::Keep, Some(meta)) = (writer.mode, existing) {
            give_owner(fs, file, meta).map_err(|err| io_error(Step::SetMode, err))?;
        }
        attributes::copy(fs, file, attributes).map_err(|(name, source)| WriteError::Attribute {
            path: self.target.clone(),
            name,
            source,
        })?;
        apply_mode(fs, file, writer.mode, existing).map_err(|err| io_error(Step::SetMode, err))?;
        if writer.durability == Durability::Sync {
            fs.sync(file).map_err(|err| io_error(Step::SyncTemp, err))?;
        }
        Ok(())
    }

    /// The file this write will replace or create.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary name the new content waits under.
    pub fn temp_path(&self) -> &Path {
        self.temp.as_deref().expect("an uncommitted write owns its temporary file")
    }

    /// Gives up the temporary file without renaming or removing it: from now on it is the
    /// caller's (a transaction renames it after its commit point, or its recovery does).
    pub(crate) fn keep(mut self) -> PathBuf {
        self.temp.take().expect("an uncommitted write owns its temporary file")
    }

    /// Renames the new content into place and makes the rename durable. On error the target is
    /// restored where possible (see [`Step::SyncDir`]) and the temporary file is removed.
    pub fn commit(mut self) -> Result<Written, WriteError> {
        let temp = self.temp.clone().expect("an uncommitted write owns its temporary file");
        let exchanged = self.rename_into_place(&temp)?;
        if self.durability == Durability::Sync
            && let Err(err) = self.fs.sync_dir(&self.dir)
        {
            let path = self.target.clone();
            return Err(if self.roll_back(&temp, exchanged) {
                WriteError::Io { path, step: Step::SyncDir, source: err }
            } else {
                WriteError::NotDurable { path, source: err }
            });
        }
        if exchanged {
            // The temporary name now holds the old content. Not removing it is harmless: its name
            // marks it for the next sweep.
            let _ = self.fs.remove_file(&temp);
        }
        self.temp = None;
        Ok(Written { path: self.target.clone(), bytes: self.bytes, version: self.version })
    }

    /// Returns whether the names were exchanged (the temporary name then holds the old content).
    fn rename_into_place(&mut self, temp: &Path) -> Result<bool, WriteError> {
        let io_error = |source| WriteError::Io { path: self.target.clone(), step: Step::Rename, source };
        if self.existing == Existing::Fail {
            return match self.fs.rename_noreplace(temp, &self.target) {
                Ok(()) => {
                    self.temp = None;
                    Ok(false)
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    Err(WriteError::Exists { path: self.target.clone() })
                }
                Err(err) => Err(io_error(err)),
            };
        }
        // Exchanging rather than renaming keeps the old content reachable until the directory is
        // durable, so a failed directory fsync can be undone.
        if self.replaces && self.durability == Durability::Sync {
            match self.fs.rename_exchange(temp, &self.target) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_error(err)),
            }
        }
        self.fs.rename(temp, &self.target).map_err(io_error)?;
        self.temp = None;
        Ok(false)
    }

    /// After a failed directory fsync: puts the old state back; whether it could.
    fn roll_back(&mut self, temp: &Path, exchanged: bool) -> bool {
        if exchanged {
            // Success: `temp` holds the new content again, and dropping `self` removes it.
            // Failure: it holds the old content, which the new has replaced; dropping removes it.
            return self.fs.rename_exchange(temp, &self.target).is_ok_and(|swapped| swapped);
        }
        // A new file is undone by removing it; a plain rename over an old file cannot be undone.
        !self.replaces && self.fs.remove_file(&self.target).is_ok()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = self.fs.remove_file(&temp);
        }
    }
}

/// Creates `.NAME.stet-HOST-PID-RANDOM.tmp` exclusively in `dir`, recorded for interrupt cleanup
/// before it exists.
fn create_temp(fs: &dyn Fs, dir: &Path, target: &Path, mode: u32) -> io::Result<(PathBuf, File, Tracked)> {
    let name = target.file_name().expect("a resolved path names a file").to_string_lossy();
    let mut last_error = None;
    // Cleanup waits while a name is recorded and its file made, and after cleanup nothing is made.
    let _held_off = interrupt::hold_off();
    for _ in 0..64 {
        let temp = dir.join(temp_name(&name));
        let tracked = interrupt::track(Leftover::File(temp.clone()));
        match fs.create_new(&temp, mode) {
            Ok(file) => return Ok((temp, file, tracked)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.expect("the loop ran at least once"))
}

/// A fresh `.NAME.stet-HOST-PID-RANDOM.tmp` for `name`, shortened to fit the file-name limit:
/// the name a later sweep recognises, and which tells the host ([`super::host_tag`]) and the
/// process that made it.
pub(crate) fn temp_name(name: &str) -> OsString {
    let suffix =
        format!(".stet-{:08x}-{}-{:08x}.tmp", super::host_tag(), std::process::id(), fastrand::u32(..));
    let room = MAX_NAME_BYTES - 1 - suffix.len();
    let mut stem = name.to_owned();
    while stem.len() > room {
        stem.pop();
    }
    OsString::from(format!(".{stem}{suffix}"))
}

/// Refuses a target that is not a regular file, that must not exist, that has other names, or that
/// the caller could not write in place.
fn check_replaceable(writer: &Writer, target: &Path, meta: &Metadata) -> Result<(), WriteError> {
    match FileKind::of(meta) {
        None => {}
        Some(FileKind::Directory) => return Err(WriteError::IsDirectory { path: target.to_path_buf() }),
        Some(kind) => return Err(WriteError::NotRegularFile { path: target.to_path_buf(), kind }),
    }
    if writer.existing == Existing::Fail {
        return Err(WriteError::Exists { path: target.to_path_buf() });
    }
    let links = sys::link_count(meta);
    if links > 1 && writer.links == Links::Refuse {
        return Err(WriteError::HardLinked { path: target.to_path_buf(), links });
    }
    // The kernel's answer, not a re-reading of permission bits: ACLs, capabilities and
    // immutable flags all count.
    match writer.fs.check_write_access(target) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            Err(WriteError::NotWritable { path: target.to_path_buf() })
        }
        Err(source) => Err(WriteError::Io { path: target.to_path_buf(), step: Step::CheckAccess, source }),
    }
}

/// Gives the temporary file the target's owner, where the process may.
fn give_owner(fs: &dyn Fs, file: &File, meta: &Metadata) -> io::Result<()> {
    let Some((uid, gid)) = sys::owner(meta) else { return Ok(()) };
    if sys::owner(&fs.file_metadata(file)?) == Some((uid, gid)) {
        return Ok(());
    }
    // Only privileged processes may give files away; others keep their own.
    match fs.set_owner(file, uid, gid) {
        Err(err) if err.kind() != io::ErrorKind::PermissionDenied => Err(err),
        _ => Ok(()),
    }
}

/// Gives the temporary file the mode the target should have.
fn apply_mode(fs: &dyn Fs, file: &File, mode: Mode, existing: Option<&Metadata>) -> io::Result<()> {
    match (mode, existing) {
        (Mode::Set(bits), _) => fs.set_mode(file, bits),
        (Mode::Keep, Some(meta)) => fs.set_mode(file, sys::mode(meta)),
        (Mode::Keep, None) => Ok(()),
    }
}
