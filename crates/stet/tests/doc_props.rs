//! Property tests of documents: for random documents and random edits, re-reading gives exactly
//! the edited values and every line outside the edited key's entry is unchanged; split and join of
//! frontmatter give back any input byte for byte.

use std::fmt::Write as _;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use stet::doc::{Document, Edit, Format, KeyPath, Split};

/// A top-level entry of a generated document: its key, its value, and its text (whole lines).
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: Value,
    text: String,
}

const KEYWORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,7}".prop_filter("not a YAML keyword", |word| !KEYWORDS.contains(&word.as_str()))
}

/// Strings with the characters that make YAML quoting matter.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![word(), "[ -~]{0,12}", "(yes|no|on|~|null|1e3|0x1F|2026-01-01|- d|a: b|#x| x |3)",]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        tricky_string().prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

/// A scalar as the generated document writes it: JSON syntax is YAML syntax.
fn scalar_text(value: &Value, plain_words: bool) -> String {
    match value {
        Value::String(text)
            if plain_words
                && text.starts_with(|c: char| c.is_ascii_lowercase())
                && text.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !KEYWORDS.contains(&text.as_str()) =>
        {
            text.clone()
        }
        other => other.to_string(),
    }
}

fn entry(key: String) -> impl Strategy<Value = Entry> {
    let comment = proptest::option::of("[a-z ]{0,10}");
    let shape = prop_oneof![
        scalar().prop_map(|value| (value, 0u8)),
        proptest::collection::vec(scalar(), 0..4).prop_map(|items| (Value::Array(items), 1)),
        proptest::collection::vec(scalar(), 1..4).prop_map(|items| (Value::Array(items), 2)),
        proptest::collection::btree_map(word(), scalar(), 1..4)
            .prop_map(|map| (Value::Object(map.into_iter().collect()), 3)),
        proptest::collection::vec(scalar(), 1..4).prop_map(|items| (Value::Array(items), 4)),
    ];
    (shape, comment, any::<bool>(), any::<bool>()).prop_map(
        move |((value, style), comment, plain, beside)| {
            let mut text = comment.map(|comment| format!("# {comment}\n")).unwrap_or_default();
            let beside = if beside { "  # beside" } else { "" };
            match (&value, style) {
                (Value::Array(items), 1) => {
                    let items: Vec<String> = items.iter().map(|item| scalar_text(item, plain)).collect();
                    let _ = writeln!(text, "{key}: [{}]{beside}", items.join(", "));
                }
                (Value::Array(items), 2) => {
                    let _ = writeln!(text, "{key}:{beside}");
                    for item in items {
                        let _ = writeln!(text, "  - {}", scalar_text(item, plain));
                    }
                }
                (Value::Array(items), 4) => {
                    let _ = writeln!(text, "{key}:{beside}");
                    for item in items {
                        let _ = writeln!(text, "- {}", scalar_text(item, plain));
                    }
                }
                (Value::Object(map), 3) => {
                    let _ = writeln!(text, "{key}:");
                    for (name, item) in map {
                        let _ = writeln!(text, "    {name}: {}{beside}", scalar_text(item, plain));
                    }
                }
                (scalar, _) => {
                    let _ = writeln!(text, "{key}: {}{beside}", scalar_text(scalar, plain));
                }
            }
            Entry { key: key.clone(), value, text }
        },
    )
}

fn document() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::btree_set(word(), 1..6)
        .prop_flat_map(|keys| keys.into_iter().map(entry).collect::<Vec<_>>().prop_shuffle())
}

#[derive(Debug, Clone)]
enum Change {
    Set(usize, Option<String>, Value),
    SetNew(String, Value),
    Unset(usize),
    Push(usize, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let value = prop_oneof![scalar(), proptest::collection::vec(scalar(), 0..3).prop_map(Value::Array)];
    prop_oneof![
        (0..6usize, proptest::option::of(word()), value.clone())
            .prop_map(|(at, inner, value)| Change::Set(at, inner, value)),
        (word(), value.clone()).prop_map(|(key, value)| Change::SetNew(format!("new_{key}"), value)),
        (0..6usize).prop_map(Change::Unset),
        (0..6usize, scalar()).prop_map(|(at, value)| Change::Push(at, value)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn an_edit_reads_back_exactly_and_changes_no_other_entry(
        entries in document(),
        change in change(),
        trailer in proptest::option::of("# [a-z ]{0,10}\n"),
        crlf in any::<bool>(),
    ) {
        let newline = |text: &str| if crlf { text.replace('\n', "\r\n") } else { text.to_owned() };
        let body: String = entries.iter().map(|entry| entry.text.as_str()).collect();
        let trailer = trailer.map(|comment| format!("\n{comment}")).unwrap_or_default();
        let text = newline(&format!("---\n{body}{trailer}---\nThe body.\n"));
        let value: Value = Value::Object(entries.iter().map(|entry| (entry.key.clone(), entry.value.clone())).collect::<Map<_, _>>());
        let document = Document::parse(Format::Markdown, Some(text.as_bytes())).expect("the generated document parses");
        prop_assert_eq!(document.value(), &value);

        let (edit, target) = match &change {
            Change::Set(at, inner, new) => {
                let entry = &entries[at % entries.len()];
                let key = match (inner, &entry.value) {
                    (Some(inner), Value::Object(_)) => format!("{}.{inner}", entry.key),
                    _ => entry.key.clone(),
                };
                (Edit::Set { key: KeyPath::parse(&key).unwrap(), value: new.clone() }, Some(at % entries.len()))
            }
            Change::SetNew(key, new) => (Edit::Set { key: KeyPath::parse(key).unwrap(), value: new.clone() }, None),
            Change::Unset(at) => (Edit::Unset { key: KeyPath::parse(&entries[at % entries.len()].key).unwrap() }, Some(at % entries.len())),
            Change::Push(at, new) => (Edit::Push { key: KeyPath::parse(&entries[at % entries.len()].key).unwrap(), value: new.clone() }, Some(at % entries.len())),
        };
        let mut expected = value.clone();
        let shape_error = match apply(&mut expected, &edit) {
            Ok(()) => false,
            Err(()) => true,
        };
        let result = document.edited(std::slice::from_ref(&edit));
        if shape_error {
            prop_assert!(result.is_err(), "an edit that does not fit is refused");
            return Ok(());
        }
        let Some(new_text) = result.expect("the edit is made") else {
            prop_assert_eq!(&expected, &value, "only an edit that changes nothing leaves the text alone");
            return Ok(());
        };
        let reread = Document::parse(Format::Markdown, Some(new_text.as_bytes())).expect("the edited document parses");
        prop_assert_eq!(crlf, new_text.contains("\r\n") && !new_text.replace("\r\n", "").contains('\n'), "line endings stay as they were");
        prop_assert_eq!(reread.value(), &expected, "re-reading gives the edited values:\n{}", new_text);

        // Every entry but the edited one keeps its text, in order; the body and trailer stay.
        let (before, after): (String, String) = match target {
            Some(at) => (
                entries[..at].iter().map(|entry| entry.text.as_str()).collect(),
                entries[at + 1..].iter().map(|entry| entry.text.as_str()).collect(),
            ),
            None => (body.clone(), String::new()),
        };
        let prefix = newline(&format!("---\n{before}"));
        let suffix = newline(&format!("{after}{trailer}---\nThe body.\n"));
        prop_assert!(new_text.starts_with(&prefix) && new_text.ends_with(&suffix), "other entries changed:\n{}\n---- was ----\n{}", new_text, text);
    }

    #[test]
    fn several_edits_at_once_mean_what_they_mean_one_at_a_time_and_touch_only_their_keys(
        entries in document(),
        changes in proptest::collection::vec(change(), 1..6),
        merge in any::<bool>(),
    ) {
        let body: String = entries.iter().map(|entry| entry.text.as_str()).collect();
        let text = format!("---\n{body}---\nThe body.\n");
        let edits: Vec<Edit> = changes.iter().map(|change| edit_of(&entries, change)).collect();
        // The same changes as one merge patch, where they fit one (sets and unsets of distinct keys).
        let edits = if merge { as_merge(&edits).map_or(edits, |patch| vec![Edit::Merge { patch }]) } else { edits };
        let mut one_at_a_time = text.clone();
        for edit in &edits {
            let document = Document::parse(Format::Markdown, Some(one_at_a_time.as_bytes())).unwrap();
            match document.edited(std::slice::from_ref(edit)) {
                Ok(Some(new)) => one_at_a_time = new,
                Ok(None) => {}
                Err(_) => return Ok(()),
            }
        }
        let document = Document::parse(Format::Markdown, Some(text.as_bytes())).unwrap();
        let at_once = document.edited(&edits).expect("edits that can be made one at a time can be made at once");
        let at_once = at_once.unwrap_or(text);
        let value = |text: &str| Document::parse(Format::Markdown, Some(text.as_bytes())).unwrap().value().clone();
        prop_assert_eq!(value(&at_once), value(&one_at_a_time), "at once:\n{}\none at a time:\n{}", at_once, one_at_a_time);
        // The texts may differ in the indentation of new lists (at once, the document's own step is
        // used even when an earlier edit removed the entry it was found in), never elsewhere.
        let edited: Vec<&str> = edits.iter().flat_map(top_level_keys).collect();
        for entry in entries.iter().filter(|entry| !edited.contains(&entry.key.as_str())) {
            prop_assert!(at_once.contains(&entry.text), "entry {:?} changed:\n{}", entry.key, at_once);
        }
        prop_assert!(at_once.ends_with("---\nThe body.\n"));
    }

    #[test]
    fn frontmatter_split_and_join_give_back_any_input(text in "(---|\r|\n|\u{feff}|[a-z: ]){0,40}") {
        if let Ok(split) = Split::new(&text) {
            prop_assert_eq!(split.join(), text);
        }
    }
}

/// The edit's meaning, written out here independently of the library.
fn apply(document: &mut Value, edit: &Edit) -> Result<(), ()> {
    match edit {
        Edit::Set { key, value } => {
            let segments = key.segments();
            let mut current = document;
            for segment in &segments[..segments.len() - 1] {
                if current.get(segment).is_none_or(Value::is_null) {
                    current[segment] = json!({});
                }
                current = current.get_mut(segment).filter(|inner| inner.is_object()).ok_or(())?;
            }
            current[segments.last().unwrap()] = value.clone();
        }
        Edit::Unset { key } => {
            document.as_object_mut().unwrap().shift_remove(&key.segments()[0]);
        }
        Edit::Push { key, value } => match document.get_mut(&key.segments()[0]) {
            Some(Value::Array(items)) => items.push(value.clone()),
            Some(Value::Null) | None => document[&key.segments()[0]] = json!([value]),
            Some(_) => return Err(()),
        },
        _ => unreachable!("the test makes no merges"),
    }
    Ok(())
}

fn edit_of(entries: &[Entry], change: &Change) -> Edit {
    let key = |at: &usize| KeyPath::parse(&entries[at % entries.len()].key).unwrap();
    match change {
        Change::Set(at, inner, new) => {
            let entry = &entries[at % entries.len()];
            let key = match (inner, &entry.value) {
                (Some(inner), Value::Object(_)) => format!("{}.{inner}", entry.key),
                _ => entry.key.clone(),
            };
            Edit::Set { key: KeyPath::parse(&key).unwrap(), value: new.clone() }
        }
        Change::SetNew(name, new) => Edit::Set { key: KeyPath::parse(name).unwrap(), value: new.clone() },
        Change::Unset(at) => Edit::Unset { key: key(at) },
        Change::Push(at, new) => Edit::Push { key: key(at), value: new.clone() },
    }
}

/// The merge patch making `edits`, if they are sets of non-null values and unsets of top-level
/// keys, each key edited once.
fn as_merge(edits: &[Edit]) -> Option<Value> {
    let mut patch = Map::new();
    for edit in edits {
        let (key, value) = match edit {
            Edit::Set { key, value } if key.segments().len() == 1 && !value.is_null() => (key, value.clone()),
            Edit::Unset { key } => (key, Value::Null),
            _ => return None,
        };
        if patch.insert(key.segments()[0].clone(), value).is_some() {
            return None;
        }
    }
    Some(Value::Object(patch))
}

fn top_level_keys(edit: &Edit) -> Vec<&str> {
    match edit {
        Edit::Set { key, .. } | Edit::Unset { key } | Edit::Push { key, .. } => {
            vec![key.segments()[0].as_str()]
        }
        Edit::Merge { patch } => patch.as_object().unwrap().keys().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}
