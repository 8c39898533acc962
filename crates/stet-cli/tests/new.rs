//! `stet new`: numbered entries from templates, raced by real processes and watched while they
//! appear.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::{json_error, names, run, scratch, stet};

const FILES: usize = 20;

/// A directory template of `FILES` files plus a README with frontmatter.
fn template(dir: &Path) -> std::path::PathBuf {
    let template = dir.join("template");
    std::fs::create_dir(&template).unwrap();
    std::fs::write(
        template.join("README.md"),
        "---\nstatus: planned\ncreated: {{date}}\n---\n\n# {{seq}} {{slug}}\n",
    )
    .unwrap();
    for file in 0..FILES {
        std::fs::write(
            template.join(format!("part-{file:02}.md")),
            format!("part {file} of {{{{name}}}}\n").repeat(200),
        )
        .unwrap();
    }
    template
}

/// Whether an entry visible in `specs` is complete: every file there, whole.
fn complete(entry: &Path) -> bool {
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    (0..FILES).all(|file| {
        std::fs::read_to_string(entry.join(format!("part-{file:02}.md")))
            .is_ok_and(|text| text == format!("part {file} of {name}\n").repeat(200))
    }) && std::fs::read_to_string(entry.join("README.md")).is_ok_and(|text| text.contains("priority: high"))
}

#[test]
fn eight_concurrent_new_calls_get_eight_numbers_and_no_partial_entry_is_ever_seen() {
    let dir = scratch();
    let template = template(dir.path());
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    let done = AtomicBool::new(false);
    let (outputs, glimpses) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut glimpses = 0;
            while !done.load(Ordering::Relaxed) {
                for name in names(&specs) {
                    if !name.starts_with('.') {
                        assert!(complete(&specs.join(&name)), "{name} was visible before it was complete");
                        glimpses += 1;
                    }
                }
            }
            glimpses
        });
        let racers: Vec<_> = (0..8)
            .map(|racer| {
                let (dir, template) = (dir.path(), &template);
                scope.spawn(move || {
                    run(stet(dir)
                        .args([
                            "--json",
                            "--timeout",
                            "60s",
                            "new",
                            "specs",
                            "--slug",
                            &format!("Story {racer}"),
                        ])
                        .arg("--template")
                        .arg(template)
                        .args(["--set", "priority=high"]))
                })
            })
            .collect();
        let outputs: Vec<_> = racers.into_iter().map(|racer| racer.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        (outputs, watcher.join().unwrap())
    });
    let mut seqs: Vec<u64> = outputs
        .iter()
        .map(|output| {
            assert!(output.status.success(), "{}", crate::support::stderr(output));
            let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            result["seq"].as_u64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "eight distinct numbers, one more than the highest each time"
    );
    let entries = names(&specs);
    assert_eq!(entries.len(), 8, "eight entries and nothing else: {entries:?}");
    for entry in &entries {
        assert!(complete(&specs.join(entry)), "{entry} is complete");
    }
    assert!(glimpses > 0, "the watcher saw entries appear");
    assert_eq!(names(dir.path()), ["specs", "template"], "no lock file remains");
}

#[test]
fn story_files_number_after_the_highest_and_fill_placeholders() {
    let dir = scratch();
    let stories = dir.path().join("stories");
    std::fs::create_dir(&stories).unwrap();
    std::fs::write(stories.join("S-0034.md"), "---\nid: S-0034\n---\n").unwrap();
    std::fs::write(dir.path().join("story.md"), "---\nid: S-{{seq}}\nslug: {{slug}}\n---\n\n# {{name}}\n")
        .unwrap();
    let output = run(stet(dir.path()).args([
        "--json",
        "new",
        "stories",
        "--slug",
        "Login flow",
        "--pattern",
        "S-{seq:04}.md",
        "--template",
        "story.md",
        "--set",
        "status=ready",
    ]));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result, json!({"path": "stories/S-0035.md", "seq": 35}));
    assert_eq!(
        std::fs::read_to_string(stories.join("S-0035.md")).unwrap(),
        "---\nid: S-0035\nslug: login-flow\nstatus: ready\n---\n\n# S-0035.md\n"
    );
}

#[test]
fn bad_patterns_slugs_and_templates_create_nothing() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("broken.md"), "---\nid: [\n---\n").unwrap();
    for (args, code) in [
        (vec!["--slug", "x", "--pattern", "no-number"], "EUSAGE"),
        (vec!["--slug", "!!!"], "EUSAGE"),
        (vec!["--slug", "x", "--template", "missing"], "ENOTFOUND"),
        (
            vec!["--slug", "x", "--pattern", "S-{seq}.md", "--template", "broken.md", "--set", "a=1"],
            "EMALFORMED",
        ),
    ] {
        let output = run(stet(dir.path()).args(["--json", "new", "specs"]).args(&args));
        assert_eq!(json_error(&output)["code"], code, "{args:?}");
        assert!(names(&dir.path().join("specs")).is_empty(), "{args:?} left something behind");
    }
}
