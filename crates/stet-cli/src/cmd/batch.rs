//! `stet batch`: the batch protocol of `stet-batch` on stdin and stdout.

use std::process::ExitCode;

use stet::{Code, Error, Project};

pub fn run(project: &Project) -> Result<ExitCode, Error> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    // A closed stdout ends the batch as the end of input does: the client has gone.
    stet_batch::serve(project, stdin, stdout).map_err(|err| {
        Error::new(Code::Io, format!("stet batch: cannot read requests or write responses: {err}"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The project of the global flags, until the CLI's context holds one.
pub fn project_of(global: &crate::flags::Global) -> Result<Project, Error> {
    let cwd = std::env::current_dir()
        .map_err(|err| Error::new(Code::Io, format!("cannot read the current directory: {err}")))?;
    let lock_wait = match &global.timeout {
        Some(text) => Some(stet::project::wait_of(
            stet::duration::parse(text).map_err(|err| Error::usage(format!("--timeout: {err}")))?,
        )),
        None => None,
    };
    let protocol =
        global.lock_protocol.as_deref().map(str::parse::<stet::project::ProtocolName>).transpose()?;
    let (json, quiet) = (global.json, global.quiet);
    stet::Options::new()
        .root(global.root.clone())
        .owner(global.owner.clone())
        .ignore_leases(global.ignore_leases)
        .lock_wait(lock_wait)
        .protocol(protocol)
        .durability(global.no_sync.then_some(stet::atomic::Durability::None))
        .links(if global.break_links { stet::atomic::Links::Break } else { stet::atomic::Links::Refuse })
        .on_notice(move |notice| {
            if json {
                eprintln!("{}", notice.to_json());
            } else if !quiet {
                eprintln!("stet: {notice}");
            }
        })
        .discover(&cwd)
}
