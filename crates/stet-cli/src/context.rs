//! The policies a command runs with: flags over `.stet/config.toml` over the contract's defaults.

use std::path::PathBuf;

use stet::atomic::{Durability, Links, Writer};
use stet::config::Config;
use stet::duration::{self, Span};
use stet::lease::Leases;
use stet::lock::{Locker, Protocol, Wait};

use crate::failure::Failure;
use crate::flags::Global;

pub struct Context {
    pub json: bool,
    pub quiet: bool,
    pub locker: Locker,
    pub writer: Writer,
    /// `log.id_field`: the event field that makes appends idempotent.
    pub log_id_field: String,
    pub root: PathBuf,
    pub owner: Option<String>,
    pub ignore_leases: bool,
    /// `lease.ttl`.
    pub lease_ttl: std::time::Duration,
    pub lock_wait: Wait,
}

impl Context {
    pub fn build(global: &Global) -> Result<Context, Failure> {
        let cwd = std::env::current_dir()
            .map_err(|err| Failure::new("EIO", format!("cannot read the current directory: {err}")))?;
        let root: PathBuf = stet::root::discover(global.root.as_deref(), &cwd);
        let config = Config::load(&root)?;
        let timeout = match &global.timeout {
            Some(text) => duration::parse(text).map_err(|err| Failure::usage(format!("--timeout: {err}")))?,
            None => config.lock_timeout,
        };
        let wait = match timeout {
            Span::Finite(limit) if limit.is_zero() => Wait::Immediately,
            Span::Finite(limit) => Wait::For(limit),
            Span::Infinite => Wait::Forever,
        };
        let protocol = match global.lock_protocol.as_deref() {
            Some("mkdir") => Protocol::Mkdir { stale: config.lock_stale },
            Some(_) => Protocol::Flock,
            None => config.protocol,
        };
        let mut locker = Locker::new()
            .protocol(protocol)
            .suffix(&config.lock_suffix)
            .wait(wait)
            .owner(global.owner.clone());
        if !global.quiet {
            locker = locker.on_long_wait(|notice| match &notice.holder {
                Some(holder) => {
                    eprintln!("stet: waiting for the lock on {}, held by {holder}", notice.path.display());
                }
                None => eprintln!("stet: waiting for the lock on {}", notice.path.display()),
            });
        }
        if global.verbose {
            eprintln!("stet: root {}, lock protocol {protocol:?}, wait {wait:?}", root.display());
        }
        let durability = if global.no_sync || !config.sync { Durability::None } else { Durability::Sync };
        Ok(Context {
            json: global.json,
            quiet: global.quiet,
            locker,
            writer: Writer::new().durability(durability).links(if global.break_links {
                Links::Break
            } else {
                Links::Refuse
            }),
            log_id_field: config.log_id_field,
            root,
            owner: global.owner.clone().filter(|owner| !owner.is_empty()),
            ignore_leases: global.ignore_leases,
            lease_ttl: config.lease_ttl,
            lock_wait: wait,
        })
    }

    /// The root's leases, their records written as durably as files are.
    pub fn leases(&self) -> Result<Leases, Failure> {
        let busy = match self.lock_wait {
            Wait::Immediately => std::time::Duration::ZERO,
            Wait::For(limit) => limit,
            Wait::Forever => std::time::Duration::from_secs(3600),
        };
        Ok(Leases::new(&self.root)?.durability(self.writer.durability_policy()).busy_wait(busy))
    }

    /// Refuses a change to `path` under another owner's live lease (unless --ignore-leases).
    pub fn check_lease(&self, path: &std::path::Path) -> Result<(), Failure> {
        if self.ignore_leases {
            return Ok(());
        }
        Ok(self.leases()?.check(path, self.owner.as_deref())?)
    }
}
