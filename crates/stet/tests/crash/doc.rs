//! Document edits through `Project::set`, two threads racing on one document: after a power loss
//! the document is the old text or one with some of the edits whole, and an acknowledged edit is
//! never lost.

use std::path::Path;

use serde_json::json;
use stet::Project;
use stet::project::EditOptions;

use super::run::{self, Budget, Protocol, Verdicts, Workspace, acknowledged};

const OLD: &str = "---\nstatus: draft # keep me\ncount: 1\n---\n# Story\n\nBody.\n";
/// The two racing edits: (key, value).
const EDITS: [(&str, &str); 2] = [("status", "done"), ("reviewer", "bo")];

struct DocEdit;

/// Every text the document may hold: the old one and each order of edits made.
pub struct Texts(Vec<String>);

fn edit_text(text: &str, edits: &[usize]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("story.md");
    std::fs::write(&path, text).unwrap();
    let project = Project::open(dir.path()).unwrap();
    for &edit in edits {
        let (key, value) = EDITS[edit];
        project.set(&path, &[(key.into(), json!(value))], EditOptions::default()).unwrap();
    }
    std::fs::read_to_string(&path).unwrap()
}

impl Protocol for DocEdit {
    type Expected = Texts;

    fn name(&self) -> &'static str {
        "doc"
    }

    fn seed(&self, root: &Path) {
        std::fs::create_dir(root.join("stories")).unwrap();
        std::fs::write(root.join("stories/story.md"), OLD).unwrap();
    }

    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) -> Texts {
        let path = root.join("stories/story.md");
        std::thread::scope(|scope| {
            for (op, (key, value)) in EDITS.iter().enumerate() {
                let path = &path;
                scope.spawn(move || {
                    project.set(path, &[((*key).into(), json!(value))], EditOptions::default()).unwrap();
                    acknowledge(op);
                });
            }
        });
        let texts = [vec![], vec![0], vec![1], vec![0, 1], vec![1, 0]];
        Texts(texts.iter().map(|edits| edit_text(OLD, edits)).collect())
    }

    fn check(&self, texts: &Texts, root: &Path, acknowledged_ops: u64) -> Result<(), String> {
        let project = Project::open(root).map_err(|err| format!("open: {err}"))?;
        project.recover().map_err(|err| format!("recover: {err}"))?;
        let path = root.join("stories/story.md");
        let text = std::fs::read_to_string(&path).map_err(|err| format!("read: {err}"))?;
        if !texts.0.contains(&text) {
            return Err(format!("the document is none of the texts the edits make: {text:?}"));
        }
        let value = project.get(&path, None, None).map_err(|err| format!("get: {err}"))?.value;
        for (op, (key, expected)) in EDITS.iter().enumerate() {
            if acknowledged(acknowledged_ops, op) && value[key] != *expected {
                return Err(format!("the acknowledged edit {key}={expected} is lost: {text:?}"));
            }
        }
        project
            .set(&path, &[("count".into(), json!(2))], EditOptions::default())
            .map_err(|err| format!("the next set: {err}"))?;
        let count = project.get(&path, Some("count"), None).map_err(|err| format!("get: {err}"))?.value;
        if count != json!(2) {
            return Err(format!("the next set reads back {count}"));
        }
        Ok(())
    }
}

#[test]
fn two_racing_document_edits_lose_no_acknowledged_edit_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("doc");
    let recorded = run::record(&DocEdit, &workspace, "rec");
    let tally = run::check(&DocEdit, &recorded, &workspace, Budget::full(4096), &Verdicts::default());
    tally.report("doc edit (two racing threads)");
    tally.assert_clean("doc edit");
}

#[test]
fn removing_any_fsync_of_a_document_edit_is_noticed() {
    let workspace = Workspace::new("doc-mutation");
    run::assert_every_barrier_needed(&DocEdit, &workspace, 1024);
}
