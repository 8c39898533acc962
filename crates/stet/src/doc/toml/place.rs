//! Where new keys go: after the last key of their table, in its indentation.

use std::collections::HashMap;

use toml_edit::{Item, Table};

use super::text::{indentation, line_end, line_start, own_comment_start};

/// A point in the text where a new key line goes, and the indentation it takes.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// The offset: the end of the last key line of the table (past its line break).
    pub at: usize,
    /// The indentation of that line.
    pub indent: String,
}

/// The places of every table that holds key lines: the root, each `[table]` and `[[table]]`
/// section, and each dotted-key table (`a.b = 1`), whose new keys go after its last key so that
/// `a.b`, `c`, `a.d` stay in that order.
#[derive(Debug, Default)]
pub(crate) struct Places {
    // Tables are known by address: the parsed document they point into outlives this index.
    by_table: HashMap<*const Table, Place>,
    end: usize,
}

impl Places {
    /// The places of the document whose root table is `root`, parsed from `text`.
    pub fn new(text: &str, root: &Table) -> Self {
        let mut places = Places { by_table: HashMap::new(), end: text.len() };
        let mut first_header = None;
        places.walk(text, root, root, &mut Vec::new(), &mut first_header);
        places.by_table.entry(std::ptr::from_ref(root)).or_insert_with(|| {
            // A root with no keys of its own: new keys go before the first table's own comment.
            let at = first_header.map_or(text.len(), |start| own_comment_start(text, start));
            Place { at, indent: String::new() }
        });
        places
    }

    /// The place of a table (the root, a section, or a dotted-key table).
    pub fn of(&self, table: &Table) -> Place {
        self.by_table
            .get(&std::ptr::from_ref(table))
            .cloned()
            .unwrap_or_else(|| Place { at: self.end, indent: String::new() })
    }

    fn walk<'d>(
        &mut self,
        text: &str,
        table: &'d Table,
        section: &'d Table,
        dotted: &mut Vec<&'d Table>,
        first_header: &mut Option<usize>,
    ) {
        for (name, item) in table {
            match item {
                Item::Value(value) => {
                    let (Some(key), Some(span)) =
                        (table.key(name).and_then(toml_edit::Key::span), value.span())
                    else {
                        continue;
                    };
                    let end = line_end(text, span.end);
                    for owner in dotted.iter().copied().chain([section]) {
                        let place = self
                            .by_table
                            .entry(std::ptr::from_ref(owner))
                            .or_insert(Place { at: 0, indent: String::new() });
                        if end >= place.at {
                            *place = Place { at: end, indent: indentation(text, key.start).to_owned() };
                        }
                    }
                }
                Item::Table(inner) if inner.is_dotted() => {
                    dotted.push(inner);
                    self.walk(text, inner, section, dotted, first_header);
                    dotted.pop();
                }
                Item::Table(inner) if inner.is_implicit() => {
                    self.walk(text, inner, section, &mut Vec::new(), first_header);
                }
                Item::Table(inner) => self.section(text, inner, first_header),
                Item::ArrayOfTables(tables) => {
                    for inner in tables {
                        self.section(text, inner, first_header);
                    }
                }
                Item::None => {}
            }
        }
    }

    fn section(&mut self, text: &str, table: &Table, first_header: &mut Option<usize>) {
        if let Some(span) = table.span() {
            let start = line_start(text, span.start);
            *first_header = Some(first_header.map_or(start, |first| first.min(start)));
            let place = Place { at: line_end(text, span.end), indent: indentation(text, start).to_owned() };
            self.by_table.insert(std::ptr::from_ref(table), place);
        }
        self.walk(text, table, table, &mut Vec::new(), first_header);
    }
}
