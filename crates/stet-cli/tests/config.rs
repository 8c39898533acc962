//! Root discovery and `.stet/config.toml`.

use crate::support::{json_error, run, scratch, stderr, stet};

fn with_config(text: &str) -> tempfile::TempDir {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), text).unwrap();
    dir
}

#[test]
fn the_mkdir_protocol_from_the_config_makes_a_lock_directory_found_from_a_subdirectory() {
    let dir = with_config("[lock]\nprotocol = \"mkdir\"\nstale = \"3s\"\n");
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    let output = run(stet(&dir.path().join("specs")).args(["lock", "f", "--", "test", "-d", "f.lock"]));
    assert!(output.status.success(), "the lock is a directory: {}", stderr(&output));
}

#[test]
fn root_flag_and_environment_choose_the_root() {
    let dir = with_config("[lock]\nprotocol = \"mkdir\"\n");
    let elsewhere = scratch();
    let root = dir.path().to_str().unwrap();
    let output =
        run(stet(elsewhere.path()).args(["--root", root, "lock", "f", "--", "test", "-d", "f.lock"]));
    assert!(output.status.success(), "--root picks the config: {}", stderr(&output));
    let output =
        run(stet(elsewhere.path()).env("STET_ROOT", root).args(["lock", "f", "--", "test", "-d", "f.lock"]));
    assert!(output.status.success(), "$STET_ROOT picks the config: {}", stderr(&output));
    let output = run(stet(elsewhere.path()).args(["lock", "f", "--", "test", "-f", "f.lock"]));
    assert!(output.status.success(), "without a root, flock: {}", stderr(&output));
}

#[test]
fn a_malformed_config_exits_65_naming_the_line() {
    let dir = with_config("[lock]\n\nprotocl = \"mkdir\"\n");
    let output = run(stet(dir.path()).args(["--json", "lock", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(65));
    let error = json_error(&output);
    assert_eq!(error["code"], "EMALFORMED");
    assert!(error["message"].as_str().unwrap().contains("line 3"), "{error}");
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    let dir = scratch();
    let output = run(stet(dir.path()).args(["--json", "--timeout", "soon", "lock", "f", "--", "true"]));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json_error(&output)["code"], "EUSAGE");
    let output = run(stet(dir.path()).args(["lock", "f"]));
    assert_eq!(output.status.code(), Some(2), "a missing command is a usage error");
}
