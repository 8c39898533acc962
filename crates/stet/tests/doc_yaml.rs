//! YAML documents and `---` frontmatter: golden tests, one per class of real-world construct, with
//! the exact bytes each edit must leave.

use serde_json::{Value, json};
use stet::doc::{DocError, Document, Edit, Format};

use crate::support::{push, set, set_string, unset};

fn value(format: Format, text: &str) -> Value {
    Document::parse(format, Some(text.as_bytes()))
        .unwrap_or_else(|err| panic!("{text:?} parses: {err}"))
        .value()
        .clone()
}

fn yaml(text: &str) -> Value {
    value(Format::Yaml, text)
}

fn edited_as(format: Format, text: &str, edits: &[Edit]) -> Result<String, DocError> {
    let document = Document::parse(format, Some(text.as_bytes()))?;
    Ok(document.edited(edits)?.expect("the edit changes something"))
}

fn edited(text: &str, edits: &[Edit]) -> String {
    edited_as(Format::Yaml, text, edits).unwrap_or_else(|err| panic!("the edit of {text:?} is made: {err}"))
}

fn refused(text: &str, edits: &[Edit]) -> String {
    match edited_as(Format::Yaml, text, edits) {
        Ok(new) => panic!("the edit of {text:?} must be refused, it made {new:?}"),
        Err(err) => err.to_string(),
    }
}

// Y1: block scalars, with every chomping indicator, and at the end of a file without a line break.

#[test]
fn block_scalars_follow_the_yaml_1_2_chomping_rules() {
    assert_eq!(yaml("a: |\n  x\n"), json!({"a": "x\n"}));
    assert_eq!(yaml("a: |-\n  x\n\n"), json!({"a": "x"}));
    assert_eq!(yaml("a: |+\n  x\n\n"), json!({"a": "x\n\n"}));
    assert_eq!(yaml("a: >\n  x\n  y\n\n  z\n"), json!({"a": "x y\nz\n"}));
    assert_eq!(yaml("a: >-\n  x\n  y\n"), json!({"a": "x y"}));
    assert_eq!(yaml("a: |2\n    x\nb: 1\n"), json!({"a": "  x\n", "b": 1}));
}

#[test]
fn a_block_scalar_that_ends_the_file_without_a_line_break_reads_without_one() {
    assert_eq!(yaml("a: |\n  x"), json!({"a": "x"}));
    assert_eq!(yaml("a: |+\n  x"), json!({"a": "x"}));
    assert_eq!(yaml("a: |-\n  x"), json!({"a": "x"}));
    assert_eq!(yaml("a: >\n  x\n  y"), json!({"a": "x y"}));
    assert_eq!(yaml("- |\n  x"), json!(["x"]));
    assert_eq!(yaml("a:\n  b: |\n    x\n    y"), json!({"a": {"b": "x\ny"}}));
}

#[test]
fn a_key_added_after_a_block_scalar_at_the_end_of_the_file_keeps_its_value_for_every_reader() {
    // Another reader reads `x` (no line break); a line after it would add one, so the scalar
    // strips its final line break instead.
    assert_eq!(edited("a: |\n  x", &[set("b", "1")]), "a: |-\n  x\nb: 1");
    assert_eq!(edited("a: |+\n  x", &[set("b", "1")]), "a: |-\n  x\nb: 1");
    assert_eq!(edited("a: >2\n  x", &[set("b", "1")]), "a: >2-\n  x\nb: 1");
    assert_eq!(edited("a:\n  b: |\n    x", &[set("a.c", "1")]), "a:\n  b: |-\n    x\n  c: 1");
    assert_eq!(edited("a:\n  - |\n    x", &[push("a", "z")]), "a:\n  - |-\n    x\n  - z");
}

#[test]
fn a_key_added_after_a_keep_block_scalar_goes_after_its_kept_blank_lines() {
    assert_eq!(edited("a: |+\n  x\n\n", &[set("b", "1")]), "a: |+\n  x\n\nb: 1\n");
}

// Y11: a block scalar ending in a line of spaces longer than its indentation.

#[test]
fn a_block_scalar_ending_in_a_line_of_spaces_keeps_it_when_a_key_is_added() {
    let text = "a: |\n  x\n     \n";
    assert_eq!(yaml(text), json!({"a": "x\n   \n"}));
    assert_eq!(edited(text, &[set("b", "1")]), "a: |\n  x\n     \nb: 1\n");
}

// Y2: numbers by the YAML 1.2 core schema.

#[test]
fn numbers_follow_the_yaml_1_2_core_schema() {
    let text = "a: 0755\nb: 0o755\nc: 0x1F\nd: 1e3\ne: .inf\nf: \"0755\"\ng: +12\nh: 1.50\ni: .5\nj: -.INF\nk: 1_000\n";
    assert_eq!(
        serde_json::to_string(&yaml(text)).unwrap(),
        r#"{"a":755,"b":493,"c":31,"d":1e+3,"e":".inf","f":"0755","g":12,"h":1.50,"i":0.5,"j":"-.inf","k":"1_000"}"#
    );
}

#[test]
fn an_edit_keeps_the_spelling_of_numbers_it_does_not_touch() {
    let text = "mode: 0755\nsize: 1e3\nhex: 0x1F\nn: 1\n";
    assert_eq!(edited(text, &[set("n", "2")]), "mode: 0755\nsize: 1e3\nhex: 0x1F\nn: 2\n");
    assert_eq!(edited(text, &[set("m", "0755")]), format!("{text}m: 755\n"));
}

// Y3: flow closers less indented than the grammar asks, as libyaml accepts them.

#[test]
fn a_flow_collection_closed_at_its_keys_column_reads_and_edits() {
    let text = "test: [\n    \"x\",\n]\nother:\n  m: {\n    a: 1\n  }\n";
    assert_eq!(yaml(text), json!({"test": ["x"], "other": {"m": {"a": 1}}}));
    assert_eq!(edited(text, &[set("b", "1")]), format!("{text}b: 1\n"));
    assert_eq!(
        edited(text, &[push("test", "z")]),
        "test: [\n    \"x\", z,\n]\nother:\n  m: {\n    a: 1\n  }\n"
    );
    assert_eq!(
        edited(text, &[set("other.m.a", "2")]),
        "test: [\n    \"x\",\n]\nother:\n  m: {\n    a: 2\n  }\n"
    );
}

// Y4: edits inside sequences of mappings.

#[test]
fn edits_reach_into_a_top_level_list_of_mappings() {
    let text =
        "- name: web\n  hosts: all\n  tasks:\n    - name: t\n      become: true\n- name: db\n  hosts: db\n";
    assert_eq!(
        edited(text, &[set("0.hosts", "web")]),
        "- name: web\n  hosts: web\n  tasks:\n    - name: t\n      become: true\n- name: db\n  hosts: db\n"
    );
    assert_eq!(
        edited(text, &[set("0.tasks.0.become", "false")]),
        "- name: web\n  hosts: all\n  tasks:\n    - name: t\n      become: false\n- name: db\n  hosts: db\n"
    );
    assert_eq!(
        edited(text, &[set("1.port", "5432")]),
        "- name: web\n  hosts: all\n  tasks:\n    - name: t\n      become: true\n- name: db\n  hosts: db\n  port: 5432\n"
    );
    assert_eq!(edited(text, &[unset("0.tasks")]), "- name: web\n  hosts: all\n- name: db\n  hosts: db\n");
    assert_eq!(
        edited(text, &[unset("1")]),
        "- name: web\n  hosts: all\n  tasks:\n    - name: t\n      become: true\n"
    );
}

#[test]
fn edits_reach_into_nested_lists_of_mappings() {
    let text = "jobs:\n  build:\n    steps:\n      - uses: a\n      - name: b\n        run: make\n";
    assert_eq!(
        edited(text, &[set("jobs.build.steps.1.run", "make test")]),
        "jobs:\n  build:\n    steps:\n      - uses: a\n      - name: b\n        run: make test\n"
    );
    assert_eq!(
        edited(text, &[set("jobs.build.steps.0.with", "{x: 1}")]),
        "jobs:\n  build:\n    steps:\n      - uses: a\n        with: {x: 1}\n      - name: b\n        run: make\n"
    );
}

// Y8: block scalar list items.

#[test]
fn a_block_scalar_list_item_is_replaced_whole() {
    assert_eq!(edited("a:\n  - |\n    x\n", &[set_string("a.0", "new")]), "a:\n  - new\n");
    assert_eq!(edited("a:\n  - >-\n    x\n  - y\n", &[set_string("a.0", "new")]), "a:\n  - new\n  - y\n");
    assert_eq!(edited("a:\n  - |\n    x\n  - y\n", &[unset("a.0")]), "a:\n  - y\n");
}

// Y9: tagged collections.

#[test]
fn collections_tagged_map_or_seq_are_edited_like_any_other() {
    assert_eq!(edited("a: !!map\n  b: 1\n", &[set("a.c", "1")]), "a: !!map\n  b: 1\n  c: 1\n");
    assert_eq!(edited("a: !!seq\n- x\n", &[push("a", "z")]), "a: !!seq\n- x\n- z\n");
    assert_eq!(edited("a: !!map\n  b: 1\n", &[set("a.b", "2")]), "a: !!map\n  b: 2\n");
}

// Y10: anchors on mapping keys.

#[test]
fn an_anchor_on_a_mapping_key_can_be_aliased() {
    let text = "&a k: v\nx: *a\n";
    assert_eq!(yaml(text), json!({"k": "v", "x": "k"}));
    assert_eq!(edited(text, &[set("k", "w")]), "&a k: w\nx: *a\n");
    let message = refused(text, &[unset("k")]);
    assert!(message.contains("`k` is anchored as `&a`"), "{message}");
}

// Y5: documents that start with `---`.

#[test]
fn a_document_that_starts_with_three_dashes_can_lose_its_only_key_and_gain_others() {
    assert_eq!(edited("---\nroles:\n  - a\n", &[unset("roles")]), "---\n{}\n");
    assert_eq!(yaml("---\n"), json!({}));
    assert_eq!(edited("---\n", &[set("a", "1")]), "---\na: 1\n");
    assert_eq!(edited("--- # c\nx: 1\n", &[set("x", "2")]), "--- # c\nx: 2\n");
}

#[test]
fn a_file_left_without_keys_holds_an_empty_mapping_that_every_reader_reads_as_one() {
    // An empty YAML file is null to other readers; `{}` is what the edit means.
    assert_eq!(edited("# header\n\nonly: 1\n", &[unset("only")]), "# header\n\n{}\n");
    assert_eq!(edited("{}\n", &[set("a", "1")]), "a: 1\n", "and a key set in it replaces it");
    assert_eq!(edited("only: 1\r\n", &[unset("only")]), "{}\r\n");
    assert_eq!(edited("# c\n\nonly: 1\n\n# end\n...\n", &[unset("only")]), "# c\n\n{}\n\n# end\n...\n");
    assert_eq!(edited("# c\n\nonly: 1", &[unset("only")]), "# c\n\n{}\n");
    let md = edited_as(Format::Markdown, "---\nonly: 1\n---\nbody\n", &[unset("only")]).unwrap();
    assert_eq!(md, "---\n---\nbody\n", "an empty frontmatter is an empty mapping to Markdown tools");
}

#[test]
fn a_flow_entry_on_lines_of_its_own_is_removed_with_its_lines() {
    let text = "{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n";
    assert_eq!(edited(text, &[unset("b")]), "{\n  \"a\": 1,\n}\n");
    assert_eq!(edited(text, &[unset("a")]), "{\n  \"b\": {\"c\": 2}\n}\n");
}

// Y7: several documents.

#[test]
fn a_file_of_several_documents_is_refused_with_a_message_that_says_so() {
    let err = Document::parse(Format::Yaml, Some(b"a: 1\n---\nb: 2\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: the file holds several YAML documents (`---`); stet edits files of a single document"
    );
}

#[test]
fn a_template_placeholder_is_refused_as_one() {
    for text in ["{% set v = 1 %}\nname: x\n", "metadata:\n  name: {{ template \"x\" . }}\n"] {
        let err = Document::parse(Format::Yaml, Some(text.as_bytes())).unwrap_err();
        assert!(err.to_string().contains("template placeholder"), "{err}");
    }
}

// Y6: anchors and aliases.

#[test]
fn an_edit_of_a_value_that_aliases_use_is_refused_naming_the_anchor() {
    let text = "x: &base {p: 1}\ny: *base\nz: 1\n";
    let expected = "`x` is anchored as `&base`, edited values would change every alias (`*base` on line 2); \
                    edit the aliases' own keys instead";
    assert_eq!(refused(text, &[set("x.p", "2")]), expected);
    assert_eq!(refused(text, &[set("x", "2")]), expected);
    assert_eq!(refused(text, &[unset("x")]), expected);
    assert_eq!(
        refused(text, &[set("y.p", "2")]),
        "`y` is an alias of `&base` (line 1), edited values would change the anchor and every alias; \
         edit the anchor's own key"
    );
    assert_eq!(edited(text, &[set("z", "2")]), "x: &base {p: 1}\ny: *base\nz: 2\n");
    assert_eq!(edited(text, &[set("y", "2")]), "x: &base {p: 1}\ny: 2\nz: 1\n");
}

#[test]
fn a_merge_key_is_edited_only_through_its_anchor() {
    let text = "base: &b\n  p: 1\nx:\n  <<: *b\n  q: 2\n";
    assert_eq!(yaml(text), json!({"base": {"p": 1}, "x": {"<<": {"p": 1}, "q": 2}}));
    assert_eq!(edited(text, &[set("x.q", "3")]), "base: &b\n  p: 1\nx:\n  <<: *b\n  q: 3\n");
    let message = refused(text, &[set("x.<<.p", "3")]);
    assert!(message.starts_with("`x.<<` is an alias of `&b`"), "{message}");
}

#[test]
fn an_anchored_value_no_alias_uses_is_edited() {
    assert_eq!(edited("x: &a\n  p: 1\n", &[set("x.p", "2")]), "x: &a\n  p: 2\n");
}

// M1: CRLF frontmatter and YAML files.

#[test]
fn every_line_added_to_a_crlf_document_ends_in_crlf() {
    let md = |text: &str, edit: Edit| edited_as(Format::Markdown, text, &[edit]).unwrap();
    assert_eq!(md("---\r\n---\r\nbody\r\n", set("a", "1")), "---\r\na: 1\r\n---\r\nbody\r\n");
    assert_eq!(md("body\r\n", set("a", "1")), "---\r\na: 1\r\n---\r\nbody\r\n");
    assert_eq!(
        md("---\r\nx: 1\r\n---\r\nbody\r\n", set("a.b", "[1, 2]")),
        "---\r\nx: 1\r\na:\r\n  b:\r\n    - 1\r\n    - 2\r\n---\r\nbody\r\n"
    );
    assert_eq!(edited("a: 1\r\n", &[push("l", "x")]), "a: 1\r\nl:\r\n  - x\r\n");
    assert_eq!(edited("", &[set("a", "1")]), "a: 1\n");
}

// Duplicate keys.

#[test]
fn a_duplicate_key_is_malformed_naming_both_lines() {
    let err = Document::parse(Format::Yaml, Some(b"a: 1\nb: 2\na: 3\n")).unwrap_err();
    assert!(matches!(err, DocError::Malformed { line: Some(3), .. }), "{err:?}");
    assert_eq!(err.to_string(), "line 3: the key `a` appears twice (first on line 1)");
}

// Found by the property tests: list items whose content starts on the line below their `-`.

#[test]
fn a_list_item_whose_content_starts_below_its_dash_is_removed_and_grown_whole() {
    assert_eq!(edited("c:\n  -\n    - a\n  - b\n", &[unset("c.0")]), "c:\n  - b\n");
    assert_eq!(edited("a:\n-\n  - x\n", &[push("a", "z")]), "a:\n-\n  - x\n- z\n");
}
