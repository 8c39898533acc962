//! `stet lock FILE [--shared] -- COMMAND [ARG...]`

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use stet::Error;
use stet::lock::{Lock, LockKind};

use crate::child;
use crate::context::Context;

pub fn run(ctx: &Context, file: &Path, shared: bool, command: &[OsString]) -> Result<ExitCode, Error> {
    let kind = if shared { LockKind::Shared } else { LockKind::Exclusive };
    let outcome = ctx.project.lock(file, kind, |lock| {
        child::run(command, &Lock::child_env([lock]), None, false, &child::Guard::of(lock))
    })??;
    Ok(ExitCode::from(outcome.exit_code()))
}
