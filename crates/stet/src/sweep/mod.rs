//! The recovery sweep of `stet recover`: removes what crashed stet processes left under the root,
//! and only that.
//!
//! # Guarantees
//!
//! - **Only stet's leftovers, only of dead processes.** A temporary file or staging directory
//!   (`.NAME.stet-HOST-PID-RANDOM.tmp`, see [`crate::atomic::temp_file_origin`]) is removed only
//!   when its name says it was made on this host by a process that no longer runs. A lock file
//!   (`FILE` + the lock suffix) is removed only when it holds a stet holder record of such a
//!   process and a non-blocking flock shows nobody holds it; it is unlinked while the sweep holds
//!   that flock and only if the path still names the file checked with the same record, as the
//!   flock protocol's own release does. A mkdir-protocol lock directory goes only by the guarded
//!   steal its acquirers use, when its record names a dead process of this host.
//! - **Everything else is kept**, and every stet-looking leftover kept is reported with the
//!   reason ([`Kept`]): a running process's, another host's, a held lock, an empty lock file
//!   (nothing in it proves stet made it: `Gemfile.lock`, `yarn.lock`), a symlink with a stet name.
//! - **Nothing is followed**: symlinks are never followed nor removed, `.git` is not entered, and
//!   nothing outside the root is reached. A directory that cannot be read is skipped.
//!
//! # Non-guarantees
//!
//! - Between the last check of a leftover (same device and inode) and its unlink there is no
//!   system call that unlinks only that inode: a file swapped in under a dead process's
//!   temporary name in that instant would be removed. Nothing but a dead process writes there.
//! - A mkdir lock's holder record whose directory is gone is unlinked without a lock (record
//!   writers take none): a holder that made the directory anew and is rewriting that very file in
//!   the same instant loses its record, which only makes waiters' messages vaguer and its own
//!   crash wait for `stale` instead of being stolen at once.
//! - A host renamed since a crash looks like another host: its leftovers are kept.
//! - The caller must finish or undo interrupted transactions first (their staged contents carry
//!   temporary names of dead processes), or name them in [`sweep_sparing`].

mod lock;
mod temp;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::fs::{Fs, not_found_as_none};

/// What a sweep removed and what stet-looking leftovers it left, with why.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// Every file or directory removed (a staging directory once, as a whole).
    pub removed: Vec<PathBuf>,
    /// Every stet-looking leftover left in place.
    pub kept: Vec<Kept>,
}

/// A stet-looking leftover the sweep left in place: the contract's `{"path", "why"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// The file or directory.
    pub path: PathBuf,
    /// Why it stays, in words: "process 1234 is running", "made on another host".
    pub why: String,
}

/// Why a sweep could not run. Failures below the root (an unreadable directory, a removal the
/// file system refuses) do not stop it: they are skipped or reported in [`Swept::kept`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The root is not a directory.
    #[error("cannot sweep {}: it is not a directory; give the project's root directory", path.display())]
    NotADirectory {
        /// The root given.
        path: PathBuf,
    },
    /// The root could not be examined or listed.
    #[error("cannot {step} {} to sweep it: {source}", path.display())]
    Io {
        /// The root given.
        path: PathBuf,
        /// What the sweep was doing: `"examine"`, `"list"`.
        step: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Sweeps `root`: removes the temporary files, staging directories, lock files and lock
/// directories that dead stet processes of this host left, and reports the rest. Lock files are
/// `FILE` + `lock_suffix` (the project's `lock.suffix`).
pub fn sweep(fs: &Arc<dyn Fs>, root: &Path, lock_suffix: &str) -> Result<Swept, SweepError> {
    sweep_sparing(fs, root, lock_suffix, &|_| false)
}

/// [`sweep`], keeping every leftover for which `spared` says `true` (reported as kept by an
/// unfinished transaction). `spared` is asked only after its maker is found dead, so that a
/// caller who reads the pending transaction journals then sees every journal that process wrote.
pub fn sweep_sparing(
    fs: &Arc<dyn Fs>,
    root: &Path,
    lock_suffix: &str,
    spared: &dyn Fn(&Path) -> bool,
) -> Result<Swept, SweepError> {
    let io_error = |step| move |source| SweepError::Io { path: root.to_path_buf(), step, source };
    // The root is the caller's choice, followed like a `cd`; nothing beneath it is followed.
    let meta = fs.metadata(root).map_err(io_error("examine"))?;
    if !meta.is_dir() {
        return Err(SweepError::NotADirectory { path: root.to_path_buf() });
    }
    let mut sweeper =
        Sweeper { fs, lock_suffix, host: crate::sys::hostname(), spared, swept: Swept::default() };
    let first = fs.list_dir(root).map_err(io_error("list"))?;
    let mut pending = vec![(root.to_path_buf(), first)];
    while let Some((dir, names)) = pending.pop() {
        for name in names {
            let path = dir.join(&name);
            if let Some(subdir) = sweeper.visit(&path, &name.to_string_lossy())
                && let Ok(names) = fs.list_dir(&subdir)
            {
                pending.push((subdir, names));
            }
        }
    }
    Ok(sweeper.swept)
}

/// One sweep's settings and its report so far.
struct Sweeper<'a> {
    fs: &'a Arc<dyn Fs>,
    lock_suffix: &'a str,
    /// This host's name, as lock holder records give it.
    host: String,
    spared: &'a dyn Fn(&Path) -> bool,
    swept: Swept,
}

impl Sweeper<'_> {
    /// Judges one directory entry; returns it when it is a directory to descend into.
    fn visit(&mut self, path: &Path, name: &str) -> Option<PathBuf> {
        if name == ".git" {
            return None;
        }
        // Gone since the listing: nothing to do.
        let meta = not_found_as_none(self.fs.symlink_metadata(path)).ok()??;
        if let Some(origin) = crate::atomic::temp_file_origin(name) {
            self.temporary(path, &meta, origin);
            return None;
        }
        if let Some(lock_dir) = name.strip_suffix(".holder").filter(|lock| lock.ends_with(self.lock_suffix)) {
            if meta.is_file() {
                self.holder_record(path, &path.with_file_name(lock_dir));
            }
            return None;
        }
        let is_lock_name = name.ends_with(self.lock_suffix)
            || name.strip_suffix(".steal").is_some_and(|lock| lock.ends_with(self.lock_suffix));
        if is_lock_name && meta.is_file() {
            self.lock_file(path, &meta);
            return None;
        }
        // A mkdir lock is judged through its record (above); without one it is not provably stet's.
        if is_lock_name && meta.is_dir() && self.record_beside(path) {
            return None;
        }
        meta.is_dir().then(|| path.to_path_buf())
    }

    fn record_beside(&self, lock_dir: &Path) -> bool {
        let record = crate::lock::read_record_for_sweep(&**self.fs, &holder_path(lock_dir));
        record.is_some()
    }

    fn removed(&mut self, path: &Path) {
        self.swept.removed.push(path.to_path_buf());
    }

    fn kept(&mut self, path: &Path, why: impl Into<String>) {
        self.swept.kept.push(Kept { path: path.to_path_buf(), why: why.into() });
    }

    /// Why a leftover of process `pid` on this host must stay while it runs, if it does.
    fn running(pid: u32) -> Option<String> {
        crate::sys::process_alive(pid).then(|| format!("process {pid} is running"))
    }
}

/// `FILE.lock.holder` for the lock directory `FILE.lock`.
fn holder_path(lock_dir: &Path) -> PathBuf {
    let mut name = lock_dir.as_os_str().to_owned();
    name.push(".holder");
    PathBuf::from(name)
}
