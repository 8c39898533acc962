//! Running the user's command under a lock: its exit status becomes stet's, and termination
//! signals sent to stet reach it, so the lock is released only after it has ended.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use stet::lock::Lock;

use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use stet::{Code, Error};

/// What the command did.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

impl Outcome {
    /// The status as a process exit code: the command's own, or 128 + the signal that killed it.
    pub fn exit_code(&self) -> u8 {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => code as u8,
            (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
            (None, None) => 1,
        }
    }
}

/// Input up to this size is written before the command's output is read: an empty pipe holds it
/// (Linux pipes hold 64 KiB), so no writer thread is needed and no deadlock is possible.
const INLINE_INPUT: usize = 16 * 1024;

/// How the command stays protected if stet itself dies (`kill -9`) while it runs: it never runs
/// on without the lock or lease it was started under.
pub enum Guard<'a> {
    /// The command inherits the flock lock file, so the lock stays held until it ends.
    InheritLock(&'a File),
    /// The command is terminated when stet dies: what protects it (a mkdir lock, a lease) lives
    /// only as long as stet refreshes it.
    EndWithStet,
}

impl<'a> Guard<'a> {
    /// The guard for a command run under `lock`.
    pub fn of(lock: &'a Lock) -> Guard<'a> {
        lock.file().map_or(Guard::EndWithStet, Guard::InheritLock)
    }
}

/// Runs `argv`, feeding `stdin` if given and capturing stdout if `capture`.
pub fn run(
    argv: &[OsString],
    env: &[(OsString, OsString)],
    stdin: Option<&[u8]>,
    capture: bool,
    guard: &Guard<'_>,
) -> Result<Outcome, Error> {
    let (program, arguments) = argv.split_first().ok_or_else(|| Error::usage("no command given after --"))?;
    let forwarding = Forwarding::install()?;
    let mut command = Command::new(program);
    command
        .args(arguments)
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::inherit() })
        .stdout(if capture { Stdio::piped() } else { Stdio::inherit() });
    // A duplicate without close-on-exec is inherited; it is closed here once the child has it.
    // (No other thread of stet starts processes, so no other child inherits it.)
    let inherited = match guard {
        Guard::InheritLock(file) => Some(
            file.try_clone_to_owned_inheritable()
                .map_err(|err| Error::new(Code::Io, format!("cannot pass the lock to the command: {err}")))?,
        ),
        Guard::EndWithStet => {
            end_with_parent(&mut command);
            None
        }
    };
    let spawned = command.spawn();
    drop(inherited);
    let mut child = spawned.map_err(|err| spawn_failure(program, &err))?;
    forwarding.target(child.id());
    let feeder = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) if bytes.len() <= INLINE_INPUT => {
            // A command that does not read its input closes the pipe early: not an error.
            let _ = pipe.write_all(bytes);
            None
        }
        (Some(bytes), Some(mut pipe)) => {
            let bytes = bytes.to_vec();
            Some(std::thread::spawn(move || drop(pipe.write_all(&bytes))))
        }
        _ => None,
    };
    let mut stdout = Vec::new();
    let read = match child.stdout.take() {
        Some(mut pipe) => pipe.read_to_end(&mut stdout).map(drop),
        None => Ok(()),
    };
    let status = child.wait();
    drop(forwarding);
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    read.map_err(|err| Error::new(Code::Io, format!("cannot read the output of the command: {err}")))?;
    let status = status.map_err(|err| Error::new(Code::Io, format!("cannot wait for the command: {err}")))?;
    Ok(Outcome { status, stdout })
}

/// A duplicate of an open file that child processes inherit (`dup` clears close-on-exec).
trait Inheritable {
    fn try_clone_to_owned_inheritable(&self) -> std::io::Result<OwnedFd>;
}

impl Inheritable for File {
    fn try_clone_to_owned_inheritable(&self) -> std::io::Result<OwnedFd> {
        // SAFETY: dup of a descriptor we own; the result is a new descriptor owned by the OwnedFd.
        let fd = unsafe { libc::dup(self.as_raw_fd()) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by dup and is owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Makes the child receive SIGTERM when stet dies (Linux `PR_SET_PDEATHSIG`); if stet died
/// before the child could ask, the child exits at once instead of running unprotected.
fn end_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the forked child before exec and calls only prctl, getppid
        // and _exit, which are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::_exit(128 + libc::SIGTERM);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Whether a command is running under stet now: termination signals then go to it, and stet
/// ends after it, instead of cleaning up and exiting at once.
pub fn running() -> bool {
    RUNNING.load(Ordering::SeqCst)
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// The command's process id, for the signal handlers; 0 until it is spawned.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// A forwarded signal that arrived before the command's pid was known; 0 for none.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// While the command runs, SIGTERM and SIGHUP sent to stet are passed on to it; SIGINT and SIGQUIT
/// (which a terminal sends to the whole process group, the command included) only stop stet from
/// dying before it. The handlers are installed before the spawn, so no signal falls in between,
/// and removed when this is dropped.
struct Forwarding(Vec<SigId>);

impl Forwarding {
    fn install() -> Result<Forwarding, Error> {
        let mut ids = Vec::new();
        for signal in [SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            let forward = signal == SIGTERM || signal == SIGHUP;
            // SAFETY: the handler only loads an atomic and calls kill(2), both async-signal-safe.
            let id = unsafe {
                signal_hook::low_level::register(signal, move || {
                    if !forward {
                        return;
                    }
                    // Recorded first, then the pid read again: either `target` sees the pending
                    // signal, or this sees the pid (both may: a second SIGTERM is harmless).
                    PENDING.store(signal, Ordering::SeqCst);
                    let pid = CHILD.load(Ordering::SeqCst);
                    if pid > 0 {
                        libc::kill(pid, signal);
                    }
                })
            }
            .map_err(|err| Error::new(Code::Io, format!("cannot handle signals: {err}")))?;
            ids.push(id);
        }
        RUNNING.store(true, Ordering::SeqCst);
        Ok(Forwarding(ids))
    }

    /// Takes `&self` so that a target can only be set while the handlers are installed.
    #[allow(clippy::unused_self)]
    fn target(&self, pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        let pending = PENDING.load(Ordering::SeqCst);
        if pending != 0 {
            // SAFETY: kill(2) on the child we just spawned.
            unsafe { libc::kill(pid as i32, pending) };
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
        CHILD.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        for id in self.0.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// As shells do: 127 when the command is missing, 126 when it cannot be run.
fn spawn_failure(program: &std::ffi::OsStr, err: &std::io::Error) -> Error {
    let name = program.to_string_lossy();
    if err.kind() == std::io::ErrorKind::NotFound {
        Error::new(Code::NotFound, format!("command not found: {name}")).with_exit_status(127)
    } else {
        Error::new(Code::Permission, format!("cannot run {name}: {err}")).with_exit_status(126)
    }
}
