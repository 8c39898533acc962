//! Locks within one process (threads) and the on-disk protocols. Races between real processes
//! are in the CLI's tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use stet::fs::{self, Fault, Faulty, Op};
use stet::lock::{LockError, LockKind, Locker, Protocol, Wait};

use crate::support::{names, scratch};

const MKDIR: Protocol = Protocol::Mkdir { stale: Duration::from_secs(2) };

fn target(dir: &Path) -> PathBuf {
    let path = dir.join("counter.txt");
    std::fs::write(&path, "0").unwrap();
    path
}

#[test]
fn threads_holding_the_lock_never_overlap_in_either_protocol() {
    for protocol in [Protocol::Flock, MKDIR] {
        let started = Instant::now();
        let dir = scratch();
        let path = target(dir.path());
        let inside = Arc::new(AtomicUsize::new(0));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside, overlaps) = (path.clone(), inside.clone(), overlaps.clone());
                std::thread::spawn(move || {
                    let locker = Locker::new().protocol(protocol).wait(Wait::Forever);
                    for _ in 0..50 {
                        let lock = locker.lock(&path).expect("the lock is eventually free");
                        if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.release().unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        eprintln!("{protocol:?}: {:?}", started.elapsed());
        assert_eq!(overlaps.load(Ordering::SeqCst), 0, "{protocol:?}: two holders were inside at once");
        assert_eq!(names(dir.path()), ["counter.txt"], "{protocol:?}: no lock file or directory remains");
    }
}

#[test]
fn flock_writes_the_holder_record_into_the_lock_file_and_removes_it_on_release() {
    let dir = scratch();
    let path = target(dir.path());
    let lock = Locker::new().owner(Some("story-42".into())).lock(&path).unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("counter.txt.lock")).unwrap())
            .expect("the lock file holds a JSON record");
    assert_eq!(record["pid"], std::process::id());
    assert_eq!(record["owner"], "story-42");
    assert!(record["host"].is_string() && record["since"].is_string() && record["command"].is_string());
    lock.release().unwrap();
    assert_eq!(names(dir.path()), ["counter.txt"]);
}

#[test]
fn shared_holders_coexist_and_exclude_an_exclusive_one_and_the_last_removes_the_file() {
    let dir = scratch();
    let path = target(dir.path());
    let first = Locker::new().acquire(&path, LockKind::Shared).unwrap();
    let second = std::thread::scope(|scope| {
        scope.spawn(|| Locker::new().wait(Wait::Immediately).acquire(&path, LockKind::Shared)).join().unwrap()
    })
    .expect("a second shared holder gets in");
    let exclusive = std::thread::scope(|scope| {
        scope.spawn(|| Locker::new().wait(Wait::Immediately).lock(&path)).join().unwrap()
    });
    assert!(
        matches!(exclusive, Err(LockError::Timeout { .. })),
        "an exclusive holder must wait for shared ones"
    );
    first.release().unwrap();
    assert!(
        dir.path().join("counter.txt.lock").exists(),
        "the lock file stays while a shared holder remains"
    );
    second.release().unwrap();
    assert_eq!(names(dir.path()), ["counter.txt"], "the last shared holder removes the lock file");
}

#[test]
fn asking_again_for_a_held_lock_fails_at_once_instead_of_deadlocking() {
    for protocol in [Protocol::Flock, MKDIR] {
        let dir = scratch();
        let path = target(dir.path());
        let locker = Locker::new().protocol(protocol).wait(Wait::For(Duration::from_secs(30)));
        let held = locker.lock(&path).unwrap();
        let started = Instant::now();
        let again = locker.lock(&dir.path().join(".").join("counter.txt"));
        assert!(
            matches!(again, Err(LockError::AlreadyHeld { ancestor: false, .. })),
            "{protocol:?}: {again:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "the refusal must be immediate");
        drop(held);
        locker.lock(&path).expect("after release the lock can be taken again").release().unwrap();
    }
}

#[test]
fn a_timeout_names_the_holder() {
    for protocol in [Protocol::Flock, MKDIR] {
        let dir = scratch();
        let path = target(dir.path());
        let held = Locker::new().protocol(protocol).owner(Some("agent-7".into())).lock(&path).unwrap();
        let noticed = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let result = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let noticed = noticed.clone();
                    Locker::new()
                        .protocol(protocol)
                        .wait(Wait::For(Duration::from_millis(1300)))
                        .on_long_wait(move |notice| {
                            assert_eq!(
                                notice.holder.as_ref().map(|holder| holder.pid),
                                Some(std::process::id())
                            );
                            noticed.store(true, Ordering::SeqCst);
                        })
                        .lock(&path)
                })
                .join()
                .unwrap()
        });
        let waited = started.elapsed();
        let Err(LockError::Timeout { holder: Some(holder), .. }) = &result else {
            panic!("{protocol:?}: expected a timeout naming the holder, got {result:?}")
        };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.owner.as_deref(), Some("agent-7"));
        assert!(result.as_ref().unwrap_err().to_string().contains("agent-7"), "the message names the owner");
        assert!(
            waited >= Duration::from_millis(1300) && waited < Duration::from_secs(3),
            "waited {waited:?}"
        );
        assert!(noticed.load(Ordering::SeqCst), "{protocol:?}: a wait over a second gives the notice once");
        held.release().unwrap();
    }
}

#[test]
fn a_mkdir_lock_is_an_empty_directory_with_its_holder_record_beside_it() {
    let dir = scratch();
    let path = target(dir.path());
    let lock = Locker::new().protocol(MKDIR).lock(&path).unwrap();
    let lock_dir = dir.path().join("counter.txt.lock");
    assert!(lock_dir.is_dir(), "proper-lockfile's lock is a directory");
    assert!(names(&lock_dir).is_empty(), "it must stay empty, or proper-lockfile's rmdir fails");
    assert!(dir.path().join("counter.txt.lock.holder").is_file(), "the holder record lives beside it");
    lock.release().unwrap();
    assert_eq!(names(dir.path()), ["counter.txt"]);
}

fn make_stale_lock_dir(lock_dir: &Path, age: Duration) {
    std::fs::create_dir(lock_dir).unwrap();
    std::fs::File::open(lock_dir).unwrap().set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn a_stale_mkdir_lock_is_taken_over_and_a_fresh_one_is_not() {
    let dir = scratch();
    let path = target(dir.path());
    let lock_dir = dir.path().join("counter.txt.lock");
    make_stale_lock_dir(&lock_dir, Duration::from_secs(1));
    let fresh = Locker::new().protocol(MKDIR).wait(Wait::Immediately).lock(&path);
    assert!(
        matches!(fresh, Err(LockError::Timeout { holder: None, .. })),
        "a lock refreshed 1 s ago is live: {fresh:?}"
    );
    std::fs::remove_dir(&lock_dir).unwrap();

    make_stale_lock_dir(&lock_dir, Duration::from_secs(60));
    let lock = Locker::new()
        .protocol(MKDIR)
        .wait(Wait::Immediately)
        .lock(&path)
        .expect("a stale lock is taken over");
    let age = SystemTime::now()
        .duration_since(std::fs::metadata(&lock_dir).unwrap().modified().unwrap())
        .unwrap_or_default();
    assert!(age < Duration::from_secs(1), "the taken-over lock is fresh");
    lock.release().unwrap();
    assert_eq!(names(dir.path()), ["counter.txt"], "the steal guard leaves nothing behind");
}

#[test]
fn a_mkdir_lock_taken_over_by_another_process_is_reported_compromised_and_left_alone() {
    let dir = scratch();
    let path = target(dir.path());
    let lock_dir = dir.path().join("counter.txt.lock");
    let lock = Locker::new().protocol(MKDIR).lock(&path).unwrap();
    lock.check().expect("a fresh lock is ours");
    // What a proper-lockfile peer does when it judges the lock stale: rmdir, then mkdir.
    std::fs::remove_dir(&lock_dir).unwrap();
    std::fs::create_dir(&lock_dir).unwrap();
    assert!(matches!(lock.check(), Err(LockError::Compromised { .. })), "a replaced directory is not ours");
    assert!(matches!(lock.release(), Err(LockError::Compromised { .. })));
    assert!(lock_dir.is_dir(), "the new holder's lock must not be removed");

    std::fs::remove_dir(&lock_dir).unwrap();
    let lock = Locker::new().protocol(MKDIR).lock(&path).unwrap();
    std::fs::File::open(&lock_dir).unwrap().set_modified(SystemTime::now()).unwrap();
    assert!(
        matches!(lock.check(), Err(LockError::Compromised { .. })),
        "an mtime someone else set means a takeover"
    );
}

#[test]
fn the_heartbeat_keeps_a_mkdir_lock_alive_far_beyond_its_stale_time() {
    let dir = scratch();
    let path = target(dir.path());
    let lock = Locker::new().protocol(MKDIR).lock(&path).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let rival = std::thread::scope(|scope| {
            scope.spawn(|| Locker::new().protocol(MKDIR).wait(Wait::Immediately).lock(&path)).join().unwrap()
        });
        assert!(
            matches!(rival, Err(LockError::Timeout { .. })),
            "a held lock must never look stale: {rival:?}"
        );
        std::thread::sleep(Duration::from_millis(400));
    }
    lock.check().expect("the holder still owns it");
    lock.release().unwrap();
}

#[test]
fn lock_all_takes_locks_in_one_order_so_opposite_requests_never_deadlock() {
    let dir = scratch();
    let a = target(dir.path());
    let b = dir.path().join("b.txt");
    std::fs::write(&b, "").unwrap();
    let rounds = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for order in [[&a, &b], [&b, &a]] {
            let rounds = rounds.clone();
            scope.spawn(move || {
                let locker = Locker::new().wait(Wait::For(Duration::from_secs(20)));
                for _ in 0..200 {
                    let held =
                        locker.lock_all(&[order[0].as_path(), order[1].as_path()]).expect("no deadlock");
                    assert_eq!(held.len(), 2);
                    rounds.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(rounds.load(Ordering::SeqCst), 400);
}

#[test]
fn a_failure_while_locking_leaves_no_lock_file() {
    // A failed flock call is left out: without the lock, removing the file could break another
    // holder's exclusion, so the (empty, harmless) file stays for the next holder to reuse.
    for op in [Op::OpenSideFile, Op::FileMetadata, Op::SymlinkMetadata, Op::Overwrite] {
        let dir = scratch();
        let path = target(dir.path());
        let faulty = Arc::new(Faulty::new(fs::real(), Fault::Fail { op, nth: 0, errno: libc::EIO }));
        let result = Locker::new().fs(faulty.clone()).lock(&path);
        assert!(faulty.fired(), "{op:?} was not reached");
        assert!(matches!(result, Err(LockError::Io { .. })), "{op:?}: {result:?}");
        assert_eq!(names(dir.path()), ["counter.txt"], "{op:?}: nothing may be left behind");
    }
}

#[test]
fn a_lock_is_released_when_its_holder_panics() {
    let dir = scratch();
    let path = target(dir.path());
    let thread_path = path.clone();
    let panicked = std::thread::spawn(move || {
        let _lock = stet::lock::lock(&thread_path).unwrap();
        panic!("the holder fails mid-work");
    })
    .join();
    assert!(panicked.is_err());
    Locker::new()
        .wait(Wait::Immediately)
        .lock(&path)
        .expect("the panic released the lock")
        .release()
        .unwrap();
}

#[test]
fn kept_open_lock_files_exclude_ordinary_locks_and_survive_their_removal() {
    let dir = scratch();
    let path = target(dir.path());
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (path, inside, overlaps) = (&path, inside.clone(), overlaps.clone());
            scope.spawn(move || {
                let locker = Locker::new().wait(Wait::Forever);
                let mut kept = stet::lock::LockFile::open(&locker, path).unwrap();
                for _ in 0..100 {
                    // Half the threads keep their lock file open, half take ordinary locks, which
                    // remove the file on release: the kept ones must notice and reopen.
                    let critical = || {
                        if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    };
                    if thread % 2 == 0 {
                        let _guard = kept.lock().unwrap();
                        critical();
                    } else {
                        let _lock = locker.lock(path).unwrap();
                        critical();
                    }
                }
            });
        }
    });
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two holders were inside at once");
    assert_eq!(names(dir.path()), ["counter.txt"], "dropped lock files are removed");
}

#[test]
fn a_kept_open_lock_file_stays_while_open_and_refuses_a_second_lock_in_the_same_thread() {
    let dir = scratch();
    let path = target(dir.path());
    let mut kept = stet::lock::LockFile::open(&Locker::new(), &path).unwrap();
    let guard = kept.lock().unwrap();
    let again = Locker::new().wait(Wait::For(Duration::from_secs(30))).lock(&path);
    assert!(matches!(again, Err(LockError::AlreadyHeld { .. })), "{again:?}");
    drop(guard);
    assert!(dir.path().join("counter.txt.lock").exists(), "the file stays while the handle is open");
    Locker::new().wait(Wait::Immediately).lock(&path).expect("unlocked between guards").release().unwrap();
    drop(kept.lock().expect("relocks after another holder removed the file"));
    drop(kept);
    assert_eq!(names(dir.path()), ["counter.txt"]);
    let mkdir = stet::lock::LockFile::open(&Locker::new().protocol(MKDIR), &path);
    assert!(matches!(mkdir, Err(LockError::Unsupported { .. })));
}

#[test]
fn of_many_stet_racers_stealing_one_stale_mkdir_lock_exactly_one_wins() {
    for round in 0..20 {
        let dir = scratch();
        let path = target(dir.path());
        make_stale_lock_dir(&dir.path().join("counter.txt.lock"), Duration::from_secs(60));
        let barrier = std::sync::Barrier::new(8);
        let winners: Vec<_> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        // Held until the scope ends, so a second winner would overlap the first.
                        Locker::new().protocol(MKDIR).wait(Wait::Immediately).lock(&path).ok()
                    })
                })
                .collect();
            racers.into_iter().filter_map(|racer| racer.join().unwrap()).collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: {} racers believe they hold the lock", winners.len());
    }
}
