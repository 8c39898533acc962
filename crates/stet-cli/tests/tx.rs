//! `stet tx` and `stet recover` as scripts use them: exit codes, JSON shapes, leases honoured,
//! and journals left by dead processes finished or undone.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{json_error, run, run_with_input, scratch, stderr, stet};

const STORY: &str = "---\nstatus: draft # keep\n---\n# Story\n";

fn tx(dir: &Path, plan: &Value, extra: &[&str]) -> std::process::Output {
    run_with_input(stet(dir).args(["tx", "-", "--json"]).args(extra), plan.to_string().as_bytes())
}

#[test]
fn a_plan_from_a_file_or_stdin_commits_and_prints_each_ops_result() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    let plan = json!({"ops": [
        {"op": "set", "path": "story.md", "values": {"status": "done"}},
        {"op": "write", "path": "notes/a.txt", "content": "a\n"},
        {"op": "append", "path": "events.ndjson", "events": [{"id": "e1"}, {"id": "e1"}]},
    ]});
    std::fs::create_dir(root.join("notes")).unwrap();
    std::fs::write(root.join("plan.json"), plan.to_string()).unwrap();
    let output = run(stet(root).args(["tx", "plan.json", "--json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["committed"], json!(true));
    assert_eq!(result["ops"], json!(3));
    assert_eq!(result["results"][0]["path"], json!("story.md"));
    assert_eq!(result["results"][0]["changed"], json!(true));
    assert_eq!(result["results"][1]["bytes"], json!(2));
    assert_eq!(result["results"][2], json!({"appended": 1, "duplicates": 1, "offset": 0}));
    assert_eq!(
        std::fs::read_to_string(root.join("story.md")).unwrap(),
        "---\nstatus: done # keep\n---\n# Story\n"
    );
    let output = run_with_input(stet(root).args(["tx", "-"]), plan.to_string().as_bytes());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "committed 3 ops\n");
}

#[test]
fn a_conflict_a_malformed_event_and_a_bad_plan_exit_with_their_codes_and_do_nothing() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    let write_first = json!({"op": "write", "path": "first.txt", "content": "x"});
    for (bad, status, code) in [
        (
            json!({"op": "set", "path": "story.md", "values": {"a": 1}, "if_version": "0000000000000000"}),
            3,
            "ECONFLICT",
        ),
        (json!({"op": "set", "path": "story.md", "values": {"a": 1}, "if_version": "none"}), 3, "ECONFLICT"),
        (json!({"op": "append", "path": "story.md", "event": {"id": 1}}), 65, "EMALFORMED"),
        (json!({"op": "delete", "paths": ["story.md"]}), 2, "EUSAGE"),
        (json!({"op": "copy", "from": "nowhere.txt", "path": "x.txt"}), 1, "ENOTFOUND"),
    ] {
        let output = tx(root, &json!({"ops": [write_first, bad]}), &[]);
        assert_eq!(output.status.code(), Some(status), "{bad}: {}", stderr(&output));
        let error = json_error(&output);
        assert_eq!(error["code"], json!(code), "{bad}");
        assert!(!root.join("first.txt").exists(), "{bad}: nothing was done");
        assert_eq!(std::fs::read_to_string(root.join("story.md")).unwrap(), STORY);
    }
    let output = run_with_input(stet(root).args(["tx", "-", "--json"]), b"{not json");
    assert_eq!(output.status.code(), Some(2));
    let output = run(stet(root).args(["tx", "missing-plan.json"]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("missing-plan.json"));
}

#[test]
fn a_path_under_another_owners_lease_refuses_the_whole_plan() {
    let dir = scratch();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".stet")).unwrap();
    std::fs::create_dir_all(root.join("specs")).unwrap();
    let output = run(stet(root).args(["lease", "acquire", "specs", "--owner", "agent-1"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let plan = json!({"ops": [
        {"op": "write", "path": "free.txt", "content": "x"},
        {"op": "new", "dir": "specs", "slug": "login"},
    ]});
    let output = tx(root, &plan, &["--owner", "agent-2"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(json_error(&output)["code"], json!("ELEASED"));
    assert!(!root.join("free.txt").exists());
    let output = tx(root, &plan, &["--owner", "agent-1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(root.join("specs/001-login").is_dir());
}

/// A journal as a process that died right after its commit point leaves it (the format of
/// docs/design.md), and the staged entry it was about to publish.
fn committed_journal(root: &Path) -> String {
    let tx_dir = root.join(".stet/tx");
    std::fs::create_dir_all(&tx_dir).unwrap();
    std::fs::create_dir_all(root.join("specs/.002-b.stet-1-00000000.tmp")).unwrap();
    std::fs::write(root.join("specs/.002-b.stet-1-00000000.tmp/README.md"), "# B\n").unwrap();
    let story = root.join("story.md").canonicalize().unwrap();
    let log = root.canonicalize().unwrap().join("events.ndjson");
    let specs = root.join("specs").canonicalize().unwrap();
    let id = "0001764640000000-0badc0de-999999-00000001";
    let journal = json!({
        "format": "stet-tx/1", "id": id, "pid": 999_999, "host": "elsewhere", "created_at": "2026-12-02T00:00:00Z",
        "locks": [log, specs, story],
        "steps": [
            {"step": "replace", "path": story, "old": stet_version(STORY), "new": stet_version("---\nstatus: done # keep\n---\n# Story\n"), "text": "---\nstatus: done # keep\n---\n# Story\n"},
            {"step": "append", "path": log, "offset": 0, "text": "{\"id\":\"e1\"}\n"},
            {"step": "publish", "path": specs.join("002-b"), "temp": specs.join(".002-b.stet-1-00000000.tmp")},
        ],
    });
    std::fs::write(tx_dir.join(format!("{id}.tx")), journal.to_string()).unwrap();
    id.to_owned()
}

fn stet_version(text: &str) -> String {
    let dir = scratch();
    std::fs::write(dir.path().join("f"), text).unwrap();
    let output = run(stet(dir.path()).args(["version", "f"]));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn recover_finishes_a_committed_transaction_of_a_dead_process_and_reports_it() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    std::fs::write(root.join("events.ndjson"), "").unwrap();
    let id = committed_journal(root);
    let output = run(stet(root).args(["recover", "--json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["transactions"], json!([{"id": id, "outcome": "rolled_forward"}]), "{report}");
    assert_eq!(
        std::fs::read_to_string(root.join("story.md")).unwrap(),
        "---\nstatus: done # keep\n---\n# Story\n"
    );
    assert_eq!(std::fs::read_to_string(root.join("events.ndjson")).unwrap(), "{\"id\":\"e1\"}\n");
    assert_eq!(std::fs::read_to_string(root.join("specs/002-b/README.md")).unwrap(), "# B\n");
    assert!(no_journal(root));
    let output = run(stet(root).args(["recover"]));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "nothing to recover\n");
}

#[test]
fn any_command_on_a_file_of_an_interrupted_transaction_finishes_it_before_its_own_change() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    std::fs::write(root.join("events.ndjson"), "").unwrap();
    committed_journal(root);
    let output = run(stet(root).args(["log", "append", "events.ndjson", r#"{"id":"e2"}"#]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(root.join("events.ndjson")).unwrap(),
        "{\"id\":\"e1\"}\n{\"id\":\"e2\"}\n"
    );
    assert!(root.join("specs/002-b").is_dir());
    assert!(no_journal(root));
}

#[test]
fn recover_undoes_an_uncommitted_journal_and_leaves_a_running_or_unknown_one_alone() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    let tx_dir = root.join(".stet/tx");
    std::fs::create_dir_all(&tx_dir).unwrap();
    let tag = stet::tx::host_tag();
    let staged = root.canonicalize().unwrap().join(".001-a.stet-1-00000000.tmp");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("README.md"), "# A\n").unwrap();
    let undone = format!("0001764640000000-{tag}-999999-00000002");
    let journal = json!({
        "format": "stet-tx/1", "id": undone, "pid": 999_999, "host": "here", "created_at": "2026-12-02T00:00:00Z",
        "locks": [], "steps": [{"step": "publish", "path": root.join("001-a"), "temp": staged}],
    });
    std::fs::write(tx_dir.join(format!("{undone}.tx.tmp")), journal.to_string()).unwrap();
    let running = format!("0001764640000000-{tag}-1-00000003");
    let running_path = tx_dir.join(format!("{running}.tx.tmp"));
    std::fs::write(&running_path, "").unwrap();
    let mut holder = std::process::Command::new("flock")
        .arg(&running_path)
        .args(["-c", "echo held; exec sleep 3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("flock(1) runs");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut line)
        .unwrap();
    std::fs::write(tx_dir.join("0001764640000000-zzzz-1-00000004.tx.tmp"), "{").unwrap();

    let output = run(stet(root).args(["recover", "--json"]));
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["transactions"], json!([{"id": undone, "outcome": "rolled_back"}]), "{report}");
    assert_eq!(report["removed"], json!([staged]), "{report}");
    let kept: Vec<&str> =
        report["kept"].as_array().unwrap().iter().map(|kept| kept["why"].as_str().unwrap()).collect();
    assert_eq!(kept, ["process 1 is writing it", "not a journal name stet makes"], "{report}");
    assert!(!staged.exists());
    assert!(running_path.exists());
    assert_eq!(std::fs::read_to_string(root.join("story.md")).unwrap(), STORY);
}

#[test]
fn a_transaction_killed_at_any_moment_is_all_or_nothing_once_recovered() {
    use std::os::unix::process::ExitStatusExt;
    let (mut finished, mut rolled_forward, mut rolled_back, mut untouched) = (0, 0, 0, 0);
    // Kill moments spread over one whole run, measured first.
    let mut span = std::time::Duration::ZERO;
    for round in 0..41u32 {
        let dir = scratch();
        let root = dir.path();
        let mut ops = Vec::new();
        for part in ["a", "b", "c"] {
            std::fs::create_dir(root.join(part)).unwrap();
            for n in 0..8 {
                let file = format!("{part}/f{n}.md");
                std::fs::write(root.join(&file), "---\ngen: 0\n---\n").unwrap();
                ops.push(json!({"op": "set", "path": file, "values": {"gen": 1}}));
            }
        }
        ops.push(json!({"op": "append", "path": "events.ndjson", "event": {"id": "gen-1"}}));
        let mut child = stet(root)
            .args(["tx", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            json!({"ops": ops}).to_string().as_bytes(),
        )
        .unwrap();
        let started = std::time::Instant::now();
        if round == 0 {
            assert!(child.wait().unwrap().success());
            span = started.elapsed();
            continue;
        }
        std::thread::sleep(span * round / 36);
        // SAFETY: the child's pid, still ours to signal: it has not been waited for.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let status = child.wait().unwrap();
        if status.signal().is_none() {
            finished += 1;
        }
        let output = run(stet(root).args(["recover", "--json"]));
        assert!(output.status.success(), "{}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        match report["transactions"][0]["outcome"].as_str() {
            Some("rolled_forward") => rolled_forward += 1,
            Some("rolled_back") => rolled_back += 1,
            _ => untouched += 1,
        }
        let gens: Vec<String> = ["a", "b", "c"]
            .iter()
            .flat_map(|part| (0..8).map(move |n| format!("{part}/f{n}.md")))
            .map(|file| std::fs::read_to_string(root.join(file)).unwrap())
            .collect();
        let log = std::fs::read_to_string(root.join("events.ndjson")).unwrap_or_default();
        let all_new = gens.iter().all(|text| text == "---\ngen: 1\n---\n") && log == "{\"id\":\"gen-1\"}\n";
        let all_old = gens.iter().all(|text| text == "---\ngen: 0\n---\n") && log.is_empty();
        assert!(all_new || all_old, "round {round}: half applied: {gens:?} {log:?} {report}");
        assert!(no_journal(root), "round {round}: {report}");
        let mut left: Vec<String> = Vec::new();
        for part in ["", "a", "b", "c"] {
            for entry in std::fs::read_dir(root.join(part)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                let lock = Path::new(&name).extension().is_some_and(|ext| ext == "lock");
                // An empty lock file shows nothing of who made it: the sweep leaves it (and
                // reports it), and stet uses it again.
                let empty_lock = lock && entry.metadata().unwrap().len() == 0;
                if (name.contains(".stet-") && !name.ends_with(".stet-index") || lock) && !empty_lock {
                    left.push(format!("{part}/{name}"));
                }
            }
        }
        assert_eq!(
            left,
            Vec::<String>::new(),
            "round {round}: the sweep leaves nothing of the killed process: {report}"
        );
    }
    eprintln!(
        "40 kills over {span:?}: {finished} finished first, {rolled_forward} rolled forward, {rolled_back} rolled back, {untouched} with nothing to recover"
    );
}

/// Whether the journal directory is missing or empty.
fn no_journal(root: &Path) -> bool {
    std::fs::read_dir(root.join(".stet/tx")).map_or(true, |mut names| names.next().is_none())
}
