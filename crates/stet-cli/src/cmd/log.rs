//! `stet log append|read|verify|repair`

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use stet::log::{Change, IdRule, Item, LogError, Reader};

use crate::context::Context;
use crate::failure::Failure;
use crate::flags::LogCommand;

pub fn run(ctx: &Context, command: LogCommand) -> Result<ExitCode, Failure> {
    match command {
        LogCommand::Append { log, event, id_field, content_id } => {
            let rule = if content_id {
                IdRule::Content
            } else {
                IdRule::Field(id_field.unwrap_or_else(|| ctx.log_id_field.clone()))
            };
            append(ctx, &log, event.as_deref(), &rule)
        }
        LogCommand::Read { log, from, limit, follow, with_offsets } => {
            read(ctx, &log, from, limit, follow, with_offsets)
        }
        LogCommand::Verify { log } => verify(ctx, &log),
        LogCommand::Repair { log } => repair(ctx, &log),
    }
}

fn append(ctx: &Context, log: &Path, event: Option<&str>, rule: &IdRule) -> Result<ExitCode, Failure> {
    let events = match event {
        Some(text) if text.contains(['\n', '\r']) => {
            return Err(failure(
                log,
                LogError::Malformed { number: 1, message: "an event must be on one line".into() },
            ));
        }
        Some(text) => stet::log::parse_events(text).map_err(|err| failure(log, err))?,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|err| {
                Failure::new(
                    "EMALFORMED",
                    format!("cannot read events from standard input: {err}; nothing was appended"),
                )
            })?;
            stet::log::parse_events(&text).map_err(|err| failure(log, err))?
        }
    };
    if events.is_empty() {
        return Err(Failure::usage("no event given: pass EVENT or events on standard input, one per line"));
    }
    let appended = stet::log::append(&ctx.locker, ctx.writer.durability_policy(), log, &events, Some(rule))
        .map_err(|err| failure(log, err))?;
    if let Some(notice) = &appended.index_notice {
        say(
            ctx,
            &json!({"kind": "index_unusable", "path": notice.path, "message": notice.to_string()}),
            &notice.to_string(),
        );
    }
    let cut = appended.cut.as_ref().map(|cut| json!({"bytes": cut.bytes, "rejected": cut.rejected}));
    if ctx.json {
        let result = json!({
            "appended": appended.appended,
            "duplicates": appended.duplicates,
            "offset": appended.offset,
            "cut": cut,
        });
        crate::print_output(&result.to_string())?;
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

/// A notice on stderr: one JSON line with `--json`, else a plain sentence (unless `-q`).
fn say(ctx: &Context, notice: &Value, plain: &str) {
    if ctx.json {
        eprintln!("{}", json!({ "notice": notice }));
    } else if !ctx.quiet {
        eprintln!("stet: {plain}");
    }
}

fn read(
    ctx: &Context,
    log: &Path,
    from: u64,
    limit: Option<usize>,
    follow: bool,
    with_offsets: bool,
) -> Result<ExitCode, Failure> {
    let mut reader = Reader::open(stet::fs::real(), log, from).map_err(|err| failure(log, err))?;
    if follow {
        // Watch before the first read, so that no append between the two goes unnoticed.
        reader.wait(Duration::ZERO).map_err(|err| failure(log, err))?;
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0;
    loop {
        while limit.is_none_or(|limit| printed < limit) {
            match reader.next_item().map_err(|err| failure(log, err))? {
                Some(Item::Event(entry)) => {
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
                Some(Item::Corrupt { line, offset }) => say(
                    ctx,
                    &json!({"kind": "corrupt_line", "path": log, "line": line, "offset": offset}),
                    &format!(
                        "{} line {line} (offset {offset}) is not one JSON value; skipped",
                        log.display()
                    ),
                ),
                None => break,
            }
        }
        if !follow || limit.is_some_and(|limit| printed >= limit) {
            break;
        }
        if stdout.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        reader.wait(Duration::from_secs(1)).map_err(|err| failure(log, err))?;
        if let Some(changed) = reader.notice_change().map_err(|err| failure(log, err))? {
            let (kind, what) = match changed.change {
                Change::Replaced => ("log_replaced", "was replaced by another file"),
                Change::Truncated => ("log_truncated", "was truncated"),
                _ => ("log_changed", "changed"),
            };
            say(
                ctx,
                &json!({"kind": kind, "path": log, "offset": changed.offset, "skipped": changed.skipped}),
                &format!(
                    "{} {what}; following it from offset {} ({} event{} already shown skipped)",
                    log.display(),
                    changed.offset,
                    changed.skipped,
                    if changed.skipped == 1 { "" } else { "s" }
                ),
            );
        }
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

fn verify(ctx: &Context, log: &Path) -> Result<ExitCode, Failure> {
    let found = stet::log::verify(&*stet::fs::real(), log).map_err(|err| failure(log, err))?;
    report(ctx, log, &found, "verify")?;
    Ok(if found.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(65) })
}

fn repair(ctx: &Context, log: &Path) -> Result<ExitCode, Failure> {
    let found = stet::log::repair(&ctx.locker, &ctx.writer, log).map_err(|err| failure(log, err))?;
    report(ctx, log, &found, "repair")?;
    Ok(ExitCode::SUCCESS)
}

fn report(ctx: &Context, log: &Path, found: &stet::log::Verified, verb: &str) -> Result<(), Failure> {
    let text = if ctx.json {
        json!({
            "path": log,
            "lines": found.lines,
            "bytes": found.bytes,
            "torn_tail_bytes": found.torn_tail_bytes,
            "corrupt_lines": found.corrupt_lines,
            "clean": found.is_clean(),
        })
        .to_string()
    } else if found.is_clean() {
        format!("{}: {} lines, {} bytes, clean", log.display(), found.lines, found.bytes)
    } else {
        let moved = if verb == "repair" { "; moved to LOG.rejected with where each came from" } else { "" };
        format!(
            "{}: {} lines, {} bytes, torn tail of {} bytes, corrupt lines {:?}{moved}",
            log.display(),
            found.lines,
            found.bytes,
            found.torn_tail_bytes,
            found.corrupt_lines
        )
    };
    crate::print_output(&text)
}

fn failure(log: &Path, err: LogError) -> Failure {
    match err {
        LogError::Malformed { .. } => {
            Failure::new("EMALFORMED", format!("{}: {err}", log.display())).with_path(log)
        }
        LogError::NotFound { .. } => Failure::new("ENOTFOUND", err.to_string()).with_path(log),
        LogError::NotALog { ref path } => Failure::new("EMALFORMED", err.to_string()).with_path(path),
        LogError::NotAFile { ref path, .. } => Failure::new("EIO", err.to_string()).with_path(path),
        LogError::NotStets { ref path, .. } => Failure::new("EEXIST", err.to_string()).with_path(path),
        LogError::Lock(err) => err.into(),
        LogError::Write(err) => err.into(),
        LogError::Io { ref path, ref source, .. } => {
            Failure::io(path, source, "").with_path(path).with_message(err.to_string())
        }
        other => Failure::new("EIO", other.to_string()).with_path(log),
    }
}
