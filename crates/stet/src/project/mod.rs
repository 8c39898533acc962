//! The front door: a project root with its configuration, acting owner and policies, offering
//! every operation of the contract as a method.
//!
//! Every front end (the `stet` command and its batch mode, the MCP server, the Node and Python
//! packages, a Rust program) opens a [`Project`] and calls it; each rule of the contract (the
//! precedence of options over `.stet/config.toml` over the defaults, lease enforcement, the
//! mapping of every failure to a code and exit status) lives here once.
//!
//! **Guarantees.** Every method that changes a file refuses with `ELEASED` when the file is
//! under another owner's live lease, unless the project was opened with
//! [`Options::ignore_leases`]; the check is made before the file's lock is taken (a lease taken
//! between the check and the write is not seen: leases order owners over seconds, locks order
//! writes). Blocking calls wait for locks as long as the lock wait says (the contract's 5 s by
//! default, `lock.timeout`). Nothing is printed: notices go to the callback given with
//! [`Options::on_notice`]. Errors are [`Error`]s carrying the contract's code.
//!
//! Relative paths are relative to the process's current directory, as with `std::fs`; the root
//! only says where `.stet/` is.
//!
//! A `Project` is `Send + Sync` and cheap to clone (it shares its state behind an `Arc`);
//! [`Project::with_owner`] and [`Project::with_lock_wait`] make per-request variants.

mod documents;
mod entries;
mod error;
mod files;
mod leases;
mod logs;
mod notice;
mod results;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use documents::{EditOptions, parse_assignment, parse_merge_patch};
pub use entries::NewEntryOptions;
pub use error::{Code, Error};
pub use files::WriteOptions;
pub use leases::Cleanup;
pub use logs::{LogReader, parse_event, parse_events};
pub use notice::{Notice, NoticeSink};
pub use results::{
    Appended, CleanedUp, CutTail, Edited, Got, LeaseInfo, LeaseList, LogChecked, NewEntry, Released, Updated,
    VersionOf, Written,
};

use crate::atomic::{Durability, Links, Writer};
use crate::config::Config;
use crate::duration::Span;
use crate::fs::Fs;
use crate::lease::Leases;
use crate::lock::{Locker, Protocol, Wait};

/// The lock protocol a front end asks for by name; `lock.stale` still comes from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolName {
    /// flock on `FILE.lock`.
    Flock,
    /// npm proper-lockfile's lock directory `FILE.lock`.
    Mkdir,
}

impl std::str::FromStr for ProtocolName {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text {
            "flock" => Ok(ProtocolName::Flock),
            "mkdir" => Ok(ProtocolName::Mkdir),
            other => Err(Error::usage(format!("{other:?} is not a lock protocol: use flock or mkdir"))),
        }
    }
}

/// The environment variable that chooses the lock protocol.
pub const LOCK_PROTOCOL_ENV: &str = "STET_LOCK_PROTOCOL";
/// The environment variable that names the acting owner.
pub const OWNER_ENV: &str = "STET_OWNER";

/// How a [`Project`] is opened: what a front end's options set. Anything not set comes from
/// `.stet/config.toml`, else from the contract's defaults.
#[derive(Clone, Default)]
pub struct Options {
    root: Option<PathBuf>,
    owner: Option<String>,
    ignore_leases: bool,
    lock_wait: Option<Wait>,
    protocol: Option<ProtocolName>,
    durability: Option<Durability>,
    links: Links,
    notices: Option<NoticeSink>,
    fs: Option<Arc<dyn Fs>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("root", &self.root)
            .field("owner", &self.owner)
            .field("ignore_leases", &self.ignore_leases)
            .field("lock_wait", &self.lock_wait)
            .field("protocol", &self.protocol)
            .field("durability", &self.durability)
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Nothing set: every policy from the config or the defaults, no owner.
    pub fn new() -> Self {
        Options::default()
    }

    /// The options the environment gives: `$STET_OWNER` and `$STET_LOCK_PROTOCOL` (the root's
    /// `$STET_ROOT` is read by [`Options::discover`]).
    pub fn from_env() -> Result<Self, Error> {
        let mut options = Options::new();
        if let Ok(owner) = std::env::var(OWNER_ENV) {
            options = options.owner(Some(owner));
        }
        if let Some(protocol) = std::env::var(LOCK_PROTOCOL_ENV).ok().filter(|text| !text.is_empty()) {
            options = options.protocol(Some(protocol.parse()?));
        }
        Ok(options)
    }

    /// The root to use instead of discovering it (relative to the `cwd` given to
    /// [`Options::discover`]).
    #[must_use]
    pub fn root(mut self, root: Option<PathBuf>) -> Self {
        self.root = root;
        self
    }

    /// Who acts: recorded in lock metadata, required for leases, and whose leases allow writes.
    /// An empty owner is no owner.
    #[must_use]
    pub fn owner(mut self, owner: Option<String>) -> Self {
        self.owner = owner.filter(|owner| !owner.is_empty());
        self
    }

    /// Write even under another owner's lease (`--ignore-leases`).
    #[must_use]
    pub fn ignore_leases(mut self, ignore: bool) -> Self {
        self.ignore_leases = ignore;
        self
    }

    /// How long to wait for a lock (default: `lock.timeout`, 5 s).
    #[must_use]
    pub fn lock_wait(mut self, wait: Option<Wait>) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The lock protocol (default: `lock.protocol`, flock).
    #[must_use]
    pub fn protocol(mut self, protocol: Option<ProtocolName>) -> Self {
        self.protocol = protocol;
        self
    }

    /// fsync or not (default: `durability.sync`, fsync). `Durability::None` wins over the config;
    /// `Durability::Sync` given here does too.
    #[must_use]
    pub fn durability(mut self, durability: Option<Durability>) -> Self {
        self.durability = durability;
        self
    }

    /// Whether a file with several hard links is replaced (default: refused).
    #[must_use]
    pub fn links(mut self, links: Links) -> Self {
        self.links = links;
        self
    }

    /// Where notices go (default: nowhere).
    #[must_use]
    pub fn on_notice(mut self, notify: impl Fn(&Notice) + Send + Sync + 'static) -> Self {
        self.notices = Some(Arc::new(notify));
        self
    }

    /// The file-system seam, for tests that inject faults.
    #[must_use]
    pub fn fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = Some(fs);
        self
    }

    /// Opens the project of a command run in `cwd`: the root set with [`Options::root`], else
    /// `$STET_ROOT`, else the nearest ancestor of `cwd` holding `.stet/`, else the nearest holding
    /// `.git/`, else `cwd`.
    pub fn discover(self, cwd: &Path) -> Result<Project, Error> {
        let root = crate::root::discover(self.root.as_deref(), cwd);
        self.open_at(root)
    }

    /// Opens the project whose root is `root`, loading its `.stet/config.toml`.
    pub fn open(self, root: &Path) -> Result<Project, Error> {
        let root = match &self.root {
            Some(explicit) => root.join(explicit),
            None => root.to_path_buf(),
        };
        self.open_at(root)
    }

    fn open_at(self, root: PathBuf) -> Result<Project, Error> {
        let config = Config::load(&root)?;
        let wait = self.lock_wait.unwrap_or_else(|| wait_of(config.lock_timeout));
        let protocol = match self.protocol {
            Some(ProtocolName::Mkdir) => Protocol::Mkdir { stale: config.lock_stale },
            Some(ProtocolName::Flock) => Protocol::Flock,
            None => config.protocol,
        };
        let durability =
            self.durability.unwrap_or(if config.sync { Durability::Sync } else { Durability::None });
        let fs = self.fs.unwrap_or_else(crate::fs::real);
        let inner = Inner {
            root,
            owner: self.owner,
            ignore_leases: self.ignore_leases,
            wait,
            protocol,
            durability,
            links: self.links,
            notices: self.notices,
            fs,
            config,
        };
        Ok(Project { inner: Arc::new(inner) })
    }
}

/// A lock timeout as the lock's wait policy.
pub fn wait_of(timeout: Span) -> Wait {
    match timeout {
        Span::Finite(limit) if limit.is_zero() => Wait::Immediately,
        Span::Finite(limit) => Wait::For(limit),
        Span::Infinite => Wait::Forever,
    }
}

struct Inner {
    root: PathBuf,
    config: Config,
    owner: Option<String>,
    ignore_leases: bool,
    wait: Wait,
    protocol: Protocol,
    durability: Durability,
    links: Links,
    notices: Option<NoticeSink>,
    fs: Arc<dyn Fs>,
}

/// A project root with its policies; see the [module documentation](self).
#[derive(Clone)]
pub struct Project {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Project")
            .field("root", &inner.root)
            .field("owner", &inner.owner)
            .field("ignore_leases", &inner.ignore_leases)
            .field("wait", &inner.wait)
            .field("protocol", &inner.protocol)
            .field("durability", &inner.durability)
            .finish_non_exhaustive()
    }
}

impl Project {
    /// [`Options::discover`] with no options set.
    pub fn discover(cwd: &Path) -> Result<Project, Error> {
        Options::new().discover(cwd)
    }

    /// [`Options::open`] with no options set.
    pub fn open(root: &Path) -> Result<Project, Error> {
        Options::new().open(root)
    }

    /// The root (where `.stet/` is), as discovered or given.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The settings of `.stet/config.toml` (defaults where it is silent or absent).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Who acts, if anyone.
    pub fn owner(&self) -> Option<&str> {
        self.inner.owner.as_deref()
    }

    /// How long locks are waited for.
    pub fn lock_wait(&self) -> Wait {
        self.inner.wait
    }

    /// The lock protocol.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// Whether writes are fsynced.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The same project acting as `owner` (a batch request's `owner`).
    #[must_use]
    pub fn with_owner(&self, owner: Option<String>) -> Project {
        self.derive(|inner| inner.owner = owner.filter(|owner| !owner.is_empty()))
    }

    /// The same project waiting `wait` for locks (a batch request's `timeout`).
    #[must_use]
    pub fn with_lock_wait(&self, wait: Wait) -> Project {
        self.derive(|inner| inner.wait = wait)
    }

    fn derive(&self, change: impl FnOnce(&mut Inner)) -> Project {
        let inner = &*self.inner;
        let mut copy = Inner {
            root: inner.root.clone(),
            config: inner.config.clone(),
            owner: inner.owner.clone(),
            ignore_leases: inner.ignore_leases,
            wait: inner.wait,
            protocol: inner.protocol,
            durability: inner.durability,
            links: inner.links,
            notices: inner.notices.clone(),
            fs: inner.fs.clone(),
        };
        change(&mut copy);
        Project { inner: Arc::new(copy) }
    }

    /// The locker of this project's policies, its long waits said as [`Notice::Waiting`].
    pub fn locker(&self) -> Locker {
        let inner = &*self.inner;
        let mut locker = Locker::new()
            .fs(inner.fs.clone())
            .protocol(inner.protocol)
            .suffix(&inner.config.lock_suffix)
            .wait(inner.wait)
            .owner(inner.owner.clone());
        if let Some(notices) = inner.notices.clone() {
            locker = locker.on_long_wait(move |waiting| {
                notices(&Notice::Waiting { path: waiting.path.clone(), holder: waiting.holder.clone() });
            });
        }
        locker
    }

    /// [`Project::locker`], its waiting notices naming `given` as the caller gave it.
    fn locker_for(&self, given: &Path) -> Locker {
        let mut locker = self.locker();
        if let Some(notices) = self.inner.notices.clone() {
            let given = given.to_path_buf();
            locker = locker.on_long_wait(move |waiting| {
                notices(&Notice::Waiting { path: given.clone(), holder: waiting.holder.clone() });
            });
        }
        locker
    }

    /// `err` about `given`, its message naming files as the caller named them: the library names
    /// the files it resolved (absolute, symlinks resolved), the caller gave a path relative to its
    /// directory. Files in the given path's directory are named through that directory as given.
    /// (The JSON `path` stays the resolved one: it is unambiguous.)
    fn given<T>(&self, given: &Path, op: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        op().map_err(|err| self.as_given(given, err))
    }

    fn as_given(&self, given: &Path, err: Error) -> Error {
        let given_dir = given.parent().filter(|dir| !dir.as_os_str().is_empty());
        let Ok(real_dir) = self.fs().canonicalize(given_dir.unwrap_or(Path::new("."))) else { return err };
        let from = format!("{}/", real_dir.display());
        let to = given_dir.map_or_else(String::new, |dir| format!("{}/", dir.display()));
        let mut message = err.message().to_owned();
        // The file itself by the name given (through a link, the link's name), its side files
        // (`FILE.lock`, in the target's directory) through the directory given.
        if let Ok(real) = crate::target::resolve(self.fs(), given) {
            message = replace_whole_path(&message, &real.display().to_string(), &given.display().to_string());
        }
        if from != to {
            message = message.replace(&from, &to);
        }
        if message == err.message() {
            return err;
        }
        err.with_message(message)
    }

    /// The writer of this project's policies (durability, links).
    pub fn writer(&self) -> Writer {
        Writer::new().fs(self.inner.fs.clone()).durability(self.inner.durability).links(self.inner.links)
    }

    /// The root's leases, their records written as durably as files are.
    pub fn leases(&self) -> Result<Leases, Error> {
        let busy = match self.inner.wait {
            Wait::Immediately => Duration::ZERO,
            Wait::For(limit) => limit,
            Wait::Forever => Duration::from_secs(3600),
        };
        Ok(Leases::with_fs(self.inner.fs.clone(), &self.inner.root)?
            .durability(self.inner.durability)
            .busy_wait(busy))
    }

    /// Refuses a change to `path` under another owner's live lease (unless leases are ignored).
    pub fn check_lease(&self, path: &Path) -> Result<(), Error> {
        if self.inner.ignore_leases {
            return Ok(());
        }
        Ok(self.leases()?.check(path, self.owner())?)
    }

    fn notify(&self, notice: &Notice) {
        if let Some(notices) = &self.inner.notices {
            notices(notice);
        }
    }

    fn fs(&self) -> &dyn Fs {
        &*self.inner.fs
    }

    fn fs_arc(&self) -> Arc<dyn Fs> {
        self.inner.fs.clone()
    }
}

/// `text` with each occurrence of the path `from` that is not the start of a longer path
/// (`FILE.lock`, `FILE/x`) replaced by `to`.
fn replace_whole_path(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let mut next = after.chars();
        let longer = match next.next() {
            Some('.') => next.next().is_some_and(char::is_alphanumeric),
            Some(next) => next.is_alphanumeric() || "_-/".contains(next),
            None => false,
        };
        out.push_str(&rest[..at]);
        out.push_str(if longer { from } else { to });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::replace_whole_path;

    #[test]
    fn a_whole_path_is_renamed_and_a_longer_one_is_left() {
        assert_eq!(
            replace_whole_path("lock on /r/f.md: /r/f.md.lock is /r/f.md.", "/r/f.md", "link.md"),
            "lock on link.md: /r/f.md.lock is link.md."
        );
    }
}
