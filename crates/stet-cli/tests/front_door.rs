//! What a new user meets at the front door: `--json` stderr that is only JSON, `get
//! --with-version`, `--must-exist`, directories named as directories, paths named as given, lease
//! conflicts that say what to do, and a `.stet/.gitignore`.

use std::process::Output;

use serde_json::Value;

use crate::lock::hold;
use crate::support::{json_error, run, run_with_input, scratch, stderr, stet};

/// Every line of stderr, each parsed as JSON; fails the test on a line that is not.
fn json_lines(output: &Output) -> Vec<Value> {
    stderr(output)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a --json stderr line is not JSON ({err}): {line:?}"))
        })
        .collect()
}

/// Ends a `stet lock` holder the way a user would: it ends its command, then itself.
fn end(mut holder: std::process::Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(holder.id() as i32, libc::SIGTERM) };
    let _ = holder.wait();
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!("stdout is not JSON ({err}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

#[test]
fn with_json_a_lock_wait_is_a_json_notice_and_the_timeout_error_is_the_last_line() {
    let dir = scratch();
    std::fs::write(dir.path().join("f.md"), "---\nn: 1\n---\n").unwrap();
    let holder = hold(dir.path(), &[], "f.md", 30);
    let output = run(stet(dir.path()).args(["--json", "--timeout", "1500ms", "set", "f.md", "n=2"]));
    end(holder);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "one notice, then the error: {lines:?}");
    assert_eq!(lines[0]["notice"]["kind"], "waiting", "{lines:?}");
    assert_eq!(lines[0]["notice"]["path"], "f.md", "the notice names the file as given: {lines:?}");
    assert!(lines[0]["notice"]["holder"]["pid"].is_u64(), "the notice names the holder: {lines:?}");
    assert_eq!(lines[1]["error"]["code"], "ELOCK_TIMEOUT", "the error comes last: {lines:?}");
}

#[test]
fn with_json_corrupt_log_lines_are_json_notices_on_stderr() {
    let dir = scratch();
    std::fs::write(dir.path().join("e.ndjson"), "{\"a\":1}\nnot json\n{\"b\":2}\nnor this\n").unwrap();
    let output = run(stet(dir.path()).args(["--json", "log", "read", "e.ndjson"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "{\"a\":1}\n{\"b\":2}\n");
    let lines = json_lines(&output);
    let kinds: Vec<_> = lines.iter().map(|line| line["notice"]["kind"].clone()).collect();
    assert_eq!(kinds, ["corrupt_line", "corrupt_line"], "{lines:?}");
    assert_eq!(lines[1]["notice"]["line"], 4, "{lines:?}");
}

#[test]
fn get_with_version_prints_the_value_and_the_version_of_the_bytes_it_read() {
    let dir = scratch();
    let text = "---\nstatus: draft\nn: 3\n---\nbody\n";
    std::fs::write(dir.path().join("s.md"), text).unwrap();
    let version = String::from_utf8(run(stet(dir.path()).args(["version", "s.md"])).stdout).unwrap();
    let output = run(stet(dir.path()).args(["get", "s.md", "status", "--with-version"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout_json(&output), serde_json::json!({ "value": "draft", "version": version.trim() }));
    let whole = stdout_json(&run(stet(dir.path()).args(["--json", "get", "s.md", "--with-version"])));
    assert_eq!(whole["value"], serde_json::json!({ "status": "draft", "n": 3 }));
    assert_eq!(whole["version"], version.trim());
}

#[test]
fn must_exist_makes_a_missing_file_enotfound_for_every_edit_and_creates_nothing() {
    let dir = scratch();
    let edits: [(&[&str], &[u8]); 4] = [
        (&["set", "typo.md", "a=1", "--must-exist"], b""),
        (&["unset", "typo.md", "a", "--must-exist"], b""),
        (&["push", "typo.md", "a=1", "--must-exist"], b""),
        (&["merge", "typo.md", "--must-exist"], b"{\"a\": 1}"),
    ];
    for (args, input) in edits {
        let output = run_with_input(stet(dir.path()).arg("--json").args(args), input);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        assert_eq!(json_error(&output)["code"], "ENOTFOUND", "{args:?}");
        assert!(!dir.path().join("typo.md").exists(), "{args:?} created the file");
    }
    std::fs::write(dir.path().join("real.md"), "---\na: 0\n---\n").unwrap();
    let output = run(stet(dir.path()).args(["set", "real.md", "a=1", "--must-exist"]));
    assert!(output.status.success(), "an existing file is edited: {}", stderr(&output));
}

#[test]
fn a_directory_given_for_a_file_is_named_a_directory_by_every_command() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let commands: [&[&str]; 12] = [
        &["write", "d"],
        &["update", "d", "--", "cat"],
        &["get", "d"],
        &["set", "d", "a=1"],
        &["unset", "d", "a"],
        &["push", "d", "a=1"],
        &["merge", "d"],
        &["version", "d"],
        &["log", "append", "d", "{}"],
        &["log", "read", "d"],
        &["log", "verify", "d"],
        &["log", "repair", "d"],
    ];
    for args in commands {
        let output = run_with_input(stet(dir.path()).args(args), b"{}\n");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        let said = stderr(&output);
        assert!(said.starts_with("stet: d is a directory"), "{args:?} must say d is a directory: {said}");
    }
}

#[test]
fn messages_name_files_as_the_user_gave_them() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/f.md"), "---\nn: 1\n---\n").unwrap();
    let holder = hold(dir.path(), &[], "docs/f.md", 30);
    let output = run(stet(dir.path()).args(["--timeout", "0", "set", "docs/f.md", "n=2"]));
    end(holder);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(75), "{said}");
    assert!(said.contains("the lock on docs/f.md:"), "the file as given: {said}");
    assert!(
        !said.contains(&dir.path().display().to_string()),
        "no absolute path the user did not give: {said}"
    );

    let output = run_with_input(stet(dir.path()).args(["write", "docs"]), b"x");
    let said = stderr(&output);
    assert!(
        !said.contains(&dir.path().display().to_string()),
        "no absolute path the user did not give: {said}"
    );
}

#[test]
fn a_lease_conflict_points_to_lease_status_and_ignore_leases() {
    let dir = scratch();
    let lease = ["--root", ".", "--owner", "alice", "lease", "acquire", "story.md", "--ttl", "10m"];
    let taken = run(stet(dir.path()).args(lease));
    assert!(taken.status.success(), "{}", stderr(&taken));
    let output = run(stet(dir.path()).args(["--root", ".", "--owner", "bob", "set", "story.md", "a=1"]));
    assert_eq!(output.status.code(), Some(3));
    let said = stderr(&output);
    assert!(said.contains("stet lease status") && said.contains("--ignore-leases"), "{said}");
    assert!(!said.contains("act as its owner"), "{said}");
}

#[test]
fn the_stet_directory_stet_makes_gets_a_gitignore_for_its_runtime_state() {
    let dir = scratch();
    let taken = run(stet(dir.path()).args(["--root", ".", "--owner", "alice", "lease", "acquire", "a.md"]));
    assert!(taken.status.success(), "{}", stderr(&taken));
    let ignore =
        std::fs::read_to_string(dir.path().join(".stet/.gitignore")).expect("stet wrote .stet/.gitignore");
    assert!(ignore.lines().any(|line| line == "*"), "the runtime state is ignored: {ignore}");
    assert!(ignore.lines().any(|line| line == "!config.toml"), "the configuration is not: {ignore}");
    if let Ok(status) = std::process::Command::new("git").arg("init").arg("-q").arg(dir.path()).status()
        && status.success()
    {
        let check = |path: &str| {
            std::process::Command::new("git")
                .current_dir(dir.path())
                .args(["check-ignore", "-q", path])
                .status()
                .unwrap()
                .success()
        };
        assert!(check(".stet/leases/_a.md/lease.json"), "git ignores the lease records");
        assert!(!check(".stet/config.toml"), "git keeps the configuration");
    }
}

#[test]
fn a_stet_directory_made_by_the_user_gets_no_gitignore() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    let taken = run(stet(dir.path()).args(["--root", ".", "--owner", "alice", "lease", "acquire", "a.md"]));
    assert!(taken.status.success(), "{}", stderr(&taken));
    assert!(
        !dir.path().join(".stet/.gitignore").exists(),
        "stet adds no file to a directory it did not make"
    );
}

/// A cause of failure: what to set up, the command that meets it, and the library call that does.
struct Cause {
    name: &'static str,
    setup: fn(&std::path::Path),
    args: &'static [&'static str],
    input: &'static [u8],
    call: fn(&stet::Project, &std::path::Path) -> Result<(), stet::Error>,
}

#[allow(clippy::too_many_lines)] // a table: one entry per cause
fn causes() -> Vec<Cause> {
    use serde_json::json;
    use stet::project::{EditOptions, WriteOptions};
    fn doc(dir: &std::path::Path) {
        std::fs::write(dir.join("f.md"), "---\nn: 1\n---\n").unwrap();
    }
    vec![
        Cause {
            name: "a missing document",
            setup: |_| {},
            args: &["get", "missing.md"],
            input: b"",
            call: |project, dir| project.get(&dir.join("missing.md"), None, None).map(drop),
        },
        Cause {
            name: "a malformed document",
            setup: |dir| std::fs::write(dir.join("bad.json"), "{\"a\": [1,\n").unwrap(),
            args: &["set", "bad.json", "a=1"],
            input: b"",
            call: |project, dir| {
                project
                    .set(&dir.join("bad.json"), &[("a".into(), json!(1))], EditOptions::default())
                    .map(drop)
            },
        },
        Cause {
            name: "a stale version",
            setup: doc,
            args: &["set", "f.md", "n=2", "--if-version", "0000000000000000"],
            input: b"",
            call: |project, dir| {
                let stale = EditOptions {
                    if_version: Some("0000000000000000".parse().unwrap()),
                    ..EditOptions::default()
                };
                project.set(&dir.join("f.md"), &[("n".into(), json!(2))], stale).map(drop)
            },
        },
        Cause {
            name: "a file that exists for --create-new",
            setup: doc,
            args: &["write", "f.md", "--create-new"],
            input: b"x",
            call: |project, dir| {
                let options = WriteOptions { create_new: true, mode: None };
                project.write(&dir.join("f.md"), b"x", options).map(drop)
            },
        },
        Cause {
            name: "another owner's lease",
            setup: |dir| {
                let alice = stet::Options::new().owner(Some("alice".into())).open(dir).unwrap();
                alice
                    .lease_acquire(&[dir.join("f.md")], Some(std::time::Duration::from_secs(600)), None)
                    .unwrap();
            },
            args: &["--owner", "bob", "write", "f.md"],
            input: b"x",
            call: |project, dir| {
                project
                    .with_owner(Some("bob".into()))
                    .write(&dir.join("f.md"), b"x", WriteOptions::default())
                    .map(drop)
            },
        },
        Cause {
            name: "a lease without an owner",
            setup: |_| {},
            args: &["lease", "acquire", "f.md"],
            input: b"",
            call: |project, dir| project.lease_acquire(&[dir.join("f.md")], None, None).map(drop),
        },
        Cause {
            name: "a directory for a file",
            setup: |dir| std::fs::create_dir(dir.join("d")).unwrap(),
            args: &["write", "d"],
            input: b"x",
            call: |project, dir| project.write(&dir.join("d"), b"x", WriteOptions::default()).map(drop),
        },
        Cause {
            name: "an event that is not JSON",
            setup: |_| {},
            args: &["log", "append", "e.ndjson", "not json"],
            input: b"",
            call: |_, dir| stet::project::parse_event(&dir.join("e.ndjson"), "not json").map(drop),
        },
        Cause {
            name: "a missing log",
            setup: |_| {},
            args: &["log", "read", "e.ndjson"],
            input: b"",
            call: |project, dir| project.log_read(&dir.join("e.ndjson"), 0, None).map(drop),
        },
        Cause {
            name: "a file with two hard links",
            setup: |dir| {
                std::fs::write(dir.join("a"), "x").unwrap();
                std::fs::hard_link(dir.join("a"), dir.join("b")).unwrap();
            },
            args: &["write", "a"],
            input: b"y",
            call: |project, dir| project.write(&dir.join("a"), b"y", WriteOptions::default()).map(drop),
        },
        Cause {
            name: "a lock of the other protocol",
            setup: |dir| {
                doc(dir);
                std::fs::create_dir(dir.join("f.md.lock")).unwrap();
            },
            args: &["set", "f.md", "n=2"],
            input: b"",
            call: |project, dir| {
                project.set(&dir.join("f.md"), &[("n".into(), json!(2))], EditOptions::default()).map(drop)
            },
        },
        Cause {
            name: "a lock held by another process",
            setup: |dir| {
                doc(dir);
                let project = stet::Project::open(dir).unwrap();
                // Held until this test process ends: the command is another process, and the
                // library call below is made from another thread.
                std::mem::forget(
                    project.lock_guard(&dir.join("f.md"), stet::lock::LockKind::Exclusive).unwrap(),
                );
            },
            args: &["--timeout", "0", "set", "f.md", "n=2"],
            input: b"",
            call: |project, dir| {
                let project = project.with_lock_wait(stet::lock::Wait::Immediately);
                let file = dir.join("f.md");
                std::thread::spawn(move || {
                    project.set(&file, &[("n".into(), json!(2))], EditOptions::default()).map(drop)
                })
                .join()
                .unwrap()
            },
        },
        Cause {
            name: "a malformed configuration",
            setup: |dir| {
                std::fs::create_dir(dir.join(".stet")).unwrap();
                std::fs::write(dir.join(".stet/config.toml"), "[lock]\ntimeout = \"soon\"\n").unwrap();
            },
            args: &["version", "f.md"],
            input: b"",
            call: |_, _| unreachable!("the project does not open"),
        },
    ]
}

#[test]
fn each_cause_of_failure_gets_the_same_code_and_status_from_the_library_and_the_command() {
    for cause in causes() {
        let (for_cli, for_library) = (scratch(), scratch());
        for dir in [for_cli.path(), for_library.path()] {
            std::fs::create_dir(dir.join(".git")).unwrap();
            (cause.setup)(dir);
        }
        let output = run_with_input(stet(for_cli.path()).arg("--json").args(cause.args), cause.input);
        let printed = json_error(&output);
        let err = match stet::Project::open(for_library.path()) {
            Ok(project) => (cause.call)(&project, for_library.path()).expect_err(cause.name),
            Err(err) => err,
        };
        assert_eq!(
            printed["code"],
            err.code().as_str(),
            "{}: the command printed {printed}, the library gave {err}",
            cause.name
        );
        assert_eq!(output.status.code(), Some(i32::from(err.exit_status())), "{}", cause.name);
        assert_eq!(printed.get("holder").is_some(), err.holder().is_some(), "{}: {printed}", cause.name);
    }
}
