//! Interrupts leave nothing: SIGTERM at any point of a command removes its temporary file,
//! staging entry and lock, and the target stays as it was or as it was to become. Commands run
//! under stet never run unprotected when stet itself is killed.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{names, run, scratch, stderr, stet};

const MKDIR: &str = "[lock]\nprotocol = \"mkdir\"\n";

/// Sends SIGTERM after `delay`; the exit code, 143 also for a stet that the signal found before it
/// could handle signals (at its very start, when it has made nothing yet).
fn sigterm_after(mut child: Child, delay: Duration) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    std::thread::sleep(delay);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("the command ends");
    status.code().or(status.signal().map(|signal| 128 + signal))
}

/// A random pause that lands anywhere in a command's life, from before its start-up to after its
/// end (the commands below take a few milliseconds).
fn random_pause() -> Duration {
    Duration::from_micros(fastrand::u64(0..6_000))
}

/// What a scratch directory may hold after an interrupted command: its own files, nothing of stet's.
fn assert_nothing_left(dir: &Path, expected: &[&str], round: usize, what: &str) {
    let mut left = names(dir);
    // The event log's index is derived data that stays with the log on purpose.
    left.retain(|name| name != ".events.ndjson.stet-index");
    assert_eq!(left, expected, "{what}, round {round}: an interrupted command left something behind");
}

#[test]
fn sigterm_at_any_point_of_set_append_new_or_lock_leaves_no_temporary_file_staging_entry_or_lock() {
    let mut rounds = 0;
    for config in ["", MKDIR] {
        let dir = scratch();
        std::fs::create_dir(dir.path().join(".stet")).unwrap();
        std::fs::write(dir.path().join(".stet/config.toml"), config).unwrap();
        // A body big enough that an edit takes a while: signals land in the middle of its write.
        let body = "x".repeat(4 << 20);
        std::fs::write(dir.path().join("story.md"), format!("---\nn: 0\n---\n{body}")).unwrap();
        std::fs::create_dir(dir.path().join("specs")).unwrap();
        std::fs::create_dir(dir.path().join("template")).unwrap();
        for file in 0..20 {
            std::fs::write(
                dir.path().join(format!("template/part-{file}.md")),
                format!("# {{{{name}}}} {file}\n"),
            )
            .unwrap();
        }
        let expected = [".stet", "events.ndjson", "specs", "story.md", "template"];
        std::fs::write(dir.path().join("events.ndjson"), "").unwrap();
        for round in 0..60 {
            let value = round + 1;
            let set = stet(dir.path())
                .args(["set", "story.md", &format!("n={value}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let code = sigterm_after(set, random_pause());
            assert!(matches!(code, Some(0 | 143)), "set ends by its work or by the signal: {code:?}");
            assert_nothing_left(dir.path(), &expected, round, "set");
            let text = std::fs::read_to_string(dir.path().join("story.md")).unwrap();
            assert!(text.ends_with(&body), "the body is whole after round {round}");

            let events = (0..200).fold(String::new(), |mut events, event| {
                let _ = writeln!(events, "{{\"id\":\"{round}-{event}\"}}");
                events
            });
            let mut append = stet(dir.path())
                .args(["log", "append", "events.ndjson"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut input = append.stdin.take().unwrap();
            let _ = std::io::Write::write_all(&mut input, events.as_bytes());
            drop(input);
            let code = sigterm_after(append, random_pause());
            assert!(matches!(code, Some(0 | 143)), "log append: {code:?}");
            assert_nothing_left(dir.path(), &expected, round, "log append");

            let new = stet(dir.path())
                .args(["new", "specs", "--slug", "entry", "--template", "template"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let code = sigterm_after(new, random_pause());
            assert!(matches!(code, Some(0 | 143)), "new: {code:?}");
            assert_nothing_left(dir.path(), &expected, round, "new");
            for entry in names(&dir.path().join("specs")) {
                assert!(!entry.starts_with('.'), "new, round {round}: a staging entry {entry} was left");
                assert_eq!(names(&dir.path().join("specs").join(&entry)).len(), 20, "entry {entry} is whole");
            }

            let lock = stet(dir.path())
                .args(["lock", "story.md", "--", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let code = sigterm_after(lock, random_pause());
            assert!(matches!(code, Some(0 | 143)), "lock: {code:?}");
            assert_nothing_left(dir.path(), &expected, round, "lock");
            rounds += 4;

            // The next command is never kept waiting by a lock an interrupted one left.
            let output = run(stet(dir.path()).args(["--timeout", "0", "set", "story.md", "n=0"]));
            assert!(output.status.success(), "round {round}: {}", stderr(&output));
        }
        let verify = run(stet(dir.path()).args(["log", "verify", "events.ndjson"]));
        assert!(verify.status.success(), "the log is clean: {}", stderr(&verify));
    }
    assert!(rounds >= 200, "{rounds} interrupted commands");
}

fn spawn_holder(dir: &Path, args: &[&str]) -> Child {
    stet(dir).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn a_command_under_a_flock_lock_keeps_it_held_after_stet_is_killed_until_it_ends() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "0\n").unwrap();
    let mut holder = spawn_holder(dir.path(), &["lock", "f", "--", "sh", "-c", "touch started; sleep 2"]);
    wait_for(&dir.path().join("started"));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let output = run(stet(dir.path()).args(["--json", "--timeout", "0", "lock", "f", "--", "true"]));
    assert_eq!(
        output.status.code(),
        Some(75),
        "the orphaned command still holds the lock: {}",
        stderr(&output)
    );
    let output = run(stet(dir.path()).args(["--timeout", "10s", "lock", "f", "--", "true"]));
    assert!(output.status.success(), "free once the command ended: {}", stderr(&output));
}

#[test]
fn a_command_under_a_mkdir_lock_or_a_lease_is_terminated_when_stet_is_killed() {
    for args in [
        &["--lock-protocol", "mkdir", "lock", "f", "--"][..],
        &["--lock-protocol", "mkdir", "update", "f", "--"][..],
        &["lease", "run", "f", "--owner", "agent-1", "--"][..],
    ] {
        let dir = scratch();
        std::fs::create_dir(dir.path().join(".stet")).unwrap();
        std::fs::write(dir.path().join("f"), "0\n").unwrap();
        let mut command = args.to_vec();
        command.extend(["sh", "-c", "echo $$ > pid; exec sleep 30"]);
        let mut holder = spawn_holder(dir.path(), &command);
        wait_for(&dir.path().join("pid"));
        std::thread::sleep(Duration::from_millis(50));
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid")).unwrap().trim().parse().unwrap();
        holder.kill().unwrap();
        holder.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            assert!(Instant::now() < deadline, "{args:?}: the command runs on unprotected after stet died");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
