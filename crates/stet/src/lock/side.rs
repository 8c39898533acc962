//! The files a lock keeps beside its target (`FILE.lock`, `FILE.lock.holder`, `FILE.lock.steal`)
//! are stet's only if stet made them.
//!
//! A side file is opened without following a symlink, and used only if it is a regular file with
//! one link. It is stet's (stet writes its holder record there and removes it) when this process
//! created it, when it holds a stet holder record, or when it is empty: a lock file that another
//! stet process created a moment ago and has not yet written its record into looks exactly like
//! the empty lock files Python `filelock` leaves, so both are lock files, and removing an empty
//! file loses no data. Anything else is someone else's file that happens to have the lock's name
//! (`Gemfile.lock`), and is refused.

use std::fmt;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::{FileKind, Fs, not_found_as_none};
use crate::sys;

/// The longest holder record stet writes is well under this; a longer file is not a record.
const MAX_RECORD_BYTES: u64 = 4096;

/// Every holder record stet writes starts so (serde writes `pid` first). A record being written
/// by another holder at this moment may show only its first bytes, so the prefix decides.
const RECORD_PREFIX: &[u8] = b"{\"pid\":";

/// Why a file at a side file's name is not stet's to use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Foreign {
    /// A directory (under the flock protocol, most likely another tool's mkdir lock).
    Directory,
    /// Not a regular file nor a directory: a symbolic link, a FIFO, a device, a socket.
    Kind(FileKind),
    /// A regular file with this many names (hard links): writing it would write all of them.
    Linked(u64),
    /// A regular file that is neither empty nor a stet holder record.
    Content,
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Foreign::Directory => f.write_str("a directory"),
            Foreign::Kind(kind) => kind.fmt(f),
            Foreign::Linked(links) => write!(f, "a file with {links} hard links"),
            Foreign::Content => f.write_str("a file that is neither empty nor a stet lock record"),
        }
    }
}

impl Foreign {
    /// A file that is not a regular one, by its kind.
    pub(super) fn of_kind(meta: &Metadata) -> Foreign {
        match FileKind::of(meta) {
            Some(FileKind::Directory) => Foreign::Directory,
            Some(kind) => Foreign::Kind(kind),
            None => Foreign::Content,
        }
    }
}

/// Why a side file could not be used.
#[derive(Debug)]
pub(super) enum SideError {
    Io(io::Error),
    /// `side` holds a file that is not stet's.
    Foreign {
        side: PathBuf,
        what: Foreign,
    },
    /// The lock's name holds the other protocol's lock: `other` is the protocol that made it.
    OtherProtocol {
        lock_path: PathBuf,
        other: &'static str,
    },
}

impl From<io::Error> for SideError {
    fn from(err: io::Error) -> Self {
        SideError::Io(err)
    }
}

/// Opens (creating if missing) the side file at `path`; refuses what is not a regular file with
/// one link. Returns the file and, unless this call created it (then it is a new regular file with
/// one link, and its metadata is not read), its metadata.
pub(super) fn open(fs: &dyn Fs, path: &Path) -> Result<(File, Option<Metadata>), SideError> {
    let (file, created) = match fs.open_side_file(path) {
        Ok(opened) => opened,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            return Err(foreign_at(fs, path).unwrap_or(SideError::Io(err)));
        }
        Err(err) => return Err(SideError::Io(err)),
    };
    if created {
        return Ok((file, None));
    }
    let meta = fs.file_metadata(&file)?;
    if !meta.is_file() {
        return Err(SideError::Foreign { side: path.to_path_buf(), what: Foreign::of_kind(&meta) });
    }
    let links = sys::link_count(&meta);
    if links > 1 {
        return Err(SideError::Foreign { side: path.to_path_buf(), what: Foreign::Linked(links) });
    }
    Ok((file, Some(meta)))
}

/// What stands at `path` after an open refused it, if it can be told.
fn foreign_at(fs: &dyn Fs, path: &Path) -> Option<SideError> {
    let meta = fs.symlink_metadata(path).ok()?;
    Some(SideError::Foreign { side: path.to_path_buf(), what: Foreign::of_kind(&meta) })
}

/// Refuses the opened side file `file` (with metadata `meta`) unless its content makes it stet's:
/// created by this call, empty, or a stet holder record.
pub(super) fn check_content(
    fs: &dyn Fs,
    path: &Path,
    file: &File,
    meta: &Metadata,
    created: bool,
) -> Result<(), SideError> {
    if created || meta.len() == 0 {
        return Ok(());
    }
    if meta.len() <= MAX_RECORD_BYTES && is_record(fs, file)? {
        return Ok(());
    }
    Err(SideError::Foreign { side: path.to_path_buf(), what: Foreign::Content })
}

/// Whether the file (at most a record's size) holds a stet holder record, or what a power loss
/// leaves of one written without fsync: its size on disk, its bytes all NUL.
fn is_record(fs: &dyn Fs, file: &File) -> io::Result<bool> {
    let mut bytes = vec![0u8; MAX_RECORD_BYTES as usize];
    let read = fs.read_at(file, &mut bytes, 0)?;
    let bytes = &bytes[..read];
    Ok(bytes.starts_with(RECORD_PREFIX) || (!bytes.is_empty() && bytes.iter().all(|&byte| byte == 0)))
}

/// Whether the regular file at `path` is a lock file or holder record that stet's flock protocol
/// could have left (empty, or a stet record), judged without opening anything but a regular file.
pub(super) fn looks_like_flock_lock(fs: &dyn Fs, path: &Path) -> io::Result<bool> {
    let Some(meta) = not_found_as_none(fs.symlink_metadata(path))? else { return Ok(false) };
    if !meta.is_file() || meta.len() > MAX_RECORD_BYTES {
        return Ok(false);
    }
    if meta.len() == 0 {
        return Ok(true);
    }
    let Some(file) = not_found_as_none(fs.open_read(path))? else { return Ok(false) };
    is_record(fs, &file)
}

/// The bytes of the holder record at `path`, if a regular file of record size is there (never
/// read through a symlink, never more than a record's size).
pub(super) fn read_record(fs: &dyn Fs, path: &Path) -> Option<Vec<u8>> {
    let meta = fs.symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() == 0 || meta.len() > MAX_RECORD_BYTES {
        return None;
    }
    let file = fs.open_read(path).ok()?;
    let mut bytes = vec![0u8; MAX_RECORD_BYTES as usize];
    let read = fs.read_at(&file, &mut bytes, 0).ok()?;
    bytes.truncate(read);
    Some(bytes)
}

/// Removes the stet holder record at `path` if one is there (a regular file, one link, a stet
/// record); anything else at that name is left alone.
pub(super) fn remove_record(fs: &dyn Fs, path: &Path) -> io::Result<()> {
    let Some(meta) = not_found_as_none(fs.symlink_metadata(path))? else { return Ok(()) };
    if !meta.is_file() || meta.len() == 0 || sys::link_count(&meta) != 1 || !looks_like_flock_lock(fs, path)?
    {
        return Ok(());
    }
    match fs.remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
