//! TOML documents and `+++` TOML frontmatter through the command: edits keep every byte they do
//! not own, and what TOML cannot hold is refused with the limit named.

use crate::support::{json_error, run, scratch, stderr, stet};

fn write(dir: &std::path::Path, name: &str, bytes: &str) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn a_hugo_page_with_toml_frontmatter_is_read_and_edited_in_place() {
    let dir = scratch();
    write(dir.path(), "page.md", "+++\ntitle = \"x\"\n+++\nbody\n");
    let output = run(stet(dir.path()).args(["--json", "get", "page.md"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), r#"{"title":"x"}"#);
    let output = run(stet(dir.path()).args(["set", "page.md", "title=y", "--string"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(dir.path(), "page.md"), "+++\ntitle = \"y\"\n+++\nbody\n", "the fence and the body stay");
}

#[test]
fn toml_edits_keep_crlf_and_a_missing_final_line_break() {
    let dir = scratch();
    write(dir.path(), "crlf.toml", "[package]\r\nname = \"x\"\r\nversion = \"1\"\r\n");
    write(dir.path(), "eol.toml", "[package]\nname = \"x\"\nversion = \"1\"");
    for name in ["crlf.toml", "eol.toml"] {
        let output = run(stet(dir.path()).args(["set", name, "package.name=y", "package.edition=2021"]));
        assert!(output.status.success(), "{name}: {}", stderr(&output));
    }
    assert_eq!(
        read(dir.path(), "crlf.toml"),
        "[package]\r\nname = \"y\"\r\nversion = \"1\"\r\nedition = 2021\r\n"
    );
    assert_eq!(read(dir.path(), "eol.toml"), "[package]\nname = \"y\"\nversion = \"1\"\nedition = 2021");
}

#[test]
fn an_array_of_tables_is_indexed_and_a_date_field_stays_a_date() {
    let dir = scratch();
    write(dir.path(), "t.toml", "[[items]]\nname = \"one\"\n\n[dates]\nd = 2026-01-01\n");
    let output = run(stet(dir.path()).args(["set", "t.toml", "items.0.name=uno", "dates.d=2026-02-02"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(read(dir.path(), "t.toml"), "[[items]]\nname = \"uno\"\n\n[dates]\nd = 2026-02-02\n");
    let output = run(stet(dir.path()).args(["get", "t.toml", "dates.d"]));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "2026-02-02");
}

#[test]
fn an_integer_past_i64_is_refused_naming_the_limit_and_the_file_is_untouched() {
    let dir = scratch();
    write(dir.path(), "n.toml", "n = 1\n");
    let output = run(stet(dir.path()).args(["--json", "set", "n.toml", "n=9223372036854775808"]));
    assert!(!output.status.success());
    let message = json_error(&output)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("9223372036854775807") && message.contains("--string"), "{message}");
    assert_eq!(read(dir.path(), "n.toml"), "n = 1\n");
}

#[test]
fn a_toml_1_1_inline_table_is_malformed_naming_the_construct() {
    let dir = scratch();
    write(dir.path(), "t.toml", "a = { x = 1, }\n");
    let output = run(stet(dir.path()).args(["--json", "get", "t.toml"]));
    assert_eq!(output.status.code(), Some(65), "{}", stderr(&output));
    let error = json_error(&output);
    assert_eq!(error["code"], "EMALFORMED");
    assert!(error["message"].as_str().unwrap().contains("trailing comma in an inline table"), "{error}");
}
