//! TOML documents and `+++` TOML frontmatter: golden edits with the exact bytes expected, one per
//! class of construct found in real files. Every byte an edit does not own stays.

use serde_json::{Value, json};
use stet::doc::{DocError, Document, Edit, Format};

use crate::support::{push, set, set_string, unset};

fn edited(format: Format, text: &str, edits: &[Edit]) -> String {
    let document = Document::parse(format, Some(text.as_bytes())).expect("the fixture parses");
    document.edited(edits).expect("the edit is made").expect("the edit changes something")
}

fn toml(text: &str, edits: &[Edit]) -> String {
    edited(Format::Toml, text, edits)
}

fn refusal(format: Format, text: &str, edits: &[Edit]) -> DocError {
    let document = Document::parse(format, Some(text.as_bytes())).expect("the fixture parses");
    document.edited(edits).expect_err("the edit is refused")
}

fn value_of(format: Format, text: &str) -> Value {
    Document::parse(format, Some(text.as_bytes())).expect("the text parses").value().clone()
}

#[test]
fn inf_and_nan_followed_by_a_comment_read_as_inf_and_nan() {
    let value = value_of(
        Format::Toml,
        "sf1 = inf  # positive infinity\nsf2 = -inf # c\nsf3 = nan # c\nx = 1.5 # c\n",
    );
    assert_eq!(value, json!({"sf1": "inf", "sf2": "-inf", "sf3": "nan", "x": 1.5}));
}

#[test]
fn a_crlf_file_keeps_crlf_also_in_the_lines_an_edit_adds() {
    let text = "[package]\r\nname = \"x\"\r\nversion = \"1\"\r\n";
    assert_eq!(toml(text, &[set("package.name", "y")]), "[package]\r\nname = \"y\"\r\nversion = \"1\"\r\n");
    assert_eq!(
        toml(text, &[set("package.edition", "2021"), set("top", "1")]),
        "top = 1\r\n[package]\r\nname = \"x\"\r\nversion = \"1\"\r\nedition = 2021\r\n"
    );
}

#[test]
fn a_file_without_a_final_line_break_stays_without_one() {
    let text = "[package]\nname = \"x\"\nversion = \"1\"";
    assert_eq!(toml(text, &[set("package.name", "y")]), "[package]\nname = \"y\"\nversion = \"1\"");
    assert_eq!(
        toml(text, &[set("package.edition", "2021")]),
        "[package]\nname = \"x\"\nversion = \"1\"\nedition = 2021"
    );
}

#[test]
fn unset_removes_only_the_comment_lines_directly_above_the_key_or_table() {
    assert_eq!(
        toml("# License header\n\nname = \"x\"\nb = 1\n", &[unset("name")]),
        "# License header\n\nb = 1\n"
    );
    assert_eq!(toml("a = 1\n# about b\nb = 2\nc = 3\n", &[unset("b")]), "a = 1\nc = 3\n");
    let cargo = "[package]\nname = \"x\"\n\n# See more keys at https://doc.rust-lang.org/cargo/reference/manifest.html\n\n[dependencies]\nserde = \"1\"\n";
    assert_eq!(
        toml(cargo, &[unset("dependencies")]),
        "[package]\nname = \"x\"\n\n# See more keys at https://doc.rust-lang.org/cargo/reference/manifest.html\n\n"
    );
    let tables = "[a]\nx = 1\n\n# the b table\n[b]\ny = 2\n\n[b.sub]\nz = 3\n\n[c]\nw = 4\n";
    assert_eq!(toml(tables, &[unset("b")]), "[a]\nx = 1\n\n\n\n[c]\nw = 4\n");
}

#[test]
fn an_edit_never_re_renders_sibling_dotted_keys() {
    let text = "count . b = 2\n\"count\".c = 3\ncount.a = 1\n";
    assert_eq!(toml(text, &[set("count.a", "2")]), "count . b = 2\n\"count\".c = 3\ncount.a = 2\n");
    let text = "x = 1\na.b = 1\nc = 2\na.d = 3\n";
    assert_eq!(toml(text, &[set("x", "2")]), "x = 2\na.b = 1\nc = 2\na.d = 3\n");
    assert_eq!(toml(text, &[set("a.e", "4")]), "x = 1\na.b = 1\nc = 2\na.d = 3\na.e = 4\n");
    assert_eq!(toml(text, &[unset("a.d")]), "x = 1\na.b = 1\nc = 2\n");
}

#[test]
fn an_array_of_tables_is_indexed_for_get_set_unset_and_push() {
    let text = "[[bin]]\nname = \"a\"\n\n[[bin]]\nname = \"b\"\npath = \"b.rs\"\n\n[other]\nk = 1\n";
    assert_eq!(value_of(Format::Toml, text)["bin"][1]["name"], json!("b"));
    assert_eq!(
        toml(text, &[set("bin.0.name", "c")]),
        "[[bin]]\nname = \"c\"\n\n[[bin]]\nname = \"b\"\npath = \"b.rs\"\n\n[other]\nk = 1\n"
    );
    assert_eq!(
        toml(text, &[set("bin.0.path", "a.rs")]),
        "[[bin]]\nname = \"a\"\npath = \"a.rs\"\n\n[[bin]]\nname = \"b\"\npath = \"b.rs\"\n\n[other]\nk = 1\n"
    );
    assert_eq!(
        toml(text, &[unset("bin.1.path")]),
        "[[bin]]\nname = \"a\"\n\n[[bin]]\nname = \"b\"\n\n[other]\nk = 1\n"
    );
    assert_eq!(toml(text, &[unset("bin.0")]), "\n[[bin]]\nname = \"b\"\npath = \"b.rs\"\n\n[other]\nk = 1\n");
    assert_eq!(
        toml(text, &[push("bin", "{name: c}")]),
        "[[bin]]\nname = \"a\"\n\n[[bin]]\nname = \"b\"\npath = \"b.rs\"\n[[bin]]\nname = \"c\"\n\n[other]\nk = 1\n"
    );
}

#[test]
fn values_inside_arrays_are_edited_in_place() {
    assert_eq!(toml("a = [{x = 1}]\n", &[set("a.0.x", "2")]), "a = [{x = 2}]\n");
    assert_eq!(toml("a = [1, 2, 3] # c\n", &[set("a.1", "5")]), "a = [1, 5, 3] # c\n");
    assert_eq!(toml("a = [1, 2, 3] # c\n", &[unset("a.1")]), "a = [1, 3] # c\n");
    assert_eq!(toml("a = [1, 2, 3] # c\n", &[unset("a.2")]), "a = [1, 2] # c\n");
    assert_eq!(toml("a = [1]\n", &[unset("a.0")]), "a = []\n");
    assert_eq!(toml("a = [1, 2]\n", &[push("a", "3")]), "a = [1, 2, 3]\n");
    assert_eq!(toml("a = []\n", &[push("a", "3")]), "a = [3]\n");
    let lines = "a = [\n  \"x\", # one\n  \"y\", # two\n]\nb = 1\n";
    assert_eq!(toml(lines, &[push("a", "z")]), "a = [\n  \"x\", # one\n  \"y\", # two\n  \"z\",\n]\nb = 1\n");
    assert_eq!(toml(lines, &[unset("a.1")]), "a = [\n  \"x\", # one\n]\nb = 1\n");
    assert_eq!(toml("t = { x = 1, y = 2 }\n", &[unset("t.x")]), "t = { y = 2 }\n");
    assert_eq!(toml("t = { x = 1, y = 2 }\n", &[unset("t.y")]), "t = { x = 1 }\n");
    assert_eq!(toml("t = { x = 1 }\n", &[set("t.z", "3")]), "t = { x = 1, z = 3 }\n");
    assert_eq!(toml("t = {}\n", &[set("t.z", "3")]), "t = { z = 3 }\n");
}

#[test]
fn a_date_set_into_a_date_field_stays_a_toml_date() {
    let text = "[[items]]\nname = \"one\"\n\n[dates]\nd = 2026-01-01 # due\nt = 1979-05-27T07:32:00Z\n";
    assert_eq!(
        toml(text, &[set("dates.d", "2026-02-02")]),
        "[[items]]\nname = \"one\"\n\n[dates]\nd = 2026-02-02 # due\nt = 1979-05-27T07:32:00Z\n"
    );
    assert_eq!(
        toml(text, &[set("dates.t", "2000-01-01T00:00:00Z")]),
        "[[items]]\nname = \"one\"\n\n[dates]\nd = 2026-01-01 # due\nt = 2000-01-01T00:00:00Z\n"
    );
    // Text that is not a date, or a new key, is a string.
    assert_eq!(
        toml(text, &[set("dates.d", "soon"), set("dates.e", "2026-03-03")]),
        "[[items]]\nname = \"one\"\n\n[dates]\nd = \"soon\" # due\nt = 1979-05-27T07:32:00Z\ne = \"2026-03-03\"\n"
    );
    assert_eq!(
        value_of(Format::Toml, text)["dates"],
        json!({"d": "2026-01-01", "t": "1979-05-27T07:32:00Z"})
    );
}

#[test]
fn an_integer_past_i64_is_refused_naming_the_limit() {
    let err = refusal(Format::Toml, "n = 1\n", &[set("n", "9223372036854775808")]);
    let message = err.to_string();
    assert!(message.contains("9223372036854775807") && message.contains("--string"), "{message}");
    assert_eq!(toml("n = 1\n", &[set("n", "9223372036854775807")]), "n = 9223372036854775807\n");
}

#[test]
fn toml_1_1_inline_tables_are_refused_naming_the_construct() {
    for (text, words) in [("a = { x = 1, }\n", "trailing comma"), ("a = {\n  x = 1\n}\n", "line break")] {
        match Document::parse(Format::Toml, Some(text.as_bytes())) {
            Err(DocError::Malformed { line: Some(1), message }) => {
                assert!(message.contains(words) && message.contains("TOML 1.1"), "{message}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
    assert_eq!(value_of(Format::Toml, "a = { x = [\n  1,\n] }\n"), json!({"a": {"x": [1]}}));
}

#[test]
fn a_new_key_lands_after_the_last_key_of_its_table_in_its_indentation() {
    let text = "# top\nname = \"x\"\n\n[a]\n  k = 1\n  # tail comment\n\n[b]\n";
    assert_eq!(
        toml(text, &[set("n", "2")]),
        "# top\nname = \"x\"\nn = 2\n\n[a]\n  k = 1\n  # tail comment\n\n[b]\n"
    );
    assert_eq!(
        toml(text, &[set("a.m", "2")]),
        "# top\nname = \"x\"\n\n[a]\n  k = 1\n  m = 2\n  # tail comment\n\n[b]\n"
    );
    assert_eq!(
        toml(text, &[set("b.m", "2")]),
        "# top\nname = \"x\"\n\n[a]\n  k = 1\n  # tail comment\n\n[b]\nm = 2\n"
    );
    assert_eq!(
        toml(text, &[set("a.x.y", "2")]),
        "# top\nname = \"x\"\n\n[a]\n  k = 1\n  x.y = 2\n  # tail comment\n\n[b]\n"
    );
    // A table with only sub-tables gets a dotted key where its first section is.
    let implicit = "# doc\n\n[tool.poetry]\nname = \"p\"\n";
    assert_eq!(
        toml(implicit, &[set("tool.black.line", "88")]),
        "# doc\n\ntool.black.line = 88\n[tool.poetry]\nname = \"p\"\n"
    );
    assert_eq!(toml("", &[set("a", "1")]), "a = 1\n");
    assert_eq!(toml("", &[set("a.b", "1")]), "a.b = 1\n");
}

#[test]
fn setting_a_mapping_over_a_table_edits_its_keys() {
    let text = "[t]\na = 1 # one\nb = 2\n";
    assert_eq!(toml(text, &[set("t", "{a: 1, c: 3}")]), "[t]\na = 1 # one\nc = 3\n");
    assert_eq!(toml(text, &[set("t", "5")]), "t = 5\n");
    assert_eq!(toml(text, &[set_string("t.b", "x: \"y\" # z")]), "[t]\na = 1 # one\nb = 'x: \"y\" # z'\n");
}

#[test]
fn unsetting_the_last_dotted_key_keeps_its_table_as_an_empty_one() {
    assert_eq!(toml("a.b = 1 # c\nx = 2\n", &[unset("a.b")]), "a = {} # c\nx = 2\n");
}

#[test]
fn a_merge_patch_is_made_in_place() {
    let text = "[t]\na = 1\nb = 2\nc = 3\n";
    let patch = json!({"t": {"a": null, "b": 5, "c": null, "d": 4}, "u": [1]});
    assert_eq!(toml(text, &[Edit::Merge { patch }]), "u = [1]\n[t]\nb = 5\nd = 4\n");
}

#[test]
fn markdown_with_toml_frontmatter_is_read_and_edited_as_toml_in_place() {
    let page = "\u{feff}+++\r\ntitle = \"x\" # the title\r\ntags = [\"a\"]\r\n+++\r\n# Body\r\n+++\r\n";
    assert_eq!(value_of(Format::Markdown, page), json!({"title": "x", "tags": ["a"]}));
    assert_eq!(
        edited(Format::Markdown, page, &[set_string("title", "y"), push("tags", "b"), set("draft", "true")]),
        "\u{feff}+++\r\ntitle = \"y\" # the title\r\ntags = [\"a\", \"b\"]\r\ndraft = true\r\n+++\r\n# Body\r\n+++\r\n"
    );
    assert_eq!(
        edited(Format::Markdown, page, &[unset("tags")]),
        "\u{feff}+++\r\ntitle = \"x\" # the title\r\n+++\r\n# Body\r\n+++\r\n"
    );
    assert_eq!(edited(Format::Markdown, "+++\n+++\nbody\n", &[set("a", "1")]), "+++\na = 1\n+++\nbody\n");
    // No frontmatter: a `---` YAML block is added, as before.
    assert_eq!(edited(Format::Markdown, "body\n", &[set("a", "1")]), "---\na: 1\n---\nbody\n");
}

#[test]
fn malformed_toml_frontmatter_is_refused_with_its_file_line() {
    for (text, line) in [("+++\ntitle = \n+++\n", 2), ("+++\ntitle = 1\n", 1)] {
        match Document::parse(Format::Markdown, Some(text.as_bytes())) {
            Err(DocError::Malformed { line: Some(found), .. }) => assert_eq!(found, line, "{text:?}"),
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

#[test]
fn a_multi_line_string_in_a_crlf_file_reads_with_lf_line_breaks_as_tomllib_reads_it() {
    let text = "a = \"\"\"\r\nx\r\ny\r\n\"\"\"\r\nb = '''\r\nz\r\n'''\r\nc = \"\"\"p\\r\\nq\"\"\"\r\n";
    assert_eq!(value_of(Format::Toml, text), json!({"a": "x\ny\n", "b": "z\n", "c": "p\r\nq"}));
    let document = Document::parse(Format::Toml, Some(text.as_bytes())).unwrap();
    assert_eq!(
        document.edited(&[set_string("a", "x\ny\n")]).unwrap(),
        None,
        "setting the value it has is no edit"
    );
}

#[test]
fn dotted_keys_inside_an_inline_table_are_added_and_removed_in_its_braces() {
    let text = "d = { underline.style = \"line\", x = 1 }\n";
    assert_eq!(
        toml(text, &[set("d.underline.width", "2")]),
        "d = { underline.style = \"line\", x = 1, underline.width = 2 }\n"
    );
    assert_eq!(toml(text, &[set("d.probe", "2")]), "d = { underline.style = \"line\", x = 1, probe = 2 }\n");
    assert_eq!(toml(text, &[unset("d.underline.style")]), "d = { underline = {}, x = 1 }\n");
    assert_eq!(toml("d = { a.b = 1, a.c = 2 }\n", &[unset("d.a.c")]), "d = { a.b = 1 }\n");
    assert_eq!(toml("d = { a.b = 1, a.c = 2 }\n", &[unset("d.a.b")]), "d = { a.c = 2 }\n");
}

#[test]
fn unsetting_the_last_line_of_a_file_without_a_final_line_break_leaves_the_line_before_as_it_is() {
    // The line before keeps its line break: changing it would touch a line the edit does not own.
    assert_eq!(toml("a = 1\r\nb = 2", &[unset("b")]), "a = 1\r\n");
    assert_eq!(toml("a = 1\n\n[t]\nb = 2", &[unset("t")]), "a = 1\n\n");
}

#[test]
fn unsetting_the_only_table_of_an_array_of_tables_is_refused_naming_it() {
    let message = refusal(Format::Toml, "[[bin]]\nname = \"a\"\n", &[unset("bin.0")]).to_string();
    assert!(message.contains("[[bin]]") && message.contains("unset `bin`"), "{message}");
}
