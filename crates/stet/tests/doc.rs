//! Documents: golden edits of real-world-shaped files, where each edit's diff must touch only
//! the edited lines, and the refusals of bad input.

use std::fmt::Write as _;

use serde_json::{Value, json};
use stet::doc::{DocError, Document, Edit, Format};

use crate::support::{push, set, unset};

const STORY: &str = include_str!("fixtures/story.md");
const SPEC: &str = include_str!("fixtures/spec.md");
const COMMENTED: &str = include_str!("fixtures/commented.yaml");

fn edited(format: Format, text: &str, edits: &[Edit]) -> String {
    let document = Document::parse(format, Some(text.as_bytes())).expect("the fixture parses");
    document.edited(edits).expect("the edit is made").expect("the edit changes something")
}

/// The lines the edit removed and the lines it added, between the longest common prefix and
/// suffix of lines: one hunk, which is all a local edit may make.
fn hunk(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let old: Vec<&str> = old.split_inclusive('\n').collect();
    let new: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix =
        old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let lines = |lines: &[&str]| lines.iter().map(|line| (*line).to_owned()).collect();
    (lines(&old[prefix..old.len() - suffix]), lines(&new[prefix..new.len() - suffix]))
}

fn assert_hunk(old: &str, new: &str, removed: &[&str], added: &[&str]) {
    let (was, now) = hunk(old, new);
    assert_eq!((was, now), (lines(removed), lines(added)), "the edit touched other lines:\n{new}");
}

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn value_of(format: Format, text: &str) -> Value {
    Document::parse(format, Some(text.as_bytes())).unwrap().value().clone()
}

#[test]
fn a_story_status_change_touches_only_its_line_and_keeps_the_comment_beside_it() {
    let new = edited(Format::Markdown, STORY, &[set("status", "done")]);
    assert_hunk(
        STORY,
        &new,
        &["status: in-progress  # moved by the orchestrator"],
        &["status: done  # moved by the orchestrator"],
    );
}

#[test]
fn story_edits_keep_quoting_flow_lists_and_the_body_byte_for_byte() {
    let new = edited(Format::Markdown, STORY, &[set("updated", "2026-01-20")]);
    assert_hunk(STORY, &new, &["updated: '2026-01-14'"], &["updated: '2026-01-20'"]);
    let new = edited(Format::Markdown, STORY, &[push("labels", "backend")]);
    assert_hunk(STORY, &new, &["labels: [auth, ui]"], &["labels: [auth, ui, backend]"]);
    let new = edited(Format::Markdown, STORY, &[Edit::set("title", json!("Login: a new title")).unwrap()]);
    assert_hunk(
        STORY,
        &new,
        &["title: \"Login flow: remember the device\""],
        &["title: \"Login: a new title\""],
    );
    assert!(new.ends_with("---\n\nAcceptance criteria follow.\n"), "the body's own `---` stays");
}

#[test]
fn a_new_story_key_lands_at_the_end_of_the_frontmatter_and_nested_keys_in_their_mapping() {
    let new = edited(Format::Markdown, STORY, &[set("reviews_complete", "true"), set("assignee", "agent-3")]);
    let (removed, added) = hunk(STORY, &new);
    assert_eq!(
        removed,
        lines(&[
            "reviews_complete: false",
            "blocked_diagnostic:",
            "  reason: waiting for the token service",
            "  since: 2026-01-13",
            "worktree_path: .worktrees/S-0035"
        ])
    );
    assert_eq!(
        added,
        lines(&[
            "reviews_complete: true",
            "blocked_diagnostic:",
            "  reason: waiting for the token service",
            "  since: 2026-01-13",
            "worktree_path: .worktrees/S-0035",
            "assignee: agent-3"
        ])
    );
    let new = edited(Format::Markdown, STORY, &[set("blocked_diagnostic.owner", "alice")]);
    assert_hunk(STORY, &new, &[], &["  owner: alice"]);
    let new = edited(Format::Markdown, STORY, &[set("review.outcome.verdict", "approved")]);
    assert_hunk(STORY, &new, &[], &["review:", "  outcome:", "    verdict: approved"]);
}

#[test]
fn unsetting_a_key_removes_its_lines_and_its_own_comment() {
    let new = edited(Format::Markdown, STORY, &[unset("research_complete")]);
    assert_hunk(
        STORY,
        &new,
        &["# phase flags, set by agents as they finish", "research_complete: true"],
        &[],
    );
    let new = edited(Format::Markdown, STORY, &[unset("blocked_diagnostic")]);
    assert_hunk(
        STORY,
        &new,
        &["blocked_diagnostic:", "  reason: waiting for the token service", "  since: 2026-01-13"],
        &[],
    );
    let new = edited(Format::Markdown, STORY, &[unset("blocked_diagnostic.since")]);
    assert_hunk(STORY, &new, &["  since: 2026-01-13"], &[]);
}

#[test]
fn spec_edits_extend_block_lists_and_lists_of_mappings_in_their_style() {
    let new = edited(Format::Markdown, SPEC, &[push("tags", "login")]);
    assert_hunk(SPEC, &new, &[], &["  - login"]);
    let new = edited(Format::Markdown, SPEC, &[push("transitions", "{status: done, at: 2026-02-09}")]);
    assert_hunk(SPEC, &new, &[], &["  - {status: done, at: \"2026-02-09\"}"]);
    assert_eq!(
        value_of(Format::Markdown, &new)["transitions"][2],
        json!({"status": "done", "at": "2026-02-09"})
    );
    let new = edited(Format::Markdown, SPEC, &[set("transitions.1.status", "blocked")]);
    assert_hunk(SPEC, &new, &["  - status: in-progress"], &["  - status: blocked"]);
    let new = edited(Format::Markdown, SPEC, &[set("depends_on", "[005-audit]")]);
    assert_hunk(SPEC, &new, &["  - 002-session-store", "  - 003-rate-limits"], &["  - 005-audit"]);
}

#[test]
fn yaml_with_comments_everywhere_keeps_them_all() {
    let new = edited(Format::Yaml, COMMENTED, &[set("version", "1.5.0")]);
    assert_hunk(COMMENTED, &new, &["version: \"1.4.0\""], &["version: \"1.5.0\""]);
    let new = edited(Format::Yaml, COMMENTED, &[push("owners", "carol")]);
    assert_hunk(COMMENTED, &new, &[], &["  - carol"]);
    let new = edited(Format::Yaml, COMMENTED, &[push("build.flags", "-Wall")]);
    assert_hunk(COMMENTED, &new, &["  flags: ['-O2', \"-g\"]"], &["  flags: ['-O2', \"-g\", -Wall]"]);
    let new = edited(Format::Yaml, COMMENTED, &[set("build.targets.windows", "false")]);
    assert_hunk(
        COMMENTED,
        &new,
        &["  targets: {linux: true, mac: false}"],
        &["  targets: {linux: true, mac: false, windows: false}"],
    );
    let new = edited(Format::Yaml, COMMENTED, &[set("license", "MIT")]);
    assert_hunk(COMMENTED, &new, &[], &["license: MIT"]);
    assert!(
        new.ends_with("license: MIT\n\n# trailing comment\n"),
        "a new key goes before the trailing comment"
    );
    let new = edited(Format::Yaml, COMMENTED, &[set("build.notes", "'short now'")]);
    assert_hunk(
        COMMENTED,
        &new,
        &["  notes: |", "    Multi-line notes", "    stay as written."],
        &["  notes: short now"],
    );
}

#[test]
fn strings_yaml_would_misread_are_quoted_and_read_back_the_same() {
    for text in [
        "yes",
        "no",
        "on",
        "1e3",
        "0x1F",
        "2026-01-01",
        "~",
        "a: b",
        "#x",
        "- d",
        " lead",
        "trail ",
        "two\nlines",
        "",
        "it's",
    ] {
        let edit = Edit::set("value", json!(text)).unwrap();
        let new = edited(Format::Markdown, STORY, &[edit]);
        assert_eq!(value_of(Format::Markdown, &new)["value"], json!(text), "{text:?} reads back:\n{new}");
    }
}

#[test]
fn crlf_a_bom_and_a_missing_final_newline_are_kept() {
    let text = "\u{feff}---\r\nid: 1\r\nname: x\r\n---\r\nbody without end";
    let new = edited(Format::Markdown, text, &[set("id", "2"), set("tag", "t")]);
    assert_eq!(new, "\u{feff}---\r\nid: 2\r\nname: x\r\ntag: t\r\n---\r\nbody without end");
    let new = edited(Format::Yaml, "a: 1\nb: 2", &[set("c", "3")]);
    assert_eq!(new, "a: 1\nb: 2\nc: 3");
}

#[test]
fn markdown_without_frontmatter_gets_one_and_a_missing_file_is_created() {
    let new = edited(Format::Markdown, "# Title\n", &[set("status", "draft")]);
    assert_eq!(new, "---\nstatus: draft\n---\n# Title\n");
    let created =
        Document::parse(Format::Markdown, None).unwrap().edited(&[set("id", "1")]).unwrap().unwrap();
    assert_eq!(created, "---\nid: 1\n---\n");
    let created = Document::parse(Format::Json, None).unwrap().edited(&[set("n", "1")]).unwrap().unwrap();
    assert_eq!(created, "{\n  \"n\": 1\n}\n");
}

#[test]
fn an_edit_that_changes_no_value_changes_nothing() {
    let document = Document::parse(Format::Markdown, Some(STORY.as_bytes())).unwrap();
    assert_eq!(document.edited(&[set("status", "in-progress"), unset("missing")]).unwrap(), None);
}

#[test]
fn json_keeps_order_indentation_and_numbers() {
    let text = "{\n    \"name\": \"x\",\n    \"n\": 1.50,\n    \"list\": [1, 2]\n}\n";
    let new = edited(Format::Json, text, &[set("name", "y")]);
    assert_eq!(new, "{\n    \"name\": \"y\",\n    \"n\": 1.50,\n    \"list\": [1, 2]\n}\n");
    let new =
        edited(Format::Json, "{\"a\":1}", &[Edit::Merge { patch: json!({"b": {"c": true}, "a": null}) }]);
    assert_eq!(new, "{\"b\":{\"c\":true}}");
}

#[test]
fn toml_keeps_comments_and_formatting() {
    let text = "# settings\n[lock]\nprotocol = \"flock\"  # or mkdir\ntimeout = \"5s\"\n\n[log]\nid_field = \"id\"\n";
    let new = edited(Format::Toml, text, &[set("lock.timeout", "10s")]);
    assert_hunk(text, &new, &["timeout = \"5s\""], &["timeout = \"10s\""]);
    let new = edited(Format::Toml, text, &[set("lock.protocol", "mkdir")]);
    assert_hunk(text, &new, &["protocol = \"flock\"  # or mkdir"], &["protocol = \"mkdir\"  # or mkdir"]);
    let new = edited(Format::Toml, text, &[push("log.tags", "a")]);
    assert_hunk(text, &new, &[], &["tags = [\"a\"]"]);
}

fn refused(format: Format, text: &str) -> DocError {
    Document::parse(format, Some(text.as_bytes())).expect_err("bad input is refused")
}

#[test]
fn malformed_documents_are_refused_with_their_line() {
    let cases: [(Format, &str, usize); 7] = [
        (Format::Markdown, "---\nid: 1\nbody\n", 1),
        (Format::Markdown, "---\nid: [1, 2\n---\n", 3),
        (Format::Markdown, "---\n- a\n- b\n---\n", 2),
        (Format::Yaml, "a: 1\n  b: 2\n", 2),
        (Format::Yaml, "a: 1\na: 2\n", 2),
        (Format::Json, "{\n  \"a\": 1,\n  \"b\"\n}\n", 3),
        (Format::Toml, "a = 1\nb = \n", 2),
    ];
    for (format, text, line) in cases {
        match refused(format, text) {
            DocError::Malformed { line: Some(found), .. } => assert_eq!(found, line, "{text:?}"),
            other => panic!("{text:?} gave {other:?}"),
        }
    }
    assert!(matches!(refused(Format::Yaml, "a: \u{0}"), DocError::Malformed { .. }));
    let not_utf8 = Document::parse(Format::Markdown, Some(b"---\nid: \xff\n---\n")).unwrap_err();
    assert!(not_utf8.to_string().contains("not UTF-8"), "{not_utf8}");
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused_quickly() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        writeln!(bomb, "a{level}: &a{level} [{aliases}]").unwrap();
    }
    let started = std::time::Instant::now();
    assert!(refused(Format::Yaml, &bomb).to_string().contains("alias"));
    let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let err = refused(Format::Yaml, &deep);
    assert!(matches!(err, DocError::Malformed { line: Some(1), .. }), "{err}");
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(refused(Format::Json, &deep_json), DocError::Malformed { .. }));
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refusals are quick");
}

#[test]
fn a_key_path_through_a_scalar_is_refused() {
    let document = Document::parse(Format::Markdown, Some(STORY.as_bytes())).unwrap();
    let err = document.edited(&[set("status.reason", "x")]).unwrap_err();
    assert!(matches!(err, DocError::Shape { .. }), "{err:?}");
    let err = document.edited(&[push("status", "x")]).unwrap_err();
    assert!(matches!(err, DocError::Shape { .. }), "{err:?}");
}

#[test]
fn editors_that_keep_their_lock_file_open_lose_no_increment_and_clean_up() {
    use stet::atomic::Writer;
    use stet::doc::{EditError, Editor};
    use stet::lock::{Locker, Wait};

    let dir = crate::support::scratch();
    let path = dir.path().join("story.md");
    std::fs::write(&path, STORY).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let locker = Locker::new().wait(Wait::Forever);
                let mut editor = Editor::open(&locker, &Writer::new(), &path, None).unwrap();
                for _ in 0..50 {
                    editor
                        .edit_value(|story| {
                            let next = story["counter"].as_u64().unwrap_or(0) + 1;
                            story["counter"] = next.into();
                        })
                        .unwrap();
                }
            });
        }
    });
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(value_of(Format::Markdown, &text)["counter"], 200, "no increment was lost");
    assert!(text.contains("status: in-progress  # moved by the orchestrator"), "formatting is kept");
    let mut editor = Editor::open(&Locker::new(), &Writer::new(), &path, None).unwrap();
    let stale = stet::Version::of(b"something else");
    let err = editor.edit(Some(stale), &[set("status", "done")]).unwrap_err();
    assert!(matches!(err, EditError::Conflict { .. }), "{err:?}");
    drop(editor);
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(names, ["story.md"], "the lock file goes with the last editor");
}

#[test]
fn indentless_lists_grow_at_their_own_column_and_anchored_values_are_refused() {
    let text = "tags:\n- a\n- b\nnext: 1\n";
    let new = edited(Format::Yaml, text, &[push("tags", "c")]);
    assert_hunk(text, &new, &[], &["- c"]);
    let new = edited(Format::Yaml, text, &[unset("tags.0")]);
    assert_hunk(text, &new, &["- a"], &[]);
    let document = Document::parse(Format::Yaml, Some(b"base: &base 1\ncopy: *base\n")).unwrap();
    let err = document.edited(&[set("base", "2")]).unwrap_err();
    assert!(matches!(err, DocError::Unsupported { .. }) && err.to_string().contains("anchored"), "{err}");
}

/// Runs `work` and fails if it takes longer than `limit`. Not a benchmark: the limits below are
/// a hundred times what the linear code takes even unoptimised on a loaded machine, and a tenth
/// of what the quadratic code took (minutes), so only a quadratic pass can exceed them.
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(work()));
    receive
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} took over {limit:?}: quadratic in the keys?"))
}

#[test]
fn a_merge_removing_and_adding_many_keys_is_linear_in_every_format() {
    const KEYS: usize = 100_000;
    let mut patch = serde_json::Map::new();
    for at in (0..KEYS).step_by(2) {
        patch.insert(format!("k{at}"), Value::Null);
    }
    for at in 0..KEYS / 10 {
        patch.insert(format!("new{at}"), json!(at));
    }
    let patch = Value::Object(patch);
    for format in [Format::Json, Format::Toml, Format::Yaml] {
        let text = (0..KEYS).fold(String::new(), |mut text, at| {
            let _ = match format {
                Format::Json => write!(text, "{}\"k{at}\": {at}", if at == 0 { "{" } else { ", " }),
                Format::Toml => writeln!(text, "k{at} = {at}"),
                _ => writeln!(text, "k{at}: {at}"),
            };
            text
        }) + if format == Format::Json { "}" } else { "" };
        let patch = patch.clone();
        let edited = within(std::time::Duration::from_secs(60), &format!("{format:?}"), move || {
            let document = Document::parse(format, Some(text.as_bytes())).unwrap();
            document.edited(&[Edit::Merge { patch }]).unwrap().unwrap()
        });
        let value = value_of(format, &edited);
        let map = value.as_object().unwrap();
        assert_eq!(map.len(), KEYS / 2 + KEYS / 10, "{format:?}: half the keys removed, a tenth added");
        assert_eq!(
            (map.keys().next().unwrap().as_str(), map.keys().next_back().unwrap().as_str()),
            ("k1", "new9999")
        );
    }
}

/// The text after making `edits` one at a time, each on the text the previous one left.
fn edited_one_at_a_time(format: Format, text: &str, edits: &[Edit]) -> String {
    edits.iter().fold(text.to_owned(), |text, edit| {
        let document = Document::parse(format, Some(text.as_bytes())).unwrap();
        document.edited(std::slice::from_ref(edit)).unwrap().unwrap_or(text)
    })
}

#[test]
fn several_edits_at_once_make_the_same_text_as_one_at_a_time() {
    let merge = |patch: Value| Edit::Merge { patch };
    let cases: Vec<(Format, &str, Vec<Edit>)> = vec![
        // A key added to a nested mapping and one added after it, in either order.
        (Format::Yaml, "a:\n  x: 1\n", vec![merge(json!({"b": 1, "a": {"y": 2}}))]),
        (Format::Yaml, "a:\n  x: 1\n", vec![merge(json!({"a": {"y": 2}, "b": 1}))]),
        (Format::Yaml, "l:\n- a: 1\n", vec![set("z", "1"), push("l", "x"), set("l.0.b", "2")]),
        // Every key of a nested mapping removed: it becomes `{}`.
        (Format::Yaml, "a:\n  x: 1\n  y: 2\nb: 3\n", vec![merge(json!({"a": {"x": null, "y": null}}))]),
        (Format::Yaml, "a: {x: 1, y: 2, z: 3}\n", vec![unset("a.x"), unset("a.y"), unset("a.z")]),
        (Format::Yaml, "a: {x: 1, y: 2, z: 3}\n", vec![unset("a.z"), unset("a.y"), set("a.w", "4")]),
        // Keys added to an empty flow mapping, and a mapping created by one edit filled by the next.
        (Format::Yaml, "a: {}\n", vec![set("a.x", "1"), set("a.y", "2")]),
        (Format::Yaml, "", vec![set("a.b", "1"), set("a.c", "2"), set("d", "3")]),
        (Format::Yaml, "a: 5\n", vec![set("a", "{}"), set("a.b", "1")]),
        (Format::Yaml, "a: 1\nb: 2\n", vec![unset("a"), unset("b"), set("c", "3")]),
        (
            Format::Markdown,
            STORY,
            vec![merge(json!({"status": "done", "priority": null, "owner": {"name": "x"}}))],
        ),
        // List items shift: two unsets of item 0 remove two items.
        (Format::Yaml, "l: [a, b, c]\nk: 1\n", vec![unset("l.0"), unset("l.0"), unset("k")]),
        (Format::Json, "{\"l\": [1, 2, 3], \"k\": 1}", vec![unset("l.0"), unset("l.0"), unset("k")]),
        (Format::Toml, "l = [1, 2, 3]\nk = 1\nm = 2\n", vec![unset("k"), unset("m"), unset("l")]),
        (
            Format::Toml,
            "[t]\na = 1\nb = 2\nc = 3\n",
            vec![merge(json!({"t": {"a": null, "b": 5, "c": null, "d": 4}}))],
        ),
    ];
    for (format, text, edits) in cases {
        let at_once = edited(format, text, &edits);
        let one_at_a_time = edited_one_at_a_time(format, text, &edits);
        assert_eq!(at_once, one_at_a_time, "{format:?} {text:?} with {edits:?}");
    }
}

#[test]
fn a_comment_after_a_flow_value_stays_when_the_value_is_replaced() {
    for text in ["a: []  # beside\nb: 1\n", "a: [x]  # beside\nb: 1\n", "a: {x: 1}  # beside\nb: 1\n"] {
        let new = edited(Format::Yaml, text, &[set("a", "[b]")]);
        assert_eq!(new, "a: [b]  # beside\nb: 1\n", "{text:?}");
    }
}
