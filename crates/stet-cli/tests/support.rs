//! Running `stet` and its peers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("stet-cli-test-").tempdir().expect("a temporary directory can be made")
}

/// The binary under test: this build, or `$STET_TEST_BIN` (to see a new test fail on an older build).
pub fn stet_bin() -> PathBuf {
    std::env::var_os("STET_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_stet")), PathBuf::from)
}

/// `stet` run in `dir`, with none of the caller's stet environment.
pub fn stet(dir: &Path) -> Command {
    let mut command = Command::new(stet_bin());
    command.current_dir(dir);
    for var in ["STET_ROOT", "STET_OWNER", "STET_HELD_LOCKS", "STET_HELD_LOCKS_PID"] {
        command.env_remove(var);
    }
    command
}

/// Runs `command` with `input` on stdin. A command that exits without reading its input (a usage error, say)
/// closes the pipe early; that is its right, so a broken pipe here is not a failure.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    match stdin.write_all(input) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin refused the input: {err}"),
        _ => drop(stdin),
    }
    child.wait_with_output().expect("the command ends")
}

pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("the command runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON error object a `--json` failure prints on stderr.
pub fn json_error(output: &Output) -> serde_json::Value {
    let text = stderr(output);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|err| panic!("stderr is not one JSON object ({err}): {text}"));
    value["error"].clone()
}

pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory is readable")
        .map(|entry| entry.expect("entries are readable").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Tests that need root (mounts, another user) fail loudly without it, unless explicitly skipped.
pub fn require_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("STET_SKIP_ROOT_TESTS").is_some(),
        "{what} needs root (mount, setpriv); run as root or set STET_SKIP_ROOT_TESTS=1 to skip"
    );
    false
}

/// Where the Node and Python peers live (installed by `scripts/test`).
pub fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    assert!(
        dir.join("node_modules/proper-lockfile").is_dir(),
        "the Node peers are not installed: run scripts/test, or `npm ci` in tests/interop"
    );
    dir
}

/// The shell increment used as an update command.
pub const INCREMENT: [&str; 3] = ["sh", "-c", "read n; echo $((n+1))"];

/// A tmpfs mounted for one test, unmounted when dropped.
pub struct Mount(pub PathBuf);

impl Mount {
    pub fn tmpfs(at: &Path, options: &str) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs at {}", at.display());
        Mount(at.to_path_buf())
    }

    pub fn remount(&self, options: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Longer than any refusal takes; a command still running then is blocked on the file.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `command` with `input` on stdin, and fails the test (after killing it) if it has not
/// ended within [`HANG`].
pub fn run_bounded(command: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the command starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A refusal may come before stdin is read; the pipe then closes early, which is its right.
    let _ = stdin.write_all(input);
    drop(stdin);
    let started = std::time::Instant::now();
    while child.try_wait().expect("the child can be waited for").is_none() {
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} blocked for {HANG:?} instead of refusing at once");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().expect("the command ends")
}

/// Runs `program`, which must succeed; its trimmed stdout.
pub fn sh(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// An XFS file system on a loop device, mounted at `mount`, whose power can be cut (see
/// `power.rs`); detached when dropped.
pub struct Disk {
    device: String,
    pub mount: PathBuf,
    _image_dir: tempfile::TempDir,
}

impl Disk {
    pub fn new() -> Disk {
        for tool in ["mkfs.xfs", "xfs_io", "losetup"] {
            assert!(
                Command::new("sh").args(["-c", &format!("command -v {tool}")]).status().unwrap().success(),
                "{tool} is missing: install xfsprogs (.ci/run does)"
            );
        }
        let image_dir = scratch();
        let image = image_dir.path().join("disk.img");
        std::fs::File::create(&image).unwrap().set_len(320 * 1024 * 1024).unwrap();
        let device = sh("losetup", &["--find", "--show", image.to_str().unwrap()]);
        sh("mkfs.xfs", &["-q", &device]);
        let mount = image_dir.path().join("mnt");
        std::fs::create_dir(&mount).unwrap();
        let disk = Disk { device, mount, _image_dir: image_dir };
        disk.mount();
        disk
    }

    fn mount(&self) {
        sh("mount", &[&self.device, self.mount.to_str().unwrap()]);
    }

    /// Power loss: nothing unflushed reaches the disk; then mount again (log recovery runs).
    pub fn crash_and_remount(&self) {
        self.cut_power();
        self.remount();
    }

    /// Cuts the file system off: from now on every write and flush fails, and what was not
    /// flushed is gone.
    pub fn cut_power(&self) {
        sh("xfs_io", &["-x", "-c", "shutdown", self.mount.to_str().unwrap()]);
    }

    /// After [`Disk::cut_power`], once nothing has files open there: mount again.
    pub fn remount(&self) {
        sh("umount", &[self.mount.to_str().unwrap()]);
        self.mount();
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}
