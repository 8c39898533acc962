//! The document workers: a locked, durable edit of one frontmatter key, by the bare-syscall floor
//! and by `stet::doc`, and the story files they edit.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use stet::atomic::Writer;
use stet::doc::Format;
use stet::lock::{Locker, Wait};

use crate::floor::Floor;

/// A story file of about 1.5 KB, as spec and story tools keep them, with a `counter` key.
pub const STORY: &str = "---
id: S-0035
title: \"Login flow: remember the device\"
slug: login-flow
priority: 2
counter: 0
status: in-progress  # moved by the orchestrator
type: feature
created: '2026-01-12'
updated: '2026-01-14'
labels: [auth, ui]
epic: E-007
estimated_effort: medium
# phase flags, set by agents as they finish
research_complete: true
plan_complete: true
implementation_complete: false
reviews_complete: false
blocked_diagnostic:
  reason: waiting for the token service
  since: 2026-01-13
worktree_path: .worktrees/S-0035
---

# Login flow: remember the device

## User story

As a returning user, I want the app to remember this device, so that I am not asked for a code
every time I sign in from it. The device is remembered for 30 days, and the user can forget it
from the account page at any time.

## Acceptance criteria

- Signing in with \"remember this device\" ticked skips the code on the next sign-in.
- The remembered device appears on the account page with its name and the date it was added.
- Forgetting a device asks for the code again on its next sign-in.
- Remembered devices expire after 30 days without use.

## Notes

The token service issues device tokens; see the blocked diagnostic above. Agents working on this
story record their progress in the flags of the frontmatter, and the orchestrator moves the status.
";

/// The story with a body of about 1 MB.
pub fn big_story() -> String {
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.\n";
    format!("{STORY}{}", line.repeat(1_000_000 / line.len()))
}

/// The `counter` of a story's frontmatter, or of a JSON document.
pub fn counter(text: &str) -> Option<u64> {
    text[counter_digits(text)?].parse().ok()
}

/// Where the digits of the `counter` key are: `counter: N` on a line of its own (YAML), or
/// `"counter": N` (JSON).
fn counter_digits(text: &str) -> Option<std::ops::Range<usize>> {
    let start = ["\ncounter: ", "\"counter\": "]
        .iter()
        .find_map(|marker| text.find(marker).map(|at| at + marker.len()))?;
    let length = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    Some(start..start + length)
}

/// The floor of a frontmatter edit: the floor's locked durable replace, where the edit replaces
/// the counter's digits in the text (no parsing at all); `None` increments.
fn floor_edit(floor: &mut Floor, path: &Path, value: Option<u64>) -> io::Result<Duration> {
    floor.edit(path, |bytes| {
        let mut text = String::from_utf8(bytes).map_err(io::Error::other)?;
        let digits = counter_digits(&text).ok_or_else(|| io::Error::other("no counter"))?;
        let (start, end) = (digits.start, digits.end);
        let next = value.unwrap_or_else(|| text[start..end].parse::<u64>().unwrap_or(0) + 1);
        text.replace_range(start..end, &next.to_string());
        Ok(text.into_bytes())
    })
}

/// `worker doc-floor|doc-lib|doc-lib-kept FILE N`: N increments of the counter; prints the worker stats.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    let mut waits = Vec::with_capacity(ops);
    let started = Instant::now();
    match kind {
        "doc-floor" => {
            let mut floor = Floor::open(path)?;
            for _ in 0..ops {
                waits.push(floor_edit(&mut floor, path, None)?);
            }
        }
        "doc-lib" => {
            let (locker, writer) = (Locker::new().wait(Wait::Forever), Writer::new());
            for _ in 0..ops {
                let asked = Instant::now();
                stet::doc::edit_value(&locker, &writer, path, Some(format_of(path)), |document| {
                    waits.push(asked.elapsed());
                    let next = document["counter"].as_u64().unwrap_or(0) + 1;
                    document["counter"] = Value::from(next);
                })
                .map_err(io::Error::other)?;
            }
        }
        "doc-lib-kept" => {
            let locker = Locker::new().wait(Wait::Forever);
            let mut editor = stet::doc::Editor::open(&locker, &Writer::new(), path, Some(format_of(path)))
                .map_err(io::Error::other)?;
            for _ in 0..ops {
                let asked = Instant::now();
                editor
                    .edit_value(|document| {
                        waits.push(asked.elapsed());
                        let next = document["counter"].as_u64().unwrap_or(0) + 1;
                        document["counter"] = Value::from(next);
                    })
                    .map_err(io::Error::other)?;
            }
        }
        other => return Err(io::Error::other(format!("unknown worker kind {other}"))),
    }
    crate::floor::print_stats(ops, started.elapsed(), &waits);
    Ok(())
}

/// The document's format: from its extension (the story is Markdown).
fn format_of(path: &Path) -> Format {
    Format::of_path(path).unwrap_or(Format::Markdown)
}

/// `doc-once FILE VALUE`: one floor edit setting the counter, for the per-process floor.
pub fn set_once(path: &Path, value: &str) -> io::Result<()> {
    let value = value.parse().map_err(io::Error::other)?;
    floor_edit(&mut Floor::open(path)?, path, Some(value)).map(drop)
}
