//! A YAML document as a tree of nodes that know where their text is.
//!
//! The parser (`saphyr-parser`) is strict: anything that is not valid YAML is refused with its
//! line, never "recovered" into something the user did not write. Comments are not nodes: the
//! editor finds them in the text between nodes, where nothing else can be.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

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

/// Parses `text` as one YAML document. An empty document (or one of comments only) is `None`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, DocError> {
    super::work::count(|work| work.parses += 1);
    let offsets = ByteOffsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder { text, offsets: &offsets, stack: Vec::new(), root: None, documents: 0 };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|err| DocError::Malformed {
            line: Some(err.marker().line()),
            message: err.info().to_owned(),
        })?;
        builder.on_event(event, span)?;
    }
    Ok(builder.root)
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
    text: &'a str,
    offsets: &'a ByteOffsets,
    stack: Vec<Open>,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_> {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), DocError> {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        let line = span.start.line();
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(DocError::Malformed {
                        line: Some(line),
                        message: "the file holds several YAML documents; stet edits a single one".into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    start + self.text[start..end].trim_end().len()
                } else {
                    end
                };
                let kind = Kind::Scalar {
                    text: text.into_owned(),
                    style,
                    tag: tag.map(std::borrow::Cow::into_owned),
                };
                self.add(Node { kind, start, end, line, anchor })?;
            }
            Event::Alias(id) => self.add(Node { kind: Kind::Alias(id), start, end, line, anchor: 0 })?,
            Event::SequenceStart(anchor, _) => {
                self.check_depth(line)?;
                let flow = self.text[start..end].starts_with('[');
                // An indentless sequence (`key:` then `- item` at the key's column) starts at its
                // first item; its node starts at the `-`, where new items line up.
                let start = if flow { start } else { dash_before(self.text, start) };
                let kind = Kind::Sequence { flow, items: Vec::new() };
                self.stack.push(Open::Sequence {
                    node: Node { kind, start, end, line, anchor },
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(line)?;
                let flow = self.text[start..end].starts_with('{');
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
                        node.end = closing_end(self.text, &node, (start, end), items.last());
                        node.kind = Kind::Sequence {
                            flow: matches!(node.kind, Kind::Sequence { flow: true, .. }),
                            items,
                        };
                        node
                    }
                    Open::Mapping { mut node, entries, keys, .. } => {
                        node.end = closing_end(
                            self.text,
                            &node,
                            (start, end),
                            entries.last().map(|(_, value)| value),
                        );
                        let flow = matches!(node.kind, Kind::Mapping { flow: true, .. });
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
            None => self.root = Some(node),
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
    if before.len() < at && before.ends_with('-') { before.len() - 1 } else { at }
}

/// The text of a scalar node ("" for other nodes).
pub(crate) fn scalar_text(node: &Node) -> &str {
    match &node.kind {
        Kind::Scalar { text, .. } => text,
        _ => "",
    }
}
