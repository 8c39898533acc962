//! `stet update FILE -- COMMAND [ARG...]`

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use stet::lock::Lock;

use crate::child;
use crate::context::Context;
use crate::failure::Failure;

pub fn run(ctx: &Context, file: &Path, command: &[OsString]) -> Result<ExitCode, Failure> {
    let updated = stet::update::update(&ctx.locker, &ctx.writer, file, |old, lock| {
        let mut env = Lock::child_env([lock]);
        env.push(("STET_EXISTS".into(), if old.is_some() { "1" } else { "0" }.into()));
        let outcome =
            child::run(command, &env, Some(old.unwrap_or_default()), true, &child::Guard::of(lock))?;
        if outcome.status.success() {
            Ok(Some(outcome.stdout))
        } else {
            let status = outcome.exit_code();
            Err(Failure::new(
                "ECOMMAND",
                format!(
                    "{} exited with status {status}; {} was not changed",
                    command[0].to_string_lossy(),
                    file.display()
                ),
            )
            .with_path(file)
            .with_status(status)
            .with_extra("status", json!(status)))
        }
    })?;
    if ctx.json {
        let result = json!({
            "path": file,
            "bytes": updated.bytes,
            "version": updated.version.to_string(),
            "changed": updated.changed,
        });
        crate::print_output(&result.to_string())?;
    } else if !ctx.quiet {
        crate::print_output(&updated.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
