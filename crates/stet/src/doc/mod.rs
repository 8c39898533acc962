//! Documents: Markdown frontmatter and whole YAML, JSON and TOML files, read as JSON values and
//! edited in place.
//!
//! **Guarantees.** An edit changes only what it is asked to: in YAML (and frontmatter) the bytes
//! of the edited value, the line of a new key, or the lines of a removed key with its own comment
//! lines; every other byte (comments, order, quoting, blank lines, indentation, line breaks, a
//! BOM, the Markdown body) stays; JSON and JSONC likewise (the edited value's bytes, a new member
//! in its siblings' style, a removed member with its comma and comment lines; comments, trailing
//! commas, escapes and number spellings stay); TOML (a whole file, or `+++` frontmatter) likewise:
//! only the spans of what an edit changes. The edited text is parsed again and must mean exactly
//! the edit; otherwise nothing is written ([`DocError::Unsupported`]). An edit that changes no
//! value does not rewrite the file.
//!
//! [`edit`] does it under the file's lock, from the read to the atomic replace (see
//! [`crate::update`]), so concurrent edits never lose each other.

mod edit;
mod error;
mod file;
mod frontmatter;
mod json;
mod key;
mod plan;
mod splice;
mod toml;
mod yaml;

use std::path::Path;

use serde_json::Value;

pub use edit::{Edit, lookup};
pub use error::{DocError, EditError};
pub use file::{Edited, Editor, edit, edit_value, read};
pub use frontmatter::{Fence, Split};
pub use key::KeyPath;

/// The kind of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Markdown file: its YAML frontmatter is the document, the body is kept as it is.
    Markdown,
    /// A whole YAML file.
    Yaml,
    /// A whole JSON file.
    Json,
    /// A whole TOML file.
    Toml,
}

impl Format {
    /// The format a file's extension names (`.md`, `.markdown`, `.yaml`, `.yml`, `.json`,
    /// `.jsonc`, `.toml`).
    pub fn of_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::from_name(&extension).or(match extension.as_str() {
            "markdown" | "mdx" => Some(Format::Markdown),
            "yml" => Some(Format::Yaml),
            "jsonc" => Some(Format::Json),
            _ => None,
        })
    }

    /// The format called `md`, `yaml`, `json` or `toml`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "md" => Some(Format::Markdown),
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// A parsed document: its text and what it means.
#[derive(Debug, Clone)]
pub struct Document {
    format: Format,
    text: String,
    value: Value,
}

impl Document {
    /// Parses a document's bytes (`None`: the file does not exist, which reads as an empty
    /// mapping and is created by the first edit).
    pub fn parse(format: Format, bytes: Option<&[u8]>) -> Result<Document, DocError> {
        let text = match bytes {
            None => String::new(),
            Some(bytes) => std::str::from_utf8(bytes).map_err(|err| not_utf8(bytes, &err))?.to_owned(),
        };
        let value = match format {
            Format::Markdown => {
                let split = Split::new(&text)?;
                let value = match split.fence {
                    Fence::Toml => toml::read(split.yaml),
                    Fence::Yaml => yaml::read(split.yaml),
                }
                .map_err(|err| shift_lines(err, split.yaml_first_line()))?;
                if !value.is_object() {
                    return Err(DocError::malformed(
                        Some(2),
                        "the frontmatter is not a mapping of keys to values",
                    ));
                }
                value
            }
            Format::Yaml => yaml::read(without_bom(&text))?,
            Format::Json if bytes.is_none() => Value::Object(serde_json::Map::new()),
            Format::Json => json::read(without_bom(&text))?,
            Format::Toml => toml::read(without_bom(&text))?,
        };
        Ok(Document { format, text, value })
    }

    /// What the document means.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The document's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The document's text after `edits`, or `None` when they change no value.
    pub fn edited(&self, edits: &[Edit]) -> Result<Option<String>, DocError> {
        let plan = plan::Plan::new(&self.value, edits)?;
        if plan.value == self.value {
            return Ok(None);
        }
        let (bom, body) = self.text.split_at(self.text.len() - without_bom(&self.text).len());
        let text = match self.format {
            Format::Markdown => {
                let split = Split::new(&self.text)?;
                if split.fence == Fence::Toml {
                    let newline = if split.open.ends_with("\r\n") { "\r\n" } else { "\n" };
                    return Ok(Some(split.with_yaml(&toml::edit(split.yaml, &plan, newline)?)));
                }
                split.with_yaml(&yaml::edit(split.yaml, &plan.edits, &plan.value, split.newline())?)
            }
            Format::Yaml => format!("{bom}{}", yaml::edit_file(body, &plan.edits, &plan.value)?),
            Format::Json => format!("{bom}{}", json::edit(body, &plan.edits, &plan.value)?),
            Format::Toml => format!("{bom}{}", toml::edit(body, &plan, "\n")?),
        };
        Ok(Some(text))
    }
}

/// Reads a value as a user writes one on the command line: a YAML flow value (`done`, `3`,
/// `true`, `null`, `[a, b]`, `{x: 1}`, `'quoted'`); empty text is null.
pub fn parse_value(text: &str) -> Result<Value, DocError> {
    yaml::read_flow_value(text)
}

/// Reads a merge patch or any other value written as JSON or YAML.
pub fn parse_yaml(text: &str) -> Result<Value, DocError> {
    yaml::read(text)
}

fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn shift_lines(err: DocError, by: usize) -> DocError {
    match err {
        DocError::Malformed { line, message } => {
            DocError::Malformed { line: line.map(|line| line + by), message }
        }
        other => other,
    }
}

fn not_utf8(bytes: &[u8], err: &std::str::Utf8Error) -> DocError {
    let valid = &bytes[..err.valid_up_to()];
    let line = String::from_utf8_lossy(valid).matches('\n').count() + 1;
    DocError::malformed(Some(line), format!("the file is not UTF-8 text (byte {} is not)", err.valid_up_to()))
}
