//! Lines, line breaks and indentation of YAML text, and splices of it.

use super::tree::{Kind, Node, Tree};

/// One replacement of a byte range of the text.
#[derive(Debug)]
pub(crate) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// How deep the collection it adds to is: of insertions at one point, the deeper go first
    /// (a key added to a nested mapping comes before one added after it to the mapping holding it).
    pub depth: usize,
}

impl Splice {
    pub fn new(start: usize, end: usize, text: impl Into<String>) -> Self {
        Splice { start, end, text: text.into(), depth: 0 }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Splice::new(at, at, text)
    }
}

/// Applies non-overlapping splices in one pass over the text; insertions at one point go in
/// the order of their depth, then of the list.
pub(crate) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|splice| (splice.start, splice.end, std::cmp::Reverse(splice.depth)));
    let out = crate::doc::splice::join(
        text,
        splices.iter().map(|splice| (splice.start, splice.end, splice.text.as_str())),
    );
    super::work::count(|work| work.bytes_copied += out.len());
    out
}

/// What an edit needs to know of the text around the nodes.
pub(crate) struct Layout<'a> {
    pub text: &'a str,
    /// The document's line break: `\r\n` if its first line ends so, `\n` if it ends otherwise,
    /// and the one given when the text has no line break.
    pub newline: &'static str,
    /// How far nested block collections are indented (from the document, else 2).
    pub step: usize,
    /// See [`Tree::unterminated`].
    unterminated: Option<(usize, usize)>,
}

impl<'a> Layout<'a> {
    pub fn new(text: &'a str, tree: &Tree, newline: &'static str) -> Self {
        let newline = match text.find('\n') {
            Some(at) if at > 0 && text.as_bytes()[at - 1] == b'\r' => "\r\n",
            Some(_) => "\n",
            None => newline,
        };
        let mut layout = Layout { text, newline, step: 2, unterminated: tree.unterminated };
        if let Some(step) = tree.root.as_ref().and_then(|root| layout.nested_step(root)) {
            layout.step = step;
        }
        layout
    }

    /// The indentation step of the first block collection nested in a block mapping.
    fn nested_step(&self, node: &Node) -> Option<usize> {
        match &node.kind {
            Kind::Mapping { flow: false, entries, .. } => entries.iter().find_map(|(key, value)| {
                if value.is_block_collection() {
                    let step =
                        self.column(value.start).checked_sub(self.column(key.start)).filter(|step| *step > 0);
                    step.or_else(|| self.nested_step(value))
                } else {
                    None
                }
            }),
            Kind::Sequence { flow: false, items } => items.iter().find_map(|item| self.nested_step(item)),
            _ => None,
        }
    }

    /// The start of the line holding `at`.
    pub fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |newline| newline + 1)
    }

    /// The end of the line holding `at`, before its line break.
    pub fn line_end(&self, at: usize) -> usize {
        match self.text[at..].find('\n') {
            Some(offset) if offset > 0 && self.text.as_bytes()[at + offset - 1] == b'\r' => at + offset - 1,
            Some(offset) => at + offset,
            None => self.text.len(),
        }
    }

    /// The start of the line after the one holding `at` (the text's end on the last line).
    pub fn next_line_start(&self, at: usize) -> usize {
        self.text[at..].find('\n').map_or(self.text.len(), |offset| at + offset + 1)
    }

    /// Bytes from the start of `at`'s line (indentation is ASCII, so bytes are columns).
    pub fn column(&self, at: usize) -> usize {
        at - self.line_start(at)
    }

    /// Whether only spaces precede `at` on its line.
    pub fn starts_line(&self, at: usize) -> bool {
        self.text[self.line_start(at)..at].bytes().all(|byte| byte == b' ')
    }

    /// The `-` of the block list item whose content starts at `at` (on its line, or alone on a
    /// line above), else `at`.
    pub fn dash_of_item(&self, at: usize) -> usize {
        let before = self.text[..at].trim_end_matches([' ', '\t', '\r', '\n']);
        if before.ends_with('-') { before.len() - 1 } else { at }
    }

    /// Just past the `:` that follows a mapping key, if it follows directly (`? key` explicit keys
    /// do not have one there).
    pub fn colon_after(&self, key: &Node) -> Option<usize> {
        let rest = &self.text[key.end..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        rest[skipped..].starts_with(':').then_some(key.end + skipped + 1)
    }

    /// The start of the comment lines directly above `line_start` at the same indentation: a
    /// key's own comments, which go when it goes.
    pub fn attached_comments_start(&self, line_start: usize, column: usize) -> usize {
        let mut start = line_start;
        while start > 0 {
            let above = self.line_start(start - 1);
            let line = &self.text[above..start];
            let content = line.trim_start_matches(' ');
            if content.starts_with('#') && line.len() - content.len() == column {
                start = above;
            } else {
                break;
            }
        }
        start
    }

    /// Inserts `line` (without line break) as a new line after the line holding `after`. After
    /// the text's last line, which has no line break, it adds one: if that line ends a block
    /// scalar, the scalar's header then strips it (`|` becomes `|-`), so its value stays.
    pub fn insert_line_after(&self, after: usize, line: &str) -> Vec<Splice> {
        let end = self.line_end(after);
        if end < self.text.len() {
            return vec![Splice::insert(self.next_line_start(after), format!("{line}{}", self.newline))];
        }
        let mut splices = vec![Splice::insert(end, format!("{}{line}", self.newline))];
        if let Some((start, end)) = self.unterminated {
            splices.push(Splice::new(start, end, "-"));
        }
        splices
    }
}
