//! TOML documents, edited as text: an edit replaces the spans of what it changes and nothing
//! else (see `change`), so comments, spelling, key order, blank lines, line breaks and a
//! missing final line break stay byte for byte.
//!
//! `toml_edit` parses the text and gives each part's span; it never writes the document. The
//! edited text is parsed again and must mean exactly the planned value, else nothing is
//! written.

mod change;
mod place;
mod read;
mod render;
mod text;

use std::collections::HashSet;

use serde_json::Value;

use super::edit::Edit;
use super::error::DocError;
use super::plan::Plan;
use change::Context;
use place::Places;
use text::Splices;

/// Reads a TOML document's value.
pub(crate) fn read(text: &str) -> Result<Value, DocError> {
    Ok(read::to_value(&read::parse(text)?))
}

/// The text after the plan's edits. `newline` is the line break for added lines when the text
/// has none of its own (an empty file or frontmatter).
pub(crate) fn edit(text: &str, plan: &Plan, newline: &str) -> Result<String, DocError> {
    let mut text = text.to_owned();
    for run in plan.runs() {
        let mut rest = run;
        while !rest.is_empty() {
            let (edited, made) = pass(&text, rest, newline)?;
            text = edited;
            rest = &rest[made..];
        }
    }
    let exact = read(&text).is_ok_and(|value| value == plan.value);
    if !exact {
        return Err(DocError::Unsupported {
            message: "stet could not make this edit to the TOML document exactly; nothing was written".into(),
        });
    }
    Ok(text)
}

/// Makes as many of `edits` as one parse of `text` allows (at least one): those whose paths
/// are not within each other's and whose splices do not overlap. Returns how many it made.
fn pass(text: &str, edits: &[Edit], newline: &str) -> Result<(String, usize), DocError> {
    let document = read::parse(text)?;
    let places = Places::new(text, document.as_table());
    let cx =
        Context { text, root: document.as_table(), places: &places, newline: text::newline(text, newline) };
    let mut splices = Splices::default();
    let mut touched = Touched::default();
    let mut made = 0;
    for edit in edits {
        let key = match edit {
            Edit::Set { key, .. } | Edit::Unset { key } | Edit::Push { key, .. } => key.segments(),
            Edit::Merge { .. } => unreachable!("merges are expanded into sets and unsets first"),
        };
        if made > 0 && touched.conflicts(key) {
            break;
        }
        let (changes, depth) = change::splices(&cx, edit)?;
        let mut own = Splices::default();
        for (range, _) in &changes {
            if own.overlaps(range) || splices.overlaps(range) {
                if made > 0 && !own.overlaps(range) {
                    return Ok((splices.apply(text), made));
                }
                return Err(DocError::Unsupported {
                    message: format!(
                        "{}: stet could not make this edit to the TOML document without touching other keys; \
                         nothing was written",
                        key.join(".")
                    ),
                });
            }
            own.add(range.clone(), String::new());
        }
        for (range, with) in changes {
            splices.add(range, with);
        }
        touched.add(&key[..depth.max(1).min(key.len())]);
        made += 1;
    }
    Ok((splices.apply(text), made))
}

/// The key paths the edits of a pass changed, and every path above them.
#[derive(Default)]
struct Touched {
    paths: HashSet<Vec<String>>,
    above: HashSet<Vec<String>>,
}

impl Touched {
    fn add(&mut self, path: &[String]) {
        self.paths.insert(path.to_vec());
        for end in 1..=path.len() {
            self.above.insert(path[..end].to_vec());
        }
    }

    /// Whether `path` is within a changed path, or a changed path within it.
    fn conflicts(&self, path: &[String]) -> bool {
        self.above.contains(path) || (1..=path.len()).any(|end| self.paths.contains(&path[..end]))
    }
}
