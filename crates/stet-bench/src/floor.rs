//! The workers: the bare-syscall floor and stet as a library, doing N locked durable increments.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Instant;

use stet::atomic::Writer;
use stet::lock::{LockFile, Locker, Wait};

fn parse_counter(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

/// The floor: a lock file kept open, flock, read, temp write, fsync, rename, fsync dir, unlock.
pub struct Floor {
    lock: File,
    dir: File,
    temp_serial: u64,
}

impl Floor {
    pub fn open(path: &Path) -> io::Result<Floor> {
        let lock_path = format!("{}.lock", path.display());
        let lock = File::options().read(true).write(true).create(true).truncate(false).open(lock_path)?;
        let dir =
            File::open(path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")))?;
        Ok(Floor { lock, dir, temp_serial: 0 })
    }

    /// Under the lock, replaces `path`'s content with what `edit` makes of it; returns the time
    /// spent waiting for the lock.
    pub fn edit(
        &mut self,
        path: &Path,
        edit: impl FnOnce(Vec<u8>) -> io::Result<Vec<u8>>,
    ) -> io::Result<std::time::Duration> {
        let asked = Instant::now();
        self.lock.lock()?;
        let waited = asked.elapsed();
        let mut bytes = Vec::new();
        File::open(path)?.read_to_end(&mut bytes)?;
        let new = edit(bytes)?;
        self.temp_serial += 1;
        let temp = format!("{}.floor-{}-{}", path.display(), std::process::id(), self.temp_serial);
        let mut file = File::options().write(true).create_new(true).mode(0o644).open(&temp)?;
        file.write_all(&new)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        self.dir.sync_all()?;
        self.lock.unlock()?;
        Ok(waited)
    }

    /// An increment. With `helper`, the new content is what that command prints when given the
    /// old content, as `stet update` does.
    fn increment(&mut self, path: &Path, helper: Option<&[String]>) -> io::Result<std::time::Duration> {
        self.edit(path, |bytes| match helper {
            Some(argv) => run_helper(argv, &bytes),
            None => Ok(format!("{}\n", parse_counter(&bytes) + 1).into_bytes()),
        })
    }
}

/// `worker floor|lib FILE N`: prints `{"ops", "seconds", "waits_us"}`.
pub fn worker(kind: &str, path: &Path, ops: usize) -> io::Result<()> {
    let mut waits = Vec::with_capacity(ops);
    let started = Instant::now();
    match kind {
        "floor" => {
            let mut floor = Floor::open(path)?;
            for _ in 0..ops {
                waits.push(floor.increment(path, None)?);
            }
        }
        "lib" => {
            let locker = Locker::new().wait(Wait::Forever);
            let writer = Writer::new();
            for _ in 0..ops {
                let asked = Instant::now();
                let lock = locker.lock(path).map_err(io::Error::other)?;
                waits.push(asked.elapsed());
                let bytes = std::fs::read(lock.path())?;
                let staged = writer
                    .stage(lock.path(), format!("{}\n", parse_counter(&bytes) + 1).as_bytes())
                    .map_err(io::Error::other)?;
                lock.check().map_err(io::Error::other)?;
                staged.commit().map_err(io::Error::other)?;
                lock.release().map_err(io::Error::other)?;
            }
        }
        "lib-kept" => {
            let locker = Locker::new().wait(Wait::Forever);
            let mut lock_file = LockFile::open(&locker, path).map_err(io::Error::other)?;
            let writer = Writer::new();
            for _ in 0..ops {
                let asked = Instant::now();
                let guard = lock_file.lock().map_err(io::Error::other)?;
                waits.push(asked.elapsed());
                let bytes = std::fs::read(path)?;
                writer
                    .write(path, format!("{}\n", parse_counter(&bytes) + 1).as_bytes())
                    .map_err(io::Error::other)?;
                drop(guard);
            }
        }
        other => return Err(io::Error::other(format!("unknown worker kind {other}"))),
    }
    print_stats(ops, started.elapsed(), &waits);
    Ok(())
}

/// What a worker prints: `{"ops", "seconds", "waits_us"}`.
pub fn print_stats(ops: usize, elapsed: std::time::Duration, waits: &[std::time::Duration]) {
    let waits_us: Vec<f64> = waits.iter().map(|wait| wait.as_secs_f64() * 1e6).collect();
    println!("{}", serde_json::json!({ "ops": ops, "seconds": elapsed.as_secs_f64(), "waits_us": waits_us }));
}

/// `once FILE [HELPER...]`: one floor increment, for the floor that starts a process per
/// operation; with a helper command, that command computes the new content.
pub fn increment_once(path: &Path, helper: &[String]) -> io::Result<()> {
    Floor::open(path)?.increment(path, (!helper.is_empty()).then_some(helper)).map(drop)
}

fn run_helper(argv: &[String], input: &[u8]) -> io::Result<Vec<u8>> {
    let mut child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("stdin is piped").write_all(input)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(io::Error::other("the helper failed"));
    }
    Ok(output.stdout)
}

/// `incr`: the command `stet update` runs: reads a counter on stdin, prints it plus one.
pub fn incr_stdin() -> io::Result<()> {
    let mut bytes = Vec::new();
    io::stdin().read_to_end(&mut bytes)?;
    println!("{}", parse_counter(&bytes) + 1);
    Ok(())
}
