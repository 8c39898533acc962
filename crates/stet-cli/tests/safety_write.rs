//! Replacing and reading targets safely: permissions are the caller's, ACLs and extended
//! attributes survive a replace, hard links are not broken without being asked, and a FIFO, a
//! device or a socket is refused at once, never replaced and never blocked on.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{json_error, names, require_root, run_bounded, scratch, stderr, stet, stet_bin};

/// `stet` run as the unprivileged user 65534 in `dir`.
fn as_nobody(dir: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(stet_bin()).current_dir(dir);
    for var in ["STET_ROOT", "STET_OWNER", "STET_HELD_LOCKS", "STET_HELD_LOCKS_PID"] {
        command.env_remove(var);
    }
    command
}

/// A scratch directory with a world-writable `shared/` in it, as `/tmp` or a team directory is.
fn shared_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = scratch();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    (dir, shared)
}

fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|err| {
        panic!("{program} is needed (Debian packages acl and attr): {err}");
    });
    assert!(output.status.success(), "{program} {args:?}: {}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// The writing commands, each as arguments for FILE and its standard input.
fn writing_commands(file: &str) -> Vec<(Vec<String>, &'static [u8])> {
    let args = |rest: &[&str]| -> Vec<String> { rest.iter().map(ToString::to_string).collect() };
    vec![
        (args(&["write", file]), b"a: 9\n"),
        (args(&["update", file, "--", "sh", "-c", "cat; echo 'b: 2'"]), b""),
        (args(&["set", file, "a=2"]), b""),
        (args(&["unset", file, "a"]), b""),
        (args(&["push", file, "list=x"]), b""),
        (args(&["merge", file]), b"{\"c\": 3}"),
    ]
}

fn assert_refused(output: &Output, status: i32, code: &str, what: &str) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(status), "{what}: {}", stderr(output));
    let error = json_error(output);
    assert_eq!(error["code"], code, "{what}: {error}");
    error
}

#[test]
fn an_unprivileged_user_cannot_replace_a_file_they_could_not_write_in_place() {
    if !require_root("the unprivileged-user permission test") {
        return;
    }
    let (_dir, shared) = shared_dir();
    std::fs::write(shared.join("root.yaml"), "a: 1\n").unwrap();
    std::fs::set_permissions(shared.join("root.yaml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    // Every permission bit allows it, but an ACL entry lets this one user only read.
    std::fs::write(shared.join("denied.yaml"), "a: 1\n").unwrap();
    std::fs::set_permissions(shared.join("denied.yaml"), std::fs::Permissions::from_mode(0o666)).unwrap();
    tool("setfacl", &["-m", "u:65534:r", "denied.yaml"], &shared);
    for file in ["root.yaml", "denied.yaml"] {
        for (args, input) in writing_commands(file) {
            let what = format!("{args:?} as an unprivileged user");
            let output = run_bounded(as_nobody(&shared).arg("--json").args(&args), input);
            let error = assert_refused(&output, 1, "EPERM", &what);
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains(file) && message.contains("write"),
                "{what}: the message says why: {error}"
            );
            assert_eq!(
                std::fs::read_to_string(shared.join(file)).unwrap(),
                "a: 1\n",
                "{what} changed the file"
            );
        }
    }
    let meta = std::fs::metadata(shared.join("root.yaml")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0, "the file still belongs to root");
    assert_eq!(names(&shared), ["denied.yaml", "root.yaml"], "no temporary or lock file is left");
}

#[test]
fn a_user_an_acl_lets_write_may_replace_the_file() {
    if !require_root("the unprivileged-user ACL test") {
        return;
    }
    let (_dir, shared) = shared_dir();
    std::fs::write(shared.join("team.yaml"), "a: 1\n").unwrap();
    std::fs::set_permissions(shared.join("team.yaml"), std::fs::Permissions::from_mode(0o640)).unwrap();
    tool("setfacl", &["-m", "u:65534:rw", "team.yaml"], &shared);
    let output = run_bounded(as_nobody(&shared).args(["set", "team.yaml", "a=2"]), b"");
    assert!(output.status.success(), "the kernel says this user may write it: {}", stderr(&output));
    assert_eq!(std::fs::read_to_string(shared.join("team.yaml")).unwrap(), "a: 2\n");
}

#[test]
fn a_replaced_file_keeps_its_acl_and_extended_attributes() {
    if !require_root("the ACL and extended attribute test (trusted.* needs root)") {
        return;
    }
    let dir = scratch();
    std::fs::write(dir.path().join("d.md"), "---\na: 1\n---\nbody\n").unwrap();
    std::fs::set_permissions(dir.path().join("d.md"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(dir.path().join("d.md"), Some(65534), Some(65534)).unwrap();
    tool("setfacl", &["-m", "u:1234:rw,g:5678:r", "d.md"], dir.path());
    tool("setfattr", &["-n", "user.origin", "-v", "agent-7", "d.md"], dir.path());
    tool("setfattr", &["-n", "trusted.review", "-v", "0x00ff10", "d.md"], dir.path());
    let acl = tool("getfacl", &["-cp", "d.md"], dir.path());
    let attributes = tool("getfattr", &["-d", "-m", "-", "-e", "hex", "d.md"], dir.path());
    assert!(acl.contains("user:1234:rw-") && attributes.contains("user.origin"), "{acl}{attributes}");
    let mode = |dir: &Path| std::fs::metadata(dir.join("d.md")).unwrap().permissions().mode() & 0o7777;
    let before = mode(dir.path());

    for (args, input) in [
        (vec!["set", "d.md", "a=2"], &b""[..]),
        (vec!["write", "d.md"], b"---\na: 3\n---\nbody\n"),
        (vec!["update", "d.md", "--", "sed", "s/3/4/"], b""),
    ] {
        let output = run_bounded(stet(dir.path()).args(&args), input);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert_eq!(tool("getfacl", &["-cp", "d.md"], dir.path()), acl, "{args:?} keeps the ACL");
        assert_eq!(
            tool("getfattr", &["-d", "-m", "-", "-e", "hex", "d.md"], dir.path()),
            attributes,
            "{args:?} keeps every extended attribute"
        );
        assert_eq!(mode(dir.path()), before, "{args:?} keeps the mode (and the ACL mask)");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("d.md")).unwrap(), "---\na: 4\n---\nbody\n");
}

#[test]
fn an_attribute_the_writer_cannot_copy_is_refused_rather_than_dropped() {
    if !require_root("the unprivileged extended attribute test") {
        return;
    }
    let (_dir, shared) = shared_dir();
    let file = shared.join("tool.md");
    std::fs::write(&file, "old\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    // An empty file capability set: only a privileged process may set one on the new file.
    tool(
        "setfattr",
        &["-n", "security.capability", "-v", "0x0100000200000000000000000000000000000000", "tool.md"],
        &shared,
    );
    let output = run_bounded(as_nobody(&shared).args(["--json", "write", "tool.md"]), b"new\n");
    let error = assert_refused(&output, 1, "EPERM", "write of a file with a capability");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("security.capability") && message.contains("tool.md"), "{error}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old\n", "the file is untouched");
    assert!(tool("getfattr", &["-d", "-m", "-", "tool.md"], &shared).contains("security.capability"));
    assert_eq!(names(&shared), ["tool.md"], "no temporary or lock file is left");
}

#[test]
fn a_file_with_several_hard_links_is_refused_unless_break_links_is_given() {
    let dir = scratch();
    std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
    std::fs::hard_link(dir.path().join("a.yaml"), dir.path().join("b.yaml")).unwrap();
    for (args, input) in writing_commands("a.yaml") {
        let output = run_bounded(stet(dir.path()).arg("--json").args(&args), input);
        let error = assert_refused(&output, 3, "ECONFLICT", &format!("{args:?}"));
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("hard link") && message.contains("--break-links"), "{args:?}: {error}");
        assert_eq!(std::fs::read_to_string(dir.path().join("a.yaml")).unwrap(), "a: 1\n", "{args:?}");
        assert_eq!(names(dir.path()), ["a.yaml", "b.yaml"], "{args:?} leaves no temporary or lock file");
    }
    let output = run_bounded(stet(dir.path()).args(["--break-links", "set", "a.yaml", "a=2"]), b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("a.yaml")).unwrap(), "a: 2\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.yaml")).unwrap(),
        "a: 1\n",
        "the other name keeps the old content"
    );
    std::fs::hard_link(dir.path().join("a.yaml"), dir.path().join("c.yaml")).unwrap();
    let output = run_bounded(stet(dir.path()).args(["write", "--break-links", "a.yaml"]), b"a: 3\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("c.yaml")).unwrap(), "a: 2\n");
}

/// Every command that reads or writes FILE, with its standard input (`stet new --template` only
/// where FILE cannot be a directory template).
fn every_command(file: &str, template: bool) -> Vec<(Vec<String>, &'static [u8])> {
    let mut commands = writing_commands(file);
    let args = |rest: &[&str]| -> Vec<String> { rest.iter().map(ToString::to_string).collect() };
    commands.push((args(&["get", file]), b""));
    commands.push((args(&["get", file, "a"]), b""));
    commands.push((args(&["version", file]), b""));
    commands.push((args(&["write", "--create-new", file]), b"x"));
    if template {
        commands.push((args(&["new", "specs", "--slug", "s", "--template", file]), b""));
    }
    commands
}

fn assert_every_command_refuses(dir: &Path, file: &str, kind: &str, still: impl Fn(&Path) -> bool) {
    for (args, input) in every_command(file, kind != "a directory") {
        let what = format!("{args:?} on {kind}");
        let output = run_bounded(stet(dir).arg("--json").args(&args), input);
        assert_eq!(output.status.code(), Some(1), "{what}: {}", stderr(&output));
        let error = json_error(&output);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(kind), "{what}: the message says what it is: {error}");
        assert!(still(&dir.join(file)), "{what} replaced it");
    }
    assert!(!dir.join("specs").exists() || names(&dir.join("specs")).is_empty(), "no entry was made");
}

#[test]
fn every_command_refuses_a_fifo_at_once_and_never_replaces_it() {
    let dir = scratch();
    let fifo = std::ffi::CString::new(dir.path().join("fifo.md").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    std::os::unix::fs::symlink("fifo.md", dir.path().join("link.md")).unwrap();
    let is_fifo = |path: &Path| std::fs::symlink_metadata(path).unwrap().file_type().is_fifo();
    assert_every_command_refuses(dir.path(), "fifo.md", "a FIFO", is_fifo);
    assert_every_command_refuses(dir.path(), "link.md", "a FIFO", |_| is_fifo(&dir.path().join("fifo.md")));
    assert!(names(dir.path()).iter().all(|name| !name.contains(".stet-")), "{:?}", names(dir.path()));
}

#[test]
fn every_command_refuses_a_device_or_socket_and_never_replaces_it() {
    let dir = scratch();
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket.md")).unwrap();
    let is_socket = |path: &Path| std::fs::symlink_metadata(path).unwrap().file_type().is_socket();
    assert_every_command_refuses(dir.path(), "socket.md", "a socket", is_socket);
    std::fs::create_dir(dir.path().join("folder.md")).unwrap();
    assert_every_command_refuses(dir.path(), "folder.md", "a directory", Path::is_dir);
    if !require_root("the device test (mknod)") {
        return;
    }
    let null = std::ffi::CString::new(dir.path().join("null.md").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; makes the character device 1:3, as /dev/null is.
    assert_eq!(unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) }, 0);
    std::os::unix::fs::symlink("null.md", dir.path().join("to-null.md")).unwrap();
    let is_device = |path: &Path| std::fs::symlink_metadata(path).unwrap().file_type().is_char_device();
    assert_every_command_refuses(dir.path(), "null.md", "a character device", is_device);
    assert_every_command_refuses(dir.path(), "to-null.md", "a character device", |_| {
        is_device(&dir.path().join("null.md"))
    });
}
