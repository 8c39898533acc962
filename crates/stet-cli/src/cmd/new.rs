//! `stet new DIR --slug SLUG [--pattern PATTERN] [--template PATH] [--set KEY=VALUE...]`

use std::path::Path;
use std::process::ExitCode;

use stet::Error;
use stet::project::{NewEntryOptions, parse_assignment};

use crate::context::Context;

pub fn run(
    ctx: &Context,
    dir: &Path,
    slug: &str,
    pattern: &str,
    template: Option<&Path>,
    assignments: &[String],
) -> Result<ExitCode, Error> {
    let set = assignments
        .iter()
        .map(|assignment| parse_assignment(assignment, false))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::usage(format!("--set: {err}")))?;
    let options = NewEntryOptions {
        slug: slug.to_owned(),
        pattern: pattern.to_owned(),
        template: template.map(Path::to_path_buf),
        set,
    };
    let created = ctx.project.new_entry(dir, &options)?;
    if ctx.json {
        crate::print_json(&created)?;
    } else if !ctx.quiet {
        crate::print_output(&created.path.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
