//! Full disks, read-only directories and file systems: clear errors, nothing changed or left.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::{
    Mount, json_error, names, require_root, run_with_input, scratch, stderr, stet, stet_bin,
};

#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_the_file_and_no_temp_file() {
    if !require_root("the full-disk test") {
        return;
    }
    let dir = scratch();
    let mount = Mount::tmpfs(&dir.path().join("tiny"), "size=256k");
    std::fs::write(mount.0.join("story.md"), "original\n").unwrap();
    let filler = vec![0u8; 4096];
    let mut fill = std::fs::File::create(mount.0.join("filler")).unwrap();
    while std::io::Write::write_all(&mut fill, &filler).is_ok() {}
    drop(fill);
    // Leave room for the lock file but not for the new content.
    std::fs::OpenOptions::new()
        .write(true)
        .open(mount.0.join("filler"))
        .unwrap()
        .set_len(200 * 1024)
        .unwrap();

    let output =
        run_with_input(stet(&mount.0).args(["--json", "write", "story.md"]), &vec![b'x'; 128 * 1024]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = json_error(&output);
    assert_eq!(error["code"], "EIO");
    assert!(
        error["message"].as_str().unwrap().contains("space"),
        "the message says the disk is full: {error}"
    );
    assert_eq!(std::fs::read_to_string(mount.0.join("story.md")).unwrap(), "original\n");
    assert_eq!(names(&mount.0), ["filler", "story.md"], "no temporary or lock file is left");
}

#[test]
fn a_read_only_directory_for_an_unprivileged_user_gives_a_clear_error() {
    if !require_root("the unprivileged-user test") {
        return;
    }
    let dir = scratch();
    let locked = dir.path().join("readonly");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("story.md"), "original\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(locked.join("story.md"), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = Command::new("setpriv");
    command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(stet_bin()).current_dir(&locked);
    let output = run_with_input(command.args(["--json", "write", "story.md"]), b"new\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = json_error(&output);
    assert_eq!(error["code"], "EPERM");
    assert!(error["message"].as_str().unwrap().contains("permission"), "{error}");
    assert_eq!(std::fs::read_to_string(locked.join("story.md")).unwrap(), "original\n");
    assert_eq!(names(&locked), ["story.md"]);
}

#[test]
fn a_read_only_file_system_gives_a_clear_error() {
    if !require_root("the read-only file system test") {
        return;
    }
    let dir = scratch();
    let mount = Mount::tmpfs(&dir.path().join("ro"), "size=1m");
    std::fs::write(mount.0.join("story.md"), "original\n").unwrap();
    mount.remount("ro");
    let output = run_with_input(stet(&mount.0).args(["--json", "write", "story.md"]), b"new\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error = json_error(&output);
    assert_eq!(error["code"], "EPERM");
    assert!(error["message"].as_str().unwrap().contains("read-only"), "{error}");
    assert_eq!(std::fs::read_to_string(mount.0.join("story.md")).unwrap(), "original\n");
}

#[test]
fn a_missing_directory_is_not_found() {
    let dir = scratch();
    let output = run_with_input(stet(dir.path()).args(["--json", "write", "nowhere/story.md"]), b"x");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_error(&output)["code"], "ENOTFOUND");
    assert!(names(dir.path()).is_empty());
}
