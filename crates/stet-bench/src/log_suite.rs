//! The event-log tables: durable appends by the floor, stet and the peers; batches; the cost of
//! the duplicate check as the log grows; reading a large log.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use stet::atomic::Durability;
use stet::lock::{Locker, Wait};
use stet::log::IdRule;

use crate::harness::{CommandFor, Contestant, Shape, Suite, Tools, invoke};

fn event(n: usize) -> serde_json::Value {
    json!({"id": format!("{}-{n}", std::process::id()), "kind": "progress", "n": n})
}

/// `worker log-floor|log-lib|log-lib-kept FILE N`: N durable appends of one event each.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    // Lock waits are inside each append: not measured here (no fairness column).
    let waits: Vec<Duration> = Vec::new();
    let started = Instant::now();
    match kind {
        "log-floor" => {
            // The floor: O_APPEND write of one line (atomic for a small line), fdatasync.
            let mut file = File::options().append(true).create(true).open(path)?;
            for n in 0..ops {
                let mut line = event(n).to_string();
                line.push('\n');
                file.write_all(line.as_bytes())?;
                file.sync_data()?;
            }
        }
        "log-lib" => {
            let locker = Locker::new().wait(Wait::Forever);
            let rule = IdRule::default();
            for n in 0..ops {
                stet::log::append(&locker, Durability::Sync, path, &[event(n)], Some(&rule))
                    .map_err(io::Error::other)?;
            }
        }
        "log-lib-kept" => {
            let locker = Locker::new().wait(Wait::Forever);
            let mut appender =
                stet::log::Appender::open(&locker, Durability::Sync, path, Some(IdRule::default()))
                    .map_err(io::Error::other)?;
            for n in 0..ops {
                appender.append(&[event(n)]).map_err(io::Error::other)?;
            }
        }
        other => return Err(io::Error::other(format!("unknown worker kind {other}"))),
    }
    crate::floor::print_stats(ops, started.elapsed(), &waits);
    Ok(())
}

#[allow(clippy::unnecessary_wraps)] // the signature every suite's counter has
fn count_lines(text: &str) -> Option<u64> {
    Some(text.lines().filter(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()).count() as u64)
}

pub(crate) fn log_suite(tools: &Tools, scale: usize) -> Suite {
    let bench = tools.bench.as_path();
    let worker = |kind: &str| invoke(bench, &[OsStr::new("worker"), OsStr::new(kind)], true, &[]);
    let modules = tools.node_modules.clone();
    let node_loop =
        invoke(Path::new("node"), &[tools.scripts.join("node-log-worker.js").as_os_str()], true, &[]);
    let node: CommandFor = Box::new(move |file, ops| {
        let mut command = node_loop(file, ops);
        command.env("NODE_PATH", &modules);
        command
    });
    let python =
        invoke(Path::new("python3"), &[tools.scripts.join("python-log-worker.py").as_os_str()], true, &[]);
    let looped = |name, ops: [usize; 2], command| Contestant {
        name,
        shape: Shape::Loop,
        ops: ops.map(|n| (n / scale).max(4)),
        command,
        increments: true,
    };
    let stet = tools.stet.clone();
    let contestants = vec![
        looped(
            "floor: bare syscalls (O_APPEND write of one line, fdatasync)",
            [2000, 500],
            worker("log-floor"),
        ),
        looped("stet library (`stet::log::append`, one event, idempotent)", [2000, 500], worker("log-lib")),
        looped("stet library, files kept open (`stet::log::Appender`)", [2000, 500], worker("log-lib-kept")),
        looped("Node: proper-lockfile + appendFile + fsync", [600, 150], node),
        looped("Python: filelock + write + fsync", [1200, 300], python),
        Contestant {
            name: "floor, a process per operation",
            shape: Shape::ProcessPerOp,
            ops: [(400 / scale).max(2), (100 / scale).max(2)],
            command: invoke(
                bench,
                &[OsStr::new("worker"), OsStr::new("log-floor")],
                false,
                &[OsStr::new("1")],
            ),
            increments: true,
        },
        Contestant {
            name: "stet CLI per operation (`stet log append LOG EVENT`)",
            shape: Shape::ProcessPerOp,
            ops: [(400 / scale).max(2), (100 / scale).max(2)],
            command: Box::new(move |file: &Path, _| {
                let mut command = Command::new(&stet);
                let event = json!({"id": format!("{:016x}", fastrand::u64(..)), "kind": "progress"});
                command.args(["--timeout", "inf", "log", "append"]).arg(file).arg(event.to_string());
                command
            }),
            increments: true,
        },
    ];
    Suite {
        title: "Durable append of one event to an NDJSON log".into(),
        extension: "ndjson",
        initial: String::new(),
        count: count_lines,
        contestants,
    }
}

/// Batches, the duplicate check at scale, and reading: one line each.
pub(crate) fn extras(tools: &Tools, dir: &Path, quick: bool) -> io::Result<String> {
    let mut out = String::from("Event logs at scale (stet library unless said):\n\n");
    let locker = Locker::new().wait(Wait::Forever);
    let rule = IdRule::default();

    // A batch of 1,000 events, flushed once.
    let path = dir.join("batch.ndjson");
    let batches = if quick { 5 } else { 20 };
    let started = Instant::now();
    for batch in 0..batches {
        let events: Vec<_> =
            (0..1000).map(|n| json!({"id": format!("b{batch}-{n}"), "kind": "progress", "n": n})).collect();
        stet::log::append(&locker, Durability::Sync, &path, &events, Some(&rule))
            .map_err(io::Error::other)?;
    }
    let rate = f64::from(batches * 1000) / started.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "- batches of 1,000 events, each validated, checked for duplicates and flushed once: {rate:.0} events/s"
    );

    // The duplicate check on a small log and on a large one.
    let large = if quick { 1_000_000 } else { 10_000_000 };
    let small_cost = append_cost(dir, "small.ndjson", 1_000, &locker, &rule)?;
    let large_cost = append_cost(dir, "large.ndjson", large, &locker, &rule)?;
    let _ = writeln!(
        out,
        "- idempotent durable append: {small_cost:.0} µs with 1,000 events in the log, {large_cost:.0} µs with {large} ({:.2}x)",
        large_cost / small_cost
    );

    // Reading a large log.
    let size: u64 = if quick { 128 << 20 } else { 1 << 30 };
    let path = dir.join("read.ndjson");
    write_events(&path, (size / 87) as usize)?; // about 87 bytes an event
    let bytes = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let child = Command::new(&tools.stet)
        .args(["log", "read"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let (success, peak_mb) = wait_with_peak_memory(child)?;
    let seconds = started.elapsed().as_secs_f64();
    if !success {
        return Err(io::Error::other("stet log read failed"));
    }
    let _ = writeln!(
        out,
        "- `stet log read` of a {} MB log to /dev/null: {:.0} MB/s, peak memory of the reader {peak_mb} MB",
        bytes >> 20,
        bytes as f64 / seconds / 1e6,
    );
    std::fs::remove_file(&path)?;
    out.push('\n');
    Ok(out)
}

/// Median µs of one idempotent durable append to a log that already holds `events` events.
fn append_cost(dir: &Path, name: &str, events: usize, locker: &Locker, rule: &IdRule) -> io::Result<f64> {
    let path = dir.join(name);
    write_events(&path, events)?;
    // The first append builds the index (once); the ones measured use it.
    stet::log::append(locker, Durability::Sync, &path, &[json!({"id": "warm-up"})], Some(rule))
        .map_err(io::Error::other)?;
    // Let the writeback of the freshly written log and index finish before measuring, so that
    // it does not slow the measured flushes down.
    let index = path.with_file_name(format!(".{name}.stet-index"));
    for file in [&path, &index] {
        File::open(file)?.sync_all()?;
    }
    std::thread::sleep(Duration::from_secs(1));
    let mut samples: Vec<f64> = (0..300)
        .map(|n| {
            let started = Instant::now();
            stet::log::append(
                locker,
                Durability::Sync,
                &path,
                &[json!({"id": format!("m{n}"), "kind": "progress"})],
                Some(rule),
            )
            .map(|_| started.elapsed().as_secs_f64() * 1e6)
            .map_err(io::Error::other)
        })
        .collect::<io::Result<_>>()?;
    samples.sort_by(f64::total_cmp);
    std::fs::remove_file(&path)?;
    Ok(samples[samples.len() / 2])
}

/// A log of `count` events of about 100 bytes, written directly.
fn write_events(path: &Path, count: usize) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, File::create(path)?);
    for n in 0..count {
        writeln!(
            out,
            "{{\"id\":\"e{n:09}\",\"kind\":\"progress\",\"story\":\"S-0035\",\"agent\":\"agent-3\",\"n\":{n}}}"
        )?;
    }
    out.flush()
}

/// Waits for `child`; whether it succeeded, and its peak resident memory in MB (the high-water
/// mark the kernel keeps, `VmHWM`, read until it exits).
fn wait_with_peak_memory(mut child: std::process::Child) -> io::Result<(bool, u64)> {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
        {
            let kb = line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0);
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            return Ok((status.success(), peak_kb / 1024));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
