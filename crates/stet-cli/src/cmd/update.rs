//! `stet update FILE -- COMMAND [ARG...]`

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use stet::Error;
use stet::lock::Lock;

use crate::child;
use crate::context::Context;

pub fn run(ctx: &Context, file: &Path, command: &[OsString]) -> Result<ExitCode, Error> {
    let updated = ctx.project.update(file, |old, lock| {
        let mut env = Lock::child_env([lock]);
        env.push(("STET_EXISTS".into(), if old.is_some() { "1" } else { "0" }.into()));
        let outcome =
            child::run(command, &env, Some(old.unwrap_or_default()), true, &child::Guard::of(lock))?;
        if outcome.status.success() {
            Ok(Some(outcome.stdout))
        } else {
            let status = outcome.exit_code();
            Err(Error::command_failed(
                format!(
                    "{} exited with status {status}; {} was not changed",
                    command[0].to_string_lossy(),
                    file.display()
                ),
                status,
            )
            .with_path(file))
        }
    })?;
    if ctx.json {
        crate::print_json(&updated)?;
    } else if !ctx.quiet {
        crate::print_output(&updated.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
