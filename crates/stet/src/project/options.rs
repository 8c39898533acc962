//! How a project is opened: the options a front end sets, over `.stet/config.toml`, over the
//! contract's defaults.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Error, Inner, Notice, NoticeSink, Project};
use crate::atomic::{Durability, Links, Writer};
use crate::config::Config;
use crate::duration::Span;
use crate::fs::Fs;
use crate::lock::{Protocol, Wait};

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
        let interrupted = crate::tx::Interrupted::new(&root, Writer::new().fs(fs.clone()).links(self.links));
        let inner = Inner {
            interrupted,
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
            leases: std::sync::OnceLock::new(),
            confinement: Arc::default(),
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
