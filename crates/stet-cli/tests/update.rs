//! `stet update`: the locked read-modify-write, raced by real processes.

use std::path::Path;

use crate::support::{INCREMENT, json_error, names, run, scratch, stet};

/// `writers` threads each run `rounds` `stet update` processes against one counter.
pub fn race_increments(dir: &Path, writers: usize, rounds: usize, extra: &[&str]) {
    std::thread::scope(|scope| {
        for _ in 0..writers {
            scope.spawn(|| {
                for _ in 0..rounds {
                    let output = run(stet(dir)
                        .args(extra)
                        .args(["--timeout", "120s", "update", "counter", "--"])
                        .args(INCREMENT));
                    assert!(output.status.success(), "an update failed: {}", crate::support::stderr(&output));
                }
            });
        }
    });
}

#[test]
fn eight_processes_making_100_updates_each_count_exactly_800_with_flock() {
    let dir = scratch();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    race_increments(dir.path(), 8, 100, &[]);
    assert_eq!(std::fs::read_to_string(dir.path().join("counter")).unwrap(), "800\n", "an update was lost");
    assert_eq!(names(dir.path()), ["counter"], "no lock or temporary file remains");
}

#[test]
fn eight_processes_making_100_updates_each_count_exactly_800_with_mkdir() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\n").unwrap();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    race_increments(dir.path(), 8, 100, &[]);
    assert_eq!(std::fs::read_to_string(dir.path().join("counter")).unwrap(), "800\n", "an update was lost");
    assert_eq!(names(dir.path()), [".stet", "counter"], "no lock or temporary file remains");
}

/// `stet update new.txt` with a command that appends what `$STET_EXISTS` says.
fn append_exists(dir: &Path) {
    let output =
        run(stet(dir).args(["update", "new.txt", "--", "sh", "-c", "cat; echo \"exists=$STET_EXISTS\""]));
    assert!(output.status.success(), "{}", crate::support::stderr(&output));
}

#[test]
fn a_missing_file_is_created_and_the_command_is_told_it_did_not_exist() {
    let dir = scratch();
    append_exists(dir.path());
    assert_eq!(std::fs::read_to_string(dir.path().join("new.txt")).unwrap(), "exists=0\n");
    append_exists(dir.path());
    assert_eq!(std::fs::read_to_string(dir.path().join("new.txt")).unwrap(), "exists=0\nexists=1\n");
}

#[test]
fn a_failing_command_leaves_the_file_untouched_and_its_status_becomes_stets() {
    let dir = scratch();
    std::fs::write(dir.path().join("cfg.json"), "{\"n\": 1}\n").unwrap();
    let output = run(stet(dir.path()).args([
        "--json",
        "update",
        "cfg.json",
        "--",
        "sh",
        "-c",
        "echo partial; exit 7",
    ]));
    assert_eq!(output.status.code(), Some(7), "COMMAND's status is stet's");
    assert_eq!(json_error(&output)["status"], 7);
    assert_eq!(std::fs::read_to_string(dir.path().join("cfg.json")).unwrap(), "{\"n\": 1}\n");
    assert_eq!(names(dir.path()), ["cfg.json"]);

    let output = run(stet(dir.path()).args(["update", "cfg.json", "--", "no-such-command-anywhere"]));
    assert_eq!(output.status.code(), Some(127), "a missing command exits 127 as in shells");
    assert_eq!(names(dir.path()), ["cfg.json"]);
}

#[test]
fn update_reports_the_new_version_and_whether_it_changed() {
    let dir = scratch();
    std::fs::write(dir.path().join("a.txt"), "1\n").unwrap();
    let output = run(stet(dir.path()).args(["--json", "update", "a.txt", "--", "cat"]));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["changed"], false, "an update that changes nothing does not rewrite");
    let output = run(stet(dir.path()).args(["--json", "update", "a.txt", "--"]).args(INCREMENT));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["changed"], true);
    assert_eq!(result["version"], stet::Version::of(b"2\n").to_string());
}
