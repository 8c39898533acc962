//! Confining the paths a client names to a project root, for front ends whose callers must not
//! reach outside it (the MCP server).
//!
//! **Guarantees.** [`Root::confine`] takes a path relative to the root, or absolute under it, and
//! refuses with [`ConfineError::Outside`] a path that resolves outside the root: `..` above it, an
//! absolute path elsewhere (a sibling such as `ROOT_evil/` included: paths are compared by
//! component), a symlink anywhere along it whose target lies outside, a dangling symlink that
//! would create a file outside, and a magic link (`/proc/self/fd/N`). It refuses with
//! [`ConfineError::StetState`] a path that resolves into the root's `.stet/`, stet's own state.
//! The directories are resolved by the kernel, with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` beneath a descriptor of the root held since [`Root::open`] (a root
//! renamed meanwhile stays the one confined to), and the last component is checked with
//! `fstatat` in its resolved directory; no textual `..` handling decides anything.
//!
//! **Non-guarantees.** The check is made when `confine` is called. The operation that follows
//! uses the path name it returns, which the kernel resolves again: a directory of the path
//! replaced by a symlink between the two (by a process that can write inside the root) can carry
//! that operation out of the root. Absolute symlinks are refused even when they point inside the
//! root (`RESOLVE_BENEATH` refuses every absolute link). Linux only (5.6 and later, with
//! `/proc` mounted); elsewhere every path is refused with an `Unsupported` I/O error.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::sys;

/// How many symlinks a dangling chain may pass through, as the kernel's `ELOOP` limit.
const MAX_HOPS: u32 = 40;

/// The name of stet's own directory in the root.
const STET_DIR: &str = ".stet";

/// A project root held open, to confine paths to it.
#[derive(Debug)]
pub struct Root {
    dir: File,
    /// The root's path as the kernel resolves it (symlinks resolved).
    real: PathBuf,
    /// The root's path as given, made absolute.
    given: PathBuf,
}

/// A path confined to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confined {
    /// The path to operate on: the resolved directory (absolute) joined with the last component
    /// as given, so a symlink there is written through as the kernel resolves it.
    pub path: PathBuf,
    /// The same path relative to the root, its directories resolved.
    pub relative: PathBuf,
}

/// Why a path is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfineError {
    /// The path resolves outside the root.
    #[error(
        "{} is outside the project root {}: give a path under the root (no `..` above it, no absolute path elsewhere, no symlink leading out)",
        path.display(),
        root.display()
    )]
    Outside {
        /// The path, as given.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// The path resolves into the root's `.stet/`.
    #[error(
        "{} is in the root's .stet/, where stet keeps its own state (leases, journals, configuration): it is not open to this caller",
        path.display()
    )]
    StetState {
        /// The path, as given.
        path: PathBuf,
    },
    /// The root or a directory of the path could not be opened.
    #[error("cannot resolve {} beneath the project root: {source}", path.display())]
    Io {
        /// The path, as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl Root {
    /// Opens the directory `root` and keeps it open.
    pub fn open(root: &Path) -> Result<Root, ConfineError> {
        let io = |source| ConfineError::Io { path: root.to_path_buf(), source };
        let given = std::path::absolute(root).map_err(io)?;
        let dir = sys::open_dir_path(&given).map_err(io)?;
        let real = sys::descriptor_path(&dir).map_err(io)?;
        Ok(Root { dir, real, given })
    }

    /// The root as the kernel resolves it.
    pub fn real_path(&self) -> &Path {
        &self.real
    }

    /// `given` (relative to the root, or absolute under it) checked to stay beneath the root and
    /// out of `.stet/` (see the [module documentation](self)).
    pub fn confine(&self, given: &Path) -> Result<Confined, ConfineError> {
        let relative = if given.is_absolute() {
            given
                .strip_prefix(&self.real)
                .or_else(|_| given.strip_prefix(&self.given))
                .map_err(|_| self.outside(given))?
        } else {
            given
        };
        self.resolve(given, relative, MAX_HOPS)
    }

    fn resolve(&self, given: &Path, relative: &Path, hops: u32) -> Result<Confined, ConfineError> {
        let (parent, name) = match relative.components().next_back() {
            Some(Component::Normal(name)) => (relative.parent().unwrap_or(Path::new("")), Some(name)),
            _ => (relative, None),
        };
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        let parent_dir = sys::open_beneath(&self.dir, parent).map_err(|err| self.failed(given, err))?;
        let parent_real = sys::descriptor_path(&parent_dir).map_err(|err| self.failed(given, err))?;
        let parent_relative = self.inside(given, &parent_real)?;
        let Some(name) = name else {
            refuse_stet(given, &parent_relative)?;
            return Ok(Confined { path: parent_real, relative: parent_relative });
        };
        let relative = parent_relative.join(name);
        refuse_stet(given, &relative)?;
        if sys::is_symlink_at(&parent_dir, name).map_err(|err| self.failed(given, err))? == Some(true) {
            self.follow_link(given, &parent_dir, &parent_relative, name, hops)?;
        }
        Ok(Confined { path: parent_real.join(name), relative })
    }

    /// Checks where the symlink `name` in `parent_dir` leads: its target, or for a dangling link,
    /// where a write through it would create the file.
    fn follow_link(
        &self,
        given: &Path,
        parent_dir: &File,
        parent_relative: &Path,
        name: &OsStr,
        hops: u32,
    ) -> Result<(), ConfineError> {
        match sys::open_beneath(&self.dir, &parent_relative.join(name)) {
            Ok(target) => {
                let real = sys::descriptor_path(&target).map_err(|err| self.failed(given, err))?;
                let inside = self.inside(given, &real)?;
                refuse_stet(given, &inside)
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let text = sys::read_link_at(parent_dir, name).map_err(|err| self.failed(given, err))?;
                if text.is_absolute() || hops == 0 {
                    return Err(self.outside(given));
                }
                self.resolve(given, &parent_relative.join(text), hops - 1).map(drop)
            }
            Err(err) => Err(self.failed(given, err)),
        }
    }

    /// `real` relative to the root; a path the kernel resolved beneath it always is.
    fn inside(&self, given: &Path, real: &Path) -> Result<PathBuf, ConfineError> {
        real.strip_prefix(&self.real).map(Path::to_path_buf).map_err(|_| self.outside(given))
    }

    fn failed(&self, given: &Path, err: io::Error) -> ConfineError {
        if sys::is_escape(&err) {
            self.outside(given)
        } else {
            ConfineError::Io { path: given.to_path_buf(), source: err }
        }
    }

    fn outside(&self, given: &Path) -> ConfineError {
        ConfineError::Outside { path: given.to_path_buf(), root: self.real.clone() }
    }
}

/// Refuses a path (relative to the root, resolved) in the root's `.stet/`.
fn refuse_stet(given: &Path, relative: &Path) -> Result<(), ConfineError> {
    match relative.components().next() {
        Some(Component::Normal(first)) if first == STET_DIR => {
            Err(ConfineError::StetState { path: given.to_path_buf() })
        }
        _ => Ok(()),
    }
}
