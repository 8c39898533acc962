//! `stet lock FILE [--shared] -- COMMAND [ARG...]`

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use stet::lock::{Lock, LockKind};

use crate::child;
use crate::context::Context;
use crate::failure::Failure;

pub fn run(ctx: &Context, file: &Path, shared: bool, command: &[OsString]) -> Result<ExitCode, Failure> {
    let kind = if shared { LockKind::Shared } else { LockKind::Exclusive };
    let lock = ctx.locker.acquire(file, kind)?;
    let outcome = child::run(command, &Lock::child_env([&lock]), None, false, &child::Guard::of(&lock))?;
    // A lock lost while the command ran means its work was not protected: say so, whatever its status.
    lock.check()?;
    match lock.release() {
        Err(err @ stet::lock::LockError::Compromised { .. }) => return Err(err.into()),
        Err(err) if !ctx.quiet => eprintln!("stet: warning: {err}"),
        _ => {}
    }
    Ok(ExitCode::from(outcome.exit_code()))
}
