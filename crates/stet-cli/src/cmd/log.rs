//! `stet log append|read|verify|repair`

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use stet::log::IdRule;
use stet::project::{LogChecked, parse_event, parse_events};
use stet::{Code, Error};

use crate::context::Context;
use crate::flags::LogCommand;

pub fn run(ctx: &Context, command: LogCommand) -> Result<ExitCode, Error> {
    match command {
        LogCommand::Append { log, event, id_field, content_id } => {
            let ids = if content_id { Some(IdRule::Content) } else { id_field.map(IdRule::Field) };
            append(ctx, &log, event.as_deref(), ids)
        }
        LogCommand::Read { log, from, limit, follow, with_offsets } => {
            read(ctx, &log, from, limit, follow, with_offsets)
        }
        LogCommand::Verify { log } => {
            let found = ctx.project.log_verify(&log)?;
            report(ctx, &found, "verify")?;
            Ok(if found.clean { ExitCode::SUCCESS } else { ExitCode::from(65) })
        }
        LogCommand::Repair { log } => {
            let found = ctx.project.log_repair(&log)?;
            report(ctx, &found, "repair")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn append(ctx: &Context, log: &Path, event: Option<&str>, ids: Option<IdRule>) -> Result<ExitCode, Error> {
    let events = if let Some(text) = event {
        parse_event(log, text)?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|err| {
            Error::new(
                Code::Malformed,
                format!("cannot read events from standard input: {err}; nothing was appended"),
            )
        })?;
        parse_events(log, &text)?
    };
    let appended = ctx.project.log_append(log, &events, ids)?;
    if ctx.json {
        crate::print_json(&appended)?;
    } else if !ctx.quiet {
        let cut = appended.cut.as_ref().map_or(String::new(), |cut| {
            format!("; first cut a torn tail of {} bytes into {}", cut.bytes, cut.rejected.display())
        });
        crate::print_output(&format!(
            "{} appended, {} duplicate{} skipped, at offset {}{cut}",
            appended.appended,
            appended.duplicates,
            if appended.duplicates == 1 { "" } else { "s" },
            appended.offset
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read(
    ctx: &Context,
    log: &Path,
    from: u64,
    limit: Option<usize>,
    follow: bool,
    with_offsets: bool,
) -> Result<ExitCode, Error> {
    let mut reader = ctx.project.log_reader(log, from)?;
    if follow {
        // Watch before the first read, so that no append between the two goes unnoticed.
        reader.wait(Duration::ZERO)?;
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0;
    loop {
        while limit.is_none_or(|limit| printed < limit) {
            let Some(entry) = reader.next_event()? else { break };
            // The line is printed as it is in the log: it is one JSON value already.
            let written = if with_offsets {
                write!(stdout, "{{\"offset\":{},\"next\":{},\"event\":", entry.offset, entry.next)
                    .and_then(|()| stdout.write_all(trimmed(&entry.raw)))
                    .and_then(|()| stdout.write_all(b"}\n"))
            } else {
                stdout.write_all(trimmed(&entry.raw)).and_then(|()| stdout.write_all(b"\n"))
            };
            if written.is_err() {
                return Ok(ExitCode::SUCCESS); // a closed stdout ends the reading
            }
            printed += 1;
        }
        if !follow || limit.is_some_and(|limit| printed >= limit) {
            break;
        }
        if stdout.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        reader.wait(Duration::from_secs(1))?;
        reader.follow_changes()?;
    }
    let _ = stdout.flush();
    Ok(ExitCode::SUCCESS)
}

/// A line without the spaces around it (and a `\r` before its line break).
fn trimmed(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(line.len());
    let end = line.iter().rposition(|byte| !byte.is_ascii_whitespace()).map_or(start, |end| end + 1);
    &line[start..end]
}

fn report(ctx: &Context, found: &LogChecked, verb: &str) -> Result<(), Error> {
    if ctx.json {
        return crate::print_json(found);
    }
    let log = found.path.display();
    let text = if found.clean {
        format!("{log}: {} lines, {} bytes, clean", found.lines, found.bytes)
    } else {
        let moved = if verb == "repair" { "; moved to LOG.rejected with where each came from" } else { "" };
        format!(
            "{log}: {} lines, {} bytes, torn tail of {} bytes, corrupt lines {:?}{moved}",
            found.lines, found.bytes, found.torn_tail_bytes, found.corrupt_lines
        )
    };
    crate::print_output(&text)
}
