//! Leases through the seam: every step of an acquire of several paths fails in turn, and a
//! crash is simulated at every step; an acquire is all or none, and a retry completes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stet::fs::{self, Fault, Faulty};
use stet::lease::{LeaseError, Leases};

use crate::support::scratch;

fn project(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    vec![dir.join("docs/a.md"), dir.join("src")]
}

fn acquire(dir: &Path, paths: &[PathBuf], fault: Fault) -> (Result<usize, LeaseError>, Arc<Faulty>) {
    let faulty = Arc::new(Faulty::new(fs::real(), fault));
    let leases = match Leases::with_fs(faulty.clone(), dir) {
        Ok(leases) => leases,
        Err(err) => return (Err(err), faulty),
    };
    (leases.acquire(paths, "agent-1", Duration::from_secs(60)).map(|taken| taken.len()), faulty)
}

/// The live leases: (path, owner).
fn held(dir: &Path) -> Vec<(String, String)> {
    let now = SystemTime::now();
    Leases::new(dir)
        .unwrap()
        .status(&[], None)
        .unwrap()
        .into_iter()
        .filter(|lease| !lease.is_expired(now))
        .map(|lease| (lease.path, lease.owner))
        .collect()
}

fn both() -> Vec<(String, String)> {
    vec![("docs/a.md".to_owned(), "agent-1".to_owned()), ("src".to_owned(), "agent-1".to_owned())]
}

#[test]
fn a_failure_at_any_step_of_an_acquire_takes_all_or_none() {
    let recorded = {
        let dir = scratch();
        let paths = project(dir.path());
        acquire(dir.path(), &paths, Fault::None).1.log()
    };
    let mut failures = 0;
    for (at, (op, _)) in recorded.iter().enumerate() {
        let nth = recorded[..at].iter().filter(|(earlier, _)| earlier == op).count();
        let dir = scratch();
        let paths = project(dir.path());
        let (result, faulty) = acquire(dir.path(), &paths, Fault::Fail { op: *op, nth, errno: libc::EIO });
        assert!(faulty.fired(), "the fault on {op:?} #{nth} fires");
        let found = held(dir.path());
        if result.is_ok() {
            assert_eq!(found, both(), "{op:?} #{nth} did not matter");
        } else {
            failures += 1;
            assert!(found.is_empty(), "after {op:?} #{nth} failed, no lease is held: {found:?}");
            assert_eq!(acquire(dir.path(), &paths, Fault::None).0.unwrap(), 2, "a retry takes both");
        }
        assert_eq!(held(dir.path()), both());
    }
    assert!(failures >= 5, "most steps fail the acquire ({failures} did)");
}

#[test]
fn a_crash_at_any_step_of_an_acquire_leaves_whole_records_of_that_owner_only() {
    let steps = {
        let dir = scratch();
        let paths = project(dir.path());
        acquire(dir.path(), &paths, Fault::None).1.log().len()
    };
    for step in 0..=steps {
        let dir = scratch();
        let paths = project(dir.path());
        let (result, _) = acquire(dir.path(), &paths, Fault::CrashAt { step });
        // Every record readable (status would report a torn one), and the owner's only.
        let found = held(dir.path());
        assert!(found.iter().all(|(_, owner)| owner == "agent-1"), "step {step}: {found:?}");
        if result.is_ok() {
            assert_eq!(found, both(), "step {step}: an acknowledged acquire holds both");
        }
        // Another owner is refused only by records that exist; the owner's retry completes it.
        assert_eq!(acquire(dir.path(), &paths, Fault::None).0.unwrap(), 2, "step {step}: the retry");
        assert_eq!(held(dir.path()), both());
    }
}

#[test]
fn the_check_judges_the_file_a_link_leads_to_and_a_path_outside_the_root_has_no_leases() {
    let dir = scratch();
    let outside = scratch();
    project(dir.path());
    let leases = Leases::new(dir.path()).unwrap();
    leases.acquire(&[dir.path().join("docs")], "alice", Duration::from_secs(600)).unwrap();
    std::os::unix::fs::symlink("docs/new.md", dir.path().join("dangling.md")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("docs"), outside.path().join("alias")).unwrap();
    for path in [dir.path().join("dangling.md"), outside.path().join("alias/a.md")] {
        let refused = leases.check(&path, Some("bob"));
        assert!(matches!(refused, Err(LeaseError::Leased { .. })), "{}: {refused:?}", path.display());
        leases.check(&path, Some("alice")).expect("the owner may write");
    }
    assert_eq!(
        leases.name(&dir.path().join("dangling.md")).unwrap(),
        "docs/new.md",
        "leases name resolved paths"
    );

    leases.acquire(&[dir.path().to_path_buf()], "alice", Duration::from_secs(600)).unwrap();
    std::os::unix::fs::symlink(outside.path().join("x"), dir.path().join("out")).unwrap();
    for path in [outside.path().join("elsewhere.txt"), dir.path().join("out")] {
        leases.check(&path, Some("bob")).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }
}

#[test]
fn a_ttl_whose_expiry_is_past_year_9999_is_refused_and_a_huge_wait_saturates() {
    let dir = scratch();
    let paths = project(dir.path());
    let leases = Leases::new(dir.path()).unwrap();
    for ttl in [Duration::from_secs(70_000_000 * 3600), Duration::MAX] {
        let refused = leases.acquire(&paths, "alice", ttl);
        assert!(matches!(refused, Err(LeaseError::TtlTooLong { .. })), "{ttl:?}: {refused:?}");
        assert!(refused.unwrap_err().to_string().contains("9999"), "names the limit");
    }
    assert!(held(dir.path()).is_empty(), "nothing was taken");
    leases
        .acquire_waiting(&paths, "alice", Duration::from_secs(60), Duration::MAX)
        .expect("a free path is taken at once");
}
