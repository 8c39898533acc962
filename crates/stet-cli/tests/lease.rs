//! Leases across real processes: racing acquirers, killed holders, expiry and takeover, `lease
//! run` renewing, and every writing command refusing another owner's lease.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{json_error, require_root, run, run_with_input, scratch, stderr, stet};

/// A root (it holds `.stet/`) with `docs/a.md`, `docs/b.md` and `other/z.md`.
fn project() -> tempfile::TempDir {
    let dir = scratch();
    for sub in [".stet", "docs", "other"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    for file in ["docs/a.md", "docs/b.md", "other/z.md"] {
        std::fs::write(dir.path().join(file), "---\nstatus: todo\n---\nbody\n").unwrap();
    }
    dir
}

fn lease(dir: &Path, owner: &str, args: &[&str]) -> Output {
    run(stet(dir).args(["--owner", owner, "lease"]).args(args))
}

fn status(dir: &Path) -> Vec<Value> {
    let output = run(stet(dir).args(["--json", "lease", "status"]));
    assert!(output.status.success(), "status: {}", stderr(&output));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    value["leases"].as_array().unwrap().clone()
}

/// (path, owner) of every live lease.
fn live(dir: &Path) -> Vec<(String, String)> {
    status(dir)
        .iter()
        .filter(|lease| lease["expired"] == false)
        .map(|lease| {
            (lease["path"].as_str().unwrap().to_owned(), lease["owner"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// What racer `n` asks for: all of them overlap `docs/a.md`, named in different ways.
fn claim(dir: &Path, n: usize) -> Command {
    let owner = format!("agent-{n}");
    let mut command = stet(dir);
    command.args(["--owner", &owner, "lease", "acquire", "--ttl", "60s"]);
    match n % 6 {
        0 => command.arg("docs/a.md"),
        1 => command.arg("docs"),
        2 => command.args(["docs/b.md", "docs/a.md"]),
        3 => command.arg("."),
        4 => command.arg(dir.join("docs/./a.md")),
        _ => command.current_dir(dir.join("docs")).args(["--root", dir.to_str().unwrap(), "a.md"]),
    };
    command
}

#[test]
fn sixteen_processes_racing_for_overlapping_paths_have_exactly_one_winner_each_round() {
    let dir = project();
    for round in 0..150 {
        let children: Vec<(usize, Child)> = (0..16)
            .map(|n| {
                let n = (n + round) % 16;
                (n, claim(dir.path(), n).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
            })
            .collect();
        let mut winners = Vec::new();
        for (n, child) in children {
            let output = child.wait_with_output().unwrap();
            match output.status.code() {
                Some(0) => winners.push(n),
                Some(3) => {}
                other => panic!("round {round}: racer {n} exited {other:?}: {}", stderr(&output)),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = format!("agent-{}", winners[0]);
        // All or none: only the winner holds anything.
        let held = live(dir.path());
        assert!(
            !held.is_empty() && held.iter().all(|(_, owner)| *owner == winner),
            "round {round}: {held:?}"
        );
        let output = lease(dir.path(), &winner, &["cleanup"]);
        assert!(output.status.success(), "cleanup: {}", stderr(&output));
        assert!(live(dir.path()).is_empty());
    }
}

#[test]
fn with_wait_every_racer_gets_the_lease_one_at_a_time() {
    let dir = project();
    // Inside the lease, each racer makes a directory that must not exist: two holders at once
    // would fail one mkdir.
    let script = "mkdir inside || exit 9; sleep 0.05; rmdir inside";
    let children: Vec<Child> = (0..16)
        .map(|n| {
            let owner = format!("agent-{n}");
            let path = if n % 2 == 0 { "docs" } else { "docs/a.md" };
            stet(dir.path())
                .args(["--owner", &owner, "lease", "run", path, "--wait", "60s", "--", "sh", "-c", script])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a racer failed ({:?}): {}", output.status, stderr(&output));
    }
    assert!(live(dir.path()).is_empty(), "every lease was released");
}

/// `stet lease run` holding `docs` for `owner` around `sleep SECONDS`.
fn holder(dir: &Path, owner: &str, ttl: &str, seconds: &str) -> Child {
    let child = stet(dir)
        .args(["--owner", owner, "lease", "run", "docs", "--ttl", ttl, "--", "sleep", seconds])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live(dir).is_empty() {
        assert!(Instant::now() < deadline, "the holder never took the lease");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
fn a_killed_holder_loses_its_lease_after_the_ttl_and_one_of_two_takers_wins() {
    let dir = project();
    for round in 0..3 {
        let mut child = holder(dir.path(), "holder", "1s", "30");
        let refused = lease(dir.path(), "taker-0", &["acquire", "docs/a.md"]);
        assert_eq!(
            refused.status.code(),
            Some(3),
            "round {round}: the live lease refuses: {}",
            stderr(&refused)
        );
        assert_eq!(
            json_error(&run(stet(dir.path()).args(["--json", "--owner", "x", "lease", "acquire", "docs"])))["code"],
            "ELEASED"
        );
        child.kill().unwrap(); // SIGKILL: no release, no renewal
        child.wait().unwrap();
        let _ = Command::new("pkill").args(["-f", "sleep 30"]).status();
        std::thread::sleep(Duration::from_millis(1100));
        let takers: Vec<Child> = (0..2)
            .map(|n| {
                stet(dir.path())
                    .args(["--owner", &format!("taker-{n}"), "lease", "acquire", "docs", "--ttl", "60s"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let won: Vec<bool> =
            takers.into_iter().map(|child| child.wait_with_output().unwrap().status.success()).collect();
        assert_eq!(
            won.iter().filter(|won| **won).count(),
            1,
            "round {round}: exactly one taker wins: {won:?}"
        );
        let held = live(dir.path());
        assert_eq!(held.len(), 1, "round {round}: {held:?}");
        let output = lease(dir.path(), &held[0].1, &["release", "docs"]);
        assert!(output.status.success());
    }
}

#[test]
fn lease_run_keeps_renewing_while_its_command_outlives_several_ttls_and_releases_at_the_end() {
    let dir = project();
    let mut child = holder(dir.path(), "runner", "600ms", "2.5");
    let started = Instant::now();
    let mut tries = 0;
    while child.try_wait().unwrap().is_none() {
        let output = lease(dir.path(), "intruder", &["acquire", "docs/b.md"]);
        if child.try_wait().unwrap().is_some() {
            // The command ended around this attempt, which may have found the lease released:
            // give it back, so that what follows sees the runner's release alone.
            if output.status.success() {
                assert!(lease(dir.path(), "intruder", &["release", "docs/b.md"]).status.success());
            }
            break;
        }
        assert_eq!(
            output.status.code(),
            Some(3),
            "after {:?}, the lease was free: {}",
            started.elapsed(),
            stderr(&output)
        );
        tries += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(child.wait().unwrap().success());
    assert!(started.elapsed() > Duration::from_secs(2) && tries > 5, "the command outlived several TTLs");
    assert!(live(dir.path()).is_empty(), "released when the command ended");
    let output = lease(dir.path(), "intruder", &["acquire", "docs/b.md"]);
    assert!(output.status.success(), "free after the run: {}", stderr(&output));
}

#[test]
fn lease_run_releases_when_its_command_fails_and_exits_with_its_status() {
    let dir = project();
    let output = lease(dir.path(), "runner", &["run", "docs", "--", "sh", "-c", "exit 7"]);
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert!(live(dir.path()).is_empty());
}

/// Every command that changes a file, with its arguments (on files under `docs/`) and input.
fn writers() -> Vec<(&'static str, Vec<String>, Option<&'static str>)> {
    let strings = |args: &[&str]| args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
    vec![
        ("write", strings(&["write", "docs/a.md"]), Some("new content\n")),
        ("update", strings(&["update", "docs/a.md", "--", "cat"]), None),
        ("set", strings(&["set", "docs/a.md", "status=done"]), None),
        ("unset", strings(&["unset", "docs/a.md", "status"]), None),
        ("push", strings(&["push", "docs/a.md", "labels=x"]), None),
        ("merge", strings(&["merge", "docs/a.md"]), Some("{\"priority\": 1}\n")),
        ("new", strings(&["new", "docs", "--slug", "story"]), None),
        ("log append", strings(&["log", "append", "docs/events.ndjson", "{\"id\":\"e1\"}"]), None),
        ("log repair", strings(&["log", "repair", "docs/events.ndjson"]), None),
    ]
}

fn attempt(dir: &Path, owner: Option<&str>, extra: &[&str], args: &[String], input: Option<&str>) -> Output {
    let mut command = stet(dir);
    if let Some(owner) = owner {
        command.args(["--owner", owner]);
    }
    command.args(extra).args(args);
    run_with_input(&mut command, input.unwrap_or("").as_bytes())
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in walk(&dir.join("docs")) {
        files.push((entry.display().to_string(), std::fs::read(&entry).unwrap_or_default()));
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn every_writing_command_refuses_another_owners_lease_and_lets_the_owner_write() {
    let dir = project();
    std::fs::write(dir.path().join("docs/events.ndjson"), "{\"id\":\"e0\"}\n").unwrap();
    let output = lease(dir.path(), "alice", &["acquire", "docs", "--ttl", "10m"]);
    assert!(output.status.success(), "{}", stderr(&output));
    for (name, args, input) in writers() {
        for intruder in [Some("bob"), None] {
            let before = snapshot(dir.path());
            let output = attempt(dir.path(), intruder, &["--json"], &args, input);
            assert_eq!(output.status.code(), Some(3), "{name} as {intruder:?}: {}", stderr(&output));
            let error = json_error(&output);
            assert_eq!(error["code"], "ELEASED", "{name}");
            assert_eq!(error["holder"]["owner"], "alice", "{name}: the holder is named");
            assert_eq!(snapshot(dir.path()), before, "{name}: nothing changed");
        }
        let output = attempt(dir.path(), Some("alice"), &[], &args, input);
        assert!(output.status.success(), "{name} as the owner: {}", stderr(&output));
        let output = attempt(dir.path(), Some("bob"), &["--ignore-leases"], &args, input);
        assert!(output.status.success(), "{name} with --ignore-leases: {}", stderr(&output));
    }
    // A file outside the lease is free; so is everything once the lease has gone.
    let output = run_with_input(stet(dir.path()).args(["--owner", "bob", "write", "other/z.md"]), b"x\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(lease(dir.path(), "alice", &["release", "docs"]).status.success());
    let output = run_with_input(stet(dir.path()).args(["--owner", "bob", "write", "docs/a.md"]), b"x\n");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn cleanup_owner_releases_exactly_that_owners_leases_and_cleanup_expired_only_expired_ones() {
    let dir = project();
    assert!(lease(dir.path(), "alice", &["acquire", "docs/a.md", "docs/b.md"]).status.success());
    assert!(lease(dir.path(), "bob", &["acquire", "other"]).status.success());
    assert!(lease(dir.path(), "carol", &["acquire", "other/../.stet", "--ttl", "200ms"]).status.success());
    let output = lease(dir.path(), "alice", &["--json", "cleanup"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let released: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(released["released"].as_array().unwrap().len(), 2);
    let mut held = live(dir.path());
    held.sort();
    assert_eq!(held, [(".stet".to_owned(), "carol".to_owned()), ("other".to_owned(), "bob".to_owned())]);
    std::thread::sleep(Duration::from_millis(250));
    let output = run(stet(dir.path()).args(["lease", "cleanup", "--expired"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let all: Vec<String> =
        status(dir.path()).iter().map(|lease| lease["owner"].as_str().unwrap().to_owned()).collect();
    assert_eq!(all, ["bob"], "only the expired lease went");
}

#[test]
fn release_refuses_another_owners_lease_renew_extends_and_status_matches_the_contract() {
    let dir = project();
    let output = lease(dir.path(), "alice", &["--json", "acquire", "docs/a.md", "--ttl", "5s"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let refused = lease(dir.path(), "bob", &["--json", "release", "docs/a.md"]);
    assert_eq!(refused.status.code(), Some(3));
    assert_eq!(json_error(&refused)["code"], "ELEASED");
    assert!(
        lease(dir.path(), "bob", &["release", "docs/b.md"]).status.success(),
        "releasing what is not held"
    );

    let before = status(dir.path())[0].clone();
    for key in ["path", "owner", "acquired_at", "expires_at", "expired", "pid", "host"] {
        assert!(before.get(key).is_some(), "status has {key}: {before}");
    }
    assert_eq!(before["path"], "docs/a.md");
    std::thread::sleep(Duration::from_millis(20));
    assert!(lease(dir.path(), "alice", &["renew", "docs/a.md", "--ttl", "1h"]).status.success());
    let after = status(dir.path())[0].clone();
    assert_eq!(after["acquired_at"], before["acquired_at"], "a renewal keeps the acquisition time");
    let parse = |value: &Value| humantime::parse_rfc3339(value.as_str().unwrap()).unwrap();
    assert!(parse(&after["expires_at"]) > parse(&before["expires_at"]) + Duration::from_secs(3000));
    // The same owner acquiring again renews too.
    assert!(lease(dir.path(), "alice", &["acquire", "docs/a.md", "--ttl", "2h"]).status.success());

    let not_held = lease(dir.path(), "bob", &["--json", "renew", "docs/b.md"]);
    assert_eq!(not_held.status.code(), Some(1), "{}", stderr(&not_held));
    let no_owner = run(stet(dir.path()).args(["lease", "acquire", "docs/b.md"]));
    assert_eq!(no_owner.status.code(), Some(2), "{}", stderr(&no_owner));
    let outside = lease(dir.path(), "bob", &["acquire", "/etc/passwd"]);
    assert_eq!(outside.status.code(), Some(2), "{}", stderr(&outside));
    assert!(stderr(&outside).contains("outside the root"), "{}", stderr(&outside));
}

#[test]
fn a_corrupt_or_newer_record_is_reported_and_never_taken_as_free() {
    let dir = project();
    assert!(lease(dir.path(), "alice", &["acquire", "docs/a.md"]).status.success());
    let record = dir.path().join(".stet/leases/_docs/_a.md/lease.json");
    for (bytes, says) in [
        (b"{\"format\":1,\"path\":\"docs/a.md\",\"own".to_vec(), "corrupt"),
        (b"{\"format\":7,\"whatever\":true}\n".to_vec(), "newer"),
    ] {
        std::fs::write(&record, &bytes).unwrap();
        for args in [&["acquire", "docs/a.md"][..], &["acquire", "docs"], &["status"]] {
            let output = lease(dir.path(), "bob", &[&["--json"][..], args].concat());
            assert_eq!(output.status.code(), Some(65), "{args:?}: {}", stderr(&output));
            assert!(stderr(&output).contains(says), "{args:?}: {}", stderr(&output));
        }
        let output = run_with_input(stet(dir.path()).args(["--owner", "bob", "write", "docs/a.md"]), b"x\n");
        assert_eq!(output.status.code(), Some(65), "a write under a corrupt record: {}", stderr(&output));
        assert_eq!(std::fs::read(&record).unwrap(), bytes, "the record is left for a person to inspect");
    }
}

#[test]
fn a_root_that_cannot_be_written_gives_a_clear_error() {
    if !require_root("the read-only root test (mount)") {
        return;
    }
    let dir = scratch();
    let root = dir.path().join("ro");
    std::fs::create_dir(&root).unwrap();
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "ro", "tmpfs"]).arg(&root).status().unwrap();
    assert!(mounted.success());
    let output = run(stet(&root).args([
        "--root",
        root.to_str().unwrap(),
        "--owner",
        "a",
        "--json",
        "lease",
        "acquire",
        ".",
    ]));
    let _ = Command::new("umount").arg(&root).status();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = json_error(&output);
    assert!(error["message"].as_str().unwrap().contains(".stet"), "{error}");
}
