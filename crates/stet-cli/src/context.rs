//! The global flags as the library's options, and where notices are printed.

use stet::duration;
use stet::project::{Notice, ProtocolName};
use stet::{Error, Options, Project};

use crate::flags::Global;

pub struct Context {
    pub json: bool,
    pub quiet: bool,
    pub project: Project,
}

impl Context {
    pub fn build(global: &Global) -> Result<Context, Error> {
        let cwd = std::env::current_dir()
            .map_err(|err| Error::new(stet::Code::Io, format!("cannot read the current directory: {err}")))?;
        let lock_wait = match &global.timeout {
            Some(text) => Some(stet::project::wait_of(
                duration::parse(text).map_err(|err| Error::usage(format!("--timeout: {err}")))?,
            )),
            None => None,
        };
        let protocol = global.lock_protocol.as_deref().map(str::parse::<ProtocolName>).transpose()?;
        let (json, quiet) = (global.json, global.quiet);
        let project = Options::new()
            .root(global.root.clone())
            .owner(global.owner.clone())
            .ignore_leases(global.ignore_leases)
            .lock_wait(lock_wait)
            .protocol(protocol)
            .durability(global.no_sync.then_some(stet::atomic::Durability::None))
            .links(if global.break_links { stet::atomic::Links::Break } else { stet::atomic::Links::Refuse })
            .on_notice(move |notice| say(json, quiet, notice))
            .discover(&cwd)?;
        if global.verbose && !json {
            eprintln!(
                "stet: root {}, lock protocol {:?}, wait {:?}",
                project.root().display(),
                project.protocol(),
                project.lock_wait()
            );
        }
        Ok(Context { json, quiet, project })
    }
}

/// A notice on stderr: one JSON line with `--json`, else a plain sentence (unless `-q`).
fn say(json: bool, quiet: bool, notice: &Notice) {
    if json {
        eprintln!("{}", notice.to_json());
    } else if !quiet {
        eprintln!("stet: {notice}");
    }
}
