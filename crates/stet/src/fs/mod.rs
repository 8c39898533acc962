//! The seam through which every file-system effect of stet passes.
//!
//! Code above this module never calls `std::fs` directly: it asks an [`Fs`]. The production
//! implementation, [`Real`], forwards to the operating system. [`Faulty`] wraps another `Fs` and
//! fails chosen calls, or every call after a chosen one (a simulated crash), and records the order
//! of effects, so tests can prove that each protocol survives an error or a crash at every step and
//! that no fsync was forgotten.

mod fault;

pub use fault::{Fault, Faulty, Op};

/// A file-system step that failed, and the file or directory it concerned: the one I/O error
/// that `lease`, `log` and `entry` errors carry (`lock` and `atomic` name their own steps).
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} {}: {source}", path.display())]
pub struct IoError {
    /// The file or directory concerned.
    pub path: std::path::PathBuf,
    /// What stet was doing, as a verb: `"read"`, `"create"`, `"list"`.
    pub step: &'static str,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::sys;

/// How a lock attempt on an open file went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// One holder only.
    Exclusive,
    /// Any number of shared holders, no exclusive one.
    Shared,
}

/// Every file-system effect stet performs. Implementations must be usable from several threads.
///
/// Methods mirror single system calls so that a fault can be injected between any two of them.
pub trait Fs: Send + Sync + fmt::Debug {
    /// Opens a file for reading, without blocking (a FIFO with no writer opens at once).
    fn open_read(&self, path: &Path) -> io::Result<File>;
    /// Creates a file that must not exist (`O_CREAT|O_EXCL`), write-only, with `mode` before umask.
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File>;
    /// Opens (creating if needed) a side file (lock file, holder record) read-write, never
    /// following a symlink and never opening anything but a regular file; `true` when it created
    /// the file. A symlink or a file of another type is `AlreadyExists`, saying what it is.
    fn open_side_file(&self, path: &Path) -> io::Result<(File, bool)>;
    /// Reads the rest of an open file.
    fn read_to_end(&self, file: &mut File, buf: &mut Vec<u8>) -> io::Result<usize>;
    /// Writes all of `bytes` at the file's position.
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
    /// Replaces an open file's whole content, `old_len` bytes long, with `bytes` (lock metadata).
    fn overwrite(&self, file: &File, old_len: u64, bytes: &[u8]) -> io::Result<()>;
    /// fsync: makes the file's data and metadata durable.
    fn sync(&self, file: &File) -> io::Result<()>;
    /// fdatasync: makes the file's data durable, and the metadata needed to read it (its size).
    fn sync_data(&self, file: &File) -> io::Result<()>;
    /// Opens a file for reading and writing, creating it (with `mode` before umask) if missing.
    fn open_rw(&self, path: &Path, mode: u32) -> io::Result<File>;
    /// Writes all of `bytes` at `offset` (pwrite).
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// Reads into `buf` from `offset` (pread); returns how many bytes were read.
    fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Truncates (or extends) an open file to `len` bytes.
    fn set_len(&self, file: &File, len: u64) -> io::Result<()>;
    /// Maps an open file read-write into memory (for the event-log index). The caller must
    /// ensure nothing truncates the file while the map lives.
    fn map_mut(&self, file: &File) -> io::Result<memmap2::MmapMut>;
    /// fchmod.
    fn set_mode(&self, file: &File, mode: u32) -> io::Result<()>;
    /// fchown.
    fn set_owner(&self, file: &File, uid: u32, gid: u32) -> io::Result<()>;
    /// fstat.
    fn file_metadata(&self, file: &File) -> io::Result<Metadata>;
    /// stat (follows symlinks).
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// lstat.
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// readlink.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// realpath.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// rename, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// rename that fails with `AlreadyExists` instead of replacing `to`.
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Atomically swaps two names; `Ok(false)` where the file system cannot.
    fn rename_exchange(&self, a: &Path, b: &Path) -> io::Result<bool>;
    /// fsync of a directory, which makes its entries durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// unlink.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// mkdir (not recursive).
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// rmdir.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    /// The names in a directory (readdir), in no particular order.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>>;
    /// Sets a path's modification time.
    fn set_mtime(&self, path: &Path, time: SystemTime) -> io::Result<()>;
    /// Non-blocking advisory lock (flock); `Ok(false)` when another holder has it.
    fn try_lock(&self, file: &File, kind: LockKind) -> io::Result<bool>;
    /// Releases an advisory lock without closing the file.
    fn unlock(&self, file: &File) -> io::Result<()>;
    /// faccessat(`W_OK`, `AT_EACCESS`): `Ok` when the caller may write the file in place, by the
    /// kernel's own answer (mode, owner, ACL, immutable flag); `PermissionDenied` when not.
    fn check_write_access(&self, path: &Path) -> io::Result<()>;
    /// llistxattr: the names of the extended attributes of the entry at `path` itself.
    fn list_xattrs(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>>;
    /// lgetxattr.
    fn get_xattr(&self, path: &Path, name: &std::ffi::OsStr) -> io::Result<Vec<u8>>;
    /// fgetxattr.
    fn file_xattr(&self, file: &File, name: &std::ffi::OsStr) -> io::Result<Vec<u8>>;
    /// fsetxattr, creating or replacing the attribute.
    fn set_file_xattr(&self, file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()>;
    /// Opens an existing file read-write, never through a symlink and never waiting on a FIFO or
    /// a device (the caller fstats and refuses what is not a regular file): for side files.
    fn open_no_follow(&self, path: &Path) -> io::Result<File>;
    /// Opens a file for reading, or with `create` read-write (made with that mode before umask if
    /// missing), never waiting on a FIFO or a device: for a log, refused after an fstat unless it
    /// is a regular file.
    fn open_no_block(&self, path: &Path, create: Option<u32>) -> io::Result<File>;
    /// Opens a file or directory for reading, never through a symlink at its last component and
    /// never blocking on a FIFO (the caller fstats what it got).
    fn open_read_nofollow(&self, path: &Path) -> io::Result<File>;
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct Real;

/// The shared production file system.
pub fn real() -> Arc<dyn Fs> {
    static REAL: OnceLock<Arc<dyn Fs>> = OnceLock::new();
    REAL.get_or_init(|| Arc::new(Real)).clone()
}

impl Fs for Real {
    fn open_read(&self, path: &Path) -> io::Result<File> {
        sys::open_read(path)
    }
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        sys::create_new(path, mode)
    }
    fn open_side_file(&self, path: &Path) -> io::Result<(File, bool)> {
        sys::open_side_file(path)
    }
    fn read_to_end(&self, file: &mut File, buf: &mut Vec<u8>) -> io::Result<usize> {
        file.read_to_end(buf)
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }
    fn overwrite(&self, file: &File, old_len: u64, bytes: &[u8]) -> io::Result<()> {
        #[cfg(unix)]
        std::os::unix::fs::FileExt::write_all_at(file, bytes, 0)?;
        #[cfg(not(unix))]
        {
            use std::io::Seek;
            let mut handle = file;
            handle.seek(io::SeekFrom::Start(0))?;
            handle.write_all(bytes)?;
        }
        if old_len > bytes.len() as u64 {
            file.set_len(bytes.len() as u64)?;
        }
        Ok(())
    }
    fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_all()
    }
    fn sync_data(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }
    fn open_rw(&self, path: &Path, mode: u32) -> io::Result<File> {
        sys::open_rw(path, mode)
    }
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
        sys::write_at(file, bytes, offset)
    }
    fn read_at(&self, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        sys::read_at(file, buf, offset)
    }
    fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        file.set_len(len)
    }
    fn map_mut(&self, file: &File) -> io::Result<memmap2::MmapMut> {
        // SAFETY: the callers' contract: the file is not truncated while the map lives (the
        // index is replaced by rename, never truncated in place, and only by the lock holder).
        unsafe { memmap2::MmapMut::map_mut(file) }
    }
    fn set_mode(&self, file: &File, mode: u32) -> io::Result<()> {
        sys::set_mode(file, mode)
    }
    fn set_owner(&self, file: &File, uid: u32, gid: u32) -> io::Result<()> {
        sys::set_owner(file, uid, gid)
    }
    fn file_metadata(&self, file: &File) -> io::Result<Metadata> {
        file.metadata()
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::metadata(path)
    }
    fn symlink_metadata(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::symlink_metadata(path)
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        sys::rename_noreplace(from, to)
    }
    fn rename_exchange(&self, a: &Path, b: &Path) -> io::Result<bool> {
        sys::rename_exchange(a, b)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sys::sync_dir(dir)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        std::fs::read_dir(path)?.map(|entry| entry.map(|entry| entry.file_name())).collect()
    }
    fn set_mtime(&self, path: &Path, time: SystemTime) -> io::Result<()> {
        sys::set_mtime(path, time)
    }
    fn try_lock(&self, file: &File, kind: LockKind) -> io::Result<bool> {
        let attempt = match kind {
            LockKind::Exclusive => file.try_lock(),
            LockKind::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(err)) => Err(err),
        }
    }
    fn unlock(&self, file: &File) -> io::Result<()> {
        file.unlock()
    }
    fn check_write_access(&self, path: &Path) -> io::Result<()> {
        sys::check_write_access(path)
    }
    fn list_xattrs(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        sys::list_xattrs(path)
    }
    fn get_xattr(&self, path: &Path, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
        sys::get_xattr(path, name)
    }
    fn file_xattr(&self, file: &File, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
        sys::file_xattr(file, name)
    }
    fn set_file_xattr(&self, file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()> {
        sys::set_file_xattr(file, name, value)
    }
    fn open_no_follow(&self, path: &Path) -> io::Result<File> {
        sys::open_no_follow(path)
    }
    fn open_no_block(&self, path: &Path, create: Option<u32>) -> io::Result<File> {
        sys::open_no_block(path, create)
    }
    fn open_read_nofollow(&self, path: &Path) -> io::Result<File> {
        sys::open_read_nofollow(path)
    }
}

/// What a path is, where it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum FileKind {
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    Symlink,
    /// Any other kind the platform has.
    Other,
}

impl FileKind {
    /// What `meta` describes; `None` for a regular file.
    pub fn of(meta: &Metadata) -> Option<FileKind> {
        let file_type = meta.file_type();
        if file_type.is_file() {
            None
        } else if file_type.is_dir() {
            Some(FileKind::Directory)
        } else if file_type.is_symlink() {
            Some(FileKind::Symlink)
        } else {
            Some(sys::special_kind(file_type))
        }
    }
}

impl FileKind {
    /// In words, for messages: "a FIFO", "a directory".
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
            FileKind::Symlink => "a symbolic link",
            FileKind::Other => "a special file",
        }
    }

    /// What `meta` describes, in words ("a regular file" for one).
    pub(crate) fn describe_metadata(meta: &Metadata) -> &'static str {
        FileKind::of(meta).map_or("a regular file", FileKind::describe)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The error inside the [`io::Error`] of a read refused because the path is not a regular file;
/// [`not_regular_file`] finds it.
#[derive(Debug, thiserror::Error)]
#[error("it is {kind}, not a regular file; stet reads and replaces only regular files, and left it alone")]
pub struct NotRegularFile {
    /// What the path is.
    pub kind: FileKind,
}

/// What the path was, when `err` refused a read because it is not a regular file.
pub fn not_regular_file(err: &io::Error) -> Option<FileKind> {
    err.get_ref()?.downcast_ref::<NotRegularFile>().map(|refused| refused.kind)
}

fn refuse_special(meta: &Metadata) -> io::Result<()> {
    match FileKind::of(meta) {
        None => Ok(()),
        Some(kind) => Err(io::Error::new(io::ErrorKind::InvalidInput, NotRegularFile { kind })),
    }
}

/// Opens the regular file `path` leads to for reading. Anything else (a FIFO, a device, a socket,
/// a directory) is refused with [`NotRegularFile`], never opened where `stat` can tell (opening
/// a device can have effects), and never blocked on where it is swapped in after the `stat`: the
/// open does not block, and `fstat` checks what was opened.
pub(crate) fn open_regular(fs: &dyn Fs, path: &Path) -> io::Result<File> {
    refuse_special(&fs.metadata(path)?)?;
    let file = fs.open_read(path)?;
    refuse_special(&fs.file_metadata(&file)?)?;
    Ok(file)
}

/// Reads a whole regular file through the seam ([`open_regular`]); `Ok(None)` when it does not
/// exist.
pub(crate) fn read_optional(fs: &dyn Fs, path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut file = match open_regular(fs, path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut buf = Vec::new();
    fs.read_to_end(&mut file, &mut buf)?;
    Ok(Some(buf))
}

/// `Ok(None)` for a missing path instead of an error.
pub(crate) fn not_found_as_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}
