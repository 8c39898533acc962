//! Mixed peers on one counter: npm proper-lockfile with stet's mkdir protocol, Python filelock
//! with stet's flock protocol. A lost update means the protocols do not exclude each other.

use std::process::Command;

use crate::support::{INCREMENT, interop_dir, names, run, scratch, stderr, stet};

const ROUNDS: usize = 100;

/// The Node and Python workers, shared with the benchmark.
fn peers_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench")
}

fn race(dir: &std::path::Path, peer: impl Fn() -> Command + Sync, peers: usize, stets: usize) {
    std::thread::scope(|scope| {
        for _ in 0..peers {
            scope.spawn(|| {
                let output = peer().output().expect("the peer runs");
                assert!(output.status.success(), "a peer failed: {}", stderr(&output));
            });
        }
        for _ in 0..stets {
            scope.spawn(|| {
                for _ in 0..ROUNDS {
                    let output =
                        run(stet(dir).args(["--timeout", "120s", "update", "counter", "--"]).args(INCREMENT));
                    assert!(output.status.success(), "stet failed: {}", stderr(&output));
                }
            });
        }
    });
}

#[test]
fn node_proper_lockfile_and_stet_mkdir_exclude_each_other() {
    let interop = interop_dir();
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    let counter = dir.path().join("counter");
    std::fs::write(&counter, "0\n").unwrap();
    let node = || {
        let mut command = Command::new("node");
        command.env("NODE_PATH", interop.join("node_modules"));
        command.arg(peers_dir().join("node-worker.js")).arg(&counter).arg(ROUNDS.to_string());
        command
    };
    race(dir.path(), node, 2, 2);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), format!("{}\n", 4 * ROUNDS), "an update was lost");
    assert_eq!(names(dir.path()), [".stet", "counter"]);
}

#[test]
fn node_sees_a_lock_stet_holds_and_stet_sees_one_node_holds() {
    let interop = interop_dir();
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    std::fs::write(dir.path().join("f"), "").unwrap();
    let check =
        "require('proper-lockfile').check(process.argv[1]).then((locked) => process.exit(locked ? 0 : 1))";
    let script = format!("{} && node -e \"{check}\" f", "true");
    let output = run(stet(dir.path())
        .env("NODE_PATH", interop.join("node_modules"))
        .args(["lock", "f", "--", "sh", "-c", &script]));
    assert!(output.status.success(), "proper-lockfile reports stet's lock as held: {}", stderr(&output));

    let hold = "const l = require('proper-lockfile'); l.lock(process.argv[1]).then((release) => { console.log('held'); setTimeout(release, 3000); })";
    let mut node = Command::new("node")
        .env("NODE_PATH", interop.join("node_modules"))
        .args(["-e", hold, "f"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(node.stdout.as_mut().unwrap()), &mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    let output = run(stet(dir.path()).args(["--timeout", "200ms", "lock", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(75), "stet waits for proper-lockfile's lock: {}", stderr(&output));
    node.wait().unwrap();
}

#[test]
fn python_filelock_and_stet_flock_exclude_each_other() {
    let check = Command::new("python3")
        .args(["-c", "import filelock, sys; sys.exit(int(filelock.__version__.split('.')[0]) < 4)"])
        .status();
    assert!(
        check.is_ok_and(|status| status.success()),
        "Python filelock >= 4 is not installed: run scripts/test, or pip install -r tests/interop/requirements.txt"
    );
    let dir = scratch();
    let counter = dir.path().join("counter");
    std::fs::write(&counter, "0\n").unwrap();
    let python = || {
        let mut command = Command::new("python3");
        command.arg(peers_dir().join("python-worker.py")).arg(&counter).arg(ROUNDS.to_string());
        command
    };
    race(dir.path(), python, 2, 2);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), format!("{}\n", 4 * ROUNDS), "an update was lost");
}

/// Peers and stet append to one log at once: every line whole, every event once.
fn race_appends(dir: &std::path::Path, peer: impl Fn() -> Command + Sync, peer_events: usize) {
    const STET_EVENTS: usize = 100;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let output = peer().output().expect("the peer runs");
                assert!(output.status.success(), "a peer failed: {}", stderr(&output));
            });
        }
        for writer in 0..2 {
            scope.spawn(move || {
                for n in 0..STET_EVENTS {
                    let event = format!(r#"{{"id":"stet-{writer}-{n}","kind":"progress"}}"#);
                    let output =
                        run(stet(dir).args(["--timeout", "120s", "log", "append", "events.ndjson", &event]));
                    assert!(output.status.success(), "stet failed: {}", stderr(&output));
                }
            });
        }
    });
    let text = std::fs::read_to_string(dir.join("events.ndjson")).unwrap();
    let ids: Vec<String> = text
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a torn or glued line {line:?}: {err}"));
            event["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 2 * peer_events + 2 * STET_EVENTS, "every event appended");
    assert_eq!(unique.len(), ids.len(), "no event twice");
}

#[test]
fn node_and_stet_appending_to_one_log_under_the_mkdir_protocol_interleave_no_bytes() {
    let interop = interop_dir();
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    let log = dir.path().join("events.ndjson");
    std::fs::write(&log, "").unwrap();
    let node = || {
        let mut command = Command::new("node");
        command.env("NODE_PATH", interop.join("node_modules"));
        command.arg(peers_dir().join("node-log-worker.js")).arg(&log).arg("200");
        command
    };
    race_appends(dir.path(), node, 200);
}

#[test]
fn python_and_stet_appending_to_one_log_under_flock_interleave_no_bytes() {
    let dir = scratch();
    let log = dir.path().join("events.ndjson");
    let python = || {
        let mut command = Command::new("python3");
        command.arg(peers_dir().join("python-log-worker.py")).arg(&log).arg("200");
        command
    };
    race_appends(dir.path(), python, 200);
}
