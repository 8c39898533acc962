//! The document workers: a locked, durable edit of one frontmatter key, by the bare-syscall floor
//! and by `stet::doc`, and the story files they edit.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use stet::atomic::Writer;
use stet::doc::Format;
use stet::lock::{Locker, Wait};

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

/// The `counter` of a story's frontmatter.
pub fn counter(text: &str) -> Option<u64> {
    let start = text.find("\ncounter: ")? + "\ncounter: ".len();
    let end = start + text[start..].find('\n')?;
    text[start..end].trim().parse().ok()
}

/// The floor of a frontmatter edit: flock on a kept lock file, read, replace the counter's digits
/// in the text (no parsing at all), temp write, fsync, rename, fsync dir, unlock.
struct Floor {
    lock: File,
    dir: File,
    serial: u64,
}

impl Floor {
    fn open(path: &Path) -> io::Result<Floor> {
        let lock = File::options().read(true).write(true).create(true).truncate(false).open(format!("{}.lock", path.display()))?;
        let dir = File::open(path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")))?;
        Ok(Floor { lock, dir, serial: 0 })
    }

    /// Sets the counter to `value` (or to one more, when `None`); returns the lock wait.
    fn edit(&mut self, path: &Path, value: Option<u64>) -> io::Result<Duration> {
        let asked = Instant::now();
        self.lock.lock()?;
        let waited = asked.elapsed();
        let mut text = String::new();
        File::open(path)?.read_to_string(&mut text)?;
        let start = text.find("\ncounter: ").ok_or_else(|| io::Error::other("no counter"))? + "\ncounter: ".len();
        let end = start + text[start..].find('\n').ok_or_else(|| io::Error::other("no counter"))?;
        let next = value.unwrap_or_else(|| text[start..end].parse::<u64>().unwrap_or(0) + 1);
        text.replace_range(start..end, &next.to_string());
        self.serial += 1;
        let temp = format!("{}.floor-{}-{}", path.display(), std::process::id(), self.serial);
        let mut file = File::options().write(true).create_new(true).mode(0o644).open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        self.dir.sync_all()?;
        self.lock.unlock()?;
        Ok(waited)
    }
}

/// `worker doc-floor|doc-lib FILE N`: N increments of the counter; prints the worker stats.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    let mut waits = Vec::with_capacity(ops);
    let started = Instant::now();
    match kind {
        "doc-floor" => {
            let mut floor = Floor::open(path)?;
            for _ in 0..ops {
                waits.push(floor.edit(path, None)?);
            }
        }
        "doc-lib" => {
            let (locker, writer) = (Locker::new().wait(Wait::Forever), Writer::new());
            for _ in 0..ops {
                let asked = Instant::now();
                stet::doc::edit_value(&locker, &writer, path, Some(Format::Markdown), |document| {
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

/// `doc-once FILE VALUE`: one floor edit setting the counter, for the per-process floor.
pub fn set_once(path: &Path, value: &str) -> io::Result<()> {
    let value = value.parse().map_err(io::Error::other)?;
    Floor::open(path)?.edit(path, Some(value)).map(drop)
}
