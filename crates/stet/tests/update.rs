//! Locked read-modify-write from threads of one process.

use std::time::Duration;

use stet::atomic::{Durability, Writer};
use stet::lock::{Locker, Protocol, Wait};
use stet::update::{UpdateError, update};

use crate::support::{names, scratch};

fn increment(old: Option<&[u8]>) -> Vec<u8> {
    let n: u64 = old.map_or(0, |bytes| std::str::from_utf8(bytes).unwrap().trim().parse().unwrap());
    format!("{}\n", n + 1).into_bytes()
}

#[test]
fn concurrent_updates_from_threads_lose_nothing_in_either_protocol() {
    for protocol in [Protocol::Flock, Protocol::Mkdir { stale: Duration::from_secs(10) }] {
        let dir = scratch();
        let path = dir.path().join("counter.txt");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let locker = Locker::new().protocol(protocol).wait(Wait::Forever);
                    let writer = Writer::new().durability(Durability::None);
                    for _ in 0..100 {
                        update(&locker, &writer, &path, |old, _| Ok::<_, ()>(Some(increment(old)))).unwrap();
                    }
                });
            }
        });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "400\n", "{protocol:?}");
        assert_eq!(names(dir.path()), ["counter.txt"]);
    }
}

#[test]
fn an_edit_that_changes_nothing_does_not_rewrite_and_a_refused_edit_changes_nothing() {
    let dir = scratch();
    let path = dir.path().join("doc.md");
    std::fs::write(&path, "same").unwrap();
    let before = std::fs::metadata(&path).unwrap();
    let updated =
        update(&Locker::new(), &Writer::new(), &path, |old, _| Ok::<_, ()>(old.map(<[u8]>::to_vec))).unwrap();
    assert!(!updated.changed);
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&before),
        std::os::unix::fs::MetadataExt::ino(&after),
        "not rewritten"
    );

    let refused = update(&Locker::new(), &Writer::new(), &path, |_, _| Err::<Option<Vec<u8>>, _>("no"));
    assert!(matches!(refused, Err(UpdateError::Edit("no"))));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "same");
    assert_eq!(names(dir.path()), ["doc.md"]);
}
