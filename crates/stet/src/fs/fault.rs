//! Fault injection through the seam: fail one chosen call, or crash (fail every call) from a chosen
//! step on, and record the order of effects.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{Fs, LockKind};

/// One kind of call through the seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    OpenRead,
    CreateNew,
    OpenSideFile,
    Read,
    Write,
    Overwrite,
    Sync,
    SyncData,
    OpenRw,
    WriteAt,
    ReadAt,
    SetLen,
    MapMut,
    SetMode,
    SetOwner,
    FileMetadata,
    Metadata,
    SymlinkMetadata,
    ReadLink,
    Canonicalize,
    Rename,
    RenameNoReplace,
    RenameExchange,
    SyncDir,
    RemoveFile,
    CreateDir,
    RemoveDir,
    ListDir,
    SetMtime,
    TryLock,
    Unlock,
    CheckWriteAccess,
    ListXattrs,
    GetXattr,
    FileXattr,
    SetXattr,
    OpenNoFollow,
    OpenNoBlock,
    OpenReadNoFollow,
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: only record.
    None,
    /// The `nth` (counted from 0) call of kind `op` fails with the OS error `errno`; others succeed.
    Fail {
        /// Which kind of call.
        op: Op,
        /// Which occurrence of it.
        nth: usize,
        /// The raw OS error it fails with (`libc::EIO`, `libc::ENOSPC`, ...).
        errno: i32,
    },
    /// Each listed `(op, nth, errno)` fails as in [`Fault::Fail`].
    FailEach(&'static [(Op, usize, i32)]),
    /// The process "dies" before call number `step` (counted from 0 over all calls): that call and
    /// every later one fail, so no cleanup can happen, as after `kill -9` or a power loss.
    CrashAt {
        /// The first call that does not happen.
        step: usize,
    },
}

#[derive(Debug, Default)]
struct State {
    log: Vec<(Op, Option<PathBuf>)>,
    failed: bool,
}

/// An [`Fs`] that wraps another and injects one [`Fault`].
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Fs>,
    fault: Fault,
    state: Mutex<State>,
}

impl Faulty {
    /// Wraps `inner`, injecting `fault`.
    pub fn new(inner: Arc<dyn Fs>, fault: Fault) -> Self {
        Faulty { inner, fault, state: Mutex::new(State::default()) }
    }

    /// The calls made so far, in order, with the path each concerned where it named one.
    pub fn log(&self) -> Vec<(Op, Option<PathBuf>)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).log.clone()
    }

    /// Whether the fault has fired.
    pub fn fired(&self) -> bool {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).failed
    }

    fn check(&self, op: Op, path: Option<&Path>) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let step = state.log.len();
        let nth = state.log.iter().filter(|(seen, _)| *seen == op).count();
        state.log.push((op, path.map(Path::to_path_buf)));
        let error = match self.fault {
            Fault::Fail { op: target, nth: n, errno } if target == op && n == nth => {
                Some(io::Error::from_raw_os_error(errno))
            }
            Fault::FailEach(list) => list
                .iter()
                .find(|(target, n, _)| *target == op && *n == nth)
                .map(|(_, _, errno)| io::Error::from_raw_os_error(*errno)),
            Fault::CrashAt { step: at } if step >= at => {
                Some(io::Error::other("simulated crash: the process is gone"))
            }
            _ => None,
        };
        match error {
            Some(err) => {
                state.failed = true;
                Err(err)
            }
            None => Ok(()),
        }
    }
}

impl Fs for Faulty {
    fn open_read(&self, path: &Path) -> io::Result<File> {
        self.check(Op::OpenRead, Some(path))?;
        self.inner.open_read(path)
    }
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        self.check(Op::CreateNew, Some(path))?;
        self.inner.create_new(path, mode)
    }
    fn open_side_file(&self, path: &Path) -> io::Result<(File, bool)> {
        self.check(Op::OpenSideFile, Some(path))?;
        self.inner.open_side_file(path)
    }
    fn read_to_end(&self, file: &mut File, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.check(Op::Read, None)?;
        self.inner.read_to_end(file, buf)
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        self.check(Op::Write, None)?;
        self.inner.write_all(file, bytes)
    }
    fn overwrite(&self, file: &File, old_len: u64, bytes: &[u8]) -> io::Result<()> {
        self.check(Op::Overwrite, None)?;
        self.inner.overwrite(file, old_len, bytes)
    }
    fn sync(&self, file: &File) -> io::Result<()> {
        self.check(Op::Sync, None)?;
        self.inner.sync(file)
    }
    fn sync_data(&self, file: &File) -> io::Result<()> {
        self.check(Op::SyncData, None)?;
        self.inner.sync_data(file)
    }
    fn open_rw(&self, path: &Path, mode: u32) -> io::Result<File> {
        self.check(Op::OpenRw, Some(path))?;
        self.inner.open_rw(path, mode)
    }
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.check(Op::WriteAt, None)?;
        self.inner.write_at(file, bytes, offset)
    }
    fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.check(Op::ReadAt, None)?;
        self.inner.read_at(file, buf, offset)
    }
    fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        self.check(Op::SetLen, None)?;
        self.inner.set_len(file, len)
    }
    fn map_mut(&self, file: &File) -> io::Result<memmap2::MmapMut> {
        self.check(Op::MapMut, None)?;
        self.inner.map_mut(file)
    }
    fn set_mode(&self, file: &File, mode: u32) -> io::Result<()> {
        self.check(Op::SetMode, None)?;
        self.inner.set_mode(file, mode)
    }
    fn set_owner(&self, file: &File, uid: u32, gid: u32) -> io::Result<()> {
        self.check(Op::SetOwner, None)?;
        self.inner.set_owner(file, uid, gid)
    }
    fn file_metadata(&self, file: &File) -> io::Result<Metadata> {
        self.check(Op::FileMetadata, None)?;
        self.inner.file_metadata(file)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.check(Op::Metadata, Some(path))?;
        self.inner.metadata(path)
    }
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.check(Op::SymlinkMetadata, Some(path))?;
        self.inner.symlink_metadata(path)
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.check(Op::ReadLink, Some(path))?;
        self.inner.read_link(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.check(Op::Canonicalize, Some(path))?;
        self.inner.canonicalize(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(Op::Rename, Some(to))?;
        self.inner.rename(from, to)
    }
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(Op::RenameNoReplace, Some(to))?;
        self.inner.rename_noreplace(from, to)
    }
    fn rename_exchange(&self, a: &Path, b: &Path) -> io::Result<bool> {
        self.check(Op::RenameExchange, Some(b))?;
        self.inner.rename_exchange(a, b)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(Op::SyncDir, Some(dir))?;
        self.inner.sync_dir(dir)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check(Op::RemoveFile, Some(path))?;
        self.inner.remove_file(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.check(Op::CreateDir, Some(path))?;
        self.inner.create_dir(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.check(Op::RemoveDir, Some(path))?;
        self.inner.remove_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.check(Op::ListDir, Some(path))?;
        self.inner.list_dir(path)
    }
    fn set_mtime(&self, path: &Path, time: SystemTime) -> io::Result<()> {
        self.check(Op::SetMtime, Some(path))?;
        self.inner.set_mtime(path, time)
    }
    fn try_lock(&self, file: &File, kind: LockKind) -> io::Result<bool> {
        self.check(Op::TryLock, None)?;
        self.inner.try_lock(file, kind)
    }
    fn unlock(&self, file: &File) -> io::Result<()> {
        self.check(Op::Unlock, None)?;
        self.inner.unlock(file)
    }
    fn check_write_access(&self, path: &Path) -> io::Result<()> {
        self.check(Op::CheckWriteAccess, Some(path))?;
        self.inner.check_write_access(path)
    }
    fn list_xattrs(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.check(Op::ListXattrs, Some(path))?;
        self.inner.list_xattrs(path)
    }
    fn get_xattr(&self, path: &Path, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
        self.check(Op::GetXattr, Some(path))?;
        self.inner.get_xattr(path, name)
    }
    fn file_xattr(&self, file: &File, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
        self.check(Op::FileXattr, None)?;
        self.inner.file_xattr(file, name)
    }
    fn set_file_xattr(&self, file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()> {
        self.check(Op::SetXattr, None)?;
        self.inner.set_file_xattr(file, name, value)
    }
    fn open_no_follow(&self, path: &Path) -> io::Result<File> {
        self.check(Op::OpenNoFollow, Some(path))?;
        self.inner.open_no_follow(path)
    }
    fn open_no_block(&self, path: &Path, create: Option<u32>) -> io::Result<File> {
        self.check(Op::OpenNoBlock, Some(path))?;
        self.inner.open_no_block(path, create)
    }
    fn open_read_nofollow(&self, path: &Path) -> io::Result<File> {
        self.check(Op::OpenReadNoFollow, Some(path))?;
        self.inner.open_read_nofollow(path)
    }
}
