//! Processes killed with SIGKILL mid-operation: files are whole, locks recover, temp files are
//! only ever a killed process's.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{INCREMENT, names, run, scratch, stderr, stet};

const SIZE: usize = 256 * 1024;

#[test]
fn writers_killed_at_random_moments_leave_old_or_new_content_and_only_their_own_temp_files() {
    let dir = scratch();
    let file = dir.path().join("state.json");
    let contents: Vec<Vec<u8>> = (b'a'..=b'd').map(|byte| vec![byte; SIZE]).collect();
    std::fs::write(&file, &contents[0]).unwrap();
    let (mut killed, mut completed) = (0, 0);
    let mut killed_pids = Vec::new();
    for round in 0..300 {
        let content = &contents[round % contents.len()];
        let mut child = stet(dir.path())
            .args(["write", "state.json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(content);
        drop(stdin);
        std::thread::sleep(Duration::from_micros(fastrand_micros(round)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let pid = child.id();
        if status.success() {
            completed += 1;
        } else {
            killed += 1;
            killed_pids.push(pid);
        }
        let now = std::fs::read(&file).unwrap();
        assert!(contents.contains(&now), "round {round}: the file is torn ({} bytes)", now.len());
        for name in names(dir.path()) {
            if let Some(creator) = stet::atomic::temp_file_creator(&name) {
                assert!(
                    killed_pids.contains(&creator),
                    "round {round}: {name} was left by a run that completed"
                );
                assert!(stet::atomic::is_orphaned_temp_file(&name), "{name} is recognised as an orphan");
                std::fs::remove_file(dir.path().join(&name)).unwrap();
            }
        }
    }
    assert!(
        killed > 30 && completed > 30,
        "the kills must land both mid-write and after: {killed} killed, {completed} completed"
    );
}

/// A spread of delays from 0 to 6 ms, different each round.
fn fastrand_micros(round: usize) -> u64 {
    (round as u64 * 7919 + 13) % 6000
}

#[test]
fn an_updater_killed_while_holding_the_flock_does_not_block_the_next() {
    let dir = scratch();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    for _ in 0..5 {
        kill_a_holder(dir.path(), "counter.lock");
        let started = Instant::now();
        let output =
            run(stet(dir.path()).args(["--timeout", "5s", "update", "counter", "--"]).args(INCREMENT));
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(started.elapsed() < Duration::from_secs(2), "the kernel released the dead holder's lock");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("counter")).unwrap(), "5\n");
}

#[test]
fn a_killed_holders_mkdir_lock_is_taken_over_at_once_on_its_own_host() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\nstale = \"10s\"\n")
        .unwrap();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    for _ in 0..3 {
        kill_a_holder(dir.path(), "counter.lock.holder");
        assert!(dir.path().join("counter.lock").is_dir(), "a killed holder's directory stays");
        let started = Instant::now();
        let output =
            run(stet(dir.path()).args(["--timeout", "10s", "update", "counter", "--"]).args(INCREMENT));
        assert!(output.status.success(), "the abandoned lock is taken over: {}", stderr(&output));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(2),
            "its record names a dead pid here: no wait for stale ({waited:?})"
        );
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("counter")).unwrap(), "3\n");
    assert_eq!(names(dir.path()), [".stet", "counter"], "no lock, no record, no temporary file remains");
}

#[test]
fn a_mkdir_lock_whose_holder_ran_on_another_host_goes_stale_before_it_is_taken_over() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join(".stet")).unwrap();
    std::fs::write(dir.path().join(".stet/config.toml"), "[lock]\nprotocol = \"mkdir\"\nstale = \"2s\"\n")
        .unwrap();
    std::fs::write(dir.path().join("counter"), "0\n").unwrap();
    kill_a_holder(dir.path(), "counter.lock.holder");
    // The same record, as if written on another machine sharing the directory: its pid means
    // nothing here, so only staleness can free the lock.
    let record_path = dir.path().join("counter.lock.holder");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    record["host"] = "elsewhere".into();
    std::fs::write(&record_path, record.to_string()).unwrap();
    let started = Instant::now();
    let output = run(stet(dir.path()).args(["--timeout", "10s", "update", "counter", "--"]).args(INCREMENT));
    assert!(output.status.success(), "the stale lock is taken over: {}", stderr(&output));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6), "waited {waited:?}");
    assert_eq!(names(dir.path()), [".stet", "counter"]);
}

/// Starts `stet update counter -- sleep 30`, waits until it holds the lock (until `sign` appears),
/// and kills it and its command with SIGKILL.
fn kill_a_holder(dir: &std::path::Path, sign: &str) {
    let mut holder =
        stet(dir).args(["update", "counter", "--", "sleep", "30"]).process_group(0).spawn().unwrap();
    wait_for(&dir.join(sign));
    // SAFETY: killing the process group made for the holder and its command.
    unsafe { libc::kill(-(holder.id() as i32), libc::SIGKILL) };
    holder.wait().unwrap();
}

fn wait_for(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    // A record counts once written: a holder killed between creating and writing it left none.
    while !path.exists() || (path.is_file() && std::fs::metadata(path).map_or(0, |meta| meta.len()) == 0) {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}
