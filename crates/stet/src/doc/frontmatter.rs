//! Markdown frontmatter: a `---` fenced YAML block at the very top of the file, or a `+++`
//! fenced TOML block as Hugo and Zola write it, then the body.

use super::error::DocError;

/// A Markdown file cut into its parts; `join` gives back the exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// A byte order mark, if the file starts with one.
    pub bom: &'a str,
    /// The opening fence line with its line break (`---\n`); empty when there is no frontmatter.
    pub open: &'a str,
    /// The frontmatter between the fences (YAML, or TOML after `+++`), with its last line break.
    pub yaml: &'a str,
    /// The closing fence line with its line break, if any (`---\n`, or `---` at the end of file).
    pub close: &'a str,
    /// Everything after the closing fence (the whole file after the BOM when there is no
    /// frontmatter).
    pub body: &'a str,
    /// What the fences say the frontmatter is written in (`Yaml` when there is none: a new
    /// frontmatter is YAML).
    pub fence: Fence,
}

/// The language of a frontmatter, as its fences say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    /// `---`: YAML.
    Yaml,
    /// `+++`: TOML.
    Toml,
}

impl Fence {
    fn marker(self) -> &'static str {
        match self {
            Fence::Yaml => "---",
            Fence::Toml => "+++",
        }
    }
}

impl<'a> Split<'a> {
    /// Cuts `text`. A file whose first line (after a BOM) is not `---` has no frontmatter; one
    /// whose fence is never closed is malformed.
    pub fn new(text: &'a str) -> Result<Self, DocError> {
        let (bom, rest) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (&text[..3], rest),
            None => ("", text),
        };
        let no_frontmatter = Split { bom, open: "", yaml: "", close: "", body: rest, fence: Fence::Yaml };
        let open_end = line_end(rest, 0);
        let Some(fence) =
            [Fence::Yaml, Fence::Toml].into_iter().find(|fence| is_fence(&rest[..open_end], *fence))
        else {
            return Ok(no_frontmatter);
        };
        if open_end == rest.len() {
            return Ok(no_frontmatter);
        }
        let mut at = open_end;
        while at < rest.len() {
            let end = line_end(rest, at);
            if is_fence(&rest[at..end], fence) {
                return Ok(Split {
                    bom,
                    open: &rest[..open_end],
                    yaml: &rest[open_end..at],
                    close: &rest[at..end],
                    body: &rest[end..],
                    fence,
                });
            }
            at = end;
        }
        let marker = fence.marker();
        Err(DocError::malformed(
            Some(1),
            format!("the frontmatter opened by `{marker}` on line 1 is never closed by a `{marker}` line"),
        ))
    }

    /// Whether the file has a frontmatter block.
    pub fn has_frontmatter(&self) -> bool {
        !self.open.is_empty()
    }

    /// The file's line break, for lines added to its frontmatter: the opening fence's, or without
    /// a frontmatter the body's (`\r\n` if it has any).
    pub fn newline(&self) -> &'static str {
        let crlf =
            if self.has_frontmatter() { self.open.ends_with("\r\n") } else { self.body.contains("\r\n") };
        if crlf { "\r\n" } else { "\n" }
    }

    /// The number of lines before the YAML starts (to report YAML errors by file line).
    pub fn yaml_first_line(&self) -> usize {
        usize::from(self.has_frontmatter())
    }

    /// The file's bytes: the parts, in order.
    pub fn join(&self) -> String {
        [self.bom, self.open, self.yaml, self.close, self.body].concat()
    }

    /// The file with `yaml` as its frontmatter (added at the top if the file had none).
    pub fn with_yaml(&self, yaml: &str) -> String {
        if self.has_frontmatter() {
            return [self.bom, self.open, yaml, self.close, self.body].concat();
        }
        let newline = if self.body.contains("\r\n") { "\r\n" } else { "\n" };
        let fence = format!("---{newline}");
        [self.bom, &fence, yaml, &fence, self.body].concat()
    }
}

/// The end of the line starting at `at`, past its line break.
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |offset| at + offset + 1)
}

/// The fence's marker, with nothing after it but spaces and the line break.
fn is_fence(line: &str, fence: Fence) -> bool {
    line.strip_prefix(fence.marker())
        .is_some_and(|rest| rest.trim_end_matches(['\n', '\r']).trim_end_matches([' ', '\t']).is_empty())
}

#[cfg(test)]
mod tests {
    use super::Split;

    #[test]
    fn a_file_splits_into_fences_yaml_and_body_and_joins_back() {
        let text = "\u{feff}---\r\nid: 1\r\n---\r\n# Title\r\n";
        let split = Split::new(text).unwrap();
        assert_eq!((split.yaml, split.body), ("id: 1\r\n", "# Title\r\n"));
        assert_eq!(split.join(), text);
    }

    #[test]
    fn no_fence_means_no_frontmatter_and_an_open_fence_is_malformed() {
        assert!(!Split::new("# Title\n---\n").unwrap().has_frontmatter());
        assert!(!Split::new("----\nx\n").unwrap().has_frontmatter());
        assert!(Split::new("---\nid: 1\n").is_err());
        let empty = Split::new("---\n---").unwrap();
        assert_eq!((empty.yaml, empty.close, empty.body), ("", "---", ""));
    }
}
