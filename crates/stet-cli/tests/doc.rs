//! `stet get`, `set`, `unset`, `push`, `merge`, `version`: raced by real processes, and refusing
//! bad input without touching the file.

use std::path::Path;

use serde_json::json;

use crate::support::{json_error, names, run, run_with_input, scratch, stet};

const STORY: &str =
    "---\nid: S-0001\nstatus: draft  # set by agents\ncounter: 0\nlabels:\n  - seed\n---\n\n# Body\n";

fn stdout(output: &std::process::Output) -> String {
    assert!(output.status.success(), "stet failed: {}", crate::support::stderr(output));
    String::from_utf8(output.stdout.clone()).unwrap().trim_end().to_owned()
}

fn get(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&stdout(&run(stet(dir).arg("--json").arg("get").args(args)))).unwrap()
}

/// An increment through the optimistic check: read value and version, write value + 1 if the
/// version still holds, retry otherwise.
fn increment(dir: &Path) -> usize {
    for attempt in 1.. {
        let version = stdout(&run(stet(dir).args(["version", "story.md"])));
        let counter = get(dir, &["story.md", "counter"]).as_u64().unwrap();
        let output = run(stet(dir).args([
            "--timeout",
            "60s",
            "set",
            "story.md",
            &format!("counter={}", counter + 1),
            "--if-version",
            &version,
        ]));
        match output.status.code() {
            Some(0) => return attempt,
            Some(3) => assert_eq!(
                json_error(&run(stet(dir).args([
                    "--json",
                    "set",
                    "story.md",
                    "x=1",
                    "--if-version",
                    "0000000000000000"
                ])))["code"],
                "ECONFLICT"
            ),
            _ => panic!("the conditional set failed: {}", crate::support::stderr(&output)),
        }
    }
    unreachable!()
}

#[test]
fn eight_processes_setting_pushing_and_incrementing_one_file_lose_nothing() {
    let dir = scratch();
    std::fs::write(dir.path().join("story.md"), STORY).unwrap();
    let rounds = 100;
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let dir = dir.path();
            scope.spawn(move || {
                for round in 0..rounds {
                    let key = format!("agents.w{writer}={round}");
                    stdout(&run(stet(dir).args(["--timeout", "60s", "set", "story.md", &key])));
                    let item = format!("labels=w{writer}-{round}");
                    stdout(&run(stet(dir).args(["--timeout", "60s", "push", "story.md", &item])));
                    if round % 4 == 0 {
                        increment(dir);
                    }
                }
            });
        }
    });
    let document = get(dir.path(), &["story.md"]);
    for writer in 0..8 {
        assert_eq!(document["agents"][format!("w{writer}")], rounds - 1, "writer {writer}'s last set landed");
    }
    let labels: Vec<String> = document["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|label| label.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels.len(), 1 + 8 * rounds, "every push landed once");
    for writer in 0..8 {
        let mine: Vec<&String> =
            labels.iter().filter(|label| label.starts_with(&format!("w{writer}-"))).collect();
        let expected: Vec<String> = (0..rounds).map(|round| format!("w{writer}-{round}")).collect();
        assert_eq!(
            mine,
            expected.iter().collect::<Vec<_>>(),
            "writer {writer}'s pushes are all there, in order"
        );
    }
    assert_eq!(document["counter"], 8 * rounds.div_ceil(4), "no increment was lost");
    let text = std::fs::read_to_string(dir.path().join("story.md")).unwrap();
    assert!(
        text.contains("status: draft  # set by agents\n") && text.ends_with("---\n\n# Body\n"),
        "untouched lines stay:\n{text}"
    );
    assert_eq!(names(dir.path()), ["story.md"], "no lock or temporary file remains");
}

#[test]
fn get_prints_values_raw_or_as_json_and_version_tracks_the_bytes() {
    let dir = scratch();
    std::fs::write(dir.path().join("story.md"), STORY).unwrap();
    assert_eq!(stdout(&run(stet(dir.path()).args(["get", "story.md", "status"]))), "draft");
    assert_eq!(stdout(&run(stet(dir.path()).args(["get", "story.md", "labels"]))), "[\n  \"seed\"\n]");
    assert_eq!(get(dir.path(), &["story.md", "status"]), json!("draft"));
    assert_eq!(get(dir.path(), &["story.md"])["counter"], 0);
    let version = stdout(&run(stet(dir.path()).args(["version", "story.md"])));
    assert_eq!(version, stet::Version::of(STORY.as_bytes()).to_string());
    assert_eq!(stdout(&run(stet(dir.path()).args(["version", "missing.md"]))), "none");

    let output = run(stet(dir.path()).args(["--json", "set", "story.md", "status=review"]));
    let result: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let text = std::fs::read(dir.path().join("story.md")).unwrap();
    assert_eq!(
        result,
        json!({"path": "story.md", "version": stet::Version::of(&text).to_string(), "changed": true})
    );
    let output = run(stet(dir.path()).args(["--json", "set", "story.md", "status=review"]));
    let result: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(result["changed"], false, "an edit that changes nothing does not rewrite");

    let output = run(stet(dir.path()).args(["--json", "get", "story.md", "nothing.here"]));
    assert_eq!((output.status.code(), json_error(&output)["code"].clone()), (Some(1), json!("ENOTFOUND")));
    let output = run(stet(dir.path()).args(["--json", "get", "missing.md"]));
    assert_eq!(json_error(&output)["code"], "ENOTFOUND");
}

#[test]
fn if_version_guards_edits_and_none_means_must_not_exist() {
    let dir = scratch();
    let output = run(stet(dir.path()).args(["set", "new.yaml", "a=1", "--if-version", "none"]));
    let version = stdout(&output);
    assert_eq!(std::fs::read_to_string(dir.path().join("new.yaml")).unwrap(), "a: 1\n");
    let output = run(stet(dir.path()).args(["--json", "set", "new.yaml", "a=2", "--if-version", "none"]));
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json_error(&output)["code"], "ECONFLICT");
    assert_eq!(json_error(&output)["found"], json!(version));
    stdout(&run(stet(dir.path()).args(["set", "new.yaml", "a=2", "--if-version", &version])));
    assert_eq!(std::fs::read_to_string(dir.path().join("new.yaml")).unwrap(), "a: 2\n");
    let output = run(stet(dir.path()).args(["--json", "set", "new.yaml", "a=3", "--if-version", "12"]));
    assert_eq!(json_error(&output)["code"], "EUSAGE");
}

#[test]
fn merge_applies_a_json_or_yaml_patch_and_string_takes_values_literally() {
    let dir = scratch();
    std::fs::write(dir.path().join("cfg.json"), "{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n").unwrap();
    stdout(&run_with_input(
        stet(dir.path()).args(["merge", "cfg.json"]),
        b"{\"a\": null, \"b\": {\"d\": 3}}",
    ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cfg.json")).unwrap(),
        "{\n  \"b\": {\"c\": 2, \"d\": 3}\n}\n",
        "a one-line object stays one line"
    );
    stdout(&run_with_input(stet(dir.path()).args(["merge", "cfg.json"]), b"b:\n  c: null\ne: [1, 2]\n"));
    assert_eq!(get(dir.path(), &["cfg.json"]), json!({"b": {"d": 3}, "e": [1, 2]}));
    stdout(&run(stet(dir.path()).args(["set", "cfg.json", "--string", "v=yes", "w=[a]"])));
    assert_eq!(get(dir.path(), &["cfg.json", "v"]), json!("yes"));
    assert_eq!(get(dir.path(), &["cfg.json", "w"]), json!("[a]"));
    let output = run_with_input(stet(dir.path()).args(["--json", "merge", "cfg.json"]), b"[1, 2]");
    assert_eq!(json_error(&output)["code"], "EUSAGE", "a patch must be a mapping");
}

#[test]
fn malformed_documents_and_bad_edits_exit_65_naming_the_line_and_leave_the_file_alone() {
    let dir = scratch();
    let cases: [(&str, &[u8], Option<u64>); 8] = [
        ("open.md", b"---\nid: 1\n", Some(1)),
        ("broken.md", b"---\nid: [1,\n---\n", Some(3)),
        ("list.md", b"---\n- a\n---\n", Some(2)),
        ("bad.yaml", b"a: 1\n b: 2\n", Some(2)),
        ("bad.json", b"{\"a\": 1,,}\n", Some(1)),
        ("bad.toml", b"a = \n", Some(1)),
        ("latin1.md", b"---\nname: caf\xe9\n---\n", Some(2)),
        ("scalar.md", b"---\nstatus: done\n---\n", None),
    ];
    for (name, bytes, line) in cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let output = run(stet(dir.path()).args(["--json", "set", name, "status.reason=x"]));
        assert_eq!(output.status.code(), Some(65), "{name}: {}", crate::support::stderr(&output));
        let error = json_error(&output);
        assert_eq!(error["code"], "EMALFORMED");
        assert_eq!(error["line"].as_u64(), line, "{name}: {error}");
        assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), bytes, "{name} is untouched");
    }
    std::fs::create_dir(dir.path().join("folder.md")).unwrap();
    let output = run(stet(dir.path()).args(["--json", "set", "folder.md", "a=1"]));
    assert_eq!(output.status.code(), Some(1), "a directory is not a document");
    assert!(json_error(&output)["message"].as_str().unwrap().contains("folder.md"));
    let mut expected = vec!["folder.md".to_owned()];
    expected.extend(cases.iter().map(|(name, ..)| (*name).to_owned()));
    expected.sort();
    assert_eq!(names(dir.path()), expected, "no temporary file remains");
}
