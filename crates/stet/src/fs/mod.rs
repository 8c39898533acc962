//! The seam through which every file-system effect of stet passes.
//!
//! Code above this module never calls `std::fs` directly: it asks an [`Fs`]. The production
//! implementation, [`Real`], forwards to the operating system. [`Faulty`] wraps another `Fs` and
//! fails chosen calls, or every call after a chosen one (a simulated crash), and records the order
//! of effects, so tests can prove that each protocol survives an error or a crash at every step and
//! that no fsync was forgotten.

mod fault;

pub use fault::{Fault, Faulty, Op};

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
    /// Opens a file for reading.
    fn open_read(&self, path: &Path) -> io::Result<File>;
    /// Creates a file that must not exist (`O_CREAT|O_EXCL`), write-only, with `mode` before umask.
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File>;
    /// Opens (creating if needed) a lock file read-write, never following a symlink.
    fn open_lock_file(&self, path: &Path) -> io::Result<File>;
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
        File::open(path)
    }
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        sys::create_new(path, mode)
    }
    fn open_lock_file(&self, path: &Path) -> io::Result<File> {
        sys::open_lock_file(path)
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
    fn open_read_nofollow(&self, path: &Path) -> io::Result<File> {
        sys::open_read_nofollow(path)
    }
}

/// Reads a whole file through the seam; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(fs: &dyn Fs, path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut file = match fs.open_read(path) {
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
