//! Confinement: every way out of the root, and into `.stet/`, is refused; paths inside are kept.

use std::os::unix::fs::symlink;
use std::path::Path;

use stet::confine::{ConfineError, Root};

/// A root `R/root` with `.stet/`, a file, a directory, and a sibling `R/root_evil` beside it.
fn tree() -> (tempfile::TempDir, Root) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join(".stet")).expect("the root");
    std::fs::create_dir_all(root.join("docs")).expect("a directory");
    std::fs::create_dir_all(dir.path().join("root_evil")).expect("a sibling");
    std::fs::write(root.join("docs/a.md"), "a").expect("a file");
    std::fs::write(root.join(".stet/config.toml"), "").expect("a config");
    let opened = Root::open(&root).expect("the root opens");
    (dir, opened)
}

fn assert_outside(root: &Root, path: &str) {
    match root.confine(Path::new(path)) {
        Err(ConfineError::Outside { path: named, .. }) => assert_eq!(named, Path::new(path)),
        other => panic!("{path} must be refused as outside the root, got {other:?}"),
    }
}

fn assert_stet_state(root: &Root, path: &str) {
    assert!(
        matches!(root.confine(Path::new(path)), Err(ConfineError::StetState { .. })),
        "{path} must be refused as stet's state, got {:?}",
        root.confine(Path::new(path))
    );
}

#[test]
fn paths_inside_the_root_are_kept_relative_and_absolute() {
    let (_dir, root) = tree();
    let confined = root.confine(Path::new("docs/a.md")).expect("a file inside");
    assert_eq!(confined.relative, Path::new("docs/a.md"));
    assert_eq!(confined.path, root.real_path().join("docs/a.md"));
    let absolute = root.confine(&root.real_path().join("docs/new.md")).expect("an absolute path inside");
    assert_eq!(absolute.relative, Path::new("docs/new.md"), "a file that does not exist yet is fine");
    assert_eq!(
        root.confine(Path::new("docs/../docs/a.md")).expect("a .. that stays inside").relative,
        Path::new("docs/a.md")
    );
    assert_eq!(root.confine(Path::new(".")).expect("the root itself").relative, Path::new(""));
    assert_eq!(root.confine(Path::new("")).expect("the empty path is the root").relative, Path::new(""));
}

#[test]
fn dot_dot_escapes_are_refused() {
    let (_dir, root) = tree();
    assert_outside(&root, "../x");
    assert_outside(&root, "docs/../../x");
    assert_outside(&root, "..");
    assert_outside(&root, "../root_evil/x");
}

#[test]
fn absolute_paths_outside_the_root_are_refused_including_a_prefix_sibling() {
    let (dir, root) = tree();
    assert_outside(&root, "/etc/passwd");
    let sibling = dir.path().join("root_evil/x");
    assert_outside(&root, sibling.to_str().expect("a UTF-8 path"));
    let escape = root.real_path().join("../root_evil/x");
    assert_outside(&root, escape.to_str().expect("a UTF-8 path"));
}

#[test]
fn symlinks_leading_out_are_refused_wherever_they_are_in_the_path() {
    let (dir, root) = tree();
    let base = root.real_path();
    symlink("/etc", base.join("etc")).expect("a link to /etc");
    symlink("/etc/passwd", base.join("passwd")).expect("a link to a file outside");
    symlink("../root_evil", base.join("evil")).expect("a relative link out");
    symlink("../root_evil/new", base.join("dangling")).expect("a dangling link out");
    symlink(dir.path().join("root/docs"), base.join("absolute_inside")).expect("an absolute link inside");
    assert_outside(&root, "etc");
    assert_outside(&root, "etc/passwd");
    assert_outside(&root, "passwd");
    assert_outside(&root, "evil/x");
    assert_outside(&root, "evil");
    assert_outside(&root, "dangling");
    assert_outside(&root, "absolute_inside/a.md");
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let (_dir, root) = tree();
    let base = root.real_path();
    symlink("docs", base.join("notes")).expect("a link to a directory inside");
    symlink("docs/a.md", base.join("a-link.md")).expect("a link to a file inside");
    symlink("docs/b.md", base.join("b-link.md")).expect("a dangling link inside");
    assert_eq!(
        root.confine(Path::new("notes/a.md")).expect("through a directory link").relative,
        Path::new("docs/a.md")
    );
    let link = root.confine(Path::new("a-link.md")).expect("a link to a file inside");
    assert_eq!(link.path, base.join("a-link.md"), "the link itself is named, to be written through");
    root.confine(Path::new("b-link.md")).expect("a dangling link that would create a file inside");
}

#[test]
fn stet_state_is_refused_however_it_is_reached() {
    let (_dir, root) = tree();
    let base = root.real_path();
    symlink(".stet", base.join("state")).expect("a link to .stet");
    symlink(".stet/config.toml", base.join("config.toml")).expect("a link to the config");
    assert_stet_state(&root, ".stet");
    assert_stet_state(&root, ".stet/config.toml");
    assert_stet_state(&root, "docs/../.stet/leases");
    assert_stet_state(&root, "state/x");
    assert_stet_state(&root, "config.toml");
    assert_stet_state(&root, base.join(".stet/tx").to_str().expect("a UTF-8 path"));
    assert!(root.confine(Path::new("docs/.stet")).is_ok(), "only the root's .stet is stet's");
}

#[test]
fn magic_links_are_refused() {
    let (_dir, root) = tree();
    symlink("/proc/self/root", root.real_path().join("proc-root")).expect("a link to a magic link");
    assert_outside(&root, "proc-root/etc/passwd");
}
