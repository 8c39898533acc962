//! Simulated power loss: stet writes on a loop-mounted XFS image, then the file system is cut off
//! without flushing anything (`xfs_io -x -c shutdown`, no `-f`), as a power failure would, and is
//! mounted again. What stet reported as written must be there; what `--no-sync` wrote is expected
//! to be lost, which shows the harness really drops unflushed state (so a missing fsync fails).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{Disk, require_root, run_with_input, sh, stderr, stet};

fn write(dir: &Path, args: &[&str], content: &[u8]) {
    let output = run_with_input(stet(dir).args(args), content);
    assert!(output.status.success(), "stet {args:?}: {}", stderr(&output));
}

#[test]
fn what_stet_reported_written_survives_a_power_loss_and_no_sync_writes_do_not() {
    if !require_root("the power-loss test (loop devices, mount)") {
        return;
    }
    let disk = Disk::new();
    let dir = disk.mount.as_path();
    let (mut durable_rounds, mut lost_without_sync) = (0, 0);
    for round in 0..4 {
        let old = format!("old content of round {round}\n").repeat(100);
        let new = format!("new content of round {round}\n").repeat(200);
        write(dir, &["write", "story.md"], old.as_bytes());
        sh("sync", &[]);
        // A replacement and a creation, both reported durable.
        write(dir, &["write", "story.md"], new.as_bytes());
        write(dir, &["write", &format!("created-{round}.md")], new.as_bytes());
        disk.crash_and_remount();
        for name in ["story.md".to_owned(), format!("created-{round}.md")] {
            let found = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
            assert!(
                found == new,
                "round {round}: {name} lost a reported write: {} bytes, {:?}...",
                found.len(),
                found.lines().next()
            );
        }
        durable_rounds += 1;

        // The control: the same without fsync is atomic but not durable.
        write(dir, &["--no-sync", "write", "story.md"], old.as_bytes());
        disk.crash_and_remount();
        let after = std::fs::read_to_string(dir.join("story.md")).unwrap();
        assert!(
            after == new || after == old || after.is_empty(),
            "round {round}: torn content after a crash"
        );
        if after != old {
            lost_without_sync += 1;
        }
    }
    assert_eq!(durable_rounds, 4);
    assert!(
        lost_without_sync > 0,
        "the simulated power loss never lost an unsynced write: the harness proves nothing"
    );
}

/// Appends one event per call until one fails or the power is being cut; returns the ids
/// acknowledged before the cut began. An append acknowledged while the cut is under way does not
/// count: it may have been told its flush succeeded by a file system that was already shutting
/// down (XFS aborts the pending log and so unpins the inode, and an `fdatasync` that checks the
/// pin afterwards returns 0), which a real power loss would never let a process observe.
fn append_until_failure(dir: &Path, writer: usize, sync: bool, cutting: &AtomicBool) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for n in 0.. {
        let id = format!("w{writer}-{n}");
        let event = format!("{{\"id\":\"{id}\",\"pad\":\"{}\"}}", "x".repeat(n % 200));
        let mut command = stet(dir);
        if !sync {
            command.arg("--no-sync");
        }
        let output = command.args(["--json", "log", "append", "events.ndjson", &event]).output().unwrap();
        if !output.status.success() || cutting.load(Ordering::SeqCst) {
            return acknowledged;
        }
        acknowledged.push(id);
    }
    unreachable!()
}

/// The ids `stet log read` shows, after checking that every line it prints is a whole event.
fn logged_ids(dir: &Path) -> Vec<String> {
    let output = stet(dir).args(["log", "read", "events.ndjson"]).output().unwrap();
    assert!(output.status.success(), "read: {}", stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|err| panic!("garbage line {line:?}: {err}"));
            event["id"].as_str().expect("an id").to_owned()
        })
        .collect()
}

#[test]
fn appends_acknowledged_before_a_power_loss_survive_it_and_the_log_reads_cleanly() {
    if !require_root("the power-loss test (loop devices, mount)") {
        return;
    }
    let disk = Disk::new();
    let dir = disk.mount.as_path();
    let mut lost_without_sync = 0;
    for round in 0..3 {
        for sync in [true, false] {
            let _ = std::fs::remove_file(dir.join("events.ndjson"));
            let cutting = AtomicBool::new(false);
            let acknowledged: Vec<Vec<String>> = std::thread::scope(|scope| {
                let writers: Vec<_> = (0..4)
                    .map(|writer| {
                        let cutting = &cutting;
                        scope.spawn(move || append_until_failure(dir, writer, sync, cutting))
                    })
                    .collect();
                std::thread::sleep(std::time::Duration::from_millis(400 + 150 * round));
                cutting.store(true, Ordering::SeqCst);
                disk.cut_power();
                writers.into_iter().map(|writer| writer.join().unwrap()).collect()
            });
            disk.remount();
            let found: std::collections::HashSet<String> = logged_ids(dir).into_iter().collect();
            let missing: Vec<&String> =
                acknowledged.iter().flatten().filter(|id| !found.contains(*id)).collect();
            assert!(acknowledged.iter().all(|ids| !ids.is_empty()), "round {round}: every writer appended");
            if sync {
                if !missing.is_empty() {
                    let raw = std::fs::read(dir.join("events.ndjson")).unwrap_or_default();
                    let verified = stet(dir).args(["log", "verify", "events.ndjson"]).output().unwrap();
                    let in_raw: Vec<bool> = missing
                        .iter()
                        .map(|id| raw.windows(id.len() + 2).any(|w| w == format!("\"{id}\"").as_bytes()))
                        .collect();
                    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(600)..]).into_owned();
                    panic!(
                        "round {round}: acknowledged events lost: {missing:?}; in the raw bytes: {in_raw:?}; {} bytes; verify: {} {}; tail: {tail:?}; acknowledged counts {:?}",
                        raw.len(),
                        String::from_utf8_lossy(&verified.stdout),
                        stderr(&verified),
                        acknowledged.iter().map(Vec::len).collect::<Vec<_>>()
                    );
                }
                // The next append cuts whatever the crash tore and lands on a clean line.
                let output =
                    stet(dir).args(["log", "append", "events.ndjson", r#"{"id":"after"}"#]).output().unwrap();
                assert!(output.status.success(), "append after the crash: {}", stderr(&output));
                assert_eq!(logged_ids(dir).last().map(String::as_str), Some("after"));
                let verified = stet(dir).args(["log", "verify", "events.ndjson"]).output().unwrap();
                assert!(
                    verified.status.success(),
                    "round {round}: verify after the append: {}",
                    stderr(&verified)
                );
            } else if !missing.is_empty() {
                lost_without_sync += 1;
            }
        }
    }
    assert!(
        lost_without_sync > 0,
        "the simulated power loss never lost an unflushed append: the harness proves nothing"
    );
}
