//! `stet new DIR --slug SLUG [--pattern PATTERN] [--template PATH] [--set KEY=VALUE...]`

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use stet::entry::{EntryError, NewEntry};

use crate::context::Context;
use crate::failure::Failure;

pub fn run(
    ctx: &Context,
    dir: &Path,
    slug: &str,
    pattern: &str,
    template: Option<&Path>,
    assignments: &[String],
) -> Result<ExitCode, Failure> {
    let edits = super::doc::parse_assignments(assignments, false, false)
        .map_err(|err| Failure::usage(format!("--set: {err}")))?;
    let request = NewEntry { dir, slug, pattern, template, edits: &edits };
    let created = stet::entry::create(&ctx.locker, ctx.writer.durability_policy(), &request).map_err(
        |err| match err {
            EntryError::Invalid { message } => Failure::usage(message),
            EntryError::Document { path, source } => Failure::document(&path, &source),
            EntryError::Lock(err) => err.into(),
            EntryError::Io { ref path, ref source, .. } => {
                Failure::io(path, source, "cannot create the entry:").with_path(path)
            }
            other => Failure::new("EIO", other.to_string()),
        },
    )?;
    let path = dir.join(created.path.file_name().expect("entries have names"));
    if ctx.json {
        crate::print_output(&json!({ "path": path, "seq": created.seq }).to_string())?;
    } else if !ctx.quiet {
        crate::print_output(&path.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
