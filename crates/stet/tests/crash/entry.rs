//! Numbered entries through `Project::new_entry`, two threads racing with a directory template:
//! after a power loss every entry is complete or absent, numbers are unique, an acknowledged
//! entry is there, and the next `new` takes the next number.

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;
use stet::Project;
use stet::project::NewEntryOptions;

use super::run::{self, Budget, Protocol, Verdicts, Workspace, acknowledged};

const SLUGS: [&str; 2] = ["login", "signup"];

struct NewEntry;

/// The entry each operation made.
pub struct Made(Vec<String>);

fn options(root: &Path, slug: &str) -> NewEntryOptions {
    NewEntryOptions {
        template: Some(root.join("templates/story")),
        set: vec![("status".into(), json!("draft"))],
        ..NewEntryOptions::new(slug)
    }
}

/// What is wrong with the entry `name` (`NNN-slug`), if anything.
fn incomplete(dir: &Path, name: &str) -> Option<String> {
    let readme = std::fs::read_to_string(dir.join("README.md")).ok();
    let expected = format!("---\ntitle: '{name}'\nstatus: draft\n---\n# {name}\n");
    if readme.as_deref() != Some(expected.as_str()) {
        return Some(format!("README.md is {readme:?}"));
    }
    let plan = std::fs::read_to_string(dir.join("notes/plan.txt")).ok();
    (plan.as_deref() != Some("plan\n")).then(|| format!("notes/plan.txt is {plan:?}"))
}

impl Protocol for NewEntry {
    type Expected = Made;

    fn name(&self) -> &'static str {
        "entry"
    }

    fn seed(&self, root: &Path) {
        std::fs::create_dir_all(root.join("templates/story/notes")).unwrap();
        std::fs::write(root.join("templates/story/README.md"), "---\ntitle: '{{name}}'\n---\n# {{name}}\n")
            .unwrap();
        std::fs::write(root.join("templates/story/notes/plan.txt"), "plan\n").unwrap();
        std::fs::create_dir_all(root.join("specs/001-first")).unwrap();
    }

    fn run(&self, root: &Path, project: &Project, acknowledge: &(dyn Fn(usize) + Sync)) -> Made {
        let made = Mutex::new(vec![String::new(); SLUGS.len()]);
        std::thread::scope(|scope| {
            for (op, slug) in SLUGS.iter().enumerate() {
                let made = &made;
                scope.spawn(move || {
                    let entry = project.new_entry(&root.join("specs"), &options(root, slug)).unwrap();
                    let mut made = made.lock().unwrap();
                    made[op] = entry.path.file_name().unwrap().to_string_lossy().into_owned();
                    acknowledge(op);
                });
            }
        });
        Made(made.into_inner().unwrap())
    }

    fn check(&self, made: &Made, root: &Path, ops: u64) -> Result<(), String> {
        let project = Project::open(root).map_err(|err| format!("open: {err}"))?;
        project.recover().map_err(|err| format!("recover: {err}"))?;
        let specs = root.join("specs");
        let mut numbers = Vec::new();
        for entry in std::fs::read_dir(&specs).map_err(|err| format!("list: {err}"))? {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".lock") || name == "001-first" {
                continue;
            }
            if let Some(why) = incomplete(&specs.join(&name), &name) {
                return Err(format!("entry {name} is incomplete: {why}"));
            }
            numbers.push(name[..3].to_owned());
        }
        numbers.sort();
        if numbers.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(format!("numbers taken twice: {numbers:?}"));
        }
        for (op, name) in made.0.iter().enumerate() {
            if acknowledged(ops, op) && !specs.join(name).is_dir() {
                return Err(format!("the acknowledged entry {name} is missing"));
            }
        }
        let next = project
            .new_entry(&specs, &options(root, "next"))
            .map_err(|err| format!("the next new: {err}"))?;
        let highest = numbers.last().map_or(1, |number| number.parse::<u64>().unwrap());
        if next.seq != highest + 1 {
            return Err(format!("the next entry is number {}, after {numbers:?}", next.seq));
        }
        Ok(())
    }
}

#[test]
fn a_numbered_entry_is_complete_or_absent_with_a_unique_number_after_a_power_loss_at_any_point() {
    let workspace = Workspace::new("entry");
    let recorded = run::record(&NewEntry, &workspace, "rec");
    let tally = run::check(&NewEntry, &recorded, &workspace, Budget::full(4096), &Verdicts::default());
    tally.report("entry new (two racing threads, directory template)");
    tally.assert_clean("entry");
}

#[test]
fn removing_any_fsync_of_a_new_entry_is_noticed() {
    let workspace = Workspace::new("entry-mutation");
    run::assert_every_barrier_needed(&NewEntry, &workspace, 1024);
}
