//! JSON and JSONC documents, edited as text.
//!
//! **Guarantees.** An edit replaces only the span of the value it sets, adds a member or item
//! after its siblings in their style, or removes one with its own comma, line and comment lines
//! (see [`change`], [`insert`], [`remove`]). Every other byte stays: comments, trailing commas, blank lines, string
//! escapes (`\/`, `\u00e9`), number spellings (`1e5`, `1.0`), line breaks (CRLF), a missing
//! final line break. The edited text is read again and must mean exactly the planned value, or
//! nothing is written. Comments and trailing commas (JSONC) are read in every JSON document;
//! a key given twice in one object is refused as malformed.

mod batch;
mod change;
mod insert;
mod layout;
mod remove;
mod syntax;

use serde_json::Value;

use super::edit::Edit;
use super::error::DocError;
use layout::Layout;

/// Reads a JSON or JSONC document.
pub(crate) fn read(text: &str) -> Result<Value, DocError> {
    Ok(syntax::parse(text)?.1)
}

/// `text` after `edits`, which must lead to `expected`; an empty `text` is a new file.
pub(crate) fn edit(text: &str, edits: &[Edit], expected: &Value) -> Result<String, DocError> {
    if text.trim().is_empty() {
        let layout = Layout::new(text, None);
        return Ok(format!("{}{}", layout.render(expected, Some(""), ": ", " "), layout.newline));
    }
    let unsupported = |detail: String| DocError::Unsupported {
        message: format!(
            "stet could not make this edit while keeping the file's formatting{detail}; nothing was written"
        ),
    };
    let mut current = text.to_owned();
    let mut made = 0;
    let mut style = None;
    while made < edits.len() {
        // The first reading is of the user's text; a later one of stet's, which must read.
        let (root, _) = syntax::parse(&current)
            .map_err(|err| if made == 0 { err } else { unsupported(format!(" ({err})")) })?;
        // The style is the original text's: the edits made so far may have removed its examples.
        let layout = style.get_or_insert_with(|| Layout::new(text, Some(&root))).of_edited(&current);
        let first = made;
        let mut batch = batch::Batch::default();
        while let Some(edit) = edits.get(made) {
            let located = change::locate_edit(&root, edit);
            if !batch.is_empty() && !batch.fits(&located) {
                break;
            }
            batch.add(located);
            made += 1;
        }
        let splices = if let Some(splices) = batch.splices(&layout) {
            splices
        } else {
            made = first + 1;
            let mut single = batch::Batch::default();
            single.add(change::locate_edit(&root, &edits[first]));
            single.splices(&layout).ok_or_else(|| unsupported(String::new()))?
        };
        current = change::apply(&current, splices);
    }
    let result = read(&current).map_err(|err| unsupported(format!(" ({err})")))?;
    if &result != expected {
        return Err(unsupported(String::new()));
    }
    Ok(current)
}
