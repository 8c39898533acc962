//! Transactions: a durable `Project::tx` of `write` ops on 1, 3 and 10 small files (in one
//! directory, and spread over three), beside the same files written by as many sequential durable
//! `stet::atomic::write`s (and locked `Project::write`s) and by the bare-syscall floor; and the
//! recovery check every command makes first, with nothing to recover.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use stet::Project;
use stet::atomic::Writer;
use stet::lock::Settle;
use stet::project::WriteOptions;
use stet::tx::{Interrupted, Op, OpKind, Plan};

/// The file counts and directory counts measured.
const LAYOUTS: [(usize, usize); 5] = [(1, 1), (3, 1), (10, 1), (3, 3), (10, 3)];

/// The contestants, in the order each round runs them (interleaved, so that drift in the disk's
/// latency hits them alike).
const FLOOR: usize = 0;
const ATOMIC: usize = 1;
const LOCKED: usize = 2;
const TX: usize = 3;

/// Median of `samples`.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn micros(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e6
}

/// About 100 bytes, different each round: a transaction skips a file whose content is unchanged.
fn content(round: usize, file: usize) -> Vec<u8> {
    format!("round {round:08} file {file:02} {}\n", "x".repeat(76)).into_bytes()
}

/// The floor: N × (create a temporary file, write, fsync, rename, fsync the directory), with the
/// directories kept open, as `floor.rs` keeps its own.
struct Floor {
    dirs: Vec<(PathBuf, File)>,
    serial: u64,
}

impl Floor {
    fn open(paths: &[PathBuf]) -> io::Result<Floor> {
        let mut dirs: Vec<(PathBuf, File)> = Vec::new();
        for path in paths {
            let dir = path.parent().expect("a file in a directory");
            if !dirs.iter().any(|(known, _)| known == dir) {
                dirs.push((dir.to_path_buf(), File::open(dir)?));
            }
        }
        Ok(Floor { dirs, serial: 0 })
    }

    fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.serial += 1;
        let temp = format!("{}.floor-{}-{}", path.display(), std::process::id(), self.serial);
        let mut file = File::options().write(true).create_new(true).mode(0o644).open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        let dir = path.parent().expect("a file in a directory");
        let (_, handle) = self.dirs.iter().find(|(known, _)| known == dir).expect("opened above");
        handle.sync_all()
    }
}

/// One layout's rounds: µs per transaction (N files), per contestant, each round's four side
/// by side.
struct Measured {
    files: usize,
    dirs: usize,
    rounds: Vec<[f64; 4]>,
}

impl Measured {
    /// The median µs of one contestant.
    fn micros(&self, contestant: usize) -> f64 {
        median(self.rounds.iter().map(|round| round[contestant]).collect())
    }

    /// The median over rounds of the transaction's time over another contestant's in the same
    /// round: the disk's latency drifts (other builders' flushes), and a round's four run within
    /// milliseconds of each other.
    fn ratio(&self, contestant: usize) -> f64 {
        median(self.rounds.iter().map(|round| round[TX] / round[contestant]).collect())
    }
}

/// A plan of one `write` op per (file, content).
fn write_plan(writes: impl IntoIterator<Item = (PathBuf, Vec<u8>)>) -> Plan {
    Plan {
        ops: writes
            .into_iter()
            .map(|(path, content)| Op { kind: OpKind::Write { path, content }, if_version: None })
            .collect(),
    }
}

/// `rounds` interleaved rounds of each contestant writing `files` files over `dirs` directories.
fn measure(root: &Path, files: usize, dirs: usize, rounds: usize) -> io::Result<Vec<[f64; 4]>> {
    std::fs::create_dir_all(root.join(".stet"))?;
    let paths: Vec<PathBuf> = (0..files)
        .map(|file| root.join(format!("dir{}", file % dirs)).join(format!("f{file}.txt")))
        .collect();
    for path in &paths {
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
        std::fs::write(path, content(0, 0))?;
    }
    let project = Project::open(root).map_err(io::Error::other)?;
    let writer = Writer::new();
    let mut floor = Floor::open(&paths)?;
    let mut samples: Vec<[f64; 4]> = Vec::with_capacity(rounds);
    // The first rounds warm the caches and make `.stet/tx`; they are not counted.
    let warmup = 5;
    for round in 1..=rounds + warmup {
        let contents: Vec<Vec<u8>> = (0..files).map(|file| content(round, file)).collect();
        let mut timings = [0.0; 4];
        let started = Instant::now();
        for (path, bytes) in paths.iter().zip(&contents) {
            floor.write(path, bytes)?;
        }
        timings[FLOOR] = micros(started);
        let started = Instant::now();
        for (path, bytes) in paths.iter().zip(&contents) {
            writer.write(path, bytes).map_err(io::Error::other)?;
        }
        timings[ATOMIC] = micros(started);
        let started = Instant::now();
        for (path, bytes) in paths.iter().zip(&contents) {
            project.write(path, bytes, WriteOptions::default()).map_err(io::Error::other)?;
        }
        timings[LOCKED] = micros(started);
        // The plan is built outside the timing, as a caller would have it ready; its content
        // differs from what the locked writes left, so every file is replaced.
        let plan = write_plan(
            paths
                .iter()
                .zip(&contents)
                .map(|(path, bytes)| (path.clone(), [bytes.as_slice(), b"tx\n"].concat())),
        );
        let started = Instant::now();
        project.tx(&plan).map_err(io::Error::other)?;
        timings[TX] = micros(started);
        if round > warmup {
            samples.push(timings);
        }
    }
    let of = |contestant: usize| median(samples.iter().map(|round| round[contestant]).collect());
    eprintln!(
        "tx, {files} file(s) in {dirs} dir(s): floor {:.0} µs, atomic {:.0} µs, locked {:.0} µs, tx {:.0} µs",
        of(FLOOR),
        of(ATOMIC),
        of(LOCKED),
        of(TX),
    );
    Ok(samples)
}

/// The transaction table and the recovery check.
pub(crate) fn run(dir: &Path, runs: usize, quick: bool) -> io::Result<String> {
    let rounds = if quick { 40 } else { 200 };
    let mut measured: Vec<Measured> =
        LAYOUTS.iter().map(|&(files, dirs)| Measured { files, dirs, rounds: Vec::new() }).collect();
    for run in 0..runs {
        for layout in &mut measured {
            let root = dir.join(format!("tx-{run}-{}-{}", layout.files, layout.dirs));
            layout.rounds.extend(measure(&root, layout.files, layout.dirs, rounds)?);
            std::fs::remove_dir_all(&root)?;
        }
    }
    let mut out = render(&measured, rounds, runs);
    out.push_str(&recovery_check(dir, if quick { 2_000 } else { 20_000 })?);
    Ok(out)
}

fn render(measured: &[Measured], rounds: usize, runs: usize) -> String {
    let mut out = format!(
        "Durable transaction of `write` ops on N files of 100 bytes (`Project::tx`), beside N sequential \
         durable writes of the same files; µs per transaction (all N files), the median of {runs} \
         run(s) × {rounds} interleaved rounds; each ratio is the median of the rounds' own ratios.\n\n"
    );
    let _ = writeln!(
        out,
        "| files | floor: N × (temp, write, fsync, rename, fsync dir) µs | N × `stet::atomic::write` µs | N × `Project::write` (locked) µs | `Project::tx` µs | tx / N atomic writes | tx / N locked writes | tx / floor | tx files/s | target |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in measured {
        let [floor, atomic, locked, tx] =
            [FLOOR, ATOMIC, LOCKED, TX].map(|contestant| row.micros(contestant));
        let ratio = row.ratio(ATOMIC);
        // The targets: one file at most twice one atomic write, ten files faster than ten.
        let target = match row.files {
            1 => format!("≤ 2.00: {}", if ratio <= 2.0 { "met" } else { "missed" }),
            10 => format!("< 1.00: {}", if ratio < 1.0 { "met" } else { "missed" }),
            _ => "-".to_owned(),
        };
        let spread =
            if row.dirs == 1 { "one directory".to_owned() } else { format!("{} directories", row.dirs) };
        let _ = writeln!(
            out,
            "| {}, {spread} | {floor:.0} | {atomic:.0} | {locked:.0} | {tx:.0} | {ratio:.2} | {:.2} | {:.2} | {:.0} | {target} |",
            row.files,
            row.ratio(LOCKED),
            row.ratio(FLOOR),
            row.files as f64 / tx * 1e6,
        );
    }
    out.push('\n');
    out
}

/// Median µs of `once`, `count` times.
fn median_micros(count: usize, mut once: impl FnMut() -> io::Result<()>) -> io::Result<f64> {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        once()?;
        samples.push(micros(started));
    }
    Ok(median(samples))
}

/// The check with nothing to recover, in a root that never ran a transaction (no `.stet/tx`)
/// and in one that did (`.stet/tx` stays, empty): what every lock asks after it is taken
/// (`Settle::covers`, a command's first lock), what readers ask (`Interrupted::pending`), and the
/// explicit `Project::recover_interrupted`.
fn recovery_check(dir: &Path, count: usize) -> io::Result<String> {
    let mut out =
        format!("The recovery check with nothing to recover (median of {count}; target ≤ 5 µs):\n\n");
    for ran_one in [false, true] {
        let root = dir.join(format!("tx-check-{ran_one}"));
        std::fs::create_dir_all(root.join(".stet"))?;
        let target = root.join("f.txt");
        std::fs::write(&target, "0\n")?;
        let project = Project::open(&root).map_err(io::Error::other)?;
        if ran_one {
            // Two files: a one-file plan needs no journal, and would not make `.stet/tx`.
            let files = [(target.clone(), b"1\n".to_vec()), (root.join("g.txt"), b"1\n".to_vec())];
            project.tx(&write_plan(files)).map_err(io::Error::other)?;
            assert!(root.join(".stet/tx").is_dir(), "the transaction made the journal directory");
        }
        let state = if ran_one {
            "after a transaction (`.stet/tx` empty)"
        } else {
            "no transaction ever (no `.stet/tx`)"
        };
        let interrupted: Arc<Interrupted> = Interrupted::new(&root, Writer::new());
        let covers = median_micros(count, || {
            let covered = interrupted.covers(&[target.as_path()], true).map_err(io::Error::other)?;
            assert!(!covered, "nothing is pending");
            Ok(())
        })?;
        let pending = median_micros(count, || {
            assert!(!interrupted.pending(), "nothing is pending");
            Ok(())
        })?;
        let explicit = median_micros(count, || {
            let recovered = project.recover_interrupted().map_err(io::Error::other)?;
            assert!(recovered.transactions.is_empty(), "nothing is recovered");
            Ok(())
        })?;
        let _ = writeln!(
            out,
            "- {state}: the check a lock makes (`Settle::covers`) {covers:.1} µs; a reader's (`Interrupted::pending`) {pending:.1} µs; `Project::recover_interrupted` {explicit:.1} µs"
        );
        std::fs::remove_dir_all(&root)?;
    }
    out.push('\n');
    Ok(out)
}

/// `worker tx|tx-atomic FILE N`, for profiling one case alone (`strace -c -f`, `perf record`): N
/// one-file durable transactions on FILE (its directory is the root; journal-free since a
/// one-file plan needs none), or N durable atomic writes.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    let root = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(root.join(".stet"))?;
    let project = Project::open(root).map_err(io::Error::other)?;
    let writer = Writer::new();
    let started = Instant::now();
    for round in 0..ops {
        let bytes = content(round, 0);
        match kind {
            "tx" => {
                project.tx(&write_plan([(path.to_path_buf(), bytes)])).map_err(io::Error::other)?;
            }
            "tx-atomic" => drop(writer.write(path, &bytes).map_err(io::Error::other)?),
            other => return Err(io::Error::other(format!("unknown worker kind {other}"))),
        }
    }
    crate::floor::print_stats(ops, started.elapsed(), &[]);
    Ok(())
}
