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
    dir: PathBuf,
}

impl Node {
    pub fn new(tree: &Path, components: &[String]) -> Node {
        let mut dir = tree.to_path_buf();
        for component in components {
            dir.push(format!("_{component}"));
        }
        Node { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn record(&self) -> PathBuf {
        self.dir.join(RECORD)
    }

    /// The lease recorded here, if any.
    pub fn read(&self, fs: &dyn Fs) -> Result<Option<Lease>, LeaseError> {
        let record = self.record();
        match crate::fs::read_optional(fs, &record) {
            Ok(Some(bytes)) => Lease::parse(&record, &bytes).map(Some),
            Ok(None) => Ok(None),
            // A missing node directory, or a path component that is a file: no lease here.
            Err(err) if err.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
            Err(source) => Err(LeaseError::Io { path: record, step: "read", source }),
        }
    }

    /// Removes the record, durably.
    pub fn remove(&self, fs: &dyn Fs, durability: Durability) -> Result<(), LeaseError> {
        let record = self.record();
        match fs.remove_file(&record) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(LeaseError::Io { path: record, step: "remove", source: err });
            }
            _ => {}
        }
        if durability == Durability::Sync {
            fs.sync_dir(&self.dir).map_err(io_error(&self.dir, "fsync"))?;
        }
        Ok(())
    }

    /// Locks the node (creating it, durably, when missing), waiting up to `wait` for another stet
    /// process's short hold.
    pub fn lock(
        &self,
        fs: &dyn Fs,
        mode: Mode,
        durability: Durability,
        wait: Duration,
        name: &[String],
    ) -> Result<Held, LeaseError> {
        create_dirs(fs, &self.dir, durability)?;
        let dir = fs.open_read(&self.dir).map_err(io_error(&self.dir, "open"))?;
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
}

/// Creates `dir` and its missing parents; each creation is made durable by an fsync of its parent.
fn create_dirs(fs: &dyn Fs, dir: &Path, durability: Durability) -> Result<(), LeaseError> {
    match fs.create_dir(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let parent = dir.parent().ok_or_else(|| LeaseError::Io {
                path: dir.to_owned(),
                step: "create",
                source: err,
            })?;
            create_dirs(fs, parent, durability)?;
            match fs.create_dir(dir) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                Err(err) => return Err(LeaseError::Io { path: dir.to_owned(), step: "create", source: err }),
            }
        }
        Err(err) => return Err(LeaseError::Io { path: dir.to_owned(), step: "create", source: err }),
    }
    if durability == Durability::Sync
        && let Some(parent) = dir.parent()
    {
        fs.sync_dir(parent).map_err(io_error(parent, "fsync"))?;
    }
    Ok(())
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
        Err(err) => return Err(LeaseError::Io { path: dir.to_owned(), step: "list", source: err }),
    };
    for name in names {
        let Some(name) = name.to_str() else { continue };
        if own && name == RECORD {
            let node = Node { dir: dir.to_owned() };
            match node.read(fs) {
                Ok(Some(lease)) => visit(components, Read::Lease(lease))?,
                Ok(None) => {}
                Err(err) => visit(components, Read::Bad(err))?,
            }
        } else if let Some(component) = name.strip_prefix('_') {
            components.push(component.to_owned());
            let walked = visit_tree(fs, &dir.join(name), components, visit, true);
            components.pop();
            walked?;
        }
    }
    Ok(())
}
