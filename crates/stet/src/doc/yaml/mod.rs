//! YAML documents (whole files and frontmatter), edited in place.
//!
//! An edit is made on the text: it replaces the edited value's own bytes, inserts a line for a
//! new key, or removes a key's lines, and leaves every other byte alone. The result is parsed
//! again and must mean exactly what the edit means (see [`crate::doc::edit`]); if it does not,
//! the edit is refused rather than written.

mod editor;
mod render;
mod text;
mod tree;
mod value;

use serde_json::Value;

use super::edit::Edit;
use super::error::DocError;

/// The value of a YAML document (an empty one is an empty mapping).
pub(crate) fn read(text: &str) -> Result<Value, DocError> {
    value::to_value(tree::parse(text)?.as_ref())
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

/// Makes `edits` (sets, unsets, pushes) on `text`, which must then read as `expected`.
pub(crate) fn edit(text: &str, edits: &[Edit], expected: &Value) -> Result<String, DocError> {
    let mut current = text.to_owned();
    for edit in edits {
        let root = tree::parse(&current)?;
        if let Some(root) = &root
            && !matches!(root.kind, tree::Kind::Mapping { .. })
        {
            return Err(DocError::Shape {
                key: String::from("(document)"),
                message: "is not a mapping".into(),
            });
        }
        let editor =
            editor::Editor { layout: text::Layout::new(&current, root.as_ref()), root: root.as_ref() };
        let splices = editor.splices(edit)?;
        current = text::apply(&current, splices);
    }
    let result = read(&current).map_err(|err| DocError::Unsupported {
        message: format!(
            "stet could not make this edit while keeping the file's formatting ({err}); nothing was written"
        ),
    })?;
    if &result != expected {
        return Err(DocError::Unsupported {
            message: "stet could not make this edit while keeping the file's formatting; nothing was written"
                .into(),
        });
    }
    Ok(current)
}
