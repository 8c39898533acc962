//! `stet get`, `set`, `unset`, `push`, `merge`, `version`: documents.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use stet::doc::Format;
use stet::project::{EditOptions, Edited, parse_assignment, parse_merge_patch};
use stet::{Code, Error};

use crate::context::Context;
use crate::flags::{AssignArgs, EditOptions as EditFlags};

pub fn get(
    ctx: &Context,
    file: &Path,
    key: Option<&str>,
    format: Option<Format>,
    with_version: bool,
) -> Result<ExitCode, Error> {
    let got = ctx.project.get(file, key, format)?;
    let text = if with_version {
        serde_json::to_string(&got).expect("results serialize to JSON")
    } else {
        match got.value {
            Value::String(text) if key.is_some() && !ctx.json => text,
            value if ctx.json => value.to_string(),
            value => serde_json::to_string_pretty(&value).expect("JSON values always serialize"),
        }
    };
    crate::print_output(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn set(ctx: &Context, args: &AssignArgs, push: bool) -> Result<ExitCode, Error> {
    let file = &args.file;
    let values = args
        .assignments
        .iter()
        .map(|assignment| parse_assignment(assignment, args.string))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::document(file, &err))?;
    let options = options(&args.options);
    let edited = if push {
        ctx.project.push(file, &values, options)?
    } else {
        ctx.project.set(file, &values, options)?
    };
    print_edited(ctx, &edited)
}

pub fn unset(ctx: &Context, file: &Path, keys: &[String], flags: &EditFlags) -> Result<ExitCode, Error> {
    let edited = ctx.project.unset(file, keys, options(flags))?;
    print_edited(ctx, &edited)
}

pub fn merge(ctx: &Context, file: &Path, flags: &EditFlags) -> Result<ExitCode, Error> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|err| {
        Error::new(
            Code::Io,
            format!("cannot read the patch from standard input: {err}; {} was not changed", file.display()),
        )
    })?;
    let patch = parse_merge_patch(file, &text)?;
    let edited = ctx.project.merge(file, patch, options(flags))?;
    print_edited(ctx, &edited)
}

pub fn version(ctx: &Context, file: &Path) -> Result<ExitCode, Error> {
    let found = ctx.project.version(file)?;
    if ctx.json {
        crate::print_json(&found)?;
    } else {
        crate::print_output(&found.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn options(flags: &EditFlags) -> EditOptions {
    EditOptions { if_version: flags.if_version, must_exist: flags.must_exist, format: flags.format }
}

fn print_edited(ctx: &Context, edited: &Edited) -> Result<ExitCode, Error> {
    if ctx.json {
        crate::print_json(edited)?;
    } else if !ctx.quiet {
        crate::print_output(&edited.version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
