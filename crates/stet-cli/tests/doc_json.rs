//! JSON and JSONC documents and keys through the command line: `.jsonc` files, comments kept,
//! strict JSON printed, duplicate keys refused, JSON Pointer keys, keys that start with `-`.

use std::fs;

use crate::support::{json_error, run, scratch, stderr, stet};

#[test]
fn a_jsonc_file_is_read_and_printed_as_strict_json() {
    let dir = scratch();
    fs::write(dir.path().join("settings.jsonc"), "{\n  // editor\n  \"tabs\": false,\n}\n").unwrap();
    let output = run(stet(dir.path()).args(["get", "settings.jsonc"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    let value: serde_json::Value = serde_json::from_str(&printed).expect("get prints strict JSON");
    assert_eq!(value, serde_json::json!({"tabs": false}), "{printed}");
}

#[test]
fn set_in_a_jsonc_file_keeps_its_comments_and_trailing_commas() {
    let dir = scratch();
    let path = dir.path().join("tsconfig.json");
    fs::write(&path, "{\n  // strictness\n  \"strict\": false,\n}\n").unwrap();
    let output = run(stet(dir.path()).args(["set", "tsconfig.json", "strict=true"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  // strictness\n  \"strict\": true,\n}\n");
}

#[test]
fn duplicate_json_keys_are_malformed_and_the_file_is_untouched() {
    let dir = scratch();
    let path = dir.path().join("d.json");
    fs::write(&path, "{\"a\": 1, \"a\": 2, \"c\": 1e5}\n").unwrap();
    let output = run(stet(dir.path()).args(["--json", "set", "d.json", "b=1"]));
    assert_eq!(output.status.code(), Some(65));
    let error = json_error(&output);
    assert_eq!(error["code"], "EMALFORMED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("line 1") && message.contains("`a` appears twice"), "{message}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\": 1, \"a\": 2, \"c\": 1e5}\n");
}

#[test]
fn a_json_pointer_key_reaches_a_key_with_dots() {
    let dir = scratch();
    let path = dir.path().join("p.json");
    fs::write(&path, "{\"d.o.t\": {\"x\": 1}}\n").unwrap();
    let output = run(stet(dir.path()).args(["set", "p.json", "/d.o.t/x=2"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"d.o.t\": {\"x\": 2}}\n");
    let output = run(stet(dir.path()).args(["get", "p.json", "/d.o.t/x"]));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "2\n");
}

#[test]
fn a_key_that_starts_with_a_hyphen_is_a_usage_error_that_suggests_double_dash() {
    let dir = scratch();
    let path = dir.path().join("k.json");
    fs::write(&path, "{\"-1\": true}\n").unwrap();
    let output = run(stet(dir.path()).args(["set", "k.json", "-1=false"]));
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("stet set k.json -- -1=false"), "{message}");
    let output = run(stet(dir.path()).args(["--json", "unset", "k.json", "-1"]));
    let error = json_error(&output);
    assert_eq!(error["code"], "EUSAGE");
    assert!(error["message"].as_str().unwrap().contains("stet unset k.json -- -1"), "{error}");
    let output = run(stet(dir.path()).args(["set", "k.json", "--", "-1=false"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"-1\": false}\n");
}
