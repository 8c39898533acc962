//! The policies a command runs with: flags over `.stet/config.toml` over the contract's defaults.

use std::path::PathBuf;

use stet::atomic::{Durability, Writer};
use stet::config::Config;
use stet::duration::{self, Span};
use stet::lock::{Locker, Wait};

use crate::failure::Failure;
use crate::flags::Global;

pub struct Context {
    pub json: bool,
    pub quiet: bool,
    pub locker: Locker,
    pub writer: Writer,
    /// `log.id_field`: the event field that makes appends idempotent.
    pub log_id_field: String,
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
        let mut locker = Locker::new().protocol(config.protocol).wait(wait).owner(global.owner.clone());
        if !global.quiet {
            locker = locker.on_long_wait(|notice| match &notice.holder {
                Some(holder) => {
                    eprintln!("stet: waiting for the lock on {}, held by {holder}", notice.path.display());
                }
                None => eprintln!("stet: waiting for the lock on {}", notice.path.display()),
            });
        }
        if global.verbose {
            eprintln!("stet: root {}, lock protocol {:?}, wait {wait:?}", root.display(), config.protocol);
        }
        let durability = if global.no_sync || !config.sync { Durability::None } else { Durability::Sync };
        Ok(Context {
            json: global.json,
            quiet: global.quiet,
            locker,
            writer: Writer::new().durability(durability),
            log_id_field: config.log_id_field,
        })
    }
}
