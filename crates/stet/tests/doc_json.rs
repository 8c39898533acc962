//! JSON and JSONC documents: golden edits with the exact bytes they must leave, and the
//! refusals of bad input. Every byte an edit does not name stays as it was written.

use std::path::Path;

use serde_json::{Value, json};
use stet::doc::{DocError, Document, Edit, Format, KeyPath};

use crate::support::{push, set, unset};

fn edited(text: &str, edits: &[Edit]) -> String {
    let document = Document::parse(Format::Json, Some(text.as_bytes())).expect("the fixture parses");
    document.edited(edits).expect("the edit is made").expect("the edit changes something")
}

fn value_of(text: &str) -> Value {
    Document::parse(Format::Json, Some(text.as_bytes())).unwrap().value().clone()
}

fn refused(text: &str) -> DocError {
    Document::parse(Format::Json, Some(text.as_bytes())).expect_err("bad input is refused")
}

const PACKAGE: &str = "{\n  \"name\": \"x\",\n  \"files\": [\"a\", \"b\"],\n\n  \"scripts\": {\"build\": \"tsc\"},\n  \"k\":1,\n  \"n\": 1e5,\n  \"f\": 1.0,\n  \"url\": \"https:\\/\\/x.org\\u00e9\"\n}\n";

#[test]
fn json_set_replaces_only_the_value_and_keeps_escapes_numbers_spacing_and_blank_lines() {
    let new = edited(PACKAGE, &[set("name", "y")]);
    assert_eq!(new, PACKAGE.replace("\"x\"", "\"y\""));
    let new = edited(PACKAGE, &[set("k", "2")]);
    assert_eq!(new, PACKAGE.replace("\"k\":1", "\"k\":2"));
}

#[test]
fn json_set_keeps_a_one_line_array_and_object_on_one_line() {
    let new = edited(PACKAGE, &[push("files", "c"), set("scripts.test", "jest")]);
    let expected = PACKAGE
        .replace("[\"a\", \"b\"]", "[\"a\", \"b\", \"c\"]")
        .replace("{\"build\": \"tsc\"}", "{\"build\": \"tsc\", \"test\": \"jest\"}");
    assert_eq!(new, expected);
    assert_eq!(edited("{\"a\":1,\"b\":2}", &[set("c", "3")]), "{\"a\":1,\"b\":2,\"c\":3}");
    assert_eq!(edited("{\"a\":[1,2]}", &[push("a", "3")]), "{\"a\":[1,2,3]}");
}

#[test]
fn json_new_member_in_a_multi_line_object_takes_its_siblings_indentation() {
    let text = "{\n    \"a\": [1, 2],\n    \"b\": 2\n}\n";
    assert_eq!(edited(text, &[set("c", "x")]), "{\n    \"a\": [1, 2],\n    \"b\": 2,\n    \"c\": \"x\"\n}\n");
    let tabs = "{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}";
    assert_eq!(edited(tabs, &[set("a.c", "2")]), "{\n\t\"a\": {\n\t\t\"b\": 1,\n\t\t\"c\": 2\n\t}\n}");
}

#[test]
fn json_new_member_after_a_trailing_comma_keeps_the_trailing_comma() {
    let text = "{\n  \"a\": 1,\n  \"b\": 2,\n}\n";
    assert_eq!(edited(text, &[set("c", "3")]), "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3,\n}\n");
    assert_eq!(edited("{\"l\": [1, 2,]}", &[push("l", "3")]), "{\"l\": [1, 2, 3,]}");
}

#[test]
fn json_new_member_keeps_the_comment_after_the_last_one_in_its_place() {
    let text = "{\n  \"a\": 1, // one\n  \"b\": 2 // two\n}\n";
    assert_eq!(edited(text, &[set("c", "3")]), "{\n  \"a\": 1, // one\n  \"b\": 2, // two\n  \"c\": 3\n}\n");
}

#[test]
fn json_set_creates_missing_objects_in_the_documents_style() {
    let text = "{\n  \"a\": \"\\u00e9\"\n}\n";
    assert_eq!(
        edited(text, &[set("b.c.d", "1")]),
        "{\n  \"a\": \"\\u00e9\",\n  \"b\": {\n    \"c\": {\n      \"d\": 1\n    }\n  }\n}\n"
    );
    assert_eq!(edited("{\"a\":1}", &[set("b.c", "1")]), "{\"a\":1,\"b\":{\"c\":1}}");
    let empty = "{\n  \"compilerOptions\": {}\n}\n";
    assert_eq!(
        edited(empty, &[set("compilerOptions.strict", "true")]),
        "{\n  \"compilerOptions\": {\n    \"strict\": true\n  }\n}\n"
    );
}

#[test]
fn json_set_of_an_object_writes_it_across_lines_at_the_members_indentation() {
    let text = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
    assert_eq!(
        edited(text, &[set("a", "{x: 1, y: [1, 2]}")]),
        "{\n  \"a\": {\n    \"x\": 1,\n    \"y\": [1, 2]\n  },\n  \"b\": 2\n}\n"
    );
}

#[test]
fn json_unset_removes_the_member_with_its_comma_and_its_own_comment_lines() {
    let text = "{\n  // the name\n  \"name\": \"x\",\n\n  // kept: a blank line stands between\n\n  /* the version */\n  \"version\": \"1.0.0\", // beside\n  \"private\": true\n}\n";
    assert_eq!(
        edited(text, &[unset("version")]),
        "{\n  // the name\n  \"name\": \"x\",\n\n  // kept: a blank line stands between\n\n  \"private\": true\n}\n"
    );
    assert_eq!(
        edited(text, &[unset("private")]),
        "{\n  // the name\n  \"name\": \"x\",\n\n  // kept: a blank line stands between\n\n  /* the version */\n  \"version\": \"1.0.0\" // beside\n}\n"
    );
    assert_eq!(
        edited(text, &[unset("name")]),
        "{\n\n  // kept: a blank line stands between\n\n  /* the version */\n  \"version\": \"1.0.0\", // beside\n  \"private\": true\n}\n"
    );
}

#[test]
fn json_unset_in_a_one_line_object_removes_its_own_comma() {
    let text = "{\"a\": 1, \"b\": 2, \"c\": 3}";
    assert_eq!(edited(text, &[unset("a")]), "{\"b\": 2, \"c\": 3}");
    assert_eq!(edited(text, &[unset("b")]), "{\"a\": 1, \"c\": 3}");
    assert_eq!(edited(text, &[unset("c")]), "{\"a\": 1, \"b\": 2}");
    assert_eq!(edited("{\"a\": 1, \"b\": 2,}", &[unset("b")]), "{\"a\": 1,}");
    assert_eq!(edited("{\"l\": [1, 2, 3]}", &[unset("l.1")]), "{\"l\": [1, 3]}");
}

#[test]
fn json_unset_of_the_last_member_leaves_an_empty_object() {
    let text = "{\n  \"a\": {\n    \"x\": 1\n  },\n  \"b\": [2]\n}\n";
    assert_eq!(edited(text, &[unset("a.x")]), "{\n  \"a\": {},\n  \"b\": [2]\n}\n");
    assert_eq!(edited("{\"a\": 1}", &[unset("a")]), "{}");
}

#[test]
fn json_push_onto_a_multi_line_array_adds_a_line_like_its_items() {
    let text = "{\n  \"l\": [\n    1,\n    2\n  ]\n}\n";
    assert_eq!(edited(text, &[push("l", "3")]), "{\n  \"l\": [\n    1,\n    2,\n    3\n  ]\n}\n");
    assert_eq!(edited("{\"a\": 1}", &[push("l", "x")]), "{\"a\": 1, \"l\": [\"x\"]}");
}

#[test]
fn json_edits_keep_crlf_a_bom_and_a_missing_final_newline() {
    let text = "\u{feff}{\r\n  \"a\": 1,\r\n\r\n  \"b\": 1e5\r\n}";
    assert_eq!(
        edited(text, &[set("c", "{x: 1}"), unset("a")]),
        "\u{feff}{\r\n\r\n  \"b\": 1e5,\r\n  \"c\": {\r\n    \"x\": 1\r\n  }\r\n}"
    );
}

const TSCONFIG: &str = "// The project's compiler settings.\n{\n  \"compilerOptions\": {\n    /* Language */\n    \"target\": \"es2022\", // keep in step with node\n    \"strict\": true,\n    \"paths\": {\"@/*\": [\"src/*\"],},\n  },\n  \"include\": [\"src\",],\n}\n";

#[test]
fn jsonc_comments_and_trailing_commas_are_read() {
    assert_eq!(
        value_of(TSCONFIG),
        json!({"compilerOptions": {"target": "es2022", "strict": true, "paths": {"@/*": ["src/*"]}}, "include": ["src"]})
    );
}

#[test]
fn jsonc_edits_keep_every_comment_and_trailing_comma() {
    let new = edited(TSCONFIG, &[set("compilerOptions.target", "es2023")]);
    assert_eq!(new, TSCONFIG.replace("\"es2022\"", "\"es2023\""));
    let new = edited(TSCONFIG, &[set("compilerOptions.noEmit", "true"), push("include", "test")]);
    let expected = TSCONFIG
        .replace(
            "    \"paths\": {\"@/*\": [\"src/*\"],},\n",
            "    \"paths\": {\"@/*\": [\"src/*\"],},\n    \"noEmit\": true,\n",
        )
        .replace("[\"src\",]", "[\"src\", \"test\",]");
    assert_eq!(new, expected);
    let new = edited(TSCONFIG, &[unset("compilerOptions.target")]);
    assert_eq!(
        new,
        TSCONFIG.replace("    /* Language */\n    \"target\": \"es2022\", // keep in step with node\n", "")
    );
}

#[test]
fn jsonc_files_are_json_documents() {
    assert_eq!(Format::of_path(Path::new("settings.jsonc")), Some(Format::Json));
    assert_eq!(Format::of_path(Path::new("tsconfig.JSONC")), Some(Format::Json));
}

#[test]
fn json_duplicate_keys_are_malformed_naming_the_key_and_its_line() {
    let err = refused("{\"a\": 1,\n \"a\": 2, \"c\": 1e5}");
    assert_eq!(
        err,
        DocError::Malformed {
            line: Some(2),
            message: "the key `a` appears twice in one object; keep one of them".into()
        }
    );
    assert_eq!(
        value_of("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}}")["b"]["x"],
        json!(2),
        "the same key in two objects is fine"
    );
}

#[test]
fn malformed_json_names_the_line_and_says_what_is_wrong_with_a_comment() {
    let cases = [
        ("{\n  \"a\": 1 /* open\n}\n", 2, "a comment opened with `/*` is never closed with `*/`"),
        (
            "{\n  # note\n  \"a\": 1\n}\n",
            2,
            "`#` does not start a comment in JSON; write `// comment` or `/* comment */`",
        ),
        ("{\n  \"a\": 1 / 2\n}\n", 2, "a single `/` is not a comment; write `// comment` or `/* comment */`"),
        ("{\n  \"a\": 1,,\n}\n", 2, "a comma with no value before it in this object"),
        ("{\n  \"a\": 1\n  \"b\": 2\n}\n", 3, "expected `,` or `}` after a value in this object"),
        ("{\"a\": yes}", 1, "`yes` is not a JSON value; strings are written in double quotes"),
        ("{\"a\": 01}", 1, "`01` is not a JSON number"),
        ("{\"a\": 1}\n{\"b\": 2}\n", 2, "more text after the document's value; a JSON file holds one value"),
        ("{\n\"a\": [1,\n", 2, "this array is never closed with `]`"),
    ];
    for (text, line, message) in cases {
        assert_eq!(
            refused(text),
            DocError::Malformed { line: Some(line), message: message.into() },
            "{text:?}"
        );
    }
}

#[test]
fn json_merge_of_many_keys_keeps_the_documents_style() {
    let text = "{\"a\":1,\"b\":\"\\/\",\"c\":3}";
    let merge = Edit::Merge { patch: json!({"a": null, "c": null, "d": {"e": true}, "f": 4}) };
    assert_eq!(edited(text, &[merge]), "{\"b\":\"\\/\",\"d\":{\"e\":true},\"f\":4}");
    let text = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}\n";
    let merge = Edit::Merge { patch: json!({"b": null, "c": null, "d": 4, "e": 5}) };
    assert_eq!(edited(text, &[merge]), "{\n  \"a\": 1,\n  \"d\": 4,\n  \"e\": 5\n}\n");
}

#[test]
fn a_key_in_json_pointer_form_reaches_keys_with_dots_slashes_and_tildes() {
    let text = "{\"d.o.t\": {\"x\": 1}, \"a/b\": 2, \"m~n\": 3, \"\": 4}";
    assert_eq!(KeyPath::parse("/d.o.t/x").unwrap().segments(), ["d.o.t", "x"]);
    assert_eq!(KeyPath::parse("/a~1b").unwrap().segments(), ["a/b"]);
    assert_eq!(KeyPath::parse("/m~0n").unwrap().segments(), ["m~n"]);
    assert_eq!(KeyPath::parse("/").unwrap().segments(), [""]);
    assert_eq!(edited(text, &[set("/d.o.t/x", "5")]), text.replace("\"x\": 1", "\"x\": 5"));
    assert_eq!(edited(text, &[unset("/a~1b")]), "{\"d.o.t\": {\"x\": 1}, \"m~n\": 3, \"\": 4}");
    assert_eq!(edited(text, &[set("/", "0")]), text.replace("\"\": 4", "\"\": 0"));
}

#[test]
fn a_json_pointer_with_a_bad_escape_is_refused_saying_how_to_write_it() {
    let err = KeyPath::parse("/a~2b").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the key `/a~2b` has `~` not followed by 0 or 1; in a JSON Pointer write `~0` for `~` and `~1` for `/`"
    );
}
