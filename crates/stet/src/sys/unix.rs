use std::ffi::CString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Identity of an inode: two paths name the same file exactly when these are equal.
pub(crate) fn file_id(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// The inode's change time (seconds, nanoseconds): any write, truncation or rename moves it.
#[allow(clippy::unnecessary_wraps, reason = "None where the platform has no change time")]
pub(crate) fn change_time(meta: &Metadata) -> Option<(i64, i64)> {
    Some((meta.ctime(), meta.ctime_nsec()))
}

pub(crate) fn link_count(meta: &Metadata) -> u64 {
    meta.nlink()
}

/// Permission bits, including setuid/setgid/sticky.
pub(crate) fn mode(meta: &Metadata) -> u32 {
    meta.mode() & 0o7777
}

#[allow(clippy::unnecessary_wraps)] // `None` on platforms without owners.
pub(crate) fn owner(meta: &Metadata) -> Option<(u32, u32)> {
    Some((meta.uid(), meta.gid()))
}

/// Opens the side file at `path` (a lock file, a holder record) read-write, creating it if
/// missing, never through a symlink; `true` when this call created it. An existing name is opened
/// only if `lstat` finds a regular file there, so a planted FIFO or device is never opened (opening
/// a device can have effects of its own); the caller checks the opened inode with fstat.
pub(crate) fn open_side_file(path: &Path) -> io::Result<(File, bool)> {
    loop {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(file) => return Ok((file, true)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_file() => {}
            Ok(meta) => return Err(not_a_side_file(&meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        }
        match open_no_follow(path) {
            Ok(file) => return Ok((file, false)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, "a symbolic link"));
            }
            Err(err) => return Err(err),
        }
    }
}

/// The error for a name that holds something other than a regular file.
fn not_a_side_file(meta: &Metadata) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, crate::fs::FileKind::describe_metadata(meta))
}

/// Creates a file that must not exist yet. `mode` is filtered by the umask.
pub(crate) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(libc::O_CLOEXEC).open(path)
}

pub(crate) fn open_rw(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(mode).open(path)
}

pub(crate) fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

pub(crate) fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

pub(crate) fn set_owner(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::fchown(file, Some(uid), Some(gid))
}

/// fsync of a directory makes the entries created, renamed or removed in it durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Sets the modification time of `path` itself, never of a symlink's target (`utimensat` with
/// `AT_SYMLINK_NOFOLLOW`); the access time is left as it is.
pub(crate) fn set_mtime(path: &Path, time: std::time::SystemTime) -> io::Result<()> {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let name = c_path(path)?;
    let times = [
        libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT },
        libc::timespec {
            tv_sec: libc::time_t::try_from(since.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(since.subsec_nanos() as i32),
        },
    ];
    // SAFETY: a valid NUL-terminated path and an array of two timespecs, both outliving the call.
    let rc =
        unsafe { libc::utimensat(libc::AT_FDCWD, name.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    let (from, to) = (c_path(from)?, c_path(to)?);
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), flags) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn is_unsupported(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP))
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists, even under a race.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    match renameat2(from, to, libc::RENAME_NOREPLACE) {
        Err(err) if is_unsupported(&err) => {}
        other => return other,
    }
    // link(2) never replaces an existing name: it is the portable exclusive commit.
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// Atomically swaps two names. `Ok(false)` when the file system cannot do it.
pub(crate) fn rename_exchange(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    match renameat2(a, b, libc::RENAME_EXCHANGE) {
        Ok(()) => return Ok(true),
        Err(err) if is_unsupported(&err) => return Ok(false),
        Err(err) => return Err(err),
    }
    #[allow(unreachable_code)]
    {
        let _ = (a, b);
        Ok(false)
    }
}

pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::from("unknown");
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether a process with this id exists on this host (it may belong to another user).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The mode a newly created file gets when nobody asks for one: 0666 filtered by the umask,
/// applied by the kernel at creation.
pub(crate) const DEFAULT_NEW_FILE_MODE: u32 = 0o666;

/// Temp files start private; they get the target's mode before they are renamed into place.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

pub(crate) fn is_read_only_fs(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EROFS)
}

pub(crate) fn is_no_space(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Today's date in the local time zone, `YYYY-MM-DD`.
pub(crate) fn local_date() -> String {
    // SAFETY: time(NULL) only reads the clock; localtime_r writes into the struct we own.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut parts: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&raw const now, &raw mut parts).is_null() {
            return super::utc_date(std::time::SystemTime::now());
        }
        format!("{:04}-{:02}-{:02}", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)
    }
}

/// Waits for changes to a file without polling (inotify).
#[derive(Debug)]
pub(crate) struct Watch(std::os::fd::OwnedFd);

impl Watch {
    /// Watches `path` for writes, truncation, renames and removal.
    pub(crate) fn new(path: &Path) -> io::Result<Watch> {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: inotify_init1 returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned to us and is owned by nothing else.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let name = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
        let mask = libc::IN_MODIFY
            | libc::IN_ATTRIB
            | libc::IN_MOVE_SELF
            | libc::IN_DELETE_SELF
            | libc::IN_CLOSE_WRITE;
        // SAFETY: the descriptor is valid and the name NUL-terminated.
        if unsafe { libc::inotify_add_watch(fd, name.as_ptr(), mask) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Watch(owned))
    }

    /// Returns when the file changed, or after `timeout` at the latest.
    pub(crate) fn wait(&self, timeout: std::time::Duration) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut poll = libc::pollfd { fd: self.0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(err) };
        }
        if ready > 0 {
            let mut events = [0u8; 4096];
            // SAFETY: reading into our own buffer from our own descriptor; the events are discarded.
            unsafe { libc::read(self.0.as_raw_fd(), events.as_mut_ptr().cast(), events.len()) };
        }
        Ok(())
    }
}

/// An identifier of the current boot of the machine (Linux: `/proc/sys/kernel/random/boot_id`);
/// `None` where there is none. Unflushed writes are visible to every process until the next boot.
pub(crate) fn boot_id() -> Option<u64> {
    static BOOT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|id| xxhash_rust::xxh3::xxh3_64(id.trim().as_bytes()) | 1)
    })
}

/// Opens a file for reading without blocking: a FIFO with no writer would otherwise hang the
/// open. `O_NONBLOCK` changes nothing for regular files and directories.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)
}

/// What a file that is neither regular, a directory nor a symlink is.
pub(crate) fn special_kind(file_type: std::fs::FileType) -> crate::fs::FileKind {
    use crate::fs::FileKind;
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        FileKind::Fifo
    } else if file_type.is_char_device() {
        FileKind::CharDevice
    } else if file_type.is_block_device() {
        FileKind::BlockDevice
    } else if file_type.is_socket() {
        FileKind::Socket
    } else {
        FileKind::Other
    }
}

/// The kernel's own answer to "may this process write `path` in place?" (mode, owner, ACL,
/// immutable flag), for the effective ids: `faccessat(W_OK, AT_EACCESS)`.
pub(crate) fn check_write_access(path: &Path) -> io::Result<()> {
    let name = c_path(path)?;
    // SAFETY: a valid NUL-terminated path that outlives the call.
    if unsafe { libc::faccessat(libc::AT_FDCWD, name.as_ptr(), libc::W_OK, libc::AT_EACCESS) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    // A running program may not be written in place (ETXTBSY), but replacing it by rename is how
    // programs are updated, and no permission forbids it.
    if err.raw_os_error() == Some(libc::ETXTBSY) { Ok(()) } else { Err(err) }
}

/// Room for the attribute names or a value in one call: most files have none, or a few short ones.
const XATTR_BUFFER: usize = 512;

/// Calls an xattr function that fills a buffer, growing the buffer while it is too small.
fn xattr_call(call: impl Fn(*mut libc::c_void, usize) -> libc::ssize_t) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; XATTR_BUFFER];
    loop {
        let len = call(buf.as_mut_ptr().cast(), buf.len());
        if let Ok(len) = usize::try_from(len) {
            buf.truncate(len);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
        // A size query (null buffer) tells how much it needs now; it may grow again before the
        // next call, hence the loop.
        let needed =
            usize::try_from(call(std::ptr::null_mut(), 0)).map_err(|_| io::Error::last_os_error())?;
        buf.resize(needed.max(buf.len() * 2), 0);
    }
}

fn c_name(name: &std::ffi::OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an attribute name contains a NUL byte"))
}

/// llistxattr: the names of the extended attributes of the entry at `path` itself.
pub(crate) fn list_xattrs(path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStringExt;
    let path = c_path(path)?;
    // SAFETY: a valid path, and a buffer valid for the length passed (or null with length 0).
    let names = xattr_call(|buf, len| unsafe { libc::llistxattr(path.as_ptr(), buf.cast(), len) })?;
    Ok(names
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| std::ffi::OsString::from_vec(name.to_vec()))
        .collect())
}

/// lgetxattr: the value of one extended attribute of the entry at `path` itself.
pub(crate) fn get_xattr(path: &Path, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
    let (path, name) = (c_path(path)?, c_name(name)?);
    // SAFETY: valid NUL-terminated strings, and a buffer valid for the length passed.
    xattr_call(|buf, len| unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf, len) })
}

/// fgetxattr.
pub(crate) fn file_xattr(file: &File, name: &std::ffi::OsStr) -> io::Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    let name = c_name(name)?;
    // SAFETY: an open descriptor, a valid name, and a buffer valid for the length passed.
    xattr_call(|buf, len| unsafe { libc::fgetxattr(file.as_raw_fd(), name.as_ptr(), buf, len) })
}

/// fsetxattr, creating or replacing the attribute.
pub(crate) fn set_file_xattr(file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let name = c_name(name)?;
    // SAFETY: an open descriptor, a valid name, and a value valid for its length.
    let rc =
        unsafe { libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The attribute does not exist (`ENOATTR`, which Linux spells `ENODATA`).
pub(crate) fn is_no_attribute(err: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    let missing = libc::ENODATA;
    #[cfg(not(target_os = "linux"))]
    let missing = libc::ENOATTR;
    err.raw_os_error() == Some(missing)
}
/// Opens an existing file read-write, never through a symlink (`O_NOFOLLOW`) and never waiting
/// (`O_NONBLOCK`: a FIFO or a device opens at once, for the caller to refuse after fstat).
pub(crate) fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

/// Opens a file for reading, or with `create` read-write (made with that mode if missing), without
/// waiting on a FIFO or a device (`O_NONBLOCK`, which changes nothing for a regular file).
pub(crate) fn open_no_block(path: &Path, create: Option<u32>) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
    if let Some(mode) = create {
        options.write(true).create(true).truncate(false).mode(mode);
    }
    options.open(path)
}

/// Opens a file or directory for reading without following a symlink at its last component
/// (`ELOOP` there), and without blocking on a FIFO, so that a caller can fstat it and refuse
/// whatever stet did not make.
pub(crate) fn open_read_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Opens the directory `root` as an `O_PATH` descriptor, to resolve other paths beneath it.
#[cfg(target_os = "linux")]
pub(crate) fn open_dir_path(root: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC).open(root)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn open_dir_path(_root: &Path) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "confining paths needs Linux's openat2"))
}

/// Resolves `relative` beneath the directory `dir` and opens what it names as an `O_PATH`
/// descriptor, with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: the kernel refuses with
/// `EXDEV` any resolution that would leave `dir` (a `..` above it, an absolute path, a symlink
/// leading out or any absolute symlink), and with `ELOOP` a magic link such as `/proc/self/fd/N`.
#[cfg(target_os = "linux")]
pub(crate) fn open_beneath(dir: &File, relative: &Path) -> io::Result<File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let path = CString::new(relative.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    // SAFETY: `open_how` is plain data; all-zero is its documented "no options" value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: `path` is NUL-terminated and `how` outlives the call; its size is passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &raw const how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel just returned this descriptor, owned by no one else.
            return Ok(unsafe { File::from_raw_fd(fd as i32) });
        }
        let err = io::Error::last_os_error();
        // EAGAIN: a rename raced the lookup (RESOLVE_BENEATH asks to retry).
        if !matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::EINTR)) {
            return Err(err);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn open_beneath(_dir: &File, _relative: &Path) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "confining paths needs Linux's openat2"))
}

/// The path the kernel has for an open descriptor (`/proc/self/fd/N`).
#[cfg(target_os = "linux")]
pub(crate) fn descriptor_path(file: &File) -> io::Result<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn descriptor_path(_file: &File) -> io::Result<std::path::PathBuf> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "confining paths needs Linux's /proc"))
}

/// `lstat` of `name` in the directory `dir` (never following a symlink there): `None` when
/// nothing has that name, `Some(true)` for a symlink.
pub(crate) fn is_symlink_at(dir: &File, name: &std::ffi::OsStr) -> io::Result<Option<bool>> {
    use std::os::fd::AsRawFd;
    let name = CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a name with a NUL byte"))?;
    // SAFETY: `stat` is plain data, written by the kernel before it is read.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `stat` is a valid place to write.
    let status =
        unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &raw mut stat, libc::AT_SYMLINK_NOFOLLOW) };
    if status == 0 {
        return Ok(Some(stat.st_mode & libc::S_IFMT == libc::S_IFLNK));
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::NotFound { Ok(None) } else { Err(err) }
}

/// The text of the symlink `name` in the directory `dir`.
pub(crate) fn read_link_at(dir: &File, name: &std::ffi::OsStr) -> io::Result<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStringExt;
    let name = CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a name with a NUL byte"))?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` has room for `buf.len()` bytes; `name` is NUL-terminated.
    let length =
        unsafe { libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if length < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(length as usize);
    Ok(std::ffi::OsString::from_vec(buf).into())
}

/// Whether a resolution beneath a directory failed because it would have left it (`EXDEV`) or
/// met a magic link or too many symlinks (`ELOOP`).
pub(crate) fn is_escape(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EXDEV | libc::ELOOP))
}
