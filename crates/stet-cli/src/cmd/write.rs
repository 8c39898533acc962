//! `stet write FILE [--create-new] [--mode OCTAL]`

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use stet::atomic::{Existing, Mode};

use crate::context::Context;
use crate::failure::Failure;

pub fn run(ctx: &Context, file: &Path, create_new: bool, mode: Option<u32>) -> Result<ExitCode, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).map_err(|err| {
        Failure::new("EIO", format!("cannot read standard input: {err}; {} was not changed", file.display()))
    })?;
    let writer = ctx.writer.clone().mode(mode.map_or(Mode::Keep, Mode::Set)).existing(if create_new {
        Existing::Fail
    } else {
        Existing::Replace
    });
    let written = stet::update::replace(&ctx.locker, &writer, file, &bytes)?;
    if ctx.json {
        crate::print_output(
            &json!({ "path": file, "bytes": written.bytes, "version": written.version.to_string() })
                .to_string(),
        )?;
    } else if !ctx.quiet {
        crate::print_output(&written.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
