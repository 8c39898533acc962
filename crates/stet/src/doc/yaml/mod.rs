//! YAML documents (whole files and frontmatter), edited in place.
//!
//! An edit is made on the text: it replaces the edited value's own bytes, inserts a line for a
//! new key, or removes a key's lines, and leaves every other byte alone. The result is parsed
//! again and must mean exactly what the edit means (see [`crate::doc::edit`]); if it does not,
//! the edit is refused rather than written.

mod batch;
mod block;
mod editor;
mod keys;
mod render;
mod text;
mod tree;
mod value;
mod work;

use serde_json::Value;

use super::edit::Edit;
use super::error::DocError;

/// The value of a YAML document (an empty one is an empty mapping).
pub(crate) fn read(text: &str) -> Result<Value, DocError> {
    value::to_value(&tree::parse(text)?)
}

/// Reads a value written the way a user writes one on the command line: a YAML flow value
/// (`done`, `3`, `[a, b]`, `{x: 1}`, `'quoted'`); empty text is null.
pub(crate) fn read_flow_value(text: &str) -> Result<Value, DocError> {
    let refuse = |why: &str| DocError::Invalid {
        message: format!("{text:?} is not a YAML flow value ({why}); pass --string to take it literally"),
    };
    if text.contains(['\n', '\r']) {
        return Err(refuse("it spans lines"));
    }
    let wrapped = format!("[{text}]");
    let value = read(&wrapped).map_err(|err| refuse(&err.to_string()))?;
    match value {
        Value::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
        Value::Array(items) if items.is_empty() => Ok(Value::Null),
        _ => Err(refuse("it is several values")),
    }
}

/// Makes `edits` (sets, unsets, pushes) on `text`, which must then read as `expected`. Lines
/// stet adds end in the text's own line break, or in `newline` when the text has none (a
/// frontmatter takes the Markdown file's).
pub(crate) fn edit(
    text: &str,
    edits: &[Edit],
    expected: &Value,
    newline: &'static str,
) -> Result<String, DocError> {
    let mut current = text.to_owned();
    let mut made = 0;
    while made < edits.len() {
        let tree = tree::parse(&current)?;
        if let Some(root) = &tree.root
            && !matches!(root.kind, tree::Kind::Mapping { .. } | tree::Kind::Sequence { .. })
        {
            return Err(DocError::Shape {
                key: String::from("(document)"),
                message: "is not a mapping or a list".into(),
            });
        }
        let editor = editor::Editor {
            layout: text::Layout::new(&current, &tree, newline),
            root: tree.root.as_ref(),
            anchors: &tree.anchors,
        };
        if let [last] = &edits[made..] {
            // Nothing to batch it with: no bookkeeping (this is every single `set`).
            let splices = editor.change(last)?.splices;
            current = text::apply(&current, splices);
            break;
        }
        let mut batch = batch::Batch::default();
        for edit in &edits[made..] {
            // An edit that fails against this tree may succeed once the batch is made (a key
            // set inside a mapping an earlier edit creates): only the first one's error stands.
            match editor.change(edit) {
                Ok(change) if batch.is_empty() || batch.fits(&change) => batch.add(change),
                Err(err) if batch.is_empty() => return Err(err),
                _ => break,
            }
            made += 1;
        }
        current = text::apply(&current, batch.into_splices());
    }
    // The check's parser message would only confuse: the user's file parsed, stet's text did not.
    let cannot = || DocError::Unsupported {
        message: "stet could not make this edit while keeping the file's formatting; nothing was written"
            .into(),
    };
    let result = read(&current).map_err(|_| cannot())?;
    if &result != expected {
        return Err(cannot());
    }
    Ok(current)
}

/// [`edit`] for a whole YAML file: one left with no value at all (comments at most) gets `{}`,
/// since every YAML reader reads an empty file as null, not as the empty mapping it means.
pub(crate) fn edit_file(text: &str, edits: &[Edit], expected: &Value) -> Result<String, DocError> {
    let mut edited = edit(text, edits, expected, "\n")?;
    if expected.as_object().is_some_and(serde_json::Map::is_empty) && tree::parse(&edited)?.root.is_none() {
        let newline = text::Layout::new(text, &tree::Tree::default(), "\n").newline;
        // Where the removed lines were: before the comments, blank lines and `...` after them.
        let same = text.bytes().zip(edited.bytes()).take_while(|(old, new)| old == new).count();
        let at = edited[..same].rfind('\n').map_or(0, |newline| newline + 1);
        if at == edited.len() && !edited.is_empty() && !edited.ends_with('\n') {
            edited.push_str(newline);
        }
        let at = at.min(edited.len());
        edited.insert_str(at, &format!("{{}}{newline}"));
    }
    Ok(edited)
}

#[cfg(test)]
mod tests {
    //! Reads and edits do work linear in the document's size, counted (see `work`): a quadratic
    //! pass over a mapping's keys shows as millions of probes where these bounds allow thousands.

    use std::fmt::Write as _;

    use serde_json::{Map, Value, json};

    use super::work::measure;
    use crate::doc::{Document, Edit, Format};

    const KEYS: usize = 5_000;

    fn mapping(keys: usize) -> String {
        (0..keys).fold(String::new(), |mut text, at| {
            let _ = writeln!(text, "k{at}: {at}");
            text
        })
    }

    #[test]
    fn reading_a_large_mapping_probes_each_key_a_few_times() {
        let text = mapping(KEYS);
        let (value, work) = measure(|| super::read(&text).unwrap());
        assert_eq!(value.as_object().unwrap().len(), KEYS);
        assert!(work.key_probes <= 3 * KEYS, "{work:?}: duplicate checks must not scan every earlier key");
    }

    #[test]
    fn a_set_in_a_large_mapping_parses_twice_and_probes_each_key_a_few_times() {
        let text = mapping(KEYS);
        let document = Document::parse(Format::Yaml, Some(text.as_bytes())).unwrap();
        let edit = Edit::set(&format!("k{}", KEYS - 1), json!("last")).unwrap();
        let (edited, work) = measure(|| document.edited(&[edit]).unwrap().unwrap());
        assert!(edited.ends_with(&format!("k{}: last\n", KEYS - 1)));
        assert!(work.parses <= 2, "{work:?}: one parse to edit, one to check");
        assert!(work.key_probes <= 6 * KEYS, "{work:?}");
        assert!(work.bytes_copied <= 2 * text.len(), "{work:?}");
    }

    #[test]
    fn a_merge_of_many_keys_parses_twice_and_copies_each_byte_a_few_times() {
        let text = mapping(KEYS);
        let document = Document::parse(Format::Yaml, Some(text.as_bytes())).unwrap();
        // A quarter of the keys removed, a quarter replaced, as many new ones added.
        let mut patch = Map::new();
        for at in 0..KEYS / 2 {
            let change = if at % 2 == 0 { Value::Null } else { json!("changed") };
            patch.insert(format!("k{}", at * 2), change);
            patch.insert(format!("new{at}"), json!(at));
        }
        let mut expected = document.value().as_object().unwrap().clone();
        for (name, change) in &patch {
            match change {
                Value::Null => expected.shift_remove(name),
                change => expected.insert(name.clone(), change.clone()),
            };
        }
        let expected = Value::Object(expected);
        let merge = Edit::Merge { patch: Value::Object(patch) };
        let (edited, work) = measure(|| document.edited(&[merge]).unwrap().unwrap());
        assert_eq!(super::read(&edited).unwrap(), expected);
        assert!(work.parses <= 2, "{work:?}: one parse to make every edit, one to check them");
        assert!(work.key_probes <= 8 * KEYS, "{work:?}");
        assert!(work.bytes_copied <= 2 * edited.len(), "{work:?}: splices are joined in one pass");
    }
}
