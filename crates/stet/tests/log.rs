//! Event logs through the seam: every step of an append fails in turn, and a crash is simulated
//! at every step; the log never shows a torn or duplicated event, and an acknowledged append is
//! never lost. The flush comes after the write and before the acknowledgement.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use stet::atomic::Durability;
use stet::fs::{self, Fault, Faulty, Op};
use stet::lock::Locker;
use stet::log::{IdRule, Item, Reader};

use crate::support::scratch;

/// A log with a torn tail to cut, so that every step of an append happens.
fn prepare(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("events.ndjson");
    std::fs::write(&log, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"torn").unwrap();
    log
}

fn append(log: &Path, fault: Fault) -> (Result<stet::log::Appended, stet::log::LogError>, Arc<Faulty>) {
    let faulty = Arc::new(Faulty::new(fs::real(), fault));
    let locker = Locker::new().fs(faulty.clone());
    let events = [json!({"id": "c"}), json!({"id": "a"}), json!({"id": "d"})];
    (stet::log::append(&locker, Durability::Sync, log, &events, Some(&IdRule::default())), faulty)
}

fn ids(log: &Path) -> Vec<String> {
    let mut reader = Reader::open(fs::real(), log, 0).unwrap();
    let mut ids = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            Item::Event(entry) => ids.push(entry.event()["id"].as_str().unwrap().to_owned()),
            Item::Corrupt { line, .. } => panic!("line {line} is corrupt"),
        }
    }
    ids
}

#[test]
fn an_append_writes_then_releases_then_flushes_then_reports() {
    let dir = scratch();
    let log = prepare(dir.path());
    let (appended, faulty) = append(&log, Fault::None);
    let appended = appended.unwrap();
    assert_eq!((appended.appended, appended.duplicates), (2, 1));
    assert_eq!(ids(&log), ["a", "b", "c", "d"]);
    let ops: Vec<Op> = faulty.log().into_iter().map(|(op, _)| op).collect();
    let position = |op: Op| {
        ops.iter().rposition(|found| *found == op).unwrap_or_else(|| panic!("{op:?} happens: {ops:?}"))
    };
    assert!(
        position(Op::SetLen) < position(Op::WriteAt),
        "the torn tail is cut before the new lines are written"
    );
    assert!(position(Op::WriteAt) < position(Op::SyncData), "the lines are flushed after they are written");
    assert!(
        position(Op::RemoveFile) < position(Op::SyncData),
        "the lock is released before the flush, for group commit"
    );
    let rejected = std::fs::read_to_string(dir.path().join("events.ndjson.rejected")).unwrap();
    assert!(
        rejected.ends_with("}\n{\"id\":\"torn\n"),
        "the cut bytes are kept, after their header: {rejected}"
    );
}

#[test]
fn a_failure_at_any_step_never_tears_or_duplicates_an_event() {
    let dir = scratch();
    let recorded = {
        let log = prepare(dir.path());
        append(&log, Fault::None).1.log()
    };
    let mut failures = 0;
    for (at, (op, _)) in recorded.iter().enumerate() {
        let nth = recorded[..at].iter().filter(|(earlier, _)| earlier == op).count();
        let case = scratch();
        let log = prepare(case.path());
        let (result, faulty) = append(&log, Fault::Fail { op: *op, nth, errno: libc::EIO });
        assert!(faulty.fired(), "the fault on {op:?} #{nth} fires");
        let found = ids(&log);
        let mut unique = found.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            found.len(),
            "after {op:?} #{nth} failed, no event is there twice: {found:?}"
        );
        assert!(found.starts_with(&["a".to_owned(), "b".to_owned()]), "the events before stay: {found:?}");
        if result.is_ok() {
            assert_eq!(found, ["a", "b", "c", "d"], "{op:?} #{nth} did not matter");
        } else {
            failures += 1;
            // Retrying appends what is missing, and nothing twice.
            let (retry, _) = append(&log, Fault::None);
            retry.unwrap();
            assert_eq!(
                ids(&log),
                ["a", "b", "c", "d"],
                "after {op:?} #{nth} failed, a retry completes the log"
            );
        }
    }
    assert!(failures >= 10, "most steps fail the append ({failures} did)");
}

#[test]
fn a_crash_at_any_step_leaves_a_log_that_reads_cleanly_and_a_retry_completes_it() {
    let dir = scratch();
    let steps = append(&prepare(dir.path()), Fault::None).1.log().len();
    for step in 0..=steps {
        let case = scratch();
        let log = prepare(case.path());
        let (result, _) = append(&log, Fault::CrashAt { step });
        let found = ids(&log);
        assert!(
            found.starts_with(&["a".to_owned(), "b".to_owned()]),
            "after a crash at step {step}: {found:?}"
        );
        if result.is_ok() {
            assert_eq!(found, ["a", "b", "c", "d"], "an acknowledged append is there");
        }
        let (retry, _) = append(&log, Fault::None);
        retry.unwrap();
        assert_eq!(
            ids(&log),
            ["a", "b", "c", "d"],
            "after a crash at step {step}, a retry appends exactly what is missing"
        );
        let events: Vec<Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(events.len(), 4, "the file holds exactly the four events, whole");
    }
}

#[test]
fn appenders_that_keep_their_files_open_lose_nothing_and_follow_a_repaired_log() {
    let dir = scratch();
    let log = dir.path().join("events.ndjson");
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let log = &log;
            scope.spawn(move || {
                let mut appender =
                    stet::log::Appender::open(&Locker::new(), Durability::Sync, log, Some(IdRule::default()))
                        .unwrap();
                for n in 0..200 {
                    let event = json!({"id": format!("w{writer}-{n}")});
                    appender.append(std::slice::from_ref(&event)).unwrap();
                    assert_eq!(
                        appender.append(&[event]).unwrap().duplicates,
                        1,
                        "a resent event is a duplicate"
                    );
                }
            });
        }
    });
    assert_eq!(ids(&log).len(), 800, "every event once");

    let locker = Locker::new();
    let mut appender =
        stet::log::Appender::open(&locker, Durability::Sync, &log, Some(IdRule::default())).unwrap();
    appender.append(&[json!({"id": "before"})]).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"bad\n{\"id\":\"x\"}\n"))
        .unwrap();
    stet::log::repair(&locker, &stet::atomic::Writer::new(), &log).unwrap();
    appender.append(&[json!({"id": "after"})]).unwrap();
    let found = ids(&log);
    assert_eq!(found[found.len() - 3..], ["before", "x", "after"], "the appender wrote to the repaired log");
    drop(appender);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "the lock file goes with the appender: {leftovers:?}");
}

#[test]
fn an_appender_sees_what_others_did_to_the_log_between_its_appends() {
    let dir = scratch();
    let log = dir.path().join("events.ndjson");
    let open = || {
        stet::log::Appender::open(&Locker::new(), Durability::Sync, &log, Some(IdRule::default())).unwrap()
    };
    let (mut first, mut second) = (open(), open());
    first.append(&[json!({"id": "a"}), json!({"id": "b"})]).unwrap();
    second.append(&[json!({"id": "c"})]).unwrap();
    assert_eq!(first.append(&[json!({"id": "c"})]).unwrap().duplicates, 1, "another appender's event");

    // Rewritten by hand to the same length: the change time tells.
    let text = std::fs::read_to_string(&log).unwrap().replacen("\"a\"", "\"z\"", 1);
    std::fs::write(&log, text).unwrap();
    assert_eq!(first.append(&[json!({"id": "z"})]).unwrap().duplicates, 1, "an event written by hand");

    // A torn tail left by someone else is cut before the next event.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"{\"id\":\"torn"))
        .unwrap();
    assert_eq!(first.append(&[json!({"id": "d"})]).unwrap().appended, 1);
    assert_eq!(ids(&log), ["z", "b", "c", "d"]);
    let rejected = std::fs::read_to_string(dir.path().join("events.ndjson.rejected")).unwrap();
    assert!(
        rejected.ends_with("}\n{\"id\":\"torn\n"),
        "the cut bytes are kept, after their header: {rejected}"
    );
}

/// A log without a torn tail or an index: the append builds the index.
fn plain_log(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("events.ndjson");
    std::fs::write(&log, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n").unwrap();
    log
}

#[test]
fn an_index_that_cannot_be_written_never_fails_an_append() {
    for (op, errno) in [(Op::CreateNew, libc::ENOSPC), (Op::Write, libc::ENOSPC), (Op::Write, libc::EDQUOT)] {
        let dir = scratch();
        let log = plain_log(dir.path());
        let (appended, faulty) = append(&log, Fault::Fail { op, nth: 0, errno });
        assert!(faulty.fired(), "{op:?} failed");
        let appended =
            appended.unwrap_or_else(|err| panic!("{op:?} failing with {errno} fails the append: {err}"));
        assert_eq!((appended.appended, appended.duplicates), (2, 1), "{op:?}: duplicates found without it");
        assert!(
            appended
                .index_notice
                .as_ref()
                .is_some_and(|notice| notice.to_string().contains(".events.ndjson.stet-index")),
            "{op:?}: the append says the index could not be used, naming it: {:?}",
            appended.index_notice
        );
        assert_eq!(ids(&log), ["a", "b", "c", "d"]);
        assert_eq!(
            crate::support::temp_files(dir.path()),
            Vec::<std::path::PathBuf>::new(),
            "{op:?}: no temp file left"
        );
        let (retry, _) = append(&log, Fault::None);
        assert_eq!(retry.unwrap().duplicates, 3, "{op:?}: the next append builds the index and finds them");
    }
}

#[test]
fn every_temporary_file_the_log_makes_is_named_for_stet_recover() {
    let dir = scratch();
    let log = prepare(dir.path());
    let faulty = Arc::new(Faulty::new(fs::real(), Fault::None));
    let locker = Locker::new().fs(faulty.clone());
    let rule = IdRule::default();
    // A first index, then enough events to make it grow.
    let events: Vec<Value> = (0..700).map(|n| json!({"id": n})).collect();
    stet::log::append(&locker, Durability::Sync, &log, &events[..1], Some(&rule)).unwrap();
    stet::log::append(&locker, Durability::Sync, &log, &events, Some(&rule)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"bad\n{\"id\":\"x\"}\n"))
        .unwrap();
    stet::log::repair(&locker, &stet::atomic::Writer::new().fs(faulty.clone()), &log).unwrap();
    let made: Vec<String> = faulty
        .log()
        .into_iter()
        .filter(|(op, _)| *op == Op::CreateNew)
        .filter_map(|(_, path)| path)
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let temporary: Vec<&String> = made
        .iter()
        .filter(|name| Path::new(name).extension().is_some_and(|extension| extension == "tmp"))
        .collect();
    assert!(temporary.len() >= 3, "the index was built, grown and the log repaired: {made:?}");
    for name in made.iter().filter(|name| !name.ends_with(".rejected")) {
        assert_eq!(
            stet::atomic::temp_file_creator(name),
            Some(std::process::id()),
            "{name} is named as stet recover recognises"
        );
    }
}
