//! Leases: owner A acquires, B is refused, A releases, B acquires. After a power loss at any point
//! the leases read back without error and never name two owners: an acquire acknowledged and not
//! yet released holds, a release acknowledged is gone, and a third owner is refused exactly
//! while someone holds the lease.

use std::path::Path;
use std::time::Duration;

use stet::{Code, Project};

use super::run::{self, Budget, Protocol, Verdicts, Workspace, acknowledged};

const TTL: Duration = Duration::from_secs(3600);
const PATHS: [&str; 2] = ["docs/a.md", "docs/b.md"];

/// The run's milestones, as operation numbers.
const A_ACQUIRED: usize = 0;
const A_RELEASING: usize = 1;
const A_RELEASED: usize = 2;
const B_ACQUIRED: usize = 3;

struct Lease;

fn as_owner(root: &Path, owner: &str) -> Result<Project, String> {
    stet::Options::new().owner(Some(owner.into())).open(root).map_err(|err| format!("open: {err}"))
}

impl Protocol for Lease {
    type Expected = ();

    fn name(&self) -> &'static str {
        "lease"
    }

    fn seed(&self, root: &Path) {
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/a.md"), "a\n").unwrap();
    }

    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) {
        let paths: Vec<_> = PATHS.iter().map(|rel| root.join(rel)).collect();
        let (a, b) = (project.with_owner(Some("A".into())), project.with_owner(Some("B".into())));
        a.lease_acquire(&paths, Some(TTL), None).unwrap();
        acknowledge(A_ACQUIRED);
        let refused = b.lease_acquire(&paths[..1], Some(TTL), None).unwrap_err();
        assert_eq!(refused.code(), Code::Leased, "{refused}");
        acknowledge(A_RELEASING);
        a.lease_release(&paths).unwrap();
        acknowledge(A_RELEASED);
        b.lease_acquire(&paths[..1], Some(TTL), None).unwrap();
        acknowledge(B_ACQUIRED);
    }

    fn check(&self, (): &(), root: &Path, ops: u64) -> Result<(), String> {
        run::stet_dir_whole(root)?;
        let project = Project::open(root).map_err(|err| format!("open: {err}"))?;
        project.recover().map_err(|err| format!("recover: {err}"))?;
        let status = project.lease_status::<&str>(&[]).map_err(|err| format!("lease status: {err}"))?;
        for rel in PATHS {
            let owners: Vec<&str> = status
                .leases
                .iter()
                .filter(|lease| lease.path == rel)
                .map(|lease| lease.owner.as_str())
                .collect();
            let allowed: &[&[&str]] = match rel {
                "docs/a.md" if acknowledged(ops, B_ACQUIRED) => &[&["B"]],
                "docs/a.md" if acknowledged(ops, A_RELEASED) => &[&[], &["B"]],
                _ if acknowledged(ops, A_RELEASED) => &[&[]],
                _ if acknowledged(ops, A_RELEASING) => &[&["A"], &[]],
                _ if acknowledged(ops, A_ACQUIRED) => &[&["A"]],
                _ => &[&[], &["A"]],
            };
            if !allowed.contains(&owners.as_slice()) {
                return Err(format!("{rel} is leased to {owners:?}, expected one of {allowed:?}"));
            }
            // The next command: a third owner is refused exactly while someone holds the lease.
            let c = as_owner(root, "C")?;
            match (c.lease_acquire(&[root.join(rel)], Some(TTL), None), owners.is_empty()) {
                (Ok(_), true) => {}
                (Err(err), false) if err.code() == Code::Leased => {}
                (outcome, _) => return Err(format!("C acquiring {rel} with owners {owners:?}: {outcome:?}")),
            }
        }
        Ok(())
    }
}

#[test]
fn a_lease_never_has_two_owners_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("lease");
    let recorded = run::record(&Lease, &workspace, "rec");
    let tally = run::check(&Lease, &recorded, &workspace, Budget::full(4096), &Verdicts::default());
    tally.report("lease acquire/release");
    tally.assert_clean("lease");
}

#[test]
fn removing_any_fsync_of_a_lease_change_is_noticed() {
    let workspace = Workspace::new("lease-mutation");
    run::assert_every_barrier_needed(&Lease, &workspace, 1024);
}
