//! Runs every contestant with 1 and 4 processes on a fresh counter and collects samples.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stet::lock::{Locker, Protocol};

use crate::doc_suite::{doc_suites, formatting};
use crate::report::{self, Row, Sample};

/// How a contestant runs: one long-lived process doing N operations, or a process per operation.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    Loop,
    ProcessPerOp,
}

/// Builds the command for one process, given the counter file and the operations it does.
pub(crate) type CommandFor = Box<dyn Fn(&Path, usize) -> Command + Sync>;

pub(crate) struct Contestant {
    pub name: &'static str,
    pub shape: Shape,
    /// Operations per process with 1 process and with 4.
    pub ops: [usize; 2],
    pub command: CommandFor,
    /// Whether its operations are increments, so that lost updates can be counted.
    pub increments: bool,
}

/// One table: contestants doing the same operation on the same starting file.
pub(crate) struct Suite {
    pub title: String,
    /// The file's extension and starting content.
    pub extension: &'static str,
    pub initial: String,
    /// The counter in the file's content.
    pub count: fn(&str) -> Option<u64>,
    pub contestants: Vec<Contestant>,
}

pub(crate) struct Tools {
    pub bench: PathBuf,
    pub stet: PathBuf,
    pub node_modules: PathBuf,
    pub scripts: PathBuf,
}

impl Tools {
    fn find() -> io::Result<Tools> {
        let bench = std::env::current_exe()?;
        let stet = bench.with_file_name("stet");
        if !stet.exists() {
            return Err(io::Error::other(
                "build stet first: cargo build --release -p stet-cli -p stet-bench",
            ));
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let node_modules = repo.join("tests/interop/node_modules");
        if !node_modules.join("proper-lockfile").is_dir() {
            return Err(io::Error::other(
                "install the peers first: (cd tests/interop && npm ci) and pip install -r tests/interop/requirements.txt",
            ));
        }
        Ok(Tools { bench, stet, node_modules, scripts: repo.join("bench") })
    }
}

/// `program` with `before`, then the counter file, then the count when `with_count`, then `after`.
pub(crate) fn invoke(program: &Path, before: &[&OsStr], with_count: bool, after: &[&OsStr]) -> CommandFor {
    let program = program.to_path_buf();
    let before: Vec<OsString> = before.iter().map(|arg| arg.to_os_string()).collect();
    let after: Vec<OsString> = after.iter().map(|arg| arg.to_os_string()).collect();
    Box::new(move |file, ops| {
        let mut command = Command::new(&program);
        command.args(&before).arg(file);
        if with_count {
            command.arg(ops.to_string());
        }
        command.args(&after);
        command
    })
}

fn counter_suite(tools: &Tools, scale: usize) -> Suite {
    Suite {
        title: "Locked, durable counter increment on one file".into(),
        extension: "txt",
        initial: "0\n".into(),
        count: |text| text.trim().parse().ok(),
        contestants: counter_contestants(tools, scale),
    }
}

fn counter_contestants(tools: &Tools, scale: usize) -> Vec<Contestant> {
    let bench = tools.bench.as_path();
    let node = |script: &str| {
        let script = tools.scripts.join(script);
        let modules = tools.node_modules.clone();
        let inner = invoke(Path::new("node"), &[script.as_os_str()], script.ends_with("node-worker.js"), &[]);
        Box::new(move |file: &Path, ops| {
            let mut command = inner(file, ops);
            command.env("NODE_PATH", &modules);
            command
        }) as CommandFor
    };
    let python = tools.scripts.join("python-worker.py");
    let looped = |name, ops: [usize; 2], command| Contestant {
        name,
        shape: Shape::Loop,
        ops: ops.map(|n| n / scale),
        command,
        increments: true,
    };
    let per_op = |name, ops: [usize; 2], command| Contestant {
        name,
        shape: Shape::ProcessPerOp,
        ops,
        command,
        increments: true,
    };
    let [worker, once, incr] = [OsStr::new("worker"), OsStr::new("once"), OsStr::new("incr")];
    vec![
        looped(
            "floor: bare syscalls (flock, read, temp, fsync, rename, fsync dir)",
            [2000, 500],
            invoke(bench, &[worker, OsStr::new("floor")], true, &[]),
        ),
        looped(
            "stet library (`stet::lock` + `stet::atomic`)",
            [2000, 500],
            invoke(bench, &[worker, OsStr::new("lib")], true, &[]),
        ),
        looped(
            "stet library, lock file kept open (`stet::lock::LockFile`)",
            [2000, 500],
            invoke(bench, &[worker, OsStr::new("lib-kept")], true, &[]),
        ),
        looped("Node: proper-lockfile + write-file-atomic", [600, 150], node("node-worker.js")),
        looped(
            "Python: filelock + os.replace",
            [1200, 300],
            invoke(Path::new("python3"), &[python.as_os_str()], true, &[]),
        ),
        per_op(
            "floor, a process per operation",
            [400 / scale, 100 / scale],
            invoke(bench, &[once], false, &[]),
        ),
        per_op(
            "floor running the same helper as `stet update`, a process per operation",
            [400 / scale, 100 / scale],
            invoke(bench, &[once], false, &[bench.as_os_str(), incr]),
        ),
        per_op(
            "stet CLI per operation (`stet update F -- incr`)",
            [400 / scale, 100 / scale],
            invoke(
                &tools.stet,
                &[OsStr::new("--timeout"), OsStr::new("inf"), OsStr::new("update")],
                false,
                &[OsStr::new("--"), bench.as_os_str(), incr],
            ),
        ),
        per_op("Node, a process per operation", [16 / scale.min(4), 4], node("node-once.js")),
    ]
}

pub fn run(options: &[&str]) -> io::Result<()> {
    let quick = options.contains(&"--quick");
    let runs = options
        .iter()
        .position(|option| *option == "--runs")
        .and_then(|at| options.get(at + 1)?.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let only =
        options.iter().position(|option| *option == "--only").and_then(|at| options.get(at + 1).copied());
    let tools = Tools::find()?;
    let dir = std::env::temp_dir().join(format!("stet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scale = if quick { 4 } else { 1 };
    let mut suites = Vec::new();
    if only.is_none_or(|only| only == "counter") {
        suites.push(counter_suite(&tools, scale));
    }
    if only.is_none_or(|only| only == "doc") {
        suites.extend(doc_suites(&tools, scale));
    }
    if only.is_none_or(|only| only == "log") {
        suites.push(crate::log_suite::log_suite(&tools, scale));
    }
    let mut out = String::new();
    for suite in &suites {
        let rows = run_suite(suite, runs, &dir)?;
        out.push_str(&report::render(&suite.title, &rows, runs));
    }
    if only.is_none_or(|only| only == "counter") {
        out.push_str(&report::locks(&uncontended(&dir)?));
    }
    if only.is_none_or(|only| only == "doc") {
        out.push_str(&formatting(&tools, &dir)?);
    }
    if only.is_none_or(|only| only == "log") {
        out.push_str(&crate::log_suite::extras(&tools, &dir, quick)?);
    }
    if only.is_none_or(|only| only == "lease") {
        out.push_str(&crate::lease_suite::extras(&dir, quick)?);
    }
    if only.is_none_or(|only| only == "batch") {
        out.push_str(&crate::batch_suite::run(&tools, &dir, runs, scale)?);
    }
    if only.is_none_or(|only| only == "tx") {
        out.push_str(&crate::tx_suite::run(&dir, runs, quick)?);
    }
    std::fs::remove_dir_all(&dir)?;
    print!("{out}");
    Ok(())
}

pub(crate) fn run_suite(suite: &Suite, runs: usize, dir: &Path) -> io::Result<Vec<Row>> {
    let mut rows: Vec<Row> =
        suite.contestants.iter().map(|c| Row::new(c.name, matches!(c.shape, Shape::ProcessPerOp))).collect();
    for run in 0..runs {
        for (index, (contestant, row)) in suite.contestants.iter().zip(&mut rows).enumerate() {
            for (slot, processes) in [1usize, 4].into_iter().enumerate() {
                let file = dir.join(format!("file-{run}-{slot}-{index}.{}", suite.extension));
                std::fs::write(&file, &suite.initial)?;
                let sample = measure(contestant, &file, processes, contestant.ops[slot], suite.count)?;
                eprintln!(
                    "{}, run {run}: {} x{processes}: {:.0} ops/s, lost {:?}",
                    suite.title, contestant.name, sample.ops_per_second, sample.lost
                );
                row.samples[slot].push(sample);
            }
        }
    }
    Ok(rows)
}

fn measure(
    contestant: &Contestant,
    file: &Path,
    processes: usize,
    ops: usize,
    count: fn(&str) -> Option<u64>,
) -> io::Result<Sample> {
    let started = Instant::now();
    let (seconds, waits) = match contestant.shape {
        Shape::Loop => {
            let children = (0..processes)
                .map(|_| (contestant.command)(file, ops).stdout(Stdio::piped()).spawn())
                .collect::<io::Result<Vec<_>>>()?;
            let mut longest: f64 = 0.0;
            let mut waits = Vec::new();
            for child in children {
                let output = child.wait_with_output()?;
                if !output.status.success() {
                    return Err(io::Error::other(format!("{} failed", contestant.name)));
                }
                let stats: serde_json::Value =
                    serde_json::from_slice(&output.stdout).map_err(io::Error::other)?;
                longest = longest.max(stats["seconds"].as_f64().unwrap_or_default());
                waits.push(
                    stats["waits_us"]
                        .as_array()
                        .map(|all| all.iter().filter_map(serde_json::Value::as_f64).collect())
                        .unwrap_or_default(),
                );
            }
            (longest, waits)
        }
        Shape::ProcessPerOp => {
            std::thread::scope(|scope| {
                let threads: Vec<_> = (0..processes)
                    .map(|_| {
                        scope.spawn(|| -> io::Result<()> {
                            for _ in 0..ops {
                                let status = (contestant.command)(file, 1).stdout(Stdio::null()).status()?;
                                if !status.success() {
                                    return Err(io::Error::other(format!("{} failed", contestant.name)));
                                }
                            }
                            Ok(())
                        })
                    })
                    .collect();
                threads.into_iter().try_for_each(|thread| thread.join().expect("a runner thread panicked"))
            })?;
            (started.elapsed().as_secs_f64(), Vec::new())
        }
    };
    let total = processes * ops;
    let found = count(&std::fs::read_to_string(file)?).unwrap_or(0) as usize;
    let lost = contestant.increments.then(|| total.saturating_sub(found));
    Ok(Sample { ops_per_second: total as f64 / seconds, lost, waits })
}

/// Median microseconds of an uncontended acquire + release, for stet's protocols and bare flock.
fn uncontended(dir: &Path) -> io::Result<Vec<(&'static str, f64)>> {
    let file = dir.join("uncontended.txt");
    std::fs::write(&file, "")?;
    let time = |f: &mut dyn FnMut() -> io::Result<()>| -> io::Result<f64> {
        let mut samples = Vec::with_capacity(5000);
        for _ in 0..5000 {
            let started = Instant::now();
            f()?;
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok(samples[samples.len() / 2].as_secs_f64() * 1e6)
    };
    let flock = Locker::new();
    let mkdir = Locker::new().protocol(Protocol::Mkdir { stale: Duration::from_secs(10) });
    let bare = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("bare.lock"))?;
    let mut kept = stet::lock::LockFile::open(&flock, &file).map_err(io::Error::other)?;
    let kept_micros = time(&mut || kept.lock().map(drop).map_err(io::Error::other))?;
    drop(kept);
    Ok(vec![
        ("stet `LockFile` lock + release (lock file kept open)", kept_micros),
        (
            "stet lock + release, flock protocol (lock file created and removed)",
            time(&mut || flock.lock(&file).and_then(stet::lock::Lock::release).map_err(io::Error::other))?,
        ),
        (
            "stet lock + release, mkdir protocol",
            time(&mut || mkdir.lock(&file).and_then(stet::lock::Lock::release).map_err(io::Error::other))?,
        ),
        (
            "bare flock + unlock on an open file",
            time(&mut || {
                bare.lock()?;
                bare.unlock()
            })?,
        ),
    ])
}
