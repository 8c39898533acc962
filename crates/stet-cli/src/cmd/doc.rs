//! `stet get`, `set`, `unset`, `push`, `merge`, `version`: documents.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use stet::doc::{DocError, Edit, Edited, Format, KeyPath};

use crate::context::Context;
use crate::failure::Failure;
use crate::flags::{AssignArgs, EditOptions};

pub fn get(
    ctx: &Context,
    file: &Path,
    key: Option<&str>,
    format: Option<Format>,
) -> Result<ExitCode, Failure> {
    let (document, version) = stet::doc::read(&*stet::fs::real(), file, format)?;
    if version == stet::Version::MISSING {
        return Err(Failure::new("ENOTFOUND", format!("{} does not exist", file.display())).with_path(file));
    }
    let value = match key {
        None => document.value(),
        Some(key) => {
            let path = KeyPath::parse(key).map_err(|err| Failure::document(file, &err))?;
            stet::doc::lookup(document.value(), &path).ok_or_else(|| {
                Failure::new("ENOTFOUND", format!("{} has no key `{key}`", file.display())).with_path(file)
            })?
        }
    };
    let text = match value {
        Value::String(text) if key.is_some() && !ctx.json => text.clone(),
        value if ctx.json => value.to_string(),
        value => serde_json::to_string_pretty(value).expect("JSON values always serialize"),
    };
    crate::print_output(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn set(ctx: &Context, args: &AssignArgs, push: bool) -> Result<ExitCode, Failure> {
    let file = &args.file;
    let edits = parse_assignments(&args.assignments, args.string, push)
        .map_err(|err| Failure::document(file, &err))?;
    edit(ctx, file, &args.options, &edits)
}

/// `KEY=VALUE` arguments as sets (or pushes).
pub fn parse_assignments(assignments: &[String], string: bool, push: bool) -> Result<Vec<Edit>, DocError> {
    assignments
        .iter()
        .map(|assignment| {
            let (key, text) = assignment
                .split_once('=')
                .ok_or_else(|| DocError::Invalid { message: format!("{assignment:?} is not KEY=VALUE") })?;
            let value = if string { Value::String(text.to_owned()) } else { stet::doc::parse_value(text)? };
            if push { Edit::push(key, value) } else { Edit::set(key, value) }
        })
        .collect()
}

pub fn unset(
    ctx: &Context,
    file: &Path,
    keys: &[String],
    options: &EditOptions,
) -> Result<ExitCode, Failure> {
    let edits = keys
        .iter()
        .map(|key| Edit::unset(key))
        .collect::<Result<Vec<_>, DocError>>()
        .map_err(|err| Failure::document(file, &err))?;
    edit(ctx, file, options, &edits)
}

pub fn merge(ctx: &Context, file: &Path, options: &EditOptions) -> Result<ExitCode, Failure> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|err| {
        Failure::new(
            "EIO",
            format!("cannot read the patch from standard input: {err}; {} was not changed", file.display()),
        )
    })?;
    let patch = stet::doc::parse_yaml(&text).map_err(|err| {
        Failure::new(
            "EMALFORMED",
            format!(
                "the merge patch on standard input is not JSON or YAML: {err}; {} was not changed",
                file.display()
            ),
        )
        .with_path(file)
    })?;
    edit(ctx, file, options, &[Edit::Merge { patch }])
}

pub fn version(ctx: &Context, file: &Path) -> Result<ExitCode, Failure> {
    let version = stet::version::of_file(&*stet::fs::real(), file)
        .map_err(|err| Failure::io(file, &err, "cannot read"))?;
    let text = if ctx.json {
        json!({ "path": file, "version": version.to_string() }).to_string()
    } else {
        version.to_string()
    };
    crate::print_output(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn edit(ctx: &Context, file: &Path, options: &EditOptions, edits: &[Edit]) -> Result<ExitCode, Failure> {
    let Edited { version, changed, .. } =
        stet::doc::edit(&ctx.locker, &ctx.writer, file, options.format, options.if_version, edits)?;
    if ctx.json {
        crate::print_output(
            &json!({ "path": file, "version": version.to_string(), "changed": changed }).to_string(),
        )?;
    } else if !ctx.quiet {
        crate::print_output(&version.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
