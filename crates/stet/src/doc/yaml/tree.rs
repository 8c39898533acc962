//! A YAML document as a tree of nodes that know where their text is.
//!
//! The parser (`saphyr-parser`) is strict: anything that is not valid YAML is refused with its
//! line, never "recovered" into something the user did not write. Comments are not nodes: the
//! editor finds them in the text between nodes, where nothing else can be.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::block::{BlockScalar, Chomping};
use super::keys::KeyIndex;
use crate::doc::error::DocError;

/// How deep collections may nest: deeper input is refused before it can exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 128;

/// A node and the bytes of the text it covers.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Byte offset of the node's first character (tag and anchor included). For a block scalar,
    /// the start of its content; for a block collection, its first key or `-`.
    pub start: usize,
    /// Byte offset just past the node's last character of content (trailing line breaks of a
    /// block scalar and comments after the node excluded).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// The anchor id (`&name`), 0 for none.
    pub anchor: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar { text: String, style: ScalarStyle, tag: Option<Tag> },
    Sequence { flow: bool, items: Vec<Node> },
    Mapping { flow: bool, entries: Vec<(Node, Node)>, keys: KeyIndex },
    Alias(usize),
}

impl Node {
    pub fn is_block_collection(&self) -> bool {
        matches!(self.kind, Kind::Sequence { flow: false, .. } | Kind::Mapping { flow: false, .. })
    }

    pub fn is_empty_scalar(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, style: ScalarStyle::Plain, tag: None } if text.is_empty())
    }
}

/// A parsed document: its root node (`None`: empty, or comments only), its anchors and aliases,
/// and what keeps the value of a block scalar that ends the text without a line break.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub root: Option<Node>,
    pub anchors: Anchors,
    /// The chomping indicator to write (`-`, replacing the bytes of this range) when a line is added
    /// after the block scalar that ends the text without a line break: without one, a line break
    /// after its last line would become part of its value.
    pub unterminated: Option<(usize, usize)>,
}

/// The document's anchors (`&name`) by id, and where aliases (`*name`) use them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Anchors {
    /// Each anchor's name and line.
    pub names: HashMap<usize, (String, usize)>,
    /// The line of the first alias of each anchor some alias uses.
    pub aliased: HashMap<usize, usize>,
}

/// How many flow lines less indented than the grammar allows are accepted (each costs a parse).
const MAX_FLOW_PADS: usize = 32;

/// Parses `text` as one YAML document.
///
/// libyaml (and so PyYAML, ruamel and docker compose) ignores indentation inside flow collections,
/// where YAML 1.2 wants each line indented past the block holding the collection
/// (`test: [` then `]` at column 0). Such a line is accepted here too: the text is parsed again
/// with the line indented by spaces (which mean nothing inside a flow collection), and offsets are
/// mapped back to the text as written.
pub(crate) fn parse(text: &str) -> Result<Tree, DocError> {
    parse_padded(text).map_err(|err| match err {
        DocError::Malformed { line: Some(line), .. }
            if text
                .lines()
                .nth(line.saturating_sub(1))
                .is_some_and(|line| line.contains("{{") || line.contains("{%")) =>
        {
            DocError::Malformed {
                line: Some(line),
                message:
                    "the line holds a template placeholder (`{{ ... }}` or `{% ... %}`), which is not YAML \
                          until the template is rendered; stet edits YAML, not templates"
                        .into(),
            }
        }
        other => other,
    })
}

fn parse_padded(text: &str) -> Result<Tree, DocError> {
    super::work::count(|work| work.parses += 1);
    let mut pads = Pads::default();
    loop {
        let padded = pads.apply(text);
        let source = padded.as_deref().unwrap_or(text);
        match build(text, source, &pads) {
            Ok(tree) => return Ok(tree),
            Err(Failure::Document(err)) => return Err(err),
            Err(Failure::Scan { at, needed, err }) => match (at, needed) {
                (Some(at), Some(needed)) if pads.count() < MAX_FLOW_PADS => {
                    super::work::count(|work| work.parses += 1);
                    pads.add(at, needed);
                }
                _ => return Err(err),
            },
        }
    }
}

enum Failure {
    Document(DocError),
    /// A scan error; with `at` and `needed` when it is a flow line that `needed` more spaces of
    /// indentation at byte `at` of the text would make valid.
    Scan {
        at: Option<usize>,
        needed: Option<usize>,
        err: DocError,
    },
}

impl From<DocError> for Failure {
    fn from(err: DocError) -> Self {
        Failure::Document(err)
    }
}

fn build(text: &str, source: &str, pads: &Pads) -> Result<Tree, Failure> {
    let offsets = ByteOffsets::new(source);
    let mut parser = Parser::new_from_str(source);
    let mut builder = Builder {
        text,
        offsets: &offsets,
        pads,
        stack: Vec::new(),
        tree: Tree::default(),
        documents: 0,
        last_end: 0,
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(next) => next,
            Err(err) => {
                let line = err.marker().line();
                let at = pads.original(offsets.byte(err.marker().index()));
                let needed = if err.info() == "invalid indentation" { builder.flow_pad(at) } else { None };
                let err = DocError::Malformed { line: Some(line), message: err.info().to_owned() };
                return Err(Failure::Scan { at: needed.map(|_| at), needed, err });
            }
        };
        builder.on_event(event, span)?;
    }
    let mut tree = builder.tree;
    if tree.root.as_ref().is_some_and(|root| root.is_empty_scalar() && root.anchor == 0) {
        // `---` and nothing else: an empty document.
        tree.root = None;
    }
    Ok(tree)
}

/// Spaces inserted before lines of the text (see [`parse`]), in order of position.
#[derive(Debug, Default)]
struct Pads(Vec<(usize, usize)>);

impl Pads {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn add(&mut self, at: usize, spaces: usize) {
        match self.0.binary_search_by_key(&at, |(position, _)| *position) {
            Ok(found) => self.0[found].1 += spaces,
            Err(insert) => self.0.insert(insert, (at, spaces)),
        }
    }

    /// The padded text, `None` when there is nothing to pad.
    fn apply(&self, text: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut out =
            String::with_capacity(text.len() + self.0.iter().map(|(_, spaces)| spaces).sum::<usize>());
        let mut copied = 0;
        for (at, spaces) in &self.0 {
            out.push_str(&text[copied..*at]);
            out.extend(std::iter::repeat_n(' ', *spaces));
            copied = *at;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }

    /// The byte offset in the text of `at` in the padded text (a padding space maps to the
    /// character it pads).
    fn original(&self, at: usize) -> usize {
        let mut shift = 0;
        for (position, spaces) in &self.0 {
            let padded = position + shift;
            if at < padded {
                break;
            }
            if at < padded + spaces {
                return *position;
            }
            shift += spaces;
        }
        at - shift
    }
}

/// Converts the parser's character indices to byte offsets.
struct ByteOffsets {
    /// Byte offset of each character, and of the end; empty when the text is ASCII.
    table: Vec<usize>,
}

impl ByteOffsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return ByteOffsets { table: Vec::new() };
        }
        let mut table: Vec<usize> = text.char_indices().map(|(offset, _)| offset).collect();
        table.push(text.len());
        ByteOffsets { table }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.table.is_empty() { char_index } else { self.table[char_index.min(self.table.len() - 1)] }
    }
}

enum Open {
    Sequence { node: Node, items: Vec<Node> },
    Mapping { node: Node, entries: Vec<(Node, Node)>, keys: KeyIndex, key: Option<Node> },
}

struct Builder<'a> {
    /// The text as written; offsets are into it.
    text: &'a str,
    offsets: &'a ByteOffsets,
    pads: &'a Pads,
    stack: Vec<Open>,
    tree: Tree,
    documents: usize,
    /// The end of the previous event's span.
    last_end: usize,
}

impl Builder<'_> {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), DocError> {
        let start = self.pads.original(self.offsets.byte(span.start.index()));
        let end = self.pads.original(self.offsets.byte(span.end.index()));
        let line = span.start.line();
        let last_end = std::mem::replace(&mut self.last_end, end);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(DocError::Malformed {
                        line: Some(line),
                        message:
                            "the file holds several YAML documents (`---`); stet edits files of a single \
                                  document"
                                .into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.name_anchor(anchor, start, end, line);
                let mut text = text.into_owned();
                let (mut start, mut end) = (start, end);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && let Some(block) = BlockScalar::find(self.text, last_end, self.parent_indent(last_end))
                {
                    (start, end) = (block.header, block.end);
                    if block.ends_unterminated(self.text) {
                        if block.chomping != Chomping::Strip && text.ends_with('\n') {
                            // YAML 1.2: the final line break is the last line's own, and it has none.
                            text.pop();
                        }
                        self.tree.unterminated = block.strip_indicator(self.text);
                    }
                }
                let kind = Kind::Scalar { text, style, tag: tag.map(std::borrow::Cow::into_owned) };
                self.add(Node { kind, start, end, line, anchor })?;
            }
            Event::Alias(id) => {
                self.tree.anchors.aliased.entry(id).or_insert(line);
                self.add(Node { kind: Kind::Alias(id), start, end, line, anchor: 0 })?;
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(line)?;
                self.name_anchor(anchor, start, end, line);
                let flow = self.opens_flow(start, end, '[');
                // An indentless sequence (`key:` then `- item` at the key's column) starts at its
                // first item; its node starts at the `-`, where new items line up.
                let start = if flow { self.bracket(start, end, '[') } else { dash_before(self.text, start) };
                let kind = Kind::Sequence { flow, items: Vec::new() };
                self.stack.push(Open::Sequence {
                    node: Node { kind, start, end, line, anchor },
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(line)?;
                self.name_anchor(anchor, start, end, line);
                let flow = self.opens_flow(start, end, '{');
                let start = if flow { self.bracket(start, end, '{') } else { start };
                let kind = Kind::Mapping { flow, entries: Vec::new(), keys: KeyIndex::default() };
                let node = Node { kind, start, end, line, anchor };
                self.stack.push(Open::Mapping {
                    node,
                    entries: Vec::new(),
                    keys: KeyIndex::default(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop().expect("the parser balances starts and ends") {
                    Open::Sequence { mut node, items } => {
                        let flow = matches!(node.kind, Kind::Sequence { flow: true, .. });
                        if !flow && let Some(first) = items.first() {
                            // A tag or anchor before a block sequence is not where its items line up.
                            let dash = dash_before(self.text, first.start);
                            if dash < first.start {
                                node.start = dash;
                            }
                        }
                        node.end = closing_end(self.text, &node, (start, end), items.last());
                        node.kind = Kind::Sequence { flow, items };
                        node
                    }
                    Open::Mapping { mut node, entries, keys, .. } => {
                        let flow = matches!(node.kind, Kind::Mapping { flow: true, .. });
                        if !flow && let Some((first, _)) = entries.first() {
                            // A block mapping's keys line up at its first key, not at a tag or
                            // anchor before it.
                            node.start = first.start;
                        }
                        node.end = closing_end(
                            self.text,
                            &node,
                            (start, end),
                            entries.last().map(|(_, value)| value),
                        );
                        node.kind = Kind::Mapping { flow, entries, keys };
                        node
                    }
                };
                self.add(node)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Whether the collection starting in `start..end` (tag and anchor included) is a flow one.
    fn opens_flow(&self, start: usize, end: usize, bracket: char) -> bool {
        // The span of a block collection's start is empty, or holds only its tag and anchor.
        self.text[start..end.max(start)].trim_end().ends_with(bracket)
    }

    /// The opening bracket of a flow collection whose span starts at `start` (maybe at its tag).
    fn bracket(&self, start: usize, end: usize, bracket: char) -> usize {
        self.text[start..end.max(start + 1).min(self.text.len())].find(bracket).map_or(start, |at| start + at)
    }

    /// Records the name of anchor `id` (0: none), written as `&name` in `start..end`.
    fn name_anchor(&mut self, id: usize, start: usize, end: usize, line: usize) {
        if id == 0 {
            return;
        }
        let span = &self.text[start..end.max(start)];
        let name = span.find('&').map_or("", |at| {
            let rest = &span[at + 1..];
            &rest[..rest.find(|c: char| c.is_whitespace() || ",[]{}".contains(c)).unwrap_or(rest.len())]
        });
        self.tree.anchors.names.insert(id, (name.to_owned(), line));
    }

    /// The indentation of the block collection a node after `at` belongs to: the column of the
    /// mapping key it is the value of, or of the `-` of the list item it is; -1 at the top.
    fn parent_indent(&self, at: usize) -> isize {
        let column = |offset: usize| {
            let line_start = self.text[..offset].rfind('\n').map_or(0, |newline| newline + 1);
            isize::try_from(offset - line_start).unwrap_or(isize::MAX)
        };
        match self.stack.last() {
            None => -1,
            Some(Open::Mapping { key: Some(key), .. }) => column(key.start),
            Some(Open::Mapping { node, .. }) => column(node.start),
            Some(Open::Sequence { .. }) => {
                let header = self.text[at..].find(['|', '>']).map_or(at, |offset| at + offset);
                let dash = dash_before(self.text, header);
                if dash < header {
                    column(dash)
                } else {
                    let before = self.text[..at].trim_end_matches([' ', '\t']);
                    if before.ends_with('-') { column(before.len() - 1) } else { column(at) }
                }
            }
        }
    }

    /// How many spaces the line whose first character is at `at` needs to be a valid line of the
    /// flow collection it is in; `None` when it is not such a line.
    fn flow_pad(&self, at: usize) -> Option<usize> {
        // The outermost flow collection sets the indentation its lines need.
        let outermost = self.stack.iter().find_map(|open| match open {
            Open::Sequence { node, .. } | Open::Mapping { node, .. }
                if matches!(
                    node.kind,
                    Kind::Sequence { flow: true, .. } | Kind::Mapping { flow: true, .. }
                ) =>
            {
                Some(node)
            }
            _ => None,
        });
        let outermost = outermost?;
        let line_start = self.text[..at].rfind('\n').map_or(0, |newline| newline + 1);
        if at >= self.text.len() || !self.text[line_start..at].bytes().all(|byte| byte == b' ') {
            return None;
        }
        let opening_line = self.text[..outermost.start].rfind('\n').map_or(0, |newline| newline + 1);
        let opening_indent =
            self.text[opening_line..].len() - self.text[opening_line..].trim_start_matches(' ').len();
        Some((opening_indent + 1).saturating_sub(at - line_start).max(1))
    }

    fn check_depth(&self, line: usize) -> Result<(), DocError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(DocError::Malformed {
                line: Some(line),
                message: format!("collections nest deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn add(&mut self, node: Node) -> Result<(), DocError> {
        match self.stack.last_mut() {
            None => self.tree.root = Some(node),
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, keys, key, .. }) => match key.take() {
                None => {
                    if !matches!(node.kind, Kind::Scalar { .. }) {
                        return Err(DocError::Malformed {
                            line: Some(node.line),
                            message: "a mapping key that is a list, a mapping or an alias is not supported"
                                .into(),
                        });
                    }
                    if let Some(first) = keys.find(entries, scalar_text(&node)).map(|at| &entries[at].0) {
                        return Err(DocError::Malformed {
                            line: Some(node.line),
                            message: format!(
                                "the key `{}` appears twice (first on line {})",
                                scalar_text(&node),
                                first.line
                            ),
                        });
                    }
                    *key = Some(node);
                }
                Some(done) => {
                    entries.push((done, node));
                    keys.pushed(entries);
                }
            },
        }
        Ok(())
    }
}

/// Where a collection ends: after its closing bracket when it is a flow collection, else at the
/// end of its last child's content (the end event of a block collection sits at the next token,
/// past any comments and blank lines that follow; so may a flow collection's, which then starts
/// at its bracket, and a comment after the bracket belongs to the line, not to the value).
fn closing_end(text: &str, node: &Node, end_event: (usize, usize), last: Option<&Node>) -> usize {
    let flow = matches!(node.kind, Kind::Sequence { flow: true, .. } | Kind::Mapping { flow: true, .. });
    let (event_start, event_end) = end_event;
    match last {
        Some(last) if !flow => last.end.max(node.start),
        _ if flow && text[event_start..].starts_with([']', '}']) => event_start + 1,
        _ => event_end,
    }
}

/// The `-` that introduces the block sequence item at `at`: the parser starts an indented
/// sequence at its `-`, an indentless one at its first item's content (which may itself start
/// with `-`, as in `- -1`), so look back over the spaces before `at`.
fn dash_before(text: &str, at: usize) -> usize {
    let before = text[..at].trim_end_matches(' ');
    // Right after a `-` that ends its line, the parser starts a sequence whose first item is below.
    let ends_line = at == text.len() || text[at..].starts_with(['\n', '\r']);
    if (before.len() < at || ends_line) && before.ends_with('-') { before.len() - 1 } else { at }
}

/// The text of a scalar node ("" for other nodes).
pub(crate) fn scalar_text(node: &Node) -> &str {
    match &node.kind {
        Kind::Scalar { text, .. } => text,
        _ => "",
    }
}
