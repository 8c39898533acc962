//! `stet lock`: holders named on timeout, no self-deadlock, shared holders, signals.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{json_error, names, run, scratch, stderr, stet};

/// Starts `stet ARGS lock FILE -- sleep SECONDS` and waits until it holds the lock.
pub fn hold(dir: &Path, args: &[&str], file: &str, seconds: u32) -> Child {
    let mut command: Command = stet(dir);
    let child = command
        .args(args)
        .args(["lock", file, "--", "sleep", &seconds.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .expect("stet lock starts");
    let lock = dir.join(format!("{file}.lock"));
    let deadline = Instant::now() + Duration::from_secs(10);
    // Held once the holder's record is in the lock file (an exclusive holder writes it right after
    // taking the lock); a shared holder's file may stay empty.
    let held =
        |lock: &Path| std::fs::metadata(lock).is_ok_and(|meta| meta.len() > 0 || args.contains(&"--shared"));
    while !held(&lock) {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn stop(mut child: Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

#[test]
fn a_lock_timeout_exits_75_and_names_the_holder() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "1").unwrap();
    let holder = hold(dir.path(), &["--owner", "agent-7"], "f", 30);
    let started = Instant::now();
    let output = run(stet(dir.path()).args(["--json", "--timeout", "300ms", "update", "f", "--", "cat"]));
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout is honoured");
    assert_eq!(output.status.code(), Some(75));
    let error = json_error(&output);
    assert_eq!(error["code"], "ELOCK_TIMEOUT");
    assert_eq!(error["holder"]["pid"], holder.id(), "the holder's pid is named");
    assert_eq!(error["holder"]["owner"], "agent-7");
    assert!(error["holder"]["command"].as_str().unwrap().contains("sleep 30"), "{error}");
    assert!(error["holder"]["host"].is_string() && error["holder"]["since"].is_string());
    assert!(error["path"].as_str().unwrap().ends_with("/f"));

    let output = run(stet(dir.path()).args(["--timeout", "1300ms", "lock", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(75));
    let text = stderr(&output);
    assert!(
        text.contains("waiting for the lock on") && text.contains("agent-7"),
        "a note after about a second: {text}"
    );
    assert!(text.contains(&format!("pid {}", holder.id())) && text.contains("timed out"), "{text}");
    assert_eq!(text.matches("stet: waiting for the lock on").count(), 1, "the note is given once: {text}");
    stop(holder);
    assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), "1");
}

#[test]
fn a_nested_stet_asking_for_the_lock_its_parent_holds_fails_at_once() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "1").unwrap();
    let started = Instant::now();
    let inner = format!("{} --timeout 30s update f -- cat", crate::support::stet_bin().display());
    let output = run(stet(dir.path()).args(["lock", "f", "--", "sh", "-c", &inner]));
    assert!(started.elapsed() < Duration::from_secs(5), "no self-deadlock until the timeout");
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("would deadlock"), "{}", stderr(&output));
    assert_eq!(names(dir.path()), ["f"]);
}

#[test]
fn shared_holders_share_and_exclude_exclusive_ones() {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), "1").unwrap();
    let mut reader = stet(dir.path()).args(["lock", "--shared", "f", "--", "sleep", "30"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("f.lock").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = run(stet(dir.path()).args(["--timeout", "0", "lock", "--shared", "f", "--", "true"]));
    assert!(output.status.success(), "a second shared holder gets in: {}", stderr(&output));
    let output = run(stet(dir.path()).args(["--timeout", "0", "lock", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(75), "an exclusive holder must wait");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(reader.id() as i32, libc::SIGTERM) };
    reader.wait().unwrap();
    assert_eq!(names(dir.path()), ["f"], "the lock file goes with the last holder");
}

#[test]
fn lock_exits_with_the_commands_status_and_a_terminated_stet_ends_its_command_first() {
    let dir = scratch();
    let output = run(stet(dir.path()).args(["lock", "f", "--", "sh", "-c", "exit 9"]));
    assert_eq!(output.status.code(), Some(9));
    assert_eq!(names(dir.path()), Vec::<String>::new());

    let holder = hold(dir.path(), &[], "f", 30);
    let started = Instant::now();
    let pid = holder.id();
    stop(holder);
    assert!(started.elapsed() < Duration::from_secs(5), "SIGTERM reaches the command");
    let output = run(stet(dir.path()).args(["--timeout", "0", "lock", "f", "--", "true"]));
    assert!(output.status.success(), "the lock of stet {pid} was released: {}", stderr(&output));
}

#[test]
fn shared_locks_are_refused_by_the_mkdir_protocol() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    let output = run(stet(dir.path()).args(["--json", "lock", "--shared", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json_error(&output)["code"], "EUSAGE");
}

#[test]
fn a_mkdir_lock_taken_over_while_held_is_reported_and_nothing_is_written() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    std::fs::write(dir.path().join("f"), "original\n").unwrap();
    // The command does what a proper-lockfile peer does when it wrongly judges the lock stale.
    let takeover = "cat >/dev/null; rmdir f.lock && mkdir f.lock; echo changed";
    let output = run(stet(dir.path()).args(["--json", "update", "f", "--", "sh", "-c", takeover]));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(json_error(&output)["code"], "ECOMPROMISED");
    assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), "original\n", "nothing is committed");
    assert!(dir.path().join("f.lock").is_dir(), "the new holder's lock is left alone");
    std::fs::remove_dir(dir.path().join("f.lock")).unwrap();

    let output = run(stet(dir.path()).args(["--json", "lock", "f", "--", "sh", "-c", "rmdir f.lock"]));
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json_error(&output)["code"], "ECOMPROMISED");
}
