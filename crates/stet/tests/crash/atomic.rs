//! `stet::atomic` through `Project::write`: the target is the old or the new content, never empty,
//! never mixed; an acknowledged write is the new content.

use std::path::Path;

use stet::Project;
use stet::project::WriteOptions;

use super::run::{self, Budget, Protocol, Verdicts, Workspace};

const OLD: &str = "old line one\nold line two\n";
const NEW: &str = "new content, longer than the old one, on one line\nand a second\n";
const CREATED: &str = "a file that did not exist\n";

struct AtomicWrite;

impl Protocol for AtomicWrite {
    type Expected = ();

    fn name(&self) -> &'static str {
        "atomic"
    }

    fn seed(&self, root: &Path) {
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/target.txt"), OLD).unwrap();
    }

    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) {
        project.write(&root.join("docs/target.txt"), NEW.as_bytes(), WriteOptions::default()).unwrap();
        acknowledge(0);
        project.write(&root.join("docs/created.txt"), CREATED.as_bytes(), WriteOptions::default()).unwrap();
        acknowledge(1);
    }

    fn check(&self, (): &(), root: &Path, acknowledged: u64) -> Result<(), String> {
        let project = Project::open(root).map_err(|err| format!("open: {err}"))?;
        project.recover().map_err(|err| format!("recover: {err}"))?;
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).ok();
        let target = read("docs/target.txt");
        let replaced = target.as_deref() == Some(NEW);
        if !replaced && (acknowledged & 1 != 0 || target.as_deref() != Some(OLD)) {
            return Err(format!("docs/target.txt is {target:?}"));
        }
        let created = read("docs/created.txt");
        let made = created.as_deref() == Some(CREATED);
        if !made && (acknowledged & 2 != 0 || created.is_some()) {
            return Err(format!("docs/created.txt is {created:?}"));
        }
        // The next command: another write of each.
        for rel in ["docs/target.txt", "docs/created.txt"] {
            project
                .write(&root.join(rel), b"next\n", WriteOptions::default())
                .map_err(|err| format!("next write: {err}"))?;
            if read(rel).as_deref() != Some("next\n") {
                return Err(format!("{rel} does not read back the next write"));
            }
        }
        Ok(())
    }
}

#[test]
fn an_atomic_write_is_the_old_or_the_new_content_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("atomic");
    let recorded = run::record(&AtomicWrite, &workspace, "rec");
    let tally = run::check(&AtomicWrite, &recorded, &workspace, Budget::full(4096), &Verdicts::default());
    tally.report("atomic write");
    tally.assert_clean("atomic write");
}

#[test]
fn removing_any_fsync_of_an_atomic_write_is_noticed() {
    let workspace = Workspace::new("atomic-mutation");
    run::assert_every_barrier_needed(&AtomicWrite, &workspace, 4096);
}
