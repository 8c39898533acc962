//! `stet write`: atomic replacement from the command line.

use std::os::unix::fs::PermissionsExt;

use crate::support::{json_error, names, run_with_input, scratch, stet};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn write_replaces_content_keeps_the_mode_and_reports_path_bytes_and_version() {
    let dir = scratch();
    let file = dir.path().join("story.md");
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let output = run_with_input(stet(dir.path()).args(["--json", "write", "story.md"]), b"new content\n");
    assert!(output.status.success(), "{}", crate::support::stderr(&output));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["path"], "story.md");
    assert_eq!(result["bytes"], 12);
    assert_eq!(result["version"], stet::Version::of(b"new content\n").to_string());
    assert_eq!(std::fs::read(&file).unwrap(), b"new content\n");
    assert_eq!(mode(&file), 0o640, "the mode is kept");

    let output = run_with_input(stet(dir.path()).args(["write", "story.md", "--mode", "600"]), b"x");
    assert!(output.status.success());
    assert_eq!(mode(&file), 0o600, "--mode applies");
    let output = run_with_input(stet(dir.path()).args(["--json", "write", "story.md", "--mode", "9z"]), b"x");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json_error(&output)["code"], "EUSAGE");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    assert_eq!(names(dir.path()), ["story.md"]);
}

#[test]
fn write_goes_through_a_symlink_and_leaves_it_a_symlink() {
    let dir = scratch();
    std::fs::write(dir.path().join("real.md"), "old").unwrap();
    std::os::unix::fs::symlink("real.md", dir.path().join("link.md")).unwrap();
    let output = run_with_input(stet(dir.path()).args(["write", "link.md"]), b"through");
    assert!(output.status.success());
    assert_eq!(std::fs::read(dir.path().join("real.md")).unwrap(), b"through");
    assert!(std::fs::symlink_metadata(dir.path().join("link.md")).unwrap().file_type().is_symlink());
    assert_eq!(names(dir.path()), ["link.md", "real.md"]);
}

#[test]
fn of_eight_processes_racing_to_create_new_exactly_one_wins() {
    for round in 0..5 {
        let dir = scratch();
        let outputs: Vec<_> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8)
                .map(|racer| {
                    let dir = dir.path();
                    scope.spawn(move || {
                        let content = format!("racer {racer}\n");
                        (
                            content.clone(),
                            run_with_input(
                                stet(dir).args(["--json", "write", "entry.md", "--create-new"]),
                                content.as_bytes(),
                            ),
                        )
                    })
                })
                .collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).collect()
        });
        let winners: Vec<_> = outputs.iter().filter(|(_, output)| output.status.success()).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one racer creates the file");
        for (_, output) in outputs.iter().filter(|(_, output)| !output.status.success()) {
            assert_eq!(output.status.code(), Some(3), "losers exit 3");
            assert_eq!(json_error(output)["code"], "EEXIST");
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("entry.md")).unwrap(),
            winners[0].0,
            "the winner's content stands"
        );
        assert_eq!(names(dir.path()), ["entry.md"]);
    }
}

#[test]
fn no_sync_still_writes_atomically() {
    let dir = scratch();
    let output = run_with_input(stet(dir.path()).args(["--no-sync", "write", "fast.md"]), b"quick");
    assert!(output.status.success());
    assert_eq!(std::fs::read(dir.path().join("fast.md")).unwrap(), b"quick");
    assert_eq!(names(dir.path()), ["fast.md"]);
}
