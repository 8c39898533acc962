//! Leases: an owner (a story, an agent) holds paths across processes for a while.
//!
//! A lease outlives the process that took it. Records live under the root's `.stet/leases/`, in a
//! tree that mirrors the leased paths: the node of `docs/a.md` is the directory
//! `.stet/leases/_docs/_a.md/`, and a lease on it is the file `lease.json` there. So:
//! - unrelated leases are unrelated files, and never contend;
//! - the check a write makes reads the records of the path and of its ancestors: a few failed
//!   `open`s, whatever the number of leases;
//! - a lease on a directory and a lease below it meet in the tree.
//!
//! Changes are made under `flock`s of the node directories: exclusive on each path changed,
//! shared on its ancestors, taken in one global order (ancestors first, then by name), so two
//! owners racing for overlapping paths are serialized and never deadlock. Every record is written
//! atomically and durably; the records are the only state.

mod record;
mod tree;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use record::Lease;
use record::Read;
use tree::{Mode, Node};

use crate::atomic::{Durability, Writer};
use crate::fs::Fs;
use crate::lock::backoff::Backoff;

/// Where the lease tree lives under the root.
const LEASES_DIR: &str = ".stet/leases";

/// The longest owner a lease records, in bytes, so that every record stays small enough to be
/// read in bounded memory.
pub const MAX_OWNER: usize = 1024;

/// When a lease of `ttl` taken at `now` expires; refused when a record could not hold that time.
pub fn expiry(now: SystemTime, ttl: Duration) -> Result<SystemTime, LeaseError> {
    now.checked_add(ttl).filter(|expires| *expires <= record::latest()).ok_or(LeaseError::TtlTooLong { ttl })
}

/// Why a lease operation failed. A failed acquire, renew or release changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// A path overlaps a live lease of another owner.
    #[error("{} is leased by {} until {} (lease on {}, pid {} on {})", path, holder.owner, holder.expires_at_text(), holder.path, holder.pid, holder.host)]
    Leased {
        /// The path asked for, relative to the root.
        path: String,
        /// The lease in the way.
        holder: Box<Lease>,
    },
    /// `renew` of a path the owner holds no lease on.
    #[error("{path} is not leased by {owner}: acquire it first")]
    NotHeld {
        /// The path, relative to the root.
        path: String,
        /// The owner that asked.
        owner: String,
    },
    /// A lease record cannot be read: it is never taken as free.
    #[error("the lease record {} is corrupt ({message}); it is treated as held: inspect it, and remove it by hand if the lease is no longer wanted", record.display())]
    Corrupt {
        /// The record file.
        record: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A lease record written by a newer stet: it is never taken as free.
    #[error("the lease record {} has format {format}, newer than this stet understands (1); upgrade stet", record.display())]
    Newer {
        /// The record file.
        record: PathBuf,
        /// Its format number.
        format: u64,
    },
    /// A path outside the root.
    #[error("{} is outside the root {}: leases name paths under the root", path.display(), root.display())]
    OutsideRoot {
        /// The path given.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// Bad input: an empty owner, a zero TTL, no path.
    #[error("{0}")]
    Invalid(String),
    /// A TTL so long that the expiry could not be written in a record (RFC 3339 ends with 9999).
    #[error("a TTL of {}s would expire after {}, the latest time a lease record can hold; give a shorter TTL", ttl.as_secs(), record::LATEST_TEXT)]
    TtlTooLong {
        /// The TTL asked for.
        ttl: Duration,
    },
    /// Something in the lease tree that stet does not make there (a symbolic link, a hard link,
    /// a FIFO): it is never followed, read through or written through.
    #[error("{} is {what}, which stet never makes in the lease tree; it is not followed: remove it by hand", path.display())]
    Foreign {
        /// The file or directory in the tree.
        path: PathBuf,
        /// What it is.
        what: String,
    },
    /// Another stet process kept the lease tree locked past the timeout.
    #[error("the lease records of {path} stayed locked by another stet process for {waited:?}")]
    Busy {
        /// The path whose node stayed locked.
        path: String,
        /// How long stet waited.
        waited: Duration,
    },
    /// Writing a record failed; the record is as it was.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
    /// A file-system step failed.
    #[error(transparent)]
    Io(#[from] crate::fs::IoError),
}

fn io_error(path: &Path, step: &'static str) -> impl FnOnce(io::Error) -> LeaseError {
    let path = path.to_owned();
    move |source| LeaseError::Io(crate::fs::IoError { path, step, source })
}

/// The leases of one root.
#[derive(Debug, Clone)]
pub struct Leases {
    root: PathBuf,
    tree: PathBuf,
    fs: Arc<dyn Fs>,
    writer: Writer,
    /// How long to wait for another stet process's short hold on a node.
    busy_wait: Duration,
}

impl Leases {
    /// The leases of the root `root` (which must exist). Nothing is created until a lease is taken.
    pub fn new(root: &Path) -> Result<Leases, LeaseError> {
        Self::with_fs(crate::fs::real(), root)
    }

    /// The same, through the file-system seam `fs`.
    pub fn with_fs(fs: Arc<dyn Fs>, root: &Path) -> Result<Leases, LeaseError> {
        let root = fs.canonicalize(root).map_err(io_error(root, "find the root"))?;
        let tree = root.join(LEASES_DIR);
        Ok(Leases { root, tree, writer: Writer::new().fs(fs.clone()), fs, busy_wait: Duration::from_secs(5) })
    }

    /// Record writes flushed (the default) or not.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.writer = self.writer.durability(durability);
        self
    }

    /// How long to wait for another stet process's hold on the records (default 5 s).
    #[must_use]
    pub fn busy_wait(mut self, wait: Duration) -> Self {
        self.busy_wait = wait;
        self
    }

    /// The root, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (absolute, or relative to the current directory) as the lease tree names it:
    /// relative to the root, symlinks resolved, `/`-separated; `.` for the root itself.
    pub fn name(&self, path: &Path) -> Result<String, LeaseError> {
        Ok(record::join(&self.components(path)?))
    }

    fn components(&self, path: &Path) -> Result<Vec<String>, LeaseError> {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_err(io_error(path, "read the current directory for"))?.join(path)
        };
        let real = crate::target::resolve_beyond(&*self.fs, &absolute).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                LeaseError::Invalid(format!("{} cannot be resolved: {source}", path.display()))
            } else {
                LeaseError::Io(crate::fs::IoError { path: path.to_owned(), step: "resolve", source })
            }
        })?;
        let relative = real
            .strip_prefix(&self.root)
            .map_err(|_| LeaseError::OutsideRoot { path: path.to_owned(), root: self.root.clone() })?;
        relative
            .components()
            .map(|component| match component {
                std::path::Component::Normal(name) => name
                    .to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| LeaseError::Invalid(format!("{} is not UTF-8", path.display()))),
                _ => Err(LeaseError::OutsideRoot { path: path.to_owned(), root: self.root.clone() }),
            })
            .collect()
    }

    /// Takes (or, for paths `owner` already holds, renews) leases on all of `paths` for `ttl`, or
    /// none: a path overlapping another owner's live lease fails with [`LeaseError::Leased`].
    pub fn acquire(&self, paths: &[PathBuf], owner: &str, ttl: Duration) -> Result<Vec<Lease>, LeaseError> {
        self.change(paths, owner, ttl, Change::Acquire)
    }

    /// [`Leases::acquire`], retried with backoff until `wait` has passed.
    pub fn acquire_waiting(
        &self,
        paths: &[PathBuf],
        owner: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Vec<Lease>, LeaseError> {
        // A wait too long for the clock is a wait forever.
        let deadline = std::time::Instant::now().checked_add(wait);
        let mut pauses = Backoff::between(Duration::from_millis(5), Duration::from_millis(250));
        loop {
            match self.acquire(paths, owner, ttl) {
                Err(LeaseError::Leased { .. })
                    if deadline.is_none_or(|deadline| std::time::Instant::now() < deadline) =>
                {
                    let left = deadline.map_or(Duration::MAX, |deadline| {
                        deadline.saturating_duration_since(std::time::Instant::now())
                    });
                    std::thread::sleep(pauses.next().expect("backoff never ends").min(left));
                }
                other => return other,
            }
        }
    }

    /// Extends `owner`'s leases on `paths` to `ttl` from now. A lease that expired is renewed if
    /// nobody took it meanwhile; a path `owner` holds no lease on is [`LeaseError::NotHeld`].
    pub fn renew(&self, paths: &[PathBuf], owner: &str, ttl: Duration) -> Result<Vec<Lease>, LeaseError> {
        self.change(paths, owner, ttl, Change::Renew)
    }

    /// Releases `owner`'s leases on `paths`; one held live by another owner refuses them all.
    /// Returns how many were released (a path not leased is not an error).
    pub fn release(&self, paths: &[PathBuf], owner: &str) -> Result<usize, LeaseError> {
        let names = self.names(paths)?;
        self.release_names(&names, owner, |_| true)
    }

    /// Every lease (expired ones too) that overlaps one of `paths` (all when empty), of `owner`
    /// when given, sorted by path.
    pub fn status(&self, paths: &[PathBuf], owner: Option<&str>) -> Result<Vec<Lease>, LeaseError> {
        let names = self.names(paths)?;
        let mut found = Vec::new();
        tree::walk(&*self.fs, &self.tree, &mut Vec::new(), &mut |components, read| {
            let lease = match read {
                Read::Lease(lease) => lease,
                Read::Bad(err) => return Err(err),
            };
            let overlaps = names.is_empty() || names.iter().any(|name| overlap(name, components));
            if overlaps && owner.is_none_or(|owner| lease.owner == owner) {
                found.push(lease);
            }
            Ok(())
        })?;
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    /// Releases every lease `owner` holds; returns them.
    pub fn cleanup_owner(&self, owner: &str) -> Result<Vec<Lease>, LeaseError> {
        let held = self.status(&[], Some(owner))?;
        let names: Vec<Vec<String>> = held.iter().map(|lease| record::split(&lease.path)).collect();
        self.release_names(&names, owner, |_| true)?;
        Ok(held)
    }

    /// Removes every expired lease; returns them.
    pub fn cleanup_expired(&self) -> Result<Vec<Lease>, LeaseError> {
        let now = SystemTime::now();
        let expired: Vec<Lease> =
            self.status(&[], None)?.into_iter().filter(|lease| lease.is_expired(now)).collect();
        let mut removed = Vec::new();
        for lease in expired {
            let name = record::split(&lease.path);
            // Re-checked under the node's lock: it may have been renewed or taken meanwhile.
            if self.release_names(&[name], &lease.owner, |current| current.is_expired(SystemTime::now()))? > 0
            {
                removed.push(lease);
            }
        }
        Ok(removed)
    }

    /// The check a write makes: `Ok` unless the file `path` designates (symlinks followed, a
    /// dangling one to the file it would create) is under a live lease of someone other than
    /// `owner`. A file outside the root has no leases. Reads the records of the path and its
    /// ancestors, without locking.
    pub fn check(&self, path: &Path, owner: Option<&str>) -> Result<(), LeaseError> {
        match self.fs.symlink_metadata(&self.tree) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            _ => {}
        }
        let components = match self.components(path) {
            Err(LeaseError::OutsideRoot { .. }) => return Ok(()),
            other => other?,
        };
        let now = SystemTime::now();
        for depth in 0..=components.len() {
            let node = Node::new(&self.tree, &components[..depth]);
            match node.read(&*self.fs)? {
                None => {}
                Some(lease) if lease.is_expired(now) || Some(lease.owner.as_str()) == owner => {}
                Some(lease) => {
                    return Err(LeaseError::Leased {
                        path: record::join(&components),
                        holder: Box::new(lease),
                    });
                }
            }
        }
        Ok(())
    }

    fn names(&self, paths: &[PathBuf]) -> Result<Vec<Vec<String>>, LeaseError> {
        let mut names: Vec<Vec<String>> =
            paths.iter().map(|path| self.components(path)).collect::<Result<_, _>>()?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn change(
        &self,
        paths: &[PathBuf],
        owner: &str,
        ttl: Duration,
        change: Change,
    ) -> Result<Vec<Lease>, LeaseError> {
        validate_owner(owner)?;
        if ttl.is_zero() {
            return Err(LeaseError::Invalid("a lease's TTL must be more than 0".into()));
        }
        if paths.is_empty() {
            return Err(LeaseError::Invalid("no path given".into()));
        }
        expiry(SystemTime::now(), ttl)?;
        let names = self.names(paths)?;
        let _held = self.lock_nodes(&names)?;
        let now = SystemTime::now();
        let mut previous = Vec::with_capacity(names.len());
        for name in &names {
            let node = Node::new(&self.tree, name);
            if let Some(lease) = self.in_the_way(name, owner, now)? {
                return Err(LeaseError::Leased { path: record::join(name), holder: Box::new(lease) });
            }
            let current = node.read(&*self.fs)?.filter(|lease| lease.owner == owner);
            if change == Change::Renew && current.is_none() {
                return Err(LeaseError::NotHeld { path: record::join(name), owner: owner.to_owned() });
            }
            previous.push(current);
        }
        let expires = expiry(now, ttl)?;
        let mut leases = Vec::with_capacity(names.len());
        for (at, name) in names.iter().enumerate() {
            // The same owner renewing keeps the time it first took the lease, while it was live.
            let acquired = previous[at]
                .as_ref()
                .filter(|lease| !lease.is_expired(now))
                .map_or(now, |lease| lease.acquired_at);
            let lease = Lease::new(record::join(name), owner, acquired, expires);
            let node = Node::new(&self.tree, name);
            if let Err(err) = self.writer.write(&node.record(), &lease.to_json()) {
                // All or none: the records already written go back to what they were.
                self.restore(&names[..at], &previous[..at]);
                return Err(err.into());
            }
            leases.push(lease);
        }
        Ok(leases)
    }

    /// Puts back the records of `names` as they were before a failed change (best effort: a
    /// record that cannot be restored is the owner's, and expires with its TTL).
    fn restore(&self, names: &[Vec<String>], previous: &[Option<Lease>]) {
        for (name, before) in names.iter().zip(previous) {
            let node = Node::new(&self.tree, name);
            let _ = match before {
                Some(lease) => {
                    self.writer.write(&node.record(), &lease.to_json()).map(drop).map_err(LeaseError::from)
                }
                None => node.remove(&*self.fs, self.writer.durability_policy()),
            };
        }
    }

    /// A live lease of another owner that overlaps `name`: on it, on an ancestor, or below it.
    fn in_the_way(&self, name: &[String], owner: &str, now: SystemTime) -> Result<Option<Lease>, LeaseError> {
        let blocks = |lease: &Lease| lease.owner != owner && !lease.is_expired(now);
        for depth in 0..=name.len() {
            if let Some(lease) =
                Node::new(&self.tree, &name[..depth]).read(&*self.fs)?.filter(|lease| blocks(lease))
            {
                return Ok(Some(lease));
            }
        }
        let mut found = None;
        let node = Node::new(&self.tree, name);
        tree::walk_below(&*self.fs, node.dir(), &mut name.to_vec(), &mut |_, read| {
            match read {
                Read::Lease(lease) if found.is_none() && blocks(&lease) => found = Some(lease),
                Read::Lease(_) => {}
                Read::Bad(err) => return Err(err),
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn release_names(
        &self,
        names: &[Vec<String>],
        owner: &str,
        still: impl Fn(&Lease) -> bool,
    ) -> Result<usize, LeaseError> {
        validate_owner(owner)?;
        if names.is_empty() || !self.fs.metadata(&self.tree).is_ok_and(|meta| meta.is_dir()) {
            return Ok(0);
        }
        let _held = self.lock_nodes(names)?;
        let now = SystemTime::now();
        let mut mine = Vec::new();
        for name in names {
            let node = Node::new(&self.tree, name);
            match node.read(&*self.fs)? {
                Some(lease) if lease.owner != owner && !lease.is_expired(now) => {
                    return Err(LeaseError::Leased { path: record::join(name), holder: Box::new(lease) });
                }
                Some(lease) if lease.owner == owner && still(&lease) => mine.push(node),
                _ => {}
            }
        }
        for node in &mine {
            node.remove(&*self.fs, self.writer.durability_policy())?;
        }
        Ok(mine.len())
    }

    /// Locks the nodes a change of `names` needs: exclusive on each, shared on their ancestors,
    /// in one global order (ancestors before descendants, then by name). Creates missing nodes.
    fn lock_nodes(&self, names: &[Vec<String>]) -> Result<Vec<tree::Held>, LeaseError> {
        let mut plan: BTreeMap<Vec<String>, Mode> = BTreeMap::new();
        for name in names {
            for depth in 0..name.len() {
                plan.entry(name[..depth].to_vec()).or_insert(Mode::Shared);
            }
            plan.insert(name.clone(), Mode::Exclusive);
        }
        let durability = self.writer.durability_policy();
        let mut held = Vec::with_capacity(plan.len());
        for (name, mode) in plan {
            let node = Node::new(&self.tree, &name);
            held.push(node.lock(&*self.fs, mode, durability, self.busy_wait, &name)?);
        }
        Ok(held)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Acquire,
    Renew,
}

fn validate_owner(owner: &str) -> Result<(), LeaseError> {
    if owner.trim().is_empty() {
        return Err(LeaseError::Invalid("a lease needs an owner: pass --owner ID or set STET_OWNER".into()));
    }
    if owner.len() > MAX_OWNER {
        return Err(LeaseError::Invalid(format!("a lease owner may be at most {MAX_OWNER} bytes long")));
    }
    Ok(())
}

/// Whether the lease at `components` overlaps `name`: one is the other or an ancestor of it.
fn overlap(name: &[String], components: &[String]) -> bool {
    name.starts_with(components) || components.starts_with(name)
}
