//! `stet write FILE [--create-new] [--mode OCTAL]`

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use stet::project::WriteOptions;
use stet::{Code, Error};

use crate::context::Context;

pub fn run(ctx: &Context, file: &Path, create_new: bool, mode: Option<u32>) -> Result<ExitCode, Error> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).map_err(|err| {
        Error::new(Code::Io, format!("cannot read standard input: {err}; {} was not changed", file.display()))
    })?;
    let written = ctx.project.write(file, &bytes, WriteOptions { create_new, mode })?;
    if ctx.json {
        crate::print_json(&written)?;
    } else if !ctx.quiet {
        crate::print_output(&written.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
