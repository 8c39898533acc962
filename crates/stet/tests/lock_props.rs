//! Property: whatever an outsider does to the lock's name between the steps of several holders
//! (removes it, replaces it with a file of its own, plants a symlink there), at most one holder
//! ever passes the check it makes before committing, and no file stet did not create is changed.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use stet::lock::{Lock, LockError, Locker, Protocol, Wait};

use crate::support::scratch;

const HOLDERS: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Step {
    Acquire(usize),
    Commit(usize),
    Release(usize),
    /// `rm -rf FILE.lock` from outside, as a careless user or a stealing proper-lockfile does.
    Remove,
    /// The outsider's own file at the lock's name.
    PlantFile,
    /// A symlink at the lock's name, to a file outside.
    PlantSymlink,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..HOLDERS).prop_map(Step::Acquire),
        4 => (0..HOLDERS).prop_map(Step::Commit),
        3 => (0..HOLDERS).prop_map(Step::Release),
        1 => Just(Step::Remove),
        1 => Just(Step::PlantFile),
        1 => Just(Step::PlantSymlink),
    ]
}

struct World {
    lock_path: PathBuf,
    victim: PathBuf,
    victim_mtime: SystemTime,
    /// The outsider's file now at the lock's name, with its content.
    planted: Option<Vec<u8>>,
    commits: Vec<usize>,
}

impl World {
    fn clear_lock_name(&mut self) {
        match std::fs::symlink_metadata(&self.lock_path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&self.lock_path).unwrap(),
            Ok(_) => std::fs::remove_file(&self.lock_path).unwrap(),
            Err(_) => {}
        }
        self.planted = None;
    }

    fn assert_nothing_foreign_changed(&self) {
        assert_eq!(std::fs::read(&self.victim).unwrap(), b"precious\n", "the symlink's target is untouched");
        assert_eq!(std::fs::metadata(&self.victim).unwrap().modified().unwrap(), self.victim_mtime);
        if let Some(content) = &self.planted {
            let meta =
                std::fs::symlink_metadata(&self.lock_path).expect("the outsider's file is still there");
            if meta.is_file() {
                assert_eq!(
                    &std::fs::read(&self.lock_path).unwrap(),
                    content,
                    "the outsider's file is unchanged"
                );
            }
        }
    }
}

/// What a holder is asked to do.
enum Order {
    Acquire,
    /// Whether the holder holds the lock and its check before a commit passes.
    Check,
    Release,
}

/// A holder on a thread of its own, as another process would be (a thread asking again for a
/// lock it holds is refused, not made to wait).
struct Holder {
    orders: mpsc::Sender<Order>,
    answers: mpsc::Receiver<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Holder {
    fn start(locker: Locker, target: PathBuf) -> Holder {
        let (orders, inbox) = mpsc::channel();
        let (outbox, answers) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut held: Option<Lock> = None;
            for order in inbox {
                let answer = match order {
                    Order::Acquire if held.is_none() => match locker.lock(&target) {
                        Ok(lock) => {
                            held = Some(lock);
                            true
                        }
                        Err(
                            LockError::Timeout { .. }
                            | LockError::Foreign { .. }
                            | LockError::OtherProtocol { .. },
                        ) => false,
                        Err(err) => panic!("unexpected error: {err}"),
                    },
                    Order::Acquire => false,
                    Order::Check => held.as_ref().is_some_and(|lock| lock.check().is_ok()),
                    Order::Release => {
                        if let Some(lock) = held.take() {
                            let _ = lock.release();
                        }
                        true
                    }
                };
                outbox.send(answer).expect("the test listens");
            }
        });
        Holder { orders, answers, thread: Some(thread) }
    }

    fn ask(&self, order: Order) -> bool {
        self.orders.send(order).expect("the holder runs");
        self.answers.recv().expect("the holder answers")
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.ask(Order::Release);
        let (orders, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.orders, orders));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(protocol: Protocol, steps: &[Step]) {
    let dir = scratch();
    let target = dir.path().join("f");
    std::fs::write(&target, "0").unwrap();
    std::fs::create_dir(dir.path().join("outside")).unwrap();
    let victim = dir.path().join("outside/victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let mut world = World {
        lock_path: dir.path().join("f.lock"),
        victim_mtime: std::fs::metadata(&victim).unwrap().modified().unwrap(),
        victim,
        planted: None,
        commits: Vec::new(),
    };
    let holders: Vec<Holder> = (0..HOLDERS)
        .map(|_| Holder::start(Locker::new().protocol(protocol).wait(Wait::Immediately), target.clone()))
        .collect();
    for step in steps {
        match *step {
            Step::Acquire(holder) => {
                holders[holder].ask(Order::Acquire);
            }
            Step::Commit(holder) => {
                if holders[holder].ask(Order::Check) {
                    world.commits.push(holder);
                }
            }
            Step::Release(holder) => {
                holders[holder].ask(Order::Release);
            }
            Step::Remove => world.clear_lock_name(),
            Step::PlantFile => {
                world.clear_lock_name();
                std::fs::write(&world.lock_path, "the outsider's own file\n").unwrap();
                world.planted = Some(b"the outsider's own file\n".to_vec());
            }
            Step::PlantSymlink => {
                world.clear_lock_name();
                std::os::unix::fs::symlink(&world.victim, &world.lock_path).unwrap();
            }
        }
        let passing: Vec<usize> = (0..HOLDERS).filter(|&holder| holders[holder].ask(Order::Check)).collect();
        assert!(passing.len() <= 1, "after {step:?}, holders {passing:?} would all commit ({protocol:?})");
        world.assert_nothing_foreign_changed();
    }
    drop(holders);
    world.assert_nothing_foreign_changed();
    assert_file_is_only_what_stet_may_leave(&world.lock_path, world.planted.as_deref());
}

/// After every holder released, the lock's name holds nothing stet made.
fn assert_file_is_only_what_stet_may_leave(lock_path: &Path, planted: Option<&[u8]>) {
    match std::fs::symlink_metadata(lock_path) {
        Err(_) => {}
        Ok(meta) if meta.file_type().is_symlink() => {}
        Ok(meta) if meta.is_file() => {
            assert_eq!(
                Some(std::fs::read(lock_path).unwrap().as_slice()),
                planted,
                "only the outsider's file stays"
            );
        }
        Ok(_) => panic!("a lock directory stayed after every holder released"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_two_holders_ever_pass_the_commit_check_and_no_foreign_file_changes_under_flock(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        run(Protocol::Flock, &steps);
    }

    #[test]
    fn no_two_holders_ever_pass_the_commit_check_and_no_foreign_file_changes_under_mkdir(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        run(Protocol::Mkdir { stale: Duration::from_secs(60) }, &steps);
    }
}
