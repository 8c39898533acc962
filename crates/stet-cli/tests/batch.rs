//! `stet batch`: every op over one pipe, the CLI's codes and results, refusals that do not end the
//! batch, large requests, a client that goes away, and many batches racing CLI processes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::lock::hold;
use crate::support::{json_error, names, run, run_with_input, scratch, stderr, stet};

const STORY: &str =
    "---\ntitle: Login flow  # shown on the board\nstatus: draft\ncounter: 0\n---\n\n# Login\n";

/// Runs `stet ARGS batch` over `requests`, one per line; returns the process's output and its
/// responses, parsed.
fn batch(dir: &Path, args: &[&str], requests: &[Value]) -> (Output, Vec<Value>) {
    let input: String = requests.iter().flat_map(|request| [request.to_string(), "\n".into()]).collect();
    batch_text(dir, args, &input)
}

fn batch_text(dir: &Path, args: &[&str], input: &str) -> (Output, Vec<Value>) {
    let output = run_with_input(stet(dir).args(args).arg("batch"), input.as_bytes());
    let responses = String::from_utf8(output.stdout.clone())
        .expect("responses are UTF-8")
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("a response is not JSON ({err}): {line}"))
        })
        .collect();
    (output, responses)
}

/// The result of a response that must be ok.
fn result(response: &Value) -> &Value {
    assert_eq!(response["ok"], true, "the request failed: {response}");
    &response["result"]
}

fn cli_json(dir: &Path, args: &[&str]) -> Value {
    let output = run(stet(dir).arg("--json").args(args));
    assert!(output.status.success(), "stet {args:?} failed: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

#[test]
fn every_op_is_answered_in_order_with_the_results_the_cli_prints() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    std::fs::write(root.join("twin.md"), STORY).unwrap();
    std::fs::create_dir(root.join("specs")).unwrap();
    let requests = [
        json!({"id": "get", "op": "get", "path": "story.md"}),
        json!({"id": "get-key", "op": "get", "path": "story.md", "key": "status", "with_version": true}),
        json!({"id": "set", "op": "set", "path": "story.md", "values": {"status": "done", "counter": 1}}),
        json!({"id": "push", "op": "push", "path": "story.md", "values": {"labels": "auth"}}),
        json!({"id": "unset", "op": "unset", "path": "story.md", "keys": ["counter"]}),
        json!({"id": "merge", "op": "merge", "path": "story.md", "patch": {"epic": "E-7", "labels": null}}),
        json!({"id": "version", "op": "version", "path": "story.md"}),
        json!({"id": "write", "op": "write", "path": "notes.txt", "content": "hello\n"}),
        json!({"id": "new", "op": "new", "dir": "specs", "slug": "login-flow", "set": {"status": "draft"}}),
        json!({"id": "append", "op": "log.append", "path": "events.ndjson", "events": [{"id": 1}, {"id": 2}, {"id": 1}]}),
        json!({"id": "read", "op": "log.read", "path": "events.ndjson", "with_offsets": true}),
        json!({"id": "verify", "op": "log.verify", "path": "events.ndjson"}),
        json!({"id": "repair", "op": "log.repair", "path": "events.ndjson"}),
        json!({"id": "acquire", "op": "lease.acquire", "paths": ["specs"], "ttl": "1m"}),
        json!({"id": "renew", "op": "lease.renew", "paths": ["specs"], "ttl": "2m"}),
        json!({"id": "status", "op": "lease.status", "paths": ["specs"]}),
        json!({"id": "release", "op": "lease.release", "paths": ["specs"]}),
        json!({"id": "cleanup", "op": "lease.cleanup", "expired": true}),
    ];
    let original = cli_json(root, &["version", "story.md"]);
    let (output, responses) = batch(root, &["--owner", "agent-7"], &requests);
    assert!(output.status.success(), "the batch exits 0 at the end of input: {}", stderr(&output));
    let ids: Vec<&Value> = responses.iter().map(|response| &response["id"]).collect();
    let asked: Vec<&Value> = requests.iter().map(|request| &request["id"]).collect();
    assert_eq!(ids, asked, "one response per request, in order");
    let by_id = |id: &str| result(&responses[asked.iter().position(|asked| *asked == id).unwrap()]).clone();

    assert_eq!(by_id("get")["title"], "Login flow");
    assert_eq!(by_id("get-key")["value"], "draft");
    let mut twin = cli_json(root, &["set", "twin.md", "status=done", "counter=1"]);
    twin["path"] = json!("story.md");
    assert_eq!(by_id("set"), twin, "set's result is the CLI's for the same edit of the same bytes");
    assert_eq!(by_id("push")["changed"], true);
    let text = std::fs::read_to_string(root.join("story.md")).unwrap();
    assert!(text.contains("title: Login flow  # shown on the board\n"), "untouched lines stay: {text}");
    assert!(
        text.contains("status: done") && text.contains("epic: E-7") && !text.contains("counter"),
        "{text}"
    );
    assert_eq!(by_id("version"), cli_json(root, &["version", "story.md"]));
    assert_eq!(by_id("get-key")["version"], original["version"], "with_version gives the version read");
    assert_eq!(
        by_id("write"),
        json!({"path": "notes.txt", "bytes": 6, "version": cli_json(root, &["version", "notes.txt"])["version"]})
    );
    assert_eq!(by_id("new"), json!({"path": "specs/001-login-flow", "seq": 1}));
    assert_eq!(by_id("append"), json!({"appended": 2, "duplicates": 1, "offset": 0, "cut": null}));
    assert_eq!(
        by_id("read"),
        json!({"events": [{"offset": 0, "next": 9, "event": {"id": 1}}, {"offset": 9, "next": 18, "event": {"id": 2}}], "next": 18})
    );
    assert_eq!(by_id("verify"), cli_json(root, &["log", "verify", "events.ndjson"]));
    assert_eq!(by_id("repair")["clean"], true);
    assert_eq!(by_id("acquire")["leases"][0]["owner"], "agent-7");
    assert_eq!(by_id("status")["leases"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_id("release"), json!({"released": 1}));
    assert_eq!(by_id("cleanup"), json!({"released": []}));
}

#[test]
fn errors_carry_the_codes_the_cli_gives_for_the_same_cause() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    std::fs::write(root.join("broken.md"), "---\ntitle: [unclosed\n---\n").unwrap();
    let cases: [(Value, &[&str]); 5] = [
        (json!({"op": "get", "path": "missing.md"}), &["get", "missing.md"]),
        (json!({"op": "get", "path": "story.md", "key": "nope"}), &["get", "story.md", "nope"]),
        (json!({"op": "set", "path": "broken.md", "values": {"a": 1}}), &["set", "broken.md", "a=1"]),
        (
            json!({"op": "set", "path": "story.md", "values": {"a": 1}, "if_version": "0123456789abcdef"}),
            &["set", "story.md", "a=1", "--if-version", "0123456789abcdef"],
        ),
        (
            json!({"op": "write", "path": "story.md", "content": "x", "create_new": true}),
            &["write", "story.md", "--create-new"],
        ),
    ];
    let requests: Vec<Value> = cases.iter().map(|(request, _)| request.clone()).collect();
    let (_, responses) = batch(root, &[], &requests);
    assert_eq!(responses.len(), cases.len(), "every request is answered");
    for ((request, args), response) in cases.iter().zip(&responses) {
        let cli = json_error(&run_with_input(stet(root).arg("--json").args(*args), b"x"));
        assert_eq!(response["ok"], false, "{request} must fail");
        assert_eq!(response["error"]["code"], cli["code"], "{request}: the batch's code is the CLI's");
    }
    assert_eq!(std::fs::read_to_string(root.join("story.md")).unwrap(), STORY, "no failed request wrote");
}

#[test]
fn malformed_lines_unknown_ops_fields_and_versions_are_answered_and_the_batch_goes_on() {
    let dir = scratch();
    std::fs::write(dir.path().join("story.md"), STORY).unwrap();
    let input = [
        "this is not json",
        "[1, 2, 3]",
        r#"{"id": 1, "op": "frobnicate", "path": "story.md"}"#,
        r#"{"id": 2, "op": "get", "path": "story.md", "colour": "red"}"#,
        r#"{"id": 3, "v": 2, "op": "get", "path": "story.md"}"#,
        r#"{"id": 4, "op": "set", "path": "story.md", "values": "status=done"}"#,
        r#"{"id": 5, "op": "tx", "ops": [{"op": "sett", "path": "story.md"}]}"#,
        r#"{"id": 6, "op": "update", "path": "story.md"}"#,
        "",
        r#"{"id": 7, "v": 1, "op": "get", "path": "story.md", "key": "status"}"#,
    ]
    .join("\n");
    let (output, responses) = batch_text(dir.path(), &[], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    let codes: Vec<(&Value, &Value)> =
        responses.iter().map(|response| (&response["id"], &response["error"]["code"])).collect();
    assert_eq!(
        codes,
        [
            (&Value::Null, &json!("EMALFORMED")),
            (&Value::Null, &json!("EMALFORMED")),
            (&json!(1), &json!("EUSAGE")),
            (&json!(2), &json!("EUSAGE")),
            (&json!(3), &json!("EUSAGE")),
            (&json!(4), &json!("EUSAGE")),
            (&json!(5), &json!("EUSAGE")),
            (&json!(6), &json!("EUSAGE")),
            (&json!(7), &Value::Null),
        ],
        "each refused line gets its code, the blank line no response, and the last request its answer"
    );
    assert!(
        responses[3]["error"]["message"].as_str().unwrap().contains("colour"),
        "the unknown field is named"
    );
    assert_eq!(result(&responses[8]), "draft");
}

#[test]
fn a_request_overrides_the_batch_owner_and_timeout() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    std::fs::create_dir(root.join("specs")).unwrap();
    let mut holder = hold(root, &[], "story.md", 20);
    let started = Instant::now();
    let (_, responses) = batch(
        root,
        &["--owner", "agent-7", "--timeout", "inf"],
        &[
            json!({"id": 1, "op": "set", "path": "story.md", "values": {"a": 1}, "timeout": "0"}),
            json!({"id": 2, "op": "lease.acquire", "paths": ["specs"]}),
            json!({"id": 3, "op": "new", "dir": "specs", "slug": "x", "owner": "intruder"}),
            json!({"id": 4, "op": "new", "dir": "specs", "slug": "x"}),
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(10), "timeout 0 tried once instead of waiting forever");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(holder.id() as i32, libc::SIGTERM) };
    let _ = holder.wait();
    assert_eq!(responses[0]["error"]["code"], "ELOCK_TIMEOUT", "{}", responses[0]);
    assert_eq!(result(&responses[1])["leases"][0]["owner"], "agent-7");
    assert_eq!(responses[2]["error"]["code"], "ELEASED", "another owner is refused: {}", responses[2]);
    assert_eq!(result(&responses[3])["seq"], 1, "the batch's own owner may write");
}

#[test]
fn a_ten_megabyte_write_and_any_bytes_in_base64_are_written_whole() {
    let dir = scratch();
    let big: String = "0123456789abcdef\n".repeat(10 * 1024 * 1024 / 17);
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let encoded = base64_encode(&bytes);
    let (output, responses) = batch(
        dir.path(),
        &["--no-sync"],
        &[
            json!({"id": 1, "op": "write", "path": "big.txt", "content": big}),
            json!({"id": 2, "op": "write", "path": "bytes.bin", "content_base64": encoded}),
            json!({"id": 3, "op": "write", "path": "x", "content": "a", "content_base64": "YQ=="}),
            json!({"id": 4, "op": "write", "path": "x", "content_base64": "not base64!"}),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result(&responses[0])["bytes"], big.len());
    assert_eq!(std::fs::read_to_string(dir.path().join("big.txt")).unwrap(), big);
    assert_eq!(std::fs::read(dir.path().join("bytes.bin")).unwrap(), bytes);
    assert_eq!(
        (&responses[2]["error"]["code"], &responses[3]["error"]["code"]),
        (&json!("EUSAGE"), &json!("EUSAGE"))
    );
    assert!(!dir.path().join("x").exists());
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (at, byte)| n | u32::from(*byte) << (16 - 8 * at));
        for at in 0..4 {
            if at <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * at) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_client_that_closes_its_end_early_ends_the_batch_cleanly() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    let mut child = stet(root)
        .arg("batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stet batch starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{}", json!({"id": 1, "op": "set", "path": "story.md", "values": {"status": "done"}}))
        .unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"ok\":true"), "{first}");
    drop(stdout);
    // The next request runs whole; its answer finds nobody listening, and the batch ends there.
    let second = json!({"id": 2, "op": "write", "path": "second.txt", "content": "x".repeat(100_000)});
    let third = json!({"id": 3, "op": "write", "path": "third.txt", "content": "never"});
    let _ = writeln!(stdin, "{second}\n{third}");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "a client gone is the end of the batch, not a failure: {output:?}");
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(root.join("second.txt")).unwrap(), "x".repeat(100_000));
    assert_eq!(names(root), ["second.txt", "story.md"], "no temporary file, lock or later write is left");
    drop(stdin);
}

/// 8 `stet batch` processes and 8 CLI processes push unique items onto one list and append unique
/// events to one log: every item and every event arrives, once.
#[test]
fn eight_batches_and_eight_cli_processes_lose_no_update() {
    let dir = scratch();
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("board.md"), STORY).unwrap();
    let (per_batch, per_cli) = (30, 6);
    let expected: Vec<String> = (0..8)
        .flat_map(|p| (0..per_batch).map(move |i| format!("b{p}-{i}")))
        .chain((0..8).flat_map(|p| (0..per_cli).map(move |i| format!("c{p}-{i}"))))
        .collect();
    std::thread::scope(|scope| {
        for p in 0..8 {
            let root = &root;
            scope.spawn(move || {
                let requests: Vec<Value> = (0..per_batch)
                    .flat_map(|i| {
                        let item = format!("b{p}-{i}");
                        [
                            json!({"op": "push", "path": "board.md", "values": {"items": item}}),
                            json!({"op": "log.append", "path": "events.ndjson", "event": {"id": item}}),
                        ]
                    })
                    .collect();
                let (output, responses) = batch(root, &["--timeout", "inf"], &requests);
                assert!(output.status.success(), "{}", stderr(&output));
                assert!(responses.iter().all(|response| response["ok"] == true), "{responses:?}");
            });
            scope.spawn(move || {
                for i in 0..per_cli {
                    let item = format!("c{p}-{i}");
                    let pushed = run(stet(root).args([
                        "--timeout",
                        "inf",
                        "push",
                        "board.md",
                        &format!("items={item}"),
                    ]));
                    assert!(pushed.status.success(), "{}", stderr(&pushed));
                    let event = json!({"id": item}).to_string();
                    let appended =
                        run(stet(root).args(["--timeout", "inf", "log", "append", "events.ndjson", &event]));
                    assert!(appended.status.success(), "{}", stderr(&appended));
                }
            });
        }
    });
    let items = cli_json(&root, &["get", "board.md", "items"]);
    let mut found: Vec<String> =
        items.as_array().unwrap().iter().map(|item| item.as_str().unwrap().to_owned()).collect();
    let mut expected_sorted = expected.clone();
    found.sort();
    expected_sorted.sort();
    assert_eq!(found, expected_sorted, "every pushed item is on the list, once");
    let mut events: Vec<String> = std::fs::read_to_string(root.join("events.ndjson"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    events.sort();
    assert_eq!(events, expected_sorted, "every event is in the log, once");
}

#[test]
fn a_batch_with_no_input_exits_zero_and_prints_nothing() {
    let dir = scratch();
    let output = run(Command::new(crate::support::stet_bin()).current_dir(dir.path()).arg("batch"));
    assert!(output.status.success() && output.stdout.is_empty(), "{output:?}");
}

#[test]
fn a_tx_request_commits_a_plan_all_or_nothing_as_stet_tx_does() {
    let dir = scratch();
    let root = dir.path();
    std::fs::write(root.join("story.md"), STORY).unwrap();
    let input = [
        r#"{"id": 1, "op": "tx", "ops": [{"op": "set", "path": "story.md", "values": {"status": "done"}}, {"op": "append", "path": "events.ndjson", "event": {"id": "e1"}}]}"#,
        r#"{"id": 2, "op": "tx", "plan": {"ops": [{"op": "write", "path": "other.txt", "content": "x"}, {"op": "set", "path": "story.md", "values": {"status": "x"}, "if_version": "0000000000000000"}]}}"#,
    ]
    .join("\n");
    let (output, responses) = batch_text(root, &[], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(responses[0]["result"]["committed"], json!(true), "{}", responses[0]);
    assert_eq!(responses[0]["result"]["results"][1], json!({"appended": 1, "duplicates": 0, "offset": 0}));
    assert_eq!(responses[1]["error"]["code"], json!("ECONFLICT"));
    assert_eq!(responses[1]["error"]["op"], json!(1));
    assert!(!root.join("other.txt").exists(), "the conflicting plan did nothing");
    assert!(std::fs::read_to_string(root.join("story.md")).unwrap().contains("status: done"));
    assert_eq!(std::fs::read_to_string(root.join("events.ndjson")).unwrap(), "{\"id\":\"e1\"}\n");
}
