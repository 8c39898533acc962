//! Atomic, durable replacement of a whole file.
//!
//! # Guarantees
//!
//! - **Atomic**: a reader, or a process that crashes mid-write, sees either the old content or the
//!   new, never a mix or an empty file. The new content is written to a temporary file in the
//!   target's directory and renamed over the target.
//! - **Durable** (with [`Durability::Sync`], the default): when `commit` returns, the new content
//!   and its name survive a power loss. The temporary file is fsynced before the rename and the
//!   directory after it.
//! - **Faithful**: an existing file keeps its permission bits (and its owner where the process may
//!   set it), its ACLs and its extended attributes (`user.*`, `security.*`, `trusted.*`); where one
//!   cannot be copied, the write is refused rather than dropping it. A symlink is written through
//!   to the file it leads to, and stays a symlink.
//! - **The caller's permissions**: a file is replaced only where the caller could have written it
//!   in place (the kernel's `faccessat` answer: mode, owner, ACL, immutable flag), even where the
//!   directory would allow the rename ([`WriteError::NotWritable`]). Only regular files are
//!   replaced: a FIFO, a device, a socket or a directory is refused, never opened. A file with
//!   several hard links is refused unless [`Links::Break`] is asked for.
//! - **Clean**: every error path removes the temporary file and leaves the target as it was.
//!
//! # Non-guarantees
//!
//! - A process killed with `SIGKILL`, or a power loss, between creating the temporary file and the
//!   rename leaves that file behind. Its name, `.NAME.stet-HOST-PID-RANDOM.tmp`, tells a later sweep
//!   which host and process made it ([`temp_file_origin`]).
//! - After a successful commit of a replacement, the old content is unlinked without an fsync: after
//!   a power loss it may reappear under a temporary name, never under the target's.
//! - With [`Links::Break`], hard links to the target keep pointing at the old content:
//!   replacement makes a new inode.
//! - An unprivileged caller cannot see a file's `trusted.*` attributes, so cannot keep them; an
//!   explicit [`Mode::Set`] drops the ACLs along with the old permission bits; a new file gets
//!   the directory's default ACL, whatever the old file had.
//! - Concurrent writers are not serialized here: the last rename wins. Hold the file's lock
//!   ([`crate::lock`]) across a read-modify-write.

mod attributes;
mod write;

pub(crate) use write::temp_name;
pub use write::{Staged, Written};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::{self, Fs};

/// Whether writes are flushed to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the file before the rename and the directory after it (default).
    #[default]
    Sync,
    /// Skip the fsyncs: still atomic for readers and process crashes, not across power loss.
    None,
}

/// Which permission bits the new file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Keep the existing file's mode; a new file gets 0666 filtered by the umask (default).
    #[default]
    Keep,
    /// These bits (for example `0o640`), whether the file exists or not.
    Set(u32),
}

/// What to do when the target exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Replace it (default).
    #[default]
    Replace,
    /// Fail with [`WriteError::Exists`], even if another process creates it during the write.
    Fail,
}

/// What to do when the target has other hard links, which an atomic replace cannot update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Links {
    /// Fail with [`WriteError::HardLinked`] (default): the other names would silently keep the old
    /// content.
    #[default]
    Refuse,
    /// Replace it anyway: this name gets the new content, the other names keep the old.
    Break,
}

/// The step of the protocol an I/O error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Step {
    Resolve,
    CheckAccess,
    ReadAttributes,
    CreateTemp,
    WriteTemp,
    SetMode,
    SyncTemp,
    Rename,
    SyncDir,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Resolve => "find the file to write",
            Step::CheckAccess => "check whether you may write",
            Step::ReadAttributes => "read the extended attributes of",
            Step::CreateTemp => "create a temporary file next to",
            Step::WriteTemp => "write the temporary file for",
            Step::SetMode => "give the temporary file the mode of",
            Step::SyncTemp => "fsync the temporary file for",
            Step::Rename => "rename the temporary file over",
            Step::SyncDir => "fsync the directory of",
        }
    }
}

/// Why a write failed. In every case the target is as it was and no temporary file remains.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// [`Existing::Fail`] and the target exists.
    #[error("{} already exists and was not replaced", path.display())]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// The target is a directory.
    #[error("{} is a directory, not a file", path.display())]
    IsDirectory {
        /// The target.
        path: PathBuf,
    },
    /// The target is not a regular file (a FIFO, a device, a socket): it was not replaced, nor opened.
    #[error("{} is {kind}, not a regular file; stet replaces only regular files, and left it alone", path.display())]
    NotRegularFile {
        /// The target.
        path: PathBuf,
        /// What it is.
        kind: crate::fs::FileKind,
    },
    /// The caller may not write the target in place (its mode, owner or ACL forbid it), so may not
    /// replace it either, though the directory would allow the rename.
    #[error("you may not write {} (its mode, owner or ACL forbid it), and stet replaces only files you could write in place; nothing was changed. Make it writable first (chmod, setfacl), or ask its owner to", path.display())]
    NotWritable {
        /// The target.
        path: PathBuf,
    },
    /// [`Links::Refuse`] and the target has other hard links.
    #[error("{} has {links} hard links: replacing it would give this name the new content and leave the others with the old, so nothing was changed. Pass --break-links to replace it anyway", path.display())]
    HardLinked {
        /// The target.
        path: PathBuf,
        /// How many names the file has.
        links: u64,
    },
    /// An extended attribute or ACL of the target could not be given to its replacement; rather
    /// than drop it, nothing was changed.
    #[error("cannot give the new {} the extended attribute {}: {source}; stet does not drop a file's ACLs or extended attributes, so nothing was changed{}", path.display(), name.to_string_lossy(), attributes::hint(name, source))]
    Attribute {
        /// The target.
        path: PathBuf,
        /// The attribute (`system.posix_acl_access` for the ACL).
        name: std::ffi::OsString,
        /// The operating system's error.
        source: io::Error,
    },
    /// The new content is in place, but the directory fsync that makes the rename durable failed
    /// and the old content could not be put back.
    #[error("replaced {} but could not make it durable (fsync of its directory failed: {source}); the new content may not survive a power loss", path.display())]
    NotDurable {
        /// The target.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// An I/O error at one step.
    #[error("cannot {} {}: {}{}", step.describe(), path.display(), source, hint(source))]
    Io {
        /// The target.
        path: PathBuf,
        /// Where it failed.
        step: Step,
        /// The operating system's error.
        source: io::Error,
    },
}

impl WriteError {
    /// The file the write was for.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::Exists { path }
            | WriteError::IsDirectory { path }
            | WriteError::NotRegularFile { path, .. }
            | WriteError::NotWritable { path }
            | WriteError::HardLinked { path, .. }
            | WriteError::Attribute { path, .. }
            | WriteError::NotDurable { path, .. }
            | WriteError::Io { path, .. } => path,
        }
    }
}

fn hint(err: &io::Error) -> &'static str {
    if crate::sys::is_read_only_fs(err) {
        "; the file system is mounted read-only, nothing was changed"
    } else if err.kind() == io::ErrorKind::PermissionDenied {
        "; stet replaces files by renaming a new file into place, so it needs write permission on the directory; nothing was changed"
    } else if crate::sys::is_no_space(err) {
        "; free some space and retry, nothing was changed"
    } else {
        "; the file was not changed"
    }
}

/// Writes files atomically with chosen policies. [`write`] is the common case.
#[derive(Debug, Clone)]
pub struct Writer {
    fs: Arc<dyn Fs>,
    durability: Durability,
    mode: Mode,
    existing: Existing,
    links: Links,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            fs: fs::real(),
            durability: Durability::Sync,
            mode: Mode::Keep,
            existing: Existing::Replace,
            links: Links::Refuse,
        }
    }
}

impl Writer {
    /// A writer with the defaults: durable, keep mode, replace, refuse hard-linked files.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the durability.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
    /// The file system it writes through.
    pub fn file_system(&self) -> &Arc<dyn Fs> {
        &self.fs
    }
    /// The durability it writes with.
    pub fn durability_policy(&self) -> Durability {
        self.durability
    }
    /// Sets the mode policy.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets what happens when the target exists.
    #[must_use]
    pub fn existing(mut self, existing: Existing) -> Self {
        self.existing = existing;
        self
    }
    /// Sets what happens when the target has other hard links.
    #[must_use]
    pub fn links(mut self, links: Links) -> Self {
        self.links = links;
        self
    }
    /// Routes every effect through `fs` (for fault injection).
    #[must_use]
    pub fn fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = fs;
        self
    }

    /// Writes `bytes` to a temporary file, ready to [`Staged::commit`] over `path`.
    pub fn stage(&self, path: &Path, bytes: &[u8]) -> Result<Staged, WriteError> {
        Staged::prepare(self, path, bytes)
    }

    /// Replaces `path` with `bytes`: [`Writer::stage`] then [`Staged::commit`].
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<Written, WriteError> {
        self.stage(path, bytes)?.commit()
    }
}

/// Atomically and durably replaces `path` with `bytes`, keeping its mode.
pub fn write(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Result<Written, WriteError> {
    Writer::new().write(path.as_ref(), bytes.as_ref())
}

/// If `file_name` is a stet temporary file, the id of the process that created it.
pub fn temp_file_creator(file_name: &str) -> Option<u32> {
    temp_file_origin(file_name).map(|origin| origin.pid)
}

/// Who made a stet temporary file, as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempOrigin {
    /// The id of the process that made it.
    pub pid: u32,
    /// The [`host_tag`] of the host it was made on; `None` in names from before stet wrote the
    /// tag, which are taken as this host's (such names were only ever made by local runs).
    pub host: Option<u32>,
}

impl TempOrigin {
    /// Whether the file was made on this host, where its process id means something.
    pub fn made_here(&self) -> bool {
        self.host.is_none_or(|tag| tag == host_tag())
    }
}

/// If `file_name` is a stet temporary file, `.NAME.stet-HOST-PID-RANDOM.tmp` (or, from before the
/// host tag, `.NAME.stet-PID-RANDOM.tmp`), who made it. `HOST` and `RANDOM` are 8 hex digits.
pub fn temp_file_origin(file_name: &str) -> Option<TempOrigin> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, tail) = rest.rsplit_once(".stet-")?;
    let parts: Vec<&str> = tail.split('-').collect();
    let (host, pid, random) = match parts[..] {
        [pid, random] => (None, pid, random),
        [host, pid, random] if is_hex8(host) => (u32::from_str_radix(host, 16).ok(), pid, random),
        _ => return None,
    };
    let decimal = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (decimal && is_hex8(random)).then_some(())?;
    Some(TempOrigin { pid: pid.parse().ok()?, host })
}

fn is_hex8(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// This host's tag in temporary names (and transaction ids): the low 32 bits of the XXH3-64 hash
/// of its host name. XXH3 is a fixed specification, so one stet version reads another's tags.
pub fn host_tag() -> u32 {
    static TAG: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    #[expect(clippy::cast_possible_truncation, reason = "the tag is the hash's low 32 bits")]
    *TAG.get_or_init(|| xxhash_rust::xxh3::xxh3_64(crate::sys::hostname().as_bytes()) as u32)
}

/// Whether `file_name` is a stet temporary file made on this host by a process that no longer
/// runs: a leftover of a crash, safe to remove.
pub fn is_orphaned_temp_file(file_name: &str) -> bool {
    temp_file_origin(file_name)
        .is_some_and(|origin| origin.made_here() && !crate::sys::process_alive(origin.pid))
}

#[cfg(test)]
mod tests {
    use super::temp_file_creator;

    #[test]
    fn temp_file_names_tell_the_host_that_made_them() {
        let name = super::temp_name("story.md").into_string().unwrap();
        let origin = super::temp_file_origin(&name).expect("a fresh temporary name is recognised");
        assert_eq!(origin.pid, std::process::id());
        assert!(origin.made_here(), "{name} was made on this host");
        let elsewhere = format!(".story.md.stet-{:08x}-4242-0a1b2c3d.tmp", super::host_tag() ^ 1);
        let origin = super::temp_file_origin(&elsewhere).expect("another host's name is recognised");
        assert_eq!(origin.pid, 4242);
        assert!(!origin.made_here(), "{elsewhere} names another host");
        assert!(!super::is_orphaned_temp_file(&elsewhere), "another host's file is never an orphan here");
        let old = super::temp_file_origin(".story.md.stet-4242-0a1b2c3d.tmp").expect("the old format");
        assert!(old.made_here(), "names from before the host tag are taken as this host's");
    }

    #[test]
    fn temp_file_names_tell_their_creator_and_nothing_else_matches() {
        assert_eq!(temp_file_creator(".story.md.stet-4242-0a1b2c3d.tmp"), Some(4242));
        assert_eq!(temp_file_creator(".a.stet-b.stet-7-ffffffff.tmp"), Some(7));
        assert_eq!(temp_file_creator("story.md"), None);
        assert_eq!(temp_file_creator(".story.md.stet-x-0a1b2c3d.tmp"), None);
        assert_eq!(temp_file_creator(".story.md.stet-12-zz.tmp"), None);
    }
}
