//! Platforms stet does not support yet: every effect that needs platform code says so.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "this platform is not supported by stet yet")
}

pub(crate) fn file_id(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

pub(crate) fn change_time(_meta: &Metadata) -> Option<(i64, i64)> {
    None
}

pub(crate) fn link_count(_meta: &Metadata) -> u64 {
    1
}

pub(crate) fn mode(meta: &Metadata) -> u32 {
    if meta.permissions().readonly() { 0o444 } else { 0o644 }
}

pub(crate) fn owner(_meta: &Metadata) -> Option<(u32, u32)> {
    None
}

pub(crate) fn open_side_file(path: &Path) -> io::Result<(File, bool)> {
    match OpenOptions::new().read(true).write(true).create_new(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            Ok((OpenOptions::new().read(true).write(true).open(path)?, false))
        }
        Err(err) => Err(err),
    }
}

pub(crate) fn create_new(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

pub(crate) fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn set_owner(_file: &File, _uid: u32, _gid: u32) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn set_mtime(path: &Path, time: std::time::SystemTime) -> io::Result<()> {
    File::open(path)?.set_modified(time)
}

pub(crate) fn rename_noreplace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn rename_exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

pub(crate) fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| String::from("unknown"))
}

pub(crate) fn process_alive(_pid: u32) -> bool {
    true
}

pub(crate) const DEFAULT_NEW_FILE_MODE: u32 = 0o666;
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

pub(crate) fn is_read_only_fs(_err: &io::Error) -> bool {
    false
}

pub(crate) fn is_no_space(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::StorageFull
}

/// Today's date, `YYYY-MM-DD` (UTC: no time zone database is consulted here).
pub(crate) fn local_date() -> String {
    super::utc_date(std::time::SystemTime::now())
}

pub(crate) fn open_rw(_path: &Path, _mode: u32) -> io::Result<File> {
    Err(io::ErrorKind::Unsupported.into())
}

pub(crate) fn write_at(_file: &File, _bytes: &[u8], _offset: u64) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

pub(crate) fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Waiting for changes: not supported here, so waits the timeout.
#[derive(Debug)]
pub(crate) struct Watch;

impl Watch {
    pub(crate) fn new(_path: &Path) -> io::Result<Watch> {
        Ok(Watch)
    }

    pub(crate) fn wait(&self, timeout: std::time::Duration) -> io::Result<()> {
        std::thread::sleep(timeout);
        Ok(())
    }
}

/// No boot identifier here: unflushed index progress is never trusted.
pub(crate) fn boot_id() -> Option<u64> {
    None
}

pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    File::open(path)
}

pub(crate) fn special_kind(_file_type: std::fs::FileType) -> crate::fs::FileKind {
    crate::fs::FileKind::Other
}

/// Only the read-only attribute can be seen here; ACLs are not consulted.
pub(crate) fn check_write_access(path: &Path) -> io::Result<()> {
    if std::fs::metadata(path)?.permissions().readonly() {
        Err(io::ErrorKind::PermissionDenied.into())
    } else {
        Ok(())
    }
}

pub(crate) fn list_xattrs(_path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    Err(unsupported())
}

pub(crate) fn get_xattr(_path: &Path, _name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
    Err(unsupported())
}

pub(crate) fn file_xattr(_file: &File, _name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
    Err(unsupported())
}

pub(crate) fn set_file_xattr(_file: &File, _name: &std::ffi::OsStr, _value: &[u8]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn is_no_attribute(_err: &io::Error) -> bool {
    false
}
pub(crate) fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

pub(crate) fn open_no_block(path: &Path, create: Option<u32>) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    if create.is_some() {
        options.write(true).create(true).truncate(false);
    }
    options.open(path)
}

/// Opens a file or directory for reading, refusing a symlink at its last component. Without
/// `O_NOFOLLOW` a link swapped in between the check and the open can still be followed.
pub(crate) fn open_read_nofollow(path: &Path) -> io::Result<File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a symbolic link, not followed"));
    }
    File::open(path)
}

pub(crate) fn open_dir_path(_root: &Path) -> io::Result<File> {
    Err(unsupported())
}

pub(crate) fn open_beneath(_dir: &File, _relative: &Path) -> io::Result<File> {
    Err(unsupported())
}

pub(crate) fn descriptor_path(_file: &File) -> io::Result<std::path::PathBuf> {
    Err(unsupported())
}

pub(crate) fn is_symlink_at(_dir: &File, _name: &std::ffi::OsStr) -> io::Result<Option<bool>> {
    Err(unsupported())
}

pub(crate) fn read_link_at(_dir: &File, _name: &std::ffi::OsStr) -> io::Result<std::path::PathBuf> {
    Err(unsupported())
}

pub(crate) fn is_escape(_err: &io::Error) -> bool {
    false
}
