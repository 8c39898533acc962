//! The batch table: the durable 1.5 KB frontmatter edit through `stet batch` (one process kept
//! open, requests over a pipe) from a Rust driver and from Node, beside the in-process library and
//! the Node stack it replaces; and what a round trip over the pipe costs.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stet::Project;
use stet::doc::Format;
use stet::lock::Wait;

use crate::doc::{STORY, counter};
use crate::harness::{CommandFor, Contestant, Shape, Suite, Tools, invoke};
use crate::report::Row;

const LIBRARY: &str = "stet library, in process (`stet::Project::set`)";
const RUST_PIPE: &str = "stet batch, Rust driver (one `stet batch`, pipe kept open)";
const NODE_PIPE: &str = "stet batch, Node driver (`child_process` pipe kept open)";
const NODE_STACK: &str = "Node: proper-lockfile + gray-matter + write-file-atomic";

/// A `stet batch` process and its pipes, as a Go or Rust client holds it.
struct Batch {
    child: Child,
    requests: io::BufWriter<ChildStdin>,
    responses: BufReader<ChildStdout>,
    line: String,
}

impl Batch {
    fn start(stet: &Path) -> io::Result<Batch> {
        let mut child = Command::new(stet)
            .args(["batch", "--timeout", "inf"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let requests = io::BufWriter::new(child.stdin.take().expect("stdin is piped"));
        let responses = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(Batch { child, requests, responses, line: String::new() })
    }

    /// Sends one request and waits for its response.
    fn call(&mut self, request: &Value) -> io::Result<Value> {
        serde_json::to_writer(&mut self.requests, request)?;
        self.requests.write_all(b"\n")?;
        self.requests.flush()?;
        self.line.clear();
        if self.responses.read_line(&mut self.line)? == 0 {
            return Err(io::Error::other("stet batch ended early"));
        }
        let response: Value = serde_json::from_str(&self.line)?;
        if response["ok"] != true {
            return Err(io::Error::other(format!("stet batch refused {request}: {response}")));
        }
        Ok(response)
    }

    fn finish(mut self) -> io::Result<()> {
        drop(self.requests);
        let status = self.child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("stet batch exited with {status}")));
        }
        Ok(())
    }
}

fn stet_beside_me() -> io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name("stet"))
}

/// `worker batch-lib|batch-pipe FILE N`: N durable edits setting `counter` to the next number,
/// in process through `stet::Project`, or through one `stet batch` over a pipe.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    let start = counter(&std::fs::read_to_string(path)?).unwrap_or(0);
    let started = Instant::now();
    match kind {
        "batch-lib" => {
            let cwd = std::env::current_dir()?;
            let project = stet::Options::new()
                .lock_wait(Some(Wait::Forever))
                .discover(&cwd)
                .map_err(io::Error::other)?;
            for n in 1..=ops as u64 {
                project
                    .set(
                        path,
                        &[("counter".to_owned(), Value::from(start + n))],
                        stet::project::EditOptions { format: Some(Format::Markdown), ..Default::default() },
                    )
                    .map_err(io::Error::other)?;
            }
        }
        "batch-pipe" => {
            let mut batch = Batch::start(&stet_beside_me()?)?;
            let path = path.to_string_lossy();
            for n in 1..=ops as u64 {
                batch.call(&json!({"op": "set", "path": path, "values": {"counter": start + n}}))?;
            }
            batch.finish()?;
        }
        other => return Err(io::Error::other(format!("unknown worker kind {other}"))),
    }
    crate::floor::print_stats(ops, started.elapsed(), &[]);
    Ok(())
}

fn contestants(tools: &Tools, scale: usize) -> Vec<Contestant> {
    let bench = tools.bench.as_path();
    let worker = |kind: &str| invoke(bench, &[OsStr::new("worker"), OsStr::new(kind)], true, &[]);
    let node = |script: &str, with_stet: bool| -> CommandFor {
        let script = tools.scripts.join(script);
        let (modules, stet) = (tools.node_modules.clone(), tools.stet.clone());
        let inner = invoke(Path::new("node"), &[script.as_os_str()], true, &[]);
        Box::new(move |file, ops| {
            let mut command = inner(file, ops);
            command.env("NODE_PATH", &modules);
            if with_stet {
                command.env("STET_BIN", &stet);
            }
            command
        })
    };
    let looped = |name, ops: [usize; 2], command, increments| Contestant {
        name,
        shape: Shape::Loop,
        ops: ops.map(|n| (n / scale).max(4)),
        command,
        increments,
    };
    vec![
        looped(
            "floor: bare syscalls (flock, read, replace the digits, temp, fsync, rename, fsync dir)",
            [2000, 500],
            worker("doc-floor"),
            true,
        ),
        looped("stet library (`stet::doc::edit_value`, increment)", [2000, 500], worker("doc-lib"), true),
        // The set-based contestants set the next number: with 4 processes they overwrite each
        // other's counts by design, so lost updates are not counted for them.
        looped(LIBRARY, [2000, 500], worker("batch-lib"), false),
        looped(RUST_PIPE, [2000, 500], worker("batch-pipe"), false),
        looped(NODE_PIPE, [2000, 500], node("node-batch-worker.js", true), false),
        looped(NODE_STACK, [600, 150], node("node-doc-worker.js", false), true),
    ]
}

/// The batch suite and its summary: ratios to the library and to the Node stack, and the cost of a
/// `get` round trip.
pub(crate) fn run(tools: &Tools, dir: &Path, runs: usize, scale: usize) -> io::Result<String> {
    let suite = Suite {
        title: "Locked, durable frontmatter edit of the 1.5 KB story through `stet batch` (set `counter`)"
            .into(),
        extension: "md",
        initial: STORY.into(),
        count: counter,
        contestants: contestants(tools, scale),
    };
    let rows = crate::harness::run_suite(&suite, runs, dir)?;
    let mut out = crate::report::render(&suite.title, &rows, runs);
    let median = |name: &str, slot: usize| -> f64 {
        let row: &Row = rows.iter().find(|row| row.name == name).expect("the contestant ran");
        let mut rates: Vec<f64> = row.samples[slot].iter().map(|sample| sample.ops_per_second).collect();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let _ = writeln!(
        out,
        "| through `stet batch` | x library, 1 process | x library, 4 | x Node stack, 1 process | x Node stack, 4 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for name in [RUST_PIPE, NODE_PIPE] {
        let _ = writeln!(
            out,
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            median(name, 0) / median(LIBRARY, 0),
            median(name, 1) / median(LIBRARY, 1),
            median(name, 0) / median(NODE_STACK, 0),
            median(name, 1) / median(NODE_STACK, 1),
        );
    }
    out.push('\n');
    out.push_str(&round_trips(tools, dir, if scale > 1 { 2000 } else { 10_000 })?);
    Ok(out)
}

/// Median µs of a `get` of one key: in process, through `stet batch` from Rust, from Node.
fn round_trips(tools: &Tools, dir: &Path, count: usize) -> io::Result<String> {
    let file = dir.join("round-trip.md");
    std::fs::write(&file, STORY)?;
    let project = Project::discover(dir).map_err(io::Error::other)?;
    let library = median_micros(count, || {
        project.get(&file, Some("counter"), None).map(drop).map_err(io::Error::other)
    })?;
    let mut batch = Batch::start(&tools.stet)?;
    let request = json!({"op": "get", "path": file, "key": "counter"});
    let piped = median_micros(count, || batch.call(&request).map(drop))?;
    batch.finish()?;
    let floor = echo_round_trip(&request, count)?;
    let output = Command::new("node")
        .arg(tools.scripts.join("node-batch-worker.js"))
        .arg(&file)
        .args(["--get", &count.to_string()])
        .env("NODE_PATH", &tools.node_modules)
        .env("STET_BIN", &tools.stet)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other("the Node batch driver failed"));
    }
    let node: Value = serde_json::from_slice(&output.stdout).map_err(io::Error::other)?;
    let node = node["median_us"].as_f64().unwrap_or(f64::NAN);
    let mut out = format!("A `get` of one key of the 1.5 KB story (median of {count}):\n\n");
    let _ = writeln!(out, "- in process (`stet::Project::get`): {library:.1} µs");
    let _ = writeln!(
        out,
        "- through `stet batch`, Rust driver: {piped:.1} µs, of which the round trip over the pipe is {:.1} µs",
        piped - library
    );
    let _ = writeln!(
        out,
        "- through `stet batch`, Node driver: {node:.1} µs, of which the round trip is {:.1} µs",
        node - library
    );
    let _ = writeln!(
        out,
        "- the floor: the same request line echoed back by `cat` over the same pipes: {floor:.1} µs (the \
         operating system's cost of a round trip between two processes here)"
    );
    out.push('\n');
    Ok(out)
}

/// Median µs of writing `request` as one line to a `cat` process and reading it back: the pipe
/// round trip between two processes, with no work on the other side.
fn echo_round_trip(request: &Value, count: usize) -> io::Result<f64> {
    let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let mut requests = io::BufWriter::new(child.stdin.take().expect("stdin is piped"));
    let mut responses = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let text = request.to_string();
    let mut line = String::new();
    let floor = median_micros(count, || {
        requests.write_all(text.as_bytes())?;
        requests.write_all(b"\n")?;
        requests.flush()?;
        line.clear();
        if responses.read_line(&mut line)? == 0 {
            return Err(io::Error::other("cat ended early"));
        }
        Ok(())
    })?;
    drop(requests);
    child.wait()?;
    Ok(floor)
}

fn median_micros(count: usize, mut once: impl FnMut() -> io::Result<()>) -> io::Result<f64> {
    let mut samples: Vec<Duration> = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        once()?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples[samples.len() / 2].as_secs_f64() * 1e6)
}
