//! The lease tree on disk: a node directory per leased path (component `c` is the directory
//! `_c`, so no path component can collide with the record's name), the record `lease.json` in it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::record::{Lease, Read};
use super::{LeaseError, io_error};
use crate::atomic::Durability;
use crate::fs::{Fs, LockKind};
use crate::lock::backoff::Backoff;

/// The record's name in its node.
const RECORD: &str = "lease.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Shared,
    Exclusive,
}

/// A node's directory, locked until dropped.
pub(crate) struct Held {
    _dir: File,
}

pub(crate) struct Node {
    /// The tree's top directory, `.stet/leases`.
    tree: PathBuf,
    dir: PathBuf,
    /// How many components name the node (0 for the root's node, the tree itself).
    depth: usize,
}

impl Node {
    pub fn new(tree: &Path, components: &[String]) -> Node {
        let mut dir = tree.to_path_buf();
        for component in components {
            dir.push(format!("_{component}"));
        }
        Node { tree: tree.to_path_buf(), dir, depth: components.len() }
    }

    /// The node whose directory is `dir`, found by a walk, for reading its record.
    fn at(dir: &Path) -> Node {
        Node { tree: dir.to_owned(), dir: dir.to_owned(), depth: 0 }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn record(&self) -> PathBuf {
        self.dir.join(RECORD)
    }

    /// The node directories from the tree's top down to this one.
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = self.dir.ancestors().take(self.depth + 1).collect();
        dirs.reverse();
        dirs
    }

    /// Checks that every node directory from the top down to this one is a directory, not a link.
    fn check_dirs(&self, fs: &dyn Fs) -> Result<(), LeaseError> {
        for dir in self.dirs() {
            let meta = fs.symlink_metadata(dir).map_err(io_error(dir, "inspect"))?;
            check_node_dir(dir, &meta)?;
        }
        Ok(())
    }

    /// The lease recorded here, if any. The record is opened without following a link, must be
    /// a regular file with one name, and is read in bounded memory. The directories above it are
    /// checked only once a record was found: a missing record is no lease whichever way it was
    /// looked up, so the common case (no lease) costs one failed `open`.
    pub fn read(&self, fs: &dyn Fs) -> Result<Option<Lease>, LeaseError> {
        let record = self.record();
        let file = match fs.open_read_nofollow(&record) {
            Ok(file) => file,
            // A missing node directory, or a path component that is a file: no lease here.
            Err(err)
                if err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                return Ok(None);
            }
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
                return Err(LeaseError::Foreign { path: record, what: "a symbolic link".into() });
            }
            Err(source) => {
                return Err(LeaseError::Io(crate::fs::IoError { path: record, step: "read", source }));
            }
        };
        self.check_dirs(fs)?;
        let meta = fs.file_metadata(&file).map_err(io_error(&record, "inspect"))?;
        if !meta.is_file() {
            return Err(LeaseError::Foreign { path: record, what: "not a regular file".into() });
        }
        let links = crate::sys::link_count(&meta);
        if links > 1 {
            return Err(LeaseError::Foreign {
                path: record,
                what: format!("a file with {links} hard links"),
            });
        }
        let bytes = read_bounded(fs, &file, meta.len(), &record)?;
        Lease::parse(&record, &bytes).map(Some)
    }

    /// Removes the record, durably.
    pub fn remove(&self, fs: &dyn Fs, durability: Durability) -> Result<(), LeaseError> {
        let record = self.record();
        match fs.remove_file(&record) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(LeaseError::Io(crate::fs::IoError { path: record, step: "remove", source: err }));
            }
            _ => {}
        }
        if durability == Durability::Sync {
            fs.sync_dir(&self.dir).map_err(io_error(&self.dir, "fsync"))?;
        }
        Ok(())
    }

    /// Locks the node (creating it, durably, when missing), waiting up to `wait` for another stet
    /// process's short hold. Its ancestors must have been locked first (see [`Node::create`]).
    pub fn lock(
        &self,
        fs: &dyn Fs,
        mode: Mode,
        durability: Durability,
        wait: Duration,
        name: &[String],
    ) -> Result<Held, LeaseError> {
        self.create(fs, durability)?;
        let dir = match fs.open_read_nofollow(&self.dir) {
            Ok(dir) => dir,
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
                return Err(LeaseError::Foreign { path: self.dir.clone(), what: "a symbolic link".into() });
            }
            Err(source) => {
                return Err(LeaseError::Io(crate::fs::IoError {
                    path: self.dir.clone(),
                    step: "open",
                    source,
                }));
            }
        };
        let kind = if mode == Mode::Exclusive { LockKind::Exclusive } else { LockKind::Shared };
        let started = Instant::now();
        let mut pauses = Backoff::between(Duration::from_micros(200), Duration::from_millis(20));
        loop {
            if fs.try_lock(&dir, kind).map_err(io_error(&self.dir, "lock"))? {
                return Ok(Held { _dir: dir });
            }
            if started.elapsed() >= wait {
                return Err(LeaseError::Busy { path: super::record::join(name), waited: started.elapsed() });
            }
            std::thread::sleep(pauses.next().expect("backoff never ends"));
        }
    }

    /// Creates the node's directory when missing, made durable by an fsync of its parent.
    /// `mkdir` never follows a link at the name it makes, and a directory that was already there
    /// is checked to be one, so nothing is created through a planted link. The directories above
    /// were made and checked by the locks taken before this one (ancestors are locked first), so
    /// only the tree's top needs its parent, `.stet`, made here.
    fn create(&self, fs: &dyn Fs, durability: Durability) -> Result<(), LeaseError> {
        if self.depth == 0
            && let Some(stet_dir) = self.tree.parent()
        {
            crate::root::make_stet_dir(fs, stet_dir, durability)?;
        }
        if !make_dir(fs, &self.dir, durability)? {
            let meta = fs.symlink_metadata(&self.dir).map_err(io_error(&self.dir, "inspect"))?;
            check_node_dir(&self.dir, &meta)?;
        }
        Ok(())
    }
}

/// The largest record stet reads: records are a few hundred bytes (owners are at most
/// [`super::MAX_OWNER`] bytes), so anything larger was not written by stet.
const MAX_RECORD: usize = 64 * 1024;

/// Reads at most `MAX_RECORD + 1` bytes (`size` as fstat gave it sizes the buffer; a file that
/// grows meanwhile is still read only up to the bound).
fn read_bounded(fs: &dyn Fs, file: &File, size: u64, record: &Path) -> Result<Vec<u8>, LeaseError> {
    let first = usize::try_from(size).unwrap_or(usize::MAX).min(MAX_RECORD) + 1;
    let mut bytes = vec![0; first];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            if len > MAX_RECORD {
                break;
            }
            bytes.resize(MAX_RECORD + 1, 0);
        }
        match fs.read_at(file, &mut bytes[len..], len as u64) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(LeaseError::Io(crate::fs::IoError {
                    path: record.to_owned(),
                    step: "read",
                    source,
                }));
            }
        }
    }
    if len > MAX_RECORD {
        return Err(LeaseError::Corrupt {
            record: record.to_owned(),
            message: format!("it is larger than the {MAX_RECORD} bytes a lease record can hold"),
        });
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// A node directory must be a directory stet made: not a link, not a file.
fn check_node_dir(dir: &Path, meta: &std::fs::Metadata) -> Result<(), LeaseError> {
    if meta.file_type().is_symlink() {
        return Err(LeaseError::Foreign { path: dir.to_owned(), what: "a symbolic link".into() });
    }
    if !meta.is_dir() {
        return Err(LeaseError::Foreign { path: dir.to_owned(), what: "not a directory".into() });
    }
    Ok(())
}

/// `mkdir`, made durable; `Ok(false)` when something already stands at `dir`.
fn make_dir(fs: &dyn Fs, dir: &Path, durability: Durability) -> Result<bool, LeaseError> {
    match fs.create_dir(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) => {
            return Err(LeaseError::Io(crate::fs::IoError {
                path: dir.to_owned(),
                step: "create",
                source: err,
            }));
        }
    }
    if durability == Durability::Sync
        && let Some(parent) = dir.parent()
    {
        fs.sync_dir(parent).map_err(io_error(parent, "fsync"))?;
    }
    Ok(true)
}

/// What a walk calls for each record: the node's components and what reading it gave.
pub(crate) type Visit<'a> = dyn FnMut(&[String], Read) -> Result<(), LeaseError> + 'a;

/// Calls `visit` for the record of the node `dir` (named by `components`) and of every node
/// below it.
pub(crate) fn walk(
    fs: &dyn Fs,
    dir: &Path,
    components: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), LeaseError> {
    match fs.symlink_metadata(dir) {
        Ok(meta) => check_node_dir(dir, &meta)?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LeaseError::Io(crate::fs::IoError { path: dir.to_owned(), step: "inspect", source }));
        }
    }
    visit_tree(fs, dir, components, visit, true)
}

/// As [`walk`], without the node's own record.
pub(crate) fn walk_below(
    fs: &dyn Fs,
    dir: &Path,
    components: &mut Vec<String>,
    visit: &mut Visit<'_>,
) -> Result<(), LeaseError> {
    visit_tree(fs, dir, components, visit, false)
}

fn visit_tree(
    fs: &dyn Fs,
    dir: &Path,
    components: &mut Vec<String>,
    visit: &mut Visit<'_>,
    own: bool,
) -> Result<(), LeaseError> {
    let names = match fs.list_dir(dir) {
        Ok(names) => names,
        Err(err) if err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENOTDIR) => {
            return Ok(());
        }
        Err(err) => {
            return Err(LeaseError::Io(crate::fs::IoError {
                path: dir.to_owned(),
                step: "list",
                source: err,
            }));
        }
    };
    for name in names {
        let Some(name) = name.to_str() else { continue };
        if own && name == RECORD {
            match Node::at(dir).read(fs) {
                Ok(Some(lease)) => visit(components, Read::Lease(lease))?,
                Ok(None) => {}
                Err(err) => visit(components, Read::Bad(err))?,
            }
        } else if let Some(component) = name.strip_prefix('_') {
            let child = dir.join(name);
            components.push(component.to_owned());
            // Listing a link would walk whatever it leads to: it is reported, never entered.
            let walked = match fs.symlink_metadata(&child) {
                Ok(meta) => match check_node_dir(&child, &meta) {
                    Ok(()) => visit_tree(fs, &child, components, visit, true),
                    Err(err) => visit(components, Read::Bad(err)),
                },
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(source) => {
                    Err(LeaseError::Io(crate::fs::IoError { path: child, step: "inspect", source }))
                }
            };
            components.pop();
            walked?;
        }
    }
    Ok(())
}
