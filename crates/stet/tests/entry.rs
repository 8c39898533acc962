//! Numbered entries: every step of building and publishing fails in turn through the seam, and
//! nothing of the entry is left; the syscall order makes the entry durable before it is visible.

use std::path::Path;
use std::sync::Arc;

use stet::atomic::Durability;
use stet::doc::Edit;
use stet::entry::{self, NewEntry};
use stet::fs::{self, Fault, Faulty, Op};
use stet::lock::Locker;

use crate::support::scratch;

fn template(dir: &Path) -> std::path::PathBuf {
    let template = dir.join("template");
    std::fs::create_dir_all(template.join("docs")).unwrap();
    std::fs::write(template.join("README.md"), "---\nstatus: planned\n---\n# {{name}}\n").unwrap();
    std::fs::write(template.join("docs/plan.md"), "plan for {{slug}}\n").unwrap();
    template
}

fn create(
    dir: &Path,
    template: &Path,
    fault: Fault,
) -> (Result<entry::Created, entry::EntryError>, Arc<Faulty>) {
    let faulty = Arc::new(Faulty::new(fs::real(), fault));
    let locker = Locker::new().fs(faulty.clone());
    let edits = [Edit::set("priority", serde_json::json!("high")).unwrap()];
    let request = NewEntry {
        dir: &dir.join("specs"),
        slug: "login-flow",
        pattern: entry::DEFAULT_PATTERN,
        template: Some(template),
        edits: &edits,
    };
    (entry::create(&locker, Durability::Sync, &request), faulty)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_file_is_fsynced_before_the_entry_is_published_and_the_directory_after() {
    let dir = scratch();
    let template = template(dir.path());
    let (created, faulty) = create(dir.path(), &template, Fault::None);
    let created = created.unwrap();
    assert_eq!(created.seq, 1);
    let log = faulty.log();
    let publish = log
        .iter()
        .position(|(op, _)| *op == Op::RenameNoReplace)
        .expect("the entry is published by a rename");
    let syncs = log[..publish].iter().filter(|(op, _)| *op == Op::Sync).count();
    let dir_syncs = log[..publish].iter().filter(|(op, _)| *op == Op::SyncDir).count();
    assert_eq!(
        (syncs, dir_syncs),
        (2, 2),
        "both files and both directories are durable before the rename: {log:?}"
    );
    assert!(
        log[publish..]
            .iter()
            .any(|(op, path)| *op == Op::SyncDir && path.as_deref() == created.path.parent()),
        "the directory holding the entry is fsynced after the rename"
    );
    let readme = std::fs::read_to_string(created.path.join("README.md")).unwrap();
    assert_eq!(readme, "---\nstatus: planned\npriority: high\n---\n# 001-login-flow\n");
}

#[test]
fn a_failure_at_any_step_leaves_no_part_of_the_entry() {
    let dir = scratch();
    let template = template(dir.path());
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    let (created, recorder) = create(dir.path(), &template, Fault::None);
    let log = recorder.log();
    std::fs::remove_dir_all(created.unwrap().path).unwrap();
    let mut failed = 0;
    for (at, (op, _)) in log.iter().enumerate() {
        let nth = log[..at].iter().filter(|(earlier, _)| earlier == op).count();
        let (result, faulty) = create(dir.path(), &template, Fault::Fail { op: *op, nth, errno: libc::EIO });
        assert!(faulty.fired(), "the fault on {op:?} #{nth} fires");
        let specs = dir.path().join("specs");
        match result {
            Err(err) => {
                failed += 1;
                assert!(
                    listing(&specs).is_empty(),
                    "after {op:?} #{nth} failed ({err}) nothing is left: {:?}",
                    listing(&specs)
                );
            }
            Ok(created) => {
                assert_eq!(listing(&specs), ["001-login-flow"], "{op:?} #{nth} did not matter");
                std::fs::remove_dir_all(created.path).unwrap();
            }
        }
        // A failure inside the lock protocol itself (the lock call, or the inode check at
        // release) can leave the empty lock file: stet cannot prove it may unlink it, and must not
        // risk letting two holders in. The next holder removes it.
        let _ = std::fs::remove_file(dir.path().join("specs.lock"));
        assert_eq!(
            listing(dir.path()),
            ["specs", "template"],
            "nothing but the lock file is left after {op:?} #{nth}"
        );
    }
    assert!(failed >= 10, "most steps fail the creation ({failed} did)");
    let (created, _) = create(dir.path(), &template, Fault::None);
    assert_eq!(created.unwrap().seq, 1);
    assert_eq!(listing(dir.path()), ["specs", "template"], "a clean run leaves no lock file");
}
